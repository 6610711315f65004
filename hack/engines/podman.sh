#!/usr/bin/env bash
# podman 4.3 on hull, with its conmon monitor (console socket, exit files, hull's json log
# for errors). Storage, run root, tmp dir and events are private to $WORK; podman is
# daemonless, so there is nothing to start. The image is `podman import`ed from a busybox
# rootfs built here. buildah (1.28) runs on the same storage and containers.conf.
source "$(dirname "$0")/lib.sh"

command -v podman >/dev/null || { log "podman not installed (hack/deps.sh)"; exit 1; }
command -v conmon >/dev/null || { log "conmon not installed (hack/deps.sh)"; exit 1; }
command -v buildah >/dev/null || { log "buildah not installed (hack/deps.sh)"; exit 1; }
RT=$(runtime_path)
P=$WORK/podman
mkdir -p "$P/tmp"
# Extra `podman run` options for every test (as HULL_ENG_DOCKER_OPTS for docker.sh).
EXTRA=(${HULL_ENG_PODMAN_OPTS:-})
# No CNI bridge: podman's tests stay off the host's networks.
NET=(--network none)
# podman's own config stays out of the way: nothing from /etc/containers beyond policy.
export CONTAINERS_CONF=$P/containers.conf
NOFILE=$(ulimit -Hn)
NPROC=$(ulimit -Hu); [ "$NPROC" != unlimited ] && [ "$NPROC" -lt 32768 ] || NPROC=32768
cat >"$CONTAINERS_CONF" <<EOF
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$P/events.log"
conmon_path = ["/usr/bin/conmon"]
# Every container on hull, the README's way (tested by t_containers_conf_runtime; the
# other tests pass --runtime, which overrides it). The name "hull" is registered by the
# packaged example (packaging/examples/podman-hull.conf), appended below as it stands: with
# CONTAINERS_CONF set podman reads no containers.conf.d, and appending a file is what that
# directory's merge does.
runtime = "hull"
[network]
network_backend = "cni"
cni_plugin_dirs = ["/usr/lib/cni"]
network_config_dir = "$P/cni"
[containers]
# podman asks for nofile=1048576 as root, and lowers its own nproc to 32768 before it runs
# conmon, then asks for the host's nproc. Raising a hard limit needs CAP_SYS_RESOURCE, which
# root on some hosts (this CI's VM) lacks; then runc, crun and hull all fail alike.
default_ulimits = ["nofile=$NOFILE:$NOFILE", "nproc=$NPROC:$NPROC"]
EOF
PODMAN_CONF_D=$(example podman-hull.conf) || exit 1
cat "$PODMAN_CONF_D" >>"$CONTAINERS_CONF"

# A CNI network of our own for t_network_bridge: bridge hull-pbr0, no masquerading or
# firewall rules, addresses kept under $P.
PBR=hull-pbr0
PNET=10.213.18
mkdir -p "$P/cni"
cat >"$P/cni/hull-net.conflist" <<EOF
{"cniVersion": "0.4.0", "name": "hull-net", "plugins": [
  {"type": "bridge", "bridge": "$PBR", "isGateway": true, "ipMasq": false,
   "ipam": {"type": "host-local", "dataDir": "$P/cni-ipam",
            "ranges": [[{"subnet": "$PNET.0/24", "gateway": "$PNET.1"}]]}}]}
EOF
on_exit "ip link del $PBR"
# The bridge plugin turns ip_forward on and caches results under /var/lib/cni: put back.
on_exit "echo $(cat /proc/sys/net/ipv4/ip_forward) > /proc/sys/net/ipv4/ip_forward"
[ -e /var/lib/cni ] || on_exit "rm -rf /var/lib/cni"

podman() {
  timeout 120 /usr/bin/podman --root "$P/root" --runroot "$P/runroot" --tmpdir "$P/tmp" \
    --runtime "$RT" --storage-driver overlay "$@"
}
prun() { podman run "${NET[@]}" "${EXTRA[@]}" "$@"; }
IMG=localhost/hull/busybox

cleanup_podman() {
  podman rm -af -t 0
  podman system reset -f
}
own_cgroup_parent libpod_parent
on_exit "umount_under $P"
on_exit cleanup_podman

mk_rootfs "$WORK/rootfs"
tar --numeric-owner -C "$WORK/rootfs" -c . | podman import - "$IMG" >/dev/null || { log "podman import failed"; exit 1; }

