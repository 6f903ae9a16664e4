//! The engine view API (`/api/engine/…`, docs/BEHAVIOUR.md §2.9).
//!
//! Differences from the reference, on purpose: inspection never creates a
//! database (unknown → 404); `overview` and `runtime` without `db` never load
//! databases (unloaded ones are described from their files on disk); the
//! `internal` database is listed only with `include_internal=true`.

use std::path::Path;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value as Json, json};

use nanotdb::config::Manifest;
use nanotdb::inspect::WalRecordSummary;
use nanotdb::layout::{DbFile, DbFileKind, DbLayout, PartitionFileKind};
use nanotdb::stats::{DbStats, OpenPageStats, Tally};
use nanotdb::time::{format_go_duration, format_rfc3339};
use nanotdb::{Engine, MetricInfo, Value};

use crate::envelope::{ApiError, ApiResult, success, value_string};
use crate::params::{Params, bool_param, check_db};
use crate::{SharedState, blocking, limits};

/// Records shown at each end of a WAL preview.
const PREVIEW: usize = 12;

/// The zero instant of Go's `time.Time`, shown for "never".
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

fn instant(ns: i64) -> String {
    if ns == 0 {
        ZERO_TIME.to_string()
    } else {
        format_rfc3339(ns)
    }
}

fn list_or_null(v: &[String]) -> Json {
    if v.is_empty() { Json::Null } else { json!(v) }
}

/// `manifest` shape: durations of the top level as Go duration strings,
/// durations inside `rollups` as integer ns (Go struct marshalling).
pub fn manifest_json(m: &Manifest) -> Json {
    let r = &m.rollups;
    let jobs: Vec<Json> = r
        .jobs
        .iter()
        .map(|j| {
            json!({
                "ID": j.id,
                "SourceMetric": j.source_metric.clone().unwrap_or_default(),
                "SourcePattern": j.source_pattern.clone().unwrap_or_default(),
                "ExcludePatterns": list_or_null(&j.exclude_patterns),
                "Interval": j.interval_ns,
                "Aggregates": list_or_null(&j.aggregates),
                "DestinationDB": j.destination_db,
                "DestinationMetricPrefix": j.destination_metric_prefix,
                "Grace": j.grace_ns.unwrap_or(0),
            })
        })
        .collect();
    json!({
        "grace": format_go_duration(m.retention.grace_ns),
        "retention_days": m.retention.retention_days,
        "retention_action": m.retention.action.as_str(),
        "max_active_days": m.retention.max_active_days,
        "partition": m.retention.partition.to_string(),
        "wal_enabled": m.wal.enabled,
        "wal_skip_before": format_go_duration(m.wal.skip_before_ns),
        "page_max_records": m.page.max_records,
        "page_max_bytes": m.page.max_bytes,
        "page_max_age": format_go_duration(m.page.max_age_ns),
        "rollups": {
            "Enabled": r.enabled,
            "CheckpointFile": r.checkpoint_file,
            "DefaultGrace": r.default_grace_ns.unwrap_or(0),
            "DefaultInterval": r.default_interval_ns.unwrap_or(0),
            "DefaultDestinationDB": r.default_destination_db,
            "DefaultAggregates": list_or_null(&r.default_aggregates),
            "GlobalExcludePatterns": list_or_null(&r.global_exclude_patterns),
            "Jobs": if jobs.is_empty() { Json::Null } else { json!(jobs) },
        },
    })
}

