//! CVE-2019-5736: the container must never get a writable handle on hull's binary.
//!
//! hull forks its init and exec'd processes without re-executing itself, so until their
//! final `execve` their `/proc/self/exe` is hull's binary. Being non-dumpable keeps other
//! container processes away from that *before* the execve, but the container's program can
//! still be a script whose interpreter is `#!/proc/self/exe` (or an ELF whose PT_INTERP is):
//! the kernel then runs hull's binary *as a container process*, dumpable and visible, and the
//! container can open `/proc/<pid>/exe` and, once hull has exited, write to it. So before a
//! command that runs container code (create, run, exec) does anything, hull re-executes
//! itself from a copy the container cannot write: a detached read-only bind mount of its own
//! binary (open_tree + mount_setattr(MOUNT_ATTR_RDONLY), what runc 1.2 does too), or, where
//! hull may not make mounts, a sealed memfd copy. A reopen for writing then fails with EROFS
//! (or EPERM on the sealed memfd). Costs one extra execve; none when the binary already is
//! on a read-only mount.

use std::ffi::CString;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::ffi::OsStringExt;

use nix::fcntl::OFlag;

use crate::error::{Context, Error, Result};
use crate::sys;

/// Set in the environment of the re-executed hull, so a copy that still is not sealed
/// is an error instead of a loop.
const MARK: &str = "_HULL_SEALED";

fn is_sealed(exe: BorrowedFd<'_>) -> bool {
    let ro = nix::sys::statvfs::fstatvfs(exe)
        .map(|s| s.flags().contains(nix::sys::statvfs::FsFlags::ST_RDONLY))
        .unwrap_or(false);
    ro || sys::get_seals(exe) & libc::F_SEAL_WRITE != 0
}

/// Re-executes hull from a read-only (or sealed) copy of its binary unless it already runs
/// from one. Returns only when it does.
pub fn ensure() -> Result<()> {
    let exe = sys::openat2(
        nix::fcntl::AT_FDCWD,
        "/proc/self/exe",
        OFlag::O_RDONLY.bits(),
        0,
        0,
    )
    .ctx(|| "open /proc/self/exe")?;
    if is_sealed(exe.as_fd()) {
        if std::env::var_os(MARK).is_some() {
            std::env::remove_var(MARK);
            // execveat named us after the fd ("4"): be `hull` again in ps, pgrep, top.
            let name = std::env::args_os()
                .next()
                .map(std::path::PathBuf::from)
                .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                .unwrap_or_else(|| "hull".into());
            let _ = std::fs::write("/proc/thread-self/comm", name.as_bytes());
        }
        return Ok(());
    }
    if std::env::var_os(MARK).is_some() {
        return Err(Error::container(
            "could not run hull from a read-only copy of its binary (CVE-2019-5736 defence)",
        ));
    }
    let argv: Vec<CString> = std::env::args_os()
        .map(|a| CString::new(a.into_vec()))
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| Error::container("NUL byte in hull's arguments"))?;
    let mut envp: Vec<CString> = std::env::vars_os()
        .filter_map(|(k, v)| {
            let mut kv = k.into_vec();
            kv.push(b'=');
            kv.extend(v.into_vec());
            CString::new(kv).ok()
        })
        .collect();
    envp.push(CString::new(format!("{MARK}=1")).map_err(|_| Error::container("env"))?);
    let copy = match read_only_bind(exe.as_fd()) {
        Ok(fd) => fd,
        // No right to make mounts (rootless): a sealed memfd copy instead.
        Err(_) => sealed_memfd(exe.as_fd())?,
    };
    let e = sys::execveat_fd(copy.as_fd(), &argv, &envp);
    Err(e).ctx(|| "re-execute hull from its sealed copy")
}

/// A detached, read-only bind mount of the file at `exe`, as an fd of its root (the file).
fn read_only_bind(exe: BorrowedFd<'_>) -> std::io::Result<std::os::fd::OwnedFd> {
    let tree = sys::open_tree(exe, sys::OPEN_TREE_CLONE)?;
    sys::mount_setattr(tree.as_fd(), 0, sys::attr::RDONLY | sys::attr::NOSUID, 0, 0)?;
    Ok(tree)
}

/// A memfd holding a copy of the binary, sealed against any change.
fn sealed_memfd(exe: BorrowedFd<'_>) -> Result<std::os::fd::OwnedFd> {
    let m = sys::memfd_sealable("hull").ctx(|| "memfd_create for hull's sealed copy")?;
    let mut src = std::fs::File::from(exe.try_clone_to_owned().ctx(|| "dup /proc/self/exe")?);
    let mut dst = std::fs::File::from(m.try_clone().ctx(|| "dup memfd")?);
    std::io::copy(&mut src, &mut dst).ctx(|| "copy hull into a memfd")?;
    sys::add_seals(
        m.as_fd(),
        libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE,
    )
    .ctx(|| "seal hull's memfd copy")?;
    Ok(m)
}
