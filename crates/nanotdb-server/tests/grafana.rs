//! What Grafana's Prometheus data source calls to connect and browse.

mod common;

use common::TestServer;
use serde_json::json;

const T: i64 = 1_767_225_600_000_000_000;

fn seed(s: &TestServer) {
    let body = format!(
        "edge/temp.a 1 {T}\nedge/temp.a 2 {}\nlab/x 3i {T}\ninternal/self 1 {T}\n",
        T + 10_000_000_000
    );
    assert_eq!(s.post("/api/v1/import", body.as_bytes()).status, 200);
}

#[test]
fn connect_and_browse() {
    let s = TestServer::start();
    seed(&s);
    let r = s.get("/api/v1/status/buildinfo");
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["status"], "success");
    assert!(
        r.json()["data"]["version"]
            .as_str()
            .unwrap()
            .starts_with("2.")
    );
    let r = s.get("/api/v1/labels");
    assert_eq!(
        r.json(),
        json!({"status":"success","data":["__name__","db"]})
    );
    let r = s.post_h(
        "/api/v1/labels",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        b"start=1",
    );
    assert_eq!(r.json()["data"], json!(["__name__", "db"]));
    let r = s.get("/api/v1/label/__name__/values");
    assert_eq!(
        r.json(),
        json!({"status":"success","data":["edge/temp.a","lab/x"]})
    );
    let r = s.get("/api/v1/label/db/values");
    assert_eq!(r.json()["data"], json!(["edge", "lab"]));
    let r = s.get("/api/v1/label/job/values");
    assert_eq!(r.json()["data"], json!([]));
    let r = s.get("/api/v1/series?match%5B%5D=%7B__name__%3D~%22edge%2F.*%22%7D");
    assert_eq!(
        r.json(),
        json!({"status":"success","data":[{"__name__":"edge/temp.a","db":"edge"}]})
    );
    let r = s.post_h(
        "/api/v1/series",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        b"match%5B%5D=lab%2Fx&start=1",
    );
    assert_eq!(r.json()["data"], json!([{"__name__":"lab/x","db":"lab"}]));
    let r = s.get("/api/v1/series?match%5B%5D=%7Ba%3D~%22(%22%7D");
    assert_eq!(r.status, 400);
}

#[test]
fn form_posted_queries_with_bare_selectors() {
    let s = TestServer::start();
    seed(&s);
    let form = [("Content-Type", "application/x-www-form-urlencoded")];
    let r = s.post_h(
        "/api/v1/query",
        &form,
        b"query=edge%2Ftemp.a&time=1767225700",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json()["data"]["result"][0]["value"],
        json!([1767225610, "2"])
    );
    let r = s.post_h(
        "/api/v1/query_range",
        &form,
        b"query=%7B__name__%3D%22edge%2Ftemp.a%22%7D&start=1767225600&end=1767229200",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json()["data"]["result"],
        json!([{"metric":{"__name__":"temp.a","db":"edge"},"values":[[1767225600,"1"],[1767225610,"2"]]}])
    );
    let r = s.get("/api/v1/query_range?query=edge%2Ftemp.a%7B%7D&start=1767225600");
    assert_eq!(r.points(), 2);
}
