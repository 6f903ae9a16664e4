//! Compares two line-protocol exports by content rather than formatting.
//!
//! Each line is `db/metric VALUE TS`, where TS is integer nanoseconds or a UTC
//! date `YYYY-MM-DD[ HH:MM:SS[.fraction]]`, and VALUE an integer (with or
//! without the `i` suffix) or a float literal (`NaN`, `+Inf`, `-Inf`
//! included). Values compare as float32, NaN equal to NaN, so `42`, `42i` and
//! `42.0` are the same sample. Lines may come in any order across series;
//! within a series the sample sequences must be identical. Blank lines and
//! lines starting with `#` are ignored.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;

/// One sample: timestamp in nanoseconds and the value as float32.
#[derive(Clone, Copy, Debug)]
struct Point(i64, f32);

impl PartialEq for Point {
    fn eq(&self, o: &Point) -> bool {
        self.0 == o.0 && (self.1 == o.1 || (self.1.is_nan() && o.1.is_nan()))
    }
}

/// Why two exports differ (or could not be read).
#[derive(Debug)]
pub struct LpDiff {
    /// One line per differing series (at most 20), or the parse error.
    pub problems: Vec<String>,
    /// How many series differ in all.
    pub differing: usize,
}

impl fmt::Display for LpDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in &self.problems {
            writeln!(f, "{p}")?;
        }
        write!(f, "DIFFERENT: {} series differ", self.differing)
    }
}

type Series = BTreeMap<String, Vec<Point>>;

/// Compares `expected` with `actual`; `renames` maps database names of
/// `expected` to the ones `actual` uses. Returns the number of samples
/// compared when they are the same.
pub fn compare_lp_files(
    expected: &Path,
    actual: &Path,
    renames: &[(&str, &str)],
) -> Result<usize, LpDiff> {
    let exp = load(expected, renames)?;
    let act = load(actual, &[])?;
    let keys: BTreeSet<&String> = exp.keys().chain(act.keys()).collect();
    let mut problems = Vec::new();
    let mut differing = 0;
    for k in keys {
        let (e, g) = (
            exp.get(k).map_or(&[][..], Vec::as_slice),
            act.get(k).map_or(&[][..], Vec::as_slice),
        );
        if e == g {
            continue;
        }
        differing += 1;
        if problems.len() < 20 {
            let i = e
                .iter()
                .zip(g)
                .position(|(x, y)| x != y)
                .unwrap_or(e.len().min(g.len()));
            let show = |s: &[Point]| {
                s.get(i)
                    .map_or("nothing".to_owned(), |p| format!("({}, {})", p.0, p.1))
            };
            problems.push(format!(
                "{k}: expected {} samples, got {}; first difference at #{i}: expected {}, got {}",
                e.len(),
                g.len(),
                show(e),
                show(g)
            ));
        }
    }
    if differing > 0 {
        return Err(LpDiff {
            problems,
            differing,
        });
    }
    Ok(exp.values().map(Vec::len).sum())
}

/// Like [`compare_lp_files`], but panics with the differences, naming both
/// files. Returns the number of samples compared.
pub fn lpcompare(expected: &Path, actual: &Path, renames: &[(&str, &str)]) -> usize {
    match compare_lp_files(expected, actual, renames) {
        Ok(n) => n,
        Err(d) => panic!(
            "lpcompare {} vs {}:\n{d}",
            expected.display(),
            actual.display()
        ),
    }
}

fn load(path: &Path, renames: &[(&str, &str)]) -> Result<Series, LpDiff> {
    let fail = |msg: String| LpDiff {
        problems: vec![msg],
        differing: 1,
    };
    let text =
        std::fs::read_to_string(path).map_err(|e| fail(format!("{}: {e}", path.display())))?;
    let mut series = Series::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let point = parse_line(line, renames).map_err(|e| {
            fail(format!(
                "{}:{}: cannot parse {line:?}: {e}",
                path.display(),
                n + 1
            ))
        })?;
        series.entry(point.0).or_default().push(point.1);
    }
    Ok(series)
}

