//! hull-cgroups: one [`CgroupManager`] interface, a v1 driver ([`v1`]) and a v2 driver ([`v2`]),
//! chosen by probing the host (docs/cgroups.md):
//! - `/sys/fs/cgroup` is cgroup2: the v2 driver.
//! - otherwise the v1 driver over every mounted v1 hierarchy; on a hybrid host (a cgroup2
//!   mount at `/sys/fs/cgroup/unified`) the container also gets a cgroup there, so that its
//!   processes are grouped in both trees, but resources are applied through v1 only.
//!
//! The lifecycle code only talks to the trait: `create` builds a manager from the spec with
//! [`new_manager`], applies resources and places the init in it; later commands rebuild it
//! from the [`CgroupState`] persisted in the container's state file with [`load_manager`].

#![forbid(unsafe_code)]

pub mod convert;
pub mod devices;
pub mod devices_bpf;
mod error;
mod fsutil;
pub mod mount;
pub mod path;
mod resources_v1;
mod resources_v2;
mod stats;
pub mod systemd;
pub mod trust;
mod v1;
mod v2;
pub mod validate;

use std::collections::BTreeMap;
use std::os::fd::BorrowedFd;
use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxResources;
use serde::{Deserialize, Serialize};

pub use error::{Context, Error, Result};
pub use trust::verify_state;

/// The cgroup filesystem root on every host hull supports.
pub const CGROUP_ROOT: &str = "/sys/fs/cgroup";
/// `statfs` magic of cgroup2.
const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;

/// What a later command needs to find the container's cgroup again (saved in state.json).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct CgroupState {
    /// "v1" or "v2".
    pub mode: String,
    /// The cgroup path relative to each hierarchy's root (for example `/hull/abc`).
    pub path: String,
    /// Directories hull created (and so may remove), absolute, parents before children.
    pub created: Vec<String>,
    /// The container's cgroup directory per controller (v1; `""` = the unified hierarchy)
    /// or the single directory under key `""` (v2).
    #[serde(default)]
    pub dirs: BTreeMap<String, String>,
    /// The systemd unit that owns the cgroup (`--systemd-cgroup`); `mode`, `dirs` and
    /// `created` then describe the unit's cgroup as the cgroupfs code sees it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub systemd_unit: Option<String>,
    /// The unit belongs to the user's systemd manager (rootless), not the system's.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub systemd_user: bool,
}

impl CgroupState {
    /// This state with `created` listing the directories of its path that do not exist yet:
    /// what creating it is about to make. `create` records that before making them, so a
    /// `create` killed half-way leaves no directory its `delete` does not know of. Only
    /// components of the path are listed, never a parent above it, and never one that
    /// exists (removing a listed directory that was never made is a no-op).
    pub fn planned(&self) -> CgroupState {
        let depth = Path::new(&self.path)
            .components()
            .filter(|c| matches!(c, std::path::Component::Normal(_)))
            .count();
        let mut created: Vec<String> = Vec::new();
        for d in self.dirs.values() {
            let mut missing: Vec<&Path> = Path::new(d)
                .ancestors()
                .take(depth)
                .filter(|p| !p.exists())
                .collect();
            // Parents before children, as `created` is ordered.
            missing.reverse();
            for p in missing {
                let p = p.display().to_string();
                if !created.contains(&p) {
                    created.push(p);
                }
            }
        }
        CgroupState {
            created,
            ..self.clone()
        }
    }
}

/// Resource statistics in the shape runc's `events --stats` prints them.
pub type Stats = serde_json::Value;

