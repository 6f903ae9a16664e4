//! `/api/v1/databases`, `/api/v1/metrics`, `/api/v1/aggregates`,
//! `/api/v1/rollup/backfill`.

use axum::extract::State;
use serde_json::json;

use crate::envelope::{ApiError, ApiResult, success};
use crate::params::{Params, bool_param, check_db};
use crate::{SharedState, blocking};

/// `GET /api/v1/databases[?include_internal=bool]`.
pub async fn databases(State(st): State<SharedState>, p: Params) -> ApiResult {
    let internal = bool_param(&p, "include_internal")?;
    let st2 = st.clone();
    let mut names = blocking(move || st2.engine.databases())
        .await?
        .map_err(|e| ApiError::execution(e.to_string()))?;
    if !internal {
        names.retain(|n| n != "internal");
    }
    Ok(success(json!({"result": names, "resultType": "databases"})))
}

/// `GET /api/v1/metrics?db=…[&details=bool][&lineage=rollups][&max_hops=1..5]`.
pub async fn metrics(State(st): State<SharedState>, p: Params) -> ApiResult {
    let db = p
        .get_trimmed("db")
        .ok_or_else(|| ApiError::bad_data("missing db parameter"))?
        .to_string();
    let details = bool_param(&p, "details")?;
    let lineage = p.get_trimmed("lineage");
    if let Some(l) = lineage {
        if !details {
            return Err(ApiError::bad_data("lineage requires details=true"));
        }
        if l != "rollups" {
            return Err(ApiError::bad_data(
                "invalid lineage: supported values are rollups",
            ));
        }
    }
    let max_hops = match p.get_trimmed("max_hops") {
        None => 1,
        Some(h) => h
            .parse::<u32>()
            .ok()
            .filter(|h| (1..=5).contains(h))
            .ok_or_else(|| ApiError::bad_data("invalid max_hops: must be in range [1,5]"))?,
    };
    check_db(&db)?;
    let want_lineage = lineage.is_some();
    let st2 = st.clone();
    let db2 = db.clone();
    let list = blocking(move || st2.engine.metrics(&db2))
        .await?
        .map_err(|e| match e {
            nanotdb::Error::DatabaseNotFound(_) => ApiError::from_engine(&e),
            e => ApiError::bad_data(e.to_string()),
        })?;
    let result = if details {
        let mut items: Vec<serde_json::Value> = list
            .iter()
            .map(|m| json!({"name": m.name, "id": m.id, "type": m.value_type.as_str()}))
            .collect();
        if want_lineage {
            let names: Vec<String> = list.iter().map(|m| m.name.clone()).collect();
            let (st2, db2) = (st.clone(), db.clone());
            let lineages = blocking(move || {
                names
                    .iter()
                    .map(|n| st2.engine.rollup_downstream(&db2, n, max_hops))
                    .collect::<Result<Vec<_>, _>>()
            })
            .await?
            .map_err(|e| ApiError::bad_data(e.to_string()))?;
            for (item, l) in items.iter_mut().zip(lineages) {
                let steps: Vec<serde_json::Value> = l
                    .steps
                    .iter()
                    .map(|s| {
                        json!({"hop": s.hop, "job_id": s.job_id, "interval": s.interval,
                            "aggregate": s.aggregate, "db": s.database, "metric": s.metric})
                    })
                    .collect();
                item["rollups"] =
                    json!({"downstream": steps, "truncated": l.truncated, "max_hops": max_hops});
            }
        }
        json!(items)
    } else {
        json!(list.iter().map(|m| m.name.as_str()).collect::<Vec<_>>())
    };
    Ok(success(
        json!({"db": db, "result": result, "resultType": "metrics"}),
    ))
}

/// `GET /api/v1/aggregates`.
pub async fn aggregates() -> ApiResult {
    let mut names = nanotdb::aggregate::default_aggregators().names();
    names.sort();
    Ok(success(json!({
        "default": nanotdb::aggregate::DEFAULT_STEP_AGGREGATE,
        "result": names,
        "resultType": "aggregates",
    })))
}

/// Body of `POST /api/v1/rollup/backfill` (both keys optional).
#[derive(serde::Deserialize, Default)]
struct BackfillBody {
    #[serde(default)]
    source_db: Option<String>,
    #[serde(default)]
    source_dbs: Vec<String>,
}

/// `POST /api/v1/rollup/backfill`: rebuilds rollup destinations of the named
/// sources (or every source) synchronously. Unlike v1.4.0 it never deletes
/// data a user wrote into a destination (see the engine's rollup docs).
pub async fn rollup_backfill(State(st): State<SharedState>, body: axum::body::Bytes) -> ApiResult {
    let parsed: BackfillBody = if body.iter().all(u8::is_ascii_whitespace) {
        BackfillBody::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_data(format!("invalid JSON body: {e}")))?
    };
    let mut sources: Vec<String> = parsed
        .source_db
        .into_iter()
        .chain(parsed.source_dbs)
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    sources.sort();
    sources.dedup();
    for s in &sources {
        check_db(s)?;
    }
    let report = blocking(move || {
        let refs: Vec<&str> = sources.iter().map(String::as_str).collect();
        st.engine.rollup_backfill(&refs)
    })
    .await?
    .map_err(|e| ApiError::execution(e.to_string()))?;
    Ok(success(
        json!({"result": report, "resultType": "rollup_backfill"}),
    ))
}
