//! Tests of line parsing and the export line writer.

use super::*;
use proptest::prelude::*;

const T2026: i64 = 1_767_225_600_000_000_000;

fn f(tok: &str) -> f32 {
    match parse_value(tok) {
        Ok(Value::F32(v)) => v,
        other => panic!("{tok:?}: {other:?}"),
    }
}

fn kind(tok: &str) -> LineErrorKind {
    match parse_value(tok) {
        Err(e) => e.kind(),
        Ok(v) => panic!("{tok:?} unexpectedly parsed as {v:?}"),
    }
}

fn line_err(line: &str) -> LineError {
    match parse_line(line) {
        Err(e) => e,
        Ok(l) => panic!("{line:?} unexpectedly parsed as {l:?}"),
    }
}

#[test]
fn basic_lines() {
    assert_eq!(
        parse_line("db/cpu 21.5 1767225600000000000"),
        Ok(Line {
            db: "db",
            metric: "cpu",
            value: Value::F32(21.5),
            ts: Some(T2026)
        })
    );
    assert_eq!(
        parse_line("  db/cpu\t42i  \r\n"),
        Ok(Line {
            db: "db",
            metric: "cpu",
            value: Value::I32(42),
            ts: None
        })
    );
    assert_eq!(
        parse_line("db/a/b/ 1 5"),
        Ok(Line {
            db: "db",
            metric: "a/b/",
            value: Value::F32(1.0),
            ts: Some(5)
        })
    );
    assert_eq!(
        parse_line("t/human.ts 6 2026-01-01 00:00:04.5"),
        Ok(Line {
            db: "t",
            metric: "human.ts",
            value: Value::F32(6.0),
            ts: Some(T2026 + 4_500_000_000)
        })
    );
    assert_eq!(
        parse_line("t/h 6 2026-01-01\t\t00:00:04"),
        Ok(Line {
            db: "t",
            metric: "h",
            value: Value::F32(6.0),
            ts: Some(T2026 + 4_000_000_000)
        })
    );
    // Vertical tab and form feed are whitespace (Rust's and Go's definition).
    assert_eq!(
        parse_line("d/m\x0b1\x0c2"),
        Ok(Line {
            db: "d",
            metric: "m",
            value: Value::F32(1.0),
            ts: Some(2)
        })
    );
    // 0x1C..0x1F are not whitespace: they stay inside the target.
    assert_eq!(line_err("d/m\x1c1").kind(), LineErrorKind::Fields);
}

#[test]
fn unicode_whitespace_lines() {
    assert_eq!(
        parse_line("d/m\u{a0}1\u{85}2\u{3000}"),
        Ok(Line {
            db: "d",
            metric: "m",
            value: Value::F32(1.0),
            ts: Some(2)
        })
    );
    assert_eq!(
        parse_line("dé/mé 1 2026-01-01\u{2003}00:00:01"),
        Ok(Line {
            db: "dé",
            metric: "mé",
            value: Value::F32(1.0),
            ts: Some(T2026 + 1_000_000_000)
        })
    );
}

