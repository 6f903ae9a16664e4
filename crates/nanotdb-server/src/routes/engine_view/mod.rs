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

mod files;
mod shapes;

pub use files::files;
use files::{by_id, preview, preview_entry};
pub use shapes::{manifest_json, open_page_json, stats_json};

/// Records shown at each end of a WAL preview.
const PREVIEW: usize = 12;

/// The zero instant of Go's `time.Time`, shown for "never".
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

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

fn settings_json(engine: &Engine, web: &crate::web::config::WebSettings) -> Json {
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
        "web_enabled": web.enabled,
        "dashboard_path": web.base_path,
        "explore_path": web.explore_path,
        "engine_path": web.engine_path,
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
            "settings": settings_json(engine, &st.settings.web),
        }))
    })
    .await??;
    Ok(success(data))
}

/// Go `%g` formatting of a float32 sample (`1e+06`, `0.5`, `NaN`, `+Inf`).
pub fn go_g(f: f32) -> String {
    g_format(f64::from(f), format!("{f:e}"), || format!("{f}"))
}

/// [`go_g`] for a float64 value: shortest f64 digits.
pub fn go_g64(f: f64) -> String {
    g_format(f, format!("{f:e}"), || format!("{f}"))
}

/// The `%g` choice for `f`, from its shortest scientific form `sci` and its
/// plain form.
fn g_format(f: f64, sci: String, plain: impl FnOnce() -> String) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.into();
    }
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mant}e{sign}{:02}", exp.unsigned_abs())
    } else {
        plain()
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
                    Value::F64(f) => go_g64(f),
                    Value::I32(i) => i.to_string(),
                    Value::I64(i) => i.to_string(),
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
    /// `compact_metric` only: the layout to build.
    #[serde(default)]
    format: Option<String>,
}

async fn part_body(
    st: &SharedState,
    req: Request,
) -> Result<(String, String, Option<String>), ApiError> {
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
    Ok((db, part, b.format))
}

/// Error mapping of the maintenance routes (docs/BEHAVIOUR.md §2.9).
fn maintenance_error(e: &nanotdb::Error) -> ApiError {
    match e {
        nanotdb::Error::DatabaseNotFound(_) => ApiError::not_found(e.to_string()),
        nanotdb::Error::InvalidPartitionKey { .. } => ApiError::bad_data(e.to_string()),
        nanotdb::Error::DataFileActive { .. } => {
            ApiError::new(StatusCode::CONFLICT, "conflict", e.to_string())
        }
        nanotdb::Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            ApiError::not_found(e.to_string())
        }
        _ => {
            let msg = e.to_string();
            if msg.contains("required") {
                ApiError::bad_data(msg)
            } else {
                ApiError::execution(msg)
            }
        }
    }
}

/// `POST /api/engine/recompact` with `{"db","part"}`.
pub async fn recompact(State(st): State<SharedState>, req: Request) -> ApiResult {
    part_route(st, req, "engine_recompact", |e, db, part| {
        e.recompact_data_file(db, part).map(|r| json!(r))
    })
    .await
}

/// `POST /api/engine/compact_metric` with `{"db","part"}` and an optional
/// `"format"` (`v1`, `v2`, `v3`; default `[metrics].format`).
pub async fn compact_metric(State(st): State<SharedState>, req: Request) -> ApiResult {
    let (db, part, format) = part_body(&st, req).await?;
    let format = match format.as_deref().map(|f| f.trim().to_ascii_lowercase()) {
        None => None,
        Some(f) => Some(match f.as_str() {
            "v1" => nanotdb::metricfile::Version::V1,
            "v2" => nanotdb::metricfile::Version::V2,
            "v3" => nanotdb::metricfile::Version::V3,
            other => {
                return Err(ApiError::bad_data(format!(
                    "format must be v1, v2 or v3, got {other:?}"
                )));
            }
        }),
    };
    let report = blocking(move || {
        st.engine
            .compact_metric(&db, &part, format)
            .map(|r| json!(r))
    })
    .await?
    .map_err(|e| maintenance_error(&e))?;
    Ok(success(
        json!({"result": report, "resultType": "engine_compact_metric"}),
    ))
}

/// Runs a maintenance action on the `{"db","part"}` of the body and answers
/// with its report under `result_type`.
async fn part_route(
    st: SharedState,
    req: Request,
    result_type: &'static str,
    action: impl FnOnce(&Engine, &str, &str) -> nanotdb::Result<Json> + Send + 'static,
) -> ApiResult {
    let (db, part, _) = part_body(&st, req).await?;
    let report = blocking(move || action(&st.engine, &db, &part))
        .await?
        .map_err(|e| maintenance_error(&e))?;
    Ok(success(
        json!({"result": report, "resultType": result_type}),
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
