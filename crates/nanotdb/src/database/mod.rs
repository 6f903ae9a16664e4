//! One database: its catalog, WAL, open partitions and partition files.
//!
//! All mutable state sits behind one mutex per database, so writers of
//! different databases never wait for each other and a query holds the lock
//! only long enough to snapshot file lengths and copy matching samples of the
//! open pages (readers never see a half-written frame: they read files only up
//! to the length recorded after the last complete frame write).
//!
//! Crash safety rests on three rules:
//! 1. a sample is in the WAL (written, and fsynced under `fsync_policy =
//!    "always"`) before the write is acknowledged;
//! 2. after a page is flushed the WAL is reset if no page is left, or
//!    rewritten (tmp file, fsync, rename) to hold exactly the samples of the
//!    pages still open — so flushed samples are never replayed again;
//! 3. a crash between a frame write and that WAL rewrite leaves the frame's
//!    samples in both places; replay drops WAL samples found in the tail frames
//!    of their partition's data file (see [`Database::dedupe_against_files`]).

use std::collections::{BTreeMap, HashSet};
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use foldhash::HashMap;

use crate::catalog::{Catalog, MetricInfo};
use crate::config::{DurabilityProfile, EngineConfig, FsyncPolicy, Manifest};
use crate::datafile;
use crate::error::{Error, IoContext, Result};
use crate::fsutil;
use crate::layout::{DbLayout, PartitionFileKind};
use crate::lock::DbLock;
use crate::names;
use crate::page::{self, DecodedFrame};
use crate::partition::{OpenPartition, Page, PageLimits};
use crate::sample::{MetricId, Value, ValueType};
use crate::stats::DbCounters;
use crate::time::{self, PartitionMode};
use crate::wal::{self, WalWriter};

mod flush;
mod framecache;
mod maintenance;
mod metric;
mod read;
mod replay;
mod view;

pub(crate) use framecache::read_file_frames;
pub use maintenance::{RecompactReport, RecoverReport};
pub use metric::{BuildOptions, BuildReport};
pub(crate) use read::read_frame_at;
pub use view::CompactMetricReport;

/// Multiset of samples keyed by (metric id, timestamp, value bits).
type SampleCounts = HashMap<(MetricId, i64, u32), u32>;

/// Engine-wide settings every database needs.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub read_only: bool,
    /// `[metrics]`: auto-build on seal, codec, raw-ingest action.
    pub metrics: crate::config::MetricsConfig,
    pub fsync_policy: FsyncPolicy,
    pub durability: DurabilityProfile,
    pub max_segment_size: u64,
}

impl Settings {
    pub fn from_config(cfg: &EngineConfig, read_only: bool) -> Settings {
        Settings {
            read_only,
            metrics: cfg.metrics.clone(),
            fsync_policy: cfg.wal.fsync_policy,
            durability: cfg.durability,
            max_segment_size: cfg.wal.max_segment_size,
        }
    }
}

/// What is on disk for one partition key.
#[derive(Debug, Clone, Default)]
pub(crate) struct PartFiles {
    /// Valid length of `data-<key>.dat` (complete frames only).
    pub data_len: Option<u64>,
    /// Length of `raw-<key>.dat` if present.
    pub raw_len: Option<u64>,
    /// Whether `metric-<key>.dat` exists.
    pub metric: bool,
}

/// Mutable state of a database.
pub(crate) struct DbState {
    /// False until the first accepted sample creates the directory.
    materialized: bool,
    pub catalog: Catalog,
    wal: Option<WalWriter>,
    pub open: BTreeMap<String, OpenPartition>,
    sealed: HashSet<String>,
    pub files: BTreeMap<String, PartFiles>,
    /// Last (timestamp, value bits) per metric id, for the stale check and
    /// last-value queries.
    last: Vec<Option<(i64, u32)>>,
    /// Cataloged metrics whose newest sample was not found at open (older
    /// than the partitions read then). A sample of theirs is accepted
    /// without comparing it with the files, so what is stored later may
    /// precede what the files hold: the live rollups never claim their
    /// periods (they are read back).
    pub(crate) last_unknown: HashSet<MetricId>,
    /// Cached bounds of the most recently used partition.
    hot: Option<(i64, i64, Arc<str>)>,
    /// Data files written without fsync since the last WAL checkpoint.
    unsynced_files: Vec<PathBuf>,
    /// While replaying, WAL checkpoints are deferred to the end.
    replaying: bool,
    pub counters: DbCounters,
    frame_buf: Vec<u8>,
    scratch: Vec<u8>,
    /// Told of every sample the write path stores (the rollups' trigger and
    /// live accumulators install one); `None` for most databases, which
    /// then pay one predictable branch per sample.
    pub(crate) hook: Option<Box<dyn StoredSampleHook>>,
}

