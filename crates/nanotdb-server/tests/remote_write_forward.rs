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
//! Without the programs the tests fail (`.ci/run` installs them): they
//! never pass by skipping.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::ops::ControlFlow;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nanotdb::{Engine, Value, WriteSample};
use nanotdb_protocols::remote_write::{self, Limits};
use nanotdb_testkit::{free_addr, wait_listening};

mod common;

/// (canonical series name, `db` aside; timestamp ms; value bits).
type Key = (String, i64, u64);

/// Kills a child when dropped (a failing assertion must not leave it behind).
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Reaped {
    fn signal(&mut self, sig: libc::c_int) {
        // SAFETY: kill(2) with the pid of a child we own.
        unsafe {
            libc::kill(self.0.id() as libc::pid_t, sig);
        }
        let _ = self.0.wait();
    }
}

fn vm(dir: &Path, addr: SocketAddr) -> Reaped {
    let child = Command::new("victoria-metrics")
        .arg(format!("-storageDataPath={}", dir.display()))
        .arg(format!("-httpListenAddr={addr}"))
        .arg("-retentionPeriod=100y")
        .arg("-search.latencyOffset=0s")
        .arg("-loggerLevel=ERROR")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot start victoria-metrics ({e}): install Debian's victoria-metrics")
        });
    wait_listening(addr, "victoria-metrics");
    Reaped(child)
}

fn nanotdb(root: &Path, addr: SocketAddr) -> Reaped {
    let child = Command::new(env!("CARGO_BIN_EXE_nanotdb"))
        .arg("--config")
        .arg(root.join("engine.toml"))
        .arg("--listen")
        .arg(addr.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_listening(addr, "nanotdb");
    Reaped(child)
}

/// One HTTP/1.1 request on a fresh connection: (status, body).
fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &[u8],
) -> std::io::Result<(u16, Vec<u8>)> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    s.write_all(body)?;
    let mut r = BufReader::new(s);
    let (status, _, body) = read_message(&mut r, true)?.ok_or(std::io::ErrorKind::UnexpectedEof)?;
    Ok((status, body))
}

/// Reads one HTTP message: (status or 0 for a request, start line, body).
/// A response without Content-Length reads to the end (Connection: close).
fn read_message(
    r: &mut impl BufRead,
    response: bool,
) -> std::io::Result<Option<(u16, String, Vec<u8>)>> {
    let mut start = String::new();
    if r.read_line(&mut start)? == 0 {
        return Ok(None);
    }
    let mut len: Option<usize> = None;
    let mut chunked = false;
    loop {
        let mut h = String::new();
        r.read_line(&mut h)?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let lower = h.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            len = v.trim().parse().ok();
        }
        if lower.starts_with("transfer-encoding:") && lower.contains("chunked") {
            chunked = true;
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            r.read_line(&mut size)?;
            let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            let mut chunk = vec![0; n + 2];
            r.read_exact(&mut chunk)?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
    } else if let Some(n) = len {
        body.resize(n, 0);
        r.read_exact(&mut body)?;
    } else if response {
        r.read_to_end(&mut body)?;
    }
    let status = if response {
        start
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    } else {
        0
    };
    Ok(Some((status, start, body)))
}

/// What the proxy in front of the receiver does.
const PASS: u8 = 0;
const CUT: u8 = 1;
const FAIL_500: u8 = 2;
const REFUSE_ONE_400: u8 = 3;

/// A proxy in front of the receiver that can fail on command.
struct Proxy {
    mode: AtomicU8,
    /// Samples of the batch answered 400.
    refused: Mutex<Vec<Key>>,
    answered_500: std::sync::atomic::AtomicU64,
}

fn decode_keys(body: &[u8]) -> Vec<Key> {
    let limits = Limits {
        max_compressed_bytes: 64 << 20,
        max_decompressed_bytes: 256 << 20,
        max_series_len: 4096,
    };
    let d = remote_write::decode(body, &limits).expect("sender's body decodes");
    let mut out = Vec::new();
    for s in d.series {
        assert_eq!(s.db.as_deref(), Some("fw"), "db label sent");
        let name = s.key.to_string();
        for (ts, v) in s.samples {
            out.push((name.clone(), ts, v.to_bits()));
        }
    }
    out
}

fn start_proxy(upstream: SocketAddr) -> (SocketAddr, Arc<Proxy>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let p = Arc::new(Proxy {
        mode: AtomicU8::new(PASS),
        refused: Mutex::new(Vec::new()),
        answered_500: Default::default(),
    });
    let p2 = p.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let p = p2.clone();
            std::thread::spawn(move || {
                let _ = serve_proxy(conn, upstream, &p);
            });
        }
    });
    (addr, p)
}

