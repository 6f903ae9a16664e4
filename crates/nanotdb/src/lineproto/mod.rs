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
    /// `db/metric  <ns timestamp>`: the only field after the name is a
    /// nanosecond timestamp and an empty field (two separators) precedes
    /// it, so the value is missing; v1.4.0 stored the timestamp as the value.
    ValueMissing,
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
            LineErrorKind::ValueMissing => write!(
                f,
                "value missing: {q} follows an empty field and looks like a nanosecond timestamp (write 'DB/metric value ts')"
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
        let i = next_ascii_ws(b, i);
        self.pos = i;
        self.s.get(start..i)
    }
}

/// The index of the first whitespace byte of `b` at or after `i` (or its
/// length), eight bytes at a time: a line's fields are most of its bytes.
#[inline]
fn next_ascii_ws(b: &[u8], mut i: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    while let Some(chunk) = b.get(i..).and_then(|rest| rest.first_chunk::<8>()) {
        let v = u64::from_le_bytes(*chunk);
        // Bytes below 0x21 (whitespace and other controls) in ASCII text:
        // the lowest flagged byte is exact (borrows only flag bytes above it).
        let below = v.wrapping_sub(ONES * 0x21) & !v & (ONES * 0x80);
        if below == 0 {
            i += 8;
            continue;
        }
        let j = i + (below.trailing_zeros() / 8) as usize;
        if b.get(j).is_some_and(|&c| is_ascii_ws(c)) {
            return j;
        }
        i = j + 1;
    }
    while i < b.len() && !is_ascii_ws(b[i]) {
        i += 1;
    }
    i
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

/// `line` without leading and trailing ASCII whitespace (as
/// `char::is_whitespace` counts it: VT included), byte by byte: for an ASCII
/// line, what `str::trim` gives, without decoding chars.
pub fn trim_ascii_ws(line: &str) -> &str {
    let b = line.as_bytes();
    let start = b.iter().position(|&c| !is_ascii_ws(c)).unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|&c| !is_ascii_ws(c))
        .map_or(start, |e| e + 1);
    // Both cut next to an ASCII byte: char boundaries in any UTF-8 text.
    line.get(start..end).unwrap_or_default()
}

/// [`parse_line`] (`db` None) or [`parse_line_in`] for a line the caller
/// knows to be ASCII (it checked the whole body at once): the per-line check
/// is skipped. A line that is not ASCII after all is not split at Unicode
/// whitespace, so it fails to parse instead of parsing as [`parse_line`] would.
pub fn parse_ascii_line<'a>(line: &'a str, db: Option<&'a str>) -> Result<Line<'a>, LineError> {
    parse_fields(line, AsciiFields { s: line, pos: 0 }, db)
}

/// Whether `value_tok`, the last field of `line`, is a lone nanosecond
/// timestamp after an empty field: at least two whitespace characters
/// separate it from `target`, and it is a plain integer of 19 digits or
/// more (from 2001-09-09 on as ns; a value that large without `i` could
/// only be stored as a rounded float32 anyway).
fn looks_like_missing_value(line: &str, target: &str, value_tok: &str) -> bool {
    let digits = value_tok.strip_prefix('-').unwrap_or(value_tok);
    if digits.len() < 19 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    // Both are slices of `line`: the bytes between them are the separator.
    let base = line.as_ptr() as usize;
    let target_end = (target.as_ptr() as usize - base) + target.len();
    let value_start = value_tok.as_ptr() as usize - base;
    line.get(target_end..value_start)
        .is_some_and(|sep| sep.chars().count() >= 2)
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
    // memchr's vector search: `split_once` scans char by char.
    let split = memchr::memchr(b'/', target.as_bytes())
        .and_then(|i| Some((target.get(..i)?, target.get(i + 1..)?)));
    let (db, metric) = match (split, db_override) {
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
        None if looks_like_missing_value(line, target, value_tok) => {
            return Err(LineError::new(LineErrorKind::ValueMissing, value_tok));
        }
        None => None,
        Some(first) => match fields.next() {
            // A field holds no whitespace, so an integer needs no trimming.
            None => match parse_i64_dec(first.as_bytes()) {
                Some(ts) => Some(ts),
                None => Some(
                    parse_timestamp(first)
                        .map_err(|_| LineError::new(LineErrorKind::Timestamp, first))?,
                ),
            },
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

/// The usual value token, `[-]digits[.digits]` whose digits form an
/// integer of at most 2^24 with at most 10 after the point, read in one
/// pass: the same f32 as Go's exact fast path gives it (`mantissa / 10^k`,
/// one correctly rounded operation on exact operands). None for anything
/// else, which takes the full path.
#[inline]
fn plain_decimal_f32(b: &[u8]) -> Option<f32> {
    let (neg, digits) = match b.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, b),
    };
    if digits.is_empty() || digits.len() > 18 {
        return None;
    }
    let mut mantissa: u64 = 0;
    let mut frac: Option<usize> = None;
    let mut seen_digit = false;
    for (i, &c) in digits.iter().enumerate() {
        let d = c.wrapping_sub(b'0');
        if d <= 9 {
            mantissa = mantissa * 10 + u64::from(d);
            seen_digit = true;
        } else if c == b'.' && frac.is_none() {
            frac = Some(digits.len() - i - 1);
        } else {
            return None;
        }
    }
    let k = frac.unwrap_or(0);
    if !seen_digit || mantissa > 1 << 24 || k > 10 {
        return None;
    }
    let v = mantissa as f32 / F32_POW10[k];
    Some(if neg { -v } else { v })
}

/// `strconv.ParseFloat(tok, 32)` minus the error details; None for a syntax error or a value
/// that rounds beyond the float32 range.
fn parse_go_f32(tok: &str) -> Option<f32> {
    let b = tok.as_bytes();
    if let Some(v) = plain_decimal_f32(b) {
        return Some(v);
    }
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
/// `NaN`, `+Inf`, `-Inf`. Every int32 or float32 output parses back to the same value with
/// [`parse_value`]. The 8-byte types (docs/FORMATS.md §11.6) are written exactly: int64 as
/// `25276182528i`, float64 as the shortest decimal that reads back as the same f64, in the same
/// notation; the line protocol reads those back with v1.4.0's types (int32, float32).
pub fn write_value(out: &mut Vec<u8>, v: Value) {
    match v {
        Value::I32(n) => {
            write_i32(out, n);
            out.push(b'i');
        }
        Value::I64(n) => {
            out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
            out.push(b'i');
        }
        Value::F32(f) => write_float(out, f64::from(f), f),
        Value::F64(f) => write_float(out, f, f),
    }
}

/// `NaN`, `+Inf`, `-Inf`, or `shortest`'s `Display` (shortest round trip for
/// its own type, plain notation).
#[inline]
fn write_float(out: &mut Vec<u8>, f: f64, shortest: impl std::fmt::Display) {
    if f.is_nan() {
        out.extend_from_slice(b"NaN");
    } else if f.is_infinite() {
        out.extend_from_slice(if f > 0.0 { b"+Inf" } else { b"-Inf" });
    } else {
        use std::io::Write;
        // Writing into a Vec cannot fail.
        let _ = write!(out, "{shortest}");
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
mod tests;
