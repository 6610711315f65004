//! Where in a config.json a decoding error is: serde_json reports a line and column, users
//! need the field (`process.rlimits[1].type`), so [`at`] walks the text up to that point.

/// The JSON path (`process.rlimits[1].type`) of the value at 1-based `line`:`column` of
/// `raw`, where serde_json reports a decoding error (an array or object when it stopped on
/// its closing bracket). None at the top level.
pub fn at(raw: &[u8], line: usize, column: usize) -> Option<String> {
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
    // Stopped on a closing bracket: the error is about the whole array or object (a set of
    // capabilities, say), not its last element.
    if matches!(raw.get(i), Some(b']' | b'}')) {
        stack.pop();
    }
    let mut path = String::new();
    for f in &stack {
        match f {
            Frame::Obj { key: Some(k), .. } => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
            }
            Frame::Obj { key: None, .. } => {}
            Frame::Arr(n) => path.push_str(&format!("[{n}]")),
        }
    }
    (!path.is_empty()).then_some(path)
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
            super::at(raw, e.line(), e.column()).as_deref(),
            Some("process.rlimits[1].type"),
            "{e}"
        );
        let raw = br#"{"ociVersion": "1.0.0", "process": {"cwd": "/", "user": {"uid": 0, "gid": 0},
  "capabilities": {"bounding": ["CAP_KILL", "CAP_NOPE"]}}}"#;
        let e = serde_json::from_slice::<oci_spec::runtime::Spec>(raw).expect_err("bad type");
        assert_eq!(
            super::at(raw, e.line(), e.column()).as_deref(),
            Some("process.capabilities.bounding"),
            "{e}"
        );
    }
}