/// `stats` shape from the engine counters (all zero for an unloaded database).
pub fn stats_json(s: Option<&DbStats>) -> Json {
    let c = s.map(|s| s.counters.clone()).unwrap_or_default();
    let wal_bytes = s.map_or(0, |s| s.wal_bytes);
    let t = |t: &Tally| (t.total, t.min, t.max);
    let (rec_total, rec_min, rec_max) = t(&c.flush_records);
    let (_, fb_min, fb_max) = t(&c.flush_frame_bytes);
    let (fd_total, fd_min, fd_max) = t(&c.flush_ns);
    let (sd_total, sd_min, sd_max) = t(&c.data_fsync_ns);
    let (wf_total, wf_min, wf_max) = t(&c.wal_fsync_ns);
    let (ww_total, ww_min, ww_max) = t(&c.wal_write_bytes);
    let (wr_total, wr_min, wr_max) = t(&c.wal_checkpoint_ns);
    let (wi_total, wi_min, wi_max) = t(&c.wal_write_interval_ns);
    let _ = rec_total;
    json!({
        "DataFile": {
            "FlushCount": c.flushes,
            "TotalFlushBytes": c.records_flushed * 14,
            "TotalFlushRecords": c.records_flushed,
            "TotalFlushCompressed": c.frame_bytes_written,
            "MinFlushBytes": rec_min * 14,
            "MaxFlushBytes": rec_max * 14,
            "MinFlushRecords": rec_min,
            "MaxFlushRecords": rec_max,
            "MinFlushCompressed": fb_min,
            "MaxFlushCompressed": fb_max,
            "FlushDurationTotal": fd_total,
            "MinFlushDuration": fd_min,
            "MaxFlushDuration": fd_max,
            "SyncCount": c.data_fsyncs,
            "SyncDurationTotal": sd_total,
            "MinSyncDuration": sd_min,
            "MaxSyncDuration": sd_max,
        },
        "WAL": {
            "AppendCount": c.wal_appends,
            "AppendBytes": c.wal_bytes_written,
            "BufferBytes": wal_bytes,
            "FsyncCount": c.wal_fsyncs,
            "FsyncDurationTotal": wf_total,
            "MinFsyncDuration": wf_min,
            "MaxFsyncDuration": wf_max,
            "FlushCount": c.wal_write_bytes.count,
            "FlushedBytes": ww_total,
            "MinFlushBytes": ww_min,
            "MaxFlushBytes": ww_max,
            "ResetDurationTotal": wr_total,
            "MinResetDuration": wr_min,
            "MaxResetDuration": wr_max,
            "LastAppendAt": instant(c.last_wal_append_ns),
            "LastFsyncAt": instant(c.last_wal_fsync_ns),
            "LastFlushAt": instant(c.last_wal_write_ns),
            "FlushIntervalCount": c.wal_write_interval_ns.count,
            "FlushIntervalTotal": wi_total,
            "MinFlushInterval": wi_min,
            "MaxFlushInterval": wi_max,
            "RecentFlushes": Json::Null,
        },
    })
}

/// Open page shape (`persisted: true` and zero figures for an open
/// partition without page).
pub fn open_page_json(p: &OpenPageStats) -> Json {
    json!({
        "day": p.key,
        "records": p.records,
        "metric_slots": p.unique_metrics,
        "unique_metrics": p.unique_metrics,
        "value_bytes": p.value_bytes,
        "start_timestamp_ns": p.start_ts,
        "end_timestamp_ns": p.end_ts,
        "max_records": p.max_records,
        "max_bytes": p.max_bytes,
        "max_age_ns": p.max_age_ns,
        "age_ns": p.age_ns,
        "wal_segment_id": u8::from(p.logged),
        "full": p.full,
        "persisted": !p.has_page,
        "logged": p.logged,
    })
}

/// Everything the summary of one database is made of.
struct DbView {
    name: String,
    manifest: Manifest,
    stats: Option<DbStats>,
    metric_count: usize,
    pages: Vec<OpenPageStats>,
    active: bool,
}

impl DbView {
    /// Gathers without loading: a loaded database from memory, another one
    /// from its files.
    fn gather(engine: &Engine, name: &str, active: bool) -> Result<DbView, ApiError> {
        let manifest = engine
            .manifest(name)
            .map_err(|e| ApiError::from_engine(&e))?;
        let stats = engine.loaded_stats(name);
        let metric_count = match &stats {
            Some(s) => s.metrics,
            None => {
                let path = DbLayout::new(engine.root(), name).catalog();
                nanotdb::catalog::Catalog::load(&path)
                    .map_err(|e| ApiError::execution(e.to_string()))?
                    .len()
            }
        };
        Ok(DbView {
            name: name.to_string(),
            manifest,
            stats,
            metric_count,
            pages: engine.open_pages(name),
            active,
        })
    }

    fn runtime(&self) -> Json {
        json!({
            "database": self.name,
            "metric_count": self.metric_count,
            "manifest": manifest_json(&self.manifest),
            "stats": stats_json(self.stats.as_ref()),
            "open_pages": self.pages.iter().map(open_page_json).collect::<Vec<_>>(),
        })
    }

