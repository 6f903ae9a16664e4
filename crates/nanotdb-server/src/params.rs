//! Request parameters: URL query plus `application/x-www-form-urlencoded`
//! POST bodies (Grafana posts its queries), and the parsers of time, step
//! and boolean values (docs/BEHAVIOUR.md §2.3).

use axum::extract::{FromRequest, Request};
use axum::http::{Method, header};

use crate::envelope::ApiError;

/// All parameters of a request, in order (query string first, then form body).
#[derive(Debug, Default, Clone)]
pub struct Params(pub Vec<(String, String)>);

impl Params {
    /// Parses a urlencoded string.
    pub fn parse(s: &[u8]) -> Params {
        Params(form_urlencoded::parse(s).into_owned().collect())
    }

    /// First value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// First value of `name`, trimmed; blank counts as absent.
    pub fn get_trimmed(&self, name: &str) -> Option<&str> {
        self.get(name).map(str::trim).filter(|v| !v.is_empty())
    }

    /// Every value of `name`.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

impl<S: Send + Sync> FromRequest<S> for Params {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Params, ApiError> {
        let mut p = Params::parse(req.uri().query().unwrap_or("").as_bytes());
        let is_form = req.method() == Method::POST
            && content_type_is(req.headers(), "application/x-www-form-urlencoded");
        if is_form {
            let body = axum::body::Bytes::from_request(req, state)
                .await
                .map_err(|e| ApiError::new(e.status(), "bad_data", e.body_text()))?;
            p.0.extend(Params::parse(&body).0);
        }
        Ok(p)
    }
}

/// Whether the request's `Content-Type` starts with `prefix` (compared
/// case-insensitively, parameters such as `charset` ignored).
pub fn content_type_is(headers: &axum::http::HeaderMap, prefix: &str) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().to_ascii_lowercase().starts_with(prefix))
}

/// The optional `db` query parameter, validated.
pub fn db_param(uri: &axum::http::Uri) -> Result<Option<String>, ApiError> {
    let params = Params::parse(uri.query().unwrap_or("").as_bytes());
    let db = params.get_trimmed("db").map(str::to_string);
    if let Some(db) = &db {
        check_db(db)?;
    }
    Ok(db)
}

/// Parses a time parameter (`start`, `end`, `time`); forms tried in order:
/// RFC 3339 with a zone, float seconds (contains `.`), integer (seconds if
/// ≤ 10¹², else ns), a time relative to now (`now`, `now-1h`, `now+5m`, or
/// `-10m` meaning ten minutes ago; Go durations plus `d` and `w`, as
/// `nanocli` takes them), `YYYY-MM-DD[ HH[:MM[:SS[.fraction]]]]` UTC.
pub fn parse_time(s: &str) -> Result<i64, String> {
    parse_time_at(s, nanotdb::time::now_ns())
}

/// [`parse_time`] with `now` given.
pub fn parse_time_at(s: &str, now: i64) -> Result<i64, String> {
    let t = s.trim();
    if t.is_empty() {
        return Err("missing time value".to_string());
    }
    if t.len() > 10
        && matches!(t.as_bytes().get(10), Some(b'T' | b't'))
        && let Ok(ts) = t.parse::<jiff::Timestamp>()
    {
        return i64::try_from(ts.as_nanosecond()).map_err(|_| format!("time {t:?} out of range"));
    }
    if t.contains('.')
        && let Ok(f) = t.parse::<f64>()
    {
        let ns = f * 1e9;
        if !ns.is_finite() || ns.abs() >= 9.2e18 {
            return Err(format!("time {t:?} out of range"));
        }
        return Ok(ns.round() as i64);
    }
    if let Ok(n) = t.parse::<i64>() {
        if n <= 1_000_000_000_000 {
            return n
                .checked_mul(1_000_000_000)
                .ok_or_else(|| format!("time {t:?} out of range"));
        }
        return Ok(n);
    }
    if let Some(ts) = relative_time(t, now) {
        return ts;
    }
    nanotdb::time::parse_timestamp(t).map_err(|_| format!("cannot parse {t:?} as a time"))
}

/// `now`, `now±DUR` or `-DUR`; None when `t` has none of these forms.
fn relative_time(t: &str, now: i64) -> Option<Result<i64, String>> {
    let (sign, dur) = if let Some(rest) = t.strip_prefix("now") {
        match rest.trim_start().as_bytes().first() {
            None => return Some(Ok(now)),
            Some(b'-') => (-1, rest.trim_start()[1..].trim()),
            Some(b'+') => (1, rest.trim_start()[1..].trim()),
            Some(_) => return None,
        }
    } else if let Some(rest) = t.strip_prefix('-') {
        (-1, rest)
    } else {
        return None;
    };
    let d = match nanotdb::time::parse_ext_duration(dur) {
        Ok(d) => d,
        Err(_) => return Some(Err(format!("cannot parse {t:?} as a time"))),
    };
    Some(
        d.checked_mul(sign)
            .and_then(|d| now.checked_add(d))
            .ok_or_else(|| format!("time {t:?} out of range")),
    )
}

