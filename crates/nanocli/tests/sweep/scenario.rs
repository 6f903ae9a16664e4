//! The data directories the sweep damages, and which file of each it damages.
//!
//! Each scenario is a clean root built once (a copy of a v1.4.0 fixture, or
//! one written by this implementation) that is never mutated itself: every
//! case works on a fresh copy of it.

use std::fs;
use std::path::{Path, PathBuf};

use nanotdb::{Engine, Value, WriteSample};
use nanotdb_testkit::fixture_copy;

/// What kind of file a target is: decides what the sweep can expect of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// `data-<p>.dat` (frames with a CRC of the block, §3).
    Data,
    /// `raw-<p>.dat` (same format, renamed after a metric-file build).
    Raw,
    /// `metric-<p>.dat` (v1 or v2, every part checksummed, §8).
    Metric,
    /// A WAL written by this implementation (checksummed groups, §4.11).
    Wal,
    /// A WAL written by v1.4.0 (no checksum at all, §4.2).
    WalV1,
    /// `catalog.json` (§5): no checksum.
    Catalog,
    /// `<db>/manifest.toml` (§6.3).
    Manifest,
    /// `<root>/engine.toml` (§6.2).
    EngineToml,
    /// `rollup.checkpoints.log` (§9): text, malformed lines dropped silently.
    Checkpoints,
    /// `<root>/atomic-batches.log` (§4.12): entries with a CRC.
    CommitLog,
}

impl Kind {
    pub const ALL: [Kind; 10] = [
        Kind::Data,
        Kind::Raw,
        Kind::Metric,
        Kind::Wal,
        Kind::WalV1,
        Kind::Catalog,
        Kind::Manifest,
        Kind::EngineToml,
        Kind::Checkpoints,
        Kind::CommitLog,
    ];

    /// Binary formats, whose damage reports must carry an offset.
    pub fn binary(self) -> bool {
        matches!(
            self,
            Kind::Data | Kind::Raw | Kind::Metric | Kind::Wal | Kind::WalV1 | Kind::CommitLog
        )
    }
}

/// One file to damage and the databases whose contents it can affect.
#[derive(Debug, Clone)]
pub struct Target {
    /// Path relative to the root.
    pub rel: PathBuf,
    pub kind: Kind,
    /// Databases to export and query.
    pub dbs: Vec<String>,
    /// A rollup source whose jobs the read-write pass runs (checkpoint log).
    pub rollup: Option<String>,
}

/// A clean root and the files of it the sweep damages.
pub struct Scenario {
    pub name: &'static str,
    pub dir: tempfile::TempDir,
    pub targets: Vec<Target>,
}

impl Scenario {
    pub fn root(&self) -> &Path {
        self.dir.path()
    }
}

fn target(rel: &str, kind: Kind, dbs: &[&str]) -> Target {
    Target {
        rel: rel.into(),
        kind,
        dbs: dbs.iter().map(|s| s.to_string()).collect(),
        rollup: None,
    }
}

/// Every scenario, in a fixed order (case numbers depend on it).
pub fn all() -> Vec<Scenario> {
    let mut out = Vec::new();
    let edge = &["edge"];
    out.push(Scenario {
        name: "edge-2h",
        dir: fixture_copy("edge-2h/root"),
        targets: vec![
            target("edge/data-2026-01-01.dat", Kind::Data, edge),
            target("edge/metric-2026-01-01.dat", Kind::Metric, edge),
            target("edge/catalog.json", Kind::Catalog, edge),
            target("edge/manifest.toml", Kind::Manifest, edge),
            target("engine.toml", Kind::EngineToml, edge),
        ],
    });
    let mut codecs = Vec::new();
    for db in nanotdb_testkit::CODEC_DATABASES {
        let m = format!("{db}/metric-2026-01-01.dat");
        codecs.push(target(&m, Kind::Metric, &[db]));
    }
    let renamed = &["edge_renamed"];
    codecs.push(target(
        "edge_renamed/raw-2026-01-01.dat",
        Kind::Raw,
        renamed,
    ));
    out.push(Scenario {
        name: "codecs",
        dir: fixture_copy("codecs/root"),
        targets: codecs,
    });
    let t = &["t"];
    out.push(Scenario {
        name: "types",
        dir: fixture_copy("types/root"),
        targets: vec![
            target("t/data-2026-01-01.dat", Kind::Data, t),
            target("t/catalog.json", Kind::Catalog, t),
            target("t/manifest.toml", Kind::Manifest, t),
        ],
    });
    let live = &["live"];
    out.push(Scenario {
        name: "wal-replay",
        dir: fixture_copy("wal-replay/root"),
        targets: vec![
            target("live/live.wal", Kind::WalV1, live),
            target("live/manifest.toml", Kind::Manifest, live),
            target("engine.toml", Kind::EngineToml, live),
        ],
    });
    let mut checkpoints = target(
        "edge/rollup.checkpoints.log",
        Kind::Checkpoints,
        &["edge_15m", "edge_1h"],
    );
    checkpoints.rollup = Some("edge".into());
    // Only the checkpoint log: the source's data file (186,000 samples)
    // would add nothing the other data files do not cover, at 3x the cost.
    out.push(Scenario {
        name: "rollups",
        dir: fixture_copy("rollups/root"),
        targets: vec![checkpoints],
    });
    out.push(Scenario {
        name: "ours",
        dir: ours(),
        targets: vec![
            target("d/data-2026-01-01.dat", Kind::Data, &["d"]),
            target("d/d.wal", Kind::Wal, &["d"]),
            target("w/w.wal", Kind::Wal, &["w"]),
            target("a1/a1.wal", Kind::Wal, &["a1", "a2"]),
            target("atomic-batches.log", Kind::CommitLog, &["a1", "a2"]),
            target("d/catalog.json", Kind::Catalog, &["d"]),
            target("engine.toml", Kind::EngineToml, &["d", "w"]),
        ],
    });
    for s in &out {
        for t in &s.targets {
            let p = s.root().join(&t.rel);
            let len = fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
            assert!(len > 0, "{}: target {} is empty", s.name, p.display());
        }
    }
    out
}

