//! Retention: removing or archiving whole partition families that are older
//! than `retention_days` (docs/FORMATS.md §10, with the reference's hazards fixed).
//!
//! * Age is measured against the **wall clock**, not a sample's timestamp,
//!   so one future-dated sample can never expire recent data.
//! * A partition expires when its **end** is more than `retention_days` old,
//!   so a monthly or yearly partition goes only once all of its data is past
//!   retention.
//! * Open partitions (the ones being written) are never touched.
//! * `archive` never loses a file: when a bucket already holds an entry of
//!   the same name, the new one is added as `<name>.1`, `<name>.2`, …
//!   (v1.4.0 skipped it and then deleted the original).

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, IoContext, Result};
use crate::fsutil;
use crate::time::{self, PartitionMode};

/// Nanoseconds per day.
const DAY_NS: i64 = 86_400_000_000_000;

/// A partition family found in a database directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Family {
    /// Partition key.
    pub key: String,
    /// First instant of the partition.
    pub start: i64,
    /// End of the partition (exclusive).
    pub end: i64,
    /// Its files (`data-`, `metric-`, `raw-<key>.dat`), sorted by name.
    pub files: Vec<PathBuf>,
}

/// Lists the partition families of a database directory.
pub fn families(dir: &Path) -> Result<Vec<Family>> {
    let mut by_key: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    for e in fs::read_dir(dir).at(dir)?.flatten() {
        let Ok(name) = e.file_name().into_string() else {
            continue;
        };
        if let Some((_, key)) = crate::layout::parse_partition_file(&name) {
            by_key.entry(key.to_string()).or_default().push(e.path());
        }
    }
    let mut out = Vec::new();
    for (key, mut files) in by_key {
        let Some((_, start, end)) = time::parse_partition_key(&key) else {
            continue;
        };
        files.sort();
        out.push(Family {
            key,
            start,
            end,
            files,
        });
    }
    out.sort_by(|a, b| (a.start, &a.key).cmp(&(b.start, &b.key)));
    Ok(out)
}

/// Whether a partition ending at `end` is past retention at wall-clock
/// `now`. `forever` (end = i64::MAX) never is.
pub fn is_expired(end: i64, now: i64, retention_days: u32) -> bool {
    if end == i64::MAX {
        return false;
    }
    let keep = i64::from(retention_days).saturating_mul(DAY_NS);
    end.saturating_add(keep) <= now
}

/// Bucket file name for a partition starting at `start` in `mode`.
pub fn bucket_name(mode: PartitionMode, start: i64) -> Option<String> {
    let key = |m| time::partition_key(m, start);
    match mode {
        PartitionMode::Day => Some(format!("archive-{}.tar", key(PartitionMode::Month))),
        PartitionMode::Month => Some(format!("archive-{}.tar", key(PartitionMode::Year))),
        PartitionMode::Year => Some("archive-forever.tar".to_string()),
        PartitionMode::Forever => None,
    }
}

/// What a retention pass did (or, dry, would do).
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct RetentionReport {
    /// Expired partition keys, oldest first.
    pub expired: Vec<String>,
    /// Files removed (or to be removed).
    pub removed: Vec<PathBuf>,
    /// Archive entries written: (bucket, entry name).
    pub archived: Vec<(PathBuf, String)>,
    /// True when nothing was changed on disk.
    pub dry_run: bool,
}

/// How expired partitions are handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Leave them.
    Keep,
    /// Remove the files.
    Delete,
    /// Move the files into tar buckets.
    Archive,
}

/// Runs retention on a database directory. `skip` names partitions that
/// must not be touched (the open ones).
pub fn run(
    dir: &Path,
    mode: PartitionMode,
    retention_days: u32,
    action: Action,
    now: i64,
    skip: &dyn Fn(&str) -> bool,
    dry_run: bool,
) -> Result<RetentionReport> {
    let mut report = RetentionReport {
        dry_run,
        ..RetentionReport::default()
    };
    if action == Action::Keep {
        return Ok(report);
    }
    for fam in families(dir)? {
        // Expiry first: `skip` may count what it lets through.
        if !is_expired(fam.end, now, retention_days) || skip(&fam.key) {
            continue;
        }
        report.expired.push(fam.key.clone());
        if action == Action::Archive {
            let Some(bucket) = bucket_name(mode, fam.start) else {
                continue;
            };
            let bucket = dir.join(bucket);
            if dry_run {
                for f in &fam.files {
                    let name = file_name(f);
                    report.archived.push((bucket.clone(), name));
                }
            } else {
                let names = append_to_bucket(&bucket, &fam.files)?;
                for n in names {
                    report.archived.push((bucket.clone(), n));
                }
            }
        }
        for f in &fam.files {
            if !dry_run {
                match fs::remove_file(f) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(Error::io(f, e)),
                }
            }
            report.removed.push(f.clone());
        }
        if !dry_run {
            fsutil::sync_dir(dir)?;
        }
    }
    Ok(report)
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Names of the entries of a tar file (missing file = none).
pub fn bucket_entries(bucket: &Path) -> Result<Vec<String>> {
    let f = match File::open(bucket) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(bucket, e)),
    };
    let mut ar = tar::Archive::new(f);
    let mut names = Vec::new();
    for e in ar.entries().at(bucket)? {
        let e = e.at(bucket)?;
        names.push(e.path().at(bucket)?.to_string_lossy().into_owned());
    }
    Ok(names)
}

