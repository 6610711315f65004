#!/usr/bin/env bash
# Engine tests of checkpoint/restore through hull: podman's `container checkpoint`/`restore`
# (in place, and `--export`/`--import` into a new container), and containerd 1.6's `ctr`
# through its stock runc v2 shim (`ctr task checkpoint --image-path/--work-path`,
# `ctr container checkpoint --task` + `ctr container restore --live`).
# CRIU must work, so this runs in the pure cgroup v2 guest, where it does:
#   hack/cgv2-vm.sh hack/engines/checkpoint.sh
# HULL_CR_RUNTIME=/usr/sbin/runc runs the same tests with runc (to validate the script).
set -u -o pipefail
. "$(dirname "$0")/lib.sh"

RT=${HULL_CR_RUNTIME:-$(runtime_path)}
command -v criu >/dev/null && criu check >/dev/null 2>&1 || { log "criu check fails here: run in hack/cgv2-vm.sh"; exit 1; }
mk_rootfs "$WORK/rootfs"
tar --numeric-owner -C "$WORK/rootfs" -cf "$WORK/rootfs.tar" .
IMG=localhost/hull/busybox
COUNTER='i=0; while :; do echo n=$i; i=$((i+1)); sleep 0.2; done'

podman() {
  timeout 300 /usr/bin/podman --root "$WORK/podman/root" --runroot "$WORK/podman/runroot" \
    --cgroup-manager cgroupfs --events-backend file --runtime "$RT" "$@"
}
on_exit 'podman rm -af -t 0'
on_exit "umount_under $WORK/podman"
podman import "$WORK/rootfs.tar" "$IMG" >/dev/null || { log "podman import failed"; exit 1; }

# last_count ID: the last n=N its log shows.
last_count() { podman logs "$1" 2>/dev/null | sed -n 's/^n=//p' | tail -1; }
# counted_past ID N: its log shows a count above N.
counted_past() { local l; l=$(last_count "$1"); [ -n "$l" ] && [ "$l" -gt "$2" ]; }

t_podman_checkpoint_restore() {
  local id before
  id=$(podman run -d --network none "$IMG" sh -c "$COUNTER")
  wait_for 60 counted_past "$id" 2
  podman container checkpoint "$id"
  assert_eq exited "$(podman inspect -f '{{.State.Status}}' "$id")" "status after checkpoint"
  before=$(last_count "$id")
  podman container restore "$id"
  assert_eq running "$(podman inspect -f '{{.State.Status}}' "$id")" "status after restore"
  wait_for 60 counted_past "$id" $((before + 2))
  # The count went on from the checkpoint: no second n=0.
  assert_eq 1 "$(podman logs "$id" | grep -c '^n=0$')" "restarted from zero"
  podman rm -f -t 0 "$id" >/dev/null
}

t_podman_export_import() {
  local id new before
  id=$(podman run -d --network none "$IMG" sh -c "$COUNTER")
  wait_for 60 counted_past "$id" 2
  podman container checkpoint --export "$WORK/cp.tar.gz" "$id"
  before=$(last_count "$id")
  podman rm -f -t 0 "$id" >/dev/null
  new=$(podman container restore --import "$WORK/cp.tar.gz" --name restored-copy)
  assert_eq running "$(podman inspect -f '{{.State.Status}}' restored-copy)" "imported container"
  # A new container (its log comes with the export): the count goes on, no second n=0.
  wait_for 60 counted_past restored-copy $((before + 1))
  assert_eq 1 "$(podman logs restored-copy | grep -c '^n=0$')" "restarted from zero"
  podman rm -f -t 0 restored-copy >/dev/null
}

# ---- containerd 1.6, ctr and its stock io.containerd.runc.v2 shim (a private daemon, as
# containerd.sh starts one) ----
NS=hull-cr
CD=$WORK/containerd
SOCK=$CD/containerd.sock
mkdir -p "$CD"
containerd_config "$CD" "$SOCK" 'disabled_plugins = ["io.containerd.grpc.v1.cri"]' >"$CD/config.toml"
ctr() { timeout 120 /usr/bin/ctr -a "$SOCK" -n "$NS" "$@"; }
own_cgroup_parent "$NS"
start_daemon containerd "$CD/pid" "$CD/containerd.log" containerd --config "$CD/config.toml"
on_exit "umount_under $CD; rm -rf /run/containerd/runc/$NS"
on_exit 'for t in $(ctr task ls -q); do ctr task kill -s KILL $t; sleep 0.2; ctr task delete -f $t; done; for c in $(ctr c ls -q); do ctr c delete $c; done'
wait_for 60 /usr/bin/ctr -a "$SOCK" version || { cat "$CD/containerd.log" >&2; exit 1; }
mk_image_archive "$WORK/rootfs" "$IMAGE" "$IMAGE_TAR"
ctr image import "$IMAGE_TAR" >/dev/null || { log "ctr image import failed"; exit 1; }

