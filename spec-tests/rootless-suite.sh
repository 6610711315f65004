#!/bin/sh
# The spec-tests' rootless mode (docs/rootless.md): the lifecycle, process, mounts, exec and
# tty modules as an unprivileged user, every bundle from `hull spec --rootless`.
#   spec-tests/rootless-suite.sh prepare   on the host: builds the test binaries into
#                                          target/rootless-suite/ (no cargo in the guest)
#   spec-tests/rootless-suite.sh           in the systemd guest, as the user (HULL,
#                                          HULL_CHECKER set; hack/rootless-tests.sh does it)
# Prints each module's cargo summary, then "suite: N passed, N failed, N skipped".
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
out=$here/target/rootless-suite
MODULES="lifecycle process mounts exec tty"
if [ "${1:-}" = prepare ]; then
  mkdir -p "$out"
  args=""; for m in $MODULES; do args="$args --test $m"; done
  # shellcheck disable=SC2086
  cargo test -p spec-tests --no-run --message-format=json $args |
    python3 -c '
import json, shutil, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and "test" in m["target"]["kind"]:
        shutil.copy(m["executable"], sys.argv[1] + "/" + m["target"]["name"])
' "$out"
  ls "$out"
  exit 0
fi
export HULL_SPEC_ROOTLESS=1
p=0 f=0 s=0
for m in $MODULES; do
  log=${ROOTLESS_SUITE_LOGS:-/tmp}/rootless-suite-$m.log
  "$out/$m" --test-threads=2 --show-output >"$log" 2>&1
  grep -E '^test .* FAILED$|^test result' "$log"
  r=$(grep '^test result' "$log" | tail -1)
  p=$((p + $(echo "$r" | sed -n 's/.* \([0-9]*\) passed.*/\1/p')))
  f=$((f + $(echo "$r" | sed -n 's/.* \([0-9]*\) failed.*/\1/p')))
  s=$((s + $(grep -c 'skipped (rootless)' "$log")))
  [ -n "$r" ] || { echo "$m: no result"; tail -5 "$log"; f=$((f + 1)); }
done
echo "suite: $p passed, $f failed, $s skipped (counted as passed by cargo; reasons in /tmp/rootless-suite-*.log)"
