//! Engine behaviour: round trips, rejected input leaves no trace, ordering,
//! WAL replay without duplicates, last values across restarts, concurrency.

mod common;

use std::fs;
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::Arc;

use nanotdb::{Engine, EngineOptions, Error, ImportOptions, Sample, Value, WriteSample};

const T0: i64 = 1_767_225_600_000_000_000; // 2026-01-01T00:00:00Z
const DAY: i64 = 86_400_000_000_000;

fn all(engine: &Engine, db: &str, metric: &str) -> Vec<Sample> {
    let mut v = Vec::new();
    engine
        .query_range(db, metric, i64::MIN, i64::MAX, 1, |s| {
            v.push(s);
            ControlFlow::Continue(())
        })
        .unwrap();
    v
}

fn files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().into_string().unwrap())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Writes an engine.toml with the WAL logging everything (so tests do not
/// depend on the wall clock), small pages, and v1.4.0's order rule (no
/// out-of-order window: tests/out_of_order.rs covers the window).
fn root_with(manifest_extra: &str, fsync: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let ingest = if manifest_extra.contains("[ingest]") {
        ""
    } else {
        "[ingest]\nout_of_order_window = \"0s\""
    };
    fs::write(
        dir.path().join("engine.toml"),
        format!(
            r#"
[wal]
fsync_policy = "{fsync}"
[durability]
profile = "strict"
[stats]
enabled = false
[manifest_defaults.wal]
enabled = true
skip_before = "0s"
[manifest_defaults.page]
max_records = 100
max_bytes = 1000000
max_age = "1h"
{ingest}
{manifest_extra}
"#
        ),
    )
    .unwrap();
    dir
}

#[test]
fn import_export_import_round_trip_is_exact() {
    let root = root_with("", "segment");
    let input = root.path().join("in.lp");
    let mut text = String::new();
    let values = [
        "42i",
        "-7i",
        "2147483647i",
        "-2147483648i",
        "0i",
        "21.5",
        "-0.0",
        "0",
        "NaN",
        "+Inf",
        "-Inf",
        "1.5e-45",
        "3.4028235e38",
        "16777217",
        "0.1",
    ];
    for (i, v) in values.iter().enumerate() {
        let metric = if v.ends_with('i') { "ints" } else { "floats" };
        text.push_str(&format!("rt/{metric} {v} {}\n", T0 + i as i64));
        // Equal timestamps with different values are all kept; the one
        // identical pair ("0i" and "0" both become 0.0) is stored once.
        text.push_str(&format!("rt/same {v} {}\n", T0).replace("i ", " "));
    }
    fs::write(&input, &text).unwrap();
    let engine = Engine::open(root.path()).unwrap();
    let rep = engine
        .import_file(&input, &ImportOptions::default(), &mut ())
        .unwrap();
    assert_eq!(rep.rejected, 0);
    assert_eq!((rep.imported, rep.duplicates), (29, 1));
    let first = root.path().join("first.lp");
    engine.export_file("rt", &first).unwrap();
    engine.close().unwrap();
    drop(engine);

    let root2 = root_with("", "segment");
    let engine2 = Engine::open(root2.path()).unwrap();
    let rep = engine2
        .import_file(&first, &ImportOptions::default(), &mut ())
        .unwrap();
    assert_eq!((rep.imported, rep.rejected, rep.duplicates), (29, 0, 0));
    let second = root2.path().join("second.lp");
    engine2.export_file("rt", &second).unwrap();
    assert_eq!(fs::read(&first).unwrap(), fs::read(&second).unwrap());

    let ints = all(&engine2, "rt", "ints");
    let bits: Vec<i32> = ints
        .iter()
        .map(|s| match s.value {
            Value::I32(v) => v,
            _ => panic!(),
        })
        .collect();
    assert_eq!(bits, [42, -7, i32::MAX, i32::MIN, 0]);
    let floats = all(&engine2, "rt", "floats");
    let f: Vec<u32> = floats
        .iter()
        .map(|s| match s.value {
            Value::F32(v) => v.to_bits(),
            _ => panic!(),
        })
        .collect();
    let want: Vec<u32> = [
        21.5f32,
        -0.0,
        0.0,
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        1e-45,
        f32::MAX,
        16777216.0,
        0.1,
    ]
    .iter()
    .map(|v| v.to_bits())
    .collect();
    assert_eq!(f.len(), want.len());
    for (a, b) in f.iter().zip(&want) {
        if f32::from_bits(*b).is_nan() {
            assert!(f32::from_bits(*a).is_nan());
        } else {
            assert_eq!(a, b);
        }
    }
    assert_eq!(all(&engine2, "rt", "same").len(), 14);
}

#[test]
fn rejected_samples_leave_no_trace() {
    let root = root_with("", "segment");
    let engine = Engine::open(root.path()).unwrap();
    // Bad lines never create a database.
    for bad in [
        "newdb/m 1i x",
        "newdb/m 1.5i 1",
        "newdb/m abc 1",
        "newdb 1 1",
        "../escape/m 1 1",
        "./m 1 1",
    ] {
        assert!(engine.add_line(bad).is_err(), "{bad}");
    }
    let long = format!("newdb/{} 1 1", "m".repeat(4097));
    assert!(matches!(
        engine.add_line(&long),
        Err(Error::InvalidMetricName { .. })
    ));
    assert!(!root.path().join("newdb").exists());
    assert!(!root.path().parent().unwrap().join("escape").exists());
    assert_eq!(files(root.path()), ["engine.toml"]);

    // A stale sample or a type mismatch does not reach the WAL or catalog.
    engine
        .add_sample("d", "m", T0 + 10, Value::F32(1.0))
        .unwrap();
    let wal = root.path().join("d/d.wal");
    let wal_before = fs::read(&wal).unwrap();
    let stale = engine.add_sample("d", "m", T0, Value::F32(2.0));
    assert!(matches!(stale, Err(Error::Stale { ts, last, .. }) if ts == T0 && last == T0 + 10));
    let mismatch = engine.add_sample("d", "m", T0 + 20, Value::I32(2));
    assert!(matches!(mismatch, Err(Error::TypeMismatch { .. })));
    assert_eq!(fs::read(&wal).unwrap(), wal_before);
    assert_eq!(engine.metrics("d").unwrap().len(), 1);
    // No partition was opened for the rejected sample of another day.
    let stale_other_day = engine.add_sample("d", "m", T0 - DAY, Value::F32(3.0));
    assert!(stale_other_day.is_err());
    let st = engine.db_stats("d").unwrap();
    assert_eq!(st.open_partitions.len(), 1);
    assert_eq!(st.open_partitions[0].key, "2026-01-01");
}

#[test]
fn sealed_partition_rejects_and_names_the_day() {
    let root = root_with(
        "[manifest_defaults.retention]\nmax_active_days = 1",
        "segment",
    );
    let engine = Engine::open(root.path()).unwrap();
    engine.add_sample("d", "a", T0, Value::I32(1)).unwrap();
    engine
        .add_sample("d", "a", T0 + DAY, Value::I32(2))
        .unwrap();
    let e = engine
        .add_sample("d", "b", T0 + 5, Value::I32(3))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "day 2026-01-01 already sealed for database d"
    );
    assert_eq!(
        engine.metrics("d").unwrap().len(),
        1,
        "b must not be registered"
    );
}

