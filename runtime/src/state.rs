//! The state store under `--root` (docs/state.md):
//!
//! ```text
//! <root>/<id>/            one directory per container; flock(2) on it serialises commands
//!   state.json            [`Persisted`], written atomically (write to a temp file + rename)
//!   config.json           the bundle's config as `create` read it (exec and delete use it)
//!   exec.fifo             exists from `create` until `start`: the init blocks reading it
//! ```
//!
//! The status is never stored: it is derived from the init's liveness (pid + start time, so a
//! recycled pid is not mistaken for the container), the fifo, and the cgroup freezer. While
//! `create` runs, state.json is its intent ([`Persisted::creating`]): what it is making,
//! recorded before it makes it, so a `create` killed at any point leaves a container that
//! `list` shows and `delete --force` removes.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::cgroups::CgroupState;
use crate::error::{Context, Error, Result};

/// Name of the fifo the init waits on between `create` and `start`.
pub const EXEC_FIFO: &str = "exec.fifo";
const STATE_FILE: &str = "state.json";
const CONFIG_FILE: &str = "config.json";

/// A container's lifecycle status, as the runtime-spec names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// `create` is still running (state.json is its intent).
    Creating,
    Created,
    Running,
    Paused,
    Stopped,
}

impl Status {
    /// The lowercase name used in state JSON and errors.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        }
    }
}

/// What hull remembers about a container between commands.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Persisted {
    pub id: String,
    /// Host pid of the container's init (0 once known to be gone).
    pub pid: i32,
    /// The init's start time in clock ticks since boot (/proc/<pid>/stat field 22).
    pub pid_start: u64,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    /// RFC 3339 creation time.
    pub created: String,
    pub owner: String,
    #[serde(default)]
    pub annotations: HashMap<String, String>,
    #[serde(default)]
    pub cgroup: Option<CgroupState>,
    /// `--systemd-cgroup` was given at create time.
    #[serde(default)]
    pub systemd_cgroup: bool,
    /// `create --no-new-keyring`: exec'd processes keep the caller's session keyring too.
    #[serde(default)]
    pub no_new_keyring: bool,
    /// Set while `create` runs: state.json is then its intent, written before each thing it
    /// makes (the id claimed, the cgroup, the init), and this names the `create` process.
    /// Cleared by the last save, when the container exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creating: Option<Creator>,
}

/// The `create` process behind an intent: while it lives the container is `creating`;
/// once it is gone without finishing, the container is `stopped` and `delete` removes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Creator {
    pub pid: i32,
    /// Its start time (/proc/<pid>/stat field 22), so a recycled pid is not taken for it.
    pub start: u64,
}

impl Creator {
    /// The calling process.
    pub fn me() -> Result<Creator> {
        let pid = std::process::id() as i32;
        let (_, start) = proc_stat(pid)
            .ok_or_else(|| Error::container(format!("read /proc/{pid}/stat of create itself")))?;
        Ok(Creator { pid, start })
    }
}

/// Checks a container id the way runc does: non-empty, only `[A-Za-z0-9_+.-]`, not `.`/`..`.
pub fn validate_id(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id != "."
        && id != ".."
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+-.".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Error::container(format!(
            "invalid container id {id:?}: must match [A-Za-z0-9_+.-]+ and not be . or .."
        )))
    }
}

/// A locked container directory. The lock is released when this is dropped.
#[derive(Debug)]
pub struct ContainerDir {
    pub dir: PathBuf,
    /// None for a read-only look ([`ContainerDir::peek`]).
    _lock: Option<File>,
    /// config.json once decoded: `start` and `delete` ask for it up to three times.
    config: std::cell::OnceCell<oci_spec::runtime::Spec>,
}

/// Opens a file or directory under `--root` without following a symlink at its name: a
/// container's directory (or its state.json) replaced by a link to another container's
/// must not make a command act on that other container. The root itself may be a link.
fn open_nofollow(path: &Path, dir: bool) -> Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let extra = if dir { libc::O_DIRECTORY } else { 0 };
    File::options()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC | extra)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => Error::container(format!(
                "{}: is a symlink: refusing to follow it under the state root",
                path.display()
            )),
            Some(libc::ENOTDIR) if dir => {
                Error::container(format!("{}: not a directory", path.display()))
            }
            _ => Error::Sys {
                what: format!("open {}", path.display()),
                source: e,
            },
        })
}

