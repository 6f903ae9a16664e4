//! `/api/v1/query` and `/api/v1/query_range`: PromQL (`routes/promql.rs`),
//! or the v1.4.0 forms — last value, raw or aggregated range — decided by
//! [`promql::is_legacy`].

use std::ops::ControlFlow;
use std::time::Instant;

use axum::extract::State;

use crate::envelope::{
    ApiError, ApiResult, success_raw, write_json_str, write_seconds, write_value_string,
};
use crate::params::{Params, db_metric, parse_step, parse_time};
use crate::routes::promql;
use crate::{SharedState, blocking};

/// Evaluates the request as PromQL unless the request is a v1.4.0 form;
/// `None` sends it down the v1.4.0 path.
async fn try_promql(
    st: &SharedState,
    p: &Params,
    instant: bool,
) -> Result<Option<axum::response::Response>, ApiError> {
    if promql::is_legacy(p, instant) {
        return Ok(None);
    }
    let (st2, p2) = (st.clone(), p.clone());
    let t0 = Instant::now();
    let f = if instant {
        promql::instant
    } else {
        promql::range
    };
    let out = Some(blocking(move || f(&st2, &p2)).await?);
    match out {
        None => Ok(None),
        Some(out) => {
            let out = out?;
            st.metrics.observe_query(t0.elapsed());
            Ok(Some(success_raw(&out)))
        }
    }
}

