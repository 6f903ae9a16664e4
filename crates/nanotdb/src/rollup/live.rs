//! Live rollup accumulators: the rolled-up metrics' samples are aggregated
//! from the database's in-memory pages, so that a pass finds its periods
//! already computed instead of reading them back from the files.
//!
//! Pages are fed column-wise, in arrival order (non-decreasing per metric):
//! each page when it is flushed, and the open pages when a pass starts
//! (each record once: a page remembers how many records it has fed). A
//! period is final once a later sample of its metric has been fed.
//!
//! They are an optimisation only. A pass uses a job's live rows for the
//! periods `[start, end)` it is about to write only when the accumulator saw
//! every sample of them: it existed before the first of those periods began
//! (`from ≤ start`) and has been fed a sample at or past `end`. In any other
//! case (just installed, the engine restarted, a metric created after the
//! last pass, anything unexpected) the pass reads the source as before, so
//! the outputs are the same either way.

use std::sync::Arc;

use crate::aggregate::{Aggregator, Bucket};
use crate::partition::Page;
use crate::sample::{MetricId, Value, ValueType};

use super::ExpandedJob;

/// Live rows a job may hold before it gives up (and its periods are read
/// back from the source instead): bounds memory when passes stop running.
const MAX_ROWS_PER_JOB: usize = 1 << 16;

/// Records the inbox holds at most (≈ 14 MiB); beyond, it drops them and
/// the next pass reads its periods back from the files.
const MAX_INBOX_RECORDS: usize = 1 << 20;

/// Page columns, in stored order.
#[derive(Debug, Default)]
pub(crate) struct Columns {
    pub ids: Vec<MetricId>,
    pub ts: Vec<i64>,
    pub vals: Vec<u32>,
}

/// Buffers for pages kept for reuse at most (each up to a page's size).
const POOL_PAGES: usize = 4;

/// Records flushed since the last pass, kept in the database state: the
/// writer moves its flushed pages in (no copy), the worker takes them, feeds
/// them to the accumulators outside the database lock and hands the emptied
/// buffers back, which the writer's next pages reuse.
#[derive(Debug, Default)]
pub(crate) struct Inbox {
    pages: Vec<Columns>,
    records: usize,
    overflowed: bool,
    pool: Vec<Columns>,
}

impl Inbox {
    fn room_for(&mut self, n: usize) -> bool {
        if self.overflowed {
            return false;
        }
        if self.records + n > MAX_INBOX_RECORDS {
            self.overflowed = true;
            self.pages = Vec::new();
            self.records = 0;
            return false;
        }
        self.records += n;
        true
    }

    /// Copies the records of `page` not fed yet (before a flush reorders a
    /// partly fed page, and for open pages at a pass).
    pub(crate) fn push_tail(&mut self, page: &Page) {
        let f = page.fed.min(page.len());
        if f < page.len() && self.room_for(page.len() - f) {
            let mut c = self.pool.pop().unwrap_or_default();
            c.ids.extend_from_slice(&page.ids[f..]);
            c.ts.extend_from_slice(&page.ts[f..]);
            c.vals.extend_from_slice(&page.vals[f..]);
            self.pages.push(c);
        }
    }

    /// Whether the inbox holds half of what it may: time for a pass to
    /// drain it even if no period is complete yet.
    pub(crate) fn half_full(&self) -> bool {
        self.records >= MAX_INBOX_RECORDS / 2
    }

    /// Takes a flushed page's records not fed yet, by move.
    pub(crate) fn push_page(&mut self, page: Page) {
        let f = page.fed.min(page.len());
        if f >= page.len() || !self.room_for(page.len() - f) {
            return;
        }
        let Page {
            mut ids,
            mut ts,
            mut vals,
            ..
        } = page;
        if f > 0 {
            ids.drain(..f);
            ts.drain(..f);
            vals.drain(..f);
        }
        self.pages.push(Columns { ids, ts, vals });
    }

    /// Everything queued, or `None` when records were dropped since the
    /// last take.
    pub(crate) fn take(&mut self) -> Option<Vec<Columns>> {
        self.records = 0;
        let pages = std::mem::take(&mut self.pages);
        if std::mem::take(&mut self.overflowed) {
            return None;
        }
        Some(pages)
    }

    /// Returns buffers from [`Inbox::take`] for reuse by new pages.
    pub(crate) fn recycle(&mut self, pages: Vec<Columns>) {
        for mut c in pages {
            if self.pool.len() >= POOL_PAGES {
                break;
            }
            c.ids.clear();
            c.ts.clear();
            c.vals.clear();
            self.pool.push(c);
        }
    }

