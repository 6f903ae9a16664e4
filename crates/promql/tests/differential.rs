//! Differential test: our evaluator against answers recorded from real
//! Prometheus 2.42 (`tests/diff/record.sh`) on the same data
//! (`tests/diff/data.om`), loaded into a real engine. Every query of
//! `tests/diff/queries.txt` at three instants and over one range; values
//! equal within 1e-9 relative, same series and labels, same result type,
//! and an error wherever Prometheus gave one.

mod common;

use std::collections::BTreeMap;

use nanotdb_promql::{EngineStorage, QueryOptions, QueryValue, instant_query, range_query};
use serde_json::Value as Json;

use common::{diff_dir, load_openmetrics};

/// Labels → points (ms, value), one entry per series.
type Series = BTreeMap<Vec<(String, String)>, Vec<(i64, f64)>>;

fn parse_value(s: &str) -> f64 {
    match s {
        "NaN" => f64::NAN,
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        _ => s.parse().unwrap_or_else(|e| panic!("bad value {s:?}: {e}")),
    }
}

fn secs_to_ms(t: &Json) -> i64 {
    (t.as_f64().expect("time") * 1000.0).round() as i64
}

fn close(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}

fn json_labels(m: &Json) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = m
        .as_object()
        .expect("metric")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().expect("label").to_string()))
        .collect();
    v.sort();
    v
}

/// Prometheus' answer as series (a scalar is one series without labels;
/// a vector's points carry the evaluation time) plus its result type.
fn expected_series(data: &Json) -> (String, Series, Vec<Vec<(String, String)>>) {
    let rt = data["resultType"].as_str().expect("resultType").to_string();
    let mut out = Series::new();
    let mut order = Vec::new();
    let point = |p: &Json| {
        (
            secs_to_ms(&p[0]),
            parse_value(p[1].as_str().expect("value")),
        )
    };
    match rt.as_str() {
        "scalar" | "string" => {
            out.insert(Vec::new(), vec![point(&data["result"])]);
        }
        "vector" => {
            for s in data["result"].as_array().expect("result") {
                let l = json_labels(&s["metric"]);
                order.push(l.clone());
                out.insert(l, vec![point(&s["value"])]);
            }
        }
        _ => {
            for s in data["result"].as_array().expect("result") {
                let pts = s["values"]
                    .as_array()
                    .expect("values")
                    .iter()
                    .map(point)
                    .collect();
                out.insert(json_labels(&s["metric"]), pts);
            }
        }
    }
    (rt, out, order)
}

fn actual_series(v: &QueryValue) -> (Series, Vec<Vec<(String, String)>>) {
    let mut out = Series::new();
    let mut order = Vec::new();
    match v {
        QueryValue::Scalar(t, x) => {
            out.insert(Vec::new(), vec![(*t, *x)]);
        }
        QueryValue::String(t, _) => {
            out.insert(Vec::new(), vec![(*t, f64::NAN)]);
        }
        QueryValue::Vector(t, samples) => {
            for (l, x) in samples {
                let l = l.pairs().to_vec();
                order.push(l.clone());
                out.insert(l, vec![(*t, *x)]);
            }
        }
        QueryValue::Matrix(m) => {
            for s in m {
                out.insert(s.labels.pairs().to_vec(), s.points.clone());
            }
        }
    }
    (out, order)
}

