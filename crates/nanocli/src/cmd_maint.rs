//! `nanocli build metric`, `compact`, `recover`: metric-file builds and raw
//! file maintenance (docs/BEHAVIOUR.md §3.7–3.9).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use clap::Subcommand;
use nanotdb::config::{Codec, RawIngestAction};
use nanotdb::metricfile::Version;
use nanotdb::{BuildOptions, Engine};
use serde_json::json;

use crate::table::{Align, Table};

/// `build` subcommands.
#[derive(Subcommand, Debug)]
pub enum Build {
    /// Build query-optimised metric files from raw partitions.
    Metric(BuildArgs),
}

/// Arguments of `build metric`.
#[derive(clap::Args, Debug)]
pub struct BuildArgs {
    #[command(flatten)]
    at: crate::DbArgs,
    /// One partition (default: every partition with raw files).
    #[arg(long)]
    part: Option<String>,
    /// Layout: v1, v2 or v3 (default: [metrics].format, itself v2 by default).
    #[arg(long)]
    format: Option<String>,
    /// Codec: s2, s2_better, zstd_fastest, zstd_default (default: [metrics].compression).
    #[arg(long)]
    codec: Option<String>,
    /// keep, rename or delete the raw files afterwards (default: [metrics].raw_ingest_action).
    #[arg(long)]
    raw_ingest_action: Option<String>,
    /// Compare the metric file with its sources sample by sample (before any delete).
    #[arg(long)]
    verify: bool,
    /// JSON output.
    #[arg(long)]
    json: bool,
}

/// Arguments of `compact`.
#[derive(clap::Args, Debug)]
pub struct CompactArgs {
    #[command(flatten)]
    at: crate::DbArgs,
    /// Partition key.
    #[arg(long)]
    part: String,
    /// JSON output.
    #[arg(long)]
    json: bool,
}

/// Arguments of `recover`.
#[derive(clap::Args, Debug)]
pub struct RecoverArgs {
    #[command(flatten)]
    at: crate::DbArgs,
    /// Partition key.
    #[arg(long)]
    part: String,
    /// Output file (relative to the current directory).
    #[arg(long)]
    out: PathBuf,
    /// JSON output.
    #[arg(long)]
    json: bool,
}

fn open(root: &std::path::Path) -> Result<(PathBuf, Engine)> {
    let root = crate::resolve_root(root, false)?;
    let engine = Engine::open(&root).with_context(|| format!("open {}", root.display()))?;
    Ok((root, engine))
}

