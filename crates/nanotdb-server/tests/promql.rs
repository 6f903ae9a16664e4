//! PromQL on /api/v1/query and /api/v1/query_range: routing against the
//! v1.4.0 forms, the `db` parameter and label, Prometheus' JSON, errors and
//! limits (docs/BEHAVIOUR.md §2.6).

mod common;

use common::TestServer;
use nanotdb::{Value, WriteSample};
use nanotdb_server::settings::ServerSettings;
use serde_json::json;

/// 2023-11-14T22:13:20Z, in seconds.
const T: i64 = 1_700_000_000;
const NS: i64 = 1_000_000_000;

/// `temp{room}` in `edge` and `lab` (and `internal`, which PromQL skips
/// unless asked by `db`), one sample every 15 s for 20 minutes: edge's room
/// a is 20 + i/4, room b 30; lab's room a 10; and a counter `reqs_total`
/// in edge rising by 3 each sample.
fn seed(s: &TestServer) {
    let names = [
        ("edge", "temp{room=\"a\"}"),
        ("edge", "temp{room=\"b\"}"),
        ("lab", "temp{room=\"a\"}"),
        ("internal", "temp{room=\"z\"}"),
        ("edge", "reqs_total"),
    ];
    let mut samples = Vec::new();
    for i in 0..80i64 {
        for (k, &(db, metric)) in names.iter().enumerate() {
            let v = match k {
                0 => 20.0 + i as f64 / 4.0,
                1 => 30.0,
                2 => 10.0,
                3 => 1.0,
                _ => 3.0 * i as f64,
            };
            samples.push(WriteSample {
                db,
                metric,
                ts: (T + 15 * i) * NS,
                value: Value::F64(v),
            });
        }
    }
    let report = s.engine.write(&samples).expect("write");
    assert!(report.rejected.is_empty());
}

fn q(s: &TestServer, path: &str) -> serde_json::Value {
    let r = s.get(path);
    assert_eq!(r.status, 200, "{path}: {}", r.text());
    r.json()
}

fn enc(s: &str) -> String {
    form_encode(s)
}

fn form_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn grafana_health_check_is_one_plus_one() {
    let s = TestServer::start();
    let r = s.get(&format!("/api/v1/query?query={}&time={T}", enc("1+1")));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.text(),
        "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[1700000000,\"2\"]}}\n"
    );
}

#[test]
fn selectors_across_databases_carry_db() {
    let s = TestServer::start();
    seed(&s);
    let t = T + 600;
    let j = q(&s, &format!("/api/v1/query?query=temp&time={t}"));
    assert_eq!(j["data"]["resultType"], "vector");
    let mut got: Vec<(String, String, String)> = j["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let m = &r["metric"];
            (
                m["db"].as_str().unwrap().to_string(),
                m["room"].as_str().unwrap().to_string(),
                r["value"][1].as_str().unwrap().to_string(),
            )
        })
        .collect();
    got.sort();
    // Sample 40 (t = T + 600) of edge room a is 20 + 40/4 = 30.
    assert_eq!(
        got,
        vec![
            ("edge".into(), "a".into(), "30".into()),
            ("edge".into(), "b".into(), "30".into()),
            ("lab".into(), "a".into(), "10".into()),
        ]
    );
    // `db` as a matcher.
    let j = q(
        &s,
        &format!("/api/v1/query?query={}&time={t}", enc("temp{db=\"lab\"}")),
    );
    assert_eq!(
        j["data"]["result"],
        json!([{"metric":{"__name__":"temp","db":"lab","room":"a"},"value":[t,"10"]}])
    );
    // `db` as a parameter: that database only, its own labels.
    let j = q(
        &s,
        &format!(
            "/api/v1/query?query={}&db=edge&time={t}",
            enc("temp{room=\"a\"}")
        ),
    );
    assert_eq!(
        j["data"]["result"],
        json!([{"metric":{"__name__":"temp","room":"a"},"value":[t,"30"]}])
    );
    // `internal` only when asked for.
    let j = q(
        &s,
        &format!("/api/v1/query?query=temp&db=internal&time={t}"),
    );
    assert_eq!(j["data"]["result"][0]["metric"]["room"], "z");
}

