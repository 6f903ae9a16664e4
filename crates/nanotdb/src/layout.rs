//! The on-disk layout of a data root and of its database directories
//! (docs/FORMATS.md §1): which files exist, what they are called, and how a
//! file name maps back to its kind and partition. Every other module asks
//! here instead of spelling out names, so the rules live in one place.
//!
//! ```text
//! <root>/engine.toml
//! <root>/nanotdb-server.lock          held by a running server
//! <root>/<db>/manifest.toml
//! <root>/<db>/catalog.json
//! <root>/<db>/<db>.wal
//! <root>/<db>/nanotdb.lock            held by the process writing <db>
//! <root>/<db>/data-<partition>.dat    raw frames as ingested
//! <root>/<db>/raw-<partition>.dat     a data file renamed after a metric-file build
//! <root>/<db>/metric-<partition>.dat  query-optimised metric file
//! <root>/<db>/rollup.checkpoints.log  rollup progress (name set in the manifest)
//! <root>/<db>/archive-<bucket>.tar    retention archives
//! ```

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::time;

/// The engine configuration at the top of a data root.
pub const ENGINE_CONFIG_FILE: &str = "engine.toml";
/// A database's configuration.
pub const MANIFEST_FILE: &str = "manifest.toml";
/// A database's metric names, ids and types.
pub const CATALOG_FILE: &str = "catalog.json";
/// The lock held by the process writing a database.
pub const DB_LOCK_FILE: &str = "nanotdb.lock";
/// The partitions holding out-of-order samples (docs/FORMATS.md §4.14).
pub const UNORDERED_FILE: &str = "out-of-order.keys";
/// The lock a server holds on its whole data root.
pub const ROOT_LOCK_FILE: &str = "nanotdb-server.lock";
/// Extension of WAL files.
pub const WAL_EXTENSION: &str = "wal";

/// The three kinds of per-partition files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PartitionFileKind {
    /// `data-<p>.dat`: frames appended as pages are flushed.
    Data,
    /// `raw-<p>.dat`: a data file renamed after a metric-file build.
    Raw,
    /// `metric-<p>.dat`: the partition's metric file.
    Metric,
}

impl PartitionFileKind {
    /// Every kind, in the order their prefixes sort.
    pub const ALL: [PartitionFileKind; 3] = [
        PartitionFileKind::Data,
        PartitionFileKind::Metric,
        PartitionFileKind::Raw,
    ];

    /// The file-name prefix (`data-`, `raw-`, `metric-`).
    pub fn prefix(self) -> &'static str {
        match self {
            PartitionFileKind::Data => "data-",
            PartitionFileKind::Raw => "raw-",
            PartitionFileKind::Metric => "metric-",
        }
    }

    /// The file name of partition `key`.
    pub fn file_name(self, key: &str) -> String {
        format!("{}{key}.dat", self.prefix())
    }

    /// Whether files of this kind hold raw frames (`data-` and `raw-`).
    pub fn holds_frames(self) -> bool {
        matches!(self, PartitionFileKind::Data | PartitionFileKind::Raw)
    }
}

/// What a file in a database directory is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbFileKind {
    /// A partition file with its partition key (which may not parse as a
    /// key: see [`parse_partition_file`]).
    Partition(PartitionFileKind, String),
    /// A `*.wal` file.
    Wal,
    /// `catalog.json`.
    Catalog,
    /// `manifest.toml`.
    Manifest,
    /// Anything else (locks, checkpoints, archives, torn-tail copies, …).
    Other,
}

/// A regular file of a database directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbFile {
    /// The file name.
    pub name: String,
    /// Its full path.
    pub path: PathBuf,
    /// Its size in bytes.
    pub len: u64,
    /// What it is.
    pub kind: DbFileKind,
}

/// Splits a partition file name into its kind and key: `data-2026-01-01.dat`
/// → `(Data, "2026-01-01")`. Names whose key is not a valid partition key
/// are not partition files.
pub fn parse_partition_file(name: &str) -> Option<(PartitionFileKind, &str)> {
    let (kind, key) = split_partition_name(name)?;
    time::parse_partition_key(key).map(|_| (kind, key))
}

/// [`parse_partition_file`] without checking the key.
fn split_partition_name(name: &str) -> Option<(PartitionFileKind, &str)> {
    let stem = name.strip_suffix(".dat")?;
    PartitionFileKind::ALL
        .into_iter()
        .find_map(|k| stem.strip_prefix(k.prefix()).map(|key| (k, key)))
}

/// What a file called `name` in a database directory is.
pub fn classify(name: &str) -> DbFileKind {
    if let Some((kind, key)) = split_partition_name(name) {
        return DbFileKind::Partition(kind, key.to_string());
    }
    match name {
        CATALOG_FILE => DbFileKind::Catalog,
        MANIFEST_FILE => DbFileKind::Manifest,
        _ if Path::new(name)
            .extension()
            .is_some_and(|e| e == WAL_EXTENSION) =>
        {
            DbFileKind::Wal
        }
        _ => DbFileKind::Other,
    }
}

