//! hull-sys: the syscall layer. The raw syscalls that neither `nix` nor `std` wrap (or wrap too
//! narrowly), and [`bpf`] for the cgroup v2 device program. Every `unsafe` block of hull lives in
//! this crate, each with a SAFETY note; callers get safe functions over owned/borrowed fds and
//! `io::Result`. It depends on nothing of hull's.

use std::ffi::{CStr, CString};
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

/// Takes ownership of an fd that `recvmsg` just received as SCM_RIGHTS (nix hands those
/// out as raw numbers).
pub fn adopt_scm_rights_fd(fd: RawFd) -> OwnedFd {
    // SAFETY: the kernel installed this fd in our table for this recvmsg; nothing else
    // holds or will close it.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

fn cvt(r: libc::c_long) -> io::Result<libc::c_long> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn cstr(s: &str) -> io::Result<CString> {
    CString::new(s).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

pub mod bpf;

/// One classic-BPF instruction, the kernel's `struct sock_filter` (hull-seccomp assembles
/// them; [`seccomp_set_mode_filter`] loads them).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SockFilter {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

/// Takes an exclusive flock(2) on `f`, blocking until it is free.
pub fn flock_exclusive(f: &File) -> io::Result<()> {
    // SAFETY: flock only reads the fd number, which `f` keeps open for the call.
    cvt(unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) } as libc::c_long).map(drop)
}

/// Flags for [`clone3`]: namespaces, plus an optional cgroup to start the child in.
pub struct CloneArgs {
    /// `CLONE_NEW*` flags.
    pub flags: u64,
    /// A cgroup v2 directory fd (`CLONE_INTO_CGROUP`).
    pub cgroup: Option<RawFd>,
}

/// `CLONE_INTO_CGROUP` (libc's constant is an `i32` that overflows).
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

#[repr(C)]
#[derive(Default)]
struct RawCloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// Forks the calling process with `clone3`, creating the new namespaces in `args.flags` for the
/// child. Returns `Some(child pid)` in the parent and `None` in the child, like fork(2).
///
/// hull is single-threaded when it calls this, so the child may run ordinary Rust code:
/// no other thread can hold a lock (allocator, stdio) that the child would inherit locked.
pub fn clone3(args: &CloneArgs) -> io::Result<Option<i32>> {
    let mut raw = RawCloneArgs {
        flags: args.flags,
        exit_signal: libc::SIGCHLD as u64,
        ..Default::default()
    };
    // With CLONE_PARENT the child takes its exit signal from our parent's; clone3 insists
    // that exit_signal is then 0.
    if args.flags & libc::CLONE_PARENT as u64 != 0 {
        raw.exit_signal = 0;
    }
    if let Some(fd) = args.cgroup {
        raw.flags |= CLONE_INTO_CGROUP;
        raw.cgroup = fd as u64;
    }
    // SAFETY: `raw` is a valid clone_args of the size we pass; no stack is given, so the child
    // continues on a copy of our stack exactly like fork(2). See the note above on threads.
    let r = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &mut raw as *mut RawCloneArgs,
            std::mem::size_of::<RawCloneArgs>(),
        )
    };
    match cvt(r)? {
        0 => Ok(None),
        pid => Ok(Some(pid as i32)),
    }
}

/// A pidfd for `pid` (pidfd_open(2)): signals sent through it cannot hit a recycled pid.
pub fn pidfd_open(pid: i32) -> io::Result<OwnedFd> {
    // SAFETY: plain syscall with integer arguments; on success the kernel returns a new fd
    // that we take ownership of.
    let fd = cvt(unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) })?;
    // SAFETY: `fd` was just returned to us by the kernel and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// pidfd_send_signal(2).
pub fn pidfd_send_signal(pidfd: BorrowedFd<'_>, sig: i32) -> io::Result<()> {
    // SAFETY: the fd is borrowed for the call; a null siginfo asks for a kill(2)-like signal.
    cvt(unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            sig,
            std::ptr::null::<u8>(),
            0,
        )
    })
    .map(drop)
}

#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

