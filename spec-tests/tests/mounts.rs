//! config.md "Root" and "Mounts", config-linux.md "rootfs mount propagation": what the
//! container sees of its filesystem, checked from inside (mountinfo, writes) and on the host.

use serde_json::{json, Value};
use spec_tests::{mount_at, parse_mountinfo, Container, HostMount, MountInfo};

fn add_mounts(c: &mut Container, mounts: Value) {
    let list = c.config["mounts"].as_array_mut().expect("mounts");
    list.extend(mounts.as_array().expect("array").iter().cloned());
}

/// Runs the container with `script` appended by a mountinfo dump; returns (script output,
/// parsed mountinfo). The script's own output must not contain the `@@` marker.
#[track_caller]
fn run_with_mountinfo(c: &mut Container, script: &str) -> (String, Vec<MountInfo>) {
    c.sh(&format!("{script}\necho @@; cat /proc/self/mountinfo"));
    let o = c.run();
    o.ok();
    let (out, mi) = o.stdout.split_once("@@\n").expect("marker in output");
    (out.to_string(), parse_mountinfo(mi))
}

#[test]
fn root_readonly() {
    let mut c = Container::new("rootro");
    assert_eq!(c.config["root"]["readonly"], true, "hull spec default");
    let (out, mi) = run_with_mountinfo(&mut c, "touch /x 2>&1; echo rc=$?");
    assert!(
        out.contains("Read-only file system") && out.contains("rc=1"),
        "{out}"
    );
    assert!(mount_at(&mi, "/").has("ro"));
    assert!(!c.rootfs().join("x").exists());

    let mut c = Container::new("rootrw");
    c.config["root"]["readonly"] = json!(false);
    let (out, mi) = run_with_mountinfo(&mut c, "echo data > /x 2>&1; echo rc=$?");
    assert_eq!(out, "rc=0\n");
    assert!(mount_at(&mi, "/").has("rw"));
    assert_eq!(
        std::fs::read_to_string(c.rootfs().join("x")).expect("written"),
        "data\n"
    );
}

#[test]
fn mounts_are_applied_in_order() {
    // A later mount at the same destination covers an earlier one, whichever kinds they are.
    for bind_first in [true, false] {
        let mut c = Container::new("order");
        let lower = c.scratch("lower");
        std::fs::write(lower.join("marker"), "lower\n").expect("marker");
        let bind =
            json!({"destination": "/m", "type": "bind", "source": lower, "options": ["bind"]});
        let tmpfs = json!({"destination": "/m", "type": "tmpfs", "source": "tmpfs"});
        let nested = json!({"destination": "/m/inner", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]});
        add_mounts(
            &mut c,
            if bind_first {
                json!([bind, tmpfs, nested])
            } else {
                json!([tmpfs, bind, nested])
            },
        );
        let (out, mi) = run_with_mountinfo(&mut c, "cat /m/marker 2>&1");
        let top = mount_at(&mi, "/m");
        if bind_first {
            assert_eq!(top.fstype, "tmpfs");
            assert!(out.contains("No such file"), "{out}");
        } else {
            assert!(top.root.ends_with("/lower"), "the bind on top: {top:?}");
            assert_eq!(out, "lower\n");
        }
        // The nested mount went onto the topmost /m, after it.
        let inner = mount_at(&mi, "/m/inner");
        assert_eq!(inner.parent, top.id, "{inner:?} not on {top:?}");
        assert!(inner.has_super("size=1024k"), "{inner:?}");
        // Its mount point was made in whatever /m was at that time.
        assert_eq!(lower.join("inner").exists(), !bind_first);
    }
}

