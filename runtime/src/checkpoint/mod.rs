//! `checkpoint` and `restore` with CRIU (runc's checkpoint/restore; docs/checkpoint.md).
//!
//! hull drives `criu swrk` over its RPC ([`rpc`]); [`dump`] checkpoints a running container,
//! [`restore`] makes a container from the images and supervises it like `run`. This module
//! holds what both tell CRIU about the container: its external mounts, the namespaces it
//! joined by path, the CRIU configuration file, and how CRIU failed.

pub mod dump;
pub mod restore;
pub mod rpc;

use std::fs::File;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxNamespaceType as T, Spec};

use crate::error::{Context, Error, Result};
use crate::options::{CgroupMode, CriuOptions};
use rpc::{opt, Msg};

pub use dump::checkpoint;
pub use restore::restore;

/// Written next to the images: the paths of the init's fds 0-2 at dump time, so that a
/// restore hands its own stdio to the pipes among them (runc's descriptors.json).
pub const DESCRIPTORS: &str = "descriptors.json";

/// The criu binary to run: `--criu` (a path, or a name searched in `PATH`), else `criu`.
/// Checked before anything is made, so a host without CRIU gets a clear error.
pub fn find_criu(o: &CriuOptions) -> Result<PathBuf> {
    let want = o.criu.clone().unwrap_or_else(|| PathBuf::from("criu"));
    let found = if want.components().count() > 1 || want.is_absolute() {
        want.is_file().then(|| want.clone())
    } else {
        std::env::var_os("PATH").and_then(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join(&want))
                .find(|c| c.is_file())
        })
    };
    found.ok_or_else(|| {
        Error::container(format!(
            "criu not found: {} is not an executable file{} (install CRIU, e.g. `apt-get \
             install criu`, or pass --criu PATH)",
            want.display(),
            if want.components().count() > 1 {
                ""
            } else {
                " in PATH"
            }
        ))
    })
}

/// `criu_cg_mode` value of a `--manage-cgroups-mode`.
pub fn cg_mode(m: CgroupMode) -> u64 {
    match m {
        CgroupMode::Ignore => 0,
        CgroupMode::Soft => 3,
        CgroupMode::Full => 4,
        CgroupMode::Strict => 5,
    }
}

/// Parses runc's `--manage-cgroups-mode` value.
pub fn parse_cg_mode(s: &str) -> Result<Option<CgroupMode>> {
    Ok(Some(match s {
        "" => return Ok(None),
        "soft" => CgroupMode::Soft,
        "full" => CgroupMode::Full,
        "strict" => CgroupMode::Strict,
        "ignore" => CgroupMode::Ignore,
        o => {
            return Err(Error::container(format!(
                "--manage-cgroups-mode {o:?}: invalid (soft, full, strict or ignore)"
            )))
        }
    }))
}

/// Parses runc's `--empty-ns` value (only `network` is accepted, as in runc).
pub fn parse_empty_ns(s: &str) -> Result<u32> {
    match s {
        "" => Ok(0),
        "network" | "net" => Ok(libc::CLONE_NEWNET as u32),
        o => Err(Error::container(format!(
            "--empty-ns {o:?}: only \"network\" can be left empty"
        ))),
    }
}

/// The directories CRIU works in: the images (opened, CRIU reads them through our fd) and
/// the work directory holding its log (the image directory unless `--work-path`).
pub(crate) struct Dirs {
    pub images: PathBuf,
    pub images_fd: File,
    pub work: PathBuf,
    pub work_fd: File,
}

impl Dirs {
    pub(crate) fn open(o: &CriuOptions, create: bool) -> Result<Dirs> {
        let images = match &o.image_path {
            Some(p) => p.clone(),
            None => std::env::current_dir()
                .ctx(|| "current directory")?
                .join("checkpoint"),
        };
        let work = o.work_path.clone().unwrap_or_else(|| images.clone());
        let open = |p: &Path, what: &str, mk: bool| -> Result<File> {
            if mk {
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(p)
                    .ctx(|| format!("{what}: mkdir {}", p.display()))?;
            }
            File::options()
                .read(true)
                .custom_flags(libc::O_DIRECTORY)
                .open(p)
                .ctx(|| format!("{what}: open {}", p.display()))
        };
        Ok(Dirs {
            images_fd: open(&images, "--image-path", create)?,
            work_fd: open(&work, "--work-path", true)?,
            images,
            work,
        })
    }
}

use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};

