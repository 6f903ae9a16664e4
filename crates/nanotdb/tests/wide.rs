//! The 8-byte value types, float64 and int64 (docs/FORMATS.md §3.9, §4.13,
//! §5.5, §8.8): exact round trips through pages, frames, the WAL and a
//! restart; mixed frames; aggregates; the catalog guard that keeps v1.4.0
//! out; metric-file builds that skip such partitions; and a database of
//! v1.4.0's types only that keeps writing v1.4.0's bytes.

use std::fs;
use std::ops::ControlFlow;
use std::path::Path;

use nanotdb::catalog::{GUARD_ID, GUARD_NAME};
use nanotdb::frame::DecodedFrame;
use nanotdb::{Engine, Error, Value, ValueType, WriteSample, datafile};
use proptest::prelude::*;

const T0: i64 = 1_767_225_600_000_000_000; // 2026-01-01T00:00:00Z

/// A root whose databases log every sample to the WAL and keep pages open
/// until flushed explicitly (or `max_records` is reached).
fn root(max_records: u32) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("engine.toml"),
        format!(
            r#"
[wal]
fsync_policy = "always"
[durability]
profile = "strict"
[stats]
enabled = false
[manifest_defaults.wal]
enabled = true
skip_before = "0s"
[manifest_defaults.page]
max_records = {max_records}
max_bytes = 100000000
max_age = "1h"
"#
        ),
    )
    .unwrap();
    dir
}

fn write(engine: &Engine, db: &str, metric: &str, samples: &[(i64, Value)]) {
    let batch: Vec<WriteSample> = samples
        .iter()
        .map(|&(ts, value)| WriteSample {
            db,
            metric,
            ts,
            value,
        })
        .collect();
    let report = engine.write(&batch).unwrap();
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
}

fn all(engine: &Engine, db: &str, metric: &str) -> Vec<(i64, Value)> {
    let mut v = Vec::new();
    engine
        .query_range(db, metric, i64::MIN, i64::MAX, 1, |s| {
            v.push((s.ts, s.value));
            ControlFlow::Continue(())
        })
        .unwrap();
    v
}

/// Bit-exact comparison (NaN payloads, -0.0).
fn assert_bits(got: &[(i64, Value)], want: &[(i64, Value)]) {
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(want) {
        assert_eq!(g.0, w.0);
        assert!(g.1.bits_eq(w.1), "{:?} != {:?}", g.1, w.1);
    }
}

/// Every frame of a data file, decoded.
fn frames(path: &Path) -> Vec<DecodedFrame> {
    let scan = datafile::scan_file(path, true).unwrap();
    assert!(scan.damage.is_none(), "{:?}", scan.damage);
    let file = fs::File::open(path).unwrap();
    let mut out = Vec::new();
    for fi in &scan.frames {
        let mut block = Vec::new();
        let mut d = DecodedFrame::default();
        datafile::read_frame(&file, fi, &mut block, &mut d)
            .unwrap()
            .unwrap();
        out.push(d);
    }
    out
}

fn data_file(root: &Path, db: &str) -> std::path::PathBuf {
    root.join(db).join("data-2026-01-01.dat")
}

fn special_f64() -> Vec<f64> {
    vec![
        25276182528.0,
        0.1,
        -0.0,
        0.0,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
        f64::from_bits(0x7ff8_0000_dead_beef), // quiet NaN with a payload
        f64::from_bits(0xfff0_0000_0000_0001), // signalling NaN, sign set
        f64::from_bits(1),                     // smallest subnormal
        f64::MIN_POSITIVE / 3.0,
        f64::MAX,
        f64::MIN,
        1e300,
        std::f64::consts::PI,
    ]
}

fn special_i64() -> Vec<i64> {
    vec![
        25276182528,
        i64::MIN,
        i64::MAX,
        0,
        -1,
        i64::from(i32::MAX) + 1,
        i64::from(i32::MIN) - 1,
        1 << 53 | 1,
    ]
}

fn series(values: impl IntoIterator<Item = Value>) -> Vec<(i64, Value)> {
    values
        .into_iter()
        .enumerate()
        .map(|(i, v)| (T0 + i as i64 * 1_000_000_000, v))
        .collect()
}

