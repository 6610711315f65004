//! The container's init: everything between `clone3` and `execve`, in the container's new
//! namespaces. It is a fork of `hull create`, which itself runs from the sealed read-only
//! copy of hull (sealed.rs); the init is also non-dumpable until the final `execve`, so
//! /proc/<pid>/exe (CVE-2019-5736's vector) is out of the container's reach either way.
//!
//! The order follows runtime-spec runtime.md and runc; the sync points are in `channel.rs`.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use nix::fcntl::OFlag;
use oci_spec::runtime::{Linux, LinuxNamespaceType as T, Process, Spec};

use crate::channel::{Channel, Msg};
use crate::error::{Context, Error, Result};
use crate::logging::Phases;
use crate::process::CapSets;
use crate::rootfs::{self, Kind, Rootfs};
use crate::spec::Bundle;
use crate::{devices, hooks, process, sys};

/// Everything the init needs, prepared by the parent before the clone.
pub struct InitArgs<'a> {
    pub bundle: &'a Bundle,
    pub id: &'a str,
    pub chan: Channel,
    /// The exec fifo, opened O_RDWR by the parent: a blocking read waits for `start`.
    pub fifo: OwnedFd,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    /// Number of fds from 3 up that pass to the container (`--preserve-fds` + `LISTEN_FDS`).
    pub preserve_fds: u32,
    /// Extra environment (`LISTEN_FDS`, `LISTEN_PID`).
    pub extra_env: Vec<String>,
    pub caps: CapSets,
    pub seccomp: Option<crate::seccomp::Program>,
    /// Parent-only fds the init must close at once (the state-dir lock, the parent's end
    /// of the channel).
    pub close_first: Vec<i32>,
    /// Where to send the pty master when `process.terminal` is set.
    pub console: Option<crate::tty::Console>,
    /// `process.consoleSize` as (rows, cols).
    pub console_size: Option<(u16, u16)>,
    /// Set when the init puts itself into its (v1) cgroups (placement.rs).
    pub cgroup_join: Option<&'a crate::placement::SelfJoin>,
    /// hull runs as root: in a user namespace the parent clones bind sources (binds.rs).
    /// A user cannot enter the container's mount namespace from outside (setns needs
    /// CAP_SYS_ADMIN in its own namespace), so then the init binds them itself, as the
    /// user's mapped root.
    pub host_binds: bool,
    /// Dumpable while waiting for `start` (a user's container whose namespaces are all its
    /// own): [`wait_for_start`].
    pub dumpable_while_created: bool,
}

/// Runs the init; never returns. Errors go to the parent over the channel.
pub fn run(a: InitArgs<'_>) -> ! {
    for fd in &a.close_first {
        let _ = nix::unistd::close(*fd);
    }
    // The caller's fds: the host's closed now, the container's held until execve.
    let passed = crate::fds::take(a.preserve_fds);
    match passed.and_then(|passed| setup(&a).map(|r| (r, passed))) {
        Ok(((exec, phases), passed)) => {
            let err = finish(&a, exec, phases, passed);
            // After Ready nobody waits on the channel; stderr is the container's stderr, and
            // a `start` waiting on startContainer hooks reads the exec fifo.
            let _ = writeln!(std::io::stderr(), "hull: {err}");
            let _ = nix::unistd::write(&a.fifo, err.to_string().as_bytes());
            sys::exit_now(127)
        }
        Err(e) => {
            let _ = a.chan.send(&Msg::Error(e.to_string()));
            sys::exit_now(1)
        }
    }
}

fn spec_process(spec: &Spec) -> Result<&Process> {
    spec.process()
        .as_ref()
        .ok_or_else(|| Error::config("process", "missing"))
}

