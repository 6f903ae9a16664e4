//! `nanocli query` (read-only): raw samples, last values or windowed
//! aggregates, as a table, JSON or CSV, streamed in constant memory.

use std::io::{BufWriter, Write};
use std::ops::ControlFlow;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use nanotdb::{Engine, Value, ValueType, lineproto, time};
use regex::Regex;
use serde::Serialize;

use crate::timearg::parse_time_arg;

/// Output format.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Aligned columns.
    Table,
    /// One JSON document, streamed.
    Json,
    /// Comma-separated values with a header row.
    Csv,
}

/// Arguments of `nanocli query`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    at: crate::DbArgs,
    /// Regular expression selecting metric names (unanchored).
    #[arg(long, default_value = ".*")]
    metric: String,
    /// Range start (inclusive). Without --start and --end, last values are shown.
    #[arg(long, allow_hyphen_values = true)]
    start: Option<String>,
    /// Range end (inclusive); unbounded when absent. A negative duration
    /// (`-1h`) means the future.
    #[arg(long, allow_hyphen_values = true)]
    end: Option<String>,
    /// Aggregates, comma-separated (avg,count,max,median,min,p50,p95,p99,sum,trimmed_avg);
    /// needs --window and --start, and a --metric matching exactly one metric.
    #[arg(long, value_name = "LIST", requires = "window")]
    aggregate: Option<String>,
    /// Aggregation window (Go duration, e.g. 5m, 1h).
    #[arg(long, value_name = "DUR", requires = "aggregate")]
    window: Option<String>,
    /// Read metric files when present (config/on, the default) or raw files only (off).
    #[arg(long, value_name = "config|on|off", default_value = "config")]
    metric_files: String,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// Same as --format json.
    #[arg(long)]
    json: bool,
}

/// One output row.
#[derive(Serialize)]
struct Row<'a> {
    metric: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    aggregate: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    window: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    start_ns: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    start_utc: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    end_ns: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    end_utc: Option<String>,
    timestamp_ns: i64,
    timestamp_utc: String,
    value_type: &'static str,
    value: String,
}

/// The value as the HTTP API prints it: int32/int64 plain decimal,
/// float32/float64 the shortest round-tripping decimal, NaN, +Inf, -Inf.
pub fn value_string(v: Value) -> String {
    match v {
        Value::I32(i) => i.to_string(),
        Value::I64(i) => i.to_string(),
        Value::F32(_) | Value::F64(_) => {
            let mut b = Vec::with_capacity(16);
            lineproto::write_value(&mut b, v);
            String::from_utf8_lossy(&b).into_owned()
        }
    }
}

/// Streams rows in the chosen format.
struct Out<W: Write> {
    w: W,
    format: Format,
    aggregate: bool,
    width: usize,
    rows: u64,
}

impl<W: Write> Out<W> {
    fn header(&mut self, prefix_json: &str) -> std::io::Result<()> {
        let width = self.width;
        match (self.format, self.aggregate) {
            (Format::Table, false) => writeln!(
                self.w,
                "{:<width$}  {:>20}  {:<29}  {:<7}  VALUE",
                "METRIC", "TS_NS", "TS_UTC", "TYPE"
            ),
            (Format::Table, true) => writeln!(
                self.w,
                "{:<width$}  {:<15}  {:<10}  {:>20}  {:<29}  {:>20}  {:<29}  {:<7}  VALUE",
                "METRIC", "AGG", "WINDOW", "START_NS", "START_UTC", "END_NS", "END_UTC", "TYPE"
            ),
            (Format::Csv, false) => {
                writeln!(self.w, "metric,timestamp_ns,timestamp_utc,value_type,value")
            }
            (Format::Csv, true) => writeln!(
                self.w,
                "metric,aggregate,window,start_ns,start_utc,end_ns,end_utc,value_type,value"
            ),
            (Format::Json, _) => write!(self.w, "{prefix_json}\"rows\":["),
        }
    }

