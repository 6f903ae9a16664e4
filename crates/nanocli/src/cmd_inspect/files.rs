//! `inspect dat` and `inspect wal`: frame and record listings.

use super::*;

/// One data file's scan, or the error that prevented it.
pub(super) fn scan_dat(p: &Path) -> (PathBuf, std::result::Result<DataFileReport, String>) {
    (
        p.to_path_buf(),
        inspect::data_file(p).map_err(|e| e.to_string()),
    )
}

pub(super) fn dat_json(
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

pub(super) fn dat_tables(
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

pub(super) fn dat(a: Args) -> Result<ExitCode> {
    let c = ctx(&a.at.root, &a.at.db)?;
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

pub(super) fn scan_wal(
    p: &Path,
    verbose: bool,
) -> (PathBuf, std::result::Result<WalFileReport, String>) {
    (
        p.to_path_buf(),
        inspect::wal_file(p, verbose).map_err(|e| e.to_string()),
    )
}

pub(super) fn wal_json(
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

pub(super) fn wal_table(
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

pub(super) fn wal(a: Args) -> Result<ExitCode> {
    let c = ctx(&a.at.root, &a.at.db)?;
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
