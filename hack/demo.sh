#!/usr/bin/env bash
# The README's first command: install what is needed, build hull, make a busybox bundle and
# run a container in it that prints its hostname. Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
hack/deps.sh
hack/build.sh
bundle=$(mktemp -d /tmp/hull-demo.XXXXXX)
trap 'rm -rf "$bundle"' EXIT
hack/mkbundle.sh "$bundle/bundle" target/hull >/dev/null
target/hull --root "$bundle/state" run --bundle "$bundle/bundle" "demo-$$"
