//! The lifecycle operations (runtime.md "Operations") after `create` (which is
//! [`crate::create`]): start, run, state, kill, delete and list. Each takes the container's
//! lock for its whole run; `state` and `list` read without it (state.json is written atomically).

use std::fs::{self, File};
use std::io::Write;
use std::os::fd::AsFd;
use std::path::Path;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use nix::unistd::Pid;

use crate::cgroups;
pub use crate::create::create;
use crate::create::{create_inner, state_for_hooks};
use crate::error::{Context, Error, Result};
use crate::logging::{self, Phases};
use crate::options::{RunOptions, RuntimeOptions};
use crate::state::{self, ContainerDir, Persisted, Status};
use crate::{hooks, spec, sys};

pub(crate) fn open_container(
    g: &RuntimeOptions,
    id: &str,
) -> Result<(ContainerDir, Persisted, Status)> {
    let dir = ContainerDir::open(&g.root, id)?;
    let mut st = dir.load()?;
    trust_cgroup(&dir, id, &mut st);
    let status = dir.status(&st, || frozen(&st));
    Ok((dir, st, status))
}

/// Forgets a persisted cgroup that is not container `id`'s own (hull-cgroups'
/// `verify_state`, against the saved config's `linux.cgroupsPath`), with a warning: the
/// commands after this kill what is in it and remove it, and state.json may have been
/// changed to point at someone else's cgroup. runc trusts its state.json here.
fn trust_cgroup(dir: &ContainerDir, id: &str, st: &mut Persisted) {
    let Some(cg) = &st.cgroup else {
        return;
    };
    let checked = dir.config().and_then(|spec| {
        let path = spec.linux().as_ref().and_then(|l| l.cgroups_path().clone());
        Ok(cgroups::verify_state(
            cg,
            path.as_deref(),
            id,
            st.systemd_cgroup,
        )?)
    });
    if let Err(e) = checked {
        logging::warn(&format!("container {id}: {e}: leaving that cgroup alone"));
        st.cgroup = None;
    }
}

