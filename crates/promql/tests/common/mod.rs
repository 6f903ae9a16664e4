//! Shared by the promql crate's tests: the differential data set.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use nanotdb::{Engine, Value, WriteSample};

/// `tests/diff`: data, queries, recorded answers and the recording script.
pub fn diff_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/diff")
}

/// Seconds with up to three decimals → ns, exactly.
fn secs_to_ns(s: &str) -> i64 {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let mut ms: i64 = int.parse::<i64>().expect("seconds") * 1000;
    let frac = format!("{frac:0<3}");
    ms += frac[..3].parse::<i64>().expect("millis");
    ms * 1_000_000
}

/// Opens an engine under `root` and stores `data.om` into database `db`
/// (series under their canonical names, values as float64).
pub fn load_openmetrics(root: &Path, db: &str) -> Engine {
    let engine = Engine::open(root).expect("open engine");
    let text = std::fs::read_to_string(diff_dir().join("data.om")).expect("data.om");
    let mut rows: Vec<(&str, i64, f64)> = Vec::new();
    for line in text.lines() {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let mut parts = line.rsplitn(3, ' ');
        let (ts, value, series) = (
            parts.next().expect("ts"),
            parts.next().expect("value"),
            parts.next().expect("series"),
        );
        let v = match value {
            "NaN" => f64::NAN,
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().expect("value"),
        };
        rows.push((series, secs_to_ns(ts), v));
    }
    let samples: Vec<WriteSample> = rows
        .iter()
        .map(|&(metric, ts, v)| WriteSample {
            db,
            metric,
            ts,
            value: Value::F64(v),
        })
        .collect();
    for chunk in samples.chunks(5000) {
        let report = engine.write(chunk).expect("write");
        assert!(
            report.rejected.is_empty(),
            "rejected: {:?}",
            report.rejected.first()
        );
    }
    engine
}
