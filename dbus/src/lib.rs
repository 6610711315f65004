//! hull-dbus: a small, blocking, pure-Rust D-Bus client for hull's systemd cgroup driver.
//!
//! runc's systemd driver talks to systemd through godbus and go-systemd; hull needs the same
//! conversation (start a transient scope, wait for its job, stop it, read its properties).
//! We write our own client instead of using an existing crate because hull ships as a
//! static binary of at most ~3 MB where start latency is a feature:
//! - `zbus` is async and pulls in an async runtime and about 1 MB of code;
//! - the `dbus` crate binds libdbus, a C library linked dynamically, which a static binary
//!   cannot use.
//!
//! What is here is exactly what the driver needs, and no more: unix-socket transports
//! (system bus, user bus, systemd's private socket), SASL EXTERNAL, the full marshalling type
//! system except unix fds, method calls with reply matching, signals queued while a call is
//! outstanding, and the Manager methods in [`systemd`]. Every wait is bounded by a timeout,
//! and everything read from the peer is bounds-checked: malformed input is an
//! [`Error::Malformed`], never a panic.
//!
//! ```no_run
//! use std::time::Duration;
//! use hull_dbus::{Connection, Systemd, Value};
//!
//! let mut sd = Systemd::new(Connection::system()?);
//! let props = [
//!     ("PIDs".to_string(), Value::array("u", vec![Value::UInt32(std::process::id())])),
//!     ("Delegate".to_string(), Value::Bool(true)),
//! ];
//! let result = sd.start_transient_unit_and_wait("hull-x.scope", "replace", &props,
//!     Duration::from_secs(30))?;
//! assert_eq!(result, "done");
//! # Ok::<(), hull_dbus::Error>(())
//! ```
//!
//! Modules: [`value`] (the value model and signatures), [`marshal`] (wire format),
//! [`message`] (headers and framing), [`address`] and [`conn`] (transport, auth, calls,
//! signals), [`systemd`] (the Manager API), [`gvariant`] (the text format of
//! `org.systemd.property.*` annotations).

// Like every hull crate but hull-sys: the socket calls go through nix's safe wrappers.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod address;
pub mod conn;
pub mod error;
pub mod gvariant;
pub mod marshal;
pub mod message;
pub mod systemd;
pub mod value;

pub use address::Address;
pub use conn::Connection;
pub use error::{Error, Result};
pub use gvariant::{parse_variant, parse_variant_as};
pub use message::{Message, MessageType};
pub use systemd::Systemd;
pub use value::Value;
