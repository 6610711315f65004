//! `linux.intelRdt` (config-linux.md "IntelRdt") through the resctrl filesystem: the
//! container's process joins the resctrl group `closID` (or one named after the container),
//! whose `schemata` gets `l3CacheSchema`, `memBwSchema` and the `schemata` lines; with
//! `enableMonitoring` it also gets a monitoring group of its own. A host without resctrl
//! mounted (no RDT hardware, or not mounted) is a config error naming the field.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxIntelRdt;

use crate::error::{Context, Error, Result};

const FIELD: &str = "linux.intelRdt";

/// Where resctrl is mounted on the host, from /proc/self/mountinfo.
pub fn find_resctrl() -> Option<PathBuf> {
    let info = fs::read_to_string("/proc/self/mountinfo").ok()?;
    info.lines().find_map(|l| {
        let (pre, post) = l.split_once(" - ")?;
        (post.split_whitespace().next()? == "resctrl")
            .then(|| pre.split_whitespace().nth(4).map(PathBuf::from))
            .flatten()
    })
}

/// `enableMonitoring` (the `enableCMT`/`enableMBM` it replaced in runtime-spec 1.3.0 are
/// turned into it when the config is decoded: compat.rs).
fn monitoring(rdt: &LinuxIntelRdt) -> bool {
    rdt.enable_monitoring() == &Some(true)
}

/// The resctrl group the container joins: `closID`, or the container's id.
fn group_name<'a>(rdt: &'a LinuxIntelRdt, id: &'a str) -> &'a str {
    rdt.clos_id().as_deref().unwrap_or(id)
}

/// The `schemata` file's content: the L3 and MB lines first, then `schemata`, one per line.
pub fn schemata(rdt: &LinuxIntelRdt) -> String {
    let mut lines: Vec<&str> = Vec::new();
    lines.extend(rdt.l3_cache_schema().as_deref());
    lines.extend(rdt.mem_bw_schema().as_deref());
    lines.extend(rdt.schemata().iter().flatten().map(String::as_str));
    lines
        .iter()
        .flat_map(|l| l.lines())
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Checks the fields against the host's resctrl at `root` (None: not mounted).
pub fn validate(rdt: &LinuxIntelRdt, root: Option<&Path>) -> Result<()> {
    if let Some(c) = rdt.clos_id() {
        if c.is_empty() || c == "." || c == ".." || c.contains('/') || c.contains('\n') {
            return Err(Error::config(
                format!("{FIELD}.closID"),
                format!("{c:?} is not a resctrl group name"),
            ));
        }
    }
    let Some(root) = root else {
        return Err(Error::config(
            FIELD,
            "the host has no resctrl filesystem mounted (no Intel RDT / AMD PQoS support, or \
             resctrl not mounted at /sys/fs/resctrl)",
        ));
    };
    for (field, value, res) in [
        ("l3CacheSchema", rdt.l3_cache_schema(), "L3"),
        ("memBwSchema", rdt.mem_bw_schema(), "MB"),
    ] {
        if value.is_some() && !root.join("info").join(res).is_dir() {
            return Err(Error::config(
                format!("{FIELD}.{field}"),
                format!("the host's resctrl has no {res} resource"),
            ));
        }
    }
    if monitoring(rdt) && !root.join("info/L3_MON").is_dir() {
        return Err(Error::config(
            format!("{FIELD}.enableMonitoring"),
            "the host's resctrl has no monitoring (info/L3_MON)",
        ));
    }
    Ok(())
}

fn write(path: &Path, value: &str, field: &str) -> Result<()> {
    let mut f = fs::OpenOptions::new()
        .write(true)
        .open(path)
        .ctx(|| format!("{field}: open {}", path.display()))?;
    f.write_all(format!("{value}\n").as_bytes())
        .map_err(|e| Error::config(field, format!("write {}: {e}", path.display())))
}

/// Puts `pid` into its resctrl group under `root`, making the group and writing its
/// schemata first; with `enableMonitoring`, also into a monitoring group named `id`.
pub fn setup(root: &Path, rdt: &LinuxIntelRdt, id: &str, pid: i32) -> Result<()> {
    let group = root.join(group_name(rdt, id));
    match fs::create_dir(&group) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && rdt.clos_id().is_some() => {}
        Err(e) => return Err(e).ctx(|| format!("{FIELD}: mkdir {}", group.display())),
    }
    let s = schemata(rdt);
    if !s.is_empty() {
        write(&group.join("schemata"), &s, FIELD)?;
    }
    write(&group.join("tasks"), &pid.to_string(), FIELD)?;
    if monitoring(rdt) {
        let mon = group.join("mon_groups").join(id);
        fs::create_dir_all(&mon).ctx(|| format!("{FIELD}: mkdir {}", mon.display()))?;
        write(&mon.join("tasks"), &pid.to_string(), FIELD)?;
    }
    Ok(())
}

