//! Terminals (config.md `process.terminal`, runc's console socket protocol).
//!
//! The pty is made *inside* the container, from its own devpts: the init (or exec'd process)
//! opens `/dev/pts/ptmx` in its root, gets the slave with TIOCGPTPEER, binds it over
//! `/dev/console` by fd (never through a path the image controls: CVE-2025-52565), makes it
//! its controlling terminal and stdio, and sends the master to the engine over the
//! `--console-socket` unix socket with SCM_RIGHTS, exactly as runc does (containerd's shim and
//! podman's conmon receive it). Without a console socket, a foreground `run`/`exec` receives
//! the master over an internal socketpair and [`relay`]s it to its own terminal.

use std::io::{IoSlice, IoSliceMut, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

use nix::fcntl::OFlag;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signalfd::SignalFd;
use nix::sys::socket::{
    recvmsg, sendmsg, socketpair, AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags,
    SockFlag, SockType,
};
use nix::sys::termios;

use crate::error::{Context, Error, Result};
use crate::rootfs::{open_in_root, resolve_create, Kind};
use crate::sys;

/// Where the pty master goes: the engine's console socket, or our own relay.
pub enum Console {
    /// Connected `--console-socket`.
    Socket(OwnedFd),
    /// The container's end of an internal pair; the runtime keeps the other end.
    Relay(OwnedFd),
}

impl Console {
    /// The fd the container side sends the master on.
    pub fn fd(&self) -> BorrowedFd<'_> {
        match self {
            Console::Socket(f) | Console::Relay(f) => f.as_fd(),
        }
    }
}

/// Prepares the console channel before the clone: connects the console socket (its path
/// is a host path, unreachable once the container's root is in place), or makes a pair.
/// Returns the container side and, for a relay, the runtime side.
pub fn console(socket: Option<&Path>) -> Result<(Console, Option<OwnedFd>)> {
    match socket {
        Some(p) => {
            let s =
                UnixStream::connect(p).ctx(|| format!("connect console socket {}", p.display()))?;
            Ok((Console::Socket(s.into()), None))
        }
        None => {
            let (a, b) = socketpair(
                AddressFamily::Unix,
                SockType::Stream,
                None,
                SockFlag::SOCK_CLOEXEC,
            )
            .ctx(|| "socketpair for the terminal")?;
            Ok((Console::Relay(b), Some(a)))
        }
    }
}

/// The size the pty starts with: for a relay, our own terminal's (so the program sees the
/// right size from its first instruction, not only once the relay starts), else
/// `process.consoleSize`.
pub fn initial_size(relay: bool, configured: Option<(u16, u16)>) -> Option<(u16, u16)> {
    relay
        .then(|| sys::get_winsize(std::io::stdin().as_fd()).ok())
        .flatten()
        .filter(|(r, c)| *r > 0 && *c > 0)
        .or(configured)
}

/// Container side: opens a pty from the devpts mounted at `root`/dev/pts, applies
/// `size`, binds the slave over /dev/console when `mount_console`, sends the master over
/// `console`, and makes the slave our controlling terminal and stdio.
pub fn setup(
    root: BorrowedFd<'_>,
    console: &Console,
    size: Option<(u16, u16)>,
    mount_console: bool,
) -> Result<()> {
    let master = open_in_root(
        root,
        Path::new("/dev/pts/ptmx"),
        OFlag::O_RDWR | OFlag::O_NOCTTY,
    )
    .ctx(|| "open /dev/pts/ptmx (is a devpts mounted at /dev/pts?)")?;
    let slave = sys::pty_peer(master.as_fd()).ctx(|| "open pty slave")?;
    if let Console::Relay(_) = console {
        // hull relays this pty to a terminal that turns `\n` into `\r\n` itself: the pty
        // must not do it too, so lines end as under runc (its recvtty clears ONLCR as
        // well). Here, before the program runs and can save the terminal's settings.
        let mut t = termios::tcgetattr(master.as_fd()).ctx(|| "pty: tcgetattr")?;
        t.output_flags.remove(termios::OutputFlags::ONLCR);
        termios::tcsetattr(master.as_fd(), termios::SetArg::TCSANOW, &t)
            .ctx(|| "pty: clear ONLCR")?;
    }
    if let Some((rows, cols)) = size {
        sys::set_winsize(master.as_fd(), rows, cols).ctx(|| "process.consoleSize")?;
    }
    if mount_console {
        let target = console_target(root)?;
        let tree = sys::open_tree(slave.as_fd(), sys::OPEN_TREE_CLONE)
            .ctx(|| "bind pty to /dev/console")?;
        sys::move_mount(tree.as_fd(), target.as_fd()).ctx(|| "bind pty to /dev/console")?;
    }
    let n = sys::pty_number(master.as_fd()).ctx(|| "TIOCGPTN")?;
    send_fd(console.fd(), &format!("/dev/pts/{n}"), master.as_fd())?;
    drop(master);
    // The caller has made us a session leader (init::enter, exec): no controlling tty yet.
    sys::set_controlling_tty(slave.as_fd()).ctx(|| "make the pty the controlling terminal")?;
    for fd in 0..3 {
        sys::dup2(slave.as_fd(), fd).ctx(|| format!("dup pty onto fd {fd}"))?;
    }
    Ok(())
}

