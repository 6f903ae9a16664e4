//! PromQL on `/api/v1/query` and `/api/v1/query_range` (docs/BEHAVIOUR.md
//! §2.6, "PromQL"): which requests are PromQL, their parameters, and
//! Prometheus' JSON for the answers.

use std::time::{Duration, Instant};

use nanotdb_promql::{
    EngineStorage, Error as QError, QueryOptions, QueryStats, QueryValue, format_value,
};

use crate::SharedState;
use crate::envelope::{ApiError, write_json_str};
use crate::params::{Params, parse_step, parse_time, strip_selector};

/// Prometheus refuses range queries with more points per series.
const MAX_RANGE_POINTS: i64 = 11_000;

const NS_PER_MS: i64 = 1_000_000;

/// Whether a request is one of the v1.4.0 forms, which keep their old
/// meaning; everything else is PromQL (docs/BEHAVIOUR.md §2.6). With `query`
/// first stripped of a trailing `{}` or a `{__name__="…"}` wrapper, the
/// v1.4.0 forms are:
///
/// 1. any request with `aggregate`, `window` or `stride`;
/// 2. without `db`: a query shaped `DB/METRIC` — no whitespace, a valid
///    database name before the first `/`, something after it, and either
///    not PromQL or a division of two bare selectors (so PromQL divides bare
///    selectors with spaces: `a / b`; `x/2` and `0/0` are PromQL);
/// 3. with `db`: a query without whitespace that is a metric name in
///    canonical form (`temp`, `rw{s="7"}`: labels sorted, as stored) or not
///    PromQL at all — except an instant query with `time`, which v1.4.0
///    never had, so it is PromQL.
pub fn is_legacy(p: &Params, instant: bool) -> bool {
    if ["aggregate", "window", "stride"]
        .iter()
        .any(|k| p.get_trimmed(k).is_some())
    {
        return true;
    }
    let Some(q) = p.get_trimmed("query") else {
        // Nothing to run either way; the v1.4.0 path words the error.
        return true;
    };
    let q = strip_selector(q);
    if q.chars().any(char::is_whitespace) {
        return false;
    }
    if p.get_trimmed("db").is_none() {
        let shaped = q
            .split_once('/')
            .is_some_and(|(d, m)| nanotdb::names::validate_db_name(d).is_ok() && !m.is_empty());
        return shaped && divides_bare_names(q);
    }
    if instant && p.get_trimmed("time").is_some() {
        return false;
    }
    // A stored name (`temp`, `rw{s="7"}`, `nanotdb/runtime/rss_bytes`) or
    // no PromQL at all (`cpu.load`).
    nanotdb_protocols::parse_canonical(q).is_ok()
        || is_path_name(q)
        || nanotdb_promql::parse(q).is_err()
}

/// A v1.4.0 metric name made of path segments (`nanotdb/runtime/rss_bytes`,
/// `edge/probe.01`): with `db` given it names a metric, although PromQL
/// would read its slashes as divisions.
fn is_path_name(q: &str) -> bool {
    q.contains('/')
        && q.split('/').all(|seg| {
            seg.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && seg
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':'))
        })
}

/// Whether `q` reads as `DB/METRIC` rather than PromQL arithmetic: it is not
/// PromQL, or it is a division of two bare selectors (`edge/temp`), not of
/// numbers or anything else (`0/0`, `x/2`).
fn divides_bare_names(q: &str) -> bool {
    use promql_parser::parser::Expr;
    match nanotdb_promql::parse(q) {
        Err(_) => true,
        Ok(Expr::Binary(b)) => {
            matches!(*b.lhs, Expr::VectorSelector(_)) && matches!(*b.rhs, Expr::VectorSelector(_))
        }
        Ok(_) => false,
    }
}

fn options(st: &SharedState, p: &Params) -> Result<QueryOptions, ApiError> {
    let mut timeout = st.settings.request_timeout;
    if let Some(t) = p.get_trimmed("timeout") {
        let ns = parse_step(t)
            .map_err(|e| ApiError::bad_data(format!("invalid parameter \"timeout\": {e}")))?;
        if ns > 0 {
            timeout = timeout.min(Duration::from_nanos(ns as u64));
        }
    }
    Ok(QueryOptions {
        lookback_ms: i64::try_from(st.settings.query_lookback.as_millis()).unwrap_or(i64::MAX),
        max_samples: st.settings.query_max_samples,
        deadline: Some(Instant::now() + timeout),
        ..QueryOptions::default()
    })
}

/// The database restriction: `db` given → that database only.
fn storage<'a>(st: &'a SharedState, p: &Params) -> Result<EngineStorage<'a>, ApiError> {
    let db = p.get_trimmed("db").map(str::to_string);
    if let Some(db) = &db {
        crate::params::check_db(db)?;
        if !st.engine.databases()?.iter().any(|d| d == db) {
            return Err(ApiError::not_found(format!("database not found: {db}")));
        }
    }
    Ok(EngineStorage::new(&st.engine, db))
}

