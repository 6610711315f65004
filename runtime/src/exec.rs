//! `hull exec`: a new process inside a running container (runc's semantics and flags).
//!
//! A short-lived helper joins all the container's namespaces at once with setns(2) on a
//! pidfd of the container's init (so they are the init's namespaces, not whatever a path
//! points at now), then clones the new process with CLONE_PARENT so `hull exec` can wait
//! for it. The process is placed in the container's cgroup, gets the container's rlimits,
//! capabilities, no_new_privs and seccomp filter, and is non-dumpable until its `execve`
//! (so a container process cannot reach the hull binary through /proc/<pid>/exe:
//! CVE-2019-5736). The sync channel is close-on-exec: EOF means the program is running.

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use nix::fcntl::OFlag;
use nix::sys::signal::Signal;
use nix::sys::wait::waitpid;
use nix::unistd::Pid;
use oci_spec::runtime::{Capability, LinuxCapabilities, LinuxNamespaceType as T, Process, Spec};

use crate::channel::{self, Msg};
use crate::container::open_container;
use crate::error::{Context, Error, Result};
use crate::options::{ExecOptions, RuntimeOptions};
use crate::process::{self, CapSets};
use crate::rootfs::open_in_root;
use crate::state::{self, Status};
use crate::{cgroups, sys, tty};

