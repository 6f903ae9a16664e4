//! InfluxDB line protocol: the bodies of v1 `/write` and v2 `/api/v2/write`.
//!
//! ```text
//! measurement[,tag=value…] field=value[,field=value…] [timestamp]
//! ```
//!
//! Syntax, as the InfluxDB reference gives it:
//! * measurement: `\,` and `\ ` escape comma and space; tag keys, tag values and
//!   field keys also escape `=` (`\=`). `\\` is one backslash and any other
//!   backslash is literal (what InfluxDB 2.x documents and VictoriaMetrics
//!   does; InfluxDB 1.x kept `\\` as two characters);
//! * field values: floats (`1`, `1.5`, `-1e-5`, `1.`, `.5`; no `+` sign, no
//!   `NaN`/`inf`), integers `12i` (i64), unsigned `12u` (u64), booleans
//!   `t T true True TRUE f F false False FALSE`, strings `"…"` (`\"`, `\\`);
//! * timestamp: an integer in the request's [`Precision`], scaled to ns with
//!   overflow checked; without one, the caller's `now_ns`;
//! * blank lines and `#` comments are skipped; leading spaces are ignored and
//!   a `\r` before the newline is tolerated. A raw newline always ends a line
//!   (the reference does not allow one in a tag or field value).
//!
//! Mapping to series, following VictoriaMetrics' documented rule:
//! * each numeric or boolean field becomes a sample of series
//!   `{measurement}_{field}` with the tags as labels; when the measurement is
//!   empty (`,host=a load=1`), the field key alone;
//! * names are made Prometheus-valid, because series follow the Prometheus
//!   naming rules (see [`crate::series`]) and PromQL cannot select anything
//!   else: every character outside `[a-zA-Z0-9_:]` (metric) or `[a-zA-Z0-9_]`
//!   (label) becomes `_`, as VictoriaMetrics does with
//!   `-usePromCompatibleNaming` (here always on), and a leading digit gets a
//!   `_` prefix: `disk.io` + `read-bytes` → `disk_io_read_bytes`, tag `2g` →
//!   label `_2g`. Tag values are kept as they are;
//! * a tag named `db` is not a label: it is returned in [`Sample::db`] (as the
//!   remote write `db` label is), for the server to choose a database with;
//! * values: float → [`Number::F64`], integer → [`Number::I64`], unsigned →
//!   [`Number::U64`] always (not I64 when it fits, so a series keeps one type
//!   whatever its values), boolean → `I64` 0 or 1.
//!
//! Errors never reject the body: a line that does not parse is reported with
//! its number and reason, and parsing goes on. A string field, a repeated field
//! key or a series over the length limit rejects just that field (the line's
//! other fields still count). Two tags mapping to the same label, or a tag
//! mapping to `__name__`, reject the line.

mod line;

use std::borrow::Cow;
use std::fmt;

pub use line::{FieldValue, Line, parse_line};

use crate::series::{self, DEFAULT_MAX_CANONICAL_LEN, NAME_LABEL};

/// The tag that names a database rather than a label.
pub const DB_TAG: &str = "db";

/// Unit of the timestamps in a body (the `precision` query parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Precision {
    /// Nanoseconds (the default of both APIs).
    #[default]
    Nanoseconds,
    /// Microseconds.
    Microseconds,
    /// Milliseconds.
    Milliseconds,
    /// Seconds.
    Seconds,
    /// Minutes (v1 only).
    Minutes,
    /// Hours (v1 only).
    Hours,
}

impl Precision {
    /// Parses v1's `precision` (`n`/`ns`, `u`/`us`/`µ`, `ms`, `s`, `m`, `h`;
    /// empty means ns). `None` for anything else, which the server reports.
    pub fn from_v1(s: &str) -> Option<Precision> {
        Some(match s {
            "" | "n" | "ns" => Precision::Nanoseconds,
            "u" | "us" | "µ" | "µs" | "μ" | "μs" => Precision::Microseconds,
            "ms" => Precision::Milliseconds,
            "s" => Precision::Seconds,
            "m" => Precision::Minutes,
            "h" => Precision::Hours,
            _ => return None,
        })
    }

    /// Parses v2's `precision` (`ns`, `us`, `ms`, `s`; empty means ns).
    pub fn from_v2(s: &str) -> Option<Precision> {
        Some(match s {
            "" | "ns" => Precision::Nanoseconds,
            "us" => Precision::Microseconds,
            "ms" => Precision::Milliseconds,
            "s" => Precision::Seconds,
            _ => return None,
        })
    }

