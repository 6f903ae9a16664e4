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
//! 2. after pages are flushed, and their data files fsynced, the WAL is
//!    checkpointed: reset if no page is left, or rewritten (tmp file, fsync,
//!    rename) to hold exactly the samples of the pages still open. The
//!    engine's background thread does both for the write path (at most
//!    once per `[wal].checkpoint_interval`), so the write that fills a page does not wait on
//!    the disk (`engine/background.rs`);
//! 3. until that checkpoint — or after a crash before it — a frame's samples
//!    are in both places; replay drops WAL samples found in the tail frames
//!    of their partition's data file, sample by sample (see
//!    [`Database::dedupe_against_files`]).

use std::collections::{BTreeMap, HashSet};
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use foldhash::HashMap;

use crate::catalog::{Catalog, MetricInfo};
use crate::config::{DurabilityProfile, EngineConfig, FsyncPolicy, Manifest};
use crate::datafile;
use crate::error::{Error, IoContext, Result};
use crate::frame::{self, DecodedFrame};
use crate::fsutil;
use crate::layout::{DbLayout, PartitionFileKind};
use crate::lock::DbLock;
use crate::names;
use crate::page::{OpenPartition, Page, PageLimits};
use crate::sample::{MetricId, Value, ValueType};
use crate::stats::DbCounters;
use crate::time::{self, PartitionMode};
use crate::wal::{self, WalWriter};

pub(crate) mod background;
mod flush;
mod framecache;
mod group_commit;
mod ingest;
mod lastvalues;
mod maintenance;
mod metric;
mod metric_cache;
mod order;
mod prepare;
mod read;
mod replay;
mod view;
mod view_read;

pub(crate) use framecache::read_file_frames;
pub(crate) use group_commit::GroupOutcome;
pub(crate) use ingest::LoggedSample;
use ingest::{partition_of, set_last};
pub use maintenance::{RecompactReport, RecoverReport};
pub use metric::{BuildOptions, BuildReport};
pub(crate) use prepare::PreparedWrite;
pub(crate) use read::read_frame_at;
pub use view::CompactMetricReport;
pub(crate) use view_read::ViewSink;

/// Multiset of samples keyed by (metric id, timestamp, value bits).
type SampleCounts = HashMap<(MetricId, i64, u64), u32>;

/// Engine-wide settings every database needs.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub read_only: bool,
    /// `[metrics]`: auto-build on seal, codec, raw-ingest action.
    pub metrics: crate::config::MetricsConfig,
    pub fsync_policy: FsyncPolicy,
    pub durability: DurabilityProfile,
    pub max_segment_size: u64,
    /// `[ingest].max_future` in ns; 0 = no limit.
    pub max_future_ns: i64,
    /// `[ingest].out_of_order_window` in ns; 0 = v1.4.0's rule (no sample
    /// older than its series' newest).
    pub ooo_window_ns: i64,
    /// The root's commit log of atomic batches spanning databases.
    pub commits: Arc<crate::wal::CommitLog>,
    /// What remote-write targets still have to read (retention and raw
    /// file deletion keep it).
    pub forward: Arc<crate::forward::ForwardHolds>,
    /// The engine's background thread, which takes page flushes' fsyncs
    /// and WAL checkpoints off the write path when it runs.
    pub background: Arc<background::Background>,
    /// `[wal].checkpoint_interval`: how long the WAL may hold samples of
    /// flushed pages before the background thread checkpoints it.
    pub checkpoint_every: std::time::Duration,
}

