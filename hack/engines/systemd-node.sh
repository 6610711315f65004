#!/usr/bin/env bash
# The engines on a modern node, in their DEFAULT cgroup configuration, on hull. Meant to run
# inside a throwaway guest:
#
#   hack/systemd-vm.sh hack/engines/systemd-node.sh   systemd PID 1, pure cgroup v2: every engine
#       picks the systemd cgroup driver by itself and passes `--systemd-cgroup` with its
#       `slice:prefix:name` path. dockerd (--add-runtime/--default-runtime hull, on the node's
#       containerd), podman as root (--runtime), containerd's CRI plugin (runc.v2 options
#       `BinaryName` = hull, `SystemdCgroup = true`, driven by cri.py as the kubelet would, pods
#       in kubepods-besteffort-pod<uid>.slice) and buildah (`bud --isolation oci --runtime`).
#       Each test checks the container's unit while it runs (ControlGroup, MemoryMax,
#       TasksMax... as the engine asked) and that it is gone afterwards.
#   hack/cgv2-vm.sh hack/engines/systemd-node.sh      no systemd, pure v2: the engines fall back
#       to the cgroupfs driver; the docker and podman basics, checked on the cgroup directories.
#
# No cgroup option is given to any engine. Daemons keep their state where the guest has tmpfs
# (/var/lib/{docker,containerd,containers} in systemd-vm, $WORK under /tmp in cgv2-vm). No
# network is needed: images are imported from busybox-static (lib.sh), docker uses its default
# bridge, podman and CRI pods the none/host network. Prints one `<engine> passed failed skipped`
# line per engine (run-all.sh's format) and exits non-zero on any failure.
#   HULL_ENG_ONLY=regex, HULL_ENG_RECORD=dir as in lib.sh (dir must be under the directory the
#   guest shares read-write, e.g. target/); HULL_NODE_LOGS=dir (same) gets the tests' and the
#   daemons' logs at exit (the guest's $WORK goes with it); HULL_NODE_ENGINES="docker cri podman
#   buildah" (the default) chooses the engines.
ENGINE=node
source "$(dirname "$0")/lib.sh"
source "$ENG_DIR/node-lib.sh"
export HULL_ENG_RESULTS=${HULL_ENG_RESULTS:-$WORK/results.d}
RT=$(runtime_path)
[ -z "${HULL_NODE_LOGS:-}" ] || on_exit 'mkdir -p "$HULL_NODE_LOGS" && cp "$WORK"/*.log "$HULL_NODE_LOGS"/'
IMG_D=hull/busybox                 # docker's name for it
IMG_P=localhost/hull/busybox       # podman's and buildah's
SD=$NODE_DRIVER
ENGINES=" ${HULL_NODE_ENGINES:-docker cri podman buildah} "
want() { [[ $ENGINES == *" $1 "* ]]; }
for c in dockerd containerd podman conmon; do
  command -v $c >/dev/null || { log "$c not installed (hack/deps.sh)"; exit 1; }
done
mk_rootfs "$WORK/rootfs"
tar --numeric-owner -C "$WORK/rootfs" -cf "$WORK/rootfs.tar" .

# ---------------------------------------------------------------- containerd (node daemon)
# The node's containerd, at its default socket, as containerd.service runs it; its CRI plugin
# as a kubeadm node configures it with the systemd driver: the default runtime "runc" with
# SystemdCgroup = true, its binary swapped for hull. dockerd finds it at the default socket
# and uses it rather than starting a containerd of its own (whose start it gives up on after
# 15 s: too short under TCG).
PAUSE=docker.io/hull/pause:latest
if [ $SD = systemd ]; then CD_ROOT=/var/lib/containerd; else CD_ROOT=$WORK/containerd; fi
cat >"$WORK/containerd.toml" <<EOF
version = 2
root = "$CD_ROOT"
state = "/run/containerd"
[grpc]
  address = "/run/containerd/containerd.sock"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "$RT"
        SystemdCgroup = $([ $SD = systemd ] && echo true || echo false)
EOF
ctr() { timeout 120 /usr/bin/ctr "$@"; }
on_exit "umount_under /run/containerd; umount_under $CD_ROOT"
start_node_containerd "$WORK/containerd.toml" || { log "containerd did not start"; exit 1; }