/// The operations hull needs on a container's cgroup, whatever the cgroup version.
pub trait CgroupManager {
    /// Creates the cgroup directories and applies `resources` (validated: a field the host
    /// cannot apply is an error naming the field, unless it holds the default value).
    /// The device rules come from `resources.devices` and runc's default allow list only:
    /// `linux.devices` makes nodes, it grants nothing (as in runc).
    fn create(&mut self, resources: Option<&LinuxResources>) -> Result<()>;
    /// Moves process `pid` into the cgroup.
    fn add_process(&self, pid: i32) -> Result<()>;
    /// Places a new container's init (`pid`) when it was not cloned into the cgroup: for the
    /// cgroupfs drivers [`CgroupManager::add_process`]; the systemd driver starts its unit
    /// here (a scope cannot exist without a process) and then applies the resources.
    fn attach(&mut self, pid: i32) -> Result<()> {
        self.add_process(pid)
    }
    /// A v2 directory fd for `clone3(CLONE_INTO_CGROUP)`, when the driver can offer one.
    fn clone_into_fd(&self) -> Option<BorrowedFd<'_>>;
    /// Changes the limits of a live container (`hull update`). Only the fields present
    /// are written; `merged` is the container's whole resources after the update (some
    /// values, like v2 swap, are derived from several fields).
    fn update(&self, resources: &LinuxResources, merged: &LinuxResources) -> Result<()>;
    /// Freezes (`true`) or thaws (`false`) every process in the cgroup, waiting until done.
    fn set_frozen(&self, frozen: bool) -> Result<()>;
    /// Whether the cgroup is currently frozen.
    fn is_frozen(&self) -> Result<bool>;
    /// Host pids of every process in the cgroup (and its sub-cgroups).
    fn pids(&self) -> Result<Vec<i32>>;
    /// Resource statistics (cpu, memory, pids, blkio, hugetlb).
    fn stats(&self) -> Result<Stats>;
    /// How many times the kernel's OOM killer has killed a process in the cgroup.
    fn oom_kills(&self) -> Result<u64>;
    /// Moves `pid` into existing sub-cgroups of the container's cgroup (`exec --cgroup`,
    /// runc's `[controller:]path` values, parsed by [`path::parse_sub`]).
    fn add_process_sub(&self, pid: i32, subs: &[String]) -> Result<()>;
    /// The container's directory in a cgroup2 tree (v2, or the hybrid unified mount).
    fn unified_dir(&self) -> Option<&Path>;
    /// Signals every process in the cgroup, as runc's `kill --all`: SIGKILL through
    /// cgroup.kill where the kernel has it (atomic, even against a process forking); else
    /// freeze, signal every listed pid, thaw, so that nothing forks past the listing. Like
    /// runc, a container that was paused is thawed afterwards.
    fn signal_all(&self, sig: nix::sys::signal::Signal) -> Result<()> {
        use nix::sys::signal::{kill, Signal};
        if sig == Signal::SIGKILL {
            if let Some(d) = self.unified_dir() {
                if std::fs::write(d.join("cgroup.kill"), "1").is_ok() {
                    // A v1 freezer (hybrid hosts) holds even SIGKILLed tasks until thawed.
                    if self.is_frozen().unwrap_or(false) {
                        self.set_frozen(false)?;
                    }
                    return Ok(());
                }
            }
        }
        let frozen = self.set_frozen(true).is_ok();
        for p in self.pids()? {
            let _ = kill(nix::unistd::Pid::from_raw(p), sig);
        }
        if frozen {
            self.set_frozen(false)?;
        }
        Ok(())
    }
    /// Removes the cgroup directories hull created. Processes must already be gone.
    fn destroy(&self) -> Result<()>;
    /// What to persist so that [`load_manager`] can find this cgroup again.
    fn state(&self) -> CgroupState;
}

/// Which cgroup layout the host has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    /// `/sys/fs/cgroup` is cgroup2.
    V2,
    /// v1 hierarchies (mount point, controllers); `unified` is the hybrid cgroup2 mount.
    V1 {
        hierarchies: Vec<v1::Hierarchy>,
        unified: Option<PathBuf>,
    },
}

fn is_cgroup2(p: &Path) -> bool {
    nix::sys::statfs::statfs(p)
        .map(|s| s.filesystem_type().0 == CGROUP2_SUPER_MAGIC)
        .unwrap_or(false)
}

/// Probes the host's cgroup layout, once per process: `create` probes it for the manager,
/// and its init (a fork of it, in a copy of the same mount namespace) needs it again to
/// mount the container's cgroupfs; each probe reads /proc/self/mountinfo (~35 µs).
pub fn probe() -> Result<Host> {
    static HOST: std::sync::OnceLock<Host> = std::sync::OnceLock::new();
    if let Some(h) = HOST.get() {
        return Ok(h.clone());
    }
    let h = probe_host()?;
    Ok(HOST.get_or_init(|| h).clone())
}

fn probe_host() -> Result<Host> {
    let root = Path::new(CGROUP_ROOT);
    if is_cgroup2(root) {
        return Ok(Host::V2);
    }
    let hierarchies = v1::hierarchies()?;
    if hierarchies.is_empty() {
        return Err(Error::msg(format!(
            "no cgroup hierarchy is mounted under {CGROUP_ROOT}"
        )));
    }
    let unified = root.join("unified");
    let unified = is_cgroup2(&unified).then_some(unified);
    Ok(Host::V1 {
        hierarchies,
        unified,
    })
}

