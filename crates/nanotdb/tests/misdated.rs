//! Samples dated far from the wall clock (a writer whose clock is a day
//! ahead, a wrong unit, `i64::MAX`/`i64::MIN`) never stop current ingest.

use std::fs;
use std::ops::ControlFlow;

use nanotdb::{Engine, Error, Value};

const DAY: i64 = 86_400_000_000_000;

/// A root whose engine.toml has stats off plus `ingest` (an `[ingest]` table).
fn root(ingest: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let text = format!("[stats]\nenabled = false\n{ingest}");
    fs::write(dir.path().join("engine.toml"), text).unwrap();
    dir
}

fn engine(ingest: &str) -> (tempfile::TempDir, Engine) {
    let dir = root(ingest);
    let e = Engine::open(dir.path()).unwrap();
    (dir, e)
}

fn count(e: &Engine, metric: &str) -> usize {
    let mut n = 0;
    e.query_range("d", metric, i64::MIN, i64::MAX, 1, |_| {
        n += 1;
        ControlFlow::Continue(())
    })
    .unwrap();
    n
}

#[test]
fn samples_beyond_the_horizon_are_rejected_and_current_ingest_goes_on() {
    let (_dir, e) = engine("");
    let now = nanotdb::time::now_ns();
    e.add_sample("d", "m", now, Value::F32(1.0)).unwrap();
    for ts in [now + DAY, now + 2 * DAY, i64::MAX] {
        let err = e.add_sample("d", "m", ts, Value::F32(2.0)).unwrap_err();
        assert!(matches!(err, Error::TooFarInFuture { .. }), "{ts}: {err}");
        assert!(err.is_rejection());
        assert!(
            err.to_string()
                .contains("more than 1h0m0s ahead of the clock"),
            "{err}"
        );
    }
    // Within the horizon is fine.
    e.add_sample("d", "m", now + 60_000_000_000, Value::F32(3.0))
        .unwrap();
    // Far past: its own partition, never the current one's problem.
    e.add_sample("d", "old", i64::MIN, Value::F32(4.0)).unwrap();
    e.add_sample("d", "old", i64::MIN + 1, Value::F32(5.0))
        .unwrap();
    for i in 0..10 {
        e.add_sample("d", "m", now + 60_000_000_000 + i, Value::F32(6.0))
            .unwrap();
    }
    assert_eq!(count(&e, "m"), 12);
    assert_eq!(count(&e, "old"), 2);
    e.close().unwrap();
}

#[test]
fn with_the_horizon_off_future_partitions_never_seal_the_current_one() {
    // v1.4.0's rule: sealing followed the newest sample, so samples at
    // now+1d and now+2d sealed today's partition and every current write
    // failed with "already sealed" until a restart.
    let (_dir, e) = engine("[ingest]\nmax_future = \"0s\"\n");
    let now = nanotdb::time::now_ns();
    e.add_sample("d", "m", now, Value::F32(1.0)).unwrap();
    e.add_sample("d", "ahead1", now + DAY, Value::F32(2.0))
        .unwrap();
    e.add_sample("d", "ahead2", now + 2 * DAY, Value::F32(3.0))
        .unwrap();
    e.add_sample("d", "ahead3", i64::MAX, Value::F32(4.0))
        .unwrap();
    e.add_sample("d", "past", i64::MIN, Value::F32(5.0))
        .unwrap();
    for i in 1..=10 {
        e.add_sample("d", "m", now + i, Value::F32(6.0))
            .unwrap_or_else(|err| panic!("current ingest stopped: {err}"));
    }
    assert_eq!(count(&e, "m"), 11);
    e.close().unwrap();
}

#[test]
fn a_bad_horizon_is_a_config_error() {
    let dir = root("[ingest]\nmax_future = \"-1h\"\n");
    let err = Engine::open(dir.path()).err().expect("refused");
    assert!(err.to_string().contains("ingest.max_future"), "{err}");
}