# ---------------------------------------------------------------- docker
if want docker; then
begin_engine docker-$SD
if [ $SD = systemd ]; then DOCKER_ROOT=/var/lib/docker; else DOCKER_ROOT=$WORK/docker; fi
docker() { timeout 120 /usr/bin/docker "$@"; }
on_exit "umount_under $DOCKER_ROOT; umount_under /run/docker"
own_iptables
# dockerd's defaults but for the runtime: data root, exec root, socket, bridge docker0.
start_daemon dockerd "$WORK/dockerd.pid" "$WORK/dockerd.log" dockerd --data-root "$DOCKER_ROOT" \
  --add-runtime "hull=$RT" --default-runtime hull
on_exit 'docker_rm_all'
docker_rm_all() { local c; c=$(/usr/bin/docker ps -aq 2>/dev/null); [ -z "$c" ] || /usr/bin/docker rm -f $c; }
if ! wait_for 180 /usr/bin/docker version; then
  setup_failed "dockerd did not start"; tail -20 "$WORK/dockerd.log" >&2
elif ! docker import "$WORK/rootfs.tar" "$IMG_D" >/dev/null; then
  setup_failed "docker import"
else
  DOCKER_UP=1
fi

# docker_unit ID: the unit (systemd) or cgroup directory (cgroupfs) of a docker container.
docker_unit() { echo "docker-$1.scope"; }
docker_cg() { if [ $SD = systemd ]; then echo "/system.slice/docker-$1.scope"; else echo "/docker/$1"; fi; }

t_docker_driver() {
  assert_eq "$SD 2" "$(docker info --format '{{.CgroupDriver}} {{.CgroupVersion}}')" "docker info cgroup driver and version"
  assert_eq hull "$(docker info --format '{{.DefaultRuntime}}')" "default runtime"
  # The node's containerd, not one dockerd started.
  assert_eq 1 "$(pgrep -c -x containerd)" "containerd daemons"
}

t_docker_run_exec_stop_rm() {
  out=$(docker run --rm "$IMG_D" sh -c 'echo hello; cat /proc/self/cgroup')
  assert_eq "hello
0::/" "$out" "run --rm output (own cgroup namespace)"
  id=$(docker run -d "$IMG_D" sh -c 'trap "echo got-term; exit 0" TERM; while :; do sleep 0.2; done')
  pid=$(docker inspect -f '{{.State.Pid}}' "$id")
  assert_in_cgroup "$pid" "$(docker_cg "$id")"
  if [ $SD = systemd ]; then
    assert_unit "$(docker_unit "$id")" ActiveState=active ControlGroup="$(docker_cg "$id")" \
      Slice=system.slice Delegate=yes
  fi
  assert_eq "exec-ok 0::/" "$(docker exec "$id" sh -c 'echo exec-ok $(cat /proc/self/cgroup)')" "exec"
  # An exec'd process is in the container's cgroup too.
  docker exec -d "$id" sleep 4242
  wait_for 10 pgrep -x -f "sleep 4242"
  assert_in_cgroup "$(pgrep -x -f "sleep 4242")" "$(docker_cg "$id")"
  docker stop -t 30 "$id" >/dev/null
  assert_eq 0 "$(docker inspect -f '{{.State.ExitCode}}' "$id")" "exit code after stop (TERM handled)"
  assert_contains got-term "$(docker logs "$id")" "logs"
  docker rm "$id" >/dev/null
  if [ $SD = systemd ]; then assert_units_gone "*$id*"; fi
  [ ! -e "/sys/fs/cgroup$(docker_cg "$id")" ] || fail "cgroup $(docker_cg "$id") left"
}