#[test]
fn filesystem_types() {
    let mut c = Container::new("fstypes");
    add_mounts(
        &mut c,
        json!([{"destination": "/run", "type": "tmpfs", "source": "tmpfs"}]),
    );
    let (out, mi) = run_with_mountinfo(
        &mut c,
        "ls /proc/self/status /sys/kernel/mm /dev/pts/ptmx >/dev/null && echo ok",
    );
    assert_eq!(out, "ok\n");
    for (point, ty) in [
        ("/proc", "proc"),
        ("/dev", "tmpfs"),
        ("/dev/pts", "devpts"),
        ("/dev/shm", "tmpfs"),
        ("/dev/mqueue", "mqueue"),
        ("/sys", "sysfs"),
        ("/run", "tmpfs"),
    ] {
        assert_eq!(mount_at(&mi, point).fstype, ty, "{point}");
    }
    let pts = mount_at(&mi, "/dev/pts");
    // `hull spec --rootless` drops gid=5 (unmapped in a user's namespace), as runc's.
    assert!(
        (pts.has_super("gid=5") || spec_tests::rootless())
            && pts.has_super("mode=620")
            && pts.has_super("ptmxmode=666"),
        "{pts:?}"
    );
    assert!(pts.has("nosuid") && pts.has("noexec"), "{pts:?}");
    let shm = mount_at(&mi, "/dev/shm");
    assert_eq!(shm.source, "shm", "mounts[].source is passed on");
    assert!(shm.has_super("size=65536k"), "{shm:?}");
    assert!(mount_at(&mi, "/sys").has("ro"));
}

#[test]
fn flag_options() {
    let mut c = Container::new("flags");
    add_mounts(
        &mut c,
        json!([
            {"destination": "/all", "type": "tmpfs", "source": "tmpfs",
             "options": ["ro", "nosuid", "nodev", "noexec"]},
            {"destination": "/none", "type": "tmpfs", "source": "tmpfs"},
            {"destination": "/rw", "type": "tmpfs", "source": "tmpfs", "options": ["ro", "rw"]},
            {"destination": "/noexec", "type": "tmpfs", "source": "tmpfs", "options": ["noexec"]}
        ]),
    );
    let (out, mi) = run_with_mountinfo(
        &mut c,
        "touch /all/x 2>&1; touch /rw/x && echo rw-ok; \
         cp /bin/busybox /noexec/true; /noexec/true 2>&1 || echo noexec-refused; \
         cp /bin/busybox /none/true; /none/true && echo exec-ok",
    );
    assert!(out.contains("/all/x: Read-only file system"), "{out}");
    assert!(out.contains("rw-ok"), "{out}");
    assert!(out.contains("noexec-refused"), "{out}");
    assert!(out.contains("exec-ok"), "{out}");
    let all = mount_at(&mi, "/all");
    for o in ["ro", "nosuid", "nodev", "noexec"] {
        assert!(all.has(o), "/all lacks {o}: {all:?}");
    }
    let none = mount_at(&mi, "/none");
    for o in ["ro", "nosuid", "nodev", "noexec"] {
        assert!(!none.has(o), "/none has {o}: {none:?}");
    }
    assert!(mount_at(&mi, "/rw").has("rw"), "a later rw clears ro");
}

#[test]
fn atime_options() {
    let mut c = Container::new("atime");
    let src = c.scratch("src");
    add_mounts(
        &mut c,
        json!([
            {"destination": "/noatime", "type": "tmpfs", "source": "tmpfs", "options": ["noatime"]},
            {"destination": "/strict", "type": "tmpfs", "source": "tmpfs", "options": ["strictatime"]},
            {"destination": "/relatime", "type": "tmpfs", "source": "tmpfs", "options": ["relatime"]},
            {"destination": "/nodiratime", "type": "tmpfs", "source": "tmpfs", "options": ["nodiratime"]},
            {"destination": "/bnoatime", "type": "bind", "source": src, "options": ["bind", "noatime"]}
        ]),
    );
    // A user's bind keeps the source mount's atime flags: the kernel locks them in a user
    // namespace (EPERM to change, runc alike). New tmpfs mounts are the user's to set.
    let rootless = spec_tests::rootless();
    if rootless {
        eprintln!("rootless: the bind's atime flags are locked; only the tmpfs mounts checked");
        if let Some(m) = c.config["mounts"].as_array_mut() {
            m.retain(|m| m["destination"] != "/bnoatime");
        }
    }
    let (_, mi) = run_with_mountinfo(&mut c, "true");
    let m = mount_at(&mi, "/noatime");
    assert!(m.has("noatime") && !m.has("relatime"), "{m:?}");
    let m = mount_at(&mi, "/strict");
    assert!(!m.has("noatime") && !m.has("relatime"), "{m:?}");
    let m = mount_at(&mi, "/relatime");
    assert!(m.has("relatime"), "{m:?}");
    let m = mount_at(&mi, "/nodiratime");
    assert!(m.has("nodiratime"), "{m:?}");
    if !rootless {
        let m = mount_at(&mi, "/bnoatime");
        assert!(m.has("noatime") && !m.has("relatime"), "bind: {m:?}");
    }
}

