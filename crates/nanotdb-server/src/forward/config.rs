//! `[[remote_write]]` tables of `engine.toml`: one per receiver this server
//! forwards every stored sample to (docs/BEHAVIOUR.md, "Forwarding by
//! remote write"). Parsed and validated at start: a bad table stops the
//! server with a message naming the table and the key.

use std::collections::BTreeMap;
use std::time::Duration;

use nanotdb::forward::DbSelection;
use nanotdb::labels::Matcher;
use serde::Deserialize;

/// Default `max_samples_per_send`.
pub const DEFAULT_MAX_SAMPLES_PER_SEND: usize = 2_000;

/// One validated target.
#[derive(Debug, Clone)]
pub struct TargetConfig {
    /// Name: the cursor file and the metrics' `target` label. Default: the
    /// URL's host, port and path with every other character as `_`.
    pub name: String,
    /// The receiver URL as written.
    pub url: String,
    /// `host:port` to connect to.
    pub authority: String,
    /// Path and query of the request.
    pub path: String,
    /// TLS settings of an `https://` URL (`None`: plain `http://`).
    pub tls: Option<super::tls::TlsTarget>,
    /// Which databases are forwarded.
    pub databases: DbSelection,
    /// Series selectors: a series is forwarded when one of them matches
    /// (all series when empty).
    pub selectors: Vec<Vec<Matcher>>,
    /// Extra request headers, `Authorization` from the auth keys included.
    pub headers: Vec<(String, String)>,
    /// Most samples in one request.
    pub max_samples_per_send: usize,
    /// Longest a sample waits for its batch to fill.
    pub batch_deadline: Duration,
    /// First retry delay.
    pub min_backoff: Duration,
    /// Longest retry delay.
    pub max_backoff: Duration,
    /// Time allowed for one request.
    pub timeout: Duration,
    /// Rate limit of a catch-up (`None` = unlimited).
    pub max_samples_per_second: Option<u64>,
    /// Past this lag the target no longer holds retention (`None` = for ever).
    pub max_lag: Option<Duration>,
}

/// The table as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTarget {
    name: Option<String>,
    url: Option<String>,
    databases: Option<Vec<String>>,
    #[serde(rename = "match")]
    matchers: Option<Vec<String>>,
    bearer_token: Option<String>,
    basic_auth_username: Option<String>,
    basic_auth_password: Option<String>,
    headers: Option<BTreeMap<String, String>>,
    max_samples_per_send: Option<i64>,
    batch_deadline: Option<String>,
    min_backoff: Option<String>,
    max_backoff: Option<String>,
    timeout: Option<String>,
    max_samples_per_second: Option<i64>,
    max_lag: Option<String>,
    tls_config: Option<super::tls::RawTls>,
}

#[derive(Debug, Default, Deserialize)]
struct RawFile {
    #[serde(default)]
    remote_write: Vec<toml::Value>,
}

/// A `[[remote_write]]` table that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("[[remote_write]] #{index}{}: {msg}", name.as_ref().map(|n| format!(" ({n})")).unwrap_or_default())]
pub struct ConfigError {
    /// 1-based position of the table in the file.
    pub index: usize,
    /// Its name when known.
    pub name: Option<String>,
    /// What is wrong.
    pub msg: String,
}

/// Headers the sender sets itself.
const RESERVED_HEADERS: [&str; 5] = [
    "content-type",
    "content-encoding",
    "content-length",
    "host",
    "x-prometheus-remote-write-version",
];

/// Parses every `[[remote_write]]` table of engine.toml text.
pub fn parse(text: &str) -> Result<Vec<TargetConfig>, ConfigError> {
    let raw: RawFile = toml::from_str(text).map_err(|e| ConfigError {
        index: 0,
        name: None,
        msg: e.to_string(),
    })?;
    let mut out: Vec<TargetConfig> = Vec::new();
    for (i, v) in raw.remote_write.into_iter().enumerate() {
        let err = |name: Option<&str>, msg: String| ConfigError {
            index: i + 1,
            name: name.map(str::to_string),
            msg,
        };
        let t: RawTarget = v
            .try_into()
            .map_err(|e: toml::de::Error| err(None, e.message().to_string()))?;
        let t = target(t).map_err(|(n, m)| err(n.as_deref(), m))?;
        if out.iter().any(|o| o.name == t.name) {
            return Err(err(
                Some(&t.name),
                "two targets with the same name (set `name` to tell them apart)".into(),
            ));
        }
        out.push(t);
    }
    Ok(out)
}

