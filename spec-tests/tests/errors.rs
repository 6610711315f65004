//! Bad input: every failure exits 1 with one line naming the field or path at fault, and
//! leaves no state directory, mount, cgroup or process behind (the harness checks the last
//! three when each container is dropped).

use spec_tests::Container;

/// `create` must fail with `msg` in stderr and leave no state dir.
#[track_caller]
fn create_fails(c: &Container, msg: &str) {
    let o = c.create();
    o.fails().stderr_has(msg);
    assert_eq!(o.code, 1);
    assert!(
        !c.root.join(&c.id).exists(),
        "state dir left after failed create"
    );
}

#[test]
fn missing_bundle_and_bad_json() {
    let c = Container::new("nobundle");
    c.hull(&["create", "--bundle", "/nonexistent/hull-bundle", &c.id])
        .fails()
        .stderr_has("/nonexistent/hull-bundle");
    assert!(!c.root.join(&c.id).exists());
    c.write_config();
    std::fs::write(c.bundle.join("config.json"), "{not json").expect("write");
    let b = c.bundle.display().to_string();
    c.hull(&["create", "--bundle", &b, &c.id])
        .fails()
        .stderr_has("config.json");
    assert!(!c.root.join(&c.id).exists());
}

#[test]
fn unknown_oci_version_major() {
    let mut c = Container::new("ociversion");
    c.config["ociVersion"] = "2.0.0".into();
    create_fails(&c, "ociVersion");
}

#[test]
fn missing_executable() {
    let mut c = Container::new("noexec");
    c.args(&["no-such-program"]);
    create_fails(&c, "executable file not found in $PATH");
    c.args(&["/bin/no-such"]);
    create_fails(&c, "/bin/no-such");
}

#[test]
fn relative_mount_destination_is_relative_to_root() {
    // runtime-spec 1.2 (config.md "Mounts"): on Linux a relative destination is relative to
    // "/"; runc accepts it with a warning. It must land inside the rootfs, never relative to
    // hull's working directory.
    let mut c = Container::new("relmount");
    c.config["mounts"].as_array_mut().expect("mounts").push(
        serde_json::json!({"destination": "relative/dir", "type": "tmpfs", "source": "tmpfs"}),
    );
    c.sh("grep -q ' /relative/dir ' /proc/self/mountinfo && echo mounted");
    let o = c.run();
    o.ok();
    assert_eq!(o.out(), "mounted");
    assert!(
        o.stderr.contains("not absolute"),
        "runc's warning: {}",
        o.stderr
    );
}

#[test]
fn mount_failure_inside_init_reaches_create() {
    let mut c = Container::new("badmount");
    c.config["mounts"]
        .as_array_mut()
        .expect("mounts")
        .push(serde_json::json!({"destination": "/mnt", "type": "nosuchfs", "source": "none"}));
    create_fails(&c, "/mnt");
}

#[test]
fn bad_cwd_and_user() {
    let mut c = Container::new("badcwd");
    c.config["process"]["cwd"] = "relative".into();
    create_fails(&c, "process.cwd");
}

#[test]
fn json_log_on_failure() {
    let mut c = Container::new("jsonlog");
    c.args(&["no-such-program"]);
    c.write_config();
    let log = c.scratch("log").join("log.json");
    let b = c.bundle.display().to_string();
    let l = log.display().to_string();
    c.hull(&[
        "--log",
        &l,
        "--log-format",
        "json",
        "create",
        "--bundle",
        &b,
        &c.id,
    ])
    .fails();
    let text = std::fs::read_to_string(&log).expect("log file written");
    let last = text.lines().last().expect("a log line");
    let v: serde_json::Value = serde_json::from_str(last).expect("log line is JSON");
    assert_eq!(v["level"], "error");
    assert!(
        v["msg"]
            .as_str()
            .is_some_and(|m| m.contains("no-such-program")),
        "{v}"
    );
    assert!(v["time"].is_string(), "{v}");
}

