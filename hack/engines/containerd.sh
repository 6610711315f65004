#!/usr/bin/env bash
# containerd 1.6 with its stock runc v2 shim (containerd-shim-runc-v2) pointed at hull.
# A private containerd (own config, root, state and sockets under $WORK) is started here and
# stopped at the end; the image is imported from a busybox rootfs built here.
source "$(dirname "$0")/lib.sh"

command -v containerd >/dev/null || { log "containerd not installed (hack/deps.sh)"; exit 1; }
RT=$(runtime_path)
NS=hull-test
CD=$WORK/containerd
SOCK=$CD/containerd.sock
mkdir -p "$CD"

# The CRI plugin is tested separately (cri.sh); the snapshotter is overlayfs.
containerd_config "$CD" "$SOCK" 'disabled_plugins = ["io.containerd.grpc.v1.cri"]' >"$CD/config.toml"

ctr() { timeout 60 /usr/bin/ctr -a "$SOCK" -n "$NS" "$@"; }
# run_ctr ARGS...: `ctr run` with hull as the shim's runc binary.
crun_() { ctr run --runc-binary "$RT" "$@"; }

cleanup_containerd() {
  local t
  for t in $(/usr/bin/ctr -a "$SOCK" -n "$NS" task ls -q 2>/dev/null); do
    /usr/bin/ctr -a "$SOCK" -n "$NS" task kill -s KILL "$t"
    sleep 0.2
    /usr/bin/ctr -a "$SOCK" -n "$NS" task delete -f "$t"
  done
  for t in $(/usr/bin/ctr -a "$SOCK" -n "$NS" container ls -q 2>/dev/null); do
    /usr/bin/ctr -a "$SOCK" -n "$NS" container delete "$t"
  done
}

own_cgroup_parent "$NS"
start_daemon containerd "$CD/pid" "$CD/containerd.log" containerd --config "$CD/config.toml"
on_exit "umount_under $CD; rm -rf /run/containerd/runc/$NS"
on_exit cleanup_containerd
wait_for 30 test -S "$SOCK" || { cat "$CD/containerd.log" >&2; exit 1; }
wait_for 30 /usr/bin/ctr -a "$SOCK" version || exit 1

prepare_image
ctr image import "$IMAGE_TAR" >/dev/null || { log "ctr image import failed"; exit 1; }

task_status() { ctr task ls | awk -v id="$1" '$1 == id {print $3}'; }

t_run_rm() {
  out=$(crun_ --rm "$IMAGE" hull-ctr-run sh -c 'echo hello; cat /proc/self/cgroup | grep -c /hull-test/hull-ctr-run')
  # ctr sets no hostname and a cgroupsPath of /<namespace>/<id>, which hull uses.
  assert_eq "hello
$(grep -c . /proc/self/cgroup)" "$out" "container output (hello, cgroups joined)"
  # The task and its state are gone after --rm.
  assert_eq "" "$(ctr container ls -q | grep -x hull-ctr-run || true)" "container after --rm"
}

t_exit_code() {
  set +e
  crun_ --rm "$IMAGE" hull-ctr-exit sh -c 'exit 7'
  rc=$?
  set -e
  assert_eq 7 "$rc" "ctr run exit status"
}

t_exec() {
  crun_ -d "$IMAGE" hull-ctr-exec sleep 1000
  assert_eq RUNNING "$(task_status hull-ctr-exec)" "task status"
  out=$(ctr task exec --exec-id e1 hull-ctr-exec sh -c 'echo in exec as $(id -u); cat /proc/1/cmdline | tr "\0" " "')
  assert_eq "in exec as 0
sleep 1000 " "$out" "exec output"
  set +e
  ctr task exec --exec-id e2 hull-ctr-exec sh -c 'exit 5'
  rc=$?
  set -e
  assert_eq 5 "$rc" "exec exit status"
  # A failing exec reports hull's error (read from the --log-format json log).
  set +e
  err=$(ctr task exec --exec-id e3 hull-ctr-exec /no/such/binary 2>&1)
  rc=$?
  set -e
  [ $rc -ne 0 ] || fail "exec of a missing binary succeeded"
  assert_contains "/no/such/binary" "$err" "exec error"
  ctr task kill -s KILL hull-ctr-exec
  wait_for 10 bash -c "[ \"\$(/usr/bin/ctr -a $SOCK -n $NS task ls | awk '\$1==\"hull-ctr-exec\"{print \$3}')\" = STOPPED ]"
  ctr task delete hull-ctr-exec
  ctr container delete hull-ctr-exec
}

