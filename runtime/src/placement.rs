//! How a new container process gets into the container's cgroup without paying for it: the
//! handoff's side of cgroups (the drivers in `cgroups/` make the cgroup; this decides who
//! moves the process in, and how).
//!
//! Moving a *process* into a cgroup from outside (writing its pid to `cgroup.procs`, or to
//! a v1 `tasks` file) takes the kernel's global threadgroup rwsem for writing, and taking it
//! waits for an RCU grace period: 5-25 ms on the benchmark machine, the largest single cost
//! of `create` and of `exec` (docs/benchmarks.md). Two ways in skip that lock:
//! - `clone3(CLONE_INTO_CGROUP)`, for cgroup2 directories only: the v2 driver's own
//!   `clone_into_fd`, or here a hybrid host's `unified` directory;
//! - a thread moving *itself* by writing `0` to a v1 `tasks` file: the kernel takes no
//!   threadgroup lock to migrate one thread that is `current` (`cgroup_procs_write_start`).
//!
//! The processes that join this way are single-threaded forks of hull (the container's init;
//! exec's helper, whose child then inherits the cgroups), so moving their one thread moves
//! the whole process. They join right after the clone, before the cgroup namespace is
//! unshared or joined, so the result is exactly what a placement from outside gives.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use crate::cgroups::CgroupManager;
use crate::error::{Context, Result};

/// What a new process needs to put itself into a v1 container's cgroups.
pub struct SelfJoin {
    /// The container's v1 `tasks` files, opened by the parent (host paths), with their
    /// directory for errors.
    tasks: Vec<(File, String)>,
    /// A hybrid host's cgroup2 directory of the container, to clone into.
    unified: Option<OwnedFd>,
}

impl SelfJoin {
    /// For the v1 driver, opens what the new process needs; `None` when the driver places
    /// processes itself in a cheap way (v2: `clone_into_fd`) or the layout is unknown.
    pub fn prepare(cg: &dyn CgroupManager) -> Result<Option<SelfJoin>> {
        if cg.clone_into_fd().is_some() {
            return Ok(None);
        }
        let st = cg.state();
        // `dirs`: controller -> directory; co-mounted controllers share one; "" is the
        // hybrid host's unified (cgroup2) directory (cgroups::CgroupState).
        if st.mode != "v1" || st.dirs.is_empty() || st.systemd_unit.is_some() {
            return Ok(None);
        }
        let v1: BTreeSet<&String> = st
            .dirs
            .iter()
            .filter(|(k, _)| !k.is_empty())
            .map(|(_, d)| d)
            .collect();
        let mut tasks = Vec::with_capacity(v1.len());
        for d in v1 {
            let path = format!("{d}/tasks");
            let f = File::options()
                .write(true)
                .open(&path)
                .ctx(|| format!("cgroup: open {path}"))?;
            tasks.push((f, d.clone()));
        }
        let unified = match st.dirs.get("") {
            Some(u) => Some(
                nix::fcntl::open(
                    u.as_str(),
                    nix::fcntl::OFlag::O_RDONLY
                        | nix::fcntl::OFlag::O_DIRECTORY
                        | nix::fcntl::OFlag::O_CLOEXEC,
                    nix::sys::stat::Mode::empty(),
                )
                .ctx(|| format!("cgroup: open {u}"))?,
            ),
            None => None,
        };
        Ok(Some(SelfJoin { tasks, unified }))
    }

    /// The cgroup2 directory fd to pass to `clone3(CLONE_INTO_CGROUP)`, if any.
    pub fn clone_into(&self) -> Option<RawFd> {
        self.unified.as_ref().map(|f| f.as_raw_fd())
    }

    /// In a forked child that has joined: closes its copies of the host's cgroup fds, so
    /// the container process does not hold them until `execve`. The child never drops this
    /// `SelfJoin` (it ends in `execve` or `_exit`), so nothing closes them twice.
    pub fn close_in_child(&self) {
        let fds = self.tasks.iter().map(|(f, _)| f.as_raw_fd());
        for fd in fds.chain(self.unified.as_ref().map(|f| f.as_raw_fd())) {
            let _ = nix::unistd::close(fd);
        }
    }

    /// In the new (single-threaded) process: moves itself into every v1 cgroup.
    pub fn join(&self) -> Result<()> {
        for (f, dir) in &self.tasks {
            let mut f: &File = f;
            f.write_all(b"0")
                .ctx(|| format!("cgroup: move the container process into {dir}"))?;
        }
        Ok(())
    }
}