    fn summary(&self, files: &[DbFile]) -> Json {
        let (mut data_files, mut data_bytes, mut wal_files, mut wal_bytes) =
            (0u64, 0u64, 0u64, 0u64);
        for f in files {
            if f.name.ends_with(".dat") {
                data_files += 1;
                data_bytes += f.len;
            } else if f.kind == DbFileKind::Wal {
                wal_files += 1;
                wal_bytes += f.len;
            }
        }
        json!({
            "name": self.name,
            "metric_count": self.metric_count,
            "manifest": manifest_json(&self.manifest),
            "stats": stats_json(self.stats.as_ref()),
            "open_pages": self.pages.len(),
            "data_files": data_files,
            "data_bytes": data_bytes,
            "wal_files": wal_files,
            "wal_bytes": wal_bytes,
            "active": self.active,
            "runtime": self.runtime(),
        })
    }
}

fn required_db(p: &Params) -> Result<String, ApiError> {
    let db = p
        .get_trimmed("db")
        .ok_or_else(|| ApiError::bad_data("missing db parameter"))?
        .to_string();
    check_db(&db)?;
    Ok(db)
}

/// Database names to list: everything on disk plus the loaded ones,
/// `internal` only when asked for.
fn listed_names(engine: &Engine, internal: bool) -> Result<Vec<String>, ApiError> {
    let mut names = engine
        .databases()
        .map_err(|e| ApiError::execution(e.to_string()))?;
    if !internal {
        names.retain(|n| n != "internal");
    }
    Ok(names)
}

fn settings_json(engine: &Engine) -> Json {
    let c = engine.config();
    let d = &c.manifest_defaults;
    json!({
        "listen": c.listen,
        "wal_max_segment_size": c.wal.max_segment_size,
        "wal_fsync_policy": c.wal.fsync_policy.as_str(),
        "durability_profile": c.durability.as_str(),
        "sync_data_file": c.durability.fsync_data(),
        "sync_catalog": c.durability.write_catalog_per_frame(),
        "stats_enabled": c.stats.enabled,
        "stats_interval": format_go_duration(c.stats.interval_ns),
        "web_enabled": false,
        "dashboard_path": "/dashboard",
        "explore_path": "/explore",
        "engine_path": "/engine",
        "default_wal_enabled": d.wal.enabled,
        "default_wal_skip_before": format_go_duration(d.wal.skip_before_ns),
        "default_retention_days": d.retention.retention_days,
        "default_max_active_days": d.retention.max_active_days,
        "default_partition": d.retention.partition.to_string(),
        "default_page_max_records": d.page.max_records,
        "default_page_max_bytes": d.page.max_bytes,
        "default_page_max_age": format_go_duration(d.page.max_age_ns),
        "default_grace": format_go_duration(d.retention.grace_ns),
    })
}

/// `GET /api/engine/overview[?include_internal=bool]`.
pub async fn overview(State(st): State<SharedState>, p: Params) -> ApiResult {
    let internal = bool_param(&p, "include_internal")?;
    let data = blocking(move || -> Result<Json, ApiError> {
        let engine = &st.engine;
        let mut result = Vec::new();
        for name in listed_names(engine, internal)? {
            let v = DbView::gather(engine, &name, engine.is_loaded(&name))?;
            result.push(v.summary(&engine.db_files(&name).unwrap_or_default()));
        }
        Ok(json!({
            "result": result,
            "resultType": "engine_overview",
            "settings": settings_json(engine),
        }))
    })
    .await??;
    Ok(success(data))
}

/// Go `%g` formatting of a float32 sample (`1e+06`, `0.5`, `NaN`, `+Inf`).
pub fn go_g(f: f32) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.into();
    }
    let sci = format!("{f:e}");
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mant}e{sign}{:02}", exp.unsigned_abs())
    } else {
        format!("{f}")
    }
}

/// `GET /api/engine/database?db=`.
pub async fn database(State(st): State<SharedState>, p: Params) -> ApiResult {
    let db = required_db(&p)?;
    let data = blocking(move || -> Result<Json, ApiError> {
        let engine = &st.engine;
        let active = engine.is_loaded(&db);
        let metrics = engine.metrics(&db).map_err(|e| ApiError::from_engine(&e))?;
        let v = DbView::gather(engine, &db, active)?;
        let mut list = Vec::with_capacity(metrics.len());
        for m in &metrics {
            let mut item = json!({"name": m.name, "id": m.id, "type": m.value_type.as_str()});
            if let Ok(Some(s)) = engine.query_last(&db, &m.name) {
                item["last_timestamp"] = json!(format_rfc3339(s.ts));
                item["last_timestamp_ns"] = json!(s.ts);
                item["last_value"] = json!(match s.value {
                    Value::F32(f) => go_g(f),
                    Value::I32(i) => i.to_string(),
                });
            }
            list.push(item);
        }
        Ok(json!({
            "result": {"summary": v.summary(&engine.db_files(&db).unwrap_or_default()), "metrics": list},
            "resultType": "engine_database",
        }))
    })
    .await??;
    Ok(success(data))
}

