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
