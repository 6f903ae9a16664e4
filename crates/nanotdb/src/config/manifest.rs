//! Loading and normalising `manifest.toml`, including rollup jobs.

use super::*;

// ---------------------------------------------------------------------------------------------
// Manifest loading
// ---------------------------------------------------------------------------------------------

/// Reads a manifest's raw values (no defaults, no validation) for `inspect db`.
pub fn read_raw_manifest(path: &Path) -> Result<RawManifestView, ConfigError> {
    let text = fs::read_to_string(path).map_err(|e| io_err(path, e))?;
    let (raw, _warnings) = decode::<RawManifestView>(&text, path, |_| false)?;
    Ok(raw)
}

/// Parses manifest text and normalises it against the engine's `manifest_defaults`.
pub fn parse_manifest(
    text: &str,
    defaults: &Manifest,
    path_for_errors: &Path,
) -> Result<(Manifest, Vec<ConfigWarning>), ConfigError> {
    let (raw, mut warnings) = decode::<RawManifestView>(text, path_for_errors, |_| false)?;
    let m = normalize_manifest_keyed(&raw, defaults, path_for_errors, "", &mut warnings)?;
    Ok((m, warnings))
}

/// Loads `<db>/manifest.toml` and normalises it against the engine's `manifest_defaults`.
pub fn load_manifest(
    path: &Path,
    defaults: &Manifest,
) -> Result<(Manifest, Vec<ConfigWarning>), ConfigError> {
    let text = fs::read_to_string(path).map_err(|e| io_err(path, e))?;
    parse_manifest(&text, defaults, path)
}

/// Normalises raw manifest values against `defaults` (docs/FORMATS.md §6.3, docs/BEHAVIOUR.md §1.2).
pub fn normalize_manifest(
    raw: &RawManifestView,
    defaults: &Manifest,
    path_for_errors: &Path,
) -> Result<(Manifest, Vec<ConfigWarning>), ConfigError> {
    let mut warnings = Vec::new();
    let m = normalize_manifest_keyed(raw, defaults, path_for_errors, "", &mut warnings)?;
    Ok((m, warnings))
}

pub(super) fn positive_u32(
    v: i64,
    fallback: u32,
    path: &Path,
    key: String,
) -> Result<u32, ConfigError> {
    if v <= 0 {
        return Ok(fallback);
    }
    u32::try_from(v).map_err(|_| invalid(path, key, format!("too large: {v}")))
}

pub(super) fn normalize_manifest_keyed(
    raw: &RawManifestView,
    d: &Manifest,
    path: &Path,
    prefix: &str,
    warnings: &mut Vec<ConfigWarning>,
) -> Result<Manifest, ConfigError> {
    let k = |s: &str| format!("{prefix}{s}");

    // [retention]
    let r = &raw.retention;
    let grace_ns = if is_blank(&r.grace) {
        d.retention.grace_ns
    } else {
        parse_duration_key(path, &k("retention.grace"), &r.grace)?
    };
    let retention_days = positive_u32(
        r.retention_days,
        d.retention.retention_days,
        path,
        k("retention.retention_days"),
    )?;
    let max_active_days = positive_u32(
        r.max_active_days,
        d.retention.max_active_days,
        path,
        k("retention.max_active_days"),
    )?;
    let action = match r.retention_action.trim().to_ascii_lowercase().as_str() {
        "" => d.retention.action,
        "keep" => RetentionAction::Keep,
        "delete" => RetentionAction::Delete,
        "archive" => RetentionAction::Archive,
        other => {
            return Err(invalid(
                path,
                k("retention.retention_action"),
                format!("must be \"keep\", \"delete\" or \"archive\", got {other:?}"),
            ));
        }
    };
    let partition = if is_blank(&r.partition) {
        d.retention.partition
    } else {
        let t = r.partition.trim().to_ascii_lowercase();
        t.parse::<PartitionMode>().map_err(|_| {
            invalid(
                path,
                k("retention.partition"),
                format!("must be \"day\", \"month\", \"year\" or \"forever\", got {t:?}"),
            )
        })?
    };
    if action == RetentionAction::Archive && partition == PartitionMode::Forever {
        return Err(invalid(
            path,
            k("retention.retention_action"),
            "\"archive\" cannot be used with partition = \"forever\"",
        ));
    }

    // [wal]
    let skip_before_ns = if is_blank(&raw.wal.skip_before) {
        d.wal.skip_before_ns
    } else {
        parse_duration_key(path, &k("wal.skip_before"), &raw.wal.skip_before)?
    };

    // [page]
    let p = &raw.page;
    let max_records = if p.max_records <= 0 {
        d.page.max_records.min(MAX_PAGE_RECORDS)
    } else if p.max_records > i64::from(MAX_PAGE_RECORDS) {
        warnings.push(ConfigWarning {
            path: path.to_path_buf(),
            key: k("page.max_records"),
            kind: ConfigWarningKind::Capped {
                given: p.max_records,
                used: i64::from(MAX_PAGE_RECORDS),
            },
        });
        MAX_PAGE_RECORDS
    } else {
        // In range 1..=65535 by the branches above.
        u32::try_from(p.max_records).unwrap_or(MAX_PAGE_RECORDS)
    };
    let max_bytes = if p.max_bytes <= 0 {
        d.page.max_bytes
    } else {
        p.max_bytes.unsigned_abs()
    };
    let mut max_age_ns = if is_blank(&p.max_age) {
        d.page.max_age_ns
    } else {
        parse_duration_key(path, &k("page.max_age"), &p.max_age)?
    };
    if max_age_ns <= 0 {
        max_age_ns = PAGE_MAX_AGE_FLOOR_NS;
    }

    let rollups = normalize_rollups(&raw.rollups, &d.rollups, path, prefix)?;

    Ok(Manifest {
        retention: RetentionConfig {
            grace_ns,
            retention_days,
            action,
            max_active_days,
            partition,
        },
        wal: ManifestWal {
            enabled: raw.wal.enabled,
            skip_before_ns,
        },
        page: PageConfig {
            max_records,
            max_bytes,
            max_age_ns,
        },
        rollups,
    })
}

