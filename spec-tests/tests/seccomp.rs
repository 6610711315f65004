//! config-linux.md "Seccomp": every action, operator and flag with real syscalls inside a
//! busybox container, errnoRet, runc's ENOSYS stub, SCMP_ACT_NOTIFY with an agent, and
//! Docker's default profile (spec-tests/fixtures/docker-20.10-default.json).
//!
//! Syscalls are made with `checker syscall NR ARGS...` (prints `ret=R` or `errno=E`) as the
//! container's process itself, so no shell start-up syscalls get in the way. x86_64 numbers:
//! getpriority 140, acct 163, keyctl 250, mkdir 83, clone3 435.

use serde_json::{json, Value};
use spec_tests::Container;

const GETPRIORITY: &str = "140";

fn docker_fixture() -> Value {
    let p = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/docker-20.10-default.json"
    );
    serde_json::from_str(&std::fs::read_to_string(p).expect("fixture")).expect("fixture json")
}

/// Runs `checker syscall ARGS...` under `profile` and returns (exit code, stdout).
fn syscall_under(test: &str, profile: Value, args: &[&str]) -> (i32, String) {
    let mut c = Container::new(test);
    let mut a = vec!["checker", "syscall"];
    a.extend_from_slice(args);
    c.args(&a);
    c.config["linux"]["seccomp"] = profile;
    let o = c.run();
    (o.code, o.out().to_string())
}

fn rule(action: &str, errno: Option<u32>) -> Value {
    let mut r = json!({"names": ["getpriority"], "action": action});
    if let Some(e) = errno {
        r["errnoRet"] = e.into();
    }
    json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [r]})
}

#[test]
fn errno_actions_and_errno_ret() {
    let (_, out) = syscall_under(
        "sc-errno",
        rule("SCMP_ACT_ERRNO", Some(42)),
        &[GETPRIORITY, "0", "0"],
    );
    assert_eq!(out, "errno=42");
    let (_, out) = syscall_under(
        "sc-errno-def",
        rule("SCMP_ACT_ERRNO", None),
        &[GETPRIORITY, "0", "0"],
    );
    assert_eq!(out, "errno=1", "ERRNO without errnoRet is EPERM");
    // TRACE with no tracer attached: the kernel fails the syscall with ENOSYS.
    let (_, out) = syscall_under(
        "sc-trace",
        rule("SCMP_ACT_TRACE", Some(5)),
        &[GETPRIORITY, "0", "0"],
    );
    assert_eq!(out, "errno=38");
    // LOG and ALLOW let it through (getpriority returns 20 - nice, i.e. 20).
    for act in ["SCMP_ACT_LOG", "SCMP_ACT_ALLOW"] {
        // A blocking default needs the process's own start-up syscalls allowed: use Docker's.
        let mut docker = docker_fixture()["linux.seccomp"].clone();
        docker["syscalls"]
            .as_array_mut()
            .expect("syscalls")
            .retain(|r| r["names"] != json!(["getpriority"]));
        for r in docker["syscalls"].as_array_mut().expect("syscalls") {
            if let Some(n) = r["names"].as_array_mut() {
                n.retain(|n| n != "getpriority");
            }
        }
        docker["defaultErrnoRet"] = 99.into();
        docker["syscalls"]
            .as_array_mut()
            .expect("syscalls")
            .push(json!({"names": ["getpriority"], "action": act}));
        let (_, out) = syscall_under("sc-allow", docker.clone(), &[GETPRIORITY, "0", "0"]);
        assert!(out.starts_with("ret="), "{act}: {out}");
        // And the default applies to what is not allowed (acct is not in Docker's list).
        let (_, out) = syscall_under("sc-default", docker, &["163", "0"]);
        assert_eq!(out, "errno=99", "defaultErrnoRet");
    }
}

