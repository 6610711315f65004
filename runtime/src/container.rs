//! The lifecycle operations (runtime.md "Operations"): create, start, run, state, kill,
//! delete and list. Each takes the container's lock for its whole run.

use std::fs::{self, File};
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::Pid;
use oci_spec::runtime::{LinuxNamespaceType as T, Spec};

use crate::cgroups::{self, CgroupManager};
use crate::channel::{self, Msg};
use crate::cli::{CreateOpts, Global, RunOpts};
use crate::error::{Context, Error, Result};
use crate::logging::{self, Phases};
use crate::state::{self, ContainerDir, Persisted, Status};
use crate::{hooks, init, process, spec, sys};

/// Undoes a half-made container when `create` fails: kills and reaps the init, removes
/// the cgroup, then the state directory. Disarmed once the container exists.
struct CreateGuard {
    dir: Option<ContainerDir>,
    cgroup: Option<Box<dyn CgroupManager>>,
    pid: Option<i32>,
}

impl Drop for CreateGuard {
    fn drop(&mut self) {
        if let Some(pid) = self.pid.take() {
            let _ = nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGKILL);
            let _ = waitpid(Pid::from_raw(pid), None);
        }
        if let Some(cg) = self.cgroup.take() {
            if let Err(e) = cg.destroy() {
                logging::warn(&format!("cleanup: {e}"));
            }
        }
        if let Some(dir) = self.dir.take() {
            let _ = dir.remove();
        }
    }
}

fn state_for_hooks(
    id: &str,
    status: &str,
    pid: i32,
    bundle: &Path,
    spec: &Spec,
) -> serde_json::Value {
    let mut v = serde_json::json!({
        "ociVersion": crate::OCI_VERSION,
        "id": id,
        "status": status,
        "pid": pid,
        "bundle": bundle,
        "annotations": spec.annotations().clone().unwrap_or_default(),
    });
    // No process, no pid (runtime.md: required only while created or running), as runc.
    if pid == 0 {
        if let Some(m) = v.as_object_mut() {
            m.remove("pid");
        }
    }
    v
}

/// `hull create`.
pub fn create(g: &Global, o: &CreateOpts) -> Result<i32> {
    create_inner(g, o, false).map(|_| 0)
}

