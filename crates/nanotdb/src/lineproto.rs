//! The line protocol `db/metric value [ts]`: parsing (docs/FORMATS.md §11.1–§11.3) and the export
//! line writer (docs/FORMATS.md §11.6).
//!
//! Parsing is the hot path of bulk import, so pure-ASCII lines (the normal case) are split
//! with a byte scanner and parsed without allocating; only lines containing non-ASCII bytes go
//! through `split_whitespace` to honour Unicode whitespace exactly like the reference.
//!
//! Export choice: unlike the reference (which drops the `i` suffix and so turns int32 metrics
//! into float32 on re-import), [`write_value`] writes int32 values as `-7i`, so an export
//! re-imports losslessly. Timestamps use the floored fraction for negative instants.

use std::fmt;

use crate::sample::Value;
use crate::time::{GoQuoted, parse_i64_dec, parse_timestamp, write_timestamp};

/// One parsed line; names borrow from the input.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Line<'a> {
    /// Database name: the target before its first `/`.
    pub db: &'a str,
    /// Metric name: the target after its first `/` (may contain more `/`).
    pub metric: &'a str,
    /// The sample value; its type comes from the token's syntax (`i` suffix → int32).
    pub value: Value,
    /// Timestamp in ns; None when the line has none (the caller uses the current time).
    pub ts: Option<i64>,
}

/// What part of a line was wrong; lets callers branch without matching message text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LineErrorKind {
    /// Fewer than two whitespace-separated fields.
    Fields,
    /// The first field is not `db/metric` with both parts non-empty.
    Target,
    /// An `i`-suffixed value that is not a base-10 i64.
    IntValue,
    /// An `i`-suffixed value that fits i64 but not i32.
    IntRange,
    /// A float value that is not Go float syntax or overflows float32.
    FloatValue,
    /// The timestamp fields do not form a valid timestamp.
    Timestamp,
    /// The line is not valid UTF-8.
    Encoding,
    /// The line is longer than the import limit.
    TooLong,
    /// The value field is not a number but the field after it is: either a
    /// bad value or a name containing a space; the message names both.
    SpaceInName,
    /// An integer timestamp is followed by more fields.
    TooManyFields,
}

/// A rejected line: the kind plus the offending text (the whole line for `Fields`, the
/// target, the value token, or the re-joined timestamp text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    kind: LineErrorKind,
    text: String,
}

impl LineError {
    /// A line that is not valid UTF-8.
    pub fn invalid_utf8() -> LineError {
        LineError::new(LineErrorKind::Encoding, "")
    }

    /// A line longer than `max` bytes.
    pub fn too_long(max: usize) -> LineError {
        LineError::new(LineErrorKind::TooLong, &max.to_string())
    }

    /// Builds an error; allocation happens only on this cold path.
    fn new(kind: LineErrorKind, text: &str) -> LineError {
        LineError {
            kind,
            text: text.to_owned(),
        }
    }

    /// Which rule the line broke.
    pub fn kind(&self) -> LineErrorKind {
        self.kind
    }

    /// The offending text (see the type's docs for which text each kind carries).
    pub fn text(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let q = GoQuoted(&self.text);
        match self.kind {
            LineErrorKind::Fields => {
                f.write_str("invalid line protocol: expected 'DB/metric value [ts]'")
            }
            LineErrorKind::Target => write!(f, "invalid target {q}: expected DB/metric"),
            LineErrorKind::IntValue => write!(f, "invalid int value {q}"),
            LineErrorKind::IntRange => write!(f, "int value out of int32 range {q}"),
            LineErrorKind::FloatValue => write!(f, "invalid numeric value {q}"),
            LineErrorKind::Timestamp => write!(f, "invalid timestamp {q}"),
            LineErrorKind::Encoding => f.write_str("line is not valid UTF-8"),
            LineErrorKind::TooLong => write!(f, "line longer than {} bytes", self.text),
            LineErrorKind::SpaceInName => {
                // `text` is `target value`: name both readings of the line.
                let value = self.text.rsplit(' ').next().unwrap_or("");
                write!(
                    f,
                    "invalid numeric value {} (or a metric name with a space, {q}: names cannot contain whitespace)",
                    GoQuoted(value)
                )
            }
            LineErrorKind::TooManyFields => write!(
                f,
                "too many fields in {q}: expected 'DB/metric value [ts]' (names cannot contain whitespace)"
            ),
        }
    }
}

impl std::error::Error for LineError {}

// ---------------------------------------------------------------------------------------------
// Line parsing
// ---------------------------------------------------------------------------------------------

/// Whether `b` is whitespace by Rust's `char::is_whitespace` (includes VT, unlike
/// `u8::is_ascii_whitespace`).
#[inline]
fn is_ascii_ws(b: u8) -> bool {
    b == b' ' || (b'\t'..=b'\r').contains(&b)
}

