//! Host-independent checks of `linux.resources`, run before any cgroup is touched, and
//! [`explain_json`], which turns a serde type error inside `linux.resources` (a negative
//! `cpu.shares`, a device rule of type "x") into an error naming the field.

use oci_spec::runtime::LinuxResources;
use serde_json::Value;

use crate::error::{Error, Result};

const R: &str = "linux.resources";

fn err(field: &str, msg: impl std::fmt::Display) -> Error {
    Error::config(format!("{R}.{field}"), msg)
}

fn limit(v: Option<i64>, field: &str) -> Result<()> {
    match v {
        Some(n) if n < -1 => Err(err(field, format!("{n}: must be >= -1 (-1 = unlimited)"))),
        _ => Ok(()),
    }
}

fn weight(v: Option<u16>, field: &str) -> Result<()> {
    match v {
        Some(w) if w != 0 && !(10..=1000).contains(&w) => {
            Err(err(field, format!("{w}: must be between 10 and 1000")))
        }
        _ => Ok(()),
    }
}

fn cpu_list(v: Option<&String>, field: &str) -> Result<()> {
    if let Some(s) = v {
        let ok = s
            .split(',')
            .filter(|p| !p.is_empty())
            .all(|p| p.split('-').count() <= 2 && p.split('-').all(|n| n.parse::<u32>().is_ok()));
        if !ok {
            return Err(err(field, format!("{s:?}: expected a list like \"0-3,5\"")));
        }
    }
    Ok(())
}

/// Checks values whose validity does not depend on the host.
pub fn resources(r: &LinuxResources) -> Result<()> {
    if let Some(m) = r.memory() {
        limit(m.limit(), "memory.limit")?;
        limit(m.reservation(), "memory.reservation")?;
        limit(m.swap(), "memory.swap")?;
        #[allow(deprecated)]
        limit(m.kernel(), "memory.kernel")?;
        limit(m.kernel_tcp(), "memory.kernelTCP")?;
        if let Some(s) = m.swappiness().filter(|s| *s > 100) {
            return Err(err("memory.swappiness", format!("{s}: must be 0..100")));
        }
    }
    if let Some(c) = r.cpu() {
        limit(c.quota(), "cpu.quota")?;
        limit(c.realtime_runtime(), "cpu.realtimeRuntime")?;
        if let Some(i) = c.idle().filter(|i| *i != 0 && *i != 1) {
            return Err(err("cpu.idle", format!("{i}: must be 0 or 1")));
        }
        cpu_list(c.cpus().as_ref(), "cpu.cpus")?;
        cpu_list(c.mems().as_ref(), "cpu.mems")?;
    }
    if let Some(b) = r.block_io() {
        weight(b.weight(), "blockIO.weight")?;
        weight(b.leaf_weight(), "blockIO.leafWeight")?;
        for (i, d) in b.weight_device().iter().flatten().enumerate() {
            weight(d.weight(), &format!("blockIO.weightDevice[{i}].weight"))?;
            weight(
                d.leaf_weight(),
                &format!("blockIO.weightDevice[{i}].leafWeight"),
            )?;
        }
    }
    for (i, h) in r.hugepage_limits().iter().flatten().enumerate() {
        let s = h.page_size();
        let unit = s.len().saturating_sub(2);
        let ok = s.len() > 2
            && s[..unit].parse::<u64>().is_ok()
            && ["KB", "MB", "GB"].contains(&&s[unit..]);
        if !ok {
            return Err(err(
                &format!("hugepageLimits[{i}].pageSize"),
                format!("{s:?}: expected a size like \"2MB\" or \"1GB\""),
            ));
        }
    }
    for (k, _) in r.unified().iter().flatten() {
        let ok = !k.is_empty()
            && !k.contains('/')
            && !k.starts_with('.')
            && !k.contains("..")
            && k.contains('.');
        if !ok {
            return Err(err(
                &format!("unified.{k}"),
                "not a cgroup v2 interface file name (controller.file)",
            ));
        }
    }
    Ok(())
}

#[derive(Clone, Copy)]
enum Kind {
    I64,
    U64,
    U32,
    U16,
    Bool,
    Str,
    DevType,
}

fn check(v: &Value, kind: Kind, field: &str) -> Option<Error> {
    let ok = match kind {
        Kind::I64 => v.as_i64().is_some(),
        Kind::U64 => v.as_u64().is_some(),
        Kind::U32 => v.as_u64().is_some_and(|n| n <= u64::from(u32::MAX)),
        Kind::U16 => v.as_u64().is_some_and(|n| n <= u64::from(u16::MAX)),
        Kind::Bool => v.is_boolean(),
        Kind::Str => v.is_string(),
        Kind::DevType => v
            .as_str()
            .is_some_and(|s| ["a", "b", "c", "u", "p"].contains(&s)),
    };
    if ok || v.is_null() {
        return None;
    }
    let want = match kind {
        Kind::I64 => "an integer",
        Kind::U64 => "a non-negative integer",
        Kind::U32 => "a non-negative 32-bit integer",
        Kind::U16 => "an integer between 0 and 65535",
        Kind::Bool => "true or false",
        Kind::Str => "a string",
        Kind::DevType => "a device type (a, b or c)",
    };
    Some(err(field, format!("{v}: must be {want}")))
}

fn fields(obj: &Value, prefix: &str, spec: &[(&str, Kind)]) -> Option<Error> {
    spec.iter().find_map(|(k, kind)| {
        obj.get(*k)
            .and_then(|v| check(v, *kind, &format!("{prefix}{k}")))
    })
}

