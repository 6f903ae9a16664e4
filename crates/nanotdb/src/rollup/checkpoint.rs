//! The checkpoint log `<source>/rollup.checkpoints.log` (docs/FORMATS.md §9): one
//! `key,period_end_ns` line per advance, last line per key wins, compacted
//! past 100 KiB.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::Path;

use crate::error::{Error, IoContext, Result};
use crate::fsutil;

/// Size above which the checkpoint log is compacted after an append (docs/FORMATS.md §9).
pub const CHECKPOINT_COMPACT_BYTES: u64 = 102_400;

// ------------------------------------------------------------ checkpoint log

/// Parses a checkpoint log: lines are trimmed, blank and malformed lines are
/// skipped (exactly two `,`-separated parts, non-empty trimmed key, decimal
/// i64 value), and for repeated keys the last line wins.
pub fn parse_checkpoints(text: &str) -> BTreeMap<String, i64> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let mut parts = line.split(',');
        let (Some(k), Some(v), None) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let k = k.trim();
        let Ok(v) = v.trim().parse::<i64>() else {
            continue;
        };
        if !k.is_empty() {
            out.insert(k.to_string(), v);
        }
    }
    out
}

/// Reads a checkpoint log; a missing file means no checkpoints.
pub fn read_checkpoints(path: &Path) -> Result<BTreeMap<String, i64>> {
    match fs::read(path) {
        Ok(b) => Ok(parse_checkpoints(&String::from_utf8_lossy(&b))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// Appends `<key>,<ns>` lines and fsyncs; then compacts the log (latest value
/// per key, keys ascending, via `<file>.tmp` + rename) when it exceeds
/// [`CHECKPOINT_COMPACT_BYTES`]. Returns whether it compacted.
pub fn append_checkpoints(path: &Path, entries: &[(String, i64)]) -> Result<bool> {
    if entries.is_empty() {
        return Ok(false);
    }
    let mut text = String::new();
    for (k, v) in entries {
        text.push_str(k);
        text.push(',');
        text.push_str(&v.to_string());
        text.push('\n');
    }
    let created = !path.exists();
    let mut f = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .at(path)?;
    f.write_all(text.as_bytes()).at(path)?;
    f.sync_data().at(path)?;
    let len = f.metadata().at(path)?.len();
    drop(f);
    if created {
        fsutil::sync_parent(path)?;
    }
    if len > CHECKPOINT_COMPACT_BYTES {
        write_checkpoints(path, &read_checkpoints(path)?)?;
        return Ok(true);
    }
    Ok(false)
}

/// Writes the whole log atomically, keys ascending (`<file>.tmp`, fsync, rename).
pub fn write_checkpoints(path: &Path, map: &BTreeMap<String, i64>) -> Result<()> {
    let mut text = String::new();
    for (k, v) in map {
        text.push_str(&format!("{k},{v}\n"));
    }
    fsutil::write_atomic(path, text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_skips_malformed_and_last_wins() {
        let text = "a,1\n  b , 2 \n\nbad\nc,x\n,5\nd,1,2\na,3\nk::m,9\n";
        let m = parse_checkpoints(text);
        let v: Vec<(&str, i64)> = m.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        assert_eq!(v, [("a", 3), ("b", 2), ("k::m", 9)]);
    }

    #[test]
    fn key_with_comma_is_never_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("cp.log");
        append_checkpoints(&p, &[("j::a,b".into(), 7), ("j::c".into(), 8)]).unwrap();
        assert_eq!(fs::read_to_string(&p).unwrap(), "j::a,b,7\nj::c,8\n");
        let m = read_checkpoints(&p).unwrap();
        assert_eq!(m.len(), 1);
        assert_eq!(m.get("j::c"), Some(&8));
    }

    #[test]
    fn missing_file_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        assert!(
            read_checkpoints(&dir.path().join("nope"))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn compacts_past_100_kib_sorted_latest_per_key() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("cp.log");
        let mut compacted_at = None;
        for i in 0..5000i64 {
            let entries = vec![
                ("zeta".to_string(), i),
                ("alpha".to_string(), 2 * i),
                (format!("k{:03}", i % 7), i),
            ];
            if append_checkpoints(&p, &entries).unwrap() {
                compacted_at = Some(i);
                break;
            }
        }
        let i = compacted_at.expect("compaction happened");
        assert!(i > 100, "{i}");
        let text = fs::read_to_string(&p).unwrap();
        let mut expected = String::new();
        expected.push_str(&format!("alpha,{}\n", 2 * i));
        for k in 0..7 {
            let last = (0..=i).filter(|x| x % 7 == k).max().unwrap();
            expected.push_str(&format!("k{k:03},{last}\n"));
        }
        expected.push_str(&format!("zeta,{i}\n"));
        assert_eq!(text, expected);
        assert!(!dir.path().join("cp.log.tmp").exists());
    }
}
