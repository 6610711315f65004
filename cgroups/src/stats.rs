//! Resource statistics in the JSON shape of runc's `events` (`types.Stats`): cpu, memory,
//! pids, blkio, hugetlb. Best effort, like runc: a file the kernel lacks reads as 0.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use super::convert;
use super::fsutil::{kv, read, read_kv, read_u64};

/// USER_HZ: cpuacct.stat counts in these ticks.
const USER_HZ: u64 = 100;

fn entry(limit: u64, usage: u64, max: u64, failcnt: u64) -> Value {
    let mut m = Map::new();
    m.insert("limit".into(), json!(limit));
    if usage != 0 {
        m.insert("usage".into(), json!(usage));
    }
    if max != 0 {
        m.insert("max".into(), json!(max));
    }
    m.insert("failcnt".into(), json!(failcnt));
    Value::Object(m)
}

fn nonzero(pairs: &[(&str, Value)]) -> Value {
    let m: Map<String, Value> = pairs
        .iter()
        .filter(|(_, v)| !(v.as_u64() == Some(0) || v.is_null()))
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    Value::Object(m)
}

fn list_u64(dir: &Path, file: &str) -> Value {
    let v: Vec<u64> = read(dir, file)
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|n| n.parse().ok())
        .collect();
    if v.is_empty() {
        Value::Null
    } else {
        json!(v)
    }
}

fn stats(cpu: Value, memory: Value, pids: Value, blkio: Value, hugetlb: Value) -> Value {
    let mut s = json!({
        "cpu": cpu, "cpuset": {}, "memory": memory, "pids": pids, "blkio": blkio,
        "intel_rdt": {}, "network_interfaces": null,
    });
    if hugetlb.as_object().is_some_and(|m| !m.is_empty()) {
        s["hugetlb"] = hugetlb;
    }
    s
}

/// Statistics from the v1 hierarchies.
pub fn v1(d: &BTreeMap<String, PathBuf>) -> Value {
    let cpu = match (d.get("cpuacct"), d.get("cpu")) {
        (Some(a), c) => {
            let tick = 1_000_000_000 / USER_HZ;
            let usage = nonzero(&[
                ("total", json!(read_u64(a, "cpuacct.usage"))),
                ("percpu", list_u64(a, "cpuacct.usage_percpu")),
                ("percpu_kernel", list_u64(a, "cpuacct.usage_percpu_sys")),
                ("percpu_user", list_u64(a, "cpuacct.usage_percpu_user")),
            ]);
            let mut usage = usage;
            usage["kernel"] = json!(kv(a, "cpuacct.stat", "system").unwrap_or(0) * tick);
            usage["user"] = json!(kv(a, "cpuacct.stat", "user").unwrap_or(0) * tick);
            let thr = c.map_or(json!({}), |c| {
                nonzero(&[
                    (
                        "periods",
                        json!(kv(c, "cpu.stat", "nr_periods").unwrap_or(0)),
                    ),
                    (
                        "throttledPeriods",
                        json!(kv(c, "cpu.stat", "nr_throttled").unwrap_or(0)),
                    ),
                    (
                        "throttledTime",
                        json!(kv(c, "cpu.stat", "throttled_time").unwrap_or(0)),
                    ),
                ])
            });
            json!({ "usage": usage, "throttling": thr })
        }
        _ => json!({ "usage": { "kernel": 0, "user": 0 }, "throttling": {} }),
    };
    let memory = d.get("memory").map_or(json!({}), |m| {
        let e = |p: &str| {
            entry(
                read_u64(m, &format!("{p}.limit_in_bytes")),
                read_u64(m, &format!("{p}.usage_in_bytes")),
                read_u64(m, &format!("{p}.max_usage_in_bytes")),
                read_u64(m, &format!("{p}.failcnt")),
            )
        };
        let raw: HashMap<String, u64> = read_kv(m, "memory.stat").into_iter().collect();
        let mut v = json!({
            "usage": e("memory"), "swap": e("memory.memsw"), "kernel": e("memory.kmem"),
            "kernelTCP": e("memory.kmem.tcp"), "raw": raw,
        });
        let cache = kv(m, "memory.stat", "total_cache").unwrap_or(0);
        if cache != 0 {
            v["cache"] = json!(cache);
        }
        v
    });
    let pids = d.get("pids").map_or(json!({}), |p| pids(p));
    let blkio = d.get("blkio").map_or(json!({}), |b| {
        let rec = |file: &str| blkio_v1(b, file);
        nonzero(&[
            (
                "ioServiceBytesRecursive",
                rec("blkio.throttle.io_service_bytes_recursive"),
            ),
            (
                "ioServicedRecursive",
                rec("blkio.throttle.io_serviced_recursive"),
            ),
        ])
    });
    let hugetlb = d.get("hugetlb").map_or(json!({}), |h| {
        hugetlb(|size| {
            let p = format!("hugetlb.{size}");
            (
                read_u64(h, &format!("{p}.usage_in_bytes")),
                read_u64(h, &format!("{p}.max_usage_in_bytes")),
                read_u64(h, &format!("{p}.failcnt")),
            )
        })
    });
    stats(cpu, memory, pids, blkio, hugetlb)
}

