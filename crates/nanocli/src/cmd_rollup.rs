//! `nanocli rollup`: rebuild the rollups of one or every source database
//! (docs/BEHAVIOUR.md §3.6). Data a user wrote into a destination is kept.

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::{Context, Result};
use indicatif::ProgressBar;
use nanotdb::Engine;

/// Arguments of `nanocli rollup`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    at: crate::RootArgs,
    /// Print the backfill report as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs the command.
pub fn run(a: Args) -> Result<ExitCode> {
    let root = crate::resolve_root(&a.at.root, false)?;
    let db = a.at.db.as_deref().map(crate::normalize_db).transpose()?;
    let engine = Engine::open(&root).with_context(|| format!("open {}", root.display()))?;
    engine.set_auto_rollups(false);
    let spinner = std::io::stderr().is_terminal().then(|| {
        let s = ProgressBar::new_spinner();
        s.set_message("rolling up");
        s.enable_steady_tick(std::time::Duration::from_millis(120));
        s
    });
    let sources: Vec<&str> = db.iter().map(String::as_str).collect();
    let result = engine.rollup_backfill(&sources);
    if let Some(s) = &spinner {
        s.finish_and_clear();
    }
    let close = engine.close();
    let report = result?;
    close.context("closing the engine")?;
    if a.json {
        outln!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(ExitCode::SUCCESS);
    }
    if report.source_databases.is_empty() {
        outln!("No rollup sources found.");
        return Ok(ExitCode::SUCCESS);
    }
    outln!(
        "Backfilled {} rollup source DBs into {} destination DBs in {} passes.",
        report.source_databases.len(),
        report.destination_databases.len(),
        report.replay_passes
    );
    outln!(
        "Cleared {} checkpoint files, {} data files, {} WAL files, {} catalog files.",
        report.cleared_checkpoint_files.len(),
        report.cleared_data_files.len(),
        report.cleared_wal_files.len(),
        report.cleared_catalog_files.len()
    );
    for f in &report.rewritten_data_files {
        outln!("Rewrote {f} without its rollup outputs (user metrics kept).");
    }
    for s in &report.skipped_destinations {
        eprintln!("warning: skipped destination {s}");
    }
    Ok(ExitCode::SUCCESS)
}