/// `split_whitespace` for pure-ASCII text, scanning bytes instead of decoding chars.
struct AsciiFields<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Iterator for AsciiFields<'a> {
    type Item = &'a str;

    #[inline]
    fn next(&mut self) -> Option<&'a str> {
        let b = self.s.as_bytes();
        let mut i = self.pos;
        while i < b.len() && is_ascii_ws(b[i]) {
            i += 1;
        }
        if i >= b.len() {
            self.pos = i;
            return None;
        }
        let start = i;
        while i < b.len() && !is_ascii_ws(b[i]) {
            i += 1;
        }
        self.pos = i;
        self.s.get(start..i)
    }
}

/// Parses one line-protocol record (docs/FORMATS.md §11.1).
///
/// Checks run in the reference's order: field count, target, value, timestamp. Fields 3.. are
/// re-joined with single spaces (allocating only when there are two or more) so a human
/// timestamp may span two fields.
pub fn parse_line(line: &str) -> Result<Line<'_>, LineError> {
    if line.is_ascii() {
        parse_fields(line, AsciiFields { s: line, pos: 0 }, None)
    } else {
        parse_fields(line, line.split_whitespace(), None)
    }
}

/// Parses one record into database `db` whatever the line names: the first
/// field is `metric` or `anydb/metric` (whose database part is replaced, as
/// `nanocli import --db` does).
pub fn parse_line_in<'a>(line: &'a str, db: &'a str) -> Result<Line<'a>, LineError> {
    if line.is_ascii() {
        parse_fields(line, AsciiFields { s: line, pos: 0 }, Some(db))
    } else {
        parse_fields(line, line.split_whitespace(), Some(db))
    }
}

/// The grammar over an already-split field iterator.
#[inline]
fn parse_fields<'a>(
    line: &'a str,
    mut fields: impl Iterator<Item = &'a str>,
    db_override: Option<&'a str>,
) -> Result<Line<'a>, LineError> {
    let (Some(target), Some(value_tok)) = (fields.next(), fields.next()) else {
        return Err(LineError::new(LineErrorKind::Fields, line));
    };
    let (db, metric) = match (target.split_once('/'), db_override) {
        (Some((db, metric)), None) if !db.is_empty() && !metric.is_empty() => (db, metric),
        (Some((_, metric)), Some(db)) if !metric.is_empty() => (db, metric),
        (None, Some(db)) => (db, target),
        _ => return Err(LineError::new(LineErrorKind::Target, target)),
    };
    let value = match parse_value(value_tok) {
        Ok(v) => v,
        Err(e) => return Err(explain_value_error(e, target, value_tok, fields.next())),
    };
    let ts = match fields.next() {
        None => None,
        Some(first) => match fields.next() {
            None => Some(
                parse_timestamp(first)
                    .map_err(|_| LineError::new(LineErrorKind::Timestamp, first))?,
            ),
            Some(second) => {
                let mut joined = String::with_capacity(first.len() + second.len() + 16);
                joined.push_str(first);
                joined.push(' ');
                joined.push_str(second);
                for f in fields {
                    joined.push(' ');
                    joined.push_str(f);
                }
                match parse_timestamp(&joined) {
                    Ok(ts) => Some(ts),
                    // `ns extra…`: an integer timestamp takes one field, so the
                    // rest is surplus (a date and a time may take two).
                    Err(_) if parse_i64_dec(first.as_bytes()).is_some() => {
                        return Err(LineError::new(LineErrorKind::TooManyFields, line));
                    }
                    Err(_) => return Err(LineError::new(LineErrorKind::Timestamp, &joined)),
                }
            }
        },
    };
    Ok(Line {
        db,
        metric,
        value,
        ts,
    })
}

/// A value token that is not a number, followed by one that is, means the
/// name had a space in it (`edge/has space 1`): say so instead of calling
/// the second word of the name a bad number.
#[cold]
fn explain_value_error(
    e: LineError,
    target: &str,
    value_tok: &str,
    next: Option<&str>,
) -> LineError {
    match next {
        Some(n) if parse_value(n).is_ok() => {
            LineError::new(LineErrorKind::SpaceInName, &format!("{target} {value_tok}"))
        }
        _ => e,
    }
}

// ---------------------------------------------------------------------------------------------
// Value parsing (docs/FORMATS.md §11.2)
// ---------------------------------------------------------------------------------------------

/// Parses a value token: `<int>i` → int32, anything else → float32 with Go's
/// `strconv.ParseFloat(tok, 32)` syntax and rounding; float32 overflow is an error.
pub fn parse_value(tok: &str) -> Result<Value, LineError> {
    if let Some(int_part) = tok.strip_suffix('i') {
        let n = parse_i64_dec(int_part.as_bytes())
            .ok_or_else(|| LineError::new(LineErrorKind::IntValue, tok))?;
        return i32::try_from(n)
            .map(Value::I32)
            .map_err(|_| LineError::new(LineErrorKind::IntRange, tok));
    }
    parse_go_f32(tok)
        .map(Value::F32)
        .ok_or_else(|| LineError::new(LineErrorKind::FloatValue, tok))
}

