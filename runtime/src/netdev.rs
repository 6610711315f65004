//! `linux.netDevices` (runtime-spec 1.3.0, runc 1.4): host network interfaces moved into the
//! container's network namespace at `create`, renamed to `name` where given, set up by the
//! init, and moved back to the host under their own names when the container is deleted
//! (while its network namespace still exists: a namespace that died with the container
//! takes virtual devices with it, and the kernel returns physical ones to the host itself).
//!
//! The move is one rtnetlink `RTM_NEWLINK` with `IFLA_NET_NS_FD` and `IFLA_IFNAME`, sent
//! from a socket in the namespace the device is in.

use std::collections::HashSet;
use std::fs::File;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::PathBuf;

use nix::sys::socket::{self, AddressFamily, MsgFlags, SockFlag, SockProtocol, SockType};
use oci_spec::runtime::{LinuxNamespaceType as T, Spec};

use crate::error::{Context, Error, Result};
use crate::namespaces::Namespaces;

const FIELD: &str = "linux.netDevices";

/// `(host name, name in the container)` for each entry, sorted by host name.
pub fn devices(spec: &Spec) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = spec
        .linux()
        .as_ref()
        .and_then(|l| l.net_devices().as_ref())
        .into_iter()
        .flatten()
        .map(|(host, d)| {
            let inside = d.name().clone().filter(|n| !n.is_empty());
            (host.clone(), inside.unwrap_or_else(|| host.clone()))
        })
        .collect();
    v.sort();
    v
}

/// An interface name the kernel accepts (dev_valid_name): 1-15 bytes, not `.`/`..`, no
/// `/`, `:` or whitespace.
fn valid_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() < libc::IFNAMSIZ
        && n != "."
        && n != ".."
        && !n.chars().any(|c| c == '/' || c == ':' || c.is_whitespace())
}

/// The spec's rules: valid names, unique in the container, and a network namespace of the
/// container's own (moving the host's interfaces into the host's namespace means nothing).
pub fn validate(spec: &Spec, ns: &Namespaces, joins_hosts: bool) -> Result<()> {
    let devs = devices(spec);
    if devs.is_empty() {
        return Ok(());
    }
    if !ns.has(T::Network) || joins_hosts {
        return Err(Error::config(
            FIELD,
            "needs a network namespace of the container's own (linux.namespaces)",
        ));
    }
    let mut seen = HashSet::new();
    for (host, inside) in &devs {
        if !valid_name(host) {
            return Err(Error::config(
                format!("{FIELD}.{host}"),
                "not a valid interface name",
            ));
        }
        if !valid_name(inside) {
            return Err(Error::config(
                format!("{FIELD}.{host}.name"),
                format!("{inside:?} is not a valid interface name"),
            ));
        }
        if !seen.insert(inside.as_str()) {
            return Err(Error::config(
                format!("{FIELD}.{host}.name"),
                format!("{inside:?} is given to two devices"),
            ));
        }
        if crate::sys::if_nametoindex(host).is_err() {
            return Err(Error::config(
                format!("{FIELD}.{host}"),
                "no such interface on the host",
            ));
        }
    }
    Ok(())
}

/// The container's network namespace: joined by path, or the init's new one.
fn container_netns(spec: &Spec, pid: i32) -> Result<File> {
    let path = spec
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_ref())
        .and_then(|v| v.iter().find(|n| n.typ() == T::Network))
        .and_then(|n| n.path().clone())
        .unwrap_or_else(|| PathBuf::from(format!("/proc/{pid}/ns/net")));
    File::open(&path).ctx(|| format!("{FIELD}: open network namespace {}", path.display()))
}

/// `create`, from the host: moves each device into the container's network namespace. On
/// failure the ones already moved are moved back.
pub fn move_in(spec: &Spec, pid: i32) -> Result<()> {
    let devs = devices(spec);
    if devs.is_empty() {
        return Ok(());
    }
    let target = container_netns(spec, pid)?;
    let sock = route_socket()?;
    for (i, (host, inside)) in devs.iter().enumerate() {
        let r = crate::sys::if_nametoindex(host)
            .map_err(|e| Error::config(format!("{FIELD}.{host}"), format!("on the host: {e}")))
            .and_then(|idx| {
                set_link_ns(sock.as_fd(), idx, target.as_fd(), inside).map_err(|e| {
                    Error::config(
                        format!("{FIELD}.{host}"),
                        format!("move into the container as {inside:?}: {e}"),
                    )
                })
            });
        if let Err(e) = r {
            let _ = move_back(&target, &devs[..i]);
            return Err(e);
        }
    }
    Ok(())
}

/// The init, in the container's network namespace: sets the moved devices up.
pub fn set_up(spec: &Spec) -> Result<()> {
    let devs = devices(spec);
    if devs.is_empty() {
        return Ok(());
    }
    let sock = socket::socket(
        AddressFamily::Inet,
        SockType::Datagram,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .ctx(|| "socket for linux.netDevices")?;
    for (host, inside) in devs {
        crate::sys::set_link_up(sock.as_fd(), &inside).map_err(|e| {
            Error::config(format!("{FIELD}.{host}"), format!("set {inside} up: {e}"))
        })?;
    }
    Ok(())
}

/// Moves the devices back if `create` fails after moving them: the init it kills would
/// take its network namespace, and every virtual device in it, along.
pub struct MovedGuard<'a> {
    pub spec: &'a Spec,
    pub pid: i32,
    pub armed: bool,
}

impl Drop for MovedGuard<'_> {
    fn drop(&mut self) {
        if self.armed {
            return_to_host(self.spec, self.pid);
        }
    }
}

