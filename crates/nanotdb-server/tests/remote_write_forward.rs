//! Forwarding by remote write (`[[remote_write]]`, issue #15) end to end
//! with real receivers started by the test on loopback: VictoriaMetrics
//! (Debian's `victoria-metrics`, no deduplication, so a sample stored twice
//! shows) and Prometheus (`--web.enable-remote-write-receiver`).
//!
//! The fault run writes continuously to a `nanotdb` process while, in turn:
//! the receiver is stopped and restarted, a small proxy in front of it
//! answers 500 for a while and 400 for one batch, and the `nanotdb` process
//! is killed with SIGKILL mid-stream and restarted. Then VictoriaMetrics'
//! `/api/v1/export` must hold exactly what this server stored, except the
//! batch refused with 400 (skipped by design), with at most one batch
//! (`max_samples_per_send`) stored twice: the one in flight at the kill.
//!
//! Longer faults (`remote_write_forward/faults.rs`): our own disk filling
//! up while forwarding (a small tmpfs; needs root, as CI has) and the
//! receiver gone for a full minute.
//!
//! `https://` (`remote_write_forward/tls.rs`): VictoriaMetrics serving TLS
//! with a certificate of a CA the test makes.
//!
//! Without the programs the tests fail (`.ci/run` installs them): they
//! never pass by skipping.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nanotdb::{Value, WriteSample};
use nanotdb_testkit::{free_addr, wait_listening};

mod common;
#[path = "remote_write_forward/faults.rs"]
mod faults;
#[path = "remote_write_forward/support.rs"]
mod support;
#[path = "remote_write_forward/tls.rs"]
mod tls;

use support::*;

#[test]
fn victoria_metrics_gets_every_sample_once_through_faults() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let vm_dir = tmp.path().join("vm");
    let vm_addr = free_addr();
    let mut receiver = vm(&vm_dir, vm_addr);
    let (proxy_addr, proxy) = start_proxy(vm_addr);
    config(
        &root,
        &format!(
            r#"
[[remote_write]]
name = "vm"
url = "http://{proxy_addr}/api/v1/write"
max_samples_per_send = {BATCH}
batch_deadline = "200ms"
min_backoff = "50ms"
max_backoff = "400ms"
timeout = "3s"
"#
        ),
    );
    let addr = free_addr();
    let mut server = nanotdb(&root, addr);
    let stop = Arc::new(AtomicBool::new(false));
    let base_ms = base_ms();
    let shared_addr = Arc::new(Mutex::new(addr));
    let w = writer(
        shared_addr.clone(),
        stop.clone(),
        Default::default(),
        base_ms,
    );
    std::thread::sleep(Duration::from_secs(3));

    // The receiver goes away (connections cut, then the program stopped)
    // and comes back.
    proxy.mode.store(CUT, Ordering::SeqCst);
    receiver.signal(libc::SIGTERM);
    std::thread::sleep(Duration::from_secs(4));
    let s = status(addr);
    assert_ne!(
        s["targets"][0]["last_error"],
        serde_json::Value::Null,
        "{s}"
    );
    receiver = vm(&vm_dir, vm_addr);
    proxy.mode.store(PASS, Ordering::SeqCst);
    std::thread::sleep(Duration::from_secs(2));

    // 500 for a while (retried), then 400 for one batch (skipped).
    proxy.mode.store(FAIL_500, Ordering::SeqCst);
    std::thread::sleep(Duration::from_secs(3));
    assert!(proxy.answered_500.load(Ordering::SeqCst) >= 3);
    proxy.mode.store(REFUSE_ONE_400, Ordering::SeqCst);
    let t0 = Instant::now();
    while proxy.refused.lock().unwrap().is_empty() {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "no batch reached the proxy"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_secs(2));
    let before_kill = status(addr);
    let t = &before_kill["targets"][0];
    let n_refused = proxy.refused.lock().unwrap().len();
    assert_eq!(t["samples_dropped"], n_refused, "{before_kill}");
    assert!(t["samples_failed"].as_u64().unwrap() > 0, "{before_kill}");

    // kill -9 while batches flow, then start again on the same root.
    server.signal(libc::SIGKILL);
    std::thread::sleep(Duration::from_millis(500));
    server = nanotdb(&root, addr);
    std::thread::sleep(Duration::from_secs(3));
    stop.store(true, Ordering::SeqCst);
    let acked = w.join().unwrap();
    let st = wait_drained(addr);

    let refused = counts(&proxy.refused.lock().unwrap());
    let (n_ours, doubles) = assert_delivered_once(&root, vm_addr, &acked, &refused, base_ms);
    let metrics = http(addr, "GET", "/metrics", b"").unwrap().1;
    let metrics = String::from_utf8(metrics).unwrap();
    assert!(
        metrics.contains("nanotdb_remote_write_samples_sent_total{target=\"vm\"}"),
        "{metrics}"
    );
    eprintln!(
        "stored {n_ours}, refused {}, doubles {doubles}, status {st}",
        refused.len()
    );
    drop(server);
    drop(receiver);
}

