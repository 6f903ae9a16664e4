//! `nanocli` end to end, against real data directories.

mod common;

use std::fs;

use common::*;

#[test]
fn help_and_version() {
    let out = nanocli().arg("--help").ok_stdout();
    let text = String::from_utf8(out).unwrap();
    for cmd in ["import", "export", "query", "Examples"] {
        assert!(text.contains(cmd), "{text}");
    }
    for cmd in ["import", "export", "query"] {
        nanocli().args([cmd, "--help"]).assert().success();
    }
    nanocli().arg("--version").assert().success();
    // Usage errors exit 2, with the problem on stderr.
    nanocli().assert().code(2);
    nanocli().arg("frobnicate").assert().code(2);
    nanocli().args(["export", "--root", "x"]).assert().code(2);
}

#[test]
fn import_reports_bad_lines_and_exits_1() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("root");
    let input = d.path().join("in.lp");
    fs::write(&input, "a/m 1 1\na/m nope 2\n# c\na/m 3 3\nbad\n").unwrap();
    let out = import(&root, &input).assert().code(1).get_output().clone();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("line 2: invalid numeric value \"nope\""),
        "{stderr}"
    );
    assert!(stderr.contains("line 5: invalid line protocol"), "{stderr}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("Imported 2/5 lines"), "{stdout}");
    assert!(stdout.contains("(1 skipped, 2 rejected"), "{stdout}");
    // --strict stops at the first bad line.
    fs::write(&input, "b/m 1 1\nb/m x 2\nb/m 3 3\n").unwrap();
    nanocli()
        .args(["import", "--strict", "--root"])
        .arg(&root)
        .arg("--in")
        .arg(&input)
        .assert()
        .code(1)
        .stderr(predicates::str::contains("line 2"));
    let exported = nanocli()
        .args(["export", "--db", "b", "--root"])
        .arg(&root)
        .ok_stdout();
    assert_eq!(
        String::from_utf8(exported).unwrap(),
        "b/m 1 1970-01-01 00:00:00.000000001\n"
    );
}

#[test]
fn import_json_summary_and_db_override() {
    let d = tempfile::tempdir().unwrap();
    let input = d.path().join("in.lp");
    fs::write(&input, "x/m 1i 10\ny/m 2i 20\n").unwrap();
    let out = nanocli()
        .args(["import", "--json", "--db", " /z/ ", "--root"])
        .arg(d.path())
        .arg("--in")
        .arg(&input)
        .ok_stdout();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["imported_lines"], 2);
    assert_eq!(v["databases_seen"], serde_json::json!(["z"]));
}

#[test]
fn export_out_is_relative_to_the_current_directory() {
    let root = fixture_copy("types/root");
    let cwd = tempfile::tempdir().unwrap();
    nanocli()
        .current_dir(cwd.path())
        .args(["export", "--db", "t", "--out", "sub/t.lp", "--root"])
        .arg(root.path())
        .assert()
        .success();
    let text = fs::read_to_string(cwd.path().join("sub/t.lp")).unwrap();
    assert!(text.contains("t/int.min -2147483648i 2026-01-01 00:00:01.000000000\n"));
    nanocli()
        .args(["export", "--db", "t", "--json", "--root"])
        .arg(root.path())
        .assert()
        .code(1)
        .stderr(predicates::str::contains("--json requires --out"));
}

#[test]
fn read_only_commands_leave_the_directory_byte_identical() {
    for (fx, db) in [
        ("wal-replay/root", "live"),
        ("torn-tail/root", "edge"),
        ("edge-2h/root", "edge"),
    ] {
        let root = fixture_copy(fx);
        let before = tree(root.path());
        nanocli()
            .args(["export", "--db", db, "--root"])
            .arg(root.path())
            .assert()
            .success();
        nanocli()
            .args(["query", "--db", db, "--root"])
            .arg(root.path())
            .assert()
            .success();
        nanocli()
            .args([
                "query",
                "--db",
                db,
                "--start",
                "2000-01-01",
                "--format",
                "json",
                "--root",
            ])
            .arg(root.path())
            .assert()
            .success();
        nanocli()
            .args(["query", "--db", "nope", "--root"])
            .arg(root.path())
            .assert()
            .code(1);
        assert!(tree(root.path()) == before, "{fx} was modified");
    }
}

