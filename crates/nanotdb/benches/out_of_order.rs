//! The cost of out-of-order samples (issue 20: at most 2× in-order ones).
//!
//! 1,000 labelled series at a 10 s interval for one hour (360,000 samples),
//! written with `Engine::write` in batches of 2,000 into a fresh root: once
//! in time order, once with each block of ten steps reversed, so nine
//! samples in ten are older than their series' newest (up to 90 s late,
//! within the default one-hour window) and each is checked for being a
//! retry (the open page's index, then the partition's files). Every
//! sample is WAL-logged (`skip_before = "0s"`). See BENCHMARKS.md.

use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use nanotdb::{Engine, Value, WriteSample};

const T0: i64 = 1_767_225_600_000_000_000; // 2026-01-01T00:00:00Z
const SERIES: usize = 1_000;
const STEPS: i64 = 360;
const STEP_NS: i64 = 10_000_000_000;
const BATCH: usize = 2_000;

fn names() -> Vec<String> {
    (0..SERIES)
        .map(|i| {
            format!(
                "node_cpu_seconds_total{{cpu=\"{}\",instance=\"host{:03}:9100\",mode=\"user\"}}",
                i % 8,
                i / 8
            )
        })
        .collect()
}

/// Step numbers in write order: ascending, or each block of ten reversed.
fn steps(scrambled: bool) -> Vec<i64> {
    (0..STEPS)
        .map(|s| {
            if scrambled {
                s - s % 10 + 9 - s % 10
            } else {
                s
            }
        })
        .collect()
}

fn root() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("engine.toml"),
        "[stats]\nenabled = false\n[manifest_defaults.wal]\nskip_before = \"0s\"\n",
    )
    .expect("config");
    dir
}

fn write_all(engine: &Engine, names: &[String], steps: &[i64]) -> u64 {
    let mut samples: Vec<WriteSample<'_>> = Vec::with_capacity(BATCH);
    let mut stored = 0;
    for &step in steps {
        for (i, name) in names.iter().enumerate() {
            samples.push(WriteSample {
                db: "fleet",
                metric: name,
                ts: T0 + step * STEP_NS,
                value: Value::F64(step as f64 * 0.5 + i as f64),
            });
            if samples.len() == BATCH {
                let r = engine.write(&samples).expect("write");
                assert!(r.rejected.is_empty(), "{:?}", r.rejected.first());
                stored += r.accepted;
                samples.clear();
            }
        }
    }
    stored
}

fn out_of_order(c: &mut Criterion) {
    let names = names();
    let mut g = c.benchmark_group("out_of_order");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.throughput(Throughput::Elements(SERIES as u64 * STEPS as u64));
    for (label, scrambled) in [("in_order", false), ("late_9_of_10", true)] {
        let order = steps(scrambled);
        g.bench_function(label, |b| {
            b.iter_batched(
                root,
                |root| {
                    let engine = Engine::open(root.path()).expect("open");
                    let stored = write_all(&engine, &names, &order);
                    assert_eq!(stored, SERIES as u64 * STEPS as u64);
                    engine.close().expect("close");
                    root
                },
                BatchSize::PerIteration,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, out_of_order);
criterion_main!(benches);
