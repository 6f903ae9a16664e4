//! The write endpoints of real agents: Prometheus remote write 1.0
//! (`/api/v1/write`) and the Influx line protocol (`/write`,
//! `/api/v2/write`, `/ping`), with requests built the way the clients
//! build them, and hostile bodies that must store nothing.

mod common;

use std::io::Write;
use std::ops::ControlFlow;

use common::TestServer;
use nanotdb::Value;
use nanotdb_protocols::SeriesKey;
use nanotdb_protocols::remote_write::{self, TimeSeries, WriteRequest};
use nanotdb_server::settings::ServerSettings;

const T0_MS: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

/// Every (ts ns, value) of `db`/`metric`; empty when it does not exist.
fn samples(s: &TestServer, db: &str, metric: &str) -> Vec<(i64, Value)> {
    let mut out = Vec::new();
    let r = s
        .engine
        .query_range(db, metric, i64::MIN, i64::MAX, 1, |x| {
            out.push((x.ts, x.value));
            ControlFlow::Continue(())
        });
    match r {
        Ok(()) | Err(nanotdb::Error::DatabaseNotFound(_)) => out,
        Err(e) => panic!("{db}/{metric}: {e}"),
    }
}

/// Every metric name of every database but `internal`, sorted.
fn all_metrics(s: &TestServer) -> Vec<String> {
    let mut out = Vec::new();
    for db in s.engine.databases().unwrap() {
        if db == "internal" {
            continue;
        }
        for m in s.engine.metrics(&db).unwrap_or_default() {
            out.push(format!("{db}/{}", m.name));
        }
    }
    out.sort();
    out
}

/// A node_exporter-like request: labelled series, one with a `db` label.
fn node_request() -> WriteRequest {
    let series = |labels: &[(&str, &str)], db: Option<&str>, vals: &[(i64, f64)]| {
        let key = SeriesKey::from_prometheus_labels(labels.iter().copied()).unwrap();
        TimeSeries::from_series(&key, db, vals)
    };
    WriteRequest {
        timeseries: vec![
            series(
                &[
                    ("__name__", "node_cpu_seconds_total"),
                    ("mode", "idle"),
                    ("cpu", "0"),
                    ("instance", "localhost:9100"),
                ],
                None,
                &[(T0_MS, 1234.5), (T0_MS + 1000, 1235.5)],
            ),
            series(
                &[("__name__", "node_load1"), ("instance", "localhost:9100")],
                Some("edge"),
                &[(T0_MS, 0.25)],
            ),
        ],
    }
}

#[test]
fn remote_write_stores_labelled_series_in_their_databases() {
    let s = TestServer::start();
    let body = remote_write::encode(&node_request()).unwrap();
    let r = s.post_h(
        "/api/v1/write",
        &[
            ("Content-Encoding", "snappy"),
            ("Content-Type", "application/x-protobuf"),
            ("X-Prometheus-Remote-Write-Version", "0.1.0"),
        ],
        &body,
    );
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(
        all_metrics(&s),
        [
            "edge/node_load1{instance=\"localhost:9100\"}",
            "metrics/node_cpu_seconds_total{cpu=\"0\",instance=\"localhost:9100\",mode=\"idle\"}",
        ]
    );
    let cpu = samples(
        &s,
        "metrics",
        "node_cpu_seconds_total{cpu=\"0\",instance=\"localhost:9100\",mode=\"idle\"}",
    );
    assert_eq!(
        cpu,
        [
            (T0_MS * 1_000_000, Value::F64(1234.5)),
            ((T0_MS + 1000) * 1_000_000, Value::F64(1235.5))
        ]
    );
    // `?db=` puts everything into one database; the same path under /prometheus.
    let r = s.post("/prometheus/api/v1/write?db=one", &body);
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(
        samples(&s, "one", "node_load1{instance=\"localhost:9100\"}"),
        [(T0_MS * 1_000_000, Value::F64(0.25))]
    );
}