#[test]
fn data_options() {
    let mut c = Container::new("data");
    std::fs::create_dir(c.rootfs().join("kept")).expect("mkdir");
    std::fs::set_permissions(
        c.rootfs().join("kept"),
        std::os::unix::fs::PermissionsExt::from_mode(0o750),
    )
    .expect("chmod");
    add_mounts(
        &mut c,
        json!([
            {"destination": "/t", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "size=1m", "mode=0710", "nr_inodes=100"]},
            {"destination": "/kept", "type": "tmpfs", "source": "tmpfs"}
        ]),
    );
    let (out, mi) = run_with_mountinfo(&mut c, "stat -c %a /t /kept");
    let t = mount_at(&mi, "/t");
    for o in ["size=1024k", "mode=710", "nr_inodes=100"] {
        assert!(t.has_super(o), "/t lacks {o}: {t:?}");
    }
    assert!(t.has("nosuid"), "flags and data together: {t:?}");
    // A tmpfs over an existing directory keeps its mode (runc does the same).
    assert_eq!(out, "710\n750\n");
}

#[test]
fn missing_destinations_are_created() {
    let mut c = Container::new("mkdest");
    let dir = c.scratch("dir");
    let file = c.scratch("f").join("file");
    std::fs::write(&file, "file content\n").expect("file");
    add_mounts(
        &mut c,
        json!([
            {"destination": "/new/deep/dir", "type": "bind", "source": dir, "options": ["bind"]},
            {"destination": "/new/deep/file", "type": "bind", "source": file, "options": ["bind"]},
            {"destination": "/etc/hostfile", "type": "bind", "source": file, "options": ["rbind", "ro"]},
            {"destination": "/tmpfs/here", "type": "tmpfs", "source": "tmpfs"}
        ]),
    );
    let (out, mi) = run_with_mountinfo(&mut c, "cat /new/deep/file /etc/hostfile");
    assert_eq!(out, "file content\nfile content\n");
    for p in [
        "/new/deep/dir",
        "/new/deep/file",
        "/etc/hostfile",
        "/tmpfs/here",
    ] {
        mount_at(&mi, p);
    }
    let r = c.rootfs();
    assert!(r.join("new/deep/dir").is_dir());
    assert!(r.join("new/deep/file").is_file(), "file source: file dest");
    assert!(r.join("etc/hostfile").is_file());
    assert!(r.join("tmpfs/here").is_dir());
}

#[test]
fn bind_mounts_of_dirs_and_files() {
    let mut c = Container::new("bind");
    c.config["root"]["readonly"] = json!(false);
    let rw = c.scratch("rw");
    std::fs::write(rw.join("in"), "from host\n").expect("file");
    let ro = c.scratch("ro");
    std::fs::write(ro.join("in"), "ro file\n").expect("file");
    let file = c.scratch("f").join("file");
    std::fs::write(&file, "single\n").expect("file");
    add_mounts(
        &mut c,
        json!([
            {"destination": "/rw", "type": "bind", "source": rw, "options": ["bind"]},
            {"destination": "/ro", "type": "bind", "source": ro, "options": ["bind", "ro"]},
            {"destination": "/file", "type": "none", "source": file, "options": ["bind", "ro"]},
            {"destination": "/filerw", "source": file, "options": ["bind"]}
        ]),
    );
    let (out, mi) = run_with_mountinfo(
        &mut c,
        "cat /rw/in /ro/in /file; echo back > /rw/out; \
         touch /ro/x 2>&1; echo more >> /file 2>&1; echo rw >> /filerw",
    );
    assert_eq!(
        out.lines().take(3).collect::<Vec<_>>(),
        ["from host", "ro file", "single"]
    );
    assert!(out.contains("/ro/x: Read-only file system"), "{out}");
    assert!(out.contains("Read-only file system"), "{out}");
    assert_eq!(
        std::fs::read_to_string(rw.join("out")).expect("write reached the host"),
        "back\n"
    );
    assert!(!ro.join("x").exists());
    assert_eq!(
        std::fs::read_to_string(&file).expect("file"),
        "single\nrw\n"
    );
    assert!(mount_at(&mi, "/ro").has("ro"));
    assert!(mount_at(&mi, "/rw").has("rw"));
    assert!(mount_at(&mi, "/file").has("ro"));
}

