//! Live rollup accumulators: the rolled-up metrics' samples are aggregated
//! as they are stored, so that a pass finds its periods already summed up
//! instead of reading them back from the files.
//!
//! They live in the source database's state and the write path feeds them
//! every sample it stores, under the database lock it already holds, while
//! the sample is in registers (a few dozen instructions: one compare for the
//! period and a running count/sum/min/max in one cache line per job; values
//! are kept only for aggregates that need them). Samples arrive in
//! per-metric non-decreasing order; a sample stored before an accumulator
//! existed is older than the point it starts from (the metric's newest
//! sample then), so nothing is missed. A finished period is kept as running
//! statistics; a pass takes them and evaluates the aggregates after
//! releasing the lock, so the background worker never walks the samples
//! again and the writers never wait for an aggregate. A period is final once
//! a later sample of its metric has been fed.
//!
//! They are an optimisation only. For the periods `[start, end)` a pass is
//! about to write, it takes the ones the accumulator saw every sample of:
//! those from `from` (the period after the metric's newest sample when the
//! accumulator was built) up to the period of the newest sample fed, which
//! must be at or past `end`; it reads `[start, from)` back from the source.
//! Everything is read back when the accumulator cannot help: a metric whose
//! newest sample was not known when it was due (see
//! [`LiveRollups::build`]), a job invalidated after a failed write, one that
//! gave up (too many periods or values held, a sample older than the period
//! being filled), the engine just restarted. The outputs are the same
//! either way.

use std::sync::Arc;

use crate::aggregate::{Aggregator, Bucket};
use crate::sample::{MetricId, Value, ValueType};

use super::ExpandedJob;

/// (aggregate index, period start, value) of a finished period.
pub(crate) type Row = (usize, i64, f32);

/// Finished periods a job may hold before it gives up (and its periods are
/// read back from the source instead): bounds memory when passes stop
/// running (or wait out a long grace).
const MAX_PERIODS_PER_JOB: usize = 1 << 16;
/// Values (of aggregates that need them) its finished periods may hold.
const MAX_VALUES_PER_JOB: usize = 1 << 20;

/// A finished period's running statistics. The pass evaluates the
/// aggregates on it ([`rows_of`]) after releasing the database lock: an
/// aggregate may sort the period's values, or be a user's own.
#[derive(Debug)]
pub(crate) struct Period {
    start: i64,
    count: u64,
    nan_count: u64,
    sum: f64,
    min: f64,
    max: f64,
    /// The non-NaN values in arrival order, when an aggregate needs them.
    values: Vec<f64>,
}

/// The output rows of `periods` for a job with `aggregates`.
pub(crate) fn rows_of(periods: Vec<Period>, aggregates: &[Arc<dyn Aggregator>]) -> Vec<Row> {
    let mut bucket = Bucket::new(false);
    let mut rows = Vec::with_capacity(periods.len() * aggregates.len());
    for mut p in periods {
        bucket.set_running(
            p.count as usize,
            p.nan_count as usize,
            p.sum,
            p.min,
            p.max,
            &mut p.values,
        );
        for (i, agg) in aggregates.iter().enumerate() {
            rows.push((i, p.start, agg.compute(&bucket) as f32));
        }
    }
    rows
}

/// The accumulators of one source database.
pub(crate) struct LiveRollups {
    /// Identity of the expansion the accumulators were built for.
    jobs: Arc<Vec<ExpandedJob>>,
    /// Per metric id: `(first, count)` of its accumulators in `hot`/`live`
    /// (which are ordered by metric id).
    by_id: Vec<(u32, u32)>,
    /// Per metric id: the index of its only accumulator when that one keeps
    /// no values (the fast path), else `u32::MAX`.
    fast: Vec<u32>,
    /// What the feed touches per sample, one cache line per job.
    hot: Vec<Hot>,
    live: Vec<LiveJob>,
    /// Job key → index into `live`.
    index: std::collections::HashMap<String, usize>,
}

