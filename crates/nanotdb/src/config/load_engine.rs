//! Loading, normalising and creating `engine.toml`.

use super::*;

// ---------------------------------------------------------------------------------------------
// Engine config loading
// ---------------------------------------------------------------------------------------------

/// Decodes TOML into `T`, collecting unknown keys (minus those `skip` accepts) as warnings.
pub(super) fn decode<T: serde::de::DeserializeOwned>(
    text: &str,
    path: &Path,
    skip: impl Fn(&str) -> bool,
) -> Result<(T, Vec<ConfigWarning>), ConfigError> {
    let de = toml::Deserializer::parse(text).map_err(|e| parse_err(path, text, &e))?;
    let mut unknown = Vec::new();
    let value: T = serde_ignored::deserialize(de, |p| unknown.push(dotted_key(&p)))
        .map_err(|e| parse_err(path, text, &e))?;
    let warnings = unknown
        .into_iter()
        .filter(|k| !skip(k))
        .map(|key| ConfigWarning {
            path: path.to_path_buf(),
            key,
            kind: ConfigWarningKind::UnknownKey,
        })
        .collect();
    Ok((value, warnings))
}

/// Renders a serde_ignored path as the dotted key users write (`wal.fsync_polcy`,
/// `logging.logger[0].x`); serde_ignored's own Display shows `Option` layers as `?`.
pub(super) fn dotted_key(p: &serde_ignored::Path<'_>) -> String {
    use serde_ignored::Path as P;
    match p {
        P::Root => String::new(),
        P::Seq { parent, index } => format!("{}[{index}]", dotted_key(parent)),
        P::Map { parent, key } => {
            let head = dotted_key(parent);
            if head.is_empty() {
                key.to_string()
            } else {
                format!("{head}.{key}")
            }
        }
        P::Some { parent } | P::NewtypeStruct { parent } | P::NewtypeVariant { parent } => {
            dotted_key(parent)
        }
    }
}

/// Keys the server reads from the same file (`[web]`, `[[remote_write]]`):
/// not unknown, so no warning.
pub(super) fn is_web_key(k: &str) -> bool {
    k == "web"
        || k.starts_with("web.")
        || k == "remote_write"
        || k.starts_with("remote_write[")
        || k.starts_with("remote_write.")
}

/// Sections only the server reads (`[web]`, `[query]`): not unknown keys.
fn is_server_key(k: &str) -> bool {
    is_web_key(k) || k == "query" || k.starts_with("query.")
}

/// Parses engine.toml text over the code defaults and normalises it.
///
/// `path_for_errors` only labels errors and warnings.
pub fn parse_engine_config(
    text: &str,
    path_for_errors: &Path,
) -> Result<(EngineConfig, Vec<ConfigWarning>), ConfigError> {
    let path = path_for_errors;
    let (raw, mut warnings): (RawEngineFile, _) = decode(text, path, is_server_key)?;
    let cfg = normalize_engine(raw, path, &mut warnings)?;
    Ok((cfg, warnings))
}

/// Loads an existing engine.toml (read-only tools); a missing file is an `Io` error.
pub fn load_engine_config(path: &Path) -> Result<(EngineConfig, Vec<ConfigWarning>), ConfigError> {
    let text = fs::read_to_string(path).map_err(|e| io_err(path, e))?;
    if text.trim().is_empty() {
        return Err(ConfigError::Empty {
            path: path.to_path_buf(),
        });
    }
    parse_engine_config(&text, path)
}

/// Loads `<root>/engine.toml`, first creating it from [`DEFAULT_ENGINE_TOML`] if missing.
///
/// Creation is atomic and never overwrites: if another process creates the file
/// concurrently, that file is loaded. The root directory must already exist.
pub fn load_or_create_engine_config(
    root: &Path,
) -> Result<(EngineConfig, Vec<ConfigWarning>), ConfigError> {
    let path = crate::layout::engine_config(root);
    match fs::metadata(&path) {
        Ok(_) => load_engine_config(&path),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            match write_new_file_atomic(&path, DEFAULT_ENGINE_TOML.as_bytes()) {
                Ok(()) => parse_engine_config(DEFAULT_ENGINE_TOML, &path),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => load_engine_config(&path),
                Err(e) => Err(io_err(&path, e)),
            }
        }
        Err(e) => Err(io_err(&path, e)),
    }
}

