//! A parser for the GVariant text format, as used in `org.systemd.property.<Name>`
//! annotations.
//!
//! runc parses those annotation values with godbus's `ParseVariant(value, Signature{})`, so
//! this accepts the same subset: booleans, numbers with or without a type keyword
//! (`uint64 100`) or annotation (`@t 100`), quoted strings with escapes, byte strings
//! (`b'...'`), arrays (`[1, 2]`, `@as []`) and variants (`<...>`). Dictionaries, tuples and
//! maybe types are rejected with a clear error (godbus cannot produce a usable value for
//! them either). Deliberate differences, all more permissive than godbus: `false` works (the
//! godbus lexer we read only ever matches `true`), `double` means `d` (godbus maps it to the
//! invalid `f`), and an untyped integer that does not fit int32 becomes int64 instead of an
//! error.
//!
//! Parsing is two passes: text to an untyped tree, then the tree to a [`Value`] against the
//! expected signature, if any. Untyped numbers and strings take their type from the context
//! (`@at [1, 2]` makes both `t`; `[uint64 1, 2]` makes the 2 a `t` too), as in godbus.

use crate::error::{Error, Result};
use crate::value::{is_valid_object_path, validate_signature, validate_single, Value};

/// Parses GVariant text with no expected type (runc's `ParseVariant(v, Signature{})`).
pub fn parse_variant(text: &str) -> Result<Value> {
    parse(text, None)
}

/// Parses GVariant text that must have type `sig` (e.g. `t`), so untyped numbers and
/// strings take that type.
pub fn parse_variant_as(text: &str, sig: &str) -> Result<Value> {
    parse(text, Some(sig))
}

fn parse(text: &str, want: Option<&str>) -> Result<Value> {
    let err = |reason: String| Error::Parse {
        input: text.to_string(),
        reason,
    };
    if let Some(w) = want {
        validate_single(w).map_err(&err)?;
    }
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
        depth: 0,
    };
    let node = p.node().map_err(&err)?;
    p.skip_ws();
    if p.i != p.s.len() {
        return Err(err(format!("unexpected {:?} after the value", p.rest())));
    }
    resolve(&node, want).map_err(err)
}

/// The untyped tree.
#[derive(Debug)]
enum Node {
    Bool(bool),
    /// Number text as written; typed when resolved.
    Num(String),
    Str(String),
    Bytes(Vec<u8>),
    Array(Vec<Node>),
    Variant(Box<Node>),
    /// `@sig value` or `keyword value`.
    Typed(String, Box<Node>),
}

/// Nesting cap so `[[[[...` cannot exhaust the stack (the D-Bus limit is 64 anyway).
const MAX_DEPTH: u32 = 64;

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    depth: u32,
}

type PResult<T> = std::result::Result<T, String>;

