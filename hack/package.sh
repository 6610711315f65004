#!/usr/bin/env bash
# Builds hull's Debian package in one command: target/hull_<version>_amd64.deb, with
#   /usr/bin/hull                       the static binary (hack/build.sh)
#   /usr/share/man/man8/hull*.8.gz      man pages      } rendered from the clap definitions
#   bash, zsh and fish completions                     } `hull --help` prints (cli/examples/gen-docs.rs)
#   /usr/share/doc/hull/                README, docs, license, copyright, and examples/: the
#                                       engine drop-ins (packaging/examples/) hack/engines/ runs
# No debhelper: dpkg-deb alone, files owned by root. The version is the workspace's plus the
# commit (0.1.0+git20261203.3d7747d), so every build of a new commit upgrades the last.
# Maintainer scripts: none. The package registers hull with no engine by itself: an
# operator copies the drop-in they want (README's "Install").
set -euo pipefail
cd "$(dirname "$0")/.."

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)
if [ "$commit" != unknown ]; then
  date=$(git log -1 --format=%cd --date=format:%Y%m%d)
  debver="$version+git$date.${commit:0:7}"
  mandate=$(git log -1 --format=%cs)
else
  debver=$version; mandate=$(date -u +%F)
fi
arch=$(dpkg --print-architecture)
deb=target/hull_${debver}_${arch}.deb

hack/build.sh
# The generator is an example of the cli crate (its dependencies stay out of target/hull).
gen=target/pkg-gen
rm -rf "$gen"
cargo run -q -p hull --example gen-docs -- "$gen" "$mandate"

root=target/pkg-root
rm -rf "$root"
install -D -m 0755 target/hull "$root/usr/bin/hull"
mkdir -p "$root/usr/share/man/man8"
for m in "$gen"/man/*.8; do gzip -9n <"$m" >"$root/usr/share/man/man8/$(basename "$m").gz"; done
install -D -m 0644 "$gen/completions/hull.bash" "$root/usr/share/bash-completion/completions/hull"
install -D -m 0644 "$gen/completions/_hull" "$root/usr/share/zsh/vendor-completions/_hull"
install -D -m 0644 "$gen/completions/hull.fish" "$root/usr/share/fish/vendor_completions.d/hull.fish"
doc=$root/usr/share/doc/hull
install -D -m 0644 README.md LICENSE packaging/copyright -t "$doc"
install -D -m 0644 docs/*.md -t "$doc/docs"
install -D -m 0644 packaging/examples/* -t "$doc/examples"

mkdir -p "$root/DEBIAN"
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
# No Depends: the binary is static. criu is not recommended: hull has no checkpoint/restore.
cat >"$root/DEBIAN/control" <<CONTROL
Package: hull
Version: $debver
Architecture: $arch
Maintainer: hull maintainers <root@localhost>
Installed-Size: $size
Section: admin
Priority: optional
Description: fast, safe OCI container runtime (a drop-in replacement for runc)
 hull creates and runs containers from OCI bundles with runc's command line, exit codes,
 state JSON, log format and console-socket protocol, so containerd, Docker, podman and
 Kubernetes (through containerd) drive it as they drive runc.
 .
 This package installs /usr/bin/hull (statically linked), its man pages, bash, zsh and
 fish completions, and example drop-ins in /usr/share/doc/hull/examples/ that register
 hull with containerd, Docker, podman and buildah.
CONTROL
(cd "$root" && find usr -type f -exec md5sum {} + | sort -k2) >"$root/DEBIAN/md5sums"
# Directories 0755 and files 0644 whatever the umask of the checkout (the binary keeps 0755).
find "$root" -type d -exec chmod 0755 {} +
find "$root/usr/share" "$root/DEBIAN" -type f -exec chmod 0644 {} +
rm -f target/hull_*.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "built $deb ($(du -k "$deb" | cut -f1) KB; hull $(stat -c %s target/hull) bytes)"
