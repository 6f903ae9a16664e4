//! Memory of a server holding many labelled series: 100,000 node_exporter-like
//! series (10 labels, ~200-byte canonical names) remote-written to a release
//! `nanotdb` in requests of 2,000 series with one sample each (as a
//! Prometheus shard sends them) over 4 connections, one scrape (all series)
//! per round every 15 s of sample time. A database holds at most 65,535
//! series, so the `db` label spreads them over 4 databases (sites) of
//! 25,000. Reports the server's RSS after each round and its peak, then
//! after a label query and an export, against the 128 MB budget
//! (`SERIES_MEMORY_ROUNDS` sets the number of rounds, 6 by default).
//! Run with `cargo bench -p nanotdb-server --bench series_memory`
//! (see BENCHMARKS.md).

#[path = "../tests/common/client.rs"]
mod client;
mod peer;

use std::time::Instant;

use nanotdb_protocols::SeriesKey;
use nanotdb_protocols::remote_write::{self, TimeSeries, WriteRequest};
use peer::{Nanotdb, peak_rss};

const SERIES: usize = 100_000;
const SITES: usize = 4;
const PER_REQUEST: usize = 2_000;
const CONNECTIONS: usize = 4;
/// Scrape rounds (`SERIES_MEMORY_ROUNDS` overrides).
const ROUNDS: usize = 6;
const BUDGET: u64 = 128 << 20;

const METRICS: [&str; 10] = [
    "node_network_receive_bytes_total",
    "node_network_transmit_bytes_total",
    "node_network_receive_packets_total",
    "node_network_transmit_packets_total",
    "node_network_receive_errs_total",
    "node_disk_read_bytes_total",
    "node_disk_written_bytes_total",
    "node_filesystem_avail_bytes",
    "node_cpu_seconds_total",
    "node_softnet_processed_total",
];

/// Series `i`: its labels (with `db`) and its database.
fn series(i: usize) -> (Vec<(String, String)>, String) {
    let host = i / 50;
    let site = host % SITES;
    let metric = METRICS[i % METRICS.len()];
    let device = (i / METRICS.len()) % 5;
    let labels = vec![
        ("__name__".to_string(), metric.to_string()),
        ("device".into(), format!("enp{device}s0f1")),
        (
            "instance".into(),
            format!("edge-{host:05}.site{site}.example.internal:9100"),
        ),
        ("job".into(), "node".into()),
        ("region".into(), "eu-central-1".into()),
        ("rack".into(), format!("r{:03}", host % 97)),
        ("os".into(), "debian-12".into()),
        ("kernel".into(), "6.1.0-28-amd64".into()),
        ("team".into(), "platform-observability".into()),
        ("env".into(), "production".into()),
    ];
    (labels, format!("site{site}"))
}

/// The remote-write bodies of one round at `t_ms`, per connection.
fn round(t_ms: i64, round: usize) -> Vec<Vec<Vec<u8>>> {
    let mut per_conn: Vec<Vec<TimeSeries>> = vec![Vec::new(); CONNECTIONS];
    for i in 0..SERIES {
        let (labels, db) = series(i);
        let key =
            SeriesKey::from_prometheus_labels(labels.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                .expect("valid labels");
        let v = (i * 7 + round * 13) as f64 * 1024.5;
        per_conn[i % CONNECTIONS].push(TimeSeries::from_series(&key, Some(&db), &[(t_ms, v)]));
    }
    per_conn
        .into_iter()
        .map(|ts| {
            ts.chunks(PER_REQUEST)
                .map(|c| {
                    remote_write::encode(&WriteRequest {
                        timeseries: c.to_vec(),
                    })
                    .expect("encode")
                })
                .collect()
        })
        .collect()
}

fn rss(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0)
        * 1024
}

fn mb(b: u64) -> f64 {
    b as f64 / (1 << 20) as f64
}

fn main() {
    let (labels, _) = series(12_345);
    let key =
        SeriesKey::from_prometheus_labels(labels.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .expect("labels");
    println!(
        "{SERIES} series over {SITES} databases, e.g. {} ({} bytes)",
        key.canonical(),
        key.canonical().len()
    );
    // `SERIES_MEMORY_SERVER=ADDR,PID` drives a server started by hand (under
    // a heap profiler, say) instead of starting one.
    let external = std::env::var("SERIES_MEMORY_SERVER").ok().and_then(|v| {
        let (addr, pid) = v.split_once(',')?;
        Some((
            addr.parse::<std::net::SocketAddr>().ok()?,
            pid.parse::<u32>().ok()?,
        ))
    });
    let ours = match external {
        Some(_) => None,
        None => Some(Nanotdb::start(
            env!("CARGO_BIN_EXE_nanotdb"),
            "[stats]\nenabled = false\n",
        )),
    };
    let (addr, pid) = match (&ours, external) {
        (Some(n), _) => (n.addr, n.child.id()),
        (None, Some(e)) => e,
        (None, None) => unreachable!("one of the two is set"),
    };
    println!("idle: RSS {:.1} MB", mb(rss(pid)));
    // Current data: the default `skip_before` (1h) logs it to the WAL.
    let rounds: usize = std::env::var("SERIES_MEMORY_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(ROUNDS);
    let t0 = nanotdb::time::now_ns() / 1_000_000 - (rounds as i64) * 15_000;
    for r in 0..rounds {
        let bodies = round(t0 + r as i64 * 15_000, r);
        let started = Instant::now();
        std::thread::scope(|s| {
            for conn in &bodies {
                s.spawn(move || {
                    let mut c = client::Conn::open(addr).expect("connect");
                    for b in conn {
                        let resp = c
                            .send(
                                "POST",
                                "/api/v1/write",
                                &[("Content-Encoding", "snappy")],
                                b,
                            )
                            .expect("send");
                        assert_eq!(resp.status, 204, "{}", resp.text());
                    }
                });
            }
        });
        println!(
            "round {}: {SERIES} samples in {:.2} s, RSS {:.1} MB, peak {:.1} MB",
            r + 1,
            started.elapsed().as_secs_f64(),
            mb(rss(pid)),
            mb(peak_rss(pid))
        );
    }
    // Reads over the label index and the files.
    let q = "/api/v1/export?db=site1&match[]=%7B__name__%3D%22node_cpu_seconds_total%22,rack%3D~%22r0.*%22%7D";
    let started = Instant::now();
    let r = client::request(addr, "GET", q, &[], b"");
    assert_eq!(r.status, 200, "{}", r.text());
    println!(
        "export of {} series ({} bytes) in {:.2} s: RSS {:.1} MB, peak {:.1} MB",
        r.text().lines().count(),
        r.body.len(),
        started.elapsed().as_secs_f64(),
        mb(rss(pid)),
        mb(peak_rss(pid))
    );
    let peak = peak_rss(pid);
    println!(
        "peak RSS {:.1} MB: {} the {} MB budget",
        mb(peak),
        if peak < BUDGET { "under" } else { "OVER" },
        BUDGET >> 20
    );
}