fn series_header(out: &mut Vec<u8>, db: &str, metric: &str, extra: &[(&str, &str)]) {
    out.extend_from_slice(br#"{"metric":{"__name__":"#);
    write_json_str(out, metric);
    // Keys in sorted order: __name__, aggregate, db, window.
    let mut labels: Vec<(&str, &str)> = extra.to_vec();
    labels.push(("db", db));
    labels.sort_by(|a, b| a.0.cmp(b.0));
    for (k, v) in labels {
        out.push(b',');
        write_json_str(out, k);
        out.push(b':');
        write_json_str(out, v);
    }
    out.extend_from_slice(b"},");
}

/// `GET|POST /api/v1/query`: PromQL, or the newest value of one metric.
pub async fn query(State(st): State<SharedState>, p: Params) -> ApiResult {
    if let Some(r) = try_promql(&st, &p, true).await? {
        return Ok(r);
    }
    let (db, metric) = db_metric(&p)?;
    let t0 = Instant::now();
    let st2 = st.clone();
    let out = blocking(move || -> Result<Vec<u8>, ApiError> {
        let last = st2.engine.query_last(&db, &metric)?;
        let mut out = Vec::with_capacity(160);
        out.extend_from_slice(br#"{"result":["#);
        if let Some(s) = last {
            series_header(&mut out, &db, &metric, &[]);
            out.extend_from_slice(br#""value":["#);
            write_seconds(&mut out, s.ts);
            out.push(b',');
            write_value_string(&mut out, s.value);
            out.extend_from_slice(b"]}");
        }
        out.extend_from_slice(br#"],"resultType":"vector"}"#);
        Ok(out)
    })
    .await??;
    st.metrics.observe_query(t0.elapsed());
    Ok(success_raw(&out))
}

/// Parsed `query_range` parameters.
#[derive(Debug, Clone)]
pub struct RangeQuery {
    /// Database.
    pub db: String,
    /// Metric.
    pub metric: String,
    /// Start (ns, inclusive).
    pub start: i64,
    /// End (ns, inclusive).
    pub end: i64,
    /// `Some((aggregates, window_ns))` in aggregate mode.
    pub aggregate: Option<(Vec<String>, i64)>,
    /// Raw-mode stride (extension: `stride=N` keeps every N-th sample).
    pub stride: u64,
}

/// Validates `query_range` parameters (docs/BEHAVIOUR.md §2.6).
pub fn parse_range(p: &Params) -> Result<RangeQuery, ApiError> {
    let (db, metric) = db_metric(p)?;
    let start = parse_time(p.get("start").unwrap_or(""))
        .map_err(|e| ApiError::bad_data(format!("invalid start: {e}")))?;
    let end = match p.get("end").map(str::trim).filter(|s| !s.is_empty()) {
        None => i64::MAX,
        Some(e) => parse_time(e).map_err(|e| ApiError::bad_data(format!("invalid end: {e}")))?,
    };
    if end < start {
        return Err(ApiError::bad_data("end must be >= start"));
    }
    let step = parse_step(p.get("step").unwrap_or(""))
        .map_err(|e| ApiError::bad_data(format!("invalid step: {e}")))?;
    let agg = p.get("aggregate").filter(|s| !s.trim().is_empty());
    let window = p.get("window").filter(|s| !s.trim().is_empty());
    let aggregate = if agg.is_some() || window.is_some() {
        let (Some(agg), Some(window)) = (agg, window) else {
            return Err(ApiError::bad_data(
                "aggregate queries require both aggregate and window",
            ));
        };
        let w = match nanotdb::time::parse_go_duration(window.trim()) {
            Ok(w) if w > 0 => w,
            Ok(_) => return Err(ApiError::bad_data("invalid window: <nil>")),
            Err(e) => return Err(ApiError::bad_data(format!("invalid window: {e}"))),
        };
        let mut names: Vec<String> = Vec::new();
        for a in agg.split(',').map(str::trim).filter(|a| !a.is_empty()) {
            if !names.iter().any(|n| n == a) {
                names.push(a.to_string());
            }
        }
        Some((names, w))
    } else if step > 0 {
        Some((vec!["avg".to_string()], step))
    } else {
        None
    };
    let stride = match p.get_trimmed("stride") {
        None => 1,
        Some(s) => s
            .parse::<u64>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| ApiError::bad_data("invalid stride: must be a positive integer"))?,
    };
    Ok(RangeQuery {
        db,
        metric,
        start,
        end,
        aggregate,
        stride,
    })
}

/// `GET|POST /api/v1/query_range`: PromQL, or a v1.4.0 raw or aggregate range.
pub async fn query_range(State(st): State<SharedState>, p: Params) -> ApiResult {
    if let Some(r) = try_promql(&st, &p, false).await? {
        return Ok(r);
    }
    let q = parse_range(&p)?;
    let t0 = Instant::now();
    let st2 = st.clone();
    let out = if q.aggregate.is_some() {
        blocking(move || aggregate_range(&st2, &q)).await??
    } else {
        let q2 = q.clone();
        match blocking(move || raw_range(&st2, &q2)).await?? {
            RawAnswer::Whole(out) => out,
            RawAnswer::Large => return Ok(stream_raw_range(&st, q, t0)),
        }
    };
    st.metrics.observe_query(t0.elapsed());
    Ok(success_raw(&out))
}

/// A raw answer whose points take more than this many bytes streams.
const STREAM_AFTER: usize = 1 << 20;

/// What [`raw_range`] found.
enum RawAnswer {
    /// The whole `data` object.
    Whole(Vec<u8>),
    /// More than [`STREAM_AFTER`] bytes of points, and no more points than
    /// `max_points_per_series`: to be streamed ([`stream_raw_range`]).
    Large,
}

/// Streams a large raw answer: the same JSON as a whole one, written by a
/// blocking thread into the response body 64 KiB at a time, so the server
/// never holds the whole body (a million points are ~30 MB). The point
/// limit was checked before the status went out; a read that fails after
/// it ends the body with an error (the client sees a cut transfer).
fn stream_raw_range(st: &SharedState, q: RangeQuery, t0: Instant) -> axum::response::Response {
    let (mut out, resp) =
        crate::routes::export::streamed("application/json", st.settings.request_timeout);
    let st = st.clone();
    tokio::task::spawn_blocking(move || {
        let ender = out.clone_sender();
        if let Err(e) = write_raw_range(&st, &q, &mut out) {
            tracing::warn!("query_range failed after the response began: {e}");
            ender.fail(e);
        }
        st.metrics.observe_query(t0.elapsed());
    });
    resp
}

fn write_raw_range(
    st: &SharedState,
    q: &RangeQuery,
    out: &mut impl std::io::Write,
) -> std::io::Result<()> {
    let mut buf: Vec<u8> = Vec::with_capacity(STREAM_CHUNK + 256);
    buf.extend_from_slice(br#"{"status":"success","data":{"result":["#);
    series_header(&mut buf, &q.db, &q.metric, &[]);
    buf.extend_from_slice(br#""values":["#);
    let mut n = 0usize;
    let mut failed = None;
    let read = st
        .engine
        .query_range(&q.db, &q.metric, q.start, q.end, q.stride, |s| {
            write_point(&mut buf, n, s);
            n += 1;
            if buf.len() >= STREAM_CHUNK {
                if let Err(e) = out.write_all(&buf) {
                    failed = Some(e);
                    return ControlFlow::Break(());
                }
                buf.clear();
            }
            ControlFlow::Continue(())
        });
    if let Some(e) = failed {
        return Err(e);
    }
    read.map_err(|e| std::io::Error::other(e.to_string()))?;
    buf.extend_from_slice(b"]}],\"resultType\":\"matrix\"}}\n");
    out.write_all(&buf)
}

/// Point `n` (from 0) of a raw answer: `[seconds,"value"]`, after a comma
/// unless it is the first.
fn write_point(out: &mut Vec<u8>, n: usize, s: nanotdb::Sample) {
    if n > 0 {
        out.push(b',');
    }
    out.push(b'[');
    write_seconds(out, s.ts);
    out.push(b',');
    write_value_string(out, s.value);
    out.push(b']');
}

/// Bytes of a streamed answer per body chunk.
const STREAM_CHUNK: usize = 64 * 1024;

/// Aggregate mode: one series per requested aggregate, in request order,
/// each point `[bucket end, "value"]`; any engine error is 400 (docs/BEHAVIOUR.md §2.6).
fn aggregate_range(st: &SharedState, q: &RangeQuery) -> Result<Vec<u8>, ApiError> {
    let Some((names, window)) = &q.aggregate else {
        return Err(ApiError::execution("not an aggregate query"));
    };
    let max_series = st.settings.max_series_per_query;
    if names.len() > max_series {
        return Err(ApiError::too_large(format!(
            "the query asks for {} series, more than {max_series} (max_series_per_query)",
            names.len()
        )));
    }
    let max = st.settings.max_points_per_series;
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    // Per requested aggregate: its points (JSON) and count.
    let mut series: Vec<(Vec<u8>, usize)> = vec![(Vec::new(), 0); names.len()];
    let mut over = false;
    // Aggregates are f64; float32 on output (as v1.4.0), float64 for the
    // 8-byte types (docs/FORMATS.md §5.5), which would lose digits otherwise.
    let wide = st
        .engine
        .metric_type(&q.db, &q.metric)
        .ok()
        .flatten()
        .is_some_and(|t| t.is_wide());
    st.engine
        .query_aggregate(&q.db, &q.metric, q.start, q.end, *window, &refs, |row| {
            let Some((vals, n)) = series.get_mut(row.index) else {
                return ControlFlow::Continue(());
            };
            if *n == max {
                over = true;
                return ControlFlow::Break(());
            }
            if *n > 0 {
                vals.push(b',');
            }
            *n += 1;
            vals.push(b'[');
            write_seconds(vals, row.end);
            vals.push(b',');
            let v = if wide {
                nanotdb::Value::F64(row.value)
            } else {
                nanotdb::Value::F32(row.value as f32)
            };
            write_value_string(vals, v);
            vals.push(b']');
            ControlFlow::Continue(())
        })
        .map_err(|e| match e {
            nanotdb::Error::DatabaseNotFound(_) => ApiError::from_engine(&e),
            e => ApiError::bad_data(e.to_string()),
        })?;
    if over {
        return Err(ApiError::too_large(format!(
            "the query returns more than {max} points for one series \
             (max_points_per_series); use a wider window or a narrower range"
        )));
    }
    let window_s = nanotdb::time::format_go_duration(*window);
    let mut out = Vec::with_capacity(series.iter().map(|s| s.0.len() + 128).sum::<usize>() + 64);
    out.extend_from_slice(br#"{"result":["#);
    let mut first = true;
    for (name, (vals, n)) in names.iter().zip(&series) {
        if *n == 0 {
            continue;
        }
        if !first {
            out.push(b',');
        }
        first = false;
        series_header(
            &mut out,
            &q.db,
            &q.metric,
            &[("aggregate", name.as_str()), ("window", window_s.as_str())],
        );
        out.extend_from_slice(br#""values":["#);
        out.extend_from_slice(vals);
        out.extend_from_slice(b"]}");
    }
    out.extend_from_slice(br#"],"resultType":"matrix"}"#);
    Ok(out)
}

fn raw_range(st: &SharedState, q: &RangeQuery) -> Result<RawAnswer, ApiError> {
    let max = st.settings.max_points_per_series;
    let mut vals: Vec<u8> = Vec::with_capacity(64 * 1024);
    let mut n = 0usize;
    let mut over = false;
    let mut large = false;
    st.engine
        .query_range(&q.db, &q.metric, q.start, q.end, q.stride, |s| {
            if n == max {
                over = true;
                return ControlFlow::Break(());
            }
            if vals.len() >= STREAM_AFTER {
                large = true;
                return ControlFlow::Break(());
            }
            write_point(&mut vals, n, s);
            n += 1;
            ControlFlow::Continue(())
        })
        .map_err(|e| match e {
            nanotdb::Error::DatabaseNotFound(_) => ApiError::from_engine(&e),
            e => ApiError::execution(e.to_string()),
        })?;
    if large {
        // Counted before anything goes out, so that an answer over the
        // limit is still a 422 and not a cut-off stream.
        let mut count = 0usize;
        st.engine
            .query_range(&q.db, &q.metric, q.start, q.end, q.stride, |_| {
                count += 1;
                if count > max {
                    over = true;
                    return ControlFlow::Break(());
                }
                ControlFlow::Continue(())
            })
            .map_err(|e| ApiError::execution(e.to_string()))?;
    }
    if over {
        return Err(ApiError::too_large(format!(
            "the query returns more than {max} points for one series \
             (max_points_per_series); narrow the range, use stride, or aggregate with window"
        )));
    }
    if large {
        return Ok(RawAnswer::Large);
    }
    let mut out = Vec::with_capacity(vals.len() + 128);
    out.extend_from_slice(br#"{"result":["#);
    if n > 0 {
        series_header(&mut out, &q.db, &q.metric, &[]);
        out.extend_from_slice(br#""values":["#);
        out.extend_from_slice(&vals);
        out.extend_from_slice(b"]}");
    }
    out.extend_from_slice(br#"],"resultType":"matrix"}"#);
    Ok(RawAnswer::Whole(out))
}
