//! The `cgroup` mount type inside a container (placeholder until the cgroups driver lands:
//! cgroup2 on v2 hosts; v1 hosts get a read-only tmpfs with one mount per controller).

use std::path::Path;

use crate::error::{Context, Result};

/// Mounts the cgroup filesystem at `dest` (an absolute path in the init's mount namespace).
pub fn mount_cgroupfs(dest: &Path, readonly: bool) -> Result<()> {
    let d = dest.to_string_lossy();
    let ro = if readonly { libc::MS_RDONLY } else { 0 };
    let flags = libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC | ro;
    crate::sys::mount(Some("cgroup2"), &d, Some("cgroup2"), flags, None)
        .ctx(|| format!("mount cgroup2 on {d}"))
}
