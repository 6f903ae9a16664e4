//! Windowed aggregate range queries (docs/BEHAVIOUR.md §1.11).
//!
//! The engine, the CLI (`nanocli query --aggregate`), the HTTP API (`query_range` aggregate
//! mode) and rollups all evaluate aggregates through this module, so every caller sees the same
//! numbers for the same data.
//!
//! # Deliberate deviations from v1.4.0
//!
//! * **One evaluation path.** v1.4.0 had two paths (a float32 running sum when only
//!   min/max/sum/avg/count were requested, float64 otherwise) whose results differed in the last
//!   bits depending on the *combination* requested, and whose NaN handling differed (a docs/BEHAVIOUR.md §1.11 quirk).
//!   Here every value is accumulated in `f64` whatever is requested; results are returned as
//!   `f64` and callers narrow to `f32` for output.
//! * **int32 samples are widened exactly** to `f64` (v1.4.0 first narrowed them to `f32`, which
//!   loses precision above 2²⁴).
//! * **Percentiles interpolate in `f64`** instead of `f32`.
//! * **Buckets are floor-aligned** (`ts.div_euclid(window)`): v1.4.0 truncated toward zero, so
//!   every bucket straddling 1970-01-01 was twice as wide for negative timestamps. For
//!   non-negative timestamps both rules agree.
//!
//! # NaN policy (applied identically by every aggregate)
//!
//! NaN samples are **ignored**: they are removed before any aggregate sees the bucket, so
//! `count` counts only non-NaN values and every other aggregate works on the remaining values.
//! A bucket whose samples are all NaN still produces its rows (the bucket is not empty, it just
//! holds no usable value): `count` is `0` and every other built-in aggregate is NaN (including
//! `sum`, so "no usable data" is never confused with "summed to zero").
//! Custom aggregators receive the same NaN-free [`Bucket`] and can inspect
//! [`Bucket::nan_count`] if they care.
//!
//! ±Inf take part normally and IEEE rules apply: `sum`/`avg` of `+Inf` and `-Inf` is NaN;
//! `min`/`max`/percentiles/trimmed mean order them like any value. A percentile that
//! interpolates towards an infinite neighbour returns that infinity (never `Inf − Inf = NaN`).
//!
//! # Registry
//!
//! Aggregates implement the public [`Aggregator`] trait and are looked up by name in an
//! [`Aggregators`] registry. [`default_aggregators`] is the immutable process-wide set of
//! built-ins; an embedding program that wants its own aggregates builds
//! `Aggregators::builtin()`, [`Aggregators::register`]s its own and hands that registry to the
//! engine.

use std::cell::{Cell, OnceCell};
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use thiserror::Error;

use crate::sample::Value;

/// Aggregate used when an HTTP range query has a `step` but no explicit aggregate/window.
pub const DEFAULT_STEP_AGGREGATE: &str = "avg";

/// Errors of aggregate validation; texts match v1.4.0 because clients show them verbatim.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AggregateError {
    /// `to < from`.
    #[error("invalid range: toTS < fromTS")]
    InvalidRange,
    /// The window is zero or negative.
    #[error("window must be > 0")]
    WindowNotPositive,
    /// A requested name is not in the registry (lookup is case-sensitive).
    #[error("unsupported aggregate {name:?} (supported: {supported})")]
    Unsupported {
        /// The trimmed name as requested.
        name: String,
        /// The registry's names, sorted and comma-joined.
        supported: String,
    },
    /// Nothing was left after trimming and dropping blanks.
    #[error("at least one aggregate is required")]
    NoAggregate,
    /// A name given to [`Aggregators::register`] could never be resolved (blank, or with
    /// surrounding whitespace, which resolution trims away).
    #[error("invalid aggregate name {0:?}: must be non-blank without surrounding whitespace")]
    InvalidName(String),
}

