//! `nanocli inspect db|catalog|dat|wal`: pure file readers. They never open
//! the engine, so they never create, flush, truncate or write anything, and
//! damaged files are reported (offset, frame, reason, what is readable)
//! instead of failing the command.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Result, bail};
use clap::Subcommand;
use nanotdb::catalog::Catalog;
use nanotdb::inspect::{self, DataFileReport, WalFileReport};
use nanotdb::layout::{self, DbFileKind, DbLayout, PartitionFileKind};
use nanotdb::time::{format_go_duration, format_rfc3339, format_timestamp_string, now_ns};
use serde::Serialize;
use serde_json::{Value as Json, json};

use crate::table::{Align, Table, ellipsize};

/// What to inspect.
#[derive(Subcommand, Debug)]
pub enum What {
    /// Overview of one database: catalog, manifest, data files, WAL.
    Db(Args),
    /// The metric registry (`catalog.json`).
    Catalog(CatalogArgs),
    /// Raw data files (`data-*.dat`, `raw-*.dat`): frame headers only.
    Dat(Args),
    /// The WAL, decoded until its first bad record.
    Wal(Args),
    /// Metric files (`metric-*.dat`, v1, v2 and v3): headers and indexes.
    Metric(Args),
}

/// Common arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    at: crate::DbArgs,
    /// Per-frame / per-file detail.
    #[arg(long)]
    verbose: bool,
    /// JSON output.
    #[arg(long)]
    json: bool,
}

/// Arguments of `inspect catalog`.
#[derive(clap::Args, Debug)]
pub struct CatalogArgs {
    #[command(flatten)]
    at: crate::DbArgs,
    /// JSON output.
    #[arg(long)]
    json: bool,
}

struct Ctx {
    root: PathBuf,
    db: String,
    dir: PathBuf,
    layout: DbLayout,
}

fn ctx(root: &Path, db: &str) -> Result<Ctx> {
    let root = crate::resolve_root(root, false)?;
    let db = crate::normalize_db(db)?;
    nanotdb::names::validate_db_name(&db)?;
    let layout = DbLayout::new(&root, &db);
    let dir = layout.dir().to_path_buf();
    Ok(Ctx {
        root,
        db,
        dir,
        layout,
    })
}

fn require_dir(c: &Ctx) -> Result<()> {
    if !c.dir.is_dir() {
        bail!("database directory not found: {}", c.dir.display());
    }
    Ok(())
}

fn utc(ts: i64) -> String {
    format_timestamp_string(ts)
}

fn rel(c: &Ctx, p: &Path) -> String {
    p.strip_prefix(&c.dir).unwrap_or(p).display().to_string()
}

/// Runs the command.
pub fn run(w: What) -> Result<ExitCode> {
    match w {
        What::Catalog(a) => catalog(a),
        What::Dat(a) => dat(a),
        What::Wal(a) => wal(a),
        What::Db(a) => db(a),
        What::Metric(a) => metric(a),
    }
}

fn catalog(a: CatalogArgs) -> Result<ExitCode> {
    let c = ctx(&a.at.root, &a.at.db)?;
    let path = c.layout.catalog();
    let bytes = fs::read(&path).map_err(|e| anyhow::anyhow!("read {}: {e}", path.display()))?;
    let cat = Catalog::parse(&bytes, &path)?;
    let metrics = cat.metrics_sorted();
    if a.json {
        let v = json!({
            "root_dir": c.root, "database": c.db, "database_dir": c.dir, "catalog_path": path,
            "count": metrics.len(),
            "metrics": metrics.iter().map(|m| json!({"name": m.name, "id": m.id, "type": m.value_type.as_str()})).collect::<Vec<_>>(),
            "generated_at": format_rfc3339(now_ns()),
        });
        outln!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(ExitCode::SUCCESS);
    }
    outln!("Catalog for {}", c.db);
    outln!("Root: {}", c.root.display());
    outln!("DB dir: {}", c.dir.display());
    outln!("Catalog: {}", path.display());
    outln!("metrics={}", metrics.len());
    if metrics.is_empty() {
        outln!("no metrics registered");
    } else {
        let mut t = Table::new(&[
            ("name", Align::Left),
            ("id", Align::Right),
            ("type", Align::Left),
        ]);
        for m in &metrics {
            t.row(vec![
                m.name.clone(),
                m.id.to_string(),
                m.value_type.as_str().into(),
            ]);
        }
        out!("{}", t.render());
    }
    Ok(ExitCode::SUCCESS)
}

/// The files of the database directory that `pred` selects, sorted by name
/// (none when it cannot be listed: each command reports that on its own).
fn list(c: &Ctx, pred: impl Fn(&DbFileKind) -> bool) -> Vec<PathBuf> {
    c.layout
        .files()
        .unwrap_or_default()
        .into_iter()
        .filter(|f| pred(&f.kind))
        .map(|f| f.path)
        .collect()
}

/// `data-` and `raw-` files: the ones holding raw frames.
fn raw_files(c: &Ctx) -> Vec<PathBuf> {
    list(
        c,
        |k| matches!(k, DbFileKind::Partition(p, _) if p.holds_frames()),
    )
}

fn wal_files(c: &Ctx) -> Vec<PathBuf> {
    list(c, |k| *k == DbFileKind::Wal)
}

mod db;
mod files;
mod metric;

use db::db;
use files::{dat, scan_dat, scan_wal, wal};
use metric::metric;
