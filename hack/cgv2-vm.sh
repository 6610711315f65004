#!/usr/bin/env bash
# hack/cgv2-vm.sh COMMAND [ARG...]
#
# Runs COMMAND in a throwaway QEMU guest whose kernel boots with cgroup_no_v1=all, i.e. a pure
# cgroup v2 host (cgroup2 at /sys/fs/cgroup, no v1 hierarchies). This is how hull's v2 driver
# (CLONE_INTO_CGROUP, the eBPF device program, cgroup.freeze, ...) is proven on machines that
# are themselves v1/hybrid. hack/test.sh runs the cgroups spec-tests through it.
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

CACHE=${CGV2VM_CACHE:-/var/tmp/hull-cgv2vm}
CPUS=${CGV2VM_CPUS:-2}
MEM=${CGV2VM_MEM:-2G}
TIMEOUT=${CGV2VM_TIMEOUT:-600}
ACCEL=${CGV2VM_ACCEL:-auto}
BUSYBOX=${CGV2VM_BUSYBOX:-/bin/busybox}
die() { echo "cgv2-vm: $*" >&2; exit 125; }

command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing (hack/deps.sh)"
[ -x "$BUSYBOX" ] || die "$BUSYBOX missing (apt-get install busybox-static)"
KERNEL= KVER=
for k in $(ls -1 /boot/vmlinuz-* 2>/dev/null | sort -V -r); do
  v=${k#/boot/vmlinuz-}
  if [ -d "/lib/modules/$v" ]; then KERNEL=$k; KVER=$v; break; fi
done
[ -n "$KERNEL" ] || die "no /boot/vmlinuz-* with /lib/modules (apt-get install linux-image-amd64)"

# Stage 1, PID 1 in the initramfs: mounts the host's / as the new root, makes /sys/fs/cgroup a
# cgroup2 mount, and switches root to it to run the job (stage 2, still PID 1).
INIT='#!/bin/busybox sh
export PATH=/bin
mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs devtmpfs /dev
for m in $(cat /modules.list); do insmod "/mod/$m" 2>/dev/null; done
fail() { echo "cgv2-vm init: $*" >/dev/ttyS0; echo 125 > /ctl/rc; sync; poweroff -f; }
O9="trans=virtio,version=9p2000.L,msize=524288,access=any"
mount -t 9p -o "$O9" ctl /ctl || fail "mount ctl"
mount -t 9p -o "ro,$O9,cache=loose" root /newroot || fail "mount root"
R=/newroot
mount -t proc proc $R/proc; mount -t sysfs sysfs $R/sys
mount -t cgroup2 -o nsdelegate cgroup2 $R/sys/fs/cgroup || fail "mount cgroup2"
mount -t devtmpfs devtmpfs $R/dev
mkdir -p $R/dev/pts $R/dev/shm 2>/dev/null
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts $R/dev/pts
mount -t tmpfs -o mode=1777 tmpfs $R/dev/shm
ln -sf /proc/self/fd $R/dev/fd 2>/dev/null
mount -t tmpfs -o mode=755 tmpfs /ovl
for d in /etc /root /var; do
  [ -d "$R$d" ] || continue
  n=$(echo "$d" | tr / _); mkdir -p /ovl/$n/u /ovl/$n/w
  mount -t overlay -o "lowerdir=$R$d,upperdir=/ovl/$n/u,workdir=/ovl/$n/w" overlay "$R$d" || fail "overlay $d"
done
mount -t tmpfs -o mode=755 tmpfs $R/run; mount -t tmpfs -o mode=1777 tmpfs $R/tmp
[ -d $R/var/tmp ] && mount -t tmpfs -o mode=1777 tmpfs $R/var/tmp
mkdir -p $R/run/cgv2vm; mount --bind /ctl $R/run/cgv2vm
rw=$(cat /ctl/rwdir); mkdir -p "$R$rw" 2>/dev/null; mount -t 9p -o "$O9,cache=mmap" rw "$R$rw" || fail "mount $rw"
hostname cgv2vm; ip link set lo up 2>/dev/null
OUT=/dev/null; ERR=/dev/null
for p in /sys/class/virtio-ports/*; do
  case "$(cat $p/name 2>/dev/null)" in out) OUT=/dev/${p##*/} ;; err) ERR=/dev/${p##*/} ;; esac
done
# switch_root, not chroot: the new root must be the top of the mount namespace, or setns()
# into the mount namespace of a container (hull exec) would land on the initramfs instead.
exec switch_root $R /bin/bash /run/cgv2vm/job </dev/null >$OUT 2>$ERR
'
# Stage 2, in the new root: the caller's environment, directory and command.
JOB='while IFS= read -r -d "" kv; do
  case "${kv%%=*}" in ""|*[!A-Za-z0-9_]*|[0-9]*|PWD|OLDPWD|SHLVL|_|BASH*|SHELLOPTS|EUID|UID|PPID|HOSTNAME) ;;
    *) export "$kv" 2>/dev/null ;; esac
