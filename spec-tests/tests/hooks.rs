//! config.md "POSIX-platform Hooks" and runtime.md "Lifecycle": the six hook kinds run in
//! order, at their step, in the namespace the spec gives them, with the state on stdin, their
//! own args and env, and their timeout; failures fail the operation they belong to (a
//! poststart failure also stops the container: runtime-spec 1.3.0), except poststop ones,
//! which only warn. State values were compared with runc's.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};
use spec_tests::Container;

const KINDS_CREATE: [&str; 3] = ["prestart", "createRuntime", "createContainer"];

/// Host scratch dir with the logging hook `hook.sh`, and the log it appends to. Each line:
/// `KIND <state json> mnt=<mount ns> seen=<yes|no> env=<sorted env>`.
struct Hooks {
    dir: PathBuf,
    log: PathBuf,
}

fn script(path: &Path, body: &str) {
    std::fs::write(path, format!("#!/bin/sh\n{body}\n")).expect("write hook");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// The logging body: `$1` is the kind, `$2` a path whose existence is reported (a file only
/// the container's mount namespace has).
fn log_body(log: &Path) -> String {
    format!(
        r#"state=$(cat)
if [ -e "$2" ]; then seen=yes; else seen=no; fi
echo "$1 $state mnt=$(readlink /proc/self/ns/mnt) seen=$seen env=$(env | grep -v -e '^PWD=' -e '^SHLVL=' | sort | tr '\n' ',')" >> {}"#,
        log.display()
    )
}

impl Hooks {
    fn new(c: &Container) -> Hooks {
        let dir = c.scratch("hooks");
        let log = dir.join("log");
        script(&dir.join("hook.sh"), &log_body(&log));
        Hooks { dir, log }
    }

    fn lines(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    fn kinds(&self) -> Vec<String> {
        self.lines()
            .iter()
            .filter_map(|l| l.split(' ').next().map(str::to_string))
            .collect()
    }

    /// The entry logged by `kind`: (state, mount ns, seen, env).
    fn entry(&self, kind: &str) -> (Value, String, String, String) {
        let lines = self.lines();
        let l = lines
            .iter()
            .find(|l| l.starts_with(&format!("{kind} ")))
            .unwrap_or_else(|| panic!("{kind} hook did not run: {lines:?}"));
        let rest = &l[kind.len() + 1..];
        let (state, tail) = rest.split_once(" mnt=").expect("mnt field");
        let (mnt, tail) = tail.split_once(" seen=").expect("seen field");
        let (seen, env) = tail.split_once(" env=").expect("env field");
        let state: Value =
            serde_json::from_str(state).unwrap_or_else(|e| panic!("{kind} state {state}: {e}"));
        (state, mnt.to_string(), seen.to_string(), env.to_string())
    }
}

/// A hook entry running `path` with `args` (args[0] first) and a fixed environment.
fn hook(path: &Path, args: &[&str]) -> Value {
    json!({"path": path, "args": args, "env": ["PATH=/usr/bin:/bin", "HOOKVAR=x y"]})
}

#[test]
fn all_six_in_order_with_state_namespace_args_env() {
    let mut c = Container::new("hooks");
    let h = Hooks::new(&c);
    // A bind mount only the container's mount namespace has: the hooks report whether they
    // see its file through the rootfs path (before pivot_root) or /mnt/m (after it).
    let m = c.scratch("m");
    std::fs::write(m.join("marker"), "x").expect("marker");
    c.config["mounts"].as_array_mut().expect("mounts").extend([
        json!({"destination": "/mnt/m", "type": "bind", "source": m, "options": ["rbind"]}),
        // The log's directory, at the same path inside, for the hooks that run after
        // pivot_root and for the container process.
        json!({"destination": h.dir, "type": "bind", "source": h.dir, "options": ["rbind"]}),
    ]);
    let in_rootfs = c.rootfs().join("mnt/m/marker");
    let in_rootfs = in_rootfs.display().to_string();
    let host_hook = h.dir.join("hook.sh");
    // startContainer runs after pivot_root: its path resolves in the container (runc too).
    script(&c.rootfs().join("hook.sh"), &log_body(&h.log));
    let mut hooks = serde_json::Map::new();
    for k in [
        "prestart",
        "createRuntime",
        "createContainer",
        "poststart",
        "poststop",
    ] {
        hooks.insert(
            k.into(),
            json!([hook(&host_hook, &["hook.sh", k, &in_rootfs])]),
        );
    }
    hooks.insert(
        "startContainer".into(),
        json!([hook(
            Path::new("/hook.sh"),
            &["hook.sh", "startContainer", "/mnt/m/marker"]
        )]),
    );
    c.config["hooks"] = Value::Object(hooks);
    c.config["annotations"] = json!({"org.example.hook": "yes"});
    c.sh(&format!(
        "echo process >> {}; exec sleep 60",
        h.log.display()
    ));

    c.create().ok();
    assert_eq!(h.kinds(), KINDS_CREATE, "create runs these, in this order");
    let pid = c.pid();
    let host_mnt = std::fs::read_link("/proc/self/ns/mnt")
        .expect("own mnt ns")
        .display()
        .to_string();
    let ctr_mnt = std::fs::read_link(format!("/proc/{pid}/ns/mnt"))
        .expect("init mnt ns")
        .display()
        .to_string();
    assert_ne!(host_mnt, ctr_mnt);

    c.start().ok();
    c.wait_status("running");
    let t = std::time::Instant::now();
    while !h.kinds().iter().any(|k| k == "process") {
        assert!(
            t.elapsed() < spec_tests::COMMAND_TIMEOUT,
            "process never ran: {:?}",
            h.kinds()
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    c.hull(&["kill", &c.id, "KILL"]).ok();
    c.wait_status("stopped");
    c.hull(&["delete", &c.id]).ok();

    let kinds = h.kinds();
    let pos = |k: &str| kinds.iter().position(|x| x == k).unwrap_or(usize::MAX);
    assert_eq!(
        kinds[..4],
        [
            "prestart",
            "createRuntime",
            "createContainer",
            "startContainer"
        ],
        "{kinds:?}"
    );
    assert!(pos("startContainer") < pos("process"), "{kinds:?}");
    assert!(pos("poststart") < pos("poststop"), "{kinds:?}");
    assert_eq!(kinds.last().map(String::as_str), Some("poststop"));
    assert_eq!(kinds.len(), 7, "each hook once: {kinds:?}");

    let bundle = c.bundle.display().to_string();
    // (kind, status, pid, mount namespace, sees the container-only file)
    let want: [(&str, &str, Option<i64>, &str, &str); 6] = [
        ("prestart", "creating", Some(pid as i64), &host_mnt, "no"),
        (
            "createRuntime",
            "creating",
            Some(pid as i64),
            &host_mnt,
            "no",
        ),
        // In the container's namespaces: its pid there is 1 (as runc reports it).
        ("createContainer", "creating", Some(1), &ctr_mnt, "yes"),
        ("startContainer", "created", Some(1), &ctr_mnt, "yes"),
        ("poststart", "running", Some(pid as i64), &host_mnt, "no"),
        ("poststop", "stopped", None, &host_mnt, "no"),
    ];
    for (kind, status, want_pid, mnt, seen) in want {
        let (st, got_mnt, got_seen, env) = h.entry(kind);
        assert_eq!(st["status"], status, "{kind}: {st}");
        assert_eq!(st["id"], c.id.as_str(), "{kind}: {st}");
        assert_eq!(st["bundle"], bundle.as_str(), "{kind}: {st}");
        assert_eq!(st["ociVersion"], "1.3.0", "{kind}: {st}");
        assert_eq!(st["annotations"]["org.example.hook"], "yes", "{kind}: {st}");
        match want_pid {
            Some(p) => assert_eq!(st["pid"].as_i64(), Some(p), "{kind}: {st}"),
            None => assert!(
                st.get("pid").is_none_or(|p| p == 0),
                "{kind}: no process, no pid: {st}"
            ),
        }
        assert_eq!(got_mnt, mnt, "{kind} ran in the wrong mount namespace");
        assert_eq!(got_seen, seen, "{kind}: container-only file seen?");
        // Exactly the hook's env: nothing of hull's own (the test's HULL, PATH...).
        assert_eq!(env, "HOOKVAR=x y,PATH=/usr/bin:/bin,", "{kind} env");
    }
}

#[test]
fn hook_args_zero_and_output() {
    let mut c = Container::new("hookargs");
    let h = Hooks::new(&c);
    let out = h.dir.join("argv");
    // busybox picks its applet by argv[0]: this only works if args[0] is passed as argv[0]
    // rather than the path.
    let bb = spec_tests::busybox_bin();
    let big = h.dir.join("big.sh");
    // More output than a pipe holds must not block the runtime (runc reads it all).
    script(
        &big,
        "head -c 1000000 /dev/zero; head -c 300000 /dev/zero >&2; exit 0",
    );
    c.config["hooks"] = json!({
        "prestart": [
            {"path": bb, "args": ["sh", "-c", format!("echo \"$0 $1\" > {}", out.display()), "zero", "one"]},
            {"path": big},
        ]
    });
    c.create().ok();
    assert_eq!(
        std::fs::read_to_string(&out).expect("argv").trim(),
        "zero one"
    );
}

#[test]
fn hook_without_env_gets_the_runtimes() {
    let mut c = Container::new("hookenv");
    let h = Hooks::new(&c);
    let dump = h.dir.join("dump.sh");
    script(&dump, &format!("env > {}/env.$1", h.dir.display()));
    // No `env`: the runtime's environment, as runc (Go's exec with a nil Env) passes it;
    // an empty `env`: nothing.
    c.config["hooks"] = json!({"prestart": [
        {"path": dump, "args": ["dump.sh", "absent"]},
        {"path": dump, "args": ["dump.sh", "empty"], "env": []},
    ]});
    c.create().ok();
    let path = std::env::var("PATH").expect("PATH");
    let absent = std::fs::read_to_string(h.dir.join("env.absent")).expect("env.absent");
    assert!(
        absent.lines().any(|l| l == format!("PATH={path}")),
        "{absent}"
    );
    let empty = std::fs::read_to_string(h.dir.join("env.empty")).expect("env.empty");
    assert!(
        empty
            .lines()
            .all(|l| l.starts_with("PWD=") || l.starts_with("SHLVL=")),
        "{empty}"
    );
}

#[test]
fn hook_timeout_fails_create_and_cleans_up() {
    let mut c = Container::new("hooktimeout");
    let h = Hooks::new(&c);
    let slow = h.dir.join("slow.sh");
    script(&slow, "exec sleep 45");
    c.config["hooks"] = json!({"createRuntime": [{"path": slow, "timeout": 1}]});
    c.create()
        .fails()
        .stderr_has("hooks.createRuntime[0]")
        .stderr_has("timed out");
    assert!(!c.root.join(&c.id).exists(), "state dir left behind");
    // (The harness checks that no mount, cgroup or process of the container is left.)

    // A hook that leaves a daemon holding its stdout is done when it exits.
    let pidf = h.dir.join("daemon.pid");
    let daemon = h.dir.join("daemon.sh");
    script(
        &daemon,
        &format!("sleep 100 & echo $! > {}; echo started", pidf.display()),
    );
    c.config["hooks"] = json!({"prestart": [{"path": daemon}]});
    let o = c.create();
    if let Ok(p) = std::fs::read_to_string(&pidf) {
        let _ = Command::new("kill").arg(p.trim()).status();
    }
    o.ok();
}

#[test]
fn failing_create_hooks_fail_create_naming_the_hook() {
    for (i, kind) in KINDS_CREATE.iter().enumerate() {
        let mut c = Container::new("hookfail");
        let h = Hooks::new(&c);
        let bad = h.dir.join("bad.sh");
        script(&bad, "echo boom-$1 >&2; exit 3");
        let ok = h.dir.join("hook.sh");
        // A hook of the same kind after the failing one must not run.
        c.config["hooks"] = json!({});
        c.config["hooks"][*kind] = json!([
            {"path": ok, "args": ["hook.sh", "first", "/"]},
            {"path": bad, "args": ["bad.sh", i.to_string()]},
            {"path": ok, "args": ["hook.sh", "after", "/"]},
        ]);
        c.args(&["sleep", "60"]);
        let o = c.create();
        o.fails()
            .stderr_has(&format!("hooks.{kind}[1]"))
            .stderr_has(&format!("boom-{i}"))
            .stderr_has("exit status 3");
        assert_eq!(o.code, 1);
        assert!(
            !c.root.join(&c.id).exists(),
            "{kind}: state dir left behind"
        );
        assert_eq!(h.kinds(), ["first"], "{kind}: later hooks ran");
    }
}

#[test]
fn failing_start_container_hook_fails_start() {
    let mut c = Container::new("hookstart");
    script(&c.rootfs().join("bad.sh"), "echo nope >&2; exit 4");
    c.config["hooks"] = json!({"startContainer": [{"path": "/bad.sh"}]});
    let h = Hooks::new(&c);
    c.sh(&format!("echo ran > {}/ran", h.dir.display()));
    c.create().ok();
    c.start()
        .fails()
        .stderr_has("hooks.startContainer[0]")
        .stderr_has("nope");
    // The container is stopped and its program never ran.
    c.wait_status("stopped");
    assert!(!h.dir.join("ran").exists());
    c.hull(&["delete", &c.id]).ok();

    // A passing one lets start return only after the program is on its way.
    let mut c = Container::new("hookstartok");
    script(&c.rootfs().join("ok.sh"), "exit 0");
    c.config["hooks"] = json!({"startContainer": [{"path": "/ok.sh"}]});
    c.args(&["sleep", "60"]);
    c.create().ok();
    c.start().ok();
    assert_eq!(c.status(), "running");
}

#[test]
fn poststart_failure_fails_start_and_poststop_failures_only_warn() {
    let mut c = Container::new("hookpost");
    let h = Hooks::new(&c);
    let bad = h.dir.join("bad.sh");
    script(&bad, "echo post-fail >&2; exit 5");
    let ok = h.dir.join("hook.sh");
    c.config["hooks"] = json!({
        "poststart": [
            {"path": ok, "args": ["hook.sh", "poststart", "/"]},
            {"path": bad},
            {"path": ok, "args": ["hook.sh", "poststart", "/"]},
        ],
        "poststop": [
            {"path": bad},
            {"path": ok, "args": ["hook.sh", "poststop", "/"]},
        ],
    });
    c.args(&["sleep", "60"]);
    c.create().ok();
    // runtime-spec 1.3.0 (and runc): a failing poststart hook fails `start` and stops the
    // container; the hooks after it do not run.
    let o = c.start();
    o.fails().stderr_has("hooks.poststart[1]");
    assert_eq!(
        c.status(),
        "stopped",
        "a poststart failure stops the container"
    );
    assert_eq!(
        h.kinds(),
        ["poststart"],
        "the hooks after the failed one do not run"
    );
    let o = c.hull(&["delete", &c.id]);
    o.ok().stderr_has("hooks.poststop[0]");
    assert!(!c.root.join(&c.id).exists());
    assert_eq!(h.kinds(), ["poststart", "poststop"]);
}

#[test]
fn hooks_may_ask_the_runtime_for_the_state() {
    // Hooks call `runc state` (runc has no lock that would make them wait for the command
    // that runs them): the same with hull must answer at once, not deadlock on the lock.
    let mut c = Container::new("hookstate");
    let h = Hooks::new(&c);
    let ask = h.dir.join("ask.sh");
    script(
        &ask,
        &format!(
            "{} --root {} state {} > {}/state.$1 2>&1; exit 0",
            spec_tests::hull_bin().display(),
            c.root.display(),
            c.id,
            h.dir.display()
        ),
    );
    c.config["hooks"] = json!({
        "createRuntime": [{"path": ask, "args": ["ask.sh", "createRuntime"], "timeout": 20}],
        "poststart": [{"path": ask, "args": ["ask.sh", "poststart"], "timeout": 20}],
    });
    c.args(&["sleep", "60"]);
    c.create().ok();
    let during = std::fs::read_to_string(h.dir.join("state.createRuntime")).expect("state");
    // Mid-create the container is `creating` (runtime-spec's status; runc says it does not
    // exist yet): state.json is create's intent from the moment the id is claimed.
    let st: Value = serde_json::from_str(&during).unwrap_or_else(|e| panic!("{during}: {e}"));
    assert_eq!(st["status"], "creating", "{st}");
    let o = c.start();
    o.ok();
    assert!(!o.stderr.contains("hooks."), "{}", o.stderr);
    let after = std::fs::read_to_string(h.dir.join("state.poststart")).expect("state");
    let st: Value = serde_json::from_str(&after).unwrap_or_else(|e| panic!("{after}: {e}"));
    assert_eq!(st["status"], "running", "{st}");
}

#[test]
fn bad_hook_entries_are_config_errors() {
    // config.md: path MUST be absolute; timeout, if set, MUST be greater than zero.
    for (hook, field) in [
        (json!({"path": "relative/hook"}), "hooks.poststop[0].path"),
        (
            json!({"path": "/bin/true", "timeout": 0}),
            "hooks.poststop[0].timeout",
        ),
        (
            json!({"path": "/bin/true", "timeout": -3}),
            "hooks.poststop[0].timeout",
        ),
    ] {
        let mut c = Container::new("hookbad");
        c.config["hooks"] = json!({"poststop": [hook]});
        let o = c.create();
        o.fails().stderr_has(field);
        assert!(!c.root.join(&c.id).exists());
    }
}

#[test]
fn init_hooks_get_the_process_env_and_runcs_cwd() {
    let mut c = Container::new("hookprocenv");
    let out = c.scratch("out");
    c.config["process"]["env"] = json!(["PATH=/bin", "FROM_PROCESS=1"]);
    c.config["root"]["readonly"] = false.into();
    c.config["hooks"] = json!({
        // Before pivot_root: a host path, run in the rootfs as runc's init does.
        "createContainer": [{"path": "/bin/sh", "args": ["sh", "-c",
            format!("pwd > {0}/cwd; env > {0}/create.env", out.display())]}],
        "startContainer": [{"path": "/bin/sh", "args": ["sh", "-c", "env > /start.env"]}],
    });
    c.write_config();
    let mut cmd = c.hull_cmd();
    cmd.env("HULL_CALLERS_SECRET", "leak")
        .args(["run", "--bundle"])
        .arg(&c.bundle)
        .arg(&c.id);
    spec_tests::run_cmd(cmd, None).ok();
    let start = std::fs::read_to_string(c.rootfs().join("start.env")).expect("start hook ran");
    let create = std::fs::read_to_string(out.join("create.env")).expect("create hook ran");
    for (kind, env) in [("startContainer", &start), ("createContainer", &create)] {
        assert!(env.lines().any(|l| l == "FROM_PROCESS=1"), "{kind}: {env}");
        assert!(!env.contains("HULL_CALLERS_SECRET"), "{kind}: {env}");
    }
    let cwd = std::fs::read_to_string(out.join("cwd")).expect("cwd");
    assert_eq!(cwd.trim(), c.rootfs().display().to_string());
}
