//! `hull checkpoint`: dumps a running container's process tree with CRIU (runc's
//! `checkpoint`). Without `--leave-running` or `--pre-dump` the container is gone afterwards
//! (CRIU killed its processes; hull deletes it as `delete --force` would, poststop hooks
//! included, as runc destroys it).

use std::os::fd::OwnedFd;

use super::rpc::{self, opt, Msg};
use super::{base_opts, drive, externals, Dirs, DESCRIPTORS};
use crate::container::{delete, open_container};
use crate::error::{Context, Error, Result};
use crate::options::{CheckpointOptions, RuntimeOptions};
use crate::state::{self, Status};
use crate::sys;

/// `hull checkpoint`.
pub fn checkpoint(g: &RuntimeOptions, o: &CheckpointOptions) -> Result<i32> {
    state::validate_id(&o.id)?;
    // First, before hull opens anything that could take a number the caller left free.
    let status_fd = o
        .status_fd
        .filter(|_| o.criu.lazy_pages)
        .map(status_fd)
        .transpose()?;
    let criu = super::find_criu(&o.criu)?;
    let (dir, st, status) = open_container(g, &o.id)?;
    match status {
        Status::Running | Status::Paused => {}
        Status::Created => {
            return Err(Error::container(
                "container cannot be checkpointed in created state",
            ))
        }
        s => {
            return Err(Error::container(format!(
                "container is not running ({})",
                s.as_str()
            )))
        }
    }
    let spec = dir.load_config()?;
    let dirs = Dirs::open(&o.criu, true)?;
    let log = if o.pre_dump {
        "pre-dump.log"
    } else {
        "dump.log"
    };
    let mut req = base_opts(&o.criu, &spec, &dirs, log);
    req.int32(opt::PID, st.pid)
        .string(opt::ROOT, &st.rootfs.to_string_lossy())
        .flag(opt::LEAVE_RUNNING, o.leave_running)
        .flag(opt::TCP_SKIP_IN_FLIGHT, o.tcp_skip_in_flight)
        .flag(opt::LINK_REMAP, o.link_remap);
    // The cgroup freezer stops the tree at once (CRIU >= 3.14 on v2); otherwise ptrace.
    if let Some(cg) = &st.cgroup {
        let key = if cg.mode == "v2" { "" } else { "freezer" };
        if let Some(d) = cg.dirs.get(key) {
            req.string(opt::FREEZE_CGROUP, d);
        }
    }
    if let Some(ps) = &o.page_server {
        let (addr, port) = ps
            .rsplit_once(':')
            .and_then(|(a, p)| Some((a, p.parse::<i32>().ok()?)))
            .ok_or_else(|| Error::container(format!("--page-server {ps:?}: want ADDRESS:PORT")))?;
        let mut m = Msg::default();
        m.string(1, addr).int32(2, port);
        req.message(opt::PS, &m);
    }
    if let Some(p) = &o.parent_path {
        req.string(opt::PARENT_IMG, &p.to_string_lossy())
            .flag(opt::TRACK_MEM, true);
    }
    if o.pre_dump {
        req.flag(opt::TRACK_MEM, true);
    }
    for (kind, key, path) in super::external_namespaces(&spec) {
        let ino = std::fs::metadata(&path)
            .map(|m| std::os::unix::fs::MetadataExt::ino(&m))
            .ctx(|| format!("linux.namespaces: stat {}", path.display()))?;
        req.string(opt::EXTERNAL, &format!("{kind}[{ino}]:{key}"));
    }
    if !o.pre_dump {
        let root = format!("/proc/{}/root", st.pid);
        let is_dir = |p: &str| std::path::Path::new(&format!("{root}{p}")).is_dir();
        for e in externals(&spec, &st.bundle, is_dir) {
            req.message(opt::EXT_MNT, &rpc::pair_str(&e.dest, &e.name));
        }
        save_descriptors(st.pid, &dirs.images)?;
    }
    let typ = if o.pre_dump {
        rpc::req::PRE_DUMP
    } else {
        rpc::req::DUMP
    };
    let s = rpc::Session::start(&criu)?;
    let what = if o.pre_dump { "pre-dump" } else { "dump" };
    let logp = dirs.work.join(log);
    // CRIU (>= 3.15) says "status-ready" once its lazy-pages server listens; hull tells the
    // caller with one \0 byte and closes the fd, as runc does. (CRIU's own status_fd option
    // would reopen it through /proc/<hull>/fd, which a socket cannot be.)
    let mut status_fd = status_fd;
    drive(
        &s,
        &rpc::request(typ, Some(&req)),
        what,
        &logp,
        |script, _, _| {
            if script == "status-ready" {
                if let Some(fd) = status_fd.take() {
                    if let Err(e) = nix::unistd::write(&fd, &[0]) {
                        crate::logging::warn(&format!("--status-fd: write: {e}"));
                    }
                }
            }
            Ok(())
        },
    )?;
    // A pre-dump's criu waits for more requests; closing the connection ends it.
    let ok = s.finish()?;
    // CRIU answered the dump with success, so without --leave-running it has killed the
    // tree: the container is deleted even if criu's exit status is bad, or its state dir
    // and cgroup would outlive it.
    if !(o.leave_running || o.pre_dump) {
        drop(dir);
        delete(g, &o.id, true)?;
    }
    if !ok && !o.pre_dump {
        return Err(super::criu_failed(
            &format!("{what}: criu exited with an error"),
            None,
            &logp,
        ));
    }
    Ok(0)
}

/// `--status-fd N`: the caller's fd itself, owned from here on (never a reopening of
/// `/proc/self/fd/N`, which fails for the socket or pipe an engine passes), checked to be
/// open and writable. Called before hull opens anything, so N cannot be one of hull's own
/// (its log file, opened earlier, is refused).
fn status_fd(fd: i32) -> Result<OwnedFd> {
    let bad = |why: &str| Error::container(format!("--status-fd {fd}: {why}"));
    if crate::logging::file_fd() == Some(fd) {
        return Err(bad("bad file descriptor"));
    }
    let f = sys::adopt_inherited_fd(fd).map_err(|_| bad("bad file descriptor"))?;
    match sys::fd_access_mode(fd) {
        Ok(m) if m == libc::O_WRONLY || m == libc::O_RDWR => Ok(f),
        Ok(_) => Err(bad("not open for writing")),
        Err(e) => Err(bad(&e.to_string())),
    }
}

/// Writes [`DESCRIPTORS`]: what the init's fds 0-2 are (`pipe:[N]`, a path).
fn save_descriptors(pid: i32, images: &std::path::Path) -> Result<()> {
    let fds: Vec<String> = (0..3)
        .map(|i| {
            std::fs::read_link(format!("/proc/{pid}/fd/{i}"))
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_else(|_| "/dev/null".into())
        })
        .collect();
    let p = images.join(DESCRIPTORS);
    let text = serde_json::to_vec(&fds)
        .map_err(|e| Error::container(format!("encode {}: {e}", p.display())))?;
    std::fs::write(&p, text).ctx(|| format!("write {}", p.display()))
}
