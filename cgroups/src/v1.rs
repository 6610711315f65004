//! The cgroup v1 driver: one directory per mounted hierarchy (controllers mounted together,
//! like `cpu,cpuacct`, share one), plus one in the hybrid `unified` cgroup2 mount when the
//! host has it (membership only: resources are applied through v1, as runc does).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::os::fd::BorrowedFd;
use std::path::{Path, PathBuf};
use std::time::Duration;

use oci_spec::runtime::LinuxResources;

use super::path::{self, SpecPath};
use super::{devices, fsutil, resources_v1, stats, validate};
use super::{CgroupManager, CgroupState, Stats};
use crate::error::{Context, Error, Result};

/// One mounted v1 hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hierarchy {
    /// Where it is mounted (`/sys/fs/cgroup/cpu`).
    pub mount: PathBuf,
    /// Its controllers (`["cpu"]`, `["cpu", "cpuacct"]`, `["name=systemd"]`).
    pub controllers: Vec<String>,
}

const NOT_CONTROLLERS: [&str; 6] = ["rw", "ro", "clone_children", "noprefix", "xattr", "none"];

/// The v1 hierarchies mounted under /sys/fs/cgroup, from /proc/self/mountinfo.
pub fn hierarchies() -> Result<Vec<Hierarchy>> {
    let mi = fs::read_to_string("/proc/self/mountinfo").ctx(|| "read /proc/self/mountinfo")?;
    Ok(parse_mountinfo(&mi))
}

fn parse_mountinfo(mi: &str) -> Vec<Hierarchy> {
    let mut out: Vec<Hierarchy> = Vec::new();
    for line in mi.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let l: Vec<&str> = left.split(' ').collect();
        let r: Vec<&str> = right.split(' ').collect();
        if l.len() < 5 || r.len() < 3 || r[0] != "cgroup" {
            continue;
        }
        let mount = PathBuf::from(l[4]);
        if !mount.starts_with(super::CGROUP_ROOT) {
            continue;
        }
        let mut controllers: Vec<String> = r[2]
            .split(',')
            .filter(|o| !NOT_CONTROLLERS.contains(o) && !o.starts_with("release_agent="))
            .map(str::to_string)
            .collect();
        controllers.sort();
        if controllers.is_empty() || out.iter().any(|h| h.controllers == controllers) {
            continue;
        }
        out.push(Hierarchy { mount, controllers });
    }
    out
}

/// hull's own cgroup per hierarchy (key: comma-joined sorted controllers, `""` for v2).
pub fn own_cgroups() -> Result<BTreeMap<String, String>> {
    let s = fs::read_to_string("/proc/self/cgroup").ctx(|| "read /proc/self/cgroup")?;
    Ok(parse_proc_cgroup(&s))
}

fn parse_proc_cgroup(s: &str) -> BTreeMap<String, String> {
    s.lines()
        .filter_map(|l| {
            let mut it = l.splitn(3, ':');
            let _id = it.next()?;
            let mut ctrls: Vec<&str> = it.next()?.split(',').collect();
            ctrls.sort_unstable();
            Some((ctrls.join(","), it.next()?.to_string()))
        })
        .collect()
}

/// The v1 (or hybrid) manager.
pub struct V1 {
    path: String,
    /// Controller name -> the container's directory; `""` = the hybrid unified directory.
    dirs: BTreeMap<String, PathBuf>,
    /// (hierarchy mount, container directory) for each hierarchy, used by `create`.
    plan: Vec<(PathBuf, PathBuf)>,
    created: Vec<PathBuf>,
    /// The container's init when it is in the cgroup before `create` (the systemd driver's
    /// unit holds it): the emptiness check allows exactly that process.
    holds: Option<i32>,
}

