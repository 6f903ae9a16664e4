//! Golden tests of every route's status code and JSON shape, over real HTTP,
//! built from the examples of docs/BEHAVIOUR.md §2.

mod common;

use common::TestServer;
use serde_json::json;

const T: i64 = 1_715_000_001_000_000_000;

fn seed(s: &TestServer) {
    let body = format!(
        "prod/temp.office 22.75 {T}\nprod/count 7i {}\n# comment\n\nprod/temp.office 23 {}\n",
        T + 1,
        T + 1_000_000_000
    );
    let r = s.post("/api/v1/import", body.as_bytes());
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.text(),
        "{\"status\":\"success\",\"data\":{\"imported\":3}}\n"
    );
}

#[test]
fn health() {
    let s = TestServer::start();
    for m in ["GET", "POST", "HEAD"] {
        let r = common::request(s.addr, m, "/health", &[], b"");
        assert_eq!(r.status, 200);
        if m != "HEAD" {
            assert_eq!(r.text(), "{\"status\":\"ok\"}\n");
        }
    }
}

#[test]
fn import_shapes() {
    let s = TestServer::start();
    let r = s.post("/api/v1/import", b"");
    assert_eq!(
        (r.status, r.json()),
        (200, json!({"status":"success","data":{"imported":0}}))
    );
    assert_eq!(r.header("content-type"), Some("application/json"));
    let r = s.post_h(
        "/api/v1/import",
        &[("Content-Type", "application/json; charset=utf-8")],
        br#"{"lines":"j/a 1 1767225600000000000\r\nj/b 2i 1767225600000000000\n"}"#,
    );
    assert_eq!(r.json(), json!({"status":"success","data":{"imported":2}}));
    let r = s.post_h(
        "/api/v1/import",
        &[("Content-Type", "application/json")],
        b"{",
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["errorType"], "bad_data");
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap()
            .starts_with("invalid JSON body: ")
    );
}

#[test]
fn malformed_import_lists_every_line_and_stores_nothing() {
    let s = TestServer::start();
    seed(&s);
    let body = format!(
        "fresh/a 1 {T}\nnot-a-line\nprod/count 1.5 {T}\nfresh/b x {T}\nprod/temp.office 1 {}\n../evil/m 1 {T}\n",
        // Older than the newest sample by more than the out-of-order window.
        T - 7_200_000_000_000
    );
    let r = s.post("/api/v1/import", body.as_bytes());
    assert_eq!(r.status, 400);
    let j = r.json();
    assert_eq!(j["status"], "error");
    assert_eq!(j["errorType"], "bad_data");
    let msg = j["error"].as_str().unwrap();
    for n in [2, 3, 4, 5, 6] {
        assert!(
            msg.contains(&format!("line {n}: ")),
            "line {n} missing: {msg}"
        );
    }
    assert!(!msg.contains("line 1: "), "{msg}");
    assert!(msg.contains("type mismatch"), "{msg}");
    assert!(msg.contains("[ingest].out_of_order_window"), "{msg}");
    // Nothing stored: line 1 was valid but the request is atomic.
    assert!(!s.root().join("fresh").exists());
    assert!(!s.dir.path().join("evil").exists());
    let r = s.get("/api/v1/databases");
    assert_eq!(r.json()["data"]["result"], json!(["prod"]));
    let r = s.get(&format!(
        "/api/v1/query_range?query=prod/temp.office&start={}",
        T / 1_000_000_000
    ));
    assert_eq!(r.points(), 2);
}

