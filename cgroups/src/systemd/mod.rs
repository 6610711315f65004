//! The systemd cgroup driver (`--systemd-cgroup`), as runc's: the container's cgroup is a
//! transient unit that systemd makes and owns, asked for over D-Bus (hull-dbus).
//!
//! - `linux.cgroupsPath` `slice:prefix:name` names a scope `<prefix>-<name>.scope` in `slice`,
//!   or a slice of its own ([`unit`]).
//! - The unit is started once the init exists (a scope cannot be empty): `StartTransientUnit`
//!   with the init's pid, `Delegate=yes`, `DefaultDependencies=no`, accounting for every
//!   controller, the resources systemd can express ([`props`]) and `org.systemd.property.*`
//!   annotations; hull waits for the job. Then the cgroupfs driver for the unit's cgroup
//!   (v2, or v1 on a hybrid/legacy host) writes every resource, the device program and what
//!   systemd cannot express, exactly as runc backs its systemd driver with its fs driver.
//! - Later commands (`exec`, `pause`, `events`, `ps`, `kill --all`) use that cgroupfs driver
//!   alone: no D-Bus on the exec path. `update` sets the unit's properties, then the files.
//!   `delete` stops the unit and resets it if it failed.
//!
//! Placement cost: systemd moves the init into the scope by writing `cgroup.procs`, so the
//! kernel's RCU grace period that hull avoids with the cgroupfs driver (placement.rs) is
//! paid here, inside systemd's job, once per container (docs/cgroups.md has the figures).

pub mod props;
pub mod unit;

use std::collections::HashMap;
use std::os::fd::BorrowedFd;
use std::path::Path;
use std::time::Duration;

use hull_dbus::{Connection, Systemd, Value};
use oci_spec::runtime::LinuxResources;

use crate::error::{Error, Result};
use crate::path::SpecPath;
use crate::{devices, v1, v2, CgroupManager, CgroupState, Host, Stats};

/// How long systemd's jobs may take (runc's timeout too).
const JOB_TIMEOUT: Duration = Duration::from_secs(30);
/// Annotations of this prefix set extra unit properties (runc's docs/systemd.md).
pub const PROPERTY_ANNOTATION: &str = "org.systemd.property.";

/// Which systemd instance owns the unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bus {
    /// The system manager (root): the system bus, or `/run/systemd/private` without one.
    System,
    /// The calling user's manager (rootless): the user bus.
    User,
}

/// The systemd driver; see the module doc.
pub struct SystemdCgroup {
    unit: String,
    slice: Option<String>,
    /// The unit's cgroup below the hierarchy root, as systemd will make it.
    path: String,
    host: Host,
    bus: Bus,
    /// Unit properties from `org.systemd.property.*` annotations.
    extra: Vec<props::Property>,
    /// What `create` was given, applied once the unit exists (`attach`).
    pending: Option<LinuxResources>,
    /// The cgroupfs driver on the unit's cgroup, once it exists.
    fs: Option<Box<dyn CgroupManager>>,
    /// hull started the unit (and so may stop it). A failed start, or a slice that existed
    /// already, is someone else's: cleanup must never stop it.
    owned: bool,
}

impl SystemdCgroup {
    /// The driver for a new container. `raw_path` is `linux.cgroupsPath` (empty = default).
    pub fn new(
        raw_path: &str,
        id: &str,
        host: Host,
        bus: Bus,
        annotations: &HashMap<String, String>,
    ) -> Result<Self> {
        let default_slice = match bus {
            Bus::System => "system.slice",
            Bus::User => "user.slice",
        };
        let plan = unit::plan(raw_path, id, default_slice)?;
        Ok(SystemdCgroup {
            unit: plan.unit,
            slice: plan.slice,
            path: plan.path,
            host,
            bus,
            extra: annotation_properties(annotations)?,
            pending: None,
            fs: None,
            owned: false,
        })
    }

    /// The driver of an existing container, from state.json: no D-Bus until it is needed.
    pub fn load(st: &CgroupState, unit: &str) -> Result<Self> {
        let fs: Box<dyn CgroupManager> = match st.mode.as_str() {
            "v2" => Box::new(v2::V2::load(st)?),
            _ => Box::new(v1::V1::load(st)),
        };
        Ok(SystemdCgroup {
            unit: unit.to_string(),
            slice: None,
            path: st.path.clone(),
            host: Host::V2,
            bus: if st.systemd_user {
                Bus::User
            } else {
                Bus::System
            },
            extra: Vec::new(),
            pending: None,
            fs: Some(fs),
            // state.json records only units hull started.
            owned: true,
        })
    }

