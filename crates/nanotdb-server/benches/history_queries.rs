//! Long ranges over many partitions: `gen-workload history --hours 17520
//! --start 2024-01-01` (32 metrics, 10-minute samples, two years in 730 day
//! partitions, 3,363,840 samples) imported into a root, then served by a
//! release `nanotdb`; the same samples in VictoriaMetrics (Debian package,
//! or `$VICTORIA_METRICS_BIN`) after `force_flush` and `force_merge`.
//!
//! Both answer `/api/v1/export` for one metric over the whole range
//! (105,120 points) and for all 32 metrics, interleaved, 100 and 10 times
//! after one warm-up each; the bench prints medians, the ratio
//! nanotdb / VictoriaMetrics (lower is better), each server's CPU time per
//! query over the measured rounds (steadier than wall time on a shared
//! machine), and the server's RSS after the 100th query. It runs three times on our side: raw files only, then
//! with v2 metric files and with v3 metric files built next to the raw
//! files (queries prefer metric files). Run with
//! `cargo bench -p nanotdb-server --bench history_queries` (BENCHMARKS.md).

#[path = "../tests/common/client.rs"]
mod client;
mod peer;

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use nanotdb::metricfile::Version;
use peer::Victoria;

/// Measured one-metric queries per server (after one warm-up).
const ROUNDS_ONE: usize = 100;
/// Measured all-metrics queries per server (after one warm-up).
const ROUNDS_ALL: usize = 10;
const START: &str = "2024-01-01T00:00:00Z";
const END: &str = "2026-01-01T00:00:00Z";

fn spawn(root: &Path) -> (Child, SocketAddr) {
    peer::spawn_on(env!("CARGO_BIN_EXE_nanotdb"), root)
}

fn stop(mut child: Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

/// `VmRSS` of a process in bytes.
fn rss(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0)
        * 1024
}

/// One export on a new connection (VictoriaMetrics closes long-lived
/// ones): its time and the number of points.
fn export(addr: SocketAddr, path: &str) -> (Duration, usize) {
    let t = Instant::now();
    let r = client::request(addr, "GET", path, &[], b"");
    let d = t.elapsed();
    assert_eq!(r.status, 200, "{path}: {}", r.text());
    let text = r.text();
    let points = text
        .lines()
        .map(|l| l.matches(',').count().div_ceil(2).max(1))
        .sum::<usize>();
    (d, points)
}

/// The two-year history (starting 2024-01-01, so VictoriaMetrics takes
/// every sample), generated once into the bench data directory.
fn history_file() -> std::path::PathBuf {
    let dir = peer::workload(nanotdb_workload::Workload::History, 1)
        .parent()
        .expect("bench data dir")
        .to_path_buf();
    let path = dir.join("history-17520h-2024.lp");
    if !path.is_file() {
        let mut opts = nanotdb_workload::Options::new(nanotdb_workload::Workload::History);
        opts.hours = 17_520;
        opts.start_ns = 1_704_067_200_000_000_000;
        let tmp = path.with_extension("tmp");
        let mut f = std::io::BufWriter::new(std::fs::File::create(&tmp).expect("create"));
        nanotdb_workload::generate(&opts, &mut f).expect("generate");
        drop(f);
        std::fs::rename(&tmp, &path).expect("rename");
    }
    path
}

