//! D-Bus messages: the fixed header, the header fields, and the body.
//!
//! A message is `endian, type, flags, version, body length, serial, a(yv) fields`, padding
//! to 8, then the body. We build the header fields with the same [`Encoder`] as bodies
//! (they are just an `a(yv)`), so there is one alignment implementation to get right.

use crate::error::{Error, Result};
use crate::marshal::{align_up, encode_body, Decoder, Encoder, MAX_ARRAY_LEN};
use crate::value::Value;

/// Longest message the spec allows (128 MiB); anything claiming more is rejected before we
/// allocate for it.
pub const MAX_MESSAGE_LEN: usize = 128 << 20;
/// Length of the fixed part of the header, which is enough to learn the whole length.
pub const FIXED_HEADER_LEN: usize = 16;

/// Header flag: the sender does not want a reply.
pub const FLAG_NO_REPLY_EXPECTED: u8 = 0x1;
/// Header flag: the bus must not start a service to deliver this message.
pub const FLAG_NO_AUTO_START: u8 = 0x2;

const FIELD_PATH: u8 = 1;
const FIELD_INTERFACE: u8 = 2;
const FIELD_MEMBER: u8 = 3;
const FIELD_ERROR_NAME: u8 = 4;
const FIELD_REPLY_SERIAL: u8 = 5;
const FIELD_DESTINATION: u8 = 6;
const FIELD_SENDER: u8 = 7;
const FIELD_SIGNATURE: u8 = 8;
const FIELD_UNIX_FDS: u8 = 9;

/// The four message types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageType {
    /// A method call (1).
    MethodCall = 1,
    /// A successful reply (2).
    MethodReturn = 2,
    /// An error reply (3).
    Error = 3,
    /// A broadcast or unicast signal (4).
    Signal = 4,
}

impl MessageType {
    fn from_byte(b: u8) -> Option<Self> {
        Some(match b {
            1 => MessageType::MethodCall,
            2 => MessageType::MethodReturn,
            3 => MessageType::Error,
            4 => MessageType::Signal,
            _ => return None,
        })
    }
}

/// One D-Bus message. Fields are public because a message is plain data; the constructors
/// fill in the header fields each type requires.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// What kind of message this is.
    pub msg_type: MessageType,
    /// `FLAG_*` bits.
    pub flags: u8,
    /// Serial assigned by the sender (by [`crate::Connection`] when we send).
    pub serial: u32,
    /// PATH field: the object (method calls, signals).
    pub path: Option<String>,
    /// INTERFACE field.
    pub interface: Option<String>,
    /// MEMBER field: method or signal name.
    pub member: Option<String>,
    /// ERROR_NAME field (errors).
    pub error_name: Option<String>,
    /// REPLY_SERIAL field: the serial of the call this replies to.
    pub reply_serial: Option<u32>,
    /// DESTINATION field: a bus name.
    pub destination: Option<String>,
    /// SENDER field, filled in by the bus daemon.
    pub sender: Option<String>,
    /// The body values; their signatures make up the SIGNATURE field.
    pub body: Vec<Value>,
}

impl Message {
    fn empty(msg_type: MessageType) -> Self {
        Message {
            msg_type,
            flags: 0,
            serial: 0,
            path: None,
            interface: None,
            member: None,
            error_name: None,
            reply_serial: None,
            destination: None,
            sender: None,
            body: Vec::new(),
        }
    }

    /// A method call; `destination` may be empty on a peer-to-peer connection.
    pub fn method_call(destination: &str, path: &str, interface: &str, member: &str) -> Self {
        let mut m = Self::empty(MessageType::MethodCall);
        m.destination = (!destination.is_empty()).then(|| destination.to_string());
        m.path = Some(path.to_string());
        m.interface = (!interface.is_empty()).then(|| interface.to_string());
        m.member = Some(member.to_string());
        m
    }

    /// A signal emitted from `path`.
    pub fn signal(path: &str, interface: &str, member: &str) -> Self {
        let mut m = Self::empty(MessageType::Signal);
        m.path = Some(path.to_string());
        m.interface = Some(interface.to_string());
        m.member = Some(member.to_string());
        m
    }

    /// A successful reply to `call` (for peers and tests that answer calls).
    pub fn method_return(call: &Message) -> Self {
        let mut m = Self::empty(MessageType::MethodReturn);
        m.reply_serial = Some(call.serial);
        m.destination = call.sender.clone();
        m
    }