/// Checks the inclusive query range `[from, to]`.
pub fn validate_range(from: i64, to: i64) -> Result<(), AggregateError> {
    if to < from {
        return Err(AggregateError::InvalidRange);
    }
    Ok(())
}

/// Checks that a window in nanoseconds is usable.
pub fn validate_window(window_ns: i64) -> Result<(), AggregateError> {
    if window_ns <= 0 {
        return Err(AggregateError::WindowNotPositive);
    }
    Ok(())
}

/// One aggregate function over the values of a bucket.
///
/// Implementations must be cheap to call once per bucket; they are shared between threads.
pub trait Aggregator: Send + Sync {
    /// Name under which the aggregate is registered and requested (case-sensitive).
    fn name(&self) -> &str;

    /// Name used for rollup destination metrics; aliases map to their canonical aggregate
    /// (`trimmed_average` → `trimmed_avg`, docs/BEHAVIOUR.md §1.16).
    fn canonical_name(&self) -> &str {
        self.name()
    }

    /// Whether [`Bucket::values`]/[`Bucket::sorted`] are needed. When no requested aggregate
    /// needs them the windowing does not store values at all (only count/sum/min/max are kept),
    /// so returning `false` while reading them yields empty slices. Defaults to `true` so a
    /// custom aggregate is correct unless it opts out.
    fn needs_values(&self) -> bool {
        true
    }

    /// Computes the aggregate. `bucket` holds at least one sample, but maybe no non-NaN value
    /// (`bucket.count() == 0`); see the module's NaN policy.
    fn compute(&self, bucket: &Bucket) -> f64;
}

/// The non-NaN values of one bucket plus running statistics.
///
/// Sorting happens lazily on the first [`Bucket::sorted`] call and at most once per bucket,
/// so requests without order statistics never sort.
#[derive(Default)]
pub struct Bucket {
    collect: bool,
    values: Vec<f64>,
    sorted: OnceCell<Vec<f64>>,
    /// Allocation of the previous bucket's sorted copy, reused to avoid one allocation per
    /// bucket.
    spare: Cell<Vec<f64>>,
    count: usize,
    nan_count: usize,
    sum: f64,
    min: f64,
    max: f64,
}

impl std::fmt::Debug for Bucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bucket")
            .field("count", &self.count)
            .field("nan_count", &self.nan_count)
            .field("sum", &self.sum())
            .field("min", &self.min())
            .field("max", &self.max())
            .field("values", &self.values)
            .finish_non_exhaustive()
    }
}

impl Bucket {
    /// Builds a bucket from a complete set of values (NaN ignored), e.g. for a rollup period or
    /// to evaluate an aggregator directly.
    pub fn from_values(values: &[f64]) -> Bucket {
        let mut bucket = Bucket::new(true);
        for &v in values {
            bucket.add(v);
        }
        bucket
    }

    pub(crate) fn new(collect: bool) -> Bucket {
        Bucket {
            collect,
            ..Bucket::default()
        }
    }

    pub(crate) fn add(&mut self, v: f64) {
        if v.is_nan() {
            self.nan_count += 1;
            return;
        }
        if self.count == 0 {
            self.sum = v;
            self.min = v;
            self.max = v;
        } else {
            self.sum += v;
            // total_cmp so that -0.0 < +0.0, consistent with the sorted order.
            if v.total_cmp(&self.min).is_lt() {
                self.min = v;
            }
            if v.total_cmp(&self.max).is_gt() {
                self.max = v;
            }
        }
        self.count += 1;
        if self.collect {
            self.values.push(v);
        }
    }

    /// Makes this bucket hold running statistics kept elsewhere (the live
    /// rollups keep their own, cheaper to update): `values` (the non-NaN
    /// values in arrival order, when an aggregate needs them) is swapped in
    /// and the caller gets the bucket's old, emptied vector back.
    pub(crate) fn set_running(
        &mut self,
        count: usize,
        nan_count: usize,
        sum: f64,
        min: f64,
        max: f64,
        values: &mut Vec<f64>,
    ) {
        self.reset();
        std::mem::swap(&mut self.values, values);
        self.count = count;
        self.nan_count = nan_count;
        self.sum = sum;
        self.min = min;
        self.max = max;
    }

