//! Loading and validating `config.json`, once, before anything is created: every later
//! step works on a [`Bundle`] that is known to be consistent, and every error here names
//! the field (`linux.namespaces[2].path: ...`) so the engine's user sees what to fix.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxNamespaceType, Spec};

use crate::error::{Context, Error, Result};
use crate::namespaces::Namespaces;

/// A loaded, validated bundle.
#[derive(Debug)]
pub struct Bundle {
    /// Absolute bundle directory.
    pub dir: PathBuf,
    /// Absolute path of the root filesystem.
    pub rootfs: PathBuf,
    /// The config as read from disk (saved verbatim into the state dir).
    pub raw: Vec<u8>,
    pub spec: Spec,
    /// The namespaces to create and join, derived from `linux.namespaces`.
    pub namespaces: Namespaces,
}

/// Reads and validates `<bundle>/config.json`.
pub fn load(bundle: &Path) -> Result<Bundle> {
    let dir = fs::canonicalize(bundle).ctx(|| format!("bundle {}", bundle.display()))?;
    let cfg = dir.join("config.json");
    let raw = crate::decode::read_config(&cfg)?;
    let mut spec = crate::decode::decode(&raw, &cfg)?;
    absolute_mount_destinations(&mut spec);
    validate(&spec)?;
    let root = spec
        .root()
        .as_ref()
        .ok_or_else(|| Error::config("root", "missing: a root filesystem is required"))?;
    let rootfs = dir.join(root.path());
    let rootfs = fs::canonicalize(&rootfs).ctx(|| format!("root.path {}", rootfs.display()))?;
    if !rootfs.is_dir() {
        return Err(Error::config(
            "root.path",
            format!("{} is not a directory", rootfs.display()),
        ));
    }
    let namespaces = Namespaces::from_spec(&spec)?;
    validate_namespaced(&spec, &namespaces)?;
    Ok(Bundle {
        dir,
        rootfs,
        raw,
        spec,
        namespaces,
    })
}

/// runtime-spec 1.2 lets a Linux mount destination be relative, meaning relative to `/`
/// (engines have long sent such configs); runc accepts them with a warning, and so does hull.
/// Making them absolute here keeps every later step on absolute destinations only.
fn absolute_mount_destinations(spec: &mut Spec) {
    let Some(mut mounts) = spec.mounts().clone() else {
        return;
    };
    let mut changed = false;
    for m in mounts.iter_mut().filter(|m| !m.destination().is_absolute()) {
        let abs = Path::new("/").join(m.destination());
        crate::logging::warn(&format!(
            "mount destination {} is not absolute: using {}",
            m.destination().display(),
            abs.display()
        ));
        m.set_destination(abs);
        changed = true;
    }
    if changed {
        spec.set_mounts(Some(mounts));
    }
}

/// The host-independent checks of `load`, for `hull features`' cross-check.
#[cfg(test)]
pub(crate) fn validate_for_features(spec: &Spec) -> Result<()> {
    validate(spec)?;
    let ns = Namespaces::from_spec(spec)?;
    if !ns.has(LinuxNamespaceType::Mount) {
        crate::namespaces::validate_without_mount_ns(spec)?;
    }
    Ok(())
}

