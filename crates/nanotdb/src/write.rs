//! What a write is: the samples handed to the engine and what it made of
//! them. Kept apart from the engine so that the code writing on the
//! engine's behalf (rollup passes, through their host interface) shares
//! these types without depending on the engine itself.

use crate::error::Error;
use crate::sample::Value;

/// One sample to write, borrowed.
#[derive(Debug, Clone, Copy)]
pub struct WriteSample<'a> {
    /// Database name.
    pub db: &'a str,
    /// Metric name.
    pub metric: &'a str,
    /// Timestamp, ns since the epoch.
    pub ts: i64,
    /// Value.
    pub value: Value,
}

/// Outcome of a batch write: accepted samples are durable per the WAL
/// policy when this is returned; each rejected one is reported with its index.
#[derive(Debug, Default)]
pub struct WriteReport {
    /// Samples stored.
    pub accepted: u64,
    /// (index in the batch, reason) of each rejected sample.
    pub rejected: Vec<(usize, Error)>,
    /// Samples identical to one already stored (same metric, timestamp and
    /// value), acknowledged without being stored again: a client retrying
    /// a request never doubles data. Not counted in `accepted`.
    pub duplicates: u64,
}

/// How [`Engine::write_with`](crate::Engine::write_with) stores a batch.
/// The default is what [`Engine::write`](crate::Engine::write) does:
/// every good sample stored, each bad one reported, rollups triggered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteOptions {
    /// All or nothing: when any sample would be rejected nothing is
    /// stored and every rejection is reported. The databases involved are
    /// locked (in name order) from the check until the batch is stored, so
    /// the verdict still holds when it is applied. For imports that must be
    /// atomic (the HTTP import routes).
    pub atomic: bool,
    /// Store nothing after the first rejected sample; the samples before
    /// it stay stored (`nanocli import --strict`). Meaningless with
    /// `atomic`, which stores nothing at all then.
    pub stop_at_first_error: bool,
    /// Run the automatic rollup trigger after the batch (when
    /// [`Engine::auto_rollups`](crate::Engine::auto_rollups) is on).
    /// Rollup passes write their outputs with `false`, so that outputs
    /// never re-enter the trigger; an atomic write with `false` also takes
    /// no self-metrics snapshot.
    pub rollups: bool,
    /// Bulk load (`Engine::import_*`): a page flushed by this write does not
    /// fsync its data file, even under the `strict` profile; the files are
    /// synced once when the import ends ([`Engine::sync_deferred`](crate::Engine::sync_deferred)),
    /// or at the next WAL checkpoint that drops records. The samples are
    /// acknowledged only then. Ignored by atomic writes.
    pub bulk: bool,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            atomic: false,
            stop_at_first_error: false,
            rollups: true,
            bulk: false,
        }
    }
}
