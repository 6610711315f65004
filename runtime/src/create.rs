//! `create` (runtime.md "create"): validate the bundle, make the state dir and cgroup, clone
//! the container's init and drive it through the sync protocol of docs/handoff.md until it
//! waits for `start`. Everything made on the way is undone if any step fails
//! ([`CreateGuard`]).

use std::fs::{self, File};
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::path::Path;

use nix::sys::signal::Signal;
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::Pid;
use oci_spec::runtime::{LinuxNamespaceType as T, Spec};

use crate::cgroups::{self, CgroupManager};
use crate::channel::{self, Msg};
use crate::error::{Context, Error, Result};
use crate::logging::{self, Phases};
use crate::options::{CreateOptions, RuntimeOptions};
use crate::state::{self, ContainerDir, Persisted};
use crate::{hooks, init, process, spec, sys};

/// Undoes a half-made container when `create` fails: kills and reaps the init, removes
/// the cgroup, then the state directory. Disarmed once the container exists.
pub(crate) struct CreateGuard {
    pub(crate) dir: Option<ContainerDir>,
    pub(crate) cgroup: Option<Box<dyn CgroupManager>>,
    pub(crate) pid: Option<i32>,
}

impl CreateGuard {
    /// Saves the intent (or, at the end, the state) into the state dir.
    pub(crate) fn save(&self, st: &Persisted) -> Result<()> {
        self.dir
            .as_ref()
            .ok_or_else(|| Error::container("state dir missing"))?
            .save(st)
    }