    /// Nanoseconds in one unit.
    pub fn nanos(self) -> i64 {
        match self {
            Precision::Nanoseconds => 1,
            Precision::Microseconds => 1_000,
            Precision::Milliseconds => 1_000_000,
            Precision::Seconds => 1_000_000_000,
            Precision::Minutes => 60_000_000_000,
            Precision::Hours => 3_600_000_000_000,
        }
    }

    /// Scales a timestamp to ns; `None` on overflow (an error, never a wrap).
    pub fn to_ns(self, ts: i64) -> Option<i64> {
        ts.checked_mul(self.nanos())
    }

    /// The v2 spelling (`ns`, `us`, `ms`, `s`) or v1's `m`/`h`.
    pub fn as_str(self) -> &'static str {
        match self {
            Precision::Nanoseconds => "ns",
            Precision::Microseconds => "us",
            Precision::Milliseconds => "ms",
            Precision::Seconds => "s",
            Precision::Minutes => "m",
            Precision::Hours => "h",
        }
    }
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A sample value with the type the field was written in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Number {
    /// A float field.
    F64(f64),
    /// An integer field, or a boolean as 0/1.
    I64(i64),
    /// An unsigned field.
    U64(u64),
}

/// Why a line, or one field of it, was not stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InfluxError {
    /// The line holds bytes that are not UTF-8.
    #[error("line is not valid UTF-8")]
    InvalidUtf8,
    /// Nothing before the first space or comma.
    #[error("missing measurement")]
    MissingMeasurement,
    /// No field set after the measurement and tags.
    #[error("missing fields")]
    MissingFields,
    /// `,=v` or `,,`.
    #[error("missing tag key at column {column}")]
    MissingTagKey {
        /// 1-based byte column.
        column: usize,
    },
    /// `,t` or `,t=` (InfluxDB has no empty tag values).
    #[error("tag {key:?} has no value")]
    TagWithoutValue {
        /// The tag key.
        key: String,
    },
    /// `=v` or `,,` in the field set.
    #[error("missing field key at column {column}")]
    MissingFieldKey {
        /// 1-based byte column.
        column: usize,
    },
    /// `f` without `=`.
    #[error("field {key:?} has no '='")]
    FieldWithoutValue {
        /// The field key.
        key: String,
    },
    /// `f=` with nothing after.
    #[error("field {key:?} has no value")]
    MissingFieldValue {
        /// The field key.
        key: String,
    },
    /// A value that is no number, boolean or string.
    #[error("field {key:?} has an invalid value {value:?}")]
    InvalidFieldValue {
        /// The field key.
        key: String,
        /// The value as written.
        value: String,
    },
    /// An integer beyond i64/u64 or a float beyond f64.
    #[error("field {key:?}: {value} is out of range")]
    NumberOutOfRange {
        /// The field key.
        key: String,
        /// The value as written.
        value: String,
    },
    /// A string value without its closing quote.
    #[error("field {key:?} has an unterminated string")]
    UnterminatedString {
        /// The field key.
        key: String,
    },
    /// A timestamp that is not an integer.
    #[error("invalid timestamp {value:?} (an integer is expected)")]
    InvalidTimestamp {
        /// The timestamp as written.
        value: String,
    },
    /// A timestamp beyond i64 as written.
    #[error("timestamp {value} is out of range")]
    TimestampOutOfRange {
        /// The timestamp as written.
        value: String,
    },
    /// A timestamp that overflows i64 once scaled to ns.
    #[error("timestamp {value} in precision {precision} overflows nanoseconds")]
    TimestampOverflow {
        /// The timestamp as written.
        value: i64,
        /// The request's precision.
        precision: Precision,
    },
    /// Text after the timestamp.
    #[error("unexpected text at column {column} after the timestamp")]
    TrailingText {
        /// 1-based byte column.
        column: usize,
    },
    /// A string field (rejects that field only).
    #[error("field {key:?} is a string; only numeric and boolean fields are stored")]
    StringField {
        /// The field key.
        key: String,
    },
    /// The same field key twice in a line (rejects the repeat).
    #[error("duplicate field {key:?}")]
    DuplicateField {
        /// The field key.
        key: String,
    },
    /// Two tags that name the same label once made Prometheus-valid.
    #[error("duplicate tag {label:?} (after mapping to a label name)")]
    DuplicateTag {
        /// The label name both tags map to.
        label: String,
    },
    /// A tag that maps to `__name__`.
    #[error("tag {key:?} maps to the reserved label __name__")]
    ReservedTag {
        /// The tag key.
        key: String,
    },
    /// The series of a field is longer than the limit (rejects that field).
    #[error("field {key:?}: series is {len} bytes, over the limit of {max}")]
    SeriesTooLong {
        /// The field key.
        key: String,
        /// Canonical length.
        len: usize,
        /// The limit.
        max: usize,
    },
}

