//! The sync channel between `hull create` (the parent) and the container's init.
//!
//! One `SOCK_SEQPACKET` socketpair, one message per packet, JSON-encoded [`Msg`]s. Because
//! the init is a fork of `create` (no re-exec), it already holds the parsed config in memory;
//! the channel only carries the few points where the two must wait for each other:
//!
//! ```text
//!  parent (create)                          intermediate (only when joining namespaces)
//!    |--clone3------------------------------>|  setns(user first) ; clone3(CLONE_PARENT|new ns)
//!    |<------------------ Pid(host pid) -----|  exits
//!    |                                        init
//!    |  uid/gid maps, cgroup placement         |  (blocked)
//!    |---------------- Continue ------------->|  time ns, mounts (no pivot yet)
//!    |<------- BindSource (user ns only) -----|  per bind mount: the parent's helper joins
//!    |------- BindSource + fd (SCM_RIGHTS) -->|  the init's mount ns, clones the source
//!    |<----- Idmap + fd (id-mapped mounts) ---|  per id-mapped mount: the parent sets
//!    |------------------ Idmap -------------->|  MOUNT_ATTR_IDMAP on the detached tree
//!    |<--------------- RunHooks --------------|  only if prestart/createRuntime hooks exist
//!    |  prestart + createRuntime hooks          |
//!    |---------------- HooksDone ------------->|  createContainer hooks, pivot_root, devices,
//!    |                                          |  masks, sysctl, user/caps, executable lookup
//!    |<-- SeccompListener + fd (SCM_RIGHTS) ----|  only with SCMP_ACT_NOTIFY, right after the
//!    |  send fd + state to listenerPath         |  filter is loaded (docs/seccomp.md)
//!    |<--------------- Ready -----------------|  then waits on exec.fifo for `start`
//!    |  state.json, pid file; exit 0
//! ```
//!
//! Any failure in the init is sent as `Error(msg)` and the init exits; the parent then kills
//! and reaps it and removes everything it made. A closed channel without `Ready` means the
//! init died; the parent reports its wait status. docs/handoff.md has the full story.

use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};

use nix::sys::socket::{
    recvmsg, sendmsg, socketpair, AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags,
    SockFlag, SockType,
};
use serde::{Deserialize, Serialize};

use crate::error::{Context, Error, Result};

/// A message on the sync channel.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub enum Msg {
    /// intermediate -> parent: host pid of the init it cloned.
    Pid(i32),
    /// parent -> init: id maps written, cgroup joined: go on.
    Continue,
    /// init -> parent: mounts are done; run prestart and createRuntime hooks now.
    RunHooks,
    /// parent -> init: those hooks succeeded.
    HooksDone,
    /// init -> parent, in a user namespace: clone the bind source at this absolute path
    /// (recursively for an rbind) with the runtime's credentials, in the init's mount
    /// namespace (binds.rs). The parent answers with the same message and the detached
    /// tree's fd attached, or with `Error`.
    BindSource {
        path: std::path::PathBuf,
        recursive: bool,
    },
    /// init -> parent: id-map `mounts[mount]`, whose detached tree is attached with
    /// SCM_RIGHTS (idmap.rs). The parent answers with the same message, or with `Error`.
    Idmap { mount: usize },
    /// init (or exec'd process) -> parent: the seccomp user-notification fd, attached with
    /// SCM_RIGHTS, for the parent to hand to the agent at `linux.seccomp.listenerPath`.
    SeccompListener,
    /// init -> parent, only under `--debug`, just before `Ready`: how long each of the
    /// init's setup phases took, `(name, µs)` (logging.rs `Phases`).
    Phases(Vec<(String, u64)>),
    /// init -> parent: the container is set up and will wait for `start`.
    Ready,
    /// parent -> init, after `Ready`: state.json is saved, the container exists; stop
    /// dying with the parent (until now a killed `create` takes the init with it).
    Saved,
    /// init -> parent: PR_SET_PDEATHSIG is cleared; `create` may exit.
    Detached,
    /// init -> parent, only with the test hook `HULL_TEST_KILL_AT=init: <phase>`
    /// (logging.rs `test_kill_at`): SIGKILL yourself now.
    TestKill,
    /// init -> parent: setup failed; the message names what and where.
    Error(String),
}

