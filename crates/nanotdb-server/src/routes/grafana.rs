//! The Prometheus API subset Grafana's Prometheus data source uses to connect
//! and browse: build info, labels, label values, series, and the empty
//! metadata, exemplar and rule answers. Series have the labels PromQL gives
//! them (docs/BEHAVIOUR.md §2.6): their own, plus `db` across databases.

use std::collections::BTreeSet;
use std::ops::ControlFlow;

use axum::extract::{Path, State};
use nanotdb_promql::{EngineStorage, LabelMatcher, MatchOp, SeriesRef, Storage};
use serde_json::json;

use crate::envelope::{ApiError, ApiResult, success};
use crate::params::{Params, parse_time};
use crate::{SharedState, blocking};

/// `GET /api/v1/status/buildinfo`.
pub async fn buildinfo() -> ApiResult {
    Ok(success(json!({
        "version": "2.40.0",
        "revision": "nanotdb",
        "branch": "nanotdb",
        "buildUser": "nanotdb",
        "buildDate": "",
        "goVersion": "none",
        "application": "nanotdb",
        "nanotdbVersion": env!("CARGO_PKG_VERSION"),
    })))
}

/// The series a discovery request is about, with the labels PromQL gives
/// them: those matching any `match[]` selector (every series without one),
/// in the `db` parameter's database or in every database but `internal`
/// with a `db` label; with `start` or `end`, only series with a sample in
/// that range.
fn matched_series(st: &SharedState, p: &Params) -> Result<Vec<SeriesRef>, ApiError> {
    let mut selectors = Vec::new();
    for m in p.get_all("match[]") {
        selectors.push(
            nanotdb_promql::selector_matchers(m)
                .map_err(|e| ApiError::bad_data(format!("invalid match[] {m:?}: {e}")))?,
        );
    }
    if selectors.is_empty() {
        let all = LabelMatcher::new("__name__", MatchOp::Regex, ".+")
            .map_err(|e| ApiError::execution(e.to_string()))?;
        selectors.push(vec![all]);
    }
    let db = p.get_trimmed("db").map(str::to_string);
    if let Some(db) = &db {
        crate::params::check_db(db)?;
        if !st.engine.databases()?.iter().any(|d| d == db) {
            return Err(ApiError::not_found(format!("database not found: {db}")));
        }
    }
    let storage = EngineStorage::new(&st.engine, db);
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for sel in &selectors {
        for s in storage
            .select(sel)
            .map_err(|e| ApiError::execution(e.to_string()))?
        {
            if seen.insert(s.key.clone()) {
                out.push(s);
            }
        }
    }
    let range = |name: &str| -> Result<Option<i64>, ApiError> {
        p.get_trimmed(name)
            .map(|t| {
                parse_time(t)
                    .map(|ns| ns.div_euclid(1_000_000))
                    .map_err(|e| ApiError::bad_data(format!("invalid parameter \"{name}\": {e}")))
            })
            .transpose()
    };
    let (start, end) = (range("start")?, range("end")?);
    if start.is_some() || end.is_some() {
        let (t0, t1) = (
            start.unwrap_or(i64::MIN / 2_000_000),
            end.unwrap_or(i64::MAX / 2_000_000),
        );
        let mut kept = Vec::with_capacity(out.len());
        for s in out {
            let mut any = false;
            storage
                .read(&s, t0, t1, &mut |_, _| {
                    any = true;
                    ControlFlow::Break(())
                })
                .map_err(|e| ApiError::execution(e.to_string()))?;
            if any {
                kept.push(s);
            }
        }
        out = kept;
    }
    out.sort_by(|a, b| a.labels.cmp(&b.labels));
    Ok(out)
}

/// `GET|POST /api/v1/labels`: the label names of the matched series.
pub async fn labels(State(st): State<SharedState>, p: Params) -> ApiResult {
    let st2 = st.clone();
    let series = blocking(move || matched_series(&st2, &p)).await??;
    let names: BTreeSet<&str> = series
        .iter()
        .flat_map(|s| s.labels.pairs().iter().map(|(k, _)| k.as_str()))
        .collect();
    Ok(success(json!(names)))
}

/// `GET|POST /api/v1/label/{name}/values`: that label's values over the
/// matched series.
pub async fn label_values(
    State(st): State<SharedState>,
    Path(name): Path<String>,
    p: Params,
) -> ApiResult {
    let st2 = st.clone();
    let series = blocking(move || matched_series(&st2, &p)).await??;
    let values: BTreeSet<&str> = series
        .iter()
        .map(|s| s.labels.get(&name))
        .filter(|v| !v.is_empty())
        .collect();
    if values.len() > st.settings.max_series_per_query {
        return Err(ApiError::too_large(format!(
            "more than {} values (max_series_per_query)",
            st.settings.max_series_per_query
        )));
    }
    Ok(success(json!(values)))
}

/// `GET|POST /api/v1/series?match[]=…`: the matched series' label sets.
pub async fn series(State(st): State<SharedState>, p: Params) -> ApiResult {
    let max = st.settings.max_series_per_query;
    let st2 = st.clone();
    let series = blocking(move || matched_series(&st2, &p)).await??;
    if series.len() > max {
        return Err(ApiError::too_large(format!(
            "more than {max} series match (max_series_per_query)"
        )));
    }
    let out: Vec<serde_json::Map<String, serde_json::Value>> = series
        .iter()
        .map(|s| {
            s.labels
                .pairs()
                .iter()
                .map(|(k, v)| (k.clone(), json!(v)))
                .collect()
        })
        .collect();
    Ok(success(json!(out)))
}

/// `GET|POST /api/v1/metadata`: no metric metadata is kept; Prometheus'
/// shape, empty.
pub async fn metadata() -> ApiResult {
    Ok(success(json!({})))
}

/// `GET|POST /api/v1/query_exemplars`: no exemplars are kept.
pub async fn query_exemplars() -> ApiResult {
    Ok(success(json!([])))
}

/// `GET /api/v1/rules`: there is no rule engine.
pub async fn rules() -> ApiResult {
    Ok(success(json!({"groups": []})))
}

/// `GET /api/v1/alerts`: there is no rule engine.
pub async fn alerts() -> ApiResult {
    Ok(success(json!({"alerts": []})))
}
