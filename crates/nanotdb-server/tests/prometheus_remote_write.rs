//! End to end with the real programs: Prometheus (Debian's `prometheus`)
//! scrapes `prometheus-node-exporter` every second and remote-writes to this
//! server; once Prometheus has stopped, every sample in its own storage
//! (`promtool tsdb dump`) must be in ours, with the exact value, once.
//!
//! The programs are started on loopback ports by the test. Without them the
//! test fails (`.ci/run` installs them): it never passes by skipping.

mod common;

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::TestServer;
use nanotdb::Value;
use nanotdb_testkit::{free_addr, wait_listening};

/// Kills a child when dropped (a failing assertion must not leave it behind).
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(program: &str, args: &[String]) -> Reaped {
    let child = Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot start {program} ({e}): install Debian's prometheus and prometheus-node-exporter")
        });
    Reaped(child)
}

/// One dumped sample: labels, value, timestamp in ms.
type DumpSample = (Vec<(String, String)>, f64, i64);

/// Parses one `promtool tsdb dump` line: `{labels} value timestamp_ms`.
fn parse_dump_line(line: &str) -> Option<DumpSample> {
    let close = line.rfind('}')?;
    let labels_text = line.get(1..close)?;
    let mut rest = line[close + 1..].split_whitespace();
    let value: f64 = rest.next()?.parse().ok()?;
    let ts: i64 = rest.next()?.parse().ok()?;
    let mut labels = Vec::new();
    let mut s = labels_text;
    while !s.is_empty() {
        let (name, after) = s.split_once("=\"")?;
        // Values are Go-quoted: walk to the closing quote, undoing escapes.
        let mut value = String::new();
        let mut chars = after.char_indices();
        let mut end = None;
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    c => value.push(c),
                },
                '"' => {
                    end = Some(i);
                    break;
                }
                c => value.push(c),
            }
        }
        labels.push((name.trim().to_string(), value));
        s = after[end? + 1..].trim_start_matches([',', ' ']);
    }
    Some((labels, value, ts))
}

/// A gauge of Prometheus' own `/metrics` (the first series of that name).
fn prom_gauge(addr: std::net::SocketAddr, name: &str) -> Option<f64> {
    let text = common::request(addr, "GET", "/metrics", &[], b"").text();
    text.lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with([' ', '{']))
        .and_then(|l| l.split_whitespace().last()?.parse().ok())
}

/// Waits until Prometheus' remote write has sent up to the newest sample
/// it stored, twice in a row a second apart (so the job's removal has
/// been applied and its stale markers sent too).
fn wait_all_sent(addr: std::net::SocketAddr) {
    let t0 = Instant::now();
    let mut settled = 0;
    let mut last = None;
    while settled < 2 {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "prometheus did not send everything it stored"
        );
        std::thread::sleep(Duration::from_secs(1));
        let stored = prom_gauge(
            addr,
            "prometheus_remote_storage_highest_timestamp_in_seconds",
        );
        let sent = prom_gauge(
            addr,
            "prometheus_remote_storage_queue_highest_sent_timestamp_seconds",
        );
        let now = (stored, sent);
        if stored.is_some() && stored == sent && last == Some(now) {
            settled += 1;
        } else {
            settled = 0;
        }
        last = Some(now);
    }
}