t_docker_limits_update() {
  id=$(docker run -d --memory 64m --cpus 0.5 --pids-limit 50 "$IMG_D" sleep 1000)
  cg=/sys/fs/cgroup$(docker_cg "$id")
  if [ $SD = systemd ]; then
    assert_unit "$(docker_unit "$id")" MemoryMax=67108864 MemorySwapMax=67108864 \
      CPUQuotaPerSecUSec=500ms TasksMax=50
  fi
  assert_eq "67108864 50000 100000 50" "$(cat "$cg/memory.max" "$cg/cpu.max" "$cg/pids.max" | tr '\n' ' ' | sed 's/ $//')" "cgroup files"
  # dockerd asks for swap (2x --memory) only where its own cgroup has memory.swap.max: not when
  # it runs in the root cgroup (cgv2-vm), where it warns "Memory limited without swap".
  if [ $SD = systemd ]; then assert_eq 67108864 "$(cat "$cg/memory.swap.max")" "memory.swap.max"; fi
  assert_eq "67108864 50" "$(docker exec "$id" cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max | tr '\n' ' ' | sed 's/ $//')" "limits seen inside"
  docker update --memory 32m --pids-limit 20 --cpus 0.25 "$id" >/dev/null
  if [ $SD = systemd ]; then
    assert_unit "$(docker_unit "$id")" MemoryMax=33554432 CPUQuotaPerSecUSec=250ms TasksMax=20
  fi
  assert_eq "33554432 25000 100000 20" "$(cat "$cg/memory.max" "$cg/cpu.max" "$cg/pids.max" | tr '\n' ' ' | sed 's/ $//')" "cgroup files after docker update"
  docker rm -f "$id" >/dev/null
  if [ $SD = systemd ]; then assert_units_gone "*$id*"; fi
}

t_docker_stats_top_pause() {
  id=$(docker run -d "$IMG_D" sh -c 'head -c 20000000 /dev/zero > /dev/shm/fill; sleep 1000 & sleep 1000 & wait')
  wait_for 30 bash -c "[ \$(docker top $id | wc -l) -ge 4 ]"
  assert_eq "CMD wait 1000 1000" "$(docker top "$id" | awk '{print $NF}' | tr '\n' ' ' | sed 's/ $//')" "docker top"
  out=$(docker stats --no-stream --format '{{.MemUsage}} {{.PIDs}}' "$id")
  echo "stats: $out"
  assert_match '^[0-9.]+MiB / [0-9.]+[GM]iB 3$' "$out" "stats (memory, pids)"
  mib=${out%%MiB*}
  [ "${mib%.*}" -ge 10 ] || fail "memory usage ${mib}MiB < 10 after writing 20 MB to /dev/shm"
  if [ $SD = systemd ]; then
    assert_unit "$(docker_unit "$id")" TasksCurrent=3
    [ "$(unit_prop "$(docker_unit "$id")" MemoryCurrent)" -ge 20000000 ] || fail "unit MemoryCurrent < 20 MB"
  fi
  docker pause "$id" >/dev/null
  assert_eq paused "$(docker inspect -f '{{.State.Status}}' "$id")" "status after pause"
  assert_contains "frozen 1" "$(cat "/sys/fs/cgroup$(docker_cg "$id")/cgroup.events")" "cgroup.events"
  if [ $SD = systemd ]; then assert_unit "$(docker_unit "$id")" ActiveState=active; fi
  docker unpause "$id" >/dev/null
  assert_eq running "$(docker inspect -f '{{.State.Status}}' "$id")" "status after unpause"
  assert_contains "frozen 0" "$(cat "/sys/fs/cgroup$(docker_cg "$id")/cgroup.events")" "cgroup.events"
  assert_eq ok "$(docker exec "$id" echo ok)" "exec after unpause"
  docker rm -f "$id" >/dev/null
  if [ $SD = systemd ]; then assert_units_gone "*$id*"; fi
}

t_docker_restart_policy() {
  # on-failure:2: the same id, so the same unit name, is started three times; every run's
  # unit must be gone before the next (or the restart fails with "unit already exists").
  id=$(docker run -d --restart on-failure:2 "$IMG_D" sh -c 'sleep 1; exit 3')
  wait_for 90 bash -c "[ \"\$(docker inspect -f '{{.RestartCount}} {{.State.Status}}' $id)\" = '2 exited' ]"
  assert_eq 3 "$(docker inspect -f '{{.State.ExitCode}}' "$id")" "exit code"
  if [ $SD = systemd ]; then assert_units_gone "*$id*"; fi
  docker rm "$id" >/dev/null
  # always: the container comes back after its init is killed from outside.
  id=$(docker run -d --restart always "$IMG_D" sleep 1000)
  pid=$(docker inspect -f '{{.State.Pid}}' "$id")
  kill -9 "$pid"
  wait_for 60 bash -c "[ \"\$(docker inspect -f '{{.RestartCount}} {{.State.Running}}' $id)\" = '1 true' ]"
  pid2=$(docker inspect -f '{{.State.Pid}}' "$id")
  [ "$pid2" != "$pid" ] || fail "same pid after the restart"
  assert_in_cgroup "$pid2" "$(docker_cg "$id")"
  if [ $SD = systemd ]; then assert_unit "$(docker_unit "$id")" ActiveState=active; fi
  docker rm -f "$id" >/dev/null
  if [ $SD = systemd ]; then assert_units_gone "*$id*"; fi
}

