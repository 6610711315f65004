//! Devices (config-linux.md "Devices" and "Default Devices"): the default set, `linux.devices`,
//! the /dev/fd and stdio links, and /dev/ptmx.
//!
//! Every node is created with mknodat(2) in a /dev directory fd resolved inside the rootfs,
//! never through a path, so a malicious image whose /dev (or /dev/x) is a symlink cannot make
//! hull create or chown something on the host. In a user namespace, where mknod is not
//! allowed, the host's device is bind-mounted instead (by fd, after checking it is a device).

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::fcntl::{AtFlags, OFlag};
use nix::sys::stat::{makedev, mknodat, Mode, SFlag};
use oci_spec::runtime::{LinuxDevice, LinuxDeviceType};

use crate::error::{Context, Error, Result};
use crate::rootfs::{open_in_root, resolve_create, Kind};
use crate::sys;

/// A device node to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub path: PathBuf,
    pub kind: SFlag,
    pub major: u64,
    pub minor: u64,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    /// Index in `linux.devices`, for entries from the config (not the defaults).
    pub spec_index: Option<usize>,
}

/// The default devices every container gets.
pub fn defaults() -> Vec<Node> {
    [
        ("null", 1, 3),
        ("zero", 1, 5),
        ("full", 1, 7),
        ("tty", 5, 0),
        ("random", 1, 8),
        ("urandom", 1, 9),
    ]
    .into_iter()
    .map(|(n, ma, mi)| Node {
        path: PathBuf::from("/dev").join(n),
        kind: SFlag::S_IFCHR,
        major: ma,
        minor: mi,
        mode: 0o666,
        uid: 0,
        gid: 0,
        spec_index: None,
    })
    .collect()
}

/// Converts a `linux.devices` entry; errors name the entry.
pub fn from_spec(i: usize, d: &LinuxDevice) -> Result<Node> {
    let kind = match d.typ() {
        LinuxDeviceType::C | LinuxDeviceType::U => SFlag::S_IFCHR,
        LinuxDeviceType::B => SFlag::S_IFBLK,
        LinuxDeviceType::P => SFlag::S_IFIFO,
        LinuxDeviceType::A => {
            return Err(Error::config(
                format!("linux.devices[{i}].type"),
                "\"a\" is only valid in cgroup rules",
            ))
        }
    };
    if d.major() < 0 || d.minor() < 0 {
        return Err(Error::config(
            format!("linux.devices[{i}]"),
            "major and minor must not be negative",
        ));
    }
    Ok(Node {
        path: d.path().clone(),
        kind,
        major: d.major() as u64,
        minor: d.minor() as u64,
        mode: d.file_mode().unwrap_or(0o666) & 0o7777,
        uid: d.uid().unwrap_or(0),
        gid: d.gid().unwrap_or(0),
        spec_index: Some(i),
    })
}

/// The full list: defaults (unless /dev comes from a bind mount) overridden by
/// `linux.devices` entries with the same path.
pub fn plan(spec_devices: &[LinuxDevice], with_defaults: bool) -> Result<Vec<Node>> {
    let mut nodes = if with_defaults { defaults() } else { vec![] };
    for (i, d) in spec_devices.iter().enumerate() {
        let n = from_spec(i, d)?;
        nodes.retain(|x| x.path != n.path);
        nodes.push(n);
    }
    Ok(nodes)
}

/// Creates `nodes` inside `root`.
pub fn create(root: BorrowedFd<'_>, nodes: &[Node], userns: bool) -> Result<()> {
    // Nodes in the same directory (all of the defaults are in /dev) share one resolved fd
    // of it: resolving and reopening it per node was two openat2 calls each.
    let mut cached: Option<(&Path, OwnedFd)> = None;
    for n in nodes {
        let parent = n.path.parent().unwrap_or(Path::new("/dev"));
        let name = n.path.file_name().ok_or_else(|| {
            Error::config(
                "linux.devices",
                format!("{}: no file name", n.path.display()),
            )
        })?;
        let dirfd = match cached.take() {
            Some((p, fd)) if p == parent => fd,
            _ => open_parent(root, parent)?,
        };
        if userns {
            bind_host_device(root, n)?;
        } else {
            make_node(dirfd.as_fd(), name, n)?;
        }
        cached = Some((parent, dirfd));
    }
    Ok(())
}

/// The directory `parent` inside `root` (made if missing), opened for the *at calls.
fn open_parent(root: BorrowedFd<'_>, parent: &Path) -> Result<OwnedFd> {
    let dir = resolve_create(root, parent, Kind::Dir)?;
    sys::openat2(
        dir.as_fd(),
        ".",
        (OFlag::O_RDONLY | OFlag::O_DIRECTORY).bits(),
        0,
        0,
    )
    .ctx(|| format!("open {}", parent.display()))
}