#[test]
fn prometheus_remote_writes_node_exporter_scrapes_exactly_once() {
    let server = TestServer::start();
    let work = tempfile::tempdir().unwrap();
    let exporter_addr = free_addr();
    let prom_addr = free_addr();
    let _exporter = spawn(
        "prometheus-node-exporter",
        &[
            format!("--web.listen-address={exporter_addr}"),
            "--collector.disable-defaults".into(),
            "--collector.cpu".into(),
            "--collector.meminfo".into(),
            "--collector.loadavg".into(),
            "--collector.filesystem".into(),
        ],
    );
    wait_listening(exporter_addr, "prometheus-node-exporter");
    let config = work.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             scrape_configs:\n  - job_name: node\n    static_configs:\n      - targets: ['{exporter_addr}']\n\
             remote_write:\n  - url: http://{}/api/v1/write\n    queue_config:\n      batch_send_deadline: 1s\n      max_samples_per_send: 500\n",
            server.addr
        ),
    )
    .unwrap();
    let tsdb = work.path().join("tsdb");
    let mut prom = spawn(
        "prometheus",
        &[
            format!("--config.file={}", config.display()),
            format!("--storage.tsdb.path={}", tsdb.display()),
            format!("--web.listen-address={prom_addr}"),
        ],
    );
    wait_listening(prom_addr, "prometheus");
    // Several scrapes. Then the scrape job is removed (a config reload), so
    // nothing new is scraped — Prometheus writes the series' stale markers,
    // which are samples too — and the test waits until Prometheus says it
    // sent everything it stored: a sample scraped just before a shutdown is
    // otherwise never sent (its remote write reads its own WAL lazily).
    std::thread::sleep(Duration::from_secs(8));
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n\
             remote_write:\n  - url: http://{}/api/v1/write\n    queue_config:\n      batch_send_deadline: 1s\n",
            server.addr
        ),
    )
    .unwrap();
    let pid = prom.0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-HUP", &pid])
            .status()
            .unwrap()
            .success()
    );
    wait_all_sent(prom_addr);
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let t0 = Instant::now();
    while prom.0.try_wait().unwrap().is_none() {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "prometheus did not stop"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let dump = Command::new("promtool")
        .args(["tsdb", "dump"])
        .arg(&tsdb)
        .output()
        .expect("promtool");
    assert!(
        dump.status.success(),
        "{}",
        String::from_utf8_lossy(&dump.stderr)
    );
    let text = String::from_utf8(dump.stdout).unwrap();

    // Ours, by canonical name: (ts ns, value) → count.
    let mut ours: HashMap<String, HashMap<(i64, u64), u32>> = HashMap::new();
    for m in server.engine.metrics("metrics").unwrap() {
        let e = ours.entry(m.name.clone()).or_default();
        server
            .engine
            .query_range("metrics", &m.name, i64::MIN, i64::MAX, 1, |s| {
                let bits = match s.value {
                    Value::F64(v) => v.to_bits(),
                    other => panic!("{}: {other:?} is not float64", m.name),
                };
                *e.entry((s.ts, bits)).or_insert(0) += 1;
                ControlFlow::Continue(())
            })
            .unwrap();
    }
    // Prometheus' remote write tails its own WAL from where it was when the
    // queue started: a scrape before that is never sent. So samples older
    // than the oldest one we received are not expected — at most one
    // scrape's worth, all at one timestamp.
    let first_ns = ours
        .values()
        .flat_map(|m| m.keys().map(|k| k.0))
        .min()
        .expect("nothing received");
    let mut unsent = std::collections::HashSet::new();
    let mut checked = 0;
    let mut series = std::collections::HashSet::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        let (labels, value, ts_ms) =
            parse_dump_line(line).unwrap_or_else(|| panic!("dump line {line:?}"));
        if ts_ms * 1_000_000 < first_ns {
            unsent.insert(ts_ms);
            continue;
        }
        let key = nanotdb_protocols::SeriesKey::from_prometheus_labels(
            labels.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        )
        .unwrap();
        // Stale markers end a series in Prometheus' storage; they are samples too.
        let name = key.canonical();
        // promtool prints every NaN (stale markers included) as "NaN".
        let got = ours.get(&name).map(|m| {
            m.iter()
                .filter(|((ts, bits), _)| {
                    *ts == ts_ms * 1_000_000
                        && (*bits == value.to_bits()
                            || (value.is_nan() && f64::from_bits(*bits).is_nan()))
                })
                .map(|(_, n)| *n)
                .sum::<u32>()
        });
        if got != Some(1) {
            let mut have: Vec<_> = ours
                .get(&name)
                .map(|m| {
                    m.keys()
                        .map(|(t, b)| (*t / 1_000_000, f64::from_bits(*b)))
                        .collect()
                })
                .unwrap_or_default();
            have.sort_by_key(|h| h.0);
            let theirs: Vec<&str> = text
                .lines()
                .filter(|l| l.starts_with(&line[..line.rfind('}').unwrap_or(0)]))
                .collect();
            panic!(
                "{line}: stored {got:?} times as {name}; ours: {have:?}; prometheus: {theirs:#?}; rejected requests: {}",
                server
                    .get("/metrics")
                    .text()
                    .lines()
                    .filter(|l| l.contains("rejected"))
                    .collect::<Vec<_>>()
                    .join(" | ")
            );
        }
        series.insert(name);
        checked += 1;
    }
    assert!(unsent.len() <= 1, "scrapes never sent: {unsent:?}");
    assert!(
        checked > 200,
        "only {checked} samples in Prometheus' storage"
    );
    assert!(series.len() > 20, "only {} series", series.len());
}
