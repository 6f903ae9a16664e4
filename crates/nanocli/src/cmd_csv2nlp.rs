//! `nanocli csv2nlp`: VictoriaMetrics-style CSV exports → time-sorted line
//! protocol (docs/BEHAVIOUR.md §3.10). No engine, no `--root`.
//!
//! Each `*.csv` file of `--in-dir` (name order) has a header row and rows
//! `metric, sensor, value, timestamp_ms`. Rows are sorted per file by
//! (timestamp, metric, row order) and merged across files by (timestamp,
//! metric, file index), so the output can be imported as it is.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use serde::{Deserialize, Serialize};

/// Arguments of `nanocli csv2nlp`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Directory holding the `*.csv` files (not recursive).
    #[arg(long, value_name = "DIR")]
    in_dir: PathBuf,
    /// Output line-protocol file.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Database name for every line.
    #[arg(long)]
    db: String,
    /// Metadata JSON: {"metrics":{"<file base>":{"enabled","metric","value_type","scale","append_sensor"}}}.
    #[arg(long, value_name = "JSON")]
    meta: Option<PathBuf>,
    /// Append to the output, writing only rows newer than its last line.
    #[arg(long)]
    append: bool,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Deserialize, Default)]
struct Meta {
    #[serde(default)]
    metrics: HashMap<String, MetricMeta>,
}

#[derive(Deserialize, Clone)]
struct MetricMeta {
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default)]
    metric: String,
    #[serde(default)]
    value_type: String,
    #[serde(default)]
    scale: f64,
    #[serde(default = "yes")]
    append_sensor: bool,
}

fn yes() -> bool {
    true
}

impl Default for MetricMeta {
    fn default() -> Self {
        MetricMeta {
            enabled: true,
            metric: String::new(),
            value_type: String::new(),
            scale: 0.0,
            append_sensor: true,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Int,
    Float,
}

/// One converted row before the per-metric mode is known.
struct Row {
    ts_ms: i64,
    metric: String,
    value: f64,
    mode: Mode,
}

#[derive(Serialize)]
struct Summary {
    input_dir: String,
    output_file: String,
    database: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata_file: Option<String>,
    append_mode: bool,
    files_seen: usize,
    files_included: usize,
    files_skipped: usize,
    rows_written: u64,
    duration_ms: u128,
}

/// Keeps letters, digits, `.`, `-`, `_`, `/`; any other run becomes one
/// `_`; leading/trailing `_ . - /` are trimmed.
pub fn sanitize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_bad = false;
    for c in s.chars() {
        if c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | '/') {
            out.push(c);
            in_bad = false;
        } else if !in_bad {
            out.push('_');
            in_bad = true;
        }
    }
    out.trim_matches(|c| matches!(c, '_' | '.' | '-' | '/'))
        .to_string()
}

fn convert_file(
    path: &Path,
    base: &str,
    meta: &MetricMeta,
    cutoff_ms: Option<i64>,
) -> Result<Vec<Row>> {
    let scale = if meta.scale == 0.0 { 1.0 } else { meta.scale };
    let vt = meta.value_type.trim().to_ascii_lowercase();
    if !matches!(vt.as_str(), "" | "auto" | "int" | "float") {
        bail!(
            "{}: value_type must be auto, int or float, got {:?}",
            path.display(),
            meta.value_type
        );
    }
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_path(path)
        .with_context(|| format!("open {}", path.display()))?;
    let mut rows = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let line = i + 1;
        let rec = rec.map_err(|e| anyhow!("{}:{line}: {e}", path.display()))?;
        if line == 1 {
            if rec.len() < 4 {
                bail!(
                    "{}:1: header needs at least 4 columns, got {}",
                    path.display(),
                    rec.len()
                );
            }
            continue;
        }
        if rec.len() < 4 {
            bail!(
                "{}:{line}: row needs 4 columns (metric, sensor, value, timestamp_ms), got {}",
                path.display(),
                rec.len()
            );
        }
        let raw_metric = if !meta.metric.trim().is_empty() {
            meta.metric.trim()
        } else if !rec[0].trim().is_empty() {
            rec[0].trim()
        } else {
            base
        };
        let mut metric = sanitize(raw_metric);
        let sensor = sanitize(rec[1].trim());
        if meta.append_sensor && !sensor.is_empty() {
            metric = format!("{metric}.{sensor}");
        }
        if metric.is_empty() {
            bail!("{}:{line}: empty metric name", path.display());
        }
        let text = rec[2].trim();
        let value: f64 = text
            .parse()
            .map_err(|_| anyhow!("{}:{line}: invalid value {text:?}", path.display()))?;
        let ts_text = rec[3].trim();
        let ts_ms: i64 = ts_text.parse().map_err(|_| {
            anyhow!(
                "{}:{line}: invalid timestamp_ms {ts_text:?}",
                path.display()
            )
        })?;
        if ts_ms.checked_mul(1_000_000).is_none() {
            bail!(
                "{}:{line}: timestamp_ms {ts_ms} out of range",
                path.display()
            );
        }
        if cutoff_ms.is_some_and(|c| ts_ms <= c) {
            continue;
        }
        let mode = match vt.as_str() {
            "float" => Mode::Float,
            "int" => {
                let r = (value * scale).round();
                if !(f64::from(i32::MIN)..=f64::from(i32::MAX)).contains(&r) {
                    bail!(
                        "{}:{line}: value {text} x {scale} does not fit int32",
                        path.display()
                    );
                }
                Mode::Int
            }
            _ if scale == 1.0 && text.parse::<i32>().is_ok() => Mode::Int,
            _ => Mode::Float,
        };
        rows.push(Row {
            ts_ms,
            metric,
            value: value * scale,
            mode,
        });
    }
    // A metric whose rows disagree on the mode is float throughout.
    let mut modes: HashMap<&str, Mode> = HashMap::new();
    for r in &rows {
        let m = modes.entry(r.metric.as_str()).or_insert(r.mode);
        if *m != r.mode {
            *m = Mode::Float;
        }
    }
    let modes: HashMap<String, Mode> = modes.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    for r in &mut rows {
        r.mode = modes[r.metric.as_str()];
    }
    // Stable sort keeps row order for equal (timestamp, metric).
    rows.sort_by(|a, b| (a.ts_ms, &a.metric).cmp(&(b.ts_ms, &b.metric)));
    Ok(rows)
}

