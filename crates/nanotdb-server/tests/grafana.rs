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
    // Series carry the labels PromQL gives them: the metric name, and `db`
    // across databases (docs/BEHAVIOUR.md §2.6).
    let r = s.get("/api/v1/label/__name__/values");
    assert_eq!(r.json(), json!({"status":"success","data":["temp.a","x"]}));
    let r = s.get("/api/v1/label/db/values");
    assert_eq!(r.json()["data"], json!(["edge", "lab"]));
    let r = s.get("/api/v1/label/job/values");
    assert_eq!(r.json()["data"], json!([]));
    let r = s.get("/api/v1/series?match%5B%5D=%7Bdb%3D%22edge%22%7D");
    assert_eq!(
        r.json(),
        json!({"status":"success","data":[{"__name__":"temp.a","db":"edge"}]})
    );
    let r = s.post_h(
        "/api/v1/series",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        b"match%5B%5D=x&start=1",
    );
    assert_eq!(r.json()["data"], json!([{"__name__":"x","db":"lab"}]));
    // start/end: lab/x's only sample is at 1767225600.
    let r = s.get("/api/v1/series?match%5B%5D=x&start=1767225601");
    assert_eq!(r.json()["data"], json!([]));
    let r = s.get("/api/v1/label/__name__/values?start=1767225601&end=1767229200");
    assert_eq!(r.json()["data"], json!(["temp.a"]));
    // match[] on label values, and db as a parameter (no db label then).
    let r = s.get("/api/v1/label/__name__/values?match%5B%5D=%7B__name__%3D~%22t.*%22%7D");
    assert_eq!(r.json()["data"], json!(["temp.a"]));
    let r = s.get("/api/v1/series?match%5B%5D=x&db=lab");
    assert_eq!(r.json()["data"], json!([{"__name__":"x"}]));
    let r = s.get("/api/v1/labels?db=internal");
    assert_eq!(r.json()["data"], json!(["__name__"]));
    for path in [
        "/api/v1/metadata",
        "/api/v1/query_exemplars?query=x",
        "/api/v1/rules",
        "/api/v1/alerts",
    ] {
        let r = s.get(path);
        assert_eq!(
            (r.status, r.json()["status"].clone()),
            (200, json!("success")),
            "{path}"
        );
    }
    assert_eq!(s.get("/api/v1/rules").json()["data"], json!({"groups": []}));
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
