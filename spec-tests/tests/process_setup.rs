//! config.md "Process", the setup around it: which host fds a container process (and a hook
//! the init runs) holds, sessions, CPU affinity, HOME, the effective-id permission check,
//! capabilities the host cannot give, `exec --process` without `user`, personality and
//! scheduler flags for exec. Expected values were checked against runc's documented
//! behaviour.

use std::os::unix::process::CommandExt;
use std::process::Command;

use serde_json::json;
use spec_tests::{run_cmd_to, Container, Out};

/// `hull exec FLAGS... ID ARGS...`.
fn exec(c: &Container, flags: &[&str], args: &[&str]) -> Out {
    let mut a = vec!["exec"];
    a.extend_from_slice(flags);
    a.push(&c.id);
    a.extend_from_slice(args);
    c.hull(&a)
}

fn sleeper(c: &mut Container) {
    c.args(&["sleep", "600"]);
    c.create().ok();
    c.start().ok();
    c.wait_status("running");
}

/// The `Name:\tvalue` line of a /proc/PID/status text.
fn status_field(out: &str, name: &str) -> String {
    out.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .unwrap_or_else(|| panic!("no {name} in {out}"))
        .trim()
        .to_string()
}

#[test]
fn created_init_and_hooks_hold_no_host_fds() {
    let mut c = Container::new("fdsweep");
    let dir = c.scratch("files");
    let (passed, host) = (dir.join("passed-fd"), dir.join("host-fd"));
    std::fs::write(&passed, "").expect("file");
    std::fs::write(&host, "").expect("file");
    c.config["hooks"] = json!({"startContainer": [
        {"path": "/bin/sh", "args": ["sh", "-c", "checker fds > /hookfds"]}]});
    c.args(&["checker", "fds"]);
    c.config["root"]["readonly"] = false.into();
    c.write_config();
    let mut cmd = c.hull_cmd();
    let b = c.bundle.display().to_string();
    cmd.args(["create", "--preserve-fds", "1", "--bundle", &b, &c.id]);
    let (p, h) = (
        std::fs::File::open(&passed).expect("open"),
        std::fs::File::open(&host).expect("open"),
    );
    let (pfd, hfd) = (
        std::os::fd::AsRawFd::as_raw_fd(&p),
        std::os::fd::AsRawFd::as_raw_fd(&h),
    );
    // SAFETY: fcntl/dup2 on fds this test owns (async-signal-safe). The sources go above
    // the targets first (one may sit on fd 3 already); dup2 clears CLOEXEC on the target.
    unsafe {
        cmd.pre_exec(move || {
            let (p, h) = (
                libc::fcntl(pfd, libc::F_DUPFD_CLOEXEC, 100),
                libc::fcntl(hfd, libc::F_DUPFD_CLOEXEC, 100),
            );
            if p < 0 || h < 0 || libc::dup2(p, 3) < 0 || libc::dup2(h, 7) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        })
    };
    let out = c.scratch("out");
    run_cmd_to(cmd, None, &out.join("stdout"), &out.join("stderr")).ok();
    // The created init: none of the caller's other fds, no host cgroup file.
    let pid = c.pid();
    let held: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("init fds")
        .flatten()
        .filter_map(|e| std::fs::read_link(e.path()).ok())
        .map(|t| t.display().to_string())
        .collect();
    assert!(
        !held.iter().any(|t| t == &host.display().to_string()),
        "created init holds the caller's fd 7: {held:?}"
    );
    assert!(
        !held.iter().any(|t| t.starts_with("/sys/fs/cgroup")),
        "created init holds host cgroup files: {held:?}"
    );
    c.start().ok();
    c.wait_status("stopped");
    let hook = std::fs::read_to_string(c.rootfs().join("hookfds")).expect("hook ran");
    for f in [&passed, &host] {
        assert!(
            !hook.contains(&f.display().to_string()),
            "hook has {f:?}: {hook}"
        );
    }
    let prog = std::fs::read_to_string(out.join("stdout")).expect("stdout");
    assert!(prog.contains(&format!("3 {}", passed.display())), "{prog}");
    assert!(!prog.contains(&host.display().to_string()), "{prog}");
}

#[test]
fn init_and_exec_lead_their_own_session() {
    let mut c = Container::new("setsid");
    // getsid(0) (124): the session is the process's own.
    c.args(&["checker", "syscall", "124", "0"]);
    assert_eq!(c.run().ok().out(), "ret=1", "init's session");
    let mut c = Container::new("setsidexec");
    sleeper(&mut c);
    let o = exec(
        &c,
        &[],
        &["sh", "-c", "echo $$; exec checker syscall 124 0"],
    );
    let lines: Vec<&str> = o.ok().out().lines().collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(
        format!("ret={}", lines[0]),
        lines[1],
        "exec'd process's session"
    );
}

