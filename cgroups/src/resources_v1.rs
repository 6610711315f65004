//! Writing `linux.resources` to cgroup v1 files, field by field.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxBlockIo, LinuxCpu, LinuxMemory, LinuxResources};

use super::devices::{self, Rule};
use super::fsutil::{self, has, write};
use crate::error::{Error, Result};

type Dirs = BTreeMap<String, PathBuf>;

/// A limit value that asks for something (`0` is runc's "unset", `-1` unlimited = default).
fn set(v: Option<i64>) -> bool {
    v.is_some_and(|v| v != 0 && v != -1)
}

fn missing(field: &str, ctrl: &str) -> Error {
    Error::config(
        field,
        format!("the {ctrl} cgroup controller is not available on this host"),
    )
}

/// Fields whose controller this host lacks, for values that are not the default: an
/// error naming the field, before anything is created.
pub fn check_available(d: &Dirs, r: &LinuxResources) -> Result<()> {
    let need = |ctrl: &str, field: &str, asked: bool| {
        if asked && !d.contains_key(ctrl) {
            Err(missing(field, ctrl))
        } else {
            Ok(())
        }
    };
    let f = |s: &str| format!("linux.resources.{s}");
    if let Some(m) = r.memory() {
        #[allow(deprecated)]
        let asked = set(m.limit())
            || set(m.reservation())
            || set(m.swap())
            || set(m.kernel())
            || set(m.kernel_tcp())
            || m.swappiness().is_some()
            || m.disable_oom_killer() == Some(true);
        need("memory", &f("memory"), asked)?;
    }
    if let Some(c) = r.cpu() {
        let asked = c.shares().is_some_and(|s| s != 0)
            || set(c.quota())
            || c.period().is_some_and(|p| p != 0)
            || c.burst().is_some_and(|b| b != 0)
            || set(c.realtime_runtime())
            || c.realtime_period().is_some_and(|p| p != 0)
            || c.idle().is_some_and(|i| i != 0);
        need("cpu", &f("cpu"), asked)?;
        let cpuset = c.cpus().as_ref().is_some_and(|s| !s.is_empty())
            || c.mems().as_ref().is_some_and(|s| !s.is_empty());
        need("cpuset", &f("cpu.cpus"), cpuset)?;
    }
    if let Some(p) = r.pids() {
        need("pids", &f("pids.limit"), p.limit() >= 0)?;
    }
    if let Some(b) = r.block_io() {
        let asked = b.weight().is_some_and(|w| w != 0)
            || b.leaf_weight().is_some_and(|w| w != 0)
            || b.weight_device().as_ref().is_some_and(|v| !v.is_empty())
            || b.throttle_read_bps_device()
                .as_ref()
                .is_some_and(|v| !v.is_empty())
            || b.throttle_write_bps_device()
                .as_ref()
                .is_some_and(|v| !v.is_empty())
            || b.throttle_read_iops_device()
                .as_ref()
                .is_some_and(|v| !v.is_empty())
            || b.throttle_write_iops_device()
                .as_ref()
                .is_some_and(|v| !v.is_empty());
        need("blkio", &f("blockIO"), asked)?;
    }
    if r.hugepage_limits().as_ref().is_some_and(|v| !v.is_empty()) {
        need("hugetlb", &f("hugepageLimits"), true)?;
    }
    if let Some(n) = r.network() {
        need(
            "net_cls",
            &f("network.classID"),
            n.class_id().is_some_and(|c| c != 0),
        )?;
        let prio = n.priorities().as_ref().is_some_and(|v| !v.is_empty());
        need("net_prio", &f("network.priorities"), prio)?;
    }
    if r.rdma().as_ref().is_some_and(|m| !m.is_empty()) {
        need("rdma", &f("rdma"), true)?;
    }
    if r.unified().as_ref().is_some_and(|m| !m.is_empty()) {
        return Err(Error::config(
            f("unified"),
            "cgroup v2 (unified) keys cannot be applied on a cgroup v1 host",
        ));
    }
    // The device controller is what keeps a container off the host's disks: never run
    // without it (runc refuses too).
    need("devices", &f("devices"), true)
}