pub(super) fn is_blank(s: &str) -> bool {
    s.trim().is_empty()
}

pub(super) fn parse_duration_key(path: &Path, key: &str, s: &str) -> Result<i64, ConfigError> {
    parse_go_duration(s.trim()).map_err(|e| invalid(path, key, e))
}

pub(super) fn normalize_engine(
    raw: RawEngineFile,
    path: &Path,
    warnings: &mut Vec<ConfigWarning>,
) -> Result<EngineConfig, ConfigError> {
    let listen = raw
        .engine
        .and_then(|e| e.listen)
        .filter(|s| !is_blank(s))
        .unwrap_or_else(|| DEFAULT_LISTEN.into());

    let wal = normalize_wal(path, raw.wal.unwrap_or_default())?;

    let raw_durability = raw.durability.unwrap_or_default();
    let background_sync = raw_durability.background_sync.unwrap_or(true);
    let durability = match raw_durability.profile.as_deref() {
        None => DurabilityProfile::Strict,
        Some(s) if is_blank(s) => DurabilityProfile::Strict,
        Some("strict") => DurabilityProfile::Strict,
        Some("balanced") => DurabilityProfile::Balanced,
        Some("throughput") => DurabilityProfile::Throughput,
        Some(other) => {
            return Err(invalid(
                path,
                "durability.profile",
                format!("must be \"strict\", \"balanced\" or \"throughput\", got {other:?}"),
            ));
        }
    };

    let m = raw.metrics.unwrap_or_default();
    let compression = match m
        .compression
        .as_deref()
        .map(|s| s.trim().to_ascii_lowercase())
    {
        None => Codec::ZstdFastest,
        Some(s) if s.is_empty() => Codec::ZstdFastest,
        Some(s) => Codec::from_name(&s).ok_or_else(|| {
            invalid(
                path,
                "metrics.compression",
                format!(
                    "must be \"s2\", \"s2_better\", \"zstd_fastest\" or \"zstd_default\", got {s:?}"
                ),
            )
        })?,
    };
    let raw_ingest_action = match m
        .raw_ingest_action
        .as_deref()
        .map(|s| s.trim().to_ascii_lowercase())
        .unwrap_or_default()
        .as_str()
    {
        "" | "keep" => RawIngestAction::Keep,
        "rename" => RawIngestAction::Rename,
        "delete" => RawIngestAction::Delete,
        other => {
            return Err(invalid(
                path,
                "metrics.raw_ingest_action",
                format!("must be \"keep\", \"rename\" or \"delete\", got {other:?}"),
            ));
        }
    };
    let format = match m
        .format
        .as_deref()
        .map(|s| s.trim().to_ascii_lowercase())
        .unwrap_or_default()
        .as_str()
    {
        "" | "v2" => crate::metricfile::Version::V2,
        "v1" => crate::metricfile::Version::V1,
        "v3" => crate::metricfile::Version::V3,
        other => {
            return Err(invalid(
                path,
                "metrics.format",
                format!("must be \"v1\", \"v2\" or \"v3\", got {other:?}"),
            ));
        }
    };
    let time_cache_slots = match m.time_cache_slots {
        Some(v) if v > 0 => usize::try_from(v)
            .map_err(|_| invalid(path, "metrics.time_cache_slots", format!("too large: {v}")))?,
        _ => DEFAULT_TIME_CACHE_SLOTS,
    };
    let metrics = MetricsConfig {
        enabled: m.enabled.unwrap_or(false),
        compression,
        raw_ingest_action,
        format,
        time_cache_slots,
    };

    let loggers = normalize_loggers(raw.logging.and_then(|l| l.logger), path)?;

    let s = raw.stats.unwrap_or_default();
    let interval_ns = non_negative_duration(
        path,
        "stats.interval",
        s.interval,
        DEFAULT_STATS_INTERVAL_NS,
    )?;
    let stats = StatsConfig {
        enabled: s.enabled.unwrap_or(true),
        interval_ns,
    };

    let ingest = normalize_ingest(path, raw.ingest)?;

    let default_databases = raw
        .defaults
        .and_then(|d| d.databases)
        .unwrap_or_default()
        .into_iter()
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty() && n != "internal")
        .collect();

    let manifest_defaults = normalize_manifest_defaults(raw.manifest_defaults, path, warnings)?;

    Ok(EngineConfig {
        listen,
        wal,
        durability,
        background_sync,
        metrics,
        loggers,
        stats,
        ingest,
        default_databases,
        manifest_defaults,
    })
}

