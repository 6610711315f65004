//! Crash safety of `create` (docs/state.md "Intent"): a `create` SIGKILLed at any point
//! leaves a container that `state` and `list` report (`creating` while it runs, `stopped`
//! once it is gone) and that `delete --force` removes entirely: state dir, temporary claims,
//! cgroups, processes. The kill points are the phases `hull --debug create` reports; the
//! test hook `HULL_TEST_KILL_AT=<phase>` makes `create` SIGKILL itself at the end of one.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::json;
use spec_tests::{process_alive, run_cmd, Container};

/// The phases of one `hull --debug create`, in order, as its log names them.
fn phase_names() -> Vec<String> {
    let c = Container::new("crash-phases");
    let log = c.scratch("log").join("debug.log");
    c.create_with(&[]).ok();
    c.hull(&["delete", "--force", &c.id]).ok();
    let b = c.bundle.display().to_string();
    let l = log.display().to_string();
    c.hull(&["--debug", "--log", &l, "create", "--bundle", &b, &c.id])
        .ok();
    let text = std::fs::read_to_string(&log).expect("debug log");
    let mut names = Vec::new();
    for line in text.lines() {
        // `phase NAME: Nus (at Tus)`, possibly inside a JSON or logfmt line.
        let Some(rest) = line.split("phase ").nth(1) else {
            continue;
        };
        let Some((name, _)) = rest.rsplit_once(": ") else {
            continue;
        };
        let name = name.trim().to_string();
        if !names.contains(&name) {
            names.push(name);
        }
    }
    assert!(
        names.iter().any(|n| n == "save state") && names.iter().any(|n| n.starts_with("init: ")),
        "unexpected phase list {names:?} from:\n{text}"
    );
    names
}

/// Processes whose root is `rootfs` (a pivoted init that outlived its `create`).
fn processes_in(rootfs: &Path) -> Vec<i32> {
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    rd.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|p| std::fs::read_link(format!("/proc/{p}/root")).is_ok_and(|r| r == rootfs))
        .filter(|p| process_alive(*p))
        .collect()
}

/// Everything of the container under its `--root`.
fn root_entries(c: &Container) -> Vec<String> {
    std::fs::read_dir(&c.root)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// After `create` died: the container is reported stopped (once its id was claimed), and
/// `delete --force` leaves nothing (the harness's leak check then runs on drop).
#[track_caller]
fn assert_recoverable(c: &Container, phase: &str) {
    if !root_entries(c).is_empty() {
        let st = c.state();
        // Killed after the last save, the container exists (and its init waits for start).
        let want = if phase == "save state" {
            "created"
        } else {
            "stopped"
        };
        assert_eq!(st["status"], want, "after a kill at {phase:?}: {st}");
        let list = c.hull(&["list", "-q"]);
        list.ok();
        assert!(
            list.stdout.lines().any(|l| l == c.id),
            "after a kill at {phase:?}: list does not show it: {}",
            list.stdout
        );
    }
    c.hull(&["delete", "--force", &c.id]).ok();
    assert!(
        root_entries(c).is_empty(),
        "after a kill at {phase:?} and delete --force, the root holds {:?}",
        root_entries(c)
    );
    // An init killed by its parent's death may take a moment to be reaped.
    let t = Instant::now();
    let rootfs = c.rootfs().canonicalize().expect("rootfs");
    while !processes_in(&rootfs).is_empty() && t.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        processes_in(&rootfs),
        Vec::<i32>::new(),
        "after a kill at {phase:?}: processes in the container's rootfs survive"
    );
}

#[test]
fn create_killed_at_each_phase_leaves_nothing_delete_cannot_remove() {
    let phases = phase_names();
    for phase in &phases {
        let c = Container::new("crash-phase");
        c.write_config();
        let mut cmd = c.hull_cmd();
        // Under --debug, as the phases were listed: the init's timings (phase `init`) are
        // only sent then.
        let log = c.scratch("log").join("debug.log");
        cmd.env("HULL_TEST_KILL_AT", phase)
            .arg("--debug")
            .arg("--log")
            .arg(&log)
            .arg("create")
            .arg("--bundle")
            .arg(&c.bundle)
            .arg(&c.id);
        let o = run_cmd(cmd, None);
        assert_eq!(o.code, 128 + 9, "create was not killed at {phase:?}: {o:?}");
        assert_recoverable(&c, phase);
    }
}

/// Without the test hook, as an engine would see it: `create` killed while a createRuntime
/// hook runs (the id claimed, the cgroup made, the init cloned and waiting).
#[test]
fn create_killed_during_a_hook_leaves_nothing_delete_cannot_remove() {
    let mut c = Container::new("crash-hook");
    let marker = c.scratch("hook").join("pid");
    let hook = c.scratch("hook").join("hook.sh");
    std::fs::write(
        &hook,
        format!(
            "#!/bin/sh\necho $$ > {}.tmp; mv {0}.tmp {0}\nexec sleep 60\n",
            marker.display()
        ),
    )
    .expect("write hook");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    c.config["hooks"] = json!({"createRuntime": [{"path": hook}]});
    c.write_config();
    let mut cmd = c.hull_cmd();
    cmd.arg("create").arg("--bundle").arg(&c.bundle).arg(&c.id);
    cmd.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut create = cmd.spawn().expect("spawn create");
    let t = Instant::now();
    while !marker.exists() {
        assert!(t.elapsed() < Duration::from_secs(60), "the hook never ran");
        std::thread::sleep(Duration::from_millis(10));
    }
    // The hook runs in the middle of create: the state says so.
    assert_eq!(c.status(), "creating");
    let _ = create.kill();
    let _ = create.wait();
    // The hook is ours to end: its shell's pid, which `exec sleep` kept.
    let hook_pid = std::fs::read_to_string(&marker).unwrap_or_default();
    let _ = Command::new("kill")
        .args(["-KILL", hook_pid.trim()])
        .status();
    assert_recoverable(&c, "createRuntime hook");
}

/// A claim's temporary directory (`~<id>~<pid>`) left by a `create` killed before it named
/// it is removed by `delete --force` of that id once its process is gone.
#[test]
fn delete_removes_a_dead_creates_temporary_claim() {
    let c = Container::new("crash-claim");
    let mut dead = Command::new("true").spawn().expect("spawn true");
    let pid = dead.id();
    let _ = dead.wait();
    let tmp = c.root.join(format!("~{}~{pid}", c.id));
    std::fs::create_dir_all(&tmp).expect("mkdir claim");
    std::fs::write(tmp.join("state.json"), "{}").expect("write");
    c.hull(&["delete", "--force", &c.id]).ok();
    assert!(!tmp.exists(), "{} survived delete --force", tmp.display());
}
