//! Timestamp parsing: integers and the human UTC forms (docs/FORMATS.md §11.3).

use super::*;

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
    // 19 digits cannot overflow a u64: no checked arithmetic per digit for
    // a nanosecond timestamp.
    if digits.len() <= 19 {
        let mut acc: u64 = 0;
        let mut digits = digits;
        // Eight digits at a time (a nanosecond timestamp has 19): a chain
        // of 19 multiply-adds is most of the cost of parsing a line.
        while let Some((head, rest)) = digits.split_first_chunk::<8>() {
            acc = acc * 100_000_000 + eight_digits(*head)?;
            digits = rest;
        }
        for &c in digits {
            let d = c.wrapping_sub(b'0');
            if d > 9 {
                return None;
            }
            acc = acc * 10 + u64::from(d);
        }
        return finish_i64(neg, acc);
    }
    let mut acc: u64 = 0;
    for &c in digits {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        acc = acc.checked_mul(10)?.checked_add(u64::from(d))?;
    }
    finish_i64(neg, acc)
}

/// The value of eight ASCII digits (None if one is not a digit), combined
/// pairwise in one register instead of digit by digit.
#[inline]
fn eight_digits(b: [u8; 8]) -> Option<u64> {
    let v = u64::from_le_bytes(b);
    // Every byte in 0x30..=0x39: high nibble 3, and adding 6 keeps it 3.
    let high = 0xf0f0_f0f0_f0f0_f0f0;
    if v & high != 0x3030_3030_3030_3030
        || v.wrapping_add(0x0606_0606_0606_0606) & high != 0x3030_3030_3030_3030
    {
        return None;
    }
    let v = v - 0x3030_3030_3030_3030;
    // Little endian: the first digit is the lowest byte.
    let v = (v & 0x00ff_00ff_00ff_00ff) * 10 + ((v >> 8) & 0x00ff_00ff_00ff_00ff);
    let v = (v & 0x0000_ffff_0000_ffff) * 100 + ((v >> 16) & 0x0000_ffff_0000_ffff);
    Some((v & 0x0000_0000_ffff_ffff) * 10_000 + (v >> 32))
}

/// The i64 of a sign and magnitude, if it is one.
#[inline]
fn finish_i64(neg: bool, acc: u64) -> Option<i64> {
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
pub(super) fn two_digits(b: &[u8], i: usize) -> Option<u32> {
    match b.get(i..i + 2)? {
        [x @ b'0'..=b'9', y @ b'0'..=b'9'] => Some(u32::from(x - b'0') * 10 + u32::from(y - b'0')),
        _ => None,
    }
}

/// Parses the base of a human timestamp as Go's `time.Parse` would with the four layouts;
/// returns nanoseconds since the epoch (as i128, because the floored base second of a valid
/// i64 timestamp near i64::MIN is itself below i64::MIN).
pub(super) fn parse_human_base(b: &[u8]) -> Option<i128> {
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = four_digit_year(b)?;
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

/// The year in the first four bytes, all ASCII digits.
pub(super) fn four_digit_year(b: &[u8]) -> Option<i64> {
    b.get(..4)?.iter().try_fold(0i64, |year, &c| {
        c.is_ascii_digit().then(|| year * 10 + i64::from(c - b'0'))
    })
}