/// [`open_container`] for reading only, without waiting for the lock ([`ContainerDir::peek`]).
fn peek_container(g: &RuntimeOptions, id: &str) -> Result<(ContainerDir, Persisted, Status)> {
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
pub fn start(g: &RuntimeOptions, id: &str) -> Result<i32> {
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
    let config = dir.config()?;
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
            .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW)
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
    // O_NOFOLLOW: a fifo replaced by a link to another container's would start that one.
    let mut f = File::options()
        .write(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW)
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
        let s = state_for_hooks(id, "running", st.pid, &st.bundle, config);
        // runtime-spec 1.3.0: a failing poststart hook is an error and stops the container
        // (runc kills it too); `delete` then runs the poststop hooks.
        if let Err(e) = hooks::run("poststart", hooks.poststart().as_ref(), &s) {
            let _ = kill_and_wait(&st);
            return Err(e);
        }
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
pub fn state(g: &RuntimeOptions, id: &str) -> Result<i32> {
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

/// Sends signal number `sig` to `pid` through a pidfd after checking it is still the same
/// process (0 sends nothing and only checks, as kill(2)).
fn signal_process(pid: i32, start: u64, sig: i32) -> Result<()> {
    let pidfd = sys::pidfd_open(pid).map_err(|_| Error::container("container not running"))?;
    // The pidfd pins the process: if it is still the one we started, the signal hits it.
    if !state::process_alive(pid, start) {
        return Err(Error::container("container not running"));
    }
    sys::pidfd_send_signal(pidfd.as_fd(), sig)
        .ctx(|| format!("send signal {sig} to container init {pid}"))
}

/// Whether the container has a pid namespace of its own (one it does not join by path).
/// Without one, its processes outlive a SIGKILLed init.
fn private_pid_ns(dir: &ContainerDir) -> bool {
    let Ok(spec) = dir.config() else {
        return true;
    };
    spec.linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_ref())
        .is_some_and(|ns| {
            ns.iter().any(|n| {
                n.typ() == oci_spec::runtime::LinuxNamespaceType::Pid && n.path().is_none()
            })
        })
}

/// `hull kill`. Signal `0` only checks that the init is alive (runc passes numbers to
/// kill(2) as they are). As runc, SIGKILL to a container without a pid namespace of its
/// own goes to every process of its cgroup: killing the init would leave the others.
pub fn kill(g: &RuntimeOptions, id: &str, sig: Option<&str>, all: bool) -> Result<i32> {
    let (dir, st, status) = open_container(g, id)?;
    let raw = sig.unwrap_or("SIGTERM");
    if raw.trim() == "0" {
        if status == Status::Stopped {
            return Err(Error::container("container not running"));
        }
        signal_process(st.pid, st.pid_start, 0)?;
        return Ok(0);
    }
    let sig = parse_signal(raw)?;
    if sig == Signal::SIGKILL && !all && !private_pid_ns(&dir) {
        signal_all(&st, sig)?;
        return Ok(0);
    }
    if status == Status::Stopped && !all {
        return Err(Error::container("container not running"));
    }
    if all {
        signal_all(&st, sig)?;
        return Ok(0);
    }
    signal_process(st.pid, st.pid_start, sig as i32)?;
    Ok(0)
}

/// Signals every process in the container's cgroup (and the init).
fn signal_all(st: &Persisted, sig: Signal) -> Result<()> {
    if let Some(m) = st.cgroup.as_ref().map(cgroups::load_manager).transpose()? {
        m.signal_all(sig)?;
    }
    if state::process_alive(st.pid, st.pid_start) {
        let _ = signal_process(st.pid, st.pid_start, sig as i32);
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
pub fn delete(g: &RuntimeOptions, id: &str, force: bool) -> Result<i32> {
    let mut ph = Phases::start();
    state::validate_id(id)?;
    state::sweep_stale_claims(&g.root, id);
    let (dir, st, status) = match open_container(g, id) {
        Ok(x) => x,
        Err(Error::Container(m)) if force && m.starts_with("container does not exist") => {
            return Ok(0)
        }
        Err(e) => return Err(e),
    };
    // linux.netDevices go back to the host while the container's network namespace lives
    // (a dead init's pid may be another process's by now: only a joined path then).
    let netdevs = |pid| {
        if let Ok(c) = dir.config() {
            crate::netdev::return_to_host(c, pid);
        }
    };
    match status {
        // The intent of a `create` that died: its init dies with it (PR_SET_PDEATHSIG), but
        // a stopped container's pid is only trusted with its start time, so make sure.
        Status::Stopped if st.creating.is_some() && st.pid > 0 => {
            netdevs(if state::process_alive(st.pid, st.pid_start) {
                st.pid
            } else {
                0
            });
            kill_and_wait(&st)?
        }
        Status::Stopped => netdevs(0),
        Status::Created => {
            netdevs(st.pid);
            kill_and_wait(&st)?
        }
        Status::Running | Status::Paused if force => {
            netdevs(st.pid);
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
fn destroy(mut dir: ContainerDir, st: &Persisted) -> Result<()> {
    if let Some(m) = st.cgroup.as_ref().map(cgroups::load_manager).transpose()? {
        // With a pid namespace of its own the cgroup is empty by now: the kernel kills every
        // process of the namespace when its init dies, and the init (which `delete` saw
        // dead) is not dead before they are gone. So the cgroups go first, and the look into
        // every hierarchy's cgroup.procs is only for what is still busy.
        let own_ns = dir.config().is_ok() && private_pid_ns(&dir);
        if !own_ns || m.destroy().is_err() {
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
    }
    let config = dir.take_config();
    dir.remove()?;
    if let Some(c) = config {
        crate::intelrdt::leave(&st.id, &c);
        if let Some(h) = c.hooks().as_ref().and_then(|h| h.poststop().as_ref()) {
            let s = state_for_hooks(&st.id, "stopped", 0, &st.bundle, &c);
            hooks::run_warn("poststop", Some(h), &s);
        }
    }
    Ok(())
}

/// `hull run`: create, start, wait (forwarding signals), delete; exits with the
/// container's status (128+signal when it was killed).
pub fn run(g: &RuntimeOptions, o: &RunOptions) -> Result<i32> {
    check_detached_tty(o.detach, o.create.console_socket.as_deref(), || {
        terminal_requested(&o.create.bundle)
    })?;
    // Before the init exists: a signal sent while the container is made is forwarded.
    let sfd = crate::tty::relay_signals(!o.no_subreaper, !o.detach)?;
    let (pid, master) = create_inner(g, &o.create, !o.detach)?;
    if let Err(e) = start(g, &o.create.id) {
        let _ = delete(g, &o.create.id, true);
        return Err(e);
    }
    let Some(sfd) = sfd else { return Ok(0) };
    let code = crate::tty::supervise(pid, master, &sfd)?;
    if !o.keep {
        delete(g, &o.create.id, true)?;
    }
    Ok(code)
}

/// runc's refusal of a detached container with a terminal but no console socket: the pty
/// master would have nowhere to go (`run -d`, `restore -d`). `terminal` is asked only then.
pub(crate) fn check_detached_tty(
    detach: bool,
    console_socket: Option<&Path>,
    terminal: impl FnOnce() -> bool,
) -> Result<()> {
    if detach && console_socket.is_none() && terminal() {
        return Err(Error::config(
            "process.terminal",
            "cannot allocate tty if hull will detach without setting console socket",
        ));
    }
    Ok(())
}

fn terminal_requested(bundle: &Path) -> bool {
    spec::load(bundle)
        .ok()
        .and_then(|b| b.spec.process().as_ref().and_then(|p| p.terminal()))
        .unwrap_or(false)
}

/// `hull list`. A missing root directory lists nothing when it is the default one (no
/// container was made yet) and is an error when `--root` named it (`root_given`), as runc.
pub fn list(g: &RuntimeOptions, format: &str, quiet: bool, root_given: bool) -> Result<i32> {
    if root_given && !g.root.exists() {
        return Err(Error::container(format!(
            "--root {}: no such directory",
            g.root.display()
        )));
    }
    let mut rows = Vec::new();
    let mut names: Vec<(u32, Option<String>)> = Vec::new();
    for id in state::list_ids(&g.root)? {
        let (dir, st, status) = match peek_container(g, &id) {
            Ok(x) => x,
            // Deleted while we listed: nothing to say.
            Err(Error::Container(m)) if m.starts_with("container does not exist") => continue,
            // A corrupt state.json: say so and list the others, as runc does.
            Err(e) => {
                logging::warn(&format!("unable to load container {id}: {e}"));
                continue;
            }
        };
        // /etc/passwd is read once per owner, not once per container (and not for -q).
        let owner = match quiet {
            true => String::new(),
            false => fs::metadata(&dir.dir)
                .ok()
                .map(|m| std::os::unix::fs::MetadataExt::uid(&m))
                .and_then(|uid| {
                    if let Some((_, n)) = names.iter().find(|(u, _)| *u == uid) {
                        return n.clone();
                    }
                    let n = state::user_name(uid);
                    names.push((uid, n.clone()));
                    n
                })
                .unwrap_or_default(),
        };
        rows.push((st, status, owner));
    }
    if quiet {
        let ids: String = rows
            .iter()
            .map(|(st, _, _)| format!("{}\n", st.id))
            .collect();
        print!("{ids}");
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
    fn detached_tty_needs_a_console_socket() {
        let sock = Path::new("/run/sock");
        assert!(check_detached_tty(true, None, || true).is_err());
        assert!(check_detached_tty(true, Some(sock), || true).is_ok());
        assert!(check_detached_tty(false, None, || true).is_ok());
        // The config is not looked at when it cannot matter.
        assert!(check_detached_tty(false, None, || unreachable!()).is_ok());
        assert!(check_detached_tty(true, Some(sock), || unreachable!()).is_ok());
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
