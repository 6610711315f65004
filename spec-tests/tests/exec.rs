//! `hull exec` (runc's semantics): the new process joins every namespace and the cgroup of
//! the container, gets its rlimits, seccomp filter and process attributes with the command
//! line's overrides on top, and reports its exit status; exec into a stopped or paused
//! container fails; `--process` takes a runtime-spec process JSON as containerd sends it.

use std::collections::BTreeMap;
use std::process::Command;

use serde_json::json;
use spec_tests::{process_alive, run_cmd, wait_child, Container, Out};

/// Creates and starts `c` (whose init should keep running), waiting until it runs.
fn start(c: &Container) {
    c.create().ok();
    c.start().ok();
    c.wait_status("running");
}

/// A started container named `name` whose init sleeps.
fn sleeper(name: &str) -> Container {
    let mut c = Container::new(name);
    c.args(&["sleep", "600"]);
    start(&c);
    c
}

/// `hull exec FLAGS... ID ARGS...`.
fn exec(c: &Container, flags: &[&str], args: &[&str]) -> Out {
    let mut a = vec!["exec"];
    a.extend_from_slice(flags);
    a.push(&c.id);
    a.extend_from_slice(args);
    c.hull(&a)
}

/// `hull exec ... sh -c SCRIPT`, which must succeed; returns its stdout.
#[track_caller]
fn exec_sh(c: &Container, flags: &[&str], script: &str) -> String {
    let o = exec(c, flags, &["sh", "-c", script]);
    o.ok();
    o.stdout.clone()
}

/// `name -> "type:[inode]"` for every entry of `/proc/<pid>/ns`, read on the host.
fn host_ns(pid: i32) -> BTreeMap<String, String> {
    let dir = format!("/proc/{pid}/ns");
    std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .flatten()
        .map(|e| {
            let t = std::fs::read_link(e.path()).expect("readlink ns");
            (
                e.file_name().to_string_lossy().into_owned(),
                t.display().to_string(),
            )
        })
        .collect()
}

/// The same as [`host_ns`], printed by the exec'd shell about itself.
fn parse_ns(out: &str) -> BTreeMap<String, String> {
    out.lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

const NS_SCRIPT: &str = "for f in /proc/self/ns/*; do echo \"${f##*/} $(readlink $f)\"; done";

/// The `Name:\tvalue` line of the exec'd process's /proc/self/status.
fn status_field(out: &str, name: &str) -> String {
    out.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .map(|v| v.trim().to_string())
        .unwrap_or_else(|| panic!("no {name} in {out}"))
}

/// Host pids whose pid namespace is the container init's.
fn pids_in_container(init: i32) -> Vec<i32> {
    let want = std::fs::read_link(format!("/proc/{init}/ns/pid")).expect("init pid ns");
    let mut v: Vec<i32> = std::fs::read_dir("/proc")
        .expect("/proc")
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|p| {
            std::fs::read_link(format!("/proc/{p}/ns/pid"))
                .ok()
                .as_ref()
                == Some(&want)
        })
        .filter(|p| process_alive(*p))
        .collect();
    v.sort_unstable();
    v
}

/// Why the cgroup tests are skipped in rootless mode: the suite's containers get the
/// default cgroupsPath, which a user cannot make (no --systemd-cgroup, no delegated path).
const NO_CGROUP: &str = "a user's container without --systemd-cgroup or a delegated \
    cgroupsPath has no cgroup of its own (runc alike): tested by hack/rootless-tests.sh";

