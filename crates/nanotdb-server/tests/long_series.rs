//! Label sets longer than v1.4.0's 255-byte names, up to 4 KiB, through
//! every write route of the real `nanotdb` binary: remote write, Influx and
//! Prometheus text. They come back exactly by query and export, after a
//! `kill -9` (WAL replay) and after a graceful stop (flushed to data files);
//! 4 KiB + 1 is refused naming the series.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nanotdb_protocols::SeriesKey;
use nanotdb_protocols::remote_write::{self, TimeSeries, WriteRequest};

const T0_MS: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z
const FS_VALUES: [(i64, &str); 2] = [(T0_MS, "15032385536"), (T0_MS + 15_000, "15032381440.5")];

/// A stock node_exporter filesystem label set (canonical form > 255 bytes).
fn fs_labels() -> Vec<(&'static str, String)> {
    vec![
        ("device", "/dev/mapper/ubuntu--vg-ubuntu--lv".into()),
        ("fstype", "ext4".into()),
        ("instance", "edge-gateway-01.plant-7.example.internal:9100".into()),
        ("job", "node".into()),
        (
            "mountpoint",
            "/var/lib/docker/overlay2/3f1c2a9e8b7d6c5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e/merged".into(),
        ),
    ]
}

/// `node_uname_info` with a label set padded so the canonical form is
/// `len` bytes.
fn uname_labels(len: usize) -> Vec<(&'static str, String)> {
    let fixed = "node_uname_info{machine=\"x86_64\",sysname=\"Linux\",version=\"\"}".len();
    vec![
        ("machine", "x86_64".into()),
        ("sysname", "Linux".into()),
        (
            "version",
            "#1-SMP-".repeat(len).chars().take(len - fixed).collect(),
        ),
    ]
}

fn canonical(name: &str, labels: &[(&str, String)]) -> String {
    SeriesKey::new(name, labels.iter().map(|(k, v)| (*k, v.as_str())))
        .unwrap()
        .canonical()
}

/// Prometheus text of the two series.
fn prom_text(uname_len: usize) -> String {
    let mut out = String::new();
    for (t, v) in FS_VALUES {
        out.push_str(&format!(
            "{} {v} {t}\n",
            canonical("node_filesystem_avail_bytes", &fs_labels())
        ));
    }
    let uname = canonical("node_uname_info", &uname_labels(uname_len));
    out.push_str(&format!("{uname} 1 {T0_MS}\n"));
    out
}

/// Influx line protocol of the same series (plus an int64 field).
fn influx_text(uname_len: usize) -> String {
    let tags =
        |l: &[(&str, String)]| -> String { l.iter().map(|(k, v)| format!(",{k}={v}")).collect() };
    let mut out = String::new();
    for (i, (t, v)) in FS_VALUES.iter().enumerate() {
        out.push_str(&format!(
            "node_filesystem{} avail_bytes={v},files={}i {t}\n",
            tags(&fs_labels()),
            123 + i
        ));
    }
    out.push_str(&format!(
        "node_uname{} info=1 {T0_MS}\n",
        tags(&uname_labels(uname_len))
    ));
    out
}

/// A remote-write request of the same series.
fn remote_write_body(uname_len: usize) -> Vec<u8> {
    let series = |name: &str, labels: &[(&str, String)], vals: &[(i64, f64)]| {
        let key = SeriesKey::new(name, labels.iter().map(|(k, v)| (*k, v.as_str()))).unwrap();
        TimeSeries::from_series(&key, None, vals)
    };
    let fs: Vec<(i64, f64)> = FS_VALUES
        .iter()
        .map(|(t, v)| (*t, v.parse().unwrap()))
        .collect();
    remote_write::encode(&WriteRequest {
        timeseries: vec![
            series("node_filesystem_avail_bytes", &fs_labels(), &fs),
            series("node_uname_info", &uname_labels(uname_len), &[(T0_MS, 1.0)]),
        ],
    })
    .unwrap()
}

/// One export line.
fn line(name: &str, labels: &[(&str, String)], vals: &[(i64, &str)]) -> String {
    let mut l: Vec<(&str, &str)> = labels.iter().map(|(k, v)| (*k, v.as_str())).collect();
    l.sort();
    let metric: String = std::iter::once(format!("\"__name__\":\"{name}\""))
        .chain(l.iter().map(|(k, v)| format!("\"{k}\":\"{v}\"")))
        .collect::<Vec<_>>()
        .join(",");
    let values: Vec<&str> = vals.iter().map(|(_, v)| *v).collect();
    let ts: Vec<String> = vals.iter().map(|(t, _)| t.to_string()).collect();
    format!(
        "{{\"metric\":{{{metric}}},\"values\":[{}],\"timestamps\":[{}]}}\n",
        values.join(","),
        ts.join(",")
    )
}

/// What `GET /api/v1/export?db=` must answer for each database.
fn expected() -> Vec<(&'static str, String)> {
    let fs = line("node_filesystem_avail_bytes", &fs_labels(), &FS_VALUES);
    let uname = line("node_uname_info", &uname_labels(4096), &[(T0_MS, "1")]);
    let files = line(
        "node_filesystem_files",
        &fs_labels(),
        &[(T0_MS, "123"), (T0_MS + 15_000, "124")],
    );
    vec![
        ("rw", format!("{fs}{uname}")),
        ("ix", format!("{fs}{files}{uname}")),
        ("pt", format!("{fs}{uname}")),
    ]
}

