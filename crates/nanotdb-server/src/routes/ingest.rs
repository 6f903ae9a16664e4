//! `POST /api/v1/import` (line protocol) and `POST /api/v1/import/prometheus`
//! (Prometheus text exposition). Both are atomic: every sample of the body is
//! stored or none is, and a rejection lists every bad line with its reason.

use std::sync::atomic::Ordering;

use axum::extract::{Request, State};
use nanotdb::{Value, WriteSample};

use crate::envelope::{ApiError, ApiResult, success};
use crate::params::{content_type_is, db_param};
use crate::{SharedState, blocking, limits, prom};

/// Longest accepted line (as in the reference's HTTP import).
pub const MAX_LINE: usize = 4 << 20;

/// At most this many bad lines are spelled out in one error message; the
/// count of the rest is given.
pub const MAX_LISTED_ERRORS: usize = 10_000;

/// A parsed body: the samples in body order with the line number of each,
/// and the bad lines. Samples and line numbers are separate vectors so the
/// samples go to the engine as they are, without a copy.
#[derive(Debug, Default)]
pub struct ParsedBody<'a> {
    /// Good samples, in body order.
    pub samples: Vec<WriteSample<'a>>,
    /// `lines[i]` is the 1-based line number of `samples[i]`.
    pub lines: Vec<u64>,
    /// (line number, reason) of every bad line.
    pub bad: Vec<(u64, String)>,
}

/// How the integer timestamps of a body are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TsUnit {
    /// No `precision` parameter: nanoseconds, as v1.4.0 reads them, but a
    /// timestamp before 1980 or more than a year ahead is refused naming the
    /// unit it was probably in (a client sending seconds would otherwise
    /// store 1970 dates without a word).
    AssumedNs,
    /// `precision=ns|us|ms|s`: integer timestamps are in units of this many
    /// nanoseconds; any value is taken.
    Explicit(i64),
}

impl TsUnit {
    /// The unit a `precision` parameter names (`ns`, `us`, `ms`, `s`; also
    /// `n`, `u`, `µs` as Influx writes them).
    pub fn from_param(p: Option<&str>) -> Result<TsUnit, String> {
        Ok(match p {
            None => TsUnit::AssumedNs,
            Some("ns" | "n") => TsUnit::Explicit(1),
            Some("us" | "u" | "µs" | "µ") => TsUnit::Explicit(1_000),
            Some("ms") => TsUnit::Explicit(1_000_000),
            Some("s") => TsUnit::Explicit(1_000_000_000),
            Some(other) => {
                return Err(format!(
                    "invalid precision {other:?}: expected ns, us, ms or s"
                ));
            }
        })
    }
}

/// 1980-01-01T00:00:00Z in ns.
const PLAUSIBLE_FROM_NS: i64 = 315_532_800 * 1_000_000_000;
/// A year, in ns.
const YEAR_NS: i64 = 365 * 86_400 * 1_000_000_000;

/// How a body's lines are read.
#[derive(Debug, Clone, Copy)]
pub struct LineOptions<'a> {
    /// Timestamp of lines without one (ns).
    pub now: i64,
    /// Database every line goes into, if given.
    pub db: Option<&'a str>,
    /// Unit of integer timestamps.
    pub unit: TsUnit,
}

/// Applies `unit` to the timestamp `ts` parsed from `line`: integer
/// timestamps are scaled, or (assumed ns) checked for plausibility.
fn timestamp_in(line: &str, ts: i64, unit: TsUnit, now: i64) -> Result<i64, String> {
    // A plausible nanosecond time is taken whatever the field looked like:
    // the usual line returns here without looking at its text again.
    let plausible = PLAUSIBLE_FROM_NS..=now.saturating_add(YEAR_NS);
    if unit == TsUnit::AssumedNs && plausible.contains(&ts) {
        return Ok(ts);
    }
    // Only an integer last field is a timestamp in some unit; dates are not.
    let last = line.split_whitespace().next_back().unwrap_or("");
    let integer = last.strip_prefix(['-', '+']).unwrap_or(last);
    if integer.is_empty() || !integer.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(ts);
    }
    match unit {
        TsUnit::Explicit(scale) => ts
            .checked_mul(scale)
            .ok_or_else(|| format!("timestamp {ts} out of range at this precision")),
        TsUnit::AssumedNs => {
            let hint = [("s", 1_000_000_000i64), ("ms", 1_000_000), ("us", 1_000)]
                .into_iter()
                .find_map(|(u, k)| {
                    let v = ts.checked_mul(k)?;
                    plausible
                        .contains(&v)
                        .then(|| format!(" (as {u} it is {}: add precision={u})", fmt_ts(v)))
                })
                .unwrap_or_default();
            Err(format!(
                "timestamp {ts} read as nanoseconds is {}, before 1980 or more than a year ahead{hint}; add precision=ns to store it anyway",
                fmt_ts(ts)
            ))
        }
    }
}