#[test]
fn kill_and_trap_actions_end_the_process_with_sigsys() {
    for act in [
        "SCMP_ACT_KILL",
        "SCMP_ACT_KILL_THREAD",
        "SCMP_ACT_KILL_PROCESS",
        "SCMP_ACT_TRAP",
    ] {
        let (code, out) = syscall_under("sc-kill", rule(act, None), &[GETPRIORITY, "0", "0"]);
        assert_eq!(
            code,
            128 + libc::SIGSYS,
            "{act}: exit {code}, printed {out:?}"
        );
        assert_eq!(out, "", "{act}: the syscall never returned");
    }
}

/// One argument condition on getpriority's second argument; `probes` are (arg, blocked).
fn check_op(op: &str, value: u64, value_two: Option<u64>, probes: &[(u64, bool)]) {
    let mut arg = json!({"index": 1, "value": value, "op": op});
    if let Some(v2) = value_two {
        arg["valueTwo"] = v2.into();
    }
    let mut c = Container::new("sc-op");
    let script: Vec<String> = probes
        .iter()
        .map(|(a, _)| format!("checker syscall {GETPRIORITY} 0 {a}"))
        .collect();
    c.sh(&script.join("; "));
    c.config["linux"]["seccomp"] = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["getpriority"], "action": "SCMP_ACT_ERRNO", "errnoRet": 77,
                      "args": [arg]}]
    });
    let o = c.run();
    o.ok();
    let lines: Vec<&str> = o.out().lines().collect();
    assert_eq!(lines.len(), probes.len(), "{op}: {}", o.stdout);
    for ((a, blocked), line) in probes.iter().zip(lines) {
        assert_eq!(
            line == "errno=77",
            *blocked,
            "{op} {value:#x}: getpriority(0, {a:#x}) gave {line}"
        );
    }
}

#[test]
fn every_operator_with_64_bit_arguments() {
    let hi = 1u64 << 32;
    check_op("SCMP_CMP_EQ", hi + 5, None, &[(hi + 5, true), (5, false)]);
    check_op("SCMP_CMP_NE", hi + 5, None, &[(hi + 5, false), (5, true)]);
    check_op(
        "SCMP_CMP_GT",
        hi + 5,
        None,
        &[(hi + 6, true), (hi + 5, false), (6, false), (2 * hi, true)],
    );
    check_op(
        "SCMP_CMP_GE",
        hi + 5,
        None,
        &[(hi + 5, true), (hi + 4, false), (7, false)],
    );
    check_op(
        "SCMP_CMP_LT",
        hi + 5,
        None,
        &[(hi + 4, true), (hi + 5, false), (7, true), (2 * hi, false)],
    );
    check_op(
        "SCMP_CMP_LE",
        hi + 5,
        None,
        &[(hi + 5, true), (hi + 6, false), (3, true)],
    );
    check_op(
        "SCMP_CMP_MASKED_EQ",
        0xff00_0000_00ff,
        Some(0x1200_0000_0034),
        &[
            (0x1200_0000_0034, true),
            (0x12ab_0000_cd34, true),
            (0x34, false),
        ],
    );
}

#[test]
fn args_are_anded_and_rules_ored() {
    let mut c = Container::new("sc-andor");
    c.sh(&format!(
        "for a in '1 2' '1 3' '9 9' '2 2'; do checker syscall {GETPRIORITY} $a; done"
    ));
    c.config["linux"]["seccomp"] = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [
            {"names": ["getpriority"], "action": "SCMP_ACT_ERRNO", "errnoRet": 60,
             "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},
                      {"index": 1, "value": 2, "op": "SCMP_CMP_EQ"}]},
            {"names": ["getpriority"], "action": "SCMP_ACT_ERRNO", "errnoRet": 61,
             "args": [{"index": 0, "value": 9, "op": "SCMP_CMP_EQ"}]}
        ]
    });
    let o = c.run();
    o.ok();
    let lines: Vec<&str> = o.out().lines().collect();
    assert_eq!(lines[0], "errno=60", "both conditions hold");
    assert_ne!(lines[1], "errno=60", "only one holds: {:?}", lines);
    assert_eq!(lines[2], "errno=61", "the second rule");
    assert!(
        lines[3] != "errno=60" && lines[3] != "errno=61",
        "{lines:?}"
    );
}