t_run_rm() {
  out=$(prun --rm "$IMG" sh -c 'echo hello from $(hostname)')
  assert_match '^hello from [0-9a-f]{12}$' "$out" "output (hostname is the container id)"
  set +e
  prun --rm "$IMG" sh -c 'exit 3'
  rc=$?
  set -e
  assert_eq 3 "$rc" "exit status (conmon's exit file)"
  assert_eq "" "$(podman ps -aq)" "containers left after --rm"
  # podman really ran hull: it records the runtime it used.
  id=$(prun -d "$IMG" sleep 1000)
  assert_eq "$RT" "$(podman inspect -f '{{.OCIRuntime}}' "$id")" "OCI runtime of the container"
  # podman passes no --root to runtimes other than runc/crun: hull uses its default.
  assert_contains '"status": "running"' "$("$HULL" state "$id")" "hull state"
  podman rm -f -t 0 "$id" >/dev/null
}

t_containers_conf_runtime() {
  id=$(timeout 60 /usr/bin/podman --root "$P/root" --runroot "$P/runroot" --tmpdir "$P/tmp" \
    --storage-driver overlay run -d "${NET[@]}" "${EXTRA[@]}" "$IMG" sleep 1000)
  assert_eq hull "$(podman inspect -f '{{.OCIRuntime}}' "$id")" "OCI runtime from containers.conf"
  assert_contains '"status": "running"' "$("$HULL" state "$id")" "hull state"
  podman rm -f -t 0 "$id" >/dev/null
}

t_buildah_runtime() {
  # buildah reads the same containers.conf: `--runtime hull` is the name the example
  # registers. hull's --debug phase lines in the log file prove that hull ran it.
  b() { timeout 120 /usr/bin/buildah --root "$P/root" --runroot "$P/runroot" --storage-driver overlay "$@"; }
  ctr=$(b from --pull-never "$IMG")
  out=$(b run --runtime hull --network none --runtime-flag "log=$P/buildah-hull.log" \
    --runtime-flag debug "$ctr" -- sh -c 'echo via-buildah')
  b rm "$ctr" >/dev/null
  assert_eq via-buildah "$out" "output"
  assert_contains 'phase ' "$(cat "$P/buildah-hull.log")" "hull's debug log"
}

t_interactive() {
  # -it: conmon passes a console socket to hull and relays the pty to podman's terminal.
  tm() { tmux -S "$WORK/tmux.sock" "$@"; }
  local cmd="/usr/bin/podman --root $P/root --runroot $P/runroot --tmpdir $P/tmp --runtime $RT --storage-driver overlay run ${NET[*]} ${EXTRA[*]} --rm -it $IMG sh; echo SESSION-END rc=\$?; sleep 30"
  tm new-session -d -s it -x 100 -y 30 "env CONTAINERS_CONF=$CONTAINERS_CONF bash -c '$cmd'"
  trap 'tm kill-server 2>/dev/null' EXIT
  wait_for 30 bash -c "tmux -S $WORK/tmux.sock capture-pane -p -t it | grep -q '/ #'" || { tm capture-pane -p -t it; false; }
  tm send-keys -t it 'tty; stty size; echo $((6*7))' Enter
  wait_for 10 bash -c "tmux -S $WORK/tmux.sock capture-pane -p -t it | grep -qx 42" || { tm capture-pane -p -t it; false; }
  tm send-keys -t it 'exit 4' Enter
  wait_for 20 bash -c "tmux -S $WORK/tmux.sock capture-pane -p -t it | grep -q SESSION-END" || { tm capture-pane -p -t it; false; }
  screen=$(tm capture-pane -p -t it)
  echo "$screen"
  assert_contains "/dev/pts/0" "$screen" "tty"
  assert_contains "30 100" "$screen" "window size"
  assert_contains "SESSION-END rc=4" "$screen" "exit status of the session"
}

t_exec() {
  id=$(prun -d "$IMG" sleep 1000)
  out=$(podman exec "$id" sh -c 'echo $(id -u) $(pwd); cat /proc/1/cmdline | tr "\0" " "')
  assert_eq "0 /
sleep 1000 " "$out" "exec output"
  out=$(podman exec -u 1000 -w /tmp -e FOO=bar "$id" sh -c 'echo $(id -u) $(pwd) $FOO')
  assert_eq "1000 /tmp bar" "$out" "exec with user, workdir, env"
  set +e
  podman exec "$id" sh -c 'exit 6'
  rc=$?
  set -e
  assert_eq 6 "$rc" "exec exit status"
  out=$(timeout 60 script -qec "env CONTAINERS_CONF=$CONTAINERS_CONF /usr/bin/podman --root $P/root --runroot $P/runroot --tmpdir $P/tmp --runtime $RT --storage-driver overlay exec -it $id sh -c 'tty'" /dev/null | tr -d '\r')
  assert_match '/dev/pts/[0-9]+' "$out" "exec -it tty"
  # An exec that cannot start reports hull's error (conmon relays the runtime's log).
  set +e
  err=$(podman exec "$id" /no/such/binary 2>&1)
  rc=$?
  set -e
  [ $rc -ne 0 ] || fail "exec of a missing binary succeeded"
  assert_contains "/no/such/binary" "$err" "exec error"
  podman rm -f -t 0 "$id" >/dev/null
}