/// Refuses a container directory (or state root) that is not the caller's own: whoever
/// owns it could have written its state.json and config.json, and a user's state must not
/// steer another user's hull (root included) into acting on that user's say-so. `root_ok`
/// also accepts uid 0 (a state root root made, like `/run/hull` or `/tmp`).
fn check_owner(meta: std::io::Result<fs::Metadata>, path: &Path, root_ok: bool) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let uid = meta.ctx(|| format!("stat {}", path.display()))?.uid();
    let me = nix::unistd::geteuid().as_raw();
    if uid == me || (root_ok && uid == 0) {
        return Ok(());
    }
    Err(Error::container(format!(
        "{}: owned by uid {uid}, not {me}: refusing another user's state",
        path.display()
    )))
}

fn lock(dir: &Path) -> Result<File> {
    let f = open_nofollow(dir, true)?;
    check_owner(f.metadata(), dir, false)?;
    crate::sys::flock_exclusive(&f).ctx(|| format!("lock {}", dir.display()))?;
    Ok(f)
}

impl ContainerDir {
    /// Creates and locks `<root>/<id>`, holding `intent` as state.json and `config` as
    /// config.json from its first instant (they are written before the directory gets its
    /// name); fails if the container exists.
    pub fn create(root: &Path, id: &str, intent: &Persisted, config: &[u8]) -> Result<Self> {
        validate_id(id)?;
        // 0700, as runc makes its root: the state is nobody else's to read.
        std::os::unix::fs::DirBuilderExt::mode(fs::DirBuilder::new().recursive(true), 0o700)
            .create(root)
            .ctx(|| format!("create state root {}", root.display()))?;
        check_owner(fs::metadata(root), root, true)?;
        let dir = root.join(id);
        let exists = || Error::container(format!("container with id exists: {id}"));
        if dir.exists() {
            return Err(exists());
        }
        // The directory gets its name only once it is locked: [`ContainerDir::open`] takes
        // an unlocked directory without state.json for an aborted create and removes it.
        // `~` cannot be in an id, so the temporary name never meets a container's.
        let tmp = root.join(format!("~{id}~{}", std::process::id()));
        let _ = fs::remove_dir_all(&tmp);
        fs::create_dir(&tmp).ctx(|| format!("create state dir {}", tmp.display()))?;
        let locked = lock(&tmp).and_then(|l| {
            write_atomic(&tmp.join(CONFIG_FILE), config)?;
            write_atomic(&tmp.join(STATE_FILE), &encode(intent)?)?;
            nix::fcntl::renameat2(
                nix::fcntl::AT_FDCWD,
                &tmp,
                nix::fcntl::AT_FDCWD,
                &dir,
                nix::fcntl::RenameFlags::RENAME_NOREPLACE,
            )
            .or_else(|e| match e {
                // A filesystem without RENAME_NOREPLACE: rename, which cannot replace a
                // non-empty directory, and a created container's never is empty.
                nix::errno::Errno::EINVAL if !dir.exists() => fs::rename(&tmp, &dir)
                    .map_err(|e| nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(0))),
                e => Err(e),
            })
            .map(|()| l)
            .map_err(|e| match e {
                nix::errno::Errno::EEXIST | nix::errno::Errno::ENOTEMPTY => exists(),
                e => Error::Sys {
                    what: format!("create state dir {}", dir.display()),
                    source: e.into(),
                },
            })
        });
        match locked {
            Ok(l) => Ok(ContainerDir {
                dir,
                _lock: Some(l),
                config: Default::default(),
            }),
            Err(e) => {
                let _ = fs::remove_dir_all(&tmp);
                Err(e)
            }
        }
    }

    /// Opens and locks an existing container's directory.
    pub fn open(root: &Path, id: &str) -> Result<Self> {
        validate_id(id)?;
        let dir = root.join(id);
        let _lock = match lock(&dir) {
            Ok(l) => l,
            Err(e) if e.errno() == Some(libc::ENOENT) => {
                return Err(Error::container(format!("container does not exist: {id}")))
            }
            Err(e) => return Err(e),
        };
        // No state while we hold the lock: a concurrent delete removed it while we waited
        // (a create writes its intent before the directory has its name). Nothing uses the
        // directory; runc removes such a leftover too, so `delete` can clear it.
        if !dir.join(STATE_FILE).exists() {
            let _ = fs::remove_dir_all(&dir);
            return Err(Error::container(format!("container does not exist: {id}")));
        }
        Ok(ContainerDir {
            dir,
            _lock: Some(_lock),
            config: Default::default(),
        })
    }

    /// Opens an existing container's directory to read it, without the lock: state.json is
    /// replaced atomically, so a reader always sees a whole one. `state` and `list` must not
    /// wait for a command in progress: a hook of that command that asks for the state (as
    /// hooks do with runc, which has no such lock) would deadlock. A container still being
    /// created has its intent as state.json and is `creating` (or `stopped`, once the
    /// `create` is gone).
    pub fn peek(root: &Path, id: &str) -> Result<Self> {
        validate_id(id)?;
        let dir = root.join(id);
        // The same refusals of a symlinked or foreign directory as a locked open. No look
        // for state.json first: its read (`load`) reports a missing one as a missing container.
        match open_nofollow(&dir, true) {
            Err(e) if e.errno() == Some(libc::ENOENT) => {
                return Err(Error::container(format!("container does not exist: {id}")))
            }
            r => check_owner(r?.metadata(), &dir, false)?,
        }
        Ok(ContainerDir {
            dir,
            _lock: None,
            config: Default::default(),
        })
    }

    /// The lock's fd number: a forked init must close its copy, or the lock (which belongs
    /// to the open file description) would stay held for the container's whole life.
    pub fn lock_fd(&self) -> i32 {
        use std::os::fd::AsRawFd;
        self._lock.as_ref().map_or(-1, |l| l.as_raw_fd())
    }

    /// Reads state.json.
    pub fn load(&self) -> Result<Persisted> {
        let p = self.dir.join(STATE_FILE);
        let data = read_nofollow(&p)?;
        serde_json::from_slice(&data)
            .map_err(|e| Error::container(format!("{}: corrupt state: {e}", p.display())))
    }

    /// Writes state.json atomically.
    pub fn save(&self, st: &Persisted) -> Result<()> {
        write_atomic(&self.dir.join(STATE_FILE), &encode(st)?)
    }

    /// Saves the bundle's config (as read at create time).
    pub fn save_config(&mut self, raw: &[u8]) -> Result<()> {
        self.config.take();
        write_atomic(&self.dir.join(CONFIG_FILE), raw)
    }

    /// The config saved at create time, decoded once per command (`start` and `delete`
    /// look at it up to three times).
    pub fn config(&self) -> Result<&oci_spec::runtime::Spec> {
        if let Some(c) = self.config.get() {
            return Ok(c);
        }
        let c = self.load_config()?;
        Ok(self.config.get_or_init(|| c))
    }

    /// The config saved at create time, decoded afresh.
    pub fn load_config(&self) -> Result<oci_spec::runtime::Spec> {
        let p = self.dir.join(CONFIG_FILE);
        let data = read_nofollow(&p)?;
        crate::compat::spec_from_slice(&data, false)
            .map_err(|e| Error::container(format!("{}: {e}", p.display())))
    }

    /// [`ContainerDir::config`], owned, for a caller about to remove the directory.
    pub fn take_config(&mut self) -> Option<oci_spec::runtime::Spec> {
        self.config.take().or_else(|| self.load_config().ok())
    }

    /// Path of the exec fifo.
    pub fn fifo(&self) -> PathBuf {
        self.dir.join(EXEC_FIFO)
    }

    /// Removes the whole directory (the lock goes with it).
    pub fn remove(self) -> Result<()> {
        fs::remove_dir_all(&self.dir).ctx(|| format!("remove state dir {}", self.dir.display()))
    }

    /// The container's current status. `frozen` is asked only for a live, started container.
    pub fn status(&self, st: &Persisted, frozen: impl FnOnce() -> bool) -> Status {
        if let Some(c) = &st.creating {
            // A `create` that died before the container existed left a stopped one.
            return if process_alive(c.pid, c.start) {
                Status::Creating
            } else {
                Status::Stopped
            };
        }
        if st.pid <= 0 || !process_alive(st.pid, st.pid_start) {
            return Status::Stopped;
        }
        if self.fifo().exists() {
            return Status::Created;
        }
        if frozen() {
            Status::Paused
        } else {
            Status::Running
        }
    }
}

