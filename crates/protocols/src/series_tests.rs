use super::*;
use proptest::prelude::*;

/// The formatting of `nanotdb-server/src/prom.rs` (`metric_name`) as of this
/// crate's creation, kept verbatim as the reference the canonical form must
/// match byte for byte.
fn prom_rs_metric_name(name: &str, labels: &[(&str, String)]) -> String {
    if labels.is_empty() {
        return name.to_string();
    }
    let mut out = String::with_capacity(name.len() + 16 * labels.len());
    out.push_str(name);
    out.push('{');
    for (i, (k, v)) in labels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(k);
        out.push_str("=\"");
        for ch in v.chars() {
            match ch {
                '\\' => out.push_str("\\\\"),
                '"' => out.push_str("\\\""),
                '\n' => out.push_str("\\n"),
                c if c.is_whitespace() || c.is_control() => {
                    let _ = write!(out, "\\u{{{:04x}}}", c as u32);
                }
                c => out.push(c),
            }
        }
        out.push('"');
    }
    out.push('}');
    out
}

fn key(name: &str, labels: &[(&str, &str)]) -> SeriesKey {
    SeriesKey::new(name, labels.iter().copied()).unwrap()
}

#[test]
fn canonical_matches_the_text_importer() {
    let k = key("node_cpu_seconds_total", &[("mode", "idle"), ("cpu", "0")]);
    assert_eq!(
        k.canonical(),
        "node_cpu_seconds_total{cpu=\"0\",mode=\"idle\"}"
    );
    let k = key("x", &[("q", "say \"hi\"\n"), ("path", "/a b")]);
    assert_eq!(
        k.canonical(),
        "x{path=\"/a\\u{0020}b\",q=\"say\\u{0020}\\\"hi\\\"\\n\"}"
    );
    assert_eq!(key("up", &[]).canonical(), "up");
    let k = key("m", &[("a", "tab\there\r\u{85}\u{3000}\u{7f}\\")]);
    assert_eq!(
        k.canonical(),
        "m{a=\"tab\\u{0009}here\\u{000d}\\u{0085}\\u{3000}\\u{007f}\\\\\"}"
    );
    assert_eq!(k.to_string(), k.canonical());
}

#[test]
fn new_validates_and_normalizes() {
    let k = key("m", &[("b", "2"), ("empty", ""), ("a", "1")]);
    assert_eq!(
        k.labels(),
        &[("a".into(), "1".into()), ("b".into(), "2".into())]
    );
    assert_eq!(k.label("b"), Some("2"));
    assert_eq!(k.label("empty"), None);
    let err = |name: &str, labels: &[(&str, &str)]| {
        SeriesKey::new(name, labels.iter().copied())
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        err("", &[]),
        "missing metric name (no non-empty __name__ label)"
    );
    assert_eq!(
        err("1m", &[]),
        "invalid metric name \"1m\": must match [a-zA-Z_:][a-zA-Z0-9_:]*"
    );
    assert_eq!(
        err("m", &[("a:b", "x")]),
        "invalid label name \"a:b\": must match [a-zA-Z_][a-zA-Z0-9_]*"
    );
    assert_eq!(
        err("m", &[("__name__", "x")]),
        "label name \"__name__\" is reserved for the metric name"
    );
    assert_eq!(err("m", &[("a", "1"), ("a", "2")]), "duplicate label \"a\"");
    // An empty value is absent, so it neither counts as a duplicate nor is checked.
    assert!(SeriesKey::new("m", [("a", "1"), ("a", ""), ("-", "")]).is_ok());
    assert!(SeriesKey::new("ns:sub_1", [("_x9", "v")]).is_ok());
}

#[test]
fn prometheus_label_sets() {
    let k = SeriesKey::from_prometheus_labels([("job", "n"), ("__name__", "up")]).unwrap();
    assert_eq!(k.canonical(), "up{job=\"n\"}");
    assert_eq!(
        SeriesKey::from_prometheus_labels([("job", "n")]),
        Err(SeriesError::MissingName)
    );
    assert_eq!(
        SeriesKey::from_prometheus_labels([("__name__", "")]),
        Err(SeriesError::MissingName)
    );
    assert_eq!(
        SeriesKey::from_prometheus_labels([("__name__", "a"), ("__name__", "b")]),
        Err(SeriesError::DuplicateLabel("__name__".into()))
    );
}

#[test]
fn remove_label_and_lengths() {
    let mut k = key("m", &[("db", "edge"), ("host", "h")]);
    assert_eq!(k.remove_label("db"), Some("edge".into()));
    assert_eq!(k.remove_label("db"), None);
    assert_eq!(k.canonical(), "m{host=\"h\"}");
    assert_eq!(k.canonical_len(), k.canonical().len());
    let long = key("m", &[("a", &"v".repeat(5000))]);
    assert_eq!(
        long.check_len(DEFAULT_MAX_CANONICAL_LEN)
            .unwrap_err()
            .to_string(),
        "series is 5007 bytes in canonical form, over the limit of 4096"
    );
    assert!(key("m", &[]).check_len(1).is_ok());
    let mut buf = String::from("reused");
    buf.clear();
    k.write_canonical(&mut buf);
    assert_eq!(buf, "m{host=\"h\"}");
}