    pub(crate) fn reset(&mut self) {
        self.values.clear();
        if let Some(v) = self.sorted.take() {
            self.spare.set(v);
        }
        self.count = 0;
        self.nan_count = 0;
        self.sum = 0.0;
        self.min = 0.0;
        self.max = 0.0;
    }

    /// Number of samples, NaN included; zero only for a bucket that was never filled.
    pub(crate) fn samples(&self) -> usize {
        self.count + self.nan_count
    }

    /// Number of non-NaN values.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Number of NaN samples that were ignored.
    pub fn nan_count(&self) -> usize {
        self.nan_count
    }

    /// Sum of the values in arrival order; NaN when there is no value.
    pub fn sum(&self) -> f64 {
        if self.count == 0 { f64::NAN } else { self.sum }
    }

    /// Smallest value; NaN when there is no value.
    pub fn min(&self) -> f64 {
        if self.count == 0 { f64::NAN } else { self.min }
    }

    /// Largest value; NaN when there is no value.
    pub fn max(&self) -> f64 {
        if self.count == 0 { f64::NAN } else { self.max }
    }

    /// `sum / count`; NaN when there is no value.
    pub fn mean(&self) -> f64 {
        if self.count == 0 {
            f64::NAN
        } else {
            self.sum / self.count as f64
        }
    }

    /// The non-NaN values in arrival order (empty if no requested aggregate needs values).
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// The non-NaN values sorted ascending (`-0.0` before `+0.0`); computed once per bucket.
    pub fn sorted(&self) -> &[f64] {
        self.sorted.get_or_init(|| {
            let mut v = self.spare.take();
            v.clear();
            v.extend_from_slice(&self.values);
            v.sort_unstable_by(f64::total_cmp);
            v
        })
    }
}

/// Type-7 (NumPy default, Hyndman–Fan 7) percentile of ascending, NaN-free `sorted` values;
/// `p` is clamped to `[0, 1]`. Empty input → NaN.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    let n = sorted.len();
    let Some(&first) = sorted.first() else {
        return f64::NAN;
    };
    if n == 1 {
        return first;
    }
    let r = (n - 1) as f64 * p.clamp(0.0, 1.0);
    let lo_f = r.floor();
    let frac = r - lo_f;
    // r ∈ [0, n-1], so the casts stay in range; `get` keeps this panic-free regardless.
    let lo = lo_f as usize;
    let hi = r.ceil() as usize;
    let (Some(&v_lo), Some(&v_hi)) = (sorted.get(lo), sorted.get(hi.min(n - 1))) else {
        return f64::NAN;
    };
    // Equal neighbours (incl. ±Inf pairs) and an infinite lower neighbour would otherwise
    // produce Inf − Inf or Inf·0 = NaN; the limit of the interpolation is v_lo in those cases.
    if lo == hi || frac == 0.0 || v_lo == v_hi || v_lo.is_infinite() {
        return v_lo;
    }
    v_lo + (v_hi - v_lo) * frac
}

/// 5 % trimmed mean of ascending, NaN-free `sorted` values: k = 1 if n < 20 else ⌊n/20⌋,
/// k = 0 if 2k ≥ n; mean of v_k … v_{n−k−1}. Empty input → NaN.
pub fn trimmed_mean(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    let mut k = if n < 20 { 1 } else { n / 20 };
    if 2 * k >= n {
        k = 0;
    }
    let kept = sorted.get(k..n - k).unwrap_or(&[]);
    if kept.is_empty() {
        return f64::NAN;
    }
    kept.iter().sum::<f64>() / kept.len() as f64
}

struct Min;
struct Max;
struct Sum;
struct Avg;
struct Count;

