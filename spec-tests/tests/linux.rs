//! config-linux.md "Default Devices", "Devices", "Masked Paths", "Readonly Paths", "Sysctl",
//! and config.md "Hostname"/"Domainname": checked from inside the container.

use serde_json::{json, Value};
use spec_tests::{mount_at, parse_mountinfo, Container};

fn lines(out: &str) -> Vec<String> {
    out.lines().map(str::to_string).collect()
}

fn without_ns(c: &mut Container, t: &str) {
    let ns: Vec<Value> = c.config["linux"]["namespaces"]
        .as_array()
        .expect("namespaces")
        .iter()
        .filter(|n| n["type"] != t)
        .cloned()
        .collect();
    c.config["linux"]["namespaces"] = json!(ns);
}

/// `create` fails naming `field`, with `msg`, leaving no state directory.
#[track_caller]
fn create_fails(c: &Container, field: &str, msg: &str) {
    let o = c.create();
    o.fails().stderr_has(field).stderr_has(msg);
    assert_eq!(o.code, 1);
    assert!(!c.root.join(&c.id).exists(), "state dir left behind");
}

#[test]
fn default_devices() {
    let mut c = Container::new("devices");
    c.sh("stat -c '%n %F %t %T %a %u %g' /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty; \
          ls /dev; echo @; head -c 4 /dev/zero | od -An -tx1; { echo x > /dev/full; } 2>&1; \
          head -c 16 /dev/urandom | wc -c; echo gone > /dev/null && echo null-ok");
    let o = c.run();
    let out = o.ok().out().to_string();
    let l = lines(&out);
    let want = [
        "/dev/null character special file 1 3 666 0 0",
        "/dev/zero character special file 1 5 666 0 0",
        "/dev/full character special file 1 7 666 0 0",
        "/dev/random character special file 1 8 666 0 0",
        "/dev/urandom character special file 1 9 666 0 0",
        "/dev/tty character special file 5 0 666 0 0",
    ];
    assert_eq!(l[..6], want, "{out}");
    // Nothing of the host's /dev: exactly runc's set.
    let end = l.iter().position(|x| x == "@").expect("marker");
    let mut dev: Vec<&str> = l[6..end].iter().map(String::as_str).collect();
    dev.sort_unstable();
    let mut expect = vec![
        "fd", "full", "mqueue", "null", "ptmx", "pts", "random", "shm", "stderr", "stdin",
        "stdout", "tty", "urandom", "zero",
    ];
    if std::path::Path::new("/proc/kcore").exists() {
        expect.push("core");
        expect.sort_unstable();
    }
    assert_eq!(dev, expect);
    let rest = l[end + 1..].join("\n");
    assert!(rest.contains("00 00 00 00"), "{rest}");
    assert!(rest.contains("No space left on device"), "{rest}");
    assert!(rest.contains("\n16\n"), "{rest}");
    assert!(rest.ends_with("null-ok"), "{rest}");
}

#[test]
fn dev_links_ptmx_and_shm() {
    let mut c = Container::new("devlinks");
    c.sh(
        "for l in ptmx fd stdin stdout stderr; do echo $l $(readlink /dev/$l); done; \
          checker open /dev/ptmx; ls /dev/fd/ | sort | head -3 | tr '\\n' ' '; echo; \
          (echo via-stdout > /dev/stdout) | cat; (echo via-stderr > /dev/stderr) 2>&1 | cat; \
          stat -c '%a' /dev/shm; echo shm > /dev/shm/f && cat /dev/shm/f; \
          echo @@; cat /proc/self/mountinfo",
    );
    let o = c.run();
    let (out, mi) = o.ok().stdout.split_once("@@\n").expect("marker");
    let l = lines(out);
    assert_eq!(
        l[..5],
        [
            "ptmx pts/ptmx",
            "fd /proc/self/fd",
            "stdin /proc/self/fd/0",
            "stdout /proc/self/fd/1",
            "stderr /proc/self/fd/2",
        ]
    );
    assert_eq!(l[5], "ok", "a pty master from the container's devpts");
    assert_eq!(l[6].trim(), "0 1 2");
    assert_eq!(l[7], "via-stdout");
    assert_eq!(l[8], "via-stderr");
    assert_eq!(l[9], "1777");
    assert_eq!(l[10], "shm");
    let mi = parse_mountinfo(mi);
    let shm = mount_at(&mi, "/dev/shm");
    assert_eq!(shm.fstype, "tmpfs");
    assert!(
        shm.has("nosuid") && shm.has("nodev") && shm.has("noexec"),
        "{shm:?}"
    );
}

