//! config.md "Mounts", config-linux.md "rootfs mount propagation" and "Masked Paths": runc's
//! rules where the spec leaves room. Bind flags, proc/sysfs on a symlink, duplicate masks,
//! `--no-pivot` hiding the host's procfs, `/` and per-mount propagation, a read-only `/dev`,
//! and a container without a mount namespace.

use serde_json::{json, Value};
use spec_tests::{mount_at, parse_mountinfo, Container, HostMount, MountInfo};

fn add_mounts(c: &mut Container, mounts: Value) {
    let list = c.config["mounts"].as_array_mut().expect("mounts");
    list.extend(mounts.as_array().expect("array").iter().cloned());
}

/// Runs the container with `script` and a mountinfo dump after an `@@` marker.
#[track_caller]
fn run_with_mountinfo(c: &mut Container, script: &str) -> (String, Vec<MountInfo>) {
    c.sh(&format!("{script}\necho @@; cat /proc/self/mountinfo"));
    let o = c.run();
    o.ok();
    let (out, mi) = o.stdout.split_once("@@\n").expect("marker in output");
    (out.to_string(), parse_mountinfo(mi))
}

fn user_namespace(c: &mut Container) {
    c.config["linux"]["namespaces"]
        .as_array_mut()
        .expect("namespaces")
        .push(json!({"type": "user"}));
    c.config["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    c.config["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 200000, "size": 65536}]);
}

/// runc: a bind with flags is remounted with exactly those flags, so `bind,nosuid` clears
/// ro/nodev/noexec of the source (rw is implied, unlike mount(8)); a bind naming no flag
/// keeps the source's.
#[test]
fn bind_flags_clear_what_is_not_given() {
    let mut c = Container::new("bindflags");
    let src = c.scratch("src");
    let _m = HostMount::new(
        &["-t", "tmpfs", "-o", "ro,nosuid,nodev,noexec", "tmpfs"],
        &src,
    );
    add_mounts(
        &mut c,
        json!([
            {"destination": "/nosuid", "type": "bind", "source": src, "options": ["bind", "nosuid"]},
            {"destination": "/ro", "type": "bind", "source": src, "options": ["bind", "ro"]},
            {"destination": "/plain", "type": "bind", "source": src, "options": ["bind"]},
            {"destination": "/rplain", "type": "bind", "source": src, "options": ["rbind", "rprivate"]}
        ]),
    );
    let (_, mi) = run_with_mountinfo(&mut c, "true");
    let m = mount_at(&mi, "/nosuid");
    assert!(m.has("rw") && m.has("nosuid"), "{m:?}");
    assert!(!m.has("nodev") && !m.has("noexec"), "{m:?}");
    let m = mount_at(&mi, "/ro");
    assert!(m.has("ro"), "{m:?}");
    assert!(
        !m.has("nosuid") && !m.has("nodev") && !m.has("noexec"),
        "{m:?}"
    );
    for p in ["/plain", "/rplain"] {
        let m = mount_at(&mi, p);
        for o in ["ro", "nosuid", "nodev", "noexec"] {
            assert!(m.has(o), "{p} lost the source's {o}: {m:?}");
        }
    }
}

/// In a user namespace the flags of a host mount are locked: a bind with flags keeps them
/// (runc adds them back), and one that explicitly clears a locked flag fails, naming it.
#[test]
fn bind_flags_locked_in_a_user_namespace() {
    let c0 = Container::new("bindlocked");
    let src = c0.scratch("src");
    let _m = HostMount::new(
        &["-t", "tmpfs", "-o", "nosuid,nodev,mode=755", "tmpfs"],
        &src,
    );
    let mut c = Container::new("bindlocked");
    user_namespace(&mut c);
    // The rootfs belongs to the host's root: its mapped root cannot make mount points.
    std::fs::create_dir(c.rootfs().join("ro")).expect("mkdir");
    add_mounts(
        &mut c,
        json!([{"destination": "/ro", "type": "bind", "source": src, "options": ["bind", "ro"]}]),
    );
    let (_, mi) = run_with_mountinfo(&mut c, "true");
    let m = mount_at(&mi, "/ro");
    assert!(m.has("ro") && m.has("nosuid") && m.has("nodev"), "{m:?}");

    let mut c = Container::new("bindlocked");
    user_namespace(&mut c);
    std::fs::create_dir(c.rootfs().join("dev2")).expect("mkdir");
    add_mounts(
        &mut c,
        json!([{"destination": "/dev2", "type": "bind", "source": src, "options": ["bind", "dev"]}]),
    );
    let o = c.create();
    o.fails()
        .stderr_has("mounts[")
        .stderr_has("/dev2")
        .stderr_has("locked")
        .stderr_has("nodev");
    assert!(!c.root.join(&c.id).exists(), "state dir left behind");
}