/// `RESOLVE_IN_ROOT`: treat the dirfd as the root for `..` and absolute symlinks.
pub const RESOLVE_IN_ROOT: u64 = 0x10;
/// `RESOLVE_NO_MAGICLINKS`: refuse /proc/<pid>/fd-style magic links.
pub const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
/// `RESOLVE_NO_SYMLINKS`: refuse every symlink on the way.
pub const RESOLVE_NO_SYMLINKS: u64 = 0x04;
/// `RESOLVE_BENEATH`: refuse to leave the dirfd's subtree.
pub const RESOLVE_BENEATH: u64 = 0x08;
/// `RESOLVE_NO_XDEV`: refuse to cross mount points.
pub const RESOLVE_NO_XDEV: u64 = 0x01;

/// openat2(2): opens `path` relative to `dir` with `resolve` restrictions. `O_CLOEXEC` is
/// always added.
pub fn openat2(
    dir: BorrowedFd<'_>,
    path: &str,
    flags: i32,
    mode: u32,
    resolve: u64,
) -> io::Result<OwnedFd> {
    let p = cstr(path)?;
    let how = OpenHow {
        flags: (flags | libc::O_CLOEXEC) as u64,
        mode: mode as u64,
        resolve,
    };
    loop {
        // SAFETY: `p` is NUL-terminated and `how` is a valid open_how of the size given.
        let r = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                dir.as_raw_fd(),
                p.as_ptr(),
                &how as *const OpenHow,
                std::mem::size_of::<OpenHow>(),
            )
        };
        match cvt(r) {
            // SAFETY: a new fd returned by the kernel, owned by nobody else.
            Ok(fd) => return Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) }),
            // openat2 returns EAGAIN when a concurrent rename raced the walk: retry.
            Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => continue,
            Err(e) => return Err(e),
        }
    }
}

/// The path that names `fd` through procfs, for syscalls that only take paths (mount(2)).
pub fn fd_path(fd: BorrowedFd<'_>) -> String {
    format!("/proc/self/fd/{}", fd.as_raw_fd())
}

/// `OPEN_TREE_CLONE`.
pub const OPEN_TREE_CLONE: u32 = 1;
/// `AT_RECURSIVE`.
pub const AT_RECURSIVE: u32 = 0x8000;

/// open_tree(2) with `AT_EMPTY_PATH` on an fd: a detached copy of the mount at `fd`
/// (recursive with `AT_RECURSIVE`), ready for [`mount_setattr`] and [`move_mount`].
pub fn open_tree(fd: BorrowedFd<'_>, flags: u32) -> io::Result<OwnedFd> {
    let empty = c"";
    let flags = flags | libc::AT_EMPTY_PATH as u32 | libc::O_CLOEXEC as u32;
    // SAFETY: `empty` is a valid C string; the kernel returns a new fd on success.
    let fd =
        cvt(unsafe { libc::syscall(libc::SYS_open_tree, fd.as_raw_fd(), empty.as_ptr(), flags) })?;
    // SAFETY: a new fd returned by the kernel, owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// move_mount(2) from the mount `from` onto the file or directory `to` (both by fd).
pub fn move_mount(from: BorrowedFd<'_>, to: BorrowedFd<'_>) -> io::Result<()> {
    const F_EMPTY: u32 = 0x4;
    const T_EMPTY: u32 = 0x40;
    let empty = c"";
    // SAFETY: both fds are borrowed for the call and the paths are empty C strings.
    cvt(unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            from.as_raw_fd(),
            empty.as_ptr(),
            to.as_raw_fd(),
            empty.as_ptr(),
            F_EMPTY | T_EMPTY,
        )
    })
    .map(drop)
}

/// Mount attributes for [`mount_setattr`] and [`fsmount`].
pub mod attr {
    pub const RDONLY: u64 = 0x1;
    pub const NOSUID: u64 = 0x2;
    pub const NODEV: u64 = 0x4;
    pub const NOEXEC: u64 = 0x8;
    pub const ATIME_MASK: u64 = 0x70;
    pub const RELATIME: u64 = 0x0;
    pub const NOATIME: u64 = 0x10;
    pub const STRICTATIME: u64 = 0x20;
    pub const NODIRATIME: u64 = 0x80;
    pub const NOSYMFOLLOW: u64 = 0x200000;
}

