//! The container process's attributes (config.md "process"): rlimits, user and groups,
//! capabilities, no_new_privs, environment, working directory, and the final `execve`.

use std::collections::{HashMap, HashSet};
use std::ffi::CString;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use caps::{CapSet, Capability as Cap};
use nix::sys::resource::{setrlimit, Resource};
use oci_spec::runtime::{
    Capabilities, LinuxCapabilities, LinuxPersonality, LinuxPersonalityDomain,
    PosixRlimitType as R, Process, User,
};

use crate::channel::{Channel, Msg};
use crate::error::{Context, Error, Result};
use crate::seccomp::{Program, Stage};
use crate::sys;

/// The personality(2) value for `linux.personality`.
pub fn personality_value(p: &LinuxPersonality) -> Result<u64> {
    if p.flags().as_ref().is_some_and(|f| !f.is_empty()) {
        return Err(Error::config(
            "linux.personality.flags",
            "no personality flags are supported",
        ));
    }
    Ok(match p.domain() {
        LinuxPersonalityDomain::PerLinux => 0x0000,
        LinuxPersonalityDomain::PerLinux32 => 0x0008,
    })
}

/// Applies `linux.personality`.
pub fn set_personality(p: &LinuxPersonality) -> Result<()> {
    let v = personality_value(p)?;
    nix::sys::personality::set(nix::sys::personality::Persona::from_bits_retain(v as i32))
        .ctx(|| "linux.personality")?;
    Ok(())
}

fn resource(t: R) -> Resource {
    match t {
        R::RlimitCpu => Resource::RLIMIT_CPU,
        R::RlimitFsize => Resource::RLIMIT_FSIZE,
        R::RlimitData => Resource::RLIMIT_DATA,
        R::RlimitStack => Resource::RLIMIT_STACK,
        R::RlimitCore => Resource::RLIMIT_CORE,
        R::RlimitRss => Resource::RLIMIT_RSS,
        R::RlimitNproc => Resource::RLIMIT_NPROC,
        R::RlimitNofile => Resource::RLIMIT_NOFILE,
        R::RlimitMemlock => Resource::RLIMIT_MEMLOCK,
        R::RlimitAs => Resource::RLIMIT_AS,
        R::RlimitLocks => Resource::RLIMIT_LOCKS,
        R::RlimitSigpending => Resource::RLIMIT_SIGPENDING,
        R::RlimitMsgqueue => Resource::RLIMIT_MSGQUEUE,
        R::RlimitNice => Resource::RLIMIT_NICE,
        R::RlimitRtprio => Resource::RLIMIT_RTPRIO,
        R::RlimitRttime => Resource::RLIMIT_RTTIME,
    }
}

/// Sets `process.rlimits` (before the user switch, while raising a hard limit is allowed).
pub fn set_rlimits(p: &Process) -> Result<()> {
    for (i, r) in p.rlimits().iter().flatten().enumerate() {
        if r.soft() > r.hard() {
            return Err(Error::config(
                format!("process.rlimits[{i}]"),
                format!("soft limit {} exceeds hard limit {}", r.soft(), r.hard()),
            ));
        }
        setrlimit(resource(r.typ()), r.soft(), r.hard()).ctx(|| {
            format!(
                "process.rlimits[{i}] {}: setrlimit",
                serde_json::to_string(&r.typ()).unwrap_or_default()
            )
        })?;
    }
    Ok(())
}

/// The capabilities of one set the kernel knows; the names it does not know are returned
/// apart, to be warned about and skipped (runtime-spec 1.2: an unknown or unavailable
/// capability SHOULD NOT fail; runc and crun run the container).
fn to_caps(set: Option<&Capabilities>, last_cap: u8) -> (HashSet<Cap>, Vec<String>) {
    let mut out = HashSet::new();
    let mut unknown = Vec::new();
    for c in set.into_iter().flatten() {
        let name = format!("CAP_{c}");
        match Cap::from_str(&name) {
            Ok(cap) if cap.index() <= last_cap => {
                out.insert(cap);
            }
            _ => unknown.push(name),
        }
    }
    (out, unknown)
}