/// runc refuses proc and sysfs on anything but a directory: a symlink there is an old attack
/// (the kernel would follow it), not something to resolve.
#[test]
fn proc_and_sys_on_a_symlink_are_refused() {
    for (name, ty) in [("proc", "proc"), ("sys", "sysfs")] {
        let c = Container::new("procsymlink");
        let r = c.rootfs();
        std::fs::remove_dir(r.join(name)).expect("rmdir");
        std::fs::create_dir(r.join("elsewhere")).expect("mkdir");
        std::os::unix::fs::symlink("elsewhere", r.join(name)).expect("symlink");
        let o = c.create();
        o.fails()
            .stderr_has(&format!("/{name}"))
            .stderr_has(&format!("{ty:?} must be mounted on an ordinary directory"));
        assert_eq!(o.code, 1);
        assert!(!c.root.join(&c.id).exists(), "state dir left behind");
    }
}

#[test]
fn duplicate_masked_paths_are_masked_once() {
    let mut c = Container::new("maskdup");
    let paths = c.config["linux"]["maskedPaths"]
        .as_array_mut()
        .expect("maskedPaths");
    paths.extend([
        json!("/proc/keys"),
        json!("/proc/keys"),
        json!("/sys/firmware"),
    ]);
    let (_, mi) = run_with_mountinfo(&mut c, "true");
    for p in ["/proc/keys", "/sys/firmware"] {
        let n = mi.iter().filter(|m| m.mount_point == p).count();
        assert_eq!(n, 1, "{p} masked {n} times");
    }
}

/// A new procfs may be mounted (by a user namespace inside the container) only where a fully
/// visible one exists in the mount namespace. With `--no-pivot` the host's procfs stays
/// underneath the container's root unless it is removed first, as runc does.
#[test]
fn no_pivot_hides_the_hosts_procfs() {
    for no_pivot in [false, true] {
        let mut c = Container::new("nopivotproc");
        add_mounts(
            &mut c,
            json!([{"destination": "/p", "type": "tmpfs", "source": "tmpfs"}]),
        );
        // An unprivileged user: its own user namespace is where the mount is attempted.
        c.config["process"]["user"] = json!({"uid": 1000, "gid": 1000});
        c.sh("unshare -mrpf mount -t proc proc /p 2>&1; echo rc=$?");
        let extra: &[&str] = if no_pivot { &["--no-pivot"] } else { &[] };
        c.create_with(extra).ok();
        c.start().ok();
        c.wait_status("stopped");
        let out = c.stdout();
        eprintln!("no_pivot={no_pivot}: {out}");
        assert!(
            out.contains("rc=") && !out.contains("rc=0"),
            "--no-pivot={no_pivot}: a procfs was mountable: {out}"
        );
    }
}

/// rootfsPropagation `shared` makes `/` a shared mount of its own (no longer a slave of the
/// host); `rprivate` is applied before the mounts, so their own propagation options stay.
#[test]
fn rootfs_propagation_shared_and_per_mount() {
    let mut c = Container::new("rootshared");
    c.config["linux"]["rootfsPropagation"] = json!("shared");
    let (_, mi) = run_with_mountinfo(&mut c, "true");
    let root = mount_at(&mi, "/");
    assert!(
        root.has_field("shared:") && !root.has_field("master:"),
        "{root:?}"
    );

    for prop in ["rprivate", "private"] {
        let mut c = Container::new("rootpermount");
        c.config["linux"]["rootfsPropagation"] = json!(prop);
        add_mounts(
            &mut c,
            json!([
                {"destination": "/sh", "type": "tmpfs", "source": "tmpfs", "options": ["shared"]},
                {"destination": "/ub", "type": "tmpfs", "source": "tmpfs", "options": ["unbindable"]}
            ]),
        );
        let (_, mi) = run_with_mountinfo(&mut c, "true");
        let sh = mount_at(&mi, "/sh");
        assert!(sh.has_field("shared:"), "{prop}: {sh:?}");
        assert_eq!(mount_at(&mi, "/ub").optional, ["unbindable"], "{prop}");
        assert!(mount_at(&mi, "/").optional.is_empty(), "{prop}");
    }
}

/// A read-only `/dev` (runc: mounted rw, populated, then remounted read-only).
#[test]
fn read_only_dev() {
    let mut c = Container::new("rodev");
    for m in c.config["mounts"].as_array_mut().expect("mounts") {
        if m["destination"] == "/dev" {
            m["options"]
                .as_array_mut()
                .expect("options")
                .push(json!("ro"));
        }
    }
    let (out, mi) = run_with_mountinfo(
        &mut c,
        "stat -c '%n %t %T' /dev/null; echo x > /dev/null && echo null-ok; touch /dev/x 2>&1",
    );
    assert!(out.starts_with("/dev/null 1 3\nnull-ok\n"), "{out}");
    assert!(out.contains("Read-only file system"), "{out}");
    assert!(mount_at(&mi, "/dev").has("ro"));
    assert_eq!(mount_at(&mi, "/dev/pts").fstype, "devpts");
}

