//! config.md "process": `capabilities` (all five sets, kept across the user switch) and the
//! LSM labels `apparmorProfile`, `selinuxLabel` and config-linux.md `mountLabel`.
//!
//! The sets are read from the container process's own /proc/self/status after execve, which
//! applies the kernel's rules: a non-root program keeps inheritable and ambient, and gets
//! ambient as permitted and effective; root gets the bounding set unless no_new_privs.
//! Expected values were checked against runc on the same host.

use serde_json::json;
use spec_tests::Container;

fn mask(caps: &[u32]) -> String {
    format!("{:016x}", caps.iter().fold(0u64, |m, c| m | 1 << c))
}

const CHOWN: u32 = 0;
const KILL: u32 = 5;
const SETGID: u32 = 6;
const SETUID: u32 = 7;
const NET_BIND_SERVICE: u32 = 10;
const SYS_RESOURCE: u32 = 24;

fn sets(c: &mut Container) -> Vec<String> {
    c.sh("grep ^Cap /proc/self/status");
    let o = c.run();
    o.ok();
    o.out()
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

fn caps_config() -> serde_json::Value {
    json!({
        "bounding": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SETUID", "CAP_SETGID"],
        "permitted": ["CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_CHOWN"],
        "effective": ["CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_CHOWN"],
        "inheritable": ["CAP_KILL", "CAP_NET_BIND_SERVICE"],
        "ambient": ["CAP_NET_BIND_SERVICE"]
    })
}

#[test]
fn five_sets_for_a_non_root_user_with_ambient_raised_across_the_uid_switch() {
    let mut c = Container::new("caps-user");
    c.config["process"]["user"] = json!({"uid": 1000, "gid": 1000});
    c.config["process"]["capabilities"] = caps_config();
    let got = sets(&mut c);
    let bounding = [CHOWN, KILL, NET_BIND_SERVICE, SETUID, SETGID];
    assert_eq!(
        got,
        vec![
            format!("CapInh: {}", mask(&[KILL, NET_BIND_SERVICE])),
            format!("CapPrm: {}", mask(&[NET_BIND_SERVICE])),
            format!("CapEff: {}", mask(&[NET_BIND_SERVICE])),
            format!("CapBnd: {}", mask(&bounding)),
            format!("CapAmb: {}", mask(&[NET_BIND_SERVICE])),
        ]
    );
}

#[test]
fn five_sets_for_root() {
    // With noNewPrivileges (the default config) execve cannot raise root's permitted set
    // to the bounding set; without it, it does (same as runc on this kernel).
    let bounding = [CHOWN, KILL, NET_BIND_SERVICE, SETUID, SETGID];
    for (nnp, prm) in [
        (true, vec![CHOWN, KILL, NET_BIND_SERVICE]),
        (false, bounding.to_vec()),
    ] {
        let mut c = Container::new("caps-root");
        c.config["process"]["capabilities"] = caps_config();
        c.config["process"]["noNewPrivileges"] = nnp.into();
        let got = sets(&mut c);
        assert_eq!(
            got,
            vec![
                format!("CapInh: {}", mask(&[KILL, NET_BIND_SERVICE])),
                format!("CapPrm: {}", mask(&prm)),
                format!("CapEff: {}", mask(&prm)),
                format!("CapBnd: {}", mask(&bounding)),
                format!("CapAmb: {}", mask(&[NET_BIND_SERVICE])),
            ],
            "noNewPrivileges {nnp}"
        );
    }
    // No capabilities at all when the field is absent.
    let mut c = Container::new("caps-none");
    c.config["process"]
        .as_object_mut()
        .expect("process")
        .remove("capabilities");
    let got = sets(&mut c);
    assert!(got.iter().all(|l| l.ends_with(&mask(&[]))), "{got:?}");
}

fn host_bounding() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").expect("status");
    s.lines()
        .find_map(|l| l.strip_prefix("CapBnd:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .expect("CapBnd")
}

#[test]
fn a_capability_the_host_lacks_is_skipped_with_a_warning() {
    if host_bounding() & (1 << SYS_RESOURCE) != 0 {
        eprintln!("host grants CAP_SYS_RESOURCE: nothing to test here");
        return;
    }
    let mut c = Container::new("caps-lack");
    c.config["process"]["capabilities"] = json!({
        "bounding": ["CAP_KILL", "CAP_SYS_RESOURCE"],
        "permitted": ["CAP_KILL", "CAP_SYS_RESOURCE"],
        "effective": ["CAP_KILL", "CAP_SYS_RESOURCE"]
    });
    // runtime-spec 1.2: unavailable capabilities SHOULD NOT fail (runc warns and runs).
    c.sh("grep ^CapEff /proc/self/status");
    let o = c.run();
    o.ok()
        .stderr_has("process.capabilities.effective")
        .stderr_has("CAP_SYS_RESOURCE");
    let eff = o.out().split_whitespace().collect::<Vec<_>>().join(" ");
    assert_eq!(eff, format!("CapEff: {}", mask(&[KILL])));
    // In the bounding set alone it only means "do not drop it", as for runc: it runs.
    let mut c = Container::new("caps-lack-bnd");
    c.config["process"]["capabilities"] = json!({"bounding": ["CAP_KILL", "CAP_SYS_RESOURCE"]});
    let got = sets(&mut c);
    assert_eq!(got[3], format!("CapBnd: {}", mask(&[KILL])));
}

#[test]
fn unknown_capability_is_a_warning_naming_the_field() {
    let mut c = Container::new("caps-unknown");
    c.config["process"]["capabilities"] = json!({"bounding": ["CAP_KILL"],
        "effective": ["CAP_KILL"], "permitted": ["CAP_KILL", "CAP_BOGUS"]});
    c.create()
        .ok()
        .stderr_has("process.capabilities.permitted")
        .stderr_has("CAP_BOGUS");
}

#[test]
fn lsm_labels_without_the_lsm_are_errors() {
    let apparmor = std::path::Path::new("/sys/kernel/security/apparmor").exists();
    let selinux = std::path::Path::new("/sys/fs/selinux/enforce").exists();
    if !apparmor {
        let mut c = Container::new("lsm-aa");
        c.config["process"]["apparmorProfile"] = "docker-default".into();
        c.create()
            .fails()
            .stderr_has("process.apparmorProfile")
            .stderr_has("AppArmor is not enabled");
        assert!(!c.root.join(&c.id).exists());
    }
    if !selinux {
        let mut c = Container::new("lsm-se");
        c.config["process"]["selinuxLabel"] = "system_u:system_r:container_t:s0".into();
        c.create()
            .fails()
            .stderr_has("process.selinuxLabel")
            .stderr_has("SELinux is disabled");
        let mut c = Container::new("lsm-mnt");
        c.config["linux"]["mountLabel"] = "system_u:object_r:container_file_t:s0".into();
        c.create().fails().stderr_has("linux.mountLabel");
    }
    // Empty labels mean "none" and are fine.
    let mut c = Container::new("lsm-empty");
    c.config["process"]["apparmorProfile"] = "".into();
    c.config["process"]["selinuxLabel"] = "".into();
    c.run().ok();
}
