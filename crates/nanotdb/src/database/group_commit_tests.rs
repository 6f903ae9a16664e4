//! Group commit: writers queued behind a busy database share one fsync,
//! a failed commit stores nothing of any member, and each member is checked
//! as if the writes before it had been stored.

use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use crate::{Engine, Error, Value, WriteReport, WriteSample};

const T0: i64 = 1_767_225_600_000_000_000;

/// A write's samples as (metric, timestamp, value).
type Samples = Vec<(String, i64, Value)>;

fn engine(dir: &std::path::Path) -> Engine {
    std::fs::write(
        dir.join("engine.toml"),
        "[wal]\nfsync_policy = \"always\"\n[stats]\nenabled = false\n\
         [manifest_defaults.wal]\nenabled = true\nskip_before = \"0s\"\n",
    )
    .unwrap();
    let e = Engine::open(dir).unwrap();
    e.add_sample("g", "seed", T0, Value::I32(0)).unwrap();
    e
}

fn fsyncs(e: &Engine) -> u64 {
    e.db("g", false)
        .unwrap()
        .unwrap()
        .lock()
        .counters
        .wal_fsyncs
}

fn samples(metric: &str, n: i64, v: i32) -> Samples {
    (0..n)
        .map(|k| {
            (
                metric.to_string(),
                T0 + (k + 1) * 1_000_000_000,
                Value::I32(v),
            )
        })
        .collect()
}

fn write(e: &Engine, s: &[(String, i64, Value)], atomic: bool) -> crate::Result<WriteReport> {
    let batch: Vec<WriteSample<'_>> = s
        .iter()
        .map(|(m, ts, value)| WriteSample {
            db: "g",
            metric: m,
            ts: *ts,
            value: *value,
        })
        .collect();
    if atomic {
        e.write_atomic(&batch)
    } else {
        e.write(&batch)
    }
}

fn count(e: &Engine, metric: &str) -> usize {
    let mut n = 0;
    e.query_range("g", metric, i64::MIN, i64::MAX, 1, |_| {
        n += 1;
        ControlFlow::Continue(())
    })
    .unwrap();
    n
}

/// Runs `writes` on their own threads while the test holds the database
/// lock, releasing it once all of them are queued (in the order given);
/// returns their results in that order.
fn queued_behind_the_lock(
    e: &Engine,
    writes: Vec<(Samples, bool)>,
    before_release: impl FnOnce(&mut super::DbState),
) -> Vec<crate::Result<WriteReport>> {
    let db = e.db("g", false).unwrap().unwrap();
    let mut st = db.lock();
    std::thread::scope(|scope| {
        let mut handles = Vec::new();
        for (k, (s, atomic)) in writes.into_iter().enumerate() {
            handles.push(scope.spawn(move || write(e, &s, atomic)));
            let deadline = Instant::now() + Duration::from_secs(20);
            while db.commit_queue.len() < k + 1 {
                assert!(Instant::now() < deadline, "writer {k} never queued");
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        before_release(&mut st);
        drop(st);
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

#[test]
fn writers_queued_behind_a_busy_database_share_one_fsync() {
    let d = tempfile::tempdir().unwrap();
    let e = engine(d.path());
    let before = fsyncs(&e);
    let writes = (0..8)
        .map(|w| (samples(&format!("w{w}"), 10, w), false))
        .collect();
    let results = queued_behind_the_lock(&e, writes, |_| {});
    for r in results {
        let r = r.unwrap();
        assert_eq!((r.accepted, r.rejected.len(), r.duplicates), (10, 0, 0));
    }
    assert_eq!(fsyncs(&e) - before, 1, "eight writes, one fsync");
    for w in 0..8 {
        assert_eq!(count(&e, &format!("w{w}")), 10);
    }
    // And the group is in the WAL: all of it is there after a reopen.
    e.close().unwrap();
    let e = Engine::open(d.path()).unwrap();
    for w in 0..8 {
        assert_eq!(count(&e, &format!("w{w}")), 10, "w{w} after reopen");
    }
}

#[test]
fn a_failed_commit_stores_nothing_of_any_member() {
    let d = tempfile::tempdir().unwrap();
    let e = engine(d.path());
    let writes = (0..3)
        .map(|w| (samples(&format!("f{w}"), 5, w), w == 1))
        .collect();
    let results = queued_behind_the_lock(&e, writes, |st| {
        st.wal.as_mut().unwrap().fail_next_write_after = Some(7);
    });
    for r in results {
        let err = r.expect_err("every member answered with the failure");
        assert!(matches!(err, Error::Io { .. }), "{err}");
    }
    for w in 0..3 {
        assert_eq!(count(&e, &format!("f{w}")), 0);
    }
    // Nothing of it comes back at replay either, and the WAL takes writes.
    write(&e, &samples("after", 2, 9), false).unwrap();
    e.close().unwrap();
    let e = Engine::open(d.path()).unwrap();
    for w in 0..3 {
        assert_eq!(count(&e, &format!("f{w}")), 0, "f{w} after reopen");
    }
    assert_eq!(count(&e, "after"), 2);
}

#[test]
fn members_are_checked_as_if_the_writes_before_them_were_stored() {
    let d = tempfile::tempdir().unwrap();
    let e = engine(d.path());
    // An atomic write refused for one sample (seed is an int32 metric):
    // its good sample must not make the next write's identical sample a
    // duplicate. The third write repeats the second's sample: a duplicate.
    let mut refused = samples("a", 1, 1);
    refused.push(("seed".to_string(), T0 + 5, Value::F32(1.0)));
    let writes = vec![
        (refused, true),
        (samples("a", 1, 1), false),
        (samples("a", 1, 1), true),
    ];
    let results = queued_behind_the_lock(&e, writes, |_| {});
    let r: Vec<WriteReport> = results.into_iter().map(|r| r.unwrap()).collect();
    assert_eq!((r[0].accepted, r[0].rejected.len()), (0, 1));
    assert_eq!(r[0].rejected[0].0, 1, "index within its own write");
    assert!(matches!(r[0].rejected[0].1, Error::TypeMismatch { .. }));
    assert_eq!((r[1].accepted, r[1].duplicates), (1, 0));
    assert_eq!((r[2].accepted, r[2].duplicates), (0, 1));
    assert_eq!(count(&e, "a"), 1);
}
