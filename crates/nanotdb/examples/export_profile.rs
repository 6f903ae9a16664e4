//! The history bench's exports in-process, for CPU time per export: on the
//! shared 2-core machine wall times swing with the load, CPU time much less
//! (this VM has no hardware counters for `perf stat -e instructions`).
//!
//!     export_profile prepare <root> <history.lp> raw|v2|v3
//!     export_profile run <root> <one> <all>
//!
//! `prepare` imports the line-protocol file into a new root and, for v2/v3,
//! builds metric files beside the raw files (as `history_queries` does);
//! `run` exports one metric (`wt1.power_kw`) `<one>` times and every metric
//! `<all>` times over the bench's range, as `/api/v1/export` would, and
//! prints the bytes, the wall time and the process's CPU time per export of
//! each kind, after one warm-up export of each (not counted).

use std::error::Error;
use std::io::Write;
use std::time::Instant;

use nanotdb::metricfile::Version;
use nanotdb::{BuildOptions, Engine, ImportOptions};

/// 2024-01-01T00:00:00Z and 2026-01-01T00:00:00Z, in ns.
const FROM: i64 = 1_704_067_200_000_000_000;
const TO: i64 = 1_767_225_600_000_000_000;

/// Counts what it is given.
struct Count(u64);

impl Write for Count {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0 += b.len() as u64;
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// CPU time (user + system, every thread) of this process so far, in
/// seconds (10 ms clock ticks).
fn cpu_seconds() -> f64 {
    let s = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // utime and stime: the 12th and 13th fields after the command name.
    let rest = s.rsplit_once(')').map_or("", |(_, r)| r);
    let ticks: u64 = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|v| v.parse::<u64>().ok())
        .sum();
    ticks as f64 / 100.0
}

fn prepare(root: &str, input: &str, variant: &str) -> Result<(), Box<dyn Error>> {
    std::fs::create_dir_all(root)?;
    std::fs::write(
        std::path::Path::new(root).join("engine.toml"),
        "[stats]\nenabled = false\n",
    )?;
    let e = Engine::open(root)?;
    e.import_file(
        std::path::Path::new(input),
        &ImportOptions::default(),
        &mut (),
    )?;
    let version = match variant {
        "raw" => None,
        "v2" => Some(Version::V2),
        "v3" => Some(Version::V3),
        v => return Err(format!("variant {v}: raw, v2 or v3").into()),
    };
    if let Some(version) = version {
        let opts = BuildOptions {
            version,
            codec: nanotdb::config::Codec::ZstdFastest,
            raw_action: nanotdb::config::RawIngestAction::Keep,
            verify: false,
        };
        e.build_metric_files("history", None, Some(opts))?;
    }
    e.close()?;
    Ok(())
}

fn run(root: &str, one: usize, all: usize) -> Result<(), Box<dyn Error>> {
    let e = Engine::open(root)?;
    let names: Vec<String> = e.metrics("history")?.into_iter().map(|m| m.name).collect();
    let single = vec!["wt1.power_kw".to_string()];
    // Warm-up, as the bench's: the first read of a metric file decodes it
    // whole (its check); `run <root> 0 0` counts this part alone.
    for names in [&single, &names] {
        e.export_jsonl("history", names, FROM, TO, false, &mut Count(0))?;
    }
    for (what, names, rounds) in [("one metric", &single, one), ("all metrics", &names, all)] {
        let (t, cpu) = (Instant::now(), cpu_seconds());
        let mut bytes = 0;
        for _ in 0..rounds {
            let mut out = Count(0);
            e.export_jsonl("history", names, FROM, TO, false, &mut out)?;
            bytes = out.0;
        }
        let n = rounds.max(1) as f64;
        let per = t.elapsed().as_secs_f64() * 1e3 / n;
        let cpu = (cpu_seconds() - cpu) * 1e3 / n;
        println!(
            "{what}: {rounds} exports of {bytes} bytes, {per:.2} ms each, CPU {cpu:.1} ms each"
        );
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).map(String::as_str).unwrap_or_default();
    match arg(0) {
        "prepare" => prepare(arg(1), arg(2), arg(3)),
        "run" => run(arg(1), arg(2).parse()?, arg(3).parse()?),
        _ => Err(
            "usage: export_profile prepare <root> <lp> raw|v2|v3 | run <root> <one> <all>".into(),
        ),
    }
}
