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
    /// Metric files (`metric-*.dat`, v1 and v2): headers and indexes.
    Metric(Args),
}

/// Common arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Data directory.
    #[arg(long)]
    root: PathBuf,
    /// Database.
    #[arg(long)]
    db: String,
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
    /// Data directory.
    #[arg(long)]
    root: PathBuf,
    /// Database.
    #[arg(long)]
    db: String,
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
    let c = ctx(&a.root, &a.db)?;
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

/// One data file's scan, or the error that prevented it.
fn scan_dat(p: &Path) -> (PathBuf, std::result::Result<DataFileReport, String>) {
    (
        p.to_path_buf(),
        inspect::data_file(p).map_err(|e| e.to_string()),
    )
}

fn dat_json(
    c: &Ctx,
    files: &[(PathBuf, std::result::Result<DataFileReport, String>)],
    verbose: bool,
) -> Json {
    let mut out = Vec::new();
    let (mut tb, mut tf, mut tr, mut errors) = (0u64, 0u64, 0u64, false);
    for (p, r) in files {
        match r {
            Ok(r) => {
                tb += r.bytes;
                tf += r.frames.len() as u64;
                tr += r.records;
                errors |= r.damage.is_some();
                let mut f = json!({"path": rel(c, p), "bytes": r.bytes, "frames": r.frames.len(), "records": r.records,
                    "valid_bytes": r.valid_bytes});
                if !r.frames.is_empty() {
                    let sizes: Vec<u64> = r.frames.iter().map(|f| f.frame_bytes).collect();
                    f["avg_frame_bytes"] = json!(sizes.iter().sum::<u64>() / sizes.len() as u64);
                    f["min_frame_bytes"] = json!(sizes.iter().min());
                    f["max_frame_bytes"] = json!(sizes.iter().max());
                }
                if let (Some(a), Some(b)) = (r.min_ts, r.max_ts) {
                    f["min_timestamp_ns"] = json!(a);
                    f["max_timestamp_ns"] = json!(b);
                    f["min_utc"] = json!(utc(a));
                    f["max_utc"] = json!(utc(b));
                }
                if let Some(d) = &r.damage {
                    f["scan_error"] = json!(format!(
                        "{} at offset {} (frame {})",
                        d.reason, d.offset, d.index
                    ));
                    f["damage"] = json!({"offset": d.offset, "frame_index": d.index, "reason": d.reason, "bytes": d.bytes});
                }
                if verbose {
                    f["pages"] = r
                        .frames
                        .iter()
                        .map(|fr| {
                            json!({"index": fr.index, "offset": fr.offset, "frame_bytes": fr.frame_bytes,
                                "compressed_len": fr.compressed_len, "records": fr.records,
                                "bytes_per_record": fr.frame_bytes as f64 / fr.records.max(1) as f64,
                                "start_timestamp_ns": fr.start_ts, "end_timestamp_ns": fr.end_ts,
                                "start_utc": utc(fr.start_ts), "end_utc": utc(fr.end_ts)})
                        })
                        .collect();
                }
                out.push(f);
            }
            Err(e) => {
                errors = true;
                out.push(json!({"path": rel(c, p), "scan_error": e}));
            }
        }
    }
    json!({"root_dir": c.root, "database": c.db, "database_dir": c.dir, "files": out,
        "file_count": files.len(), "total_bytes": tb, "total_frames": tf, "total_records": tr,
        "has_errors": errors, "generated_at": format_rfc3339(now_ns())})
}

