//! `linux.namespaces`: which namespaces the container gets new, and which it joins by path.
//!
//! Creation and joining happen in one place each: new namespaces are created by the
//! `clone3` that makes the init (see `container.rs`), joined ones by [`Namespaces::join_all`]
//! in a short-lived intermediate process just before that clone, user namespace first, so
//! that the new ones are owned by the right user namespace (the order runc uses).

use std::fs::File;
use std::os::fd::{AsFd, AsRawFd};
use std::path::PathBuf;

use nix::sched::CloneFlags;
use oci_spec::runtime::{LinuxNamespaceType as T, Spec};

use crate::error::{Context, Error, Result};

/// The namespace set of a container.
#[derive(Debug, Clone, Default)]
pub struct Namespaces {
    /// `(type, path)`: `None` = create a new one.
    pub list: Vec<(T, Option<PathBuf>)>,
}

/// The spec's name for a namespace type.
pub fn type_name(t: T) -> &'static str {
    match t {
        T::Pid => "pid",
        T::Network => "network",
        T::Mount => "mount",
        T::Ipc => "ipc",
        T::Uts => "uts",
        T::User => "user",
        T::Cgroup => "cgroup",
        T::Time => "time",
    }
}

/// The `CLONE_NEW*` flag of a namespace type.
pub fn flag(t: T) -> CloneFlags {
    match t {
        T::Pid => CloneFlags::CLONE_NEWPID,
        T::Network => CloneFlags::CLONE_NEWNET,
        T::Mount => CloneFlags::CLONE_NEWNS,
        T::Ipc => CloneFlags::CLONE_NEWIPC,
        T::Uts => CloneFlags::CLONE_NEWUTS,
        T::User => CloneFlags::CLONE_NEWUSER,
        T::Cgroup => CloneFlags::CLONE_NEWCGROUP,
        T::Time => CloneFlags::from_bits_retain(libc::CLONE_NEWTIME),
    }
}

impl Namespaces {
    /// Reads and checks `linux.namespaces` (unique types, absolute paths, id mappings
    /// present for a new user namespace).
    pub fn from_spec(spec: &Spec) -> Result<Self> {
        let Some(linux) = spec.linux() else {
            return Ok(Self::default());
        };
        let mut list = Vec::new();
        for (i, ns) in linux.namespaces().iter().flatten().enumerate() {
            let path = ns.path().clone().filter(|p| !p.as_os_str().is_empty());
            if let Some(p) = &path {
                if !p.is_absolute() {
                    return Err(Error::config(
                        format!("linux.namespaces[{i}].path"),
                        format!("{} is not an absolute path", p.display()),
                    ));
                }
            }
            list.push((ns.typ(), path));
        }
        crate::spec::check_unique(&list.iter().map(|n| n.0).collect::<Vec<_>>())?;
        let ns = Namespaces { list };
        let maps = linux.uid_mappings().as_ref().is_some_and(|m| !m.is_empty());
        let gmaps = linux.gid_mappings().as_ref().is_some_and(|m| !m.is_empty());
        if ns.creates(T::User) && (!maps || !gmaps) {
            return Err(Error::config(
                "linux.uidMappings",
                "a new user namespace needs uidMappings and gidMappings",
            ));
        }
        // With a joined user namespace the mappings are the namespace's own; runc requires
        // them in the config even then, so engines send them: accept and ignore them.
        if !ns.has(T::User) && (maps || gmaps) {
            return Err(Error::config(
                "linux.uidMappings",
                "id mappings need a user namespace",
            ));
        }
        Ok(ns)
    }

    /// The container has a namespace of this type (new or joined).
    pub fn has(&self, t: T) -> bool {
        self.list.iter().any(|n| n.0 == t)
    }

    /// The container gets a new namespace of this type.
    pub fn creates(&self, t: T) -> bool {
        self.list.iter().any(|n| n.0 == t && n.1.is_none())
    }

    /// The container joins an existing namespace of this type.
    pub fn joins(&self, t: T) -> bool {
        self.list.iter().any(|n| n.0 == t && n.1.is_some())
    }

    /// `CLONE_NEW*` flags for the namespaces created at clone time. Two are left to the
    /// init: time (its offsets must be written before any process enters it) and cgroup
    /// (its root is the cgroup the init is in when it is made, so it is made only once the
    /// init has been moved into the container's cgroup).
    pub fn clone_flags(&self) -> CloneFlags {
        self.list
            .iter()
            .filter(|n| n.1.is_none() && n.0 != T::Time && n.0 != T::Cgroup)
            .fold(CloneFlags::empty(), |f, n| f | flag(n.0))
    }

