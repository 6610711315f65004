//! `linux.resources` as systemd unit properties, as runc maps them (runc's docs/systemd.md
//! tables): what systemd can express is set on the unit, so that `systemctl show` and
//! systemd's own bookkeeping agree with the container; the cgroupfs code then writes every
//! resource to the unit's cgroup as well (systemd cannot express all of them).

use hull_dbus::Value;
use oci_spec::runtime::LinuxResources;

use crate::convert::{blkio_weight_to_io, shares_to_weight, swap_to_v2};
use crate::devices::{DevType, Rule, ACC_MKNOD, ACC_READ, ACC_WRITE};
use crate::error::{Error, Result};

/// One unit property: its name and value (sent as a variant).
pub type Property = (String, Value);

/// systemd's "infinity" for limits.
const INFINITY: u64 = u64::MAX;

fn prop(name: &str, v: impl Into<Value>) -> Property {
    (name.to_string(), v.into())
}

fn limit(v: i64) -> u64 {
    if v < 0 {
        INFINITY
    } else {
        v as u64
    }
}

/// The resource properties for a unit on a cgroup `v2` host or a v1 one.
pub fn resources(r: &LinuxResources, v2: bool) -> Result<Vec<Property>> {
    let mut out = Vec::new();
    if let Some(m) = r.memory() {
        if let Some(l) = m.limit().filter(|l| *l != 0) {
            out.push(prop(if v2 { "MemoryMax" } else { "MemoryLimit" }, limit(l)));
        }
        if v2 {
            if let Some(res) = m.reservation().filter(|r| *r != 0) {
                out.push(prop("MemoryLow", limit(res)));
            }
            let swap = swap_to_v2(m.swap(), m.limit())
                .map_err(|e| Error::config("linux.resources.memory.swap", e))?;
            if let Some(s) = swap {
                out.push(prop("MemorySwapMax", limit(s)));
            }
        }
    }
    if let Some(c) = r.cpu() {
        if let Some(s) = c.shares().filter(|s| *s != 0) {
            if v2 {
                out.push(prop("CPUWeight", shares_to_weight(s)));
            } else {
                out.push(prop("CPUShares", s));
            }
        }
        cpu_quota(c.quota().unwrap_or(0), c.period().unwrap_or(0), &mut out);
        if let Some(cpus) = c.cpus().as_deref().filter(|s| !s.is_empty()) {
            out.push(prop(
                "AllowedCPUs",
                bitmask(cpus, "linux.resources.cpu.cpus")?,
            ));
        }
        if let Some(mems) = c.mems().as_deref().filter(|s| !s.is_empty()) {
            out.push(prop(
                "AllowedMemoryNodes",
                bitmask(mems, "linux.resources.cpu.mems")?,
            ));
        }
    }
    if let Some(p) = r.pids() {
        // runtime-spec 1.3.0: 0 is a limit, negative is max (unset never gets here).
        out.push(prop("TasksMax", limit(p.limit())));
    }
    if let Some(w) = r.block_io().as_ref().and_then(|b| b.weight()) {
        if w != 0 {
            if v2 {
                out.push(prop("IOWeight", blkio_weight_to_io(w)));
            } else {
                out.push(prop("BlockIOWeight", u64::from(w)));
            }
        }
    }
    if v2 {
        for (k, v) in r.unified().iter().flatten() {
            unified(k, v, &mut out)?;
        }
    }
    // A later property of the same name wins in systemd too, but say each once.
    let mut seen = std::collections::HashSet::new();
    out.reverse();
    out.retain(|(k, _)| seen.insert(k.clone()));
    out.reverse();
    Ok(out)
}

/// `CPUQuotaPerSecUSec` from quota/period, rounded up to systemd's 1% granularity (10 ms of
/// CPU per second), and `CPUQuotaPeriodUSec`, as runc sets them.
fn cpu_quota(quota: i64, period: u64, out: &mut Vec<Property>) {
    if quota == 0 && period == 0 {
        return;
    }
    let mut per_sec = INFINITY;
    if quota > 0 {
        let p = if period == 0 { 100_000 } else { period };
        per_sec = (quota as u64).saturating_mul(1_000_000) / p;
        if per_sec % 10_000 != 0 {
            per_sec = (per_sec / 10_000 + 1) * 10_000;
        }
    }
    out.push(prop("CPUQuotaPerSecUSec", per_sec));
    if period != 0 {
        out.push(prop("CPUQuotaPeriodUSec", period));
    }
}

