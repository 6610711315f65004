//! CRIU's RPC (criu/images/rpc.proto) over `criu swrk`: the protobuf wire format for just the
//! fields hull sends and reads, and one session with a criu process.
//!
//! Hand-written on purpose: the generated code of a protobuf crate (prost, protobuf) for
//! rpc.proto plus its runtime costs well over the ~45 KB of headroom the static binary has
//! under its 3,000,000-byte limit, and hull needs a dozen scalar fields, four small nested
//! messages and one response. The encoding is proto2's: varints for ints/bools/enums (a
//! negative int32 takes ten bytes), length-delimited strings and messages; field numbers are
//! rpc.proto's (criu 3.17). Unknown fields in responses are skipped, so newer CRIUs work.

use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::path::Path;
use std::process::{Child, Command};

use nix::fcntl::{fcntl, FcntlArg, FdFlag};
use nix::sys::socket::{
    recvmsg, sendmsg, socketpair, AddressFamily, ControlMessageOwned, MsgFlags, SockFlag, SockType,
};

use crate::error::{Context, Error, Result};

/// `criu_req_type` values hull uses.
pub mod req {
    pub const DUMP: u64 = 1;
    pub const RESTORE: u64 = 2;
    pub const PRE_DUMP: u64 = 4;
    pub const NOTIFY: u64 = 6;
}

/// One protobuf message being encoded.
#[derive(Default, Debug, Clone)]
pub struct Msg(pub Vec<u8>);

impl Msg {
    fn key(&mut self, field: u32, wire: u8) {
        self.raw_varint(((field as u64) << 3) | wire as u64);
    }
    fn raw_varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }
    /// uint32, uint64, enum.
    pub fn uint(&mut self, field: u32, v: u64) -> &mut Self {
        self.key(field, 0);
        self.raw_varint(v);
        self
    }
    /// int32: negative values are sign-extended to 64 bits, as protobuf does.
    pub fn int32(&mut self, field: u32, v: i32) -> &mut Self {
        self.uint(field, v as i64 as u64)
    }
    /// A bool, written only when true (false is every field's default here).
    pub fn flag(&mut self, field: u32, v: bool) -> &mut Self {
        if v {
            self.uint(field, 1);
        }
        self
    }
    pub fn bytes(&mut self, field: u32, v: &[u8]) -> &mut Self {
        self.key(field, 2);
        self.raw_varint(v.len() as u64);
        self.0.extend_from_slice(v);
        self
    }
    pub fn string(&mut self, field: u32, v: &str) -> &mut Self {
        self.bytes(field, v.as_bytes())
    }
    pub fn message(&mut self, field: u32, m: &Msg) -> &mut Self {
        self.bytes(field, &m.0)
    }
}

/// `criu_opts` field numbers (rpc.proto).
pub mod opt {
    pub const IMAGES_DIR_FD: u32 = 1;
    pub const PID: u32 = 2;
    pub const LEAVE_RUNNING: u32 = 3;
    pub const EXT_UNIX_SK: u32 = 4;
    pub const TCP_ESTABLISHED: u32 = 5;
    pub const EVASIVE_DEVICES: u32 = 6;
    pub const SHELL_JOB: u32 = 7;
    pub const FILE_LOCKS: u32 = 8;
    pub const LOG_LEVEL: u32 = 9;
    pub const LOG_FILE: u32 = 10;
    pub const PS: u32 = 11;
    pub const NOTIFY_SCRIPTS: u32 = 12;
    pub const ROOT: u32 = 13;
    pub const PARENT_IMG: u32 = 14;
    pub const TRACK_MEM: u32 = 15;
    pub const AUTO_DEDUP: u32 = 16;
    pub const WORK_DIR_FD: u32 = 17;
    pub const LINK_REMAP: u32 = 18;
    pub const EXT_MNT: u32 = 23;
    pub const MANAGE_CGROUPS: u32 = 24;
    pub const CG_ROOT: u32 = 25;
    pub const RST_SIBLING: u32 = 26;
    pub const INHERIT_FD: u32 = 27;
    pub const MANAGE_CGROUPS_MODE: u32 = 34;
    pub const EXTERNAL: u32 = 37;
    pub const EMPTY_NS: u32 = 38;
    pub const FREEZE_CGROUP: u32 = 44;
    pub const TCP_SKIP_IN_FLIGHT: u32 = 46;
    pub const LAZY_PAGES: u32 = 48;
    pub const ORPHAN_PTS_MASTER: u32 = 50;
    pub const CONFIG_FILE: u32 = 51;
    pub const LSM_PROFILE: u32 = 53;
    pub const LSM_MOUNT_CONTEXT: u32 = 63;
}

