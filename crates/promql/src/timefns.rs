//! Date functions (UTC, from seconds since the epoch) and the histogram
//! bucket arithmetic.

/// Civil date of a day number since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`), so no calendar crate is needed for UTC.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(y) => 29,
        _ => 28,
    }
}

/// The date function `name`, taking seconds since the epoch.
pub(crate) fn date_fn(name: &str) -> Option<fn(f64) -> f64> {
    Some(match name {
        "year" => |s| parts(s).map_or(f64::NAN, |p| p.0 as f64),
        "month" => |s| parts(s).map_or(f64::NAN, |p| f64::from(p.1)),
        "day_of_month" => |s| parts(s).map_or(f64::NAN, |p| f64::from(p.2)),
        "days_in_month" => |s| parts(s).map_or(f64::NAN, |p| f64::from(days_in(p.0, p.1))),
        "day_of_year" => |s| {
            parts(s).map_or(f64::NAN, |(y, m, d, ..)| {
                f64::from((1..m).map(|mm| days_in(y, mm)).sum::<u32>() + d)
            })
        },
        "day_of_week" => |s| {
            secs(s).map_or(f64::NAN, |t| {
                (t.div_euclid(86_400) + 4).rem_euclid(7) as f64
            })
        },
        "hour" => |s| secs(s).map_or(f64::NAN, |t| (t.rem_euclid(86_400) / 3600) as f64),
        "minute" => |s| secs(s).map_or(f64::NAN, |t| (t.rem_euclid(3600) / 60) as f64),
        _ => return None,
    })
}

/// Whole seconds, as Go's `time.Unix(int64(v), 0)` truncates.
fn secs(v: f64) -> Option<i64> {
    // Beyond ±2^62 s Go's conversion is meaningless; answer NaN there.
    (v.is_finite() && v.abs() < 4.6e18).then_some(v as i64)
}

fn parts(v: f64) -> Option<(i64, u32, u32)> {
    secs(v).map(|t| civil_from_days(t.div_euclid(86_400)))
}

/// Parses a float the way Go's `strconv.ParseFloat` does for bucket bounds
/// (`+Inf`, `Inf`, `NaN`, decimals, exponents).
pub(crate) fn parse_go_float(s: &str) -> Result<f64, ()> {
    let t = s.trim_start_matches('+');
    match t.to_ascii_lowercase().as_str() {
        "inf" | "infinity" => {
            return Ok(if s.starts_with('-') {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            });
        }
        "-inf" | "-infinity" => return Ok(f64::NEG_INFINITY),
        "nan" => return Ok(f64::NAN),
        _ => {}
    }
    if s.is_empty() || s.starts_with("++") {
        return Err(());
    }
    s.parse::<f64>().map_err(|_| ())
}

/// The φ-quantile of cumulative buckets `(upper bound, count)` (Prometheus'
/// `bucketQuantile`).
pub(crate) fn bucket_quantile(q: f64, b: &mut [(f64, f64)]) -> f64 {
    if q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    b.sort_by(|x, y| x.0.total_cmp(&y.0));
    if b.last().is_none_or(|l| l.0 != f64::INFINITY) {
        return f64::NAN;
    }
    // Coalesce equal bounds, then force the counts monotonic.
    let mut c: Vec<(f64, f64)> = Vec::with_capacity(b.len());
    for &(le, n) in b.iter() {
        match c.last_mut() {
            Some(last) if last.0 == le => last.1 += n,
            _ => c.push((le, n)),
        }
    }
    let mut max = f64::NEG_INFINITY;
    for x in c.iter_mut() {
        if x.1 > max {
            max = x.1;
        } else if x.1 < max {
            x.1 = max;
        }
    }
    if c.len() < 2 {
        return f64::NAN;
    }
    let observations = c[c.len() - 1].1;
    if observations == 0.0 {
        return f64::NAN;
    }
    let mut rank = q * observations;
    let idx = c[..c.len() - 1].partition_point(|x| x.1 < rank);
    if idx == c.len() - 1 {
        return c[c.len() - 2].0;
    }
    if idx == 0 && c[0].0 <= 0.0 {
        return c[0].0;
    }
    let (mut start, end, mut count) = (0.0, c[idx].0, c[idx].1);
    if idx > 0 {
        start = c[idx - 1].0;
        count -= c[idx - 1].1;
        rank -= c[idx - 1].1;
    }
    start + (end - start) * (rank / count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        // 2024-02-29T13:45:00Z
        let t = 1_709_214_300.0;
        assert_eq!(date_fn("year").unwrap()(t), 2024.0);
        assert_eq!(date_fn("month").unwrap()(t), 2.0);
        assert_eq!(date_fn("day_of_month").unwrap()(t), 29.0);
        assert_eq!(date_fn("days_in_month").unwrap()(t), 29.0);
        assert_eq!(date_fn("day_of_year").unwrap()(t), 60.0);
        assert_eq!(date_fn("day_of_week").unwrap()(t), 4.0);
        assert_eq!(date_fn("hour").unwrap()(t), 13.0);
        assert_eq!(date_fn("minute").unwrap()(t), 45.0);
        assert!(date_fn("year").unwrap()(f64::NAN).is_nan());
    }

    #[test]
    fn buckets() {
        let mut b = vec![(0.1, 10.0), (1.0, 20.0), (f64::INFINITY, 20.0)];
        assert_eq!(bucket_quantile(0.5, &mut b), 0.1);
        let mut b = vec![(0.1, 10.0), (1.0, 20.0), (f64::INFINITY, 20.0)];
        assert!((bucket_quantile(0.75, &mut b) - 0.55).abs() < 1e-12);
        let mut b = vec![(1.0, 20.0)];
        assert!(bucket_quantile(0.5, &mut b).is_nan());
    }
}