    /// The cgroup made in phase `cgroup` (none for a rootless container that could not
    /// have one: docs/rootless.md).
    pub(crate) fn cgroup(&self) -> Option<&dyn CgroupManager> {
        self.cgroup.as_deref()
    }
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

pub(crate) fn state_for_hooks(
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
pub fn create(g: &RuntimeOptions, o: &CreateOptions) -> Result<i32> {
    create_inner(g, o, false).map(|_| 0)
}

/// Creates the container; returns the init's pid and, when `relay` allows a terminal
/// without a console socket (foreground `run`), the pty master to relay. One function per
/// phase, named as `--debug` names them; [`CreateGuard`] undoes what a failed phase leaves.
pub(crate) fn create_inner(
    g: &RuntimeOptions,
    o: &CreateOptions,
    relay: bool,
) -> Result<(i32, Option<OwnedFd>)> {
    let mut ph = Phases::start();
    let Parsed {
        bundle,
        init,
        relay_end,
    } = parse(o, relay)?;
    ph.end("parse");
    let mut guard = CreateGuard {
        dir: None,
        cgroup: None,
        pid: None,
    };
    let pidfd_sock = crate::tty::pidfd_socket(o.pidfd_socket.as_deref())?;
    let mut intent = intent(g, o, &bundle)?;
    // The intent names the cgroup's directories from its first save: one write less.
    let cg = plan_cgroup(g, &o.id, &bundle)?;
    intent.cgroup = Some(cg.state().planned());
    let fifo = make_state_dir(g, &o.id, &bundle, &intent, &mut guard)?;
    ph.end("state dir");
    make_cgroup(g, cg, &bundle, &mut intent, &mut guard)?;
    ph.end("cgroup");
    let placement = Placement::prepare(guard.cgroup(), &init)?;
    let (pid, chan) = clone_init(o, &bundle, init, fifo, &guard, &placement)?;
    guard.pid = Some(pid);
    record_init(pid, &mut intent, &guard)?;
    ph.end("clone");
    attach(pid, &bundle, &mut guard, &placement)?;
    if let Some(cg) = guard.cgroup().filter(|_| intent.systemd_cgroup) {
        // The unit's cgroup is known now, and the directories made for it on v1.
        intent.cgroup = Some(cg.state());
        guard.save(&intent)?;
    }
    crate::intelrdt::join(&o.id, &bundle.spec, pid)?;
    let mut rdt = crate::intelrdt::JoinedGuard {
        id: &o.id,
        spec: &bundle.spec,
        armed: true,
    };
    crate::netdev::move_in(&bundle.spec, pid)?;
    let mut moved = crate::netdev::MovedGuard {
        spec: &bundle.spec,
        pid,
        armed: true,
    };
    ph.end("cgroup attach, id maps");
    drive_init(&o.id, &bundle, pid, &chan, &placement, &mut ph)
        .map_err(|e| explain_oom(e, &bundle.spec, guard.cgroup()))?;
    ph.end("init (Ready)");
    let master = relay_end
        .map(|r| crate::tty::recv_fd(r.as_fd()))
        .transpose()?;
    crate::tty::send_pidfd(pidfd_sock.as_ref(), pid)?;
    save_state(o, intent, &chan, &guard)?;
    // Success: the container exists now; nothing to undo.
    moved.armed = false;
    rdt.armed = false;
    guard.pid = None;
    guard.cgroup = None;
    guard.dir = None;
    ph.end("save state");
    Ok((pid, master))
}

/// The state.json `create` starts from: its intent ([`Persisted::creating`]), completed
/// as it goes and saved before each thing it makes, so that a `create` killed at any point
/// leaves a container that `list` shows and `delete --force` removes entirely.
pub(crate) fn intent(
    g: &RuntimeOptions,
    o: &CreateOptions,
    bundle: &spec::Bundle,
) -> Result<Persisted> {
    Ok(Persisted {
        id: o.id.clone(),
        pid: 0,
        pid_start: 0,
        bundle: bundle.dir.clone(),
        rootfs: bundle.rootfs.clone(),
        created: logging::rfc3339_now(),
        owner: String::new(),
        annotations: bundle.spec.annotations().clone().unwrap_or_default(),
        cgroup: None,
        systemd_cgroup: g.systemd_cgroup,
        no_new_keyring: o.no_new_keyring,
        creating: Some(state::Creator::me()?),
    })
}

/// Records the init (pid, start time) and its cgroup (with the systemd unit `attach` will
/// start) in the intent, before the init is let go or placed.
fn record_init(pid: i32, intent: &mut Persisted, guard: &CreateGuard) -> Result<()> {
    let (_, pid_start) = state::proc_stat(pid)
        .ok_or_else(|| Error::container(format!("container init {pid} vanished")))?;
    intent.pid = pid;
    intent.pid_start = pid_start;
    intent.cgroup = guard.cgroup().map(|c| c.state());
    guard.save(intent)
}

/// What the `parse` phase makes of the bundle and the options before anything exists on
/// the host: the validated spec, and what the init will need of it.
struct Parsed {
    bundle: spec::Bundle,
    init: InitParts,
    /// Our end of the terminal relay (foreground `run` without a console socket).
    relay_end: Option<OwnedFd>,
}

/// The parts of [`init::InitArgs`] that are computed up front and moved into the init.
struct InitParts {
    console: Option<crate::tty::Console>,
    console_size: Option<(u16, u16)>,
    caps: process::CapSets,
    seccomp: Option<crate::seccomp::Program>,
    /// `process.noNewPrivileges`: decides when the filter is loaded.
    no_new_privs: bool,
    preserve_fds: u32,
    extra_env: Vec<String>,
}

/// Phase `parse`: reads and validates the bundle, compiles seccomp, checks the fds to pass.
fn parse(o: &CreateOptions, relay: bool) -> Result<Parsed> {
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
    let seccomp = bundle
        .spec
        .linux()
        .as_ref()
        .and_then(|l| l.seccomp().as_ref())
        .map(crate::seccomp::compile)
        .transpose()?;
    let (preserve_fds, extra_env) = crate::fds::passed(o.preserve_fds)?;
    Ok(Parsed {
        init: InitParts {
            console,
            console_size,
            caps,
            seccomp,
            no_new_privs: p.no_new_privileges().unwrap_or(false),
            preserve_fds,
            extra_env,
        },
        bundle,
        relay_end,
    })
}

/// Phase `state dir`: claims the id (the directory holds the intent and the config from
/// its first instant) and makes the exec fifo the init will wait on.
fn make_state_dir(
    g: &RuntimeOptions,
    id: &str,
    bundle: &spec::Bundle,
    intent: &Persisted,
    guard: &mut CreateGuard,
) -> Result<OwnedFd> {
    let dir = ContainerDir::create(&g.root, id, intent, &bundle.raw)?;
    let fifo_path = dir.dir.join(state::EXEC_FIFO);
    guard.dir = Some(dir);
    nix::unistd::mkfifo(&fifo_path, nix::sys::stat::Mode::from_bits_truncate(0o622))
        .ctx(|| format!("mkfifo {}", fifo_path.display()))?;
    // O_RDWR never blocks on a fifo; the init's later read blocks until `start` writes.
    Ok(File::options()
        .read(true)
        .write(true)
        .open(&fifo_path)
        .ctx(|| format!("open {}", fifo_path.display()))?
        .into())
}

/// The container's cgroup manager, before anything is made: the intent saved with the
/// state dir records the directories [`make_cgroup`] is about to make. As a user
/// (`--rootless`), the systemd driver asks the user's own manager.
pub(crate) fn plan_cgroup(
    g: &RuntimeOptions,
    id: &str,
    bundle: &spec::Bundle,
) -> Result<Box<dyn CgroupManager>> {
    let linux = bundle.spec.linux().as_ref();
    let bus = match g.rootless {
        true => cgroups::systemd::Bus::User,
        false => cgroups::systemd::Bus::System,
    };
    Ok(cgroups::new_manager(&cgroups::NewCgroup {
        cgroups_path: linux.and_then(|l| l.cgroups_path().as_deref()),
        id,
        systemd: g.systemd_cgroup.then_some(bus),
        annotations: bundle.spec.annotations().as_ref(),
        rootless: g.rootless,
    })?)
}

/// Phase `cgroup`: makes the container's cgroup (planned in the intent already) and
/// applies `linux.resources`. Rootless (docs/rootless.md): with cgroupfs, a cgroup the user
/// may not make is skipped (a debug line) when the config asks for no limits (the container
/// then runs in hull's own cgroup, and the intent names none), and is an error naming the
/// first limit otherwise, as runc's "rootless needs no limits" rule.
pub(crate) fn make_cgroup(
    g: &RuntimeOptions,
    mut cg: Box<dyn CgroupManager>,
    bundle: &spec::Bundle,
    intent: &mut Persisted,
    guard: &mut CreateGuard,
) -> Result<()> {
    let resources = bundle
        .spec
        .linux()
        .as_ref()
        .and_then(|l| l.resources().as_ref());
    let created = cg.create(resources);
    let denied = |e: &cgroups::Error| {
        matches!(e, cgroups::Error::Sys { source, .. }
            if matches!(source.raw_os_error(), Some(libc::EACCES | libc::EPERM | libc::EROFS)))
    };
    match created {
        Err(e) if g.rootless && !g.systemd_cgroup && denied(&e) => {
            if let Err(d) = cg.destroy() {
                logging::warn(&format!("cleanup: {d}"));
            }
            // Nothing of it is left for a `delete` of a killed create to remove.
            intent.cgroup = None;
            guard.save(intent)?;
            let r = resources.cloned().unwrap_or_default();
            if let Some(field) = cgroups::needs_controllers(&r) {
                return Err(Error::config(
                    field,
                    format!(
                        "a user cannot make this cgroup ({e}): limits need a delegated \
                         cgroupsPath or --systemd-cgroup"
                    ),
                ));
            }
            // Silent but for --debug, as runc: a user's container usually has no cgroup.
            log::debug!("rootless: running without a cgroup of its own ({e})");
            Ok(())
        }
        created => {
            // Whatever was made is the guard's to remove, even when applying resources failed.
            guard.cgroup = Some(cg);
            Ok(created?)
        }
    }
}

/// How the init enters its cgroup, and what the parent must remember of the seccomp
/// profile once the compiled program has moved into the init.
struct Placement {
    /// v1: the init moves itself in (and is cloned into a hybrid host's unified cgroup),
    /// which skips the kernel's grace-period wait of a placement from outside (placement.rs).
    self_join: Option<crate::placement::SelfJoin>,
    /// The directory fd for `clone3(CLONE_INTO_CGROUP)`, if any.
    cg_fd: Option<RawFd>,
    listener: Option<crate::seccomp::Listener>,
    /// Added to the error when the init dies during setup under a filter loaded early.
    seccomp_hint: &'static str,
}

impl Placement {
    fn prepare(cg: Option<&dyn CgroupManager>, init: &InitParts) -> Result<Placement> {
        let self_join = match cg {
            Some(cg) => crate::placement::SelfJoin::prepare(cg)?,
            None => None,
        };
        let cg_fd = match &self_join {
            Some(j) => j.clone_into(),
            None => cg.and_then(|c| c.clone_into_fd()).map(|f| f.as_raw_fd()),
        };
        // A filter loaded during setup can block the init's own reporting (sendmsg, write).
        let seccomp_hint = match &init.seccomp {
            Some(s) if s.stage(init.no_new_privs) != crate::seccomp::Stage::BeforeExec => {
                "; linux.seccomp is loaded during setup here: does the profile allow what the \
                 init still does (sendmsg, read, write, setresuid, capset, execve)?"
            }
            _ => "",
        };
        Ok(Placement {
            self_join,
            cg_fd,
            listener: init.seccomp.as_ref().and_then(|s| s.listener().cloned()),
            seccomp_hint,
        })
    }
}

/// Phase `clone`: clones the init into its new namespaces (through a helper that joins
/// the ones given by path first) and returns its pid and the parent's end of the channel.
fn clone_init(
    o: &CreateOptions,
    bundle: &spec::Bundle,
    init: InitParts,
    fifo: OwnedFd,
    guard: &CreateGuard,
    placement: &Placement,
) -> Result<(i32, channel::Channel)> {
    let ns = &bundle.namespaces;
    let joins = ns.open_joins()?;
    let (parent_chan, child_chan) = channel::pair()?;
    let flags = ns.clone_flags().bits() as u64;
    let cg_fd = placement.cg_fd;
    let close_first = vec![
        guard.dir.as_ref().map_or(-1, |d| d.lock_fd()),
        parent_chan.raw_fd(),
    ];
    // Decided here: in the child, the parent may already have mapped its uid to 0.
    let host_binds = crate::rootless::is_root() && !crate::rootless::in_user_namespace();
    // A user's exec into the created container needs it (init.rs, wait_for_start); runc's
    // init, too, is non-dumpable only when it joins existing namespaces.
    let dumpable_while_created = !crate::rootless::is_root() && joins.is_empty();
    let init_args = |chan| init::InitArgs {
        bundle,
        id: &o.id,
        chan,
        fifo,
        no_pivot: o.no_pivot,
        no_new_keyring: o.no_new_keyring,
        preserve_fds: init.preserve_fds,
        extra_env: init.extra_env,
        caps: init.caps,
        seccomp: init.seccomp,
        close_first,
        console: init.console,
        console_size: init.console_size,
        cgroup_join: placement.self_join.as_ref(),
        host_binds,
        dumpable_while_created,
    };

    // Inherited by the clone: the init is non-dumpable from its first instant, so a container
    // sharing its pid namespace never sees its /proc/<pid>/fd (host fds) or exe (hull).
    // As a user, the init stays dumpable until the parent has written its id maps (the
    // kernel gives a non-dumpable process's /proc files to root, which a user cannot
    // write); the init drops it itself once they are written, as runc's nsexec does.
    let user_maps =
        !crate::rootless::is_root() && ns.creates(oci_spec::runtime::LinuxNamespaceType::User);
    if !user_maps {
        sys::prctl(libc::PR_SET_DUMPABLE, 0).ctx(|| "prctl(PR_SET_DUMPABLE)")?;
    }
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
                    Ok(Some(pid)) => child_chan.report_helper(Ok(pid)),
                    Err(e) => child_chan.report_helper(Err(e)),
                }
            }
            Some(helper) => parent_chan.helper_pid(helper, "namespace helper")?,
        }
    };
    sys::prctl(libc::PR_SET_DUMPABLE, 0).ctx(|| "prctl(PR_SET_DUMPABLE)")?;
    Ok((pid, parent_chan))
}

