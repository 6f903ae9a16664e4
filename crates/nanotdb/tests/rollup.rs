//! Rollups: cascades computed during ingest equal a backfill, user data in a
//! destination survives a backfill, grace, lineage.

use std::fs;
use std::ops::ControlFlow;
use std::path::Path;

use nanotdb::{Engine, Value, WriteSample};

const T0: i64 = 1_767_225_600_000_000_000; // 2026-01-01 00:00:00 UTC
const S: i64 = 1_000_000_000;

fn write_manifest(root: &Path, db: &str, text: &str) {
    fs::create_dir_all(root.join(db)).unwrap();
    fs::write(root.join(db).join("manifest.toml"), text).unwrap();
}

const SRC: &str = r#"
[retention]
partition = "day"
max_active_days = 2
[wal]
enabled = true
[rollups]
enabled = true
default_grace = "1m"
[[rollups.jobs]]
id = "ten"
source_pattern = "s.*"
interval = "10m"
aggregates = ["avg", "count"]
destination_db = "r10"
"#;

const R10: &str = r#"
[retention]
partition = "month"
[rollups]
enabled = true
[[rollups.jobs]]
id = "hour"
source_metric = "s.a.avg"
interval = "1h"
aggregates = ["avg", "max"]
destination_db = "r1h"
destination_metric_prefix = "a"
"#;

type Dump = Vec<(String, i64, u64)>;

fn dump(e: &Engine, db: &str) -> Dump {
    let names: Vec<String> = e.metrics(db).unwrap().into_iter().map(|m| m.name).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut out = Vec::new();
    e.query_range_many(db, &refs, i64::MIN, i64::MAX, 1, |m, s| {
        out.push((m.to_string(), s.ts, s.value.to_bits()));
        ControlFlow::Continue(())
    })
    .unwrap();
    out.sort();
    out
}

/// 5 hours of two metrics every 10 s, written in batches of 5 minutes.
/// Writes 5 h of two metrics in 60 batches; with `settle`, waits for the
/// background rollup passes after every batch (as if batches came seconds
/// apart), so that periods are computed incrementally.
fn ingest(e: &Engine, settle: bool) {
    let names = ["s.a", "s.b"];
    for batch in 0..60 {
        let mut samples = Vec::new();
        for k in 0..30 {
            let i = batch * 30 + k;
            for (j, n) in names.iter().enumerate() {
                samples.push(WriteSample {
                    db: "src",
                    metric: n,
                    ts: T0 + i * 10 * S,
                    value: Value::F32(((i * 7 + j as i64 * 3) % 23) as f32 * 0.5),
                });
            }
        }
        let r = e.write(&samples).unwrap();
        assert!(r.rejected.is_empty(), "{:?}", r.rejected);
        if settle {
            e.sync_rollups();
        }
    }
}

#[test]
fn cascade_during_ingest_equals_backfill() {
    let incremental = tempfile::tempdir().unwrap();
    write_manifest(incremental.path(), "src", SRC);
    write_manifest(incremental.path(), "r10", R10);
    let e = Engine::open(incremental.path()).unwrap();
    ingest(&e, true);
    // Automatic passes run on the background worker: wait for them.
    e.sync_rollups();
    let totals = e.rollup_worker_totals();
    // Most periods came from the live accumulators, not a read-back.
    assert!(
        totals.jobs_from_live * 2 > totals.jobs_advanced,
        "{totals:?}"
    );
    let r10 = dump(&e, "r10");
    let r1h = dump(&e, "r1h");
    // 5 h → 29 complete 10-minute periods per metric (the last one waits for
    // a later sample), 2 metrics × 2 aggregates.
    assert_eq!(r10.len(), 29 * 2 * 2);
    // The 1 h cascade ran during ingest too: periods 00:00..03:00 are complete
    // (04:00 needs a 10-minute average at or after 05:00).
    assert_eq!(r1h.len(), 4 * 2);
    assert!(
        r1h.iter()
            .any(|(m, ts, _)| m == "a.max" && *ts == T0 + 3 * 3600 * S)
    );
    // A backfill afterwards on the same root computes the same samples.
    let rep = e.rollup_backfill(&[]).unwrap();
    assert_eq!(rep.source_databases, ["r10", "src"]);
    assert_eq!(dump(&e, "r10"), r10);
    assert_eq!(dump(&e, "r1h"), r1h);
    e.close().unwrap();

    // And so does a backfill of the same data ingested without the trigger.
    let bulk = tempfile::tempdir().unwrap();
    write_manifest(bulk.path(), "src", SRC);
    write_manifest(bulk.path(), "r10", R10);
    let e = Engine::open(bulk.path()).unwrap();
    e.set_auto_rollups(false);
    ingest(&e, false);
    assert!(e.metrics("r10").unwrap().is_empty());
    e.rollup_backfill(&["src"]).unwrap();
    assert_eq!(dump(&e, "r10"), r10);
    assert_eq!(dump(&e, "r1h"), r1h);
    // Period starts, float32 values of the f64 aggregates.
    let first: Vec<&(String, i64, u64)> = r10.iter().filter(|r| r.1 == T0).collect();
    assert_eq!(first.len(), 4);
    let count = first.iter().find(|r| r.0 == "s.a.count").unwrap();
    assert_eq!(f32::from_bits(count.2 as u32), 60.0);
}