#[test]
fn query_table_and_json() {
    let root = fixture_copy("edge-2h/root");
    let out = nanocli()
        .args([
            "query",
            "--db",
            "edge",
            "--metric",
            "^temp\\.probe01$",
            "--start",
            "2026-01-01 00:00:00",
            "--end",
            "2026-01-01 00:01:00",
            "--json",
            "--root",
        ])
        .arg(root.path())
        .ok_stdout();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 6, "one sample every 10 s");
    assert_eq!(v["row_count"], 6);
    assert_eq!(rows[0]["metric"], "temp.probe01");
    assert_eq!(rows[0]["value_type"], "float32");
    assert!(rows[0]["value"].is_string());
    let table = nanocli()
        .args([
            "query",
            "--db",
            "edge",
            "--metric",
            "temp.probe01",
            "--root",
        ])
        .arg(root.path())
        .ok_stdout();
    let table = String::from_utf8(table).unwrap();
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("METRIC"), "{table}");
    assert!(lines[1].starts_with("temp.probe01 "), "{table}");
    assert!(
        lines[1].contains("2026-01-01 01:59:5"),
        "last value: {table}"
    );
    assert_eq!(
        lines.last().unwrap().split_whitespace().next(),
        Some("rows=1")
    );
    nanocli()
        .args(["query", "--db", "edge", "--metric", "(", "--root"])
        .arg(root.path())
        .assert()
        .code(1)
        .stderr(predicates::str::contains("invalid --metric regex"));
}

#[test]
fn missing_engine_toml_is_a_clear_error() {
    let d = tempfile::tempdir().unwrap();
    nanocli()
        .args(["export", "--db", "x", "--root"])
        .arg(d.path())
        .assert()
        .code(1)
        .stderr(predicates::str::contains("engine config not found"));
}