/// Runs `build metric`.
pub fn build(b: Build) -> Result<ExitCode> {
    let Build::Metric(a) = b;
    let started = Instant::now();
    let (root, engine) = open(&a.at.root)?;
    let db = crate::normalize_db(&a.at.db)?;
    let cfg = engine.config().metrics.clone();
    let version = match a.format.as_deref().map(|f| f.trim().to_ascii_lowercase()) {
        None => cfg.format,
        Some(f) => match f.as_str() {
            "v2" => Version::V2,
            "v1" => Version::V1,
            "v3" => Version::V3,
            other => bail!("--format must be v1, v2 or v3, got {other:?}"),
        },
    };
    let codec = match &a.codec {
        Some(c) => Codec::from_name(&c.trim().to_ascii_lowercase()).ok_or_else(|| {
            anyhow!("unknown --codec {c:?} (valid: s2, s2_better, zstd_fastest, zstd_default)")
        })?,
        None => cfg.compression,
    };
    let raw_action = match a
        .raw_ingest_action
        .as_deref()
        .map(|s| s.trim().to_ascii_lowercase())
    {
        None => cfg.raw_ingest_action,
        Some(s) if s == "keep" => RawIngestAction::Keep,
        Some(s) if s == "rename" => RawIngestAction::Rename,
        Some(s) if s == "delete" => RawIngestAction::Delete,
        Some(s) => bail!("--raw-ingest-action must be keep, rename or delete, got {s:?}"),
    };
    let opts = BuildOptions {
        version,
        codec,
        raw_action,
        verify: a.verify,
    };
    let parts: Vec<String> = match &a.part {
        Some(p) => vec![p.clone()],
        // Partitions still being written are left for a later build.
        None => engine
            .raw_partitions(&db)?
            .into_iter()
            .filter(|(_, open)| !open)
            .map(|(k, _)| k)
            .collect(),
    };
    let bar = crate::progress::bar(
        parts.len() as u64,
        "{bar:40} {pos}/{len} partitions {per_sec} eta {eta}",
    );
    let mut reports = Vec::new();
    for p in &parts {
        let r = engine
            .build_metric_files(&db, Some(p), Some(opts))
            .with_context(|| format!("build metric partition {p}"))?;
        reports.extend(r);
        if let Some(b) = &bar {
            b.inc(1);
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    engine.close()?;
    if reports.is_empty() {
        bail!(
            "no data-*.dat or raw-*.dat partitions found under {}",
            root.join(&db).display()
        );
    }
    let (src, met): (u64, u64) = reports.iter().fold((0, 0), |acc, r| {
        (acc.0 + r.source_bytes, acc.1 + r.metric_bytes)
    });
    let ms = started.elapsed().as_millis();
    if a.json {
        let v = json!({"root_dir": root, "database": db, "format": version.name(), "codec": codec.name(),
            "raw_ingest_action": raw_action.as_str(), "verified": reports.iter().all(|r| r.verified),
            "partitions": reports, "partition_count": reports.len(), "source_bytes": src, "metric_bytes": met,
            "duration_ms": ms});
        outln!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(ExitCode::SUCCESS);
    }
    outln!("Metric build for {db}");
    outln!("Root: {}", root.display());
    outln!(
        "format={} codec={} raw_ingest_action={} partitions={} duration_ms={ms}",
        version.name(),
        codec.name(),
        raw_action.as_str(),
        reports.len()
    );
    let mut t = Table::new(&[
        ("partition", Align::Left),
        ("source_bytes", Align::Right),
        ("metric_bytes", Align::Right),
        ("metric_vs_source", Align::Right),
        ("points", Align::Right),
        ("verified", Align::Left),
    ]);
    for r in &reports {
        let ratio = if r.source_bytes == 0 {
            "-".to_string()
        } else {
            format!(
                "{:.2}%",
                r.metric_bytes as f64 * 100.0 / r.source_bytes as f64
            )
        };
        t.row(vec![
            r.partition.clone(),
            r.source_bytes.to_string(),
            r.metric_bytes.to_string(),
            ratio,
            r.points.to_string(),
            r.verified.to_string(),
        ]);
    }
    out!("{}", t.render());
    outln!("totals: source_bytes={src} metric_bytes={met}");
    Ok(ExitCode::SUCCESS)
}

/// Runs `compact`.
pub fn compact(a: CompactArgs) -> Result<ExitCode> {
    let (_, engine) = open(&a.at.root)?;
    let db = crate::normalize_db(&a.at.db)?;
    let r = engine.recompact_data_file(&db, &a.part)?;
    engine.close()?;
    crate::print_report(a.json, &r, |r| {
        outln!(
            "Recompacted {}/data-{}.dat ({} -> {} frames, {} -> {} bytes)",
            r.database,
            r.part,
            r.old_frames,
            r.new_frames,
            r.old_bytes,
            r.new_bytes
        );
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Runs `recover` (read-only on the database: the source is not touched).
pub fn recover(a: RecoverArgs) -> Result<ExitCode> {
    let root = crate::resolve_root(&a.at.root, false)?;
    let engine =
        Engine::open_read_only(&root).with_context(|| format!("open {}", root.display()))?;
    let db = crate::normalize_db(&a.at.db)?;
    let out = std::path::absolute(&a.out)?;
    let spin = crate::progress::spinner("scanning for intact frames");
    let r = engine.recover_data_file(&db, &a.part, &out);
    if let Some(s) = spin {
        s.finish_and_clear();
    }
    let r = r?;
    crate::print_report(a.json, &r, |r| {
        outln!(
            "Recovered {} to {} ({} frames, {} records, {} skipped bytes)",
            r.source_path.display(),
            r.output_path.display(),
            r.recovered_frames,
            r.recovered_records,
            r.skipped_bytes
        );
    })?;
    Ok(ExitCode::SUCCESS)
}