fn dat_tables(
    c: &Ctx,
    files: &[(PathBuf, std::result::Result<DataFileReport, String>)],
    verbose: bool,
) -> String {
    let mut s = String::new();
    let mut t = Table::new(&[
        ("file", Align::Left),
        ("bytes", Align::Right),
        ("frames", Align::Right),
        ("records", Align::Right),
        ("avg_page", Align::Right),
        ("min_page", Align::Right),
        ("max_page", Align::Right),
        ("start", Align::Left),
        ("duration", Align::Left),
        ("damage", Align::Left),
    ]);
    for (p, r) in files {
        match r {
            Ok(r) => {
                let sizes: Vec<u64> = r.frames.iter().map(|f| f.frame_bytes).collect();
                let (avg, min, max) = if sizes.is_empty() {
                    ("-".into(), "-".into(), "-".into())
                } else {
                    (
                        (sizes.iter().sum::<u64>() / sizes.len() as u64).to_string(),
                        sizes.iter().min().map_or("-".into(), |v| v.to_string()),
                        sizes.iter().max().map_or("-".into(), |v| v.to_string()),
                    )
                };
                let (start, dur) = match (r.min_ts, r.max_ts) {
                    (Some(a), Some(b)) => (utc(a), format_go_duration(b.saturating_sub(a))),
                    _ => ("-".into(), "-".into()),
                };
                let damage = r.damage.as_ref().map_or("-".into(), |d| {
                    format!(
                        "at offset {} (frame {}): {}; {} bytes unreadable",
                        d.offset, d.index, d.reason, d.bytes
                    )
                });
                t.row(vec![
                    ellipsize(&rel(c, p)),
                    r.bytes.to_string(),
                    r.frames.len().to_string(),
                    r.records.to_string(),
                    avg,
                    min,
                    max,
                    start,
                    dur,
                    damage,
                ]);
            }
            Err(e) => t.row(vec![ellipsize(&rel(c, p)), "ERR".into(), e.clone()]),
        }
    }
    s.push_str(&t.render());
    if verbose {
        for (p, r) in files {
            let Ok(r) = r else { continue };
            s.push_str(&format!("\nPages: {}\n", rel(c, p)));
            let mut t = Table::new(&[
                ("idx", Align::Right),
                ("offset", Align::Right),
                ("bytes", Align::Right),
                ("comp", Align::Right),
                ("recs", Align::Right),
                ("bytes/rec", Align::Right),
                ("start", Align::Left),
                ("duration", Align::Left),
            ]);
            for f in &r.frames {
                t.row(vec![
                    f.index.to_string(),
                    f.offset.to_string(),
                    f.frame_bytes.to_string(),
                    f.compressed_len.to_string(),
                    f.records.to_string(),
                    format!("{:.2}", f.frame_bytes as f64 / f.records.max(1) as f64),
                    utc(f.start_ts),
                    format_go_duration(f.end_ts.saturating_sub(f.start_ts)),
                ]);
            }
            s.push_str(&t.render());
        }
    }
    s
}

fn dat(a: Args) -> Result<ExitCode> {
    let c = ctx(&a.root, &a.db)?;
    require_dir(&c)?;
    let files: Vec<_> = raw_files(&c).iter().map(|p| scan_dat(p)).collect();
    let v = dat_json(&c, &files, a.verbose);
    if a.json {
        outln!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(ExitCode::SUCCESS);
    }
    outln!("Data files for {}", c.db);
    outln!("Root: {}", c.root.display());
    outln!("DB dir: {}", c.dir.display());
    outln!(
        "summary: files={} bytes={} frames={} records={}",
        v["file_count"],
        v["total_bytes"],
        v["total_frames"],
        v["total_records"]
    );
    if files.is_empty() {
        outln!("no data files discovered");
    } else {
        out!("{}", dat_tables(&c, &files, a.verbose));
    }
    Ok(ExitCode::SUCCESS)
}

fn scan_wal(p: &Path, verbose: bool) -> (PathBuf, std::result::Result<WalFileReport, String>) {
    (
        p.to_path_buf(),
        inspect::wal_file(p, verbose).map_err(|e| e.to_string()),
    )
}

fn wal_json(
    c: &Ctx,
    files: &[(PathBuf, std::result::Result<WalFileReport, String>)],
    verbose: bool,
) -> Json {
    let mut out = Vec::new();
    let (mut tb, mut tr, mut tail, mut errors) = (0u64, 0u64, false, false);
    for (p, r) in files {
        match r {
            Ok(r) => {
                tb += r.bytes;
                tr += r.records;
                tail |= r.stop.is_some();
                let mut f = json!({"path": rel(c, p), "bytes": r.bytes, "records": r.records,
                    "decoded_bytes": r.decoded_bytes, "has_tail": r.stop.is_some(),
                    "skipped_missing_baseline": r.skipped_missing_baseline});
                if let (Some(a), Some(b)) = (r.min_ts, r.max_ts) {
                    f["min_timestamp_ns"] = json!(a);
                    f["max_timestamp_ns"] = json!(b);
                    f["min_utc"] = json!(utc(a));
                    f["max_utc"] = json!(utc(b));
                }
                if let Some(s) = &r.stop {
                    f["tail_bytes"] = json!(s.bytes);
                    f["stop_offset"] = json!(s.offset);
                    f["stop_reason"] = json!(s.reason);
                }
                if verbose {
                    f["records_detail"] = json!(r.record_list);
                }
                out.push(f);
            }
            Err(e) => {
                errors = true;
                out.push(json!({"path": rel(c, p), "scan_error": e}));
            }
        }
    }
    json!({"root_dir": c.root, "database": c.db, "database_dir": c.dir, "files": out,
        "file_count": files.len(), "total_bytes": tb, "total_records": tr, "has_tail": tail,
        "has_errors": errors, "generated_at": format_rfc3339(now_ns())})
}

