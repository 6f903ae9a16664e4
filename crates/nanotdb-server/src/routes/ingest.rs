//! `POST /api/v1/import` (line protocol) and `POST /api/v1/import/prometheus`
//! (Prometheus text exposition). Both are atomic: every sample of the body is
//! stored or none is, and a rejection lists every bad line with its reason.

use std::sync::atomic::Ordering;

use axum::extract::{Request, State};
use axum::http::header;
use nanotdb::{Value, WriteSample};

use crate::envelope::{ApiError, ApiResult, success};
use crate::params::{Params, check_db};
use crate::{SharedState, blocking, limits, prom};

/// Longest accepted line (as in the reference's HTTP import).
pub const MAX_LINE: usize = 4 << 20;

/// At most this many bad lines are spelled out in one error message; the
/// count of the rest is given.
pub const MAX_LISTED_ERRORS: usize = 10_000;

/// One sample parsed from a line-protocol body, borrowing the body.
type Parsed<'a> = (WriteSample<'a>, u64);

/// Splits a line-protocol body into samples (with their line numbers) and bad lines.
pub fn parse_lines(body: &[u8], now: i64) -> (Vec<Parsed<'_>>, Vec<(u64, String)>) {
    let mut ok = Vec::new();
    let mut bad = Vec::new();
    for (i, raw) in body.split(|&b| b == b'\n').enumerate() {
        let n = i as u64 + 1;
        if raw.len() > MAX_LINE {
            bad.push((n, format!("line longer than {MAX_LINE} bytes")));
            continue;
        }
        let Ok(text) = std::str::from_utf8(raw) else {
            bad.push((n, "line is not valid UTF-8".to_string()));
            continue;
        };
        let text = text.trim();
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        match nanotdb::lineproto::parse_line(text) {
            Ok(l) => ok.push((
                WriteSample {
                    db: l.db,
                    metric: l.metric,
                    ts: l.ts.unwrap_or(now),
                    value: l.value,
                },
                n,
            )),
            Err(e) => bad.push((n, e.to_string())),
        }
    }
    (ok, bad)
}

/// Writes all samples or none. Parse errors still get the engine's verdict on
/// the other lines: an invalid sentinel sample forces the atomic write to
/// reject the batch after validating every sample, so nothing is stored.
pub fn write_all_or_nothing(
    engine: &nanotdb::Engine,
    parsed: &[Parsed<'_>],
    mut bad: Vec<(u64, String)>,
) -> Result<u64, ApiError> {
    if parsed.is_empty() && bad.is_empty() {
        return Ok(0);
    }
    let mut samples: Vec<WriteSample<'_>> = parsed.iter().map(|p| p.0).collect();
    let sentinel = !bad.is_empty();
    if sentinel {
        samples.push(WriteSample {
            db: "",
            metric: "x",
            ts: 0,
            value: Value::F32(0.0),
        });
    }
    let report = engine
        .write_atomic(&samples)
        .map_err(|e| ApiError::from_engine(&e))?;
    for (idx, e) in report.rejected {
        if let Some(p) = parsed.get(idx) {
            bad.push((p.1, e.to_string()));
        }
    }
    if bad.is_empty() {
        return Ok(report.accepted);
    }
    bad.sort_by_key(|b| b.0);
    Err(ApiError::bad_data(describe(&bad)))
}

/// `line 3: reason; line 7: reason` (at most [`MAX_LISTED_ERRORS`] spelled out).
pub fn describe(bad: &[(u64, String)]) -> String {
    let mut msg = String::new();
    for (i, (n, e)) in bad.iter().take(MAX_LISTED_ERRORS).enumerate() {
        if i > 0 {
            msg.push_str("; ");
        }
        msg.push_str(&format!("line {n}: {e}"));
    }
    if bad.len() > MAX_LISTED_ERRORS {
        msg.push_str(&format!(
            "; and {} more bad lines",
            bad.len() - MAX_LISTED_ERRORS
        ));
    }
    msg.push_str(&format!(" ({} bad lines; nothing was stored)", bad.len()));
    msg
}

fn is_json(req: &Request) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim()
                .to_ascii_lowercase()
                .starts_with("application/json")
        })
}

