//! `linux.cgroupsPath`: what the spec asks for, before it is resolved against a hierarchy.

use std::path::{Component, Path};

use crate::error::{Error, Result};

const FIELD: &str = "linux.cgroupsPath";

/// A parsed, lexically clean cgroups path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpecPath {
    /// Relative to each hierarchy's root, for example `/hull/abc` (always starts with `/`).
    Absolute(String),
    /// Relative to hull's own cgroup (v1: per controller; v2: its parent, like runc).
    Relative(String),
}

/// Parses `linux.cgroupsPath` for the cgroupfs drivers (absent = `/<id>`, as runc). The
/// systemd driver parses its own form ([`crate::systemd::unit`]). A `slice:prefix:name` path
/// without `--systemd-cgroup` is refused: runc would make a directory named after the whole
/// string, which is never what an engine that writes this form means.
pub fn parse(p: Option<&Path>, id: &str, systemd: bool) -> Result<SpecPath> {
    let raw = p
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    if systemd || looks_systemd(&raw) {
        return Err(Error::config(
            FIELD,
            format!(
                "{raw:?} is a systemd unit path (slice:prefix:name): pass --systemd-cgroup \
                 for the systemd cgroup driver, or give a cgroupfs path"
            ),
        ));
    }
    if raw.is_empty() {
        return Ok(SpecPath::Absolute(format!("/{id}")));
    }
    let abs = raw.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for c in Path::new(&raw).components() {
        match c {
            Component::RootDir | Component::CurDir => {}
            Component::Normal(s) => parts.push(s.to_str().unwrap_or("")),
            // `..` could leave the hierarchy (or hull's own cgroup): never what an engine means.
            Component::ParentDir | Component::Prefix(_) => {
                return Err(Error::config(
                    FIELD,
                    format!("{raw:?}: \"..\" is not allowed in a cgroup path"),
                ))
            }
        }
    }
    if parts.is_empty() {
        return Err(Error::config(
            FIELD,
            format!("{raw:?}: names the root cgroup; a container needs its own cgroup"),
        ));
    }
    let joined = parts.join("/");
    Ok(if abs {
        SpecPath::Absolute(format!("/{joined}"))
    } else {
        SpecPath::Relative(joined)
    })
}

fn looks_systemd(raw: &str) -> bool {
    let parts: Vec<&str> = raw.split(':').collect();
    parts.len() == 3 && !raw.contains('/') && (parts[0].is_empty() || parts[0].ends_with(".slice"))
}

/// Parses `exec --cgroup` values, runc's `[<controller>[,<controller>]:]<path>`: the sub-cgroup
/// (relative to the container's cgroup, existing) to run the new process in; `/` is the
/// container's own cgroup. Key `""` is the path for every controller (and the only form
/// cgroup v2 has).
pub fn parse_sub(values: &[String]) -> Result<std::collections::BTreeMap<String, String>> {
    let mut m = std::collections::BTreeMap::new();
    for v in values {
        let (ctrls, p) = match v.split_once(':') {
            Some((c, p)) => (c, p),
            None => ("", v.as_str()),
        };
        // `/` (or `.`) names the container's own cgroup, which `parse` refuses as "the root".
        let own = Path::new(p)
            .components()
            .all(|c| matches!(c, Component::RootDir | Component::CurDir));
        let parsed = if own && !p.is_empty() {
            Ok(SpecPath::Absolute("/".into()))
        } else {
            parse(Some(Path::new(p)), "", false)
        };
        let clean = match parsed {
            Ok(SpecPath::Absolute(a)) => a,
            Ok(SpecPath::Relative(r)) => format!("/{r}"),
            Err(_) => {
                return Err(Error::msg(format!(
                    "--cgroup {v:?}: not a sub-cgroup path (relative to the container's cgroup, no \"..\")"
                )))
            }
        };
        for c in ctrls.split(',') {
            if m.insert(c.to_string(), clean.clone()).is_some() {
                return Err(Error::msg(format!(
                    "--cgroup {v:?}: controller {c:?} given twice"
                )));
            }
        }
    }
    Ok(m)
}

/// Lexically joins a relative cgroup path onto `base` (`/a` + `b/c` = `/a/b/c`).
pub fn join(base: &str, rel: &str) -> String {
    let b = base.trim_end_matches('/');
    format!("{b}/{rel}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_is_slash_id() {
        assert_eq!(
            parse(None, "c1", false).ok(),
            Some(SpecPath::Absolute("/c1".into()))
        );
    }

    #[test]
    fn absolute_and_relative_are_cleaned() {
        assert_eq!(
            parse(Some(Path::new("/hull//a/./b/")), "x", false).ok(),
            Some(SpecPath::Absolute("/hull/a/b".into()))
        );
        assert_eq!(
            parse(Some(Path::new("hull/a")), "x", false).ok(),
            Some(SpecPath::Relative("hull/a".into()))
        );
    }

    #[test]
    fn escapes_and_root_are_rejected() {
        for p in ["/a/../../b", "..", "/", "./"] {
            let e = parse(Some(Path::new(p)), "x", false)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(e.starts_with("linux.cgroupsPath: "), "{p}: {e}");
        }
    }

    #[test]
    fn systemd_paths_need_the_systemd_driver() {
        let e = parse(Some(Path::new("system.slice:docker:abc")), "x", false)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.starts_with("linux.cgroupsPath: "), "{e}");
        assert!(e.contains("pass --systemd-cgroup"), "{e}");
        // A plain path with colons elsewhere is an ordinary cgroupfs path.
        assert!(parse(Some(Path::new("/a:b:c/d")), "x", false).is_ok());
    }

    #[test]
    fn exec_sub_cgroups() {
        let m = parse_sub(&["sub/a".into()]).unwrap_or_default();
        assert_eq!(m.get("").map(String::as_str), Some("/sub/a"));
        let m = parse_sub(&["cpu,cpuacct:x".into(), "memory:/y".into()]).unwrap_or_default();
        assert_eq!(m.get("cpuacct").map(String::as_str), Some("/x"));
        assert_eq!(m.get("memory").map(String::as_str), Some("/y"));
        assert!(parse_sub(&["../up".into()]).is_err());
        // The container's own cgroup, for every controller or for one.
        let m = parse_sub(&["/".into()]).unwrap_or_default();
        assert_eq!(m.get("").map(String::as_str), Some("/"));
        let m = parse_sub(&["memory:/".into()]).unwrap_or_default();
        assert_eq!(m.get("memory").map(String::as_str), Some("/"));
        assert!(parse_sub(&["a".into(), "b".into()]).is_err());
    }

    #[test]
    fn join_paths() {
        assert_eq!(join("/", "a/b"), "/a/b");
        assert_eq!(join("/x/y", "a"), "/x/y/a");
    }
}
