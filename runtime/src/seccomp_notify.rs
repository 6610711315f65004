//! `SCMP_ACT_NOTIFY`: handing the listener fd to the agent at `listenerPath`, as runc does.
//!
//! The container process loads the filter with SECCOMP_FILTER_FLAG_NEW_LISTENER and sends
//! the fd to the runtime over the sync channel (`Msg::SeccompListener`, SCM_RIGHTS). The
//! runtime, which is outside the container's mount namespace and so can reach the host path,
//! connects a `SOCK_STREAM` unix socket to `listenerPath` and sends one message: the
//! `ContainerProcessState` JSON (`ociVersion`, `fds: ["seccompFd"]`, `pid`, `metadata`,
//! `state`) as data with the fd as SCM_RIGHTS. Then it closes its copies.

use std::io::IoSlice;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use nix::sys::socket::{
    connect, sendmsg, socket, AddressFamily, ControlMessage, MsgFlags, SockFlag, SockType, UnixAddr,
};
use oci_spec::runtime::{ContainerProcessState, ContainerState, State, SECCOMP_FD_NAME};

use crate::error::{Context, Error, Result};
use crate::seccomp::Listener;

/// Sends `fd` with the process `pid` and container `state` to the agent.
pub fn send(l: &Listener, pid: i32, state: State, fd: OwnedFd) -> Result<()> {
    let path = &l.path;
    let mut msg = ContainerProcessState::default();
    msg.set_version(crate::OCI_VERSION.to_string());
    msg.set_fds(vec![SECCOMP_FD_NAME.to_string()]);
    msg.set_pid(pid);
    msg.set_metadata(l.metadata.clone());
    msg.set_state(state);
    let data = serde_json::to_vec(&msg)
        .map_err(|e| Error::container(format!("encode seccomp agent message: {e}")))?;
    let what = || format!("linux.seccomp.listenerPath {}", path.display());
    let sock = socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .ctx(|| format!("{}: socket", what()))?;
    let addr = UnixAddr::new(path).ctx(|| format!("{}: address", what()))?;
    connect(sock.as_raw_fd(), &addr).ctx(|| format!("{}: connect", what()))?;
    let fds = [fd.as_fd().as_raw_fd()];
    sendmsg::<()>(
        sock.as_raw_fd(),
        &[IoSlice::new(&data)],
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::MSG_NOSIGNAL,
        None,
    )
    .ctx(|| format!("{}: send the listener fd", what()))?;
    Ok(())
}

/// The container state the agent gets (`state` in `ContainerProcessState`).
pub fn state(
    id: &str,
    status: ContainerState,
    pid: i32,
    bundle: &std::path::Path,
    annotations: std::collections::HashMap<String, String>,
) -> State {
    let mut s = State::default();
    s.set_version(crate::OCI_VERSION.to_string());
    s.set_id(id.to_string());
    s.set_status(status);
    s.set_pid(Some(pid));
    s.set_bundle(bundle.to_path_buf());
    s.set_annotations((!annotations.is_empty()).then_some(annotations));
    s
}

/// Handles a `Msg::SeccompListener` from the container process: `fd` goes to the agent.
pub fn deliver(l: Option<&Listener>, fd: Option<OwnedFd>, pid: i32, st: State) -> Result<()> {
    match (l, fd) {
        (Some(l), Some(fd)) => send(l, pid, st, fd),
        _ => Err(Error::container(
            "sync channel: a seccomp listener fd arrived without a listenerPath (or no fd)",
        )),
    }
}
