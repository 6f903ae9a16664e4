//! Server-only settings read from `engine.toml`: the hardening knobs of
//! `[engine]` that the engine itself ignores, and the `[web]` section.
//!
//! The engine parses its own keys; this module re-reads the same file with a
//! lenient serde struct so unknown keys never stop the server.

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use crate::web::config::{RawWeb, WebSettings};

/// Default request body limit (16 MiB).
pub const DEFAULT_MAX_BODY_BYTES: usize = 16 << 20;

/// Effective server settings.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// Bearer token required on writes and admin routes; `None` = no auth.
    pub auth_token: Option<String>,
    /// With a token: require it on read routes too (everything but `/health`).
    pub auth_reads: bool,
    /// Largest accepted request body; larger ones get 413.
    pub max_body_bytes: usize,
    /// Time allowed for a client to send the request headers.
    pub header_timeout: Duration,
    /// Time allowed for a whole request (body included) to be answered.
    pub request_timeout: Duration,
    /// Most points one series of a query may return (else 422).
    pub max_points_per_series: usize,
    /// Most series one query may return (else 422).
    pub max_series_per_query: usize,
    /// How often idle pages are flushed (`Engine::flush_idle`).
    pub flush_interval: Duration,
    /// How long shutdown waits for in-flight requests.
    pub shutdown_grace: Duration,
    /// The `[web]` section (UI pages and the dashboard-config API).
    pub web: WebSettings,
    /// The `[[remote_write]]` targets (forwarding every stored sample).
    pub remote_write: Vec<crate::forward::TargetConfig>,
    /// PromQL: how far back an instant selector looks (`[query] lookback_delta`).
    pub query_lookback: Duration,
    /// PromQL: most samples and points one query may hold (`[query] max_samples`).
    pub query_max_samples: usize,
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            auth_token: None,
            auth_reads: false,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            header_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(60),
            max_points_per_series: 1_000_000,
            max_series_per_query: 10_000,
            flush_interval: Duration::from_secs(1),
            shutdown_grace: Duration::from_secs(5),
            web: WebSettings::default(),
            remote_write: Vec::new(),
            query_lookback: Duration::from_secs(300),
            query_max_samples: 50_000_000,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct RawFile {
    #[serde(default)]
    engine: RawEngine,
    #[serde(default)]
    web: RawWeb,
    #[serde(default)]
    query: RawQuery,
}

#[derive(Debug, Default, Deserialize)]
struct RawQuery {
    lookback_delta: Option<String>,
    max_samples: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
struct RawEngine {
    auth_token: Option<String>,
    auth_reads: Option<bool>,
    max_body_bytes: Option<i64>,
    header_timeout: Option<String>,
    request_timeout: Option<String>,
    max_points_per_series: Option<i64>,
    max_series_per_query: Option<i64>,
    flush_interval: Option<String>,
    shutdown_grace: Option<String>,
}

/// A setting that could not be used.
#[derive(Debug)]
pub struct SettingsError(pub String);

impl std::fmt::Display for SettingsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SettingsError {}

fn duration(key: &str, v: Option<String>, default: Duration) -> Result<Duration, SettingsError> {
    match v {
        None => Ok(default),
        Some(s) if s.trim().is_empty() => Ok(default),
        Some(s) => match nanotdb::time::parse_go_duration(s.trim()) {
            Ok(ns) if ns > 0 => Ok(Duration::from_nanos(ns as u64)),
            Ok(_) => Err(SettingsError(format!("[engine].{key} must be > 0"))),
            Err(e) => Err(SettingsError(format!("[engine].{key}: {e}"))),
        },
    }
}

fn positive(key: &str, v: Option<i64>, default: usize) -> Result<usize, SettingsError> {
    match v {
        None => Ok(default),
        Some(n) if n > 0 => {
            usize::try_from(n).map_err(|_| SettingsError(format!("[engine].{key} too large")))
        }
        Some(_) => Err(SettingsError(format!("[engine].{key} must be > 0"))),
    }
}

impl ServerSettings {
    /// Parses the server keys out of engine.toml text.
    pub fn parse(text: &str) -> Result<ServerSettings, SettingsError> {
        let raw: RawFile = toml::from_str(text).map_err(|e| SettingsError(e.to_string()))?;
        let d = ServerSettings::default();
        let e = raw.engine;
        Ok(ServerSettings {
            auth_token: e.auth_token.filter(|t| !t.trim().is_empty()),
            auth_reads: e.auth_reads.unwrap_or(false),
            max_body_bytes: positive("max_body_bytes", e.max_body_bytes, d.max_body_bytes)?,
            header_timeout: duration("header_timeout", e.header_timeout, d.header_timeout)?,
            request_timeout: duration("request_timeout", e.request_timeout, d.request_timeout)?,
            max_points_per_series: positive(
                "max_points_per_series",
                e.max_points_per_series,
                d.max_points_per_series,
            )?,
            max_series_per_query: positive(
                "max_series_per_query",
                e.max_series_per_query,
                d.max_series_per_query,
            )?,
            flush_interval: duration("flush_interval", e.flush_interval, d.flush_interval)?,
            shutdown_grace: duration("shutdown_grace", e.shutdown_grace, d.shutdown_grace)?,
            web: WebSettings::from_raw(raw.web),
            remote_write: crate::forward::config::parse(text)
                .map_err(|e| SettingsError(e.to_string()))?,
            query_lookback: duration("lookback_delta", raw.query.lookback_delta, d.query_lookback)
                .map_err(|e| SettingsError(e.0.replace("[engine]", "[query]")))?,
            query_max_samples: positive("max_samples", raw.query.max_samples, d.query_max_samples)
                .map_err(|e| SettingsError(e.0.replace("[engine]", "[query]")))?,
        })
    }

    /// Reads `<path>`; a missing file gives the defaults.
    pub fn load(path: &Path) -> Result<ServerSettings, SettingsError> {
        match std::fs::read_to_string(path) {
            Ok(text) => ServerSettings::parse(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ServerSettings::default()),
            Err(e) => Err(SettingsError(format!("{}: {e}", path.display()))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        let s = ServerSettings::parse("[engine]\nlisten=\":1\"\n[web]\nenabled=false\n").unwrap();
        assert_eq!(s.max_body_bytes, DEFAULT_MAX_BODY_BYTES);
        assert!(!s.web.enabled);
        assert!(ServerSettings::default().web.enabled);
        assert!(s.auth_token.is_none());
        let s = ServerSettings::parse(
            "[engine]\nauth_token = \"s3cret\"\nmax_body_bytes = 1024\nrequest_timeout = \"2s\"\n",
        )
        .unwrap();
        assert_eq!(s.auth_token.as_deref(), Some("s3cret"));
        assert_eq!(s.max_body_bytes, 1024);
        assert_eq!(s.request_timeout, Duration::from_secs(2));
        assert!(ServerSettings::parse("[engine]\nmax_body_bytes = 0\n").is_err());
        assert!(ServerSettings::parse("[engine]\nheader_timeout = \"x\"\n").is_err());
        let s =
            ServerSettings::parse("[query]\nlookback_delta = \"1m\"\nmax_samples = 99\n").unwrap();
        assert_eq!(s.query_lookback, Duration::from_secs(60));
        assert_eq!(s.query_max_samples, 99);
        assert_eq!(
            ServerSettings::default().query_lookback,
            Duration::from_secs(300)
        );
        let e = ServerSettings::parse("[query]\nlookback_delta = \"0s\"\n").unwrap_err();
        assert_eq!(e.0, "[query].lookback_delta must be > 0");
    }
}
