//! Forwarding reads (`nanotdb::forward`): every flushed sample is read
//! exactly once from a byte-position cursor — out-of-order samples too —
//! positions survive a metric-file build renaming the data file, and
//! retention keeps partitions a target has not delivered (unless past
//! `max_lag`).

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::sync::Arc;

use nanotdb::forward::{Cursor, DbSelection, ForwardHold};
use nanotdb::{BuildOptions, Engine, Value, WriteSample};

const T0: i64 = 1_767_225_600_000_000_000; // 2026-01-01T00:00:00Z
const S: i64 = 1_000_000_000;
const DAY: i64 = 86_400 * S;

fn root(extra: &str) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    fs::write(
        d.path().join("engine.toml"),
        format!(
            r#"
[stats]
enabled = false
[ingest]
max_future = "0s"
out_of_order_window = "1h"
[manifest_defaults.retention]
max_active_days = 1
{extra}
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
    d
}

/// Float32 values: metric files (the rename test) cannot hold float64.
fn write(e: &Engine, metric: &str, ts: i64, v: f64) {
    let s = [WriteSample {
        db: "f",
        metric,
        ts,
        value: Value::F32(v as f32),
    }];
    let r = e.write(&s).unwrap();
    assert_eq!(r.rejected.len(), 0, "{r:?}");
}

/// Reads everything pending in chunks of `chunk`, advancing `cur`; returns
/// (metric, ts, value) as read.
fn drain(e: &Engine, cur: &mut Cursor, chunk: usize) -> Vec<(String, i64, f64)> {
    let names: BTreeMap<u16, String> = e
        .metrics("f")
        .unwrap()
        .into_iter()
        .map(|m| (m.id, m.name))
        .collect();
    let mut out = Vec::new();
    loop {
        let pos = cur.databases.entry("f".into()).or_default().clone();
        let c = e.forward_read("f", &pos, chunk).unwrap();
        assert!(c.samples.len() <= chunk);
        assert_eq!(c.unknown, 0);
        for s in &c.samples {
            out.push((names[&s.id].clone(), s.ts, s.value));
        }
        let d = cur.databases.entry("f".into()).or_default();
        for (k, p) in c.positions {
            d.insert(k, p);
        }
        if c.samples.is_empty() {
            assert!(!c.more);
            assert_eq!(c.pending_bytes, 0);
            return out;
        }
    }
}

fn sorted(mut v: Vec<(String, i64, f64)>) -> Vec<(String, i64, f64)> {
    v.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    v
}

#[test]
fn every_flushed_sample_is_read_once_out_of_order_ones_too() {
    let d = root("");
    let e = Engine::open(d.path()).unwrap();
    let mut written = Vec::new();
    for i in 0..40 {
        let ts = T0 + i * 60 * S;
        for m in ["a", "b{x=\"1\"}"] {
            write(&e, m, ts, i as f64);
            written.push((m.to_string(), ts, i as f64));
        }
    }
    e.flush().unwrap();
    let mut cur = Cursor::new("http://x");
    let first = drain(&e, &mut cur, 5);
    assert_eq!(sorted(first.clone()), sorted(written.clone()));
    // Nothing new: nothing read.
    assert!(drain(&e, &mut cur, 5).is_empty());
    // Late samples (out of order, within the window) and a new day.
    let mut later = Vec::new();
    for i in 0..10 {
        let ts = T0 + i * 60 * S + 30 * S;
        write(&e, "a", ts, -(i as f64));
        later.push(("a".to_string(), ts, -(i as f64)));
    }
    write(&e, "a", T0 + DAY, 1.5);
    later.push(("a".to_string(), T0 + DAY, 1.5));
    // Not flushed yet: not read.
    let unflushed = drain(&e, &mut cur, 3);
    e.flush().unwrap();
    let mut second = unflushed;
    second.extend(drain(&e, &mut cur, 3));
    assert_eq!(sorted(second), sorted(later));
    // The cursor survives a restart (saved and loaded) and a reopen.
    let path = e.forward_cursor_path("t");
    cur.save(&path).unwrap();
    drop(e);
    let e = Engine::open(d.path()).unwrap();
    let mut cur = Cursor::load(&path, "http://x").unwrap();
    assert!(drain(&e, &mut cur, 7).is_empty());
    // A fresh cursor reads everything again.
    let mut fresh = Cursor::new("http://x");
    assert_eq!(drain(&e, &mut fresh, 1000).len(), written.len() + 11);
}

#[test]
fn positions_survive_a_metric_file_build_renaming_the_data_file() {
    let d = root("");
    let e = Engine::open(d.path()).unwrap();
    for i in 0..30 {
        write(&e, "a", T0 + i * S, i as f64);
    }
    e.flush().unwrap();
    let mut cur = Cursor::new("u");
    // Half of it delivered, stopping inside a frame.
    let pos = cur.databases.entry("f".into()).or_default().clone();
    let c = e.forward_read("f", &pos, 11).unwrap();
    assert_eq!(c.samples.len(), 11);
    assert!(c.more);
    let partial = c.positions.clone();
    assert!(partial.iter().any(|(_, p)| p.skip > 0), "{partial:?}");
    cur.databases.get_mut("f").unwrap().extend(partial);
    drop(e);
    let e = Engine::open(d.path()).unwrap();
    let key = "2026-01-01";
    let opts = BuildOptions {
        version: nanotdb::metricfile::Version::V2,
        codec: nanotdb::config::Codec::S2,
        raw_action: nanotdb::config::RawIngestAction::Rename,
        verify: false,
    };
    e.build_metric_files("f", Some(key), Some(opts)).unwrap();
    assert!(d.path().join("f").join(format!("raw-{key}.dat")).is_file());
    assert!(!d.path().join("f").join(format!("data-{key}.dat")).exists());
    let rest = drain(&e, &mut cur, 4);
    let ts: Vec<i64> = rest.iter().map(|r| r.1).collect();
    let want: Vec<i64> = (11..30).map(|i| T0 + i * S).collect();
    assert_eq!(ts, want);
}

/// Registers `hold` (before writing: sealing a partition runs retention),
/// writes one sample on each of two old days, closes and reopens, so both
/// partitions are sealed and past retention.
fn old_partitions(d: &Path, hold: &Arc<ForwardHold>) -> Engine {
    let e = Engine::open(d).unwrap();
    e.add_forward_hold(hold.clone());
    write(&e, "a", T0, 1.0);
    write(&e, "a", T0 + DAY, 2.0);
    e.flush().unwrap();
    drop(e);
    let e = Engine::open(d).unwrap();
    e.add_forward_hold(hold.clone());
    e
}

fn hold(name: &str, dbs: DbSelection, max_lag: Option<i64>) -> Arc<ForwardHold> {
    Arc::new(ForwardHold::new(name, dbs, max_lag, Cursor::new("u")))
}

#[test]
fn retention_keeps_what_a_target_has_not_delivered() {
    let d = root("retention_days = 1\nretention_action = \"delete\"");
    let h = hold("t", DbSelection::AllButInternal, None);
    let e = old_partitions(d.path(), &h);
    let r = e.apply_retention("f", false).unwrap();
    assert!(r.expired.is_empty(), "{r:?}");
    assert!(d.path().join("f/data-2026-01-01.dat").is_file());
    // Delivered: released.
    let mut cur = Cursor::new("u");
    assert_eq!(drain(&e, &mut cur, 100).len(), 2);
    h.set_delivered(&cur);
    let r = e.apply_retention("f", false).unwrap();
    assert_eq!(r.expired, ["2026-01-01", "2026-01-02"]);
    assert_eq!(h.released(), 0);
    // A target of other databases holds nothing.
    let d = root("retention_days = 1\nretention_action = \"delete\"");
    let h = hold("other", DbSelection::Only(vec!["g".into()]), None);
    let e = old_partitions(d.path(), &h);
    assert!(!d.path().join("f/data-2026-01-01.dat").exists());
    assert!(e.apply_retention("f", false).unwrap().expired.len() <= 1);
}

#[test]
fn retention_releases_a_target_past_max_lag() {
    let d = root("retention_days = 1\nretention_action = \"delete\"");
    let h = hold("slow", DbSelection::AllButInternal, Some(S));
    let e = old_partitions(d.path(), &h);
    assert!(d.path().join("f/data-2026-01-01.dat").is_file());
    // Caught up long ago: more than max_lag behind.
    h.set_caught_up(nanotdb::time::now_ns() - 10 * S);
    let dry = e.apply_retention("f", true).unwrap();
    assert_eq!(dry.expired.len(), 2);
    assert_eq!(h.released(), 0, "a dry run counts nothing");
    let r = e.apply_retention("f", false).unwrap();
    assert_eq!(r.expired.len(), 2);
    assert_eq!(h.released(), 2);
    // Within max_lag: held.
    let d = root("retention_days = 1\nretention_action = \"delete\"");
    let h = hold("ok", DbSelection::AllButInternal, Some(3600 * S));
    let e = old_partitions(d.path(), &h);
    assert!(e.apply_retention("f", false).unwrap().expired.is_empty());
}

#[test]
fn raw_delete_becomes_rename_while_undelivered() {
    let d = root("");
    let h = hold("t", DbSelection::AllButInternal, None);
    let e = old_partitions(d.path(), &h);
    let opts = BuildOptions {
        version: nanotdb::metricfile::Version::V2,
        codec: nanotdb::config::Codec::S2,
        raw_action: nanotdb::config::RawIngestAction::Delete,
        verify: false,
    };
    e.build_metric_files("f", Some("2026-01-01"), Some(opts))
        .unwrap();
    assert!(d.path().join("f/raw-2026-01-01.dat").is_file());
    let mut cur = Cursor::new("u");
    assert_eq!(drain(&e, &mut cur, 100).len(), 2);
    h.set_delivered(&cur);
    e.build_metric_files("f", Some("2026-01-02"), Some(opts))
        .unwrap();
    assert!(!d.path().join("f/raw-2026-01-02.dat").exists());
    assert!(!d.path().join("f/data-2026-01-02.dat").exists());
}