#[test]
fn ordering_is_per_metric_only() {
    let root = root_with("", "segment");
    let engine = Engine::open(root.path()).unwrap();
    // Metrics interleave with time going backwards across metrics.
    engine
        .add_sample("o", "a", T0 + 100, Value::I32(1))
        .unwrap();
    engine.add_sample("o", "b", T0 + 50, Value::I32(2)).unwrap();
    engine
        .add_sample("o", "a", T0 + 100, Value::I32(3))
        .unwrap();
    engine.add_sample("o", "c", T0 + 10, Value::I32(4)).unwrap();
    engine.close().unwrap();
    drop(engine);
    // The flushed frame is sorted by time, stably (a's two samples keep order).
    let scan = nanotdb::inspect::data_file(&root.path().join("o/data-2026-01-01.dat")).unwrap();
    assert_eq!(scan.frames.len(), 1);
    assert_eq!(
        (scan.frames[0].start_ts, scan.frames[0].end_ts),
        (T0 + 10, T0 + 100)
    );
    let engine = Engine::open(root.path()).unwrap();
    let a: Vec<Value> = all(&engine, "o", "a").iter().map(|s| s.value).collect();
    assert_eq!(a, [Value::I32(1), Value::I32(3)]);
    let mut out = Vec::new();
    engine.export_to_writer("o", &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(
        text,
        "o/c 4i 2026-01-01 00:00:00.000000010\no/b 2i 2026-01-01 00:00:00.000000050\n\
o/a 1i 2026-01-01 00:00:00.000000100\no/a 3i 2026-01-01 00:00:00.000000100\n"
    );
}

#[test]
fn replay_after_crash_between_frame_write_and_wal_reset_has_no_duplicates() {
    let root = root_with("", "segment");
    let engine = Engine::open(root.path()).unwrap();
    for i in 0..250 {
        engine
            .add_sample("r", "m", T0 + i, Value::I32(i as i32))
            .unwrap();
        engine
            .add_sample("r", "y", T0 - DAY + i, Value::I32(i as i32))
            .unwrap();
    }
    let wal = root.path().join("r/r.wal");
    let wal_bytes = fs::read(&wal).unwrap();
    assert!(!wal_bytes.is_empty());
    engine.close().unwrap();
    drop(engine);
    assert_eq!(fs::metadata(&wal).unwrap().len(), 0);
    // Simulate a crash after the frames were written but before the WAL was reset.
    fs::write(&wal, &wal_bytes).unwrap();
    let engine = Engine::open(root.path()).unwrap();
    let m = all(&engine, "r", "m");
    assert_eq!(m.len(), 250);
    assert!(m.iter().enumerate().all(|(i, s)| s.ts == T0 + i as i64));
    assert_eq!(all(&engine, "r", "y").len(), 250);
    assert!(
        engine
            .db_stats("r")
            .unwrap()
            .counters
            .replay_duplicates_dropped
            > 0
    );
}

/// Polls `cond` every 10 ms for up to 10 s (the background thread's
/// checkpoint comes about a second after the flushes that owe it).
fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !cond() {
        assert!(std::time::Instant::now() < until, "never happened: {what}");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

#[test]
fn wal_is_rewritten_not_replayed_twice_with_two_open_pages() {
    let root = root_with("", "segment");
    let write = |engine: &Engine| {
        // Yesterday's page stays open (3 samples) while today's pages flush at 100.
        for i in 0..3 {
            engine
                .add_sample("w", "late", T0 - DAY + i, Value::I32(i as i32))
                .unwrap();
        }
        for i in 0..350 {
            engine
                .add_sample("w", "now", T0 + i, Value::I32(i as i32))
                .unwrap();
        }
    };
    let records = |root: &Path| {
        nanotdb::inspect::wal_file(&root.join("w/w.wal"), false)
            .unwrap()
            .records
    };
    let engine = Engine::open(root.path()).unwrap();
    write(&engine);
    // The background thread checkpoints: only the still-open samples stay
    // in the WAL, 3 late + 50 now.
    eventually("WAL rewritten to the open pages", || {
        records(root.path()) == 53
    });
    assert!(engine.db_stats("w").unwrap().counters.wal_rewrites >= 1);
    // Crash: drop the engine without close semantics by leaking it.
    engine.abort();
    let engine = Engine::open(root.path()).unwrap();
    assert_eq!(all(&engine, "w", "now").len(), 350);
    assert_eq!(all(&engine, "w", "late").len(), 3);
    engine.close().unwrap();
    drop(engine);

    // A crash before that checkpoint: the WAL still holds the flushed
    // samples too, and replay finds them in the frames. (A long
    // checkpoint_interval keeps the background thread from checkpointing
    // first on a slow machine.)
    let root = root_with("", "segment");
    let cfg_path = root.path().join("engine.toml");
    let cfg = fs::read_to_string(&cfg_path).unwrap();
    let long = cfg.replace(
        "fsync_policy = \"segment\"",
        "fsync_policy = \"segment\"\ncheckpoint_interval = \"1000h\"",
    );
    assert_ne!(long, cfg);
    fs::write(&cfg_path, long).unwrap();
    let engine = Engine::open(root.path()).unwrap();
    write(&engine);
    let held = records(root.path());
    assert_eq!(held, 353, "every sample still in the WAL");
    let wal = root.path().join("w/w.wal");
    let wal_bytes = fs::read(&wal).unwrap();
    engine.abort();
    fs::write(&wal, &wal_bytes).unwrap();
    let engine = Engine::open(root.path()).unwrap();
    let now = all(&engine, "w", "now");
    assert_eq!(now.len(), 350, "WAL held {held} records");
    assert!(now.iter().enumerate().all(|(i, s)| s.ts == T0 + i as i64));
    assert_eq!(all(&engine, "w", "late").len(), 3);
}

#[test]
fn last_value_and_stale_check_survive_restart() {
    let root = root_with("", "segment");
    let engine = Engine::open(root.path()).unwrap();
    engine
        .add_sample("l", "m", T0 + 5, Value::F32(1.5))
        .unwrap();
    engine
        .add_sample("l", "m", T0 + 7, Value::F32(2.5))
        .unwrap();
    engine.close().unwrap();
    drop(engine);
    let engine = Engine::open(root.path()).unwrap();
    let last = engine.query_last("l", "m").unwrap().unwrap();
    assert_eq!((last.ts, last.value), (T0 + 7, Value::F32(2.5)));
    assert!(matches!(
        engine.add_sample("l", "m", T0 + 6, Value::F32(0.0)),
        Err(Error::Stale { .. })
    ));
    assert_eq!(engine.query_last("l", "nope").unwrap(), None);
}

#[test]
fn queries_never_create_databases() {
    let root = root_with("", "segment");
    let engine = Engine::open(root.path()).unwrap();
    assert!(matches!(
        engine.query_range("ghost", "m", 0, 1, 1, |_| ControlFlow::Continue(())),
        Err(Error::DatabaseNotFound(_))
    ));
    assert!(matches!(
        engine.query_last("ghost", "m"),
        Err(Error::DatabaseNotFound(_))
    ));
    assert!(matches!(
        engine.export_to_writer("ghost", Vec::new()),
        Err(Error::DatabaseNotFound(_))
    ));
    assert!(matches!(
        engine.metrics("ghost"),
        Err(Error::DatabaseNotFound(_))
    ));
    assert!(matches!(
        engine.query_range("..", "m", 0, 1, 1, |_| ControlFlow::Continue(())),
        Err(Error::InvalidDatabaseName { .. })
    ));
    assert_eq!(files(root.path()), ["engine.toml"]);
}

#[test]
fn range_stride_and_bounds() {
    let root = root_with("", "segment");
    let engine = Engine::open(root.path()).unwrap();
    for i in 0..10 {
        engine
            .add_sample("s", "m", T0 + i * 10, Value::I32(i as i32))
            .unwrap();
    }
    engine.flush().unwrap();
    for i in 10..20 {
        engine
            .add_sample("s", "m", T0 + i * 10, Value::I32(i as i32))
            .unwrap();
    }
    let mut got = Vec::new();
    engine
        .query_range("s", "m", T0 + 20, T0 + 150, 3, |s| {
            got.push(s.value);
            ControlFlow::Continue(())
        })
        .unwrap();
    // In range: 2..=15 (14 samples); every 3rd starting with the first.
    assert_eq!(got, [2, 5, 8, 11, 14].map(Value::I32));
    assert!(matches!(
        engine.query_range("s", "m", 5, 4, 1, |_| ControlFlow::Continue(())),
        Err(Error::InvalidRange { .. })
    ));
    // Early stop.
    let mut n = 0;
    engine
        .query_range("s", "m", i64::MIN, i64::MAX, 1, |_| {
            n += 1;
            if n == 4 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .unwrap();
    assert_eq!(n, 4);
    // Many metrics.
    engine
        .add_sample("s", "z", T0 + 1000, Value::F32(1.0))
        .unwrap();
    let mut names = Vec::new();
    engine
        .query_range_many(
            "s",
            &["z", "m", "nope", "m"],
            i64::MIN,
            i64::MAX,
            1,
            |name, _| {
                names.push(name.to_string());
                ControlFlow::Continue(())
            },
        )
        .unwrap();
    assert_eq!(names.iter().filter(|n| *n == "m").count(), 20);
    assert_eq!(names.iter().filter(|n| *n == "z").count(), 1);
    // The same by index: a duplicate name reports its first occurrence.
    let mut counts = [0usize; 4];
    engine
        .query_range_many_indexed(
            "s",
            &["z", "m", "nope", "m"],
            i64::MIN,
            i64::MAX,
            1,
            |i, _| {
                counts[i] += 1;
                ControlFlow::Continue(())
            },
        )
        .unwrap();
    assert_eq!(counts, [1, 20, 0, 0]);
}

#[test]
fn import_reports_each_bad_line_and_goes_on() {
    let root = root_with("", "segment");
    let engine = Engine::open(root.path()).unwrap();
    let input = "# comment\n\nimp/a 1 100\nimp/a oops 200\nimp/a 2 300\r\nimp/b 1i 50\nimp/b 2 60\nnotarget 1\n";
    let mut rejects: Vec<(u64, String)> = Vec::new();
    let r = engine
        .import_reader(input.as_bytes(), &ImportOptions::default(), &mut rejects)
        .unwrap();
    assert_eq!(
        (r.total_lines, r.imported, r.skipped, r.rejected),
        (8, 3, 2, 3)
    );
    let lines: Vec<u64> = rejects.iter().map(|r| r.0).collect();
    assert_eq!(lines, [4, 7, 8]);
    assert!(rejects[0].1.contains("oops"), "{rejects:?}");
    assert!(rejects[1].1.contains("type mismatch"), "{rejects:?}");

    let strict = ImportOptions {
        strict: true,
        ..ImportOptions::default()
    };
    let e = engine
        .import_reader(
            "imp/c 1 1\nimp/c x 2\nimp/c 3 3\n".as_bytes(),
            &strict,
            &mut (),
        )
        .unwrap_err();
    assert!(matches!(e, Error::ImportLine { line: 2, .. }), "{e}");
    assert_eq!(all(&engine, "imp", "c").len(), 1);

    let long = format!("imp/d 1 1\nimp/d {} 2\nimp/d 3 3\n", "9".repeat(70_000));
    let r = engine
        .import_reader(long.as_bytes(), &ImportOptions::default(), &mut ())
        .unwrap();
    assert_eq!((r.imported, r.rejected), (2, 1));
}

#[test]
fn concurrent_writers_and_readers() {
    let root = root_with("", "segment");
    let engine = Arc::new(Engine::open(root.path()).unwrap());
    let mut handles = Vec::new();
    for t in 0..4 {
        let e = engine.clone();
        handles.push(std::thread::spawn(move || {
            let db = if t % 2 == 0 { "c0" } else { "c1" };
            let metric = format!("m{t}");
            for i in 0..2000 {
                e.add_sample(db, &metric, T0 + i, Value::I32(i as i32))
                    .unwrap();
                if i % 500 == 0 {
                    // A query sees at least everything this thread wrote.
                    let n = all(&e, db, &metric).len();
                    assert!(n > i as usize, "{n} <= {i}");
                }
            }
        }));
    }
    for h in handles {
        h.join().unwrap();
    }
    for t in 0..4 {
        let db = if t % 2 == 0 { "c0" } else { "c1" };
        assert_eq!(all(&engine, db, &format!("m{t}")).len(), 2000);
    }
}

#[test]
fn batch_write_reports_rejections_by_index() {
    let root = root_with("", "segment");
    let engine = Engine::open(root.path()).unwrap();
    let batch = [
        WriteSample {
            db: "b",
            metric: "m",
            ts: T0,
            value: Value::I32(1),
        },
        WriteSample {
            db: "b",
            metric: "m",
            ts: T0 - 1,
            value: Value::I32(2),
        },
        WriteSample {
            db: "bad/db",
            metric: "m",
            ts: T0,
            value: Value::I32(3),
        },
        WriteSample {
            db: "b",
            metric: "m",
            ts: T0 + 1,
            value: Value::F32(4.0),
        },
        WriteSample {
            db: "b",
            metric: "n",
            ts: T0,
            value: Value::F32(4.0),
        },
    ];
    let r = engine.write(&batch).unwrap();
    assert_eq!(r.accepted, 2);
    let idx: Vec<usize> = r.rejected.iter().map(|x| x.0).collect();
    assert_eq!(idx, [1, 2, 3]);
}

#[test]
fn read_only_engine_refuses_writes_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("nothing-here");
    let engine = Engine::open_with(
        &root,
        EngineOptions {
            read_only: true,
            config: None,
        },
    )
    .unwrap();
    assert!(matches!(engine.add_line("a/b 1 1"), Err(Error::ReadOnly)));
    assert!(!root.exists());
    assert!(engine.databases().unwrap().is_empty());
}

#[test]
fn wal_garbage_tail_is_cut_kept_and_later_records_replay() {
    let root = root_with("", "always");
    let engine = Engine::open(root.path()).unwrap();
    for i in 0..5 {
        engine
            .add_sample("g", "m", T0 + i, Value::I32(i as i32))
            .unwrap();
    }
    engine.abort(); // crash: pages only in the WAL
    let wal = root.path().join("g/g.wal");
    let good = fs::read(&wal).unwrap();
    let mut torn = good.clone();
    torn.extend_from_slice(&[0x40, 0x01, 0x02]); // a record cut mid-write
    fs::write(&wal, &torn).unwrap();
    let engine = Engine::open(root.path()).unwrap();
    assert_eq!(all(&engine, "g", "m").len(), 5);
    let kept = root.path().join(format!("g/g.wal.torn-at-{}", good.len()));
    assert_eq!(fs::read(&kept).unwrap(), [0x40, 0x01, 0x02]);
    for i in 5..8 {
        engine
            .add_sample("g", "m", T0 + i, Value::I32(i as i32))
            .unwrap();
    }
    engine.abort();
    let engine = Engine::open(root.path()).unwrap();
    let got: Vec<i64> = all(&engine, "g", "m").iter().map(|s| s.ts - T0).collect();
    assert_eq!(got, [0, 1, 2, 3, 4, 5, 6, 7]);
}

#[test]
fn partition_modes_name_their_files() {
    for (mode, file) in [
        ("day", "data-2026-01-01.dat"),
        ("month", "data-2026-01.dat"),
        ("year", "data-2026.dat"),
        ("forever", "data-forever.dat"),
    ] {
        let root = root_with(
            &format!("[manifest_defaults.retention]\npartition = \"{mode}\""),
            "segment",
        );
        let engine = Engine::open(root.path()).unwrap();
        engine.add_line("p/m 1.5 2026-01-01 10:00:00").unwrap();
        engine.add_line("p/m -1 1969-12-31 23:59:59.5").unwrap_err(); // stale: older than last
        engine.close().unwrap();
        drop(engine);
        assert!(
            root.path().join("p").join(file).is_file(),
            "{mode}: {:?}",
            files(&root.path().join("p"))
        );
        let m = fs::read_to_string(root.path().join("p/manifest.toml")).unwrap();
        assert!(m.contains(&format!("partition = \"{mode}\"")), "{m}");
    }
}

#[test]
fn throughput_profile_syncs_data_before_resetting_the_wal() {
    let root = tempfile::tempdir().unwrap();
    fs::write(
        root.path().join("engine.toml"),
        "[durability]\nprofile = \"throughput\"\n[manifest_defaults.wal]\nenabled = true\nskip_before = \"0s\"\n[manifest_defaults.page]\nmax_records = 10\n",
    )
    .unwrap();
    let engine = Engine::open(root.path()).unwrap();
    for i in 0..25 {
        engine
            .add_sample("tp", "m", T0 + i, Value::F32(i as f32))
            .unwrap();
    }
    // The background thread fsyncs the frames, then drops their samples
    // from the WAL (5 samples stay, in the open page).
    let wal = root.path().join("tp/tp.wal");
    eventually("WAL checkpointed", || {
        nanotdb::inspect::wal_file(&wal, false).unwrap().records == 5
    });
    let st = engine.db_stats("tp").unwrap();
    assert_eq!(st.counters.flushes, 2);
    // Each checkpoint was preceded by an fsync of the frames it drops.
    let checkpoints = st.counters.wal_resets + st.counters.wal_rewrites;
    assert!(checkpoints >= 1, "{st:?}");
    assert!(st.counters.data_fsyncs >= checkpoints, "{st:?}");
    assert_eq!(engine.unflushed_samples("tp").unwrap().len(), 5);
    drop(engine);
    let engine = Engine::open(root.path()).unwrap();
    assert_eq!(all(&engine, "tp", "m").len(), 25);
}

#[test]
fn disabled_wal_keeps_its_file_empty() {
    let root = root_with("", "segment");
    let cfg = fs::read_to_string(root.path().join("engine.toml")).unwrap();
    fs::write(
        root.path().join("engine.toml"),
        cfg.replace("enabled = true", "enabled = false"),
    )
    .unwrap();
    let engine = Engine::open(root.path()).unwrap();
    engine.add_sample("nw", "m", T0, Value::I32(1)).unwrap();
    assert_eq!(
        fs::metadata(root.path().join("nw/nw.wal")).unwrap().len(),
        0
    );
    engine.close().unwrap();
    drop(engine);
    let engine = Engine::open(root.path()).unwrap();
    assert_eq!(all(&engine, "nw", "m").len(), 1);
}

#[test]
fn atomic_batch_stores_all_or_nothing() {
    let root = root_with(
        "[manifest_defaults.retention]\nmax_active_days = 1",
        "segment",
    );
    let engine = Engine::open(root.path()).unwrap();
    engine
        .add_sample("a", "old", T0 + DAY, Value::I32(0))
        .unwrap();
    let s = |db, metric, ts, value| WriteSample {
        db,
        metric,
        ts,
        value,
    };
    // Each of these is only wrong given the samples before it in the batch.
    let bad = [
        s("a", "old", T0 + DAY + 10, Value::I32(1)),
        s("a", "old", T0 + DAY + 9, Value::I32(1)), // stale: existing metric
        s("a", "x", T0 + DAY, Value::I32(1)),
        s("a", "x", T0 + DAY - 1, Value::I32(2)), // stale within the batch
        s("a", "y", T0 + DAY, Value::I32(3)),
        s("a", "y", T0 + DAY, Value::F32(4.0)), // type fixed earlier in the batch
        s("a", "z", T0 + 2 * DAY, Value::I32(5)), // seals day 2 (max_active_days = 1)...
        s("a", "w", T0 + DAY + 5, Value::I32(6)), // ...so day 2 is sealed now
        s("fresh", "m", T0, Value::I32(7)),
        s("../x", "m", T0, Value::I32(8)),
    ];
    let r = engine.write_atomic(&bad).unwrap();
    assert_eq!(r.accepted, 0);
    let idx: Vec<usize> = r.rejected.iter().map(|x| x.0).collect();
    assert_eq!(idx, [1, 3, 5, 7, 9]);
    assert!(matches!(r.rejected[0].1, Error::Stale { last, .. } if last == T0 + DAY + 10));
    assert!(matches!(r.rejected[1].1, Error::Stale { .. }));
    assert!(matches!(r.rejected[2].1, Error::TypeMismatch { .. }));
    assert!(matches!(r.rejected[3].1, Error::Sealed { .. }));
    // Nothing was stored or created.
    assert_eq!(engine.metrics("a").unwrap().len(), 1);
    assert!(!root.path().join("fresh").exists());
    assert_eq!(engine.db_stats("a").unwrap().open_partitions.len(), 1);
    let good = [
        s("a", "x", T0 + DAY, Value::I32(1)),
        s("fresh", "m", T0, Value::I32(7)),
        s("a", "x", T0 + DAY + 1, Value::I32(2)),
    ];
    let r = engine.write_atomic(&good).unwrap();
    assert_eq!((r.accepted, r.rejected.len()), (3, 0));
    assert_eq!(all(&engine, "a", "x").len(), 2);
    assert_eq!(all(&engine, "fresh", "m").len(), 1);
}

#[test]
fn validate_gives_the_atomic_verdict_and_stores_nothing() {
    let root = root_with(
        "[manifest_defaults.retention]\nmax_active_days = 1",
        "segment",
    );
    let engine = Engine::open(root.path()).unwrap();
    engine
        .add_sample("a", "old", T0 + DAY, Value::I32(0))
        .unwrap();
    let s = |db, metric, ts, value| WriteSample {
        db,
        metric,
        ts,
        value,
    };
    let batch = [
        s("a", "old", T0 + DAY + 10, Value::I32(1)),
        s("a", "old", T0 + DAY + 9, Value::I32(1)), // stale given sample 0
        s("a", "y", T0 + DAY, Value::I32(3)),
        s("a", "y", T0 + DAY, Value::F32(4.0)), // type fixed by sample 2
        s("fresh", "m", T0, Value::I32(7)),
        s("../x", "m", T0, Value::I32(8)),
    ];
    let r = engine.validate(&batch).unwrap();
    let idx: Vec<usize> = r.rejected.iter().map(|x| x.0).collect();
    assert_eq!(idx, [1, 3, 5]);
    assert_eq!(r.accepted, 3);
    let atomic = engine.write_atomic(&batch).unwrap();
    let atomic: Vec<(usize, String)> = atomic
        .rejected
        .iter()
        .map(|(i, e)| (*i, e.to_string()))
        .collect();
    let dry: Vec<(usize, String)> = r
        .rejected
        .iter()
        .map(|(i, e)| (*i, e.to_string()))
        .collect();
    assert_eq!(dry, atomic);
    // A clean batch validates too, and is still not stored.
    let good = [
        s("a", "x", T0 + DAY, Value::I32(1)),
        s("fresh", "m", T0, Value::I32(7)),
    ];
    let r = engine.validate(&good).unwrap();
    assert_eq!((r.accepted, r.rejected.len()), (2, 0));
    assert_eq!(engine.metrics("a").unwrap().len(), 1);
    assert!(!root.path().join("fresh").exists());
    assert!(all(&engine, "a", "old").len() == 1);
}

#[test]
fn aggregate_queries_over_windows() {
    let root = root_with("", "segment");
    let engine = Engine::open(root.path()).unwrap();
    // Two 10 s windows: [0,10) holds 1,2,3,4 ; [10,20) holds 10 and NaN.
    let s = 1_000_000_000i64;
    for (t, v) in [
        (1, 1.0f32),
        (2, 2.0),
        (3, 3.0),
        (9, 4.0),
        (10, 10.0),
        (15, f32::NAN),
    ] {
        engine
            .add_sample("ag", "m", T0 + t * s, Value::F32(v))
            .unwrap();
    }
    engine
        .add_sample("ag", "i", T0, Value::I32(i32::MAX))
        .unwrap();
    let mut rows = Vec::new();
    engine
        .query_aggregate(
            "ag",
            "m",
            T0 + 2 * s,
            T0 + 100 * s,
            10 * s,
            &["avg", "count", "max", "p50", "sum"],
            |r| {
                rows.push((r.aggregate.to_string(), r.start - T0, r.end - T0, r.value));
                ControlFlow::Continue(())
            },
        )
        .unwrap();
    let want = [
        ("avg", 2 * s, 10 * s, 3.0),
        ("count", 2 * s, 10 * s, 3.0),
        ("max", 2 * s, 10 * s, 4.0),
        ("p50", 2 * s, 10 * s, 3.0),
        ("sum", 2 * s, 10 * s, 9.0),
        ("avg", 10 * s, 20 * s, 10.0),
        ("count", 10 * s, 20 * s, 1.0),
        ("max", 10 * s, 20 * s, 10.0),
        ("p50", 10 * s, 20 * s, 10.0),
        ("sum", 10 * s, 20 * s, 10.0),
    ];
    assert_eq!(rows.len(), want.len());
    for (got, w) in rows.iter().zip(want) {
        assert_eq!((got.0.as_str(), got.1, got.2, got.3), w);
    }
    // int32 values are accumulated exactly (f64), unlike v1.4.0's float32.
    let mut v = None;
    engine
        .query_aggregate("ag", "i", T0, T0 + s, s, &["sum"], |r| {
            v = Some(r.value);
            ControlFlow::Continue(())
        })
        .unwrap();
    assert_eq!(v, Some(f64::from(i32::MAX)));
    let e = engine
        .query_aggregate("ag", "m", T0, T0 + s, s, &["mode"], |_| {
            ControlFlow::Continue(())
        })
        .unwrap_err();
    assert!(
        e.to_string().starts_with("unsupported aggregate \"mode\""),
        "{e}"
    );
    assert!(e.is_rejection());
    assert!(
        engine
            .query_aggregate("ag", "m", T0, T0 + s, 0, &["sum"], |_| {
                ControlFlow::Continue(())
            })
            .is_err()
    );
}

#[test]
fn retention_uses_the_wall_clock_and_spares_recent_and_open_partitions() {
    // A far-future sample needs the horizon off ([ingest].max_future = 0s).
    let root = root_with(
        "[manifest_defaults.retention]\nmax_active_days = 1\nretention_days = 30\nretention_action = \"delete\"\n[ingest]\nmax_future = \"0s\"\nout_of_order_window = \"0s\"",
        "segment",
    );
    let engine = Engine::open(root.path()).unwrap();
    let now = nanotdb::time::now_ns();
    // Old days (2026-01-01 and -02) are sealed as newer ones open; each seal
    // runs retention against the wall clock.
    engine.add_sample("rt", "m", T0, Value::I32(1)).unwrap();
    engine
        .add_sample("rt", "m", T0 + DAY, Value::I32(2))
        .unwrap();
    assert!(
        !root.path().join("rt/data-2026-01-01.dat").exists(),
        "expired on seal"
    );
    // Recent data, then a far-future sample: the seal it causes must not
    // remove yesterday's partition (v1.4.0 measured age from the sample).
    engine
        .add_sample("rt", "m", now - DAY, Value::I32(3))
        .unwrap();
    let yesterday = nanotdb::time::partition_key(nanotdb::time::PartitionMode::Day, now - DAY);
    engine
        .add_sample("rt", "m", now + 4000 * DAY, Value::I32(4))
        .unwrap();
    assert!(
        root.path()
            .join(format!("rt/data-{yesterday}.dat"))
            .exists()
    );
    assert!(!root.path().join("rt/data-2026-01-02.dat").exists());
    // Dry run reports without touching; the open (future) partition is never a candidate.
    let r = engine.apply_retention("rt", true).unwrap();
    assert!(r.expired.is_empty(), "{r:?}");
    let got: Vec<Value> = all(&engine, "rt", "m").iter().map(|s| s.value).collect();
    assert_eq!(got, [Value::I32(3), Value::I32(4)]);
}

#[test]
fn self_metrics_go_to_internal_only_when_something_was_written() {
    let root = tempfile::tempdir().unwrap();
    fs::write(
        root.path().join("engine.toml"),
        "[stats]\nenabled = true\ninterval = \"1h\"\n[manifest_defaults.wal]\nenabled = true\nskip_before = \"0s\"\n",
    )
    .unwrap();
    // A run that writes nothing adds nothing.
    let engine = Engine::open(root.path()).unwrap();
    engine.close().unwrap();
    drop(engine);
    assert!(!root.path().join("internal").exists());
    let engine = Engine::open(root.path()).unwrap();
    engine.add_sample("s", "m", T0, Value::I32(1)).unwrap();
    engine.add_sample("s", "m", T0 + 1, Value::I32(2)).unwrap();
    // First write emitted a snapshot; the second is within the interval.
    let snap: Vec<Sample> = all(&engine, "internal", "nanotdb/s/ingest/samples");
    assert_eq!(snap.len(), 1);
    assert_eq!(snap[0].value, Value::F32(1.0));
    engine.close().unwrap();
    drop(engine);
    let engine = Engine::open(root.path()).unwrap();
    let snap = all(&engine, "internal", "nanotdb/s/ingest/samples");
    assert_eq!(snap.len(), 2, "one more at close");
    assert_eq!(snap[1].value, Value::F32(2.0));
    assert!(all(&engine, "internal", "nanotdb/s/wal/append_count")[1].value == Value::F32(2.0));
}
