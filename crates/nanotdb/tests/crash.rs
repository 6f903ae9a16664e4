//! Crash safety: a child process ingesting with `fsync_policy = "always"` is
//! killed with SIGKILL at random points, 200 times; after each kill the
//! database must open cleanly and hold every acknowledged sample exactly once.
//!
//! The child is this same test binary re-executed with `CRASH_CHILD_ROOT`
//! set, running [`crash_child`].

use std::collections::HashMap;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::ops::ControlFlow;
use std::path::Path;
use std::process::{Command, Stdio};

use nanotdb::{Engine, Value, WriteSample};

const T0: i64 = 1_767_225_600_000_000_000; // 2026-01-01T00:00:00Z
const DAY: i64 = 86_400_000_000_000;
const ITERATIONS: u64 = 200;
const METRICS: u64 = 4;
/// Databases the child writes to: with `CRASH_CHILD_SPAN` set, sample `i`
/// of a batch goes to `DBS[i % 2]`, so every batch spans both.
const DBS: [&str; 2] = ["crash", "crash2"];

fn db_of(i: u64, span: bool) -> &'static str {
    if span { DBS[(i % 2) as usize] } else { DBS[0] }
}

/// Deterministic xorshift so a failing iteration can be replayed.
fn rng(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

/// Timestamp of sample `i` of iteration `iter` for `metric`: every
/// iteration moves forward, samples cross day boundaries, and metric 3 lags
/// a day behind the others so two partitions hold pages at once.
fn ts_of(iter: u64, i: u64, metric: u64) -> i64 {
    let base = T0 + (iter as i64) * DAY / 4;
    let t = base + (i as i64) * 20_000_000_000; // 20 s apart
    if metric == 3 { t - DAY } else { t }
}

fn value_of(iter: u64, i: u64) -> i32 {
    (iter * 100_000 + i) as i32
}

/// The child: writes samples forever, printing `ack N` after each
/// acknowledged one.
#[test]
fn crash_child() {
    let Ok(root) = std::env::var("CRASH_CHILD_ROOT") else {
        return;
    };
    let iter: u64 = std::env::var("CRASH_CHILD_ITER").unwrap().parse().unwrap();
    let batch: u64 = std::env::var("CRASH_CHILD_BATCH").map_or(1, |b| b.parse().unwrap());
    let span = std::env::var("CRASH_CHILD_SPAN").is_ok();
    let engine = Engine::open(&root).unwrap();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    writeln!(out, "open").unwrap();
    out.flush().unwrap();
    let names: Vec<String> = (0..METRICS).map(|m| format!("m{m}")).collect();
    for first in (0..).step_by(batch as usize) {
        if batch == 1 {
            let m = first % METRICS;
            let (ts, v) = (ts_of(iter, first, m), Value::I32(value_of(iter, first)));
            engine
                .add_sample("crash", &names[m as usize], ts, v)
                .unwrap();
        } else {
            // One atomic batch: stored whole or not at all, also at a crash.
            let samples: Vec<WriteSample<'_>> = (first..first + batch)
                .map(|i| WriteSample {
                    db: db_of(i, span),
                    metric: &names[(i % METRICS) as usize],
                    ts: ts_of(iter, i, i % METRICS),
                    value: Value::I32(value_of(iter, i)),
                })
                .collect();
            let r = engine.write_atomic(&samples).unwrap();
            assert!(r.rejected.is_empty(), "{:?}", r.rejected);
        }
        writeln!(out, "ack {}", first + batch - 1).unwrap();
        out.flush().unwrap();
    }
}

fn write_config(root: &Path) {
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
max_active_days = 2
[manifest_defaults.wal]
enabled = true
skip_before = "0s"
[manifest_defaults.page]
max_records = 37
max_bytes = 1000000
max_age = "1h"
"#,
    )
    .unwrap();
}

#[test]
fn kill_minus_nine_200_times() {
    crash_loop(1, false);
}

/// The same with atomic batches of 5 samples: besides the acknowledged
/// ones, the batch in flight is present whole or not at all.
#[test]
fn kill_minus_nine_200_times_atomic_batches() {
    crash_loop(5, false);
}

/// Atomic batches of 5 samples spread over two databases: a kill between
/// the two databases' WAL writes must leave none of the batch, not a part.
#[test]
fn kill_minus_nine_200_times_batches_across_databases() {
    crash_loop(5, true);
}

