//! Cgroups: one [`CgroupManager`] interface, a v1 driver and a v2 driver, chosen by probing
//! the host. Hybrid hosts (v1 controllers + a cgroup2 `unified` mount) use the v1 driver.
//!
//! The lifecycle code only talks to the trait: `create` builds a manager from the spec with
//! [`new_manager`], applies resources and places the init in it; later commands rebuild it
//! from the [`CgroupState`] persisted in the container's state file with [`load_manager`].

pub mod cli;
mod interim;
pub mod mount;

use std::os::fd::BorrowedFd;

use oci_spec::runtime::LinuxResources;
use serde::{Deserialize, Serialize};

use crate::error::Result;

/// What a later command needs to find the container's cgroup again (saved in state.json).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct CgroupState {
    /// "v1" or "v2".
    pub mode: String,
    /// The cgroup path relative to each hierarchy's root (for example `/hull/abc`).
    pub path: String,
    /// Directories hull created (and so may remove), absolute; v1 has one per controller.
    pub created: Vec<String>,
}

/// Resource statistics in the shape runc's `events --stats` prints them.
pub type Stats = serde_json::Value;

/// The operations hull needs on a container's cgroup, whatever the cgroup version.
pub trait CgroupManager {
    /// Creates the cgroup directories and applies `resources` (validated: a field the host
    /// cannot apply is an error naming the field, unless it holds the default value).
    fn create(&mut self, resources: Option<&LinuxResources>) -> Result<()>;
    /// Moves process `pid` into the cgroup.
    fn add_process(&self, pid: i32) -> Result<()>;
    /// A v2 directory fd for `clone3(CLONE_INTO_CGROUP)`, when the driver can offer one.
    fn clone_into_fd(&self) -> Option<BorrowedFd<'_>>;
    /// Changes the limits of a live container (`hull update`).
    fn update(&self, resources: &LinuxResources) -> Result<()>;
    /// Freezes (`true`) or thaws (`false`) every process in the cgroup, waiting until done.
    fn set_frozen(&self, frozen: bool) -> Result<()>;
    /// Whether the cgroup is currently frozen.
    fn is_frozen(&self) -> Result<bool>;
    /// Host pids of every process in the cgroup.
    fn pids(&self) -> Result<Vec<i32>>;
    /// Resource statistics (cpu, memory, pids, blkio, hugetlb).
    fn stats(&self) -> Result<Stats>;
    /// Removes the cgroup directories hull created. Processes must already be gone.
    fn destroy(&self) -> Result<()>;
    /// What to persist so that [`load_manager`] can find this cgroup again.
    fn state(&self) -> CgroupState;
}

/// Builds the manager for a new container from `linux.cgroupsPath` (absolute, relative,
/// or absent = `/<id>` like runc) on whatever cgroup version the host runs.
pub fn new_manager(
    cgroups_path: Option<&std::path::Path>,
    id: &str,
    systemd: bool,
) -> Result<Box<dyn CgroupManager>> {
    if systemd {
        return Err(crate::error::Error::config(
            "linux.cgroupsPath",
            "the systemd cgroup driver is not supported yet",
        ));
    }
    let path = cgroups_path
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| format!("/{id}"));
    Ok(Box::new(interim::new(path)))
}

/// Rebuilds the manager of an existing container from its persisted state.
pub fn load_manager(state: &CgroupState) -> Result<Box<dyn CgroupManager>> {
    Ok(Box::new(interim::Interim {
        dirs: state.created.iter().map(std::path::PathBuf::from).collect(),
        path: state.path.clone(),
    }))
}
