//! The cgroup v2 driver: one directory in the unified hierarchy at /sys/fs/cgroup.

use std::fs;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::fcntl::OFlag;
use oci_spec::runtime::LinuxResources;

use super::path::{self, SpecPath};
use super::{devices, devices_bpf, fsutil, resources_v2, stats, validate};
use super::{CgroupManager, CgroupState, Stats, CGROUP_ROOT};
use crate::error::{Context, Error, Result};

/// The v2 manager.
pub struct V2 {
    /// The cgroup path below the hierarchy root (`/hull/abc`).
    path: String,
    dir: PathBuf,
    /// An fd of `dir` for clone3(CLONE_INTO_CGROUP) and BPF attach; opened by `create`.
    fd: Option<OwnedFd>,
    created: Vec<PathBuf>,
    /// The container's init when it is in the cgroup before `create` (the systemd driver's
    /// unit holds it): the emptiness check allows exactly that process.
    holds: Option<i32>,
    /// Rootless cgroups: a device program the kernel refuses to load or attach (bpf(2)
    /// needs privileges a user has not) is skipped, as runc ignores device errors then.
    pub(crate) rootless: bool,
}

fn open_dir(dir: &Path) -> Result<OwnedFd> {
    nix::fcntl::open(
        dir,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .ctx(|| format!("open cgroup {}", dir.display()))
}

/// Enables every available controller in `dir`'s cgroup.subtree_control (one write per
/// controller, so that one the kernel refuses does not keep the others off). Best effort:
/// a controller that ends up missing in the container's cgroup is reported by
/// [`resources_v2::check_available`] against the field that needed it.
fn enable_controllers(dir: &Path) {
    let avail = fsutil::read(dir, "cgroup.controllers").unwrap_or_default();
    let on = fsutil::read(dir, "cgroup.subtree_control").unwrap_or_default();
    let on: Vec<&str> = on.split_whitespace().collect();
    for c in avail.split_whitespace().filter(|c| !on.contains(c)) {
        let _ = fs::write(dir.join("cgroup.subtree_control"), format!("+{c}"));
    }
}

impl V2 {
    /// Resolves the container's directory.
    pub fn new(p: &SpecPath) -> Result<Self> {
        let path = match p {
            SpecPath::Absolute(a) => a.clone(),
            SpecPath::Relative(r) => {
                let own = super::v1::own_cgroups()?
                    .get("")
                    .cloned()
                    .unwrap_or_else(|| "/".into());
                // hull's own cgroup most likely holds processes (hull itself), and a v2
                // cgroup with processes cannot delegate controllers: use its parent, as runc.
                let base = Path::new(&own)
                    .parent()
                    .map_or("/".to_string(), |b| b.display().to_string());
                path::join(&base, r)
            }
        };
        let dir = Path::new(CGROUP_ROOT).join(path.trim_start_matches('/'));
        Ok(V2 {
            path,
            dir,
            fd: None,
            created: Vec::new(),
            holds: None,
            rootless: false,
        })
    }

    /// Rebuilds the manager from persisted state.
    /// The cgroup already holds the container's init `pid` (placed there by systemd).
    pub fn holding(mut self, pid: i32) -> Self {
        self.holds = Some(pid);
        self
    }

    pub fn load(st: &CgroupState) -> Result<Self> {
        let dir = st
            .dirs
            .get("")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(CGROUP_ROOT).join(st.path.trim_start_matches('/')));
        Ok(V2 {
            path: st.path.clone(),
            dir,
            fd: None,
            created: st.created.iter().map(PathBuf::from).collect(),
            holds: None,
            rootless: false,
        })
    }

    fn apply_devices(&self, rules: &[devices::Rule]) -> Result<()> {
        let r = match &self.fd {
            Some(f) => devices_bpf::apply(f.as_fd(), rules),
            None => devices_bpf::apply(open_dir(&self.dir)?.as_fd(), rules),
        };
        match r {
            Err(e) if self.rootless => {
                log::debug!("rootless: device rules not enforced: {e}");
                Ok(())
            }
            r => r,
        }
    }
}