#[test]
fn backfill_keeps_user_metrics_in_destinations_and_self_rollups_keep_sources() {
    let d = tempfile::tempdir().unwrap();
    write_manifest(
        d.path(),
        "src",
        r#"
[rollups]
enabled = true
default_grace = "1m"
[[rollups.jobs]]
id = "h"
source_metric = "x"
interval = "1h"
aggregates = ["sum"]
destination_db = "dst"
[[rollups.jobs]]
id = "self"
source_metric = "x"
interval = "1h"
aggregates = ["max"]
destination_db = "src"
"#,
    );
    let e = Engine::open(d.path()).unwrap();
    e.set_auto_rollups(false);
    for i in 0..(3 * 360) {
        e.add_sample("src", "x", T0 + i * 10 * S, Value::F32(1.0))
            .unwrap();
    }
    for i in 0..5 {
        e.add_sample("dst", "user.metric", T0 + i * S, Value::I32(i as i32))
            .unwrap();
    }
    e.rollup_backfill(&[]).unwrap();
    let first = dump(&e, "dst");
    e.flush().unwrap();
    let rep = e.rollup_backfill(&[]).unwrap();
    assert!(rep.cleared_data_files.is_empty(), "{rep:?}");
    assert!(!rep.rewritten_data_files.is_empty(), "{rep:?}");
    let dst = dump(&e, "dst");
    assert_eq!(dst, first);
    let user: Vec<_> = dst.iter().filter(|r| r.0 == "user.metric").collect();
    assert_eq!(user.len(), 5);
    let sums: Vec<_> = dst.iter().filter(|r| r.0 == "x.sum").collect();
    assert_eq!(sums.len(), 2); // 00:00 and 01:00; 02:00 waits for a later sample
    assert_eq!(f32::from_bits(sums[0].2 as u32), 360.0);
    let src = dump(&e, "src");
    assert_eq!(src.iter().filter(|r| r.0 == "x").count(), 3 * 360);
    assert_eq!(src.iter().filter(|r| r.0 == "x.max").count(), 2);
}

#[test]
fn grace_holds_back_recent_periods() {
    let d = tempfile::tempdir().unwrap();
    write_manifest(
        d.path(),
        "src",
        r#"
[rollups]
enabled = true
[[rollups.jobs]]
id = "slow"
source_metric = "x"
interval = "1h"
grace = "87600h"
aggregates = ["count"]
destination_db = "slow"
[[rollups.jobs]]
id = "fast"
source_metric = "x"
interval = "1h"
grace = "1s"
aggregates = ["count"]
destination_db = "fast"
"#,
    );
    let e = Engine::open(d.path()).unwrap();
    for i in 0..(2 * 360 + 1) {
        e.add_sample("src", "x", T0 + i * 10 * S, Value::F32(1.0))
            .unwrap();
    }
    e.sync_rollups();
    assert!(e.metrics("slow").is_err() || e.metrics("slow").unwrap().is_empty());
    assert_eq!(dump(&e, "fast").len(), 2);
    let cp = fs::read_to_string(d.path().join("src/rollup.checkpoints.log")).unwrap();
    assert!(cp.lines().all(|l| l.starts_with("fast,")), "{cp}");
    assert!(
        cp.ends_with(&format!("fast,{}\n", T0 + 2 * 3600 * S)),
        "{cp}"
    );
}

