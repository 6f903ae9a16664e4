//! `nanocli export` (read-only).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use nanotdb::Engine;
use serde::Serialize;

/// Arguments of `nanocli export`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    at: crate::DbArgs,
    /// Output file (relative to the current directory); stdout when absent.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Print the summary as JSON (needs --out).
    #[arg(long)]
    json: bool,
    /// Output format: line protocol (`lp`, v1.4.0's, re-importable with
    /// `nanocli import`) or VictoriaMetrics JSON lines (`jsonl`, one object
    /// per series with its labels; `VictoriaMetrics /api/v1/import` reads it).
    #[arg(long, value_enum, default_value = "lp")]
    format: ExportFormat,
    /// With `--format jsonl`: only the series a Prometheus selector picks
    /// (`name`, `name{label="v"}`, `{label=~"re"}`); repeatable, a series
    /// picked by any of them is exported.
    #[arg(long = "match", value_name = "SELECTOR", requires = "format")]
    matchers: Vec<String>,
}

/// `nanocli export --format`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum ExportFormat {
    /// Line protocol.
    Lp,
    /// VictoriaMetrics JSON lines.
    Jsonl,
}

/// Writes `db` to `out` in the chosen format (JSON lines: the series any
/// selector picks, each once).
fn write_to(
    engine: &Engine,
    db: &str,
    a: &Args,
    out: impl std::io::Write + Send,
    progress: &mut dyn FnMut(u64, u64),
) -> nanotdb::Result<nanotdb::ExportReport> {
    if a.format == ExportFormat::Lp {
        return engine.export_with_progress(db, i64::MIN, i64::MAX, out, progress);
    }
    // The union of what the selectors pick, each series once, by name.
    let mut names = std::collections::BTreeSet::new();
    if a.matchers.is_empty() {
        names.extend(engine.metrics(db)?.into_iter().map(|m| m.name));
    }
    for m in &a.matchers {
        // Parsed (and refused with a message) before the engine opened.
        if let Ok(m) = crate::selector::parse(m) {
            names.extend(engine.select_series(db, &m)?.into_iter().map(|s| s.name));
        }
    }
    let names: Vec<String> = names.into_iter().collect();
    engine.export_jsonl(db, &names, i64::MIN, i64::MAX, false, out)
}

#[derive(Serialize)]
struct Summary {
    root_dir: String,
    database: String,
    output_file: String,
    lines: u64,
    bytes: u64,
    duration_ms: u128,
}

/// Runs the command.
pub fn run(a: Args) -> Result<ExitCode> {
    let root = crate::resolve_root(&a.at.root, false)?;
    let db = crate::normalize_db(&a.at.db)?;
    if a.json && a.out.is_none() {
        bail!("--json requires --out when exporting to stdout");
    }
    for m in &a.matchers {
        crate::selector::parse(m).with_context(|| format!("--match {m:?}"))?;
    }
    if !a.matchers.is_empty() && a.format != ExportFormat::Jsonl {
        bail!("--match needs --format jsonl");
    }
    let engine =
        Engine::open_read_only(&root).with_context(|| format!("open {}", root.display()))?;
    let started = Instant::now();
    match &a.out {
        None => {
            let stdout = std::io::stdout();
            let bar = crate::progress::partitions_bar();
            // Not locked: JSON lines are written from a second thread
            // (each write is a 64 KiB block, which takes the lock itself).
            let r = write_to(&engine, &db, &a, stdout, &mut |done, total| {
                if let Some(b) = &bar {
                    b.set_length(total);
                    b.set_position(done);
                }
            });
            if let Some(b) = bar {
                b.finish_and_clear();
            }
            match r {
                Ok(_) => {}
                // `nanocli export | head` is not an error.
                Err(nanotdb::Error::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::BrokenPipe => {}
                Err(e) => return Err(e.into()),
            }
        }
        Some(out) => {
            let out = std::path::absolute(out)?;
            // Fail on an unknown database before creating the output file.
            engine.metrics(&db)?;
            if let Some(parent) = out.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("create {}", parent.display()))?;
            }
            let file =
                std::fs::File::create(&out).with_context(|| format!("create {}", out.display()))?;
            let bar = crate::progress::partitions_bar();
            let r = write_to(
                &engine,
                &db,
                &a,
                std::io::BufWriter::new(&file),
                &mut |done, total| {
                    if let Some(b) = &bar {
                        b.set_length(total);
                        b.set_position(done);
                    }
                },
            )?;
            file.sync_all()
                .with_context(|| format!("sync {}", out.display()))?;
            if let Some(b) = bar {
                b.finish_and_clear();
            }
            let s = Summary {
                root_dir: root.display().to_string(),
                database: db.clone(),
                output_file: out.display().to_string(),
                lines: r.lines,
                bytes: r.bytes,
                duration_ms: started.elapsed().as_millis(),
            };
            crate::print_report(a.json, &s, |s| {
                outln!(
                    "Exported {} to {} ({} lines, {} bytes, {}ms)",
                    s.database,
                    s.output_file,
                    s.lines,
                    s.bytes,
                    s.duration_ms
                );
            })?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