impl Settings {
    pub fn from_config(
        cfg: &EngineConfig,
        read_only: bool,
        commits: Arc<crate::wal::CommitLog>,
        background: Arc<background::Background>,
    ) -> Settings {
        Settings {
            background,
            checkpoint_every: std::time::Duration::from_nanos(
                u64::try_from(cfg.wal.checkpoint_interval_ns).unwrap_or(0),
            ),
            commits,
            read_only,
            metrics: cfg.metrics.clone(),
            fsync_policy: cfg.wal.fsync_policy,
            durability: cfg.durability,
            max_segment_size: cfg.wal.max_segment_size,
            max_future_ns: cfg.ingest.max_future_ns,
            ooo_window_ns: cfg.ingest.out_of_order_window_ns,
            forward: Arc::default(),
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
    /// Newest timestamp in `data-<key>.dat`'s frames when known (the file
    /// was walked at open, or created by this process): a sample newer
    /// than this cannot be in that file, so the duplicate check of an
    /// out-of-order sample skips reading it.
    pub data_max_ts: Option<i64>,
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
    last: Vec<Option<(i64, u64)>>,
    /// Cataloged metrics whose newest sample was not found in the
    /// partitions read at open: it may be in `last_pending`, which is read
    /// when one of them is written older than those partitions' end
    /// (`lastvalues.rs`). The live rollups never claim their periods (they
    /// are read back).
    pub(crate) last_unknown: HashSet<MetricId>,
    /// Partitions older than those read for last values at open, newest
    /// first, still to be read when a metric of `last_unknown` is written
    /// (`lastvalues.rs`).
    last_pending: Vec<String>,
    /// End of the newest partition of `last_pending` (`i64::MIN` if none):
    /// a sample at or after it is newer than anything they hold.
    last_pending_end: i64,
    /// Partitions listed in `out-of-order.keys` (`order.rs`).
    unordered: HashSet<String>,
    /// The list could not be read: every partition is read sorted.
    all_unordered: bool,
    /// Cached bounds of the most recently used partition.
    hot: Option<(i64, i64, Arc<str>)>,
    /// Data files written without fsync since the last WAL checkpoint.
    unsynced_files: Vec<PathBuf>,
    /// Frames appended since open: the background flush fsyncs files
    /// without the lock, and may count them synced only if no frame was
    /// appended meanwhile.
    data_appends: u64,
    /// The WAL may hold samples of flushed pages: a checkpoint is owed
    /// (the background thread's, `engine/background.rs`).
    checkpoint_owed: bool,
    /// When the WAL was last checkpointed.
    last_checkpoint: std::time::Instant,
    /// While replaying, or storing an atomic batch whose records are already
    /// in the WAL (but not all in pages yet), WAL checkpoints — which rewrite
    /// the WAL from the pages — are deferred to the end.
    checkpoints_deferred: bool,
    /// A bulk load is writing (`WriteOptions::bulk`): flushes leave their
    /// data files unsynced, and checkpoints that drop no WAL record leave
    /// them so (see [`Database::sync_deferred`]).
    bulk: bool,
    /// A bulk load wrote since the last [`Database::sync_deferred`].
    bulk_written: bool,
    /// Inside [`Database::flush_other_pages_first`].
    bulk_ordering: bool,
    /// The duplicate check's index of a partition's files (`order.rs`).
    cold: Option<order::ColdIndex>,
    /// Reused between runs by [`Database::store_run`]: a run of a bulk
    /// import holds tens of thousands of samples, and a fresh buffer each
    /// time costs page faults.
    logged_scratch: Vec<ingest::LoggedSample>,
    /// Writes since the name hints were last refreshed (`prepare.rs`).
    hint_writes: u32,
    /// The last flushed page, emptied, for the next page to reuse its
    /// vectors (a page of 9,000 samples would otherwise grow them again).
    spare_page: Option<Page>,
    /// Partitions sealed while checkpoints were deferred, whose metric-file
    /// build and retention wait for the checkpoint.
    deferred_seals: Vec<String>,
    /// Label postings of the catalog's series, synced before each use.
    labels: crate::labels::LabelIndex,
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
    fn stored(&mut self, id: MetricId, ts: i64, bits: u64, now: i64);

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
    metric_cache: metric_cache::MetricCache,
    /// Writes waiting for a group commit (`fsync_policy = "always"`).
    pub(crate) commit_queue: group_commit::CommitQueue,
    /// The catalog's index as of a recent write, for writers to look
    /// their metrics up before they take the lock (`prepare.rs`).
    hints: std::sync::RwLock<Arc<crate::catalog::NameHints>>,
}

/// A sample copied out of an open page for a query.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PageSample {
    pub id: MetricId,
    pub ts: i64,
    pub bits: u64,
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
    /// The partition may hold a metric's samples out of time order
    /// (`order.rs`): reads sort it.
    pub unordered: bool,
    /// The read spans many partitions (see [`LONG_SCAN_PARTITIONS`]): its
    /// frames would only push everything else out of the decoded-frame
    /// cache, and one metric's samples of a metric file are kept instead.
    pub long_scan: bool,
}

/// A read of more partitions than this is a long scan
/// ([`PartitionView::long_scan`]).
pub(crate) const LONG_SCAN_PARTITIONS: usize = 16;

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
            db.load_unordered(&mut st);
            db.derive_last_values(&mut st)?;
            db.open_wal_and_replay(&mut st)?;
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
            metric_cache: metric_cache::MetricCache::default(),
            commit_queue: group_commit::CommitQueue::default(),
            hints: prepare::no_hints(),
            state: Mutex::new(DbState {
                materialized,
                catalog,
                wal: None,
                open: BTreeMap::new(),
                sealed: HashSet::new(),
                files: BTreeMap::new(),
                last: Vec::new(),
                last_unknown: HashSet::new(),
                last_pending: Vec::new(),
                last_pending_end: i64::MIN,
                unordered: HashSet::new(),
                all_unordered: false,
                hot: None,
                unsynced_files: Vec::new(),
                bulk: false,
                bulk_written: false,
                bulk_ordering: false,
                cold: None,
                checkpoints_deferred: false,
                data_appends: 0,
                checkpoint_owed: false,
                last_checkpoint: std::time::Instant::now(),
                logged_scratch: Vec::new(),
                hint_writes: 0,
                spare_page: None,
                deferred_seals: Vec::new(),
                labels: crate::labels::LabelIndex::default(),
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
                    entry.data_max_ts = Some(
                        scan.frames
                            .iter()
                            .map(|f| f.header.end_ts)
                            .fold(i64::MIN, i64::max),
                    );
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

    /// Whether this database holds its write lock now (a writable one from
    /// its opening, or its first write when it is new, until `close`).
    pub(super) fn holds_lock(&self) -> bool {
        self.lock
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
    }

    // --------------------------------------------------------------- ingest

    fn materialize(&self, st: &mut DbState) -> Result<()> {
        fs::create_dir_all(&self.dir).at(&self.dir)?;
        {
            let mut held = self.lock.lock().unwrap_or_else(|p| p.into_inner());
            if held.is_none() {
                *held = Some(DbLock::acquire(&self.dir, &self.name)?);
                // Another writer may have rebuilt metric files while the
                // lock was free: versions seen then are not to be trusted
                // (`metric_version`).
                self.metric_cache.forget_all();
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
        // Partitions the first batch's checks listed before the directory
        // existed (`order.rs`): on disk before any of its WAL records.
        self.save_unordered(st)
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
        // Release the write lock now, not when the last handle on this
        // database goes (a query or the rollup worker may hold one a moment
        // longer), so that a new engine in this process can open it at once.
        // A write through a stale handle takes the lock again first
        // (`materialize`), and fails if another writer has it.
        st.materialized = false;
        drop(st);
        *self.lock.lock().unwrap_or_else(|p| p.into_inner()) = None;
        Ok(())
    }
}