/// Creates the container; returns the init's pid and, when `relay` allows a terminal
/// without a console socket (foreground `run`), the pty master to relay.
fn create_inner(g: &Global, o: &CreateOpts, relay: bool) -> Result<(i32, Option<OwnedFd>)> {
    let mut ph = Phases::start();
    state::validate_id(&o.id)?;
    let bundle = spec::load(&o.bundle)?;
    let p = bundle
        .spec
        .process()
        .as_ref()
        .ok_or_else(|| Error::config("process", "missing"))?;
    let terminal = p.terminal().unwrap_or(false);
    if terminal && o.console_socket.is_none() && !relay {
        return Err(Error::config(
            "process.terminal",
            "cannot allocate tty if hull will detach without setting console socket",
        ));
    }
    let (console, relay_end) = match terminal {
        true => {
            let (c, r) = crate::tty::console(o.console_socket.as_deref())?;
            (Some(c), r)
        }
        false => (None, None),
    };
    let console_size = crate::tty::initial_size(
        relay_end.is_some(),
        p.console_size()
            .as_ref()
            .map(|b| (b.height() as u16, b.width() as u16)),
    );
    let caps = process::CapSets::new(p.capabilities().as_ref())?;
    let linux = bundle.spec.linux().clone().unwrap_or_default();
    let seccomp = linux
        .seccomp()
        .as_ref()
        .map(crate::seccomp::compile)
        .transpose()?;
    let (preserve_fds, extra_env) = passed_fds(o.preserve_fds)?;
    ph.end("parse");

    let mut guard = CreateGuard {
        dir: Some(ContainerDir::create(&g.root, &o.id)?),
        cgroup: None,
        pid: None,
    };
    let dir = guard
        .dir
        .as_ref()
        .map(|d| d.dir.clone())
        .unwrap_or_default();
    let fifo_path = dir.join(state::EXEC_FIFO);
    nix::unistd::mkfifo(&fifo_path, nix::sys::stat::Mode::from_bits_truncate(0o622))
        .ctx(|| format!("mkfifo {}", fifo_path.display()))?;
    // O_RDWR never blocks on a fifo; the init's later read blocks until `start` writes.
    let fifo: OwnedFd = File::options()
        .read(true)
        .write(true)
        .open(&fifo_path)
        .ctx(|| format!("open {}", fifo_path.display()))?
        .into();

    ph.end("state dir");
    let mut cg = cgroups::new_manager(linux.cgroups_path().as_deref(), &o.id, g.systemd_cgroup)?;
    let created = cg.create(
        linux.resources().as_ref(),
        linux.devices().as_deref().unwrap_or_default(),
    );
    guard.cgroup = Some(cg);
    created?;
    ph.end("cgroup");

    let ns = &bundle.namespaces;
    let joins = ns.open_joins()?;
    let (parent_chan, child_chan) = channel::pair()?;
    let cg_ref = guard
        .cgroup
        .as_ref()
        .ok_or_else(|| Error::container("cgroup manager missing"))?;
    // v1: the init moves itself in (and is cloned into a hybrid host's unified cgroup),
    // which skips the kernel's grace-period wait of a placement from outside (placement.rs).
    let self_join = crate::placement::SelfJoin::prepare(cg_ref.as_ref())?;
    let cg_fd = match &self_join {
        Some(j) => j.clone_into(),
        None => cg_ref.clone_into_fd().map(|f| f.as_raw_fd()),
    };
    let listener = seccomp.as_ref().and_then(|s| s.listener().cloned());
    // A filter loaded during setup can block the init's own reporting (sendmsg, write).
    let nnp = p.no_new_privileges().unwrap_or(false);
    let seccomp_hint = match &seccomp {
        Some(s) if s.stage(nnp) != crate::seccomp::Stage::BeforeExec => {
            "; linux.seccomp is loaded during setup here: does the profile allow what the init \
             still does (sendmsg, read, write, setresuid, capset, execve)?"
        }
        _ => "",
    };
    let flags = ns.clone_flags().bits() as u64;
    let close_first = vec![
        guard.dir.as_ref().map_or(-1, |d| d.lock_fd()),
        parent_chan.raw_fd(),
    ];
    let init_args = |chan| init::InitArgs {
        bundle: &bundle,
        id: &o.id,
        chan,
        fifo,
        no_pivot: o.no_pivot,
        no_new_keyring: o.no_new_keyring,
        preserve_fds,
        extra_env,
        caps,
        seccomp,
        close_first,
        console,
        console_size,
        cgroup_join: self_join.as_ref(),
    };

    // Inherited by the clone: the init is non-dumpable from its first instant, so a container
    // sharing its pid namespace never sees its /proc/<pid>/fd (host fds) or exe (hull).
    sys::prctl(libc::PR_SET_DUMPABLE, 0).ctx(|| "prctl(PR_SET_DUMPABLE)")?;
    let pid = if joins.is_empty() {
        match sys::clone3(&sys::CloneArgs {
            flags,
            cgroup: cg_fd,
        })
        .ctx(|| "clone3 container init")?
        {
            None => init::run(init_args(child_chan)),
            Some(pid) => pid,
        }
    } else {
        // Joined namespaces: an intermediate process joins them (setns applies the pid
        // namespace only to children), then clones the init as our sibling (CLONE_PARENT),
        // so that `create` stays the init's parent and can reap it on failure.
        match sys::clone3(&sys::CloneArgs {
            flags: 0,
            cgroup: None,
        })
        .ctx(|| "fork namespace-joining helper")?
        {
            None => {
                let r = crate::namespaces::Namespaces::join_all(&joins).and_then(|_| {
                    sys::clone3(&sys::CloneArgs {
                        flags: flags | libc::CLONE_PARENT as u64,
                        cgroup: cg_fd,
                    })
                    .ctx(|| "clone3 container init")
                });
                match r {
                    Ok(None) => init::run(init_args(child_chan)),
                    Ok(Some(pid)) => {
                        let _ = child_chan.send(&Msg::Pid(pid));
                        sys::exit_now(0)
                    }
                    Err(e) => {
                        let _ = child_chan.send(&Msg::Error(e.to_string()));
                        sys::exit_now(1)
                    }
                }
            }
            Some(helper) => {
                let got = parent_chan.recv();
                let _ = waitpid(Pid::from_raw(helper), None);
                match got? {
                    Some(Msg::Pid(pid)) => pid,
                    Some(Msg::Error(e)) => return Err(Error::Init(e)),
                    other => {
                        return Err(Error::container(format!(
                            "namespace helper: unexpected {other:?}"
                        )))
                    }
                }
            }
        }
    };
    guard.pid = Some(pid);
    drop(child_chan);
    ph.end("clone");

    if ns.creates(T::User) {
        write_id_maps(pid, &linux)?;
    }
    // From the host, as runc does: an init in a new user namespace can neither open its
    // oom_score_adj (EACCES) nor lower it (CAP_SYS_RESOURCE of the host's namespace).
    if let Some(adj) = spec_process_oom(&bundle.spec) {
        let procfs = sys::openat2(
            nix::fcntl::AT_FDCWD,
            "/proc",
            (nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY).bits(),
            0,
            sys::RESOLVE_NO_MAGICLINKS,
        )
        .ctx(|| "open /proc")?;
        crate::init::write_proc(
            procfs.as_fd(),
            &format!("{pid}/oom_score_adj"),
            &adj.to_string(),
        )
        .map_err(|e| Error::config("process.oomScoreAdj", e.to_string()))?;
    }
    if self_join.is_none() && cg_fd.is_none() {
        cg_ref.add_process(pid)?;
    }
    ph.end("cgroup attach, id maps");
    parent_chan.send(&Msg::Continue)?;
    let hooks = bundle.spec.hooks().clone().unwrap_or_default();
    loop {
        let (msg, fd) = match parent_chan.recv_fd()? {
            Some((m, fd)) => (Some(m), fd),
            None => (None, None),
        };
        match msg {
            Some(Msg::Ready) => break,
            Some(Msg::Phases(p)) => {
                ph.mark("init");
                ph.done
                    .extend(p.into_iter().map(|(n, us)| (format!("init: {n}"), us)));
                ph.log("");
            }
            Some(Msg::SeccompListener) => {
                let st = crate::seccomp::notify::state(
                    &o.id,
                    oci_spec::runtime::ContainerState::Creating,
                    pid,
                    &bundle.dir,
                    bundle.spec.annotations().clone().unwrap_or_default(),
                );
                crate::seccomp::notify::deliver(listener.as_ref(), fd, pid, st)?;
            }
            Some(Msg::RunHooks) => {
                let st = state_for_hooks(&o.id, "creating", pid, &bundle.dir, &bundle.spec);
                hooks::run("prestart", hooks.prestart().as_ref(), &st)?;
                hooks::run("createRuntime", hooks.create_runtime().as_ref(), &st)?;
                parent_chan.send(&Msg::HooksDone)?;
            }
            Some(Msg::Error(e)) => return Err(Error::Init(e)),
            Some(m) => return Err(Error::container(format!("sync channel: unexpected {m:?}"))),
            None => {
                return Err(Error::Init(format!(
                    "container init exited during setup ({}){}",
                    describe_exit(pid),
                    seccomp_hint
                )))
            }
        }
    }
    ph.end("init (Ready)");
    let master = relay_end
        .map(|r| crate::tty::recv_fd(r.as_fd()))
        .transpose()?;

    let (_, pid_start) = state::proc_stat(pid)
        .ok_or_else(|| Error::container(format!("container init {pid} vanished")))?;
    let persisted = Persisted {
        id: o.id.clone(),
        pid,
        pid_start,
        bundle: bundle.dir.clone(),
        rootfs: bundle.rootfs.clone(),
        created: logging::rfc3339_now(),
        owner: String::new(),
        annotations: bundle.spec.annotations().clone().unwrap_or_default(),
        cgroup: Some(cg_ref.state()),
        systemd_cgroup: g.systemd_cgroup,
        no_new_keyring: o.no_new_keyring,
    };
    let d = guard
        .dir
        .as_ref()
        .ok_or_else(|| Error::container("state dir missing"))?;
    d.save_config(&bundle.raw)?;
    d.save(&persisted)?;
    if let Some(pf) = &o.pid_file {
        state::write_atomic(pf, pid.to_string().as_bytes())?;
    }
    // Success: the container exists now; nothing to undo.
    guard.pid = None;
    guard.cgroup = None;
    guard.dir = None;
    ph.end("save state");
    Ok((pid, master))
}