fn serve_proxy(conn: TcpStream, upstream: SocketAddr, p: &Proxy) -> std::io::Result<()> {
    let mut w = conn.try_clone()?;
    let mut r = BufReader::new(conn);
    while let Some((_, start, body)) = read_message(&mut r, false)? {
        let path = start.split_whitespace().nth(1).unwrap_or("/").to_string();
        let (status, answer) = match p.mode.load(Ordering::SeqCst) {
            CUT => return Ok(()),
            FAIL_500 => {
                p.answered_500.fetch_add(1, Ordering::SeqCst);
                (500, b"injected failure".to_vec())
            }
            REFUSE_ONE_400
                if p.mode
                    .compare_exchange(REFUSE_ONE_400, PASS, Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok() =>
            {
                p.refused.lock().unwrap().extend(decode_keys(&body));
                (400, b"injected refusal".to_vec())
            }
            _ => match forward(upstream, &path, &body) {
                Ok(x) => x,
                Err(e) => (503, e.to_string().into_bytes()),
            },
        };
        write!(
            w,
            "HTTP/1.1 {status} X\r\nContent-Length: {}\r\n\r\n",
            answer.len()
        )?;
        w.write_all(&answer)?;
    }
    Ok(())
}

fn forward(upstream: SocketAddr, path: &str, body: &[u8]) -> std::io::Result<(u16, Vec<u8>)> {
    let mut s = TcpStream::connect(upstream)?;
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: {upstream}\r\nContent-Type: application/x-protobuf\r\nContent-Encoding: snappy\r\nX-Prometheus-Remote-Write-Version: 0.1.0\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    s.write_all(body)?;
    let mut r = BufReader::new(s);
    let (status, _, body) = read_message(&mut r, true)?.ok_or(std::io::ErrorKind::UnexpectedEof)?;
    Ok((status, body))
}

/// Writes 10 series (float32 and int32) to `fw` every 10 ms, with an
/// out-of-order sample now and then, until `stop`; returns the lines the
/// server acknowledged.
fn writer(
    addr: Arc<Mutex<SocketAddr>>,
    stop: Arc<AtomicBool>,
    base_ms: i64,
) -> std::thread::JoinHandle<Vec<Key>> {
    std::thread::spawn(move || {
        let mut acked = Vec::new();
        let mut i: i64 = 0;
        while !stop.load(Ordering::SeqCst) {
            let ts = base_ms + i * 1000;
            let mut body = String::new();
            for s in 0..10 {
                let v = if s % 2 == 0 {
                    format!("{}", i * 10 + s)
                } else {
                    format!("{}i", i * 10 + s)
                };
                body.push_str(&format!("fw/fw_m{s} {v} {}\n", ts * 1_000_000));
            }
            if i % 7 == 3 {
                // Late: half a second behind this series' newest.
                body.push_str(&format!("fw/fw_m0 {} {}\n", -i, (ts - 500) * 1_000_000));
            }
            let a = *addr.lock().unwrap();
            match http(a, "POST", "/api/v1/import", body.as_bytes()) {
                Ok((s, _)) if (200..300).contains(&s) => {
                    for l in body.lines() {
                        let f: Vec<&str> = l.split(' ').collect();
                        let name = f[0].trim_start_matches("fw/").to_string();
                        let v: f64 = f[1].trim_end_matches('i').parse().unwrap();
                        let ts: i64 = f[2].parse().unwrap();
                        acked.push((name, ts / 1_000_000, v.to_bits()));
                    }
                    i += 1;
                }
                // Down (killed) or refused: the same batch again later.
                _ => std::thread::sleep(Duration::from_millis(50)),
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        acked
    })
}

/// Every sample of `fw` in the root (read-only: the WAL's are included).
fn ours(root: &Path) -> Vec<Key> {
    let e = Engine::open_read_only(root).unwrap();
    let mut out = Vec::new();
    for m in e.metrics("fw").unwrap() {
        let labels = m.name.clone();
        e.query_range("fw", &m.name, i64::MIN, i64::MAX, 1, |s| {
            out.push((labels.clone(), s.ts / 1_000_000, s.value.as_f64().to_bits()));
            ControlFlow::Continue(())
        })
        .unwrap();
    }
    out
}

/// Every sample VictoriaMetrics exports for `{db="fw"}`, labels without `db`.
fn exported(vm: SocketAddr) -> Vec<Key> {
    let (s, _) = http(vm, "GET", "/internal/force_flush", b"").unwrap();
    assert_eq!(s, 200);
    let (s, body) = http(vm, "GET", "/api/v1/export?match[]=%7Bdb%3D%22fw%22%7D", b"").unwrap();
    assert_eq!(s, 200, "{}", String::from_utf8_lossy(&body));
    let mut out = Vec::new();
    for line in String::from_utf8(body).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let name = v["metric"]["__name__"].as_str().unwrap();
        let labels = name.to_string();
        let ts = v["timestamps"].as_array().unwrap();
        let vals = v["values"].as_array().unwrap();
        for (t, x) in ts.iter().zip(vals) {
            out.push((
                labels.clone(),
                t.as_i64().unwrap(),
                x.as_f64().unwrap().to_bits(),
            ));
        }
    }
    out
}

fn counts(v: &[Key]) -> BTreeMap<Key, u32> {
    let mut m = BTreeMap::new();
    for k in v {
        *m.entry(k.clone()).or_insert(0) += 1;
    }
    m
}

fn status(addr: SocketAddr) -> serde_json::Value {
    let (s, body) = http(addr, "GET", "/api/v1/remote_write/status", b"").unwrap();
    assert_eq!(s, 200);
    serde_json::from_slice(&body).unwrap()
}

/// Waits until the first target has nothing pending and its counters stop
/// moving (pages flush after `max_age`, then frames are read).
fn wait_drained(addr: SocketAddr) -> serde_json::Value {
    let t0 = Instant::now();
    let mut last = serde_json::Value::Null;
    let mut stable = 0;
    loop {
        std::thread::sleep(Duration::from_millis(700));
        let s = status(addr);
        let mut t = s["targets"].clone();
        for x in t.as_array_mut().unwrap() {
            // Moving while idle.
            x["lag_seconds"] = serde_json::Value::Null;
        }
        let idle = t
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x["pending_bytes"] == 0);
        if idle && t == last {
            stable += 1;
            if stable >= 3 {
                return s;
            }
        } else {
            stable = 0;
        }
        last = t;
        assert!(t0.elapsed() < Duration::from_secs(60), "not drained: {s}");
    }
}

const BATCH: usize = 50;

fn config(root: &Path, targets: &str) {
    std::fs::create_dir_all(root).unwrap();
    std::fs::write(
        root.join("engine.toml"),
        format!(
            r#"
[engine]
flush_interval = "200ms"
[stats]
enabled = false
[ingest]
out_of_order_window = "1h"
[manifest_defaults.wal]
# Every acknowledged sample survives kill -9 (the writes are 6 h old).
enabled = true
skip_before = "0s"
[manifest_defaults.page]
max_age = "1s"
{targets}
"#
        ),
    )
    .unwrap();
}

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
    let base_ms = (nanotdb::time::now_ns() / 1_000_000 / 1000) * 1000 - 6 * 3_600_000;
    let shared_addr = Arc::new(Mutex::new(addr));
    let w = writer(shared_addr.clone(), stop.clone(), base_ms);
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
    let ours = counts(&ours(&root));
    let theirs = counts(&exported(vm_addr));
    let n_ours: u32 = ours.values().sum();
    let lost: Vec<&Key> = acked.iter().filter(|k| !ours.contains_key(*k)).collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged samples not stored (of {}; lost ts {:?}..{:?}, acked ts {:?}..{:?}), e.g. {:?}",
        lost.len(),
        acked.len(),
        lost.iter().map(|k| k.1 - base_ms).min(),
        lost.iter().map(|k| k.1 - base_ms).max(),
        acked.iter().map(|k| k.1 - base_ms).min(),
        acked.iter().map(|k| k.1 - base_ms).max(),
        &lost[..lost.len().min(5)]
    );
    let mut missing = Vec::new();
    let mut doubles = 0;
    for (k, &n) in &ours {
        let want = if refused.contains_key(k) { 0 } else { n };
        let got = theirs.get(k).copied().unwrap_or(0);
        if got < want {
            missing.push(k.clone());
        }
        doubles += got.saturating_sub(want);
    }
    let foreign: Vec<&Key> = theirs.keys().filter(|k| !ours.contains_key(*k)).collect();
    assert!(
        missing.is_empty(),
        "{} samples never arrived, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    assert!(
        foreign.is_empty(),
        "VictoriaMetrics has samples we do not: {:?}",
        &foreign[..foreign.len().min(5)]
    );
    assert!(
        doubles as usize <= BATCH,
        "{doubles} samples stored twice (at most the batch in flight at the kill)"
    );
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
    server.engine.flush().unwrap();
    let st = wait_drained(server.addr);
    let took = t0.elapsed();
    for t in st["targets"].as_array().unwrap() {
        assert_eq!(t["samples_sent"], N, "{st}");
        assert_eq!(t["samples_dropped"], 0, "{st}");
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