#[test]
fn flags_are_passed_and_accepted() {
    let mut c = Container::new("sc-flags");
    c.args(&["checker", "syscall", GETPRIORITY, "0", "0"]);
    c.config["linux"]["seccomp"] = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "flags": ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
                  "SECCOMP_FILTER_FLAG_TSYNC"],
        "syscalls": [{"names": ["getpriority"], "action": "SCMP_ACT_ERRNO", "errnoRet": 33}]
    });
    c.write_config();
    let b = c.bundle.display().to_string();
    let o = c.hull(&["--debug", "run", "--bundle", &b, &c.id]);
    o.ok();
    assert_eq!(
        o.out(),
        "errno=33",
        "the kernel loaded the filter with those flags"
    );
    // LOG 2 | SPEC_ALLOW 4 | TSYNC 1
    o.stderr_has("filter flags 0x7");
}

#[test]
fn enosys_above_the_highest_syscall_in_the_profile() {
    // Docker's list without its explicit clone3 rule: clone3 (435) is below the profile's
    // highest syscall, so it gets the default EPERM; numbers above it get ENOSYS.
    let mut p = docker_fixture()["linux.seccomp"].clone();
    p["syscalls"]
        .as_array_mut()
        .expect("syscalls")
        .retain(|r| r["names"] != json!(["clone3"]));
    let mut c = Container::new("sc-enosys");
    c.sh(
        "checker syscall 1000; checker syscall 460; checker syscall 163 0; checker syscall 435 0 0",
    );
    c.config["linux"]["seccomp"] = p;
    let o = c.run();
    o.ok();
    assert_eq!(
        o.out(),
        "errno=38\nerrno=38\nerrno=1\nerrno=1",
        "unknown -> ENOSYS; known but not allowed (acct, clone3) -> EPERM"
    );
}

#[test]
fn dockers_default_profile_runs_busybox_and_blocks_what_docker_blocks() {
    let f = docker_fixture();
    let mut c = Container::new("sc-docker");
    // Docker's process: its capabilities, no noNewPrivileges (so the filter is loaded while
    // the init still has CAP_SYS_ADMIN), root user.
    c.config["process"]["capabilities"] = f["process.capabilities"].clone();
    c.config["process"]["noNewPrivileges"] = false.into();
    c.config["linux"]["seccomp"] = f["linux.seccomp"].clone();
    c.sh(concat!(
        "echo hi > /tmp/f && cat /tmp/f && ls / >/dev/null && ps >/dev/null && echo shell-ok; ",
        "unshare -U true 2>/dev/null; echo unshare=$?; ",
        "mount -t tmpfs none /mnt 2>/dev/null; echo mount=$?; ",
        "checker syscall 250 0 0; ", // keyctl
        "checker syscall 435 0 0; ", // clone3: ENOSYS, so libcs fall back to clone
        "grep Seccomp: /proc/self/status"
    ));
    c.config["root"]["readonly"] = false.into();
    std::fs::create_dir_all(c.rootfs().join("mnt")).expect("mkdir");
    let o = c.run();
    o.ok();
    assert_eq!(
        o.out(),
        "hi\nshell-ok\nunshare=1\nmount=1\nerrno=1\nerrno=38\nSeccomp:\t2"
    );
}