#[test]
fn linux_devices() {
    let mut c = Container::new("specdevices");
    c.config["linux"]["devices"] = json!([
        {"path": "/dev/hullchar", "type": "c", "major": 1, "minor": 5, "fileMode": 0o640, "uid": 12, "gid": 34},
        {"path": "/dev/sub/hullblk", "type": "b", "major": 7, "minor": 200, "fileMode": 0o600},
        {"path": "/dev/hullfifo", "type": "p"},
        {"path": "/dev/null", "type": "c", "major": 1, "minor": 3, "fileMode": 0o620, "uid": 5, "gid": 6}
    ]);
    c.sh("stat -c '%n %F %t %T %a %u %g' /dev/hullchar /dev/sub/hullblk /dev/hullfifo /dev/null");
    let o = c.run();
    assert_eq!(
        lines(o.ok().out()),
        [
            "/dev/hullchar character special file 1 5 640 12 34",
            "/dev/sub/hullblk block special file 7 c8 600 0 0",
            "/dev/hullfifo fifo 0 0 666 0 0",
            "/dev/null character special file 1 3 620 5 6",
        ]
    );

    let mut c = Container::new("baddevice");
    c.config["linux"]["devices"] =
        json!([{"path": "dev/hullx", "type": "c", "major": 1, "minor": 3}]);
    create_fails(
        &c,
        "linux.devices[0].path",
        "dev/hullx is not an absolute file path",
    );
}

#[test]
fn masked_paths() {
    let mut c = Container::new("masked");
    c.config["root"]["readonly"] = json!(false);
    c.put("/masked/file", "secret\n");
    c.put("/masked/dir/inner", "secret too\n");
    let paths = c.config["linux"]["maskedPaths"]
        .as_array_mut()
        .expect("maskedPaths");
    paths.extend([
        json!("/masked/file"),
        json!("/masked/dir"),
        json!("/masked/none"),
    ]);
    c.sh(
        "cat /masked/file; echo -; ls -A /masked/dir; echo -; touch /masked/dir/x 2>&1; \
          { echo overwrite > /masked/file; } 2>&1; cat /masked/file; echo -; \
          cat /proc/keys /proc/timer_list | wc -c; ls -A /sys/firmware | wc -l",
    );
    let o = c.run();
    let l = lines(o.ok().out());
    assert_eq!(l[0], "-", "masked file reads empty: {l:?}");
    assert_eq!(l[1], "-", "masked dir is empty: {l:?}");
    assert!(l[2].contains("Read-only file system"), "{l:?}");
    assert_eq!(l[3], "-", "writes to a masked file go nowhere: {l:?}");
    assert_eq!(l[4].trim(), "0", "default masks: {l:?}");
    assert_eq!(l[5].trim(), "0", "{l:?}");
    assert_eq!(
        std::fs::read_to_string(c.rootfs().join("masked/file")).expect("file"),
        "secret\n"
    );
    assert!(
        !c.rootfs().join("masked/none").exists(),
        "missing paths are skipped, not made"
    );
}

#[test]
fn readonly_paths() {
    let mut c = Container::new("readonly");
    c.config["root"]["readonly"] = json!(false);
    c.put("/ro/dir/f", "x");
    c.put("/rw/f", "x");
    let paths = c.config["linux"]["readonlyPaths"]
        .as_array_mut()
        .expect("readonlyPaths");
    paths.extend([json!("/ro/dir"), json!("/ro/missing")]);
    c.sh(
        "touch /ro/dir/new 2>&1; { echo y > /ro/dir/f; } 2>&1; touch /rw/new && echo rw-ok; \
          { echo 1 > /proc/sys/kernel/shm_rmid_forced; } 2>&1; \
          cat /proc/sys/kernel/ostype",
    );
    let o = c.run();
    let l = lines(o.ok().out());
    assert!(l[0].contains("/ro/dir/new: Read-only file system"), "{l:?}");
    assert!(l[1].contains("Read-only file system"), "{l:?}");
    assert_eq!(l[2], "rw-ok");
    assert!(l[3].contains("Read-only file system"), "/proc/sys: {l:?}");
    assert_eq!(l[4], "Linux", "read-only paths stay readable");
    assert!(!c.rootfs().join("ro/dir/new").exists());
    assert!(!c.rootfs().join("ro/missing").exists());
}

fn host_sysctl(path: &str) -> String {
    std::fs::read_to_string(format!("/proc/sys/{path}"))
        .expect("host sysctl")
        .trim()
        .to_string()
}

