use super::*;
use proptest::prelude::*;

// Test-only messages with the fields the decoder skips, to build what real
// senders send (metadata, exemplars, native histograms, 2.0 bodies).

#[derive(Clone, PartialEq, Message)]
struct FullRequest {
    #[prost(message, repeated, tag = "1")]
    timeseries: Vec<FullSeries>,
    #[prost(message, repeated, tag = "3")]
    metadata: Vec<Metadata>,
}

#[derive(Clone, PartialEq, Message)]
struct Metadata {
    #[prost(int32, tag = "1")]
    kind: i32,
    #[prost(string, tag = "2")]
    family: String,
    #[prost(string, tag = "4")]
    help: String,
}

#[derive(Clone, PartialEq, Message)]
struct FullSeries {
    #[prost(message, repeated, tag = "1")]
    labels: Vec<BytesLabel>,
    #[prost(message, repeated, tag = "2")]
    samples: Vec<Sample>,
    #[prost(message, repeated, tag = "3")]
    exemplars: Vec<Exemplar>,
    #[prost(message, repeated, tag = "4")]
    histograms: Vec<Histogram>,
}

#[derive(Clone, PartialEq, Message)]
struct BytesLabel {
    #[prost(bytes = "vec", tag = "1")]
    name: Vec<u8>,
    #[prost(bytes = "vec", tag = "2")]
    value: Vec<u8>,
}

#[derive(Clone, PartialEq, Message)]
struct Exemplar {
    #[prost(message, repeated, tag = "1")]
    labels: Vec<Label>,
    #[prost(double, tag = "2")]
    value: f64,
    #[prost(int64, tag = "3")]
    timestamp: i64,
}

#[derive(Clone, PartialEq, Message)]
struct Histogram {
    #[prost(uint64, tag = "1")]
    count_int: u64,
    #[prost(double, tag = "3")]
    sum: f64,
    #[prost(sint32, tag = "4")]
    schema: i32,
    #[prost(int64, tag = "15")]
    timestamp: i64,
}

#[derive(Clone, PartialEq, Message)]
struct V2Request {
    #[prost(string, repeated, tag = "4")]
    symbols: Vec<String>,
    #[prost(message, repeated, tag = "5")]
    timeseries: Vec<V2Series>,
}

#[derive(Clone, PartialEq, Message)]
struct V2Series {
    #[prost(uint32, repeated, tag = "1")]
    label_refs: Vec<u32>,
    #[prost(message, repeated, tag = "2")]
    samples: Vec<Sample>,
}

fn labels(pairs: &[(&str, &str)]) -> Vec<BytesLabel> {
    pairs
        .iter()
        .map(|(k, v)| BytesLabel {
            name: k.as_bytes().to_vec(),
            value: v.as_bytes().to_vec(),
        })
        .collect()
}

fn series(pairs: &[(&str, &str)], samples: &[(i64, f64)]) -> FullSeries {
    FullSeries {
        labels: labels(pairs),
        samples: samples
            .iter()
            .map(|&(timestamp, value)| Sample { value, timestamp })
            .collect(),
        exemplars: vec![],
        histograms: vec![],
    }
}

fn body(msg: &impl Message) -> Vec<u8> {
    snap::raw::Encoder::new()
        .compress_vec(&msg.encode_to_vec())
        .unwrap()
}

fn decode_ok(msg: &impl Message) -> DecodedWrite {
    decode(&body(msg), &Limits::default()).unwrap()
}

#[test]
fn node_exporter_request() {
    let mut with_extras = series(
        &[
            ("mode", "idle"),
            ("__name__", "node_cpu_seconds_total"),
            ("instance", "edge-01:9100"),
            ("job", "node"),
            ("cpu", "0"),
            ("db", "edge"),
        ],
        &[(1_767_225_600_000, 25276182528.0), (1_767_225_615_000, 0.1)],
    );
    with_extras.exemplars.push(Exemplar {
        labels: vec![Label {
            name: "trace_id".into(),
            value: "abc".into(),
        }],
        value: 1.0,
        timestamp: 1,
    });
    let mut histogram_only = series(&[("__name__", "http_request_duration_seconds")], &[]);
    histogram_only.histograms = vec![
        Histogram {
            count_int: 3,
            sum: 1.5,
            schema: 3,
            timestamp: 1_767_225_600_000,
        };
        2
    ];
    let req = FullRequest {
        timeseries: vec![
            with_extras,
            series(&[("__name__", "up"), ("empty", "")], &[(5, 1.0)]),
            histogram_only,
        ],
        metadata: vec![Metadata {
            kind: 1,
            family: "up".into(),
            help: "Scrape health.".into(),
        }],
    };
    let d = decode_ok(&req);
    assert!(d.rejected.is_empty(), "{:?}", d.rejected);
    assert_eq!(d.series.len(), 2);
    let s = &d.series[0];
    assert_eq!(
        s.key.canonical(),
        "node_cpu_seconds_total{cpu=\"0\",instance=\"edge-01:9100\",job=\"node\",mode=\"idle\"}"
    );
    assert_eq!(s.db.as_deref(), Some("edge"));
    assert_eq!(
        s.samples,
        vec![(1_767_225_600_000, 25276182528.0), (1_767_225_615_000, 0.1)]
    );
    assert_eq!(d.series[1].key.canonical(), "up");
    assert_eq!(d.series[1].db, None);
    assert_eq!(d.histograms, 2);
    assert_eq!(d.exemplars, 1);
    assert_eq!(d.sample_count(), 3);
}

