//! Golden tests of the engine view API (docs/BEHAVIOUR.md §2.9) over real HTTP, on
//! copies of the reference's fixtures.

mod common;

use common::TestServer;
use serde_json::{Value, json};

const EDGE: &str = "edge-2h/root";
const CODECS: &str = "codecs/root";
const WAL_REPLAY: &str = "wal-replay/root";

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().expect("object").keys().cloned().collect();
    k.sort();
    k
}

fn sorted(names: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

const MANIFEST_KEYS: &[&str] = &[
    "grace",
    "retention_days",
    "retention_action",
    "max_active_days",
    "partition",
    "wal_enabled",
    "wal_skip_before",
    "page_max_records",
    "page_max_bytes",
    "page_max_age",
    "rollups",
];

const SUMMARY_KEYS: &[&str] = &[
    "name",
    "metric_count",
    "manifest",
    "stats",
    "open_pages",
    "data_files",
    "data_bytes",
    "wal_files",
    "wal_bytes",
    "active",
    "runtime",
];

fn check_edge_manifest(m: &Value) {
    assert_eq!(keys(m), sorted(MANIFEST_KEYS));
    assert_eq!(m["grace"], "5m0s");
    assert_eq!(m["retention_days"], 30);
    assert_eq!(m["retention_action"], "keep");
    assert_eq!(m["max_active_days"], 2);
    assert_eq!(m["partition"], "day");
    assert_eq!(m["wal_enabled"], true);
    assert_eq!(m["wal_skip_before"], "1h0m0s");
    assert_eq!(m["page_max_records"], 16000);
    assert_eq!(m["page_max_bytes"], 127000);
    assert_eq!(m["page_max_age"], "1m0s");
    assert_eq!(m["rollups"]["Enabled"], false);
    assert_eq!(m["rollups"]["CheckpointFile"], "rollup.checkpoints.log");
    assert_eq!(m["rollups"]["Jobs"], Value::Null);
    assert_eq!(m["rollups"]["DefaultGrace"], 0);
}

#[test]
fn overview_lists_without_loading() {
    let s = TestServer::from_fixture(&common::fixture(CODECS));
    let r = s.get("/api/engine/overview");
    assert_eq!(r.status, 200, "{}", r.text());
    let j = r.json();
    assert_eq!(j["status"], "success");
    assert_eq!(j["data"]["resultType"], "engine_overview");
    let result = j["data"]["result"].as_array().unwrap();
    let names: Vec<&str> = result.iter().map(|d| d["name"].as_str().unwrap()).collect();
    assert_eq!(names, nanotdb_testkit::CODEC_DATABASES);
    let d = &result[1];
    assert_eq!(keys(d), sorted(SUMMARY_KEYS));
    assert_eq!(d["metric_count"], 86);
    assert_eq!(d["active"], false);
    assert_eq!(d["open_pages"], 0);
    // data-, metric- files (the .wal is empty).
    assert_eq!(d["data_files"], 2);
    assert_eq!(d["data_bytes"], 199498 + 189026);
    assert_eq!(
        (d["wal_files"].clone(), d["wal_bytes"].clone()),
        (json!(1), json!(0))
    );
    check_edge_manifest(&d["manifest"]);
    assert_eq!(d["stats"]["DataFile"]["FlushCount"], 0);
    assert_eq!(d["stats"]["WAL"]["LastAppendAt"], "0001-01-01T00:00:00Z");
    assert_eq!(
        keys(&d["runtime"]),
        sorted(&[
            "database",
            "metric_count",
            "manifest",
            "stats",
            "open_pages"
        ])
    );
    let st = &j["data"]["settings"];
    assert_eq!(st["listen"], ":8428"); // as the fixture's engine.toml (v1.4.0) says
    assert_eq!(st["wal_fsync_policy"], "segment");
    assert_eq!(st["durability_profile"], "strict");
    assert_eq!(st["stats_interval"], "30s");
    assert_eq!(st["default_page_max_age"], "1m0s");
    assert_eq!(st["default_partition"], "day");
    assert_eq!(keys(st).len(), 21);
    // Listing loaded nothing.
    assert!(!s.engine.is_loaded("edge_s2"));
    assert!(s.engine.loaded_databases().is_empty());
}

#[test]
fn internal_only_when_asked() {
    let s = TestServer::start();
    let r = s.post(
        "/api/v1/import?precision=ns",
        b"internal/x 1 1000\nprod/y 2 1000\n",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let names = |path: &str| -> Vec<String> {
        s.get(path).json()["data"]["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names("/api/engine/overview"), ["prod"]);
    assert_eq!(
        names("/api/engine/overview?include_internal=1"),
        ["internal", "prod"]
    );
    let r = s.get("/api/engine/overview?include_internal=maybe");
    assert_eq!(r.status, 400);
    let r = s.get("/api/engine/runtime");
    assert_eq!(r.json()["data"]["result"]["database_count"], 1);
    let r = s.get("/api/engine/runtime?include_internal=true");
    assert_eq!(r.json()["data"]["result"]["database_count"], 2);
}

#[test]
fn database_summary_and_metrics() {
    let s = TestServer::from_fixture(&common::fixture(EDGE));
    let r = s.get("/api/engine/database?db=edge");
    assert_eq!(r.status, 200, "{}", r.text());
    let j = r.json();
    assert_eq!(j["data"]["resultType"], "engine_database");
    let res = &j["data"]["result"];
    assert_eq!(keys(&res["summary"]), sorted(SUMMARY_KEYS));
    assert_eq!(res["summary"]["name"], "edge");
    assert_eq!(res["summary"]["active"], false, "not loaded before");
    assert_eq!(res["summary"]["metric_count"], 86);
    check_edge_manifest(&res["summary"]["manifest"]);
    let metrics = res["metrics"].as_array().unwrap();
    assert_eq!(metrics.len(), 86);
    let probe = metrics
        .iter()
        .find(|m| m["name"] == "temp.probe03")
        .unwrap();
    assert_eq!(probe["id"], 17);
    assert_eq!(probe["type"], "float32");
    assert_eq!(probe["last_value"], "25.625");
    assert_eq!(probe["last_timestamp_ns"], 1_767_232_790_152_614_793i64);
    assert_eq!(probe["last_timestamp"], "2026-01-01T01:59:50.152614793Z");
    // Now loaded.
    let r = s.get("/api/engine/database?db=edge");
    assert_eq!(r.json()["data"]["result"]["summary"]["active"], true);

    for (q, status, err) in [
        ("", 400, "missing db parameter"),
        ("?db=%20", 400, "missing db parameter"),
        ("?db=ghost", 404, "database not found: ghost"),
    ] {
        let r = s.get(&format!("/api/engine/database{q}"));
        assert_eq!((r.status, r.json()["error"].clone()), (status, json!(err)));
    }
    assert_eq!(s.get("/api/engine/database?db=..").status, 400);
    assert!(!s.root().join("ghost").exists());
}

#[test]
fn files_inspection() {
    let s = TestServer::from_fixture(&common::fixture(EDGE));
    let r = s.get("/api/engine/files?db=/edge/");
    assert_eq!(r.status, 200, "{}", r.text());
    let j = r.json();
    assert_eq!(j["data"]["resultType"], "engine_files");
    let res = &j["data"]["result"];
    assert_eq!(res["database"], "edge");
    let data = res["data"].as_array().unwrap();
    assert_eq!(data.len(), 1);
    let d = &data[0];
    let root = s.root();
    assert_eq!(
        d["path"],
        root.join("edge/data-2026-01-01.dat").display().to_string()
    );
    assert_eq!(d["part"], "2026-01-01");
    assert_eq!(d["active"], false);
    assert_eq!(d["bytes"], 199498);
    assert_eq!(d["records"], 61920);
    assert_eq!(d["min_utc"], "2026-01-01T00:00:00.076737773Z");
    assert!(d.get("scan_error").is_none());
    let pages = d["pages"].as_array().unwrap();
    assert_eq!(pages.len() as u64, d["frames"].as_u64().unwrap());
    let p0 = &pages[0];
    assert_eq!(
        keys(p0),
        sorted(&[
            "index",
            "offset",
            "frame_bytes",
            "compressed_len",
            "uncompressed_len",
            "records",
            "start_timestamp_ns",
            "end_timestamp_ns",
            "duration_ns",
            "avg_disk_bytes_per_point",
            "start_utc",
            "end_utc"
        ])
    );
    assert_eq!(
        (p0["index"].clone(), p0["offset"].clone()),
        (json!(0), json!(0))
    );
    assert_eq!(
        p0["uncompressed_len"].as_u64().unwrap(),
        p0["records"].as_u64().unwrap() * 14
    );
    let total: u64 = pages
        .iter()
        .map(|p| p["frame_bytes"].as_u64().unwrap())
        .sum();
    assert_eq!(total, 199498);
    let metric = res["metric"].as_array().unwrap();
    assert_eq!(metric.len(), 1);
    assert_eq!(metric[0]["part"], "2026-01-01");
    assert_eq!(metric[0]["bytes"], 169465);
    assert_eq!(metric[0]["points"], 61920);
    assert_eq!(metric[0]["distinct_metrics"], 86);
    assert_eq!(metric[0]["version"], 2);
    let wal = res["wal"].as_array().unwrap();
    assert_eq!(wal.len(), 1);
    assert_eq!(wal[0]["records"], 0);
    assert_eq!(wal[0]["has_tail"], false);
    assert_eq!(res["record_preview"], json!({"total": 0}));

    // An explicit data file by name; an unknown one is 404.
    let r = s.get("/api/engine/files?db=edge&data_file=data-2026-01-01.dat");
    assert!(r.json()["data"]["result"]["data"][0]["pages"].is_array());
    let r = s.get("/api/engine/files?db=edge&data_file=data-2026-01-02.dat");
    assert_eq!(r.status, 404);
    let r = s.get("/api/engine/files?db=ghost");
    assert_eq!(r.status, 404);
    assert!(!s.root().join("ghost").exists());
    assert_eq!(s.get("/api/engine/files").status, 400);
}

#[test]
fn files_and_runtime_on_a_live_wal() {
    let s = TestServer::from_fixture(&common::fixture(WAL_REPLAY));
    let r = s.get("/api/engine/runtime?db=live");
    assert_eq!(r.status, 200, "{}", r.text());
    let j = r.json();
    assert_eq!(j["data"]["resultType"], "engine_runtime");
    let rt = &j["data"]["result"]["runtime"];
    assert_eq!(rt["database"], "live");
    let pages = rt["open_pages"].as_array().unwrap();
    assert!(!pages.is_empty());
    let records: u64 = pages.iter().map(|p| p["records"].as_u64().unwrap()).sum();
    assert_eq!(records, 6429);
    let p = &pages[0];
    assert_eq!(p["persisted"], false);
    assert_eq!(p["wal_segment_id"], 1);
    assert_eq!(p["max_records"], 16000);
    assert_eq!(p["max_age_ns"], 60_000_000_000i64);
    let prev = &j["data"]["result"]["wal_preview"];
    assert_eq!(prev["total"], 6429);
    assert_eq!(prev["first"].as_array().unwrap().len(), 12);
    assert_eq!(prev["last"].as_array().unwrap().len(), 12);
    let f0 = &prev["first"][0];
    assert_eq!(f0["index"], 0);
    assert_eq!(f0["offset"], 0);
    assert_eq!(f0["metric_name"], "sensor.a");
    assert_eq!(f0["value_type"], "float32");
    assert_eq!(f0["value"], "20");
    assert_eq!(f0["timestamp_ns"], 1_795_637_468_079_545_896i64);
    let f1 = &prev["first"][1];
    assert_eq!(
        (f1["value_type"].clone(), f1["value"].clone()),
        (json!("int32"), json!("0"))
    );
    // Records of known metrics are typed from the catalog (no int32 quirk).
    let later_float = prev["last"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["metric_name"] == "sensor.a")
        .expect("sensor.a in the last 12");
    assert_eq!(later_float["value_type"], "float32");

    // The files view of the same WAL: sorted by time, real offsets.
    let r = s.get("/api/engine/files?db=live");
    let res = &r.json()["data"]["result"];
    assert_eq!(res["wal"][0]["records"], 6429);
    assert_eq!(res["record_preview"]["total"], 6429);
    let e0 = &res["record_preview"]["first"][0];
    assert_eq!(e0["offset"], 0);
    assert!(e0["record_bytes"].as_u64().unwrap() > 0);

    // Runtime overview with the loaded database's pages.
    let r = s.get("/api/engine/runtime");
    assert_eq!(r.status, 200);
    let j = r.json();
    assert_eq!(j["data"]["resultType"], "engine_runtime_overview");
    let res = &j["data"]["result"];
    assert_eq!(res["database_count"], 1);
    assert_eq!(res["active_database_count"], 1);
    assert_eq!(res["metric_count"], rt["metric_count"]);
    assert_eq!(res["open_pages"][0]["database"], "live");
    assert!(res["process"]["rss_bytes"].as_u64().unwrap() > 0);
    assert!(res["process"]["num_goroutine"].as_u64().unwrap() >= 1);
    assert!(res["process"]["num_cpu"].as_u64().unwrap() >= 1);
    assert_eq!(
        keys(&res["go_mem"]).len(),
        13,
        "every go_mem key is present"
    );

    // Maintenance of an open partition is refused with 409.
    let part = pages[0]["day"].as_str().unwrap().to_string();
    let body = format!(r#"{{"db":"live","part":"{part}"}}"#);
    for route in ["/api/engine/recompact", "/api/engine/compact_metric"] {
        let r = s.post(route, body.as_bytes());
        assert_eq!(r.status, 409, "{route}: {}", r.text());
        assert_eq!(r.json()["errorType"], "conflict");
        assert_eq!(
            r.json()["error"],
            format!("data file partition is currently open: live/{part}")
        );
    }

    let r = s.get("/api/engine/runtime?db=ghost");
    assert_eq!(r.status, 404);
    assert!(!s.root().join("ghost").exists());
}

#[test]
fn stats_follow_ingest_and_flush() {
    let s = TestServer::start();
    let now = nanotdb::time::now_ns();
    let body = format!("prod/a 1 {now}\nprod/b 2i {now}\n");
    assert_eq!(s.post("/api/v1/import", body.as_bytes()).status, 200);
    let r = s.get("/api/engine/runtime?db=prod");
    let rt = &r.json()["data"]["result"]["runtime"];
    let wal = &rt["stats"]["WAL"];
    assert_eq!(wal["AppendCount"], 2);
    assert_eq!(wal["FlushCount"], 1);
    assert_ne!(wal["LastAppendAt"], "0001-01-01T00:00:00Z");
    let p = &rt["open_pages"][0];
    assert_eq!(
        (p["records"].clone(), p["unique_metrics"].clone()),
        (json!(2), json!(2))
    );
    assert_eq!(p["value_bytes"], 28);
    s.engine.flush().unwrap();
    let r = s.get("/api/engine/runtime?db=prod");
    let rt = &r.json()["data"]["result"]["runtime"];
    let df = &rt["stats"]["DataFile"];
    assert_eq!(df["FlushCount"], 1);
    assert_eq!(df["TotalFlushRecords"], 2);
    assert_eq!(df["MinFlushRecords"], 2);
    assert_eq!(df["MaxFlushBytes"], 28);
    assert!(df["SyncCount"].as_u64().unwrap() >= 1);
    assert!(df["TotalFlushCompressed"].as_u64().unwrap() > 0);
    assert_eq!(rt["open_pages"][0]["persisted"], true);
}

#[test]
fn recompact_and_compact_metric() {
    let s = TestServer::from_fixture(&common::fixture(EDGE));
    let r = s.post(
        "/api/engine/recompact",
        br#"{"db":"edge","part":"2026-01-01"}"#,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let j = r.json();
    assert_eq!(j["data"]["resultType"], "engine_recompact");
    let rep = &j["data"]["result"];
    assert_eq!(rep["database"], "edge");
    assert_eq!(rep["part"], "2026-01-01");
    assert_eq!(rep["old_records"], 61920);
    assert_eq!(rep["new_records"], 61920);
    assert_eq!(rep["old_bytes"], 199498);
    assert_eq!(
        rep["path"],
        s.root()
            .join("edge/data-2026-01-01.dat")
            .display()
            .to_string()
    );

    let r = s.post(
        "/api/engine/compact_metric",
        br#"{"db":"edge","part":"2026-01-01"}"#,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let j = r.json();
    assert_eq!(j["data"]["resultType"], "engine_compact_metric");
    let rep = &j["data"]["result"];
    assert_eq!(
        keys(rep),
        sorted(&[
            "database",
            "part",
            "data_path",
            "metric_path",
            "data_bytes",
            "metric_bytes",
            "saved_bytes",
            "format",
            "duration_ms"
        ])
    );
    assert_eq!(rep["format"], "v2");
    let (db, mb) = (
        rep["data_bytes"].as_i64().unwrap(),
        rep["metric_bytes"].as_i64().unwrap(),
    );
    assert_eq!(rep["saved_bytes"].as_i64().unwrap(), db - mb);
    assert_eq!(
        rep["metric_path"],
        s.root()
            .join("edge/metric-2026-01-01.dat")
            .display()
            .to_string()
    );
    // Queries still see every sample.
    let r = s.get("/api/v1/query_range?query=edge/temp.probe03&start=2026-01-01");
    assert_eq!(r.status, 200);
    assert!(
        !r.json()["data"]["result"][0]["values"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    // The format field (#17): v3, and a bad name is a 400.
    let r = s.post(
        "/api/engine/compact_metric",
        br#"{"db":"edge","part":"2026-01-01","format":"v3"}"#,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["data"]["result"]["format"], "v3");
    let b = std::fs::read(s.root().join("edge/metric-2026-01-01.dat")).unwrap();
    assert_eq!(&b[4..6], &3u16.to_le_bytes());
    let r = s.get("/api/v1/query_range?query=edge/temp.probe03&start=2026-01-01");
    assert_eq!(
        r.json()["data"]["result"][0]["values"]
            .as_array()
            .unwrap()
            .len(),
        720
    );
    let r = s.post(
        "/api/engine/compact_metric",
        br#"{"db":"edge","part":"2026-01-01","format":"v9"}"#,
    );
    assert_eq!(r.status, 400, "{}", r.text());
}

#[test]
fn maintenance_error_mapping() {
    let s = TestServer::from_fixture(&common::fixture(EDGE));
    for route in ["/api/engine/recompact", "/api/engine/compact_metric"] {
        for (body, status, kind, msg) in [
            (&b""[..], 400, "bad_data", "invalid JSON body: "),
            (b"{", 400, "bad_data", "invalid JSON body: "),
            (
                br#"{"part":"2026-01-01"}"#,
                400,
                "bad_data",
                "database is required",
            ),
            (br#"{"db":"edge"}"#, 400, "bad_data", "part is required"),
            (br#"{"db":"edge","part":"2026-13-45"}"#, 400, "bad_data", ""),
            (br#"{"db":"edge","part":"2026-01"}"#, 400, "bad_data", ""),
            (br#"{"db":"edge","part":"../x"}"#, 400, "bad_data", ""),
            (
                br#"{"db":"edge","part":"2026-01-02"}"#,
                404,
                "not_found",
                "",
            ),
            (
                br#"{"db":"ghost","part":"2026-01-01"}"#,
                404,
                "not_found",
                "database not found: ghost",
            ),
            (br#"{"db":"..","part":"2026-01-01"}"#, 400, "bad_data", ""),
        ] {
            let r = s.post(route, body);
            let j = r.json();
            assert_eq!(
                (r.status, j["errorType"].as_str().unwrap()),
                (status, kind),
                "{route} {}: {}",
                String::from_utf8_lossy(body),
                r.text()
            );
            assert!(
                j["error"].as_str().unwrap().starts_with(msg),
                "{route}: {}",
                j["error"]
            );
        }
        let r = s.post(route, br#"{"db":"edge","part":"2026-01"}"#);
        assert!(
            r.json()["error"]
                .as_str()
                .unwrap()
                .contains("does not match database partitioning"),
            "{}",
            r.text()
        );
    }
    assert!(!s.root().join("ghost").exists());
    let r = common::request(s.addr, "GET", "/api/engine/compact_metric", &[], b"");
    assert_eq!(r.status, 405);
    let r = common::request(s.addr, "POST", "/api/engine/overview", &[], b"");
    assert_eq!(r.status, 405);
}
