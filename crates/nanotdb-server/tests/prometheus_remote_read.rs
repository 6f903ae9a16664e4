//! End to end with real Prometheus (Debian's `prometheus`): configured with
//! this server as its `remote_read` storage and no data of its own, it must
//! answer PromQL over our samples — so the server works as Prometheus'
//! long-term storage. Without the program the test fails (`.ci/run` installs
//! it): it never passes by skipping.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::TestServer;
use nanotdb::{Value, WriteSample};
use nanotdb_testkit::{free_addr, wait_listening};
use serde_json::json;

/// Kills the child when dropped (a failing assertion must not leave it behind).
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Queries Prometheus over plain HTTP (the test client speaks to any server).
fn prom_query(addr: std::net::SocketAddr, query: &str, time: i64) -> serde_json::Value {
    let q: String = query
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    let r = common::request(
        addr,
        "GET",
        &format!("/api/v1/query?query={q}&time={time}"),
        &[],
        b"",
    );
    assert_eq!(r.status, 200, "{query}: {}", r.text());
    r.json()
}

#[test]
fn prometheus_reads_our_samples_remotely() {
    let s = TestServer::start();
    // Recent data (Prometheus reads remotely what its own head does not hold).
    let now_s = nanotdb::time::now_ns() / 1_000_000_000;
    let t0 = now_s - 600;
    let mut samples = Vec::new();
    for i in 0..40i64 {
        for (metric, v) in [
            ("rr_requests_total{job=\"api\"}", 10.0 * i as f64),
            ("rr_requests_total{job=\"web\"}", 4.0 * i as f64),
            ("rr_temp", 20.5),
        ] {
            samples.push(WriteSample {
                db: "lts",
                metric,
                ts: (t0 + 15 * i) * 1_000_000_000,
                value: Value::F64(v),
            });
        }
    }
    assert!(s.engine.write(&samples).expect("write").rejected.is_empty());

    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "remote_read:\n  - url: http://{}/api/v1/read?db=lts\n    read_recent: true\n",
            s.addr
        ),
    )
    .expect("config");
    let addr = free_addr();
    let child = Command::new("prometheus")
        .args([
            format!("--config.file={}", config.display()),
            format!("--storage.tsdb.path={}", dir.path().join("data").display()),
            format!("--web.listen-address={addr}"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start prometheus ({e}): install Debian's prometheus"));
    let _prom = Reaped(child);
    wait_listening(addr, "prometheus");
    let ready = Instant::now() + Duration::from_secs(60);
    while common::request(addr, "GET", "/-/ready", &[], b"").status != 200 {
        assert!(Instant::now() < ready, "prometheus did not become ready");
        std::thread::sleep(Duration::from_millis(100));
    }
    let at = t0 + 15 * 39;
    // Prometheus needs a moment after listening before it reads remotely.
    let deadline = Instant::now() + Duration::from_secs(30);
    let answer = loop {
        let j = prom_query(addr, "sum by (job) (rate(rr_requests_total[2m]))", at);
        if j["data"]["result"].as_array().is_some_and(|r| r.len() == 2) || Instant::now() > deadline
        {
            break j;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let mut got: Vec<(String, String)> = answer["data"]["result"]
        .as_array()
        .expect("result")
        .iter()
        .map(|r| {
            (
                r["metric"]["job"].as_str().unwrap_or("").to_string(),
                r["value"][1].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    got.sort();
    // 10 and 4 per 15 s, no resets, full windows: exact.
    assert_eq!(
        got,
        vec![
            ("api".into(), "0.6666666666666666".into()),
            ("web".into(), "0.26666666666666666".into())
        ],
        "{answer}"
    );
    let j = prom_query(addr, "rr_temp", at);
    assert_eq!(
        j["data"]["result"],
        json!([{"metric":{"__name__":"rr_temp"},"value":[at,"20.5"]}])
    );
}
