//! The systemd cgroup driver (`--systemd-cgroup`), runc's docs/systemd.md: the unit hull asks
//! systemd for, read back from systemd (`systemctl show`) and from the cgroup files, the
//! commands on it, and bad paths, a unit that exists and a refused unit failing with the
//! field named and nothing left (no unit, no cgroup, no state). Needs systemd as PID 1: it
//! runs in the systemd guest (hack/systemd-vm.sh, from hack/test.sh) and skips elsewhere.

use std::path::Path;
use std::process::Command;

use serde_json::json;
use spec_tests::{read_trimmed as read, systemd_booted, systemd_units, wait_for, Container};

/// A container on the systemd driver with a long-running program, or `None` (skip) where
/// systemd is not PID 1.
fn container(test: &str) -> Option<Container> {
    if !systemd_booted() {
        eprintln!("skipped: systemd is not PID 1 here (run in hack/systemd-vm.sh)");
        return None;
    }
    let mut c = Container::new(test);
    c.global.push("--systemd-cgroup".into());
    c.args(&["sleep", "1000"]);
    Some(c)
}

/// Whether this systemd host is v1/hybrid (`SYSTEMDVM_CGROUPS=hybrid`): v1 controllers under
/// /sys/fs/cgroup, so systemd's v1 property names and each controller's own files apply.
fn v1_host() -> bool {
    !Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
}

/// The unit's cgroup directory holding FILE: the unified tree on v2; on v1 the hierarchy of
/// the controller FILE belongs to (`memory.limit_in_bytes` in `memory`, ...).
fn unit_file(slice: &str, unit: &str, file: &str) -> std::path::PathBuf {
    let base = Path::new("/sys/fs/cgroup");
    let base = if v1_host() {
        let ctrl = match file.split('.').next() {
            Some("cgroup") => "systemd",
            Some(c) => c,
            None => "systemd",
        };
        base.join(ctrl)
    } else {
        base.to_path_buf()
    };
    base.join(slice).join(unit).join(file)
}