fn crash_loop(batch: u64, span: bool) {
    if std::env::var("CRASH_CHILD_ROOT").is_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write_config(root);
    let exe = std::env::current_exe().unwrap();
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    // Samples stored after the previous iteration.
    let mut prev_total = 0u64;
    for iter in 0..ITERATIONS {
        let target = rng(&mut seed) % 120;
        let mut child = Command::new(&exe)
            .args([
                "crash_child",
                "--exact",
                "--nocapture",
                "--test-threads=1",
                "-q",
            ])
            .env("CRASH_CHILD_ROOT", root)
            .env("CRASH_CHILD_ITER", iter.to_string())
            .env("CRASH_CHILD_BATCH", batch.to_string())
            .env(
                if span {
                    "CRASH_CHILD_SPAN"
                } else {
                    "CRASH_CHILD_NO_SPAN"
                },
                "1",
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut acked: Option<u64> = None;
        let mut opened = false;
        // Sometimes kill during open (replay of the previous crash's WAL).
        let kill_at_open = target.is_multiple_of(10);
        let mut lines = BufReader::new(stdout).lines();
        for line in lines.by_ref() {
            let Ok(line) = line else { break };
            if line == "open" {
                opened = true;
                if kill_at_open {
                    break;
                }
            } else if let Some(n) = line.strip_prefix("ack ") {
                let n: u64 = n.parse().unwrap();
                acked = Some(n);
                if n >= target {
                    break;
                }
            }
        }
        child.kill().unwrap();
        let status = child.wait().unwrap();
        // The child kept writing until the kill: every ack it printed counts.
        for line in lines {
            let Ok(line) = line else { break };
            if let Some(n) = line
                .strip_prefix("ack ")
                .and_then(|n| n.parse::<u64>().ok())
            {
                acked = Some(n);
            }
        }
        assert!(
            !status.success(),
            "iteration {iter}: child ended by itself (opened={opened})"
        );
        // Reopen and verify.
        let engine =
            Engine::open(root).unwrap_or_else(|e| panic!("iteration {iter}: reopen failed: {e}"));
        let mut seen: HashMap<(u64, u64), u32> = HashMap::new();
        let mut total = 0u64;
        for (db, m) in DBS.iter().flat_map(|d| (0..METRICS).map(move |m| (*d, m))) {
            let r = engine.query_range(db, &format!("m{m}"), i64::MIN, i64::MAX, 1, |s| {
                let Value::I32(v) = s.value else {
                    panic!("type")
                };
                let (it, i) = ((v as u64) / 100_000, (v as u64) % 100_000);
                assert_eq!(s.ts, ts_of(it, i, m), "iteration {iter}: wrong timestamp");
                assert_eq!(db, db_of(i, span), "iteration {iter}: wrong database");
                *seen.entry((it, i)).or_insert(0) += 1;
                total += 1;
                ControlFlow::Continue(())
            });
            if let Err(nanotdb::Error::DatabaseNotFound(_)) = r {
                continue;
            }
            r.unwrap();
        }
        for ((it, i), n) in &seen {
            assert_eq!(
                *n, 1,
                "iteration {iter}: sample ({it},{i}) present {n} times"
            );
        }
        let acked_count = acked.map_or(0, |a| a + 1);
        for i in 0..acked_count {
            assert!(
                seen.contains_key(&(iter, i)),
                "iteration {iter}: acknowledged sample {i} lost"
            );
        }
        // Besides the acknowledged samples, only the write in flight may
        // have made it, and only whole.
        assert!(
            total == prev_total + acked_count || total == prev_total + acked_count + batch,
            "iteration {iter}: {total} samples, expected {prev_total}+{acked_count}(+{batch})"
        );
        prev_total = total;
        engine.close().unwrap();
    }
}

/// Writer threads of the concurrent crash test, each on its own metric.
const WRITERS: u64 = 8;
/// Samples per write of the concurrent crash test.
const WRITER_BATCH: u64 = 3;

/// The child of the concurrent crash test: `WRITERS` threads write batches
/// of `WRITER_BATCH` samples at once (so their writes share fsyncs through
/// the group commit), each printing `ack <thread> <last index>` after each
/// acknowledged write.
#[test]
fn crash_child_concurrent() {
    let Ok(root) = std::env::var("CRASH_CHILD_CONCURRENT_ROOT") else {
        return;
    };
    let iter: u64 = std::env::var("CRASH_CHILD_ITER").unwrap().parse().unwrap();
    let engine = Engine::open(&root).unwrap();
    let out = std::sync::Mutex::new(std::io::stdout());
    {
        let mut o = out.lock().unwrap();
        writeln!(o, "open").unwrap();
        o.flush().unwrap();
    }
    std::thread::scope(|scope| {
        for t in 0..WRITERS {
            let (engine, out) = (&engine, &out);
            scope.spawn(move || {
                let name = format!("w{t}");
                for first in (0..).step_by(WRITER_BATCH as usize) {
                    let samples: Vec<WriteSample<'_>> = (first..first + WRITER_BATCH)
                        .map(|i| WriteSample {
                            db: "crash",
                            metric: &name,
                            ts: ts_of(iter, i, 0),
                            value: Value::I32(value_of(iter, i)),
                        })
                        .collect();
                    let r = engine.write(&samples).unwrap();
                    assert!(r.rejected.is_empty(), "{:?}", r.rejected);
                    let mut o = out.lock().unwrap();
                    writeln!(o, "ack {t} {}", first + WRITER_BATCH - 1).unwrap();
                    o.flush().unwrap();
                }
            });
        }
    });
}

/// Eight threads writing at once under `fsync_policy = "always"` (their
/// writes committed in groups sharing one fsync) are killed at random
/// points: after each kill every acknowledged sample of every thread is
/// there exactly once, and besides them at most each thread's write in
/// flight, whole.
#[test]
fn kill_minus_nine_100_times_eight_concurrent_writers() {
    if std::env::var("CRASH_CHILD_CONCURRENT_ROOT").is_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write_config(root);
    let exe = std::env::current_exe().unwrap();
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let mut prev = [0u64; WRITERS as usize];
    for iter in 0..100 {
        let target = rng(&mut seed) % 400;
        let mut child = Command::new(&exe)
            .args(["crash_child_concurrent", "--exact", "--nocapture", "-q"])
            .env("CRASH_CHILD_CONCURRENT_ROOT", root)
            .env("CRASH_CHILD_ITER", iter.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut acked: [Option<u64>; WRITERS as usize] = [None; WRITERS as usize];
        let record = |line: &str, acked: &mut [Option<u64>]| -> u64 {
            let mut parts = line.split(' ').skip(1);
            if let (Some(t), Some(n)) = (parts.next(), parts.next()) {
                let (t, n): (usize, u64) = (t.parse().unwrap(), n.parse().unwrap());
                acked[t] = Some(acked[t].map_or(n, |a| a.max(n)));
            }
            acked.iter().flatten().map(|a| a + 1).sum()
        };
        let mut lines = BufReader::new(stdout).lines();
        for line in lines.by_ref() {
            let Ok(line) = line else { break };
            if line.starts_with("ack ") && record(&line, &mut acked) >= target {
                break;
            }
        }
        child.kill().unwrap();
        let status = child.wait().unwrap();
        for line in lines.map_while(|l| l.ok()) {
            if line.starts_with("ack ") {
                record(&line, &mut acked);
            }
        }
        assert!(!status.success(), "iteration {iter}: child ended by itself");
        let engine =
            Engine::open(root).unwrap_or_else(|e| panic!("iteration {iter}: reopen failed: {e}"));
        for t in 0..WRITERS as usize {
            let mut seen: HashMap<(u64, u64), u32> = HashMap::new();
            let r = engine.query_range("crash", &format!("w{t}"), i64::MIN, i64::MAX, 1, |s| {
                let Value::I32(v) = s.value else {
                    panic!("type")
                };
                let (it, i) = ((v as u64) / 100_000, (v as u64) % 100_000);
                assert_eq!(s.ts, ts_of(it, i, 0), "iteration {iter}: wrong timestamp");
                *seen.entry((it, i)).or_insert(0) += 1;
                ControlFlow::Continue(())
            });
            if let Err(nanotdb::Error::DatabaseNotFound(_)) = r {
                continue;
            }
            r.unwrap();
            if let Some((k, n)) = seen.iter().find(|(_, n)| **n != 1) {
                panic!("iteration {iter}: writer {t} sample {k:?} present {n} times");
            }
            let acked_count = acked[t].map_or(0, |a| a + 1);
            for i in 0..acked_count {
                assert!(
                    seen.contains_key(&(iter, i)),
                    "iteration {iter}: writer {t}: acknowledged sample {i} lost"
                );
            }
            let total = seen.len() as u64;
            assert!(
                total == prev[t] + acked_count || total == prev[t] + acked_count + WRITER_BATCH,
                "iteration {iter}: writer {t}: {total} samples, expected {}+{acked_count}(+{WRITER_BATCH})",
                prev[t]
            );
            prev[t] = total;
        }
        engine.close().unwrap();
    }
}