    /// Emptied buffers for a new page, if any.
    pub(crate) fn reuse(&mut self) -> Option<Columns> {
        self.pool.pop()
    }
}

/// The accumulators of one source database.
pub(crate) struct LiveRollups {
    /// Identity of the expansion the accumulators were built for.
    jobs: Arc<Vec<ExpandedJob>>,
    /// Per metric id: `(first, count)` of its accumulators in `order`.
    by_id: Vec<(u32, u32)>,
    /// Indices into `live`, grouped by metric.
    order: Vec<u32>,
    live: Vec<LiveJob>,
    /// Job key → index into `live`.
    index: std::collections::HashMap<String, usize>,
}

/// One expanded job's accumulator.
struct LiveJob {
    /// Checkpoint key of the job.
    key: String,
    value_type: ValueType,
    /// Grid offset (`period start mod interval`).
    offset: i64,
    interval: i64,
    /// First period start whose every sample this accumulator sees;
    /// `None` while unknown (the metric's last sample was not loaded): then
    /// it becomes the period after the first sample fed.
    from: Option<i64>,
    /// Timestamp of the newest sample fed, `i64::MIN` before any.
    seen: i64,
    /// Set on any anomaly; the job's periods are then read back instead.
    broken: bool,
    /// `[win_start, win_end)`: the period being filled (empty when none).
    win_start: i64,
    win_end: i64,
    bucket: Bucket,
    aggregates: Vec<Arc<dyn Aggregator>>,
    /// (aggregate index, period start, value) of finished periods.
    rows: Vec<(usize, i64, f32)>,
}

impl LiveJob {
    /// Adds one sample. Fast path: in order and inside the period being
    /// filled (`seen`/`win_end` are set so that it never matches while the
    /// job is broken or has no period yet).
    #[inline]
    fn push(&mut self, ts: i64, bits: u32) {
        if ts >= self.seen && ts < self.win_end {
            self.seen = ts;
            self.bucket.add(to_f64(self.value_type, bits));
        } else {
            self.push_slow(ts, bits);
        }
    }

    fn push_slow(&mut self, ts: i64, bits: u32) {
        if self.broken {
            return;
        }
        let from = match self.from {
            Some(f) => f,
            None => {
                // The sample's own period may have earlier samples: skip it.
                match grid_floor(ts, self.offset, self.interval) {
                    Some(f) => self.from = Some(f.saturating_add(self.interval)),
                    None => self.set_broken(),
                }
                return;
            }
        };
        if ts < from {
            return;
        }
        if ts < self.seen {
            // Stored order is non-decreasing per metric; never trust it blindly.
            self.set_broken();
            return;
        }
        self.seen = ts;
        if ts >= self.win_end || ts < self.win_start {
            self.close_window();
            let Some(start) = grid_floor(ts, self.offset, self.interval) else {
                self.set_broken();
                return;
            };
            self.win_start = start;
            self.win_end = start.saturating_add(self.interval);
        }
        self.bucket.add(to_f64(self.value_type, bits));
    }

    fn set_broken(&mut self) {
        self.broken = true;
        self.rows = Vec::new();
        self.win_end = i64::MIN;
    }

    /// Emits the period being filled, if it has samples.
    fn close_window(&mut self) {
        if self.bucket.samples() > 0 {
            for (i, agg) in self.aggregates.iter().enumerate() {
                let v = agg.compute(&self.bucket);
                self.rows.push((i, self.win_start, v as f32));
            }
            if self.rows.len() > MAX_ROWS_PER_JOB {
                self.set_broken();
            }
        }
        self.bucket.reset();
    }

    /// Start of the period of the newest sample: every earlier period (from
    /// `from` on) is complete.
    fn closed_before(&self) -> i64 {
        let Some(from) = self.from else {
            return i64::MIN;
        };
        if self.seen == i64::MIN || self.seen < from {
            return from;
        }
        grid_floor(self.seen, self.offset, self.interval).unwrap_or(from)
    }
}

