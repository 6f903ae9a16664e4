//! Criterion benchmarks on generated workloads (see BENCHMARKS.md).
//!
//! The workload file is generated once into `target/bench-data/` by the
//! `nanotdb-workload` crate (`gen-workload edge --hours 24`, 743,040 lines,
//! the same bytes as the original `gen_workload.py`).

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use nanotdb::{Engine, ImportOptions};

/// Generates (once) and returns a workload file.
pub fn workload(kind: &str, hours: i64) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-data");
    let kind = kind.parse().expect("workload name");
    nanotdb_workload::cached_file(&dir, kind, hours).expect("generate workload")
}

/// Reads every sample of `metric` (the whole day) and sums the values, so
/// nothing is optimised away.
fn sum_of_day(engine: &Engine, metric: &str) -> f64 {
    let mut sum = 0f64;
    engine
        .query_range("edge", metric, i64::MIN, i64::MAX, 1, |s| {
            sum += s.value.as_f64();
            ControlFlow::Continue(())
        })
        .expect("query");
    sum
}

/// An engine.toml for benchmarks: the shipped defaults (the WAL is skipped
/// for the 2026 timestamps by `skip_before = "1h"`), no stats.
fn bench_root() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("engine.toml"), "[stats]\nenabled = false\n").expect("config");
    dir
}

fn import(c: &mut Criterion) {
    let input = workload("edge", 24);
    let lines = 743_040u64;
    let mut g = c.benchmark_group("import");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    g.throughput(Throughput::Elements(lines));
    g.bench_function("edge_24h", |b| {
        b.iter_batched(
            bench_root,
            |root| {
                let engine = Engine::open(root.path()).expect("open");
                let r = engine
                    .import_file(&input, &ImportOptions::default(), &mut ())
                    .expect("import");
                assert_eq!(r.imported, lines);
                engine.close().expect("close");
                root
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

/// A root holding the 24 h `edge` workload, imported and closed.
fn imported_day() -> tempfile::TempDir {
    let input = workload("edge", 24);
    let root = bench_root();
    let engine = Engine::open(root.path()).expect("open");
    engine
        .import_file(&input, &ImportOptions::default(), &mut ())
        .expect("import");
    engine.close().expect("close");
    root
}

fn query(c: &mut Criterion) {
    let root = imported_day();
    let engine = Engine::open(root.path()).expect("open");
    let metric = "temp.probe01";
    let mut n = 0u64;
    engine
        .query_range("edge", metric, i64::MIN, i64::MAX, 1, |_| {
            n += 1;
            ControlFlow::Continue(())
        })
        .expect("query");
    assert_eq!(n, 8640, "one sample every 10 s for a day");
    let mut g = c.benchmark_group("query_raw");
    g.throughput(Throughput::Elements(n));
    g.bench_function("one_metric_full_day", |b| {
        b.iter(|| sum_of_day(&engine, metric))
    });
    g.finish();

    // The same day through a v2 zstd_fastest metric file (raw file kept),
    // then through a v3 file.
    engine
        .build_metric_files("edge", None, None)
        .expect("build");
    query_metric_group(c, &engine, "query_metric_file", metric);
    engine
        .build_metric_files("edge", None, Some(v3_options()))
        .expect("build v3");
    query_metric_group(c, &engine, "query_metric_file_v3", metric);
}

/// v3 build options with the raw file kept.
fn v3_options() -> nanotdb::BuildOptions {
    nanotdb::BuildOptions {
        version: nanotdb::metricfile::Version::V3,
        codec: nanotdb::config::Codec::ZstdFastest,
        raw_action: nanotdb::config::RawIngestAction::Keep,
        verify: false,
    }
}

/// One metric's full day, and all metrics streamed, from the metric file
/// the partition has now.
fn query_metric_group(c: &mut Criterion, engine: &Engine, group: &str, metric: &str) {
    let n = 8640u64;
    let mut g = c.benchmark_group(group);
    g.throughput(Throughput::Elements(n));
    g.bench_function("one_metric_full_day", |b| {
        b.iter(|| sum_of_day(engine, metric))
    });
    let names: Vec<String> = engine
        .metrics("edge")
        .expect("metrics")
        .into_iter()
        .map(|m| m.name)
        .collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    g.throughput(Throughput::Elements(743_040));
    g.bench_function("all_metrics_full_day", |b| {
        b.iter(|| {
            let mut n = 0u64;
            engine
                .query_range_many("edge", &refs, i64::MIN, i64::MAX, 1, |_, _| {
                    n += 1;
                    ControlFlow::Continue(())
                })
                .expect("query");
            assert_eq!(n, 743_040);
            n
        })
    });
    g.finish();
}

fn build(c: &mut Criterion) {
    let root = imported_day();
    let engine = Engine::open(root.path()).expect("open");
    let mut g = c.benchmark_group("build_metric");
    g.sample_size(10);
    g.bench_function("v2_zstd_fastest_full_day", |b| {
        b.iter(|| {
            engine
                .build_metric_files("edge", Some("2026-01-01"), None)
                .expect("build")
        })
    });
    g.bench_function("v3_full_day", |b| {
        b.iter(|| {
            engine
                .build_metric_files("edge", Some("2026-01-01"), Some(v3_options()))
                .expect("build")
        })
    });
    g.finish();
}

criterion_group!(benches, import, query, build);
criterion_main!(benches);
