//! The D-Bus value model and the signature grammar.
//!
//! Values are a plain enum rather than a serde-style trait mapping: the systemd driver builds
//! a handful of property lists and reads back a handful of replies, so an explicit tree is
//! both smaller (no derive machinery in a 3 MB static binary) and easier to check against the
//! wire format. Unix fds (`h`) are left out on purpose: we never negotiate fd passing.

/// The D-Bus limit on nested arrays and, separately, on nested structs (spec: 32 each).
pub(crate) const MAX_ARRAY_NESTING: u32 = 32;
/// See [`MAX_ARRAY_NESTING`].
pub(crate) const MAX_STRUCT_NESTING: u32 = 32;
/// The D-Bus limit on the length of a signature, in bytes.
pub(crate) const MAX_SIGNATURE_LEN: usize = 255;

/// One D-Bus value, tagged with its type.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `y`
    Byte(u8),
    /// `b`
    Bool(bool),
    /// `n`
    Int16(i16),
    /// `q`
    UInt16(u16),
    /// `i`
    Int32(i32),
    /// `u`
    UInt32(u32),
    /// `x`
    Int64(i64),
    /// `t`
    UInt64(u64),
    /// `d`
    Double(f64),
    /// `s`: UTF-8 without NUL bytes.
    Str(String),
    /// `o`: `/` or `/seg/seg...` with segments of `[A-Za-z0-9_]`.
    ObjectPath(String),
    /// `g`: a valid signature of at most 255 bytes.
    Signature(String),
    /// `a<elem>`: the element signature (kept explicitly so that empty arrays have a type)
    /// and the elements, each of which must have exactly that signature. For dictionaries
    /// the element signature is `{kv}` and the elements are [`Value::DictEntry`].
    Array(String, Vec<Value>),
    /// `(...)`: at least one field.
    Struct(Vec<Value>),
    /// `v`: any single value, carrying its own signature on the wire.
    Variant(Box<Value>),
    /// `{kv}`: only valid as an array element; the key must be a basic type.
    DictEntry(Box<Value>, Box<Value>),
}

impl Value {
    /// The D-Bus type signature of this value (`a(sv)`, `t`, ...).
    pub fn signature(&self) -> String {
        let mut s = String::new();
        self.write_signature(&mut s);
        s
    }

    /// Appends this value's signature to `out` (no allocation per nested value).
    pub fn write_signature(&self, out: &mut String) {
        let code = match self {
            Value::Byte(_) => 'y',
            Value::Bool(_) => 'b',
            Value::Int16(_) => 'n',
            Value::UInt16(_) => 'q',
            Value::Int32(_) => 'i',
            Value::UInt32(_) => 'u',
            Value::Int64(_) => 'x',
            Value::UInt64(_) => 't',
            Value::Double(_) => 'd',
            Value::Str(_) => 's',
            Value::ObjectPath(_) => 'o',
            Value::Signature(_) => 'g',
            Value::Variant(_) => 'v',
            Value::Array(elem, _) => {
                out.push('a');
                out.push_str(elem);
                return;
            }
            Value::Struct(fields) => {
                out.push('(');
                for f in fields {
                    f.write_signature(out);
                }
                out.push(')');
                return;
            }
            Value::DictEntry(k, v) => {
                out.push('{');
                k.write_signature(out);
                v.write_signature(out);
                out.push('}');
                return;
            }
        };
        out.push(code);
    }

    /// Wraps a value in a variant (`v`), as property values in `a(sv)` must be.
    pub fn variant(v: impl Into<Value>) -> Value {
        Value::Variant(Box::new(v.into()))
    }

    /// An object path value (`o`); validity is checked when the value is encoded.
    pub fn object_path(path: impl Into<String>) -> Value {
        Value::ObjectPath(path.into())
    }

    /// An array with an explicit element signature (needed so empty arrays are typed).
    pub fn array(elem_sig: impl Into<String>, items: Vec<Value>) -> Value {
        Value::Array(elem_sig.into(), items)
    }

    /// The value inside any number of variant wrappers: `Properties.Get` returns `v`, and
    /// callers want what is in it.
    pub fn peel(&self) -> &Value {
        let mut v = self;
        while let Value::Variant(inner) = v {
            v = inner;
        }
        v
    }

