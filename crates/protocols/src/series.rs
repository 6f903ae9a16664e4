//! Series identity: a metric name plus a label set, and its canonical text form.
//!
//! The engine has no label index of its own yet; it stores a series under one
//! metric name. Writing that name as `name{a="x",b="y"}` keeps the data files
//! readable by NanoTDB v1.4.0 (which sees an opaque name) while letting a later
//! engine rebuild the label set from the name alone ([`parse_canonical`]).
//!
//! The canonical form is byte-for-byte what the server's Prometheus text
//! importer (`nanotdb-server/src/prom.rs`) has always written, so a series
//! arriving by remote write, by line protocol or by text import lands in the
//! same metric:
//! * no labels → just `name`;
//! * otherwise `name{` + labels sorted by name (byte order) as `k="v"` joined by
//!   `,` + `}`;
//! * in a value, `\` → `\\`, `"` → `\"`, newline → `\n`, and every other
//!   whitespace or control character → `\u{XXXX}` (lowercase hex, at least four
//!   digits) so that a name never contains whitespace (the engine rejects it).
//!
//! Validation follows Prometheus: metric names match `[a-zA-Z_:][a-zA-Z0-9_:]*`,
//! label names `[a-zA-Z_][a-zA-Z0-9_]*`, a label with an empty value is the same
//! as no label (dropped), duplicate label names are an error, and `__name__` is
//! the metric name, never a label.

use std::fmt::{self, Write as _};
use std::str::FromStr;

/// Longest canonical form the engine is promised to accept, in bytes; decoders
/// take their limit as a parameter and default to this.
pub const DEFAULT_MAX_CANONICAL_LEN: usize = 4096;

/// The label Prometheus uses to carry the metric name inside a label set.
pub const NAME_LABEL: &str = "__name__";

/// Why a name and label set cannot form a series.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SeriesError {
    /// The label set has no (non-empty) `__name__`.
    #[error("missing metric name (no non-empty __name__ label)")]
    MissingName,
    /// The metric name breaks `[a-zA-Z_:][a-zA-Z0-9_:]*`.
    #[error("invalid metric name {0:?}: must match [a-zA-Z_:][a-zA-Z0-9_:]*")]
    InvalidName(String),
    /// A label name breaks `[a-zA-Z_][a-zA-Z0-9_]*`.
    #[error("invalid label name {0:?}: must match [a-zA-Z_][a-zA-Z0-9_]*")]
    InvalidLabelName(String),
    /// `__name__` given as an ordinary label (the name is passed separately).
    #[error("label name {0:?} is reserved for the metric name")]
    ReservedLabel(String),
    /// The same label name twice.
    #[error("duplicate label {0:?}")]
    DuplicateLabel(String),
    /// The canonical form would exceed the configured limit.
    #[error("series is {len} bytes in canonical form, over the limit of {max}")]
    TooLong {
        /// Canonical length in bytes.
        len: usize,
        /// The limit in force.
        max: usize,
    },
}

/// Why a string is not the canonical form of a series.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("byte {offset}: {kind}")]
pub struct CanonicalError {
    /// Byte offset in the input where the problem was found.
    pub offset: usize,
    /// What is wrong there.
    pub kind: CanonicalErrorKind,
}

/// The kinds of [`CanonicalError`]; separate so callers can match on them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CanonicalErrorKind {
    /// The metric name is empty or has a forbidden character.
    #[error("invalid metric name")]
    InvalidName,
    /// A label name is empty or has a forbidden character.
    #[error("invalid label name")]
    InvalidLabelName,
    /// `__name__` appears inside the braces.
    #[error("__name__ is not allowed as a label")]
    ReservedLabel,
    /// Labels are not in strictly increasing name order (or repeat a name).
    #[error("labels out of order or repeated")]
    Unsorted,
    /// `k=""`: the canonical form drops empty values.
    #[error("empty label value")]
    EmptyValue,
    /// `name{}`: the canonical form omits empty braces.
    #[error("empty label set")]
    EmptyLabelSet,
    /// A specific byte was required (e.g. `=`, `"`, `,` or `}`).
    #[error("expected {0}")]
    Expected(&'static str),
    /// A character the canonical form always escapes appears raw.
    #[error("unescaped whitespace or control character")]
    Unescaped,
    /// A backslash escape the canonical form never writes.
    #[error("invalid escape sequence")]
    InvalidEscape,
    /// The string ends inside a label value.
    #[error("unterminated label value")]
    Unterminated,
    /// Text after the closing brace.
    #[error("trailing characters after '}}'")]
    Trailing,
}

