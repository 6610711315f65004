//! Unit tests of generated programs: run in the BPF interpreter for every ABI, and loaded
//! into a forked child for the real kernel's verdict.

use oci_spec::runtime::LinuxSeccomp;
use serde_json::json;

use super::arch::{Abi, X32_SYSCALL_BIT};
use super::bpf::{run, SeccompData};
use super::compile::*;

fn profile(v: serde_json::Value) -> LinuxSeccomp {
    serde_json::from_value(v).expect("profile parses")
}

fn build(v: serde_json::Value) -> Compiled {
    compile(&profile(v)).expect("compiles")
}

fn field_of(v: serde_json::Value) -> String {
    match compile(&profile(v)) {
        Err(crate::Error::Config { field, .. }) => field,
        other => format!("unexpected {other:?}"),
    }
}

/// The verdict for syscall `name` on `abi` with `args`.
fn verdict(c: &Compiled, abi: Abi, name: &str, args: [u64; 6]) -> u32 {
    let nr = abi.syscall(name).expect("known syscall");
    raw(c, abi.audit_arch(), nr, args)
}

fn raw(c: &Compiled, arch: u32, nr: u32, args: [u64; 6]) -> u32 {
    let d = SeccompData {
        nr: nr as i32,
        arch,
        ip: 0,
        args,
    };
    run(&c.filter, &d).expect("program runs")
}

const Z: [u64; 6] = [0; 6];
const ALL_ABIS: [&str; 3] = ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"];

#[test]
fn every_action() {
    let actions = [
        ("SCMP_ACT_KILL", None, RET_KILL_THREAD),
        ("SCMP_ACT_KILL_THREAD", None, RET_KILL_THREAD),
        ("SCMP_ACT_KILL_PROCESS", None, RET_KILL_PROCESS),
        ("SCMP_ACT_TRAP", None, RET_TRAP),
        ("SCMP_ACT_ERRNO", None, RET_ERRNO | 1),
        ("SCMP_ACT_ERRNO", Some(42), RET_ERRNO | 42),
        ("SCMP_ACT_TRACE", None, RET_TRACE | 1),
        ("SCMP_ACT_TRACE", Some(7), RET_TRACE | 7),
        ("SCMP_ACT_LOG", None, RET_LOG),
        ("SCMP_ACT_NOTIFY", None, RET_USER_NOTIF),
    ];
    for (act, errno, want) in actions {
        let mut rule = json!({"names": ["getppid"], "action": act});
        if let Some(e) = errno {
            rule["errnoRet"] = e.into();
        }
        let c = build(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ALL_ABIS,
            "listenerPath": "/run/agent.sock",
            "syscalls": [rule]
        }));
        for abi in Abi::ALL {
            assert_eq!(verdict(&c, abi, "getppid", Z), want, "{act} on {abi:?}");
            assert_eq!(verdict(&c, abi, "getpid", Z), RET_ALLOW, "{act} default");
        }
        let notify = act == "SCMP_ACT_NOTIFY";
        assert_eq!(c.flags & FLAG_NEW_LISTENER != 0, notify, "{act}");
    }
    // The default action with defaultErrnoRet, and ALLOW as a rule.
    let c = build(json!({
        "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38,
        "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]
    }));
    assert_eq!(verdict(&c, Abi::X86_64, "read", Z), RET_ALLOW);
    assert_eq!(verdict(&c, Abi::X86_64, "write", Z), RET_ERRNO | 38);
}

/// (operator, value, valueTwo, [(argument, matches)])
type OpCase = (&'static str, u64, u64, &'static [(u64, bool)]);

