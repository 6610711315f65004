#!/usr/bin/env bash
# hack/systemd-vm.sh COMMAND [ARG...]
#
# Runs COMMAND as root in a throwaway QEMU guest that looks like a modern node: systemd as PID 1,
# pure cgroup v2 (systemd.unified_cgroup_hierarchy=1 cgroup_no_v1=all; systemd mounts cgroup2 and
# delegates controllers as it does everywhere), the system D-Bus (dbus.service,
# /run/dbus/system_bus_socket), logind, journald (volatile), udev. COMMAND starts once
# `systemctl is-system-running --wait` has returned, as the service systemdvm-job.service
# (Delegate=yes, no task/file limits, like an engine's unit); if the system came up "degraded" the
# failed units are printed to stderr first. Same interface as hack/cgv2-vm.sh: the caller's
# environment and directory, stdout/stderr streamed back over virtio-serial, the exit status
# returned (124: timed out, 125: the VM failed), then the guest powers off.
#
# The guest's / is a throwaway overlay: the host's / read-only over virtio-9p below (pre-built
# binaries run as they are), a tmpfs above; the current directory is shared read-write at the same
# path; fresh tmpfs on /run /tmp /var/tmp /home and on /var/lib/docker, /var/lib/containerd and
# /var/lib/containers (engines' overlay snapshots cannot have an overlay as their upper; a tmpfs
# is fine). Nothing is written to the host: users, /etc/subuid, units and masks live in the guest's
# overlay only (qemu shares the host's / read-only). The host's own unit enablement
# (/etc/systemd/system: its docker, podman, timers, gettys...) is hidden, so the guest starts
# Debian's defaults only; engines (systemctl start docker, dockerd, podman...) are for COMMAND.
# No network card (loopback only), no /dev/kvm.
#
# SYSTEMDVM_USER=1 also creates, in the guest only, the user hulltest (uid/gid 1000, home
# /home/hulltest on tmpfs, /etc/subuid and /etc/subgid hulltest:100000:65536), lingering, so that
# its manager user@1000.service (Delegate=$SYSTEMDVM_USER_DELEGATE, default
# "cpu cpuset io memory pids" as the rootless-container guides configure it) and its bus
# /run/user/1000/bus are up before COMMAND runs. Run things as that user with
#   /run/systemdvm/as-user CMD...   (runuser -u hulltest with HOME, XDG_RUNTIME_DIR and
#                                     DBUS_SESSION_BUS_ADDRESS set), or by hand:
#   runuser -u hulltest -- env XDG_RUNTIME_DIR=/run/user/1000 systemctl --user ...
#   systemd-run --user -M hulltest@ --wait -p Delegate=yes CMD...   (a unit of the user manager)
#
# Time (2-core machine, TCG, measured): on an idle host COMMAND starts ~12 s after power-on and
# `true` takes ~13 s wall (SYSTEMDVM_USER=1 adds the user manager's start, a few s); on a host
# whose two cores are shared with builds and other guests (load 5-15) 30-170 s. See
# docs/test-hosts.md.
#   SYSTEMDVM_CPUS (2)  SYSTEMDVM_MEM (3G)  SYSTEMDVM_TIMEOUT (900 s)  SYSTEMDVM_ACCEL (auto|tcg|kvm)
#   SYSTEMDVM_BOOT_TIMEOUT (300 s: a boot that never starts the job ends with 124)
#   SYSTEMDVM_VERBOSE=1 (guest console, with systemd's status lines, to stderr)
#   SYSTEMDVM_CGROUPS (v2|hybrid: hybrid boots systemd with v1 controllers and cgroup2 at
#     /sys/fs/cgroup/unified, how the systemd driver is proven on v1/hybrid nodes)
#   SYSTEMDVM_APPEND (more kernel/systemd command line, e.g. systemd.log_level=debug)
#   SYSTEMDVM_CACHE (/var/tmp/hull-cgv2vm, shared with cgv2-vm.sh)
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 COMMAND [ARG...]" >&2; exit 2; }
. "$(dirname "$(readlink -f "$0")")/lib/vm.sh"

