//! A blocking D-Bus connection: SASL EXTERNAL, Hello, call/reply matching and signals.
//!
//! One thread, one socket, no background reader: hull makes a handful of calls per command
//! and exits, so a reader thread or an event loop would only add start-up cost. While we
//! wait for a reply, signals that arrive are queued for a later [`Connection::wait_signal`];
//! this is what makes "subscribe, start a job, wait for its JobRemoved" race-free even when
//! the signal overtakes the reply.
//!
//! Pipelining: every round trip to the peer costs a wake-up of the bus daemon and of
//! systemd, so nothing is waited for before it is needed. The handshake (SASL, and Hello on
//! a bus) is only written when the connection opens and its answer read with the first
//! reply; [`Connection::queue`] adds calls to the same write, and [`Connection::reply`]
//! sends what is queued and collects one answer, keeping the others for their own
//! `reply`. The spec allows this (a server answers in order) and sd-bus does the same, so
//! "connect, subscribe, start a unit" is one round trip.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::address::{self, Address};
use crate::error::{Error, Result};
use crate::message::{frame_len, Message, MessageType, FIXED_HEADER_LEN, FLAG_NO_REPLY_EXPECTED};
use crate::value::Value;

/// Where the system bus lives when `DBUS_SYSTEM_BUS_ADDRESS` is unset.
pub const SYSTEM_BUS_DEFAULT: &str = "unix:path=/run/dbus/system_bus_socket";
/// systemd's private peer-to-peer socket (root only), usable when no bus daemon runs.
pub const SYSTEMD_PRIVATE: &str = "unix:path=/run/systemd/private";
/// Default bound on connecting, authenticating and each method call: libdbus's 25 s.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(25);

const BUS_NAME: &str = "org.freedesktop.DBus";
const BUS_PATH: &str = "/org/freedesktop/DBus";
/// Signals kept for a later wait; beyond this the oldest are dropped so a chatty peer (on
/// the private socket systemd sends every subscribed signal) cannot grow memory unboundedly.
const MAX_QUEUED_SIGNALS: usize = 1024;
/// Longest SASL line we accept from the server.
const MAX_AUTH_LINE: usize = 16 * 1024;
const READ_CHUNK: usize = 16 * 1024;

/// A bounded wait: when it ends and what to say if it does.
struct Deadline {
    at: Instant,
    total: Duration,
    what: String,
}

impl Deadline {
    fn after(total: Duration, what: String) -> Self {
        let now = Instant::now();
        Deadline {
            // An absurdly large timeout saturates instead of panicking on overflow.
            at: now
                .checked_add(total)
                .or_else(|| now.checked_add(Duration::from_secs(86400 * 365)))
                .unwrap_or(now),
            total,
            what,
        }
    }

    fn expired(&self) -> Error {
        Error::Timeout {
            what: self.what.clone(),
            timeout: self.total,
        }
    }
}

/// A connection to a message bus or directly to a peer (systemd's private socket).
pub struct Connection {
    stream: UnixStream,
    /// Bytes read but not yet consumed (the socket is read in chunks, messages are framed
    /// from here).
    rbuf: Vec<u8>,
    last_serial: u32,
    signals: VecDeque<Message>,
    unique_name: Option<String>,
    guid: String,
    timeout: Duration,
    /// Bytes queued for the next write (the handshake, queued calls).
    wbuf: Vec<u8>,
    /// The handshake's answer is still to be read: `Some(hello serial)` on a bus, `Some(0)`
    /// on a peer connection, `None` once done.
    handshake: Option<u32>,
    /// Serials of queued calls whose replies nobody has collected yet.
    awaited: Vec<u32>,
    /// Replies that arrived for those serials while we waited for another.
    replies: Vec<Message>,
    bus: bool,
}

impl Connection {
    /// The system bus: `$DBUS_SYSTEM_BUS_ADDRESS`, else `/run/dbus/system_bus_socket`.
    pub fn system() -> Result<Self> {
        let addr = std::env::var("DBUS_SYSTEM_BUS_ADDRESS")
            .ok()
            .filter(|a| !a.is_empty())
            .unwrap_or_else(|| SYSTEM_BUS_DEFAULT.to_string());
        Self::open_bus(&addr, DEFAULT_TIMEOUT)
    }