impl V1 {
    /// Resolves the container's directory in every hierarchy.
    pub fn new(p: &SpecPath, hs: &[Hierarchy], unified: Option<PathBuf>) -> Result<Self> {
        let own = match p {
            SpecPath::Relative(_) => own_cgroups()?,
            SpecPath::Absolute(_) => BTreeMap::new(),
        };
        let rel = |key: &str| match p {
            SpecPath::Absolute(a) => a.clone(),
            SpecPath::Relative(r) => path::join(own.get(key).map_or("/", String::as_str), r),
        };
        let mut dirs = BTreeMap::new();
        let mut plan = Vec::new();
        for h in hs {
            let dir = h
                .mount
                .join(rel(&h.controllers.join(",")).trim_start_matches('/'));
            for c in &h.controllers {
                dirs.insert(c.clone(), dir.clone());
            }
            plan.push((h.mount.clone(), dir));
        }
        if let Some(u) = unified {
            let dir = u.join(rel("").trim_start_matches('/'));
            dirs.insert(String::new(), dir.clone());
            plan.push((u, dir));
        }
        let path = match p {
            SpecPath::Absolute(a) => a.clone(),
            SpecPath::Relative(r) => r.clone(),
        };
        Ok(V1 {
            path,
            dirs,
            plan,
            created: Vec::new(),
            holds: None,
        })
    }

    /// Rebuilds the manager from persisted state.
    /// The cgroup already holds the container's init `pid` (placed there by systemd).
    pub fn holding(mut self, pid: i32) -> Self {
        self.holds = Some(pid);
        self
    }

    pub fn load(st: &CgroupState) -> Self {
        V1 {
            path: st.path.clone(),
            dirs: st
                .dirs
                .iter()
                .map(|(k, v)| (k.clone(), PathBuf::from(v)))
                .collect(),
            plan: Vec::new(),
            created: st.created.iter().map(PathBuf::from).collect(),
            holds: None,
        }
    }

    fn distinct_dirs(&self) -> BTreeSet<&PathBuf> {
        self.dirs.values().collect()
    }

    fn freezer(&self) -> Result<&Path> {
        self.dirs
            .get("freezer")
            .map(PathBuf::as_path)
            .ok_or_else(|| Error::msg("the freezer cgroup controller is not available"))
    }
}

/// v1 cpuset: a cpuset with empty `cpus` or `mems` cannot hold tasks (ENOSPC). Fills each
/// level from the hierarchy's root down to `dir` that has them empty with its parent's
/// values, as runc does: an ancestor made by someone else may be empty too, not only the
/// directories hull just made.
fn cpuset_fill_down(mount: &Path, dir: &Path) -> Result<()> {
    if !fsutil::has(dir, "cpuset.cpus") {
        return Ok(());
    }
    let rel = dir.strip_prefix(mount).unwrap_or(Path::new(""));
    let mut parent = mount.to_path_buf();
    for part in rel.components() {
        let cur = parent.join(part);
        for f in ["cpuset.cpus", "cpuset.mems"] {
            if fsutil::read(&cur, f)?.is_empty() {
                let v = fsutil::read(&parent, f)?;
                fsutil::write(&cur, f, &v, "linux.resources.cpu")?;
            }
        }
        parent = cur;
    }
    Ok(())
}