    /// An error reply to `call` with D-Bus error `name` and a human-readable `text`.
    pub fn error(call: &Message, name: &str, text: &str) -> Self {
        let mut m = Self::empty(MessageType::Error);
        m.reply_serial = Some(call.serial);
        m.destination = call.sender.clone();
        m.error_name = Some(name.to_string());
        m.body = vec![Value::from(text)];
        m
    }

    /// Replaces the body.
    pub fn with_body(mut self, body: Vec<Value>) -> Self {
        self.body = body;
        self
    }

    /// The signature of the body.
    pub fn signature(&self) -> String {
        let mut s = String::new();
        for v in &self.body {
            v.write_signature(&mut s);
        }
        s
    }

    /// Serialises the message (little-endian) with serial `self.serial`.
    pub fn encode(&self) -> Result<Vec<u8>> {
        if self.serial == 0 {
            return Err(Error::encode("message serial must not be 0"));
        }
        self.check_required_fields().map_err(Error::encode)?;
        let (body, sig) = encode_body(&self.body)?;
        let body_len = u32::try_from(body.len())
            .ok()
            .filter(|&l| l as usize <= MAX_MESSAGE_LEN)
            .ok_or_else(|| Error::encode("body longer than 128 MiB"))?;

        let mut fields = Vec::new();
        let mut field = |code: u8, v: Value| {
            fields.push(Value::Struct(vec![Value::Byte(code), Value::variant(v)]));
        };
        if let Some(p) = &self.path {
            field(FIELD_PATH, Value::ObjectPath(p.clone()));
        }
        if let Some(d) = &self.destination {
            field(FIELD_DESTINATION, Value::Str(d.clone()));
        }
        if let Some(i) = &self.interface {
            field(FIELD_INTERFACE, Value::Str(i.clone()));
        }
        if let Some(m) = &self.member {
            field(FIELD_MEMBER, Value::Str(m.clone()));
        }
        if let Some(e) = &self.error_name {
            field(FIELD_ERROR_NAME, Value::Str(e.clone()));
        }
        if let Some(r) = self.reply_serial {
            field(FIELD_REPLY_SERIAL, Value::UInt32(r));
        }
        if let Some(s) = &self.sender {
            field(FIELD_SENDER, Value::Str(s.clone()));
        }
        if !sig.is_empty() {
            field(FIELD_SIGNATURE, Value::Signature(sig));
        }

        let mut enc = Encoder::new();
        for b in [b'l', self.msg_type as u8, self.flags, 1] {
            enc.put(&Value::Byte(b))?;
        }
        enc.put(&Value::UInt32(body_len))?;
        enc.put(&Value::UInt32(self.serial))?;
        enc.put(&Value::Array("(yv)".into(), fields))?;
        let mut out = enc.finish();
        out.resize(align_up(out.len(), 8), 0);
        out.extend_from_slice(&body);
        if out.len() > MAX_MESSAGE_LEN {
            return Err(Error::encode("message longer than 128 MiB"));
        }
        Ok(out)
    }

    /// The header fields the spec requires for each type.
    fn check_required_fields(&self) -> Result<(), String> {
        let missing = |what: &str| Err(format!("{:?} message without {what}", self.msg_type));
        match self.msg_type {
            MessageType::MethodCall if self.path.is_none() => missing("PATH"),
            MessageType::MethodCall if self.member.is_none() => missing("MEMBER"),
            MessageType::Signal
                if self.path.is_none() || self.interface.is_none() || self.member.is_none() =>
            {
                missing("PATH, INTERFACE and MEMBER")
            }
            MessageType::Error if self.error_name.is_none() => missing("ERROR_NAME"),
            MessageType::MethodReturn | MessageType::Error if self.reply_serial.is_none() => {
                missing("REPLY_SERIAL")
            }
            _ => Ok(()),
        }
    }

