//! From `linux.seccomp` to a BPF program (docs/seccomp.md has the layout).
//!
//! ```text
//!   ld arch ; one jeq per AUDIT_ARCH ; ret BADARCH
//!   x86_64:  ld nr ; jset X32_BIT -> x32 | BADARCH
//!            [ENOSYS stub: jgt <highest nr in the profile> -> ret ERRNO(ENOSYS)]
//!            binary search on nr -> runs of jeq -> per-syscall rules -> ret default
//!   x32:     (nr already loaded) stub, search, rules
//!   i386:    ld nr ; stub, search, rules
//! ```

use std::collections::BTreeMap;

use oci_spec::runtime::{
    LinuxSeccomp, LinuxSeccompAction as Act, LinuxSeccompArg, LinuxSeccompFilterFlag as Flag,
    LinuxSeccompOperator as Op,
};

use super::arch::{Abi, X32_SYSCALL_BIT};
use super::bpf::{Asm, Cmp, Label, SockFilter, To};
use crate::{Error, Result};

pub const RET_KILL_PROCESS: u32 = 0x8000_0000;
pub const RET_KILL_THREAD: u32 = 0x0000_0000;
pub const RET_TRAP: u32 = 0x0003_0000;
pub const RET_ERRNO: u32 = 0x0005_0000;
pub const RET_USER_NOTIF: u32 = 0x7fc0_0000;
pub const RET_TRACE: u32 = 0x7ff0_0000;
pub const RET_LOG: u32 = 0x7ffc_0000;
pub const RET_ALLOW: u32 = 0x7fff_0000;

/// libseccomp's default for syscalls from an ABI the filter does not list (runc keeps it).
const RET_BADARCH: u32 = RET_KILL_THREAD;

pub const FLAG_TSYNC: u32 = 1;
pub const FLAG_LOG: u32 = 2;
pub const FLAG_SPEC_ALLOW: u32 = 4;
pub const FLAG_NEW_LISTENER: u32 = 8;
pub const FLAG_TSYNC_ESRCH: u32 = 16;
pub const FLAG_WAIT_KILLABLE_RECV: u32 = 32;

const OFF_NR: u32 = 0;
const OFF_ARCH: u32 = 4;
const OFF_ARGS: u32 = 16;

/// Binary search down to runs of this many syscalls, then a linear run of `jeq`s.
const RUN: usize = 8;

/// The output of [`compile`].
#[derive(Debug, Clone)]
pub struct Compiled {
    pub filter: Vec<SockFilter>,
    /// `SECCOMP_FILTER_FLAG_*` for seccomp(2).
    pub flags: u32,
    /// Syscall names that no covered ABI knows, as `field: message` (runc ignores them;
    /// hull ignores them too but warns).
    pub unknown: Vec<String>,
}

/// The return value for `action` with `errno` (`errnoRet`), as runc maps them: ERRNO and
/// TRACE default to EPERM.
pub fn ret_value(field: &str, action: Act, errno: Option<u32>) -> Result<u32> {
    let data = |d: u32| -> Result<u32> {
        if d > 0xffff {
            return Err(Error::config(field, format!("{d} does not fit in 16 bits")));
        }
        Ok(d)
    };
    Ok(match action {
        Act::ScmpActKill | Act::ScmpActKillThread => RET_KILL_THREAD,
        Act::ScmpActKillProcess => RET_KILL_PROCESS,
        Act::ScmpActTrap => RET_TRAP,
        Act::ScmpActErrno => RET_ERRNO | data(errno.unwrap_or(libc::EPERM as u32))?,
        Act::ScmpActTrace => RET_TRACE | data(errno.unwrap_or(libc::EPERM as u32))?,
        Act::ScmpActNotify => RET_USER_NOTIF,
        Act::ScmpActLog => RET_LOG,
        Act::ScmpActAllow => RET_ALLOW,
    })
}

