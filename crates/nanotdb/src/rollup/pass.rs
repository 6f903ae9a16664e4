//! One rollup pass over one source database, in four steps: [`plan`] the
//! complete periods of every job, read their rows ([`take_live`] from the
//! live accumulators, [`read_back`] the rest from the source), [`emit`] the
//! outputs to the destinations, then [`checkpoint`]: flush the destinations
//! and only then append the checkpoints (see the module docs of
//! [`crate::rollup`] for why in this order).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::ops::{ControlFlow, Range};
use std::path::Path;
use std::sync::Arc;

use foldhash::HashMap;

use crate::aggregate::{AggregateRow, WindowedAggregation};
use crate::config::{self, Manifest};
use crate::database::DbState;
use crate::error::Result;
use crate::sample::Value;
use crate::write::WriteSample;

use super::host::RollupHost;
use super::{
    ExpandedJob, PassReport, SourceDue, append_checkpoints, checkpoint_path, expand_jobs, live,
    not_found_is_none, read_checkpoints, trigger,
};

/// Rollup outputs per atomic destination write (bounds a backfill's memory).
const OUTPUT_CHUNK: usize = 16_384;

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

/// What a pass is about to do, from [`plan`].
struct Plan {
    /// Jobs expanded against the source catalog.
    jobs: Arc<Vec<ExpandedJob>>,
    /// The trigger state being rebuilt for the source.
    due: SourceDue,
    /// The checkpoint log as known before the pass.
    cps: BTreeMap<String, i64>,
    /// Jobs with at least one complete period.
    runs: Vec<JobRun>,
    /// Next period end of every job that has data, for the trigger cache.
    next_ends: Vec<Option<i64>>,
}

fn floor_to(ts: i64, interval: i64) -> i64 {
    ts - ts.rem_euclid(interval)
}

/// Runs one rollup pass over `source` at wall clock `now`: computes every
/// complete period of every job, writes the outputs, flushes the
/// destinations, then appends the checkpoints. Returns the report and
/// the trigger state for the source.
pub(super) fn rollup_pass<H: RollupHost>(
    host: &H,
    source: &str,
    now: i64,
    prev: Option<SourceDue>,
    install_live: bool,
) -> Result<(PassReport, Option<SourceDue>)> {
    let mut report = PassReport::default();
    let manifest = host.db_manifest(source)?;
    if !manifest.rollups.enabled || manifest.rollups.jobs.is_empty() {
        drop_live(host, source)?;
        return Ok((report, None));
    }
    let cp_path = checkpoint_path(host.root(), source, &manifest);
    let mut plan = plan(host, source, &manifest, &cp_path, now, prev)?;
    // Whether the installed accumulators are the ones for `jobs` (then
    // the pass need not lock the source again to install them).
    let live_current = take_live(host, source, &plan.jobs, &mut plan.runs, &mut report)?;
    if plan.runs.is_empty() {
        return finish(host, source, plan, live_current, install_live, report);
    }
    read_back(host, source, &plan.jobs, &mut plan.runs)?;
    let ends = emit(host, &plan.jobs, &mut plan.runs, &mut report)?;
    checkpoint(
        host,
        source,
        &cp_path,
        plan,
        &ends,
        live_current,
        install_live,
        report,
    )
}

