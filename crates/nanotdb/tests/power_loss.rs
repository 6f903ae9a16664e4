//! Power-loss simulation (issue #19): a child process runs a scenario that
//! goes through ingest (single samples and atomic batches), page flushes,
//! WAL checkpoints (truncation and atomic rewrite), a crash and WAL replay,
//! partitions sealed as days pass, metric files built at sealing (raw files
//! then deleted or renamed) and retention archiving or deleting expired
//! partitions — under `strace`, which records every write, rename and
//! fsync. `nanotdb_testkit::crashsim` then builds, for cut points spread
//! over the whole run, a state a power loss there could leave (what was
//! synced, plus random subsets of what was not; the model is documented in
//! that module). Every state must open, read-only and for writing, and
//! hold every sample acknowledged before the cut exactly once (with
//! `fsync_policy = "always"` and the `strict` profile, acknowledged means
//! durable), except samples of partitions retention may have removed; no
//! sample may appear that was not written, and the atomic batch in flight
//! at the cut appears whole or not at all. A second writable open must see
//! the same samples.
//!
//! * Short form (CI, `cargo test`): 1,200 cut points of each variant —
//!   `delete-archive` (raw files deleted after the metric-file build,
//!   expired partitions archived), the same with read-only opens that must
//!   change no file, `rename-delete` (raw files renamed, expired
//!   partitions deleted), and `delete-archive-background` (the first with
//!   two pauses of 1.3 s, in which the engine's background thread fsyncs
//!   flushed frames and checkpoints the WAL) — plus the minimal
//!   reproductions; about 30 s on a debug build.
//! * Long form: `NANOTDB_LONG_TESTS=1 cargo test -p nanotdb --test
//!   power_loss` runs 20,000 cut points for each variant.
//! * `POWERLOSS_CUTS=<n>` sets the number of cut points per variant.
//! * Replay one failing case: `POWERLOSS_CASE=<variant>:<cut>:<seed>` (as
//!   printed by a failure) runs only that state, prints the operations
//!   before the cut with their fate, and keeps the state on disk.
//!
//! The simulation found three engine defects, fixed since and kept as
//! tests here and in `power_loss/repro.rs`: a torn WAL write replayed part of
//! an atomic batch (WAL write groups, docs/FORMATS.md §4.11), a read-only
//! open flushed replayed pages into data files (it now writes nothing), and
//! a crash right after a seal renamed the raw file replayed the partition's
//! WAL samples on top of it (the metric-file build and retention now wait
//! for the WAL checkpoint that drops those samples).
//!
//! `strace` is required: without it the test fails (`.ci/run` installs it).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::io::Write;
use std::ops::ControlFlow;
use std::path::Path;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use nanotdb::{Engine, Value, WriteSample};
use nanotdb_testkit::crashsim::{self, CrashState, Fs, OpKind, Recording};

/// Minimal reproductions of the engine bugs the simulation found.
#[path = "power_loss/repro.rs"]
mod repro;

const DB: &str = "plt";
const DAY: i64 = 86_400_000_000_000;
const MINUTE: i64 = 60_000_000_000;
/// Days of the scenario; each opens a new partition.
const DAYS: u64 = 8;
const PER_DAY: u64 = 48;
const TOTAL: u64 = DAYS * PER_DAY;
const RETENTION_DAYS: i64 = 3;
/// After this day's samples the child drops the engine without flushing
/// (a crash) and opens it again, so recovery is recorded too.
const REOPEN_AFTER_DAY: u64 = 3;
/// Sizes of consecutive writes, cycled: 1 is `add_sample`, more is one
/// `write_atomic` batch.
const WRITE_SIZES: [u64; 6] = [1, 3, 1, 1, 5, 2];

/// One scenario variant: what happens to raw files after a metric-file
/// build and to expired partitions, and whether a read-only open must
/// leave every file as it was (checked apart, see
/// [`power_loss_read_only_opens_write_nothing`]).
#[derive(Clone, Copy, Debug)]
struct Variant {
    name: &'static str,
    raw_ingest_action: &'static str,
    retention_action: &'static str,
    read_only_writes_nothing: bool,
    /// The child pauses this long mid-day on two days, so the engine's
    /// background thread fsyncs the flushed frames and checkpoints the WAL
    /// while nothing is written (`durability.background_sync`); without
    /// pauses the run is too short for it, and seals and `close`
    /// checkpoint inline.
    pause_ms: u64,
}

