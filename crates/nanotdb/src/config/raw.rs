//! Raw file structures: `manifest.toml` as written on disk, no defaults applied.

use super::*;

/// Raw `manifest.toml` values as written in the file, no defaults applied (for `inspect db`).
///
/// Deserialises from the on-disk snake_case keys into an all-zero structure (the reference's
/// decoding); serialises with the reference's capitalised Go field names for JSON output.
/// Absent lists serialise as `null`, like Go nil slices.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RawManifestView {
    /// `[retention]`.
    #[serde(rename(serialize = "Retention", deserialize = "retention"))]
    pub retention: RawRetentionView,
    /// `[wal]`.
    #[serde(rename(serialize = "WAL", deserialize = "wal"))]
    pub wal: RawWalView,
    /// `[page]`.
    #[serde(rename(serialize = "Page", deserialize = "page"))]
    pub page: RawPageView,
    /// `[rollups]`.
    #[serde(rename(serialize = "Rollups", deserialize = "rollups"))]
    pub rollups: RawRollupsView,
}

/// Raw `[retention]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RawRetentionView {
    /// `grace`.
    #[serde(rename(serialize = "Grace", deserialize = "grace"))]
    pub grace: String,
    /// `retention_days`.
    #[serde(rename(serialize = "RetentionDays", deserialize = "retention_days"))]
    pub retention_days: i64,
    /// `retention_action`.
    #[serde(rename(serialize = "RetentionAction", deserialize = "retention_action"))]
    pub retention_action: String,
    /// `max_active_days`.
    #[serde(rename(serialize = "MaxActiveDays", deserialize = "max_active_days"))]
    pub max_active_days: i64,
    /// `partition`.
    #[serde(rename(serialize = "Partition", deserialize = "partition"))]
    pub partition: String,
}

/// Raw `[wal]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RawWalView {
    /// `enabled` (absent = false).
    #[serde(rename(serialize = "Enabled", deserialize = "enabled"))]
    pub enabled: bool,
    /// `skip_before`.
    #[serde(rename(serialize = "SkipBefore", deserialize = "skip_before"))]
    pub skip_before: String,
}

/// Raw `[page]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RawPageView {
    /// `max_records`.
    #[serde(rename(serialize = "MaxRecords", deserialize = "max_records"))]
    pub max_records: i64,
    /// `max_bytes`.
    #[serde(rename(serialize = "MaxBytes", deserialize = "max_bytes"))]
    pub max_bytes: i64,
    /// `max_age`.
    #[serde(rename(serialize = "MaxAge", deserialize = "max_age"))]
    pub max_age: String,
}

/// Raw `[rollups]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RawRollupsView {
    /// `enabled` (absent = false).
    #[serde(rename(serialize = "Enabled", deserialize = "enabled"))]
    pub enabled: bool,
    /// `checkpoint_file`.
    #[serde(rename(serialize = "CheckpointFile", deserialize = "checkpoint_file"))]
    pub checkpoint_file: String,
    /// `default_grace`.
    #[serde(rename(serialize = "DefaultGrace", deserialize = "default_grace"))]
    pub default_grace: String,
    /// `default_interval`.
    #[serde(rename(serialize = "DefaultInterval", deserialize = "default_interval"))]
    pub default_interval: String,
    /// `default_destination_db`.
    #[serde(rename(
        serialize = "DefaultDestinationDB",
        deserialize = "default_destination_db"
    ))]
    pub default_destination_db: String,
    /// `default_aggregates`.
    #[serde(rename(serialize = "DefaultAggregates", deserialize = "default_aggregates"))]
    pub default_aggregates: Option<Vec<String>>,
    /// `global_exclude_patterns`.
    #[serde(rename(
        serialize = "GlobalExcludePatterns",
        deserialize = "global_exclude_patterns"
    ))]
    pub global_exclude_patterns: Option<Vec<String>>,
    /// `[[rollups.jobs]]`.
    #[serde(rename(serialize = "Jobs", deserialize = "jobs"))]
    pub jobs: Option<Vec<RawJobView>>,
}