/// `POST /api/v1/import`.
pub async fn import_lines(State(st): State<SharedState>, req: Request) -> ApiResult {
    let json = is_json(&req);
    let (parts, body) = req.into_parts();
    let body = limits::read_body(&parts.headers, body, st.settings.max_body_bytes).await?;
    let body: bytes::Bytes = if json {
        #[derive(serde::Deserialize)]
        struct Lines {
            #[serde(default)]
            lines: String,
        }
        let l: Lines = serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_data(format!("invalid JSON body: {e}")))?;
        l.lines.into_bytes().into()
    } else {
        body
    };
    let m = &st.metrics;
    m.ingest_requests.fetch_add(1, Ordering::Relaxed);
    m.ingest_bytes
        .fetch_add(body.len() as u64, Ordering::Relaxed);
    let st2 = st.clone();
    let res = blocking(move || {
        let (parsed, bad) = parse_lines(&body, nanotdb::time::now_ns());
        write_all_or_nothing(&st2.engine, &parsed, bad)
    })
    .await?;
    finish(&st, res)
}

fn finish(st: &SharedState, res: Result<u64, ApiError>) -> ApiResult {
    match res {
        Ok(n) => {
            st.metrics.ingest_samples.fetch_add(n, Ordering::Relaxed);
            Ok(success(serde_json::json!({ "imported": n })))
        }
        Err(e) => {
            st.metrics
                .ingest_rejected_requests
                .fetch_add(1, Ordering::Relaxed);
            Err(e)
        }
    }
}

/// `POST /api/v1/import/prometheus[?db=NAME]`.
pub async fn import_prometheus(State(st): State<SharedState>, req: Request) -> ApiResult {
    let params = Params::parse(req.uri().query().unwrap_or("").as_bytes());
    let db = params.get_trimmed("db").map(str::to_string);
    if let Some(db) = &db {
        check_db(db)?;
    }
    let (parts, body) = req.into_parts();
    let body = limits::read_body(&parts.headers, body, st.settings.max_body_bytes).await?;
    let m = &st.metrics;
    m.ingest_requests.fetch_add(1, Ordering::Relaxed);
    m.ingest_bytes
        .fetch_add(body.len() as u64, Ordering::Relaxed);
    let st2 = st.clone();
    let res = blocking(move || {
        let text = match std::str::from_utf8(&body) {
            Ok(t) => std::borrow::Cow::Borrowed(t),
            Err(_) => String::from_utf8_lossy(&body),
        };
        let (samples, mut bad) = prom::parse_body(&text, db.as_deref(), nanotdb::time::now_ns());
        if std::str::from_utf8(&body).is_err() {
            // Report the lines holding invalid UTF-8 instead of storing mangled names.
            for (i, raw) in body.split(|&b| b == b'\n').enumerate() {
                if std::str::from_utf8(raw).is_err() {
                    bad.push((i as u64 + 1, "line is not valid UTF-8".to_string()));
                }
            }
        }
        let parsed: Vec<Parsed<'_>> = samples
            .iter()
            .map(|s| {
                (
                    WriteSample {
                        db: &s.db,
                        metric: &s.metric,
                        ts: s.ts,
                        value: Value::F32(s.value),
                    },
                    s.line,
                )
            })
            .collect();
        write_all_or_nothing(&st2.engine, &parsed, bad)
    })
    .await?;
    finish(&st, res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_lines_numbers_and_skips() {
        let body = b"# c\n\nedge/a 1 5\r\nbad\nedge/b 2i\n\xff\n";
        let (ok, bad) = parse_lines(body, 9);
        assert_eq!(ok.len(), 2);
        assert_eq!(ok[0].1, 3);
        assert_eq!(ok[0].0.ts, 5);
        assert_eq!(ok[1].0.ts, 9);
        assert_eq!(ok[1].0.value, Value::I32(2));
        let lines: Vec<u64> = bad.iter().map(|b| b.0).collect();
        assert_eq!(lines, vec![4, 6]);
    }
}