/// The largest packet [`Channel::recv`] takes whole: a longer one would arrive cut and fail
/// to decode, losing what it said.
const MAX_PACKET: usize = 8192;

/// One end of the sync channel.
#[derive(Debug)]
pub struct Channel {
    fd: OwnedFd,
}

/// Creates a connected pair (close-on-exec, so neither end reaches the container program).
pub fn pair() -> Result<(Channel, Channel)> {
    let (a, b) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .ctx(|| "socketpair for the init sync channel")?;
    Ok((Channel { fd: a }, Channel { fd: b }))
}

impl Channel {
    /// The raw fd number (to keep it out of the preserved-fd range).
    pub fn raw_fd(&self) -> i32 {
        self.fd.as_raw_fd()
    }

    /// Sends one message.
    pub fn send(&self, msg: &Msg) -> Result<()> {
        self.send_with(msg, &[])
    }

    /// Sends one message with `fd` attached (SCM_RIGHTS).
    pub fn send_fd(&self, msg: &Msg, fd: BorrowedFd<'_>) -> Result<()> {
        self.send_with(msg, &[ControlMessage::ScmRights(&[fd.as_raw_fd()])])
    }

    fn send_with(&self, msg: &Msg, cmsgs: &[ControlMessage<'_>]) -> Result<()> {
        let encode = |m: &Msg| {
            serde_json::to_vec(m).map_err(|e| Error::container(format!("encode sync message: {e}")))
        };
        let mut buf = encode(msg)?;
        // An error naming a huge value (a list of 100,000 groups) must still reach the
        // parent: its beginning, which names the field, is kept.
        if let Msg::Error(text) = msg {
            let mut keep = text.len();
            while buf.len() > MAX_PACKET && keep > 0 {
                // Shrinks in proportion (escapes make bytes and characters differ).
                keep = keep * (MAX_PACKET - 64) / buf.len();
                while !text.is_char_boundary(keep) {
                    keep -= 1;
                }
                buf = encode(&Msg::Error(format!("{}... (cut)", &text[..keep])))?;
            }
        }
        if buf.len() > MAX_PACKET {
            return Err(Error::container(format!(
                "sync message of {} bytes: longer than {MAX_PACKET}",
                buf.len()
            )));
        }
        sendmsg::<()>(
            self.fd.as_raw_fd(),
            &[IoSlice::new(&buf)],
            cmsgs,
            MsgFlags::MSG_NOSIGNAL,
            None,
        )
        .ctx(|| "send on init sync channel")?;
        Ok(())
    }

    /// Receives one message; `None` when the other end closed the channel. An fd sent with
    /// the message is closed; use [`Channel::recv_fd`] where one is expected.
    pub fn recv(&self) -> Result<Option<Msg>> {
        Ok(self.recv_fd()?.map(|(m, _)| m))
    }

    /// Receives one message and the fd attached to it, if any.
    pub fn recv_fd(&self) -> Result<Option<(Msg, Option<OwnedFd>)>> {
        let mut buf = [0u8; MAX_PACKET];
        let mut space = nix::cmsg_space!([RawFd; 1]);
        let (n, fd) = loop {
            let mut iov = [IoSliceMut::new(&mut buf)];
            match recvmsg::<()>(
                self.fd.as_raw_fd(),
                &mut iov,
                Some(&mut space),
                MsgFlags::MSG_CMSG_CLOEXEC,
            ) {
                Ok(m) => {
                    let mut fd = None;
                    for c in m.cmsgs().ctx(|| "receive on init sync channel")? {
                        if let ControlMessageOwned::ScmRights(fds) = c {
                            for f in fds {
                                let owned = crate::sys::adopt_scm_rights_fd(f);
                                fd.get_or_insert(owned);
                            }
                        }
                    }
                    break (m.bytes, fd);
                }
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(e).ctx(|| "receive on init sync channel"),
            }
        };
        if n == 0 {
            return Ok(None);
        }
        let msg = serde_json::from_slice(&buf[..n])
            .map_err(|e| Error::container(format!("bad sync message: {e}")))?;
        Ok(Some((msg, fd)))
    }

    /// The namespace-joining intermediate's last act (docs/handoff.md): report the pid of the
    /// process it cloned, or why it could not, then exit without returning.
    pub fn report_helper(&self, cloned: Result<i32>) -> ! {
        match cloned {
            Ok(pid) => {
                let _ = self.send(&Msg::Pid(pid));
                crate::sys::exit_now(0)
            }
            Err(e) => {
                let _ = self.send(&Msg::Error(e.to_string()));
                crate::sys::exit_now(1)
            }
        }
    }

    /// The parent's side of [`Channel::report_helper`]: reaps the intermediate `helper` and
    /// returns the pid it reported (`what` names it in an unexpected-message error).
    pub fn helper_pid(&self, helper: i32, what: &str) -> Result<i32> {
        let got = self.recv();
        let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(helper), None);
        match got? {
            Some(Msg::Pid(pid)) => Ok(pid),
            Some(Msg::Error(e)) => Err(Error::Init(e)),
            other => Err(Error::container(format!("{what}: unexpected {other:?}"))),
        }
    }

