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
//! created with [`config::rollup_destination_manifest`].

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::convert::Infallible;
use std::fs;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use foldhash::HashMap;

use crate::aggregate::{AggregateRow, WindowedAggregation};
use crate::config::{self, Manifest};
use crate::engine::{Engine, WriteSample};
use crate::error::{Error, IoContext, Result};
use crate::fsutil;
use crate::page;
use crate::sample::{MetricId, Value};
use crate::time;

mod backfill;
mod checkpoint;
mod jobs;
pub(crate) mod live;
mod report;
pub(crate) mod trigger;
pub mod worker;

pub use jobs::{ExpandedJob, expand_jobs};
pub(crate) use jobs::{is_produced, resolve_aggregates};
pub use report::{BackfillReport, Lineage, LineageStep, PassReport};

pub use checkpoint::{
    CHECKPOINT_COMPACT_BYTES, append_checkpoints, parse_checkpoints, read_checkpoints,
    write_checkpoints,
};

/// Rollup outputs per atomic destination write (bounds a backfill's memory).
const OUTPUT_CHUNK: usize = 16_384;

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

// ------------------------------------------------------------ one pass

/// The work of one expanded job in a pass.
struct JobRun {
    job: usize,
    start: i64,
    end: i64,
    /// `start` modulo the interval: timestamps are shifted by it so that the
    /// epoch-aligned windows of [`WindowedAggregation`] match the job's grid.
    offset: i64,
    /// Reads `[start, read_end)` back from the source (`None`: nothing to
    /// read, the live accumulators had every period).
    agg: Option<WindowedAggregation>,
    read_end: i64,
    /// (aggregate index, period start, value).
    rows: Vec<live::Row>,
    /// Rows of the periods `[read_end, end)` from the live accumulators,
    /// appended after the read-back ones.
    live_rows: Vec<live::Row>,
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
            self.drop_live(source)?;
            return Ok((report, None));
        }
        let cp_path = self.checkpoint_path(source, &manifest);
        let sdb = self.existing_db(source)?;
        // The catalog size and every metric's newest sample under one lock
        // (a writer may be hammering this database meanwhile).
        let (count, last_by_id) = {
            let mut st = sdb.lock();
            if prev.is_none() {
                // Nothing known of the accumulators' history (first pass, or
                // the last one failed): they start over after the newest
                // samples.
                if let Some(h) = trigger::installed(&mut st) {
                    h.live = None;
                }
            }
            (st.catalog.len(), st.last_by_id())
        };
        let (jobs, job_ids, mut cps) = match prev {
            Some(p) if p.metric_count == count => (p.jobs, p.job_ids, p.cps),
            prev => {
                let names: Vec<String> =
                    self.metrics(source)?.into_iter().map(|m| m.name).collect();
                let cps = match prev {
                    Some(p) => p.cps,
                    None => read_checkpoints(&cp_path)?,
                };
                let jobs = expand_jobs(&manifest, &names);
                let ids = {
                    let st = sdb.lock();
                    jobs.iter()
                        .map(|j| st.catalog.lookup(&j.source_metric).map(|(id, _)| id))
                        .collect()
                };
                (Arc::new(jobs), Arc::new(ids), cps)
            }
        };
        // Newest timestamp of every job's metric (as of the lock above).
        let lasts: Vec<Option<i64>> = job_ids
            .iter()
            .map(|id| id.and_then(|id| last_by_id.get(usize::from(id)).copied().flatten()))
            .collect();
        let mut due = SourceDue {
            metric_count: count,
            due: HashMap::default(),
            min_ts: i64::MAX,
            min_wall: i64::MAX,
            jobs: jobs.clone(),
            job_ids,
            last_by_id,
            cps: BTreeMap::new(),
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
            runs.push(JobRun {
                job: i,
                start,
                end,
                offset: start.rem_euclid(iv),
                agg: None,
                read_end: end,
                rows: Vec::new(),
                live_rows: Vec::new(),
                group_start: i64::MIN,
                skip_group: false,
            });
        }
        // Take the periods the live accumulators saw completely: only the
        // periods before those (a restart, a new accumulator) are read back.
        // Whether the installed accumulators are the ones for `jobs` (then
        // the pass need not lock the source again to install them).
        let mut live_current = false;
        let mut taken: Vec<(usize, Vec<live::Period>)> = Vec::new();
        {
            let mut st = sdb.lock();
            if let Some(live) = trigger::installed(&mut st).and_then(|h| h.live.as_mut()) {
                live_current = live.is_for(&jobs);
                for (r, run) in runs.iter_mut().enumerate() {
                    if let Some((from, periods)) = live.take(&jobs[run.job].key, run.start, run.end)
                    {
                        run.read_end = from;
                        taken.push((r, periods));
                        if from == run.start {
                            report.jobs_from_live += 1;
                        } else {
                            report.jobs_partly_from_live += 1;
                        }
                    }
                }
            }
        }
        // The aggregates run here, with the writers' lock released.
        for (r, periods) in taken {
            let run = &mut runs[r];
            run.live_rows = live::rows_of(periods, &jobs[run.job].aggregates);
        }
        for run in &mut runs {
            if run.read_end > run.start {
                let job = &jobs[run.job];
                run.agg = Some(WindowedAggregation::new(
                    run.start - run.offset,
                    run.read_end - 1 - run.offset,
                    job.interval_ns,
                    job.aggregates.clone(),
                )?);
            }
        }
        if runs.is_empty() {
            if !(install_live && live_current) {
                self.install_live(source, &jobs, &cps, install_live)?;
            }
            due.cps = cps;
            fill_due(&mut due, &jobs, &next_ends);
            return Ok((report, Some(due)));
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
        let to = queried().map(|r| r.read_end).max().unwrap_or(0) - 1;
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
            let live_rows = std::mem::take(&mut run.live_rows);
            if run.rows.is_empty() {
                run.rows = live_rows;
            } else {
                run.rows.extend(live_rows);
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
        let failed: Vec<&str> = runs
            .iter()
            .zip(&ends)
            .filter(|(run, end)| **end < run.end)
            .map(|(run, _)| jobs[run.job].key.as_str())
            .collect();
        if !failed.is_empty() {
            live_current = false;
            let mut st = sdb.lock();
            if let Some(live) = trigger::installed(&mut st).and_then(|h| h.live.as_mut()) {
                for key in failed {
                    live.invalidate(key);
                }
            }
        }
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
        if !(install_live && live_current) {
            self.install_live(source, &jobs, &cps, install_live)?;
        }
        due.cps = cps;
        fill_due(&mut due, &jobs, &next_ends);
        Ok((report, Some(due)))
    }

    /// Installs the live accumulators of `source` for exactly `jobs` after
    /// a pass (keeping the state of the jobs it already had); or, when
    /// `enabled` is false, drops them.
    fn install_live(
        &self,
        source: &str,
        jobs: &Arc<Vec<ExpandedJob>>,
        cps: &BTreeMap<String, i64>,
        enabled: bool,
    ) -> Result<()> {
        let db = self.existing_db(source)?;
        let mut st = db.lock();
        let old = trigger::installed(&mut st).and_then(|h| h.live.take());
        if !enabled {
            return Ok(());
        }
        if old.as_ref().is_some_and(|o| o.is_for(jobs)) {
            trigger::hook(&mut st).live = old;
            return Ok(());
        }
        let built = live::LiveRollups::build(
            jobs,
            old,
            |m| st.catalog.lookup(m),
            |id| {
                if st.last_unknown.contains(&id) {
                    None
                } else {
                    st.last_ts(id)
                }
            },
            |job| cps.get(&job.key).copied().filter(|&c| c != 0).unwrap_or(0),
        );
        trigger::hook(&mut st).live = Some(built);
        Ok(())
    }

    /// Drops the live accumulators of `source` (a backfill recomputes its
    /// outputs; rollups were turned off).
    fn drop_live(&self, source: &str) -> Result<()> {
        if let Some(db) = not_found_is_none(self.existing_db(source))?
            && let Some(h) = trigger::installed(&mut db.lock())
        {
            h.live = None;
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

    /// Downstream lineage of `db/metric` (docs/BEHAVIOUR.md §1.17): every rollup output derived
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
    rows: &mut Vec<live::Row>,
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

#[cfg(test)]
mod tests;
