//! Out-of-order and retry-safe writes (`[ingest].out_of_order_window`):
//! samples older than their series' newest are stored within the window
//! and rejected beyond it, every read returns each series in time order
//! (pages, frames, restarts, metric files, exports, aggregates), and a
//! sample identical to a stored one is acknowledged without being stored
//! again — also after a restart and for a series idle longer than what
//! the engine reads at open. `kill -9`: tests/out_of_order_crash.rs (its
//! own binary: a child spawned while another test reopens a database
//! could hold that database's lock for a moment).

use std::fs;
use std::ops::ControlFlow;

use nanotdb::{Engine, Error, Value, WriteSample};

const T0: i64 = 1_767_225_600_000_000_000; // 2026-01-01T00:00:00Z
const S: i64 = 1_000_000_000;
const DAY: i64 = 86_400 * S;

#[path = "out_of_order/support.rs"]
mod support;
use support::{read, root, sample};

/// Timestamps 0..40 s written in a scrambled order (each block of ten
/// reversed), values = seconds.
fn scrambled() -> Vec<i64> {
    (0..4)
        .flat_map(|b| (0..10).rev().map(move |k| b * 10 + k))
        .collect()
}

#[test]
fn within_the_window_stored_in_order_beyond_it_rejected() {
    let d = root("1m");
    let e = Engine::open(d.path()).unwrap();
    for t in scrambled() {
        let r = e.write(&[sample("m", T0 + t * S, t as f64)]).unwrap();
        assert!(r.rejected.is_empty(), "t={t}: {:?}", r.rejected);
    }
    let want: Vec<(i64, f64)> = (0..40).map(|t| (T0 + t * S, t as f64)).collect();
    assert_eq!(read(&e, "m"), want);
    // 61 s older than the newest (39 s): beyond the 1 m window, rejected
    // with the reason; the rest of the batch is stored.
    let r = e
        .write(&[
            sample("m", T0 - 22 * S, 0.5),
            sample("m", T0 + 40 * S, 40.0),
        ])
        .unwrap();
    assert_eq!(r.accepted, 1);
    assert!(
        matches!(&r.rejected[..], [(0, Error::OutOfOrder { ts, last, window_ns, .. })]
            if *ts == T0 - 22 * S && *last == T0 + 39 * S && *window_ns == 60 * S),
        "{:?}",
        r.rejected
    );
    // Reads after a restart (WAL replay and frames) and from a rebuilt
    // engine are still in order.
    e.close().unwrap();
    drop(e);
    let e = Engine::open(d.path()).unwrap();
    let want: Vec<(i64, f64)> = (0..41).map(|t| (T0 + t * S, t as f64)).collect();
    assert_eq!(read(&e, "m"), want);
    let listed = fs::read_to_string(d.path().join("o/out-of-order.keys")).unwrap();
    assert_eq!(listed, "2026-01-01\n");
    // Windowed aggregates see every sample once.
    let mut rows = Vec::new();
    e.query_aggregate(
        "o",
        "m",
        T0,
        T0 + 40 * S,
        20 * S,
        &["min", "max", "count"],
        |r| {
            rows.push((r.aggregate.to_string(), r.value));
            ControlFlow::Continue(())
        },
    )
    .unwrap();
    let want: Vec<(String, f64)> = [0.0, 19.0, 20.0, 20.0, 39.0, 20.0, 40.0, 40.0, 1.0]
        .iter()
        .zip(["min", "max", "count"].iter().cycle())
        .map(|(v, a)| (a.to_string(), *v))
        .collect();
    assert_eq!(rows, want);
    // Exports in time order too.
    let mut jsonl = Vec::new();
    e.export_jsonl(
        "o",
        &["m".to_string()],
        i64::MIN,
        i64::MAX,
        false,
        &mut jsonl,
    )
    .unwrap();
    let line = String::from_utf8(jsonl).unwrap();
    let ts_ms: Vec<String> = (0..41)
        .map(|t| (T0 / 1_000_000 + t * 1000).to_string())
        .collect();
    assert!(
        line.contains(&format!("\"timestamps\":[{}]", ts_ms.join(","))),
        "{line}"
    );
}

#[test]
fn the_window_at_zero_is_the_v140_rule() {
    let d = root("0s");
    let e = Engine::open(d.path()).unwrap();
    e.write(&[sample("m", T0 + 10 * S, 1.0)]).unwrap();
    let r = e.write(&[sample("m", T0 + 9 * S, 1.0)]).unwrap();
    assert!(
        matches!(&r.rejected[..], [(0, Error::Stale { ts, last, .. })] if *ts == T0 + 9 * S && *last == T0 + 10 * S),
        "{:?}",
        r.rejected
    );
    // Equal timestamps with another value are kept (v1.4.0); the identical
    // sample is acknowledged once.
    let r = e
        .write(&[sample("m", T0 + 10 * S, 2.0), sample("m", T0 + 10 * S, 1.0)])
        .unwrap();
    assert_eq!((r.accepted, r.duplicates, r.rejected.len()), (1, 1, 0));
    assert_eq!(read(&e, "m"), [(T0 + 10 * S, 1.0), (T0 + 10 * S, 2.0)]);
    assert!(!d.path().join("o/out-of-order.keys").exists());
}

