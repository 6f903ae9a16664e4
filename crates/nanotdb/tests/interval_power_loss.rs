//! Power loss under `fsync_policy = "interval"` (issue 18): writes are
//! acknowledged before any fsync, and a background thread fsyncs the WAL
//! every `fsync_interval`. The promise (docs/BEHAVIOUR.md §1.8): a power
//! loss costs only writes acknowledged after the last of those fsyncs to
//! complete — about one interval. A child writes one sample at a time
//! under `strace` (with short pauses, so that the background fsyncs fall
//! between writes); `nanotdb_testkit::crashsim` builds, at cut points over
//! the whole run, states a power loss could leave. Each must open, hold
//! every sample acknowledged before the last completed fsync of the WAL
//! exactly once, and nothing that was not written.
//!
//! `strace` is required: without it the test fails (`.ci/run` installs it).

use std::fs;
use std::io::Write;
use std::ops::ControlFlow;
use std::path::Path;

use nanotdb::{Engine, Value};
use nanotdb_testkit::crashsim::{self, OpKind, Recording};

const DB: &str = "iv";
const T0: i64 = 1_767_225_600_000_000_000; // 2026-01-01T00:00:00Z
const WRITES: u64 = 240;
const CUTS: usize = 600;

fn write_config(root: &Path) {
    // Large pages and a long checkpoint interval: the WAL is one file that
    // only grows, so its fsyncs are the only ones that make samples durable.
    let text = r#"
[wal]
fsync_policy = "interval"
fsync_interval = "20ms"
checkpoint_interval = "1000h"
[stats]
enabled = false
[ingest]
max_future = "0s"
[manifest_defaults.wal]
enabled = true
skip_before = "0s"
[manifest_defaults.page]
max_records = 60000
max_bytes = 100000000
max_age = "1000h"
"#;
    fs::write(root.join("engine.toml"), text).unwrap();
}

/// The child: writes sample `i` (value `i`, one second apart), prints
/// `ack i+1`, pauses 2 ms every fourth write.
#[test]
fn interval_power_loss_child() {
    let Ok(root) = std::env::var(crashsim::CHILD_ROOT_ENV) else {
        return;
    };
    let engine = Engine::open(&root).unwrap();
    let mut out = std::io::stdout().lock();
    for i in 0..WRITES {
        engine
            .add_sample(DB, "m", T0 + i as i64 * 1_000_000_000, Value::I32(i as i32))
            .unwrap();
        writeln!(out, "ack {}", i + 1).unwrap();
        out.flush().unwrap();
        if i % 4 == 3 {
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
    }
    engine.abort();
}

fn record() -> (tempfile::TempDir, Recording) {
    let (dir, _root, rec) = crashsim::record_child("interval_power_loss_child", &[], write_config);
    assert_eq!(rec.acked(rec.ops.len()), Some(WRITES));
    (dir, rec)
}

/// For every operation index, how many samples the promise covers if the
/// power goes right after it: those acknowledged before the last completed
/// fsync of the WAL (an fsync covers every write to the file before it).
fn durable_prefix(rec: &Recording) -> Vec<u64> {
    let wal_ino = rec
        .ops
        .iter()
        .find_map(|o| match &o.kind {
            OpKind::Create { path, ino } if path.ends_with(format!("{DB}/{DB}.wal")) => Some(*ino),
            _ => None,
        })
        .expect("the WAL was created");
    let mut covered = 0;
    let mut acked = 0;
    let mut out = Vec::with_capacity(rec.ops.len() + 1);
    out.push(0);
    for op in &rec.ops {
        match &op.kind {
            OpKind::Ack(n) => acked = *n,
            OpKind::Sync { ino } if *ino == wal_ino => covered = acked,
            _ => {}
        }
        out.push(covered);
    }
    out
}

fn values(root: &Path) -> Result<Vec<i32>, String> {
    let engine = Engine::open(root).map_err(|e| format!("open failed: {e}"))?;
    let mut v = Vec::new();
    let r = engine.query_range(DB, "m", i64::MIN, i64::MAX, 1, |s| {
        v.push(match s.value {
            Value::I32(x) => x,
            other => i32::MIN + (other.to_bits() as i32 & 0xff),
        });
        ControlFlow::Continue(())
    });
    match r {
        Ok(()) | Err(nanotdb::Error::DatabaseNotFound(_)) => {}
        Err(e) => return Err(format!("query failed: {e}")),
    }
    engine.close().map_err(|e| format!("close failed: {e}"))?;
    Ok(v)
}

#[test]
fn a_power_loss_costs_only_writes_after_the_last_background_fsync() {
    if std::env::var(crashsim::CHILD_ROOT_ENV).is_ok() {
        return;
    }
    let (_dir, rec) = record();
    let prefix = durable_prefix(&rec);
    let n = rec.ops.len();
    let fsyncs = prefix.windows(2).filter(|w| w[1] != w[0]).count();
    // With 2 ms pauses and a 20 ms interval, the WAL is fsynced many times
    // mid-run (not only when the child exits).
    assert!(
        fsyncs >= 5,
        "only {fsyncs} background fsyncs covered new writes"
    );
    let mut failures = Vec::new();
    for c in 0..CUTS {
        let cut = c * (n + 1) / CUTS;
        let seed = crashsim::mix_seed(0x18_0018, c as u64);
        let state = rec.crash_state(cut, seed);
        let dir = tempfile::tempdir().unwrap();
        state.fs.materialize(dir.path());
        let want = prefix[cut];
        let acked = rec.acked(cut).unwrap_or(0);
        let verdict = values(dir.path()).and_then(|v| {
            // Every durable write once, in order; then at most the writes
            // issued after it, each once; nothing else.
            let ok_prefix =
                v.len() as u64 >= want && v[..want as usize].iter().copied().eq(0..want as i32);
            let mut sorted = v.clone();
            sorted.sort_unstable();
            sorted.dedup();
            if !ok_prefix {
                return Err(format!(
                    "durable writes 0..{want} not all there once: {:?}",
                    &v[..v.len().min(8)]
                ));
            }
            if sorted.len() != v.len() {
                return Err("a sample appears twice".into());
            }
            match v
                .iter()
                .find(|&&x| x < 0 || x as u64 >= WRITES.min(acked + 1))
            {
                Some(x) => Err(format!(
                    "sample {x} was never written before the cut (acked {acked})"
                )),
                None => Ok(()),
            }
        });
        if let Err(e) = verdict {
            failures.push(format!(
                "cut {cut} seed {seed:#x} (mode {}): {e}",
                state.mode
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {CUTS} crash states broke the promise; first: {}",
        failures.len(),
        failures[0]
    );
    eprintln!(
        "{CUTS} cut points over {n} operations, {fsyncs} covering fsyncs: all kept the promise"
    );
}
