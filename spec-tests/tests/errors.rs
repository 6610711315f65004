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
