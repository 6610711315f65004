//! `linux.maskedPaths` and `linux.readonlyPaths`: both resolved inside the rootfs by fd,
//! after the mounts and devices, before pivot_root. A path listed twice is handled once
//! (runc's behaviour: masking twice would stack a second cover for nothing).

use std::collections::HashSet;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use nix::fcntl::OFlag;

use crate::error::{Context, Result};
use crate::rootfs::{open_in_root, Rootfs};
use crate::sys::{self, attr};

/// `paths` without repeats, in their first order.
fn unique(paths: &[String]) -> Vec<&str> {
    let mut seen: HashSet<&Path> = HashSet::new();
    // Path's equality compares components: `/b` and `/b/` are one path.
    paths
        .iter()
        .map(String::as_str)
        .filter(|p| seen.insert(Path::new(*p)))
        .collect()
}

impl Rootfs {
    /// Step 3: `linux.maskedPaths`. Files are covered by the host's /dev/null (checked to be
    /// the real 1:3 char device, so an image cannot substitute a symlink: CVE-2025-31133),
    /// directories by an empty read-only tmpfs: one, bound onto each of them (as runc 1.5
    /// and crun do), since nothing can be written to it. A tmpfs per directory was a new
    /// superblock and five syscalls more each. Missing paths are skipped.
    pub fn mask(&self, paths: &[String], devnull: BorrowedFd<'_>) -> Result<()> {
        // The first masked directory, once covered: the tmpfs the others get a bind of.
        let mut shared: Option<OwnedFd> = None;
        for p in unique(paths) {
            let fd = match open_in_root(
                self.root.as_fd(),
                Path::new(p),
                OFlag::O_PATH | OFlag::O_NOFOLLOW,
            ) {
                Ok(fd) => fd,
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => continue,
                Err(e) => return Err(e).ctx(|| format!("linux.maskedPaths {p}")),
            };
            let is_dir = nix::sys::stat::fstat(fd.as_fd())
                .map(|s| s.st_mode & libc::S_IFMT == libc::S_IFDIR)
                .ctx(|| format!("stat {p}"))?;
            let cover = match (is_dir, &shared) {
                // A bind of the attached tmpfs (a detached one cannot be cloned on every
                // kernel); it keeps the tmpfs's read-only mount flags.
                (true, Some(t)) => sys::open_tree(t.as_fd(), sys::OPEN_TREE_CLONE),
                (true, None) => sys::fsmount(
                    "tmpfs",
                    &["size=0", "mode=755"],
                    attr::RDONLY | attr::NOSUID | attr::NODEV | attr::NOEXEC,
                ),
                (false, _) => sys::open_tree(devnull, sys::OPEN_TREE_CLONE),
            }
            .ctx(|| format!("mask {p}"))?;
            sys::move_mount(cover.as_fd(), fd.as_fd()).ctx(|| format!("mask {p}"))?;
            if is_dir && shared.is_none() {
                shared = Some(cover);
            }
        }
        Ok(())
    }

    /// Step 4: `linux.readonlyPaths`: each becomes a recursive read-only bind of itself.
    pub fn readonly(&self, paths: &[String]) -> Result<()> {
        for p in unique(paths) {
            let fd = match open_in_root(self.root.as_fd(), Path::new(p), OFlag::O_PATH) {
                Ok(fd) => fd,
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => continue,
                Err(e) => return Err(e).ctx(|| format!("linux.readonlyPaths {p}")),
            };
            let tree = sys::open_tree(fd.as_fd(), sys::OPEN_TREE_CLONE | sys::AT_RECURSIVE)
                .ctx(|| format!("readonly {p}"))?;
            sys::mount_setattr(tree.as_fd(), sys::AT_RECURSIVE, attr::RDONLY, 0, 0)
                .ctx(|| format!("readonly {p}"))?;
            sys::move_mount(tree.as_fd(), fd.as_fd()).ctx(|| format!("readonly {p}"))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn repeats_are_dropped_in_order() {
        let v: Vec<String> = ["/a", "/b", "/a", "/b/", "/c"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(super::unique(&v), ["/a", "/b", "/c"]);
    }
}