#[test]
fn parse_canonical_accepts_exactly_canonical_text() {
    let k = parse_canonical("x{path=\"/a\\u{0020}b\",q=\"\\\"\\\\\\n\"}").unwrap();
    assert_eq!(k.name(), "x");
    assert_eq!(k.label("path"), Some("/a b"));
    assert_eq!(k.label("q"), Some("\"\\\n"));
    assert_eq!("up".parse::<SeriesKey>().unwrap(), key("up", &[]));
    let bad = |s: &str| parse_canonical(s).unwrap_err().to_string();
    assert_eq!(bad(""), "byte 0: invalid metric name");
    assert_eq!(bad("a b"), "byte 1: invalid metric name");
    assert_eq!(bad("9a"), "byte 0: invalid metric name");
    assert_eq!(bad("m{}"), "byte 2: empty label set");
    assert_eq!(bad("m{a=\"1\"}x"), "byte 8: trailing characters after '}'");
    assert_eq!(
        bad("m{b=\"1\",a=\"2\"}"),
        "byte 8: labels out of order or repeated"
    );
    assert_eq!(
        bad("m{a=\"1\",a=\"2\"}"),
        "byte 8: labels out of order or repeated"
    );
    assert_eq!(bad("m{a=\"\"}"), "byte 5: empty label value");
    assert_eq!(
        bad("m{a=\"x y\"}"),
        "byte 6: unescaped whitespace or control character"
    );
    assert_eq!(bad("m{a=\"\\t\"}"), "byte 5: invalid escape sequence");
    assert_eq!(bad("m{a=\"\\u{20}\"}"), "byte 5: invalid escape sequence");
    assert_eq!(bad("m{a=\"\\u{0041}\"}"), "byte 5: invalid escape sequence");
    assert_eq!(bad("m{a=\"\\u{000A}\"}"), "byte 5: invalid escape sequence");
    assert_eq!(bad("m{a=\"\\u{000a}\"}"), "byte 5: invalid escape sequence");
    assert_eq!(bad("m{a=\"x"), "byte 6: unterminated label value");
    assert_eq!(bad("m{a=\"x\\"), "byte 7: unterminated label value");
    assert_eq!(bad("m{a=x}"), "byte 4: expected '\"'");
    assert_eq!(bad("m{a}"), "byte 3: expected '='");
    assert_eq!(bad("m{a=\"1\""), "byte 7: expected ',' or '}'");
    assert_eq!(bad("m{1=\"1\"}"), "byte 2: invalid label name");
    assert_eq!(
        bad("m{__name__=\"x\"}"),
        "byte 2: __name__ is not allowed as a label"
    );
}

fn label_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9/._-]{1,12}",
        "[ \"\\\\\n\t\r\u{0}\u{7f}\u{85}\u{a0}\u{2028}\u{3000}aé€😀{}=,]{1,12}",
        any::<String>().prop_filter("non-empty", |s| !s.is_empty()),
    ]
}

fn series_key() -> impl Strategy<Value = SeriesKey> {
    (
        "[a-zA-Z_:][a-zA-Z0-9_:]{0,10}",
        proptest::collection::btree_map("[a-zA-Z_][a-zA-Z0-9_]{0,6}", label_value(), 0..5),
    )
        .prop_filter_map("no __name__", |(name, labels)| {
            SeriesKey::new(name, labels).ok()
        })
}

proptest! {
    #[test]
    fn canonical_round_trips(k in series_key()) {
        let text = k.canonical();
        prop_assert_eq!(text.len(), k.canonical_len());
        prop_assert!(!text.chars().any(|c| c.is_whitespace() || c.is_control()));
        let back = parse_canonical(&text).unwrap();
        prop_assert_eq!(&back, &k);
        prop_assert_eq!(back.canonical(), text);
    }

    #[test]
    fn canonical_is_the_text_importers_form(k in series_key()) {
        let labels: Vec<(&str, String)> =
            k.labels().iter().map(|(a, b)| (a.as_str(), b.clone())).collect();
        prop_assert_eq!(k.canonical(), prom_rs_metric_name(k.name(), &labels));
    }

    #[test]
    fn parse_then_format_is_identity(s in "[a-z{}=\",\\\\nu0-9 ]{0,24}") {
        if let Ok(k) = parse_canonical(&s) {
            prop_assert_eq!(k.canonical(), s);
        }
    }

    #[test]
    fn parse_never_panics(s in any::<String>()) {
        if let Ok(k) = parse_canonical(&s) {
            prop_assert_eq!(k.canonical(), s);
        }
    }
}