fn fmt_ts(ts: i64) -> String {
    nanotdb::time::format_rfc3339(ts)
}

/// Bodies at least this large are parsed by two threads: a keep-alive
/// client waits for each response, so the second core would idle otherwise.
const PARALLEL_PARSE_BYTES: usize = 64 * 1024;

/// Bodies being parsed right now, by any request.
static PARSING: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Counts a parse in [`PARSING`] while it lives.
struct Parsing;

impl Parsing {
    /// Starts counting; true if no other body was being parsed.
    fn start() -> (Parsing, bool) {
        let before = PARSING.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        (Parsing, before == 0)
    }
}

impl Drop for Parsing {
    fn drop(&mut self) {
        PARSING.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Splits a line-protocol body into samples (with their line numbers) and
/// bad lines; a large body is parsed in two halves on two threads when it
/// is the only body being parsed (concurrent requests already keep the
/// cores busy, and a thread per request would only add switches). With
/// `opts.db`, every line goes into that database (see
/// [`nanotdb::lineproto::parse_line_in`]).
pub fn parse_lines<'a>(body: &'a [u8], opts: &LineOptions<'a>) -> ParsedBody<'a> {
    let (_parsing, alone) = Parsing::start();
    if body.len() < PARALLEL_PARSE_BYTES || !alone {
        return parse_from(body, 1, opts);
    }
    parse_halves(body, opts)
}

/// [`parse_lines`] on two threads, a half each.
fn parse_halves<'a>(body: &'a [u8], opts: &LineOptions<'a>) -> ParsedBody<'a> {
    // Cut after the first newline past the middle, so no line is split.
    let Some(cut) = body[body.len() / 2..]
        .iter()
        .position(|&b| b == b'\n')
        .map(|i| body.len() / 2 + i + 1)
    else {
        return parse_from(body, 1, opts);
    };
    let (head, tail) = body.split_at(cut);
    let tail_first_line = memchr::memchr_iter(b'\n', head).count() as u64 + 1;
    let (mut first, second) = std::thread::scope(|s| {
        let t = s.spawn(|| parse_from(tail, tail_first_line, opts));
        let h = parse_from(head, 1, opts);
        (h, t.join())
    });
    match second {
        Ok(mut second) => {
            first.samples.append(&mut second.samples);
            first.lines.append(&mut second.lines);
            first.bad.extend(second.bad);
            give_back_vectors(second.samples, second.lines);
            first
        }
        // The parser does not panic; should it ever, parse on this thread.
        Err(_) => parse_from(body, 1, opts),
    }
}

/// Sample and line-number vectors kept from one request to the next: a
/// 5,000-line body parses into ~400 KB, which the allocator would otherwise
/// map afresh, and the kernel fault in and zero, for every request.
/// (At most 8: one per request in flight, roughly.)
static SPARE_VECTORS: crate::spare::Spares<(Vec<WriteSample<'static>>, Vec<u64>)> =
    crate::spare::Spares::new(8);

/// Vectors larger than this many samples are not kept (a rare huge body
/// would otherwise pin its memory).
const MAX_SPARE_SAMPLES: usize = 1 << 16;

/// Empty sample and line vectors with room for `cap`, reused if possible.
fn take_vectors<'a>(cap: usize) -> (Vec<WriteSample<'a>>, Vec<u64>) {
    let spare = SPARE_VECTORS.take();
    // `WriteSample<'static>` is a `WriteSample<'a>`: no conversion needed.
    let (mut samples, mut lines): (Vec<WriteSample<'a>>, Vec<u64>) = spare.unwrap_or_default();
    samples.reserve(cap);
    lines.reserve(cap);
    (samples, lines)
}

/// Gives vectors back for [`take_vectors`] (emptied; too large ones are freed).
fn give_back_vectors(samples: Vec<WriteSample<'_>>, mut lines: Vec<u64>) {
    if samples.capacity() > MAX_SPARE_SAMPLES {
        return;
    }
    let samples = emptied(samples);
    lines.clear();
    SPARE_VECTORS.give_back((samples, lines));
}

/// `samples` emptied and retyped to 'static by an in-place collect, which
/// keeps the allocation (same layout); should it not, the pool refills.
fn emptied(samples: Vec<WriteSample<'_>>) -> Vec<WriteSample<'static>> {
    samples
        .into_iter()
        .filter(|_| false)
        .map(|s| WriteSample {
            db: "",
            metric: "",
            ts: s.ts,
            value: s.value,
        })
        .collect()
}

/// [`parse_lines`] on one thread, numbering lines from `first_line`.
fn parse_from<'a>(body: &'a [u8], first_line: u64, opts: &LineOptions<'a>) -> ParsedBody<'a> {
    let (samples, lines) = take_vectors(body.len() / 40);
    let mut out = ParsedBody {
        samples,
        lines,
        bad: Vec::new(),
    };
    // One UTF-8 check for the whole body instead of one per line; a body
    // with invalid bytes is checked line by line to name the bad lines.
    match std::str::from_utf8(body) {
        Ok(text) => {
            // One ASCII check for the body: its lines skip the per-line one.
            let ascii = text.is_ascii();
            let mut start = 0;
            // memchr's vector search: `split('\n')` scans char by char.
            let ends = memchr::memchr_iter(b'\n', body).chain(std::iter::once(body.len()));
            for (n, end) in (first_line..).zip(ends) {
                // Cut at an ASCII newline: always a char boundary.
                let line = text.get(start..end).unwrap_or_default();
                parse_one(line, n, opts, ascii, &mut out);
                start = end + 1;
            }
        }
        Err(_) => {
            for (i, raw) in body.split(|&b| b == b'\n').enumerate() {
                let n = first_line + i as u64;
                match std::str::from_utf8(raw) {
                    Ok(line) => parse_one(line, n, opts, false, &mut out),
                    Err(_) => out.bad.push((n, "line is not valid UTF-8".to_string())),
                }
            }
        }
    }
    out
}

/// Parses line `n` into `out`; `ascii`: the line is known to be ASCII.
#[inline]
fn parse_one<'a>(
    line: &'a str,
    n: u64,
    opts: &LineOptions<'a>,
    ascii: bool,
    out: &mut ParsedBody<'a>,
) {
    if line.len() > MAX_LINE {
        out.bad
            .push((n, format!("line longer than {MAX_LINE} bytes")));
        return;
    }
    let text = if ascii {
        nanotdb::lineproto::trim_ascii_ws(line)
    } else {
        line.trim()
    };
    if text.is_empty() || text.starts_with('#') {
        return;
    }
    let parsed = match (ascii, opts.db) {
        (true, db) => nanotdb::lineproto::parse_ascii_line(text, db),
        (false, None) => nanotdb::lineproto::parse_line(text),
        (false, Some(db)) => nanotdb::lineproto::parse_line_in(text, db),
    };
    let l = match parsed {
        Ok(l) => l,
        Err(e) => return out.bad.push((n, e.to_string())),
    };
    let ts = match l.ts {
        None => opts.now,
        Some(ts) => match timestamp_in(text, ts, opts.unit, opts.now) {
            Ok(ts) => ts,
            Err(e) => return out.bad.push((n, e)),
        },
    };
    out.samples.push(WriteSample {
        db: l.db,
        metric: l.metric,
        ts,
        value: l.value,
    });
    out.lines.push(n);
}

/// Writes all samples or none. A body with unparsable lines stores nothing,
/// but its other lines still get the engine's verdict (a dry run of the
/// atomic write), so the error lists every bad line at once.
pub fn write_all_or_nothing(
    engine: &nanotdb::Engine,
    parsed: ParsedBody<'_>,
) -> Result<u64, ApiError> {
    let ParsedBody {
        samples,
        lines,
        bad,
    } = parsed;
    let result = write_or_explain(engine, &samples, &lines, bad);
    give_back_vectors(samples, lines);
    result
}

/// [`write_all_or_nothing`] of samples and their line numbers.
fn write_or_explain(
    engine: &nanotdb::Engine,
    samples: &[WriteSample<'_>],
    lines: &[u64],
    mut bad: Vec<(u64, String)>,
) -> Result<u64, ApiError> {
    if samples.is_empty() && bad.is_empty() {
        return Ok(0);
    }
    let report = if bad.is_empty() {
        engine.write_atomic(samples)
    } else {
        engine.validate(samples)
    }
    .map_err(|e| ApiError::from_engine(&e))?;
    for (idx, e) in report.rejected {
        if let Some(&line) = lines.get(idx) {
            bad.push((line, e.to_string()));
        }
    }
    if bad.is_empty() {
        // A retried request is acknowledged whole: its samples already
        // stored count as accepted (they are not stored twice).
        return Ok(report.accepted + report.duplicates);
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

/// `POST /api/v1/import[?db=NAME]`: with `db`, every line goes into that
/// database (a line's own `db/` prefix is replaced; a bare `metric` is allowed).
pub async fn import_lines(State(st): State<SharedState>, req: Request) -> ApiResult {
    let db = db_param(req.uri())?;
    let params = crate::params::Params::parse(req.uri().query().unwrap_or("").as_bytes());
    let unit = TsUnit::from_param(params.get_trimmed("precision")).map_err(ApiError::bad_data)?;
    let json = content_type_is(req.headers(), "application/json");
    let (parts, body) = req.into_parts();
    let body = limits::read_body_reusing(&parts.headers, body, st.settings.max_body_bytes).await?;
    let body = if json {
        #[derive(serde::Deserialize)]
        struct Lines {
            #[serde(default)]
            lines: String,
        }
        let l: Result<Lines, _> = serde_json::from_slice(&body);
        limits::give_back_body(body);
        l.map_err(|e| ApiError::bad_data(format!("invalid JSON body: {e}")))?
            .lines
            .into_bytes()
    } else {
        body
    };
    count_request(&st, body.len());
    let st2 = st.clone();
    let res = blocking(move || {
        let opts = LineOptions {
            now: nanotdb::time::now_ns(),
            db: db.as_deref(),
            unit,
        };
        let parsed = parse_lines(&body, &opts);
        let res = write_all_or_nothing(&st2.engine, parsed);
        limits::give_back_body(body);
        res
    })
    .await?;
    finish(&st, res)
}

/// Counts an ingest request and its body bytes for `/metrics`.
fn count_request(st: &SharedState, bytes: usize) {
    let m = &st.metrics;
    m.ingest_requests.fetch_add(1, Ordering::Relaxed);
    m.ingest_bytes.fetch_add(bytes as u64, Ordering::Relaxed);
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

/// The value a Prometheus sample is stored as: float64, or float32 into a
/// metric that already has that type (written by v1.4.0 or an earlier
/// version), so old series keep working.
fn prom_value(v: f64, existing: Option<nanotdb::ValueType>) -> Result<Value, String> {
    if existing != Some(nanotdb::ValueType::Float32) {
        return Ok(Value::F64(v));
    }
    let f = v as f32;
    if v.is_finite() && !f.is_finite() {
        return Err(format!(
            "value {v} out of float32 range (the metric is float32)"
        ));
    }
    Ok(Value::F32(f))
}

/// `POST /api/v1/import/prometheus[?db=NAME]`.
pub async fn import_prometheus(State(st): State<SharedState>, req: Request) -> ApiResult {
    let db = db_param(req.uri())?;
    let (parts, body) = req.into_parts();
    let body = limits::read_body(&parts.headers, body, st.settings.max_body_bytes).await?;
    count_request(&st, body.len());
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
        let mut out = ParsedBody {
            samples: Vec::with_capacity(samples.len()),
            lines: Vec::with_capacity(samples.len()),
            bad,
        };
        let mut types = std::collections::HashMap::new();
        for s in &samples {
            let vt = *types
                .entry((s.db.as_str(), s.metric.as_str()))
                .or_insert_with(|| st2.engine.metric_type(&s.db, &s.metric).ok().flatten());
            match prom_value(s.value, vt) {
                Ok(value) => {
                    out.samples.push(WriteSample {
                        db: &s.db,
                        metric: &s.metric,
                        ts: s.ts,
                        value,
                    });
                    out.lines.push(s.line);
                }
                Err(e) => out.bad.push((s.line, e)),
            }
        }
        let parsed = out;
        write_all_or_nothing(&st2.engine, parsed)
    })
    .await?;
    finish(&st, res)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(now: i64) -> LineOptions<'static> {
        LineOptions {
            now,
            db: None,
            unit: TsUnit::Explicit(1),
        }
    }

    #[test]
    fn timestamps_in_the_wrong_unit_are_refused_naming_the_unit() {
        let now = 1_767_225_600_000_000_000;
        let assumed = |line: &str, ts| timestamp_in(line, ts, TsUnit::AssumedNs, now);
        assert_eq!(assumed("d/m 1 1767225600000000000", now), Ok(now));
        assert_eq!(
            assumed("d/m 1 1767225600", 1_767_225_600).unwrap_err(),
            "timestamp 1767225600 read as nanoseconds is 1970-01-01T00:00:01.7672256Z, before 1980 \
             or more than a year ahead (as s it is 2026-01-01T00:00:00Z: add precision=s); add \
             precision=ns to store it anyway"
        );
        assert!(
            assumed("d/m 1 1767225600000", 1_767_225_600_000)
                .unwrap_err()
                .contains("add precision=ms")
        );
        // Dates are not in a unit.
        assert_eq!(
            assumed("d/m 1 1970-01-02", 86_400_000_000_000),
            Ok(86_400_000_000_000)
        );
        let s = TsUnit::from_param(Some("s")).unwrap();
        assert_eq!(
            timestamp_in("d/m 1 1767225600", 1_767_225_600, s, now),
            Ok(now)
        );
        assert!(timestamp_in("d/m 1 9223372036854775807", i64::MAX, s, now).is_err());
        assert_eq!(TsUnit::from_param(Some("ns")), Ok(TsUnit::Explicit(1)));
        assert!(TsUnit::from_param(Some("fortnight")).is_err());
    }

    #[test]
    fn parse_lines_numbers_and_skips() {
        let body = b"# c\n\nedge/a 1 5\r\nbad\nedge/b 2i\n\xff\n";
        let p = parse_lines(body, &opts(9));
        assert_eq!(p.samples.len(), 2);
        assert_eq!(p.lines, vec![3, 5]);
        assert_eq!(p.samples[0].ts, 5);
        assert_eq!(p.samples[1].ts, 9);
        assert_eq!(p.samples[1].value, Value::I32(2));
        let lines: Vec<u64> = p.bad.iter().map(|b| b.0).collect();
        assert_eq!(lines, vec![4, 6]);
    }

    #[test]
    fn emptied_vectors_keep_their_allocation() {
        let text = String::from("m");
        let mut v = Vec::with_capacity(5_000);
        v.push(WriteSample {
            db: &text,
            metric: &text,
            ts: 1,
            value: nanotdb::Value::I32(1),
        });
        let (ptr, cap) = (v.as_ptr() as usize, v.capacity());
        let e = emptied(v);
        assert!(e.is_empty());
        assert_eq!((e.as_ptr() as usize, e.capacity()), (ptr, cap));
    }

    #[test]
    fn parallel_parse_numbers_lines_across_the_cut() {
        // Over PARALLEL_PARSE_BYTES, so parsed in two halves.
        let mut body = String::new();
        for i in 0..4000u64 {
            match i {
                10 | 3990 => body.push_str("garbage\n"),
                2000 => body.push_str("edge/x 1 \u{e9}\n"),
                _ => body.push_str(&format!("edge/m{} {i} {i}\n", i % 7)),
            }
        }
        let mut bytes = body.into_bytes();
        bytes.extend_from_slice(b"\xff\nedge/last 1 1");
        assert!(bytes.len() >= PARALLEL_PARSE_BYTES);
        let p = parse_halves(&bytes, &opts(0));
        let whole = parse_from(&bytes, 1, &opts(0));
        assert_eq!(p.lines, whole.lines);
        assert_eq!(p.bad, whole.bad);
        assert_eq!(p.samples.len(), 3997 + 1);
        assert_eq!(p.samples.len(), p.lines.len());
        for (s, &n) in p.samples.iter().zip(&p.lines).take(3997) {
            assert_eq!(s.ts as u64 + 1, n, "line number of sample {s:?}");
        }
        assert_eq!(p.lines.last(), Some(&4002));
        let bad: Vec<u64> = p.bad.iter().map(|b| b.0).collect();
        assert_eq!(bad, vec![11, 2001, 3991, 4001]);
    }
}