/// Makes the node `name` in `dirfd` (`n.path`'s directory) with its mode and owner.
fn make_node(dirfd: BorrowedFd<'_>, name: &std::ffi::OsStr, n: &Node) -> Result<()> {
    let existing = nix::sys::stat::fstatat(dirfd.as_fd(), name, AtFlags::AT_SYMLINK_NOFOLLOW);
    let same = existing.as_ref().is_ok_and(|st| {
        st.st_mode & libc::S_IFMT == n.kind.bits()
            && (n.kind == SFlag::S_IFIFO || st.st_rdev == makedev(n.major, n.minor))
    });
    match (existing, n.spec_index) {
        (Err(nix::errno::Errno::ENOENT), _) => {}
        (Err(e), _) => return Err(e).ctx(|| format!("stat {}", n.path.display())),
        // config-linux.md: a file at the path that is not the requested device is an
        // error; the device itself is kept (and gets the mode and owner asked for).
        (Ok(_), Some(_)) if same => {}
        (Ok(_), Some(i)) => {
            return Err(Error::config(
                format!("linux.devices[{i}].path"),
                format!(
                    "{} exists and is not the requested device {}:{}",
                    n.path.display(),
                    n.major,
                    n.minor
                ),
            ))
        }
        // A default device: whatever the image put there (a symlink, a file) is
        // replaced, never followed.
        (Ok(_), None) => {
            nix::unistd::unlinkat(dirfd.as_fd(), name, nix::unistd::UnlinkatFlags::NoRemoveDir)
                .ctx(|| format!("remove existing {}", n.path.display()))?
        }
    }
    if !same || n.spec_index.is_none() {
        mknodat(
            dirfd.as_fd(),
            name,
            n.kind,
            Mode::from_bits_truncate(n.mode),
            makedev(n.major, n.minor),
        )
        .ctx(|| format!("mknod {}", n.path.display()))?;
    }
    // mknod applies the umask; set the exact mode and owner without following links.
    nix::sys::stat::fchmodat(
        dirfd.as_fd(),
        name,
        Mode::from_bits_truncate(n.mode),
        nix::sys::stat::FchmodatFlags::NoFollowSymlink,
    )
    .or_else(|e| {
        if e == nix::errno::Errno::EOPNOTSUPP {
            Ok(())
        } else {
            Err(e)
        }
    })
    .ctx(|| format!("chmod {}", n.path.display()))?;
    nix::unistd::fchownat(
        dirfd.as_fd(),
        name,
        Some(n.uid.into()),
        Some(n.gid.into()),
        AtFlags::AT_SYMLINK_NOFOLLOW,
    )
    .ctx(|| format!("chown {}", n.path.display()))?;
    Ok(())
}

fn bind_host_device(root: BorrowedFd<'_>, n: &Node) -> Result<()> {
    let host = sys::openat2(
        nix::fcntl::AT_FDCWD,
        &n.path.to_string_lossy(),
        OFlag::O_PATH.bits(),
        0,
        sys::RESOLVE_NO_MAGICLINKS,
    )
    .ctx(|| format!("open host device {}", n.path.display()))?;
    let st = nix::sys::stat::fstat(host.as_fd())
        .ctx(|| format!("stat host device {}", n.path.display()))?;
    if st.st_mode & libc::S_IFMT != n.kind.bits() || st.st_rdev != makedev(n.major, n.minor) {
        return Err(Error::container(format!(
            "host {} is not device {}:{}",
            n.path.display(),
            n.major,
            n.minor
        )));
    }
    let target = resolve_create(root, &n.path, Kind::File)?;
    let tree = sys::open_tree(host.as_fd(), sys::OPEN_TREE_CLONE)
        .ctx(|| format!("bind {}", n.path.display()))?;
    sys::move_mount(tree.as_fd(), target.as_fd()).ctx(|| format!("bind {}", n.path.display()))
}

/// /dev/fd, /dev/std{in,out,err} (and /dev/core where the host has /proc/kcore), plus
/// /dev/ptmx -> pts/ptmx when a devpts is mounted.
pub fn links(root: BorrowedFd<'_>, ptmx: bool) -> Result<()> {
    let dev = open_in_root(
        root,
        Path::new("/dev"),
        OFlag::O_RDONLY | OFlag::O_DIRECTORY,
    )
    .ctx(|| "open /dev in rootfs")?;
    let mut links = vec![
        ("/proc/self/fd", "fd"),
        ("/proc/self/fd/0", "stdin"),
        ("/proc/self/fd/1", "stdout"),
        ("/proc/self/fd/2", "stderr"),
    ];
    if Path::new("/proc/kcore").exists() {
        links.push(("/proc/kcore", "core"));
    }
    for (target, name) in links {
        match nix::unistd::symlinkat(target, dev.as_fd(), name) {
            Ok(()) | Err(nix::errno::Errno::EEXIST) => {}
            Err(e) => return Err(e).ctx(|| format!("symlink /dev/{name}")),
        }
    }
    if ptmx {
        match nix::unistd::unlinkat(dev.as_fd(), "ptmx", nix::unistd::UnlinkatFlags::NoRemoveDir) {
            Ok(()) | Err(nix::errno::Errno::ENOENT) => {}
            Err(e) => return Err(e).ctx(|| "remove /dev/ptmx"),
        }
        nix::unistd::symlinkat("pts/ptmx", dev.as_fd(), "ptmx").ctx(|| "symlink /dev/ptmx")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_devices_override_defaults() {
        let d: LinuxDevice = serde_json::from_value(serde_json::json!({"path":"/dev/null","type":"c","major":1,"minor":3,"fileMode":384,"uid":5,"gid":6})).expect("device");
        let nodes = plan(&[d], true).expect("plan");
        assert_eq!(nodes.len(), 6);
        let null = nodes
            .iter()
            .find(|n| n.path == Path::new("/dev/null"))
            .expect("null");
        assert_eq!((null.mode, null.uid, null.gid), (0o600, 5, 6));
        assert!(plan(&[], false).expect("plan").is_empty());
        let bad: LinuxDevice = serde_json::from_value(
            serde_json::json!({"path":"/dev/x","type":"c","major":-1,"minor":3}),
        )
        .expect("device");
        assert!(plan(&[bad], true).is_err());
    }
}