/// The fds from 3 up that pass to the container: `LISTEN_FDS` (systemd socket activation,
/// only when `LISTEN_PID` says they are for this process, as runc checks: an ancestor's
/// inherited variables must not hand its fds over) then `--preserve-fds`. Returns their
/// count and the environment the container gets for them. Every one must be open, as in
/// runc: a gap would be filled by one of hull's own fds.
fn passed_fds(preserve: u32) -> Result<(u32, Vec<String>)> {
    let mut env = Vec::new();
    let mut listen = 0;
    let for_us = std::env::var("LISTEN_PID")
        .ok()
        .and_then(|p| p.parse::<u32>().ok())
        == Some(std::process::id());
    if let Some(n) = std::env::var("LISTEN_FDS")
        .ok()
        .and_then(|v| v.parse::<u32>().ok())
        .filter(|n| *n > 0 && for_us)
    {
        listen = n;
        env.push(format!("LISTEN_FDS={n}"));
        env.push("LISTEN_PID=1".into());
    }
    let total = listen.saturating_add(preserve);
    for fd in 3..3u32.saturating_add(total) {
        // The --log file is hull's own even though it is open.
        if !sys::fd_is_open(fd as i32) || crate::logging::file_fd() == Some(fd as i32) {
            let what = if fd - 3 < listen {
                format!("LISTEN_FDS={listen}")
            } else {
                format!("--preserve-fds {preserve}")
            };
            return Err(Error::container(format!("{what}: fd {fd} is not open")));
        }
    }
    Ok((total, env))
}

