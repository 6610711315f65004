# Helpers for systemd-node.sh, on top of lib.sh (source lib.sh first): several engines in one
# script, one results line each, and assertions on the systemd units (or cgroupfs directories)
# that hull makes for the engines' containers.

# The cgroup driver the engines pick here: systemd when it is PID 1 (and the host is pure v2,
# where every engine defaults to it), else cgroupfs.
if [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ] && [ -d /run/systemd/system ]; then
  NODE_DRIVER=systemd
else
  NODE_DRIVER=cgroupfs
fi
NODE_RC=0
_T0=$(date +%s)

# begin_engine NAME: the tests that follow count for NAME (one results line per engine).
begin_engine() {
  ENGINE=$1 PASS=0 FAIL=0 SKIP=0 FAILED=()
  _ENGINE_T0=$(date +%s)
  log "--- start (driver $NODE_DRIVER, $(( _ENGINE_T0 - _T0 )) s into the run)"
}
# end_engine: writes NAME's results line; a failure makes the script fail.
end_engine() {
  log "--- took $(( $(date +%s) - _ENGINE_T0 )) s"
  summary || NODE_RC=1
}
# setup_failed WHAT: the engine could not be set up; counts as one failed test.
setup_failed() {
  FAIL=$((FAIL + 1)); FAILED+=("setup: $1"); log "FAIL setup: $1"
}

# ---- systemd units ----
# unit_prop UNIT PROP: one property of a unit, as `systemctl show` prints it.
unit_prop() { systemctl show -P "$2" "$1"; }
# assert_unit UNIT PROP=VALUE...: the unit's properties have these values.
assert_unit() {
  local u=$1 kv; shift
  for kv in "$@"; do
    assert_eq "${kv#*=}" "$(unit_prop "$u" "${kv%%=*}")" "$u ${kv%%=*}"
  done
}
# units PATTERN: the loaded units (any state) whose names match PATTERN.
units() { systemctl list-units --all --no-legend --plain "$1" | awk '{print $1}'; }
# assert_units_gone PATTERN: no unit matches, within 10 s of the engine's command returning.
assert_units_gone() {
  local n=100
  while [ $n -gt 0 ] && [ -n "$(units "$1")" ]; do sleep 0.1; n=$((n - 1)); done
  [ -z "$(units "$1")" ] || fail "units left for $1: $(units "$1" | tr '\n' ' ')"
  [ $n -eq 100 ] || echo "note: units for $1 went away $(( (100 - n) * 100 )) ms after the command returned"
}
# assert_in_cgroup PID CGROUP: PID's (unified) cgroup is CGROUP.
assert_in_cgroup() {
  assert_eq "0::$2" "$(grep '^0::' "/proc/$1/cgroup")" "cgroup of pid $1"
}

# ---- daemons ----
# start_containerd CONFIG: the node's containerd, on its default socket (where dockerd looks
# for a system containerd before starting one of its own).
start_node_containerd() {
  start_daemon containerd "$WORK/containerd.pid" "$WORK/containerd.log" containerd --config "$1"
  wait_for 120 ctr version || { tail -20 "$WORK/containerd.log" >&2; return 1; }
}