fn pids(dir: &Path) -> Value {
    let limit = read_u64(dir, "pids.max");
    // runc reports an unlimited pids.max as 0.
    let limit = if limit == u64::MAX { 0 } else { limit };
    nonzero(&[
        ("current", json!(read_u64(dir, "pids.current"))),
        ("limit", json!(limit)),
    ])
}

fn hugetlb(read: impl Fn(&str) -> (u64, u64, u64)) -> Value {
    let m: Map<String, Value> = convert::host_hugepage_sizes()
        .into_iter()
        .map(|size| {
            let (usage, max, failcnt) = read(&size);
            let mut e = nonzero(&[("usage", json!(usage)), ("max", json!(max))]);
            e["failcnt"] = json!(failcnt);
            (size, e)
        })
        .collect();
    Value::Object(m)
}

fn blkio_v1(dir: &Path, file: &str) -> Value {
    let v: Vec<Value> = read(dir, file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            let (maj, min) = it.next()?.split_once(':')?;
            let op = it.next()?;
            let value: u64 = it.next()?.parse().ok()?;
            Some(blk(maj.parse().ok()?, min.parse().ok()?, op, value))
        })
        .collect();
    if v.is_empty() {
        Value::Null
    } else {
        json!(v)
    }
}

fn blk(major: u64, minor: u64, op: &str, value: u64) -> Value {
    nonzero(&[
        ("major", json!(major)),
        ("minor", json!(minor)),
        ("op", json!(op)),
        ("value", json!(value)),
    ])
}