fn validate(spec: &Spec) -> Result<()> {
    let v = spec.version();
    let major = v.split('.').next().unwrap_or("");
    if major != "1" {
        return Err(Error::config(
            "ociVersion",
            format!("unsupported version {v:?}: hull implements runtime-spec 1.x"),
        ));
    }
    let process = spec
        .process()
        .as_ref()
        .ok_or_else(|| Error::config("process", "missing: create needs a process"))?;
    match process.args() {
        Some(a) if !a.is_empty() && !a[0].is_empty() => {}
        _ => {
            return Err(Error::config(
                "process.args",
                "must hold at least the program to run",
            ))
        }
    }
    if !process.cwd().is_absolute() {
        return Err(Error::config(
            "process.cwd",
            format!("{} is not an absolute path", process.cwd().display()),
        ));
    }
    for (i, e) in process.env().iter().flatten().enumerate() {
        if !e.contains('=') || e.starts_with('=') || e.contains('\0') {
            return Err(Error::config(
                format!("process.env[{i}]"),
                format!("{e:?} is not KEY=value"),
            ));
        }
    }
    if process.terminal().unwrap_or(false)
        && process
            .console_size()
            .is_some_and(|b| b.width() > u16::MAX as u64 || b.height() > u16::MAX as u64)
    {
        return Err(Error::config("process.consoleSize", "larger than 65535"));
    }
    crate::ids::validate(spec)?;
    crate::sched::validate(process)?;
    crate::hooks::validate(spec.hooks().as_ref())?;
    if process.exec_cpu_affinity().is_some() {
        return Err(Error::config(
            "process.execCPUAffinity",
            "not supported by hull yet",
        ));
    }
    if let Some(caps) = process.capabilities() {
        let _ = caps; // names are checked by the deserializer: unknown names fail to parse
    }
    let userns = spec
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_ref())
        .is_some_and(|v| v.iter().any(|n| n.typ() == LinuxNamespaceType::User));
    for (i, m) in spec.mounts().iter().flatten().enumerate() {
        if !m.destination().is_absolute() {
            return Err(Error::config(
                format!("mounts[{i}].destination"),
                format!("{} is not an absolute path", m.destination().display()),
            ));
        }
        crate::idmap::validate(i, m, userns)?;
        let ty = m.typ().as_deref().unwrap_or("");
        let opts = crate::mountopts::MountOptions::parse(m.options().as_deref().unwrap_or(&[]));
        if !opts.is_bind() && ty != "bind" && ty.is_empty() {
            return Err(Error::config(
                format!("mounts[{i}].type"),
                "missing for a mount that is not a bind mount",
            ));
        }
    }
    if let Some(linux) = spec.linux() {
        if let Some(p) = linux.rootfs_propagation() {
            if ![
                "",
                "private",
                "rprivate",
                "slave",
                "rslave",
                "shared",
                "rshared",
                "unbindable",
                "runbindable",
            ]
            .contains(&p.as_str())
            {
                return Err(Error::config(
                    "linux.rootfsPropagation",
                    format!("unknown value {p:?}"),
                ));
            }
        }
        for (field, list) in [
            ("linux.maskedPaths", linux.masked_paths()),
            ("linux.readonlyPaths", linux.readonly_paths()),
        ] {
            for (i, p) in list.iter().flatten().enumerate() {
                if !p.starts_with('/') {
                    return Err(Error::config(
                        format!("{field}[{i}]"),
                        format!("{p} is not an absolute path"),
                    ));
                }
            }
        }
        for (i, d) in linux.devices().iter().flatten().enumerate() {
            // Anywhere in the rootfs, as in runc (which joins the path to the rootfs).
            if !d.path().is_absolute() || d.path().file_name().is_none() {
                return Err(Error::config(
                    format!("linux.devices[{i}].path"),
                    format!("{} is not an absolute file path", d.path().display()),
                ));
            }
        }
        if let Some(rdt) = linux.intel_rdt() {
            crate::intelrdt::validate(rdt, crate::intelrdt::find_resctrl().as_deref())?;
        }
        if let Some(p) = linux.memory_policy() {
            crate::mempolicy::plan(p)?;
        }
        if let Some(p) = linux.personality() {
            let _ = crate::process::personality_value(p)?;
        }
    }
    crate::lsm::validate(spec)?;
    Ok(())
}