/// `[wal]`: the fsync threshold, policy and interval.
fn normalize_wal(path: &Path, wal_raw: RawEngineWal) -> Result<WalConfig, ConfigError> {
    let max_segment_size = match wal_raw.max_segment_size {
        Some(v) if v > 0 => v.unsigned_abs(),
        _ => DEFAULT_MAX_SEGMENT_SIZE,
    };
    let fsync_policy = match wal_raw.fsync_policy.as_deref() {
        None => FsyncPolicy::Segment,
        Some(s) if is_blank(s) => FsyncPolicy::Segment,
        Some("segment") => FsyncPolicy::Segment,
        Some("always") => FsyncPolicy::Always,
        Some("interval") => FsyncPolicy::Interval,
        Some(other) => {
            return Err(invalid(
                path,
                "wal.fsync_policy",
                format!("must be \"segment\", \"always\" or \"interval\", got {other:?}"),
            ));
        }
    };
    let fsync_interval_ns = non_negative_duration(
        path,
        "wal.fsync_interval",
        wal_raw.fsync_interval.clone(),
        DEFAULT_FSYNC_INTERVAL_NS,
    )?;
    if fsync_interval_ns == 0 && fsync_policy == FsyncPolicy::Interval {
        return Err(invalid(
            path,
            "wal.fsync_interval",
            "must be more than 0 with fsync_policy = \"interval\"".to_string(),
        ));
    }

    let checkpoint_interval_ns = non_negative_duration(
        path,
        "wal.checkpoint_interval",
        wal_raw.checkpoint_interval.clone(),
        DEFAULT_CHECKPOINT_INTERVAL_NS,
    )?;

    Ok(WalConfig {
        max_segment_size,
        fsync_policy,
        fsync_interval_ns,
        checkpoint_interval_ns,
    })
}

/// `[ingest]`: the future horizon and the write protocols' default database.
fn normalize_ingest(path: &Path, raw: Option<RawIngest>) -> Result<IngestConfig, ConfigError> {
    let (max_future, window, default_db) = raw.map_or((None, None, None), |i| {
        (i.max_future, i.out_of_order_window, i.default_db)
    });
    let max_future_ns =
        non_negative_duration(path, "ingest.max_future", max_future, DEFAULT_MAX_FUTURE_NS)?;
    let out_of_order_window_ns = non_negative_duration(
        path,
        "ingest.out_of_order_window",
        window,
        DEFAULT_OUT_OF_ORDER_WINDOW_NS,
    )?;
    let default_db = match default_db.map(|d| d.trim().to_string()) {
        None => DEFAULT_INGEST_DB.to_string(),
        Some(d) => {
            crate::names::validate_db_name(&d).map_err(|e| ConfigError::Invalid {
                path: path.to_path_buf(),
                key: "ingest.default_db".into(),
                reason: e.to_string(),
            })?;
            d
        }
    };
    Ok(IngestConfig {
        max_future_ns,
        out_of_order_window_ns,
        default_db,
    })
}