#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// mount_setattr(2) on the mount at `fd` (`AT_RECURSIVE` in `flags` for the whole tree).
/// `propagation` is 0 or one of `MS_PRIVATE`, `MS_SHARED`, `MS_SLAVE`, `MS_UNBINDABLE`.
pub fn mount_setattr(
    fd: BorrowedFd<'_>,
    flags: u32,
    set: u64,
    clr: u64,
    propagation: u64,
) -> io::Result<()> {
    let a = MountAttr {
        attr_set: set,
        attr_clr: clr,
        propagation,
        userns_fd: 0,
    };
    setattr_empty_path(fd, flags, &a)
}

/// mount_setattr(2) on `fd` itself (`AT_EMPTY_PATH`) with `a`.
fn setattr_empty_path(fd: BorrowedFd<'_>, flags: u32, a: &MountAttr) -> io::Result<()> {
    let empty = c"";
    let flags = flags | libc::AT_EMPTY_PATH as u32;
    // SAFETY: `a` is a valid mount_attr of the size given, and any userns fd in it is
    // borrowed by the caller for the call; `fd` is borrowed for the call.
    cvt(unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_raw_fd(),
            empty.as_ptr(),
            flags,
            a as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    })
    .map(drop)
}

/// `MOUNT_ATTR_IDMAP`.
pub const MOUNT_ATTR_IDMAP: u64 = 0x100000;

/// mount_setattr(2) with `MOUNT_ATTR_IDMAP`: the detached mount at `fd` (its tree with
/// `AT_RECURSIVE`) shows owners through the mappings of the user namespace `userns`.
pub fn mount_setattr_idmap(
    fd: BorrowedFd<'_>,
    flags: u32,
    userns: BorrowedFd<'_>,
) -> io::Result<()> {
    let a = MountAttr {
        attr_set: MOUNT_ATTR_IDMAP,
        attr_clr: 0,
        propagation: 0,
        userns_fd: userns.as_raw_fd() as u64,
    };
    setattr_empty_path(fd, flags, &a)
}

/// mount(2). `target` is usually [`fd_path`] of a target resolved inside the rootfs.
pub fn mount(
    source: Option<&str>,
    target: &str,
    fstype: Option<&str>,
    flags: u64,
    data: Option<&str>,
) -> io::Result<()> {
    let src = source.map(cstr).transpose()?;
    let tgt = cstr(target)?;
    let ty = fstype.map(cstr).transpose()?;
    let dat = data.filter(|d| !d.is_empty()).map(cstr).transpose()?;
    let p = |c: &Option<CString>| c.as_ref().map_or(std::ptr::null(), |c| c.as_ptr());
    // SAFETY: every pointer is either null or a valid NUL-terminated string that outlives the call.
    cvt(unsafe {
        libc::mount(
            p(&src),
            tgt.as_ptr(),
            p(&ty),
            flags as libc::c_ulong,
            p(&dat).cast(),
        )
    } as libc::c_long)
    .map(drop)
}

/// umount2(2).
pub fn umount2(target: &str, flags: i32) -> io::Result<()> {
    let t = cstr(target)?;
    // SAFETY: `t` is a valid C string.
    cvt(unsafe { libc::umount2(t.as_ptr(), flags) } as libc::c_long).map(drop)
}

/// pivot_root(2) with both arguments ".", the trick that avoids a put_old directory.
pub fn pivot_root_dot() -> io::Result<()> {
    let dot = c".";
    // SAFETY: both arguments are valid C strings.
    cvt(unsafe { libc::syscall(libc::SYS_pivot_root, dot.as_ptr(), dot.as_ptr()) }).map(drop)
}

/// setdomainname(2).
pub fn setdomainname(name: &str) -> io::Result<()> {
    // SAFETY: the pointer and length describe `name`'s bytes for the duration of the call.
    cvt(unsafe { libc::setdomainname(name.as_ptr().cast(), name.len()) } as libc::c_long).map(drop)
}