/// Appends `files` to a tar bucket (creating it), under their bare names
/// or, when a name is taken, `<name>.<n>`. The existing end-of-archive
/// marker (1024 zero bytes) is replaced; the bucket is fsynced before the
/// caller removes the originals. Returns the entry names written.
fn append_to_bucket(bucket: &Path, files: &[PathBuf]) -> Result<Vec<String>> {
    let existing = bucket_entries(bucket)?;
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(bucket)
        .at(bucket)?;
    let len = file.metadata().at(bucket)?.len();
    if len > 0 {
        if len < 1024 || len % 512 != 0 {
            return Err(Error::Corrupt {
                path: bucket.to_path_buf(),
                offset: 0,
                reason: format!(
                    "archive of {len} bytes is not a whole number of 512-byte blocks ending in the end-of-archive marker"
                ),
            });
        }
        let mut tail = [0u8; 1024];
        file.seek(SeekFrom::Start(len - 1024)).at(bucket)?;
        file.read_exact(&mut tail).at(bucket)?;
        if tail.iter().any(|&b| b != 0) {
            return Err(Error::Corrupt {
                path: bucket.to_path_buf(),
                offset: len - 1024,
                reason: "archive does not end with a 1024-byte zero marker".into(),
            });
        }
        file.set_len(len - 1024).at(bucket)?;
        file.seek(SeekFrom::Start(len - 1024)).at(bucket)?;
    }
    let mut builder = tar::Builder::new(file);
    builder.mode(tar::HeaderMode::Complete);
    let mut written = Vec::new();
    for f in files {
        let base = file_name(f);
        let mut name = base.clone();
        let mut n = 1;
        while existing.contains(&name) || written.contains(&name) {
            name = format!("{base}.{n}");
            n += 1;
        }
        builder.append_path_with_name(f, &name).at(f)?;
        written.push(name);
    }
    builder.finish().at(bucket)?;
    let file = builder.into_inner().at(bucket)?;
    file.sync_all().at(bucket)?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const T0: i64 = 1_767_225_600_000_000_000; // 2026-01-01

    #[test]
    fn expiry_uses_the_partition_end() {
        let (_, s, e) = time::parse_partition_key("2026-01").unwrap();
        // A month partition is kept until its last day is 30 days old.
        assert!(!is_expired(e, s + 45 * DAY_NS, 30));
        assert!(is_expired(e, e + 30 * DAY_NS, 30));
        assert!(!is_expired(i64::MAX, i64::MAX, 1));
        assert_eq!(
            bucket_name(PartitionMode::Day, T0).unwrap(),
            "archive-2026-01.tar"
        );
        assert_eq!(
            bucket_name(PartitionMode::Month, T0).unwrap(),
            "archive-2026.tar"
        );
        assert_eq!(
            bucket_name(PartitionMode::Year, T0).unwrap(),
            "archive-forever.tar"
        );
        assert_eq!(bucket_name(PartitionMode::Forever, T0), None);
    }

    fn touch(dir: &Path, name: &str, body: &[u8]) {
        fs::write(dir.join(name), body).unwrap();
    }

    #[test]
    fn archive_keeps_every_file_even_with_name_clashes() {
        let d = tempfile::tempdir().unwrap();
        touch(d.path(), "data-2026-01-01.dat", b"one");
        touch(d.path(), "metric-2026-01-01.dat", b"m");
        touch(d.path(), "data-2026-01-02.dat", b"two");
        let now = T0 + 40 * DAY_NS;
        let r = run(
            d.path(),
            PartitionMode::Day,
            30,
            Action::Archive,
            now,
            &|k| k == "2026-01-02",
            false,
        )
        .unwrap();
        assert_eq!(r.expired, ["2026-01-01"]);
        assert!(!d.path().join("data-2026-01-01.dat").exists());
        assert!(
            d.path().join("data-2026-01-02.dat").exists(),
            "skipped (open)"
        );
        let bucket = d.path().join("archive-2026-01.tar");
        assert_eq!(
            bucket_entries(&bucket).unwrap(),
            ["data-2026-01-01.dat", "metric-2026-01-01.dat"]
        );
        // The same partition name again (re-created later): added, not lost.
        touch(d.path(), "data-2026-01-01.dat", b"late");
        let archive = || {
            run(
                d.path(),
                PartitionMode::Day,
                30,
                Action::Archive,
                now,
                &|_| false,
                false,
            )
        };
        archive().unwrap();
        let names = bucket_entries(&bucket).unwrap();
        assert_eq!(
            names,
            [
                "data-2026-01-01.dat",
                "metric-2026-01-01.dat",
                "data-2026-01-01.dat.1",
                "data-2026-01-02.dat"
            ]
        );
        let mut ar = tar::Archive::new(File::open(&bucket).unwrap());
        let mut bodies = Vec::new();
        for e in ar.entries().unwrap() {
            let mut e = e.unwrap();
            let mut b = String::new();
            e.read_to_string(&mut b).unwrap();
            bodies.push(b);
        }
        assert_eq!(bodies, ["one", "m", "late", "two"]);
        // A bucket without its zero trailer is refused and nothing is deleted.
        let len = fs::metadata(&bucket).unwrap().len();
        let f = OpenOptions::new().write(true).open(&bucket).unwrap();
        f.set_len(len - 1).unwrap();
        touch(d.path(), "data-2026-01-03.dat", b"x");
        assert!(archive().is_err());
        assert!(d.path().join("data-2026-01-03.dat").exists());
    }

    #[test]
    fn delete_and_dry_run() {
        let d = tempfile::tempdir().unwrap();
        touch(d.path(), "data-2025.dat", b"a");
        touch(d.path(), "raw-2025.dat", b"b");
        touch(d.path(), "data-2026.dat", b"c");
        touch(d.path(), "notes.txt", b"x");
        let now = T0 + 31 * DAY_NS; // 2025 ended on 2026-01-01
        let r = run(
            d.path(),
            PartitionMode::Year,
            30,
            Action::Delete,
            now,
            &|_| false,
            true,
        )
        .unwrap();
        assert_eq!(r.expired, ["2025"]);
        assert_eq!(r.removed.len(), 2);
        assert!(d.path().join("data-2025.dat").exists(), "dry run");
        run(
            d.path(),
            PartitionMode::Year,
            30,
            Action::Delete,
            now,
            &|_| false,
            false,
        )
        .unwrap();
        assert!(!d.path().join("data-2025.dat").exists());
        assert!(!d.path().join("raw-2025.dat").exists());
        assert!(d.path().join("data-2026.dat").exists());
        assert!(d.path().join("notes.txt").exists());
    }

    proptest! {
        /// Random partitions (future-dated ones included), random clocks:
        /// nothing whose data is younger than retention_days is removed, and
        /// the archive holds exactly the removed files.
        #[test]
        fn never_removes_young_data(
            days in proptest::collection::btree_set(-400i64..800, 1..25),
            months in proptest::collection::btree_set(-12i64..30, 0..6),
            now_days in 0i64..700,
            retention in 1u32..120,
        ) {
            let d = tempfile::tempdir().unwrap();
            let mut names = Vec::new();
            for day in &days {
                let k = time::partition_key(PartitionMode::Day, T0 + day * DAY_NS);
                names.push(format!("data-{k}.dat"));
            }
            for m in &months {
                let k = time::partition_key(PartitionMode::Month, T0 + m * 31 * DAY_NS);
                names.push(format!("data-{k}.dat"));
            }
            names.sort();
            names.dedup();
            for n in &names {
                touch(d.path(), n, n.as_bytes());
            }
            let now = T0 + now_days * DAY_NS;
            let r = run(d.path(), PartitionMode::Day, retention, Action::Archive, now, &|_| false, false).unwrap();
            for p in &r.removed {
                let key = file_name(p).trim_start_matches("data-").trim_end_matches(".dat").to_string();
                let (_, _, end) = time::parse_partition_key(&key).unwrap();
                prop_assert!(end + i64::from(retention) * DAY_NS <= now, "{key} removed too early");
            }
            for n in &names {
                let key = n.trim_start_matches("data-").trim_end_matches(".dat");
                let (_, _, end) = time::parse_partition_key(key).unwrap();
                let young = end + i64::from(retention) * DAY_NS > now;
                prop_assert_eq!(d.path().join(n).exists(), young, "{}", n);
            }
            let mut archived: Vec<String> = Vec::new();
            let mut buckets: Vec<PathBuf> = r.archived.iter().map(|a| a.0.clone()).collect();
            buckets.sort();
            buckets.dedup();
            for b in &buckets {
                let mut ar = tar::Archive::new(File::open(b).unwrap());
                for e in ar.entries().unwrap() {
                    let mut e = e.unwrap();
                    let name = e.path().unwrap().to_string_lossy().into_owned();
                    let mut body = String::new();
                    e.read_to_string(&mut body).unwrap();
                    prop_assert_eq!(&body, &name, "content kept");
                    archived.push(name);
                }
            }
            archived.sort();
            let mut removed: Vec<String> = r.removed.iter().map(|p| file_name(p)).collect();
            removed.sort();
            prop_assert_eq!(archived, removed);
        }
    }
}
