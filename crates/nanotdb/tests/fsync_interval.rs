//! `fsync_policy = "interval"` (issue 18): writes are acknowledged without
//! an fsync of their own; a background thread fsyncs each WAL holding
//! unsynced records every `fsync_interval`, without holding the database
//! lock; batches spanning databases still fsync every part and their
//! commit before they are acknowledged.

use std::fs;
use std::time::{Duration, Instant};

use nanotdb::{Engine, Value, WriteSample};

const T0: i64 = 1_767_225_600_000_000_000;

fn root(extra: &str) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    fs::write(
        d.path().join("engine.toml"),
        format!(
            "[wal]\nfsync_policy = \"interval\"\n{extra}\n[stats]\nenabled = false\n\
             [manifest_defaults.wal]\nenabled = true\nskip_before = \"0s\"\n"
        ),
    )
    .unwrap();
    d
}

fn fsyncs(e: &Engine, db: &str) -> u64 {
    e.db_stats(db).unwrap().counters.wal_fsyncs
}

#[test]
fn writes_are_acknowledged_at_once_and_fsynced_within_the_interval() {
    let d = root("fsync_interval = \"100ms\"");
    let e = Engine::open(d.path()).unwrap();
    for i in 0..50 {
        e.add_sample("a", "m", T0 + i, Value::F32(i as f32))
            .unwrap();
    }
    // Fifty acknowledged writes, none waited for an fsync.
    let before = fsyncs(&e, "a");
    assert!(before <= 1, "{before} fsyncs on the write path");
    let t = Instant::now();
    while fsyncs(&e, "a") == before {
        assert!(t.elapsed() < Duration::from_secs(5), "no background fsync");
        std::thread::sleep(Duration::from_millis(10));
    }
    // Nothing new: no more fsyncs.
    std::thread::sleep(Duration::from_millis(350));
    let settled = fsyncs(&e, "a");
    std::thread::sleep(Duration::from_millis(350));
    assert_eq!(fsyncs(&e, "a"), settled);
    e.close().unwrap();
    drop(e);
    let e = Engine::open(d.path()).unwrap();
    let mut n = 0;
    e.query_range("a", "m", i64::MIN, i64::MAX, 1, |_| {
        n += 1;
        std::ops::ControlFlow::Continue(())
    })
    .unwrap();
    assert_eq!(n, 50);
}

#[test]
fn batches_spanning_databases_are_fsynced_before_they_are_acknowledged() {
    let d = root("fsync_interval = \"1h\"");
    let e = Engine::open(d.path()).unwrap();
    let batch = [
        WriteSample {
            db: "x",
            metric: "m",
            ts: T0,
            value: Value::F32(1.0),
        },
        WriteSample {
            db: "y",
            metric: "m",
            ts: T0,
            value: Value::F32(2.0),
        },
    ];
    e.write_atomic(&batch).unwrap();
    assert!(fsyncs(&e, "x") >= 1 && fsyncs(&e, "y") >= 1);
    // A one-database write waits for nothing (the next fsync is an hour away).
    let before = fsyncs(&e, "x");
    e.add_sample("x", "m", T0 + 1, Value::F32(3.0)).unwrap();
    assert_eq!(fsyncs(&e, "x"), before);
}

#[test]
fn the_interval_must_be_positive() {
    let d = root("fsync_interval = \"0s\"");
    let err = Engine::open(d.path()).err().expect("refused").to_string();
    assert!(err.contains("wal.fsync_interval"), "{err}");
    let d = tempfile::tempdir().unwrap();
    fs::write(
        d.path().join("engine.toml"),
        "[wal]\nfsync_policy = \"sometimes\"\n",
    )
    .unwrap();
    let err = Engine::open(d.path()).err().expect("refused").to_string();
    assert!(
        err.contains("must be \"segment\", \"always\" or \"interval\""),
        "{err}"
    );
}