/// Marks every fd from `first` upwards close-on-exec (close_range(2) with CLOSE_RANGE_CLOEXEC),
/// so nothing hull opened can reach the container's program.
pub fn cloexec_from(first: u32) -> io::Result<()> {
    // SAFETY: close_range only changes fd flags; no memory is passed.
    cvt(unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    })
    .map(drop)
}

/// Sets `FD_CLOEXEC` on `fd` (fcntl(2), the fallback when close_range(2) is refused).
pub fn set_cloexec(fd: RawFd) -> io::Result<()> {
    // SAFETY: fcntl on an integer fd; an invalid fd just returns EBADF.
    cvt(unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) } as libc::c_long).map(drop)
}

/// Clears `FD_CLOEXEC` on `fd` so it survives `execve` (preserved fds).
pub fn clear_cloexec(fd: RawFd) -> io::Result<()> {
    // SAFETY: fcntl on an integer fd; an invalid fd just returns EBADF.
    cvt(unsafe { libc::fcntl(fd, libc::F_SETFD, 0) } as libc::c_long).map(drop)
}

/// Whether `fd` is open without FD_CLOEXEC (would survive execve).
pub fn fd_is_inheritable(fd: RawFd) -> bool {
    // SAFETY: F_GETFD on an integer fd has no memory effects.
    let f = unsafe { libc::fcntl(fd, libc::F_GETFD) };
    f >= 0 && f & libc::FD_CLOEXEC == 0
}

/// Whether `fd` is open in this process.
pub fn fd_is_open(fd: RawFd) -> bool {
    // SAFETY: F_GETFD on an integer fd has no memory effects.
    unsafe { libc::fcntl(fd, libc::F_GETFD) >= 0 }
}

/// Takes ownership of `fd`, a descriptor the caller of hull handed over by number (runc's
/// `--status-fd`): EBADF when nothing is open under it. The caller of this function must
/// make sure the number is not one hull opened itself (its log file), i.e. call it before
/// hull opens anything else.
pub fn adopt_inherited_fd(fd: RawFd) -> io::Result<OwnedFd> {
    if fd < 0 || !fd_is_open(fd) {
        return Err(io::Error::from_raw_os_error(libc::EBADF));
    }
    // SAFETY: open (checked above) and, by this function's contract, inherited from the
    // process that started hull, not held by any object of hull's: nobody else closes it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The access mode of `fd` (`O_RDONLY`, `O_WRONLY` or `O_RDWR`: F_GETFL & O_ACCMODE).
pub fn fd_access_mode(fd: RawFd) -> io::Result<i32> {
    // SAFETY: F_GETFL on an integer fd has no memory effects; EBADF when not open.
    let f = cvt(unsafe { libc::fcntl(fd, libc::F_GETFL) } as libc::c_long)?;
    Ok(f as i32 & libc::O_ACCMODE)
}

/// Has `cmd`'s program start with an empty signal mask. execve(2) keeps the mask and std's
/// spawn does not reset it; a foreground `run`/`exec`/`restore` blocks every signal it
/// relays (runtime's `tty::relay_signals`), so what hull starts meanwhile (criu, hooks,
/// newuidmap) would otherwise run, and leave daemons, with every signal blocked.
pub fn exec_unblocked(cmd: &mut std::process::Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: the closure runs in the forked child before execve and calls only
    // sigemptyset(3) and sigprocmask(2), async-signal-safe, on a set on its own stack; it
    // allocates nothing and takes no lock.
    unsafe {
        cmd.pre_exec(|| {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            if libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut()) != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        })
    };
}

/// prctl(2) with integer arguments only.
pub fn prctl(option: i32, arg2: u64) -> io::Result<()> {
    // SAFETY: every option hull uses takes integer arguments, no pointers.
    cvt(unsafe { libc::prctl(option, arg2, 0u64, 0u64, 0u64) } as libc::c_long).map(drop)
}

