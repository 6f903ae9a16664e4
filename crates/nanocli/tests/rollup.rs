//! `nanocli rollup` against the v1.4.0 rollup fixture.

mod common;

use std::fs;

use common::*;

#[test]
fn rollup_rebuilds_fixture_destinations_exactly_and_is_idempotent() {
    let fx = fixture("rollups");
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("root");
    copy_dir(&fx.join("root"), &root);
    fs::remove_dir_all(root.join("edge_1h")).unwrap();
    fs::remove_dir_all(root.join("edge_15m")).unwrap();
    let out = nanocli().args(["rollup", "--root"]).arg(&root).ok_stdout();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.starts_with("Backfilled 1 rollup source DBs into 2 destination DBs in "),
        "{text}"
    );
    // The destinations were created with the rollup-tuned manifest.
    let m = fs::read_to_string(root.join("edge_1h/manifest.toml")).unwrap();
    assert!(
        m.starts_with("# Auto-created rollup destination manifest.\n"),
        "{m}"
    );
    assert!(m.contains("partition = \"month\""), "{m}");
    assert!(m.contains("enabled = false"), "{m}");
    for db in ["edge_1h", "edge_15m"] {
        let actual = d.path().join(format!("{db}.lp"));
        export(&root, db, &actual);
        lpcompare(&fx.join(format!("expected-{db}.lp")), &actual, &[]);
    }
    // The checkpoint log reads back in the reference's format.
    let log = fs::read_to_string(root.join("edge/rollup.checkpoints.log")).unwrap();
    let mut lines: Vec<&str> = log.lines().collect();
    lines.sort();
    let mut reference: Vec<String> =
        fs::read_to_string(fx.join("root/edge/rollup.checkpoints.log"))
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect();
    reference.sort();
    assert_eq!(lines, reference);
    for l in &lines {
        let (k, v) = l.split_once(',').unwrap();
        assert!(!k.is_empty());
        v.parse::<i64>().unwrap();
    }
    // Running it again changes nothing.
    let before = tree(&root);
    nanocli()
        .args(["rollup", "--root"])
        .arg(&root)
        .args(["--json"])
        .assert()
        .success();
    let after = tree(&root);
    assert_eq!(before.len(), after.len());
    for ((pa, ba), (pb, bb)) in before.iter().zip(&after) {
        assert_eq!(pa, pb);
        if pa.ends_with("nanotdb.lock") {
            continue; // names the last writer's pid and start time
        }
        assert!(ba == bb, "{} changed", pa.display());
    }
}

#[test]
fn rollup_without_sources_says_so() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("root");
    let input = d.path().join("in.lp");
    fs::write(&input, "a/m 1 1\n").unwrap();
    import(&root, &input).assert().success();
    nanocli()
        .args(["rollup", "--root"])
        .arg(&root)
        .assert()
        .success()
        .stdout("No rollup sources found.\n");
}

#[test]
fn import_rolls_up_the_sources_it_touched_at_the_end() {
    let fx = fixture("rollups");
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("root");
    fs::create_dir_all(root.join("edge")).unwrap();
    fs::copy(fx.join("root/engine.toml"), root.join("engine.toml")).unwrap();
    fs::copy(
        fx.join("root/edge/manifest.toml"),
        root.join("edge/manifest.toml"),
    )
    .unwrap();
    // Re-import the fixture's source data as line protocol.
    let src = d.path().join("src");
    copy_dir(&fx.join("root"), &src);
    let lp = d.path().join("edge.lp");
    export(&src, "edge", &lp);
    let out = import(&root, &lp).ok_stdout();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains("Rolled up edge into edge_15m, edge_1h"),
        "{text}"
    );
    for db in ["edge_1h", "edge_15m"] {
        let actual = d.path().join(format!("{db}.lp"));
        export(&root, db, &actual);
        lpcompare(&fx.join(format!("expected-{db}.lp")), &actual, &[]);
    }
}
