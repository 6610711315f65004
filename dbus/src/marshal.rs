//! The D-Bus wire format: values to bytes and back.
//!
//! Offsets are relative to the start of the buffer, which is always 8-aligned in the message
//! (the header is padded to 8 before the body), so alignment computed here equals alignment
//! in the message. We always write little-endian; we read either byte order because the
//! daemon forwards other peers' messages unchanged.
//!
//! The decoder treats its input as hostile: every read is bounds-checked, lengths are checked
//! against the spec limits before anything is allocated for them, and nesting (including
//! variants, which the signature cannot bound) is capped at the spec's 64 levels so a crafted
//! message cannot exhaust the stack.

use crate::error::{Error, Result};
use crate::value::{
    alignment, is_valid_object_path, split_first, validate_signature, validate_single, Value,
};

/// Longest array the spec allows, in bytes (64 MiB).
pub(crate) const MAX_ARRAY_LEN: usize = 64 << 20;
/// Deepest total nesting of containers the spec allows (arrays + structs + variants).
const MAX_DEPTH: u32 = 64;

/// Rounds `n` up to a multiple of `a` (a power of two).
pub(crate) fn align_up(n: usize, a: usize) -> usize {
    (n + a - 1) & !(a - 1)
}

/// Serialises values into a growing buffer.
#[derive(Default)]
pub struct Encoder {
    buf: Vec<u8>,
    depth: u32,
}

impl Encoder {
    /// An empty encoder; the buffer starts at an 8-aligned message offset.
    pub fn new() -> Self {
        Self::default()
    }

    /// The bytes written so far.
    pub fn finish(self) -> Vec<u8> {
        self.buf
    }

    fn pad_to(&mut self, a: usize) {
        let n = align_up(self.buf.len(), a);
        self.buf.resize(n, 0);
    }

    fn put_u32(&mut self, v: u32) {
        self.pad_to(4);
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    fn put_str(&mut self, s: &str) -> Result<()> {
        if s.as_bytes().contains(&0) {
            return Err(Error::encode(format!("string {s:?} contains a NUL byte")));
        }
        let len = u32::try_from(s.len())
            .map_err(|_| Error::encode("string longer than 4 GiB".to_string()))?;
        self.put_u32(len);
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.push(0);
        Ok(())
    }

    fn put_sig(&mut self, s: &str) -> Result<()> {
        validate_signature(s).map_err(Error::encode)?;
        // validate_signature bounds the length to 255.
        self.buf.push(s.len() as u8);
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.push(0);
        Ok(())
    }

    /// Appends one value with its alignment padding.
    pub fn put(&mut self, v: &Value) -> Result<()> {
        match v {
            Value::Byte(b) => self.buf.push(*b),
            Value::Bool(b) => self.put_u32(u32::from(*b)),
            Value::Int16(n) => {
                self.pad_to(2);
                self.buf.extend_from_slice(&n.to_le_bytes());
            }
            Value::UInt16(n) => {
                self.pad_to(2);
                self.buf.extend_from_slice(&n.to_le_bytes());
            }
            Value::Int32(n) => {
                self.pad_to(4);
                self.buf.extend_from_slice(&n.to_le_bytes());
            }
            Value::UInt32(n) => self.put_u32(*n),
            Value::Int64(n) => {
                self.pad_to(8);
                self.buf.extend_from_slice(&n.to_le_bytes());
            }
            Value::UInt64(n) => {
                self.pad_to(8);
                self.buf.extend_from_slice(&n.to_le_bytes());
            }
            Value::Double(d) => {
                self.pad_to(8);
                self.buf.extend_from_slice(&d.to_le_bytes());
            }
            Value::Str(s) => self.put_str(s)?,
            Value::ObjectPath(p) => {
                if !is_valid_object_path(p) {
                    return Err(Error::encode(format!("invalid object path {p:?}")));
                }
                self.put_str(p)?;
            }
            Value::Signature(s) => self.put_sig(s)?,
            Value::Array(elem, items) => self.nested(|e| e.put_array(elem, items))?,
            Value::Struct(fields) => {
                if fields.is_empty() {
                    return Err(Error::encode("empty struct"));
                }
                self.nested(|e| {
                    e.pad_to(8);
                    fields.iter().try_for_each(|f| e.put(f))
                })?;
            }
            Value::Variant(inner) => {
                let sig = inner.signature();
                validate_single(&sig).map_err(Error::encode)?;
                self.put_sig(&sig)?;
                self.nested(|e| e.put(inner))?;
            }
            Value::DictEntry(k, val) => {
                // Only reachable inside an array whose element signature was checked to be
                // `{kv}` with a basic key (see put_array).
                self.nested(|e| {
                    e.pad_to(8);
                    e.put(k)?;
                    e.put(val)
                })?;
            }
        }
        Ok(())
    }

    fn nested(&mut self, f: impl FnOnce(&mut Self) -> Result<()>) -> Result<()> {
        if self.depth >= MAX_DEPTH {
            return Err(Error::encode("values nested more than 64 deep"));
        }
        self.depth += 1;
        let r = f(self);
        self.depth -= 1;
        r
    }

    fn put_array(&mut self, elem: &str, items: &[Value]) -> Result<()> {
        // "a" + elem must be one complete type; this also admits `{kv}` only here.
        let full = format!("a{elem}");
        validate_single(&full).map_err(|e| Error::encode(format!("array type {full:?}: {e}")))?;
        self.put_u32(0);
        let len_at = self.buf.len() - 4;
        // The padding to the element alignment is there even for an empty array, and is not
        // counted in the length.
        self.pad_to(alignment(elem.as_bytes()[0]));
        let start = self.buf.len();
        let mut sig = String::new();
        for item in items {
            sig.clear();
            item.write_signature(&mut sig);
            if sig != elem {
                return Err(Error::encode(format!(
                    "array of {elem:?} holds a value of type {sig:?}"
                )));
            }
            self.put(item)?;
        }
        let len = self.buf.len() - start;
        if len > MAX_ARRAY_LEN {
            return Err(Error::encode(format!(
                "array of {len} bytes exceeds 64 MiB"
            )));
        }
        // len <= 64 MiB fits in u32.
        self.buf[len_at..len_at + 4].copy_from_slice(&(len as u32).to_le_bytes());
        Ok(())
    }
}

/// Encodes a message body (a sequence of values) and returns the bytes and its signature.
pub fn encode_body(values: &[Value]) -> Result<(Vec<u8>, String)> {
    let mut sig = String::new();
    for v in values {
        v.write_signature(&mut sig);
    }
    validate_signature(&sig).map_err(|e| Error::encode(format!("body signature {sig:?}: {e}")))?;
    let mut enc = Encoder::new();
    for v in values {
        enc.put(v)?;
    }
    Ok((enc.finish(), sig))
}

/// Reads values from a byte buffer of either endianness.
pub struct Decoder<'a> {
    buf: &'a [u8],
    pos: usize,
    big_endian: bool,
    depth: u32,
}

