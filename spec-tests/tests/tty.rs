//! config.md `process.terminal` and runc's console-socket protocol: the pty is made in the
//! container's devpts, its slave is the process's controlling terminal and `/dev/console`,
//! and the master reaches the engine over `--console-socket` with SCM_RIGHTS (a receiver
//! like runc's `recvtty` lives here). Without a console socket, a foreground `run` or
//! `exec -t` relays the terminal itself: driven here from a pty the test opens, checking raw
//! mode, window-size changes and that the outer terminal is restored. `terminal: false`
//! passes stdio through untouched.

use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::json;
use spec_tests::{recv_fd, wait_child, Container};

/// How long any expected output may take to appear before the test fails.
const PATIENCE: Duration = Duration::from_secs(20);

/// A console socket: listens at a path and receives one pty master, as runc's recvtty does.
struct ConsoleSocket {
    path: PathBuf,
    thread: Option<JoinHandle<std::io::Result<(String, OwnedFd)>>>,
}

impl ConsoleSocket {
    fn listen(dir: &Path) -> ConsoleSocket {
        let path = dir.join("console.sock");
        let l = UnixListener::bind(&path).expect("bind console socket");
        let thread = std::thread::spawn(move || {
            let (s, _) = l.accept()?;
            recv_fd(s.as_fd())
        });
        ConsoleSocket {
            path,
            thread: Some(thread),
        }
    }

    fn arg(&self) -> String {
        self.path.display().to_string()
    }

    /// The name sent with the master, and the master.
    fn master(&mut self) -> (String, OwnedFd) {
        self.thread
            .take()
            .expect("one master per socket")
            .join()
            .expect("receiver thread")
            .expect("receive the pty master")
    }
}

/// Reads from `fd` until what was read contains `want`; returns everything read.
#[track_caller]
fn read_until(fd: BorrowedFd<'_>, want: &str) -> String {
    let mut got = Vec::new();
    let t = Instant::now();
    loop {
        if String::from_utf8_lossy(&got).contains(want) {
            return String::from_utf8_lossy(&got).into_owned();
        }
        let left = PATIENCE.saturating_sub(t.elapsed());
        assert!(
            !left.is_zero(),
            "never read {want:?}; got {:?}",
            String::from_utf8_lossy(&got)
        );
        let mut p = libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let r = unsafe { libc::poll(&mut p, 1, left.as_millis().min(1000) as i32) };
        if r <= 0 {
            continue;
        }
        let mut buf = [0u8; 4096];
        // SAFETY: `buf` is a valid writable buffer of its length.
        let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        assert!(
            n > 0,
            "EOF/EIO before {want:?}; got {:?}",
            String::from_utf8_lossy(&got)
        );
        got.extend_from_slice(&buf[..n as usize]);
    }
}

fn write_fd(fd: BorrowedFd<'_>, s: &str) {
    let mut f = std::fs::File::from(fd.try_clone_to_owned().expect("dup"));
    f.write_all(s.as_bytes()).expect("write to pty");
}

/// Opens a pty pair with the given size: (master, slave).
fn openpty(rows: u16, cols: u16) -> (OwnedFd, OwnedFd) {
    let (mut m, mut s) = (-1, -1);
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: valid out-pointers for the two fds; a null name buffer and termios are allowed.
    let r = unsafe { libc::openpty(&mut m, &mut s, std::ptr::null_mut(), std::ptr::null(), &ws) };
    assert_eq!(r, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: openpty just returned these two fds to us.
    let (m, s) = unsafe { (OwnedFd::from_raw_fd(m), OwnedFd::from_raw_fd(s)) };
    for fd in [&m, &s] {
        // SAFETY: F_SETFD on an fd we own.
        unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) };
    }
    (m, s)
}

fn set_winsize(fd: BorrowedFd<'_>, rows: u16, cols: u16) {
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads one winsize from a valid pointer.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
    assert_eq!(r, 0, "TIOCSWINSZ");
}

/// The terminal settings of the pty `fd` belongs to (on a master: its slave's).
fn termios(fd: BorrowedFd<'_>) -> libc::termios {
    // SAFETY: termios is plain data; tcgetattr fills it.
    unsafe {
        let mut t: libc::termios = std::mem::zeroed();
        assert_eq!(libc::tcgetattr(fd.as_raw_fd(), &mut t), 0, "tcgetattr");
        t
    }
}

