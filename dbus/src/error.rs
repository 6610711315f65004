//! The one error type of the crate.
//!
//! A single enum (rather than one per module) because the systemd driver mostly needs to ask
//! two questions of any failure: "did the peer answer with a D-Bus error, and which one?"
//! (see [`Error::dbus_name`], [`Error::is_no_such_unit`], [`Error::is_unit_exists`]) and "did
//! we give up waiting?" ([`Error::is_timeout`]). Everything else is reported, not handled.

use std::io;
use std::time::Duration;

/// D-Bus error name systemd returns when a unit is not loaded (`GetUnit`, `StopUnit`, ...).
pub const NO_SUCH_UNIT: &str = "org.freedesktop.systemd1.NoSuchUnit";
/// D-Bus error name systemd returns when `StartTransientUnit` names a unit that already exists.
pub const UNIT_EXISTS: &str = "org.freedesktop.systemd1.UnitExists";

/// Everything that can go wrong talking D-Bus.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A system call on the socket failed (connect, read, write, setting a timeout).
    #[error("D-Bus I/O error while {context}: {source}")]
    Io {
        /// What we were doing, so "Connection refused" says which socket and why.
        context: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The D-Bus address string could not be used.
    #[error("D-Bus address {address:?}: {reason}")]
    Address {
        /// The address as given (environment variable or default).
        address: String,
        /// Why no entry of it could be used.
        reason: String,
    },
    /// The SASL handshake did not end in `OK`.
    #[error("D-Bus authentication failed: {0}")]
    Auth(String),
    /// A bounded wait expired.
    #[error("timed out after {timeout:?} waiting for {what}")]
    Timeout {
        /// What we were waiting for (a reply to which method, a job, ...).
        what: String,
        /// How long we waited.
        timeout: Duration,
    },
    /// The peer closed the connection.
    #[error("D-Bus connection closed by the peer")]
    Disconnected,
    /// Bytes from the peer that are not a valid D-Bus message or value.
    #[error("malformed D-Bus data: {0}")]
    Malformed(String),
    /// A value that cannot be put on the wire (bad object path, mistyped array, ...).
    #[error("cannot encode D-Bus value: {0}")]
    Encode(String),
    /// The peer answered a method call with an ERROR message.
    #[error("{name}: {message}")]
    MethodError {
        /// The D-Bus error name, e.g. `org.freedesktop.systemd1.UnitExists`.
        name: String,
        /// The error's human-readable message (first string of its body), maybe empty.
        message: String,
    },
    /// A reply that is well-formed but not what the method is documented to return.
    #[error("unexpected reply to {method}: {detail}")]
    UnexpectedReply {
        /// The method that was called.
        method: String,
        /// What was wrong with the reply.
        detail: String,
    },
    /// Text that is not a GVariant value we can parse (`org.systemd.property.*` annotations).
    #[error("cannot parse {input:?} as a D-Bus value: {reason}")]
    Parse {
        /// The text as given.
        input: String,
        /// What was wrong with it.
        reason: String,
    },
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Wraps an `io::Error` with what we were doing.
    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    /// Shorthand for a decode failure.
    pub(crate) fn malformed(reason: impl Into<String>) -> Self {
        Error::Malformed(reason.into())
    }

    /// Shorthand for an encode failure.
    pub(crate) fn encode(reason: impl Into<String>) -> Self {
        Error::Encode(reason.into())
    }

    /// The D-Bus error name if the peer answered with an ERROR message.
    pub fn dbus_name(&self) -> Option<&str> {
        match self {
            Error::MethodError { name, .. } => Some(name),
            _ => None,
        }
    }

    /// True if systemd said the unit is not loaded (`org.freedesktop.systemd1.NoSuchUnit`):
    /// stopping or resetting a unit that is already gone is then not a failure.
    pub fn is_no_such_unit(&self) -> bool {
        self.dbus_name() == Some(NO_SUCH_UNIT)
    }

    /// True if systemd said the unit already exists (`org.freedesktop.systemd1.UnitExists`),
    /// which runc treats specially when a scope is started twice.
    pub fn is_unit_exists(&self) -> bool {
        self.dbus_name() == Some(UNIT_EXISTS)
    }

    /// True if a bounded wait expired.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Timeout { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_error_display_and_helpers() {
        let e = Error::MethodError {
            name: UNIT_EXISTS.into(),
            message: "Unit x.scope already exists.".into(),
        };
        assert_eq!(
            e.to_string(),
            "org.freedesktop.systemd1.UnitExists: Unit x.scope already exists."
        );
        assert!(e.is_unit_exists());
        assert!(!e.is_no_such_unit());
        let e = Error::MethodError {
            name: NO_SUCH_UNIT.into(),
            message: String::new(),
        };
        assert!(e.is_no_such_unit());
        assert!(!Error::Disconnected.is_no_such_unit());
        assert_eq!(Error::Disconnected.dbus_name(), None);
    }
}