VM_NAME=systemd-vm
VM_HOST=systemdvm
VM_CACHE=${SYSTEMDVM_CACHE:-${CGV2VM_CACHE:-/var/tmp/hull-cgv2vm}}
VM_CPUS=${SYSTEMDVM_CPUS:-2}
VM_MEM=${SYSTEMDVM_MEM:-3G}
VM_TIMEOUT=${SYSTEMDVM_TIMEOUT:-900}
VM_BOOT_TIMEOUT=${SYSTEMDVM_BOOT_TIMEOUT:-300}
VM_BOOT_MARK=booted
VM_ACCEL=${SYSTEMDVM_ACCEL:-auto}
VM_BUSYBOX=${SYSTEMDVM_BUSYBOX:-/bin/busybox}
VM_VERBOSE=${SYSTEMDVM_VERBOSE:-0}
VM_ROOTOVL=1
VM_OVERLAYS=""
VM_TMPFS="/run:755 /tmp:1777 /var/tmp:1777 /home:755 /var/lib/docker:710 /var/lib/containerd:711 /var/lib/containers:700"
case ${SYSTEMDVM_CGROUPS:-v2} in
  v2) VM_APPEND="cgroup_no_v1=all systemd.unified_cgroup_hierarchy=1" ;;
  # systemd 252 still boots hybrid: v1 controllers under /sys/fs/cgroup, its own tree in
  # cgroup2 at /sys/fs/cgroup/unified (the layout of our CI hosts, with systemd as PID 1).
  hybrid) VM_APPEND="systemd.unified_cgroup_hierarchy=0 systemd.legacy_systemd_cgroup_controller=0" ;;
  *) echo "SYSTEMDVM_CGROUPS: v2 or hybrid, not ${SYSTEMDVM_CGROUPS}" >&2; exit 2 ;;
esac
# udev's coldplug would load modules for the emulated CPU's features (kvm, cpufreq, SIMD crypto):
# seconds of TCG for nothing here.
VM_APPEND+=" modprobe.blacklist=kvm,kvm_amd,kvm_intel,powernow_k8,pcspkr,evdev,aesni_intel"
VM_APPEND+=",crct10dif_pclmul,crc32_pclmul,crc32c_intel,ghash_clmulni_intel,sha1_ssse3,sha256_ssse3"
VM_APPEND+=",sha512_ssse3 systemd.show_status=1 ${SYSTEMDVM_APPEND:-}"
USER_ON=${SYSTEMDVM_USER:-0}
DELEGATE=${SYSTEMDVM_USER_DELEGATE-cpu cpuset io memory pids}

[ -x /lib/systemd/systemd ] || vm_die "/lib/systemd/systemd missing (apt-get install systemd)"
command -v dbus-daemon >/dev/null || vm_die "dbus-daemon missing (apt-get install dbus)"
if [ "$USER_ON" = 1 ] && [ ! -e /usr/lib/systemd/user/dbus.socket ]; then
  vm_die "SYSTEMDVM_USER=1 needs the user bus (apt-get install dbus-user-session)"
fi

