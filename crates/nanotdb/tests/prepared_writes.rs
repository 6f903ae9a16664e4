//! Writes look their metrics up and encode their WAL records before they
//! take the database lock (`database/prepare.rs`). What they store and the
//! WAL bytes they write must not depend on it: the same batches written
//! through the group commit of `fsync_policy = "always"` (which prepares
//! nothing and logs sample by sample) give the same WAL file, whether the
//! guesses made before the lock were right (metrics already known),
//! missing (new metrics), or unusable (a batch repeating stored samples).

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use nanotdb::{Engine, Value, WriteSample};

/// A root whose pages are never flushed during the test (so no checkpoint
/// rewrites the WAL behind it), every sample through the WAL.
fn root(fsync_policy: &str) -> (tempfile::TempDir, PathBuf) {
    root_with_pages(fsync_policy, 65535)
}

fn root_with_pages(fsync_policy: &str, max_records: u32) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(
        root.join("engine.toml"),
        format!(
            "[stats]\nenabled = false\n[wal]\nfsync_policy = \"{fsync_policy}\"\n\
             [manifest_defaults.wal]\nskip_before = \"0s\"\n\
             [manifest_defaults.page]\nmax_records = {max_records}\nmax_age = \"1h\"\n"
        ),
    )
    .unwrap();
    (dir, root)
}

/// Batch `n`: 60 samples of metrics m0..m(k), k growing every few batches
/// (new metrics appear mid-batch), one float64 metric, steps of 1 ms and
/// now and then a jump past the WAL's 24-bit delta.
fn batch(now: i64, n: usize) -> Vec<(String, i64, Value)> {
    let metrics = 3 + n / 4;
    (0..60)
        .map(|j| {
            let k = (n * 60 + j) as i64;
            let m = j % metrics;
            // Past the 24-bit delta every fifth batch, and onwards from there.
            let jump = (n / 5) as i64 * 40_000_000;
            let ts = now + k * 1_000_000 + jump;
            let value = if m == 1 {
                Value::F64(k as f64 * 0.1)
            } else {
                Value::F32(k as f32)
            };
            (format!("m{m}"), ts, value)
        })
        .collect()
}

fn samples(b: &[(String, i64, Value)]) -> Vec<WriteSample<'_>> {
    b.iter()
        .map(|(m, ts, v)| WriteSample {
            db: "d",
            metric: m,
            ts: *ts,
            value: *v,
        })
        .collect()
}

fn wal_bytes(root: &Path) -> Vec<u8> {
    std::fs::read(root.join("d").join("d.wal")).unwrap()
}

#[test]
fn prepared_writes_log_what_unprepared_writes_log() {
    for atomic_writes in [true, false] {
        let now = nanotdb::time::now_ns();
        let (_a, root_a) = root("segment");
        let (_b, root_b) = root("always");
        let prepared = Engine::open(&root_a).unwrap();
        let plain = Engine::open(&root_b).unwrap();
        let write = |e: &Engine, b: &[(String, i64, Value)]| {
            if atomic_writes {
                e.write_atomic(&samples(b)).unwrap()
            } else {
                e.write(&samples(b)).unwrap()
            }
        };
        let mut stored = 0;
        for n in 0..24 {
            let b = batch(now, n);
            let ra = write(&prepared, &b);
            let rb = plain.write(&samples(&b)).unwrap();
            assert_eq!((ra.accepted, ra.duplicates), (rb.accepted, rb.duplicates));
            assert!(ra.rejected.is_empty(), "{:?}", ra.rejected);
            stored += ra.accepted;
            if n % 7 == 3 {
                // A retried batch: every sample is a duplicate, nothing logged.
                let again = write(&prepared, &b);
                let again_b = plain.write(&samples(&b)).unwrap();
                assert_eq!((again.accepted, again.duplicates), (0, 60));
                assert_eq!((again_b.accepted, again_b.duplicates), (0, 60));
            }
            assert_eq!(wal_bytes(&root_a), wal_bytes(&root_b), "after batch {n}");
        }
        assert_eq!(stored, 24 * 60);
        crash_and_count(prepared, &root_a, stored);
    }
}

/// A crash: the WAL alone brings every sample back.
fn crash_and_count(engine: Engine, root: &Path, stored: u64) {
    engine.abort();
    let engine = Engine::open(root).unwrap();
    let mut back = 0;
    for m in 0..10 {
        engine
            .query_range("d", &format!("m{m}"), i64::MIN, i64::MAX, 1, |_| {
                back += 1;
                ControlFlow::Continue(())
            })
            .unwrap();
    }
    assert_eq!(back, stored);
}

#[test]
fn a_rejected_sample_still_stores_nothing_of_a_prepared_batch() {
    let now = nanotdb::time::now_ns();
    let (_a, root_a) = root("segment");
    let engine = Engine::open(&root_a).unwrap();
    engine.write_atomic(&samples(&batch(now, 0))).unwrap();
    let before = wal_bytes(&root_a);
    let mut b = batch(now, 1);
    // m0 is float32: an int32 sample of it is rejected, and with it the batch.
    b[30].2 = Value::I32(7);
    let r = engine.write_atomic(&samples(&b)).unwrap();
    assert_eq!(r.accepted, 0);
    assert_eq!(r.rejected.len(), 1);
    assert_eq!(r.rejected[0].0, 30);
    assert_eq!(wal_bytes(&root_a), before);
}

/// Every (metric, timestamp, value bits) stored, sorted.
fn all_samples(engine: &Engine) -> Vec<(usize, i64, u64)> {
    let mut out = Vec::new();
    for m in 0..10 {
        engine
            .query_range("d", &format!("m{m}"), i64::MIN, i64::MAX, 1, |s| {
                out.push((m, s.ts, s.value.to_bits()));
                ControlFlow::Continue(())
            })
            .unwrap();
    }
    out.sort_unstable();
    out
}

#[test]
fn prepared_writes_across_flushes_and_checkpoints_store_what_unprepared_ones_store() {
    // 50-sample pages: a flush (and a reused page, and a checkpoint that
    // makes the WAL name its metrics again) every write or so.
    let now = nanotdb::time::now_ns();
    let (_a, root_a) = root_with_pages("segment", 50);
    let (_b, root_b) = root_with_pages("always", 50);
    let prepared = Engine::open(&root_a).unwrap();
    let plain = Engine::open(&root_b).unwrap();
    for n in 0..30 {
        let b = batch(now, n);
        let (ra, rb) = if n % 2 == 0 {
            (
                prepared.write_atomic(&samples(&b)),
                plain.write_atomic(&samples(&b)),
            )
        } else {
            (prepared.write(&samples(&b)), plain.write(&samples(&b)))
        };
        assert_eq!(ra.unwrap().accepted, rb.unwrap().accepted);
    }
    let stored = all_samples(&prepared);
    assert_eq!(stored, all_samples(&plain));
    assert_eq!(stored.len(), 30 * 60);
    prepared.abort();
    let prepared = Engine::open(&root_a).unwrap();
    assert_eq!(all_samples(&prepared), stored, "after a crash");
}
