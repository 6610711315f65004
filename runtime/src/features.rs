//! `hull features`: the runtime-spec features.json (features.md) of what this build supports.

use oci_spec::runtime::LinuxNamespaceType as T;

use crate::error::Result;

/// The features document.
pub fn document() -> serde_json::Value {
    let namespaces: Vec<&str> = [
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
    .collect();
    let mut caps: Vec<String> = caps::all().into_iter().map(|c| c.to_string()).collect();
    caps.sort();
    serde_json::json!({
        "ociVersionMin": "1.0.0",
        "ociVersionMax": crate::OCI_VERSION,
        "hooks": ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"],
        "mountOptions": crate::mountopts::known_words(),
        "linux": {
            "namespaces": namespaces,
            "capabilities": caps,
            "cgroup": { "v1": true, "v2": true, "systemd": false, "systemdUser": false, "rdma": true },
            "seccomp": crate::seccomp::features(),
            "apparmor": { "enabled": false },
            "selinux": { "enabled": false },
            "intelRdt": { "enabled": false },
            "mountExtensions": { "idmap": { "enabled": false } }
        },
        "annotations": {
            "org.opencontainers.runtime-spec.features.version": crate::OCI_VERSION,
            "io.github.hull.version": env!("CARGO_PKG_VERSION")
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