#[test]
fn ids_the_kernel_reads_as_no_change_are_refused() {
    // (uid_t)-1 means "leave unchanged" to setresuid: the process would stay root.
    let mut c = Container::new("uidmax");
    c.sh("id -u");
    c.config["process"]["user"] = serde_json::json!({"uid": 4294967295u32, "gid": 0});
    create_fails(&c, "process.user.uid");
    c.config["process"]["user"] = serde_json::json!({"uid": 0, "gid": 4294967295u32});
    create_fails(&c, "process.user.gid");
    c.config["process"]["user"] =
        serde_json::json!({"uid": 0, "gid": 0, "additionalGids": [5, 4294967295u32]});
    create_fails(&c, "process.user.additionalGids[1]");
    c.config["process"]["user"] = serde_json::json!({"uid": 0, "gid": 0});
    c.config["linux"]["uidMappings"] =
        serde_json::json!([{"containerID": 0, "hostID": 4294967295u32, "size": 1}]);
    create_fails(&c, "linux.uidMappings[0].hostID");
    c.config["linux"]["uidMappings"] =
        serde_json::json!([{"containerID": 4294967290u32, "hostID": 0, "size": 10}]);
    create_fails(&c, "linux.uidMappings[0].containerID");
}

#[test]
fn objects_given_as_arrays_are_refused() {
    // serde reads a struct from an array too: `"user": []` would run as uid 0 and
    // `"resources": []` drop every limit.
    let mut c = Container::new("arrays");
    c.sh("id -u");
    for (field, set) in [
        ("process.user", &["process", "user"][..]),
        ("linux.resources", &["linux", "resources"][..]),
        ("process.capabilities", &["process", "capabilities"][..]),
        ("hooks", &["hooks"][..]),
    ] {
        let mut v = spec_tests::default_config();
        v["process"]["args"] = serde_json::json!(["sh", "-c", "id -u"]);
        let mut slot = &mut v;
        for k in set {
            slot = &mut slot[*k];
        }
        *slot = serde_json::json!([]);
        c.config = v;
        create_fails(&c, &format!("{field}: must be a JSON object"));
    }
    c.config = serde_json::json!([]);
    create_fails(&c, "config.json: must be a JSON object");
}

#[test]
fn config_json_is_a_bounded_regular_file() {
    let c = Container::new("cfgfile");
    c.write_config();
    let cfg = c.bundle.join("config.json");
    let b = c.bundle.display().to_string();
    let create = || c.hull(&["create", "--bundle", &b, &c.id]);
    // A valid config padded past the 64 MiB bound.
    let mut text = std::fs::read(&cfg).expect("read config");
    text.resize(text.len() + (64 << 20), b' ');
    std::fs::write(&cfg, &text).expect("write big config");
    drop(text);
    create()
        .fails()
        .stderr_has("config.json: larger than 64 MiB");
    assert!(!c.root.join(&c.id).exists());
    // A FIFO (open must not wait for a writer) and /dev/zero through a symlink.
    std::fs::remove_file(&cfg).expect("rm");
    let made = std::process::Command::new("mkfifo").arg(&cfg).status();
    assert!(made.is_ok_and(|s| s.success()), "mkfifo {}", cfg.display());
    create()
        .fails()
        .stderr_has("config.json: not a regular file (a fifo)");
    std::fs::remove_file(&cfg).expect("rm");
    std::os::unix::fs::symlink("/dev/zero", &cfg).expect("symlink");
    create()
        .fails()
        .stderr_has("config.json: not a regular file (a character device)");
    assert!(!c.root.join(&c.id).exists());
}