fn query_text(p: &Params) -> Result<&str, ApiError> {
    p.get_trimmed("query")
        .ok_or_else(|| ApiError::bad_data("invalid parameter \"query\": missing query"))
}

fn time_ms(p: &Params, name: &str) -> Result<Option<i64>, ApiError> {
    match p.get_trimmed(name) {
        None => Ok(None),
        Some(t) => parse_time(t)
            // Rounded, as Prometheus rounds float seconds to milliseconds
            // (`1700000000.25` is 1700000000249999872 ns as parsed).
            .map(|ns| Some(ns.saturating_add(NS_PER_MS / 2).div_euclid(NS_PER_MS)))
            .map_err(|e| ApiError::bad_data(format!("invalid parameter \"{name}\": {e}"))),
    }
}

fn map_err(e: QError) -> ApiError {
    use axum::http::StatusCode;
    match e {
        QError::Parse(m) => ApiError::bad_data(format!("invalid parameter \"query\": {m}")),
        QError::Unsupported(_) | QError::BadQuery(_) => ApiError::bad_data(e.to_string()),
        QError::Execution(m) => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "execution", m),
        QError::Limit(m) => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "execution", m),
        QError::Timeout => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "timeout", e.to_string()),
        QError::Storage(m) => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", m),
    }
}

/// An instant query; the `data` object's bytes.
pub fn instant(st: &SharedState, p: &Params) -> Result<Vec<u8>, ApiError> {
    let q = query_text(p)?;
    let t = match time_ms(p, "time")? {
        Some(t) => t,
        None => nanotdb::time::now_ns().div_euclid(NS_PER_MS),
    };
    let opts = options(st, p)?;
    let storage = storage(st, p)?;
    let mut stats = QueryStats::default();
    let v = nanotdb_promql::instant_query_stats(&storage, q, t, &opts, &mut stats);
    release_heap_after(&stats);
    render(st, &v.map_err(map_err)?)
}

/// A range query; the `data` object's bytes.
pub fn range(st: &SharedState, p: &Params) -> Result<Vec<u8>, ApiError> {
    let q = query_text(p)?;
    let start = time_ms(p, "start")?
        .ok_or_else(|| ApiError::bad_data("invalid parameter \"start\": missing time value"))?;
    let end = time_ms(p, "end")?
        .ok_or_else(|| ApiError::bad_data("invalid parameter \"end\": missing time value"))?;
    if end < start {
        return Err(ApiError::bad_data(
            "invalid parameter \"end\": end timestamp must not be before start time",
        ));
    }
    let step_ns = parse_step(p.get("step").unwrap_or(""))
        .map_err(|e| ApiError::bad_data(format!("invalid parameter \"step\": {e}")))?;
    let step = step_ns / NS_PER_MS;
    if step <= 0 {
        return Err(ApiError::bad_data(
            "invalid parameter \"step\": zero or negative query resolution step widths are not accepted. Try a positive integer",
        ));
    }
    if (end - start) / step >= MAX_RANGE_POINTS {
        return Err(ApiError::bad_data(
            "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
        ));
    }
    let opts = options(st, p)?;
    let storage = storage(st, p)?;
    let mut stats = QueryStats::default();
    let v = nanotdb_promql::range_query_stats(&storage, q, (start, end, step), &opts, &mut stats);
    release_heap_after(&stats);
    render(st, &v.map_err(map_err)?)
}

/// Samples a query must have read before [`release_heap_after`] trims the
/// heap: about 16 MiB of them, a size whose transient memory matters.
const TRIM_AFTER_SAMPLES: usize = 1 << 20;

/// Returns a large query's freed memory to the OS ([`crate::heap`]).
/// Small queries skip it: a query reading one series of a day imported
/// series by series decodes the whole day's frames, and took 100 -> 140 ms
/// with a trim after every query.
fn release_heap_after(stats: &QueryStats) {
    if stats.samples >= TRIM_AFTER_SAMPLES {
        crate::heap::release();
    }
}

/// Prometheus writes a timestamp as seconds with the milliseconds after a
/// point, only when there are any (`marshalTimestamp`).
fn write_ts(out: &mut Vec<u8>, ms: i64) {
    let mut buf = itoa::Buffer::new();
    if ms < 0 {
        out.push(b'-');
    }
    let a = ms.unsigned_abs();
    out.extend_from_slice(buf.format(a / 1000).as_bytes());
    let frac = a % 1000;
    if frac != 0 {
        out.push(b'.');
        out.extend_from_slice(format!("{frac:03}").as_bytes());
    }
}

