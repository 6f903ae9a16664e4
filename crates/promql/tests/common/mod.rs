//! Shared by the promql crate's tests: the differential data set.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use nanotdb::{Engine, Value, WriteSample};
use nanotdb_testkit::openmetrics::{promql_diff_dir, read_openmetrics};

/// `tests/diff`: data, queries, recorded answers and the recording script.
pub fn diff_dir() -> PathBuf {
    promql_diff_dir()
}

/// Opens an engine under `root` and stores `data.om` into database `db`
/// (series under their canonical names, values as float64).
pub fn load_openmetrics(root: &Path, db: &str) -> Engine {
    let engine = Engine::open(root).expect("open engine");
    let rows = read_openmetrics(&diff_dir().join("data.om"));
    let samples: Vec<WriteSample> = rows
        .iter()
        .map(|(metric, ts, v)| WriteSample {
            db,
            metric,
            ts: *ts,
            value: Value::F64(*v),
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
