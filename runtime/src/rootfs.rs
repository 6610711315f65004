//! The container's root filesystem: propagation, `mounts[]` in order, masked and read-only
//! paths, pivot_root, `root.readonly` and `rootfsPropagation`.
//!
//! Safety rule (CVE-2021-30465 and friends): every destination is resolved *inside* the
//! rootfs with `openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)`, created there if missing,
//! and mounted onto by file descriptor (move_mount(2), or mount(2) on /proc/self/fd/N),
//! so a symlink in the image can never point a mount at the host.

use std::fs::File;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path};

use nix::fcntl::OFlag;
use nix::sys::stat::Mode;
use oci_spec::runtime::Mount;

use crate::channel::Channel;
use crate::error::{Context, Error, Result};
use crate::mountopts::MountOptions;
use crate::sys::{self, attr};

const IN_ROOT: u64 = sys::RESOLVE_IN_ROOT | sys::RESOLVE_NO_MAGICLINKS;

/// What to create when a destination is missing.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Dir,
    File,
}

fn rel(path: &Path) -> String {
    let s = path.to_string_lossy();
    let t = s.trim_start_matches('/');
    if t.is_empty() {
        ".".into()
    } else {
        t.into()
    }
}

/// Opens `path` (absolute inside the container) relative to `root`, never leaving it.
pub fn open_in_root(root: BorrowedFd<'_>, path: &Path, flags: OFlag) -> std::io::Result<OwnedFd> {
    sys::openat2(root, &rel(path), flags.bits(), 0, IN_ROOT)
}

/// Resolves `path` inside `root`, creating missing directories (0755) and, for
/// [`Kind::File`], an empty file as the last component. Returns an `O_PATH` fd.
/// A dangling symlink on the way is followed *inside* the rootfs and its target created
/// there, as runc does; nothing outside the rootfs is ever created or opened.
pub fn resolve_create(root: BorrowedFd<'_>, path: &Path, kind: Kind) -> Result<OwnedFd> {
    resolve_create_depth(root, path, kind, 0)
}

fn resolve_create_depth(
    root: BorrowedFd<'_>,
    path: &Path,
    kind: Kind,
    depth: u32,
) -> Result<OwnedFd> {
    let what = || format!("resolve {} in rootfs", path.display());
    if depth > 40 {
        return Err(Error::Sys {
            what: what(),
            source: std::io::Error::from_raw_os_error(libc::ELOOP),
        });
    }
    let want = if kind == Kind::Dir {
        OFlag::O_PATH | OFlag::O_DIRECTORY
    } else {
        OFlag::O_PATH
    };
    match open_in_root(root, path, want) {
        Ok(fd) => return Ok(fd),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
        Err(e) => return Err(e).ctx(what),
    }
    // Walk down. `prefix` is what exists (re-resolved from the root at each step, so a
    // symlink met on the way stays confined to the rootfs); `missing` is what must be made
    // under it. `..` is kept for the kernel to resolve after an existing component (clamped
    // at the rootfs by RESOLVE_IN_ROOT), and is lexical after a missing one, which cannot be
    // a symlink: the same answer as runc's SecureJoin.
    let mut prefix = std::path::PathBuf::from("/");
    let mut missing: Vec<&std::ffi::OsStr> = Vec::new();
    let comps: Vec<_> = path
        .components()
        .filter(|c| matches!(c, Component::Normal(_) | Component::ParentDir))
        .collect();
    for (i, c) in comps.iter().enumerate() {
        let Component::Normal(name) = c else {
            if missing.pop().is_none() {
                prefix.push("..");
            }
            continue;
        };
        if !missing.is_empty() {
            missing.push(name);
            continue;
        }
        match open_in_root(root, &prefix.join(name), OFlag::O_PATH) {
            Ok(_) => {
                prefix.push(name);
                continue;
            }
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
            Err(e) => return Err(e).ctx(what),
        }
        let parent = open_in_root(root, &prefix, OFlag::O_PATH | OFlag::O_DIRECTORY).ctx(what)?;
        if let Ok(target) = nix::fcntl::readlinkat(parent.as_fd(), *name) {
            // A dangling link: continue from its target, still relative to the rootfs.
            let mut next = if Path::new(&target).is_absolute() {
                std::path::PathBuf::from(&target)
            } else {
                prefix.join(&target)
            };
            for rest in &comps[i + 1..] {
                next.push(rest);
            }
            return resolve_create_depth(root, &next, kind, depth + 1);
        }
        missing.push(name);
    }
    let n = missing.len();
    for (i, name) in missing.into_iter().enumerate() {
        let parent = open_in_root(root, &prefix, OFlag::O_PATH | OFlag::O_DIRECTORY).ctx(what)?;
        prefix.push(name);
        if i + 1 == n && kind == Kind::File {
            let f = sys::openat2(
                parent.as_fd(),
                &name.to_string_lossy(),
                (OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_WRONLY | OFlag::O_NOFOLLOW).bits(),
                0o644,
                IN_ROOT,
            );
            match f {
                Ok(_) => {}
                Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {}
                Err(e) => {
                    return Err(e).ctx(|| format!("create file {} in rootfs", prefix.display()))
                }
            }
        } else {
            match nix::sys::stat::mkdirat(parent.as_fd(), name, Mode::from_bits_truncate(0o755)) {
                Ok(()) | Err(nix::errno::Errno::EEXIST) => {}
                Err(e) => return Err(e).ctx(|| format!("mkdir {} in rootfs", prefix.display())),
            }
        }
    }
    open_in_root(root, &prefix, want).ctx(what)
}

