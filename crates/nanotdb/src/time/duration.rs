//! Go-compatible durations (docs/FORMATS.md §6.1).

use super::*;

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
pub(super) fn duration_unit(u: &[u8], ext: bool) -> Option<u64> {
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
pub(super) fn parse_duration_impl(orig: &str, ext: bool) -> Result<i64, TimeError> {
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
