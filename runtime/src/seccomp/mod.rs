//! Seccomp: compiles `linux.seccomp` into classic BPF and installs it just before `execve`.
//!
//! `compile` runs early (in `create`, before the init is cloned) so that a bad profile is a
//! config error with the field named; `Program::install` runs in the init, as late as possible.

use std::os::fd::OwnedFd;

use oci_spec::runtime::LinuxSeccomp;

use crate::error::{Error, Result};

/// A compiled, ready-to-load seccomp filter.
#[derive(Debug, Clone)]
pub struct Program {
    _private: (),
}

/// Compiles the profile. Errors name the field: `linux.seccomp.syscalls[3].names[0]: ...`.
pub fn compile(seccomp: &LinuxSeccomp) -> Result<Program> {
    let _ = seccomp;
    Err(Error::config(
        "linux.seccomp",
        "seccomp is not supported yet",
    ))
}

impl Program {
    /// Loads the filter into the calling thread (and, with TSYNC, its siblings). Returns the
    /// user-notification listener fd when the profile uses `SCMP_ACT_NOTIFY`.
    pub fn install(&self) -> Result<Option<OwnedFd>> {
        Err(Error::config(
            "linux.seccomp",
            "seccomp is not supported yet",
        ))
    }

    /// Whether the profile uses `SCMP_ACT_NOTIFY` (the listener fd must be sent to
    /// `listenerPath` by the runtime).
    pub fn needs_listener(&self) -> bool {
        false
    }
}
