//! The cgroup drivers' errors. Every message names what was wrong and where: a
//! `linux.resources` field the host cannot apply, or the cgroup file a write failed on.

use std::io;

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a cgroup operation failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A config field (`linux.resources.memory.limit`, `linux.cgroupsPath`) is invalid or
    /// cannot be applied on this host.
    #[error("{field}: {msg}")]
    Config { field: String, msg: String },
    /// A system call failed; `what` says which and on what (`write .../memory.max`).
    #[error("{what}: {source}")]
    Sys {
        what: String,
        #[source]
        source: io::Error,
    },
    /// Anything else (a cgroup in an unexpected state, an unknown persisted mode).
    #[error("{0}")]
    Other(String),
}

impl Error {
    /// An error on config field `field`.
    pub fn config(field: impl Into<String>, msg: impl std::fmt::Display) -> Self {
        Error::Config {
            field: field.into(),
            msg: msg.to_string(),
        }
    }
    /// An error that is neither a config field nor a failed syscall.
    pub fn msg(msg: impl std::fmt::Display) -> Self {
        Error::Other(msg.to_string())
    }
}

/// Attaches "what was being done" to io and nix errors: `.ctx(|| format!("write {path}"))`.
pub trait Context<T> {
    /// Wraps the error with a lazily built description of the failed operation.
    fn ctx<S: Into<String>>(self, what: impl FnOnce() -> S) -> Result<T>;
}

impl<T> Context<T> for std::result::Result<T, io::Error> {
    fn ctx<S: Into<String>>(self, what: impl FnOnce() -> S) -> Result<T> {
        self.map_err(|source| Error::Sys {
            what: what().into(),
            source,
        })
    }
}

impl<T> Context<T> for std::result::Result<T, nix::Error> {
    fn ctx<S: Into<String>>(self, what: impl FnOnce() -> S) -> Result<T> {
        self.map_err(|e| Error::Sys {
            what: what().into(),
            source: io::Error::from_raw_os_error(e as i32),
        })
    }
}
