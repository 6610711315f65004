//! Whether a persisted [`CgroupState`] is the container's own. state.json lives in a
//! directory an attacker with write access to `--root` (or a bug) can change; `delete`
//! kills every process in the cgroup it names and removes the directories it lists, so a
//! state pointed at another cgroup would kill and remove someone else's. [`verify_state`]
//! checks the state against the path the container's config asked for.

use std::path::{Component, Path};

use crate::error::{Error, Result};
use crate::path::{self, SpecPath};
use crate::{CgroupState, CGROUP_ROOT};

/// Checks that `state` describes the cgroup that `linux.cgroupsPath` = `cgroups_path` gives
/// container `id`: its path is that path (or, for a relative one, ends with it), every
/// directory is that path under a hierarchy below [`CGROUP_ROOT`], and every directory
/// listed as created by hull is one of the components of that path, not above it.
pub fn verify_state(
    state: &CgroupState,
    cgroups_path: Option<&Path>,
    id: &str,
    systemd: bool,
) -> Result<()> {
    if !matches!(state.mode.as_str(), "v1" | "v2") {
        return Err(mismatch(format!("unknown cgroup mode {:?}", state.mode)));
    }
    if let Some(unit) = &state.systemd_unit {
        return verify_systemd(state, unit, cgroups_path, id);
    }
    let expected = path::parse(cgroups_path, id, systemd)?;
    verify_fs(state, &expected)
}

/// The systemd driver's state: the unit must be the one the config names (delete stops it),
/// and the cgroup that unit's (a scope's path is wherever systemd put it, so only its last
/// component is fixed; a slice's path is fixed by its name).
fn verify_systemd(
    state: &CgroupState,
    unit: &str,
    cgroups_path: Option<&Path>,
    id: &str,
) -> Result<()> {
    let raw = cgroups_path
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    let default_slice = if state.systemd_user {
        "user.slice"
    } else {
        "system.slice"
    };
    let plan = crate::systemd::unit::plan(&raw, id, default_slice)?;
    if unit != plan.unit {
        return Err(mismatch(format!(
            "systemd unit {unit:?} is not the config's {:?}",
            plan.unit
        )));
    }
    let path_ok = match plan.slice {
        Some(_) => state.path.ends_with(&format!("/{unit}")),
        None => state.path == plan.path,
    };
    if !path_ok {
        return Err(mismatch(format!(
            "path {:?} is not systemd unit {unit:?}'s",
            state.path
        )));
    }
    verify_fs(state, &SpecPath::Absolute(state.path.clone()))
}

fn mismatch(msg: String) -> Error {
    Error::msg(format!(
        "state.json's cgroup is not the container's own: {msg}"
    ))
}

/// The normal components of an absolute, lexically clean path; None for anything else.
fn parts(p: &str) -> Option<Vec<&str>> {
    let mut out = Vec::new();
    let mut comps = Path::new(p).components();
    if comps.next() != Some(Component::RootDir) {
        return None;
    }
    for c in comps {
        match c {
            Component::Normal(s) => out.push(s.to_str()?),
            _ => return None,
        }
    }
    Some(out)
}