impl Aggregator for Min {
    fn name(&self) -> &str {
        "min"
    }
    fn needs_values(&self) -> bool {
        false
    }
    fn compute(&self, bucket: &Bucket) -> f64 {
        bucket.min()
    }
}

impl Aggregator for Max {
    fn name(&self) -> &str {
        "max"
    }
    fn needs_values(&self) -> bool {
        false
    }
    fn compute(&self, bucket: &Bucket) -> f64 {
        bucket.max()
    }
}

impl Aggregator for Sum {
    fn name(&self) -> &str {
        "sum"
    }
    fn needs_values(&self) -> bool {
        false
    }
    fn compute(&self, bucket: &Bucket) -> f64 {
        bucket.sum()
    }
}

impl Aggregator for Avg {
    fn name(&self) -> &str {
        "avg"
    }
    fn needs_values(&self) -> bool {
        false
    }
    fn compute(&self, bucket: &Bucket) -> f64 {
        bucket.mean()
    }
}

impl Aggregator for Count {
    fn name(&self) -> &str {
        "count"
    }
    fn needs_values(&self) -> bool {
        false
    }
    fn compute(&self, bucket: &Bucket) -> f64 {
        bucket.count() as f64
    }
}

struct Percentile {
    name: &'static str,
    p: f64,
}

impl Aggregator for Percentile {
    fn name(&self) -> &str {
        self.name
    }
    fn compute(&self, bucket: &Bucket) -> f64 {
        percentile(bucket.sorted(), self.p)
    }
}

struct TrimmedMean {
    name: &'static str,
}

impl Aggregator for TrimmedMean {
    fn name(&self) -> &str {
        self.name
    }
    fn canonical_name(&self) -> &str {
        "trimmed_avg"
    }
    fn compute(&self, bucket: &Bucket) -> f64 {
        trimmed_mean(bucket.sorted())
    }
}

/// A set of aggregates addressable by name.
#[derive(Clone, Default)]
pub struct Aggregators {
    by_name: BTreeMap<String, Arc<dyn Aggregator>>,
}

impl std::fmt::Debug for Aggregators {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.by_name.keys()).finish()
    }
}

impl Aggregators {
    /// An empty registry.
    pub fn new() -> Aggregators {
        Aggregators::default()
    }

    /// The 11 built-in aggregates of v1.4.0 (`median` = `p50`, `trimmed_average` =
    /// `trimmed_avg`; aliases are separate entries so rows carry the name as requested).
    pub fn builtin() -> Aggregators {
        let builtins: [Arc<dyn Aggregator>; 11] = [
            Arc::new(Avg),
            Arc::new(Count),
            Arc::new(Max),
            Arc::new(Min),
            Arc::new(Sum),
            Arc::new(Percentile {
                name: "median",
                p: 0.5,
            }),
            Arc::new(Percentile {
                name: "p50",
                p: 0.5,
            }),
            Arc::new(Percentile {
                name: "p95",
                p: 0.95,
            }),
            Arc::new(Percentile {
                name: "p99",
                p: 0.99,
            }),
            Arc::new(TrimmedMean {
                name: "trimmed_avg",
            }),
            Arc::new(TrimmedMean {
                name: "trimmed_average",
            }),
        ];
        let by_name = builtins
            .into_iter()
            .map(|a| (a.name().to_owned(), a))
            .collect();
        Aggregators { by_name }
    }

    /// Adds `agg` under its [`Aggregator::name`], replacing (and returning) any aggregate of
    /// the same name. Names that resolution could never match are refused.
    pub fn register(
        &mut self,
        agg: Arc<dyn Aggregator>,
    ) -> Result<Option<Arc<dyn Aggregator>>, AggregateError> {
        let name = agg.name();
        if name.is_empty() || name.trim() != name {
            return Err(AggregateError::InvalidName(name.to_owned()));
        }
        Ok(self.by_name.insert(name.to_owned(), agg))
    }