#[test]
fn downstream_lineage_follows_explicit_jobs() {
    let d = tempfile::tempdir().unwrap();
    write_manifest(
        d.path(),
        "src",
        SRC.replace("source_pattern = \"s.*\"", "source_metric = \"s.a\"")
            .as_str(),
    );
    write_manifest(d.path(), "r10", R10);
    let e = Engine::open(d.path()).unwrap();
    e.add_sample("src", "s.a", T0, Value::F32(1.0)).unwrap();
    let one = e.rollup_downstream("src", "s.a", 1).unwrap();
    let got: Vec<(u32, &str, &str)> = one
        .steps
        .iter()
        .map(|s| (s.hop, s.database.as_str(), s.metric.as_str()))
        .collect();
    assert_eq!(got, [(1, "r10", "s.a.avg"), (1, "r10", "s.a.count")]);
    assert!(one.truncated);
    assert_eq!(one.steps[0].interval, "10m0s");
    let two = e.rollup_downstream("src", "s.a", 5).unwrap();
    let got: Vec<(u32, &str, &str)> = two
        .steps
        .iter()
        .map(|s| (s.hop, s.database.as_str(), s.metric.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (1, "r10", "s.a.avg"),
            (1, "r10", "s.a.count"),
            (2, "r1h", "a.avg"),
            (2, "r1h", "a.max")
        ]
    );
    assert!(!two.truncated);
    assert!(e.rollup_downstream("src", "s.a", 0).is_err());
    assert!(e.rollup_downstream("nope", "s.a", 1).is_err());
}

#[test]
fn trigger_picks_up_new_pattern_metrics_and_skips_destinations_with_metric_files() {
    let d = tempfile::tempdir().unwrap();
    write_manifest(d.path(), "src", SRC);
    let e = Engine::open(d.path()).unwrap();
    let write = |metric: &str, from: i64, to: i64| {
        for i in from..to {
            e.add_sample("src", metric, T0 + i * 10 * S, Value::F32(2.0))
                .unwrap();
        }
    };
    write("s.a", 0, 200);
    // A metric appearing later is rolled up from its own first sample.
    write("s.new", 100, 200);
    e.sync_rollups();
    let r10 = dump(&e, "r10");
    let new: Vec<i64> = r10
        .iter()
        .filter(|r| r.0 == "s.new.count")
        .map(|r| (r.1 - T0) / S)
        .collect();
    // First sample at 00:16:40: periods 00:10 and 00:20; 00:30 is incomplete.
    assert_eq!(new, [600, 1200]);
    // A destination holding a user metric and a metric-*.dat file is left alone.
    e.add_sample("r10", "user", T0, Value::F32(1.0)).unwrap();
    e.flush().unwrap();
    fs::write(d.path().join("r10/metric-2026-01.dat"), b"").unwrap();
    let rep = e.rollup_backfill(&["src"]).unwrap();
    assert_eq!(rep.skipped_destinations.len(), 1, "{rep:?}");
    assert!(rep.cleared_data_files.is_empty());
    assert_eq!(
        dump(&e, "r10").iter().filter(|r| r.0 != "user").count(),
        r10.len()
    );
}

