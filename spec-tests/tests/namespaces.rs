//! config-linux.md "Namespaces", "User namespace mappings" and "Offset for Time Namespace":
//! new namespaces (compared with the host's by inode, and by what they isolate), namespaces
//! joined by `path`, and the errors for bad paths and duplicates.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use spec_tests::Container;

const TYPES: [(&str, &str); 8] = [
    ("pid", "pid"),
    ("network", "net"),
    ("mount", "mnt"),
    ("ipc", "ipc"),
    ("uts", "uts"),
    ("user", "user"),
    ("cgroup", "cgroup"),
    ("time", "time"),
];

fn host_ns(pid: &str, file: &str) -> String {
    std::fs::read_link(format!("/proc/{pid}/ns/{file}"))
        .map(|p| p.display().to_string())
        .unwrap_or_else(|e| panic!("readlink /proc/{pid}/ns/{file}: {e}"))
}

/// A script printing `file inode` for every namespace kind.
const NS_SCRIPT: &str = "for n in pid net mnt ipc uts user cgroup time; do \
                         echo $n $(readlink /proc/self/ns/$n); done";

fn ns_of(out: &str) -> Vec<(String, String)> {
    out.lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

fn set_namespaces(c: &mut Container, ns: Value) {
    c.config["linux"]["namespaces"] = ns;
}

fn user_maps(c: &mut Container) {
    c.config["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    c.config["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 200000, "size": 65536}]);
}

/// A process holding namespaces on the host, killed when dropped.
struct Holder {
    child: Child,
    /// The pid whose /proc/PID/ns/* are the held namespaces.
    pid: u32,
}