/// runtime-spec: a namespace not listed is the runtime's. Without a mount namespace hull
/// mounts nothing (the host's mount table is the container's) and chroots into the rootfs;
/// what cannot be had without mounting is refused up front, naming the field.
#[test]
fn no_mount_namespace() {
    let host_root = || {
        std::fs::read_to_string("/proc/self/mountinfo")
            .expect("mountinfo")
            .lines()
            .find(|l| l.split(' ').nth(4) == Some("/"))
            .map(str::to_string)
            .expect("host /")
    };
    let before = host_root();
    let mut c = Container::new("nsnomnt");
    let ns: Vec<Value> = c.config["linux"]["namespaces"]
        .as_array()
        .expect("ns")
        .iter()
        .filter(|n| n["type"] != "mount")
        .cloned()
        .collect();
    c.config["linux"]["namespaces"] = json!(ns);
    c.config["mounts"] = json!([]);
    c.config["root"]["readonly"] = json!(false);
    c.config["linux"]["maskedPaths"] = json!([]);
    c.config["linux"]["readonlyPaths"] = json!([]);
    c.put("/marker", "in rootfs\n");
    c.sh("cat /marker; ls /proc | wc -l");
    c.create().ok();
    // Nothing of the container is mounted on the host, and `/` kept its propagation.
    let bundle = c.bundle.display().to_string();
    let mi = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    assert!(!mi.contains(&bundle), "host mounts under the bundle: {mi}");
    assert_eq!(host_root(), before);
    c.start().ok();
    c.wait_status("stopped");
    assert_eq!(
        c.stdout(),
        "in rootfs\n0\n",
        "chrooted into the rootfs, nothing mounted"
    );

    // `exec` enters the same root (it has no mount namespace to join).
    let mut e = Container::new("nsnomntexec");
    e.config = c.config.clone();
    e.config["root"]["path"] = json!("rootfs");
    e.put("/marker", "exec in rootfs\n");
    e.args(&["sleep", "600"]);
    e.create().ok();
    e.start().ok();
    let o = e.hull(&["exec", &e.id, "cat", "/marker"]);
    assert_eq!(o.ok().out(), "exec in rootfs");
    e.hull(&["kill", &e.id, "KILL"]).ok();
    e.wait_status("stopped");

    type Set = fn(&mut Value);
    let cases: [(&str, Set); 3] = [
        (
            "mounts",
            |c| c["mounts"] = json!([{"destination": "/t", "type": "tmpfs", "source": "tmpfs"}]),
        ),
        ("linux.maskedPaths", |c| {
            c["linux"]["maskedPaths"] = json!(["/proc/keys"])
        }),
        ("root.readonly", |c| c["root"]["readonly"] = json!(true)),
    ];
    for (field, set) in cases {
        let mut d = Container::new("nsnomntbad");
        d.config = c.config.clone();
        set(&mut d.config);
        d.config["root"]["path"] = json!("rootfs");
        let o = d.create();
        o.fails()
            .stderr_has(field)
            .stderr_has("needs a mount namespace");
        assert!(!d.root.join(&d.id).exists(), "state dir left behind");
    }
}

/// In a user namespace, bind sources are cloned with the runtime's credentials (runc does the
/// same): a source under a directory the container's mapped root may not search still
/// binds, and a source inside the rootfs resolves as the container's mount namespace sees it
/// at that point (after the earlier mounts), as in runc.
#[test]
fn bind_sources_in_a_user_namespace() {
    let mut c = Container::new("bindsrcuserns");
    user_namespace(&mut c);
    let private = c.scratch("private");
    std::fs::create_dir(private.join("data")).expect("mkdir");
    std::fs::write(private.join("data/file"), "reached\n").expect("write");
    std::fs::set_permissions(
        &private,
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .expect("chmod");
    let earlier = c.scratch("earlier");
    std::fs::write(earlier.join("file"), "from the earlier mount\n").expect("write");
    let r = c.rootfs();
    for d in ["data", "m", "x"] {
        std::fs::create_dir(r.join(d)).expect("mkdir");
    }
    std::fs::write(r.join("m/file"), "from the image\n").expect("write");
    std::fs::write(r.join("x/file"), "").expect("write");
    add_mounts(
        &mut c,
        json!([
            {"destination": "/data", "type": "bind", "source": private.join("data"), "options": ["bind"]},
            {"destination": "/m", "type": "bind", "source": earlier, "options": ["bind"]},
            {"destination": "/x/file", "type": "bind", "source": r.join("m/file"), "options": ["bind"]}
        ]),
    );
    c.sh("cat /data/file /x/file");
    let o = c.run();
    assert_eq!(o.ok().out(), "reached\nfrom the earlier mount");
}
