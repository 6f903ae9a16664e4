//! Out-of-order samples and retries across `kill -9`: a child process (this
//! binary re-executed, as in tests/crash.rs) writes scrambled samples in
//! batches and is killed at random points; each restart resends the last
//! samples it acknowledged, as a retrying client would.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use nanotdb::{Engine, WriteSample};

const T0: i64 = 1_767_225_600_000_000_000; // 2026-01-01T00:00:00Z
const S: i64 = 1_000_000_000;

#[path = "out_of_order/support.rs"]
mod support;
use support::{read, sample};

fn root() -> tempfile::TempDir {
    support::root("1h")
}

const METRICS: u64 = 3;
const KILLS: u64 = 60;

/// Sample `i`: metric `i % 3`, timestamps scrambled in blocks of 12 (up
/// to 11 × 10 s late), value = `i`.
fn crash_sample(i: u64) -> (String, i64, f64) {
    let block = i / 12;
    let pos = 11 - i % 12;
    let ts = T0 + ((block * 12 + pos) as i64) * 10 * S;
    (format!("m{}", i % METRICS), ts, i as f64)
}

/// The child: from sample `OOO_CHILD_FROM` on, writes batches of 5 (a
/// client resending what it was not sure about) and prints `ack N` after
/// each acknowledged batch.
#[test]
fn ooo_crash_child() {
    let Ok(root) = std::env::var("OOO_CHILD_ROOT") else {
        return;
    };
    let from: u64 = std::env::var("OOO_CHILD_FROM").unwrap().parse().unwrap();
    let engine = Engine::open(&root).unwrap();
    let mut out = std::io::stdout().lock();
    writeln!(out, "open").unwrap();
    out.flush().unwrap();
    for first in (from..).step_by(5) {
        let owned: Vec<(String, i64, f64)> = (first..first + 5).map(crash_sample).collect();
        let batch: Vec<WriteSample> = owned.iter().map(|(m, t, v)| sample(m, *t, *v)).collect();
        let r = engine.write(&batch).unwrap();
        assert!(r.rejected.is_empty(), "{:?}", r.rejected);
        writeln!(out, "ack {}", first + 4).unwrap();
        out.flush().unwrap();
    }
}

/// Killed at random points, then restarted resending the last 20 samples
/// it acknowledged (a retrying client): every acknowledged sample is
/// stored exactly once and every series reads back in time order.
#[test]
fn kill_minus_nine_with_retries_and_out_of_order_samples() {
    let d = root();
    let exe = std::env::current_exe().unwrap();
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let mut acked: u64 = 0; // samples acknowledged so far
    for kill in 0..KILLS {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let target = acked + 5 + seed % 60;
        let from = acked.saturating_sub(20) / 5 * 5;
        let mut child = Command::new(&exe)
            .args([
                "ooo_crash_child",
                "--exact",
                "--nocapture",
                "--test-threads=1",
                "-q",
            ])
            .env("OOO_CHILD_ROOT", d.path())
            .env("OOO_CHILD_FROM", from.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        for line in lines.by_ref() {
            let Ok(line) = line else { break };
            if let Some(n) = line.strip_prefix("ack ") {
                let n: u64 = n.parse().unwrap();
                acked = acked.max(n + 1);
                if n >= target {
                    break;
                }
            }
        }
        child.kill().unwrap();
        assert!(
            !child.wait().unwrap().success(),
            "kill {kill}: child ended by itself"
        );
        for line in lines.map_while(Result::ok) {
            if let Some(n) = line
                .strip_prefix("ack ")
                .and_then(|n| n.parse::<u64>().ok())
            {
                acked = acked.max(n + 1);
            }
        }
        let e = Engine::open(d.path()).unwrap_or_else(|err| panic!("kill {kill}: reopen: {err}"));
        let mut seen: HashMap<u64, u32> = HashMap::new();
        for m in 0..METRICS {
            let got = read(&e, &format!("m{m}"));
            assert!(
                got.windows(2).all(|w| w[0].0 <= w[1].0),
                "kill {kill}: m{m} out of order"
            );
            for (ts, v) in got {
                let i = v as u64;
                assert_eq!(crash_sample(i).1, ts, "kill {kill}: sample {i} wrong time");
                *seen.entry(i).or_insert(0) += 1;
            }
        }
        for (i, n) in &seen {
            assert_eq!(*n, 1, "kill {kill}: sample {i} stored {n} times");
        }
        for i in 0..acked {
            assert!(
                seen.contains_key(&i),
                "kill {kill}: acknowledged sample {i} lost"
            );
        }
    }
    assert!(acked > KILLS * 5, "the children made progress: {acked}");
}
