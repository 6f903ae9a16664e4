//! Partition keys and their time bounds (docs/FORMATS.md §7.1, §7.2).

use super::*;

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
pub(super) fn month_bounds(y: i64, m: u32) -> (i64, i64) {
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    (
        day_start_ns(days_from_civil(y, m, 1)),
        day_start_ns(days_from_civil(ny, nm, 1)),
    )
}

/// `[start, end)` of year `y`, saturated.
pub(super) fn year_bounds(y: i64) -> (i64, i64) {
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
    let year = four_digit_year(b)?;
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