#[test]
fn specials_survive_page_frame_restart_and_wal_replay_exactly() {
    let dir = root(100_000);
    let f = series(special_f64().into_iter().map(Value::F64));
    let i = series(special_i64().into_iter().map(Value::I64));
    // Flushed into a frame, then read after a restart.
    let engine = Engine::open(dir.path()).unwrap();
    write(&engine, "a", "f", &f);
    write(&engine, "a", "i", &i);
    assert_bits(&all(&engine, "a", "f"), &f); // from the page
    engine.flush().unwrap();
    assert_bits(&all(&engine, "a", "f"), &f); // from the frame
    engine.close().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    assert_bits(&all(&engine, "a", "f"), &f);
    assert_bits(&all(&engine, "a", "i"), &i);
    let last = engine.query_last("a", "i").unwrap().unwrap();
    assert!(last.value.bits_eq(i[i.len() - 1].1));
    // Only in the WAL when the process dies.
    write(&engine, "b", "f", &f);
    write(&engine, "b", "i", &i);
    engine.abort();
    assert!(!data_file(dir.path(), "b").exists());
    let engine = Engine::open(dir.path()).unwrap();
    assert_bits(&all(&engine, "b", "f"), &f);
    assert_bits(&all(&engine, "b", "i"), &i);
    engine.close().unwrap();
}

#[test]
fn one_frame_mixes_all_four_types() {
    let dir = root(100_000);
    let engine = Engine::open(dir.path()).unwrap();
    let mut want = Vec::new();
    for k in 0..40i64 {
        let ts = T0 + k * 1_000;
        let values = [
            ("i32", Value::I32(-(k as i32) * 7)),
            ("f32", Value::F32(k as f32 / 3.0)),
            ("f64", Value::F64(k as f64 / 3.0 + 1e10)),
            ("i64", Value::I64(i64::MAX - k * 1_000_003)),
        ];
        // Not every type in every step: the wide records are irregular.
        for (m, v) in values
            .into_iter()
            .filter(|(m, _)| k % 3 != 0 || *m != "f64")
        {
            write(&engine, "mix", m, &[(ts, v)]);
            want.push((m, ts, v));
        }
    }
    engine.flush().unwrap();
    let fr = frames(&data_file(dir.path(), "mix"));
    assert_eq!(fr.len(), 1, "one page, one frame");
    assert!(fr[0].has_wide());
    assert_eq!(fr[0].len(), want.len());
    let wide = (0..fr[0].len()).filter(|&i| fr[0].is_wide(i)).count();
    let want_wide = want.iter().filter(|w| w.2.value_type().is_wide()).count();
    assert_eq!(wide, want_wide);
    engine.close().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    for m in ["i32", "f32", "f64", "i64"] {
        let w: Vec<(i64, Value)> = want
            .iter()
            .filter(|x| x.0 == m)
            .map(|x| (x.1, x.2))
            .collect();
        assert_bits(&all(&engine, "mix", m), &w);
    }
    let types: Vec<(String, ValueType)> = engine
        .metrics("mix")
        .unwrap()
        .into_iter()
        .map(|m| (m.name, m.value_type))
        .collect();
    assert!(types.contains(&("f64".to_string(), ValueType::Float64)));
    assert!(types.contains(&("i64".to_string(), ValueType::Int64)));
    // Export prints the exact values.
    let mut out = Vec::new();
    engine.export_to_writer("mix", &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("mix/i64 9223372036854775807i "), "{text}");
    assert!(text.contains("mix/f64 10000000000.333334 "), "{text}");
    engine.close().unwrap();
}

