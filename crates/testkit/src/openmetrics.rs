//! The OpenMetrics text of the PromQL differential data set
//! (`crates/promql/tests/diff/data.om`): one `name{labels} value seconds`
//! sample per line, as `promtool tsdb create-blocks-from openmetrics` reads it.

use std::path::{Path, PathBuf};

/// `crates/promql/tests/diff`: data, queries, recorded answers and the
/// recording script of the PromQL differential tests.
pub fn promql_diff_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../promql/tests/diff")
}

/// One sample: the series' canonical name, ns since the epoch, the value.
pub type OmSample = (String, i64, f64);

/// Seconds with up to three decimals → ns, exactly.
fn secs_to_ns(s: &str) -> i64 {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let ms: i64 = int.parse::<i64>().expect("seconds") * 1000;
    let frac = format!("{frac:0<3}");
    (ms + frac[..3].parse::<i64>().expect("millis")) * 1_000_000
}

/// Reads every sample of an OpenMetrics file written by `gen_data.py`
/// (labels already sorted, so the series text is the canonical name).
pub fn read_openmetrics(path: &Path) -> Vec<OmSample> {
    let text = std::fs::read_to_string(path).expect("read OpenMetrics data");
    let mut rows = Vec::new();
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
        rows.push((series.to_string(), secs_to_ns(ts), v));
    }
    rows
}