const VARIANTS: [Variant; 4] = [
    Variant {
        name: "delete-archive",
        raw_ingest_action: "delete",
        retention_action: "archive",
        read_only_writes_nothing: false,
        pause_ms: 0,
    },
    Variant {
        name: "rename-delete",
        raw_ingest_action: "rename",
        retention_action: "delete",
        read_only_writes_nothing: false,
        pause_ms: 0,
    },
    Variant {
        name: "delete-archive-read-only",
        raw_ingest_action: "delete",
        retention_action: "archive",
        read_only_writes_nothing: true,
        pause_ms: 0,
    },
    Variant {
        name: "delete-archive-background",
        raw_ingest_action: "delete",
        retention_action: "archive",
        read_only_writes_nothing: false,
        pause_ms: 1_300,
    },
];

/// Days on which the child pauses after the write that reaches the day's
/// 31st sample (see [`Variant::pause_ms`]).
const PAUSE_DAYS: [u64; 2] = [1, 5];

fn metric_name(m: usize) -> String {
    format!("m{m}")
}

/// Metric, timestamp and value of sample `id`. `base` is midnight UTC
/// `DAYS` days ago. Metrics 0–2 write day `d`; metric 3 lags a day behind,
/// so two partitions hold pages at once and checkpoints rewrite the WAL
/// instead of truncating it.
fn sample(base: i64, id: u64) -> (usize, i64, i32) {
    let (d, j) = ((id / PER_DAY) as i64, (id % PER_DAY) as i64);
    let m = (id % 4) as usize;
    let ts = if m == 3 {
        base + (d - 1) * DAY + 12 * 60 * MINUTE + j * MINUTE
    } else {
        base + d * DAY + j * MINUTE
    };
    (m, ts, id as i32)
}

/// The writes of the scenario as (first id, count); a write never spans
/// two days.
fn writes() -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    let (mut id, mut k) = (0, 0);
    while id < TOTAL {
        let day_end = (id / PER_DAY + 1) * PER_DAY;
        let n = WRITE_SIZES[k % WRITE_SIZES.len()].min(day_end - id);
        out.push((id, n));
        id += n;
        k += 1;
    }
    out
}

fn write_config(root: &Path, v: Variant) {
    let text = format!(
        r#"
[wal]
fsync_policy = "always"
[durability]
profile = "strict"
[stats]
enabled = false
[metrics]
enabled = true
raw_ingest_action = "{}"
[manifest_defaults.retention]
max_active_days = 2
retention_days = {RETENTION_DAYS}
retention_action = "{}"
[manifest_defaults.wal]
enabled = true
skip_before = "0s"
[manifest_defaults.page]
max_records = 17
max_bytes = 1000000
max_age = "1h"
"#,
        v.raw_ingest_action, v.retention_action
    );
    fs::write(root.join("engine.toml"), text).unwrap();
}

/// The child: runs the scenario, printing `ack N` once the first `N`
/// samples are acknowledged.
#[test]
fn power_loss_child() {
    let Ok(root) = std::env::var(crashsim::CHILD_ROOT_ENV) else {
        return;
    };
    let base: i64 = std::env::var("POWERLOSS_BASE").unwrap().parse().unwrap();
    let pause: u64 = std::env::var("POWERLOSS_PAUSE_MS").map_or(0, |p| p.parse().unwrap());
    let names: Vec<String> = (0..4).map(metric_name).collect();
    let mut engine = Engine::open(&root).unwrap();
    let mut out = std::io::stdout().lock();
    for (first, n) in writes() {
        if first == (REOPEN_AFTER_DAY + 1) * PER_DAY {
            engine.abort();
            engine = Engine::open(&root).unwrap();
        }
        let batch: Vec<WriteSample<'_>> = (first..first + n)
            .map(|id| {
                let (m, ts, v) = sample(base, id);
                WriteSample {
                    db: DB,
                    metric: &names[m],
                    ts,
                    value: Value::I32(v),
                }
            })
            .collect();
        if n == 1 {
            let s = batch[0];
            engine.add_sample(DB, s.metric, s.ts, s.value).unwrap();
        } else {
            let r = engine.write_atomic(&batch).unwrap();
            assert!(r.rejected.is_empty(), "{:?}", r.rejected);
        }
        writeln!(out, "ack {}", first + n).unwrap();
        out.flush().unwrap();
        let end = first + n;
        let crossed = first % PER_DAY < 30 && (end - 1) % PER_DAY >= 30;
        if pause > 0 && crossed && PAUSE_DAYS.contains(&(first / PER_DAY)) {
            std::thread::sleep(std::time::Duration::from_millis(pause));
        }
    }
    engine.close().unwrap();
}

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64
}

