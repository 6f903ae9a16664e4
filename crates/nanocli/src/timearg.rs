//! Time values accepted by `--start` / `--end`.

use anyhow::{Result, bail};
use nanotdb::time;

/// Parses a CLI time value, tried in order: a duration meaning now minus it
/// (Go units plus `d` and `w`; `0` = now), RFC 3339, `YYYY-MM-DD[ …]` (UTC),
/// float seconds, integer seconds (≤ 10¹²) or nanoseconds.
pub fn parse_time_arg(s: &str, now: i64) -> Result<i64> {
    let t = s.trim();
    if t.is_empty() {
        bail!("empty time value");
    }
    if let Ok(d) = time::parse_ext_duration(t)
        && (t.chars().any(|c| c.is_ascii_alphabetic()) || t == "0")
    {
        return Ok(now.saturating_sub(d));
    }
    if let Ok(ts) = t.parse::<jiff::Timestamp>() {
        return i64::try_from(ts.as_nanosecond())
            .map_err(|_| anyhow::anyhow!("time {t:?} is outside the representable range"));
    }
    if t.contains('-') && t.len() >= 10 && t.as_bytes().get(4) == Some(&b'-') {
        return time::parse_timestamp(t).map_err(|e| anyhow::anyhow!("{e}"));
    }
    if t.contains('.') {
        let f: f64 = t
            .parse()
            .map_err(|_| anyhow::anyhow!("invalid time value {t:?}"))?;
        let ns = f * 1e9;
        if !ns.is_finite() || ns.abs() >= 9.2e18 {
            bail!("time {t:?} is outside the representable range");
        }
        return Ok(ns.round() as i64);
    }
    if let Ok(n) = t.parse::<i64>() {
        return Ok(if n.abs() <= 1_000_000_000_000 {
            n.saturating_mul(1_000_000_000)
        } else {
            n
        });
    }
    bail!(
        "invalid time value {t:?} (use a duration like 2d, RFC 3339, YYYY-MM-DD[ HH:MM:SS], or epoch seconds/ns)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_767_225_600_000_000_000; // 2026-01-01T00:00:00Z

    #[test]
    fn forms() {
        assert_eq!(parse_time_arg("1d", NOW).unwrap(), NOW - 86_400_000_000_000);
        assert_eq!(parse_time_arg("0", NOW).unwrap(), NOW);
        assert_eq!(
            parse_time_arg("1h30m", NOW).unwrap(),
            NOW - 5_400_000_000_000
        );
        assert_eq!(parse_time_arg("2026-01-01T00:00:00Z", 0).unwrap(), NOW);
        assert_eq!(parse_time_arg("2026-01-01T02:00:00+02:00", 0).unwrap(), NOW);
        assert_eq!(parse_time_arg("2026-01-01", 0).unwrap(), NOW);
        assert_eq!(
            parse_time_arg("2026-01-01 00:00:01.5", 0).unwrap(),
            NOW + 1_500_000_000
        );
        assert_eq!(parse_time_arg("1767225600", 0).unwrap(), NOW);
        assert_eq!(
            parse_time_arg("1767225600.5", 0).unwrap(),
            NOW + 500_000_000
        );
        assert_eq!(parse_time_arg("1767225600000000000", 0).unwrap(), NOW);
        assert!(parse_time_arg("yesterday", 0).is_err());
        assert!(parse_time_arg("", 0).is_err());
    }
}