/// The options every request carries: the directories, the log, the configuration file,
/// and the flags `checkpoint` and `restore` share.
pub(crate) fn base_opts(o: &CriuOptions, spec: &Spec, dirs: &Dirs, log: &str) -> Msg {
    let mut m = Msg::default();
    m.int32(opt::IMAGES_DIR_FD, dirs.images_fd.as_raw_fd())
        .int32(opt::WORK_DIR_FD, dirs.work_fd.as_raw_fd())
        .int32(opt::LOG_LEVEL, 4)
        .string(opt::LOG_FILE, log)
        .flag(opt::MANAGE_CGROUPS, true)
        .flag(opt::NOTIFY_SCRIPTS, true)
        .flag(opt::SHELL_JOB, o.shell_job)
        .flag(opt::TCP_ESTABLISHED, o.tcp_established)
        .flag(opt::EXT_UNIX_SK, o.ext_unix_sk)
        .flag(opt::FILE_LOCKS, o.file_locks)
        .flag(opt::ORPHAN_PTS_MASTER, true)
        .flag(opt::AUTO_DEDUP, o.auto_dedup)
        .flag(opt::LAZY_PAGES, o.lazy_pages);
    if o.empty_ns != 0 {
        m.uint(opt::EMPTY_NS, o.empty_ns as u64);
    }
    if let Some(mode) = o.manage_cgroups_mode {
        m.uint(opt::MANAGE_CGROUPS_MODE, cg_mode(mode));
    }
    if let Some(f) = config_file(spec) {
        m.string(opt::CONFIG_FILE, &f);
    }
    m
}

/// runc's per-container CRIU configuration: the `org.criu.config` annotation names a file
/// (empty: none at all); without it `/etc/criu/runc.conf`, the file engines' documentation
/// (podman, CRI-O) tells users to write, so a drop-in runtime reads the same one. CRIU
/// ignores a file that does not exist; its settings override the RPC's.
pub fn config_file(spec: &Spec) -> Option<String> {
    match spec
        .annotations()
        .as_ref()
        .and_then(|a| a.get("org.criu.config"))
    {
        Some(f) if f.is_empty() => None,
        Some(f) => Some(f.clone()),
        None => Some("/etc/criu/runc.conf".into()),
    }
}

/// Whether a `mounts[]` entry is a bind mount (of something outside the container).
pub(crate) fn is_bind(m: &oci_spec::runtime::Mount) -> bool {
    m.typ().as_deref() == Some("bind")
        || m.options()
            .iter()
            .flatten()
            .any(|o| o == "bind" || o == "rbind")
}

/// One external mount: where it is in the container, the name the images give it, and
/// (on restore) what on the host is bound there.
#[derive(Debug, PartialEq)]
pub struct External {
    pub dest: String,
    pub name: String,
    pub source: String,
}

/// The mounts CRIU cannot dump as filesystems because their source lies outside the
/// container: `mounts[]` binds (named by destination), files of `linux.maskedPaths`
/// (covered by the host's /dev/null) and device nodes, which are host devices bound in
/// when hull runs in a user namespace (named by their path). Unused entries are harmless.
pub fn externals(spec: &Spec, bundle: &Path, is_dir: impl Fn(&str) -> bool) -> Vec<External> {
    let mut v = Vec::new();
    for m in spec.mounts().iter().flatten().filter(|m| is_bind(m)) {
        let dest = m.destination().to_string_lossy().into_owned();
        let src = m.source().clone().unwrap_or_default();
        let src = if src.is_absolute() {
            src
        } else {
            bundle.join(src)
        };
        v.push(External {
            name: dest.clone(),
            dest,
            source: src.to_string_lossy().into_owned(),
        });
    }
    let linux = spec.linux().as_ref();
    for p in linux
        .and_then(|l| l.masked_paths().as_ref())
        .into_iter()
        .flatten()
    {
        if !is_dir(p) {
            v.push(External {
                dest: p.clone(),
                name: "/dev/null".into(),
                source: "/dev/null".into(),
            });
        }
    }
    let mut devs: Vec<String> = crate::devices::defaults()
        .into_iter()
        .map(|n| n.path.to_string_lossy().into_owned())
        .collect();
    for d in linux
        .and_then(|l| l.devices().as_ref())
        .into_iter()
        .flatten()
    {
        devs.push(d.path().to_string_lossy().into_owned());
    }
    devs.sort();
    devs.dedup();
    for d in devs {
        if !v.iter().any(|e| e.dest == d) {
            v.push(External {
                dest: d.clone(),
                name: d.clone(),
                source: d,
            });
        }
    }
    v
}

/// Namespaces joined by path that CRIU must neither dump nor make: the network namespace
/// (an engine's, with its interfaces) and the pid namespace, as runc treats them. On dump
/// they are marked external with a key, on restore the key is handed an fd of the
/// namespace to restore into.
pub fn external_namespaces(spec: &Spec) -> Vec<(&'static str, &'static str, PathBuf)> {
    let mut v = Vec::new();
    for n in spec
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_ref())
        .into_iter()
        .flatten()
    {
        let (kind, key) = match n.typ() {
            T::Network => ("net", "extRootNetNS"),
            T::Pid => ("pid", "extRootPidNS"),
            _ => continue,
        };
        if let Some(p) = n.path() {
            v.push((kind, key, p.clone()));
        }
    }
    v
}