/// The running statistics of the period being filled and what decides
/// whether a sample belongs to it. The fast path of the feed reads and
/// writes only this.
#[derive(Debug, Clone, Copy)]
#[repr(align(64))]
struct Hot {
    /// `[win_start, win_start + span)`: the period being filled, which is
    /// the period of the newest sample fed; one unsigned compare tells
    /// whether a sample is in it. `span` is 0 when there is none or the job
    /// is broken, so that the fast path never matches. Before the first
    /// period the accumulator sees, it is `[i64::MIN, from)`, whose samples
    /// are dropped when it closes (cheaper than testing `from` each time).
    win_start: i64,
    span: u64,
    /// Sum in arrival order, from `-0.0` (`-0.0 + v == v` for every `v`).
    sum: f64,
    /// Smallest and largest value as [`f64::total_cmp`] keys.
    min_key: i64,
    max_key: i64,
    count: u64,
    nan_count: u64,
    /// How the stored bits read as a number.
    value_type: ValueType,
    /// An aggregate needs the values themselves.
    collect: bool,
}

impl Hot {
    fn new(value_type: ValueType, collect: bool) -> Hot {
        let mut h = Hot {
            win_start: 0,
            span: 0,
            sum: 0.0,
            min_key: 0,
            max_key: 0,
            count: 0,
            nan_count: 0,
            value_type,
            collect,
        };
        h.clear();
        h
    }

    /// Whether `t` is in the period being filled.
    #[inline(always)]
    fn holds(&self, t: i64) -> bool {
        (t as u64).wrapping_sub(self.win_start as u64) < self.span
    }

    fn has_window(&self) -> bool {
        self.span != 0
    }

    /// Makes `[start, start + span)` the period being filled (`span` as
    /// u64: a period may reach past `i64::MAX`).
    fn open(&mut self, start: i64, span: u64) {
        self.win_start = start;
        self.span = span;
    }

    fn clear(&mut self) {
        self.sum = -0.0;
        self.min_key = i64::MAX;
        self.max_key = i64::MIN;
        self.count = 0;
        self.nan_count = 0;
    }

    /// Adds a value of the period being filled and returns it; `None` for
    /// NaN, which is only counted.
    #[inline(always)]
    fn add(&mut self, bits: u64) -> Option<f64> {
        let v = Value::from_bits(self.value_type, bits).as_f64();
        if v.is_nan() {
            self.nan_count += 1;
            return None;
        }
        self.sum += v;
        let key = order_key(v);
        self.min_key = self.min_key.min(key);
        self.max_key = self.max_key.max(key);
        self.count += 1;
        Some(v)
    }
}

/// The integer whose order is [`f64::total_cmp`]'s; its own inverse.
#[inline(always)]
fn order_key(v: f64) -> i64 {
    let k = v.to_bits() as i64;
    k ^ ((((k >> 63) as u64) >> 1) as i64)
}

fn from_order_key(k: i64) -> f64 {
    f64::from_bits((k ^ ((((k >> 63) as u64) >> 1) as i64)) as u64)
}

/// The rest of one expanded job's accumulator.
struct LiveJob {
    /// Checkpoint key of the job.
    key: String,
    value_type: ValueType,
    /// Grid offset (`period start mod interval`).
    offset: i64,
    interval: i64,
    /// First period start whose every sample this accumulator sees (the
    /// one after the metric's newest sample when it was built).
    from: i64,
    /// Set on any anomaly; the job's periods are then read back instead.
    broken: bool,
    /// The period's non-NaN values in arrival order, when `Hot::collect`.
    values: Vec<f64>,
    /// Finished periods, oldest first, and the values they hold.
    done: Vec<Period>,
    held: usize,
}