/// Applies `r`; `rules` (the full device rule list) is written when given; `check_usage`
/// (an update with checkBeforeUpdate) refuses a memory limit below the current usage.
pub fn apply(
    d: &Dirs,
    r: &LinuxResources,
    rules: Option<&[Rule]>,
    check_usage: bool,
) -> Result<()> {
    if let Some(rules) = rules {
        if let Some(dir) = d.get("devices") {
            let w = devices::v1_writes(rules);
            let seq = w.iter().map(|(f, r)| (*f, r.as_str()));
            fsutil::write_seq(dir, seq, "linux.resources.devices")?;
        }
    }
    if let (Some(m), Some(dir)) = (r.memory(), d.get("memory")) {
        memory(dir, m, check_usage)?;
    }
    if let Some(c) = r.cpu() {
        if let Some(dir) = d.get("cpu") {
            cpu(dir, c)?;
        }
        if let Some(dir) = d.get("cpuset") {
            if let Some(s) = c.cpus().as_ref().filter(|s| !s.is_empty()) {
                write(dir, "cpuset.cpus", s, "linux.resources.cpu.cpus")?;
            }
            if let Some(s) = c.mems().as_ref().filter(|s| !s.is_empty()) {
                write(dir, "cpuset.mems", s, "linux.resources.cpu.mems")?;
            }
        }
    }
    if let (Some(p), Some(dir)) = (r.pids(), d.get("pids")) {
        // runtime-spec 1.3.0: 0 is a limit, negative is max (unset never gets here).
        let v = super::convert::max_or(p.limit());
        write(dir, "pids.max", &v, "linux.resources.pids.limit")?;
    }
    if let (Some(b), Some(dir)) = (r.block_io(), d.get("blkio")) {
        blkio(dir, b)?;
    }
    if let Some(dir) = d.get("hugetlb") {
        let sizes = super::convert::host_hugepage_sizes();
        for (i, h) in r.hugepage_limits().iter().flatten().enumerate() {
            let field = format!("linux.resources.hugepageLimits[{i}]");
            if !sizes.contains(h.page_size()) {
                return Err(Error::config(
                    format!("{field}.pageSize"),
                    format!(
                        "{:?}: this host has hugepage sizes {sizes:?}",
                        h.page_size()
                    ),
                ));
            }
            let file = format!("hugetlb.{}.limit_in_bytes", h.page_size());
            write(
                dir,
                &file,
                &h.limit().to_string(),
                &format!("{field}.limit"),
            )?;
        }
    }
    if let Some(n) = r.network() {
        if let (Some(id), Some(dir)) = (n.class_id(), d.get("net_cls")) {
            write(
                dir,
                "net_cls.classid",
                &id.to_string(),
                "linux.resources.network.classID",
            )?;
        }
        if let Some(dir) = d.get("net_prio") {
            for (i, p) in n.priorities().iter().flatten().enumerate() {
                let v = format!("{} {}", p.name(), p.priority());
                let f = format!("linux.resources.network.priorities[{i}]");
                write(dir, "net_prio.ifpriomap", &v, &f)?;
            }
        }
    }
    if let Some(dir) = d.get("rdma") {
        for (dev, l) in r.rdma().iter().flatten() {
            let v = super::resources_v2::rdma_line(dev, l);
            write(dir, "rdma.max", &v, &format!("linux.resources.rdma.{dev}"))?;
        }
    }
    Ok(())
}

