//! `hull restore`: a new container (state dir, cgroup, hooks, pid file: `create`'s own
//! machinery) whose processes CRIU restores from checkpoint images, then supervised like
//! `run` (exit status passed back, container deleted) unless `--detach` (runc's `restore`).
//!
//! CRIU restores the tree as our child (`rst_sibling`), into the cgroup we made (criu itself
//! is put there first and told it is the root: `cg_root`), with the bundle's rootfs bound
//! onto a directory of the state dir as its root (CRIU needs a mount point whose parent is
//! not overmounted). That bind is made in a private mount namespace of hull's, so it never
//! shows on the host and vanishes with hull even if hull is SIGKILLed.

use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use super::rpc::{self, opt};
use super::{base_opts, drive, externals, pass_fd, Dirs, DESCRIPTORS};
use crate::container::delete;
use crate::create::{self, CreateGuard};
use crate::error::{Context, Error, Result};
use crate::options::{RestoreOptions, RuntimeOptions};
use crate::state::{self, ContainerDir};
use crate::{hooks, logging, spec, sys};

/// Unmounts the root bind when dropped (before the guard removes the state dir).
struct RootBind(Option<PathBuf>);

impl Drop for RootBind {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = sys::umount2(&p.to_string_lossy(), libc::MNT_DETACH);
            let _ = std::fs::remove_dir(&p);
        }
    }
}