fn format_line(db: &str, r: &Row) -> String {
    match r.mode {
        Mode::Int => format!(
            "{db}/{} {}i {}",
            r.metric,
            r.value.round() as i64,
            r.ts_ms * 1_000_000
        ),
        Mode::Float => format!("{db}/{} {} {}", r.metric, r.value, r.ts_ms * 1_000_000),
    }
}

/// Timestamp (ms) of the last parseable line of an existing output file.
fn append_cutoff(path: &Path) -> Result<Option<i64>> {
    let f = match fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("open {}", path.display())),
    };
    let mut last = None;
    for line in BufReader::new(f).lines() {
        let line = line?;
        if let Some(ns) = line
            .split_whitespace()
            .nth(2)
            .and_then(|t| t.parse::<i64>().ok())
        {
            last = Some(ns.div_euclid(1_000_000));
        }
    }
    Ok(last)
}

/// Runs the command.
pub fn run(a: Args) -> Result<ExitCode> {
    let started = Instant::now();
    let db = crate::normalize_db(&a.db)?;
    nanotdb::names::validate_db_name(&db)?;
    let meta: Meta = match &a.meta {
        Some(p) => {
            serde_json::from_slice(&fs::read(p).with_context(|| format!("read {}", p.display()))?)
                .with_context(|| format!("parse {}", p.display()))?
        }
        None => Meta::default(),
    };
    let mut files: Vec<PathBuf> = fs::read_dir(&a.in_dir)
        .with_context(|| format!("read {}", a.in_dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv")))
        .collect();
    files.sort();
    let cutoff = if a.append {
        append_cutoff(&a.out)?
    } else {
        None
    };
    // Per-file sorted rows, merged by (timestamp, metric, file index).
    let mut per_file: Vec<std::vec::IntoIter<Row>> = Vec::new();
    let mut skipped = 0usize;
    for p in &files {
        let base = p
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let m = meta.metrics.get(&base).cloned().unwrap_or_default();
        if !m.enabled || fs::metadata(p)?.len() == 0 {
            skipped += 1;
            continue;
        }
        let rows = convert_file(p, &base, &m, cutoff)?;
        if rows.is_empty() {
            skipped += 1;
            continue;
        }
        per_file.push(rows.into_iter());
    }
    let out_file = if a.append {
        fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&a.out)
    } else {
        fs::File::create(&a.out)
    }
    .with_context(|| format!("open {}", a.out.display()))?;
    let mut w = BufWriter::new(out_file);
    let mut heads: BTreeMap<(i64, String, usize), Row> = BTreeMap::new();
    for (i, it) in per_file.iter_mut().enumerate() {
        if let Some(r) = it.next() {
            heads.insert((r.ts_ms, r.metric.clone(), i), r);
        }
    }
    let mut written = 0u64;
    while let Some(((_, _, i), r)) = heads.pop_first() {
        writeln!(w, "{}", format_line(&db, &r))?;
        written += 1;
        if let Some(n) = per_file[i].next() {
            heads.insert((n.ts_ms, n.metric.clone(), i), n);
        }
    }
    w.flush()?;
    let s = Summary {
        input_dir: a.in_dir.display().to_string(),
        output_file: a.out.display().to_string(),
        database: db,
        metadata_file: a.meta.as_ref().map(|p| p.display().to_string()),
        append_mode: a.append,
        files_seen: files.len(),
        files_included: files.len() - skipped,
        files_skipped: skipped,
        rows_written: written,
        duration_ms: started.elapsed().as_millis(),
    };
    crate::print_report(a.json, &s, |s| {
        outln!(
            "Wrote {} NLP lines from {}/{} CSV files to {} ({} skipped, {}ms)",
            s.rows_written,
            s.files_included,
            s.files_seen,
            s.output_file,
            s.files_skipped,
            s.duration_ms
        );
        outln!("Database: {}", s.database);
        if s.append_mode {
            outln!("Mode: append");
        }
        if let Some(m) = &s.metadata_file {
            outln!("Metadata: {m}");
        }
    })?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitizes_names() {
        assert_eq!(sanitize("temp probe #1"), "temp_probe_1");
        assert_eq!(sanitize("__a.b/c-d__"), "a.b/c-d");
        assert_eq!(sanitize("x%%%y"), "x_y");
        assert_eq!(sanitize("///"), "");
    }
}