impl Parser<'_> {
    fn rest(&self) -> String {
        String::from_utf8_lossy(&self.s[self.i.min(self.s.len())..]).into_owned()
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            self.i += 1;
        }
    }

    fn node(&mut self) -> PResult<Node> {
        if self.depth >= MAX_DEPTH {
            return Err("nested more than 64 deep".into());
        }
        self.depth += 1;
        let r = self.node_inner();
        self.depth -= 1;
        r
    }

    fn node_inner(&mut self) -> PResult<Node> {
        self.skip_ws();
        let Some(c) = self.peek() else {
            return Err("unexpected end of input".into());
        };
        match c {
            b'[' => {
                self.i += 1;
                self.array()
            }
            b'<' => {
                self.i += 1;
                let inner = self.node()?;
                self.skip_ws();
                if self.peek() != Some(b'>') {
                    return Err(format!("expected '>' at {:?}", self.rest()));
                }
                self.i += 1;
                Ok(Node::Variant(Box::new(inner)))
            }
            b'\'' | b'"' => Ok(Node::Str(self.string()?)),
            b'@' => {
                self.i += 1;
                let start = self.i;
                while self.peek().is_some_and(|c| !c.is_ascii_whitespace()) {
                    self.i += 1;
                }
                let sig = String::from_utf8_lossy(&self.s[start..self.i]).into_owned();
                validate_single(&sig).map_err(|e| format!("type annotation @{sig}: {e}"))?;
                self.typed(sig)
            }
            b'b' if matches!(self.s.get(self.i + 1), Some(b'\'' | b'"')) => {
                self.i += 1;
                let s = self.string()?;
                let mut b = s.into_bytes();
                // GVariant byte strings are NUL-terminated, and godbus keeps the NUL.
                b.push(0);
                Ok(Node::Bytes(b))
            }
            c if c.is_ascii_digit() || c == b'+' || c == b'-' || c == b'.' => self.number(),
            c if c.is_ascii_alphabetic() => {
                let start = self.i;
                while self
                    .peek()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_')
                {
                    self.i += 1;
                }
                let word = String::from_utf8_lossy(&self.s[start..self.i]).into_owned();
                match word.as_str() {
                    "true" => Ok(Node::Bool(true)),
                    "false" => Ok(Node::Bool(false)),
                    _ => match keyword_sig(&word) {
                        Some(sig) => self.typed(sig.to_string()),
                        None => Err(format!("unknown word {word:?}")),
                    },
                }
            }
            b'{' => Err("dictionaries are not supported".into()),
            b'(' => Err("tuples are not supported".into()),
            _ => Err(format!("unexpected {:?}", self.rest())),
        }
    }

    fn typed(&mut self, sig: String) -> PResult<Node> {
        let inner = self.node()?;
        if matches!(inner, Node::Typed(..)) {
            return Err("a value has two type annotations".into());
        }
        Ok(Node::Typed(sig, Box::new(inner)))
    }

    fn array(&mut self) -> PResult<Node> {
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.i += 1;
            return Ok(Node::Array(items));
        }
        loop {
            items.push(self.node()?);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(Node::Array(items));
                }
                Some(_) => return Err(format!("expected ',' or ']' at {:?}", self.rest())),
                None => return Err("unterminated array".into()),
            }
        }
    }

    fn number(&mut self) -> PResult<Node> {
        let start = self.i;
        let digits = |p: &mut Self, hex: bool| {
            while p
                .peek()
                .is_some_and(|c| c.is_ascii_digit() || (hex && c.is_ascii_hexdigit()))
            {
                p.i += 1;
            }
        };
        if matches!(self.peek(), Some(b'+' | b'-')) {
            self.i += 1;
        }
        let hex = self
            .s
            .get(self.i..self.i + 2)
            .is_some_and(|p| p.eq_ignore_ascii_case(b"0x"));
        if hex {
            self.i += 2;
        }
        digits(self, hex);
        if !hex && self.peek() == Some(b'.') {
            self.i += 1;
            digits(self, false);
        }
        if !hex && matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            digits(self, false);
        }
        if self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_')
        {
            return Err(format!("bad number {:?}", self.rest()));
        }
        Ok(Node::Num(
            String::from_utf8_lossy(&self.s[start..self.i]).into_owned(),
        ))
    }

    /// A quoted string with GVariant/godbus escapes; the cursor is on the opening quote.
    fn string(&mut self) -> PResult<String> {
        let quote = self.s[self.i];
        // Work on chars so multi-byte UTF-8 passes through intact.
        let text = std::str::from_utf8(&self.s[self.i + 1..]).map_err(|_| "invalid UTF-8")?;
        let mut out = String::new();
        let mut chars = text.char_indices();
        while let Some((at, c)) = chars.next() {
            match c {
                c if c as u32 == u32::from(quote) => {
                    self.i += 1 + at + 1;
                    if out.contains('\0') {
                        return Err("strings cannot contain NUL".into());
                    }
                    return Ok(out);
                }
                '\\' => {
                    let Some((_, e)) = chars.next() else { break };
                    match e {
                        'a' => out.push('\x07'),
                        'b' => out.push('\x08'),
                        'f' => out.push('\x0c'),
                        'n' => out.push('\n'),
                        'r' => out.push('\r'),
                        't' => out.push('\t'),
                        'v' => out.push('\x0b'),
                        '\n' => {}
                        'u' | 'U' => {
                            let n = if e == 'u' { 4 } else { 8 };
                            let hex: String = chars.by_ref().take(n).map(|(_, c)| c).collect();
                            let cp = (hex.len() == n)
                                .then(|| u32::from_str_radix(&hex, 16).ok())
                                .flatten()
                                .and_then(char::from_u32)
                                .ok_or_else(|| format!("bad \\{e} escape {hex:?}"))?;
                            out.push(cp);
                        }
                        other => out.push(other),
                    }
                }
                c => out.push(c),
            }
        }
        Err("unterminated string".into())
    }
}