# The counter appends to a file of its rootfs (the snapshot's upper layer, seen from here).
CLOG='i=0; while :; do echo n=$i >>/tmp/log; i=$((i+1)); sleep 0.2; done'
ctr_log() { cat "$CD/state/io.containerd.runtime.v2.task/$NS/$1/rootfs/tmp/log" 2>/dev/null; }
ctr_last() { ctr_log "$1" | sed -n 's/^n=//p' | tail -1; }
ctr_past() { local l; l=$(ctr_last "$1"); [ -n "$l" ] && [ "$l" -gt "$2" ]; }
ctr_status() { ctr task ls | awk -v id="$1" '$1 == id {print $3}'; }
# ctr_gone ID: kill and delete its task.
ctr_gone() {
  ctr task kill -s KILL "$1" || true
  wait_for 60 bash -c "[ \"\$(/usr/bin/ctr -a $SOCK -n $NS task ls | awk '\$1==\"$1\"{print \$3}')\" = STOPPED ]"
  ctr task delete "$1"
}
# consecutive ID: the log counts 0, 1, 2, ... with no gap and no restart.
consecutive() {
  ctr_log "$1" | awk -F= '$2 != NR - 1 {print "line " NR ": " $0; bad = 1} END {exit bad}'
}

t_ctr_checkpoint_image_path() {
  # `ctr task checkpoint --image-path --work-path`: the shim runs `<runtime> checkpoint
  # --image-path I --work-path W [--leave-running]` on the (containerd-paused) task.
  local id=hull-cr-path
  ctr run -d --runc-binary "$RT" "$IMAGE" $id sh -c "$CLOG"
  wait_for 60 ctr_past $id 2
  ctr task checkpoint --image-path "$WORK/cp-img" --work-path "$WORK/cp-work" $id
  # Left running (no --exit), and running on.
  assert_eq RUNNING "$(ctr_status $id)" "status after checkpoint"
  local b; b=$(ctr_last $id)
  wait_for 60 ctr_past $id $((b + 1))
  # CRIU's images and runc's descriptors.json in the image path, the log in the work path.
  [ -s "$WORK/cp-img/inventory.img" ] || fail "no inventory.img in --image-path: $(ls "$WORK/cp-img")"
  grep -q 'pipe:' "$WORK/cp-img/descriptors.json" || fail "descriptors.json: $(cat "$WORK/cp-img/descriptors.json")"
  grep -q 'Dumping finished successfully' "$WORK/cp-work/dump.log" || fail "no dump.log in --work-path: $(ls "$WORK/cp-work")"
  # --exit: the task stops.
  ctr task checkpoint --exit --image-path "$WORK/cp-img2" $id
  wait_for 60 bash -c "[ \"\$(/usr/bin/ctr -a $SOCK -n $NS task ls | awk '\$1==\"$id\"{print \$3}')\" = STOPPED ]"
  [ -s "$WORK/cp-img2/inventory.img" ] || fail "no inventory.img after --exit"
  ctr task delete $id
  ctr c delete $id
}

t_ctr_checkpoint_restore() {
  # `ctr container checkpoint --task --rw` saves the dump (and the rootfs changes) as an image
  # in containerd's store; `ctr container restore --live --rw` makes a new container from it
  # and restores the task: the shim runs `<runtime> restore --detach --pid-file
  # --no-subreaper --image-path --work-path --bundle`.
  local id=hull-cr-live before
  ctr run -d --runc-binary "$RT" "$IMAGE" $id sh -c "$CLOG"
  wait_for 60 ctr_past $id 2
  before=$(ctr_last $id)
  ctr c checkpoint --task --rw $id hull/cr-checkpoint:1
  ctr_gone $id
  ctr c delete $id
  ctr c restore --live --rw $id hull/cr-checkpoint:1
  assert_eq RUNNING "$(ctr_status $id)" "status after restore"
  # The count goes on from the checkpoint (no second n=0, no gap).
  wait_for 60 ctr_past $id $((before + 3))
  consecutive $id
  ctr_gone $id
  ctr c delete $id
  ctr image rm hull/cr-checkpoint:1 >/dev/null
}

run_test t_podman_checkpoint_restore
run_test t_podman_export_import
run_test t_ctr_checkpoint_image_path
run_test t_ctr_checkpoint_restore
summary