impl CgroupManager for V1 {
    fn create(&mut self, r: Option<&LinuxResources>) -> Result<()> {
        let empty = LinuxResources::default();
        let r = r.unwrap_or(&empty);
        validate::resources(r)?;
        let rules = devices::rules(r.devices().as_deref().unwrap_or_default())?;
        resources_v1::check_available(&self.dirs, r)?;
        let plan = std::mem::take(&mut self.plan);
        // Directories this call made itself: nothing can be in them yet.
        let mut fresh = BTreeSet::new();
        for (mount, dir) in &plan {
            let rel = dir.strip_prefix(mount).unwrap_or(dir).to_string_lossy();
            match fsutil::mkdir_tracked(mount, &rel, |_| Ok(())) {
                Ok(made) => {
                    if made.last() == Some(dir) {
                        fresh.insert(dir.clone());
                    }
                    self.created.extend(made)
                }
                // The hybrid unified tree only groups the processes; where it is not ours to
                // write (read-only, delegated elsewhere) the container goes without it.
                Err(e) if self.dirs.get("") == Some(dir) => {
                    log::warn!("cgroup v2 (hybrid) membership skipped: {e}");
                    self.dirs.remove("");
                }
                Err(e) => return Err(e),
            }
        }
        // A cgroup that already existed may be someone's: never join a busy or frozen one
        // (a frozen one would hold the init forever) nor change its limits. One made just
        // now is empty (its walk cost ~0.1 ms per hierarchy); it may still be frozen, by a
        // frozen parent.
        for d in self.distinct_dirs() {
            if !fresh.contains(d) {
                fsutil::check_empty(d, self.holds)?;
            }
        }
        if let Some(d) = self.dirs.get("freezer") {
            let st = fsutil::read(d, "freezer.state")?;
            if st != "THAWED" {
                return Err(fsutil::frozen_error(d, &st));
            }
        }
        // Only the cpuset hierarchy has cpuset files (no need to look in the others).
        for (mount, dir) in plan
            .iter()
            .filter(|(_, d)| self.dirs.get("cpuset") == Some(d))
        {
            cpuset_fill_down(mount, dir)?;
        }
        resources_v1::apply(&self.dirs, r, Some(&rules), false)
    }

    fn add_process(&self, pid: i32) -> Result<()> {
        for d in self.distinct_dirs() {
            fs::write(d.join("cgroup.procs"), pid.to_string())
                .ctx(|| format!("add {pid} to cgroup {}", d.display()))?;
        }
        Ok(())
    }

