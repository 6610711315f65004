//! Interim manager: creates the container's cgroup in every hierarchy, places the init,
//! removes it. Resource limits are rejected until the full v1/v2 drivers land.

use std::fs;
use std::os::fd::BorrowedFd;
use std::path::PathBuf;

use oci_spec::runtime::LinuxResources;

use super::{CgroupManager, CgroupState, Stats};
use crate::error::{Context, Error, Result};

pub struct Interim {
    pub dirs: Vec<PathBuf>,
    pub path: String,
}

fn hierarchies() -> Vec<PathBuf> {
    let root = PathBuf::from("/sys/fs/cgroup");
    if root.join("cgroup.controllers").exists() {
        return vec![root];
    }
    fs::read_dir(&root)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.join("cgroup.procs").exists() && !p.is_symlink())
                .collect()
        })
        .unwrap_or_default()
}

pub fn new(path: String) -> Interim {
    let dirs = hierarchies()
        .into_iter()
        .map(|h| h.join(path.trim_start_matches('/')))
        .collect();
    Interim { dirs, path }
}

impl CgroupManager for Interim {
    fn create(&mut self, resources: Option<&LinuxResources>) -> Result<()> {
        if let Some(r) = resources {
            if r.memory().is_some()
                || r.cpu().is_some()
                || r.pids().is_some()
                || r.block_io().is_some()
                || r.hugepage_limits().is_some()
                || r.unified().is_some()
                || r.network().is_some()
                || r.rdma().is_some()
            {
                return Err(Error::config(
                    "linux.resources",
                    "resource limits are not supported by hull yet",
                ));
            }
        }
        for d in &self.dirs {
            fs::create_dir_all(d).ctx(|| format!("create cgroup {}", d.display()))?;
            // v1 cpuset: an empty cpuset cannot hold tasks; inherit the parent's.
            for f in ["cpuset.cpus", "cpuset.mems"] {
                if let (Some(parent), true) = (d.parent(), d.join(f).exists()) {
                    if fs::read_to_string(d.join(f))
                        .map(|v| v.trim().is_empty())
                        .unwrap_or(false)
                    {
                        let v = fs::read_to_string(parent.join(f)).ctx(|| format!("read {f}"))?;
                        fs::write(d.join(f), v.trim())
                            .ctx(|| format!("write {}", d.join(f).display()))?;
                    }
                }
            }
        }
        Ok(())
    }
    fn add_process(&self, pid: i32) -> Result<()> {
        for d in &self.dirs {
            fs::write(d.join("cgroup.procs"), pid.to_string())
                .ctx(|| format!("add {pid} to cgroup {}", d.display()))?;
        }
        Ok(())
    }
    fn clone_into_fd(&self) -> Option<BorrowedFd<'_>> {
        None
    }
    fn update(&self, _: &LinuxResources) -> Result<()> {
        Err(Error::container("update: not implemented yet"))
    }
    fn set_frozen(&self, _: bool) -> Result<()> {
        Err(Error::container("pause: not implemented yet"))
    }
    fn is_frozen(&self) -> Result<bool> {
        Ok(false)
    }
    fn pids(&self) -> Result<Vec<i32>> {
        let mut v = Vec::new();
        for d in &self.dirs {
            if let Ok(s) = fs::read_to_string(d.join("cgroup.procs")) {
                v.extend(s.lines().filter_map(|l| l.parse::<i32>().ok()));
            }
        }
        v.sort_unstable();
        v.dedup();
        Ok(v)
    }
    fn stats(&self) -> Result<Stats> {
        Ok(serde_json::json!({}))
    }
    fn destroy(&self) -> Result<()> {
        for d in &self.dirs {
            match fs::remove_dir(d) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e).ctx(|| format!("remove cgroup {}", d.display())),
            }
        }
        Ok(())
    }
    fn state(&self) -> CgroupState {
        CgroupState {
            mode: "interim".into(),
            path: self.path.clone(),
            created: self.dirs.iter().map(|d| d.display().to_string()).collect(),
        }
    }
}
