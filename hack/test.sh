#!/usr/bin/env bash
# The README's test command, and what CI runs: installs dependencies, builds hull and the
# static checker, runs the unit tests, the conformance suite (spec-tests/) against the built
# binary (on this host, the cgroups and checkpoint modules again in a pure cgroup v2 QEMU guest, the systemd
# driver's module in a systemd-booted cgroup v2 guest, the rootless checks as a user there), then
# checks the machine for anything the tests left behind. Needs root.
#   HULL_TEST_FILTER=NAME   run only spec-tests whose name contains NAME
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

stage() { printf '\n==> %s\n' "$*"; }

stage "dependencies"
hack/deps.sh

stage "build: hull (release, static: hack/build.sh) and the static checker"
hack/build.sh
# The checker runs inside busybox rootfs without a libc: link it statically. An explicit
# --target keeps RUSTFLAGS away from build scripts and proc macros.
RUSTFLAGS="-C target-feature=+crt-static" cargo build --release -p hull-checker \
  --target x86_64-unknown-linux-gnu --target-dir target/checker
export HULL=$root/target/hull
export HULL_CHECKER=$root/target/checker/x86_64-unknown-linux-gnu/release/checker

stage "lint"
# The seccomp syscall tables should match this host's kernel headers; newer headers are not
# an error (the checked-in tables stay valid), just a reason to regenerate.
python3 hack/gen-syscalls.py --check || echo "warning: regenerate seccomp/src/syscalls.rs"
cargo fmt --all -- --check
cargo clippy --all-targets -q -- -D warnings

stage "unit tests"
cargo test   # the default members: every crate but the conformance suite

stage "conformance suite (spec-tests) on this host ($(stat -fc %T /sys/fs/cgroup) at /sys/fs/cgroup)"
rm -rf /tmp/hull-spec
# Every module runs even when one fails; the result is reported after the leak check.
suite=0
cargo test -p spec-tests --no-fail-fast -- ${HULL_TEST_FILTER:-} || suite=1

stage "cgroup v2: the cgroups spec-tests in a QEMU guest booted with cgroup_no_v1=all (hack/cgv2-vm.sh)"
# This host is v1/hybrid; the v2 driver (CLONE_INTO_CGROUP, the eBPF device program,
# cgroup.freeze) is proven in a throwaway pure-v2 guest running the binaries built above.
cgv2=0
if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
  echo "/sys/fs/cgroup is cgroup2 here: the stage above already ran the v2 driver"
else
  cgbin=$(cargo test -p spec-tests --test cgroups --no-run 2>&1 | sed -n 's/.*Executable .*(\(.*\))$/\1/p')
  if [ -x "$cgbin" ]; then
    hack/cgv2-vm.sh bash -c "rm -rf /tmp/hull-spec; $cgbin --test-threads=2 ${HULL_TEST_FILTER:-} && hack/leaks.sh" || cgv2=1
  else
    echo "cgroups test binary not found" >&2; cgv2=1
  fi
fi

stage "checkpoint/restore: the checkpoint spec-tests in the cgroup v2 guest, where CRIU works (hack/cgv2-vm.sh)"
# Debian's CRIU 3.17 fails `criu check` on this host's kernel (the tests skip there, saying
# why); the guest's Debian 6.1 kernel runs it. Each test holds a few dumps and restores
# under TCG (~10 s each): the module takes ~5 min there with two test threads.
crbin=$(cargo test -p spec-tests --test checkpoint --no-run 2>&1 | sed -n 's/.*Executable .*(\(.*\))$/\1/p')
if [ -x "$crbin" ]; then
  CGV2VM_TIMEOUT=900 hack/cgv2-vm.sh bash -c "rm -rf /tmp/hull-spec; criu check && $crbin --test-threads=2 ${HULL_TEST_FILTER:-} && hack/leaks.sh" || cgv2=1