/// A client retrying after a timeout resends what is stored: acknowledged
/// (204), stored once; late samples within `[ingest].out_of_order_window`
/// are stored in time order, older ones refused one by one (400 naming
/// them) while the rest of the request is stored; Influx likewise.
#[test]
fn retries_are_stored_once_and_late_samples_kept_within_the_window() {
    let s = TestServer::start();
    let body = remote_write::encode(&node_request()).unwrap();
    for _ in 0..3 {
        let r = s.post("/api/v1/write", &body);
        assert_eq!(r.status, 204, "{}", r.text());
    }
    let cpu_labels = [
        ("__name__", "node_cpu_seconds_total"),
        ("mode", "idle"),
        ("cpu", "0"),
        ("instance", "localhost:9100"),
    ];
    let key = SeriesKey::from_prometheus_labels(cpu_labels.iter().copied()).unwrap();
    let late = WriteRequest {
        timeseries: vec![TimeSeries::from_series(
            &key,
            None,
            &[
                (T0_MS + 500, 7.0),
                (T0_MS - 3_600_001 + 1000, 8.0),
                (T0_MS + 2000, 9.0),
            ],
        )],
    };
    let r = s.post("/api/v1/write", &remote_write::encode(&late).unwrap());
    assert_eq!(r.status, 400);
    assert!(
        r.text()
            .starts_with("stored 2 samples (0 already stored), refused 1: ")
            && r.text().contains("[ingest].out_of_order_window"),
        "{}",
        r.text()
    );
    let name = "node_cpu_seconds_total{cpu=\"0\",instance=\"localhost:9100\",mode=\"idle\"}";
    let ns = |ms: i64| ms * 1_000_000;
    assert_eq!(
        samples(&s, "metrics", name),
        [
            (ns(T0_MS), Value::F64(1234.5)),
            (ns(T0_MS + 500), Value::F64(7.0)),
            (ns(T0_MS + 1000), Value::F64(1235.5)),
            (ns(T0_MS + 2000), Value::F64(9.0)),
        ]
    );
    // Influx: the same body twice, then a late line.
    let lp = b"m,t=a v=1 1767225600000000000\nm,t=a v=2 1767225601000000000\n";
    for _ in 0..2 {
        assert_eq!(s.post("/write?db=i", lp).status, 204);
    }
    assert_eq!(
        s.post("/write?db=i", b"m,t=a v=1.5 1767225600500000000")
            .status,
        204
    );
    assert_eq!(
        samples(&s, "i", "m_v{t=\"a\"}"),
        [
            (1_767_225_600_000_000_000, Value::F64(1.0)),
            (1_767_225_600_500_000_000, Value::F64(1.5)),
            (1_767_225_601_000_000_000, Value::F64(2.0)),
        ]
    );
}

#[test]
fn remote_write_refuses_what_can_never_succeed_and_stores_the_rest() {
    let s = TestServer::start();
    let mut req = node_request();
    // A series without a name, and a sample older than the one before it
    // by more than the out-of-order window (1 h).
    req.timeseries.push(TimeSeries {
        labels: vec![remote_write::Label {
            name: "job".into(),
            value: "x".into(),
        }],
        samples: vec![remote_write::Sample {
            value: 1.0,
            timestamp: T0_MS,
        }],
    });
    req.timeseries[0].samples.push(remote_write::Sample {
        value: 9.0,
        timestamp: T0_MS - 7_200_000,
    });
    let r = s.post("/api/v1/write", &remote_write::encode(&req).unwrap());
    assert_eq!(r.status, 400);
    let text = r.text();
    assert!(
        text.starts_with("stored 3 samples (0 already stored), refused 2: "),
        "{text}"
    );
    assert_eq!(all_metrics(&s).len(), 2, "the good series are stored");
}

#[test]
fn remote_write_bodies_that_do_not_decode_store_nothing() {
    let s = TestServer::with(ServerSettings {
        max_body_bytes: 1 << 20,
        ..ServerSettings::default()
    });
    let good = remote_write::encode(&node_request()).unwrap();
    let truncated = &good[..good.len() / 2];
    // A snappy header announcing 1 GiB.
    let bomb: &[u8] = &[0x80, 0x80, 0x80, 0x80, 0x04, 0x00];
    let raw_protobuf = {
        use prost::Message;
        node_request().encode_to_vec()
    };
    for (what, body, want) in [
        ("truncated", truncated, 400),
        ("bomb", bomb, 413),
        ("not snappy", &raw_protobuf[..], 400),
        ("empty", &b""[..], 400),
    ] {
        let r = s.post("/api/v1/write", body);
        assert_eq!(r.status, want, "{what}: {}", r.text());
    }
    assert!(all_metrics(&s).is_empty(), "{:?}", all_metrics(&s));
    assert_eq!(s.get("/health").status, 200);
}

fn gzip(body: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(body).unwrap();
    enc.finish().unwrap()
}