    fn connect(&self) -> Result<Systemd> {
        let conn = match self.bus {
            Bus::User => Connection::user(),
            // The bus first, as runc; as root, systemd's private socket where there is no
            // bus daemon (hull-dbus says why not the other way round).
            Bus::System => Connection::system_manager(),
        };
        conn.map(Systemd::new)
            .map_err(|e| Error::msg(format!("systemd cgroup driver: connect to systemd: {e}")))
    }

    fn fs(&self) -> Result<&dyn CgroupManager> {
        self.fs
            .as_deref()
            .ok_or_else(|| Error::msg(format!("systemd unit {} has not been started", self.unit)))
    }

    /// The properties of the new unit: runc's base set, the resources, the annotations.
    fn unit_properties(&self, pid: i32, r: &LinuxResources) -> Result<Vec<props::Property>> {
        let v2 = self.host == Host::V2;
        let mut p: Vec<props::Property> = vec![
            (
                "Description".into(),
                Value::from(format!("hull container {}", self.unit)),
            ),
            ("DefaultDependencies".into(), Value::Bool(false)),
            ("MemoryAccounting".into(), Value::Bool(true)),
            ("CPUAccounting".into(), Value::Bool(true)),
            (
                if v2 {
                    "IOAccounting"
                } else {
                    "BlockIOAccounting"
                }
                .into(),
                Value::Bool(true),
            ),
            ("TasksAccounting".into(), Value::Bool(true)),
        ];
        match &self.slice {
            Some(slice) => {
                p.push(("Slice".into(), Value::from(slice.clone())));
                p.push(("Delegate".into(), Value::Bool(true)));
                p.push((
                    "PIDs".into(),
                    Value::array("u", vec![Value::UInt32(pid as u32)]),
                ));
            }
            // A slice holds no processes itself and cannot be delegated: the parent slice is
            // a weak dependency, and the init is placed below by the cgroupfs driver.
            None => {
                let parent = parent_slice(&self.unit);
                p.push(("Wants".into(), Value::array("s", vec![Value::from(parent)])));
            }
        }
        p.extend(props::resources(r, v2)?);
        let rules = devices::rules(r.devices().as_deref().unwrap_or_default())?;
        let proc_devices = std::fs::read_to_string("/proc/devices").unwrap_or_default();
        p.extend(props::devices(&rules, &proc_devices));
        p.extend(self.extra.iter().cloned());
        Ok(p)
    }

    /// Starts the unit with the init in it and waits for systemd's job. Also says whether the
    /// unit is hull's to stop: not when it existed already (someone else's scope, or a slice
    /// an engine made) or systemd refused to make it; yes when its job ended badly or was
    /// not seen to end (the unit may exist).
    fn start_unit(&self, pid: i32, r: &LinuxResources) -> (bool, Result<()>) {
        let field = "linux.cgroupsPath";
        let props = match self.unit_properties(pid, r) {
            Ok(p) => p,
            Err(e) => return (false, Err(e)),
        };
        let mut sd = match self.connect() {
            Ok(sd) => sd,
            Err(e) => return (false, Err(e)),
        };
        let mut retried = false;
        let t = std::time::Instant::now();
        loop {
            match sd.start_transient_unit_and_wait(&self.unit, "replace", &props, JOB_TIMEOUT) {
                Ok(res) if res == "done" => {
                    log::debug!(
                        "systemd unit {}: started in {} us",
                        self.unit,
                        t.elapsed().as_micros()
                    );
                    return (true, Ok(()));
                }
                Ok(res) => {
                    let msg = format!("systemd unit {}: the start job ended {res:?}", self.unit);
                    return (true, Err(Error::config(field, msg)));
                }
                // A slice the engine made already is fine (kubelet makes pod slices).
                Err(e) if e.is_unit_exists() && self.slice.is_none() => return (false, Ok(())),
                // Perhaps a failed leftover of an earlier container: reset it, try once more.
                Err(e) if e.is_unit_exists() && !retried => {
                    let _ = sd.reset_failed_unit(&self.unit);
                    retried = true;
                }
                Err(e) if e.is_unit_exists() => {
                    let msg = format!("systemd unit {} already exists", self.unit);
                    return (false, Err(Error::config(field, msg)));
                }
                Err(e) => {
                    let msg = format!("systemd unit {}: StartTransientUnit: {e}", self.unit);
                    return (e.is_timeout(), Err(Error::config(field, msg)));
                }
            }
        }
    }

