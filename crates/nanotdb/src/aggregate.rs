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
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::convert::Infallible;

    /// The eleven documented names, in the order the tables below use.
    const ALL: [&str; 11] = [
        "avg",
        "count",
        "max",
        "median",
        "min",
        "p50",
        "p95",
        "p99",
        "sum",
        "trimmed_avg",
        "trimmed_average",
    ];

    /// Evaluates every built-in on `values` through the windowed path (one bucket), in `ALL`
    /// order.
    fn eval_all(values: &[f64]) -> Vec<(String, f64)> {
        let aggs = default_aggregators().resolve(&ALL).unwrap();
        let mut w = WindowedAggregation::new(0, 1_000, 1_000, aggs).unwrap();
        let mut rows = Vec::new();
        let mut emit = |r: AggregateRow| {
            rows.push(r);
            Ok::<(), Infallible>(())
        };
        for (i, &v) in values.iter().enumerate() {
            w.push(i as i64, v, &mut emit).unwrap();
        }
        w.finish(&mut emit).unwrap();
        assert_eq!(rows.len(), ALL.len());
        rows.into_iter()
            .map(|r| (r.aggregate.to_string(), r.value))
            .collect()
    }

    /// Exact comparison, except that decimal interpolation results are compared within a
    /// relative 1e-12 (their hand-computed decimal form is not representable exactly).
    fn same(actual: f64, expected: f64) -> bool {
        if expected.is_nan() {
            return actual.is_nan();
        }
        if expected.is_infinite() || expected == 0.0 {
            return actual == expected;
        }
        ((actual - expected) / expected).abs() <= 1e-12
    }

    /// Hand-computed expectations: [avg, count, max, min, sum, p50(=median), p95, p99, trimmed].
    fn check(label: &str, values: &[f64], e: [f64; 9]) {
        let [avg, count, max, min, sum, p50, p95, p99, trimmed] = e;
        let expected = [
            ("avg", avg),
            ("count", count),
            ("max", max),
            ("median", p50),
            ("min", min),
            ("p50", p50),
            ("p95", p95),
            ("p99", p99),
            ("sum", sum),
            ("trimmed_avg", trimmed),
            ("trimmed_average", trimmed),
        ];
        let got = eval_all(values);
        for ((name, value), (ename, evalue)) in got.iter().zip(expected) {
            assert_eq!(name, ename, "{label}: order");
            assert!(
                same(*value, evalue),
                "{label}: {name} = {value}, expected {evalue}"
            );
        }
        // Exact-valued aggregates must match bit for bit.
        for (i, exact) in [(0, avg), (1, count), (2, max), (4, min), (8, sum)] {
            if !exact.is_nan() && exact.fract() == 0.0 {
                assert_eq!(got[i].1, exact, "{label}: {} exact", got[i].0);
            }
        }
    }

    const NAN: f64 = f64::NAN;
    const INF: f64 = f64::INFINITY;

    #[test]
    fn every_aggregate_hand_computed() {
        let squares = |n: usize, order: &dyn Fn(usize) -> usize| -> Vec<f64> {
            (0..n)
                .map(|i| ((order(i) + 1) * (order(i) + 1)) as f64)
                .collect()
        };
        // n = 20: i² for i = 1..=20, delivered in reverse order.
        let n20 = squares(20, &|i| 19 - i);
        // n = 50: i² for i = 1..=50, delivered in a 7-step permutation.
        let n50 = squares(50, &|i| (i * 7) % 50);
        #[rustfmt::skip]
        let cases: Vec<(&str, Vec<f64>, [f64; 9])> = vec![
            //                                      avg    count max  min  sum    p50  p95  p99   trimmed
            ("n=1", vec![7.5],                      [7.5,   1.0, 7.5, 7.5, 7.5,   7.5, 7.5, 7.5,  7.5]),
            // p: 1 + 2·r; trimmed k = 0 (2k ≥ n) → plain mean.
            ("n=2", vec![3.0, 1.0],                 [2.0,   2.0, 3.0, 1.0, 4.0,   2.0, 2.9, 2.98, 2.0]),
            // sorted [-2, 4, 10]; p95: r = 1.9 → 4 + 6·0.9; trimmed k = 1 → middle.
            ("n=3", vec![10.0, -2.0, 4.0],          [4.0,   3.0, 10.0, -2.0, 12.0, 4.0, 9.4, 9.88, 4.0]),
            // Σi² = 2870; p50 r = 9.5 → (100+121)/2; p95 r = 18.05 → 361 + 39·0.05;
            // p99 r = 18.81 → 361 + 39·0.81; trimmed k = 1 → (2870 − 1 − 400)/18.
            ("n=20", n20,                           [143.5, 20.0, 400.0, 1.0, 2870.0,
                                                     110.5, 362.95, 392.59, 2469.0 / 18.0]),
            // Σi² = 42925; p50 r = 24.5 → (625+676)/2; p95 r = 46.55 → 2209 + 95·0.55;
            // p99 r = 48.51 → 2401 + 99·0.51; trimmed k = 2 → (42925 − 1 − 4 − 2401 − 2500)/46.
            ("n=50", n50,                           [858.5, 50.0, 2500.0, 1.0, 42925.0,
                                                     650.5, 2261.25, 2451.49, 826.5]),
            // NaN ignored → same as [5, 1, 3].
            ("nan", vec![NAN, 5.0, NAN, 1.0, 3.0],  [3.0,   3.0, 5.0, 1.0, 9.0,   3.0, 4.8, 4.96, 3.0]),
            // All NaN: the bucket still reports, count 0, everything else NaN.
            ("all-nan", vec![NAN, NAN],             [NAN,   0.0, NAN, NAN, NAN,   NAN, NAN, NAN,  NAN]),
            // sorted [-inf, 1, 2, 3, inf]: Inf + −Inf = NaN; p95 r = 3.8 → towards +inf;
            // trimmed k = 1 → mean(1, 2, 3).
            ("±inf", vec![INF, 1.0, -INF, 2.0, 3.0], [NAN,  5.0, INF, -INF, NAN,  2.0, INF, INF,  2.0]),
            // r = 0.5 between 1 and +inf → +inf; trimmed k = 0 → mean(1, inf).
            ("+inf", vec![INF, 1.0],                [INF,   2.0, INF, 1.0, INF,   INF, INF, INF,  INF]),
            // Lower neighbour −inf → −inf (never −inf + inf = NaN).
            ("-inf", vec![4.0, -INF],               [-INF,  2.0, 4.0, -INF, -INF, -INF, -INF, -INF, -INF]),
            // Equal infinite neighbours → that infinity.
            ("inf,inf", vec![INF, INF],             [INF,   2.0, INF, INF, INF,   INF, INF, INF,  INF]),
            // −inf twice below a finite value: p50 r = 1 hits −inf exactly.
            ("-inf,-inf,4", vec![-INF, 4.0, -INF],  [-INF,  3.0, 4.0, -INF, -INF, -INF, -INF, -INF, -INF]),
            // NaN mixed with an infinity.
            ("nan+inf", vec![NAN, -INF],            [-INF,  1.0, -INF, -INF, -INF, -INF, -INF, -INF, -INF]),
        ];
        for (label, values, expected) in &cases {
            check(label, values, *expected);
        }
    }

    #[test]
    fn percentile_and_trimmed_edges() {
        assert!(percentile(&[], 0.5).is_nan());
        assert!(trimmed_mean(&[]).is_nan());
        assert_eq!(percentile(&[1.0, 2.0], 0.0), 1.0);
        assert_eq!(percentile(&[1.0, 2.0], 1.0), 2.0);
        assert_eq!(percentile(&[1.0, 2.0], 7.0), 2.0);
        assert_eq!(percentile(&[1.0, 2.0], -1.0), 1.0);
        // k boundaries: n = 19 → 1, n = 40 → 2.
        let v: Vec<f64> = (0..19).map(|i| if i == 18 { 1e6 } else { 1.0 }).collect();
        assert_eq!(trimmed_mean(&v), 1.0);
        let mut v: Vec<f64> = vec![1.0; 40];
        v[0] = -1e6;
        v[1] = -1e6;
        v[38] = 1e6;
        v[39] = 1e6;
        assert_eq!(trimmed_mean(&v), 1.0);
        // -0.0 sorts before +0.0, and min agrees with the sorted order.
        let b = Bucket::from_values(&[0.0, -0.0]);
        assert!(b.min().is_sign_negative());
        assert!(b.sorted()[0].is_sign_negative());
        assert!(b.max().is_sign_positive());
    }

    #[test]
    fn bucket_exposes_values_in_arrival_order() {
        let b = Bucket::from_values(&[3.0, NAN, 1.0, 2.0]);
        assert_eq!(b.values(), &[3.0, 1.0, 2.0]);
        assert_eq!(b.sorted(), &[1.0, 2.0, 3.0]);
        assert_eq!(b.count(), 3);
        assert_eq!(b.nan_count(), 1);
        assert_eq!(b.sum(), 6.0);
        assert_eq!(b.mean(), 2.0);
    }

    #[derive(Debug, PartialEq)]
    struct Row(String, i64, i64, f64);

    fn run(from: i64, to: i64, window: i64, names: &[&str], samples: &[(i64, f64)]) -> Vec<Row> {
        let aggs = default_aggregators().resolve(names).unwrap();
        let mut w = WindowedAggregation::new(from, to, window, aggs).unwrap();
        let mut rows = Vec::new();
        let mut emit = |r: AggregateRow| {
            assert_eq!(r.window_ns, window);
            rows.push(Row(r.aggregate.to_string(), r.start, r.end, r.value));
            Ok::<(), Infallible>(())
        };
        for &(ts, v) in samples {
            w.push(ts, v, &mut emit).unwrap();
        }
        w.finish(&mut emit).unwrap();
        rows
    }

    fn row(name: &str, start: i64, end: i64, value: f64) -> Row {
        Row(name.to_owned(), start, end, value)
    }

    #[test]
    fn windows_are_epoch_aligned() {
        let samples = [
            (0, 1.0),
            (5, 2.0),
            (9, 3.0),
            (10, 4.0),
            (19, 5.0),
            (25, 6.0),
        ];
        assert_eq!(
            run(0, 100, 10, &["count"], &samples),
            vec![
                row("count", 0, 10, 3.0),
                row("count", 10, 20, 2.0),
                row("count", 20, 30, 1.0),
            ]
        );
    }

    #[test]
    fn negative_timestamps_floor_align() {
        let samples = [(-11, 1.0), (-10, 2.0), (-1, 3.0), (0, 4.0), (9, 5.0)];
        assert_eq!(
            run(-100, 100, 10, &["sum"], &samples),
            vec![
                row("sum", -20, -10, 1.0),
                row("sum", -10, 0, 5.0),
                row("sum", 0, 10, 9.0),
            ]
        );
    }

    #[test]
    fn start_and_end_clipped_to_range_and_outside_ignored() {
        let samples = [(2, 100.0), (3, 1.0), (12, 2.0), (27, 3.0), (28, 100.0)];
        assert_eq!(
            run(3, 27, 10, &["max"], &samples),
            vec![
                row("max", 3, 10, 1.0),
                row("max", 10, 20, 2.0),
                row("max", 20, 27, 3.0),
            ]
        );
    }

    #[test]
    fn unsorted_data_emits_a_bucket_twice() {
        let samples = [(1, 1.0), (15, 2.0), (2, 3.0), (3, 4.0)];
        assert_eq!(
            run(0, 100, 10, &["sum"], &samples),
            vec![
                row("sum", 0, 10, 1.0),
                row("sum", 10, 20, 2.0),
                row("sum", 0, 10, 7.0),
            ]
        );
    }

    #[test]
    fn empty_input_emits_nothing() {
        assert_eq!(run(0, 100, 10, &["count"], &[]), vec![]);
    }

    #[test]
    fn request_order_kept_and_duplicates_dropped() {
        let names = [
            " sum",
            "count",
            "sum ",
            "",
            "  ",
            "median",
            "p50",
            "trimmed_average",
        ];
        let aggs = default_aggregators().resolve(&names).unwrap();
        let got: Vec<&str> = aggs.iter().map(|a| a.name()).collect();
        assert_eq!(got, ["sum", "count", "median", "p50", "trimmed_average"]);
        let canonical: Vec<&str> = aggs.iter().map(|a| a.canonical_name()).collect();
        assert_eq!(canonical, ["sum", "count", "median", "p50", "trimmed_avg"]);

        let rows = run(0, 100, 50, &names, &[(1, 4.0), (2, 2.0), (60, 9.0)]);
        assert_eq!(
            rows,
            vec![
                row("sum", 0, 50, 6.0),
                row("count", 0, 50, 2.0),
                row("median", 0, 50, 3.0),
                row("p50", 0, 50, 3.0),
                row("trimmed_average", 0, 50, 3.0),
                row("sum", 50, 100, 9.0),
                row("count", 50, 100, 1.0),
                row("median", 50, 100, 9.0),
                row("p50", 50, 100, 9.0),
                row("trimmed_average", 50, 100, 9.0),
            ]
        );
    }

    #[test]
    fn row_index_follows_request_order() {
        let aggs = default_aggregators().resolve(&["max", "min"]).unwrap();
        let mut w = WindowedAggregation::new(0, 10, 10, aggs).unwrap();
        let mut idx = Vec::new();
        let mut emit = |r: AggregateRow| {
            idx.push((r.index, r.aggregate.to_string()));
            Ok::<(), Infallible>(())
        };
        w.push(1, 1.0, &mut emit).unwrap();
        w.finish(&mut emit).unwrap();
        assert_eq!(idx, vec![(0, "max".to_owned()), (1, "min".to_owned())]);
    }

    #[test]
    fn resolution_errors() {
        let reg = default_aggregators();
        assert_eq!(
            reg.resolve(&["avg", "Sum"]).err().unwrap().to_string(),
            "unsupported aggregate \"Sum\" (supported: avg,count,max,median,min,p50,p95,p99,\
             sum,trimmed_average,trimmed_avg)"
        );
        assert_eq!(
            resolve(reg, &[" ", ""]).err(),
            Some(AggregateError::NoAggregate)
        );
        let empty: [&str; 0] = [];
        assert_eq!(
            resolve(reg, &empty).err().unwrap().to_string(),
            "at least one aggregate is required"
        );
        let aggs = reg.resolve(&["avg"]).unwrap();
        assert_eq!(
            WindowedAggregation::new(10, 9, 1, aggs.clone())
                .err()
                .unwrap()
                .to_string(),
            "invalid range: toTS < fromTS"
        );
        assert_eq!(
            WindowedAggregation::new(0, 9, 0, aggs.clone())
                .err()
                .unwrap()
                .to_string(),
            "window must be > 0"
        );
        assert_eq!(
            WindowedAggregation::new(0, 9, -5, aggs).err(),
            Some(AggregateError::WindowNotPositive)
        );
        assert_eq!(
            WindowedAggregation::new(0, 9, 5, Vec::new()).err(),
            Some(AggregateError::NoAggregate)
        );
        assert_eq!(validate_range(5, 5), Ok(()));
        assert_eq!(validate_window(1), Ok(()));
    }

    #[test]
    fn builtin_names_and_default() {
        assert_eq!(default_aggregators().names(), ALL_SORTED);
        assert_eq!(DEFAULT_STEP_AGGREGATE, "avg");
        assert!(default_aggregators().get(DEFAULT_STEP_AGGREGATE).is_some());
        assert!(default_aggregators().get("AVG").is_none());
    }

    const ALL_SORTED: [&str; 11] = [
        "avg",
        "count",
        "max",
        "median",
        "min",
        "p50",
        "p95",
        "p99",
        "sum",
        "trimmed_average",
        "trimmed_avg",
    ];

    struct Range;
    impl Aggregator for Range {
        fn name(&self) -> &str {
            "range"
        }
        fn needs_values(&self) -> bool {
            false
        }
        fn compute(&self, bucket: &Bucket) -> f64 {
            bucket.max() - bucket.min()
        }
    }

    struct Second;
    impl Aggregator for Second {
        fn name(&self) -> &str {
            "avg"
        }
        fn compute(&self, bucket: &Bucket) -> f64 {
            bucket.values().get(1).copied().unwrap_or(f64::NAN)
        }
    }

    struct Named(&'static str);
    impl Aggregator for Named {
        fn name(&self) -> &str {
            self.0
        }
        fn compute(&self, _: &Bucket) -> f64 {
            0.0
        }
    }

    #[test]
    fn custom_aggregators_register_resolve_and_run() {
        let mut reg = Aggregators::builtin();
        assert!(reg.register(Arc::new(Range)).unwrap().is_none());
        // Replacing a built-in returns the old one.
        let old = reg.register(Arc::new(Second)).unwrap().unwrap();
        assert_eq!(old.compute(&Bucket::from_values(&[1.0, 3.0])), 2.0);
        assert_eq!(reg.names().len(), 12);
        assert!(reg.names().contains(&"range".to_owned()));

        let aggs = reg.resolve(&["range", "avg"]).unwrap();
        let mut w = WindowedAggregation::new(0, 100, 100, aggs).unwrap();
        let mut rows = Vec::new();
        let mut emit = |r: AggregateRow| {
            rows.push((r.aggregate.to_string(), r.value));
            Ok::<(), Infallible>(())
        };
        for (ts, v) in [(1, 5.0), (2, 9.0), (3, 2.0)] {
            w.push(ts, v, &mut emit).unwrap();
        }
        w.finish(&mut emit).unwrap();
        assert_eq!(
            rows,
            vec![("range".to_owned(), 7.0), ("avg".to_owned(), 9.0)]
        );

        for bad in ["", " x", "x ", "\t"] {
            assert_eq!(
                Aggregators::new().register(Arc::new(Named(bad))).err(),
                Some(AggregateError::InvalidName(bad.to_owned()))
            );
        }
    }

    #[test]
    fn streaming_only_request_stores_no_values() {
        let aggs = default_aggregators().resolve(&["sum", "count"]).unwrap();
        let w = WindowedAggregation::new(0, 1, 1, aggs).unwrap();
        assert!(!w.bucket.collect);
        let aggs = default_aggregators().resolve(&["sum", "p99"]).unwrap();
        let w = WindowedAggregation::new(0, 1, 1, aggs).unwrap();
        assert!(w.bucket.collect);
    }

    #[test]
    fn int32_is_widened_exactly() {
        let aggs = default_aggregators().resolve(&["sum", "max"]).unwrap();
        let mut w = WindowedAggregation::new(0, 10, 10, aggs).unwrap();
        let mut rows = Vec::new();
        let mut emit = |r: AggregateRow| {
            rows.push(r.value);
            Ok::<(), Infallible>(())
        };
        w.push_value(1, Value::I32(16_777_217), &mut emit).unwrap();
        w.push_value(2, Value::F32(0.5), &mut emit).unwrap();
        w.finish(&mut emit).unwrap();
        assert_eq!(rows, vec![16_777_217.5, 16_777_217.0]);
    }

    #[test]
    fn extreme_timestamps_do_not_overflow() {
        let samples = [(i64::MIN, 1.0), (i64::MIN + 1, 2.0), (i64::MAX, 3.0)];
        assert_eq!(
            run(i64::MIN, i64::MAX, 10, &["sum"], &samples),
            vec![
                // Floor bucket of MIN starts 2 ns before MIN and ends at MIN + 8.
                row("sum", i64::MIN, i64::MIN + 8, 3.0),
                row("sum", i64::MAX - 7, i64::MAX, 3.0),
            ]
        );
        // A window wider than the whole range.
        assert_eq!(
            run(i64::MIN, i64::MAX, i64::MAX, &["count"], &samples),
            vec![
                // MIN is in bucket −2 ([−2·MAX, −MAX)), MIN + 1 = −MAX starts bucket −1.
                row("count", i64::MIN, i64::MIN + 1, 1.0),
                row("count", i64::MIN + 1, 0, 1.0),
                row("count", i64::MAX, i64::MAX, 1.0),
            ]
        );
    }

    #[test]
    fn emit_error_stops_and_is_returned() {
        let aggs = default_aggregators().resolve(&["sum", "count"]).unwrap();
        let mut w = WindowedAggregation::new(0, 100, 10, aggs).unwrap();
        let mut calls = 0;
        let mut emit = |_: AggregateRow| {
            calls += 1;
            Err("stop")
        };
        assert_eq!(w.push(1, 1.0, &mut emit), Ok(()));
        assert_eq!(w.push(11, 1.0, &mut emit), Err("stop"));
        assert_eq!(calls, 1);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn aggregate_invariants(quarters in proptest::collection::vec(-4_000_000i32..4_000_000, 1..120)) {
            // Multiples of 0.25 keep every sum exact, so the bounds below hold without a
            // tolerance (a rounded sum of equal values could otherwise land an ulp past max).
            let values: Vec<f64> = quarters.iter().map(|&q| f64::from(q) / 4.0).collect();
            let got = eval_all(&values);
            let get = |n: &str| got.iter().find(|(k, _)| k == n).map(|(_, v)| *v).unwrap();
            let (min, max) = (get("min"), get("max"));
            prop_assert_eq!(get("p50").to_bits(), get("median").to_bits());
            prop_assert_eq!(get("trimmed_avg").to_bits(), get("trimmed_average").to_bits());
            for p in ["p50", "p95", "p99", "trimmed_avg", "avg"] {
                prop_assert!(min <= get(p) && get(p) <= max, "{} out of [min, max]", p);
            }
            prop_assert!(get("p50") <= get("p95") && get("p95") <= get("p99"));
            prop_assert_eq!(get("count"), values.len() as f64);
            prop_assert_eq!(get("sum") / get("count"), get("avg"));
            let naive_sum: f64 = values.iter().sum();
            prop_assert_eq!(get("sum"), naive_sum);
        }

        #[test]
        fn nan_is_ignored_everywhere(
            values in proptest::collection::vec(-1e6f64..1e6, 1..40),
            nan_at in proptest::collection::vec(0usize..40, 0..10),
        ) {
            let mut with_nan = values.clone();
            for i in nan_at {
                with_nan.insert(i.min(with_nan.len()), f64::NAN);
            }
            let a = eval_all(&values);
            let b = eval_all(&with_nan);
            for ((name, x), (_, y)) in a.iter().zip(&b) {
                prop_assert_eq!(x.to_bits(), y.to_bits(), "{}", name);
            }
        }

        #[test]
        fn sorted_windowing_matches_grouping(
            mut samples in proptest::collection::vec((-1000i64..1000, -100i32..100), 0..60),
            window in 1i64..300,
        ) {
            samples.sort_by_key(|s| s.0);
            let pts: Vec<(i64, f64)> = samples.iter().map(|&(t, v)| (t, f64::from(v))).collect();
            let rows = run(-1000, 999, window, &["sum"], &pts);
            let mut expected: BTreeMap<i64, f64> = BTreeMap::new();
            for &(t, v) in &pts {
                *expected.entry(t.div_euclid(window)).or_default() += v;
            }
            let want: Vec<Row> = expected
                .into_iter()
                .map(|(i, s)| row("sum", (i * window).max(-1000), (i * window + window).min(999), s))
                .collect();
            prop_assert_eq!(rows, want);
        }
    }
}
