//! Tests of the GVariant text parser against the forms runc users write in annotations.

use super::*;

fn ok(text: &str) -> Value {
    match parse_variant(text) {
        Ok(v) => v,
        Err(e) => panic!("{text:?}: {e}"),
    }
}

fn arr(elem: &str, items: Vec<Value>) -> Value {
    Value::Array(elem.into(), items)
}

#[test]
fn booleans() {
    assert_eq!(ok("true"), Value::Bool(true));
    assert_eq!(ok("false"), Value::Bool(false));
    assert_eq!(ok("  boolean true "), Value::Bool(true));
    assert_eq!(ok("@b false"), Value::Bool(false));
}

#[test]
fn typed_numbers() {
    assert_eq!(ok("uint64 100"), Value::UInt64(100));
    assert_eq!(ok("uint32 5"), Value::UInt32(5));
    assert_eq!(ok("int64 -1"), Value::Int64(-1));
    assert_eq!(ok("int32 3"), Value::Int32(3));
    assert_eq!(ok("uint16 65535"), Value::UInt16(65535));
    assert_eq!(ok("int16 -32768"), Value::Int16(-32768));
    assert_eq!(ok("byte 255"), Value::Byte(255));
    assert_eq!(ok("byte 0x10"), Value::Byte(16));
    assert_eq!(ok("double 1.5"), Value::Double(1.5));
    assert_eq!(ok("double 2"), Value::Double(2.0));
    assert_eq!(ok("@t 100"), Value::UInt64(100));
    assert_eq!(ok("@u 5"), Value::UInt32(5));
    assert_eq!(ok("@x -9223372036854775808"), Value::Int64(i64::MIN));
    assert_eq!(ok("@t 18446744073709551615"), Value::UInt64(u64::MAX));
    assert_eq!(ok("@i +7"), Value::Int32(7));
    assert_eq!(ok("@q 010"), Value::UInt16(8)); // leading 0 is octal, as in godbus and GLib
    assert_eq!(ok("@d 1e3"), Value::Double(1000.0));
}

#[test]
fn untyped_numbers() {
    assert_eq!(ok("5"), Value::Int32(5));
    assert_eq!(ok("-2147483648"), Value::Int32(i32::MIN));
    assert_eq!(ok("2147483648"), Value::Int64(2_147_483_648));
    assert_eq!(ok("-9223372036854775808"), Value::Int64(i64::MIN));
    assert_eq!(ok("0.5"), Value::Double(0.5));
    assert_eq!(ok("1e2"), Value::Double(100.0));
    assert_eq!(ok("0xff"), Value::Int32(255));
}

