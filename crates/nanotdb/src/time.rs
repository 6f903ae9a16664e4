//! Timestamps, Go-compatible durations and partition keys (docs/FORMATS.md §6.1, docs/FORMATS.md §7.1, docs/FORMATS.md §11.3, docs/FORMATS.md §11.6).
//!
//! Everything here is UTC and works on `i64` nanoseconds since the Unix epoch. Calendar math is
//! hand-written (Howard Hinnant's civil-from-days algorithms) because timestamp formatting sits on
//! the export hot path and partition keys on the ingest hot path.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

/// Nanoseconds per second.
const NS_PER_SEC: i64 = 1_000_000_000;
/// Seconds per day.
const SECS_PER_DAY: i64 = 86_400;
/// Nanoseconds per day.
const NS_PER_DAY: i64 = SECS_PER_DAY * NS_PER_SEC;

/// Errors from parsing timestamps, durations and partition modes.
///
/// Duration messages copy Go's `time.ParseDuration` wording so config errors read like the
/// reference's.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TimeError {
    /// Not a raw integer nor one of the accepted human UTC forms.
    #[error("invalid timestamp {}", GoQuoted(.0))]
    InvalidTimestamp(String),
    /// Syntactically valid, but the instant does not fit in i64 nanoseconds.
    #[error("timestamp out of range {}", GoQuoted(.0))]
    TimestampOutOfRange(String),
    /// Malformed duration, or one that overflows i64 nanoseconds.
    #[error("time: invalid duration {}", GoQuoted(.0))]
    InvalidDuration(String),
    /// A number without a unit (only the bare `0` may omit it).
    #[error("time: missing unit in duration {}", GoQuoted(.0))]
    MissingUnit(String),
    /// A unit that is not in the accepted set.
    #[error("time: unknown unit {} in duration {}", GoQuoted(.unit), GoQuoted(.input))]
    UnknownUnit {
        /// The unrecognised unit text.
        unit: String,
        /// The whole duration string.
        input: String,
    },
    /// Not one of `day`, `month`, `year`, `forever`.
    #[error("invalid partition mode {}", GoQuoted(.0))]
    InvalidPartitionMode(String),
}

/// Displays a string the way Go's `%q` does, so error texts match the reference's.
///
/// Printability of non-ASCII characters approximates Go's `unicode.IsPrint` (controls,
/// whitespace other than ' ' and the common format characters are escaped).
pub(crate) struct GoQuoted<'a>(pub(crate) &'a str);

impl fmt::Display for GoQuoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use fmt::Write;
        f.write_char('"')?;
        for c in self.0.chars() {
            match c {
                '"' => f.write_str("\\\"")?,
                '\\' => f.write_str("\\\\")?,
                '\x07' => f.write_str("\\a")?,
                '\x08' => f.write_str("\\b")?,
                '\x0c' => f.write_str("\\f")?,
                '\n' => f.write_str("\\n")?,
                '\r' => f.write_str("\\r")?,
                '\t' => f.write_str("\\t")?,
                '\x0b' => f.write_str("\\v")?,
                ' '..='~' => f.write_char(c)?,
                c if (c as u32) < 0x80 => write!(f, "\\x{:02x}", c as u32)?,
                c if is_go_printable(c) => f.write_char(c)?,
                c if (c as u32) < 0x10000 => write!(f, "\\u{:04x}", c as u32)?,
                c => write!(f, "\\U{:08x}", c as u32)?,
            }
        }
        f.write_char('"')
    }
}

/// Approximation of Go's `unicode.IsPrint` for non-ASCII characters.
fn is_go_printable(c: char) -> bool {
    !(c.is_control()
        || c.is_whitespace()
        || matches!(c,
            '\u{AD}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'))
}

// ---------------------------------------------------------------------------------------------
// Civil calendar helpers
// ---------------------------------------------------------------------------------------------

/// Days since 1970-01-01 of the proleptic Gregorian date `y-m-d` (`m` 1..=12, `d` 1..=31).
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Proleptic Gregorian `(year, month, day)` of a day count since 1970-01-01.
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    // All casts below are of values already bounded to 1..=31 / 1..=12.
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Whether `y` is a Gregorian leap year.
fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

/// Number of days in month `m` (1..=12) of year `y`.
fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Converts an i128 nanosecond count to i64, saturating at the i64 limits.
fn saturate(ns: i128) -> i64 {
    ns.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

/// Nanoseconds of the start of day `days` (since the epoch), saturated to i64.
fn day_start_ns(days: i64) -> i64 {
    saturate(i128::from(days) * i128::from(NS_PER_DAY))
}

// ---------------------------------------------------------------------------------------------
// Timestamp parsing (docs/FORMATS.md §11.3)
// ---------------------------------------------------------------------------------------------

/// Parses a signed base-10 integer exactly like Go's `strconv.ParseInt(s, 10, 64)`.
pub(crate) fn parse_i64_dec(b: &[u8]) -> Option<i64> {
    let (neg, digits) = match b.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, b),
    };
    if digits.is_empty() {
        return None;
    }
    let mut acc: u64 = 0;
    for &c in digits {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        acc = acc.checked_mul(10)?.checked_add(u64::from(d))?;
    }
    if neg {
        if acc > 1 << 63 {
            return None;
        }
        Some((acc as i64).wrapping_neg())
    } else {
        i64::try_from(acc).ok()
    }
}