/// keyctl(KEYCTL_JOIN_SESSION_KEYRING, name): a fresh session keyring for the container, so
/// it cannot see the host's keys (what runc does unless `--no-new-keyring`).
pub fn join_session_keyring(name: &str) -> io::Result<()> {
    const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
    let n = cstr(name)?;
    // SAFETY: `n` is a valid C string for the duration of the call.
    cvt(unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, n.as_ptr()) })
        .map(drop)
}

/// Lets the session keyring's owner search it (runc's `ModKeyringPerm(.., KEY_USR_SEARCH)`),
/// so that processes exec'd into the container later find and join it by name; the
/// possessor keeps every right, other users get none.
pub fn session_keyring_searchable() -> io::Result<()> {
    const KEYCTL_SETPERM: libc::c_long = 5;
    const KEY_SPEC_SESSION_KEYRING: libc::c_long = -3;
    // possessor: all; user: view, read, search, link.
    const PERM: libc::c_long = 0x3f1b_0000;
    // SAFETY: keyctl with integer arguments only, each a full c_long.
    cvt(unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            KEYCTL_SETPERM,
            KEY_SPEC_SESSION_KEYRING,
            PERM,
        )
    })
    .map(drop)
}

/// execve(2). Only returns on failure.
pub fn execve(path: &CStr, argv: &[CString], envp: &[CString]) -> io::Error {
    let mut a: Vec<*const libc::c_char> = argv.iter().map(|s| s.as_ptr()).collect();
    a.push(std::ptr::null());
    let mut e: Vec<*const libc::c_char> = envp.iter().map(|s| s.as_ptr()).collect();
    e.push(std::ptr::null());
    // SAFETY: `a` and `e` are NULL-terminated arrays of pointers to C strings owned by the
    // caller's slices, which outlive the call (it only returns on failure).
    unsafe { libc::execve(path.as_ptr(), a.as_ptr(), e.as_ptr()) };
    io::Error::last_os_error()
}

/// `_exit(2)`: leaves the forked child without running the parent's atexit handlers or
/// flushing buffers the parent also owns.
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit never returns and has no preconditions.
    unsafe { libc::_exit(code) }
}

/// setgroups(2) (nix's version refuses more than NGROUPS on some libcs).
pub fn setgroups(gids: &[u32]) -> io::Result<()> {
    // SAFETY: the pointer and length describe `gids` for the duration of the call.
    cvt(unsafe { libc::setgroups(gids.len(), gids.as_ptr()) } as libc::c_long).map(drop)
}

/// What hull needs of the start-up std's runtime would do (the `hull` binary starts at the C
/// `main`, `cli/src/main.rs`): SIGPIPE ignored, so that a write to a closed pipe is an
/// `EPIPE` error and not death (children get SIGPIPE's default back: std's `Command` and
/// [`reset_signals`] restore it), and fds 0-2 open, on /dev/null when the caller closed
/// them, so that no file hull opens later becomes its stdout or stderr by accident.
pub fn process_start() {
    // SAFETY: SIG_IGN installs no handler code.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    for fd in 0..3 {
        // SAFETY: F_GETFD only asks whether `fd` is open.
        if unsafe { libc::fcntl(fd, libc::F_GETFD) } == -1 && errno() == libc::EBADF {
            // SAFETY: a constant NUL-terminated path; open takes the lowest free fd, `fd`.
            if unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR) } != fd {
                std::process::abort();
            }
        }
    }
}

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// Makes SIGCHLD's disposition the default. hull waits for the children it starts; an
/// ignored SIGCHLD inherited from the caller would have the kernel reap them unseen and
/// leave `run`/`exec` waiting forever.
pub fn default_sigchld() {
    // SAFETY: SIG_DFL for SIGCHLD installs no handler code; nothing else is affected.
    unsafe { libc::signal(libc::SIGCHLD, libc::SIG_DFL) };
}

/// Resets every signal handler and the signal mask hull may have set, before `execve`.
pub fn reset_signals() {
    for sig in 1..libc::SIGRTMAX() {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP {
            continue;
        }
        // SAFETY: SIG_DFL is always a valid disposition; invalid signal numbers return EINVAL.
        unsafe { libc::signal(sig, libc::SIG_DFL) };
    }
    // SAFETY: an empty, initialised sigset passed by pointer for the call.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
    }
}