    fn clone_into_fd(&self) -> Option<BorrowedFd<'_>> {
        None
    }

    fn update(&self, r: &LinuxResources, merged: &LinuxResources) -> Result<()> {
        validate::resources(r)?;
        resources_v1::check_available(&self.dirs, r)?;
        let rules = r
            .devices()
            .as_ref()
            .map(|d| devices::rules(d))
            .transpose()?;
        // checkBeforeUpdate may come with this update or have been set before.
        let check = merged.memory().and_then(|m| m.check_before_update()) == Some(true);
        resources_v1::apply(&self.dirs, r, rules.as_deref(), check)
    }

    fn set_frozen(&self, frozen: bool) -> Result<()> {
        let d = self.freezer()?;
        let want = if frozen { "FROZEN" } else { "THAWED" };
        // Writing FROZEN may leave the cgroup FREEZING while tasks are in uninterruptible
        // sleep; rewrite until the kernel reports the state (runc does the same).
        let done = fsutil::wait_until(Duration::from_secs(10), || {
            fsutil::write(d, "freezer.state", want, "freezer.state")?;
            Ok(fsutil::read(d, "freezer.state")? == want)
        })?;
        if !done {
            return Err(Error::msg(format!(
                "cgroup {} did not become {want} within 10s",
                d.display()
            )));
        }
        Ok(())
    }

    fn is_frozen(&self) -> Result<bool> {
        match self.dirs.get("freezer") {
            Some(d) => Ok(fsutil::read(d, "freezer.state")? == "FROZEN"),
            None => Ok(false),
        }
    }

    fn pids(&self) -> Result<Vec<i32>> {
        let mut v = Vec::new();
        for d in self.distinct_dirs() {
            fsutil::procs_tree(d, &mut v);
        }
        v.sort_unstable();
        v.dedup();
        Ok(v)
    }

    fn stats(&self) -> Result<Stats> {
        Ok(stats::v1(&self.dirs))
    }

    fn oom_kills(&self) -> Result<u64> {
        Ok(self
            .dirs
            .get("memory")
            .and_then(|d| fsutil::kv(d, "memory.oom_control", "oom_kill"))
            .unwrap_or(0))
    }

    fn add_process_sub(&self, pid: i32, subs: &[String]) -> Result<()> {
        let m = path::parse_sub(subs)?;
        if let Some(c) = m
            .keys()
            .find(|c| !c.is_empty() && !self.dirs.contains_key(*c))
        {
            return Err(Error::msg(format!(
                "--cgroup {c}: no such cgroup controller on this host"
            )));
        }
        // Each hierarchy: the path named for one of its controllers, else the one for all.
        let mut targets: BTreeMap<&PathBuf, PathBuf> = BTreeMap::new();
        for (ctrl, dir) in &self.dirs {
            let rel = m.get(ctrl).or_else(|| m.get(""));
            let t = rel.map_or(dir.clone(), |r| dir.join(r.trim_start_matches('/')));
            let e = targets.entry(dir).or_insert_with(|| t.clone());
            if m.contains_key(ctrl) {
                *e = t;
            }
        }
        for t in targets.values() {
            if !t.is_dir() {
                return Err(Error::msg(format!(
                    "--cgroup: sub-cgroup {} does not exist",
                    t.display()
                )));
            }
        }
        for t in targets.values() {
            fs::write(t.join("cgroup.procs"), pid.to_string())
                .ctx(|| format!("--cgroup: add {pid} to cgroup {}", t.display()))?;
        }
        Ok(())
    }

    fn unified_dir(&self) -> Option<&Path> {
        self.dirs.get("").map(PathBuf::as_path)
    }

    fn destroy(&self) -> Result<()> {
        let leaves = self.distinct_dirs();
        fsutil::remove_created(&self.created, |d| leaves.contains(&d.to_path_buf()))
    }

    fn state(&self) -> CgroupState {
        CgroupState {
            mode: "v1".into(),
            path: self.path.clone(),
            created: self
                .created
                .iter()
                .map(|d| d.display().to_string())
                .collect(),
            dirs: self
                .dirs
                .iter()
                .map(|(k, v)| (k.clone(), v.display().to_string()))
                .collect(),
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_hierarchies() {
        let mi = "30 25 0:26 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755\n\
                  31 30 0:27 / /sys/fs/cgroup/cpu,cpuacct rw shared:9 - cgroup cgroup rw,cpu,cpuacct\n\
                  32 30 0:28 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd\n\
                  33 30 0:29 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n\
                  34 25 0:27 / /mnt/x rw - cgroup cgroup rw,cpu,cpuacct\n";
        let h = parse_mountinfo(mi);
        assert_eq!(h.len(), 2);
        assert_eq!(h[0].controllers, vec!["cpu", "cpuacct"]);
        assert_eq!(h[0].mount, PathBuf::from("/sys/fs/cgroup/cpu,cpuacct"));
        assert_eq!(h[1].controllers, vec!["name=systemd"]);
    }

    #[test]
    fn proc_cgroup_keys() {
        let m = parse_proc_cgroup("4:memory:/a/b\n2:cpuacct,cpu:/\n0::/x\n");
        assert_eq!(m.get("memory").map(String::as_str), Some("/a/b"));
        assert_eq!(m.get("cpu,cpuacct").map(String::as_str), Some("/"));
        assert_eq!(m.get("").map(String::as_str), Some("/x"));
    }

    #[test]
    fn dirs_for_absolute_and_relative() {
        let hs = vec![Hierarchy {
            mount: "/sys/fs/cgroup/cpu,cpuacct".into(),
            controllers: vec!["cpu".into(), "cpuacct".into()],
        }];
        let m = V1::new(&SpecPath::Absolute("/hull/a".into()), &hs, None);
        let m = m.ok().map(|m| m.dirs).unwrap_or_default();
        assert_eq!(
            m.get("cpuacct"),
            Some(&PathBuf::from("/sys/fs/cgroup/cpu,cpuacct/hull/a"))
        );
    }
}