fn wal_table(
    c: &Ctx,
    files: &[(PathBuf, std::result::Result<WalFileReport, String>)],
    verbose: bool,
) -> String {
    let mut cols = vec![
        ("file", Align::Left),
        ("bytes", Align::Right),
        ("records", Align::Right),
        ("decoded", Align::Right),
        ("start", Align::Left),
        ("duration", Align::Left),
        ("tail", Align::Left),
    ];
    if verbose {
        cols.extend([
            ("tail_bytes", Align::Right),
            ("stop_off", Align::Right),
            ("reason", Align::Left),
        ]);
    }
    let mut t = Table::new(&cols);
    for (p, r) in files {
        match r {
            Ok(r) => {
                let (start, dur) = match (r.min_ts, r.max_ts) {
                    (Some(a), Some(b)) => (utc(a), format_go_duration(b.saturating_sub(a))),
                    _ => ("-".into(), "-".into()),
                };
                let mut row = vec![
                    ellipsize(&rel(c, p)),
                    r.bytes.to_string(),
                    r.records.to_string(),
                    r.decoded_bytes.to_string(),
                    start,
                    dur,
                    r.stop.is_some().to_string(),
                ];
                if verbose {
                    match &r.stop {
                        Some(s) => row.extend([
                            s.bytes.to_string(),
                            s.offset.to_string(),
                            s.reason.clone(),
                        ]),
                        None => row.extend(["-".into(), "-".into(), "-".into()]),
                    }
                }
                t.row(row);
            }
            Err(e) => t.row(vec![ellipsize(&rel(c, p)), "ERR".into(), e.clone()]),
        }
    }
    t.render()
}

fn wal(a: Args) -> Result<ExitCode> {
    let c = ctx(&a.root, &a.db)?;
    require_dir(&c)?;
    let files: Vec<_> = wal_files(&c)
        .iter()
        .map(|p| scan_wal(p, a.verbose))
        .collect();
    let v = wal_json(&c, &files, a.verbose);
    if a.json {
        outln!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(ExitCode::SUCCESS);
    }
    outln!("WAL files for {}", c.db);
    outln!("Root: {}", c.root.display());
    outln!("DB dir: {}", c.dir.display());
    outln!(
        "summary: files={} bytes={} records={} has_tail={}",
        v["file_count"],
        v["total_bytes"],
        v["total_records"],
        v["has_tail"]
    );
    out!("{}", wal_table(&c, &files, a.verbose));
    Ok(ExitCode::SUCCESS)
}

#[derive(Serialize)]
struct CatalogBlock {
    path: PathBuf,
    exists: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    parse_error: Option<String>,
    metrics_count: usize,
    int32_count: usize,
    float32_count: usize,
}