impl Holder {
    /// `unshare ARGS... sleep 600`; with `--fork`, the held namespaces are the child's.
    // The child is waited for by Drop; clippy cannot see through the struct.
    #[allow(clippy::zombie_processes)]
    fn unshare(args: &[&str]) -> Holder {
        let child = Command::new("unshare")
            .args(args)
            .args(["sleep", "600"])
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn unshare");
        let fork = args.contains(&"--fork");
        let t = Instant::now();
        loop {
            let pid = if fork {
                std::fs::read_to_string(format!(
                    "/proc/{}/task/{}/children",
                    child.id(),
                    child.id()
                ))
                .ok()
                .and_then(|s| s.split_whitespace().next().and_then(|p| p.parse().ok()))
            } else {
                Some(child.id())
            };
            if let Some(pid) = pid {
                // Once `sleep` runs, every namespace asked for exists.
                let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
                if comm.trim() == "sleep" {
                    return Holder { child, pid };
                }
            }
            if t.elapsed() > Duration::from_secs(10) {
                let mut child = child;
                let _ = child.kill();
                let _ = child.wait();
                panic!("unshare holder never started");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn ns(&self, file: &str) -> String {
        host_ns(&self.pid.to_string(), file)
    }

    fn path(&self, file: &str) -> String {
        format!("/proc/{}/ns/{file}", self.pid)
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-9")
            .arg(self.pid.to_string())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn new_namespaces_are_new() {
    let mut c = Container::new("nsnew");
    let mut ns: Vec<Value> = TYPES.iter().map(|t| json!({"type": t.0})).collect();
    ns.retain(|n| n["type"] != "user");
    set_namespaces(&mut c, json!(ns));
    c.sh(NS_SCRIPT);
    let o = c.run();
    let got = ns_of(o.ok().out());
    assert_eq!(got.len(), 8, "{o:?}");
    for (file, inode) in got {
        let host = host_ns("self", &file);
        if file == "user" {
            assert_eq!(inode, host, "no user namespace asked for");
        } else {
            assert_ne!(inode, host, "{file}: same as the host's");
        }
    }
}

#[test]
fn absent_namespaces_are_the_hosts() {
    let mut c = Container::new("nsnone");
    set_namespaces(&mut c, json!([{"type": "mount"}]));
    c.config["hostname"] = Value::Null;
    c.sh(&format!("{NS_SCRIPT}; echo pid=$$"));
    let o = c.run();
    o.ok();
    for (file, inode) in ns_of(o.out()) {
        let host = host_ns("self", &file);
        if file == "mnt" {
            assert_ne!(inode, host);
        } else {
            assert_eq!(inode, host, "{file}: not asked for, must be the host's");
        }
    }
    assert!(
        o.out().contains("pid=") && !o.out().ends_with("pid=1"),
        "{o:?}"
    );
}

#[test]
fn pid_namespace_init_is_pid_1() {
    let mut c = Container::new("nspid");
    c.sh("echo $$; cat /proc/1/cmdline | tr '\\0' ' '; echo; ls -d /proc/[0-9]* | wc -l");
    let o = c.run();
    let l: Vec<&str> = o.ok().out().lines().collect();
    assert_eq!(l[0], "1");
    assert!(l[1].starts_with("sh -c echo"), "{o:?}");
    // The shell, and the children it runs for the pipeline: nothing of the host.
    let n: u32 = l[2].trim().parse().expect("count");
    assert!(n <= 4, "{n} processes visible: {o:?}");
}

#[test]
fn network_namespace_has_only_lo_up() {
    let mut c = Container::new("nsnet");
    c.sh("ls /sys/class/net; cat /sys/class/net/lo/flags; ip -o link | wc -l; ip -o addr show lo");
    let o = c.run();
    let out = o.ok().out().to_string();
    let l: Vec<&str> = out.lines().collect();
    assert_eq!(l[0], "lo", "{out}");
    let flags = u32::from_str_radix(l[1].trim_start_matches("0x"), 16).expect("flags");
    assert_eq!(flags & 0x1, 0x1, "lo is not UP (flags {flags:#x})");
    assert_eq!(l[2].trim(), "1", "{out}");
    assert!(out.contains("127.0.0.1"), "{out}");
}

#[test]
fn ipc_namespace_hides_host_segments() {
    let o = Command::new("ipcmk")
        .args(["-M", "4096"])
        .output()
        .expect("ipcmk");
    let text = String::from_utf8_lossy(&o.stdout).to_string();
    let id: String = text.chars().filter(|c| c.is_ascii_digit()).collect();
    assert!(!id.is_empty(), "ipcmk: {text}");
    struct Rm(String);
    impl Drop for Rm {
        fn drop(&mut self) {
            let _ = Command::new("ipcrm").args(["-m", &self.0]).status();
        }
    }
    let _rm = Rm(id.clone());
    let script = "awk 'NR>1 {print $2}' /proc/sysvipc/shm";
    let mut c = Container::new("nsipc");
    c.sh(script);
    let o = c.run();
    assert!(
        !o.ok().out().lines().any(|l| l == id),
        "host segment {id} visible: {o:?}"
    );
    let mut c = Container::new("nsipchost");
    let ns: Vec<Value> = c.config["linux"]["namespaces"]
        .as_array()
        .expect("ns")
        .iter()
        .filter(|n| n["type"] != "ipc")
        .cloned()
        .collect();
    set_namespaces(&mut c, json!(ns));
    c.sh(script);
    let o = c.run();
    assert!(
        o.ok().out().lines().any(|l| l == id),
        "without an ipc namespace the host segment {id} shows: {o:?}"
    );
}

#[test]
fn uts_namespace_hostname_and_domainname() {
    let before = std::fs::read_to_string("/proc/sys/kernel/hostname").expect("hostname");
    let dom_before = std::fs::read_to_string("/proc/sys/kernel/domainname").expect("domain");
    let mut c = Container::new("nsuts");
    c.config["hostname"] = json!("hull-uts-test");
    c.config["domainname"] = json!("hull.example");
    c.sh("hostname; cat /proc/sys/kernel/domainname; readlink /proc/self/ns/uts");
    let o = c.run();
    let l: Vec<String> = o.ok().out().lines().map(str::to_string).collect();
    assert_eq!(l[0], "hull-uts-test");
    assert_eq!(l[1], "hull.example");
    assert_ne!(l[2], host_ns("self", "uts"));
    assert_eq!(
        std::fs::read_to_string("/proc/sys/kernel/hostname").expect("hostname"),
        before,
        "host hostname changed"
    );
    assert_eq!(
        std::fs::read_to_string("/proc/sys/kernel/domainname").expect("domain"),
        dom_before
    );
}

#[test]
fn user_namespace_mappings() {
    let mut c = Container::new("nsuser");
    let mut ns = c.config["linux"]["namespaces"]
        .as_array()
        .expect("ns")
        .clone();
    ns.push(json!({"type": "user"}));
    set_namespaces(&mut c, json!(ns));
    user_maps(&mut c);
    // A file owned by mapped host ids shows with the container's ids; a bind-mounted host
    // directory owned by the mapped root takes writes as host 100000:200000.
    c.put("/owned", "x");
    std::os::unix::fs::chown(c.rootfs().join("owned"), Some(100005), Some(200007)).expect("chown");
    // Mount points are made by the container's root, which does not own the host-owned
    // rootfs: make this one beforehand (runc needs the same).
    std::fs::create_dir(c.rootfs().join("shared")).expect("mkdir");
    let shared = c.scratch("shared");
    std::os::unix::fs::chown(&shared, Some(100000), Some(200000)).expect("chown");
    let list = c.config["mounts"].as_array_mut().expect("mounts");
    list.push(
        json!({"destination": "/shared", "type": "bind", "source": shared, "options": ["bind"]}),
    );
    c.sh("cat /proc/self/uid_map /proc/self/gid_map; id -u; id -g; \
          stat -c '%u:%g' /owned /bin/busybox; touch /shared/made; readlink /proc/self/ns/user");
    let o = c.run();
    let l: Vec<String> = o
        .ok()
        .out()
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(l[0], "0 100000 65536");
    assert_eq!(l[1], "0 200000 65536");
    assert_eq!((l[2].as_str(), l[3].as_str()), ("0", "0"));
    assert_eq!(l[4], "5:7", "mapped owner");
    assert_eq!(l[5], "65534:65534", "host root is unmapped: overflow ids");
    assert_ne!(l[6], host_ns("self", "user"));
    let md = std::fs::metadata(shared.join("made")).expect("file made inside");
    use std::os::unix::fs::MetadataExt;
    assert_eq!((md.uid(), md.gid()), (100000, 200000));
}

#[test]
fn cgroup_namespace_root() {
    let mut c = Container::new("nscgroup");
    c.sh("cat /proc/self/cgroup");
    let o = c.run();
    for l in o.ok().out().lines() {
        assert!(l.ends_with(":/"), "not the namespace root: {l}");
    }
    let mut c = Container::new("nscgrouphost");
    let ns: Vec<Value> = c.config["linux"]["namespaces"]
        .as_array()
        .expect("ns")
        .iter()
        .filter(|n| n["type"] != "cgroup")
        .cloned()
        .collect();
    set_namespaces(&mut c, json!(ns));
    c.sh("cat /proc/self/cgroup");
    let o = c.run();
    let v2 = o
        .ok()
        .out()
        .lines()
        .find(|l| l.starts_with("0::"))
        .unwrap_or_else(|| panic!("no v2 line: {o:?}"))
        .to_string();
    assert_ne!(v2, "0::/", "without a cgroup namespace the real path shows");
}

#[test]
fn time_namespace_offsets() {
    let host_up: f64 = std::fs::read_to_string("/proc/uptime")
        .expect("uptime")
        .split_whitespace()
        .next()
        .and_then(|s| s.parse().ok())
        .expect("uptime value");
    let mut c = Container::new("nstime");
    let mut ns = c.config["linux"]["namespaces"]
        .as_array()
        .expect("ns")
        .clone();
    ns.push(json!({"type": "time"}));
    set_namespaces(&mut c, json!(ns));
    c.config["linux"]["timeOffsets"] = json!({
        "monotonic": {"secs": 86400, "nanosecs": 5},
        "boottime": {"secs": 172800}
    });
    c.sh("cat /proc/self/timens_offsets; cut -d' ' -f1 /proc/uptime; readlink /proc/self/ns/time");
    let o = c.run();
    let l: Vec<String> = o
        .ok()
        .out()
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    assert!(l.contains(&"monotonic 86400 5".to_string()), "{l:?}");
    assert!(l.contains(&"boottime 172800 0".to_string()), "{l:?}");
    let up: f64 = l[2].parse().expect("uptime inside");
    assert!(
        up >= host_up + 172800.0,
        "uptime {up} not shifted from {host_up}"
    );
    assert_ne!(l[3], host_ns("self", "time"));

    let mut c = Container::new("nstimebad");
    c.config["linux"]["timeOffsets"] = json!({"boottime": {"secs": 1}});
    c.create().fails().stderr_has("linux.timeOffsets");
}

#[test]
fn namespaces_joined_by_path() {
    let h = Holder::unshare(&["--net", "--uts", "--ipc"]);
    let p = Holder::unshare(&["--pid", "--fork", "--time", "--boottime", "100000"]);
    let mut c = Container::new("nsjoin");
    set_namespaces(
        &mut c,
        json!([
            {"type": "mount"},
            {"type": "network", "path": h.path("net")},
            {"type": "uts", "path": h.path("uts")},
            {"type": "ipc", "path": h.path("ipc")},
            {"type": "pid", "path": p.path("pid")},
            {"type": "time", "path": p.path("time")}
        ]),
    );
    c.config["hostname"] = json!("hull-joined");
    c.sh(&format!(
        "{NS_SCRIPT}; cat /proc/1/comm; echo pid=$$; grep boottime /proc/self/timens_offsets"
    ));
    let o = c.run();
    let out = o.ok().out().to_string();
    let got = ns_of(&out);
    let find = |f: &str| {
        got.iter()
            .find(|(k, _)| k == f)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    for f in ["net", "uts", "ipc"] {
        assert_eq!(find(f), h.ns(f), "{f}: {out}");
    }
    assert_eq!(find("pid"), p.ns("pid"), "{out}");
    assert_eq!(find("time"), p.ns("time"), "{out}");
    assert_ne!(find("mnt"), host_ns("self", "mnt"));
    assert!(
        out.contains("\nsleep\n"),
        "the holder's sleep is PID 1: {out}"
    );
    assert!(!out.contains("pid=1\n"), "{out}");
    assert!(
        out.lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["boottime", "100000", "0"]),
        "{out}"
    );
    // The hostname went into the joined UTS namespace.
    let o = Command::new("nsenter")
        .args(["-t", &h.pid.to_string(), "-u", "hostname"])
        .output()
        .expect("nsenter");
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "hull-joined");
}

#[test]
fn user_namespace_joined_by_path() {
    let mut holder = Container::new("nsuserholder");
    let mut ns = holder.config["linux"]["namespaces"]
        .as_array()
        .expect("ns")
        .clone();
    ns.push(json!({"type": "user"}));
    set_namespaces(&mut holder, json!(ns));
    user_maps(&mut holder);
    holder.args(&["sleep", "600"]);
    holder.create().ok();
    let hp = holder.pid().to_string();

    let mut c = Container::new("nsuserjoin");
    let mut ns = c.config["linux"]["namespaces"]
        .as_array()
        .expect("ns")
        .clone();
    ns.push(json!({"type": "user", "path": format!("/proc/{hp}/ns/user")}));
    set_namespaces(&mut c, json!(ns));
    // runc requires the mappings even for a joined namespace; engines send them.
    user_maps(&mut c);
    c.put("/owned", "x");
    std::os::unix::fs::chown(c.rootfs().join("owned"), Some(100003), Some(200004)).expect("chown");
    c.sh("readlink /proc/self/ns/user; cat /proc/self/uid_map; id -u; stat -c %u:%g /owned");
    let o = c.run();
    let l: Vec<String> = o
        .ok()
        .out()
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(l[0], host_ns(&hp, "user"));
    assert_eq!(l[1], "0 100000 65536");
    assert_eq!(l[2], "0");
    assert_eq!(l[3], "3:4");
}

#[test]
fn bad_namespace_paths() {
    let h = Holder::unshare(&["--uts"]);
    for (path, want) in [
        (
            "/nonexistent/hull-netns".to_string(),
            ["/nonexistent/hull-netns", "network"],
        ),
        (h.path("uts"), ["network", "setns uts:["]),
        (
            "relative/ns".to_string(),
            ["linux.namespaces[1].path", "relative/ns"],
        ),
    ] {
        let mut c = Container::new("nsbadpath");
        set_namespaces(
            &mut c,
            json!([{"type": "mount"}, {"type": "network", "path": path}, {"type": "uts"}]),
        );
        let o = c.create();
        o.fails().stderr_has(want[0]).stderr_has(want[1]);
        assert_eq!(o.code, 1);
        assert!(!c.root.join(&c.id).exists(), "state dir left behind");
    }
}

#[test]
fn duplicate_namespaces_rejected() {
    for t in ["pid", "network", "mount"] {
        let mut c = Container::new("nsdup");
        let mut ns = c.config["linux"]["namespaces"]
            .as_array()
            .expect("ns")
            .clone();
        ns.push(json!({"type": t}));
        set_namespaces(&mut c, json!(ns));
        let o = c.create();
        o.fails()
            .stderr_has("linux.namespaces[")
            .stderr_has(&format!("duplicate {t}"));
        assert!(!c.root.join(&c.id).exists());
    }
}

/// A user namespace without its own network namespace may not mount a sysfs: the host's is
/// bound instead, read-only all the way down (its cgroup submounts included).
#[test]
fn user_namespace_without_netns_binds_sysfs_read_only() {
    let mut c = Container::new("nsusersys");
    let mut ns: Vec<Value> = c.config["linux"]["namespaces"]
        .as_array()
        .expect("ns")
        .iter()
        .filter(|n| n["type"] != "network")
        .cloned()
        .collect();
    ns.push(json!({"type": "user"}));
    set_namespaces(&mut c, json!(ns));
    user_maps(&mut c);
    let mounts = c.config["mounts"].as_array_mut().expect("mounts");
    mounts.retain(|m| m["destination"] != "/sys/fs/cgroup");
    c.sh("echo @@; cat /proc/self/mountinfo");
    let o = c.run();
    let mi = spec_tests::parse_mountinfo(o.ok().stdout.split_once("@@\n").expect("marker").1);
    let sys: Vec<_> = mi
        .iter()
        .filter(|m| m.mount_point == "/sys" || m.mount_point.starts_with("/sys/"))
        .collect();
    assert!(sys.len() > 1, "the host's submounts came along: {sys:#?}");
    for m in sys {
        assert!(m.has("ro") && m.has("nosuid") && m.has("nodev"), "{m:?}");
    }
}

#[test]
fn mount_namespace_joined_by_path() {
    let h = Holder::unshare(&["--mount"]);
    let mut c = Container::new("nsjoinmnt");
    let mut ns: Vec<Value> = c.config["linux"]["namespaces"]
        .as_array()
        .expect("ns")
        .iter()
        .filter(|n| n["type"] != "mount")
        .cloned()
        .collect();
    ns.push(json!({"type": "mount", "path": h.path("mnt")}));
    set_namespaces(&mut c, json!(ns));
    c.put("/marker", "joined\n");
    c.sh("readlink /proc/self/ns/mnt; cat /marker");
    let o = c.run();
    assert_eq!(
        o.ok().out().lines().collect::<Vec<_>>(),
        [h.ns("mnt").as_str(), "joined"]
    );
}

/// A joined network namespace owned by the host's user namespace, next to a joined user
/// namespace: after entering the user namespace the init has no privilege over the network
/// namespace, so (as runc does) it is joined first.
#[test]
fn network_namespace_not_owned_by_the_joined_user_namespace() {
    let net = Holder::unshare(&["--net"]);
    let mut holder = Container::new("nsuserholder2");
    let mut ns = holder.config["linux"]["namespaces"]
        .as_array()
        .expect("ns")
        .clone();
    ns.push(json!({"type": "user"}));
    set_namespaces(&mut holder, json!(ns));
    user_maps(&mut holder);
    holder.args(&["sleep", "600"]);
    holder.create().ok();
    let hp = holder.pid().to_string();

    let mut c = Container::new("nsusernetjoin");
    let mut ns: Vec<Value> = c.config["linux"]["namespaces"]
        .as_array()
        .expect("ns")
        .iter()
        .filter(|n| n["type"] != "network")
        .cloned()
        .collect();
    ns.push(json!({"type": "user", "path": format!("/proc/{hp}/ns/user")}));
    ns.push(json!({"type": "network", "path": net.path("net")}));
    set_namespaces(&mut c, json!(ns));
    user_maps(&mut c);
    c.sh("readlink /proc/self/ns/user; readlink /proc/self/ns/net");
    let o = c.run();
    assert_eq!(
        o.ok().out().lines().collect::<Vec<_>>(),
        [host_ns(&hp, "user"), net.ns("net")]
    );
}
