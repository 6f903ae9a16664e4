//! Tokenizer of one line of line protocol into measurement, tags, fields and
//! timestamp, with escapes removed. Parts borrow from the input unless an
//! escape had to be removed, and the vectors of a [`Line`] are reused from one
//! line to the next, so a body parses without a per-line allocation.

use std::borrow::Cow;

use super::InfluxError;

/// A field value as written in the line.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue<'a> {
    /// `1`, `1.5`, `-1e-5`, `1.`, `.5`.
    Float(f64),
    /// `12i`.
    Integer(i64),
    /// `12u`.
    Unsigned(u64),
    /// `t`, `true`, `F`, `FALSE`, ….
    Boolean(bool),
    /// `"…"`, with `\"` and `\\` unescaped.
    String(Cow<'a, str>),
}

/// One line, unescaped. Fields keep their order and types as written; the
/// mapping to series happens in [`super`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Line<'a> {
    /// Measurement name (may be empty: `,t=v f=1`).
    pub measurement: Cow<'a, str>,
    /// Tags in the order written.
    pub tags: Vec<(Cow<'a, str>, Cow<'a, str>)>,
    /// Fields in the order written (at least one).
    pub fields: Vec<(Cow<'a, str>, FieldValue<'a>)>,
    /// Timestamp as written, in the body's precision.
    pub timestamp: Option<i64>,
}

/// Parses one line (without its newline). Comments and blank lines are the
/// caller's business: here they are errors.
pub fn parse_line(line: &str) -> Result<Line<'_>, InfluxError> {
    let mut out = Line::default();
    parse_into(line, &mut out)?;
    Ok(out)
}

/// Parses `line` into `out`, reusing its vectors.
pub(super) fn parse_into<'a>(line: &'a str, out: &mut Line<'a>) -> Result<(), InfluxError> {
    out.tags.clear();
    out.fields.clear();
    out.timestamp = None;
    let b = line.as_bytes();
    let (end, esc) = scan(b, 0, |c| c == b',' || c == b' ');
    out.measurement = unescape(&line[..end], esc);
    let mut i = end;
    while b.get(i) == Some(&b',') {
        i = parse_tag(line, i + 1, out)?;
    }
    if out.measurement.is_empty() && out.tags.is_empty() {
        return Err(InfluxError::MissingMeasurement);
    }
    i = skip_spaces(b, i);
    if i >= b.len() {
        return Err(InfluxError::MissingFields);
    }
    loop {
        i = parse_field(line, i, out)?;
        match b.get(i) {
            Some(b',') => i += 1,
            _ => break,
        }
    }
    i = skip_spaces(b, i);
    if i < b.len() {
        let start = i;
        while i < b.len() && b[i] != b' ' {
            i += 1;
        }
        out.timestamp = Some(parse_timestamp(&line[start..i])?);
        i = skip_spaces(b, i);
        if i < b.len() {
            return Err(InfluxError::TrailingText { column: i + 1 });
        }
    }
    Ok(())
}

/// Parses `key=value` of a tag starting at `i`; returns the offset after it.
fn parse_tag<'a>(line: &'a str, i: usize, out: &mut Line<'a>) -> Result<usize, InfluxError> {
    let b = line.as_bytes();
    let (key_end, key_esc) = scan(b, i, |c| c == b'=' || c == b',' || c == b' ');
    if key_end == i {
        return Err(InfluxError::MissingTagKey { column: i + 1 });
    }
    let key = unescape(&line[i..key_end], key_esc);
    if b.get(key_end) != Some(&b'=') {
        return Err(InfluxError::TagWithoutValue {
            key: key.into_owned(),
        });
    }
    let v = key_end + 1;
    let (end, esc) = scan(b, v, |c| c == b',' || c == b' ');
    if end == v {
        return Err(InfluxError::TagWithoutValue {
            key: key.into_owned(),
        });
    }
    out.tags.push((key, unescape(&line[v..end], esc)));
    Ok(end)
}

/// Parses `key=value` of a field starting at `i`; returns the offset after it.
fn parse_field<'a>(line: &'a str, i: usize, out: &mut Line<'a>) -> Result<usize, InfluxError> {
    let b = line.as_bytes();
    let (key_end, key_esc) = scan(b, i, |c| c == b'=' || c == b',' || c == b' ');
    if key_end == i {
        return Err(InfluxError::MissingFieldKey { column: i + 1 });
    }
    let key = unescape(&line[i..key_end], key_esc);
    if b.get(key_end) != Some(&b'=') {
        return Err(InfluxError::FieldWithoutValue {
            key: key.into_owned(),
        });
    }
    let v = key_end + 1;
    let (value, end) = if b.get(v) == Some(&b'"') {
        let (close, esc) = scan(b, v + 1, |c| c == b'"');
        if close >= b.len() {
            return Err(InfluxError::UnterminatedString {
                key: key.into_owned(),
            });
        }
        let text = &line[v + 1..close];
        let s = if esc {
            Cow::Owned(unescape_string(text))
        } else {
            Cow::Borrowed(text)
        };
        (FieldValue::String(s), close + 1)
    } else {
        let mut end = v;
        while end < b.len() && b[end] != b',' && b[end] != b' ' {
            end += 1;
        }
        (parse_value(&key, &line[v..end])?, end)
    };
    if !matches!(b.get(end), None | Some(b',' | b' ')) {
        return Err(InfluxError::InvalidFieldValue {
            key: key.into_owned(),
            value: line[v..].split([',', ' ']).next().unwrap_or("").to_string(),
        });
    }
    out.fields.push((key, value));
    Ok(end)
}