#[test]
fn bad_series_are_rejected_one_by_one() {
    let mut bad_utf8 = series(&[("__name__", "m")], &[(1, 1.0)]);
    bad_utf8.labels.push(BytesLabel {
        name: b"host".to_vec(),
        value: vec![0xff, 0xfe],
    });
    let long = "v".repeat(DEFAULT_MAX_CANONICAL_LEN);
    let req = FullRequest {
        timeseries: vec![
            series(&[("job", "x")], &[(1, 1.0), (2, 2.0)]),
            series(&[("__name__", "ok")], &[(1, 1.0)]),
            series(&[("__name__", "m"), ("a-b", "x")], &[(1, 1.0)]),
            series(&[("__name__", "m"), ("a", "1"), ("a", "2")], &[(1, 1.0)]),
            series(&[("__name__", "m"), ("db", "a"), ("db", "b")], &[(1, 1.0)]),
            bad_utf8,
            series(&[("__name__", "m"), ("a", &long)], &[(1, 1.0)]),
            series(&[("__name__", "9m")], &[(1, 1.0)]),
        ],
        metadata: vec![],
    };
    let d = decode_ok(&req);
    assert_eq!(d.series.len(), 1);
    assert_eq!(d.series[0].key.name(), "ok");
    let msgs: Vec<String> = d.rejected.iter().map(|r| r.to_string()).collect();
    assert_eq!(
        msgs,
        vec![
            "series 0: missing metric name (no non-empty __name__ label) (2 samples dropped)",
            "series 2 (\"m\"): invalid label name \"a-b\": must match [a-zA-Z_][a-zA-Z0-9_]* (1 samples dropped)",
            "series 3 (\"m\"): duplicate label \"a\" (1 samples dropped)",
            "series 4 (\"m\"): duplicate label \"db\" (1 samples dropped)",
            "series 5 (\"m\"): label 1 is not valid UTF-8 (1 samples dropped)",
            "series 6 (\"m\"): series is 4103 bytes in canonical form, over the limit of 4096 (1 samples dropped)",
            "series 7 (\"9m\"): invalid metric name \"9m\": must match [a-zA-Z_:][a-zA-Z0-9_:]* (1 samples dropped)",
        ]
    );
}

#[test]
fn limits_are_checked_before_work() {
    let limits = Limits {
        max_compressed_bytes: 100,
        max_decompressed_bytes: 1000,
        ..Limits::default()
    };
    let e = decode(&[0u8; 101], &limits).unwrap_err();
    assert!(e.is_too_large());
    assert_eq!(e.to_string(), "body is 101 bytes, over the limit of 100");
    // A header announcing 2^31 bytes followed by almost nothing: refused
    // before any allocation.
    let bomb = [0x80, 0x80, 0x80, 0x80, 0x08, 0x00];
    let e = decode(&bomb, &limits).unwrap_err();
    assert!(e.is_too_large());
    assert_eq!(
        e.to_string(),
        "body decompresses to 2147483648 bytes, over the limit of 1000"
    );
}

#[test]
fn corrupt_bodies_fail_whole() {
    let limits = Limits::default();
    let e = decode(b"", &limits).unwrap_err();
    assert!(!e.is_too_large());
    assert_eq!(
        e.to_string(),
        "body is not valid snappy block data: snappy: corrupt input (empty)"
    );
    // Header says 10 bytes, then a literal that runs past the input.
    let e = decode(&[10, 0x24, b'a'], &limits).unwrap_err();
    assert!(matches!(e, RemoteWriteError::Snappy(_)), "{e}");
    // Valid snappy of something that is not protobuf (a truncated field).
    let junk = snap::raw::Encoder::new()
        .compress_vec(&[0x0a, 0x05, 1])
        .unwrap();
    let e = decode(&junk, &limits).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("body is not a valid remote write protobuf: "),
        "{e}"
    );
}