    /// The session (user) bus: `$DBUS_SESSION_BUS_ADDRESS`, else `$XDG_RUNTIME_DIR/bus`,
    /// where systemd --user's bus lives (rootless hull).
    pub fn session() -> Result<Self> {
        if let Some(addr) = std::env::var("DBUS_SESSION_BUS_ADDRESS")
            .ok()
            .filter(|a| !a.is_empty())
        {
            return Self::open_bus(&addr, DEFAULT_TIMEOUT);
        }
        match std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
            Some(dir) => {
                let a = address::runtime_dir_bus(&PathBuf::from(dir));
                Self::open(&[a], true, DEFAULT_TIMEOUT)
            }
            None => Err(Error::Address {
                address: String::new(),
                reason: "neither DBUS_SESSION_BUS_ADDRESS nor XDG_RUNTIME_DIR is set".into(),
            }),
        }
    }

    /// Same as [`Connection::session`]: "user bus" is systemd's name for it.
    pub fn user() -> Result<Self> {
        Self::session()
    }

    /// A peer-to-peer connection to systemd's private socket `/run/systemd/private`, which
    /// works as root even when no bus daemon runs (early boot, minimal hosts). There is no
    /// bus, so no Hello, no unique name and no match rules: systemd sends signals directly
    /// to subscribed peers.
    pub fn systemd_private() -> Result<Self> {
        Self::open_peer(SYSTEMD_PRIVATE, DEFAULT_TIMEOUT)
    }

    /// The system's systemd: the system bus, as runc, else (as root) systemd's private
    /// socket, which works where no bus daemon runs (early boot, minimal hosts).
    ///
    /// The bus comes first although the private socket saves the daemon's relay: systemd
    /// sends every private connection every unit's signals, subscribed or not, so with many
    /// hull processes at once it serialises each unit change once per connection, where the
    /// bus daemon passes on only the JobRemoved each match rule asks for. Measured in the
    /// systemd guest (docs/benchmarks-systemd.md): the bus was no slower per cycle and 10%
    /// faster with 50 containers at once.
    pub fn system_manager() -> Result<Self> {
        let bus = match Self::system() {
            Ok(c) => return Ok(c),
            Err(e) => e,
        };
        if !nix::unistd::geteuid().is_root() {
            return Err(bus);
        }
        Self::systemd_private().map_err(|e| Error::Io {
            context: format!("system bus: {bus}; systemd's private socket"),
            source: match e {
                Error::Io { source, .. } => source,
                other => io::Error::other(other.to_string()),
            },
        })
    }

    /// Connects to a bus daemon at `address` (a D-Bus address list), authenticates and
    /// registers with `Hello`. `timeout` bounds each step and becomes the call timeout.
    ///
    /// Only the connect is waited for here: the handshake is written and its answer read
    /// with the first reply (an authentication failure is that call's error), or by
    /// [`Connection::finish_handshake`].
    pub fn open_bus(address: &str, timeout: Duration) -> Result<Self> {
        Self::open(&Address::parse_list(address)?, true, timeout)
    }

    /// Connects to a peer (not a bus) at `address` and authenticates; no `Hello`, which a
    /// peer such as systemd would reject as an unknown method.
    pub fn open_peer(address: &str, timeout: Duration) -> Result<Self> {
        Self::open(&Address::parse_list(address)?, false, timeout)
    }

    /// Tries each address in turn (as libdbus does) and returns the first that works, or
    /// the last error.
    fn open(addrs: &[Address], bus: bool, timeout: Duration) -> Result<Self> {
        let mut last = None;
        for a in addrs {
            match address::connect(a, timeout) {
                Ok(stream) => {
                    let mut c = Connection {
                        stream,
                        rbuf: Vec::new(),
                        last_serial: 0,
                        signals: VecDeque::new(),
                        unique_name: None,
                        guid: String::new(),
                        timeout,
                        wbuf: Vec::new(),
                        handshake: None,
                        awaited: Vec::new(),
                        replies: Vec::new(),
                        bus,
                    };
                    c.start_handshake()?;
                    return Ok(c);
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| Error::Address {
            address: String::new(),
            reason: "empty address list".into(),
        }))
    }

    /// SASL EXTERNAL, pipelined (the uid sent is the one the bus daemon sees: [`host_uid`]):
    /// the AUTH line, BEGIN and (on a bus) Hello are queued as one write, which the first
    /// call joins, so connecting costs no round trip of its own instead of three. The spec
    /// allows this (the server answers each command in order) and sd-bus does the same.
    fn start_handshake(&mut self) -> Result<()> {
        let uid = host_uid(nix::unistd::geteuid().as_raw());
        let hex: String = uid
            .to_string()
            .bytes()
            .map(|b| format!("{b:02x}"))
            .collect();
        self.wbuf = format!("\0AUTH EXTERNAL {hex}\r\nBEGIN\r\n").into_bytes();
        self.handshake = Some(0);
        if self.bus {
            let mut hello = Message::method_call(BUS_NAME, BUS_PATH, BUS_NAME, "Hello");
            hello.serial = self.next_serial();
            self.wbuf.extend_from_slice(&hello.encode()?);
            self.handshake = Some(hello.serial);
        }
        Ok(())
    }

    /// Sends what is queued and reads the handshake's answer (the SASL `OK`, the reply to
    /// Hello) if that is still to do. Calls that need a reply do this themselves; call it
    /// to learn [`Connection::unique_name`] or [`Connection::server_guid`] before any call.
    pub fn finish_handshake(&mut self) -> Result<()> {
        let Some(hello_serial) = self.handshake else {
            return Ok(());
        };
        self.flush()?;
        let dl = Deadline::after(self.timeout, "the D-Bus authentication reply".into());
        let line = self.read_line(&dl)?;
        match line.strip_prefix("OK") {
            Some(guid) => self.guid = guid.trim().to_string(),
            None if line.starts_with("REJECTED") => {
                let uid = nix::unistd::geteuid().as_raw();
                return Err(Error::Auth(format!(
                    "server rejected EXTERNAL for uid {uid} (it offers:{})",
                    line.trim_start_matches("REJECTED")
                )));
            }
            None => return Err(Error::Auth(format!("unexpected server reply {line:?}"))),
        }
        self.handshake = None;
        if self.bus {
            let reply = self.wait_reply(hello_serial, "the reply to Hello".into())?;
            if let Some(e) = reply.to_error() {
                return Err(e);
            }
            let name = reply.body.first().and_then(Value::as_str).ok_or_else(|| {
                Error::UnexpectedReply {
                    method: "Hello".into(),
                    detail: format!("body {:?}", reply.signature()),
                }
            })?;
            self.unique_name = Some(name.to_string());
        }
        Ok(())
    }

    /// Reads one `\r\n`-terminated SASL line; bytes after it stay buffered, since the
    /// server may already be sending messages.
    fn read_line(&mut self, dl: &Deadline) -> Result<String> {
        loop {
            if let Some(i) = self.rbuf.windows(2).position(|w| w == b"\r\n") {
                let line: Vec<u8> = self.rbuf.drain(..i + 2).take(i).collect();
                return String::from_utf8(line)
                    .map_err(|_| Error::Auth("non-UTF-8 reply from the server".into()));
            }
            if self.rbuf.len() > MAX_AUTH_LINE {
                return Err(Error::Auth("authentication reply line too long".into()));
            }
            self.fill(dl)?;
        }
    }

    /// This connection's unique bus name (`:1.42`); `None` on a peer-to-peer connection,
    /// and until the handshake's answer was read (see [`Connection::finish_handshake`]).
    pub fn unique_name(&self) -> Option<&str> {
        self.unique_name.as_deref()
    }

    /// The server GUID from the `OK` line of the handshake (empty until it was read).
    pub fn server_guid(&self) -> &str {
        &self.guid
    }

    /// True if this is a bus connection (Hello sent, match rules available).
    pub fn is_bus(&self) -> bool {
        self.bus
    }

    /// The bound on each method call (and on writes).
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Changes the bound on each method call (and on writes).
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    fn next_serial(&mut self) -> u32 {
        // Serial 0 is invalid; wrap around it.
        self.last_serial = self.last_serial.checked_add(1).unwrap_or(1);
        self.last_serial
    }

    /// Writes everything queued (the handshake, queued calls) in one go.
    pub fn flush(&mut self) -> Result<()> {
        if self.wbuf.is_empty() {
            return Ok(());
        }
        let bytes = std::mem::take(&mut self.wbuf);
        self.write_all(&bytes)
    }

    fn write_all(&mut self, bytes: &[u8]) -> Result<()> {
        self.stream
            .set_write_timeout(Some(self.timeout.max(Duration::from_millis(1))))
            .map_err(|e| Error::io("setting the D-Bus write timeout", e))?;
        self.stream.write_all(bytes).map_err(|e| match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => Error::Timeout {
                what: "the D-Bus peer to accept our message".into(),
                timeout: self.timeout,
            },
            io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset => Error::Disconnected,
            _ => Error::io("writing to the D-Bus socket", e),
        })
    }

    /// Reads more bytes into `rbuf`, waiting no later than the deadline.
    fn fill(&mut self, dl: &Deadline) -> Result<()> {
        loop {
            let left = dl.at.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(dl.expired());
            }
            self.stream
                .set_read_timeout(Some(left))
                .map_err(|e| Error::io("setting the D-Bus read timeout", e))?;
            let old = self.rbuf.len();
            self.rbuf.resize(old + READ_CHUNK, 0);
            let r = self.stream.read(&mut self.rbuf[old..]);
            let n = *r.as_ref().unwrap_or(&0);
            self.rbuf.truncate(old + n);
            match r {
                Ok(0) => return Err(Error::Disconnected),
                Ok(_) => return Ok(()),
                Err(e) => match e.kind() {
                    io::ErrorKind::WouldBlock
                    | io::ErrorKind::TimedOut
                    | io::ErrorKind::Interrupted => continue,
                    io::ErrorKind::ConnectionReset => return Err(Error::Disconnected),
                    _ => return Err(Error::io("reading from the D-Bus socket", e)),
                },
            }
        }
    }

    /// The next message from the peer. Messages of unknown type are skipped, as the spec
    /// requires.
    fn next_message(&mut self, dl: &Deadline) -> Result<Message> {
        loop {
            if self.rbuf.len() >= FIXED_HEADER_LEN {
                let len = frame_len(&self.rbuf)?;
                if self.rbuf.len() >= len {
                    let frame: Vec<u8> = self.rbuf.drain(..len).collect();
                    if !(1..=4).contains(&frame[1]) {
                        continue;
                    }
                    return Message::decode(&frame);
                }
            }
            self.fill(dl)?;
        }
    }

    fn queue_signal(&mut self, m: Message) {
        if self.signals.len() >= MAX_QUEUED_SIGNALS {
            self.signals.pop_front();
        }
        self.signals.push_back(m);
    }

    /// Sends a message (and anything queued before it) without waiting for anything;
    /// returns the serial it was given.
    pub fn send(&mut self, msg: Message) -> Result<u32> {
        let serial = self.enqueue(msg)?;
        self.flush()?;
        Ok(serial)
    }

    /// Queues a method call for the next write without sending it, and returns its serial
    /// for [`Connection::reply`]. Calls are answered in the order they are queued, so a
    /// subscription queued before the call that starts a job is in place before the job.
    pub fn queue(&mut self, mut msg: Message) -> Result<u32> {
        msg.flags &= !FLAG_NO_REPLY_EXPECTED;
        let serial = self.enqueue(msg)?;
        self.awaited.push(serial);
        Ok(serial)
    }

    fn enqueue(&mut self, mut msg: Message) -> Result<u32> {
        msg.serial = self.next_serial();
        let bytes = msg.encode()?;
        self.wbuf.extend_from_slice(&bytes);
        Ok(msg.serial)
    }

    /// Sends what is queued and waits (at most [`Connection::timeout`]) for the reply to
    /// the call `serial` from [`Connection::queue`]. An ERROR reply becomes
    /// [`Error::MethodError`] with the D-Bus error name and message. `what` names the call
    /// in a timeout error.
    pub fn reply(&mut self, serial: u32, what: &str) -> Result<Message> {
        let got = self
            .finish_handshake()
            .and_then(|_| self.wait_reply(serial, format!("the reply to {what}")));
        self.awaited.retain(|s| *s != serial);
        let m = got?;
        match m.to_error() {
            Some(e) => Err(e),
            None => Ok(m),
        }
    }

    fn wait_reply(&mut self, serial: u32, what: String) -> Result<Message> {
        if let Some(i) = self
            .replies
            .iter()
            .position(|m| m.reply_serial == Some(serial))
        {
            return Ok(self.replies.swap_remove(i));
        }
        self.flush()?;
        let dl = Deadline::after(self.timeout, what);
        loop {
            let m = self.next_message(&dl)?;
            match m.msg_type {
                MessageType::MethodReturn | MessageType::Error => match m.reply_serial {
                    Some(s) if s == serial => return Ok(m),
                    // A queued call answered before the one we wait for: kept for its
                    // own `reply`.
                    Some(s) if self.awaited.contains(&s) => self.replies.push(m),
                    // Replies to calls nobody waits for are dropped.
                    _ => {}
                },
                MessageType::Signal => self.queue_signal(m),
                // Calls to us (we export no objects) are dropped.
                _ => {}
            }
        }
    }

    /// Sends a method call and waits (at most [`Connection::timeout`]) for its reply. An
    /// ERROR reply becomes [`Error::MethodError`] with the D-Bus error name and message.
    pub fn call(&mut self, msg: Message) -> Result<Message> {
        let what = format!(
            "{}.{} on {}",
            msg.interface.as_deref().unwrap_or("?"),
            msg.member.as_deref().unwrap_or("?"),
            msg.path.as_deref().unwrap_or("?"),
        );
        let serial = self.queue(msg)?;
        self.reply(serial, &what)
    }

    /// Calls `interface.member` on `path` at `destination` and returns the reply body.
    pub fn call_method(
        &mut self,
        destination: &str,
        path: &str,
        interface: &str,
        member: &str,
        body: Vec<Value>,
    ) -> Result<Vec<Value>> {
        let m = Message::method_call(destination, path, interface, member).with_body(body);
        Ok(self.call(m)?.body)
    }

    /// Calls a method of the bus daemon itself (`org.freedesktop.DBus`).
    pub fn bus_call(&mut self, member: &str, body: Vec<Value>) -> Result<Vec<Value>> {
        self.call_method(BUS_NAME, BUS_PATH, BUS_NAME, member, body)
    }

    /// Emits a signal; returns its serial.
    pub fn emit_signal(
        &mut self,
        path: &str,
        interface: &str,
        member: &str,
        body: Vec<Value>,
    ) -> Result<u32> {
        self.send(Message::signal(path, interface, member).with_body(body))
    }

    /// Asks the bus to route signals matching `rule` to us (`AddMatch`). The rule must be
    /// in place before the action whose signal we want, or the signal can be missed.
    pub fn add_match(&mut self, rule: &str) -> Result<()> {
        self.bus_call("AddMatch", vec![rule.into()]).map(drop)
    }

    /// Removes a rule added with [`Connection::add_match`].
    pub fn remove_match(&mut self, rule: &str) -> Result<()> {
        self.bus_call("RemoveMatch", vec![rule.into()]).map(drop)
    }

    /// Returns the first signal (queued or arriving within `timeout`) for which `pred` is
    /// true. Other signals stay queued for later waits. `what` names the signal in the
    /// timeout error.
    pub fn wait_signal(
        &mut self,
        timeout: Duration,
        what: &str,
        mut pred: impl FnMut(&Message) -> bool,
    ) -> Result<Message> {
        if let Some(i) = self.signals.iter().position(&mut pred) {
            if let Some(m) = self.signals.remove(i) {
                return Ok(m);
            }
        }
        self.finish_handshake()?;
        let dl = Deadline::after(timeout, what.to_string());
        loop {
            let m = self.next_message(&dl)?;
            if m.msg_type == MessageType::Signal {
                if pred(&m) {
                    return Ok(m);
                }
                self.queue_signal(m);
            }
        }
    }

    /// Takes the oldest queued signal, if any, without reading the socket.
    pub fn pop_signal(&mut self) -> Option<Message> {
        self.signals.pop_front()
    }

    /// Drops queued signals for which `keep` is false.
    pub fn retain_signals(&mut self, keep: impl FnMut(&Message) -> bool) {
        self.signals.retain(keep);
    }
}