#[test]
fn aggregates_over_wide_values() {
    let dir = root(7); // several frames and a page
    let engine = Engine::open(dir.path()).unwrap();
    let f: Vec<f64> = vec![0.1, 0.2, 0.3, 25276182528.0, -1e-300, 7.5];
    let i: Vec<i64> = vec![25276182528, -3, 1 << 40, 12, 0, -(1 << 35)];
    write(
        &engine,
        "g",
        "f",
        &series(f.iter().copied().map(Value::F64)),
    );
    write(
        &engine,
        "g",
        "i",
        &series(i.iter().copied().map(Value::I64)),
    );
    let aggs = ["sum", "min", "max", "avg", "count"];
    let run = |m: &str| {
        let mut rows = Vec::new();
        engine
            .query_aggregate(
                "g",
                m,
                T0,
                T0 + 3_600_000_000_000,
                3_600_000_000_000,
                &aggs,
                |r| {
                    rows.push((r.aggregate.to_string(), r.value));
                    ControlFlow::Continue(())
                },
            )
            .unwrap();
        rows
    };
    let sum_f = f.iter().fold(-0.0, |a, b| a + b);
    let want_f = [
        ("sum", sum_f),
        ("min", -1e-300),
        ("max", 25276182528.0),
        ("avg", sum_f / 6.0),
        ("count", 6.0),
    ];
    let sum_i: i64 = i.iter().sum();
    let want_i = [
        ("sum", sum_i as f64),
        ("min", -(1i64 << 35) as f64),
        ("max", (1i64 << 40) as f64),
        ("avg", sum_i as f64 / 6.0),
        ("count", 6.0),
    ];
    for (m, want) in [("f", want_f), ("i", want_i)] {
        let got = run(m);
        assert_eq!(got.len(), 5, "{m}: {got:?}");
        for ((name, v), (wn, wv)) in got.iter().zip(want) {
            assert_eq!(name, wn);
            assert_eq!(v.to_bits(), wv.to_bits(), "{m} {name}: {v} != {wv}");
        }
    }
    engine.close().unwrap();
}

#[test]
fn types_are_fixed_by_the_first_sample() {
    let dir = root(100);
    let engine = Engine::open(dir.path()).unwrap();
    write(&engine, "t", "f", &[(T0, Value::F64(1.5))]);
    write(&engine, "t", "n", &[(T0, Value::I32(1))]);
    for (m, v) in [
        ("f", Value::F32(1.5)),
        ("f", Value::I64(1)),
        ("n", Value::I64(1)),
        ("n", Value::F64(1.0)),
    ] {
        let err = engine.add_sample("t", m, T0 + 1, v).unwrap_err();
        assert!(
            matches!(err, Error::TypeMismatch { .. }),
            "{m} {v:?}: {err}"
        );
    }
    engine.close().unwrap();
}

fn catalog_text(root: &Path, db: &str) -> String {
    fs::read_to_string(root.join(db).join("catalog.json")).unwrap_or_default()
}

#[test]
fn the_v1_4_0_guard_is_there_exactly_when_a_wide_metric_exists() {
    let dir = root(100);
    let engine = Engine::open(dir.path()).unwrap();
    write(&engine, "old", "a", &[(T0, Value::F32(1.0))]);
    write(&engine, "old", "b", &[(T0, Value::I32(1))]);
    engine.flush().unwrap();
    assert!(catalog_text(dir.path(), "old").contains("\"a\""));
    assert!(!catalog_text(dir.path(), "old").contains(GUARD_NAME));
    // The first wide sample puts the guard on disk before its WAL record,
    // long before any frame.
    write(&engine, "new", "a", &[(T0, Value::F32(1.0))]);
    write(&engine, "new", "w", &[(T0, Value::I64(1))]);
    assert!(!data_file(dir.path(), "new").exists());
    let text = catalog_text(dir.path(), "new");
    assert!(text.contains(GUARD_NAME), "{text}");
    assert!(text.contains(&format!("\"id\": {GUARD_ID}")), "{text}");
    engine.abort();
    // Still there, and recognised, after a crash and a restart.
    let engine = Engine::open(dir.path()).unwrap();
    assert_eq!(engine.metrics("new").unwrap().len(), 2);
    assert_eq!(all(&engine, "new", "w"), [(T0, Value::I64(1))]);
    write(&engine, "new", "x", &[(T0, Value::F64(2.0))]);
    engine.close().unwrap();
    let text = catalog_text(dir.path(), "new");
    assert_eq!(text.matches(GUARD_NAME).count(), 1, "{text}");
    assert!(!catalog_text(dir.path(), "old").contains(GUARD_NAME));
}