pub(super) fn non_empty_list(v: &Option<Vec<String>>) -> Option<&Vec<String>> {
    v.as_ref().filter(|l| !l.is_empty())
}

pub(super) fn lower_list(v: &[String]) -> Vec<String> {
    v.iter().map(|s| s.trim().to_ascii_lowercase()).collect()
}

/// `[rollups]`: fallbacks always applied; validation (and jobs) only when enabled. A
/// disabled section with an unparsable default duration keeps the engine default instead.
pub(super) fn normalize_rollups(
    r: &RawRollupsView,
    d: &RollupsConfig,
    path: &Path,
    prefix: &str,
) -> Result<RollupsConfig, ConfigError> {
    let k = |s: &str| format!("{prefix}{s}");
    let enabled = r.enabled;
    let checkpoint_file = if !is_blank(&r.checkpoint_file) {
        r.checkpoint_file.clone()
    } else if !is_blank(&d.checkpoint_file) {
        d.checkpoint_file.clone()
    } else {
        DEFAULT_CHECKPOINT_FILE.to_string()
    };
    let opt_duration = |text: &str, key: &str, fallback: Option<i64>| {
        if is_blank(text) {
            return Ok(fallback);
        }
        match parse_go_duration(text.trim()) {
            Ok(v) => Ok(Some(v)),
            Err(e) if enabled => Err(invalid(path, k(key), e)),
            Err(_) => Ok(fallback),
        }
    };
    let default_grace_ns = opt_duration(
        &r.default_grace,
        "rollups.default_grace",
        d.default_grace_ns,
    )?;
    let default_interval_ns = opt_duration(
        &r.default_interval,
        "rollups.default_interval",
        d.default_interval_ns,
    )?;
    let default_destination_db = if is_blank(&r.default_destination_db) {
        d.default_destination_db.clone()
    } else {
        r.default_destination_db.trim().to_string()
    };
    let default_aggregates = match non_empty_list(&r.default_aggregates) {
        Some(l) => lower_list(l),
        None => d.default_aggregates.clone(),
    };
    let global_exclude_patterns = match non_empty_list(&r.global_exclude_patterns) {
        Some(l) => l.clone(),
        None => d.global_exclude_patterns.clone(),
    };

    let mut jobs = Vec::new();
    if enabled {
        for (i, p) in global_exclude_patterns.iter().enumerate() {
            validate_glob(p).map_err(|e| {
                invalid(path, k(&format!("rollups.global_exclude_patterns[{i}]")), e)
            })?;
        }
        let ctx = JobDefaults {
            default_interval_ns,
            default_destination_db: &default_destination_db,
            default_aggregates: &default_aggregates,
        };
        for (i, j) in r.jobs.iter().flatten().enumerate() {
            jobs.push(normalize_job(
                j,
                &ctx,
                path,
                &k(&format!("rollups.jobs[{i}].")),
            )?);
        }
    }

    Ok(RollupsConfig {
        enabled,
        checkpoint_file,
        default_grace_ns,
        default_interval_ns,
        default_destination_db,
        default_aggregates,
        global_exclude_patterns,
        jobs,
    })
}

