//! Small helpers over cgroupfs files: writes that name the spec field, reads, and making and
//! removing directories while remembering which ones hull created.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::{Context, Error, Result};

/// Writes `value` to `dir/file`; the error names `field` (the spec field being applied), the
/// file and the value, because the kernel's EINVAL alone explains nothing.
pub fn write(dir: &Path, file: &str, value: &str, field: &str) -> Result<()> {
    let p = dir.join(file);
    fs::write(&p, value.as_bytes()).map_err(|e| write_error(field, value, &p, &e))
}

fn write_error(field: &str, value: &str, p: &Path, e: &std::io::Error) -> Error {
    let hint = match e.raw_os_error() {
        Some(libc::ENOENT) => " (the kernel does not provide it)",
        Some(libc::EOPNOTSUPP) => " (not supported by this kernel)",
        _ => "",
    };
    Error::config(
        field,
        format!("write {value:?} to {}: {e}{hint}", p.display()),
    )
}

/// Writes each `(file, value)` in order, as [`write`] would, but opens each file once: the
/// v1 devices rules are a dozen writes to two files, and opening a cgroupfs file costs
/// several times the write itself (~7 µs against ~1 µs here). cgroupfs applies every
/// write(2) on its own, whatever the file offset.
pub fn write_seq<'a>(
    dir: &Path,
    writes: impl IntoIterator<Item = (&'a str, &'a str)>,
    field: &str,
) -> Result<()> {
    use std::io::Write;
    let mut open: Vec<(&str, fs::File)> = Vec::new();
    for (file, value) in writes {
        let p = dir.join(file);
        let err = |e: std::io::Error| write_error(field, value, &p, &e);
        let i = match open.iter().position(|(n, _)| *n == file) {
            Some(i) => i,
            None => {
                let f = fs::OpenOptions::new().write(true).open(&p).map_err(err)?;
                open.push((file, f));
                open.len() - 1
            }
        };
        open[i].1.write_all(value.as_bytes()).map_err(err)?;
    }
    Ok(())
}

/// Reads `dir/file`, trimmed.
pub fn read(dir: &Path, file: &str) -> Result<String> {
    let p = dir.join(file);
    fs::read_to_string(&p)
        .map(|s| s.trim().to_string())
        .ctx(|| format!("read {}", p.display()))
}

/// Reads an integer file; "max" reads as `u64::MAX`; missing or unparsable reads as 0
/// (statistics are best effort, like runc's).
pub fn read_u64(dir: &Path, file: &str) -> u64 {
    match read(dir, file) {
        Ok(s) if s == "max" => u64::MAX,
        Ok(s) => s.parse().unwrap_or(0),
        Err(_) => 0,
    }
}

/// Parses `key value` lines (memory.stat, cpu.stat, memory.events ...).
pub fn read_kv(dir: &Path, file: &str) -> Vec<(String, u64)> {
    read(dir, file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            Some((it.next()?.to_string(), it.next()?.parse().ok()?))
        })
        .collect()
}