#[test]
fn joins_every_namespace() {
    for &userns in spec_tests::userns_variants() {
        let mut c = Container::new("execns");
        c.args(&["sleep", "600"]);
        let ns = c.config["linux"]["namespaces"]
            .as_array_mut()
            .expect("namespaces");
        ns.push(json!({"type": "time"}));
        if spec_tests::rootless() {
            // `hull spec --rootless` has none; a user may have one in its user namespace.
            ns.push(json!({"type": "network"}));
        }
        let root_uid = match userns {
            true => spec_tests::add_userns(&mut c.config),
            false => 0,
        };
        c.put("/marker", "inside the container's rootfs\n");
        start(&c);
        let init = c.pid();
        let want = host_ns(init);
        let host = host_ns(std::process::id() as i32);
        // Every namespace the config asks for is the container's own, not the host's.
        let mut kinds = vec!["pid", "net", "ipc", "uts", "mnt", "cgroup", "time"];
        if userns {
            kinds.push("user");
        }
        for k in &kinds {
            assert_ne!(want[*k], host[*k], "init shares the host's {k} namespace");
        }
        if !userns {
            assert_eq!(want["user"], host["user"]);
        }
        let got = parse_ns(&exec_sh(&c, &[], NS_SCRIPT));
        assert_eq!(got, want, "exec'd process vs the init (userns={userns})");
        let o = exec(&c, &[], &["cat", "/marker"]);
        assert_eq!(o.ok().out(), "inside the container's rootfs");
        assert_eq!(exec(&c, &[], &["hostname"]).ok().out(), "hull");
        if userns {
            // Root in the container is uid 100000 on the host (the user, rootless).
            let pf = c.scratch("pid").join("exec.pid");
            let pfs = pf.display().to_string();
            exec(&c, &["-d", "--pid-file", &pfs], &["sleep", "600"]).ok();
            let pid: i32 = std::fs::read_to_string(&pf)
                .expect("pid file")
                .parse()
                .expect("pid");
            let st = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
            assert_eq!(
                status_field(&st, "Uid"),
                vec![root_uid.to_string(); 4].join("\t")
            );
            assert_eq!(host_ns(pid), want);
        }
    }
}

#[test]
fn sees_the_container_cgroup() {
    if spec_tests::needs_root(NO_CGROUP) {
        return;
    }
    let c = sleeper("execcg");
    let init = c.pid();
    let out = exec_sh(
        &c,
        &[],
        "cat /proc/self/cgroup; echo --; cat /proc/1/cgroup",
    );
    let (mine, pid1) = out.split_once("--\n").expect("two parts");
    assert_eq!(mine, pid1, "exec'd process vs PID 1, seen from inside");
    // From the host: the full paths, which name the container's own cgroup.
    let pf = c.scratch("pid").join("exec.pid");
    let pfs = pf.display().to_string();
    exec(&c, &["-d", "--pid-file", &pfs], &["sleep", "600"]).ok();
    let pid: i32 = std::fs::read_to_string(&pf)
        .expect("pid file")
        .parse()
        .expect("pid");
    let want = std::fs::read_to_string(format!("/proc/{init}/cgroup")).expect("init cgroup");
    let got = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).expect("exec cgroup");
    assert_eq!(got, want);
    let host = std::fs::read_to_string("/proc/self/cgroup").expect("own cgroup");
    assert_ne!(want, host, "the container has no cgroup of its own");
}

#[test]
fn user_and_additional_gids() {
    let mut c = Container::new("execuser");
    c.args(&["sleep", "600"]);
    c.config["process"]["user"]["additionalGids"] = json!([3000]);
    start(&c);
    let ids = |flags: &[&str]| exec(&c, flags, &["checker", "ids"]).ok().out().to_string();
    assert!(ids(&[]).starts_with("uid=0/0/0 gid=0/0/0 groups=3000 "));
    assert!(ids(&["-u", "1000:1001"]).starts_with("uid=1000/1000/1000 gid=1001/1001/1001 "));
    // Without a GID the config's stays (runc).
    assert!(ids(&["-u", "1000"]).starts_with("uid=1000/1000/1000 gid=0/0/0 groups=3000 "));
    // --additional-gids adds to the config's list, as runc does.
    assert!(
        ids(&["--additional-gids", "2000", "-g", "2001"]).contains(" groups=2000,2001,3000 "),
        "{}",
        ids(&["--additional-gids", "2000", "-g", "2001"])
    );
    exec(&c, &["-u", "x:y"], &["true"])
        .fails()
        .stderr_has("x:y");
}