fn encode(st: &Persisted) -> Result<Vec<u8>> {
    serde_json::to_vec(st).map_err(|e| Error::container(format!("encode state: {e}")))
}

fn read_nofollow(p: &Path) -> Result<Vec<u8>> {
    use std::io::Read;
    let mut data = Vec::new();
    open_nofollow(p, false)?
        .read_to_end(&mut data)
        .ctx(|| format!("read {}", p.display()))?;
    Ok(data)
}

/// Writes `data` to `path` through a temporary file and rename, so readers never see a
/// half-written file.
pub fn write_atomic(path: &Path, data: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    // A fresh file (O_EXCL): never one a symlink left at the temporary name points to.
    let _ = fs::remove_file(&tmp);
    let mut f = File::options()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .ctx(|| format!("create {}", tmp.display()))?;
    f.write_all(data)
        .ctx(|| format!("write {}", tmp.display()))?;
    fs::rename(&tmp, path).ctx(|| format!("rename {} to {}", tmp.display(), path.display()))
}

/// Reads `(state char, start time)` of a process from /proc/<pid>/stat.
pub fn proc_stat(pid: i32) -> Option<(u8, u64)> {
    use std::io::Read;
    // One read into a buffer the line fits in (procfs reports no size, so read_to_string
    // would take five or six reads); `list` does this once per container.
    let mut buf = [0u8; 4096];
    let n = File::open(format!("/proc/{pid}/stat"))
        .and_then(|mut f| f.read(&mut buf))
        .ok()?;
    let s = std::str::from_utf8(&buf[..n]).ok()?;
    // The comm field may contain spaces and parentheses: parse after the last ')'.
    let rest = &s[s.rfind(')')? + 2..];
    let mut fields = rest.split(' ');
    let state = fields.next()?.bytes().next()?;
    // After the state (field 3) comes field 4; start time is field 22 => 18 more.
    let start = fields.nth(18)?.parse().ok()?;
    Some((state, start))
}