/// The capability sets to apply, checked against the kernel and against what hull itself
/// holds: asking for a capability the host does not grant is an error naming it.
#[derive(Debug, Default)]
pub struct CapSets {
    bounding: HashSet<Cap>,
    effective: HashSet<Cap>,
    permitted: HashSet<Cap>,
    inheritable: HashSet<Cap>,
    ambient: HashSet<Cap>,
}

/// The calling thread's bounding set: from /proc/thread-self/status's `CapBnd` (one read,
/// where `caps::read` asks the kernel once per capability: 41 prctl calls), else `caps`.
fn bounding_set() -> std::result::Result<HashSet<Cap>, caps::errors::CapsError> {
    let mask = std::fs::read_to_string("/proc/thread-self/status")
        .ok()
        .and_then(|s| {
            let hex = s.lines().find_map(|l| l.strip_prefix("CapBnd:"))?;
            u64::from_str_radix(hex.trim(), 16).ok()
        });
    match mask {
        Some(m) => Ok(caps::all()
            .into_iter()
            .filter(|c| c.index() < 64 && m & (1u64 << c.index()) != 0)
            .collect()),
        None => caps::read(None, CapSet::Bounding),
    }
}

impl CapSets {
    /// Converts `process.capabilities` (absent = no capabilities at all, as runc does).
    pub fn new(c: Option<&LinuxCapabilities>) -> Result<Self> {
        let last = caps::runtime::procfs_all_supported(None)
            .ok()
            .and_then(|s| s.iter().map(|c| c.index()).max())
            .unwrap_or(40);
        let Some(c) = c else {
            return Ok(Self::default());
        };
        let have = bounding_set().unwrap_or_default();
        // What the kernel does not know, or the host does not grant hull (not in its
        // bounding set), is skipped with a warning, as runc does.
        let set = |field: &str, given: Option<&Capabilities>| {
            let (mut known, mut skipped) = to_caps(given, last);
            if field != "bounding" {
                skipped.extend(known.difference(&have).map(|c| c.to_string()));
                known.retain(|c| have.contains(c));
            }
            if !skipped.is_empty() {
                skipped.sort();
                crate::logging::warn(&format!(
                    "process.capabilities.{field}: ignoring unknown or unavailable capabilities: {}",
                    skipped.join(", ")
                ));
            }
            known
        };
        let mut s = CapSets {
            bounding: set("bounding", c.bounding().as_ref()),
            effective: set("effective", c.effective().as_ref()),
            permitted: set("permitted", c.permitted().as_ref()),
            inheritable: set("inheritable", c.inheritable().as_ref()),
            ambient: set("ambient", c.ambient().as_ref()),
        };
        // The kernel raises an ambient capability only if it is inheritable (and permitted):
        // one that is not is skipped with a warning, as runc and crun do.
        let mut lone: Vec<String> = s
            .ambient
            .iter()
            .filter(|c| !s.inheritable.contains(c) || !s.permitted.contains(c))
            .map(|c| c.to_string())
            .collect();
        if !lone.is_empty() {
            lone.sort();
            crate::logging::warn(&format!(
                "process.capabilities.ambient: skipping {}: not in the inheritable and permitted sets",
                lone.join(", ")
            ));
            s.ambient
                .retain(|c| s.inheritable.contains(c) && s.permitted.contains(c));
        }
        Ok(s)
    }

    /// Drops every capability not in `bounding` from the bounding set (needs CAP_SETPCAP,
    /// so this runs before the user switch).
    pub fn drop_bounding(&self) -> Result<()> {
        let cur =
            bounding_set().map_err(|e| Error::container(format!("read bounding set: {e}")))?;
        for c in cur.difference(&self.bounding) {
            caps::drop(None, CapSet::Bounding, *c).map_err(|e| {
                Error::container(format!("process.capabilities.bounding: drop {c}: {e}"))
            })?;
        }
        Ok(())
    }