#[test]
fn rbind_carries_submounts_and_rro() {
    if spec_tests::needs_root("mounts a tmpfs on the host under the bind's source") {
        return;
    }
    let mut c = Container::new("rbind");
    let src = c.scratch("src");
    std::fs::write(src.join("top"), "top\n").expect("file");
    let sub = src.join("sub");
    let _m = HostMount::new(&["-t", "tmpfs", "-o", "size=1m", "tmpfs"], &sub);
    std::fs::write(sub.join("subfile"), "sub\n").expect("file");
    add_mounts(
        &mut c,
        json!([
            {"destination": "/bind", "type": "bind", "source": src, "options": ["bind"]},
            {"destination": "/rbind", "type": "bind", "source": src, "options": ["rbind"]},
            {"destination": "/rbindro", "type": "bind", "source": src, "options": ["rbind", "ro"]},
            {"destination": "/rro", "type": "bind", "source": src, "options": ["rbind", "rro"]}
        ]),
    );
    let (out, mi) = run_with_mountinfo(
        &mut c,
        "ls /bind/sub; echo -; cat /rbind/sub/subfile; \
         touch /rbindro/x 2>&1; touch /rbindro/sub/a && echo sub-rw; \
         touch /rro/sub/b 2>&1",
    );
    let mut l = out.lines();
    assert_eq!(
        l.next(),
        Some("-"),
        "bind (not rbind) has no submounts: {out}"
    );
    assert_eq!(l.next(), Some("sub"), "{out}");
    assert!(out.contains("/rbindro/x: Read-only file system"), "{out}");
    assert!(
        out.contains("sub-rw"),
        "ro applies to the top mount only: {out}"
    );
    assert!(out.contains("/rro/sub/b: Read-only file system"), "{out}");
    assert!(sub.join("a").exists() && !sub.join("b").exists());
    assert!(!mi.iter().any(|m| m.mount_point == "/bind/sub"));
    assert_eq!(mount_at(&mi, "/rbind/sub").fstype, "tmpfs");
    assert!(mount_at(&mi, "/rro/sub").has("ro"));
    assert!(mount_at(&mi, "/rbindro/sub").has("rw"));
}

#[test]
fn propagation_options() {
    let mut c = Container::new("propagation");
    let t = c.rootfs().join("t");
    add_mounts(
        &mut c,
        json!([
            {"destination": "/t", "type": "tmpfs", "source": "tmpfs", "options": ["shared"]},
            {"destination": "/same", "type": "bind", "source": t, "options": ["bind"]},
            {"destination": "/slave", "type": "bind", "source": t, "options": ["bind", "slave"]},
            {"destination": "/private", "type": "bind", "source": t, "options": ["bind", "private"]},
            {"destination": "/unbindable", "type": "bind", "source": t, "options": ["bind", "unbindable"]},
            {"destination": "/rshared", "type": "tmpfs", "source": "tmpfs", "options": ["rshared"]},
            {"destination": "/rprivate", "type": "bind", "source": t, "options": ["rbind", "rprivate"]},
            {"destination": "/rslave", "type": "bind", "source": t, "options": ["rbind", "rslave"]},
            {"destination": "/runbindable", "type": "tmpfs", "source": "tmpfs", "options": ["runbindable"]}
        ]),
    );
    let (_, mi) = run_with_mountinfo(&mut c, "true");
    let t = mount_at(&mi, "/t");
    let group = t
        .optional
        .iter()
        .find_map(|f| f.strip_prefix("shared:"))
        .unwrap_or_else(|| panic!("/t is not shared: {t:?}"))
        .to_string();
    assert_eq!(
        mount_at(&mi, "/same").optional,
        [format!("shared:{group}")],
        "a bind of a shared mount joins its peer group"
    );
    assert_eq!(
        mount_at(&mi, "/slave").optional,
        [format!("master:{group}")]
    );
    assert_eq!(
        mount_at(&mi, "/rslave").optional,
        [format!("master:{group}")]
    );
    assert!(mount_at(&mi, "/private").optional.is_empty());
    assert!(mount_at(&mi, "/rprivate").optional.is_empty());
    assert_eq!(mount_at(&mi, "/unbindable").optional, ["unbindable"]);
    assert_eq!(mount_at(&mi, "/runbindable").optional, ["unbindable"]);
    let rs = mount_at(&mi, "/rshared");
    assert!(
        rs.has_field("shared:") && !rs.optional.contains(&format!("shared:{group}")),
        "a new peer group: {rs:?}"
    );
}