/// Periods computed from the live accumulators (every aggregate, NaN and
/// int32 samples, a day boundary between two open partitions) are the same
/// as a backfill's, which reads everything back from the files.
#[test]
fn live_accumulators_equal_read_back() {
    let d = tempfile::tempdir().unwrap();
    write_manifest(
        d.path(),
        "src",
        r#"
[retention]
partition = "day"
max_active_days = 2
[page]
max_records = 500
[rollups]
enabled = true
default_grace = "1m"
[[rollups.jobs]]
id = "all"
source_pattern = "*"
interval = "10m"
aggregates = ["avg", "count", "max", "median", "min", "p50", "p95", "p99", "sum", "trimmed_avg"]
destination_db = "dst"
"#,
    );
    let e = Engine::open(d.path()).unwrap();
    let start = T0 + 86_400 * S - 3 * 3600 * S; // 21:00, crosses midnight
    for batch in 0..72 {
        write_f_and_n(&e, start, batch * 50..batch * 50 + 50);
        e.sync_rollups();
    }
    // Only the two jobs' first periods (begun before the accumulators
    // existed) are read back.
    let live = live_equals_backfill(&e, 2, 0);
    // 3 h of 3 s samples: 17 complete 10-minute periods (the last one waits
    // for a later sample) × 2 metrics × 10 aggregates.
    assert_eq!(live.len(), 17 * 2 * 10);
}

/// A pass whose periods begin before the accumulators existed reads only
/// those first periods back and takes the rest from memory (the first
/// automatic pass of a bulk load, or the first after a restart).
#[test]
fn live_accumulators_serve_the_periods_after_they_began() {
    let d = tempfile::tempdir().unwrap();
    write_manifest(
        d.path(),
        "src",
        r#"
[page]
max_records = 400
[rollups]
enabled = true
default_grace = "1m"
[[rollups.jobs]]
id = "all"
source_pattern = "*"
interval = "10m"
aggregates = ["avg", "count", "max", "median", "min", "sum"]
destination_db = "dst"
"#,
    );
    let e = Engine::open(d.path()).unwrap();
    let start = T0 + 21 * 3600 * S;
    // Five minutes, then a pass: it installs the accumulators from 21:10.
    write_f_and_n(&e, start, 0..100);
    e.sync_rollups();
    assert_eq!(e.rollup_worker_totals().jobs_advanced, 0);
    // Two hours more in one batch: the next pass starts at 21:00.
    write_f_and_n(&e, start, 100..2500);
    e.sync_rollups();
    // 21:00–21:10 read back for each of the two metrics; everything else
    // from memory.
    let live = live_equals_backfill(&e, 0, 2);
    // 2 h 5 min of samples: 12 complete periods × 2 metrics × 6 aggregates.
    assert_eq!(live.len(), 12 * 2 * 6);
}

/// Writes samples `range` (3 s apart from `start`) of `src/f` (float32,
/// with NaN and +Inf among them) and `src/n` (int32) in one batch.
fn write_f_and_n(e: &Engine, start: i64, range: std::ops::Range<i64>) {
    let mut samples = Vec::new();
    for i in range {
        let ts = start + i * 3 * S;
        let f = match i % 37 {
            0 => f32::NAN,
            5 => f32::INFINITY,
            _ => ((i * 13) % 101) as f32 * 0.25 - 7.0,
        };
        samples.push(WriteSample {
            db: "src",
            metric: "f",
            ts,
            value: Value::F32(f),
        });
        samples.push(WriteSample {
            db: "src",
            metric: "n",
            ts,
            value: Value::I32(((i * 7919) % 1000) as i32 - 500),
        });
    }
    let r = e.write(&samples).unwrap();
    assert!(r.rejected.is_empty(), "{:?}", r.rejected);
}

/// Checks that all but `read_back` jobs of the automatic passes came from
/// the live accumulators (`partly` of them with their first periods read
/// back) and that a backfill of `src` rebuilds `dst` to the same samples;
/// returns them.
fn live_equals_backfill(e: &Engine, read_back: u64, partly: u64) -> Dump {
    let totals = e.rollup_worker_totals();
    assert_eq!(totals.jobs_partly_from_live, partly, "{totals:?}");
    assert_eq!(
        totals.jobs_from_live + partly + read_back,
        totals.jobs_advanced,
        "{totals:?}"
    );
    let live = dump(e, "dst");
    e.rollup_backfill(&["src"]).unwrap();
    assert_eq!(dump(e, "dst"), live);
    live
}

