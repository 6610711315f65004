//! Id-mapped mounts (config.md `mounts[].uidMappings`/`gidMappings`, options `idmap` and
//! `ridmap`): the mount shows the files' owners through a user namespace's mappings,
//! set with mount_setattr(2) `MOUNT_ATTR_IDMAP` on the detached mount before it is attached.
//!
//! The kernel wants CAP_SYS_ADMIN over the filesystem's user namespace (the host's, for a
//! bind source) and over the mapping namespace, so the init, which may be in a user
//! namespace of its own, hands the detached tree to the parent (`Msg::Idmap`); the parent,
//! with the runtime's credentials, makes a user namespace with the mount's mappings (or
//! takes the container's, for `idmap` without mappings) and sets the attribute. Binds
//! (runc) and any filesystem the kernel can id-map (crun: tmpfs, ext4, xfs, btrfs,
//! overlay, ...) are handled: a new filesystem is mounted, cloned, id-mapped and put in
//! place of the original.

use std::fs;
use std::io::Read;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use oci_spec::runtime::{LinuxIdMapping, Mount, Spec};

use crate::channel::{Channel, Msg};
use crate::error::{Context, Error, Result};
use crate::mountopts::MountOptions;
use crate::sys;

/// The kernel's limit on the lines of a uid_map/gid_map.
const MAX_EXTENTS: usize = 340;

/// Whether mount `m` is id-mapped, and recursively so (`ridmap`).
pub fn requested(m: &Mount) -> Option<bool> {
    let o = MountOptions::parse(m.options().as_deref().unwrap_or(&[]));
    let maps = has(m.uid_mappings()) || has(m.gid_mappings());
    (o.idmap || o.ridmap || maps).then_some(o.ridmap)
}

fn has(m: &Option<Vec<LinuxIdMapping>>) -> bool {
    m.as_ref().is_some_and(|v| !v.is_empty())
}

/// config.md's rules for mount `i`: both mappings or neither; each a valid, non-overlapping
/// range; without mappings, `idmap` uses the container's user namespace, so there must be
/// one (`userns`: the config has a user namespace, new or joined).
pub fn validate(i: usize, m: &Mount, userns: bool) -> Result<()> {
    if requested(m).is_none() {
        return Ok(());
    }
    let f = |k: &str| format!("mounts[{i}].{k}");
    match (has(m.uid_mappings()), has(m.gid_mappings())) {
        (true, false) => {
            return Err(Error::config(
                f("gidMappings"),
                "missing: uidMappings needs gidMappings",
            ))
        }
        (false, true) => {
            return Err(Error::config(
                f("uidMappings"),
                "missing: gidMappings needs uidMappings",
            ))
        }
        (false, false) if !userns => {
            return Err(Error::config(
                f("options"),
                "idmap without uidMappings/gidMappings maps through the container's user \
                 namespace, and the config has none",
            ))
        }
        _ => {}
    }
    for (key, maps) in [
        ("uidMappings", m.uid_mappings()),
        ("gidMappings", m.gid_mappings()),
    ] {
        let maps = maps.as_deref().unwrap_or(&[]);
        if maps.len() > MAX_EXTENTS {
            return Err(Error::config(
                f(key),
                format!(
                    "{} ranges: the kernel takes at most {MAX_EXTENTS}",
                    maps.len()
                ),
            ));
        }
        for (j, a) in maps.iter().enumerate() {
            crate::ids::mapping(&f(&format!("{key}[{j}]")), a)?;
            for b in &maps[..j] {
                let over = |x: u32, y: u32| {
                    u64::from(x) < u64::from(y) + u64::from(b.size())
                        && u64::from(y) < u64::from(x) + u64::from(a.size())
                };
                if over(a.container_id(), b.container_id()) || over(a.host_id(), b.host_id()) {
                    return Err(Error::config(
                        f(&format!("{key}[{j}]")),
                        "overlaps an earlier range",
                    ));
                }
            }
        }
    }
    Ok(())
}

/// What the init needs to have a mount id-mapped: its index, `ridmap`, the channel.
pub type Request<'a> = (usize, bool, &'a Channel);

/// Init side, for a new (not bind) filesystem just mounted on `dest`: a clone of it (its
/// tree with `ridmap`) is id-mapped and put in its place on `under`, the directory it was
/// mounted on, and the original is detached.
pub fn replace_mount(
    root: BorrowedFd<'_>,
    dest: &std::path::Path,
    under: BorrowedFd<'_>,
    (index, recursive, chan): Request<'_>,
) -> Result<()> {
    use nix::fcntl::OFlag;
    let top = crate::rootfs::open_in_root(root, dest, OFlag::O_PATH | OFlag::O_DIRECTORY)
        .ctx(|| "id-mapped mount: reopen the new mount")?;
    let rec = if recursive { sys::AT_RECURSIVE } else { 0 };
    let clone = sys::open_tree(top.as_fd(), sys::OPEN_TREE_CLONE | rec)
        .ctx(|| "id-mapped mount: clone the new mount")?;
    request(chan, index, clone.as_fd())?;
    sys::umount2(&sys::fd_path(top.as_fd()), libc::MNT_DETACH)
        .ctx(|| "id-mapped mount: detach the unmapped original")?;
    sys::move_mount(clone.as_fd(), under).ctx(|| "id-mapped mount: attach")
}

/// Init side: has the parent id-map the detached `tree` of `mounts[index]`.
pub fn request(chan: &Channel, index: usize, tree: BorrowedFd<'_>) -> Result<()> {
    let ask = Msg::Idmap { mount: index };
    chan.send_fd(&ask, tree)?;
    match chan.recv()? {
        Some(m) if m == ask => Ok(()),
        Some(Msg::Error(e)) => Err(Error::container(e)),
        other => Err(Error::container(format!(
            "sync channel: unexpected {other:?} for an id-mapped mount"
        ))),
    }
}