/// Runs the child under strace on a fresh root and reads the recording.
fn record(v: Variant, base: i64) -> (tempfile::TempDir, Recording) {
    let t0 = Instant::now();
    let envs = [
        ("POWERLOSS_BASE", base.to_string()),
        ("POWERLOSS_PAUSE_MS", v.pause_ms.to_string()),
    ];
    let (dir, _root, rec) =
        crashsim::record_child("power_loss_child", &envs, |root| write_config(root, v));
    assert_eq!(
        rec.acked(rec.ops.len()),
        Some(TOTAL),
        "not every write was acknowledged"
    );
    eprintln!(
        "[{}] recorded {} operations in {:.1?}",
        v.name,
        rec.ops.len(),
        t0.elapsed()
    );
    (dir, rec)
}

/// Fails unless the recording went through every phase the issue names.
fn assert_phases(rec: &Recording, v: Variant) {
    let count = |f: &dyn Fn(&OpKind) -> bool| rec.ops.iter().filter(|o| f(&o.kind)).count();
    let named = |k: &OpKind, pred: &dyn Fn(&str, &str) -> bool| match k {
        OpKind::Create { path, .. } | OpKind::Unlink { path } => pred(&path.to_string_lossy(), ""),
        OpKind::Rename { from, to } => pred(&from.to_string_lossy(), &to.to_string_lossy()),
        _ => false,
    };
    let phases = [
        (
            "acknowledged writes",
            count(&|k| matches!(k, OpKind::Ack(_))),
        ),
        (
            "WAL rewrites",
            count(&|k| named(k, &|a, b| a.ends_with(".wal.tmp") && b.ends_with(".wal"))),
        ),
        (
            "data files created",
            count(&|k| {
                named(k, &|a, _| {
                    a.contains("/data-") && matches!(k, OpKind::Create { .. })
                })
            }),
        ),
        (
            "metric files built",
            count(&|k| named(k, &|a, b| a.ends_with(".dat.tmp") && b.contains("/metric-"))),
        ),
        (
            "files removed",
            count(&|k| matches!(k, OpKind::Unlink { .. })),
        ),
        (
            "truncations",
            count(&|k| matches!(k, OpKind::Truncate { len: 0, .. })),
        ),
    ];
    eprintln!("[{}] phases: {phases:?}", v.name);
    for (what, n) in phases {
        assert!(n > 0, "[{}] the scenario recorded no {what}", v.name);
    }
    let archives = rec
        .live
        .files()
        .iter()
        .filter(|(p, _)| p.to_string_lossy().contains("/archive-"))
        .count();
    let metric_files = rec
        .live
        .files()
        .iter()
        .filter(|(p, _)| p.to_string_lossy().contains("/metric-"))
        .count();
    assert!(
        metric_files > 0,
        "[{}] no metric file survived retention",
        v.name
    );
    if v.retention_action == "archive" {
        assert!(archives > 0, "[{}] retention archived nothing", v.name);
    }
}

/// Whether the partition holding `ts` is past retention at `now` (its day
/// ended `RETENTION_DAYS` days ago or more).
fn expired(ts: i64, now: i64) -> bool {
    ts.div_euclid(DAY) * DAY + DAY + RETENTION_DAYS * DAY <= now
}

fn day_key(ts: i64) -> String {
    nanotdb::time::partition_key(nanotdb::time::PartitionMode::Day, ts)
}

/// Keys of the partitions whose retention had begun among the first `cut`
/// operations: retention removes a partition's metric file first (`data-`
/// is gone after a build with `delete`, renamed to `raw-` with `rename`),
/// and nothing else removes a metric or raw file in this scenario.
fn retention_begun(rec: &Recording, cut: usize) -> HashSet<String> {
    rec.ops[..cut]
        .iter()
        .filter_map(|o| match &o.kind {
            OpKind::Unlink { path } => {
                partition_of(path.file_name()?.to_str()?, &["metric-", "raw-"])
            }
            _ => None,
        })
        .collect()
}