type Invalid = (Option<String>, String);

fn duration(key: &str, v: Option<String>, default: Duration) -> Result<Duration, String> {
    match v {
        None => Ok(default),
        Some(s) => match nanotdb::time::parse_go_duration(s.trim()) {
            Ok(ns) if ns > 0 => Ok(Duration::from_nanos(ns as u64)),
            Ok(_) => Err(format!("{key} must be > 0")),
            Err(e) => Err(format!("{key}: {e}")),
        },
    }
}

/// A receiver URL taken apart.
struct Url {
    https: bool,
    /// `host:port`.
    authority: String,
    /// The host alone (no brackets around an IPv6 address).
    host: String,
    /// Path and query.
    path: String,
}

/// Splits `http(s)://host:port/path`.
fn split_url(url: &str) -> Result<Url, String> {
    let (https, rest) = match url.split_once("://") {
        Some(("http", rest)) => (false, rest),
        Some(("https", rest)) => (true, rest),
        _ => return Err(format!("url {url:?}: must start with http:// or https://")),
    };
    let (auth, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if auth.is_empty() || auth.contains(['@', ' ']) {
        return Err(format!("url {url:?}: bad host"));
    }
    let (authority, host) = match auth.rsplit_once(':') {
        Some((h, p)) if p.parse::<u16>().is_ok() => (auth.to_string(), h),
        _ if auth.contains(':') && !auth.ends_with(']') => {
            return Err(format!("url {url:?}: bad port"));
        }
        _ => (format!("{auth}:{}", if https { 443 } else { 80 }), auth),
    };
    Ok(Url {
        https,
        authority,
        host: host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string(),
        path: path.to_string(),
    })
}

fn default_name(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect::<String>()
        .trim_matches('_')
        .to_string()
}

fn target(t: RawTarget) -> Result<TargetConfig, Invalid> {
    let Some(url) = t.url.filter(|u| !u.trim().is_empty()) else {
        return Err((t.name, "url is required".into()));
    };
    let url = url.trim().to_string();
    let name = t.name.unwrap_or_else(|| default_name(&url));
    let fail = |m: String| (Some(name.clone()), m);
    if name.is_empty()
        || name.len() > 100
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
        || name.starts_with('.')
    {
        return Err(fail(
            "name must be 1-100 characters of [A-Za-z0-9_.-], not starting with '.'".into(),
        ));
    }
    let Url {
        https,
        authority,
        host,
        path,
    } = split_url(&url).map_err(fail)?;
    let tls = match (https, t.tls_config) {
        (true, raw) => Some(super::tls::build(raw.unwrap_or_default(), &host).map_err(fail)?),
        (false, None) => None,
        (false, Some(_)) => return Err(fail("tls_config needs an https:// url".into())),
    };
    let databases = match t.databases {
        None => DbSelection::AllButInternal,
        Some(v) if v.is_empty() => {
            return Err(fail(
                "databases is empty (omit it for every database)".into(),
            ));
        }
        Some(v) => {
            for d in &v {
                nanotdb::names::validate_db_name(d).map_err(|e| fail(format!("databases: {e}")))?;
            }
            DbSelection::Only(v)
        }
    };
    let mut selectors = Vec::new();
    for s in t.matchers.unwrap_or_default() {
        selectors.push(
            nanotdb::selector::parse_selector(&s).map_err(|e| fail(format!("match {s:?}: {e}")))?,
        );
    }
    let mut headers = Vec::new();
    let auth = match (t.bearer_token, t.basic_auth_username, t.basic_auth_password) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
            return Err(fail(
                "bearer_token and basic_auth_* exclude each other".into(),
            ));
        }
        (Some(tok), None, None) => Some(format!("Bearer {}", tok.trim())),
        (None, Some(u), Some(p)) => {
            use base64::Engine as _;
            let b = base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"));
            Some(format!("Basic {b}"))
        }
        (None, Some(_), None) | (None, None, Some(_)) => {
            return Err(fail(
                "basic_auth_username and basic_auth_password go together".into(),
            ));
        }
        (None, None, None) => None,
    };
    for (k, v) in t.headers.unwrap_or_default() {
        let lower = k.to_ascii_lowercase();
        if RESERVED_HEADERS.contains(&lower.as_str())
            || (lower == "authorization" && auth.is_some())
        {
            return Err(fail(format!("headers: {k:?} is set by the sender")));
        }
        if k.is_empty()
            || !k
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b))
        {
            return Err(fail(format!("headers: bad header name {k:?}")));
        }
        if v.bytes().any(|b| b < 0x20 && b != b'\t' || b == 0x7f) {
            return Err(fail(format!(
                "headers: value of {k:?} has control characters"
            )));
        }
        headers.push((k, v));
    }
    if let Some(a) = auth {
        headers.push(("Authorization".into(), a));
    }
    let max_samples_per_send = match t.max_samples_per_send {
        None => DEFAULT_MAX_SAMPLES_PER_SEND,
        Some(n) if (1..=1_000_000).contains(&n) => n as usize,
        Some(_) => return Err(fail("max_samples_per_send must be 1..=1000000".into())),
    };
    let max_samples_per_second = match t.max_samples_per_second {
        None | Some(0) => None,
        Some(n) if n > 0 => Some(n as u64),
        Some(_) => {
            return Err(fail(
                "max_samples_per_second must be >= 0 (0 = unlimited)".into(),
            ));
        }
    };
    let min_backoff =
        duration("min_backoff", t.min_backoff, Duration::from_millis(30)).map_err(fail)?;
    let max_backoff =
        duration("max_backoff", t.max_backoff, Duration::from_secs(5)).map_err(fail)?;
    if min_backoff > max_backoff {
        return Err(fail("min_backoff is above max_backoff".into()));
    }
    Ok(TargetConfig {
        url,
        authority,
        path,
        tls,
        databases,
        selectors,
        headers,
        max_samples_per_send,
        batch_deadline: duration("batch_deadline", t.batch_deadline, Duration::from_secs(5))
            .map_err(fail)?,
        min_backoff,
        max_backoff,
        timeout: duration("timeout", t.timeout, Duration::from_secs(30)).map_err(fail)?,
        max_samples_per_second,
        max_lag: match t.max_lag {
            None => None,
            Some(s) => Some(duration("max_lag", Some(s), Duration::ZERO).map_err(fail)?),
        },
        name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_every_key() {
        assert!(parse("[engine]\n").unwrap().is_empty());
        let t = parse("[[remote_write]]\nurl = \"http://127.0.0.1:8428/api/v1/write\"\n").unwrap();
        let t = &t[0];
        assert_eq!(t.name, "127_0_0_1_8428_api_v1_write");
        assert_eq!(t.authority, "127.0.0.1:8428");
        assert_eq!(t.path, "/api/v1/write");
        assert_eq!(t.databases, DbSelection::AllButInternal);
        assert_eq!(t.max_samples_per_send, 2000);
        assert_eq!(t.batch_deadline, Duration::from_secs(5));
        assert!(t.max_lag.is_none() && t.max_samples_per_second.is_none());
        assert!(t.tls.is_none());
        let t = parse("[[remote_write]]\nurl = \"https://[::1]/w\"\n[remote_write.tls_config]\ninsecure_skip_verify = true\n").unwrap();
        assert_eq!(t[0].authority, "[::1]:443");
        let tls = t[0].tls.as_ref().unwrap();
        assert_eq!(
            format!("{:?}", tls.server_name),
            "IpAddress(V6(Ipv6Addr([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])))"
        );
        let t = parse("[[remote_write]]\nurl = \"https://vm.example/w\"\n").unwrap();
        assert_eq!(t[0].authority, "vm.example:443");
        assert_eq!(
            format!("{:?}", t[0].tls.as_ref().unwrap().server_name),
            "DnsName(\"vm.example\")"
        );
        let t = parse(
            r#"[[remote_write]]
name = "vm"
url = "http://vm/write"
databases = ["edge"]
match = ['up{job="a"}', '{x=~"y.*"}']
basic_auth_username = "u"
basic_auth_password = "p"
headers = { X-Scope-OrgID = "tenant" }
max_samples_per_send = 10
batch_deadline = "100ms"
min_backoff = "10ms"
max_backoff = "1s"
timeout = "2s"
max_samples_per_second = 500
max_lag = "24h"
"#,
        )
        .unwrap();
        let t = &t[0];
        assert_eq!(t.authority, "vm:80");
        assert_eq!(t.selectors.len(), 2);
        assert_eq!(t.headers[1], ("Authorization".into(), "Basic dTpw".into()));
        assert_eq!(t.max_samples_per_second, Some(500));
        assert_eq!(t.max_lag, Some(Duration::from_secs(86400)));
    }

    #[test]
    fn clear_errors() {
        for (text, want) in [
            ("[[remote_write]]\n", "#1: url is required"),
            (
                "[[remote_write]]\nurl = \"ftp://x/\"",
                "must start with http:// or https://",
            ),
            (
                "[[remote_write]]\nurl = \"http://x/\"\n[remote_write.tls_config]\nca_file = \"a\"",
                "tls_config needs an https:// url",
            ),
            (
                "[[remote_write]]\nurl = \"https://x/\"\n[remote_write.tls_config]\nca_file = \"/nonexistent/ca.pem\"",
                "tls_config.ca_file \"/nonexistent/ca.pem\": ",
            ),
            (
                "[[remote_write]]\nurl = \"https://x/\"\n[remote_write.tls_config]\nca_file = \"Cargo.toml\"",
                "tls_config.ca_file \"Cargo.toml\": no PEM certificate in it",
            ),
            (
                "[[remote_write]]\nurl = \"https://x/\"\n[remote_write.tls_config]\ncert_file = \"Cargo.toml\"",
                "cert_file and key_file go together",
            ),
            (
                "[[remote_write]]\nurl = \"https://x/\"\n[remote_write.tls_config]\nverify = true",
                "unknown field `verify`",
            ),
            (
                "[[remote_write]]\nurl = \"http://x/\"\nurl2 = 1",
                "unknown field `url2`",
            ),
            (
                "[[remote_write]]\nurl = \"http://x/\"\nbearer_token = \"t\"\nbasic_auth_username = \"u\"",
                "exclude each other",
            ),
            (
                "[[remote_write]]\nurl = \"http://x/\"\nbasic_auth_username = \"u\"",
                "go together",
            ),
            (
                "[[remote_write]]\nurl = \"http://x/\"\nmax_samples_per_send = 0",
                "max_samples_per_send",
            ),
            (
                "[[remote_write]]\nurl = \"http://x/\"\nbatch_deadline = \"soon\"",
                "batch_deadline",
            ),
            (
                "[[remote_write]]\nurl = \"http://x/\"\nmin_backoff = \"10s\"",
                "min_backoff is above",
            ),
            (
                "[[remote_write]]\nurl = \"http://x/\"\nmatch = ['up{a']",
                "match",
            ),
            (
                "[[remote_write]]\nurl = \"http://x/\"\ndatabases = [\"a/b\"]",
                "databases",
            ),
            (
                "[[remote_write]]\nurl = \"http://x/\"\nheaders = { Content-Type = \"x\" }",
                "set by the sender",
            ),
            (
                "[[remote_write]]\nurl = \"http://x/\"\n[[remote_write]]\nurl = \"http://x/\"",
                "#2 (x)",
            ),
        ] {
            let e = parse(text).unwrap_err().to_string();
            assert!(e.contains(want), "{text:?}: {e}");
        }
    }
}