/// `delete`: moves the devices back to the host under their host names, if the container's
/// network namespace is still there. Failures are warnings: delete goes on.
pub fn return_to_host(spec: &Spec, pid: i32) {
    let devs = devices(spec);
    if devs.is_empty() {
        return;
    }
    let Ok(ns) = container_netns(spec, pid) else {
        return;
    };
    if let Err(e) = move_back(&ns, &devs) {
        crate::logging::warn(&format!("{FIELD}: {e}"));
    }
}

/// Moves `devs` from the namespace `from` back to ours, each under its host name.
fn move_back(from: &File, devs: &[(String, String)]) -> Result<()> {
    let host = File::open("/proc/self/ns/net").ctx(|| "open our network namespace")?;
    // A socket (and the index lookups) must be in the namespace the devices are in: enter
    // it for as long as that takes, then come back.
    nix::sched::setns(from.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET)
        .ctx(|| "enter the container's network namespace")?;
    let found: Result<(OwnedFd, Vec<(u32, &str)>)> = route_socket().map(|s| {
        let idx = devs
            .iter()
            .filter_map(|(h, i)| Some((crate::sys::if_nametoindex(i).ok()?, h.as_str())))
            .collect();
        (s, idx)
    });
    nix::sched::setns(host.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET)
        .ctx(|| "return to our network namespace")?;
    let (sock, idx) = found?;
    let mut first = None;
    for (i, name) in idx {
        if let Err(e) = set_link_ns(sock.as_fd(), i, host.as_fd(), name) {
            first.get_or_insert(Error::container(format!(
                "move {name} back to the host: {e}"
            )));
        }
    }
    first.map_or(Ok(()), Err)
}

fn route_socket() -> Result<OwnedFd> {
    socket::socket(
        AddressFamily::Netlink,
        SockType::Raw,
        SockFlag::SOCK_CLOEXEC,
        SockProtocol::NetlinkRoute,
    )
    .ctx(|| "rtnetlink socket")
}

const RTM_NEWLINK: u16 = 16;
const NLMSG_ERROR: u16 = 2;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_ACK: u16 = 4;
const IFLA_IFNAME: u16 = 3;
const IFLA_NET_NS_FD: u16 = 28;

/// An `RTM_NEWLINK` for interface `index`: into the namespace `ns` (an fd number), named `name`.
fn newlink_msg(index: u32, ns: i32, name: &str) -> Vec<u8> {
    fn attr(buf: &mut Vec<u8>, ty: u16, data: &[u8]) {
        buf.extend_from_slice(&((4 + data.len()) as u16).to_ne_bytes());
        buf.extend_from_slice(&ty.to_ne_bytes());
        buf.extend_from_slice(data);
        while buf.len() % 4 != 0 {
            buf.push(0);
        }
    }
    let mut b = vec![0u8; 16];
    b[4..6].copy_from_slice(&RTM_NEWLINK.to_ne_bytes());
    b[6..8].copy_from_slice(&(NLM_F_REQUEST | NLM_F_ACK).to_ne_bytes());
    b[8..12].copy_from_slice(&1u32.to_ne_bytes());
    // struct ifinfomsg: family, pad, type, index, flags, change.
    b.extend_from_slice(&[0u8; 4]);
    b.extend_from_slice(&(index as i32).to_ne_bytes());
    b.extend_from_slice(&[0u8; 8]);
    attr(&mut b, IFLA_NET_NS_FD, &(ns as u32).to_ne_bytes());
    let mut n = name.as_bytes().to_vec();
    n.push(0);
    attr(&mut b, IFLA_IFNAME, &n);
    let len = b.len() as u32;
    b[0..4].copy_from_slice(&len.to_ne_bytes());
    b
}

/// Sends the move and reads the kernel's acknowledgement (its errno, if any).
fn set_link_ns(
    sock: BorrowedFd<'_>,
    index: u32,
    ns: BorrowedFd<'_>,
    name: &str,
) -> std::io::Result<()> {
    let msg = newlink_msg(index, ns.as_raw_fd(), name);
    socket::send(sock.as_raw_fd(), &msg, MsgFlags::empty())?;
    let mut buf = [0u8; 4096];
    let n = socket::recv(sock.as_raw_fd(), &mut buf, MsgFlags::empty())?;
    if n < 20 || u16::from_ne_bytes([buf[4], buf[5]]) != NLMSG_ERROR {
        return Err(std::io::Error::other("unexpected rtnetlink answer"));
    }
    match i32::from_ne_bytes([buf[16], buf[17], buf[18], buf[19]]) {
        0 => Ok(()),
        e => Err(std::io::Error::from_raw_os_error(-e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_message() {
        assert!(valid_name("eth0") && valid_name("veth-a.1"));
        for n in ["", ".", "..", "a/b", "a:b", "a b", "abcdefghijklmnop"] {
            assert!(!valid_name(n), "{n:?}");
        }
        let m = newlink_msg(7, 5, "eth1");
        assert_eq!(m.len(), 16 + 16 + 8 + 12);
        assert_eq!(
            u32::from_ne_bytes([m[0], m[1], m[2], m[3]]) as usize,
            m.len()
        );
        assert_eq!(i32::from_ne_bytes([m[20], m[21], m[22], m[23]]), 7);
        assert_eq!(&m[44..49], b"eth1\0");
    }

    #[test]
    fn devices_default_to_their_host_name() {
        let spec: Spec = serde_json::from_value(serde_json::json!({
            "ociVersion": "1.3.0",
            "linux": {"netDevices": {"b0": {}, "a0": {"name": "eth1"}}}
        }))
        .expect("spec");
        assert_eq!(
            devices(&spec),
            [("a0".into(), "eth1".into()), ("b0".into(), "b0".into())]
        );
    }
}