t_kill_delete() {
  crun_ -d "$IMAGE" hull-ctr-kill sh -c 'trap "echo got TERM; exit 3" TERM; while :; do sleep 0.1; done'
  sleep 0.5
  ctr task kill -s TERM hull-ctr-kill
  wait_for 10 bash -c "[ \"\$(/usr/bin/ctr -a $SOCK -n $NS task ls | awk '\$1==\"hull-ctr-kill\"{print \$3}')\" = STOPPED ]"
  out=$(ctr task delete hull-ctr-kill 2>&1)
  assert_contains "exit code 3" "$out" "exit status on delete"
  ctr container delete hull-ctr-kill
  assert_eq "" "$("$HULL" --root /run/containerd/runc/$NS list -q | grep -x hull-ctr-kill || true)" "hull state after delete"
}

t_kill_all() {
  # --all signals every process in the container (the shim runs `kill --all`).
  crun_ -d "$IMAGE" hull-ctr-killall sh -c 'sleep 1000 & sleep 1000 & wait'
  sleep 0.5
  ctr task kill --all -s KILL hull-ctr-killall
  wait_for 10 bash -c "[ \"\$(/usr/bin/ctr -a $SOCK -n $NS task ls | awk '\$1==\"hull-ctr-killall\"{print \$3}')\" = STOPPED ]"
  ctr task delete hull-ctr-killall
  ctr container delete hull-ctr-killall
}

t_pause_resume() {
  crun_ -d "$IMAGE" hull-ctr-pause sh -c 'i=0; while :; do i=$((i+1)); echo $i > /tmp/n.new; mv /tmp/n.new /tmp/n; sleep 0.05; done'
  sleep 0.5
  ctr task pause hull-ctr-pause
  assert_eq PAUSED "$(task_status hull-ctr-pause)" "status after pause"
  # Frozen: the counter (read through the rootfs from the host) stands still.
  f=$CD/state/io.containerd.runtime.v2.task/$NS/hull-ctr-pause/rootfs/tmp/n
  p1=$(cat "$f"); sleep 0.5; p2=$(cat "$f")
  assert_eq "$p1" "$p2" "counter while paused"
  ctr task resume hull-ctr-pause
  assert_eq RUNNING "$(task_status hull-ctr-pause)" "status after resume"
  b1=$(ctr task exec --exec-id r2 hull-ctr-pause cat /tmp/n)
  sleep 0.5
  b2=$(ctr task exec --exec-id r3 hull-ctr-pause cat /tmp/n)
  [ "$b2" -gt "$b1" ] || fail "counter did not advance after resume ($b1 -> $b2)"
  ctr task kill -s KILL hull-ctr-pause
  sleep 0.5
  ctr task delete -f hull-ctr-pause || true
  ctr container delete hull-ctr-pause
}

t_ps() {
  crun_ -d "$IMAGE" hull-ctr-ps sh -c 'sleep 1000 & sleep 1000 & wait'
  sleep 0.5
  out=$(ctr task ps hull-ctr-ps)
  n=$(echo "$out" | tail -n +2 | grep -c .)
  assert_eq 3 "$n" "processes listed by ctr task ps: $out"
  ctr task kill -s KILL hull-ctr-ps
  sleep 0.5
  ctr task delete -f hull-ctr-ps || true
  ctr container delete hull-ctr-ps
}

t_metrics() {
  crun_ -d "$IMAGE" hull-ctr-metrics sh -c 'head -c 20000000 /dev/zero > /tmp/fill; sleep 1000'
  sleep 1
  out=$(ctr task metrics hull-ctr-metrics)
  echo "$out"
  assert_match 'memory\.usage_in_bytes|memory\.usage' "$out" "metrics"
  usage=$(echo "$out" | awk '$1 == "memory.usage_in_bytes" || $1 == "memory.usage" {print $2; exit}')
  [ "${usage:-0}" -gt 10000000 ] || fail "memory usage $usage < 10 MB after writing 20 MB to tmpfs"
  ctr task kill -s KILL hull-ctr-metrics
  sleep 0.5
  ctr task delete -f hull-ctr-metrics || true
  ctr container delete hull-ctr-metrics
}

t_terminal() {
  # -t: the shim passes --console-socket; the pty reaches ctr's terminal (script provides one).
  out=$(timeout 60 script -qec "/usr/bin/ctr -a $SOCK -n $NS run -t --rm --runc-binary $RT $IMAGE hull-ctr-tty sh -c 'tty; test -t 0 && echo stdin-is-tty; stty size; echo \$((6*7))'" /dev/null | tr -d '\r')
  assert_contains "/dev/pts/0" "$out" "tty"
  assert_contains "stdin-is-tty" "$out" "stdin"
  assert_contains "42" "$out" "output"
}