fn db(a: Args) -> Result<ExitCode> {
    let c = ctx(&a.root, &a.db)?;
    let cat_path = c.layout.catalog();
    let mut cat = CatalogBlock {
        path: cat_path.clone(),
        exists: cat_path.is_file(),
        parse_error: None,
        metrics_count: 0,
        int32_count: 0,
        float32_count: 0,
    };
    if cat.exists {
        match Catalog::load(&cat_path) {
            Ok(cl) => {
                let m = cl.metrics_sorted();
                cat.metrics_count = m.len();
                cat.int32_count = m
                    .iter()
                    .filter(|m| m.value_type == nanotdb::ValueType::Int32)
                    .count();
                cat.float32_count = cat.metrics_count - cat.int32_count;
            }
            Err(e) => cat.parse_error = Some(e.to_string()),
        }
    }
    let man_path = c.layout.manifest();
    let man_exists = man_path.is_file();
    let (man_cfg, man_err) = if man_exists {
        match nanotdb::config::read_raw_manifest(&man_path) {
            Ok(m) => (Some(m), None),
            Err(e) => (None, Some(e.to_string())),
        }
    } else {
        (None, None)
    };
    let dats: Vec<_> = raw_files(&c).iter().map(|p| scan_dat(p)).collect();
    let wals: Vec<_> = wal_files(&c).iter().map(|p| scan_wal(p, false)).collect();
    if !c.dir.is_dir() {
        bail!("database directory not found: {}", c.dir.display());
    }
    let dj = dat_json(&c, &dats, a.verbose);
    let wj = wal_json(&c, &wals, false);
    let min_ts = dats
        .iter()
        .filter_map(|(_, r)| r.as_ref().ok()?.min_ts)
        .min();
    let max_ts = dats
        .iter()
        .filter_map(|(_, r)| r.as_ref().ok()?.max_ts)
        .max();
    let mut data = json!({"files": dj["file_count"], "total_bytes": dj["total_bytes"],
        "total_frames": dj["total_frames"], "total_records": dj["total_records"]});
    if let (Some(a), Some(b)) = (min_ts, max_ts) {
        data["min_timestamp_ns"] = json!(a);
        data["max_timestamp_ns"] = json!(b);
        data["min_utc"] = json!(utc(a));
        data["max_utc"] = json!(utc(b));
    }
    let walj = json!({"files": wj["file_count"], "total_bytes": wj["total_bytes"],
        "total_records": wj["total_records"], "has_tail": wj["has_tail"]});
    if a.json {
        let mut manifest = json!({"path": man_path, "exists": man_exists});
        if let Some(e) = &man_err {
            manifest["parse_error"] = json!(e);
        }
        if let Some(m) = &man_cfg {
            manifest["config"] = serde_json::to_value(m)?;
        }
        let mut v = json!({"root_dir": c.root, "database": c.db, "database_dir": c.dir,
            "engine_config": layout::engine_config(&c.root), "catalog": cat, "manifest": manifest,
            "data": data, "wal": walj, "verbose": a.verbose, "generated_at": format_rfc3339(now_ns())});
        if a.verbose {
            v["data_detail"] = dj["files"].clone();
            v["wal_detail"] = wj["files"].clone();
        }
        outln!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(ExitCode::SUCCESS);
    }
    outln!("Database: {}", c.db);
    outln!("Root: {}", c.root.display());
    outln!("DB dir: {}", c.dir.display());
    outln!(
        "Engine config: {}",
        layout::engine_config(&c.root).display()
    );
    outln!("\nCatalog");
    outln!("  path: {}", cat.path.display());
    outln!("  exists: {}", cat.exists);
    outln!(
        "  parse_error: {}",
        cat.parse_error.as_deref().unwrap_or("-")
    );
    outln!(
        "  metrics: total={} int32={} float32={}",
        cat.metrics_count,
        cat.int32_count,
        cat.float32_count
    );
    outln!("\nManifest");
    outln!("  path: {}", man_path.display());
    outln!("  exists: {man_exists}");
    outln!("  parse_error: {}", man_err.as_deref().unwrap_or("-"));
    if let Some(m) = &man_cfg {
        outln!(
            "  retention: grace={} retention_days={} retention_action={} max_active_days={}",
            m.retention.grace,
            m.retention.retention_days,
            m.retention.retention_action,
            m.retention.max_active_days
        );
        outln!(
            "  wal: enabled={} skip_before={}",
            m.wal.enabled,
            m.wal.skip_before
        );
        outln!(
            "  page: max_records={} max_bytes={} max_age={}",
            m.page.max_records,
            m.page.max_bytes,
            m.page.max_age
        );
    }
    outln!("\nData");
    out!(
        "  files={} bytes={} frames={} records={}",
        data["files"],
        data["total_bytes"],
        data["total_frames"],
        data["total_records"]
    );
    if let (Some(a), Some(b)) = (min_ts, max_ts) {
        out!(
            " start={} duration={}",
            utc(a),
            format_go_duration(b.saturating_sub(a))
        );
    }
    outln!();
    for (p, r) in &dats {
        if let Ok(r) = r
            && let Some(d) = &r.damage
        {
            outln!(
                "  damage: {} at offset {} (frame {}): {}; {} intact frames ({} records) readable, {} bytes after",
                rel(&c, p),
                d.offset,
                d.index,
                d.reason,
                r.frames.len(),
                r.records,
                d.bytes
            );
        }
    }
    outln!("\nWAL");
    outln!(
        "  files={} bytes={} records={} tail_present={}",
        walj["files"],
        walj["total_bytes"],
        walj["total_records"],
        walj["has_tail"]
    );
    if a.verbose {
        outln!("\nData Detail");
        out!("{}", dat_tables(&c, &dats, true));
        outln!("\nWAL Detail");
        out!("{}", wal_table(&c, &wals, true));
    }
    Ok(ExitCode::SUCCESS)
}

