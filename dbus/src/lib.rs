//! hull-dbus: a small, blocking, pure-Rust D-Bus client for hull's systemd cgroup driver.
//!
//! WIP: module layout being assembled.

pub mod address;
pub mod conn;
pub mod error;
pub mod gvariant;
pub mod marshal;
pub mod message;
pub mod value;

pub use address::Address;
pub use conn::Connection;
pub use error::{Error, Result};
pub use message::{Message, MessageType};
pub use value::Value;
