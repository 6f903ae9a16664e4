//! Rollups (BEHAVIOUR §1.16, §1.17; checkpoint log FORMATS §9).
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
//! the period's end, so no later write can land inside it (writes are
//! non-decreasing per metric). Unlike v1.4.0 the last sample counts even when
//! it sits in an open partition, so continuously reporting metrics are rolled
//! up (v1.4.0 skipped them while their partition was open, i.e. nearly
//! always). Empty periods write nothing but advance the checkpoint.
//!
//! # Durability and idempotency
//!
//! After a pass has written its outputs, every destination it touched is
//! flushed (frames fsynced) **before** the checkpoint lines are appended
//! (v1.4.0 appended them while the outputs could still sit in a WAL-less
//! page). A crash between the two makes the next pass recompute those
//! periods; outputs whose timestamp is not newer than the destination
//! metric's last sample are skipped, so a recomputation never duplicates a
//! sample (this also covers checkpoint keys containing `,`, which FORMATS §9
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
//! database once per pass). Live accumulators (module `live`) aggregate flushed
//! pages as they come, so a pass seldom reads its periods back. `nanocli
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
//! created with [`config::rollup_destination_manifest`].

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::convert::Infallible;
use std::fs;
use std::io::Write;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use foldhash::HashMap;
use serde::Serialize;

use crate::aggregate::{AggregateRow, Aggregator, WindowedAggregation, default_aggregators};
use crate::config::{self, Manifest, RollupsConfig};
use crate::engine::{Engine, WriteSample};
use crate::error::{Error, IoContext, Result};
use crate::fsutil;
use crate::page;
use crate::sample::{MetricId, Value};
use crate::time;

pub(crate) mod live;
pub mod worker;

/// Rollup outputs per atomic destination write (bounds a backfill's memory).
const OUTPUT_CHUNK: usize = 16_384;

/// Size above which the checkpoint log is compacted after an append (FORMATS §9).
pub const CHECKPOINT_COMPACT_BYTES: u64 = 102_400;

// ------------------------------------------------------------ checkpoint log

/// Parses a checkpoint log: lines are trimmed, blank and malformed lines are
/// skipped (exactly two `,`-separated parts, non-empty trimmed key, decimal
/// i64 value), and for repeated keys the last line wins.
pub fn parse_checkpoints(text: &str) -> BTreeMap<String, i64> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let mut parts = line.split(',');
        let (Some(k), Some(v), None) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let k = k.trim();
        let Ok(v) = v.trim().parse::<i64>() else {
            continue;
        };
        if !k.is_empty() {
            out.insert(k.to_string(), v);
        }
    }
    out
}