/// Parses a timestamp: raw integer nanoseconds, else a human UTC form (docs/FORMATS.md §11.3).
///
/// Human forms are `YYYY-MM-DD`, `YYYY-MM-DD HH`, `YYYY-MM-DD HH:MM`, `YYYY-MM-DD HH:MM:SS`
/// (hour 1 or 2 digits), with an optional `.fraction` split off at the LAST `.`. The
/// reference's quirks are kept: an empty fraction is 0, characters past the 9th are ignored,
/// a signed fraction is added with its sign, and a fraction may follow a date-only base (it is
/// nanoseconds, so `2026-05-14.5` is 00:00:00.5). Like Go's `time.Parse`, a `HH:MM:SS` base may
/// itself carry a `,digits`/`.digits` fractional second (reachable with `,` or a second `.`).
/// Results outside i64 are errors instead of the reference's silent wrap-around.
pub fn parse_timestamp(s: &str) -> Result<i64, TimeError> {
    let t = s.trim();
    if t.is_empty() {
        return Err(TimeError::InvalidTimestamp(s.to_owned()));
    }
    let b = t.as_bytes();
    if let Some(n) = parse_i64_dec(b) {
        return Ok(n);
    }
    let (base, frac) = match b.iter().rposition(|&c| c == b'.') {
        Some(i) => (&b[..i], b.get(i + 1..)),
        None => (b, None),
    };
    let base_ns =
        parse_human_base(base).ok_or_else(|| TimeError::InvalidTimestamp(s.to_owned()))?;
    let frac_ns = match frac {
        None => 0,
        Some(f) => {
            let mut buf = [b'0'; 9];
            let n = f.len().min(9);
            buf[..n].copy_from_slice(&f[..n]);
            parse_i64_dec(&buf).ok_or_else(|| TimeError::InvalidTimestamp(s.to_owned()))?
        }
    };
    i64::try_from(base_ns + i128::from(frac_ns))
        .map_err(|_| TimeError::TimestampOutOfRange(s.to_owned()))
}

/// Reads exactly two ASCII digits at `b[i..i + 2]`.
fn two_digits(b: &[u8], i: usize) -> Option<u32> {
    match b.get(i..i + 2)? {
        [x @ b'0'..=b'9', y @ b'0'..=b'9'] => Some(u32::from(x - b'0') * 10 + u32::from(y - b'0')),
        _ => None,
    }
}

/// Parses the base of a human timestamp as Go's `time.Parse` would with the four layouts;
/// returns nanoseconds since the epoch (as i128, because the floored base second of a valid
/// i64 timestamp near i64::MIN is itself below i64::MIN).
fn parse_human_base(b: &[u8]) -> Option<i128> {
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let mut year: i64 = 0;
    for &c in &b[..4] {
        if !c.is_ascii_digit() {
            return None;
        }
        year = year * 10 + i64::from(c - b'0');
    }
    let month = two_digits(b, 5)?;
    let day = two_digits(b, 8)?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let (mut hour, mut min, mut sec, mut nsec) = (0u32, 0u32, 0u32, 0u32);
    let mut rest = &b[10..];
    if let Some((&sp, r)) = rest.split_first() {
        if sp != b' ' {
            return None;
        }
        // Hour: 1 or 2 digits (Go's non-fixed getnum for "15").
        match r {
            [x @ b'0'..=b'9', y @ b'0'..=b'9', ..] => {
                hour = u32::from(x - b'0') * 10 + u32::from(y - b'0');
                rest = &r[2..];
            }
            [x @ b'0'..=b'9', ..] => {
                hour = u32::from(x - b'0');
                rest = &r[1..];
            }
            _ => return None,
        }
        if let Some((&c, r)) = rest.split_first() {
            if c != b':' {
                return None;
            }
            min = two_digits(r, 0)?;
            rest = &r[2..];
            if let Some((&c, r)) = rest.split_first() {
                if c != b':' {
                    return None;
                }
                sec = two_digits(r, 0)?;
                rest = &r[2..];
                // Go accepts a fractional second after the seconds field even if the layout
                // has none: [.,] followed by at least one digit; digits past the 9th dropped.
                if rest.len() >= 2
                    && (rest[0] == b'.' || rest[0] == b',')
                    && rest[1].is_ascii_digit()
                {
                    let digits = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
                    let mut v: u32 = 0;
                    for k in 0..9 {
                        let d = rest[1..1 + digits]
                            .get(k)
                            .map_or(0, |&c| u32::from(c - b'0'));
                        v = v * 10 + d;
                    }
                    nsec = v;
                    rest = &rest[1 + digits..];
                }
                if !rest.is_empty() {
                    return None;
                }
            }
        }
        if hour > 23 || min > 59 || sec > 59 {
            return None;
        }
    }
    let days = days_from_civil(year, month, day);
    let secs = days * SECS_PER_DAY + i64::from(hour * 3600 + min * 60 + sec);
    Some(i128::from(secs) * i128::from(NS_PER_SEC) + i128::from(nsec))
}

// ---------------------------------------------------------------------------------------------
// Timestamp formatting (docs/FORMATS.md §11.6)
// ---------------------------------------------------------------------------------------------

/// "00".."99" for two-digits-at-a-time formatting.
const DIGIT_PAIRS: &[u8; 200] = b"\
0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// Writes `v % 100` as two digits at `buf[i..i + 2]`.
#[inline]
fn put2(buf: &mut [u8], i: usize, v: u32) {
    let p = (v % 100) as usize * 2;
    buf[i] = DIGIT_PAIRS[p];
    buf[i + 1] = DIGIT_PAIRS[p + 1];
}

/// Broken-down UTC time of a nanosecond timestamp (floored for negatives).
struct Civil {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    min: u32,
    sec: u32,
    nanos: u32,
}

impl Civil {
    fn from_ns(ts: i64) -> Civil {
        let secs = ts.div_euclid(NS_PER_SEC);
        let nanos = ts.rem_euclid(NS_PER_SEC) as u32;
        let days = secs.div_euclid(SECS_PER_DAY);
        let sod = secs.rem_euclid(SECS_PER_DAY) as u32;
        let (year, month, day) = civil_from_days(days);
        Civil {
            year,
            month,
            day,
            hour: sod / 3600,
            min: sod / 60 % 60,
            sec: sod % 60,
            nanos,
        }
    }

