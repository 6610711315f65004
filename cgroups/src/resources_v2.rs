//! Writing `linux.resources` to cgroup v2 files, field by field (conversions in
//! [`super::convert`]).

use std::path::Path;

use oci_spec::runtime::{LinuxBlockIo, LinuxCpu, LinuxMemory, LinuxRdma, LinuxResources};

use super::convert::{self, max_or};
use super::fsutil::{self, has, write};
use crate::error::{Error, Result};

fn f(s: &str) -> String {
    format!("linux.resources.{s}")
}

fn no_v2(field: &str, what: &str) -> Error {
    Error::config(f(field), format!("{what} does not exist in cgroup v2"))
}

/// Fields cgroup v2 has no file for: an error unless they hold the default.
pub fn check_unsupported(r: &LinuxResources) -> Result<()> {
    if let Some(m) = r.memory() {
        #[allow(deprecated)]
        if m.kernel().is_some_and(|v| v != 0 && v != -1) {
            return Err(no_v2("memory.kernel", "a kernel memory limit"));
        }
        if m.kernel_tcp().is_some_and(|v| v != 0 && v != -1) {
            return Err(no_v2("memory.kernelTCP", "a kernel TCP memory limit"));
        }
        if m.swappiness().is_some() {
            return Err(no_v2("memory.swappiness", "swappiness"));
        }
        if m.disable_oom_killer() == Some(true) {
            return Err(no_v2("memory.disableOOMKiller", "disabling the OOM killer"));
        }
        if m.use_hierarchy() == Some(false) {
            return Err(no_v2(
                "memory.useHierarchy",
                "non-hierarchical accounting (v2 is always hierarchical)",
            ));
        }
    }
    if let Some(c) = r.cpu() {
        if c.realtime_runtime().is_some_and(|v| v != 0)
            || c.realtime_period().is_some_and(|v| v != 0)
        {
            return Err(no_v2("cpu.realtimeRuntime", "real-time group scheduling"));
        }
    }
    if let Some(b) = r.block_io() {
        let leaf = b.leaf_weight().is_some_and(|w| w != 0)
            || b.weight_device()
                .iter()
                .flatten()
                .any(|d| d.leaf_weight().is_some_and(|w| w != 0));
        if leaf {
            return Err(no_v2("blockIO.leafWeight", "a leaf weight"));
        }
    }
    if let Some(n) = r.network() {
        if n.class_id().is_some_and(|c| c != 0) {
            return Err(no_v2("network.classID", "net_cls"));
        }
        if n.priorities().as_ref().is_some_and(|p| !p.is_empty()) {
            return Err(no_v2("network.priorities", "net_prio"));
        }
    }
    Ok(())
}

/// Fields whose controller is not enabled in the container's cgroup `dir`.
pub fn check_available(dir: &Path, r: &LinuxResources) -> Result<()> {
    let have = fsutil::read(dir, "cgroup.controllers").unwrap_or_default();
    let have: Vec<&str> = have.split_whitespace().collect();
    let need = |ctrl: &str, field: &str, asked: bool| {
        if asked && !have.contains(&ctrl) {
            Err(Error::config(
                f(field),
                format!(
                    "the {ctrl} controller is not available in cgroup {} (it has: {})",
                    dir.display(),
                    have.join(" ")
                ),
            ))
        } else {
            Ok(())
        }
    };
    let set = |v: Option<i64>| v.is_some_and(|v| v != 0 && v != -1);
    if let Some(m) = r.memory() {
        need(
            "memory",
            "memory",
            set(m.limit()) || set(m.reservation()) || set(m.swap()),
        )?;
    }
    if let Some(c) = r.cpu() {
        let asked = c.shares().is_some_and(|s| s != 0)
            || set(c.quota())
            || c.period().is_some_and(|p| p != 0)
            || c.burst().is_some_and(|b| b != 0)
            || c.idle().is_some_and(|i| i != 0);
        need("cpu", "cpu", asked)?;
        let cpuset = c.cpus().as_ref().is_some_and(|s| !s.is_empty())
            || c.mems().as_ref().is_some_and(|s| !s.is_empty());
        need("cpuset", "cpu.cpus", cpuset)?;
    }
    if let Some(p) = r.pids() {
        need("pids", "pids.limit", p.limit() >= 0)?;
    }
    if let Some(b) = r.block_io() {
        let asked = b.weight().is_some_and(|w| w != 0)
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
        need("io", "blockIO", asked)?;
    }
    let huge = r.hugepage_limits().as_ref().is_some_and(|v| !v.is_empty());
    need("hugetlb", "hugepageLimits", huge)?;
    need(
        "rdma",
        "rdma",
        r.rdma().as_ref().is_some_and(|m| !m.is_empty()),
    )?;
    for k in r.unified().iter().flatten().map(|(k, _)| k) {
        let ctrl = k.split('.').next().unwrap_or("");
        if [
            "cgroup.procs",
            "cgroup.threads",
            "cgroup.kill",
            "cgroup.subtree_control",
        ]
        .contains(&k.as_str())
        {
            return Err(Error::config(
                f(&format!("unified.{k}")),
                "not a resource setting (hull manages it)",
            ));
        }
        if ctrl != "cgroup" {
            need(ctrl, &format!("unified.{k}"), true)?;
        }
        if !has(dir, k) {
            return Err(Error::config(
                f(&format!("unified.{k}")),
                format!("unknown key: cgroup {} has no file {k:?}", dir.display()),
            ));
        }
    }
    Ok(())
}