/// Compares one answer; returns a description of the first difference.
fn compare(
    query: &str,
    expected: &Json,
    actual: Result<QueryValue, nanotdb_promql::Error>,
) -> Option<String> {
    if expected["status"] != "success" {
        return match actual {
            Err(_) => None,
            Ok(v) => Some(format!(
                "Prometheus failed ({}), we answered {v:?}",
                expected["error"]
            )),
        };
    }
    let actual = match actual {
        Ok(v) => v,
        Err(e) => return Some(format!("we failed: {e}")),
    };
    let (rt, exp, exp_order) = expected_series(&expected["data"]);
    if rt != actual.result_type() {
        return Some(format!("result type {} != {rt}", actual.result_type()));
    }
    if rt == "string" {
        return None;
    }
    let (act, act_order) = actual_series(&actual);
    if exp.keys().ne(act.keys()) {
        return Some(format!(
            "series differ:\n  prometheus {:?}\n  ours       {:?}",
            exp.keys().collect::<Vec<_>>(),
            act.keys().collect::<Vec<_>>()
        ));
    }
    for (l, e) in &exp {
        let a = &act[l];
        let same =
            e.len() == a.len() && e.iter().zip(a).all(|(x, y)| x.0 == y.0 && close(x.1, y.1));
        if !same {
            return Some(format!("{l:?}:\n  prometheus {e:?}\n  ours       {a:?}"));
        }
    }
    if query.starts_with("sort") && exp_order != act_order {
        return Some(format!("order differs: {exp_order:?} vs {act_order:?}"));
    }
    None
}

/// Compares every recorded answer of `rec` with ours; panics listing the
/// differences.
fn check_against(rec: &Json) {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = load_openmetrics(dir.path(), "prom");
    let storage = EngineStorage::new(&engine, Some("prom".to_string()));
    let instants: Vec<i64> = rec["instants"]
        .as_array()
        .expect("instants")
        .iter()
        .map(secs_to_ms)
        .collect();
    let r = &rec["range"];
    let (start, end) = (secs_to_ms(&r["start"]), secs_to_ms(&r["end"]));
    let step = secs_to_ms(&r["step"]);
    let opts = QueryOptions::default();
    let queries = rec["queries"].as_array().expect("queries");
    assert!(
        queries.len() >= 150,
        "only {} queries recorded",
        queries.len()
    );
    let mut failures = Vec::new();
    let mut compared = 0;
    for q in queries {
        let query = q["query"].as_str().expect("query");
        for (t, exp) in instants
            .iter()
            .zip(q["instant"].as_array().expect("instant"))
        {
            compared += 1;
            if let Some(d) = compare(query, exp, instant_query(&storage, query, *t, &opts)) {
                failures.push(format!("{query} @ {t}: {d}"));
            }
        }
        compared += 1;
        if let Some(d) = compare(
            query,
            &q["range"],
            range_query(&storage, query, start, end, step, &opts),
        ) {
            failures.push(format!("{query} [range]: {d}"));
        }
    }
    for f in &failures {
        eprintln!("MISMATCH {f}\n");
    }
    assert!(
        failures.is_empty(),
        "{} of {compared} answers differ from Prometheus",
        failures.len()
    );
    engine.close().expect("close");
}

/// Against the committed recording (no Prometheus needed).
#[test]
fn answers_equal_prometheus() {
    let text = std::fs::read_to_string(diff_dir().join("expected.json")).expect("expected.json");
    check_against(&serde_json::from_str(&text).expect("expected.json is JSON"));
}

/// Live: records real Prometheus now (record.sh: `prometheus` and `promtool`
/// must be installed — this test fails without them, it does not skip) and
/// compares with that, so the committed recording cannot go stale unseen.
#[test]
fn answers_equal_live_prometheus() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("live.json");
    let status = std::process::Command::new(diff_dir().join("record.sh"))
        .arg(&out)
        .status()
        .expect("run tests/diff/record.sh (needs bash, python3, prometheus, promtool)");
    assert!(
        status.success(),
        "record.sh failed: is the Debian package prometheus installed?"
    );
    let text = std::fs::read_to_string(&out).expect("live recording");
    let live: Json = serde_json::from_str(&text).expect("live recording is JSON");
    check_against(&live);
    let committed: Json = serde_json::from_str(
        &std::fs::read_to_string(diff_dir().join("expected.json")).expect("expected.json"),
    )
    .expect("expected.json is JSON");
    assert_eq!(
        live["queries"].as_array().map(Vec::len),
        committed["queries"].as_array().map(Vec::len),
        "queries.txt changed since expected.json was recorded: run tests/diff/record.sh"
    );
}
