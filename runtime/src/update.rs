//! `hull update`'s input: runc's flags or a `--resources` JSON document, turned into the
//! `LinuxResources` to apply, and merged into the container's saved resources.

use oci_spec::runtime::LinuxResources;
use serde_json::{json, Map, Value};

use crate::cgroups::convert::parse_ram;
use crate::error::{Error, Result};
use crate::options::UpdateOptions;

fn ram(flag: &str, v: &Option<String>) -> Result<Option<i64>> {
    v.as_deref()
        .map(|s| parse_ram(s).map_err(|e| Error::container(format!("--{flag}: {e}"))))
        .transpose()
}

fn put(obj: &mut Map<String, Value>, section: &str, key: &str, v: Value) {
    if let Value::Object(m) = obj.entry(section.to_string()).or_insert_with(|| json!({})) {
        m.insert(key.to_string(), v);
    }
}

/// The resources an update asks for. As runc: with `--resources` (a file, or `-` for
/// stdin) the document is used and the value flags are ignored.
pub fn requested(
    o: &UpdateOptions,
    stdin: impl FnOnce() -> std::io::Result<String>,
) -> Result<LinuxResources> {
    if let Some(src) = &o.resources {
        let text = if src == "-" {
            stdin().map_err(|e| Error::container(format!("--resources -: read stdin: {e}")))?
        } else {
            std::fs::read_to_string(src)
                .map_err(|e| Error::container(format!("--resources {src}: {e}")))?
        };
        let mut v: Value = serde_json::from_slice(text.as_bytes()).unwrap_or(Value::Null);
        crate::compat::drop_pids_without_limit(&mut v);
        let text = if v.is_null() { text } else { v.to_string() };
        return serde_json::from_slice(text.as_bytes()).map_err(|e| {
            let raw = format!(r#"{{"linux":{{"resources":{text}}}}}"#);
            crate::cgroups::validate::explain_json(raw.as_bytes())
                .map(Error::from)
                .unwrap_or_else(|| {
                    Error::container(format!("--resources {src}: invalid JSON: {e}"))
                })
        });
    }
    let mut r = Map::new();
    let mem = [
        ("limit", ram("memory", &o.memory)?),
        (
            "reservation",
            ram("memory-reservation", &o.memory_reservation)?,
        ),
        ("swap", ram("memory-swap", &o.memory_swap)?),
        ("kernel", ram("kernel-memory", &o.kernel_memory)?),
        ("kernelTCP", ram("kernel-memory-tcp", &o.kernel_memory_tcp)?),
    ];
    for (k, v) in mem {
        if let Some(v) = v {
            put(&mut r, "memory", k, json!(v));
        }
    }
    let cpu = [
        ("shares", o.cpu_share.map(|v| json!(v))),
        ("quota", o.cpu_quota.map(|v| json!(v))),
        ("period", o.cpu_period.map(|v| json!(v))),
        ("burst", o.cpu_burst.map(|v| json!(v))),
        ("realtimeRuntime", o.cpu_rt_runtime.map(|v| json!(v))),
        ("realtimePeriod", o.cpu_rt_period.map(|v| json!(v))),
        ("idle", o.cpu_idle.map(|v| json!(v))),
        ("cpus", o.cpuset_cpus.as_ref().map(|v| json!(v))),
        ("mems", o.cpuset_mems.as_ref().map(|v| json!(v))),
    ];
    for (k, v) in cpu {
        if let Some(v) = v {
            put(&mut r, "cpu", k, v);
        }
    }
    if let Some(w) = o.blkio_weight {
        put(&mut r, "blockIO", "weight", json!(w));
    }
    if let Some(l) = o.pids_limit {
        put(&mut r, "pids", "limit", json!(l));
    }
    typed(&Value::Object(r)).map_err(|e| Error::container(format!("update: {e}")))
}

/// Overlays `new` on `old` (objects merge key by key, everything else is replaced).
fn overlay(old: &mut Value, new: &Value) {
    match (old, new) {
        (Value::Object(o), Value::Object(n)) => {
            for (k, v) in n {
                if v.is_null() {
                    continue;
                }
                overlay(o.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        (o, n) => *o = n.clone(),
    }
}

/// The container's resources after the update.
pub fn merge(old: Option<&LinuxResources>, new: &LinuxResources) -> Result<LinuxResources> {
    let mut base = tree(&old.cloned().unwrap_or_default()).unwrap_or(json!({}));
    let n = tree(new).unwrap_or(json!({}));
    overlay(&mut base, &n);
    typed(&base).map_err(|e| Error::container(format!("update: merge: {e}")))
}

// Through text, not `to_value`/`from_value`: those instantiate every resource type's
// serializer and deserializer a second time for serde_json's `Value`; the slice decoder and
// the Vec encoder are in the binary anyway (config.json, state), and `update` is no hot path.
fn tree(r: &LinuxResources) -> serde_json::Result<Value> {
    serde_json::from_slice(&serde_json::to_vec(r)?)
}

fn typed(v: &Value) -> serde_json::Result<LinuxResources> {
    serde_json::from_slice(&serde_json::to_vec(v)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> UpdateOptions {
        UpdateOptions {
            id: "x".into(),
            ..Default::default()
        }
    }

    #[test]
    fn flags_like_runc() {
        let o = UpdateOptions {
            memory: Some("64m".into()),
            memory_swap: Some("-1".into()),
            cpu_quota: Some(50_000),
            cpu_period: Some(100_000),
            cpuset_cpus: Some("0".into()),
            pids_limit: Some(20),
            blkio_weight: Some(300),
            ..opts()
        };
        let r = requested(&o, || Ok(String::new())).unwrap_or_default();
        let m = r.memory().unwrap_or_default();
        assert_eq!(m.limit(), Some(64 << 20));
        assert_eq!(m.swap(), Some(-1));
        assert_eq!(m.reservation(), None);
        let c = r.cpu().clone().unwrap_or_default();
        assert_eq!((c.quota(), c.period()), (Some(50_000), Some(100_000)));
        assert_eq!(c.cpus().as_deref(), Some("0"));
        assert_eq!(c.shares(), None);
        assert_eq!(r.pids().map(|p| p.limit()), Some(20));
        assert_eq!(r.block_io().as_ref().and_then(|b| b.weight()), Some(300));
        assert!(r.hugepage_limits().is_none());
        let bad = UpdateOptions {
            memory: Some("12q".into()),
            ..opts()
        };
        assert!(requested(&bad, || Ok(String::new())).is_err());
    }

    #[test]
    fn resources_document_wins_over_flags() {
        let o = UpdateOptions {
            resources: Some("-".into()),
            memory: Some("1g".into()),
            ..opts()
        };
        let r = requested(&o, || Ok(r#"{"pids":{"limit":7}}"#.into())).unwrap_or_default();
        assert_eq!(r.pids().map(|p| p.limit()), Some(7));
        assert!(r.memory().is_none());
        let e = requested(&o, || Ok(r#"{"cpu":{"shares":-3}}"#.into()))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.starts_with("linux.resources.cpu.shares: "), "{e}");
    }

    #[test]
    fn merge_keeps_old_fields() {
        let old: LinuxResources =
            serde_json::from_str(r#"{"memory":{"limit":100,"swap":200},"pids":{"limit":5}}"#)
                .unwrap_or_default();
        let new: LinuxResources =
            serde_json::from_str(r#"{"memory":{"limit":150}}"#).unwrap_or_default();
        let m = merge(Some(&old), &new).unwrap_or_default();
        let mem = m.memory().unwrap_or_default();
        assert_eq!((mem.limit(), mem.swap()), (Some(150), Some(200)));
        assert_eq!(m.pids().map(|p| p.limit()), Some(5));
    }
}
