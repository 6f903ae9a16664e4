//! Metric files in the engine: reading the original's files, routing between
//! metric and raw files, builds, rebuilds and the raw-ingest actions.

mod common;

use std::fs;
use std::ops::ControlFlow;
use std::path::Path;

use common::*;
use nanotdb::config::{Codec, RawIngestAction};
use nanotdb::metricfile::Version;
use nanotdb::{BuildOptions, Engine, Value};

const CODEC_DBS: [&str; 6] = [
    "edge_s2",
    "edge_s2b",
    "edge_zd",
    "edge_v1",
    "edge_v1s2",
    "edge_renamed",
];

fn export(engine: &Engine, db: &str, dir: &Path) -> std::path::PathBuf {
    let out = dir.join(format!("out-{db}.lp"));
    engine.export_file(db, &out).unwrap();
    out
}

/// Log output captured by a test's own subscriber.
#[derive(Clone, Default)]
struct LogBuf(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl LogBuf {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for LogBuf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogBuf {
    type Writer = LogBuf;
    fn make_writer(&'a self) -> LogBuf {
        self.clone()
    }
}

fn count(engine: &Engine, db: &str, metric: &str) -> usize {
    let mut n = 0;
    engine
        .query_range(db, metric, i64::MIN, i64::MAX, 1, |_| {
            n += 1;
            ControlFlow::Continue(())
        })
        .unwrap();
    n
}

#[test]
fn reference_metric_files_alone_hold_every_sample() {
    let root = copy_tree(&fixture("codecs/root"));
    // Move every raw file away: only the metric files are left.
    for db in CODEC_DBS {
        for f in ["data-2026-01-01.dat", "raw-2026-01-01.dat"] {
            let _ = fs::remove_file(root.path().join(db).join(f));
        }
    }
    let edge = copy_tree(&fixture("edge-2h/root"));
    fs::remove_file(edge.path().join("edge/data-2026-01-01.dat")).unwrap();
    let engine = Engine::open(root.path()).unwrap();
    for db in CODEC_DBS {
        let out = export(&engine, db, root.path());
        assert_eq!(count_lines(&out), 61_920, "{db}");
        lpcompare(&fixture("edge-2h/expected-edge.lp"), &out, &[("edge", db)]);
        assert_eq!(count(&engine, db, "temp.probe01"), 720, "{db}");
    }
    let engine = Engine::open(edge.path()).unwrap();
    let out = export(&engine, "edge", edge.path());
    lpcompare(&fixture("edge-2h/expected-edge.lp"), &out, &[]);
}

#[test]
fn samples_written_after_a_build_stay_visible_and_survive_rebuilds() {
    for (version, action) in [
        (Version::V2, RawIngestAction::Keep),
        (Version::V2, RawIngestAction::Rename),
        (Version::V2, RawIngestAction::Delete),
        (Version::V3, RawIngestAction::Keep),
        (Version::V3, RawIngestAction::Delete),
    ] {
        let root = copy_tree(&fixture("edge-2h/root"));
        let engine = Engine::open(root.path()).unwrap();
        let opts = BuildOptions {
            version,
            codec: Codec::ZstdFastest,
            raw_action: action,
            verify: true,
        };
        let r = engine
            .build_metric_files("edge", Some("2026-01-01"), Some(opts))
            .unwrap();
        assert_eq!(r[0].points, 61_920);
        // Late samples for the same partition, after the build.
        engine
            .add_line("edge/temp.probe01 99.5 2026-01-01 23:00:00")
            .unwrap();
        engine
            .add_line("edge/late.metric 1i 2026-01-01 23:00:01")
            .unwrap();
        engine.flush().unwrap();
        assert_eq!(count(&engine, "edge", "temp.probe01"), 721, "{action:?}");
        let out = export(&engine, "edge", root.path());
        assert_eq!(count_lines(&out), 61_922, "{action:?}");
        // A rebuild folds the late samples in and loses nothing.
        let r = engine
            .build_metric_files("edge", Some("2026-01-01"), Some(opts))
            .unwrap();
        assert_eq!(r[0].points, 61_922, "{action:?}");
        assert_eq!(count(&engine, "edge", "temp.probe01"), 721, "{action:?}");
        engine.close().unwrap();
        drop(engine);
        let engine = Engine::open(root.path()).unwrap();
        assert_eq!(count(&engine, "edge", "late.metric"), 1, "{action:?}");
        let out = export(&engine, "edge", root.path());
        assert_eq!(count_lines(&out), 61_922, "{action:?}");
        let dir = root.path().join("edge");
        match action {
            RawIngestAction::Keep => assert!(dir.join("data-2026-01-01.dat").exists()),
            RawIngestAction::Rename => {
                assert!(!dir.join("data-2026-01-01.dat").exists());
                assert!(dir.join("raw-2026-01-01.dat").exists());
            }
            RawIngestAction::Delete => {
                assert!(!dir.join("data-2026-01-01.dat").exists());
                assert!(!dir.join("raw-2026-01-01.dat").exists());
            }
        }
    }
}

#[test]
fn a_corrupt_metric_file_never_hides_raw_data() {
    let root = copy_tree(&fixture("edge-2h/root"));
    let m = root.path().join("edge/metric-2026-01-01.dat");
    let mut b = fs::read(&m).unwrap();
    let n = b.len();
    b[n - 20] ^= 0xff; // index damage
    fs::write(&m, b).unwrap();
    let engine = Engine::open(root.path()).unwrap();
    assert_eq!(count(&engine, "edge", "temp.probe01"), 720);
    let out = export(&engine, "edge", root.path());
    lpcompare(&fixture("edge-2h/expected-edge.lp"), &out, &[]);
}

#[test]
fn a_corrupt_v3_metric_file_falls_back_to_raw_data() {
    let root = copy_tree(&fixture("edge-2h/root"));
    fs::remove_file(root.path().join("edge/metric-2026-01-01.dat")).unwrap();
    let engine = Engine::open(root.path()).unwrap();
    let opts = BuildOptions {
        version: Version::V3,
        codec: Codec::ZstdFastest,
        raw_action: RawIngestAction::Keep,
        verify: true,
    };
    engine.build_metric_files("edge", None, Some(opts)).unwrap();
    engine.close().unwrap();
    drop(engine);
    let m = root.path().join("edge/metric-2026-01-01.dat");
    let mut b = fs::read(&m).unwrap();
    assert_eq!(&b[4..6], &3u16.to_le_bytes());
    // A payload byte of the first block (the header is 64 bytes): only the
    // block's CRC can notice.
    b[100] ^= 0x55;
    fs::write(&m, b).unwrap();
    let engine = Engine::open(root.path()).unwrap();
    let log = LogBuf::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(log.clone())
        .with_ansi(false)
        .finish();
    let n =
        tracing::subscriber::with_default(subscriber, || count(&engine, "edge", "temp.probe01"));
    assert_eq!(n, 720);
    // The fallback says which file and why (the block's CRC), once per read.
    let text = log.text();
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("metric file unreadable, reading raw files instead"))
        .collect();
    assert_eq!(lines.len(), 1, "{text}");
    assert!(lines[0].contains(" WARN "), "{}", lines[0]);
    assert!(
        lines[0].contains(&format!("file={}", m.display())),
        "{}",
        lines[0]
    );
    assert!(lines[0].contains("block CRC stored"), "{}", lines[0]);
    let out = export(&engine, "edge", root.path());
    lpcompare(&fixture("edge-2h/expected-edge.lp"), &out, &[]);
}

#[test]
fn builds_for_every_codec_and_format_read_back_exactly() {
    for (version, codec) in [Version::V1, Version::V2]
        .into_iter()
        .flat_map(|v| {
            [
                Codec::S2,
                Codec::S2Better,
                Codec::ZstdFastest,
                Codec::ZstdDefault,
            ]
            .map(|c| (v, c))
        })
        .chain([(Version::V3, Codec::ZstdFastest)])
    {
        {
            let root = copy_tree(&fixture("edge-2h/root"));
            fs::remove_file(root.path().join("edge/metric-2026-01-01.dat")).unwrap();
            let engine = Engine::open(root.path()).unwrap();
            let opts = BuildOptions {
                version,
                codec,
                raw_action: RawIngestAction::Keep,
                verify: true,
            };
            engine.build_metric_files("edge", None, Some(opts)).unwrap();
            assert_eq!(
                engine.verify_metric_file("edge", "2026-01-01").unwrap(),
                61_920
            );
            // Read through the metric file alone.
            fs::remove_file(root.path().join("edge/data-2026-01-01.dat")).unwrap();
            engine.close().unwrap();
            drop(engine);
            let engine = Engine::open(root.path()).unwrap();
            let out = export(&engine, "edge", root.path());
            lpcompare(&fixture("edge-2h/expected-edge.lp"), &out, &[]);
        }
    }
}

#[test]
fn metric_files_can_be_bypassed_and_open_partitions_are_refused() {
    let root = copy_tree(&fixture("edge-2h/root"));
    let engine = Engine::open(root.path()).unwrap();
    engine.set_prefer_metric_files(false);
    assert_eq!(count(&engine, "edge", "temp.probe01"), 720);
    engine
        .add_line("edge/temp.probe01 1 2026-01-01 23:00:00")
        .unwrap();
    let e = engine
        .build_metric_files("edge", Some("2026-01-01"), None)
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "data file partition is currently open: edge/2026-01-01"
    );
    let e = engine
        .build_metric_files("edge", Some("../x"), None)
        .unwrap_err();
    assert!(e.to_string().contains("invalid partition key"), "{e}");
    assert!(
        matches!(&e, nanotdb::Error::InvalidPartitionKey { key, .. } if key == "../x"),
        "a user's bad key is not file corruption: {e:?}"
    );
    assert!(e.is_rejection());
    let v: Vec<Value> = {
        let mut v = Vec::new();
        engine
            .query_range("edge", "temp.probe01", i64::MIN, i64::MAX, 1, |s| {
                v.push(s.value);
                ControlFlow::Continue(())
            })
            .unwrap();
        v
    };
    assert_eq!(v.last(), Some(&Value::F32(1.0)));
}

