//! config.md "Process" (and config-linux.md "Personality"): args, env, cwd, user, umask,
//! capabilities, rlimits, noNewPrivileges, oomScoreAdj, stdio passthrough, `--preserve-fds`
//! and `LISTEN_FDS`, and that no other host fd reaches the container. Expected values were
//! checked against runc on the same bundles.

use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

use serde_json::json;
use spec_tests::{run_cmd_to, Container, Out};

/// Puts an executable sh script into the rootfs.
fn put_script(c: &Container, path: &str, body: &str) {
    c.put(path, &format!("#!/bin/sh\n{body}\n"));
    let p = c.rootfs().join(path.trim_start_matches('/'));
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// `hull create` with the given extra flags, stdio to files in `dir` (stdin from `dir/stdin`
/// when it exists), and `setup` run in the child before exec (to place extra fds).
fn create_cmd(
    c: &Container,
    dir: &Path,
    extra: &[&str],
    wrap: Option<&str>,
    setup: Option<Box<dyn FnMut() -> std::io::Result<()> + Send + Sync>>,
) -> Out {
    c.write_config();
    let hull = spec_tests::hull_bin();
    let mut args: Vec<String> = vec![
        "--root".into(),
        c.root.display().to_string(),
        "create".into(),
        "--bundle".into(),
        c.bundle.display().to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    args.push(c.id.clone());
    let mut cmd = match wrap {
        // A shell prefix, e.g. to set LISTEN_PID to the pid hull will have (`exec` keeps it).
        Some(prefix) => {
            let mut s = Command::new("/bin/sh");
            let quoted: Vec<String> = args.iter().map(|a| format!("'{a}'")).collect();
            s.arg("-c").arg(format!(
                "{prefix} exec '{}' {}",
                hull.display(),
                quoted.join(" ")
            ));
            s
        }
        None => {
            let mut h = Command::new(&hull);
            h.args(&args);
            h
        }
    };
    if let Some(f) = setup {
        // SAFETY: the closure only calls dup2/fcntl (async-signal-safe) on fds it owns.
        unsafe { cmd.pre_exec(f) };
    }
    let stdin = dir.join("stdin");
    let input = std::fs::read(&stdin).ok();
    run_cmd_to(
        cmd,
        input.as_deref(),
        &dir.join("stdout"),
        &dir.join("stderr"),
    )
}

/// A `pre_exec` closure that puts each `(src, dst)` fd at `dst` without CLOEXEC. Sources are
/// first moved above every target, so that a source already sitting on another pair's target
/// (or on its own, where dup2 would leave CLOEXEC set) cannot be clobbered.
fn place_fds(pairs: Vec<(i32, i32)>) -> Box<dyn FnMut() -> std::io::Result<()> + Send + Sync> {
    Box::new(move || {
        let err = std::io::Error::last_os_error;
        let mut high = Vec::new();
        for (src, _) in &pairs {
            // SAFETY: fcntl/dup2/close on fds this test owns; all async-signal-safe.
            let h = unsafe { libc::fcntl(*src, libc::F_DUPFD_CLOEXEC, 100) };
            if h < 0 {
                return Err(err());
            }
            high.push(h);
        }
        for (h, (_, dst)) in high.iter().zip(&pairs) {
            // SAFETY: as above; dup2 clears CLOEXEC on the target.
            let r = unsafe {
                let r = libc::dup2(*h, *dst);
                libc::close(*h);
                r
            };
            if r < 0 {
                return Err(err());
            }
        }
        Ok(())
    })
}

/// Starts a created container and waits for it to stop.
fn start_and_wait(c: &Container) {
    c.start().ok();
    c.wait_status("stopped");
}

/// The `checker fds` lines, without the checker's own /proc/self/fd directory fd.
fn fds_of(out: &str) -> Vec<String> {
    out.lines()
        .filter(|l| {
            l.split_once(' ')
                .is_some_and(|(n, _)| n.parse::<i32>().is_ok())
        })
        .filter(|l| !l.ends_with("/fd") || !l.contains(" /proc/"))
        .map(str::to_string)
        .collect()
}

/// `Cap*` and `NoNewPrivs` lines of the container process's own /proc/self/status.
fn status_lines(c: &mut Container) -> Vec<String> {
    c.args(&["grep", "-E", "^(Cap|NoNewPrivs)", "/proc/self/status"]);
    let o = c.run();
    o.ok();
    o.stdout
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

#[test]
fn args_exact_and_program_found_through_process_env_path() {
    let mut c = Container::new("args");
    put_script(
        &c,
        "/opt/bin/showargs",
        r#"echo "0=$0"; for a; do echo "[$a]"; done"#,
    );
    c.config["process"]["env"] = json!(["PATH=/opt/bin:/bin"]);
    c.args(&["showargs", "a b", "", "--x", "*"]);
    let o = c.run();
    o.ok();
    assert_eq!(o.out(), "0=/opt/bin/showargs\n[a b]\n[]\n[--x]\n[*]");

    // An absolute path needs no PATH at all.
    c.config["process"]["env"] = json!([]);
    c.args(&["/opt/bin/showargs", "y"]);
    assert_eq!(c.run().ok().out(), "0=/opt/bin/showargs\n[y]");

    // The lookup uses process.env's PATH, not hull's: `true` lives in /bin only.
    c.config["process"]["env"] = json!(["PATH=/opt/bin"]);
    c.args(&["true"]);
    let o = c.create();
    o.fails().stderr_has("executable file not found in $PATH");
    assert!(!c.root.join(&c.id).exists());

    // argv[0] is passed as given: busybox picks its applet by it.
    c.config["process"]["env"] = json!(["PATH=/bin"]);
    c.args(&["/bin/busybox", "echo", "via", "argv"]);
    assert_eq!(c.run().ok().out(), "via argv");
}

#[test]
fn env_exactly_as_given_plus_home() {
    let mut c = Container::new("env");
    // `env` itself (no shell, which would add PWD and SHLVL) prints the environment it got.
    c.args(&["env"]);
    c.config["process"]["env"] = json!(["PATH=/bin", "A=1", "SPACED=x y", "EMPTY="]);
    assert_eq!(
        c.run().ok().out(),
        "PATH=/bin\nA=1\nSPACED=x y\nEMPTY=\nHOME=/root",
        "runc adds HOME (from /etc/passwd) only when it is missing"
    );
    // A name given twice: first place, last value (runc).
    c.config["process"]["env"] = json!(["PATH=/bin", "A=1", "B=2", "A=3"]);
    assert_eq!(c.run().ok().out(), "PATH=/bin\nA=3\nB=2\nHOME=/root");
    c.config["process"]["env"] = json!(["PATH=/bin", "HOME=/elsewhere"]);
    assert_eq!(c.run().ok().out(), "PATH=/bin\nHOME=/elsewhere");
    c.config["process"]["env"] = json!(["PATH=/bin"]);
    c.config["process"]["user"] = json!({"uid": 1000, "gid": 1000});
    assert_eq!(c.run().ok().out(), "PATH=/bin\nHOME=/home/user");
    // A uid without a passwd entry gets HOME=/.
    c.config["process"]["user"] = json!({"uid": 4321, "gid": 4321});
    assert_eq!(c.run().ok().out(), "PATH=/bin\nHOME=/");
}

#[test]
fn hundred_thousand_env_entries_start_within_the_command_timeout() {
    // The init's work per entry must not grow with their number: with a scan per entry,
    // 100,000 entries took minutes (runc: a few seconds). `run` panics past the harness's
    // 60 s command timeout, which is the bound here.
    let mut c = Container::new("bigenv");
    let mut env: Vec<String> = vec!["PATH=/bin".into()];
    env.extend((0..100_000).map(|i| format!("E{i}={i}")));
    env.push("E7=last".into());
    c.config["process"]["env"] = json!(env);
    c.sh("echo $E7 $E99999");
    assert_eq!(c.run().ok().out(), "last 99999");
}

#[test]
fn cwd_existing_nested_missing_and_unreadable_by_the_user() {
    let mut c = Container::new("cwd");
    c.args(&["pwd"]);
    c.config["process"]["cwd"] = "/tmp".into();
    assert_eq!(c.run().ok().out(), "/tmp");

    // A missing cwd is created (runc does), root-owned 0755, parents included.
    c.config["process"]["cwd"] = "/work/a/b".into();
    c.config["process"]["user"] = json!({"uid": 1000, "gid": 1000});
    assert_eq!(c.run().ok().out(), "/work/a/b");
    let m = std::fs::metadata(c.rootfs().join("work/a/b")).expect("cwd created in rootfs");
    assert!(m.is_dir());
    assert_eq!(m.permissions().mode() & 0o7777, 0o755);

    // A cwd the user cannot search is entered before the user switch, as runc does: a
    // `docker run -u 1000 -w /root` works with runc, so it must with hull.
    std::fs::set_permissions(
        c.rootfs().join("root"),
        std::fs::Permissions::from_mode(0o700),
    )
    .expect("chmod /root");
    c.config["process"]["cwd"] = "/root".into();
    assert_eq!(c.run().ok().out(), "/root");

    // A symlinked cwd resolves inside the rootfs, never to the host's directory.
    std::os::unix::fs::symlink("/etc", c.rootfs().join("etclink")).expect("symlink");
    c.config["process"]["cwd"] = "/etclink".into();
    c.config["process"]["user"] = json!({"uid": 0, "gid": 0});
    c.args(&["cat", "group"]);
    assert!(c.run().ok().stdout.contains("extra:x:2000:user"));
}

#[test]
fn user_uid_gid_additional_gids_umask() {
    let mut c = Container::new("user");
    c.args(&["checker", "ids"]);
    assert_eq!(
        c.run().ok().out(),
        "uid=0/0/0 gid=0/0/0 groups= umask=0022",
        "root by default, no supplementary groups, umask 0022"
    );
    c.config["process"]["user"] =
        json!({"uid": 1000, "gid": 1001, "additionalGids": [2000, 3000], "umask": 0o027});
    assert_eq!(
        c.run().ok().out(),
        "uid=1000/1000/1000 gid=1001/1001/1001 groups=2000,3000 umask=0027"
    );
    // The umask applies to what the process creates.
    c.config["root"]["readonly"] = false.into();
    std::fs::set_permissions(
        c.rootfs().join("tmp"),
        std::fs::Permissions::from_mode(0o1777),
    )
    .expect("chmod /tmp");
    c.sh("touch /tmp/f && stat -c %a /tmp/f");
    assert_eq!(c.run().ok().out(), "640");
}

#[test]
fn capabilities_all_five_sets_as_root() {
    let mut c = Container::new("capsroot");
    // CHOWN=0 KILL=5 NET_BIND_SERVICE=10 SYS_TIME=25.
    c.config["process"]["capabilities"] = json!({
        "bounding": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SYS_TIME"],
        "effective": ["CAP_KILL"],
        "permitted": ["CAP_KILL", "CAP_NET_BIND_SERVICE"],
        "inheritable": ["CAP_NET_BIND_SERVICE"],
        "ambient": ["CAP_NET_BIND_SERVICE"],
    });
    c.config["process"]["noNewPrivileges"] = true.into();
    // With no_new_privs, root's execve keeps no more than the permitted set it had; the
    // effective set then equals it (legacy root semantics). runc shows the same.
    assert_eq!(
        status_lines(&mut c),
        [
            "CapInh: 0000000000000400",
            "CapPrm: 0000000000000420",
            "CapEff: 0000000000000420",
            "CapBnd: 0000000002000421",
            "CapAmb: 0000000000000400",
            "NoNewPrivs: 1",
        ]
    );
    // Without no_new_privs, root gains the whole bounding set at execve.
    c.config["process"]["noNewPrivileges"] = false.into();
    assert_eq!(
        status_lines(&mut c),
        [
            "CapInh: 0000000000000400",
            "CapPrm: 0000000002000421",
            "CapEff: 0000000002000421",
            "CapBnd: 0000000002000421",
            "CapAmb: 0000000000000400",
            "NoNewPrivs: 0",
        ]
    );
    // No capabilities object at all: nothing (runc).
    c.config["process"]
        .as_object_mut()
        .expect("process")
        .remove("capabilities");
    assert_eq!(
        status_lines(&mut c)[..5],
        [
            "CapInh: 0000000000000000",
            "CapPrm: 0000000000000000",
            "CapEff: 0000000000000000",
            "CapBnd: 0000000000000000",
            "CapAmb: 0000000000000000",
        ]
    );
    // The capabilities are real: CAP_CHOWN in effect lets root chown, without it EPERM.
    c.config["root"]["readonly"] = false.into();
    c.config["process"]["capabilities"] = json!({
        "bounding": ["CAP_CHOWN"], "effective": ["CAP_CHOWN"], "permitted": ["CAP_CHOWN"]});
    c.sh("touch /tmp/x && chown 1000 /tmp/x && echo chowned");
    assert_eq!(c.run().ok().out(), "chowned");
    c.config["process"]["capabilities"] = json!({
        "bounding": ["CAP_KILL"], "effective": ["CAP_KILL"], "permitted": ["CAP_KILL"]});
    assert_ne!(c.run().code, 0, "chown without CAP_CHOWN must fail");
}

#[test]
fn capabilities_kept_for_a_non_root_user_through_ambient() {
    let mut c = Container::new("capsuser");
    c.config["process"]["user"] = json!({"uid": 1000, "gid": 1000});
    c.config["process"]["capabilities"] = json!({
        "bounding": ["CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_CHOWN"],
        "effective": ["CAP_KILL", "CAP_NET_BIND_SERVICE"],
        "permitted": ["CAP_KILL", "CAP_NET_BIND_SERVICE"],
        "inheritable": ["CAP_KILL", "CAP_NET_BIND_SERVICE"],
        "ambient": ["CAP_NET_BIND_SERVICE"],
    });
    // A non-root execve keeps exactly the ambient set in permitted and effective: this
    // only works if the capabilities survived the uid switch (PR_SET_KEEPCAPS).
    assert_eq!(
        status_lines(&mut c),
        [
            "CapInh: 0000000000000420",
            "CapPrm: 0000000000000400",
            "CapEff: 0000000000000400",
            "CapBnd: 0000000000000421",
            "CapAmb: 0000000000000400",
            "NoNewPrivs: 1",
        ]
    );
    // Ambient without inheritable is impossible: skipped with a warning naming the set
    // (runtime-spec 1.2 "SHOULD NOT fail"; runc and crun run the container).
    c.config["process"]["capabilities"] = json!({
        "bounding": ["CAP_KILL"], "permitted": ["CAP_KILL"], "ambient": ["CAP_KILL"]});
    c.args(&["true"]);
    c.run().ok().stderr_has("process.capabilities.ambient");
}

#[test]
fn rlimits_set_and_bad_ones_named() {
    let mut c = Container::new("rlimits");
    c.config["process"]["rlimits"] = json!([
        {"type": "RLIMIT_NOFILE", "soft": 100, "hard": 200},
        {"type": "RLIMIT_CORE", "soft": 0, "hard": u64::MAX},
        {"type": "RLIMIT_NPROC", "soft": 4321, "hard": 4321},
    ]);
    c.args(&["checker", "rlimits"]);
    let o = c.run();
    let lines: Vec<&str> = o.ok().stdout.lines().collect();
    for want in [
        "RLIMIT_NOFILE 100 200",
        "RLIMIT_CORE 0 unlimited",
        "RLIMIT_NPROC 4321 4321",
    ] {
        assert!(lines.contains(&want), "{want:?} missing in {lines:?}");
    }

    c.config["process"]["rlimits"] = json!([
        {"type": "RLIMIT_NOFILE", "soft": 100, "hard": 200},
        {"type": "RLIMIT_BOGUS", "soft": 1, "hard": 2},
    ]);
    c.create()
        .fails()
        .stderr_has("process.rlimits[1].type")
        .stderr_has("RLIMIT_BOGUS");
    assert!(!c.root.join(&c.id).exists());

    c.config["process"]["rlimits"] = json!([{"type": "RLIMIT_NOFILE", "soft": 300, "hard": 200}]);
    c.create().fails().stderr_has("process.rlimits[0]");
    assert!(!c.root.join(&c.id).exists());
}

#[test]
fn no_new_privileges_and_oom_score_adj() {
    let mut c = Container::new("nnp");
    c.sh("grep NoNewPrivs /proc/self/status; cat /proc/self/oom_score_adj");
    c.config["process"]["noNewPrivileges"] = true.into();
    c.config["process"]["oomScoreAdj"] = 123.into();
    assert_eq!(c.run().ok().out(), "NoNewPrivs:\t1\n123");
    // (Lowering it needs CAP_SYS_RESOURCE, which CI hosts may not grant: raise only.)
    c.config["process"]["noNewPrivileges"] = false.into();
    c.config["process"]["oomScoreAdj"] = 456.into();
    assert_eq!(c.run().ok().out(), "NoNewPrivs:\t0\n456");
    c.config["process"]["oomScoreAdj"] = 5000.into();
    c.create().fails().stderr_has("process.oomScoreAdj");
    assert!(!c.root.join(&c.id).exists());
}

#[test]
fn no_new_privileges_blocks_setuid() {
    // The effect, not just the flag: a setuid-root binary gains euid 0 for a non-root user
    // only without no_new_privs.
    let mut c = Container::new("nnpsuid");
    let suid = c.rootfs().join("bin/suid-checker");
    std::fs::copy(spec_tests::checker_bin(), &suid).expect("copy checker");
    std::fs::set_permissions(&suid, std::fs::Permissions::from_mode(0o4755)).expect("setuid");
    c.args(&["/bin/suid-checker", "ids"]);
    c.config["process"]["user"] = json!({"uid": 1000, "gid": 1000});
    c.config["process"]["noNewPrivileges"] = false.into();
    let o = c.run();
    assert!(o.ok().stdout.starts_with("uid=1000/0/0 "), "{}", o.stdout);
    c.config["process"]["noNewPrivileges"] = true.into();
    let o = c.run();
    assert!(
        o.ok().stdout.starts_with("uid=1000/1000/1000 "),
        "{}",
        o.stdout
    );
}

#[test]
fn stdio_passed_through_when_terminal_is_false() {
    let mut c = Container::new("stdio");
    let d = c.scratch("io");
    std::fs::write(d.join("stdin"), "from stdin\n").expect("stdin");
    c.sh("read l; echo \"out:$l\"; echo err >&2; checker fds");
    create_cmd(&c, &d, &[], None, None).ok();
    start_and_wait(&c);
    let out = std::fs::read_to_string(d.join("stdout")).expect("stdout");
    let (first, fds) = out.split_once('\n').unwrap_or_default();
    assert_eq!(first, "out:from stdin");
    let err = std::fs::read_to_string(d.join("stderr")).expect("stderr");
    assert_eq!(err, "err\n");
    // fd 1 and 2 are the very files create was given (not a relay).
    let fds = fds_of(fds);
    assert_eq!(fds.len(), 3, "{fds:?}");
    assert_eq!(fds[1], format!("1 {}", d.join("stdout").display()));
    assert_eq!(fds[2], format!("2 {}", d.join("stderr").display()));
}

#[test]
fn stdio_pipes_reach_the_caller() {
    use std::io::Write;
    use std::process::Stdio;
    let mut c = Container::new("stdiopipe");
    c.sh("read l; echo \"got:$l\"; echo to-err >&2");
    c.write_config();
    let mut cmd = c.hull_cmd();
    cmd.arg("create")
        .arg("--bundle")
        .arg(&c.bundle)
        .arg(&c.id)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn create");
    let mut stdin = child.stdin.take().expect("stdin");
    let (out, err) = (
        child.stdout.take().expect("stdout"),
        child.stderr.take().expect("stderr"),
    );
    // Read in threads: EOF comes only once the container (the last writer) has exited.
    let (tx, rx) = std::sync::mpsc::channel();
    let tx2 = tx.clone();
    std::thread::spawn(move || tx.send(("out", spec_tests::read_all(out))));
    std::thread::spawn(move || tx2.send(("err", spec_tests::read_all(err))));
    assert_eq!(spec_tests::wait_child(&mut child), 0, "create failed");
    stdin.write_all(b"through a pipe\n").expect("write stdin");
    drop(stdin);
    c.start().ok();
    let mut got = std::collections::BTreeMap::new();
    for _ in 0..2 {
        let (k, v) = rx
            .recv_timeout(std::time::Duration::from_secs(30))
            .expect("container output pipes never closed");
        got.insert(k, v);
    }
    assert_eq!(got["out"], "got:through a pipe\n");
    assert_eq!(got["err"], "to-err\n");
}

#[test]
fn preserve_fds_and_no_other_host_fd() {
    let mut c = Container::new("preserve");
    let d = c.scratch("io");
    let a = std::fs::File::create(d.join("a")).expect("a");
    let b = std::fs::File::create(d.join("b")).expect("b");
    let leak = std::fs::File::open(d.join("a")).expect("leak");
    let (fa, fb, fl) = (a.as_raw_fd(), b.as_raw_fd(), leak.as_raw_fd());
    // fds 3 and 4 are preserved; fd 5 is inherited by hull (no CLOEXEC) but not preserved.
    let place = place_fds(vec![(fa, 3), (fb, 4), (fl, 5)]);
    c.sh("echo to-four >&4; checker fds");
    create_cmd(&c, &d, &["--preserve-fds", "2"], None, Some(place)).ok();
    start_and_wait(&c);
    let fds = fds_of(&std::fs::read_to_string(d.join("stdout")).expect("stdout"));
    let nums: Vec<&str> = fds.iter().filter_map(|l| l.split(' ').next()).collect();
    assert_eq!(nums, ["0", "1", "2", "3", "4"], "{fds:?}");
    assert_eq!(fds[3], format!("3 {}", d.join("a").display()));
    assert_eq!(fds[4], format!("4 {}", d.join("b").display()));
    assert_eq!(
        std::fs::read_to_string(d.join("b")).expect("b"),
        "to-four\n"
    );
    drop(c);

    // Without --preserve-fds an inherited fd never reaches the container.
    let mut c = Container::new("nofds");
    let d = c.scratch("io");
    c.args(&["checker", "fds"]);
    let place = place_fds(vec![(fa, 3), (fl, 7)]);
    create_cmd(&c, &d, &[], None, Some(place)).ok();
    start_and_wait(&c);
    let fds = fds_of(&std::fs::read_to_string(d.join("stdout")).expect("stdout"));
    let nums: Vec<&str> = fds.iter().filter_map(|l| l.split(' ').next()).collect();
    assert_eq!(nums, ["0", "1", "2"], "{fds:?}");
    drop(c);

    // Asking to preserve an fd that is not open is an error (runc: "unable to stat
    // preserved-fd"), not a silent gap that one of hull's own fds could fill.
    let mut c = Container::new("badpreserve");
    c.args(&["true"]);
    let d = c.scratch("io");
    let o = create_cmd(&c, &d, &["--preserve-fds", "3"], None, None);
    o.fails().stderr_has("preserve");
    assert!(!c.root.join(&c.id).exists());
    drop((a, b, leak));
}

#[test]
fn listen_fds_socket_activation() {
    let mut c = Container::new("listenfds");
    let d = c.scratch("io");
    let sock = std::fs::File::create(d.join("sock")).expect("file");
    let fs = sock.as_raw_fd();
    c.config["process"]["env"] = json!(["PATH=/bin", "A=1"]);
    c.sh("env | grep -E '^(LISTEN|A=)' | sort; checker fds");
    // systemd's protocol: the fds are for us only if LISTEN_PID is our pid.
    create_cmd(
        &c,
        &d,
        &[],
        Some("LISTEN_FDS=1 LISTEN_PID=$$"),
        Some(place_fds(vec![(fs, 3)])),
    )
    .ok();
    start_and_wait(&c);
    let out = std::fs::read_to_string(d.join("stdout")).expect("stdout");
    let (env, fds) = out.split_at(out.find("0 ").unwrap_or(0));
    assert_eq!(env, "A=1\nLISTEN_FDS=1\nLISTEN_PID=1\n");
    let fds = fds_of(fds);
    assert_eq!(fds.len(), 4, "{fds:?}");
    assert_eq!(fds[3], format!("3 {}", d.join("sock").display()));
    drop(c);

    // LISTEN_FDS meant for another process (an ancestor's, inherited) passes nothing.
    let mut c = Container::new("listenother");
    let d = c.scratch("io");
    c.config["process"]["env"] = json!(["PATH=/bin"]);
    c.sh("env | grep LISTEN; checker fds");
    create_cmd(
        &c,
        &d,
        &[],
        Some("LISTEN_FDS=1 LISTEN_PID=1"),
        Some(place_fds(vec![(fs, 3)])),
    )
    .ok();
    start_and_wait(&c);
    let out = std::fs::read_to_string(d.join("stdout")).expect("stdout");
    let nums: Vec<String> = fds_of(&out)
        .iter()
        .filter_map(|l| l.split(' ').next().map(str::to_string))
        .collect();
    assert_eq!(nums, ["0", "1", "2"], "{out}");
    assert!(!out.contains("LISTEN"), "{out}");
    drop(sock);
}

#[test]
fn personality_linux32() {
    let mut c = Container::new("personality");
    c.args(&["uname", "-m"]);
    assert_eq!(c.run().ok().out(), "x86_64");
    c.config["linux"]["personality"] = json!({"domain": "LINUX32"});
    assert_eq!(c.run().ok().out(), "i686");
    c.config["linux"]["personality"] = json!({"domain": "LINUX32", "flags": ["SHORT_INODE"]});
    c.create().fails().stderr_has("linux.personality.flags");
    assert!(!c.root.join(&c.id).exists());
}

#[test]
fn scheduler_and_io_priority() {
    if spec_tests::needs_root(
        "IOPRIO_CLASS_RT needs CAP_SYS_ADMIN in the host's user namespace (runc alike)",
    ) {
        return;
    }
    let mut c = Container::new("iosched");
    // nice, rt_priority and policy from the process's own stat; then ioprio_get(2)
    // (syscall 252: IOPRIO_WHO_PROCESS, self) as class << 13 | level.
    c.sh("awk '{print $19, $40, $41}' /proc/self/stat; checker syscall 252 1 0");
    c.config["process"]["scheduler"] = json!({"policy": "SCHED_BATCH", "nice": 7});
    c.config["process"]["ioPriority"] = json!({"class": "IOPRIO_CLASS_RT", "priority": 2});
    assert_eq!(c.run().ok().out(), "7 0 3\nret=8194");
    c.config["process"]["scheduler"] = json!({"policy": "SCHED_IDLE"});
    c.config["process"]["ioPriority"] = json!({"class": "IOPRIO_CLASS_BE", "priority": 6});
    let o = c.run();
    let out: Vec<&str> = o.ok().out().split(['\n', ' ']).collect();
    // (The kernel shows an idle task's nice as it likes: only the policy is compared.)
    assert_eq!((out[1], out[2], out[3]), ("0", "5", "ret=16390"), "{out:?}");
    // Without them: the runtime's own (SCHED_OTHER at the caller's nice).
    c.config["process"]
        .as_object_mut()
        .expect("process")
        .retain(|k, _| k != "scheduler" && k != "ioPriority");
    let o = c.run();
    let first = o.ok().out().lines().next().unwrap_or_default().to_string();
    let stat = std::fs::read_to_string("/proc/self/stat").expect("own stat");
    let after: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, r)| r.split_whitespace().collect())
        .unwrap_or_default();
    // Field 19 (nice) is the 17th after the comm.
    assert_eq!(first, format!("{} 0 0", after[16]));

    // runc's rules, errors naming the field.
    for (sched, field) in [
        (
            json!({"policy": "SCHED_BATCH", "priority": 3}),
            "process.scheduler.priority",
        ),
        (
            json!({"policy": "SCHED_FIFO"}),
            "process.scheduler.priority",
        ),
        (
            json!({"policy": "SCHED_OTHER", "nice": 40}),
            "process.scheduler.nice",
        ),
        (json!({"policy": "SCHED_NOPE"}), "process.scheduler.policy"),
    ] {
        c.config["process"]["scheduler"] = sched;
        c.create().fails().stderr_has(field);
        assert!(!c.root.join(&c.id).exists());
    }
    c.config["process"]
        .as_object_mut()
        .expect("process")
        .remove("scheduler");
    c.config["process"]["ioPriority"] = json!({"class": "IOPRIO_CLASS_BE", "priority": 9});
    c.create().fails().stderr_has("process.ioPriority.priority");
    assert!(!c.root.join(&c.id).exists());
}