    /// Sets inheritable, effective, permitted, then raises the ambient set. Called after the
    /// user switch (capabilities were kept across it with PR_SET_KEEPCAPS).
    pub fn apply(&self) -> Result<()> {
        let err = |set: &str, e: caps::errors::CapsError| {
            Error::container(format!("process.capabilities.{set}: {e}"))
        };
        caps::set(None, CapSet::Inheritable, &self.inheritable)
            .map_err(|e| err("inheritable", e))?;
        caps::set(None, CapSet::Effective, &self.effective).map_err(|e| err("effective", e))?;
        caps::set(None, CapSet::Permitted, &self.permitted).map_err(|e| err("permitted", e))?;
        caps::clear(None, CapSet::Ambient).map_err(|e| err("ambient", e))?;
        for c in &self.ambient {
            caps::raise(None, CapSet::Ambient, *c).map_err(|e| err("ambient", e))?;
        }
        Ok(())
    }
}

/// Switches to `process.user` (groups first, then gid, then uid), keeping capabilities so
/// that [`CapSets::apply`] can set them afterwards.
pub fn switch_user(u: &User, userns: bool) -> Result<()> {
    sys::prctl(libc::PR_SET_KEEPCAPS, 1).ctx(|| "prctl(PR_SET_KEEPCAPS)")?;
    let gids: Vec<u32> = u.additional_gids().clone().unwrap_or_default();
    // setgroups is denied in a user namespace whose setgroups file says "deny"; with
    // no additional groups we then leave the list alone, as runc does.
    match sys::setgroups(&gids) {
        Ok(()) => {}
        Err(e) if userns && gids.is_empty() && e.raw_os_error() == Some(libc::EPERM) => {}
        Err(e) => {
            return Err(e).ctx(|| {
                format!(
                    "process.user.additionalGids ({} groups): setgroups",
                    gids.len()
                )
            })
        }
    }
    let gid = nix::unistd::Gid::from_raw(u.gid());
    nix::unistd::setresgid(gid, gid, gid)
        .ctx(|| format!("process.user.gid {}: setresgid", u.gid()))?;
    let uid = nix::unistd::Uid::from_raw(u.uid());
    nix::unistd::setresuid(uid, uid, uid)
        .ctx(|| format!("process.user.uid {}: setresuid", u.uid()))?;
    sys::prctl(libc::PR_SET_KEEPCAPS, 0).ctx(|| "prctl(PR_SET_KEEPCAPS)")?;
    Ok(())
}

/// Gives the process's stdio to its user before the switch, as runc does, so that a
/// non-root program can reopen them by path (`/dev/stdout`, `/proc/self/fd/1`: nginx and
/// many images log that way, and opening a pipe's /proc link checks its owner). Only what
/// belongs to this container is chowned: anonymous pipes, sockets and ptys of the
/// container's devpts. A host file or terminal handed to hull as stdio keeps its owner
/// (runc would give it to the container's uid). Failures to chown (an unmapped owner in a
/// user namespace, a read-only /dev) leave the fd alone, as in runc.
pub fn give_stdio_to(uid: u32) {
    use nix::sys::stat::{fstat, stat, SFlag};
    let pipefs = nix::unistd::pipe()
        .ok()
        .and_then(|(r, _w)| fstat(r.as_fd()).ok())
        .map(|s| s.st_dev);
    let devpts = stat("/dev/pts/ptmx").ok().map(|s| s.st_dev);
    let (i, o, e) = (std::io::stdin(), std::io::stdout(), std::io::stderr());
    for fd in [i.as_fd(), o.as_fd(), e.as_fd()] {
        let Ok(st) = fstat(fd) else { continue };
        if st.st_uid == uid {
            continue;
        }
        let kind = SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT;
        let ours = (kind == SFlag::S_IFIFO && Some(st.st_dev) == pipefs)
            || kind == SFlag::S_IFSOCK
            || (kind == SFlag::S_IFCHR && Some(st.st_dev) == devpts);
        if ours {
            let _ = nix::unistd::fchown(fd, Some(nix::unistd::Uid::from_raw(uid)), None);
        }
    }
}