    /// The text of a string, object path or signature.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) | Value::ObjectPath(s) | Value::Signature(s) => Some(s),
            _ => None,
        }
    }

    /// A boolean's value.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// Any unsigned integer (`y`, `q`, `u`, `t`) widened to u64.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Value::Byte(v) => Some(u64::from(*v)),
            Value::UInt16(v) => Some(u64::from(*v)),
            Value::UInt32(v) => Some(u64::from(*v)),
            Value::UInt64(v) => Some(*v),
            _ => None,
        }
    }

    /// Any signed integer (`n`, `i`, `x`) widened to i64.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int16(v) => Some(i64::from(*v)),
            Value::Int32(v) => Some(i64::from(*v)),
            Value::Int64(v) => Some(*v),
            _ => None,
        }
    }

    /// The elements of an array.
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(_, items) => Some(items),
            _ => None,
        }
    }

    /// The fields of a struct.
    pub fn as_struct(&self) -> Option<&[Value]> {
        match self {
            Value::Struct(fields) => Some(fields),
            _ => None,
        }
    }
}

macro_rules! value_from {
    ($($t:ty => $variant:ident),* $(,)?) => {
        $(impl From<$t> for Value {
            fn from(v: $t) -> Value {
                Value::$variant(v.into())
            }
        })*
    };
}

value_from!(
    u8 => Byte, bool => Bool, i16 => Int16, u16 => UInt16, i32 => Int32, u32 => UInt32,
    i64 => Int64, u64 => UInt64, f64 => Double, String => Str, &str => Str,
);

/// True for the type codes that may be dictionary keys.
pub(crate) fn is_basic(code: u8) -> bool {
    matches!(
        code,
        b'y' | b'b' | b'n' | b'q' | b'i' | b'u' | b'x' | b't' | b'd' | b's' | b'o' | b'g'
    )
}

/// The wire alignment of a type, from its first signature byte.
pub(crate) fn alignment(code: u8) -> usize {
    match code {
        b'n' | b'q' => 2,
        b'b' | b'i' | b'u' | b's' | b'o' | b'a' => 4,
        b'x' | b't' | b'd' | b'(' | b'{' => 8,
        // y, g, v (and anything invalid, which the signature check rejects first)
        _ => 1,
    }
}

/// Splits the first single complete type off `sig`: `"a(sv)s"` -> `("a(sv)", "s")`.
pub(crate) fn split_first(sig: &str) -> Result<(&str, &str), String> {
    let end = complete_type_end(sig.as_bytes(), 0, 0, 0)?;
    // `end` is always just past an ASCII type code, so this is a char boundary.
    Ok(sig.split_at(end))
}

/// Index just past the complete type starting at `i`. Recursion depth is bounded by the
/// nesting limits, so a hostile signature cannot exhaust the stack.
fn complete_type_end(b: &[u8], i: usize, arrays: u32, structs: u32) -> Result<usize, String> {
    let Some(&c) = b.get(i) else {
        return Err("signature ends where a type was expected".into());
    };
    match c {
        c if is_basic(c) || c == b'v' => Ok(i + 1),
        b'a' => {
            if arrays >= MAX_ARRAY_NESTING {
                return Err("arrays nested more than 32 deep".into());
            }
            if b.get(i + 1) != Some(&b'{') {
                return complete_type_end(b, i + 1, arrays + 1, structs);
            }
            if structs >= MAX_STRUCT_NESTING {
                return Err("structs nested more than 32 deep".into());
            }
            match b.get(i + 2) {
                Some(&k) if is_basic(k) => {}
                Some(&k) => return Err(format!("dict key type {:?} is not basic", k as char)),
                None => return Err("signature ends inside a dict entry".into()),
            }
            let end = complete_type_end(b, i + 3, arrays + 1, structs + 1)?;
            if b.get(end) != Some(&b'}') {
                return Err("dict entry must hold exactly a key and a value".into());
            }
            Ok(end + 1)
        }
        b'(' => {
            if structs >= MAX_STRUCT_NESTING {
                return Err("structs nested more than 32 deep".into());
            }
            if b.get(i + 1) == Some(&b')') {
                return Err("empty struct".into());
            }
            let mut j = i + 1;
            loop {
                if b.get(j) == Some(&b')') {
                    return Ok(j + 1);
                }
                j = complete_type_end(b, j, arrays, structs + 1)?;
            }
        }
        b'{' => Err("dict entry outside an array".into()),
        c => Err(format!("invalid type code {:?}", c as char)),
    }
}

