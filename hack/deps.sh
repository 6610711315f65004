#!/usr/bin/env bash
# Installs everything hull's build, tests, engine tests and benchmark need on a fresh Debian 12
# machine (root). Idempotent: packages already present are skipped quickly.
#   HULL_DEPS=min  only what building hull and the conformance suite needs
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

# What the suite needs: busybox for test rootfs, the peers for comparison, tools the tests drive.
pkgs=(busybox-static file iproute2 procps psmisc util-linux time strace tmux python3 linux-libc-dev
      stress-ng)
if [ "${HULL_DEPS:-all}" != min ]; then
  # Peers and benchmark, engines, and the cgroup v2 guest (a kernel in /boot for QEMU only).
  pkgs+=(runc crun hyperfine docker.io containerd podman iptables python3-grpcio slirp4netns rootlesskit
         qemu-system-x86 linux-image-amd64 cpio xz-utils binutils systemd dbus dbus-user-session libpam-systemd uidmap
         man-db bash-completion buildah apparmor criu)
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  # Lists older than a day (or none) are refreshed once.
  if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -1440 2>/dev/null | head -1)" ]; then
    apt-get update -qq
  fi
  # Engines' postinst scripts must not start daemons on the host: tests start their own.
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
command -v cargo >/dev/null || { echo "deps.sh: cargo not found (install a Rust toolchain >= 1.85)" >&2; exit 1; }
