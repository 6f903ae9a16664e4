//! Soak: the real `nanotdb` binary under steady mixed load — line-protocol
//! imports, remote writes and Influx writes on three connections, queries
//! on a fourth — for a while. Nothing may fail, every acknowledged sample
//! must be there at the end (after a graceful stop and a reopen), and the
//! server's memory must level off rather than grow with the samples.
//!
//! Short form (CI): 20 s. Long form: `NANOTDB_LONG_TESTS=1 cargo test -p
//! nanotdb-server --test soak` runs 10 minutes (`NANOTDB_SOAK_SECS` sets
//! any length).

mod common;

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::Conn;
use nanotdb_protocols::SeriesKey;
use nanotdb_protocols::remote_write::{self, TimeSeries, WriteRequest};

const T0: i64 = 1_767_225_600_000_000_000;
const SERIES: u64 = 200;

fn soak_secs() -> u64 {
    if let Ok(s) = std::env::var("NANOTDB_SOAK_SECS") {
        return s.parse().expect("NANOTDB_SOAK_SECS");
    }
    if std::env::var_os("NANOTDB_LONG_TESTS").is_some() {
        600
    } else {
        20
    }
}

fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Round `r`'s body for one protocol: `SERIES` samples at `T0 + r` seconds.
fn body(kind: usize, r: i64) -> Vec<u8> {
    let ts = T0 + r * 1_000_000_000;
    match kind {
        0 => (0..SERIES)
            .map(|s| format!("lp/m{s} {r}i {ts}\n"))
            .collect::<String>()
            .into_bytes(),
        1 => {
            let timeseries = (0..SERIES)
                .map(|s| {
                    let key = SeriesKey::new("rw", [("s", s.to_string())]).unwrap();
                    TimeSeries::from_series(&key, None, &[(ts / 1_000_000, r as f64)])
                })
                .collect();
            remote_write::encode(&WriteRequest { timeseries }).unwrap()
        }
        _ => (0..SERIES)
            .map(|s| format!("ix,s={s} v={r}i {ts}\n"))
            .collect::<String>()
            .into_bytes(),
    }
}

fn start(root: &std::path::Path) -> (std::process::Child, SocketAddr) {
    let addr = nanotdb_testkit::free_addr();
    let child = Command::new(env!("CARGO_BIN_EXE_nanotdb"))
        .arg("--config")
        .arg(root.join("engine.toml"))
        .arg("--listen")
        .arg(addr.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    nanotdb_testkit::wait_listening(addr, "nanotdb");
    (child, addr)
}

fn stop(child: &mut std::process::Child) {
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    assert!(child.wait().unwrap().success(), "graceful stop failed");
}

#[test]
fn steady_mixed_load_loses_nothing_and_memory_levels_off() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("engine.toml"),
        "[stats]\nenabled = false\n[ingest]\nmax_future = \"0s\"\n",
    )
    .unwrap();
    let (mut child, addr) = start(dir.path());
    let secs = soak_secs();
    let stop_flag = Arc::new(AtomicBool::new(false));
    let rounds: Vec<Arc<AtomicU64>> = (0..3).map(|_| Arc::new(AtomicU64::new(0))).collect();
    let writers: Vec<_> = (0..3)
        .map(|kind| {
            let (stop_flag, done) = (stop_flag.clone(), rounds[kind].clone());
            std::thread::spawn(move || {
                let mut c = Conn::open(addr).unwrap();
                let path = ["/api/v1/import", "/api/v1/write?db=rw", "/write?db=ix"][kind];
                let mut r = 0i64;
                while !stop_flag.load(Ordering::Relaxed) {
                    let resp = c.send("POST", path, &[], &body(kind, r)).unwrap();
                    assert!(
                        resp.status < 300,
                        "{path} round {r}: {} {}",
                        resp.status,
                        resp.text()
                    );
                    r += 1;
                    done.store(r as u64, Ordering::Relaxed);
                }
            })
        })
        .collect();
    let reader = {
        let stop_flag = stop_flag.clone();
        std::thread::spawn(move || {
            let mut c = Conn::open(addr).unwrap();
            let mut n = 0u64;
            while !stop_flag.load(Ordering::Relaxed) {
                let r = c
                    .send("GET", "/api/v1/query_range?db=lp&query=m7&start=2026-01-01T00:00:00Z&end=2026-12-31T00:00:00Z", &[], b"")
                    .unwrap();
                assert!(r.status == 200 || r.status == 404, "query: {}", r.status);
                n += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
            n
        })
    };
    // Memory at half time (caches filled, pages at their working size) and
    // at the end.
    let t0 = Instant::now();
    let mut trend = Vec::new();
    let mut half_rounds = 0;
    for q in 1..=4u64 {
        while t0.elapsed() < Duration::from_secs(secs * q / 4) {
            std::thread::sleep(Duration::from_millis(100));
        }
        trend.push(rss_kb(child.id()));
        if q == 2 {
            half_rounds = rounds
                .iter()
                .map(|r| r.load(Ordering::Relaxed))
                .sum::<u64>();
        }
    }
    let (early, late) = (trend[1], trend[3]);
    stop_flag.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().expect("writer");
    }
    let queries = reader.join().expect("reader");
    let done: Vec<u64> = rounds.iter().map(|r| r.load(Ordering::Relaxed)).collect();
    let total: u64 = done.iter().sum();
    assert!(
        total > 3 * half_rounds.max(1) / 2,
        "ingest stalled: {half_rounds} rounds at half time, {total} at the end"
    );
    assert!(queries > 10, "only {queries} queries");
    eprintln!(
        "soak {secs} s: rounds {done:?} ({total} x {SERIES} samples), {queries} queries, RSS by quarter {trend:?} kB"
    );
    // Levels off: in the second half (samples double) memory grows by no
    // more than the bounded caches can still fill — the queried database's
    // decoded-frame cache (16 MiB) with room to spare — and stays far under
    // 128 MB (a steady leak of even a byte per sample exceeds it in the
    // long form).
    assert!(
        late < early + 32 * 1024 && late < 128 * 1024,
        "RSS by quarter {trend:?} kB while rounds went {half_rounds} -> {total}"
    );
    stop(&mut child);

    // Everything acknowledged is there, once, after a restart.
    let (mut child, addr) = start(dir.path());
    let mut c = Conn::open(addr).unwrap();
    for (kind, (db, metric)) in [("lp", "m7"), ("rw", "rw{s=\"7\"}"), ("ix", "ix_v{s=\"7\"}")]
        .iter()
        .enumerate()
    {
        let q: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("db", db)
            .append_pair("query", metric)
            .append_pair("start", "2026-01-01T00:00:00Z")
            .append_pair("end", "2026-12-31T00:00:00Z")
            .finish();
        let r = c
            .send("GET", &format!("/api/v1/query_range?{q}"), &[], b"")
            .unwrap();
        assert_eq!(r.status, 200, "{}", r.text());
        let points = r.json()["data"]["result"][0]["values"]
            .as_array()
            .map_or(0, |a| a.len()) as u64;
        assert_eq!(points, done[kind], "{db}/{metric}");
    }
    stop(&mut child);
}