/// Checks that `sig` is a valid D-Bus signature (any number of complete types).
pub(crate) fn validate_signature(sig: &str) -> Result<(), String> {
    if sig.len() > MAX_SIGNATURE_LEN {
        return Err(format!("signature longer than 255 bytes ({})", sig.len()));
    }
    let mut rest = sig;
    while !rest.is_empty() {
        rest = split_first(rest)?.1;
    }
    Ok(())
}

/// Checks that `sig` is exactly one complete type (what a variant or array element holds).
pub(crate) fn validate_single(sig: &str) -> Result<(), String> {
    if sig.len() > MAX_SIGNATURE_LEN {
        return Err(format!("signature longer than 255 bytes ({})", sig.len()));
    }
    match split_first(sig)? {
        (_, "") => Ok(()),
        (_, rest) => Err(format!(
            "{sig:?} is more than one complete type (extra {rest:?})"
        )),
    }
}

/// True if `p` is a valid object path.
pub fn is_valid_object_path(p: &str) -> bool {
    if p == "/" {
        return true;
    }
    let Some(rest) = p.strip_prefix('/') else {
        return false;
    };
    rest.split('/')
        .all(|seg| !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_of_values() {
        let prop = Value::Struct(vec![Value::from("Delegate"), Value::variant(true)]);
        assert_eq!(prop.signature(), "(sv)");
        let props = Value::array("(sv)", vec![prop]);
        assert_eq!(props.signature(), "a(sv)");
        let dict = Value::array(
            "{sv}",
            vec![Value::DictEntry(
                Box::new("k".into()),
                Box::new(Value::variant(1u64)),
            )],
        );
        assert_eq!(dict.signature(), "a{sv}");
        assert_eq!(Value::array("s", vec![]).signature(), "as");
    }

    #[test]
    fn signature_grammar() {
        for ok in [
            "",
            "s",
            "ssa(sv)a(sa(sv))",
            "a{sv}",
            "a{oa{sa{sv}}}",
            "uoss",
            "aay",
            "(i(ii))",
        ] {
            assert_eq!(validate_signature(ok), Ok(()), "{ok}");
        }
        for bad in [
            "a", "(", "()", "(s", "{sv}", "a{vs}", "a{s}", "a{sss}", "z", "s)", "h", "a{sv",
        ] {
            assert!(validate_signature(bad).is_err(), "{bad}");
        }
        assert!(validate_signature(&format!("{}y", "a".repeat(33))).is_err());
        assert!(validate_signature(&format!("{}y", "a".repeat(32))).is_ok());
        let deep = format!("{}y{}", "(".repeat(33), ")".repeat(33));
        assert!(validate_signature(&deep).is_err());
        assert!(validate_signature(&"s".repeat(256)).is_err());
        assert_eq!(split_first("a(sv)s"), Ok(("a(sv)", "s")));
        assert!(validate_single("ss").is_err());
        assert!(validate_single("a{sv}").is_ok());
    }

    #[test]
    fn object_paths() {
        for ok in ["/", "/org/freedesktop/systemd1", "/a_b/C9"] {
            assert!(is_valid_object_path(ok), "{ok}");
        }
        for bad in ["", "org", "//", "/a/", "/a//b", "/a-b", "/a.b", "/ä"] {
            assert!(!is_valid_object_path(bad), "{bad}");
        }
    }

    #[test]
    fn accessors() {
        let v = Value::variant(Value::variant(Value::from(5u32)));
        assert_eq!(v.peel().as_u64(), Some(5));
        assert_eq!(Value::from(-3i16).as_i64(), Some(-3));
        assert_eq!(Value::object_path("/x").as_str(), Some("/x"));
        assert_eq!(Value::from(true).as_bool(), Some(true));
        assert_eq!(Value::from(1u8).as_bool(), None);
    }
}