#[test]
fn the_queries_that_answered_empty_before() {
    let s = TestServer::start();
    seed(&s);
    let t = T + 600;
    // Comparison filters; offset moves back 5 minutes (sample 20: 25).
    let j = q(
        &s,
        &format!(
            "/api/v1/query?query={}&time={t}",
            enc("temp{db=\"edge\"} > 29.5")
        ),
    );
    assert_eq!(j["data"]["result"].as_array().unwrap().len(), 2);
    let j = q(
        &s,
        &format!(
            "/api/v1/query?query={}&time={t}",
            enc("temp{room=\"a\",db=\"edge\"} offset 5m")
        ),
    );
    assert_eq!(j["data"]["result"][0]["value"], json!([t, "25"]));
    // A range vector: the samples of (t - 1m, t], as a matrix.
    let j = q(
        &s,
        &format!("/api/v1/query?query={}&time={t}", enc("reqs_total[1m]")),
    );
    assert_eq!(j["data"]["resultType"], "matrix");
    assert_eq!(
        j["data"]["result"][0]["values"],
        json!([
            [t - 60, "108"],
            [t - 45, "111"],
            [t - 30, "114"],
            [t - 15, "117"],
            [t, "120"]
        ])
    );
    // rate: 3 per 15 s = 0.2/s, exactly, with no extrapolation needed.
    let j = q(
        &s,
        &format!(
            "/api/v1/query?query={}&time={t}",
            enc("rate(reqs_total[5m])")
        ),
    );
    assert_eq!(
        j["data"]["result"],
        json!([{"metric":{"db":"edge"},"value":[t,"0.2"]}])
    );
    let j = q(
        &s,
        &format!("/api/v1/query?query={}&time={t}", enc("sum by (db) (temp)")),
    );
    let mut sums: Vec<String> = j["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| format!("{}={}", r["metric"]["db"], r["value"][1]))
        .collect();
    sums.sort();
    assert_eq!(sums, vec!["\"edge\"=\"60\"", "\"lab\"=\"10\""]);
    // Instant queries honour `time`: at T the first sample, 20.
    let j = q(
        &s,
        &format!(
            "/api/v1/query?query={}&time={T}",
            enc("temp{db=\"edge\",room=\"a\"}")
        ),
    );
    assert_eq!(j["data"]["result"][0]["value"], json!([T, "20"]));
}

#[test]
fn range_queries_and_form_posts() {
    let s = TestServer::start();
    seed(&s);
    let body = format!(
        "query={}&start={}&end={}&step=60",
        enc("sum by (db) (rate(reqs_total[2m]))"),
        T + 300,
        T + 480
    );
    let r = s.post_h(
        "/api/v1/query_range",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        body.as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json()["data"],
        json!({"resultType":"matrix","result":[{"metric":{"db":"edge"},
            "values":[[T + 300,"0.2"],[T + 360,"0.2"],[T + 420,"0.2"],[T + 480,"0.2"]]}]})
    );
    // The lookback: 5 minutes after the last sample (T + 1185) and no more.
    let j = q(
        &s,
        &format!(
            "/api/v1/query_range?query={}&start={}&end={}&step=60",
            enc("reqs_total"),
            T + 1320,
            T + 1560
        ),
    );
    let pts = j["data"]["result"][0]["values"].as_array().unwrap().len();
    assert_eq!(pts, 3, "{j}");
}

#[test]
fn prometheus_value_formatting() {
    let s = TestServer::start();
    for (query, want) in [
        ("0/0", "NaN"),
        ("1/0", "+Inf"),
        ("-1/0", "-Inf"),
        ("0.1+0.2", "0.30000000000000004"),
    ] {
        let j = q(&s, &format!("/api/v1/query?query={}&time={T}", enc(query)));
        assert_eq!(j["data"]["result"], json!([T, want]), "{query}");
    }
    let j = q(
        &s,
        &format!("/api/v1/query?query={}&time={T}.25", enc("\"hi\"")),
    );
    assert_eq!(
        j["data"],
        json!({"resultType":"string","result":[T as f64 + 0.25,"hi"]})
    );
}

#[test]
fn errors_and_limits() {
    let s = TestServer::start();
    seed(&s);
    let cases = [
        (
            "/api/v1/query?query=sum(",
            400,
            "bad_data",
            "invalid parameter \"query\"",
        ),
        (
            "/api/v1/query?query=sort_by_label(temp)",
            400,
            "bad_data",
            "unsupported: function sort_by_label",
        ),
        (
            "/api/v1/query?query=limitk(1,temp)",
            400,
            "bad_data",
            "unsupported: aggregation limitk",
        ),
        (
            "/api/v1/query_range?query=temp&start=1&end=2",
            400,
            "bad_data",
            "invalid parameter \"step\"",
        ),
        (
            "/api/v1/query_range?query=temp&start=0&end=100000&step=1",
            400,
            "bad_data",
            "exceeded maximum resolution",
        ),
        (
            "/api/v1/query_range?query=temp%5B5m%5D&start=1&end=2&step=1",
            400,
            "bad_data",
            "invalid expression type \"range vector\"",
        ),
        (
            "/api/v1/query?query=temp%2Bon(room)temp&time=1700000600",
            422,
            "execution",
            "found duplicate series",
        ),
        (
            "/api/v1/query?query=count_over_time(temp%5B100y:1s%5D)",
            422,
            "execution",
            "exceeds the limit",
        ),
        (
            "/api/v1/query?query=temp&db=nodb&time=1",
            404,
            "not_found",
            "database not found",
        ),
    ];
    for (path, status, kind, msg) in cases {
        let r = s.get(path);
        assert_eq!(r.status, status, "{path}: {}", r.text());
        let j = r.json();
        assert_eq!(j["status"], "error", "{path}");
        assert_eq!(j["errorType"], kind, "{path}: {j}");
        assert!(j["error"].as_str().unwrap().contains(msg), "{path}: {j}");
    }
    let s = TestServer::with(ServerSettings {
        query_max_samples: 50,
        ..ServerSettings::default()
    });
    seed(&s);
    let r = s.get(&format!(
        "/api/v1/query?query={}&time={}",
        enc("sum_over_time(reqs_total[1h])"),
        T + 1200
    ));
    assert_eq!(r.status, 422, "{}", r.text());
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap()
            .contains("too many samples")
    );
}