/// How the init ended, for the error when it dies during setup.
fn describe_exit(pid: i32) -> String {
    match waitpid(Pid::from_raw(pid), None) {
        Ok(WaitStatus::Exited(_, c)) => format!("exit status {c}"),
        Ok(WaitStatus::Signaled(_, s, _)) => format!("killed by {s:?}"),
        other => format!("{other:?}"),
    }
}

fn spec_process_oom(spec: &oci_spec::runtime::Spec) -> Option<i32> {
    spec.process().as_ref().and_then(|p| p.oom_score_adj())
}

fn write_id_maps(pid: i32, linux: &oci_spec::runtime::Linux) -> Result<()> {
    let fmt = |m: &Option<Vec<oci_spec::runtime::LinuxIdMapping>>| {
        m.iter()
            .flatten()
            .map(|m| format!("{} {} {}\n", m.container_id(), m.host_id(), m.size()))
            .collect::<String>()
    };
    for (file, field, text) in [
        ("uid_map", "linux.uidMappings", fmt(linux.uid_mappings())),
        ("gid_map", "linux.gidMappings", fmt(linux.gid_mappings())),
    ] {
        let path = format!("/proc/{pid}/{file}");
        fs::write(&path, text.as_bytes()).ctx(|| format!("{field}: write {path}"))?;
    }
    Ok(())
}

pub(crate) fn open_container(g: &Global, id: &str) -> Result<(ContainerDir, Persisted, Status)> {
    let dir = ContainerDir::open(&g.root, id)?;
    let st = dir.load()?;
    let status = dir.status(&st, || frozen(&st));
    Ok((dir, st, status))
}

/// [`open_container`] for reading only, without waiting for the lock ([`ContainerDir::peek`]).
fn peek_container(g: &Global, id: &str) -> Result<(ContainerDir, Persisted, Status)> {
    let dir = ContainerDir::peek(&g.root, id)?;
    let st = dir.load().map_err(|e| match e {
        // Deleted between the check and the read.
        Error::Sys { ref source, .. } if source.raw_os_error() == Some(libc::ENOENT) => {
            Error::container(format!("container does not exist: {id}"))
        }
        e => e,
    })?;
    let status = dir.status(&st, || frozen(&st));
    Ok((dir, st, status))
}

fn frozen(st: &Persisted) -> bool {
    st.cgroup
        .as_ref()
        .and_then(|c| cgroups::load_manager(c).ok())
        .and_then(|m| m.is_frozen().ok())
        .unwrap_or(false)
}