/// A validated series: metric name plus labels sorted by name, no duplicates,
/// no empty values, no `__name__` label. The invariant is what lets
/// [`SeriesKey::canonical`] be injective and [`parse_canonical`] its inverse.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeriesKey {
    name: String,
    labels: Vec<(String, String)>,
}

impl SeriesKey {
    /// Builds a series from a name and labels in any order; empty-valued
    /// labels are dropped (Prometheus treats them as absent).
    pub fn new<N, K, V, I>(name: N, labels: I) -> Result<SeriesKey, SeriesError>
    where
        N: Into<String>,
        K: Into<String>,
        V: Into<String>,
        I: IntoIterator<Item = (K, V)>,
    {
        let name = name.into();
        if name.is_empty() {
            return Err(SeriesError::MissingName);
        }
        if !is_metric_name(&name) {
            return Err(SeriesError::InvalidName(name));
        }
        let mut out: Vec<(String, String)> = Vec::new();
        for (k, v) in labels {
            let (k, v) = (k.into(), v.into());
            if v.is_empty() {
                continue;
            }
            if k == NAME_LABEL {
                return Err(SeriesError::ReservedLabel(k));
            }
            if !is_label_name(&k) {
                return Err(SeriesError::InvalidLabelName(k));
            }
            out.push((k, v));
        }
        out.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        if let Some(w) = out.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(SeriesError::DuplicateLabel(w[0].0.clone()));
        }
        Ok(SeriesKey { name, labels: out })
    }

    /// Builds a series from a Prometheus label set, where `__name__` carries
    /// the metric name (as remote write sends it).
    pub fn from_prometheus_labels<'a, I>(labels: I) -> Result<SeriesKey, SeriesError>
    where
        I: IntoIterator<Item = (&'a str, &'a str)>,
    {
        let mut name: Option<&str> = None;
        let mut rest: Vec<(&str, &str)> = Vec::new();
        for (k, v) in labels {
            if k == NAME_LABEL {
                if name.is_some() {
                    return Err(SeriesError::DuplicateLabel(k.to_string()));
                }
                name = Some(v);
            } else {
                rest.push((k, v));
            }
        }
        match name {
            Some(n) if !n.is_empty() => SeriesKey::new(n, rest),
            _ => Err(SeriesError::MissingName),
        }
    }

    /// The metric name (what PromQL calls `__name__`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The labels, sorted by name; a slice so a postings index can walk them
    /// without allocating.
    pub fn labels(&self) -> &[(String, String)] {
        &self.labels
    }

    /// Borrowed `(name, value)` pairs, sorted by name, for matchers.
    pub fn label_pairs(&self) -> impl ExactSizeIterator<Item = (&str, &str)> + '_ {
        self.labels.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Value of one label, by binary search (labels are sorted).
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .binary_search_by(|(k, _)| k.as_str().cmp(name))
            .ok()
            .map(|i| self.labels[i].1.as_str())
    }

    /// Takes a label out, e.g. `db`, which the server uses to pick a database
    /// rather than as part of the series.
    pub fn remove_label(&mut self, name: &str) -> Option<String> {
        let i = self
            .labels
            .binary_search_by(|(k, _)| k.as_str().cmp(name))
            .ok()?;
        Some(self.labels.remove(i).1)
    }

    /// The parts, for callers that want to move the strings out.
    pub fn into_parts(self) -> (String, Vec<(String, String)>) {
        (self.name, self.labels)
    }

    /// The canonical text form (see the module docs).
    pub fn canonical(&self) -> String {
        let mut out = String::with_capacity(self.canonical_len());
        self.write_canonical(&mut out);
        out
    }

    /// Appends the canonical form to `out`, so a hot loop can reuse one buffer.
    pub fn write_canonical(&self, out: &mut String) {
        out.push_str(&self.name);
        write_labels(out, self.label_pairs());
    }

    /// Length of the canonical form in bytes, computed without allocating.
    pub fn canonical_len(&self) -> usize {
        if self.labels.is_empty() {
            return self.name.len();
        }
        let pairs: usize = self
            .labels
            .iter()
            .map(|(k, v)| k.len() + 3 + escaped_len(v))
            .sum();
        self.name.len() + 2 + pairs + (self.labels.len() - 1)
    }

    /// Checks the canonical length against `max` (the engine's name limit).
    pub fn check_len(&self, max: usize) -> Result<(), SeriesError> {
        let len = self.canonical_len();
        if len > max {
            return Err(SeriesError::TooLong { len, max });
        }
        Ok(())
    }
}

