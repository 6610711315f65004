//! runc's command line where scripts and engines lean on its details: negative numbers as
//! separate arguments, `kill` with signal 0 and SIGKILL without a pid namespace, `list` on a
//! missing `--root`, an unusable `--log`, `exec`'s 255, the `level=error` stderr line,
//! `spec`'s namespaces and `events`' field order.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use spec_tests::{hull_bin, process_alive, run_cmd, Container, Out};

fn hull(args: &[&str]) -> Out {
    let mut c = std::process::Command::new(hull_bin());
    c.args(args);
    run_cmd(c, None)
}

#[track_caller]
fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < Duration::from_secs(20), "timed out: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The container's v1 cgroup directory for `ctrl` on the host (the suite's host is v1).
fn host_dir(c: &Container, ctrl: &str) -> PathBuf {
    let cg = std::fs::read_to_string(format!("/proc/{}/cgroup", c.pid())).expect("cgroup");
    let rel = cg
        .lines()
        .map(|l| l.splitn(3, ':').collect::<Vec<_>>())
        .find(|f| f.len() == 3 && f[1].split(',').any(|x| x == ctrl))
        .map(|f| f[2].trim_start_matches('/').to_string())
        .unwrap_or_else(|| panic!("no {ctrl} cgroup in {cg}"));
    Path::new("/sys/fs/cgroup").join(ctrl).join(rel)
}

