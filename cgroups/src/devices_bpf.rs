//! cgroup v2 device control: compiles the rule list to a `BPF_PROG_TYPE_CGROUP_DEVICE`
//! program and attaches it to the container's cgroup (docs/cgroups.md, "Devices on v2").
//!
//! The program gets `struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }`
//! where `access_type = access << 16 | type` and returns 1 (allow) or 0 (deny). It walks
//! the rules from last to first keeping, in r6, the requested access bits no rule has
//! decided yet: a matching deny rule that covers an undecided bit denies; a matching allow
//! rule clears its bits and allows once none is left; falling off the end denies. That is
//! [`super::devices::evaluate`], the same last-match-wins semantics the v1 controller has.

use std::os::fd::{AsFd, BorrowedFd};

use super::devices::{DevType, Rule};
use crate::error::{Context, Result};
use hull_sys::bpf::{self as sysbpf, Insn};

// Opcodes (linux/bpf.h, linux/bpf_common.h).
const LDX_MEM_W: u8 = 0x61; // BPF_LDX | BPF_MEM | BPF_W
const ALU64_AND_K: u8 = 0x57;
const ALU64_RSH_K: u8 = 0x77;
const ALU64_MOV_K: u8 = 0xb7;
const ALU64_MOV_X: u8 = 0xbf;
const JMP_JNE_K: u8 = 0x55;
const JMP_JEQ_K: u8 = 0x15;
const EXIT: u8 = 0x95;

/// BPF_DEVCG_DEV_BLOCK / BPF_DEVCG_DEV_CHAR.
const DEV_BLOCK: i32 = 1;
const DEV_CHAR: i32 = 2;

fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        regs: (src << 4) | (dst & 0xf),
        off,
        imm,
    }
}

/// The program for `rules` (see the module doc for its logic).
pub fn program(rules: &[Rule]) -> Vec<Insn> {
    let mut p = vec![
        insn(LDX_MEM_W, 2, 1, 0, 0), // r2 = ctx->access_type
        insn(ALU64_MOV_X, 3, 2, 0, 0),
        insn(ALU64_AND_K, 2, 0, 0, 0xffff), // r2 = type
        insn(ALU64_RSH_K, 3, 0, 0, 16),     // r3 = access
        insn(LDX_MEM_W, 4, 1, 4, 0),        // r4 = major
        insn(LDX_MEM_W, 5, 1, 8, 0),        // r5 = minor
        insn(ALU64_MOV_X, 6, 3, 0, 0),      // r6 = undecided access bits
    ];
    for r in rules.iter().rev() {
        // Jumps with off = i16::MAX are "to the end of this block", patched below.
        let mut b = Vec::new();
        match r.typ {
            DevType::All => {}
            DevType::Block => b.push(insn(JMP_JNE_K, 2, 0, i16::MAX, DEV_BLOCK)),
            DevType::Char => b.push(insn(JMP_JNE_K, 2, 0, i16::MAX, DEV_CHAR)),
        }
        if let Some(m) = r.major {
            b.push(insn(JMP_JNE_K, 4, 0, i16::MAX, m as i32));
        }
        if let Some(m) = r.minor {
            b.push(insn(JMP_JNE_K, 5, 0, i16::MAX, m as i32));
        }
        b.push(insn(ALU64_MOV_X, 7, 6, 0, 0));
        b.push(insn(ALU64_AND_K, 7, 0, 0, i32::from(r.access)));
        b.push(insn(JMP_JEQ_K, 7, 0, i16::MAX, 0));
        if r.allow {
            b.push(insn(ALU64_AND_K, 6, 0, 0, !i32::from(r.access)));
            b.push(insn(JMP_JNE_K, 6, 0, i16::MAX, 0));
            b.push(insn(ALU64_MOV_K, 0, 0, 0, 1));
        } else {
            b.push(insn(ALU64_MOV_K, 0, 0, 0, 0));
        }
        b.push(insn(EXIT, 0, 0, 0, 0));
        let len = b.len();
        for (i, x) in b.iter_mut().enumerate() {
            if x.off == i16::MAX {
                x.off = (len - i - 1) as i16;
            }
        }
        p.extend(b);
    }
    p.push(insn(ALU64_MOV_K, 0, 0, 0, 0));
    p.push(insn(EXIT, 0, 0, 0, 0));
    p
}

