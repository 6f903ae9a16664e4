//! A damaged WAL record never takes a database offline: replay keeps the
//! records before it, the rest of the file is kept aside, and the data
//! files stay readable (issue 19, item 5 in part).

mod common;

use std::fs;
use std::ops::ControlFlow;

use common::*;
use nanotdb::Engine;

/// Counts every sample of every metric of `db`.
fn count_all(engine: &Engine, db: &str) -> usize {
    let mut n = 0;
    for m in engine.metrics(db).unwrap() {
        engine
            .query_range(db, &m.name, i64::MIN, i64::MAX, 1, |_| {
                n += 1;
                ControlFlow::Continue(())
            })
            .unwrap();
    }
    n
}

#[test]
fn a_record_with_an_unknown_metric_id_stops_replay_there() {
    for read_only in [true, false] {
        let root = copy_tree(&fixture("wal-replay/root"));
        let wal = root.path().join("live/live.wal");
        let bytes = fs::read(&wal).unwrap();
        let scan = nanotdb::wal::scan_wal(&bytes);
        let k = scan.records.len() / 2;
        let (offset, rec) = &scan.records[k];
        assert!(rec.new_metric.is_none(), "pick a record that names nothing");
        // Its id (after the one-byte length) flips to one nothing names.
        let mut damaged = bytes.clone();
        let at = *offset as usize + 1;
        damaged[at..at + 2].copy_from_slice(&0xfffeu16.to_le_bytes());
        fs::write(&wal, &damaged).unwrap();
        let engine = if read_only {
            Engine::open_read_only(root.path()).unwrap()
        } else {
            Engine::open(root.path()).unwrap()
        };
        assert_eq!(count_all(&engine, "live"), k, "read_only={read_only}");
        if !read_only {
            // Cut at the record, then rewritten as a WAL of ours (a v1.4.0
            // WAL is rewritten before anything is appended to it).
            let now = nanotdb::wal::scan_wal(&fs::read(&wal).unwrap());
            assert!(now.checked && now.stop.is_none() && now.damage.is_empty());
            assert_eq!(now.records.len(), k);
            let kept = root.path().join(format!("live/live.wal.torn-at-{offset}"));
            assert_eq!(fs::read(&kept).unwrap(), &damaged[*offset as usize..]);
            engine.close().unwrap();
            let engine = Engine::open(root.path()).unwrap();
            assert_eq!(count_all(&engine, "live"), k, "after a clean close");
        }
    }
}

const T0: i64 = 1_767_225_600_000_000_000; // 2026-01-01T00:00:00Z

/// A root whose databases log every sample and keep them in memory (no
/// page fills up), fsyncing every write.
fn wal_root() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    fs::write(
        root.path().join("engine.toml"),
        "[wal]\nfsync_policy = \"always\"\n[stats]\nenabled = false\n[ingest]\nmax_future = \"0s\"\n\
         [manifest_defaults.wal]\nenabled = true\nskip_before = \"0s\"\n\
         [manifest_defaults.page]\nmax_records = 60000\nmax_bytes = 10000000\nmax_age = \"1000h\"\n",
    )
    .unwrap();
    root
}

/// Every (metric, ts, value) of `db`, in query order.
fn samples_of(engine: &Engine, db: &str) -> Vec<(String, i64, i32)> {
    let mut out = Vec::new();
    let Ok(metrics) = engine.metrics(db) else {
        return out;
    };
    for m in metrics {
        engine
            .query_range(db, &m.name, i64::MIN, i64::MAX, 1, |s| {
                let nanotdb::Value::I32(v) = s.value else {
                    panic!("type")
                };
                out.push((m.name.clone(), s.ts, v));
                ControlFlow::Continue(())
            })
            .unwrap();
    }
    out.sort();
    out
}

/// Writes `batches` write calls of 4 samples (two metrics, 1 ms apart, so
/// records carry deltas to a shared baseline) to `db`; returns them in the
/// order [`samples_of`] gives.
fn write_batches(engine: &Engine, db: &str, batches: i64) -> Vec<(String, i64, i32)> {
    let mut all = Vec::new();
    for b in 0..batches {
        let samples: Vec<(String, i64, i32)> = (0..4)
            .map(|i| {
                (
                    format!("m{}", i % 2),
                    T0 + (b * 4 + i) * 1_000_000,
                    (b * 4 + i) as i32,
                )
            })
            .collect();
        let ws: Vec<nanotdb::WriteSample<'_>> = samples
            .iter()
            .map(|(m, ts, v)| nanotdb::WriteSample {
                db,
                metric: m,
                ts: *ts,
                value: nanotdb::Value::I32(*v),
            })
            .collect();
        let r = engine.write(&ws).unwrap();
        assert!(r.rejected.is_empty(), "{:?}", r.rejected);
        all.extend(samples);
    }
    all.sort();
    all
}