/// `hull start`.
pub fn start(g: &Global, id: &str) -> Result<i32> {
    let mut ph = Phases::start();
    let (dir, st, status) = open_container(g, id)?;
    ph.end("load state");
    match status {
        Status::Created => {}
        Status::Stopped => {
            return Err(Error::container(
                "cannot start a container that has stopped",
            ))
        }
        _ => {
            return Err(Error::container(
                "cannot start an already running container",
            ))
        }
    }
    let fifo = dir.fifo();
    let config = dir.load_config()?;
    let hooks = config.hooks().clone().unwrap_or_default();
    // With startContainer hooks, start waits for the init to get past them (their failure
    // is start's error, runtime.md). A reader opened *before* our writer sees POLLHUP once
    // every writer is gone: the init's copy closes at execve (CLOEXEC) or when it exits, in
    // which case it has left its error in the fifo.
    let has_start_hooks = hooks
        .start_container()
        .as_ref()
        .is_some_and(|h| !h.is_empty());
    let open_watch = || {
        File::options()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&fifo)
            .ctx(|| format!("open {}", fifo.display()))
    };
    let watch = if has_start_hooks {
        Some(open_watch()?)
    } else if logging::debug_enabled() {
        // Under --debug the same watch times the exec (`exec wait`).
        open_watch().ok()
    } else {
        None
    };
    let mut f = File::options()
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo)
        .map_err(|e| {
            if e.raw_os_error() == Some(libc::ENXIO) {
                Error::container("container init is not running")
            } else {
                Error::Sys {
                    what: format!("open {}", fifo.display()),
                    source: e,
                }
            }
        })?;
    f.write_all(b"0")
        .ctx(|| "release container init (write exec fifo)")?;
    drop(f);
    fs::remove_file(&fifo).ctx(|| format!("remove {}", fifo.display()))?;
    ph.end("release init");
    if let Some(r) = watch {
        if has_start_hooks {
            wait_for_exec(r)?;
        } else {
            // --debug only: the outcome is not start's business without startContainer
            // hooks; the wait is there to time the exec.
            let _ = wait_for_exec(r);
        }
        ph.end("exec wait");
    }
    if hooks.poststart().is_some() {
        let s = state_for_hooks(id, "running", st.pid, &st.bundle, &config);
        hooks::run_warn("poststart", hooks.poststart().as_ref(), &s);
    }
    Ok(0)
}

/// Blocks until the init has exec'd the program or died after `start` released it; in the
/// second case returns the error it wrote into the exec fifo.
fn wait_for_exec(mut r: File) -> Result<()> {
    use std::io::Read;
    loop {
        // No events asked: only POLLHUP (no writer left) wakes us, not our own byte.
        let mut fds = [nix::poll::PollFd::new(
            r.as_fd(),
            nix::poll::PollFlags::empty(),
        )];
        match nix::poll::poll(&mut fds, nix::poll::PollTimeout::NONE) {
            Ok(_) => break,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e).ctx(|| "wait for the container process to start"),
        }
    }
    let mut msg = String::new();
    let _ = r.read_to_string(&mut msg);
    // Our own release byte still there: the init died without reading it.
    match msg.trim() {
        "" => Ok(()),
        "0" => Err(Error::container(
            "container init exited before it was started",
        )),
        m => Err(Error::Init(m.to_string())),
    }
}

use std::os::unix::fs::OpenOptionsExt;

/// `hull state`.
pub fn state(g: &Global, id: &str) -> Result<i32> {
    let (_dir, st, status) = peek_container(g, id)?;
    let v = state::state_json(&st, status);
    println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    Ok(0)
}

/// Parses a signal as runc does: `KILL`, `SIGKILL` or `9`.
pub fn parse_signal(s: &str) -> Result<Signal> {
    if let Ok(n) = s.parse::<i32>() {
        return Signal::try_from(n).map_err(|_| Error::container(format!("unknown signal {s:?}")));
    }
    let up = s.to_ascii_uppercase();
    let name = if up.starts_with("SIG") {
        up
    } else {
        format!("SIG{up}")
    };
    name.parse::<Signal>()
        .map_err(|_| Error::container(format!("unknown signal {s:?}")))
}

/// Sends `sig` to `pid` through a pidfd after checking it is still the same process.
fn signal_process(pid: i32, start: u64, sig: Signal) -> Result<()> {
    let pidfd = sys::pidfd_open(pid).map_err(|_| Error::container("container not running"))?;
    // The pidfd pins the process: if it is still the one we started, the signal hits it.
    if !state::process_alive(pid, start) {
        return Err(Error::container("container not running"));
    }
    sys::pidfd_send_signal(pidfd.as_fd(), sig as i32)
        .ctx(|| format!("send {sig:?} to container init {pid}"))
}