/// Parses `step`: empty → 0; a Go duration ≥ 0, or non-negative float seconds.
pub fn parse_step(s: &str) -> Result<i64, String> {
    let t = s.trim();
    if t.is_empty() {
        return Ok(0);
    }
    if let Ok(d) = nanotdb::time::parse_go_duration(t) {
        if d < 0 {
            return Err("step must be >= 0".to_string());
        }
        return Ok(d);
    }
    match t.parse::<f64>() {
        Ok(f) if f.is_finite() && f >= 0.0 && f * 1e9 < 9.2e18 => Ok((f * 1e9).round() as i64),
        Ok(_) => Err("step must be >= 0".to_string()),
        Err(_) => Err(format!("cannot parse {t:?} as a duration")),
    }
}

/// Go's `strconv.ParseBool`.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// An optional boolean parameter; `what` names it in the error.
pub fn bool_param(p: &Params, name: &str) -> Result<bool, ApiError> {
    match p.get(name) {
        None | Some("") => Ok(false),
        Some(v) => parse_bool(v)
            .ok_or_else(|| ApiError::bad_data(format!("invalid {name}: must be true or false"))),
    }
}

/// Validates a database name taken from a request (never reaches the disk
/// otherwise).
pub fn check_db(db: &str) -> Result<(), ApiError> {
    nanotdb::names::validate_db_name(db).map_err(|e| ApiError::bad_data(e.to_string()))
}

/// Resolves `(db, metric)` from `db` + `query`, or `query = db/metric`
/// (split at the first `/`). Also accepts the selector forms Grafana builds:
/// `db/metric{}` and `{__name__="db/metric"}`.
pub fn db_metric(p: &Params) -> Result<(String, String), ApiError> {
    let q = p
        .get_trimmed("query")
        .ok_or_else(|| ApiError::bad_data("missing query parameter"))?;
    let q = strip_selector(q);
    let (db, metric) = match p.get_trimmed("db") {
        Some(db) => (db.to_string(), q.to_string()),
        None => match q.split_once('/') {
            Some((d, m)) if !d.is_empty() && !m.is_empty() => (d.to_string(), m.to_string()),
            _ => {
                return Err(ApiError::bad_data(
                    "missing db parameter or DB/metric query",
                ));
            }
        },
    };
    check_db(&db)?;
    Ok((db, metric))
}

/// `name{}` → `name`; `{__name__="x"}` → `x`; anything else unchanged.
pub fn strip_selector(q: &str) -> &str {
    let q = q.trim();
    if let Some(inner) = q.strip_prefix('{').and_then(|r| r.strip_suffix('}')) {
        let inner = inner.trim();
        if let Some(rest) = inner.strip_prefix("__name__") {
            let rest = rest.trim_start();
            if let Some(v) = rest.strip_prefix('=')
                && !v.starts_with('~')
            {
                let v = v.trim();
                if let Some(name) = v.strip_prefix('"').and_then(|r| r.strip_suffix('"'))
                    && !name.contains('"')
                {
                    return name;
                }
            }
        }
        return q;
    }
    q.strip_suffix("{}").unwrap_or(q)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_forms() {
        assert_eq!(
            parse_time("2026-05-24T12:00:00Z").unwrap(),
            1_779_624_000_000_000_000
        );
        assert_eq!(
            parse_time("2026-05-24T14:00:00+02:00").unwrap(),
            1_779_624_000_000_000_000
        );
        assert_eq!(
            parse_time("1716552000.5").unwrap(),
            1_716_552_000_500_000_000
        );
        assert_eq!(parse_time("1716552000").unwrap(), 1_716_552_000_000_000_000);
        assert_eq!(
            parse_time("1716552000000000000").unwrap(),
            1_716_552_000_000_000_000
        );
        assert_eq!(
            parse_time("2026-05-24 12:00:00").unwrap(),
            1_779_624_000_000_000_000
        );
        assert_eq!(parse_time("2026-05-24").unwrap(), 1_779_580_800_000_000_000);
        assert_eq!(parse_time("").unwrap_err(), "missing time value");
        let now = 1_779_580_800_000_000_000;
        assert_eq!(parse_time_at("now", now), Ok(now));
        assert_eq!(parse_time_at("-10m", now), Ok(now - 600_000_000_000));
        assert_eq!(parse_time_at("now-1h", now), Ok(now - 3_600_000_000_000));
        assert_eq!(parse_time_at("now - 1d", now), Ok(now - 86_400_000_000_000));
        assert_eq!(parse_time_at("now+90s", now), Ok(now + 90_000_000_000));
        assert_eq!(
            parse_time_at("-5", now),
            Ok(-5_000_000_000),
            "an integer stays seconds"
        );
        assert!(parse_time_at("now-", now).is_err());
        assert!(parse_time_at("-10x", now).is_err());
        assert!(parse_time_at("nowish", now).is_err());
        assert!(parse_time("1e400.").is_err());
        assert!(parse_time("99999999999999999999").is_err());
    }

    #[test]
    fn step_and_bool() {
        assert_eq!(parse_step("").unwrap(), 0);
        assert_eq!(parse_step("15").unwrap(), 15_000_000_000);
        assert_eq!(parse_step("1.5").unwrap(), 1_500_000_000);
        assert_eq!(parse_step("5m").unwrap(), 300_000_000_000);
        assert!(parse_step("-1s").is_err());
        assert!(parse_step("x").is_err());
        assert_eq!(parse_bool("True"), Some(true));
        assert_eq!(parse_bool("yes"), None);
    }

    #[test]
    fn selectors() {
        assert_eq!(strip_selector("edge/t{}"), "edge/t");
        assert_eq!(strip_selector("{__name__=\"edge/t\"}"), "edge/t");
        assert_eq!(strip_selector("edge/t"), "edge/t");
    }
}
