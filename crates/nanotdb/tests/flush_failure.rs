//! A page whose flush fails before its frame is in the file keeps its
//! samples: they were acknowledged, and they stay readable and are written
//! by the next flush that succeeds (and survive a crash). Before, a failure
//! in the flush's preparation (the WAL write, the catalog save, opening the
//! data file) dropped the page, and the next WAL checkpoint, which keeps
//! only what open pages hold, lost its samples for good.

use std::ops::ControlFlow;

use nanotdb::{Engine, Value, WriteSample};

fn write(
    engine: &Engine,
    now: i64,
    from: usize,
    n: usize,
) -> nanotdb::Result<nanotdb::WriteReport> {
    let names: Vec<String> = (from..from + n).map(|k| format!("m{}", k % 4)).collect();
    let samples: Vec<WriteSample<'_>> = names
        .iter()
        .enumerate()
        .map(|(j, m)| WriteSample {
            db: "d",
            metric: m,
            ts: now + (from + j) as i64 * 1_000_000,
            value: Value::F32((from + j) as f32),
        })
        .collect();
    engine.write(&samples)
}

/// The sample numbers stored (timestamps back to the numbers `write` gave).
fn stored(engine: &Engine, now: i64) -> Vec<i64> {
    let mut out = Vec::new();
    for m in 0..4 {
        engine
            .query_range("d", &format!("m{m}"), i64::MIN, i64::MAX, 1, |s| {
                out.push((s.ts - now) / 1_000_000);
                ControlFlow::Continue(())
            })
            .unwrap();
    }
    out.sort_unstable();
    out
}

#[test]
fn a_failed_flush_keeps_the_page() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(
        root.join("engine.toml"),
        "[stats]\nenabled = false\n[manifest_defaults.wal]\nskip_before = \"0s\"\n\
         [manifest_defaults.page]\nmax_records = 100\nmax_age = \"1h\"\n",
    )
    .unwrap();
    let engine = Engine::open(&root).unwrap();
    let now = nanotdb::time::now_ns();
    let report = write(&engine, now, 0, 60).unwrap();
    assert_eq!(report.accepted, 60);
    // A directory where the partition's data file goes: opening it fails.
    let key = nanotdb::time::partition_key(nanotdb::time::PartitionMode::Day, now);
    let blocker = root.join("d").join(format!("data-{key}.dat"));
    std::fs::create_dir(&blocker).unwrap();
    // The 100th sample fills the page; its flush fails. The write is
    // answered as failed: its samples after the 100th are not stored.
    assert!(write(&engine, now, 60, 60).is_err());
    let first_100: Vec<i64> = (0..100).collect();
    assert_eq!(stored(&engine, now), first_100, "after the failed flush");
    std::fs::remove_dir(&blocker).unwrap();
    // The next flush writes them, and the samples of this write.
    assert_eq!(write(&engine, now, 120, 100).unwrap().accepted, 100);
    let mut expected = first_100;
    expected.extend(120..220);
    assert_eq!(stored(&engine, now), expected);
    assert!(std::fs::metadata(&blocker).unwrap().is_file());
    engine.abort();
    let engine = Engine::open(&root).unwrap();
    let back = stored(&engine, now);
    // Replay may bring back the failed write's samples that never reached
    // the page (100..120: in the WAL, answered as failed); every
    // acknowledged one must be there.
    let acknowledged: Vec<i64> = (0..60).chain(120..220).collect();
    assert!(
        acknowledged.iter().all(|k| back.binary_search(k).is_ok()),
        "after a crash: {back:?}"
    );
}
