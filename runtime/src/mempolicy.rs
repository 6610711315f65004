//! `linux.memoryPolicy` (runtime-spec 1.3.0): the NUMA memory policy of the container's
//! process, set with set_mempolicy(2) in the init just before `execve` (the policy is kept
//! across execve and inherited by children). Validated up front as the spec and the kernel
//! require, so a bad policy is a config error naming the field, not an EINVAL at start.

use oci_spec::runtime::{LinuxMemoryPolicy, MemoryPolicyFlagType as F, MemoryPolicyModeType as M};

use crate::error::{Error, Result};

const FIELD: &str = "linux.memoryPolicy";

/// The highest node number accepted (the kernel's MAX_NUMNODES is at most 1024).
const MAX_NODE: u32 = 1023;

/// What set_mempolicy(2) gets: mode with its flags, and the node mask.
#[derive(Debug, PartialEq, Eq)]
pub struct Policy {
    pub mode: i32,
    pub mask: Vec<u64>,
}

fn mode_value(m: M) -> i32 {
    match m {
        M::MpolDefault => 0,
        M::MpolPreferred => 1,
        M::MpolBind => 2,
        M::MpolInterleave => 3,
        M::MpolLocal => 4,
        M::MpolPreferredMany => 5,
        M::MpolWeightedInterleave => 6,
    }
}

fn flag_value(f: F) -> i32 {
    match f {
        F::MpolFNumaBalancing => 1 << 13,
        F::MpolFRelativeNodes => 1 << 14,
        F::MpolFStaticNodes => 1 << 15,
    }
}

/// Parses a node list (`0-3,7`) into a bit mask of 64-bit words.
fn parse_nodes(s: &str) -> Result<Vec<u64>> {
    let bad = |why: String| Error::config(format!("{FIELD}.nodes"), format!("{s:?}: {why}"));
    let mut mask: Vec<u64> = Vec::new();
    for part in s.split(',').map(str::trim) {
        let (lo, hi) = match part.split_once('-') {
            Some((a, b)) => (a.trim(), b.trim()),
            None => (part, part),
        };
        let num = |t: &str| {
            t.parse::<u32>()
                .map_err(|_| bad(format!("{part:?} is not a node number or range")))
        };
        let (lo, hi) = (num(lo)?, num(hi)?);
        if lo > hi {
            return Err(bad(format!("range {part:?} runs backwards")));
        }
        if hi > MAX_NODE {
            return Err(bad(format!("node {hi} is above {MAX_NODE}")));
        }
        for n in lo..=hi {
            let w = (n / 64) as usize;
            if mask.len() <= w {
                mask.resize(w + 1, 0);
            }
            mask[w] |= 1 << (n % 64);
        }
    }
    Ok(mask)
}

/// Validates the policy and turns it into what set_mempolicy(2) takes.
pub fn plan(p: &LinuxMemoryPolicy) -> Result<Policy> {
    let mode = p.mode();
    let nodes = p
        .nodes()
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty());
    let mask = nodes.map(parse_nodes).transpose()?.unwrap_or_default();
    match (mode, nodes.is_some()) {
        (M::MpolDefault | M::MpolLocal, true) => {
            return Err(Error::config(
                format!("{FIELD}.nodes"),
                format!("must be empty for {mode}"),
            ))
        }
        (
            M::MpolBind | M::MpolInterleave | M::MpolWeightedInterleave | M::MpolPreferredMany,
            false,
        ) => {
            return Err(Error::config(
                format!("{FIELD}.nodes"),
                format!("{mode} needs at least one node"),
            ))
        }
        _ => {}
    }
    let mut flags = 0;
    for (i, f) in p.flags().iter().flatten().enumerate() {
        let field = || format!("{FIELD}.flags[{i}]");
        match f {
            F::MpolFNumaBalancing if mode != M::MpolBind => {
                return Err(Error::config(
                    field(),
                    format!("{f} needs MPOL_BIND, not {mode}"),
                ))
            }
            F::MpolFStaticNodes | F::MpolFRelativeNodes
                if matches!(mode, M::MpolDefault | M::MpolLocal) =>
            {
                return Err(Error::config(
                    field(),
                    format!("{f} needs nodes; {mode} has none"),
                ))
            }
            _ => {}
        }
        flags |= flag_value(*f);
    }
    let both = flag_value(F::MpolFStaticNodes) | flag_value(F::MpolFRelativeNodes);
    if flags & both == both {
        return Err(Error::config(
            format!("{FIELD}.flags"),
            "MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES exclude each other",
        ));
    }
    Ok(Policy {
        mode: mode_value(mode) | flags,
        mask,
    })
}

/// Sets the policy on the calling thread (the init, just before execve).
pub fn apply(p: &LinuxMemoryPolicy) -> Result<()> {
    let policy = plan(p)?;
    crate::sys::set_mempolicy(policy.mode, &policy.mask)
        .map_err(|e| Error::config(FIELD, format!("set_mempolicy: {e} (are the nodes online?)")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(v: serde_json::Value) -> LinuxMemoryPolicy {
        serde_json::from_value(v).expect("memoryPolicy")
    }

    #[test]
    fn modes_flags_and_nodes() {
        let p = plan(&policy(serde_json::json!({
            "mode": "MPOL_INTERLEAVE", "nodes": "0-2,65", "flags": ["MPOL_F_STATIC_NODES"]
        })))
        .expect("plan");
        assert_eq!(p.mode, 3 | 1 << 15);
        assert_eq!(p.mask, vec![0b111, 0b10]);
        let p = plan(&policy(serde_json::json!({"mode": "MPOL_LOCAL"}))).expect("local");
        assert_eq!((p.mode, p.mask.len()), (4, 0));
        let p = plan(&policy(serde_json::json!({"mode": "MPOL_PREFERRED"}))).expect("preferred");
        assert_eq!(p.mode, 1);
    }

    #[test]
    fn the_spec_rules_are_errors_naming_the_field() {
        for (v, field) in [
            (
                serde_json::json!({"mode": "MPOL_BIND"}),
                "linux.memoryPolicy.nodes",
            ),
            (
                serde_json::json!({"mode": "MPOL_DEFAULT", "nodes": "0"}),
                "linux.memoryPolicy.nodes",
            ),
            (
                serde_json::json!({"mode": "MPOL_BIND", "nodes": "3-1"}),
                "linux.memoryPolicy.nodes",
            ),
            (
                serde_json::json!({"mode": "MPOL_BIND", "nodes": "x"}),
                "linux.memoryPolicy.nodes",
            ),
            (
                serde_json::json!({"mode": "MPOL_BIND", "nodes": "5000"}),
                "linux.memoryPolicy.nodes",
            ),
            (
                serde_json::json!({"mode": "MPOL_INTERLEAVE", "nodes": "0", "flags": ["MPOL_F_NUMA_BALANCING"]}),
                "linux.memoryPolicy.flags[0]",
            ),
            (
                serde_json::json!({"mode": "MPOL_BIND", "nodes": "0", "flags": ["MPOL_F_STATIC_NODES", "MPOL_F_RELATIVE_NODES"]}),
                "linux.memoryPolicy.flags",
            ),
        ] {
            let e = plan(&policy(v.clone()))
                .expect_err(&v.to_string())
                .to_string();
            assert!(e.starts_with(field), "{v}: {e}");
        }
    }
}
