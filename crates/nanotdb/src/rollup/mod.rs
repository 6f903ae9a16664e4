//! Rollups (docs/BEHAVIOUR.md §1.16, docs/BEHAVIOUR.md §1.17; checkpoint log docs/FORMATS.md §9).
//!
//! A source database's manifest `[rollups]` lists jobs; each job turns one
//! source metric into per-period aggregates written as float32 metrics
//! `<prefix>.<canonical aggregate>` at the **period start** in a destination
//! database. Pattern jobs expand against the source catalog at every run into
//! one job per matching metric with the key `<id>::<metric>`.
//!
//! # Periods and the safe horizon
//!
//! Periods are `[s, s + interval)`, starting at the job's checkpoint or, on
//! the first run, at the metric's first sample floored to the interval. The
//! horizon is `min(last sample of the metric, now − grace)` and a period is
//! computed once `s + interval ≤ horizon`: the metric has a sample at or after
//! the period's end, so no in-order write can land inside it. A sample
//! within `[ingest].out_of_order_window` can still arrive later: it is
//! stored and read, but not in the period already computed (v1.4.0's
//! timing is kept; a job's grace covers the lateness to expect). Unlike
//! v1.4.0 the last sample counts even when it sits in an open partition, so
//! continuously reporting metrics are rolled up (v1.4.0 skipped them while
//! their partition was open, i.e. nearly always). Empty periods write nothing but advance the checkpoint.
//!
//! # Durability and idempotency
//!
//! After a pass has written its outputs, every destination it touched is
//! flushed (frames fsynced) **before** the checkpoint lines are appended
//! (v1.4.0 appended them while the outputs could still sit in a WAL-less
//! page). A crash between the two makes the next pass recompute those
//! periods; outputs whose timestamp is not newer than the destination
//! metric's last sample are skipped, so a recomputation never duplicates a
//! sample (this also covers checkpoint keys containing `,`, which docs/FORMATS.md §9
//! cannot read back).
//!
//! # Automatic trigger
//!
//! Automatic passes run on a background thread ([`worker`]): after every
//! user write batch the writer only looks at a flag the write path raised
//! when a stored sample reached its metric's next period end (and the wall
//! clock that end plus grace), or at a grown catalog (a new metric may match
//! a pattern), and then queues the source. Passes follow cascades: a
//! destination that is itself a rollup source is run right after (each
//! database once per pass). Live accumulators (module `live`) are fed every sample
//! as it is stored, so a pass seldom reads its periods back. `nanocli
//! import` turns the trigger off and backfills the sources it touched at the
//! end.
//!
//! # Backfill never deletes user data
//!
//! v1.4.0 deleted every `data-*.dat`, WAL and catalog of each destination,
//! including data a user wrote there (or the source itself when a database
//! rolls up into itself). Here a destination metric counts as
//! *rollup-produced* when some job targeting the destination generates its
//! name: `<prefix>.<agg>` of an explicit job, or `<m>.<agg>` of a pattern job
//! where `m` is a source metric matching the pattern and no exclusion.
//! * a destination holding only rollup-produced metrics is cleared like
//!   v1.4.0 (data, raw and metric files, WAL, catalog; the manifest stays);
//! * a destination that also holds other metrics keeps them: its `data-`/
//!   `raw-` files are rewritten (tmp, fsync, rename) without the samples of
//!   rollup-produced metrics; if it has `metric-` files (which cannot be
//!   filtered here) it is skipped with a warning and its jobs keep their
//!   checkpoints.
//!
//! Only the checkpoint lines of jobs whose destination was rebuilt are
//! removed. Existing manifests are never rewritten; a missing destination is
//! created with [`crate::config::rollup_destination_manifest`].

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use foldhash::HashMap;

use crate::config::Manifest;
use crate::error::{Error, Result};
use crate::sample::MetricId;
use crate::time;

pub(crate) mod backfill;
mod checkpoint;
mod host;
mod jobs;
pub(crate) mod lineage;
pub(crate) mod live;
mod pass;
mod report;
pub(crate) mod trigger;
pub mod worker;