/// Raw `[[rollups.jobs]]` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RawJobView {
    /// `id`.
    #[serde(rename(serialize = "ID", deserialize = "id"))]
    pub id: String,
    /// `source_metric`.
    #[serde(rename(serialize = "SourceMetric", deserialize = "source_metric"))]
    pub source_metric: String,
    /// `source_pattern`.
    #[serde(rename(serialize = "SourcePattern", deserialize = "source_pattern"))]
    pub source_pattern: String,
    /// `exclude_patterns`.
    #[serde(rename(serialize = "ExcludePatterns", deserialize = "exclude_patterns"))]
    pub exclude_patterns: Option<Vec<String>>,
    /// `interval`.
    #[serde(rename(serialize = "Interval", deserialize = "interval"))]
    pub interval: String,
    /// `aggregates`.
    #[serde(rename(serialize = "Aggregates", deserialize = "aggregates"))]
    pub aggregates: Option<Vec<String>>,
    /// `destination_db`.
    #[serde(rename(serialize = "DestinationDB", deserialize = "destination_db"))]
    pub destination_db: String,
    /// `destination_metric_prefix`.
    #[serde(rename(
        serialize = "DestinationMetricPrefix",
        deserialize = "destination_metric_prefix"
    ))]
    pub destination_metric_prefix: String,
    /// `grace`.
    #[serde(rename(serialize = "Grace", deserialize = "grace"))]
    pub grace: String,
}

// engine.toml raw structs: every key optional because the file is decoded over code defaults.

#[derive(Debug, Default, Deserialize)]
pub(crate) struct RawEngineFile {
    pub(crate) engine: Option<RawEngineSection>,
    pub(crate) wal: Option<RawEngineWal>,
    pub(crate) durability: Option<RawDurability>,
    pub(crate) metrics: Option<RawMetrics>,
    pub(crate) logging: Option<RawLogging>,
    pub(crate) stats: Option<RawStats>,
    pub(crate) ingest: Option<RawIngest>,
    pub(crate) defaults: Option<RawDefaults>,
    pub(crate) manifest_defaults: Option<RawManifestDefaults>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct RawEngineSection {
    pub(crate) listen: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct RawEngineWal {
    pub(crate) max_segment_size: Option<i64>,
    pub(crate) fsync_policy: Option<String>,
    pub(crate) fsync_interval: Option<String>,
    pub(crate) checkpoint_interval: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct RawDurability {
    pub(crate) profile: Option<String>,
    pub(crate) background_sync: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct RawMetrics {
    pub(crate) enabled: Option<bool>,
    pub(crate) compression: Option<String>,
    pub(crate) raw_ingest_action: Option<String>,
    pub(crate) format: Option<String>,
    pub(crate) time_cache_slots: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct RawLogging {
    pub(crate) logger: Option<Vec<RawLogger>>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct RawLogger {
    pub(crate) output: Option<String>,
    pub(crate) level: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct RawStats {
    pub(crate) enabled: Option<bool>,
    pub(crate) interval: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct RawIngest {
    pub(crate) max_future: Option<String>,
    pub(crate) out_of_order_window: Option<String>,
    pub(crate) default_db: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct RawDefaults {
    pub(crate) databases: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct RawManifestDefaults {
    pub(crate) retention: Option<RawRetentionOpt>,
    pub(crate) wal: Option<RawWalOpt>,
    pub(crate) page: Option<RawPageOpt>,
    pub(crate) rollups: Option<RawRollupsOpt>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct RawRetentionOpt {
    pub(crate) grace: Option<String>,
    pub(crate) retention_days: Option<i64>,
    pub(crate) retention_action: Option<String>,
    pub(crate) max_active_days: Option<i64>,
    pub(crate) partition: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct RawWalOpt {
    pub(crate) enabled: Option<bool>,
    pub(crate) skip_before: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct RawPageOpt {
    pub(crate) max_records: Option<i64>,
    pub(crate) max_bytes: Option<i64>,
    pub(crate) max_age: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct RawRollupsOpt {
    pub(crate) enabled: Option<bool>,
    pub(crate) checkpoint_file: Option<String>,
    pub(crate) default_grace: Option<String>,
    pub(crate) default_interval: Option<String>,
    pub(crate) default_destination_db: Option<String>,
    pub(crate) default_aggregates: Option<Vec<String>>,
    pub(crate) global_exclude_patterns: Option<Vec<String>>,
    pub(crate) jobs: Option<Vec<RawJobView>>,
}
