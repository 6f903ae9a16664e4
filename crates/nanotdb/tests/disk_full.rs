//! A full disk under a writing engine (a real ENOSPC: a 1 MiB tmpfs): the
//! writes that fail are answered as failed, and every sample acknowledged
//! before or after — once there is room again — survives a crash.
//!
//! Mounting needs root, as CI has; without it the test fails and says so.

use std::ops::ControlFlow;

use nanotdb::{Engine, Value, WriteSample};
use nanotdb_testkit::tmpfs::{Tmpfs, fill};

/// An engine on a fresh root on a 1 MiB tmpfs, and the current time.
fn on_a_small_tmpfs() -> (Tmpfs, std::path::PathBuf, Engine, i64) {
    let fs = Tmpfs::mount("1m");
    let root = fs.root_with("[stats]\nenabled = false\n");
    let engine = Engine::open(&root).unwrap();
    (fs, root, engine, nanotdb::time::now_ns())
}

fn batch(now: i64, n: usize) -> Vec<(String, i64, f32)> {
    (0..100)
        .map(|j| {
            (
                format!("m{}", j % 5),
                now + (n * 100 + j) as i64 * 1_000,
                (n * 100 + j) as f32,
            )
        })
        .collect()
}

fn write(engine: &Engine, b: &[(String, i64, f32)]) -> nanotdb::Result<()> {
    let samples: Vec<WriteSample<'_>> = b
        .iter()
        .map(|(m, ts, v)| WriteSample {
            db: "d",
            metric: m,
            ts: *ts,
            value: Value::F32(*v),
        })
        .collect();
    let r = engine.write(&samples)?;
    assert!(r.rejected.is_empty(), "{:?}", r.rejected);
    Ok(())
}

#[test]
fn acknowledged_samples_survive_a_full_disk_and_a_crash() {
    // Current timestamps: the WAL logs only samples newer than now - 1h.
    let (fs, root, engine, now) = on_a_small_tmpfs();
    let mut acked = Vec::new();
    let mut n = 0;
    write(&engine, &batch(now, n)).unwrap();
    acked.extend(batch(now, n));
    n += 1;
    fill(&fs.dir.path().join("filler"));
    let mut failed = 0;
    for _ in 0..20 {
        match write(&engine, &batch(now, n)) {
            Ok(()) => acked.extend(batch(now, n)),
            Err(_) => failed += 1,
        }
        n += 1;
    }
    assert!(failed > 0, "the full disk made no write fail");
    std::fs::remove_file(fs.dir.path().join("filler")).unwrap();
    for _ in 0..5 {
        write(&engine, &batch(now, n)).expect("room again");
        acked.extend(batch(now, n));
        n += 1;
    }
    engine.abort();
    let engine = Engine::open(&root).unwrap();
    let mut stored = std::collections::HashSet::new();
    for m in 0..5 {
        let name = format!("m{m}");
        engine
            .query_range("d", &name, i64::MIN, i64::MAX, 1, |s| {
                stored.insert((name.clone(), s.ts));
                ControlFlow::Continue(())
            })
            .unwrap();
    }
    let lost: Vec<_> = acked
        .iter()
        .filter(|(m, ts, _)| !stored.contains(&(m.clone(), *ts)))
        .collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged samples lost ({failed} writes failed), first {:?}",
        lost.len(),
        acked.len(),
        lost.first()
    );
    engine.close().unwrap();
}

/// The samples of one batch; with `span`, half in each of two databases.
fn atomic_batch(now: i64, n: usize, span: bool) -> Vec<(&'static str, String, i64)> {
    (0..100)
        .map(|j| {
            let db = if j % 2 == 0 || !span { "d" } else { "e" };
            (
                db,
                format!("m{}", j % 5),
                now + (n * 100 + j) as i64 * 1_000,
            )
        })
        .collect()
}

fn write_batch(
    engine: &Engine,
    b: &[(&'static str, String, i64)],
    atomic: bool,
) -> nanotdb::Result<()> {
    let samples: Vec<WriteSample<'_>> = b
        .iter()
        .map(|(db, m, ts)| WriteSample {
            db,
            metric: m,
            ts: *ts,
            value: Value::F32(*ts as f32),
        })
        .collect();
    let r = if atomic {
        engine.write_atomic(&samples)?
    } else {
        engine.write(&samples)?
    };
    assert!(r.rejected.is_empty(), "{:?}", r.rejected);
    Ok(())
}

fn stored(engine: &Engine) -> std::collections::HashSet<(String, String, i64)> {
    let mut out = std::collections::HashSet::new();
    for db in ["d", "e"] {
        for m in 0..5 {
            let name = format!("m{m}");
            engine
                .query_range(db, &name, i64::MIN, i64::MAX, 1, |s| {
                    out.insert((db.to_string(), name.clone(), s.ts));
                    ControlFlow::Continue(())
                })
                .or_else(|e| match e {
                    nanotdb::Error::DatabaseNotFound(_) => Ok(()),
                    e => Err(e),
                })
                .unwrap();
        }
    }
    out
}

#[test]
fn an_atomic_batch_that_failed_on_a_full_disk_is_never_stored() {
    failed_writes_are_never_stored(true);
}

/// The same for the non-atomic write (`Engine::write`, `nanocli import`):
/// a write whose WAL records could not be written stores none of its
/// samples, not even in memory.
#[test]
fn a_write_that_failed_on_a_full_disk_is_never_stored() {
    failed_writes_are_never_stored(false);
}

fn failed_writes_are_never_stored(atomic: bool) {
    let (fs, root, engine, now) = on_a_small_tmpfs();
    let atomic_batch = |now, n| atomic_batch(now, n, atomic);
    let write_atomic = |engine: &Engine, b: &[_]| write_batch(engine, b, atomic);
    let (mut acked, mut failed) = (Vec::new(), Vec::new());
    let mut n = 0;
    write_atomic(&engine, &atomic_batch(now, n)).unwrap();
    acked.extend(atomic_batch(now, n));
    n += 1;
    fill(&fs.dir.path().join("filler"));
    for _ in 0..20 {
        let b = atomic_batch(now, n);
        match write_atomic(&engine, &b) {
            Ok(()) => acked.extend(b),
            Err(_) => failed.extend(b),
        }
        n += 1;
    }
    assert!(!failed.is_empty(), "the full disk made no write fail");
    std::fs::remove_file(fs.dir.path().join("filler")).unwrap();
    for _ in 0..5 {
        write_atomic(&engine, &atomic_batch(now, n)).expect("room again");
        acked.extend(atomic_batch(now, n));
        n += 1;
    }
    // A graceful stop flushes whatever is in memory: nothing of a failed
    // batch may be there.
    engine.close().unwrap();
    drop(engine);
    // Read-only: takes no lock, so the closed engine's rollup worker, which
    // may still hold a database for a moment, cannot get in the way.
    let engine = Engine::open_read_only(&root).unwrap();
    let got = stored(&engine);
    let key = |(db, m, ts): &(&str, String, i64)| (db.to_string(), m.clone(), *ts);
    let lost = acked.iter().filter(|s| !got.contains(&key(s))).count();
    let present = failed.iter().filter(|s| got.contains(&key(s))).count();
    assert_eq!(lost, 0, "acknowledged samples lost");
    assert_eq!(
        present,
        0,
        "samples of {} failed batches stored",
        failed.len() / 100
    );
    assert_eq!(got.len(), acked.len());
}