    /// Parses one complete message; `buf` must hold exactly [`frame_len`] bytes.
    pub fn decode(buf: &[u8]) -> Result<Message> {
        let total = frame_len(buf)?;
        if buf.len() != total {
            return Err(Error::malformed(format!(
                "message is {} bytes, header says {total}",
                buf.len()
            )));
        }
        // frame_len checked the length, endianness and these bytes exist.
        let big = buf[0] == b'B';
        let msg_type = MessageType::from_byte(buf[1])
            .ok_or_else(|| Error::malformed(format!("unknown message type {}", buf[1])))?;
        if buf[3] != 1 {
            return Err(Error::malformed(format!("protocol version {}", buf[3])));
        }
        let mut d = Decoder::new(buf, big);
        d.seek(4)?;
        let body_len = d.u32()? as usize;
        let serial = d.u32()?;
        if serial == 0 {
            return Err(Error::malformed("serial 0"));
        }
        let fields = d.get("a(yv)")?;
        d.align(8)?;
        let body_start = d.pos();

        let mut m = Message::empty(msg_type);
        m.flags = buf[2];
        m.serial = serial;
        let mut sig = String::new();
        for f in fields.as_array().unwrap_or_default() {
            let (code, v) = match f.as_struct() {
                Some([Value::Byte(c), Value::Variant(v)]) => (*c, &**v),
                _ => return Err(Error::malformed("header field is not (yv)")),
            };
            let wrong =
                || Error::malformed(format!("header field {code} has type {}", v.signature()));
            let string = |want: fn(&Value) -> bool| -> Result<String> {
                match v.as_str() {
                    Some(s) if want(v) => Ok(s.to_string()),
                    _ => Err(wrong()),
                }
            };
            let is_str = |v: &Value| matches!(v, Value::Str(_));
            match code {
                FIELD_PATH => m.path = Some(string(|v| matches!(v, Value::ObjectPath(_)))?),
                FIELD_INTERFACE => m.interface = Some(string(is_str)?),
                FIELD_MEMBER => m.member = Some(string(is_str)?),
                FIELD_ERROR_NAME => m.error_name = Some(string(is_str)?),
                FIELD_DESTINATION => m.destination = Some(string(is_str)?),
                FIELD_SENDER => m.sender = Some(string(is_str)?),
                FIELD_SIGNATURE => sig = string(|v| matches!(v, Value::Signature(_)))?,
                FIELD_REPLY_SERIAL => match v {
                    Value::UInt32(r) => m.reply_serial = Some(*r),
                    _ => return Err(wrong()),
                },
                FIELD_UNIX_FDS => match v {
                    Value::UInt32(0) => {}
                    // We never negotiate fd passing, so a peer cannot legitimately send fds.
                    Value::UInt32(_) => return Err(Error::malformed("message carries unix fds")),
                    _ => return Err(wrong()),
                },
                // The spec says unknown fields must be ignored.
                _ => {}
            }
        }
        m.check_required_fields().map_err(Error::malformed)?;
        let body = buf
            .get(body_start..body_start + body_len)
            .ok_or_else(|| Error::malformed("body runs past the message"))?;
        if body_start + body_len != buf.len() {
            return Err(Error::malformed("bytes between header and body"));
        }
        m.body = Decoder::new(body, big).get_all(&sig)?;
        Ok(m)
    }

    /// For an ERROR message, the error it carries (name and first string of the body).
    pub fn to_error(&self) -> Option<Error> {
        if self.msg_type != MessageType::Error {
            return None;
        }
        Some(Error::MethodError {
            name: self.error_name.clone().unwrap_or_default(),
            message: self
                .body
                .first()
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
        })
    }
}

/// The total length of the message whose first bytes are `head` (at least
/// [`FIXED_HEADER_LEN`] of them), so a reader knows how much more to read.
pub fn frame_len(head: &[u8]) -> Result<usize> {
    let Some(h) = head.get(..FIXED_HEADER_LEN) else {
        return Err(Error::malformed("message shorter than its fixed header"));
    };
    let word = |i: usize| {
        let b = [h[i], h[i + 1], h[i + 2], h[i + 3]];
        match h[0] {
            b'B' => Ok(u32::from_be_bytes(b) as usize),
            b'l' => Ok(u32::from_le_bytes(b) as usize),
            e => Err(Error::malformed(format!("bad endianness byte {e:#04x}"))),
        }
    };
    let body_len = word(4)?;
    let fields_len = word(12)?;
    if fields_len > MAX_ARRAY_LEN || body_len > MAX_MESSAGE_LEN {
        return Err(Error::malformed("message longer than 128 MiB"));
    }
    let total = align_up(FIXED_HEADER_LEN + fields_len, 8) + body_len;
    if total > MAX_MESSAGE_LEN {
        return Err(Error::malformed(format!(
            "message of {total} bytes exceeds 128 MiB"
        )));
    }
    Ok(total)
}

#[cfg(test)]
#[path = "message_tests.rs"]
mod tests;
