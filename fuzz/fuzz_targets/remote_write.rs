//! A remote write body (and the same bytes as an uncompressed protobuf); what
//! decodes must re-encode and decode to the same series, bit for bit.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nanotdb_protocols::remote_write::{
    DecodedWrite, Limits, TimeSeries, WriteRequest, decode, decode_protobuf, encode,
};

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
    if let Ok(d) = decode(data, &limits) {
        check(&d, &limits);
    }
    if let Ok(d) = decode_protobuf(data, &limits) {
        check(&d, &limits);
    }
});