impl CgroupManager for V2 {
    fn create(&mut self, r: Option<&LinuxResources>) -> Result<()> {
        let empty = LinuxResources::default();
        let r = r.unwrap_or(&empty);
        validate::resources(r)?;
        let rules = devices::rules(r.devices().as_deref().unwrap_or_default())?;
        resources_v2::check_unsupported(r)?;
        let root = Path::new(CGROUP_ROOT);
        // Controllers must be enabled in every ancestor, including ones that already existed.
        let mut cur = root.to_path_buf();
        enable_controllers(&cur);
        let rel = self.path.trim_start_matches('/').to_string();
        let parts: Vec<&str> = rel.split('/').collect();
        for p in &parts[..parts.len().saturating_sub(1)] {
            cur.push(p);
            if cur.is_dir() {
                enable_controllers(&cur);
            }
        }
        let leaf = self.dir.clone();
        self.created = fsutil::mkdir_tracked(root, &rel, |d| {
            if d != leaf {
                enable_controllers(d);
            }
            Ok(())
        })?;
        // A cgroup that already existed may be someone's: never join a busy or frozen one
        // (a frozen one would hold the init forever) nor change its limits. One made just
        // now is empty, but may be frozen by a frozen parent.
        if self.created.last() != Some(&self.dir) {
            fsutil::check_empty(&self.dir, self.holds)?;
        }
        if fsutil::read(&self.dir, "cgroup.freeze")? == "1"
            || fsutil::kv(&self.dir, "cgroup.events", "frozen") == Some(1)
        {
            return Err(fsutil::frozen_error(&self.dir, "frozen"));
        }
        resources_v2::check_available(&self.dir, r)?;
        self.fd = Some(open_dir(&self.dir)?);
        resources_v2::apply(&self.dir, r, r, false)?;
        self.apply_devices(&rules)
    }

    fn add_process(&self, pid: i32) -> Result<()> {
        fs::write(self.dir.join("cgroup.procs"), pid.to_string())
            .ctx(|| format!("add {pid} to cgroup {}", self.dir.display()))
    }

    fn clone_into_fd(&self) -> Option<BorrowedFd<'_>> {
        self.fd.as_ref().map(|f| f.as_fd())
    }

    fn update(&self, r: &LinuxResources, merged: &LinuxResources) -> Result<()> {
        validate::resources(r)?;
        resources_v2::check_unsupported(r)?;
        resources_v2::check_available(&self.dir, r)?;
        let rules = r
            .devices()
            .as_ref()
            .map(|d| devices::rules(d))
            .transpose()?;
        resources_v2::apply(&self.dir, r, merged, true)?;
        if let Some(rules) = rules {
            self.apply_devices(&rules)?;
        }
        Ok(())
    }

    fn set_frozen(&self, frozen: bool) -> Result<()> {
        let v = if frozen { "1" } else { "0" };
        fsutil::write(&self.dir, "cgroup.freeze", v, "cgroup.freeze")?;
        let want = if frozen { 1 } else { 0 };
        let done = fsutil::wait_until(Duration::from_secs(10), || {
            Ok(fsutil::kv(&self.dir, "cgroup.events", "frozen") == Some(want))
        })?;
        if !done {
            return Err(Error::msg(format!(
                "cgroup {} did not become {} within 10s",
                self.dir.display(),
                if frozen { "frozen" } else { "thawed" }
            )));
        }
        Ok(())
    }

    fn is_frozen(&self) -> Result<bool> {
        Ok(fsutil::read(&self.dir, "cgroup.freeze")? == "1")
    }

    fn pids(&self) -> Result<Vec<i32>> {
        let mut v = Vec::new();
        fsutil::procs_tree(&self.dir, &mut v);
        v.sort_unstable();
        v.dedup();
        Ok(v)
    }

    fn stats(&self) -> Result<Stats> {
        Ok(stats::v2(&self.dir))
    }

    fn oom_kills(&self) -> Result<u64> {
        Ok(fsutil::kv(&self.dir, "memory.events", "oom_kill").unwrap_or(0))
    }

    fn add_process_sub(&self, pid: i32, subs: &[String]) -> Result<()> {
        let m = path::parse_sub(subs)?;
        let rel = match (m.len(), m.get("")) {
            (1, Some(r)) => r,
            _ => {
                return Err(Error::msg(
                    "--cgroup: cgroup v2 takes a single path without a controller prefix",
                ))
            }
        };
        let dir = self.dir.join(rel.trim_start_matches('/'));
        if !dir.is_dir() {
            return Err(Error::msg(format!(
                "--cgroup {rel}: sub-cgroup {} does not exist",
                dir.display()
            )));
        }
        fs::write(dir.join("cgroup.procs"), pid.to_string())
            .ctx(|| format!("--cgroup: add {pid} to cgroup {}", dir.display()))
    }

    fn unified_dir(&self) -> Option<&Path> {
        Some(&self.dir)
    }

    fn destroy(&self) -> Result<()> {
        fsutil::remove_created(&self.created, |d| d == self.dir)
    }

    fn state(&self) -> CgroupState {
        CgroupState {
            mode: "v2".into(),
            path: self.path.clone(),
            created: self
                .created
                .iter()
                .map(|d| d.display().to_string())
                .collect(),
            dirs: [(String::new(), self.dir.display().to_string())].into(),
            ..Default::default()
        }
    }
}