/// Applies `r`; `merged` is the whole resources (equal to `r` at create) for values that
/// depend on several fields.
pub fn apply(dir: &Path, r: &LinuxResources, merged: &LinuxResources, update: bool) -> Result<()> {
    if let Some(m) = r.memory() {
        memory(dir, m, merged.memory().as_ref(), update)?;
    }
    if let Some(c) = r.cpu() {
        cpu(dir, c)?;
    }
    if let Some(p) = r.pids() {
        // runtime-spec 1.3.0: 0 is a limit (no new task), negative is max; an unset limit
        // never gets here (the runtime drops `pids` without `limit`).
        write(dir, "pids.max", &max_or(p.limit()), &f("pids.limit"))?;
    }
    if let Some(b) = r.block_io() {
        io(dir, b)?;
    }
    if r.hugepage_limits().as_ref().is_some_and(|v| !v.is_empty()) {
        let sizes = convert::host_hugepage_sizes();
        for (i, h) in r.hugepage_limits().iter().flatten().enumerate() {
            let field = f(&format!("hugepageLimits[{i}]"));
            if !sizes.contains(h.page_size()) {
                return Err(Error::config(
                    format!("{field}.pageSize"),
                    format!(
                        "{:?}: this host has hugepage sizes {sizes:?}",
                        h.page_size()
                    ),
                ));
            }
            let v = max_or(h.limit());
            write(dir, &format!("hugetlb.{}.max", h.page_size()), &v, &field)?;
            let rsvd = format!("hugetlb.{}.rsvd.max", h.page_size());
            if has(dir, &rsvd) {
                write(dir, &rsvd, &v, &field)?;
            }
        }
    }
    for (dev, l) in r.rdma().iter().flatten() {
        write(
            dir,
            "rdma.max",
            &rdma_line(dev, l),
            &f(&format!("rdma.{dev}")),
        )?;
    }
    // Last, so that explicit unified values override the converted ones (runc's order).
    let mut keys: Vec<_> = r.unified().iter().flatten().collect();
    keys.sort();
    for (k, v) in keys {
        write(dir, k, v, &f(&format!("unified.{k}")))?;
    }
    Ok(())
}

/// `mlx4_0 hca_handle=2 hca_object=max`, the line rdma.max takes (v1 and v2 alike).
pub fn rdma_line(dev: &str, l: &LinuxRdma) -> String {
    let n = |v: Option<u32>| v.map_or("max".to_string(), |n| n.to_string());
    format!(
        "{dev} hca_handle={} hca_object={}",
        n(l.hca_handles()),
        n(l.hca_objects())
    )
}

fn memory(dir: &Path, m: &LinuxMemory, merged: Option<&LinuxMemory>, update: bool) -> Result<()> {
    let limit = m.limit().filter(|v| *v != 0);
    let merged_limit = merged.and_then(|x| x.limit()).or(limit);
    // The swap value is derived from memory+swap and the limit, the latter possibly set by
    // an earlier create/update: use the merged view.
    let swap_in = m.swap().or(if limit.is_some() {
        merged.and_then(|x| x.swap())
    } else {
        None
    });
    let swap = convert::swap_to_v2(swap_in, merged_limit)
        .map_err(|e| Error::config(f("memory.swap"), e))?;
    if let (Some(l), true) = (
        limit.filter(|l| *l > 0),
        update && merged.and_then(|x| x.check_before_update()) == Some(true),
    ) {
        let usage = fsutil::read_u64(dir, "memory.current");
        if usage > l as u64 {
            return Err(Error::config(
                f("memory.limit"),
                format!("{l} is below the current usage {usage} (checkBeforeUpdate)"),
            ));
        }
    }
    if let Some(s) = swap {
        if has(dir, "memory.swap.max") {
            write(dir, "memory.swap.max", &max_or(s), &f("memory.swap"))?;
        } else if s > 0 {
            return Err(Error::config(
                f("memory.swap"),
                "swap accounting is not enabled on this host (no memory.swap.max)",
            ));
        }
    }
    if let Some(l) = limit {
        write(dir, "memory.max", &max_or(l), &f("memory.limit"))?;
    }
    if let Some(v) = m.reservation().filter(|v| *v != 0) {
        write(dir, "memory.low", &max_or(v), &f("memory.reservation"))?;
    }
    Ok(())
}

