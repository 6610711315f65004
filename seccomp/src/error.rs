//! The seccomp compiler's errors: a profile field that cannot be compiled, or the kernel
//! refusing the filter. Messages name the field (`linux.seccomp.syscalls[3].names[0]: ...`).

use std::io;

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a profile could not be compiled or loaded.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `field` of `linux.seccomp` is invalid.
    #[error("{field}: {msg}")]
    Config { field: String, msg: String },
    /// seccomp(2) refused the filter; `what` says what was being loaded.
    #[error("{what}: {source}")]
    Sys {
        what: String,
        #[source]
        source: io::Error,
    },
}

impl Error {
    /// A profile error on `field`.
    pub fn config(field: impl Into<String>, msg: impl std::fmt::Display) -> Self {
        Error::Config {
            field: field.into(),
            msg: msg.to_string(),
        }
    }
}
