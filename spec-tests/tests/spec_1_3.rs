//! runtime-spec 1.3.0 additions (config-linux.md "Memory policy", "Network Devices",
//! "IntelRdt") and what runc added around them: checked from inside the container.

use serde_json::json;
use spec_tests::Container;

/// `create` fails naming `field`, with `msg`, leaving no state directory.
#[track_caller]
fn create_fails(c: &Container, field: &str, msg: &str) {
    let o = c.create();
    o.fails().stderr_has(field).stderr_has(msg);
    assert!(!c.root.join(&c.id).exists(), "state dir left behind");
}

#[test]
fn memory_policy_is_set_for_the_process() {
    let mut c = Container::new("mempolicy");
    c.config["linux"]["memoryPolicy"] = json!({
        "mode": "MPOL_INTERLEAVE", "nodes": "0", "flags": ["MPOL_F_STATIC_NODES"]
    });
    c.args(&["checker", "mempolicy"]);
    let o = c.run();
    // MPOL_INTERLEAVE is 3, MPOL_F_STATIC_NODES 1 << 15.
    assert_eq!(o.ok().out().trim(), "mode=3 flags=0x8000 nodes=0x1");

    let mut c = Container::new("mempolicybind");
    c.config["linux"]["memoryPolicy"] = json!({"mode": "MPOL_BIND", "nodes": "0"});
    c.args(&["checker", "mempolicy"]);
    assert_eq!(c.run().ok().out().trim(), "mode=2 flags=0x0 nodes=0x1");

    let mut c = Container::new("mempolicynone");
    c.args(&["checker", "mempolicy"]);
    assert_eq!(c.run().ok().out().trim(), "mode=0 flags=0x0 nodes=0x0");
}

#[test]
fn memory_policy_rules_are_config_errors() {
    for (policy, field, msg) in [
        (
            json!({"mode": "MPOL_BIND"}),
            "linux.memoryPolicy.nodes",
            "needs at least one node",
        ),
        (
            json!({"mode": "MPOL_LOCAL", "nodes": "0"}),
            "linux.memoryPolicy.nodes",
            "must be empty",
        ),
        (
            json!({"mode": "MPOL_BIND", "nodes": "0-x"}),
            "linux.memoryPolicy.nodes",
            "not a node",
        ),
        (
            json!({"mode": "MPOL_BIND", "nodes": "0",
                   "flags": ["MPOL_F_STATIC_NODES", "MPOL_F_RELATIVE_NODES"]}),
            "linux.memoryPolicy.flags",
            "exclude each other",
        ),
        (
            json!({"mode": "MPOL_NOPE"}),
            "linux.memoryPolicy",
            "MPOL_NOPE",
        ),
    ] {
        let mut c = Container::new("mempolicybad");
        c.config["linux"]["memoryPolicy"] = policy;
        create_fails(&c, field, msg);
    }
    // A node the host does not have: the kernel's refusal, still naming the field.
    let mut c = Container::new("mempolicyoffline");
    c.config["linux"]["memoryPolicy"] = json!({"mode": "MPOL_BIND", "nodes": "63"});
    create_fails(&c, "linux.memoryPolicy", "set_mempolicy");
}

#[test]
fn intel_rdt_without_resctrl_is_refused_naming_the_field() {
    let resctrl = std::fs::read_to_string("/proc/self/mountinfo")
        .expect("mountinfo")
        .contains(" - resctrl ");
    if resctrl {
        eprintln!("skipped: this host has resctrl mounted");
        return;
    }
    for rdt in [
        json!({"closID": "hull-test", "l3CacheSchema": "L3:0=ff"}),
        json!({"schemata": ["MB:0=50"]}),
        json!({"enableMonitoring": true}),
    ] {
        let mut c = Container::new("intelrdt");
        c.config["linux"]["intelRdt"] = rdt;
        create_fails(&c, "linux.intelRdt", "the host has no resctrl");
    }
    let mut c = Container::new("intelrdtclos");
    c.config["linux"]["intelRdt"] = json!({"closID": "../escape"});
    create_fails(&c, "linux.intelRdt.closID", "not a resctrl group name");
}

/// A veth pair made for one test, deleted when dropped (even when the test fails).
struct Veth {
    name: String,
}

impl Veth {
    fn new(tag: &str) -> Veth {
        let name = format!("hv{tag}{}", std::process::id() % 100000);
        let peer = format!("{name}p");
        let o = std::process::Command::new("ip")
            .args(["link", "add", &name, "type", "veth", "peer", "name", &peer])
            .output()
            .expect("ip link add");
        assert!(o.status.success(), "ip link add: {o:?}");
        Veth { name }
    }

