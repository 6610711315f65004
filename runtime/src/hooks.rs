//! Lifecycle hooks (config.md "POSIX-platform Hooks"). A hook gets the container state JSON
//! on stdin, runs with exactly its own `env` (when it has none: the runtime's for hooks run
//! by the runtime, `process.env` for those the container's init runs, as in runc), and is
//! killed when its `timeout` expires.
//! Where a hook runs (runtime or container namespace) is decided by the caller: this module
//! only runs a list of hooks in the calling process's context.

use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::fcntl::OFlag;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use oci_spec::runtime::Hook;

use crate::error::{Error, Result};

/// Runs `hooks` in order with `state` on stdin. The first failure stops the list and is
/// returned, naming the hook kind, its index and path, and what its stderr said.
pub fn run(kind: &str, hooks: Option<&Vec<Hook>>, state: &serde_json::Value) -> Result<()> {
    let Some(hooks) = hooks else { return Ok(()) };
    let input = state.to_string();
    for (i, h) in hooks.iter().enumerate() {
        run_one(h, &input, None, None).map_err(|e| describe(kind, i, h, e))?;
    }
    Ok(())
}

/// [`run`] for the hooks the container's init runs: a hook without `env` gets `env`
/// instead of hull's environment (which is the caller's), and runs in `cwd` if given.
pub fn run_in(
    kind: &str,
    hooks: Option<&Vec<Hook>>,
    state: &serde_json::Value,
    env: &[String],
    cwd: Option<&std::path::Path>,
) -> Result<()> {
    let Some(hooks) = hooks else { return Ok(()) };
    let input = state.to_string();
    for (i, h) in hooks.iter().enumerate() {
        run_one(h, &input, Some(env), cwd).map_err(|e| describe(kind, i, h, e))?;
    }
    Ok(())
}

/// Runs every hook of `hooks` even when some fail, logging each failure as a warning: what
/// the spec asks of poststop hooks ("the remaining hooks and lifecycle continue as if the
/// hook had succeeded"). Since runtime-spec 1.3.0 a poststart failure is an error instead.
pub fn run_warn(kind: &str, hooks: Option<&Vec<Hook>>, state: &serde_json::Value) {
    let Some(hooks) = hooks else { return };
    let input = state.to_string();
    for (i, h) in hooks.iter().enumerate() {
        if let Err(e) = run_one(h, &input, None, None) {
            crate::logging::warn(&describe(kind, i, h, e).to_string());
        }
    }
}

fn describe(kind: &str, i: usize, h: &Hook, e: String) -> Error {
    Error::Hook(format!("hooks.{kind}[{i}] {}: {e}", h.path().display()))
}

/// What a hook may print that is kept for the error message.
const KEEP: usize = 4096;