fn metric(a: Args) -> Result<ExitCode> {
    use nanotdb::metricfile::MetricFile;
    let c = ctx(&a.root, &a.db)?;
    require_dir(&c)?;
    let paths = list(&c, |k| {
        matches!(k, DbFileKind::Partition(PartitionFileKind::Metric, _))
    });
    let mut files = Vec::new();
    let (mut tb, mut tf, mut tm, mut tp, mut errors) = (0u64, 0u64, 0u64, 0u64, false);
    let mut t = Table::new(&[
        ("file", Align::Left),
        ("version", Align::Left),
        ("bytes", Align::Right),
        ("time_frames", Align::Right),
        ("frames", Align::Right),
        ("metrics", Align::Right),
        ("points", Align::Right),
        ("avg_payload", Align::Right),
        ("start", Align::Left),
        ("duration", Align::Left),
    ]);
    let mut details = String::new();
    for p in &paths {
        let bytes = fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        tb += bytes;
        match MetricFile::open(p) {
            Ok(mf) => {
                let s = mf.summary();
                let frames = s.frames.len() as u64;
                let avg = s.payload_bytes().checked_div(frames).unwrap_or(0);
                tf += frames;
                tm += s.distinct_metrics() as u64;
                tp += s.points();
                let mut f = json!({"path": rel(&c, p), "bytes": bytes, "version": s.version.number(),
                    "time_frames": s.time_frames.len(), "frames": frames, "distinct_metrics": s.distinct_metrics(),
                    "points": s.points(), "avg_payload_bytes": avg,
                    "min_timestamp_ns": s.min_ts, "max_timestamp_ns": s.max_ts,
                    "min_utc": utc(s.min_ts), "max_utc": utc(s.max_ts)});
                if a.verbose {
                    f["frames_detail"] = s
                        .frames
                        .iter()
                        .enumerate()
                        .map(|(i, fr)| {
                            json!({"index": i, "metric_id": fr.metric_id, "value_type": fr.value_type,
                                "point_count": fr.point_count, "payload_len": fr.payload_len,
                                "uncompressed_len": fr.decoded_len, "start_timestamp_ns": fr.start_ts,
                                "end_timestamp_ns": fr.end_ts, "start_utc": utc(fr.start_ts), "end_utc": utc(fr.end_ts)})
                        })
                        .collect();
                    details.push_str(&format!("\nFrames: {}\n", rel(&c, p)));
                    let mut ft = Table::new(&[
                        ("idx", Align::Right),
                        ("metric", Align::Right),
                        ("type", Align::Left),
                        ("points", Align::Right),
                        ("payload", Align::Right),
                        ("decoded", Align::Right),
                        ("start", Align::Left),
                        ("duration", Align::Left),
                    ]);
                    for (i, fr) in s.frames.iter().enumerate() {
                        ft.row(vec![
                            i.to_string(),
                            fr.metric_id.to_string(),
                            match fr.value_type {
                                1 => "int32".into(),
                                2 => "float32".into(),
                                x => format!("unknown({x})"),
                            },
                            fr.point_count.to_string(),
                            fr.payload_len.to_string(),
                            fr.decoded_len.to_string(),
                            utc(fr.start_ts),
                            format_go_duration(fr.end_ts.saturating_sub(fr.start_ts)),
                        ]);
                    }
                    details.push_str(&ft.render());
                }
                t.row(vec![
                    ellipsize(&rel(&c, p)),
                    format!("v{}", s.version.number()),
                    bytes.to_string(),
                    s.time_frames.len().to_string(),
                    frames.to_string(),
                    s.distinct_metrics().to_string(),
                    s.points().to_string(),
                    avg.to_string(),
                    utc(s.min_ts),
                    format_go_duration(s.max_ts.saturating_sub(s.min_ts)),
                ]);
                files.push(f);
            }
            Err(e) => {
                errors = true;
                t.row(vec![
                    ellipsize(&rel(&c, p)),
                    "ERR".into(),
                    bytes.to_string(),
                    e.to_string(),
                ]);
                files
                    .push(json!({"path": rel(&c, p), "bytes": bytes, "scan_error": e.to_string()}));
            }
        }
    }
    if a.json {
        let v = json!({"root_dir": c.root, "database": c.db, "database_dir": c.dir, "files": files,
            "file_count": paths.len(), "total_bytes": tb, "total_frames": tf, "total_metrics": tm,
            "total_points": tp, "has_errors": errors, "generated_at": format_rfc3339(now_ns())});
        outln!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(ExitCode::SUCCESS);
    }
    outln!("Metric files for {}", c.db);
    outln!("Root: {}", c.root.display());
    outln!("DB dir: {}", c.dir.display());
    outln!(
        "summary: files={} bytes={tb} frames={tf} distinct_metrics={tm} points={tp}",
        paths.len()
    );
    if paths.is_empty() {
        outln!("no metric files discovered");
    } else {
        out!("{}", t.render());
        out!("{details}");
    }
    Ok(ExitCode::SUCCESS)
}