/// Something that must see every sample the write path stores, as it is
/// stored. Rollups implement it (their trigger and live accumulators), so
/// the database needs to know nothing of them: it only calls the hook.
pub(crate) trait StoredSampleHook: Send {
    /// Called once per ingested sample, under the database lock, after the
    /// sample is in its page and before that page may be flushed: a flush
    /// can fail, and the sample is stored either way. `now` is the batch's
    /// wall clock. It runs in the write path's inner loop, so it must not
    /// allocate, block or take a lock.
    fn stored(&mut self, id: MetricId, ts: i64, bits: u32, now: i64);

    /// The hook itself, so that whoever installed it can reach its state.
    fn as_any_mut(&mut self) -> &mut dyn std::any::Any;
}

impl DbState {
    /// Timestamp of the newest stored sample of every metric id (index =
    /// id, from 0 to the largest id).
    pub(crate) fn last_by_id(&self) -> Vec<Option<i64>> {
        self.id_range().map(|id| self.last_ts(id)).collect()
    }

    /// Every metric id from 0 to the largest one the catalog holds.
    fn id_range(&self) -> impl Iterator<Item = MetricId> + use<> {
        let n = usize::from(self.catalog.max_id()).max(self.catalog.len());
        (0..=n).filter_map(|i| MetricId::try_from(i).ok())
    }

    /// Timestamp of the newest stored sample of metric `id`, if known.
    pub(crate) fn last_ts(&self, id: MetricId) -> Option<i64> {
        self.last
            .get(usize::from(id))
            .copied()
            .flatten()
            .map(|(t, _)| t)
    }
}

/// One database under the root.
pub(crate) struct Database {
    pub name: String,
    pub dir: PathBuf,
    pub manifest: Manifest,
    pub settings: Settings,
    limits: PageLimits,
    state: Mutex<DbState>,
    /// Held while the database is open for writing.
    lock: Mutex<Option<DbLock>>,
    /// Decoded raw frames (writable engines only).
    pub(crate) frames: framecache::FrameCache,
    /// Open metric files and their read plans, by path.
    metric_cache: Mutex<std::collections::HashMap<PathBuf, metric::MetricEntry>>,
}

/// Effects of the samples accepted so far by a dry run.
#[derive(Debug, Default)]
pub(crate) struct Overlay<'a> {
    new_metrics: HashMap<&'a str, ValueType>,
    /// Pending last timestamp of metrics the catalog already has, by id
    /// (the hot path: no hashing of names).
    last_by_id: Vec<Option<i64>>,
    /// Pending last timestamp of metrics the batch creates.
    last_new: HashMap<&'a str, i64>,
    open: std::collections::BTreeSet<String>,
    sealed: HashSet<String>,
}

impl Overlay<'_> {
    /// Pending last timestamp of `metric` (id `existing` if it exists).
    fn last(&self, existing: Option<MetricId>, metric: &str) -> Option<i64> {
        match existing {
            Some(id) => self.last_by_id.get(usize::from(id)).copied().flatten(),
            None => self.last_new.get(metric).copied(),
        }
    }
}

/// A sample copied out of an open page for a query.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PageSample {
    pub id: MetricId,
    pub ts: i64,
    pub bits: u32,
}

/// A consistent view of one partition for a reader: files up to their valid
/// length plus a copy of the open page's matching samples.
#[derive(Debug)]
pub(crate) struct PartitionView {
    pub raw: Option<(PathBuf, u64)>,
    /// `metric-<key>.dat` when it exists and reads may use it.
    pub metric: Option<PathBuf>,
    pub data: Option<(PathBuf, u64)>,
    pub page: Vec<PageSample>,
}

