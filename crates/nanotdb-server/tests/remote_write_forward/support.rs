//! What the real-receiver forwarding tests share: the receivers and our
//! server as child processes, a proxy that fails on command, a writer that
//! records what was acknowledged, and the comparison of what we stored with
//! what VictoriaMetrics holds.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::ops::ControlFlow;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nanotdb::Engine;
use nanotdb_protocols::remote_write::{self, Limits};
use nanotdb_testkit::wait_listening;

/// (canonical series name, `db` aside; timestamp ms; value bits).
pub type Key = (String, i64, u64);

/// Kills a child when dropped (a failing assertion must not leave it behind).
pub struct Reaped(pub Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Reaped {
    pub fn signal(&mut self, sig: libc::c_int) {
        // SAFETY: kill(2) with the pid of a child we own.
        unsafe {
            libc::kill(self.0.id() as libc::pid_t, sig);
        }
        let _ = self.0.wait();
    }
}

pub fn vm(dir: &Path, addr: SocketAddr) -> Reaped {
    vm_with(dir, addr, &[])
}

/// [`vm`] with more flags (`-tls …`).
pub fn vm_with(dir: &Path, addr: SocketAddr, flags: &[String]) -> Reaped {
    let child = Command::new("victoria-metrics")
        .arg(format!("-storageDataPath={}", dir.display()))
        .arg(format!("-httpListenAddr={addr}"))
        .arg("-retentionPeriod=100y")
        .arg("-search.latencyOffset=0s")
        .arg("-loggerLevel=ERROR")
        .args(flags)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot start victoria-metrics ({e}): install Debian's victoria-metrics")
        });
    wait_listening(addr, "victoria-metrics");
    Reaped(child)
}

pub fn nanotdb(root: &Path, addr: SocketAddr) -> Reaped {
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
pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &[u8],
) -> std::io::Result<(u16, Vec<u8>)> {
    http_with(addr, method, path, "", body)
}

/// [`http`] with extra header lines (each ending in `\r\n`).
fn http_with(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &str,
    body: &[u8],
) -> std::io::Result<(u16, Vec<u8>)> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    s.write_all(body)?;
    let mut r = BufReader::new(s);
    let (status, _, body) = read_message(&mut r, true)?.ok_or(std::io::ErrorKind::UnexpectedEof)?;
    Ok((status, body))
}

/// Reads one HTTP message: (status or 0 for a request, start line, body).
/// A response without Content-Length reads to the end (Connection: close).
pub fn read_message(
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
pub const PASS: u8 = 0;
pub const CUT: u8 = 1;
pub const FAIL_500: u8 = 2;
pub const REFUSE_ONE_400: u8 = 3;

/// A proxy in front of the receiver that can fail on command.
pub struct Proxy {
    /// One of the modes above.
    pub mode: AtomicU8,
    /// Samples of the batch answered 400.
    pub refused: Mutex<Vec<Key>>,
    /// Requests answered 500.
    pub answered_500: std::sync::atomic::AtomicU64,
    /// When each request arrived (whatever the mode).
    pub arrivals: Mutex<Vec<Instant>>,
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

pub fn start_proxy(upstream: SocketAddr) -> (SocketAddr, Arc<Proxy>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let p = Arc::new(Proxy {
        mode: AtomicU8::new(PASS),
        refused: Mutex::new(Vec::new()),
        answered_500: Default::default(),
        arrivals: Mutex::new(Vec::new()),
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
        p.arrivals.lock().unwrap().push(Instant::now());
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
    http_with(
        upstream,
        "POST",
        path,
        "Content-Type: application/x-protobuf\r\nContent-Encoding: snappy\r\nX-Prometheus-Remote-Write-Version: 0.1.0\r\n",
        body,
    )
}

/// The writers' first timestamp (ms): 6 h back, on a whole second.
pub fn base_ms() -> i64 {
    (nanotdb::time::now_ns() / 1_000_000 / 1000) * 1000 - 6 * 3_600_000
}

/// Writes 10 series (float32 and int32) to `fw` every 10 ms, with an
/// out-of-order sample now and then, until `stop`; returns the lines the
/// server acknowledged. Posts answered with an HTTP error are counted in
/// `failed` and sent again.
pub fn writer(
    addr: Arc<Mutex<SocketAddr>>,
    stop: Arc<AtomicBool>,
    failed: Arc<std::sync::atomic::AtomicU64>,
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
                // Refused (a full disk): the same batch again later.
                Ok(_) => {
                    failed.fetch_add(1, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(50));
                }
                // Down (killed): the same batch again later.
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        acked
    })
}

/// Every sample of `fw` in the root (read-only: the WAL's are included).
pub fn ours(root: &Path) -> Vec<Key> {
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
pub fn exported(vm: SocketAddr) -> Vec<Key> {
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

pub fn counts(v: &[Key]) -> BTreeMap<Key, u32> {
    let mut m = BTreeMap::new();
    for k in v {
        *m.entry(k.clone()).or_insert(0) += 1;
    }
    m
}

pub fn status(addr: SocketAddr) -> serde_json::Value {
    let (s, body) = http(addr, "GET", "/api/v1/remote_write/status", b"").unwrap();
    assert_eq!(s, 200);
    serde_json::from_slice(&body).unwrap()
}

/// The first target's status.
pub fn target_status(addr: SocketAddr) -> serde_json::Value {
    status(addr)["targets"][0].clone()
}

/// Waits up to `secs` for `cond` on the first target's status.
pub fn wait_for(
    addr: SocketAddr,
    secs: u64,
    what: &str,
    cond: impl Fn(&serde_json::Value) -> bool,
) {
    let t0 = Instant::now();
    loop {
        let t = target_status(addr);
        if cond(&t) {
            return;
        }
        assert!(t0.elapsed() < Duration::from_secs(secs), "{what}: {t}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits until the first target has nothing pending and its counters stop
/// moving (pages flush after `max_age`, then frames are read).
pub fn wait_drained(addr: SocketAddr) -> serde_json::Value {
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

pub const BATCH: usize = 50;

pub fn config(root: &Path, targets: &str) {
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

/// Checks the promise of forwarding: every sample acknowledged to a writer
/// (`acked`) is stored in `root`, and every stored sample reached
/// VictoriaMetrics — but those in `refused` (batches the receiver refused
/// with a 4xx) — with at most one batch ([`BATCH`]) stored twice and
/// nothing foreign. Returns (samples stored, samples stored twice).
pub fn assert_delivered_once(
    root: &Path,
    vm_addr: SocketAddr,
    acked: &[Key],
    refused: &BTreeMap<Key, u32>,
    base_ms: i64,
) -> (u32, u32) {
    let ours = counts(&ours(root));
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
    (n_ours, doubles)
}