#[test]
fn cwd_and_env() {
    let c = sleeper("execcwd");
    assert_eq!(exec(&c, &[], &["pwd"]).ok().out(), "/");
    assert_eq!(exec(&c, &["--cwd", "/tmp"], &["pwd"]).ok().out(), "/tmp");
    exec(&c, &["--cwd", "/no/such/dir"], &["pwd"])
        .fails()
        .stderr_has("/no/such/dir");
    exec(&c, &["--cwd", "tmp"], &["pwd"]).fails();

    // --env adds to and overrides the process env; it does not replace it.
    let env = exec(&c, &["-e", "FOO=bar", "--env", "TERM=dumb"], &["env"]);
    let lines: Vec<&str> = env.ok().stdout.lines().collect();
    assert!(lines.contains(&"FOO=bar"), "{lines:?}");
    assert!(lines.contains(&"TERM=dumb"), "{lines:?}");
    assert!(!lines.contains(&"TERM=xterm"), "{lines:?}");
    assert!(
        lines.iter().any(|l| l.starts_with("PATH=/usr/local/sbin:")),
        "the config's PATH is kept: {lines:?}"
    );
    assert!(lines.contains(&"HOME=/root"), "{lines:?}");
}

#[test]
fn capabilities_and_no_new_privs() {
    let mut c = Container::new("execcaps");
    c.args(&["sleep", "600"]);
    c.config["process"]["noNewPrivileges"] = json!(false);
    start(&c);
    let status = |flags: &[&str]| {
        exec(&c, flags, &["cat", "/proc/self/status"])
            .ok()
            .stdout
            .clone()
    };
    // The config's set: AUDIT_WRITE, KILL, NET_BIND_SERVICE.
    let s = status(&[]);
    assert_eq!(status_field(&s, "CapEff"), "0000000020000420");
    assert_eq!(status_field(&s, "CapBnd"), "0000000020000420");
    assert_eq!(status_field(&s, "NoNewPrivs"), "0");
    // --cap adds to bounding, effective and permitted, never to inheritable or ambient
    // (runc; CVE-2022-29162).
    let s = status(&["--cap", "CAP_SYS_ADMIN", "-c", "CAP_CHOWN"]);
    assert_eq!(status_field(&s, "CapEff"), "0000000020200421");
    assert_eq!(status_field(&s, "CapPrm"), "0000000020200421");
    assert_eq!(status_field(&s, "CapBnd"), "0000000020200421");
    assert_eq!(status_field(&s, "CapInh"), "0000000000000000");
    assert_eq!(status_field(&s, "CapAmb"), "0000000000000000");
    // ... so a non-root user gets none of them across execve.
    let s = status(&["--cap", "CAP_SYS_ADMIN", "-u", "1000"]);
    assert_eq!(status_field(&s, "CapEff"), "0000000000000000");
    assert_eq!(status_field(&s, "CapBnd"), "0000000020200420");
    let s = status(&["--no-new-privs"]);
    assert_eq!(status_field(&s, "NoNewPrivs"), "1");
    exec(&c, &["--cap", "CAP_NOPE"], &["true"])
        .fails()
        .stderr_has("CAP_NOPE");
}

