//! The runtime library's error type. Every message names what was wrong and where
//! (a config field, a path, a syscall), because engines show it to users verbatim.

use std::io;

/// Result alias used throughout hull.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can make a hull operation fail.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The bundle's config.json is invalid: `field` names the spec path (`linux.namespaces[2].path`).
    #[error("{field}: {msg}")]
    Config { field: String, msg: String },
    /// A system call failed; `what` says which and on what (`mount /proc`, `open /run/hull/x`).
    #[error("{what}: {source}")]
    Sys {
        what: String,
        #[source]
        source: io::Error,
    },
    /// The container is missing, in the wrong state, or the request makes no sense for it.
    #[error("{0}")]
    Container(String),
    /// An error reported by the container's init process over the sync channel.
    #[error("{0}")]
    Init(String),
    /// A hook failed.
    #[error("{0}")]
    Hook(String),
}

impl Error {
    /// A config.json validation error on `field`.
    pub fn config(field: impl Into<String>, msg: impl std::fmt::Display) -> Self {
        Error::Config {
            field: field.into(),
            msg: msg.to_string(),
        }
    }
    /// A container-level error.
    pub fn container(msg: impl std::fmt::Display) -> Self {
        Error::Container(msg.to_string())
    }
}

/// Attaches "what was being done" to io and nix errors: `.ctx(|| format!("mount {dst}"))`.
pub trait Context<T> {
    /// Wrap the error with a lazily built description of the failed operation.
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

impl Error {
    /// The raw errno behind a syscall error, if any.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Error::Sys { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }
}

/// The cgroup drivers' errors keep their shape: a config field stays a config error, a
/// failed syscall keeps its errno.
impl From<hull_cgroups::Error> for Error {
    fn from(e: hull_cgroups::Error) -> Self {
        match e {
            hull_cgroups::Error::Config { field, msg } => Error::Config { field, msg },
            hull_cgroups::Error::Sys { what, source } => Error::Sys { what, source },
            hull_cgroups::Error::Other(m) => Error::Container(m),
        }
    }
}

/// The seccomp compiler's errors keep their shape too.
impl From<hull_seccomp::Error> for Error {
    fn from(e: hull_seccomp::Error) -> Self {
        match e {
            hull_seccomp::Error::Config { field, msg } => Error::Config { field, msg },
            hull_seccomp::Error::Sys { what, source } => Error::Sys { what, source },
        }
    }
}