/// Phase `cgroup attach, id maps`: what the parent does for the init from the host side.
fn attach(
    pid: i32,
    bundle: &spec::Bundle,
    guard: &mut CreateGuard,
    placement: &Placement,
) -> Result<()> {
    if bundle.namespaces.creates(T::User) {
        write_id_maps(pid, &bundle.spec.linux().clone().unwrap_or_default())?;
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
    if placement.self_join.is_none() && placement.cg_fd.is_none() {
        if let Some(cg) = guard.cgroup.as_deref_mut() {
            cg.attach(pid)?;
        }
    }
    Ok(())
}

/// Phase `init (Ready)`: lets the init go on and serves its requests (hooks, the seccomp
/// listener, its phase timings) until it reports Ready or fails (docs/handoff.md).
fn drive_init(
    id: &str,
    bundle: &spec::Bundle,
    pid: i32,
    chan: &channel::Channel,
    placement: &Placement,
    ph: &mut Phases,
) -> Result<()> {
    chan.send(&Msg::Continue)?;
    let hooks = bundle.spec.hooks().clone().unwrap_or_default();
    loop {
        let (msg, fd) = match chan.recv_fd()? {
            Some((m, fd)) => (Some(m), fd),
            None => (None, None),
        };
        match msg {
            Some(Msg::Ready) => return Ok(()),
            Some(Msg::Phases(p)) => {
                ph.mark("init");
                ph.done
                    .extend(p.into_iter().map(|(n, us)| (format!("init: {n}"), us)));
                ph.log("");
                if logging::test_kill_at() == Some("init") {
                    logging::kill_self();
                }
            }
            Some(Msg::SeccompListener) => {
                let st = crate::seccomp_notify::state(
                    id,
                    oci_spec::runtime::ContainerState::Creating,
                    pid,
                    &bundle.dir,
                    bundle.spec.annotations().clone().unwrap_or_default(),
                );
                crate::seccomp_notify::deliver(placement.listener.as_ref(), fd, pid, st)?;
            }
            Some(Msg::BindSource { path, recursive }) => {
                match crate::binds::clone_source_for(pid, &path, recursive) {
                    Ok(tree) => chan.send_fd(&Msg::BindSource { path, recursive }, tree.as_fd())?,
                    Err(e) => chan.send(&Msg::Error(e.to_string()))?,
                }
            }
            Some(Msg::Idmap { mount }) => {
                let r = fd
                    .ok_or_else(|| Error::container("id-mapped mount: no fd"))
                    .and_then(|t| crate::idmap::apply(&bundle.spec, pid, mount, t.as_fd()));
                match r {
                    Ok(()) => chan.send(&Msg::Idmap { mount })?,
                    Err(e) => chan.send(&Msg::Error(e.to_string()))?,
                }
            }
            Some(Msg::RunHooks) => {
                let st = state_for_hooks(id, "creating", pid, &bundle.dir, &bundle.spec);
                hooks::run("prestart", hooks.prestart().as_ref(), &st)?;
                hooks::run("createRuntime", hooks.create_runtime().as_ref(), &st)?;
                chan.send(&Msg::HooksDone)?;
            }
            Some(Msg::Error(e)) => return Err(Error::Init(e)),
            Some(Msg::TestKill) => logging::kill_self(),
            Some(m) => return Err(Error::container(format!("sync channel: unexpected {m:?}"))),
            None => {
                return Err(Error::Init(format!(
                    "container init exited during setup ({}){}",
                    describe_exit(pid),
                    placement.seccomp_hint
                )))
            }
        }
    }
}

/// An init that the OOM killer took during setup (a memory limit below what the setup
/// needs) only shows as a closed channel or a SIGKILL: the cgroup's OOM-kill count names
/// the cause, and the field to change.
fn explain_oom(e: Error, spec: &Spec, cg: Option<&dyn CgroupManager>) -> Error {
    if cg.and_then(|c| c.oom_kills().ok()).unwrap_or(0) == 0 {
        return e;
    }
    let limit = spec
        .linux()
        .as_ref()
        .and_then(|l| l.resources().as_ref())
        .and_then(|r| r.memory().as_ref())
        .and_then(|m| m.limit());
    let limit = limit.map_or("the memory limit".to_string(), |l| format!("{l} bytes"));
    Error::config(
        "linux.resources.memory.limit",
        format!(
            "the container's init was killed by the OOM killer during setup: {limit} is \
             less than it needs ({e})"
        ),
    )
}

/// Phase `save state`: the finished state.json (no longer an intent), the pid file, then
/// the init is told to stop dying with us and we wait until it has (docs/handoff.md).
fn save_state(
    o: &CreateOptions,
    mut st: Persisted,
    chan: &channel::Channel,
    guard: &CreateGuard,
) -> Result<()> {
    st.created = logging::rfc3339_now();
    st.cgroup = guard.cgroup().map(|c| c.state());
    st.creating = None;
    guard.save(&st)?;
    chan.send(&Msg::Saved)?;
    chan.expect(&Msg::Detached)?;
    // Only now: a failed handshake above kills the init, and must not leave a pid file
    // naming it.
    if let Some(pf) = &o.pid_file {
        state::write_atomic(pf, st.pid.to_string().as_bytes())?;
    }
    Ok(())
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

/// Writes the new user namespace's id maps from the host side. As root, straight into
/// /proc/<pid>/{uid,gid}_map. As a user (rootless.md), the kernel lets one map only one's
/// own id, once, and a gid map only after setgroups is denied: a single such mapping is
/// written directly; anything else goes through the setuid helpers `newuidmap`/`newgidmap`,
/// which allow what /etc/subuid and /etc/subgid grant — and refuse the rest, named as
/// `linux.uidMappings`/`linux.gidMappings`.
fn write_id_maps(pid: i32, linux: &oci_spec::runtime::Linux) -> Result<()> {
    let root = crate::rootless::is_root();
    let own = [
        nix::unistd::geteuid().as_raw(),
        nix::unistd::getegid().as_raw(),
    ];
    for (i, (file, field, maps, helper)) in [
        (
            "uid_map",
            "linux.uidMappings",
            linux.uid_mappings(),
            "newuidmap",
        ),
        (
            "gid_map",
            "linux.gidMappings",
            linux.gid_mappings(),
            "newgidmap",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let maps = maps.as_deref().unwrap_or(&[]);
        let path = format!("/proc/{pid}/{file}");
        if root || crate::rootless::is_own_mapping(maps, own[i]) {
            if !root && file == "gid_map" {
                let sg = format!("/proc/{pid}/setgroups");
                fs::write(&sg, b"deny").ctx(|| format!("{field}: write deny to {sg}"))?;
            }
            let text: String = maps
                .iter()
                .map(|m| format!("{} {} {}\n", m.container_id(), m.host_id(), m.size()))
                .collect();
            fs::write(&path, text.as_bytes()).ctx(|| format!("{field}: write {path}"))?;
        } else {
            crate::rootless::map_with_helper(helper, field, pid, maps, own[i])?;
        }
    }
    Ok(())
}