/// `hull exec`.
pub fn exec(g: &RuntimeOptions, o: &ExecOptions) -> Result<i32> {
    if o.apparmor.as_deref().is_some_and(|a| !a.is_empty()) && !crate::lsm::apparmor_enabled() {
        return Err(Error::container(
            "--apparmor: AppArmor is not enabled on this host",
        ));
    }
    if o.process_label.as_deref().is_some_and(|l| !l.is_empty()) && !crate::lsm::selinux_enabled() {
        return Err(Error::container(
            "--process-label: SELinux is not enabled on this host",
        ));
    }
    // First, before hull opens anything: each fd to pass must be the caller's, or a gap
    // would be filled by one of hull's own (its /proc, the init's pidfd, the log file).
    for fd in 3..3i32.saturating_add(o.preserve_fds.min(i32::MAX as u32) as i32) {
        if !sys::fd_is_open(fd) || crate::logging::file_fd() == Some(fd) {
            return Err(Error::container(format!(
                "--preserve-fds {}: fd {fd} is not open",
                o.preserve_fds
            )));
        }
    }
    let (dir, st, status) = open_container(g, &o.id)?;
    match status {
        Status::Stopped => return Err(Error::container("cannot exec in a stopped container")),
        Status::Paused if !o.ignore_paused => {
            return Err(Error::container(
                "cannot exec in a paused container (use --ignore-paused to override)",
            ))
        }
        _ => {}
    }
    let config = dir.config()?;
    let p = build_process(o, config)?;
    crate::lsm::check_process(&p)?;
    if p.terminal().unwrap_or(false) && o.detach && o.console_socket.is_none() {
        return Err(Error::container(
            "cannot allocate tty if hull will detach without setting console socket",
        ));
    }
    let caps = CapSets::new(p.capabilities().as_ref())?;
    let linux = config.linux().clone().unwrap_or_default();
    let seccomp = linux
        .seccomp()
        .as_ref()
        .map(crate::seccomp::compile)
        .transpose()?;
    let types: Vec<T> = linux
        .namespaces()
        .iter()
        .flatten()
        .map(|n| n.typ())
        .collect();
    let flags = types
        .iter()
        .fold(0u64, |f, t| f | crate::namespaces::flag(*t).bits() as u64);
    let userns = types.contains(&T::User);
    let cg = st.cgroup.as_ref().map(cgroups::load_manager).transpose()?;

    let pidfd = sys::pidfd_open(st.pid).map_err(|_| Error::container("container not running"))?;
    let pidfd_sock = tty::pidfd_socket(o.pidfd_socket.as_deref())?;
    if !state::process_alive(st.pid, st.pid_start) {
        return Err(Error::container("container not running"));
    }
    let procfs = sys::openat2(
        nix::fcntl::AT_FDCWD,
        "/proc",
        (OFlag::O_PATH | OFlag::O_DIRECTORY).bits(),
        0,
        sys::RESOLVE_NO_MAGICLINKS,
    )
    .ctx(|| "open /proc")?;
    // Without a mount namespace there is none to join: the init chrooted into the rootfs
    // (docs/rootfs.md), and the new process enters the same root, held here from the host.
    let init_root = match types.contains(&T::Mount) {
        true => None,
        false => Some(
            sys::openat2(
                procfs.as_fd(),
                &format!("{}/root", st.pid),
                (OFlag::O_PATH | OFlag::O_DIRECTORY).bits(),
                0,
                0,
            )
            .ctx(|| format!("open /proc/{}/root", st.pid))?,
        ),
    };
    let (console, relay_end) = match p.terminal().unwrap_or(false) {
        true => {
            let (c, r) = tty::console(o.console_socket.as_deref())?;
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
    let (parent_chan, child_chan) = channel::pair()?;
    // The state lock is not held while the process runs: exec can last for days.
    let close_first = [parent_chan.raw_fd()];
    let (no_new_keyring, keyring) = (st.no_new_keyring, format!("_ses.{}", st.id));
    drop(dir);

    let affinity = p.exec_cpu_affinity().clone();
    let personality = linux.personality().clone();
    let setup = |chan: &channel::Channel| -> Result<(process::Launch, crate::fds::Passed)> {
        for fd in close_first {
            let _ = nix::unistd::close(fd);
        }
        // The caller's fds: the host's closed now, the container's held until execve.
        let passed = crate::fds::take(o.preserve_fds)?;
        // A session of its own, as runc's exec'd processes have.
        nix::unistd::setsid().ctx(|| "setsid")?;
        sys::prctl(libc::PR_SET_DUMPABLE, 0).ctx(|| "prctl(PR_SET_DUMPABLE)")?;
        sys::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as u64)
            .ctx(|| "prctl(PR_SET_PDEATHSIG)")?;
        if userns {
            // setns keeps our host ids, unmapped in the container's namespace: become its
            // root (as runc does) so what is made before the user switch (the pty) has an
            // owner the container knows, and can be given to the process's user.
            let root = (nix::unistd::Gid::from_raw(0), nix::unistd::Uid::from_raw(0));
            nix::unistd::setresgid(root.0, root.0, root.0)
                .ctx(|| "setresgid(0) in the container's user namespace")?;
            nix::unistd::setresuid(root.1, root.1, root.1)
                .ctx(|| "setresuid(0) in the container's user namespace")?;
        }
        chan.expect(&Msg::Continue)?;
        // In the container's cgroup now. `execCPUAffinity.final`, else (no `initial`
        // either) every CPU the cpuset allows, not the affinity of whoever ran hull; with
        // only `initial`, the kernel's choice on entering the cgroup stands (runtime-spec).
        let fin = affinity
            .as_ref()
            .and_then(|a| a.cpu_affinity_final().clone());
        match (&fin, affinity.as_ref().and_then(|a| a.initial().clone())) {
            (Some(f), _) => crate::affinity::set("process.execCPUAffinity.final", f)?,
            (None, None) => crate::affinity::reset()?,
            (None, Some(_)) => {}
        }
        if let Some(pers) = &personality {
            process::set_personality(pers)?;
        }
        // The container's session keyring, as its init has, never the caller's (which holds
        // the host user's keys).
        if !no_new_keyring {
            match sys::join_session_keyring(&keyring) {
                Ok(()) => {}
                Err(e) if matches!(e.raw_os_error(), Some(libc::ENOSYS) | Some(libc::EPERM)) => {}
                Err(e) => return Err(e).ctx(|| format!("join session keyring {keyring}")),
            }
        }
        if let Some(r) = &init_root {
            nix::unistd::fchdir(r.as_fd()).ctx(|| "chdir to the container's root")?;
            nix::unistd::chroot(".").ctx(|| "chroot into the container's root")?;
        }
        let root = sys::openat2(
            nix::fcntl::AT_FDCWD,
            "/",
            (OFlag::O_PATH | OFlag::O_DIRECTORY).bits(),
            0,
            0,
        )
        .ctx(|| "open /")?;
        if let Some(c) = &console {
            tty::setup(root.as_fd(), c, console_size, false)?;
        }
        let cwd = open_in_root(root.as_fd(), p.cwd(), OFlag::O_PATH | OFlag::O_DIRECTORY)
            .ctx(|| format!("process.cwd {}", p.cwd().display()))?;
        let launch = process::prepare(&p, &caps, userns, cwd, &[], seccomp.as_ref(), chan)?;
        sys::prctl(libc::PR_SET_PDEATHSIG, 0).ctx(|| "prctl(PR_SET_PDEATHSIG, 0)")?;
        Ok((launch, passed))
    };

    // v1: the helper moves itself into the container's cgroups (and is cloned into a hybrid
    // host's unified one) before joining the namespaces; the process inherits them. This
    // skips the grace-period wait of a placement from outside (placement.rs).
    // (`--cgroup`: a sub-cgroup the driver resolves; placed from outside.)
    let initial = affinity.as_ref().and_then(|a| a.initial().as_deref());
    let self_join = match &cg {
        Some(cg) if o.cgroup.is_empty() => crate::placement::SelfJoin::prepare(cg.as_ref())?,
        _ => None,
    };
    let oom = p.oom_score_adj().map(|a| a.to_string());
    let pid = match sys::clone3(&sys::CloneArgs {
        flags: 0,
        cgroup: self_join.as_ref().and_then(|j| j.clone_into()),
    })
    .ctx(|| "fork exec helper")?
    {
        None => {
            // process.oomScoreAdj: the helper's own, inherited by the process, written as
            // runc's nsexec does, before anything else: while still dumpable (a user can
            // open only a dumpable process's /proc files, its own included) and in the
            // host's user namespace (lowering the score needs CAP_SYS_RESOURCE there).
            let r = oom
                .map_or(Ok(()), |adj| {
                    crate::init::write_proc(procfs.as_fd(), "self/oom_score_adj", &adj)
                        .map_err(|e| Error::config("process.oomScoreAdj", e.to_string()))
                })
                // Non-dumpable *before* the clone, so the exec'd process is never visible
                // with a readable /proc/<pid>/fd (host procfs) or exe, not even for an
                // instant.
                .and_then(|_| sys::prctl(libc::PR_SET_DUMPABLE, 0).ctx(|| "prctl(PR_SET_DUMPABLE)"))
                .and_then(|_| match initial {
                    // Before the process enters the cgroup, as the spec asks.
                    Some(i) => crate::affinity::set("process.execCPUAffinity.initial", i),
                    None => Ok(()),
                })
                .and_then(|_| self_join.as_ref().map_or(Ok(()), |j| j.join()))
                .and_then(|_| {
                    sys::setns_pidfd(pidfd.as_fd(), flags)
                        .ctx(|| "join the container's namespaces (setns)")
                })
                .and_then(|_| {
                    sys::clone3(&sys::CloneArgs {
                        flags: libc::CLONE_PARENT as u64,
                        cgroup: None,
                    })
                    .ctx(|| "clone exec process")
                });
            match r {
                Ok(None) => {
                    if let Some(j) = &self_join {
                        j.close_in_child();
                    }
                    let err = match setup(&child_chan) {
                        Ok((l, mut passed)) => process::launch(&l, &mut passed),
                        Err(e) => e,
                    };
                    let _ = child_chan.send(&Msg::Error(err.to_string()));
                    sys::exit_now(1)
                }
                Ok(Some(pid)) => child_chan.report_helper(Ok(pid)),
                Err(e) => child_chan.report_helper(Err(e)),
            }
        }
        Some(helper) => parent_chan.helper_pid(helper, "exec helper")?,
    };
    drop(child_chan);
    let fail = |e: Error| {
        let _ = nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGKILL);
        let _ = waitpid(Pid::from_raw(pid), None);
        e
    };
    if let (Some(cg), None) = (&cg, &self_join) {
        match o.cgroup.is_empty() {
            true => cg.add_process(pid),
            false => cg.add_process_sub(pid, &o.cgroup),
        }
        .map_err(|e| fail(e.into()))?;
    }
    // Before the process may run (runc's exec makes hull no subreaper).
    let sfd = tty::relay_signals(false, !o.detach).map_err(fail)?;
    parent_chan.send(&Msg::Continue).map_err(fail)?;
    let listener = seccomp.as_ref().and_then(|s| s.listener().cloned());
    loop {
        match parent_chan.recv_fd().map_err(fail)? {
            None => break,
            Some((Msg::SeccompListener, fd)) => {
                let cs = match status {
                    Status::Created => oci_spec::runtime::ContainerState::Created,
                    _ => oci_spec::runtime::ContainerState::Running,
                };
                let s = crate::seccomp_notify::state(
                    &st.id,
                    cs,
                    st.pid,
                    &st.bundle,
                    st.annotations.clone(),
                );
                crate::seccomp_notify::deliver(listener.as_ref(), fd, pid, s).map_err(fail)?;
            }
            Some((Msg::Error(e), _)) => return Err(fail(Error::Init(e))),
            Some((m, _)) => return Err(fail(Error::container(format!("exec: unexpected {m:?}")))),
        }
    }
    // A failure from here on must not leave the process running unseen (runc kills it too).
    let master: Option<OwnedFd> = relay_end
        .map(|r| tty::recv_fd(r.as_fd()))
        .transpose()
        .map_err(fail)?;
    tty::send_pidfd(pidfd_sock.as_ref(), pid).map_err(fail)?;
    if let Some(pf) = &o.pid_file {
        state::write_atomic(pf, pid.to_string().as_bytes()).map_err(|e| {
            fail(Error::container(format!(
                "--pid-file {}: {e}",
                pf.display()
            )))
        })?;
    }
    let Some(sfd) = sfd else { return Ok(0) };
    tty::supervise(pid, master, &sfd)
}