impl Database {
    /// The paths of this database's files.
    pub fn layout(&self) -> DbLayout {
        DbLayout::at(self.dir.clone(), &self.name)
    }

    /// Whether `dir` looks like a database (reference rule, docs/FORMATS.md §1).
    pub fn looks_like_db(dir: &Path, name: &str) -> bool {
        DbLayout::at(dir.to_path_buf(), name).looks_like_db()
    }

    /// Opens an existing database directory: loads catalog and manifest, cuts
    /// torn tails (unless read-only), derives last values from the newest
    /// partitions and replays the WAL.
    pub fn open(
        name: &str,
        dir: PathBuf,
        defaults: &Manifest,
        settings: Settings,
    ) -> Result<Database> {
        let lock = if settings.read_only {
            None
        } else {
            Some(DbLock::acquire(&dir, name)?)
        };
        let layout = DbLayout::at(dir.clone(), name);
        let manifest_path = layout.manifest();
        let manifest = if manifest_path.is_file() {
            let (m, warnings) = crate::config::load_manifest(&manifest_path, defaults)?;
            for w in warnings {
                tracing::warn!("{w}");
            }
            m
        } else {
            if !settings.read_only {
                crate::config::write_new_manifest(&manifest_path, defaults)?;
            }
            defaults.clone()
        };
        let catalog = Catalog::load(&layout.catalog())?;
        let db = Database::with_state(name, dir, manifest, settings, catalog, true);
        *db.lock.lock().unwrap_or_else(|p| p.into_inner()) = lock;
        {
            let mut st = db.lock();
            db.load_files(&mut st)?;
            db.derive_last_values(&mut st)?;
            db.open_wal_and_replay(&mut st)?;
            // Metrics whose newest sample is older than what was read: their
            // order is not checked against the files (see `last_unknown`).
            st.last_unknown = st
                .id_range()
                .filter(|&id| st.catalog.get(id).is_some() && st.last_ts(id).is_none())
                .collect();
        }
        Ok(db)
    }

    /// A database that does not exist on disk yet; its directory is created
    /// when the first sample is accepted, so rejected input leaves no trace.
    pub fn new_unmaterialized(
        name: &str,
        dir: PathBuf,
        manifest: Manifest,
        settings: Settings,
    ) -> Database {
        Database::with_state(name, dir, manifest, settings, Catalog::default(), false)
    }

    fn with_state(
        name: &str,
        dir: PathBuf,
        manifest: Manifest,
        settings: Settings,
        catalog: Catalog,
        materialized: bool,
    ) -> Database {
        let limits = PageLimits {
            max_records: u64::from(manifest.page.max_records.clamp(1, 65535)),
            max_bytes: manifest.page.max_bytes.max(14),
            max_age_ns: if manifest.page.max_age_ns > 0 {
                manifest.page.max_age_ns as u128
            } else {
                10_000_000_000
            },
        };
        Database {
            name: name.to_string(),
            dir,
            manifest,
            settings,
            limits,
            lock: Mutex::new(None),
            frames: framecache::FrameCache::default(),
            metric_cache: Mutex::new(std::collections::HashMap::new()),
            state: Mutex::new(DbState {
                materialized,
                catalog,
                wal: None,
                open: BTreeMap::new(),
                sealed: HashSet::new(),
                files: BTreeMap::new(),
                last: Vec::new(),
                last_unknown: HashSet::new(),
                hot: None,
                unsynced_files: Vec::new(),
                replaying: false,
                counters: DbCounters::default(),
                frame_buf: Vec::new(),
                scratch: Vec::new(),
                hook: None,
            }),
        }
    }

    /// Locks the database state. A poisoned lock (a panic in another thread)
    /// is recovered: the state is only mutated through methods that keep it
    /// consistent at every step that can panic.
    pub fn lock(&self) -> MutexGuard<'_, DbState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether the database exists on disk.
    pub fn is_materialized(&self) -> bool {
        self.lock().materialized
    }

    fn partition_mode(&self) -> PartitionMode {
        self.manifest.retention.partition
    }

    pub fn data_path(&self, key: &str) -> PathBuf {
        self.layout().data(key)
    }

    pub fn raw_path(&self, key: &str) -> PathBuf {
        self.layout().raw(key)
    }