#[test]
fn rlimits_and_seccomp() {
    // Both places the filter can be loaded: before the user switch (no no_new_privs) and
    // right before execve (with it).
    for nnp in [true, false] {
        let mut c = Container::new("execsec");
        c.args(&["sleep", "600"]);
        c.config["process"]["noNewPrivileges"] = json!(nnp);
        c.config["process"]["rlimits"] = json!([
            {"type": "RLIMIT_NOFILE", "soft": 1111, "hard": 2222},
            {"type": "RLIMIT_MSGQUEUE", "soft": 12345, "hard": 23456},
        ]);
        c.config["linux"]["seccomp"] = json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_X86_64"],
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO",
                          "errnoRet": 1}],
        });
        start(&c);
        let r = exec(&c, &[], &["checker", "rlimits"]);
        let lines: Vec<&str> = r.ok().stdout.lines().collect();
        assert!(lines.contains(&"RLIMIT_NOFILE 1111 2222"), "{lines:?}");
        assert!(lines.contains(&"RLIMIT_MSGQUEUE 12345 23456"), "{lines:?}");

        // The rootfs is read-only; /dev is a tmpfs.
        exec(&c, &[], &["touch", "/dev/file"]).ok();
        exec(&c, &[], &["mkdir", "/dev/dir"])
            .fails()
            .stderr_has("Operation not permitted");
        // mkdir(NULL) is EFAULT unfiltered, EPERM (1) under the filter; as a user too.
        for flags in [&[][..], &["-u", "1000:1000"][..]] {
            let o = exec(&c, flags, &["checker", "syscall", "83", "0", "0"]);
            assert_eq!(o.ok().out(), "errno=1", "nnp={nnp} {flags:?}");
        }
        let s = exec(&c, &[], &["cat", "/proc/self/status"]);
        assert_eq!(status_field(&s.ok().stdout, "Seccomp"), "2");
    }
    // Control: without a profile the same call reaches the kernel.
    let c = sleeper("execnosec");
    let o = exec(&c, &[], &["checker", "syscall", "83", "0", "0"]);
    assert_eq!(o.ok().out(), "errno=14");
}

#[test]
fn exit_status_propagates() {
    let c = sleeper("execexit");
    assert_eq!(exec(&c, &[], &["sh", "-c", "exit 3"]).code, 3);
    assert_eq!(exec(&c, &[], &["true"]).code, 0);
    assert_eq!(exec(&c, &[], &["sh", "-c", "kill -9 $$"]).code, 137);
    assert_eq!(exec(&c, &[], &["sh", "-c", "kill -TERM $$"]).code, 143);
    let o = exec(&c, &[], &["sh", "-c", "echo out; echo err >&2"]);
    assert_eq!(o.ok().out(), "out");
    assert_eq!(o.stderr.trim(), "err");
}

#[test]
fn stdin_passes_through() {
    let c = sleeper("execstdin");
    let mut cmd = c.hull_cmd();
    cmd.args(["exec", &c.id, "sh", "-c", "read x; echo got $x"]);
    let o = run_cmd(cmd, Some(b"hello\n"));
    assert_eq!(o.ok().out(), "got hello");
}

#[test]
fn detach_with_pid_file() {
    let c = sleeper("execdetach");
    let init = c.pid();
    let pf = c.scratch("pid").join("exec.pid");
    let pfs = pf.display().to_string();
    let o = exec(&c, &["-d", "--pid-file", &pfs], &["sleep", "600"]);
    o.ok();
    assert_eq!(o.stdout, "", "detached exec prints nothing");
    let pid: i32 = std::fs::read_to_string(&pf)
        .expect("pid file")
        .parse()
        .expect("pid file holds a pid");
    assert!(process_alive(pid), "detached process {pid} is not running");
    assert_ne!(pid, init);
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).expect("cmdline");
    assert_eq!(cmdline, b"sleep\x00600\x00");
    assert_eq!(host_ns(pid), host_ns(init));
    // The container now has two processes; the foreground pid file names the process too.
    assert_eq!(pids_in_container(init), {
        let mut v = vec![init, pid];
        v.sort_unstable();
        v
    });
    let pf2 = c.scratch("pid").join("fg.pid");
    let o = exec(
        &c,
        &["--pid-file", &pf2.display().to_string()],
        &["sh", "-c", "echo $$"],
    );
    o.ok();
    let fg: i32 = std::fs::read_to_string(&pf2)
        .expect("pid file")
        .parse()
        .expect("pid");
    assert!(fg > 0 && fg != pid);
}

