#!/usr/bin/env bash
# Engine tests of checkpoint/restore through hull: podman's `container checkpoint`/`restore`
# (in place, and `--export`/`--import` into a new container). containerd's `ctr` checkpoint
# and restore are not covered yet.
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

run_test t_podman_checkpoint_restore
run_test t_podman_export_import
summary