/// One value of a `key value` file.
pub fn kv(dir: &Path, file: &str, key: &str) -> Option<u64> {
    read_kv(dir, file)
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

/// Whether `dir/file` exists.
pub fn has(dir: &Path, file: &str) -> bool {
    dir.join(file).exists()
}

/// Creates `root/rel` one level at a time; returns the directories that did not exist
/// before (parents first), which are the ones hull may remove again. `on_new` runs on each
/// new directory right after it is made (v1 cpuset needs its values copied down level by
/// level, v2 needs controllers enabled in every parent).
pub fn mkdir_tracked(
    root: &Path,
    rel: &str,
    mut on_new: impl FnMut(&Path) -> Result<()>,
) -> Result<Vec<PathBuf>> {
    let mut made = Vec::new();
    let mut cur = root.to_path_buf();
    for part in rel.split('/').filter(|s| !s.is_empty()) {
        cur.push(part);
        match fs::create_dir(&cur) {
            Ok(()) => {
                made.push(cur.clone());
                if let Err(e) = on_new(&cur) {
                    remove_all(&made);
                    return Err(e);
                }
            }
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
            Err(e) => {
                remove_all(&made);
                return Err(e).ctx(|| format!("create cgroup {}", cur.display()));
            }
        }
    }
    Ok(made)
}

/// Removes `dir` and any cgroups below it (the container may have made its own in its
/// cgroup namespace, or `exec --cgroup` did). rmdir is retried for a moment on EBUSY: a
/// killed process leaves its cgroup only once the kernel has finished tearing it down.
pub fn rmdir_tree(dir: &Path) -> Result<()> {
    // Almost always a leaf: one rmdir, and the walk only when it has children (EBUSY).
    match fs::remove_dir(dir) {
        Ok(()) => return Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(_) => {}
    }
    if let Ok(rd) = fs::read_dir(dir) {
        for e in rd.flatten() {
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                rmdir_tree(&e.path())?;
            }
        }
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => return Err(e).ctx(|| format!("remove cgroup {}", dir.display())),
        }
    }
}

/// Removes directories hull created, children first. A created parent that now holds
/// other containers' cgroups is left alone (it is theirs too now).
pub fn remove_created(created: &[PathBuf], leaf_of: impl Fn(&Path) -> bool) -> Result<()> {
    let mut first_err = None;
    for d in created.iter().rev() {
        let r = if leaf_of(d) {
            rmdir_tree(d)
        } else {
            match fs::remove_dir(d) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
                Err(e) if matches!(e.raw_os_error(), Some(libc::EBUSY | libc::ENOTEMPTY)) => Ok(()),
                Err(e) => Err(e).ctx(|| format!("remove cgroup {}", d.display())),
            }
        };
        if let Err(e) = r {
            first_err.get_or_insert(e);
        }
    }
    first_err.map_or(Ok(()), Err)
}

fn remove_all(made: &[PathBuf]) {
    for d in made.iter().rev() {
        let _ = fs::remove_dir(d);
    }
}

/// Pids listed in `dir/cgroup.procs` and in every cgroup below it.
pub fn procs_tree(dir: &Path, out: &mut Vec<i32>) {
    if let Ok(s) = fs::read_to_string(dir.join("cgroup.procs")) {
        out.extend(s.lines().filter_map(|l| l.trim().parse::<i32>().ok()));
    }
    if let Ok(rd) = fs::read_dir(dir) {
        for e in rd.flatten() {
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                procs_tree(&e.path(), out);
            }
        }
    }
}

/// Refuses a container cgroup that already holds processes (runc's "container's cgroup is
/// not empty"): its processes would share the container's limits and be killed with it.
/// `ours` is the container's init where it is already inside (a systemd unit's cgroup).
pub fn check_empty(dir: &Path, ours: Option<i32>) -> Result<()> {
    let mut pids = Vec::new();
    procs_tree(dir, &mut pids);
    pids.retain(|p| Some(*p) != ours);
    if pids.is_empty() {
        return Ok(());
    }
    Err(Error::msg(format!(
        "container's cgroup is not empty: {} process(es) found in {}",
        pids.len(),
        dir.display()
    )))
}

/// The error for a container cgroup found frozen (`state`) before the init joined it.
pub fn frozen_error(dir: &Path, state: &str) -> Error {
    Error::msg(format!(
        "container's cgroup unexpectedly frozen: {} is {state}",
        dir.display()
    ))
}

/// Polls `done` every few milliseconds for up to `limit`.
pub fn wait_until(limit: Duration, mut done: impl FnMut() -> Result<bool>) -> Result<bool> {
    let deadline = Instant::now() + limit;
    let mut nap = Duration::from_millis(1);
    loop {
        if done()? {
            return Ok(true);
        }
        if Instant::now() >= deadline {
            return Ok(false);
        }
        std::thread::sleep(nap);
        nap = (nap * 2).min(Duration::from_millis(50));
    }
}
