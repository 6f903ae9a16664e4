//! What the HTTP benches share: the VictoriaMetrics peer they are measured
//! against in the same run, starting a release `nanotdb`, and the figures.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub use nanotdb_testkit::{free_addr, wait_listening};

use super::client;

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `gen-workload <w> --hours <h>` output, generated once into
/// `target/bench-data`.
pub fn workload(w: nanotdb_workload::Workload, hours: i64) -> PathBuf {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target"))
        .join("bench-data");
    nanotdb_workload::cached_file(&dir, w, hours).expect("generate the workload")
}

/// A release `nanotdb` on loopback, on a root with `engine_toml`.
pub struct Nanotdb {
    /// The process.
    pub child: std::process::Child,
    /// Where it listens.
    pub addr: SocketAddr,
    _root: tempfile::TempDir,
}

impl Nanotdb {
    /// Starts the server built by this bench run (`CARGO_BIN_EXE_nanotdb`).
    pub fn start(bin: &str, engine_toml: &str) -> Nanotdb {
        let root = tempfile::tempdir().expect("tempdir");
        std::fs::write(root.path().join("engine.toml"), engine_toml).expect("write engine.toml");
        let (child, addr) = spawn_on(bin, root.path());
        Nanotdb {
            child,
            addr,
            _root: root,
        }
    }
}

/// Starts `bin` (a release `nanotdb`) on the existing root `root` on a free
/// loopback port, once it listens.
pub fn spawn_on(bin: &str, root: &Path) -> (std::process::Child, SocketAddr) {
    let addr = free_addr();
    let child = Command::new(bin)
        .arg("--config")
        .arg(root.join("engine.toml"))
        .arg("--listen")
        .arg(addr.to_string())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn nanotdb");
    wait_listening(addr, "nanotdb");
    (child, addr)
}

impl Drop for Nanotdb {
    fn drop(&mut self) {
        // SIGTERM: a graceful stop, as an operator would.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// A VictoriaMetrics process on loopback with an empty data directory.
pub struct Victoria {
    /// The process.
    pub child: std::process::Child,
    /// Where it listens.
    pub addr: SocketAddr,
    _data: tempfile::TempDir,
}

impl Victoria {
    /// Starts it, or says why not and returns `None` when not installed.
    pub fn start() -> Option<Victoria> {
        let bin = std::env::var_os("VICTORIA_METRICS_BIN")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/usr/bin/victoria-metrics"));
        if !bin.is_file() {
            println!(
                "victoria-metrics: {} not found, comparison skipped (apt-get install victoria-metrics)",
                bin.display()
            );
            return None;
        }
        let data = tempfile::tempdir().expect("tempdir");
        let addr = free_addr();
        let child = Command::new(&bin)
            .arg(format!("-storageDataPath={}", data.path().display()))
            .arg(format!("-httpListenAddr={addr}"))
            // The workload is dated 2026-01-01: the default 1-month
            // retention would drop it.
            .arg("-retentionPeriod=100y")
            .arg("-loggerLevel=ERROR")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn victoria-metrics");
        wait_listening(addr, "victoria-metrics");
        Some(Victoria {
            child,
            addr,
            _data: data,
        })
    }

    /// Posts every body to `/write` on one keep-alive connection.
    pub fn ingest(&self, bodies: &[Vec<u8>]) -> Duration {
        let mut c = client::Conn::open(self.addr).expect("connect");
        let t0 = Instant::now();
        for b in bodies {
            let r = c.send("POST", "/write", &[], b).expect("post /write");
            assert_eq!(r.status, 204, "{}", r.text());
        }
        t0.elapsed()
    }

    /// Its own count of accepted Influx rows, to show nothing was dropped.
    pub fn rows_inserted(&self) -> u64 {
        self.rows_inserted_of("influx")
    }

    /// Its own count of accepted rows of one protocol (`influx`,
    /// `promremotewrite`).
    pub fn rows_inserted_of(&self, kind: &str) -> u64 {
        let metrics = client::request(self.addr, "GET", "/metrics", &[], b"").text();
        let prefix = format!("vm_rows_inserted_total{{type=\"{kind}\"}}");
        metrics
            .lines()
            .filter(|l| l.starts_with(&prefix))
            .filter_map(|l| l.split_whitespace().last()?.parse::<u64>().ok())
            .sum()
    }
}

impl Drop for Victoria {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Samples/s over all rounds together (`rates` per round, same samples in
/// each): the harmonic mean, i.e. total samples / total time.
pub fn overall(rates: &[f64]) -> f64 {
    rates.len() as f64 / rates.iter().map(|r| 1.0 / r).sum::<f64>()
}

/// Peak RSS of process `pid` in bytes.
pub fn peak_rss(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0)
        * 1024
}