#[test]
fn line_errors() {
    let e = line_err("db/m");
    assert_eq!(e.kind(), LineErrorKind::Fields);
    assert_eq!(
        e.to_string(),
        "invalid line protocol: expected 'DB/metric value [ts]'"
    );
    assert_eq!(line_err("").kind(), LineErrorKind::Fields);
    assert_eq!(line_err("   \t").kind(), LineErrorKind::Fields);
    for (line, target) in [
        ("db 1", "db"),
        ("/m 1", "/m"),
        ("db/ 1", "db/"),
        ("/ 1", "/"),
    ] {
        let e = line_err(line);
        assert_eq!(e.kind(), LineErrorKind::Target, "{line:?}");
        assert_eq!(e.text(), target);
    }
    assert_eq!(
        line_err("x 1").to_string(),
        r#"invalid target "x": expected DB/metric"#
    );
    let e = line_err("db/m 1 # x");
    assert_eq!(e.kind(), LineErrorKind::Timestamp);
    assert_eq!(e.text(), "# x");
    assert_eq!(e.to_string(), r##"invalid timestamp "# x""##);
    let e = line_err("db/m 1 1715000000.5");
    assert_eq!(e.to_string(), r#"invalid timestamp "1715000000.5""#);
    // Value errors come before timestamp errors.
    assert_eq!(line_err("db/m x y").kind(), LineErrorKind::FloatValue);
    // A bad value followed by a number: a bad value, or a name with a space.
    let e = line_err("edge/has space 1");
    assert_eq!(e.kind(), LineErrorKind::SpaceInName);
    assert_eq!(
        e.to_string(),
        r#"invalid numeric value "space" (or a metric name with a space, "edge/has space": names cannot contain whitespace)"#
    );
    let e = line_err("d/m 1 1715000000 extra");
    assert_eq!(e.kind(), LineErrorKind::TooManyFields);
    assert!(
        e.to_string()
            .starts_with(r#"too many fields in "d/m 1 1715000000 extra""#)
    );
    assert_eq!(
        line_err("d/m 1 2026-01-01 25:00").text(),
        "2026-01-01 25:00"
    );
}

#[test]
fn int_values() {
    assert_eq!(parse_value("42i"), Ok(Value::I32(42)));
    assert_eq!(parse_value("-7i"), Ok(Value::I32(-7)));
    assert_eq!(parse_value("+7i"), Ok(Value::I32(7)));
    assert_eq!(parse_value("007i"), Ok(Value::I32(7)));
    assert_eq!(parse_value("-0i"), Ok(Value::I32(0)));
    assert_eq!(parse_value("2147483647i"), Ok(Value::I32(i32::MAX)));
    assert_eq!(parse_value("-2147483648i"), Ok(Value::I32(i32::MIN)));
    for tok in ["2147483648i", "-2147483649i", "9223372036854775807i"] {
        assert_eq!(kind(tok), LineErrorKind::IntRange, "{tok:?}");
    }
    for tok in [
        "i",
        "1.5i",
        "Infi",
        "1e3i",
        "1_000i",
        "0x10i",
        "+i",
        "- 1i",
        "9223372036854775808i",
        "ii",
    ] {
        assert_eq!(kind(tok), LineErrorKind::IntValue, "{tok:?}");
    }
    assert_eq!(
        parse_value("1.5i").map_err(|e| e.to_string()),
        Err(r#"invalid int value "1.5i""#.to_owned())
    );
    assert_eq!(
        parse_value("2147483648i").map_err(|e| e.to_string()),
        Err(r#"int value out of int32 range "2147483648i""#.to_owned())
    );
}

#[test]
fn float_values() {
    assert_eq!(f("42"), 42.0);
    assert_eq!(f("1e3"), 1000.0);
    assert_eq!(f("21.5"), 21.5);
    assert_eq!(f("16777217"), 16_777_216.0);
    assert_eq!(f("16777219"), 16_777_220.0);
    assert_eq!(f("1.5e-45").to_bits(), 1);
    assert_eq!(f("0.7e-45").to_bits(), 0); // just below half the smallest denormal
    assert_eq!(f("0.8e-45").to_bits(), 1);
    assert_eq!(f("1e-50").to_bits(), 0);
    assert_eq!(f("-1e-50").to_bits(), 0x8000_0000);
    assert_eq!(f("-0.0").to_bits(), 0x8000_0000);
    assert_eq!(f("-0").to_bits(), 0x8000_0000);
    assert_eq!(f("0.1"), 0.1f32);
    assert_eq!(f("3.4028235e38"), f32::MAX);
    assert_eq!(f("340282356779733661637539395458142568447"), f32::MAX);
    assert_eq!(
        kind("340282356779733661637539395458142568448"),
        LineErrorKind::FloatValue
    );
    assert_eq!(kind("3.5e38"), LineErrorKind::FloatValue);
    assert_eq!(kind("-3.5e38"), LineErrorKind::FloatValue);
    assert_eq!(kind("1e99999999999999999999"), LineErrorKind::FloatValue);
    assert_eq!(f("0e99999999999999999999"), 0.0);
    assert_eq!(f("1e-99999999999999999999"), 0.0);
    assert_eq!(f("5."), 5.0);
    assert_eq!(f(".5"), 0.5);
    assert_eq!(f("+.5"), 0.5);
    assert_eq!(f("-5."), -5.0);
    assert_eq!(f("1E+2"), 100.0);
    assert_eq!(f("1e-2"), 0.01);
    assert_eq!(f("000.0001"), 0.0001);
    assert_eq!(f("1_000.5"), 1000.5);
    // Go syntax variants that miss the exact fast path must also pass Rust's parser.
    assert_eq!(f("16777217."), 16_777_216.0);
    assert_eq!(f("+16777217"), 16_777_216.0);
    assert_eq!(f(".16777217e8"), 16_777_216.0);
    assert_eq!(f("-.16777217E+8"), -16_777_216.0);
    assert_eq!(f("1e00000000000000000000000000001"), 10.0);
    assert_eq!(f("1_6777217"), 16_777_216.0);
    assert_eq!(f("1.5e-4_5").to_bits(), 1);
    assert_eq!(kind("1e400"), LineErrorKind::FloatValue);
    assert_eq!(f("1_0e1_0"), 1e11);
    assert_eq!(f("0_1"), 1.0);
    // Long mantissas (truncated past 19 digits) still round correctly.
    assert_eq!(f("1.00000005960464477539062500000000000001"), 1.000_000_1);
    assert_eq!(f("1.000000059604644775390625"), 1.0);
    for tok in [
        "",
        ".",
        "-",
        "+",
        "1e",
        "1e+",
        "e5",
        ".e5",
        "1__0",
        "_1",
        "1_",
        "1_.5",
        "1._5",
        "1_e5",
        "+_1",
        "1.5.5",
        "1,5",
        "0x1.8",
        "0x",
        "0x1p",
        "0xp1",
        "0x.p1",
        "1e5.3",
        "+nan",
        "-nan",
        "nan1",
        "infin",
        "infinit",
        "Infinityx",
        "++1",
        "1 ",
        "0b101",
        "0o7",
        "１",
    ] {
        assert_eq!(kind(tok), LineErrorKind::FloatValue, "{tok:?}");
    }
    assert_eq!(
        parse_value("abc").map_err(|e| e.to_string()),
        Err(r#"invalid numeric value "abc""#.to_owned())
    );
}

#[test]
fn special_values() {
    assert!(f("NaN").is_nan());
    assert!(f("nan").is_nan());
    assert!(f("nAn").is_nan());
    for tok in ["inf", "+Inf", "INF", "infinity", "+Infinity", "iNfInItY"] {
        assert_eq!(f(tok), f32::INFINITY, "{tok:?}");
    }
    for tok in ["-inf", "-Inf", "-INFINITY"] {
        assert_eq!(f(tok), f32::NEG_INFINITY, "{tok:?}");
    }
}

#[test]
fn hex_values() {
    assert_eq!(f("0x1.8p3"), 12.0);
    assert_eq!(f("0X1P-2"), 0.25);
    assert_eq!(f("-0x1p0"), -1.0);
    assert_eq!(f("0x.8p1"), 1.0);
    assert_eq!(f("0x1.p1"), 2.0);
    assert_eq!(f("0x_1p0"), 1.0);
    assert_eq!(f("0x1p1_0"), 1024.0);
    assert_eq!(f("0xABCp0"), 2748.0);
    assert_eq!(f("0x1.fffffep127"), f32::MAX);
    assert_eq!(kind("0x1.ffffffp127"), LineErrorKind::FloatValue); // rounds up to 2^128
    assert_eq!(kind("0x1p128"), LineErrorKind::FloatValue);
    assert_eq!(f("0x1p-149").to_bits(), 1);
    assert_eq!(f("0x1p-150").to_bits(), 0); // tie → even (0)
    assert_eq!(f("0x1.8p-150").to_bits(), 1);
    assert_eq!(f("0x1p-126"), f32::MIN_POSITIVE);
    assert_eq!(f("0x1000001p0"), 16_777_216.0); // tie → even
    assert_eq!(f("0x1000003p0"), 16_777_220.0); // tie → even (up)
    // 2^20 + 2^-4 (half an ulp) + a dropped low bit: the sticky bit forces rounding up.
    assert_eq!(f("0x1000001000000000000001p-64"), 1_048_576.0 + 0.125);
    assert_eq!(f("0x1000001000000000000000p-64"), 1_048_576.0);
    assert_eq!(f("0x0p99999"), 0.0);
    assert_eq!(f("-0x0p0").to_bits(), 0x8000_0000);
}

#[test]
fn write_values() {
    let w = |v: Value| {
        let mut out = Vec::new();
        write_value(&mut out, v);
        String::from_utf8(out).unwrap_or_default()
    };
    assert_eq!(w(Value::I32(-7)), "-7i");
    assert_eq!(w(Value::I32(0)), "0i");
    assert_eq!(w(Value::I32(i32::MIN)), "-2147483648i");
    assert_eq!(w(Value::I32(i32::MAX)), "2147483647i");
    assert_eq!(w(Value::F32(21.5)), "21.5");
    assert_eq!(w(Value::F32(0.1)), "0.1");
    assert_eq!(w(Value::F32(42.0)), "42");
    assert_eq!(w(Value::F32(1e-10)), "0.0000000001");
    assert_eq!(w(Value::F32(1e20)), "100000000000000000000");
    assert_eq!(w(Value::F32(-0.0)), "-0");
    assert_eq!(w(Value::F32(16_777_216.0)), "16777216");
    assert_eq!(w(Value::F32(f32::NAN)), "NaN");
    assert_eq!(w(Value::F32(f32::INFINITY)), "+Inf");
    assert_eq!(w(Value::F32(f32::NEG_INFINITY)), "-Inf");
    assert_eq!(
        w(Value::F32(f32::from_bits(1))),
        "0.000000000000000000000000000000000000000000001"
    );
}

#[test]
fn write_lines() {
    let mut out = Vec::new();
    write_line(&mut out, "t", "int.small", Value::I32(42), T2026);
    write_line(&mut out, "t", "a/b", Value::F32(-1.5), -1);
    assert_eq!(
        String::from_utf8_lossy(&out),
        "t/int.small 42i 2026-01-01 00:00:00.000000000\nt/a/b -1.5 1969-12-31 23:59:59.999999999\n"
    );
}

#[test]
fn f32_round_trip_strided() {
    // A deterministic sweep over the bit space (every sign/exponent, many mantissas).
    let mut bits: u32 = 0;
    loop {
        let v = f32::from_bits(bits);
        let mut out = Vec::new();
        write_value(&mut out, Value::F32(v));
        let text = String::from_utf8_lossy(&out).into_owned();
        match parse_value(&text) {
            Ok(Value::F32(back)) if v.is_nan() => assert!(back.is_nan(), "{text}"),
            Ok(Value::F32(back)) => assert_eq!(back.to_bits(), bits, "{text}"),
            other => panic!("{text} -> {other:?}"),
        }
        match bits.checked_add(65_521) {
            Some(b) => bits = b,
            None => break,
        }
    }
}

/// The original's export writes int32 without the `i`; map our output to compare.
fn reference_value_text(v: Value) -> String {
    let mut out = Vec::new();
    write_value(&mut out, v);
    let s = String::from_utf8_lossy(&out).into_owned();
    match v {
        Value::I32(_) | Value::I64(_) => s.trim_end_matches('i').to_owned(),
        Value::F32(_) | Value::F64(_) => s,
    }
}

#[test]
fn types_fixture() {
    let dir = crate::testutil::fixtures().join("types");
    let read = |name: &str| match std::fs::read_to_string(dir.join(name)) {
        Ok(s) => s,
        Err(e) => panic!("{name}: {e}"),
    };
    let (input, expected) = (read("input.lp"), read("expected-t.lp"));
    let mut got = String::new();
    let mut n = 0;
    for line in input.lines() {
        let l = match parse_line(line) {
            Ok(l) => l,
            Err(e) => panic!("{line:?}: {e}"),
        };
        let Some(ts) = l.ts else {
            panic!("{line:?} has no ts")
        };
        got.push_str(&format!(
            "{}/{} {} ",
            l.db,
            l.metric,
            reference_value_text(l.value)
        ));
        crate::time::format_timestamp(ts, &mut got);
        got.push('\n');
        n += 1;
    }
    assert_eq!(n, 17);
    assert_eq!(got, expected);
    // Spot-check the exact types and bits behind the text.
    assert_eq!(
        parse_line("t/int.small 42i 1").map(|l| l.value),
        Ok(Value::I32(42))
    );
    assert_eq!(
        parse_line("t/float.whole 42 1").map(|l| l.value),
        Ok(Value::F32(42.0))
    );
}

proptest! {
    #[test]
    fn f32_round_trip(bits in any::<u32>()) {
        let v = f32::from_bits(bits);
        let mut out = Vec::new();
        write_value(&mut out, Value::F32(v));
        let text = String::from_utf8_lossy(&out).into_owned();
        match parse_value(&text) {
            Ok(Value::F32(back)) if v.is_nan() => prop_assert!(back.is_nan()),
            Ok(Value::F32(back)) => prop_assert_eq!(back.to_bits(), bits, "{}", text),
            other => prop_assert!(false, "{} -> {:?}", text, other),
        }
    }

    #[test]
    fn i32_round_trip(n in any::<i32>()) {
        let mut out = Vec::new();
        write_value(&mut out, Value::I32(n));
        prop_assert_eq!(parse_value(&String::from_utf8_lossy(&out)), Ok(Value::I32(n)));
    }

    #[test]
    fn line_round_trip(
        db in "[A-Za-z0-9_.-]{1,12}",
        metric in "[A-Za-z0-9_./:-]{1,20}",
        bits in any::<u32>(),
        int in any::<i32>(),
        use_int in any::<bool>(),
        ts in any::<i64>(),
    ) {
        let v = if use_int { Value::I32(int) } else { Value::F32(f32::from_bits(bits)) };
        let mut out = Vec::new();
        write_line(&mut out, &db, &metric, v, ts);
        let text = String::from_utf8_lossy(&out).into_owned();
        let l = match parse_line(&text) {
            Ok(l) => l,
            Err(e) => return Err(TestCaseError::fail(format!("{text:?}: {e}"))),
        };
        prop_assert_eq!(l.db, db.as_str());
        prop_assert_eq!(l.metric, metric.as_str());
        prop_assert_eq!(l.ts, Some(ts));
        match (v, l.value) {
            (Value::F32(a), Value::F32(b)) if a.is_nan() => prop_assert!(b.is_nan()),
            (Value::F32(a), Value::F32(b)) => prop_assert_eq!(a.to_bits(), b.to_bits()),
            (a, b) => prop_assert_eq!(a, b),
        }
    }

    #[test]
    fn decimal_parse_matches_rust(bits in any::<u32>(), exp in -60i32..60) {
        // For underscore-free decimal literals the result must equal Rust's correctly
        // rounded parse (this exercises the fast path against the slow one).
        let v = f32::from_bits(bits & 0x7fff_ffff);
        prop_assume!(v.is_finite());
        let sci = format!("{v:e}");
        let mant = sci.split('e').next().unwrap_or("0");
        let text = format!("{mant}e{exp}");
        let want: f32 = match text.parse() { Ok(x) => x, Err(_) => return Ok(()) };
        match parse_value(&text) {
            Ok(Value::F32(got)) => prop_assert_eq!(got.to_bits(), want.to_bits()),
            Err(e) => prop_assert!(want.is_infinite(), "{}: {}", text, e),
            other => prop_assert!(false, "{:?}", other),
        }
    }

    #[test]
    fn plain_decimals_match_the_full_parser(
        neg in any::<bool>(),
        int in "[0-9]{0,12}",
        frac in proptest::option::of("[0-9]{0,12}"),
    ) {
        // The one-pass path for `[-]digits[.digits]` gives the bits Go's
        // readFloat + exact fast path (or the slow path) give, or declines.
        let text = format!("{}{int}{}", if neg { "-" } else { "" },
            frac.as_deref().map(|f| format!(".{f}")).unwrap_or_default());
        let valid = read_float(text.as_bytes()).and_then(|_| text.parse::<f32>().ok());
        if let Some(fast) = plain_decimal_f32(text.as_bytes()) {
            let Some(want) = valid else {
                return Err(TestCaseError::fail(format!("{text:?}: fast path took an invalid literal")));
            };
            prop_assert_eq!(fast.to_bits(), want.to_bits(), "{}", text);
        }
        // And whatever path it takes, parse_value agrees with Rust's parse.
        match (parse_value(&text), text.parse::<f32>()) {
            (Ok(Value::F32(got)), Ok(want)) => prop_assert_eq!(got.to_bits(), want.to_bits(), "{}", text),
            (Err(_), Err(_)) => {}
            (got, want) => prop_assert!(false, "{:?}: {:?} vs {:?}", text, got, want),
        }
    }

    #[test]
    fn ascii_trim_matches_trim(s in "[ \t\n\x0b\x0c\r\x1c\x1fa/1é]{0,30}") {
        let got = trim_ascii_ws(&s);
        if s.is_ascii() {
            prop_assert_eq!(got, s.trim());
        } else {
            prop_assert_eq!(got, s.trim_matches(|c: char| c.is_ascii() && c.is_whitespace()));
        }
    }

    #[test]
    fn ascii_fields_match_split_whitespace(s in "[ \t\n\x0b\x0c\r\x00\x01\x1c\x1f\x20\x21a/1~\x7f]{0,70}") {
        let fast: Vec<&str> = AsciiFields { s: &s, pos: 0 }.collect();
        let slow: Vec<&str> = s.split_whitespace().collect();
        prop_assert_eq!(fast, slow);
    }

    #[test]
    fn parse_value_never_panics(s in "[0-9a-fA-FxXpPeE._+-iInN]{0,30}") {
        let _ = parse_value(&s);
    }

    #[test]
    fn parse_line_never_panics(s in "\\PC{0,40}") {
        let _ = parse_line(&s);
    }
}

/// `v/m  <ts>` (the value left out, so two separators follow the name):
/// v1.4.0 stored the timestamp as the value; it is refused here. A single
/// separator, a timestamp field, an `i` suffix or fewer digits keep the
/// v1.4.0 reading.
#[test]
fn a_missing_value_is_refused_not_stored_as_the_timestamp() {
    for line in [
        "v/m  1767225600000000000",
        "v/m \t1767225600000000000",
        "v/m   -1767225600000000000",
    ] {
        let e = line_err(line);
        assert_eq!(e.kind(), LineErrorKind::ValueMissing, "{line:?}");
    }
    assert_eq!(
        line_err("v/m  1767225600000000000").to_string(),
        "value missing: \"1767225600000000000\" follows an empty field and looks like a nanosecond timestamp (write 'DB/metric value ts')"
    );
    for line in [
        "v/m 1767225600000000000",
        "v/m  176722560000000000",
        "v/m  1767225600000000000 1767225600000000000",
        "v/m  1.767225600000000000",
        "v/m  42",
    ] {
        assert!(parse_line(line).is_ok(), "{line:?}");
    }
    assert!(parse_line_in("m  1767225600000000000", "d").is_err());
}
