//! Defects a newcomer met in the first hour: a `db` parameter that was
//! ignored, relative times, and what a space in a metric name is called.

mod common;

use common::TestServer;

#[test]
fn import_with_db_puts_every_line_into_that_database() {
    let s = TestServer::start();
    let r = s.post(
        "/api/v1/import?db=other",
        b"temp 1 1715000001000000000\nedge/temp 2 1715000002000000000\n",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["data"]["imported"], 2);
    assert!(
        !s.root().join("edge").exists(),
        "the line's own db/ prefix is replaced"
    );
    let r = s.get("/api/v1/query_range?db=other&query=temp&start=0");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.points(), 2);
    // Without db a bare metric is still an error, and a bad db is rejected.
    let r = s.post("/api/v1/import", b"temp 1 1715000001000000000\n");
    assert_eq!(r.status, 400, "{}", r.text());
    let r = s.post("/api/v1/import?db=..", b"temp 1 1715000001000000000\n");
    assert_eq!(r.status, 400, "{}", r.text());
}

#[test]
fn time_parameters_take_times_relative_to_now() {
    let s = TestServer::start();
    let now = nanotdb::time::now_ns();
    let body = format!(
        "edge/m 1 {}\nedge/m 2 {}\n",
        now - 3_600_000_000_000,
        now - 60_000_000_000
    );
    assert_eq!(s.post("/api/v1/import", body.as_bytes()).status, 200);
    for (start, end, want) in [
        ("-10m", "now", 1),
        ("now-2h", "now", 2),
        ("now-2h", "-30m", 1),
        ("-2h", "now%2B1h", 2),
    ] {
        let r = s.get(&format!(
            "/api/v1/query_range?query=edge/m&start={start}&end={end}"
        ));
        assert_eq!(r.status, 200, "{start}..{end}: {}", r.text());
        let n = r.points();
        assert_eq!(n, want, "{start}..{end}");
    }
    let r = s.get("/api/v1/query_range?query=edge/m&start=-10parsecs");
    assert_eq!(r.status, 400, "{}", r.text());
}

#[test]
fn a_space_in_a_metric_name_is_called_a_space() {
    let s = TestServer::start();
    let r = s.post(
        "/api/v1/import",
        b"edge/has space 1\nedge/x 1 1715000001000000000 extra\n",
    );
    assert_eq!(r.status, 400);
    let msg = r.json()["error"].as_str().unwrap().to_string();
    assert!(
        msg.contains(
            "line 1: invalid numeric value \"space\" (or a metric name with a space, \"edge/has space\": names cannot contain whitespace)"
        ),
        "{msg}"
    );
    assert!(msg.contains("line 2: too many fields in"), "{msg}");
}
