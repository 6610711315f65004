//! Device cgroup rules (`linux.resources.devices`): the spec's rules, then runc's default
//! allow list, evaluated last-match-wins per access bit from a default of deny-all.
//! `linux.devices` entries add no rule: as in runc they only make nodes, so a listed device
//! can still be denied (engines send an allow rule with each device they pass). v1 writes them to devices.allow/deny; v2 compiles
//! them to an eBPF program ([`super::devices_bpf`]).

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};

use crate::error::{Error, Result};

/// mknod access bit (the kernel's BPF_DEVCG_ACC_MKNOD; v1 `m`).
pub const ACC_MKNOD: u8 = 1;
/// read access bit (BPF_DEVCG_ACC_READ; v1 `r`).
pub const ACC_READ: u8 = 2;
/// write access bit (BPF_DEVCG_ACC_WRITE; v1 `w`).
pub const ACC_WRITE: u8 = 4;
/// All three.
pub const ACC_ALL: u8 = 7;

/// Device types a rule can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DevType {
    /// Every type (`a`).
    All,
    /// Block devices (`b`).
    Block,
    /// Character devices (`c`).
    Char,
}

/// One normalised rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub allow: bool,
    pub typ: DevType,
    /// `None` = any (`*`).
    pub major: Option<u32>,
    pub minor: Option<u32>,
    /// A set of `ACC_*` bits, never empty.
    pub access: u8,
}

const fn allow(typ: DevType, major: Option<u32>, minor: Option<u32>, access: u8) -> Rule {
    Rule {
        allow: true,
        typ,
        major,
        minor,
        access,
    }
}

/// runc's default allow list: mknod of any device (creating a node grants nothing without
/// read/write), and the devices every container gets: null, zero, full, random, urandom,
/// tty, ptmx and the pty slaves; and /dev/net/tun, which runc and crun have always allowed
/// (runc 1.2.0 dropped it and 1.2.4 restored it: VPN clients in Docker containers rely on it).
pub const DEFAULT_ALLOWED: [Rule; 11] = [
    allow(DevType::Char, None, None, ACC_MKNOD),
    allow(DevType::Block, None, None, ACC_MKNOD),
    allow(DevType::Char, Some(1), Some(3), ACC_ALL),
    allow(DevType::Char, Some(1), Some(8), ACC_ALL),
    allow(DevType::Char, Some(1), Some(7), ACC_ALL),
    allow(DevType::Char, Some(5), Some(0), ACC_ALL),
    allow(DevType::Char, Some(1), Some(5), ACC_ALL),
    allow(DevType::Char, Some(1), Some(9), ACC_ALL),
    allow(DevType::Char, Some(136), None, ACC_ALL),
    allow(DevType::Char, Some(5), Some(2), ACC_ALL),
    allow(DevType::Char, Some(10), Some(200), ACC_ALL),
];

/// Parses an access string (`rwm` and subsets); empty or absent means all three.
pub fn parse_access(s: Option<&str>, field: &str) -> Result<u8> {
    let s = s.unwrap_or("");
    let mut acc = 0;
    for c in s.chars() {
        acc |= match c {
            'r' => ACC_READ,
            'w' => ACC_WRITE,
            'm' => ACC_MKNOD,
            _ => {
                return Err(Error::config(
                    field,
                    format!("{s:?}: invalid access {c:?} (a combination of r, w and m)"),
                ))
            }
        };
    }
    Ok(if acc == 0 { ACC_ALL } else { acc })
}

fn number(v: Option<i64>, field: &str) -> Result<Option<u32>> {
    match v {
        None | Some(-1) => Ok(None),
        Some(n) if (0..=i64::from(u32::MAX)).contains(&n) => Ok(Some(n as u32)),
        Some(n) => Err(Error::config(
            field,
            format!("{n}: must be a device number or -1 (any)"),
        )),
    }
}

/// Normalises one `linux.resources.devices[i]` entry.
pub fn from_cgroup_rule(r: &LinuxDeviceCgroup, i: usize) -> Result<Rule> {
    let f = |k: &str| format!("linux.resources.devices[{i}].{k}");
    let typ = match r.typ() {
        None | Some(LinuxDeviceType::A) => DevType::All,
        Some(LinuxDeviceType::B) => DevType::Block,
        Some(LinuxDeviceType::C) | Some(LinuxDeviceType::U) => DevType::Char,
        Some(LinuxDeviceType::P) => {
            return Err(Error::config(
                f("type"),
                "\"p\": fifos are not device-controlled; a rule's type is a, b or c",
            ))
        }
    };
    Ok(Rule {
        allow: r.allow(),
        typ,
        major: number(r.major(), &f("major"))?,
        minor: number(r.minor(), &f("minor"))?,
        access: parse_access(r.access().as_deref(), &f("access"))?,
    })
}

/// The full, ordered rule list a container gets (see the module doc).
pub fn rules(spec_rules: &[LinuxDeviceCgroup]) -> Result<Vec<Rule>> {
    let mut out = Vec::with_capacity(spec_rules.len() + DEFAULT_ALLOWED.len());
    for (i, r) in spec_rules.iter().enumerate() {
        out.push(from_cgroup_rule(r, i)?);
    }
    out.extend(DEFAULT_ALLOWED);
    Ok(out)
}

