//! Spellings of a config (or `exec --process` JSON) that the runtime-spec allows but the
//! decoder (oci-spec-rs) refuses, rewritten before decoding. Only tried when decoding the
//! text as it is fails, so a config that decodes costs nothing more.
//!
//! - `process.user` may be absent (the schema does not require it): uid and gid 0.
//! - A capability name the decoder does not know is skipped with a warning (runtime-spec
//!   1.2: runtimes SHOULD NOT fail on unknown capabilities; runc and crun run the container).
//! - `process.scheduler.flags` in the spec's names (`SCHED_FLAG_RESET_ON_FORK`,
//!   `SCHED_FLAG_DL_OVERRUN`), which oci-spec-rs spells `SCHED_RESET_ON_FORK` and
//!   `SCHED_FLAG_D_L_OVERRUN`; its own spellings are kept working.

use oci_spec::runtime::{Process, Spec};
use serde_json::Value;

/// Decodes a config.json; `warn` logs what was skipped (off when a saved config is read
/// again, e.g. by `exec`: it was said at `create`).
pub fn spec_from_slice(raw: &[u8], warn: bool) -> serde_json::Result<Spec> {
    decode(raw, warn, true)
}

/// Decodes a config already parsed as a JSON tree, always normalising it: for a config that
/// decodes as written but spells a capability without its `CAP_` prefix (the decoder reads
/// "KILL" as CAP_KILL in some sets and not others; runc knows only the prefixed names).
pub fn spec_from_value(mut v: Value, warn: bool) -> serde_json::Result<Spec> {
    if let Some(p) = v.get_mut("process") {
        normalize_process(p, warn);
    }
    typed(&v)
}

/// A rewritten tree to a typed value, through text: `from_value` would instantiate every
/// oci-spec type's decoder a second time (for serde_json's `Value` deserializer), about
/// 150 KB of binary for a path taken only by unusual configs.
fn typed<T: serde::de::DeserializeOwned>(v: &Value) -> serde_json::Result<T> {
    serde_json::from_slice(&serde_json::to_vec(v)?)
}

/// Whether any `process.capabilities` name lacks the `CAP_` prefix.
pub fn has_unprefixed_capability(tree: &Value) -> bool {
    tree["process"]["capabilities"]
        .as_object()
        .into_iter()
        .flat_map(|sets| sets.values())
        .filter_map(Value::as_array)
        .flatten()
        .any(|n| n.as_str().is_some_and(|s| !s.starts_with("CAP_")))
}

/// Decodes an `exec --process` JSON.
pub fn process_from_slice(raw: &[u8]) -> serde_json::Result<Process> {
    decode(raw, true, false)
}

/// `in_spec`: the process is the `process` field of `raw`, else `raw` itself.
fn decode<T: serde::de::DeserializeOwned>(
    raw: &[u8],
    warn: bool,
    in_spec: bool,
) -> serde_json::Result<T> {
    let first = match serde_json::from_slice(raw) {
        Ok(t) => return Ok(t),
        Err(e) => e,
    };
    let Ok(mut v) = serde_json::from_slice::<Value>(raw) else {
        return Err(first);
    };
    let changed = match in_spec {
        true => v
            .get_mut("process")
            .is_some_and(|p| normalize_process(p, warn)),
        false => normalize_process(&mut v, warn),
    };
    match changed {
        true => typed(&v).map_err(|_| first),
        false => Err(first),
    }
}

