//! The dashboard-config API (docs/BEHAVIOUR.md §2.10): each validation rule
//! has a failing example whose exact error list is checked (all violations
//! collected), normalisation, saves with backups, and `[web].enabled =
//! false`.

mod common;

use common::{TestServer, request};
use nanotdb_server::settings::ServerSettings;
use serde_json::{Value, json};

fn valid() -> Value {
    json!({
        "title": "Edge",
        "default_db": "edge",
        "groups": [{"id": "main", "label": "Main", "widgets": ["t", "c", "b"]}],
        "widgets": {
            "t": {"type": "number", "series": [{"metric": "temp",
                "thresholds": {"direction": "above", "warning": 30, "critical": 40}}]},
            "c": {"type": "line_chart", "lookback": "1h", "interval": "1m",
                "series": [{"metric": "temp", "aggregate": "avg"}, {"metric": "hum"}]},
            "b": {"type": "aggregate_band", "lookback": "6h", "interval": "5m",
                "series": [{"metric": "temp"}]}
        }
    })
}

fn validate(s: &TestServer, doc: &Value) -> (u16, Value) {
    let r = s.post("/api/dashboard-config/validate", doc.to_string().as_bytes());
    (r.status, r.json())
}

/// Applies `edit` to the valid document and expects exactly `errors`.
fn fails(s: &TestServer, edit: impl FnOnce(&mut Value), errors: &[&str]) {
    let mut d = valid();
    edit(&mut d);
    let (status, body) = validate(s, &d);
    assert_eq!(status, 400, "{d}: {body}");
    assert_eq!(body["ok"], false);
    let got: Vec<&str> = body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e.as_str().expect("string"))
        .collect();
    assert_eq!(got, errors, "for {d}");
}

#[test]
fn valid_document_and_normalisation() {
    let s = TestServer::start();
    let (status, body) = validate(&s, &valid());
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["ok"], true);
    // A line-chart series with an aggregate takes the widget interval.
    assert_eq!(body["config"]["widgets"]["c"]["series"][0]["window"], "1m");
    assert!(
        body["config"]["widgets"]["c"]["series"][1]
            .get("window")
            .is_none()
    );
    assert_eq!(body["config"]["widgets"]["b"]["series"][0]["window"], "5m");
    // Missing lists become empty; unknown fields are dropped; null is empty.
    let (status, body) = validate(
        &s,
        &json!({"title": "x", "groups": [{"id": "g", "widgets": null, "extra": 1}], "widgets": null}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["config"],
        json!({"title": "x", "groups": [{"id": "g", "widgets": []}], "widgets": {}})
    );
}

