//! HTTP load generator: one keep-alive connection posting
//! `gen-workload edge --hours 24` (crates/workload) line protocol in 5,000-line bodies to a
//! release `nanotdb` with `skip_before = "0s"` (every sample goes through the
//! WAL), then the same again into a second database while another connection
//! runs full-day `query_range` requests of one metric of the first.
//!
//! Then, in the same run, VictoriaMetrics (the Debian package's
//! `/usr/bin/victoria-metrics`, or `$VICTORIA_METRICS_BIN`) is started on
//! loopback and gets the same samples as Influx line protocol on its
//! `/write` route, the same way: one keep-alive connection, 5,000-line
//! bodies.
//!
//! Reports ingest samples/s for every phase, the ratio to VictoriaMetrics,
//! query latency percentiles under load, and each server's peak RSS. Run
//! with `cargo bench -p nanotdb-server --bench http_ingest` (see
//! BENCHMARKS.md).
//!
//! `HTTP_INGEST_CONNS=N` makes phase 1 post over N concurrent connections
//! (to both servers), the series split between them by name so each
//! connection writes its series in time order; `HTTP_INGEST_FSYNC=always`
//! (or `interval`) sets our `wal.fsync_policy` instead of the template's
//! `segment`; `HTTP_INGEST_BACKGROUND_SYNC=false` sets
//! `durability.background_sync = false` (page flushes fsync and checkpoint
//! inside the request, as before the background thread);
//! `HTTP_INGEST_DISK_LOAD=1` keeps the disk busy during phase 1 (a thread
//! writing and fsyncing 32 MiB files beside the data, as `dd` would).

#[path = "../tests/common/client.rs"]
mod client;
mod peer;

use peer::{Victoria, overall, peak_rss};

use std::net::SocketAddr;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const LINES_PER_BODY: usize = 5_000;
/// Ingest rounds per server in phase 1.
const ROUNDS: usize = 7;

/// `HTTP_INGEST_DISK_LOAD=1`: during phase 1 another thread writes 32 MiB
/// files beside the servers' data (the temporary directory's file system)
/// and fsyncs each, in a loop, as a `dd ... conv=fsync` would: both servers
/// then ingest while the disk is busy.
struct DiskLoad {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<u64>,
}

impl DiskLoad {
    fn start_if_asked(dir: &std::path::Path) -> Option<DiskLoad> {
        if std::env::var("HTTP_INGEST_DISK_LOAD").ok().as_deref() != Some("1") {
            return None;
        }
        let stop = Arc::new(AtomicBool::new(false));
        let path = dir.join("disk-load.bin");
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            use std::io::Write;
            let block = vec![0x5au8; 1 << 20];
            let mut written = 0u64;
            while !flag.load(Ordering::Relaxed) {
                let mut f = std::fs::File::create(&path).expect("disk-load file");
                for _ in 0..32 {
                    f.write_all(&block).expect("disk-load write");
                    written += block.len() as u64;
                }
                f.sync_all().expect("disk-load fsync");
            }
            let _ = std::fs::remove_file(&path);
            written
        });
        Some(DiskLoad { stop, thread })
    }

    fn stop(self) -> String {
        self.stop.store(true, Ordering::Relaxed);
        let bytes = self.thread.join().unwrap_or(0);
        format!("{} MiB written and fsynced by the load thread", bytes >> 20)
    }
}

fn workload() -> std::path::PathBuf {
    peer::workload(nanotdb_workload::Workload::Edge, 24)
}

/// The workload in bodies of LINES_PER_BODY lines, each line rewritten by
/// `line` into the body.
fn chunked(text: &str, line: impl Fn(&str, &mut Vec<u8>)) -> Vec<Vec<u8>> {
    let lines: Vec<&str> = text.lines().collect();
    lines
        .chunks(LINES_PER_BODY)
        .map(|c| {
            let mut b = Vec::with_capacity(c.len() * 60);
            for l in c {
                line(l, &mut b);
            }
            b
        })
        .collect()
}

/// The workload as nanotdb line protocol into database `db`.
fn bodies(text: &str, db: &str) -> Vec<Vec<u8>> {
    chunked(text, |l, b| {
        let rest = l.split_once('/').map(|x| x.1).unwrap_or(l);
        b.extend_from_slice(db.as_bytes());
        b.push(b'/');
        b.extend_from_slice(rest.as_bytes());
        b.push(b'\n');
    })
}

