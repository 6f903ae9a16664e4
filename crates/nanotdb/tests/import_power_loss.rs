//! Power loss during bulk imports (issue #18: imports sync each data file
//! once when they end, not after every frame). A child process imports four
//! chunks of line protocol (three day partitions, small pages, so many
//! frames) under `strace`, printing `ack N` after each import returns;
//! `nanotdb_testkit::crashsim` builds the states a power loss could leave
//! at cut points over the whole run (see power_loss.rs for the model).
//! Every state must open; hold only samples that were written, each once,
//! with its value; hold every line of each import acknowledged before the
//! cut; and after the whole input is imported again (a user re-running the
//! import), hold every line exactly once.
//!
//! `IMPORT_POWERLOSS_CUTS=<n>` sets the number of cut points (default 300;
//! 3,000 with `NANOTDB_LONG_TESTS=1`). `strace` is required.

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::ops::ControlFlow;
use std::path::Path;
use std::time::Instant;

use nanotdb::{Engine, ImportOptions, Value};
use nanotdb_testkit::crashsim::{self, Recording};

const DB: &str = "imp";
const T0: i64 = 1_767_225_600_000_000_000; // 2026-01-01T00:00:00Z
const CHUNKS: u64 = 4;
const PER_CHUNK: u64 = 300;
const METRICS: u64 = 5;

fn config(root: &Path) {
    fs::write(
        root.join("engine.toml"),
        r#"
[wal]
fsync_policy = "always"
[durability]
profile = "strict"
[stats]
enabled = false
[manifest_defaults.retention]
max_active_days = 3
[manifest_defaults.page]
max_records = 40
max_bytes = 1000000
max_age = "1h"
"#,
    )
    .unwrap();
}

/// Line `i`: metric `m{i % 5}`, spread over three days, value = `i`.
fn line(i: u64) -> String {
    let ts = T0 + (i as i64) * 7_200_000_000_000 / 10; // 12 min apart
    format!("{DB}/m{} {i}i {ts}\n", i % METRICS)
}

fn chunk(c: u64) -> String {
    (c * PER_CHUNK..(c + 1) * PER_CHUNK).map(line).collect()
}

/// The child: imports the chunks, acknowledging each.
#[test]
fn import_power_loss_child() {
    let Ok(root) = std::env::var(crashsim::CHILD_ROOT_ENV) else {
        return;
    };
    let engine = Engine::open(&root).unwrap();
    let mut out = std::io::stdout().lock();
    for c in 0..CHUNKS {
        let text = chunk(c);
        let r = engine
            .import_reader(text.as_bytes(), &ImportOptions::default(), &mut ())
            .unwrap();
        assert_eq!(r.imported, PER_CHUNK);
        writeln!(out, "ack {}", (c + 1) * PER_CHUNK).unwrap();
        out.flush().unwrap();
    }
    engine.close().unwrap();
}

fn record() -> (tempfile::TempDir, Recording) {
    let (dir, _root, rec) = crashsim::record_child("import_power_loss_child", &[], config);
    assert_eq!(rec.acked(rec.ops.len()), Some(CHUNKS * PER_CHUNK));
    (dir, rec)
}

/// Every line index stored, with how many times; panics on a sample that
/// was never written.
fn stored(e: &Engine) -> Result<HashMap<u64, u32>, String> {
    let mut seen = HashMap::new();
    for m in 0..METRICS {
        let r = e.query_range(DB, &format!("m{m}"), i64::MIN, i64::MAX, 1, |s| {
            let Value::I32(v) = s.value else {
                return ControlFlow::Break(());
            };
            *seen.entry(v as u64).or_insert(0) += 1;
            ControlFlow::Continue(())
        });
        match r {
            Ok(()) | Err(nanotdb::Error::DatabaseNotFound(_)) => {}
            Err(e) => return Err(format!("m{m}: {e}")),
        }
    }
    for &i in seen.keys() {
        if i >= CHUNKS * PER_CHUNK || !line(i).starts_with(&format!("{DB}/m{} ", i % METRICS)) {
            return Err(format!("sample {i} was never written"));
        }
    }
    Ok(seen)
}

fn check(rec: &Recording, cut: usize, seed: u64) -> Result<(), String> {
    let state = rec.crash_state(cut, seed);
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    state.fs.materialize(&root);
    let e = Engine::open(&root).map_err(|e| format!("cut {cut}: open: {e}"))?;
    let seen = stored(&e).map_err(|m| format!("cut {cut}: {m}"))?;
    if let Some((i, n)) = seen.iter().find(|(_, n)| **n > 1) {
        return Err(format!("cut {cut}: line {i} stored {n} times"));
    }
    let acked = rec.acked(cut).unwrap_or(0);
    if let Some(i) = (0..acked).find(|i| !seen.contains_key(i)) {
        return Err(format!(
            "cut {cut} (seed {seed:#x}): acknowledged line {i} lost"
        ));
    }
    // The user imports the whole input again: every line once.
    let all: String = (0..CHUNKS).map(chunk).collect();
    e.import_reader(all.as_bytes(), &ImportOptions::default(), &mut ())
        .map_err(|er| format!("cut {cut}: re-import: {er}"))?;
    let again = stored(&e).map_err(|m| format!("cut {cut}: after re-import: {m}"))?;
    if let Some(i) = (0..CHUNKS * PER_CHUNK).find(|i| again.get(i) != Some(&1)) {
        return Err(format!(
            "cut {cut} (seed {seed:#x}): after re-import line {i} stored {:?} times",
            again.get(&i)
        ));
    }
    Ok(())
}

#[test]
fn power_loss_during_bulk_imports() {
    if std::env::var(crashsim::CHILD_ROOT_ENV).is_ok() {
        return;
    }
    let cuts: usize = match std::env::var("IMPORT_POWERLOSS_CUTS") {
        Ok(n) => n.parse().unwrap(),
        Err(_) if std::env::var("NANOTDB_LONG_TESTS").is_ok_and(|v| v == "1") => 3_000,
        Err(_) => 300,
    };
    let (_dir, rec) = record();
    let n = rec.ops.len();
    let syncs = rec
        .ops
        .iter()
        .filter(|o| matches!(o.kind, crashsim::OpKind::Sync { .. }))
        .count();
    let t0 = Instant::now();
    let mut failures = Vec::new();
    for c in 0..cuts {
        let cut = c * (n + 1) / cuts;
        if let Err(e) = check(&rec, cut, crashsim::mix_seed(0x18_0018, c as u64)) {
            failures.push(e);
        }
    }
    eprintln!(
        "{cuts} cut points over {n} operations ({syncs} file syncs) checked in {:.1?}: {} failed",
        t0.elapsed(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} failed; first: {}",
        failures.len(),
        failures[0]
    );
}