#[test]
fn every_rule_has_a_failing_example() {
    let s = TestServer::start();
    fails(
        &s,
        |d| d["title"] = json!("  "),
        &["title: must not be empty"],
    );
    fails(
        &s,
        |d| d["groups"] = json!([]),
        &["groups: at least one group is required"],
    );
    fails(
        &s,
        |d| d["groups"][0]["id"] = json!(""),
        &["groups.0.id: must not be empty"],
    );
    fails(
        &s,
        |d| {
            let g = d["groups"][0].clone();
            d["groups"].as_array_mut().expect("groups").push(g);
        },
        &["groups.1.id: duplicate group id \"main\""],
    );
    fails(
        &s,
        |d| d["groups"][0]["widgets"] = json!(["t", "nope"]),
        &["groups.0.widgets: unknown widget \"nope\""],
    );
    fails(
        &s,
        |d| d["widgets"][""] = json!({"type": "number", "series": [{"metric": "m"}]}),
        &["widgets: widget id must not be empty"],
    );
    fails(
        &s,
        |d| d["widgets"]["t"]["type"] = json!("pie"),
        &[
            "widgets.t.type: unknown widget type \"pie\" (number, numbers, line_chart, aggregate_band)",
        ],
    );
    fails(
        &s,
        |d| d["widgets"]["t"]["series"] = json!([]),
        &["widgets.t.series: at least one series is required"],
    );
    fails(
        &s,
        |d| d["widgets"]["t"]["refresh_sec"] = json!(-1),
        &["widgets.t.refresh_sec: must be >= 0"],
    );
    fails(
        &s,
        |d| d["widgets"]["c"]["presentation"] = json!("bars"),
        &["widgets.c.presentation: must be empty or \"aggregate_band\", got \"bars\""],
    );
    fails(
        &s,
        |d| {
            d["widgets"]["c"]["lookback"] = json!("");
            d["widgets"]["c"]["series"] = json!([{"metric": "temp"}]);
        },
        &["widgets.c.lookback: required for charts"],
    );
    // A missing interval is reported once for the chart; the aggregated
    // series then has no window either.
    fails(
        &s,
        |d| d["widgets"]["c"]["interval"] = json!(null),
        &[
            "widgets.c.interval: required for charts",
            "widgets.c.series.0.window: aggregate and window must be both set or both empty",
        ],
    );
    // Dashboard durations: one unit, integer count.
    for bad in ["1h30m", "1.5h", "10", "5ms", "x"] {
        fails(
            &s,
            |d| d["widgets"]["c"]["lookback"] = json!(bad),
            &[&format!(
                "widgets.c.lookback: invalid duration {bad:?} (e.g. 30s, 15m, 1h, 7d)"
            )],
        );
    }
    fails(
        &s,
        |d| d["widgets"]["t"]["series"] = json!([{"label": "no source"}, {"measurement": "m"}]),
        &[
            "widgets.t.series.0.metric: a series needs query, metric, or measurement and field",
            "widgets.t.series.1.metric: a series needs query, metric, or measurement and field",
        ],
    );
    fails(
        &s,
        |d| d["widgets"]["t"]["series"] = json!([{"metric": "m", "aggregate": "avg"}]),
        &["widgets.t.series.0.window: aggregate and window must be both set or both empty"],
    );
    fails(
        &s,
        |d| d["widgets"]["t"]["series"] = json!([{"metric": "m", "window": "5m"}]),
        &["widgets.t.series.0.aggregate: aggregate and window must be both set or both empty"],
    );
    fails(
        &s,
        |d| d["widgets"]["c"]["series"][0]["aggregate"] = json!("mode"),
        &[
            "widgets.c.series.0.aggregate: unknown aggregate \"mode\" (supported: avg,count,max,median,min,p50,p95,p99,sum,trimmed_average,trimmed_avg)",
        ],
    );
    fails(
        &s,
        |d| {
            d["widgets"]["t"]["series"] =
                json!([{"metric": "m", "aggregate": "avg", "window": "5 m"}])
        },
        &["widgets.t.series.0.window: invalid duration \"5 m\" (e.g. 30s, 15m, 1h, 7d)"],
    );
    fails(
        &s,
        |d| d["widgets"]["c"]["series"][1]["metric"] = json!("temp"),
        &["widgets.c.series.1.label: duplicate series label \"temp\""],
    );
    fails(
        &s,
        |d| d["widgets"]["t"]["series"][0]["thresholds"]["direction"] = json!("up"),
        &[
            "widgets.t.series.0.thresholds.direction: must be \"above\" or \"below\" when warning or critical is set",
        ],
    );
}

#[test]
fn aggregate_band_rules() {
    let s = TestServer::start();
    let band = |series: Value| {
        move |d: &mut Value| {
            d["widgets"]["b"] = json!({"type": "line_chart", "presentation": "aggregate_band",
                "lookback": "6h", "interval": "5m", "series": series});
        }
    };
    // The full form: one series per role, same db, query and window.
    let mut d = valid();
    band(
        json!([{"metric": "t", "aggregate": "min"}, {"metric": "t", "aggregate": "avg", "label": "a"},
        {"metric": "t", "role": "max", "aggregate": "max", "label": "m"}]),
    )(&mut d);
    assert_eq!(validate(&s, &d).0, 200, "{}", validate(&s, &d).1);
    fails(
        &s,
        band(json!([{"metric": "t", "aggregate": "min"}, {"metric": "t", "aggregate": "sum"}])),
        &[
            "widgets.b.series.1.role: band series need a role (min, max or avg)",
            "widgets.b.series: band needs a avg series",
            "widgets.b.series: band needs a max series",
        ],
    );
    fails(
        &s,
        band(json!([{"metric": "t", "aggregate": "min", "label": "x"},
            {"metric": "t", "aggregate": "min", "label": "y"},
            {"metric": "t", "aggregate": "max"}, {"metric": "t", "aggregate": "avg"}])),
        &["widgets.b.series.1.role: duplicate role \"min\""],
    );
    fails(
        &s,
        band(json!([{"metric": "t", "aggregate": "min", "db": "a"},
            {"metric": "t", "aggregate": "avg"}, {"metric": "t", "aggregate": "max"}])),
        &["widgets.b.series: band series must share the same database, query and window"],
    );
    fails(
        &s,
        band(
            json!([{"metric": "t", "role": "median", "aggregate": "median", "label": "x"},
            {"metric": "t", "aggregate": "avg"}, {"metric": "t", "aggregate": "max"}]),
        ),
        &[
            "widgets.b.series.0.role: unknown role \"median\" (min, max or avg)",
            "widgets.b.series: band needs a min series",
        ],
    );
    // The shortcut (one plain series) needs the widget interval.
    fails(
        &s,
        |d| d["widgets"]["b"]["interval"] = json!(""),
        &[
            "widgets.b.interval: required for charts",
            "widgets.b.interval: a band from one plain series needs the widget interval",
        ],
    );
}

