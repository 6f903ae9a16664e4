//! `catalog.json`: the registry mapping metric names to ids and types (docs/FORMATS.md §5).
//!
//! Once a database has a float64 or int64 metric, the file also carries a
//! guard entry whose id does not fit a u16, so v1.4.0 refuses to open the
//! database instead of misreading its frames (docs/FORMATS.md §5.5); once it
//! has a name longer than 255 bytes, a second guard does the same for the
//! long-name WAL records (docs/FORMATS.md §4.15). This implementation
//! recognises the guards and skips them.

use std::fs;
use std::hash::BuildHasher;
use std::io::Write;
use std::path::{Path, PathBuf};

use foldhash::HashMap;
use serde::{Deserialize, Serialize};

use crate::error::{Error, IoContext, Result};
use crate::fsutil;
use crate::sample::{MetricId, ValueType};

/// One registered metric.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricInfo {
    /// The metric name (without the database).
    pub name: String,
    /// Catalog id, 1..=65535.
    pub id: MetricId,
    /// The type fixed by the metric's first sample.
    pub value_type: ValueType,
}

/// Name of the guard entry (not a valid metric name: it has spaces).
pub const GUARD_NAME: &str = "nanotdb-rs: 8-byte values (float64/int64), see docs/FORMATS.md 5.5; v1.4.0 cannot read this database";
/// Id of the guard entry: one past the u16 range, which v1.4.0 refuses.
pub const GUARD_ID: u64 = 65536;
/// Name of the guard entry of a database holding a metric name longer than
/// v1.4.0's WAL can carry (docs/FORMATS.md §4.15).
pub const LONG_GUARD_NAME: &str = "nanotdb-rs: metric names over 255 bytes, see docs/FORMATS.md 4.15; v1.4.0 cannot read this database";
/// Id of the long-name guard entry (out of the u16 range too).
pub const LONG_GUARD_ID: u64 = 65537;
/// Longest name v1.4.0's WAL record can carry (a one-byte length).
pub const V1_MAX_NAME_LEN: usize = 255;

/// An entry as written: borrowed, so a save does not copy every name.
#[derive(Serialize)]
struct FileEntryRef<'a> {
    name: &'a str,
    id: u64,
    #[serde(rename = "type")]
    value_type: u64,
}

#[derive(Serialize)]
struct FileShapeRef<'a> {
    metrics: Option<Vec<FileEntryRef<'a>>>,
}

/// The ids of the metrics by a hash of their name. The names live once, in
/// `Catalog::by_id` (a map keyed by name kept a second copy of every name:
/// with long label sets, most of a big catalog's memory).
#[derive(Debug, Clone, Default)]
struct NameIndex {
    hasher: foldhash::fast::FixedState,
    ids: HashMap<u64, Ids>,
}

/// The ids whose names share one hash (almost always one).
#[derive(Debug, Clone)]
enum Ids {
    One(MetricId),
    Many(Vec<MetricId>),
}

impl NameIndex {
    fn ids(&self, name: &str) -> &[MetricId] {
        match self.ids.get(&self.hasher.hash_one(name)) {
            None => &[],
            Some(Ids::One(id)) => std::slice::from_ref(id),
            Some(Ids::Many(v)) => v,
        }
    }

    /// The id of `name`, its name read from `by_id`.
    fn get(&self, name: &str, by_id: &[Option<MetricInfo>]) -> Option<MetricId> {
        self.ids(name).iter().copied().find(|&id| {
            by_id
                .get(usize::from(id))
                .and_then(Option::as_ref)
                .is_some_and(|m| m.name == name)
        })
    }

    /// Adds `id` under `name` (not indexed yet).
    fn add(&mut self, name: &str, id: MetricId) {
        let h = self.hasher.hash_one(name);
        match self.ids.get_mut(&h) {
            None => {
                self.ids.insert(h, Ids::One(id));
            }
            Some(Ids::Many(v)) => v.push(id),
            Some(slot @ Ids::One(_)) => {
                if let Ids::One(first) = *slot {
                    *slot = Ids::Many(vec![first, id]);
                }
            }
        }
    }