#[test]
fn operators_compare_64_bit_values() {
    const HI: u64 = 1 << 32;
    const CASES: &[OpCase] = &[
        (
            "SCMP_CMP_EQ",
            HI + 5,
            0,
            &[(HI + 5, true), (5, false), (HI + 6, false)],
        ),
        (
            "SCMP_CMP_NE",
            HI + 5,
            0,
            &[(HI + 5, false), (5, true), (2 * HI + 5, true)],
        ),
        (
            "SCMP_CMP_GT",
            HI + 5,
            0,
            &[
                (HI + 6, true),
                (HI + 5, false),
                (2 * HI, true),
                (u32::MAX as u64, false),
            ],
        ),
        (
            "SCMP_CMP_GE",
            HI + 5,
            0,
            &[(HI + 5, true), (HI + 4, false), (2 * HI, true), (6, false)],
        ),
        (
            "SCMP_CMP_LT",
            HI + 5,
            0,
            &[
                (HI + 4, true),
                (HI + 5, false),
                (u32::MAX as u64, true),
                (2 * HI, false),
            ],
        ),
        (
            "SCMP_CMP_LE",
            HI + 5,
            0,
            &[
                (HI + 5, true),
                (HI + 6, false),
                (7, true),
                (2 * HI + 1, false),
            ],
        ),
        (
            "SCMP_CMP_MASKED_EQ",
            0xff00_0000_00ff,
            0x1200_0000_0034,
            &[
                (0x1200_0000_0034, true),
                (0x12ab_0000_cd34, true),
                (0x1300_0000_0034, false),
                (0x1200_0000_0035, false),
            ],
        ),
    ];
    for (op, value, value_two, probes) in CASES {
        let c = build(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ALL_ABIS,
            "syscalls": [{"names": ["ioctl"], "action": "SCMP_ACT_ERRNO", "errnoRet": 99,
                "args": [{"index": 1, "value": value, "valueTwo": value_two, "op": op}]}]
        }));
        for (arg, hit) in *probes {
            let got = verdict(&c, Abi::X86_64, "ioctl", [0, *arg, 0, 0, 0, 0]);
            let want = if *hit { RET_ERRNO | 99 } else { RET_ALLOW };
            assert_eq!(got, want, "{op} {value:#x} against {arg:#x} on x86_64");
        }
    }
    // The 32-bit ABIs see only the low word (as libseccomp compiles them).
    let c = build(json!({
        "defaultAction": "SCMP_ACT_ALLOW", "architectures": ALL_ABIS,
        "syscalls": [{"names": ["ioctl"], "action": "SCMP_ACT_ERRNO", "errnoRet": 99,
            "args": [{"index": 0, "value": 10, "op": "SCMP_CMP_LT"}]}]
    }));
    for abi in [Abi::X86, Abi::X32] {
        assert_eq!(
            verdict(&c, abi, "ioctl", [9, 0, 0, 0, 0, 0]),
            RET_ERRNO | 99
        );
        assert_eq!(verdict(&c, abi, "ioctl", [10, 0, 0, 0, 0, 0]), RET_ALLOW);
    }
}

#[test]
fn args_are_anded_rules_ored() {
    let c = build(json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [
            {"names": ["socket"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},
                      {"index": 1, "value": 2, "op": "SCMP_CMP_EQ"}]},
            {"names": ["socket"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 10, "op": "SCMP_CMP_EQ"}]},
            // Same argument twice: ORed (runc's rule).
            {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"},
                      {"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]}
        ]
    }));
    let v = |name, a0, a1| verdict(&c, Abi::X86_64, name, [a0, a1, 0, 0, 0, 0]);
    assert_eq!(v("socket", 1, 2), RET_ALLOW);
    assert_eq!(v("socket", 1, 3), RET_ERRNO | 1, "both args must match");
    assert_eq!(v("socket", 10, 99), RET_ALLOW, "second rule");
    assert_eq!(v("socket", 2, 2), RET_ERRNO | 1);
    assert_eq!(v("personality", 0, 0), RET_ALLOW);
    assert_eq!(v("personality", 8, 0), RET_ALLOW);
    assert_eq!(v("personality", 4, 0), RET_ERRNO | 1);
}

#[test]
fn conditional_rules_win_over_an_unconditional_one() {
    let c = build(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [
            {"names": ["kill"], "action": "SCMP_ACT_ERRNO", "errnoRet": 3},
            {"names": ["kill"], "action": "SCMP_ACT_ERRNO", "errnoRet": 4,
             "args": [{"index": 1, "value": 9, "op": "SCMP_CMP_EQ"}]}
        ]
    }));
    assert_eq!(
        verdict(&c, Abi::X86_64, "kill", [0, 9, 0, 0, 0, 0]),
        RET_ERRNO | 4
    );
    assert_eq!(
        verdict(&c, Abi::X86_64, "kill", [0, 15, 0, 0, 0, 0]),
        RET_ERRNO | 3
    );
}