#[test]
fn bad_profiles_are_config_errors_naming_the_field() {
    let cases = [
        (
            json!({"defaultAction": "SCMP_ACT_NOTIFY", "listenerPath": "/x"}),
            "linux.seccomp.defaultAction",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/x",
                   "syscalls": [{"names": ["write"], "action": "SCMP_ACT_NOTIFY"}]}),
            "SCMP_ACT_NOTIFY cannot be used for the write syscall",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW",
                   "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}),
            "linux.seccomp.listenerPath",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW",
                   "syscalls": [{"names": ["read"], "action": "SCMP_ACT_KILL",
                                 "args": [{"index": 7, "value": 0, "op": "SCMP_CMP_EQ"}]}]}),
            "linux.seccomp.syscalls[0].args[0].index",
        ),
    ];
    for (profile, msg) in cases {
        let mut c = Container::new("sc-bad");
        c.config["linux"]["seccomp"] = profile;
        let o = c.create();
        o.fails().stderr_has(msg);
        assert!(!c.root.join(&c.id).exists(), "state dir left behind");
    }
    // An unknown name is ignored, as runc ignores it, and named only in the --debug log: podman
    // passes no --log, so anything on stderr reaches the user's terminal at every start (its
    // and Docker's default profiles name syscalls of other architectures).
    let mut c = Container::new("sc-unknown");
    c.config["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["no_such_syscall"], "action": "SCMP_ACT_KILL"}]});
    let o = c.run();
    o.ok();
    assert!(!o.stderr.contains("no_such_syscall"), "{}", o.stderr);
    let b = c.bundle.display().to_string();
    c.hull(&["--debug", "run", "--bundle", &b, &c.id])
        .ok()
        .stderr_has("linux.seccomp.syscalls[0].names[0]: unknown syscall \"no_such_syscall\"");
}

/// A seccomp agent: accepts one connection on `path`, checks runc's message, answers the
/// first notification with `errno` and returns the state JSON it got.
fn agent(path: std::path::PathBuf, errno: i32) -> std::thread::JoinHandle<Result<Value, String>> {
    use std::os::fd::AsRawFd;
    let listener = std::os::unix::net::UnixListener::bind(&path).expect("bind agent socket");
    std::thread::spawn(move || {
        let (conn, _) = listener.accept().map_err(|e| format!("accept: {e}"))?;
        let mut buf = vec![0u8; 65536];
        let mut cbuf = [0u64; 16];
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        // SAFETY: msghdr is plain data; the pointers refer to live buffers of the stated sizes.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = cbuf.as_mut_ptr().cast();
        msg.msg_controllen = std::mem::size_of_val(&cbuf);
        // SAFETY: as above; recvmsg fills the buffers.
        let n = unsafe { libc::recvmsg(conn.as_raw_fd(), &mut msg, 0) };
        if n <= 0 {
            return Err(format!("recvmsg: {n}"));
        }
        // SAFETY: walking the control messages recvmsg just wrote.
        let fd = unsafe {
            let c = libc::CMSG_FIRSTHDR(&msg);
            if c.is_null() || (*c).cmsg_type != libc::SCM_RIGHTS {
                return Err("no SCM_RIGHTS".into());
            }
            *(libc::CMSG_DATA(c) as *const i32)
        };
        let state: Value =
            serde_json::from_slice(&buf[..n as usize]).map_err(|e| format!("state JSON: {e}"))?;
        // struct seccomp_notif (80 bytes) and seccomp_notif_resp (24 bytes).
        let mut notif = [0u64; 10];
        const NOTIF_RECV: u64 = 0xc050_2100;
        const NOTIF_SEND: u64 = 0xc018_2101;
        // SAFETY: the ioctl writes one seccomp_notif into `notif`, which is large enough.
        if unsafe { libc::ioctl(fd, NOTIF_RECV, notif.as_mut_ptr()) } != 0 {
            return Err(format!("NOTIF_RECV: {}", std::io::Error::last_os_error()));
        }
        let nr = notif[2] as u32; // after id (u64) and pid+flags (2 x u32)
        let resp: [u64; 3] = [notif[0], 0, (-errno) as u32 as u64];
        // SAFETY: the ioctl reads one seccomp_notif_resp from `resp`.
        if unsafe { libc::ioctl(fd, NOTIF_SEND, resp.as_ptr()) } != 0 {
            return Err(format!("NOTIF_SEND: {}", std::io::Error::last_os_error()));
        }
        // SAFETY: closing the fd we received and own.
        unsafe { libc::close(fd) };
        let mut state = state;
        state["notifiedSyscall"] = nr.into();
        Ok(state)
    })
}