/// What a new container's cgroup is made from.
#[derive(Debug, Clone, Copy)]
pub struct NewCgroup<'a> {
    /// `linux.cgroupsPath`.
    pub cgroups_path: Option<&'a Path>,
    /// The container id (the default path's last component).
    pub id: &'a str,
    /// `Some(bus)` for the systemd driver (`--systemd-cgroup`), `None` for cgroupfs.
    pub systemd: Option<systemd::Bus>,
    /// The spec's annotations (`org.systemd.property.*` for the systemd driver).
    pub annotations: Option<&'a std::collections::HashMap<String, String>>,
    /// Rootless cgroups (`--rootless`): device rules the kernel will not let a user
    /// enforce are skipped, as in runc.
    pub rootless: bool,
}

/// Builds the manager for a new container: with the systemd driver a unit named after
/// `linux.cgroupsPath` (`slice:prefix:name`); otherwise a cgroupfs path (absolute, relative
/// to hull's own cgroup, or absent = `/<id>` like runc), on whatever cgroup version the
/// host runs.
pub fn new_manager(n: &NewCgroup<'_>) -> Result<Box<dyn CgroupManager>> {
    if let Some(bus) = n.systemd {
        let raw = n
            .cgroups_path
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        let empty = std::collections::HashMap::new();
        return Ok(Box::new(systemd::SystemdCgroup::new(
            &raw,
            n.id,
            probe()?,
            bus,
            n.annotations.unwrap_or(&empty),
        )?));
    }
    let spec_path = path::parse(n.cgroups_path, n.id, false)?;
    match probe()? {
        Host::V2 => {
            let mut m = v2::V2::new(&spec_path)?;
            m.rootless = n.rootless;
            Ok(Box::new(m))
        }
        Host::V1 {
            hierarchies,
            unified,
        } => Ok(Box::new(v1::V1::new(&spec_path, &hierarchies, unified)?)),
    }
}

/// The first `linux.resources` field that needs a cgroup controller (runc's
/// `needAnyControllers`): without one, a rootless container may run with no cgroup at
/// all. Device rules need none (they are a BPF program, or skipped when rootless).
pub fn needs_controllers(r: &LinuxResources) -> Option<&'static str> {
    let set = [
        ("linux.resources.memory", r.memory().is_some()),
        ("linux.resources.cpu", r.cpu().is_some()),
        ("linux.resources.pids", r.pids().is_some()),
        ("linux.resources.blockIO", r.block_io().is_some()),
        (
            "linux.resources.hugepageLimits",
            r.hugepage_limits().as_ref().is_some_and(|h| !h.is_empty()),
        ),
        ("linux.resources.network", r.network().is_some()),
        (
            "linux.resources.rdma",
            r.rdma().as_ref().is_some_and(|h| !h.is_empty()),
        ),
        (
            "linux.resources.unified",
            r.unified().as_ref().is_some_and(|h| !h.is_empty()),
        ),
    ];
    set.into_iter().find(|(_, on)| *on).map(|(f, _)| f)
}

/// Rebuilds the manager of an existing container from its persisted state.
pub fn load_manager(state: &CgroupState) -> Result<Box<dyn CgroupManager>> {
    if let Some(unit) = &state.systemd_unit {
        return Ok(Box::new(systemd::SystemdCgroup::load(state, unit)?));
    }
    match state.mode.as_str() {
        "v2" => Ok(Box::new(v2::V2::load(state)?)),
        "v1" => Ok(Box::new(v1::V1::load(state))),
        m => Err(Error::msg(format!(
            "state: unknown cgroup mode {m:?} (container created by another hull version?)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn planned_lists_the_missing_components_parents_first() {
        let base = std::env::temp_dir().join(format!("hull-planned-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(base.join("a")).expect("mkdir");
        let d = |p: &str| base.join(p).display().to_string();
        let st = CgroupState {
            mode: "v1".into(),
            path: "/a/b/c".into(),
            dirs: [
                ("cpu".to_string(), d("a/b/c")),
                ("pids".to_string(), d("a/b/c")),
            ]
            .into(),
            ..Default::default()
        };
        let planned = st.planned().created;
        let _ = std::fs::remove_dir_all(&base);
        // `a` exists (never listed, as nothing above the path's own components would be).
        assert_eq!(planned, vec![d("a/b"), d("a/b/c")]);
    }
}