/// Removes what [`setup`] made for the container `id`: its monitoring group, and its
/// resctrl group unless that is a shared `closID`. Missing ones are not an error.
pub fn remove(root: &Path, rdt: &LinuxIntelRdt, id: &str) -> Result<()> {
    let group = root.join(group_name(rdt, id));
    let rm = |p: PathBuf| match fs::remove_dir(&p) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).ctx(|| format!("{FIELD}: remove {}", p.display())),
    };
    if monitoring(rdt) {
        rm(group.join("mon_groups").join(id))?;
    }
    if rdt.clos_id().is_none() {
        rm(group)?;
    }
    Ok(())
}

fn rdt_of(spec: &oci_spec::runtime::Spec) -> Option<&LinuxIntelRdt> {
    spec.linux().as_ref().and_then(|l| l.intel_rdt().as_ref())
}

/// `create`: puts the container's init into its resctrl group, if the config has one. What
/// it made is removed again if it fails part way.
pub fn join(id: &str, spec: &oci_spec::runtime::Spec, pid: i32) -> Result<()> {
    let Some(rdt) = rdt_of(spec) else {
        return Ok(());
    };
    let root = find_resctrl().ok_or_else(|| Error::config(FIELD, "resctrl is gone"))?;
    setup(&root, rdt, id, pid).inspect_err(|_| {
        let _ = remove(&root, rdt, id);
    })
}

/// `delete`: removes the container's resctrl groups (a warning if that fails).
pub fn leave(id: &str, spec: &oci_spec::runtime::Spec) {
    // Only a container with `linux.intelRdt` looks for resctrl (every `delete` calls this).
    let Some(rdt) = rdt_of(spec) else {
        return;
    };
    if let Some(root) = find_resctrl() {
        if let Err(e) = remove(&root, rdt, id) {
            crate::logging::warn(&format!("cleanup: {e}"));
        }
    }
}

/// Removes the group [`join`] made when a later step of `create` fails (dropped armed).
pub(crate) struct JoinedGuard<'a> {
    pub id: &'a str,
    pub spec: &'a oci_spec::runtime::Spec,
    pub armed: bool,
}

impl Drop for JoinedGuard<'_> {
    fn drop(&mut self) {
        if self.armed {
            leave(self.id, self.spec);
        }
    }
}