/// A new, detached mount of filesystem `fstype` with `MOUNT_ATTR_*` `attrs` (fsopen(2),
/// fsconfig(2) for each `key=value` / `key` in `options`, fsmount(2)). Nothing in the
/// container's tree is touched until the caller [`move_mount`]s it, so no path can be raced.
pub fn fsmount(fstype: &str, options: &[&str], attrs: u64) -> io::Result<OwnedFd> {
    const FSCONFIG_SET_FLAG: u32 = 0;
    const FSCONFIG_SET_STRING: u32 = 1;
    const FSCONFIG_CMD_CREATE: u32 = 6;
    const FSOPEN_CLOEXEC: u32 = 1;
    const FSMOUNT_CLOEXEC: u32 = 1;
    let ty = cstr(fstype)?;
    // SAFETY: `ty` is a valid C string; the kernel returns a new fd on success.
    let fs = cvt(unsafe { libc::syscall(libc::SYS_fsopen, ty.as_ptr(), FSOPEN_CLOEXEC) })?;
    // SAFETY: a new fd returned by the kernel, owned by nobody else.
    let fs = unsafe { OwnedFd::from_raw_fd(fs as RawFd) };
    for opt in options {
        let (k, v) = match opt.split_once('=') {
            Some((k, v)) => (cstr(k)?, Some(cstr(v)?)),
            None => (cstr(opt)?, None),
        };
        let (cmd, vp) = match &v {
            Some(v) => (FSCONFIG_SET_STRING, v.as_ptr()),
            None => (FSCONFIG_SET_FLAG, std::ptr::null()),
        };
        // SAFETY: key and value are valid C strings (or null for a flag) for the call.
        cvt(unsafe { libc::syscall(libc::SYS_fsconfig, fs.as_raw_fd(), cmd, k.as_ptr(), vp, 0) })?;
    }
    // SAFETY: CMD_CREATE takes no pointers.
    cvt(unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            fs.as_raw_fd(),
            FSCONFIG_CMD_CREATE,
            std::ptr::null::<u8>(),
            std::ptr::null::<u8>(),
            0,
        )
    })?;
    // SAFETY: integer arguments only; returns a new fd on success.
    let m =
        cvt(unsafe { libc::syscall(libc::SYS_fsmount, fs.as_raw_fd(), FSMOUNT_CLOEXEC, attrs) })?;
    // SAFETY: a new fd returned by the kernel, owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(m as RawFd) })
}

/// The index of interface `name` in the calling thread's network namespace.
pub fn if_nametoindex(name: &str) -> io::Result<u32> {
    let c = cstr(name)?;
    // SAFETY: `c` is a valid NUL-terminated string that outlives the call.
    match unsafe { libc::if_nametoindex(c.as_ptr()) } {
        0 => Err(io::Error::last_os_error()),
        i => Ok(i),
    }
}

/// Sets `IFF_UP` on interface `name` (SIOCGIFFLAGS + SIOCSIFFLAGS on any socket).
pub fn set_link_up(sock: BorrowedFd<'_>, name: &str) -> io::Result<()> {
    // SAFETY: ifreq is plain data; zeroed is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    if name.len() >= req.ifr_name.len() {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    for (d, s) in req.ifr_name.iter_mut().zip(name.bytes()) {
        *d = s as libc::c_char;
    }
    // SAFETY: `req` is a valid ifreq for both ioctls, borrowed mutably for each call.
    cvt(unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req) } as libc::c_long)?;
    // SAFETY: reading and writing the flags member of the union the kernel just filled.
    unsafe { req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short };
    // SAFETY: as above.
    cvt(unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &req) } as libc::c_long)
        .map(drop)
}