/// From clone to Ready: one function per phase, named as `--debug` reports them.
fn setup(a: &InitArgs<'_>) -> Result<(process::Launch, Phases)> {
    let mut ph = Phases::start();
    let spec = &a.bundle.spec;
    let p = spec_process(spec)?;
    let linux = spec.linux().clone().unwrap_or_default();
    enter(a, &mut ph)?;
    let (procfs, userns) = namespaces(a, &linux, &mut ph)?;
    let cwd = if a.bundle.namespaces.has(T::Mount) {
        own_mount_ns(a, &linux, p, userns, &mut ph)?
    } else {
        runtime_mount_ns(a, p, &mut ph)?
    };
    let launch = prepare_process(a, p, &linux, procfs, userns, cwd)?;
    mark(a, &mut ph, "process");
    Ok((launch, ph))
}

/// Ends init phase `name` ([`Phases::mark`]); with the test hook `HULL_TEST_KILL_AT` set to
/// `init: <name>` (logging.rs), has the parent (`create`) killed and waits for the
/// PR_SET_PDEATHSIG that follows, so `create` dies while the init is exactly here.
fn mark(a: &InitArgs<'_>, ph: &mut Phases, name: &str) {
    ph.mark(name);
    if crate::logging::test_kill_at().and_then(|k| k.strip_prefix("init: ")) == Some(name) {
        let _ = a.chan.send(&Msg::TestKill);
        // Until the channel closes (the parent is gone); the death signal ends us first.
        while let Ok(Some(_)) = a.chan.recv() {}
        sys::exit_now(1)
    }
}

/// Phases `cgroup join` and `wait for parent`: the init's first steps, before the parent
/// has written its id maps and placed it.
fn enter(a: &InitArgs<'_>, ph: &mut Phases) -> Result<()> {
    // A session of its own (runc's init does the same), never the caller's: also what
    // makes a pty its controlling terminal possible.
    nix::unistd::setsid().ctx(|| "setsid")?;
    // Die with the parent until the container is created, so a killed `create` leaves nothing.
    sys::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as u64).ctx(|| "prctl(PR_SET_PDEATHSIG)")?;
    // Into the cgroup first (while the parent writes id maps): before the cgroup namespace,
    // and before anything the container's limits should account for.
    if let Some(j) = a.cgroup_join {
        j.join()?;
        // The host's cgroup files are done with: not held until the container starts.
        j.close_in_child();
        mark(a, ph, "cgroup join");
    }
    a.chan.expect(&Msg::Continue)?;
    // Until execve the init holds host resources: keep /proc/self/* (exe, fds) out of reach
    // of anything in the container's pid namespace. (Born non-dumpable, except as a user
    // whose parent had to write the id maps until Continue: create.rs, clone_init.)
    sys::prctl(libc::PR_SET_DUMPABLE, 0).ctx(|| "prctl(PR_SET_DUMPABLE)")?;
    mark(a, ph, "wait for parent");
    // In its cgroup now: the affinity of whoever ran hull is not the container's.
    crate::affinity::reset()?;
    Ok(())
}

/// Phase `namespaces` (with the rootfs preparation that follows): the cgroup and time
/// namespaces, root of the user namespace. Returns the host's procfs, opened before any
/// mount can hide it, and whether the container has a user namespace.
fn namespaces(a: &InitArgs<'_>, linux: &Linux, ph: &mut Phases) -> Result<(OwnedFd, bool)> {
    let ns = &a.bundle.namespaces;
    if ns.creates(T::Cgroup) {
        nix::sched::unshare(crate::namespaces::flag(T::Cgroup))
            .ctx(|| "unshare cgroup namespace")?;
    }
    // In any user namespace but the host's, new or joined, mknod is refused and a fresh
    // sysfs may be too: devices are bound from the host and sysfs falls back to a bind.
    // The init becomes root of that namespace either way (runc's stage-2 setuid(0)): files
    // it creates must have a mapped owner.
    let userns = ns.has(T::User);
    if userns {
        let root = nix::unistd::Uid::from_raw(0);
        let rootg = nix::unistd::Gid::from_raw(0);
        nix::unistd::setresgid(rootg, rootg, rootg)
            .ctx(|| "setresgid(0) in the new user namespace (is container gid 0 mapped?)")?;
        nix::unistd::setresuid(root, root, root)
            .ctx(|| "setresuid(0) in the new user namespace (is container uid 0 mapped?)")?;
    }
    nix::sys::stat::umask(nix::sys::stat::Mode::empty());
    let procfs = open_host_procfs()?;
    if ns.creates(T::Time) {
        time_namespace(procfs.as_fd(), linux)?;
        // The offsets just moved our CLOCK_MONOTONIC: this phase's time is unknowable.
        ph.rebase();
    }
    // hull itself in a user namespace (podman's, rootlesskit's) is refused mknod and a
    // fresh sysfs just the same, whether or not the container has a namespace of its own.
    Ok((procfs, userns || crate::rootless::in_user_namespace()))
}

