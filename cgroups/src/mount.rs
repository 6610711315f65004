//! The `cgroup` mount type inside a container (runs in the init, after it joined its cgroup
//! and made its cgroup namespace, before pivot_root, so host paths are still reachable).
//!
//! - v2: a fresh cgroup2 mount. In a cgroup namespace its root is the container's cgroup.
//! - v1: a tmpfs with one mount per hierarchy (`cpu,cpuacct` gets `cpu` and `cpuacct`
//!   symlinks, as runc), plus `unified` on hybrid hosts. Where the init sees its cgroup as
//!   `/` (a cgroup namespace, or really the root) each hierarchy is mounted fresh, which
//!   the kernel roots at the namespace's cgroup; otherwise the container's own directory is
//!   bind-mounted, so the container sees its cgroup as the root either way (runc's view).
//!
//! Read-only unless the mount's options ask for rw (`ro` in the spec, as runc's default).

use std::fs;
use std::path::Path;

use super::{probe, Host};
use crate::error::{Context, Result};
use hull_sys as sys;

const BASE: u64 = libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;

fn remount_ro(target: &str) -> Result<()> {
    sys::mount(
        None,
        target,
        None,
        libc::MS_REMOUNT | libc::MS_BIND | libc::MS_RDONLY | BASE,
        None,
    )
    .ctx(|| format!("remount {target} read-only"))
}

/// Mounts (or binds) one hierarchy at `target`: `fstype`/`data` for a fresh mount,
/// `host_dir` for the bind when the init's cgroup is not its root.
fn hierarchy(target: &str, fstype: &str, data: &str, own: Option<&str>, host: &Path) -> Result<()> {
    match own {
        Some(p) if p != "/" => {
            let src = host.join(p.trim_start_matches('/'));
            let s = src.to_string_lossy();
            sys::mount(Some(&s), target, None, libc::MS_BIND, None)
                .ctx(|| format!("bind cgroup {s} on {target}"))?;
            sys::mount(
                None,
                target,
                None,
                libc::MS_REMOUNT | libc::MS_BIND | BASE,
                None,
            )
            .ctx(|| format!("remount {target} nosuid,nodev,noexec"))
        }
        _ => sys::mount(Some("cgroup"), target, Some(fstype), BASE, Some(data))
            .ctx(|| format!("mount {fstype} ({data}) on {target}")),
    }
}

/// Mounts the cgroup filesystem at `dest` (an absolute path in the init's mount namespace).
pub fn mount_cgroupfs(dest: &Path, readonly: bool) -> Result<()> {
    let d = dest.to_string_lossy().into_owned();
    let ro = if readonly { libc::MS_RDONLY } else { 0 };
    match probe()? {
        Host::V2 => match sys::mount(Some("cgroup2"), &d, Some("cgroup2"), BASE | ro, None) {
            // In a user namespace without its own cgroup namespace the kernel refuses a
            // fresh cgroup2 mount; bind the container's own cgroup instead (runc does too).
            Err(e) if matches!(e.raw_os_error(), Some(libc::EPERM | libc::EBUSY)) => {
                let own = super::v1::own_cgroups()?;
                let host = Path::new(super::CGROUP_ROOT);
                hierarchy(
                    &d,
                    "cgroup2",
                    "",
                    Some(own.get("").map_or("/", String::as_str)),
                    host,
                )
                .and_then(|_| if readonly { remount_ro(&d) } else { Ok(()) })
            }
            r => r.ctx(|| format!("mount cgroup2 on {d}")),
        },
        Host::V1 {
            hierarchies,
            unified,
        } => {
            let own = super::v1::own_cgroups()?;
            sys::mount(Some("cgroup"), &d, Some("tmpfs"), BASE, Some("mode=755"))
                .ctx(|| format!("mount tmpfs for cgroups on {d}"))?;
            for h in &hierarchies {
                let name = h
                    .mount
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| h.controllers.join(","));
                let target = dest.join(&name);
                fs::create_dir_all(&target).ctx(|| format!("mkdir {}", target.display()))?;
                let t = target.to_string_lossy();
                let named = h.controllers.iter().any(|c| c.starts_with("name="));
                let data = if named {
                    format!("none,{}", h.controllers.join(","))
                } else {
                    h.controllers.join(",")
                };
                let key = h.controllers.join(",");
                hierarchy(
                    &t,
                    "cgroup",
                    &data,
                    own.get(&key).map(String::as_str),
                    &h.mount,
                )?;
                if readonly {
                    remount_ro(&t)?;
                }
                if h.controllers.len() > 1 {
                    for c in &h.controllers {
                        let link = dest.join(c.trim_start_matches("name="));
                        if !link.exists() {
                            std::os::unix::fs::symlink(&name, &link)
                                .ctx(|| format!("symlink {}", link.display()))?;
                        }
                    }
                }
            }
            if let Some(u) = unified {
                let target = dest.join("unified");
                fs::create_dir_all(&target).ctx(|| format!("mkdir {}", target.display()))?;
                let t = target.to_string_lossy();
                hierarchy(&t, "cgroup2", "", own.get("").map(String::as_str), &u)?;
                if readonly {
                    remount_ro(&t)?;
                }
            }
            if readonly {
                sys::mount(
                    None,
                    &d,
                    None,
                    libc::MS_REMOUNT | libc::MS_RDONLY | BASE,
                    None,
                )
                .ctx(|| format!("remount cgroup tmpfs {d} read-only"))?;
            }
            Ok(())
        }
    }
}
