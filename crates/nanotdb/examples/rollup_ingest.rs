//! Cost of incremental rollups during ingest (see BENCHMARKS.md):
//! imports a line-protocol file into fresh roots whose `edge` database rolls
//! every metric up into 1 h min/max/avg/sum/count, alternately with the
//! automatic trigger on and off, and prints the median times.
//!
//! With BATCH, lines are parsed up front and written with `Engine::write`
//! in batches of BATCH lines (an embedding program handing over pre-built
//! samples back to back: the worst case, no parsing to dilute the cost)
//! instead of `import_file` (1 MiB chunks). With `lp` after BATCH, each
//! batch is parsed in the timed loop and written with
//! `Engine::write_atomic`, as the HTTP write route does per request.
//!
//! `cargo run --release -p nanotdb --example rollup_ingest -- FILE [RUNS [BATCH [lp]]]`
//!
//! For profiling: `ROLLUP_INGEST_ONLY=on|off` runs one side only, and with
//! BATCH, `ROLLUP_INGEST_DETAIL=1` prints per run the writer thread's wall
//! time, the close, its CPU time, run-queue wait and minor page faults
//! (Linux `/proc/thread-self`), and the worker's totals. With BATCH,
//! `ROLLUP_INGEST_SYNC_FIRST=1` waits for the first pass after the first
//! batch, so the live accumulators exist from then on even where the worker
//! thread barely runs (under valgrind, for instruction counts).

use std::time::Instant;

use nanotdb::{Engine, ImportOptions, WriteSample, lineproto};

const MANIFEST: &str = r#"[retention]
  grace = "5m"
  partition = "day"
  max_active_days = 2
[wal]
  enabled = true
  skip_before = "1h"
[page]
  max_records = 16000
  max_bytes = 127000
  max_age = "60s"
[rollups]
  enabled = true
  default_grace = "5m"
  default_interval = "1h"
  default_destination_db = "edge_1h"
  default_aggregates = ["min", "max", "avg", "sum", "count"]
  [[rollups.jobs]]
    id = "all_1h"
    source_pattern = "*"
"#;

fn run(
    file: &str,
    text: Option<(&str, usize, bool)>,
    auto: bool,
) -> Result<(f64, usize), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("engine.toml"), "[stats]\nenabled = false\n")?;
    std::fs::create_dir_all(dir.path().join("edge"))?;
    std::fs::write(dir.path().join("edge/manifest.toml"), MANIFEST)?;
    let t = Instant::now();
    let engine = Engine::open(dir.path())?;
    engine.set_auto_rollups(auto);
    match text {
        None => {
            engine.import_file(file, &ImportOptions::default(), &mut ())?;
        }
        Some((text, batch, lp)) => {
            let raw: Vec<&str> = text.lines().collect();
            let lines: Vec<lineproto::Line<'_>> = if lp {
                Vec::new()
            } else {
                raw.iter()
                    .filter_map(|l| lineproto::parse_line(l).ok())
                    .collect()
            };
            let t = Instant::now();
            let s0 = sched();
            if lp {
                for chunk in raw.chunks(batch.max(1)) {
                    let parsed: Vec<lineproto::Line<'_>> = chunk
                        .iter()
                        .filter_map(|l| lineproto::parse_line(l).ok())
                        .collect();
                    let samples: Vec<WriteSample<'_>> = parsed.iter().map(to_sample).collect();
                    engine.write_atomic(&samples)?;
                }
            } else {
                let sync_first = std::env::var_os("ROLLUP_INGEST_SYNC_FIRST").is_some();
                for (k, chunk) in lines.chunks(batch.max(1)).enumerate() {
                    let samples: Vec<WriteSample<'_>> = chunk.iter().map(to_sample).collect();
                    engine.write(&samples)?;
                    if k == 0 && sync_first {
                        engine.sync_rollups();
                    }
                }
            }
            let s1 = sched();
            let totals = engine.rollup_worker_totals();
            let tw = t.elapsed().as_secs_f64();
            engine.close()?;
            let secs = t.elapsed().as_secs_f64();
            if std::env::var("ROLLUP_INGEST_DETAIL").is_ok() {
                eprintln!(
                    "{} write {:.1} close {:.1} cpu {:.1} wait {:.1} minflt {} {:?}",
                    auto as u8,
                    tw * 1e3,
                    (secs - tw) * 1e3,
                    (s1.0 - s0.0) as f64 / 1e6,
                    (s1.1 - s0.1) as f64 / 1e6,
                    s1.2 - s0.2,
                    totals
                );
            }
            drop(engine);
            let engine = Engine::open(dir.path())?;
            let outputs = engine.metrics("edge_1h").map_or(0, |m| m.len());
            return Ok((secs, outputs));
        }
    }
    engine.close()?;
    let secs = t.elapsed().as_secs_f64();
    let engine = Engine::open(dir.path())?;
    let outputs = match engine.metrics("edge_1h") {
        Ok(m) => m.len(),
        Err(_) => 0,
    };
    Ok((secs, outputs))
}

fn to_sample<'a>(l: &lineproto::Line<'a>) -> WriteSample<'a> {
    WriteSample {
        db: l.db,
        metric: l.metric,
        ts: l.ts.unwrap_or(0),
        value: l.value,
    }
}

/// This thread's (CPU ns, run-queue wait ns, minor faults); zeros where
/// `/proc` cannot tell.
fn sched() -> (u64, u64, u64) {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    let v: Vec<u64> = s
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    let st = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
    let f: Vec<&str> = st
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    (
        v.first().copied().unwrap_or(0),
        v.get(1).copied().unwrap_or(0),
        f.get(7).and_then(|x| x.parse().ok()).unwrap_or(0),
    )
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let file = args.get(1).ok_or("usage: rollup_ingest FILE [RUNS]")?;
    let runs: usize = args.get(2).map_or(Ok(5), |s| s.parse())?;
    let batch: Option<usize> = args.get(3).map(|s| s.parse()).transpose()?;
    let body = match batch {
        Some(_) => Some(std::fs::read_to_string(file)?),
        None => None,
    };
    let lp = args.get(4).is_some_and(|a| a == "lp");
    let text = body.as_deref().zip(batch).map(|(t, b)| (t, b, lp));
    let (mut on, mut off) = (Vec::new(), Vec::new());
    let mut outputs = 0;
    if let Ok(mode) = std::env::var("ROLLUP_INGEST_ONLY") {
        let mut v = Vec::new();
        for _ in 0..runs {
            v.push(run(file, text, mode == "on")?.0);
        }
        println!("{mode}: median {:.1} ms", median(&mut v) * 1e3);
        return Ok(());
    }
    for _ in 0..runs {
        off.push(run(file, text, false)?.0);
        let (t, o) = run(file, text, true)?;
        on.push(t);
        outputs = o;
    }
    // Each "on" run is compared with the "off" run just before it, so slow
    // drifts of the machine cancel out; the median pair is reported.
    let mut pairs: Vec<f64> = on.iter().zip(&off).map(|(b, a)| b / a - 1.0).collect();
    let pair = median(&mut pairs);
    let (a, b) = (median(&mut off), median(&mut on));
    println!(
        "trigger off: {:.1} ms, trigger on: {:.1} ms ({:+.1} %; median of paired runs {:+.1} %), {} rollup metrics",
        a * 1e3,
        b * 1e3,
        (b / a - 1.0) * 100.0,
        pair * 100.0,
        outputs
    );
    Ok(())
}