/// Phases `mounts` to `pivot` in the container's own mount namespace: the rootfs assembled
/// and pivoted into. Returns the process's cwd.
fn own_mount_ns(
    a: &InitArgs<'_>,
    linux: &Linux,
    p: &Process,
    userns: bool,
    ph: &mut Phases,
) -> Result<OwnedFd> {
    let devnull = rootfs::open_host_devnull()?;
    let mut rfs = rootfs::prepare(
        &a.bundle.rootfs,
        &a.bundle.dir,
        linux.rootfs_propagation().as_deref(),
    )?;
    rfs.mount_label = linux.mount_label().clone().filter(|l| !l.is_empty());
    mark(a, ph, "namespaces");
    let mounts = a.bundle.spec.mounts().as_deref().unwrap_or(&[]);
    rfs.parent_binds = a.host_binds;
    rfs.mount_all(mounts, userns, &a.chan)?;
    mark(a, ph, "mounts");
    run_create_hooks(a)?;
    mark(a, ph, "hooks");
    let cwd = devices_and_masks(&rfs, linux, p, devnull.as_fd(), userns)?;
    mark(a, ph, "devices, masks");
    pivot(a, &rfs, linux)?;
    drop(devnull);
    mark(a, ph, "pivot");
    Ok(cwd)
}

/// Without a mount namespace the container shares the runtime's mount table: nothing is
/// mounted (spec validation refused what would need it) and the process is chrooted into
/// the rootfs, not pivoted. Returns the process's cwd.
fn runtime_mount_ns(a: &InitArgs<'_>, p: &Process, ph: &mut Phases) -> Result<OwnedFd> {
    mark(a, ph, "namespaces");
    run_create_hooks(a)?;
    mark(a, ph, "hooks");
    let r = &a.bundle.rootfs;
    let root = sys::openat2(
        nix::fcntl::AT_FDCWD,
        &r.to_string_lossy(),
        (OFlag::O_PATH | OFlag::O_DIRECTORY).bits(),
        0,
        0,
    )
    .ctx(|| format!("open rootfs {}", r.display()))?;
    let cwd = rootfs::resolve_create(root.as_fd(), p.cwd(), Kind::Dir)
        .map_err(|e| with_field("process.cwd", e))?;
    nix::unistd::fchdir(root.as_fd()).ctx(|| format!("chdir to rootfs {}", r.display()))?;
    nix::unistd::chroot(".").ctx(|| "chroot into the rootfs (no mount namespace)")?;
    nix::unistd::chdir("/").ctx(|| "chdir /")?;
    if let Some(c) = &a.console {
        // No /dev/console bind: it would be a mount in the host's table.
        crate::tty::setup(root.as_fd(), c, a.console_size, false)?;
    }
    mark(a, ph, "pivot");
    Ok(cwd)
}