fn read(p: PathBuf) -> String {
    std::fs::read_to_string(&p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .trim()
        .to_string()
}

#[test]
fn negative_numbers_as_separate_arguments() {
    if !Path::new("/sys/fs/cgroup/memory/memory.limit_in_bytes").exists() {
        return; // reads v1 files on the host
    }
    let mut c = Container::new("clineg");
    c.config["linux"]["resources"]["memory"] = json!({"limit": 67108864});
    c.config["linux"]["resources"]["pids"] = json!({"limit": 50});
    c.config["linux"]["resources"]["cpu"] = json!({"quota": 50000, "period": 100000});
    c.args(&["sleep", "600"]);
    // runc's --preserve-fds is a signed int: a negative count passes nothing.
    c.create_with(&["--preserve-fds", "-1"]).ok();
    c.hull(&[
        "update",
        "--memory",
        "-1",
        "--pids-limit",
        "-1",
        "--cpu-quota",
        "-1",
        &c.id,
    ])
    .ok();
    let limit: u64 = read(host_dir(&c, "memory").join("memory.limit_in_bytes"))
        .parse()
        .expect("limit");
    assert!(limit > 1 << 50, "memory unlimited: {limit}");
    assert_eq!(read(host_dir(&c, "pids").join("pids.max")), "max");
    assert_eq!(read(host_dir(&c, "cpu").join("cpu.cfs_quota_us")), "-1");
    c.start().ok();
    let o = c.hull(&["exec", "--preserve-fds", "-1", &c.id, "true"]);
    o.ok();
}

#[test]
fn kill_signal_zero_checks_the_init() {
    let mut c = Container::new("clikill0");
    c.args(&["sleep", "600"]);
    c.create().ok();
    c.start().ok();
    c.hull(&["kill", &c.id, "0"]).ok();
    assert_eq!(c.status(), "running", "signal 0 delivers nothing");
    c.hull(&["kill", &c.id, "KILL"]).ok();
    c.wait_status("stopped");
    c.hull(&["kill", &c.id, "0"])
        .fails()
        .stderr_has("not running");
}

#[test]
fn sigkill_without_a_pid_namespace_reaches_every_process() {
    let mut c = Container::new("clikillhost");
    c.config["linux"]["namespaces"] = json!([{"type": "mount"}]);
    c.config.as_object_mut().map(|o| o.remove("hostname"));
    c.sh("sleep 671 & sleep 672 & exec sleep 673");
    c.create().ok();
    c.start().ok();
    let mut pids: Vec<i32> = Vec::new();
    wait_for("three processes", || {
        let o = c.hull(&["ps", "--format", "json", &c.id]);
        pids = serde_json::from_str(o.out()).unwrap_or_default();
        pids.len() == 3
    });
    // No --all: killing the init alone would leave the two others running on the host.
    c.hull(&["kill", &c.id, "KILL"]).ok();
    wait_for("every process gone", || {
        pids.iter().all(|p| !process_alive(*p))
    });
    c.wait_status("stopped");
}

#[test]
fn list_on_a_missing_root_fails() {
    let c = Container::new("clilistroot");
    let missing = c.scratch("list").join("no-such-root");
    let m = missing.display().to_string();
    for args in [&["--root", &m, "list"][..], &["--root", &m, "list", "-q"]] {
        hull(args).fails().stderr_has(&m);
    }
    // An existing empty root lists nothing.
    let empty = c.scratch("empty-root").display().to_string();
    assert_eq!(hull(&["--root", &empty, "list", "-q"]).ok().out(), "");
}

#[test]
fn an_unusable_log_path_is_an_error() {
    let c = Container::new("clilogpath");
    let d = c.scratch("log");
    let root = c.root.display().to_string();
    for bad in [d.join("no-dir/hull.log"), d.clone()] {
        let b = bad.display().to_string();
        let o = hull(&["--root", &root, "--log", &b, "list"]);
        o.fails().stderr_has(&b);
    }
}

#[test]
fn exec_exits_255_when_hull_fails() {
    let mut c = Container::new("cliexec255");
    c.args(&["sleep", "600"]);
    c.create().ok();
    c.start().ok();
    // hull's failures: no such container, no such program.
    let o = c.hull(&["exec", "hull-no-such-container", "true"]);
    assert_eq!(o.code, 255, "{o:?}");
    let o = c.hull(&["exec", &c.id, "/no/such/program"]);
    assert_eq!(o.code, 255, "{o:?}");
    o.stderr_has("exec failed");
    // The program's own status is passed through.
    assert_eq!(c.hull(&["exec", &c.id, "sh", "-c", "exit 3"]).code, 3);
}

#[test]
fn a_failing_commands_stderr_says_error() {
    let c = Container::new("clistderr");
    let root = c.root.display().to_string();
    // Without --log, stderr is runc's (logrus's) log: time="..." level=error msg="...".
    let o = hull(&["--root", &root, "state", "hull-none"]);
    o.fails();
    let line = o.stderr.lines().next().unwrap_or_default();
    assert!(
        line.starts_with("time=\"") && line.contains(" level=error msg=\"container does not exist"),
        "{:?}",
        o.stderr
    );
    // --log-format json without --log: the JSON line on stderr.
    let o = hull(&[
        "--root",
        &root,
        "--log-format",
        "json",
        "state",
        "hull-none",
    ]);
    o.fails();
    let v: Value = serde_json::from_str(o.stderr.trim()).expect("one JSON line");
    assert_eq!(v["level"], "error");
    assert!(v["msg"].as_str().unwrap_or("").contains("does not exist"));
    // With --log the line goes to the file and stderr has the bare message (runc's fatal).
    let log = c.scratch("log").join("log");
    let l = log.display().to_string();
    let o = hull(&["--root", &root, "--log", &l, "state", "hull-none"]);
    o.fails();
    assert!(
        o.stderr.starts_with("container does not exist"),
        "{:?}",
        o.stderr
    );
    assert!(read(log).contains("level=error"));
}

#[test]
fn spec_writes_runcs_namespaces() {
    let c = Container::new("clispecns");
    for (rootless, want) in [
        (false, vec!["pid", "network", "ipc", "uts", "mount"]),
        (true, vec!["pid", "ipc", "uts", "mount", "user"]),
    ] {
        let d = c.scratch(if rootless { "rootless" } else { "root" });
        let b = d.display().to_string();
        let mut args = vec!["spec", "--bundle", b.as_str()];
        if rootless {
            args.push("--rootless");
        }
        hull(&args).ok();
        let spec: Value = serde_json::from_str(&read(d.join("config.json"))).expect("config.json");
        let ns: Vec<&str> = spec["linux"]["namespaces"]
            .as_array()
            .expect("namespaces")
            .iter()
            .filter_map(|n| n["type"].as_str())
            .collect();
        assert_eq!(ns, want, "rootless={rootless}");
    }
}

#[test]
fn events_keep_runcs_field_order() {
    let mut c = Container::new("clievents");
    c.args(&["sleep", "600"]);
    c.create().ok();
    let o = c.hull(&["events", "--stats", &c.id]);
    o.ok();
    let want = format!("{{\"type\":\"stats\",\"id\":\"{}\",\"data\":{{", c.id);
    assert!(o.stdout.starts_with(&want), "{}", o.stdout);
}