/// A `key`/`val` (ext_mount_map) or `key`/`fd` (inherit_fd) pair: both are fields 1 and 2.
pub fn pair_str(k: &str, v: &str) -> Msg {
    let mut m = Msg::default();
    m.string(1, k).string(2, v);
    m
}

/// An `inherit_fd`: CRIU gives its own fd `fd` to whatever the image calls `key`.
pub fn inherit_fd(key: &str, fd: i32) -> Msg {
    let mut m = Msg::default();
    m.string(1, key).int32(2, fd);
    m
}

/// A `criu_req` of `typ` with `opts`.
pub fn request(typ: u64, opts: Option<&Msg>) -> Msg {
    let mut m = Msg::default();
    m.uint(1, typ);
    if let Some(o) = opts {
        m.message(2, o);
    }
    m
}

/// The fields of `criu_resp` hull reads.
#[derive(Debug, Default, PartialEq)]
pub struct Resp {
    pub typ: u64,
    pub success: bool,
    /// `notify.script`, `notify.pid`.
    pub notify: Option<(String, i32)>,
    /// `restore.pid`.
    pub restore_pid: Option<i32>,
    pub cr_errno: Option<i32>,
    pub cr_errmsg: Option<String>,
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn varint(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let (&b, rest) = self.0.split_first()?;
            self.0 = rest;
            v |= ((b & 0x7f) as u64) << shift;
            if b < 0x80 {
                return Some(v);
            }
        }
        None
    }
    /// The next field: number, and its varint value or its bytes.
    fn field(&mut self) -> Option<(u32, u64, &[u8])> {
        let key = self.varint()?;
        let (n, wire) = ((key >> 3) as u32, key & 7);
        match wire {
            0 => Some((n, self.varint()?, &[])),
            1 | 5 => {
                let len = if wire == 1 { 8 } else { 4 };
                let (_, rest) = (self.0.len() >= len).then(|| self.0.split_at(len))?;
                self.0 = rest;
                Some((n, 0, &[]))
            }
            2 => {
                let len = usize::try_from(self.varint()?).ok()?;
                let (b, rest) = (self.0.len() >= len).then(|| self.0.split_at(len))?;
                self.0 = rest;
                Some((n, 0, b))
            }
            _ => None,
        }
    }
    fn all(data: &[u8], mut f: impl FnMut(u32, u64, &[u8])) -> Option<()> {
        let mut r = Reader(data);
        while !r.0.is_empty() {
            let (n, v, b) = r.field()?;
            f(n, v, b);
        }
        Some(())
    }
}

/// Decodes a `criu_resp`; `None` when the bytes are not one.
pub fn decode_resp(data: &[u8]) -> Option<Resp> {
    let mut r = Resp::default();
    let mut bad = false;
    Reader::all(data, |n, v, b| match n {
        1 => r.typ = v,
        2 => r.success = v != 0,
        4 => {
            let mut pid = None;
            bad |= Reader::all(b, |n, v, _| {
                if n == 1 {
                    pid = Some(v as i32)
                }
            })
            .is_none();
            r.restore_pid = pid;
        }
        5 => {
            let (mut script, mut pid) = (String::new(), 0);
            bad |= Reader::all(b, |n, v, b| match n {
                1 => script = String::from_utf8_lossy(b).into_owned(),
                2 => pid = v as i32,
                _ => {}
            })
            .is_none();
            r.notify = Some((script, pid));
        }
        7 => r.cr_errno = Some(v as i32),
        9 => r.cr_errmsg = Some(String::from_utf8_lossy(b).into_owned()),
        _ => {}
    })?;
    (!bad).then_some(r)
}

/// A running `criu swrk`, connected over a SOCK_SEQPACKET pair (one message per request).
pub struct Session {
    sock: OwnedFd,
    child: Option<Child>,
}

/// Clears FD_CLOEXEC so that `fd` reaches criu under the same number (std's spawn keeps
/// inheritable fds as they are; it closes only CLOEXEC ones).
pub fn inheritable(fd: BorrowedFd<'_>) -> Result<()> {
    fcntl(fd, FcntlArg::F_SETFD(FdFlag::empty()))
        .map(drop)
        .map_err(|e| Error::Sys {
            what: format!("clear FD_CLOEXEC on fd {} for criu", fd.as_raw_fd()),
            source: e.into(),
        })
}

