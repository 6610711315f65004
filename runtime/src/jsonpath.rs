//! Where in a config.json a decoding error is: serde_json reports a line and column, users
//! need the field (`process.rlimits[1].type`), so [`at`] walks the text up to that point.

/// One step of a JSON path: an object key or an array index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// The JSON path (`process.rlimits[1].type`) of the value at 1-based `line`:`column` of
/// `raw`, where serde_json reports a decoding error. serde_json places the error just past
/// the value it rejected, which may be the closing bracket of the object or array holding
/// it (a bad last field): the path then still names that value, unless `whole` says the
/// error is about the enclosing object or array itself (a missing field, a wrong length),
/// which serde_json reports at its closing bracket. None at the top level.
pub fn at(raw: &[u8], line: usize, column: usize, whole: bool) -> Option<String> {
    let segs = segments(raw, line, column, whole);
    (!segs.is_empty()).then(|| render(&segs))
}

/// Writes a path in the spec's notation: `linux.devices[0].gid`.
pub fn render(segs: &[Seg]) -> String {
    let mut path = String::new();
    for s in segs {
        match s {
            Seg::Key(k) => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
            }
            Seg::Index(n) => path.push_str(&format!("[{n}]")),
        }
    }
    path
}

/// The value at `segs` in `v`, if there is one.
pub fn get<'a>(v: &'a serde_json::Value, segs: &[Seg]) -> Option<&'a serde_json::Value> {
    segs.iter().try_fold(v, |v, s| match s {
        Seg::Key(k) => v.get(k),
        Seg::Index(n) => v.get(n),
    })
}

/// [`at`] as segments.
pub fn segments(raw: &[u8], line: usize, column: usize, whole: bool) -> Vec<Seg> {
    enum Frame {
        Obj { key: Option<String>, want_key: bool },
        Arr(usize),
    }
    let mut stack: Vec<Frame> = Vec::new();
    let (mut l, mut c) = (1usize, 0usize);
    let mut i = 0;
    // Up to the byte the decoder stopped at (1-based column): the value it was decoding.
    while i < raw.len() && (l, c + 1) < (line, column) {
        let b = raw[i];
        match b {
            b'{' => stack.push(Frame::Obj {
                key: None,
                want_key: true,
            }),
            b'[' => stack.push(Frame::Arr(0)),
            b'}' | b']' => {
                stack.pop();
            }
            b',' => match stack.last_mut() {
                Some(Frame::Obj { want_key, .. }) => *want_key = true,
                Some(Frame::Arr(n)) => *n += 1,
                None => {}
            },
            b':' => {
                if let Some(Frame::Obj { want_key, .. }) = stack.last_mut() {
                    *want_key = false;
                }
            }
            b'"' => {
                let start = i + 1;
                i += 1;
                c += 1;
                while i < raw.len() && raw[i] != b'"' {
                    let n = if raw[i] == b'\\' { 2 } else { 1 };
                    i += n;
                    c += n;
                }
                if let Some(Frame::Obj { key, want_key }) = stack.last_mut() {
                    if *want_key {
                        let end = i.min(raw.len());
                        *key = Some(String::from_utf8_lossy(&raw[start..end]).into_owned());
                    }
                }
            }
            _ => {}
        }
        if b == b'\n' {
            l += 1;
            c = 0;
        } else {
            c += 1;
        }
        i += 1;
    }
    // Stopped on a closing bracket with an error about the whole object or array: its
    // last key or element is not the one at fault.
    if whole && matches!(raw.get(i), Some(b']' | b'}')) {
        stack.pop();
    }
    stack
        .into_iter()
        .filter_map(|f| match f {
            Frame::Obj { key, .. } => key.map(Seg::Key),
            Frame::Arr(n) => Some(Seg::Index(n)),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn decode_errors_name_the_field() {
        let raw = br#"{"ociVersion": "1.0.0", "process": {"cwd": "/", "args": ["a\"b"],
  "rlimits": [{"type": "RLIMIT_NOFILE", "soft": 1, "hard": 1},
              {"type": "RLIMIT_BOGUS", "soft": 1, "hard": 2}]}}"#;
        let e = serde_json::from_slice::<oci_spec::runtime::Spec>(raw).expect_err("bad type");
        assert_eq!(
            super::at(raw, e.line(), e.column(), false).as_deref(),
            Some("process.rlimits[1].type"),
            "{e}"
        );
        let raw = br#"{"ociVersion": "1.0.0", "process": {"cwd": "/", "user": {"uid": 0, "gid": 0},
  "capabilities": {"bounding": ["CAP_KILL", "CAP_NOPE"]}}}"#;
        let e = serde_json::from_slice::<oci_spec::runtime::Spec>(raw).expect_err("bad type");
        assert_eq!(
            super::at(raw, e.line(), e.column(), false).as_deref(),
            Some("process.capabilities.bounding[1]"),
            "{e}"
        );
    }

    #[test]
    fn a_bad_last_field_is_named_and_a_missing_field_names_its_object() {
        let raw = br#"{"ociVersion": "1.0.0", "linux": {"devices": [{"path": "/dev/x",
  "type": "c", "major": 1, "minor": 3, "gid": "x"}]}}"#;
        let e = serde_json::from_slice::<oci_spec::runtime::Spec>(raw).expect_err("bad gid");
        assert_eq!(
            super::at(raw, e.line(), e.column(), false).as_deref(),
            Some("linux.devices[0].gid"),
            "{e}"
        );
        let raw = br#"{"ociVersion": "1.0.0", "mounts": [{"source": "x", "type": "tmpfs"}]}"#;
        let e = serde_json::from_slice::<oci_spec::runtime::Spec>(raw).expect_err("no dest");
        assert_eq!(
            super::at(raw, e.line(), e.column(), true).as_deref(),
            Some("mounts[0]"),
            "{e}"
        );
    }
}
