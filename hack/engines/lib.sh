# Common harness for the engine tests (sourced by containerd.sh, docker.sh, podman.sh).
#
# Each engine script starts its daemon on private roots/sockets under $WORK, registers
# cleanups with `on_exit`, and runs test functions with `run_test NAME`. A test function runs
# in a subshell with `set -e`: any failing command or assertion fails the test, and its
# output is printed. The script's exit status is the number of failed tests (capped at 1).
#
# Environment:
#   HULL             the hull binary under test (default: target/hull from hack/build.sh, else a cargo build)
#   HULL_ENG_RECORD  a directory: engines call a wrapper that saves each call's argv and
#                    config.json there before exec'ing hull (to see what an engine sends)
#   HULL_ENG_ONLY    a regex: run only the tests whose names match
#   HULL_ENG_KEEP    set to keep $WORK after the run (for debugging)
#   HULL_ENG_TRACE   set to log each cleanup step at exit
#   HULL_EXAMPLES    the engine drop-ins the tests configure engines with (default
#                    packaging/examples; hack/package-test.sh: the installed package's copy)

set -u -o pipefail
# Debian's engine clients first: a newer docker CLI may sit in /usr/local/bin.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:/usr/local/sbin:/usr/local/bin

ENG_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$ENG_DIR/../.." && pwd)
if [ -z "${HULL:-}" ]; then
  if [ -x "$REPO/target/hull" ]; then HULL=$REPO/target/hull
  elif [ -x "$REPO/target/release/hull" ]; then HULL=$REPO/target/release/hull
  else HULL=$REPO/target/debug/hull; fi
fi
HULL=$(realpath "$HULL")
[ -x "$HULL" ] || { echo "engines: hull binary $HULL not found (cargo build -p hull)" >&2; exit 1; }

ENGINE=${ENGINE:-$(basename "$0" .sh)}
WORK=$(mktemp -d "/tmp/hull-eng-$ENGINE.XXXXXX")
PASS=0
FAIL=0
SKIP=0
FAILED=()
_CLEANUPS=()

log() { printf '[%s %s] %s\n' "$ENGINE" "$(date +%H:%M:%S)" "$*" >&2; }

# on_exit CMD: run CMD (a string, eval'd) at exit, last registered first.
on_exit() { _CLEANUPS=("$1" "${_CLEANUPS[@]}"); }
_run_cleanups() {
  local c
  for c in "${_CLEANUPS[@]}"; do [ -z "${HULL_ENG_TRACE:-}" ] || log "cleanup: $c"; eval "$c" >/dev/null 2>&1 || true; done
  if [ -z "${HULL_ENG_KEEP:-}" ]; then rm -rf "$WORK" 2>/dev/null || true
  else log "kept $WORK"; fi
}
trap _run_cleanups EXIT
trap 'exit 130' INT TERM

# One engine script at a time per machine (another helper's or CI's run waits): they share
# iptables, the bridge name, /run/containerd and the engines' cgroup parents.
exec 9>/run/hull-engines.lock
flock -w 1200 9 || { log "another engine test holds /run/hull-engines.lock"; exit 1; }

# The runtime path given to engines: hull itself, or the recording wrapper.
runtime_path() {
  if [ -z "${HULL_ENG_RECORD:-}" ]; then echo "$HULL"; return; fi
  local w=$WORK/hull-recording
  if [ ! -x "$w" ]; then
    mkdir -p "$HULL_ENG_RECORD"
    cat >"$w" <<EOF
#!/bin/sh
# Saves what the engine passes, then runs hull with it unchanged.
n=\$(date +%s%N)-\$\$
printf '%s\n' "\$@" > "$HULL_ENG_RECORD/$ENGINE-\$n.argv"
prev=
for a in "\$@"; do
  case "\$prev" in --bundle|-b) cp "\$a/config.json" "$HULL_ENG_RECORD/$ENGINE-\$n.config.json" 2>/dev/null;; esac
  case "\$a" in --bundle=*) cp "\${a#--bundle=}/config.json" "$HULL_ENG_RECORD/$ENGINE-\$n.config.json" 2>/dev/null;; esac
  prev=\$a
done
exec "$HULL" "\$@"
EOF
    chmod +x "$w"
  fi
  echo "$w"
}

