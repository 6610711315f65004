//! hull-dbus: a small, blocking, pure-Rust D-Bus client for hull's systemd cgroup driver.
//!
//! WIP: module layout being assembled.

pub mod error;
pub mod marshal;
pub mod value;

pub use error::{Error, Result};
pub use value::Value;