/// The GVariant type keywords (`uint64 100`).
fn keyword_sig(word: &str) -> Option<&'static str> {
    Some(match word {
        "boolean" => "b",
        "byte" => "y",
        "int16" => "n",
        "uint16" => "q",
        "int32" => "i",
        "uint32" => "u",
        "int64" => "x",
        "uint64" => "t",
        "double" => "d",
        "string" => "s",
        "objectpath" => "o",
        "signature" => "g",
        _ => return None,
    })
}

fn is_float_text(t: &str) -> bool {
    let hex = t
        .trim_start_matches(['+', '-'])
        .to_ascii_lowercase()
        .starts_with("0x");
    !hex && t.contains(['.', 'e', 'E'])
}

/// Parses integer text: `0x` hex, leading-`0` octal (as godbus and GLib do), else decimal.
fn parse_int(t: &str) -> PResult<i128> {
    let (neg, body) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let (radix, digits) = if let Some(h) = body.strip_prefix("0x").or(body.strip_prefix("0X")) {
        (16, h)
    } else if body.len() > 1 && body.starts_with('0') {
        (8, &body[1..])
    } else {
        (10, body)
    };
    if digits.is_empty() || digits.starts_with(['+', '-']) {
        return Err(format!("bad number {t:?}"));
    }
    let v = i128::from_str_radix(digits, radix).map_err(|_| format!("bad number {t:?}"))?;
    Ok(if neg { -v } else { v })
}

fn num_as(t: &str, sig: &str) -> PResult<Value> {
    if sig == "d" {
        let v = if is_float_text(t) {
            t.parse::<f64>().map_err(|_| format!("bad number {t:?}"))?
        } else {
            parse_int(t)? as f64
        };
        return Ok(Value::Double(v));
    }
    if is_float_text(t) {
        return Err(format!("{t:?} is not an integer (type {sig})"));
    }
    let v = parse_int(t)?;
    let range = || format!("{t} is out of range for type {sig}");
    Ok(match sig {
        "y" => Value::Byte(u8::try_from(v).map_err(|_| range())?),
        "n" => Value::Int16(i16::try_from(v).map_err(|_| range())?),
        "q" => Value::UInt16(u16::try_from(v).map_err(|_| range())?),
        "i" => Value::Int32(i32::try_from(v).map_err(|_| range())?),
        "u" => Value::UInt32(u32::try_from(v).map_err(|_| range())?),
        "x" => Value::Int64(i64::try_from(v).map_err(|_| range())?),
        "t" => Value::UInt64(u64::try_from(v).map_err(|_| range())?),
        _ => return Err(format!("a number cannot have type {sig}")),
    })
}

/// Untyped numbers: decimals are doubles, integers int32 if they fit, else int64.
fn default_num_sig(t: &str) -> &'static str {
    if is_float_text(t) {
        "d"
    } else if parse_int(t).is_ok_and(|v| i32::try_from(v).is_ok()) {
        "i"
    } else {
        "x"
    }
}

/// The signature a node has regardless of context, if it has one.
fn strong_sig(n: &Node) -> Option<String> {
    match n {
        Node::Typed(s, _) => Some(s.clone()),
        Node::Bool(_) => Some("b".into()),
        Node::Bytes(_) => Some("ay".into()),
        Node::Variant(_) => Some("v".into()),
        Node::Array(items) => items.iter().find_map(strong_sig).map(|s| format!("a{s}")),
        Node::Num(_) | Node::Str(_) => None,
    }
}

