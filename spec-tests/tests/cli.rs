//! The command line engines use (runc's): global flags in the places engines put them, the
//! `--log`/`--log-format` contract containerd reads on failure, help and usage errors,
//! `spec --rootless`, `features` (runtime-spec features.md), `run --keep`, and the
//! `create` flags `--no-new-keyring` and `--no-pivot`.

use serde_json::{json, Value};
use spec_tests::{hull_bin, run_cmd, Container, Out};

fn hull(args: &[&str]) -> Out {
    let mut c = std::process::Command::new(hull_bin());
    c.args(args);
    run_cmd(c, None)
}

/// Not a usage error: the flags parsed and the command itself ran (and found no container).
#[track_caller]
fn parsed(o: &Out) {
    assert_eq!(o.code, 1, "{o:?}");
    assert!(
        o.stderr.contains("does not exist"),
        "flags were not accepted: {o:?}"
    );
}

#[test]
fn global_flags_where_engines_put_them() {
    let mut c = Container::new("cliroot");
    c.args(&["sleep", "60"]);
    c.write_config();
    let root = c.root.display().to_string();
    let b = c.bundle.display().to_string();
    // --root after the subcommand (runc 1.1 refuses it; accepting it harms no engine).
    let mut cmd = std::process::Command::new(hull_bin());
    cmd.args(["create", "--root", &root, "--bundle", &b, &c.id]);
    let o = run_cmd(cmd, None);
    o.ok();
    assert!(c.root.join(&c.id).exists(), "state under the given --root");
    assert_eq!(c.status(), "created");
    let st = hull(&["state", "--root", &root, &c.id]);
    assert!(st.ok().stdout.contains("\"created\""));
    // The default root is not where it went.
    assert!(!std::path::Path::new("/run/hull").join(&c.id).exists());

    // Accepted flag forms (containerd, dockerd, podman).
    for args in [
        &["--debug", "state", "hull-none"][..],
        &["--systemd-cgroup", "state", "hull-none"],
        &["--rootless=true", "state", "hull-none"],
        &["--rootless", "false", "state", "hull-none"],
        &["--rootless=auto", "state", "hull-none"],
        &["--log-format=json", "state", "hull-none"],
        &["--log-format", "text", "state", "hull-none"],
    ] {
        let mut a = vec!["--root", root.as_str()];
        a.extend_from_slice(args);
        parsed(&hull(&a));
    }
}

#[test]
fn help_and_usage_errors() {
    let o = hull(&["--help"]);
    o.ok();
    for sub in [
        "create", "start", "run", "state", "kill", "delete", "spec", "features",
    ] {
        assert!(o.stdout.contains(sub), "--help lacks {sub}: {}", o.stdout);
    }
    let o = hull(&["create", "--help"]);
    o.ok();
    for flag in [
        "--bundle",
        "--console-socket",
        "--pid-file",
        "--no-pivot",
        "--no-new-keyring",
        "--preserve-fds",
    ] {
        assert!(o.stdout.contains(flag), "create --help lacks {flag}");
    }
    assert_eq!(hull(&["--no-such-flag", "state", "x"]).code, 1);
    assert_eq!(hull(&["state", "--no-such-flag", "x"]).code, 1);
    assert_eq!(hull(&["no-such-command"]).code, 1);
    assert_eq!(hull(&["state"]).code, 1, "missing id");
    // An unknown log format is refused (runc: "invalid log-format"), not taken for text.
    let o = hull(&["--log-format", "xml", "state", "x"]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("xml"), "{}", o.stderr);
}

/// Parses every line of a `--log-format json` file; each has level, msg and an RFC 3339 time.
fn json_lines(path: &std::path::Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).expect("log file");
    text.lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}"));
            for k in ["level", "msg", "time"] {
                assert!(v[k].is_string(), "{k} missing in {l}");
            }
            let t = v["time"].as_str().unwrap_or_default();
            assert!(
                t.len() >= 20 && &t[4..5] == "-" && &t[10..11] == "T" && t.ends_with('Z'),
                "time {t:?} is not RFC 3339 UTC"
            );
            v
        })
        .collect()
}

