//! `linux.cgroupsPath` under the systemd driver: `[slice]:[prefix]:[name]` to a unit name and
//! the cgroup path systemd will give it (runc's docs/systemd.md is the reference).

use crate::error::{Error, Result};

const FIELD: &str = "linux.cgroupsPath";

/// The unit a container gets, and where its cgroup will be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitPlan {
    /// `<prefix>-<name>.scope`, or `<name>` when it is a slice.
    pub unit: String,
    /// The parent slice of a scope (`Slice=`); `None` when the unit is itself a slice.
    pub slice: Option<String>,
    /// The cgroup path below the hierarchy root: `/system.slice/hull-abc.scope`.
    pub path: String,
}

/// Parses `cgroupsPath` for the systemd driver. Empty means `:hull:<id>` (runc's default is
/// `:runc:<id>`: the prefix names the runtime). An empty slice is `default_slice`
/// (`system.slice`; `user.slice` for a rootless container on the user's manager).
pub fn plan(raw: &str, id: &str, default_slice: &str) -> Result<UnitPlan> {
    let owned;
    let raw = if raw.is_empty() {
        owned = format!(":hull:{id}");
        owned.as_str()
    } else {
        raw
    };
    let parts: Vec<&str> = raw.split(':').collect();
    let [slice, prefix, name] = parts.as_slice() else {
        return Err(Error::config(
            FIELD,
            format!(
                "{raw:?}: expected \"slice:prefix:name\" for the systemd cgroup driver \
                 (--systemd-cgroup)"
            ),
        ));
    };
    let slice = if slice.is_empty() {
        default_slice
    } else {
        slice
    };
    let slice_path = expand_slice(slice)
        .map_err(|why| Error::config(FIELD, format!("{raw:?}: slice {slice:?}: {why}")))?;
    if name.is_empty() {
        return Err(Error::config(FIELD, format!("{raw:?}: the name is empty")));
    }
    if name.ends_with(".slice") {
        // The container's unit is a slice of its own; prefix is ignored, as in runc.
        let path = expand_slice(name)
            .map_err(|why| Error::config(FIELD, format!("{raw:?}: {name:?}: {why}")))?;
        return Ok(UnitPlan {
            unit: name.to_string(),
            slice: None,
            path,
        });
    }
    let unit = if prefix.is_empty() {
        format!("{name}.scope")
    } else {
        format!("{prefix}-{name}.scope")
    };
    check_unit_name(&unit).map_err(|why| Error::config(FIELD, format!("{raw:?}: {why}")))?;
    Ok(UnitPlan {
        path: format!("{}/{unit}", slice_path.trim_end_matches('/')),
        unit,
        slice: Some(slice.to_string()),
    })
}

/// A slice name to its cgroup path, as systemd nests them: `a-b-c.slice` is
/// `/a.slice/a-b.slice/a-b-c.slice`, and `-.slice` (or `-`) is the root.
pub fn expand_slice(slice: &str) -> std::result::Result<String, String> {
    if slice == "-" || slice == "-.slice" {
        return Ok("/".into());
    }
    let Some(stem) = slice.strip_suffix(".slice") else {
        return Err("a slice name ends in \".slice\"".into());
    };
    if slice.contains('/') {
        return Err("a slice name has no \"/\" (nesting is spelled with \"-\")".into());
    }
    check_unit_name(slice)?;
    let mut path = String::new();
    let mut prefix = String::new();
    for part in stem.split('-') {
        if part.is_empty() {
            return Err("empty component (a leading, trailing or double \"-\")".into());
        }
        if !prefix.is_empty() {
            prefix.push('-');
        }
        prefix.push_str(part);
        path.push('/');
        path.push_str(&prefix);
        path.push_str(".slice");
    }
    Ok(path)
}

/// systemd's unit-name rules that matter here: printable ASCII from its allowed set, not too
/// long. A name outside them would make systemd refuse the unit later, with a vaguer error.
fn check_unit_name(unit: &str) -> std::result::Result<(), String> {
    const MAX: usize = 255;
    if unit.len() > MAX {
        return Err(format!("unit name {unit:?} is longer than {MAX} bytes"));
    }
    let ok = unit
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b":-_.\\@".contains(&b));
    if !ok {
        return Err(format!(
            "unit name {unit:?} has characters systemd does not allow \
             (letters, digits and \":-_.\\@\" only)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_nest_like_systemd() {
        assert_eq!(expand_slice("system.slice").as_deref(), Ok("/system.slice"));
        assert_eq!(
            expand_slice("kubepods-besteffort-pod1.slice").as_deref(),
            Ok("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice")
        );
        assert_eq!(expand_slice("-.slice").as_deref(), Ok("/"));
        assert!(expand_slice("a--b.slice").is_err());
        assert!(expand_slice("-a.slice").is_err());
        assert!(expand_slice("a.slice/b.slice").is_err());
        assert!(expand_slice("system").is_err());
    }

    #[test]
    fn engines_paths() {
        let p = plan("system.slice:docker:abc", "abc", "system.slice").ok();
        assert_eq!(
            p,
            Some(UnitPlan {
                unit: "docker-abc.scope".into(),
                slice: Some("system.slice".into()),
                path: "/system.slice/docker-abc.scope".into(),
            })
        );
        let k = plan(
            "kubepods-besteffort-podX.slice:cri-containerd:c1",
            "c1",
            "system.slice",
        )
        .ok()
        .map(|p| p.path);
        assert_eq!(
            k.as_deref(),
            Some("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-podX.slice/cri-containerd-c1.scope")
        );
        let d = plan("", "x1", "system.slice").ok();
        assert_eq!(d.map(|p| p.unit).as_deref(), Some("hull-x1.scope"));
        let u = plan(":p:n", "n", "user.slice").ok().map(|p| p.path);
        assert_eq!(u.as_deref(), Some("/user.slice/p-n.scope"));
        let s = plan("machine.slice:libpod:pod-a.slice", "x", "system.slice").ok();
        assert_eq!(
            s,
            Some(UnitPlan {
                unit: "pod-a.slice".into(),
                slice: None,
                path: "/pod.slice/pod-a.slice".into(),
            })
        );
    }

    #[test]
    fn malformed_paths_name_the_field() {
        for bad in [
            "/a/b",
            "a:b",
            "a:b:c:d",
            "x.slice:p:",
            "nosuffix:p:n",
            "s.slice:p:n/x",
        ] {
            let e = plan(bad, "id", "system.slice").err().map(|e| e.to_string());
            assert!(
                e.as_deref()
                    .is_some_and(|e| e.starts_with("linux.cgroupsPath: ")),
                "{bad}: {e:?}"
            );
        }
    }
}
