//! `hull features`: the runtime-spec features.json (features.md) of what this build supports.
//! Every list here is what the config validator accepts; the unit tests feed each entry back
//! through it, so the document cannot drift from the code.

use oci_spec::runtime::LinuxNamespaceType as T;

use crate::error::Result;

/// `linux.memoryPolicy` modes and flags (mempolicy.rs).
const MEMPOLICY_MODES: &[&str] = &[
    "MPOL_DEFAULT",
    "MPOL_BIND",
    "MPOL_INTERLEAVE",
    "MPOL_WEIGHTED_INTERLEAVE",
    "MPOL_PREFERRED",
    "MPOL_PREFERRED_MANY",
    "MPOL_LOCAL",
];
const MEMPOLICY_FLAGS: &[&str] = &[
    "MPOL_F_NUMA_BALANCING",
    "MPOL_F_RELATIVE_NODES",
    "MPOL_F_STATIC_NODES",
];

const HOOKS: &[&str] = &[
    "prestart",
    "createRuntime",
    "createContainer",
    "startContainer",
    "poststart",
    "poststop",
];

fn namespaces() -> Vec<&'static str> {
    [
        T::Cgroup,
        T::Ipc,
        T::Mount,
        T::Network,
        T::Pid,
        T::User,
        T::Uts,
        T::Time,
    ]
    .into_iter()
    .map(crate::namespaces::type_name)
    .collect()
}

/// The features document.
pub fn document() -> serde_json::Value {
    let mut caps: Vec<String> = caps::all().into_iter().map(|c| c.to_string()).collect();
    caps.sort();
    serde_json::json!({
        "ociVersionMin": "1.0.0",
        "ociVersionMax": crate::OCI_VERSION,
        "hooks": HOOKS,
        "mountOptions": crate::mountopts::known_words(),
        "linux": {
            "namespaces": namespaces(),
            "capabilities": caps,
            "cgroup": { "v1": true, "v2": true, "systemd": true, "systemdUser": false, "rdma": true },
            "seccomp": crate::seccomp::features(),
            "apparmor": { "enabled": crate::lsm::apparmor_enabled() },
            "selinux": { "enabled": crate::lsm::selinux_enabled() },
            "intelRdt": { "enabled": true, "schemata": true, "monitoring": true },
            "memoryPolicy": { "modes": MEMPOLICY_MODES, "flags": MEMPOLICY_FLAGS },
            "mountExtensions": { "idmap": { "enabled": true } },
            "netDevices": { "enabled": true }
        },
        "potentiallyUnsafeConfigAnnotations": [crate::cgroups::systemd::PROPERTY_ANNOTATION],
        "annotations": {
            "org.opencontainers.runtime-spec.features.version": crate::OCI_VERSION,
            "io.github.hull.version": env!("CARGO_PKG_VERSION"),
            // `checkpoint`/`restore` are built in (they need a `criu` binary when run);
            // runc's key too, as engines look for runc's.
            "io.github.hull.checkpoint.enabled": "true",
            "org.opencontainers.runc.checkpoint.enabled": "true"
        }
    })
}

/// Prints the features document as indented JSON.
pub fn print() -> Result<()> {
    println!(
        "{}",
        serde_json::to_string_pretty(&document()).unwrap_or_default()
    );
    Ok(())
}

