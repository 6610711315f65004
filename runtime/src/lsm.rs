//! LSM labels (config.md `process.apparmorProfile`, `process.selinuxLabel`; config-linux.md
//! `linux.mountLabel`).
//!
//! A label on a host without that LSM is an error up front ([`validate`]), as runc refuses
//! an SELinux label with SELinux disabled: silently running a container unconfined that was
//! meant to be confined is the worst outcome. Where the LSM exists, the label is set for the
//! next `execve` by writing the task's `attr/exec` file, through a procfs that was opened
//! before the container's mounts and checked to be procfs (an image cannot redirect the
//! write with a fake /proc: CVE-2019-19921, CVE-2025-52881), under `thread-self` so the
//! label lands on the thread that will exec.

use std::os::fd::BorrowedFd;
use std::path::Path;

use oci_spec::runtime::{Process, Spec};

use crate::error::{Context, Error, Result};

/// AppArmor is usable: securityfs has it and the module says it is enabled (runc's test).
pub fn apparmor_enabled() -> bool {
    Path::new("/sys/kernel/security/apparmor").exists()
        && std::fs::read("/sys/module/apparmor/parameters/enabled")
            .is_ok_and(|b| b.starts_with(b"Y"))
}

/// SELinux is usable: selinuxfs is mounted at /sys/fs/selinux.
pub fn selinux_enabled() -> bool {
    const SELINUX_MAGIC: libc::__fsword_t = 0xf97c_ff8c;
    nix::sys::statfs::statfs("/sys/fs/selinux")
        .is_ok_and(|s| s.filesystem_type().0 == SELINUX_MAGIC)
}

fn set(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|s| !s.is_empty())
}

/// Refuses labels for an LSM the host does not have.
pub fn validate(spec: &Spec) -> Result<()> {
    if let Some(p) = spec.process() {
        check_process(p)?;
    }
    let mount_label = spec.linux().as_ref().and_then(|l| set(l.mount_label()));
    if mount_label.is_some() && !selinux_enabled() {
        return Err(Error::config(
            "linux.mountLabel",
            "mount label is specified in config, but SELinux is disabled or not supported",
        ));
    }
    Ok(())
}

/// Refuses a process label for an LSM the host does not have (also for `exec --process`).
pub fn check_process(p: &Process) -> Result<()> {
    if let Some(profile) = set(p.apparmor_profile()) {
        if !apparmor_enabled() {
            return Err(Error::config(
                "process.apparmorProfile",
                format!("{profile:?} is set but AppArmor is not enabled on this host"),
            ));
        }
    }
    if set(p.selinux_label()).is_some() && !selinux_enabled() {
        return Err(Error::config(
            "process.selinuxLabel",
            "selinux label is specified in config, but SELinux is disabled or not supported",
        ));
    }
    Ok(())
}

/// The mount data for a new `fstype` mount with `linux.mountLabel` applied: `context="..."`
/// as runc adds it, except for procfs and sysfs (their labels come from policy, and runc
/// leaves them alone) and mqueue, which does not take the option.
pub fn mount_data(data: &str, fstype: &str, label: Option<&str>) -> String {
    match label.filter(|l| !l.is_empty()) {
        Some(l) if !matches!(fstype, "proc" | "sysfs" | "mqueue") => {
            let ctx = format!("context=\"{l}\"");
            if data.is_empty() {
                ctx
            } else {
                format!("{data},{ctx}")
            }
        }
        _ => data.to_string(),
    }
}