/// Phase `hooks`: prestart and createRuntime (run by the parent, on request), then
/// createContainer here.
fn run_create_hooks(a: &InitArgs<'_>) -> Result<()> {
    let hooks = a.bundle.spec.hooks().clone().unwrap_or_default();
    if hooks.prestart().is_some() || hooks.create_runtime().is_some() {
        a.chan.send(&Msg::RunHooks)?;
        a.chan.expect(&Msg::HooksDone)?;
    }
    // createContainer hooks: container namespaces, but paths still resolve in the runtime's
    // root because pivot_root has not happened yet (runtime-spec config.md). As in runc,
    // they run in the rootfs and, without their own `env`, get the process's.
    hooks::run_in(
        "createContainer",
        hooks.create_container().as_ref(),
        &hook_state(a, "creating"),
        &process_env(a),
        Some(&a.bundle.rootfs),
    )
}

/// Phase `devices, masks`: device nodes, masked and read-only paths; resolves the
/// process's cwd while the rootfs is still reachable by fd.
fn devices_and_masks(
    rfs: &Rootfs,
    linux: &Linux,
    p: &Process,
    devnull: BorrowedFd<'_>,
    userns: bool,
) -> Result<OwnedFd> {
    if !rfs.dev_is_bound {
        let nodes = devices::plan(linux.devices().as_deref().unwrap_or(&[]), true)?;
        devices::create(rfs.root.as_fd(), &nodes, userns)?;
        devices::links(rfs.root.as_fd(), rfs.has_devpts)?;
    }
    rfs.mask(linux.masked_paths().as_deref().unwrap_or(&[]), devnull)?;
    rfs.readonly(linux.readonly_paths().as_deref().unwrap_or(&[]))?;
    rfs.seal_dev()?;
    rootfs::resolve_create(rfs.root.as_fd(), p.cwd(), Kind::Dir)
        .map_err(|e| with_field("process.cwd", e))
}

/// Phase `pivot`: into the rootfs, the console, then the root's final flags.
fn pivot(a: &InitArgs<'_>, rfs: &Rootfs, linux: &Linux) -> Result<()> {
    rfs.pivot(a.no_pivot)?;
    if a.console.is_none() {
        reopen_dev_null();
    }
    if let Some(c) = &a.console {
        let root = sys::openat2(
            nix::fcntl::AT_FDCWD,
            "/",
            (OFlag::O_PATH | OFlag::O_DIRECTORY).bits(),
            0,
            0,
        )
        .ctx(|| "open /")?;
        crate::tty::setup(root.as_fd(), c, a.console_size, true)?;
    }
    Rootfs::finish(
        a.bundle
            .spec
            .root()
            .as_ref()
            .and_then(|r| r.readonly())
            .unwrap_or(false),
        linux.rootfs_propagation().as_deref(),
    )
}

/// Stdio that is the host's /dev/null (conmon and containerd's shim hand it in) becomes the
/// container's own, as runc does: CRIU cannot checkpoint a file of a mount outside the
/// container ("Can't lookup mount"). Only a character device 1:3 replaces it: a /dev/null
/// the image made into something else is left alone, and so is the host's.
fn reopen_dev_null() {
    use nix::sys::stat::{fstat, SFlag};
    let is_null = |st: nix::sys::stat::FileStat| {
        SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFCHR
            && st.st_rdev == nix::sys::stat::makedev(1, 3)
    };
    let (i, o, e) = (std::io::stdin(), std::io::stdout(), std::io::stderr());
    let stdio = [i.as_fd(), o.as_fd(), e.as_fd()];
    let mut null: Option<OwnedFd> = None;
    for (n, fd) in stdio.into_iter().enumerate() {
        if !fstat(fd).is_ok_and(is_null) {
            continue;
        }
        if null.is_none() {
            null = nix::fcntl::open(
                "/dev/null",
                OFlag::O_RDWR | OFlag::O_CLOEXEC | OFlag::O_NOFOLLOW,
                nix::sys::stat::Mode::empty(),
            )
            .ok()
            .filter(|f| fstat(f.as_fd()).is_ok_and(is_null));
        }
        match &null {
            Some(f) => {
                let _ = sys::dup2(f.as_fd(), n as i32);
            }
            None => return,
        }
    }
}

