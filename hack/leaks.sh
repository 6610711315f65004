#!/usr/bin/env bash
# Fails if the test suite left anything on this machine: mounts, cgroups, processes, or files
# of the conformance suite. Run after the tests (hack/test.sh does).
set -u
bad=0
report() { echo "leak: $*" >&2; bad=1; }

m=$(grep -E '/tmp/hull-spec|hull-' /proc/self/mountinfo || true)
[ -z "$m" ] || report "mounts:"$'\n'"$m"
c=$(find /sys/fs/cgroup -mindepth 1 -maxdepth 5 -type d -name '*hull-*' 2>/dev/null || true)
[ -z "$c" ] || report "cgroups:"$'\n'"$c"
p=$(ps -eo pid=,args= | grep -E '/tmp/hull-spec|[h]ull-[a-z]+-[0-9]+-[0-9]+' | grep -v -E 'grep|leaks.sh' || true)
[ -z "$p" ] || report "processes:"$'\n'"$p"
if [ -d /run/systemd/system ]; then
  # The systemd driver's units (test ids are hull-<test>-<pid>-<n>).
  u=$(systemctl list-units --all --plain --no-legend --no-pager '*hull-*' 2>/dev/null || true)
  [ -z "$u" ] || report "systemd units:"$'\n'"$u"
fi
if [ -d /tmp/hull-spec ] && [ -n "$(ls -A /tmp/hull-spec 2>/dev/null)" ]; then
  report "files under /tmp/hull-spec: $(ls /tmp/hull-spec | head -5 | tr '\n' ' ')"
fi
[ $bad = 0 ] && echo "no leaks: no mounts, cgroups, units, processes or files left by the tests"
exit $bad