    /// Case-sensitive lookup of an exact name.
    pub fn get(&self, name: &str) -> Option<Arc<dyn Aggregator>> {
        self.by_name.get(name).cloned()
    }

    /// Registered names, sorted byte-wise (`…, trimmed_average, trimmed_avg`), as served by
    /// `GET /api/v1/aggregates`.
    pub fn names(&self) -> Vec<String> {
        self.by_name.keys().cloned().collect()
    }

    /// Resolves a request; see the free function [`resolve`].
    pub fn resolve<S: AsRef<str>>(
        &self,
        names: &[S],
    ) -> Result<Vec<Arc<dyn Aggregator>>, AggregateError> {
        let mut seen: Vec<&str> = Vec::with_capacity(names.len());
        let mut out = Vec::with_capacity(names.len());
        for name in names {
            let name = name.as_ref().trim();
            if name.is_empty() || seen.contains(&name) {
                continue;
            }
            let agg = self.get(name).ok_or_else(|| AggregateError::Unsupported {
                name: name.to_owned(),
                supported: self.names().join(","),
            })?;
            seen.push(name);
            out.push(agg);
        }
        if out.is_empty() {
            return Err(AggregateError::NoAggregate);
        }
        Ok(out)
    }
}

/// The process-wide built-in registry (immutable; see the module docs for custom aggregates).
pub fn default_aggregators() -> &'static Aggregators {
    static DEFAULT: OnceLock<Aggregators> = OnceLock::new();
    DEFAULT.get_or_init(Aggregators::builtin)
}

/// Resolves requested names in request order: each is trimmed, blanks and duplicates are
/// dropped, lookup is case-sensitive. Unknown → [`AggregateError::Unsupported`]; nothing left →
/// [`AggregateError::NoAggregate`].
pub fn resolve<S: AsRef<str>>(
    registry: &Aggregators,
    names: &[S],
) -> Result<Vec<Arc<dyn Aggregator>>, AggregateError> {
    registry.resolve(names)
}

/// One aggregate value of one bucket.
#[derive(Debug, Clone, PartialEq)]
pub struct AggregateRow {
    /// Position of the aggregate in the resolved request, so callers can group rows into
    /// series without comparing strings.
    pub index: usize,
    /// Aggregate name as requested (after trimming).
    pub aggregate: Arc<str>,
    /// Window length in nanoseconds.
    pub window_ns: i64,
    /// `max(bucket_start, from)`.
    pub start: i64,
    /// `min(bucket_start + window, to)`; HTTP reports this as the point's timestamp.
    pub end: i64,
    /// The aggregate's value (callers narrow to `f32` for output).
    pub value: f64,
}

/// Streaming windowed aggregation over samples in delivery order.
///
/// A sample's bucket is `⌊ts / window⌋` (floor, so buckets before 1970 are epoch-aligned too).
/// A bucket is emitted when a sample falls into a different bucket, and at [`finish`]; with
/// unsorted input the same bucket can therefore be emitted more than once, as in v1.4.0.
/// Samples outside `[from, to]` are ignored.
///
/// [`finish`]: WindowedAggregation::finish
pub struct WindowedAggregation {
    from: i64,
    to: i64,
    window_ns: i64,
    aggs: Vec<Arc<dyn Aggregator>>,
    names: Vec<Arc<str>>,
    /// Index (`ts.div_euclid(window)`) of the bucket being filled, if any; the index rather
    /// than the start so that buckets near `i64::MIN` cannot overflow.
    current: Option<i64>,
    /// `[cur_lo, cur_hi)`: timestamps of bucket `current` (empty if unknown).
    cur_lo: i64,
    cur_hi: i64,
    bucket: Bucket,
}

impl std::fmt::Debug for WindowedAggregation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WindowedAggregation")
            .field("from", &self.from)
            .field("to", &self.to)
            .field("window_ns", &self.window_ns)
            .field("aggregates", &self.names)
            .field("current", &self.current)
            .finish_non_exhaustive()
    }
}