#[test]
fn sysctl_in_container_namespaces() {
    let fwd_host = host_sysctl("net/ipv4/ip_forward");
    let shm_host = host_sysctl("kernel/shm_rmid_forced");
    let fwd = if fwd_host == "1" { "0" } else { "1" };
    let shm = if shm_host == "1" { "0" } else { "1" };
    let mut c = Container::new("sysctl");
    c.config["linux"]["sysctl"] = json!({
        "net.ipv4.ip_forward": fwd,
        "kernel.shm_rmid_forced": shm,
        "net/ipv4/conf/lo/accept_local": "1",
        "kernel.msgmax": "12345",
        "kernel.domainname": "sysctl.example"
    });
    c.sh("cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shm_rmid_forced \
          /proc/sys/net/ipv4/conf/lo/accept_local /proc/sys/kernel/msgmax /proc/sys/kernel/domainname");
    let o = c.run();
    assert_eq!(
        lines(o.ok().out()),
        [fwd, shm, "1", "12345", "sysctl.example"]
    );
    // (The host's ip_forward is not compared: engines on this host may set it meanwhile.)
    assert_eq!(
        host_sysctl("kernel/shm_rmid_forced"),
        shm_host,
        "host changed"
    );
}

#[test]
fn sysctl_outside_a_namespace_rejected() {
    for (key, drop_ns, msg) in [
        ("vm.swappiness", None, "not namespaced"),
        ("kernel.panic", None, "not namespaced"),
        ("kernel.hostname", None, "hostname"),
        ("net.ipv4.ip_forward", Some("network"), "network namespace"),
        ("kernel.shm_rmid_forced", Some("ipc"), "ipc namespace"),
        ("fs.mqueue.queues_max", Some("ipc"), "ipc namespace"),
        ("kernel.domainname", Some("uts"), "uts namespace"),
        ("net.ipv4..ip_forward", None, "invalid"),
    ] {
        let mut c = Container::new("sysctlbad");
        if let Some(t) = drop_ns {
            without_ns(&mut c, t);
            if t == "uts" {
                c.config["hostname"] = Value::Null;
            }
        }
        c.config["linux"]["sysctl"] = json!({ key: "1" });
        create_fails(&c, &format!("linux.sysctl.{key}"), msg);
    }
    // A net.* sysctl in a joined namespace that is the host's would change the host.
    let mut c = Container::new("sysctlhostnet");
    without_ns(&mut c, "network");
    let ns = c.config["linux"]["namespaces"].as_array_mut().expect("ns");
    ns.push(json!({"type": "network", "path": format!("/proc/{}/ns/net", std::process::id())}));
    c.config["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": "1"});
    create_fails(&c, "linux.sysctl.net.ipv4.ip_forward", "host");
    let mut c = Container::new("sysctlhostipc");
    without_ns(&mut c, "ipc");
    let ns = c.config["linux"]["namespaces"].as_array_mut().expect("ns");
    ns.push(json!({"type": "ipc", "path": format!("/proc/{}/ns/ipc", std::process::id())}));
    c.config["linux"]["sysctl"] = json!({"kernel.shm_rmid_forced": "1"});
    create_fails(&c, "linux.sysctl.kernel.shm_rmid_forced", "host");
}

#[test]
fn hostname_and_domainname() {
    let mut c = Container::new("hostname");
    c.config["hostname"] = json!("hull-linux-test");
    c.config["domainname"] = json!("linux.example");
    c.sh("hostname; cat /proc/sys/kernel/domainname");
    let o = c.run();
    assert_eq!(lines(o.ok().out()), ["hull-linux-test", "linux.example"]);

    // Without a UTS namespace they would change the host's: refused, as runc does.
    let mut c = Container::new("hostnamenouts");
    without_ns(&mut c, "uts");
    create_fails(&c, "hostname", "UTS namespace");
    c.config["hostname"] = Value::Null;
    c.config["domainname"] = json!("linux.example");
    create_fails(&c, "domainname", "UTS namespace");
    // Joining the host's own UTS namespace by path is no better.
    let mut c = Container::new("hostnamehostuts");
    without_ns(&mut c, "uts");
    let ns = c.config["linux"]["namespaces"].as_array_mut().expect("ns");
    ns.push(json!({"type": "uts", "path": format!("/proc/{}/ns/uts", std::process::id())}));
    create_fails(&c, "hostname", "host");
    // An empty hostname asks for nothing.
    c.config["domainname"] = Value::Null;
    c.config["hostname"] = json!("");
    c.sh("true");
    let o = c.run();
    o.ok();
}