impl LiveJob {
    /// Adds one sample. Fast path: inside the period being filled
    /// (`win_end` is set so that it never matches while the job is broken
    /// or has no period yet).
    ///
    /// Only a sample before that period counts as out of order (and
    /// disables the job): inside a period, order matters to no aggregate
    /// but the last bits of a sum, and the engine stores each metric's
    /// samples in non-decreasing order anyway; not tracking it keeps the
    /// writer's feed to one compare per bound.
    #[inline(always)]
    fn push(&mut self, hot: &mut Hot, ts: i64, bits: u64) {
        if hot.holds(ts) {
            self.add(hot, bits);
        } else {
            self.push_slow(hot, ts, bits);
        }
    }

    /// Adds a sample of the period being filled (and its value, for the
    /// aggregates that need values, within the job's cap).
    #[inline(always)]
    fn add(&mut self, hot: &mut Hot, bits: u64) {
        if let Some(v) = hot.add(bits)
            && hot.collect
        {
            self.values.push(v);
            if self.values.len() + self.held > MAX_VALUES_PER_JOB {
                self.set_broken(hot);
            }
        }
    }

    #[inline(never)]
    fn push_slow(&mut self, hot: &mut Hot, ts: i64, bits: u64) {
        if self.broken || ts < self.from {
            return;
        }
        if hot.has_window() && ts < hot.win_start {
            // Stored order is non-decreasing per metric; never trust it blindly.
            self.set_broken(hot);
            return;
        }
        // Not in the period being filled, not before it: a later one.
        self.close_window(hot);
        if self.broken {
            return;
        }
        let Some(start) = grid_floor(ts, self.offset, self.interval) else {
            self.set_broken(hot);
            return;
        };
        hot.open(start, self.interval as u64);
        self.add(hot, bits);
    }

    fn set_broken(&mut self, hot: &mut Hot) {
        self.broken = true;
        self.done = Vec::new();
        self.held = 0;
        self.values = Vec::new();
        hot.span = 0;
        hot.clear();
    }

    /// Keeps the period being filled, if it has samples, for the next pass
    /// (no aggregate runs here: this is the writer's lock).
    fn close_window(&mut self, hot: &mut Hot) {
        if hot.win_start < self.from {
            // The samples before `from`: not ours to claim.
            self.values.clear();
        } else if hot.count + hot.nan_count > 0 {
            let values = std::mem::take(&mut self.values);
            self.held += values.len();
            self.done.push(Period {
                start: hot.win_start,
                count: hot.count,
                nan_count: hot.nan_count,
                sum: hot.sum,
                min: from_order_key(hot.min_key),
                max: from_order_key(hot.max_key),
                values,
            });
            if self.done.len() > MAX_PERIODS_PER_JOB || self.held > MAX_VALUES_PER_JOB {
                self.set_broken(hot);
                return;
            }
        }
        hot.clear();
    }

    /// Start of the period of the newest sample: every earlier period (from
    /// `from` on) is complete.
    fn closed_before(&self, hot: &Hot) -> i64 {
        if !hot.has_window() {
            return self.from;
        }
        hot.win_start.max(self.from)
    }
}