#[test]
fn influx_v1_and_v2_writes_as_telegraf_and_the_client_libraries_send_them() {
    let s = TestServer::start();
    assert_eq!(s.get("/ping").status, 204);
    // Telegraf: 1.x API, precision s, gzip.
    let body = b"cpu,cpu=cpu-total,host=h usage_idle=98.5,usage_user=0.1 1767225600\n\
                 mem,host=h used=25276182528i,ok=true,free=9223372036854775807u 1767225600\n";
    let r = s.post_h(
        "/write?db=tele&precision=s",
        &[("Content-Encoding", "gzip")],
        &gzip(body),
    );
    assert_eq!(r.status, 204, "{}", r.text());
    let ts = 1_767_225_600 * 1_000_000_000;
    assert_eq!(
        samples(&s, "tele", "cpu_usage_idle{cpu=\"cpu-total\",host=\"h\"}"),
        [(ts, Value::F64(98.5))]
    );
    // Exact: float64 and int64, not float32 (0.1 and 25276182528 would change).
    assert_eq!(
        samples(&s, "tele", "cpu_usage_user{cpu=\"cpu-total\",host=\"h\"}"),
        [(ts, Value::F64(0.1))]
    );
    assert_eq!(
        samples(&s, "tele", "mem_used{host=\"h\"}"),
        [(ts, Value::I64(25_276_182_528))]
    );
    assert_eq!(
        samples(&s, "tele", "mem_free{host=\"h\"}"),
        [(ts, Value::I64(i64::MAX))]
    );
    assert_eq!(
        samples(&s, "tele", "mem_ok{host=\"h\"}"),
        [(ts, Value::I64(1))]
    );
    // An unsigned value beyond int64 is refused, not rounded.
    let r = s.post(
        "/write?db=tele",
        b"big v=9223372036854775808u 1767225600000000000",
    );
    assert_eq!(r.status, 400);
    assert!(r.text().contains("does not fit int64"), "{}", r.text());
    // influxdb-client: 2.x API, bucket, org, precision ms.
    let r = s.post(
        "/api/v2/write?org=o&bucket=b2&precision=ms",
        b"weather,station=s1 temp=-3.5 1767225600123",
    );
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(
        samples(&s, "b2", "weather_temp{station=\"s1\"}"),
        [(1_767_225_600_123_000_000, Value::F64(-3.5))]
    );
}

#[test]
fn influx_partial_writes_store_the_good_lines_and_name_the_bad_ones() {
    let s = TestServer::start();
    let body = b"m,t=a v=1 1767225600000000000\nm,t=a s=\"text\" 1767225600000000000\nbroken line\nm,t=a v=2 1767225601000000000\n";
    let r = s.post("/api/v2/write?bucket=p", body);
    assert_eq!(r.status, 400);
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["code"], "invalid");
    let msg = v["message"].as_str().unwrap();
    assert!(
        msg.starts_with("partial write: stored 2 samples (0 already stored), refused 2: line 2: "),
        "{msg}"
    );
    assert!(msg.contains("line 3: "), "{msg}");
    assert_eq!(samples(&s, "p", "m_v{t=\"a\"}").len(), 2);
    let r = s.post("/write?db=p&precision=fortnight", b"m v=1");
    assert_eq!(r.status, 400);
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["error"], "invalid precision \"fortnight\"");
}

#[test]
fn influx_tokens_are_checked_in_every_form() {
    let s = TestServer::with(ServerSettings {
        auth_token: Some("s3cret".into()),
        ..ServerSettings::default()
    });
    let line = b"m v=1 1767225600000000000";
    assert_eq!(s.post("/api/v2/write?bucket=a", line).status, 401);
    assert_eq!(s.post("/write?db=a&u=x&p=wrong", line).status, 401);
    assert_eq!(
        s.post_h(
            "/api/v2/write?bucket=a",
            &[("Authorization", "Token s3cret")],
            line
        )
        .status,
        204
    );
    assert_eq!(s.post("/write?db=a&u=x&p=s3cret", line).status, 204);
    // Remote write takes the bearer token like the other write routes.
    let rw = remote_write::encode(&node_request()).unwrap();
    assert_eq!(s.post("/api/v1/write", &rw).status, 401);
    assert_eq!(
        s.post_h("/api/v1/write", &[("Authorization", "Bearer s3cret")], &rw)
            .status,
        204
    );
}

/// The write routes, each with a database of its own.
const WRITE_ROUTES: [(&str, &str); 6] = [
    ("/api/v1/write?db=r0", "r0"),
    ("/prometheus/api/v1/write?db=r1", "r1"),
    ("/write?db=r2", "r2"),
    ("/api/v2/write?bucket=r3", "r3"),
    ("/api/v1/import?db=r4", "r4"),
    ("/api/v1/import/prometheus?db=r5", "r5"),
];

/// Whether a body could store something although the answer is a 400:
/// remote write and Influx store the good part of a request and refuse
/// the rest (the import routes are atomic).
fn may_store_partly(route: usize, body: &[u8]) -> bool {
    match route {
        0 | 1 => remote_write::decode(body, &remote_write::Limits::default())
            .is_ok_and(|d| d.series.iter().any(|s| !s.samples.is_empty())),
        2 | 3 => {
            let opts = nanotdb_protocols::influx::ParseOptions::default();
            !nanotdb_protocols::influx::parse(body, &opts, 0)
                .samples
                .is_empty()
        }
        _ => false,
    }
}