/// True if `pid` is the same live (non-zombie) process that started at `start`.
pub fn process_alive(pid: i32, start: u64) -> bool {
    matches!(proc_stat(pid), Some((st, s)) if s == start && st != b'Z' && st != b'X')
}

/// Removes the temporary claims of `id` (`<root>/~<id>~<pid>`, [`ContainerDir::create`])
/// whose `create` process is gone: one killed between making the directory and giving it
/// its name left it. A live pid's claim may be in use and is left alone.
pub fn sweep_stale_claims(root: &Path, id: &str) {
    let Ok(rd) = fs::read_dir(root) else { return };
    let prefix = format!("~{id}~");
    for e in rd.flatten() {
        let name = e.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(&prefix))
            .and_then(|p| p.parse::<i32>().ok())
        else {
            continue;
        };
        if proc_stat(pid).is_none() {
            // remove_dir_all removes a symlink itself, never what it points to.
            if let Err(err) = fs::remove_dir_all(e.path()) {
                log::warn!("remove stale {}: {err}", e.path().display());
            }
        }
    }
}

/// Lists the ids under `root` that have a state file.
pub fn list_ids(root: &Path) -> Result<Vec<String>> {
    let rd = match fs::read_dir(root) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => return Err(e).ctx(|| format!("read {}", root.display())),
    };
    let mut ids: Vec<String> = rd
        .filter_map(|e| e.ok())
        // A symlink is no container's directory (ContainerDir refuses to follow one).
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter(|e| e.path().join(STATE_FILE).exists())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    ids.sort();
    Ok(ids)
}

/// The runtime-spec state plus runc's extra fields, serialised in runc's field order.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StateJson<'a> {
    pub oci_version: &'a str,
    pub id: &'a str,
    pub pid: i32,
    pub status: &'a str,
    pub bundle: &'a Path,
    pub rootfs: &'a Path,
    pub created: &'a str,
    #[serde(skip_serializing_if = "HashMap::is_empty")]
    pub annotations: &'a HashMap<String, String>,
    pub owner: &'a str,
}

/// The state JSON of `st` in `status` (pid 0 once stopped, as runc reports it).
pub fn state_json<'a>(st: &'a Persisted, status: Status) -> StateJson<'a> {
    StateJson {
        oci_version: crate::OCI_VERSION,
        id: &st.id,
        pid: if status == Status::Stopped { 0 } else { st.pid },
        status: status.as_str(),
        bundle: &st.bundle,
        rootfs: &st.rootfs,
        created: &st.created,
        annotations: &st.annotations,
        owner: &st.owner,
    }
}

/// The host user name of `uid` from /etc/passwd (`list`'s OWNER column, as runc shows it).
/// Read directly rather than through NSS: hull is linked statically (hack/build.sh), where
/// glibc's getpwuid would need the shared NSS modules of its own version at run time.
pub fn user_name(uid: u32) -> Option<String> {
    let passwd = fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let mut f = l.split(':');
        let name = f.next()?;
        (f.nth(1)?.parse::<u32>().ok()? == uid).then(|| name.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_name_reads_passwd() {
        assert_eq!(user_name(0).as_deref(), Some("root"));
        assert_eq!(user_name(4_000_000_000), None);
    }

    #[test]
    fn ids() {
        for ok in ["a", "abc-1.2_3+x", "A"] {
            assert!(validate_id(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".", "..", "../x", "a/b", "/", "a b", "é"] {
            assert!(validate_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn own_stat_parses() {
        let me = std::process::id() as i32;
        let (st, start) = proc_stat(me).expect("own stat");
        assert!(st == b'R' || st == b'S');
        assert!(process_alive(me, start));
        assert!(!process_alive(me, start + 1));
    }
}