fn run_one(
    h: &Hook,
    input: &str,
    default_env: Option<&[String]>,
    cwd: Option<&std::path::Path>,
) -> std::result::Result<(), String> {
    let mut cmd = Command::new(h.path());
    if let Some(args) = h.args() {
        if let Some(a0) = args.first() {
            cmd.arg0(a0);
        }
        cmd.args(args.iter().skip(1));
    }
    // `env` given (even empty): exactly that. Absent: the runtime's own environment, as
    // runc does (hooks such as GPU and network plugins rely on PATH being there), or the
    // one the caller says a hook in its place gets.
    if let Some(dir) = cwd {
        cmd.current_dir(dir);
    }
    if let Some(env) = h.env().as_deref().or(default_env) {
        cmd.env_clear();
        for kv in env {
            if let Some((k, v)) = kv.split_once('=') {
                cmd.env(k, v);
            }
        }
    }
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // Not the mask of a foreground `run`/`restore` (tty::relay_signals): a hook, or a daemon
    // it leaves behind, starts with no signal blocked, as under runc.
    crate::sys::exec_unblocked(&mut cmd);
    let mut child = cmd.spawn().map_err(|e| format!("start: {e}"))?;
    // Opened before anything can block, so the timeout covers a hook that never reads.
    let pidfd =
        crate::sys::pidfd_open(child.id() as i32).map_err(|e| format!("pidfd_open: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook that does not read its stdin closes the pipe: EPIPE is not a failure.
        let _ = stdin.write_all(input.as_bytes());
    }
    let timeout = h
        .timeout()
        .filter(|t| *t > 0)
        .map(|t| Duration::from_secs(t as u64));
    let mut out = Output::new(child.stdout.take().map(OwnedFd::from));
    let mut err = Output::new(child.stderr.take().map(OwnedFd::from));
    let status = wait(&mut child, &pidfd, timeout, &mut out, &mut err)?;
    if status.success() {
        return Ok(());
    }
    let why = match (status.code(), status.signal()) {
        (Some(c), _) => format!("exit status {c}"),
        (_, Some(s)) => format!("killed by signal {s}"),
        _ => "failed".into(),
    };
    let mut msg = why;
    for (name, o) in [("stdout", &out), ("stderr", &err)] {
        let text = String::from_utf8_lossy(&o.kept);
        let text = text.trim();
        if !text.is_empty() {
            msg.push_str(&format!(", {name}: {text}"));
        }
    }
    Err(msg)
}

/// One of the hook's output pipes, read as it fills: a hook that prints more than a pipe
/// holds must not block forever, and a daemon it leaves behind holding the pipe must not
/// keep us waiting once the hook itself has exited.
struct Output {
    fd: Option<OwnedFd>,
    kept: Vec<u8>,
}

impl Output {
    fn new(fd: Option<OwnedFd>) -> Self {
        if let Some(f) = &fd {
            let _ = nix::fcntl::fcntl(f, nix::fcntl::FcntlArg::F_SETFL(OFlag::O_NONBLOCK));
        }
        Output {
            fd,
            kept: Vec::new(),
        }
    }

    /// Reads what is there now; closes the pipe at EOF.
    fn drain(&mut self) {
        let Some(fd) = &self.fd else { return };
        let mut buf = [0u8; 4096];
        loop {
            match nix::unistd::read(fd, &mut buf) {
                Ok(0) => {
                    self.fd = None;
                    return;
                }
                Ok(n) => {
                    let room = KEEP.saturating_sub(self.kept.len());
                    self.kept.extend_from_slice(&buf[..n.min(room)]);
                }
                Err(nix::errno::Errno::EINTR) => continue,
                Err(nix::errno::Errno::EAGAIN) => return,
                Err(_) => {
                    self.fd = None;
                    return;
                }
            }
        }
    }
}

/// Waits for `child`, reading its output meanwhile, killing it when `timeout` is up.
fn wait(
    child: &mut std::process::Child,
    pidfd: &OwnedFd,
    timeout: Option<Duration>,
    out: &mut Output,
    err: &mut Output,
) -> std::result::Result<std::process::ExitStatus, String> {
    let deadline = timeout.map(|t| Instant::now() + t);
    loop {
        let ms = match deadline {
            None => PollTimeout::NONE,
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    let _ = child.kill();
                    let _ = child.wait();
                    let t = timeout.unwrap_or_default();
                    return Err(format!("timed out after {}s", t.as_secs()));
                }
                PollTimeout::try_from(left.as_millis().min(i32::MAX as u128) as i32)
                    .unwrap_or(PollTimeout::MAX)
            }
        };
        let mut fds = vec![PollFd::new(pidfd.as_fd(), PollFlags::POLLIN)];
        for o in [&*out, &*err] {
            if let Some(f) = &o.fd {
                fds.push(PollFd::new(f.as_fd(), PollFlags::POLLIN));
            }
        }
        let exited = match poll(&mut fds, ms) {
            Ok(_) => fds[0].any().unwrap_or(false),
            Err(nix::errno::Errno::EINTR) => false,
            Err(e) => return Err(format!("poll: {e}")),
        };
        out.drain();
        err.drain();
        if exited {
            return child.wait().map_err(|e| format!("wait: {e}"));
        }
    }
}

/// Checks every hook up front (config.md): `path` MUST be absolute and a `timeout`, if set,
/// MUST be greater than zero. A bad hook fails `create` before anything exists, rather than
/// at the lifecycle step that would run it.
pub fn validate(h: Option<&oci_spec::runtime::Hooks>) -> Result<()> {
    let Some(h) = h else { return Ok(()) };
    #[allow(deprecated)]
    let kinds = [
        ("prestart", h.prestart()),
        ("createRuntime", h.create_runtime()),
        ("createContainer", h.create_container()),
        ("startContainer", h.start_container()),
        ("poststart", h.poststart()),
        ("poststop", h.poststop()),
    ];
    for (kind, list) in kinds {
        for (i, hook) in list.iter().flatten().enumerate() {
            if !hook.path().is_absolute() {
                return Err(Error::config(
                    format!("hooks.{kind}[{i}].path"),
                    format!("{} is not an absolute path", hook.path().display()),
                ));
            }
            if let Some(t) = hook.timeout().filter(|t| *t <= 0) {
                return Err(Error::config(
                    format!("hooks.{kind}[{i}].timeout"),
                    format!("{t}: must be greater than zero"),
                ));
            }
        }
    }
    Ok(())
}
