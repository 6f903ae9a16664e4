//! What a database remembers about its metric files between queries: open
//! handles (a bounded LRU, so years of day partitions never exhaust file
//! descriptors), and per file version whether it was verified and how it
//! combines with the raw files (its read plan).
//!
//! A metric file is decoded whole once per version (size and modification
//! time) before its first use: damage found halfway through a query could
//! not be undone. That verdict and the plan outlive the handle, so a query
//! over more partitions than there are handle slots reopens files (cheap:
//! header and indexes) but never decodes them all again.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use std::ops::ControlFlow;

use crate::error::Result;
use crate::metricfile::{MetricFile, Run};
use crate::sample::MetricId;

use super::framecache::path_bytes;
use super::metric::Plan;
use super::view_read::ViewSink;
use super::{Database, PartitionView};

impl Database {
    /// One metric's samples of a partition's metric file in a long scan,
    /// straight from the slice cache when this file version's plan and
    /// slice are both known (no open, no index read: a long scan touches
    /// more files than the handle cache keeps), with the data-file offset
    /// reads continue from.
    pub(super) fn cached_metric_slice(
        &self,
        view: &PartitionView,
        mpath: &Path,
        id: MetricId,
    ) -> Option<(u64, super::framecache::Slice)> {
        let version = self.metric_version(mpath).ok()?;
        let raw_len = view.raw.as_ref().map(|r| r.1);
        let Plan::MetricThenDataFrom(off) = self.metric_cache.plan(mpath, version, raw_len)? else {
            return None;
        };
        let slice = self.frames.slice(mpath, slice_tag(version.0), id)?;
        Some((off, slice))
    }

    /// One metric's samples of a metric file in a long scan, through the
    /// slice cache: the whole metric is decoded once and kept (a panel over
    /// years of day partitions reads each file's few hundred samples).
    pub(super) fn read_metric_slice(
        &self,
        mf: &MetricFile,
        id: MetricId,
        from: i64,
        to: i64,
        sink: &mut dyn ViewSink,
    ) -> Result<ControlFlow<()>> {
        let tag = slice_tag(mf.len());
        let slice = match self.frames.slice(mf.path(), tag, id) {
            Some(s) => s,
            None => {
                // Kept only if no file was forgotten meanwhile (see
                // `metric_handle`).
                let generation = self.metric_cache.generation();
                let mut all = Vec::new();
                mf.read_metric(id, i64::MIN, i64::MAX, &mut |ts, v| {
                    all.push((ts, v));
                    ControlFlow::Continue(())
                })?;
                let s: super::framecache::Slice = all.into();
                if self.metric_cache.generation() == generation {
                    self.frames.insert_slice((mf.path(), tag, id), s.clone());
                }
                s
            }
        };
        Ok(Run::Pairs(&slice).each_in_range(from, to, &mut |r| sink.run(id, r)))
    }
}

impl Database {
    /// The version of metric file `path`. While this database holds its
    /// write lock every change of its metric files goes through it and
    /// forgets what it changes (`forget_metric`), so the version the cache
    /// last saw is current: a query over two years of day partitions then
    /// skips 730 `stat` calls (a tenth of a one-metric query's CPU time).
    /// Without the lock (a read-only database, or one closed while a query
    /// still holds it) it asks the file system: another process may
    /// rebuild files under it. Taking the lock again forgets what was seen
    /// without it (`materialize`).
    pub(super) fn metric_version(&self, path: &Path) -> std::io::Result<Version> {
        if self.holds_lock()
            && let Some(v) = self.metric_cache.known_version(path)
        {
            return Ok(v);
        }
        let meta = std::fs::metadata(path)?;
        Ok((meta.len(), meta.modified().ok()))
    }
}

/// The slice-cache tag of a metric file of `len` bytes: in a range raw-file
/// offsets never reach; a rebuilt file is also forgotten by path
/// (`forget_metric`).
fn slice_tag(len: u64) -> u64 {
    (1 << 63) | len
}

/// Metric files kept open through a file descriptor, per database.
pub(super) const MAX_OPEN: usize = 128;
/// Bytes of small metric files (read whole at open, no descriptor:
/// [`crate::metricfile::RESIDENT_MAX`]) kept per database, with their
/// indexes: two years of day partitions of 32 ten-minute series take
/// 3.6 MB in v3 and 13 MB in v2, so a query over all of them opens none.
pub(super) const MAX_RESIDENT_BYTES: usize = 16 << 20;
/// File versions remembered per database (each a few dozen bytes); past
/// this the memory is dropped and rebuilt as files are used again.
pub(super) const MAX_KNOWN: usize = 1 << 16;