    /// Removes `id` from under `name`.
    fn remove(&mut self, name: &str, id: MetricId) {
        let h = self.hasher.hash_one(name);
        let empty = match self.ids.get_mut(&h) {
            None => false,
            Some(Ids::One(x)) => *x == id,
            Some(Ids::Many(v)) => {
                v.retain(|x| *x != id);
                v.is_empty()
            }
        };
        if empty {
            self.ids.remove(&h);
        }
    }
}

#[derive(Deserialize)]
struct FileEntry {
    name: String,
    id: u64,
    #[serde(rename = "type")]
    value_type: u64,
}

#[derive(Deserialize, Default)]
struct FileShape {
    #[serde(default)]
    metrics: Option<Vec<FileEntry>>,
}

/// The ids of a catalog's metrics by a hash of their name, copied out of
/// it for writers to look their metrics up before they take the database
/// lock. Holds no names: an id found here is only a guess, which the
/// writer checks against the catalog's name under the lock.
#[derive(Debug, Clone, Default)]
pub struct NameHints {
    hasher: foldhash::fast::FixedState,
    ids: HashMap<u64, MetricId>,
    /// How many metrics the catalog had when copied.
    catalog_len: usize,
}

impl NameHints {
    /// The id `name` probably has (None when unknown, or when two names
    /// of the catalog share its hash).
    #[inline]
    pub fn get(&self, name: &str) -> Option<MetricId> {
        self.ids.get(&self.hasher.hash_one(name)).copied()
    }

    /// How many metrics the catalog had when copied.
    pub fn catalog_len(&self) -> usize {
        self.catalog_len
    }
}

/// In-memory catalog of one database.
#[derive(Debug, Default, Clone)]
pub struct Catalog {
    by_name: NameIndex,
    /// Indexed by id; `None` for unused ids.
    by_id: Vec<Option<MetricInfo>>,
    count: usize,
    /// Metrics of an 8-byte type (float64, int64).
    wide: usize,
    /// The file on disk carries the guard entry (loaded with it or saved
    /// since a wide metric exists).
    guard_on_disk: bool,
    /// Metrics whose name is longer than [`V1_MAX_NAME_LEN`].
    long: usize,
    /// The file on disk carries the long-name guard entry.
    long_guard_on_disk: bool,
    dirty: bool,
}