fn each(arr: Option<&Value>, prefix: &str, spec: &[(&str, Kind)]) -> Option<Error> {
    arr.and_then(Value::as_array)?
        .iter()
        .enumerate()
        .find_map(|(i, o)| fields(o, &format!("{prefix}[{i}]."), spec))
}

/// When config.json failed to parse, finds a value of the wrong type inside
/// `linux.resources` and returns an error naming it; `None` if the problem is elsewhere.
pub fn explain_json(raw: &[u8]) -> Option<Error> {
    use Kind::*;
    let v: Value = serde_json::from_slice(raw).ok()?;
    let r = v.get("linux")?.get("resources")?;
    let g = |k: &str| r.get(k).cloned().unwrap_or(Value::Null);
    let dev = [
        ("allow", Bool),
        ("type", DevType),
        ("major", I64),
        ("minor", I64),
        ("access", Str),
    ];
    let throttle = [("major", I64), ("minor", I64), ("rate", U64)];
    let bio = g("blockIO");
    let mut found = fields(
        &g("memory"),
        "memory.",
        &[
            ("limit", I64),
            ("reservation", I64),
            ("swap", I64),
            ("kernel", I64),
            ("kernelTCP", I64),
            ("swappiness", U64),
            ("disableOOMKiller", Bool),
            ("useHierarchy", Bool),
            ("checkBeforeUpdate", Bool),
        ],
    )
    .or_else(|| {
        fields(
            &g("cpu"),
            "cpu.",
            &[
                ("shares", U64),
                ("quota", I64),
                ("burst", U64),
                ("period", U64),
                ("realtimeRuntime", I64),
                ("realtimePeriod", U64),
                ("idle", I64),
                ("cpus", Str),
                ("mems", Str),
            ],
        )
    })
    .or_else(|| fields(&g("pids"), "pids.", &[("limit", I64)]))
    .or_else(|| fields(&bio, "blockIO.", &[("weight", U16), ("leafWeight", U16)]))
    .or_else(|| {
        each(
            bio.get("weightDevice"),
            "blockIO.weightDevice",
            &[
                ("major", I64),
                ("minor", I64),
                ("weight", U16),
                ("leafWeight", U16),
            ],
        )
    })
    .or_else(|| each(r.get("devices"), "devices", &dev))
    .or_else(|| {
        each(
            r.get("hugepageLimits"),
            "hugepageLimits",
            &[("pageSize", Str), ("limit", I64)],
        )
    })
    .or_else(|| fields(&g("network"), "network.", &[("classID", U32)]))
    .or_else(|| {
        each(
            g("network").get("priorities"),
            "network.priorities",
            &[("name", Str), ("priority", U32)],
        )
    });
    for t in [
        "throttleReadBpsDevice",
        "throttleWriteBpsDevice",
        "throttleReadIOPSDevice",
        "throttleWriteIOPSDevice",
    ] {
        found = found.or_else(|| each(bio.get(t), &format!("blockIO.{t}"), &throttle));
    }
    if let Some(u) = r.get("unified").and_then(Value::as_object) {
        found = found.or_else(|| {
            u.iter()
                .find_map(|(k, v)| check(v, Str, &format!("unified.{k}")))
        });
    }
    if let Some(m) = r.get("rdma").and_then(Value::as_object) {
        found = found.or_else(|| {
            m.iter().find_map(|(k, v)| {
                fields(
                    v,
                    &format!("rdma.{k}."),
                    &[("hcaHandles", U32), ("hcaObjects", U32)],
                )
            })
        });
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn explain(res: &str) -> String {
        let raw = format!(r#"{{"linux":{{"resources":{res}}}}}"#);
        explain_json(raw.as_bytes())
            .map(|e| e.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn type_errors_name_the_field() {
        assert!(explain(r#"{"cpu":{"shares":-1}}"#)
            .starts_with("linux.resources.cpu.shares: -1: must be a non-negative integer"));
        assert!(explain(r#"{"devices":[{"allow":true},{"type":"x"}]}"#)
            .starts_with("linux.resources.devices[1].type: "));
        assert!(
            explain(r#"{"blockIO":{"throttleReadBpsDevice":[{"rate":-5}]}}"#)
                .starts_with("linux.resources.blockIO.throttleReadBpsDevice[0].rate: ")
        );
        assert!(explain(r#"{"unified":{"memory.max":5}}"#)
            .starts_with("linux.resources.unified.memory.max: "));
        assert_eq!(explain(r#"{"cpu":{"shares":5}}"#), "");
    }

    #[test]
    fn value_checks() {
        let r: LinuxResources =
            serde_json::from_str(r#"{"memory":{"swappiness":101}}"#).unwrap_or_default();
        assert!(resources(&r).is_err());
        let r: LinuxResources =
            serde_json::from_str(r#"{"blockIO":{"weight":5}}"#).unwrap_or_default();
        let e = resources(&r)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.starts_with("linux.resources.blockIO.weight: 5"), "{e}");
        let r: LinuxResources =
            serde_json::from_str(r#"{"unified":{"../memory.max":"1"}}"#).unwrap_or_default();
        assert!(resources(&r).is_err());
        let r: LinuxResources =
            serde_json::from_str(r#"{"hugepageLimits":[{"pageSize":"2M","limit":1}]}"#)
                .unwrap_or_default();
        assert!(resources(&r).is_err());
        let r: LinuxResources = serde_json::from_str(
            r#"{"memory":{"limit":-1,"swap":-1},"cpu":{"cpus":"0-1,3","idle":1},
                "hugepageLimits":[{"pageSize":"2MB","limit":0}],"unified":{"memory.high":"max"}}"#,
        )
        .unwrap_or_default();
        assert!(resources(&r).is_ok());
    }
}