/// `hull restore`.
pub fn restore(g: &RuntimeOptions, o: &RestoreOptions) -> Result<i32> {
    let c = &o.create;
    state::validate_id(&c.id)?;
    let criu = super::find_criu(&o.criu)?;
    let bundle = spec::load(&c.bundle)?;
    // First: directories opened before would stay in the host's namespace, where criu
    // could not mount its cgroup yard under the work directory (EINVAL).
    private_mounts()?;
    let dirs = Dirs::open(&o.criu, false)?;
    let descriptors = read_descriptors(&dirs.images)?;
    let terminal = bundle
        .spec
        .process()
        .as_ref()
        .and_then(|p| p.terminal())
        .unwrap_or(false);
    crate::container::check_detached_tty(o.detach, c.console_socket.as_deref(), || terminal)?;
    let console = c
        .console_socket
        .as_deref()
        .map(|p| UnixStream::connect(p).ctx(|| format!("connect console socket {}", p.display())))
        .transpose()?;
    // As `run` does before it makes the container: a signal sent while CRIU restores is
    // kept and forwarded once the tree runs, instead of killing hull mid-restore.
    let sfd = crate::tty::relay_signals(!o.no_subreaper, !o.detach)?;

    let mut guard = CreateGuard {
        dir: None,
        cgroup: None,
        pid: None,
    };
    let mut intent = create::intent(g, c, &bundle)?;
    let cg = create::plan_cgroup(g, &c.id, &bundle)?;
    intent.cgroup = Some(cg.state().planned());
    let dir = ContainerDir::create(&g.root, &c.id, &intent, &bundle.raw)?;
    let root = dir.dir.join("criu-root");
    guard.dir = Some(dir);
    create::make_cgroup(g, cg, &bundle, &mut intent, &mut guard)?;
    make_mount_points(&bundle)?;
    let _bind = bind_root(&bundle.rootfs, &root)?;

    let mut req = base_opts(&o.criu, &bundle.spec, &dirs, "restore.log");
    req.string(opt::ROOT, &root.to_string_lossy())
        .flag(opt::RST_SIBLING, true)
        .flag(opt::EVASIVE_DEVICES, true);
    if let Some(p) = &o.lsm_profile {
        req.string(opt::LSM_PROFILE, p);
    }
    if let Some(p) = &o.lsm_mount_context {
        req.string(opt::LSM_MOUNT_CONTEXT, p);
    }
    let mut names = Vec::new();
    let is_dir = |p: &str| bundle.rootfs.join(p.trim_start_matches('/')).is_dir();
    for e in externals(&bundle.spec, &bundle.dir, is_dir) {
        if !names.contains(&e.name) {
            req.message(opt::EXT_MNT, &rpc::pair_str(&e.name, &e.source));
            names.push(e.name);
        }
    }
    // Namespaces joined by path: CRIU restores into the one the bundle names now.
    let mut ns_files = Vec::new();
    for (kind, key, path) in super::external_namespaces(&bundle.spec) {
        if kind == "net" && o.criu.empty_ns & libc::CLONE_NEWNET as u32 != 0 {
            continue;
        }
        let f = std::fs::File::open(&path)
            .ctx(|| format!("linux.namespaces: open {}", path.display()))?;
        req.message(opt::INHERIT_FD, &rpc::inherit_fd(key, pass_fd(&f)?));
        ns_files.push(f);
    }
    // The init's stdio pipes become ours (fds 0-2, which criu inherits as they are).
    // descriptors.json comes with the images: only its stdio entries name fds, or it could
    // hand criu hull's own.
    for (i, d) in descriptors.iter().enumerate().take(3) {
        if d.contains("pipe:") {
            req.message(opt::INHERIT_FD, &rpc::inherit_fd(d, i as i32));
        }
    }

    let s = rpc::Session::start(&criu)?;
    guard
        .cgroup
        .as_deref_mut()
        .ok_or_else(|| Error::container("cgroup manager missing"))?
        .attach(s.pid())?;
    intent.cgroup = guard.cgroup().map(|c| c.state());
    guard.save(&intent)?;
    for (ctrl, path) in cgroup_roots(s.pid())? {
        let mut m = rpc::Msg::default();
        m.string(1, &ctrl).string(2, &path);
        req.message(opt::CG_ROOT, &m);
    }

    let logp = dirs.work.join("restore.log");
    let mut master: Option<OwnedFd> = None;
    let mut restored = 0;
    let hooks_cfg = bundle.spec.hooks().clone().unwrap_or_default();
    drive(
        &s,
        &rpc::request(rpc::req::RESTORE, Some(&req)),
        "restore",
        &logp,
        |script, pid, fd| {
            match script {
                "setup-namespaces" => {
                    let st =
                        create::state_for_hooks(&c.id, "creating", pid, &bundle.dir, &bundle.spec);
                    hooks::run("prestart", hooks_cfg.prestart().as_ref(), &st)?;
                    hooks::run("createRuntime", hooks_cfg.create_runtime().as_ref(), &st)?;
                }
                "post-restore" => {
                    guard.pid = Some(pid);
                    restored = pid;
                    let (_, start) = state::proc_stat(pid)
                        .ok_or_else(|| Error::container(format!("restored init {pid} vanished")))?;
                    intent.pid = pid;
                    intent.pid_start = start;
                    intent.created = logging::rfc3339_now();
                    intent.cgroup = guard.cgroup().map(|c| c.state());
                    intent.creating = None;
                    guard.save(&intent)?;
                }
                "orphan-pts-master" => {
                    let fd = fd.ok_or_else(|| {
                        Error::container("criu sent no pty master with orphan-pts-master")
                    })?;
                    match &console {
                        Some(sock) => {
                            crate::tty::send_fd(sock.as_fd(), "orphan-pts-master", fd.as_fd())?
                        }
                        None => master = Some(fd),
                    }
                }
                _ => {}
            }
            Ok(())
        },
    )?;
    if !s.finish()? {
        return Err(super::criu_failed(
            "restore: criu exited with an error",
            None,
            &logp,
        ));
    }
    if restored <= 0 {
        return Err(super::criu_failed(
            "restore: no post-restore notification (no pid)",
            None,
            &logp,
        ));
    }
    // The pid file only once criu has succeeded: a failure above kills the restored tree.
    if let Some(pf) = &c.pid_file {
        state::write_atomic(pf, restored.to_string().as_bytes())?;
    }
    drop(_bind);
    drop(ns_files);
    // Success: the container exists now.
    guard.pid = None;
    guard.cgroup = None;
    guard.dir = None;
    let Some(sfd) = sfd else { return Ok(0) };
    let code = crate::tty::supervise(restored, master, &sfd)?;
    delete(g, &c.id, true)?;
    Ok(code)
}

