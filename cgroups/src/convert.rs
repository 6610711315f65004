//! Value conversions between the spec's (cgroup v1 flavoured) units and cgroup v2 files.

/// cpu.shares (v1, 2..262144, default 1024) to cpu.weight (v2, 1..10000, default 100).
///
/// hull uses the quadratic mapping crun introduced and runc adopted in 1.3, not runc's
/// older linear one (`1 + (shares-2)*9999/262142`): the linear one maps the default 1024
/// shares to weight 39 instead of 100, so a container asking for "default" got 40% of
/// the default share. The quadratic in log2(shares) hits all three fixed points exactly:
/// 2 -> 1, 1024 -> 100, 262144 -> 10000. `0` means unset and stays `0`.
pub fn shares_to_weight(shares: u64) -> u64 {
    if shares == 0 {
        return 0;
    }
    if shares <= 2 {
        return 1;
    }
    if shares >= 262_144 {
        return 10_000;
    }
    let l = (shares as f64).log2();
    let exponent = (l * l + 125.0 * l) / 612.0 - 7.0 / 34.0;
    10f64.powf(exponent).ceil() as u64
}

/// blkio.weight (v1, 10..1000) to io.weight (v2, 1..10000), runc's linear mapping.
/// `0` means unset and stays `0`.
pub fn blkio_weight_to_io(weight: u16) -> u64 {
    if weight == 0 {
        return 0;
    }
    1 + (u64::from(weight).saturating_sub(10)) * 9999 / 990
}

/// `linux.resources.memory.swap` (v1 semantics: memory + swap) to memory.swap.max (v2:
/// swap alone), as runc does. `None` = leave unset; `Some(-1)` = "max".
pub fn swap_to_v2(swap: Option<i64>, limit: Option<i64>) -> Result<Option<i64>, String> {
    let swap = swap.unwrap_or(0);
    let limit = limit.unwrap_or(0);
    // Unlimited memory without an explicit swap means unlimited swap too (v1 behaviour).
    if limit == -1 && swap == 0 {
        return Ok(Some(-1));
    }
    if swap == -1 {
        return Ok(Some(-1));
    }
    if swap == 0 {
        return Ok(None);
    }
    if limit == 0 || limit == -1 {
        return Err("cannot set a swap limit without a memory limit".into());
    }
    if swap < limit {
        return Err(format!(
            "memory+swap limit {swap} must be >= the memory limit {limit}"
        ));
    }
    Ok(Some(swap - limit))
}

/// `-1` (or anything negative) is "max" in v2 files.
pub fn max_or(v: i64) -> String {
    if v < 0 {
        "max".into()
    } else {
        v.to_string()
    }
}

/// Hugepage size names as the kernel's cgroup files use them: `2MB`, `1GB`, `64KB`,
/// from `/sys/kernel/mm/hugepages/hugepages-<N>kB`.
pub fn hugepage_size_name(kb: u64) -> String {
    if kb >= 1 << 20 && kb % (1 << 20) == 0 {
        format!("{}GB", kb >> 20)
    } else if kb >= 1 << 10 && kb % (1 << 10) == 0 {
        format!("{}MB", kb >> 10)
    } else {
        format!("{kb}KB")
    }
}

/// The hugepage sizes this host supports, as cgroup file names use them.
pub fn host_hugepage_sizes() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir("/sys/kernel/mm/hugepages")
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| {
                    let n = e.file_name().to_string_lossy().into_owned();
                    let kb = n.strip_prefix("hugepages-")?.strip_suffix("kB")?;
                    Some(hugepage_size_name(kb.parse().ok()?))
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Parses a memory size like runc's `update` flags (docker's units.RAMInBytes): `1024`,
/// `64k`, `512m`, `2g`, `1.5GiB`; `-1` is unlimited.
pub fn parse_ram(s: &str) -> Result<i64, String> {
    let t = s.trim();
    if t == "-1" {
        return Ok(-1);
    }
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("invalid size {s:?}: expected a number with optional unit"))?;
    let mult: i64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        "p" | "pb" | "pib" => 1 << 50,
        u => return Err(format!("invalid size {s:?}: unknown unit {u:?}")),
    };
    let v = n * mult as f64;
    if !(0.0..9.2e18).contains(&v) {
        return Err(format!("invalid size {s:?}: out of range"));
    }
    Ok(v as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_weight_fixed_points() {
        assert_eq!(shares_to_weight(0), 0);
        assert_eq!(shares_to_weight(1), 1);
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(1024), 100);
        assert_eq!(shares_to_weight(262_144), 10_000);
        assert_eq!(shares_to_weight(1 << 20), 10_000);
        // Monotonic in between (the curve is steeper than linear near the default).
        let mut last = 0;
        for s in (2..262_144).step_by(997) {
            let w = shares_to_weight(s);
            assert!(w >= last && (1..=10_000).contains(&w), "{s} -> {w}");
            last = w;
        }
        assert_eq!(shares_to_weight(512), 59);
        assert_eq!(shares_to_weight(2048), 174);
    }

    #[test]
    fn blkio_weight() {
        assert_eq!(blkio_weight_to_io(0), 0);
        assert_eq!(blkio_weight_to_io(10), 1);
        assert_eq!(blkio_weight_to_io(1000), 10_000);
        assert_eq!(blkio_weight_to_io(500), 1 + 490 * 9999 / 990);
    }

    #[test]
    fn swap_conversion_like_runc() {
        assert_eq!(swap_to_v2(None, None), Ok(None));
        assert_eq!(swap_to_v2(None, Some(-1)), Ok(Some(-1)));
        assert_eq!(swap_to_v2(Some(-1), Some(100)), Ok(Some(-1)));
        assert_eq!(swap_to_v2(Some(300), Some(100)), Ok(Some(200)));
        assert_eq!(swap_to_v2(Some(100), Some(100)), Ok(Some(0)));
        assert!(swap_to_v2(Some(50), Some(100)).is_err());
        assert!(swap_to_v2(Some(50), None).is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(hugepage_size_name(2048), "2MB");
        assert_eq!(hugepage_size_name(1_048_576), "1GB");
        assert_eq!(hugepage_size_name(64), "64KB");
        assert_eq!(parse_ram("64m"), Ok(64 << 20));
        assert_eq!(parse_ram("1.5g"), Ok(3 << 29));
        assert_eq!(parse_ram("1024"), Ok(1024));
        assert_eq!(parse_ram("2KiB"), Ok(2048));
        assert_eq!(parse_ram("-1"), Ok(-1));
        assert!(parse_ram("12x").is_err());
        assert!(parse_ram("m").is_err());
        assert_eq!(max_or(-1), "max");
        assert_eq!(max_or(5), "5");
    }
}
