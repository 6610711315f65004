//! D-Bus server addresses and connecting to them.
//!
//! Only the `unix` transport with `path=` or `abstract=` is usable by a client here: the
//! system bus, the user bus and systemd's private socket are all unix sockets, and the other
//! transports (tcp, unixexec, launchd, autolaunch) have no place in a container runtime.

use std::ffi::OsStr;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::socket::{socket, AddressFamily, SockFlag, SockType, UnixAddr};

use crate::error::{Error, Result};

/// One connectable D-Bus address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    /// `unix:path=...`: a socket in the file system.
    Path(PathBuf),
    /// `unix:abstract=...`: a Linux abstract socket name (without the leading NUL).
    Abstract(Vec<u8>),
}

impl Address {
    /// Parses a `;`-separated address list and returns its usable entries in order.
    /// Entries we cannot connect to (other transports, server-only keys such as `tmpdir=`)
    /// are skipped; an address with no usable entry is an error.
    pub fn parse_list(s: &str) -> Result<Vec<Address>> {
        let err = |reason: String| Error::Address {
            address: s.to_string(),
            reason,
        };
        let mut out = Vec::new();
        let mut skipped = Vec::new();
        for entry in s.split(';').filter(|e| !e.is_empty()) {
            let Some((transport, params)) = entry.split_once(':') else {
                return Err(err(format!("entry {entry:?} has no transport prefix")));
            };
            if transport != "unix" {
                skipped.push(transport.to_string());
                continue;
            }
            let mut found = None;
            for kv in params.split(',').filter(|kv| !kv.is_empty()) {
                let Some((k, v)) = kv.split_once('=') else {
                    return Err(err(format!("parameter {kv:?} is not key=value")));
                };
                let v = unescape(v).map_err(|r| err(format!("value of {k}: {r}")))?;
                match k {
                    "path" => found = Some(Address::Path(PathBuf::from(OsStr::from_bytes(&v)))),
                    "abstract" => found = Some(Address::Abstract(v)),
                    _ => {} // guid=, and server-only keys
                }
            }
            match found {
                Some(a) => out.push(a),
                None => skipped.push(format!("unix entry {entry:?}")),
            }
        }
        if out.is_empty() {
            return Err(err(format!(
                "no unix:path= or unix:abstract= entry (skipped: {})",
                if skipped.is_empty() {
                    "none".to_string()
                } else {
                    skipped.join(", ")
                }
            )));
        }
        Ok(out)
    }
}

impl std::fmt::Display for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Address::Path(p) => write!(f, "unix:path={}", p.display()),
            Address::Abstract(n) => write!(f, "unix:abstract={}", String::from_utf8_lossy(n)),
        }
    }
}

/// Undoes the `%XX` escaping of address values.
fn unescape(v: &str) -> Result<Vec<u8>, String> {
    let b = v.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("bad %-escape in {v:?}"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Ok(out)
}

/// The address of `$XDG_RUNTIME_DIR/bus`, the user bus's conventional location.
pub(crate) fn runtime_dir_bus(dir: &Path) -> Address {
    Address::Path(dir.join("bus"))
}

/// Connects a close-on-exec unix stream socket to `addr`, waiting at most `timeout`.
///
/// std's `UnixStream::connect` cannot bound the wait: connect(2) on a unix socket blocks
/// while the listener's backlog is full (a wedged systemd), so we create the socket
/// ourselves and set SO_SNDTIMEO first, which Linux applies to connect. CLOEXEC matters
/// because hull forks and execs container processes that must not inherit the bus.
pub(crate) fn connect(addr: &Address, timeout: Duration) -> Result<UnixStream> {
    let ctx = || format!("connecting to {addr}");
    let sockaddr = match addr {
        Address::Path(p) => UnixAddr::new(p.as_path()),
        Address::Abstract(n) => UnixAddr::new_abstract(n),
    }
    .map_err(|e| Error::io(ctx(), e.into()))?;
    let fd = socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(|e| Error::io(ctx(), e.into()))?;
    let stream = UnixStream::from(fd);
    stream
        .set_write_timeout(Some(timeout.max(Duration::from_millis(1))))
        .map_err(|e| Error::io(ctx(), e))?;
    loop {
        match nix::sys::socket::connect(stream.as_raw_fd(), &sockaddr) {
            Ok(()) => return Ok(stream),
            Err(Errno::EINTR) => continue,
            Err(Errno::EAGAIN) | Err(Errno::EINPROGRESS) => {
                return Err(Error::Timeout {
                    what: format!("connect to {addr} (listen backlog full)"),
                    timeout,
                })
            }
            Err(e) => return Err(Error::io(ctx(), e.into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_unix_entries() {
        assert_eq!(
            Address::parse_list("unix:path=/run/dbus/system_bus_socket").unwrap(),
            vec![Address::Path("/run/dbus/system_bus_socket".into())]
        );
        assert_eq!(
            Address::parse_list("tcp:host=x,port=1;unix:abstract=/tmp/dbus-AB%3d,guid=00ff")
                .unwrap(),
            vec![Address::Abstract(b"/tmp/dbus-AB=".to_vec())]
        );
        assert_eq!(
            Address::parse_list("unix:path=/a%20b;unix:path=/c").unwrap(),
            vec![Address::Path("/a b".into()), Address::Path("/c".into())]
        );
        for bad in [
            "",
            "tcp:host=x",
            "unix:tmpdir=/tmp",
            "nocolon",
            "unix:path=/a%zz",
            "unix:path",
        ] {
            assert!(Address::parse_list(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn connect_errors_are_reported() {
        let e = connect(
            &Address::Path("/nonexistent/hull-dbus-test".into()),
            Duration::from_secs(1),
        )
        .unwrap_err();
        assert!(e.to_string().contains("/nonexistent/hull-dbus-test"), "{e}");
        let long = Address::Path(PathBuf::from(format!("/{}", "x".repeat(200))));
        assert!(connect(&long, Duration::from_secs(1)).is_err());
    }

    #[test]
    fn connect_to_a_full_backlog_times_out() {
        use nix::sys::socket::{bind, listen, Backlog};
        // A listener that never accepts, with the smallest backlog: after a couple of
        // pending connections, connect(2) would block forever without SO_SNDTIMEO.
        let name = format!("hull-dbus-backlog-{}", std::process::id());
        let addr = Address::Abstract(name.clone().into_bytes());
        let l = socket(
            AddressFamily::Unix,
            SockType::Stream,
            SockFlag::SOCK_CLOEXEC,
            None,
        )
        .unwrap();
        bind(
            l.as_raw_fd(),
            &UnixAddr::new_abstract(name.as_bytes()).unwrap(),
        )
        .unwrap();
        listen(&l, Backlog::new(1).unwrap()).unwrap();
        let mut pending = Vec::new();
        let t = Duration::from_millis(50);
        for _ in 0..64 {
            match connect(&addr, t) {
                Ok(s) => pending.push(s),
                Err(e) => {
                    assert!(e.is_timeout(), "{e}");
                    assert!(e.to_string().contains(&name), "{e}");
                    return;
                }
            }
        }
        panic!("64 connects to a backlog of 1 all succeeded");
    }
}
