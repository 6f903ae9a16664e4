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

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use std::ops::ControlFlow;

use crate::error::Result;
use crate::metricfile::{MetricFile, Run};
use crate::sample::MetricId;

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
        let meta = std::fs::metadata(mpath).ok()?;
        let version = (meta.len(), meta.modified().ok());
        let raw_len = view.raw.as_ref().map(|r| r.1);
        let Plan::MetricThenDataFrom(off) = self.metric_cache.plan(mpath, version, raw_len)? else {
            return None;
        };
        let slice = self.frames.slice(mpath, slice_tag(meta.len()), id)?;
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
                let mut all = Vec::new();
                mf.read_metric(id, i64::MIN, i64::MAX, &mut |ts, v| {
                    all.push((ts, v));
                    ControlFlow::Continue(())
                })?;
                let s: super::framecache::Slice = all.into();
                self.frames
                    .insert_slice((mf.path().to_path_buf(), tag, id), s.clone());
                s
            }
        };
        Ok(Run::Pairs(&slice).each_in_range(from, to, &mut |r| sink.run(id, r)))
    }
}

/// The slice-cache tag of a metric file of `len` bytes: in a range raw-file
/// offsets never reach; a rebuilt file is also forgotten by path
/// (`forget_metric`).
fn slice_tag(len: u64) -> u64 {
    (1 << 63) | len
}

/// Metric files kept open per database.
pub(super) const MAX_OPEN: usize = 128;
/// File versions remembered per database (each a few dozen bytes); past
/// this the memory is dropped and rebuilt as files are used again.
pub(super) const MAX_KNOWN: usize = 1 << 16;

/// One version of a file: its size and modification time.
type Version = (u64, Option<SystemTime>);

struct Open {
    version: Version,
    file: Arc<MetricFile>,
    used: u64,
}

struct Known {
    version: Version,
    /// (raw file length it was computed for, the plan).
    plan: Option<(Option<u64>, Plan)>,
}

#[derive(Default)]
struct Inner {
    open: HashMap<PathBuf, Open>,
    known: HashMap<PathBuf, Known>,
    tick: u64,
    /// File versions decoded whole so far (for tests).
    #[cfg(test)]
    verified: usize,
}

/// Open metric files and what is known of each version; see the module docs.
#[derive(Default)]
pub(crate) struct MetricCache {
    inner: Mutex<Inner>,
}

impl MetricCache {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The open handle of this version of `path`, if cached.
    pub(super) fn handle(&self, path: &Path, version: Version) -> Option<Arc<MetricFile>> {
        let mut c = self.lock();
        c.tick += 1;
        let tick = c.tick;
        let e = c.open.get_mut(path).filter(|e| e.version == version)?;
        e.used = tick;
        Some(e.file.clone())
    }

    /// Whether this version of `path` was decoded whole without error.
    pub(super) fn is_verified(&self, path: &Path, version: Version) -> bool {
        self.lock()
            .known
            .get(path)
            .is_some_and(|k| k.version == version)
    }

    /// Keeps `file`, a verified version of `path`, closing the least
    /// recently used handle when all slots are taken.
    pub(super) fn insert(&self, path: &Path, version: Version, file: Arc<MetricFile>) {
        let mut c = self.lock();
        c.tick += 1;
        let used = c.tick;
        if c.open.len() >= MAX_OPEN && !c.open.contains_key(path) {
            let oldest = c
                .open
                .iter()
                .min_by_key(|(_, e)| e.used)
                .map(|(p, _)| p.clone());
            if let Some(p) = oldest {
                c.open.remove(&p);
            }
        }
        c.open.insert(
            path.to_path_buf(),
            Open {
                version,
                file,
                used,
            },
        );
        if c.known.get(path).is_none_or(|k| k.version != version) {
            if c.known.len() >= MAX_KNOWN {
                c.known.clear();
            }
            c.known.insert(
                path.to_path_buf(),
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
        let k = c.known.get(path).filter(|k| k.version == version)?;
        k.plan.filter(|(rl, _)| *rl == raw_len).map(|(_, p)| p)
    }

    /// Remembers the plan of this version of `path` for `raw_len`.
    pub(super) fn set_plan(&self, path: &Path, version: Version, raw_len: Option<u64>, plan: Plan) {
        let mut c = self.lock();
        if let Some(k) = c.known.get_mut(path).filter(|k| k.version == version) {
            k.plan = Some((raw_len, plan));
        }
    }

    /// Forgets everything about `path` (rebuilt or removed).
    pub(super) fn forget(&self, path: &Path) {
        let mut c = self.lock();
        c.open.remove(path);
        c.known.remove(path);
    }

    /// Open handles and file versions verified so far (for tests).
    #[cfg(test)]
    pub(super) fn counts(&self) -> (usize, usize) {
        let c = self.lock();
        (c.open.len(), c.verified)
    }
}

#[cfg(test)]
mod tests {
    use std::ops::ControlFlow;

    use super::MAX_OPEN;
    use crate::metricfile::Version;
    use crate::{BuildOptions, Engine, Value, WriteSample};

    const T0: i64 = 1_704_067_200_000_000_000; // 2024-01-01
    const DAY: i64 = 86_400_000_000_000;

    /// A query over more day partitions than there are handle slots keeps
    /// at most MAX_OPEN files open, answers every sample, and a second
    /// query decodes no file whole again.
    #[test]
    fn many_partitions_stay_within_the_handle_budget_and_verify_once() {
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
            let (open, verified) = db.metric_cache.counts();
            assert!(open <= MAX_OPEN, "round {round}: {open} files open");
            assert_eq!(
                verified as i64, days,
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
}