#[test]
fn metric_file_builds_skip_partitions_with_wide_metrics() {
    let dir = root(100);
    let engine = Engine::open(dir.path()).unwrap();
    write(
        &engine,
        "m",
        "a",
        &series((0..10).map(|k| Value::F32(k as f32))),
    );
    write(
        &engine,
        "m",
        "w",
        &series((0..10).map(|k| Value::F64(k as f64 + 0.1))),
    );
    write(
        &engine,
        "n",
        "a",
        &series((0..10).map(|k| Value::F32(k as f32))),
    );
    engine.flush().unwrap();
    let reports = engine.build_metric_files("m", None, None).unwrap();
    assert_eq!(reports.len(), 1);
    let reason = reports[0].skipped.as_deref().unwrap();
    assert!(reason.contains("float64/int64"), "{reason}");
    assert!(!dir.path().join("m/metric-2026-01-01.dat").exists());
    assert!(data_file(dir.path(), "m").exists());
    let reports = engine.build_metric_files("n", None, None).unwrap();
    assert_eq!(reports[0].skipped, None);
    assert!(dir.path().join("n/metric-2026-01-01.dat").exists());
    let w = series((0..10).map(|k| Value::F64(k as f64 + 0.1)));
    assert_bits(&all(&engine, "m", "w"), &w);
    engine.close().unwrap();
}

#[test]
fn v3_metric_files_hold_wide_metrics_and_delete_keeps_only_them() {
    let dir = root(100);
    let engine = Engine::open(dir.path()).unwrap();
    let w = series(
        [
            0.1,
            f64::NAN,
            f64::from_bits(0x7ff8_0000_0000_0001),
            -0.0,
            f64::INFINITY,
            5e-324,
        ]
        .into_iter()
        .map(Value::F64),
    );
    let i = series(
        [i64::MIN, -1, 0, 1, i64::MAX, 42]
            .into_iter()
            .map(Value::I64),
    );
    let a = series((0..6).map(|k| Value::F32(k as f32 / 10.0)));
    write(&engine, "m", "w", &w);
    write(&engine, "m", "i", &i);
    write(&engine, "m", "a", &a);
    engine.flush().unwrap();
    let opts = nanotdb::BuildOptions {
        version: nanotdb::metricfile::Version::V3,
        codec: nanotdb::config::Codec::ZstdFastest,
        raw_action: nanotdb::config::RawIngestAction::Delete,
        verify: true,
    };
    let reports = engine.build_metric_files("m", None, Some(opts)).unwrap();
    assert_eq!(reports[0].skipped, None);
    assert_eq!(reports[0].points, 18);
    assert!(dir.path().join("m/metric-2026-01-01.dat").exists());
    assert!(!data_file(dir.path(), "m").exists());
    assert_bits(&all(&engine, "m", "w"), &w);
    engine.close().unwrap();
    drop(engine);
    let engine = Engine::open(dir.path()).unwrap();
    assert_bits(&all(&engine, "m", "w"), &w);
    assert_bits(&all(&engine, "m", "i"), &i);
    assert_bits(&all(&engine, "m", "a"), &a);
    engine.close().unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn random_wide_values_round_trip_bit_exact(
        fs_ in proptest::collection::vec(any::<u64>(), 1..300),
        is_ in proptest::collection::vec(any::<i64>(), 1..300),
        narrow in proptest::collection::vec(any::<u32>(), 1..300),
        max_records in 2u32..200,
        flush in any::<bool>(),
    ) {
        let dir = root(max_records);
        let f = series(fs_.iter().map(|b| Value::F64(f64::from_bits(*b))));
        let i = series(is_.iter().map(|v| Value::I64(*v)));
        let n = series(narrow.iter().map(|b| Value::F32(f32::from_bits(*b))));
        let engine = Engine::open(dir.path()).unwrap();
        write(&engine, "p", "f", &f);
        write(&engine, "p", "n", &n);
        write(&engine, "p", "i", &i);
        if flush {
            engine.close().unwrap();
        } else {
            engine.abort();
        }
        let engine = Engine::open(dir.path()).unwrap();
        assert_bits(&all(&engine, "p", "f"), &f);
        assert_bits(&all(&engine, "p", "i"), &i);
        assert_bits(&all(&engine, "p", "n"), &n);
        engine.close().unwrap();
    }
}