/// Without a /dev tmpfs the image's /dev is used: a default device the image faked is
/// replaced, a `linux.devices` entry over a matching node keeps it (with the mode asked
/// for), and one over anything else is an error (config-linux.md "Devices").
#[test]
fn devices_over_the_images_dev() {
    let dev_from_image = |c: &mut Container| {
        let mounts = c.config["mounts"].as_array_mut().expect("mounts");
        mounts.retain(|m| m["destination"] != "/dev");
    };
    let mknod = |p: &std::path::Path, spec: &str| {
        let o = std::process::Command::new("mknod")
            .arg(p)
            .args(spec.split(' '))
            .output()
            .expect("mknod");
        assert!(o.status.success(), "mknod: {o:?}");
    };
    let mut c = Container::new("imagedev");
    dev_from_image(&mut c);
    c.put("/dev/null", "not a device\n");
    mknod(&c.rootfs().join("dev/hullkept"), "c 1 5");
    c.config["linux"]["devices"] = json!([
        {"path": "/dev/hullkept", "type": "c", "major": 1, "minor": 5, "fileMode": 0o600}
    ]);
    c.sh("stat -c '%n %F %t %T %a' /dev/null /dev/hullkept");
    let o = c.run();
    assert_eq!(
        lines(o.ok().out()),
        [
            "/dev/null character special file 1 3 666",
            "/dev/hullkept character special file 1 5 600",
        ]
    );

    let mut c = Container::new("imagedevbad");
    dev_from_image(&mut c);
    c.put("/dev/hullx", "a regular file\n");
    c.config["linux"]["devices"] = json!([
        {"path": "/dev/hully", "type": "c", "major": 1, "minor": 3},
        {"path": "/dev/hullx", "type": "c", "major": 1, "minor": 3}
    ]);
    create_fails(&c, "linux.devices[1].path", "/dev/hullx");
    assert_eq!(
        std::fs::read_to_string(c.rootfs().join("dev/hullx")).expect("file"),
        "a regular file\n",
        "left as it was"
    );
}

/// Namespaced sysctls are written as the root of the container's user namespace, which owns
/// its network and IPC namespaces.
#[test]
fn sysctl_in_a_user_namespace() {
    let mut c = Container::new("sysctluser");
    let ns = c.config["linux"]["namespaces"].as_array_mut().expect("ns");
    ns.push(json!({"type": "user"}));
    c.config["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    c.config["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 200000, "size": 65536}]);
    c.config["linux"]["sysctl"] = json!({
        "net.ipv4.ip_unprivileged_port_start": "80",
        "net.ipv4.ping_group_range": "0 65535",
        "kernel.shm_rmid_forced": "1"
    });
    c.sh(
        "cat /proc/sys/net/ipv4/ip_unprivileged_port_start /proc/sys/net/ipv4/ping_group_range \
          /proc/sys/kernel/shm_rmid_forced",
    );
    let o = c.run();
    let got: Vec<String> = o
        .ok()
        .out()
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(got, ["80", "0 65535", "1"]);
}

#[test]
fn linux_devices_outside_dev_and_not_implicitly_allowed() {
    // runc: linux.devices makes nodes, anywhere in the rootfs; only linux.resources.devices
    // (plus the default allow list) decides what the device cgroup lets through. Writing
    // /dev/kmsg needs no capability, so only the device cgroup can refuse it.
    for allow in [false, true] {
        let mut c = Container::new("devnotallowed");
        c.config["linux"]["devices"] = json!([
            {"path": "/dev/hull-kmsg", "type": "c", "major": 1, "minor": 11, "fileMode": 0o600},
            {"path": "/hulldev/sub/kmsg", "type": "c", "major": 1, "minor": 11, "fileMode": 0o600}
        ]);
        let mut rules = vec![json!({"allow": false, "access": "rwm"})];
        if allow {
            rules.push(json!({"allow": true, "type": "c", "major": 1, "minor": 11, "access": "w"}));
        }
        c.config["linux"]["resources"]["devices"] = json!(rules);
        c.sh("stat -c '%n %F %t %T %a' /hulldev/sub/kmsg; \
              checker write /dev/hull-kmsg hull-device-test; \
              checker write /hulldev/sub/kmsg hull-device-test");
        let o = c.run();
        let want = if allow { "ok" } else { "errno=1" };
        assert_eq!(
            lines(o.ok().out()),
            [
                "/hulldev/sub/kmsg character special file 1 b 600",
                want,
                want
            ],
            "{}",
            o.stderr
        );
    }
}