if [ -n "${DOCKER_UP:-}" ]; then
  run_test t_docker_driver
  run_test t_docker_run_exec_stop_rm
  run_test t_docker_limits_update
  if [ $SD = systemd ]; then
    run_test t_docker_stats_top_pause
    run_test t_docker_restart_policy
  fi
fi
docker_rm_all >/dev/null 2>&1
stop_daemon "$(cat "$WORK/dockerd.pid")"
end_engine
fi

# ---------------------------------------------------------------- containerd CRI (systemd only)
CRI="/usr/bin/python3 $ENG_DIR/cri.py /run/containerd/containerd.sock"
# A kubepods-style pod slice, made as the kubelet makes it with the systemd driver (transient
# slices kubepods.slice > kubepods-besteffort.slice > kubepods-besteffort-pod<uid>.slice).
start_slice() {
  busctl call -- org.freedesktop.systemd1 /org/freedesktop/systemd1 org.freedesktop.systemd1.Manager \
    StartTransientUnit 'ssa(sv)a(sa(sv))' "$1" replace 2 \
    Description s "libcontainer container $1" Wants as 1 "$2" 0 >/dev/null
  wait_for 30 bash -c "[ \"\$(systemctl show -P ActiveState $1)\" = active ]"
}
pidof_task() { ctr -n k8s.io task ls | awk -v id="$1" '$1 == id {print $2}'; }

t_cri_pod() {
  uid=hull_node_pod_uid         # the pod's UID with "-" escaped to "_", as the kubelet does
  slice=kubepods-besteffort-pod$uid.slice
  slice_cg=/kubepods.slice/kubepods-besteffort.slice/$slice
  start_slice kubepods.slice -.slice
  start_slice kubepods-besteffort.slice kubepods.slice
  start_slice "$slice" kubepods-besteffort.slice
  pod=$($CRI run-pod hull-node-pod "" "$slice")
  assert_unit "cri-containerd-$pod.scope" ActiveState=active ControlGroup="$slice_cg/cri-containerd-$pod.scope" \
    Slice="$slice" Delegate=yes
  assert_in_cgroup "$(pidof_task "$pod")" "$slice_cg/cri-containerd-$pod.scope"
  cid=$($CRI create memory=67108864 cpu_quota=50000 cpu_period=100000 cpu_shares=512 \
    "$pod" hull-node-pod "$slice" app "$IMAGE" sh -c 'echo $((6*7)) > /tmp/answer; exec sleep 1000')
  $CRI start "$cid"
  u=cri-containerd-$cid.scope
  assert_unit "$u" ActiveState=active ControlGroup="$slice_cg/$u" Slice="$slice" \
    MemoryMax=67108864 CPUQuotaPerSecUSec=500ms
  cg=/sys/fs/cgroup$slice_cg/$u
  assert_eq "$(cat "$cg/cpu.weight")" "$(unit_prop "$u" CPUWeight)" "CPUWeight (unit) = cpu.weight (file)"
  assert_eq "67108864 50000 100000" "$(cat "$cg/memory.max" "$cg/cpu.max" | tr '\n' ' ' | sed 's/ $//')" "cgroup files"
  assert_in_cgroup "$(pidof_task "$cid")" "$slice_cg/$u"
  wait_for 20 $CRI exec "$cid" test -e /tmp/answer
  assert_eq 42 "$($CRI exec "$cid" cat /tmp/answer)" "ExecSync output"
  # The kubelet resizes a container in place with UpdateContainerResources.
  $CRI update "$cid" memory=33554432 cpu_quota=25000 cpu_period=100000
  assert_unit "$u" MemoryMax=33554432 CPUQuotaPerSecUSec=250ms
  assert_eq "33554432 25000 100000" "$(cat "$cg/memory.max" "$cg/cpu.max" | tr '\n' ' ' | sed 's/ $//')" "cgroup files after update"
  $CRI stop "$cid"
  $CRI rm "$cid"
  assert_units_gone "*$cid*"
  $CRI stop-pod "$pod"
  $CRI rm-pod "$pod"
  assert_units_gone "*$pod*"
  assert_eq "" "$(ls "/sys/fs/cgroup$slice_cg" | grep scope || true)" "scopes left in the pod slice"
  # The kubelet then removes the pod's slice.
  systemctl stop "$slice"
  assert_units_gone "$slice"
}

