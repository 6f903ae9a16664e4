//! `--start`: unix seconds, or a UTC date (and optional time of day).

use crate::Error;

/// Parses the script's `--start` into unix nanoseconds.
///
/// Accepted forms, as in the script:
/// - ASCII digits only: unix seconds (`"1767225600"`);
/// - `YYYY-MM-DD`, optionally followed by `T` or a space and `HH`, `HH:MM`
///   or `HH:MM:SS`, read as UTC (`"2024-03-01"`, `"2024-03-01T06:30"`).
///
/// Python's `datetime.fromisoformat` accepts further ISO 8601 spellings
/// (fractions, offsets, week dates); those are rejected here. Years run
/// from 1 to 9999 like Python's `datetime`.
pub fn parse_start(s: &str) -> Result<i64, Error> {
    let out_of_range = || Error::StartOutOfRange(s.to_owned());
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        let secs: i64 = s.parse().map_err(|_| out_of_range())?;
        return secs.checked_mul(1_000_000_000).ok_or_else(out_of_range);
    }
    let invalid = || Error::InvalidStart(s.to_owned());
    let (date, time) = match s.find(['T', ' ']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let days = parse_date(date).ok_or_else(invalid)?;
    let secs = match time {
        Some(t) => parse_time(t).ok_or_else(invalid)?,
        None => 0,
    };
    (days * 86_400 + secs)
        .checked_mul(1_000_000_000)
        .ok_or_else(out_of_range)
}

/// A field of exactly `len` ASCII digits.
fn digits(s: &str, len: usize) -> Option<i64> {
    if s.len() == len && s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
}

/// `YYYY-MM-DD` to days since 1970-01-01.
fn parse_date(s: &str) -> Option<i64> {
    let mut parts = s.split('-');
    let y = digits(parts.next()?, 4)?;
    let m = digits(parts.next()?, 2)?;
    let d = digits(parts.next()?, 2)?;
    if parts.next().is_some() || y < 1 || !(1..=12).contains(&m) {
        return None;
    }
    if d < 1 || d > days_in_month(y, m) {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

/// `HH`, `HH:MM` or `HH:MM:SS` to seconds since midnight.
fn parse_time(s: &str) -> Option<i64> {
    let mut parts = s.split(':');
    let h = digits(parts.next()?, 2)?;
    let m = parts.next().map_or(Some(0), |p| digits(p, 2))?;
    let sec = parts.next().map_or(Some(0), |p| digits(p, 2))?;
    if parts.next().is_some() || h > 23 || m > 59 || sec > 59 {
        return None;
    }
    Some(h * 3600 + m * 60 + sec)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to the proleptic Gregorian date (H. Hinnant).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_seconds() {
        assert_eq!(parse_start("2026-01-01"), Ok(crate::DEFAULT_START_NS));
        assert_eq!(parse_start("1767225600"), Ok(crate::DEFAULT_START_NS));
        assert_eq!(parse_start("1970-01-01"), Ok(0));
        assert_eq!(parse_start("0"), Ok(0));
        // python3 -c "import datetime as d; print(int(d.datetime.fromisoformat('2024-03-01T06:30:15')
        //   .replace(tzinfo=d.timezone.utc).timestamp()))"
        assert_eq!(
            parse_start("2024-03-01T06:30:15"),
            Ok(1_709_274_615_000_000_000)
        );
        assert_eq!(
            parse_start("2024-03-01 06:30"),
            Ok(1_709_274_600_000_000_000)
        );
        assert_eq!(parse_start("2024-02-29T06"), Ok(1_709_186_400_000_000_000));
        assert_eq!(parse_start("1969-12-31"), Ok(-86_400_000_000_000));
        // Year 1 is -62135596800 s: valid for Python, beyond i64 nanoseconds.
        assert!(matches!(
            parse_start("0001-01-01"),
            Err(Error::StartOutOfRange(_))
        ));
        assert_eq!(parse_start("1677-09-22"), Ok(-9_223_286_400_000_000_000));
    }

    #[test]
    fn rejects_garbage() {
        for s in [
            "",
            "2023-02-29",
            "2024-13-01",
            "2024-1-01",
            "24-01-01",
            "2024-01-01T25:00",
            "2024-01-01Z",
            "-5",
            "2024-01-01T10:00+01:00",
            "yesterday",
        ] {
            assert!(parse_start(s).is_err(), "{s:?}");
        }
        assert!(matches!(
            parse_start("99999999999999999999"),
            Err(Error::StartOutOfRange(_))
        ));
        assert!(matches!(
            parse_start("9999999999999"),
            Err(Error::StartOutOfRange(_))
        ));
        assert!(matches!(parse_start("nope"), Err(Error::InvalidStart(_))));
    }
}