/// The partition key of `data-`/`raw-`/`metric-<key>.dat` (among `kinds`).
fn partition_of(name: &str, kinds: &[&str]) -> Option<String> {
    let key = kinds
        .iter()
        .find_map(|k| name.strip_prefix(k))?
        .strip_suffix(".dat")?;
    Some(key.to_string())
}

/// Keys of the partitions with any file left in the database directory.
fn partitions_on_disk(root: &Path) -> HashSet<String> {
    let Ok(rd) = fs::read_dir(root.join(DB)) else {
        return HashSet::new();
    };
    rd.flatten()
        .filter_map(|e| partition_of(e.file_name().to_str()?, &["data-", "raw-", "metric-"]))
        .collect()
}

/// Every sample of the database as (metric, timestamp, value), sorted.
fn read_all(engine: &Engine) -> Result<Vec<(usize, i64, i32)>, String> {
    let mut out = Vec::new();
    for m in 0..4 {
        let r = engine.query_range(DB, &metric_name(m), i64::MIN, i64::MAX, 1, |s| {
            let v = match s.value {
                Value::I32(v) => v,
                // Never a scenario id: the scenario writes int32 only.
                Value::F32(f) => f as i32 ^ i32::MIN,
                Value::F64(f) => f as i32 ^ i32::MIN,
                Value::I64(n) => n as i32 ^ i32::MIN,
            };
            out.push((m, s.ts, v));
            ControlFlow::Continue(())
        });
        match r {
            Ok(()) => {}
            Err(nanotdb::Error::DatabaseNotFound(_)) => return Ok(out),
            Err(e) => return Err(format!("query of {}: {e}", metric_name(m))),
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// The promise: acknowledged samples present once (unless `may_lose`
/// says retention removed them), nothing unwritten, the batch in flight
/// whole or absent.
fn verify(
    samples: &[(usize, i64, i32)],
    acked: u64,
    base: i64,
    may_lose: &dyn Fn(i64) -> bool,
) -> Result<(), String> {
    let in_flight = writes()
        .into_iter()
        .find(|(first, _)| *first == acked)
        .map_or(0, |w| w.1);
    let mut seen: HashMap<u64, u32> = HashMap::new();
    for &(m, ts, v) in samples {
        let id = v as u64;
        if v < 0 || id >= acked + in_flight {
            return Err(format!(
                "sample m{m} {ts} {v} was never written (acked {acked})"
            ));
        }
        if sample(base, id) != (m, ts, v) {
            return Err(format!(
                "sample m{m} {ts} {v}: expected {:?}",
                sample(base, id)
            ));
        }
        *seen.entry(id).or_default() += 1;
    }
    if let Some((id, n)) = seen.iter().find(|(_, n)| **n > 1) {
        return Err(format!("sample {id} present {n} times"));
    }
    let kept = |id: &u64| !may_lose(sample(base, *id).1);
    let lost: Vec<u64> = (0..acked)
        .filter(kept)
        .filter(|id| !seen.contains_key(id))
        .collect();
    if !lost.is_empty() {
        return Err(format!(
            "{} acknowledged samples lost: {:?}",
            lost.len(),
            &lost[..lost.len().min(20)]
        ));
    }
    let batch: Vec<u64> = (acked..acked + in_flight).filter(kept).collect();
    let present = batch.iter().filter(|id| seen.contains_key(id)).count();
    if in_flight > 1 && present != 0 && present != batch.len() {
        return Err(format!(
            "atomic batch at {acked} partly present ({present} of {})",
            batch.len()
        ));
    }
    Ok(())
}

/// Opens the crash state read-only, then for writing twice, checking the
/// promise each time. Read-only, only partitions whose retention had begun
/// before the cut may be missing; a writable open may run retention itself
/// (replay can seal partitions), so there an expired partition may also
/// be missing when none of its files is left. Apart from that, all three
/// opens must see the same samples.
fn check_state(
    root: &Path,
    rec: &Recording,
    cut: usize,
    base: i64,
    v: Variant,
) -> Result<(), String> {
    let now = now_ns();
    let acked = rec.acked(cut).unwrap_or(0);
    let begun = retention_begun(rec, cut);
    let ro_may_lose = |ts: i64| expired(ts, now) && begun.contains(&day_key(ts));
    // A failed read-only check does not stop the writable ones: both
    // verdicts are reported, so one bug does not hide another.
    let ro = (|| {
        let before = nanotdb_testkit::snapshot_tree(root);
        let ro = Engine::open_read_only(root).map_err(|e| format!("read-only open failed: {e}"))?;
        let samples = read_all(&ro).map_err(|e| format!("read-only: {e}"));
        drop(ro);
        let after = nanotdb_testkit::snapshot_tree(root);
        if v.read_only_writes_nothing && before != after {
            let changed: Vec<String> = after
                .iter()
                .filter(|f| !before.contains(f))
                .map(|(p, b)| format!("{} ({} bytes)", p.display(), b.len()))
                .collect();
            let also = samples
                .err()
                .map_or(String::new(), |e| format!(", and {e}"));
            return Err(format!(
                "the read-only open wrote {}{also}",
                changed.join(", ")
            ));
        }
        let samples = samples?;
        verify(&samples, acked, base, &ro_may_lose).map_err(|e| format!("read-only open: {e}"))?;
        Ok::<_, String>(samples)
    })();
    let rw = (|| {
        let mut seen = Vec::new();
        for round in ["first", "second"] {
            let rw = Engine::open(root).map_err(|e| format!("{round} open failed: {e}"))?;
            let samples = read_all(&rw).map_err(|e| format!("{round} open: {e}"))?;
            rw.close()
                .map_err(|e| format!("{round} close failed: {e}"))?;
            let on_disk = partitions_on_disk(root);
            let may_lose =
                |ts: i64| ro_may_lose(ts) || (expired(ts, now) && !on_disk.contains(&day_key(ts)));
            verify(&samples, acked, base, &may_lose).map_err(|e| format!("{round} open: {e}"))?;
            if let Ok(ro_samples) = &ro {
                let set: HashSet<_> = samples.iter().collect();
                if let Some(s) = ro_samples
                    .iter()
                    .find(|s| !set.contains(s) && !may_lose(s.1))
                {
                    return Err(format!(
                        "{round} open lost {s:?}, which the read-only open saw"
                    ));
                }
                let ro_set: HashSet<_> = ro_samples.iter().collect();
                if let Some(s) = samples.iter().find(|s| !ro_set.contains(s)) {
                    return Err(format!(
                        "{round} open shows {s:?}, which the read-only open did not"
                    ));
                }
            }
            seen.push(samples);
        }
        if seen[0] != seen[1] {
            return Err("the second open sees other samples than the first".to_string());
        }
        Ok(())
    })();
    match (ro, rw) {
        (Ok(_), Ok(())) => Ok(()),
        (Err(e), Ok(())) => Err(format!("{e} (the writable opens pass)")),
        (Ok(_), Err(e)) => Err(e),
        (Err(a), Err(b)) => Err(format!("{a}; {b}")),
    }
}

/// Builds, writes and checks one crash state; on failure the message says
/// how to rebuild it and what the state lost.
fn run_case(
    rec: &Recording,
    v: Variant,
    cut: usize,
    seed: u64,
    base: i64,
    keep: bool,
) -> Result<(), String> {
    let state: CrashState = rec.crash_state(cut, seed);
    let dir = tempfile::tempdir().unwrap();
    state.fs.materialize(dir.path());
    let acked = rec.acked(cut).unwrap_or(0);
    let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        check_state(dir.path(), rec, cut, base, v)
    }))
    .unwrap_or_else(|p| {
        let msg = p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()));
        Err(format!("panic: {}", msg.unwrap_or_default()))
    });
    if keep {
        let pristine = tempfile::tempdir().unwrap().keep();
        state.fs.materialize(&pristine);
        eprintln!(
            "mode {}:\n{}\ncrash state kept in {} (as opened: {})",
            state.mode,
            state.annotate(rec, cut.saturating_sub(40)),
            pristine.display(),
            dir.keep().display()
        );
    }
    res.map_err(|e| {
        let diff = state.fs.diff(&rec.state_after(cut));
        format!(
            "[{}] cut {cut}/{} seed {seed:#x} mode {} (acked {acked}): {e}\n\
             replay: POWERLOSS_CASE={}:{cut}:{seed:#x}\n\
             operations before the cut:\n{}\n\
             crash state vs. every operation applied (+ crash state only, - only with every operation, ~ differs):\n{}",
            v.name,
            rec.ops.len(),
            state.mode,
            v.name,
            state.annotate(rec, cut.saturating_sub(30)),
            diff.join("\n")
        )
    })
}