/// Every regular file of the database directory `dir`, sorted by name, each
/// with its kind; an empty list when the directory does not exist.
pub fn files(dir: &Path) -> io::Result<Vec<DbFile>> {
    let rd = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for e in rd.flatten() {
        let Ok(name) = e.file_name().into_string() else {
            continue;
        };
        let Some(md) = e.metadata().ok().filter(|m| m.is_file()) else {
            continue;
        };
        out.push(DbFile {
            kind: classify(&name),
            path: e.path(),
            len: md.len(),
            name,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// `<root>/atomic-batches.log`, the commit log of atomic batches spanning
/// databases (`wal::commit`).
pub fn commit_log(root: &Path) -> PathBuf {
    root.join(crate::wal::commit::COMMIT_LOG)
}

/// `<root>/remote_write/`: one cursor file per remote-write target
/// (docs/FORMATS.md, "remote-write cursor"). Not a database: it has no
/// manifest or catalog.
pub fn remote_write_dir(root: &Path) -> PathBuf {
    root.join("remote_write")
}

/// `<root>/engine.toml`.
pub fn engine_config(root: &Path) -> PathBuf {
    root.join(ENGINE_CONFIG_FILE)
}

/// The paths of one database directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbLayout {
    dir: PathBuf,
    name: String,
}

impl DbLayout {
    /// The layout of database `name` under `root`.
    pub fn new(root: &Path, name: &str) -> DbLayout {
        DbLayout::at(root.join(name), name)
    }

    /// The layout of database `name` whose directory is `dir`.
    pub fn at(dir: PathBuf, name: &str) -> DbLayout {
        DbLayout {
            dir,
            name: name.to_string(),
        }
    }

    /// The database directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `<db>/<db>.wal`.
    pub fn wal(&self) -> PathBuf {
        self.dir.join(format!("{}.{WAL_EXTENSION}", self.name))
    }

    /// `<db>/catalog.json`.
    pub fn catalog(&self) -> PathBuf {
        self.dir.join(CATALOG_FILE)
    }

    /// `<db>/manifest.toml`.
    pub fn manifest(&self) -> PathBuf {
        self.dir.join(MANIFEST_FILE)
    }

    /// `<db>/nanotdb.lock`.
    pub fn lock(&self) -> PathBuf {
        self.dir.join(DB_LOCK_FILE)
    }

    /// `<db>/out-of-order.keys`: partitions whose files may hold a
    /// metric's samples out of time order.
    pub fn unordered(&self) -> PathBuf {
        self.dir.join(UNORDERED_FILE)
    }

    /// The rollup checkpoint log, whose name the manifest sets.
    pub fn checkpoints(&self, file_name: &str) -> PathBuf {
        self.dir.join(file_name)
    }

    /// The partition file of `kind` for partition `key`.
    pub fn partition_file(&self, kind: PartitionFileKind, key: &str) -> PathBuf {
        self.dir.join(kind.file_name(key))
    }

    /// `<db>/data-<key>.dat`.
    pub fn data(&self, key: &str) -> PathBuf {
        self.partition_file(PartitionFileKind::Data, key)
    }

    /// `<db>/raw-<key>.dat`.
    pub fn raw(&self, key: &str) -> PathBuf {
        self.partition_file(PartitionFileKind::Raw, key)
    }

    /// `<db>/metric-<key>.dat`.
    pub fn metric(&self, key: &str) -> PathBuf {
        self.partition_file(PartitionFileKind::Metric, key)
    }

    /// Every regular file of the directory, sorted by name (see [`files`]).
    pub fn files(&self) -> io::Result<Vec<DbFile>> {
        files(&self.dir)
    }

    /// The partition files whose key is valid, sorted by name.
    pub fn partition_files(&self) -> io::Result<Vec<(PartitionFileKind, String, PathBuf)>> {
        Ok(self
            .files()?
            .into_iter()
            .filter_map(|f| match parse_partition_file(&f.name) {
                Some((kind, key)) => Some((kind, key.to_string(), f.path)),
                None => None,
            })
            .collect())
    }

    /// Whether the directory looks like a database: it has a manifest, a
    /// catalog, its WAL or a data file (docs/FORMATS.md §1).
    pub fn looks_like_db(&self) -> bool {
        if self.manifest().is_file() || self.catalog().is_file() || self.wal().is_file() {
            return true;
        }
        fs::read_dir(&self.dir).is_ok_and(|rd| {
            rd.flatten().any(|e| {
                let n = e.file_name();
                split_partition_name(&n.to_string_lossy())
                    .is_some_and(|(k, _)| k == PartitionFileKind::Data)
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let l = DbLayout::new(Path::new("/r"), "edge");
        assert_eq!(l.wal(), Path::new("/r/edge/edge.wal"));
        assert_eq!(l.catalog(), Path::new("/r/edge/catalog.json"));
        assert_eq!(l.manifest(), Path::new("/r/edge/manifest.toml"));
        assert_eq!(l.lock(), Path::new("/r/edge/nanotdb.lock"));
        assert_eq!(
            l.data("2026-01-01"),
            Path::new("/r/edge/data-2026-01-01.dat")
        );
        assert_eq!(l.raw("2026-01"), Path::new("/r/edge/raw-2026-01.dat"));
        assert_eq!(l.metric("forever"), Path::new("/r/edge/metric-forever.dat"));
        for kind in PartitionFileKind::ALL {
            let name = kind.file_name("2026-01-01");
            assert_eq!(parse_partition_file(&name), Some((kind, "2026-01-01")));
        }
    }

    #[test]
    fn classification() {
        use DbFileKind as K;
        use PartitionFileKind as P;
        assert_eq!(
            classify("data-2026-01-01.dat"),
            K::Partition(P::Data, "2026-01-01".into())
        );
        assert_eq!(
            classify("metric-x.dat"),
            K::Partition(P::Metric, "x".into())
        );
        assert_eq!(
            parse_partition_file("metric-x.dat"),
            None,
            "not a partition key"
        );
        assert_eq!(classify("edge.wal"), K::Wal);
        assert_eq!(classify("catalog.json"), K::Catalog);
        assert_eq!(classify("manifest.toml"), K::Manifest);
        assert_eq!(classify("data-2026-01-01.dat.torn-at-5"), K::Other);
        assert_eq!(classify("nanotdb.lock"), K::Other);
    }
}