/// A problem with the body, located by its 1-based line number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {error}")]
pub struct LineError {
    /// 1-based physical line.
    pub line: usize,
    /// What is wrong.
    pub error: InfluxError,
}

/// How to read a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseOptions {
    /// Unit of the timestamps.
    pub precision: Precision,
    /// Longest canonical series name accepted.
    pub max_series_len: usize,
}

impl Default for ParseOptions {
    /// Nanoseconds, series up to [`DEFAULT_MAX_CANONICAL_LEN`].
    fn default() -> ParseOptions {
        ParseOptions {
            precision: Precision::Nanoseconds,
            max_series_len: DEFAULT_MAX_CANONICAL_LEN,
        }
    }
}

/// One sample, borrowed from the parser's buffers: valid only during the
/// callback, which is what lets [`parse_each`] avoid allocating per line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample<'s> {
    /// 1-based physical line.
    pub line: usize,
    /// Canonical series name (see [`crate::series`]).
    pub series: &'s str,
    /// The `db` tag, if the line had one.
    pub db: Option<&'s str>,
    /// Timestamp in ns.
    pub timestamp_ns: i64,
    /// The value.
    pub value: Number,
}

/// An owned [`Sample`], as [`parse`] collects them.
#[derive(Debug, Clone, PartialEq)]
pub struct OwnedSample {
    /// 1-based physical line.
    pub line: usize,
    /// Canonical series name.
    pub series: String,
    /// The `db` tag, if the line had one.
    pub db: Option<String>,
    /// Timestamp in ns.
    pub timestamp_ns: i64,
    /// The value.
    pub value: Number,
}

/// What [`parse`] returns: every good sample and every problem.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParsedBody {
    /// Samples in body order.
    pub samples: Vec<OwnedSample>,
    /// Problems in body order.
    pub errors: Vec<LineError>,
}

/// Parses a body into owned samples; convenient, but allocates per sample
/// (the server's hot path should use [`parse_each`]).
pub fn parse(body: &[u8], opts: &ParseOptions, now_ns: i64) -> ParsedBody {
    let mut samples = Vec::new();
    let errors = parse_each(body, opts, now_ns, |s| {
        samples.push(OwnedSample {
            line: s.line,
            series: s.series.to_string(),
            db: s.db.map(str::to_string),
            timestamp_ns: s.timestamp_ns,
            value: s.value,
        })
    });
    ParsedBody { samples, errors }
}