/// Go's `special`: the whole token must be `[+-]inf`, `[+-]infinity` or `nan` (any case).
fn special(s: &[u8]) -> Option<f32> {
    let (neg, body) = match s.split_first() {
        Some((b'+', rest)) => (false, rest),
        Some((b'-', rest)) => (true, rest),
        _ => {
            if s.eq_ignore_ascii_case(b"nan") {
                return Some(f32::NAN);
            }
            (false, s)
        }
    };
    if body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity") {
        Some(if neg {
            f32::NEG_INFINITY
        } else {
            f32::INFINITY
        })
    } else {
        None
    }
}

/// What Go's `readFloat` extracts from a numeric literal.
struct FloatScan {
    /// Up to 19 decimal / 16 hex significant digits.
    mantissa: u64,
    /// Power of 10 (decimal) or 2 (hex) applied to `mantissa`.
    exp: i64,
    neg: bool,
    /// Non-zero digits were dropped from `mantissa`.
    trunc: bool,
    hex: bool,
    underscores: bool,
}

/// Port of Go's `readFloat`; None unless the WHOLE token is a valid literal (including Go's
/// `underscoreOK` rule and the mandatory `p` exponent of hex literals).
fn read_float(s: &[u8]) -> Option<FloatScan> {
    let mut i = 0;
    let mut neg = false;
    match s.first() {
        Some(b'+') => i += 1,
        Some(b'-') => {
            neg = true;
            i += 1;
        }
        Some(_) => {}
        None => return None,
    }
    let mut hex = false;
    let mut base: u64 = 10;
    let mut max_mant_digits = 19;
    let mut exp_char = b'e';
    if i + 2 < s.len() && s[i] == b'0' && s[i + 1].eq_ignore_ascii_case(&b'x') {
        base = 16;
        max_mant_digits = 16;
        i += 2;
        exp_char = b'p';
        hex = true;
    }
    let mut underscores = false;
    let mut sawdot = false;
    let mut sawdigits = false;
    let mut mantissa: u64 = 0;
    let mut trunc = false;
    let mut nd: i64 = 0;
    let mut nd_mant: i64 = 0;
    let mut dp: i64 = 0;
    while let Some(&c) = s.get(i) {
        let lc = c.to_ascii_lowercase();
        if c == b'_' {
            underscores = true;
        } else if c == b'.' {
            if sawdot {
                break;
            }
            sawdot = true;
            dp = nd;
        } else if c.is_ascii_digit() {
            sawdigits = true;
            if c == b'0' && nd == 0 {
                dp -= 1;
            } else {
                nd += 1;
                if nd_mant < max_mant_digits {
                    mantissa = mantissa * base + u64::from(c - b'0');
                    nd_mant += 1;
                } else if c != b'0' {
                    trunc = true;
                }
            }
        } else if hex && (b'a'..=b'f').contains(&lc) {
            sawdigits = true;
            nd += 1;
            if nd_mant < max_mant_digits {
                mantissa = mantissa * 16 + u64::from(lc - b'a' + 10);
                nd_mant += 1;
            } else {
                trunc = true;
            }
        } else {
            break;
        }
        i += 1;
    }
    if !sawdigits {
        return None;
    }
    if !sawdot {
        dp = nd;
    }
    if hex {
        dp *= 4;
        nd_mant *= 4;
    }
    if s.get(i).map(|c| c.to_ascii_lowercase()) == Some(exp_char) {
        i += 1;
        let mut esign = 1;
        match s.get(i) {
            Some(b'+') => i += 1,
            Some(b'-') => {
                i += 1;
                esign = -1;
            }
            Some(_) => {}
            None => return None,
        }
        if !s.get(i).is_some_and(u8::is_ascii_digit) {
            return None;
        }
        let mut e: i64 = 0;
        while let Some(&c) = s.get(i) {
            if c == b'_' {
                underscores = true;
            } else if c.is_ascii_digit() {
                if e < 10_000 {
                    e = e * 10 + i64::from(c - b'0');
                }
            } else {
                break;
            }
            i += 1;
        }
        dp += e * esign;
    } else if hex {
        return None;
    }
    if i != s.len() {
        return None;
    }
    if underscores && !underscore_ok(s) {
        return None;
    }
    let exp = if mantissa != 0 { dp - nd_mant } else { 0 };
    Some(FloatScan {
        mantissa,
        exp,
        neg,
        trunc,
        hex,
        underscores,
    })
}

/// Go's `underscoreOK`: underscores only between digits (or after a base prefix).
fn underscore_ok(s: &[u8]) -> bool {
    let s = match s.first() {
        Some(b'+' | b'-') => &s[1..],
        _ => s,
    };
    let mut saw = b'^';
    let mut i = 0;
    let mut hex = false;
    if s.len() >= 2 && s[0] == b'0' && matches!(s[1].to_ascii_lowercase(), b'b' | b'o' | b'x') {
        i = 2;
        saw = b'0';
        hex = s[1].eq_ignore_ascii_case(&b'x');
    }
    while let Some(&c) = s.get(i) {
        i += 1;
        if c.is_ascii_digit() || (hex && (b'a'..=b'f').contains(&c.to_ascii_lowercase())) {
            saw = b'0';
            continue;
        }
        if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
            continue;
        }
        if saw == b'_' {
            return false;
        }
        saw = b'!';
    }
    saw != b'_'
}