/// Prometheus' raw samples of `{db="fw"}` over the last `range` (query of
/// a range vector): (name, ts ms, value bits).
fn prometheus_samples(addr: SocketAddr, name: &str) -> Vec<Key> {
    let q = format!("/api/v1/query?query={name}%7Bdb%3D%22fw%22%7D%5B2h%5D");
    let (s, body) = http(addr, "GET", &q, b"").unwrap();
    assert_eq!(s, 200, "{}", String::from_utf8_lossy(&body));
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let mut out = Vec::new();
    for series in v["data"]["result"].as_array().unwrap() {
        for p in series["values"].as_array().unwrap() {
            let ts = (p[0].as_f64().unwrap() * 1000.0).round() as i64;
            let x: f64 = p[1].as_str().unwrap().parse().unwrap();
            out.push((name.to_string(), ts, x.to_bits()));
        }
    }
    out
}

#[test]
fn prometheus_as_a_second_target_and_a_rate_limited_catch_up() {
    let tmp = tempfile::tempdir().unwrap();
    let vm_addr = free_addr();
    let _receiver = vm(&tmp.path().join("vm"), vm_addr);
    let prom_addr = free_addr();
    std::fs::write(
        tmp.path().join("prometheus.yml"),
        "global:\n  scrape_interval: 1h\n",
    )
    .unwrap();
    let _prom = Reaped(
        Command::new("prometheus")
            .arg(format!(
                "--config.file={}",
                tmp.path().join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                tmp.path().join("tsdb").display()
            ))
            .arg(format!("--web.listen-address={prom_addr}"))
            .arg("--web.enable-remote-write-receiver")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start prometheus ({e}): install Debian's prometheus")
            }),
    );
    wait_listening(prom_addr, "prometheus");
    // 3,000 samples, in order, of the last 50 minutes; the VictoriaMetrics
    // target may send 1,000 per second.
    const N: i64 = 3000;
    let rate = 1000;
    let settings = nanotdb_server::settings::ServerSettings::parse(&format!(
        r#"
[[remote_write]]
name = "prom"
url = "http://{prom_addr}/api/v1/write"
batch_deadline = "100ms"
[[remote_write]]
name = "vm"
url = "http://{vm_addr}/api/v1/write"
max_samples_per_send = 200
batch_deadline = "100ms"
max_samples_per_second = {rate}
"#
    ))
    .unwrap();
    let server = common::TestServer::with(settings);
    let base_ms = (nanotdb::time::now_ns() / 1_000_000) - 50 * 60_000;
    let names = ["fw_p0", "fw_p1", "fw_p2"];
    let mut samples = Vec::new();
    for i in 0..N {
        let name = names[(i % 3) as usize];
        let ts = base_ms + i * 1000;
        let value = if i % 3 != 1 {
            Value::F32(i as f32)
        } else {
            Value::I32(-(i as i32))
        };
        samples.push(WriteSample {
            db: "fw",
            metric: name,
            ts: ts * 1_000_000,
            value,
        });
    }
    let t0 = Instant::now();
    let r = server.engine.write(&samples).unwrap();
    assert!(r.rejected.is_empty(), "{r:?}");
    // Stored, not flushed: not sent yet, and the status says how many wait.
    let st = status(server.addr);
    for t in st["targets"].as_array().unwrap() {
        assert_eq!(t["pending_unflushed_samples"], N, "{st}");
    }
    server.engine.flush().unwrap();
    let st = wait_drained(server.addr);
    let took = t0.elapsed();
    for t in st["targets"].as_array().unwrap() {
        assert_eq!(t["samples_sent"], N, "{st}");
        assert_eq!(t["samples_dropped"], 0, "{st}");
        assert_eq!(t["pending_unflushed_samples"], 0, "{st}");
    }
    // 3,000 at 1,000/s: the first batch goes at once, the rest over ≥ 2.8 s.
    assert!(
        took >= Duration::from_millis(2800),
        "rate limit not applied: drained in {took:?}"
    );
    let want: BTreeMap<Key, u32> = counts(
        &samples
            .iter()
            .map(|s| {
                (
                    s.metric.to_string(),
                    s.ts / 1_000_000,
                    s.value.as_f64().to_bits(),
                )
            })
            .collect::<Vec<_>>(),
    );
    let mut got = Vec::new();
    for n in names {
        got.extend(prometheus_samples(prom_addr, n));
    }
    assert_eq!(counts(&got), want, "Prometheus");
    assert_eq!(counts(&exported(vm_addr)), want, "VictoriaMetrics");
    let m = String::from_utf8(http(server.addr, "GET", "/metrics", b"").unwrap().1).unwrap();
    assert!(
        m.contains(&format!(
            "nanotdb_remote_write_samples_sent_total{{target=\"prom\"}} {N}"
        )),
        "{m}"
    );
}

#[test]
fn a_bad_remote_write_table_stops_the_server_with_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    config(
        &root,
        "[[remote_write]]\nname = \"central\"\nbatch_deadline = \"5s\"\n",
    );
    let out = Command::new(env!("CARGO_BIN_EXE_nanotdb"))
        .arg("--config")
        .arg(root.join("engine.toml"))
        .arg("--listen")
        .arg(free_addr().to_string())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("[[remote_write]] #1 (central): url is required"),
        "{err}"
    );
}
