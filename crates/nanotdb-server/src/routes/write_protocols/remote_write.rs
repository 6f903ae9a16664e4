//! `POST /api/v1/write` and `POST /prometheus/api/v1/write`: Prometheus
//! remote write 1.0 (snappy-compressed protobuf `WriteRequest`).
//!
//! Database of a series: the `db` query parameter, else the series' `db`
//! label (which is then not one of its labels), else `[ingest].default_db`.
//! The series is stored under its canonical name `name{a="x",b="y"}`.
//!
//! Answers as Prometheus expects of a receiver: 204 when everything was
//! stored; 400 (the sender drops the request, as retrying cannot help) for
//! a body that does not decode or when samples were refused — the others
//! are stored and the body says how many of each; 413 for a body over the
//! limits; 500 (the sender retries) only for a failure on our side.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use nanotdb_protocols::remote_write::{self, Limits};

use nanotdb::Value;

use super::{Batch, Outcome};
use crate::params::db_param;
use crate::{SharedState, blocking, limits};

/// A decompressed body may be this many times the compressed limit.
const DECOMPRESSED_FACTOR: usize = 4;

/// Longest series name stored (the engine's metric-name limit).
const MAX_SERIES_LEN: usize = 255;

/// A plain-text answer.
fn text(status: StatusCode, msg: impl Into<String>) -> Response {
    let mut body = msg.into();
    body.push('\n');
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

/// The handler of both paths.
pub async fn write(State(st): State<SharedState>, req: Request) -> Response {
    match handle(st, req).await {
        Ok(r) | Err(r) => r,
    }
}

async fn handle(st: SharedState, req: Request) -> Result<Response, Response> {
    let db = db_param(req.uri()).map_err(IntoResponse::into_response)?;
    let (parts, body): (_, Body) = req.into_parts();
    let max = st.settings.max_body_bytes;
    let body = limits::read_body(&parts.headers, body, max)
        .await
        .map_err(IntoResponse::into_response)?;
    super::count_request(&st, body.len());
    let st2 = st.clone();
    let outcome = blocking(move || {
        let limits = Limits {
            max_compressed_bytes: max,
            max_decompressed_bytes: max.saturating_mul(DECOMPRESSED_FACTOR),
            max_series_len: MAX_SERIES_LEN,
        };
        let decoded = match remote_write::decode(&body, &limits) {
            Ok(d) => d,
            Err(e) if e.is_too_large() => {
                return Err(Box::new(text(StatusCode::PAYLOAD_TOO_LARGE, e.to_string())));
            }
            Err(e) => return Err(Box::new(text(StatusCode::BAD_REQUEST, e.to_string()))),
        };
        let default_db = &st2.engine.config().ingest.default_db;
        let mut batch = Batch::default();
        for r in &decoded.rejected {
            batch.refused_samples += r.samples;
            batch.refused.push(r.to_string());
        }
        if decoded.histograms > 0 {
            batch.refused_samples += decoded.histograms;
            batch.refused.push(format!(
                "{} native histogram samples: not supported",
                decoded.histograms
            ));
        }
        for series in &decoded.series {
            let name = db.as_deref().or(series.db.as_deref()).unwrap_or(default_db);
            if let Err(e) = nanotdb::names::validate_db_name(name) {
                batch.refused_samples += series.samples.len();
                batch.refused.push(format!("series {}: {e}", series.key));
                continue;
            }
            let dbi = batch.db_index(name);
            let key = batch.series(&series.key.canonical());
            for &(ms, v) in &series.samples {
                match ms.checked_mul(1_000_000) {
                    Some(ts) => batch.push(dbi, key, ts, Value::F64(v)),
                    None => {
                        batch.refused_samples += 1;
                        batch.refused.push(format!(
                            "series {}: timestamp {ms} ms out of range",
                            series.key
                        ));
                    }
                }
            }
        }
        batch
            .write(&st2.engine)
            .map_err(|e| Box::new(text(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())))
    })
    .await
    .map_err(IntoResponse::into_response)?
    .map_err(|r| *r)?;
    Ok(answer(&st, &outcome))
}

fn answer(st: &SharedState, o: &Outcome) -> Response {
    super::count_outcome(st, o);
    if o.refused_samples == 0 {
        StatusCode::NO_CONTENT.into_response()
    } else {
        text(StatusCode::BAD_REQUEST, o.describe())
    }
}