/// `hull kill`.
pub fn kill(g: &Global, id: &str, sig: Option<&str>, all: bool) -> Result<i32> {
    let (_dir, st, status) = open_container(g, id)?;
    let sig = parse_signal(sig.unwrap_or("SIGTERM"))?;
    if status == Status::Stopped && !all {
        return Err(Error::container("container not running"));
    }
    if all {
        signal_all(&st, sig)?;
        return Ok(0);
    }
    signal_process(st.pid, st.pid_start, sig)?;
    Ok(0)
}

/// Signals every process in the container's cgroup (and the init).
fn signal_all(st: &Persisted, sig: Signal) -> Result<()> {
    if let Some(m) = st.cgroup.as_ref().map(cgroups::load_manager).transpose()? {
        m.signal_all(sig)?;
    }
    if state::process_alive(st.pid, st.pid_start) {
        let _ = signal_process(st.pid, st.pid_start, sig);
    }
    Ok(())
}

/// Waits up to `limit` for a (not necessarily child) process to exit, via its pidfd.
fn wait_gone(pid: i32, start: u64, limit: Duration) -> bool {
    let Ok(fd) = sys::pidfd_open(pid) else {
        return true;
    };
    if !state::process_alive(pid, start) {
        return true;
    }
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        let ms = nix::poll::PollTimeout::try_from(left.as_millis().min(60_000) as i32)
            .unwrap_or(nix::poll::PollTimeout::MAX);
        let mut fds = [nix::poll::PollFd::new(
            fd.as_fd(),
            nix::poll::PollFlags::POLLIN,
        )];
        match nix::poll::poll(&mut fds, ms) {
            Ok(n) if n > 0 => return true,
            Ok(_) | Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return !state::process_alive(pid, start),
        }
    }
}

/// `hull delete`.
pub fn delete(g: &Global, id: &str, force: bool) -> Result<i32> {
    let mut ph = Phases::start();
    let (dir, st, status) = match open_container(g, id) {
        Ok(x) => x,
        Err(Error::Container(m)) if force && m.starts_with("container does not exist") => {
            return Ok(0)
        }
        Err(e) => return Err(e),
    };
    match status {
        Status::Stopped => {}
        Status::Created => kill_and_wait(&st)?,
        Status::Running | Status::Paused if force => {
            if status == Status::Paused {
                if let Some(m) = st.cgroup.as_ref().map(cgroups::load_manager).transpose()? {
                    let _ = m.set_frozen(false);
                }
            }
            kill_and_wait(&st)?;
        }
        s => {
            return Err(Error::container(format!(
                "cannot delete container {id} that is not stopped: {}",
                s.as_str()
            )))
        }
    }
    ph.end("load state, stop");
    destroy(dir, &st)?;
    ph.end("destroy (cgroup, state dir, poststop)");
    Ok(0)
}

fn kill_and_wait(st: &Persisted) -> Result<()> {
    signal_all(st, Signal::SIGKILL)?;
    if !wait_gone(st.pid, st.pid_start, Duration::from_secs(10)) {
        return Err(Error::container(format!(
            "container init {} did not exit after SIGKILL",
            st.pid
        )));
    }
    Ok(())
}