/// One version of a file: its size and modification time.
pub(super) type Version = (u64, Option<SystemTime>);

struct Open {
    version: Version,
    file: Arc<MetricFile>,
    used: u64,
    /// Memory the handle holds when the file was read whole; `None`: it
    /// holds a file descriptor.
    resident: Option<usize>,
}

struct Known {
    version: Version,
    /// (raw file length it was computed for, the plan).
    plan: Option<(Option<u64>, Plan)>,
}

#[derive(Default)]
struct Inner {
    /// By path bytes (see [`path_bytes`]).
    open: HashMap<Arc<[u8]>, Open>,
    /// Last use → path of the open handles, least recent first: those
    /// holding a descriptor, and those read whole (each kind is closed for
    /// its own budget).
    lru: [BTreeMap<u64, Arc<[u8]>>; 2],
    /// Open handles holding a file descriptor.
    descriptors: usize,
    /// Memory held by the open handles read whole.
    resident: usize,
    /// By path bytes.
    known: HashMap<Box<[u8]>, Known>,
    tick: u64,
    /// Files forgotten so far: what was read before a file was forgotten
    /// is not kept (`insert`).
    generation: u64,
    /// File versions decoded whole so far (for tests).
    #[cfg(test)]
    verified: usize,
}

impl Inner {
    /// Closes the handle of the file at path bytes `path`, if open.
    fn close(&mut self, path: &[u8]) {
        if let Some(e) = self.open.remove(path) {
            self.lru[kind(e.resident)].remove(&e.used);
            match e.resident {
                Some(n) => self.resident -= n,
                None => self.descriptors -= 1,
            }
        }
    }

    /// Closes the least recently used handles until both budgets hold.
    fn evict(&mut self, (descriptors, resident): (usize, usize)) {
        while self.descriptors > descriptors {
            let Some((_, path)) = self.lru[0].pop_first() else {
                break;
            };
            self.close(&path);
        }
        while self.resident > resident {
            let Some((_, path)) = self.lru[1].pop_first() else {
                break;
            };
            self.close(&path);
        }
    }
}

/// The LRU list of a handle: 0 with a descriptor, 1 read whole.
fn kind(resident: Option<usize>) -> usize {
    usize::from(resident.is_some())
}

/// Open metric files and what is known of each version; see the module docs.
pub(crate) struct MetricCache {
    inner: Mutex<Inner>,
    /// Most open handles holding a descriptor, most bytes held by the
    /// others.
    budgets: (usize, usize),
}

impl Default for MetricCache {
    fn default() -> Self {
        MetricCache::with_budgets(MAX_OPEN, MAX_RESIDENT_BYTES)
    }
}

/// What a cache holds (for tests).
#[cfg(test)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct CacheCounts {
    pub open: usize,
    pub descriptors: usize,
    pub resident: usize,
    pub verified: usize,
}