#[test]
fn two_writers_the_second_gets_the_lock_error() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("root");
    let fifo = d.path().join("feed");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    // Writer 1 imports from a pipe and holds the database while it waits.
    let mut first = std::process::Command::new(assert_cmd::cargo::cargo_bin("nanocli"))
        .args(["import", "--root"])
        .arg(&root)
        .arg("--in")
        .arg(&fifo)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut feed = fs::OpenOptions::new().write(true).open(&fifo).unwrap();
    use std::io::Write;
    // Enough lines to fill the import's first chunk, so it opens the database.
    let mut text = String::new();
    for i in 0..60_000 {
        text.push_str(&format!("w/m {i} {}\n", 1_000 + i));
    }
    feed.write_all(text.as_bytes()).unwrap();
    feed.flush().unwrap();
    let lock = root.join("w/nanotdb.lock");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !fs::read_to_string(&lock).is_ok_and(|t| t.contains("pid")) {
        assert!(
            std::time::Instant::now() < deadline,
            "writer 1 never took the lock"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let input = d.path().join("two.lp");
    fs::write(&input, "w/m 1 999999999\n").unwrap();
    import(&root, &input)
        .assert()
        .code(1)
        .stderr(predicates::str::contains(format!(
            "database w is locked by another writer (pid {}",
            first.id()
        )));
    feed.write_all(b"w/m 60000 61000\n").unwrap();
    drop(feed);
    assert!(first.wait().unwrap().success());
    let out = nanocli()
        .args(["export", "--db", "w", "--root"])
        .arg(&root)
        .ok_stdout();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(text.lines().count(), 60_001);
}

#[test]
fn inspect_reports_damage_and_what_is_readable() {
    let root = fixture_copy("torn-tail/root");
    let out = nanocli()
        .args(["inspect", "dat", "--db", "edge", "--json", "--root"])
        .arg(root.path())
        .ok_stdout();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let f = &v["files"][0];
    assert_eq!(f["path"], "data-2026-01-01.dat");
    assert_eq!(f["frames"], 6);
    assert_eq!(f["records"], 54_432);
    assert_eq!(f["damage"]["offset"], 175_332);
    assert_eq!(f["damage"]["frame_index"], 6);
    assert_eq!(f["damage"]["bytes"], 198_517 - 175_332);
    assert_eq!(v["has_errors"], true);
    let human = nanocli()
        .args(["inspect", "db", "--db", "edge", "--root"])
        .arg(root.path())
        .ok_stdout();
    let human = String::from_utf8(human).unwrap();
    assert!(
        human.contains("damage: data-2026-01-01.dat at offset 175332 (frame 6)"),
        "{human}"
    );
    nanocli()
        .args(["inspect", "wal", "--db", "ghost", "--root"])
        .arg(root.path())
        .assert()
        .code(1)
        .stderr(predicates::str::contains("database directory not found"));
}

#[test]
fn inspect_wal_shows_where_decoding_stops() {
    let root = fixture_copy("wal-replay/root");
    let wal = root.path().join("live/live.wal");
    let mut bytes = fs::read(&wal).unwrap();
    let good = bytes.len();
    bytes.extend_from_slice(&[0x30, 0x01]);
    fs::write(&wal, &bytes).unwrap();
    let out = nanocli()
        .args(["inspect", "wal", "--db", "live", "--json", "--root"])
        .arg(root.path())
        .ok_stdout();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let f = &v["files"][0];
    assert_eq!(f["records"], 6429);
    assert_eq!(f["stop_offset"], good);
    assert_eq!(f["tail_bytes"], 2);
    assert!(
        f["stop_reason"]
            .as_str()
            .unwrap()
            .starts_with("truncated payload"),
        "{f}"
    );
}

#[test]
fn completions_for_each_shell() {
    for sh in ["bash", "zsh", "fish"] {
        let out = nanocli().args(["completions", sh]).ok_stdout();
        assert!(String::from_utf8(out).unwrap().contains("inspect"));
    }
}

#[test]
fn csv2nlp_sorts_merges_types_and_appends() {
    let d = tempfile::tempdir().unwrap();
    let csv = d.path().join("csv");
    fs::create_dir(&csv).unwrap();
    fs::write(
        csv.join("temp.csv"),
        "metric,sensor,value,timestamp\ntemp,probe 1,21.5,2000\ntemp,probe 1,22,1000\ntemp,probe 2,7,1000\n",
    )
    .unwrap();
    fs::write(csv.join("door.csv"), "m,s,v,t\ndoor,,3,1500\ndoor,,4,500\n").unwrap();
    fs::write(csv.join("off.csv"), "m,s,v,t\nx,,1,1\n").unwrap();
    fs::write(csv.join("notes.txt"), "ignored").unwrap();
    let meta = d.path().join("meta.json");
    fs::write(&meta, r#"{"metrics":{"off":{"enabled":false},"door":{"metric":"door.count","value_type":"int"}}}"#).unwrap();
    let out = d.path().join("out.lp");
    nanocli()
        .args(["csv2nlp", "--db", "s", "--in-dir"])
        .arg(&csv)
        .arg("--out")
        .arg(&out)
        .arg("--meta")
        .arg(&meta)
        .assert()
        .success()
        .stdout(predicates::str::contains(
            "Wrote 5 NLP lines from 2/3 CSV files",
        ));
    // temp.probe_1 mixes 21.5 (float) and 22 (int) => float; probe_2 is int.
    assert_eq!(
        fs::read_to_string(&out).unwrap(),
        "s/door.count 4i 500000000\n\
s/temp.probe_1 22 1000000000\n\
s/temp.probe_2 7i 1000000000\n\
s/door.count 3i 1500000000\n\
s/temp.probe_1 21.5 2000000000\n"
    );
    // Append: only rows newer than the last line are added.
    fs::write(
        csv.join("temp.csv"),
        "h,h,h,h\ntemp,probe 1,23.5,3000\ntemp,probe 1,1,1500\n",
    )
    .unwrap();
    nanocli()
        .args(["csv2nlp", "--append", "--db", "s", "--in-dir"])
        .arg(&csv)
        .arg("--out")
        .arg(&out)
        .arg("--meta")
        .arg(&meta)
        .assert()
        .success();
    let text = fs::read_to_string(&out).unwrap();
    assert!(
        text.ends_with("s/temp.probe_1 21.5 2000000000\ns/temp.probe_1 23.5 3000000000\n"),
        "{text}"
    );
    // Malformed rows name file and line.
    fs::write(csv.join("temp.csv"), "h,h,h,h\ntemp,p,abc,1\n").unwrap();
    nanocli()
        .args(["csv2nlp", "--db", "s", "--in-dir"])
        .arg(&csv)
        .arg("--out")
        .arg(&out)
        .assert()
        .code(1)
        .stderr(predicates::str::contains(
            "temp.csv:2: invalid value \"abc\"",
        ));
}

#[test]
fn query_aggregate_equals_the_engine_api_and_csv_works() {
    let root = fixture_copy("edge-2h/root");
    let out = nanocli()
        .args([
            "query",
            "--db",
            "edge",
            "--metric",
            "^temp\\.probe01$",
            "--start",
            "2026-01-01",
            "--end",
            "2026-01-01 01:00:00",
            "--aggregate",
            "max,avg,p95",
            "--window",
            "15m",
            "--json",
            "--root",
        ])
        .arg(root.path())
        .ok_stdout();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let rows = v["rows"].as_array().unwrap();
    // From the engine directly (read-only, like the CLI).
    let engine = nanotdb::Engine::open_read_only(root.path()).unwrap();
    let t0 = nanotdb::time::parse_timestamp("2026-01-01").unwrap();
    let t1 = nanotdb::time::parse_timestamp("2026-01-01 01:00:00").unwrap();
    let mut api: Vec<(String, i64, i64, String)> = Vec::new();
    engine
        .query_aggregate(
            "edge",
            "temp.probe01",
            t0,
            t1,
            900_000_000_000,
            &["max", "avg", "p95"],
            |r| {
                let mut b = Vec::new();
                nanotdb::lineproto::write_value(&mut b, nanotdb::Value::F32(r.value as f32));
                api.push((
                    r.aggregate.to_string(),
                    r.start,
                    r.end,
                    String::from_utf8(b).unwrap(),
                ));
                std::ops::ControlFlow::Continue(())
            },
        )
        .unwrap();
    api.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    assert_eq!(api.len(), 12, "4 windows x 3 aggregates");
    assert_eq!(rows.len(), api.len());
    for (r, a) in rows.iter().zip(&api) {
        assert_eq!(r["aggregate"], a.0.as_str());
        assert_eq!(r["start_ns"], a.1);
        assert_eq!(r["end_ns"], a.2);
        assert_eq!(r["value"], a.3.as_str());
        assert_eq!(r["window"], "15m0s");
        assert_eq!(r["value_type"], "float32");
    }
    // CSV: header plus one line per sample.
    let csv = nanocli()
        .args([
            "query",
            "--db",
            "edge",
            "--metric",
            "^temp\\.probe01$",
            "--start",
            "2026-01-01",
            "--end",
            "2026-01-01 00:00:30",
            "--format",
            "csv",
            "--root",
        ])
        .arg(root.path())
        .ok_stdout();
    let csv = String::from_utf8(csv).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "metric,timestamp_ns,timestamp_utc,value_type,value"
    );
    assert_eq!(lines.len(), 4, "{csv}");
    assert!(lines[1].starts_with("temp.probe01,"), "{csv}");
    // Usage rules.
    nanocli()
        .args([
            "query",
            "--db",
            "edge",
            "--aggregate",
            "avg",
            "--window",
            "5m",
            "--root",
        ])
        .arg(root.path())
        .assert()
        .code(1)
        .stderr(predicates::str::contains(
            "aggregate queries require --start",
        ));
    nanocli()
        .args([
            "query",
            "--db",
            "edge",
            "--aggregate",
            "avg",
            "--window",
            "5m",
            "--start",
            "1d",
            "--root",
        ])
        .arg(root.path())
        .assert()
        .code(1)
        .stderr(predicates::str::contains("exactly one matching metric"));
    nanocli()
        .args(["query", "--db", "edge", "--aggregate", "avg", "--root"])
        .arg(root.path())
        .assert()
        .code(2);
}

#[test]
fn retention_dry_run_then_apply() {
    let root = fixture_copy("edge-2h/root");
    let m = root.path().join("edge/manifest.toml");
    let text = fs::read_to_string(&m).unwrap().replace(
        "retention_action = \"keep\"",
        "retention_action = \"archive\"",
    );
    fs::write(&m, text).unwrap();
    let before = tree(root.path());
    nanocli()
        .args(["retention", "--dry-run", "--db", "edge", "--root"])
        .arg(root.path())
        .assert()
        .success()
        .stdout(predicates::str::contains("would remove"));
    assert!(tree(root.path()) == before, "dry run changed files");
    nanocli()
        .args(["retention", "--root"])
        .arg(root.path())
        .assert()
        .success();
    assert!(!root.path().join("edge/data-2026-01-01.dat").exists());
    assert!(!root.path().join("edge/metric-2026-01-01.dat").exists());
    let tar = root.path().join("edge/archive-2026-01.tar");
    assert!(tar.is_file());
    let entries = nanotdb::retention::bucket_entries(&tar).unwrap();
    assert_eq!(entries, ["data-2026-01-01.dat", "metric-2026-01-01.dat"]);
}

#[test]
fn build_inspect_compact_recover() {
    let root = fixture_copy("edge-2h/root");
    fs::remove_file(root.path().join("edge/metric-2026-01-01.dat")).unwrap();
    let out = nanocli()
        .args([
            "build", "metric", "--db", "edge", "--codec", "s2", "--format", "v1", "--verify",
            "--json", "--root",
        ])
        .arg(root.path())
        .ok_stdout();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["format"], "v1");
    assert_eq!(v["codec"], "s2");
    assert_eq!(v["partitions"][0]["points"], 61_920);
    assert_eq!(v["partitions"][0]["verified"], true);
    let out = nanocli()
        .args([
            "inspect",
            "metric",
            "--db",
            "edge",
            "--json",
            "--verbose",
            "--root",
        ])
        .arg(root.path())
        .ok_stdout();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["files"][0]["version"], 1);
    assert_eq!(v["total_points"], 61_920);
    assert_eq!(v["files"][0]["distinct_metrics"], 86);
    // Same rows through the metric file and through the raw file.
    let q = |mf: &str| {
        nanocli()
            .args([
                "query",
                "--db",
                "edge",
                "--metric",
                "temp",
                "--start",
                "2026-01-01",
                "--format",
                "csv",
            ])
            .args(["--metric-files", mf, "--root"])
            .arg(root.path())
            .ok_stdout()
    };
    assert_eq!(q("on"), q("off"));
    nanocli()
        .args(["compact", "--db", "edge", "--part", "2026-01-01", "--root"])
        .arg(root.path())
        .assert()
        .success()
        .stdout(predicates::str::contains(
            "Recompacted edge/data-2026-01-01.dat (7 -> 7 frames",
        ));
    let torn = fixture_copy("torn-tail/root");
    let cwd = tempfile::tempdir().unwrap();
    nanocli()
        .current_dir(cwd.path())
        .args([
            "recover",
            "--db",
            "edge",
            "--part",
            "2026-01-01",
            "--out",
            "fixed.dat",
            "--root",
        ])
        .arg(torn.path())
        .assert()
        .success()
        .stdout(predicates::str::contains("(6 frames, 54432 records"));
    assert_eq!(
        fs::metadata(cwd.path().join("fixed.dat")).unwrap().len(),
        175_332
    );
    for cmd in [
        &["build", "metric"][..],
        &["compact"],
        &["recover"],
        &["retention"],
        &["csv2nlp"],
        &["inspect", "metric"],
    ] {
        nanocli().args(cmd).arg("--help").assert().success();
    }
}

#[test]
fn go_style_single_dash_flags_still_work() {
    let root = fixture_copy("types/root");
    let out = nanocli()
        .args(["export", "-db", "t", "-root"])
        .arg(root.path())
        .ok_stdout();
    assert!(
        String::from_utf8(out)
            .unwrap()
            .contains("t/int.max 2147483647i")
    );
    nanocli()
        .args([
            "query", "-db=t", "-metric", "int.max", "-json", "-start", "1000d", "-end", "-1d",
            "-root",
        ])
        .arg(root.path())
        .assert()
        .success()
        .stdout(predicates::str::contains("\"row_count\":1"));
}

#[test]
fn query_json_of_every_sample_is_one_valid_document() {
    let root = fixture_copy("edge-2h/root");
    for mf in ["on", "off"] {
        let out = nanocli()
            .args([
                "query",
                "--db",
                "edge",
                "--start",
                "2026-01-01",
                "--format",
                "json",
                "--metric-files",
                mf,
                "--root",
            ])
            .arg(root.path())
            .ok_stdout();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["row_count"], 61_920, "{mf}");
        assert_eq!(v["rows"].as_array().unwrap().len(), 61_920);
    }
}
