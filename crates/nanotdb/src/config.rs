//! `engine.toml` and `manifest.toml` (FORMATS §6, BEHAVIOUR §1.1, §1.2, §1.16, §1.19).
//!
//! Two layers are kept apart on purpose:
//! * *raw file* structs mirror the on-disk keys exactly (all-`Option` for engine.toml, because
//!   it is decoded over code defaults; zero-default for manifest.toml, because the reference
//!   decodes it into an all-zero structure where absent booleans are `false`);
//! * *normalised* structs ([`EngineConfig`], [`Manifest`]) hold typed, validated values with
//!   every fallback applied, so the rest of the engine never re-checks a string.
//!
//! Choices made where the spec leaves room (all documented on the items):
//! * A missing `engine.toml` is created from [`DEFAULT_ENGINE_TOML`] *verbatim* (with comments
//!   and a commented `[web]` example), atomically and without overwriting, instead of the
//!   reference's comment-less re-encoding. Values are identical.
//! * Unknown keys are not silently ignored: they are returned as [`ConfigWarning`]s (except the
//!   server-owned `[web]` table of engine.toml).
//! * `page.max_records > 65535` is capped to 65535 with a warning: the frame record count is a
//!   `u16`, and the reference's wrap-around produces unreadable frames (FORMATS §3.5 [hazard]).
//! * `page.max_age ≤ 0` is normalised to 10 s, the value the reference behaves as.
//! * Durations are written in compact Go syntax (trailing zero units dropped: `5m`, `1h`,
//!   `6h`), and exactly one minute is written `60s`, so a fresh manifest is byte-identical to
//!   the reference's. Every form written is valid Go duration syntax.
//! * Manifests are written atomically (tmp + fsync + link/rename + dir fsync) and never
//!   overwrite an existing file.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::time::{PartitionMode, format_go_duration};

/// Go duration parsing with the error as text, as the config errors embed it.
fn parse_go_duration(s: &str) -> Result<i64, String> {
    crate::time::parse_go_duration(s).map_err(|e| e.to_string())
}

const NS_PER_SEC: i64 = 1_000_000_000;
/// Largest record count a frame header can carry (u16 count field, FORMATS §3.2).
pub const MAX_PAGE_RECORDS: u32 = 65_535;
/// Name of the rollup checkpoint file when neither manifest nor engine defaults set one.
pub const DEFAULT_CHECKPOINT_FILE: &str = "rollup.checkpoints.log";
/// Aggregates used by a rollup job when neither the job nor `default_aggregates` lists any.
pub const DEFAULT_JOB_AGGREGATES: [&str; 5] = ["min", "max", "sum", "avg", "count"];
/// Aggregate names a rollup job may list (FORMATS §6.3).
pub const ALLOWED_AGGREGATES: [&str; 11] = [
    "avg",
    "count",
    "max",
    "median",
    "min",
    "p50",
    "p95",
    "p99",
    "sum",
    "trimmed_avg",
    "trimmed_average",
];

// ---------------------------------------------------------------------------------------------
// Errors and warnings
// ---------------------------------------------------------------------------------------------

/// Failure to read, parse or validate a configuration file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// TOML syntax or type error; `message` carries line/column.
    #[error("parse {}: {message}", path.display())]
    Parse {
        /// File being parsed.
        path: PathBuf,
        /// toml's message prefixed with `line L, column C`.
        message: String,
    },
    /// A value that parsed but is not acceptable; `key` is the full dotted key.
    #[error("invalid {}: {key}: {reason}", path.display())]
    Invalid {
        /// File holding the value.
        path: PathBuf,
        /// Full dotted key, e.g. `wal.fsync_policy` or `rollups.jobs[1].interval`.
        key: String,
        /// Why it was rejected.
        reason: String,
    },
    /// Reading or writing a file failed (`AlreadyExists` when refusing to overwrite).
    #[error("{}: {source}", path.display())]
    Io {
        /// File involved.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: io::Error,
    },
}

/// What a [`ConfigWarning`] is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigWarningKind {
    /// A key or table the loader does not know (probably a typo); it was ignored.
    UnknownKey,
    /// A value was out of the supported range and was replaced by `used`.
    Capped {
        /// Value in the file.
        given: i64,
        /// Value the engine will use.
        used: i64,
    },
}

/// A non-fatal problem in a configuration file; callers should log it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigWarning {
    /// File holding the key.
    pub path: PathBuf,
    /// Full dotted key.
    pub key: String,
    /// What is wrong.
    pub kind: ConfigWarningKind,
}

impl fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ConfigWarningKind::UnknownKey => {
                write!(f, "unknown key {:?} in {}", self.key, self.path.display())
            }
            ConfigWarningKind::Capped { given, used } => write!(
                f,
                "{} = {given} in {} is out of range; using {used}",
                self.key,
                self.path.display()
            ),
        }
    }
}

fn invalid(path: &Path, key: impl Into<String>, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        path: path.to_path_buf(),
        key: key.into(),
        reason: reason.into(),
    }
}

fn io_err(path: &Path, source: io::Error) -> ConfigError {
    ConfigError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn parse_err(path: &Path, text: &str, e: &toml::de::Error) -> ConfigError {
    let message = match e.span() {
        Some(span) => {
            let (line, col) = line_col(text, span.start);
            format!("line {line}, column {col}: {}", e.message())
        }
        None => e.message().to_string(),
    };
    ConfigError::Parse {
        path: path.to_path_buf(),
        message,
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut end = offset.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let before = &text[..end];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

// ---------------------------------------------------------------------------------------------
// Small typed enums
// ---------------------------------------------------------------------------------------------

/// `[wal].fsync_policy` (FORMATS §4.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FsyncPolicy {
    /// fsync only once the WAL byte counter reaches `max_segment_size`, and before a reset.
    Segment,
    /// fsync after every appended record.
    Always,
}

impl FsyncPolicy {
    /// Config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            FsyncPolicy::Segment => "segment",
            FsyncPolicy::Always => "always",
        }
    }
}

/// `durability.profile` (FORMATS §6.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DurabilityProfile {
    /// fsync data files and write the catalog after every frame.
    Strict,
    /// fsync data files; catalog deferred.
    Balanced,
    /// neither; both deferred.
    Throughput,
}

impl DurabilityProfile {
    /// Config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            DurabilityProfile::Strict => "strict",
            DurabilityProfile::Balanced => "balanced",
            DurabilityProfile::Throughput => "throughput",
        }
    }

    /// Whether a data file is fsynced after each appended frame.
    pub fn fsync_data(self) -> bool {
        matches!(
            self,
            DurabilityProfile::Strict | DurabilityProfile::Balanced
        )
    }

    /// Whether the catalog is written (if dirty) after each frame rather than deferred.
    pub fn write_catalog_per_frame(self) -> bool {
        matches!(self, DurabilityProfile::Strict)
    }
}

/// Metric-file block codec (FORMATS §2); the id is stored in every metric-file frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// S2 block, default encoder.
    S2 = 1,
    /// S2 block, "better" encoder.
    S2Better = 2,
    /// One zstd frame, fastest level.
    ZstdFastest = 3,
    /// One zstd frame, default level.
    ZstdDefault = 4,
}

impl Codec {
    /// On-disk codec id.
    pub fn id(self) -> u8 {
        self as u8
    }

    /// Config name.
    pub fn name(self) -> &'static str {
        match self {
            Codec::S2 => "s2",
            Codec::S2Better => "s2_better",
            Codec::ZstdFastest => "zstd_fastest",
            Codec::ZstdDefault => "zstd_default",
        }
    }

    /// Codec for an on-disk id; `None` for unknown ids (readers reject those frames).
    pub fn from_id(id: u8) -> Option<Codec> {
        match id {
            1 => Some(Codec::S2),
            2 => Some(Codec::S2Better),
            3 => Some(Codec::ZstdFastest),
            4 => Some(Codec::ZstdDefault),
            _ => None,
        }
    }

    /// Codec for a config name (trimmed, case-insensitive, as the config loader accepts).
    pub fn from_name(name: &str) -> Option<Codec> {
        match name.trim().to_ascii_lowercase().as_str() {
            "s2" => Some(Codec::S2),
            "s2_better" => Some(Codec::S2Better),
            "zstd_fastest" => Some(Codec::ZstdFastest),
            "zstd_default" => Some(Codec::ZstdDefault),
            _ => None,
        }
    }
}

/// `metrics.raw_ingest_action`: what happens to `data-<p>.dat` after a metric-file build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RawIngestAction {
    /// Leave the raw file in place.
    Keep,
    /// Rename it to `raw-<p>.dat`.
    Rename,
    /// Delete it.
    Delete,
}

impl RawIngestAction {
    /// Config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            RawIngestAction::Keep => "keep",
            RawIngestAction::Rename => "rename",
            RawIngestAction::Delete => "delete",
        }
    }
}

/// Logger threshold; ordering trace < debug < info (BEHAVIOUR §1.19).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LogLevel {
    /// Most verbose.
    Trace,
    /// Flushes, resets, rollup runs.
    Debug,
    /// Default.
    Info,
}

impl LogLevel {
    /// Config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Trace => "trace",
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
        }
    }
}