/// Reads a checkpoint log; a missing file means no checkpoints.
pub fn read_checkpoints(path: &Path) -> Result<BTreeMap<String, i64>> {
    match fs::read(path) {
        Ok(b) => Ok(parse_checkpoints(&String::from_utf8_lossy(&b))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// Appends `<key>,<ns>` lines and fsyncs; then compacts the log (latest value
/// per key, keys ascending, via `<file>.tmp` + rename) when it exceeds
/// [`CHECKPOINT_COMPACT_BYTES`]. Returns whether it compacted.
pub fn append_checkpoints(path: &Path, entries: &[(String, i64)]) -> Result<bool> {
    if entries.is_empty() {
        return Ok(false);
    }
    let mut text = String::new();
    for (k, v) in entries {
        text.push_str(k);
        text.push(',');
        text.push_str(&v.to_string());
        text.push('\n');
    }
    let created = !path.exists();
    let mut f = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .at(path)?;
    f.write_all(text.as_bytes()).at(path)?;
    f.sync_data().at(path)?;
    let len = f.metadata().at(path)?.len();
    drop(f);
    if created {
        fsutil::sync_parent(path)?;
    }
    if len > CHECKPOINT_COMPACT_BYTES {
        write_checkpoints(path, &read_checkpoints(path)?)?;
        return Ok(true);
    }
    Ok(false)
}

/// Writes the whole log atomically, keys ascending (`<file>.tmp`, fsync, rename).
pub fn write_checkpoints(path: &Path, map: &BTreeMap<String, i64>) -> Result<()> {
    let mut text = String::new();
    for (k, v) in map {
        text.push_str(&format!("{k},{v}\n"));
    }
    fsutil::write_atomic(path, text.as_bytes())
}

// ------------------------------------------------------------ job expansion

/// One runnable job: an explicit job, or one metric of a pattern job.
#[derive(Clone)]
pub struct ExpandedJob {
    /// Checkpoint key: the job id, or `<id>::<metric>` for pattern jobs.
    pub key: String,
    /// The configured job id.
    pub job_id: String,
    /// Source metric.
    pub source_metric: String,
    /// Destination database.
    pub destination_db: String,
    /// Output name prefix (`<prefix>.<aggregate>`).
    pub prefix: String,
    /// Period length in ns.
    pub interval_ns: i64,
    /// Effective grace in ns.
    pub grace_ns: i64,
    /// Resolved aggregates, de-duplicated by canonical name.
    pub aggregates: Vec<Arc<dyn Aggregator>>,
    /// Output metric names, parallel to `aggregates`.
    pub outputs: Vec<String>,
}

impl std::fmt::Debug for ExpandedJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExpandedJob")
            .field("key", &self.key)
            .field("source_metric", &self.source_metric)
            .field("destination_db", &self.destination_db)
            .field("interval_ns", &self.interval_ns)
            .field("grace_ns", &self.grace_ns)
            .field("outputs", &self.outputs)
            .finish()
    }
}

fn resolve_aggregates(names: &[String]) -> Vec<Arc<dyn Aggregator>> {
    let list: Vec<&str> = if names.is_empty() {
        vec!["min", "max", "sum", "avg", "count"]
    } else {
        names.iter().map(String::as_str).collect()
    };
    let mut out: Vec<Arc<dyn Aggregator>> = Vec::new();
    for n in list {
        // Names were validated with the manifest; an unknown one is skipped.
        let Some(a) = default_aggregators().get(n.trim()) else {
            continue;
        };
        if !out.iter().any(|o| o.canonical_name() == a.canonical_name()) {
            out.push(a);
        }
    }
    out
}

fn excluded(cfg: &RollupsConfig, job: &config::RollupJob, metric: &str) -> bool {
    cfg.global_exclude_patterns
        .iter()
        .chain(&job.exclude_patterns)
        .any(|p| config::glob_match(p, metric))
}

/// Expands the jobs of `manifest` against the source catalog `metrics`
/// (explicit jobs stay as they are; pattern jobs yield one job per matching,
/// non-excluded metric in name order), sorted like v1.4.0 runs them: by
/// destination, interval, then key.
pub fn expand_jobs(manifest: &Manifest, metrics: &[String]) -> Vec<ExpandedJob> {
    let cfg = &manifest.rollups;
    if !cfg.enabled {
        return Vec::new();
    }
    let mut sorted: Vec<&String> = metrics.iter().collect();
    sorted.sort();
    let mut out = Vec::new();
    for job in &cfg.jobs {
        let grace_ns = job
            .grace_ns
            .or(cfg.default_grace_ns)
            .unwrap_or(manifest.retention.grace_ns);
        let aggregates = resolve_aggregates(&job.aggregates);
        let mk = |key: String, metric: &str, prefix: &str| {
            let outputs = aggregates
                .iter()
                .map(|a| format!("{prefix}.{}", a.canonical_name()))
                .collect();
            ExpandedJob {
                key,
                job_id: job.id.clone(),
                source_metric: metric.to_string(),
                destination_db: job.destination_db.clone(),
                prefix: prefix.to_string(),
                interval_ns: job.interval_ns,
                grace_ns,
                aggregates: aggregates.clone(),
                outputs,
            }
        };
        if let Some(m) = &job.source_metric {
            let prefix = if job.destination_metric_prefix.is_empty() {
                m.as_str()
            } else {
                job.destination_metric_prefix.as_str()
            };
            out.push(mk(job.id.clone(), m, prefix));
        } else if let Some(p) = &job.source_pattern {
            for m in &sorted {
                if config::glob_match(p, m) && !excluded(cfg, job, m) {
                    let prefix = if job.destination_metric_prefix.is_empty() {
                        m.as_str()
                    } else {
                        job.destination_metric_prefix.as_str()
                    };
                    out.push(mk(format!("{}::{m}", job.id), m, prefix));
                }
            }
        }
    }
    out.sort_by(|a, b| {
        (&a.destination_db, a.interval_ns, &a.key).cmp(&(&b.destination_db, b.interval_ns, &b.key))
    });
    out
}

/// Whether `name` in `dest` is generated by some job of `manifest` (see the
/// module docs); `source_metrics` is the source catalog.
fn is_produced(
    manifest: &Manifest,
    source_metrics: &HashSet<&str>,
    dest: &str,
    name: &str,
) -> bool {
    let cfg = &manifest.rollups;
    if !cfg.enabled {
        return false;
    }
    cfg.jobs
        .iter()
        .filter(|j| j.destination_db == dest)
        .any(|job| {
            resolve_aggregates(&job.aggregates).iter().any(|a| {
                let Some(stem) = name
                    .strip_suffix(a.canonical_name())
                    .and_then(|s| s.strip_suffix('.'))
                else {
                    return false;
                };
                if let Some(m) = &job.source_metric {
                    let prefix = if job.destination_metric_prefix.is_empty() {
                        m
                    } else {
                        &job.destination_metric_prefix
                    };
                    return stem == prefix;
                }
                let Some(p) = &job.source_pattern else {
                    return false;
                };
                if !job.destination_metric_prefix.is_empty() {
                    return stem == job.destination_metric_prefix;
                }
                source_metrics.contains(stem)
                    && config::glob_match(p, stem)
                    && !excluded(cfg, job, stem)
            })
        })
}

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
    /// The checkpoint log as last read or appended by this engine.
    cps: BTreeMap<String, i64>,
    /// Live accumulators (automatic passes only; see [`live`]).
    live: Option<live::LiveRollups>,
}

/// Per-engine rollup state, behind the mutex that serialises rollup passes.
#[derive(Debug, Default)]
pub struct TriggerCache {
    sources: HashMap<String, SourceDue>,
}

// ------------------------------------------------------------ reports

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

/// Report of [`Engine::rollup_backfill`]; the first eight fields are the
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

/// One step of a downstream lineage walk (§1.17).
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

/// Result of [`Engine::rollup_downstream`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Lineage {
    /// Steps sorted by hop, database, metric, aggregate, job id.
    pub steps: Vec<LineageStep>,
    /// Whether a node at `max_hops` still had downstream jobs.
    pub truncated: bool,
}

// ------------------------------------------------------------ one pass

/// The work of one expanded job in a pass.
struct JobRun {
    job: usize,
    start: i64,
    end: i64,
    /// `start` modulo the interval: timestamps are shifted by it so that the
    /// epoch-aligned windows of [`WindowedAggregation`] match the job's grid.
    offset: i64,
    agg: Option<WindowedAggregation>,
    /// (aggregate index, period start, value).
    rows: Vec<(usize, i64, f32)>,
    group_start: i64,
    skip_group: bool,
}

fn floor_to(ts: i64, interval: i64) -> i64 {
    ts - ts.rem_euclid(interval)
}