const T0: i64 = 1_767_225_600_000_000_000; // 2026-01-01T00:00:00Z

/// `checkpoint_interval` is long so that the WALs keep the samples of
/// flushed pages (as they do for up to a second with the default) whatever
/// the machine's speed: the sweep's files must be the same in every run.
fn engine_toml(max_records: u32) -> String {
    format!(
        "[wal]\nfsync_policy = \"always\"\ncheckpoint_interval = \"1000h\"\n[stats]\nenabled = false\n[ingest]\nmax_future = \"0s\"\n\
         [manifest_defaults.wal]\nenabled = true\nskip_before = \"0s\"\n\
         [manifest_defaults.page]\nmax_records = {max_records}\nmax_bytes = 10000000\nmax_age = \"1000h\"\n"
    )
}

/// `n` samples for `db` from `first` on, one second apart, cycling over an
/// int32 and two float32 metrics.
fn samples(db: &str, first: i64, n: i64) -> Vec<(String, String, i64, Value)> {
    (first..first + n)
        .map(|i| {
            let (metric, value) = match i % 3 {
                0 => ("count", Value::I32(i as i32 * 7 - 1000)),
                1 => ("temp", Value::F32(i as f32 / 8.0)),
                _ => ("load.avg", Value::F32(-(i as f32) * 0.25)),
            };
            (
                db.to_string(),
                metric.to_string(),
                T0 + i * 1_000_000_000,
                value,
            )
        })
        .collect()
}

fn write(engine: &Engine, batch: &[(String, String, i64, Value)], atomic: bool) {
    let ws: Vec<WriteSample<'_>> = batch
        .iter()
        .map(|(db, m, ts, v)| WriteSample {
            db,
            metric: m,
            ts: *ts,
            value: *v,
        })
        .collect();
    let r = if atomic {
        engine.write_atomic(&ws).unwrap()
    } else {
        engine.write(&ws).unwrap()
    };
    assert!(r.rejected.is_empty(), "{:?}", r.rejected);
}

/// A root written by this implementation and left as a crash leaves it:
/// `d` has a data file of many small frames (and a WAL holding the samples
/// of its last 230, flushed into frames or still in its open page), `w` only a WAL of write groups, and `a1`/`a2` WALs of
/// atomic batches spanning both, committed in `atomic-batches.log`.
fn ours() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    // Small pages first: `d`'s manifest keeps them, so it gets many frames.
    fs::write(root.join("engine.toml"), engine_toml(40)).unwrap();
    let engine = Engine::open(root).unwrap();
    for chunk in samples("d", 0, 1200).chunks(25) {
        write(&engine, chunk, false);
    }
    engine.close().unwrap();
    // Large pages for the other databases: their samples stay in the WAL.
    fs::write(root.join("engine.toml"), engine_toml(60000)).unwrap();
    let engine = Engine::open(root).unwrap();
    for chunk in samples("d", 1200, 230).chunks(10) {
        write(&engine, chunk, false);
    }
    for chunk in samples("w", 0, 300).chunks(6) {
        write(&engine, chunk, false);
    }
    for b in 0..20 {
        let mut batch = samples("a1", b * 3, 3);
        batch.extend(samples("a2", b * 2, 2));
        write(&engine, &batch, true);
    }
    engine.abort();
    dir
}

/// Start offsets of the structures in a clean file: where length fields
/// live, so mutations aim there half of the time.
pub fn hot_offsets(kind: Kind, bytes: &[u8]) -> Vec<usize> {
    match kind {
        Kind::Data | Kind::Raw => nanotdb::datafile::scan_bytes(bytes, false)
            .frames
            .iter()
            .map(|f| f.offset as usize)
            .collect(),
        Kind::Wal | Kind::WalV1 => nanotdb::wal::scan_wal(bytes)
            .records
            .iter()
            .map(|r| r.0 as usize)
            .collect(),
        Kind::Metric => vec![0, bytes.len().saturating_sub(64)],
        Kind::CommitLog => commit_entries(bytes).iter().map(|e| e.0).collect(),
        _ => Vec::new(),
    }
}

/// `(start, end, batch id)` of each intact entry of a commit log (§4.12).
pub fn commit_entries(bytes: &[u8]) -> Vec<(usize, usize, u64)> {
    let mut out = Vec::new();
    let mut off = 0usize;
    while off + 16 <= bytes.len() {
        let len = u32::from_le_bytes(bytes[off..off + 4].try_into().unwrap()) as usize;
        let Some(end) = (off + 8).checked_add(len).filter(|e| *e <= bytes.len()) else {
            break;
        };
        let payload = &bytes[off + 4..off + 4 + len];
        let crc = u32::from_le_bytes(bytes[end - 4..end].try_into().unwrap());
        if len < 8 || crc32(payload) != crc {
            break;
        }
        out.push((
            off,
            end,
            u64::from_le_bytes(payload[..8].try_into().unwrap()),
        ));
        off = end;
    }
    out
}

/// CRC-32/IEEE, bit by bit (the test needs it for a few hundred bytes).
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}