impl<'a> Decoder<'a> {
    /// A decoder positioned at the start of `buf`, which must be 8-aligned in the message.
    pub fn new(buf: &'a [u8], big_endian: bool) -> Self {
        Decoder {
            buf,
            pos: 0,
            big_endian,
            depth: 0,
        }
    }

    /// The current offset.
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// Moves to `pos` (used to start after the fixed header).
    pub(crate) fn seek(&mut self, pos: usize) -> Result<()> {
        if pos > self.buf.len() {
            return Err(Error::malformed("seek past the end of the message"));
        }
        self.pos = pos;
        Ok(())
    }

    /// Skips padding to the next multiple of `a`.
    pub(crate) fn align(&mut self, a: usize) -> Result<()> {
        let p = align_up(self.pos, a);
        if p > self.buf.len() {
            return Err(Error::malformed("truncated (inside alignment padding)"));
        }
        self.pos = p;
        Ok(())
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or_else(|| {
                Error::malformed(format!("truncated: need {n} bytes at offset {}", self.pos))
            })?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn fixed<const N: usize>(&mut self) -> Result<[u8; N]> {
        self.align(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        if self.big_endian {
            a.reverse();
        }
        // `a` is now little-endian.
        Ok(a)
    }

    /// Reads an aligned u32 (used by the header parser too).
    pub(crate) fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.fixed::<4>()?))
    }

    fn string(&mut self, what: &str) -> Result<String> {
        let len = self.u32()? as usize;
        let bytes = self.take(len)?;
        let nul = self.take(1)?;
        if nul != [0] {
            return Err(Error::malformed(format!("{what} is not NUL-terminated")));
        }
        if bytes.contains(&0) {
            return Err(Error::malformed(format!("{what} contains a NUL byte")));
        }
        String::from_utf8(bytes.to_vec())
            .map_err(|_| Error::malformed(format!("{what} is not valid UTF-8")))
    }

    fn signature(&mut self) -> Result<String> {
        let len = usize::from(self.take(1)?[0]);
        let bytes = self.take(len)?;
        if self.take(1)? != [0] {
            return Err(Error::malformed("signature is not NUL-terminated"));
        }
        let s =
            std::str::from_utf8(bytes).map_err(|_| Error::malformed("signature is not ASCII"))?;
        validate_signature(s).map_err(Error::malformed)?;
        Ok(s.to_string())
    }

    fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        if self.depth >= MAX_DEPTH {
            return Err(Error::malformed("values nested more than 64 deep"));
        }
        self.depth += 1;
        let r = f(self);
        self.depth -= 1;
        r
    }

    /// Reads one value of the single complete type `sig`.
    pub fn get(&mut self, sig: &str) -> Result<Value> {
        validate_single(sig).map_err(Error::malformed)?;
        self.get_one(sig)
    }

    /// [`Decoder::get`] for a signature already known to be one complete type.
    fn get_one(&mut self, sig: &str) -> Result<Value> {
        let Some(&code) = sig.as_bytes().first() else {
            return Err(Error::malformed("empty type signature"));
        };
        Ok(match code {
            b'y' => Value::Byte(self.take(1)?[0]),
            b'b' => match self.u32()? {
                0 => Value::Bool(false),
                1 => Value::Bool(true),
                n => return Err(Error::malformed(format!("boolean with value {n}"))),
            },
            b'n' => Value::Int16(i16::from_le_bytes(self.fixed()?)),
            b'q' => Value::UInt16(u16::from_le_bytes(self.fixed()?)),
            b'i' => Value::Int32(i32::from_le_bytes(self.fixed()?)),
            b'u' => Value::UInt32(self.u32()?),
            b'x' => Value::Int64(i64::from_le_bytes(self.fixed()?)),
            b't' => Value::UInt64(u64::from_le_bytes(self.fixed()?)),
            b'd' => Value::Double(f64::from_le_bytes(self.fixed()?)),
            b's' => Value::Str(self.string("string")?),
            b'o' => {
                let p = self.string("object path")?;
                if !is_valid_object_path(&p) {
                    return Err(Error::malformed(format!("invalid object path {p:?}")));
                }
                Value::ObjectPath(p)
            }
            b'g' => Value::Signature(self.signature()?),
            b'v' => {
                let inner = self.signature()?;
                validate_single(&inner).map_err(Error::malformed)?;
                let v = self.nested(|d| d.get_one(&inner))?;
                Value::Variant(Box::new(v))
            }
            b'a' => self.nested(|d| d.array(&sig[1..]))?,
            b'(' => {
                let fields_sig = sig
                    .get(1..sig.len() - 1)
                    .ok_or_else(|| Error::malformed("bad struct signature"))?;
                self.nested(|d| {
                    d.align(8)?;
                    let mut fields = Vec::new();
                    let mut rest = fields_sig;
                    while !rest.is_empty() {
                        let (one, r) = split_first(rest).map_err(Error::malformed)?;
                        fields.push(d.get_one(one)?);
                        rest = r;
                    }
                    Ok(Value::Struct(fields))
                })?
            }
            c => {
                return Err(Error::malformed(format!(
                    "unsupported type code {:?}",
                    c as char
                )))
            }
        })
    }

    fn array(&mut self, elem: &str) -> Result<Value> {
        let len = self.u32()? as usize;
        if len > MAX_ARRAY_LEN {
            return Err(Error::malformed(format!(
                "array of {len} bytes exceeds 64 MiB"
            )));
        }
        let Some(&first) = elem.as_bytes().first() else {
            return Err(Error::malformed("array without element type"));
        };
        self.align(alignment(first))?;
        let end = self
            .pos
            .checked_add(len)
            .filter(|&e| e <= self.buf.len())
            .ok_or_else(|| Error::malformed("array length runs past the end of the message"))?;
        let mut items = Vec::new();
        // Every element is at least one byte, so this loop ends.
        if first == b'{' {
            let key = elem
                .get(1..2)
                .ok_or_else(|| Error::malformed("bad dict type"))?;
            let val = elem
                .get(2..elem.len() - 1)
                .ok_or_else(|| Error::malformed("bad dict type"))?;
            while self.pos < end {
                let entry = self.nested(|d| {
                    d.align(8)?;
                    let k = d.get_one(key)?;
                    let v = d.get_one(val)?;
                    Ok(Value::DictEntry(Box::new(k), Box::new(v)))
                })?;
                items.push(entry);
            }
        } else {
            while self.pos < end {
                items.push(self.get_one(elem)?);
            }
        }
        if self.pos != end {
            return Err(Error::malformed(
                "array element runs past the array's length",
            ));
        }
        Ok(Value::Array(elem.to_string(), items))
    }

    /// Reads values for every complete type in `sig` (a message body) and requires that the
    /// buffer is consumed exactly.
    pub fn get_all(&mut self, sig: &str) -> Result<Vec<Value>> {
        validate_signature(sig).map_err(Error::malformed)?;
        let mut out = Vec::new();
        let mut rest = sig;
        while !rest.is_empty() {
            let (one, r) = split_first(rest).map_err(Error::malformed)?;
            out.push(self.get_one(one)?);
            rest = r;
        }
        if self.pos != self.buf.len() {
            return Err(Error::malformed(format!(
                "{} bytes left over after the values of {sig:?}",
                self.buf.len() - self.pos
            )));
        }
        Ok(out)
    }
}

/// Decodes a little-endian message body of signature `sig`.
pub fn decode_body(buf: &[u8], sig: &str) -> Result<Vec<Value>> {
    Decoder::new(buf, false).get_all(sig)
}

#[cfg(test)]
#[path = "marshal_tests.rs"]
mod tests;