/// Parses a body, calling `on_sample` for every stored field in body order;
/// returns every problem found. Buffers are reused from line to line.
pub fn parse_each<F>(
    body: &[u8],
    opts: &ParseOptions,
    now_ns: i64,
    mut on_sample: F,
) -> Vec<LineError>
where
    F: FnMut(&Sample<'_>),
{
    let mut errors = Vec::new();
    let mut st = State::default();
    let mut parsed = Line::default();
    for (i, raw) in body.split(|&c| c == b'\n').enumerate() {
        let line_no = i + 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let Ok(text) = std::str::from_utf8(raw) else {
            errors.push(LineError {
                line: line_no,
                error: InfluxError::InvalidUtf8,
            });
            continue;
        };
        let text = text.trim_start_matches([' ', '\t']);
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        let mut report = |error| {
            errors.push(LineError {
                line: line_no,
                error,
            })
        };
        if let Err(e) = line::parse_into(text, &mut parsed) {
            report(e);
            continue;
        }
        if let Err(e) = st.emit(
            &mut parsed,
            line_no,
            opts,
            now_ns,
            &mut on_sample,
            &mut report,
        ) {
            report(e);
        }
    }
    errors
}

/// Buffers reused across lines.
#[derive(Default)]
struct State {
    /// `{k="v",…}` of the current line.
    labels: String,
    /// The series name being built for one field.
    series: String,
    /// Sanitized metric-name prefix of the current line (`measurement_`).
    prefix: String,
}

impl State {
    /// Turns one parsed line into samples; field-level problems go to
    /// `report`, a line-level one is returned.
    fn emit<'a, F, R>(
        &mut self,
        line: &mut Line<'a>,
        line_no: usize,
        opts: &ParseOptions,
        now_ns: i64,
        on_sample: &mut F,
        report: &mut R,
    ) -> Result<(), InfluxError>
    where
        F: FnMut(&Sample<'_>),
        R: FnMut(InfluxError),
    {
        let timestamp_ns = match line.timestamp {
            Some(t) => opts
                .precision
                .to_ns(t)
                .ok_or(InfluxError::TimestampOverflow {
                    value: t,
                    precision: opts.precision,
                })?,
            None => now_ns,
        };
        let db = self.build_labels(line)?;
        self.prefix.clear();
        if !line.measurement.is_empty() {
            sanitize_into(&mut self.prefix, &line.measurement, true);
            self.prefix.push('_');
        }
        for (idx, (key, value)) in line.fields.iter().enumerate() {
            let value = match value {
                FieldValue::Float(v) => Number::F64(*v),
                FieldValue::Integer(v) => Number::I64(*v),
                FieldValue::Unsigned(v) => Number::U64(*v),
                FieldValue::Boolean(v) => Number::I64(i64::from(*v)),
                FieldValue::String(_) => {
                    report(InfluxError::StringField {
                        key: key.to_string(),
                    });
                    continue;
                }
            };
            if line.fields[..idx].iter().any(|(k, _)| k == key) {
                report(InfluxError::DuplicateField {
                    key: key.to_string(),
                });
                continue;
            }
            self.series.clear();
            self.series.push_str(&self.prefix);
            sanitize_into(&mut self.series, key, true);
            self.series.push_str(&self.labels);
            if self.series.len() > opts.max_series_len {
                report(InfluxError::SeriesTooLong {
                    key: key.to_string(),
                    len: self.series.len(),
                    max: opts.max_series_len,
                });
                continue;
            }
            on_sample(&Sample {
                line: line_no,
                series: &self.series,
                db: db.as_deref(),
                timestamp_ns,
                value,
            });
        }
        Ok(())
    }

    /// Maps the tags to labels (sanitized, sorted, `db` taken out) and writes
    /// them to `self.labels`; returns the `db` tag.
    fn build_labels<'a>(
        &mut self,
        line: &mut Line<'a>,
    ) -> Result<Option<Cow<'a, str>>, InfluxError> {
        let mut db = None;
        if let Some(i) = line.tags.iter().position(|(k, _)| k == DB_TAG) {
            db = Some(line.tags.swap_remove(i).1);
        }
        for (k, _) in line.tags.iter_mut() {
            if !series::is_label_name(k) {
                let mut s = String::with_capacity(k.len() + 1);
                sanitize_into(&mut s, k, false);
                *k = Cow::Owned(s);
            }
            if k == NAME_LABEL {
                return Err(InfluxError::ReservedTag { key: k.to_string() });
            }
        }
        if line.tags.iter().any(|(k, _)| k == DB_TAG) {
            return Err(InfluxError::DuplicateTag {
                label: DB_TAG.to_string(),
            });
        }
        if !line.tags.is_sorted_by(|a, b| a.0 <= b.0) {
            line.tags.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        }
        if let Some(w) = line.tags.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(InfluxError::DuplicateTag {
                label: w[0].0.to_string(),
            });
        }
        self.labels.clear();
        series::write_labels(
            &mut self.labels,
            line.tags.iter().map(|(k, v)| (&**k, &**v)),
        );
        Ok(db)
    }
}

/// Appends `s` with every character outside `[a-zA-Z0-9_]` (plus `:` when
/// `colon`) replaced by `_`, and a `_` first if `s` starts with a digit and
/// `out` is empty (a name cannot start with one).
fn sanitize_into(out: &mut String, s: &str, colon: bool) {
    if out.is_empty() && s.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        out.push('_');
    }
    for c in s.chars() {
        let ok = c.is_ascii_alphanumeric() || c == '_' || (colon && c == ':');
        out.push(if ok { c } else { '_' });
    }
}

#[cfg(test)]
mod tests;
