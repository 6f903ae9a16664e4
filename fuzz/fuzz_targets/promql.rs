//! A PromQL query string → parse → evaluate (instant and range) over a small
//! real engine: no panic, and the sample limit keeps memory bounded on
//! hostile queries such as `count_over_time(x[100y:1s])`.
#![no_main]
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use nanotdb::{Engine, Value, WriteSample};
use nanotdb_promql::{EngineStorage, QueryOptions, instant_query, range_query};

const T: i64 = 1_700_000_000_000;

fn engine() -> &'static Engine {
    static E: OnceLock<(tempfile::TempDir, Engine)> = OnceLock::new();
    &E.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let engine = Engine::open(dir.path()).expect("open");
        let names = [
            "up{job=\"a\",instance=\"1\"}",
            "up{job=\"a\",instance=\"2\"}",
            "x_total{job=\"b\"}",
            "h_bucket{le=\"0.5\"}",
            "h_bucket{le=\"+Inf\"}",
        ];
        let mut samples = Vec::new();
        for i in 0..240i64 {
            for (k, name) in names.iter().enumerate() {
                samples.push(WriteSample {
                    db: "fz",
                    metric: name,
                    ts: (T + i * 15_000) * 1_000_000,
                    value: Value::F64((i * (k as i64 + 1)) as f64 % 97.0),
                });
            }
        }
        engine.write(&samples).expect("write");
        (dir, engine)
    })
    .1
}

fuzz_target!(|data: &[u8]| {
    let Ok(query) = std::str::from_utf8(data) else { return };
    let storage = EngineStorage::new(engine(), None);
    let opts = QueryOptions {
        max_samples: 200_000,
        deadline: Some(Instant::now() + Duration::from_secs(2)),
        ..QueryOptions::default()
    };
    let _ = instant_query(&storage, query, T + 1_800_000, &opts);
    let _ = range_query(&storage, query, T, T + 3_600_000, 60_000, &opts);
});
