//! `GET /api/engine/files`: the files of a database with frame tables and a
//! WAL preview.

use super::*;

/// A WAL record as the preview shows it.
pub(super) fn preview_entry(
    index: usize,
    offset: u64,
    record_bytes: u64,
    r: &WalRecordSummary,
    types: &[Option<&MetricInfo>],
) -> Json {
    let info = types.get(usize::from(r.metric_id)).copied().flatten();
    let name = r.name.clone().or_else(|| info.map(|m| m.name.clone()));
    let (vt, value) = match info.map(|m| m.value_type) {
        Some(vt) => (
            vt.as_str().to_string(),
            value_string(Value::from_bits(vt, r.value_bits)),
        ),
        None => ("unknown".to_string(), r.value_bits.to_string()),
    };
    let mut e = json!({
        "index": index,
        "offset": offset,
        "record_bytes": record_bytes,
        "segment_id": 1,
        "metric_id": r.metric_id,
        "timestamp_ns": r.ts,
        "timestamp": format_rfc3339(r.ts),
        "value_type": vt,
        "value": value,
    });
    if let Some(n) = name {
        e["metric_name"] = json!(n);
    }
    e
}

pub(super) fn preview(entries: Vec<Json>) -> Json {
    let total = entries.len();
    let mut out = json!({"total": total});
    if total > 0 {
        out["first"] = json!(entries[..total.min(PREVIEW)]);
    }
    if total > PREVIEW {
        out["last"] = json!(entries[total - PREVIEW..]);
    }
    out
}

/// Catalog entries indexed by metric id.
pub(super) fn by_id(metrics: &[MetricInfo]) -> Vec<Option<&MetricInfo>> {
    let mut v: Vec<Option<&MetricInfo>> = Vec::new();
    for m in metrics {
        let i = usize::from(m.id);
        if v.len() <= i {
            v.resize(i + 1, None);
        }
        v[i] = Some(m);
    }
    v
}

pub(super) fn opt_ts(out: &mut Json, prefix: &str, min: Option<i64>, max: Option<i64>) {
    if let (Some(a), Some(b)) = (min, max) {
        out[format!("min_{prefix}")] = json!(a);
        out[format!("max_{prefix}")] = json!(b);
        out["min_utc"] = json!(format_rfc3339(a));
        out["max_utc"] = json!(format_rfc3339(b));
    }
}

