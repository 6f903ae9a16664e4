//! `inspect db`: a database's catalog, manifest, data and WAL in one report.

use super::files::{dat_json, dat_tables, wal_json, wal_table};
use super::*;

#[derive(Serialize)]
struct CatalogBlock {
    path: PathBuf,
    exists: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    parse_error: Option<String>,
    metrics_count: usize,
    int32_count: usize,
    float32_count: usize,
    /// The 8-byte types (docs/FORMATS.md §5.5), shown only when present.
    #[serde(skip_serializing_if = "is_zero")]
    float64_count: usize,
    #[serde(skip_serializing_if = "is_zero")]
    int64_count: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// `manifest.toml` as read for the report.
struct ManifestBlock {
    path: PathBuf,
    exists: bool,
    config: Option<nanotdb::config::RawManifestView>,
    error: Option<String>,
}

/// Everything `inspect db` shows, gathered once for both output formats.
struct DbReport {
    cat: CatalogBlock,
    manifest: ManifestBlock,
    dats: Vec<(PathBuf, std::result::Result<DataFileReport, String>)>,
    wals: Vec<(PathBuf, std::result::Result<WalFileReport, String>)>,
    /// Totals of the data files (`files`, `total_bytes`, …, time range).
    data: Json,
    /// Totals of the WAL files.
    wal: Json,
    dat_json: Json,
    wal_json: Json,
    range: Option<(i64, i64)>,
}

fn catalog_block(c: &Ctx) -> CatalogBlock {
    let path = c.layout.catalog();
    let mut cat = CatalogBlock {
        exists: path.is_file(),
        path,
        parse_error: None,
        metrics_count: 0,
        int32_count: 0,
        float32_count: 0,
        float64_count: 0,
        int64_count: 0,
    };
    if cat.exists {
        match Catalog::load(&cat.path) {
            Ok(cl) => {
                let m = cl.metrics_sorted();
                cat.metrics_count = m.len();
                let count = |t| m.iter().filter(|m| m.value_type == t).count();
                cat.int32_count = count(nanotdb::ValueType::Int32);
                cat.float32_count = count(nanotdb::ValueType::Float32);
                cat.float64_count = count(nanotdb::ValueType::Float64);
                cat.int64_count = count(nanotdb::ValueType::Int64);
            }
            Err(e) => cat.parse_error = Some(e.to_string()),
        }
    }
    cat
}

fn manifest_block(c: &Ctx) -> ManifestBlock {
    let path = c.layout.manifest();
    let exists = path.is_file();
    let (config, error) = if exists {
        match nanotdb::config::read_raw_manifest(&path) {
            Ok(m) => (Some(m), None),
            Err(e) => (None, Some(e.to_string())),
        }
    } else {
        (None, None)
    };
    ManifestBlock {
        path,
        exists,
        config,
        error,
    }
}

impl DbReport {
    fn gather(c: &Ctx, verbose: bool) -> Result<DbReport> {
        let cat = catalog_block(c);
        let manifest = manifest_block(c);
        let dats: Vec<_> = raw_files(c).iter().map(|p| scan_dat(p)).collect();
        let wals: Vec<_> = wal_files(c).iter().map(|p| scan_wal(p, false)).collect();
        if !c.dir.is_dir() {
            bail!("database directory not found: {}", c.dir.display());
        }
        let dj = dat_json(c, &dats, verbose);
        let wj = wal_json(c, &wals, false);
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
        let range = min_ts.zip(max_ts);
        if let Some((a, b)) = range {
            data["min_timestamp_ns"] = json!(a);
            data["max_timestamp_ns"] = json!(b);
            data["min_utc"] = json!(utc(a));
            data["max_utc"] = json!(utc(b));
        }
        let wal = json!({"files": wj["file_count"], "total_bytes": wj["total_bytes"],
            "total_records": wj["total_records"], "has_tail": wj["has_tail"]});
        Ok(DbReport {
            cat,
            manifest,
            dats,
            wals,
            data,
            wal,
            dat_json: dj,
            wal_json: wj,
            range,
        })
    }
}

pub(super) fn db(a: Args) -> Result<ExitCode> {
    let c = ctx(&a.at.root, &a.at.db)?;
    let r = DbReport::gather(&c, a.verbose)?;
    if a.json {
        print_json(&c, &r, a.verbose)?;
    } else {
        print_human(&c, &r, a.verbose);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_json(c: &Ctx, r: &DbReport, verbose: bool) -> Result<()> {
    let m = &r.manifest;
    let mut manifest = json!({"path": m.path, "exists": m.exists});
    if let Some(e) = &m.error {
        manifest["parse_error"] = json!(e);
    }
    if let Some(cfg) = &m.config {
        manifest["config"] = serde_json::to_value(cfg)?;
    }
    let mut v = json!({"root_dir": c.root, "database": c.db, "database_dir": c.dir,
        "engine_config": layout::engine_config(&c.root), "catalog": r.cat, "manifest": manifest,
        "data": r.data, "wal": r.wal, "verbose": verbose, "generated_at": format_rfc3339(now_ns())});
    if verbose {
        v["data_detail"] = r.dat_json["files"].clone();
        v["wal_detail"] = r.wal_json["files"].clone();
    }
    outln!("{}", serde_json::to_string_pretty(&v)?);
    Ok(())
}

fn print_human(c: &Ctx, r: &DbReport, verbose: bool) {
    outln!("Database: {}", c.db);
    outln!("Root: {}", c.root.display());
    outln!("DB dir: {}", c.dir.display());
    outln!(
        "Engine config: {}",
        layout::engine_config(&c.root).display()
    );
    let cat = &r.cat;
    outln!("\nCatalog");
    outln!("  path: {}", cat.path.display());
    outln!("  exists: {}", cat.exists);
    outln!(
        "  parse_error: {}",
        cat.parse_error.as_deref().unwrap_or("-")
    );
    let wide = if cat.float64_count + cat.int64_count > 0 {
        format!(" float64={} int64={}", cat.float64_count, cat.int64_count)
    } else {
        String::new()
    };
    outln!(
        "  metrics: total={} int32={} float32={}{wide}",
        cat.metrics_count,
        cat.int32_count,
        cat.float32_count
    );
    print_manifest(&r.manifest);
    print_data(c, r);
    let walj = &r.wal;
    outln!("\nWAL");
    outln!(
        "  files={} bytes={} records={} tail_present={}",
        walj["files"],
        walj["total_bytes"],
        walj["total_records"],
        walj["has_tail"]
    );
    if verbose {
        outln!("\nData Detail");
        out!("{}", dat_tables(c, &r.dats, true));
        outln!("\nWAL Detail");
        out!("{}", wal_table(c, &r.wals, true));
    }
}

fn print_manifest(m: &ManifestBlock) {
    outln!("\nManifest");
    outln!("  path: {}", m.path.display());
    outln!("  exists: {}", m.exists);
    outln!("  parse_error: {}", m.error.as_deref().unwrap_or("-"));
    if let Some(m) = &m.config {
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
}

fn print_data(c: &Ctx, r: &DbReport) {
    let data = &r.data;
    outln!("\nData");
    out!(
        "  files={} bytes={} frames={} records={}",
        data["files"],
        data["total_bytes"],
        data["total_frames"],
        data["total_records"]
    );
    if let Some((a, b)) = r.range {
        out!(
            " start={} duration={}",
            utc(a),
            format_go_duration(b.saturating_sub(a))
        );
    }
    outln!();
    for (p, r) in &r.dats {
        if let Ok(r) = r
            && let Some(d) = &r.damage
        {
            outln!(
                "  damage: {} at offset {} (frame {}): {}; {} intact frames ({} records) readable, {} bytes after",
                rel(c, p),
                d.offset,
                d.index,
                d.reason,
                r.frames.len(),
                r.records,
                d.bytes
            );
        }
    }
}