/// Removes a stopped container's cgroup and state, then runs its poststop hooks.
fn destroy(dir: ContainerDir, st: &Persisted) -> Result<()> {
    if let Some(m) = st.cgroup.as_ref().map(cgroups::load_manager).transpose()? {
        // Processes that outlive the init (no pid namespace) are killed too.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let pids = m.pids().unwrap_or_default();
            if pids.is_empty() || Instant::now() > deadline {
                break;
            }
            for p in pids {
                let _ = nix::sys::signal::kill(Pid::from_raw(p), Signal::SIGKILL);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        m.destroy()?;
    }
    let config = dir.load_config().ok();
    dir.remove()?;
    if let Some(c) = config {
        if let Some(h) = c.hooks().as_ref().and_then(|h| h.poststop().as_ref()) {
            let s = state_for_hooks(&st.id, "stopped", 0, &st.bundle, &c);
            hooks::run_warn("poststop", Some(h), &s);
        }
    }
    Ok(())
}

/// `hull run`: create, start, wait (forwarding signals), delete; exits with the
/// container's status (128+signal when it was killed).
pub fn run(g: &Global, o: &RunOpts) -> Result<i32> {
    if !o.no_subreaper {
        sys::prctl(libc::PR_SET_CHILD_SUBREAPER, 1).ctx(|| "prctl(PR_SET_CHILD_SUBREAPER)")?;
    }
    if o.detach && o.create.console_socket.is_none() && terminal_requested(&o.create.bundle) {
        return Err(Error::config(
            "process.terminal",
            "cannot allocate tty if hull will detach without setting console socket",
        ));
    }
    let (pid, master) = create_inner(g, &o.create, !o.detach)?;
    // Block the signals we relay before the program runs, so none is lost in between.
    let mut mask = nix::sys::signal::SigSet::all();
    mask.remove(Signal::SIGKILL);
    mask.remove(Signal::SIGSTOP);
    if !o.detach {
        mask.thread_block().ctx(|| "block signals")?;
    }
    if let Err(e) = start(g, &o.create.id) {
        let _ = delete(g, &o.create.id, true);
        return Err(e);
    }
    if o.detach {
        return Ok(0);
    }
    let sfd =
        nix::sys::signalfd::SignalFd::with_flags(&mask, nix::sys::signalfd::SfdFlags::SFD_CLOEXEC)
            .ctx(|| "signalfd")?;
    let code = crate::tty::supervise(pid, master, &sfd)?;
    if !o.keep {
        delete(g, &o.create.id, true)?;
    }
    Ok(code)
}

fn terminal_requested(bundle: &Path) -> bool {
    spec::load(bundle)
        .ok()
        .and_then(|b| b.spec.process().as_ref().and_then(|p| p.terminal()))
        .unwrap_or(false)
}

/// `hull list`.
pub fn list(g: &Global, format: &str, quiet: bool) -> Result<i32> {
    let mut rows = Vec::new();
    for id in state::list_ids(&g.root)? {
        let Ok((dir, st, status)) = peek_container(g, &id) else {
            continue;
        };
        let owner = fs::metadata(&dir.dir)
            .ok()
            .map(|m| std::os::unix::fs::MetadataExt::uid(&m))
            .and_then(state::user_name)
            .unwrap_or_default();
        rows.push((st, status, owner));
    }
    if quiet {
        for (st, _, _) in &rows {
            println!("{}", st.id);
        }
        return Ok(0);
    }
    match format {
        "json" => {
            let v: Vec<state::StateJson<'_>> = rows
                .iter()
                .map(|(st, s, owner)| state::StateJson {
                    owner,
                    ..state::state_json(st, *s)
                })
                .collect();
            println!(
                "{}",
                if v.is_empty() {
                    "null".into()
                } else {
                    serde_json::to_string(&v).unwrap_or_default()
                }
            );
        }
        "table" => {
            let mut table = vec![vec![
                "ID".to_string(),
                "PID".into(),
                "STATUS".into(),
                "BUNDLE".into(),
                "CREATED".into(),
                "OWNER".into(),
            ]];
            for (st, s, owner) in &rows {
                let pid = if *s == Status::Stopped { 0 } else { st.pid };
                table.push(vec![
                    st.id.clone(),
                    pid.to_string(),
                    s.as_str().into(),
                    st.bundle.display().to_string(),
                    st.created.clone(),
                    owner.clone(),
                ]);
            }
            print!("{}", format_table(&table));
        }
        other => return Err(Error::container(format!("invalid format option {other:?}"))),
    }
    Ok(0)
}

/// Lays out columns like Go's tabwriter with runc's settings (min width 12, padding 3).
fn format_table(rows: &[Vec<String>]) -> String {
    let cols = rows.first().map_or(0, |r| r.len());
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .map(|r| r[c].len() + 3)
                .max()
                .unwrap_or(0)
                .max(12)
        })
        .collect();
    let mut out = String::new();
    for r in rows {
        for (c, cell) in r.iter().enumerate() {
            if c + 1 == cols {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<w$}", w = widths[c]));
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_parse_like_runc() {
        assert_eq!(parse_signal("KILL").ok(), Some(Signal::SIGKILL));
        assert_eq!(parse_signal("SIGTERM").ok(), Some(Signal::SIGTERM));
        assert_eq!(parse_signal("9").ok(), Some(Signal::SIGKILL));
        assert_eq!(parse_signal("usr1").ok(), Some(Signal::SIGUSR1));
        assert!(parse_signal("NOPE").is_err());
        assert!(parse_signal("99").is_err());
    }

    #[test]
    fn table_layout() {
        let t = format_table(&[
            vec!["ID".into(), "PID".into()],
            vec!["abc".into(), "42".into()],
        ]);
        assert_eq!(t, "ID          PID\nabc         42\n");
    }
}