#[test]
fn stopped_created_and_missing_containers() {
    let mut c = Container::new("execstopped");
    c.args(&["true"]);
    c.create().ok();
    c.start().ok();
    c.wait_status("stopped");
    exec(&c, &[], &["true"]).fails().stderr_has("stopped");
    let o = c.hull(&["exec", "hull-no-such-container", "true"]);
    o.fails().stderr_has("does not exist");

    // A created container can be exec'd into (runc allows it), and stays created.
    let mut c = Container::new("execcreated");
    c.args(&["sleep", "600"]);
    c.create().ok();
    assert_eq!(exec(&c, &[], &["hostname"]).ok().out(), "hull");
    assert_eq!(c.status(), "created");
}

#[test]
fn paused_container() {
    if spec_tests::needs_root(NO_CGROUP) {
        return;
    }
    let c = sleeper("execpaused");
    c.hull(&["pause", &c.id]).ok();
    assert_eq!(c.status(), "paused");
    exec(&c, &[], &["true"]).fails().stderr_has("paused");
    // --ignore-paused starts it; it runs once the container is resumed.
    let mut cmd = c.hull_cmd();
    let out = c.scratch("ignore").join("out");
    cmd.args(["exec", "--ignore-paused", &c.id, "sh", "-c", "echo resumed"])
        .stdout(std::fs::File::create(&out).expect("out file"))
        .stderr(std::process::Stdio::inherit());
    let mut child = cmd.spawn().expect("spawn exec");
    std::thread::sleep(std::time::Duration::from_millis(300));
    c.hull(&["resume", &c.id]).ok();
    assert_eq!(wait_child(&mut child), 0);
    assert_eq!(
        std::fs::read_to_string(&out).expect("out").trim(),
        "resumed"
    );
}

#[test]
fn process_json() {
    let mut c = Container::new("execprocess");
    c.args(&["sleep", "600"]);
    c.config["process"]["noNewPrivileges"] = json!(false);
    start(&c);
    // What containerd's shim writes for `ctr task exec` / `docker exec`.
    let p = json!({
        "terminal": false,
        "user": {"uid": 1000, "gid": 1000, "additionalGids": [2000]},
        "args": ["sh", "-c", "checker ids; pwd; env; cat /proc/self/status"],
        "env": ["PATH=/bin", "FOO=from-json"],
        "cwd": "/tmp",
        "capabilities": {
            "bounding": ["CAP_KILL", "CAP_CHOWN"],
            "effective": ["CAP_KILL"],
            "permitted": ["CAP_KILL"],
            "inheritable": ["CAP_KILL"],
            "ambient": ["CAP_KILL"],
        },
        "noNewPrivileges": true,
    });
    let f = c.scratch("proc").join("process.json");
    std::fs::write(&f, p.to_string()).expect("write process.json");
    let fs = f.display().to_string();
    let o = exec(&c, &["--process", &fs], &[]);
    let out = o.ok().stdout.clone();
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("uid=1000/1000/1000 gid=1000/1000/1000 groups=2000 "),
        "{out}"
    );
    assert_eq!(lines[1], "/tmp");
    assert!(lines.contains(&"FOO=from-json"), "{out}");
    // The process replaces the container's: its env is exactly the JSON's (plus HOME).
    assert!(!lines.iter().any(|l| l.starts_with("TERM=")), "{out}");
    assert_eq!(status_field(&out, "CapEff"), "0000000000000020");
    assert_eq!(status_field(&out, "CapAmb"), "0000000000000020");
    assert_eq!(status_field(&out, "CapBnd"), "0000000000000021");
    assert_eq!(status_field(&out, "NoNewPrivs"), "1");

    // -p is the short form; the exit status propagates.
    std::fs::write(
        &f,
        json!({"args": ["sh", "-c", "exit 5"], "cwd": "/", "user": {"uid": 0, "gid": 0}})
            .to_string(),
    )
    .expect("write");
    assert_eq!(exec(&c, &["-p", &fs], &[]).code, 5);
    std::fs::write(&f, "{\"args\": [\"true\"], \"cwd\": 7}").expect("write");
    exec(&c, &["-p", &fs], &[])
        .fails()
        .stderr_has("process.json");
    std::fs::write(
        &f,
        json!({"args": ["pwd"], "cwd": "tmp", "user": {"uid": 0, "gid": 0}}).to_string(),
    )
    .expect("write");
    exec(&c, &["-p", &fs], &[])
        .fails()
        .stderr_has("process.cwd");
    exec(&c, &["-p", "/no/such/process.json"], &[])
        .fails()
        .stderr_has("/no/such/process.json");
}