#[test]
fn query_last_golden() {
    let s = TestServer::start();
    seed(&s);
    let r = s.get("/api/v1/query?db=prod&query=temp.office");
    assert_eq!(r.status, 200);
    assert_eq!(
        r.text(),
        "{\"status\":\"success\",\"data\":{\"result\":[{\"metric\":{\"__name__\":\"temp.office\",\"db\":\"prod\"},\"value\":[1715000002,\"23\"]}],\"resultType\":\"vector\"}}\n"
    );
    let r = s.get("/api/v1/query?query=prod/count");
    assert_eq!(
        r.json()["data"]["result"][0]["value"],
        json!([1715000001, "7"])
    );
    let r = s.get("/api/v1/query?query=prod/nothing");
    assert_eq!(
        r.json(),
        json!({"status":"success","data":{"result":[],"resultType":"vector"}})
    );
    let r = s.get("/api/v1/query");
    assert_eq!(
        (r.status, r.json()["error"].clone()),
        (400, json!("missing query parameter"))
    );
    // Neither `db` nor `DB/METRIC`: PromQL (docs/BEHAVIOUR.md §2.6), here a
    // selector that matches nothing.
    let r = s.get("/api/v1/query?query=nodb");
    assert_eq!(
        r.json(),
        json!({"status":"success","data":{"resultType":"vector","result":[]}})
    );
    let r = s.get("/api/v1/query?query=/x");
    assert_eq!(r.status, 400);
    // Queries never create databases.
    let r = s.get("/api/v1/query?query=ghost/x");
    assert_eq!(r.status, 404);
    assert_eq!(
        r.text(),
        "{\"status\":\"error\",\"errorType\":\"not_found\",\"error\":\"database not found: ghost\"}\n"
    );
    assert!(!s.root().join("ghost").exists());
}

#[test]
fn query_range_raw_golden() {
    let s = TestServer::start();
    seed(&s);
    let r = s.get("/api/v1/query_range?db=prod&query=temp.office&start=2024-05-06T12:53:21Z");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.text(),
        "{\"status\":\"success\",\"data\":{\"result\":[{\"metric\":{\"__name__\":\"temp.office\",\"db\":\"prod\"},\"values\":[[1715000001,\"22.75\"],[1715000002,\"23\"]]}],\"resultType\":\"matrix\"}}\n"
    );
    // Every time form of docs/BEHAVIOUR.md §2.3 selects the same range.
    for (start, end) in [
        ("1715000001", "1715000002"),
        ("1715000000.5", "1715000002.0"),
        ("1715000001000000000", "1715000002000000000"),
        ("2024-05-06%2012:53:21", "2024-05-06%2012:53:22"),
        ("2024-05-06T14:53:21%2B02:00", "2024-05-06T12:53:22.000Z"),
    ] {
        let r = s.get(&format!(
            "/api/v1/query_range?query=prod/temp.office&start={start}&end={end}"
        ));
        assert_eq!(r.status, 200, "{start} {end}: {}", r.text());
        assert_eq!(r.points(), 2, "{start}");
    }
    let r = s.get("/api/v1/query_range?query=prod/temp.office&start=1715000001&stride=2");
    assert_eq!(
        r.json()["data"]["result"][0]["values"],
        json!([[1715000001, "22.75"]])
    );
    let r = s.get("/api/v1/query_range?query=prod/none&start=0");
    assert_eq!(
        r.json(),
        json!({"status":"success","data":{"result":[],"resultType":"matrix"}})
    );
    let r = s.get("/api/v1/query_range?query=ghost/x&start=0");
    assert_eq!(r.status, 404);
    assert!(!s.root().join("ghost").exists());
}

#[test]
fn query_range_validation() {
    let s = TestServer::start();
    seed(&s);
    let cases = [
        ("query=prod/x", "invalid start: missing time value"),
        ("query=prod/x&start=2&end=1", "end must be >= start"),
        ("query=prod/x&start=1&end=zz", "invalid end: "),
        ("query=prod/x&start=1&step=-5s", "invalid step: "),
        (
            "query=prod/x&start=1&aggregate=sum",
            "aggregate queries require both aggregate and window",
        ),
        (
            "query=prod/x&start=1&aggregate=sum&window=0s",
            "invalid window: ",
        ),
        (
            "query=prod/x&start=1&aggregate=sum&window=zz",
            "invalid window: ",
        ),
        ("start=1", "missing query parameter"),
        ("query=prod/x&start=1&stride=0", "invalid stride"),
        ("query=..%2Fx&db=..&start=1", "invalid database name"),
    ];
    for (q, want) in cases {
        let r = s.get(&format!("/api/v1/query_range?{q}"));
        assert_eq!(r.status, 400, "{q}: {}", r.text());
        let j = r.json();
        assert_eq!(j["errorType"], "bad_data");
        assert!(j["error"].as_str().unwrap().starts_with(want), "{q}: {j}");
        assert!(j.get("data").is_none());
    }
}