/// Parses an unquoted field value.
fn parse_value<'a>(key: &str, tok: &str) -> Result<FieldValue<'a>, InfluxError> {
    let invalid = || InfluxError::InvalidFieldValue {
        key: key.to_string(),
        value: tok.to_string(),
    };
    let b = tok.as_bytes();
    match b.first() {
        None => {
            return Err(InfluxError::MissingFieldValue {
                key: key.to_string(),
            });
        }
        Some(b't' | b'T' | b'f' | b'F') => {
            return match tok {
                "t" | "T" | "true" | "True" | "TRUE" => Ok(FieldValue::Boolean(true)),
                "f" | "F" | "false" | "False" | "FALSE" => Ok(FieldValue::Boolean(false)),
                _ => Err(invalid()),
            };
        }
        _ => {}
    }
    let out_of_range = || InfluxError::NumberOutOfRange {
        key: key.to_string(),
        value: tok.to_string(),
    };
    match b[b.len() - 1] {
        b'i' => {
            let digits = &tok[..tok.len() - 1];
            if !is_integer(digits) {
                return Err(invalid());
            }
            digits
                .parse()
                .map(FieldValue::Integer)
                .map_err(|_| out_of_range())
        }
        b'u' => {
            let digits = &tok[..tok.len() - 1];
            if !is_integer(digits) || digits.starts_with('-') {
                return Err(invalid());
            }
            digits
                .parse()
                .map(FieldValue::Unsigned)
                .map_err(|_| out_of_range())
        }
        _ => {
            if !is_float(b) {
                return Err(invalid());
            }
            match tok.parse::<f64>() {
                Ok(v) if v.is_finite() => Ok(FieldValue::Float(v)),
                _ => Err(out_of_range()),
            }
        }
    }
}

/// `-?[0-9]+`.
fn is_integer(s: &str) -> bool {
    let d = s.strip_prefix('-').unwrap_or(s);
    !d.is_empty() && d.bytes().all(|c| c.is_ascii_digit())
}

/// `-?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?` — Influx's float syntax
/// (no `+` sign, no `inf`/`NaN`, which Rust's parser would accept).
fn is_float(b: &[u8]) -> bool {
    let mut i = usize::from(b.first() == Some(&b'-'));
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    let int = digits(&mut i);
    let mut frac = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        frac = digits(&mut i);
    }
    if int + frac == 0 {
        return false;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

fn parse_timestamp(tok: &str) -> Result<i64, InfluxError> {
    if !is_integer(tok) {
        return Err(InfluxError::InvalidTimestamp {
            value: tok.to_string(),
        });
    }
    tok.parse().map_err(|_| InfluxError::TimestampOutOfRange {
        value: tok.to_string(),
    })
}

/// Finds the first byte from `i` that `stop` accepts and is not escaped by a
/// backslash; returns its offset (or the length) and whether a backslash was
/// seen (so the token needs unescaping).
fn scan(b: &[u8], mut i: usize, stop: impl Fn(u8) -> bool) -> (usize, bool) {
    let mut esc = false;
    while i < b.len() {
        let c = b[i];
        if c == b'\\' {
            esc = true;
            i += 2;
        } else if stop(c) {
            return (i, esc);
        } else {
            i += 1;
        }
    }
    (b.len(), esc)
}

fn skip_spaces(b: &[u8], mut i: usize) -> usize {
    while b.get(i) == Some(&b' ') {
        i += 1;
    }
    i
}

/// Removes the escapes of names and tag values: `\,` `\ ` `\=` `\\` stand for
/// the character; any other backslash is literal.
fn unescape(s: &str, had_escape: bool) -> Cow<'_, str> {
    if !had_escape {
        return Cow::Borrowed(s);
    }
    unescape_with(s, |c| matches!(c, ',' | ' ' | '=' | '\\')).into()
}

/// Removes the escapes of a string field: `\"` and `\\`.
fn unescape_string(s: &str) -> String {
    unescape_with(s, |c| matches!(c, '"' | '\\'))
}

fn unescape_with(s: &str, escapable: impl Fn(char) -> bool) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\'
            && let Some(&n) = chars.peek()
            && escapable(n)
        {
            out.push(n);
            chars.next();
        } else {
            out.push(c);
        }
    }
    out
}
