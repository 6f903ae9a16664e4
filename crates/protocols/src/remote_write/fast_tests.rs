use super::super::wire;
use super::*;
use crate::remote_write::{DecodedWrite, Sample, decode};
use proptest::prelude::*;
use prost::Message;

/// What a decoder answered, in a comparable form: accepted series as
/// (canonical, db, samples as bits), then the summary, or the error text.
type Answer = Result<(Vec<(String, Option<String>, Vec<(i64, u64)>)>, Summary), String>;

fn bits(s: &[(i64, f64)]) -> Vec<(i64, u64)> {
    s.iter().map(|&(t, v)| (t, v.to_bits())).collect()
}

fn fast(raw: &[u8], limits: &Limits) -> Answer {
    let mut got = Vec::new();
    let mut name = String::new();
    let r = decode_protobuf_each(raw, limits, &mut name, |s| {
        got.push((
            s.canonical.to_string(),
            s.db.map(str::to_string),
            bits(s.samples),
        ));
    });
    match r {
        Ok(summary) => Ok((got, summary)),
        Err(e) => {
            assert!(got.is_empty(), "series handed out before an error");
            Err(e.to_string())
        }
    }
}

fn reference(d: Result<DecodedWrite, RemoteWriteError>) -> Answer {
    let d = d.map_err(|e| e.to_string())?;
    let series = d
        .series
        .iter()
        .map(|s| (s.key.canonical(), s.db.clone(), bits(&s.samples)))
        .collect();
    let summary = Summary {
        accepted: d.series.len(),
        rejected: d.rejected,
        histograms: d.histograms,
        exemplars: d.exemplars,
    };
    Ok((series, summary))
}

fn slow(raw: &[u8], limits: &Limits) -> Answer {
    reference(decode_protobuf(raw, limits))
}

/// Label names and values that exercise every series rule.
fn arb_text() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"__name__".to_vec()),
        Just(b"db".to_vec()),
        Just(Vec::new()),
        "[a-zA-Z_:][a-zA-Z0-9_:]{0,4}".prop_map(String::into_bytes),
        "[a-c]{1,2}".prop_map(String::into_bytes),
        any::<String>().prop_map(String::into_bytes),
        proptest::collection::vec(any::<u8>(), 0..4),
    ]
}

fn arb_series() -> impl Strategy<Value = wire::Series> {
    (
        proptest::collection::vec((arb_text(), arb_text()), 0..6),
        proptest::collection::vec((any::<i64>(), any::<u64>()), 0..3),
        0..2usize,
        0..2usize,
    )
        .prop_map(|(labels, samples, exemplars, histograms)| wire::Series {
            labels: labels
                .into_iter()
                .map(|(name, value)| wire::RawLabel { name, value })
                .collect(),
            samples: samples
                .into_iter()
                .map(|(timestamp, v)| Sample {
                    value: f64::from_bits(v),
                    timestamp,
                })
                .collect(),
            exemplars: vec![wire::Skipped {}; exemplars],
            histograms: vec![wire::Skipped {}; histograms],
        })
}

fn arb_request() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(arb_series(), 0..5).prop_map(|timeseries| {
        wire::Request {
            timeseries,
            v2_symbols: vec![],
            v2_timeseries: vec![],
        }
        .encode_to_vec()
    })
}

fn limits(max_series_len: usize) -> Limits {
    Limits {
        max_series_len,
        ..Limits::default()
    }
}

#[test]
fn same_answers_on_hand_picked_bodies() {
    let ok = fast(&[], &Limits::default()).unwrap();
    assert_eq!(ok, (vec![], Summary::default()));
    for raw in [
        &[0x0a, 0x05, 1][..],      // truncated series
        &[0x08, 0x01],             // series field as a varint
        &[0x0b, 0x0c],             // a group: prost skips it
        &[0x1b, 0x08, 0x01, 0x1c], // a group with a field in it
        &[0x22, 0x00],             // 2.0 symbols only
        &[0x2a, 0x02, 0x08, 0x01], // 2.0 series only
        &[0x00],                   // tag 0
        &[0x0f],                   // wire type 7
        &[
            0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02,
        ], // bad varint
        &[
            0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
        ], // good varint
        &[0x0a, 0x04, 0x12, 0x02, 0x10, 0x05], // one sample, no labels
        &[0x0a, 0x05, 0x12, 0x03, 0x09, 0x00, 0x00], // short double
    ] {
        assert_eq!(
            fast(raw, &Limits::default()),
            slow(raw, &Limits::default()),
            "{raw:x?}"
        );
    }
}