fn same_termios(a: &libc::termios, b: &libc::termios) -> bool {
    a.c_iflag == b.c_iflag
        && a.c_oflag == b.c_oflag
        && a.c_cflag == b.c_cflag
        && a.c_lflag == b.c_lflag
        && a.c_cc == b.c_cc
}

/// Spawns `cmd` as the session leader of a new session whose controlling terminal is
/// `slave`, with the slave as its stdio (what a terminal emulator does for a shell).
fn spawn_on_pty(mut cmd: Command, slave: OwnedFd) -> Child {
    let err = slave.try_clone().expect("dup slave");
    let out = slave.try_clone().expect("dup slave");
    cmd.stdin(Stdio::from(slave))
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err));
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd.spawn().expect("spawn on pty")
}

/// A container config whose process runs interactively on a terminal.
fn terminal_config(c: &mut Container, args: &[&str]) {
    c.args(args);
    c.config["process"]["terminal"] = json!(true);
}

#[test]
fn console_socket_receives_the_master() {
    let mut c = Container::new("ttysock");
    terminal_config(&mut c, &["sh"]);
    c.config["process"]["consoleSize"] = json!({"height": 30, "width": 100});
    let mut sock = ConsoleSocket::listen(&c.scratch("sock"));
    c.create_with(&["--console-socket", &sock.arg()]).ok();
    let (name, master) = sock.master();
    assert_eq!(name, "/dev/pts/0", "payload names the pty");
    c.start().ok();
    c.wait_status("running");
    let m = master.as_fd();
    // The typed line is echoed by the terminal, then the shell's output follows.
    write_fd(m, "echo hi-$((1+2))\n");
    let out = read_until(m, "hi-3\r\n");
    assert!(out.contains("echo hi-$((1+2))\r\n"), "no echo: {out:?}");
    write_fd(m, "stty size; echo size-$((0))done\n");
    let out = read_until(m, "size-0done\r\n");
    assert!(
        out.contains("30 100\r\n"),
        "consoleSize not applied: {out:?}"
    );
    write_fd(m, "tty; echo tty-$((0))done\n");
    assert!(read_until(m, "tty-0done\r\n").contains("/dev/pts/0\r\n"));
    // The slave is PID 1's controlling terminal (tty_nr = pts 0: major 136, minor 0), it
    // leads its session, and /dev/console is the same pty.
    write_fd(
        m,
        "cut -d' ' -f6,7 /proc/1/stat; stat -L -c 'dev %t:%T' /dev/console /dev/pts/0; \
         echo ctty >/dev/tty; grep -c ' /dev/console ' /proc/self/mountinfo; echo st-$((0))done\n",
    );
    let out = read_until(m, "st-0done\r\n");
    assert!(out.contains("\r\n1 34816\r\n"), "ctty/session: {out:?}");
    assert_eq!(
        out.matches("dev 88:0\r\n").count(),
        2,
        "/dev/console is the pty (136 = 0x88): {out:?}"
    );
    assert!(out.contains("ctty\r\n"), "/dev/tty unusable: {out:?}");
    assert!(
        out.contains("\r\n1\r\n"),
        "/dev/console is a mount: {out:?}"
    );
    write_fd(m, "exit 4\n");
    c.wait_status("stopped");
}