/// Step 1: the jobs, their checkpoints and the complete periods of each
/// (`[start, end)` up to the safe horizon; see the module docs).
fn plan<H: RollupHost>(
    host: &H,
    source: &str,
    manifest: &Manifest,
    cp_path: &Path,
    now: i64,
    prev: Option<SourceDue>,
) -> Result<Plan> {
    // The catalog size and every metric's newest sample under one lock
    // (a writer may be hammering this database meanwhile).
    let forget_live = prev.is_none();
    let (count, last_by_id) = host.with_state(source, |st| {
        if forget_live && let Some(h) = trigger::installed(st) {
            // Nothing known of the accumulators' history (first pass, or
            // the last one failed): they start over after the newest
            // samples.
            h.live = None;
        }
        (st.catalog.len(), st.last_by_id())
    })?;
    let (jobs, job_ids, cps) = match prev {
        Some(p) if p.metric_count == count => (p.jobs, p.job_ids, p.cps),
        prev => {
            let names: Vec<String> = host.metrics(source)?.into_iter().map(|m| m.name).collect();
            let cps = match prev {
                Some(p) => p.cps,
                None => read_checkpoints(cp_path)?,
            };
            let jobs = expand_jobs(manifest, &names);
            let ids = host.with_state(source, |st| {
                jobs.iter()
                    .map(|j| st.catalog.lookup(&j.source_metric).map(|(id, _)| id))
                    .collect()
            })?;
            (Arc::new(jobs), Arc::new(ids), cps)
        }
    };
    // Newest timestamp of every job's metric (as of the lock above).
    let lasts: Vec<Option<i64>> = job_ids
        .iter()
        .map(|id| id.and_then(|id| last_by_id.get(usize::from(id)).copied().flatten()))
        .collect();
    let due = SourceDue {
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
    let firsts = first_ts_many(host, source, &need_first)?;
    let (runs, next_ends) = plan_runs(&jobs, &lasts, &cps, &firsts, now);
    Ok(Plan {
        jobs,
        due,
        cps,
        runs,
        next_ends,
    })
}

/// The complete periods of each job, given each job's metric's newest
/// sample (`lasts`), the checkpoints and the metrics' first samples; and
/// each job's next period end.
fn plan_runs(
    jobs: &[ExpandedJob],
    lasts: &[Option<i64>],
    cps: &BTreeMap<String, i64>,
    firsts: &HashMap<String, i64>,
    now: i64,
) -> (Vec<JobRun>, Vec<Option<i64>>) {
    let mut runs: Vec<JobRun> = Vec::new();
    let mut next_ends: Vec<Option<i64>> = vec![None; jobs.len()];
    for (i, job) in jobs.iter().enumerate() {
        let iv = job.interval_ns;
        if iv <= 0 || job.aggregates.is_empty() {
            continue;
        }
        let Some(last_ts) = lasts.get(i).copied().flatten() else {
            continue;
        };
        let start = match cps
            .get(&job.key)
            .map(|&v| aligned_checkpoint(&job.key, v, iv))
        {
            Some(v) if v != 0 => v,
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
    (runs, next_ends)
}

/// First timestamp of each metric, in one scan that stops as soon as
/// every metric was seen (partitions are read oldest first).
fn first_ts_many<H: RollupHost>(
    host: &H,
    db: &str,
    metrics: &[&str],
) -> Result<HashMap<String, i64>> {
    let mut first: HashMap<String, i64> = HashMap::default();
    if metrics.is_empty() {
        return Ok(first);
    }
    host.read_range_many(db, metrics, i64::MIN, i64::MAX, |m, s| {
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

/// Step 2a: takes the periods the live accumulators saw completely: only
/// the periods before those (a restart, a new accumulator) are read back,
/// and each run gets its read-back aggregation for them. Returns whether
/// the installed accumulators are the ones for `jobs`.
fn take_live<H: RollupHost>(
    host: &H,
    source: &str,
    jobs: &Arc<Vec<ExpandedJob>>,
    runs: &mut [JobRun],
    report: &mut PassReport,
) -> Result<bool> {
    let mut live_current = false;
    let mut taken: Vec<(usize, Vec<live::Period>)> = Vec::new();
    host.with_state(source, |st| {
        let Some(live) = trigger::installed(st).and_then(|h| h.live.as_mut()) else {
            return;
        };
        live_current = live.is_for(jobs);
        for (r, run) in runs.iter_mut().enumerate() {
            if let Some((from, periods)) = live.take(&jobs[run.job].key, run.start, run.end) {
                run.read_end = from;
                taken.push((r, periods));
                if from == run.start {
                    report.jobs_from_live += 1;
                } else {
                    report.jobs_partly_from_live += 1;
                }
            }
        }
    })?;
    // The aggregates run here, with the writers' lock released.
    for (r, periods) in taken {
        let run = &mut runs[r];
        run.live_rows = live::rows_of(periods, &jobs[run.job].aggregates);
    }
    for run in runs.iter_mut() {
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
    Ok(live_current)
}

/// Step 2b: one scan of the source over every metric still to be read
/// back; then every run's rows are the read-back ones followed by those
/// of the live accumulators.
fn read_back<H: RollupHost>(
    host: &H,
    source: &str,
    jobs: &[ExpandedJob],
    runs: &mut [JobRun],
) -> Result<()> {
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
        host.read_range_many(source, &metrics, from, to, |name, s| {
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
    for run in runs.iter_mut() {
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
    Ok(())
}

/// Step 3: writes the outputs destination by destination (creating a
/// missing destination). Returns each run's end as written: a run whose
/// write failed ends at its failing period.
fn emit<H: RollupHost>(
    host: &H,
    jobs: &[ExpandedJob],
    runs: &mut [JobRun],
    report: &mut PassReport,
) -> Result<Vec<i64>> {
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
        if not_found_is_none(host.with_state(dest, |_| ()))?.is_none() {
            let iv = jobs[runs[members[0]].job].interval_ns;
            let text = config::rollup_destination_manifest_toml(
                &config::rollup_destination_manifest(host.manifest_defaults(), iv),
            );
            host.create_database(dest, &text)?;
            host.with_state(dest, |_| ())?;
        }
        report.destinations.insert((*dest).to_string());
        emit_destination(host, dest, members, jobs, runs, &mut ends, report)?;
    }
    Ok(ends)
}

/// Writes the rows of `members` (runs into `dest`) in atomic writes of up
/// to [`OUTPUT_CHUNK`] samples (whole jobs); should anything be rejected,
/// nothing of the chunk was stored and its jobs go one by one, each
/// stopping at its failing period (recorded in `ends`).
fn emit_destination<H: RollupHost>(
    host: &H,
    dest: &str,
    members: &[usize],
    jobs: &[ExpandedJob],
    runs: &mut [JobRun],
    ends: &mut [i64],
    report: &mut PassReport,
) -> Result<()> {
    let mut next = 0;
    while next < members.len() {
        let mut samples: Vec<WriteSample<'_>> = Vec::new();
        let mut slices: Vec<(usize, Range<usize>)> = Vec::new();
        host.with_state(dest, |st| {
            next_chunk(
                st,
                dest,
                jobs,
                runs,
                members,
                &mut next,
                &mut samples,
                &mut slices,
            );
        })?;
        if samples.is_empty() {
            continue;
        }
        let wr = host.write_outputs(&samples, true)?;
        if wr.rejected.is_empty() {
            report.samples_written += wr.accepted;
            continue;
        }
        for (r, range) in slices {
            let part = &samples[range];
            if part.is_empty() {
                continue;
            }
            let wr = host.write_outputs(part, false)?;
            report.samples_written += wr.accepted;
            if let Some((idx, e)) = wr.rejected.first() {
                let failed = part.get(*idx).map_or(runs[r].start, |s| s.ts);
                ends[r] = failed.max(runs[r].start);
                tracing::debug!(job = %jobs[runs[r].job].key, "rollup period failed: {e}");
            }
        }
    }
    Ok(())
}

/// Moves the rows of `members[*next..]` into `samples` until the chunk
/// holds [`OUTPUT_CHUNK`] samples (whole jobs), with the range of each
/// run's samples in `slices`. `st` is the destination's state: outputs not
/// newer than what it holds are skipped, so a recomputed period is never
/// written twice.
#[allow(clippy::too_many_arguments)]
fn next_chunk<'a>(
    st: &DbState,
    dest: &'a str,
    jobs: &'a [ExpandedJob],
    runs: &mut [JobRun],
    members: &[usize],
    next: &mut usize,
    samples: &mut Vec<WriteSample<'a>>,
    slices: &mut Vec<(usize, Range<usize>)>,
) {
    while *next < members.len() && samples.len() < OUTPUT_CHUNK {
        let r = members[*next];
        *next += 1;
        let job = &jobs[runs[r].job];
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

/// Step 4: makes the outputs durable (every destination written is
/// flushed), and only then appends the checkpoints of the jobs that
/// advanced. A job whose write failed gives its live accumulator up: its
/// rows are gone, so its periods must be read back.
#[allow(clippy::too_many_arguments)]
fn checkpoint<H: RollupHost>(
    host: &H,
    source: &str,
    cp_path: &Path,
    mut plan: Plan,
    ends: &[i64],
    mut live_current: bool,
    install_live: bool,
    mut report: PassReport,
) -> Result<(PassReport, Option<SourceDue>)> {
    let jobs = &plan.jobs;
    let mut checkpoints: Vec<(String, i64)> = Vec::new();
    let failed: Vec<&str> = plan
        .runs
        .iter()
        .zip(ends)
        .filter(|(run, end)| **end < run.end)
        .map(|(run, _)| jobs[run.job].key.as_str())
        .collect();
    if !failed.is_empty() {
        live_current = false;
        host.with_state(source, |st| {
            if let Some(live) = trigger::installed(st).and_then(|h| h.live.as_mut()) {
                for key in failed {
                    live.invalidate(key);
                }
            }
        })?;
    }
    for (run, &end) in plan.runs.iter().zip(ends) {
        let job = &jobs[run.job];
        if end > run.start {
            report.jobs_advanced += 1;
            report.periods += ((end - run.start) / job.interval_ns) as u64;
            checkpoints.push((job.key.clone(), end));
            plan.next_ends[run.job] = Some(end.saturating_add(job.interval_ns));
        }
    }
    for d in &report.destinations {
        host.flush_db(d)?;
    }
    if append_checkpoints(cp_path, &checkpoints)? {
        plan.cps = read_checkpoints(cp_path)?;
    } else {
        plan.cps.extend(checkpoints);
    }
    finish(host, source, plan, live_current, install_live, report)
}

/// Ends a pass: (re)installs the live accumulators unless the current ones
/// are for these jobs, and publishes the next period ends.
fn finish<H: RollupHost>(
    host: &H,
    source: &str,
    plan: Plan,
    live_current: bool,
    install_live: bool,
    report: PassReport,
) -> Result<(PassReport, Option<SourceDue>)> {
    let Plan {
        jobs,
        mut due,
        cps,
        next_ends,
        ..
    } = plan;
    if !(install_live && live_current) {
        install(host, source, &jobs, &cps, install_live)?;
    }
    due.cps = cps;
    fill_due(&mut due, &jobs, &next_ends);
    Ok((report, Some(due)))
}

/// Installs the live accumulators of `source` for exactly `jobs` after
/// a pass (keeping the state of the jobs it already had); or, when
/// `enabled` is false, drops them.
fn install<H: RollupHost>(
    host: &H,
    source: &str,
    jobs: &Arc<Vec<ExpandedJob>>,
    cps: &BTreeMap<String, i64>,
    enabled: bool,
) -> Result<()> {
    host.with_state(source, |st| {
        let old = trigger::installed(st).and_then(|h| h.live.take());
        if !enabled {
            return;
        }
        if old.as_ref().is_some_and(|o| o.is_for(jobs)) {
            trigger::hook(st).live = old;
            return;
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
        trigger::hook(st).live = Some(built);
    })
}

/// Drops the live accumulators of `source` (a backfill recomputes its
/// outputs; rollups were turned off).
pub(super) fn drop_live<H: RollupHost>(host: &H, source: &str) -> Result<()> {
    not_found_is_none(host.with_state(source, |st| {
        if let Some(h) = trigger::installed(st) {
            h.live = None;
        }
    }))?;
    Ok(())
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

/// A checkpoint is the end of a period, so a multiple of the interval; one
/// that is not (a damaged log, or a job whose interval was changed) would
/// make every later period straddle the grid. It is rounded down: the
/// period holding it is computed again, and outputs not newer than what the
/// destination holds are skipped, so nothing is written twice.
fn aligned_checkpoint(key: &str, v: i64, iv: i64) -> i64 {
    let aligned = floor_to(v, iv);
    if aligned != v {
        tracing::warn!(
            job = key,
            checkpoint = v,
            "rollup checkpoint is not on a period boundary (damaged log, or the interval changed): continuing from {aligned}"
        );
    }
    aligned
}
