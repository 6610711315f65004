//! Tests of message framing: a hand-checked Hello, round trips, and hostile headers.

use super::*;

fn hello() -> Message {
    let mut m = Message::method_call(
        "org.freedesktop.DBus",
        "/org/freedesktop/DBus",
        "org.freedesktop.DBus",
        "Hello",
    );
    m.serial = 1;
    m
}

#[test]
fn hello_bytes() {
    let b = hello().encode().unwrap();
    let mut want: Vec<u8> = vec![
        b'l', 1, 0, 1, // little-endian method call, no flags, version 1
        0, 0, 0, 0, // body length 0
        1, 0, 0, 0, // serial 1
        110, 0, 0, 0, // header field array: 110 bytes (16 .. 126)
    ];
    // Each field: code, variant signature (1, type, NUL), string at the next 4-aligned offset,
    // then padding to 8 before the next field struct.
    want.extend_from_slice(&[1, 1, b'o', 0, 21, 0, 0, 0]);
    want.extend_from_slice(b"/org/freedesktop/DBus\0\0\0"); // 46 -> 48
    want.extend_from_slice(&[6, 1, b's', 0, 20, 0, 0, 0]);
    want.extend_from_slice(b"org.freedesktop.DBus\0\0\0\0"); // 77 -> 80
    want.extend_from_slice(&[2, 1, b's', 0, 20, 0, 0, 0]);
    want.extend_from_slice(b"org.freedesktop.DBus\0\0\0\0"); // 109 -> 112
    want.extend_from_slice(&[3, 1, b's', 0, 5, 0, 0, 0]);
    want.extend_from_slice(b"Hello\0"); // 126
    want.extend_from_slice(&[0, 0]); // header padded to 128, empty body
    assert_eq!(b.len(), 128);
    assert_eq!(b, want);
    assert_eq!(frame_len(&b).unwrap(), 128);
    assert_eq!(Message::decode(&b).unwrap(), hello());
}

#[test]
fn round_trip_with_body() {
    let mut m = Message::signal(
        "/org/freedesktop/systemd1",
        "org.freedesktop.systemd1.Manager",
        "JobRemoved",
    )
    .with_body(vec![
        Value::UInt32(42),
        Value::object_path("/org/freedesktop/systemd1/job/42"),
        Value::from("x.scope"),
        Value::from("done"),
    ]);
    m.serial = 7;
    m.sender = Some(":1.0".into());
    let b = m.encode().unwrap();
    assert_eq!(Message::decode(&b).unwrap(), m);
    assert_eq!(m.signature(), "uoss");

    let mut r = Message::empty(MessageType::Error);
    r.serial = 9;
    r.reply_serial = Some(3);
    r.error_name = Some("org.freedesktop.systemd1.UnitExists".into());
    r.body = vec!["Unit x.scope already exists.".into()];
    let d = Message::decode(&r.encode().unwrap()).unwrap();
    assert_eq!(
        d.to_error().unwrap().to_string(),
        "org.freedesktop.systemd1.UnitExists: Unit x.scope already exists."
    );
}

#[test]
fn big_endian_message() {
    // A big-endian METHOD_RETURN with REPLY_SERIAL 5 and body "u" 0x01020304.
    let mut b: Vec<u8> = vec![b'B', 2, 0, 1, 0, 0, 0, 4, 0, 0, 0, 2, 0, 0, 0, 15];
    b.extend_from_slice(&[5, 1, b'u', 0, 0, 0, 0, 5]); // 16..24
    b.extend_from_slice(&[8, 1, b'g', 0, 1, b'u', 0]); // 24..31
    b.push(0); // pad to 32
    b.extend_from_slice(&[1, 2, 3, 4]);
    let m = Message::decode(&b).unwrap();
    assert_eq!(m.msg_type, MessageType::MethodReturn);
    assert_eq!(m.reply_serial, Some(5));
    assert_eq!(m.serial, 2);
    assert_eq!(m.body, vec![Value::UInt32(0x0102_0304)]);
}

#[test]
fn rejects_bad_headers() {
    let good = hello().encode().unwrap();
    let mut cases = Vec::new();
    let mut bad = |i: usize, v: u8| {
        let mut b = good.clone();
        b[i] = v;
        cases.push(b);
    };
    bad(0, b'x'); // endianness
    bad(1, 9); // type
    bad(3, 2); // version
    bad(8, 0); // serial 0
    bad(18, b't'); // PATH field typed as u64
    bad(4, 1); // body length does not match
    for b in &cases {
        assert!(Message::decode(b).is_err(), "{b:?}");
    }
    // A method call without MEMBER, and a reply without REPLY_SERIAL, are refused both ways.
    let mut m = hello();
    m.member = None;
    assert!(m.encode().is_err());
    let mut r = Message::empty(MessageType::MethodReturn);
    r.serial = 1;
    assert!(r.encode().is_err());
    // Huge claimed lengths fail before any allocation.
    let mut huge = good.clone();
    huge[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(frame_len(&huge).is_err());
    assert!(frame_len(&good[..15]).is_err());
}

#[test]
fn truncated_and_mutated_messages_never_panic() {
    let mut m = Message::signal("/a", "b.c", "D").with_body(vec![
        Value::array(
            "(sv)",
            vec![Value::Struct(vec!["k".into(), Value::variant(1u64)])],
        ),
        Value::from("tail"),
    ]);
    m.serial = 3;
    let good = m.encode().unwrap();
    for n in 0..good.len() {
        assert!(Message::decode(&good[..n]).is_err());
    }
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    for _ in 0..20_000 {
        let mut b = good.clone();
        for _ in 0..3 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let i = (x % b.len() as u64) as usize;
            b[i] = (x >> 32) as u8;
        }
        let _ = frame_len(&b);
        let _ = Message::decode(&b);
    }
}
