//! Code defaults and the `engine.toml` template.

use super::*;

/// Loopback by default: a fresh box is not reachable from the network until
/// its owner says so (v1.4.0 used `:8428`, every interface).
pub(crate) const DEFAULT_LISTEN: &str = "127.0.0.1:8428";
pub(crate) const DEFAULT_MAX_SEGMENT_SIZE: u64 = 64 * 1024 * 1024;
pub(crate) const DEFAULT_TIME_CACHE_SLOTS: usize = 256;
pub(crate) const DEFAULT_STATS_INTERVAL_NS: i64 = 30 * NS_PER_SEC;
pub(crate) const DEFAULT_MAX_FUTURE_NS: i64 = 3600 * NS_PER_SEC;
/// `[wal].fsync_interval`.
pub(crate) const DEFAULT_FSYNC_INTERVAL_NS: i64 = NS_PER_SEC;
/// `[wal].checkpoint_interval`.
pub(crate) const DEFAULT_CHECKPOINT_INTERVAL_NS: i64 = NS_PER_SEC;
/// `[ingest].out_of_order_window`.
pub(crate) const DEFAULT_OUT_OF_ORDER_WINDOW_NS: i64 = 3600 * NS_PER_SEC;
/// `[ingest].default_db`.
pub(crate) const DEFAULT_INGEST_DB: &str = "metrics";
pub(crate) const PAGE_MAX_AGE_FLOOR_NS: i64 = 10 * NS_PER_SEC;

/// The code defaults of `manifest_defaults` (used for keys engine.toml omits); the page
/// values are the reference's code constants 12000 / 256 KiB / 10 s, not the template's.
pub(crate) fn code_default_manifest_raw() -> RawManifestView {
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
pub(crate) fn code_default_manifest() -> Manifest {
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
            fsync_interval_ns: DEFAULT_FSYNC_INTERVAL_NS,
            checkpoint_interval_ns: DEFAULT_CHECKPOINT_INTERVAL_NS,
        },
        durability: DurabilityProfile::Strict,
        background_sync: true,
        metrics: MetricsConfig {
            enabled: false,
            compression: Codec::ZstdFastest,
            raw_ingest_action: RawIngestAction::Keep,
            format: crate::metricfile::Version::V2,
            time_cache_slots: DEFAULT_TIME_CACHE_SLOTS,
        },
        loggers: vec![default_logger()],
        stats: StatsConfig {
            enabled: true,
            interval_ns: DEFAULT_STATS_INTERVAL_NS,
        },
        ingest: IngestConfig {
            max_future_ns: DEFAULT_MAX_FUTURE_NS,
            out_of_order_window_ns: DEFAULT_OUT_OF_ORDER_WINDOW_NS,
            default_db: DEFAULT_INGEST_DB.to_string(),
        },
        default_databases: Vec::new(),
        manifest_defaults,
    }
}

pub(crate) fn default_logger() -> LoggerConfig {
    LoggerConfig {
        output: "console".into(),
        level: LogLevel::Info,
    }
}

/// Template written to `<root>/engine.toml` when it is missing. Its values are the
/// reference's shipped template values except `listen` (loopback here); unlike the reference
/// we keep the comments.
pub const DEFAULT_ENGINE_TOML: &str = r#"# NanoTDB engine configuration.
# Durations use Go syntax ("250ms", "30s", "5m", "1h30m"); there is no "d" unit.
# A key that is left out keeps the built-in default.

[engine]
  # HTTP bind address of the server: loopback only. To reach it from other machines use
  # "0.0.0.0:8428" (or ":8428", every interface) and set auth_token.
  listen = "127.0.0.1:8428"

[wal]
  # With fsync_policy = "segment", the WAL is fsynced after an append only once it holds at
  # least this many bytes (and just before each truncation). It does not limit WAL size.
  max_segment_size = 67108864
  # "segment", "always" (fsync before a write is acknowledged) or "interval" (a background
  # fsync every fsync_interval: a power loss costs at most that much). Case-sensitive.
  fsync_policy = "segment"
  fsync_interval = "1s"
  # How long the WAL may keep samples of flushed pages before the background thread
  # checkpoints it (durability.background_sync): fewer WAL rewrites, a little more to skip
  # at replay after a crash.
  checkpoint_interval = "1s"

[durability]
  # "strict": fsync data files and write the catalog after every frame;
  # "balanced": fsync data files, defer the catalog; "throughput": defer both.
  profile = "strict"
  # Run those fsyncs, and the WAL checkpoint after each page flush, on a background thread
  # (writes do not wait on the disk; the WAL keeps the samples until the frame is fsynced).
  # false: inside the write that filled the page, as v1.4.0 does.
  background_sync = true

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

[ingest]
  # Samples more than this far ahead of the clock are rejected (a writer with a wrong
  # clock cannot open partitions in the future); "0s" accepts any timestamp, as v1.4.0.
  max_future = "1h"
  # Samples older than their series' newest one are stored when at most this much older
  # (every read returns each series in time order); "0s" rejects them all, as v1.4.0.
  out_of_order_window = "1h"
  # Database for remote-write and Influx samples that name none (no db parameter or label).
  default_db = "metrics"

[defaults]
  # Databases opened (and created) at startup.
  databases = []

# Values copied into the manifest.toml of every new database, and used as fallbacks for
# keys a manifest leaves empty or <= 0.
[manifest_defaults]
  [manifest_defaults.retention]
    # Only used as the last fallback for rollup grace.
    grace = "5m"
    # Partitions whose end is older than this many days (by the wall clock) expire (see
    # retention_action).
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
