//! `nanocli retention`: apply (or, with `--dry-run`, show) the retention
//! policy of one or every database now.

use std::process::ExitCode;

use anyhow::{Context, Result};
use nanotdb::{Engine, EngineOptions};

/// Arguments of `nanocli retention`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    at: crate::RootArgs,
    /// Only show what would be removed or archived; change nothing.
    #[arg(long)]
    dry_run: bool,
    /// JSON output.
    #[arg(long)]
    json: bool,
}

/// Runs the command.
pub fn run(a: Args) -> Result<ExitCode> {
    let root = crate::resolve_root(&a.at.root, false)?;
    let engine = Engine::open_with(
        &root,
        EngineOptions {
            read_only: a.dry_run,
            config: None,
        },
    )
    .with_context(|| format!("open {}", root.display()))?;
    let dbs = match &a.at.db {
        Some(d) => vec![crate::normalize_db(d)?],
        None => engine.databases()?,
    };
    let mut reports = Vec::new();
    for db in &dbs {
        let r = engine.apply_retention(db, a.dry_run)?;
        reports.push((db.clone(), r));
    }
    engine.close()?;
    if a.json {
        let v: Vec<serde_json::Value> = reports
            .iter()
            .map(|(db, r)| serde_json::json!({"database": db, "report": r}))
            .collect();
        outln!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(ExitCode::SUCCESS);
    }
    let verb = if a.dry_run { "would remove" } else { "removed" };
    for (db, r) in &reports {
        if r.expired.is_empty() {
            outln!("{db}: nothing past retention");
            continue;
        }
        outln!(
            "{db}: {} partitions past retention: {}",
            r.expired.len(),
            r.expired.join(", ")
        );
        for f in &r.removed {
            outln!("  {verb} {}", f.display());
        }
        for (bucket, entry) in &r.archived {
            outln!("  archived {entry} into {}", bucket.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}