impl Catalog {
    /// Loads `catalog.json`. A missing or 0-byte file is an empty catalog.
    /// Unknown fields and trailing bytes are ignored, as in the reference.
    pub fn load(path: &Path) -> Result<Catalog> {
        let bytes = match fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Catalog::default()),
            Err(e) => return Err(Error::io(path, e)),
        };
        Catalog::parse(&bytes, path)
    }

    /// Parses catalog bytes; `path` only names the file in errors.
    pub fn parse(bytes: &[u8], path: &Path) -> Result<Catalog> {
        let mut cat = Catalog::default();
        if bytes.iter().all(|b| b.is_ascii_whitespace()) {
            return Ok(cat);
        }
        let bad = |reason: String| Error::Catalog {
            path: path.to_path_buf(),
            reason,
        };
        // Only the first JSON value counts; bytes after it are ignored.
        let mut stream = serde_json::Deserializer::from_slice(bytes).into_iter::<FileShape>();
        let shape = match stream.next() {
            Some(Ok(s)) => s,
            Some(Err(e)) => return Err(bad(format!("invalid JSON: {e}"))),
            None => return Ok(cat),
        };
        for entry in shape.metrics.unwrap_or_default() {
            if entry.id == GUARD_ID && entry.name == GUARD_NAME {
                cat.guard_on_disk = true;
                continue;
            }
            if entry.id == LONG_GUARD_ID && entry.name == LONG_GUARD_NAME {
                cat.long_guard_on_disk = true;
                continue;
            }
            let id = u16::try_from(entry.id)
                .ok()
                .filter(|id| *id != 0)
                .ok_or_else(|| {
                    bad(format!(
                        "metric {:?}: id {} out of range",
                        entry.name, entry.id
                    ))
                })?;
            let value_type = u8::try_from(entry.value_type)
                .ok()
                .and_then(ValueType::from_code)
                .ok_or_else(|| {
                    bad(format!(
                        "metric {:?}: unknown value type {}",
                        entry.name, entry.value_type
                    ))
                })?;
            if entry.name.is_empty() {
                return Err(bad(format!("metric id {id} has an empty name")));
            }
            // Later duplicates overwrite earlier ones, as in the reference.
            cat.insert_unchecked(MetricInfo {
                name: entry.name,
                id,
                value_type,
            });
        }
        Ok(cat)
    }

    fn insert_unchecked(&mut self, info: MetricInfo) {
        let idx = usize::from(info.id);
        if self.by_id.len() <= idx {
            self.by_id.resize(idx + 1, None);
        }
        if let Some(old) = self.by_id[idx].take() {
            self.by_name.remove(&old.name, info.id);
            self.forget(&old);
        }
        // The same name under another id: that entry goes.
        if let Some(old_id) = self.by_name.get(&info.name, &self.by_id)
            && let Some(old) = self
                .by_id
                .get_mut(usize::from(old_id))
                .and_then(Option::take)
        {
            self.by_name.remove(&old.name, old_id);
            self.forget(&old);
        }
        self.by_name.add(&info.name, info.id);
        self.wide += usize::from(info.value_type.is_wide());
        self.long += usize::from(info.name.len() > V1_MAX_NAME_LEN);
        self.by_id[idx] = Some(info);
        self.count += 1;
    }

    /// Takes a replaced entry out of the counts.
    fn forget(&mut self, old: &MetricInfo) {
        self.count -= 1;
        self.wide -= usize::from(old.value_type.is_wide());
        self.long -= usize::from(old.name.len() > V1_MAX_NAME_LEN);
    }

    /// True when some metric's name is longer than v1.4.0's WAL can carry
    /// ([`V1_MAX_NAME_LEN`]): its WAL records use the long-name layout and
    /// the file carries the long-name guard entry (docs/FORMATS.md §4.15).
    pub fn has_long_names(&self) -> bool {
        self.long > 0
    }

    /// True when some metric has an 8-byte type (float64, int64): frames and
    /// WAL records of this database may use the wide layouts, and the file
    /// carries the guard entry (docs/FORMATS.md §5.5).
    pub fn has_wide(&self) -> bool {
        self.wide > 0
    }

    /// True when metric `id` has an 8-byte type.
    #[inline]
    pub fn is_wide(&self, id: MetricId) -> bool {
        self.get(id).is_some_and(|m| m.value_type.is_wide())
    }

    /// True when a wide metric (or a long name) exists but the file on disk
    /// does not carry its guard yet: it must be saved before any record of
    /// that metric is written anywhere, so v1.4.0 never opens the database
    /// half-aware.
    pub fn guard_pending(&self) -> bool {
        (self.has_wide() && !self.guard_on_disk)
            || (self.has_long_names() && !self.long_guard_on_disk)
    }

    /// The ids of the metrics by a hash of their name ([`NameHints`]).
    pub fn name_hints(&self) -> NameHints {
        // Sized once: this runs under the database lock.
        let mut ids = HashMap::with_capacity_and_hasher(self.by_name.ids.len(), Default::default());
        ids.extend(self.by_name.ids.iter().filter_map(|(&h, ids)| match ids {
            Ids::One(id) => Some((h, *id)),
            Ids::Many(_) => None,
        }));
        NameHints {
            hasher: self.by_name.hasher.clone(),
            ids,
            catalog_len: self.count,
        }
    }

    /// Looks a metric up by the id a hint gave (see [`NameHints`]): the id
    /// counts only if it is `name`'s, else the name is looked up.
    #[inline]
    pub fn lookup_hinted(
        &self,
        name: &str,
        hint: Option<MetricId>,
    ) -> Option<(MetricId, ValueType)> {
        if let Some(id) = hint
            && let Some(m) = self.get(id)
            && m.name == name
        {
            return Some((id, m.value_type));
        }
        self.lookup(name)
    }

    /// Looks a metric up by name.
    pub fn lookup(&self, name: &str) -> Option<(MetricId, ValueType)> {
        let id = self.by_name.get(name, &self.by_id)?;
        self.get(id).map(|m| (id, m.value_type))
    }

    /// Looks a metric up by id.
    pub fn get(&self, id: MetricId) -> Option<&MetricInfo> {
        self.by_id.get(usize::from(id)).and_then(Option::as_ref)
    }

    /// Number of metrics.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True when no metric is registered.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Highest id in use (0 when empty).
    pub fn max_id(&self) -> MetricId {
        self.by_id
            .iter()
            .rposition(Option::is_some)
            .and_then(|i| u16::try_from(i).ok())
            .unwrap_or(0)
    }

    /// The id a new metric would get: one past the highest id in use, or the
    /// lowest free id once 65535 is taken. Unlike the reference ("count + 1")
    /// this can never hand out an id that is already used.
    pub fn next_id(&self) -> Option<MetricId> {
        let max = self.max_id();
        if max < u16::MAX {
            return Some(max + 1);
        }
        (1..=u16::MAX).find(|id| self.get(*id).is_none())
    }

    /// Registers a new metric and returns its id. The caller checked that the
    /// name is valid and not yet registered.
    pub fn register(&mut self, name: &str, value_type: ValueType) -> Option<MetricId> {
        let id = self.next_id()?;
        self.insert_unchecked(MetricInfo {
            name: name.to_string(),
            id,
            value_type,
        });
        self.dirty = true;
        Some(id)
    }

    /// Registers a metric under a given id (from a WAL record). Agreeing
    /// entries are a no-op; conflicting ones are an error naming both sides.
    pub fn register_with_id(
        &mut self,
        name: &str,
        id: MetricId,
        value_type: ValueType,
    ) -> std::result::Result<(), String> {
        if id == 0 {
            return Err(format!("metric {name:?} has id 0"));
        }
        if name.is_empty() {
            return Err(format!("metric id {id} has an empty name"));
        }
        if let Some(existing) = self.get(id) {
            if existing.name == name && existing.value_type == value_type {
                return Ok(());
            }
            return Err(format!(
                "metric id {id} is {:?} ({}) in the catalog but {name:?} ({value_type}) in the WAL",
                existing.name, existing.value_type
            ));
        }
        if let Some((other, t)) = self.lookup(name) {
            return Err(format!(
                "metric {name:?} has id {other} ({t}) in the catalog but id {id} ({value_type}) in the WAL"
            ));
        }
        self.insert_unchecked(MetricInfo {
            name: name.to_string(),
            id,
            value_type,
        });
        self.dirty = true;
        Ok(())
    }

    /// Every metric, in id order.
    pub fn iter(&self) -> impl Iterator<Item = &MetricInfo> {
        self.by_id.iter().flatten()
    }

    /// Every metric, sorted by name.
    pub fn metrics_sorted(&self) -> Vec<MetricInfo> {
        let mut v: Vec<MetricInfo> = self.by_id.iter().flatten().cloned().collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }

    /// True when metrics were registered since the last save.
    pub fn is_dirty(&self) -> bool {
        self.dirty
    }

    /// Serialises in the reference's shape (2-space indent, trailing newline),
    /// entries sorted by id so the file is stable between writes; the guard
    /// entries come last, each only when a wide metric or a long name exists.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = Vec::new();
        // Writing into a Vec cannot fail.
        let _ = self.write_json(&mut out);
        out
    }

    /// [`Catalog::to_json`] into `w`, without building the text (or copying
    /// the names) in memory first.
    fn write_json(&self, w: &mut impl Write) -> std::io::Result<()> {
        let mut entries: Vec<FileEntryRef> = self
            .by_id
            .iter()
            .flatten()
            .map(|m| FileEntryRef {
                name: &m.name,
                id: u64::from(m.id),
                value_type: u64::from(m.value_type.code()),
            })
            .collect();
        if self.has_wide() {
            entries.push(FileEntryRef {
                name: GUARD_NAME,
                id: GUARD_ID,
                value_type: 0,
            });
        }
        if self.has_long_names() {
            entries.push(FileEntryRef {
                name: LONG_GUARD_NAME,
                id: LONG_GUARD_ID,
                value_type: 0,
            });
        }
        let shape = FileShapeRef {
            metrics: Some(entries),
        };
        serde_json::to_writer_pretty(&mut *w, &shape)?;
        w.write_all(b"\n")
    }

    /// Writes the catalog atomically (tmp file, fsync, rename, directory
    /// fsync) if it has unsaved metrics.
    pub fn save_if_dirty(&mut self, path: &Path) -> Result<bool> {
        if !self.dirty {
            return Ok(false);
        }
        let tmp = tmp_path(path);
        {
            let f = fs::File::create(&tmp).at(&tmp)?;
            let mut w = std::io::BufWriter::with_capacity(1 << 16, f);
            self.write_json(&mut w).at(&tmp)?;
            let f = w.into_inner().map_err(|e| e.into_error()).at(&tmp)?;
            f.sync_all().at(&tmp)?;
        }
        fs::rename(&tmp, path).at(path)?;
        fsutil::sync_parent(path)?;
        self.dirty = false;
        self.guard_on_disk = self.has_wide();
        self.long_guard_on_disk = self.has_long_names();
        Ok(true)
    }
}