impl MetricCache {
    /// A cache keeping at most `descriptors` handles with a descriptor
    /// open and `resident` bytes of files read whole.
    pub(super) fn with_budgets(descriptors: usize, resident: usize) -> MetricCache {
        MetricCache {
            inner: Mutex::default(),
            budgets: (descriptors, resident),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The open handle of this version of `path`, if cached.
    pub(super) fn handle(&self, path: &Path, version: Version) -> Option<Arc<MetricFile>> {
        let mut c = self.lock();
        c.tick += 1;
        let tick = c.tick;
        let e = c
            .open
            .get_mut(path_bytes(path))
            .filter(|e| e.version == version)?;
        let last = std::mem::replace(&mut e.used, tick);
        let (file, k) = (e.file.clone(), kind(e.resident));
        if let Some(p) = c.lru[k].remove(&last) {
            c.lru[k].insert(tick, p);
        }
        Some(file)
    }

    /// The version of `path` last verified, if remembered.
    pub(super) fn known_version(&self, path: &Path) -> Option<Version> {
        self.lock().known.get(path_bytes(path)).map(|k| k.version)
    }

    /// Whether this version of `path` was decoded whole without error.
    pub(super) fn is_verified(&self, path: &Path, version: Version) -> bool {
        self.lock()
            .known
            .get(path_bytes(path))
            .is_some_and(|k| k.version == version)
    }

    /// The count of files forgotten so far, for [`MetricCache::insert`].
    pub(super) fn generation(&self) -> u64 {
        self.lock().generation
    }

    /// Keeps `file`, a verified version of `path`, closing the least
    /// recently used handles beyond the budgets ([`MAX_OPEN`] descriptors,
    /// [`MAX_RESIDENT_BYTES`] of files read whole); nothing when a file was
    /// forgotten since `generation` was read ([`MetricCache::generation`],
    /// before opening it): a rebuild may have replaced it meanwhile.
    pub(super) fn insert(
        &self,
        path: &Path,
        version: Version,
        file: Arc<MetricFile>,
        generation: u64,
    ) {
        let resident = file.resident_bytes();
        let mut c = self.lock();
        if c.generation != generation {
            return;
        }
        c.close(path_bytes(path));
        c.tick += 1;
        let used = c.tick;
        match resident {
            Some(n) => c.resident += n,
            None => c.descriptors += 1,
        }
        let key: Arc<[u8]> = Arc::from(path_bytes(path));
        c.lru[kind(resident)].insert(used, key.clone());
        c.open.insert(
            key,
            Open {
                version,
                file,
                used,
                resident,
            },
        );
        c.evict(self.budgets);
        if c.known
            .get(path_bytes(path))
            .is_none_or(|k| k.version != version)
        {
            if c.known.len() >= MAX_KNOWN {
                c.known.clear();
            }
            c.known.insert(
                path_bytes(path).into(),
                Known {
                    version,
                    plan: None,
                },
            );
            #[cfg(test)]
            {
                c.verified += 1;
            }
        }
    }

    /// The plan cached for this version of `path` and raw length `raw_len`.
    pub(super) fn plan(&self, path: &Path, version: Version, raw_len: Option<u64>) -> Option<Plan> {
        let c = self.lock();
        let k = c
            .known
            .get(path_bytes(path))
            .filter(|k| k.version == version)?;
        k.plan.filter(|(rl, _)| *rl == raw_len).map(|(_, p)| p)
    }

    /// Remembers the plan of this version of `path` for `raw_len`.
    pub(super) fn set_plan(&self, path: &Path, version: Version, raw_len: Option<u64>, plan: Plan) {
        let mut c = self.lock();
        if let Some(k) = c
            .known
            .get_mut(path_bytes(path))
            .filter(|k| k.version == version)
        {
            k.plan = Some((raw_len, plan));
        }
    }

    /// Forgets everything about `path` (rebuilt or removed).
    pub(super) fn forget(&self, path: &Path) {
        let mut c = self.lock();
        c.generation += 1;
        c.close(path_bytes(path));
        c.known.remove(path_bytes(path));
    }

    /// Forgets every file's handle and version (their plans too).
    pub(super) fn forget_all(&self) {
        let mut c = self.lock();
        c.generation += 1;
        c.open.clear();
        c.lru = Default::default();
        c.descriptors = 0;
        c.resident = 0;
        c.known.clear();
    }

    /// Open handles, those of them holding a descriptor, the memory held
    /// by the others, and file versions verified so far (for tests).
    #[cfg(test)]
    pub(super) fn counts(&self) -> CacheCounts {
        let c = self.lock();
        CacheCounts {
            open: c.open.len(),
            descriptors: c.descriptors,
            resident: c.resident,
            verified: c.verified,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::ops::ControlFlow;

    use std::path::PathBuf;
    use std::sync::Arc;

    use super::{MAX_OPEN, MAX_RESIDENT_BYTES, MetricCache};
    use crate::metricfile::MetricFile;
    use crate::metricfile::Version;
    use crate::{BuildOptions, Engine, Value, WriteSample};

    const T0: i64 = 1_704_067_200_000_000_000; // 2024-01-01
    const DAY: i64 = 86_400_000_000_000;

    /// A query over more day partitions than there are descriptor slots
    /// keeps every (small) file open without a descriptor, answers every
    /// sample, and a second query decodes no file whole again.
    #[test]
    fn many_small_partitions_stay_open_without_descriptors_and_verify_once() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("engine.toml"), "[stats]\nenabled = false\n").unwrap();
        let e = Engine::open(d.path()).unwrap();
        let days = MAX_OPEN as i64 + 72;
        let names = ["a", "b"];
        let samples: Vec<WriteSample<'_>> = (0..days * 4)
            .flat_map(|k| {
                names.iter().map(move |m| WriteSample {
                    db: "h",
                    metric: m,
                    ts: T0 + k * DAY / 4,
                    value: Value::I32(k as i32),
                })
            })
            .collect();
        e.write(&samples).unwrap();
        e.close().unwrap();
        let e = Engine::open(d.path()).unwrap();
        let opts = BuildOptions {
            version: Version::V2,
            codec: crate::config::Codec::ZstdFastest,
            raw_action: crate::config::RawIngestAction::Keep,
            verify: false,
        };
        let built = e.build_metric_files("h", None, Some(opts)).unwrap();
        assert_eq!(built.len() as i64, days);
        let db = e.db("h", false).unwrap().unwrap();
        for round in 0..2 {
            let mut got = Vec::new();
            e.query_range("h", "a", i64::MIN, i64::MAX, 1, |s| {
                got.push(s.value);
                ControlFlow::Continue(())
            })
            .unwrap();
            let want: Vec<Value> = (0..days * 4).map(|k| Value::I32(k as i32)).collect();
            assert_eq!(got, want, "round {round}");
            let c = db.metric_cache.counts();
            assert_eq!(c.descriptors, 0, "round {round}: {c:?}");
            assert_eq!(c.open as i64, days, "round {round}: {c:?}");
            assert!(c.resident <= MAX_RESIDENT_BYTES, "round {round}: {c:?}");
            assert_eq!(
                c.verified as i64, days,
                "round {round}: each file verified once"
            );
        }
        // Both metrics at once (one pass over each metric file): each in
        // time order, every sample once.
        let mut got: [Vec<Value>; 2] = Default::default();
        e.query_range_many_indexed("h", &names, i64::MIN, i64::MAX, 1, |i, s| {
            got[i].push(s.value);
            ControlFlow::Continue(())
        })
        .unwrap();
        let want: Vec<Value> = (0..days * 4).map(|k| Value::I32(k as i32)).collect();
        assert!(got[0] == want && got[1] == want, "both metrics in order");
    }

    /// Metric files of day partitions `0..small` (one sample each) and,
    /// after them, `big` partitions of 12,000 float64 samples whose
    /// pseudo-random values keep the (v3) file above RESIDENT_MAX.
    fn files(small: i64, big: i64) -> (tempfile::TempDir, Vec<PathBuf>) {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("engine.toml"), "[stats]\nenabled = false\n").unwrap();
        let e = Engine::open(d.path()).unwrap();
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut samples = Vec::new();
        for day in 0..small + big {
            let n = if day < small { 1 } else { 12_000 };
            for k in 0..n {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                samples.push(WriteSample {
                    db: "h",
                    metric: "a",
                    ts: T0 + day * DAY + k * 7_000_000_000,
                    value: if day < small {
                        Value::F64(1.5)
                    } else {
                        Value::F64(f64::from_bits(x >> 2))
                    },
                });
            }
        }
        e.write(&samples).unwrap();
        e.close().unwrap();
        let e = Engine::open(d.path()).unwrap();
        let opts = BuildOptions {
            version: Version::V3,
            codec: crate::config::Codec::ZstdFastest,
            raw_action: crate::config::RawIngestAction::Keep,
            verify: false,
        };
        e.build_metric_files("h", None, Some(opts)).unwrap();
        e.close().unwrap();
        let mut paths: Vec<PathBuf> = std::fs::read_dir(d.path().join("h"))
            .unwrap()
            .map(|f| f.unwrap().path())
            .filter(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("metric-")
            })
            .collect();
        paths.sort();
        assert_eq!(paths.len() as i64, small + big);
        (d, paths)
    }