if [ $SD = systemd ] && want cri; then
  begin_engine cri-systemd
  if ! /usr/bin/python3 -c 'import grpc' 2>/dev/null; then
    setup_failed "python3-grpcio not installed (hack/deps.sh)"
  else
    mk_image_archive "$WORK/rootfs" "$IMAGE" "$IMAGE_TAR"
    mk_image_archive "$WORK/rootfs" "$PAUSE" "$WORK/pause.tar" '["sleep", "2147483647"]'
    if ! { ctr -n k8s.io image import "$IMAGE_TAR" >/dev/null && ctr -n k8s.io image import "$WORK/pause.tar" >/dev/null; }; then
      setup_failed "ctr image import"
    else
      on_exit 'for p in $(/usr/bin/ctr -n k8s.io task ls -q); do /usr/bin/ctr -n k8s.io task kill -s KILL $p; sleep 0.2; /usr/bin/ctr -n k8s.io task delete -f $p; done'
      run_test t_cri_pod
    fi
  fi
  end_engine
fi
stop_daemon "$(cat "$WORK/containerd.pid")"

# ---------------------------------------------------------------- podman
if want podman || want buildah; then
begin_engine podman-$SD
podman() {
  if [ $SD = systemd ]; then
    timeout 120 /usr/bin/podman --runtime "$RT" "$@"
  else
    timeout 120 /usr/bin/podman --root "$WORK/podman/root" --runroot "$WORK/podman/runroot" \
      --cgroup-manager cgroupfs --events-backend file --runtime "$RT" "$@"
  fi
}
on_exit 'podman rm -af -t 0'
[ $SD = systemd ] && on_exit "umount_under /var/lib/containers" || on_exit "umount_under $WORK/podman"
podman import "$WORK/rootfs.tar" "$IMG_P" >/dev/null && PODMAN_UP=1 || setup_failed "podman import"
podman_cg() { if [ $SD = systemd ]; then echo "/machine.slice/libpod-$1.scope"; else echo "/libpod_parent/libpod-$1"; fi; }

t_podman_driver() {
  assert_eq "$SD" "$(podman info --format '{{.Host.CgroupManager}}')" "podman's cgroup manager"
}

t_podman_run_exec_stop() {
  assert_eq hello "$(podman run --rm --network none "$IMG_P" echo hello)" "run --rm"
  id=$(podman run -d --network none "$IMG_P" sh -c 'trap "exit 0" TERM; while :; do sleep 0.2; done')
  pid=$(podman inspect -f '{{.State.Pid}}' "$id")
  assert_in_cgroup "$pid" "$(podman_cg "$id")"
  if [ $SD = systemd ]; then
    assert_unit "libpod-$id.scope" ActiveState=active ControlGroup="$(podman_cg "$id")" Slice=machine.slice Delegate=yes
    cpid=$(podman inspect -f '{{.State.ConmonPid}}' "$id")
    echo "conmon's cgroup: $(cat /proc/$cpid/cgroup); units: $(units "*$id*" | tr '\n' ' ')"
  fi
  assert_eq exec-ok "$(podman exec "$id" echo exec-ok)" "exec"
  podman stop -t 30 "$id" >/dev/null
  assert_eq 0 "$(podman inspect -f '{{.State.ExitCode}}' "$id")" "exit code after stop"
  podman rm "$id" >/dev/null
  if [ $SD = systemd ]; then assert_units_gone "*$id*"; fi
  [ ! -e "/sys/fs/cgroup$(podman_cg "$id")" ] || fail "cgroup $(podman_cg "$id") left"
}