/// A flipped byte in the middle of a WAL written by this implementation
/// costs only the records of the damaged write from that record on: replay
/// picks up again at the next write (each starts with a baseline), nothing
/// comes back wrong, the damaged file is kept aside, and the WAL is
/// rewritten clean.
#[test]
fn a_flipped_byte_in_our_wal_costs_only_the_damaged_write() {
    let root = wal_root();
    let engine = Engine::open(root.path()).unwrap();
    let written = write_batches(&engine, "d", 100);
    engine.abort();
    let wal = root.path().join("d/d.wal");
    let bytes = fs::read(&wal).unwrap();
    let scan = nanotdb::wal::scan_wal(&bytes);
    assert_eq!(scan.records.len(), 400);
    assert!(scan.checked);
    // The value of the second record of write 50.
    let (offset, _) = scan.records[50 * 4 + 1];
    let next = scan.records[50 * 4 + 2].0;
    let mut damaged = bytes.clone();
    damaged[next as usize - 6] ^= 0x10;
    fs::write(&wal, &damaged).unwrap();

    let engine = Engine::open(root.path()).unwrap();
    let got = samples_of(&engine, "d");
    // Records 1..=3 of write 50 are lost: the damaged one, and the two after
    // it, which are relative to a baseline replay cannot trust any more.
    let lost: Vec<i32> = (201..=203).collect();
    let want: Vec<_> = written
        .iter()
        .filter(|s| !lost.contains(&s.2))
        .cloned()
        .collect();
    let mut missing: Vec<i32> = written
        .iter()
        .filter(|s| !got.contains(s))
        .map(|s| s.2)
        .collect();
    missing.sort();
    assert_eq!(missing, lost);
    assert!(got == want, "a sample that was never written came back");
    let kept = root.path().join(format!("d/d.wal.damaged-at-{offset}"));
    assert_eq!(fs::read(&kept).unwrap(), damaged, "the damaged WAL is kept");
    let now = nanotdb::wal::scan_wal(&fs::read(&wal).unwrap());
    assert!(now.damage.is_empty() && now.stop.is_none(), "{now:?}");
    assert_eq!(now.records.len(), 397);
    engine.abort();
    let engine = Engine::open(root.path()).unwrap();
    assert_eq!(samples_of(&engine, "d"), want, "after a second crash");
    engine.close().unwrap();
}

/// An atomic batch spanning two databases whose id never reached the
/// root's commit log (a crash between the WAL writes and the commit) is
/// replayed in neither database; a committed one in both. Once replayed,
/// the WALs are rewritten without batch ids and the commit log is removed.
#[test]
fn a_batch_across_databases_counts_only_once_committed() {
    let root = wal_root();
    let engine = Engine::open(root.path()).unwrap();
    let batch = |k: i64| -> Vec<(String, i64, i32)> {
        (0..4)
            .map(|i| {
                (
                    format!("m{i}"),
                    T0 + (k * 4 + i) * 1_000_000_000,
                    (k * 4 + i) as i32,
                )
            })
            .collect()
    };
    for k in 0..2 {
        let samples = batch(k);
        let ws: Vec<nanotdb::WriteSample<'_>> = samples
            .iter()
            .enumerate()
            .map(|(i, (m, ts, v))| nanotdb::WriteSample {
                db: ["a", "b"][i % 2],
                metric: m,
                ts: *ts,
                value: nanotdb::Value::I32(*v),
            })
            .collect();
        engine.write_atomic(&ws).unwrap();
    }
    engine.abort();
    let log = root.path().join("atomic-batches.log");
    let bytes = fs::read(&log).unwrap();
    // Two entries of 4 + 8 + "a\nb" + 4 bytes: keep the first only.
    assert_eq!(bytes.len(), 2 * 19);
    fs::write(&log, &bytes[..19]).unwrap();

    let engine = Engine::open(root.path()).unwrap();
    let first = batch(0);
    let of = |db: usize| -> Vec<(String, i64, i32)> {
        first.iter().skip(db).step_by(2).cloned().collect()
    };
    assert_eq!(samples_of(&engine, "a"), of(0));
    assert_eq!(samples_of(&engine, "b"), of(1));
    assert!(
        !log.exists(),
        "the commit log is pruned once both WALs are rewritten"
    );
    for db in ["a", "b"] {
        let scan =
            nanotdb::wal::scan_wal(&fs::read(root.path().join(format!("{db}/{db}.wal"))).unwrap());
        assert!(!scan.has_batch_ids, "{db}");
        assert_eq!(scan.records.len(), 2, "{db}");
    }
    engine.abort();
    let engine = Engine::open(root.path()).unwrap();
    assert_eq!(samples_of(&engine, "a"), of(0), "after a second crash");
    assert_eq!(samples_of(&engine, "b"), of(1));
    engine.close().unwrap();
}

/// While the engine runs, the commit log forgets the batches no WAL holds
/// any more (here: after a flush emptied both WALs), instead of growing with
/// every batch spanning databases.
#[test]
fn the_commit_log_is_pruned_while_running() {
    let root = wal_root();
    let engine = Engine::open(root.path()).unwrap();
    let log = root.path().join("atomic-batches.log");
    let batch = |k: i64| {
        let names = [format!("m{k}"), format!("m{k}")];
        let ws: Vec<nanotdb::WriteSample<'_>> = (0..2)
            .map(|i| nanotdb::WriteSample {
                db: ["a", "b"][i],
                metric: "m",
                ts: T0 + k * 1_000_000_000,
                value: nanotdb::Value::I32(names[i].len() as i32),
            })
            .collect();
        engine.write_atomic(&ws).unwrap();
    };
    for k in 0..1100 {
        batch(k);
    }
    let before = fs::metadata(&log).unwrap().len();
    engine.flush().unwrap();
    batch(1100);
    let after = fs::metadata(&log).map(|m| m.len()).unwrap_or(0);
    assert!(
        after < before / 10,
        "commit log {before} bytes before the flush, {after} after"
    );
    engine.abort();
    // The batches are all there.
    let engine = Engine::open(root.path()).unwrap();
    for db in ["a", "b"] {
        let mut n = 0;
        engine
            .query_range(db, "m", i64::MIN, i64::MAX, 1, |_| {
                n += 1;
                ControlFlow::Continue(())
            })
            .unwrap();
        assert_eq!(n, 1101, "{db}");
    }
}
