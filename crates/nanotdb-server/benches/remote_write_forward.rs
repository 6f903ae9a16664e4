//! Forwarding by remote write (`[[remote_write]]`): catching up a 24 h
//! backlog of the `edge` workload (86 series every 10 s, 743,040 samples)
//! into VictoriaMetrics on loopback, from a release `nanotdb` started on a
//! root that already holds it. Reports the time until the target has
//! nothing pending, and the server's peak RSS against the same server on
//! the same root without a target. Then steady forwarding: 1,000 series
//! written every second (in 10 posts of 100 lines) for 20 s, the server's
//! CPU time with and without a target. Run with
//! `cargo bench -p nanotdb-server --bench remote_write_forward`
//! (see BENCHMARKS.md).

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

/// utime + stime of a process, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let (u, s) = cpu_split(pid);
    u + s
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

/// Steady ingest of 1,000 series at 1 s for `secs`; the server's CPU
/// seconds over it.
fn steady(root: &Path, target: Option<std::net::SocketAddr>, secs: u64) -> (f64, u64) {
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
    let ticks0 = cpu_ticks(child.id());
    let t0 = Instant::now();
    let mut i = 0u64;
    while t0.elapsed() < Duration::from_secs(secs) {
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
        let r = conn
            .send("POST", "/api/v1/import", &[], body.as_bytes())
            .expect("post");
        assert!(r.status < 300, "{}", r.text());
        i += 1;
        let next = t0 + Duration::from_millis(100 * i);
        if let Some(d) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(d);
        }
    }
    let cpu = (cpu_ticks(child.id()) - ticks0) as f64 / 100.0;
    let (u, sy) = cpu_split(child.id());
    println!("  (whole run so far: user {u} ticks, system {sy} ticks)");
    let sent = target.map_or(0, |_| {
        std::thread::sleep(Duration::from_secs(4));
        status(addr)["targets"][0]["samples_sent"]
            .as_u64()
            .unwrap_or(0)
    });
    stop(child);
    (cpu, sent)
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
    for round in 1..=2 {
        let off = steady(&tmp.path().join(format!("off{round}")), None, 20);
        let on = steady(&tmp.path().join(format!("on{round}")), Some(vm.addr), 20);
        println!(
            "steady round {round}: server CPU {:.2} s without a target, {:.2} s with one ({} samples forwarded): +{:.1} %",
            off.0,
            on.0,
            on.1,
            (on.0 / off.0 - 1.0) * 100.0
        );
    }
}