t_exec_terminal() {
  crun_ -d "$IMAGE" hull-ctr-exectty sleep 1000
  # ctr resizes the pty right after the exec starts and gives up, output and all ("resize
  # pty: cannot resize a stopped container"), if the process has already exited: under load
  # a `tty; echo` does (with runc too). So the process stays until the test has its output,
  # then is released through a file: a condition, not a delay.
  local outf=$WORK/exectty.out
  timeout 60 script -qec "/usr/bin/ctr -a $SOCK -n $NS task exec -t --exec-id t1 hull-ctr-exectty sh -c 'tty; echo \$((6*7)); while [ ! -e /tmp/exectty-go ]; do sleep 0.05; done'" /dev/null >"$outf" &
  local sp=$!
  local i=0
  until grep -q 42 "$outf" 2>/dev/null; do
    i=$((i + 1)); [ $i -lt 1200 ] || { kill $sp 2>/dev/null; fail "no exec -t output: $(cat "$outf")"; }
    kill -0 $sp 2>/dev/null || { grep -q 42 "$outf" || fail "ctr exited without output: $(cat "$outf")"; break; }
    sleep 0.05
  done
  ctr task exec --exec-id t1go hull-ctr-exectty touch /tmp/exectty-go
  wait $sp || fail "ctr task exec -t failed: $(cat "$outf")"
  out=$(tr -d '\r' <"$outf")
  assert_match '/dev/pts/[0-9]+' "$out" "exec -t tty"
  assert_contains 42 "$out" "exec -t output"
  ctr task kill -s KILL hull-ctr-exectty
  sleep 0.5
  ctr task delete -f hull-ctr-exectty || true
  ctr container delete hull-ctr-exectty
}

t_run_options() {
  # What ctr's flags put in the spec: limits, mounts, env, cwd, read-only root, the default
  # seccomp profile, host network, a cgroup path of our own, a rootfs outside the snapshotter.
  mkdir -p "$WORK/share"; echo shared >"$WORK/share/f"
  out=$(crun_ --rm --read-only --seccomp --net-host --env HULL_T=1 --cwd /tmp \
    --mount "type=bind,src=$WORK/share,dst=/share,options=rbind:ro" "$IMAGE" hull-ctr-opts sh -c '
      echo "$HULL_T $(pwd) $(cat /share/f)"
      touch /x 2>&1 | grep -o "Read-only file system"
      grep ^Seccomp: /proc/self/status
      readlink /proc/self/ns/net')
  assert_eq "1 /tmp shared
Read-only file system
Seccomp:	2
$(readlink /proc/self/ns/net)" "$out" "env, cwd, bind mount, --read-only, --seccomp, --net-host"
  # Limits in a cgroup path of our own, removed with the container.
  cg=/sys/fs/cgroup/memory/hull-test/custom-hull-ctr-opts
  crun_ -d --memory-limit 67108864 --cpus 0.5 --cgroup /hull-test/custom-hull-ctr-opts "$IMAGE" hull-ctr-limits sleep 1000
  assert_eq 67108864 "$(cat $cg/memory.limit_in_bytes)" "--memory-limit"
  assert_eq 50000 "$(cat /sys/fs/cgroup/cpu/hull-test/custom-hull-ctr-opts/cpu.cfs_quota_us)" "--cpus"
  ctr task kill -s KILL hull-ctr-limits
  wait_for 10 bash -c "[ \"\$(/usr/bin/ctr -a $SOCK -n $NS task ls | awk '\$1==\"hull-ctr-limits\"{print \$3}')\" = STOPPED ]"
  ctr task delete hull-ctr-limits
  ctr container delete hull-ctr-limits
  [ ! -e "$cg" ] || fail "cgroup $cg left after delete"
  # --rootfs: a plain directory as the root filesystem.
  out=$(crun_ --rm --rootfs "$WORK/rootfs" hull-ctr-rootfs sh -c 'echo from-dir-rootfs')
  assert_eq from-dir-rootfs "$out" "--rootfs"
  # --with-ns: join a network namespace by path.
  ip netns add hull-eng-ctr
  trap 'ip netns del hull-eng-ctr' EXIT
  out=$(crun_ --rm --with-ns network:/run/netns/hull-eng-ctr "$IMAGE" hull-ctr-withns readlink /proc/self/ns/net)
  assert_eq "net:[$(stat -L -c %i /run/netns/hull-eng-ctr)]" "$out" "--with-ns network namespace"
}

t_create_error() {
  # An error inside create reaches ctr through the shim's read of hull's json log.
  set +e
  err=$(crun_ --rm "$IMAGE" hull-ctr-err /no/such/binary 2>&1)
  rc=$?
  set -e
  [ $rc -ne 0 ] || fail "run of a missing binary succeeded"
  assert_contains "/no/such/binary" "$err" "create error"
  ctr container delete hull-ctr-err 2>/dev/null || true
  assert_eq "" "$("$HULL" --root /run/containerd/runc/$NS list -q | grep -x hull-ctr-err || true)" "hull state left behind"
}

run_test t_run_rm
run_test t_exit_code
run_test t_exec
run_test t_kill_delete
run_test t_kill_all
run_test t_terminal
run_test t_exec_terminal
run_test t_run_options
run_test t_create_error
run_test t_metrics
run_test t_ps
run_test t_pause_resume
summary