/// Checks that need the namespace set: hostname needs a UTS namespace, sysctls need theirs.
fn validate_namespaced(spec: &Spec, ns: &Namespaces) -> Result<()> {
    use LinuxNamespaceType as T;
    if !ns.has(T::Mount) {
        crate::namespaces::validate_without_mount_ns(spec)?;
    }
    if spec.hostname().as_ref().is_some_and(|h| !h.is_empty()) && !ns.has(T::Uts) {
        return Err(Error::config(
            "hostname",
            "cannot set the hostname without a private UTS namespace",
        ));
    }
    if spec.domainname().as_ref().is_some_and(|h| !h.is_empty()) && !ns.has(T::Uts) {
        return Err(Error::config(
            "domainname",
            "cannot set the domainname without a private UTS namespace",
        ));
    }
    let names = spec.hostname().iter().chain(spec.domainname().iter());
    if names.filter(|h| !h.is_empty()).count() > 0 && joins_hosts(ns, T::Uts)? {
        let field = if spec.hostname().as_ref().is_some_and(|h| !h.is_empty()) {
            "hostname"
        } else {
            "domainname"
        };
        return Err(Error::config(
            field,
            "the joined UTS namespace is the host's: setting it would rename the host",
        ));
    }
    crate::netdev::validate(spec, ns, joins_hosts(ns, T::Network)?)?;
    let Some(linux) = spec.linux() else {
        return Ok(());
    };
    for key in linux.sysctl().iter().flat_map(|m| m.keys()) {
        let field = format!("linux.sysctl.{key}");
        let name = sysctl_dotted(key);
        if sysctl_path(key)
            .split('/')
            .any(|c| c.is_empty() || c == "." || c == "..")
        {
            return Err(Error::config(field, "invalid name"));
        }
        let needs = sysctl_namespace(&name).ok_or_else(|| {
            Error::config(&field, "not namespaced: changing it would affect the host")
        })?;
        if name == "kernel.hostname" {
            // Namespaced, but the dedicated field owns it (runc refuses it the same way).
            return Err(Error::config(field, "conflicts with the hostname field"));
        }
        if !ns.has(needs) {
            return Err(Error::config(
                field,
                format!(
                    "needs a private {} namespace",
                    crate::namespaces::type_name(needs)
                ),
            ));
        }
        if joins_hosts(ns, needs)? {
            return Err(Error::config(
                field,
                format!(
                    "the joined {} namespace is the host's",
                    crate::namespaces::type_name(needs)
                ),
            ));
        }
    }
    if linux.time_offsets().as_ref().is_some_and(|t| !t.is_empty()) && !ns.creates(T::Time) {
        return Err(Error::config(
            "linux.timeOffsets",
            "needs a new time namespace",
        ));
    }
    for k in linux.time_offsets().iter().flat_map(|m| m.keys()) {
        if k != "monotonic" && k != "boottime" {
            return Err(Error::config(
                format!("linux.timeOffsets.{k}"),
                "only monotonic and boottime clocks can be offset",
            ));
        }
    }
    Ok(())
}

/// A sysctl name in its dotted form. sysctl.d(5) allows `/` as the separator; when the first
/// separator is a `/`, `.` and `/` swap (`net/ipv4/conf/eth0.100/rp_filter` is
/// `net.ipv4.conf.eth0/100.rp_filter`), as runc reads it.
pub fn sysctl_dotted(key: &str) -> String {
    match key.find(['.', '/']) {
        Some(i) if key.as_bytes()[i] == b'/' => swap_separators(key),
        _ => key.to_string(),
    }
}

/// The path of a sysctl under /proc/sys.
pub fn sysctl_path(key: &str) -> String {
    swap_separators(&sysctl_dotted(key))
}

fn swap_separators(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '.' => '/',
            '/' => '.',
            c => c,
        })
        .collect()
}

/// The container joins, by path, a namespace of type `t` that is the one hull itself is in:
/// a hostname or sysctl set there would change the host's (runc checks this for net only).
fn joins_hosts(ns: &Namespaces, t: LinuxNamespaceType) -> Result<bool> {
    use std::os::unix::fs::MetadataExt;
    let Some(path) = ns.list.iter().find(|n| n.0 == t).and_then(|n| n.1.as_ref()) else {
        return Ok(false);
    };
    let name = crate::namespaces::type_name(t);
    let file = match t {
        LinuxNamespaceType::Network => "net",
        LinuxNamespaceType::Mount => "mnt",
        _ => name,
    };
    let mine = format!("/proc/self/ns/{file}");
    let mine = fs::metadata(&mine).ctx(|| format!("stat {mine}"))?;
    let theirs = fs::metadata(path)
        .ctx(|| format!("linux.namespaces: {name} namespace {}", path.display()))?;
    Ok(mine.dev() == theirs.dev() && mine.ino() == theirs.ino())
}