fn tmp_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".tmp");
    PathBuf::from(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_is_empty_catalog() {
        let c = Catalog::parse(b"", Path::new("c")).unwrap();
        assert!(c.is_empty());
        let c = Catalog::parse(b"{}", Path::new("c")).unwrap();
        assert!(c.is_empty());
        let c = Catalog::parse(b"{\"metrics\":null}", Path::new("c")).unwrap();
        assert!(c.is_empty());
    }

    #[test]
    fn parses_reference_shape_and_ignores_trailing_bytes() {
        let json = br#"{"metrics":[{"name":"room.temp","id":1,"type":2,"x":1},{"name":"door","id":2,"type":1}]} trailing"#;
        let c = Catalog::parse(json, Path::new("c")).unwrap();
        assert_eq!(c.lookup("room.temp"), Some((1, ValueType::Float32)));
        assert_eq!(c.lookup("door"), Some((2, ValueType::Int32)));
        assert_eq!(c.get(2).unwrap().name, "door");
        assert_eq!(c.len(), 2);
    }

    #[test]
    fn hints_guess_ids_and_only_the_catalog_confirms_them() {
        let mut c = Catalog::default();
        let a = c.register("a", ValueType::Float32).unwrap();
        let b = c.register("b", ValueType::Int32).unwrap();
        let hints = c.name_hints();
        assert_eq!((hints.get("a"), hints.get("b")), (Some(a), Some(b)));
        assert_eq!(hints.get("c"), None);
        assert_eq!(hints.catalog_len(), 2);
        // A right hint, a wrong one (another metric's id), a stale one (an
        // unused id) and none: the answer is always the catalog's.
        assert_eq!(c.lookup_hinted("a", Some(a)), Some((a, ValueType::Float32)));
        assert_eq!(c.lookup_hinted("a", Some(b)), Some((a, ValueType::Float32)));
        assert_eq!(c.lookup_hinted("b", Some(999)), Some((b, ValueType::Int32)));
        assert_eq!(c.lookup_hinted("c", Some(a)), None);
        assert_eq!(c.lookup_hinted("b", None), Some((b, ValueType::Int32)));
    }

    #[test]
    fn rejects_bad_ids_and_types() {
        for json in [
            r#"{"metrics":[{"name":"a","id":70000,"type":2}]}"#,
            r#"{"metrics":[{"name":"a","id":0,"type":2}]}"#,
            r#"{"metrics":[{"name":"a","id":1,"type":5}]}"#,
            r#"{"metrics":[{"name":"a","id":65536,"type":0}]}"#,
            r#"{"metrics":[{"name":"","id":1,"type":1}]}"#,
            r#"{"metrics":[{"name":"a","id":-1,"type":1}]}"#,
            r#"{"metrics":"#,
        ] {
            assert!(
                matches!(
                    Catalog::parse(json.as_bytes(), Path::new("c")),
                    Err(Error::Catalog { .. })
                ),
                "{json}"
            );
        }
    }

    #[test]
    fn new_ids_never_collide_with_gaps() {
        let json = br#"{"metrics":[{"name":"a","id":1,"type":2},{"name":"c","id":3,"type":2}]}"#;
        let mut c = Catalog::parse(json, Path::new("c")).unwrap();
        // The reference would hand out count+1 = 3, which is taken.
        assert_eq!(c.register("d", ValueType::Float32), Some(4));
        assert_eq!(c.lookup("c"), Some((3, ValueType::Float32)));
    }

    #[test]
    fn full_catalog_reuses_lowest_gap_then_fails() {
        let mut c = Catalog::default();
        c.insert_unchecked(MetricInfo {
            name: "top".into(),
            id: u16::MAX,
            value_type: ValueType::Int32,
        });
        assert_eq!(c.next_id(), Some(1));
        for i in 1..u16::MAX {
            c.insert_unchecked(MetricInfo {
                name: format!("m{i}"),
                id: i,
                value_type: ValueType::Int32,
            });
        }
        assert_eq!(c.next_id(), None);
        assert_eq!(c.register("x", ValueType::Int32), None);
    }

    #[test]
    fn register_with_id_conflicts() {
        let mut c = Catalog::default();
        c.register_with_id("a", 5, ValueType::Int32).unwrap();
        c.register_with_id("a", 5, ValueType::Int32).unwrap();
        assert!(c.register_with_id("b", 5, ValueType::Int32).is_err());
        assert!(c.register_with_id("a", 6, ValueType::Int32).is_err());
        assert!(c.register_with_id("a", 5, ValueType::Float32).is_err());
    }

    #[test]
    fn save_and_reload_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("catalog.json");
        let mut c = Catalog::default();
        c.register("x<y>&", ValueType::Float32);
        c.register("n", ValueType::Int32);
        assert!(c.save_if_dirty(&path).unwrap());
        assert!(!c.save_if_dirty(&path).unwrap());
        let back = Catalog::load(&path).unwrap();
        assert_eq!(back.metrics_sorted(), c.metrics_sorted());
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("{\n  \"metrics\": [\n"), "{text}");
        assert!(text.ends_with("}\n"));
    }

    #[test]
    fn guard_entry_exactly_when_a_wide_metric_exists() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("catalog.json");
        let mut c = Catalog::default();
        c.register("f32", ValueType::Float32);
        c.register("i32", ValueType::Int32);
        assert!(!c.has_wide() && !c.guard_pending());
        c.save_if_dirty(&path).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert!(!text.contains("65536"), "{text}");
        for (i, vt) in [ValueType::Float64, ValueType::Int64]
            .into_iter()
            .enumerate()
        {
            c.register(&format!("w{i}"), vt);
            assert!(c.has_wide() && c.is_wide(3 + i as u16));
            assert_eq!(c.guard_pending(), i == 0);
            c.save_if_dirty(&path).unwrap();
            assert!(!c.guard_pending());
            let text = fs::read_to_string(&path).unwrap();
            assert_eq!(text.matches("\"id\": 65536").count(), 1, "{text}");
            assert!(text.contains(GUARD_NAME));
            let back = Catalog::load(&path).unwrap();
            assert_eq!(back.metrics_sorted(), c.metrics_sorted());
            assert_eq!(back.len(), 3 + i);
            assert!(back.has_wide() && !back.guard_pending());
        }
        // What v1.4.0 checks (docs/FORMATS.md §5.2): some id does not fit a u16.
        let v: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        let ids: Vec<u64> = v["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_u64().unwrap())
            .collect();
        assert_eq!(ids, [1, 2, 3, 4, GUARD_ID]);
        assert!(!text.contains("65537"), "{text}");
        // A catalog of v1.4.0's types only is unchanged by a later load/save.
        let json = br#"{"metrics":[{"name":"a","id":1,"type":2}]}"#;
        let c = Catalog::parse(json, Path::new("c")).unwrap();
        assert!(!c.has_wide());
        assert!(!String::from_utf8(c.to_json()).unwrap().contains("65536"));
    }

    #[test]
    fn long_name_guard_exactly_when_a_long_name_exists() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("catalog.json");
        let mut c = Catalog::default();
        c.register(&"a".repeat(V1_MAX_NAME_LEN), ValueType::Float32);
        assert!(!c.has_long_names() && !c.guard_pending());
        c.save_if_dirty(&path).unwrap();
        assert!(!fs::read_to_string(&path).unwrap().contains("65537"));
        let long = "b".repeat(4096);
        c.register(&long, ValueType::Float32);
        assert!(c.has_long_names() && c.guard_pending());
        c.save_if_dirty(&path).unwrap();
        assert!(!c.guard_pending());
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(text.matches("\"id\": 65537").count(), 1, "{text}");
        assert!(text.contains(LONG_GUARD_NAME) && !text.contains("65536"));
        let back = Catalog::load(&path).unwrap();
        assert_eq!(back.metrics_sorted(), c.metrics_sorted());
        assert!(back.has_long_names() && !back.guard_pending());
        assert_eq!(back.lookup(&long), Some((2, ValueType::Float32)));
        // Both guards, 8-byte values' first.
        c.register("w", ValueType::Float64);
        assert!(c.guard_pending());
        c.save_if_dirty(&path).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        let ids: Vec<u64> = v["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_u64().unwrap())
            .collect();
        assert_eq!(ids, [1, 2, 3, GUARD_ID, LONG_GUARD_ID]);
    }

    #[test]
    fn names_sharing_a_hash_are_told_apart_by_their_text() {
        let info = |name: &str, id| {
            Some(MetricInfo {
                name: name.to_string(),
                id,
                value_type: ValueType::Int32,
            })
        };
        let by_id = vec![None, info("x", 1), info("a", 2)];
        let mut idx = NameIndex::default();
        // Both under the hash of "a", as a collision would put them.
        idx.add("a", 1);
        idx.add("a", 2);
        assert_eq!(idx.get("a", &by_id), Some(2));
        idx.remove("a", 2);
        assert_eq!(idx.get("a", &by_id), None);
        assert_eq!(idx.ids("a"), [1]);
        idx.remove("a", 1);
        assert!(idx.ids.is_empty());
    }

    #[test]
    fn a_later_duplicate_name_or_id_replaces_the_earlier_entry() {
        let json = br#"{"metrics":[{"name":"a","id":1,"type":1},{"name":"b","id":2,"type":2},
            {"name":"a","id":3,"type":2},{"name":"c","id":2,"type":1}]}"#;
        let c = Catalog::parse(json, Path::new("c")).unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c.lookup("a"), Some((3, ValueType::Float32)));
        assert_eq!(c.lookup("b"), None);
        assert_eq!(c.lookup("c"), Some((2, ValueType::Int32)));
        assert!(c.get(1).is_none());
    }
}