/// rootfsPropagation, checked by what reaches the container from the host: the bundle sits
/// on a shared host mount, and a tmpfs mounted under the rootfs after `create` shows up
/// inside only if `/` receives propagation.
#[test]
fn rootfs_propagation() {
    if spec_tests::needs_root("makes the bundle a shared mount on the host") {
        return;
    }
    for (prop, receives, field) in [
        (None, true, Some("master:")),
        (Some("slave"), true, Some("master:")),
        (Some("rslave"), true, Some("master:")),
        (Some("private"), false, None),
        // A peer group of its own: it no longer receives the host's mounts (runc).
        (Some("shared"), false, Some("shared:")),
        (Some("unbindable"), false, Some("unbindable")),
    ] {
        let mut c = Container::new("rootprop");
        std::fs::create_dir(c.rootfs().join("late")).expect("mkdir");
        if let Some(p) = prop {
            c.config["linux"]["rootfsPropagation"] = json!(p);
        }
        c.sh("ls /late; echo @@; cat /proc/self/mountinfo");
        let bundle = c.bundle.clone();
        let b = bundle.display().to_string();
        let _shared = HostMount::new(&["--bind", "--make-shared", &b], &bundle);
        c.create().ok();
        let _late = HostMount::new(&["-t", "tmpfs", "tmpfs"], &bundle.join("rootfs/late"));
        std::fs::write(bundle.join("rootfs/late/arrived"), "").expect("write");
        c.start().ok();
        c.wait_status("stopped");
        let text = c.stdout();
        let (ls, mi) = text.split_once("@@\n").expect("marker");
        let mi = parse_mountinfo(mi);
        assert_eq!(
            ls.contains("arrived"),
            receives,
            "{prop:?}: host mount propagated in? {text}"
        );
        let root = mount_at(&mi, "/");
        match field {
            Some(f) => assert!(root.has_field(f), "{prop:?}: / lacks {f}: {root:?}"),
            None => assert!(root.optional.is_empty(), "{prop:?}: {root:?}"),
        }
        if prop == Some("slave") || prop.is_none() {
            assert!(!root.has_field("shared:"), "{prop:?}: {root:?}");
        }
        c.hull(&["delete", &c.id]).ok();
    }
}

#[test]
fn pivot_root_hides_the_host() {
    let mut c = Container::new("pivot");
    c.put("/marker", "in rootfs\n");
    let (out, mi) = run_with_mountinfo(&mut c, "cat /marker; ls /");
    assert!(out.starts_with("in rootfs\n"), "{out}");
    let mut want: Vec<String> = std::fs::read_dir(c.rootfs())
        .expect("ls rootfs")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    want.sort();
    let mut got: Vec<String> = out.lines().skip(1).map(str::to_string).collect();
    got.sort();
    assert_eq!(got, want, "/ is the rootfs");
    // Every mount is the rootfs or one the config asked for; none of the host's.
    for m in &mi {
        let p = m.mount_point.as_str();
        assert!(
            p == "/" || p.starts_with("/proc") || p.starts_with("/dev") || p.starts_with("/sys"),
            "host mount visible in the container: {m:?}"
        );
    }
    assert_eq!(mi.iter().filter(|m| m.mount_point == "/").count(), 1);
    assert!(mi.len() < 40, "{} mounts", mi.len());
}

#[test]
fn no_pivot() {
    let mut c = Container::new("nopivot");
    c.put("/marker", "in rootfs\n");
    c.sh("cat /marker; echo @@; cat /proc/self/mountinfo");
    c.create_with(&["--no-pivot"]).ok();
    c.start().ok();
    c.wait_status("stopped");
    let text = c.stdout();
    let (out, mi) = text.split_once("@@\n").expect("marker");
    assert_eq!(out, "in rootfs\n");
    let mi = parse_mountinfo(mi);
    let root = mount_at(&mi, "/");
    assert!(root.root.ends_with("/rootfs"), "{root:?}");
    assert!(root.has("ro"), "root.readonly with --no-pivot: {root:?}");
    assert_eq!(mount_at(&mi, "/proc").fstype, "proc");
    for m in &mi {
        let p = m.mount_point.as_str();
        assert!(
            p == "/" || p.starts_with("/proc") || p.starts_with("/dev") || p.starts_with("/sys"),
            "host mount visible in the container: {m:?}"
        );
    }
}