    /// True if any namespace is joined by path (an intermediate process is then needed so
    /// that a joined pid namespace applies to the init).
    pub fn has_joins(&self) -> bool {
        self.list.iter().any(|n| n.1.is_some())
    }

    /// Opens every namespace path (before anything is joined, so that later paths are still
    /// resolved in the runtime's mount namespace), user namespace first, mount last.
    pub fn open_joins(&self) -> Result<Vec<(T, File)>> {
        let rank = |t: T| match t {
            T::User => 0,
            T::Mount => 2,
            _ => 1,
        };
        let mut joins: Vec<(T, File)> = Vec::new();
        for (t, p) in &self.list {
            if let Some(p) = p {
                let f = File::open(p)
                    .ctx(|| format!("open {} namespace {}", type_name(*t), p.display()))?;
                joins.push((*t, f));
            }
        }
        joins.sort_by_key(|j| rank(j.0));
        Ok(joins)
    }

    /// Joins the opened namespaces with setns(2). The nstype check makes the kernel refuse a
    /// path that is not a namespace of the declared type.
    ///
    /// With a user namespace among them, the others are tried first, while we still hold the
    /// runtime's privileges: a namespace the joined user namespace does not own (a network
    /// namespace made by the host for the container, say) cannot be entered from inside it.
    /// Those refused with EPERM (owned by the user namespace, needing its credentials) are
    /// joined after it. runc's nsexec does the same.
    pub fn join_all(joins: &[(T, File)]) -> Result<()> {
        let (user, others): (Vec<_>, Vec<_>) = joins.iter().partition(|j| j.0 == T::User);
        if user.is_empty() {
            return others.iter().try_for_each(|j| join_one(j));
        }
        let mut later = Vec::new();
        for j in others {
            match nix::sched::setns(j.1.as_fd(), flag(j.0)) {
                Ok(()) => {}
                Err(nix::errno::Errno::EPERM) => later.push(j),
                Err(e) => return Err(e).ctx(|| join_what(j.0, &j.1)),
            }
        }
        user.iter()
            .chain(later.iter())
            .try_for_each(|j| join_one(j))
    }
}

fn join_one((t, f): &(T, File)) -> Result<()> {
    nix::sched::setns(f.as_fd(), flag(*t)).ctx(|| join_what(*t, f))
}

/// `join network namespace (setns net:[4026531840])`: what the path really is, which
/// explains a path of the wrong type.
fn join_what(t: T, f: &File) -> String {
    let what = std::fs::read_link(format!("/proc/self/fd/{}", f.as_raw_fd()))
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    format!("join {} namespace (setns {what})", type_name(t))
}

/// Without a mount namespace the container shares the runtime's mount table, so anything
/// that mounts would change the host's (runc does make its mounts there, and refuses only
/// masked and read-only paths). hull mounts nothing and refuses what cannot be had without
/// mounting: `mounts`, masked and read-only paths, `root.readonly`, `rootfsPropagation`,
/// and `linux.devices` (nodes would be left in the image on the host). docs/rootfs.md.
pub fn validate_without_mount_ns(spec: &Spec) -> Result<()> {
    let why = "needs a mount namespace (linux.namespaces has none, and hull does not change \
               the host's mount table)";
    if spec.mounts().as_ref().is_some_and(|m| !m.is_empty()) {
        return Err(Error::config("mounts", why));
    }
    if spec
        .root()
        .as_ref()
        .and_then(|r| r.readonly())
        .unwrap_or(false)
    {
        return Err(Error::config("root.readonly", why));
    }
    let Some(linux) = spec.linux() else {
        return Ok(());
    };
    let lists = [
        (
            "linux.maskedPaths",
            linux.masked_paths().as_ref().map(Vec::len),
        ),
        (
            "linux.readonlyPaths",
            linux.readonly_paths().as_ref().map(Vec::len),
        ),
        ("linux.devices", linux.devices().as_ref().map(Vec::len)),
    ];
    for (field, n) in lists {
        if n.unwrap_or(0) > 0 {
            return Err(Error::config(field, why));
        }
    }
    if linux
        .rootfs_propagation()
        .as_ref()
        .is_some_and(|p| !p.is_empty())
    {
        return Err(Error::config("linux.rootfsPropagation", why));
    }
    Ok(())
}