    /// Writes `YYYY-MM-DD?HH:MM:SS` into `buf[0..19]` with `sep` between date and time.
    /// The i64 range only spans years 1677..=2262, so the year always has 4 digits.
    fn write_datetime(&self, buf: &mut [u8], sep: u8) {
        let y = self.year.rem_euclid(10_000) as u32;
        put2(buf, 0, y / 100);
        put2(buf, 2, y);
        buf[4] = b'-';
        put2(buf, 5, self.month);
        buf[7] = b'-';
        put2(buf, 8, self.day);
        buf[10] = sep;
        put2(buf, 11, self.hour);
        buf[13] = b':';
        put2(buf, 14, self.min);
        buf[16] = b':';
        put2(buf, 17, self.sec);
    }
}

/// Formats `ts` as `YYYY-MM-DD HH:MM:SS.nnnnnnnnn` into a fixed buffer.
fn timestamp_bytes(ts: i64) -> [u8; 29] {
    let c = Civil::from_ns(ts);
    let mut buf = [0u8; 29];
    c.write_datetime(&mut buf, b' ');
    buf[19] = b'.';
    let n = c.nanos;
    buf[20] = b'0' + (n / 100_000_000) as u8;
    put2(&mut buf, 21, n / 1_000_000);
    put2(&mut buf, 23, n / 10_000);
    put2(&mut buf, 25, n / 100);
    put2(&mut buf, 27, n);
    buf
}

/// Appends `ts` as `YYYY-MM-DD HH:MM:SS.nnnnnnnnn` (UTC, 9 digits) to a byte buffer.
///
/// Negative timestamps get the floored second and a non-negative fraction (the recommended form, docs/FORMATS.md §11.6:
/// -1 → `1969-12-31 23:59:59.999999999`), so every output parses back to the same value,
/// unlike the reference's `.-00000001`.
pub fn write_timestamp(ts: i64, out: &mut Vec<u8>) {
    out.extend_from_slice(&timestamp_bytes(ts));
}

/// Appends `ts` as `YYYY-MM-DD HH:MM:SS.nnnnnnnnn` to a string (see [`write_timestamp`]).
pub fn format_timestamp(ts: i64, out: &mut String) {
    let buf = timestamp_bytes(ts);
    // The buffer is pure ASCII, so this never fails.
    if let Ok(s) = std::str::from_utf8(&buf) {
        out.push_str(s);
    }
}

/// Returns `ts` as `YYYY-MM-DD HH:MM:SS.nnnnnnnnn` (see [`write_timestamp`]).
pub fn format_timestamp_string(ts: i64) -> String {
    let mut s = String::with_capacity(29);
    format_timestamp(ts, &mut s);
    s
}

/// Formats `ts` like Go's `time.RFC3339Nano` in UTC: `2026-01-01T00:00:00.5Z`, trailing
/// fraction zeros (and a bare `.`) trimmed.
pub fn format_rfc3339(ts: i64) -> String {
    let c = Civil::from_ns(ts);
    let mut buf = [0u8; 31];
    c.write_datetime(&mut buf, b'T');
    let mut len = 19;
    if c.nanos != 0 {
        buf[19] = b'.';
        let mut n = c.nanos;
        let mut digits = [0u8; 9];
        for d in digits.iter_mut().rev() {
            *d = b'0' + (n % 10) as u8;
            n /= 10;
        }
        let keep = 9 - digits.iter().rev().take_while(|&&d| d == b'0').count();
        buf[20..20 + keep].copy_from_slice(&digits[..keep]);
        len = 20 + keep;
    }
    buf[len] = b'Z';
    len += 1;
    String::from_utf8_lossy(&buf[..len]).into_owned()
}

/// Current wall-clock time in nanoseconds since the Unix epoch (saturated to i64).
pub fn now_ns() -> i64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => saturate(d.as_nanos() as i128),
        Err(e) => saturate(-(e.duration().as_nanos() as i128)),
    }
}

// ---------------------------------------------------------------------------------------------
// Go durations (docs/FORMATS.md §6.1)
// ---------------------------------------------------------------------------------------------

/// Go's `time.ParseDuration`: returns nanoseconds.
///
/// Optional sign, then `<number><unit>` components; units `ns us µs μs ms s m h`; the bare
/// `0` needs no unit; int64 overflow is an error. Fractions are converted through f64 exactly
/// like Go does, so results match to the nanosecond.
pub fn parse_go_duration(s: &str) -> Result<i64, TimeError> {
    parse_duration_impl(s, false)
}

/// [`parse_go_duration`] plus the units `d` (24h) and `w` (168h), as `nanocli` time values use.
pub fn parse_ext_duration(s: &str) -> Result<i64, TimeError> {
    parse_duration_impl(s, true)
}

/// Nanoseconds per unit, or None for an unknown unit.
fn duration_unit(u: &[u8], ext: bool) -> Option<u64> {
    const HOUR: u64 = 3_600_000_000_000;
    Some(match u {
        b"ns" => 1,
        b"us" | b"\xc2\xb5s" | b"\xce\xbcs" => 1_000,
        b"ms" => 1_000_000,
        b"s" => 1_000_000_000,
        b"m" => 60_000_000_000,
        b"h" => HOUR,
        b"d" if ext => 24 * HOUR,
        b"w" if ext => 168 * HOUR,
        _ => return None,
    })
}

