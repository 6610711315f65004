//! Reading and decoding `config.json`: a bounded read of a regular file, then a decode that
//! accepts only the JSON shape the runtime-spec defines, with errors that name the field.
//!
//! serde's derived `Deserialize` reads a struct from a JSON array as well as from an object
//! (`"user": []` decodes as uid 0, `"resources": []` as no limits at all), which the spec
//! does not allow. Rather than a check per field, [`decode`] compares the decoded spec,
//! serialized back, with the JSON as written: wherever the spec's type is an object the
//! config must have had an object.

use std::fs;
use std::io::Read;
use std::path::Path;

use oci_spec::runtime::Spec;
use serde_json::Value;

use crate::error::{Context, Error, Result};
use crate::jsonpath::{self, Seg};

/// The largest config.json hull reads. Real configs are kilobytes; the largest seen in
/// practice (a 100,000-entry environment, a full seccomp profile) are a few MiB. 64 MiB
/// leaves room for anything legitimate while a config pointed at a huge file cannot make
/// `create` eat the host's memory (decoding holds the text, a JSON tree and the typed spec).
pub const MAX_CONFIG_BYTES: u64 = 64 << 20;

/// Reads `cfg`, which must be a regular file (after symlinks, which bundles may use) of at
/// most [`MAX_CONFIG_BYTES`].
pub fn read_config(cfg: &Path) -> Result<Vec<u8>> {
    use std::os::unix::fs::OpenOptionsExt;
    let name = || cfg.display().to_string();
    // O_NONBLOCK: opening a FIFO must not wait for a writer before we can refuse it.
    let f = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC | libc::O_NOCTTY)
        .open(cfg)
        .ctx(|| format!("read {}", name()))?;
    let meta = f.metadata().ctx(|| format!("stat {}", name()))?;
    if !meta.is_file() {
        return Err(Error::config(
            name(),
            format!("not a regular file (a {})", file_kind(&meta)),
        ));
    }
    let too_big = || {
        Error::config(
            name(),
            format!("larger than {} MiB", MAX_CONFIG_BYTES >> 20),
        )
    };
    if meta.len() > MAX_CONFIG_BYTES {
        return Err(too_big());
    }
    let mut raw = Vec::with_capacity(meta.len() as usize);
    // The size can grow after the fstat: the read is bounded on its own.
    f.take(MAX_CONFIG_BYTES + 1)
        .read_to_end(&mut raw)
        .ctx(|| format!("read {}", name()))?;
    if raw.len() as u64 > MAX_CONFIG_BYTES {
        return Err(too_big());
    }
    Ok(raw)
}

fn file_kind(m: &fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = m.file_type();
    if t.is_dir() {
        "directory"
    } else if t.is_fifo() {
        "fifo"
    } else if t.is_char_device() {
        "character device"
    } else if t.is_block_device() {
        "block device"
    } else if t.is_socket() {
        "socket"
    } else {
        "special file"
    }
}

/// Decodes config.json text (`cfg` names it in errors).
pub fn decode(raw: &[u8], cfg: &Path) -> Result<Spec> {
    let mut tree: Value = serde_json::from_slice(raw)
        .map_err(|e| Error::config(cfg.display().to_string(), format!("invalid JSON: {e}")))?;
    let pids_unset = tree
        .pointer_mut("/linux/resources")
        .is_some_and(crate::compat::drop_pids_without_limit);
    let rdt_renamed = tree
        .pointer_mut("/linux/intelRdt")
        .is_some_and(crate::compat::intel_rdt_monitoring);
    // Unknown capability names are skipped with a warning naming set and index (runtime-spec
    // 1.2, runc); a name without its prefix ("KILL") counts as unknown in every set, not as
    // CAP_KILL in the sets where the decoder would take it.
    let decoded = if pids_unset || rdt_renamed || crate::compat::has_unprefixed_capability(&tree) {
        crate::compat::spec_from_value(tree.clone(), true)
    } else {
        crate::compat::spec_from_slice(raw, true)
    };
    let spec: Spec = decoded.map_err(|e| decode_error(raw, &tree, cfg, e))?;
    // The typed round trip costs a serialisation and a parse: only for configs with an
    // array where the spec has none (almost never), found by one walk of the tree.
    if unexpected_array(&tree, None) {
        // Through text rather than `to_value`, which would instantiate every oci-spec
        // type's serializer a second time (~90 KB of binary); `update` already has these.
        let typed: Value = serde_json::to_vec(&spec)
            .and_then(|b| serde_json::from_slice(&b))
            .map_err(|e| Error::container(format!("{}: encode spec: {e}", cfg.display())))?;
        check_shape(&tree, &typed, &mut Vec::new(), cfg)?;
    }
    Ok(spec)
}