    /// Where the init really is: the unit's cgroup systemd made (read back from the init's
    /// /proc/<pid>/cgroup, the unified line), falling back to the computed path.
    fn actual_path(&self, pid: i32) -> String {
        if self.slice.is_none() {
            return self.path.clone();
        }
        std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
            .ok()
            .and_then(|s| {
                s.lines().find_map(|l| {
                    let rest = l.strip_prefix("0::")?;
                    rest.ends_with(&format!("/{}", self.unit))
                        .then(|| rest.to_string())
                })
            })
            .unwrap_or_else(|| self.path.clone())
    }
}

/// `a-b-c.slice` -> `a-b.slice`; a top-level slice's parent is `-.slice`.
fn parent_slice(slice: &str) -> String {
    slice
        .strip_suffix(".slice")
        .and_then(|s| s.rsplit_once('-'))
        .map(|(p, _)| format!("{p}.slice"))
        .unwrap_or_else(|| "-.slice".into())
}

/// `org.systemd.property.<Name>` annotations as unit properties. Values are GVariant text
/// (`uint64 123`, `'str'`, `true`). As in runc, a name ending in `Sec` (not `USec`) is
/// systemd's user-facing spelling of a time: its number of seconds is sent as `<Name>USec`.
pub fn annotation_properties(ann: &HashMap<String, String>) -> Result<Vec<props::Property>> {
    let mut keys: Vec<&String> = ann
        .keys()
        .filter(|k| k.starts_with(PROPERTY_ANNOTATION))
        .collect();
    keys.sort();
    let mut out = Vec::new();
    for k in keys {
        let field = format!("annotations.{k:?}");
        let name = &k[PROPERTY_ANNOTATION.len()..];
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(Error::config(field, "not a systemd property name"));
        }
        let text = ann.get(k).map(String::as_str).unwrap_or_default();
        let v = hull_dbus::parse_variant(text)
            .map_err(|e| Error::config(&field, format!("{text:?}: {e}")))?;
        if name.ends_with("Sec") && !name.ends_with("USec") {
            let secs = match v.peel() {
                Value::Double(d) if *d >= 0.0 => *d,
                other => other
                    .as_u64()
                    .or_else(|| other.as_i64().and_then(|n| u64::try_from(n).ok()))
                    .map(|n| n as f64)
                    .ok_or_else(|| Error::config(&field, "expected a number of seconds"))?,
            };
            let usec = (secs * 1_000_000.0) as u64;
            out.push((
                format!("{}USec", &name[..name.len() - 3]),
                Value::UInt64(usec),
            ));
        } else {
            out.push((name.to_string(), v));
        }
    }
    Ok(out)
}

impl CgroupManager for SystemdCgroup {
    fn create(&mut self, r: Option<&LinuxResources>) -> Result<()> {
        let r = r.cloned().unwrap_or_default();
        // Everything that can be checked without the unit is checked now, before the clone:
        // a bad value is a config error and nothing exists yet.
        crate::validate::resources(&r)?;
        props::resources(&r, self.host == Host::V2)?;
        devices::rules(r.devices().as_deref().unwrap_or_default())?;
        self.pending = Some(r);
        Ok(())
    }

    fn add_process(&self, pid: i32) -> Result<()> {
        // An existing unit's cgroup (exec): plain cgroupfs. A new unit starts in `attach`.
        self.fs()?.add_process(pid)
    }

    fn attach(&mut self, pid: i32) -> Result<()> {
        if self.fs.is_some() {
            return self.fs()?.add_process(pid);
        }
        let r = self.pending.take().unwrap_or_default();
        let (owned, started) = self.start_unit(pid, &r);
        self.owned = owned;
        started?;
        let path = self.actual_path(pid);
        let spec = SpecPath::Absolute(path.clone());
        let mut fs: Box<dyn CgroupManager> = match &self.host {
            Host::V2 => {
                let mut m = v2::V2::new(&spec)?.holding(pid);
                m.rootless = self.bus == Bus::User;
                Box::new(m)
            }
            Host::V1 {
                hierarchies,
                unified,
            } => Box::new(v1::V1::new(&spec, hierarchies, unified.clone())?.holding(pid)),
        };
        self.path = path;
        // Directories systemd made are found existing and left to systemd; the cgroupfs
        // driver records only what it makes itself (v1 controllers systemd does not manage).
        let applied = fs.create(Some(&r));
        let placed = applied.and_then(|_| {
            if self.slice.is_none() || self.host != Host::V2 {
                fs.add_process(pid)
            } else {
                Ok(())
            }
        });
        self.fs = Some(fs);
        placed
    }

