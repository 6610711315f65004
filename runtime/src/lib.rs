//! hull: an OCI runtime, a drop-in replacement for runc.
//!
//! Module map (one concern of the runtime-spec each):
//! - [`cli`]: runc-compatible command line; [`logging`]: `--log`/`--log-format`.
//! - [`spec`]: loading and validating `config.json` once, up front ([`jsonpath`] names the
//!   field of a decoding error).
//! - [`state`]: the state store under `--root` (locking, atomic writes, status).
//! - [`container`]: the lifecycle operations (start, run, state, kill, delete, list);
//!   [`create`]: `create`, from the bundle to an init waiting for `start`.
//! - [`channel`]: the sync protocol between `create` and the container's init (docs/handoff.md).
//! - [`init`]: what the container's init does between clone and `execve`.
//! - [`namespaces`], [`rootfs`], [`mountopts`], [`devices`], [`process`], [`sched`], [`hooks`]:
//!   the pieces of container setup; [`cgroups`], [`seccomp`]: resource control and filtering;
//!   [`lsm`]: AppArmor/SELinux labels.
//! - [`sealed`]: re-executes hull from a read-only copy of itself (CVE-2019-5736).
//! - [`placement`]: how a new container process enters its cgroup cheaply.
//! - [`sys`]: the thin layer of raw syscalls; the only place with `unsafe` (with
//!   [`sysbpf`], its bpf(2) sibling for the cgroup v2 device program).

pub mod cgroups;
pub mod channel;
pub mod cli;
pub mod container;
pub mod create;
pub mod devices;
pub mod error;
pub mod exec;
pub mod features;
pub mod hooks;
pub mod init;
pub mod jsonpath;
pub mod logging;
pub mod lsm;
pub mod mountopts;
pub mod namespaces;
pub mod placement;
pub mod process;
pub mod rootfs;
pub mod sched;
pub mod sealed;
pub mod seccomp;
pub mod spec;
pub mod state;
pub mod sys;
pub mod sysbpf;
pub mod tty;

/// The runtime-spec version hull implements.
pub const OCI_VERSION: &str = "1.2.0";

/// `hull --version` output after the program name, in runc's layout: dockerd parses the
/// `<name> version <v>` and `commit:` lines (`docker info`), and warns on anything else.
pub const VERSION_STRING: &str = concat!(
    "version ",
    env!("CARGO_PKG_VERSION"),
    "\ncommit: v",
    env!("CARGO_PKG_VERSION"),
    "\nspec: 1.2.0"
);