/// The `linux.resources.unified` keys runc maps; the rest is written by the cgroupfs code.
fn unified(key: &str, value: &str, out: &mut Vec<Property>) -> Result<()> {
    let field = format!("linux.resources.unified.{key:?}");
    let bad = |why: &str| Error::config(&field, format!("{value:?}: {why}"));
    let max_or_u64 = |v: &str| -> Result<u64> {
        if v.trim() == "max" {
            Ok(INFINITY)
        } else {
            v.trim()
                .parse::<u64>()
                .map_err(|_| bad("not a number or \"max\""))
        }
    };
    let name = match key {
        "cpu.weight" => "CPUWeight",
        "memory.high" => "MemoryHigh",
        "memory.low" => "MemoryLow",
        "memory.min" => "MemoryMin",
        "memory.max" => "MemoryMax",
        "memory.swap.max" => "MemorySwapMax",
        "pids.max" => "TasksMax",
        "cpuset.cpus" => {
            out.push(prop("AllowedCPUs", bitmask(value, &field)?));
            return Ok(());
        }
        "cpuset.mems" => {
            out.push(prop("AllowedMemoryNodes", bitmask(value, &field)?));
            return Ok(());
        }
        "cpu.max" => {
            let mut it = value.split_whitespace();
            let q = it
                .next()
                .ok_or_else(|| bad("expected \"QUOTA [PERIOD]\""))?;
            let period = match it.next() {
                Some(p) => p.parse::<u64>().map_err(|_| bad("bad period"))?,
                None => 100_000,
            };
            let quota = if q == "max" {
                -1
            } else {
                q.parse::<i64>().map_err(|_| bad("bad quota"))?
            };
            cpu_quota(quota, period, out);
            return Ok(());
        }
        _ => return Ok(()),
    };
    out.push(prop(name, max_or_u64(value)?));
    Ok(())
}

/// A cpu or memory-node list (`0-3,8`) as systemd's `ay` bitmask: bit i of byte j is
/// number 8*j+i.
pub fn bitmask(list: &str, field: &str) -> Result<Value> {
    let bad = || Error::config(field, format!("{list:?}: not a list like \"0-3,8\""));
    let mut bytes: Vec<u8> = Vec::new();
    for part in list.trim().split(',').filter(|p| !p.is_empty()) {
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (a.trim(), b.trim()),
            None => (part.trim(), part.trim()),
        };
        let a: usize = a.parse().map_err(|_| bad())?;
        let b: usize = b.parse().map_err(|_| bad())?;
        // 64k CPUs is far beyond any kernel's NR_CPUS; bounds the allocation.
        if a > b || b >= 65_536 {
            return Err(bad());
        }
        for n in a..=b {
            if bytes.len() <= n / 8 {
                bytes.resize(n / 8 + 1, 0);
            }
            bytes[n / 8] |= 1 << (n % 8);
        }
    }
    Ok(Value::array(
        "y",
        bytes.into_iter().map(Value::Byte).collect(),
    ))
}

/// `DevicePolicy` and `DeviceAllow` for the device rules (already normalised, with runc's
/// default list). Expressible when the rules are a default deny followed by allows only:
/// then `strict` and one entry per allow. Anything else (an allow-all, a deny after an
/// allow, a major with no name in /proc/devices) is left to hull's own device program,
/// which the cgroupfs code attaches beside systemd's: `auto` without entries restricts
/// nothing, so the two programs together still enforce exactly the spec's rules.
pub fn devices(rules: &[Rule], proc_devices: &str) -> Vec<Property> {
    let auto = || vec![prop("DevicePolicy", "auto")];
    if rules.iter().any(|r| !r.allow) {
        return auto();
    }
    let mut allow = Vec::new();
    for r in rules {
        let kind = match r.typ {
            DevType::All => return auto(),
            DevType::Char => "char",
            DevType::Block => "block",
        };
        let mut acc = String::new();
        for (bit, c) in [(ACC_READ, 'r'), (ACC_WRITE, 'w'), (ACC_MKNOD, 'm')] {
            if r.access & bit != 0 {
                acc.push(c);
            }
        }
        let path = match (r.major, r.minor) {
            (None, _) => format!("{kind}-*"),
            (Some(maj), None) => match driver_name(proc_devices, kind, maj) {
                Some(n) => format!("{kind}-{n}"),
                None => return auto(),
            },
            (Some(maj), Some(min)) => format!("/dev/{kind}/{maj}:{min}"),
        };
        allow.push(Value::Struct(vec![Value::Str(path), Value::Str(acc)]));
    }
    vec![
        prop("DevicePolicy", "strict"),
        prop("DeviceAllow", Value::array("(ss)", allow)),
    ]
}