pub(super) struct JobDefaults<'a> {
    default_interval_ns: Option<i64>,
    default_destination_db: &'a str,
    default_aggregates: &'a [String],
}

pub(super) fn normalize_job(
    j: &RawJobView,
    ctx: &JobDefaults<'_>,
    path: &Path,
    prefix: &str,
) -> Result<RollupJob, ConfigError> {
    let k = |s: &str| format!("{prefix}{s}");
    let id = j.id.trim().to_string();
    if id.is_empty() {
        return Err(invalid(path, k("id"), "is required"));
    }
    let metric = j.source_metric.trim();
    let pattern = j.source_pattern.trim();
    let (source_metric, source_pattern) = match (metric.is_empty(), pattern.is_empty()) {
        (false, true) => (Some(metric.to_string()), None),
        (true, false) => {
            validate_glob(pattern).map_err(|e| invalid(path, k("source_pattern"), e))?;
            (None, Some(pattern.to_string()))
        }
        (true, true) => {
            return Err(invalid(
                path,
                k("source_metric"),
                "one of source_metric or source_pattern is required",
            ));
        }
        (false, false) => {
            return Err(invalid(
                path,
                k("source_metric"),
                "source_metric and source_pattern are mutually exclusive",
            ));
        }
    };
    let exclude_patterns = j.exclude_patterns.clone().unwrap_or_default();
    for (i, p) in exclude_patterns.iter().enumerate() {
        validate_glob(p).map_err(|e| invalid(path, k(&format!("exclude_patterns[{i}]")), e))?;
    }
    let interval_ns = if is_blank(&j.interval) {
        ctx.default_interval_ns.ok_or_else(|| {
            invalid(
                path,
                k("interval"),
                "is required (neither the job nor rollups.default_interval sets it)",
            )
        })?
    } else {
        parse_duration_key(path, &k("interval"), &j.interval)?
    };
    let (aggregates, agg_key) = match non_empty_list(&j.aggregates) {
        Some(l) => (lower_list(l), k("aggregates")),
        None if !ctx.default_aggregates.is_empty() => (
            ctx.default_aggregates.to_vec(),
            // The offending list is the manifest-wide default.
            prefix
                .split("jobs[")
                .next()
                .map_or_else(String::new, str::to_string)
                + "default_aggregates",
        ),
        None => (
            DEFAULT_JOB_AGGREGATES
                .iter()
                .map(|s| s.to_string())
                .collect(),
            k("aggregates"),
        ),
    };
    for (i, a) in aggregates.iter().enumerate() {
        // One list of names: the aggregate registry's built-ins.
        let registry = crate::aggregate::default_aggregators();
        if registry.get(a).is_none() {
            return Err(invalid(
                path,
                format!("{agg_key}[{i}]"),
                format!(
                    "unknown aggregate {a:?} (allowed: {})",
                    registry.names().join(", ")
                ),
            ));
        }
    }
    let destination_db = if is_blank(&j.destination_db) {
        ctx.default_destination_db.trim().to_string()
    } else {
        j.destination_db.trim().to_string()
    };
    if destination_db.is_empty() {
        return Err(invalid(
            path,
            k("destination_db"),
            "is required (neither the job nor rollups.default_destination_db sets it)",
        ));
    }
    let destination_metric_prefix = if !is_blank(&j.destination_metric_prefix) {
        j.destination_metric_prefix.trim().to_string()
    } else {
        source_metric.clone().unwrap_or_default()
    };
    let grace_ns = if is_blank(&j.grace) {
        None
    } else {
        Some(parse_duration_key(path, &k("grace"), &j.grace)?)
    };
    Ok(RollupJob {
        id,
        source_metric,
        source_pattern,
        exclude_patterns,
        interval_ns,
        aggregates,
        destination_db,
        destination_metric_prefix,
        grace_ns,
    })
}