/// The /dev/console to bind the pty onto, as an `O_PATH` fd. /dev is resolved inside the
/// root, but `console` itself is never followed: a symlink (or a fifo, socket, block device)
/// the image put there is replaced by an empty file, so the bind cannot be pointed at a
/// procfs file or anything else the link names (CVE-2025-52565).
fn console_target(root: BorrowedFd<'_>) -> Result<OwnedFd> {
    use nix::sys::stat::{fstat, fstatat, Mode};
    let is_ok = |m: libc::mode_t| matches!(m & libc::S_IFMT, libc::S_IFREG | libc::S_IFCHR);
    let dev = resolve_create(root, Path::new("/dev"), Kind::Dir)?;
    let dir = sys::openat2(
        dev.as_fd(),
        ".",
        (OFlag::O_RDONLY | OFlag::O_DIRECTORY).bits(),
        0,
        0,
    )
    .ctx(|| "open /dev in rootfs")?;
    match fstatat(
        dir.as_fd(),
        "console",
        nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
    ) {
        Ok(st) if is_ok(st.st_mode) => {}
        Ok(st) if st.st_mode & libc::S_IFMT == libc::S_IFDIR => {
            return Err(Error::container(
                "/dev/console in the rootfs is a directory",
            ))
        }
        Ok(_) => nix::unistd::unlinkat(
            dir.as_fd(),
            "console",
            nix::unistd::UnlinkatFlags::NoRemoveDir,
        )
        .ctx(|| "remove the image's /dev/console")?,
        Err(nix::errno::Errno::ENOENT) => {}
        Err(e) => return Err(e).ctx(|| "stat /dev/console"),
    }
    let beneath = sys::RESOLVE_BENEATH | sys::RESOLVE_NO_SYMLINKS;
    match sys::openat2(
        dir.as_fd(),
        "console",
        (OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_WRONLY | OFlag::O_NOFOLLOW).bits(),
        Mode::from_bits_truncate(0o666).bits(),
        beneath,
    ) {
        Ok(_) => {}
        Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {}
        Err(e) => return Err(e).ctx(|| "create /dev/console"),
    }
    let fd = sys::openat2(
        dir.as_fd(),
        "console",
        (OFlag::O_PATH | OFlag::O_NOFOLLOW).bits(),
        0,
        beneath,
    )
    .ctx(|| "open /dev/console")?;
    // Re-checked on the fd: whatever raced in between, this is what gets mounted over.
    let st = fstat(fd.as_fd()).ctx(|| "stat /dev/console")?;
    if !is_ok(st.st_mode) {
        return Err(Error::container(
            "/dev/console in the rootfs is not a regular file or a character device",
        ));
    }
    Ok(fd)
}

/// Sends `fd` with `name` as the payload, in one message (runc's `utils.SendFd`).
pub fn send_fd(sock: BorrowedFd<'_>, name: &str, fd: BorrowedFd<'_>) -> Result<()> {
    let fds = [fd.as_raw_fd()];
    let cmsg = [ControlMessage::ScmRights(&fds)];
    sendmsg::<()>(
        sock.as_raw_fd(),
        &[IoSlice::new(name.as_bytes())],
        &cmsg,
        MsgFlags::empty(),
        None,
    )
    .ctx(|| "send pty master over the console socket")?;
    Ok(())
}

/// `--pidfd-socket` (runc 1.2): connects to the socket up front, so a bad path fails before
/// anything is made.
pub fn pidfd_socket(path: Option<&std::path::Path>) -> Result<Option<UnixStream>> {
    path.map(|p| UnixStream::connect(p).ctx(|| format!("connect pidfd socket {}", p.display())))
        .transpose()
}

/// Sends a pidfd of `pid` over the `--pidfd-socket` connection, as runc does.
pub fn send_pidfd(sock: Option<&UnixStream>, pid: i32) -> Result<()> {
    let Some(sock) = sock else { return Ok(()) };
    let pidfd = sys::pidfd_open(pid).ctx(|| format!("pidfd_open {pid}"))?;
    let fds = [pidfd.as_raw_fd()];
    sendmsg::<()>(
        sock.as_raw_fd(),
        &[IoSlice::new(b"pidfd")],
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::empty(),
        None,
    )
    .ctx(|| "send pidfd over the pidfd socket")?;
    Ok(())
}