#[test]
fn notify_sends_the_listener_and_state_to_the_agent() {
    for nnp in [true, false] {
        let mut c = Container::new("sc-notify");
        let sock = c.scratch("agent").join("agent.sock");
        let handle = agent(sock.clone(), 71);
        c.args(&["checker", "syscall", "83", "0", "0"]); // mkdir(NULL, 0)
        c.config["process"]["noNewPrivileges"] = nnp.into();
        c.config["linux"]["seccomp"] = json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "listenerPath": sock,
            "listenerMetadata": "hull-test-metadata",
            "flags": ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
            "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]
        });
        let o = c.run();
        let st = handle.join().expect("agent thread").expect("agent");
        o.ok();
        assert_eq!(
            o.out(),
            "errno=71",
            "the agent's answer reached the process"
        );
        assert_eq!(st["notifiedSyscall"], 83);
        assert_eq!(st["fds"], json!(["seccompFd"]));
        assert_eq!(st["metadata"], "hull-test-metadata");
        assert_eq!(st["ociVersion"], "1.3.0");
        assert!(st["pid"].as_i64().unwrap_or(0) > 0);
        assert_eq!(st["state"]["id"], c.id.as_str());
        assert_eq!(st["state"]["status"], "creating");
        assert_eq!(st["state"]["pid"], st["pid"]);
        assert_eq!(
            st["state"]["bundle"].as_str(),
            Some(c.bundle.display().to_string().as_str())
        );
    }
}

#[test]
fn exec_gets_the_filter_and_its_own_listener() {
    let mut c = Container::new("sc-exec");
    let sock = c.scratch("agent").join("agent.sock");
    c.args(&["sleep", "30"]);
    c.config["linux"]["seccomp"] = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "listenerPath": sock,
        "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"},
                     {"names": ["getpriority"], "action": "SCMP_ACT_ERRNO", "errnoRet": 44}]
    });
    // The init's listener goes to a first agent; answer nothing, just take it.
    let first = std::os::unix::net::UnixListener::bind(&sock).expect("bind");
    c.create().ok();
    let (_init_conn, _) = first
        .accept()
        .expect("init's listener delivered during create");
    drop(first);
    std::fs::remove_file(&sock).expect("rm sock");
    c.start().ok();
    let handle = agent(sock.clone(), 72);
    let o = c.hull(&["exec", &c.id, "checker", "syscall", "83", "0", "0"]);
    let st = handle.join().expect("agent thread").expect("agent");
    o.ok();
    assert_eq!(o.out(), "errno=72");
    assert_eq!(st["state"]["status"], "running");
    assert_ne!(st["pid"], st["state"]["pid"], "pid is the exec'd process");
    // Every exec'd process gets its own listener, so an agent must be there again.
    std::fs::remove_file(&sock).expect("rm sock");
    let idle = agent(sock.clone(), 0);
    let o = c.hull(&["exec", &c.id, "checker", "syscall", GETPRIORITY, "0", "0"]);
    assert_eq!(o.out(), "errno=44");
    // No notification comes; the agent's NOTIF_RECV fails once the process is gone.
    let st = idle.join().expect("agent thread");
    assert!(st.is_err(), "{st:?}");
}

#[test]
fn an_unreachable_agent_fails_create_and_leaves_nothing() {
    let mut c = Container::new("sc-noagent");
    let sock = c.scratch("agent").join("nobody-listens.sock");
    c.config["linux"]["seccomp"] = json!({
        "defaultAction": "SCMP_ACT_ALLOW", "listenerPath": sock,
        "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]
    });
    c.create()
        .fails()
        .stderr_has("linux.seccomp.listenerPath")
        .stderr_has("connect");
    assert!(!c.root.join(&c.id).exists(), "state dir left behind");
}