fn not_found_is_none<T>(r: Result<T>) -> Result<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(Error::DatabaseNotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

impl Engine {
    fn checkpoint_path(&self, db: &str, m: &Manifest) -> PathBuf {
        let name = if m.rollups.checkpoint_file.trim().is_empty() {
            "rollup.checkpoints.log"
        } else {
            m.rollups.checkpoint_file.trim()
        };
        self.root().join(db).join(name)
    }

    /// First timestamp of each metric, in one scan that stops as soon as
    /// every metric was seen (partitions are read oldest first).
    fn first_ts_many(&self, db: &str, metrics: &[&str]) -> Result<HashMap<String, i64>> {
        let mut first: HashMap<String, i64> = HashMap::default();
        if metrics.is_empty() {
            return Ok(first);
        }
        self.query_range_many(db, metrics, i64::MIN, i64::MAX, 1, |m, s| {
            if !first.contains_key(m) {
                first.insert(m.to_string(), s.ts);
                if first.len() == metrics.len() {
                    return ControlFlow::Break(());
                }
            }
            ControlFlow::Continue(())
        })?;
        Ok(first)
    }

    /// Runs one rollup pass over `source` at wall clock `now`: computes every
    /// complete period of every job, writes the outputs, flushes the
    /// destinations, then appends the checkpoints. Returns the report and
    /// the trigger state for the source.
    fn rollup_pass(
        &self,
        source: &str,
        now: i64,
        prev: Option<SourceDue>,
        install_live: bool,
    ) -> Result<(PassReport, Option<SourceDue>)> {
        let mut report = PassReport::default();
        let manifest = self.db_manifest(source)?;
        if !manifest.rollups.enabled || manifest.rollups.jobs.is_empty() {
            return Ok((report, None));
        }
        let count = self.metric_count(source)?;
        let cp_path = self.checkpoint_path(source, &manifest);
        let mut prev = prev;
        let mut live_acc = prev.as_mut().and_then(|p| p.live.take());
        let (jobs, mut cps) = match prev {
            Some(p) if p.metric_count == count => (p.jobs, p.cps),
            prev => {
                let names: Vec<String> =
                    self.metrics(source)?.into_iter().map(|m| m.name).collect();
                let cps = match prev {
                    Some(p) => p.cps,
                    None => read_checkpoints(&cp_path)?,
                };
                (Arc::new(expand_jobs(&manifest, &names)), cps)
            }
        };
        let mut due = SourceDue {
            metric_count: count,
            due: HashMap::default(),
            min_ts: i64::MAX,
            min_wall: i64::MAX,
            jobs: jobs.clone(),
            cps: BTreeMap::new(),
            live: None,
        };
        let need_first: Vec<&str> = {
            let mut v: Vec<&str> = jobs
                .iter()
                .filter(|j| !matches!(cps.get(&j.key), Some(&c) if c != 0))
                .map(|j| j.source_metric.as_str())
                .collect();
            v.sort_unstable();
            v.dedup();
            v
        };
        let firsts = self.first_ts_many(source, &need_first)?;
        let mut runs: Vec<JobRun> = Vec::new();
        // Next period end of every job that has data, for the trigger cache.
        let mut next_ends: Vec<Option<i64>> = vec![None; jobs.len()];
        // Newest timestamp of every job's metric, under one lock (a writer
        // may be hammering this database meanwhile).
        let lasts: Vec<Option<i64>> = {
            let db = self.existing_db(source)?;
            let st = db.lock();
            jobs.iter()
                .map(|j| {
                    st.catalog
                        .lookup(&j.source_metric)
                        .and_then(|(id, _)| st.last_ts(id))
                })
                .collect()
        };
        for (i, job) in jobs.iter().enumerate() {
            let iv = job.interval_ns;
            if iv <= 0 || job.aggregates.is_empty() {
                continue;
            }
            let Some(last_ts) = lasts.get(i).copied().flatten() else {
                continue;
            };
            let start = match cps.get(&job.key) {
                Some(&v) if v != 0 => v,
                _ => match firsts.get(&job.source_metric) {
                    Some(&t) => floor_to(t, iv),
                    None => continue,
                },
            };
            let next_end = start.saturating_add(iv);
            next_ends[i] = Some(next_end);
            let horizon = last_ts.min(now.saturating_sub(job.grace_ns.max(0)));
            if next_end > horizon || next_end == i64::MAX {
                continue;
            }
            let n = (i128::from(horizon) - i128::from(start)) / i128::from(iv);
            let Ok(end) = i64::try_from(i128::from(start) + n * i128::from(iv)) else {
                continue;
            };
            let offset = start.rem_euclid(iv);
            let agg = WindowedAggregation::new(
                start - offset,
                end - 1 - offset,
                iv,
                job.aggregates.clone(),
            )?;
            runs.push(JobRun {
                job: i,
                start,
                end,
                offset,
                agg: Some(agg),
                rows: Vec::new(),
                group_start: i64::MIN,
                skip_group: false,
            });
        }
        if runs.is_empty() {
            due.live = self.install_live(source, &jobs, &cps, live_acc, install_live)?;
            due.cps = cps;
            fill_due(&mut due, &jobs, &next_ends);
            return Ok((report, Some(due)));
        }
        // Periods the live accumulators saw completely need no read-back.
        if let Some(live) = live_acc.as_mut() {
            let sdb = self.existing_db(source)?;
            let input = sdb.lock().take_live_input();
            match input {
                Some(pages) => {
                    for c in &pages {
                        live.feed(&c.ids, &c.ts, &c.vals);
                    }
                    sdb.lock().recycle_live_input(pages);
                    for run in &mut runs {
                        if let Some(rows) = live.take(&jobs[run.job].key, run.start, run.end) {
                            run.rows = rows;
                            run.agg = None;
                            report.jobs_from_live += 1;
                        }
                    }
                }
                // Samples were dropped: start over after the newest ones.
                None => live_acc = None,
            }
        }
        // One scan of the source over every metric still involved.
        let mut by_metric: HashMap<&str, Vec<usize>> = HashMap::default();
        for (r, run) in runs.iter().enumerate() {
            if run.agg.is_none() {
                continue;
            }
            by_metric
                .entry(jobs[run.job].source_metric.as_str())
                .or_default()
                .push(r);
        }
        let metrics: Vec<&str> = by_metric.keys().copied().collect();
        let queried = || runs.iter().filter(|r| r.agg.is_some());
        let from = queried().map(|r| r.start).min().unwrap_or(0);
        let to = queried().map(|r| r.end).max().unwrap_or(0) - 1;
        // The callback's names borrow the query's own strings, so their
        // address identifies the metric: hash that, not the text.
        let mut by_addr: HashMap<usize, usize> = HashMap::default();
        let slots: Vec<&Vec<usize>> = metrics.iter().filter_map(|m| by_metric.get(m)).collect();
        if !metrics.is_empty() {
            self.query_range_many(source, &metrics, from, to, 1, |name, s| {
                let slot = match by_addr.get(&(name.as_ptr() as usize)) {
                    Some(&k) => Some(k),
                    None => {
                        let k = metrics.iter().position(|m| *m == name);
                        if let Some(k) = k {
                            by_addr.insert(name.as_ptr() as usize, k);
                        }
                        k
                    }
                };
                if let Some(rs) = slot.and_then(|k| slots.get(k)) {
                    for &r in rs.iter() {
                        push_sample(&mut runs[r], s.ts, s.value);
                    }
                }
                ControlFlow::Continue(())
            })?;
        }
        for run in &mut runs {
            if let Some(agg) = run.agg.take() {
                let JobRun {
                    rows,
                    group_start,
                    skip_group,
                    offset,
                    ..
                } = run;
                let _ = agg.finish(&mut |row: AggregateRow| {
                    collect_row(rows, group_start, skip_group, *offset, &row);
                    Ok::<(), Infallible>(())
                });
            }
        }
        // Write outputs destination by destination, then make them durable,
        // then checkpoint.
        let mut ends: Vec<i64> = runs.iter().map(|r| r.end).collect();
        let mut by_dest: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (r, run) in runs.iter().enumerate() {
            if !run.rows.is_empty() {
                by_dest
                    .entry(jobs[run.job].destination_db.as_str())
                    .or_default()
                    .push(r);
            }
        }
        for (dest, members) in &by_dest {
            let ddb = match not_found_is_none(self.existing_db(dest))? {
                Some(d) => d,
                None => {
                    let iv = jobs[runs[members[0]].job].interval_ns;
                    let text = config::rollup_destination_manifest_toml(
                        &config::rollup_destination_manifest(&self.config().manifest_defaults, iv),
                    );
                    self.open_or_create_with_manifest(dest, &text)?;
                    self.existing_db(dest)?
                }
            };
            // Outputs not newer than what the destination holds are
            // skipped: a recomputed period is never written twice.
            report.destinations.insert((*dest).to_string());
            // Atomic writes of up to OUTPUT_CHUNK samples (whole jobs);
            // should anything be rejected, nothing of the chunk was stored
            // and its jobs go one by one, each stopping at its failing period.
            let mut next = 0;
            while next < members.len() {
                let mut samples: Vec<WriteSample<'_>> = Vec::new();
                let mut slices: Vec<(usize, std::ops::Range<usize>)> = Vec::new();
                {
                    let st = ddb.lock();
                    while next < members.len() && samples.len() < OUTPUT_CHUNK {
                        let r = members[next];
                        next += 1;
                        let job = &jobs[runs[r].job];
                        // Outputs not newer than what the destination holds
                        // are skipped: a recomputed period is never written twice.
                        let last: Vec<i64> = job
                            .outputs
                            .iter()
                            .map(|o| {
                                st.catalog
                                    .lookup(o)
                                    .and_then(|(id, _)| st.last_ts(id))
                                    .unwrap_or(i64::MIN)
                            })
                            .collect();
                        let from = samples.len();
                        let rows = std::mem::take(&mut runs[r].rows);
                        samples.extend(
                            rows.iter()
                                .filter(|(a, ts, _)| last.get(*a).is_some_and(|l| *ts > *l))
                                .map(|&(a, ts, v)| WriteSample {
                                    db: dest,
                                    metric: &job.outputs[a],
                                    ts,
                                    value: Value::F32(v),
                                }),
                        );
                        slices.push((r, from..samples.len()));
                    }
                }
                if samples.is_empty() {
                    continue;
                }
                let wr = self.write_atomic_no_rollups(&samples)?;
                if wr.rejected.is_empty() {
                    report.samples_written += wr.accepted;
                    continue;
                }
                for (r, range) in slices {
                    let part = &samples[range];
                    if part.is_empty() {
                        continue;
                    }
                    let wr = self.write_no_rollups(part, true)?;
                    report.samples_written += wr.accepted;
                    if let Some((idx, e)) = wr.rejected.first() {
                        let failed = part.get(*idx).map_or(runs[r].start, |s| s.ts);
                        ends[r] = failed.max(runs[r].start);
                        tracing::debug!(job = %jobs[runs[r].job].key, "rollup period failed: {e}");
                    }
                }
            }
        }
        let mut checkpoints: Vec<(String, i64)> = Vec::new();
        for (run, &end) in runs.iter().zip(&ends) {
            let job = &jobs[run.job];
            if end > run.start {
                report.jobs_advanced += 1;
                report.periods += ((end - run.start) / job.interval_ns) as u64;
                checkpoints.push((job.key.clone(), end));
                next_ends[run.job] = Some(end.saturating_add(job.interval_ns));
            }
        }
        for d in &report.destinations {
            self.flush_db(d)?;
        }
        if append_checkpoints(&cp_path, &checkpoints)? {
            cps = read_checkpoints(&cp_path)?;
        } else {
            cps.extend(checkpoints);
        }
        due.live = self.install_live(source, &jobs, &cps, live_acc, install_live)?;
        due.cps = cps;
        fill_due(&mut due, &jobs, &next_ends);
        Ok((report, Some(due)))
    }

    /// The live accumulators of `source` for exactly `jobs` after a pass
    /// (keeping the state of the jobs `old` already had) with the database's
    /// inbox on; or, when `enabled` is false, none and the inbox off.
    fn install_live(
        &self,
        source: &str,
        jobs: &Arc<Vec<ExpandedJob>>,
        cps: &BTreeMap<String, i64>,
        old: Option<live::LiveRollups>,
        enabled: bool,
    ) -> Result<Option<live::LiveRollups>> {
        let db = self.existing_db(source)?;
        let mut st = db.lock();
        if !enabled {
            st.live_inbox = None;
            return Ok(None);
        }
        if st.live_inbox.is_none() {
            st.live_inbox = Some(live::Inbox::default());
        }
        if old.as_ref().is_some_and(|o| o.is_for(jobs)) {
            return Ok(old);
        }
        Ok(Some(live::LiveRollups::build(
            jobs,
            old,
            |m| st.catalog.lookup(m),
            |id| st.last_ts(id),
            |job| cps.get(&job.key).copied().filter(|&c| c != 0).unwrap_or(0),
        )))
    }

    /// Drops the live inbox of `source` (a backfill recomputes it).
    fn drop_live(&self, source: &str) -> Result<()> {
        if let Some(db) = not_found_is_none(self.existing_db(source))? {
            db.lock().live_inbox = None;
        }
        Ok(())
    }

    /// Runs a pass over each of `sources` and then, breadth-first, over every
    /// destination written that is itself a rollup source (each database at
    /// most once). Caller holds the rollup mutex.
    fn rollup_cascade(
        &self,
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
            let (r, due) = self.rollup_pass(&s, now, prev, live)?;
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
            for d in r.destinations {
                if seen.insert(d.clone()) {
                    queue.push_back(d.clone());
                }
                total.destinations.insert(d);
            }
        }
        Ok(total)
    }

    /// Runs every due rollup of `sources` now, following cascades
    /// (v1.4.0's `TriggerRollupsForSources`, errors returned here).
    pub fn trigger_rollups(&self, sources: &[&str]) -> Result<PassReport> {
        let mut names: Vec<String> = sources
            .iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        names.sort();
        names.dedup();
        let mut cache = self.s.rollups.lock().unwrap_or_else(|p| p.into_inner());
        self.rollup_cascade(&mut cache, &names, time::now_ns(), false)
    }

    /// The cheap check run after a user batch to `db` (outside every
    /// lock): queues the source for the background worker when a stored
    /// sample made one of its periods computable, its catalog grew, or no
    /// pass has run yet (see [`worker`]).
    pub(crate) fn rollup_trigger_after_write(&self, db: &str) -> Result<()> {
        let Some(d) = not_found_is_none(self.existing_db(db))? else {
            return Ok(());
        };
        let r = &d.manifest.rollups;
        if !r.enabled || r.jobs.is_empty() {
            return Ok(());
        }
        let run = {
            let mut st = d.lock();
            let hit = std::mem::take(&mut st.rollup_hit);
            let count = st.catalog.len();
            let run = hit
                || st
                    .rollup_due
                    .as_ref()
                    .is_none_or(|due| due.metric_count != count);
            if run {
                // Until the pass publishes anew, further samples need not
                // queue it again: it re-checks every metric's last sample.
                st.rollup_due = Some(crate::database::RollupDue {
                    by_id: Vec::new(),
                    metric_count: count,
                });
            }
            run
        };
        if run {
            self.s.rollup_worker.queue(self, db);
        }
        Ok(())
    }

    /// Worker side of the trigger: runs `db` and its cascade, then publishes
    /// to every source it knows when its next pass can compute something.
    pub(crate) fn run_queued_rollups(&self, db: &str) {
        let mut cache = self.s.rollups.lock().unwrap_or_else(|p| p.into_inner());
        let advanced =
            match self.rollup_cascade(&mut cache, &[db.to_string()], time::now_ns(), true) {
                Ok(r) => {
                    self.s.rollup_worker.record(&r);
                    r.jobs_advanced > 0
                }
                Err(e) => {
                    tracing::warn!(db, "automatic rollup failed: {e}");
                    false
                }
            };
        let now = time::now_ns();
        for (name, due) in &cache.sources {
            let Ok(Some(d)) = not_found_is_none(self.existing_db(name)) else {
                continue;
            };
            let mut st = d.lock();
            let mut by_id = vec![(i64::MAX, i64::MAX); st.catalog.len() + 1];
            // A job without a next period (its metric had no data) becomes
            // computable with the metric's first sample.
            for job in due.jobs.iter() {
                if job.interval_ns > 0
                    && !job.aggregates.is_empty()
                    && !due.due.contains_key(&job.source_metric)
                    && let Some((id, _)) = st.catalog.lookup(&job.source_metric)
                    && let Some(slot) = by_id.get_mut(usize::from(id))
                {
                    *slot = (i64::MIN, i64::MIN);
                }
            }
            for (metric, entries) in &due.due {
                let Some((id, _)) = st.catalog.lookup(metric) else {
                    continue;
                };
                let i = usize::from(id);
                if by_id.len() <= i {
                    by_id.resize(i + 1, (i64::MAX, i64::MAX));
                }
                // One pair per metric: the smallest of each is never later
                // than any entry's, so no due period is missed.
                for &(ts, wall) in entries {
                    by_id[i].0 = by_id[i].0.min(ts);
                    by_id[i].1 = by_id[i].1.min(wall);
                }
            }
            // Samples stored while the pass ran were checked against the
            // emptied entries: look at each metric's newest sample instead.
            // (Only after progress, so a pass that cannot advance never loops.)
            let again = advanced
                && by_id.iter().enumerate().any(|(i, &(t, wall))| {
                    now >= wall
                        && MetricId::try_from(i)
                            .ok()
                            .and_then(|id| st.last_ts(id))
                            .is_some_and(|last| last >= t)
                });
            st.rollup_due = Some(crate::database::RollupDue {
                by_id,
                metric_count: due.metric_count,
            });
            drop(st);
            if again {
                self.s.rollup_worker.queue(self, name);
            }
        }
    }

    /// Waits until the background worker has run every automatic rollup
    /// pass queued so far (their outputs and checkpoints are then on disk).
    /// [`Engine::flush`] and [`Engine::close`] do this too.
    pub fn sync_rollups(&self) {
        self.s.rollup_worker.sync();
    }

    /// What the background rollup worker has done since the engine opened.
    pub fn rollup_worker_totals(&self) -> worker::WorkerTotals {
        self.s.rollup_worker.totals()
    }

    /// Rebuilds the rollups of `sources` (all rollup sources under the root
    /// when empty) from scratch without deleting data a user wrote into a
    /// destination (see the module docs), then runs passes until no job
    /// advances.
    pub fn rollup_backfill(&self, sources: &[&str]) -> Result<BackfillReport> {
        if self.is_read_only() {
            return Err(Error::ReadOnly);
        }
        let mut cache = self.s.rollups.lock().unwrap_or_else(|p| p.into_inner());
        cache.sources.clear();
        let mut report = BackfillReport::default();
        let mut requested: Vec<String> = sources
            .iter()
            .map(|s| s.trim().trim_matches('/').to_string())
            .filter(|s| !s.is_empty())
            .collect();
        requested.sort();
        requested.dedup();
        report.requested_sources = requested.clone();
        let mut candidates = requested.clone();
        if candidates.is_empty() {
            candidates = self.databases()?;
            candidates.extend(self.loaded_databases());
            candidates.sort();
            candidates.dedup();
            candidates.retain(|c| c != "internal");
        }
        // Plan, breadth-first through chains.
        let mut manifests: BTreeMap<String, Manifest> = BTreeMap::new();
        let mut dests: BTreeSet<String> = BTreeSet::new();
        let mut queue: std::collections::VecDeque<String> = candidates.into_iter().collect();
        let mut seen: HashSet<String> = queue.iter().cloned().collect();
        while let Some(c) = queue.pop_front() {
            if crate::names::validate_db_name(&c).is_err() {
                continue;
            }
            let Some(m) = not_found_is_none(self.db_manifest(&c))? else {
                continue;
            };
            if !m.rollups.enabled || m.rollups.jobs.is_empty() {
                continue;
            }
            for j in &m.rollups.jobs {
                dests.insert(j.destination_db.clone());
                if seen.insert(j.destination_db.clone()) {
                    queue.push_back(j.destination_db.clone());
                }
            }
            manifests.insert(c, m);
        }
        report.source_databases = manifests.keys().cloned().collect();
        report.destination_databases = dests.iter().cloned().collect();
        if manifests.is_empty() {
            return Ok(report);
        }
        for s in manifests.keys() {
            self.drop_live(s)?;
        }
        let mut source_metrics: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for s in manifests.keys() {
            let names = self.metrics(s)?.into_iter().map(|m| m.name).collect();
            source_metrics.insert(s.clone(), names);
        }
        let mut rebuilt: BTreeSet<String> = BTreeSet::new();
        for d in &dests {
            if crate::names::validate_db_name(d).is_err() {
                continue;
            }
            let Some(metrics) = not_found_is_none(self.metrics(d))? else {
                rebuilt.insert(d.clone());
                continue;
            };
            let mut produced: Vec<MetricId> = Vec::new();
            let mut user = 0usize;
            for m in &metrics {
                let p = manifests.iter().any(|(s, man)| {
                    let set: HashSet<&str> = source_metrics
                        .get(s)
                        .map(|v| v.iter().map(String::as_str).collect())
                        .unwrap_or_default();
                    is_produced(man, &set, d, &m.name)
                });
                if p {
                    produced.push(m.id);
                } else {
                    user += 1;
                }
            }
            self.unload_db(d)?;
            let dir = self.root().join(d);
            if user == 0 {
                self.clear_destination(&dir, &mut report)?;
                rebuilt.insert(d.clone());
            } else if produced.is_empty() {
                rebuilt.insert(d.clone());
            } else if has_metric_files(&dir)? {
                let why = format!(
                    "{d}: holds {user} metrics not produced by rollups and metric-*.dat files; \
                     not rebuilt (its rollup outputs are kept and continued)"
                );
                tracing::warn!("{why}");
                report.skipped_destinations.push(why);
            } else {
                rewrite_without(&dir, &produced, &mut report)?;
                rebuilt.insert(d.clone());
            }
        }
        // Forget the checkpoints of jobs whose destination was rebuilt.
        for (s, m) in &manifests {
            let path = self.checkpoint_path(s, m);
            if !path.exists() {
                continue;
            }
            let mut cps = read_checkpoints(&path)?;
            let before = cps.len();
            cps.retain(|k, _| {
                !m.rollups.jobs.iter().any(|j| {
                    (k == &j.id || k.starts_with(&format!("{}::", j.id)))
                        && rebuilt.contains(&j.destination_db)
                })
            });
            if cps.is_empty() {
                fs::remove_file(&path).at(&path)?;
            } else if cps.len() != before || before == 0 {
                write_checkpoints(&path, &cps)?;
            } else {
                continue;
            }
            report
                .cleared_checkpoint_files
                .push(path.display().to_string());
        }
        let now = time::now_ns();
        let max_passes = manifests.len() as u32 + 1;
        loop {
            report.replay_passes += 1;
            let mut advanced = 0;
            for s in manifests.keys() {
                let prev = cache.sources.remove(s);
                let (r, due) = self.rollup_pass(s, now, prev, false)?;
                if let Some(d) = due {
                    cache.sources.insert(s.clone(), d);
                }
                advanced += r.jobs_advanced;
                report.samples_written += r.samples_written;
            }
            if advanced == 0 || report.replay_passes >= max_passes {
                break;
            }
        }
        for d in &dests {
            if let Some(Err(e)) = not_found_is_none(self.flush_db(d)).transpose() {
                return Err(e);
            }
        }
        Ok(report)
    }

    fn clear_destination(&self, dir: &Path, report: &mut BackfillReport) -> Result<()> {
        let rd = match fs::read_dir(dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(Error::io(dir, e)),
        };
        let mut names: Vec<String> = rd
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        names.sort();
        for n in names {
            let p = dir.join(&n);
            let list = if n.ends_with(".dat")
                && (n.starts_with("data-") || n.starts_with("raw-") || n.starts_with("metric-"))
            {
                &mut report.cleared_data_files
            } else if n.ends_with(".wal") {
                &mut report.cleared_wal_files
            } else if n == "catalog.json" {
                &mut report.cleared_catalog_files
            } else {
                continue;
            };
            fs::remove_file(&p).at(&p)?;
            list.push(p.display().to_string());
        }
        fsutil::sync_dir(dir)
    }

    /// Downstream lineage of `db/metric` (§1.17): every rollup output derived
    /// from it, following explicit-metric jobs through up to `max_hops`
    /// databases. Pattern jobs are not followed (as in v1.4.0).
    pub fn rollup_downstream(&self, db: &str, metric: &str, max_hops: u32) -> Result<Lineage> {
        let (db, metric) = (db.trim(), metric.trim());
        if db.is_empty() {
            return Err(Error::DatabaseNotFound(String::new()));
        }
        if metric.is_empty() {
            return Err(Error::InvalidMetricName {
                name: String::new(),
                reason: "is required",
            });
        }
        if max_hops < 1 {
            return Err(Error::InvalidMetricName {
                name: metric.to_string(),
                reason: "max_hops must be >= 1",
            });
        }
        self.existing_db_check(db)?;
        let mut out = Lineage::default();
        let mut seen: HashSet<(String, String)> = HashSet::new();
        let mut queue = std::collections::VecDeque::new();
        queue.push_back((db.to_string(), metric.to_string(), 0u32));
        seen.insert((db.to_string(), metric.to_string()));
        let mut steps: BTreeSet<LineageStep> = BTreeSet::new();
        while let Some((d, m, depth)) = queue.pop_front() {
            let Some(man) = not_found_is_none(self.db_manifest(&d))? else {
                continue;
            };
            if !man.rollups.enabled {
                continue;
            }
            for job in &man.rollups.jobs {
                if job.source_metric.as_deref() != Some(m.as_str()) {
                    continue;
                }
                let prefix = if job.destination_metric_prefix.is_empty() {
                    m.as_str()
                } else {
                    job.destination_metric_prefix.as_str()
                };
                for a in resolve_aggregates(&job.aggregates) {
                    if depth >= max_hops {
                        out.truncated = true;
                        continue;
                    }
                    let name = format!("{prefix}.{}", a.canonical_name());
                    steps.insert(LineageStep {
                        hop: depth + 1,
                        database: job.destination_db.clone(),
                        metric: name.clone(),
                        aggregate: a.canonical_name().to_string(),
                        job_id: job.id.clone(),
                        interval: time::format_go_duration(job.interval_ns),
                    });
                    if seen.insert((job.destination_db.clone(), name.clone())) {
                        queue.push_back((job.destination_db.clone(), name, depth + 1));
                    }
                }
            }
        }
        out.steps = steps.into_iter().collect();
        Ok(out)
    }

    fn existing_db_check(&self, db: &str) -> Result<()> {
        self.db_manifest(db).map(|_| ())
    }
}