/// A duration key that must be >= 0; missing or blank gives `default`.
fn non_negative_duration(
    path: &Path,
    key: &str,
    value: Option<String>,
    default: i64,
) -> Result<i64, ConfigError> {
    match value.as_deref() {
        None => Ok(default),
        Some(t) if is_blank(t) => Ok(default),
        Some(t) => {
            let v = parse_duration_key(path, key, t)?;
            if v < 0 {
                let name = key.rsplit('.').next().unwrap_or(key);
                let section = key.split('.').next().unwrap_or(key);
                return Err(invalid(
                    path,
                    key,
                    format!("{section}_{name} must be >= 0, got {t:?}"),
                ));
            }
            Ok(v)
        }
    }
}

pub(super) fn normalize_loggers(
    raw: Option<Vec<RawLogger>>,
    path: &Path,
) -> Result<Vec<LoggerConfig>, ConfigError> {
    let raw = raw.unwrap_or_default();
    if raw.is_empty() {
        return Ok(vec![default_logger()]);
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut consoles = 0usize;
    for (i, l) in raw.into_iter().enumerate() {
        let output = l.output.unwrap_or_default().trim().to_string();
        if output.is_empty() {
            return Err(invalid(
                path,
                format!("logging.logger[{i}].output"),
                "must not be empty",
            ));
        }
        let level_text = l.level.unwrap_or_default().trim().to_ascii_lowercase();
        let level = match level_text.as_str() {
            "" | "info" => LogLevel::Info,
            "debug" => LogLevel::Debug,
            "trace" => LogLevel::Trace,
            other => {
                return Err(invalid(
                    path,
                    format!("logging.logger[{i}].level"),
                    format!("must be \"info\", \"debug\" or \"trace\", got {other:?}"),
                ));
            }
        };
        if output == "console" {
            consoles += 1;
            if consoles > 1 {
                return Err(invalid(
                    path,
                    format!("logging.logger[{i}].output"),
                    "at most one \"console\" logger is allowed",
                ));
            }
        }
        out.push(LoggerConfig { output, level });
    }
    Ok(out)
}

/// Applies engine.toml's `[manifest_defaults]` over the code defaults, then normalises the
/// result with the manifest rules against the code defaults. Keys are reported with the
/// `manifest_defaults.` prefix.
pub(super) fn normalize_manifest_defaults(
    raw: Option<RawManifestDefaults>,
    path: &Path,
    warnings: &mut Vec<ConfigWarning>,
) -> Result<Manifest, ConfigError> {
    let mut m = code_default_manifest_raw();
    let raw = raw.unwrap_or_default();
    if let Some(r) = raw.retention {
        set(&mut m.retention.grace, r.grace);
        set(&mut m.retention.retention_days, r.retention_days);
        set(&mut m.retention.retention_action, r.retention_action);
        set(&mut m.retention.max_active_days, r.max_active_days);
        set(&mut m.retention.partition, r.partition);
    }
    if let Some(w) = raw.wal {
        set(&mut m.wal.enabled, w.enabled);
        set(&mut m.wal.skip_before, w.skip_before);
    }
    if let Some(p) = raw.page {
        set(&mut m.page.max_records, p.max_records);
        set(&mut m.page.max_bytes, p.max_bytes);
        set(&mut m.page.max_age, p.max_age);
    }
    if let Some(r) = raw.rollups {
        set(&mut m.rollups.enabled, r.enabled);
        set(&mut m.rollups.checkpoint_file, r.checkpoint_file);
        set(&mut m.rollups.default_grace, r.default_grace);
        set(&mut m.rollups.default_interval, r.default_interval);
        set(
            &mut m.rollups.default_destination_db,
            r.default_destination_db,
        );
        m.rollups.default_aggregates = r.default_aggregates;
        m.rollups.global_exclude_patterns = r.global_exclude_patterns;
        m.rollups.jobs = r.jobs;
    }
    normalize_manifest_keyed(
        &m,
        &code_default_manifest(),
        path,
        "manifest_defaults.",
        warnings,
    )
}

pub(super) fn set<T>(dst: &mut T, v: Option<T>) {
    if let Some(v) = v {
        *dst = v;
    }
}
