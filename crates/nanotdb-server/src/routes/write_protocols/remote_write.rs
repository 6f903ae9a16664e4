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
use nanotdb_protocols::remote_write::{self, Limits, Scratch};

use nanotdb::Value;

use super::{Batch, Outcome};
use crate::params::db_param;
use crate::{SharedState, blocking, limits};

/// A decompressed body may be this many times the compressed limit.
const DECOMPRESSED_FACTOR: usize = 4;

/// Longest series name stored (the engine's metric-name limit, 4 KiB).
const MAX_SERIES_LEN: usize = nanotdb::names::MAX_METRIC_NAME_LEN;

/// Decode buffers above this size are not kept for the next request.
const KEEP_SCRATCH_BYTES: usize = 8 << 20;

thread_local! {
    /// Each blocking thread's decode buffers, reused across requests.
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::default();
}

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
        let default_db = &st2.engine.config().ingest.default_db;
        let batch = SCRATCH.with_borrow_mut(|scratch| {
            let batch = to_batch(&body, &limits, db.as_deref(), default_db, scratch);
            if scratch.capacity() > KEEP_SCRATCH_BYTES {
                *scratch = Scratch::default();
            }
            batch
        })?;
        batch
            .write(&st2.engine)
            .map_err(|e| Box::new(text(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())))
    })
    .await
    .map_err(IntoResponse::into_response)?
    .map_err(|r| *r)?;
    Ok(answer(&st, &outcome))
}

/// Decodes a body into the samples to store, or the answer refusing it.
/// Database of a series: `db` (the parameter), else its `db` label, else
/// `default_db`.
fn to_batch(
    body: &[u8],
    limits: &Limits,
    db: Option<&str>,
    default_db: &str,
    scratch: &mut Scratch,
) -> Result<Batch, Box<Response>> {
    let mut batch = Batch::default();
    // Refusals found here are listed after the decoder's own.
    let mut late = Vec::new();
    // The database of the previous series, already validated.
    let mut last_db: Option<(String, usize)> = None;
    let decoded = remote_write::decode_each(body, limits, scratch, |series| {
        let name = db.or(series.db).unwrap_or(default_db);
        let dbi = match &last_db {
            Some((d, i)) if d == name => *i,
            _ => {
                if let Err(e) = nanotdb::names::validate_db_name(name) {
                    batch.refused_samples += series.samples.len();
                    late.push(format!("series {}: {e}", series.canonical));
                    return;
                }
                let i = batch.db_index(name);
                last_db = Some((name.to_string(), i));
                i
            }
        };
        let key = batch.series(series.canonical);
        for &(ms, v) in series.samples {
            match ms.checked_mul(1_000_000) {
                Some(ts) => batch.push(dbi, key, ts, Value::F64(v)),
                None => {
                    batch.refused_samples += 1;
                    late.push(format!(
                        "series {}: timestamp {ms} ms out of range",
                        series.canonical
                    ));
                }
            }
        }
    });
    let decoded = match decoded {
        Ok(d) => d,
        Err(e) if e.is_too_large() => {
            return Err(Box::new(text(StatusCode::PAYLOAD_TOO_LARGE, e.to_string())));
        }
        Err(e) => return Err(Box::new(text(StatusCode::BAD_REQUEST, e.to_string()))),
    };
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
    batch.refused.append(&mut late);
    Ok(batch)
}

fn answer(st: &SharedState, o: &Outcome) -> Response {
    super::count_outcome(st, o);
    if o.refused_samples == 0 {
        StatusCode::NO_CONTENT.into_response()
    } else {
        text(StatusCode::BAD_REQUEST, o.describe())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nanotdb_protocols::remote_write::{Label, Sample, TimeSeries, WriteRequest, encode};

    fn series(labels: &[(&str, &str)], samples: &[(i64, f64)]) -> TimeSeries {
        TimeSeries {
            labels: labels
                .iter()
                .map(|&(name, value)| Label {
                    name: name.into(),
                    value: value.into(),
                })
                .collect(),
            samples: samples
                .iter()
                .map(|&(timestamp, value)| Sample { value, timestamp })
                .collect(),
        }
    }

    /// The decoder's refusals come first, then those of the series it
    /// accepted, in request order; the good samples are kept.
    #[test]
    fn refusals_are_listed_in_order() {
        let req = WriteRequest {
            timeseries: vec![
                series(&[("__name__", "a"), ("db", "bad/db")], &[(1, 1.0)]),
                series(&[("__name__", "b")], &[(i64::MAX, 2.0), (2, 3.0)]),
                series(&[("job", "x")], &[(1, 4.0)]),
                series(&[("__name__", "c"), ("db", "other")], &[(3, 5.0)]),
            ],
        };
        let limits = Limits::default();
        let mut scratch = Scratch::default();
        let body = encode(&req).unwrap();
        for _ in 0..2 {
            let batch = to_batch(&body, &limits, None, "main", &mut scratch).unwrap();
            assert_eq!(batch.refused_samples, 3);
            assert_eq!(batch.refused.len(), 3, "{:?}", batch.refused);
            assert!(
                batch.refused[0].starts_with("series 2: "),
                "{:?}",
                batch.refused
            );
            assert!(
                batch.refused[1].starts_with("series a: "),
                "{:?}",
                batch.refused
            );
            assert_eq!(
                batch.refused[2],
                format!("series b: timestamp {} ms out of range", i64::MAX)
            );
            let stored: Vec<_> = batch
                .samples
                .iter()
                .map(|&(db, s, e, ts, _)| (batch.dbs[db].as_str(), &batch.names[s..e], ts))
                .collect();
            assert_eq!(
                stored,
                [("main", "b", 2_000_000), ("other", "c", 3_000_000)]
            );
        }
        let e = to_batch(b"junk", &limits, None, "main", &mut scratch).unwrap_err();
        assert_eq!(e.status(), StatusCode::BAD_REQUEST);
    }
}