/// Samples `db` has taken in since the server started (0 when it does not
/// exist).
fn ingested(s: &TestServer, db: &str) -> u64 {
    s.engine
        .db_stats(db)
        .map_or(0, |st| st.counters.samples_ingested)
}

/// N random byte strings per write route (2,000 in all by default; 100,000
/// per route with `NANOTDB_LONG_TESTS=1`): raw bytes, bytes from the
/// protocols' alphabets, and random bytes inside valid snappy or gzip
/// framing. Each gets a 4xx (or, for the rare body that is valid, a 2xx);
/// the server stays up and answers a valid write afterwards; a route none
/// of whose bodies could store anything has stored nothing.
#[test]
fn random_bodies_get_a_4xx_and_store_nothing() {
    let s = TestServer::start();
    let n: usize = if std::env::var_os("NANOTDB_LONG_TESTS").is_some() {
        100_000
    } else {
        350
    };
    let mut rng = nanotdb_testkit::crashsim::Rng::new(0x2545_f491_4f6c_dd1d);
    let mut conn = common::Conn::open(s.addr).unwrap();
    let mut may_store = [false; 6];
    let mut answered = [[0usize; 6]; 6]; // [route][status / 100]
    let alphabet = b"abcxyz_:/.{}=,\" 0123456789.eE+-iutfTF#\n\r\t";
    let started = std::time::Instant::now();
    for i in 0..n * WRITE_ROUTES.len() {
        let route = i % WRITE_ROUTES.len();
        let (path, db) = WRITE_ROUTES[route];
        let before = ingested(&s, db);
        let len = (rng.next_u64() % 300) as usize;
        let mut body: Vec<u8> = match (i / WRITE_ROUTES.len()) % 3 {
            0 => (0..len).map(|_| rng.next_u64() as u8).collect(),
            _ => (0..len)
                .map(|_| alphabet[(rng.next_u64() % alphabet.len() as u64) as usize])
                .collect(),
        };
        let mut headers: Vec<(&str, &str)> = Vec::new();
        // What the route's parser sees (remote write decompresses itself).
        let mut plain = None;
        if (i / WRITE_ROUTES.len()) % 3 == 2 {
            if route < 2 {
                body = snap::raw::Encoder::new().compress_vec(&body).unwrap();
            } else {
                plain = Some(std::mem::take(&mut body));
                body = gzip(plain.as_deref().unwrap_or_default());
                headers.push(("Content-Encoding", "gzip"));
            }
        }
        let r = match conn.send("POST", path, &headers, &body) {
            Ok(r) => r,
            Err(_) => {
                // The server closed the connection after its answer: reopen.
                conn = common::Conn::open(s.addr).unwrap();
                conn.send("POST", path, &headers, &body).unwrap()
            }
        };
        answered[route][usize::from(r.status / 100).min(5)] += 1;
        let after = ingested(&s, db);
        match r.status {
            200..=299 => may_store[route] = true,
            400..=499 if may_store_partly(route, plain.as_deref().unwrap_or(&body)) => {
                may_store[route] = true
            }
            // A rejected request stored nothing.
            400..=499 => assert_eq!(after, before, "{path} stored from {body:?}: {}", r.text()),
            _ => panic!("{path} answered {} to {body:?}: {}", r.status, r.text()),
        }
    }
    eprintln!(
        "{} random bodies per route in {:?}; answers by route and class (1xx..5xx): {:?}",
        n,
        started.elapsed(),
        answered.map(|a| [a[2], a[4]])
    );
    for (route, (path, db)) in WRITE_ROUTES.iter().enumerate() {
        // A valid body now and then is possible; garbage taken as valid is not.
        assert!(
            answered[route][2] <= n / 100,
            "{path}: {:?}",
            answered[route]
        );
        if !may_store[route] {
            let stored = all_metrics(&s);
            assert!(
                !stored.iter().any(|m| m.starts_with(&format!("{db}/"))),
                "{path} stored {stored:?}"
            );
        }
    }
    for m in all_metrics(&s) {
        assert!(
            WRITE_ROUTES
                .iter()
                .any(|(_, db)| m.starts_with(&format!("{db}/"))),
            "a random body created {m}"
        );
    }
    // Up, and still storing what is valid.
    assert_eq!(s.get("/health").status, 200);
    let r = s.post(
        "/api/v1/write?db=after",
        &remote_write::encode(&node_request()).unwrap(),
    );
    assert_eq!(r.status, 204, "{}", r.text());
    let r = s.post("/write?db=after", b"m v=1 1767225600000000000");
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(
        samples(&s, "after", "m_v"),
        [(1_767_225_600_000_000_000, Value::F64(1.0))]
    );
    // The counter the checks above rely on counts what is stored.
    assert_eq!(ingested(&s, "after"), 4);
}