#[test]
fn version_2_bodies_are_refused() {
    let req = V2Request {
        symbols: vec!["".into(), "__name__".into(), "up".into()],
        timeseries: vec![V2Series {
            label_refs: vec![1, 2],
            samples: vec![Sample {
                value: 1.0,
                timestamp: 1,
            }],
        }],
    };
    let e = decode(&body(&req), &Limits::default()).unwrap_err();
    assert!(matches!(e, RemoteWriteError::Version2));
    // An empty 1.0 request is fine: nothing to write.
    assert_eq!(decode_ok(&WriteRequest::default()), DecodedWrite::default());
}

#[test]
fn encode_round_trips_special_values() {
    let key = SeriesKey::new("m", [("host", "h 1"), ("a", "x")]).unwrap();
    let samples = [
        (i64::MIN, f64::from_bits(STALE_NAN_BITS)),
        (-1, f64::INFINITY),
        (0, f64::NEG_INFINITY),
        (1, -0.0),
        (i64::MAX, f64::from_bits(0x7ff8_dead_beef_0001)),
    ];
    let ts = TimeSeries::from_series(&key, Some("edge"), &samples);
    let names: Vec<&str> = ts.labels.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["__name__", "a", "db", "host"]);
    let req = WriteRequest {
        timeseries: vec![ts],
    };
    let d = decode(&encode(&req).unwrap(), &Limits::default()).unwrap();
    assert_eq!(d.series.len(), 1);
    assert_eq!(d.series[0].key, key);
    assert_eq!(d.series[0].db.as_deref(), Some("edge"));
    let bits = |v: &[(i64, f64)]| v.iter().map(|&(t, x)| (t, x.to_bits())).collect::<Vec<_>>();
    assert_eq!(bits(&d.series[0].samples), bits(&samples));
    assert!(is_stale_marker(d.series[0].samples[0].1));
    assert!(!is_stale_marker(f64::NAN));
}

fn arb_key() -> impl Strategy<Value = SeriesKey> {
    (
        "[a-zA-Z_:][a-zA-Z0-9_:]{0,8}",
        proptest::collection::btree_map("[a-zA-Z_][a-zA-Z0-9_]{0,5}", any::<String>(), 0..4),
    )
        .prop_filter_map("valid, no db", |(name, labels)| {
            let k = SeriesKey::new(name, labels).ok()?;
            k.label(DB_LABEL).is_none().then_some(k)
        })
}

fn sample_bits() -> impl Strategy<Value = u64> {
    prop_oneof![
        any::<u64>(),
        Just((-0.0f64).to_bits()),
        Just(0),
        Just(STALE_NAN_BITS),
        Just(f64::NAN.to_bits()),
        Just(f64::INFINITY.to_bits()),
        Just(f64::NEG_INFINITY.to_bits()),
        Just(25276182528f64.to_bits()),
    ]
}

proptest! {
    #[test]
    fn encode_decode_is_bit_exact(
        input in proptest::collection::vec(
            (
                arb_key(),
                proptest::option::of("[a-z0-9_]{1,8}"),
                proptest::collection::vec((any::<i64>(), sample_bits()), 1..6),
            ),
            0..5,
        )
    ) {
        let req = WriteRequest {
            timeseries: input
                .iter()
                .map(|(k, db, s)| {
                    let samples: Vec<(i64, f64)> =
                        s.iter().map(|&(t, b)| (t, f64::from_bits(b))).collect();
                    TimeSeries::from_series(k, db.as_deref(), &samples)
                })
                .collect(),
        };
        let d = decode(&encode(&req).unwrap(), &Limits::default()).unwrap();
        prop_assert!(d.rejected.is_empty());
        prop_assert_eq!(d.series.len(), input.len());
        for (got, (k, db, s)) in d.series.iter().zip(&input) {
            prop_assert_eq!(&got.key, k);
            prop_assert_eq!(&got.db, db);
            let bits: Vec<(i64, u64)> =
                got.samples.iter().map(|&(t, v)| (t, v.to_bits())).collect();
            prop_assert_eq!(&bits, s);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = decode(&data, &Limits::default());
        let _ = decode_protobuf(&data, &Limits::default());
    }
}