/// The error for a failed request: CRIU's own message, the last errors of its log, and
/// where the whole log is.
pub(crate) fn criu_failed(what: &str, r: Option<&rpc::Resp>, log: &Path) -> Error {
    let mut msg = format!("criu failed: {what}");
    if let Some(r) = r {
        if let Some(e) = r.cr_errno.filter(|e| *e != 0) {
            msg.push_str(&format!(" (errno {e})"));
        }
        if let Some(m) = r.cr_errmsg.as_deref().filter(|m| !m.is_empty()) {
            msg.push_str(&format!(": {m}"));
        }
    }
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let errors: Vec<&str> = text
        .lines()
        .filter(|l| {
            l.contains("Error (")
                && !r
                    .and_then(|r| r.cr_errmsg.as_deref())
                    .is_some_and(|m| l.contains(m.trim()))
        })
        .collect();
    for l in errors.iter().skip(errors.len().saturating_sub(3)) {
        msg.push_str(&format!("\n  {}", l.trim()));
    }
    msg.push_str(&format!("\nlog file: {}", log.display()));
    Error::container(msg)
}

/// Sends `req` and serves CRIU's notifications with `notify(script, pid, fd)` (each is
/// acknowledged after it returns) until the final response, which is returned.
pub(crate) fn drive(
    s: &rpc::Session,
    req: &Msg,
    what: &str,
    log: &Path,
    mut notify: impl FnMut(&str, i32, Option<OwnedFd>) -> Result<()>,
) -> Result<rpc::Resp> {
    s.send(req)?;
    loop {
        let (r, fd) = s.recv().map_err(|e| match e {
            Error::Container(m) => criu_failed(&format!("{what}: {m}"), None, log),
            e => e,
        })?;
        if !r.success {
            return Err(criu_failed(what, Some(&r), log));
        }
        if r.typ != rpc::req::NOTIFY {
            return Ok(r);
        }
        let (script, pid) = r.notify.clone().unwrap_or_default();
        crate::logging::debug(|| format!("criu notification {script} (pid {pid})"));
        notify(&script, pid, fd)?;
        let mut ack = Msg::default();
        ack.uint(1, rpc::req::NOTIFY).flag(3, true);
        s.send(&ack)?;
    }
}

/// Lets `fd` reach criu under its own number.
pub(crate) fn pass_fd(fd: &impl AsFd) -> Result<i32> {
    rpc::inheritable(fd.as_fd())?;
    Ok(fd.as_fd().as_raw_fd())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: &str) -> Spec {
        serde_json::from_str(json).expect("spec")
    }

    #[test]
    fn externals_name_binds_masks_and_devices() {
        let s = spec(
            r#"{"ociVersion":"1.0.2","root":{"path":"rootfs"},
            "mounts":[{"destination":"/data","type":"bind","source":"d","options":["rbind"]},
                      {"destination":"/tmp","type":"tmpfs","source":"tmpfs"}],
            "linux":{"maskedPaths":["/proc/kcore","/proc/acpi"],
                     "devices":[{"path":"/dev/fuse","type":"c","major":10,"minor":229}]}}"#,
        );
        let e = externals(&s, Path::new("/b"), |p| p == "/proc/acpi");
        assert_eq!(
            e[0],
            External {
                dest: "/data".into(),
                name: "/data".into(),
                source: "/b/d".into()
            }
        );
        assert!(!e.iter().any(|x| x.dest == "/tmp" || x.dest == "/proc/acpi"));
        assert!(e
            .iter()
            .any(|x| x.dest == "/proc/kcore" && x.name == "/dev/null"));
        assert!(e
            .iter()
            .any(|x| x.dest == "/dev/fuse" && x.source == "/dev/fuse"));
        assert!(e
            .iter()
            .any(|x| x.dest == "/dev/null" && x.name == "/dev/null"));
    }

    #[test]
    fn config_file_follows_the_annotation() {
        let s = spec(r#"{"ociVersion":"1.0.2","root":{"path":"r"}}"#);
        assert_eq!(config_file(&s).as_deref(), Some("/etc/criu/runc.conf"));
        let s = spec(
            r#"{"ociVersion":"1.0.2","root":{"path":"r"},"annotations":{"org.criu.config":""}}"#,
        );
        assert_eq!(config_file(&s), None);
        let s = spec(
            r#"{"ociVersion":"1.0.2","root":{"path":"r"},"annotations":{"org.criu.config":"/x"}}"#,
        );
        assert_eq!(config_file(&s).as_deref(), Some("/x"));
    }

    #[test]
    fn flag_values_parse_like_runc() {
        assert_eq!(parse_cg_mode("").ok(), Some(None));
        assert_eq!(parse_cg_mode("full").ok(), Some(Some(CgroupMode::Full)));
        assert!(parse_cg_mode("bogus").is_err());
        assert_eq!(parse_empty_ns("network").ok(), Some(0x4000_0000));
        assert!(parse_empty_ns("pid").is_err());
        let o = CriuOptions {
            criu: Some(PathBuf::from("/nonexistent/criu")),
            ..Default::default()
        };
        let e = find_criu(&o)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.starts_with("criu not found"), "{e}");
    }
}
