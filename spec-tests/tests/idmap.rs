//! config.md "Mounts": id-mapped mounts (`uidMappings`/`gidMappings`, options `idmap` and
//! `ridmap`), for binds and for new filesystems; owners read back from inside the container.

use std::os::unix::fs::chown;

use serde_json::{json, Value};
use spec_tests::Container;

fn map(container: u32, host: u32, size: u32) -> Value {
    json!([{"containerID": container, "hostID": host, "size": size}])
}

/// A bind source next to the bundle with `root` (owned 0:0) and `one` (owned 1:1).
fn source(c: &Container) -> std::path::PathBuf {
    let src = c.bundle.parent().expect("base").join("idmap-src");
    std::fs::create_dir_all(&src).expect("mkdir source");
    for (name, id) in [("root", 0), ("one", 1)] {
        let f = src.join(name);
        std::fs::write(&f, name).expect("write");
        chown(&f, Some(id), Some(id)).expect("chown");
    }
    src
}

fn user_ns(c: &mut Container) {
    let ns = c.config["linux"]["namespaces"].as_array_mut().expect("ns");
    ns.push(json!({"type": "user"}));
    c.config["linux"]["uidMappings"] = map(0, 100000, 65536);
    c.config["linux"]["gidMappings"] = map(0, 100000, 65536);
}

fn push_mount(c: &mut Container, m: Value) {
    c.config["mounts"].as_array_mut().expect("mounts").push(m);
}

#[test]
fn bind_with_its_own_mappings_without_a_user_namespace() {
    let mut c = Container::new("idmapbind");
    let src = source(&c);
    push_mount(
        &mut c,
        json!({"destination": "/mnt", "source": src, "options": ["bind", "idmap"],
               "uidMappings": map(0, 100000, 65536), "gidMappings": map(0, 200000, 65536)}),
    );
    c.sh("stat -c %u:%g /mnt/root /mnt/one");
    let o = c.run();
    assert_eq!(
        o.ok().out().split_whitespace().collect::<Vec<_>>(),
        ["100000:200000", "100001:200001"]
    );
    // The source itself is untouched.
    let md = std::fs::metadata(src.join("one")).expect("stat");
    assert_eq!(std::os::unix::fs::MetadataExt::uid(&md), 1);
}

#[test]
fn idmap_without_mappings_uses_the_containers_user_namespace() {
    let mut c = Container::new("idmapuserns");
    let src = source(&c);
    user_ns(&mut c);
    // The mapped root may not create them in the host-owned rootfs.
    for d in ["mnt", "plain"] {
        std::fs::create_dir_all(c.rootfs().join(d)).expect("mkdir");
    }
    push_mount(
        &mut c,
        json!({"destination": "/mnt", "source": src, "options": ["rbind", "ridmap"]}),
    );
    push_mount(
        &mut c,
        json!({"destination": "/plain", "source": src, "options": ["bind"]}),
    );
    c.sh("stat -c %u:%g /mnt/root /mnt/one /plain/root");
    let o = c.run();
    // Through the mapping the host's 0 and 1 are the container's 0 and 1; without it they
    // are unmapped (the overflow id).
    assert_eq!(
        o.ok().out().split_whitespace().collect::<Vec<_>>(),
        ["0:0", "1:1", "65534:65534"]
    );
}

#[test]
fn a_new_tmpfs_can_be_id_mapped() {
    let mut c = Container::new("idmaptmpfs");
    push_mount(
        &mut c,
        json!({"destination": "/mnt", "type": "tmpfs", "source": "tmpfs", "options": ["idmap"],
               "uidMappings": map(0, 4242, 1), "gidMappings": map(0, 4343, 1)}),
    );
    c.sh("stat -c %u:%g /mnt; grep -c ' /mnt ' /proc/self/mountinfo");
    let o = c.run();
    assert_eq!(
        o.ok().out().split_whitespace().collect::<Vec<_>>(),
        ["4242:4343", "1"]
    );
}

#[test]
fn id_mapped_mount_rules_are_config_errors() {
    let fails = |m: Value, userns: bool, field: &str, msg: &str| {
        let mut c = Container::new("idmapbad");
        if userns {
            user_ns(&mut c);
        }
        let _ = std::fs::create_dir_all(c.bundle.join("src"));
        push_mount(&mut c, m);
        let o = c.create();
        o.fails().stderr_has(field).stderr_has(msg);
        assert!(!c.root.join(&c.id).exists(), "state dir left behind");
    };
    let n = default_mounts();
    fails(
        json!({"destination": "/mnt", "source": "src", "options": ["bind"], "uidMappings": map(0, 1000, 1)}),
        false,
        &format!("mounts[{n}].gidMappings"),
        "missing",
    );
    fails(
        json!({"destination": "/mnt", "source": "src", "options": ["bind", "idmap"]}),
        false,
        &format!("mounts[{n}].options"),
        "the config has none",
    );
    fails(
        json!({"destination": "/mnt", "source": "src", "options": ["bind"],
               "uidMappings": map(0, 1000, 0), "gidMappings": map(0, 1000, 1)}),
        false,
        &format!("mounts[{n}].uidMappings[0].size"),
        "at least 1",
    );
    // A filesystem the kernel cannot id-map (procfs).
    fails(
        json!({"destination": "/mnt", "type": "proc", "source": "proc", "options": ["idmap"],
               "uidMappings": map(0, 1000, 1), "gidMappings": map(0, 1000, 1)}),
        false,
        &format!("mounts[{n}]"),
        "cannot be id-mapped",
    );
}

fn default_mounts() -> usize {
    Container::new("idmapcount").config["mounts"]
        .as_array()
        .expect("mounts")
        .len()
}