/// CPU time (user + system) a process has used, in seconds (clock ticks
/// of 10 ms: the measured rounds take seconds of CPU).
fn cpu_seconds(pid: u32) -> f64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // utime and stime are the 14th and 15th fields, the 12th and 13th after
    // the parenthesised command name.
    let rest = s.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<u64> = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|v| v.parse().ok())
        .collect();
    f.iter().sum::<u64>() as f64 / 100.0
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let input = history_file();
    let text = std::fs::read_to_string(&input).expect("read workload");
    let samples = text.lines().count();
    let vm = Victoria::start();
    if let Some(vm) = &vm {
        let bodies: Vec<Vec<u8>> = text
            .lines()
            .collect::<Vec<_>>()
            .chunks(200_000)
            .map(|c| {
                let mut b = Vec::new();
                for l in c {
                    let mut f = l.split_whitespace();
                    if let (Some(n), Some(v), Some(ts)) = (f.next(), f.next(), f.next()) {
                        let m = n.split_once('/').map_or(n, |x| x.1);
                        b.extend_from_slice(format!("{m} value={v} {ts}\n").as_bytes());
                    }
                }
                b
            })
            .collect();
        vm.ingest(&bodies);
        for p in ["/internal/force_flush", "/internal/force_merge"] {
            client::request(vm.addr, "GET", p, &[], b"");
            std::thread::sleep(Duration::from_secs(3));
        }
    }
    println!("history 17,520 h: {samples} samples");
    for variant in [None, Some(Version::V2), Some(Version::V3)] {
        let root = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            root.path().join("engine.toml"),
            "[stats]\nenabled = false\n",
        )
        .expect("engine.toml");
        {
            let e = nanotdb::Engine::open(root.path()).expect("open");
            e.import_file(&input, &nanotdb::ImportOptions::default(), &mut ())
                .expect("import");
            if let Some(version) = variant {
                let opts = nanotdb::BuildOptions {
                    version,
                    codec: nanotdb::config::Codec::ZstdFastest,
                    raw_action: nanotdb::config::RawIngestAction::Keep,
                    verify: false,
                };
                e.build_metric_files("history", None, Some(opts))
                    .expect("build metric files");
            }
            e.close().expect("close");
        }
        let (child, addr) = spawn(root.path());
        let label = match variant {
            None => "raw files",
            Some(Version::V2) => "v2 metric files",
            Some(_) => "v3 metric files",
        };
        run(label, addr, child.id(), vm.as_ref());
        stop(child);
    }
}

/// Times the two exports on both servers, interleaved.
///
/// Also prints each server's CPU time per query over the measured rounds:
/// on a machine shared with other work, wall times swing with the load,
/// CPU times much less.
fn run(label: &str, addr: SocketAddr, pid: u32, vm: Option<&Victoria>) {
    let ours_one = format!(
        "/api/v1/export?db=history&match[]={}&start={START}&end={END}",
        enc("{__name__=\"wt1.power_kw\"}")
    );
    let ours_all = format!("/api/v1/export?db=history&start={START}&end={END}");
    let vm_one = format!(
        "/api/v1/export?match[]={}&start={START}&end={END}",
        enc("{__name__=\"wt1.power_kw_value\"}")
    );
    let vm_all = format!(
        "/api/v1/export?match[]={}&start={START}&end={END}",
        enc("{__name__=~\"wt.*\"}")
    );
    let v = vm.map(|vm| vm.addr);
    let mut queries = 0;
    for (what, ours, theirs, rounds) in [
        ("one metric", &ours_one, &vm_one, ROUNDS_ONE),
        ("all metrics", &ours_all, &vm_all, ROUNDS_ALL),
    ] {
        let (_, n_ours) = export(addr, ours);
        let n_vm = v.map(|v| export(v, theirs).1);
        let (mut a, mut b) = (Vec::new(), Vec::new());
        let vm_pid = vm.map(|vm| vm.child.id());
        let cpu0 = (cpu_seconds(pid), vm_pid.map(cpu_seconds));
        for _ in 0..rounds {
            a.push(export(addr, ours).0);
            queries += 1;
            if queries == 100 {
                println!(
                    "  [{label}] server RSS after 100 queries: {:.1} MB",
                    rss(pid) as f64 / 1e6
                );
            }
            if let Some(v) = v {
                b.push(export(v, theirs).0);
            }
        }
        let cpu_ours = (cpu_seconds(pid) - cpu0.0) / rounds as f64;
        let cpu_vm = vm_pid
            .zip(cpu0.1)
            .map(|(p, c)| (cpu_seconds(p) - c) / rounds as f64);
        let ma = median(&mut a);
        print!(
            "  [{label}] {what}: nanotdb {:.2} ms ({n_ours} points)",
            ma.as_secs_f64() * 1e3
        );
        if !b.is_empty() {
            let mb = median(&mut b);
            print!(
                ", victoria-metrics {:.2} ms ({} points), ratio {:.2}",
                mb.as_secs_f64() * 1e3,
                n_vm.unwrap_or(0),
                ma.as_secs_f64() / mb.as_secs_f64()
            );
        }
        println!();
        print!(
            "  [{label}] {what}: CPU per query nanotdb {:.1} ms",
            cpu_ours * 1e3
        );
        if let Some(c) = cpu_vm {
            print!(
                ", victoria-metrics {:.1} ms, ratio {:.2}",
                c * 1e3,
                cpu_ours / c
            );
        }
        println!();
    }
    println!(
        "  [{label}] server RSS at the end: {:.1} MB",
        rss(pid) as f64 / 1e6
    );
}