/// Per source metric, each job's (period end, period end + grace): the
/// trigger runs the source once a written sample and the wall clock reach
/// both for some job.
fn fill_due(due: &mut SourceDue, jobs: &[ExpandedJob], next_ends: &[Option<i64>]) {
    due.due.clear();
    due.min_ts = i64::MAX;
    due.min_wall = i64::MAX;
    for (job, next) in jobs.iter().zip(next_ends) {
        let Some(next) = *next else {
            continue;
        };
        let wall = next.saturating_add(job.grace_ns.max(0));
        due.due
            .entry(job.source_metric.clone())
            .or_default()
            .push((next, wall));
        due.min_ts = due.min_ts.min(next);
        due.min_wall = due.min_wall.min(wall);
    }
}

fn push_sample(run: &mut JobRun, ts: i64, value: Value) {
    let JobRun {
        agg,
        rows,
        group_start,
        skip_group,
        offset,
        ..
    } = run;
    if let Some(agg) = agg.as_mut() {
        let _ = agg.push_value(
            ts.saturating_sub(*offset),
            value,
            &mut |row: AggregateRow| {
                collect_row(rows, group_start, skip_group, *offset, &row);
                Ok::<(), Infallible>(())
            },
        );
    }
}

/// Keeps one aggregate row; a period emitted a second time (a sample older
/// than the period being filled, which per-metric ordering rules out) is
/// dropped instead of written twice.
fn collect_row(
    rows: &mut Vec<(usize, i64, f32)>,
    group_start: &mut i64,
    skip_group: &mut bool,
    offset: i64,
    row: &AggregateRow,
) {
    if row.index == 0 {
        *skip_group = row.start <= *group_start && *group_start != i64::MIN;
        if *skip_group {
            tracing::warn!(
                start = row.start,
                "rollup: out-of-order samples; period kept once"
            );
        } else {
            *group_start = row.start;
        }
    }
    if !*skip_group {
        rows.push((row.index, row.start + offset, row.value as f32));
    }
}

