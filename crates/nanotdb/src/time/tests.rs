//! Tests of timestamps, durations and partition keys.

use super::*;
use proptest::prelude::*;

const T2026: i64 = 1_767_225_600_000_000_000; // 2026-01-01 00:00:00 UTC

fn ts(s: &str) -> i64 {
    match parse_timestamp(s) {
        Ok(v) => v,
        Err(e) => panic!("{s:?}: {e}"),
    }
}

#[test]
fn civil_round_trip_known_dates() {
    assert_eq!(days_from_civil(1970, 1, 1), 0);
    assert_eq!(days_from_civil(2026, 1, 1), 20454);
    assert_eq!(civil_from_days(20454), (2026, 1, 1));
    assert_eq!(civil_from_days(-1), (1969, 12, 31));
    assert_eq!(days_from_civil(2000, 3, 1), 11017);
    assert_eq!(civil_from_days(11016), (2000, 2, 29));
    for d in -200_000..200_000 {
        let (y, m, dd) = civil_from_days(d);
        assert_eq!(days_from_civil(y, m, dd), d);
    }
}

#[test]
fn raw_integer_timestamps() {
    assert_eq!(ts("1767225600000000000"), T2026);
    assert_eq!(ts("  -5 "), -5);
    assert_eq!(ts("+5"), 5);
    assert_eq!(ts("0"), 0);
    assert_eq!(ts("9223372036854775807"), i64::MAX);
    assert_eq!(ts("-9223372036854775808"), i64::MIN);
    assert_eq!(ts("2026"), 2026);
    assert_eq!(
        parse_timestamp("9223372036854775808"),
        Err(TimeError::InvalidTimestamp("9223372036854775808".into()))
    );
}

#[test]
fn human_timestamps() {
    assert_eq!(ts("2026-01-01 00:00:04"), T2026 + 4 * NS_PER_SEC);
    assert_eq!(ts("2026-01-01 00:00:04.5"), T2026 + 4_500_000_000);
    assert_eq!(ts("2026-01-01"), T2026);
    assert_eq!(ts("2026-01-01 1"), T2026 + 3600 * NS_PER_SEC);
    assert_eq!(ts("2026-01-01 01"), T2026 + 3600 * NS_PER_SEC);
    assert_eq!(
        ts("2026-01-01 23:59"),
        T2026 + (23 * 3600 + 59 * 60) * NS_PER_SEC
    );
    assert_eq!(ts("2024-05-06 12:53:20"), 1_714_999_999_999_999_999 + 1);
    assert_eq!(ts("2024-02-29"), days_from_civil(2024, 2, 29) * NS_PER_DAY);
    assert_eq!(ts("2026-01-01 00:00:00.123456789"), T2026 + 123_456_789);
    assert_eq!(ts("2026-01-01 00:00:00.1234567891234"), T2026 + 123_456_789);
    // Quirks: characters after the 9th unchecked, empty fraction, signed fraction,
    // fraction after a date-only base (nanoseconds, not a fraction of the day).
    assert_eq!(ts("2026-01-01 00:00:00.123456789xyz"), T2026 + 123_456_789);
    assert_eq!(ts("2026-01-01 00:00:56."), T2026 + 56 * NS_PER_SEC);
    // The sign takes one of the 9 characters: "-5" pads to "-50000000" (50 ms).
    assert_eq!(
        ts("2026-01-01 00:00:01.-5"),
        T2026 + NS_PER_SEC - 50_000_000
    );
    assert_eq!(
        ts("2026-01-01 00:00:01.+5"),
        T2026 + NS_PER_SEC + 50_000_000
    );
    assert_eq!(ts("2026-01-01.5"), T2026 + 500_000_000);
    assert_eq!(
        ts("2026-01-01 12.5"),
        T2026 + 12 * 3600 * NS_PER_SEC + 500_000_000
    );
    // Go time.Parse's fractional second inside the base (comma, or a second '.').
    assert_eq!(ts("2026-01-01 00:00:00,25"), T2026 + 250_000_000);
    assert_eq!(ts("2026-01-01 00:00:00.5.3"), T2026 + 800_000_000);
    // Year 0000 and 9999 are syntactically fine but out of the i64 range.
    assert_eq!(
        parse_timestamp("9999-01-01"),
        Err(TimeError::TimestampOutOfRange("9999-01-01".into()))
    );
    assert_eq!(ts("1677-09-21 00:12:43.145224192"), i64::MIN);
    assert_eq!(ts("2262-04-11 23:47:16.854775807"), i64::MAX);
}