impl LiveRollups {
    /// Accumulators for `jobs`, taking over those of `old` with the same
    /// key and grid; new ones start at the period after the metric's last
    /// stored sample (`last(metric id)`).
    ///
    /// A metric whose last sample is not known (`last` says `None`: the
    /// database did not find it at open, so its stored order is not
    /// checked against the files and a sample older than the files' newest
    /// could be fed, and the periods after it claimed without the samples
    /// on disk) gets none; its periods are read back instead (an idle
    /// metric's few periods).
    pub(crate) fn build(
        jobs: &Arc<Vec<ExpandedJob>>,
        old: Option<LiveRollups>,
        id_of: impl Fn(&str) -> Option<(MetricId, ValueType)>,
        last: impl Fn(MetricId) -> Option<i64>,
        offsets: impl Fn(&ExpandedJob) -> i64,
    ) -> LiveRollups {
        let mut old_live: std::collections::HashMap<String, (Hot, LiveJob)> = old
            .map(|o| {
                o.hot
                    .into_iter()
                    .zip(o.live)
                    .map(|(h, j)| (j.key.clone(), (h, j)))
                    .collect()
            })
            .unwrap_or_default();
        let mut built: Vec<(MetricId, Hot, LiveJob)> = Vec::new();
        for job in jobs.iter() {
            let iv = job.interval_ns;
            if iv <= 0 || job.aggregates.is_empty() {
                continue;
            }
            let Some((id, value_type)) = id_of(&job.source_metric) else {
                continue;
            };
            let offset = offsets(job).rem_euclid(iv);
            let (hot, live) = match old_live.remove(&job.key) {
                Some((h, j))
                    if j.interval == iv
                        && j.offset == offset
                        && j.value_type == value_type
                        && !j.broken =>
                {
                    (h, j)
                }
                _ => {
                    let Some(ts) = last(id) else {
                        continue;
                    };
                    let Some(from) = grid_floor(ts, offset, iv).map(|f| f.saturating_add(iv))
                    else {
                        continue;
                    };
                    let collect = job.aggregates.iter().any(|a| a.needs_values());
                    (
                        {
                            let mut h = Hot::new(value_type, collect);
                            h.open(i64::MIN, (from as u64).wrapping_sub(i64::MIN as u64));
                            h
                        },
                        LiveJob {
                            key: job.key.clone(),
                            value_type,
                            offset,
                            interval: iv,
                            from,
                            broken: false,
                            values: Vec::new(),
                            done: Vec::new(),
                            held: 0,
                        },
                    )
                }
            };
            built.push((id, hot, live));
        }
        // Grouped by metric, in job order within a metric.
        built.sort_by_key(|b| b.0);
        let mut by_id: Vec<(u32, u32)> = Vec::new();
        let mut hot = Vec::with_capacity(built.len());
        let mut live = Vec::with_capacity(built.len());
        for (id, h, j) in built {
            let i = usize::from(id);
            if by_id.len() <= i {
                by_id.resize(i + 1, (0, 0));
            }
            if by_id[i].1 == 0 {
                by_id[i].0 = live.len() as u32;
            }
            by_id[i].1 += 1;
            hot.push(h);
            live.push(j);
        }
        let fast = by_id
            .iter()
            .map(|&(first, n)| {
                let single = n == 1 && hot.get(first as usize).is_some_and(|h: &Hot| !h.collect);
                if single { first } else { u32::MAX }
            })
            .collect();
        let index = live
            .iter()
            .enumerate()
            .map(|(i, j)| (j.key.clone(), i))
            .collect();
        LiveRollups {
            jobs: jobs.clone(),
            by_id,
            fast,
            hot,
            live,
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
        if let Some(&i) = self.index.get(key)
            && let (Some(j), Some(h)) = (self.live.get_mut(i), self.hot.get_mut(i))
        {
            j.set_broken(h);
        }
    }

    /// Feeds one stored sample (called by the write path, under the
    /// database lock, for every sample it stores).
    #[inline]
    pub(crate) fn feed(&mut self, id: MetricId, t: i64, v: u64) {
        // The usual case (one job for the metric, no values kept, the
        // sample in the period being filled) touches the metric's `fast`
        // entry and the job's `Hot` line only.
        if let Some(&k) = self.fast.get(usize::from(id))
            && let Some(h) = self.hot.get_mut(k as usize)
            && h.holds(t)
        {
            h.add(v);
            return;
        }
        self.feed_slow(id, t, v);
    }

    #[inline(never)]
    fn feed_slow(&mut self, id: MetricId, t: i64, v: u64) {
        let Some(&(first, n)) = self.by_id.get(usize::from(id)) else {
            return;
        };
        let first = first as usize;
        for k in first..first + n as usize {
            if let (Some(h), Some(j)) = (self.hot.get_mut(k), self.live.get_mut(k)) {
                j.push(h, t, v);
            }
        }
    }

    /// The finished periods of job `key` in `[start, end)` that the
    /// accumulator saw every sample of: `(from, periods)` where the periods
    /// cover `[from, end)` and those in `[start, from)` (before the
    /// accumulator existed) must be read back; `None` when it cannot help.
    /// Periods before `end` are removed either way (they are being computed
    /// now, from here or the source).
    pub(crate) fn take(&mut self, key: &str, start: i64, end: i64) -> Option<(i64, Vec<Period>)> {
        let i = *self.index.get(key)?;
        let (live, hot) = (self.live.get_mut(i)?, self.hot.get(i)?);
        let split = live.done.partition_point(|p| p.start < end);
        let taken: Vec<Period> = live.done.drain(..split).collect();
        if live.done.is_empty() && live.done.capacity() > 64 {
            // A backlog was drained: give its memory back.
            live.done = Vec::new();
        }
        live.held = live
            .held
            .saturating_sub(taken.iter().map(|p| p.values.len()).sum());
        let from = live.from.max(start);
        if live.broken || from >= end || live.closed_before(hot) < end {
            return None;
        }
        Some((
            from,
            taken.into_iter().filter(|p| p.start >= from).collect(),
        ))
    }
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

    const AGGS: &str = "\"min\", \"median\", \"count\"";

    fn live(last: Option<i64>) -> LiveRollups {
        LiveRollups::build(
            &jobs(AGGS),
            None,
            |m| (m == "m").then_some((3, ValueType::Float32)),
            |_| last,
            |_| 0,
        )
    }

    /// `take`, with the periods' aggregates evaluated for `aggs`.
    fn take_rows(l: &mut LiveRollups, aggs: &str, start: i64, end: i64) -> Option<(i64, Vec<Row>)> {
        let (from, periods) = l.take("j", start, end)?;
        Some((from, rows_of(periods, &jobs(aggs)[0].aggregates)))
    }

    fn take(l: &mut LiveRollups, start: i64, end: i64) -> Option<(i64, Vec<Row>)> {
        take_rows(l, AGGS, start, end)
    }

    fn feed(l: &mut LiveRollups, samples: &[(i64, f32)]) {
        for &(ts, v) in samples {
            l.feed(3, ts, u64::from(v.to_bits()));
        }
    }

    #[test]
    fn a_period_is_usable_once_a_later_sample_arrived() {
        let mut l = live(Some(-1));
        feed(&mut l, &[(0, 4.0), (10, f32::NAN), (20, 1.0), (H - 1, 3.0)]);
        // Not closed yet: nothing usable (and nothing lost for the read-back).
        assert_eq!(take(&mut l, 0, H), None);
        feed(&mut l, &[(H, 9.0)]);
        // min, median (of 4, 1, 3), count (NaN not counted).
        assert_eq!(
            take(&mut l, 0, H),
            Some((0, vec![(0, 0, 1.0), (1, 0, 3.0), (2, 0, 3.0)]))
        );
        // Taken rows are gone.
        feed(&mut l, &[(2 * H, 1.0)]);
        assert_eq!(take(&mut l, 0, H), Some((0, vec![])));
    }

    #[test]
    fn periods_begun_before_installation_are_not_claimed() {
        // The metric's last stored sample is inside hour 0: only hour 1 on.
        let mut l = live(Some(H / 2));
        feed(&mut l, &[(H / 2 + 1, 1.0), (H + 5, 2.0), (2 * H, 3.0)]);
        assert_eq!(take(&mut l, 0, H), None);
        // A range starting earlier gets the hours it saw, and where they
        // begin: the hours before are to be read back.
        assert_eq!(
            take(&mut l, 0, 2 * H),
            Some((H, vec![(0, H, 2.0), (1, H, 2.0), (2, H, 1.0)]))
        );
        // Unknown last sample: no accumulator.
        let mut l = live(None);
        feed(&mut l, &[(5, 1.0), (H + 5, 2.0), (2 * H, 3.0)]);
        assert_eq!(take(&mut l, H, 2 * H), None);
    }

    #[test]
    fn out_of_order_input_disables_the_job() {
        let mut l = live(Some(-1));
        feed(
            &mut l,
            &[(10, 1.0), (H + 5, 2.0), (H - 1, 3.0), (3 * H, 4.0)],
        );
        assert_eq!(take(&mut l, 0, H), None);
        assert_eq!(take(&mut l, H, 2 * H), None);
        assert_eq!(take(&mut l, 2 * H, 3 * H), None);
    }

    #[test]
    fn running_statistics_equal_a_bucket_bit_for_bit() {
        let all = "\"min\", \"max\", \"sum\", \"avg\", \"count\", \"median\"";
        let cases: [&[f32]; 6] = [
            &[-0.0, -0.0],
            &[0.0, -0.0],
            &[-0.0, 0.0, f32::NAN],
            &[f32::INFINITY, f32::NEG_INFINITY, 1.5],
            &[f32::NAN],
            &[3.25, -7.5, 1e30, -1e-30, 2.0],
        ];
        for values in cases {
            let mut l = LiveRollups::build(
                &jobs(all),
                None,
                |m| (m == "m").then_some((3, ValueType::Float32)),
                |_| Some(-1),
                |_| 0,
            );
            let samples: Vec<(i64, f32)> = values
                .iter()
                .enumerate()
                .map(|(i, &v)| (i as i64, v))
                .chain([(H, 0.0)])
                .collect();
            feed(&mut l, &samples);
            let rows = take_rows(&mut l, all, 0, H).expect("period complete");
            let widened: Vec<f64> = values.iter().map(|&v| f64::from(v)).collect();
            let bucket = Bucket::from_values(&widened);
            let job = &jobs(all)[0];
            let want: Vec<(usize, i64, u32)> = job
                .aggregates
                .iter()
                .enumerate()
                .map(|(i, a)| (i, 0, (a.compute(&bucket) as f32).to_bits()))
                .collect();
            let got: Vec<(usize, i64, u32)> = rows
                .1
                .iter()
                .map(|&(i, t, v)| (i, t, v.to_bits()))
                .collect();
            assert_eq!(got, want, "values {values:?}");
        }
    }

    #[test]
    fn a_job_holding_too_much_gives_up_and_stays_closed() {
        let closed = |l: &LiveRollups| {
            l.live[0].broken
                && l.hot[0].span == 0
                && l.hot[0].count == 0
                && l.live[0].done.is_empty()
                && l.live[0].values.is_empty()
        };
        // Too many finished periods: the sample closing the last one must
        // not open another.
        let mut l = live(Some(-1));
        for k in 0..=MAX_PERIODS_PER_JOB as i64 {
            l.feed(3, k * H, u64::from(1.0f32.to_bits()));
        }
        assert!(!l.live[0].broken);
        l.feed(
            3,
            (MAX_PERIODS_PER_JOB as i64 + 1) * H,
            u64::from(1.0f32.to_bits()),
        );
        assert!(closed(&l));
        assert_eq!(take(&mut l, 0, 2 * H), None);
        // Too many values (`median` keeps them), also in the period being
        // filled.
        let mut l = live(Some(-1));
        for i in 0..=MAX_VALUES_PER_JOB as i64 {
            l.feed(3, i, u64::from(1.0f32.to_bits()));
        }
        assert!(closed(&l));
        l.feed(3, 2 * H, u64::from(1.0f32.to_bits()));
        assert!(closed(&l));
        assert_eq!(take(&mut l, 0, 2 * H), None);
    }
}
