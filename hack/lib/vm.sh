# hack/lib/vm.sh: what hack/cgv2-vm.sh and hack/systemd-vm.sh share. Sourced, not run.
#
# Both boot a throwaway QEMU guest on Debian's own kernel from /boot, see the host's / read-only
# over virtio-9p (pre-built binaries run as they are), get throwaway overlays and tmpfs mounts, the
# caller's directory read-write at the same path, and bring back the command's stdout, stderr
# (virtio-serial ports "out" and "err") and exit status (a file in the 9p "ctl" directory).
#
# A caller sets, before vm_main:
#   VM_NAME      prefix of messages (e.g. cgv2-vm)
#   VM_HOST      guest hostname; the ctl directory is mounted at /run/$VM_HOST in the guest
#   VM_CACHE VM_CPUS VM_MEM VM_TIMEOUT VM_ACCEL VM_BUSYBOX VM_VERBOSE
#   VM_ROOTOVL   1: the root itself is a throwaway overlay (tmpfs upper) on the host's /, else
#                the host's / read-only
#   VM_OVERLAYS  directories given a throwaway overlay (tmpfs upper), e.g. "/etc /root /var"
#   VM_TMPFS     "DIR:MODE" list of fresh tmpfs mounts, mounted after the overlays, in order
#   VM_APPEND    the guest-specific part of the kernel command line
#   VM_BOOT_MARK VM_BOOT_TIMEOUT  optional: the guest is killed (status 124) unless it creates
#                $CTL/$VM_BOOT_MARK within VM_BOOT_TIMEOUT seconds (a boot that never gets there)
# and writes, after vm_prepare, $CTL/stage1: busybox sh sourced by the initramfs's /init once the
# new root is ready at $R (OUT and ERR name the output ports, fail MSG aborts with status 125). It
# calls mount_rw (the caller's directory) and ends by switch_root-ing into $R. Everything else in
# $CTL is visible as /run/$VM_HOST in the guest. The root share is read-only in qemu itself: the
# only host paths a guest can write are $CTL and the caller's directory.

vm_die() { echo "$VM_NAME: $*" >&2; exit 125; }

# Stage 1, PID 1 in the initramfs: mounts the host's / as the new root, the overlays, tmpfs and the
# caller's directory, then hands over to the guest-specific /ctl/stage1.
VM_INIT='#!/bin/busybox sh
export PATH=/bin
mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs devtmpfs /dev
for m in $(cat /modules.list); do insmod "/mod/$m" 2>/dev/null; done
fail() { echo "vm init: $*" >/dev/ttyS0; echo 125 > /ctl/rc; sync; poweroff -f; }
O9="trans=virtio,version=9p2000.L,msize=524288,access=any"
mount -t 9p -o "$O9" ctl /ctl || fail "mount ctl"
mount -t tmpfs -o mode=755 tmpfs /ovl
if [ -e /ctl/rootovl ]; then
  mkdir -p /lower /ovl/_/u /ovl/_/w
  mount -t 9p -o "ro,$O9,cache=loose" root /lower || fail "mount root"
  mount -t overlay -o "lowerdir=/lower,upperdir=/ovl/_/u,workdir=/ovl/_/w" overlay /newroot || fail "overlay /"
else
  mount -t 9p -o "ro,$O9,cache=loose" root /newroot || fail "mount root"
fi
R=/newroot
mount -t proc proc $R/proc; mount -t sysfs sysfs $R/sys
mount -t devtmpfs devtmpfs $R/dev
mkdir -p $R/dev/pts $R/dev/shm 2>/dev/null
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts $R/dev/pts
mount -t tmpfs -o mode=1777 tmpfs $R/dev/shm
ln -sf /proc/self/fd $R/dev/fd 2>/dev/null
for d in $(cat /ctl/overlays); do
  [ -d "$R$d" ] || continue
  n=$(echo "$d" | tr / _); mkdir -p /ovl/$n/u /ovl/$n/w
  mount -t overlay -o "lowerdir=$R$d,upperdir=/ovl/$n/u,workdir=/ovl/$n/w" overlay "$R$d" || fail "overlay $d"
done
for t in $(cat /ctl/tmpfs); do
  d=${t%:*}; [ -d "$R$d" ] || mkdir -p "$R$d" 2>/dev/null
  [ -d "$R$d" ] && { mount -t tmpfs -o "mode=${t##*:}" tmpfs "$R$d" || fail "tmpfs $d"; }