    fn on_host(&self) -> bool {
        std::path::Path::new("/sys/class/net")
            .join(&self.name)
            .exists()
    }
}

impl Drop for Veth {
    fn drop(&mut self) {
        let _ = std::process::Command::new("ip")
            .args(["link", "del", &self.name])
            .output();
    }
}

#[test]
fn net_devices_move_in_renamed_and_back_on_delete() {
    let veth = Veth::new("a");
    let mut c = Container::new("netdev");
    c.config["linux"]["netDevices"] = json!({ &veth.name: {"name": "ctr7"} });
    c.args(&["sleep", "600"]);
    c.create().ok();
    assert!(!veth.on_host(), "moved out of the host's namespace");
    c.start().ok();
    let o = c.hull(&["exec", &c.id, "ip", "-o", "link", "show"]);
    let out = o.ok().out();
    let line = out
        .lines()
        .find(|l| l.contains(": ctr7@") || l.contains(": ctr7:"))
        .unwrap_or_else(|| panic!("no ctr7 in the container: {out}"));
    assert!(
        line.contains(",UP") || line.contains("<UP"),
        "set up: {line}"
    );
    assert!(!out.contains(&veth.name), "renamed: {out}");
    c.hull(&["delete", "--force", &c.id]).ok();
    assert!(
        veth.on_host(),
        "back on the host under its own name after delete"
    );
}

#[test]
fn net_devices_rules_are_config_errors() {
    let veth = Veth::new("b");
    let mut c = Container::new("netdevnons");
    let ns: Vec<serde_json::Value> = c.config["linux"]["namespaces"]
        .as_array()
        .expect("namespaces")
        .iter()
        .filter(|n| n["type"] != "network")
        .cloned()
        .collect();
    c.config["linux"]["namespaces"] = json!(ns);
    c.config["linux"]["netDevices"] = json!({ &veth.name: {} });
    create_fails(&c, "linux.netDevices", "needs a network namespace");

    let mut c = Container::new("netdevmissing");
    c.config["linux"]["netDevices"] = json!({"hull-no-such0": {}});
    create_fails(&c, "linux.netDevices.hull-no-such0", "no such interface");

    let mut c = Container::new("netdevbadname");
    c.config["linux"]["netDevices"] = json!({ &veth.name: {"name": "a/b"} });
    create_fails(&c, "name", "not a valid interface name");
    assert!(
        veth.on_host(),
        "a refused config leaves the device where it was"
    );
}

/// The pid a pidfd refers to (`Pid:` in its fdinfo).
fn pidfd_pid(fd: &std::os::fd::OwnedFd) -> i32 {
    use std::os::fd::AsRawFd;
    let info =
        std::fs::read_to_string(format!("/proc/self/fdinfo/{}", fd.as_raw_fd())).expect("fdinfo");
    info.lines()
        .find_map(|l| l.strip_prefix("Pid:"))
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("not a pidfd: {info}"))
}

/// Listens on a fresh socket; the thread returns the one fd sent to it.
fn pidfd_listener(
    c: &Container,
    name: &str,
) -> (
    String,
    std::thread::JoinHandle<(String, std::os::fd::OwnedFd)>,
) {
    use std::os::fd::AsFd;
    let path = c.bundle.parent().expect("base").join(name);
    let l = std::os::unix::net::UnixListener::bind(&path).expect("bind");
    l.set_nonblocking(true).expect("nonblocking");
    let t = std::thread::spawn(move || {
        // Bounded: a runtime that never connects fails the test instead of hanging it.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let s = loop {
            match l.accept() {
                Ok((s, _)) => break s,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    assert!(std::time::Instant::now() < deadline, "nobody connected");
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                Err(e) => panic!("accept: {e}"),
            }
        };
        s.set_nonblocking(false).expect("blocking");
        spec_tests::recv_fd(s.as_fd()).expect("receive the pidfd")
    });
    (path.display().to_string(), t)
}