/// The root filesystem being assembled in the init's new mount namespace.
pub struct Rootfs {
    /// `O_PATH` fd of the rootfs bind mount.
    pub root: OwnedFd,
    pub(crate) rootfs: std::path::PathBuf,
    pub(crate) bundle: std::path::PathBuf,
    /// Some mount binds /dev from elsewhere: default devices are then not created.
    pub dev_is_bound: bool,
    /// A devpts is mounted at /dev/pts (so /dev/ptmx becomes a link into it).
    pub has_devpts: bool,
    /// `linux.mountLabel`: the SELinux context new filesystems are mounted with.
    pub mount_label: Option<String>,
    /// A `/dev` mount asked to be read-only: mounted rw so its nodes can be made, then
    /// remounted read-only by [`Rootfs::seal_dev`] (runc does the same).
    pub dev_readonly: bool,
    /// In a user namespace, the parent (root on the host) clones bind sources for us
    /// (binds.rs); false when hull is a user, who cannot enter our mount namespace from
    /// outside: the init binds the sources itself then.
    pub parent_binds: bool,
    /// Set when a mount's destination was the rootfs itself: `root` must be reopened.
    pub(crate) on_root: bool,
}

/// Step 1 (before any mount): make the mount tree private to us and bind the rootfs onto
/// itself, so it is a mount point pivot_root accepts.
pub fn prepare(rootfs: &Path, bundle: &Path, propagation: Option<&str>) -> Result<Rootfs> {
    // Host mounts must not see ours: rslave (or rprivate when asked) before anything else.
    let flag = match propagation.unwrap_or("") {
        "private" | "rprivate" | "unbindable" | "runbindable" => libc::MS_PRIVATE,
        _ => libc::MS_SLAVE,
    };
    sys::mount(None, "/", None, flag | libc::MS_REC, None)
        .ctx(|| "make / rslave in the container mount namespace")?;
    let r = rootfs.to_string_lossy();
    sys::mount(Some(&r), &r, None, libc::MS_BIND | libc::MS_REC, None)
        .ctx(|| format!("bind mount rootfs {r}"))?;
    let root = sys::openat2(cwd(), &r, (OFlag::O_PATH | OFlag::O_DIRECTORY).bits(), 0, 0)
        .ctx(|| format!("open rootfs {r}"))?;
    Ok(Rootfs {
        root,
        rootfs: rootfs.into(),
        bundle: bundle.into(),
        dev_is_bound: false,
        has_devpts: false,
        mount_label: None,
        dev_readonly: false,
        parent_binds: false,
        on_root: false,
    })
}

fn cwd() -> BorrowedFd<'static> {
    // SAFETY-free: AT_FDCWD is a constant the kernel interprets, never a real fd to close.
    nix::fcntl::AT_FDCWD
}