#[test]
fn rejected_timestamps() {
    for bad in [
        "",
        "   ",
        "1715000000.5",
        "2026-05-14T12:00:00Z",
        "2026-05-14T12:00:00",
        "2026-05-14 12:00:00Z",
        "2026-05-14 12:00:00+02:00",
        "2026-5-14",
        "2026-05-4",
        "26-05-14",
        "2026-13-01",
        "2026-00-01",
        "2026-02-29",
        "2026-04-31",
        "2026-01-00",
        "2026-01-01 24",
        "2026-01-01 123",
        "2026-01-01 12:60",
        "2026-01-01 12:00:60",
        "2026-01-01 12:0",
        "2026-01-01  12",
        "2026-01-01 12:00:00:00",
        "2026-01-01 12:00:00.5x",
        "2026-01-01 12:00:00. 5",
        "2026-01-01 12:00:00,",
        "2026-01-01 12:00,5",
        "1_000",
        "0x10",
        "2026-01-01 12:00:00.--5",
        "# x",
    ] {
        assert_eq!(
            parse_timestamp(bad),
            Err(TimeError::InvalidTimestamp(bad.to_owned())),
            "{bad:?}"
        );
    }
    assert_eq!(
        TimeError::InvalidTimestamp("a\"b".into()).to_string(),
        r#"invalid timestamp "a\"b""#
    );
}

#[test]
fn format_timestamps() {
    assert_eq!(format_timestamp_string(0), "1970-01-01 00:00:00.000000000");
    assert_eq!(format_timestamp_string(-1), "1969-12-31 23:59:59.999999999");
    assert_eq!(
        format_timestamp_string(-1_000_000_000),
        "1969-12-31 23:59:59.000000000"
    );
    assert_eq!(
        format_timestamp_string(1_715_000_000_000_000_000),
        "2024-05-06 12:53:20.000000000"
    );
    assert_eq!(
        format_timestamp_string(T2026 + 4_500_000_000),
        "2026-01-01 00:00:04.500000000"
    );
    assert_eq!(
        format_timestamp_string(T2026 + 123_456_789),
        "2026-01-01 00:00:00.123456789"
    );
    assert_eq!(
        format_timestamp_string(i64::MIN),
        "1677-09-21 00:12:43.145224192"
    );
    assert_eq!(
        format_timestamp_string(i64::MAX),
        "2262-04-11 23:47:16.854775807"
    );
    let mut v = b"x ".to_vec();
    write_timestamp(T2026, &mut v);
    assert_eq!(v, b"x 2026-01-01 00:00:00.000000000");
    let mut s = String::from("y");
    format_timestamp(1, &mut s);
    assert_eq!(s, "y1970-01-01 00:00:00.000000001");
}

#[test]
fn rfc3339() {
    assert_eq!(format_rfc3339(T2026), "2026-01-01T00:00:00Z");
    assert_eq!(
        format_rfc3339(T2026 + 500_000_000),
        "2026-01-01T00:00:00.5Z"
    );
    assert_eq!(format_rfc3339(T2026 + 1), "2026-01-01T00:00:00.000000001Z");
    assert_eq!(
        format_rfc3339(T2026 + 120_000),
        "2026-01-01T00:00:00.00012Z"
    );
    assert_eq!(format_rfc3339(-1), "1969-12-31T23:59:59.999999999Z");
    assert_eq!(format_rfc3339(i64::MIN), "1677-09-21T00:12:43.145224192Z");
}