#[test]
fn pidfd_socket_receives_the_init_and_exec_processes() {
    let mut c = Container::new("pidfdsock");
    c.args(&["sleep", "600"]);
    let (path, t) = pidfd_listener(&c, "create.sock");
    c.create_with(&["--pidfd-socket", &path]).ok();
    let (name, fd) = t.join().expect("listener");
    assert_eq!(name, "pidfd");
    let st: serde_json::Value =
        serde_json::from_str(&c.hull(&["state", &c.id]).ok().stdout).expect("state");
    assert_eq!(i64::from(pidfd_pid(&fd)), st["pid"].as_i64().expect("pid"));
    c.start().ok();

    let (path, t) = pidfd_listener(&c, "exec.sock");
    let pf = c.bundle.parent().expect("base").join("exec.pid");
    let pfs = pf.display().to_string();
    c.hull(&[
        "exec",
        "-d",
        "--pidfd-socket",
        &path,
        "--pid-file",
        &pfs,
        &c.id,
        "sleep",
        "600",
    ])
    .ok();
    let (_, fd) = t.join().expect("listener");
    let want: i32 = std::fs::read_to_string(&pf)
        .expect("pid file")
        .trim()
        .parse()
        .expect("pid");
    assert_eq!(pidfd_pid(&fd), want);
    c.hull(&["delete", "--force", &c.id]).ok();
}

#[test]
fn user_sysctls_in_a_user_namespace() {
    let mut c = Container::new("sysctluserns");
    let ns = c.config["linux"]["namespaces"].as_array_mut().expect("ns");
    ns.push(json!({"type": "user"}));
    c.config["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    c.config["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    c.config["linux"]["sysctl"] =
        json!({"user.max_user_namespaces": "7", "user/max_mnt_namespaces": "9"});
    let host = std::fs::read_to_string("/proc/sys/user/max_user_namespaces").expect("host value");
    c.sh("cat /proc/sys/user/max_user_namespaces /proc/sys/user/max_mnt_namespaces");
    let o = c.run();
    assert_eq!(
        o.ok().out().split_whitespace().collect::<Vec<_>>(),
        ["7", "9"]
    );
    assert_eq!(
        std::fs::read_to_string("/proc/sys/user/max_user_namespaces").expect("host value"),
        host,
        "the host's limit is untouched"
    );

    // Without a user namespace of its own it would be the host's limit.
    let mut c = Container::new("sysctlusernone");
    c.config["linux"]["sysctl"] = json!({"user.max_user_namespaces": "7"});
    create_fails(
        &c,
        "linux.sysctl.user.max_user_namespaces",
        "needs a private user namespace",
    );
}

/// runtime-spec 1.3.0 on `pids.limit` (runc 1.4): 0 is a real limit, negative is "max", and
/// a `pids` object without `limit` leaves pids.max alone (here: the new cgroup's "max").
#[test]
fn pids_limit_zero_negative_and_unset() {
    let v2 = std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .rfind(|l| l.split(' ').nth(4) == Some("/sys/fs/cgroup"))
        .is_some_and(|l| l.contains(" - cgroup2 "));
    let file = if v2 {
        "/sys/fs/cgroup/pids.max"
    } else {
        "/sys/fs/cgroup/pids/pids.max"
    };
    for (pids, want) in [
        (json!({"limit": 0}), "0"),
        (json!({"limit": -1}), "max"),
        (json!({}), "max"),
    ] {
        let mut c = Container::new("pidslimit");
        c.config["linux"]["resources"]["pids"] = pids.clone();
        // The shell's builtins only: with pids.max 0 nothing can be forked.
        c.sh(&format!("read v < {file}; echo $v"));
        let o = c.run();
        assert_eq!(o.ok().out().trim(), want, "pids {pids}");
    }
}

#[test]
fn update_rdt_schemas_need_the_containers_intel_rdt() {
    let mut c = Container::new("rdtupdate");
    c.args(&["sleep", "600"]);
    c.create().ok();
    c.hull(&["update", "--l3-cache-schema", "L3:0=f", &c.id])
        .fails()
        .stderr_has("the container has no linux.intelRdt");
    c.hull(&["delete", "--force", &c.id]).ok();
}

#[test]
fn deprecated_enable_cmt_asks_for_monitoring() {
    if std::fs::read_to_string("/proc/self/mountinfo")
        .expect("mountinfo")
        .contains(" - resctrl ")
    {
        eprintln!("skipped: this host has resctrl mounted");
        return;
    }
    // enableCMT/enableMBM (before runtime-spec 1.3.0) mean enableMonitoring: refused here
    // for want of resctrl, not ignored.
    for old in ["enableCMT", "enableMBM"] {
        let mut c = Container::new("intelrdtold");
        c.config["linux"]["intelRdt"] = json!({ old: true });
        create_fails(&c, "linux.intelRdt", "the host has no resctrl");
    }
}