/// Keys whose value is an array somewhere in the runtime-spec's config (every OS section).
const ARRAY_KEYS: &[&str] = &[
    "additionalGids",
    "ambient",
    "architectures",
    "args",
    "bounding",
    "commandLine",
    "createContainer",
    "createRuntime",
    "devices",
    "effective",
    "env",
    "flags",
    "gidMappings",
    "hugepageLimits",
    "inheritable",
    "layerFolders",
    "maskedPaths",
    "mounts",
    "names",
    "namespaces",
    "options",
    "permitted",
    "poststart",
    "poststop",
    "prestart",
    "priorities",
    "readonlyPaths",
    "rlimits",
    "schemata",
    "startContainer",
    "syscalls",
    "throttleReadBpsDevice",
    "throttleReadIOPSDevice",
    "throttleWriteBpsDevice",
    "throttleWriteIOPSDevice",
    "uidMappings",
    "weightDevice",
    "nodes",
    "bootstrap",
    "appendKernelCommandLine",
    "networkNamespace",
];

/// Whether `v` (found under `key`) holds an array anywhere the spec has none: a top-level
/// array, an array directly inside an array, or under a key the spec never gives an array.
fn unexpected_array(v: &Value, key: Option<&str>) -> bool {
    match v {
        Value::Array(items) => {
            !key.is_some_and(|k| ARRAY_KEYS.contains(&k))
                || items
                    .iter()
                    .any(|i| i.is_array() || unexpected_array(i, None))
        }
        Value::Object(m) => m
            .iter()
            .any(|(k, v)| (v.is_array() || v.is_object()) && unexpected_array(v, Some(k))),
        _ => false,
    }
}

