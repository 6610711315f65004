//! Tests of the wire format: hand-checked layouts, round trips, and decoder robustness.

use super::*;

fn prop(name: &str, v: impl Into<Value>) -> Value {
    Value::Struct(vec![Value::from(name), Value::variant(v)])
}

/// A deterministic xorshift generator: reproducible "random" input without a dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn sample_values() -> Vec<Value> {
    vec![
        Value::Byte(7),
        Value::Bool(true),
        Value::Int16(-2),
        Value::UInt16(65535),
        Value::Int32(-100_000),
        Value::UInt32(4_000_000_000),
        Value::Int64(i64::MIN),
        Value::UInt64(u64::MAX),
        Value::Double(1.5),
        Value::from("héllo"),
        Value::object_path("/org/freedesktop/systemd1/unit/x_2escope"),
        Value::Signature("a(sv)".into()),
        Value::array(
            "(sv)",
            vec![
                prop("Delegate", true),
                prop("PIDs", Value::array("u", vec![1u32.into(), 2u32.into()])),
            ],
        ),
        Value::array("(sa(sv))", vec![]),
        Value::array(
            "{sv}",
            vec![Value::DictEntry(
                Box::new("k".into()),
                Box::new(Value::variant(3u64)),
            )],
        ),
        Value::Struct(vec![Value::Byte(1), Value::Struct(vec![Value::UInt64(2)])]),
        Value::variant(Value::variant(Value::array("ay", vec![]))),
        Value::array(
            "ay",
            vec![
                Value::array("y", vec![Value::Byte(1)]),
                Value::array("y", vec![]),
            ],
        ),
    ]
}

#[test]
fn round_trip_every_type() {
    let values = sample_values();
    let (bytes, sig) = encode_body(&values).unwrap();
    assert_eq!(sig, "ybnqiuxtdsoga(sv)a(sa(sv))a{sv}(y(t))vaay");
    assert_eq!(decode_body(&bytes, &sig).unwrap(), values);
    // Each value alone, too, so alignment from offset 0 is exercised for every type.
    for v in &values {
        let (b, s) = encode_body(std::slice::from_ref(v)).unwrap();
        assert_eq!(decode_body(&b, &s).unwrap(), vec![v.clone()], "{s}");
    }
}

#[test]
fn a_sv_with_uint64_variant_layout() {
    // a(sv) = [("A", <uint64 0x0102030405060708>)]
    let v = Value::array("(sv)", vec![prop("A", 0x0102_0304_0506_0708u64)]);
    let (b, sig) = encode_body(&[v]).unwrap();
    assert_eq!(sig, "a(sv)");
    #[rustfmt::skip]
    let want: &[u8] = &[
        24, 0, 0, 0,            // array length: from offset 8 to 32
        0, 0, 0, 0,             // padding to the struct's 8-byte alignment (not counted)
        1, 0, 0, 0, b'A', 0,    // s "A" at 8
        1, b't', 0,             // variant signature "t" at 14
        0, 0, 0, 0, 0, 0, 0,    // padding 17 -> 24 for the u64
        8, 7, 6, 5, 4, 3, 2, 1, // the u64 at 24
    ];
    assert_eq!(b, want);
}

#[test]
fn empty_array_keeps_element_padding() {
    // y then an empty a(sv): length at 4, then padding to 8 even though there are no elements.
    let (b, _) = encode_body(&[Value::Byte(9), Value::array("(sv)", vec![])]).unwrap();
    assert_eq!(b, [9, 0, 0, 0, 0, 0, 0, 0]);
    // An empty `at` after a u32 length at 0: padding 4 -> 8.
    let (b, _) = encode_body(&[Value::array("t", vec![])]).unwrap();
    assert_eq!(b, [0, 0, 0, 0, 0, 0, 0, 0]);
    // An empty `as` needs no padding beyond the length.
    let (b, _) = encode_body(&[Value::array("s", vec![])]).unwrap();
    assert_eq!(b, [0, 0, 0, 0]);
    assert_eq!(
        decode_body(&b, "as").unwrap(),
        vec![Value::array("s", vec![])]
    );
}