/// Symlinks in the image are resolved inside the rootfs: an absolute link and a relative
/// one climbing out both land in the rootfs, and nothing is created or mounted on the host.
#[test]
fn symlink_destinations_stay_in_rootfs() {
    let mut c = Container::new("symlinks");
    c.config["root"]["readonly"] = json!(false);
    let host_dir = c.scratch("hostside");
    let host_rel = c.scratch("hostrel");
    let file = c.scratch("f").join("file");
    std::fs::write(&file, "bound\n").expect("file");
    let r = c.rootfs();
    std::os::unix::fs::symlink("/etc", r.join("mnt")).expect("symlink");
    // Absolute, pointing at a directory that exists on the host only.
    std::os::unix::fs::symlink(&host_dir, r.join("abs")).expect("symlink");
    // Relative, climbing far above the rootfs.
    let climb = format!("../../../../../../../../..{}", host_rel.display());
    std::os::unix::fs::symlink(&climb, r.join("rel")).expect("symlink");
    add_mounts(
        &mut c,
        json!([
            {"destination": "/mnt", "type": "tmpfs", "source": "tmpfs"},
            {"destination": "/abs/file", "type": "bind", "source": file, "options": ["bind"]},
            {"destination": "/rel/x", "type": "tmpfs", "source": "tmpfs"}
        ]),
    );
    let (out, mi) = run_with_mountinfo(&mut c, "ls /etc | wc -l; cat /abs/file");
    assert_eq!(
        out, "0\nbound\n",
        "/mnt -> /etc mounted over the rootfs's /etc"
    );
    assert_eq!(mount_at(&mi, "/etc").fstype, "tmpfs");
    let abs_in = format!("{}/file", host_dir.display());
    let rel_in = format!("{}/x", host_rel.display());
    mount_at(&mi, &abs_in);
    mount_at(&mi, &rel_in);
    assert!(mi.iter().all(|m| m.mount_point != "/mnt"));
    // Host side: nothing created outside the rootfs, the rootfs got the paths instead.
    assert!(!host_dir.join("file").exists(), "created on the host");
    assert!(!host_rel.join("x").exists(), "created on the host");
    let inside = |p: &std::path::Path| r.join(p.strip_prefix("/").expect("absolute"));
    assert!(inside(&host_dir).join("file").is_file());
    assert!(inside(&host_rel).join("x").is_dir());
    assert!(std::fs::read_to_string(r.join("etc/passwd")).is_ok());
    assert!(std::path::Path::new("/etc/passwd").exists());
}

#[test]
fn bad_mounts_fail_create_cleanly() {
    for (mount, want) in [
        (
            json!({"destination": "/bad", "type": "nosuchfs", "source": "x"}),
            "nosuchfs",
        ),
        (
            json!({"destination": "/bad", "type": "tmpfs", "source": "tmpfs", "options": ["size=abc"]}),
            "size=abc",
        ),
        (
            json!({"destination": "/bad", "type": "bind", "source": "/nonexistent/hull-src", "options": ["bind"]}),
            "/nonexistent/hull-src",
        ),
    ] {
        let mut c = Container::new("badmount");
        add_mounts(&mut c, json!([mount]));
        let n = c.config["mounts"]
            .as_array()
            .map(|a| a.len() - 1)
            .unwrap_or(0);
        let o = c.create();
        o.fails()
            .stderr_has(&format!("mounts[{n}]"))
            .stderr_has("/bad")
            .stderr_has(want);
        assert_eq!(o.code, 1);
        assert_eq!(o.stderr.trim().lines().count(), 1, "one line: {}", o.stderr);
        assert!(!c.root.join(&c.id).exists(), "state dir left behind");
        c.hull(&["state", &c.id]).fails();
    }
}

