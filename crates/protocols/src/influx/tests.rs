use super::*;
use crate::series::SeriesKey;
use proptest::prelude::*;

const NOW: i64 = 1_767_225_600_000_000_000;

fn body(text: &str, precision: Precision) -> ParsedBody {
    let opts = ParseOptions {
        precision,
        ..ParseOptions::default()
    };
    parse(text.as_bytes(), &opts, NOW)
}

fn ns(text: &str) -> ParsedBody {
    body(text, Precision::Nanoseconds)
}

fn summary(p: &ParsedBody) -> Vec<(usize, &str, i64, Number)> {
    p.samples
        .iter()
        .map(|s| (s.line, s.series.as_str(), s.timestamp_ns, s.value))
        .collect()
}

fn errors(p: &ParsedBody) -> Vec<String> {
    p.errors.iter().map(|e| e.to_string()).collect()
}

#[test]
fn telegraf_body() {
    let p = ns("# telegraf\r\n\
cpu,cpu=cpu-total,host=h usage_idle=98.2,usage_user=1.1 1700000000000000000\r\n\
mem,host=h available=25276182528i,used_percent=41.5 1700000000000000000\n\
\n\
disk,device=sda1,fstype=ext4,host=h,mode=rw,path=/ free=1234u,inodes_used=99i 1700000000000000000\n\
system,host=h uptime_format=\"1 day,  2:03\",load1=0.5 1700000000000000000\n\
  net,host=h,interface=eth0 err_in=0i,up=true\n");
    let t = 1_700_000_000_000_000_000;
    assert_eq!(
        summary(&p),
        vec![
            (
                2,
                "cpu_usage_idle{cpu=\"cpu-total\",host=\"h\"}",
                t,
                Number::F64(98.2)
            ),
            (
                2,
                "cpu_usage_user{cpu=\"cpu-total\",host=\"h\"}",
                t,
                Number::F64(1.1)
            ),
            (
                3,
                "mem_available{host=\"h\"}",
                t,
                Number::I64(25_276_182_528)
            ),
            (3, "mem_used_percent{host=\"h\"}", t, Number::F64(41.5)),
            (
                5,
                "disk_free{device=\"sda1\",fstype=\"ext4\",host=\"h\",mode=\"rw\",path=\"/\"}",
                t,
                Number::U64(1234)
            ),
            (
                5,
                "disk_inodes_used{device=\"sda1\",fstype=\"ext4\",host=\"h\",mode=\"rw\",path=\"/\"}",
                t,
                Number::I64(99)
            ),
            (6, "system_load1{host=\"h\"}", t, Number::F64(0.5)),
            (
                7,
                "net_err_in{host=\"h\",interface=\"eth0\"}",
                NOW,
                Number::I64(0)
            ),
            (
                7,
                "net_up{host=\"h\",interface=\"eth0\"}",
                NOW,
                Number::I64(1)
            ),
        ]
    );
    assert_eq!(
        errors(&p),
        ["line 6: field \"uptime_format\" is a string; only numeric and boolean fields are stored"]
    );
}

#[test]
fn client_library_output() {
    // As the official clients write points: tags sorted, integers with `i`,
    // escaped spaces, one point per line, no trailing newline.
    let p = ns(
        "weather,location=us-midwest,season=summer temperature=82,humidity=71i 1465839830100400200\n\
h2o_feet,location=santa_monica level\\ description=\"below 3 feet\",water_level=2.064 1566000000000000000",
    );
    assert_eq!(
        summary(&p),
        vec![
            (
                1,
                "weather_temperature{location=\"us-midwest\",season=\"summer\"}",
                1_465_839_830_100_400_200,
                Number::F64(82.0)
            ),
            (
                1,
                "weather_humidity{location=\"us-midwest\",season=\"summer\"}",
                1_465_839_830_100_400_200,
                Number::I64(71)
            ),
            (
                2,
                "h2o_feet_water_level{location=\"santa_monica\"}",
                1_566_000_000_000_000_000,
                Number::F64(2.064)
            ),
        ]
    );
    assert_eq!(
        errors(&p),
        [
            "line 2: field \"level description\" is a string; only numeric and boolean fields are stored"
        ]
    );
}