#[test]
fn a_retried_request_is_stored_once_before_and_after_a_restart() {
    let d = root("1h");
    let batch: Vec<WriteSample> = scrambled()
        .into_iter()
        .flat_map(|t| {
            ["a", "b"]
                .into_iter()
                .map(move |m| sample(m, T0 + t * S, (t * 3) as f64 + 0.25))
        })
        .collect();
    let e = Engine::open(d.path()).unwrap();
    let r = e.write(&batch).unwrap();
    assert_eq!((r.accepted, r.duplicates), (80, 0));
    // The retry: every sample already stored (pages and frames).
    let r = e.write(&batch).unwrap();
    assert_eq!((r.accepted, r.duplicates, r.rejected.len()), (0, 80, 0));
    // The same request twice in one atomic batch: stored once.
    let twice: Vec<WriteSample> = batch
        .iter()
        .chain(batch.iter())
        .map(|s| sample(s.metric, s.ts + 40 * S, s.value.as_f64()))
        .collect();
    let r = e.write_atomic(&twice).unwrap();
    assert_eq!((r.accepted, r.duplicates), (80, 80));
    e.close().unwrap();
    drop(e);
    let e = Engine::open(d.path()).unwrap();
    let r = e.write(&batch).unwrap();
    assert_eq!((r.accepted, r.duplicates), (0, 80));
    let want: Vec<(i64, f64)> = (0..80)
        .map(|t| (T0 + t * S, ((t % 40) * 3) as f64 + 0.25))
        .collect();
    assert_eq!(read(&e, "a"), want);
    assert_eq!(read(&e, "b"), want);
    // The same timestamp with another value is a new sample.
    let r = e.write(&[sample("a", T0 + 5 * S, 99.0)]).unwrap();
    assert_eq!((r.accepted, r.duplicates), (1, 0));
}

/// A retry landing just behind a page flush is found in the flushed
/// pages' indexes the partition keeps (without reading its files).
#[test]
fn retries_just_behind_a_flush_are_stored_once() {
    let d = root("1h");
    let e = Engine::open(d.path()).unwrap();
    for t in 0..30i64 {
        let mut b = vec![sample("c", T0 + t * S, t as f64)];
        if t > 0 {
            b.push(sample("c", T0 + (t - 1) * S, (t - 1) as f64));
        }
        let r = e.write(&b).unwrap();
        assert_eq!((r.accepted, r.duplicates), (1, u64::from(t > 0)), "t={t}");
    }
    let all: Vec<WriteSample> = (0..30i64)
        .map(|t| sample("c", T0 + t * S, t as f64))
        .collect();
    let r = e.write(&all).unwrap();
    assert_eq!((r.accepted, r.duplicates), (0, 30));
    let want: Vec<(i64, f64)> = (0..30).map(|t| (T0 + t * S, t as f64)).collect();
    assert_eq!(read(&e, "c"), want);
}

#[test]
fn a_series_idle_beyond_what_open_reads_is_checked_exactly() {
    let d = root("1h");
    {
        let e = Engine::open(d.path()).unwrap();
        // "idle" on day 0 until 05:00; "busy" on days 1–5, so the three
        // newest partitions (what open reads) hold no "idle".
        let mut s: Vec<WriteSample> = (0..=30)
            .map(|k| sample("idle", T0 + k * 600 * S, k as f64))
            .collect();
        s.extend((1..=5).map(|day| sample("busy", T0 + day * DAY, 1.0)));
        assert!(e.write(&s).unwrap().rejected.is_empty());
        e.close().unwrap();
    }
    let e = Engine::open(d.path()).unwrap();
    assert_eq!(
        e.query_last("o", "idle").unwrap().map(|s| s.ts),
        Some(T0 + 30 * 600 * S)
    );
    e.close().unwrap();
    drop(e);
    let e = Engine::open(d.path()).unwrap();
    let r = e
        .write(&[
            // Already stored (day 0, 02:00): acknowledged only.
            sample("idle", T0 + 12 * 600 * S, 12.0),
            // 02:00 with another value: 3 h older than 05:00, rejected.
            sample("idle", T0 + 12 * 600 * S, 7.0),
            // 04:35: within the hour, stored out of order.
            sample("idle", T0 + 27_300 * S, 7.0),
        ])
        .unwrap();
    assert_eq!((r.accepted, r.duplicates), (1, 1));
    assert!(
        matches!(&r.rejected[..], [(1, Error::OutOfOrder { last, .. })] if *last == T0 + 30 * 600 * S),
        "{:?}",
        r.rejected
    );
    let got = read(&e, "idle");
    assert_eq!(got.len(), 32);
    assert!(got.windows(2).all(|w| w[0].0 <= w[1].0), "{got:?}");
}

#[test]
fn a_metric_file_built_from_an_unordered_partition_is_in_order() {
    let d = root("1h");
    let e = Engine::open(d.path()).unwrap();
    // float32: metric files hold 4-byte values only.
    let f32_sample = |ts: i64, v: f32| WriteSample {
        db: "o",
        metric: "m",
        ts,
        value: Value::F32(v),
    };
    for t in scrambled() {
        e.write(&[f32_sample(T0 + t * S, t as f32)]).unwrap();
    }
    // Day 1 and 2 open: day 0 is sealed (max_active_days = 2) and built.
    e.write(&[f32_sample(T0 + DAY, 1.0)]).unwrap();
    e.write(&[f32_sample(T0 + 2 * DAY, 2.0)]).unwrap();
    e.flush_db("o").unwrap();
    let built = e.build_metric_files("o", Some("2026-01-01"), None).unwrap();
    assert_eq!(built.len(), 1);
    assert_eq!(built[0].points, 40);
    e.set_prefer_metric_files(true);
    let got: Vec<(i64, f64)> = read(&e, "m").into_iter().take(40).collect();
    let want: Vec<(i64, f64)> = (0..40).map(|t| (T0 + t * S, t as f64)).collect();
    assert_eq!(got, want);
    e.verify_metric_file("o", "2026-01-01").unwrap();
}