# The caller's directory is shared read-write: not one the guest's system writes to.
case "$(pwd -P)" in
  /|/etc|/etc/*|/usr|/usr/*|/var|/var/lib|/var/lib/*|/var/log|/var/log/*|/boot|/boot/*|/run|/run/*|/proc|/proc/*|/sys|/sys/*|/dev|/dev/*)
    vm_die "run it from a project directory, not $(pwd -P) (shared read-write with the guest)" ;;
esac
vm_prepare "$@"
[ "$USER_ON" = 1 ] && printf '%s\n' "$DELEGATE" > "$CTL/user"

# The rest of stage 1 (busybox sh in the initramfs): shape the guest's /etc, then hand PID 1 to
# systemd. All of it lands in the root overlay's tmpfs upper (or the /home tmpfs), never on the host.
cat > "$CTL/stage1" <<'STAGE1'
grep -q "^overlay /newroot overlay" /proc/mounts || fail "the root is not a throwaway overlay"
E=$R/etc
# The host may be a container with a /.dockerenv (this one is): systemd would believe the guest is
# one too and skip what a machine runs (ConditionVirtualization=!container).
rm -f $R/.dockerenv $R/run/.containerenv
: > $E/fstab
echo systemdvm > $E/hostname
echo "127.0.1.1 systemdvm" >> $E/hosts
# A machine of its own (and no first-boot wizard waiting on the console).
cat /proc/sys/kernel/random/uuid | tr -d - > $E/machine-id
# The host's enablement links are not this node's: start from the distribution's defaults.
rm -rf $E/systemd/system || fail "rm /etc/systemd/system"
mkdir -p $E/systemd/system/multi-user.target.wants $E/systemd/journald.conf.d
# Masked: gettys (nobody types on the console), what needs a network card, what a 9p-backed root
# with an empty fstab has no use for (fsck, remount, hwdb/ldconfig/catalog rebuilds that
# ConditionNeedsUpdate would run on every boot since /etc/.updated never persists), sysusers (the
# host's /etc/passwd has its users), and module preloads that cost seconds of TCG at boot while
# the kernel loads them on first use anyway (/dev/fuse, /dev/loop-control; binfmt_misc stays an
# automount, with no formats registered).
for u in getty.target getty@tty1.service serial-getty@ttyS0.service console-getty.service \
    networking.service systemd-networkd.service systemd-networkd-wait-online.service \
    systemd-resolved.service systemd-timesyncd.service \
    systemd-remount-fs.service systemd-fsck-root.service \
    systemd-firstboot.service systemd-machine-id-commit.service \
    systemd-hwdb-update.service ldconfig.service systemd-journal-catalog-update.service \
    systemd-update-done.service systemd-pstore.service \
    systemd-sysusers.service systemd-binfmt.service \
    modprobe@drm.service modprobe@dm_mod.service modprobe@loop.service modprobe@fuse.service; do
  ln -sf /dev/null $E/systemd/system/$u
done
# Generators that only cost boot time here (no disks, no SysV scripts wanted, no gettys).
mkdir -p $E/systemd/system-generators
for g in postgresql-generator systemd-sysv-generator systemd-rc-local-generator \
    systemd-getty-generator systemd-gpt-auto-generator systemd-cryptsetup-generator \
    systemd-veritysetup-generator systemd-integritysetup-generator \
    systemd-hibernate-resume-generator systemd-system-update-generator; do
  ln -sf /dev/null $E/systemd/system-generators/$g
done
printf '[Journal]\nStorage=volatile\nForwardToConsole=no\n' > $E/systemd/journald.conf.d/systemdvm.conf
# The job: after multi-user.target (DefaultDependencies=no, or the target's implicit After= on what
# it wants would make a cycle); Type=exec so that the boot finishes while it runs.
cat > $E/systemd/system/systemdvm-job.service <<UNIT
[Unit]
Description=systemd-vm.sh job
DefaultDependencies=no
After=multi-user.target
[Service]
Type=exec
ExecStart=/bin/bash /run/systemdvm/job
StandardInput=null
StandardOutput=file:$OUT
StandardError=file:$ERR
Delegate=yes
TasksMax=infinity
LimitNOFILE=1048576
LimitNPROC=infinity
LimitCORE=infinity
LimitMEMLOCK=infinity
# However the job ends, the machine goes down (the status file tells the host how it went).
SuccessAction=poweroff-force
FailureAction=poweroff-force
UNIT
ln -sf ../systemdvm-job.service $E/systemd/system/multi-user.target.wants/systemdvm-job.service
if [ -e /ctl/user ]; then
  # hulltest, uid/gid 1000, replacing whatever has that uid/gid or name in the guest's copies.
  for f in passwd shadow group gshadow subuid subgid; do
    [ -e $E/$f ] || { : > $E/$f; chmod 644 $E/$f; }
  done
  users=$(awk -F: '$1=="hulltest" || $3==1000 {print $1}' $E/passwd)
  groups=$(awk -F: '$1=="hulltest" || $3==1000 {print $1}' $E/group)
  for f in passwd shadow subuid subgid; do
    awk -F: -v n=" $users hulltest " 'index(n, " " $1 " ")==0' $E/$f > /ovl/f && cat /ovl/f > $E/$f
  done
  for f in group gshadow; do
    awk -F: -v n=" $groups hulltest " 'index(n, " " $1 " ")==0' $E/$f > /ovl/f && cat /ovl/f > $E/$f
  done
  echo "hulltest:x:1000:1000:hull rootless tests:/home/hulltest:/bin/bash" >> $E/passwd
  echo "hulltest:*:19000:0:99999:7:::" >> $E/shadow
  echo "hulltest:x:1000:" >> $E/group
  echo "hulltest:!::" >> $E/gshadow
  echo "hulltest:100000:65536" >> $E/subuid
  echo "hulltest:100000:65536" >> $E/subgid
  mkdir -p $R/home/hulltest; chown 1000:1000 $R/home/hulltest; chmod 700 $R/home/hulltest
  mkdir -p $R/var/lib/systemd/linger; : > $R/var/lib/systemd/linger/hulltest
  d=$(cat /ctl/user)
  if [ -n "$d" ]; then
    mkdir -p $E/systemd/system/user@.service.d
    printf '[Service]\nDelegate=%s\n' "$d" > $E/systemd/system/user@.service.d/systemdvm-delegate.conf
  fi
fi
mount_rw
export SYSTEMD_COLORS=0
exec switch_root $R /lib/systemd/systemd </dev/console >/dev/console 2>&1
STAGE1

# Stage 2, the job unit: wait for the system (and the user's manager), then the caller's
# environment, directory and command; write the status and power off at once.
cat > "$CTL/job" <<'JOB'
: > /run/systemdvm/booted
state=$(timeout 300 systemctl is-system-running --wait 2>/dev/null)
case "$state" in
  running) ;;
  *) echo "systemd-vm: the system is ${state:-not up}; failed units:" >&2
     systemctl list-units --failed --no-legend --plain --no-pager >&2 ;;
esac
if [ -e /run/systemdvm/user ]; then
  for i in $(seq 600); do
    systemctl -q is-active user@1000.service && [ -S /run/user/1000/bus ] && break
    sleep 0.1
  done
  us=$(timeout 120 runuser -u hulltest -- env XDG_RUNTIME_DIR=/run/user/1000 \
       systemctl --user is-system-running --wait 2>/dev/null)
  [ "$us" = running ] || {
    echo "systemd-vm: hulltest's manager is ${us:-not up}" >&2
    systemctl status --no-pager user@1000.service >&2
  }
fi
while IFS= read -r -d "" kv; do
  case "${kv%%=*}" in ""|*[!A-Za-z0-9_]*|[0-9]*|PWD|OLDPWD|SHLVL|_|BASH*|SHELLOPTS|EUID|UID|PPID|HOSTNAME) ;;
    *) export "$kv" 2>/dev/null ;; esac
done < /run/systemdvm/env
cut -d" " -f1 /proc/uptime > /run/systemdvm/started
rc=125
if cd "$(cat /run/systemdvm/cwd)"; then
  ( . /run/systemdvm/cmd ); rc=$?
fi
echo $rc > /run/systemdvm/rc; sync
systemctl poweroff -ff >/dev/null 2>&1 || /bin/busybox poweroff -f
JOB

# COMMAND's way to run something as hulltest, with the user's runtime dir and bus.
cat > "$CTL/as-user" <<'ASUSER'
#!/bin/sh
exec runuser -u hulltest -- env HOME=/home/hulltest XDG_RUNTIME_DIR=/run/user/1000 \
  DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/1000/bus "$@"
ASUSER
chmod 755 "$CTL/as-user"
vm_run