done
name=$(cat /ctl/name)
mkdir -p $R/run/$name; mount --bind /ctl $R/run/$name
hostname $name; ip link set lo up 2>/dev/null
OUT=/dev/null; ERR=/dev/null
for p in /sys/class/virtio-ports/*; do
  case "$(cat $p/name 2>/dev/null)" in out) OUT=/dev/${p##*/} ;; err) ERR=/dev/${p##*/} ;; esac
done
# The caller directory, read-write: stage 1 mounts it once it has written what it writes in $R.
mount_rw() {
  rw=$(cat /ctl/rwdir); mkdir -p "$R$rw" 2>/dev/null
  mount -t 9p -o "$O9,cache=mmap" rw "$R$rw" || fail "mount $rw"
}
. /ctl/stage1
fail "stage 1 did not switch root"
'
VM_MODS=(virtio_mmio virtio_pci virtio_console 9pnet_virtio 9p overlay)

# Sets KERNEL and KVER: the newest /boot kernel whose modules are installed (the guest loads its
# modules from the host's /lib/modules).
vm_kernel() {
  KERNEL= KVER=
  local k v
  for k in $(ls -1 /boot/vmlinuz-* 2>/dev/null | sort -V -r); do
    v=${k#/boot/vmlinuz-}
    if [ -d "/lib/modules/$v" ]; then KERNEL=$k; KVER=$v; break; fi
  done
  [ -n "$KERNEL" ] || vm_die "no /boot/vmlinuz-* with /lib/modules (apt-get install linux-image-amd64)"
}

# Sets INITRD: busybox, VM_INIT and the modules it needs to reach the 9p root; cached by content.
vm_initrd() {
  local key B m a ko name
  key=$(printf '%s\n' "$KVER" "$VM_INIT" "${VM_MODS[*]}" "$(sha1sum < "$VM_BUSYBOX")" | sha1sum | cut -c1-12)
  INITRD=$VM_CACHE/initrd-$KVER-$key.cpio
  [ -s "$INITRD" ] && return 0
  mkdir -p "$VM_CACHE"
  B=$(mktemp -d "$VM_CACHE/build.XXXXXX")
  mkdir -p "$B"/{bin,mod,proc,sys,dev,newroot,ctl,ovl}
  cp "$VM_BUSYBOX" "$B/bin/busybox"
  for a in $("$VM_BUSYBOX" --list); do [ "$a" = busybox ] || ln -s busybox "$B/bin/$a"; done
  printf '%s' "$VM_INIT" > "$B/init"; chmod 755 "$B/init"
  : > "$B/modules.list"
  for m in "${VM_MODS[@]}"; do modprobe -S "$KVER" --show-depends "$m"; done |
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
}

# Sets BOOTK: the uncompressed ELF, booted through its PVH entry when we can (the bzImage's
# self-decompression is slow under TCG), else the bzImage.
vm_bootkernel() {
  local VMLINUX T magic off
  BOOTK=$KERNEL
  VMLINUX=$VM_CACHE/vmlinux-$KVER-$(stat -c %s-%Y "$KERNEL")
  if [ ! -s "$VMLINUX" ]; then
    mkdir -p "$VM_CACHE"; T=$(mktemp "$VM_CACHE/vmlinux.XXXXXX")
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
  return 0
}

# Checks the tools, finds the kernel, builds the initrd and makes the ctl directory CTL (removed on
# exit) with the command, the caller's directory and environment.
vm_prepare() {
  command -v qemu-system-x86_64 >/dev/null || vm_die "qemu-system-x86_64 missing (hack/deps.sh)"
  [ -x "$VM_BUSYBOX" ] || vm_die "$VM_BUSYBOX missing (apt-get install busybox-static)"
  vm_kernel; vm_initrd; vm_bootkernel
  CTL=$(mktemp -d "${TMPDIR:-/tmp}/$VM_HOST.XXXXXX")
  trap 'rm -rf "$CTL"' EXIT
  CWD=$(pwd -P)
  printf '%q ' "$@" > "$CTL/cmd"
  printf '%s' "$CWD" > "$CTL/cwd"
  printf '%s' "$CWD" > "$CTL/rwdir"
  env -0 > "$CTL/env"
  printf '%s\n' "$VM_HOST" > "$CTL/name"
  printf '%s\n' $VM_OVERLAYS > "$CTL/overlays"
  [ "${VM_ROOTOVL:-0}" != 1 ] || : > "$CTL/rootovl"
  printf '%s\n' $VM_TMPFS > "$CTL/tmpfs"
}

# Boots the guest and exits with the command's status: 124 timed out, 125 the VM failed.
vm_run() {
  local ACC TSC_KHZ HZ APPEND V9 CATOUT CATERR QPID QRC
  if [ "$VM_ACCEL" = auto ]; then
    # A kvm_pvm /dev/kvm only runs PVM guest kernels; a stock kernel needs real KVM or TCG.
    if [ -w /dev/kvm ] && [ ! -d /sys/module/kvm_pvm ] && grep -qwE 'vmx|svm' /proc/cpuinfo; then
      VM_ACCEL=kvm
    else
      VM_ACCEL=tcg
    fi
  fi
  case "$VM_ACCEL" in
    kvm) ACC=(-accel kvm -cpu host) ;;
    *) ACC=(-accel tcg,thread=multi -cpu max) ;;
  esac

  # Under TCG the guest's TSC calibration can fail on a busy host: tell it the rate.
  TSC_KHZ=$(awk -F: '/^cpu MHz/{printf "%d", $2*1000; exit}' /proc/cpuinfo)
  HZ=$(sed -n 's/^CONFIG_HZ=//p' "/boot/config-$KVER" 2>/dev/null)
  APPEND="console=ttyS0 quiet loglevel=1 panic=-1 mitigations=off tsc=reliable no_timer_check $VM_APPEND"
  if [ "$VM_ACCEL" != kvm ] && [ -n "$TSC_KHZ" ]; then
    APPEND+=" tsc_early_khz=$TSC_KHZ lpj=$((TSC_KHZ * 1000 / ${HZ:-250}))"
  fi
  APPEND+=" rdinit=/init"

  mkfifo "$CTL/out" "$CTL/err"
  cat "$CTL/out" & CATOUT=$!
  cat "$CTL/err" >&2 & CATERR=$!
  V9=virtio-9p-device
  set +e
  timeout -k 5 "$VM_TIMEOUT" qemu-system-x86_64 -nodefaults -no-user-config -nographic -no-reboot \
    -machine microvm,acpi=on,pit=on,pic=off,rtc=on,isa-serial=on "${ACC[@]}" -smp "$VM_CPUS" -m "$VM_MEM" \
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
  WPID=
  if [ -n "${VM_BOOT_MARK:-}" ]; then
    ( for ((i = 0; i < ${VM_BOOT_TIMEOUT:-300} * 10; i++)); do
        [ -e "$CTL/$VM_BOOT_MARK" ] && exit 0; kill -0 "$QPID" 2>/dev/null || exit 0; sleep 0.1
      done
      : > "$CTL/boot-timeout"; kill "$QPID" 2>/dev/null ) &
    WPID=$!
  fi
  trap 'kill "$QPID" $WPID 2>/dev/null; rm -rf "$CTL"; exit 130' INT TERM HUP
  wait "$QPID"; QRC=$?
  [ -z "$WPID" ] || { kill "$WPID" 2>/dev/null; wait "$WPID" 2>/dev/null; }
  # If qemu never opened a fifo, its cat is still blocked in open(): release it with EOF.
  while kill -0 "$CATOUT" 2>/dev/null || kill -0 "$CATERR" 2>/dev/null; do
    sleep 0.05
    kill -0 "$CATOUT" 2>/dev/null && : <>"$CTL/out"
    kill -0 "$CATERR" 2>/dev/null && : <>"$CTL/err"
  done
  wait "$CATOUT" "$CATERR" 2>/dev/null
  set -e
  if [ "${VM_VERBOSE:-0}" = 1 ]; then
    echo "---- guest console ----" >&2; cat "$CTL/console.log" >&2
    [ -s "$CTL/started" ] && echo "$VM_NAME: COMMAND started at $(cat "$CTL/started") s of guest uptime" >&2
  fi
  if [ -s "$CTL/rc" ]; then
    grep -a '^vm init:' "$CTL/console.log" >&2 || true
    exit "$(cat "$CTL/rc")"
  fi
  if [ -e "$CTL/boot-timeout" ]; then
    echo "$VM_NAME: the guest did not get to COMMAND within ${VM_BOOT_TIMEOUT:-300}s" >&2
    tail -n 30 "$CTL/console.log" >&2 || true; exit 124
  fi
  if [ "$QRC" = 124 ] || [ "$QRC" = 137 ]; then
    echo "$VM_NAME: timed out after ${VM_TIMEOUT}s" >&2; tail -n 30 "$CTL/console.log" >&2 || true; exit 124
  fi
  echo "$VM_NAME: VM exited (qemu $QRC) without a status; console:" >&2
  tail -n 30 "$CTL/console.log" >&2 || true
  exit 125
}