/// A WAL record as the preview shows it.
fn preview_entry(
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

fn preview(entries: Vec<Json>) -> Json {
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
fn by_id(metrics: &[MetricInfo]) -> Vec<Option<&MetricInfo>> {
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

fn opt_ts(out: &mut Json, prefix: &str, min: Option<i64>, max: Option<i64>) {
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

/// A figure from `/proc/self/status` in bytes (`VmRSS:  1234 kB`) or as a
/// plain count (`Threads: 7`); 0 when unavailable.
fn proc_status(status: &str, key: &str) -> u64 {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|rest| {
            let mut it = rest.split_whitespace();
            let n: u64 = it.next()?.parse().ok()?;
            Some(if it.next() == Some("kB") { n * 1024 } else { n })
        })
        .unwrap_or(0)
}

/// `GET /api/engine/runtime[?db=][&include_internal=bool]`.
pub async fn runtime(State(st): State<SharedState>, p: Params) -> ApiResult {
    if let Some(db) = p.get_trimmed("db") {
        let db = db.to_string();
        check_db(&db)?;
        return runtime_db(st, db).await;
    }
    let internal = bool_param(&p, "include_internal")?;
    let data = blocking(move || -> Result<Json, ApiError> {
        let engine = &st.engine;
        let names = listed_names(engine, internal)?;
        let mut active = 0usize;
        let mut metric_count = 0usize;
        let mut pages: Vec<(String, OpenPageStats)> = Vec::new();
        for name in &names {
            let v = DbView::gather(engine, name, engine.is_loaded(name))?;
            active += usize::from(v.active);
            metric_count += v.metric_count;
            pages.extend(v.pages.into_iter().map(|p| (name.clone(), p)));
        }
        pages.sort_by(|a, b| (&a.0, &a.1.key, a.1.start_ts).cmp(&(&b.0, &b.1.key, b.1.start_ts)));
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let rss = nanotdb::stats::process_rss_bytes().unwrap_or(0);
        let anon = proc_status(&status, "RssAnon");
        let data_seg = proc_status(&status, "VmData");
        let stack = proc_status(&status, "VmStk");
        let now = nanotdb::time::now_ns();
        Ok(json!({
            "result": {
                "database_count": names.len(),
                "active_database_count": active,
                "metric_count": metric_count,
                "process": {
                    "started_at": format_rfc3339(st.started_ns),
                    "age_seconds": (now - st.started_ns) as f64 / 1e9,
                    "rss_bytes": rss,
                    "num_goroutine": proc_status(&status, "Threads"),
                    "num_cpu": std::thread::available_parallelism().map_or(1, |n| n.get()),
                },
                "go_mem": {
                    "alloc_bytes": anon,
                    "total_alloc_bytes": anon,
                    "sys_bytes": rss,
                    "heap_alloc_bytes": anon,
                    "heap_sys_bytes": data_seg,
                    "heap_inuse_bytes": anon,
                    "heap_idle_bytes": 0,
                    "stack_inuse_bytes": stack,
                    "stack_sys_bytes": stack,
                    "next_gc_bytes": 0,
                    "num_gc": 0,
                    "gc_cpu_fraction": 0.0,
                    "last_gc_at": ZERO_TIME,
                },
                "open_pages": pages.iter().map(|(db, p)| {
                    let mut j = open_page_json(p);
                    j["database"] = json!(db);
                    j
                }).collect::<Vec<_>>(),
            },
            "resultType": "engine_runtime_overview",
        }))
    })
    .await??;
    Ok(success(data))
}

async fn runtime_db(st: SharedState, db: String) -> ApiResult {
    let data = blocking(move || -> Result<Json, ApiError> {
        let engine = &st.engine;
        let active = engine.is_loaded(&db);
        // Loads an existing database (404 otherwise, nothing created).
        let wal = engine
            .inspect_wal(&db)
            .map_err(|e| ApiError::from_engine(&e))?;
        let metrics = engine.metrics(&db).map_err(|e| ApiError::from_engine(&e))?;
        let types = by_id(&metrics);
        let v = DbView::gather(engine, &db, active)?;
        let entries: Vec<Json> = wal
            .record_list
            .iter()
            .enumerate()
            .map(|(i, r)| preview_entry(i, 0, 0, r, &types))
            .collect();
        Ok(json!({
            "result": {"runtime": v.runtime(), "wal_preview": preview(entries)},
            "resultType": "engine_runtime",
        }))
    })
    .await??;
    Ok(success(data))
}

/// Body of the two maintenance routes.
#[derive(Debug, Deserialize)]
struct PartBody {
    #[serde(default)]
    db: String,
    #[serde(default)]
    part: String,
}

async fn part_body(st: &SharedState, req: Request) -> Result<(String, String), ApiError> {
    let (parts, body) = req.into_parts();
    let body = limits::read_body(&parts.headers, body, st.settings.max_body_bytes).await?;
    let b: PartBody = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_data(format!("invalid JSON body: {e}")))?;
    let (db, part) = (b.db.trim().to_string(), b.part.trim().to_string());
    if db.is_empty() {
        return Err(ApiError::bad_data("database is required"));
    }
    if part.is_empty() {
        return Err(ApiError::bad_data("part is required"));
    }
    check_db(&db)?;
    Ok((db, part))
}

/// Error mapping of the maintenance routes (docs/BEHAVIOUR.md §2.9).
fn maintenance_error(e: &nanotdb::Error) -> ApiError {
    match e {
        nanotdb::Error::DatabaseNotFound(_) => ApiError::not_found(e.to_string()),
        nanotdb::Error::DataFileActive { .. } => {
            ApiError::new(StatusCode::CONFLICT, "conflict", e.to_string())
        }
        nanotdb::Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            ApiError::not_found(e.to_string())
        }
        _ => {
            let msg = e.to_string();
            if msg.contains("required")
                || msg.contains("invalid partition key")
                || msg.contains("does not match database partitioning")
            {
                ApiError::bad_data(msg)
            } else {
                ApiError::execution(msg)
            }
        }
    }
}

/// `POST /api/engine/recompact` with `{"db","part"}`.
pub async fn recompact(State(st): State<SharedState>, req: Request) -> ApiResult {
    let (db, part) = part_body(&st, req).await?;
    let report = blocking(move || st.engine.recompact_data_file(&db, &part))
        .await?
        .map_err(|e| maintenance_error(&e))?;
    Ok(success(
        json!({"result": report, "resultType": "engine_recompact"}),
    ))
}

/// `POST /api/engine/compact_metric` with `{"db","part"}`.
pub async fn compact_metric(State(st): State<SharedState>, req: Request) -> ApiResult {
    let (db, part) = part_body(&st, req).await?;
    let report = blocking(move || st.engine.compact_metric(&db, &part))
        .await?
        .map_err(|e| maintenance_error(&e))?;
    Ok(success(
        json!({"result": report, "resultType": "engine_compact_metric"}),
    ))
}

/// The read-only engine view routes.
pub fn routes() -> axum::Router<crate::SharedState> {
    use axum::routing::get;
    let g =
        |r: axum::routing::MethodRouter<SharedState>| r.fallback(crate::app::method_not_allowed);
    axum::Router::new()
        .route("/api/engine/overview", g(get(overview)))
        .route("/api/engine/database", g(get(database)))
        .route("/api/engine/files", g(get(files)))
        .route("/api/engine/runtime", g(get(runtime)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_percent_g() {
        assert_eq!(go_g(1e6), "1e+06");
        assert_eq!(go_g(123456.0), "123456");
        assert_eq!(go_g(1234567.0), "1.234567e+06");
        assert_eq!(go_g(0.5), "0.5");
        assert_eq!(go_g(0.0001), "0.0001");
        assert_eq!(go_g(0.00001), "1e-05");
        assert_eq!(go_g(21.5), "21.5");
        assert_eq!(go_g(-2.5e-7), "-2.5e-07");
        assert_eq!(go_g(f32::NAN), "NaN");
        assert_eq!(go_g(f32::NEG_INFINITY), "-Inf");
        assert_eq!(go_g(0.0), "0");
    }

    #[test]
    fn proc_status_fields() {
        let s = "Name:\tx\nVmRSS:\t  2048 kB\nThreads:\t7\n";
        assert_eq!(proc_status(s, "VmRSS"), 2048 * 1024);
        assert_eq!(proc_status(s, "Threads"), 7);
        assert_eq!(proc_status(s, "VmStk"), 0);
    }
}
