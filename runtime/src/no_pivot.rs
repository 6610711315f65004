//! `--no-pivot`: the rootfs is moved onto `/` and chrooted into, so the old root's mounts
//! stay in the container's mount namespace, underneath. A fully visible procfs or sysfs
//! among them would let the container mount a new one (the kernel allows a procfs/sysfs in
//! a user namespace only where a fully visible one exists: `mount_too_revealing`), and
//! with it reach everything `maskedPaths` hides. So, as runc does, every such mount outside
//! the rootfs is detached first, or covered with an empty tmpfs where it cannot be.

use std::os::fd::AsFd;
use std::path::Path;

use crate::error::{Context, Result};
use crate::rootfs::Rootfs;
use crate::sys;

/// One line of /proc/self/mountinfo, the fields this module needs.
#[derive(Debug, PartialEq, Eq)]
struct Entry {
    root: String,
    mount_point: String,
    fstype: String,
}

/// Undoes mountinfo's octal escapes (`\040` for a space).
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let oct = b
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match (b[i], oct) {
            (b'\\', Some(d)) => {
                out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                i += 4;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn parse(text: &str) -> Vec<Entry> {
    text.lines()
        .filter_map(|l| {
            let (head, tail) = l.split_once(" - ")?;
            let f: Vec<&str> = head.split(' ').collect();
            Some(Entry {
                root: unescape(f.get(3)?),
                mount_point: unescape(f.get(4)?),
                fstype: tail.split(' ').next()?.to_string(),
            })
        })
        .collect()
}

/// The full procfs and sysfs mounts outside `rootfs`, in mountinfo order.
fn full_proc_and_sys(text: &str, rootfs: &Path) -> Vec<String> {
    parse(text)
        .into_iter()
        .filter(|e| e.root == "/" && (e.fstype == "proc" || e.fstype == "sysfs"))
        .filter(|e| !Path::new(&e.mount_point).starts_with(rootfs))
        .map(|e| e.mount_point)
        .collect()
}

impl Rootfs {
    /// Detaches (or covers) every full procfs and sysfs outside the rootfs. The mount tree
    /// is already rslave or rprivate (`prepare`), so nothing of this reaches the host.
    pub(crate) fn hide_full_proc_and_sys(&self) -> Result<()> {
        let text = std::fs::read_to_string("/proc/self/mountinfo")
            .ctx(|| "--no-pivot: read /proc/self/mountinfo")?;
        // The rootfs as this mount namespace names it (what mountinfo prints).
        let rootfs = std::fs::read_link(sys::fd_path(self.root.as_fd()))
            .ctx(|| "--no-pivot: readlink rootfs")?;
        for p in full_proc_and_sys(&text, &rootfs) {
            match sys::umount2(&p, libc::MNT_DETACH) {
                Ok(()) => {}
                // Gone with a parent detached before it.
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
                Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL) | Some(libc::EPERM)) => {
                    sys::mount(Some("tmpfs"), &p, Some("tmpfs"), 0, None)
                        .ctx(|| format!("--no-pivot: cover {p}"))?;
                }
                Err(e) => return Err(e).ctx(|| format!("--no-pivot: detach {p}")),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_full_proc_and_sys_outside_the_rootfs() {
        let text = "\
22 1 0:21 / /proc rw,nosuid shared:5 - proc proc rw
23 1 0:22 / /sys rw shared:6 - sysfs sysfs rw
24 22 0:23 / /proc/sys/fs/binfmt_misc rw - binfmt_misc x rw
25 1 0:21 /sys /mnt/partial rw - proc proc rw
26 1 0:24 / /b/root\\040fs/proc rw - proc proc rw
27 1 0:25 / /b/root\\040fsx/sys rw - sysfs sysfs rw
";
        assert_eq!(
            full_proc_and_sys(text, Path::new("/b/root fs")),
            ["/proc", "/sys", "/b/root fsx/sys"]
        );
        assert_eq!(unescape("a\\040b\\\\c"), "a b\\\\c");
    }
}
