//! Tests of the aggregates and the windowed evaluation.

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