#[test]
fn missing_command_leaves_nothing() {
    let c = sleeper("execmissing");
    let init = c.pid();
    let o = exec(&c, &[], &["no-such-cmd"]);
    o.fails()
        .stderr_has("exec: \"no-such-cmd\": executable file not found in $PATH");
    let o = exec(&c, &[], &["/bin/no-such"]);
    o.fails().stderr_has("/bin/no-such");
    exec(&c, &[], &[]).fails();
    // A pid file that cannot be written fails the exec and kills what it started.
    for d in [&[][..], &["-d"][..]] {
        let mut flags = d.to_vec();
        flags.extend(["--pid-file", "/no/such/dir/hull.pid"]);
        exec(&c, &flags, &["sleep", "600"])
            .fails()
            .stderr_has("/no/such/dir/hull.pid");
    }
    assert_eq!(pids_in_container(init), vec![init], "a process was left");
    assert_eq!(c.status(), "running");
}

/// Runs `hull exec` from a host shell that first opens fd 3 (marker), 4 and 7, none
/// close-on-exec; returns the exec'd checker's fd list without its own /proc/<pid>/fd.
fn fds_with_host_fds(c: &Container, preserve: Option<&str>) -> Vec<String> {
    let marker = c.scratch("fds").join("marker");
    std::fs::write(&marker, "x").expect("marker");
    let hull = spec_tests::hull_bin().display().to_string();
    let root = c.root.display().to_string();
    let pre = preserve
        .map(|n| format!("--preserve-fds {n}"))
        .unwrap_or_default();
    let script = format!(
        "exec 3<'{}' 4</ 7</; exec '{hull}' --root '{root}' exec {pre} '{}' checker fds",
        marker.display(),
        c.id
    );
    let mut cmd = Command::new("sh");
    cmd.args(["-c", &script]);
    let o = run_cmd(cmd, None);
    o.ok()
        .stdout
        .lines()
        .filter(|l| !(l.contains("/proc/") && l.ends_with("/fd")))
        .map(str::to_string)
        .collect()
}

#[test]
fn preserve_fds_and_no_fd_leaks() {
    let c = sleeper("execfds");
    let fds = fds_with_host_fds(&c, None);
    let nums: Vec<&str> = fds.iter().filter_map(|l| l.split(' ').next()).collect();
    assert_eq!(nums, ["0", "1", "2"], "host fds leaked: {fds:?}");
    assert_eq!(fds[0], "0 /dev/null");

    let fds = fds_with_host_fds(&c, Some("1"));
    let nums: Vec<&str> = fds.iter().filter_map(|l| l.split(' ').next()).collect();
    assert_eq!(nums, ["0", "1", "2", "3"], "{fds:?}");
    assert!(fds[3].ends_with("/marker"), "{fds:?}");

    let fds = fds_with_host_fds(&c, Some("2"));
    let nums: Vec<&str> = fds.iter().filter_map(|l| l.split(' ').next()).collect();
    assert_eq!(nums, ["0", "1", "2", "3", "4"], "{fds:?}");

    // A gap in the range (fd 5 is not open) would be filled by one of hull's own fds (its
    // /proc, the init's pidfd; with --log, the log file is fd 5): an error, nothing runs.
    let hull = spec_tests::hull_bin().display().to_string();
    let root = c.root.display().to_string();
    let log = c.scratch("fds").join("log").display().to_string();
    for (flags, n) in [("", "3"), (&*format!("--log '{log}'"), "3")] {
        let script = format!(
            "exec 3</ 4</; exec '{hull}' --root '{root}' {flags} exec --preserve-fds {n} '{}' \
             sh -c 'ls -l /proc/self/fd; echo ran'",
            c.id
        );
        let mut cmd = Command::new("sh");
        cmd.args(["-c", &script]);
        let o = run_cmd(cmd, None);
        o.fails()
            .stderr_has(&format!("--preserve-fds {n}: fd 5 is not open"));
        assert!(!o.stdout.contains("ran"), "{o:?}");
    }
}