t_stop() {
  id=$(prun -d "$IMG" sh -c 'trap "echo got-term; exit 0" TERM; while :; do sleep 0.1; done')
  sleep 0.5
  podman stop -t 20 "$id" >/dev/null
  assert_eq 0 "$(podman inspect -f '{{.State.ExitCode}}' "$id")" "exit code after TERM"
  assert_contains got-term "$(podman logs "$id")" "logs"
  podman rm "$id" >/dev/null
  id=$(prun -d "$IMG" sh -c 'trap "" TERM; while :; do sleep 0.1; done')
  sleep 0.5
  podman stop -t 1 "$id" >/dev/null
  assert_eq 137 "$(podman inspect -f '{{.State.ExitCode}}' "$id")" "exit code after KILL"
  podman rm "$id" >/dev/null
}

t_kill() {
  id=$(prun -d "$IMG" sh -c 'trap "echo got-usr1" USR1; while :; do sleep 0.1; done')
  sleep 0.5
  podman kill -s USR1 "$id" >/dev/null
  wait_for 10 bash -c "env CONTAINERS_CONF=$CONTAINERS_CONF /usr/bin/podman --root $P/root --runroot $P/runroot --tmpdir $P/tmp --runtime $RT logs $id | grep -q got-usr1"
  podman kill "$id" >/dev/null
  podman wait "$id" >/dev/null || true
  assert_eq 137 "$(podman inspect -f '{{.State.ExitCode}}' "$id")" "exit code after kill"
  podman rm "$id" >/dev/null
}

t_pause_top_stats() {
  id=$(prun -d "$IMG" sh -c 'i=0; while :; do i=$((i+1)); echo $i > /tmp/n.new; mv /tmp/n.new /tmp/n; sleep 0.05; done')
  sleep 0.5
  podman pause "$id" >/dev/null
  assert_eq paused "$(podman inspect -f '{{.State.Status}}' "$id")" "status after pause"
  f=$(podman inspect -f '{{.GraphDriver.Data.MergedDir}}' "$id")/tmp/n
  p1=$(cat "$f"); sleep 0.5; p2=$(cat "$f")
  assert_eq "$p1" "$p2" "counter while paused (read from the host)"
  assert_contains '"status": "paused"' "$("$HULL" state "$id")" "hull state"
  podman unpause "$id" >/dev/null
  a=$(podman exec "$id" cat /tmp/n); sleep 0.5; b=$(podman exec "$id" cat /tmp/n)
  [ "$b" -gt "$a" ] || fail "counter did not advance after unpause ($a -> $b)"
  assert_contains "while" "$(podman top "$id" args)" "podman top"
  out=$(podman stats --no-stream --format '{{.PIDs}}' "$id")
  assert_match '^[1-9][0-9]*$' "$out" "pids in podman stats"
  podman rm -f -t 0 "$id" >/dev/null
}

t_user_namespace() {
  # --uidmap: a user namespace, with podman chowning the image for the mapping.
  # Not --rm, and rm retried: with a uid map, removing the container races with conmon's
  # asynchronous cleanup of the shm mount in podman 4.3, failing about one run in three
  # under runc and hull alike ("unlinkat .../userdata/shm: device or resource busy").
  out=$(prun --name hull-userns --uidmap 0:100000:65536 --gidmap 0:100000:65536 "$IMG" sh -c 'cat /proc/self/uid_map /proc/self/gid_map; id -u; stat -c %u /bin/busybox; touch /tmp/f && echo writable')
  wait_for 20 podman rm -f hull-userns
  assert_eq "         0     100000      65536
         0     100000      65536
0
0
writable" "$out" "maps, root inside, image owned by the mapped root"
  id=$(prun -d --uidmap 0:100000:65536 --gidmap 0:100000:65536 "$IMG" sleep 1000)
  assert_eq "         0     100000      65536" "$(podman exec "$id" cat /proc/self/uid_map)" "exec joins the user namespace"
  pid=$(podman inspect -f '{{.State.Pid}}' "$id")
  assert_eq 100000 "$(stat -c %u "/proc/$pid")" "host uid of the container's root"
  wait_for 20 podman rm -f -t 0 "$id"
}