/// `retention.retention_action` (FORMATS §10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RetentionAction {
    /// Never expire partitions.
    Keep,
    /// Delete expired partition files.
    Delete,
    /// Move expired partition files into archive buckets.
    Archive,
}

impl RetentionAction {
    /// Config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            RetentionAction::Keep => "keep",
            RetentionAction::Delete => "delete",
            RetentionAction::Archive => "archive",
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Normalised structures
// ---------------------------------------------------------------------------------------------

/// Normalised `engine.toml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineConfig {
    /// HTTP bind address (server only).
    pub listen: String,
    /// `[wal]`.
    pub wal: WalConfig,
    /// `durability.profile`.
    pub durability: DurabilityProfile,
    /// `[metrics]`.
    pub metrics: MetricsConfig,
    /// `[[logging.logger]]`; never empty after normalisation.
    pub loggers: Vec<LoggerConfig>,
    /// `[stats]`.
    pub stats: StatsConfig,
    /// `defaults.databases`, trimmed, without blanks and `internal`.
    pub default_databases: Vec<String>,
    /// `[manifest_defaults]`: fallbacks for every manifest and the content of new ones.
    pub manifest_defaults: Manifest,
}

/// `[wal]` of engine.toml.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalConfig {
    /// fsync threshold of the `segment` policy, bytes.
    pub max_segment_size: u64,
    /// When the WAL is fsynced.
    pub fsync_policy: FsyncPolicy,
}

/// `[metrics]` of engine.toml.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsConfig {
    /// Build metric files automatically when a partition is sealed.
    pub enabled: bool,
    /// Codec for metric-file frames.
    pub compression: Codec,
    /// Fate of the raw file after a build.
    pub raw_ingest_action: RawIngestAction,
    /// Capacity of the in-process decoded time-frame cache.
    pub time_cache_slots: usize,
}

/// One `[[logging.logger]]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggerConfig {
    /// `console` (stderr) or a file path opened for append.
    pub output: String,
    /// Threshold.
    pub level: LogLevel,
}

/// `[stats]` of engine.toml.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsConfig {
    /// Emit self-metrics into `internal`.
    pub enabled: bool,
    /// Minimum time between emissions in ns; 0 = every ingest.
    pub interval_ns: i64,
}

/// Normalised `manifest.toml` (also the engine's `manifest_defaults`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// `[retention]`.
    pub retention: RetentionConfig,
    /// `[wal]`.
    pub wal: ManifestWal,
    /// `[page]`.
    pub page: PageConfig,
    /// `[rollups]`.
    pub rollups: RollupsConfig,
}

/// `[retention]` of a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionConfig {
    /// `grace` in ns; only the last fallback of rollup grace.
    pub grace_ns: i64,
    /// Partitions older than this many days (judged by partition start) expire.
    pub retention_days: u32,
    /// What expiry does.
    pub action: RetentionAction,
    /// Number of simultaneously open partitions.
    pub max_active_days: u32,
    /// Partition granularity.
    pub partition: PartitionMode,
}

/// `[wal]` of a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestWal {
    /// Absent in the file means `false` (reference quirk kept: BEHAVIOUR §1.2).
    pub enabled: bool,
    /// Samples older than now − this are not logged; ≤ 0 logs everything.
    pub skip_before_ns: i64,
}

/// `[page]` of a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageConfig {
    /// Flush when the page holds this many records. Capped at [`MAX_PAGE_RECORDS`] because
    /// the frame's record count is a u16 (the reference does not cap and writes bad frames).
    pub max_records: u32,
    /// Flush when 14 × records ≥ this.
    pub max_bytes: u64,
    /// Flush when the page is this old (wall clock); a file value ≤ 0 becomes 10 s.
    pub max_age_ns: i64,
}

/// `[rollups]` of a manifest. When `enabled` is false, `jobs` is always empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollupsConfig {
    /// Rollups run for this source database.
    pub enabled: bool,
    /// Checkpoint file name, relative to the database directory.
    pub checkpoint_file: String,
    /// `default_grace`; `None` when unset.
    pub default_grace_ns: Option<i64>,
    /// `default_interval`; `None` when unset.
    pub default_interval_ns: Option<i64>,
    /// Fallback destination database of jobs.
    pub default_destination_db: String,
    /// Fallback aggregates of jobs (trimmed, lower-cased; may be empty).
    pub default_aggregates: Vec<String>,
    /// Globs excluded from every pattern job.
    pub global_exclude_patterns: Vec<String>,
    /// Validated jobs with their fallbacks applied.
    pub jobs: Vec<RollupJob>,
}

/// One validated `[[rollups.jobs]]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollupJob {
    /// Job id (trimmed, non-empty; not necessarily unique).
    pub id: String,
    /// Explicit source metric (exactly one of this and `source_pattern` is `Some`).
    pub source_metric: Option<String>,
    /// Source glob.
    pub source_pattern: Option<String>,
    /// Globs excluded from this pattern job.
    pub exclude_patterns: Vec<String>,
    /// Period length in ns (job value or `default_interval`); ≤ 0 jobs never run.
    pub interval_ns: i64,
    /// Aggregate names, lower-cased, from [`ALLOWED_AGGREGATES`] (not canonicalised).
    pub aggregates: Vec<String>,
    /// Destination database (job value or `default_destination_db`).
    pub destination_db: String,
    /// Output prefix; for explicit jobs defaults to the source metric, for pattern jobs empty
    /// means "the matched metric's name".
    pub destination_metric_prefix: String,
    /// The job's own grace; `None` falls back to `default_grace`, then `retention.grace`.
    pub grace_ns: Option<i64>,
}

// ---------------------------------------------------------------------------------------------
// Raw file structures
// ---------------------------------------------------------------------------------------------

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
struct RawEngineFile {
    engine: Option<RawEngineSection>,
    wal: Option<RawEngineWal>,
    durability: Option<RawDurability>,
    metrics: Option<RawMetrics>,
    logging: Option<RawLogging>,
    stats: Option<RawStats>,
    defaults: Option<RawDefaults>,
    manifest_defaults: Option<RawManifestDefaults>,
}