/// Rewrites `p` (a process object) in place; returns whether anything changed.
fn normalize_process(p: &mut Value, warn: bool) -> bool {
    let Some(obj) = p.as_object_mut() else {
        return false;
    };
    let mut changed = false;
    if !obj.contains_key("user") {
        obj.insert("user".into(), serde_json::json!({"uid": 0, "gid": 0}));
        changed = true;
    }
    if let Some(Value::Object(caps)) = obj.get_mut("capabilities") {
        for (set, list) in caps.iter_mut() {
            let Value::Array(names) = list else { continue };
            let mut i = 0;
            names.retain(|n| {
                let at = i;
                i += 1;
                // Spelled as the spec does: runc knows "CAP_KILL", not "KILL".
                let ok = n.as_str().is_some_and(|s| {
                    s.starts_with("CAP_")
                        && serde_json::from_value::<oci_spec::runtime::Capability>(Value::from(s))
                            .is_ok()
                });
                if !ok && n.is_string() {
                    changed = true;
                    if warn {
                        crate::logging::warn(&format!(
                            "process.capabilities.{set}[{at}]: unknown capability {n}, skipped"
                        ));
                    }
                }
                ok || !n.is_string()
            });
        }
    }
    if let Some(Value::Array(flags)) = obj.get_mut("scheduler").and_then(|s| s.get_mut("flags")) {
        for f in flags.iter_mut() {
            let decoded = match f.as_str() {
                Some("SCHED_FLAG_RESET_ON_FORK") => "SCHED_RESET_ON_FORK",
                Some("SCHED_FLAG_DL_OVERRUN") => "SCHED_FLAG_D_L_OVERRUN",
                _ => continue,
            };
            *f = Value::from(decoded);
            changed = true;
        }
    }
    changed
}

/// runtime-spec 1.3.0 replaced `intelRdt.enableCMT`/`enableMBM` with `enableMonitoring`;
/// the decoder knows the old names only misspelt (`enableCmt`), so either one set turns
/// into `enableMonitoring` here, before decoding. True if the tree changed.
pub fn intel_rdt_monitoring(rdt: &mut serde_json::Value) -> bool {
    let old = ["enableCMT", "enableMBM"]
        .iter()
        .any(|k| rdt.get(*k).and_then(|v| v.as_bool()) == Some(true));
    match rdt.as_object_mut() {
        Some(o) if old && !o.contains_key("enableMonitoring") => {
            o.insert("enableMonitoring".into(), serde_json::Value::Bool(true));
            true
        }
        _ => false,
    }
}

/// runtime-spec 1.3.0: `pids.limit` unset means "leave pids.max alone", 0 is a real limit
/// and a negative one is "max". The decoder reads an unset limit as 0, so a `pids` object
/// without `limit` is dropped from `resources` here, before decoding. True if it was.
pub fn drop_pids_without_limit(resources: &mut serde_json::Value) -> bool {
    let unset = resources
        .get("pids")
        .is_some_and(|p| p.is_object() && p.get("limit").is_none_or(|l| l.is_null()));
    if unset {
        if let Some(o) = resources.as_object_mut() {
            o.remove("pids");
        }
    }
    unset
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::LinuxSchedulerFlag as F;

    #[test]
    fn spec_spellings() {
        let raw = serde_json::json!({
            "args": ["true"], "cwd": "/",
            "capabilities": {"bounding": ["CAP_KILL", "CAP_NO_SUCH"], "ambient": ["CAP_FOO"]},
            "scheduler": {"policy": "SCHED_OTHER",
                "flags": ["SCHED_FLAG_RESET_ON_FORK", "SCHED_FLAG_DL_OVERRUN", "SCHED_FLAG_RECLAIM"]}
        })
        .to_string();
        let p = process_from_slice(raw.as_bytes()).expect("decodes");
        assert_eq!((p.user().uid(), p.user().gid()), (0, 0));
        let caps = p.capabilities().as_ref().expect("caps");
        assert_eq!(caps.bounding().as_ref().map(|b| b.len()), Some(1));
        assert_eq!(caps.ambient().as_ref().map(|b| b.len()), Some(0));
        let flags = p.scheduler().as_ref().and_then(|s| s.flags().clone());
        assert_eq!(
            flags,
            Some(vec![
                F::SchedResetOnFork,
                F::SchedFlagDLOverrun,
                F::SchedFlagReclaim
            ])
        );
        // Still an error when something else is wrong.
        assert!(process_from_slice(br#"{"args": 5, "cwd": "/"}"#).is_err());
    }
}