t_podman_limits_stats() {
  id=$(podman run -d --network none --memory 64m --pids-limit 50 "$IMG_P" sleep 1000)
  cg=/sys/fs/cgroup$(podman_cg "$id")
  if [ $SD = systemd ]; then assert_unit "libpod-$id.scope" MemoryMax=67108864 TasksMax=50; fi
  assert_eq "67108864 50" "$(cat "$cg/memory.max" "$cg/pids.max" | tr '\n' ' ' | sed 's/ $//')" "cgroup files"
  out=$(podman stats --no-stream --format '{{.MemUsage}} {{.PIDs}}' "$id")
  echo "stats: $out"
  assert_match '^[0-9.]+[kMG]B / 67.11MB 1$' "$out" "podman stats (memory usage / limit, pids)"
  podman rm -f -t 0 "$id" >/dev/null
  if [ $SD = systemd ]; then assert_units_gone "*$id*"; fi
}

t_podman_pod() {
  podman pod create --name hull-node-pod --network none --infra-image "$IMG_P" --infra-command 'sleep 2147483647' >/dev/null
  podid=$(podman pod inspect -f '{{.ID}}' hull-node-pod)
  id=$(podman run -d --pod hull-node-pod --memory 32m "$IMG_P" sleep 1000)
  infra=$(podman pod inspect -f '{{.InfraContainerID}}' hull-node-pod)
  slice=machine-libpod_pod_$podid.slice
  pcg=/machine.slice/$slice
  assert_eq "${pcg#/}" "$(podman pod inspect -f '{{.CgroupPath}}' hull-node-pod)" "pod cgroup"
  for c in "$infra" "$id"; do
    assert_unit "libpod-$c.scope" ActiveState=active ControlGroup="$pcg/libpod-$c.scope" Slice="$slice"
    assert_in_cgroup "$(podman inspect -f '{{.State.Pid}}' "$c")" "$pcg/libpod-$c.scope"
  done
  assert_unit "libpod-$id.scope" MemoryMax=33554432
  assert_eq "$(readlink "/proc/$(podman inspect -f '{{.State.Pid}}' "$infra")/ns/ipc")" \
    "$(readlink "/proc/$(podman inspect -f '{{.State.Pid}}' "$id")/ns/ipc")" "ipc namespace shared with the infra container"
  podman pod stop -t 0 hull-node-pod >/dev/null
  for c in "$infra" "$id"; do assert_units_gone "libpod-$c.scope"; done
  podman pod rm hull-node-pod >/dev/null
  assert_units_gone "*$id*"
  assert_units_gone "*$infra*"
  assert_units_gone "$slice"
}

if [ -n "${PODMAN_UP:-}" ] && want podman; then
  run_test t_podman_driver
  run_test t_podman_run_exec_stop
  run_test t_podman_limits_stats
  [ $SD = systemd ] && run_test t_podman_pod
fi
end_engine
fi

# ---------------------------------------------------------------- buildah (systemd only)
t_buildah_bud() {
  mkdir -p "$WORK/ctx"
  cat >"$WORK/ctx/Containerfile" <<EOF
FROM $IMG_P
RUN echo built > /built && cat /proc/self/cgroup > /run-cgroup
RUN test -e /built && echo second >> /built
CMD ["cat", "/built"]
EOF
  timeout 300 buildah bud --runtime "$RT" --isolation oci --network none -t localhost/hull/built "$WORK/ctx"
  assert_eq "built
second" "$(podman run --rm --network none localhost/hull/built)" "the built image"
  # buildah gives no --systemd-cgroup and no cgroupsPath: the RUN containers are in a cgroupfs
  # directory named after them (docs/engines.md: where, against runc), not a unit.
  assert_eq "0::/" "$(podman run --rm --network none localhost/hull/built cat /run-cgroup)" "RUN's cgroup (own namespace)"
  assert_units_gone "*buildah*"
  assert_eq "" "$(find /sys/fs/cgroup -name 'buildah-*' -type d)" "cgroups left by RUN steps"
  podman rmi localhost/hull/built >/dev/null
}
if [ $SD = systemd ] && want buildah; then
  begin_engine buildah-systemd
  if ! command -v buildah >/dev/null; then
    setup_failed "buildah not installed (hack/deps.sh)"
  elif [ -n "${PODMAN_UP:-}" ]; then
    run_test t_buildah_bud
  fi
  end_engine
fi

printf '\n--- engine tests on a %s node (%s s): passed failed skipped\n' "$SD" "$(( $(date +%s) - _T0 ))"
cat "$HULL_ENG_RESULTS/results"
exit $NODE_RC