fn has_metric_files(dir: &Path) -> Result<bool> {
    match fs::read_dir(dir) {
        Ok(rd) => Ok(rd.flatten().any(|e| {
            let n = e.file_name();
            let n = n.to_string_lossy();
            n.starts_with("metric-") && n.ends_with(".dat")
        })),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::io(dir, e)),
    }
}

/// Rewrites every `data-`/`raw-` file of `dir` without the samples of
/// `drop_ids`, frame by frame (tmp, fsync, rename); files left empty are
/// removed. Untouched files are not rewritten.
fn rewrite_without(dir: &Path, drop_ids: &[MetricId], report: &mut BackfillReport) -> Result<()> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .at(dir)?
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.ends_with(".dat") && (n.starts_with("data-") || n.starts_with("raw-")))
        .collect();
    names.sort();
    let drop: HashSet<MetricId> = drop_ids.iter().copied().collect();
    for n in names {
        let path = dir.join(&n);
        let len = fs::metadata(&path).at(&path)?.len();
        let mut out = Vec::new();
        let mut scratch = Vec::new();
        let mut removed = 0u64;
        let mut err = None;
        // No cache: the destination is unloaded while it is rewritten.
        let _ = crate::database::read_file_frames(
            None,
            &path,
            0,
            len,
            i64::MIN,
            i64::MAX,
            &mut |fr| {
                let (mut ids, mut tss, mut vals) = (Vec::new(), Vec::new(), Vec::new());
                for i in 0..fr.len() {
                    if drop.contains(&fr.id(i)) {
                        removed += 1;
                    } else {
                        ids.push(fr.id(i));
                        tss.push(fr.ts(i));
                        vals.push(fr.val(i));
                    }
                }
                if !ids.is_empty()
                    && let Err(e) = page::encode_frame(&ids, &tss, &vals, &mut scratch, &mut out)
                {
                    err = Some(e);
                    return ControlFlow::Break(());
                }
                ControlFlow::Continue(())
            },
        )?;
        if let Some(e) = err {
            return Err(Error::Corrupt {
                path,
                offset: 0,
                reason: format!("cannot re-encode a frame: {e}"),
            });
        }
        if removed == 0 {
            continue;
        }
        if out.is_empty() {
            fs::remove_file(&path).at(&path)?;
            fsutil::sync_dir(dir)?;
        } else {
            fsutil::write_atomic(&path, &out)?;
        }
        report.rewritten_data_files.push(path.display().to_string());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_skips_malformed_and_last_wins() {
        let text = "a,1\n  b , 2 \n\nbad\nc,x\n,5\nd,1,2\na,3\nk::m,9\n";
        let m = parse_checkpoints(text);
        let v: Vec<(&str, i64)> = m.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        assert_eq!(v, [("a", 3), ("b", 2), ("k::m", 9)]);
    }

    #[test]
    fn key_with_comma_is_never_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("cp.log");
        append_checkpoints(&p, &[("j::a,b".into(), 7), ("j::c".into(), 8)]).unwrap();
        assert_eq!(fs::read_to_string(&p).unwrap(), "j::a,b,7\nj::c,8\n");
        let m = read_checkpoints(&p).unwrap();
        assert_eq!(m.len(), 1);
        assert_eq!(m.get("j::c"), Some(&8));
    }

    #[test]
    fn missing_file_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        assert!(
            read_checkpoints(&dir.path().join("nope"))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn compacts_past_100_kib_sorted_latest_per_key() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("cp.log");
        let mut compacted_at = None;
        for i in 0..5000i64 {
            let entries = vec![
                ("zeta".to_string(), i),
                ("alpha".to_string(), 2 * i),
                (format!("k{:03}", i % 7), i),
            ];
            if append_checkpoints(&p, &entries).unwrap() {
                compacted_at = Some(i);
                break;
            }
        }
        let i = compacted_at.expect("compaction happened");
        assert!(i > 100, "{i}");
        let text = fs::read_to_string(&p).unwrap();
        let mut expected = String::new();
        expected.push_str(&format!("alpha,{}\n", 2 * i));
        for k in 0..7 {
            let last = (0..=i).filter(|x| x % 7 == k).max().unwrap();
            expected.push_str(&format!("k{k:03},{last}\n"));
        }
        expected.push_str(&format!("zeta,{i}\n"));
        assert_eq!(text, expected);
        assert!(!dir.path().join("cp.log.tmp").exists());
    }

    fn manifest(toml: &str) -> Manifest {
        let defaults = config::default_engine_config().manifest_defaults;
        let (m, _) = config::parse_manifest(toml, &defaults, Path::new("manifest.toml")).unwrap();
        m
    }

    #[test]
    fn pattern_jobs_expand_with_exclusions_and_defaults() {
        let m = manifest(
            r#"
[rollups]
enabled = true
default_interval = "1h"
default_destination_db = "d1h"
global_exclude_patterns = ["temp.cpu"]
[[rollups.jobs]]
id = "t"
source_pattern = "temp.*"
exclude_patterns = ["temp.probe0[2-3]"]
[[rollups.jobs]]
id = "load"
source_metric = "load.1m"
interval = "15m"
aggregates = ["max", "trimmed_average", "trimmed_avg"]
destination_db = "d15"
destination_metric_prefix = "l1"
grace = "1m"
"#,
        );
        let metrics: Vec<String> = [
            "temp.probe03",
            "temp.probe01",
            "temp.cpu",
            "temp.probe02",
            "temp/x",
            "load.1m",
            "temp.a.b",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let jobs = expand_jobs(&m, &metrics);
        let keys: Vec<&str> = jobs.iter().map(|j| j.key.as_str()).collect();
        assert_eq!(keys, ["load", "t::temp.a.b", "t::temp.probe01"]);
        assert_eq!(jobs[0].outputs, ["l1.max", "l1.trimmed_avg"]);
        assert_eq!(jobs[0].grace_ns, 60_000_000_000);
        assert_eq!(jobs[0].interval_ns, 900_000_000_000);
        assert_eq!(
            jobs[2].outputs,
            [
                "temp.probe01.min",
                "temp.probe01.max",
                "temp.probe01.sum",
                "temp.probe01.avg",
                "temp.probe01.count"
            ]
        );
        assert_eq!(jobs[2].destination_db, "d1h");
        assert_eq!(jobs[2].grace_ns, 300_000_000_000); // retention.grace
        let set: HashSet<&str> = metrics.iter().map(String::as_str).collect();
        assert!(is_produced(&m, &set, "d1h", "temp.probe01.avg"));
        assert!(!is_produced(&m, &set, "d1h", "temp.probe02.avg"));
        assert!(!is_produced(&m, &set, "d1h", "temp.cpu.avg"));
        assert!(!is_produced(&m, &set, "d1h", "temp.probe01.p99"));
        assert!(is_produced(&m, &set, "d15", "l1.trimmed_avg"));
        assert!(!is_produced(&m, &set, "d1h", "l1.max"));
    }
}
