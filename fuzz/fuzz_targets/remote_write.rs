//! A remote write body (and the same bytes as an uncompressed protobuf); what
//! decodes must re-encode and decode to the same series, bit for bit; the
//! server's allocation-free `decode_each` must give the same answer as `decode`.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nanotdb_protocols::remote_write::{
    DecodedWrite, Limits, RemoteWriteError, Scratch, TimeSeries, WriteRequest, decode, decode_each,
    decode_protobuf, encode,
};

type Series = (String, Option<String>, Vec<(i64, u64)>);

fn bits(s: &[(i64, f64)]) -> Vec<(i64, u64)> {
    s.iter().map(|&(t, v)| (t, v.to_bits())).collect()
}

/// `decode_each` answers as `decode` did.
fn same_as_decode(data: &[u8], limits: &Limits, want: &Result<DecodedWrite, RemoteWriteError>) {
    let mut got: Vec<Series> = Vec::new();
    let r = decode_each(data, limits, &mut Scratch::default(), |s| {
        got.push((
            s.canonical.to_string(),
            s.db.map(str::to_string),
            bits(s.samples),
        ));
    });
    match (r, want) {
        (Ok(summary), Ok(d)) => {
            let want: Vec<Series> = d
                .series
                .iter()
                .map(|s| (s.key.canonical(), s.db.clone(), bits(&s.samples)))
                .collect();
            assert_eq!(got, want);
            assert_eq!(summary.accepted, d.series.len());
            assert_eq!(summary.rejected, d.rejected);
            assert_eq!(
                (summary.histograms, summary.exemplars),
                (d.histograms, d.exemplars)
            );
        }
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
        (a, b) => panic!("decode_each {a:?}, decode {b:?}"),
    }
}

fn check(d: &DecodedWrite, limits: &Limits) {
    let req = WriteRequest {
        timeseries: d
            .series
            .iter()
            .map(|s| TimeSeries::from_series(&s.key, s.db.as_deref(), &s.samples))
            .collect(),
    };
    let body = encode(&req).expect("a decoded request re-encodes");
    let again = decode(&body, limits).expect("a re-encoded request decodes");
    assert!(again.rejected.is_empty());
    assert_eq!(again.series.len(), d.series.len());
    for (a, b) in again.series.iter().zip(&d.series) {
        assert_eq!(a.key, b.key);
        assert_eq!(a.db, b.db);
        let bits = |s: &[(i64, f64)]| s.iter().map(|&(t, v)| (t, v.to_bits())).collect::<Vec<_>>();
        assert_eq!(bits(&a.samples), bits(&b.samples));
    }
}

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_decompressed_bytes: 1 << 20,
        ..Limits::default()
    };
    let d = decode(data, &limits);
    same_as_decode(data, &limits, &d);
    if let Ok(d) = d {
        check(&d, &limits);
    }
    if let Ok(d) = decode_protobuf(data, &limits) {
        check(&d, &limits);
    }
});
