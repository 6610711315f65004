//! Bind mounts (`bind`/`rbind`, or type `bind`): the source is cloned with open_tree(2),
//! given its flags with mount_setattr(2) while still detached, and attached by fd onto a
//! destination resolved inside the rootfs.
//!
//! Flags follow runc's remount of a bind: options naming a flag give the mount exactly those
//! flags (`bind,nosuid` clears the source's ro/nodev/noexec; rw is implied), while a bind
//! naming none keeps the source's. In a user namespace the kernel locks the flags a mount
//! from outside it carries; like runc, hull then keeps them (retries without clearing them),
//! unless the options clear one by name, which cannot be honoured and is an error.

use std::fs::File;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::Path;

use nix::fcntl::OFlag;
use nix::sys::stat::Mode;

use crate::error::{Context, Error, Result};
use crate::mountopts::MountOptions;
use crate::rootfs::{resolve_create, Kind, Rootfs};
use crate::sys::{self, attr};

impl Rootfs {
    pub(crate) fn bind(&self, src: &Path, dest: &Path, opts: &MountOptions) -> Result<()> {
        let src = if src.is_absolute() {
            src.to_path_buf()
        } else {
            self.bundle.join(src)
        };
        let what = || format!("bind source {}", src.display());
        // O_PATH only: a real open of a FIFO blocks until a writer comes, and opening a
        // device has side effects (a watchdog arms); O_PATH also takes sockets and files
        // we may not read.
        let src_fd = nix::fcntl::open(&src, OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty())
            .map(File::from)
            .map_err(std::io::Error::from)
            .ctx(what)?;
        let is_dir = src_fd.metadata().ctx(what)?.is_dir();
        let dest_fd = resolve_create(
            self.root.as_fd(),
            dest,
            if is_dir { Kind::Dir } else { Kind::File },
        )?;
        let flags = sys::OPEN_TREE_CLONE
            | if opts.is_recursive_bind() {
                sys::AT_RECURSIVE
            } else {
                0
            };
        let tree =
            sys::open_tree(src_fd.as_fd(), flags).ctx(|| format!("open_tree {}", src.display()))?;
        set_bind_attrs(tree.as_fd(), opts)?;
        if opts.rec_set | opts.rec_clr != 0 {
            sys::mount_setattr(
                tree.as_fd(),
                sys::AT_RECURSIVE,
                opts.rec_set,
                opts.rec_clr,
                0,
            )
            .ctx(|| "set recursive mount attributes")?;
        }
        sys::move_mount(tree.as_fd(), dest_fd.as_fd())
            .ctx(|| format!("move_mount {} onto {}", src.display(), dest.display()))?;
        for p in &opts.propagation {
            let rec = if p & libc::MS_REC != 0 {
                sys::AT_RECURSIVE
            } else {
                0
            };
            sys::mount_setattr(tree.as_fd(), rec, 0, 0, p & !libc::MS_REC)
                .ctx(|| "set mount propagation")?;
        }
        Ok(())
    }
}

/// Applies the bind's per-mount flags to the detached `tree`, keeping flags the kernel locked.
fn set_bind_attrs(tree: BorrowedFd<'_>, opts: &MountOptions) -> Result<()> {
    let (set, clr) = opts.bind_attrs();
    if set | clr == 0 {
        return Ok(());
    }
    let e = match sys::mount_setattr(tree, 0, set, clr, 0) {
        Ok(()) => return Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => e,
        Err(e) => return Err(e).ctx(|| "set bind mount attributes"),
    };
    // EPERM: some flag of the source is locked. Which ones the source has set is what
    // statvfs reports; every one of them may be locked.
    let held = held_attrs(tree).ctx(|| "statvfs bind source")?;
    let refused = held & clr & opts.explicitly_cleared();
    if refused != 0 {
        return Err(Error::Sys {
            what: format!(
                "cannot clear {}: locked on the source mount, which comes from outside the \
                 container's user namespace",
                attr_names(refused)
            ),
            source: e,
        });
    }
    sys::mount_setattr(tree, 0, set, clr & !held, 0).ctx(|| {
        format!(
            "set bind mount attributes (keeping the source's locked {})",
            attr_names(held)
        )
    })
}

/// The per-mount flags `fd`'s mount has, as `MOUNT_ATTR_*` bits.
fn held_attrs(fd: BorrowedFd<'_>) -> std::io::Result<u64> {
    use nix::sys::statvfs::FsFlags;
    let f = nix::sys::statvfs::fstatvfs(fd)?.flags();
    Ok([
        (FsFlags::ST_RDONLY, attr::RDONLY),
        (FsFlags::ST_NOSUID, attr::NOSUID),
        (FsFlags::ST_NODEV, attr::NODEV),
        (FsFlags::ST_NOEXEC, attr::NOEXEC),
        (FsFlags::ST_NODIRATIME, attr::NODIRATIME),
    ]
    .iter()
    .filter(|(st, _)| f.contains(*st))
    .fold(0, |acc, (_, a)| acc | a))
}

/// `nodev, nosuid` for a set of `MOUNT_ATTR_*` bits, in mount(8)'s words.
fn attr_names(bits: u64) -> String {
    [
        (attr::RDONLY, "ro"),
        (attr::NOSUID, "nosuid"),
        (attr::NODEV, "nodev"),
        (attr::NOEXEC, "noexec"),
        (attr::NODIRATIME, "nodiratime"),
        (attr::NOSYMFOLLOW, "nosymfollow"),
    ]
    .iter()
    .filter(|(a, _)| bits & a != 0)
    .map(|(_, n)| *n)
    .collect::<Vec<_>>()
    .join(", ")
}