/// Midnight UTC `DAYS` days ago: the scenario's days end yesterday, so no
/// timestamp is in the future and the oldest days are past retention.
fn base_day() -> i64 {
    now_ns().div_euclid(DAY) * DAY - DAYS as i64 * DAY
}

fn cut_count() -> usize {
    if let Ok(n) = std::env::var("POWERLOSS_CUTS") {
        return n.parse().expect("POWERLOSS_CUTS");
    }
    if std::env::var("NANOTDB_LONG_TESTS").is_ok_and(|v| v == "1") {
        20_000
    } else {
        1_200
    }
}

fn run_variant(v: Variant, vi: u64, cuts: usize) {
    let base = base_day();
    let (_dir, rec) = record(v, base);
    assert_phases(&rec, v);
    let n = rec.ops.len();
    let t0 = Instant::now();
    let failures = std::sync::Mutex::new(Vec::new());
    let workers = std::thread::available_parallelism()
        .map_or(2, |p| p.get())
        .min(4);
    std::thread::scope(|s| {
        for w in 0..workers {
            let (rec, failures) = (&rec, &failures);
            s.spawn(move || {
                for c in (w..cuts).step_by(workers) {
                    let cut = c * (n + 1) / cuts;
                    let seed = crashsim::mix_seed(0x19_0019 + vi, c as u64);
                    if let Err(e) = run_case(rec, v, cut, seed, base, false) {
                        failures.lock().unwrap().push((cut, e));
                    }
                }
            });
        }
    });
    let mut failures = failures.into_inner().unwrap();
    failures.sort_by_key(|f| f.0);
    eprintln!(
        "[{}] {cuts} cut points over {n} operations checked in {:.1?}: {} failed",
        v.name,
        t0.elapsed(),
        failures.len()
    );
    if let Some((_, first)) = failures.first() {
        // One line per kind of failure (numbers and paths blanked), with a
        // count and the first case, so distinct bugs stand out.
        let mut kinds: BTreeMap<String, (usize, String)> = BTreeMap::new();
        for (_, e) in &failures {
            let line = e.lines().next().unwrap_or("");
            let what = line.split_once("): ").map_or(line, |x| x.1);
            let kind: String = what
                .split(' ')
                .map(|w| {
                    if w.contains('/') || w.contains(|c: char| c.is_ascii_digit()) {
                        "_"
                    } else {
                        w
                    }
                })
                .collect::<Vec<_>>()
                .join(" ");
            kinds.entry(kind).or_insert((0, line.to_string())).0 += 1;
        }
        let summary: Vec<String> = kinds
            .iter()
            .map(|(k, (n, first))| format!("{n:>6} x {k}\n         first: {first}"))
            .collect();
        panic!(
            "{} of {cuts} crash states failed; the first in full:\n{first}\n\nby kind:\n{}",
            failures.len(),
            summary.join("\n")
        );
    }
}