impl Session {
    /// Starts `criu swrk <fd>`; `inherit` are fds (already inheritable) criu must get.
    pub fn start(criu: &Path) -> Result<Session> {
        let (client, server) = socketpair(
            AddressFamily::Unix,
            SockType::SeqPacket,
            None,
            SockFlag::SOCK_CLOEXEC,
        )
        .ctx(|| "socketpair for criu swrk")?;
        inheritable(server.as_fd())?;
        let mut cmd = Command::new(criu);
        cmd.arg("swrk").arg(server.as_raw_fd().to_string());
        // A foreground restore has blocked every signal it relays; criu must not inherit
        // that (its SIGCHLD handling and the restored tasks' own masks are its business).
        crate::sys::exec_unblocked(&mut cmd);
        let child = cmd
            .spawn()
            .ctx(|| format!("start {} swrk", criu.display()))?;
        // Ours closed: if criu dies, our reads see EOF instead of hanging.
        drop(server);
        Ok(Session {
            sock: client,
            child: Some(child),
        })
    }

    /// criu's pid.
    pub fn pid(&self) -> i32 {
        self.child.as_ref().map_or(0, |c| c.id() as i32)
    }

    /// Sends one request.
    pub fn send(&self, m: &Msg) -> Result<()> {
        sendmsg::<()>(
            self.sock.as_raw_fd(),
            &[IoSlice::new(&m.0)],
            &[],
            MsgFlags::empty(),
            None,
        )
        .ctx(|| "send request to criu")?;
        Ok(())
    }

    /// Receives one response and the fd sent with it (the orphan pts master).
    pub fn recv(&self) -> Result<(Resp, Option<OwnedFd>)> {
        let mut buf = vec![0u8; 64 * 1024];
        let mut iov = [IoSliceMut::new(&mut buf)];
        let mut space = nix::cmsg_space!([RawFd; 1]);
        let msg = recvmsg::<()>(
            self.sock.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            MsgFlags::MSG_CMSG_CLOEXEC,
        )
        .ctx(|| "receive from criu")?;
        let mut fd = None;
        for c in msg.cmsgs().into_iter().flatten() {
            if let ControlMessageOwned::ScmRights(fds) = c {
                for f in fds {
                    let o = crate::sys::adopt_scm_rights_fd(f);
                    fd.get_or_insert(o);
                }
            }
        }
        let n = msg.bytes;
        if n == 0 {
            return Err(Error::container(
                "criu closed the connection (it failed: see its log)",
            ));
        }
        let r = decode_resp(&buf[..n])
            .ok_or_else(|| Error::container("criu sent a response hull cannot decode"))?;
        Ok((r, fd))
    }

    /// Closes the connection and waits for criu; returns whether it exited successfully.
    pub fn finish(mut self) -> Result<bool> {
        let _ =
            nix::sys::socket::shutdown(self.sock.as_raw_fd(), nix::sys::socket::Shutdown::Write);
        match self.child.take() {
            Some(mut c) => Ok(c.wait().ctx(|| "wait for criu")?.success()),
            None => Ok(true),
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_protobuf() {
        let mut m = Msg::default();
        m.uint(1, 2).flag(3, true).flag(4, false).int32(9, 4);
        assert_eq!(m.0, [0x08, 0x02, 0x18, 0x01, 0x48, 0x04]);
        let mut m = Msg::default();
        m.int32(1, -1);
        assert_eq!(
            m.0.len(),
            11,
            "a negative int32 takes ten bytes after the key"
        );
        let mut m = Msg::default();
        m.string(10, "dump.log");
        assert_eq!(&m.0[..2], &[0x52, 8]);
        // Field 63 needs a two-byte key.
        let mut m = Msg::default();
        m.string(opt::LSM_MOUNT_CONTEXT, "x");
        assert_eq!(m.0, [0xfa, 0x03, 1, b'x']);
    }

    #[test]
    fn decodes_notify_and_restore() {
        // type=NOTIFY success=1 notify{script="post-restore" pid=42} + an unknown field 11.
        let mut n = Msg::default();
        n.string(1, "post-restore").int32(2, 42);
        let mut m = Msg::default();
        m.uint(1, req::NOTIFY)
            .flag(2, true)
            .message(5, &n)
            .int32(11, 7);
        let r = decode_resp(&m.0).expect("decodes");
        assert_eq!(r.typ, req::NOTIFY);
        assert!(r.success);
        assert_eq!(r.notify, Some(("post-restore".into(), 42)));
        let mut p = Msg::default();
        p.int32(1, 99);
        let mut m = Msg::default();
        m.uint(1, req::RESTORE)
            .uint(2, 0)
            .message(4, &p)
            .int32(7, -2);
        m.string(9, "oops");
        let r = decode_resp(&m.0).expect("decodes");
        assert!(!r.success);
        assert_eq!(r.restore_pid, Some(99));
        assert_eq!(r.cr_errno, Some(-2));
        assert_eq!(r.cr_errmsg.as_deref(), Some("oops"));
        assert!(decode_resp(&[0x0a, 5, 1]).is_none(), "truncated");
    }
}
