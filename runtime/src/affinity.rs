//! CPU affinity of container processes (config.md `process.execCPUAffinity`).
//!
//! A process inherits the affinity of its parent, so without this a container started by
//! `taskset -c 0 hull run` would be pinned to CPU 0. Like runc, the init (and an exec'd
//! process without `execCPUAffinity`) asks for every CPU once it is in its cgroup: the
//! kernel narrows the request to the CPUs the cgroup's cpuset allows.

use nix::sched::{sched_setaffinity, CpuSet};
use nix::unistd::Pid;

use crate::error::{Context, Error, Result};

/// Sets the calling process's affinity to every CPU its cpuset allows.
pub fn reset() -> Result<()> {
    let mut all = CpuSet::new();
    for cpu in 0..CpuSet::count() {
        all.set(cpu).ctx(|| "CPU affinity")?;
    }
    sched_setaffinity(Pid::from_raw(0), &all).ctx(|| "reset CPU affinity: sched_setaffinity")
}

/// Sets the calling process's affinity to `list` (`field` names it in errors).
pub fn set(field: &str, list: &str) -> Result<()> {
    let cpus = parse(field, list)?;
    sched_setaffinity(Pid::from_raw(0), &cpus)
        .ctx(|| format!("{field} {list:?}: sched_setaffinity"))
}

/// Parses a CPU list as the spec and taskset write it: `0-3,7`.
pub fn parse(field: &str, list: &str) -> Result<CpuSet> {
    let bad = |why: String| Error::config(field, format!("{list:?}: {why}"));
    let mut set = CpuSet::new();
    let max = CpuSet::count();
    for part in list.split(',').map(str::trim) {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        let num = |s: &str| {
            s.trim()
                .parse::<usize>()
                .map_err(|_| bad(format!("{part:?} is not a CPU number or range")))
        };
        let (a, b) = (num(a)?, num(b)?);
        if a > b || b >= max {
            return Err(bad(format!("{part:?} is not a CPU range below {max}")));
        }
        for cpu in a..=b {
            set.set(cpu).map_err(|e| bad(e.to_string()))?;
        }
    }
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists() {
        let s = parse("f", "0-2, 5").expect("valid");
        let on: Vec<usize> = (0..8).filter(|c| s.is_set(*c).unwrap_or(false)).collect();
        assert_eq!(on, [0, 1, 2, 5]);
        for bad in ["", "x", "3-1", "1-", "99999"] {
            let e = parse("process.execCPUAffinity.initial", bad).expect_err(bad);
            assert!(
                e.to_string()
                    .starts_with("process.execCPUAffinity.initial:"),
                "{e}"
            );
        }
    }
}
