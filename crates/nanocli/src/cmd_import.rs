//! `nanocli import`.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use nanotdb::{Engine, Error, ImportObserver, ImportOptions};
use serde::Serialize;

/// Arguments of `nanocli import`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Data directory (created with a default engine.toml if missing).
    #[arg(long)]
    root: PathBuf,
    /// Line-protocol file to import.
    #[arg(long = "in", value_name = "FILE")]
    input: PathBuf,
    /// Store every line in this database instead of the one it names.
    #[arg(long)]
    db: Option<String>,
    /// Stop at the first bad line (lines before it stay imported).
    #[arg(long)]
    strict: bool,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Summary {
    root_dir: String,
    input_file: String,
    total_lines: u64,
    imported_lines: u64,
    skipped_lines: u64,
    rejected_lines: u64,
    databases_seen: Vec<String>,
    duration_ms: u128,
}

struct Observer {
    bar: Option<ProgressBar>,
    stderr: std::io::Stderr,
    shown: u64,
}

const MAX_SHOWN: u64 = 1000;

impl ImportObserver for Observer {
    fn rejected(&mut self, line: u64, error: &Error) {
        self.shown += 1;
        let msg = if self.shown <= MAX_SHOWN {
            format!("line {line}: {error}")
        } else if self.shown == MAX_SHOWN + 1 {
            "further rejected lines are counted but not shown".to_string()
        } else {
            return;
        };
        match &self.bar {
            Some(b) => b.println(msg),
            None => {
                let _ = writeln!(self.stderr, "{msg}");
            }
        }
    }

    fn progress(&mut self, bytes: u64, _lines: u64) {
        if let Some(b) = &self.bar {
            b.set_position(bytes);
        }
    }
}

/// Runs the command.
pub fn run(a: Args) -> Result<ExitCode> {
    let root = crate::resolve_root(&a.root, true)?;
    let input = std::path::absolute(&a.input)?;
    let size = std::fs::metadata(&input)
        .with_context(|| format!("open {}", input.display()))?
        .len();
    let db = a.db.as_deref().map(crate::normalize_db).transpose()?;
    let engine = Engine::open(&root).with_context(|| format!("open {}", root.display()))?;
    // A tool run is not worth self-metrics: they would grow on every import.
    engine.set_stats_enabled(false);
    // Rollups run once at the end, as a backfill of the databases touched.
    engine.set_auto_rollups(false);
    let bar = std::io::stderr().is_terminal().then(|| {
        let b = ProgressBar::new(size);
        b.set_style(
            ProgressStyle::with_template(
                "{bar:40} {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        b
    });
    let mut obs = Observer {
        bar,
        stderr: std::io::stderr(),
        shown: 0,
    };
    let opts = ImportOptions {
        strict: a.strict,
        db_override: db,
        source_name: input.display().to_string(),
        ..ImportOptions::default()
    };
    let started = Instant::now();
    let result = engine.import_file(&input, &opts, &mut obs);
    if let Some(b) = &obs.bar {
        b.finish_and_clear();
    }
    let rollups = match &result {
        Ok(r) => {
            let touched: Vec<&str> = r.databases.iter().map(String::as_str).collect();
            if touched.is_empty() {
                Ok(None)
            } else {
                engine.rollup_backfill(&touched).map(Some)
            }
        }
        Err(_) => Ok(None),
    };
    let close = engine.close();
    let report = result?;
    let rollups = rollups.context("rolling up the imported databases")?;
    close.context("closing the engine")?;
    let summary = Summary {
        root_dir: root.display().to_string(),
        input_file: input.display().to_string(),
        total_lines: report.total_lines,
        // Lines whose sample was already stored count as imported: they
        // are taken (and stored once).
        imported_lines: report.imported + report.duplicates,
        skipped_lines: report.skipped,
        rejected_lines: report.rejected,
        databases_seen: report.databases.iter().cloned().collect(),
        duration_ms: started.elapsed().as_millis(),
    };
    crate::print_report(a.json, &summary, |summary| {
        outln!(
            "Imported {}/{} lines from {} ({} skipped, {} rejected, {}ms)",
            summary.imported_lines,
            summary.total_lines,
            summary.input_file,
            summary.skipped_lines,
            summary.rejected_lines,
            summary.duration_ms
        );
        outln!("Databases seen: {}", summary.databases_seen.join(", "));
        if let Some(r) = rollups.as_ref().filter(|r| !r.source_databases.is_empty()) {
            outln!(
                "Rolled up {} into {} ({} samples written).",
                r.source_databases.join(", "),
                r.destination_databases.join(", "),
                r.samples_written
            );
        }
    })?;
    Ok(if report.rejected > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
