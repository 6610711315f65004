//! Running as an unprivileged user (docs/rootless.md): whether hull is rootless, where its
//! state lives then, and what a user may ask of the kernel without help.
//!
//! runc keeps two notions apart, and so does hull:
//! - **rootless EUID** (`euid != 0`): the kernel refuses what only root may do; hull writes
//!   id maps the unprivileged way (or through `newuidmap`/`newgidmap`) and never tries
//!   mknod, setgroups or a cgroup it cannot write.
//! - **rootless cgroups** (`--rootless true|false|auto`, [`Mode::resolve`]): a cgroup that
//!   cannot be made is skipped with a warning when the config asks no limits, and the
//!   systemd driver talks to the user's own manager.

use std::path::PathBuf;

use oci_spec::runtime::LinuxIdMapping;

use crate::error::{Error, Result};

/// `--rootless`: `true`, `false` or `auto` (runc's `parseBoolOrAuto`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    #[default]
    Auto,
    On,
    Off,
}

impl Mode {
    /// Parses the flag's value as runc does (Go's `strconv.ParseBool`, or `auto`/empty).
    pub fn parse(s: &str) -> Result<Mode> {
        let is = |w: &str| s.eq_ignore_ascii_case(w);
        match s {
            "" => Ok(Mode::Auto),
            "1" | "t" | "T" => Ok(Mode::On),
            "0" | "f" | "F" => Ok(Mode::Off),
            _ if is("auto") => Ok(Mode::Auto),
            _ if is("true") => Ok(Mode::On),
            _ if is("false") => Ok(Mode::Off),
            _ => Err(Error::container(format!(
                "--rootless {s:?}: expected true, false or auto"
            ))),
        }
    }

    /// Whether cgroups are handled the rootless way (runc's
    /// `shouldUseRootlessCgroupManager`): `auto` is rootless when euid != 0, or when euid
    /// is 0 inside a user namespace (rootlesskit, podman) — with the systemd driver only if
    /// a user manager is there to talk to (runc asks busctl for the bus owner's uid; hull
    /// takes `DBUS_SESSION_BUS_ADDRESS`, or `$XDG_RUNTIME_DIR/bus`, as the sign of one).
    pub fn resolve(self, systemd_cgroup: bool) -> bool {
        match self {
            Mode::On => true,
            Mode::Off => false,
            Mode::Auto => {
                if !is_root() {
                    return true;
                }
                if !in_user_namespace() {
                    return false;
                }
                if systemd_cgroup {
                    return std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some()
                        || std::env::var_os("XDG_RUNTIME_DIR")
                            .is_some_and(|d| std::path::Path::new(&d).join("bus").exists());
                }
                true
            }
        }
    }
}

/// Whether the effective uid is 0.
pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Whether hull runs in a user namespace other than the host's (runc's `RunningInUserNS`:
/// the host's uid_map is the whole range `0 0 4294967295`).
/// Read once per process (create asks up to four times); a cloned init inherits the answer
/// about hull itself.
pub fn in_user_namespace() -> bool {
    static IN_USERNS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *IN_USERNS.get_or_init(|| match std::fs::read_to_string("/proc/self/uid_map") {
        Ok(s) => !is_full_map(&s),
        Err(_) => false,
    })
}

fn is_full_map(s: &str) -> bool {
    let f: Vec<&str> = s.split_whitespace().collect();
    f == ["0", "0", "4294967295"]
}

/// The default `--root`: `/run/hull`, or `$XDG_RUNTIME_DIR/hull` for a user (runc's
/// `shouldHonorXDGRuntimeDir`: euid != 0, or euid 0 in a user namespace unless `USER` is
/// `root`), as runc uses `$XDG_RUNTIME_DIR/runc`.
pub fn default_root() -> PathBuf {
    let xdg = std::env::var_os("XDG_RUNTIME_DIR").filter(|v| !v.is_empty());
    match xdg {
        Some(x) if honor_xdg_runtime_dir() => PathBuf::from(x).join("hull"),
        _ => PathBuf::from("/run/hull"),
    }
}

fn honor_xdg_runtime_dir() -> bool {
    if !is_root() {
        return true;
    }
    if !in_user_namespace() {
        return false;
    }
    std::env::var("USER").map_or(true, |u| u != "root")
}

/// Whether `maps` is the one mapping a user may write without help: its own id, once.
pub fn is_own_mapping(maps: &[LinuxIdMapping], own: u32) -> bool {
    matches!(maps, [m] if m.size() == 1 && m.host_id() == own)
}

/// Writes `maps` for `pid` with the setuid helper (`newuidmap`/`newgidmap`, the uidmap
/// package), which grants what /etc/subuid or /etc/subgid give the user and the user's own
/// id. Its refusal is the config's error, naming `field`.
pub fn map_with_helper(
    helper: &str,
    field: &str,
    pid: i32,
    maps: &[LinuxIdMapping],
    own: u32,
) -> Result<()> {
    let mut args = vec![pid.to_string()];
    for m in maps {
        args.extend([m.container_id(), m.host_id(), m.size()].map(|v| v.to_string()));
    }
    let mut cmd = std::process::Command::new(helper);
    cmd.args(&args).stdin(std::process::Stdio::null());
    // Not with the signals a foreground `run` blocks (tty::relay_signals).
    crate::sys::exec_unblocked(&mut cmd);
    let out = cmd.output();
    let why = match out {
        Ok(o) if o.status.success() => return Ok(()),
        Ok(o) => format!(
            "{helper} {}: {} ({})",
            args.join(" "),
            String::from_utf8_lossy(&o.stderr).trim(),
            o.status
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            format!("{helper} (package uidmap) is not installed")
        }
        Err(e) => format!("run {helper}: {e}"),
    };
    Err(Error::config(
        field,
        format!(
            "a user maps only its own id ({own}) and its /etc/subuid, /etc/subgid ranges: {why}"
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_values_as_runc_parses_them() {
        assert_eq!(Mode::parse("auto").unwrap(), Mode::Auto);
        assert_eq!(Mode::parse("").unwrap(), Mode::Auto);
        assert_eq!(Mode::parse("true").unwrap(), Mode::On);
        assert_eq!(Mode::parse("1").unwrap(), Mode::On);
        assert_eq!(Mode::parse("F").unwrap(), Mode::Off);
        assert!(Mode::parse("yes").is_err());
        assert!(Mode::On.resolve(false));
        assert!(!Mode::Off.resolve(true));
    }

    #[test]
    fn the_host_map_is_the_full_range() {
        assert!(is_full_map("         0          0 4294967295\n"));
        assert!(!is_full_map("         0       1000          1\n"));
        assert!(!is_full_map("0 1000 1\n1 100000 65536\n"));
    }
}