#[test]
fn go_duration_parse() {
    let ok = |s: &str| match parse_go_duration(s) {
        Ok(v) => v,
        Err(e) => panic!("{s:?}: {e}"),
    };
    const S: i64 = 1_000_000_000;
    assert_eq!(ok("1h30m"), 5400 * S);
    assert_eq!(ok("1.5h"), 5400 * S);
    assert_eq!(ok("-5m"), -300 * S);
    assert_eq!(ok("+5m"), 300 * S);
    assert_eq!(ok("250ms"), 250_000_000);
    assert_eq!(ok(".5s"), S / 2);
    assert_eq!(ok("5.s"), 5 * S);
    assert_eq!(ok("1ns"), 1);
    assert_eq!(ok("1us"), 1000);
    assert_eq!(ok("1µs"), 1000);
    assert_eq!(ok("1μs"), 1000);
    assert_eq!(ok("0"), 0);
    assert_eq!(ok("-0"), 0);
    assert_eq!(ok("+0"), 0);
    assert_eq!(ok("0s"), 0);
    assert_eq!(ok("1h1m1s1ms1us1ns"), 3_661_001_001_001);
    assert_eq!(ok("2h45m"), 9900 * S);
    assert_eq!(ok("1.0000000001s"), S);
    assert_eq!(ok("9223372036854775807ns"), i64::MAX);
    assert_eq!(ok("-9223372036854775808ns"), i64::MIN);
    assert_eq!(ok("2562047h47m16.854775807s"), i64::MAX);
    assert_eq!(ok("1s1s"), 2 * S);
    // Go quirk: 2^63 + 2^63 wraps to 0 in its uint64 accumulator.
    assert_eq!(ok("9223372036854775808ns9223372036854775808ns"), 0);
    let inv = |s: &str| TimeError::InvalidDuration(s.to_owned());
    for bad in [
        "",
        "-",
        "+",
        ".s",
        "-.s",
        " 1s",
        "9223372036854775808ns",
        "3000000h",
        "2562047h47m16.854775808s",
        "x",
    ] {
        assert_eq!(parse_go_duration(bad), Err(inv(bad)), "{bad:?}");
    }
    assert_eq!(
        parse_go_duration("1"),
        Err(TimeError::MissingUnit("1".into()))
    );
    assert_eq!(
        parse_go_duration("00"),
        Err(TimeError::MissingUnit("00".into()))
    );
    assert_eq!(
        parse_go_duration("1h5"),
        Err(TimeError::MissingUnit("1h5".into()))
    );
    assert_eq!(
        parse_go_duration("1e3s"),
        Err(TimeError::UnknownUnit {
            unit: "e".into(),
            input: "1e3s".into()
        })
    );
    assert_eq!(
        parse_go_duration("1.5.5s"),
        Err(TimeError::MissingUnit("1.5.5s".into()))
    );
    assert_eq!(
        parse_go_duration("1d"),
        Err(TimeError::UnknownUnit {
            unit: "d".into(),
            input: "1d".into()
        })
    );
    assert_eq!(
        parse_go_duration("1h 30m"),
        Err(TimeError::UnknownUnit {
            unit: "h ".into(),
            input: "1h 30m".into()
        })
    );
    assert_eq!(
        parse_go_duration("1d").map_err(|e| e.to_string()),
        Err(r#"time: unknown unit "d" in duration "1d""#.to_owned())
    );
    assert_eq!(
        parse_go_duration("x").map_err(|e| e.to_string()),
        Err(r#"time: invalid duration "x""#.to_owned())
    );
    assert_eq!(
        parse_go_duration("5").map_err(|e| e.to_string()),
        Err(r#"time: missing unit in duration "5""#.to_owned())
    );
}

#[test]
fn ext_duration_parse() {
    const H: i64 = 3_600_000_000_000;
    assert_eq!(parse_ext_duration("1d"), Ok(24 * H));
    assert_eq!(parse_ext_duration("2w"), Ok(336 * H));
    assert_eq!(parse_ext_duration("1.5d"), Ok(36 * H));
    assert_eq!(parse_ext_duration("1w2d3h"), Ok(219 * H));
    assert_eq!(parse_ext_duration("-1d"), Ok(-24 * H));
    assert_eq!(parse_ext_duration("0"), Ok(0));
    assert_eq!(parse_ext_duration("90m"), Ok(90 * 60_000_000_000));
    assert_eq!(
        parse_ext_duration("1y"),
        Err(TimeError::UnknownUnit {
            unit: "y".into(),
            input: "1y".into()
        })
    );
    assert_eq!(
        parse_ext_duration("1000000w"),
        Err(TimeError::InvalidDuration("1000000w".into()))
    );
}

#[test]
fn go_duration_format() {
    const S: i64 = 1_000_000_000;
    let cases: &[(i64, &str)] = &[
        (0, "0s"),
        (1, "1ns"),
        (999, "999ns"),
        (1000, "1µs"),
        (1500, "1.5µs"),
        (1_000_000, "1ms"),
        (250_000_000, "250ms"),
        (1_500_000, "1.5ms"),
        (S, "1s"),
        (3 * S / 2, "1.5s"),
        (60 * S, "1m0s"),
        (300 * S, "5m0s"),
        (-300 * S, "-5m0s"),
        (3600 * S, "1h0m0s"),
        (5400 * S, "1h30m0s"),
        (168 * 3600 * S, "168h0m0s"),
        (-1, "-1ns"),
        (i64::MAX, "2562047h47m16.854775807s"),
        (i64::MIN, "-2562047h47m16.854775808s"),
        (S + 1, "1.000000001s"),
    ];
    for &(ns, want) in cases {
        assert_eq!(format_go_duration(ns), want, "{ns}");
    }
}

#[test]
fn partition_modes() {
    assert_eq!(PartitionMode::parse(" Day "), Ok(PartitionMode::Day));
    assert_eq!("MONTH".parse::<PartitionMode>(), Ok(PartitionMode::Month));
    assert_eq!("year".parse::<PartitionMode>(), Ok(PartitionMode::Year));
    assert_eq!(
        "forever\n".parse::<PartitionMode>(),
        Ok(PartitionMode::Forever)
    );
    assert_eq!(
        "week".parse::<PartitionMode>(),
        Err(TimeError::InvalidPartitionMode("week".into()))
    );
    let codes: Vec<u8> = [
        PartitionMode::Day,
        PartitionMode::Month,
        PartitionMode::Year,
        PartitionMode::Forever,
    ]
    .iter()
    .map(|m| m.code())
    .collect();
    assert_eq!(codes, [1, 2, 3, 4]);
    assert_eq!(PartitionMode::from_code(3), Some(PartitionMode::Year));
    assert_eq!(PartitionMode::from_code(0), None);
    assert_eq!(PartitionMode::Month.to_string(), "month");
}

#[test]
fn partition_keys_and_bounds() {
    let t = ts("2026-05-14 12:00:00");
    assert_eq!(partition_key(PartitionMode::Day, t), "2026-05-14");
    assert_eq!(partition_key(PartitionMode::Month, t), "2026-05");
    assert_eq!(partition_key(PartitionMode::Year, t), "2026");
    assert_eq!(partition_key(PartitionMode::Forever, t), "forever");
    assert_eq!(partition_key(PartitionMode::Day, -1), "1969-12-31");
    assert_eq!(partition_key(PartitionMode::Year, i64::MIN), "1677");
    assert_eq!(
        partition_bounds(PartitionMode::Day, t),
        (ts("2026-05-14"), ts("2026-05-15"))
    );
    assert_eq!(
        partition_bounds(PartitionMode::Month, t),
        (ts("2026-05-01"), ts("2026-06-01"))
    );
    assert_eq!(
        partition_bounds(PartitionMode::Month, ts("2026-12-31 23")),
        (ts("2026-12-01"), ts("2027-01-01"))
    );
    assert_eq!(
        partition_bounds(PartitionMode::Year, t),
        (ts("2026-01-01"), ts("2027-01-01"))
    );
    assert_eq!(
        partition_bounds(PartitionMode::Forever, t),
        (i64::MIN, i64::MAX)
    );
    assert_eq!(partition_bounds(PartitionMode::Day, -1), (-NS_PER_DAY, 0));
    assert_eq!(
        partition_bounds(PartitionMode::Year, i64::MIN),
        (i64::MIN, ts("1678-01-01"))
    );
    assert_eq!(
        partition_bounds(PartitionMode::Year, i64::MAX),
        (ts("2262-01-01"), i64::MAX)
    );

    assert_eq!(
        parse_partition_key("2026-05-14"),
        Some((PartitionMode::Day, ts("2026-05-14"), ts("2026-05-15")))
    );
    assert_eq!(
        parse_partition_key("2024-02"),
        Some((PartitionMode::Month, ts("2024-02-01"), ts("2024-03-01")))
    );
    assert_eq!(
        parse_partition_key("2026"),
        Some((PartitionMode::Year, ts("2026-01-01"), ts("2027-01-01")))
    );
    assert_eq!(
        parse_partition_key("forever"),
        Some((PartitionMode::Forever, i64::MIN, i64::MAX))
    );
    assert_eq!(
        parse_partition_key("0001"),
        Some((PartitionMode::Year, i64::MIN, i64::MIN))
    );
    for bad in [
        "",
        "Forever",
        "2026-5",
        "2026-13",
        "2026-00",
        "2026-02-29",
        "2026-05-14 ",
        "26",
        "2026-05-1x",
        "2026/05",
        "+026",
        "2026-05-014",
    ] {
        assert_eq!(parse_partition_key(bad), None, "{bad:?}");
    }
}

#[test]
fn now_is_recent() {
    let n = now_ns();
    assert!(n > T2026 - 365 * NS_PER_DAY, "{n}");
}

proptest! {
    #[test]
    fn timestamp_round_trip(t in any::<i64>()) {
        let s = format_timestamp_string(t);
        prop_assert_eq!(parse_timestamp(&s), Ok(t));
    }

    #[test]
    fn partition_key_matches_bounds(t in any::<i64>(), m in 0u8..4) {
        let mode = [PartitionMode::Day, PartitionMode::Month, PartitionMode::Year, PartitionMode::Forever][m as usize];
        let (start, end) = partition_bounds(mode, t);
        prop_assert!(start <= t && (t < end || end == i64::MAX));
        let key = partition_key(mode, t);
        prop_assert_eq!(parse_partition_key(&key), Some((mode, start, end)));
        if start != i64::MIN {
            prop_assert_eq!(partition_key(mode, start), key.clone());
            prop_assert_ne!(partition_key(mode, start - 1), key.clone());
        }
        if end != i64::MAX {
            prop_assert_ne!(partition_key(mode, end), key);
        }
    }

    #[test]
    fn parsers_never_panic(s in "[0-9 .,:+-]{0,30}", u in "[0-9.hmsuµnwd+-]{0,24}") {
        let _ = parse_timestamp(&s);
        let _ = parse_timestamp(&format!("2026-01-01 {s}"));
        let _ = parse_go_duration(&u);
        let _ = parse_ext_duration(&u);
        let _ = parse_partition_key(&s);
    }

    #[test]
    fn go_duration_round_trip(d in any::<i64>()) {
        let s = format_go_duration(d);
        prop_assert_eq!(parse_go_duration(&s), Ok(d));
        prop_assert_eq!(parse_ext_duration(&s), Ok(d));
    }

    #[test]
    fn integers_parse_as_the_standard_parser_does(
        n in any::<i64>(),
        junk in proptest::option::of((0usize..25, "[^0-9]")),
        sign in proptest::option::of("[+-]"),
        zeros in 0usize..4,
    ) {
        // Every length around the 8-digit steps, leading zeros, signs and
        // a non-digit anywhere: the same verdict as i64::from_str.
        let digits = n.unsigned_abs().to_string();
        let mut text = format!("{}{}{digits}", sign.unwrap_or_default(), "0".repeat(zeros));
        if let Some((at, c)) = junk {
            let at = at.min(text.len());
            text.insert_str(at, &c);
        }
        prop_assert_eq!(parse::parse_i64_dec(text.as_bytes()), text.parse::<i64>().ok(), "{}", text);
    }
}
