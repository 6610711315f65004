//! Lifecycle hooks (config.md "POSIX-platform Hooks"). A hook gets the container state JSON
//! on stdin, runs with exactly its own `env`, and is killed when its `timeout` expires.
//! Where a hook runs (runtime or container namespace) is decided by the caller: this module
//! only runs a list of hooks in the calling process's context.

use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use oci_spec::runtime::Hook;

use crate::error::{Error, Result};

/// Runs `hooks` in order with `state` on stdin. The first failure stops the list and is
/// returned, naming the hook kind, its index and path, and what its stderr said.
pub fn run(kind: &str, hooks: Option<&Vec<Hook>>, state: &serde_json::Value) -> Result<()> {
    let Some(hooks) = hooks else { return Ok(()) };
    let input = state.to_string();
    for (i, h) in hooks.iter().enumerate() {
        run_one(h, &input)
            .map_err(|e| Error::Hook(format!("hooks.{kind}[{i}] {}: {e}", h.path().display())))?;
    }
    Ok(())
}

fn run_one(h: &Hook, input: &str) -> std::result::Result<(), String> {
    let mut cmd = Command::new(h.path());
    if let Some(args) = h.args() {
        if let Some(a0) = args.first() {
            cmd.arg0(a0);
        }
        cmd.args(args.iter().skip(1));
    }
    cmd.env_clear();
    for kv in h.env().iter().flatten() {
        if let Some((k, v)) = kv.split_once('=') {
            cmd.env(k, v);
        }
    }
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| format!("start: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook that does not read its stdin closes the pipe: EPIPE is not a failure.
        let _ = stdin.write_all(input.as_bytes());
    }
    let timeout = h
        .timeout()
        .filter(|t| *t > 0)
        .map(|t| Duration::from_secs(t as u64));
    let status = match timeout {
        None => child.wait().map_err(|e| format!("wait: {e}"))?,
        Some(t) => wait_timeout(&mut child, t)?,
    };
    if status.success() {
        return Ok(());
    }
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut stderr);
    }
    let why = match (status.code(), status.signal()) {
        (Some(c), _) => format!("exit status {c}"),
        (_, Some(s)) => format!("killed by signal {s}"),
        _ => "failed".into(),
    };
    let stderr = stderr.trim();
    Err(if stderr.is_empty() {
        why
    } else {
        format!("{why}: {stderr}")
    })
}

/// Waits for `child` at most `t`, killing it when the time is up.
fn wait_timeout(
    child: &mut std::process::Child,
    t: Duration,
) -> std::result::Result<std::process::ExitStatus, String> {
    let pidfd =
        crate::sys::pidfd_open(child.id() as i32).map_err(|e| format!("pidfd_open: {e}"))?;
    let deadline = Instant::now() + t;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("timed out after {}s", t.as_secs()));
        }
        let ms = PollTimeout::try_from(left.as_millis().min(i32::MAX as u128) as i32)
            .unwrap_or(PollTimeout::MAX);
        let mut fds = [PollFd::new(pidfd.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, ms) {
            Ok(n) if n > 0 => return child.wait().map_err(|e| format!("wait: {e}")),
            Ok(_) | Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(format!("poll: {e}")),
        }
    }
}