/// One argument comparison, already checked.
#[derive(Debug, Clone, Copy)]
struct Cond {
    index: u32,
    op: Op,
    value: u64,
    value_two: u64,
}

/// A rule for one syscall: all `conds` hold -> `ret`.
#[derive(Debug, Clone)]
struct Rule {
    ret: u32,
    conds: Vec<Cond>,
}

fn cond(field: &str, a: &LinuxSeccompArg) -> Result<Cond> {
    if a.index() > 5 {
        return Err(Error::config(
            format!("{field}.index"),
            format!("{} is not a syscall argument (0-5)", a.index()),
        ));
    }
    Ok(Cond {
        index: a.index() as u32,
        op: a.op(),
        value: a.value(),
        // Absent for MASKED_EQ means 0, as in libseccomp (Docker's clone rule relies on it).
        value_two: a.value_two().unwrap_or(0),
    })
}

/// Compiles and checks the profile; every error names the field at fault.
pub fn compile(s: &LinuxSeccomp) -> Result<Compiled> {
    let default_ret = ret_value(
        "linux.seccomp.defaultErrnoRet",
        s.default_action(),
        s.default_errno_ret(),
    )?;
    if s.default_action() == Act::ScmpActNotify {
        // The init must still send the listener fd after loading the filter (runc's rule).
        return Err(Error::config(
            "linux.seccomp.defaultAction",
            "SCMP_ACT_NOTIFY cannot be used as default action",
        ));
    }
    // The native ABI is always covered, as libseccomp does; the list adds to it.
    let mut abis = vec![Abi::NATIVE];
    for a in s.architectures().iter().flatten() {
        match Abi::from_spec(*a) {
            Some(abi) if !abis.contains(&abi) => abis.push(abi),
            Some(_) => {}
            None => {
                log::debug!("seccomp: {a:?} can never occur on an x86_64 kernel; left out")
            }
        }
    }
    abis.sort();

    // Every rule once, and per ABI (syscall number, rule index) pairs in profile order.
    let mut arena: Vec<Rule> = Vec::new();
    let mut per_abi: BTreeMap<Abi, Vec<(u32, usize)>> = BTreeMap::new();
    let mut highest: BTreeMap<Abi, u32> = BTreeMap::new();
    let mut unknown = Vec::new();
    let mut notify = false;
    for (i, sc) in s.syscalls().iter().flatten().enumerate() {
        let field = format!("linux.seccomp.syscalls[{i}]");
        let ret = ret_value(&format!("{field}.errnoRet"), sc.action(), sc.errno_ret())?;
        if sc.names().is_empty() {
            return Err(Error::config(format!("{field}.names"), "empty"));
        }
        if sc.action() == Act::ScmpActNotify {
            for (j, n) in sc.names().iter().enumerate() {
                // hull's init sends the listener fd with sendmsg after loading the filter;
                // runc refuses write for the same reason.
                if n == "write" || n == "sendmsg" {
                    return Err(Error::config(
                        format!("{field}.names[{j}]"),
                        format!("SCMP_ACT_NOTIFY cannot be used for the {n} syscall"),
                    ));
                }
            }
            notify = true;
        }
        let conds: Vec<Cond> = sc
            .args()
            .iter()
            .flatten()
            .enumerate()
            .map(|(j, a)| cond(&format!("{field}.args[{j}]"), a))
            .collect::<Result<_>>()?;
        // Two conditions on the same argument are ORed as separate rules, as runc does
        // (libseccomp cannot AND them); conditions on different arguments are ANDed.
        let mut seen = [false; 6];
        let repeated = conds
            .iter()
            .any(|c| std::mem::replace(&mut seen[c.index as usize], true));
        let first = arena.len();
        let rules: Vec<Rule> = if repeated {
            conds
                .iter()
                .map(|c| Rule {
                    ret,
                    conds: vec![*c],
                })
                .collect()
        } else {
            vec![Rule { ret, conds }]
        };
        let ids = first..first + rules.len();
        arena.extend(rules);
        for (j, name) in sc.names().iter().enumerate() {
            if name.is_empty() {
                return Err(Error::config(
                    format!("{field}.names[{j}]"),
                    "empty syscall name",
                ));
            }
            let mut known = false;
            let nrs = super::arch::lookup(name);
            for &abi in &abis {
                let Some(nr) = nrs.and_then(|n| abi.number(n)) else {
                    continue;
                };
                known = true;
                let h = highest.entry(abi).or_insert(nr);
                *h = (*h).max(nr);
                // A rule with the default's action is redundant (runc skips it too).
                if ret != default_ret {
                    per_abi
                        .entry(abi)
                        .or_default()
                        .extend(ids.clone().map(|r| (nr, r)));
                }
            }
            if !known && !Abi::multiplexed_only(name) {
                unknown.push(format!(
                    "{field}.names[{j}]: unknown syscall {name:?} ignored"
                ));
            }
        }
    }
    if notify
        && s.listener_path()
            .as_ref()
            .is_none_or(|p| p.as_os_str().is_empty())
    {
        return Err(Error::config(
            "linux.seccomp.listenerPath",
            "required when a rule uses SCMP_ACT_NOTIFY",
        ));
    }
    // runc's ENOSYS stub: with a blocking default, syscalls newer than anything the profile
    // names get ENOSYS, so libcs fall back (clone3 -> clone) instead of failing hard.
    let enosys_ret = RET_ERRNO | libc::ENOSYS as u32;
    let stub = !matches!(
        s.default_action(),
        Act::ScmpActAllow | Act::ScmpActLog | Act::ScmpActTrace
    ) && default_ret != enosys_ret;

    let mut a = Asm::default();
    for pairs in per_abi.values_mut() {
        pairs.sort_by_key(|(nr, _)| *nr); // stable: profile order within a syscall
    }
    let g = Gen {
        default_ret,
        arena: &arena,
    };
    let empty = Vec::new();
    let has = |abi| abis.contains(&abi);
    let section = |a: &mut Asm, abi: Abi| {
        let max = highest.get(&abi).copied().filter(|_| stub);
        g.section(a, abi, per_abi.get(&abi).unwrap_or(&empty), max);
    };
    let (l_amd, l_x32, l_i386, bad) = (a.label(), a.label(), a.label(), a.label());
    a.ld(OFF_ARCH);
    a.jmp(Cmp::Eq, Abi::X86_64.audit_arch(), To::L(l_amd), To::Next);
    if has(Abi::X86) {
        a.jmp(Cmp::Eq, Abi::X86.audit_arch(), To::L(l_i386), To::Next);
    }
    a.ret(RET_BADARCH);
    // AUDIT_ARCH_X86_64 carries both x86_64 and x32: the x32 bit tells them apart.
    a.mark(l_amd);
    a.ld(OFF_NR);
    let x32 = if has(Abi::X32) { l_x32 } else { bad };
    let x86_64 = if has(Abi::X86_64) {
        To::Next
    } else {
        To::L(bad)
    };
    a.jmp(Cmp::Set, X32_SYSCALL_BIT, To::L(x32), x86_64);
    if has(Abi::X86_64) {
        section(&mut a, Abi::X86_64);
    }
    a.mark(bad);
    a.ret(RET_BADARCH);
    if has(Abi::X32) {
        a.mark(l_x32);
        section(&mut a, Abi::X32);
    }
    if has(Abi::X86) {
        a.mark(l_i386);
        a.ld(OFF_NR);
        section(&mut a, Abi::X86);
    }
    let filter = a
        .assemble()
        .map_err(|e| Error::config("linux.seccomp", e))?;

    let mut flags = 0;
    for f in s.flags().iter().flatten() {
        flags |= match f {
            Flag::SeccompFilterFlagLog => FLAG_LOG,
            Flag::SeccompFilterFlagSpecAllow => FLAG_SPEC_ALLOW,
            Flag::SeccompFilterFlagTsync => FLAG_TSYNC,
            // Only meaningful (and only accepted by the kernel) with a listener.
            Flag::SeccompFilterFlagWaitKillableRecv if notify => FLAG_WAIT_KILLABLE_RECV,
            Flag::SeccompFilterFlagWaitKillableRecv => 0,
        };
    }
    if notify {
        flags |= FLAG_NEW_LISTENER;
        if flags & FLAG_TSYNC != 0 {
            // TSYNC and NEW_LISTENER are exclusive unless TSYNC failures report ESRCH.
            flags |= FLAG_TSYNC_ESRCH;
        }
    }
    Ok(Compiled {
        filter,
        flags,
        unknown,
    })
}

