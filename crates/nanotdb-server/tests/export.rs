//! `GET /api/v1/export`: VictoriaMetrics JSON lines, byte for byte, chosen by
//! `db`, `match[]`, `start` and `end`; streamed, not built in memory.

mod common;

use common::TestServer;
use nanotdb::{Value, WriteSample};
use nanotdb_server::settings::ServerSettings;

const T0_MS: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z
const T0_NS: i64 = T0_MS * 1_000_000;

/// `edge`: two labelled float64 series (Prometheus text) and a v1.4.0-style
/// float32 metric (line protocol); `lab`: one int32 metric; `internal`: a
/// sample that an export without `db` must leave out.
fn seed(s: &TestServer) {
    let prom = format!(
        "http_total{{method=\"GET\",code=\"200\"}} 0.1 {T0_MS}\n\
         http_total{{method=\"GET\",code=\"200\"}} 1 {}\n\
         http_total{{code=\"500\",method=\"GET\"}} 25276182528 {}\n\
         http_total{{code=\"500\",method=\"GET\"}} +Inf {}\n",
        T0_MS + 1000,
        T0_MS + 2000,
        T0_MS + 3000,
    );
    let r = s.post("/api/v1/import/prometheus?db=edge", prom.as_bytes());
    assert_eq!(
        r.text(),
        "{\"status\":\"success\",\"data\":{\"imported\":4}}\n"
    );
    let lp = format!(
        "edge/room.temp 21.5 {}\nedge/room.temp -0.25 {}\nlab/count 7i {}\n",
        T0_NS + 123_456_789,
        T0_NS + 5_000_000_000,
        T0_NS
    );
    let r = s.post("/api/v1/import", lp.as_bytes());
    assert_eq!(r.status, 200, "{}", r.text());
    s.engine
        .write(&[WriteSample {
            db: "internal",
            metric: "self.up",
            ts: T0_NS,
            value: Value::I32(1),
        }])
        .unwrap();
}