/// Sets the labels the program gets at `execve`: `apparmor` is the profile name, `selinux`
/// the process label. `procfs` must be a procfs fd opened outside the container's mounts.
pub fn apply(procfs: BorrowedFd<'_>, apparmor: Option<&str>, selinux: Option<&str>) -> Result<()> {
    let apparmor = apparmor.filter(|s| !s.is_empty());
    let selinux = selinux.filter(|s| !s.is_empty());
    if apparmor.is_none() && selinux.is_none() {
        return Ok(());
    }
    let st = nix::sys::statfs::fstatfs(procfs).ctx(|| "statfs procfs")?;
    if st.filesystem_type() != nix::sys::statfs::PROC_SUPER_MAGIC {
        return Err(Error::container(
            "LSM labels: the procfs handle is not procfs",
        ));
    }
    // "<pid>/task/<tid>" as this procfs numbers us, so no symlink is followed on the way.
    let me = nix::fcntl::readlinkat(procfs, "thread-self").ctx(|| "readlink /proc/thread-self")?;
    let me = me.to_string_lossy();
    if let Some(profile) = apparmor {
        // Newer kernels have a per-LSM directory; attr/exec is the old shared file.
        let text = format!("exec {profile}");
        let r = crate::init::write_proc(procfs, &format!("{me}/attr/apparmor/exec"), &text);
        if let Err(e) = r {
            if e.errno() != Some(libc::ENOENT) {
                return Err(with_field("process.apparmorProfile", e));
            }
            crate::init::write_proc(procfs, &format!("{me}/attr/exec"), &text)
                .map_err(|e| with_field("process.apparmorProfile", e))?;
        }
    }
    if let Some(label) = selinux {
        // keycreate first: the session keyring the init joins next gets the container's
        // label too (runc's SetKeyLabel).
        for attr in ["keycreate", "exec"] {
            crate::init::write_proc(procfs, &format!("{me}/attr/{attr}"), label)
                .map_err(|e| with_field("process.selinuxLabel", e))?;
        }
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn spec_with(f: impl FnOnce(&mut serde_json::Value)) -> Spec {
        let mut v = crate::spec::default_spec(false);
        f(&mut v);
        serde_json::from_value(v).expect("spec")
    }

    fn field(r: Result<()>) -> String {
        match r {
            Err(Error::Config { field, .. }) => field,
            other => format!("unexpected {other:?}"),
        }
    }

    #[test]
    fn labels_without_the_lsm_are_refused() {
        assert!(validate(&spec_with(|_| {})).is_ok());
        assert!(validate(&spec_with(|v| v["process"]["apparmorProfile"] = "".into())).is_ok());
        if !apparmor_enabled() {
            let s = spec_with(|v| v["process"]["apparmorProfile"] = "docker-default".into());
            assert_eq!(field(validate(&s)), "process.apparmorProfile");
        }
        if !selinux_enabled() {
            let s = spec_with(|v| v["process"]["selinuxLabel"] = "system_u:system_r:x:s0".into());
            assert_eq!(field(validate(&s)), "process.selinuxLabel");
        }
        if !selinux_enabled() {
            let s = spec_with(|v| v["linux"]["mountLabel"] = "system_u:object_r:x:s0".into());
            assert_eq!(field(validate(&s)), "linux.mountLabel");
        }
    }

    #[test]
    fn mount_label_goes_into_the_data() {
        let l = Some("system_u:object_r:container_file_t:s0:c1,c2");
        assert_eq!(
            mount_data("mode=755", "tmpfs", l),
            "mode=755,context=\"system_u:object_r:container_file_t:s0:c1,c2\""
        );
        assert_eq!(mount_data("", "devpts", Some("x")), "context=\"x\"");
        assert_eq!(mount_data("", "proc", l), "");
        assert_eq!(mount_data("a=b", "mqueue", l), "a=b");
        assert_eq!(mount_data("a=b", "tmpfs", None), "a=b");
    }

    #[test]
    fn apply_refuses_a_procfs_that_is_not_procfs() {
        let tmp = std::fs::File::open("/").expect("open /");
        use std::os::fd::AsFd;
        let r = apply(tmp.as_fd(), Some("x"), None);
        assert!(r.is_err());
        assert!(apply(tmp.as_fd(), None, Some("")).is_ok(), "nothing to do");
    }
}