/// Port of Go's `time.ParseDuration`, optionally with the `d`/`w` units.
fn parse_duration_impl(orig: &str, ext: bool) -> Result<i64, TimeError> {
    const LIMIT: u64 = 1 << 63;
    let invalid = || TimeError::InvalidDuration(orig.to_owned());
    let mut s = orig.as_bytes();
    let mut neg = false;
    if let Some((&c, rest)) = s.split_first()
        && (c == b'-' || c == b'+')
    {
        neg = c == b'-';
        s = rest;
    }
    if s == b"0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let mut d: u64 = 0;
    while let Some(&first) = s.first() {
        if !(first == b'.' || first.is_ascii_digit()) {
            return Err(invalid());
        }
        // Integer part: [0-9]* with overflow as an error.
        let mut v: u64 = 0;
        let int_len = s.iter().take_while(|c| c.is_ascii_digit()).count();
        for &c in &s[..int_len] {
            if v > LIMIT / 10 {
                return Err(invalid());
            }
            v = v * 10 + u64::from(c - b'0');
            if v > LIMIT {
                return Err(invalid());
            }
        }
        s = &s[int_len..];
        let pre = int_len > 0;
        // Fraction: (\.[0-9]*)? accumulating precision only while it fits.
        let mut f: u64 = 0;
        let mut scale: f64 = 1.0;
        let mut post = false;
        if let Some((b'.', rest)) = s.split_first() {
            s = rest;
            let frac_len = s.iter().take_while(|c| c.is_ascii_digit()).count();
            let mut overflow = false;
            for &c in &s[..frac_len] {
                if overflow {
                    continue;
                }
                if f > (LIMIT - 1) / 10 {
                    overflow = true;
                    continue;
                }
                let y = f * 10 + u64::from(c - b'0');
                if y > LIMIT {
                    overflow = true;
                    continue;
                }
                f = y;
                scale *= 10.0;
            }
            s = &s[frac_len..];
            post = frac_len > 0;
        }
        if !pre && !post {
            return Err(invalid());
        }
        // Unit: everything up to the next '.' or digit.
        let unit_len = s
            .iter()
            .take_while(|&&c| !(c == b'.' || c.is_ascii_digit()))
            .count();
        if unit_len == 0 {
            return Err(TimeError::MissingUnit(orig.to_owned()));
        }
        let (u, rest) = s.split_at(unit_len);
        s = rest;
        let Some(unit) = duration_unit(u, ext) else {
            return Err(TimeError::UnknownUnit {
                unit: String::from_utf8_lossy(u).into_owned(),
                input: orig.to_owned(),
            });
        };
        if v > LIMIT / unit {
            return Err(invalid());
        }
        v *= unit;
        if f > 0 {
            // Same float64 arithmetic as Go, for nanosecond-identical results.
            v += (f as f64 * (unit as f64 / scale)) as u64;
            if v > LIMIT {
                return Err(invalid());
            }
        }
        // Go's uint64 addition wraps when both terms are exactly 2^63; keep its result.
        d = d.wrapping_add(v);
        if d > LIMIT {
            return Err(invalid());
        }
    }
    if neg {
        return Ok((d as i64).wrapping_neg());
    }
    i64::try_from(d).map_err(|_| invalid())
}

/// Go's `Duration.String()`: `1h0m0s`, `1.5s`, `250ms`, `1µs`, `0s`, `-5m0s`.
pub fn format_go_duration(ns: i64) -> String {
    let mut buf = [0u8; 32];
    let mut w = buf.len();
    let mut u = ns.unsigned_abs();

    /// Writes the fraction of `v / 10^prec` ending at `w`, omitting trailing zeros and the
    /// point when the fraction is zero; returns the new start and `v / 10^prec`.
    fn frac(buf: &mut [u8; 32], mut w: usize, mut v: u64, prec: u32) -> (usize, u64) {
        let mut print = false;
        for _ in 0..prec {
            let digit = (v % 10) as u8;
            print = print || digit != 0;
            if print {
                w -= 1;
                buf[w] = b'0' + digit;
            }
            v /= 10;
        }
        if print {
            w -= 1;
            buf[w] = b'.';
        }
        (w, v)
    }
    /// Writes `v` in decimal ending at `w`; returns the new start.
    fn int(buf: &mut [u8; 32], mut w: usize, mut v: u64) -> usize {
        loop {
            w -= 1;
            buf[w] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                return w;
            }
        }
    }

    if u < 1_000_000_000 {
        w -= 1;
        buf[w] = b's';
        let prec;
        if u == 0 {
            w -= 1;
            buf[w] = b'0';
            return String::from_utf8_lossy(&buf[w..]).into_owned();
        } else if u < 1_000 {
            prec = 0;
            w -= 1;
            buf[w] = b'n';
        } else if u < 1_000_000 {
            prec = 3;
            w -= 2;
            buf[w] = 0xC2;
            buf[w + 1] = 0xB5;
        } else {
            prec = 6;
            w -= 1;
            buf[w] = b'm';
        }
        (w, u) = frac(&mut buf, w, u, prec);
        w = int(&mut buf, w, u);
    } else {
        w -= 1;
        buf[w] = b's';
        (w, u) = frac(&mut buf, w, u, 9);
        w = int(&mut buf, w, u % 60);
        u /= 60;
        if u > 0 {
            w -= 1;
            buf[w] = b'm';
            w = int(&mut buf, w, u % 60);
            u /= 60;
            if u > 0 {
                w -= 1;
                buf[w] = b'h';
                w = int(&mut buf, w, u);
            }
        }
    }
    if ns < 0 {
        w -= 1;
        buf[w] = b'-';
    }
    String::from_utf8_lossy(&buf[w..]).into_owned()
}

// ---------------------------------------------------------------------------------------------
// Partitions (docs/FORMATS.md §7.1, docs/FORMATS.md §7.2)
// ---------------------------------------------------------------------------------------------

/// How a database groups samples into files (`retention.partition`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PartitionMode {
    /// One partition per UTC day, key `YYYY-MM-DD` (the default).
    Day,
    /// One partition per UTC month, key `YYYY-MM`.
    Month,
    /// One partition per UTC year, key `YYYY`.
    Year,
    /// A single partition, key `forever`.
    Forever,
}

impl PartitionMode {
    /// The byte stored in metric files (docs/FORMATS.md §7.2): 1 day, 2 month, 3 year, 4 forever.
    pub fn code(self) -> u8 {
        match self {
            PartitionMode::Day => 1,
            PartitionMode::Month => 2,
            PartitionMode::Year => 3,
            PartitionMode::Forever => 4,
        }
    }

    /// Inverse of [`PartitionMode::code`]; None for bytes a file should not contain.
    pub fn from_code(code: u8) -> Option<PartitionMode> {
        match code {
            1 => Some(PartitionMode::Day),
            2 => Some(PartitionMode::Month),
            3 => Some(PartitionMode::Year),
            4 => Some(PartitionMode::Forever),
            _ => None,
        }
    }