# example FILE: prints the path of a copy of the drop-in FILE from $HULL_EXAMPLES (what the
# package installs in /usr/share/doc/hull/examples/) with its /usr/bin/hull pointed at the
# binary under test: the engines run the very files operators are told to install, so an
# example that stops working fails its engine's tests. With HULL=/usr/bin/hull (the package
# test) the copy is the installed file byte for byte.
HULL_EXAMPLES=${HULL_EXAMPLES:-$REPO/packaging/examples}
example() {
  local src=$HULL_EXAMPLES/$1 dst=$WORK/example-$1
  [ -f "$src" ] || { echo "engines: example $src not found" >&2; return 1; }
  sed "s|/usr/bin/hull|$(runtime_path)|g" "$src" >"$dst"
  echo "$dst"
}

# ---- assertions (each prints what differed and returns 1) ----
fail() { echo "ASSERTION FAILED: $*" >&2; return 1; }
assert_eq() { # EXPECTED ACTUAL [WHAT]
  [ "$1" = "$2" ] || fail "${3:-value}: expected [$1], got [$2]"
}
assert_match() { # REGEX ACTUAL [WHAT]
  [[ "$2" =~ $1 ]] || fail "${3:-value}: [$2] does not match /$1/"
}
assert_contains() { # NEEDLE HAYSTACK [WHAT]
  [[ "$2" == *"$1"* ]] || fail "${3:-value}: [$2] does not contain [$1]"
}
assert_not_contains() { # NEEDLE HAYSTACK [WHAT]
  [[ "$2" != *"$1"* ]] || fail "${3:-value}: [$2] contains [$1]"
}
assert_fails() { # CMD...: the command must exit non-zero
  if "$@"; then fail "expected failure: $*"; fi
}
# wait_for SECONDS CMD...: retry CMD every 0.1 s until it succeeds.
wait_for() {
  local n=$(($1 * 10)); shift
  while [ $n -gt 0 ]; do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; n=$((n - 1)); done
  fail "timed out waiting for: $*"
}

# run_test NAME: runs the function NAME in a subshell with errexit; counts and reports.
run_test() {
  local name=$1 out rc
  if [ -n "${HULL_ENG_ONLY:-}" ] && ! [[ $name =~ $HULL_ENG_ONLY ]]; then return 0; fi
  out=$WORK/test-$name.log
  ( set -e -E; "$name" ) >"$out" 2>&1 </dev/null
  rc=$?
  if [ $rc -eq 0 ]; then
    PASS=$((PASS + 1)); log "PASS $name"
  elif [ $rc -eq 77 ]; then
    SKIP=$((SKIP + 1)); log "SKIP $name: $(tail -1 "$out")"
  else
    FAIL=$((FAIL + 1)); FAILED+=("$name"); log "FAIL $name (exit $rc):"
    sed 's/^/    | /' "$out" | tail -40 >&2
  fi
}

# skip REASON: inside a test, ends it as skipped (exit 77). Only for a feature that is
# genuinely absent from hull, never to hide a failure.
skip() { echo "$*"; exit 77; }

summary() {
  log "summary: $PASS passed, $FAIL failed, $SKIP skipped"
  [ $FAIL -eq 0 ] || log "failed: ${FAILED[*]}"
  mkdir -p "${HULL_ENG_RESULTS:-$WORK}"
  echo "$ENGINE $PASS $FAIL $SKIP" >>"${HULL_ENG_RESULTS:-$WORK}/results"
  [ $FAIL -eq 0 ]
}

# ---- images ----
# mk_rootfs DIR: a busybox-static root filesystem.
mk_rootfs() {
  local dir=$1 bb
  bb=$(command -v busybox) || { echo "busybox not found (hack/deps.sh)" >&2; return 1; }
  mkdir -p "$dir"/{bin,etc,dev,proc,sys,tmp,root,home/user,var/run,data}
  chmod 1777 "$dir/tmp"
  cp "$bb" "$dir/bin/busybox"
  local a
  for a in $("$bb" --list); do [ "$a" = busybox ] || ln -sf busybox "$dir/bin/$a"; done
  printf 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$dir/etc/passwd"
  printf 'root:x:0:\ntty:x:5:\nuser:x:1000:\nnogroup:x:65534:\n' >"$dir/etc/group"
  chown 1000:1000 "$dir/home/user"
}