impl fmt::Display for SeriesKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.canonical())
    }
}

impl FromStr for SeriesKey {
    type Err = CanonicalError;

    fn from_str(s: &str) -> Result<SeriesKey, CanonicalError> {
        parse_canonical(s)
    }
}

/// `[a-zA-Z_:][a-zA-Z0-9_:]*`.
pub fn is_metric_name(s: &str) -> bool {
    let b = s.as_bytes();
    match b.first() {
        Some(&c) if c.is_ascii_alphabetic() || c == b'_' || c == b':' => b[1..]
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || c == b'_' || c == b':'),
        _ => false,
    }
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`.
pub fn is_label_name(s: &str) -> bool {
    let b = s.as_bytes();
    match b.first() {
        Some(&c) if c.is_ascii_alphabetic() || c == b'_' => b[1..]
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || c == b'_'),
        _ => false,
    }
}

/// Appends `{k="v",…}` for labels already sorted, validated and non-empty, or
/// nothing when there are none. Exposed so a decoder that builds names from
/// borrowed parts (line protocol) writes exactly the same bytes.
pub fn write_labels<'a, I>(out: &mut String, labels: I)
where
    I: IntoIterator<Item = (&'a str, &'a str)>,
{
    let mut first = true;
    for (k, v) in labels {
        out.push(if first { '{' } else { ',' });
        first = false;
        out.push_str(k);
        out.push_str("=\"");
        escape_label_value(out, v);
        out.push('"');
    }
    if !first {
        out.push('}');
    }
}

/// Whether a character is written as `\u{XXXX}` (see the module docs).
fn needs_unicode_escape(c: char) -> bool {
    c != '\n' && (c.is_whitespace() || c.is_control())
}

/// Whether an ASCII byte is written escaped.
fn ascii_needs_escape(b: u8) -> bool {
    b == b'"' || b == b'\\' || b == b' ' || b < 0x20 || b == 0x7f
}

/// Appends a label value with the canonical escapes.
pub fn escape_label_value(out: &mut String, v: &str) {
    if v.bytes().all(|b| b.is_ascii() && !ascii_needs_escape(b)) {
        out.push_str(v);
        return;
    }
    for ch in v.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c if needs_unicode_escape(c) => {
                let _ = write!(out, "\\u{{{:04x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
}

fn escaped_len(v: &str) -> usize {
    v.chars()
        .map(|c| match c {
            '\\' | '"' | '\n' => 2,
            c if needs_unicode_escape(c) => 4 + hex_digits(c as u32).max(4),
            c => c.len_utf8(),
        })
        .sum()
}

fn hex_digits(n: u32) -> usize {
    (32 - n.leading_zeros()).div_ceil(4).max(1) as usize
}

/// Parses the canonical form back into a [`SeriesKey`]. Only exactly canonical
/// text is accepted, so `parse_canonical(s)?.canonical() == s` always holds:
/// the engine can trust a stored name to round-trip.
pub fn parse_canonical(s: &str) -> Result<SeriesKey, CanonicalError> {
    let err = |offset, kind| CanonicalError { offset, kind };
    let b = s.as_bytes();
    let name_end = b.iter().position(|&c| c == b'{').unwrap_or(b.len());
    let name = &s[..name_end];
    if !is_metric_name(name) {
        let bad = name
            .char_indices()
            .find(|&(i, c)| {
                !(c.is_ascii_alphabetic() || c == '_' || c == ':' || (i > 0 && c.is_ascii_digit()))
            })
            .map_or(name_end, |(i, _)| i);
        return Err(err(bad, CanonicalErrorKind::InvalidName));
    }
    if name_end == b.len() {
        return Ok(SeriesKey {
            name: name.to_string(),
            labels: Vec::new(),
        });
    }
    let mut pos = name_end + 1;
    if b.get(pos) == Some(&b'}') {
        return Err(err(pos, CanonicalErrorKind::EmptyLabelSet));
    }
    let mut labels: Vec<(String, String)> = Vec::new();
    loop {
        let key_start = pos;
        while b
            .get(pos)
            .is_some_and(|&c| c.is_ascii_alphanumeric() || c == b'_')
        {
            pos += 1;
        }
        let key = &s[key_start..pos];
        if !is_label_name(key) {
            return Err(err(key_start, CanonicalErrorKind::InvalidLabelName));
        }
        if key == NAME_LABEL {
            return Err(err(key_start, CanonicalErrorKind::ReservedLabel));
        }
        if labels.last().is_some_and(|(k, _)| k.as_str() >= key) {
            return Err(err(key_start, CanonicalErrorKind::Unsorted));
        }
        if b.get(pos) != Some(&b'=') {
            return Err(err(pos, CanonicalErrorKind::Expected("'='")));
        }
        if b.get(pos + 1) != Some(&b'"') {
            return Err(err(pos + 1, CanonicalErrorKind::Expected("'\"'")));
        }
        pos += 2;
        let (value, next) = parse_value(s, pos)?;
        labels.push((key.to_string(), value));
        pos = next;
        match b.get(pos) {
            Some(b',') => pos += 1,
            Some(b'}') => {
                pos += 1;
                break;
            }
            _ => return Err(err(pos, CanonicalErrorKind::Expected("',' or '}'"))),
        }
    }
    if pos != b.len() {
        return Err(err(pos, CanonicalErrorKind::Trailing));
    }
    Ok(SeriesKey {
        name: name.to_string(),
        labels,
    })
}

/// Parses a quoted value starting just after its opening quote; returns the
/// value and the offset just after the closing quote.
fn parse_value(s: &str, start: usize) -> Result<(String, usize), CanonicalError> {
    let err = |offset, kind| CanonicalError { offset, kind };
    let mut out = String::new();
    let mut pos = start;
    while let Some(c) = s[pos..].chars().next() {
        match c {
            '"' => {
                if out.is_empty() {
                    return Err(err(start, CanonicalErrorKind::EmptyValue));
                }
                return Ok((out, pos + 1));
            }
            '\\' => {
                let (ch, end) = match s.as_bytes().get(pos + 1) {
                    Some(b'\\') => ('\\', pos + 2),
                    Some(b'"') => ('"', pos + 2),
                    Some(b'n') => ('\n', pos + 2),
                    Some(b'u') => parse_unicode_escape(s, pos + 2)
                        .ok_or(err(pos, CanonicalErrorKind::InvalidEscape))?,
                    Some(_) => return Err(err(pos, CanonicalErrorKind::InvalidEscape)),
                    None => break,
                };
                out.push(ch);
                pos = end;
            }
            c if c.is_whitespace() || c.is_control() => {
                return Err(err(pos, CanonicalErrorKind::Unescaped));
            }
            c => {
                out.push(c);
                pos += c.len_utf8();
            }
        }
    }
    Err(err(s.len(), CanonicalErrorKind::Unterminated))
}

/// Parses `{hex}` at `at` (just after `\u`); accepts only what
/// [`escape_label_value`] writes. Returns the char and the offset after `}`.
fn parse_unicode_escape(s: &str, at: usize) -> Option<(char, usize)> {
    let rest = s.get(at..)?.strip_prefix('{')?;
    let close = rest.find('}')?;
    let hex = &rest[..close];
    if hex.len() < 4
        || hex.len() > 6
        || !hex.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
    {
        return None;
    }
    let n = u32::from_str_radix(hex, 16).ok()?;
    let c = char::from_u32(n)?;
    // Exactly the width `{:04x}` gives, and only for characters that need it.
    if hex.len() != hex_digits(n).max(4) || !needs_unicode_escape(c) {
        return None;
    }
    Some((c, at + 1 + close + 1))
}

#[cfg(test)]
#[path = "series_tests.rs"]
mod tests;
