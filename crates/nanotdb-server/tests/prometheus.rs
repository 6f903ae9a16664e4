//! `POST /api/v1/import/prometheus` with real exposition text.

mod common;

use common::TestServer;
use serde_json::json;

/// An excerpt of a node-exporter scrape (HELP/TYPE lines, labels, a summary
/// with NaN quantiles, counters, gauges, escapes).
const NODE_EXPORTER: &str = r##"# HELP go_gc_duration_seconds A summary of the pause duration of garbage collection cycles.
# TYPE go_gc_duration_seconds summary
go_gc_duration_seconds{quantile="0"} 2.4469e-05
go_gc_duration_seconds{quantile="1"} NaN
go_gc_duration_seconds_sum 0.012345
go_gc_duration_seconds_count 42
# HELP node_cpu_seconds_total Seconds the CPUs spent in each mode.
# TYPE node_cpu_seconds_total counter
node_cpu_seconds_total{cpu="0",mode="idle"} 123456.78
node_cpu_seconds_total{cpu="0",mode="user"} 2345.5
node_cpu_seconds_total{mode="idle",cpu="1"} 123000.25
# HELP node_filesystem_avail_bytes Filesystem space available to non-root users in bytes.
# TYPE node_filesystem_avail_bytes gauge
node_filesystem_avail_bytes{device="/dev/sda1",fstype="ext4",mountpoint="/"} 1.2345678e+10
node_filesystem_avail_bytes{device="tmpfs",fstype="tmpfs",mountpoint="/run/user/1000"} 8.24e+08
# HELP node_load1 1m load average.
# TYPE node_load1 gauge
node_load1 0.52 1767225600000
# HELP node_uname_info Labeled system information as provided by the uname system call.
# TYPE node_uname_info gauge
node_uname_info{domainname="(none)",machine="x86_64",nodename="edge-1",release="6.1.0",sysname="Linux",version="#1 SMP \"Debian\" 6.1"} 1
# HELP node_network_receive_errs_total Network device statistic receive_errs.
# TYPE node_network_receive_errs_total counter
node_network_receive_errs_total{device="eth0"} +Inf
node_network_transmit_errs_total{device="eth0"} -Inf
"##;

fn last(s: &TestServer, db: &str, metric: &str) -> serde_json::Value {
    let q: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("db", db)
        .append_pair("query", metric)
        .finish();
    let r = s.get(&format!("/api/v1/query?{q}"));
    assert_eq!(r.status, 200, "{metric}: {}", r.text());
    r.json()["data"]["result"][0]["value"].clone()
}

#[test]
fn node_exporter_scrape_is_stored_with_documented_names() {
    let s = TestServer::start();
    let r = s.post(
        "/api/v1/import/prometheus?db=node",
        NODE_EXPORTER.as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), json!({"status":"success","data":{"imported":13}}));
    let r = s.get("/api/v1/metrics?db=node");
    assert_eq!(
        r.json()["data"]["result"],
        json!([
            "go_gc_duration_seconds_count",
            "go_gc_duration_seconds_sum",
            "go_gc_duration_seconds{quantile=\"0\"}",
            "go_gc_duration_seconds{quantile=\"1\"}",
            "node_cpu_seconds_total{cpu=\"0\",mode=\"idle\"}",
            "node_cpu_seconds_total{cpu=\"0\",mode=\"user\"}",
            "node_cpu_seconds_total{cpu=\"1\",mode=\"idle\"}",
            "node_filesystem_avail_bytes{device=\"/dev/sda1\",fstype=\"ext4\",mountpoint=\"/\"}",
            "node_filesystem_avail_bytes{device=\"tmpfs\",fstype=\"tmpfs\",mountpoint=\"/run/user/1000\"}",
            "node_load1",
            "node_network_receive_errs_total{device=\"eth0\"}",
            "node_network_transmit_errs_total{device=\"eth0\"}",
            "node_uname_info{domainname=\"(none)\",machine=\"x86_64\",nodename=\"edge-1\",release=\"6.1.0\",sysname=\"Linux\",version=\"#1\\u{0020}SMP\\u{0020}\\\"Debian\\\"\\u{0020}6.1\"}",
        ])
    );
    assert_eq!(last(&s, "node", "node_load1"), json!([1767225600, "0.52"]));
    assert_eq!(
        last(
            &s,
            "node",
            "node_cpu_seconds_total{cpu=\"0\",mode=\"idle\"}"
        )[1],
        "123456.78"
    );
    assert_eq!(
        last(
            &s,
            "node",
            "node_filesystem_avail_bytes{device=\"/dev/sda1\",fstype=\"ext4\",mountpoint=\"/\"}"
        )[1],
        "12345678000"
    );
    assert_eq!(
        last(&s, "node", "go_gc_duration_seconds{quantile=\"1\"}")[1],
        "NaN"
    );
    assert_eq!(
        last(
            &s,
            "node",
            "node_network_receive_errs_total{device=\"eth0\"}"
        )[1],
        "+Inf"
    );
    assert_eq!(
        last(
            &s,
            "node",
            "node_network_transmit_errs_total{device=\"eth0\"}"
        )[1],
        "-Inf"
    );
    assert_eq!(last(&s, "node", "go_gc_duration_seconds_count")[1], "42");
    // Samples without a timestamp get the receive time.
    let ts = last(&s, "node", "go_gc_duration_seconds_count")[0]
        .as_f64()
        .unwrap();
    let now = nanotdb::time::now_ns() as f64 / 1e9;
    assert!((now - ts).abs() < 60.0, "{ts} vs {now}");
}

#[test]
fn db_label_selects_the_database() {
    let s = TestServer::start();
    let body = "up{db=\"edge\",job=\"node\"} 1 1767225600000\nup{db=\"lab\"} 0 1767225600000\n";
    let r = s.post("/api/v1/import/prometheus", body.as_bytes());
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        last(&s, "edge", "up{job=\"node\"}"),
        json!([1767225600, "1"])
    );
    assert_eq!(last(&s, "lab", "up"), json!([1767225600, "0"]));
}

#[test]
fn bad_exposition_is_rejected_whole_with_line_numbers() {
    let s = TestServer::start();
    let body =
        "# TYPE up gauge\nup 1\nup{job=\"x\" 1\nup 1e99\nup 1 12.5\nup{db=\"../x\"} 1\nok 2\n";
    let r = s.post("/api/v1/import/prometheus", body.as_bytes());
    assert_eq!(r.status, 400);
    let msg = r.json()["error"].as_str().unwrap().to_string();
    for n in [2, 3, 4, 5, 6, 7] {
        assert!(msg.contains(&format!("line {n}: ")), "line {n}: {msg}");
    }
    assert!(msg.contains("no database"), "{msg}");
    let r = s.post("/api/v1/import/prometheus?db=..", b"up 1\n");
    assert_eq!(r.status, 400);
    let r = s.post("/api/v1/import/prometheus?db=p", b"up 1\nup{ 2\n");
    assert_eq!(r.status, 400);
    assert_eq!(
        std::fs::read_dir(s.root()).unwrap().count(),
        1,
        "only engine.toml may exist"
    );
}