impl Rule {
    /// The rule as devices.allow/devices.deny take it: `c 1:3 rwm`, `a *:* rwm`.
    pub fn v1_string(&self) -> String {
        let t = match self.typ {
            DevType::All => 'a',
            DevType::Block => 'b',
            DevType::Char => 'c',
        };
        let n = |v: Option<u32>| v.map_or("*".to_string(), |n| n.to_string());
        let mut acc = String::new();
        for (bit, c) in [(ACC_READ, 'r'), (ACC_WRITE, 'w'), (ACC_MKNOD, 'm')] {
            if self.access & bit != 0 {
                acc.push(c);
            }
        }
        format!("{t} {}:{} {acc}", n(self.major), n(self.minor))
    }
}

/// The v1 write sequence: deny everything, then each rule in order. The v1 controller
/// applies writes one after another, which gives the same last-match-wins result.
pub fn v1_writes(rules: &[Rule]) -> Vec<(&'static str, String)> {
    let mut w = vec![("devices.deny", "a *:* rwm".to_string())];
    for r in rules {
        let file = if r.allow {
            "devices.allow"
        } else {
            "devices.deny"
        };
        w.push((file, r.v1_string()));
    }
    w
}

/// Reference evaluation of `rules` for one access (what both the v1 controller and the
/// BPF program implement): each requested bit is decided by the last rule matching the
/// device that contains it; the request is allowed when every bit is.
pub fn evaluate(rules: &[Rule], typ: DevType, major: u32, minor: u32, access: u8) -> bool {
    let mut undecided = access;
    for r in rules.iter().rev() {
        let type_ok = r.typ == DevType::All || r.typ == typ;
        if !type_ok || r.major.is_some_and(|m| m != major) || r.minor.is_some_and(|m| m != minor) {
            continue;
        }
        let hit = undecided & r.access;
        if hit == 0 {
            continue;
        }
        if !r.allow {
            return false;
        }
        undecided &= !r.access;
        if undecided == 0 {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec_rule(json: &str) -> LinuxDeviceCgroup {
        serde_json::from_str(json).unwrap_or_default()
    }

    #[test]
    fn v1_strings() {
        let r = from_cgroup_rule(&spec_rule(r#"{"allow":false,"access":"rwm"}"#), 0);
        assert_eq!(r.ok().map(|r| r.v1_string()), Some("a *:* rwm".into()));
        let r = from_cgroup_rule(
            &spec_rule(r#"{"allow":true,"type":"c","major":1,"minor":-1,"access":"mr"}"#),
            0,
        );
        assert_eq!(r.ok().map(|r| r.v1_string()), Some("c 1:* rm".into()));
        let w = v1_writes(&DEFAULT_ALLOWED);
        assert_eq!(w[0], ("devices.deny", "a *:* rwm".into()));
        assert_eq!(w[1], ("devices.allow", "c *:* m".into()));
        assert_eq!(w[3], ("devices.allow", "c 1:3 rwm".into()));
    }

    #[test]
    fn bad_rules_name_the_field() {
        let e = from_cgroup_rule(&spec_rule(r#"{"type":"p"}"#), 2)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.starts_with("linux.resources.devices[2].type: "), "{e}");
        let e = from_cgroup_rule(&spec_rule(r#"{"access":"rwx"}"#), 0)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.starts_with("linux.resources.devices[0].access: "), "{e}");
        let e = from_cgroup_rule(&spec_rule(r#"{"type":"c","major":-5}"#), 1)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.starts_with("linux.resources.devices[1].major: "), "{e}");
    }

    #[test]
    fn runc_defaults_semantics() {
        let deny_all = [spec_rule(r#"{"allow":false,"access":"rwm"}"#)];
        let rs = rules(&deny_all).unwrap_or_default();
        let rw = ACC_READ | ACC_WRITE;
        assert!(evaluate(&rs, DevType::Char, 1, 3, rw));
        assert!(evaluate(&rs, DevType::Char, 136, 7, rw));
        assert!(
            evaluate(&rs, DevType::Char, 10, 200, rw),
            "tun/tap, as in runc"
        );
        assert!(evaluate(&rs, DevType::Char, 1, 11, ACC_MKNOD));
        assert!(evaluate(&rs, DevType::Block, 8, 0, ACC_MKNOD));
        assert!(!evaluate(&rs, DevType::Char, 1, 11, ACC_READ));
        assert!(!evaluate(&rs, DevType::Block, 8, 0, rw));
        // A later deny of one bit beats an earlier allow of all; other bits stay allowed.
        let rs = [
            allow(DevType::Char, Some(1), Some(3), ACC_ALL),
            Rule {
                allow: false,
                ..allow(DevType::Char, Some(1), Some(3), ACC_WRITE)
            },
        ];
        assert!(evaluate(&rs, DevType::Char, 1, 3, ACC_READ));
        assert!(!evaluate(&rs, DevType::Char, 1, 3, rw));
        // An earlier deny is overridden by a later allow.
        let rs = [
            Rule {
                allow: false,
                ..allow(DevType::All, None, None, ACC_ALL)
            },
            allow(DevType::All, None, None, ACC_ALL),
        ];
        assert!(evaluate(&rs, DevType::Block, 8, 1, rw));
        assert!(!evaluate(&[], DevType::Char, 1, 3, ACC_READ));
    }
}
