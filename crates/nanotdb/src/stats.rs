//! Runtime counters of a database (flushes, fsyncs, WAL activity).

use serde::Serialize;

/// Counters since the engine opened the database.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct DbCounters {
    /// Samples accepted by ingest.
    pub samples_ingested: u64,
    /// WAL records appended by ingest.
    pub wal_appends: u64,
    /// Bytes appended to the WAL by ingest.
    pub wal_bytes_written: u64,
    /// fsyncs of the WAL.
    pub wal_fsyncs: u64,
    /// Times the WAL was truncated to empty.
    pub wal_resets: u64,
    /// Times the WAL was rewritten to hold only the still-open pages.
    pub wal_rewrites: u64,
    /// Page flushes.
    pub flushes: u64,
    /// Frames appended to data files.
    pub frames_written: u64,
    /// Bytes of frames appended.
    pub frame_bytes_written: u64,
    /// Samples written in frames.
    pub records_flushed: u64,
    /// fsyncs of data files.
    pub data_fsyncs: u64,
    /// Writes of `catalog.json`.
    pub catalog_writes: u64,
    /// WAL records replayed at open.
    pub replayed_records: u64,
    /// WAL records dropped at replay because a data file already held them.
    pub replay_duplicates_dropped: u64,
    /// Damaged tails cut off data files or the WAL at open.
    pub tails_cut: u64,
    /// Records per page flush.
    pub flush_records: Tally,
    /// Frame bytes (compressed, on disk) per page flush.
    pub flush_frame_bytes: Tally,
    /// Wall time of each page flush (encode + write + fsync), ns.
    pub flush_ns: Tally,
    /// Wall time of each data-file fsync, ns.
    pub data_fsync_ns: Tally,
    /// Wall time of each WAL fsync, ns.
    pub wal_fsync_ns: Tally,
    /// Bytes per write of buffered WAL records to the file ("WAL flush").
    pub wal_write_bytes: Tally,
    /// Time between consecutive WAL writes, ns.
    pub wal_write_interval_ns: Tally,
    /// Wall time of each WAL checkpoint that reset or rewrote the WAL, ns.
    pub wal_checkpoint_ns: Tally,
    /// Last WAL record append, ns since the epoch (0 = never).
    pub last_wal_append_ns: i64,
    /// Last WAL fsync, ns since the epoch (0 = never).
    pub last_wal_fsync_ns: i64,
    /// Last write of buffered WAL records, ns since the epoch (0 = never).
    pub last_wal_write_ns: i64,
}

/// Count, sum, minimum and maximum of an observed quantity (min and max are
/// 0 while `count` is 0).
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Tally {
    /// Observations.
    pub count: u64,
    /// Sum of the observations (saturating).
    pub total: u64,
    /// Smallest observation.
    pub min: u64,
    /// Largest observation.
    pub max: u64,
}

impl Tally {
    /// Adds one observation.
    pub fn record(&mut self, v: u64) {
        if self.count == 0 || v < self.min {
            self.min = v;
        }
        self.max = self.max.max(v);
        self.count += 1;
        self.total = self.total.saturating_add(v);
    }

    /// Adds the elapsed time since `start`, in ns.
    pub fn record_since(&mut self, start: std::time::Instant) {
        self.record(u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX));
    }
}

/// A partition in the open set.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct OpenPartitionStats {
    /// Partition key.
    pub key: String,
    /// Samples in its in-memory page.
    pub page_records: usize,
}

/// Runtime view of one database.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DbStats {
    /// Database name.
    pub database: String,
    /// Registered metrics.
    pub metrics: usize,
    /// Open partitions sorted by key.
    pub open_partitions: Vec<OpenPartitionStats>,
    /// Partitions sealed in this process.
    pub sealed_partitions: Vec<String>,
    /// Current WAL size in bytes.
    pub wal_bytes: u64,
    /// Counters.
    pub counters: DbCounters,
}

/// Name of the database holding the engine's own metrics.
pub const INTERNAL_DB: &str = "internal";

/// The self-metrics of one snapshot, as (metric name, value), named like
/// the reference's (`nanotdb/<db>/wal/append_count`, …) where a figure has
/// a counterpart, plus process figures in place of Go's runtime ones.
pub fn snapshot_metrics(dbs: &[DbStats]) -> Vec<(String, f32)> {
    let mut out = Vec::new();
    for d in dbs {
        let c = &d.counters;
        let p = format!("nanotdb/{}", d.database);
        let mut put = |k: &str, v: u64| out.push((format!("{p}/{k}"), v as f32));
        put("wal/append_count", c.wal_appends);
        put("wal/append_bytes", c.wal_bytes_written);
        put("wal/buffer_bytes", d.wal_bytes);
        put("wal/fsync_count", c.wal_fsyncs);
        put("wal/flush_count", c.wal_resets + c.wal_rewrites);
        put("wal/replay_records", c.replayed_records);
        put("data/flush_count", c.flushes);
        put("data/flush_records", c.records_flushed);
        put("data/flush_compressed_bytes", c.frame_bytes_written);
        put("data/fsync_count", c.data_fsyncs);
        put("ingest/samples", c.samples_ingested);
        put(
            "open_pages",
            d.open_partitions
                .iter()
                .filter(|p| p.page_records > 0)
                .count() as u64,
        );
    }
    if let Some(rss) = process_rss_bytes() {
        out.push(("nanotdb/runtime/rss_bytes".into(), rss as f32));
    }
    let tc = crate::metricfile::cache::global_cache();
    out.push((
        "nanotdb/metric_file/time_cache_entries".into(),
        tc.len() as f32,
    ));
    out.push((
        "nanotdb/metric_file/time_cache_bytes".into(),
        tc.bytes() as f32,
    ));
    out
}

/// Resident set size of this process (Linux `/proc/self/statm`).
#[allow(unsafe_code)] // sysconf, the only way to the page size without a dependency
pub fn process_rss_bytes() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = text.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf has no memory-safety preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    Some(pages * u64::try_from(page).ok()?)
}

/// The in-memory page of one open partition, as the engine view API shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct OpenPageStats {
    /// Partition key.
    pub key: String,
    /// False when the partition is open but holds no page.
    pub has_page: bool,
    /// Records in the page.
    pub records: u64,
    /// Distinct metric ids in the page.
    pub unique_metrics: u64,
    /// Estimated payload bytes (14 per record, the `[page].max_bytes` measure).
    pub value_bytes: u64,
    /// Smallest timestamp in the page.
    pub start_ts: i64,
    /// Largest timestamp in the page.
    pub end_ts: i64,
    /// `[page].max_records` in effect.
    pub max_records: u64,
    /// `[page].max_bytes` in effect.
    pub max_bytes: u64,
    /// `[page].max_age` in effect, ns.
    pub max_age_ns: i64,
    /// Wall time since the page was created, ns.
    pub age_ns: i64,
    /// Whether the page meets a flush limit (it is flushed at the end of the
    /// current batch or by the idle flusher).
    pub full: bool,
    /// Whether at least one record of the page went through the WAL.
    pub logged: bool,
}
