//! Defects a newcomer met in the first hour: output piped into `head`, and
//! options that were parsed but not used.

mod common;

use std::process::{Command as StdCommand, Stdio};

use common::*;

/// Runs `nanocli ARGS` with its stdout read by nobody (the reader closed
/// before the first write, as `| head` does after its lines) and returns the
/// exit status and stderr.
fn run_into_closed_pipe(
    args: &[&str],
    root: &std::path::Path,
) -> (std::process::ExitStatus, String) {
    let mut child = StdCommand::new(assert_cmd::cargo::cargo_bin("nanocli"))
        .args(args)
        .arg("--root")
        .arg(root)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn nanocli");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait");
    (
        out.status,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn output_into_a_closed_pipe_ends_quietly_with_status_0() {
    let root = fixture_copy("edge-2h/root");
    for args in [
        &["inspect", "db", "--db", "edge"][..],
        &["inspect", "dat", "--db", "edge", "--verbose"],
        &["query", "--db", "edge", "--start", "2026-01-01"],
        &["query", "--db", "edge", "--start", "2026-01-01", "--json"],
        &["export", "--db", "edge"],
    ] {
        let (status, stderr) = run_into_closed_pipe(args, root.path());
        assert_eq!(status.code(), Some(0), "{args:?}: {stderr}");
        assert_eq!(stderr, "", "{args:?}");
    }
}

#[test]
fn metric_files_option_chooses_what_is_read() {
    // Without its raw file, the partition is only in the metric file: `on`
    // (and `config`) read it, `off` reads raw files only and finds nothing.
    let root = fixture_copy("edge-2h/root");
    std::fs::remove_file(root.path().join("edge/data-2026-01-01.dat")).expect("rm raw");
    let rows = |mf: &str| {
        let out = nanocli()
            .args(["query", "--db", "edge", "--metric", "temp.cpu"])
            .args([
                "--start",
                "2026-01-01",
                "--json",
                "--metric-files",
                mf,
                "--root",
            ])
            .arg(root.path())
            .ok_stdout();
        let v: serde_json::Value = serde_json::from_slice(&out).expect("json");
        v["row_count"].as_u64().expect("row_count")
    };
    assert_eq!(rows("on"), 720);
    assert_eq!(rows("config"), 720);
    assert_eq!(rows("off"), 0);
    let out = nanocli()
        .args(["query", "--db", "edge", "--metric-files", "maybe", "--root"])
        .arg(root.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("invalid --metric-files \"maybe\""), "{err}");
}

#[test]
fn a_damaged_tail_read_around_is_reported_on_stderr() {
    let root = fixture_copy("torn-tail/root");
    let out = nanocli()
        .args(["export", "--db", "edge", "--out"])
        .arg(root.path().join("x.lp"))
        .arg("--root")
        .arg(root.path())
        .assert()
        .success()
        .get_output()
        .clone();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("damaged tail"), "{err}");
    assert!(
        err.contains("reading the 6 intact frames before it"),
        "{err}"
    );
    assert!(err.contains("offset=175332"), "{err}");
}