    pub fn catalog_path(&self) -> PathBuf {
        self.layout().catalog()
    }

    // ----------------------------------------------------------------- open

    /// Lists partition files; cuts torn tails of data files (keeping a copy of
    /// the cut bytes) unless read-only.
    fn load_files(&self, st: &mut DbState) -> Result<()> {
        let files = self.layout().partition_files().at(&self.dir)?;
        for (kind, key, path) in files {
            let entry = st.files.entry(key.clone()).or_default();
            match kind {
                PartitionFileKind::Data => {
                    let scan = datafile::scan_file(&path, true).at(&path)?;
                    if let Some(d) = &scan.damage {
                        if self.settings.read_only {
                            tracing::warn!(
                                file = %path.display(),
                                offset = d.offset,
                                "damaged tail ({}); reading the {} intact frames before it",
                                d.reason,
                                scan.frames.len()
                            );
                        } else {
                            let copy = datafile::cut_tail(&path, &scan)?;
                            tracing::warn!(
                                file = %path.display(),
                                offset = d.offset,
                                kept = ?copy,
                                "cut damaged tail ({}); {} intact frames kept",
                                d.reason,
                                scan.frames.len()
                            );
                            st.counters.tails_cut += 1;
                        }
                    }
                    entry.data_len = Some(scan.valid_len);
                }
                PartitionFileKind::Raw => {
                    let len = fs::metadata(&path).at(&path)?.len();
                    entry.raw_len = Some(len);
                }
                PartitionFileKind::Metric => entry.metric = true,
            }
        }
        Ok(())
    }

