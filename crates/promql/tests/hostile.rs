//! Hostile queries: each answers or fails with a typed error, never panics,
//! and the limits turn huge evaluations into `Error::Limit` before memory is
//! spent (docs/BEHAVIOUR.md §2.6). The fuzz target `promql` explores further.

mod common;

use std::time::{Duration, Instant};

use nanotdb_promql::{EngineStorage, Error, QueryOptions, instant_query, range_query};

const T: i64 = 1_700_003_600_000;

#[test]
fn hostile_queries_fail_cleanly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = common::load_openmetrics(dir.path(), "prom");
    let storage = EngineStorage::new(&engine, None);
    let opts = QueryOptions {
        max_samples: 1_000_000,
        deadline: Some(Instant::now() + Duration::from_secs(60)),
        ..QueryOptions::default()
    };
    let limited = [
        "count_over_time(up[100y:1s])",
        "count_over_time(vector(1)[100y:1ms])",
        "max_over_time(rate(http_requests_total[5m])[10y:1s])",
        "sum_over_time(sum_over_time(up[1d:1ms])[1d:1ms])",
    ];
    // The parser panics on this duration; it must be a parse error.
    let r = instant_query(&storage, "+A0[73e77:]", T, &opts);
    assert!(matches!(r, Err(Error::Parse(_))), "{r:?}");
    for q in limited {
        let r = instant_query(&storage, q, T, &opts);
        assert!(matches!(r, Err(Error::Limit(_))), "{q}: {r:?}");
    }
    let survivable = [
        "up offset -100y",
        "up offset 100y",
        "up @ 0",
        "up @ 9999999999",
        "topk(1e300, up)",
        "topk(NaN, up)",
        "bottomk(-1e300, up)",
        "quantile(NaN, up)",
        "histogram_quantile(NaN, request_duration_seconds_bucket)",
        "round(up, 0)",
        "clamp(up, NaN, 1)",
        "predict_linear(node_temp_celsius[5m], 1e308)",
        "holt_winters(node_temp_celsius[5m], 0.5, 2)",
        "timestamp(vector(1))",
        "label_replace(up, \"a\", \"$99999999999\", \"job\", \"(.*)\")",
        "label_replace(up, \"1bad\", \"x\", \"job\", \"(.*)\")",
        "label_join(up, \"x\", \"\")",
        "count_values(\"__name__\", up)",
        "count_values(\"bad-name\", up)",
        "{__name__=~\"(a+)+b\"}",
        "{__name__=~\".*\", job=~\"(((((((((((x)))))))))))*\"}",
        "-(-(-(-(-(-(-(-(-(-up)))))))))",
        "((((((((((((((((((((1))))))))))))))))))))",
        "1 / 0 * 0 % 0 ^ 1e308",
        "up + on(job) up",
        "up * on(instance) group_left(job) up",
        "sum(up) by (instance) / on() group_left sum(up)",
        "absent(nonexistent{a=\"1\",a=\"2\"})",
        "day_of_week(vector(1e300))",
        "year(vector(-1e18))",
        "scalar(vector(NaN))",
        "rate(up[1ms])",
        "up[0s:1ms]",
        "sort_by_label(up)",
    ];
    for q in survivable {
        let _ = instant_query(&storage, q, T, &opts);
        let _ = range_query(&storage, q, T - 600_000, T, 60_000, &opts);
    }
    for q in [
        "up",
        "rate(up[5m])",
        "max_over_time(up[1h:1m] offset 1h)",
        "timestamp(up)",
    ] {
        for t in [i64::MIN, -1, i64::MAX] {
            let _ = instant_query(&storage, q, t, &opts);
        }
        let _ = range_query(&storage, q, i64::MIN, i64::MAX, i64::MAX, &opts);
        let _ = range_query(&storage, q, i64::MAX - 10, i64::MAX, 1, &opts);
    }
    let r = range_query(&storage, "up", T, T + 100 * 365 * 86_400_000, 1, &opts);
    assert!(matches!(r, Err(Error::Limit(_))), "{r:?}");
    assert!(matches!(
        range_query(&storage, "up", T, T, 0, &opts),
        Err(Error::BadQuery(_))
    ));
    engine.close().expect("close");
}
