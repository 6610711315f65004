#!/usr/bin/env bash
# Runs every engine test (containerd, its CRI plugin, Docker, podman) against $HULL and prints a summary.
# Exits non-zero if any engine test failed. Each engine script starts and cleans up its own
# private daemon; they run one after another (they share iptables and the cgroup tree).
#   HULL=path  the binary (default: target/hull)   HULL_ENG_ONLY=regex  filter tests
set -u
cd "$(dirname "$0")"
export HULL_ENG_RESULTS
HULL_ENG_RESULTS=$(mktemp -d /tmp/hull-eng-results.XXXXXX)
trap 'rm -rf "$HULL_ENG_RESULTS"' EXIT
rc=0
for e in containerd cri docker podman; do
  printf '\n--- engine: %s\n' "$e"
  timeout 600 ./"$e".sh || rc=1
  grep -q "^$e " "$HULL_ENG_RESULTS/results" 2>/dev/null || { echo "engine $e: did not finish"; rc=1; }
done
printf '\n--- engine tests: passed failed skipped\n'
cat "$HULL_ENG_RESULTS/results" 2>/dev/null
exit $rc
