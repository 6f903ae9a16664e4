//! Ingest through the agents' write protocols, against VictoriaMetrics in
//! the same run: the `gen-workload fleet --hours 1` samples (1,000 series,
//! names mapped to labels: `fleet/host007.cpu.user 21.9 ts` is
//! `cpu_user{host="host007"}`) as
//! - Prometheus remote-write requests of 2,000 samples, and
//! - Influx line-protocol bodies of 2,000 lines (`cpu,host=host007 user=21.9 ts`),
//!
//! each posted over 4 keep-alive connections to both servers (sharded by
//! series, as Prometheus shards its remote-write queue, so each series'
//! samples arrive in order), in rounds
//! alternating between them (each round into new series: a new database
//! here, an `extra_label` there). Reports samples/s and the ratio.
//! Run with `cargo bench -p nanotdb-server --bench write_protocols`
//! (see BENCHMARKS.md).

#[path = "../tests/common/client.rs"]
mod client;
mod peer;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use nanotdb_protocols::SeriesKey;
use nanotdb_protocols::remote_write::{self, TimeSeries, WriteRequest};
use peer::{Nanotdb, Victoria, overall, peak_rss};

const SAMPLES_PER_REQUEST: usize = 2_000;
const CONNECTIONS: usize = 4;
const ROUNDS: usize = 5;

/// `fleet/host007.cpu.user 21.9 ts` → (host, measurement, field, value, ts).
fn split(line: &str) -> Option<(&str, &str, &str, &str, &str)> {
    let mut f = line.split_whitespace();
    let (name, v, ts) = (f.next()?, f.next()?, f.next()?);
    let metric = name.split_once('/')?.1;
    let (host, rest) = metric.split_once('.')?;
    let (measurement, field) = rest.split_once('.')?;
    Some((host, measurement, field, v, ts))
}

/// The lines of shard `c` of [`CONNECTIONS`] (by host).
fn shard(text: &str, c: usize) -> Vec<&str> {
    text.lines()
        .filter(|l| {
            split(l).is_some_and(|(host, ..)| {
                host.bytes().fold(0usize, |h, b| h * 31 + usize::from(b)) % CONNECTIONS == c
            })
        })
        .collect()
}

fn remote_write_bodies(lines: &[&str]) -> Vec<Vec<u8>> {
    lines
        .chunks(SAMPLES_PER_REQUEST)
        .map(|chunk| {
            let timeseries = chunk
                .iter()
                .filter_map(|l| {
                    let (host, m, f, v, ts) = split(l)?;
                    let name = format!("{m}_{}", f.replace('.', "_"));
                    let key = SeriesKey::new(name, [("host", host)]).ok()?;
                    let ms = ts.parse::<i64>().ok()? / 1_000_000;
                    Some(TimeSeries::from_series(
                        &key,
                        None,
                        &[(ms, v.parse().ok()?)],
                    ))
                })
                .collect();
            remote_write::encode(&WriteRequest { timeseries }).expect("encode")
        })
        .collect()
}

fn influx_bodies(lines: &[&str]) -> Vec<Vec<u8>> {
    lines
        .chunks(SAMPLES_PER_REQUEST)
        .map(|chunk| {
            let mut b = Vec::with_capacity(chunk.len() * 50);
            for l in chunk {
                if let Some((host, m, f, v, ts)) = split(l) {
                    let field = f.replace('.', "_");
                    b.extend_from_slice(format!("{m},host={host} {field}={v} {ts}\n").as_bytes());
                }
            }
            b
        })
        .collect()
}

/// Posts shard `c`'s bodies to `path` on connection `c`, all at once;
/// every answer must be 204. Returns the wall time.
fn post_all(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
    shards: &[Vec<Vec<u8>>],
) -> Duration {
    let t0 = Instant::now();
    std::thread::scope(|s| {
        for bodies in shards {
            s.spawn(move || {
                let mut conn = client::Conn::open(addr).expect("connect");
                for b in bodies {
                    let r = conn.send("POST", path, headers, b).expect("post");
                    assert_eq!(r.status, 204, "{path}: {}", r.text());
                }
            });
        }
    });
    t0.elapsed()
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let text = std::fs::read_to_string(peer::workload(nanotdb_workload::Workload::Fleet, 1))
        .expect("read workload");
    let shards: Vec<Vec<&str>> = (0..CONNECTIONS).map(|c| shard(&text, c)).collect();
    let samples = shards.iter().map(Vec::len).sum::<usize>() as f64;
    let rw: Vec<Vec<Vec<u8>>> = shards.iter().map(|s| remote_write_bodies(s)).collect();
    let lp: Vec<Vec<Vec<u8>>> = shards.iter().map(|s| influx_bodies(s)).collect();
    let ours = Nanotdb::start(env!("CARGO_BIN_EXE_nanotdb"), "[stats]\nenabled = false\n");
    let Some(vm) = Victoria::start() else {
        println!("no VictoriaMetrics: nothing to compare with");
        return;
    };
    let rw_headers = [
        ("Content-Encoding", "snappy"),
        ("Content-Type", "application/x-protobuf"),
        ("X-Prometheus-Remote-Write-Version", "0.1.0"),
    ];
    for (what, bodies, our_path, vm_path) in [
        (
            "remote write",
            &rw,
            "/api/v1/write?db=rw",
            "/api/v1/write?extra_label=round=",
        ),
        (
            "influx /write",
            &lp,
            "/write?db=lp",
            "/write?extra_label=round=",
        ),
    ] {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for round in 0..ROUNDS {
            let ours_path = format!("{our_path}{round}");
            a.push(samples / post_all(ours.addr, &ours_path, &rw_headers, bodies).as_secs_f64());
            let theirs_path = format!("{vm_path}r{round}");
            b.push(samples / post_all(vm.addr, &theirs_path, &rw_headers, bodies).as_secs_f64());
        }
        let fmt = |v: &[f64]| {
            v.iter()
                .map(|r| format!("{:.2}", r / 1e6))
                .collect::<Vec<_>>()
                .join(" ")
        };
        let (oa, ob) = (overall(&a), overall(&b));
        println!(
            "{what}: nanotdb {:.2} M samples/s (rounds {}), victoria-metrics {:.2} M samples/s (rounds {}): {:.2}x",
            oa / 1e6,
            fmt(&a),
            ob / 1e6,
            fmt(&b),
            oa / ob
        );
    }
    println!(
        "victoria-metrics rows: {} remote write, {} influx; peak RSS nanotdb {:.1} MB, victoria-metrics {:.1} MB",
        vm.rows_inserted_of("promremotewrite"),
        vm.rows_inserted_of("influx"),
        peak_rss(ours.child.id()) as f64 / 1e6,
        peak_rss(vm.child.id()) as f64 / 1e6
    );
}