/// `systemctl show UNIT -p NAME` values.
fn show(unit: &str, props: &[&str]) -> std::collections::HashMap<String, String> {
    let mut cmd = Command::new("systemctl");
    cmd.args(["show", unit, "--no-pager"]);
    for p in props {
        cmd.arg("-p").arg(p);
    }
    let out = cmd.output().expect("systemctl show");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn resources_become_unit_properties_and_files() {
    let Some(mut c) = container("sdres") else {
        return;
    };
    let unit = format!("hulltest-{}.scope", c.id);
    c.config["linux"]["cgroupsPath"] = json!(format!("system.slice:hulltest:{}", c.id));
    c.config["linux"]["resources"] = json!({
        "memory": {"limit": 67108864, "reservation": 33554432, "swap": 134217728},
        "cpu": {"shares": 2048, "quota": 30000, "period": 100000, "cpus": "0", "mems": "0"},
        "pids": {"limit": 37},
        "blockIO": {"weight": 200},
        "unified": {"memory.high": "60000000"}
    });
    let v1 = v1_host();
    if v1 {
        // runc too refuses unified keys on a v1 host; v1 has no reservation-as-MemoryLow.
        c.config["linux"]["resources"]["unified"] = json!({});
        // v1's blkio weight needs CFQ/BFQ, which the guest's disk has not (runc fails too).
        c.config["linux"]["resources"]["blockIO"] = json!({});
    }
    c.config["annotations"] = json!({
        "org.systemd.property.CollectMode": "'inactive-or-failed'",
        "org.systemd.property.TimeoutStopUSec": "uint64 123456789"
    });
    c.create().ok();
    let mut want: Vec<(&str, String)> = vec![
        ("ControlGroup", format!("/system.slice/{unit}")),
        ("Slice", "system.slice".into()),
        ("Delegate", "yes".into()),
        ("CPUQuotaPerSecUSec", "300ms".into()),
        ("AllowedCPUs", "0".into()),
        ("TasksMax", "37".into()),
        ("CollectMode", "inactive-or-failed".into()),
        ("TimeoutStopUSec", "2min 3.456789s".into()),
        ("ActiveState", "active".into()),
    ];
    if v1 {
        // runc's v1 names: MemoryLimit, CPUShares.
        want.extend([
            ("MemoryLimit", "67108864".into()),
            ("CPUShares", "2048".into()),
        ]);
    } else {
        want.extend([
            ("MemoryMax", "67108864".into()),
            ("MemoryLow", "33554432".into()),
            ("MemoryHigh", "60000000".into()),
            ("MemorySwapMax", "67108864".into()),
            ("CPUWeight", "174".into()),
            ("IOWeight", "1920".into()),
        ]);
    }
    let names: Vec<&str> = want.iter().map(|(k, _)| *k).collect();
    let p = show(&unit, &names);
    for (k, v) in &want {
        assert_eq!(p.get(*k), Some(v), "{unit} {k}: {p:?}");
    }
    // The cgroupfs side wrote the same values, and the init is in the unit's cgroup.
    let f = |file: &str| unit_file("system.slice", &unit, file);
    if v1 {
        assert_eq!(read(f("memory.limit_in_bytes")), "67108864");
        assert_eq!(read(f("memory.memsw.limit_in_bytes")), "134217728");
        assert_eq!(read(f("cpu.cfs_quota_us")), "30000");
        assert_eq!(read(f("cpu.shares")), "2048");
    } else {
        assert_eq!(read(f("memory.max")), "67108864");
        assert_eq!(read(f("memory.swap.max")), "67108864");
        assert_eq!(read(f("cpu.max")), "30000 100000");
    }
    assert_eq!(read(f("pids.max")), "37");
    assert_eq!(read(f("cpuset.cpus")), "0");
    let dir = f("cgroup.procs")
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let procs = read(dir.join("cgroup.procs"));
    assert!(
        procs.lines().any(|l| l == c.pid().to_string()),
        "init {} not in {procs}",
        c.pid()
    );
    // Inside, the container sees its own cgroup as the root (cgroup namespace).
    c.start().ok();
    let inside = if v1 {
        "/sys/fs/cgroup/pids/pids.max"
    } else {
        "/sys/fs/cgroup/pids.max"
    };
    let o = c.hull(&["exec", &c.id, "cat", inside]);
    assert_eq!(o.ok().out().trim(), "37");
    c.hull(&["delete", "--force", &c.id]).ok();
    assert!(systemd_units(&c.id).is_empty(), "unit left after delete");
    assert!(!dir.exists(), "{} left after delete", dir.display());
}

#[test]
fn default_path_and_nested_slices() {
    let Some(c) = container("sddefault") else {
        return;
    };
    c.create().ok();
    let unit = format!("hull-{}.scope", c.id);
    let p = show(&unit, &["ControlGroup", "ActiveState"]);
    assert_eq!(
        p.get("ControlGroup"),
        Some(&format!("/system.slice/{unit}"))
    );
    c.hull(&["delete", "--force", &c.id]).ok();

    let Some(mut n) = container("sdnested") else {
        return;
    };
    n.config["linux"]["cgroupsPath"] = json!(format!("hullt-a-b.slice:pfx:{}", n.id));
    n.create().ok();
    let unit = format!("pfx-{}.scope", n.id);
    let p = show(&unit, &["ControlGroup"]);
    assert_eq!(
        p.get("ControlGroup"),
        Some(&format!(
            "/hullt.slice/hullt-a.slice/hullt-a-b.slice/{unit}"
        ))
    );
    n.hull(&["delete", "--force", &n.id]).ok();
    // The slices systemd made as dependencies are systemd's; stop them so the test
    // leaves the machine as it found it.
    let _ = Command::new("systemctl")
        .args(["stop", "hullt.slice"])
        .status();
}

#[test]
fn lifecycle_commands_use_the_unit() {
    let Some(c) = container("sdlife") else {
        return;
    };
    c.create().ok();
    c.start().ok();
    let unit = format!("hull-{}.scope", c.id);
    // exec is placed in the unit's cgroup (no D-Bus on that path: the cgroupfs driver).
    let o = c.hull(&["exec", &c.id, "sh", "-c", "echo $$; cat /proc/self/cgroup"]);
    let out = o.ok().out().to_string();
    assert!(out.contains("0::/"), "{out}");
    c.hull(&["pause", &c.id]).ok();
    assert_eq!(c.status(), "paused");
    if v1_host() {
        let state = read(unit_file("system.slice", &unit, "freezer.state"));
        assert_eq!(state, "FROZEN");
    } else {
        assert_eq!(read(unit_file("system.slice", &unit, "cgroup.freeze")), "1");
    }
    c.hull(&["resume", &c.id]).ok();
    assert_eq!(c.status(), "running");
    let ps = c.hull(&["ps", "--format", "json", &c.id]);
    assert!(ps.ok().out().contains(&c.pid().to_string()));
    let ev = c.hull(&["events", "--stats", &c.id]);
    assert!(ev.ok().out().contains("\"pids\""));
    c.hull(&["kill", "--all", &c.id, "KILL"]).ok();
    wait_for("the container to stop", || c.status() == "stopped");
    c.hull(&["delete", &c.id]).ok();
    wait_for("the unit to go", || systemd_units(&c.id).is_empty());
}

#[test]
fn update_sets_properties_and_files() {
    let Some(mut c) = container("sdupdate") else {
        return;
    };
    c.config["linux"]["resources"] = json!({"memory": {"limit": 67108864}, "pids": {"limit": 10}});
    c.create().ok();
    let unit = format!("hull-{}.scope", c.id);
    c.hull(&[
        "update",
        "--memory",
        "100m",
        "--pids-limit",
        "44",
        "--cpu-quota",
        "50000",
        &c.id,
    ])
    .ok();
    let mem = if v1_host() {
        "MemoryLimit"
    } else {
        "MemoryMax"
    };
    let p = show(&unit, &[mem, "TasksMax", "CPUQuotaPerSecUSec"]);
    assert_eq!(p.get(mem).map(String::as_str), Some("104857600"));
    assert_eq!(p.get("TasksMax").map(String::as_str), Some("44"));
    assert_eq!(
        p.get("CPUQuotaPerSecUSec").map(String::as_str),
        Some("500ms")
    );
    let mem = if v1_host() {
        "memory.limit_in_bytes"
    } else {
        "memory.max"
    };
    assert_eq!(read(unit_file("system.slice", &unit, mem)), "104857600");
    assert_eq!(read(unit_file("system.slice", &unit, "pids.max")), "44");
}

#[test]
fn bad_paths_name_the_field_and_leave_nothing() {
    for bad in [
        "a:b",
        "nosuffix:p:n",
        "x.slice:p:",
        "a--b.slice:p:n",
        "/plain/path",
    ] {
        let Some(mut c) = container("sdbad") else {
            return;
        };
        c.config["linux"]["cgroupsPath"] = json!(bad);
        let o = c.create();
        o.fails().stderr_has("linux.cgroupsPath");
        assert!(!c.root.join(&c.id).exists(), "{bad}: state dir left");
    }
}

#[test]
fn an_existing_unit_is_refused_and_kept() {
    let Some(mut c) = container("sdexists") else {
        return;
    };
    let unit = format!("pre-{}.scope", c.id);
    // Someone else's scope of that name, running.
    let mut other = Command::new("systemd-run")
        .args(["--scope", "--unit", &unit, "--quiet", "sleep", "1000"])
        .spawn()
        .expect("systemd-run");
    wait_for("the other scope", || {
        show(&unit, &["ActiveState"])
            .get("ActiveState")
            .map(String::as_str)
            == Some("active")
    });
    c.config["linux"]["cgroupsPath"] = json!(format!("system.slice:pre:{}", c.id));
    c.create().fails().stderr_has("already exists");
    assert!(!c.root.join(&c.id).exists(), "state dir left");
    assert_eq!(
        show(&unit, &["ActiveState"])
            .get("ActiveState")
            .map(String::as_str),
        Some("active"),
        "the existing unit was touched"
    );
    let _ = other.kill();
    let _ = other.wait();
    let _ = Command::new("systemctl").args(["stop", &unit]).status();
    wait_for("the other scope to go", || systemd_units(&c.id).is_empty());
}

#[test]
fn a_refused_unit_is_an_error_with_nothing_left() {
    let Some(mut c) = container("sdrefused") else {
        return;
    };
    // systemd refuses a property it does not know: StartTransientUnit fails after the init
    // exists, so this exercises the cleanup of a created init.
    c.config["annotations"] = json!({"org.systemd.property.NoSuchProperty": "true"});
    let o = c.create();
    o.fails()
        .stderr_has("linux.cgroupsPath")
        .stderr_has("NoSuchProperty");
    assert!(!c.root.join(&c.id).exists(), "state dir left");
    assert!(systemd_units(&c.id).is_empty(), "unit left");
}