fn verify_fs(state: &CgroupState, expected: &SpecPath) -> Result<()> {
    let (want, exact) = match expected {
        SpecPath::Absolute(p) => (p.as_str(), true),
        SpecPath::Relative(p) => (p.as_str(), false),
    };
    let want: Vec<&str> = want.split('/').filter(|s| !s.is_empty()).collect();
    let path = parts(&state.path).ok_or_else(|| mismatch(format!("path {:?}", state.path)))?;
    let matches = if exact {
        path == want
    } else {
        path.ends_with(&want)
    };
    if !matches {
        return Err(mismatch(format!(
            "path {:?} is not the config's {:?}",
            state.path,
            want.join("/")
        )));
    }
    let root = parts(CGROUP_ROOT).unwrap_or_default();
    // Each directory: <CGROUP_ROOT>/<at most one hierarchy name>/<path>.
    let mut dirs = Vec::new();
    for d in state.dirs.values() {
        let p = parts(d).ok_or_else(|| mismatch(format!("directory {d:?}")))?;
        let ok = p.starts_with(&root)
            && p.ends_with(&path)
            && p.len() >= root.len() + path.len()
            && p.len() - path.len() - root.len() <= 1;
        if !ok {
            return Err(mismatch(format!(
                "directory {d:?} is not {:?} under {CGROUP_ROOT}",
                state.path
            )));
        }
        dirs.push(p);
    }
    // Each created directory: a directory of the container's, or one of its parents down
    // from the first component the config named (never above: those hull did not make).
    for c in &state.created {
        let p = parts(c).ok_or_else(|| mismatch(format!("created directory {c:?}")))?;
        let ours = dirs
            .iter()
            .any(|d| d.starts_with(&p) && p.len() > d.len() - want.len());
        if !ours {
            return Err(mismatch(format!(
                "created directory {c:?} is not part of {:?}",
                state.path
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn st(path: &str, dirs: &[(&str, &str)], created: &[&str]) -> CgroupState {
        CgroupState {
            mode: "v1".into(),
            path: path.into(),
            created: created.iter().map(|s| s.to_string()).collect(),
            dirs: dirs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
            ..Default::default()
        }
    }

    #[test]
    fn systemd_state_must_name_the_configs_unit() {
        let mut s = st(
            "/system.slice/docker-abc.scope",
            &[("", "/sys/fs/cgroup/system.slice/docker-abc.scope")],
            &[],
        );
        s.mode = "v2".into();
        s.systemd_unit = Some("docker-abc.scope".into());
        let cfg = Path::new("system.slice:docker:abc");
        assert!(verify_state(&s, Some(cfg), "abc", true).is_ok());
        // Pointed at another unit: delete would stop it.
        s.systemd_unit = Some("ssh.service".into());
        assert!(verify_state(&s, Some(cfg), "abc", true).is_err());
        // The right unit, but another cgroup.
        s.systemd_unit = Some("docker-abc.scope".into());
        s.path = "/system.slice/ssh.service".into();
        s.dirs = [(
            String::new(),
            "/sys/fs/cgroup/system.slice/ssh.service".into(),
        )]
        .into();
        assert!(verify_state(&s, Some(cfg), "abc", true).is_err());
    }

    #[test]
    fn own_state_passes() {
        let s = st(
            "/hull/c1",
            &[
                ("memory", "/sys/fs/cgroup/memory/hull/c1"),
                ("", "/sys/fs/cgroup/unified/hull/c1"),
            ],
            &[
                "/sys/fs/cgroup/memory/hull",
                "/sys/fs/cgroup/memory/hull/c1",
            ],
        );
        verify_state(&s, Some(Path::new("/hull/c1")), "c1", false).expect("own");
        let mut v2 = st("/c1", &[("", "/sys/fs/cgroup/c1")], &["/sys/fs/cgroup/c1"]);
        v2.mode = "v2".into();
        verify_state(&v2, None, "c1", false).expect("own v2");
        let rel = st(
            "/user.slice/sess/pod/c1",
            &[("memory", "/sys/fs/cgroup/memory/user.slice/sess/pod/c1")],
            &["/sys/fs/cgroup/memory/user.slice/sess/pod/c1"],
        );
        verify_state(&rel, Some(Path::new("pod/c1")), "c1", false).expect("own relative");
    }

    #[test]
    fn another_cgroup_is_refused() {
        let other = st(
            "/victim",
            &[("memory", "/sys/fs/cgroup/memory/victim")],
            &["/sys/fs/cgroup/memory/victim"],
        );
        assert!(verify_state(&other, None, "c1", false).is_err());
        // The right path, but a directory elsewhere.
        let moved = st(
            "/c1",
            &[("memory", "/sys/fs/cgroup/memory/victim/c1")],
            &["/sys/fs/cgroup/memory/victim/c1"],
        );
        assert!(verify_state(&moved, None, "c1", false).is_err());
        let outside = st("/c1", &[("memory", "/tmp/x/c1")], &[]);
        assert!(verify_state(&outside, None, "c1", false).is_err());
        let dotdot = st("/c1", &[("memory", "/sys/fs/cgroup/memory/../c1")], &[]);
        assert!(verify_state(&dotdot, None, "c1", false).is_err());
        // A parent hull did not make (above the config's path) listed as created.
        let above = st(
            "/hull/c1",
            &[("memory", "/sys/fs/cgroup/memory/hull/c1")],
            &["/sys/fs/cgroup/memory", "/sys/fs/cgroup/memory/hull/c1"],
        );
        assert!(verify_state(&above, Some(Path::new("/hull/c1")), "c1", false).is_err());
        let created_elsewhere = st(
            "/c1",
            &[("memory", "/sys/fs/cgroup/memory/c1")],
            &["/sys/fs/cgroup/cpu/victim"],
        );
        assert!(verify_state(&created_elsewhere, None, "c1", false).is_err());
    }
}