/// The element type of an array with no expected type.
fn elem_sig(items: &[Node]) -> PResult<String> {
    if let Some(s) = items.iter().find_map(strong_sig) {
        return Ok(s);
    }
    let nums: Option<Vec<&str>> = items
        .iter()
        .map(|n| match n {
            Node::Num(t) => Some(t.as_str()),
            _ => None,
        })
        .collect();
    match (items.first(), nums) {
        (None, _) => {
            Err("cannot infer the type of an empty array; annotate it, e.g. @as []".into())
        }
        (Some(_), Some(nums)) => {
            let sigs: Vec<&str> = nums.iter().map(|t| default_num_sig(t)).collect();
            Ok(["d", "x", "i"]
                .into_iter()
                .find(|s| sigs.contains(s))
                .unwrap_or("i")
                .to_string())
        }
        (Some(Node::Str(_)), None) => Ok("s".into()),
        // Arrays of untyped arrays: the first inner array whose type can be inferred.
        (Some(Node::Array(_)), None) => items
            .iter()
            .find_map(|n| match n {
                Node::Array(inner) => elem_sig(inner).ok(),
                _ => None,
            })
            .map(|s| format!("a{s}"))
            .ok_or_else(|| "cannot infer the type of nested empty arrays".to_string()),
        (Some(_), None) => Err("array elements of different types".into()),
    }
}

fn resolve(n: &Node, want: Option<&str>) -> PResult<Value> {
    let mismatch = |what: &str, w: &str| Err(format!("{what} cannot have type {w}"));
    match (n, want) {
        (Node::Typed(sig, inner), w) => match w {
            Some(w) if w != sig => Err(format!("value annotated as {sig} where {w} is expected")),
            _ => resolve(inner, Some(sig)),
        },
        (Node::Bool(b), None | Some("b")) => Ok(Value::Bool(*b)),
        (Node::Bool(_), Some(w)) => mismatch("a boolean", w),
        (Node::Num(t), None) => num_as(t, default_num_sig(t)),
        (Node::Num(t), Some(w)) => num_as(t, w),
        (Node::Str(s), None | Some("s")) => Ok(Value::Str(s.clone())),
        (Node::Str(s), Some("o")) if is_valid_object_path(s) => Ok(Value::ObjectPath(s.clone())),
        (Node::Str(s), Some("o")) => Err(format!("{s:?} is not a valid object path")),
        (Node::Str(s), Some("g")) => match validate_signature(s) {
            Ok(()) => Ok(Value::Signature(s.clone())),
            Err(e) => Err(format!("{s:?} is not a valid signature: {e}")),
        },
        (Node::Str(_), Some(w)) => mismatch("a string", w),
        (Node::Bytes(b), None | Some("ay")) => Ok(Value::Array(
            "y".into(),
            b.iter().map(|&c| Value::Byte(c)).collect(),
        )),
        (Node::Bytes(_), Some(w)) => mismatch("a byte string", w),
        (Node::Variant(inner), None | Some("v")) => Ok(Value::variant(resolve(inner, None)?)),
        (Node::Variant(_), Some(w)) => mismatch("a variant", w),
        (Node::Array(items), w) => {
            let elem = match w {
                None => elem_sig(items)?,
                Some(w) => match w.strip_prefix('a') {
                    Some(e) if e.starts_with('{') => {
                        return Err("dictionaries are not supported".into())
                    }
                    Some(e) => e.to_string(),
                    None => return mismatch("an array", w),
                },
            };
            let values = items
                .iter()
                .map(|i| resolve(i, Some(&elem)))
                .collect::<PResult<Vec<_>>>()?;
            Ok(Value::Array(elem, values))
        }
    }
}

#[cfg(test)]
#[path = "gvariant_tests.rs"]
mod tests;