#[test]
fn big_endian_input() {
    let b = [0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9];
    let mut d = Decoder::new(&b, true);
    assert_eq!(
        d.get_all("ut").unwrap(),
        vec![Value::UInt32(5), Value::UInt64(9)]
    );
}

#[test]
fn encode_rejects_invalid_values() {
    let bad = [
        Value::array("s", vec![Value::UInt32(1)]),
        Value::array("", vec![]),
        Value::array("ss", vec![]),
        Value::object_path("not/a/path"),
        Value::from("nul\0inside"),
        Value::Struct(vec![]),
        Value::Signature("a".into()),
        Value::DictEntry(Box::new("k".into()), Box::new("v".into())),
        Value::array("{vs}", vec![]),
    ];
    for v in bad {
        assert!(encode_body(std::slice::from_ref(&v)).is_err(), "{v:?}");
    }
    // Variants nested past the spec's depth limit.
    let mut v = Value::Byte(0);
    for _ in 0..70 {
        v = Value::variant(v);
    }
    assert!(encode_body(&[v]).is_err());
}

#[test]
fn decode_rejects_invalid_input() {
    let cases: &[(&[u8], &str)] = &[
        (&[2, 0, 0, 0], "b"),                // boolean 2
        (&[1, 0, 0, 0, b'a', 1], "s"),       // missing NUL
        (&[1, 0, 0, 0, 0, 0], "s"),          // NUL inside
        (&[2, 0, 0, 0, 0xff, 0xfe, 0], "s"), // not UTF-8
        (&[1, 0, 0, 0, b'x', 0], "o"),       // bad object path
        (&[1, b'z', 0], "g"),                // bad signature
        (&[2, b's', b's', 0, 0], "v"),       // variant of two types
        (&[0xff, 0xff, 0xff, 0xff], "ay"),   // huge array
        (&[8, 0, 0, 0, 1], "ay"),            // array past the end
        (&[3, 0, 0, 0, 0, 0, 0, 0], "ai"),   // element overruns array
        (&[1, 0, 0, 0, 0], "u"),             // trailing bytes
        (&[], "y"),
    ];
    for (b, sig) in cases {
        assert!(decode_body(b, sig).is_err(), "{sig} {b:?}");
    }
    assert!(Decoder::new(&[0], false).get("").is_err());
    assert!(Decoder::new(&[0], false).get("(y").is_err());
}

#[test]
fn decode_bounds_variant_recursion() {
    // 1000 nested variants `v` -> `v` -> ...: must fail on depth, not overflow the stack.
    let mut b = Vec::new();
    for _ in 0..1000 {
        b.extend_from_slice(&[1, b'v', 0]);
    }
    b.extend_from_slice(&[1, b'y', 0, 7]);
    let e = decode_body(&b, "v").unwrap_err();
    assert!(e.to_string().contains("64"), "{e}");
}

#[test]
fn truncated_input_is_an_error() {
    let values = sample_values();
    let (bytes, sig) = encode_body(&values).unwrap();
    for n in 0..bytes.len() {
        assert!(decode_body(&bytes[..n], &sig).is_err(), "prefix {n}");
    }
}

#[test]
fn garbage_never_panics() {
    let values = sample_values();
    let (bytes, sig) = encode_body(&values).unwrap();
    let sigs = ["v", "a{sv}", "a(sv)", "(yv)", "aav", "s", "g", &sig];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..20_000 {
        // Half mutated valid encodings (deep structure), half pure noise.
        let buf: Vec<u8> = if rng.next() & 1 == 0 {
            let mut b = bytes.clone();
            for _ in 0..1 + rng.below(4) {
                let i = rng.below(b.len());
                b[i] = rng.next() as u8;
            }
            b.truncate(rng.below(b.len() + 1));
            b
        } else {
            (0..rng.below(64)).map(|_| rng.next() as u8).collect()
        };
        let s = sigs[rng.below(sigs.len())];
        let _ = decode_body(&buf, s);
        let _ = Decoder::new(&buf, true).get_all(s);
    }
}