impl LiveRollups {
    /// Accumulators for `jobs`, taking over those of `old` with the same
    /// key and grid; new ones start at the period after the metric's last
    /// stored sample (`last(metric id)`), or, when that is not known, at the
    /// period after the first sample they are fed.
    pub(crate) fn build(
        jobs: &Arc<Vec<ExpandedJob>>,
        old: Option<LiveRollups>,
        id_of: impl Fn(&str) -> Option<(MetricId, ValueType)>,
        last: impl Fn(MetricId) -> Option<i64>,
        offsets: impl Fn(&ExpandedJob) -> i64,
    ) -> LiveRollups {
        let mut old_live: std::collections::HashMap<String, LiveJob> = old
            .map(|o| o.live.into_iter().map(|j| (j.key.clone(), j)).collect())
            .unwrap_or_default();
        let mut per_metric: Vec<(MetricId, usize)> = Vec::new();
        let mut live_jobs = Vec::new();
        for job in jobs.iter() {
            let iv = job.interval_ns;
            if iv <= 0 || job.aggregates.is_empty() {
                continue;
            }
            let Some((id, value_type)) = id_of(&job.source_metric) else {
                continue;
            };
            let offset = offsets(job).rem_euclid(iv);
            let live = match old_live.remove(&job.key) {
                Some(j)
                    if j.interval == iv
                        && j.offset == offset
                        && j.value_type == value_type
                        && !j.broken =>
                {
                    j
                }
                _ => {
                    let from = match last(id) {
                        Some(ts) => match grid_floor(ts, offset, iv) {
                            Some(f) => Some(f.saturating_add(iv)),
                            None => continue,
                        },
                        None => None,
                    };
                    LiveJob {
                        key: job.key.clone(),
                        value_type,
                        offset,
                        interval: iv,
                        from,
                        seen: i64::MIN,
                        broken: false,
                        win_start: 0,
                        win_end: i64::MIN,
                        bucket: Bucket::new(job.aggregates.iter().any(|a| a.needs_values())),
                        aggregates: job.aggregates.clone(),
                        rows: Vec::new(),
                    }
                }
            };
            per_metric.push((id, live_jobs.len()));
            live_jobs.push(live);
        }
        per_metric.sort_by_key(|&(id, _)| id);
        let mut by_id = Vec::new();
        let mut order = Vec::with_capacity(per_metric.len());
        for (id, j) in per_metric {
            let i = usize::from(id);
            if by_id.len() <= i {
                by_id.resize(i + 1, (0, 0));
            }
            if by_id[i].1 == 0 {
                by_id[i].0 = order.len() as u32;
            }
            by_id[i].1 += 1;
            order.push(j as u32);
        }
        let index = live_jobs
            .iter()
            .enumerate()
            .map(|(i, j)| (j.key.clone(), i))
            .collect();
        LiveRollups {
            jobs: jobs.clone(),
            by_id,
            order,
            live: live_jobs,
            index,
        }
    }

    /// Whether these accumulators were built for exactly `jobs` and none
    /// of them gave up (a rebuild restarts those after the last sample).
    pub(crate) fn is_for(&self, jobs: &Arc<Vec<ExpandedJob>>) -> bool {
        Arc::ptr_eq(&self.jobs, jobs) && !self.live.iter().any(|j| j.broken)
    }

    /// Makes job `key` give up: its periods were not all written (the
    /// rows are gone), so they must be read back.
    pub(crate) fn invalidate(&mut self, key: &str) {
        if let Some(j) = self.index.get(key).and_then(|&i| self.live.get_mut(i)) {
            j.set_broken();
        }
    }

    /// Feeds page records (parallel columns, arrival order).
    pub(crate) fn feed(&mut self, ids: &[MetricId], ts: &[i64], vals: &[u32]) {
        for ((&id, &t), &v) in ids.iter().zip(ts).zip(vals) {
            let Some(&(first, n)) = self.by_id.get(usize::from(id)) else {
                continue;
            };
            if n == 1 {
                if let Some(j) = self
                    .order
                    .get(first as usize)
                    .and_then(|&j| self.live.get_mut(j as usize))
                {
                    j.push(t, v);
                }
                continue;
            }
            for k in first..first + n {
                if let Some(j) = self
                    .order
                    .get(k as usize)
                    .and_then(|&j| self.live.get_mut(j as usize))
                {
                    j.push(t, v);
                }
            }
        }
    }

    /// The finished rows of job `key` for the periods `[start, end)`, if the
    /// accumulator saw every sample of them; rows before `end` are removed
    /// either way (they are being computed now, from here or the source).
    pub(crate) fn take(
        &mut self,
        key: &str,
        start: i64,
        end: i64,
    ) -> Option<Vec<(usize, i64, f32)>> {
        let live = self.index.get(key).and_then(|&i| self.live.get_mut(i))?;
        let usable =
            !live.broken && live.from.is_some_and(|f| f <= start) && live.closed_before() >= end;
        let split = live.rows.partition_point(|r| r.1 < end);
        let taken: Vec<(usize, i64, f32)> = live.rows.drain(..split).collect();
        if !usable {
            return None;
        }
        Some(taken.into_iter().filter(|r| r.1 >= start).collect())
    }
}

#[inline]
fn to_f64(value_type: ValueType, bits: u32) -> f64 {
    Value::from_bits(value_type, bits).as_f64()
}