/// `..` in a destination: lexical through missing directories (nothing made for them),
/// clamped at the rootfs's `/`, as runc resolves it.
#[test]
fn dotdot_destinations_stay_in_rootfs() {
    let mut c = Container::new("dotdot");
    let host = c.scratch("hostside");
    let climb = format!("/../../../../../../..{}/x", host.display());
    add_mounts(
        &mut c,
        json!([
            {"destination": "/a/b/../../dotdot", "type": "tmpfs", "source": "tmpfs"},
            {"destination": climb, "type": "tmpfs", "source": "tmpfs"}
        ]),
    );
    let (_, mi) = run_with_mountinfo(&mut c, "true");
    mount_at(&mi, "/dotdot");
    mount_at(&mi, &format!("{}/x", host.display()));
    let r = c.rootfs();
    assert!(r.join("dotdot").is_dir());
    assert!(
        !r.join("a").exists(),
        "a missing directory before `..` was made"
    );
    assert!(!host.join("x").exists(), "created on the host");
}

/// A mount onto `/` itself: everything after it goes on top of it, and it is what the
/// container gets as its root.
#[test]
fn mount_onto_the_root() {
    let mut c = Container::new("ontoroot");
    let rootfs = c.rootfs();
    c.put("/marker", "root\n");
    let list = c.config["mounts"].as_array_mut().expect("mounts");
    list.insert(
        0,
        json!({"destination": "/", "type": "bind", "source": rootfs, "options": ["rbind", "nosuid"]}),
    );
    add_mounts(
        &mut c,
        json!([{"destination": "/after", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]}]),
    );
    let (out, mi) = run_with_mountinfo(&mut c, "cat /marker");
    assert_eq!(out, "root\n");
    let root = mount_at(&mi, "/");
    assert!(root.has("nosuid"), "the bind is the root: {root:?}");
    assert!(root.has("ro"), "root.readonly applied to it: {root:?}");
    let after = mount_at(&mi, "/after");
    assert_eq!(after.parent, root.id, "{after:?}");
    assert_eq!(mount_at(&mi, "/proc").parent, root.id);
}

/// Bind sources that are not regular files or directories: a FIFO (whose plain open blocks
/// until a writer comes), a socket, a device node.
#[test]
fn bind_of_fifo_socket_and_device() {
    let mut c = Container::new("bindspecial");
    let d = c.scratch("special");
    let fifo = d.join("fifo");
    let o = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .output()
        .expect("mkfifo");
    assert!(o.status.success());
    let sock = d.join("sock");
    let _listener = std::os::unix::net::UnixListener::bind(&sock).expect("socket");
    add_mounts(
        &mut c,
        json!([
            {"destination": "/run/fifo", "type": "bind", "source": fifo, "options": ["bind"]},
            {"destination": "/run/sock", "type": "bind", "source": sock, "options": ["bind"]},
            {"destination": "/run/null", "type": "bind", "source": "/dev/null", "options": ["bind"]}
        ]),
    );
    c.sh("stat -c '%n %F' /run/fifo /run/sock /run/null");
    let o = c.run();
    assert_eq!(
        o.ok().out().lines().collect::<Vec<_>>(),
        [
            "/run/fifo fifo",
            "/run/sock socket",
            "/run/null character special file"
        ]
    );
}

/// runc's `tmpcopyup`: the new tmpfs starts with a copy of what it covers (modes, owners,
/// links), and writes to it stay off the image.
#[test]
fn tmpfs_tmpcopyup() {
    if spec_tests::needs_root("chowns rootfs files to ids the caller does not own") {
        return;
    }
    let mut c = Container::new("copyup");
    c.put("/data/sub/file", "image\n");
    std::os::unix::fs::symlink("sub/file", c.rootfs().join("data/link")).expect("symlink");
    std::os::unix::fs::chown(c.rootfs().join("data/sub/file"), Some(1000), Some(2000))
        .expect("chown");
    std::fs::set_permissions(
        c.rootfs().join("data/sub"),
        std::os::unix::fs::PermissionsExt::from_mode(0o710),
    )
    .expect("chmod");
    add_mounts(
        &mut c,
        json!([{"destination": "/data", "type": "tmpfs", "source": "tmpfs", "options": ["tmpcopyup", "size=1m"]}]),
    );
    let (out, mi) = run_with_mountinfo(
        &mut c,
        "cat /data/link; stat -c '%a' /data/sub; stat -c '%u:%g' /data/sub/file; \
         echo changed > /data/new && cat /data/new",
    );
    assert_eq!(out, "image\n710\n1000:2000\nchanged\n");
    assert_eq!(mount_at(&mi, "/data").fstype, "tmpfs");
    assert!(
        !c.rootfs().join("data/new").exists(),
        "write reached the image"
    );
}