else
  echo "checkpoint test binary not found" >&2; cgv2=1
fi
# Engines' checkpoint/restore through hull: podman's (in place, --export/--import) and
# containerd 1.6's ctr with its stock runc v2 shim (~4 min under TCG).
CGV2VM_TIMEOUT=900 hack/cgv2-vm.sh hack/engines/checkpoint.sh || cgv2=1

stage "systemd + cgroup v2 node: the systemd driver's spec-tests in a QEMU guest booted with systemd (hack/systemd-vm.sh)"
# The engines' default on modern nodes is the systemd cgroup driver; this host has no systemd
# as PID 1, so the driver is proven in a throwaway guest that does (docs/test-hosts.md).
sdnode=0
sdbin=$(cargo test -p spec-tests --test systemd --no-run 2>&1 | sed -n 's/.*Executable .*(\(.*\))$/\1/p')
if [ -x "$sdbin" ]; then
  # With it, checkpoint/restore on the systemd driver (CRIU works on the guest's kernel).
  hack/systemd-vm.sh bash -c "$sdbin --test-threads=2 ${HULL_TEST_FILTER:-} && $crbin systemd_driver && hack/leaks.sh" || sdnode=1
  # runc's systemd driver also serves v1/hybrid nodes (v1 property names, v1 controllers):
  # the same module on systemd booted hybrid.
  SYSTEMDVM_CGROUPS=hybrid hack/systemd-vm.sh bash -c "$sdbin --test-threads=2 ${HULL_TEST_FILTER:-} && hack/leaks.sh" || sdnode=1
else
  echo "systemd test binary not found" >&2; sdnode=1
fi

stage "rootless: hull as an unprivileged user in the systemd guest (hack/rootless-tests.sh: the user's checks, the spec-tests' rootless mode, rootless podman and Docker)"
# Users and /etc/subuid belong in a guest, never on this host (docs/rootless.md). The suite's
# test binaries are the ones built above, copied for the guest (no cargo there).
rootless=0
spec-tests/rootless-suite.sh prepare >/dev/null || rootless=1
SYSTEMDVM_USER=1 SYSTEMDVM_TIMEOUT=${ROOTLESS_TIMEOUT:-1500} ROOTLESS_SUITE=1 ROOTLESS_PODMAN=1 \
  ROOTLESS_DOCKER=1 hack/systemd-vm.sh hack/rootless-tests.sh || rootless=1

stage "engines on a systemd + cgroup v2 node, default configurations (hack/engines/systemd-node.sh in hack/systemd-vm.sh), and on pure v2 with cgroupfs (in hack/cgv2-vm.sh)"
SYSTEMDVM_TIMEOUT=1500 hack/systemd-vm.sh hack/engines/systemd-node.sh || sdnode=1
CGV2VM_TIMEOUT=900 hack/cgv2-vm.sh hack/engines/systemd-node.sh || cgv2=1

stage "engines: containerd, Docker and podman on hull (hack/engines/)"
# A failing engine test fails the run, but only after the leak check has looked.
engines=0
hack/engines/run-all.sh || engines=1

stage "package: hack/package-test.sh (install the .deb, man pages, completion, engines on /usr/bin/hull, dpkg -r)"
hack/package-test.sh || engines=1

stage "leak check"
hack/leaks.sh
[ $suite = 0 ] || { echo "spec-tests failed (see the conformance stage above)" >&2; exit 1; }
[ $cgv2 = 0 ] || { echo "cgroup v2 guest tests failed (see the cgroup v2 stage above)" >&2; exit 1; }
[ $sdnode = 0 ] || { echo "systemd guest tests failed (see the systemd node stage above)" >&2; exit 1; }
[ $rootless = 0 ] || { echo "rootless tests failed (see the rootless stage above)" >&2; exit 1; }
[ $engines = 0 ] || { echo "engine tests failed (see the engines stage above)" >&2; exit 1; }
