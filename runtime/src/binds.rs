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
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use nix::fcntl::OFlag;
use nix::sys::stat::Mode;

use crate::channel::{Channel, Msg};
use crate::error::{Context, Error, Result};
use crate::mountopts::MountOptions;
use crate::rootfs::{resolve_create, Kind, Rootfs};
use crate::sys::{self, attr};

impl Rootfs {
    /// Binds `src` (relative to the bundle) onto `dest` in the rootfs. With `chan` (the init
    /// is in a user namespace) the source is cloned by the parent, with the runtime's
    /// credentials, in the init's mount namespace: a source the mapped root cannot reach
    /// still works, and it resolves as the init sees it (after earlier mounts), as in runc.
    pub(crate) fn bind(
        &mut self,
        src: &Path,
        dest: &Path,
        opts: &MountOptions,
        chan: Option<&Channel>,
        idmap: Option<crate::idmap::Request<'_>>,
    ) -> Result<()> {
        let src = if src.is_absolute() {
            src.to_path_buf()
        } else {
            self.bundle.join(src)
        };
        let what = || format!("bind source {}", src.display());
        let tree = match chan {
            Some(chan) => request_source(chan, &src, opts.is_recursive_bind())?,
            None => {
                // O_PATH only: a real open of a FIFO blocks until a writer comes, and opening
                // a device has side effects (a watchdog arms); O_PATH also takes sockets and
                // files we may not read.
                let src_fd =
                    nix::fcntl::open(&src, OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty())
                        .map_err(std::io::Error::from)
                        .ctx(what)?;
                sys::open_tree(src_fd.as_fd(), tree_flags(opts.is_recursive_bind()))
                    .ctx(|| format!("open_tree {}", src.display()))?
            }
        };
        let is_dir = File::from(tree.try_clone().ctx(what)?)
            .metadata()
            .ctx(what)?
            .is_dir();
        let dest_fd = resolve_create(
            self.root.as_fd(),
            dest,
            if is_dir { Kind::Dir } else { Kind::File },
        )?;
        self.note_dest(dest_fd.as_fd());
        if let Some((i, _, chan)) = idmap {
            crate::idmap::request(chan, i, tree.as_fd())?;
        }
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

fn tree_flags(recursive: bool) -> u32 {
    sys::OPEN_TREE_CLONE | if recursive { sys::AT_RECURSIVE } else { 0 }
}

/// Init side: asks the parent for a clone of the bind source `src` (docs/handoff.md).
fn request_source(chan: &Channel, src: &Path, recursive: bool) -> Result<OwnedFd> {
    let ask = Msg::BindSource {
        path: src.to_path_buf(),
        recursive,
    };
    chan.send(&ask)?;
    match chan.recv_fd()? {
        Some((m, Some(fd))) if m == ask => Ok(fd),
        // The parent's error names the source and the errno; mount_all adds the mount.
        Some((Msg::Error(e), _)) => Err(Error::container(e)),
        other => Err(Error::container(format!(
            "sync channel: unexpected {other:?} for a bind source"
        ))),
    }
}

/// Parent side (`hull create`, the runtime's credentials): clones the bind source `src` as
/// the init's mount namespace sees it. A short-lived helper joins that mount namespace
/// (never the user namespace) and calls open_tree(2) there, so the clone keeps the flags
/// the kernel locked for the container's user namespace and belongs to it (the init may
/// set its flags and attach it), while the path walk uses the runtime's permissions.
pub fn clone_source_for(init_pid: i32, src: &Path, recursive: bool) -> Result<OwnedFd> {
    let what = || format!("bind source {}", src.display());
    let mnt = File::open(format!("/proc/{init_pid}/ns/mnt"))
        .ctx(|| "open the container's mount namespace")?;
    let (ours, theirs) = crate::channel::pair()?;
    let helper = sys::clone3(&sys::CloneArgs {
        flags: 0,
        cgroup: None,
    })
    .ctx(|| "fork bind-source helper")?;
    let Some(helper) = helper else {
        drop(ours);
        let r = nix::sched::setns(mnt.as_fd(), nix::sched::CloneFlags::CLONE_NEWNS)
            .ctx(|| "join the container's mount namespace")
            .and_then(|_| {
                let fd = nix::fcntl::open(src, OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty())
                    .map_err(std::io::Error::from)
                    .ctx(what)?;
                sys::open_tree(fd.as_fd(), tree_flags(recursive))
                    .ctx(|| format!("open_tree {}", src.display()))
            });
        let _ = match r {
            Ok(tree) => theirs.send_fd(
                &Msg::BindSource {
                    path: src.to_path_buf(),
                    recursive,
                },
                tree.as_fd(),
            ),
            Err(e) => theirs.send(&Msg::Error(e.to_string())),
        };
        sys::exit_now(0)
    };
    drop(theirs);
    let got = ours.recv_fd();
    let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(helper), None);
    match got? {
        Some((Msg::BindSource { .. }, Some(fd))) => Ok(fd),
        Some((Msg::Error(e), _)) => Err(Error::container(e)),
        other => Err(Error::container(format!(
            "bind-source helper: unexpected {other:?}"
        ))),
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
