//! The server's `/api/v1/import` work without HTTP, for profilers: the
//! `edge` day (`gen-workload edge --hours 24`) in 5,000-line bodies, each
//! parsed by `routes::ingest::parse_lines` and written by
//! `write_all_or_nothing`, into a temporary root whose `engine.toml` is the
//! shipped template with `skip_before = "0s"` (every sample through the
//! WAL), as the `http_ingest` bench runs the server.
//!
//! `cargo build --release -p nanotdb-server --example ingest_profile`, then
//! e.g. `valgrind --tool=callgrind target/release/examples/ingest_profile`
//! or `perf stat -e task-clock target/release/examples/ingest_profile 3`
//! (the argument: how many databases to write the day into, default 1).

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use nanotdb_server::routes::ingest::{LineOptions, TsUnit, parse_lines, write_all_or_nothing};

const LINES_PER_BODY: usize = 5_000;

fn main() -> Result<()> {
    let rounds: usize = std::env::args().nth(1).map_or(Ok(1), |a| a.parse())?;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-data");
    let file = nanotdb_workload::cached_file(&dir, nanotdb_workload::Workload::Edge, 24)
        .context("generate workload")?;
    let text = std::fs::read_to_string(file)?;
    let lines: Vec<&str> = text.lines().collect();
    let bodies: Vec<Vec<u8>> = lines
        .chunks(LINES_PER_BODY)
        .map(|c| {
            let mut b = Vec::with_capacity(c.len() * 60);
            for l in c {
                b.extend_from_slice(l.as_bytes());
                b.push(b'\n');
            }
            b
        })
        .collect();
    let root = tempfile::tempdir()?;
    let cfg = nanotdb::config::DEFAULT_ENGINE_TOML
        .replace("skip_before = \"1h\"", "skip_before = \"0s\"");
    std::fs::write(root.path().join("engine.toml"), cfg)?;
    let engine = nanotdb::Engine::open(root.path())?;
    let t0 = Instant::now();
    let mut n = 0u64;
    for round in 0..rounds {
        let db = format!("edge_r{round}");
        for b in &bodies {
            let opts = LineOptions {
                now: nanotdb::time::now_ns(),
                db: Some(&db),
                unit: TsUnit::AssumedNs,
            };
            let parsed = parse_lines(b, &opts);
            n += write_all_or_nothing(&engine, parsed).map_err(|e| anyhow::anyhow!("{e:?}"))?;
        }
    }
    let d = t0.elapsed();
    engine.close()?;
    println!(
        "{n} samples in {:.3} s = {:.2} M samples/s",
        d.as_secs_f64(),
        n as f64 / d.as_secs_f64() / 1e6
    );
    Ok(())
}