fn ingest(addr: SocketAddr, bodies: &[Vec<u8>]) -> (u64, Duration) {
    let mut c = client::Conn::open(addr).expect("connect");
    let t0 = Instant::now();
    let mut n = 0u64;
    for b in bodies {
        let r = c.send("POST", "/api/v1/import", &[], b).expect("post");
        assert_eq!(r.status, 200, "{}", r.text());
        n += r.json()["data"]["imported"].as_u64().unwrap_or(0);
    }
    (n, t0.elapsed())
}

/// Connections of phase 1 (`HTTP_INGEST_CONNS`, default 1).
fn connections() -> usize {
    std::env::var("HTTP_INGEST_CONNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n >= 1)
        .unwrap_or(1)
}

/// The workload split into `n` texts by series name (stable hash), so
/// each connection writes its own series in time order.
fn shards(text: &str, n: usize) -> Vec<String> {
    let mut out = vec![String::new(); n];
    for l in text.lines() {
        let name = l.split_whitespace().next().unwrap_or("");
        let h = name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        let s = &mut out[(h % n as u64) as usize];
        s.push_str(l);
        s.push('\n');
    }
    out
}

/// Posts every shard's bodies on its own connection at once; returns the
/// samples each server reported and the wall time of the slowest.
fn ingest_parallel(
    post: impl Fn(&[Vec<u8>]) -> (u64, Duration) + Sync,
    shards: &[Vec<Vec<u8>>],
) -> (u64, Duration) {
    let t0 = Instant::now();
    let n = std::thread::scope(|scope| {
        let handles: Vec<_> = shards.iter().map(|b| scope.spawn(|| post(b).0)).collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("ingest thread"))
            .sum()
    });
    (n, t0.elapsed())
}

/// The same chunks as Influx line protocol (`<prefix><metric> value=<v>
/// <ns>`, which VictoriaMetrics stores as `<prefix><metric>_value`).
fn influx_bodies(text: &str, prefix: &str) -> Vec<Vec<u8>> {
    chunked(text, |l, b| {
        let mut f = l.split_whitespace();
        let (Some(name), Some(v), Some(ts)) = (f.next(), f.next(), f.next()) else {
            return;
        };
        let metric = name.split_once('/').map(|x| x.1).unwrap_or(name);
        b.extend_from_slice(prefix.as_bytes());
        b.extend_from_slice(metric.as_bytes());
        b.extend_from_slice(b" value=");
        b.extend_from_slice(v.as_bytes());
        b.push(b' ');
        b.extend_from_slice(ts.as_bytes());
        b.push(b'\n');
    })
}

fn pct(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v.get(i).copied().unwrap_or_default()
}