    /// The configuration spelling: `day`, `month`, `year`, `forever`.
    pub fn as_str(self) -> &'static str {
        match self {
            PartitionMode::Day => "day",
            PartitionMode::Month => "month",
            PartitionMode::Year => "year",
            PartitionMode::Forever => "forever",
        }
    }

    /// Parses a configuration value: trimmed and case-insensitive, as the manifest reader does.
    pub fn parse(s: &str) -> Result<PartitionMode, TimeError> {
        let t = s.trim();
        for mode in [
            PartitionMode::Day,
            PartitionMode::Month,
            PartitionMode::Year,
            PartitionMode::Forever,
        ] {
            if t.eq_ignore_ascii_case(mode.as_str()) {
                return Ok(mode);
            }
        }
        Err(TimeError::InvalidPartitionMode(s.to_owned()))
    }
}

impl FromStr for PartitionMode {
    type Err = TimeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PartitionMode::parse(s)
    }
}

impl fmt::Display for PartitionMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The partition key of `ts` under `mode` (UTC, floored): `YYYY-MM-DD`, `YYYY-MM`, `YYYY` or
/// `forever`.
pub fn partition_key(mode: PartitionMode, ts: i64) -> String {
    if mode == PartitionMode::Forever {
        return "forever".to_owned();
    }
    let c = Civil::from_ns(ts);
    let mut buf = [0u8; 19];
    c.write_datetime(&mut buf, b' ');
    let len = match mode {
        PartitionMode::Day => 10,
        PartitionMode::Month => 7,
        _ => 4,
    };
    String::from_utf8_lossy(&buf[..len]).into_owned()
}

/// The nanosecond range `[start, end)` of the partition containing `ts`.
///
/// Bounds saturate at the i64 limits (partitions of 1677 and 2262 stick out of the range);
/// `Forever` is `(i64::MIN, i64::MAX)`. Because `end` saturates, a caller testing
/// membership should treat `end == i64::MAX` as covering `i64::MAX` too.
pub fn partition_bounds(mode: PartitionMode, ts: i64) -> (i64, i64) {
    let days = ts.div_euclid(NS_PER_DAY);
    match mode {
        PartitionMode::Day => (day_start_ns(days), day_start_ns(days + 1)),
        PartitionMode::Month => {
            let (y, m, _) = civil_from_days(days);
            month_bounds(y, m)
        }
        PartitionMode::Year => {
            let (y, _, _) = civil_from_days(days);
            year_bounds(y)
        }
        PartitionMode::Forever => (i64::MIN, i64::MAX),
    }
}

/// `[start, end)` of month `m` of year `y`, saturated.
fn month_bounds(y: i64, m: u32) -> (i64, i64) {
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    (
        day_start_ns(days_from_civil(y, m, 1)),
        day_start_ns(days_from_civil(ny, nm, 1)),
    )
}

/// `[start, end)` of year `y`, saturated.
fn year_bounds(y: i64) -> (i64, i64) {
    (
        day_start_ns(days_from_civil(y, 1, 1)),
        day_start_ns(days_from_civil(y + 1, 1, 1)),
    )
}