done < /run/cgv2vm/env
rc=125
if cd "$(cat /run/cgv2vm/cwd)"; then
  ( . /run/cgv2vm/cmd ); rc=$?
fi
echo $rc > /run/cgv2vm/rc; sync; /bin/busybox poweroff -f
'

MODS=(virtio_mmio virtio_pci virtio_console 9pnet_virtio 9p overlay)
KEY=$(printf '%s\n' "$KVER" "$INIT" "${MODS[*]}" "$(sha1sum < "$BUSYBOX")" | sha1sum | cut -c1-12)
INITRD=$CACHE/initrd-$KVER-$KEY.cpio
if [ ! -s "$INITRD" ]; then
  mkdir -p "$CACHE"
  B=$(mktemp -d "$CACHE/build.XXXXXX")
  mkdir -p "$B"/{bin,mod,proc,sys,dev,newroot,ctl,ovl}
  cp "$BUSYBOX" "$B/bin/busybox"
  for a in $("$BUSYBOX" --list); do [ "$a" = busybox ] || ln -s busybox "$B/bin/$a"; done
  printf '%s' "$INIT" > "$B/init"; chmod 755 "$B/init"
  : > "$B/modules.list"
  for m in "${MODS[@]}"; do modprobe -S "$KVER" --show-depends "$m"; done |
    awk '$1=="insmod"{print $2}' | awk '!seen[$0]++' | while read -r ko; do
      name=$(basename "$ko"); name=${name%.xz}; name=${name%.zst}; name=${name%.gz}
      case "$ko" in
        *.xz) xz -dc "$ko" > "$B/mod/$name" ;; *.zst) zstd -qdc "$ko" > "$B/mod/$name" ;;
        *.gz) gzip -dc "$ko" > "$B/mod/$name" ;; *) cp "$ko" "$B/mod/$name" ;;
      esac
      echo "$name" >> "$B/modules.list"
    done
  (cd "$B" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) > "$B.cpio"
  mv -f "$B.cpio" "$INITRD"; rm -rf "$B"
fi

# Boot the uncompressed ELF through its PVH entry when we can: the bzImage's self-decompression
# is slow under TCG.
BOOTK=$KERNEL
VMLINUX=$CACHE/vmlinux-$KVER-$(stat -c %s-%Y "$KERNEL")
if [ ! -s "$VMLINUX" ]; then
  mkdir -p "$CACHE"; T=$(mktemp "$CACHE/vmlinux.XXXXXX")
  for magic in $'\xfd7zXZ\x00' $'\x28\xb5\x2f\xfd' $'\x1f\x8b\x08'; do
    for off in $(grep -abo "$magic" "$KERNEL" 2>/dev/null | head -3 | cut -d: -f1 || true); do
      case "$magic" in
        $'\xfd7zXZ\x00') tail -c +$((off+1)) "$KERNEL" | xz -dc --single-stream > "$T" 2>/dev/null || true ;;
        $'\x28\xb5\x2f\xfd') tail -c +$((off+1)) "$KERNEL" | zstd -qdc > "$T" 2>/dev/null || true ;;
        *) tail -c +$((off+1)) "$KERNEL" | gzip -dc > "$T" 2>/dev/null || true ;;
      esac
      if [ "$(head -c 4 "$T" | od -An -c | tr -d ' ')" = '177ELF' ] &&
         readelf -n "$T" 2>/dev/null | grep -q '0x00000012'; then
        chmod 644 "$T"; mv -f "$T" "$VMLINUX"; break 2
      fi
    done
  done
  rm -f "$T"
fi
[ -s "$VMLINUX" ] && BOOTK=$VMLINUX