/// The environment for the process: `process.env`, plus HOME from the container's
/// /etc/passwd when it is not set (runc does the same), plus `extra`.
pub fn environment(p: &Process, extra: &[String]) -> Vec<String> {
    // A name given twice keeps its first place and its last value, as runc's init (which
    // sets each one with os.Setenv) hands them on. The index by name keeps this linear: a
    // config may carry 100,000 entries, and a scan per entry took minutes.
    let mut env: Vec<String> = Vec::new();
    let mut at: HashMap<&str, usize> = HashMap::new();
    for kv in p.env().iter().flatten().chain(extra) {
        let name = kv.split_once('=').map_or(kv.as_str(), |(k, _)| k);
        match at.get(name) {
            Some(&i) => env[i].clone_from(kv),
            None => {
                at.insert(name, env.len());
                env.push(kv.clone());
            }
        }
    }
    // Absent or empty, as runc (`HOME=` is no home either).
    if !env
        .iter()
        .any(|e| e.starts_with("HOME=") && e.len() > "HOME=".len())
    {
        let home = format!(
            "HOME={}",
            home_of(p.user().uid()).unwrap_or_else(|| "/".into())
        );
        match env.iter_mut().find(|e| e.as_str() == "HOME=") {
            Some(e) => *e = home,
            None => env.push(home),
        }
    }
    env
}

/// The home directory of `uid` in the (already pivoted) root's /etc/passwd.
fn home_of(uid: u32) -> Option<String> {
    let data = std::fs::read_to_string("/etc/passwd").ok()?;
    data.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() >= 6 && f[2].parse::<u32>().ok()? == uid).then(|| f[5].to_string())
    })
}

/// Finds the program to run, like runc: a name without `/` is searched in the PATH of
/// the process's environment. Errors read like runc's (`exec: "x": executable file not
/// found in $PATH`) because users and tools grep for them. Permission is checked as execve
/// will check it: with the effective ids and capabilities (AT_EACCESS), so a non-root user
/// with CAP_DAC_OVERRIDE may run a program only root may execute.
pub fn find_executable(arg0: &str, env: &[String]) -> Result<PathBuf> {
    let runnable = |p: &Path| {
        nix::unistd::faccessat(
            nix::fcntl::AT_FDCWD,
            p,
            nix::unistd::AccessFlags::X_OK,
            nix::fcntl::AtFlags::AT_EACCESS,
        )
        .is_ok()
            && p.metadata().map(|m| m.is_file()).unwrap_or(false)
    };
    if arg0.contains('/') {
        let p = PathBuf::from(arg0);
        return match p.metadata() {
            Err(e) => Err(Error::Init(format!(
                "exec: {arg0:?}: stat {arg0}: {}",
                io_text(&e)
            ))),
            Ok(m) if m.is_dir() => Err(Error::Init(format!("exec: {arg0:?}: is a directory"))),
            Ok(_) if !runnable(&p) => {
                Err(Error::Init(format!("exec: {arg0:?}: permission denied")))
            }
            Ok(_) => Ok(p),
        };
    }
    let path = env
        .iter()
        .rev()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    for dir in path.split(':') {
        let dir = if dir.is_empty() { "." } else { dir };
        let cand = Path::new(dir).join(arg0);
        if runnable(&cand) {
            return Ok(cand);
        }
    }
    Err(Error::Init(format!(
        "exec: {arg0:?}: executable file not found in $PATH"
    )))
}

fn io_text(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(libc::ENOENT) => "no such file or directory".into(),
        _ => e.to_string(),
    }
}