#[test]
fn precisions() {
    let cases = [
        (
            Precision::Nanoseconds,
            "1700000000000000000",
            1_700_000_000_000_000_000,
        ),
        (
            Precision::Microseconds,
            "1700000000000000",
            1_700_000_000_000_000_000,
        ),
        (
            Precision::Milliseconds,
            "1700000000000",
            1_700_000_000_000_000_000,
        ),
        (Precision::Seconds, "1700000000", 1_700_000_000_000_000_000),
        (Precision::Minutes, "28333333", 1_699_999_980_000_000_000),
        (Precision::Hours, "472222", 1_699_999_200_000_000_000),
        (Precision::Seconds, "-1", -1_000_000_000),
    ];
    for (precision, ts, want) in cases {
        let p = body(&format!("m v=1 {ts}"), precision);
        assert_eq!(p.samples[0].timestamp_ns, want, "{precision} {ts}");
    }
    let p = body("m v=1 9223372036854775807", Precision::Milliseconds);
    assert_eq!(
        errors(&p),
        ["line 1: timestamp 9223372036854775807 in precision ms overflows nanoseconds"]
    );
    let p = ns("m v=1 9223372036854775808\nm v=1 1.5\nm v=1 1 2\nm v=1 -\n");
    assert_eq!(
        errors(&p),
        [
            "line 1: timestamp 9223372036854775808 is out of range",
            "line 2: invalid timestamp \"1.5\" (an integer is expected)",
            "line 3: unexpected text at column 9 after the timestamp",
            "line 4: invalid timestamp \"-\" (an integer is expected)",
        ]
    );
    assert_eq!(Precision::from_v1("n"), Some(Precision::Nanoseconds));
    assert_eq!(Precision::from_v1("u"), Some(Precision::Microseconds));
    assert_eq!(Precision::from_v1("µ"), Some(Precision::Microseconds));
    assert_eq!(Precision::from_v1("h"), Some(Precision::Hours));
    assert_eq!(Precision::from_v1("d"), None);
    assert_eq!(Precision::from_v2("us"), Some(Precision::Microseconds));
    assert_eq!(Precision::from_v2("u"), None);
    assert_eq!(Precision::from_v2("m"), None);
    assert_eq!(Precision::from_v2(""), Some(Precision::Nanoseconds));
}

#[test]
fn numbers_are_exact() {
    let p = ns(
        "m a=25276182528,b=25276182528i,c=9223372036854775807i,d=-9223372036854775808i,\
e=18446744073709551615u,f=1.,g=.5,h=-1e-5,i=1E+3,j=-0,k=1e308,l=0.1",
    );
    let values: Vec<Number> = p.samples.iter().map(|s| s.value).collect();
    assert_eq!(
        values,
        [
            Number::F64(25_276_182_528.0),
            Number::I64(25_276_182_528),
            Number::I64(i64::MAX),
            Number::I64(i64::MIN),
            Number::U64(u64::MAX),
            Number::F64(1.0),
            Number::F64(0.5),
            Number::F64(-1e-5),
            Number::F64(1000.0),
            Number::F64(-0.0),
            Number::F64(1e308),
            Number::F64(0.1),
        ]
    );
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    let Number::F64(z) = values[9] else { panic!() };
    assert!(z.is_sign_negative());
    let p = ns(
        "m v=9223372036854775808i\nm v=18446744073709551616u\nm v=1e309\nm v=-1u\n\
m v=+1\nm v=NaN\nm v=inf\nm v=1.5i\nm v=1e\nm v=0x10\nm v=tRUE\nm v=.\nm v=1..2\n",
    );
    assert_eq!(
        errors(&p),
        [
            "line 1: field \"v\": 9223372036854775808i is out of range",
            "line 2: field \"v\": 18446744073709551616u is out of range",
            "line 3: field \"v\": 1e309 is out of range",
            "line 4: field \"v\" has an invalid value \"-1u\"",
            "line 5: field \"v\" has an invalid value \"+1\"",
            "line 6: field \"v\" has an invalid value \"NaN\"",
            "line 7: field \"v\" has an invalid value \"inf\"",
            "line 8: field \"v\" has an invalid value \"1.5i\"",
            "line 9: field \"v\" has an invalid value \"1e\"",
            "line 10: field \"v\" has an invalid value \"0x10\"",
            "line 11: field \"v\" has an invalid value \"tRUE\"",
            "line 12: field \"v\" has an invalid value \".\"",
            "line 13: field \"v\" has an invalid value \"1..2\"",
        ]
    );
}

#[test]
fn booleans() {
    let spellings = [
        "t", "T", "true", "True", "TRUE", "f", "F", "false", "False", "FALSE",
    ];
    let text: Vec<String> = spellings.iter().map(|b| format!("m v={b}")).collect();
    let p = ns(&text.join("\n"));
    let values: Vec<Number> = p.samples.iter().map(|s| s.value).collect();
    let want: Vec<Number> = [1, 1, 1, 1, 1, 0, 0, 0, 0, 0].map(Number::I64).to_vec();
    assert_eq!(values, want);
}