/// The namespace a sysctl belongs to, for the sysctls that are namespaced (runc's list).
fn sysctl_namespace(key: &str) -> Option<LinuxNamespaceType> {
    const IPC: &[&str] = &[
        "kernel.msgmax",
        "kernel.msgmnb",
        "kernel.msgmni",
        "kernel.sem",
        "kernel.shmall",
        "kernel.shmmax",
        "kernel.shmmni",
        "kernel.shm_rmid_forced",
    ];
    if IPC.contains(&key) || key.starts_with("fs.mqueue.") {
        Some(LinuxNamespaceType::Ipc)
    } else if key.starts_with("net.") {
        Some(LinuxNamespaceType::Network)
    } else if key == "kernel.hostname" || key == "kernel.domainname" {
        Some(LinuxNamespaceType::Uts)
    } else if key.starts_with("user.") {
        // The ucount limits (user.max_*) belong to the user namespace (runc 1.4 too).
        Some(LinuxNamespaceType::User)
    } else {
        None
    }
}

/// Namespace types that must be unique in `linux.namespaces`.
pub fn check_unique(types: &[LinuxNamespaceType]) -> Result<()> {
    let mut seen = HashSet::new();
    for (i, t) in types.iter().enumerate() {
        if !seen.insert(*t) {
            return Err(Error::config(
                format!("linux.namespaces[{i}]"),
                format!("duplicate {} namespace", crate::namespaces::type_name(*t)),
            ));
        }
    }
    Ok(())
}

const DEFAULT_SPEC: &str = r#"{
  "ociVersion": "1.3.0",
  "process": {
    "terminal": true,
    "user": { "uid": 0, "gid": 0 },
    "args": ["sh"],
    "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
    "cwd": "/",
    "capabilities": {
      "bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "effective": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    },
    "rlimits": [{ "type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024 }],
    "noNewPrivileges": true
  },
  "root": { "path": "rootfs", "readonly": true },
  "hostname": "hull",
  "mounts": [
    { "destination": "/proc", "type": "proc", "source": "proc" },
    { "destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"] },
    { "destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"] },
    { "destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] },
    { "destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"] },
    { "destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"] },
    { "destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", "ro"] }
  ],
  "linux": {
    "resources": { "devices": [{ "allow": false, "access": "rwm" }] },
    "namespaces": [{ "type": "pid" }, { "type": "network" }, { "type": "ipc" }, { "type": "uts" }, { "type": "mount" }],
    "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
    "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
  }
}"#;

/// The default config `hull spec` writes (runc's, with hull's hostname).
pub fn default_spec(rootless: bool) -> serde_json::Value {
    // DEFAULT_SPEC is a constant checked by the unit tests below.
    let mut v: serde_json::Value = serde_json::from_str(DEFAULT_SPEC).unwrap_or_default();
    // The version hull implements, whatever the template says.
    v["ociVersion"] = crate::OCI_VERSION.into();
    if rootless {
        let uid = nix::unistd::getuid().as_raw();
        let gid = nix::unistd::getgid().as_raw();
        let linux = &mut v["linux"];
        linux["resources"] = serde_json::Value::Null;
        linux["namespaces"] = serde_json::json!([{"type":"pid"},{"type":"ipc"},{"type":"uts"},{"type":"mount"},{"type":"user"}]);
        linux["uidMappings"] = serde_json::json!([{"containerID":0,"hostID":uid,"size":1}]);
        linux["gidMappings"] = serde_json::json!([{"containerID":0,"hostID":gid,"size":1}]);
        if let Some(obj) = linux.as_object_mut() {
            obj.remove("resources");
        }
        if let Some(mounts) = v["mounts"].as_array_mut() {
            mounts.retain(|m| m["destination"] != "/sys/fs/cgroup");
            for m in mounts.iter_mut() {
                if m["destination"] == "/sys" {
                    *m = serde_json::json!({"destination":"/sys","type":"none","source":"/sys","options":["rbind","nosuid","noexec","nodev","ro"]});
                }
                if m["destination"] == "/dev/pts" {
                    m["options"] = serde_json::json!([
                        "nosuid",
                        "noexec",
                        "newinstance",
                        "ptmxmode=0666",
                        "mode=0620"
                    ]);
                }
                // /dev/mqueue stays an mqueue mount (as runc writes it): the spec has an ipc
                // namespace of its own, where mqueue mounts without privilege, while a bind
                // of the host's /dev/mqueue fails on hosts that have none.
            }
        }
    }
    v
}