impl Rootfs {
    /// Step 2: every `mounts[]` entry, in order. In a user namespace bind sources are
    /// cloned by the parent when it can ([`Rootfs::parent_binds`], binds.rs); id-mapped
    /// mounts are mapped by it (idmap.rs).
    pub fn mount_all(&mut self, mounts: &[Mount], userns: bool, chan: &Channel) -> Result<()> {
        for (i, m) in mounts.iter().enumerate() {
            let at = || format!("mounts[{i}] {}", m.destination().display());
            let idmap = crate::idmap::requested(m).map(|rec| (i, rec, chan));
            let chan = (userns && self.parent_binds).then_some(chan);
            self.mount_one(m, userns, chan, idmap)
                .map_err(|e| match e {
                    Error::Sys { what, source } => Error::Sys {
                        what: format!("{}: {what}", at()),
                        source,
                    },
                    Error::Container(msg) => Error::Container(format!("{}: {msg}", at())),
                    other => other,
                })?;
            // A mount may have landed on the rootfs itself (destination `/`, or a link to
            // it): later mounts, and pivot_root, go onto the topmost one, as in runc, which
            // walks the rootfs path for each mount. The path is the host's, and nothing of
            // the container runs yet to race it. Only then: a walk of the host path per
            // mount was a fifth of each mount's cost.
            if !std::mem::take(&mut self.on_root) {
                continue;
            }
            let r = self.rootfs.to_string_lossy();
            self.root = sys::openat2(cwd(), &r, (OFlag::O_PATH | OFlag::O_DIRECTORY).bits(), 0, 0)
                .ctx(|| format!("reopen rootfs {r}"))?;
        }
        Ok(())
    }