/// Phase `process`: hostname, domainname, loopback, sysctls, LSM labels, personality, the
/// session keyring, then the process itself up to just before execve.
fn prepare_process(
    a: &InitArgs<'_>,
    p: &Process,
    linux: &Linux,
    procfs: OwnedFd,
    userns: bool,
    cwd: OwnedFd,
) -> Result<process::Launch> {
    let spec = &a.bundle.spec;
    if let Some(h) = spec.hostname().as_deref().filter(|h| !h.is_empty()) {
        nix::unistd::sethostname(h).ctx(|| format!("hostname {h:?}: sethostname"))?;
    }
    if let Some(d) = spec.domainname().as_deref().filter(|d| !d.is_empty()) {
        sys::setdomainname(d).ctx(|| format!("domainname {d:?}: setdomainname"))?;
    }
    if a.bundle.namespaces.creates(T::Network) {
        loopback_up()?;
    }
    crate::netdev::set_up(spec)?;
    for (k, v) in linux.sysctl().iter().flatten() {
        write_proc(
            procfs.as_fd(),
            &format!("sys/{}", crate::spec::sysctl_path(k)),
            v,
        )
        .map_err(|e| with_field(&format!("linux.sysctl.{k}"), e))?;
    }
    // process.oomScoreAdj is written by the parent (create.rs), from the host.
    crate::lsm::apply(
        procfs.as_fd(),
        p.apparmor_profile().as_deref(),
        p.selinux_label().as_deref(),
    )?;
    drop(procfs);
    if let Some(pers) = linux.personality() {
        process::set_personality(pers)?;
    }
    if let Some(m) = linux.memory_policy() {
        crate::mempolicy::apply(m)?;
    }
    if !a.no_new_keyring {
        match sys::join_session_keyring(&format!("_ses.{}", a.id)) {
            // Searchable by its owner, so `exec` joins this keyring rather than making one.
            Ok(()) => sys::session_keyring_searchable().ctx(|| "session keyring: setperm")?,
            // No keyring support (or blocked by a seccomp policy above us): not fatal, as in runc.
            Err(e) if matches!(e.raw_os_error(), Some(libc::ENOSYS) | Some(libc::EPERM)) => {}
            Err(e) => return Err(e).ctx(|| "join a new session keyring"),
        }
    }
    process::prepare(
        p,
        &a.caps,
        userns,
        cwd,
        &a.extra_env,
        a.seccomp.as_ref(),
        &a.chan,
    )
}

/// What a hook in the container without its own `env` gets: `process.env` (runc's init
/// has replaced its own environment with it), never hull's, which is the caller's.
fn process_env(a: &InitArgs<'_>) -> Vec<String> {
    let p = a.bundle.spec.process().as_ref();
    p.and_then(|p| p.env().clone()).unwrap_or_default()
}

/// Blocks on the exec fifo until `start` writes to it. A user's `exec` into the created
/// container must pass the kernel's ptrace check on this process to join its namespaces
/// (setns), and a non-dumpable process needs CAP_SYS_PTRACE in the host's user namespace
/// for that, which a user never has. So, as runc's init (which goes non-dumpable only when
/// it joins existing namespaces), the init of a user's container whose namespaces are all
/// its own is dumpable while it waits: its setup is done (pivoted, the host's fds closed but
/// the fifo's), and nothing else runs in its pid namespace unless its owner exec'd it. It
/// is non-dumpable again before the startContainer hooks and the program's execve. Root's
/// init stays non-dumpable throughout.
fn wait_for_start(a: &InitArgs<'_>) -> Result<()> {
    if a.dumpable_while_created {
        sys::prctl(libc::PR_SET_DUMPABLE, 1).ctx(|| "prctl(PR_SET_DUMPABLE)")?;
    }
    let mut fifo = File::from(a.fifo.try_clone().ctx(|| "dup exec fifo")?);
    let mut b = [0u8; 1];
    loop {
        match fifo.read(&mut b) {
            Ok(1) => break,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e).ctx(|| "wait on exec fifo"),
        }
    }
    drop(fifo);
    if a.dumpable_while_created {
        sys::prctl(libc::PR_SET_DUMPABLE, 0).ctx(|| "prctl(PR_SET_DUMPABLE)")?;
    }
    Ok(())
}