CTL=$(mktemp -d "${TMPDIR:-/tmp}/cgv2vm.XXXXXX")
trap 'rm -rf "$CTL"' EXIT
CWD=$(pwd -P)
printf '%q ' "$@" > "$CTL/cmd"
printf '%s' "$CWD" > "$CTL/cwd"
printf '%s' "$CWD" > "$CTL/rwdir"
env -0 > "$CTL/env"
printf '%s' "$JOB" > "$CTL/job"

if [ "$ACCEL" = auto ]; then
  # A kvm_pvm /dev/kvm only runs PVM guest kernels; a stock kernel needs real KVM or TCG.
  if [ -w /dev/kvm ] && [ ! -d /sys/module/kvm_pvm ] && grep -qwE 'vmx|svm' /proc/cpuinfo; then
    ACCEL=kvm
  else
    ACCEL=tcg
  fi
fi
case "$ACCEL" in
  kvm) ACC=(-accel kvm -cpu host) ;;
  *) ACC=(-accel tcg,thread=multi -cpu max) ;;
esac

# Under TCG the guest's TSC calibration can fail on a busy host: tell it the rate.
TSC_KHZ=$(awk -F: '/^cpu MHz/{printf "%d", $2*1000; exit}' /proc/cpuinfo)
HZ=$(sed -n 's/^CONFIG_HZ=//p' "/boot/config-$KVER" 2>/dev/null)
APPEND="console=ttyS0 quiet loglevel=1 panic=-1 cgroup_no_v1=all mitigations=off tsc=reliable no_timer_check"
if [ "$ACCEL" != kvm ] && [ -n "$TSC_KHZ" ]; then
  APPEND+=" tsc_early_khz=$TSC_KHZ lpj=$((TSC_KHZ * 1000 / ${HZ:-250}))"
fi
APPEND+=" rdinit=/init"

mkfifo "$CTL/out" "$CTL/err"
cat "$CTL/out" & CATOUT=$!
cat "$CTL/err" >&2 & CATERR=$!
V9=virtio-9p-device
set +e
timeout -k 5 "$TIMEOUT" qemu-system-x86_64 -nodefaults -no-user-config -nographic -no-reboot \
  -machine microvm,acpi=on,pit=on,pic=off,rtc=on,isa-serial=on "${ACC[@]}" -smp "$CPUS" -m "$MEM" \
  -kernel "$BOOTK" -initrd "$INITRD" -append "$APPEND" \
  -serial "file:$CTL/console.log" -monitor none \
  -fsdev "local,id=fsroot,path=/,readonly=on,security_model=none,multidevs=remap" \
  -device "$V9,fsdev=fsroot,mount_tag=root" \
  -fsdev "local,id=fsrw,path=${CWD//,/,,},security_model=none,multidevs=remap" \
  -device "$V9,fsdev=fsrw,mount_tag=rw" \
  -fsdev "local,id=fsctl,path=${CTL//,/,,},security_model=none" \
  -device "$V9,fsdev=fsctl,mount_tag=ctl" \
  -device virtio-serial-device \
  -chardev "file,id=cout,path=$CTL/out" -device virtserialport,chardev=cout,name=out \
  -chardev "file,id=cerr,path=$CTL/err" -device virtserialport,chardev=cerr,name=err \
  </dev/null &
QPID=$!
trap 'kill "$QPID" 2>/dev/null; rm -rf "$CTL"; exit 130' INT TERM HUP
wait "$QPID"; QRC=$?
# If qemu never opened a fifo, its cat is still blocked in open(): release it with EOF.
while kill -0 "$CATOUT" 2>/dev/null || kill -0 "$CATERR" 2>/dev/null; do
  sleep 0.05
  kill -0 "$CATOUT" 2>/dev/null && : <>"$CTL/out"
  kill -0 "$CATERR" 2>/dev/null && : <>"$CTL/err"
done
wait "$CATOUT" "$CATERR" 2>/dev/null
set -e
[ "${CGV2VM_VERBOSE:-0}" = 1 ] && { echo "---- guest console ----" >&2; cat "$CTL/console.log" >&2; }
[ -s "$CTL/rc" ] && exit "$(cat "$CTL/rc")"
if [ "$QRC" = 124 ] || [ "$QRC" = 137 ]; then
  echo "cgv2-vm: timed out after ${TIMEOUT}s" >&2; tail -n 30 "$CTL/console.log" >&2 || true; exit 124
fi
echo "cgv2-vm: VM exited (qemu $QRC) without a status; console:" >&2
tail -n 30 "$CTL/console.log" >&2 || true
exit 125