#[test]
fn exec_tty_with_console_socket() {
    let mut c = Container::new("ttyexec");
    c.args(&["sleep", "600"]);
    c.create().ok();
    c.start().ok();
    c.wait_status("running");
    // Foreground, as `runc exec -t --console-socket`: hull waits for the process.
    let mut sock = ConsoleSocket::listen(&c.scratch("sock"));
    let mut cmd = c.hull_cmd();
    cmd.args(["exec", "-t", "--console-socket", &sock.arg(), &c.id, "sh"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = cmd.spawn().expect("spawn exec");
    let (name, master) = sock.master();
    assert!(name.starts_with("/dev/pts/"), "{name}");
    let m = master.as_fd();
    write_fd(m, "tty; stty size; echo $((6*7)); exit 3\n");
    let out = read_until(m, "42\r\n");
    assert!(out.contains(&format!("{name}\r\n")), "{out:?}");
    assert_eq!(wait_child(&mut child), 3);

    // Detached with a process JSON, as containerd's shim does.
    let mut sock = ConsoleSocket::listen(&c.scratch("sock2"));
    let p = json!({
        "terminal": true,
        "consoleSize": {"height": 11, "width": 55},
        "args": ["sh", "-c",
                 "stty size; echo nr-$(cut -d' ' -f7 /proc/self/stat)-end; read x; echo got-$x"],
        "env": ["PATH=/bin"],
        "cwd": "/",
        "user": {"uid": 0, "gid": 0},
    });
    let f = c.scratch("proc").join("process.json");
    std::fs::write(&f, p.to_string()).expect("process.json");
    let pf = c.scratch("proc").join("pid");
    let mut cmd = c.hull_cmd();
    cmd.args([
        "exec",
        "--detach",
        "--console-socket",
        &sock.arg(),
        "--pid-file",
    ])
    .arg(&pf)
    .arg("--process")
    .arg(&f)
    .arg(&c.id)
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(Stdio::null());
    let mut child = cmd.spawn().expect("spawn exec");
    let (_, master) = sock.master();
    assert_eq!(wait_child(&mut child), 0, "detached exec returns at once");
    let pid: i32 = std::fs::read_to_string(&pf)
        .expect("pid file")
        .parse()
        .expect("pid");
    let m = master.as_fd();
    let out = read_until(m, "-end\r\n");
    assert!(out.starts_with("11 55\r\n"), "consoleSize: {out:?}");
    let tty_nr: i32 = out
        .split("nr-")
        .nth(1)
        .and_then(|l| l.split('-').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(tty_nr >> 8 == 136, "a pts is the controlling tty: {out:?}");
    write_fd(m, "pong\n");
    read_until(m, "got-pong\r\n");
    let t = Instant::now();
    while spec_tests::process_alive(pid) {
        assert!(t.elapsed() < PATIENCE, "exec'd process did not exit");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn terminal_false_passes_stdio_through() {
    let mut c = Container::new("ttyoff");
    c.sh("for f in 0 1 2; do readlink /proc/self/fd/$f; done; cat");
    c.write_config();
    let b = c.bundle.display().to_string();
    let mut cmd = c.hull_cmd();
    cmd.args(["run", "--bundle", &b, &c.id])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn run");
    let pipe_of = |fd: i32| {
        std::fs::read_link(format!("/proc/self/fd/{fd}"))
            .expect("readlink")
            .display()
            .to_string()
    };
    let want = [
        pipe_of(child.stdin.as_ref().expect("stdin").as_raw_fd()),
        pipe_of(child.stdout.as_ref().expect("stdout").as_raw_fd()),
        pipe_of(child.stderr.as_ref().expect("stderr").as_raw_fd()),
    ];
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(b"through the pipe\n").expect("write");
    drop(stdin);
    let out = spec_tests::read_all(child.stdout.take().expect("stdout"));
    assert_eq!(wait_child(&mut child), 0);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[..3],
        want,
        "the container's stdio are the caller's pipes"
    );
    assert!(want[0].starts_with("pipe:"));
    assert_eq!(lines[3], "through the pipe");

    // exec too.
    let mut c = Container::new("ttyoffexec");
    c.args(&["sleep", "600"]);
    c.create().ok();
    c.start().ok();
    let mut cmd = c.hull_cmd();
    cmd.args(["exec", &c.id, "readlink", "/proc/self/fd/1"])
        .stdout(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn exec");
    let want = pipe_of(child.stdout.as_ref().expect("stdout").as_raw_fd());
    let out = spec_tests::read_all(child.stdout.take().expect("stdout"));
    assert_eq!(wait_child(&mut child), 0);
    assert_eq!(out.trim(), want);
}

/// Drives an interactive shell that `cmd` runs on a terminal the test owns: types into it,
/// resizes it, checks raw mode while it runs and the original mode after; `exit 7` ends it.
fn drive_foreground(cmd: Command) {
    let (master, slave) = openpty(24, 80);
    let m = master.as_fd();
    let before = termios(m);
    assert!(before.c_lflag & libc::ICANON != 0 && before.c_lflag & libc::ECHO != 0);
    // A slave kept open here keeps the pty's settings readable after hull has exited.
    let keep = slave.try_clone().expect("dup slave");
    let mut child = spawn_on_pty(cmd, slave);
    write_fd(m, "echo typed-$((40+2))\n");
    // Lines end in `\n` alone: the relayed pty does not add `\r` (ONLCR off, as runc's
    // recvtty leaves it), the outer terminal does that.
    let out = read_until(m, "typed-42\n");
    assert!(out.contains("echo typed-$((40+2))"), "{out:?}");
    // hull holds the outer terminal in raw mode; the inner one does the line discipline.
    let raw = termios(m);
    assert_eq!(raw.c_lflag & (libc::ICANON | libc::ECHO | libc::ISIG), 0);
    write_fd(m, "tty; stty size\n");
    let out = read_until(m, "24 80\n");
    assert!(out.contains("/dev/pts/"), "{out:?}");
    // A resize of the outer terminal reaches the inner one (SIGWINCH → TIOCSWINSZ).
    set_winsize(m, 40, 120);
    write_fd(m, "stty size\n");
    read_until(m, "40 120\n");
    set_winsize(m, 50, 132);
    write_fd(m, "stty size\n");
    read_until(m, "50 132\n");
    // ^C goes to the container's foreground program, not to hull.
    // `cat` echoing a line back proves it is the foreground program reading the terminal.
    // (Once the marker is out the shell has handed the terminal, in canonical mode, to cat.)
    write_fd(m, "echo cat-$((1))start; cat\n");
    read_until(m, "cat-1start\n");
    write_fd(m, "ping\n");
    read_until(m, "ping\nping\n");
    write_fd(m, "\x03");
    // The shell discards what was typed while it was busy: wait for its prompt.
    read_until(m, "/ # ");
    write_fd(m, "echo alive-$((1+1))\n");
    read_until(m, "alive-2\n");
    write_fd(m, "exit 7\n");
    assert_eq!(wait_child(&mut child), 7, "exit status of the shell");
    assert!(
        same_termios(&before, &termios(keep.as_fd())),
        "the outer terminal's mode was not restored"
    );
}

#[test]
fn foreground_run_relays_the_terminal() {
    let mut c = Container::new("ttyrun");
    terminal_config(&mut c, &["sh"]);
    c.write_config();
    let mut cmd = c.hull_cmd();
    cmd.arg("run").arg("--bundle").arg(&c.bundle).arg(&c.id);
    drive_foreground(cmd);
    assert!(!c.root.join(&c.id).exists(), "run deleted the container");
}

#[test]
fn foreground_exec_tty_relays_the_terminal() {
    let mut c = Container::new("ttyexecfg");
    c.args(&["sleep", "600"]);
    c.create().ok();
    c.start().ok();
    c.wait_status("running");
    let mut cmd = c.hull_cmd();
    cmd.args(["exec", "-t", &c.id, "sh"]);
    drive_foreground(cmd);
    assert_eq!(c.status(), "running", "the container outlives its exec");
}

#[test]
fn terminal_errors() {
    // A tty needs somewhere to go when hull does not stay to relay it.
    let mut c = Container::new("ttyerr");
    terminal_config(&mut c, &["sh"]);
    let o = c.create();
    o.fails().stderr_has("console socket");
    assert!(!c.root.join(&c.id).exists());
    c.create_with(&["--console-socket", "/no/such/hull.sock"])
        .fails()
        .stderr_has("/no/such/hull.sock");
    assert!(!c.root.join(&c.id).exists());

    let mut c = Container::new("ttyerrexec");
    c.args(&["sleep", "600"]);
    c.create().ok();
    c.hull(&["exec", "-t", "-d", &c.id, "sh"])
        .fails()
        .stderr_has("console socket");
}

/// Samples `pid`'s scheduler state 25 times; returns how often it was running.
fn times_running(pid: u32) -> usize {
    (0..25)
        .filter(|_| {
            std::thread::sleep(Duration::from_millis(20));
            let st = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            st.rsplit_once(") ")
                .is_some_and(|(_, r)| r.starts_with('R'))
        })
        .count()
}

#[test]
fn relay_sleeps_when_the_program_closes_its_terminal() {
    let mut c = Container::new("ttyidle");
    c.args(&["sleep", "600"]);
    c.create().ok();
    c.start().ok();
    c.wait_status("running");
    let (master, slave) = openpty(24, 80);
    let m = master.as_fd();
    let mut cmd = c.hull_cmd();
    cmd.args([
        "exec",
        "-t",
        &c.id,
        "sh",
        "-c",
        "echo clos$((1))ing; exec >&- 2>&- <&-; sleep 3; exit 6",
    ]);
    let mut child = spawn_on_pty(cmd, slave);
    read_until(m, "clos1ing");
    std::thread::sleep(Duration::from_millis(300));
    // hull waits in poll(2) for the program; it must not spin on the hung-up pty.
    let busy = times_running(child.id());
    assert!(busy <= 8, "hull was running in {busy} of 25 samples");
    assert_eq!(wait_child(&mut child), 6);
}

#[test]
fn foreground_size_is_set_before_the_program_runs() {
    // The program's first look at its terminal already sees the outer size (not 0 0, not
    // whatever the relay copies over a moment later).
    let run = |cmd: Command| {
        let (master, slave) = openpty(33, 99);
        let mut child = spawn_on_pty(cmd, slave);
        let out = read_until(master.as_fd(), "-end");
        assert_eq!(wait_child(&mut child), 0);
        out
    };
    let mut c = Container::new("ttysize");
    c.args(&["sleep", "600"]);
    c.create().ok();
    c.start().ok();
    c.wait_status("running");
    for _ in 0..3 {
        let mut cmd = c.hull_cmd();
        cmd.args([
            "exec",
            "-t",
            &c.id,
            "sh",
            "-c",
            "echo size-$(stty size)-end",
        ]);
        let out = run(cmd);
        assert!(out.contains("size-33 99-end"), "{out:?}");
    }
    let mut r = Container::new("ttysizerun");
    terminal_config(&mut r, &["sh", "-c", "echo size-$(stty size)-end"]);
    r.config["process"]["consoleSize"] = json!({"height": 5, "width": 6});
    r.write_config();
    let mut cmd = r.hull_cmd();
    cmd.arg("run").arg("--bundle").arg(&r.bundle).arg(&r.id);
    let out = run(cmd);
    assert!(
        out.contains("size-33 99-end"),
        "the relay's terminal wins: {out:?}"
    );
}

#[test]
fn exec_tty_belongs_to_the_user() {
    // The exec'd user can reopen its terminal by name (`$(tty)`), in a user namespace too:
    // the pty is made by the namespace's root and then given to the user.
    for &userns in spec_tests::userns_variants() {
        let mut c = Container::new("ttyowner");
        c.args(&["sleep", "600"]);
        if userns {
            spec_tests::add_userns(&mut c.config);
        }
        c.create().ok();
        c.start().ok();
        c.wait_status("running");
        let mut sock = ConsoleSocket::listen(&c.scratch("sock"));
        let mut cmd = c.hull_cmd();
        cmd.args([
            "exec",
            "-t",
            "-u",
            "1000",
            "--console-socket",
            &sock.arg(),
            &c.id,
            "sh",
            "-c",
            "stat -c 'owner-%u' $(tty); echo reopened >$(tty); echo do$((1))ne",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        let mut child = cmd.spawn().expect("spawn exec");
        let (_, master) = sock.master();
        let out = read_until(master.as_fd(), "do1ne");
        assert!(out.contains("owner-1000\r\n"), "userns={userns}: {out:?}");
        assert!(out.contains("reopened\r\n"), "userns={userns}: {out:?}");
        assert_eq!(wait_child(&mut child), 0);
    }
}

#[test]
fn exec_tty_next_to_a_terminal_init() {
    // The exec'd process gets a pty of its own; the init keeps its console.
    let mut c = Container::new("ttytwo");
    terminal_config(&mut c, &["sh"]);
    let mut sock = ConsoleSocket::listen(&c.scratch("sock"));
    c.create_with(&["--console-socket", &sock.arg()]).ok();
    let (name, _init_master) = sock.master();
    assert_eq!(name, "/dev/pts/0");
    c.start().ok();
    c.wait_status("running");
    let mut sock = ConsoleSocket::listen(&c.scratch("sock2"));
    let mut cmd = c.hull_cmd();
    cmd.args([
        "exec",
        "-t",
        "--console-socket",
        &sock.arg(),
        &c.id,
        "sh",
        "-c",
    ])
    .arg("tty; stat -L -c 'console-%T' /dev/console; echo do$((1))ne")
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(Stdio::null());
    let mut child = cmd.spawn().expect("spawn exec");
    let (name, master) = sock.master();
    assert_eq!(name, "/dev/pts/1");
    let out = read_until(master.as_fd(), "do1ne");
    assert!(out.starts_with("/dev/pts/1\r\n"), "{out:?}");
    assert!(
        out.contains("console-0\r\n"),
        "/dev/console is still the init's: {out:?}"
    );
    assert_eq!(wait_child(&mut child), 0);
}