#[test]
fn point_limit_gives_422() {
    let s = TestServer::with(nanotdb_server::settings::ServerSettings {
        max_points_per_series: 1,
        ..Default::default()
    });
    seed(&s);
    let r = s.get("/api/v1/query_range?query=prod/temp.office&start=0");
    assert_eq!(r.status, 422, "{}", r.text());
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap()
            .contains("max_points_per_series")
    );
    let r = s.get("/api/v1/query_range?query=prod/count&start=0");
    assert_eq!(r.status, 200);
}

#[test]
fn databases_and_metrics() {
    let s = TestServer::start();
    seed(&s);
    s.post("/api/v1/import", format!("internal/x 1 {T}\n").as_bytes());
    let r = s.get("/api/v1/databases");
    assert_eq!(
        r.text(),
        "{\"status\":\"success\",\"data\":{\"result\":[\"prod\"],\"resultType\":\"databases\"}}\n"
    );
    let r = s.get("/api/v1/databases?include_internal=true");
    assert_eq!(r.json()["data"]["result"], json!(["internal", "prod"]));
    let r = s.get("/api/v1/databases?include_internal=yes");
    assert_eq!(
        r.json()["error"],
        "invalid include_internal: must be true or false"
    );
    let r = s.get("/api/v1/metrics?db=prod");
    assert_eq!(
        r.json(),
        json!({"status":"success","data":{"db":"prod","result":["count","temp.office"],"resultType":"metrics"}})
    );
    let r = s.get("/api/v1/metrics?db=prod&details=1");
    assert_eq!(
        r.json()["data"]["result"],
        json!([{"name":"count","id":2,"type":"int32"},{"name":"temp.office","id":1,"type":"float32"}])
    );
    for (q, status, err) in [
        ("", 400, "missing db parameter"),
        (
            "db=prod&details=x",
            400,
            "invalid details: must be true or false",
        ),
        (
            "db=prod&lineage=rollups",
            400,
            "lineage requires details=true",
        ),
        (
            "db=prod&details=1&lineage=x",
            400,
            "invalid lineage: supported values are rollups",
        ),
        (
            "db=prod&max_hops=9",
            400,
            "invalid max_hops: must be in range [1,5]",
        ),
        ("db=ghost", 404, "database not found: ghost"),
        (
            "db=.",
            400,
            "invalid database name \".\": must not start with '.' or '-'",
        ),
    ] {
        let r = s.get(&format!("/api/v1/metrics?{q}"));
        assert_eq!(
            (r.status, r.json()["error"].as_str().unwrap()),
            (status, err),
            "{q}"
        );
    }
    assert!(!s.root().join("ghost").exists());
}

#[test]
fn methods_and_unknown_paths() {
    let s = TestServer::start();
    for (m, p) in [
        ("GET", "/api/v1/import"),
        ("DELETE", "/api/v1/query"),
        ("POST", "/api/v1/databases"),
        ("PUT", "/api/v1/metrics"),
        ("GET", "/api/v1/rollup/backfill"),
        ("GET", "/api/engine/recompact"),
    ] {
        let r = common::request(s.addr, m, p, &[], b"");
        assert_eq!(r.status, 405, "{m} {p}");
        assert_eq!(
            r.text(),
            "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"method not allowed\"}\n"
        );
    }
    let r = s.get("/api/v1/nothing");
    assert_eq!((r.status, r.text().as_str()), (404, "404 page not found\n"));
}

#[test]
fn aggregates_registry() {
    let s = TestServer::start();
    let r = s.get("/api/v1/aggregates");
    assert_eq!(
        r.text(),
        "{\"status\":\"success\",\"data\":{\"default\":\"avg\",\"result\":[\"avg\",\"count\",\"max\",\"median\",\"min\",\"p50\",\"p95\",\"p99\",\"sum\",\"trimmed_average\",\"trimmed_avg\"],\"resultType\":\"aggregates\"}}\n"
    );
}