/// `hull spec`: writes the default config.json into `bundle` (refusing to overwrite one).
pub fn write_default(bundle: &Path, rootless: bool) -> Result<()> {
    let path = bundle.join("config.json");
    if path.exists() {
        return Err(Error::container(format!(
            "File {} exists. Remove it first",
            path.display()
        )));
    }
    let text = serde_json::to_string_pretty(&default_spec(rootless))
        .map_err(|e| Error::container(format!("encode spec: {e}")))?;
    fs::write(&path, text + "\n").ctx(|| format!("write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_spec_is_a_valid_spec() {
        for rootless in [false, true] {
            let v = default_spec(rootless);
            let spec: Spec = serde_json::from_value(v).expect("default spec parses");
            validate(&spec).expect("default spec validates");
            let ns = Namespaces::from_spec(&spec).expect("namespaces");
            validate_namespaced(&spec, &ns).expect("namespaced checks");
        }
    }

    fn with(f: impl FnOnce(&mut serde_json::Value)) -> Result<()> {
        let mut v = default_spec(false);
        f(&mut v);
        let spec: Spec = serde_json::from_value(v).map_err(|e| Error::config("json", e))?;
        validate(&spec)?;
        let ns = Namespaces::from_spec(&spec)?;
        validate_namespaced(&spec, &ns)
    }

    fn field_of(r: Result<()>) -> String {
        match r {
            Err(Error::Config { field, .. }) => field,
            other => format!("unexpected: {other:?}"),
        }
    }

    #[test]
    fn sysctl_names_in_both_forms() {
        assert_eq!(sysctl_path("net.ipv4.ip_forward"), "net/ipv4/ip_forward");
        assert_eq!(sysctl_path("net/ipv4/ip_forward"), "net/ipv4/ip_forward");
        assert_eq!(
            sysctl_dotted("net/ipv4/conf/eth0.100/rp_filter"),
            "net.ipv4.conf.eth0/100.rp_filter"
        );
        assert_eq!(
            sysctl_path("net.ipv4.conf.eth0/100.rp_filter"),
            "net/ipv4/conf/eth0.100/rp_filter"
        );
        let sysctl = |k: &str| {
            with(|v| v["linux"]["sysctl"] = serde_json::json!({ k: "1" }))
                .map_err(|e| e.to_string())
        };
        assert!(sysctl("net/ipv4/conf/lo/forwarding").is_ok());
        assert!(sysctl("kernel.domainname").is_ok());
        assert!(sysctl("kernel.hostname").is_err());
        assert!(sysctl("net.ipv4..ip_forward").is_err());
        assert!(sysctl("net/../kernel/panic").is_err());
        assert!(sysctl("vm.swappiness").is_err());
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(
            field_of(with(|v| v["ociVersion"] = "2.0.0".into())),
            "ociVersion"
        );
        assert_eq!(
            field_of(with(|v| v["process"]["args"] = serde_json::json!([]))),
            "process.args"
        );
        assert_eq!(
            field_of(with(|v| v["process"]["cwd"] = "rel".into())),
            "process.cwd"
        );
        assert_eq!(
            field_of(with(
                |v| v["process"]["env"] = serde_json::json!(["NOEQUALS"])
            )),
            "process.env[0]"
        );
        assert_eq!(
            field_of(with(|v| v["mounts"][1]["destination"] = "dev".into())),
            "mounts[1].destination"
        );
        assert_eq!(
            field_of(with(|v| v["linux"]["rootfsPropagation"] = "weird".into())),
            "linux.rootfsPropagation"
        );
        assert_eq!(
            field_of(with(
                |v| v["linux"]["namespaces"] = serde_json::json!([{"type":"pid"},{"type":"pid"}])
            )),
            "linux.namespaces[1]"
        );
        assert_eq!(
            field_of(with(
                |v| v["linux"]["namespaces"] = serde_json::json!([{"type":"mount"}])
            )),
            "hostname"
        );
        assert_eq!(
            field_of(with(
                |v| v["linux"]["sysctl"] = serde_json::json!({"kernel.panic":"1"})
            )),
            "linux.sysctl.kernel.panic"
        );
        assert!(
            with(|v| v["linux"]["sysctl"] = serde_json::json!({"net.ipv4.ip_forward":"1"})).is_ok()
        );
    }
}