/// Runs one scenario variant at the cut points of this form, or only the
/// case `POWERLOSS_CASE` names.
fn power_loss(v: Variant) {
    if std::env::var(crashsim::CHILD_ROOT_ENV).is_ok() {
        return;
    }
    let vi = VARIANTS.iter().position(|x| x.name == v.name).unwrap() as u64;
    match std::env::var("POWERLOSS_CASE") {
        Ok(case) => {
            let parts: Vec<&str> = case.split(':').collect();
            if parts[0] != v.name {
                return;
            }
            let cut: usize = parts[1].parse().unwrap();
            let seed = u64::from_str_radix(parts[2].trim_start_matches("0x"), 16).unwrap();
            let base = base_day();
            let (_dir, rec) = record(v, base);
            run_case(&rec, v, cut, seed, base, true).unwrap_or_else(|e| panic!("{e}"));
        }
        Err(_) => run_variant(v, vi, cut_count()),
    }
}

#[test]
fn power_loss_delete_raw_archive_expired() {
    power_loss(VARIANTS[0]);
}

/// The same as [`power_loss_delete_raw_archive_expired`], and besides, a
/// read-only open must not change a byte under the root.
#[test]
fn power_loss_read_only_opens_write_nothing() {
    power_loss(VARIANTS[2]);
}

#[test]
fn power_loss_rename_raw_delete_expired() {
    power_loss(VARIANTS[1]);
}

/// The first variant with pauses in which the background thread fsyncs
/// flushed frames and checkpoints the WAL (`durability.background_sync`).
#[test]
fn power_loss_with_background_checkpoints() {
    power_loss(VARIANTS[3]);
}
