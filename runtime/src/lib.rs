//! hull-runtime: the runtime library of hull, an OCI runtime and drop-in replacement for
//! runc. The binary (`cli/`) maps runc's command line onto [`options`] and calls the
//! operations here; this crate never sees the command line's types.
//!
//! Module map (one concern of the runtime-spec each; docs/architecture.md draws the layers):
//! - [`options`]: what each operation is asked to do; [`logging`]: `--log`/`--log-format`,
//!   and the sink of the `log` facade the lower crates write to.
//! - [`spec`]: loading and validating `config.json` once, up front ([`decode`] reads and
//!   decodes it in the shape the spec defines, [`jsonpath`] names the
//!   field of a decoding error).
//! - [`state`]: the state store under `--root` (locking, atomic writes, status).
//! - [`container`]: the lifecycle operations (start, run, state, kill, delete, list);
//!   [`create`]: `create`, from the bundle to an init waiting for `start`; [`exec`]: a new
//!   process in a running container; [`cgroup_ops`]: `update`, `pause`, `resume`, `events`,
//!   `ps` ([`update`] turns `update`'s request into resources).
//! - [`channel`]: the sync protocol between `create` and the container's init (docs/handoff.md).
//! - [`init`]: what the container's init does between clone and `execve`.
//! - [`namespaces`], [`rootfs`] (with [`binds`], [`idmap`], [`masks`], [`no_pivot`]), [`mountopts`],
//!   [`devices`], [`process`], [`sched`], [`mempolicy`], [`intelrdt`], [`netdev`], [`hooks`], [`tty`]: the pieces of container setup
//!   ([`ids`]: uid/gid ranges); [`lsm`]: AppArmor/SELinux labels;
//!   [`seccomp_notify`]: handing a `SCMP_ACT_NOTIFY` listener to its agent.
//! - [`sealed`]: re-executes hull from a read-only copy of itself (CVE-2019-5736).
//! - [`placement`]: how a new container process enters its cgroup cheaply; [`affinity`]:
//!   its CPU affinity; [`fds`]: the caller's fds, closed or handed to the program.
//! - [`rootless`]: running as a user (`--rootless`, the default root, id maps).
//! - [`compat`]: config spellings the spec allows and the decoder does not.
//! - [`checkpoint`]: `checkpoint` and `restore` with CRIU (its RPC in `checkpoint::rpc`).
//! - [`features`]: `hull features`.
//!
//! The layers below, re-exported under their concern's name: [`cgroups`] (hull-cgroups: the
//! v1/v2 drivers), [`seccomp`] (hull-seccomp: profile to BPF), [`sys`] (hull-sys: raw
//! syscalls, the only `unsafe`).

#![forbid(unsafe_code)]

pub use hull_cgroups as cgroups;
pub use hull_seccomp as seccomp;
pub use hull_sys as sys;

pub mod affinity;
pub mod binds;
pub mod cgroup_ops;
pub mod channel;
pub mod checkpoint;
pub mod compat;
pub mod container;
pub mod create;
pub mod decode;
pub mod devices;
pub mod error;
pub mod exec;
pub mod fds;
pub mod features;
pub mod hooks;
pub mod idmap;
pub mod ids;
pub mod init;
pub mod intelrdt;
pub mod jsonpath;
pub mod logging;
pub mod lsm;
pub mod masks;
pub mod mempolicy;
pub mod mountopts;
pub mod namespaces;
pub mod netdev;
pub mod no_pivot;
pub mod options;
pub mod placement;
pub mod process;
pub mod rootfs;
pub mod rootless;
pub mod sched;
pub mod sealed;
pub mod seccomp_notify;
pub mod spec;
pub mod state;
pub mod tty;
pub mod update;

/// The runtime-spec version hull implements.
pub const OCI_VERSION: &str = "1.3.0";