/// Loads the program for `rules` and attaches it to the cgroup `dir`, then detaches any
/// program attached before (on `update`), so there is never a moment without one.
pub fn apply(dir: BorrowedFd<'_>, rules: &[Rule]) -> Result<()> {
    let prog = program(rules);
    let old = sysbpf::query_device_progs(dir).unwrap_or_default();
    let fd = sysbpf::load_device_prog(&prog).ctx(|| {
        format!(
            "linux.resources.devices: load the device eBPF program ({} instructions)",
            prog.len()
        )
    })?;
    sysbpf::attach_device_prog(dir, fd.as_fd())
        .ctx(|| "linux.resources.devices: attach the device eBPF program to the cgroup")?;
    for id in old {
        if let Ok(f) = sysbpf::prog_fd_by_id(id) {
            let _ = sysbpf::detach_device_prog(dir, f.as_fd());
        }
    }
    Ok(())
}

/// Evaluates a program produced by [`program`] (only the opcodes it uses), for tests.
#[cfg(test)]
fn run(p: &[Insn], typ: u32, major: u32, minor: u32, access: u32) -> u64 {
    let ctx = [access << 16 | typ, major, minor];
    let mut r = [0u64; 11];
    let mut pc = 0usize;
    loop {
        let i = p[pc];
        let (d, s) = ((i.regs & 0xf) as usize, (i.regs >> 4) as usize);
        let k = i.imm as i64 as u64;
        pc += 1;
        match i.code {
            LDX_MEM_W => r[d] = u64::from(ctx[(i.off / 4) as usize]),
            ALU64_AND_K => r[d] &= k,
            ALU64_RSH_K => r[d] >>= k,
            ALU64_MOV_K => r[d] = k,
            ALU64_MOV_X => r[d] = r[s],
            JMP_JNE_K if r[d] != k => pc += i.off as usize,
            JMP_JEQ_K if r[d] == k => pc += i.off as usize,
            JMP_JNE_K | JMP_JEQ_K => {}
            EXIT => return r[0],
            c => panic!("unexpected opcode {c:#x}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::*;

    #[test]
    fn program_matches_reference_semantics() {
        let spec: Vec<oci_spec::runtime::LinuxDeviceCgroup> = serde_json::from_str(
            r#"[{"allow":false,"access":"rwm"},
                {"allow":true,"type":"b","major":8,"access":"r"},
                {"allow":false,"type":"c","major":1,"minor":3,"access":"w"},
                {"allow":true,"type":"c","major":10,"minor":200,"access":"rw"}]"#,
        )
        .unwrap_or_default();
        let mut rs = rules(&spec).unwrap_or_default();
        // Put the deny of /dev/null writes last so that it beats the default allow.
        rs.push(rs[2]);
        let p = program(&rs);
        for (t, tn) in [(DevType::Block, 1), (DevType::Char, 2)] {
            for (ma, mi) in [
                (1, 3),
                (1, 5),
                (1, 11),
                (8, 0),
                (8, 16),
                (10, 200),
                (136, 4),
            ] {
                for acc in 1..=7u8 {
                    let want = evaluate(&rs, t, ma, mi, acc);
                    let got = run(&p, tn, ma, mi, u32::from(acc)) == 1;
                    assert_eq!(got, want, "{t:?} {ma}:{mi} access {acc}");
                }
            }
        }
        assert_eq!(run(&p, 2, 1, 3, u32::from(ACC_READ)), 1);
        assert_eq!(run(&p, 2, 1, 3, u32::from(ACC_WRITE)), 0);
        assert_eq!(run(&p, 1, 8, 3, u32::from(ACC_READ)), 1);
        assert_eq!(run(&p, 1, 8, 3, u32::from(ACC_WRITE)), 0);
    }

    #[test]
    fn empty_rules_deny_everything() {
        let p = program(&[]);
        assert_eq!(p.len(), 9);
        assert_eq!(run(&p, 2, 1, 3, 2), 0);
    }
}
