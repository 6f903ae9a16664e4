//! `nanocli query` (read-only).

use std::io::{BufWriter, Write};
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use nanotdb::{Engine, Sample, Value, ValueType, lineproto, time};
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
}

/// Arguments of `nanocli query`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Data directory.
    #[arg(long)]
    root: PathBuf,
    /// Database to query.
    #[arg(long)]
    db: String,
    /// Regular expression selecting metric names (unanchored).
    #[arg(long, default_value = ".*")]
    metric: String,
    /// Range start (inclusive). Without --start and --end, last values are shown.
    #[arg(long)]
    start: Option<String>,
    /// Range end (inclusive); unbounded when absent.
    #[arg(long)]
    end: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// Same as --format json.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Row<'a> {
    metric: &'a str,
    timestamp_ns: i64,
    timestamp_utc: String,
    value_type: &'static str,
    value: String,
}

/// The value as the HTTP API prints it: int32 plain decimal, float32 the
/// shortest round-tripping decimal, NaN, +Inf, -Inf.
pub fn value_string(v: Value) -> String {
    match v {
        Value::I32(i) => i.to_string(),
        Value::F32(_) => {
            let mut b = Vec::with_capacity(16);
            lineproto::write_value(&mut b, v);
            String::from_utf8_lossy(&b).into_owned()
        }
    }
}

/// Runs the command.
pub fn run(a: Args) -> Result<ExitCode> {
    let root = crate::resolve_root(&a.root, false)?;
    let db = crate::normalize_db(&a.db)?;
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
    let format = if a.json { Format::Json } else { a.format };
    let engine =
        Engine::open_read_only(&root).with_context(|| format!("open {}", root.display()))?;
    let metrics: Vec<(String, ValueType)> = engine
        .metrics(&db)?
        .into_iter()
        .filter(|m| re.is_match(&m.name))
        .map(|m| (m.name, m.value_type))
        .collect();
    let started = Instant::now();
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let width = metrics.iter().map(|m| m.0.len()).max().unwrap_or(6).max(6);
    let mut rows = 0u64;
    let mut io_err: Option<std::io::Error> = None;
    match format {
        Format::Table => writeln!(
            out,
            "{:<width$}  {:>20}  {:<29}  {:<7}  VALUE",
            "METRIC", "TS_NS", "TS_UTC", "TYPE"
        )?,
        Format::Json => {
            write!(
                out,
                "{{\"root_dir\":{},\"database\":{},\"metric_regex\":{},",
                json(&root.display().to_string()),
                json(&db),
                json(&a.metric)
            )?;
            if let Some((s, e)) = range {
                write!(out, "\"start_ns\":{s},\"end_ns\":{e},")?;
            }
            write!(out, "\"output_format\":\"json\",\"rows\":[")?;
        }
    }
    let emit = |name: &str,
                vt: ValueType,
                s: Sample,
                first: bool,
                out: &mut BufWriter<_>|
     -> std::io::Result<()> {
        let utc = time::format_timestamp_string(s.ts);
        match format {
            Format::Table => writeln!(
                out,
                "{name:<width$}  {:>20}  {utc:<29}  {:<7}  {}",
                s.ts,
                vt.as_str(),
                value_string(s.value)
            ),
            Format::Json => {
                if !first {
                    out.write_all(b",")?;
                }
                let row = Row {
                    metric: name,
                    timestamp_ns: s.ts,
                    timestamp_utc: utc,
                    value_type: vt.as_str(),
                    value: value_string(s.value),
                };
                serde_json::to_writer(&mut *out, &row).map_err(std::io::Error::other)
            }
        }
    };
    for (name, vt) in &metrics {
        match range {
            Some((from, to)) => {
                engine.query_range(&db, name, from, to, 1, |s| {
                    match emit(name, *vt, s, rows == 0, &mut out) {
                        Ok(()) => {
                            rows += 1;
                            ControlFlow::Continue(())
                        }
                        Err(e) => {
                            io_err = Some(e);
                            ControlFlow::Break(())
                        }
                    }
                })?;
            }
            None => {
                if let Some(s) = engine.query_last(&db, name)? {
                    emit(name, *vt, s, rows == 0, &mut out)?;
                    rows += 1;
                }
            }
        }
        if let Some(e) = io_err.take() {
            return Err(e.into());
        }
    }
    let ms = started.elapsed().as_millis();
    match format {
        Format::Table => writeln!(out, "rows={rows} duration_ms={ms}")?,
        Format::Json => writeln!(out, "],\"row_count\":{rows},\"duration_ms\":{ms}}}")?,
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn json(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}