pub(crate) use host::{RollupHost, Rollups};
pub use jobs::{ExpandedJob, expand_jobs};
pub(crate) use jobs::{is_produced, resolve_aggregates};
pub use report::{BackfillReport, Lineage, LineageStep, PassReport};

pub use checkpoint::{
    CHECKPOINT_COMPACT_BYTES, append_checkpoints, parse_checkpoints, read_checkpoints,
    write_checkpoints,
};

// ------------------------------------------------------------ trigger cache

/// What the automatic trigger remembers about one source database.
#[derive(Debug, Default)]
struct SourceDue {
    /// Catalog size when computed; a different size forces a run.
    metric_count: usize,
    /// Per source metric, per job: (sample timestamp, wall clock) both of
    /// which must be reached before that job has a period to compute.
    due: HashMap<String, Vec<(i64, i64)>>,
    /// Smallest timestamp in `due`, for the fast path.
    min_ts: i64,
    /// Smallest wall clock in `due`.
    min_wall: i64,
    /// Jobs expanded against a catalog of `metric_count` metrics.
    jobs: Arc<Vec<ExpandedJob>>,
    /// Metric id of each job's source metric (ids never change).
    job_ids: Arc<Vec<Option<MetricId>>>,
    /// Newest timestamp of every metric id when the pass began.
    pub(crate) last_by_id: Vec<Option<i64>>,
    /// The checkpoint log as last read or appended by this engine.
    cps: BTreeMap<String, i64>,
}

/// Per-engine rollup state, behind the mutex that serialises rollup passes.
#[derive(Debug, Default)]
pub struct TriggerCache {
    sources: HashMap<String, SourceDue>,
}

// ------------------------------------------------------------ passes

pub(crate) fn not_found_is_none<T>(r: Result<T>) -> Result<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(Error::DatabaseNotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The checkpoint log of source `db` with manifest `m` under `root`.
fn checkpoint_path(root: &Path, db: &str, m: &Manifest) -> PathBuf {
    let name = if m.rollups.checkpoint_file.trim().is_empty() {
        "rollup.checkpoints.log"
    } else {
        m.rollups.checkpoint_file.trim()
    };
    root.join(db).join(name)
}

/// Runs a pass over each of `sources` and then, breadth-first, over every
/// destination written that is itself a rollup source (each database at
/// most once). Caller holds the rollup mutex.
fn rollup_cascade<H: RollupHost>(
    host: &H,
    cache: &mut TriggerCache,
    sources: &[String],
    now: i64,
    live: bool,
) -> Result<PassReport> {
    let mut total = PassReport::default();
    let mut queue: std::collections::VecDeque<String> = sources.iter().cloned().collect();
    let mut seen: HashSet<String> = sources.iter().cloned().collect();
    while let Some(s) = queue.pop_front() {
        let prev = cache.sources.remove(&s);
        let (r, due) = pass::rollup_pass(host, &s, now, prev, live)?;
        match due {
            Some(d) => {
                cache.sources.insert(s.clone(), d);
            }
            None => {
                cache.sources.remove(&s);
            }
        }
        total.jobs_advanced += r.jobs_advanced;
        total.periods += r.periods;
        total.samples_written += r.samples_written;
        total.jobs_from_live += r.jobs_from_live;
        total.jobs_partly_from_live += r.jobs_partly_from_live;
        for d in r.destinations {
            if seen.insert(d.clone()) {
                queue.push_back(d.clone());
            }
            total.destinations.insert(d);
        }
    }
    Ok(total)
}

/// Runs every due rollup of `sources` now, following cascades (v1.4.0's
/// `TriggerRollupsForSources`, errors returned here); behind
/// [`Engine::trigger_rollups`](crate::Engine::trigger_rollups).
pub(crate) fn run_now<H: RollupHost>(host: &H, sources: &[&str]) -> Result<PassReport> {
    let mut names: Vec<String> = sources
        .iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    names.sort();
    names.dedup();
    let mut cache = host
        .rollups()
        .cache
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    rollup_cascade(host, &mut cache, &names, time::now_ns(), false)
}

#[cfg(test)]
mod tests;