    fn clone_into_fd(&self) -> Option<BorrowedFd<'_>> {
        self.fs.as_ref().and_then(|f| f.clone_into_fd())
    }

    fn update(&self, r: &LinuxResources, merged: &LinuxResources) -> Result<()> {
        let v2 = self.host_is_v2();
        let p = props::resources(r, v2)?;
        if !p.is_empty() {
            let mut sd = self.connect()?;
            sd.set_unit_properties(&self.unit, true, &p).map_err(|e| {
                Error::msg(format!(
                    "systemd unit {}: SetUnitProperties: {e}",
                    self.unit
                ))
            })?;
        }
        self.fs()?.update(r, merged)
    }

    fn set_frozen(&self, frozen: bool) -> Result<()> {
        self.fs()?.set_frozen(frozen)
    }

    fn is_frozen(&self) -> Result<bool> {
        self.fs()?.is_frozen()
    }

    fn pids(&self) -> Result<Vec<i32>> {
        match &self.fs {
            Some(f) => f.pids(),
            None => Ok(Vec::new()),
        }
    }

    fn stats(&self) -> Result<Stats> {
        self.fs()?.stats()
    }

    fn oom_kills(&self) -> Result<u64> {
        self.fs()?.oom_kills()
    }

    fn add_process_sub(&self, pid: i32, subs: &[String]) -> Result<()> {
        self.fs()?.add_process_sub(pid, subs)
    }

    fn unified_dir(&self) -> Option<&Path> {
        self.fs.as_ref().and_then(|f| f.unified_dir())
    }

    fn destroy(&self) -> Result<()> {
        if !self.owned {
            // Not started by hull (never started, refused, or someone else's): leave it.
            return match &self.fs {
                Some(f) => f.destroy(),
                None => Ok(()),
            };
        }
        let t = std::time::Instant::now();
        let mut sd = self.connect()?;
        // Stopped, and reset if it failed: its name must be free for the next one. A scope
        // whose processes are all gone is no longer loaded, and one round trip says so.
        match sd.stop_and_reset_unit(&self.unit, JOB_TIMEOUT) {
            Ok(Some(res)) if res != "done" => {
                log::warn!("systemd unit {}: the stop job ended {res:?}", self.unit)
            }
            Ok(res) => log::debug!(
                "systemd unit {}: {} in {} us",
                self.unit,
                if res.is_some() {
                    "stopped"
                } else {
                    "not loaded"
                },
                t.elapsed().as_micros()
            ),
            Err(e) => {
                return Err(Error::msg(format!(
                    "systemd unit {}: StopUnit: {e}",
                    self.unit
                )))
            }
        }
        match &self.fs {
            Some(f) => f.destroy(),
            None => Ok(()),
        }
    }

    fn state(&self) -> CgroupState {
        let mut st = match &self.fs {
            Some(f) => f.state(),
            None => CgroupState {
                mode: if self.host == Host::V2 { "v2" } else { "v1" }.into(),
                path: self.path.clone(),
                ..Default::default()
            },
        };
        st.systemd_unit = Some(self.unit.clone());
        st.systemd_user = self.bus == Bus::User;
        st
    }
}

impl SystemdCgroup {
    fn host_is_v2(&self) -> bool {
        match &self.fs {
            Some(f) => f.state().mode == "v2",
            None => self.host == Host::V2,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents() {
        assert_eq!(parent_slice("a-b-c.slice"), "a-b.slice");
        assert_eq!(parent_slice("machine.slice"), "-.slice");
    }

    #[test]
    fn annotations_like_runc() {
        let ann: HashMap<String, String> = [
            ("org.systemd.property.TimeoutStopUSec", "uint64 123456789"),
            ("org.systemd.property.CollectMode", "'inactive-or-failed'"),
            ("org.systemd.property.RuntimeMaxSec", "5"),
            ("other", "x"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let p = annotation_properties(&ann).unwrap_or_default();
        assert_eq!(
            p,
            vec![
                ("CollectMode".to_string(), Value::from("inactive-or-failed")),
                ("RuntimeMaxUSec".to_string(), Value::UInt64(5_000_000)),
                ("TimeoutStopUSec".to_string(), Value::UInt64(123_456_789)),
            ]
        );
        let bad: HashMap<String, String> = [(
            "org.systemd.property.X".to_string(),
            "uint64 nope".to_string(),
        )]
        .into();
        let e = annotation_properties(&bad).err().map(|e| e.to_string());
        assert!(e.is_some_and(|e| e.starts_with("annotations.\"org.systemd.property.X\"")));
    }
}