fn cpu(dir: &Path, c: &LinuxCpu) -> Result<()> {
    if let Some(s) = c.shares().filter(|s| *s != 0) {
        let w = convert::shares_to_weight(s);
        write(dir, "cpu.weight", &w.to_string(), &f("cpu.shares"))?;
    }
    let quota = c.quota().filter(|q| *q != 0);
    let period = c.period().filter(|p| *p != 0);
    if quota.is_some() || period.is_some() {
        // Unlike runc (which writes "max" when only the period is given), keep the current
        // quota when only the period changes.
        let q = match quota {
            Some(q) => max_or(q),
            None => fsutil::read(dir, "cpu.max")
                .ok()
                .and_then(|s| s.split_whitespace().next().map(str::to_string))
                .unwrap_or_else(|| "max".into()),
        };
        let v = match period {
            Some(p) => format!("{q} {p}"),
            None => q,
        };
        let field = if quota.is_some() {
            "cpu.quota"
        } else {
            "cpu.period"
        };
        write(dir, "cpu.max", &v, &f(field))?;
    }
    if let Some(b) = c.burst() {
        write(dir, "cpu.max.burst", &b.to_string(), &f("cpu.burst"))?;
    }
    if let Some(i) = c.idle() {
        write(dir, "cpu.idle", &i.to_string(), &f("cpu.idle"))?;
    }
    if let Some(s) = c.cpus().as_ref().filter(|s| !s.is_empty()) {
        write(dir, "cpuset.cpus", s, &f("cpu.cpus"))?;
    }
    if let Some(s) = c.mems().as_ref().filter(|s| !s.is_empty()) {
        write(dir, "cpuset.mems", s, &f("cpu.mems"))?;
    }
    Ok(())
}

fn io(dir: &Path, b: &LinuxBlockIo) -> Result<()> {
    // BFQ takes blkio-style weights (1..1000) as they are; io.weight needs converting.
    let bfq = has(dir, "io.bfq.weight");
    let weight_file = if bfq { "io.bfq.weight" } else { "io.weight" };
    let conv = |w: u16| {
        if bfq {
            u64::from(w)
        } else {
            convert::blkio_weight_to_io(w)
        }
    };
    if let Some(w) = b.weight().filter(|w| *w != 0) {
        if !has(dir, weight_file) {
            return Err(Error::config(
                f("blockIO.weight"),
                format!(
                    "{} has no io.weight: no I/O weight support on this host",
                    dir.display()
                ),
            ));
        }
        write(dir, weight_file, &conv(w).to_string(), &f("blockIO.weight"))?;
    }
    for (i, d) in b.weight_device().iter().flatten().enumerate() {
        if let Some(w) = d.weight() {
            let v = format!("{}:{} {}", d.major(), d.minor(), conv(w));
            write(
                dir,
                weight_file,
                &v,
                &f(&format!("blockIO.weightDevice[{i}]")),
            )?;
        }
    }
    for (name, list, key) in [
        (
            "throttleReadBpsDevice",
            b.throttle_read_bps_device(),
            "rbps",
        ),
        (
            "throttleWriteBpsDevice",
            b.throttle_write_bps_device(),
            "wbps",
        ),
        (
            "throttleReadIOPSDevice",
            b.throttle_read_iops_device(),
            "riops",
        ),
        (
            "throttleWriteIOPSDevice",
            b.throttle_write_iops_device(),
            "wiops",
        ),
    ] {
        for (i, t) in list.iter().flatten().enumerate() {
            let rate = if t.rate() == 0 {
                "max".to_string()
            } else {
                t.rate().to_string()
            };
            let v = format!("{}:{} {key}={rate}", t.major(), t.minor());
            write(dir, "io.max", &v, &f(&format!("blockIO.{name}[{i}]")))?;
        }
    }
    Ok(())
}