#[test]
fn all_violations_are_collected() {
    let s = TestServer::start();
    let (status, body) = validate(
        &s,
        &json!({"widgets": {"w": {"type": "line_chart", "series": [{}]}}}),
    );
    assert_eq!(status, 400);
    let n = body["errors"].as_array().expect("errors").len();
    assert_eq!(n, 5, "{body}");
    let (status, body) = validate(&s, &json!("not an object"));
    assert_eq!(status, 400);
    assert!(
        body["errors"][0]
            .as_str()
            .expect("msg")
            .starts_with("invalid dashboard JSON")
    );
}

#[test]
fn get_put_backups_and_methods() {
    let s = TestServer::start();
    let root = s.root();
    // No file: the embedded default.
    let r = s.get("/api/dashboard-config");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.json()["title"], "NanoTDB Dashboard");
    // First save: no backup; unknown fields dropped; pretty with newline.
    let mut doc = valid();
    doc["unknown"] = json!(1);
    let r = request(
        s.addr,
        "PUT",
        "/api/dashboard-config",
        &[],
        doc.to_string().as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let body = r.json();
    assert_eq!(body["ok"], true);
    assert!(body.get("backup_path").is_none());
    assert_eq!(body["payload"]["widgets"]["c"]["series"][0]["window"], "1m");
    let saved = std::fs::read_to_string(root.join("dashboard.json")).expect("saved");
    assert!(saved.starts_with("{\n  \"title\": \"Edge\""), "{saved}");
    assert!(saved.ends_with("}\n"));
    assert!(!saved.contains("unknown"));
    // GET now returns the file verbatim.
    assert_eq!(s.get("/api/dashboard-config").text(), saved);
    // Second save: the previous file is kept under dashboard_backups/.
    doc["title"] = json!("Edge 2");
    let r = request(
        s.addr,
        "PUT",
        "/api/dashboard-config",
        &[],
        doc.to_string().as_bytes(),
    );
    assert_eq!(r.status, 200);
    let backup = r.json()["backup_path"]
        .as_str()
        .expect("backup")
        .to_string();
    assert!(
        backup.contains("/dashboard_backups/dashboard.") && backup.ends_with("Z.json"),
        "{backup}"
    );
    assert_eq!(std::fs::read_to_string(&backup).expect("backup"), saved);
    // An invalid document is refused and nothing changes.
    doc["title"] = json!("");
    let r = request(
        s.addr,
        "PUT",
        "/api/dashboard-config",
        &[],
        doc.to_string().as_bytes(),
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["errors"], json!(["title: must not be empty"]));
    assert!(
        std::fs::read_to_string(root.join("dashboard.json"))
            .expect("file")
            .contains("Edge 2")
    );
    // GET serves even an invalid file as it is.
    std::fs::write(root.join("dashboard.json"), "{not json").expect("write");
    assert_eq!(s.get("/api/dashboard-config").text(), "{not json");
    // Other methods: 405 with Allow.
    let r = request(s.addr, "DELETE", "/api/dashboard-config", &[], b"");
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("GET, PUT"));
    let r = s.get("/api/dashboard-config/validate");
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("POST"));
}