/// Parses a partition key (e.g. from a file name) into its mode and `[start, end)` range.
///
/// Accepts exactly `YYYY-MM-DD` (a valid date), `YYYY-MM`, `YYYY` or `forever`. Ranges
/// saturate like [`partition_bounds`], so a key wholly outside the i64 range yields an empty
/// range (`start == end`).
pub fn parse_partition_key(key: &str) -> Option<(PartitionMode, i64, i64)> {
    if key == "forever" {
        return Some((PartitionMode::Forever, i64::MIN, i64::MAX));
    }
    let b = key.as_bytes();
    if !matches!(b.len(), 4 | 7 | 10) {
        return None;
    }
    let mut year: i64 = 0;
    for &c in &b[..4] {
        if !c.is_ascii_digit() {
            return None;
        }
        year = year * 10 + i64::from(c - b'0');
    }
    if b.len() == 4 {
        let (s, e) = year_bounds(year);
        return Some((PartitionMode::Year, s, e));
    }
    if b[4] != b'-' {
        return None;
    }
    let month = two_digits(b, 5)?;
    if !(1..=12).contains(&month) {
        return None;
    }
    if b.len() == 7 {
        let (s, e) = month_bounds(year, month);
        return Some((PartitionMode::Month, s, e));
    }
    if b[7] != b'-' {
        return None;
    }
    let day = two_digits(b, 8)?;
    if day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some((
        PartitionMode::Day,
        day_start_ns(days),
        day_start_ns(days + 1),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const T2026: i64 = 1_767_225_600_000_000_000; // 2026-01-01 00:00:00 UTC

    fn ts(s: &str) -> i64 {
        match parse_timestamp(s) {
            Ok(v) => v,
            Err(e) => panic!("{s:?}: {e}"),
        }
    }

    #[test]
    fn civil_round_trip_known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2026, 1, 1), 20454);
        assert_eq!(civil_from_days(20454), (2026, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(days_from_civil(2000, 3, 1), 11017);
        assert_eq!(civil_from_days(11016), (2000, 2, 29));
        for d in -200_000..200_000 {
            let (y, m, dd) = civil_from_days(d);
            assert_eq!(days_from_civil(y, m, dd), d);
        }
    }

    #[test]
    fn raw_integer_timestamps() {
        assert_eq!(ts("1767225600000000000"), T2026);
        assert_eq!(ts("  -5 "), -5);
        assert_eq!(ts("+5"), 5);
        assert_eq!(ts("0"), 0);
        assert_eq!(ts("9223372036854775807"), i64::MAX);
        assert_eq!(ts("-9223372036854775808"), i64::MIN);
        assert_eq!(ts("2026"), 2026);
        assert_eq!(
            parse_timestamp("9223372036854775808"),
            Err(TimeError::InvalidTimestamp("9223372036854775808".into()))
        );
    }

    #[test]
    fn human_timestamps() {
        assert_eq!(ts("2026-01-01 00:00:04"), T2026 + 4 * NS_PER_SEC);
        assert_eq!(ts("2026-01-01 00:00:04.5"), T2026 + 4_500_000_000);
        assert_eq!(ts("2026-01-01"), T2026);
        assert_eq!(ts("2026-01-01 1"), T2026 + 3600 * NS_PER_SEC);
        assert_eq!(ts("2026-01-01 01"), T2026 + 3600 * NS_PER_SEC);
        assert_eq!(
            ts("2026-01-01 23:59"),
            T2026 + (23 * 3600 + 59 * 60) * NS_PER_SEC
        );
        assert_eq!(ts("2024-05-06 12:53:20"), 1_714_999_999_999_999_999 + 1);
        assert_eq!(ts("2024-02-29"), days_from_civil(2024, 2, 29) * NS_PER_DAY);
        assert_eq!(ts("2026-01-01 00:00:00.123456789"), T2026 + 123_456_789);
        assert_eq!(ts("2026-01-01 00:00:00.1234567891234"), T2026 + 123_456_789);
        // Quirks: characters after the 9th unchecked, empty fraction, signed fraction,
        // fraction after a date-only base (nanoseconds, not a fraction of the day).
        assert_eq!(ts("2026-01-01 00:00:00.123456789xyz"), T2026 + 123_456_789);
        assert_eq!(ts("2026-01-01 00:00:56."), T2026 + 56 * NS_PER_SEC);
        // The sign takes one of the 9 characters: "-5" pads to "-50000000" (50 ms).
        assert_eq!(
            ts("2026-01-01 00:00:01.-5"),
            T2026 + NS_PER_SEC - 50_000_000
        );
        assert_eq!(
            ts("2026-01-01 00:00:01.+5"),
            T2026 + NS_PER_SEC + 50_000_000
        );
        assert_eq!(ts("2026-01-01.5"), T2026 + 500_000_000);
        assert_eq!(
            ts("2026-01-01 12.5"),
            T2026 + 12 * 3600 * NS_PER_SEC + 500_000_000
        );
        // Go time.Parse's fractional second inside the base (comma, or a second '.').
        assert_eq!(ts("2026-01-01 00:00:00,25"), T2026 + 250_000_000);
        assert_eq!(ts("2026-01-01 00:00:00.5.3"), T2026 + 800_000_000);
        // Year 0000 and 9999 are syntactically fine but out of the i64 range.
        assert_eq!(
            parse_timestamp("9999-01-01"),
            Err(TimeError::TimestampOutOfRange("9999-01-01".into()))
        );
        assert_eq!(ts("1677-09-21 00:12:43.145224192"), i64::MIN);
        assert_eq!(ts("2262-04-11 23:47:16.854775807"), i64::MAX);
    }

    #[test]
    fn rejected_timestamps() {
        for bad in [
            "",
            "   ",
            "1715000000.5",
            "2026-05-14T12:00:00Z",
            "2026-05-14T12:00:00",
            "2026-05-14 12:00:00Z",
            "2026-05-14 12:00:00+02:00",
            "2026-5-14",
            "2026-05-4",
            "26-05-14",
            "2026-13-01",
            "2026-00-01",
            "2026-02-29",
            "2026-04-31",
            "2026-01-00",
            "2026-01-01 24",
            "2026-01-01 123",
            "2026-01-01 12:60",
            "2026-01-01 12:00:60",
            "2026-01-01 12:0",
            "2026-01-01  12",
            "2026-01-01 12:00:00:00",
            "2026-01-01 12:00:00.5x",
            "2026-01-01 12:00:00. 5",
            "2026-01-01 12:00:00,",
            "2026-01-01 12:00,5",
            "1_000",
            "0x10",
            "2026-01-01 12:00:00.--5",
            "# x",
        ] {
            assert_eq!(
                parse_timestamp(bad),
                Err(TimeError::InvalidTimestamp(bad.to_owned())),
                "{bad:?}"
            );
        }
        assert_eq!(
            TimeError::InvalidTimestamp("a\"b".into()).to_string(),
            r#"invalid timestamp "a\"b""#
        );
    }

    #[test]
    fn format_timestamps() {
        assert_eq!(format_timestamp_string(0), "1970-01-01 00:00:00.000000000");
        assert_eq!(format_timestamp_string(-1), "1969-12-31 23:59:59.999999999");
        assert_eq!(
            format_timestamp_string(-1_000_000_000),
            "1969-12-31 23:59:59.000000000"
        );
        assert_eq!(
            format_timestamp_string(1_715_000_000_000_000_000),
            "2024-05-06 12:53:20.000000000"
        );
        assert_eq!(
            format_timestamp_string(T2026 + 4_500_000_000),
            "2026-01-01 00:00:04.500000000"
        );
        assert_eq!(
            format_timestamp_string(T2026 + 123_456_789),
            "2026-01-01 00:00:00.123456789"
        );
        assert_eq!(
            format_timestamp_string(i64::MIN),
            "1677-09-21 00:12:43.145224192"
        );
        assert_eq!(
            format_timestamp_string(i64::MAX),
            "2262-04-11 23:47:16.854775807"
        );
        let mut v = b"x ".to_vec();
        write_timestamp(T2026, &mut v);
        assert_eq!(v, b"x 2026-01-01 00:00:00.000000000");
        let mut s = String::from("y");
        format_timestamp(1, &mut s);
        assert_eq!(s, "y1970-01-01 00:00:00.000000001");
    }

    #[test]
    fn rfc3339() {
        assert_eq!(format_rfc3339(T2026), "2026-01-01T00:00:00Z");
        assert_eq!(
            format_rfc3339(T2026 + 500_000_000),
            "2026-01-01T00:00:00.5Z"
        );
        assert_eq!(format_rfc3339(T2026 + 1), "2026-01-01T00:00:00.000000001Z");
        assert_eq!(
            format_rfc3339(T2026 + 120_000),
            "2026-01-01T00:00:00.00012Z"
        );
        assert_eq!(format_rfc3339(-1), "1969-12-31T23:59:59.999999999Z");
        assert_eq!(format_rfc3339(i64::MIN), "1677-09-21T00:12:43.145224192Z");
    }

    #[test]
    fn go_duration_parse() {
        let ok = |s: &str| match parse_go_duration(s) {
            Ok(v) => v,
            Err(e) => panic!("{s:?}: {e}"),
        };
        const S: i64 = 1_000_000_000;
        assert_eq!(ok("1h30m"), 5400 * S);
        assert_eq!(ok("1.5h"), 5400 * S);
        assert_eq!(ok("-5m"), -300 * S);
        assert_eq!(ok("+5m"), 300 * S);
        assert_eq!(ok("250ms"), 250_000_000);
        assert_eq!(ok(".5s"), S / 2);
        assert_eq!(ok("5.s"), 5 * S);
        assert_eq!(ok("1ns"), 1);
        assert_eq!(ok("1us"), 1000);
        assert_eq!(ok("1µs"), 1000);
        assert_eq!(ok("1μs"), 1000);
        assert_eq!(ok("0"), 0);
        assert_eq!(ok("-0"), 0);
        assert_eq!(ok("+0"), 0);
        assert_eq!(ok("0s"), 0);
        assert_eq!(ok("1h1m1s1ms1us1ns"), 3_661_001_001_001);
        assert_eq!(ok("2h45m"), 9900 * S);
        assert_eq!(ok("1.0000000001s"), S);
        assert_eq!(ok("9223372036854775807ns"), i64::MAX);
        assert_eq!(ok("-9223372036854775808ns"), i64::MIN);
        assert_eq!(ok("2562047h47m16.854775807s"), i64::MAX);
        assert_eq!(ok("1s1s"), 2 * S);
        // Go quirk: 2^63 + 2^63 wraps to 0 in its uint64 accumulator.
        assert_eq!(ok("9223372036854775808ns9223372036854775808ns"), 0);
        let inv = |s: &str| TimeError::InvalidDuration(s.to_owned());
        for bad in [
            "",
            "-",
            "+",
            ".s",
            "-.s",
            " 1s",
            "9223372036854775808ns",
            "3000000h",
            "2562047h47m16.854775808s",
            "x",
        ] {
            assert_eq!(parse_go_duration(bad), Err(inv(bad)), "{bad:?}");
        }
        assert_eq!(
            parse_go_duration("1"),
            Err(TimeError::MissingUnit("1".into()))
        );
        assert_eq!(
            parse_go_duration("00"),
            Err(TimeError::MissingUnit("00".into()))
        );
        assert_eq!(
            parse_go_duration("1h5"),
            Err(TimeError::MissingUnit("1h5".into()))
        );
        assert_eq!(
            parse_go_duration("1e3s"),
            Err(TimeError::UnknownUnit {
                unit: "e".into(),
                input: "1e3s".into()
            })
        );
        assert_eq!(
            parse_go_duration("1.5.5s"),
            Err(TimeError::MissingUnit("1.5.5s".into()))
        );
        assert_eq!(
            parse_go_duration("1d"),
            Err(TimeError::UnknownUnit {
                unit: "d".into(),
                input: "1d".into()
            })
        );
        assert_eq!(
            parse_go_duration("1h 30m"),
            Err(TimeError::UnknownUnit {
                unit: "h ".into(),
                input: "1h 30m".into()
            })
        );
        assert_eq!(
            parse_go_duration("1d").map_err(|e| e.to_string()),
            Err(r#"time: unknown unit "d" in duration "1d""#.to_owned())
        );
        assert_eq!(
            parse_go_duration("x").map_err(|e| e.to_string()),
            Err(r#"time: invalid duration "x""#.to_owned())
        );
        assert_eq!(
            parse_go_duration("5").map_err(|e| e.to_string()),
            Err(r#"time: missing unit in duration "5""#.to_owned())
        );
    }

    #[test]
    fn ext_duration_parse() {
        const H: i64 = 3_600_000_000_000;
        assert_eq!(parse_ext_duration("1d"), Ok(24 * H));
        assert_eq!(parse_ext_duration("2w"), Ok(336 * H));
        assert_eq!(parse_ext_duration("1.5d"), Ok(36 * H));
        assert_eq!(parse_ext_duration("1w2d3h"), Ok(219 * H));
        assert_eq!(parse_ext_duration("-1d"), Ok(-24 * H));
        assert_eq!(parse_ext_duration("0"), Ok(0));
        assert_eq!(parse_ext_duration("90m"), Ok(90 * 60_000_000_000));
        assert_eq!(
            parse_ext_duration("1y"),
            Err(TimeError::UnknownUnit {
                unit: "y".into(),
                input: "1y".into()
            })
        );
        assert_eq!(
            parse_ext_duration("1000000w"),
            Err(TimeError::InvalidDuration("1000000w".into()))
        );
    }

    #[test]
    fn go_duration_format() {
        const S: i64 = 1_000_000_000;
        let cases: &[(i64, &str)] = &[
            (0, "0s"),
            (1, "1ns"),
            (999, "999ns"),
            (1000, "1µs"),
            (1500, "1.5µs"),
            (1_000_000, "1ms"),
            (250_000_000, "250ms"),
            (1_500_000, "1.5ms"),
            (S, "1s"),
            (3 * S / 2, "1.5s"),
            (60 * S, "1m0s"),
            (300 * S, "5m0s"),
            (-300 * S, "-5m0s"),
            (3600 * S, "1h0m0s"),
            (5400 * S, "1h30m0s"),
            (168 * 3600 * S, "168h0m0s"),
            (-1, "-1ns"),
            (i64::MAX, "2562047h47m16.854775807s"),
            (i64::MIN, "-2562047h47m16.854775808s"),
            (S + 1, "1.000000001s"),
        ];
        for &(ns, want) in cases {
            assert_eq!(format_go_duration(ns), want, "{ns}");
        }
    }

    #[test]
    fn partition_modes() {
        assert_eq!(PartitionMode::parse(" Day "), Ok(PartitionMode::Day));
        assert_eq!("MONTH".parse::<PartitionMode>(), Ok(PartitionMode::Month));
        assert_eq!("year".parse::<PartitionMode>(), Ok(PartitionMode::Year));
        assert_eq!(
            "forever\n".parse::<PartitionMode>(),
            Ok(PartitionMode::Forever)
        );
        assert_eq!(
            "week".parse::<PartitionMode>(),
            Err(TimeError::InvalidPartitionMode("week".into()))
        );
        let codes: Vec<u8> = [
            PartitionMode::Day,
            PartitionMode::Month,
            PartitionMode::Year,
            PartitionMode::Forever,
        ]
        .iter()
        .map(|m| m.code())
        .collect();
        assert_eq!(codes, [1, 2, 3, 4]);
        assert_eq!(PartitionMode::from_code(3), Some(PartitionMode::Year));
        assert_eq!(PartitionMode::from_code(0), None);
        assert_eq!(PartitionMode::Month.to_string(), "month");
    }

    #[test]
    fn partition_keys_and_bounds() {
        let t = ts("2026-05-14 12:00:00");
        assert_eq!(partition_key(PartitionMode::Day, t), "2026-05-14");
        assert_eq!(partition_key(PartitionMode::Month, t), "2026-05");
        assert_eq!(partition_key(PartitionMode::Year, t), "2026");
        assert_eq!(partition_key(PartitionMode::Forever, t), "forever");
        assert_eq!(partition_key(PartitionMode::Day, -1), "1969-12-31");
        assert_eq!(partition_key(PartitionMode::Year, i64::MIN), "1677");
        assert_eq!(
            partition_bounds(PartitionMode::Day, t),
            (ts("2026-05-14"), ts("2026-05-15"))
        );
        assert_eq!(
            partition_bounds(PartitionMode::Month, t),
            (ts("2026-05-01"), ts("2026-06-01"))
        );
        assert_eq!(
            partition_bounds(PartitionMode::Month, ts("2026-12-31 23")),
            (ts("2026-12-01"), ts("2027-01-01"))
        );
        assert_eq!(
            partition_bounds(PartitionMode::Year, t),
            (ts("2026-01-01"), ts("2027-01-01"))
        );
        assert_eq!(
            partition_bounds(PartitionMode::Forever, t),
            (i64::MIN, i64::MAX)
        );
        assert_eq!(partition_bounds(PartitionMode::Day, -1), (-NS_PER_DAY, 0));
        assert_eq!(
            partition_bounds(PartitionMode::Year, i64::MIN),
            (i64::MIN, ts("1678-01-01"))
        );
        assert_eq!(
            partition_bounds(PartitionMode::Year, i64::MAX),
            (ts("2262-01-01"), i64::MAX)
        );

        assert_eq!(
            parse_partition_key("2026-05-14"),
            Some((PartitionMode::Day, ts("2026-05-14"), ts("2026-05-15")))
        );
        assert_eq!(
            parse_partition_key("2024-02"),
            Some((PartitionMode::Month, ts("2024-02-01"), ts("2024-03-01")))
        );
        assert_eq!(
            parse_partition_key("2026"),
            Some((PartitionMode::Year, ts("2026-01-01"), ts("2027-01-01")))
        );
        assert_eq!(
            parse_partition_key("forever"),
            Some((PartitionMode::Forever, i64::MIN, i64::MAX))
        );
        assert_eq!(
            parse_partition_key("0001"),
            Some((PartitionMode::Year, i64::MIN, i64::MIN))
        );
        for bad in [
            "",
            "Forever",
            "2026-5",
            "2026-13",
            "2026-00",
            "2026-02-29",
            "2026-05-14 ",
            "26",
            "2026-05-1x",
            "2026/05",
            "+026",
            "2026-05-014",
        ] {
            assert_eq!(parse_partition_key(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn now_is_recent() {
        let n = now_ns();
        assert!(n > T2026 - 365 * NS_PER_DAY, "{n}");
    }

    proptest! {
        #[test]
        fn timestamp_round_trip(t in any::<i64>()) {
            let s = format_timestamp_string(t);
            prop_assert_eq!(parse_timestamp(&s), Ok(t));
        }

        #[test]
        fn partition_key_matches_bounds(t in any::<i64>(), m in 0u8..4) {
            let mode = [PartitionMode::Day, PartitionMode::Month, PartitionMode::Year, PartitionMode::Forever][m as usize];
            let (start, end) = partition_bounds(mode, t);
            prop_assert!(start <= t && (t < end || end == i64::MAX));
            let key = partition_key(mode, t);
            prop_assert_eq!(parse_partition_key(&key), Some((mode, start, end)));
            if start != i64::MIN {
                prop_assert_eq!(partition_key(mode, start), key.clone());
                prop_assert_ne!(partition_key(mode, start - 1), key.clone());
            }
            if end != i64::MAX {
                prop_assert_ne!(partition_key(mode, end), key);
            }
        }

        #[test]
        fn parsers_never_panic(s in "[0-9 .,:+-]{0,30}", u in "[0-9.hmsuµnwd+-]{0,24}") {
            let _ = parse_timestamp(&s);
            let _ = parse_timestamp(&format!("2026-01-01 {s}"));
            let _ = parse_go_duration(&u);
            let _ = parse_ext_duration(&u);
            let _ = parse_partition_key(&s);
        }

        #[test]
        fn go_duration_round_trip(d in any::<i64>()) {
            let s = format_go_duration(d);
            prop_assert_eq!(parse_go_duration(&s), Ok(d));
            prop_assert_eq!(parse_ext_duration(&s), Ok(d));
        }
    }
}