/// Port of Go's `atofHex` for float32: rounds `mantissa * 2^exp` to nearest-even float32;
/// None on overflow.
fn atof_hex32(mut mantissa: u64, mut exp: i64, neg: bool, trunc: bool) -> Option<f32> {
    const MANTBITS: u32 = 23;
    const BIAS: i64 = -127;
    const MAX_EXP: i64 = (1 << 8) + BIAS - 2;
    const MIN_EXP: i64 = BIAS + 1;
    exp += i64::from(MANTBITS);
    while mantissa != 0 && mantissa >> (MANTBITS + 2) == 0 {
        mantissa <<= 1;
        exp -= 1;
    }
    if trunc {
        mantissa |= 1;
    }
    while mantissa >> (1 + MANTBITS + 2) != 0 {
        mantissa = (mantissa >> 1) | (mantissa & 1);
        exp += 1;
    }
    while mantissa > 1 && exp < MIN_EXP - 2 {
        mantissa = (mantissa >> 1) | (mantissa & 1);
        exp += 1;
    }
    let mut round = mantissa & 3;
    mantissa >>= 2;
    round |= mantissa & 1;
    exp += 2;
    if round == 3 {
        mantissa += 1;
        if mantissa == 1 << (1 + MANTBITS) {
            mantissa >>= 1;
            exp += 1;
        }
    }
    if mantissa >> MANTBITS == 0 {
        exp = BIAS;
    }
    if exp > MAX_EXP {
        return None;
    }
    let mut bits = mantissa & ((1 << MANTBITS) - 1);
    bits |= (((exp - BIAS) & 0xff) as u64) << MANTBITS;
    if neg {
        bits |= 1 << 31;
    }
    Some(f32::from_bits(bits as u32))
}

/// Exact powers of ten representable in f32 (Clinger's fast path).
const F32_POW10: [f32; 11] = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10];