/// With periods that do not end at midnight, the old day's last page is
/// flushed after the new day's first pages; the live accumulators must still
/// see each metric's samples in order (and keep serving the passes). They
/// are fed as samples are stored; this guards against feeding them from the
/// flushed pages, in flush order.
#[test]
fn live_accumulators_survive_a_day_boundary_between_passes() {
    let d = tempfile::tempdir().unwrap();
    write_manifest(
        d.path(),
        "src",
        r#"
[retention]
partition = "day"
max_active_days = 2
[page]
max_records = 47
[rollups]
enabled = true
default_grace = "1m"
[[rollups.jobs]]
id = "odd"
source_metric = "m"
interval = "57m"
aggregates = ["sum", "count"]
destination_db = "dst"
"#,
    );
    let e = Engine::open(d.path()).unwrap();
    let start = T0 + 86_400 * S - 3600 * S; // 23:00, crosses midnight
    for batch in 0..48i64 {
        let samples: Vec<WriteSample<'_>> = (0..100i64)
            .map(|k| WriteSample {
                db: "src",
                metric: "m",
                ts: start + (batch * 100 + k) * midnight_step(),
                value: Value::I32(1),
            })
            .collect();
        assert!(e.write(&samples).unwrap().rejected.is_empty());
        e.sync_rollups();
    }
    // Only the first period (begun before the accumulators existed) is read
    // back, also across midnight.
    live_equals_backfill(&e, 1, 0);
}

/// 3 s between samples.
fn midnight_step() -> i64 {
    3 * S
}

/// A metric whose newest sample is older than what a database reads at
/// open: its newest sample is looked up in the older partitions when it is
/// written older than them, so a sample beyond the out-of-order window is
/// rejected and one within it is stored out of order; the rollups (live
/// accumulators start after the newest sample, exact now) equal a
/// backfill.
#[test]
fn a_metric_not_found_at_open_is_read_back() {
    let d = tempfile::tempdir().unwrap();
    write_manifest(
        d.path(),
        "src",
        r#"
[retention]
partition = "day"
[rollups]
enabled = true
default_grace = "1m"
[[rollups.jobs]]
id = "old"
source_metric = "old"
interval = "1h"
aggregates = ["count", "sum"]
destination_db = "dst"
"#,
    );
    let sample = |metric: &'static str, ts: i64, v: f32| WriteSample {
        db: "src",
        metric,
        ts,
        value: Value::F32(v),
    };
    {
        let e = Engine::open(d.path()).unwrap();
        e.set_auto_rollups(false);
        // "old" on day 0, 00:00–03:50; "new" once a day on days 1–5, so the
        // three newest partitions (what open reads) hold no "old".
        let mut samples: Vec<WriteSample> = (0..24)
            .map(|k| sample("old", T0 + k * 600 * S, k as f32))
            .collect();
        samples.extend((1..=5).map(|day| sample("new", T0 + day * 86_400 * S, 1.0)));
        assert!(e.write(&samples).unwrap().rejected.is_empty());
        e.close().unwrap();
    }
    let e = Engine::open(d.path()).unwrap();
    // 01:05, 2 h 45 min older than the 03:50 on disk: beyond the window.
    let r = e.write(&[sample("old", T0 + 3_900 * S, 100.0)]).unwrap();
    assert!(
        matches!(&r.rejected[..], [(0, nanotdb::Error::OutOfOrder { ts, last, .. })]
            if *ts == T0 + 3_900 * S && *last == T0 + 23 * 600 * S),
        "{:?}",
        r.rejected
    );
    // 03:05, within the window: stored out of order.
    let r = e.write(&[sample("old", T0 + 11_100 * S, 100.0)]).unwrap();
    assert!(r.rejected.is_empty(), "{:?}", r.rejected);
    assert_eq!(r.accepted, 1);
    e.sync_rollups();
    let later: Vec<WriteSample> = (4..7)
        .map(|h| sample("old", T0 + h * 3_600 * S + 600 * S, 7.0))
        .collect();
    assert!(e.write(&later).unwrap().rejected.is_empty());
    e.sync_rollups();
    let live = dump(&e, "dst");
    // Hours 0–5 of "old", count and sum.
    assert_eq!(live.len(), 6 * 2, "{live:?}");
    e.rollup_backfill(&["src"]).unwrap();
    assert_eq!(dump(&e, "dst"), live);
}