/// From Ready to execve: wait for `start`, load a seccomp filter left for the end, run
/// startContainer hooks (filtered, as in runc), hand over the preserved fds, exec.
fn finish(
    a: &InitArgs<'_>,
    mut exec: process::Launch,
    phases: Phases,
    mut passed: crate::fds::Passed,
) -> Error {
    // Only with --debug: the init's own phase timings, for the parent to log (it has the
    // log file; our stderr is the container's).
    if !phases.done.is_empty() {
        if let Err(e) = a.chan.send(&Msg::Phases(phases.done)) {
            return e;
        }
    }
    if let Err(e) = a.chan.send(&Msg::Ready) {
        return e;
    }
    // Die with the parent until it has saved state.json: a `create` killed before that
    // leaves no init that nothing knows of. Then stop, and tell it, before it exits.
    if a.chan.expect(&Msg::Saved).is_err() {
        // The parent gave up (and kills us) or is gone: nothing to report, and no one to.
        sys::exit_now(1)
    }
    if let Err(e) = sys::prctl(libc::PR_SET_PDEATHSIG, 0) {
        return Error::Sys {
            what: "prctl(PR_SET_PDEATHSIG, 0)".into(),
            source: e,
        };
    }
    if let Err(e) = a.chan.send(&Msg::Detached) {
        return e;
    }
    if let Err(e) = wait_for_start(a) {
        return e;
    }
    let start_hooks = a
        .bundle
        .spec
        .hooks()
        .as_ref()
        .and_then(|h| h.start_container().clone())
        .filter(|h| !h.is_empty());
    // Without hooks the fds are handed over before the filter, so it never sees fcntl.
    if start_hooks.is_none() {
        if let Err(e) = passed.release() {
            return e;
        }
    }
    if let Some(prog) = exec.seccomp.take() {
        if let Err(e) = prog.install() {
            return e.into();
        }
    }
    if let Err(e) = hooks::run_in(
        "startContainer",
        start_hooks.as_ref(),
        &hook_state(a, "created"),
        &process_env(a),
        None,
    ) {
        return e;
    }
    process::launch(&exec, &mut passed)
}

/// The state JSON hooks running inside the container get.
fn hook_state(a: &InitArgs<'_>, status: &str) -> serde_json::Value {
    serde_json::json!({
        "ociVersion": crate::OCI_VERSION,
        "id": a.id,
        "status": status,
        "pid": std::process::id(),
        "bundle": a.bundle.dir,
        "annotations": a.bundle.spec.annotations().clone().unwrap_or_default(),
    })
}

fn with_field(field: &str, e: Error) -> Error {
    match e {
        Error::Sys { what, source } => Error::Sys {
            what: format!("{field}: {what}"),
            source,
        },
        other => other,
    }
}

/// Opens /proc (still the host's: the init's mount namespace is a copy) and checks that it
/// really is procfs, so writes meant for procfs cannot be redirected by a fake mount
/// (CVE-2025-52881 / CVE-2019-19921).
fn open_host_procfs() -> Result<OwnedFd> {
    let fd = sys::openat2(
        nix::fcntl::AT_FDCWD,
        "/proc",
        (OFlag::O_PATH | OFlag::O_DIRECTORY).bits(),
        0,
        sys::RESOLVE_NO_MAGICLINKS,
    )
    .ctx(|| "open /proc")?;
    let st = nix::sys::statfs::fstatfs(&fd).ctx(|| "statfs /proc")?;
    if st.filesystem_type() != nix::sys::statfs::PROC_SUPER_MAGIC {
        return Err(Error::container("/proc is not a procfs"));
    }
    Ok(fd)
}