#[test]
fn log_file_json_and_text() {
    let mut c = Container::new("clilog");
    let d = c.scratch("log");
    let log = d.join("log.json");
    let logs = log.display().to_string();
    let root = c.root.display().to_string();
    let b = c.bundle.display().to_string();
    // A failure: one error line naming the cause, the same text as stderr.
    c.args(&["no-such-program"]);
    c.write_config();
    let o = hull(&[
        "--root",
        &root,
        "--log",
        &logs,
        "--log-format",
        "json",
        "create",
        "--bundle",
        &b,
        &c.id,
    ]);
    o.fails();
    let lines = json_lines(&log);
    let errors: Vec<&Value> = lines.iter().filter(|v| v["level"] == "error").collect();
    assert_eq!(errors.len(), 1, "{lines:?}");
    let msg = errors[0]["msg"].as_str().unwrap_or_default();
    assert!(msg.contains("executable file not found"), "{msg}");
    assert!(
        o.stderr.contains(msg),
        "stderr {:?} vs log {msg:?}",
        o.stderr
    );

    // --debug: debug lines in the log file, not on stderr.
    std::fs::remove_file(&log).expect("rm log");
    c.args(&["true"]);
    c.write_config();
    let o = hull(&[
        "--root",
        &root,
        "--log",
        &logs,
        "--log-format",
        "json",
        "--debug",
        "run",
        "--bundle",
        &b,
        &c.id,
    ]);
    o.ok();
    let lines = json_lines(&log);
    assert!(
        lines.iter().any(|v| v["level"] == "debug"),
        "no debug line: {lines:?}"
    );
    assert!(!o.stderr.contains("debug"), "{}", o.stderr);
    // Without --debug there are none.
    std::fs::remove_file(&log).expect("rm log");
    let o = hull(&[
        "--root",
        &root,
        "--log",
        &logs,
        "--log-format",
        "json",
        "run",
        "--bundle",
        &b,
        &c.id,
    ]);
    o.ok();
    assert!(json_lines(&log).iter().all(|v| v["level"] != "debug"));

    // Text format, runc's logrus layout: time="..." level=error msg="...".
    let text = d.join("log.txt");
    hull(&[
        "--root",
        &root,
        "--log",
        &text.display().to_string(),
        "state",
        "hull-none",
    ])
    .fails();
    let t = std::fs::read_to_string(&text).expect("text log");
    let line = t.lines().next().unwrap_or_default();
    assert!(
        line.starts_with("time=\"") && line.contains(" level=error msg=\"container does not exist"),
        "{line}"
    );
}

#[test]
fn spec_rootless_is_runnable() {
    let mut c = Container::new("clispec");
    let d = c.scratch("spec");
    let o = hull(&["spec", "--rootless", "--bundle", &d.display().to_string()]);
    o.ok();
    let spec: Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("config.json")).expect("config.json"))
            .expect("json");
    // SAFETY: geteuid has no preconditions.
    let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    let ns: Vec<&str> = spec["linux"]["namespaces"]
        .as_array()
        .expect("namespaces")
        .iter()
        .filter_map(|n| n["type"].as_str())
        .collect();
    assert!(ns.contains(&"user"), "{ns:?}");
    assert!(
        !ns.contains(&"network"),
        "rootless keeps the host network: {ns:?}"
    );
    assert_eq!(
        spec["linux"]["uidMappings"],
        json!([{"containerID": 0, "hostID": uid, "size": 1}])
    );
    assert_eq!(
        spec["linux"]["gidMappings"],
        json!([{"containerID": 0, "hostID": gid, "size": 1}])
    );
    // /sys cannot be mounted without a net namespace of one's own: it is bound, read-only.
    let sys = spec["mounts"]
        .as_array()
        .expect("mounts")
        .iter()
        .find(|m| m["destination"] == "/sys")
        .expect("/sys mount");
    let opts: Vec<&str> = sys["options"]
        .as_array()
        .expect("options")
        .iter()
        .filter_map(|o| o.as_str())
        .collect();
    assert!(opts.contains(&"rbind") && opts.contains(&"ro"), "{opts:?}");
    assert!(spec["linux"].get("resources").is_none_or(|r| r.is_null()));
    // No devpts gid=5: an unmapped gid cannot be used.
    let pts = spec["mounts"]
        .as_array()
        .expect("mounts")
        .iter()
        .find(|m| m["destination"] == "/dev/pts")
        .expect("/dev/pts mount");
    assert!(!pts.to_string().contains("gid=5"), "{pts}");

    // It runs (as root here, the mapping is 0 -> 0).
    let mut spec = spec;
    spec["process"]["terminal"] = false.into();
    spec["process"]["args"] = json!([
        "sh",
        "-c",
        "cat /proc/self/uid_map; id -u; grep -c ' /dev/mqueue mqueue ' /proc/self/mounts"
    ]);
    spec["root"]["path"] = c.rootfs().display().to_string().into();
    c.config = spec;
    let o = c.run();
    let words: Vec<&str> = o.ok().stdout.split_whitespace().collect();
    assert_eq!(words, ["0", &uid.to_string(), "1", "0", "1"], "{o:?}");
    assert!(!o.stdout.contains("4294967295"), "a fresh user namespace");
}