#[test]
fn affinity_is_the_containers_not_the_callers() {
    let cpus = std::fs::read_to_string("/proc/self/status").expect("status");
    let all = status_field(&cpus, "Cpus_allowed_list");
    if all == "0" {
        eprintln!("one CPU: nothing to test");
        return;
    }
    let mut c = Container::new("affinity");
    c.args(&["cat", "/proc/self/status"]);
    c.write_config();
    let b = c.bundle.display().to_string();
    let hull = spec_tests::hull_bin().display().to_string();
    let root = c.root.display().to_string();
    let mut cmd = Command::new("taskset");
    cmd.args([
        "-c", "0", &hull, "--root", &root, "run", "--bundle", &b, &c.id,
    ]);
    let o = spec_tests::run_cmd(cmd, None);
    assert_eq!(status_field(o.ok().out(), "Cpus_allowed_list"), all);

    // exec: reset as well, and execCPUAffinity.final where given.
    let mut c = Container::new("affinityexec");
    sleeper(&mut c);
    let mut cmd = Command::new("taskset");
    cmd.args(["-c", "0", &hull, "--root", &c.root.display().to_string()]);
    cmd.args(["exec", &c.id, "cat", "/proc/self/status"]);
    let o = spec_tests::run_cmd(cmd, None);
    assert_eq!(status_field(o.ok().out(), "Cpus_allowed_list"), all);
    let proc_json = c.scratch("p").join("process.json");
    std::fs::write(
        &proc_json,
        json!({"args": ["cat", "/proc/self/status"], "cwd": "/",
               "execCPUAffinity": {"initial": "0", "final": "1"}})
        .to_string(),
    )
    .expect("process.json");
    let pj = proc_json.display().to_string();
    let o = exec(&c, &["--process", &pj], &[]);
    assert_eq!(status_field(o.ok().out(), "Cpus_allowed_list"), "1");
}

#[test]
fn exec_process_json_without_user_is_root() {
    let mut c = Container::new("nouser");
    sleeper(&mut c);
    let pj = c.scratch("p").join("process.json");
    std::fs::write(
        &pj,
        json!({"args": ["checker", "ids"], "cwd": "/"}).to_string(),
    )
    .expect("process.json");
    let o = exec(&c, &["--process", &pj.display().to_string()], &[]);
    assert!(
        o.ok().out().starts_with("uid=0/0/0 gid=0/0/0"),
        "{}",
        o.out()
    );
}

#[test]
fn empty_home_comes_from_passwd() {
    let mut c = Container::new("home");
    c.config["process"]["user"] = json!({"uid": 1000, "gid": 1000});
    c.config["process"]["env"] = json!(["PATH=/bin", "HOME="]);
    c.sh("echo \"home=$HOME\"");
    assert_eq!(c.run().ok().out(), "home=/home/user");
}

#[test]
fn exec_permission_uses_effective_capabilities() {
    let mut c = Container::new("eaccess");
    c.put("/rootonly", "#!/bin/sh\necho ran\n");
    let p = c.rootfs().join("rootonly");
    std::os::unix::fs::chown(&p, Some(0), Some(0)).expect("chown");
    std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o744))
        .expect("chmod");
    c.config["process"]["user"] = json!({"uid": 1000, "gid": 1000});
    let caps = json!(["CAP_DAC_OVERRIDE"]);
    c.config["process"]["capabilities"] =
        json!({"bounding": caps, "effective": caps, "permitted": caps});
    c.args(&["/rootonly"]);
    assert_eq!(c.run().ok().out(), "ran");
}

#[test]
fn unknown_and_lone_ambient_capabilities_only_warn() {
    let mut c = Container::new("capwarn");
    c.config["process"]["capabilities"] = json!({
        "bounding": ["CAP_KILL", "CAP_NO_SUCH_CAP"],
        "effective": ["CAP_KILL"],
        "permitted": ["CAP_KILL"],
        "ambient": ["CAP_KILL"],
    });
    c.args(&["cat", "/proc/self/status"]);
    let o = c.run();
    let out = o.ok().out().to_string();
    assert_eq!(status_field(&out, "CapAmb"), "0000000000000000");
    assert_eq!(status_field(&out, "CapEff"), "0000000000000020");
    assert!(o.stderr.contains("CAP_NO_SUCH_CAP"), "{}", o.stderr);
    assert!(o.stderr.contains("ambient"), "{}", o.stderr);
}

#[test]
fn exec_cap_adds_to_ambient_when_inheritable() {
    let mut c = Container::new("execcapamb");
    c.config["process"]["capabilities"] =
        json!({"bounding": ["CAP_NET_RAW"], "inheritable": ["CAP_NET_RAW"]});
    sleeper(&mut c);
    let o = exec(
        &c,
        &["--cap", "CAP_NET_RAW", "-u", "1000"],
        &["cat", "/proc/self/status"],
    );
    // CAP_NET_RAW is 13: in ambient, so effective after the non-root execve.
    assert_eq!(status_field(o.ok().out(), "CapAmb"), "0000000000002000");
    assert_eq!(status_field(o.out(), "CapEff"), "0000000000002000");
}

#[test]
fn exec_gets_personality_and_spec_scheduler_flags() {
    let mut c = Container::new("execpers");
    c.config["linux"]["personality"] = json!({"domain": "LINUX32"});
    c.config["process"]["scheduler"] =
        json!({"policy": "SCHED_OTHER", "flags": ["SCHED_FLAG_RESET_ON_FORK"]});
    sleeper(&mut c);
    assert_eq!(exec(&c, &[], &["uname", "-m"]).ok().out(), "i686");
}

#[test]
fn time_offsets_with_a_user_namespace() {
    let mut c = Container::new("timeuserns");
    let mut ns = c.config["linux"]["namespaces"]
        .as_array()
        .expect("ns")
        .clone();
    ns.push(json!({"type": "time"}));
    ns.push(json!({"type": "user"}));
    c.config["linux"]["namespaces"] = json!(ns);
    c.config["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    c.config["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 200000, "size": 65536}]);
    c.config["linux"]["timeOffsets"] = json!({"monotonic": {"secs": 86400}});
    c.args(&["cat", "/proc/self/timens_offsets"]);
    let o = c.run();
    assert!(o.ok().out().contains("monotonic"), "{}", o.out());
    let l = o
        .out()
        .lines()
        .find(|l| l.starts_with("monotonic"))
        .unwrap_or("");
    assert_eq!(l.split_whitespace().nth(1), Some("86400"), "{l}");
}