/// A data file cut short after its metric file was built (the `keep`
/// action): its surviving frames are all in the metric file, so every
/// sample is read exactly once — before, each surviving frame came back
/// twice (issue 19, item 4).
#[test]
fn a_data_file_cut_short_under_its_metric_file_returns_nothing_twice() {
    for read_only in [true, false] {
        let root = copy_tree(&fixture("edge-2h/root"));
        let data = root.path().join("edge/data-2026-01-01.dat");
        let scan = nanotdb::datafile::scan_file(&data, true).unwrap();
        assert!(scan.frames.len() >= 4, "{}", scan.frames.len());
        // Keep three whole frames and half of the fourth.
        let f3 = &scan.frames[3];
        let cut = f3.offset + f3.header.frame_len() / 2;
        fs::OpenOptions::new()
            .write(true)
            .open(&data)
            .unwrap()
            .set_len(cut)
            .unwrap();
        let engine = if read_only {
            Engine::open_read_only(root.path()).unwrap()
        } else {
            Engine::open(root.path()).unwrap()
        };
        let out = export(&engine, "edge", root.path());
        assert_eq!(count_lines(&out), 61_920, "read_only={read_only}");
        lpcompare(&fixture("edge-2h/expected-edge.lp"), &out, &[]);
        assert_eq!(count(&engine, "edge", "temp.probe01"), 720);
    }
}