/// Fails where `raw` has an array and the decoded spec an object.
fn check_shape(raw: &Value, typed: &Value, at: &mut Vec<Seg>, cfg: &Path) -> Result<()> {
    match (raw, typed) {
        (Value::Array(_), Value::Object(_)) => Err(Error::config(
            field_name(at, cfg),
            "must be a JSON object, not an array",
        )),
        (Value::Object(r), Value::Object(t)) => {
            for (k, tv) in t {
                if let Some(rv) = r.get(k) {
                    at.push(Seg::Key(k.clone()));
                    check_shape(rv, tv, at, cfg)?;
                    at.pop();
                }
            }
            Ok(())
        }
        (Value::Array(r), Value::Array(t)) => {
            for (i, (rv, tv)) in r.iter().zip(t).enumerate() {
                at.push(Seg::Index(i));
                check_shape(rv, tv, at, cfg)?;
                at.pop();
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// The spec path of `at`, or the file itself for the top level.
fn field_name(at: &[Seg], cfg: &Path) -> String {
    if at.is_empty() {
        cfg.display().to_string()
    } else {
        jsonpath::render(at)
    }
}

/// Explains a config.json that is valid JSON but does not decode into the spec's types:
/// serde names a line and column, users need the field (`process.rlimits[1].type`).
fn decode_error(raw: &[u8], tree: &Value, cfg: &Path, e: serde_json::Error) -> Error {
    // A wrongly typed resource value gets an error naming its field.
    if let Some(err) = crate::cgroups::validate::explain_json(raw) {
        return err.into();
    }
    let text = e.to_string();
    // serde_json reports these at the closing bracket of the object or array at fault.
    let whole = text.starts_with("missing field") || text.starts_with("invalid length");
    let at = jsonpath::segments(raw, e.line(), e.column(), whole);
    let msg = if text.starts_with("invalid length") && text.contains("expected struct") {
        // A struct read from an array (serde allows it, the spec does not).
        "must be a JSON object, not an array".to_string()
    } else if !e.is_data() {
        // The text is valid JSON (it parsed above): serde_json reports a non-string where
        // an enum's name belongs as a syntax error ("expected value"), naming no type.
        let found = jsonpath::get(tree, &at).map_or("a non-string".to_string(), describe);
        format!("invalid type: {found}, expected a string")
    } else {
        text
    };
    Error::config(
        field_name(&at, cfg),
        format!("{msg} (in {})", cfg.display()),
    )
}

/// A JSON value as serde names one in its type errors.
fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("boolean `{b}`"),
        Value::Number(n) => format!("number `{n}`"),
        Value::String(s) => format!("string {s:?}"),
        Value::Array(_) => "sequence".into(),
        Value::Object(_) => "map".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err_of(v: Value) -> String {
        let raw = serde_json::to_vec(&v).expect("encode");
        match decode(&raw, Path::new("config.json")) {
            Ok(_) => "decoded".into(),
            Err(e) => e.to_string(),
        }
    }

    fn base() -> Value {
        crate::spec::default_spec(false)
    }

    #[test]
    fn arrays_where_objects_belong_are_refused_with_the_field() {
        let mut v = base();
        v["process"]["user"] = serde_json::json!([]);
        assert!(err_of(v).starts_with("process.user: must be a JSON object"));
        let mut v = base();
        v["linux"]["resources"] = serde_json::json!([]);
        assert!(err_of(v).starts_with("linux.resources: must be a JSON object"));
        let mut v = base();
        v["process"]["capabilities"] = serde_json::json!([]);
        assert!(err_of(v).starts_with("process.capabilities: must be a JSON object"));
        let mut v = base();
        v["hooks"] = serde_json::json!([]);
        assert!(err_of(v).starts_with("hooks: must be a JSON object"));
        let mut v = base();
        v["linux"]["namespaces"][0] = serde_json::json!(["pid"]);
        assert!(err_of(v).starts_with("linux.namespaces[0]"));
        assert!(err_of(serde_json::json!([])).starts_with("config.json: must be a JSON object"));
        assert_eq!(err_of(base()), "decoded");
    }

    #[test]
    fn enum_fields_given_a_non_string_name_the_field() {
        for bad in [
            serde_json::json!(-1),
            Value::Null,
            serde_json::json!([]),
            serde_json::json!({}),
            serde_json::json!(true),
        ] {
            let mut v = base();
            v["linux"]["namespaces"][1]["type"] = bad.clone();
            let e = err_of(v);
            assert!(
                e.starts_with("linux.namespaces[1].type: invalid type"),
                "{e}"
            );
            let mut v = base();
            v["process"]["rlimits"][0]["type"] = bad.clone();
            let e = err_of(v);
            assert!(
                e.starts_with("process.rlimits[0].type: invalid type"),
                "{e}"
            );
            let mut v = base();
            v["linux"]["seccomp"] = serde_json::json!({"defaultAction": bad});
            let e = err_of(v);
            assert!(
                e.starts_with("linux.seccomp.defaultAction: invalid type"),
                "{e}"
            );
        }
    }

    #[test]
    fn unknown_and_unprefixed_capabilities_are_skipped_in_every_set() {
        let mut v = base();
        v["process"]["capabilities"]["bounding"] = serde_json::json!(["CAP_KILL", "KILL"]);
        v["process"]["capabilities"]["permitted"] = serde_json::json!(["CAP_BOGUS", "CAP_KILL"]);
        let raw = serde_json::to_vec(&v).unwrap_or_default();
        let spec = decode(&raw, Path::new("config.json"));
        let caps = spec
            .ok()
            .and_then(|s| s.process().clone())
            .and_then(|p| p.capabilities().clone());
        let names = |s: Option<&std::collections::HashSet<oci_spec::runtime::Capability>>| {
            s.map(|s| s.len()).unwrap_or(0)
        };
        // "KILL" is not CAP_KILL in one set and an error in another: skipped everywhere.
        assert_eq!(names(caps.as_ref().and_then(|c| c.bounding().as_ref())), 1);
        assert_eq!(names(caps.as_ref().and_then(|c| c.permitted().as_ref())), 1);
    }

    #[test]
    fn reads_only_bounded_regular_files() {
        let e = read_config(Path::new("/dev/zero")).expect_err("a device");
        assert_eq!(
            e.to_string(),
            "/dev/zero: not a regular file (a character device)"
        );
        let e = read_config(Path::new("/")).expect_err("a directory");
        assert!(e.to_string().contains("not a regular file"), "{e}");
    }
}