#[test]
fn strings() {
    assert_eq!(
        ok("'inactive-or-failed'"),
        Value::from("inactive-or-failed")
    );
    assert_eq!(ok(r#""double quoted""#), Value::from("double quoted"));
    assert_eq!(ok(r#"'it\'s'"#), Value::from("it's"));
    assert_eq!(ok(r#""a \"b\"""#), Value::from("a \"b\""));
    assert_eq!(
        ok(r"'tab\there\nnl \\ \u00e9 \U0001F600'"),
        Value::from("tab\there\nnl \\ é 😀")
    );
    assert_eq!(ok("'héllo'"), Value::from("héllo"));
    assert_eq!(ok("\"it's\""), Value::from("it's"));
    assert_eq!(ok("string 'x'"), Value::from("x"));
    assert_eq!(ok("objectpath '/org/x'"), Value::object_path("/org/x"));
    assert_eq!(ok("@o '/'"), Value::object_path("/"));
    assert_eq!(ok("signature 'a(sv)'"), Value::Signature("a(sv)".into()));
    assert_eq!(
        ok("b'ab'"),
        arr(
            "y",
            vec![Value::Byte(b'a'), Value::Byte(b'b'), Value::Byte(0)]
        )
    );
}

#[test]
fn arrays() {
    assert_eq!(ok("['a', 'b']"), arr("s", vec!["a".into(), "b".into()]));
    assert_eq!(
        ok("[1, 2]"),
        arr("i", vec![Value::Int32(1), Value::Int32(2)])
    );
    assert_eq!(
        ok("[1, 5000000000]"),
        arr("x", vec![Value::Int64(1), Value::Int64(5_000_000_000)])
    );
    assert_eq!(
        ok("[1, 2.5]"),
        arr("d", vec![Value::Double(1.0), Value::Double(2.5)])
    );
    assert_eq!(ok("@as []"), arr("s", vec![]));
    assert_eq!(ok("@at []"), arr("t", vec![]));
    assert_eq!(ok("@a(sv) []"), arr("(sv)", vec![]));
    assert_eq!(
        ok("@at [1, 2]"),
        arr("t", vec![Value::UInt64(1), Value::UInt64(2)])
    );
    // A typed element types the untyped ones around it.
    assert_eq!(
        ok("[1, uint64 2]"),
        arr("t", vec![Value::UInt64(1), Value::UInt64(2)])
    );
    assert_eq!(
        ok("@ao ['/a', '/b']"),
        arr(
            "o",
            vec![Value::object_path("/a"), Value::object_path("/b")]
        )
    );
    assert_eq!(
        ok("[[1], @ai []]"),
        arr(
            "ai",
            vec![arr("i", vec![Value::Int32(1)]), arr("i", vec![])]
        )
    );
    assert_eq!(
        ok("[[], [2]]"),
        arr(
            "ai",
            vec![arr("i", vec![]), arr("i", vec![Value::Int32(2)])]
        )
    );
    assert_eq!(
        ok("[true,false]"),
        arr("b", vec![Value::Bool(true), Value::Bool(false)])
    );
    assert_eq!(
        ok("[<1>, <'x'>]"),
        arr("v", vec![Value::variant(1i32), Value::variant("x")])
    );
}

#[test]
fn typed_parse() {
    assert_eq!(parse_variant_as("100", "t").unwrap(), Value::UInt64(100));
    assert_eq!(
        parse_variant_as("['/a']", "ao").unwrap(),
        arr("o", vec![Value::object_path("/a")])
    );
    assert!(parse_variant_as("-1", "t").is_err());
    assert!(parse_variant_as("int32 1", "t").is_err());
    assert!(parse_variant_as("1", "zz").is_err());
}

#[test]
fn errors_are_clear() {
    let cases = [
        ("", "end of input"),
        ("[]", "empty array"),
        ("[1, 'a']", "different types"),
        ("['a', 1]", "cannot have type s"),
        ("uint64 -1", "out of range"),
        ("byte 256", "out of range"),
        ("int32 2147483648", "out of range"),
        ("uint64 1.5", "not an integer"),
        ("18446744073709551616", "out of range"),
        ("'unterminated", "unterminated string"),
        ("[1, 2", "unterminated array"),
        ("[1 2]", "expected ','"),
        ("yes", "unknown word"),
        ("uint64", "end of input"),
        ("uint64 uint64 1", "two type annotations"),
        ("@t", "end of input"),
        ("@zz 1", "type annotation"),
        ("@s 1", "cannot have type"),
        ("@t 'x'", "cannot have type"),
        ("true false", "after the value"),
        ("{'a': 1}", "dictionaries"),
        ("@a{sv} []", "dictionaries"),
        ("('a', 1)", "tuples"),
        ("objectpath 'not a path'", "not a valid object path"),
        ("signature 'a'", "not a valid signature"),
        (r"'\u12'", "escape"),
        (r"'\u0000'", "NUL"),
        ("12abc", "bad number"),
        ("08", "bad number"),
        ("0x", "bad number"),
        ("-", "bad number"),
        ("<1", "expected '>'"),
        ("%", "unexpected"),
    ];
    for (text, want) in cases {
        match parse_variant(text) {
            Ok(v) => panic!("{text:?} parsed as {v:?}"),
            Err(e) => {
                let msg = e.to_string();
                assert!(msg.contains(want), "{text:?}: {msg} (want {want:?})");
                assert!(
                    msg.contains(&format!("{text:?}")),
                    "{msg} should quote the input"
                );
            }
        }
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let text = "[".repeat(100_000);
    assert!(parse_variant(&text).is_err());
    let text = "<".repeat(100_000);
    assert!(parse_variant(&text).is_err());
}

#[test]
fn parsed_values_encode() {
    // Whatever the parser accepts must be a valid D-Bus value of the signature it reports.
    for text in [
        "uint64 100",
        "['a']",
        "@a(sv) []",
        "[<1>]",
        "b'x'",
        "objectpath '/x'",
        "[[1]]",
    ] {
        let v = ok(text);
        let (bytes, sig) = crate::marshal::encode_body(std::slice::from_ref(&v)).unwrap();
        assert_eq!(sig, v.signature());
        assert_eq!(crate::marshal::decode_body(&bytes, &sig).unwrap(), vec![v]);
    }
}