fn main() {
    // `cargo test --benches` runs this with --bench absent: do nothing then.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let text = std::fs::read_to_string(workload()).expect("read workload");
    let first_metric = text
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().next())
        .and_then(|t| t.split_once('/'))
        .map(|(_, m)| m.to_string())
        .expect("workload metric");
    let root = tempfile::tempdir().expect("tempdir");
    let mut cfg = nanotdb::config::DEFAULT_ENGINE_TOML
        .replace("skip_before = \"1h\"", "skip_before = \"0s\"");
    assert_ne!(
        cfg,
        nanotdb::config::DEFAULT_ENGINE_TOML,
        "template changed"
    );
    let fsync = std::env::var("HTTP_INGEST_FSYNC").unwrap_or_else(|_| "segment".into());
    if fsync != "segment" {
        let with = cfg.replace(
            "fsync_policy = \"segment\"",
            &format!("fsync_policy = \"{fsync}\""),
        );
        assert_ne!(with, cfg, "template changed");
        cfg = with;
    }
    // HTTP_INGEST_BACKGROUND_SYNC=false: page flushes fsync and checkpoint
    // inside the request (the behaviour before the background thread).
    let background = std::env::var("HTTP_INGEST_BACKGROUND_SYNC").unwrap_or_else(|_| "true".into());
    if background != "true" {
        let with = cfg.replace("background_sync = true", "background_sync = false");
        assert_ne!(with, cfg, "template changed");
        cfg = with;
    }
    let conns = connections();
    println!(
        "wal.fsync_policy = {fsync}, durability.background_sync = {background}, {conns} connection(s) in phase 1"
    );
    std::fs::write(root.path().join("engine.toml"), cfg).expect("write engine.toml");
    let (mut child, addr) = peer::spawn_on(env!("CARGO_BIN_EXE_nanotdb"), root.path());

    // Phase 1: rounds alternating between nanotdb and VictoriaMetrics, so
    // both see the same machine noise; the throughput over all rounds is
    // compared. Every round writes new series to both (a new database here,
    // a new metric-name prefix there), as the first round does.
    let vm = Victoria::start();
    let samples = text.lines().count() as f64;
    let disk_load = DiskLoad::start_if_asked(root.path());
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        let db = if round == 0 {
            "edge".to_string()
        } else {
            format!("edge_r{round}")
        };
        let parts = shards(&text, conns);
        let ours_bodies: Vec<_> = parts.iter().map(|t| bodies(t, &db)).collect();
        let (n, d) = ingest_parallel(|b| ingest(addr, b), &ours_bodies);
        assert_eq!(n as f64, samples, "every sample imported");
        ours.push(n as f64 / d.as_secs_f64());
        if let Some(vm) = &vm {
            let prefix = format!("r{round}_");
            let vm_bodies: Vec<_> = parts.iter().map(|t| influx_bodies(t, &prefix)).collect();
            let (_, d) = ingest_parallel(|b| (0, vm.ingest(b)), &vm_bodies);
            theirs.push(samples / d.as_secs_f64());
        }
    }
    if let Some(d) = disk_load {
        println!("disk load during phase 1: {}", d.stop());
    }
    let fmt = |v: &[f64]| {
        v.iter()
            .map(|r| format!("{:.2}", r / 1e6))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let ours_all = overall(&ours);
    println!(
        "phase 1 ingest (edge, 24 h, {samples} samples per round): {:.2} M samples/s over {ROUNDS} rounds (rounds: {})",
        ours_all / 1e6,
        fmt(&ours)
    );
    if let Some(vm) = vm {
        let vm_all = overall(&theirs);
        println!(
            "victoria-metrics /write (Influx, same samples): {:.2} M samples/s over {ROUNDS} rounds (rounds: {}), {} rows inserted, peak RSS {:.1} MB",
            vm_all / 1e6,
            fmt(&theirs),
            vm.rows_inserted(),
            peak_rss(vm.child.id()) as f64 / 1e6
        );
        println!("nanotdb / victoria-metrics: {:.2}x", ours_all / vm_all);
    }

    let b2 = bodies(&text, "edge2");
    let stop = Arc::new(AtomicBool::new(false));
    let q = {
        let stop = stop.clone();
        let metric = first_metric.clone();
        std::thread::spawn(move || {
            let mut c = client::Conn::open(addr).expect("connect");
            let path = format!(
                "/api/v1/query_range?db=edge&query={metric}&start=2026-01-01T00:00:00Z&end=2026-01-01T23:59:59.999Z"
            );
            // One warm-up query (not measured): the first one decodes the
            // day's frames into the server's frame cache.
            let r = c.send("GET", &path, &[], b"").expect("query");
            let points = r.json()["data"]["result"][0]["values"]
                .as_array()
                .map(|a| a.len())
                .unwrap_or(0);
            let mut lat = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                let r = c.send("GET", &path, &[], b"").expect("query");
                lat.push(t.elapsed());
                assert_eq!(r.status, 200);
                std::thread::sleep(Duration::from_millis(2));
            }
            (lat, points)
        })
    };
    let (n2, d2) = ingest(addr, &b2);
    stop.store(true, Ordering::Relaxed);
    let (mut lat, points) = q.join().expect("query thread");
    println!(
        "phase 2 ingest (edge2) with concurrent queries: {n2} samples in {:.3} s = {:.2} M samples/s",
        d2.as_secs_f64(),
        n2 as f64 / d2.as_secs_f64() / 1e6
    );
    println!(
        "query_range {first_metric} full day ({points} points) under load: {} queries, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        lat.len(),
        pct(&mut lat, 0.5).as_secs_f64() * 1e3,
        pct(&mut lat, 0.99).as_secs_f64() * 1e3,
        pct(&mut lat, 1.0).as_secs_f64() * 1e3
    );
    println!(
        "server peak RSS: {:.1} MB",
        peak_rss(child.id()) as f64 / 1e6
    );
    // SAFETY: kill(2) on our own child with a valid signal.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
    }
    let _ = child.wait();
}