#[test]
fn features_document() {
    let o = hull(&["features"]);
    let f: Value = serde_json::from_str(&o.ok().stdout).expect("features JSON");
    assert_eq!(f["ociVersionMin"], "1.0.0");
    assert_eq!(f["ociVersionMax"], "1.3.0");
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap_or_else(|| panic!("not an array: {v}"))
            .iter()
            .map(|s| s.as_str().expect("string").to_string())
            .collect()
    };
    assert_eq!(
        strings(&f["hooks"]),
        [
            "prestart",
            "createRuntime",
            "createContainer",
            "startContainer",
            "poststart",
            "poststop"
        ]
    );
    let opts = strings(&f["mountOptions"]);
    for o in ["ro", "rbind", "nosuid", "rro", "rprivate", "nosymfollow"] {
        assert!(opts.contains(&o.to_string()), "mountOptions lacks {o}");
    }
    let mut ns = strings(&f["linux"]["namespaces"]);
    ns.sort();
    assert_eq!(
        ns,
        ["cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"]
    );
    let caps = strings(&f["linux"]["capabilities"]);
    for c in [
        "CAP_SYS_ADMIN",
        "CAP_CHOWN",
        "CAP_BPF",
        "CAP_CHECKPOINT_RESTORE",
    ] {
        assert!(caps.contains(&c.to_string()), "capabilities lack {c}");
    }
    let cg = &f["linux"]["cgroup"];
    for k in ["v1", "v2", "systemd", "systemdUser"] {
        assert!(cg[k].is_boolean(), "linux.cgroup.{k}: {cg}");
    }
    let sc = &f["linux"]["seccomp"];
    assert_eq!(sc["enabled"], true);
    for k in ["actions", "operators", "archs"] {
        assert!(!strings(&sc[k]).is_empty(), "linux.seccomp.{k}");
    }
    assert!(strings(&sc["actions"]).contains(&"SCMP_ACT_ERRNO".to_string()));
    assert!(strings(&sc["archs"]).contains(&"SCMP_ARCH_X86_64".to_string()));
    for k in ["apparmor", "selinux"] {
        assert!(f["linux"][k]["enabled"].is_boolean(), "linux.{k}.enabled");
    }
    assert_eq!(
        f["annotations"]["org.opencontainers.runtime-spec.features.version"], "1.3.0",
        "{}",
        f["annotations"]
    );

    // What it lists is what create accepts: every hook kind (checked in hooks.rs) and every
    // listed mount option word that is a plain flag.
    let mut c = Container::new("clifeatures");
    c.config["mounts"]
        .as_array_mut()
        .expect("mounts")
        .push(json!({
        "destination": "/mnt", "type": "tmpfs", "source": "tmpfs",
        "options": ["nosuid", "nodev", "noexec", "nosymfollow", "ro", "rprivate"]}));
    c.args(&["true"]);
    c.run().ok();

    // runtime-spec 1.3.0 extensions it implements, and what create accepts of them: an
    // id-mapped bind, every memory policy mode listed; the systemd driver exists (rootless
    // does not); the annotation hull acts on is declared potentially unsafe.
    assert_eq!(f["linux"]["mountExtensions"]["idmap"]["enabled"], true);
    for w in ["idmap", "ridmap", "rro", "tmpcopyup"] {
        assert!(opts.contains(&w.to_string()), "mountOptions lacks {w}");
    }
    assert_eq!(cg["systemd"], true);
    assert_eq!(cg["systemdUser"], false);
    assert_eq!(f["linux"]["netDevices"]["enabled"], true);
    assert_eq!(
        strings(&f["potentiallyUnsafeConfigAnnotations"]),
        ["org.systemd.property."]
    );
    let mut c = Container::new("clifeaturesidmap");
    std::fs::create_dir_all(c.bundle.join("src")).expect("mkdir");
    c.config["mounts"]
        .as_array_mut()
        .expect("mounts")
        .push(json!({
        "destination": "/mnt", "source": "src", "options": ["rbind", "ridmap", "rro"],
        "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 10}],
        "gidMappings": [{"containerID": 0, "hostID": 1000, "size": 10}]}));
    c.args(&["true"]);
    c.run().ok();
    for m in strings(&f["linux"]["memoryPolicy"]["modes"]) {
        let mut c = Container::new("clifeaturesmpol");
        c.config["linux"]["memoryPolicy"] = if m == "MPOL_DEFAULT" || m == "MPOL_LOCAL" {
            json!({"mode": m})
        } else {
            json!({"mode": m, "nodes": "0"})
        };
        c.args(&["true"]);
        let o = c.run();
        assert_eq!(o.code, 0, "memoryPolicy mode {m}: {o:?}");
    }
}