/// The pty slave of `master`, opened by the kernel without a path (TIOCGPTPEER), so a
/// hostile /dev/pts cannot substitute another file.
pub fn pty_peer(master: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    const TIOCGPTPEER: libc::c_ulong = 0x5441;
    let mut unlock: libc::c_int = 0;
    // SAFETY: TIOCSPTLCK reads one int through the pointer, valid for the call.
    cvt(unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSPTLCK, &mut unlock) } as libc::c_long)?;
    // SAFETY: TIOCGPTPEER takes open flags by value and returns a new fd.
    let fd = cvt(unsafe {
        libc::ioctl(
            master.as_raw_fd(),
            TIOCGPTPEER,
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        )
    } as libc::c_long)?;
    // SAFETY: a new fd returned by the kernel, owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// The pty number of a master (TIOCGPTN), for /dev/pts/N.
pub fn pty_number(master: BorrowedFd<'_>) -> io::Result<u32> {
    let mut n: libc::c_uint = 0;
    // SAFETY: TIOCGPTN writes one unsigned int through the pointer, valid for the call.
    cvt(unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCGPTN, &mut n) } as libc::c_long)?;
    Ok(n)
}

/// Makes `tty` the controlling terminal of the calling session leader (TIOCSCTTY).
pub fn set_controlling_tty(tty: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: TIOCSCTTY takes an integer argument.
    cvt(unsafe { libc::ioctl(tty.as_raw_fd(), libc::TIOCSCTTY, 0) } as libc::c_long).map(drop)
}

/// Reads a terminal's window size (rows, cols).
pub fn get_winsize(fd: BorrowedFd<'_>) -> io::Result<(u16, u16)> {
    // SAFETY: winsize is plain data; TIOCGWINSZ fills it through the pointer.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: as above; the pointer is valid for the call.
    cvt(unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCGWINSZ, &mut ws) } as libc::c_long)?;
    Ok((ws.ws_row, ws.ws_col))
}

/// Sets a terminal's window size (rows, cols).
pub fn set_winsize(fd: BorrowedFd<'_>, rows: u16, cols: u16) -> io::Result<()> {
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads a winsize through the pointer, valid for the call.
    cvt(unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSWINSZ, &ws) } as libc::c_long).map(drop)
}

/// setns(2) with a pidfd: joins every namespace in `flags` of that process at once.
pub fn setns_pidfd(pidfd: BorrowedFd<'_>, flags: u64) -> io::Result<()> {
    // SAFETY: integer arguments only.
    cvt(unsafe { libc::setns(pidfd.as_raw_fd(), flags as libc::c_int) } as libc::c_long).map(drop)
}

/// dup2(2) onto one of the standard fds (0-2), replacing what was there.
pub fn dup2(from: BorrowedFd<'_>, to: RawFd) -> io::Result<()> {
    // SAFETY: the target is a stdio number the caller means to replace; no Rust object owns
    // fds 0-2 as OwnedFd in hull, so nothing is closed behind an owner's back.
    cvt(unsafe { libc::dup2(from.as_raw_fd(), to) } as libc::c_long).map(drop)
}

/// seccomp(SECCOMP_SET_MODE_FILTER, flags, prog): loads a classic-BPF filter into the calling
/// thread. Returns the user-notification listener when `flags` asks for one
/// (SECCOMP_FILTER_FLAG_NEW_LISTENER).
pub fn seccomp_set_mode_filter(flags: u32, filter: &[SockFilter]) -> io::Result<Option<OwnedFd>> {
    const SECCOMP_SET_MODE_FILTER: libc::c_long = 1;
    const NEW_LISTENER: u32 = 8;
    let insns: Vec<libc::sock_filter> = filter
        .iter()
        .map(|i| libc::sock_filter {
            code: i.code,
            jt: i.jt,
            jf: i.jf,
            k: i.k,
        })
        .collect();
    let len = u16::try_from(insns.len()).map_err(|_| io::Error::from_raw_os_error(libc::E2BIG))?;
    let prog = libc::sock_fprog {
        len,
        filter: insns.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: `prog` points at `insns`, a valid array of `len` instructions that outlives
    // the call; the kernel copies the program and only reads through the pointers.
    let r = cvt(unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            SECCOMP_SET_MODE_FILTER,
            flags as libc::c_ulong,
            &prog as *const libc::sock_fprog,
        )
    })?;
    if flags & NEW_LISTENER == 0 {
        return Ok(None);
    }
    // SAFETY: with NEW_LISTENER the kernel returns a new fd that nobody else owns.
    Ok(Some(unsafe { OwnedFd::from_raw_fd(r as RawFd) }))
}