#[test]
fn query_range_aggregate_golden() {
    let s = TestServer::start();
    // docs/BEHAVIOUR.md's example: 5m buckets ending 1779624300 and 1779624600.
    let base = 1_779_624_000i64;
    let body = format!(
        "prod/temp.out_dry 10 {}\nprod/temp.out_dry 20 {}\nprod/temp.out_dry 30 {}\nprod/temp.out_dry 40 {}\n",
        base * 1_000_000_000,
        (base + 60) * 1_000_000_000,
        (base + 300) * 1_000_000_000,
        (base + 360) * 1_000_000_000
    );
    assert_eq!(s.post("/api/v1/import", body.as_bytes()).status, 200);
    let r = s.get(&format!(
        "/api/v1/query_range?db=prod&query=temp.out_dry&start={base}&end={}&aggregate=sum,count,sum&window=5m",
        base + 600
    ));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.text(),
        "{\"status\":\"success\",\"data\":{\"result\":[\
{\"metric\":{\"__name__\":\"temp.out_dry\",\"aggregate\":\"sum\",\"db\":\"prod\",\"window\":\"5m0s\"},\
\"values\":[[1779624300,\"30\"],[1779624600,\"70\"]]},\
{\"metric\":{\"__name__\":\"temp.out_dry\",\"aggregate\":\"count\",\"db\":\"prod\",\"window\":\"5m0s\"},\
\"values\":[[1779624300,\"2\"],[1779624600,\"2\"]]}],\"resultType\":\"matrix\"}}\n"
    );
    // step alone = avg over step-wide windows (Grafana's query shape).
    let r = s.get(&format!(
        "/api/v1/query_range?query=prod/temp.out_dry&start={base}&end={}&step=300",
        base + 600
    ));
    assert_eq!(
        r.json()["data"]["result"],
        json!([{"metric":{"__name__":"temp.out_dry","aggregate":"avg","db":"prod","window":"5m0s"},
                "values":[[1779624300,"15"],[1779624600,"35"]]}])
    );
    let r = s.get(&format!(
        "/api/v1/query_range?query=prod/temp.out_dry&start={base}&aggregate=bogus&window=1m"
    ));
    assert_eq!(r.status, 400);
    assert!(r.json()["error"].as_str().unwrap().contains("bogus"));
    let r = s.get(&format!(
        "/api/v1/query_range?query=prod/none&start={base}&aggregate=sum&window=1m"
    ));
    assert_eq!(r.json()["data"]["result"], json!([]));
}

#[test]
fn self_metrics_exposition() {
    let s = TestServer::start();
    seed(&s);
    s.get("/api/v1/query?query=prod/count");
    let r = s.get("/metrics");
    assert_eq!(r.status, 200);
    assert!(
        r.header("content-type")
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let t = r.text();
    for want in [
        "nanotdb_ingest_samples_total 3\n",
        "nanotdb_ingest_requests_total 1\n",
        "nanotdb_query_duration_seconds_count 1\n",
        "# TYPE nanotdb_wal_bytes gauge\n",
        "nanotdb_flushes_total ",
        "nanotdb_open_pages ",
        "nanotdb_rollup_passes_total 0\n",
        "process_resident_memory_bytes ",
    ] {
        assert!(t.contains(want), "{want:?} missing:\n{t}");
    }
}

#[test]
fn rollup_backfill_rebuilds_destinations() {
    let s = TestServer::start();
    common::copy_dir(
        &common::fixture("rollups/root/edge"),
        &s.root().join("edge"),
    );
    let r = s.post("/api/v1/rollup/backfill", b"{\"source_db\":\" edge \"}");
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["data"]["resultType"], "rollup_backfill");
    let report = &v["data"]["result"];
    assert_eq!(report["source_databases"], json!(["edge"]));
    assert_eq!(
        report["destination_databases"],
        json!(["edge_15m", "edge_1h"])
    );
    let r = s.get("/api/v1/metrics?db=edge_1h");
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(!r.json()["data"]["result"].as_array().unwrap().is_empty());
    // Lineage of an explicit job (pattern jobs are not followed, as in v1.4.0).
    let r = s.get("/api/v1/metrics?db=edge&details=true&lineage=rollups&max_hops=2");
    assert_eq!(r.status, 200, "{}", r.text());
    let items = r.json()["data"]["result"].as_array().unwrap().clone();
    let load = items.iter().find(|m| m["name"] == "load.1m").unwrap();
    assert_eq!(
        load["rollups"],
        json!({"downstream": [
            {"hop": 1, "job_id": "load_15m", "interval": "15m0s", "aggregate": "avg", "db": "edge_15m", "metric": "load1.avg"},
            {"hop": 1, "job_id": "load_15m", "interval": "15m0s", "aggregate": "max", "db": "edge_15m", "metric": "load1.max"}],
            "truncated": false, "max_hops": 2})
    );
    let r = s.post("/api/v1/rollup/backfill", b"{");
    assert_eq!(r.status, 400);
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap()
            .starts_with("invalid JSON body")
    );
    let r = s.post("/api/v1/rollup/backfill", b"{\"source_dbs\":[\"../x\"]}");
    assert_eq!(r.status, 400);
}

