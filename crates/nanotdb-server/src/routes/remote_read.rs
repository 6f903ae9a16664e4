//! `POST /api/v1/read`: Prometheus remote read, samples response type, so a
//! Prometheus server can use this one as long-term storage
//! (docs/BEHAVIOUR.md §2.6, "Remote read"). Series are selected as PromQL
//! selects them: the `db` parameter's database with its own labels, or every
//! database but `internal` with a `db` label.

use std::ops::ControlFlow;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use nanotdb_promql::{EngineStorage, LabelMatcher, MatchOp, Storage};
use nanotdb_protocols::remote_read::{
    self, CONTENT_ENCODING, CONTENT_TYPE, QueryResult, RESPONSE_SAMPLES, ReadResponse,
};
use nanotdb_protocols::remote_write::{Sample, TimeSeries};

use crate::envelope::ApiError;
use crate::params::db_param;
use crate::{SharedState, blocking, limits};

/// A request's protobuf may be this many times its compressed limit.
const DECOMPRESSED_FACTOR: usize = 8;

/// `POST /api/v1/read`.
pub async fn read(State(st): State<SharedState>, req: Request) -> Result<Response, ApiError> {
    let db = db_param(req.uri())?;
    let (parts, body): (_, Body) = req.into_parts();
    let max = st.settings.max_body_bytes;
    let body = limits::read_body(&parts.headers, body, max).await?;
    let st2 = st.clone();
    let out = blocking(move || answer(&st2, db, &body, max)).await??;
    Ok((
        [
            (header::CONTENT_TYPE, CONTENT_TYPE),
            (header::CONTENT_ENCODING, CONTENT_ENCODING),
        ],
        out,
    )
        .into_response())
}

fn answer(
    st: &SharedState,
    db: Option<String>,
    body: &[u8],
    max: usize,
) -> Result<Vec<u8>, ApiError> {
    let req = remote_read::decode_request(body, max.saturating_mul(DECOMPRESSED_FACTOR))
        .map_err(|e| ApiError::bad_data(format!("invalid remote read request: {e}")))?;
    if !req.accepted_response_types.is_empty()
        && !req.accepted_response_types.contains(&RESPONSE_SAMPLES)
    {
        return Err(ApiError::bad_data(
            "unsupported: only the samples response type is served",
        ));
    }
    if let Some(db) = &db
        && !st.engine.databases()?.iter().any(|d| d == db)
    {
        return Err(ApiError::not_found(format!("database not found: {db}")));
    }
    let storage = EngineStorage::new(&st.engine, db);
    let limit = st.settings.query_max_samples;
    let mut total = 0usize;
    let mut results = Vec::with_capacity(req.queries.len());
    for q in &req.queries {
        let mut matchers = Vec::with_capacity(q.matchers.len());
        for m in &q.matchers {
            let op = match m.r#type {
                0 => MatchOp::Equal,
                1 => MatchOp::NotEqual,
                2 => MatchOp::Regex,
                3 => MatchOp::NotRegex,
                t => return Err(ApiError::bad_data(format!("unknown matcher type {t}"))),
            };
            matchers.push(
                LabelMatcher::new(&m.name, op, &m.value)
                    .map_err(|e| ApiError::bad_data(e.to_string()))?,
            );
        }
        let series = storage
            .select(&matchers)
            .map_err(|e| ApiError::execution(e.to_string()))?;
        let mut out: Vec<TimeSeries> = series
            .iter()
            .map(|s| TimeSeries {
                labels: s
                    .labels
                    .pairs()
                    .iter()
                    .map(|(k, v)| remote_read::label(k, v))
                    .collect(),
                samples: Vec::new(),
            })
            .collect();
        let mut over = false;
        storage
            .read_many(
                &series,
                q.start_timestamp_ms,
                q.end_timestamp_ms,
                &mut |i, t, v| {
                    total += 1;
                    if total > limit {
                        over = true;
                        return ControlFlow::Break(());
                    }
                    if let Some(ts) = out.get_mut(i) {
                        ts.samples.push(Sample {
                            value: v,
                            timestamp: t,
                        });
                    }
                    ControlFlow::Continue(())
                },
            )
            .map_err(|e| ApiError::execution(e.to_string()))?;
        if over {
            return Err(ApiError::too_large(format!(
                "remote read of more than {limit} samples ([query] max_samples)"
            )));
        }
        out.retain(|ts| !ts.samples.is_empty());
        for ts in &mut out {
            ts.samples.sort_by_key(|s| s.timestamp);
        }
        results.push(QueryResult { timeseries: out });
    }
    remote_read::encode_response(&ReadResponse { results })
        .map_err(|e| ApiError::execution(e.to_string()))
}
