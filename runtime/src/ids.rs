//! Checks on user and group ids: `process.user` and the user namespace's id mappings.
//!
//! The kernel gives `(uid_t)-1` (4294967295) a meaning of its own: "no change" to
//! setresuid(2)/setresgid(2) and chown(2). A config asking for it would leave the process as
//! root. hull refuses the same range runc does (0-2147483647) for `process.user`, and for
//! the id mappings every range the kernel could not map (one reaching 4294967295).

use oci_spec::runtime::{LinuxIdMapping, Spec};

use crate::error::{Error, Result};

/// The largest uid or gid a process may be given (runc's bound).
pub const MAX_ID: u32 = i32::MAX as u32;

/// NGROUPS_MAX on Linux: setgroups(2) refuses a longer list with EINVAL.
pub const NGROUPS_MAX: usize = 65536;

fn id(field: String, v: u32) -> Result<()> {
    if v > MAX_ID {
        return Err(Error::config(
            field,
            format!("{v}: uids and gids must be in range 0-{MAX_ID}"),
        ));
    }
    Ok(())
}

/// Checks `process.user` and `linux.uidMappings`/`gidMappings`.
pub fn validate(spec: &Spec) -> Result<()> {
    if let Some(p) = spec.process() {
        let u = p.user();
        id("process.user.uid".into(), u.uid())?;
        id("process.user.gid".into(), u.gid())?;
        let gids = u.additional_gids().as_deref().unwrap_or(&[]);
        if gids.len() > NGROUPS_MAX {
            return Err(Error::config(
                "process.user.additionalGids",
                format!(
                    "{} groups: at most {NGROUPS_MAX} (NGROUPS_MAX) can be set",
                    gids.len()
                ),
            ));
        }
        for (i, g) in gids.iter().enumerate() {
            id(format!("process.user.additionalGids[{i}]"), *g)?;
        }
    }
    if let Some(linux) = spec.linux() {
        for (field, maps) in [
            ("linux.uidMappings", linux.uid_mappings()),
            ("linux.gidMappings", linux.gid_mappings()),
        ] {
            for (i, m) in maps.iter().flatten().enumerate() {
                mapping(&format!("{field}[{i}]"), m)?;
            }
        }
    }
    Ok(())
}

/// One id mapping: a non-empty range that, on both sides, ends below 4294967295 (the
/// kernel's "no id"; a range reaching it or wrapping past it is not a mapping).
pub(crate) fn mapping(field: &str, m: &LinuxIdMapping) -> Result<()> {
    if m.size() == 0 {
        return Err(Error::config(format!("{field}.size"), "must be at least 1"));
    }
    for (key, start) in [("containerID", m.container_id()), ("hostID", m.host_id())] {
        let end = u64::from(start) + u64::from(m.size());
        if end > u64::from(u32::MAX) {
            return Err(Error::config(
                format!("{field}.{key}"),
                format!(
                    "{start} + size {} passes the last id (4294967294)",
                    m.size()
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(f: impl FnOnce(&mut serde_json::Value)) -> String {
        let mut v = crate::spec::default_spec(false);
        f(&mut v);
        let spec: Spec = serde_json::from_value(v).expect("decodes");
        match validate(&spec) {
            Ok(()) => "ok".into(),
            Err(Error::Config { field, .. }) => field,
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn ids_the_kernel_treats_specially_are_refused() {
        use serde_json::json;
        assert_eq!(check(|_| {}), "ok");
        assert_eq!(
            check(|v| v["process"]["user"]["uid"] = json!(4294967295u32)),
            "process.user.uid"
        );
        assert_eq!(
            check(|v| v["process"]["user"]["gid"] = json!(2147483648u32)),
            "process.user.gid"
        );
        assert_eq!(
            check(|v| v["process"]["user"]["additionalGids"] = json!([1, 4294967295u32])),
            "process.user.additionalGids[1]"
        );
        assert_eq!(
            check(|v| v["process"]["user"]["additionalGids"] = json!(vec![1; 65537])),
            "process.user.additionalGids"
        );
        let map = |c: u32, h: u32, s: u32| json!([{"containerID": c, "hostID": h, "size": s}]);
        assert_eq!(
            check(|v| v["linux"]["uidMappings"] = map(0, 100000, 65536)),
            "ok"
        );
        assert_eq!(
            check(|v| v["linux"]["uidMappings"] = map(0, 0, 4294967295)),
            "ok"
        );
        assert_eq!(
            check(|v| v["linux"]["uidMappings"] = map(4294967295, 0, 1)),
            "linux.uidMappings[0].containerID"
        );
        assert_eq!(
            check(|v| v["linux"]["gidMappings"] = map(0, 4294967000, 1000)),
            "linux.gidMappings[0].hostID"
        );
        assert_eq!(
            check(|v| v["linux"]["gidMappings"] = map(0, 0, 0)),
            "linux.gidMappings[0].size"
        );
    }
}
