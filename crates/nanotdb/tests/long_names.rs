//! Series names (metric plus label set) longer than v1.4.0's 255 bytes, up
//! to 4 KiB (docs/FORMATS.md §4.15): logged with the long-name WAL record,
//! guarded in `catalog.json`, and kept exactly through a `kill -9`, WAL
//! replay, a flush to data files, a metric-file build and restarts.
//!
//! The writer is this test binary re-executed with `LONG_NAMES_CHILD_ROOT`
//! set ([`long_names_child`]), so the crash is a real SIGKILL.

use std::io::{BufRead, BufReader};
use std::ops::ControlFlow;
use std::path::Path;
use std::process::{Command, Stdio};

use nanotdb::catalog::{LONG_GUARD_ID, LONG_GUARD_NAME};
use nanotdb::{Engine, Error, Value, WriteSample};

const T0: i64 = 1_767_225_600_000_000_000; // 2026-01-01T00:00:00Z
const DB: &str = "node";

/// A node_exporter-like filesystem series (> 255 bytes), one of exactly
/// 4096 bytes, and a short one (v1.4.0's record).
fn names() -> Vec<String> {
    let fs = "node_filesystem_avail_bytes{device=\"/dev/mapper/ubuntu--vg-ubuntu--lv\",\
fstype=\"ext4\",instance=\"edge-gateway-01.plant-7.example.internal:9100\",job=\"node\",\
mountpoint=\"/var/lib/docker/overlay2/3f1c2a9e8b7d6c5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e/merged\"}";
    let head = "node_uname_info{machine=\"x86_64\",v=\"";
    let pad = 4096 - head.len() - 2;
    let big = format!("{head}{}\"}}", "x".repeat(pad));
    vec![fs.to_string(), big, "node_load1".to_string()]
}

fn samples_of(k: usize) -> Vec<(i64, Value)> {
    (0..50)
        .map(|i| {
            (
                T0 + i * 15_000_000_000 + k as i64,
                Value::F32(i as f32 + 0.5),
            )
        })
        .collect()
}

/// The child: writes every sample, says so, and waits to be killed.
#[test]
fn long_names_child() {
    let Ok(root) = std::env::var("LONG_NAMES_CHILD_ROOT") else {
        return;
    };
    let engine = Engine::open(&root).unwrap();
    for (k, name) in names().iter().enumerate() {
        let batch: Vec<WriteSample> = samples_of(k)
            .into_iter()
            .map(|(ts, value)| WriteSample {
                db: DB,
                metric: name,
                ts,
                value,
            })
            .collect();
        let r = engine.write(&batch).unwrap();
        assert!(r.rejected.is_empty(), "{:?}", r.rejected);
    }
    println!("written");
    std::thread::sleep(std::time::Duration::from_secs(60));
}

fn all(engine: &Engine, metric: &str) -> Vec<(i64, Value)> {
    let mut out = Vec::new();
    engine
        .query_range(DB, metric, i64::MIN, i64::MAX, 1, |s| {
            out.push((s.ts, s.value));
            ControlFlow::Continue(())
        })
        .unwrap();
    out
}

fn check(engine: &Engine, when: &str) {
    let mut want: Vec<String> = names();
    want.sort();
    let got: Vec<String> = engine
        .metrics(DB)
        .unwrap()
        .into_iter()
        .map(|m| m.name)
        .collect();
    assert_eq!(got, want, "{when}");
    for (k, name) in names().iter().enumerate() {
        assert_eq!(all(engine, name), samples_of(k), "{when}: {name}");
    }
}

fn guard_entries(root: &Path) -> usize {
    let text = std::fs::read_to_string(root.join(DB).join("catalog.json")).unwrap();
    text.matches(LONG_GUARD_NAME).count()
}

#[test]
fn long_names_survive_kill_replay_flush_metric_files_and_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    // Every sample logged (they are older than the default `skip_before`).
    std::fs::write(
        root.join("engine.toml"),
        "[wal]\nfsync_policy = \"always\"\n[stats]\nenabled = false\n\
         [manifest_defaults.wal]\nenabled = true\nskip_before = \"0s\"\n",
    )
    .unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "long_names_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("LONG_NAMES_CHILD_ROOT", root)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let said = BufReader::new(out)
        .lines()
        .map_while(Result::ok)
        .any(|l| l.contains("written"));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(said, "the child did not finish writing");

    // What the crash left: the long names' records in the WAL (flag L), the
    // guard in the catalog (saved before the first such record).
    assert_eq!(guard_entries(root), 1);
    let wal = std::fs::read(root.join(DB).join(format!("{DB}.wal"))).unwrap();
    let scan = nanotdb::wal::scan_wal(&wal);
    assert!(scan.stop.is_none() && scan.damage.is_empty());
    let mut logged: Vec<usize> = scan
        .records
        .iter()
        .filter_map(|(_, r)| r.new_metric.as_ref().map(|n| n.name.len()))
        .collect();
    logged.sort();
    assert_eq!(logged, [10, 263, 4096]);
    // What v1.4.0 checks first (FORMATS §5.2): an id that fits no u16.
    let cat: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join(DB).join("catalog.json")).unwrap())
            .unwrap();
    assert!(
        cat["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["id"].as_u64() == Some(LONG_GUARD_ID))
    );

    // WAL replay.
    let engine = Engine::open(root).unwrap();
    check(&engine, "after kill -9 and WAL replay");
    // Flush to data files, restart: read from the data file.
    engine.flush().unwrap();
    engine.close().unwrap();
    assert_eq!(
        std::fs::metadata(root.join(DB).join(format!("{DB}.wal")))
            .unwrap()
            .len(),
        0
    );
    let engine = Engine::open(root).unwrap();
    check(&engine, "after a flush and a restart");
    // A metric-file build of the partition, then reads from it.
    let r = engine
        .build_metric_files(DB, Some("2026-01-01"), None)
        .unwrap();
    assert_eq!(r[0].points, 150);
    check(&engine, "after a metric-file build");
    engine.close().unwrap();
    let engine = Engine::open(root).unwrap();
    check(&engine, "after the build and a restart");
    assert_eq!(guard_entries(root), 1);
    engine.close().unwrap();
}

#[test]
fn a_name_over_4_kib_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    let name = format!("m{{v=\"{}\"}}", "y".repeat(4090)); // 4097 bytes
    let r = engine.write(&[WriteSample {
        db: DB,
        metric: &name,
        ts: T0,
        value: Value::F32(1.0),
    }]);
    let e = match r {
        Ok(rep) => {
            assert_eq!(rep.rejected.len(), 1);
            rep.rejected[0].1.to_string()
        }
        Err(e) => e.to_string(),
    };
    assert!(e.contains("longer than 4096 bytes"), "{e}");
    assert!(
        e.contains(&format!("{name:?}")),
        "the error names the series: {e}"
    );
    assert!(matches!(
        engine.add_sample(DB, &name, T0, Value::F32(1.0)),
        Err(Error::InvalidMetricName { .. })
    ));
    engine.close().unwrap();
}