/// Emits the per-ABI part of the program (the syscall number is in A on entry).
struct Gen<'a> {
    default_ret: u32,
    arena: &'a [Rule],
}

/// One syscall's number and its rules.
type Entry<'a> = (u32, Vec<&'a Rule>);

impl<'a> Gen<'a> {
    fn section(&self, a: &mut Asm, abi: Abi, pairs: &[(u32, usize)], stub: Option<u32>) {
        if let Some(max) = stub {
            let body = a.label();
            a.jmp(Cmp::Gt, max, To::Next, To::L(body));
            a.ret(RET_ERRNO | libc::ENOSYS as u32);
            a.mark(body);
        }
        let mut list: Vec<Entry<'a>> = Vec::new();
        for (nr, r) in pairs {
            match list.last_mut() {
                Some((n, rules)) if n == nr => rules.push(&self.arena[*r]),
                _ => list.push((*nr, vec![&self.arena[*r]])),
            }
        }
        self.tree(a, abi, &list);
    }

    /// Binary search on the syscall number; every leaf ends in a `ret`, so subtrees never
    /// fall into each other.
    fn tree(&self, a: &mut Asm, abi: Abi, list: &[Entry<'a>]) {
        if list.len() <= RUN {
            return self.run(a, abi, list);
        }
        let mid = list.len() / 2;
        let right = a.label();
        a.jmp(Cmp::Ge, list[mid].0, To::L(right), To::Next);
        self.tree(a, abi, &list[..mid]);
        a.mark(right);
        self.tree(a, abi, &list[mid..]);
    }

    /// A run of `jeq`s; syscalls with one unconditional action share one `ret` per action.
    fn run(&self, a: &mut Asm, abi: Abi, list: &[Entry<'a>]) {
        let mut simple: Vec<(u32, Label)> = Vec::new();
        let mut complex: Vec<(Label, &[&Rule])> = Vec::new();
        for (nr, rules) in list {
            let l = match rules.iter().find(|r| r.conds.is_empty()) {
                Some(r) if rules.iter().all(|r| r.conds.is_empty()) => {
                    match simple.iter().find(|(ret, _)| *ret == r.ret) {
                        Some((_, l)) => *l,
                        None => {
                            let l = a.label();
                            simple.push((r.ret, l));
                            l
                        }
                    }
                }
                _ => {
                    let l = a.label();
                    complex.push((l, rules));
                    l
                }
            };
            a.jmp(Cmp::Eq, *nr, To::L(l), To::Next);
        }
        a.ret(self.default_ret);
        for (ret, l) in simple {
            a.mark(l);
            a.ret(ret);
        }
        for (l, rules) in complex {
            a.mark(l);
            self.rules(a, abi, rules);
        }
    }

    /// The rules of one syscall: conditional ones in profile order, first match wins;
    /// then the first unconditional one (the most specific rule decides), else the default.
    fn rules(&self, a: &mut Asm, abi: Abi, rules: &[&Rule]) {
        let conditional = rules.iter().filter(|r| !r.conds.is_empty());
        for r in conditional {
            let fail = a.label();
            for c in &r.conds {
                emit_cond(a, abi, c, fail);
            }
            a.ret(r.ret);
            a.mark(fail);
        }
        match rules.iter().find(|r| r.conds.is_empty()) {
            Some(r) => a.ret(r.ret),
            None => a.ret(self.default_ret),
        }
    }
}

/// Falls through when the condition holds, jumps to `fail` when it does not. On x86_64 an
/// argument is compared as a 64-bit value, high word first; on the 32-bit ABIs (i386, x32,
/// as libseccomp treats them) only the low word.
fn emit_cond(a: &mut Asm, abi: Abi, c: &Cond, fail: Label) {
    let lo = OFF_ARGS + 8 * c.index;
    let hi = lo + 4;
    let f = To::L(fail);
    let n = To::Next;
    let (v, m) = match c.op {
        Op::ScmpCmpMaskedEq => (c.value_two, c.value),
        _ => (c.value, 0),
    };
    let (vhi, vlo, mhi, mlo) = ((v >> 32) as u32, v as u32, (m >> 32) as u32, m as u32);
    if !abi.wide_args() {
        a.ld(lo);
        match c.op {
            Op::ScmpCmpEq => a.jmp(Cmp::Eq, vlo, n, f),
            Op::ScmpCmpNe => a.jmp(Cmp::Eq, vlo, f, n),
            Op::ScmpCmpGt => a.jmp(Cmp::Gt, vlo, n, f),
            Op::ScmpCmpGe => a.jmp(Cmp::Ge, vlo, n, f),
            Op::ScmpCmpLt => a.jmp(Cmp::Ge, vlo, f, n),
            Op::ScmpCmpLe => a.jmp(Cmp::Gt, vlo, f, n),
            Op::ScmpCmpMaskedEq => {
                a.and(mlo);
                a.jmp(Cmp::Eq, vlo, n, f)
            }
        }
        return;
    }
    let pass = a.label();
    let p = To::L(pass);
    match c.op {
        Op::ScmpCmpEq => {
            a.ld(hi);
            a.jmp(Cmp::Eq, vhi, n, f);
            a.ld(lo);
            a.jmp(Cmp::Eq, vlo, n, f);
        }
        Op::ScmpCmpNe => {
            a.ld(hi);
            a.jmp(Cmp::Eq, vhi, n, p);
            a.ld(lo);
            a.jmp(Cmp::Eq, vlo, f, n);
        }
        Op::ScmpCmpGt | Op::ScmpCmpGe => {
            a.ld(hi);
            a.jmp(Cmp::Gt, vhi, p, n);
            a.jmp(Cmp::Eq, vhi, n, f);
            a.ld(lo);
            let cmp = if c.op == Op::ScmpCmpGt {
                Cmp::Gt
            } else {
                Cmp::Ge
            };
            a.jmp(cmp, vlo, n, f);
        }
        Op::ScmpCmpLt | Op::ScmpCmpLe => {
            a.ld(hi);
            a.jmp(Cmp::Gt, vhi, f, n);
            a.jmp(Cmp::Eq, vhi, n, p);
            a.ld(lo);
            // a < v  <=>  !(a >= v) ;  a <= v  <=>  !(a > v)
            let cmp = if c.op == Op::ScmpCmpLt {
                Cmp::Ge
            } else {
                Cmp::Gt
            };
            a.jmp(cmp, vlo, f, n);
        }
        Op::ScmpCmpMaskedEq => {
            if mhi != 0 || vhi != 0 {
                a.ld(hi);
                a.and(mhi);
                a.jmp(Cmp::Eq, vhi, n, f);
            }
            a.ld(lo);
            a.and(mlo);
            a.jmp(Cmp::Eq, vlo, n, f);
        }
    }
    a.mark(pass);
}
