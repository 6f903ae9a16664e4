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
//!   `u16`, and the reference's wrap-around produces unreadable frames (FORMATS §3.5 \[hazard\]).
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
    /// Aggregate names, lower-cased, from the built-in aggregate registry (not canonicalised).
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

mod glob;
mod load_engine;
mod manifest;
#[cfg(test)]
mod tests;
mod write;

pub use glob::*;
pub use load_engine::*;
pub use manifest::*;
pub use write::*;