t_idmap_volume() {
  # `-v SRC:DST:idmap` in a user namespace: podman passes `idmap` on the bind mount and hull
  # id-maps it through the container's user namespace, so the host's owners show unshifted
  # (not as the overflow id) and what the container's root writes is owned by the host's 0.
  local src=$WORK/idmap-src
  mkdir -p "$src"
  touch "$src/root" "$src/u1000"
  chown 1000:1000 "$src/u1000"
  out=$(prun --rm --uidmap 0:100000:65536 --gidmap 0:100000:65536 -v "$src:/data:idmap" "$IMG" sh -c 'stat -c %u:%g /data/root /data/u1000; touch /data/new && echo wrote')
  assert_eq "0:0
1000:1000
wrote" "$out" "owners through the id-mapped volume"
  assert_eq "0:0" "$(stat -c %u:%g "$src/new")" "a file the container's root made is the host's root's"
}

t_pod() {
  # A pod: an infra container (our busybox, sleeping) holds the shared namespaces, which
  # the pod's containers join by path.
  podman pod create --name hull-pod --infra-image "$IMG" --infra-command 'sleep 2147483647' "${NET[@]}" >/dev/null
  id=$(podman run -d --pod hull-pod "${EXTRA[@]}" "$IMG" sleep 1000)
  infra=$(podman pod inspect -f '{{.InfraContainerID}}' hull-pod)
  ipid=$(podman inspect -f '{{.State.Pid}}' "$infra")
  cpid=$(podman inspect -f '{{.State.Pid}}' "$id")
  for ns in ipc uts net; do
    assert_eq "$(readlink /proc/$ipid/ns/$ns)" "$(readlink /proc/$cpid/ns/$ns)" "$ns namespace shared with the infra container"
  done
  assert_contains '"status": "running"' "$("$HULL" state "$infra")" "infra container is hull's"
  podman pod rm -f hull-pod >/dev/null
  assert_eq "" "$("$HULL" list -q | grep -x -e "$id" -e "$infra" || true)" "hull state after pod rm"
}

t_network_bridge() {
  # conmon + CNI: podman makes the network namespace and the bridge plugin puts eth0 in it.
  out=$(podman run --rm --network hull-net "${EXTRA[@]}" "$IMG" sh -c "ip -4 addr show eth0 | grep -o 'inet [0-9.]*'; ping -c 1 -W 5 $PNET.1 >/dev/null && echo gateway-ok")
  assert_match "inet $PNET\\.[0-9]+" "$out" "eth0 address on the CNI bridge"
  assert_contains gateway-ok "$out" "ping of the bridge gateway"
}

t_create_error() {
  # podman turns runc's wording of exec errors into 127 (not found) and 126 (not
  # executable): hull's messages must read the same.
  set +e
  err=$(prun --rm "$IMG" /no/such/binary 2>&1)
  rc=$?
  set -e
  assert_eq 127 "$rc" "exit status for a missing binary"
  assert_contains "/no/such/binary" "$err" "create error reaches podman"
  set +e
  prun --rm "$IMG" nosuchcmd
  rc1=$?
  prun --rm "$IMG" /etc/passwd
  rc2=$?
  id=$(prun -d "$IMG" sleep 1000)
  podman exec "$id" /no/such/binary
  rc3=$?
  podman exec "$id" /etc/passwd
  rc4=$?
  set -e
  podman rm -f -t 0 "$id" >/dev/null
  assert_eq "127 126 127 126" "$rc1 $rc2 $rc3 $rc4" "exit statuses: run not in PATH, run not executable, exec missing, exec not executable"
}

t_default_config() {
  # podman's defaults (its seccomp profile, pids limit) without any extra options.
  # hull's stderr is the user's terminal under podman: nothing may appear there (runc
  # prints nothing either, e.g. for syscall names of other architectures in the profile).
  out=$(podman run "${NET[@]}" --rm "$IMG" sh -c 'grep ^Seccomp: /proc/self/status; cat /sys/fs/cgroup/pids/pids.max' 2>&1)
  assert_eq "Seccomp:	2
2048" "$out" "seccomp mode and pids limit with podman's defaults (and nothing else)"
}

run_test t_run_rm
run_test t_containers_conf_runtime
run_test t_buildah_runtime
run_test t_interactive
run_test t_exec
run_test t_stop
run_test t_kill
run_test t_pause_top_stats
run_test t_user_namespace
run_test t_idmap_volume
run_test t_pod
run_test t_network_bridge
run_test t_create_error
run_test t_default_config
summary