#[test]
fn architectures_and_the_x32_bit() {
    let rules = json!([{"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 5}]);
    // Native only: i386 and x32 syscalls hit the bad-arch action (libseccomp's KILL).
    let c = build(json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": rules}));
    assert_eq!(verdict(&c, Abi::X86_64, "getppid", Z), RET_ERRNO | 5);
    assert_eq!(verdict(&c, Abi::X86, "getppid", Z), RET_KILL_THREAD);
    assert_eq!(verdict(&c, Abi::X32, "getppid", Z), RET_KILL_THREAD);
    assert_eq!(raw(&c, 0xc000_00b7, 0, Z), RET_KILL_THREAD, "aarch64");
    // With all three: each ABI's own numbers.
    let c = build(
        json!({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ALL_ABIS,
        "syscalls": rules}),
    );
    for abi in Abi::ALL {
        assert_eq!(verdict(&c, abi, "getppid", Z), RET_ERRNO | 5, "{abi:?}");
    }
    // i386's getppid (64) is x86_64's mmap-neighbour... make sure numbers are not mixed up.
    let i386_getppid = Abi::X86.syscall("getppid").expect("known");
    assert_eq!(
        raw(&c, Abi::X86_64.audit_arch(), i386_getppid, Z),
        RET_ALLOW
    );
    // x32 listed alone still includes native x86_64.
    let c = build(
        json!({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X32"],
        "syscalls": rules}),
    );
    assert_eq!(verdict(&c, Abi::X32, "getppid", Z), RET_ERRNO | 5);
    assert_eq!(verdict(&c, Abi::X86_64, "getppid", Z), RET_ERRNO | 5);
    assert_eq!(verdict(&c, Abi::X86, "getppid", Z), RET_KILL_THREAD);
    // Foreign architectures cannot occur here and are left out rather than refused.
    let c = build(json!({"defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_AARCH64", "SCMP_ARCH_X86_64"], "syscalls": rules}));
    assert_eq!(verdict(&c, Abi::X86_64, "getppid", Z), RET_ERRNO | 5);
    let _ = X32_SYSCALL_BIT;
}

#[test]
fn enosys_for_syscalls_newer_than_the_profile() {
    let c = build(json!({
        "defaultAction": "SCMP_ACT_ERRNO", "architectures": ALL_ABIS,
        "syscalls": [{"names": ["read", "clone", "openat"], "action": "SCMP_ACT_ALLOW"}]
    }));
    for abi in Abi::ALL {
        let max = abi.syscall("openat").expect("known");
        assert_eq!(
            raw(&c, abi.audit_arch(), max + 1, Z),
            RET_ERRNO | 38,
            "{abi:?}"
        );
        assert_eq!(
            verdict(&c, abi, "clone3", Z),
            RET_ERRNO | 38,
            "clone3 on {abi:?}"
        );
        assert_eq!(
            verdict(&c, abi, "write", Z),
            RET_ERRNO | 1,
            "known, below max"
        );
        assert_eq!(verdict(&c, abi, "openat", Z), RET_ALLOW);
    }
    // Permissive defaults and an explicit ENOSYS default need no stub (runc's rule).
    for (default, errno) in [
        ("SCMP_ACT_ALLOW", None),
        ("SCMP_ACT_LOG", None),
        ("SCMP_ACT_ERRNO", Some(38)),
    ] {
        let mut p = json!({"defaultAction": default,
            "syscalls": [{"names": ["read"], "action": "SCMP_ACT_KILL"}]});
        if let Some(e) = errno {
            p["defaultErrnoRet"] = e.into();
        }
        let c = build(p);
        let want = match default {
            "SCMP_ACT_ALLOW" => RET_ALLOW,
            "SCMP_ACT_LOG" => RET_LOG,
            _ => RET_ERRNO | 38,
        };
        assert_eq!(verdict(&c, Abi::X86_64, "clone3", Z), want, "{default}");
    }
    // A kill default gets the stub as well.
    let c = build(json!({"defaultAction": "SCMP_ACT_KILL_PROCESS",
        "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}));
    assert_eq!(
        verdict(&c, Abi::X86_64, "write", Z),
        RET_ERRNO | 38,
        "write (1) > read (0)"
    );
}

#[test]
fn a_profile_naming_every_syscall_fits_and_resolves() {
    let names: Vec<&str> = Abi::X86_64.names().collect();
    let i386: Vec<&str> = Abi::X86.names().collect();
    let c = build(json!({
        "defaultAction": "SCMP_ACT_ERRNO", "architectures": ALL_ABIS,
        "syscalls": [
            {"names": names, "action": "SCMP_ACT_ALLOW"},
            {"names": i386, "action": "SCMP_ACT_ALLOW"},
            {"names": ["ptrace"], "action": "SCMP_ACT_ERRNO", "errnoRet": 77,
             "args": [{"index": 0, "value": 16, "op": "SCMP_CMP_EQ"}]}
        ]
    }));
    assert!(c.filter.len() > 300, "big program: {}", c.filter.len());
    for abi in Abi::ALL {
        for name in abi.names() {
            // ptrace's conditional rule does not match zero arguments: the ALLOW applies.
            assert_eq!(verdict(&c, abi, name, Z), RET_ALLOW, "{name} on {abi:?}");
        }
        assert_eq!(
            verdict(&c, abi, "ptrace", [16, 0, 0, 0, 0, 0]),
            RET_ERRNO | 77
        );
    }
}

#[test]
fn errors_name_the_field() {
    assert_eq!(
        field_of(json!({"defaultAction": "SCMP_ACT_NOTIFY"})),
        "linux.seccomp.defaultAction"
    );
    assert_eq!(
        field_of(
            json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/x",
            "syscalls": [{"names": ["read", "write"], "action": "SCMP_ACT_NOTIFY"}]})
        ),
        "linux.seccomp.syscalls[0].names[1]"
    );
    assert_eq!(
        field_of(json!({"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]})),
        "linux.seccomp.listenerPath"
    );
    assert_eq!(
        field_of(json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["read"], "action": "SCMP_ACT_KILL"},
            {"names": ["read"], "action": "SCMP_ACT_ERRNO", "errnoRet": 70000}]})),
        "linux.seccomp.syscalls[1].errnoRet"
    );
    assert_eq!(
        field_of(json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["read"], "action": "SCMP_ACT_KILL",
             "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]})),
        "linux.seccomp.syscalls[0].args[0].index"
    );
    assert_eq!(
        field_of(json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": [], "action": "SCMP_ACT_KILL"}]})),
        "linux.seccomp.syscalls[0].names"
    );
    let c = build(json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["read", "no_such_call"], "action": "SCMP_ACT_KILL"}]}));
    assert_eq!(c.unknown.len(), 1);
    assert!(
        c.unknown[0].starts_with("linux.seccomp.syscalls[0].names[1]"),
        "{:?}",
        c.unknown
    );
}

#[test]
fn flags() {
    let c = build(json!({"defaultAction": "SCMP_ACT_ALLOW",
        "flags": ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
                  "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]}));
    assert_eq!(
        c.flags,
        FLAG_LOG | FLAG_SPEC_ALLOW | FLAG_TSYNC,
        "no listener: no wait-kill"
    );
    let c = build(
        json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/a",
        "flags": ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
        "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}),
    );
    assert_eq!(
        c.flags,
        FLAG_TSYNC | FLAG_TSYNC_ESRCH | FLAG_NEW_LISTENER | FLAG_WAIT_KILLABLE_RECV
    );
}

/// Loads a program into a forked child and reports what `getppid` and `clone3` returned there.
#[test]
fn the_kernel_agrees() {
    let p = super::compile(&profile(json!({
        "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 13,
        "architectures": ALL_ABIS,
        "syscalls": [
            {"names": ["exit_group", "exit", "write", "read", "getppid", "clone", "futex",
                       "rt_sigreturn", "close", "mmap", "munmap", "brk"],
             "action": "SCMP_ACT_ALLOW"},
            {"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 42,
             "args": [{"index": 0, "value": 7, "op": "SCMP_CMP_EQ"}]}
        ]
    })))
    .expect("compiles");
    // SAFETY: the child only makes raw syscalls and _exits.
    match unsafe { nix::unistd::fork() }.expect("fork") {
        nix::unistd::ForkResult::Child => {
            let code = (|| {
                hull_sys::prctl(libc::PR_SET_NO_NEW_PRIVS, 1).ok()?;
                p.install().ok()?;
                let call = |nr: libc::c_long, a0: libc::c_long| {
                    // SAFETY: raw syscalls with integer arguments (clone3 with a null
                    // pointer fails before reading it); errno is this thread's.
                    unsafe { (libc::syscall(nr, a0, 0), *libc::__errno_location()) }
                };
                let (a, b) = call(libc::SYS_getppid, 7);
                let (c, d) = call(libc::SYS_clone3, 0);
                let (e, f) = call(libc::SYS_getpid, 0);
                let ok = a == -1 && b == 42 && c == -1 && d == libc::ENOSYS && e == -1 && f == 13;
                Some(if ok { 0 } else { 2 })
            })()
            .unwrap_or(3);
            hull_sys::exit_now(code)
        }
        nix::unistd::ForkResult::Parent { child } => {
            let st = nix::sys::wait::waitpid(child, None).expect("wait");
            assert_eq!(st, nix::sys::wait::WaitStatus::Exited(child, 0));
        }
    }
}

/// The profile dockerd 20.10 sent for `docker run` (spec-tests/fixtures/README.md).
#[test]
fn dockers_default_profile() {
    let f: serde_json::Value = serde_json::from_str(include_str!(
        "../../spec-tests/fixtures/docker-20.10-default.json"
    ))
    .expect("fixture");
    let c = build(f["linux.seccomp"].clone());
    assert!(c.unknown.is_empty(), "{:?}", c.unknown);
    assert!(c.filter.len() < 2000, "{} instructions", c.filter.len());
    let eperm = RET_ERRNO | libc::EPERM as u32;
    let v = |abi, name, a0| verdict(&c, abi, name, [a0, 0, 0, 0, 0, 0]);
    for abi in Abi::ALL {
        assert_eq!(v(abi, "read", 0), RET_ALLOW, "{abi:?}");
        assert_eq!(v(abi, "clone3", 0), RET_ERRNO | 38, "{abi:?}");
        for blocked in ["unshare", "mount", "keyctl", "bpf", "setns", "reboot"] {
            assert_eq!(v(abi, blocked, 0), eperm, "{blocked} on {abi:?}");
        }
        assert_eq!(v(abi, "personality", 0), RET_ALLOW);
        assert_eq!(v(abi, "personality", 1), eperm);
    }
    // clone: allowed unless a namespace flag is in the mask (on 32-bit ABIs too).
    let sigchld = libc::SIGCHLD as u64;
    let newuser = libc::CLONE_NEWUSER as u64;
    assert_eq!(v(Abi::X86_64, "clone", sigchld), RET_ALLOW);
    assert_eq!(v(Abi::X86_64, "clone", sigchld | newuser), eperm);
    assert_eq!(v(Abi::X86, "socketcall", 1), RET_ALLOW);
    // A syscall newer than the profile: ENOSYS, not EPERM.
    assert_eq!(raw(&c, Abi::X86_64.audit_arch(), 600, Z), RET_ERRNO | 38);
}

/// Raw i386 syscall through `int 0x80` (no arguments): the kernel then reports
/// AUDIT_ARCH_I386 to the filter.
fn int80(nr: i32) -> i32 {
    let ret: i32;
    // SAFETY: `int 0x80` with a no-argument syscall number only reads eax and returns the
    // result in it; r8-r11 are declared clobbered since old kernels did not preserve them.
    unsafe {
        std::arch::asm!("int 0x80", inlateout("eax") nr => ret,
            out("r8") _, out("r9") _, out("r10") _, out("r11") _, options(nostack));
    }
    ret
}

/// The three ABI sections against the real kernel: x86_64, i386 through `int 0x80`, and x32
/// numbers (the filter sees them even though this kernel has no x32 ABI, which then makes
/// an allowed x32 syscall fail with ENOSYS).
#[test]
fn the_kernel_reports_all_three_abis_to_the_filter() {
    let p = super::compile(&profile(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ALL_ABIS,
        "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 42}]
    })))
    .expect("compiles");
    let x32 = |name: &str| Abi::X32.syscall(name).expect("x32 number") as libc::c_long;
    let i386 = |name: &str| Abi::X86.syscall(name).expect("i386 number") as i32;
    let (x32_getppid, x32_getpid) = (x32("getppid"), x32("getpid"));
    let (i386_getppid, i386_getpid) = (i386("getppid"), i386("getpid"));
    // SAFETY: the child only makes raw syscalls and _exits.
    match unsafe { nix::unistd::fork() }.expect("fork") {
        nix::unistd::ForkResult::Child => {
            let code = (|| {
                hull_sys::prctl(libc::PR_SET_NO_NEW_PRIVS, 1).ok()?;
                p.install().ok()?;
                let call = |nr: libc::c_long| {
                    // SAFETY: raw no-argument syscalls; errno is this thread's.
                    unsafe { (libc::syscall(nr), *libc::__errno_location()) }
                };
                let mut bad = 0;
                if call(libc::SYS_getppid) != (-1, 42) {
                    bad |= 1;
                }
                if call(x32_getppid) != (-1, 42) {
                    bad |= 2;
                }
                if call(x32_getpid) != (-1, libc::ENOSYS) {
                    bad |= 4;
                }
                if int80(i386_getppid) != -42 {
                    bad |= 8;
                }
                if int80(i386_getpid) <= 0 {
                    bad |= 16;
                }
                Some(bad)
            })()
            .unwrap_or(64);
            hull_sys::exit_now(code)
        }
        nix::unistd::ForkResult::Parent { child } => {
            let st = nix::sys::wait::waitpid(child, None).expect("wait");
            assert_eq!(
                st,
                nix::sys::wait::WaitStatus::Exited(child, 0),
                "bit mask of failed checks (1 x86_64, 2/4 x32, 8/16 i386, 64 setup)"
            );
        }
    }
}
