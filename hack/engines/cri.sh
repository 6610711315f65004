#!/usr/bin/env bash
# containerd 1.6's CRI plugin with a `runtimes.hull` entry whose BinaryName is hull: what a
# Kubernetes RuntimeClass with `handler: hull` uses. cri.py plays the kubelet (RunPodSandbox
# with runtime_handler "hull", CreateContainer, StartContainer, ExecSync, stop, remove).
# Pods use the node's network namespace, so no CNI plugin runs and no network is touched.
# The default runtime points at a binary that does not exist: only the handler reaches hull.
source "$(dirname "$0")/lib.sh"

command -v containerd >/dev/null || { log "containerd not installed (hack/deps.sh)"; exit 1; }
/usr/bin/python3 -c 'import grpc' 2>/dev/null || { log "python3-grpcio not installed (hack/deps.sh)"; exit 1; }
RT=$(runtime_path)
CD=$WORK/containerd
SOCK=$CD/containerd.sock
CRI="/usr/bin/python3 $ENG_DIR/cri.py $SOCK"
PARENT=/hull-cri
PAUSE=docker.io/hull/pause:latest
mkdir -p "$CD/cni/bin" "$CD/cni/conf"

containerd_config "$CD" "$SOCK" >"$CD/config.toml"
cat >>"$CD/config.toml" <<EOF
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  # CRI gives sandboxes oomScoreAdj -998; lowering it needs CAP_SYS_RESOURCE, which root on
  # this CI's VM lacks (runc fails alike: "failed to update /proc/self/oom_score_adj").
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$CD/cni/bin"
    conf_dir = "$CD/cni/conf"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "/nonexistent/runc"
EOF
# The runtime entry a RuntimeClass with handler "hull" selects: the packaged example
# (packaging/examples/containerd-hull.toml), appended as its install note says.
CD_EXAMPLE=$(example containerd-hull.toml) || exit 1
cat "$CD_EXAMPLE" >>"$CD/config.toml"
# What the kubelet sends for a pod with `runtimeClassName: hull`: the packaged RuntimeClass's
# handler (packaging/examples/runtimeclass-hull.yaml).
HANDLER=$(sed -n 's/^handler: *//p' "$(example runtimeclass-hull.yaml)")
[ -n "$HANDLER" ] || { log "no handler in runtimeclass-hull.yaml"; exit 1; }

ctr() { timeout 60 /usr/bin/ctr -a "$SOCK" -n k8s.io "$@"; }
HULL_ROOT=/run/containerd/runc/k8s.io

cleanup_cri() {
  local p
  for p in $(/usr/bin/ctr -a "$SOCK" -n k8s.io task ls -q 2>/dev/null); do
    /usr/bin/ctr -a "$SOCK" -n k8s.io task kill -s KILL "$p"
    sleep 0.2
    /usr/bin/ctr -a "$SOCK" -n k8s.io task delete -f "$p"
  done
  for p in $(/usr/bin/ctr -a "$SOCK" -n k8s.io container ls -q 2>/dev/null); do
    /usr/bin/ctr -a "$SOCK" -n k8s.io container delete "$p"
  done
}
start_containerd() {
  start_daemon containerd "$CD/pid" "$CD/containerd.log" containerd --config "$CD/config.toml"
  wait_for 30 /usr/bin/ctr -a "$SOCK" version || { tail -20 "$CD/containerd.log" >&2; exit 1; }
}

own_cgroup_parent "${PARENT#/}"
[ -e "$HULL_ROOT" ] || on_exit "rm -rf $HULL_ROOT"
on_exit "umount_under $CD"
start_containerd

# The images go into CRI's namespace; CRI reads its image list when it starts, so the
# daemon is restarted once after the import.
mk_rootfs "$WORK/rootfs"
mk_image_archive "$WORK/rootfs" "$IMAGE" "$IMAGE_TAR"
mk_image_archive "$WORK/rootfs" "$PAUSE" "$WORK/pause.tar" '["sleep", "2147483647"]'
ctr image import "$IMAGE_TAR" >/dev/null && ctr image import "$WORK/pause.tar" >/dev/null || { log "ctr image import failed"; exit 1; }
stop_daemon "$(cat "$CD/pid")"
start_containerd
on_exit cleanup_cri
wait_for 30 $CRI version || { tail -20 "$CD/containerd.log" >&2; exit 1; }

t_runtime_class_pod() {
  pod=$($CRI run-pod hull-cri-pod "$HANDLER" "$PARENT")
  # The pod's sandbox (pause) container is hull's.
  assert_contains '"status": "running"' "$("$HULL" --root "$HULL_ROOT" state "$pod")" "sandbox state in hull"
  cid=$($CRI create "$pod" hull-cri-pod "$PARENT" app "$IMAGE" sh -c 'echo $((6*7)) > /tmp/answer; exec sleep 1000')
  $CRI start "$cid"
  assert_contains '"status": "running"' "$("$HULL" --root "$HULL_ROOT" state "$cid")" "container state in hull"
  wait_for 10 $CRI exec "$cid" test -e /tmp/answer
  assert_eq 42 "$($CRI exec "$cid" cat /tmp/answer)" "ExecSync output"
  set +e
  $CRI exec "$cid" sh -c 'exit 3'
  rc=$?
  set -e
  assert_eq 3 "$rc" "ExecSync exit code"
  # The container is in the pod: it shares the sandbox's IPC and UTS namespaces.
  for ns in ipc uts; do
    assert_eq "$(readlink "/proc/$(pidof_task "$pod")/ns/$ns")" "$(readlink "/proc/$(pidof_task "$cid")/ns/$ns")" "$ns namespace shared with the sandbox"
  done
  assert_contains "$PARENT/" "$(cat "/proc/$(pidof_task "$cid")/cgroup")" "cgroup under the pod's parent"
  $CRI stop "$cid"
  $CRI rm "$cid"
  $CRI stop-pod "$pod"
  $CRI rm-pod "$pod"
  assert_eq "" "$("$HULL" --root "$HULL_ROOT" list -q)" "hull containers left"
}
pidof_task() { ctr task ls | awk -v id="$1" '$1 == id {print $2}'; }

t_default_handler_is_not_hull() {
  # Without the handler the pod goes to the default runtime, which does not exist here:
  # hull is reached through the RuntimeClass handler only.
  set +e
  err=$($CRI run-pod hull-cri-default "" "$PARENT" 2>&1)
  rc=$?
  set -e
  [ $rc -ne 0 ] || fail "a pod without the hull handler started: $err"
  assert_contains "/nonexistent/runc" "$err" "default runtime error"
}

run_test t_runtime_class_pod
run_test t_default_handler_is_not_hull
summary
