//! Replays what Grafana's Prometheus data source sends — "Save & test"
//! (`1+1`), the label browser, and a dashboard of rate / sum by /
//! histogram_quantile panels — against a server holding the PromQL
//! differential data set (no `db` parameter, as Grafana sends none), and
//! checks the panels against real Prometheus' recorded answers
//! (crates/promql/tests/diff/expected.json).

mod common;

use std::collections::BTreeMap;

use common::TestServer;
use nanotdb::{Value, WriteSample};
use nanotdb_testkit::openmetrics::{promql_diff_dir, read_openmetrics};
use serde_json::{Value as Json, json};

const T0: i64 = 1_700_000_000;

fn loaded() -> TestServer {
    let s = TestServer::start();
    let rows = read_openmetrics(&promql_diff_dir().join("data.om"));
    let samples: Vec<WriteSample> = rows
        .iter()
        .map(|(metric, ts, v)| WriteSample {
            db: "prom",
            metric,
            ts: *ts,
            value: Value::F64(*v),
        })
        .collect();
    let report = s.engine.write(&samples).expect("write");
    assert!(report.rejected.is_empty());
    s
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

const FORM: [(&str, &str); 1] = [("Content-Type", "application/x-www-form-urlencoded")];

#[test]
fn save_and_test() {
    let s = TestServer::start();
    // Grafana 10's health check: an instant query of 1+1, form-posted.
    let r = s.post_h("/api/v1/query", &FORM, b"query=1%2B1&time=1700003600.123");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json(),
        json!({"status":"success","data":{"resultType":"scalar","result":[1700003600.123,"2"]}})
    );
    let r = s.get("/api/v1/status/buildinfo");
    assert_eq!(r.json()["status"], "success");
}

#[test]
fn label_browser() {
    let s = loaded();
    let range = format!("start={T0}&end={}", T0 + 7200);
    let r = s.get(&format!("/api/v1/labels?{range}"));
    assert_eq!(
        r.json()["data"],
        json!([
            "__name__", "code", "db", "dc", "host", "id", "instance", "job", "kind", "le"
        ])
    );
    let r = s.get(&format!("/api/v1/label/__name__/values?{range}"));
    assert_eq!(
        r.json()["data"],
        json!([
            "gappy_gauge",
            "http_requests_total",
            "node_temp_celsius",
            "request_duration_seconds_bucket",
            "request_duration_seconds_count",
            "request_duration_seconds_sum",
            "special_values",
            "up"
        ])
    );
    let r = s.get(&format!(
        "/api/v1/label/le/values?match%5B%5D={}&{range}",
        enc("request_duration_seconds_bucket{job=\"api\"}")
    ));
    assert_eq!(
        r.json()["data"],
        json!(["+Inf", "0.05", "0.1", "0.25", "0.5", "1"])
    );
    let r = s.get(&format!(
        "/api/v1/series?match%5B%5D={}&{range}",
        enc("{__name__=\"up\"}")
    ));
    assert_eq!(
        r.json()["data"],
        json!([
            {"__name__":"up","db":"prom","instance":"i1","job":"api"},
            {"__name__":"up","db":"prom","instance":"i2","job":"api"}
        ])
    );
    // The gappy gauge ends at T0 + 6585: not in a later range.
    let r = s.get(&format!(
        "/api/v1/series?match%5B%5D=gappy_gauge&start={}&end={}",
        T0 + 6600,
        T0 + 7200
    ));
    assert_eq!(r.json()["data"], json!([]));
}

fn points(v: &Json) -> Vec<(i64, f64)> {
    v.as_array()
        .expect("values")
        .iter()
        .map(|p| {
            let t = (p[0].as_f64().expect("t") * 1000.0).round() as i64;
            let x = match p[1].as_str().expect("v") {
                "NaN" => f64::NAN,
                "+Inf" => f64::INFINITY,
                "-Inf" => f64::NEG_INFINITY,
                s => s.parse().expect("float"),
            };
            (t, x)
        })
        .collect()
}

/// Series of a matrix answer by labels, the `db` label removed (every series
/// here is in `prom`; Prometheus has no such label).
fn by_labels(result: &Json, strip_db: bool) -> BTreeMap<String, Vec<(i64, f64)>> {
    result
        .as_array()
        .expect("result")
        .iter()
        .map(|s| {
            let mut m = s["metric"].as_object().expect("metric").clone();
            if strip_db {
                assert_eq!(m.remove("db"), Some(json!("prom")));
            }
            (Json::Object(m).to_string(), points(&s["values"]))
        })
        .collect()
}

#[test]
fn dashboard_panels_equal_prometheus() {
    let s = loaded();
    let rec: Json = serde_json::from_str(
        &std::fs::read_to_string(promql_diff_dir().join("expected.json")).expect("expected.json"),
    )
    .expect("json");
    let r = &rec["range"];
    let panels = [
        ("rate(http_requests_total[5m])", true),
        ("sum by (job) (rate(http_requests_total[5m]))", false),
        (
            "histogram_quantile(0.9, rate(request_duration_seconds_bucket[5m]))",
            true,
        ),
        (
            "histogram_quantile(0.99, sum by (le) (rate(request_duration_seconds_bucket[5m])))",
            false,
        ),
        (
            "histogram_quantile(0.95, sum by (job, le) (rate(request_duration_seconds_bucket[15m])))",
            false,
        ),
    ];
    for (query, has_db) in panels {
        let want = rec["queries"]
            .as_array()
            .expect("queries")
            .iter()
            .find(|q| q["query"] == query)
            .unwrap_or_else(|| panic!("{query} not recorded"));
        let body = format!(
            "query={}&start={}&end={}&step={}",
            enc(query),
            r["start"],
            r["end"],
            r["step"]
        );
        let got = s.post_h("/api/v1/query_range", &FORM, body.as_bytes());
        assert_eq!(got.status, 200, "{query}: {}", got.text());
        let got = got.json();
        assert_eq!(got["data"]["resultType"], "matrix");
        let (g, w) = (
            by_labels(&got["data"]["result"], has_db),
            by_labels(&want["range"]["data"]["result"], false),
        );
        assert!(!w.is_empty(), "{query}: Prometheus answered nothing");
        assert_eq!(
            g.keys().collect::<Vec<_>>(),
            w.keys().collect::<Vec<_>>(),
            "{query}"
        );
        for (k, wp) in &w {
            let gp = &g[k];
            assert_eq!(gp.len(), wp.len(), "{query} {k}");
            for (a, b) in gp.iter().zip(wp) {
                assert_eq!(a.0, b.0, "{query} {k}");
                let close = (a.1.is_nan() && b.1.is_nan())
                    || a.1 == b.1
                    || (a.1 - b.1).abs() <= 1e-9 * a.1.abs().max(b.1.abs());
                assert!(close, "{query} {k}: {} vs Prometheus {}", a.1, b.1);
            }
        }
    }
}
