//! A state store under `--root` that was tampered with (by a bug, or by whoever can write
//! there) must not turn a command on one container into an action on another: a symlinked
//! container directory is not followed, and the cgroup recorded in state.json is used only
//! when it is the one the container's saved config asked for. Each test attacks a live
//! victim container and asserts on it from the host.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use spec_tests::{process_alive, Container};

/// A victim: a created and started container running `sleep`.
fn running(name: &str) -> Container {
    let mut c = Container::new(name);
    c.args(&["sleep", "1000"]);
    c.create().ok();
    c.start().ok();
    c.wait_status("running");
    c
}

/// The container's cgroup directories, from its state.json (hull's own record).
fn cgroup_dirs(c: &Container) -> Vec<PathBuf> {
    let text = std::fs::read_to_string(c.root.join(&c.id).join("state.json")).expect("state");
    let v: serde_json::Value = serde_json::from_str(&text).expect("state json");
    v["cgroup"]["dirs"]
        .as_object()
        .expect("cgroup dirs")
        .values()
        .filter_map(|d| d.as_str().map(PathBuf::from))
        .collect()
}

#[test]
fn symlinked_container_dir_is_not_followed() {
    let victim = running("symvictim");
    let pid = victim.pid();
    let link = victim.root.join("evil");
    std::os::unix::fs::symlink(victim.root.join(&victim.id), &link).expect("symlink");
    for args in [
        &["kill", "evil", "KILL"][..],
        &["state", "evil"],
        &["delete", "--force", "evil"],
        &["pause", "evil"],
    ] {
        victim.hull(args).fails().stderr_has("evil");
    }
    let listed = victim.hull(&["list", "-q"]);
    assert_eq!(
        listed.ok().out(),
        victim.id,
        "list shows only the real container"
    );
    assert!(
        process_alive(pid),
        "the victim's init was killed through the link"
    );
    assert_eq!(victim.status(), "running");
    std::fs::remove_file(&link).expect("rm link");
}

#[test]
fn delete_force_leaves_alone_a_cgroup_state_json_points_elsewhere() {
    let victim = running("cgvictim");
    let victim_pid = victim.pid();
    let victim_dirs = cgroup_dirs(&victim);
    let attacker = running("cgattacker");
    let own_dirs = cgroup_dirs(&attacker);
    // Point the attacker's recorded cgroup at the victim's.
    let vstate: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(victim.root.join(&victim.id).join("state.json")).expect("read"),
    )
    .expect("json");
    let apath = attacker.root.join(&attacker.id).join("state.json");
    let mut astate: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&apath).expect("read")).expect("json");
    astate["cgroup"] = vstate["cgroup"].clone();
    std::fs::write(&apath, astate.to_string()).expect("write state");

    let o = attacker.hull(&["delete", "--force", &attacker.id]);
    o.ok().stderr_has(&format!("container {}", attacker.id));
    assert!(
        process_alive(victim_pid),
        "delete --force of another container killed the victim"
    );
    for d in &victim_dirs {
        assert!(
            d.exists(),
            "the victim's cgroup {} was removed",
            d.display()
        );
    }
    assert_eq!(victim.status(), "running");
    // The attacker's own cgroup was ignored with its state: remove it here (it is empty
    // once its init is gone), deepest first.
    remove_cgroups(&own_dirs);
}

/// Removes (now empty) cgroup directories this test made through hull.
fn remove_cgroups(dirs: &[PathBuf]) {
    let t = Instant::now();
    for d in dirs {
        while d.exists() && std::fs::remove_dir(d).is_err() && t.elapsed() < Duration::from_secs(10)
        {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(!Path::new(d).exists(), "could not remove {}", d.display());
    }
}

#[test]
fn list_warns_about_a_corrupt_state_json_and_lists_the_rest() {
    let c = Container::new("corrupt");
    c.create().ok();
    let broken = c.root.join("broken");
    std::fs::create_dir(&broken).expect("mkdir");
    std::fs::write(broken.join("state.json"), "{").expect("write");
    let o = c.hull(&["list", "-q"]);
    assert_eq!(o.ok().out(), c.id);
    o.stderr_has("broken");
    std::fs::remove_dir_all(&broken).expect("rm");
}
