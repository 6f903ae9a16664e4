//! What rollup passes, backfills and lineage walks report.

use std::collections::BTreeSet;

use serde::Serialize;

/// Outcome of one rollup pass over one source database.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PassReport {
    /// Jobs (expanded) whose checkpoint advanced.
    pub jobs_advanced: usize,
    /// Periods computed (empty ones included).
    pub periods: u64,
    /// Samples written to destinations.
    pub samples_written: u64,
    /// Jobs whose periods came from the live accumulators (no read-back).
    pub jobs_from_live: usize,
    /// Jobs whose later periods came from the live accumulators and whose
    /// first ones, begun before the accumulator existed, were read back.
    pub jobs_partly_from_live: usize,
    /// Destinations written or flushed.
    pub destinations: BTreeSet<String>,
}

fn null_if_empty<S: serde::Serializer>(v: &[String], s: S) -> std::result::Result<S::Ok, S::Error> {
    if v.is_empty() {
        s.serialize_none()
    } else {
        s.collect_seq(v)
    }
}

/// Report of [`Engine::rollup_backfill`](crate::Engine::rollup_backfill); the first eight fields are the
/// reference's (empty lists other than `requested_sources` serialise as null).
#[derive(Debug, Clone, Default, Serialize)]
pub struct BackfillReport {
    /// Requested sources (trimmed, de-duplicated, sorted).
    pub requested_sources: Vec<String>,
    /// Sources found (enabled with at least one job).
    #[serde(serialize_with = "null_if_empty")]
    pub source_databases: Vec<String>,
    /// Destinations of their jobs (followed through chains).
    #[serde(serialize_with = "null_if_empty")]
    pub destination_databases: Vec<String>,
    /// Checkpoint logs removed or rewritten.
    #[serde(serialize_with = "null_if_empty")]
    pub cleared_checkpoint_files: Vec<String>,
    /// Destination data files removed.
    #[serde(serialize_with = "null_if_empty")]
    pub cleared_data_files: Vec<String>,
    /// Destination WAL files removed.
    #[serde(serialize_with = "null_if_empty")]
    pub cleared_wal_files: Vec<String>,
    /// Destination catalogs removed.
    #[serde(serialize_with = "null_if_empty")]
    pub cleared_catalog_files: Vec<String>,
    /// Passes run until no job advanced.
    pub replay_passes: u32,
    /// Data files of destinations with user metrics, rewritten without the
    /// rollup-produced samples (not in v1.4.0).
    #[serde(serialize_with = "null_if_empty")]
    pub rewritten_data_files: Vec<String>,
    /// Destinations left untouched, with the reason (not in v1.4.0).
    #[serde(serialize_with = "null_if_empty")]
    pub skipped_destinations: Vec<String>,
    /// Samples written by the passes.
    pub samples_written: u64,
}

/// One step of a downstream lineage walk (docs/BEHAVIOUR.md §1.17).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct LineageStep {
    /// Distance from the queried metric (1 = direct rollup).
    pub hop: u32,
    /// Destination database.
    pub database: String,
    /// Destination metric `<prefix>.<aggregate>`.
    pub metric: String,
    /// Canonical aggregate name.
    pub aggregate: String,
    /// Job id.
    pub job_id: String,
    /// Interval as a Go duration (`1h0m0s`).
    pub interval: String,
}

/// Result of [`Engine::rollup_downstream`](crate::Engine::rollup_downstream).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Lineage {
    /// Steps sorted by hop, database, metric, aggregate, job id.
    pub steps: Vec<LineageStep>,
    /// Whether a node at `max_hops` still had downstream jobs.
    pub truncated: bool,
}