/// A program ready to start: its checked path, argv and envp, and the seccomp filter when
/// it is to be loaded right before execve.
pub struct Launch {
    pub path: PathBuf,
    pub args: Vec<CString>,
    pub env: Vec<CString>,
    pub seccomp: Option<Program>,
}

/// Loads `prog` if `stage` is when it belongs, and sends a listener fd to the runtime at once
/// (a notifying syscall made before the agent has the fd would block forever).
fn load_seccomp(prog: Option<&Program>, nnp: bool, stage: Stage, chan: &Channel) -> Result<()> {
    let Some(prog) = prog.filter(|p| p.stage(nnp) == stage) else {
        return Ok(());
    };
    if let Some(fd) = prog.install()? {
        chan.send_fd(&Msg::SeccompListener, fd.as_fd())?;
    }
    Ok(())
}

/// The part of process setup that `create`'s init and `exec` share, in runc's order:
/// rlimits, scheduler and I/O priority, no_new_privs, bounding set, user switch,
/// capabilities, working directory,
/// umask, environment, and the lookup of the program (so a missing one is reported to the
/// caller of create/exec, not discovered after it returned). The seccomp filter is loaded
/// where [`Program::stage`] says: before the user switch without no_new_privs (it needs
/// CAP_SYS_ADMIN then), at the end with a listener, else left to [`launch`].
pub fn prepare(
    p: &Process,
    caps: &CapSets,
    userns: bool,
    cwd: OwnedFd,
    extra_env: &[String],
    seccomp: Option<&Program>,
    chan: &Channel,
) -> Result<Launch> {
    set_rlimits(p)?;
    crate::sched::apply(p)?;
    give_stdio_to(p.user().uid());
    let nnp = p.no_new_privileges().unwrap_or(false);
    if nnp {
        sys::prctl(libc::PR_SET_NO_NEW_PRIVS, 1).ctx(|| "process.noNewPrivileges: prctl")?;
    }
    caps.drop_bounding()?;
    load_seccomp(seccomp, nnp, Stage::BeforeUserSwitch, chan)?;
    // The cwd is an fd resolved inside the root, so a cwd such as /proc/self/fd/N can never
    // reach a host fd (CVE-2024-21626). Entered before the user switch, as runc does, so a
    // cwd only root may search still works (`docker run -u 1000 -w /root`); if root was
    // refused (a root-squashed volume the user owns) it is tried again as the user.
    let cwd_err = |e| Error::Sys {
        what: format!("process.cwd {}: chdir", p.cwd().display()),
        source: std::io::Error::from_raw_os_error(e as i32),
    };
    let early = match nix::unistd::fchdir(cwd.as_fd()) {
        Ok(()) => true,
        Err(nix::errno::Errno::EACCES | nix::errno::Errno::EPERM) => false,
        Err(e) => return Err(cwd_err(e)),
    };
    switch_user(p.user(), userns)?;
    caps.apply()?;
    if !early {
        nix::unistd::fchdir(cwd.as_fd()).map_err(cwd_err)?;
    }
    drop(cwd);
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(
        p.user().umask().unwrap_or(0o022) as libc::mode_t,
    ));
    let env = environment(p, extra_env);
    let args = p.args().clone().unwrap_or_default();
    let arg0 = args
        .first()
        .ok_or_else(|| Error::config("process.args", "empty"))?;
    let path = find_executable(arg0, &env)?;
    let launch = Launch {
        path,
        args: cstrings("process.args", &args)?,
        env: cstrings("process.env", &env)?,
        seccomp: seccomp
            .filter(|s| s.stage(nnp) == Stage::BeforeExec)
            .cloned(),
    };
    load_seccomp(seccomp, nnp, Stage::EndOfSetup, chan)?;
    Ok(launch)
}