/// ioprio_set(2) on the calling process (`IOPRIO_WHO_PROCESS`, who = 0).
pub fn ioprio_set_self(value: i32) -> io::Result<()> {
    const IOPRIO_WHO_PROCESS: libc::c_long = 1;
    // SAFETY: integer arguments only.
    cvt(unsafe { libc::syscall(libc::SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, value) }).map(drop)
}

/// set_mempolicy(2) on the calling thread: `mode` with its `MPOL_F_*` flags, and the node
/// mask as 64-bit words (empty: no nodes).
pub fn set_mempolicy(mode: i32, mask: &[u64]) -> io::Result<()> {
    let (ptr, maxnode) = if mask.is_empty() {
        (std::ptr::null(), 0)
    } else {
        // The kernel reads maxnode - 1 bits; one more than we hold is what it expects.
        (mask.as_ptr(), mask.len() as u64 * 64 + 1)
    };
    // SAFETY: `mask` outlives the call and holds at least maxnode - 1 bits for the kernel
    // to read; a null mask comes with maxnode 0.
    cvt(unsafe { libc::syscall(libc::SYS_set_mempolicy, mode, ptr, maxnode) }).map(drop)
}

/// sched_setattr(2) on the calling process.
pub fn sched_setattr_self(attr: &libc::sched_attr) -> io::Result<()> {
    // SAFETY: `attr` is a valid, initialised sched_attr for the kernel to read; its `size`
    // field tells the kernel how much of it there is; flags 0.
    cvt(unsafe {
        libc::syscall(
            libc::SYS_sched_setattr,
            0,
            attr as *const libc::sched_attr,
            0,
        )
    })
    .map(drop)
}

/// execveat(fd, "", argv, envp, AT_EMPTY_PATH): runs the file open at `fd` (a detached
/// read-only mount of hull's binary, or a sealed memfd copy). Only returns on failure.
pub fn execveat_fd(fd: BorrowedFd<'_>, argv: &[CString], envp: &[CString]) -> io::Error {
    let mut a: Vec<*const libc::c_char> = argv.iter().map(|s| s.as_ptr()).collect();
    a.push(std::ptr::null());
    let mut e: Vec<*const libc::c_char> = envp.iter().map(|s| s.as_ptr()).collect();
    e.push(std::ptr::null());
    let empty = c"";
    // SAFETY: `a` and `e` are NULL-terminated arrays of pointers to C strings owned by the
    // caller's slices, which outlive the call; the fd is borrowed for it.
    unsafe {
        libc::syscall(
            libc::SYS_execveat,
            fd.as_raw_fd(),
            empty.as_ptr(),
            a.as_ptr(),
            e.as_ptr(),
            libc::AT_EMPTY_PATH,
        )
    };
    io::Error::last_os_error()
}

/// memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING).
pub fn memfd_sealable(name: &str) -> io::Result<OwnedFd> {
    let n = cstr(name)?;
    // SAFETY: `n` is a valid C string; the kernel returns a new fd on success.
    let fd =
        cvt(
            unsafe { libc::memfd_create(n.as_ptr(), libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING) }
                as libc::c_long,
        )?;
    // SAFETY: a new fd returned by the kernel, owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// The seals on `fd` (F_GET_SEALS), 0 for files that cannot be sealed.
pub fn get_seals(fd: BorrowedFd<'_>) -> i32 {
    // SAFETY: fcntl with an integer command on a borrowed fd.
    unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GET_SEALS) }.max(0)
}

/// Adds `seals` to a memfd (F_ADD_SEALS).
pub fn add_seals(fd: BorrowedFd<'_>, seals: i32) -> io::Result<()> {
    // SAFETY: fcntl with integer arguments on a borrowed fd.
    cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_ADD_SEALS, seals) } as libc::c_long).map(drop)
}