/// `update --l3-cache-schema/--mem-bw-schema`: rewrites the container's schemata and
/// returns the updated `intelRdt` for the saved config. As runc, only for a container
/// created with `linux.intelRdt`.
pub fn update(
    id: &str,
    spec: &oci_spec::runtime::Spec,
    l3: Option<&str>,
    mb: Option<&str>,
) -> Result<LinuxIntelRdt> {
    let mut rdt = rdt_of(spec).cloned().ok_or_else(|| {
        Error::container("--l3-cache-schema/--mem-bw-schema: the container has no linux.intelRdt")
    })?;
    if let Some(l3) = l3 {
        rdt.set_l3_cache_schema(Some(l3.to_string()));
    }
    if let Some(mb) = mb {
        rdt.set_mem_bw_schema(Some(mb.to_string()));
    }
    let root = find_resctrl();
    validate(&rdt, root.as_deref())?;
    let root = root.ok_or_else(|| Error::config(FIELD, "resctrl is gone"))?;
    write(
        &root.join(group_name(&rdt, id)).join("schemata"),
        &schemata(&rdt),
        FIELD,
    )?;
    Ok(rdt)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rdt(v: serde_json::Value) -> LinuxIntelRdt {
        serde_json::from_value(v).expect("intelRdt")
    }

    /// A fake resctrl: a plain directory with `info/<res>` for each resource given.
    fn fake(name: &str, res: &[&str]) -> PathBuf {
        let root = std::env::temp_dir().join(format!("hull-rdt-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        for r in res {
            fs::create_dir_all(root.join("info").join(r)).expect("fake resctrl");
        }
        root
    }

    /// Real resctrl makes a group's files with the group; the fake makes them by hand.
    fn make_files(dir: &Path) {
        fs::create_dir_all(dir).expect("group");
        for f in ["schemata", "tasks"] {
            fs::write(dir.join(f), "").expect("file");
        }
    }

    #[test]
    fn schemata_lines_in_order() {
        let r = rdt(serde_json::json!({
            "l3CacheSchema": "L3:0=ff", "memBwSchema": "MB:0=50",
            "schemata": ["L2:0=f", " ", "L3CODE:0=f\nL3DATA:0=f"]
        }));
        assert_eq!(
            schemata(&r),
            "L3:0=ff\nMB:0=50\nL2:0=f\nL3CODE:0=f\nL3DATA:0=f"
        );
    }

    #[test]
    fn setup_writes_the_group_and_remove_undoes_it() {
        let root = fake("setup", &["L3", "MB", "L3_MON"]);
        let r = rdt(serde_json::json!({
            "closID": "gold", "l3CacheSchema": "L3:0=f0", "enableMonitoring": true
        }));
        validate(&r, Some(&root)).expect("valid");
        let group = root.join("gold");
        make_files(&group);
        make_files(&group.join("mon_groups/ctr"));
        setup(&root, &r, "ctr", 42).expect("setup");
        assert_eq!(
            fs::read_to_string(group.join("schemata")).expect("s"),
            "L3:0=f0\n"
        );
        assert_eq!(fs::read_to_string(group.join("tasks")).expect("t"), "42\n");
        assert_eq!(
            fs::read_to_string(group.join("mon_groups/ctr/tasks")).expect("t"),
            "42\n"
        );
        // The fake's files stand in the way of rmdir: remove them as the kernel would.
        fs::remove_file(group.join("mon_groups/ctr/tasks")).expect("rm");
        fs::remove_file(group.join("mon_groups/ctr/schemata")).expect("rm");
        remove(&root, &r, "ctr").expect("remove");
        assert!(!group.join("mon_groups/ctr").exists());
        assert!(group.exists(), "a shared closID group stays");
        let _ = fs::remove_dir_all(&root);
    }

    #[test]
    fn refusals_name_the_field() {
        let r = rdt(serde_json::json!({"l3CacheSchema": "L3:0=f"}));
        let e = validate(&r, None).expect_err("no resctrl").to_string();
        assert!(
            e.starts_with("linux.intelRdt: the host has no resctrl"),
            "{e}"
        );
        let root = fake("refuse", &["MB"]);
        let e = validate(&r, Some(&root)).expect_err("no L3").to_string();
        assert!(e.starts_with("linux.intelRdt.l3CacheSchema"), "{e}");
        let mut old = serde_json::json!({"enableCMT": true});
        assert!(crate::compat::intel_rdt_monitoring(&mut old));
        for m in [rdt(serde_json::json!({"enableMonitoring": true})), rdt(old)] {
            let e = validate(&m, Some(&root)).expect_err("no mon").to_string();
            assert!(e.starts_with("linux.intelRdt.enableMonitoring"), "{e}");
        }
        let c = rdt(serde_json::json!({"closID": "../x"}));
        let e = validate(&c, Some(&root))
            .expect_err("bad closID")
            .to_string();
        assert!(e.starts_with("linux.intelRdt.closID"), "{e}");
        let _ = fs::remove_dir_all(&root);
    }
}
