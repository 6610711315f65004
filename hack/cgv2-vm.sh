#!/usr/bin/env bash
# hack/cgv2-vm.sh COMMAND [ARG...]
#
# Runs COMMAND in a throwaway QEMU guest whose kernel boots with cgroup_no_v1=all, i.e. a pure
# cgroup v2 host (cgroup2 at /sys/fs/cgroup, no v1 hierarchies). This is how hull's v2 driver
# (CLONE_INTO_CGROUP, the eBPF device program, cgroup.freeze, ...) is proven on machines that
# are themselves v1/hybrid. hack/test.sh runs the cgroups spec-tests through it. No init, no
# systemd: the job script is PID 1 and COMMAND its child, in the root cgroup (hack/systemd-vm.sh
# is the same with systemd as PID 1; docs/test-hosts.md describes both).
#
# The guest sees the host's / read-only (virtio-9p; so pre-built binaries run as they are, no
# cargo in the guest), fresh tmpfs on /tmp /run /var/tmp, throwaway overlays on /etc /root /var,
# and the current directory read-write. Environment passes through; the script exits with the
# command's status (124: timed out, 125: the VM failed). Output streams back on virtio-serial.
#
# Needs: qemu-system-x86 linux-image-amd64 busybox-static cpio (hack/deps.sh installs them).
# There is no hardware KVM for a stock kernel on our CI machines, so the guest runs under TCG:
# boot is ~5 s, CPU-bound work ~10x slower than on the host.
#   CGV2VM_CPUS (2)  CGV2VM_MEM (2G)  CGV2VM_TIMEOUT (600 s)  CGV2VM_VERBOSE=1 (console log)
#   CGV2VM_ACCEL (auto|tcg|kvm)
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 COMMAND [ARG...]" >&2; exit 2; }
. "$(dirname "$(readlink -f "$0")")/lib/vm.sh"

VM_NAME=cgv2-vm
VM_HOST=cgv2vm
VM_CACHE=${CGV2VM_CACHE:-/var/tmp/hull-cgv2vm}
VM_CPUS=${CGV2VM_CPUS:-2}
VM_MEM=${CGV2VM_MEM:-2G}
VM_TIMEOUT=${CGV2VM_TIMEOUT:-600}
VM_ACCEL=${CGV2VM_ACCEL:-auto}
VM_BUSYBOX=${CGV2VM_BUSYBOX:-/bin/busybox}
VM_VERBOSE=${CGV2VM_VERBOSE:-0}
VM_OVERLAYS="/etc /root /var"
VM_TMPFS="/run:755 /tmp:1777 /var/tmp:1777"
VM_APPEND="cgroup_no_v1=all"

vm_prepare "$@"
# The rest of stage 1: /sys/fs/cgroup becomes a cgroup2 mount and the job runs as PID 1 in the
# new root. switch_root, not chroot: the new root must be the top of the mount namespace, or
# setns() into the mount namespace of a container (hull exec) would land on the initramfs instead.
cat > "$CTL/stage1" <<'STAGE1'
mount -t cgroup2 -o nsdelegate cgroup2 $R/sys/fs/cgroup || fail "mount cgroup2"
mount_rw
exec switch_root $R /bin/bash /run/cgv2vm/job </dev/null >$OUT 2>$ERR
STAGE1
# Stage 2, in the new root: the caller's environment, directory and command.
cat > "$CTL/job" <<'JOB'
while IFS= read -r -d "" kv; do
  case "${kv%%=*}" in ""|*[!A-Za-z0-9_]*|[0-9]*|PWD|OLDPWD|SHLVL|_|BASH*|SHELLOPTS|EUID|UID|PPID|HOSTNAME) ;;
    *) export "$kv" 2>/dev/null ;; esac
done < /run/cgv2vm/env
rc=125
if cd "$(cat /run/cgv2vm/cwd)"; then
  ( . /run/cgv2vm/cmd ); rc=$?
fi
echo $rc > /run/cgv2vm/rc; sync; /bin/busybox poweroff -f
JOB
vm_run