/// Receives one fd sent with [`send_fd`].
pub fn recv_fd(sock: BorrowedFd<'_>) -> Result<OwnedFd> {
    let mut buf = [0u8; 4096];
    let mut iov = [IoSliceMut::new(&mut buf)];
    let mut space = nix::cmsg_space!([RawFd; 1]);
    let msg = recvmsg::<()>(
        sock.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .ctx(|| "receive pty master")?;
    for c in msg.cmsgs().ctx(|| "receive pty master")? {
        if let ControlMessageOwned::ScmRights(fds) = c {
            if let Some(&fd) = fds.first() {
                return Ok(sys::adopt_scm_rights_fd(fd));
            }
        }
    }
    Err(Error::container("terminal: no pty master received"))
}

/// Restores the terminal's settings when dropped.
struct RawMode {
    saved: Option<termios::Termios>,
}

impl RawMode {
    fn enter() -> RawMode {
        let stdin = std::io::stdin();
        let Ok(saved) = termios::tcgetattr(stdin.as_fd()) else {
            return RawMode { saved: None };
        };
        let mut raw = saved.clone();
        termios::cfmakeraw(&mut raw);
        let _ = termios::tcsetattr(stdin.as_fd(), termios::SetArg::TCSANOW, &raw);
        RawMode { saved: Some(saved) }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if let Some(s) = &self.saved {
            let _ = termios::tcsetattr(std::io::stdin().as_fd(), termios::SetArg::TCSANOW, s);
        }
    }
}

/// What `run`, `restore` and `exec` set up before the container's program can run, in this
/// order: hull a child subreaper (`subreaper`), then, when hull stays in the foreground,
/// every signal it relays blocked and routed to the returned signalfd for [`supervise`].
/// Called before the process exists (before `create` clones the init, before CRIU is
/// started), so a signal sent to hull meanwhile is kept and forwarded once the program runs,
/// as runc's handler is installed first, instead of killing hull and orphaning the
/// container. The mask reaches no program: the init and exec'd processes reset it before
/// execve (`process::launch`), and what hull spawns meanwhile (criu, hooks, newuidmap)
/// starts unblocked (`sys::exec_unblocked`). `None` when detached: nothing is blocked.
pub fn relay_signals(subreaper: bool, foreground: bool) -> Result<Option<SignalFd>> {
    if subreaper {
        sys::prctl(libc::PR_SET_CHILD_SUBREAPER, 1).ctx(|| "prctl(PR_SET_CHILD_SUBREAPER)")?;
    }
    if !foreground {
        return Ok(None);
    }
    let mut mask = nix::sys::signal::SigSet::all();
    mask.remove(nix::sys::signal::Signal::SIGKILL);
    mask.remove(nix::sys::signal::Signal::SIGSTOP);
    mask.thread_block().ctx(|| "block signals")?;
    SignalFd::with_flags(&mask, nix::sys::signalfd::SfdFlags::SFD_CLOEXEC)
        .ctx(|| "signalfd")
        .map(Some)
}

/// Supervises a foreground child: forwards signals to it, relays `master` (if any) to our
/// stdin/stdout with the terminal in raw mode and window-size changes passed on, reaps it,
/// and returns its exit code (128+signal when killed). Signals must already be blocked and
/// routed to `sigfd`.
///
/// The master is non-blocking and typed input waits in a buffer until the pty takes it, so
/// a program that does not read its input can never stop its output from being relayed;
/// once every slave end is closed (EIO) the master is no longer polled, so a program that
/// closed its terminal but keeps running costs no CPU.
pub fn supervise(pid: i32, master: Option<OwnedFd>, sigfd: &SignalFd) -> Result<i32> {
    let _raw = master.as_ref().map(|_| RawMode::enter());
    if let Some(m) = &master {
        if let Ok((r, c)) = sys::get_winsize(std::io::stdin().as_fd()) {
            let _ = sys::set_winsize(m.as_fd(), r, c);
        }
        let fl = nix::fcntl::fcntl(m, nix::fcntl::FcntlArg::F_GETFL).ctx(|| "pty: F_GETFL")?;
        nix::fcntl::fcntl(
            m,
            nix::fcntl::FcntlArg::F_SETFL(OFlag::from_bits_retain(fl) | OFlag::O_NONBLOCK),
        )
        .ctx(|| "pty: O_NONBLOCK")?;
    }
    let mut master_open = master.is_some();
    let mut stdin_open = master.is_some();
    let mut pending: Vec<u8> = Vec::new();
    let mut buf = [0u8; 8192];
    let stdin = std::io::stdin();
    loop {
        if let Some(code) = reap(pid) {
            // Relay what the program wrote before it exited.
            if let (Some(m), true) = (&master, master_open) {
                drain(m.as_fd(), &mut buf);
            }
            return Ok(code);
        }
        // Slots: 0 signals, 1 master (in, and out while input is pending), 2 stdin.
        let mut fds = vec![PollFd::new(sigfd.as_fd(), PollFlags::POLLIN)];
        let mut slot_master = None;
        let mut slot_stdin = None;
        if let (Some(m), true) = (&master, master_open) {
            let mut ev = PollFlags::POLLIN;
            if !pending.is_empty() {
                ev |= PollFlags::POLLOUT;
            }
            slot_master = Some(fds.len());
            fds.push(PollFd::new(m.as_fd(), ev));
            // Input is read only when the previous input has gone to the pty.
            if stdin_open && pending.is_empty() {
                slot_stdin = Some(fds.len());
                fds.push(PollFd::new(stdin.as_fd(), PollFlags::POLLIN));
            }
        }
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e).ctx(|| "poll"),
        }
        let revents: Vec<PollFlags> = fds
            .iter()
            .map(|f| f.revents().unwrap_or(PollFlags::empty()))
            .collect();
        drop(fds);
        if !revents[0].is_empty() {
            if let Ok(Some(si)) = sigfd.read_signal() {
                let sig = si.ssi_signo as i32;
                if sig == libc::SIGWINCH {
                    if let (Some(m), Ok((r, c))) = (&master, sys::get_winsize(stdin.as_fd())) {
                        let _ = sys::set_winsize(m.as_fd(), r, c);
                    }
                } else if sig != libc::SIGCHLD
                    && sig != libc::SIGURG
                    // A SIGPIPE hull raised itself (a write to a hook's stdin it had closed
                    // while the signals were blocked) is not the caller's to pass on.
                    && !(sig == libc::SIGPIPE && si.ssi_pid == std::process::id())
                {
                    if let Ok(s) = nix::sys::signal::Signal::try_from(sig) {
                        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), s);
                    }
                }
            }
        }
        let Some(m) = &master else { continue };
        if let Some(i) = slot_master {
            let r = revents[i];
            if r.intersects(PollFlags::POLLIN | PollFlags::POLLHUP | PollFlags::POLLERR) {
                match nix::unistd::read(m, &mut buf) {
                    Ok(n) if n > 0 => {
                        let mut out = std::io::stdout();
                        let _ = out.write_all(&buf[..n]);
                        let _ = out.flush();
                    }
                    Err(nix::errno::Errno::EAGAIN) | Err(nix::errno::Errno::EINTR) => {}
                    // EIO: every slave end is closed. Keep waiting for the program only.
                    _ => {
                        master_open = false;
                        pending.clear();
                    }
                }
            }
            if master_open && r.contains(PollFlags::POLLOUT) && !pending.is_empty() {
                match nix::unistd::write(m, &pending) {
                    Ok(n) => {
                        pending.drain(..n);
                    }
                    Err(nix::errno::Errno::EAGAIN) | Err(nix::errno::Errno::EINTR) => {}
                    Err(_) => pending.clear(),
                }
            }
        }
        if let Some(i) = slot_stdin {
            if !revents[i].is_empty() {
                // Unbuffered: what is typed goes to the pty as soon as it arrives.
                match nix::unistd::read(stdin.as_fd(), &mut buf) {
                    Ok(0) => stdin_open = false,
                    Ok(n) => pending.extend_from_slice(&buf[..n]),
                    Err(nix::errno::Errno::EAGAIN) | Err(nix::errno::Errno::EINTR) => {}
                    Err(_) => stdin_open = false,
                }
            }
        }
    }
}

/// Copies what the master still holds to stdout (it is non-blocking by now).
fn drain(m: BorrowedFd<'_>, buf: &mut [u8]) {
    let mut out = std::io::stdout();
    while let Ok(n) = nix::unistd::read(m, buf) {
        if n == 0 {
            break;
        }
        let _ = out.write_all(&buf[..n]);
    }
    let _ = out.flush();
}

/// Reaps exited children; returns `pid`'s exit code once it has exited.
pub fn reap(pid: i32) -> Option<i32> {
    use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
    loop {
        match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(p, c)) if p.as_raw() == pid => return Some(c),
            Ok(WaitStatus::Signaled(p, s, _)) if p.as_raw() == pid => return Some(128 + s as i32),
            Ok(WaitStatus::StillAlive) | Err(_) => return None,
            Ok(_) => continue,
        }
    }
}