#[test]
fn a_profile_that_blocks_the_init_says_so() {
    // Without noNewPrivileges the filter goes in during setup; blocking everything then
    // leaves the init unable even to report. The error must point at the profile.
    let mut c = Container::new("sc-blockall");
    c.config["process"]["noNewPrivileges"] = false.into();
    c.config["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ERRNO"});
    c.create().fails().stderr_has("linux.seccomp");
    assert!(!c.root.join(&c.id).exists(), "state dir left behind");
}

#[test]
fn features_report_what_the_filter_supports() {
    let o = spec_tests::run_cmd(
        {
            let mut c = std::process::Command::new(spec_tests::hull_bin());
            c.arg("features");
            c
        },
        None,
    );
    o.ok();
    let f: Value = serde_json::from_str(&o.stdout).expect("features JSON");
    let s = &f["linux"]["seccomp"];
    assert_eq!(s["enabled"], true);
    let has = |key: &str, want: &[&str]| {
        let got: Vec<&str> = s[key]
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
            .unwrap_or_default();
        for w in want {
            assert!(
                got.contains(w),
                "features linux.seccomp.{key} lacks {w}: {got:?}"
            );
        }
    };
    has(
        "actions",
        &[
            "SCMP_ACT_ALLOW",
            "SCMP_ACT_ERRNO",
            "SCMP_ACT_KILL",
            "SCMP_ACT_KILL_PROCESS",
            "SCMP_ACT_KILL_THREAD",
            "SCMP_ACT_LOG",
            "SCMP_ACT_NOTIFY",
            "SCMP_ACT_TRACE",
            "SCMP_ACT_TRAP",
        ],
    );
    has(
        "operators",
        &[
            "SCMP_CMP_EQ",
            "SCMP_CMP_NE",
            "SCMP_CMP_GT",
            "SCMP_CMP_GE",
            "SCMP_CMP_LT",
            "SCMP_CMP_LE",
            "SCMP_CMP_MASKED_EQ",
        ],
    );
    has(
        "archs",
        &["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
    );
    has(
        "supportedFlags",
        &[
            "SECCOMP_FILTER_FLAG_LOG",
            "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
            "SECCOMP_FILTER_FLAG_TSYNC",
            "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
        ],
    );
}

#[test]
fn a_profile_refusing_close_range_still_runs() {
    // hull's own fd handling must not depend on close_range, whatever the profile says or
    // at which point it is loaded (with and without noNewPrivileges).
    for (nnp, errno) in [(false, 1), (true, 1), (false, 38), (true, 38)] {
        let mut c = Container::new("sc-closerange");
        c.sh("echo ran");
        c.config["process"]["noNewPrivileges"] = nnp.into();
        c.config["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["close_range"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno}]});
        let o = c.run();
        assert_eq!(o.ok().out(), "ran", "nnp={nnp} errno={errno}");
    }
}

#[test]
fn start_container_hooks_run_under_the_filter() {
    // With noNewPrivileges the filter is loaded last, but still before startContainer
    // hooks (runc's order): a hook's mkdir is refused as the program's is.
    let mut c = Container::new("sc-hook");
    c.config["process"]["noNewPrivileges"] = true.into();
    c.config["root"]["readonly"] = false.into();
    c.config["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]});
    c.config["hooks"] = json!({"startContainer": [{"path": "/bin/sh",
        "args": ["sh", "-c", "mkdir /tmp/hookdir 2>/dev/null; echo $? > /tmp/hook-status"]}]});
    c.sh("cat /tmp/hook-status; test -d /tmp/hookdir && echo made; true");
    assert_eq!(c.run().ok().out(), "1");
}
