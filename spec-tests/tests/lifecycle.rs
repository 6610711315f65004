//! runtime.md "Lifecycle" and "Operations": create, start, state, kill, delete, run, list,
//! and the errors each operation must give.

use serde_json::json;
use spec_tests::{process_alive, wait_child, wait_for, Container};

#[test]
fn create_start_kill_delete() {
    let mut c = Container::new("lifecycle");
    c.args(&["sleep", "60"]);
    let pidfile = c.scratch("p").join("pid");
    c.create_with(&["--pid-file", &pidfile.display().to_string()])
        .ok();
    let st = c.state();
    assert_eq!(st["status"], "created");
    let pid = st["pid"].as_i64().expect("pid") as i32;
    assert!(pid > 0 && process_alive(pid));
    assert_eq!(
        std::fs::read_to_string(&pidfile).expect("pid file"),
        pid.to_string()
    );
    // Blocked before execve: the init is not yet running `sleep`.
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    assert_ne!(comm.trim(), "sleep", "process ran before start");

    c.start().ok();
    c.wait_status("running");
    let t = std::time::Instant::now();
    while std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .unwrap_or_default()
        .trim()
        != "sleep"
    {
        assert!(
            t.elapsed() < spec_tests::COMMAND_TIMEOUT,
            "init never exec'd sleep"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    c.start().fails(); // not `created` any more
    c.hull(&["delete", &c.id]).fails().stderr_has("running");
    c.hull(&["kill", &c.id, "KILL"]).ok();
    c.wait_status("stopped");
    assert_eq!(c.state()["pid"], 0, "a stopped container reports pid 0");
    c.hull(&["delete", &c.id]).ok();
    assert!(!c.root.join(&c.id).exists(), "state dir removed");
    c.hull(&["state", &c.id])
        .fails()
        .stderr_has("does not exist");
}

#[test]
fn state_json_has_runc_fields() {
    let mut c = Container::new("state");
    c.config["annotations"] = serde_json::json!({"org.example.k": "v"});
    c.create().ok();
    let st = c.state();
    assert_eq!(st["ociVersion"], "1.3.0");
    assert_eq!(st["id"], c.id.as_str());
    assert_eq!(st["status"], "created");
    assert_eq!(
        st["bundle"].as_str(),
        Some(c.bundle.display().to_string().as_str())
    );
    assert_eq!(
        st["rootfs"].as_str(),
        Some(c.rootfs().display().to_string().as_str())
    );
    assert!(
        st["created"].as_str().is_some_and(|s| s.contains('T')),
        "{st}"
    );
    assert!(st.get("owner").is_some(), "owner field: {st}");
    assert_eq!(st["annotations"]["org.example.k"], "v");
    // runc's field order: engines do not care, people reading it do.
    let text = c.hull(&["state", &c.id]).stdout;
    let pos = |k: &str| text.find(&format!("\"{k}\"")).unwrap_or(usize::MAX);
    assert!(pos("ociVersion") < pos("id") && pos("id") < pos("pid") && pos("pid") < pos("status"));
}

#[test]
fn run_returns_exit_status_and_output() {
    let mut c = Container::new("run");
    c.sh("echo out; echo err >&2; hostname; exit 7");
    let o = c.run();
    assert_eq!(o.code, 7, "{o:?}");
    assert_eq!(o.out(), "out\nhull");
    assert!(o.stderr.contains("err"), "{o:?}");
    assert!(!c.root.join(&c.id).exists(), "run deletes the container");
}

#[test]
fn run_killed_by_signal_is_128_plus() {
    let mut c = Container::new("runsig");
    c.args(&["sleep", "60"]);
    let mut child = c.spawn_run(&[]);
    c.wait_status("running");
    c.hull(&["kill", &c.id, "KILL"]).ok();
    assert_eq!(wait_child(&mut child), 137, "{}", c.stdout());
}

/// A signal sent to a foreground `run` while the container is being made is kept and
/// forwarded once the program runs (runc installs its handler before the container's process
/// exists) instead of killing hull midway. A createRuntime hook holds the window open until
/// the test says go; without a pid namespace the forwarded SIGTERM kills `sleep` (an init of
/// a pid namespace ignores a signal it has no handler for): 128+15 from hull's own exit.
/// Hooks start with no signal blocked, also those run after hull blocked what it relays.
#[test]
fn run_forwards_a_signal_sent_while_creating() {
    if spec_tests::needs_root(
        "the container goes without a pid namespace (its pid 1 would ignore the SIGTERM), and \
         a user namespace that does not own the pid namespace may not mount /proc (EPERM)",
    ) {
        return;
    }
    let mut c = Container::new("runsigcreate");
    c.args(&["sleep", "1000"]);
    if let Some(ns) = c.config["linux"]["namespaces"].as_array_mut() {
        ns.retain(|n| n["type"] != "pid");
    }
    let d = c.scratch("hook");
    let dd = d.display();
    let hold = format!(": > {dd}/waiting; while [ ! -e {dd}/go ]; do sleep 0.02; done");
    // Not a shell, which would clear its mask itself: cp copies its own status.
    let status = format!("{dd}/status");
    c.config["hooks"] = json!({
        "createRuntime": [{"path": "/bin/sh", "args": ["sh", "-c", hold]}],
        "poststart": [{"path": "/bin/cp", "args": ["cp", "/proc/self/status", status]}],
    });
    let mut child = c.spawn_run(&[]);
    wait_for("the createRuntime hook", || d.join("waiting").exists());
    // SAFETY: kill(2) on the pid of our own child, not reaped yet.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    std::fs::write(d.join("go"), "").expect("write go");
    let t = std::time::Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait hull run") {
            break s;
        }
        assert!(t.elapsed() < spec_tests::COMMAND_TIMEOUT, "hull run hangs");
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    let err = std::fs::read_to_string(d.join("../stderr")).unwrap_or_default();
    assert_eq!(
        status.code(),
        Some(143),
        "hull run ended with {status:?} (killed by the SIGTERM instead of forwarding it?): {err}"
    );
    let text = std::fs::read_to_string(d.join("status")).unwrap_or_default();
    let blocked = text.lines().find(|l| l.starts_with("SigBlk:"));
    assert_eq!(
        blocked,
        Some("SigBlk:\t0000000000000000"),
        "the poststart hook started with signals blocked"
    );
    assert!(!c.root.join(&c.id).exists(), "run left the container");
}

#[test]
fn run_detach_leaves_it_running() {
    let mut c = Container::new("detach");
    c.args(&["sleep", "60"]);
    c.write_config();
    let b = c.bundle.display().to_string();
    c.hull(&["run", "-d", "--bundle", &b, &c.id]).ok();
    assert_eq!(c.status(), "running");
    c.hull(&["delete", "--force", &c.id]).ok();
}

#[test]
fn kill_signal_forms() {
    // PID 1 only receives signals it handles: the shell traps each and exits with a code
    // that says which one arrived. A signal sent before the traps are set is ignored, so
    // the test waits for the shell to say so ("running" only means it was exec'd).
    let script = "trap 'exit 3' USR1; trap 'exit 4' INT; trap 'exit 5' TERM; echo ready; \
                  while :; do sleep 0.05; done";
    for (sig, want) in [
        (Some("TERM"), 5),
        (Some("SIGUSR1"), 3),
        (Some("2"), 4),
        (None, 5), // SIGTERM by default
    ] {
        let mut c = Container::new("killsig");
        c.sh(script);
        let mut child = c.spawn_run(&[]);
        c.wait_stdout("ready");
        let mut args = vec!["kill", c.id.as_str()];
        args.extend(sig);
        c.hull(&args).ok();
        assert_eq!(wait_child(&mut child), want, "signal {sig:?}");
    }
    let mut c = Container::new("killbad");
    c.args(&["sleep", "60"]);
    c.create().ok();
    c.hull(&["kill", &c.id, "NOSUCHSIG"]).fails();
    assert_eq!(c.status(), "created");
}

#[test]
fn kill_of_created_container_and_delete_force() {
    let mut c = Container::new("killcreated");
    c.args(&["sleep", "60"]);
    c.create().ok();
    let pid = c.pid();
    c.hull(&["delete", "--force", &c.id]).ok();
    assert!(!c.root.join(&c.id).exists());
    let t = std::time::Instant::now();
    while process_alive(pid) {
        assert!(
            t.elapsed() < spec_tests::COMMAND_TIMEOUT,
            "init {pid} survived delete --force"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

#[test]
fn unknown_ids_are_errors() {
    let c = Container::new("unknown");
    for op in [
        vec!["state", "nosuch"],
        vec!["start", "nosuch"],
        vec!["kill", "nosuch"],
        vec!["delete", "nosuch"],
    ] {
        let o = c.hull(&op);
        o.fails().stderr_has("does not exist");
        assert_eq!(o.code, 1);
    }
}

#[test]
fn invalid_and_duplicate_ids() {
    let c = Container::new("badid");
    c.write_config();
    let b = c.bundle.display().to_string();
    for id in ["../x", "", "/", "a/b", "..", "."] {
        c.hull(&["create", "--bundle", &b, id]).fails();
        assert!(!c.root.join("x").exists());
    }
    c.create().ok();
    c.hull(&["create", "--bundle", &b, &c.id])
        .fails()
        .stderr_has("exists");
    assert_eq!(c.status(), "created", "the first container is untouched");
}

#[test]
fn list_formats() {
    let c = Container::new("list");
    c.create().ok();
    let q = c.hull(&["list", "-q"]);
    assert_eq!(q.ok().out(), c.id);
    let j: serde_json::Value =
        serde_json::from_str(&c.hull(&["list", "--format", "json"]).stdout).expect("list json");
    assert_eq!(j[0]["id"], c.id.as_str());
    assert_eq!(j[0]["status"], "created");
    let t = c.hull(&["list"]);
    let mut lines = t.ok().stdout.lines();
    let header = lines.next().unwrap_or("");
    for col in ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"] {
        assert!(header.contains(col), "{header}");
    }
    assert!(lines.next().unwrap_or("").starts_with(&c.id));
    // An existing, empty --root (a --root that does not exist is an error, as in runc 1.5:
    // cli_compat's list_on_a_missing_root_fails).
    let empty = Container::new("listempty");
    std::fs::create_dir_all(&empty.root).expect("mkdir root");
    assert_eq!(empty.hull(&["list", "--format", "json"]).ok().out(), "null");
}

#[test]
fn version_spec_features() {
    let c = Container::new("version");
    let v = c.hull(&["--version"]);
    assert!(v.ok().stdout.contains("spec: 1.3.0"), "{}", v.stdout);
    // runc's layout, which dockerd parses for `docker info`: "<name> version <v>", "commit:".
    let mut lines = v.stdout.lines();
    assert!(
        lines.next().unwrap_or("").starts_with("hull version "),
        "{}",
        v.stdout
    );
    assert!(
        lines.next().unwrap_or("").starts_with("commit: "),
        "{}",
        v.stdout
    );
    assert_eq!(c.hull(&["-v"]).ok().stdout, v.stdout, "-v is --version");
    let d = c.scratch("spec");
    let mut cmd = c.hull_cmd();
    cmd.arg("spec").current_dir(&d);
    spec_tests::run_cmd(cmd, None).ok();
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("config.json")).expect("config"))
            .expect("json");
    assert_eq!(s["ociVersion"], "1.3.0");
    let mut cmd = c.hull_cmd();
    cmd.arg("spec").current_dir(&d);
    spec_tests::run_cmd(cmd, None).fails().stderr_has("exists");
    let f: serde_json::Value =
        serde_json::from_str(&c.hull(&["features"]).ok().stdout).expect("features json");
    assert!(
        f["ociVersionMin"].is_string() && f["ociVersionMax"].is_string(),
        "{f}"
    );
    assert!(f["hooks"].as_array().is_some_and(|h| h.len() == 6), "{f}");
}

/// A state directory without state.json (a create killed before it wrote one) is cleared by
/// `delete`, as runc does; `--force` then succeeds, a plain delete reports it missing.
#[test]
fn delete_clears_an_aborted_create() {
    let c = Container::new("aborted");
    for force in [true, false] {
        let dir = c.root.join(&c.id);
        std::fs::create_dir_all(&dir).expect("mkdir state dir");
        std::fs::write(dir.join("exec.fifo"), "").expect("leftover");
        let mut args = vec!["delete"];
        if force {
            args.push("--force");
        }
        args.push(&c.id);
        let o = c.hull(&args);
        if force {
            o.ok();
        } else {
            o.fails().stderr_has("does not exist");
        }
        assert!(!dir.exists(), "leftover state dir kept (force={force})");
    }
}
