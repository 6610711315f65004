//! hull-seccomp: seccomp (config-linux.md "Seccomp"): compiles `linux.seccomp` into classic BPF with a
//! generator of hull's own, and loads it as late as the profile allows.
//!
//! Why not `seccompiler` (or libseccomp): seccompiler has no `SCMP_ACT_NOTIFY` and builds
//! one architecture per filter, while Docker's profiles cover x86_64, i386 and x32 in one
//! filter and the x86_64/x32 split must test `__X32_SYSCALL_BIT`; runc's ENOSYS stub would
//! also have to be patched into its output as runc patches libseccomp's. libseccomp is a C
//! library (and a build dependency engines' hosts do not always have). The generator needed
//! is small: [`bpf`] assembles and interprets, [`compile`] lays out the filter, [`arch`] maps
//! names to numbers with tables generated from the kernel headers (`hack/gen-syscalls.py`).
//! docs/seccomp.md describes the layout, the ENOSYS stub and the notify protocol.
//!
//! It knows no container: the runtime library hands the listener fd of `SCMP_ACT_NOTIFY` to
//! the agent (`seccomp_notify` there).
//!
//! `compile` runs early (in `create`/`exec`, before anything is cloned) so that a bad profile
//! is a config error naming the field; `Program::install` runs in the container process.

// The tests fork and make raw syscalls to run filters for real; the crate itself has no unsafe.
#![cfg_attr(not(test), forbid(unsafe_code))]

pub mod arch;
pub mod bpf;
pub mod compile;
mod error;
mod syscalls;

use std::os::fd::OwnedFd;
use std::path::PathBuf;

use oci_spec::runtime::LinuxSeccomp;

pub use error::{Error, Result};

/// A compiled, ready-to-load seccomp filter.
#[derive(Debug, Clone)]
pub struct Program {
    filter: Vec<bpf::SockFilter>,
    flags: u32,
    listener: Option<Listener>,
}

/// Where the user-notification fd goes (`listenerPath`, `listenerMetadata`).
#[derive(Debug, Clone)]
pub struct Listener {
    pub path: PathBuf,
    pub metadata: Option<String>,
}

/// When, in the container process's setup, the filter is loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Without no_new_privs loading a filter needs CAP_SYS_ADMIN: before the user switch and
    /// capability changes drop it (runc's order).
    BeforeUserSwitch,
    /// With no_new_privs and a listener: at the end of setup, so the listener fd reaches the
    /// runtime (and the agent) while `create`/`exec` still runs.
    EndOfSetup,
    /// With no_new_privs and no listener: right before execve, so the filter sees nothing but
    /// the container's program.
    BeforeExec,
}

/// Compiles the profile. Errors name the field: `linux.seccomp.syscalls[3].names[0]: ...`.
pub fn compile(seccomp: &LinuxSeccomp) -> Result<Program> {
    let c = compile::compile(seccomp)?;
    // Debug, not warning, as in runc: profiles list names of every architecture (Docker's
    // and podman's defaults name a dozen this kernel lacks), and podman gives hull no --log,
    // so a warning would reach the user's terminal on every container start.
    for w in &c.unknown {
        log::debug!("{w}");
    }
    log::debug!(
        "seccomp: {} BPF instructions, filter flags {:#x}",
        c.filter.len(),
        c.flags
    );
    let listener = (c.flags & compile::FLAG_NEW_LISTENER != 0).then(|| Listener {
        path: seccomp.listener_path().clone().unwrap_or_default(),
        metadata: seccomp.listener_metadata().clone(),
    });
    Ok(Program {
        filter: c.filter,
        flags: c.flags,
        listener,
    })
}

impl Program {
    /// Loads the filter into the calling thread (TSYNC: and its siblings). Returns the
    /// user-notification listener fd when the profile uses `SCMP_ACT_NOTIFY`.
    pub fn install(&self) -> Result<Option<OwnedFd>> {
        let mut r = hull_sys::seccomp_set_mode_filter(self.flags, &self.filter);
        let wait_kill = compile::FLAG_WAIT_KILLABLE_RECV;
        if self.flags & wait_kill != 0
            && r.as_ref().err().and_then(|e| e.raw_os_error()) == Some(libc::EINVAL)
        {
            // Kernels before 5.19 lack it; libseccomp drops it there too.
            r = hull_sys::seccomp_set_mode_filter(self.flags & !wait_kill, &self.filter);
        }
        r.map_err(|e| {
            let hint = match e.raw_os_error() {
                Some(libc::EACCES) => " (needs CAP_SYS_ADMIN or noNewPrivileges)",
                Some(libc::EINVAL) => " (a flag this kernel does not support?)",
                _ => "",
            };
            Error::Sys {
                what: format!(
                    "linux.seccomp: load the filter (flags {:#x}){hint}",
                    self.flags
                ),
                source: e,
            }
        })
    }

    /// Whether the profile uses `SCMP_ACT_NOTIFY` (the listener fd must be sent to
    /// `listenerPath` by the runtime).
    pub fn needs_listener(&self) -> bool {
        self.listener.is_some()
    }

    /// The agent to send the listener fd to.
    pub fn listener(&self) -> Option<&Listener> {
        self.listener.as_ref()
    }

    /// When to load the filter, given `process.noNewPrivileges`.
    pub fn stage(&self, no_new_privs: bool) -> Stage {
        match (no_new_privs, self.needs_listener()) {
            (false, _) => Stage::BeforeUserSwitch,
            (true, true) => Stage::EndOfSetup,
            (true, false) => Stage::BeforeExec,
        }
    }

    /// The BPF instructions (for tests and `--debug`).
    pub fn filter(&self) -> &[bpf::SockFilter] {
        &self.filter
    }

    /// The `SECCOMP_FILTER_FLAG_*` bits passed to seccomp(2).
    pub fn flags(&self) -> u32 {
        self.flags
    }
}

/// What `hull features` reports under `linux.seccomp`.
pub fn features() -> serde_json::Value {
    serde_json::json!({
        "enabled": true,
        "actions": [
            "SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
            "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY", "SCMP_ACT_TRACE",
            "SCMP_ACT_TRAP"
        ],
        "operators": [
            "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT",
            "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"
        ],
        "archs": ["SCMP_ARCH_X32", "SCMP_ARCH_X86", "SCMP_ARCH_X86_64"],
        "knownFlags": [
            "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
            "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"
        ],
        "supportedFlags": [
            "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
            "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"
        ]
    })
}

#[cfg(test)]
mod tests;