/// The driver name of a major number in /proc/devices' section for `kind`.
fn driver_name(proc_devices: &str, kind: &str, major: u32) -> Option<String> {
    let header = if kind == "char" {
        "Character devices:"
    } else {
        "Block devices:"
    };
    let mut inside = false;
    for line in proc_devices.lines() {
        if line.trim().is_empty() {
            inside = false;
            continue;
        }
        if line.trim_end() == header {
            inside = true;
            continue;
        }
        if inside {
            let mut it = line.split_whitespace();
            if it.next().and_then(|m| m.parse::<u32>().ok()) == Some(major) {
                return it.next().map(str::to_string);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(json: &str) -> LinuxResources {
        serde_json::from_str(json).unwrap_or_default()
    }

    fn find<'a>(p: &'a [Property], k: &str) -> Option<&'a Value> {
        p.iter().find(|(n, _)| n == k).map(|(_, v)| v)
    }

    #[test]
    fn v2_like_runc() {
        let r = res(
            r#"{"memory":{"limit":104857600,"reservation":52428800,"swap":209715200},
            "cpu":{"shares":1024,"quota":50000,"period":100000,"cpus":"0-1,3","mems":"0"},
            "pids":{"limit":20},"blockIO":{"weight":500}}"#,
        );
        let p = resources(&r, true).unwrap_or_default();
        assert_eq!(find(&p, "MemoryMax"), Some(&Value::UInt64(104_857_600)));
        assert_eq!(find(&p, "MemoryLow"), Some(&Value::UInt64(52_428_800)));
        assert_eq!(find(&p, "MemorySwapMax"), Some(&Value::UInt64(104_857_600)));
        assert_eq!(find(&p, "CPUWeight"), Some(&Value::UInt64(100)));
        assert_eq!(
            find(&p, "CPUQuotaPerSecUSec"),
            Some(&Value::UInt64(500_000))
        );
        assert_eq!(
            find(&p, "CPUQuotaPeriodUSec"),
            Some(&Value::UInt64(100_000))
        );
        assert_eq!(
            find(&p, "AllowedCPUs"),
            Some(&Value::array("y", vec![Value::Byte(0b1011)]))
        );
        assert_eq!(find(&p, "TasksMax"), Some(&Value::UInt64(20)));
        assert_eq!(find(&p, "IOWeight"), Some(&Value::UInt64(4950)));
    }

    #[test]
    fn quota_rounds_up_and_unlimited_is_infinity() {
        let p =
            resources(&res(r#"{"cpu":{"quota":12345,"period":100000}}"#), true).unwrap_or_default();
        assert_eq!(
            find(&p, "CPUQuotaPerSecUSec"),
            Some(&Value::UInt64(130_000))
        );
        let p = resources(
            &res(r#"{"cpu":{"quota":-1},"memory":{"limit":-1},"pids":{"limit":-1}}"#),
            true,
        )
        .unwrap_or_default();
        assert_eq!(
            find(&p, "CPUQuotaPerSecUSec"),
            Some(&Value::UInt64(INFINITY))
        );
        assert_eq!(find(&p, "MemoryMax"), Some(&Value::UInt64(INFINITY)));
        assert_eq!(find(&p, "TasksMax"), Some(&Value::UInt64(INFINITY)));
    }

    #[test]
    fn unified_keys_and_v1_names() {
        let r = res(
            r#"{"unified":{"memory.high":"max","pids.max":"7","cpu.max":"20000 50000","io.max":"x"}}"#,
        );
        let p = resources(&r, true).unwrap_or_default();
        assert_eq!(find(&p, "MemoryHigh"), Some(&Value::UInt64(INFINITY)));
        assert_eq!(find(&p, "TasksMax"), Some(&Value::UInt64(7)));
        assert_eq!(
            find(&p, "CPUQuotaPerSecUSec"),
            Some(&Value::UInt64(400_000))
        );
        assert_eq!(p.len(), 4, "{p:?}");
        let bad = res(r#"{"unified":{"pids.max":"lots"}}"#);
        let e = resources(&bad, true).err().map(|e| e.to_string());
        assert!(e.is_some_and(|e| e.starts_with("linux.resources.unified.\"pids.max\"")));
        let v1 = resources(
            &res(r#"{"memory":{"limit":1000},"cpu":{"shares":512}}"#),
            false,
        )
        .unwrap_or_default();
        assert_eq!(find(&v1, "MemoryLimit"), Some(&Value::UInt64(1000)));
        assert_eq!(find(&v1, "CPUShares"), Some(&Value::UInt64(512)));
    }

    #[test]
    fn device_rules() {
        let proc = "Character devices:\n  1 mem\n136 pts\n\nBlock devices:\n  8 sd\n";
        let rules = crate::devices::rules(&[]).unwrap_or_default();
        let p = devices(&rules, proc);
        assert_eq!(find(&p, "DevicePolicy"), Some(&Value::from("strict")));
        let allow = find(&p, "DeviceAllow")
            .and_then(|v| v.as_array())
            .unwrap_or(&[]);
        let text: Vec<String> = allow.iter().map(|v| format!("{v:?}")).collect();
        assert!(text.iter().any(|t| t.contains("/dev/char/1:3")), "{text:?}");
        assert!(text.iter().any(|t| t.contains("char-pts")), "{text:?}");
        let all: Vec<Rule> = vec![Rule {
            allow: true,
            typ: DevType::All,
            major: None,
            minor: None,
            access: 7,
        }];
        assert_eq!(devices(&all, proc), vec![prop("DevicePolicy", "auto")]);
    }
}