fn parse_line(line: &str, renames: &[(&str, &str)]) -> Result<(String, Point), String> {
    let mut parts = line.split_whitespace();
    let key = parts.next().ok_or("empty line")?;
    let value = parts.next().ok_or("no value")?;
    let ts: Vec<&str> = parts.collect();
    let (db, metric) = key.split_once('/').unwrap_or((key, ""));
    let db = renames
        .iter()
        .find(|(old, _)| *old == db)
        .map_or(db, |(_, new)| new);
    let v = value.strip_suffix('i').unwrap_or(value);
    let v: f64 = v.parse().map_err(|_| format!("bad value {value:?}"))?;
    Ok((format!("{db}/{metric}"), Point(parse_ts(&ts)?, v as f32)))
}

fn parse_ts(tokens: &[&str]) -> Result<i64, String> {
    if let [one] = tokens
        && let Ok(ns) = one.parse::<i64>()
    {
        return Ok(ns);
    }
    let text = tokens.join(" ");
    let (date, frac) = text.split_once('.').unwrap_or((&text, ""));
    let (day, time) = date.split_once(' ').unwrap_or((date, "00:00:00"));
    let nums = |s: &str, sep: char| -> Result<Vec<i64>, String> {
        s.split(sep)
            .map(|x| {
                x.parse::<i64>()
                    .map_err(|_| format!("bad timestamp {text:?}"))
            })
            .collect()
    };
    let (d, t) = (nums(day, '-')?, nums(time, ':')?);
    let (&[y, m, dd], &[hh, mm, ss]) = (d.as_slice(), t.as_slice()) else {
        return Err(format!("bad timestamp {text:?}"));
    };
    let secs = days_from_civil(y, m, dd) * 86_400 + hh * 3600 + mm * 60 + ss;
    let frac_ns = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<9}")[..9]
            .parse::<i64>()
            .map_err(|_| format!("bad fraction {frac:?}"))?
    };
    Ok(secs * 1_000_000_000 + frac_ns)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// algorithm).
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

    fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).expect("write");
        p
    }

    #[test]
    fn formats_and_order_do_not_matter() {
        let d = tempfile::tempdir().expect("tempdir");
        let a = write(
            d.path(),
            "a",
            "e/x 42 2026-01-01 00:00:01.5\ne/y NaN 0\ne/x 1.5 1767225602000000000\n",
        );
        let b = write(
            d.path(),
            "b",
            "e/y nan 0\ne/x 42i 1767225601500000000\n\ne/x 1.50 2026-01-01 00:00:02\n",
        );
        assert_eq!(compare_lp_files(&a, &b, &[]).expect("same"), 3);
    }

    #[test]
    fn a_different_value_timestamp_or_count_is_reported() {
        let d = tempfile::tempdir().expect("tempdir");
        let a = write(d.path(), "a", "e/x 1 10\ne/x 2 20\n");
        for other in [
            "e/x 1 10\ne/x 3 20\n",
            "e/x 1 10\ne/x 2 21\n",
            "e/x 1 10\n",
            "e/x 1 10\ne/x 2 20\ne/z 0 0\n",
        ] {
            let b = write(d.path(), "b", other);
            let err = compare_lp_files(&a, &b, &[]).expect_err(other);
            assert_eq!(err.differing, 1, "{other}");
        }
    }

    #[test]
    fn renames_apply_to_the_expected_side() {
        let d = tempfile::tempdir().expect("tempdir");
        let a = write(d.path(), "a", "edge/x 1 10\n");
        let b = write(d.path(), "b", "copy/x 1 10\n");
        assert!(compare_lp_files(&a, &b, &[]).is_err());
        assert_eq!(
            compare_lp_files(&a, &b, &[("edge", "copy")]).expect("renamed"),
            1
        );
    }

    #[test]
    fn dates_convert_like_utc() {
        assert_eq!(
            parse_ts(&["2026-01-01", "00:00:00"]),
            Ok(1_767_225_600_000_000_000)
        );
        assert_eq!(
            parse_ts(&["1969-12-31", "23:59:59.000000001"]),
            Ok(-999_999_999)
        );
        assert_eq!(parse_ts(&["2024-02-29"]), Ok(1_709_164_800_000_000_000));
        assert!(parse_ts(&["2024-02"]).is_err());
    }
}