/// Percent-encodes a query parameter value.
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

struct Server {
    child: Child,
    addr: std::net::SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(cfg: &std::path::Path) -> Server {
    let addr = nanotdb_testkit::free_addr();
    let child = Command::new(env!("CARGO_BIN_EXE_nanotdb"))
        .arg("--config")
        .arg(cfg)
        .arg("--listen")
        .arg(addr.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    nanotdb_testkit::wait_listening(addr, "nanotdb");
    Server { child, addr }
}

fn check(s: &Server, when: &str) {
    for (db, want) in expected() {
        let r = common::request(s.addr, "GET", &format!("/api/v1/export?db={db}"), &[], b"");
        assert_eq!(r.status, 200, "{when} {db}: {}", r.text());
        assert_eq!(r.text(), want, "{when}: {db}");
    }
    // The newest value by query, under the 4 KiB name.
    let uname = canonical("node_uname_info", &uname_labels(4096));
    assert_eq!(uname.len(), 4096);
    let q = format!("/api/v1/query?db=pt&query={}", enc(&uname));
    let r = common::request(s.addr, "GET", &q, &[], b"");
    assert_eq!(r.status, 200, "{when}: {}", r.text());
    assert_eq!(r.json()["data"]["result"][0]["value"][1], "1", "{when}");
}

#[test]
fn long_label_sets_round_trip_through_every_route_a_crash_and_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("r");
    std::fs::create_dir_all(&root).unwrap();
    let cfg = root.join("engine.toml");
    // Every sample logged, however old (the default skips samples older than 1h).
    std::fs::write(
        &cfg,
        "[wal]\nfsync_policy = \"always\"\n[manifest_defaults.wal]\nenabled = true\nskip_before = \"0s\"\n",
    )
    .unwrap();
    assert!(canonical("node_filesystem_avail_bytes", &fs_labels()).len() > 255);
    let s = start(&cfg);
    let r = common::request(
        s.addr,
        "POST",
        "/api/v1/write?db=rw",
        &[("Content-Encoding", "snappy")],
        &remote_write_body(4096),
    );
    assert_eq!(r.status, 204, "{}", r.text());
    let r = common::request(
        s.addr,
        "POST",
        "/write?db=ix&precision=ms",
        &[],
        influx_text(4096).as_bytes(),
    );
    assert_eq!(r.status, 204, "{}", r.text());
    let r = common::request(
        s.addr,
        "POST",
        "/api/v1/import/prometheus?db=pt",
        &[],
        prom_text(4096).as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    check(&s, "as written");

    // kill -9: everything is in the WAL only.
    drop(s);
    for db in ["rw", "ix", "pt"] {
        let wal = root.join(db).join(format!("{db}.wal"));
        assert!(std::fs::metadata(&wal).unwrap().len() > 4096, "{db}");
    }
    let s = start(&cfg);
    check(&s, "after kill -9 and WAL replay");

    // A graceful stop flushes to the data files and empties the WALs.
    // SAFETY: kill(2) with a pid we own and a valid signal number.
    unsafe {
        libc::kill(s.child.id() as libc::pid_t, libc::SIGTERM);
    }
    let t0 = Instant::now();
    let mut s = s;
    while s.child.try_wait().unwrap().is_none() {
        assert!(
            t0.elapsed() < Duration::from_secs(15),
            "no exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    for db in ["rw", "ix", "pt"] {
        let wal = root.join(db).join(format!("{db}.wal"));
        assert_eq!(std::fs::metadata(&wal).unwrap().len(), 0, "{db}");
    }
    drop(s);
    let s = start(&cfg);
    check(&s, "after a flush and a restart");
}

#[test]
fn a_series_of_4_kib_plus_1_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("r");
    std::fs::create_dir_all(&root).unwrap();
    let cfg = root.join("engine.toml");
    std::fs::write(&cfg, "[stats]\nenabled = false\n").unwrap();
    let s = start(&cfg);
    let r = common::request(
        s.addr,
        "POST",
        "/api/v1/write?db=rw",
        &[("Content-Encoding", "snappy")],
        &remote_write_body(4097),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(
        r.text().contains("node_uname_info") && r.text().contains("4097 bytes"),
        "{}",
        r.text()
    );
    let r = common::request(
        s.addr,
        "POST",
        "/write?db=ix&precision=ms",
        &[],
        influx_text(4097).as_bytes(),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(
        r.text().contains("line 3") && r.text().contains("4097 bytes"),
        "{}",
        r.text()
    );
    let r = common::request(
        s.addr,
        "POST",
        "/api/v1/import/prometheus?db=pt",
        &[],
        prom_text(4097).as_bytes(),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("node_uname_info{machine"), "{}", r.text());
    assert!(r.text().contains("longer than 4096 bytes"), "{}", r.text());
    // Remote write and Influx stored the rest; the atomic import nothing.
    let r = common::request(s.addr, "GET", "/api/v1/export?db=rw", &[], b"");
    assert_eq!(
        r.text(),
        line("node_filesystem_avail_bytes", &fs_labels(), &FS_VALUES)
    );
    assert_eq!(
        common::request(s.addr, "GET", "/api/v1/export?db=pt", &[], b"").status,
        404
    );
}