#[test]
fn foreground_exec_forwards_signals() {
    let c = sleeper("execsig");
    let mut cmd = c.hull_cmd();
    let out = c.scratch("sig").join("out");
    cmd.args([
        "exec",
        &c.id,
        "sh",
        "-c",
        "trap 'echo term; exit 9' TERM; echo ready; while :; do sleep 0.05; done",
    ])
    .stdout(std::fs::File::create(&out).expect("out file"));
    let mut child = cmd.spawn().expect("spawn exec");
    let t = std::time::Instant::now();
    while !std::fs::read_to_string(&out)
        .unwrap_or_default()
        .contains("ready")
    {
        assert!(
            t.elapsed() < spec_tests::COMMAND_TIMEOUT,
            "exec'd shell never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let r = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(r.success());
    assert_eq!(
        wait_child(&mut child),
        9,
        "SIGTERM reached the exec'd process"
    );
    assert_eq!(std::fs::read_to_string(&out).expect("out"), "ready\nterm\n");
}

/// Runs `cmd` with stdout and stderr on pipes; returns (code, stdout).
fn run_piped(mut cmd: Command) -> (i32, String) {
    cmd.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    let err = child.stderr.take().expect("stderr");
    let t = std::thread::spawn(move || spec_tests::read_all(err));
    let out = spec_tests::read_all(child.stdout.take().expect("stdout"));
    let code = wait_child(&mut child);
    let err = t.join().unwrap_or_default();
    (code, format!("{out}{err}"))
}

#[test]
fn stdio_pipes_belong_to_the_user() {
    // A non-root program reopens its stdout by path (nginx's access.log -> /dev/stdout):
    // the pipe must be its user's, as runc makes it.
    let script = "echo via-path >/dev/stdout && echo err-path >/proc/self/fd/2";
    let c = sleeper("execstdio");
    let mut cmd = c.hull_cmd();
    cmd.args(["exec", "-u", "1000:1000", &c.id, "sh", "-c", script]);
    let (code, out) = run_piped(cmd);
    assert_eq!((code, out.as_str()), (0, "via-path\nerr-path\n"));

    let mut r = Container::new("runstdio");
    r.sh(script);
    r.config["process"]["user"] = json!({"uid": 1000, "gid": 1000});
    r.write_config();
    let mut cmd = r.hull_cmd();
    cmd.arg("run").arg("--bundle").arg(&r.bundle).arg(&r.id);
    let (code, out) = run_piped(cmd);
    assert_eq!((code, out.as_str()), (0, "via-path\nerr-path\n"));

    // A host file given as stdout keeps its owner, the caller (runc would chown it to uid
    // 1000).
    let f = c.scratch("stdio").join("out");
    let file = std::fs::File::create(&f).expect("out file");
    let mut cmd = c.hull_cmd();
    cmd.args(["exec", "-u", "1000", &c.id, "echo", "to-file"])
        .stdout(file);
    let mut child = cmd.spawn().expect("spawn");
    assert_eq!(wait_child(&mut child), 0);
    use std::os::unix::fs::MetadataExt;
    assert_eq!(
        std::fs::metadata(&f).expect("stat").uid(),
        spec_tests::euid()
    );
    assert_eq!(std::fs::read_to_string(&f).expect("read"), "to-file\n");
}

#[test]
fn inherited_ignored_sigchld() {
    // A caller that ignores SIGCHLD passes that on; hull must still see its children exit.
    let ignore = |cmd: &mut Command| {
        use std::os::unix::process::CommandExt;
        // SAFETY: only signal(2), async-signal-safe, between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                libc::signal(libc::SIGCHLD, libc::SIG_IGN);
                Ok(())
            });
        }
    };
    let c = sleeper("execsigchld");
    let mut cmd = c.hull_cmd();
    cmd.args(["exec", &c.id, "sh", "-c", "exit 3"]);
    ignore(&mut cmd);
    assert_eq!(wait_child(&mut cmd.spawn().expect("spawn")), 3);

    let mut r = Container::new("runsigchld");
    r.sh("exit 4");
    r.write_config();
    let mut cmd = r.hull_cmd();
    cmd.arg("run").arg("--bundle").arg(&r.bundle).arg(&r.id);
    ignore(&mut cmd);
    assert_eq!(wait_child(&mut cmd.spawn().expect("spawn")), 4);
}