/// `strconv.ParseFloat(tok, 32)` minus the error details; None for a syntax error or a value
/// that rounds beyond the float32 range.
fn parse_go_f32(tok: &str) -> Option<f32> {
    let b = tok.as_bytes();
    if let Some(v) = special(b) {
        return Some(v);
    }
    let scan = read_float(b)?;
    if scan.hex {
        return atof_hex32(scan.mantissa, scan.exp, scan.neg, scan.trunc);
    }
    // Exact fast path: one correctly rounded IEEE operation on exact operands.
    if !scan.trunc && scan.mantissa <= 1 << 24 && (-10..=10).contains(&scan.exp) {
        let m = scan.mantissa as f32;
        let p = F32_POW10[scan.exp.unsigned_abs() as usize];
        let v = if scan.exp >= 0 { m * p } else { m / p };
        return Some(if scan.neg { -v } else { v });
    }
    // Rust's parser rounds correctly straight to f32 and accepts every underscore-free Go
    // decimal literal (which read_float has validated), so reuse it.
    let parsed = if scan.underscores {
        let cleaned: String = tok.chars().filter(|&c| c != '_').collect();
        cleaned.parse::<f32>()
    } else {
        tok.parse::<f32>()
    };
    match parsed {
        Ok(v) if v.is_finite() => Some(v),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Output (docs/FORMATS.md §11.6)
// ---------------------------------------------------------------------------------------------

/// Appends the decimal form of `n`.
#[inline]
fn write_i32(out: &mut Vec<u8>, n: i32) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// Appends a value in export form: int32 as `-7i` (our choice, see the module docs), float32
/// as the shortest round-tripping decimal in plain notation (`21.5`, `-0`, `16777216`),
/// `NaN`, `+Inf`, `-Inf`. Every output parses back to the same value with [`parse_value`].
pub fn write_value(out: &mut Vec<u8>, v: Value) {
    match v {
        Value::I32(n) => {
            write_i32(out, n);
            out.push(b'i');
        }
        Value::F32(f) if f.is_nan() => out.extend_from_slice(b"NaN"),
        Value::F32(f) if f.is_infinite() => {
            out.extend_from_slice(if f > 0.0 { b"+Inf" } else { b"-Inf" })
        }
        Value::F32(f) => {
            use std::io::Write;
            // Writing into a Vec cannot fail.
            let _ = write!(out, "{f}");
        }
    }
}

/// Appends one export line: `db/metric VALUE YYYY-MM-DD HH:MM:SS.nnnnnnnnn\n`.
pub fn write_line(out: &mut Vec<u8>, db: &str, metric: &str, v: Value, ts: i64) {
    out.reserve(db.len() + metric.len() + 48);
    out.extend_from_slice(db.as_bytes());
    out.push(b'/');
    out.extend_from_slice(metric.as_bytes());
    out.push(b' ');
    write_value(out, v);
    out.push(b' ');
    write_timestamp(ts, out);
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const T2026: i64 = 1_767_225_600_000_000_000;

    fn f(tok: &str) -> f32 {
        match parse_value(tok) {
            Ok(Value::F32(v)) => v,
            other => panic!("{tok:?}: {other:?}"),
        }
    }

    fn kind(tok: &str) -> LineErrorKind {
        match parse_value(tok) {
            Err(e) => e.kind(),
            Ok(v) => panic!("{tok:?} unexpectedly parsed as {v:?}"),
        }
    }

    fn line_err(line: &str) -> LineError {
        match parse_line(line) {
            Err(e) => e,
            Ok(l) => panic!("{line:?} unexpectedly parsed as {l:?}"),
        }
    }

    #[test]
    fn basic_lines() {
        assert_eq!(
            parse_line("db/cpu 21.5 1767225600000000000"),
            Ok(Line {
                db: "db",
                metric: "cpu",
                value: Value::F32(21.5),
                ts: Some(T2026)
            })
        );
        assert_eq!(
            parse_line("  db/cpu\t42i  \r\n"),
            Ok(Line {
                db: "db",
                metric: "cpu",
                value: Value::I32(42),
                ts: None
            })
        );
        assert_eq!(
            parse_line("db/a/b/ 1 5"),
            Ok(Line {
                db: "db",
                metric: "a/b/",
                value: Value::F32(1.0),
                ts: Some(5)
            })
        );
        assert_eq!(
            parse_line("t/human.ts 6 2026-01-01 00:00:04.5"),
            Ok(Line {
                db: "t",
                metric: "human.ts",
                value: Value::F32(6.0),
                ts: Some(T2026 + 4_500_000_000)
            })
        );
        assert_eq!(
            parse_line("t/h 6 2026-01-01\t\t00:00:04"),
            Ok(Line {
                db: "t",
                metric: "h",
                value: Value::F32(6.0),
                ts: Some(T2026 + 4_000_000_000)
            })
        );
        // Vertical tab and form feed are whitespace (Rust's and Go's definition).
        assert_eq!(
            parse_line("d/m\x0b1\x0c2"),
            Ok(Line {
                db: "d",
                metric: "m",
                value: Value::F32(1.0),
                ts: Some(2)
            })
        );
        // 0x1C..0x1F are not whitespace: they stay inside the target.
        assert_eq!(line_err("d/m\x1c1").kind(), LineErrorKind::Fields);
    }

    #[test]
    fn unicode_whitespace_lines() {
        assert_eq!(
            parse_line("d/m\u{a0}1\u{85}2\u{3000}"),
            Ok(Line {
                db: "d",
                metric: "m",
                value: Value::F32(1.0),
                ts: Some(2)
            })
        );
        assert_eq!(
            parse_line("dé/mé 1 2026-01-01\u{2003}00:00:01"),
            Ok(Line {
                db: "dé",
                metric: "mé",
                value: Value::F32(1.0),
                ts: Some(T2026 + 1_000_000_000)
            })
        );
    }

    #[test]
    fn line_errors() {
        let e = line_err("db/m");
        assert_eq!(e.kind(), LineErrorKind::Fields);
        assert_eq!(
            e.to_string(),
            "invalid line protocol: expected 'DB/metric value [ts]'"
        );
        assert_eq!(line_err("").kind(), LineErrorKind::Fields);
        assert_eq!(line_err("   \t").kind(), LineErrorKind::Fields);
        for (line, target) in [
            ("db 1", "db"),
            ("/m 1", "/m"),
            ("db/ 1", "db/"),
            ("/ 1", "/"),
        ] {
            let e = line_err(line);
            assert_eq!(e.kind(), LineErrorKind::Target, "{line:?}");
            assert_eq!(e.text(), target);
        }
        assert_eq!(
            line_err("x 1").to_string(),
            r#"invalid target "x": expected DB/metric"#
        );
        let e = line_err("db/m 1 # x");
        assert_eq!(e.kind(), LineErrorKind::Timestamp);
        assert_eq!(e.text(), "# x");
        assert_eq!(e.to_string(), r##"invalid timestamp "# x""##);
        let e = line_err("db/m 1 1715000000.5");
        assert_eq!(e.to_string(), r#"invalid timestamp "1715000000.5""#);
        // Value errors come before timestamp errors.
        assert_eq!(line_err("db/m x y").kind(), LineErrorKind::FloatValue);
        // A bad value followed by a number: a bad value, or a name with a space.
        let e = line_err("edge/has space 1");
        assert_eq!(e.kind(), LineErrorKind::SpaceInName);
        assert_eq!(
            e.to_string(),
            r#"invalid numeric value "space" (or a metric name with a space, "edge/has space": names cannot contain whitespace)"#
        );
        let e = line_err("d/m 1 1715000000 extra");
        assert_eq!(e.kind(), LineErrorKind::TooManyFields);
        assert!(
            e.to_string()
                .starts_with(r#"too many fields in "d/m 1 1715000000 extra""#)
        );
        assert_eq!(
            line_err("d/m 1 2026-01-01 25:00").text(),
            "2026-01-01 25:00"
        );
    }

    #[test]
    fn int_values() {
        assert_eq!(parse_value("42i"), Ok(Value::I32(42)));
        assert_eq!(parse_value("-7i"), Ok(Value::I32(-7)));
        assert_eq!(parse_value("+7i"), Ok(Value::I32(7)));
        assert_eq!(parse_value("007i"), Ok(Value::I32(7)));
        assert_eq!(parse_value("-0i"), Ok(Value::I32(0)));
        assert_eq!(parse_value("2147483647i"), Ok(Value::I32(i32::MAX)));
        assert_eq!(parse_value("-2147483648i"), Ok(Value::I32(i32::MIN)));
        for tok in ["2147483648i", "-2147483649i", "9223372036854775807i"] {
            assert_eq!(kind(tok), LineErrorKind::IntRange, "{tok:?}");
        }
        for tok in [
            "i",
            "1.5i",
            "Infi",
            "1e3i",
            "1_000i",
            "0x10i",
            "+i",
            "- 1i",
            "9223372036854775808i",
            "ii",
        ] {
            assert_eq!(kind(tok), LineErrorKind::IntValue, "{tok:?}");
        }
        assert_eq!(
            parse_value("1.5i").map_err(|e| e.to_string()),
            Err(r#"invalid int value "1.5i""#.to_owned())
        );
        assert_eq!(
            parse_value("2147483648i").map_err(|e| e.to_string()),
            Err(r#"int value out of int32 range "2147483648i""#.to_owned())
        );
    }

    #[test]
    fn float_values() {
        assert_eq!(f("42"), 42.0);
        assert_eq!(f("1e3"), 1000.0);
        assert_eq!(f("21.5"), 21.5);
        assert_eq!(f("16777217"), 16_777_216.0);
        assert_eq!(f("16777219"), 16_777_220.0);
        assert_eq!(f("1.5e-45").to_bits(), 1);
        assert_eq!(f("0.7e-45").to_bits(), 0); // just below half the smallest denormal
        assert_eq!(f("0.8e-45").to_bits(), 1);
        assert_eq!(f("1e-50").to_bits(), 0);
        assert_eq!(f("-1e-50").to_bits(), 0x8000_0000);
        assert_eq!(f("-0.0").to_bits(), 0x8000_0000);
        assert_eq!(f("-0").to_bits(), 0x8000_0000);
        assert_eq!(f("0.1"), 0.1f32);
        assert_eq!(f("3.4028235e38"), f32::MAX);
        assert_eq!(f("340282356779733661637539395458142568447"), f32::MAX);
        assert_eq!(
            kind("340282356779733661637539395458142568448"),
            LineErrorKind::FloatValue
        );
        assert_eq!(kind("3.5e38"), LineErrorKind::FloatValue);
        assert_eq!(kind("-3.5e38"), LineErrorKind::FloatValue);
        assert_eq!(kind("1e99999999999999999999"), LineErrorKind::FloatValue);
        assert_eq!(f("0e99999999999999999999"), 0.0);
        assert_eq!(f("1e-99999999999999999999"), 0.0);
        assert_eq!(f("5."), 5.0);
        assert_eq!(f(".5"), 0.5);
        assert_eq!(f("+.5"), 0.5);
        assert_eq!(f("-5."), -5.0);
        assert_eq!(f("1E+2"), 100.0);
        assert_eq!(f("1e-2"), 0.01);
        assert_eq!(f("000.0001"), 0.0001);
        assert_eq!(f("1_000.5"), 1000.5);
        // Go syntax variants that miss the exact fast path must also pass Rust's parser.
        assert_eq!(f("16777217."), 16_777_216.0);
        assert_eq!(f("+16777217"), 16_777_216.0);
        assert_eq!(f(".16777217e8"), 16_777_216.0);
        assert_eq!(f("-.16777217E+8"), -16_777_216.0);
        assert_eq!(f("1e00000000000000000000000000001"), 10.0);
        assert_eq!(f("1_6777217"), 16_777_216.0);
        assert_eq!(f("1.5e-4_5").to_bits(), 1);
        assert_eq!(kind("1e400"), LineErrorKind::FloatValue);
        assert_eq!(f("1_0e1_0"), 1e11);
        assert_eq!(f("0_1"), 1.0);
        // Long mantissas (truncated past 19 digits) still round correctly.
        assert_eq!(f("1.00000005960464477539062500000000000001"), 1.000_000_1);
        assert_eq!(f("1.000000059604644775390625"), 1.0);
        for tok in [
            "",
            ".",
            "-",
            "+",
            "1e",
            "1e+",
            "e5",
            ".e5",
            "1__0",
            "_1",
            "1_",
            "1_.5",
            "1._5",
            "1_e5",
            "+_1",
            "1.5.5",
            "1,5",
            "0x1.8",
            "0x",
            "0x1p",
            "0xp1",
            "0x.p1",
            "1e5.3",
            "+nan",
            "-nan",
            "nan1",
            "infin",
            "infinit",
            "Infinityx",
            "++1",
            "1 ",
            "0b101",
            "0o7",
            "１",
        ] {
            assert_eq!(kind(tok), LineErrorKind::FloatValue, "{tok:?}");
        }
        assert_eq!(
            parse_value("abc").map_err(|e| e.to_string()),
            Err(r#"invalid numeric value "abc""#.to_owned())
        );
    }

    #[test]
    fn special_values() {
        assert!(f("NaN").is_nan());
        assert!(f("nan").is_nan());
        assert!(f("nAn").is_nan());
        for tok in ["inf", "+Inf", "INF", "infinity", "+Infinity", "iNfInItY"] {
            assert_eq!(f(tok), f32::INFINITY, "{tok:?}");
        }
        for tok in ["-inf", "-Inf", "-INFINITY"] {
            assert_eq!(f(tok), f32::NEG_INFINITY, "{tok:?}");
        }
    }

    #[test]
    fn hex_values() {
        assert_eq!(f("0x1.8p3"), 12.0);
        assert_eq!(f("0X1P-2"), 0.25);
        assert_eq!(f("-0x1p0"), -1.0);
        assert_eq!(f("0x.8p1"), 1.0);
        assert_eq!(f("0x1.p1"), 2.0);
        assert_eq!(f("0x_1p0"), 1.0);
        assert_eq!(f("0x1p1_0"), 1024.0);
        assert_eq!(f("0xABCp0"), 2748.0);
        assert_eq!(f("0x1.fffffep127"), f32::MAX);
        assert_eq!(kind("0x1.ffffffp127"), LineErrorKind::FloatValue); // rounds up to 2^128
        assert_eq!(kind("0x1p128"), LineErrorKind::FloatValue);
        assert_eq!(f("0x1p-149").to_bits(), 1);
        assert_eq!(f("0x1p-150").to_bits(), 0); // tie → even (0)
        assert_eq!(f("0x1.8p-150").to_bits(), 1);
        assert_eq!(f("0x1p-126"), f32::MIN_POSITIVE);
        assert_eq!(f("0x1000001p0"), 16_777_216.0); // tie → even
        assert_eq!(f("0x1000003p0"), 16_777_220.0); // tie → even (up)
        // 2^20 + 2^-4 (half an ulp) + a dropped low bit: the sticky bit forces rounding up.
        assert_eq!(f("0x1000001000000000000001p-64"), 1_048_576.0 + 0.125);
        assert_eq!(f("0x1000001000000000000000p-64"), 1_048_576.0);
        assert_eq!(f("0x0p99999"), 0.0);
        assert_eq!(f("-0x0p0").to_bits(), 0x8000_0000);
    }

    #[test]
    fn write_values() {
        let w = |v: Value| {
            let mut out = Vec::new();
            write_value(&mut out, v);
            String::from_utf8(out).unwrap_or_default()
        };
        assert_eq!(w(Value::I32(-7)), "-7i");
        assert_eq!(w(Value::I32(0)), "0i");
        assert_eq!(w(Value::I32(i32::MIN)), "-2147483648i");
        assert_eq!(w(Value::I32(i32::MAX)), "2147483647i");
        assert_eq!(w(Value::F32(21.5)), "21.5");
        assert_eq!(w(Value::F32(0.1)), "0.1");
        assert_eq!(w(Value::F32(42.0)), "42");
        assert_eq!(w(Value::F32(1e-10)), "0.0000000001");
        assert_eq!(w(Value::F32(1e20)), "100000000000000000000");
        assert_eq!(w(Value::F32(-0.0)), "-0");
        assert_eq!(w(Value::F32(16_777_216.0)), "16777216");
        assert_eq!(w(Value::F32(f32::NAN)), "NaN");
        assert_eq!(w(Value::F32(f32::INFINITY)), "+Inf");
        assert_eq!(w(Value::F32(f32::NEG_INFINITY)), "-Inf");
        assert_eq!(
            w(Value::F32(f32::from_bits(1))),
            "0.000000000000000000000000000000000000000000001"
        );
    }

    #[test]
    fn write_lines() {
        let mut out = Vec::new();
        write_line(&mut out, "t", "int.small", Value::I32(42), T2026);
        write_line(&mut out, "t", "a/b", Value::F32(-1.5), -1);
        assert_eq!(
            String::from_utf8_lossy(&out),
            "t/int.small 42i 2026-01-01 00:00:00.000000000\nt/a/b -1.5 1969-12-31 23:59:59.999999999\n"
        );
    }

    #[test]
    fn f32_round_trip_strided() {
        // A deterministic sweep over the bit space (every sign/exponent, many mantissas).
        let mut bits: u32 = 0;
        loop {
            let v = f32::from_bits(bits);
            let mut out = Vec::new();
            write_value(&mut out, Value::F32(v));
            let text = String::from_utf8_lossy(&out).into_owned();
            match parse_value(&text) {
                Ok(Value::F32(back)) if v.is_nan() => assert!(back.is_nan(), "{text}"),
                Ok(Value::F32(back)) => assert_eq!(back.to_bits(), bits, "{text}"),
                other => panic!("{text} -> {other:?}"),
            }
            match bits.checked_add(65_521) {
                Some(b) => bits = b,
                None => break,
            }
        }
    }

    /// The original's export writes int32 without the `i`; map our output to compare.
    fn reference_value_text(v: Value) -> String {
        let mut out = Vec::new();
        write_value(&mut out, v);
        let s = String::from_utf8_lossy(&out).into_owned();
        match v {
            Value::I32(_) => s.trim_end_matches('i').to_owned(),
            Value::F32(_) => s,
        }
    }

    #[test]
    fn types_fixture() {
        let dir = crate::testutil::fixtures().join("types");
        let read = |name: &str| match std::fs::read_to_string(dir.join(name)) {
            Ok(s) => s,
            Err(e) => panic!("{name}: {e}"),
        };
        let (input, expected) = (read("input.lp"), read("expected-t.lp"));
        let mut got = String::new();
        let mut n = 0;
        for line in input.lines() {
            let l = match parse_line(line) {
                Ok(l) => l,
                Err(e) => panic!("{line:?}: {e}"),
            };
            let Some(ts) = l.ts else {
                panic!("{line:?} has no ts")
            };
            got.push_str(&format!(
                "{}/{} {} ",
                l.db,
                l.metric,
                reference_value_text(l.value)
            ));
            crate::time::format_timestamp(ts, &mut got);
            got.push('\n');
            n += 1;
        }
        assert_eq!(n, 17);
        assert_eq!(got, expected);
        // Spot-check the exact types and bits behind the text.
        assert_eq!(
            parse_line("t/int.small 42i 1").map(|l| l.value),
            Ok(Value::I32(42))
        );
        assert_eq!(
            parse_line("t/float.whole 42 1").map(|l| l.value),
            Ok(Value::F32(42.0))
        );
    }

    proptest! {
        #[test]
        fn f32_round_trip(bits in any::<u32>()) {
            let v = f32::from_bits(bits);
            let mut out = Vec::new();
            write_value(&mut out, Value::F32(v));
            let text = String::from_utf8_lossy(&out).into_owned();
            match parse_value(&text) {
                Ok(Value::F32(back)) if v.is_nan() => prop_assert!(back.is_nan()),
                Ok(Value::F32(back)) => prop_assert_eq!(back.to_bits(), bits, "{}", text),
                other => prop_assert!(false, "{} -> {:?}", text, other),
            }
        }

        #[test]
        fn i32_round_trip(n in any::<i32>()) {
            let mut out = Vec::new();
            write_value(&mut out, Value::I32(n));
            prop_assert_eq!(parse_value(&String::from_utf8_lossy(&out)), Ok(Value::I32(n)));
        }

        #[test]
        fn line_round_trip(
            db in "[A-Za-z0-9_.-]{1,12}",
            metric in "[A-Za-z0-9_./:-]{1,20}",
            bits in any::<u32>(),
            int in any::<i32>(),
            use_int in any::<bool>(),
            ts in any::<i64>(),
        ) {
            let v = if use_int { Value::I32(int) } else { Value::F32(f32::from_bits(bits)) };
            let mut out = Vec::new();
            write_line(&mut out, &db, &metric, v, ts);
            let text = String::from_utf8_lossy(&out).into_owned();
            let l = match parse_line(&text) {
                Ok(l) => l,
                Err(e) => return Err(TestCaseError::fail(format!("{text:?}: {e}"))),
            };
            prop_assert_eq!(l.db, db.as_str());
            prop_assert_eq!(l.metric, metric.as_str());
            prop_assert_eq!(l.ts, Some(ts));
            match (v, l.value) {
                (Value::F32(a), Value::F32(b)) if a.is_nan() => prop_assert!(b.is_nan()),
                (Value::F32(a), Value::F32(b)) => prop_assert_eq!(a.to_bits(), b.to_bits()),
                (a, b) => prop_assert_eq!(a, b),
            }
        }

        #[test]
        fn decimal_parse_matches_rust(bits in any::<u32>(), exp in -60i32..60) {
            // For underscore-free decimal literals the result must equal Rust's correctly
            // rounded parse (this exercises the fast path against the slow one).
            let v = f32::from_bits(bits & 0x7fff_ffff);
            prop_assume!(v.is_finite());
            let sci = format!("{v:e}");
            let mant = sci.split('e').next().unwrap_or("0");
            let text = format!("{mant}e{exp}");
            let want: f32 = match text.parse() { Ok(x) => x, Err(_) => return Ok(()) };
            match parse_value(&text) {
                Ok(Value::F32(got)) => prop_assert_eq!(got.to_bits(), want.to_bits()),
                Err(e) => prop_assert!(want.is_infinite(), "{}: {}", text, e),
                other => prop_assert!(false, "{:?}", other),
            }
        }

        #[test]
        fn ascii_fields_match_split_whitespace(s in "[ \t\n\x0b\x0c\r\x1c\x1fa/1]{0,30}") {
            let fast: Vec<&str> = AsciiFields { s: &s, pos: 0 }.collect();
            let slow: Vec<&str> = s.split_whitespace().collect();
            prop_assert_eq!(fast, slow);
        }

        #[test]
        fn parse_value_never_panics(s in "[0-9a-fA-FxXpPeE._+-iInN]{0,30}") {
            let _ = parse_value(&s);
        }

        #[test]
        fn parse_line_never_panics(s in "\\PC{0,40}") {
            let _ = parse_line(&s);
        }
    }
}
