//! The Prometheus API subset Grafana's Prometheus data source uses to connect
//! and browse: build info, labels, label values and series. A series is
//! `{__name__="db/metric", db="db"}`; `__name__` values are `db/metric`.

use axum::extract::{Path, State};
use regex::Regex;
use serde_json::json;

use crate::envelope::{ApiError, ApiResult, success};
use crate::params::Params;
use crate::{SharedState, blocking};

/// `GET /api/v1/status/buildinfo`.
pub async fn buildinfo() -> ApiResult {
    Ok(success(json!({
        "version": "2.40.0",
        "revision": "nanotdb",
        "branch": "nanotdb",
        "buildUser": "nanotdb",
        "buildDate": "",
        "goVersion": "none",
        "application": "nanotdb",
        "nanotdbVersion": env!("CARGO_PKG_VERSION"),
    })))
}

/// `GET|POST /api/v1/labels`.
pub async fn labels() -> ApiResult {
    Ok(success(json!(["__name__", "db"])))
}

/// Every `(db, metric)` pair, `internal` excluded, sorted, capped at `max`.
fn all_series(st: &SharedState, max: usize) -> Result<Vec<(String, String)>, ApiError> {
    let mut out = Vec::new();
    let dbs = st
        .engine
        .databases()
        .map_err(|e| ApiError::execution(e.to_string()))?;
    for db in dbs.into_iter().filter(|d| d != "internal") {
        let ms = match st.engine.metrics(&db) {
            Ok(ms) => ms,
            Err(nanotdb::Error::DatabaseNotFound(_)) => continue,
            Err(e) => return Err(ApiError::execution(e.to_string())),
        };
        for m in ms {
            if out.len() >= max {
                return Err(ApiError::too_large(format!(
                    "more than {max} series match (max_series_per_query)"
                )));
            }
            out.push((db.clone(), m.name));
        }
    }
    Ok(out)
}

/// `GET|POST /api/v1/label/{name}/values`.
pub async fn label_values(State(st): State<SharedState>, Path(name): Path<String>) -> ApiResult {
    let st2 = st.clone();
    let values: Vec<String> = match name.as_str() {
        "__name__" => {
            let max = st.settings.max_series_per_query;
            blocking(move || all_series(&st2, max))
                .await??
                .into_iter()
                .map(|(d, m)| format!("{d}/{m}"))
                .collect()
        }
        "db" => blocking(move || st2.engine.databases())
            .await?
            .map_err(|e| ApiError::execution(e.to_string()))?
            .into_iter()
            .filter(|d| d != "internal")
            .collect(),
        _ => Vec::new(),
    };
    Ok(success(json!(values)))
}

/// One label matcher of a selector.
#[derive(Debug)]
enum Matcher {
    Eq(String, String),
    Ne(String, String),
    Re(String, Regex),
    Nre(String, Regex),
}

impl Matcher {
    fn matches(&self, name: &str, db: &str) -> bool {
        let get = |l: &str| match l {
            "__name__" => name,
            "db" => db,
            _ => "",
        };
        match self {
            Matcher::Eq(l, v) => get(l) == v,
            Matcher::Ne(l, v) => get(l) != v,
            Matcher::Re(l, r) => r.is_match(get(l)),
            Matcher::Nre(l, r) => !r.is_match(get(l)),
        }
    }
}

/// Parses `name`, `name{…}` or `{…}` with `=`, `!=`, `=~`, `!~` matchers on
/// double-quoted values.
fn parse_selector(s: &str) -> Result<Vec<Matcher>, String> {
    let s = s.trim();
    let (name, rest) = match s.find('{') {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, ""),
    };
    let mut out = Vec::new();
    let name = name.trim();
    if !name.is_empty() {
        out.push(Matcher::Eq("__name__".into(), name.to_string()));
    }
    if rest.is_empty() {
        return Ok(out);
    }
    let inner = rest
        .strip_prefix('{')
        .and_then(|r| r.strip_suffix('}'))
        .ok_or("unbalanced braces")?;
    let mut rest = inner.trim();
    while !rest.is_empty() {
        let op_at = rest.find(['=', '!']).ok_or("expected a matcher")?;
        let label = rest[..op_at].trim().to_string();
        let after = &rest[op_at..];
        let (op, after) = ["=~", "!~", "!=", "="]
            .iter()
            .find_map(|op| after.strip_prefix(op).map(|a| (*op, a)))
            .ok_or("expected =, !=, =~ or !~")?;
        let after = after.trim_start();
        let body = after.strip_prefix('"').ok_or("expected a quoted value")?;
        let mut val = String::new();
        let mut end = None;
        let mut chars = body.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    if let Some((_, n)) = chars.next() {
                        val.push(if n == 'n' { '\n' } else { n });
                    }
                }
                '"' => {
                    end = Some(i + 1);
                    break;
                }
                c => val.push(c),
            }
        }
        let end = end.ok_or("unterminated value")?;
        let re = |v: &str| Regex::new(&format!("^(?:{v})$")).map_err(|e| e.to_string());
        out.push(match op {
            "=" => Matcher::Eq(label, val),
            "!=" => Matcher::Ne(label, val),
            "=~" => Matcher::Re(label, re(&val)?),
            _ => Matcher::Nre(label, re(&val)?),
        });
        rest = body[end..].trim_start();
        rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();
    }
    Ok(out)
}

/// `GET|POST /api/v1/series?match[]=…`.
pub async fn series(State(st): State<SharedState>, p: Params) -> ApiResult {
    let mut selectors = Vec::new();
    for m in p.get_all("match[]") {
        selectors.push(
            parse_selector(m).map_err(|e| ApiError::bad_data(format!("invalid match[]: {e}")))?,
        );
    }
    let max = st.settings.max_series_per_query;
    let st2 = st.clone();
    let all = blocking(move || all_series(&st2, usize::MAX)).await??;
    let mut out = Vec::new();
    for (db, m) in all {
        let full = format!("{db}/{m}");
        if selectors.is_empty()
            || selectors
                .iter()
                .any(|s| s.iter().all(|x| x.matches(&full, &db)))
        {
            if out.len() >= max {
                return Err(ApiError::too_large(format!(
                    "more than {max} series match (max_series_per_query)"
                )));
            }
            out.push(json!({"__name__": full, "db": db}));
        }
    }
    Ok(success(json!(out)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors() {
        let s = parse_selector("{__name__=~\"edge/.*\",db!=\"x\"}").unwrap();
        assert!(s.iter().all(|m| m.matches("edge/t", "edge")));
        assert!(!s.iter().all(|m| m.matches("other/t", "other")));
        let s = parse_selector("edge/t").unwrap();
        assert!(s.iter().all(|m| m.matches("edge/t", "edge")));
        assert!(parse_selector("{a=}").is_err());
        assert!(parse_selector("{a=\"(\"}").is_ok());
        assert!(parse_selector("{a=~\"(\"}").is_err());
    }
}