#[test]
fn escapes_and_name_mapping() {
    let l = parse_line(
        r#"my\ meas\,ure=x,ta\=g\ k=v\,al\ ue\=x,p=C:\\dir\x f\ \=k=1,s="a \"q\" \\ b\n""#,
    )
    .unwrap();
    assert_eq!(l.measurement, "my meas,ure=x");
    assert_eq!(
        l.tags,
        [
            (Cow::from("ta=g k"), Cow::from("v,al ue=x")),
            (Cow::from("p"), Cow::from("C:\\dir\\x")),
        ]
    );
    assert_eq!(l.fields[0], (Cow::from("f =k"), FieldValue::Float(1.0)));
    assert_eq!(
        l.fields[1].1,
        FieldValue::String(Cow::from("a \"q\" \\ b\\n"))
    );
    assert_eq!(l.timestamp, None);
    let p = ns(r#"my\ meas\,ure=x,ta\=g\ k=v\,al\ ue\=x,p=C:\\dir\x f\ \=k=1"#);
    assert_eq!(
        p.samples[0].series,
        "my_meas_ure_x_f__k{p=\"C:\\\\dir\\\\x\",ta_g_k=\"v,al\\u{0020}ue=x\"}"
    );
    let p = ns("1m,2t=x,z=1,a=2,ns:t=3 3f=1,temp.°C=2\n,host=a load=1\ncpu,db=edge,host=h v=1");
    let series: Vec<&str> = p.samples.iter().map(|s| s.series.as_str()).collect();
    assert_eq!(
        series,
        [
            "_1m_3f{_2t=\"x\",a=\"2\",ns_t=\"3\",z=\"1\"}",
            "_1m_temp__C{_2t=\"x\",a=\"2\",ns_t=\"3\",z=\"1\"}",
            "load{host=\"a\"}",
            "cpu_v{host=\"h\"}",
        ]
    );
    assert_eq!(p.samples[3].db.as_deref(), Some("edge"));
    assert_eq!(p.samples[2].db, None);
    // Every produced name parses as a canonical series.
    for s in &p.samples {
        assert_eq!(
            crate::series::parse_canonical(&s.series)
                .unwrap()
                .canonical(),
            s.series
        );
    }
}

#[test]
fn bad_lines_are_reported_and_skipped() {
    let long = "v".repeat(5000);
    let text = format!(
        "cpu\ncpu,host=a\ncpu,host= v=1\ncpu,host v=1\ncpu,=a v=1\ncpu =1\ncpu v\ncpu v=\ncpu v=abc\n\
cpu s=\"abc\ncpu,a.b=1,a_b=2 v=1\ncpu,__name__=x v=1\ncpu v=1,w=2,v=3\ncpu,t={long} v=1\n\
cpu,db=a,db=b v=1\ncpu v=\"x\"y\ncpu v=1,\nok v=1\n"
    );
    let mut bytes = text.into_bytes();
    bytes.extend_from_slice(b"bad\xff v=1\n");
    let p = parse(&bytes, &ParseOptions::default(), NOW);
    assert_eq!(
        errors(&p),
        [
            "line 1: missing fields",
            "line 2: missing fields",
            "line 3: tag \"host\" has no value",
            "line 4: tag \"host\" has no value",
            "line 5: missing tag key at column 5",
            "line 6: missing field key at column 5",
            "line 7: field \"v\" has no '='",
            "line 8: field \"v\" has no value",
            "line 9: field \"v\" has an invalid value \"abc\"",
            "line 10: field \"s\" has an unterminated string",
            "line 11: duplicate tag \"a_b\" (after mapping to a label name)",
            "line 12: tag \"__name__\" maps to the reserved label __name__",
            "line 13: duplicate field \"v\"",
            "line 14: field \"v\": series is 5011 bytes, over the limit of 4096",
            "line 15: duplicate tag \"db\" (after mapping to a label name)",
            "line 16: field \"v\" has an invalid value \"\\\"x\\\"y\"",
            "line 17: missing field key at column 9",
            "line 19: line is not valid UTF-8",
        ]
    );
    let series: Vec<(usize, &str)> = p
        .samples
        .iter()
        .map(|s| (s.line, s.series.as_str()))
        .collect();
    assert_eq!(series, [(13, "cpu_v"), (13, "cpu_w"), (18, "ok_v")]);
}

#[test]
fn parse_each_borrows_and_reports() {
    let mut seen = Vec::new();
    let errs = parse_each(b"a v=1 5\nb\n", &ParseOptions::default(), NOW, |s| {
        seen.push((s.series.to_string(), s.timestamp_ns));
    });
    assert_eq!(seen, [("a_v".to_string(), 5)]);
    assert_eq!(
        errs,
        [LineError {
            line: 2,
            error: InfluxError::MissingFields
        }]
    );
}

// Property tests: format generated points with escaping, parse them back.

fn escape(s: &str, specials: &[char]) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c == '\\' || specials.contains(&c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[derive(Debug, Clone)]
enum Gen {
    F(f64),
    I(i64),
    U(u64),
    B(bool),
    S(String),
}

fn gen_value() -> impl Strategy<Value = Gen> {
    prop_oneof![
        any::<f64>()
            .prop_filter("finite", |v| v.is_finite())
            .prop_map(Gen::F),
        any::<i64>().prop_map(Gen::I),
        any::<u64>().prop_map(Gen::U),
        any::<bool>().prop_map(Gen::B),
        "[^\n]{0,12}".prop_map(Gen::S),
    ]
}

fn format_value(v: &Gen, style: usize) -> String {
    match v {
        Gen::F(x) if style.is_multiple_of(2) => format!("{x:?}"),
        Gen::F(x) => format!("{x}"),
        Gen::I(x) => format!("{x}i"),
        Gen::U(x) => format!("{x}u"),
        Gen::B(b) => ["t", "True", "FALSE", "f"][style % 2 + if *b { 0 } else { 2 }].to_string(),
        Gen::S(s) => format!("\"{}\"", escape(s, &['"'])),
    }
}

fn name() -> impl Strategy<Value = String> {
    "[^\n\r]{1,10}"
}

proptest! {
    #[test]
    fn formatted_points_parse_back(
        measurement in name(),
        tags in proptest::collection::vec((name(), name()), 0..4),
        fields in proptest::collection::vec((name(), gen_value()), 1..4),
        ts in proptest::option::of(any::<i64>()),
        style in 0usize..4,
    ) {
        let mut text = escape(&measurement, &[',', ' ']);
        for (k, v) in &tags {
            text.push(',');
            text.push_str(&escape(k, &[',', ' ', '=']));
            text.push('=');
            text.push_str(&escape(v, &[',', ' ', '=']));
        }
        for (i, (k, v)) in fields.iter().enumerate() {
            text.push(if i == 0 { ' ' } else { ',' });
            text.push_str(&escape(k, &[',', ' ', '=']));
            text.push('=');
            text.push_str(&format_value(v, style));
        }
        if let Some(ts) = ts {
            text.push(' ');
            text.push_str(&ts.to_string());
        }
        let l = parse_line(&text).unwrap();
        prop_assert_eq!(&l.measurement, &measurement);
        prop_assert_eq!(l.tags.len(), tags.len());
        for ((k, v), (gk, gv)) in l.tags.iter().zip(&tags) {
            prop_assert_eq!(k, gk);
            prop_assert_eq!(v, gv);
        }
        prop_assert_eq!(l.fields.len(), fields.len());
        for ((k, v), (gk, gv)) in l.fields.iter().zip(&fields) {
            prop_assert_eq!(k, gk);
            let ok = match (v, gv) {
                (FieldValue::Float(a), Gen::F(b)) => a.to_bits() == b.to_bits(),
                (FieldValue::Integer(a), Gen::I(b)) => a == b,
                (FieldValue::Unsigned(a), Gen::U(b)) => a == b,
                (FieldValue::Boolean(a), Gen::B(b)) => a == b,
                (FieldValue::String(a), Gen::S(b)) => a == b,
                _ => false,
            };
            prop_assert!(ok, "{:?} vs {:?} in {:?}", v, gv, text);
        }
        prop_assert_eq!(l.timestamp, ts);
    }

    #[test]
    fn mapping_matches_series_keys(
        measurement in "[a-z][a-z0-9_]{0,6}",
        tags in proptest::collection::btree_map("[a-c][a-z_]{0,3}", "[^\n\r]{1,6}", 0..4),
        field in "[a-z_][a-z0-9_]{0,6}",
        value in any::<i64>(),
    ) {
        let mut text = measurement.clone();
        for (k, v) in &tags {
            text.push_str(&format!(",{k}={}", escape(v, &[',', ' ', '='])));
        }
        text.push_str(&format!(" {field}={value}i 7"));
        let p = ns(&text);
        prop_assert!(p.errors.is_empty(), "{:?}", p.errors);
        let want = SeriesKey::new(format!("{measurement}_{field}"), tags).unwrap();
        prop_assert_eq!(&p.samples[0].series, &want.canonical());
        prop_assert_eq!(p.samples[0].value, Number::I64(value));
        prop_assert_eq!(p.samples[0].timestamp_ns, 7);
    }

    #[test]
    fn arbitrary_bodies_never_panic(data in proptest::collection::vec(any::<u8>(), 0..200)) {
        let p = parse(&data, &ParseOptions::default(), NOW);
        for s in &p.samples {
            prop_assert!(crate::series::parse_canonical(&s.series).is_ok(), "{:?}", s.series);
        }
    }

    #[test]
    fn arbitrary_text_never_panics(text in "[a-z0-9 ,=\\\\\"\\.eiu#\n-]{0,60}") {
        let p = ns(&text);
        for s in &p.samples {
            prop_assert!(crate::series::parse_canonical(&s.series).is_ok(), "{:?}", s.series);
        }
    }
}