    /// Receives a message and requires it to be `want`; an `Error` from the other side is
    /// returned as [`Error::Init`].
    pub fn expect(&self, want: &Msg) -> Result<()> {
        match self.recv()? {
            Some(m) if &m == want => Ok(()),
            Some(Msg::Error(e)) => Err(Error::Init(e)),
            Some(m) => Err(Error::container(format!(
                "sync channel: expected {want:?}, got {m:?}"
            ))),
            None => Err(Error::Init(format!(
                "container init exited before sending {want:?}"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_eof() {
        let (a, b) = pair().expect("socketpair");
        a.send(&Msg::Pid(42)).expect("send");
        a.send(&Msg::Error("mount /proc: EPERM".into()))
            .expect("send");
        assert_eq!(b.recv().expect("recv"), Some(Msg::Pid(42)));
        match b.expect(&Msg::Ready) {
            Err(Error::Init(m)) => assert_eq!(m, "mount /proc: EPERM"),
            other => panic!("unexpected {other:?}"),
        }
        drop(a);
        assert_eq!(b.recv().expect("recv"), None);
    }

    #[test]
    fn a_long_error_arrives_cut_with_its_beginning() {
        let (a, b) = pair().expect("socketpair");
        let long = format!(
            "process.user.additionalGids: setgroups: {}",
            "\u{1}é".repeat(50_000)
        );
        a.send(&Msg::Error(long)).expect("send");
        match b.recv().expect("recv") {
            Some(Msg::Error(m)) => {
                assert!(
                    m.starts_with("process.user.additionalGids: setgroups: "),
                    "{m}"
                );
                assert!(m.ends_with("... (cut)"), "{m}");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn an_fd_travels_with_its_message() {
        use std::os::fd::AsFd;
        let (a, b) = pair().expect("socketpair");
        let f = std::fs::File::open("/proc/self/status").expect("open");
        a.send_fd(&Msg::SeccompListener, f.as_fd()).expect("send");
        a.send(&Msg::Ready).expect("send");
        let (m, fd) = b.recv_fd().expect("recv").expect("message");
        assert_eq!(m, Msg::SeccompListener);
        let fd = fd.expect("fd attached");
        let st = nix::sys::stat::fstat(&fd).expect("fstat");
        let orig = nix::sys::stat::fstat(&f).expect("fstat");
        assert_eq!((st.st_dev, st.st_ino), (orig.st_dev, orig.st_ino));
        let (m, fd) = b.recv_fd().expect("recv").expect("message");
        assert_eq!((m, fd.is_none()), (Msg::Ready, true));
    }
}