/// Writes `value` to `rel` under the verified procfs, refusing symlinks and magic links.
pub(crate) fn write_proc(procfs: BorrowedFd<'_>, rel: &str, value: &str) -> Result<()> {
    const RESOLVE_BENEATH: u64 = 0x08;
    let resolve = RESOLVE_BENEATH | sys::RESOLVE_NO_MAGICLINKS | sys::RESOLVE_NO_XDEV;
    let rel = resolve_self(procfs, rel)?;
    let fd = sys::openat2(procfs, &rel, OFlag::O_WRONLY.bits(), 0, resolve)
        .ctx(|| format!("open /proc/{rel}"))?;
    File::from(fd)
        .write_all(value.as_bytes())
        .ctx(|| format!("write {value:?} to /proc/{rel}"))
}

/// Rewrites a leading `self/` to our pid *as that procfs numbers it* (the host's procfs sees
/// our host pid, not 1), so the walk can refuse every symlink.
fn resolve_self(procfs: BorrowedFd<'_>, rel: &str) -> Result<String> {
    let Some(r) = rel.strip_prefix("self/") else {
        return Ok(rel.to_string());
    };
    let me = nix::fcntl::readlinkat(procfs, "self").ctx(|| "readlink /proc/self")?;
    Ok(format!("{}/{r}", me.to_string_lossy()))
}

/// Enters a new time namespace with `linux.timeOffsets` applied: the offsets can only be
/// written before any process is inside, so unshare, write, then join our own child ns.
fn time_namespace(procfs: BorrowedFd<'_>, linux: &oci_spec::runtime::Linux) -> Result<()> {
    nix::sched::unshare(crate::namespaces::flag(T::Time)).ctx(|| "unshare time namespace")?;
    let mut text = String::new();
    for (clock, off) in linux.time_offsets().iter().flatten() {
        text.push_str(&format!(
            "{clock} {} {}\n",
            off.secs().unwrap_or(0),
            off.nanosecs().unwrap_or(0)
        ));
    }
    if !text.is_empty() {
        // A non-dumpable task's /proc files belong to the host's root, which a new user
        // namespace's root cannot open: dumpable for this write only. Nothing of the
        // container runs yet, and the time namespace is still empty.
        sys::prctl(libc::PR_SET_DUMPABLE, 1).ctx(|| "prctl(PR_SET_DUMPABLE)")?;
        let w = write_proc(procfs, "self/timens_offsets", &text);
        sys::prctl(libc::PR_SET_DUMPABLE, 0).ctx(|| "prctl(PR_SET_DUMPABLE)")?;
        w.map_err(|e| with_field("linux.timeOffsets", e))?;
    }
    let path = resolve_self(procfs, "self/ns/time_for_children")?;
    let f = sys::openat2(procfs, &path, OFlag::O_RDONLY.bits(), 0, 0)
        .ctx(|| "open time_for_children")?;
    nix::sched::setns(f.as_fd(), crate::namespaces::flag(T::Time)).ctx(|| "enter time namespace")
}

/// Brings `lo` up in a new network namespace (runtime-spec: the runtime sets up loopback).
fn loopback_up() -> Result<()> {
    let sock = nix::sys::socket::socket(
        nix::sys::socket::AddressFamily::Inet,
        nix::sys::socket::SockType::Datagram,
        nix::sys::socket::SockFlag::SOCK_CLOEXEC,
        None,
    )
    .ctx(|| "socket for loopback setup")?;
    sys::set_link_up(sock.as_fd(), "lo").ctx(|| "bring up loopback (SIOCSIFFLAGS lo)")
}