#[derive(Debug, Default, Deserialize)]
struct RawEngineSection {
    listen: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct RawEngineWal {
    max_segment_size: Option<i64>,
    fsync_policy: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct RawDurability {
    profile: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct RawMetrics {
    enabled: Option<bool>,
    compression: Option<String>,
    raw_ingest_action: Option<String>,
    time_cache_slots: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
struct RawLogging {
    logger: Option<Vec<RawLogger>>,
}

#[derive(Debug, Default, Deserialize)]
struct RawLogger {
    output: Option<String>,
    level: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct RawStats {
    enabled: Option<bool>,
    interval: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct RawDefaults {
    databases: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
struct RawManifestDefaults {
    retention: Option<RawRetentionOpt>,
    wal: Option<RawWalOpt>,
    page: Option<RawPageOpt>,
    rollups: Option<RawRollupsOpt>,
}

#[derive(Debug, Default, Deserialize)]
struct RawRetentionOpt {
    grace: Option<String>,
    retention_days: Option<i64>,
    retention_action: Option<String>,
    max_active_days: Option<i64>,
    partition: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct RawWalOpt {
    enabled: Option<bool>,
    skip_before: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct RawPageOpt {
    max_records: Option<i64>,
    max_bytes: Option<i64>,
    max_age: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct RawRollupsOpt {
    enabled: Option<bool>,
    checkpoint_file: Option<String>,
    default_grace: Option<String>,
    default_interval: Option<String>,
    default_destination_db: Option<String>,
    default_aggregates: Option<Vec<String>>,
    global_exclude_patterns: Option<Vec<String>>,
    jobs: Option<Vec<RawJobView>>,
}

// ---------------------------------------------------------------------------------------------
// Defaults
// ---------------------------------------------------------------------------------------------

const DEFAULT_LISTEN: &str = ":8428";
const DEFAULT_MAX_SEGMENT_SIZE: u64 = 64 * 1024 * 1024;
const DEFAULT_TIME_CACHE_SLOTS: usize = 256;
const DEFAULT_STATS_INTERVAL_NS: i64 = 30 * NS_PER_SEC;
const PAGE_MAX_AGE_FLOOR_NS: i64 = 10 * NS_PER_SEC;

/// The code defaults of `manifest_defaults` (used for keys engine.toml omits); the page
/// values are the reference's code constants 12000 / 256 KiB / 10 s, not the template's.
fn code_default_manifest_raw() -> RawManifestView {
    RawManifestView {
        retention: RawRetentionView {
            grace: "5m".into(),
            retention_days: 30,
            retention_action: "keep".into(),
            max_active_days: 2,
            partition: "day".into(),
        },
        wal: RawWalView {
            enabled: true,
            skip_before: "1h".into(),
        },
        page: RawPageView {
            max_records: 12_000,
            max_bytes: 262_144,
            max_age: "10s".into(),
        },
        rollups: RawRollupsView {
            enabled: false,
            checkpoint_file: DEFAULT_CHECKPOINT_FILE.into(),
            ..RawRollupsView::default()
        },
    }
}

/// Normalised form of [`code_default_manifest_raw`]: the fallbacks for `manifest_defaults`.
fn code_default_manifest() -> Manifest {
    Manifest {
        retention: RetentionConfig {
            grace_ns: 5 * 60 * NS_PER_SEC,
            retention_days: 30,
            action: RetentionAction::Keep,
            max_active_days: 2,
            partition: PartitionMode::Day,
        },
        wal: ManifestWal {
            enabled: true,
            skip_before_ns: 3600 * NS_PER_SEC,
        },
        page: PageConfig {
            max_records: 12_000,
            max_bytes: 262_144,
            max_age_ns: PAGE_MAX_AGE_FLOOR_NS,
        },
        rollups: RollupsConfig {
            enabled: false,
            checkpoint_file: DEFAULT_CHECKPOINT_FILE.into(),
            default_grace_ns: None,
            default_interval_ns: None,
            default_destination_db: String::new(),
            default_aggregates: Vec::new(),
            global_exclude_patterns: Vec::new(),
            jobs: Vec::new(),
        },
    }
}

/// The configuration a fresh install gets: the values of [`DEFAULT_ENGINE_TOML`].
///
/// Useful for embedding the engine without a file. A test asserts it equals the parsed
/// template.
pub fn default_engine_config() -> EngineConfig {
    let mut manifest_defaults = code_default_manifest();
    manifest_defaults.page = PageConfig {
        max_records: 16_000,
        max_bytes: 127_000,
        max_age_ns: 60 * NS_PER_SEC,
    };
    EngineConfig {
        listen: DEFAULT_LISTEN.into(),
        wal: WalConfig {
            max_segment_size: DEFAULT_MAX_SEGMENT_SIZE,
            fsync_policy: FsyncPolicy::Segment,
        },
        durability: DurabilityProfile::Strict,
        metrics: MetricsConfig {
            enabled: false,
            compression: Codec::ZstdFastest,
            raw_ingest_action: RawIngestAction::Keep,
            time_cache_slots: DEFAULT_TIME_CACHE_SLOTS,
        },
        loggers: vec![default_logger()],
        stats: StatsConfig {
            enabled: true,
            interval_ns: DEFAULT_STATS_INTERVAL_NS,
        },
        default_databases: Vec::new(),
        manifest_defaults,
    }
}

fn default_logger() -> LoggerConfig {
    LoggerConfig {
        output: "console".into(),
        level: LogLevel::Info,
    }
}

/// Template written to `<root>/engine.toml` when it is missing. Its values are exactly the
/// reference's shipped template values; unlike the reference we keep the comments.
pub const DEFAULT_ENGINE_TOML: &str = r#"# NanoTDB engine configuration.
# Durations use Go syntax ("250ms", "30s", "5m", "1h30m"); there is no "d" unit.
# A key that is left out keeps the built-in default.

[engine]
  # HTTP bind address of the server.
  listen = ":8428"

[wal]
  # With fsync_policy = "segment", the WAL is fsynced after an append only once it holds at
  # least this many bytes (and just before each truncation). It does not limit WAL size.
  max_segment_size = 67108864
  # "segment" or "always" (fsync after every record). Case-sensitive.
  fsync_policy = "segment"

[durability]
  # "strict": fsync data files and write the catalog after every frame;
  # "balanced": fsync data files, defer the catalog; "throughput": defer both.
  profile = "strict"

[metrics]
  # Build query-optimised metric files when a partition is sealed.
  enabled = false
  # Metric-file codec: "s2", "s2_better", "zstd_fastest" or "zstd_default".
  compression = "zstd_fastest"
  # What to do with data-<partition>.dat after a build: "keep", "rename" or "delete".
  raw_ingest_action = "keep"
  # Capacity of the in-memory cache of decoded time frames.
  time_cache_slots = 256

[logging]

  # output: "console" (stderr, at most one) or a file path opened for append.
  # level: "info", "debug" or "trace".
  [[logging.logger]]
    output = "console"
    level = "info"

[stats]
  # Periodic self-metrics into the "internal" database.
  enabled = true
  # Minimum time between two emissions; "0s" emits on every ingest.
  interval = "30s"

[defaults]
  # Databases opened (and created) at startup.
  databases = []

# Values copied into the manifest.toml of every new database, and used as fallbacks for
# keys a manifest leaves empty or <= 0.
[manifest_defaults]
  [manifest_defaults.retention]
    # Only used as the last fallback for rollup grace.
    grace = "5m"
    # Partitions whose start is older than this many days expire (see retention_action).
    retention_days = 30
    # "keep", "delete" or "archive" ("archive" is not allowed with partition = "forever").
    retention_action = "keep"
    # Number of partitions open at the same time.
    max_active_days = 2
    # "day", "month", "year" or "forever".
    partition = "day"
  [manifest_defaults.wal]
    enabled = true
    # Samples older than now minus this are not written to the WAL; "0s" logs everything.
    skip_before = "1h"
  [manifest_defaults.page]
    # A page is written as one frame when any limit is reached (max_records at most 65535).
    max_records = 16000
    max_bytes = 127000
    max_age = "60s"
  [manifest_defaults.rollups]
    enabled = false
    checkpoint_file = "rollup.checkpoints.log"
    default_grace = ""
    default_interval = ""
    default_destination_db = ""
    default_aggregates = []
    global_exclude_patterns = []

# The [web] section is read by the server only.
# [web]
#   enabled = true
#   base_path = "/dashboard"
#   explore_path = "/explore"
#   engine_path = "/engine"
#   title = "NanoTDB Dashboard"
#   refresh_seconds = 10
#   dashboard_config = "dashboard.json"
#   web_root = ""
#   api_base_url = ""
"#;

// ---------------------------------------------------------------------------------------------
// Engine config loading
// ---------------------------------------------------------------------------------------------

/// Decodes TOML into `T`, collecting unknown keys (minus those `skip` accepts) as warnings.
fn decode<T: serde::de::DeserializeOwned>(
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
fn dotted_key(p: &serde_ignored::Path<'_>) -> String {
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

fn is_web_key(k: &str) -> bool {
    k == "web" || k.starts_with("web.")
}

/// Parses engine.toml text over the code defaults and normalises it.
///
/// `path_for_errors` only labels errors and warnings.
pub fn parse_engine_config(
    text: &str,
    path_for_errors: &Path,
) -> Result<(EngineConfig, Vec<ConfigWarning>), ConfigError> {
    let path = path_for_errors;
    let (raw, mut warnings): (RawEngineFile, _) = decode(text, path, is_web_key)?;
    let cfg = normalize_engine(raw, path, &mut warnings)?;
    Ok((cfg, warnings))
}

/// Loads an existing engine.toml (read-only tools); a missing file is an `Io` error.
pub fn load_engine_config(path: &Path) -> Result<(EngineConfig, Vec<ConfigWarning>), ConfigError> {
    let text = fs::read_to_string(path).map_err(|e| io_err(path, e))?;
    parse_engine_config(&text, path)
}

/// Loads `<root>/engine.toml`, first creating it from [`DEFAULT_ENGINE_TOML`] if missing.
///
/// Creation is atomic and never overwrites: if another process creates the file
/// concurrently, that file is loaded. The root directory must already exist.
pub fn load_or_create_engine_config(
    root: &Path,
) -> Result<(EngineConfig, Vec<ConfigWarning>), ConfigError> {
    let path = root.join("engine.toml");
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

fn is_blank(s: &str) -> bool {
    s.trim().is_empty()
}

fn parse_duration_key(path: &Path, key: &str, s: &str) -> Result<i64, ConfigError> {
    parse_go_duration(s.trim()).map_err(|e| invalid(path, key, e))
}

fn normalize_engine(
    raw: RawEngineFile,
    path: &Path,
    warnings: &mut Vec<ConfigWarning>,
) -> Result<EngineConfig, ConfigError> {
    let listen = raw
        .engine
        .and_then(|e| e.listen)
        .filter(|s| !is_blank(s))
        .unwrap_or_else(|| DEFAULT_LISTEN.into());

    let wal_raw = raw.wal.unwrap_or_default();
    let max_segment_size = match wal_raw.max_segment_size {
        Some(v) if v > 0 => v.unsigned_abs(),
        _ => DEFAULT_MAX_SEGMENT_SIZE,
    };
    let fsync_policy = match wal_raw.fsync_policy.as_deref() {
        None => FsyncPolicy::Segment,
        Some(s) if is_blank(s) => FsyncPolicy::Segment,
        Some("segment") => FsyncPolicy::Segment,
        Some("always") => FsyncPolicy::Always,
        Some(other) => {
            return Err(invalid(
                path,
                "wal.fsync_policy",
                format!("must be \"segment\" or \"always\", got {other:?}"),
            ));
        }
    };

    let durability = match raw.durability.and_then(|d| d.profile).as_deref() {
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
    let time_cache_slots = match m.time_cache_slots {
        Some(v) if v > 0 => usize::try_from(v)
            .map_err(|_| invalid(path, "metrics.time_cache_slots", format!("too large: {v}")))?,
        _ => DEFAULT_TIME_CACHE_SLOTS,
    };
    let metrics = MetricsConfig {
        enabled: m.enabled.unwrap_or(false),
        compression,
        raw_ingest_action,
        time_cache_slots,
    };

    let loggers = normalize_loggers(raw.logging.and_then(|l| l.logger), path)?;

    let s = raw.stats.unwrap_or_default();
    let interval_ns = match s.interval.as_deref() {
        None => DEFAULT_STATS_INTERVAL_NS,
        Some(t) if is_blank(t) => DEFAULT_STATS_INTERVAL_NS,
        Some(t) => {
            let v = parse_duration_key(path, "stats.interval", t)?;
            if v < 0 {
                return Err(invalid(
                    path,
                    "stats.interval",
                    format!("stats_interval must be >= 0, got {t:?}"),
                ));
            }
            v
        }
    };
    let stats = StatsConfig {
        enabled: s.enabled.unwrap_or(true),
        interval_ns,
    };

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
        wal: WalConfig {
            max_segment_size,
            fsync_policy,
        },
        durability,
        metrics,
        loggers,
        stats,
        default_databases,
        manifest_defaults,
    })
}

fn normalize_loggers(
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
fn normalize_manifest_defaults(
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

fn set<T>(dst: &mut T, v: Option<T>) {
    if let Some(v) = v {
        *dst = v;
    }
}

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

/// Normalises raw manifest values against `defaults` (FORMATS §6.3, BEHAVIOUR §1.2).
pub fn normalize_manifest(
    raw: &RawManifestView,
    defaults: &Manifest,
    path_for_errors: &Path,
) -> Result<(Manifest, Vec<ConfigWarning>), ConfigError> {
    let mut warnings = Vec::new();
    let m = normalize_manifest_keyed(raw, defaults, path_for_errors, "", &mut warnings)?;
    Ok((m, warnings))
}

fn positive_u32(v: i64, fallback: u32, path: &Path, key: String) -> Result<u32, ConfigError> {
    if v <= 0 {
        return Ok(fallback);
    }
    u32::try_from(v).map_err(|_| invalid(path, key, format!("too large: {v}")))
}

fn normalize_manifest_keyed(
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

fn non_empty_list(v: &Option<Vec<String>>) -> Option<&Vec<String>> {
    v.as_ref().filter(|l| !l.is_empty())
}

fn lower_list(v: &[String]) -> Vec<String> {
    v.iter().map(|s| s.trim().to_ascii_lowercase()).collect()
}

/// `[rollups]`: fallbacks always applied; validation (and jobs) only when enabled. A
/// disabled section with an unparsable default duration keeps the engine default instead.
fn normalize_rollups(
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

struct JobDefaults<'a> {
    default_interval_ns: Option<i64>,
    default_destination_db: &'a str,
    default_aggregates: &'a [String],
}

fn normalize_job(
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
        if !ALLOWED_AGGREGATES.contains(&a.as_str()) {
            return Err(invalid(
                path,
                format!("{agg_key}[{i}]"),
                format!(
                    "unknown aggregate {a:?} (allowed: {})",
                    ALLOWED_AGGREGATES.join(", ")
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

// ---------------------------------------------------------------------------------------------
// Globs (Go path.Match syntax)
// ---------------------------------------------------------------------------------------------

/// Checks a path-glob pattern: `*`, `?`, `[...]` classes (`^` negation, `a-z` ranges),
/// `\` escapes. Mirrors Go's `path.Match` `ErrBadPattern` rules.
pub fn validate_glob(pattern: &str) -> Result<(), String> {
    let bad = || format!("syntax error in pattern {pattern:?}");
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        match chars.get(i) {
            Some('\\') => {
                if i + 1 >= chars.len() {
                    return Err(bad());
                }
                i += 2;
            }
            Some('[') => {
                i = parse_class(&chars, i + 1).ok_or_else(bad)?.1;
            }
            _ => i += 1,
        }
    }
    Ok(())
}

/// One class element character; `None` for a bad pattern.
fn class_char(chars: &[char], i: usize) -> Option<(char, usize)> {
    match chars.get(i)? {
        '-' | ']' => None,
        '\\' => chars.get(i + 1).map(|c| (*c, i + 2)),
        c => Some((*c, i + 1)),
    }
}

/// Parses a class body starting after `[`; returns (negated, ranges) and the index after `]`.
#[allow(clippy::type_complexity)]
fn parse_class(chars: &[char], mut i: usize) -> Option<((bool, Vec<(char, char)>), usize)> {
    let mut negated = false;
    if chars.get(i) == Some(&'^') {
        negated = true;
        i += 1;
    }
    let mut ranges = Vec::new();
    loop {
        if chars.get(i) == Some(&']') && !ranges.is_empty() {
            return Some(((negated, ranges), i + 1));
        }
        let (lo, next) = class_char(chars, i)?;
        i = next;
        let mut hi = lo;
        if chars.get(i) == Some(&'-') {
            let (h, next) = class_char(chars, i + 1)?;
            hi = h;
            i = next;
        }
        ranges.push((lo, hi));
    }
}

/// Go `path.Match`: whether `name` matches `pattern`; `*` and `?` never match `/`.
/// A malformed pattern matches nothing.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    if validate_glob(pattern).is_err() {
        return false;
    }
    let p: Vec<char> = pattern.chars().collect();
    let s: Vec<char> = name.chars().collect();
    let mut failed = std::collections::HashSet::new();
    match_here(&p, &s, &mut failed)
}

/// Backtracking matcher over pattern/name suffixes. `failed` memoises suffix pairs (keyed by
/// their remaining lengths) already known not to match, bounding the work to
/// O(|pattern| * |name|) even for patterns with many stars.
fn match_here(
    p: &[char],
    s: &[char],
    failed: &mut std::collections::HashSet<(usize, usize)>,
) -> bool {
    if failed.contains(&(p.len(), s.len())) {
        return false;
    }
    let ok = match_step(p, s, failed);
    if !ok {
        failed.insert((p.len(), s.len()));
    }
    ok
}

fn match_step(
    p: &[char],
    s: &[char],
    failed: &mut std::collections::HashSet<(usize, usize)>,
) -> bool {
    let Some((&c, p_rest)) = p.split_first() else {
        return s.is_empty();
    };
    match c {
        '*' => {
            let mut k = 0;
            loop {
                if match_here(p_rest, s.get(k..).unwrap_or(&[]), failed) {
                    return true;
                }
                match s.get(k) {
                    Some(&ch) if ch != '/' => k += 1,
                    _ => return false,
                }
            }
        }
        '?' => match s.split_first() {
            Some((&ch, s_rest)) if ch != '/' => match_here(p_rest, s_rest, failed),
            _ => false,
        },
        '[' => {
            let Some(((negated, ranges), next)) = parse_class(p, 1) else {
                return false;
            };
            let Some((&ch, s_rest)) = s.split_first() else {
                return false;
            };
            let hit = ranges.iter().any(|&(lo, hi)| lo <= ch && ch <= hi);
            hit != negated && match_here(p.get(next..).unwrap_or(&[]), s_rest, failed)
        }
        '\\' => match (p_rest.split_first(), s.split_first()) {
            (Some((&pc, p2)), Some((&ch, s_rest))) if pc == ch => match_here(p2, s_rest, failed),
            _ => false,
        },
        _ => match s.split_first() {
            Some((&ch, s_rest)) if ch == c => match_here(p_rest, s_rest, failed),
            _ => false,
        },
    }
}

// ---------------------------------------------------------------------------------------------
// Writing manifests
// ---------------------------------------------------------------------------------------------

/// Compact Go duration: `format_go_duration` with trailing zero units dropped (`5m`, `1h`,
/// `1h30m`), except that exactly one minute is written `60s` like the shipped template. All
/// outputs parse back to the same value with Go's `time.ParseDuration`.
pub fn format_duration_compact(ns: i64) -> String {
    if ns == 60 * NS_PER_SEC {
        return "60s".to_string();
    }
    let mut s = format_go_duration(ns);
    if s.ends_with("m0s") {
        s.truncate(s.len() - 2);
        if s.ends_with("h0m") {
            s.truncate(s.len() - 2);
        }
    }
    s
}

/// TOML basic string with escapes.
fn toml_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\u{:04X}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn toml_list(v: &[String]) -> String {
    let items: Vec<String> = v.iter().map(|s| toml_str(s)).collect();
    format!("[{}]", items.join(", "))
}

fn opt_duration_str(v: Option<i64>) -> String {
    v.map(format_duration_compact).unwrap_or_default()
}

/// Encodes a normalised manifest in the reference's layout (byte-identical to the reference
/// for a fresh install). Empty lists and absent job lists are omitted.
pub fn manifest_to_toml(m: &Manifest) -> String {
    use std::fmt::Write as _;
    let mut o = String::new();
    let r = &m.retention;
    // Writing into a String cannot fail.
    let _ = write!(
        o,
        "[retention]\n  grace = {}\n  retention_days = {}\n  retention_action = {}\n  \
         max_active_days = {}\n  partition = {}\n\n",
        toml_str(&format_duration_compact(r.grace_ns)),
        r.retention_days,
        toml_str(r.action.as_str()),
        r.max_active_days,
        toml_str(r.partition.as_str()),
    );
    let _ = write!(
        o,
        "[wal]\n  enabled = {}\n  skip_before = {}\n\n",
        m.wal.enabled,
        toml_str(&format_duration_compact(m.wal.skip_before_ns)),
    );
    let _ = write!(
        o,
        "[page]\n  max_records = {}\n  max_bytes = {}\n  max_age = {}\n\n",
        m.page.max_records,
        m.page.max_bytes,
        toml_str(&format_duration_compact(m.page.max_age_ns)),
    );
    let ro = &m.rollups;
    let _ = write!(
        o,
        "[rollups]\n  enabled = {}\n  checkpoint_file = {}\n  default_grace = {}\n  \
         default_interval = {}\n  default_destination_db = {}\n",
        ro.enabled,
        toml_str(&ro.checkpoint_file),
        toml_str(&opt_duration_str(ro.default_grace_ns)),
        toml_str(&opt_duration_str(ro.default_interval_ns)),
        toml_str(&ro.default_destination_db),
    );
    if !ro.default_aggregates.is_empty() {
        let _ = writeln!(
            o,
            "  default_aggregates = {}",
            toml_list(&ro.default_aggregates)
        );
    }
    if !ro.global_exclude_patterns.is_empty() {
        let _ = writeln!(
            o,
            "  global_exclude_patterns = {}",
            toml_list(&ro.global_exclude_patterns)
        );
    }
    for j in &ro.jobs {
        let _ = write!(o, "\n  [[rollups.jobs]]\n    id = {}\n", toml_str(&j.id));
        if let Some(s) = &j.source_metric {
            let _ = writeln!(o, "    source_metric = {}", toml_str(s));
        }
        if let Some(s) = &j.source_pattern {
            let _ = writeln!(o, "    source_pattern = {}", toml_str(s));
        }
        if !j.exclude_patterns.is_empty() {
            let _ = writeln!(
                o,
                "    exclude_patterns = {}",
                toml_list(&j.exclude_patterns)
            );
        }
        let _ = writeln!(
            o,
            "    interval = {}",
            toml_str(&format_duration_compact(j.interval_ns))
        );
        let _ = writeln!(o, "    aggregates = {}", toml_list(&j.aggregates));
        let _ = writeln!(o, "    destination_db = {}", toml_str(&j.destination_db));
        if !j.destination_metric_prefix.is_empty() {
            let _ = writeln!(
                o,
                "    destination_metric_prefix = {}",
                toml_str(&j.destination_metric_prefix)
            );
        }
        if let Some(g) = j.grace_ns {
            let _ = writeln!(o, "    grace = {}", toml_str(&format_duration_compact(g)));
        }
    }
    o
}

/// Manifest of an auto-created rollup destination (FORMATS §6.3): engine defaults with the
/// WAL and rollups off, and `year`/`168h` for intervals ≥ 24 h, else `month`/`6h`.
pub fn rollup_destination_manifest(defaults: &Manifest, interval_ns: i64) -> Manifest {
    let mut m = defaults.clone();
    m.wal.enabled = false;
    m.rollups.enabled = false;
    m.rollups.jobs.clear();
    if interval_ns >= 24 * 3600 * NS_PER_SEC {
        m.retention.partition = PartitionMode::Year;
        m.page.max_age_ns = 168 * 3600 * NS_PER_SEC;
    } else {
        m.retention.partition = PartitionMode::Month;
        m.page.max_age_ns = 6 * 3600 * NS_PER_SEC;
    }
    m
}

/// [`manifest_to_toml`] preceded by the reference's four explanatory comment lines for a
/// rollup destination (the partition/max_age lines describe the values actually written).
pub fn rollup_destination_manifest_toml(m: &Manifest) -> String {
    let (unit, tiny) = match m.retention.partition {
        PartitionMode::Year => ("year", "daily or monthly"),
        _ => (m.retention.partition.as_str(), "daily"),
    };
    format!(
        "# Auto-created rollup destination manifest.\n\
         # WAL is disabled because rollup data is derived from source metrics and can be rebuilt.\n\
         # partition = \"{unit}\" keeps sparse rollup outputs out of many tiny {tiny} files.\n\
         # page.max_age = \"{}\" allows more derived samples to accumulate before flush, reducing tiny pages.\n\n{}",
        format_duration_compact(m.page.max_age_ns),
        manifest_to_toml(m)
    )
}

/// Writes a new manifest atomically (tmp + fsync + link + dir fsync); fails with an `Io`
/// error of kind `AlreadyExists` if `path` exists, so a user's manifest is never replaced.
pub fn write_new_manifest(path: &Path, m: &Manifest) -> Result<(), ConfigError> {
    write_new_file_atomic(path, manifest_to_toml(m).as_bytes()).map_err(|e| io_err(path, e))
}

/// Like [`write_new_manifest`] with explicit text (e.g. a rollup destination's).
pub fn write_new_manifest_text(path: &Path, text: &str) -> Result<(), ConfigError> {
    write_new_file_atomic(path, text.as_bytes()).map_err(|e| io_err(path, e))
}

/// Writes `contents` to a temp file beside `path`, fsyncs it, then publishes it under `path`
/// without ever replacing an existing file (hard link, which fails if `path` exists; falls
/// back to check + rename on filesystems without hard links), and fsyncs the directory.
fn write_new_file_atomic(path: &Path, contents: &[u8]) -> io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp.{}", std::process::id()));
    let tmp = dir.join(tmp_name);
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)?;
        f.write_all(contents)?;
        f.sync_all()?;
        drop(f);
        match fs::hard_link(&tmp, path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(e),
            Err(_) => {
                if fs::symlink_metadata(path).is_ok() {
                    Err(io::Error::new(
                        io::ErrorKind::AlreadyExists,
                        "file already exists",
                    ))
                } else {
                    fs::rename(&tmp, path)
                }
            }
        }
    })();
    let _ = fs::remove_file(&tmp);
    result?;
    if let Ok(d) = File::open(&dir) {
        // Directory fsync is best effort: not every platform allows it.
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURES: &str = "/work/shared/fixtures";

    fn p() -> PathBuf {
        PathBuf::from("/r/engine.toml")
    }

    fn find_files(dir: &Path, name: &str, out: &mut Vec<PathBuf>) {
        let Ok(rd) = fs::read_dir(dir) else { return };
        for e in rd.flatten() {
            let path = e.path();
            if path.is_dir() {
                find_files(&path, name, out);
            } else if path.file_name().is_some_and(|n| n == name) {
                out.push(path);
            }
        }
    }

    fn engine_err(text: &str) -> (String, String) {
        match parse_engine_config(text, &p()) {
            Err(ConfigError::Invalid { key, reason, .. }) => (key, reason),
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    fn manifest_err(text: &str) -> (String, String) {
        let d = default_engine_config().manifest_defaults;
        match parse_manifest(text, &d, Path::new("/r/db/manifest.toml")) {
            Err(ConfigError::Invalid { key, reason, .. }) => (key, reason),
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    fn manifest_ok(text: &str) -> Manifest {
        let d = default_engine_config().manifest_defaults;
        let (m, w) = parse_manifest(text, &d, Path::new("/r/db/manifest.toml")).unwrap();
        assert!(w.is_empty(), "{w:?}");
        m
    }

    const ROLLUP_BASE: &str = "[rollups]\nenabled = true\n";

    #[test]
    fn template_equals_default_engine_config() {
        let (cfg, w) = parse_engine_config(DEFAULT_ENGINE_TOML, &p()).unwrap();
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(cfg, default_engine_config());
    }

    #[test]
    fn fixture_engine_tomls_parse_without_warnings() {
        let mut files = Vec::new();
        find_files(Path::new(FIXTURES), "engine.toml", &mut files);
        assert!(files.len() >= 9, "{files:?}");
        for f in files {
            let (cfg, w) = load_engine_config(&f).unwrap();
            assert!(w.is_empty(), "{f:?}: {w:?}");
            let mut expect = default_engine_config();
            expect.stats.enabled = false; // the fixtures were written with stats off
            expect.manifest_defaults.retention.partition =
                cfg.manifest_defaults.retention.partition;
            assert_eq!(cfg, expect, "{f:?}");
        }
        let (cfg, _) =
            load_engine_config(&Path::new(FIXTURES).join("partitions/root-year/engine.toml"))
                .unwrap();
        assert_eq!(
            cfg.manifest_defaults.retention.partition,
            PartitionMode::Year
        );
    }

    #[test]
    fn fixture_manifests_parse_without_warnings() {
        let mut files = Vec::new();
        find_files(Path::new(FIXTURES), "manifest.toml", &mut files);
        assert!(files.len() >= 16, "{files:?}");
        let d = default_engine_config().manifest_defaults;
        for f in files {
            let (m, w) = load_manifest(&f, &d).unwrap();
            assert!(w.is_empty(), "{f:?}: {w:?}");
            assert_eq!(m.retention.retention_days, 30);
            assert_eq!(m.page.max_records, 16_000);
            assert_eq!(m.page.max_bytes, 127_000);
            let raw = read_raw_manifest(&f).unwrap();
            assert_eq!(raw.retention.grace, "5m");
        }
    }

    #[test]
    fn rollups_fixture_jobs_exact() {
        let d = default_engine_config().manifest_defaults;
        let f = Path::new(FIXTURES).join("rollups/root/edge/manifest.toml");
        let (m, w) = load_manifest(&f, &d).unwrap();
        assert!(w.is_empty());
        let h = 3600 * NS_PER_SEC;
        let r = &m.rollups;
        assert!(r.enabled);
        assert_eq!(r.checkpoint_file, "rollup.checkpoints.log");
        assert_eq!(r.default_grace_ns, Some(5 * 60 * NS_PER_SEC));
        assert_eq!(r.default_interval_ns, Some(h));
        assert_eq!(r.default_destination_db, "edge_1h");
        assert_eq!(r.default_aggregates, ["min", "max", "avg", "sum", "count"]);
        assert_eq!(r.global_exclude_patterns, ["temp.cpu"]);
        assert_eq!(
            r.jobs,
            vec![
                RollupJob {
                    id: "temps_1h".into(),
                    source_metric: None,
                    source_pattern: Some("temp.*".into()),
                    exclude_patterns: vec![],
                    interval_ns: h,
                    aggregates: vec![
                        "min".into(),
                        "max".into(),
                        "avg".into(),
                        "sum".into(),
                        "count".into()
                    ],
                    destination_db: "edge_1h".into(),
                    destination_metric_prefix: String::new(),
                    grace_ns: None,
                },
                RollupJob {
                    id: "load_15m".into(),
                    source_metric: Some("load.1m".into()),
                    source_pattern: None,
                    exclude_patterns: vec![],
                    interval_ns: 15 * 60 * NS_PER_SEC,
                    aggregates: vec!["max".into(), "avg".into()],
                    destination_db: "edge_15m".into(),
                    destination_metric_prefix: "load1".into(),
                    grace_ns: None,
                },
            ]
        );
        // Round trip of a manifest with jobs.
        let text = manifest_to_toml(&m);
        let (m2, w2) = parse_manifest(&text, &d, &f).unwrap();
        assert!(w2.is_empty());
        assert_eq!(m2, m);
    }

    #[test]
    fn destination_fixtures_parse_and_match_generated_text() {
        let (cfg, _) =
            load_engine_config(&Path::new(FIXTURES).join("rollups/root/engine.toml")).unwrap();
        let d = &cfg.manifest_defaults;
        for (db, interval) in [("edge_15m", 15 * 60), ("edge_1h", 3600)] {
            let f = Path::new(FIXTURES).join(format!("rollups/root/{db}/manifest.toml"));
            let (m, _) = load_manifest(&f, d).unwrap();
            assert!(!m.wal.enabled);
            assert_eq!(m.retention.partition, PartitionMode::Month);
            assert_eq!(m.page.max_age_ns, 6 * 3600 * NS_PER_SEC);
            let generated = rollup_destination_manifest(d, interval * NS_PER_SEC);
            assert_eq!(generated, m);
            assert_eq!(
                rollup_destination_manifest_toml(&generated),
                fs::read_to_string(&f).unwrap()
            );
        }
        let y = rollup_destination_manifest(d, 24 * 3600 * NS_PER_SEC);
        assert_eq!(y.retention.partition, PartitionMode::Year);
        assert_eq!(y.page.max_age_ns, 168 * 3600 * NS_PER_SEC);
        assert!(rollup_destination_manifest_toml(&y).contains("page.max_age = \"168h\""));
    }

    #[test]
    fn fresh_manifest_is_byte_identical_to_reference() {
        let expect =
            fs::read_to_string(Path::new(FIXTURES).join("edge-2h/root/edge/manifest.toml"))
                .unwrap();
        assert_eq!(
            manifest_to_toml(&default_engine_config().manifest_defaults),
            expect
        );
    }

    #[test]
    fn missing_engine_toml_is_created_and_reloads_equal() {
        let dir = tempfile::tempdir().unwrap();
        let (cfg, w) = load_or_create_engine_config(dir.path()).unwrap();
        assert!(w.is_empty());
        assert_eq!(cfg, default_engine_config());
        let path = dir.path().join("engine.toml");
        assert_eq!(fs::read_to_string(&path).unwrap(), DEFAULT_ENGINE_TOML);
        let (again, _) = load_or_create_engine_config(dir.path()).unwrap();
        assert_eq!(again, cfg);
        let (third, _) = load_engine_config(&path).unwrap();
        assert_eq!(third, cfg);
        // No temp files left behind.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn existing_engine_toml_is_not_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("engine.toml");
        fs::write(&path, "[metrics]\nenabled = true\n").unwrap();
        let (cfg, _) = load_or_create_engine_config(dir.path()).unwrap();
        assert!(cfg.metrics.enabled);
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            "[metrics]\nenabled = true\n"
        );
    }

    #[test]
    fn load_engine_config_missing_is_io_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = load_engine_config(&dir.path().join("engine.toml")).unwrap_err();
        assert!(
            matches!(&err, ConfigError::Io { source, .. } if source.kind() == io::ErrorKind::NotFound)
        );
    }

    #[test]
    fn empty_engine_file_uses_code_defaults() {
        let (cfg, w) = parse_engine_config("", &p()).unwrap();
        assert!(w.is_empty());
        let mut expect = default_engine_config();
        // Code constants differ from the template for the page limits only.
        expect.manifest_defaults.page = PageConfig {
            max_records: 12_000,
            max_bytes: 262_144,
            max_age_ns: 10 * NS_PER_SEC,
        };
        assert_eq!(cfg, expect);
        // Absent booleans keep code defaults (stats on, manifest WAL on).
        assert!(cfg.stats.enabled);
        assert!(cfg.manifest_defaults.wal.enabled);
    }

    #[test]
    fn engine_fallbacks_for_blank_and_non_positive() {
        let text = "[engine]\nlisten = \" \"\n[wal]\nmax_segment_size = 0\nfsync_policy = \"\"\n\
                    [durability]\nprofile = \"\"\n[metrics]\ncompression = \" S2_Better \"\n\
                    raw_ingest_action = \"RENAME\"\ntime_cache_slots = -3\n\
                    [stats]\ninterval = \"\"\n[defaults]\ndatabases = [\" a \", \"\", \"internal\", \"b\"]\n";
        let (cfg, _) = parse_engine_config(text, &p()).unwrap();
        assert_eq!(cfg.listen, ":8428");
        assert_eq!(cfg.wal.max_segment_size, 67_108_864);
        assert_eq!(cfg.wal.fsync_policy, FsyncPolicy::Segment);
        assert_eq!(cfg.durability, DurabilityProfile::Strict);
        assert_eq!(cfg.metrics.compression, Codec::S2Better);
        assert_eq!(cfg.metrics.raw_ingest_action, RawIngestAction::Rename);
        assert_eq!(cfg.metrics.time_cache_slots, 256);
        assert_eq!(cfg.stats.interval_ns, 30 * NS_PER_SEC);
        assert_eq!(cfg.default_databases, ["a", "b"]);
    }

    #[test]
    fn engine_values_parsed() {
        let text = "[wal]\nfsync_policy = \"always\"\nmax_segment_size = 1024\n\
                    [durability]\nprofile = \"throughput\"\n[stats]\ninterval = \"0s\"\nenabled = false\n\
                    [[logging.logger]]\noutput = \"/tmp/x.log\"\nlevel = \" TRACE \"\n\
                    [[logging.logger]]\noutput = \"console\"\n";
        let (cfg, _) = parse_engine_config(text, &p()).unwrap();
        assert_eq!(cfg.wal.fsync_policy, FsyncPolicy::Always);
        assert_eq!(cfg.wal.max_segment_size, 1024);
        assert_eq!(cfg.durability, DurabilityProfile::Throughput);
        assert!(!cfg.durability.fsync_data());
        assert!(!cfg.durability.write_catalog_per_frame());
        assert_eq!(cfg.stats.interval_ns, 0);
        assert!(!cfg.stats.enabled);
        assert_eq!(
            cfg.loggers,
            vec![
                LoggerConfig {
                    output: "/tmp/x.log".into(),
                    level: LogLevel::Trace
                },
                LoggerConfig {
                    output: "console".into(),
                    level: LogLevel::Info
                },
            ]
        );
    }

    #[test]
    fn engine_validation_errors_name_the_key() {
        let cases: &[(&str, &str)] = &[
            ("[wal]\nfsync_policy = \"sometimes\"", "wal.fsync_policy"),
            ("[wal]\nfsync_policy = \"Segment\"", "wal.fsync_policy"),
            ("[durability]\nprofile = \"Strict\"", "durability.profile"),
            ("[metrics]\ncompression = \"lz4\"", "metrics.compression"),
            (
                "[metrics]\nraw_ingest_action = \"move\"",
                "metrics.raw_ingest_action",
            ),
            ("[stats]\ninterval = \"-1s\"", "stats.interval"),
            ("[stats]\ninterval = \"1d\"", "stats.interval"),
            (
                "[[logging.logger]]\noutput = \" \"",
                "logging.logger[0].output",
            ),
            (
                "[[logging.logger]]\noutput = \"console\"\nlevel = \"warn\"",
                "logging.logger[0].level",
            ),
            (
                "[[logging.logger]]\noutput = \"console\"\n[[logging.logger]]\noutput = \"console\"",
                "logging.logger[1].output",
            ),
            (
                "[manifest_defaults.retention]\npartition = \"week\"",
                "manifest_defaults.retention.partition",
            ),
            (
                "[manifest_defaults.page]\nmax_age = \"x\"",
                "manifest_defaults.page.max_age",
            ),
            (
                "[manifest_defaults.retention]\npartition = \"forever\"\nretention_action = \"archive\"",
                "manifest_defaults.retention.retention_action",
            ),
            (
                "[manifest_defaults.rollups]\nenabled = true\n[[manifest_defaults.rollups.jobs]]\nsource_metric = \"m\"",
                "manifest_defaults.rollups.jobs[0].id",
            ),
        ];
        for (text, key) in cases {
            let (k, _) = engine_err(text);
            assert_eq!(&k, key, "{text}");
        }
    }

    #[test]
    fn invalid_error_display() {
        let err = parse_engine_config("[wal]\nfsync_policy = \"sometimes\"\n", &p()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid /r/engine.toml: wal.fsync_policy: must be \"segment\" or \"always\", got \"sometimes\""
        );
    }

    #[test]
    fn syntax_error_is_parse_with_line_and_column() {
        let err = parse_engine_config("[wal]\nfsync_policy = \n", &p()).unwrap_err();
        match &err {
            ConfigError::Parse { path, message } => {
                assert_eq!(path, &p());
                assert!(message.starts_with("line 2, column "), "{message}");
            }
            other => panic!("{other:?}"),
        }
        assert!(err.to_string().starts_with("parse /r/engine.toml: line 2"));
        // Type mismatch is a parse error too.
        assert!(matches!(
            parse_engine_config("[wal]\nmax_segment_size = \"big\"\n", &p()),
            Err(ConfigError::Parse { .. })
        ));
    }

    #[test]
    fn unknown_keys_warn_but_web_does_not() {
        let text = "[wal]\nfsync_polcy = \"always\"\n[bogus]\nx = 1\n\
                    [web]\nenabled = false\ntitle = \"t\"\n[web.extra]\ny = 2\n";
        let (cfg, w) = parse_engine_config(text, Path::new("/x/engine.toml")).unwrap();
        assert_eq!(cfg.wal.fsync_policy, FsyncPolicy::Segment);
        let keys: Vec<&str> = w.iter().map(|w| w.key.as_str()).collect();
        assert_eq!(keys, ["bogus", "wal.fsync_polcy"]);
        assert_eq!(
            w[1].to_string(),
            "unknown key \"wal.fsync_polcy\" in /x/engine.toml"
        );
        assert_eq!(w[0].kind, ConfigWarningKind::UnknownKey);

        let (_, w) = parse_engine_config(
            "[[logging.logger]]\noutput = \"console\"\ncolour = true\n",
            &p(),
        )
        .unwrap();
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].key, "logging.logger[0].colour");

        let (_, w) = parse_engine_config("[web]\nenabled = true\n", &p()).unwrap();
        assert!(w.is_empty());

        let d = default_engine_config().manifest_defaults;
        let (_, w) = parse_manifest("[page]\nmax_recs = 5\n", &d, Path::new("/m")).unwrap();
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].key, "page.max_recs");
    }

    #[test]
    fn manifest_absent_booleans_are_false_and_blanks_fall_back() {
        let mut defaults = default_engine_config().manifest_defaults;
        defaults.rollups.default_destination_db = "dst".into();
        let (m, _) = parse_manifest("", &defaults, Path::new("/m")).unwrap();
        assert!(!m.wal.enabled);
        assert!(!m.rollups.enabled);
        assert_eq!(m.retention, defaults.retention);
        assert_eq!(m.wal.skip_before_ns, defaults.wal.skip_before_ns);
        assert_eq!(m.page, defaults.page);
        assert_eq!(m.rollups.checkpoint_file, "rollup.checkpoints.log");
        assert_eq!(m.rollups.default_destination_db, "dst");

        let m = manifest_ok(
            "[retention]\nretention_days = 0\nmax_active_days = -1\npartition = \" Month \"\n\
             retention_action = \"DELETE\"\ngrace = \"\"\n[wal]\nenabled = true\nskip_before = \"0s\"\n\
             [page]\nmax_records = -5\nmax_bytes = 0\nmax_age = \"0s\"\n",
        );
        assert!(m.wal.enabled);
        assert_eq!(m.wal.skip_before_ns, 0);
        assert_eq!(m.retention.retention_days, 30);
        assert_eq!(m.retention.max_active_days, 2);
        assert_eq!(m.retention.partition, PartitionMode::Month);
        assert_eq!(m.retention.action, RetentionAction::Delete);
        assert_eq!(m.page.max_records, 16_000);
        assert_eq!(m.page.max_bytes, 127_000);
        assert_eq!(m.page.max_age_ns, 10 * NS_PER_SEC);
    }

    #[test]
    fn manifest_validation_errors_name_the_key() {
        let cases: Vec<(String, &str)> = vec![
            ("[retention]\ngrace = \"5 m\"".into(), "retention.grace"),
            (
                "[retention]\nretention_action = \"purge\"".into(),
                "retention.retention_action",
            ),
            (
                "[retention]\npartition = \"week\"".into(),
                "retention.partition",
            ),
            (
                "[retention]\npartition = \"FOREVER\"\nretention_action = \"Archive\"".into(),
                "retention.retention_action",
            ),
            (
                "[retention]\nretention_days = 9999999999".into(),
                "retention.retention_days",
            ),
            ("[wal]\nskip_before = \"1d\"".into(), "wal.skip_before"),
            ("[page]\nmax_age = \"soon\"".into(), "page.max_age"),
            (
                format!("{ROLLUP_BASE}default_grace = \"x\""),
                "rollups.default_grace",
            ),
            (
                format!("{ROLLUP_BASE}default_interval = \"x\""),
                "rollups.default_interval",
            ),
            (
                format!("{ROLLUP_BASE}global_exclude_patterns = [\"ok\", \"[\"]"),
                "rollups.global_exclude_patterns[1]",
            ),
            (
                format!("{ROLLUP_BASE}[[rollups.jobs]]\nid = \" \"\nsource_metric = \"m\""),
                "rollups.jobs[0].id",
            ),
            (
                format!(
                    "{ROLLUP_BASE}[[rollups.jobs]]\nid = \"j\"\ninterval = \"1h\"\ndestination_db = \"d\""
                ),
                "rollups.jobs[0].source_metric",
            ),
            (
                format!(
                    "{ROLLUP_BASE}[[rollups.jobs]]\nid = \"j\"\nsource_metric = \"m\"\nsource_pattern = \"m*\"\n\
                     interval = \"1h\"\ndestination_db = \"d\""
                ),
                "rollups.jobs[0].source_metric",
            ),
            (
                format!(
                    "{ROLLUP_BASE}[[rollups.jobs]]\nid = \"j\"\nsource_pattern = \"a[b\"\ninterval = \"1h\"\ndestination_db = \"d\""
                ),
                "rollups.jobs[0].source_pattern",
            ),
            (
                format!(
                    "{ROLLUP_BASE}[[rollups.jobs]]\nid = \"j\"\nsource_pattern = \"a*\"\nexclude_patterns = [\"x\\\\\"]\n\
                     interval = \"1h\"\ndestination_db = \"d\""
                ),
                "rollups.jobs[0].exclude_patterns[0]",
            ),
            (
                format!(
                    "{ROLLUP_BASE}[[rollups.jobs]]\nid = \"j\"\nsource_metric = \"m\"\ndestination_db = \"d\""
                ),
                "rollups.jobs[0].interval",
            ),
            (
                format!(
                    "{ROLLUP_BASE}[[rollups.jobs]]\nid = \"j\"\nsource_metric = \"m\"\ninterval = \"1x\"\ndestination_db = \"d\""
                ),
                "rollups.jobs[0].interval",
            ),
            (
                format!(
                    "{ROLLUP_BASE}[[rollups.jobs]]\nid = \"j\"\nsource_metric = \"m\"\ninterval = \"1h\""
                ),
                "rollups.jobs[0].destination_db",
            ),
            (
                format!(
                    "{ROLLUP_BASE}[[rollups.jobs]]\nid = \"j\"\nsource_metric = \"m\"\ninterval = \"1h\"\n\
                     destination_db = \"d\"\naggregates = [\"min\", \"mode\"]"
                ),
                "rollups.jobs[0].aggregates[1]",
            ),
            (
                format!(
                    "{ROLLUP_BASE}default_aggregates = [\"bogus\"]\n[[rollups.jobs]]\nid = \"j\"\nsource_metric = \"m\"\n\
                     interval = \"1h\"\ndestination_db = \"d\""
                ),
                "rollups.default_aggregates[0]",
            ),
            (
                format!(
                    "{ROLLUP_BASE}[[rollups.jobs]]\nid = \"j\"\nsource_metric = \"m\"\ninterval = \"1h\"\n\
                     destination_db = \"d\"\ngrace = \"later\""
                ),
                "rollups.jobs[0].grace",
            ),
        ];
        for (text, key) in &cases {
            let (k, _) = manifest_err(text);
            assert_eq!(&k, key, "{text}");
        }
        let err = parse_manifest(
            "[page]\nmax_age = \"soon\"\n",
            &code_default_manifest(),
            Path::new("/r/db/manifest.toml"),
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("invalid /r/db/manifest.toml: page.max_age: ")
        );
    }

    #[test]
    fn disabled_rollups_are_not_validated_and_drop_jobs() {
        let m = manifest_ok(
            "[rollups]\ndefault_grace = \"x\"\nglobal_exclude_patterns = [\"[\"]\n\
             [[rollups.jobs]]\nid = \"\"\n",
        );
        assert!(!m.rollups.enabled);
        assert!(m.rollups.jobs.is_empty());
        assert_eq!(m.rollups.default_grace_ns, None);
    }

    #[test]
    fn job_fallbacks_values() {
        let m = manifest_ok(&format!(
            "{ROLLUP_BASE}default_interval = \"30m\"\ndefault_destination_db = \"dd\"\n\
             [[rollups.jobs]]\nid = \" j1 \"\nsource_metric = \"cpu\"\naggregates = [\" MAX \", \"P99\"]\ngrace = \"2m\"\n\
             [[rollups.jobs]]\nid = \"j2\"\nsource_pattern = \"net/*\"\nexclude_patterns = [\"net/lo\"]\ninterval = \"24h\"\n"
        ));
        let j = &m.rollups.jobs;
        assert_eq!(j.len(), 2);
        assert_eq!(j[0].id, "j1");
        assert_eq!(j[0].interval_ns, 30 * 60 * NS_PER_SEC);
        assert_eq!(j[0].aggregates, ["max", "p99"]);
        assert_eq!(j[0].destination_db, "dd");
        assert_eq!(j[0].destination_metric_prefix, "cpu");
        assert_eq!(j[0].grace_ns, Some(120 * NS_PER_SEC));
        assert_eq!(j[1].interval_ns, 24 * 3600 * NS_PER_SEC);
        assert_eq!(j[1].aggregates, DEFAULT_JOB_AGGREGATES);
        assert_eq!(j[1].destination_metric_prefix, "");
        assert_eq!(j[1].exclude_patterns, ["net/lo"]);
        // Round trip.
        let d = default_engine_config().manifest_defaults;
        let (m2, _) = parse_manifest(&manifest_to_toml(&m), &d, Path::new("/m")).unwrap();
        assert_eq!(m2, m);
    }

    #[test]
    fn max_records_capped_with_warning() {
        let d = default_engine_config().manifest_defaults;
        let (m, w) = parse_manifest("[page]\nmax_records = 70000\n", &d, Path::new("/m")).unwrap();
        assert_eq!(m.page.max_records, 65_535);
        assert_eq!(
            w,
            vec![ConfigWarning {
                path: PathBuf::from("/m"),
                key: "page.max_records".into(),
                kind: ConfigWarningKind::Capped {
                    given: 70_000,
                    used: 65_535
                },
            }]
        );
        let (m, w) = parse_manifest("[page]\nmax_records = 65535\n", &d, Path::new("/m")).unwrap();
        assert_eq!(m.page.max_records, 65_535);
        assert!(w.is_empty());
        let (cfg, w) =
            parse_engine_config("[manifest_defaults.page]\nmax_records = 100000\n", &p()).unwrap();
        assert_eq!(cfg.manifest_defaults.page.max_records, 65_535);
        assert_eq!(w[0].key, "manifest_defaults.page.max_records");
    }

    #[test]
    fn manifest_round_trip_non_default() {
        let mut m = default_engine_config().manifest_defaults;
        m.retention.grace_ns = 90 * 60 * NS_PER_SEC + 500_000_000;
        m.retention.action = RetentionAction::Archive;
        m.retention.partition = PartitionMode::Year;
        m.wal.enabled = false;
        m.wal.skip_before_ns = -5;
        m.page.max_age_ns = 1_500_000;
        m.rollups.checkpoint_file = "c \"q\".log".into();
        let d = default_engine_config().manifest_defaults;
        let text = manifest_to_toml(&m);
        let (m2, w) = parse_manifest(&text, &d, Path::new("/m")).unwrap();
        assert!(w.is_empty());
        assert_eq!(m2, m);
    }

    #[test]
    fn compact_durations() {
        let cases = [
            (0, "0s"),
            (60 * NS_PER_SEC, "60s"),
            (300 * NS_PER_SEC, "5m"),
            (3600 * NS_PER_SEC, "1h"),
            (5400 * NS_PER_SEC, "1h30m"),
            (3601 * NS_PER_SEC, "1h0m1s"),
            (6 * 3600 * NS_PER_SEC, "6h"),
            (1_500_000_000, "1.5s"),
            (-120 * NS_PER_SEC, "-2m"),
            (100_000_000, "100ms"),
        ];
        for (ns, s) in cases {
            assert_eq!(format_duration_compact(ns), s);
            assert_eq!(parse_go_duration(s), Ok(ns));
        }
    }

    #[test]
    fn write_new_manifest_atomic_and_no_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("manifest.toml");
        let m = default_engine_config().manifest_defaults;
        write_new_manifest(&path, &m).unwrap();
        let (back, _) = load_manifest(&path, &code_default_manifest()).unwrap();
        assert_eq!(back, m);
        let mut other = m.clone();
        other.retention.retention_days = 1;
        let err = write_new_manifest(&path, &other).unwrap_err();
        assert!(
            matches!(&err, ConfigError::Io { source, .. } if source.kind() == io::ErrorKind::AlreadyExists)
        );
        assert_eq!(fs::read_to_string(&path).unwrap(), manifest_to_toml(&m));
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn raw_manifest_view_keeps_file_values_and_serialises_go_names() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("manifest.toml");
        fs::write(
            &path,
            "[retention]\ngrace = \"\"\nretention_days = -1\npartition = \"MONTH\"\n[page]\nmax_age = \"0s\"\n\
             [rollups]\n[[rollups.jobs]]\nid = \"j\"\naggregates = [\"Max\"]\n",
        )
        .unwrap();
        let raw = read_raw_manifest(&path).unwrap();
        assert_eq!(raw.retention.retention_days, -1);
        assert_eq!(raw.retention.partition, "MONTH");
        assert_eq!(raw.page.max_age, "0s");
        assert!(!raw.wal.enabled);
        let json = serde_json::to_value(&raw).unwrap();
        assert_eq!(json["Retention"]["RetentionDays"], -1);
        assert_eq!(json["Page"]["MaxAge"], "0s");
        assert_eq!(json["WAL"]["Enabled"], false);
        assert!(json["Rollups"]["DefaultAggregates"].is_null());
        assert_eq!(json["Rollups"]["Jobs"][0]["ID"], "j");
        assert_eq!(json["Rollups"]["Jobs"][0]["Aggregates"][0], "Max");
        assert_eq!(json["Rollups"]["Jobs"][0]["DestinationDB"], "");
    }

    #[test]
    fn glob_validation_and_matching() {
        for ok in [
            "", "a", "*", "temp.*", "a?c", "[abc]", "[^a-z]x", "\\*", "[\\]]", "net/*/rx",
        ] {
            assert_eq!(validate_glob(ok), Ok(()), "{ok}");
        }
        for bad in ["[", "a[", "[]", "[]a]", "[a-]", "[-a]", "x\\", "[a", "[\\"] {
            assert!(validate_glob(bad).is_err(), "{bad}");
        }
        assert!(glob_match("temp.*", "temp.cpu"));
        assert!(!glob_match("temp.*", "temp/cpu"));
        assert!(!glob_match("*", "a/b"));
        assert!(glob_match("*/*", "a/b"));
        assert!(glob_match("a?c", "abc"));
        assert!(!glob_match("a?c", "a/c"));
        assert!(glob_match("[a-c]x", "bx"));
        assert!(!glob_match("[^a-c]x", "bx"));
        assert!(glob_match("\\*", "*"));
        assert!(!glob_match("\\*", "a"));
        assert!(!glob_match("[", "["));
        assert!(glob_match("load.*m", "load.15m"));
        // Many stars against a long non-matching name stays fast (memoised).
        let name = "a".repeat(200);
        assert!(!glob_match("*a*a*a*a*a*a*a*a*a*a*b", &name));
        assert!(glob_match("*a*a*a*a*a*a*a*a*a*a*", &name));
    }

    #[test]
    fn codec_ids_and_names() {
        for c in [
            Codec::S2,
            Codec::S2Better,
            Codec::ZstdFastest,
            Codec::ZstdDefault,
        ] {
            assert_eq!(Codec::from_id(c.id()), Some(c));
            assert_eq!(Codec::from_name(c.name()), Some(c));
        }
        assert_eq!(Codec::ZstdDefault.id(), 4);
        assert_eq!(Codec::from_id(0), None);
        assert!(DurabilityProfile::Balanced.fsync_data());
        assert!(!DurabilityProfile::Balanced.write_catalog_per_frame());
        assert!(DurabilityProfile::Strict.write_catalog_per_frame());
    }
}