fn memory(dir: &Path, m: &LinuxMemory, check_usage: bool) -> Result<()> {
    let f = |s: &str| format!("linux.resources.memory.{s}");
    let limit = m.limit().filter(|v| *v != 0);
    let mut swap = m.swap().filter(|v| *v != 0);
    let memsw = "memory.memsw.limit_in_bytes";
    // runc: unlimited memory with swap unset makes swap unlimited too.
    if limit == Some(-1) && swap.is_none() && has(dir, memsw) {
        swap = Some(-1);
    }
    if let (Some(l), Some(s)) = (limit, swap) {
        if l > 0 && s > 0 && s < l {
            return Err(Error::config(
                f("swap"),
                format!("memory+swap limit {s} must be >= the memory limit {l}"),
            ));
        }
    }
    if let (Some(l), true) = (limit.filter(|l| *l > 0), check_usage) {
        let usage = fsutil::read_u64(dir, "memory.usage_in_bytes");
        if usage > l as u64 {
            return Err(Error::config(
                f("limit"),
                format!("{l} is below the current usage {usage} (checkBeforeUpdate)"),
            ));
        }
    }
    if swap.is_some_and(|s| s != -1) && !has(dir, memsw) {
        return Err(Error::config(
            f("swap"),
            "swap accounting is not enabled on this host (no memory.memsw.limit_in_bytes)",
        ));
    }
    let set_limit = || match limit {
        Some(l) => write(dir, "memory.limit_in_bytes", &l.to_string(), &f("limit")),
        None => Ok(()),
    };
    let set_swap = || match swap {
        Some(s) if has(dir, memsw) => write(dir, memsw, &s.to_string(), &f("swap")),
        _ => Ok(()),
    };
    // Write order matters: the kernel insists memory <= memory+swap at every step.
    let cur_limit = fsutil::read_u64(dir, "memory.limit_in_bytes");
    match (limit, swap) {
        (Some(_), Some(s)) if s == -1 || cur_limit < s as u64 => {
            set_swap()?;
            set_limit()?;
        }
        _ => {
            set_limit()?;
            set_swap()?;
        }
    }
    if let Some(v) = m.reservation().filter(|v| *v != 0) {
        write(
            dir,
            "memory.soft_limit_in_bytes",
            &v.to_string(),
            &f("reservation"),
        )?;
    }
    #[allow(deprecated)]
    if let Some(v) = m.kernel().filter(|v| *v != 0) {
        write(
            dir,
            "memory.kmem.limit_in_bytes",
            &v.to_string(),
            &f("kernel"),
        )?;
    }
    if let Some(v) = m.kernel_tcp().filter(|v| *v != 0) {
        write(
            dir,
            "memory.kmem.tcp.limit_in_bytes",
            &v.to_string(),
            &f("kernelTCP"),
        )?;
    }
    if let Some(v) = m.swappiness() {
        write(dir, "memory.swappiness", &v.to_string(), &f("swappiness"))?;
    }
    if m.disable_oom_killer() == Some(true) {
        write(dir, "memory.oom_control", "1", &f("disableOOMKiller"))?;
    }
    if let Some(h) = m.use_hierarchy() {
        let cur = fsutil::read(dir, "memory.use_hierarchy").unwrap_or_default();
        let want = if h { "1" } else { "0" };
        if cur != want {
            write(dir, "memory.use_hierarchy", want, &f("useHierarchy"))?;
        }
    }
    Ok(())
}

fn cpu(dir: &Path, c: &LinuxCpu) -> Result<()> {
    let f = |s: &str| format!("linux.resources.cpu.{s}");
    if let Some(s) = c.shares().filter(|s| *s != 0) {
        write(dir, "cpu.shares", &s.to_string(), &f("shares"))?;
        // The kernel clamps silently (2..262144); say so instead of running with another value.
        let got = fsutil::read_u64(dir, "cpu.shares");
        if got != s {
            return Err(Error::config(
                f("shares"),
                format!("{s}: out of range, the kernel set {got} (allowed 2..262144)"),
            ));
        }
    }
    let quota = c.quota().filter(|q| *q != 0);
    let mut period_pending = None;
    if let Some(p) = c.period().filter(|p| *p != 0) {
        // A smaller period can be refused while the old quota is in place; retry after quota.
        if let Err(e) = write(dir, "cpu.cfs_period_us", &p.to_string(), &f("period")) {
            if quota.is_none() {
                return Err(e);
            }
            period_pending = Some(p);
        }
    }
    if let Some(q) = quota {
        write(dir, "cpu.cfs_quota_us", &q.to_string(), &f("quota"))?;
    }
    if let Some(p) = period_pending {
        write(dir, "cpu.cfs_period_us", &p.to_string(), &f("period"))?;
    }
    if let Some(b) = c.burst() {
        write(dir, "cpu.cfs_burst_us", &b.to_string(), &f("burst"))?;
    }
    let rt_period = c.realtime_period().filter(|p| *p != 0);
    let rt_runtime = c.realtime_runtime().filter(|r| *r != 0);
    let period = |p: u64| {
        write(
            dir,
            "cpu.rt_period_us",
            &p.to_string(),
            &f("realtimePeriod"),
        )
    };
    let runtime = |r: i64| {
        write(
            dir,
            "cpu.rt_runtime_us",
            &r.to_string(),
            &f("realtimeRuntime"),
        )
    };
    // The kernel keeps runtime <= period at every step: lowering both needs the runtime
    // first, raising both the period first.
    if let (Some(p), Some(r)) = (rt_period, rt_runtime) {
        if runtime_first(r, fsutil::read(dir, "cpu.rt_runtime_us").ok().as_deref()) {
            runtime(r)?;
            period(p)?;
        } else {
            period(p)?;
            runtime(r)?;
        }
    } else {
        rt_period.map(period).transpose()?;
        rt_runtime.map(runtime).transpose()?;
    }
    if let Some(i) = c.idle() {
        write(dir, "cpu.idle", &i.to_string(), &f("idle"))?;
    }
    Ok(())
}

