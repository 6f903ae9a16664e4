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