/// Parent side: sets `MOUNT_ATTR_IDMAP` on `tree`, the detached `mounts[index]` of the
/// container whose init is `pid`.
pub fn apply(spec: &Spec, pid: i32, index: usize, tree: BorrowedFd<'_>) -> Result<()> {
    let m = spec
        .mounts()
        .as_deref()
        .and_then(|v| v.get(index))
        .ok_or_else(|| Error::container(format!("id-mapped mount {index}: no such mount")))?;
    let recursive = requested(m).unwrap_or(false);
    let userns: OwnedFd = match (m.uid_mappings(), m.gid_mappings()) {
        (Some(u), Some(g)) if !u.is_empty() => userns_with(u, g)?,
        _ => fs::File::open(format!("/proc/{pid}/ns/user"))
            .ctx(|| "open the container's user namespace")?
            .into(),
    };
    let flags = if recursive { sys::AT_RECURSIVE } else { 0 };
    sys::mount_setattr_idmap(tree, flags, userns.as_fd()).map_err(|e| {
        let why = match e.raw_os_error() {
            Some(libc::EINVAL) => "the filesystem (or one under it) cannot be id-mapped",
            Some(libc::ENOSYS) => "the kernel has no mount_setattr(2) (Linux 5.12)",
            _ => "id-mapping refused",
        };
        // The init puts `mounts[i] <destination>: ` in front.
        Error::container(format!("{why}: mount_setattr: {e}"))
    })
}

/// A new user namespace with the given mappings, as an fd: a child made in it waits on a
/// pipe while its maps are written and the namespace opened, then exits.
fn userns_with(uid: &[LinuxIdMapping], gid: &[LinuxIdMapping]) -> Result<OwnedFd> {
    let (r, w) = nix::unistd::pipe().ctx(|| "pipe for the id-mapping namespace")?;
    let child = sys::clone3(&sys::CloneArgs {
        flags: libc::CLONE_NEWUSER as u64,
        cgroup: None,
    })
    .ctx(|| "clone a process in a new user namespace for an id-mapped mount")?;
    let Some(child) = child else {
        drop(w);
        let _ = fs::File::from(r).read(&mut [0u8; 1]);
        sys::exit_now(0)
    };
    drop(r);
    let fmt = |v: &[LinuxIdMapping]| {
        v.iter()
            .map(|m| format!("{} {} {}\n", m.container_id(), m.host_id(), m.size()))
            .collect::<String>()
    };
    let made = (|| -> Result<OwnedFd> {
        for (file, text) in [("uid_map", fmt(uid)), ("gid_map", fmt(gid))] {
            let path = format!("/proc/{child}/{file}");
            fs::write(&path, text).ctx(|| format!("id-mapped mount: write {path}"))?;
        }
        Ok(fs::File::open(format!("/proc/{child}/ns/user"))
            .ctx(|| "id-mapped mount: open the mapping namespace")?
            .into())
    })();
    drop(w);
    let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(child), None);
    made
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mount(v: serde_json::Value) -> Mount {
        serde_json::from_value(v).expect("mount")
    }

    fn field(v: serde_json::Value, userns: bool) -> String {
        match validate(3, &mount(v), userns) {
            Ok(()) => "ok".into(),
            Err(Error::Config { field, .. }) => field,
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn rules_name_the_field() {
        use serde_json::json;
        let map = json!([{"containerID": 0, "hostID": 1000, "size": 10}]);
        let base = |extra: serde_json::Value| {
            let mut m = json!({"destination": "/m", "source": "/s", "options": ["bind"]});
            for (k, v) in extra.as_object().expect("object") {
                m[k] = v.clone();
            }
            m
        };
        assert_eq!(field(base(json!({})), false), "ok");
        assert_eq!(
            field(base(json!({"uidMappings": map, "gidMappings": map})), false),
            "ok"
        );
        assert_eq!(
            field(base(json!({"uidMappings": map})), true),
            "mounts[3].gidMappings"
        );
        assert_eq!(
            field(base(json!({"gidMappings": map})), true),
            "mounts[3].uidMappings"
        );
        assert_eq!(
            field(base(json!({"options": ["bind", "idmap"]})), false),
            "mounts[3].options"
        );
        assert_eq!(
            field(base(json!({"options": ["bind", "ridmap"]})), true),
            "ok"
        );
        let zero = json!([{"containerID": 0, "hostID": 1000, "size": 0}]);
        assert_eq!(
            field(
                base(json!({"uidMappings": zero, "gidMappings": map})),
                false
            ),
            "mounts[3].uidMappings[0].size"
        );
        let overlap = json!([
            {"containerID": 0, "hostID": 1000, "size": 10},
            {"containerID": 5, "hostID": 5000, "size": 10}
        ]);
        assert_eq!(
            field(
                base(json!({"uidMappings": map, "gidMappings": overlap})),
                false
            ),
            "mounts[3].gidMappings[1]"
        );
    }

    #[test]
    fn ridmap_is_recursive() {
        let m = mount(serde_json::json!({"destination": "/m", "options": ["rbind", "ridmap"]}));
        assert_eq!(requested(&m), Some(true));
        let m = mount(serde_json::json!({"destination": "/m", "options": ["idmap"]}));
        assert_eq!(requested(&m), Some(false));
        let m = mount(serde_json::json!({"destination": "/m", "options": ["bind"]}));
        assert_eq!(requested(&m), None);
    }
}