#[test]
fn put_needs_the_token() {
    let settings = ServerSettings {
        auth_token: Some("s3cret".into()),
        ..ServerSettings::default()
    };
    let s = TestServer::with(settings);
    let body = valid().to_string();
    let r = request(s.addr, "PUT", "/api/dashboard-config", &[], body.as_bytes());
    assert_eq!(r.status, 401);
    assert!(!s.root().join("dashboard.json").exists());
    let auth = [("Authorization", "Bearer s3cret")];
    let r = request(
        s.addr,
        "PUT",
        "/api/dashboard-config",
        &auth,
        body.as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    // Reads stay open without auth_reads; pages never need the token.
    assert_eq!(s.get("/api/dashboard-config").status, 200);
    assert_eq!(s.get("/dashboard").status, 200);
}

#[test]
fn web_disabled_means_404_for_ui_and_config_api_only() {
    let mut settings = ServerSettings::default();
    settings.web.enabled = false;
    let s = TestServer::with(settings);
    for p in [
        "/",
        "/dashboard",
        "/dashboard/edit",
        "/explore",
        "/engine/",
        "/assets/common.js",
        "/api/dashboard-config",
    ] {
        let r = s.get(p);
        assert_eq!(r.status, 404, "{p}");
        assert_eq!(r.text(), "404 page not found\n");
    }
    assert_eq!(s.post("/api/dashboard-config/validate", b"{}").status, 404);
    assert_eq!(s.get("/api/v1/databases").status, 200);
    assert_eq!(s.get("/health").status, 200);
    let o = s.get("/api/engine/overview").json();
    assert_eq!(o["data"]["settings"]["web_enabled"], false);
}

#[test]
fn pages_assets_and_headers() {
    let mut settings = ServerSettings::default();
    settings.web.title = "<Edge & \"box\">".into();
    settings.web.base_path = "/d".into();
    let s = TestServer::with(settings);
    for (p, script) in [
        ("/", "/d/assets/dashboard.js"),
        ("/d/", "/d/assets/dashboard.js"),
        ("/d/edit", "/d/assets/editor.js"),
        ("/explore", "/explore/assets/explore.js"),
        ("/engine", "/engine/assets/engine.js"),
    ] {
        let r = s.get(p);
        assert_eq!(r.status, 200, "{p}");
        let csp = r.header("content-security-policy").expect("csp");
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe"),
            "{csp}"
        );
        let html = r.text();
        assert!(html.contains(&format!("src=\"{script}\"")), "{p}: {html}");
        // The title is escaped wherever it appears, the config blob too.
        assert!(html.contains("&lt;Edge &amp; &quot;box&quot;&gt;"));
        assert!(!html.contains("<Edge"));
        let r = s.get(script);
        assert_eq!(r.status, 200, "{script}");
        assert!(
            r.header("content-type")
                .expect("type")
                .starts_with("text/javascript")
        );
    }
    let r = s.get("/assets/vendor/uplot/uPlot.iife.min.js");
    assert_eq!(r.status, 200);
    assert_eq!(s.get("/assets/vendor/uplot/LICENSE").status, 200);
    assert_eq!(s.get("/assets/nope.js").status, 404);
    assert_eq!(s.get("/dashboard").status, 404, "the base moved to /d");
    assert_eq!(s.post("/assets/common.js", b"").status, 405);
    // Non-canonical paths are redirected to their clean form.
    let r = s.get("//d/./edit?x=1");
    assert_eq!(r.status, 301);
    assert_eq!(r.header("location"), Some("/d/edit?x=1"));
    assert_eq!(s.get("/assets/../engine.html").status, 301);
    let o = s.get("/api/engine/overview").json();
    assert_eq!(o["data"]["settings"]["web_enabled"], true);
    assert_eq!(o["data"]["settings"]["dashboard_path"], "/d");
}

#[test]
fn web_root_replaces_files() {
    // web_root relative to the data root.
    let mut settings = ServerSettings::default();
    settings.web.web_root = Some("ui".into());
    let s = TestServer::with(settings);
    let ui = s.root().join("ui");
    std::fs::create_dir_all(ui.join("common_assets")).expect("mkdir");
    std::fs::write(ui.join("dashboard.html"), "<title>{{title}}</title>mine").expect("write");
    std::fs::write(ui.join("common_assets/common.js"), "// mine").expect("write");
    assert_eq!(s.get("/").text(), "<title>NanoTDB Dashboard</title>mine");
    assert_eq!(s.get("/assets/common.js").text(), "// mine");
    // Files it does not have still come from the embedded bundle.
    assert!(s.get("/explore").text().contains("explore.js"));
}

#[test]
fn default_document_takes_the_configured_title_and_file() {
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let file = elsewhere.path().join("boards").join("main.json");
    let mut settings = ServerSettings::default();
    settings.web.title = "Pump house".into();
    settings.web.dashboard_config = file.clone();
    let s = TestServer::with(settings);
    let d = s.get("/api/dashboard-config").json();
    assert_eq!(d["title"], "Pump house");
    // An absolute dashboard_config is used as it is; backups go beside it.
    let body = valid().to_string();
    for _ in 0..2 {
        let r = request(s.addr, "PUT", "/api/dashboard-config", &[], body.as_bytes());
        assert_eq!(r.status, 200, "{}", r.text());
    }
    assert!(file.is_file());
    let backups: Vec<_> = std::fs::read_dir(elsewhere.path().join("boards/dashboard_backups"))
        .expect("backups")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(backups.len(), 1);
    assert!(
        backups[0].starts_with("main.") && backups[0].ends_with("Z.json"),
        "{backups:?}"
    );
    assert!(!s.root().join("dashboard.json").exists());
}
