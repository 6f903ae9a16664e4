//! Metric file v3: the column decoder on its own (data type, encoding and
//! count from the first bytes, checked for plausibility first as the index
//! loader does) and whole files through `MetricFile`. Must never panic, and
//! never allocate more than the count the payload can justify.
#![no_main]
use std::io::Write;

use libfuzzer_sys::fuzz_target;
use nanotdb::metricfile::MetricFile;
use nanotdb::metricfile::v3::column;

fuzz_target!(|data: &[u8]| {
    if data.len() >= 4 {
        let (dtype, enc) = (data[0], data[1]);
        let n = u16::from_le_bytes([data[2], data[3]]);
        let payload = &data[4..];
        if column::plausible(dtype, enc, payload.len() as u32, u32::from(n)) {
            let mut out = Vec::new();
            if column::decode(dtype, enc, payload, usize::from(n), &mut out).is_ok() {
                assert_eq!(out.len(), usize::from(n));
            }
        }
    }
    let path = std::env::temp_dir().join(format!("nanotdb-fuzz-v3-{}.dat", std::process::id()));
    let Ok(mut f) = std::fs::File::create(&path) else { return };
    if f.write_all(data).is_err() {
        return;
    }
    drop(f);
    if let Ok(mf) = MetricFile::open(&path) {
        let _ = mf.resident_bytes();
        let _ = mf.read_all(i64::MIN, i64::MAX, |_, _, _| {});
        for id in mf.metrics() {
            let _ = mf.read_metric(id, 0, i64::MAX, &mut |_, _| std::ops::ControlFlow::Continue(()));
        }
    }
});