    /// Handles with a descriptor and handles read whole are closed least
    /// recently used first, each kind for its own budget.
    #[test]
    fn handles_are_closed_least_recently_used_first_each_kind_for_its_budget() {
        let (_d, paths) = files(4, 3);
        let open = |p: &PathBuf| {
            let f = MetricFile::open(p).unwrap();
            let version = (f.len(), f.modified());
            (version, Arc::new(f))
        };
        let handles: Vec<_> = paths.iter().map(open).collect();
        let sizes: Vec<Option<usize>> = handles.iter().map(|(_, f)| f.resident_bytes()).collect();
        assert!(sizes[..4].iter().all(Option::is_some), "{sizes:?}");
        assert!(sizes[4..].iter().all(Option::is_none), "{sizes:?}");
        let size = |i: usize| sizes[i].unwrap();
        // Room for three small files: 0, 1, 2 and later 0, 2, 3.
        let budget = (size(0) + size(1) + size(2)).max(size(0) + size(2) + size(3));
        let cache = MetricCache::with_budgets(2, budget);
        let has = |i: usize| cache.handle(&paths[i], handles[i].0).is_some();
        let insert = |i: usize| {
            let generation = cache.generation();
            cache.insert(&paths[i], handles[i].0, handles[i].1.clone(), generation)
        };
        for i in [0, 1, 2, 4, 5] {
            insert(i);
        }
        let c = cache.counts();
        let held = size(0) + size(1) + size(2);
        assert_eq!((c.open, c.descriptors, c.resident), (5, 2, held));
        // Used again, 0 and 4 outlive 1 and 5.
        assert!(has(0) && has(4));
        insert(3);
        insert(6);
        let c = cache.counts();
        let held = size(0) + size(2) + size(3);
        assert_eq!((c.open, c.descriptors, c.resident), (5, 2, held));
        assert_eq!(
            (0..7).map(has).collect::<Vec<_>>(),
            [true, false, true, true, true, false, true]
        );
        // A version that is not the one cached is no hit.
        let other = (handles[0].0.0 + 1, handles[0].0.1);
        assert!(cache.handle(&paths[0], other).is_none());
        // Forgetting a file releases what its handle held.
        cache.forget(&paths[2]);
        cache.forget(&paths[6]);
        let c = cache.counts();
        assert_eq!(
            (c.open, c.descriptors, c.resident),
            (3, 1, size(0) + size(3))
        );
        // A handle opened before a file was forgotten is not kept: it may
        // be the version a rebuild just replaced.
        let before = cache.generation();
        cache.forget(&paths[1]);
        cache.insert(&paths[2], handles[2].0, handles[2].1.clone(), before);
        assert!(!has(2));
        cache.forget_all();
        let c = cache.counts();
        assert_eq!((c.open, c.descriptors, c.resident), (0, 0, 0));
        assert!(!has(0) && cache.known_version(&paths[0]).is_none());
    }

