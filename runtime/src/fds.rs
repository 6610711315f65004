//! The caller's file descriptors in a container process (the init, or an exec'd process).
//!
//! Every fd hull opens itself is close-on-exec. The fds *without* FD_CLOEXEC are the ones
//! the caller (an engine, a shell) left open when it ran hull: those in the preserved range
//! `3..3+preserve_fds` (`--preserve-fds`, `LISTEN_FDS`) are the container's, every other one
//! is the host's. [`take`] runs first thing in the new process: it closes the host's and
//! marks the container's close-on-exec, so that until the final `execve` nothing the caller
//! left open reaches a hook (createContainer and startContainer hooks are execve'd by the
//! init) or lingers in a created container's init. [`Passed::release`] makes the container's
//! inheritable again right before the program's `execve`.
//!
//! The sweep walks /proc/self/fd and uses fcntl(2), never close_range(2): it runs before
//! any seccomp filter is loaded, but a filter or an older kernel may refuse close_range
//! anyway, and fcntl on a known list is all the sweep needs.

use std::os::fd::RawFd;

use crate::error::{Context, Error, Result};
use crate::sys;

/// The caller's fds handed to the container's program, held close-on-exec until
/// [`Passed::release`].
#[derive(Debug, Default)]
pub struct Passed {
    fds: Vec<RawFd>,
}

/// Closes every inheritable fd from `3 + preserve_fds` up and marks the inheritable ones
/// below it close-on-exec, returning those.
pub fn take(preserve_fds: u32) -> Result<Passed> {
    let first = 3i64 + i64::from(preserve_fds);
    let mut passed = Passed::default();
    for fd in open_fds() {
        if fd < 3 || !sys::fd_is_inheritable(fd) {
            continue;
        }
        if i64::from(fd) >= first {
            // The host's: gone now, not at execve.
            let _ = nix::unistd::close(fd);
        } else {
            sys::set_cloexec(fd).ctx(|| format!("--preserve-fds: fcntl(fd {fd}, F_SETFD)"))?;
            passed.fds.push(fd);
        }
    }
    Ok(passed)
}

impl Passed {
    /// Clears FD_CLOEXEC on the passed fds, for the program's `execve`. Idempotent.
    pub fn release(&mut self) -> Result<()> {
        for fd in self.fds.drain(..) {
            sys::clear_cloexec(fd).ctx(|| format!("--preserve-fds: fcntl(fd {fd}, F_SETFD)"))?;
        }
        Ok(())
    }

    /// Whether any fd is held for the program.
    pub fn is_empty(&self) -> bool {
        self.fds.is_empty()
    }
}

/// The open fds: from /proc/self/fd, or (no procfs) by asking fcntl about every number
/// below the RLIMIT_NOFILE soft limit (no fd can be at or above it).
fn open_fds() -> Vec<RawFd> {
    if let Ok(rd) = std::fs::read_dir("/proc/self/fd") {
        // The directory's own fd is in the list; it is close-on-exec and closed by then.
        let fds: Vec<RawFd> = rd
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse().ok())
            .collect();
        if !fds.is_empty() {
            return fds;
        }
    }
    let limit = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
        .map(|(soft, _)| soft)
        .unwrap_or(1024)
        .min(1 << 20) as RawFd;
    (0..limit).filter(|fd| sys::fd_is_open(*fd)).collect()
}

/// The fds from 3 up that pass to the container: `LISTEN_FDS` (systemd socket activation,
/// only when `LISTEN_PID` says they are for this process, as runc checks: an ancestor's
/// inherited variables must not hand its fds over) then `--preserve-fds`. Returns their
/// count and the environment the container gets for them. Every one must be open, as in
/// runc: a gap would be filled by one of hull's own fds.
pub(crate) fn passed(preserve: u32) -> Result<(u32, Vec<String>)> {
    let mut env = Vec::new();
    let mut listen = 0;
    let for_us = std::env::var("LISTEN_PID")
        .ok()
        .and_then(|p| p.parse::<u32>().ok())
        == Some(std::process::id());
    if let Some(n) = std::env::var("LISTEN_FDS")
        .ok()
        .and_then(|v| v.parse::<u32>().ok())
        .filter(|n| *n > 0 && for_us)
    {
        listen = n;
        env.push(format!("LISTEN_FDS={n}"));
        env.push("LISTEN_PID=1".into());
    }
    let total = listen.saturating_add(preserve);
    for fd in 3..3u32.saturating_add(total) {
        // The --log file is hull's own even though it is open.
        if !sys::fd_is_open(fd as i32) || crate::logging::file_fd() == Some(fd as i32) {
            let what = if fd - 3 < listen {
                format!("LISTEN_FDS={listen}")
            } else {
                format!("--preserve-fds {preserve}")
            };
            return Err(Error::container(format!("{what}: fd {fd} is not open")));
        }
    }
    Ok((total, env))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[test]
    fn open_fds_lists_an_open_fd() {
        let f = std::fs::File::open("/dev/null").expect("open");
        assert!(open_fds().contains(&f.as_raw_fd()));
    }
}
