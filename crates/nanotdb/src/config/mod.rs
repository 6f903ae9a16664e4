//! `engine.toml` and `manifest.toml` (docs/FORMATS.md §6, docs/BEHAVIOUR.md §1.1, docs/BEHAVIOUR.md §1.2, docs/BEHAVIOUR.md §1.16, docs/BEHAVIOUR.md §1.19).
//!
//! Two layers are kept apart on purpose:
//! * *raw file* structs mirror the on-disk keys exactly (all-`Option` for engine.toml, because
//!   it is decoded over code defaults; zero-default for manifest.toml, because the reference
//!   decodes it into an all-zero structure where absent booleans are `false`);
//! * *normalised* structs ([`EngineConfig`], [`Manifest`]) hold typed, validated values with
//!   every fallback applied, so the rest of the engine never re-checks a string.
//!
//! Choices made where v1.4.0's behaviour leaves room (all documented on the items):
//! * A missing `engine.toml` is created from [`DEFAULT_ENGINE_TOML`] *verbatim* (with comments
//!   and a commented `[web]` example), atomically and without overwriting, instead of the
//!   reference's comment-less re-encoding. Values are identical.
//! * Unknown keys are not silently ignored: they are returned as [`ConfigWarning`]s (except the
//!   server-owned `[web]` table of engine.toml).
//! * `page.max_records > 65535` is capped to 65535 with a warning: the frame record count is a
//!   `u16`, and the reference's wrap-around produces unreadable frames (docs/FORMATS.md §3.5 \[hazard\]).
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
/// Largest record count a frame header can carry (u16 count field, docs/FORMATS.md §3.2).
pub const MAX_PAGE_RECORDS: u32 = 65_535;
/// Name of the rollup checkpoint file when neither manifest nor engine defaults set one.
pub const DEFAULT_CHECKPOINT_FILE: &str = "rollup.checkpoints.log";
/// Aggregates used by a rollup job when neither the job nor `default_aggregates` lists any.
pub const DEFAULT_JOB_AGGREGATES: [&str; 5] = ["min", "max", "sum", "avg", "count"];
// ---------------------------------------------------------------------------------------------
// Small typed enums
// ---------------------------------------------------------------------------------------------

/// `[wal].fsync_policy` (docs/FORMATS.md §4.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FsyncPolicy {
    /// fsync only once the WAL byte counter reaches `max_segment_size`, and before a reset.
    Segment,
    /// fsync after every appended record.
    Always,
    /// A background thread fsyncs every WAL holding unsynced records at
    /// least every `[wal].fsync_interval`: writes are acknowledged at once
    /// and a power loss costs at most that interval of them.
    Interval,
}

impl FsyncPolicy {
    /// Config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            FsyncPolicy::Segment => "segment",
            FsyncPolicy::Always => "always",
            FsyncPolicy::Interval => "interval",
        }
    }

    /// The policy for the WAL parts and commit entry of a batch spanning
    /// databases: `interval` fsyncs them before acknowledging, so a commit
    /// entry is never durable without every part (`wal/commit.rs`).
    pub fn for_spanning_batch(self) -> FsyncPolicy {
        match self {
            FsyncPolicy::Interval => FsyncPolicy::Always,
            p => p,
        }
    }
}

/// `durability.profile` (docs/FORMATS.md §6.4).
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

/// Metric-file block codec (docs/FORMATS.md §2); the id is stored in every metric-file frame header.
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

/// Logger threshold; ordering trace < debug < info (docs/BEHAVIOUR.md §1.19).
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

/// `retention.retention_action` (docs/FORMATS.md §10).
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
    /// `durability.background_sync` (this implementation only, default
    /// true): the fsyncs of page flushes and the WAL checkpoints after them
    /// run on the engine's background thread, not in the write that filled
    /// the page; false does them in that write, as v1.4.0.
    pub background_sync: bool,
    /// `[metrics]`.
    pub metrics: MetricsConfig,
    /// `[[logging.logger]]`; never empty after normalisation.
    pub loggers: Vec<LoggerConfig>,
    /// `[stats]`.
    pub stats: StatsConfig,
    /// `[ingest]` (this implementation only; v1.4.0 ignores the section).
    pub ingest: IngestConfig,
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
    /// Period of the `interval` policy's background fsync, ns.
    pub fsync_interval_ns: i64,
    /// `[wal].checkpoint_interval` in ns (this implementation only): how
    /// long the WAL may hold samples of flushed pages before the background
    /// thread checkpoints it (`durability.background_sync`).
    pub checkpoint_interval_ns: i64,
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
    /// Layout of built metric files (`[metrics].format`, default v2; v3
    /// is this implementation's, docs/FORMATS.md §8.9).
    pub format: crate::metricfile::Version,
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

/// `[ingest]` of engine.toml.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestConfig {
    /// Samples more than this many ns ahead of the wall clock are rejected,
    /// so a writer with a wrong clock cannot open (and make the engine seal
    /// around) partitions far in the future; 0 accepts any timestamp, as
    /// v1.4.0 did.
    pub max_future_ns: i64,
    /// Samples up to this many ns older than their series' newest sample
    /// are stored (out of order); older ones are rejected. 0 rejects every
    /// sample older than the newest, as v1.4.0 did.
    pub out_of_order_window_ns: i64,
    /// Database for samples of the write protocols (Prometheus remote write,
    /// Influx line protocol) that name none (no `db` parameter or label).
    pub default_db: String,
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
    /// Absent in the file means `false` (reference quirk kept: docs/BEHAVIOUR.md §1.2).
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

mod defaults;
mod error;
mod glob;
mod load_engine;
mod manifest;
mod raw;
#[cfg(test)]
mod tests;
mod write;

pub use defaults::*;
pub use error::*;
pub use glob::*;
pub use load_engine::*;
pub use manifest::*;
pub use raw::*;
pub use write::*;
