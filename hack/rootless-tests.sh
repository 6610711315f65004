#!/usr/bin/env bash
# hack/rootless-tests.sh: hull as an unprivileged user (docs/rootless.md). Runs INSIDE the
# systemd guest, as root, from the worktree (target/hull and target/checker built first):
#   SYSTEMDVM_USER=1 /work/main/hack/systemd-vm.sh hack/rootless-tests.sh
# Checks run as the guest's user hulltest (uid 1000, subuids 100000:65536, a lingering user
# manager with delegation). ROOTLESS_SUITE=1 also runs the spec-tests' rootless mode
# (spec-tests/rootless-suite.sh, prebuilt test binaries), ROOTLESS_PODMAN=1 rootless podman
# with --runtime hull, ROOTLESS_DOCKER=1 Docker rootless. Prints "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
WT=$PWD
install -m 0755 target/hull /usr/local/bin/hull
AS=/run/systemdvm/as-user
H=/home/hulltest
pass=0 fail=0
ok() { echo "PASS $1"; pass=$((pass + 1)); }
ko() { echo "FAIL $1${2:+: $2}"; fail=$((fail + 1)); }
# check NAME CMD...: passes when CMD (run as the user, in $H) succeeds.
check() { local n=$1; shift; local out; if out=$("$@" 2>&1); then ok "$n"; else ko "$n" "$(echo "$out" | tail -3)"; fi; }
u() { $AS sh -c "cd $H && $*"; }

# A busybox rootfs the user owns.
u "mkdir -p rootfs/bin rootfs/etc rootfs/proc rootfs/sys rootfs/dev rootfs/tmp && cp /bin/busybox rootfs/bin/ && for a in \$(/bin/busybox --list); do [ \$a = busybox ] || ln -sf busybox rootfs/bin/\$a; done; printf 'root:x:0:0::/root:/bin/sh\n' > rootfs/etc/passwd"
bundle() { # bundle NAME [python that edits c]: a `hull spec --rootless` bundle in $H/NAME
  u "rm -rf $1 && mkdir $1 && ln -s ../rootfs $1/rootfs && cd $1 && hull spec --rootless"
  $AS python3 - "$H/$1/config.json" "${2:-}" <<'PY'
import json, sys
p = sys.argv[1]; c = json.load(open(p))
c["process"]["terminal"] = False
c["process"]["args"] = ["sh", "-c", "id -u; cat /proc/self/uid_map"]
exec(sys.argv[2])
json.dump(c, open(p, "w"), indent=1)
PY
}

# 1. Two commands: `hull spec --rootless`, `hull run`.
u "rm -rf two && mkdir two && ln -s ../rootfs two/rootfs && cd two && hull spec --rootless && sed -i 's/\"terminal\": true/\"terminal\": false/; s/\"sh\"$/\"echo\", \"hello-rootless\"/' config.json && hull run two" > /tmp/two.out 2>&1
grep -q hello-rootless /tmp/two.out && ok "spec --rootless + run" || ko "spec --rootless + run" "$(tail -3 /tmp/two.out)"

# 2. The id map, the default root, no cgroup warning (the root cgroup is not the user's).
bundle b1
out=$(u "cd b1 && hull run b1" 2>&1)
echo "$out" | grep -q '^0$' && echo "$out" | grep -Eq '^ +0 +1000 +1$' && ok "uid 0 mapped to 1000" || ko "uid map" "$out"
out=$(u "cd b1 && hull --debug run b1" 2>&1)
echo "$out" | grep -q 'without a cgroup' && ok "no cgroup: a debug line" || ko "no cgroup debug line" "$out"

# 3. Detached: list, state, exec, kill, delete under $XDG_RUNTIME_DIR/hull.
bundle b2 'c["process"]["args"] = ["sleep", "300"]'
u "cd b2 && hull run -d b2" >/dev/null 2>&1
[ -d /run/user/1000/hull/b2 ] && ok "default root \$XDG_RUNTIME_DIR/hull" || ko "default root"
[ "$(stat -c %a /run/user/1000/hull)" = 700 ] && ok "state root 0700" || ko "state root mode" "$(stat -c %a /run/user/1000/hull)"
check "list" u "hull list | grep -q 'b2 .*running.*hulltest'"
check "exec" u "hull exec b2 sh -c 'test \$(id -u) = 0'"
check "tty exec" u "script -qec 'hull exec -t b2 tty' /dev/null | grep -q /dev/pts/"
out=$(hull --root /run/user/1000/hull state b2 2>&1)
echo "$out" | grep -q 'refusing another user' && ok "root refuses the user's state" || ko "foreign state refused" "$out"
check "/dev bound, writable" u "hull exec b2 sh -c 'echo x > /dev/null && test -c /dev/null'"
check "sysfs read-only bind" u "hull exec b2 sh -c '! touch /sys/x 2>/dev/null && grep -q \" /sys .*ro,\" /proc/self/mountinfo'"
check "kill + delete" u "hull kill b2 KILL && sleep 1 && hull delete b2 && ! test -e /run/user/1000/hull/b2"