/// The process to run: `--process` JSON as given, or the container's process with the
/// command line and flags applied on top (runc's rules: `--env` adds to and overrides
/// the container's environment; `--cap` adds to the bounding, effective and permitted
/// sets; `--additional-gids` adds to the groups).
fn build_process(o: &ExecOptions, config: &Spec) -> Result<Process> {
    if let Some(path) = &o.process {
        let data = std::fs::read(path).ctx(|| format!("read --process {}", path.display()))?;
        let p: Process = crate::compat::process_from_slice(&data).map_err(|e| {
            Error::config(
                path.display().to_string(),
                format!("invalid process JSON: {e}"),
            )
        })?;
        if p.args().as_ref().is_none_or(|a| a.is_empty()) {
            return Err(Error::config("process.args", "exec needs a command"));
        }
        if !p.cwd().is_absolute() {
            return Err(Error::config(
                "process.cwd",
                format!("{}: must be an absolute path", p.cwd().display()),
            ));
        }
        return Ok(p);
    }
    let mut p = config
        .process()
        .clone()
        .ok_or_else(|| Error::config("process", "missing in the container's config"))?;
    if o.command.is_empty() {
        return Err(Error::container(
            "exec needs a command (hull exec ID COMMAND [ARGS...])",
        ));
    }
    p.set_args(Some(o.command.clone()));
    p.set_terminal(Some(o.tty));
    let mut env = p.env().clone().unwrap_or_default();
    for kv in &o.env {
        let key = kv.split('=').next().unwrap_or(kv);
        env.retain(|e| e.split('=').next() != Some(key));
        env.push(kv.clone());
    }
    p.set_env(Some(env));
    if let Some(cwd) = &o.cwd {
        if !Path::new(cwd).is_absolute() {
            return Err(Error::container(format!(
                "--cwd {cwd}: must be an absolute path"
            )));
        }
        p.set_cwd(cwd.into());
    }
    let mut user = p.user().clone();
    if let Some(u) = &o.user {
        let (uid, gid) = u
            .split_once(':')
            .map_or((u.as_str(), None), |(a, b)| (a, Some(b)));
        user.set_uid(
            uid.parse()
                .map_err(|_| Error::container(format!("--user {u}: expected UID[:GID]")))?,
        );
        if let Some(g) = gid {
            user.set_gid(
                g.parse()
                    .map_err(|_| Error::container(format!("--user {u}: expected UID[:GID]")))?,
            );
        }
    }
    if !o.additional_gids.is_empty() {
        // Added to the container's groups, as runc does.
        let mut gids = user.additional_gids().clone().unwrap_or_default();
        for g in &o.additional_gids {
            if !gids.contains(g) {
                gids.push(*g);
            }
        }
        user.set_additional_gids(Some(gids));
    }
    p.set_user(user);
    if o.no_new_privs {
        p.set_no_new_privileges(Some(true));
    }
    if !o.cap.is_empty() {
        let mut caps = p.capabilities().clone().unwrap_or_default();
        let add: Vec<Capability> = o
            .cap
            .iter()
            .map(|c| {
                serde_json::from_value(serde_json::Value::from(c.as_str()))
                    .map_err(|_| Error::container(format!("--cap {c}: unknown capability")))
            })
            .collect::<Result<_>>()?;
        let extend = |s: &Option<oci_spec::runtime::Capabilities>| {
            let mut s = s.clone().unwrap_or_default();
            s.extend(add.iter().copied());
            Some(s)
        };
        // Bounding, effective and permitted, as runc: adding to inheritable would let the
        // capability survive an execve into a non-root program (CVE-2022-29162). Ambient
        // too when the process has an inheritable set, as runc: it takes effect where the
        // capability is inheritable (CapSets skips it, with a warning, where it is not).
        let ambient = match caps.inheritable() {
            Some(_) => extend(caps.ambient()),
            None => caps.ambient().clone(),
        };
        caps = LinuxCapabilities::default()
            .set_bounding(extend(caps.bounding()))
            .clone()
            .set_effective(extend(caps.effective()))
            .clone()
            .set_permitted(extend(caps.permitted()))
            .clone()
            .set_inheritable(caps.inheritable().clone())
            .clone()
            .set_ambient(ambient)
            .clone();
        p.set_capabilities(Some(caps));
    }
    Ok(p)
}