/// Start of the period of the grid `offset + k·interval` holding `ts`
/// (`None` when it is below `i64::MIN`).
fn grid_floor(ts: i64, offset: i64, interval: i64) -> Option<i64> {
    let (ts, offset, iv) = (i128::from(ts), i128::from(offset), i128::from(interval));
    i64::try_from(ts - (ts - offset).rem_euclid(iv)).ok()
}

impl std::fmt::Debug for LiveRollups {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveRollups")
            .field("jobs", &self.live.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;
    use std::path::Path;

    const H: i64 = 3_600_000_000_000;

    fn jobs(aggs: &str) -> Arc<Vec<ExpandedJob>> {
        let defaults = config::default_engine_config().manifest_defaults;
        let toml = format!(
            "[rollups]\nenabled = true\n[[rollups.jobs]]\nid = \"j\"\nsource_metric = \"m\"\n\
             interval = \"1h\"\naggregates = [{aggs}]\ndestination_db = \"d\"\n"
        );
        let (m, _) = config::parse_manifest(&toml, &defaults, Path::new("manifest.toml")).unwrap();
        Arc::new(super::super::expand_jobs(&m, &["m".to_string()]))
    }

    fn live(last: Option<i64>) -> LiveRollups {
        LiveRollups::build(
            &jobs("\"min\", \"median\", \"count\""),
            None,
            |m| (m == "m").then_some((3, ValueType::Float32)),
            |_| last,
            |_| 0,
        )
    }

    fn feed(l: &mut LiveRollups, samples: &[(i64, f32)]) {
        let ids = vec![3u16; samples.len()];
        let ts: Vec<i64> = samples.iter().map(|s| s.0).collect();
        let vals: Vec<u32> = samples.iter().map(|s| s.1.to_bits()).collect();
        l.feed(&ids, &ts, &vals);
    }

    #[test]
    fn a_period_is_usable_once_a_later_sample_arrived() {
        let mut l = live(Some(-1));
        feed(&mut l, &[(0, 4.0), (10, f32::NAN), (20, 1.0), (H - 1, 3.0)]);
        // Not closed yet: nothing usable (and nothing lost for the read-back).
        assert_eq!(l.take("j", 0, H), None);
        feed(&mut l, &[(H, 9.0)]);
        // min, median (of 4, 1, 3), count (NaN not counted).
        assert_eq!(
            l.take("j", 0, H),
            Some(vec![(0, 0, 1.0), (1, 0, 3.0), (2, 0, 3.0)])
        );
        // Taken rows are gone.
        feed(&mut l, &[(2 * H, 1.0)]);
        assert_eq!(l.take("j", 0, H), Some(vec![]));
    }

    #[test]
    fn periods_begun_before_installation_are_not_claimed() {
        // The metric's last stored sample is inside hour 0: only hour 1 on.
        let mut l = live(Some(H / 2));
        feed(&mut l, &[(H / 2 + 1, 1.0), (H + 5, 2.0), (2 * H, 3.0)]);
        assert_eq!(l.take("j", 0, H), None);
        assert_eq!(
            l.take("j", H, 2 * H),
            Some(vec![(0, H, 2.0), (1, H, 2.0), (2, H, 1.0)])
        );
        // Unknown last sample: the period of the first sample fed is skipped.
        let mut l = live(None);
        feed(&mut l, &[(5, 1.0), (H + 5, 2.0), (2 * H, 3.0)]);
        assert_eq!(l.take("j", 0, H), None);
        assert!(l.take("j", H, 2 * H).is_some());
    }

    #[test]
    fn out_of_order_input_disables_the_job() {
        let mut l = live(Some(-1));
        feed(&mut l, &[(10, 1.0), (5, 2.0), (2 * H, 3.0)]);
        assert_eq!(l.take("j", 0, H), None);
        assert_eq!(l.take("j", H, 2 * H), None);
    }

    #[test]
    fn inbox_hands_over_pages_and_reports_overflow() {
        let mut inbox = Inbox::default();
        let mut p = Page::new();
        p.push(1, 10, 7);
        p.push(1, 20, 8);
        p.fed = 1;
        inbox.push_tail(&p);
        inbox.push_page(p);
        let pages = inbox.take().unwrap();
        let ts: Vec<i64> = pages.iter().flat_map(|c| c.ts.clone()).collect();
        assert_eq!(ts, [20, 20]);
        inbox.recycle(pages);
        assert!(inbox.reuse().is_some_and(|c| c.ids.is_empty()));
        let mut big = Page::new();
        for i in 0..=MAX_INBOX_RECORDS as i64 {
            big.push(1, i, 0);
        }
        inbox.push_page(big);
        assert!(inbox.take().is_none(), "dropped records must be reported");
        assert!(inbox.take().is_some_and(|p| p.is_empty()));
    }
}