/// Statistics from a v2 cgroup.
pub fn v2(d: &Path) -> Value {
    let us = |k: &str| kv(d, "cpu.stat", k).unwrap_or(0) * 1000;
    let cpu = json!({
        "usage": { "total": us("usage_usec"), "kernel": us("system_usec"), "user": us("user_usec") },
        "throttling": nonzero(&[
            ("periods", json!(kv(d, "cpu.stat", "nr_periods").unwrap_or(0))),
            ("throttledPeriods", json!(kv(d, "cpu.stat", "nr_throttled").unwrap_or(0))),
            ("throttledTime", json!(us("throttled_usec"))),
        ]),
    });
    let raw: HashMap<String, u64> = read_kv(d, "memory.stat").into_iter().collect();
    let mut memory = json!({
        "usage": entry(
            read_u64(d, "memory.max"),
            read_u64(d, "memory.current"),
            read_u64(d, "memory.peak"),
            kv(d, "memory.events", "max").unwrap_or(0),
        ),
        "swap": entry(
            read_u64(d, "memory.swap.max"),
            read_u64(d, "memory.swap.current"),
            read_u64(d, "memory.swap.peak"),
            kv(d, "memory.swap.events", "max").unwrap_or(0),
        ),
        "kernel": { "limit": 0, "failcnt": 0 },
        "kernelTCP": { "limit": 0, "failcnt": 0 },
        "raw": raw,
    });
    if let Some(c) = kv(d, "memory.stat", "file").filter(|c| *c != 0) {
        memory["cache"] = json!(c);
    }
    let mut bytes = Vec::new();
    let mut ios = Vec::new();
    for l in read(d, "io.stat").unwrap_or_default().lines() {
        let mut it = l.split_whitespace();
        let Some((maj, min)) = it.next().and_then(|x| x.split_once(':')) else {
            continue;
        };
        let (Ok(maj), Ok(min)) = (maj.parse::<u64>(), min.parse::<u64>()) else {
            continue;
        };
        for kvp in it {
            let Some((k, v)) = kvp.split_once('=') else {
                continue;
            };
            let v: u64 = v.parse().unwrap_or(0);
            match k {
                "rbytes" => bytes.push(blk(maj, min, "Read", v)),
                "wbytes" => bytes.push(blk(maj, min, "Write", v)),
                "rios" => ios.push(blk(maj, min, "Read", v)),
                "wios" => ios.push(blk(maj, min, "Write", v)),
                _ => {}
            }
        }
    }
    let arr = |v: Vec<Value>| if v.is_empty() { Value::Null } else { json!(v) };
    let blkio = nonzero(&[
        ("ioServiceBytesRecursive", arr(bytes)),
        ("ioServicedRecursive", arr(ios)),
    ]);
    let hugetlb = hugetlb(|size| {
        let p = format!("hugetlb.{size}");
        (
            read_u64(d, &format!("{p}.current")),
            0,
            kv(d, &format!("{p}.events"), "max").unwrap_or(0),
        )
    });
    stats(cpu, memory, pids(d), blkio, hugetlb)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake(files: &[(&str, &str)]) -> PathBuf {
        let d = std::env::temp_dir().join(format!("hull-stats-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap_or_default();
        for (f, v) in files {
            std::fs::write(d.join(f), v).unwrap_or_default();
        }
        d
    }

    #[test]
    fn v2_in_runc_shape() {
        let d = fake(&[
            ("cpu.stat", "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 4\nnr_throttled 1\nthrottled_usec 7\n"),
            ("memory.current", "4096\n"),
            ("memory.max", "max\n"),
            ("memory.stat", "anon 100\nfile 300\n"),
            ("memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n"),
            ("pids.current", "2\n"),
            ("pids.max", "max\n"),
            ("io.stat", "8:0 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0 dios=0\n"),
        ]);
        let s = v2(&d);
        let _ = std::fs::remove_dir_all(&d);
        assert_eq!(s["cpu"]["usage"]["total"], 1_500_000);
        assert_eq!(s["cpu"]["usage"]["user"], 1_000_000);
        assert_eq!(s["cpu"]["throttling"]["throttledPeriods"], 1);
        assert_eq!(s["cpu"]["throttling"]["throttledTime"], 7000);
        assert_eq!(s["memory"]["usage"]["usage"], 4096);
        assert_eq!(s["memory"]["usage"]["limit"], u64::MAX);
        assert_eq!(s["memory"]["usage"]["failcnt"], 3);
        assert_eq!(s["memory"]["cache"], 300);
        assert_eq!(s["memory"]["raw"]["anon"], 100);
        assert_eq!(s["pids"]["current"], 2);
        assert!(
            s["pids"].get("limit").is_none(),
            "unlimited pids read as absent (runc: 0)"
        );
        let b = &s["blkio"]["ioServiceBytesRecursive"];
        assert_eq!(b[0], json!({"major": 8, "op": "Read", "value": 10}));
        assert_eq!(b[1]["op"], "Write");
        assert_eq!(s["blkio"]["ioServicedRecursive"][1]["value"], 2);
        assert!(s.get("network_interfaces").is_some());
    }
}