/// Moves hull into a mount namespace of its own whose mounts receive the host's changes
/// but send none back: the root bind CRIU needs stays private and dies with us.
fn private_mounts() -> Result<()> {
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS)
        .ctx(|| "unshare mount namespace for restore")?;
    sys::mount(None, "/", None, libc::MS_SLAVE | libc::MS_REC, None)
        .ctx(|| "make / a slave mount for restore")
}

/// CRIU mounts the external binds onto mount points it expects in the rootfs; a rootfs that
/// never ran this container (podman's `restore --import`) lacks those `create` made. They
/// are made inside the root as `create` makes them (a directory for a directory source,
/// else an empty file), except under a tmpfs, which CRIU restores whole (runc's
/// prepareCriuRestoreMounts).
fn make_mount_points(bundle: &spec::Bundle) -> Result<()> {
    let mounts = bundle.spec.mounts().clone().unwrap_or_default();
    let tmpfs: Vec<&Path> = mounts
        .iter()
        .filter(|m| m.typ().as_deref() == Some("tmpfs"))
        .map(|m| m.destination().as_path())
        .collect();
    let root = std::fs::File::options()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_DIRECTORY)
        .open(&bundle.rootfs)
        .ctx(|| format!("open rootfs {}", bundle.rootfs.display()))?;
    for m in mounts.iter().filter(|m| super::is_bind(m)) {
        let dest = m.destination();
        if tmpfs.iter().any(|t| dest != *t && dest.starts_with(t)) {
            continue;
        }
        let src = m.source().clone().unwrap_or_default();
        let kind = match bundle.dir.join(src).is_dir() {
            true => crate::rootfs::Kind::Dir,
            false => crate::rootfs::Kind::File,
        };
        crate::rootfs::resolve_create(root.as_fd(), dest, kind)
            .map_err(|e| Error::container(format!("mounts {}: {e}", dest.display())))?;
    }
    Ok(())
}

fn bind_root(rootfs: &Path, at: &Path) -> Result<RootBind> {
    std::fs::create_dir(at).ctx(|| format!("mkdir {}", at.display()))?;
    let b = RootBind(Some(at.to_path_buf()));
    sys::mount(
        Some(&rootfs.to_string_lossy()),
        &at.to_string_lossy(),
        None,
        libc::MS_BIND | libc::MS_REC,
        None,
    )
    .ctx(|| format!("bind {} onto {}", rootfs.display(), at.display()))?;
    Ok(b)
}

/// The cgroups criu was put in, as CRIU's `cg_root` entries: (controllers, path) per line
/// of /proc/PID/cgroup (`""` for the unified hierarchy), as runc sends them.
fn cgroup_roots(pid: i32) -> Result<Vec<(String, String)>> {
    let p = format!("/proc/{pid}/cgroup");
    let text = std::fs::read_to_string(&p).ctx(|| format!("read {p}"))?;
    Ok(parse_cgroup_file(&text))
}

fn parse_cgroup_file(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.splitn(3, ':');
            let (_, ctrl, path) = (f.next()?, f.next()?, f.next()?);
            Some((ctrl.to_string(), path.to_string()))
        })
        .collect()
}

/// The init's fds 0-2 at dump time ([`DESCRIPTORS`]).
fn read_descriptors(images: &Path) -> Result<Vec<String>> {
    let p = images.join(DESCRIPTORS);
    let data = std::fs::read(&p).ctx(|| {
        format!(
            "--image-path {}: read {DESCRIPTORS} (not a checkpoint made by hull or runc?)",
            images.display()
        )
    })?;
    serde_json::from_slice(&data).map_err(|e| Error::container(format!("{}: {e}", p.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgroup_file_lines() {
        let v = parse_cgroup_file("0::/hull/abc\n4:cpu,cpuacct:/x\n1:name=systemd:/y\n");
        assert_eq!(
            v,
            vec![
                ("".to_string(), "/hull/abc".to_string()),
                ("cpu,cpuacct".into(), "/x".into()),
                ("name=systemd".into(), "/y".into())
            ]
        );
    }
}