/// `GET /api/engine/files?db=[&data_file=<path or name>]`.
pub async fn files(State(st): State<SharedState>, p: Params) -> ApiResult {
    let db = p
        .get_trimmed("db")
        .map(|d| d.trim_matches('/').to_string())
        .filter(|d| !d.is_empty())
        .ok_or_else(|| ApiError::bad_data("missing db parameter"))?;
    check_db(&db)?;
    let wanted = p.get_trimmed("data_file").map(str::to_string);
    let data = blocking(move || -> Result<Json, ApiError> {
        let engine = &st.engine;
        let metrics = engine.metrics(&db).map_err(|e| ApiError::from_engine(&e))?;
        let types = by_id(&metrics);
        let active: Vec<String> = engine
            .open_pages(&db)
            .into_iter()
            .filter(|p| p.has_page)
            .map(|p| p.key)
            .collect();
        let listing = engine.db_files(&db).map_err(|e| ApiError::from_engine(&e))?;
        let data_names: Vec<&String> = listing
            .iter()
            .filter(|f| matches!(f.kind, DbFileKind::Partition(PartitionFileKind::Data, _)))
            .map(|f| &f.name)
            .collect();
        let selected: Option<&String> = match &wanted {
            None => data_names.first().copied(),
            Some(w) => {
                let hit = data_names.iter().copied().find(|n| {
                    let full = DbLayout::new(engine.root(), &db).dir().join(n);
                    w == *n || Path::new(w) == full || w.ends_with(&format!("/{n}"))
                });
                Some(hit.ok_or_else(|| ApiError::not_found(format!("data file not found: {w}")))?)
            }
        };
        let mut data = Vec::new();
        let mut metric = Vec::new();
        let mut wal = Vec::new();
        let mut wal_preview = Json::Null;
        for DbFile {
            name,
            path,
            len,
            kind,
        } in &listing
        {
            let path_s = path.display().to_string();
            if let DbFileKind::Partition(PartitionFileKind::Data, part) = kind {
                let mut e = json!({"path": path_s, "part": part, "active": active.iter().any(|a| a == part),
                    "bytes": len, "frames": 0, "records": 0, "pages": null});
                match nanotdb::inspect::data_file(path) {
                    Ok(r) => {
                        e["bytes"] = json!(r.bytes);
                        e["frames"] = json!(r.frames.len());
                        e["records"] = json!(r.records);
                        opt_ts(&mut e, "timestamp_ns", r.min_ts, r.max_ts);
                        if let Some(d) = &r.damage {
                            e["scan_error"] = json!(format!("offset {}: {}", d.offset, d.reason));
                        }
                        if selected == Some(name) {
                            let pages: Vec<Json> = r
                                .frames
                                .iter()
                                .map(|f| {
                                    json!({
                                        "index": f.index,
                                        "offset": f.offset,
                                        "frame_bytes": f.frame_bytes,
                                        "compressed_len": f.compressed_len,
                                        "uncompressed_len": f.records * 14,
                                        "records": f.records,
                                        "start_timestamp_ns": f.start_ts,
                                        "end_timestamp_ns": f.end_ts,
                                        "duration_ns": f.end_ts.saturating_sub(f.start_ts),
                                        "avg_disk_bytes_per_point": if f.records == 0 { 0.0 } else { f.frame_bytes as f64 / f.records as f64 },
                                        "start_utc": format_rfc3339(f.start_ts),
                                        "end_utc": format_rfc3339(f.end_ts),
                                    })
                                })
                                .collect();
                            e["pages"] = json!(pages);
                        }
                    }
                    Err(err) => e["scan_error"] = json!(err.to_string()),
                }
                data.push(e);
            } else if let DbFileKind::Partition(PartitionFileKind::Metric, part) = kind {
                let mut e = json!({"path": path_s, "part": part, "bytes": len, "frames": 0,
                    "distinct_metrics": 0, "points": 0});
                match nanotdb::metricfile::MetricFile::open(path) {
                    Ok(mf) => {
                        let s = mf.summary();
                        let frames = s.frames.len() as u64;
                        e["version"] = json!(s.version.number());
                        e["frames"] = json!(frames);
                        e["distinct_metrics"] = json!(s.distinct_metrics());
                        e["points"] = json!(s.points());
                        if let Some(avg) = s.payload_bytes().checked_div(frames) {
                            e["avg_payload_bytes"] = json!(avg);
                        }
                        opt_ts(&mut e, "timestamp_ns", Some(s.min_ts), Some(s.max_ts));
                    }
                    Err(err) => e["scan_error"] = json!(err.to_string()),
                }
                metric.push(e);
            } else if *kind == DbFileKind::Wal {
                let mut e = json!({"path": path_s, "bytes": len, "records": 0, "decoded_bytes": 0, "has_tail": false});
                match nanotdb::inspect::wal_file(path, true) {
                    Ok(r) => {
                        e["records"] = json!(r.records);
                        e["decoded_bytes"] = json!(r.decoded_bytes);
                        opt_ts(&mut e, "timestamp_ns", r.min_ts, r.max_ts);
                        if let Some(s) = &r.stop {
                            e["has_tail"] = json!(true);
                            e["tail_bytes"] = json!(s.bytes);
                            e["stop_offset"] = json!(s.offset);
                            e["stop_reason"] = json!(s.reason);
                        }
                        if wal_preview.is_null() {
                            let recs = &r.record_list;
                            let mut entries: Vec<(i64, Json)> = recs
                                .iter()
                                .enumerate()
                                .map(|(i, rec)| {
                                    let end = recs.get(i + 1).map_or(r.decoded_bytes, |n| n.offset);
                                    (rec.ts, preview_entry(i, rec.offset, end.saturating_sub(rec.offset), rec, &types))
                                })
                                .collect();
                            entries.sort_by_key(|(ts, _)| *ts);
                            wal_preview = preview(entries.into_iter().map(|(_, e)| e).collect());
                        }
                    }
                    Err(err) => e["scan_error"] = json!(err.to_string()),
                }
                wal.push(e);
            }
        }
        if wal_preview.is_null() {
            wal_preview = preview(Vec::new());
        }
        Ok(json!({
            "result": {"database": db, "data": data, "metric": metric, "wal": wal, "record_preview": wal_preview},
            "resultType": "engine_files",
        }))
    })
    .await??;
    Ok(success(data))
}