#[test]
fn self_metrics_never_open_a_database() {
    // A scrape lists the root but reads counters of loaded databases only:
    // opening one would take its write lock and replay its WAL.
    let s = TestServer::from_fixture(&common::fixture("edge-2h/root"));
    let lock = s.root().join("edge").join("nanotdb.lock");
    assert!(!lock.exists());
    let r = s.get("/metrics");
    assert_eq!(r.status, 200);
    assert!(r.text().contains("nanotdb_databases 1\n"), "{}", r.text());
    assert!(!lock.exists(), "the scrape opened the database");
}

/// A raw answer of more than 1 MiB of points streams (chunked, never held
/// whole) and is the same JSON as a whole answer; the point limit is still
/// a 422 before anything is sent.
#[test]
fn a_large_raw_range_streams_and_the_point_limit_still_holds() {
    const N: i64 = 60_000;
    let lines: String = (0..N)
        .map(|i| format!("big/m {}.5 {}\n", i, T + i * 1_000_000_000))
        .collect();
    let q = "/api/v1/query_range?query=big/m&start=0";
    for max in [N as usize, N as usize - 1] {
        let s = TestServer::with(nanotdb_server::settings::ServerSettings {
            max_points_per_series: max,
            ..Default::default()
        });
        let r = s.post("/api/v1/import", lines.as_bytes());
        assert_eq!(r.status, 200, "{}", r.text());
        let r = s.get(q);
        if max < N as usize {
            assert_eq!(r.status, 422, "{}", r.text());
            assert!(r.text().contains("max_points_per_series"));
            continue;
        }
        assert_eq!(r.status, 200);
        assert_eq!(r.header("transfer-encoding"), Some("chunked"));
        assert!(r.body.len() > 1 << 20, "{}", r.body.len());
        let j = r.json();
        assert_eq!(j["status"], "success");
        assert_eq!(j["data"]["resultType"], "matrix");
        let result = j["data"]["result"].as_array().unwrap();
        assert_eq!(result.len(), 1);
        assert_eq!(result[0]["metric"]["__name__"], "m");
        assert_eq!(result[0]["metric"]["db"], "big");
        let values = result[0]["values"].as_array().unwrap();
        assert_eq!(values.len(), N as usize);
        for (i, v) in values.iter().enumerate() {
            let want_ts = (T + i as i64 * 1_000_000_000) as f64 / 1e9;
            assert_eq!(v[0].as_f64().unwrap(), want_ts, "point {i}");
            assert_eq!(v[1].as_str().unwrap(), format!("{i}.5"), "point {i}");
        }
        // A small answer is still sent whole.
        let r = s.get(&format!(
            "/api/v1/query_range?query=big/m&start=0&end={}",
            T / 1_000_000_000 + 9
        ));
        assert_eq!(r.status, 200);
        assert_eq!(r.header("transfer-encoding"), None);
        assert_eq!(
            r.json()["data"]["result"][0]["values"]
                .as_array()
                .unwrap()
                .len(),
            10
        );
    }
}