fn write_point(out: &mut Vec<u8>, ms: i64, v: f64) {
    out.push(b'[');
    write_ts(out, ms);
    out.push(b',');
    write_json_str(out, &format_value(v));
    out.push(b']');
}

fn write_metric(out: &mut Vec<u8>, labels: &nanotdb_promql::Labels) {
    out.extend_from_slice(br#"{"metric":{"#);
    for (i, (k, v)) in labels.pairs().iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_json_str(out, k);
        out.push(b':');
        write_json_str(out, v);
    }
    out.extend_from_slice(b"},");
}

/// The `data` object, with the server's series and point limits (422).
fn render(st: &SharedState, v: &QueryValue) -> Result<Vec<u8>, ApiError> {
    let max_series = st.settings.max_series_per_query;
    let max_points = st.settings.max_points_per_series;
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(br#"{"resultType":"#);
    write_json_str(&mut out, v.result_type());
    out.extend_from_slice(br#","result":"#);
    let too_many = |n: usize| {
        ApiError::too_large(format!(
            "the query returns {n} series, more than {max_series} (max_series_per_query)"
        ))
    };
    match v {
        QueryValue::Scalar(t, x) => write_point(&mut out, *t, *x),
        QueryValue::String(t, s) => {
            out.push(b'[');
            write_ts(&mut out, *t);
            out.push(b',');
            write_json_str(&mut out, s);
            out.push(b']');
        }
        QueryValue::Vector(t, samples) => {
            if samples.len() > max_series {
                return Err(too_many(samples.len()));
            }
            out.push(b'[');
            for (i, (labels, x)) in samples.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_metric(&mut out, labels);
                out.extend_from_slice(br#""value":"#);
                write_point(&mut out, *t, *x);
                out.push(b'}');
            }
            out.push(b']');
        }
        QueryValue::Matrix(series) => {
            if series.len() > max_series {
                return Err(too_many(series.len()));
            }
            out.push(b'[');
            for (i, s) in series.iter().enumerate() {
                if s.points.len() > max_points {
                    return Err(ApiError::too_large(format!(
                        "the query returns more than {max_points} points for one series (max_points_per_series)"
                    )));
                }
                if i > 0 {
                    out.push(b',');
                }
                write_metric(&mut out, &s.labels);
                out.extend_from_slice(br#""values":["#);
                for (j, &(t, x)) in s.points.iter().enumerate() {
                    if j > 0 {
                        out.push(b',');
                    }
                    write_point(&mut out, t, x);
                }
                out.extend_from_slice(b"]}");
            }
            out.push(b']');
        }
    }
    out.push(b'}');
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::{is_legacy, write_ts};
    use crate::params::Params;

    #[test]
    fn routing_rule() {
        let legacy = |q: &str, instant: bool| is_legacy(&Params::parse(q.as_bytes()), instant);
        // v1.4.0 forms.
        for (q, instant) in [
            ("query=edge/temp", true),
            ("query=edge/temp.probe01", true),
            ("query=edge/temp%7B%7D", true),
            ("query=%7B__name__%3D%22edge/temp%22%7D", true),
            ("query=temp.probe01&db=edge", true),
            ("query=temp&db=edge", true),
            ("query=temp&db=edge&start=1&step=60", false),
            ("query=rw%7Bs%3D%227%22%7D&db=rw&start=1", false),
            ("query=temp%7Broom%3D%22a%22%7D&db=edge", true),
            ("query=nanotdb/runtime/rss_bytes&db=internal&start=1", false),
            ("query=rate(x%5B5m%5D)&aggregate=sum&window=5m", false),
            ("query=x&stride=2", false),
            ("start=1", false),
        ] {
            assert!(legacy(q, instant), "{q} should be v1.4.0");
        }
        // PromQL.
        for (q, instant) in [
            ("query=1%2B1", true),
            ("query=up", true),
            ("query=0/0", true),
            ("query=x/2", true),
            ("query=a%20/%20b", true),
            ("query=rate(edge/x)", true),
            ("query=temp&db=edge&time=1", true),
            ("query=temp%7Broom%3D~%22a%22%7D&db=edge", true),
            ("query=temp%7Bb%3D%221%22,a%3D%222%22%7D&db=edge", false),
            ("query=sum(temp)&db=edge", false),
            ("query=x%7Bdb%3D%22edge%22%7D", true),
        ] {
            assert!(!legacy(q, instant), "{q} should be PromQL");
        }
    }

    #[test]
    fn timestamps_as_prometheus_writes_them() {
        let f = |ms| {
            let mut v = Vec::new();
            write_ts(&mut v, ms);
            String::from_utf8(v).unwrap()
        };
        assert_eq!(f(1_700_000_000_000), "1700000000");
        assert_eq!(f(1_700_000_000_500), "1700000000.500");
        assert_eq!(f(1_700_000_000_007), "1700000000.007");
        assert_eq!(f(-1500), "-1.500");
    }
}