    /// Seeds last values from the newest partitions, newest first, until every
    /// cataloged metric has one or a bounded number of partitions was read.
    /// This keeps the stale check and last-value queries right after a
    /// restart (the reference forgot them) with bounded work at open.
    fn derive_last_values(&self, st: &mut DbState) -> Result<()> {
        // Bounds: the newest partitions only, frames read newest first, and
        // at most this many compressed bytes, however large the files are.
        const MAX_PARTITIONS: usize = 3;
        const MAX_BYTES: u64 = 64 << 20;
        let wanted = st.catalog.len();
        if wanted == 0 {
            return Ok(());
        }
        let mut keys: Vec<(i64, String)> = st
            .files
            .iter()
            .filter(|(_, f)| f.data_len.is_some() || f.raw_len.is_some())
            .filter_map(|(k, _)| time::parse_partition_key(k).map(|(_, s, _)| (s, k.clone())))
            .collect();
        keys.sort();
        let mut found: HashSet<MetricId> = HashSet::new();
        let mut budget = MAX_BYTES;
        let mut buf = DecodedFrame::default();
        let mut block = Vec::new();
        'partitions: for (_, key) in keys.iter().rev().take(MAX_PARTITIONS) {
            let files = st.files.get(key).cloned().unwrap_or_default();
            // The data file is newer than a renamed raw file of the same key.
            let sources = [
                files.data_len.map(|l| (self.data_path(key), l)),
                files.raw_len.map(|l| (self.raw_path(key), l)),
            ];
            for (path, len) in sources.into_iter().flatten() {
                let scan = match datafile::scan_file(&path, false) {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::warn!(file = %path.display(), "deriving last values: {e}");
                        continue;
                    }
                };
                let file = File::open(&path).at(&path)?;
                for fi in scan.frames.iter().rev() {
                    if fi.offset + fi.header.frame_len() > len {
                        continue;
                    }
                    if budget < fi.header.clen {
                        break 'partitions;
                    }
                    budget -= fi.header.clen;
                    if let Err(e) = read_frame_at(&file, &path, fi, &mut block, &mut buf) {
                        tracing::warn!("deriving last values: {e}");
                        continue;
                    }
                    let mut best: HashMap<MetricId, (i64, u32)> = HashMap::default();
                    for i in 0..buf.len() {
                        let (id, ts, v) = (buf.id(i), buf.ts(i), buf.val(i));
                        if found.contains(&id) {
                            continue;
                        }
                        let e = best.entry(id).or_insert((ts, v));
                        if ts >= e.0 {
                            *e = (ts, v);
                        }
                    }
                    for (id, (ts, v)) in best {
                        found.insert(id);
                        set_last(&mut st.last, id, ts, v);
                    }
                    if found.len() >= wanted {
                        break 'partitions;
                    }
                }
            }
        }
        Ok(())
    }
    // --------------------------------------------------------------- ingest

    /// Validates one sample against the database state without changing
    /// anything. Returns the metric id if the metric exists.
    fn check(
        &self,
        st: &mut DbState,
        overlay: Option<&Overlay<'_>>,
        metric: &str,
        ts: i64,
        value: Value,
    ) -> Result<(Option<MetricId>, Arc<str>)> {
        let existing = st.catalog.lookup(metric);
        let known_type = existing
            .map(|(_, vt)| vt)
            .or_else(|| overlay.and_then(|o| o.new_metrics.get(metric).copied()));
        match known_type {
            Some(vt) => {
                if vt != value.value_type() {
                    return Err(Error::TypeMismatch {
                        db: self.name.clone(),
                        metric: metric.to_string(),
                        expected: vt,
                        got: value.value_type(),
                    });
                }
                let stored = existing
                    .and_then(|(id, _)| st.last.get(usize::from(id)).copied().flatten())
                    .map(|(t, _)| t);
                let pending = overlay.and_then(|o| o.last(existing.map(|(id, _)| id), metric));
                if let Some(last) = stored.max(pending)
                    && ts < last
                {
                    return Err(Error::Stale {
                        db: self.name.clone(),
                        metric: metric.to_string(),
                        ts,
                        last,
                    });
                }
            }
            None => {
                names::validate_metric_name(metric)?;
                let pending = overlay.map_or(0, |o| o.new_metrics.len());
                if st.catalog.next_id().is_none()
                    || st.catalog.len() + pending >= usize::from(u16::MAX)
                {
                    return Err(Error::TooManyMetrics(self.name.clone()));
                }
            }
        }
        let key = partition_of(&mut st.hot, self.partition_mode(), ts);
        if st.sealed.contains(&*key) || overlay.is_some_and(|o| o.sealed.contains(&*key)) {
            return Err(Error::Sealed {
                db: self.name.clone(),
                key: key.to_string(),
            });
        }
        Ok((existing.map(|(id, _)| id), key))
    }

    /// Checks a batch as if each accepted sample had been applied before the
    /// next, without changing anything: returns every rejection by index.
    /// Used for all-or-nothing writes; the caller holds the lock until it
    /// applies the batch, so the verdict stays true.
    pub fn dry_run<'a>(
        &self,
        st: &mut DbState,
        samples: impl Iterator<Item = (usize, &'a str, i64, Value)>,
    ) -> Vec<(usize, Error)> {
        let mut overlay = Overlay {
            open: st.open.keys().cloned().collect(),
            ..Overlay::default()
        };
        let max_open = self.manifest.retention.max_active_days.max(1) as usize;
        let mut rejected = Vec::new();
        // Consecutive samples nearly always share a partition: its key is an
        // `Arc` from the hot cache, so pointer equality skips the set lookup.
        let mut known_open: Option<Arc<str>> = None;
        for (i, metric, ts, value) in samples {
            match self.check(st, Some(&overlay), metric, ts, value) {
                Err(e) => rejected.push((i, e)),
                Ok((existing, key)) => {
                    match existing {
                        Some(id) => {
                            let i = usize::from(id);
                            if overlay.last_by_id.len() <= i {
                                overlay.last_by_id.resize(i + 1, None);
                            }
                            let slot = &mut overlay.last_by_id[i];
                            *slot = Some(slot.map_or(ts, |l| l.max(ts)));
                        }
                        None => {
                            overlay.new_metrics.insert(metric, value.value_type());
                            let last = overlay.last_new.entry(metric).or_insert(ts);
                            *last = (*last).max(ts);
                        }
                    }
                    note_open(&mut overlay, &mut known_open, key, max_open);
                }
            }
        }
        rejected
    }

    /// Ingests one sample: all checks first (a rejected sample changes
    /// nothing), then directory creation, partition open, metric
    /// registration, WAL record, page append. The WAL record is written to the
    /// file by [`Database::finish_batch`], which the caller must call before
    /// acknowledging.
    ///
    /// `prechecked`: [`Database::dry_run`] accepted the sample in this same
    /// lock hold, in batch order, so the checks are not repeated (the dry run
    /// simulated every earlier sample of the batch); only the metric id and
    /// partition are resolved.
    pub fn ingest(
        &self,
        st: &mut DbState,
        metric: &str,
        ts: i64,
        value: Value,
        now: i64,
        prechecked: bool,
    ) -> Result<()> {
        if self.settings.read_only {
            return Err(Error::ReadOnly);
        }
        let (existing, key) = if prechecked {
            let existing = st.catalog.lookup(metric).map(|(id, _)| id);
            (
                existing,
                partition_of(&mut st.hot, self.partition_mode(), ts),
            )
        } else {
            self.check(st, None, metric, ts, value)?
        };
        self.ingest_resolved(st, metric, existing, key, ts, value, now)
    }

    /// The part of an ingest after the checks: `existing` is the metric's
    /// id if the catalog has it, `key` the sample's partition.
    #[allow(clippy::too_many_arguments)]
    fn ingest_resolved(
        &self,
        st: &mut DbState,
        metric: &str,
        existing: Option<MetricId>,
        key: Arc<str>,
        ts: i64,
        value: Value,
        now: i64,
    ) -> Result<()> {
        if !st.materialized {
            self.materialize(st)?;
        }
        let id = match existing {
            Some(id) => id,
            None => st
                .catalog
                .register(metric, value.value_type())
                .ok_or_else(|| Error::TooManyMetrics(self.name.clone()))?,
        };
        let bits = value.to_bits();
        let wal_cfg = &self.manifest.wal;
        let log = wal_cfg.enabled
            && (wal_cfg.skip_before_ns <= 0 || ts >= now.saturating_sub(wal_cfg.skip_before_ns));
        if log && let Some(w) = st.wal.as_mut() {
            w.log(id, ts, bits, metric, value.value_type().code())?;
            st.counters.wal_appends += 1;
            st.counters.last_wal_append_ns = now;
        }
        let full = self.append(st, &key, id, ts, bits, log)?;
        // Before a flush that may fail: the sample is stored either way.
        if let Some(hook) = st.hook.as_mut() {
            hook.stored(id, ts, bits, now);
        }
        self.flush_if_full(st, &key, full)?;
        st.counters.samples_ingested += 1;
        Ok(())
    }

    /// Appends an accepted sample to its partition's page, opening the
    /// partition (and sealing the oldest one beyond `max_active_days`) and
    /// flushing the page when it is full.
    fn apply(
        &self,
        st: &mut DbState,
        key: &str,
        id: MetricId,
        ts: i64,
        bits: u32,
        logged: bool,
    ) -> Result<()> {
        let full = self.append(st, key, id, ts, bits, logged)?;
        self.flush_if_full(st, key, full)
    }

    /// [`Database::apply`] up to the flush: returns whether the page is
    /// full (the caller flushes it with [`Database::flush_if_full`]).
    fn append(
        &self,
        st: &mut DbState,
        key: &str,
        id: MetricId,
        ts: i64,
        bits: u32,
        logged: bool,
    ) -> Result<bool> {
        let part = match st.open.get_mut(key) {
            Some(part) => part,
            None => {
                let max_open = self.manifest.retention.max_active_days.max(1) as usize;
                while st.open.len() >= max_open {
                    let Some(oldest) = st.open.keys().next().cloned() else {
                        break;
                    };
                    self.seal(st, &oldest)?;
                }
                st.open.entry(key.to_string()).or_insert(OpenPartition {
                    page: None,
                    file: None,
                })
            }
        };
        let page = part.page.get_or_insert_with(Page::new);
        page.push(id, ts, bits);
        page.logged |= logged;
        // Replay honours the size limits too: a page beyond 65535 records
        // could not be written as a frame.
        let full = page.is_full_by_size(&self.limits)
            || (page.len() % 1024 == 0 && page.is_too_old(&self.limits));
        set_last(&mut st.last, id, ts, bits);
        Ok(full)
    }

    /// Flushes partition `key`'s page and checkpoints the WAL when `full`.
    fn flush_if_full(&self, st: &mut DbState, key: &str, full: bool) -> Result<()> {
        if full {
            self.flush_partition(st, key)?;
            self.wal_checkpoint(st)?;
        }
        Ok(())
    }

    /// Ends a batch of ingests: writes pending WAL records in one `write`,
    /// fsyncs per policy, and flushes pages that became too old.
    pub fn finish_batch(&self, st: &mut DbState) -> Result<()> {
        self.write_pending_wal(st)?;
        let old: Vec<String> = st
            .open
            .iter()
            .filter(|(_, p)| {
                p.page
                    .as_ref()
                    .is_some_and(|pg| !pg.is_empty() && pg.is_full(&self.limits))
            })
            .map(|(k, _)| k.clone())
            .collect();
        if !old.is_empty() {
            for k in &old {
                self.flush_partition(st, k)?;
            }
            self.wal_checkpoint(st)?;
        }
        Ok(())
    }

    fn write_pending_wal(&self, st: &mut DbState) -> Result<()> {
        match st.wal.as_mut() {
            Some(w) => w.write_pending(
                self.settings.fsync_policy,
                self.settings.max_segment_size,
                &mut st.counters,
            ),
            None => Ok(()),
        }
    }

    fn materialize(&self, st: &mut DbState) -> Result<()> {
        fs::create_dir_all(&self.dir).at(&self.dir)?;
        {
            let mut held = self.lock.lock().unwrap_or_else(|p| p.into_inner());
            if held.is_none() {
                *held = Some(DbLock::acquire(&self.dir, &self.name)?);
            }
        }
        let manifest_path = self.layout().manifest();
        if !manifest_path.exists() {
            crate::config::write_new_manifest(&manifest_path, &self.manifest)?;
        }
        let cat = self.catalog_path();
        if !cat.exists() {
            File::create(&cat).at(&cat)?;
        }
        let wal = WalWriter::open(&self.layout().wal(), 0)?;
        fsutil::sync_dir(&self.dir)?;
        if let Some(parent) = self.dir.parent() {
            fsutil::sync_dir(parent)?;
        }
        st.wal = Some(wal);
        st.materialized = true;
        Ok(())
    }

    /// Flushes and checkpoints everything; used by close.
    pub fn close(&self) -> Result<()> {
        if self.settings.read_only {
            return Ok(());
        }
        let mut st = self.lock();
        if !st.materialized {
            return Ok(());
        }
        self.flush_all(&mut st)?;
        let cat = self.catalog_path();
        st.catalog.save_if_dirty(&cat)?;
        st.open.clear();
        Ok(())
    }
}