    fn mount_one(
        &mut self,
        m: &Mount,
        userns: bool,
        chan: Option<&Channel>,
        idmap: Option<crate::idmap::Request<'_>>,
    ) -> Result<()> {
        let mut opts = MountOptions::parse(m.options().as_deref().unwrap_or(&[]));
        let ty = m.typ().as_deref().unwrap_or("");
        let dest = m.destination();
        let is_bind = opts.is_bind() || ty == "bind";
        if is_bind {
            if dest == Path::new("/dev") {
                self.dev_is_bound = true;
            }
            let src = m.source().as_deref().ok_or_else(|| {
                Error::config(
                    "mounts[].source",
                    format!("missing for bind mount {}", dest.display()),
                )
            })?;
            return self.bind(src, dest, &opts, chan, idmap);
        }
        if ty == "cgroup" || ty == "cgroup2" {
            let fd = resolve_create(self.root.as_fd(), dest, Kind::Dir)?;
            self.note_dest(fd.as_fd());
            return mount_cgroup_at(fd.as_fd(), opts.flags & libc::MS_RDONLY != 0);
        }
        if ty == "devpts" && dest == Path::new("/dev/pts") {
            self.has_devpts = true;
        }
        if ty == "proc" || ty == "sysfs" {
            self.check_plain_dir(ty, dest)?;
        }
        if dest == Path::new("/dev") && opts.flags & libc::MS_RDONLY != 0 {
            opts.flags &= !libc::MS_RDONLY;
            self.dev_readonly = true;
        }
        // A tmpfs over an existing directory keeps that directory's mode unless the options
        // say otherwise (runc prepends `mode=` the same way: a later `mode=` wins).
        // The directory found here is also the destination (one walk, not two).
        let existing = match ty {
            "tmpfs" => {
                open_in_root(self.root.as_fd(), dest, OFlag::O_PATH | OFlag::O_DIRECTORY).ok()
            }
            _ => None,
        };
        let kept_mode = existing
            .as_ref()
            .and_then(|fd| nix::sys::stat::fstat(fd.as_fd()).ok())
            .map(|st| st.st_mode & 0o7777);
        let data = match kept_mode {
            Some(mode) if opts.data.is_empty() => format!("mode={mode:04o}"),
            Some(mode) => format!("mode={mode:04o},{}", opts.data),
            None => opts.data.clone(),
        };
        let data = crate::lsm::mount_data(&data, ty, self.mount_label.as_deref());
        let fd = match existing {
            Some(fd) => fd,
            None => resolve_create(self.root.as_fd(), dest, Kind::Dir)?,
        };
        self.note_dest(fd.as_fd());
        let source = m
            .source()
            .as_ref()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| ty.to_string());
        let lower = if opts.tmpcopyup {
            Some(
                open_in_root(
                    self.root.as_fd(),
                    dest,
                    OFlag::O_RDONLY | OFlag::O_DIRECTORY,
                )
                .ctx(|| "open tmpcopyup source")?,
            )
        } else {
            None
        };
        let res = sys::mount(
            Some(&source),
            &sys::fd_path(fd.as_fd()),
            Some(ty),
            opts.fs_flags(),
            Some(&data),
        );
        match res {
            Ok(()) => {}
            // In a user namespace that does not own the network namespace the kernel refuses
            // a new sysfs; bind the host's instead, as runc does.
            Err(e) if ty == "sysfs" && userns && e.raw_os_error() == Some(libc::EPERM) => {
                // Recursively: the host's submounts (its cgroup trees) come along with
                // the bind and must not stay writable under a sysfs asked to be read-only.
                let mut words = vec!["rbind", "rnosuid", "rnoexec", "rnodev"];
                if opts.flags & libc::MS_RDONLY != 0 {
                    words.push("rro");
                }
                let o = MountOptions::parse(&words);
                return self.bind(Path::new("/sys"), dest, &o, chan, None);
            }
            Err(e) if opts.data.is_empty() => return Err(e).ctx(|| format!("mount {ty} {source}")),
            Err(e) => return Err(e).ctx(|| format!("mount {ty} {source} (data {:?})", opts.data)),
        }
        if let Some(req) = idmap {
            crate::idmap::replace_mount(self.root.as_fd(), dest, fd.as_fd(), req)?;
        }
        if opts.fs_flags() & libc::MS_REMOUNT != 0 {
            return Ok(());
        }
        if opts.rec_set | opts.rec_clr != 0 || !opts.propagation.is_empty() || lower.is_some() {
            let top = open_in_root(self.root.as_fd(), dest, OFlag::O_PATH | OFlag::O_DIRECTORY)
                .ctx(|| "reopen new mount")?;
            if opts.rec_set | opts.rec_clr != 0 {
                sys::mount_setattr(
                    top.as_fd(),
                    sys::AT_RECURSIVE,
                    opts.rec_set,
                    opts.rec_clr,
                    0,
                )
                .ctx(|| "set recursive mount attributes")?;
            }
            for p in &opts.propagation {
                sys::mount(None, &sys::fd_path(top.as_fd()), None, *p, None)
                    .ctx(|| "set mount propagation")?;
            }
            if let Some(lower) = lower {
                let upper = open_in_root(
                    self.root.as_fd(),
                    dest,
                    OFlag::O_RDONLY | OFlag::O_DIRECTORY,
                )
                .ctx(|| "open tmpcopyup target")?;
                copy_tree(lower.as_fd(), upper.as_fd()).ctx(|| "tmpcopyup")?;
            }
        }
        Ok(())
    }

    /// Records whether `dest` (resolved, about to be mounted on) is the rootfs itself.
    pub(crate) fn note_dest(&mut self, dest: BorrowedFd<'_>) {
        let id = |fd| nix::sys::stat::fstat(fd).map(|s| (s.st_dev, s.st_ino));
        match (id(dest), id(self.root.as_fd())) {
            (Ok(a), Ok(b)) if a != b => {}
            // Unknown counts as the root: a reopen too many costs a path walk, nothing more.
            _ => self.on_root = true,
        }
    }

    /// runc's rule for proc and sysfs: the destination, if it exists, must be a directory
    /// itself, not a symlink to one (an old attack path: the kernel would mount through it).
    fn check_plain_dir(&self, ty: &str, dest: &Path) -> Result<()> {
        let fd = match open_in_root(self.root.as_fd(), dest, OFlag::O_PATH | OFlag::O_NOFOLLOW) {
            Ok(fd) => fd,
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(()),
            Err(e) => return Err(e).ctx(|| format!("open {} in rootfs", dest.display())),
        };
        let st = nix::sys::stat::fstat(fd.as_fd()).ctx(|| format!("stat {}", dest.display()))?;
        if st.st_mode & libc::S_IFMT != libc::S_IFDIR {
            return Err(Error::container(format!(
                "filesystem {ty:?} must be mounted on an ordinary directory"
            )));
        }
        Ok(())
    }

    /// After the devices are made: a `/dev` mount asked to be read-only becomes so.
    pub fn seal_dev(&self) -> Result<()> {
        if !self.dev_readonly {
            return Ok(());
        }
        let dev = open_in_root(
            self.root.as_fd(),
            Path::new("/dev"),
            OFlag::O_PATH | OFlag::O_DIRECTORY,
        )
        .ctx(|| "open /dev in rootfs")?;
        sys::mount_setattr(dev.as_fd(), 0, attr::RDONLY, 0, 0).ctx(|| "remount /dev read-only")
    }

    /// Step 5: switch to the new root. pivot_root(".", ".") stacks the old root on the new
    /// one; it is made rslave (so the unmount does not propagate to the host) and detached.
    pub fn pivot(&self, no_pivot: bool) -> Result<()> {
        nix::unistd::fchdir(self.root.as_fd())
            .ctx(|| format!("chdir to rootfs {}", self.rootfs.display()))?;
        if no_pivot {
            self.hide_full_proc_and_sys()?;
            sys::mount(Some("."), "/", None, libc::MS_MOVE, None)
                .ctx(|| "move rootfs to / (--no-pivot)")?;
            nix::unistd::chroot(".").ctx(|| "chroot (--no-pivot)")?;
        } else {
            // The old root must be addressed through a directory of its own: after
            // pivot_root(".", ".") our cwd is still the *new* root's dentry, and "." does not
            // cross onto the old root stacked on it, so rslave on "." would hit the new root
            // recursively and wipe the propagation every mounts[] entry asked for.
            let old_root = sys::openat2(
                cwd(),
                "/",
                (OFlag::O_PATH | OFlag::O_DIRECTORY).bits(),
                0,
                0,
            )
            .ctx(|| "open old root")?;
            sys::pivot_root_dot().ctx(|| "pivot_root")?;
            nix::unistd::fchdir(old_root.as_fd()).ctx(|| "chdir to old root")?;
            sys::mount(None, ".", None, libc::MS_SLAVE | libc::MS_REC, None)
                .ctx(|| "make old root rslave")?;
            sys::umount2(".", libc::MNT_DETACH).ctx(|| "detach old root")?;
        }
        nix::unistd::chdir("/").ctx(|| "chdir /")
    }

    /// Step 6 (after pivot): `root.readonly` and `linux.rootfsPropagation`.
    pub fn finish(readonly: bool, propagation: Option<&str>) -> Result<()> {
        match propagation.unwrap_or("") {
            // Done by `prepare`, before the mounts: redone here it would wipe the
            // propagation each mounts[] entry asked for (runc skips it the same way).
            "" | "private" | "rprivate" => {}
            // A peer group of its own, no longer a slave of the host: made private first,
            // or the shared root would still receive the host's mounts (`shared,slave`).
            p @ ("shared" | "rshared") => {
                sys::mount(None, "/", None, libc::MS_PRIVATE, None)
                    .ctx(|| format!("linux.rootfsPropagation {p}"))?;
                let rec = if p == "rshared" { libc::MS_REC } else { 0 };
                sys::mount(None, "/", None, libc::MS_SHARED | rec, None)
                    .ctx(|| format!("linux.rootfsPropagation {p}"))?;
            }
            p => {
                let flag = MountOptions::parse(&[p])
                    .propagation
                    .first()
                    .copied()
                    .unwrap_or(libc::MS_SLAVE | libc::MS_REC);
                sys::mount(None, "/", None, flag, None)
                    .ctx(|| format!("linux.rootfsPropagation {p}"))?;
            }
        }
        if readonly {
            let root = sys::openat2(
                cwd(),
                "/",
                (OFlag::O_PATH | OFlag::O_DIRECTORY).bits(),
                0,
                0,
            )
            .ctx(|| "open /")?;
            sys::mount_setattr(root.as_fd(), 0, attr::RDONLY, 0, 0)
                .ctx(|| "root.readonly: remount / read-only")?;
        }
        Ok(())
    }
}