/// Prints the features document with annotations of the binary's own added (the binary
/// knows the commit and the build it came from; this library does not).
pub fn print_with(annotations: &[(&str, &str)]) -> Result<()> {
    let mut doc = document();
    for (k, v) in annotations {
        doc["annotations"][*k] = (*v).into();
    }
    println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn strings(v: &Value) -> Vec<String> {
        v.as_array()
            .expect("array")
            .iter()
            .map(|s| s.as_str().expect("string").to_string())
            .collect()
    }

    /// The default spec with `f` applied, decoded and validated as `create` would.
    fn accepts(f: impl FnOnce(&mut Value)) -> std::result::Result<(), String> {
        let mut v = crate::spec::default_spec(false);
        f(&mut v);
        let raw = serde_json::to_vec(&v).map_err(|e| e.to_string())?;
        let spec = crate::decode::decode(&raw, std::path::Path::new("config.json"))
            .map_err(|e| e.to_string())?;
        crate::spec::validate_for_features(&spec).map_err(|e| e.to_string())
    }

    #[test]
    fn every_mount_option_is_understood() {
        for w in strings(&document()["mountOptions"]) {
            let o = crate::mountopts::MountOptions::parse(&[w.as_str()]);
            assert!(
                o.data.is_empty(),
                "{w} would be passed on as filesystem data"
            );
        }
    }

    #[test]
    fn every_hook_namespace_and_capability_is_accepted() {
        let d = document();
        for h in strings(&d["hooks"]) {
            accepts(|v| v["hooks"] = json!({ h.clone(): [{"path": "/bin/true"}] }))
                .unwrap_or_else(|e| panic!("hook {h}: {e}"));
        }
        for n in strings(&d["linux"]["namespaces"]) {
            accepts(|v| {
                let mut list = vec![json!({"type": n})];
                if n != "mount" {
                    list.push(json!({"type": "mount"}));
                }
                v["linux"]["namespaces"] = json!(list);
                if n == "user" {
                    v["linux"]["uidMappings"] =
                        json!([{"containerID": 0, "hostID": 1000, "size": 1}]);
                    v["linux"]["gidMappings"] =
                        json!([{"containerID": 0, "hostID": 1000, "size": 1}]);
                }
            })
            .unwrap_or_else(|e| panic!("namespace {n}: {e}"));
        }
        let caps = strings(&d["linux"]["capabilities"]);
        accepts(|v| v["process"]["capabilities"] = json!({"bounding": caps}))
            .unwrap_or_else(|e| panic!("capabilities: {e}"));
    }

    #[test]
    fn every_seccomp_action_operator_arch_and_flag_compiles() {
        let sc = &document()["linux"]["seccomp"];
        for a in strings(&sc["actions"]) {
            let mut p = json!({"defaultAction": "SCMP_ACT_ALLOW",
                "syscalls": [{"names": ["getcwd"], "action": a}]});
            if a == "SCMP_ACT_NOTIFY" {
                p["listenerPath"] = json!("/run/x.sock");
            }
            accepts(|v| v["linux"]["seccomp"] = p).unwrap_or_else(|e| panic!("action {a}: {e}"));
        }
        for op in strings(&sc["operators"]) {
            let p = json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["getcwd"],
                "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 1, "valueTwo": 1, "op": op}]}]});
            accepts(|v| v["linux"]["seccomp"] = p).unwrap_or_else(|e| panic!("operator {op}: {e}"));
        }
        for a in strings(&sc["archs"]) {
            let p = json!({"defaultAction": "SCMP_ACT_ALLOW", "architectures": [a]});
            accepts(|v| v["linux"]["seccomp"] = p).unwrap_or_else(|e| panic!("arch {a}: {e}"));
        }
        for f in strings(&sc["supportedFlags"]) {
            let p = json!({"defaultAction": "SCMP_ACT_ALLOW", "flags": [f]});
            accepts(|v| v["linux"]["seccomp"] = p).unwrap_or_else(|e| panic!("flag {f}: {e}"));
        }
    }

    #[test]
    fn every_memory_policy_mode_and_flag_is_accepted() {
        let mp = &document()["linux"]["memoryPolicy"];
        for m in strings(&mp["modes"]) {
            let nodes = !matches!(m.as_str(), "MPOL_DEFAULT" | "MPOL_LOCAL");
            let p = if nodes {
                json!({"mode": m, "nodes": "0"})
            } else {
                json!({"mode": m})
            };
            accepts(|v| v["linux"]["memoryPolicy"] = p).unwrap_or_else(|e| panic!("mode {m}: {e}"));
        }
        for f in strings(&mp["flags"]) {
            let p = json!({"mode": "MPOL_BIND", "nodes": "0", "flags": [f]});
            accepts(|v| v["linux"]["memoryPolicy"] = p).unwrap_or_else(|e| panic!("flag {f}: {e}"));
        }
    }

    #[test]
    fn extensions_and_annotations_match_the_code() {
        let d = document();
        assert_eq!(d["linux"]["mountExtensions"]["idmap"]["enabled"], true);
        let words = strings(&d["mountOptions"]);
        for w in ["idmap", "ridmap", "rro", "tmpcopyup"] {
            assert!(words.contains(&w.to_string()), "{w}");
        }
        accepts(|v| {
            v["linux"]["namespaces"]
                .as_array_mut()
                .expect("ns")
                .push(json!({"type": "user"}));
            v["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 1000, "size": 1}]);
            v["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 1000, "size": 1}]);
            v["mounts"].as_array_mut().expect("mounts").push(
                json!({"destination": "/m", "source": "/tmp", "options": ["rbind", "ridmap"]}),
            );
        })
        .expect("an id-mapped mount");
        assert_eq!(
            strings(&d["potentiallyUnsafeConfigAnnotations"]),
            ["org.systemd.property."]
        );
        assert_eq!(d["linux"]["cgroup"]["systemd"], true);
        assert_eq!(d["linux"]["cgroup"]["systemdUser"], false);
        assert_eq!(
            d["annotations"]["io.github.hull.checkpoint.enabled"],
            "true"
        );
    }
}
