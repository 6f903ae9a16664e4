//! The operations run on every (clean or damaged) copy of a root, in order:
//! read-only `nanocli export` and `nanocli query` of each database, then a
//! read-write open with the library in a child process (which cuts torn
//! tails, replays and rewrites WALs, runs rollups for a checkpoint-log
//! target) exporting each database before closing, then `nanocli export`
//! again to see what that open left on disk.

use std::collections::HashMap;
use std::path::Path;

use super::run::{Outcome, run};
use super::scenario::{Kind, Target};

/// Line → how many times it was printed.
pub type Multiset = HashMap<String, u32>;

pub fn multiset<'a>(lines: impl Iterator<Item = &'a str>) -> Multiset {
    let mut m = Multiset::new();
    for l in lines.filter(|l| !l.is_empty()) {
        *m.entry(l.to_string()).or_insert(0) += 1;
    }
    m
}

/// Which operation an [`Op`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    /// `nanocli export` before anything wrote to the root.
    Export,
    /// `nanocli query --format csv` over all time.
    Query,
    /// Export from a read-write open (the library, in a child process).
    ReadWrite,
    /// `nanocli export` after the read-write open closed.
    After,
}

/// One operation on one database.
#[derive(Debug)]
pub struct Op {
    pub step: Step,
    pub db: String,
    pub outcome: Outcome,
    /// Output lines: export lines, or CSV rows without the header.
    pub lines: Multiset,
}

/// The metrics queried: a query reads each metric separately, so a handful
/// per database (of every scenario) keeps a debug build fast.
const QUERY_METRICS: &str = "^(temp\\.probe0[0-3]|load|count|int|float|sensor)";

fn nanocli() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_nanocli"))
}

/// Runs every operation on the root `root` for `target`'s databases;
/// `scratch` holds child outputs.
pub fn run_all(root: &Path, target: &Target, scratch: &Path) -> Vec<Op> {
    let mut ops = Vec::new();
    let r = root.to_str().expect("utf-8 temp path");
    // Queries of a raw file's target skip the metric file, so they read it.
    let metric_files = if matches!(target.kind, Kind::Data | Kind::Raw) {
        "off"
    } else {
        "config"
    };
    for db in &target.dbs {
        let export = run(
            nanocli(),
            &["export", "--root", r, "--db", db],
            &[],
            scratch,
        );
        ops.push(op(Step::Export, db, export));
        let args = [
            "query",
            "--root",
            r,
            "--db",
            db,
            "--start",
            "-1000000000000",
            "--format",
            "csv",
            "--metric-files",
            metric_files,
            "--metric",
            QUERY_METRICS,
        ];
        let query = run(nanocli(), &args, &[], scratch);
        let mut q = op(Step::Query, db, query);
        q.lines.retain(|l, _| !l.starts_with("metric,timestamp_ns"));
        ops.push(q);
    }
    let exe = std::env::current_exe().expect("test binary");
    let dbs = target.dbs.join(",");
    let out = scratch.to_str().expect("utf-8 temp path");
    let mut envs = vec![
        ("SWEEP_CHILD_ROOT", r),
        ("SWEEP_CHILD_DBS", dbs.as_str()),
        ("SWEEP_CHILD_OUT", out),
    ];
    if let Some(src) = &target.rollup {
        envs.push(("SWEEP_CHILD_ROLLUP", src.as_str()));
    }
    for db in &target.dbs {
        let _ = std::fs::remove_file(scratch.join(format!("rw-{db}.lp")));
    }
    let args = [
        "sweep_child",
        "--exact",
        "--nocapture",
        "--test-threads=1",
        "-q",
    ];
    let rw = run(&exe, &args, &envs, scratch);
    for db in &target.dbs {
        let text = std::fs::read_to_string(scratch.join(format!("rw-{db}.lp"))).unwrap_or_default();
        let outcome = Outcome {
            code: rw.code,
            timed_out: rw.timed_out,
            stdout: String::new(),
            stderr: rw.stderr.clone(),
        };
        ops.push(Op {
            step: Step::ReadWrite,
            db: db.clone(),
            lines: multiset(text.lines()),
            outcome,
        });
    }
    for db in &target.dbs {
        let after = run(
            nanocli(),
            &["export", "--root", r, "--db", db],
            &[],
            scratch,
        );
        ops.push(op(Step::After, db, after));
    }
    ops
}

fn op(step: Step, db: &str, outcome: Outcome) -> Op {
    Op {
        step,
        db: db.to_string(),
        lines: multiset(outcome.stdout.lines()),
        outcome,
    }
}

/// The child side of [`Step::ReadWrite`], run by the test binary itself:
/// opens the root read-write, runs the rollup jobs of `SWEEP_CHILD_ROLLUP`,
/// exports each of `SWEEP_CHILD_DBS` to `SWEEP_CHILD_OUT/rw-<db>.lp`,
/// closes. Any error is printed and exits 1, as nanocli does.
pub fn child_main(root: &str) -> ! {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(tracing::Level::WARN)
        .with_ansi(false)
        .init();
    let fail = |what: &str, e: nanotdb::Error| -> ! {
        eprintln!("error: {what}: {e}");
        std::process::exit(1)
    };
    let dbs = std::env::var("SWEEP_CHILD_DBS").expect("SWEEP_CHILD_DBS");
    let out = std::path::PathBuf::from(std::env::var("SWEEP_CHILD_OUT").expect("SWEEP_CHILD_OUT"));
    let engine = nanotdb::Engine::open(root).unwrap_or_else(|e| fail("open", e));
    engine.set_auto_rollups(false);
    if let Ok(src) = std::env::var("SWEEP_CHILD_ROLLUP")
        && let Err(e) = engine.trigger_rollups(&[src.as_str()])
    {
        fail("rollups", e);
    }
    for db in dbs.split(',') {
        if let Err(e) = engine.export_file(db, out.join(format!("rw-{db}.lp"))) {
            fail(&format!("export {db}"), e);
        }
    }
    if let Err(e) = engine.close() {
        fail("close", e);
    }
    std::process::exit(0)
}
