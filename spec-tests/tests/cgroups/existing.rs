//! Cgroups hull did not make: a `linux.cgroupsPath` that already exists (busy, frozen, or a
//! v1 cpuset ancestor with empty `cpus`/`mems`), the rt bandwidth pair lowered together,
//! and `exec --cgroup /`. A part of the `cgroups` module (so it also runs in the v2 guest).

use std::path::PathBuf;
use std::process::{Child, Command};

use serde_json::json;
use spec_tests::{process_alive, Container};

use super::{host_dir, read, v2};

/// A cgroup directory the test made, in one hierarchy (v1 `ctrl`) or the v2 tree. Its drop
/// thaws it, kills what the test put in it and removes it, whatever the test's outcome.
struct TestCgroup {
    dir: PathBuf,
    child: Option<Child>,
}

impl TestCgroup {
    fn new(ctrl: &str, rel: &str) -> TestCgroup {
        let base = if v2() {
            PathBuf::from("/sys/fs/cgroup")
        } else {
            PathBuf::from("/sys/fs/cgroup").join(ctrl)
        };
        let dir = base.join(rel.trim_start_matches('/'));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
        TestCgroup { dir, child: None }
    }

    /// Starts a process in the cgroup.
    fn occupy(&mut self) -> i32 {
        let child = Command::new("sleep")
            .arg("600")
            .spawn()
            .expect("spawn sleep");
        let pid = child.id() as i32;
        self.child = Some(child);
        std::fs::write(self.dir.join("cgroup.procs"), pid.to_string()).expect("move sleep");
        pid
    }

    fn freeze(&self, on: bool) {
        let (file, v) = match (v2(), on) {
            (true, on) => ("cgroup.freeze", if on { "1" } else { "0" }),
            (false, true) => ("freezer.state", "FROZEN"),
            (false, false) => ("freezer.state", "THAWED"),
        };
        let _ = std::fs::write(self.dir.join(file), v);
    }
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        self.freeze(false);
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        // A hull that wrongly joined the cgroup put the container there: the cgroup is the
        // test's own, so whatever is in it goes (the container's delete finds it gone).
        let procs = std::fs::read_to_string(self.dir.join("cgroup.procs")).unwrap_or_default();
        for p in procs.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
            // SAFETY: kill(2) has no memory preconditions.
            unsafe { libc::kill(p, libc::SIGKILL) };
        }
        // Deepest first: hull may have left a child cgroup if it misbehaved.
        let mut dirs = vec![self.dir.clone()];
        if let Ok(rd) = std::fs::read_dir(&self.dir) {
            dirs.extend(rd.flatten().filter(|e| e.path().is_dir()).map(|e| e.path()));
        }
        for d in dirs.iter().rev() {
            let t = std::time::Instant::now();
            while std::fs::remove_dir(d).is_err() && d.exists() && t.elapsed().as_secs() < 10 {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        }
    }
}

#[test]
fn an_existing_frozen_cgroup_is_refused() {
    let mut c = Container::new("cgfrozen");
    let path = format!("/{}-frozen", c.id);
    let cg = TestCgroup::new("freezer", &path);
    cg.freeze(true);
    c.config["linux"]["cgroupsPath"] = json!(path);
    c.args(&["true"]);
    c.create().fails().stderr_has("unexpectedly frozen");
    assert!(!c.root.join(&c.id).exists(), "state dir left behind");
}

#[test]
fn an_existing_cgroup_with_processes_is_refused() {
    let mut c = Container::new("cgbusy");
    let path = format!("/{}-busy", c.id);
    let mut cg = TestCgroup::new("pids", &path);
    let pid = cg.occupy();
    c.config["linux"]["cgroupsPath"] = json!(path);
    c.args(&["true"]);
    c.create().fails().stderr_has("cgroup is not empty");
    assert!(process_alive(pid), "the cgroup's own process was harmed");
    assert!(!c.root.join(&c.id).exists(), "state dir left behind");
}

#[test]
fn v1_cpuset_is_filled_down_from_an_empty_ancestor() {
    if v2() {
        return; // v2 cpusets are usable empty (they inherit their parent's effective set).
    }
    let mut c = Container::new("cgcpuset");
    let parent = format!("/{}-cs", c.id);
    let cg = TestCgroup::new("cpuset", &parent);
    assert_eq!(
        read(cg.dir.join("cpuset.cpus")),
        "",
        "a new v1 cpuset starts empty"
    );
    c.config["linux"]["cgroupsPath"] = json!(format!("{parent}/{}", c.id));
    c.sh("cat /proc/self/status | grep Cpus_allowed_list");
    let o = c.run();
    o.ok();
    assert_eq!(
        read(cg.dir.join("cpuset.cpus")),
        read("/sys/fs/cgroup/cpuset/cpuset.cpus"),
        "the ancestor got its parent's cpus"
    );
    assert!(!read(cg.dir.join("cpuset.mems")).is_empty());
}

#[test]
fn update_lowers_rt_period_and_runtime_together() {
    if v2() || !std::path::Path::new("/sys/fs/cgroup/cpu/cpu.rt_runtime_us").exists() {
        return; // rt bandwidth is a v1 cpu controller file, with CONFIG_RT_GROUP_SCHED.
    }
    let mut c = Container::new("cgrt");
    c.config["linux"]["resources"]["cpu"] =
        json!({"realtimePeriod": 1_000_000, "realtimeRuntime": 500_000});
    c.args(&["sleep", "600"]);
    c.create().ok();
    let d = host_dir(&c, "cpu");
    assert_eq!(read(d.join("cpu.rt_runtime_us")), "500000");
    // The new period is below the current runtime: runtime has to go first.
    c.hull(&[
        "update",
        "--cpu-rt-period",
        "100000",
        "--cpu-rt-runtime",
        "40000",
        &c.id,
    ])
    .ok();
    assert_eq!(read(d.join("cpu.rt_period_us")), "100000");
    assert_eq!(read(d.join("cpu.rt_runtime_us")), "40000");
    // And back up: the period has to go first.
    c.hull(&[
        "update",
        "--cpu-rt-period",
        "1000000",
        "--cpu-rt-runtime",
        "300000",
        &c.id,
    ])
    .ok();
    assert_eq!(read(d.join("cpu.rt_period_us")), "1000000");
    assert_eq!(read(d.join("cpu.rt_runtime_us")), "300000");
}

#[test]
fn exec_cgroup_slash_is_the_containers_own() {
    let mut c = Container::new("cgexecown");
    c.args(&["sleep", "600"]);
    c.create().ok();
    c.start().ok();
    let own = |arg: &str| {
        let o = c.hull(&["exec", "--cgroup", arg, &c.id, "cat", "/proc/self/cgroup"]);
        o.ok();
        let out = &o.stdout;
        let line = out
            .lines()
            .find(|l| v2() || l.split(':').nth(1) == Some("pids"))
            .unwrap_or("")
            .to_string();
        assert!(
            line.ends_with(":/"),
            "--cgroup {arg}: not in the container's own: {out}"
        );
    };
    own("/");
    if !v2() {
        own("pids:/");
    }
}