/// Whether a new rt runtime `new` is written before the rt period: when it lowers the
/// current one (`cur`, the file's text), which a lower period may need first.
fn runtime_first(new: i64, cur: Option<&str>) -> bool {
    cur.and_then(|c| c.trim().parse::<i64>().ok())
        .is_some_and(|cur| new < cur)
}

fn blkio(dir: &Path, b: &LinuxBlockIo) -> Result<()> {
    let f = |s: &str| format!("linux.resources.blockIO.{s}");
    // CFQ had blkio.weight; with BFQ the files are blkio.bfq.*; neither: no weight support.
    let (wfile, wdev) = if has(dir, "blkio.weight") {
        ("blkio.weight", "blkio.weight_device")
    } else {
        ("blkio.bfq.weight", "blkio.bfq.weight_device")
    };
    let unsupported = |field: &str, file: &str| {
        Error::config(
            f(field),
            format!(
                "{} does not exist: no I/O scheduler with weights (CFQ/BFQ) on this host",
                Path::new(dir).join(file).display()
            ),
        )
    };
    if let Some(w) = b.weight().filter(|w| *w != 0) {
        if !has(dir, wfile) {
            return Err(unsupported("weight", wfile));
        }
        write(dir, wfile, &w.to_string(), &f("weight"))?;
    }
    if let Some(w) = b.leaf_weight().filter(|w| *w != 0) {
        if !has(dir, "blkio.leaf_weight") {
            return Err(unsupported("leafWeight", "blkio.leaf_weight"));
        }
        write(dir, "blkio.leaf_weight", &w.to_string(), &f("leafWeight"))?;
    }
    for (i, d) in b.weight_device().iter().flatten().enumerate() {
        let field = f(&format!("weightDevice[{i}]"));
        if let Some(w) = d.weight() {
            if !has(dir, wdev) {
                return Err(unsupported(&format!("weightDevice[{i}].weight"), wdev));
            }
            let v = format!("{}:{} {w}", d.major(), d.minor());
            write(dir, wdev, &v, &field)?;
        }
        if let Some(w) = d.leaf_weight() {
            let file = "blkio.leaf_weight_device";
            if !has(dir, file) {
                return Err(unsupported(&format!("weightDevice[{i}].leafWeight"), file));
            }
            write(
                dir,
                file,
                &format!("{}:{} {w}", d.major(), d.minor()),
                &field,
            )?;
        }
    }
    for (name, list, file) in [
        (
            "throttleReadBpsDevice",
            b.throttle_read_bps_device(),
            "read_bps_device",
        ),
        (
            "throttleWriteBpsDevice",
            b.throttle_write_bps_device(),
            "write_bps_device",
        ),
        (
            "throttleReadIOPSDevice",
            b.throttle_read_iops_device(),
            "read_iops_device",
        ),
        (
            "throttleWriteIOPSDevice",
            b.throttle_write_iops_device(),
            "write_iops_device",
        ),
    ] {
        for (i, t) in list.iter().flatten().enumerate() {
            let v = format!("{}:{} {}", t.major(), t.minor(), t.rate());
            let file = format!("blkio.throttle.{file}");
            write(dir, &file, &v, &f(&format!("{name}[{i}]")))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::runtime_first;

    #[test]
    fn rt_runtime_goes_first_only_when_lowered() {
        assert!(runtime_first(40_000, Some("500000\n")));
        assert!(!runtime_first(600_000, Some("500000")));
        assert!(!runtime_first(40_000, None));
        assert!(!runtime_first(40_000, Some("junk")));
    }
}