    /// A writable database trusts the versions it has seen (it forgets
    /// what it rebuilds itself); a read-only one asks the file system, so
    /// a rebuild by another process is seen at the next query.
    #[test]
    fn rebuilt_files_are_seen_by_their_writer_and_by_read_only_readers() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("engine.toml"), "[stats]\nenabled = false\n").unwrap();
        let e = Engine::open(d.path()).unwrap();
        let samples: Vec<WriteSample<'_>> = (0..12)
            .map(|k| WriteSample {
                db: "h",
                metric: "a",
                ts: T0 + k * DAY / 4,
                value: Value::I32(k as i32),
            })
            .collect();
        e.write(&samples).unwrap();
        e.close().unwrap();
        let opts = |version| BuildOptions {
            version,
            codec: crate::config::Codec::ZstdFastest,
            raw_action: crate::config::RawIngestAction::Keep,
            verify: false,
        };
        let query = |e: &Engine| {
            let mut got = Vec::new();
            e.query_range("h", "a", i64::MIN, i64::MAX, 1, |s| {
                got.push(s.value);
                ControlFlow::Continue(())
            })
            .unwrap();
            assert_eq!(got, (0..12).map(Value::I32).collect::<Vec<_>>());
        };
        let path = d.path().join("h").join("metric-2024-01-02.dat");
        let versions = |e: &Engine| {
            let db = e.db("h", false).unwrap().unwrap();
            let (v, c) = (
                db.metric_cache.known_version(&path),
                db.metric_cache.counts(),
            );
            (v, c.verified)
        };
        // The writer: its own rebuild (v2, then v3) is seen.
        let w = Engine::open(d.path()).unwrap();
        w.build_metric_files("h", None, Some(opts(Version::V2)))
            .unwrap();
        query(&w);
        let (v2, verified) = versions(&w);
        assert_eq!(verified, 3);
        w.build_metric_files("h", None, Some(opts(Version::V3)))
            .unwrap();
        query(&w);
        let (v3, verified) = versions(&w);
        assert_eq!(verified, 6);
        assert!(v2.is_some() && v3.is_some() && v2 != v3, "{v2:?} {v3:?}");
        assert_eq!(v3.unwrap().0, std::fs::metadata(&path).unwrap().len());
        w.close().unwrap();
        // A read-only reader sees another process's rebuild.
        let r = Engine::open_read_only(d.path()).unwrap();
        query(&r);
        assert_eq!(versions(&r), (v3, 3));
        let w = Engine::open(d.path()).unwrap();
        w.build_metric_files("h", None, Some(opts(Version::V2)))
            .unwrap();
        w.close().unwrap();
        query(&r);
        let (again, verified) = versions(&r);
        assert_eq!(verified, 6);
        assert_eq!(again.unwrap().0, std::fs::metadata(&path).unwrap().len());
        assert_ne!(again, v3);
    }
}
