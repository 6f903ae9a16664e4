//! Compatibility: every fixture written by NanoTDB v1.4.0 opens and exports
//! exactly the samples its README names.

mod common;

use std::fs;
use std::path::Path;

use common::*;
use nanotdb::{Engine, Value};

fn export(engine: &Engine, db: &str, dir: &Path) -> std::path::PathBuf {
    let out = dir.join(format!("actual-{db}.lp"));
    engine.export_file(db, &out).expect("export");
    out
}

#[test]
fn edge_2h_exports_expected() {
    let root = copy_tree(&fixture("edge-2h/root"));
    let engine = Engine::open(root.path()).unwrap();
    let out = export(&engine, "edge", root.path());
    assert_eq!(count_lines(&out), 61_920);
    lpcompare(&fixture("edge-2h/expected-edge.lp"), &out, &[]);
}

#[test]
fn codecs_databases_export_expected_from_raw_files() {
    let root = copy_tree(&fixture("codecs/root"));
    let engine = Engine::open(root.path()).unwrap();
    let dbs = engine.databases().unwrap();
    assert_eq!(dbs, nanotdb_testkit::CODEC_DATABASES);
    for db in &dbs {
        let out = export(&engine, db, root.path());
        assert_eq!(count_lines(&out), 61_920, "{db}");
        lpcompare(&fixture("edge-2h/expected-edge.lp"), &out, &[("edge", db)]);
    }
}

#[test]
fn types_fixture_round_trips_values() {
    let root = copy_tree(&fixture("types/root"));
    let engine = Engine::open(root.path()).unwrap();
    let out = export(&engine, "t", root.path());
    lpcompare(&fixture("types/expected-t.lp"), &out, &[]);
    let text = fs::read_to_string(&out).unwrap();
    // int32 metrics are exported with the `i` suffix, so a re-import keeps them int32.
    assert!(
        text.contains("t/int.max 2147483647i 2026-01-01 00:00:01.000000000\n"),
        "{text}"
    );
    assert!(text.contains("t/float.negzero -0 2026-01-01 00:00:02.000000000\n"));
    assert!(text.contains("t/float.inf +Inf "));
    assert!(text.contains("t/float.nan NaN "));
    let last = engine.query_last("t", "int.min").unwrap().unwrap();
    assert_eq!(last.value, Value::I32(i32::MIN));
}

#[test]
fn partitions_month_year_forever() {
    for r in ["root-month", "root-year", "root-forever"] {
        let root = copy_tree(&fixture(&format!("partitions/{r}")));
        let engine = Engine::open(root.path()).unwrap();
        let out = export(&engine, "p", root.path());
        lpcompare(&fixture("partitions/expected-p.lp"), &out, &[]);
    }
}

#[test]
fn wal_replay_recovers_samples_only_in_the_wal() {
    let root = copy_tree(&fixture("wal-replay/root"));
    assert_eq!(
        fs::metadata(root.path().join("live/catalog.json"))
            .unwrap()
            .len(),
        0
    );
    let engine = Engine::open(root.path()).unwrap();
    let out = export(&engine, "live", root.path());
    lpcompare(&fixture("wal-replay/expected-live.lp"), &out, &[]);
    engine.close().unwrap();
    // After a clean close everything is in data files and the WAL is empty.
    assert_eq!(
        fs::metadata(root.path().join("live/live.wal"))
            .unwrap()
            .len(),
        0
    );
    let engine = Engine::open(root.path()).unwrap();
    let out2 = root.path().join("again.lp");
    engine.export_file("live", &out2).unwrap();
    lpcompare(&fixture("wal-replay/expected-live.lp"), &out2, &[]);
}

#[test]
fn torn_tail_is_cut_kept_aside_and_appendable() {
    let root = copy_tree(&fixture("torn-tail/root"));
    let data = root.path().join("edge/data-2026-01-01.dat");
    let before = fs::read(&data).unwrap();
    let engine = Engine::open(root.path()).unwrap();
    let out = export(&engine, "edge", root.path());
    // The README says 53,764 lines: that is what the original's export
    // printed before failing (its buffered output lost the rest). The six
    // intact frames hold 6 x 9072 = 54,432 samples, exactly the first 54,432
    // lines of the full export; every CRC checks out.
    let expected = root.path().join("expected-head.lp");
    head_lines(&fixture("edge-2h/expected-edge.lp"), &expected, 54_432);
    assert_eq!(count_lines(&out), 54_432);
    lpcompare(&expected, &out, &[]);

    // The cut bytes are kept under a name that says so.
    let after = fs::read(&data).unwrap();
    assert!(after.len() < before.len());
    assert_eq!(&before[..after.len()], &after[..]);
    let kept: Vec<_> = fs::read_dir(root.path().join("edge"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().into_string().unwrap())
        .filter(|n| n.contains(".torn-at-"))
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    let tail = fs::read(root.path().join("edge").join(&kept[0])).unwrap();
    assert_eq!(&before[after.len()..], &tail[..]);
    assert!(tail.ends_with(b"GARBAGE-AFTER-CRASH"));

    // New frames land after the last intact frame and stay readable.
    engine
        .add_line("edge/temp.probe01 99.5 2026-01-01 23:00:00")
        .unwrap();
    engine.close().unwrap();
    drop(engine);
    let engine = Engine::open(root.path()).unwrap();
    let mut got = Vec::new();
    engine
        .query_range("edge", "temp.probe01", i64::MIN, i64::MAX, 1, |s| {
            got.push(s);
            std::ops::ControlFlow::Continue(())
        })
        .unwrap();
    let last = got.last().unwrap();
    assert_eq!(last.value, Value::F32(99.5));
    let out = export(&engine, "edge", root.path());
    assert_eq!(count_lines(&out), 54_433);
}

#[test]
fn rollup_destinations_export_expected() {
    let root = copy_tree(&fixture("rollups/root"));
    let engine = Engine::open(root.path()).unwrap();
    for db in ["edge_1h", "edge_15m"] {
        let out = export(&engine, db, root.path());
        lpcompare(&fixture(&format!("rollups/expected-{db}.lp")), &out, &[]);
    }
}

#[test]
fn read_only_export_changes_nothing() {
    for (fx, db) in [
        ("wal-replay/root", "live"),
        ("torn-tail/root", "edge"),
        ("edge-2h/root", "edge"),
    ] {
        let root = copy_tree(&fixture(fx));
        let before = snapshot_tree(root.path());
        let engine = Engine::open_read_only(root.path()).unwrap();
        let mut sink = Vec::new();
        let r = engine.export_to_writer(db, &mut sink).unwrap();
        assert!(r.lines > 0);
        engine.close().unwrap();
        drop(engine);
        assert!(snapshot_tree(root.path()) == before, "{fx} changed");
    }
}

#[test]
fn read_only_sees_wal_samples() {
    let root = copy_tree(&fixture("wal-replay/root"));
    let engine = Engine::open_read_only(root.path()).unwrap();
    let out = tempfile::tempdir().unwrap();
    let p = out.path().join("x.lp");
    let mut f = fs::File::create(&p).unwrap();
    engine.export_to_writer("live", &mut f).unwrap();
    lpcompare(&fixture("wal-replay/expected-live.lp"), &p, &[]);
}
