//! Forwarding by remote write (`[[remote_write]]`): catching up a 24 h
//! backlog of the `edge` workload (86 series every 10 s, 743,040 samples)
//! into VictoriaMetrics on loopback, from a release `nanotdb` started on a
//! root that already holds it. Reports the time until the target has
//! nothing pending, and the server's peak RSS against the same server on
//! the same root without a target. Then steady forwarding, the server's CPU
//! time with and without a target (alternating rounds): 1,000 series
//! written every second (in 10 posts of 100 lines) for `STEADY_FLEET_SECS`
//! (30 s), and the `edge` workload live for `STEADY_EDGE_SECS` (60 s). Run
//! with `cargo bench -p nanotdb-server --bench remote_write_forward` (see
//! BENCHMARKS.md; `benches/forward_profile/run.sh` measures with `perf`).

#[path = "../tests/common/client.rs"]
mod client;
mod peer;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use peer::{Victoria, free_addr, peak_rss, wait_listening};

fn spawn(root: &Path) -> (Child, std::net::SocketAddr) {
    let addr = free_addr();
    let child = Command::new(env!("CARGO_BIN_EXE_nanotdb"))
        .arg("--config")
        .arg(root.join("engine.toml"))
        .arg("--listen")
        .arg(addr.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn nanotdb");
    (child, addr)
}

fn stop(mut child: Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

fn status(addr: std::net::SocketAddr) -> serde_json::Value {
    client::request(addr, "GET", "/api/v1/remote_write/status", &[], b"").json()
}

/// (utime, stime) of a process, in clock ticks.
fn cpu_split(pid: u32) -> (u64, u64) {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the
    // 14th and 15th fields of the whole line.
    let rest = s.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let get = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    (get(11), get(12))
}

/// A steady live ingest: what to post at each tick.
trait Feed {
    /// Time between two posts.
    fn period(&self) -> Duration;
    /// The body of post `i` (sent at `i` periods after the start).
    fn body(&mut self, i: u64) -> String;
}

/// 1,000 series written every second, in 10 posts of 100 lines.
struct Fleet;

impl Feed for Fleet {
    fn period(&self) -> Duration {
        Duration::from_millis(100)
    }
    fn body(&mut self, i: u64) -> String {
        let ts = nanotdb::time::now_ns();
        let mut body = String::with_capacity(100 * 40);
        for k in 0..100 {
            let series = (i % 10) * 100 + k;
            body.push_str(&format!(
                "fleet/host{:03}.cpu.m{} {}.5 {ts}\n",
                series / 10,
                series % 10,
                i % 100
            ));
        }
        body
    }
}

/// The `edge` workload (86 series every 10 s) generated from now on and
/// posted as its timestamps come due, once a second.
struct Edge {
    lines: std::vec::IntoIter<(i64, String)>,
    next: Option<(i64, String)>,
}

impl Edge {
    fn new(secs: u64) -> Edge {
        let mut opts = nanotdb_workload::Options::new(nanotdb_workload::Workload::Edge);
        opts.start_ns = nanotdb::time::now_ns();
        opts.hours = i64::try_from(secs / 3600 + 1).unwrap_or(1);
        let text = String::from_utf8(nanotdb_workload::generate_to_vec(&opts)).expect("utf-8");
        let lines: Vec<(i64, String)> = text
            .lines()
            .filter_map(|l| {
                let ts = l.rsplit_once(' ')?.1.parse().ok()?;
                Some((ts, format!("{l}\n")))
            })
            .collect();
        let mut lines = lines.into_iter();
        let next = lines.next();
        Edge { lines, next }
    }
}

impl Feed for Edge {
    fn period(&self) -> Duration {
        Duration::from_secs(1)
    }
    fn body(&mut self, _: u64) -> String {
        let now = nanotdb::time::now_ns();
        let mut body = String::new();
        while let Some((ts, line)) = self.next.take() {
            if ts > now {
                self.next = Some((ts, line));
                break;
            }
            body.push_str(&line);
            self.next = self.lines.next();
        }
        body
    }
}

/// What one steady run measured.
struct Steady {
    /// Server CPU (utime + stime) over the run, in clock ticks.
    ticks: u64,
    /// Of which system time.
    sys_ticks: u64,
    /// Samples the target acknowledged (0 without a target).
    sent: u64,
}

/// Steady ingest from `feed` for `secs`; the server's CPU time over it.
fn steady(
    root: &Path,
    target: Option<std::net::SocketAddr>,
    secs: u64,
    feed: &mut dyn Feed,
) -> Steady {
    let mut toml =
        "[stats]\nenabled = false\n[manifest_defaults.page]\nmax_age = \"2s\"\n".to_string();
    if let Some(vm) = target {
        toml.push_str(&format!(
            "[[remote_write]]\nname = \"steady\"\nurl = \"http://{vm}/api/v1/write\"\nbatch_deadline = \"1s\"\n"
        ));
    }
    std::fs::create_dir_all(root).expect("mkdir");
    std::fs::write(root.join("engine.toml"), toml).expect("engine.toml");
    let (child, addr) = spawn(root);
    wait_listening(addr, "nanotdb");
    let mut conn = client::Conn::open(addr).expect("connect");
    let (u0, s0) = cpu_split(child.id());
    let t0 = Instant::now();
    let mut i = 0u64;
    while t0.elapsed() < Duration::from_secs(secs) {
        let body = feed.body(i);
        if !body.is_empty() {
            // The server closes a keep-alive connection idle for long (the
            // edge feed posts every 10 s): open a new one then.
            let r = match conn.send("POST", "/api/v1/import", &[], body.as_bytes()) {
                Ok(r) => r,
                Err(_) => {
                    conn = client::Conn::open(addr).expect("connect");
                    conn.send("POST", "/api/v1/import", &[], body.as_bytes())
                        .expect("post")
                }
            };
            assert!(r.status < 300, "{}", r.text());
        }
        i += 1;
        let next = t0 + feed.period() * u32::try_from(i).unwrap_or(u32::MAX);
        if let Some(d) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(d);
        }
    }
    let (u1, s1) = cpu_split(child.id());
    let sent = target.map_or(0, |_| {
        std::thread::sleep(Duration::from_secs(4));
        status(addr)["targets"][0]["samples_sent"]
            .as_u64()
            .unwrap_or(0)
    });
    stop(child);
    Steady {
        ticks: (u1 + s1) - (u0 + s0),
        sys_ticks: s1 - s0,
        sent,
    }
}

/// Runs a steady case with and without a target, alternating, `rounds`
/// times; prints each pair and the ratio of the sums.
fn steady_case(
    name: &str,
    tmp: &Path,
    vm: std::net::SocketAddr,
    secs: u64,
    rounds: u32,
    feed: &dyn Fn() -> Box<dyn Feed>,
) {
    let (mut off_sum, mut on_sum) = (0u64, 0u64);
    for round in 1..=rounds {
        let off = steady(
            &tmp.join(format!("{name}-off{round}")),
            None,
            secs,
            &mut *feed(),
        );
        let on = steady(
            &tmp.join(format!("{name}-on{round}")),
            Some(vm),
            secs,
            &mut *feed(),
        );
        off_sum += off.ticks;
        on_sum += on.ticks;
        println!(
            "steady {name} round {round} ({secs} s): server CPU {:.2} s (system {:.2}) without a target, {:.2} s (system {:.2}) with one ({} samples forwarded)",
            off.ticks as f64 / 100.0,
            off.sys_ticks as f64 / 100.0,
            on.ticks as f64 / 100.0,
            on.sys_ticks as f64 / 100.0,
            on.sent
        );
    }
    println!(
        "steady {name}, {rounds} rounds: {:.2} s without, {:.2} s with a target: {:+.1} %",
        off_sum as f64 / 100.0,
        on_sum as f64 / 100.0,
        (on_sum as f64 / off_sum.max(1) as f64 - 1.0) * 100.0
    );
}

fn main() {
    let Some(vm) = Victoria::start() else {
        return;
    };
    let lines = peer::workload(nanotdb_workload::Workload::Edge, 24);
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("root");
    std::fs::create_dir_all(&root).expect("mkdir");
    let base = "[stats]\nenabled = false\n";
    std::fs::write(root.join("engine.toml"), base).expect("engine.toml");
    let n = {
        let e = nanotdb::Engine::open(&root).expect("open");
        let r = e
            .import_file(&lines, &nanotdb::ImportOptions::default(), &mut ())
            .expect("import");
        e.close().expect("close");
        r.imported
    };
    println!("backlog: {n} samples of edge, 24 h");

    // The same server on the same root without a target: the RSS baseline.
    let (child, addr) = spawn(&root);
    wait_listening(addr, "nanotdb");
    std::thread::sleep(Duration::from_secs(2));
    let rss_idle = peak_rss(child.id());
    stop(child);

    for round in 1..=3 {
        let name = format!("vm{round}");
        std::fs::write(
            root.join("engine.toml"),
            format!(
                "{base}[[remote_write]]\nname = \"{name}\"\nurl = \"http://{}/api/v1/write\"\n",
                vm.addr
            ),
        )
        .expect("engine.toml");
        let t0 = Instant::now();
        let (child, addr) = spawn(&root);
        wait_listening(addr, "nanotdb");
        let sent = loop {
            let s = status(addr);
            let t = &s["targets"][0];
            let sent = t["samples_sent"].as_u64().unwrap_or(0);
            if sent >= n && t["pending_bytes"] == 0 {
                break sent;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(300),
                "not caught up: {s}"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        let took = t0.elapsed();
        let rss = peak_rss(child.id());
        stop(child);
        println!(
            "round {round}: {sent} samples caught up in {:.2} s ({:.0} k samples/s); peak RSS {:.1} MB, idle {:.1} MB, extra {:.1} MB",
            took.as_secs_f64(),
            sent as f64 / took.as_secs_f64() / 1e3,
            rss as f64 / 1e6,
            rss_idle as f64 / 1e6,
            (rss.saturating_sub(rss_idle)) as f64 / 1e6
        );
    }
    let secs = |var: &str, default: u64| {
        std::env::var(var)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let fleet_secs = secs("STEADY_FLEET_SECS", 30);
    let edge_secs = secs("STEADY_EDGE_SECS", 60);
    steady_case("fleet", tmp.path(), vm.addr, fleet_secs, 2, &|| {
        Box::new(Fleet)
    });
    steady_case("edge", tmp.path(), vm.addr, edge_secs, 2, &|| {
        Box::new(Edge::new(edge_secs))
    });
}