    fn row(&mut self, r: &Row<'_>) -> std::io::Result<()> {
        let width = self.width;
        match (self.format, self.aggregate) {
            (Format::Table, false) => writeln!(
                self.w,
                "{:<width$}  {:>20}  {:<29}  {:<7}  {}",
                r.metric, r.timestamp_ns, r.timestamp_utc, r.value_type, r.value
            )?,
            (Format::Table, true) => writeln!(
                self.w,
                "{:<width$}  {:<15}  {:<10}  {:>20}  {:<29}  {:>20}  {:<29}  {:<7}  {}",
                r.metric,
                r.aggregate.unwrap_or("-"),
                r.window.unwrap_or("-"),
                r.start_ns.unwrap_or_default(),
                r.start_utc.as_deref().unwrap_or("-"),
                r.end_ns.unwrap_or_default(),
                r.end_utc.as_deref().unwrap_or("-"),
                r.value_type,
                r.value
            )?,
            (Format::Csv, false) => writeln!(
                self.w,
                "{},{},{},{},{}",
                csv_field(r.metric),
                r.timestamp_ns,
                r.timestamp_utc,
                r.value_type,
                r.value
            )?,
            (Format::Csv, true) => writeln!(
                self.w,
                "{},{},{},{},{},{},{},{},{}",
                csv_field(r.metric),
                r.aggregate.unwrap_or(""),
                r.window.unwrap_or(""),
                r.start_ns.unwrap_or_default(),
                r.start_utc.as_deref().unwrap_or(""),
                r.end_ns.unwrap_or_default(),
                r.end_utc.as_deref().unwrap_or(""),
                r.value_type,
                r.value
            )?,
            (Format::Json, _) => {
                if self.rows > 0 {
                    self.w.write_all(b",")?;
                }
                serde_json::to_writer(&mut self.w, r).map_err(std::io::Error::from)?;
            }
        }
        self.rows += 1;
        Ok(())
    }

