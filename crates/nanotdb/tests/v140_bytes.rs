//! A database that never receives a float64 or int64 sample keeps writing
//! exactly the bytes it wrote before those types existed (docs/FORMATS.md
//! §5.5): catalog, frames and WAL of a fixed workload are compared with
//! checksums taken from the code of commit fa5df0a, which predates them.

use std::fs;
use std::path::Path;

use nanotdb::{Engine, Value, WriteSample};

const T0: i64 = 1_767_225_600_000_000_000; // 2026-01-01T00:00:00Z

/// CRC-32 of catalog.json, data-2026-01-01.dat and the WAL, as the code
/// before the 8-byte types wrote them.
const EXPECTED: [u32; 3] = [0x65eb01e8, 0x8b0f0620, 0xf6a1c8b8];

#[test]
fn a_database_of_v1_4_0_types_writes_the_same_bytes_as_before() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("engine.toml"),
        r#"
[wal]
fsync_policy = "always"
[durability]
profile = "strict"
background_sync = false
[stats]
enabled = false
[manifest_defaults.wal]
enabled = true
skip_before = "0s"
[manifest_defaults.page]
max_records = 50
max_bytes = 100000000
max_age = "1h"
"#,
    )
    .unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    for k in 0..120i64 {
        let ts = T0 + k * 1_500_000_000;
        for (metric, value) in [
            ("f", Value::F32(k as f32 * 0.25 - 3.0)),
            ("i", Value::I32(k as i32 - 60)),
        ] {
            let s = [WriteSample {
                db: "old",
                metric,
                ts,
                value,
            }];
            assert!(engine.write(&s).unwrap().rejected.is_empty());
        }
    }
    // 240 samples, pages of 50: four frames, 40 samples left in the WAL
    // (each page flush checkpoints it at once: background_sync = false).
    let wal = fs::read(dir.path().join("old/old.wal")).unwrap();
    engine.abort();
    let digest = |p: &Path| crc32fast::hash(&fs::read(p).unwrap());
    let got = [
        digest(&dir.path().join("old/catalog.json")),
        digest(&dir.path().join("old/data-2026-01-01.dat")),
        crc32fast::hash(&wal),
    ];
    assert_eq!(got, EXPECTED, "{got:#010x?}");
}