const EDGE: &str = "\
{\"metric\":{\"__name__\":\"http_total\",\"code\":\"200\",\"method\":\"GET\"},\"values\":[0.1,1],\"timestamps\":[1767225600000,1767225601000]}
{\"metric\":{\"__name__\":\"http_total\",\"code\":\"500\",\"method\":\"GET\"},\"values\":[25276182528,+Inf],\"timestamps\":[1767225602000,1767225603000]}
{\"metric\":{\"__name__\":\"room.temp\"},\"values\":[21.5,-0.25],\"timestamps\":[1767225600123,1767225605000]}
";

#[test]
fn export_writes_victoriametrics_json_lines_byte_for_byte() {
    let s = TestServer::start();
    seed(&s);
    let r = s.get("/api/v1/export?db=edge");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.header("content-type"),
        Some("application/stream+json; charset=utf-8")
    );
    assert_eq!(r.text(), EDGE);

    // Without db: every database but `internal`, each series with its db.
    let r = s.get("/api/v1/export");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.text(),
        "\
{\"metric\":{\"__name__\":\"http_total\",\"code\":\"200\",\"db\":\"edge\",\"method\":\"GET\"},\"values\":[0.1,1],\"timestamps\":[1767225600000,1767225601000]}
{\"metric\":{\"__name__\":\"http_total\",\"code\":\"500\",\"db\":\"edge\",\"method\":\"GET\"},\"values\":[25276182528,+Inf],\"timestamps\":[1767225602000,1767225603000]}
{\"metric\":{\"__name__\":\"room.temp\",\"db\":\"edge\"},\"values\":[21.5,-0.25],\"timestamps\":[1767225600123,1767225605000]}
{\"metric\":{\"__name__\":\"count\",\"db\":\"lab\"},\"values\":[7],\"timestamps\":[1767225600000]}
"
    );
}

#[test]
fn match_selects_series_and_db_matchers_pick_databases() {
    let s = TestServer::start();
    seed(&s);
    let lines = |q: &str| -> Vec<String> {
        let r = s.get(&format!("/api/v1/export?{q}"));
        assert_eq!(r.status, 200, "{q}: {}", r.text());
        r.text().lines().map(str::to_string).collect()
    };
    let edge: Vec<&str> = EDGE.lines().collect();
    assert_eq!(
        lines("db=edge&match[]=http_total%7Bcode%3D%22500%22%7D"),
        [edge[1]]
    );
    // Two selectors: the union, each series once, in name order.
    assert_eq!(
        lines("db=edge&match[]=room.temp&match[]=%7Bcode%3D~%225..%22%7D&match[]=room.temp"),
        [edge[1], edge[2]]
    );
    assert_eq!(
        lines("db=edge&match[]=%7B__name__%3D~%22http.*%22,code!%3D%22500%22%7D"),
        [edge[0]]
    );
    assert!(lines("db=edge&match[]=nothing_like_this").is_empty());
    // `db` in a selector picks databases.
    assert_eq!(
        lines("match[]=%7Bdb%3D%22lab%22%7D"),
        [
            "{\"metric\":{\"__name__\":\"count\",\"db\":\"lab\"},\"values\":[7],\"timestamps\":[1767225600000]}"
        ]
    );
    assert_eq!(
        lines("match[]=%7Bdb%3D~%22e.*%22,code%3D%22200%22%7D").len(),
        1
    );
    assert!(lines("match[]=%7Bdb%3D%22internal%22%7D").is_empty());
}

#[test]
fn start_and_end_bound_the_samples_inclusively() {
    let s = TestServer::start();
    seed(&s);
    let text = |q: &str| {
        let r = s.get(&format!("/api/v1/export?db=edge&{q}"));
        assert_eq!(r.status, 200, "{q}: {}", r.text());
        r.text()
    };
    let one = "{\"metric\":{\"__name__\":\"http_total\",\"code\":\"200\",\"method\":\"GET\"},\"values\":[1],\"timestamps\":[1767225601000]}\n\
{\"metric\":{\"__name__\":\"http_total\",\"code\":\"500\",\"method\":\"GET\"},\"values\":[25276182528],\"timestamps\":[1767225602000]}\n";
    // Unix seconds, RFC 3339 and fractional seconds, both ends inclusive.
    assert_eq!(text("start=1767225601&end=1767225602"), one);
    assert_eq!(
        text("start=2026-01-01T00:00:01Z&end=2026-01-01T00:00:02Z"),
        one
    );
    assert_eq!(text("start=1767225600.5&end=1767225602.999"), one);
    // Only a start: everything from there on.
    assert_eq!(
        text("start=2026-01-01T00:00:04Z"),
        "{\"metric\":{\"__name__\":\"room.temp\"},\"values\":[-0.25],\"timestamps\":[1767225605000]}\n"
    );
    // Only an end.
    assert_eq!(
        text("end=1767225600"),
        "{\"metric\":{\"__name__\":\"http_total\",\"code\":\"200\",\"method\":\"GET\"},\"values\":[0.1],\"timestamps\":[1767225600000]}\n"
    );
    assert_eq!(text("start=2030-01-01T00:00:00Z"), "");
}

#[test]
fn bad_parameters_answer_400_naming_the_parameter() {
    let s = TestServer::start();
    seed(&s);
    for (q, names) in [
        ("start=yesterday-ish", "invalid start"),
        ("end=2026-13-45T00:00:00Z", "invalid end"),
        ("start=1767225602&end=1767225601", "invalid start/end"),
        ("match[]=%7B", "invalid match[]"),
        ("match[]=%7B%7D", "invalid match[]"),
        ("match[]=up%7Bcode%3D~%22(%22%7D", "invalid match[]"),
        ("db=..%2Fetc", "invalid db"),
    ] {
        let r = s.get(&format!("/api/v1/export?{q}"));
        assert_eq!(r.status, 400, "{q}: {}", r.text());
        assert!(r.text().contains(names), "{q}: {}", r.text());
    }
    let r = s.get("/api/v1/export?db=nosuch");
    assert_eq!(r.status, 404, "{}", r.text());
    let r = s.post("/api/v1/export?db=edge", b"");
    assert_eq!(r.status, 405, "{}", r.text());
}

#[test]
fn export_needs_the_token_when_reads_do() {
    let s = TestServer::with(ServerSettings {
        auth_token: Some("s3cret".into()),
        auth_reads: true,
        ..Default::default()
    });
    let r = s.get("/api/v1/export");
    assert_eq!(r.status, 401, "{}", r.text());
    let r = s.get_h("/api/v1/export", &[("Authorization", "Bearer s3cret")]);
    assert_eq!(r.status, 200, "{}", r.text());
}