#[test]
fn run_keep_leaves_the_stopped_container() {
    let mut c = Container::new("clikeep");
    c.sh("exit 3");
    c.write_config();
    let b = c.bundle.display().to_string();
    let o = c.hull(&["run", "--keep", "--bundle", &b, &c.id]);
    assert_eq!(o.code, 3, "{o:?}");
    assert_eq!(c.status(), "stopped");
    c.hull(&["delete", &c.id]).ok();
    assert!(!c.root.join(&c.id).exists());
}

/// The session keyring id the calling process sees (`keyctl(KEYCTL_GET_KEYRING_ID, @s)`).
fn my_session_keyring() -> i64 {
    // SAFETY: keyctl with integer arguments only.
    unsafe { libc::syscall(libc::SYS_keyctl, 0, -3i64, 0) }
}

#[test]
fn no_new_keyring() {
    let mut c = Container::new("clikeyring");
    // /proc/keys is masked by default; this test needs to read it.
    c.config["linux"]["maskedPaths"] = json!([]);
    c.sh("checker syscall 250 0 -3 0; grep -c \"_ses.$ID\" /proc/keys; true");
    c.config["process"]["env"] = json!(["PATH=/bin", format!("ID={}", c.id)]);
    let mine = my_session_keyring();
    assert!(mine > 0);
    let o = c.run();
    let out = o.ok().out().to_string();
    let (id, named) = out.split_once('\n').unwrap_or_default();
    assert_ne!(
        id,
        format!("ret={mine}"),
        "a new session keyring by default"
    );
    assert_eq!(named, "1", "named _ses.<id> (as runc): {out}");

    c.write_config();
    let b = c.bundle.display().to_string();
    let o = c.hull(&["run", "--no-new-keyring", "--bundle", &b, &c.id]);
    let out = o.ok().out().to_string();
    assert_eq!(
        out.lines().next(),
        Some(format!("ret={mine}").as_str()),
        "--no-new-keyring inherits the caller's session keyring"
    );
}

#[test]
fn no_pivot_still_confines_the_root() {
    let mut c = Container::new("clinopivot");
    c.put("/inside", "yes");
    c.sh("cat /inside; ls /; test ! -e /work && test ! -e /tmp/hull-spec && echo confined");
    c.write_config();
    let b = c.bundle.display().to_string();
    let o = c.hull(&["run", "--no-pivot", "--bundle", &b, &c.id]);
    let out = o.ok().out();
    assert!(out.starts_with("yes"), "{out}");
    assert!(out.ends_with("confined"), "{out}");
}