/// The last steps before the program runs: the caller's fds in the preserved range
/// (held close-on-exec since [`crate::fds::take`]) are made inheritable again, signal
/// dispositions are reset, the seccomp filter goes in (if [`prepare`] left it for here),
/// then execve. Returns only on failure.
///
/// Every fd hull opens itself is close-on-exec and stays so, even when its number falls in
/// the preserved range because the caller left a hole there (`--preserve-fds 5` with only
/// fd 3 open): clearing FD_CLOEXEC on whatever is open in the range would hand the container
/// hull's `--log` file, state or cgroup directory, or host procfs (CVE-2024-21626).
pub fn launch(l: &Launch, passed: &mut crate::fds::Passed) -> Error {
    if let Err(e) = passed.release() {
        return e;
    }
    sys::reset_signals();
    if let Some(prog) = &l.seccomp {
        // As late as possible, after no_new_privs: the filter then covers only the program.
        if let Err(e) = prog.install() {
            return e.into();
        }
    }
    exec(&l.path, &l.args, &l.env)
}

/// Converts strings to C strings for execve; a NUL inside one is a config error.
pub fn cstrings(field: &str, v: &[String]) -> Result<Vec<CString>> {
    v.iter()
        .map(|s| {
            CString::new(s.as_bytes())
                .map_err(|_| Error::config(field, format!("{s:?} contains a NUL byte")))
        })
        .collect()
}

/// Replaces the process image. Only returns (with an error) if execve fails.
pub fn exec(path: &Path, args: &[CString], env: &[CString]) -> Error {
    let p = match CString::new(path.as_os_str().as_bytes()) {
        Ok(p) => p,
        Err(_) => return Error::config("process.args[0]", "contains a NUL byte"),
    };
    let e = sys::execve(&p, args, env);
    Error::Sys {
        what: format!("exec {}", path.display()),
        source: e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_uses_the_given_path() {
        let env = vec!["PATH=/nonexistent:/bin:/usr/bin".to_string()];
        let p = find_executable("sh", &env).expect("sh is on the host");
        assert!(p.ends_with("sh"));
        let e = find_executable("no-such-program-hull", &env).expect_err("missing");
        assert_eq!(
            e.to_string(),
            "exec: \"no-such-program-hull\": executable file not found in $PATH"
        );
        let e = find_executable("/no/such", &env).expect_err("missing");
        assert!(e.to_string().contains("no such file or directory"), "{e}");
    }

    #[test]
    fn environment_is_linear_and_keeps_first_place_last_value() {
        let mut env: Vec<String> = (0..200_000).map(|i| format!("V{i}=x")).collect();
        env.push("V1=last".into());
        env.push("HOME=/h".into());
        let p: Process = serde_json::from_value(serde_json::json!({
            "cwd": "/", "user": {"uid": 0, "gid": 0}, "env": env
        }))
        .expect("process");
        let started = std::time::Instant::now();
        let out = environment(&p, &["V0=extra".to_string()]);
        // A scan per entry (the old code) needs ~2e10 comparisons here: minutes, not this.
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(out.len(), 200_001);
        assert_eq!(out[0], "V0=extra");
        assert_eq!(out[1], "V1=last");
        assert_eq!(out[200_000], "HOME=/h");
    }

    #[test]
    fn unknown_and_newer_caps() {
        let caps: LinuxCapabilities =
            serde_json::from_value(serde_json::json!({"bounding": ["CAP_KILL", "CAP_CHOWN"]}))
                .expect("caps");
        let (s, skipped) = to_caps(caps.bounding().as_ref(), 40);
        assert_eq!((s.len(), skipped.len()), (2, 0));
        let (s, skipped) = to_caps(caps.bounding().as_ref(), 4);
        assert_eq!(s.len(), 1);
        assert_eq!(
            skipped,
            ["CAP_KILL"],
            "CAP_KILL (5) is newer than a kernel whose last cap is 4"
        );
    }

    #[test]
    fn empty_home_is_set() {
        let p: Process = serde_json::from_value(serde_json::json!({
            "cwd": "/", "user": {"uid": 4242, "gid": 0}, "env": ["A=1", "HOME="]}))
        .expect("process");
        assert_eq!(environment(&p, &[]), ["A=1", "HOME=/"]);
    }
}