#[test]
fn lookback_delta_is_configurable() {
    let s = TestServer::with(ServerSettings {
        query_lookback: std::time::Duration::from_secs(60),
        ..ServerSettings::default()
    });
    seed(&s);
    // Last sample at T + 1185: seen 60 s later, not 61 s later.
    let at = |t: i64| {
        q(&s, &format!("/api/v1/query?query=reqs_total&time={t}"))["data"]["result"]
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(at(T + 1245), 1);
    assert_eq!(at(T + 1246), 0);
}

#[test]
fn v140_forms_are_unchanged() {
    let s = TestServer::start();
    seed(&s);
    // DB/METRIC: the last value, whatever its age.
    let j = q(
        &s,
        &format!("/api/v1/query?query={}", enc("edge/reqs_total")),
    );
    assert_eq!(
        j["data"],
        json!({"result":[{"metric":{"__name__":"reqs_total","db":"edge"},"value":[T + 1185,"237"]}],"resultType":"vector"})
    );
    // METRIC with db and no time: the same.
    let j = q(&s, "/api/v1/query?query=reqs_total&db=edge");
    assert_eq!(j["data"]["result"][0]["value"], json!([T + 1185, "237"]));
    // A step is the v1.4.0 average per window.
    let j = q(
        &s,
        &format!(
            "/api/v1/query_range?query=edge/reqs_total&start={T}&end={}&step=60",
            T + 119
        ),
    );
    assert_eq!(j["data"]["result"][0]["metric"]["aggregate"], "avg");
}

#[test]
fn a_stored_staleness_marker_ends_a_series() {
    let s = TestServer::start();
    // Prometheus' stale NaN, as remote write stores it (float64, exact bits).
    let stale = f64::from_bits(0x7ff0_0000_0000_0002);
    let samples: Vec<WriteSample> = [(0, 1.0), (15, 2.0), (30, stale), (45, 4.0)]
        .iter()
        .map(|&(dt, v)| WriteSample {
            db: "edge",
            metric: "g",
            ts: (T + dt) * NS,
            value: Value::F64(v),
        })
        .collect();
    assert!(s.engine.write(&samples).expect("write").rejected.is_empty());
    let at = |t: i64| q(&s, &format!("/api/v1/query?query=g&time={t}"))["data"]["result"].clone();
    assert_eq!(at(T + 20)[0]["value"], json!([T + 20, "2"]));
    // After the marker: absent, although the sample at +15 s is within the lookback.
    assert_eq!(at(T + 35), json!([]));
    assert_eq!(at(T + 50)[0]["value"], json!([T + 50, "4"]));
    // Range functions skip the marker.
    let j = q(
        &s,
        &format!(
            "/api/v1/query?query={}&time={}",
            enc("count_over_time(g[1m])"),
            T + 50
        ),
    );
    assert_eq!(j["data"]["result"][0]["value"], json!([T + 50, "3"]));
}
