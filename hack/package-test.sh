#!/usr/bin/env bash
# The Debian package end to end, as an operator gets it: builds it (hack/package.sh),
# installs it with `apt-get install ./target/hull_*.deb`, checks `hull --version`,
# `man hull-exec`, `hull <TAB>` in bash, then runs engine tests against /usr/bin/hull with the
# drop-ins the package installed in /usr/share/doc/hull/examples/, and removes it with
# `dpkg -r hull`, asserting that nothing of it is left. Needs root; leaves the machine as it
# found it (a hull package already installed is an error, not something to replace).
#   HULL_PKG_ENG_ONLY=regex   the engine tests to run (default: a subset per engine that
#                             exercises each example file; "" runs them all)
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

stage() { printf '\n==> package: %s\n' "$*"; }
fail() { echo "package-test: FAILED: $*" >&2; exit 1; }

if dpkg-query -W -f='${Status}' hull 2>/dev/null | grep -q 'ok installed'; then
  fail "a hull package is already installed on this machine; remove it first (dpkg -r hull)"
fi
[ ! -e /usr/bin/hull ] || fail "/usr/bin/hull exists but belongs to no hull package"

stage "build (hack/package.sh)"
hack/package.sh
deb=$(ls target/hull_*.deb)
echo "$deb: $(du -k "$deb" | cut -f1) KB"
dpkg-deb --info "$deb" | sed -n '/Package:/,/Description:/p'

stage "install: apt-get install ./$deb"
trap 'dpkg -r hull >/dev/null 2>&1 || true' EXIT
apt-get install -y -qq "./$deb" >/dev/null
files=$(dpkg -L hull)

stage "hull --version, hull features"
v=$(/usr/bin/hull --version)
echo "$v"
commit=$(git rev-parse HEAD)
grep -qx "hull version $(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)" <<<"$v" || fail "version line"
grep -qx "commit: $commit" <<<"$v" || fail "commit line is not $commit"
grep -q '^build: static, release, ' <<<"$v" || fail "build line: not a static release build"
f=$(/usr/bin/hull features)
grep -q "\"io.github.hull.commit\": \"$commit\"" <<<"$f" || fail "features: io.github.hull.commit"
grep -q '"io.github.hull.build": "static, release, ' <<<"$f" || fail "features: io.github.hull.build"

stage "man pages"
[ "$(man -w hull-exec)" = /usr/share/man/man8/hull-exec.8.gz ] || fail "man -w hull-exec: $(man -w hull-exec 2>&1)"
page=$(MANWIDTH=100 MANPAGER=cat man hull-exec 2>/dev/null)
grep -q -- '--ignore-paused' <<<"$page" || fail "man hull-exec does not describe --ignore-paused"
MANWIDTH=100 MANPAGER=cat man hull 2>/dev/null | grep -q '^LOG FORMAT' || fail "hull(8) has no LOG FORMAT section"
for c in $(/usr/bin/hull --help | sed -n '/^Commands:/,/^$/s/^  \([a-z]*\) .*/\1/p'); do
  man -w "hull-$c" >/dev/null 2>&1 || fail "no man page for hull $c"
done
echo "man hull-exec, hull(8) and a page per command: ok"

stage "bash completion: hull <TAB>"
# bash-completion's loader finds /usr/share/bash-completion/completions/hull on first use.
words=$(bash -c 'source /usr/share/bash-completion/bash_completion
  _completion_loader hull
  fn=$(complete -p hull | sed -n "s/.*-F \([^ ]*\) .*/\1/p")
  COMP_WORDS=(hull ex); COMP_CWORD=1; COMP_LINE="hull ex"; COMP_POINT=7
  "$fn" hull ex hull; printf "%s\n" "${COMPREPLY[@]}"')
[ "$words" = exec ] || fail "hull ex<TAB> completes to [$words], not exec"
words=$(bash -c 'source /usr/share/bash-completion/bash_completion
  _completion_loader hull
  fn=$(complete -p hull | sed -n "s/.*-F \([^ ]*\) .*/\1/p")
  COMP_WORDS=(hull exec --ignore-p); COMP_CWORD=2; COMP_LINE="hull exec --ignore-p"; COMP_POINT=20
  "$fn" hull --ignore-p exec; printf "%s\n" "${COMPREPLY[@]}"')
[ "$words" = --ignore-paused ] || fail "hull exec --ignore-p<TAB> completes to [$words]"
for f in /usr/share/zsh/vendor-completions/_hull /usr/share/fish/vendor_completions.d/hull.fish; do
  [ -s "$f" ] || fail "$f missing"
done
echo "bash: hull ex<TAB> -> exec, hull exec --ignore-p<TAB> -> --ignore-paused; zsh, fish installed"

stage "engines on /usr/bin/hull with /usr/share/doc/hull/examples/"
only=${HULL_PKG_ENG_ONLY-'^t_(run_rm|default_runtime|daemon_json_runtime|containers_conf_runtime|buildah_runtime|exec|runtime_class_pod|default_handler_is_not_hull)$'}
eng=0
for e in docker podman cri; do
  HULL=/usr/bin/hull HULL_EXAMPLES=/usr/share/doc/hull/examples HULL_ENG_ONLY=$only \
    timeout 900 hack/engines/$e.sh || eng=1
done
[ $eng = 0 ] || fail "engine tests on the installed package (above)"

stage "remove: dpkg -r hull"
trap - EXIT
dpkg -r hull >/dev/null
status=$(dpkg-query -W -f='${db:Status-Abbrev}' hull 2>/dev/null || true)
[ -z "$status" ] || [ "${status:1:1}" = n ] || fail "dpkg still knows hull: [$status]"
left=()
while read -r p; do
  [ -f "$p" ] || [ -L "$p" ] && left+=("$p")
done <<<"$files"
for d in /usr/share/doc/hull /usr/share/doc/hull/examples /usr/share/doc/hull/docs; do
  [ ! -e "$d" ] || left+=("$d")
done
ls /var/lib/dpkg/info/hull.* >/dev/null 2>&1 && left+=(/var/lib/dpkg/info/hull.*)
[ ${#left[@]} = 0 ] || fail "left after dpkg -r: ${left[*]}"
echo "nothing of the package is left ($(wc -l <<<"$files") paths checked)"
echo "package test: 1 passed, 0 failed"