#[test]
fn decode_each_reuses_its_buffers() {
    let req = wire::Request {
        timeseries: vec![wire::Series {
            labels: vec![
                wire::RawLabel {
                    name: b"__name__".to_vec(),
                    value: b"up".to_vec(),
                },
                wire::RawLabel {
                    name: b"job".to_vec(),
                    value: b"a b".to_vec(),
                },
            ],
            samples: vec![Sample {
                value: 1.0,
                timestamp: 5,
            }],
            exemplars: vec![],
            histograms: vec![],
        }],
        v2_symbols: vec![],
        v2_timeseries: vec![],
    };
    let body = snap::raw::Encoder::new()
        .compress_vec(&req.encode_to_vec())
        .unwrap();
    let mut scratch = Scratch::default();
    for _ in 0..2 {
        let mut names = Vec::new();
        let s = decode_each(&body, &Limits::default(), &mut scratch, |s| {
            names.push((s.canonical.to_string(), s.samples.to_vec()));
        })
        .unwrap();
        assert_eq!(s.accepted, 1);
        assert_eq!(
            names,
            [(r#"up{job="a\u{0020}b"}"#.to_string(), vec![(5, 1.0)])]
        );
    }
    assert!(scratch.capacity() > 0);
    let e = decode_each(b"", &Limits::default(), &mut scratch, |_| panic!()).unwrap_err();
    assert_eq!(
        e.to_string(),
        decode(b"", &Limits::default()).unwrap_err().to_string()
    );
}

proptest! {
    #[test]
    fn same_answers_as_prost(raw in arb_request(), max in prop_oneof![Just(4096usize), 0..40usize]) {
        // What prost encodes, the fast reader reads (no fallback).
        prop_assert!(Parsed::new(&raw).is_some());
        prop_assert_eq!(fast(&raw, &limits(max)), slow(&raw, &limits(max)));
    }

    #[test]
    fn same_answers_on_mutated_bodies(
        raw in arb_request(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let mut raw = raw;
        for (at, b) in edits {
            if !raw.is_empty() {
                let i = at.index(raw.len());
                raw[i] = b;
            }
        }
        prop_assert_eq!(fast(&raw, &Limits::default()), slow(&raw, &Limits::default()));
    }

    #[test]
    fn same_answers_on_arbitrary_bytes(raw in proptest::collection::vec(any::<u8>(), 0..64)) {
        prop_assert_eq!(fast(&raw, &Limits::default()), slow(&raw, &Limits::default()));
        let body = snap::raw::Encoder::new().compress_vec(&raw).unwrap();
        let mut scratch = Scratch::default();
        let mut got = Vec::new();
        let r = decode_each(&body, &Limits::default(), &mut scratch, |s| {
            got.push((s.canonical.to_string(), s.db.map(str::to_string), bits(s.samples)));
        });
        let r = r.map(|summary| (got, summary)).map_err(|e| e.to_string());
        prop_assert_eq!(r, reference(decode(&body, &Limits::default())));
    }

    /// The names written without a `SeriesKey` are `SeriesKey::canonical`,
    /// and a set declined is one `SeriesKey` refuses.
    #[test]
    fn plain_canonical_is_series_key_canonical(
        pairs in proptest::collection::vec(
            (
                prop_oneof![
                    Just("__name__".to_string()),
                    "[a-zA-Z_:][a-zA-Z0-9_:]{0,4}",
                    "[a-c]{1,2}",
                    any::<String>(),
                ],
                prop_oneof![Just(String::new()), "[a-zA-Z_:]{1,4}", any::<String>()],
            ),
            0..6,
        ),
        max in prop_oneof![Just(4096usize), 0..40usize],
    ) {
        let pairs: Vec<(&str, &str)> =
            pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let mut out = String::new();
        let plain = plain_canonical(&pairs, &mut Vec::new(), max, &mut out);
        let key = SeriesKey::from_prometheus_labels(pairs.iter().copied())
            .and_then(|k| k.check_len(max).map(|()| k));
        // Every set SeriesKey accepts takes the plain path (Prometheus sends
        // valid ones), and gets the same name.
        match key {
            Ok(k) => prop_assert!(plain && out == k.canonical(), "{out} vs {}", k.canonical()),
            Err(e) => prop_assert!(!plain, "accepted {out}, SeriesKey says {e}"),
        }
    }
}
