#!/usr/bin/env bash
# Makes an OCI bundle with a busybox root filesystem: hack/mkbundle.sh DIR [HULL_BINARY]
# The config is `hull spec`'s default with terminal off and a command that prints the
# hostname, so it runs anywhere (CI has no terminal).
set -euo pipefail
dir=${1:?usage: hack/mkbundle.sh DIR [HULL_BINARY]}
hull=$(realpath "${2:-$(dirname "$0")/../target/hull}")
busybox=$(command -v busybox || true)
[ -n "$busybox" ] || { echo "busybox not found: run hack/deps.sh" >&2; exit 1; }
file -L "$busybox" 2>/dev/null | grep -q 'statically linked' || ldd "$busybox" 2>&1 | grep -q 'not a dynamic' || {
  echo "$busybox is not static: install busybox-static (hack/deps.sh)" >&2; exit 1; }
rm -rf "$dir"
mkdir -p "$dir/rootfs"/{bin,etc,dev,proc,sys,tmp,root}
cp "$busybox" "$dir/rootfs/bin/busybox"
for applet in $("$busybox" --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$dir/rootfs/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$dir/rootfs/etc/passwd"
printf 'root:x:0:\ntty:x:5:\nnogroup:x:65534:\n' > "$dir/rootfs/etc/group"
(cd "$dir" && "$hull" spec)
python3 - "$dir/config.json" <<'PY'
import json, sys
p = sys.argv[1]
c = json.load(open(p))
c["process"]["terminal"] = False
c["process"]["args"] = ["sh", "-c", "echo hello from $(hostname)"]
json.dump(c, open(p, "w"), indent=2)
PY
echo "bundle ready: $dir"