impl WindowedAggregation {
    /// Validates the query (`invalid range`, `window must be > 0`, at least one aggregate).
    pub fn new(
        from: i64,
        to: i64,
        window_ns: i64,
        aggs: Vec<Arc<dyn Aggregator>>,
    ) -> Result<WindowedAggregation, AggregateError> {
        validate_range(from, to)?;
        validate_window(window_ns)?;
        if aggs.is_empty() {
            return Err(AggregateError::NoAggregate);
        }
        let collect = aggs.iter().any(|a| a.needs_values());
        let names = aggs.iter().map(|a| Arc::from(a.name())).collect();
        Ok(WindowedAggregation {
            from,
            to,
            window_ns,
            aggs,
            names,
            current: None,
            cur_lo: 0,
            cur_hi: 0,
            bucket: Bucket::new(collect),
        })
    }

    /// Adds one sample, first emitting the previous bucket if `ts` belongs to another one.
    /// An error from `emit` is returned at once (the engine stops the scan).
    pub fn push<E>(
        &mut self,
        ts: i64,
        value: f64,
        emit: &mut impl FnMut(AggregateRow) -> Result<(), E>,
    ) -> Result<(), E> {
        if ts < self.from || ts > self.to {
            return Ok(());
        }
        // Consecutive samples mostly share a bucket: compare with its bounds
        // before paying for a division.
        if !(self.current.is_some() && ts >= self.cur_lo && ts < self.cur_hi) {
            let index = ts.div_euclid(self.window_ns);
            if self.current != Some(index) {
                self.flush(emit)?;
                self.current = Some(index);
            }
            // Bounds as i128 products can leave i64 near its ends: then keep
            // dividing (the empty range never matches).
            let lo = i128::from(index) * i128::from(self.window_ns);
            match (
                i64::try_from(lo),
                i64::try_from(lo + i128::from(self.window_ns)),
            ) {
                (Ok(l), Ok(h)) => (self.cur_lo, self.cur_hi) = (l, h),
                _ => (self.cur_lo, self.cur_hi) = (0, 0),
            }
        }
        self.bucket.add(value);
        Ok(())
    }

    /// [`push`](WindowedAggregation::push) for a stored sample; int32 is widened exactly.
    pub fn push_value<E>(
        &mut self,
        ts: i64,
        value: Value,
        emit: &mut impl FnMut(AggregateRow) -> Result<(), E>,
    ) -> Result<(), E> {
        self.push(ts, value.as_f64(), emit)
    }

    /// Emits the last open bucket, if any.
    pub fn finish<E>(
        mut self,
        emit: &mut impl FnMut(AggregateRow) -> Result<(), E>,
    ) -> Result<(), E> {
        self.flush(emit)
    }

    fn flush<E>(&mut self, emit: &mut impl FnMut(AggregateRow) -> Result<(), E>) -> Result<(), E> {
        let Some(index) = self.current.take() else {
            return Ok(());
        };
        if self.bucket.samples() == 0 {
            return Ok(());
        }
        // i128: index·window and +window may leave the i64 range near its ends; clipping to
        // [from, to] always brings the result back into range.
        let start = i128::from(index) * i128::from(self.window_ns);
        let end = start + i128::from(self.window_ns);
        let start = clamp_i64(start.max(i128::from(self.from)));
        let end = clamp_i64(end.min(i128::from(self.to)));
        let result =
            self.aggs
                .iter()
                .zip(&self.names)
                .enumerate()
                .try_for_each(|(i, (agg, name))| {
                    emit(AggregateRow {
                        index: i,
                        aggregate: Arc::clone(name),
                        window_ns: self.window_ns,
                        start,
                        end,
                        value: agg.compute(&self.bucket),
                    })
                });
        self.bucket.reset();
        result
    }
}

fn clamp_i64(v: i128) -> i64 {
    i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX })
}

#[cfg(test)]
mod tests;