/// Mounts the cgroup filesystem onto the directory `dest` (an fd resolved in the rootfs).
///
/// [`crate::cgroups::mount::mount_cgroupfs`] works on paths (a v1 tree is a tmpfs with a mount
/// per hierarchy and links between them), and a path under the rootfs is not stable: a
/// destination inside a volume that another container shares can be swapped for a symlink
/// at any moment, and every later path operation would follow it to the host
/// (CVE-2021-30465). So it gets a path nobody else can change: a scratch tmpfs of our own is
/// put on `dest` by fd, the tree is built in a directory of it reached through
/// /proc/self/fd, and a copy of the finished tree replaces the scratch tmpfs, again by fd.
fn mount_cgroup_at(dest: BorrowedFd<'_>, readonly: bool) -> Result<()> {
    let scratch = sys::fsmount(
        "tmpfs",
        &["mode=700"],
        attr::NOSUID | attr::NODEV | attr::NOEXEC,
    )
    .ctx(|| "cgroup mount: scratch tmpfs")?;
    sys::move_mount(scratch.as_fd(), dest).ctx(|| "cgroup mount: attach scratch tmpfs")?;
    let built = (|| -> Result<OwnedFd> {
        nix::sys::stat::mkdirat(scratch.as_fd(), "tree", Mode::from_bits_truncate(0o755))
            .ctx(|| "cgroup mount: mkdir in scratch tmpfs")?;
        let path = format!("{}/tree", sys::fd_path(scratch.as_fd()));
        crate::cgroups::mount::mount_cgroupfs(Path::new(&path), readonly)?;
        // Looking up `tree` from the scratch root steps into what was mounted on it.
        let top = sys::openat2(
            scratch.as_fd(),
            "tree",
            (OFlag::O_PATH | OFlag::O_DIRECTORY).bits(),
            0,
            0,
        )
        .ctx(|| "cgroup mount: open the built tree")?;
        sys::open_tree(top.as_fd(), sys::OPEN_TREE_CLONE | sys::AT_RECURSIVE)
            .ctx(|| "cgroup mount: copy the built tree")
    })();
    // The scratch tmpfs (and the original tree on it) goes in any case.
    let detach = sys::umount2(&sys::fd_path(scratch.as_fd()), libc::MNT_DETACH)
        .ctx(|| "cgroup mount: detach scratch tmpfs");
    let tree = built?;
    detach?;
    sys::move_mount(tree.as_fd(), dest).ctx(|| "cgroup mount: attach the tree")
}