#[test]
fn oom_score_adj() {
    for &userns in spec_tests::userns_variants() {
        let mut c = Container::new("execoom");
        c.args(&["sleep", "600"]);
        if userns {
            spec_tests::add_userns(&mut c.config);
        }
        // Written by hull from the host: an init in a user namespace cannot open its own.
        c.config["process"]["oomScoreAdj"] = json!(300);
        start(&c);
        let init = std::fs::read_to_string(format!("/proc/{}/oom_score_adj", c.pid()));
        assert_eq!(init.expect("init's score").trim(), "300");
        let o = exec(&c, &[], &["cat", "/proc/self/oom_score_adj"]);
        assert_eq!(o.ok().out(), "300", "the container's process.oomScoreAdj");
        // --process sets its own, in a user namespace too. (Only raised here: lowering needs
        // CAP_SYS_RESOURCE, which this host does not grant.)
        let f = c.scratch("proc").join("process.json");
        let p = json!({"args": ["cat", "/proc/self/oom_score_adj"], "cwd": "/",
                       "user": {"uid": 0, "gid": 0}, "oomScoreAdj": 500});
        std::fs::write(&f, p.to_string()).expect("process.json");
        let o = exec(&c, &["--process", &f.display().to_string()], &[]);
        assert_eq!(o.ok().out(), "500", "userns={userns}");
    }
}

/// The serial of the calling process's session keyring (keyctl KEYCTL_GET_KEYRING_ID).
fn own_session_keyring() -> i64 {
    // SAFETY: keyctl with integer arguments only, each a full c_long (the create flag must
    // not pick up a register's stale upper half).
    unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            0 as libc::c_long,
            -3 as libc::c_long,
            0 as libc::c_long,
        )
    }
}

#[test]
fn session_keyring_is_the_containers() {
    let c = sleeper("execkeys");
    let o = exec(&c, &[], &["checker", "syscall", "250", "0", "-3", "0"]);
    let got: i64 = o
        .ok()
        .out()
        .strip_prefix("ret=")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{o:?}"));
    let mine = own_session_keyring();
    assert!(mine > 0);
    assert_ne!(
        got, mine,
        "the exec'd process shares the caller's session keyring"
    );
    // It is the keyring the init joined, `_ses.<id>` (as runc: the init makes it searchable
    // by its owner so that exec finds it).
    let keys = std::fs::read_to_string("/proc/keys").expect("/proc/keys");
    let name = format!(" _ses.{}: ", c.id);
    let line = keys
        .lines()
        .find(|l| l.contains(&name))
        .unwrap_or_else(|| panic!("no {name} keyring in /proc/keys"));
    let serial = line.split(' ').next().expect("serial");
    let all: Vec<&str> = keys.lines().filter(|l| l.contains(&name)).collect();
    assert_eq!(
        all.len(),
        1,
        "one keyring per container, shared with exec: {all:?}"
    );
    assert_eq!(i64::from_str_radix(serial, 16).expect("hex serial"), got);

    // With --no-new-keyring neither the init nor the exec'd process gets one of its own.
    let mut c = Container::new("execnokeys");
    c.args(&["sleep", "600"]);
    c.create_with(&["--no-new-keyring"]).ok();
    c.start().ok();
    c.wait_status("running");
    let o = exec(&c, &[], &["checker", "syscall", "250", "0", "-3", "0"]);
    assert_eq!(o.ok().out(), format!("ret={mine}"));
}