/// Records in the dry-run overlay that partition `key` is (or becomes)
/// open, sealing the oldest pending ones beyond `max_open` as `apply` would.
fn note_open(
    overlay: &mut Overlay<'_>,
    known_open: &mut Option<Arc<str>>,
    key: Arc<str>,
    max_open: usize,
) {
    if known_open.as_ref().is_some_and(|k| Arc::ptr_eq(k, &key)) {
        return;
    }
    if !overlay.open.contains(&*key) {
        while overlay.open.len() >= max_open {
            let Some(oldest) = overlay.open.pop_first() else {
                break;
            };
            overlay.sealed.insert(oldest);
        }
        overlay.open.insert(key.to_string());
    }
    *known_open = Some(key);
}

/// Partition key for `ts`, cached for consecutive samples of one partition
/// (shared, so the per-sample path does not allocate).
fn partition_of(hot: &mut Option<(i64, i64, Arc<str>)>, mode: PartitionMode, ts: i64) -> Arc<str> {
    if let Some((s, e, k)) = hot.as_ref()
        && ts >= *s
        && (ts < *e || *e == i64::MAX)
    {
        return k.clone();
    }
    let (s, e) = time::partition_bounds(mode, ts);
    let k: Arc<str> = Arc::from(time::partition_key(mode, ts));
    *hot = Some((s, e, k.clone()));
    k
}

fn set_last(last: &mut Vec<Option<(i64, u32)>>, id: MetricId, ts: i64, bits: u32) {
    let i = usize::from(id);
    if last.len() <= i {
        last.resize(i + 1, None);
    }
    match &mut last[i] {
        Some((lts, lv)) if ts >= *lts => {
            *lts = ts;
            *lv = bits;
        }
        Some(_) => {}
        slot @ None => *slot = Some((ts, bits)),
    }
}