/// Copies the directory tree `from` into `to` (tmpcopyup): files, dirs, symlinks, with
/// modes and owners. Both are directory fds; nothing is followed out of them.
fn copy_tree(from: BorrowedFd<'_>, to: BorrowedFd<'_>) -> std::io::Result<()> {
    use nix::dir::Dir;
    let mut dir = Dir::openat(
        from,
        ".",
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    let names: Vec<std::ffi::CString> = dir
        .iter()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_owned())
        .filter(|n| n.as_bytes() != b"." && n.as_bytes() != b"..")
        .collect();
    for name in names {
        let n = name.to_string_lossy().into_owned();
        let st = nix::sys::stat::fstatat(
            from,
            name.as_c_str(),
            nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
        )?;
        let mode = Mode::from_bits_truncate(st.st_mode & 0o7777);
        match st.st_mode & libc::S_IFMT {
            libc::S_IFDIR => {
                nix::sys::stat::mkdirat(to, name.as_c_str(), mode)?;
                let a = sys::openat2(
                    from,
                    &n,
                    (OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW).bits(),
                    0,
                    sys::RESOLVE_NO_XDEV,
                )?;
                let b = sys::openat2(
                    to,
                    &n,
                    (OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW).bits(),
                    0,
                    0,
                )?;
                copy_tree(a.as_fd(), b.as_fd())?;
            }
            libc::S_IFREG => {
                let src =
                    sys::openat2(from, &n, (OFlag::O_RDONLY | OFlag::O_NOFOLLOW).bits(), 0, 0)?;
                let dst = sys::openat2(
                    to,
                    &n,
                    (OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW).bits(),
                    mode.bits(),
                    0,
                )?;
                std::io::copy(&mut File::from(src), &mut File::from(dst))?;
            }
            libc::S_IFLNK => {
                let target = nix::fcntl::readlinkat(from, name.as_c_str())?;
                nix::unistd::symlinkat(target.as_os_str(), to, name.as_c_str())?;
            }
            _ => continue,
        }
        let _ = nix::unistd::fchownat(
            to,
            name.as_c_str(),
            Some(st.st_uid.into()),
            Some(st.st_gid.into()),
            nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
        );
        if st.st_mode & libc::S_IFMT != libc::S_IFLNK {
            let _ = nix::sys::stat::fchmodat(
                to,
                name.as_c_str(),
                mode,
                nix::sys::stat::FchmodatFlags::FollowSymlink,
            );
        }
    }
    let _ = from.as_raw_fd();
    Ok(())
}

/// Opens the host's /dev/null and checks it is the real null device (char 1:3), for masking.
pub fn open_host_devnull() -> Result<OwnedFd> {
    let f = sys::openat2(
        cwd(),
        "/dev/null",
        OFlag::O_PATH.bits(),
        0,
        sys::RESOLVE_NO_MAGICLINKS,
    )
    .ctx(|| "open /dev/null")?;
    let md = File::from(f.try_clone().ctx(|| "dup")?)
        .metadata()
        .ctx(|| "stat /dev/null")?;
    if md.mode() & libc::S_IFMT != libc::S_IFCHR || md.rdev() != nix::sys::stat::makedev(1, 3) {
        return Err(Error::container(
            "/dev/null on the host is not the null device (1:3)",
        ));
    }
    Ok(f)
}
