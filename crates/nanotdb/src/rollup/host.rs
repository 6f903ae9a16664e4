//! What rollups need from whoever runs them (the engine): the interface
//! through which passes, backfills and the worker read sources and write
//! destinations. Rollups depend on this trait only, so the engine can own
//! them without a dependency cycle.

use std::ops::ControlFlow;
use std::path::Path;
use std::sync::Mutex;

use crate::catalog::MetricInfo;
use crate::config::Manifest;
use crate::database::DbState;
use crate::error::Result;
use crate::sample::Sample;
use crate::write::{WriteReport, WriteSample};

use super::TriggerCache;
use super::worker::Worker;

/// The rollup machinery one engine owns.
#[derive(Debug, Default)]
pub(crate) struct Rollups {
    /// Serialises rollup passes and backfills; holds the per-source
    /// trigger cache.
    pub(crate) cache: Mutex<TriggerCache>,
    /// Runs automatic rollup passes off the writers' threads.
    pub(crate) worker: Worker,
}

/// The engine as rollups see it. Every database named must exist unless
/// said otherwise; a missing one is [`crate::Error::DatabaseNotFound`].
pub(crate) trait RollupHost: Send + Sync + Sized + 'static {
    /// The root directory (checkpoint logs live in `<root>/<db>/`).
    fn root(&self) -> &Path;

    /// The engine's manifest defaults (a destination a pass creates
    /// starts from them).
    fn manifest_defaults(&self) -> &Manifest;

    /// Whether nothing may be written.
    fn is_read_only(&self) -> bool;

    /// The effective manifest of database `db` (loading it).
    fn db_manifest(&self, db: &str) -> Result<Manifest>;

    /// The metrics of `db`, sorted by name.
    fn metrics(&self, db: &str) -> Result<Vec<MetricInfo>>;

    /// Every database under the root and every one loaded, sorted and
    /// de-duplicated.
    fn all_databases(&self) -> Result<Vec<String>>;

    /// Every sample of `metrics` in `[from, to]`, in one scan; the callback
    /// gets the metric name (borrowed from the scan's own copy of it, the
    /// same allocation for every sample of a metric) and the sample.
    fn read_range_many(
        &self,
        db: &str,
        metrics: &[&str],
        from: i64,
        to: i64,
        f: impl FnMut(&str, Sample) -> ControlFlow<()>,
    ) -> Result<()>;

    /// Runs `f` on the state of `db` under its lock (the writers' lock:
    /// keep it short).
    fn with_state<R>(&self, db: &str, f: impl FnOnce(&mut DbState) -> R) -> Result<R>;

    /// Opens `db`, creating it with the manifest `manifest_text` when it does
    /// not exist (an existing manifest is never rewritten).
    fn create_database(&self, db: &str, manifest_text: &str) -> Result<()>;

    /// Writes rollup outputs without running the rollup trigger (outputs
    /// never re-enter it): all or nothing when `atomic`, else stopping at
    /// the first rejected sample.
    fn write_outputs(&self, samples: &[WriteSample<'_>], atomic: bool) -> Result<WriteReport>;

    /// Makes everything `db` acknowledged durable in its data files.
    fn flush_db(&self, db: &str) -> Result<()>;

    /// Flushes, closes and forgets `db` (loaded or not), so its files can
    /// be rewritten; it is reopened on next use.
    fn unload_db(&self, db: &str) -> Result<()>;

    /// The rollup machinery of this engine.
    fn rollups(&self) -> &Rollups;

    /// A handle on the same engine for the worker thread, which does not
    /// close the engine when dropped.
    fn worker_handle(&self) -> Self;
}
