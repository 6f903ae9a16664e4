//! Helpers of the out-of-order tests (out_of_order.rs, out_of_order_crash.rs).
#![allow(dead_code)]

use std::fs;
use std::ops::ControlFlow;
use std::path::Path;

use nanotdb::{Engine, Value, WriteSample};

/// Small pages (frequent flushes, so out-of-order samples land in other
/// frames than their neighbours) and the WAL logging everything.
pub fn root(window: &str) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    write_config(d.path(), window);
    d
}

pub fn write_config(root: &Path, window: &str) {
    fs::write(
        root.join("engine.toml"),
        format!(
            r#"
[wal]
fsync_policy = "always"
[stats]
enabled = false
[ingest]
max_future = "0s"
out_of_order_window = "{window}"
[manifest_defaults.retention]
max_active_days = 2
[manifest_defaults.wal]
enabled = true
skip_before = "0s"
[manifest_defaults.page]
max_records = 7
max_bytes = 1000000
max_age = "1h"
"#
        ),
    )
    .unwrap();
}

pub fn sample(metric: &str, ts: i64, v: f64) -> WriteSample<'_> {
    WriteSample {
        db: "o",
        metric,
        ts,
        value: Value::F64(v),
    }
}

pub fn read(e: &Engine, metric: &str) -> Vec<(i64, f64)> {
    let mut out = Vec::new();
    e.query_range("o", metric, i64::MIN, i64::MAX, 1, |s| {
        out.push((s.ts, s.value.as_f64()));
        ControlFlow::Continue(())
    })
    .unwrap();
    out
}