# 4. Multi-range mappings through newuidmap/newgidmap; a range not granted is refused.
bundle b3 'c["linux"]["uidMappings"] = [{"containerID":0,"hostID":1000,"size":1},{"containerID":1,"hostID":100000,"size":65536}]
c["linux"]["gidMappings"] = [{"containerID":0,"hostID":1000,"size":1},{"containerID":1,"hostID":100000,"size":65536}]
c["process"]["user"] = {"uid": 1000, "gid": 1000}
'
out=$(u "cd b3 && hull run b3" 2>&1)
echo "$out" | grep -q '^1000$' && echo "$out" | grep -Eq ' 1 +100000 +65536' && ok "newuidmap ranges" || ko "newuidmap ranges" "$out"
bundle b4 'c["linux"]["uidMappings"] = [{"containerID":0,"hostID":200000,"size":10}]'
out=$(u "cd b4 && hull run b4" 2>&1)
echo "$out" | grep -q 'linux.uidMappings' && ok "mapping not owned: names linux.uidMappings" || ko "unowned mapping" "$out"
bundle b5 'c["process"]["user"]["additionalGids"] = [5]'
out=$(u "cd b5 && hull run b5" 2>&1)
echo "$out" | grep -q 'additionalGids' && ok "additionalGids with setgroups denied: named" || ko "additionalGids" "$out"

# 5. cgroupfs: limits without a writable cgroup are an error naming the field; a delegated
#    writable cgroupsPath gets them.
bundle b6 'c["linux"]["resources"] = {"memory": {"limit": 67108864}}'
out=$(u "cd b6 && hull run b6" 2>&1)
echo "$out" | grep -q 'linux.resources.memory' && ok "limits need a cgroup: named" || ko "limits without cgroup" "$out"
DEL=/user.slice/user-1000.slice/user@1000.service/app.slice/hull-b7
bundle b7 "c['linux']['resources'] = {'memory': {'limit': 67108864}, 'pids': {'limit': 50}}
c['linux']['cgroupsPath'] = '$DEL'
c['mounts'].append({'destination': '/sys/fs/cgroup', 'type': 'cgroup', 'source': 'cgroup', 'options': ['nosuid', 'noexec', 'nodev', 'ro']})
c['process']['args'] = ['sh', '-c', 'cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max']"
# From a scope of the user's manager: moving a process between cgroups needs write access
# to their common ancestor, so hull must run inside the user's delegated subtree.
out=$(u "cd b7 && systemd-run --user --scope -q hull run b7" 2>&1)
echo "$out" | grep -q '^67108864$' && echo "$out" | grep -q '^50$' && ok "delegated cgroupfs limits" || ko "delegated cgroupfs" "$out"
[ ! -e /sys/fs/cgroup$DEL ] && ok "delegated cgroup removed" || ko "delegated cgroup left"

# 6. --systemd-cgroup: the user's manager, user.slice, a limit, pause/resume, ps.
bundle b8 'c["linux"]["resources"] = {"memory": {"limit": 67108864}}
c["process"]["args"] = ["sleep", "300"]'
u "cd b8 && hull --systemd-cgroup run -d b8" > /tmp/b8 2>&1 || ko "systemd run -d" "$(tail -3 /tmp/b8)"
pid=$(u "hull state b8" | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])' 2>/dev/null)
cg=$(sed -n 's/^0:://p' /proc/${pid:-0}/cgroup 2>/dev/null)
case "$cg" in /user.slice/user-1000.slice/user@1000.service/user.slice/hull-b8.scope) ok "user manager scope in user.slice";; *) ko "user scope" "$cg $(cat /tmp/b8)";; esac
[ "$(cat /sys/fs/cgroup$cg/memory.max 2>/dev/null)" = 67108864 ] && ok "systemd user: memory limit" || ko "systemd user memory"
check "pause/resume (delegated freezer)" u "hull pause b8 && hull list | grep -q 'b8 .*paused' && hull resume b8"
check "ps" u "hull ps b8 | grep -q sleep"
check "delete stops the unit" u "hull delete -f b8 && ! systemctl --user is-active -q hull-b8.scope"

# 7. --rootless=false as a user: no silent skip.
bundle b9
if out=$(u "cd b9 && hull --debug --rootless false run b9" 2>&1) || echo "$out" | grep -q 'without a cgroup'; then
  ko "--rootless false skips" "$out"; else ok "--rootless false: cgroup error"; fi

if [ "${ROOTLESS_SUITE:-0}" = 1 ]; then
  out=$($AS env HULL=/usr/local/bin/hull \
    HULL_SPEC_ROOTLESS=1 HULL_SPEC_SUBIDS=100000:65536 ROOTLESS_SUITE_LOGS=/tmp sh "$WT/spec-tests/rootless-suite.sh"; cp /tmp/rootless-suite-*.log "$WT/target/rootless-suite/" 2>/dev/null 2>&1)
  echo "$out" | tail -40
  p=$(echo "$out" | sed -n 's/^suite: \([0-9]*\) passed, \([0-9]*\) failed.*/\1/p'); f=$(echo "$out" | sed -n 's/^suite: \([0-9]*\) passed, \([0-9]*\) failed.*/\2/p')
  pass=$((pass + ${p:-0})); fail=$((fail + ${f:-1}))
fi
if [ "${ROOTLESS_PODMAN:-0}" = 1 ]; then . hack/rootless-podman.sh; fi
if [ "${ROOTLESS_DOCKER:-0}" = 1 ]; then . hack/rootless-docker.sh; fi

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