    fn footer(&mut self, ms: u128) -> std::io::Result<()> {
        match self.format {
            Format::Table => writeln!(self.w, "rows={} duration_ms={ms}", self.rows),
            Format::Csv => Ok(()),
            Format::Json => writeln!(
                self.w,
                "],\"row_count\":{},\"duration_ms\":{ms}}}",
                self.rows
            ),
        }?;
        self.w.flush()
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn json(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// Runs the command.
pub fn run(a: Args) -> Result<ExitCode> {
    let root = crate::resolve_root(&a.at.root, false)?;
    let db = crate::normalize_db(&a.at.db)?;
    let re = Regex::new(&a.metric).map_err(|e| anyhow!("invalid --metric regex: {e}"))?;
    let now = time::now_ns();
    let start = a
        .start
        .as_deref()
        .map(|s| parse_time_arg(s, now))
        .transpose()
        .context("--start")?;
    let end = a
        .end
        .as_deref()
        .map(|s| parse_time_arg(s, now))
        .transpose()
        .context("--end")?;
    let range = (start.is_some() || end.is_some())
        .then(|| (start.unwrap_or(i64::MIN), end.unwrap_or(i64::MAX)));
    if let Some((s, e)) = range
        && e < s
    {
        bail!("--end must be >= --start");
    }
    let aggregate = parse_aggregate(&a, start.is_some())?;
    let format = if a.json { Format::Json } else { a.format };
    let engine =
        Engine::open_read_only(&root).with_context(|| format!("open {}", root.display()))?;
    // `config` is the engine's default, which always prefers metric files.
    match a.metric_files.as_str() {
        "config" | "on" => engine.set_prefer_metric_files(true),
        "off" => engine.set_prefer_metric_files(false),
        other => bail!("invalid --metric-files {other:?}: want config, on or off"),
    }
    let metrics: Vec<(String, ValueType)> = engine
        .metrics(&db)?
        .into_iter()
        .filter(|m| re.is_match(&m.name))
        .map(|m| (m.name, m.value_type))
        .collect();
    if aggregate.is_some() && metrics.len() != 1 {
        bail!(
            "aggregate queries require exactly one matching metric, got {}",
            metrics.len()
        );
    }
    let started = Instant::now();
    let stdout = std::io::stdout();
    let mut out = Out {
        w: BufWriter::new(stdout.lock()),
        format,
        aggregate: aggregate.is_some(),
        width: metrics.iter().map(|m| m.0.len()).max().unwrap_or(6).max(6),
        rows: 0,
    };
    let mut prefix = format!(
        "{{\"root_dir\":{},\"database\":{},\"metric_regex\":{},",
        json(&root.display().to_string()),
        json(&db),
        json(&a.metric)
    );
    if let Some((s, e)) = range {
        prefix.push_str(&format!("\"start_ns\":{s},\"end_ns\":{e},"));
    }
    prefix.push_str("\"output_format\":\"json\",");
    out.header(&prefix)?;
    match &aggregate {
        Some((names, window)) => {
            let (from, to) = range.unwrap_or((i64::MIN, i64::MAX));
            let q = AggregateQuery {
                db: &db,
                metric: &metrics[0].0,
                names,
                window: *window,
                from,
                to,
            };
            write_aggregate_rows(&engine, &q, &mut out)?;
        }
        None => write_sample_rows(&engine, &db, &metrics, range, &mut out)?,
    }
    out.footer(started.elapsed().as_millis())?;
    Ok(ExitCode::SUCCESS)
}

/// `--aggregate LIST --window DUR` as (names, window ns); None without them.
fn parse_aggregate(a: &Args, has_start: bool) -> Result<Option<(Vec<String>, i64)>> {
    let (Some(list), Some(w)) = (&a.aggregate, &a.window) else {
        return Ok(None);
    };
    if !has_start {
        bail!("aggregate queries require --start");
    }
    let window = time::parse_go_duration(w.trim()).map_err(|e| anyhow!("invalid --window: {e}"))?;
    if window <= 0 {
        bail!("invalid --window: must be > 0");
    }
    let names: Vec<String> = list
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    Ok(Some((names, window)))
}

/// One aggregate query of one metric.
struct AggregateQuery<'a> {
    db: &'a str,
    metric: &'a str,
    names: &'a [String],
    window: i64,
    from: i64,
    to: i64,
}

/// Aggregate rows, sorted by aggregate, then time. Aggregate output is small
/// (one row per window and aggregate), so it is collected first.
fn write_aggregate_rows<W: Write>(
    engine: &Engine,
    q: &AggregateQuery<'_>,
    out: &mut Out<W>,
) -> Result<()> {
    let refs: Vec<&str> = q.names.iter().map(String::as_str).collect();
    let mut rows: Vec<(usize, i64, i64, f64)> = Vec::new();
    engine.query_aggregate(q.db, q.metric, q.from, q.to, q.window, &refs, |r| {
        rows.push((r.index, r.start, r.end, r.value));
        ControlFlow::Continue(())
    })?;
    let mut canonical: Vec<&str> = Vec::new();
    for n in &refs {
        if !canonical.contains(n) {
            canonical.push(n);
        }
    }
    rows.sort_by(|x, y| (canonical.get(x.0), x.1).cmp(&(canonical.get(y.0), y.1)));
    let window_go = time::format_go_duration(q.window);
    // float32 as in v1.4.0, float64 for the 8-byte types (docs/FORMATS.md §5.5).
    let wide = engine
        .metric_type(q.db, q.metric)?
        .is_some_and(|t| t.is_wide());
    for (idx, s, e, v) in rows {
        out.row(&Row {
            metric: q.metric,
            aggregate: canonical.get(idx).copied(),
            window: Some(&window_go),
            start_ns: Some(s),
            start_utc: Some(time::format_timestamp_string(s)),
            end_ns: Some(e),
            end_utc: Some(time::format_timestamp_string(e)),
            timestamp_ns: e,
            timestamp_utc: time::format_timestamp_string(e),
            value_type: if wide { "float64" } else { "float32" },
            value: value_string(if wide {
                Value::F64(v)
            } else {
                Value::F32(v as f32)
            }),
        })?;
    }
    Ok(())
}

/// Raw samples of every metric in `range`, or each metric's last value
/// without a range; streamed.
fn write_sample_rows<W: Write>(
    engine: &Engine,
    db: &str,
    metrics: &[(String, ValueType)],
    range: Option<(i64, i64)>,
    out: &mut Out<W>,
) -> Result<()> {
    let mut io_err: Option<std::io::Error> = None;
    for (name, vt) in metrics {
        let emit = |s: nanotdb::Sample, out: &mut Out<W>| {
            out.row(&Row {
                metric: name,
                aggregate: None,
                window: None,
                start_ns: None,
                start_utc: None,
                end_ns: None,
                end_utc: None,
                timestamp_ns: s.ts,
                timestamp_utc: time::format_timestamp_string(s.ts),
                value_type: vt.as_str(),
                value: value_string(s.value),
            })
        };
        match range {
            Some((from, to)) => {
                engine.query_range(db, name, from, to, 1, |s| match emit(s, out) {
                    Ok(()) => ControlFlow::Continue(()),
                    Err(e) => {
                        io_err = Some(e);
                        ControlFlow::Break(())
                    }
                })?;
            }
            None => {
                if let Some(s) = engine.query_last(db, name)? {
                    emit(s, out)?;
                }
            }
        }
        if let Some(e) = io_err.take() {
            return Err(e.into());
        }
    }
    Ok(())
}