/// `uid` as the parent user namespace sees it (our /proc/self/uid_map): in a user namespace
/// (podman's, rootlesskit's) the bus daemon outside knows the caller by its outer uid, and
/// rejects EXTERNAL for the inner one (runc sends the bus's OwnerUID for the same reason).
fn host_uid(uid: u32) -> u32 {
    let map = std::fs::read_to_string("/proc/self/uid_map").unwrap_or_default();
    outer_uid(&map, uid)
}

fn outer_uid(map: &str, uid: u32) -> u32 {
    for line in map.lines() {
        let f: Vec<u64> = line
            .split_whitespace()
            .filter_map(|v| v.parse().ok())
            .collect();
        if let [inside, outside, count] = f[..] {
            let u = u64::from(uid);
            if u >= inside && u < inside + count {
                return u32::try_from(outside + (u - inside)).unwrap_or(uid);
            }
        }
    }
    uid
}

#[cfg(test)]
mod uid_tests {
    #[test]
    fn outer_uid_follows_the_map() {
        assert_eq!(super::outer_uid("0 0 4294967295\n", 1000), 1000);
        assert_eq!(super::outer_uid("0 1000 1\n1 100000 65536\n", 0), 1000);
        assert_eq!(super::outer_uid("0 1000 1\n1 100000 65536\n", 5), 100004);
        assert_eq!(super::outer_uid("", 7), 7);
    }
}