#[test]
fn enum_fields_given_a_non_string_name_the_field() {
    let mut c = Container::new("enumtype");
    let bad = [
        serde_json::json!(-1),
        serde_json::Value::Null,
        serde_json::json!([]),
        serde_json::json!({}),
        serde_json::json!(true),
    ];
    for v in &bad {
        let mut cfg = spec_tests::default_config();
        cfg["linux"]["namespaces"][0]["type"] = v.clone();
        c.config = cfg;
        create_fails(&c, "linux.namespaces[0].type: invalid type");
        let mut cfg = spec_tests::default_config();
        cfg["linux"]["devices"] =
            serde_json::json!([{"path": "/dev/x", "type": v, "major": 1, "minor": 3}]);
        c.config = cfg;
        create_fails(&c, "linux.devices[0].type: invalid type");
        let mut cfg = spec_tests::default_config();
        cfg["linux"]["seccomp"] = serde_json::json!({"defaultAction": v});
        c.config = cfg;
        create_fails(&c, "linux.seccomp.defaultAction: invalid type");
        let mut cfg = spec_tests::default_config();
        cfg["linux"]["seccomp"] =
            serde_json::json!({"defaultAction": "SCMP_ACT_ALLOW", "architectures": [v]});
        c.config = cfg;
        create_fails(&c, "linux.seccomp.architectures[0]: invalid type");
        let mut cfg = spec_tests::default_config();
        cfg["linux"]["seccomp"] = serde_json::json!({"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["getpid"], "action": v}]});
        c.config = cfg;
        create_fails(&c, "linux.seccomp.syscalls[0].action: invalid type");
        let mut cfg = spec_tests::default_config();
        cfg["process"]["rlimits"][0]["type"] = v.clone();
        c.config = cfg;
        create_fails(&c, "process.rlimits[0].type: invalid type");
    }
}

#[test]
fn a_bad_last_field_is_named_not_its_object() {
    // Compact JSON, as engines write it: the bad value is followed directly by the `}` of
    // its object, where serde_json reports the error (keys are written sorted: `uid` is the
    // last of a device's, as of a user's).
    let c = Container::new("lastkey");
    let b = c.bundle.display().to_string();
    for (field, set) in [
        (
            "linux.devices[0].uid",
            serde_json::json!({"linux": {"devices":
                [{"path": "/dev/x", "type": "c", "major": 1, "minor": 3, "uid": "x"}]}}),
        ),
        (
            "process.user.uid",
            serde_json::json!({"process": {"user": {"gid": 0, "uid": "root"}}}),
        ),
    ] {
        let mut cfg = c.config.clone();
        let (k, v) = set
            .as_object()
            .and_then(|o| o.iter().next())
            .expect("one key");
        let (k2, v2) = v
            .as_object()
            .and_then(|o| o.iter().next())
            .expect("one key");
        cfg[k][k2] = v2.clone();
        let text = serde_json::to_string(&cfg).expect("encode");
        std::fs::write(c.bundle.join("config.json"), text).expect("write");
        c.hull(&["create", "--bundle", &b, &c.id])
            .fails()
            .stderr_has(&format!("{field}: invalid type"));
        assert!(!c.root.join(&c.id).exists());
    }
}

#[test]
fn too_many_additional_gids_name_the_field() {
    // setgroups(2) takes at most NGROUPS_MAX (65536) groups; more used to fail in the init
    // with no cause ("exit status 1").
    let mut c = Container::new("ngroups");
    c.config["process"]["user"] =
        serde_json::json!({"uid": 0, "gid": 0, "additionalGids": vec![5; 100_000]});
    create_fails(&c, "process.user.additionalGids: 100000 groups");
}

#[test]
fn a_capability_without_its_prefix_is_skipped_naming_its_list() {
    // The typed decoder took "KILL" as CAP_KILL in some sets, and the failure then named
    // another set. Like runc, a name without its prefix is unknown: skipped, in every set,
    // with a warning that names the set and index; the container runs.
    let mut c = Container::new("capprefix");
    let caps = &mut c.config["process"]["capabilities"];
    caps["bounding"] = serde_json::json!(["CAP_KILL", "KILL"]);
    caps["permitted"] = serde_json::json!(["KILL", "CAP_KILL"]);
    caps["effective"] = serde_json::json!(["CAP_KILL"]);
    caps["inheritable"] = serde_json::json!([]);
    caps["ambient"] = serde_json::json!([]);
    let o = c.run();
    o.ok()
        .stderr_has("process.capabilities.bounding[1]: unknown capability \"KILL\"")
        .stderr_has("process.capabilities.permitted[0]");
}

#[test]
fn a_memory_limit_the_init_cannot_set_up_in_names_the_field() {
    // The init is OOM-killed while setting up: create said only "killed by SIGKILL".
    let mut c = Container::new("memtiny");
    c.config["linux"]["resources"]["memory"] = serde_json::json!({"limit": 4096});
    create_fails(&c, "linux.resources.memory.limit");
}