# mk_image_archive ROOTFS NAME OUT [CMD_JSON]: a docker-archive (`docker save` format)
# tarball of ROOTFS tagged NAME, loadable by `ctr image import`, `docker load` and
# `podman load`. CMD_JSON is the image's Cmd (default ["sh"]).
mk_image_archive() {
  local rootfs=$1 name=$2 out=$3 cmd=${4:-'["sh"]'} tmp
  tmp=$(mktemp -d "$WORK/img.XXXXXX")
  tar --numeric-owner -C "$rootfs" -cf "$tmp/layer.tar" .
  python3 - "$tmp" "$name" "$cmd" <<'PY'
import hashlib, json, os, sys
d, name, cmd = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
h = hashlib.sha256()
with open(os.path.join(d, "layer.tar"), "rb") as f:
    for chunk in iter(lambda: f.read(1 << 20), b""):
        h.update(chunk)
diff = "sha256:" + h.hexdigest()
os.makedirs(os.path.join(d, h.hexdigest()))
os.rename(os.path.join(d, "layer.tar"), os.path.join(d, h.hexdigest(), "layer.tar"))
config = {
    "architecture": "amd64", "os": "linux", "created": "2026-01-01T00:00:00Z",
    "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
               "Cmd": cmd, "WorkingDir": "/"},
    "rootfs": {"type": "layers", "diff_ids": [diff]},
    "history": [{"created": "2026-01-01T00:00:00Z", "created_by": "hack/engines/lib.sh"}],
}
raw = json.dumps(config).encode()
cid = hashlib.sha256(raw).hexdigest()
open(os.path.join(d, cid + ".json"), "wb").write(raw)
json.dump([{"Config": cid + ".json", "RepoTags": [name],
            "Layers": [h.hexdigest() + "/layer.tar"]}], open(os.path.join(d, "manifest.json"), "w"))
PY
  tar -C "$tmp" -cf "$out" .
  rm -rf "$tmp"
}

# A busybox image archive shared by an engine script: $IMAGE_TAR, tagged $IMAGE.
IMAGE=docker.io/hull/busybox:latest
IMAGE_TAR=$WORK/busybox-image.tar
prepare_image() {
  mk_rootfs "$WORK/rootfs"
  mk_image_archive "$WORK/rootfs" "$IMAGE" "$IMAGE_TAR"
}

# ---- processes ----
# start_daemon NAME PIDFILE LOG CMD...: starts CMD in the background (own process group),
# registers a cleanup that stops it (SIGTERM, then SIGKILL after 10 s).
start_daemon() {
  local name=$1 pidf=$2 logf=$3; shift 3
  setsid "$@" >"$logf" 2>&1 </dev/null &
  local pid=$!
  echo "$pid" >"$pidf"
  on_exit "stop_daemon $pid"
  log "started $name (pid $pid, log $logf)"
}
stop_daemon() {
  local pid=$1 n=100
  kill -TERM "$pid" 2>/dev/null || return 0
  while [ $n -gt 0 ] && kill -0 "$pid" 2>/dev/null; do sleep 0.1; n=$((n - 1)); done
  kill -KILL -- "-$pid" 2>/dev/null || true
  kill -KILL "$pid" 2>/dev/null || true
}

# own_cgroup_parent NAME: the engine will make /NAME in every cgroup hierarchy; remove it
# and what the engine made below it (podman's conmon/) at exit: rmdir only, so only empty
# cgroups go, and only if this run made NAME.
own_cgroup_parent() {
  local d
  for d in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do
    [ -e "$d$1" ] || on_exit "find $d$1 -depth -type d -exec rmdir {} +"
  done
}

# own_iptables: Docker adds chains and rules and sets the FORWARD policy to DROP; put the
# filter and nat tables back as they were at exit.
own_iptables() {
  command -v iptables-save >/dev/null || return 0
  # Listing makes iptables-nft create the tables, so the save has them all.
  iptables -t filter -S >/dev/null 2>&1; iptables -t nat -S >/dev/null 2>&1
  iptables-save >"$WORK/iptables.saved" 2>/dev/null || return 0
  on_exit "iptables-restore <$WORK/iptables.saved"
}

# umount_under DIR: lazily unmounts everything mounted below DIR (engines leave overlay and
# shm mounts behind when a test fails half-way).
umount_under() {
  local d=$1 m
  for m in $(awk -v d="$d" 'index($2, d) == 1 {print $2}' /proc/self/mounts | sort -r); do
    umount -l "$m" 2>/dev/null || true
  done
}

# containerd_config DIR SOCK [TOP-LEVEL LINE...]: the private containerd's config.toml header
# every containerd-based test uses (its own root, state and sockets under DIR), to stdout;
# callers append their plugin tables after it.
containerd_config() {
  local dir=$1 sock=$2 l
  shift 2
  printf 'version = 2\nroot = "%s"\nstate = "%s"\n' "$dir/root" "$dir/state"
  for l in "$@"; do printf '%s\n' "$l"; done
  printf '[grpc]\n  address = "%s"\n[ttrpc]\n  address = "%s"\n' "$sock" "$sock.ttrpc"
  printf '[debug]\n  address = "%s"\n[metrics]\n  address = ""\n' "$dir/debug.sock"
}
