//! The engine: a root directory of databases, its configuration, and the
//! public write / read API.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use crate::catalog::MetricInfo;
use crate::config::{self, EngineConfig};
use crate::database::{Database, Settings};
use crate::error::{Error, IoContext, Result};
use crate::lineproto;
use crate::names;
use crate::rollup;
use crate::sample::{Value, ValueType};
use crate::stats::DbStats;
use crate::time;
pub use crate::write::{WriteOptions, WriteReport, WriteSample};

pub(crate) mod background;
mod rollups;
mod view;
mod write;

/// How to open an engine.
#[derive(Debug, Clone, Default)]
pub struct EngineOptions {
    /// Never create, truncate or write anything under the root. WAL records
    /// are replayed into memory so reads still see every acknowledged sample;
    /// damaged tails are skipped instead of cut.
    pub read_only: bool,
    /// Use this configuration instead of `<root>/engine.toml`.
    pub config: Option<EngineConfig>,
}

/// An open NanoTDB root directory. `Send + Sync`: share it (for example in an
/// `Arc`) between threads; writers of different databases run in parallel.
/// Dropping it flushes and closes every database, like [`Engine::close`].
pub struct Engine {
    /// Everything the engine holds; shared with the background rollup
    /// worker, which works through a non-owning handle.
    pub(crate) s: Arc<EngineShared>,
    /// Whether dropping this handle closes the engine (false for the
    /// rollup worker's handle).
    owner: bool,
}

/// State of an open engine, behind [`Engine`].
pub(crate) struct EngineShared {
    root: PathBuf,
    config: EngineConfig,
    settings: Settings,
    dbs: RwLock<HashMap<String, Arc<Database>>>,
    closed: AtomicBool,
    prefer_metric_files: AtomicBool,
    /// Self-metrics into `internal` (`[stats]`; off for read-only engines).
    stats_enabled: AtomicBool,
    /// When the last self-metrics snapshot was written.
    last_stats: std::sync::Mutex<Option<std::time::Instant>>,
    /// Run due rollups after user writes (see [`Engine::set_auto_rollups`]).
    auto_rollups: AtomicBool,
    /// Rollup passes: the mutex serialising them and the background worker.
    pub(crate) rollups: rollup::Rollups,
    /// The background thread's handle (`engine/background.rs`): page
    /// flushes' fsyncs and WAL checkpoints, and the `interval` policy's
    /// WAL fsyncs.
    pub(crate) background: Arc<crate::database::background::Background>,
}

impl Engine {
    fn from_shared(s: EngineShared) -> Engine {
        Engine {
            s: Arc::new(s),
            owner: true,
        }
    }

    /// A handle on the same engine that does not close it when dropped
    /// (for the background rollup worker).
    pub(crate) fn worker_handle(&self) -> Engine {
        Engine {
            s: self.s.clone(),
            owner: false,
        }
    }

    /// Opens (creating if needed) the root directory and its `engine.toml`.
    pub fn open(root: impl AsRef<Path>) -> Result<Engine> {
        Engine::open_with(root, EngineOptions::default())
    }

    /// Opens the root without writing anything (see [`EngineOptions::read_only`]).
    pub fn open_read_only(root: impl AsRef<Path>) -> Result<Engine> {
        Engine::open_with(
            root,
            EngineOptions {
                read_only: true,
                config: None,
            },
        )
    }

    /// Opens with explicit options.
    pub fn open_with(root: impl AsRef<Path>, opts: EngineOptions) -> Result<Engine> {
        let root = root.as_ref().to_path_buf();
        let config = match opts.config {
            Some(c) => c,
            None if opts.read_only => {
                let path = crate::layout::engine_config(&root);
                if path.is_file() {
                    let (c, warnings) = config::load_engine_config(&path)?;
                    for w in warnings {
                        tracing::warn!("{w}");
                    }
                    c
                } else {
                    config::default_engine_config()
                }
            }
            None => {
                fs::create_dir_all(&root).at(&root)?;
                let (c, warnings) = config::load_or_create_engine_config(&root)?;
                for w in warnings {
                    tracing::warn!("{w}");
                }
                c
            }
        };
        if !opts.read_only {
            fs::create_dir_all(&root).at(&root)?;
        }
        let commits = Arc::new(crate::wal::CommitLog::open(&root, opts.read_only)?);
        let bg = Arc::new(crate::database::background::Background::default());
        let settings = Settings::from_config(&config, opts.read_only, commits, bg.clone());
        let engine = Engine::from_shared(EngineShared {
            root,
            config,
            settings,
            dbs: RwLock::new(HashMap::new()),
            closed: AtomicBool::new(false),
            prefer_metric_files: AtomicBool::new(true),
            stats_enabled: AtomicBool::new(false),
            last_stats: std::sync::Mutex::new(None),
            auto_rollups: AtomicBool::new(true),
            rollups: rollup::Rollups::default(),
            background: bg,
        });
        let interval = (engine.s.config.wal.fsync_policy == crate::config::FsyncPolicy::Interval)
            .then_some(engine.s.config.wal.fsync_interval_ns);
        let flush_work = engine.s.config.background_sync;
        if !opts.read_only && (flush_work || interval.is_some()) {
            background::start(&engine.s, interval, flush_work);
        }
        engine.s.stats_enabled.store(
            engine.s.config.stats.enabled && !opts.read_only,
            Ordering::Relaxed,
        );
        crate::metricfile::cache::global_cache()
            .set_capacity(engine.s.config.metrics.time_cache_slots);
        for name in engine.s.config.default_databases.clone() {
            let name = name.trim();
            if name.is_empty() || name == "internal" {
                continue;
            }
            engine.db(name, !opts.read_only)?;
        }
        if !opts.read_only && !engine.s.settings.commits.is_empty() {
            // A crash left batches spanning databases in the commit log:
            // replay the databases they name (each rewrites its WAL without
            // batch ids), so the log can forget them.
            for name in engine.s.settings.commits.databases() {
                if let Err(e) = engine.db(&name, false) {
                    tracing::warn!(db = %name, "cannot replay a database the commit log names: {e}");
                }
            }
            engine.retain_commits()?;
        }
        tracing::info!(root = %engine.s.root.display(), read_only = opts.read_only, "engine opened");
        Ok(engine)
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.s.root
    }

    /// The effective configuration.
    pub fn config(&self) -> &EngineConfig {
        &self.s.config
    }

    /// Whether range queries and exports read `metric-<p>.dat` files when
    /// they exist (the default, as in v1.4.0) or only the raw files.
    pub fn prefer_metric_files(&self) -> bool {
        self.s.prefer_metric_files.load(Ordering::Relaxed)
    }

    /// Sets [`Engine::prefer_metric_files`] (`nanocli query --metric-files`).
    pub fn set_prefer_metric_files(&self, on: bool) {
        self.s.prefer_metric_files.store(on, Ordering::Relaxed);
    }

    /// Turns the self-metrics snapshots into the `internal` database on or
    /// off (`[stats].enabled` by default). Tools that run briefly turn them
    /// off so that every run does not add samples.
    pub fn set_stats_enabled(&self, on: bool) {
        self.s
            .stats_enabled
            .store(on && !self.s.settings.read_only, Ordering::Relaxed);
    }

    /// Writes one snapshot of the self-metrics into `internal` if enabled
    /// and `[stats].interval` has passed since the last one (`force` skips
    /// the interval check).
    fn maybe_emit_stats(&self, force: bool) {
        if !self.s.stats_enabled.load(Ordering::Relaxed) {
            return;
        }
        {
            let mut last = self.s.last_stats.lock().unwrap_or_else(|p| p.into_inner());
            let interval =
                std::time::Duration::from_nanos(self.s.config.stats.interval_ns.max(0) as u64);
            if !force && last.is_some_and(|t| t.elapsed() < interval) {
                return;
            }
            *last = Some(std::time::Instant::now());
        }
        let stats: Vec<DbStats> = self
            .loaded()
            .iter()
            .filter(|d| d.is_materialized())
            .map(|d| d.stats())
            .collect();
        let metrics = crate::stats::snapshot_metrics(&stats);
        let now = time::now_ns();
        let samples: Vec<WriteSample<'_>> = metrics
            .iter()
            .map(|(name, v)| WriteSample {
                db: crate::stats::INTERNAL_DB,
                metric: name,
                ts: now,
                value: Value::F32(*v),
            })
            .collect();
        let mut report = WriteReport::default();
        if let Err(e) = self.write_run(
            &samples,
            0,
            now,
            WriteOptions::default(),
            false,
            &mut report,
        ) {
            tracing::debug!("self-metrics snapshot failed: {e}");
        }
    }

    /// Builds metric files for one partition (`part`) or every partition
    /// that has raw files and no open page. `opts` defaults to v2 with the
    /// engine's `[metrics]` codec and raw-ingest action.
    pub fn build_metric_files(
        &self,
        db: &str,
        part: Option<&str>,
        opts: Option<crate::database::BuildOptions>,
    ) -> Result<Vec<crate::database::BuildReport>> {
        let database = self.existing_db(db)?;
        let opts = opts.unwrap_or(crate::database::BuildOptions {
            version: self.s.config.metrics.format,
            codec: self.s.config.metrics.compression,
            raw_action: self.s.config.metrics.raw_ingest_action,
            verify: false,
        });
        let mut st = database.lock();
        let keys: Vec<String> = match part {
            Some(p) => {
                let p = p.trim();
                if p.is_empty() || p.contains(['/', '\\']) || time::parse_partition_key(p).is_none()
                {
                    return Err(Error::InvalidPartitionKey {
                        db: database.name.clone(),
                        key: p.to_string(),
                        reason: format!("invalid partition key: {p}"),
                    });
                }
                vec![p.to_string()]
            }
            None => st
                .files
                .iter()
                .filter(|(_, f)| f.data_len.is_some() || f.raw_len.is_some())
                .map(|(k, _)| k.clone())
                // Partitions being written are left for a later build.
                .filter(|k| {
                    st.open
                        .get(k)
                        .and_then(|p| p.page.as_ref())
                        .is_none_or(|p| p.is_empty())
                })
                .collect(),
        };
        let mut out = Vec::new();
        for k in keys {
            match database.build_metric_file(&mut st, &k, &opts) {
                Ok(r) => out.push(r),
                // Reported, not fatal: the partition keeps its raw files.
                Err(e @ Error::WideValuesInPartition { .. }) => {
                    let path = database.metric_path(&k);
                    out.push(crate::database::BuildReport::skipped(
                        &k,
                        path,
                        e.to_string(),
                    ));
                }
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// Rewrites `data-<part>.dat` with full pages, atomically (refused while
    /// the partition has an open page).
    pub fn recompact_data_file(
        &self,
        db: &str,
        part: &str,
    ) -> Result<crate::database::RecompactReport> {
        let database = self.existing_db(db)?;
        let mut st = database.lock();
        database.recompact(&mut st, part)
    }

    /// Copies the intact frames of a damaged raw file of `part` into `out`
    /// (the source is not modified; swap the files yourself).
    pub fn recover_data_file(
        &self,
        db: &str,
        part: &str,
        out: &std::path::Path,
    ) -> Result<crate::database::RecoverReport> {
        let database = self.existing_db(db)?;
        let st = database.lock();
        database.recover(&st, part, out)
    }

    /// Partition keys of `db` that have raw files (`data-`/`raw-<p>.dat`),
    /// oldest first, and whether each has an open page.
    pub fn raw_partitions(&self, db: &str) -> Result<Vec<(String, bool)>> {
        let database = self.existing_db(db)?;
        let st = database.lock();
        let mut keys: Vec<(i64, String, bool)> = st
            .files
            .iter()
            .filter(|(_, f)| f.data_len.is_some() || f.raw_len.is_some())
            .map(|(k, _)| {
                let start = time::parse_partition_key(k).map_or(i64::MIN, |p| p.1);
                let open = st
                    .open
                    .get(k)
                    .and_then(|p| p.page.as_ref())
                    .is_some_and(|p| !p.is_empty());
                (start, k.clone(), open)
            })
            .collect();
        keys.sort();
        Ok(keys.into_iter().map(|(_, k, o)| (k, o)).collect())
    }

    /// Compares a partition's metric file with its raw files, sample by
    /// sample; returns the number of samples compared.
    pub fn verify_metric_file(&self, db: &str, part: &str) -> Result<u64> {
        let database = self.existing_db(db)?;
        let st = database.lock();
        database.verify_metric_file(&st, part)
    }

    /// Whether the engine was opened read-only.
    pub fn is_read_only(&self) -> bool {
        self.s.settings.read_only
    }

    /// Finds a database: loaded, on disk, or (with `create`) a new one that
    /// will be created on its first accepted sample.
    pub(crate) fn db(&self, name: &str, create: bool) -> Result<Option<Arc<Database>>> {
        names::validate_db_name(name)?;
        if self.s.closed.load(Ordering::SeqCst) {
            return Err(Error::Closed);
        }
        {
            let map = self.s.dbs.read().unwrap_or_else(|p| p.into_inner());
            if let Some(d) = map.get(name) {
                if create || d.is_materialized() {
                    return Ok(Some(d.clone()));
                }
                return Ok(None);
            }
        }
        let mut map = self.s.dbs.write().unwrap_or_else(|p| p.into_inner());
        if let Some(d) = map.get(name) {
            return Ok((create || d.is_materialized()).then(|| d.clone()));
        }
        let dir = self.s.root.join(name);
        let db = if dir.is_dir() && (Database::looks_like_db(&dir, name) || create) {
            Database::open(
                name,
                dir,
                &self.s.config.manifest_defaults,
                self.s.settings.clone(),
            )?
        } else if create && !self.s.settings.read_only {
            Database::new_unmaterialized(
                name,
                dir,
                self.s.config.manifest_defaults.clone(),
                self.s.settings.clone(),
            )
        } else {
            return Ok(None);
        };
        let db = Arc::new(db);
        map.insert(name.to_string(), db.clone());
        Ok(Some(db))
    }

    /// A database that must exist.
    pub(crate) fn existing_db(&self, name: &str) -> Result<Arc<Database>> {
        self.db(name, false)?
            .ok_or_else(|| Error::DatabaseNotFound(name.to_string()))
    }

    /// The effective manifest of an existing database.
    pub fn db_manifest(&self, name: &str) -> Result<config::Manifest> {
        Ok(self.existing_db(name)?.manifest.clone())
    }

    /// Opens `name`, creating it with `manifest` (written with `text`) when
    /// neither loaded nor on disk. An existing manifest is never rewritten.
    pub(crate) fn open_or_create_with_manifest(&self, name: &str, text: &str) -> Result<()> {
        names::validate_db_name(name)?;
        if self.s.settings.read_only {
            return Err(Error::ReadOnly);
        }
        let loaded = self
            .s
            .dbs
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(name);
        let dir = self.s.root.join(name);
        let manifest = crate::layout::DbLayout::new(&self.s.root, name).manifest();
        if !loaded && !manifest.exists() {
            fs::create_dir_all(&dir).at(&dir)?;
            match config::write_new_manifest_text(&manifest, text) {
                Ok(()) => {}
                Err(config::ConfigError::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e.into()),
            }
        }
        self.db(name, true)?;
        Ok(())
    }

    /// Makes durable what bulk writes (`WriteOptions::bulk`, the imports)
    /// left unsynced in every loaded database: their data files, then the
    /// catalog.
    pub fn sync_deferred(&self) -> Result<()> {
        if self.s.settings.read_only {
            return Ok(());
        }
        for db in self.loaded() {
            let mut st = db.lock();
            db.sync_deferred(&mut st)?;
        }
        Ok(())
    }

    /// Flushes every open page of one database and checkpoints its WAL, so
    /// everything it acknowledged is in fsynced data files.
    pub fn flush_db(&self, name: &str) -> Result<()> {
        if self.s.settings.read_only {
            return Ok(());
        }
        let db = self.existing_db(name)?;
        if !db.is_materialized() {
            return Ok(());
        }
        let mut st = db.lock();
        db.flush_all(&mut st)
    }

    /// Flushes, closes and forgets a loaded database (releasing its write
    /// lock), so its files can be rewritten; it is reopened on next use.
    pub(crate) fn unload_db(&self, name: &str) -> Result<()> {
        let db = self
            .s
            .dbs
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(name);
        match db {
            Some(db) => db.close(),
            None => Ok(()),
        }
    }

    // ---------------------------------------------------------- maintenance

    /// Flushes every open page of every database and checkpoints the WALs,
    /// after waiting for the automatic rollup passes queued so far.
    pub fn flush(&self) -> Result<()> {
        self.s.rollups.worker.sync();
        self.each_writable(|db, st| db.flush_all(st))?;
        // The WALs are empty now: the commit log can forget their batches.
        if !self.s.settings.commits.is_empty() {
            self.retain_commits()?;
        }
        Ok(())
    }

    /// Flushes pages older than their `max_age` (the reference only checked
    /// this when the same database received a sample; a server calls this on
    /// a timer so idle databases do not keep pages in memory). Also drops
    /// the index of partition files the duplicate check may have built.
    pub fn flush_idle(&self) -> Result<()> {
        self.each_writable(|db, st| {
            db.forget_cold(st);
            db.finish_batch(st)
        })
    }

    /// Runs `f` under the lock of every loaded database that has files
    /// (none in a read-only engine), stopping at the first error.
    fn each_writable(
        &self,
        mut f: impl FnMut(&Database, &mut crate::database::DbState) -> Result<()>,
    ) -> Result<()> {
        if self.s.settings.read_only {
            return Ok(());
        }
        for db in self.loaded() {
            if db.is_materialized() {
                f(&db, &mut db.lock())?;
            }
        }
        Ok(())
    }

    pub(crate) fn loaded(&self) -> Vec<Arc<Database>> {
        let map = self.s.dbs.read().unwrap_or_else(|p| p.into_inner());
        let mut v: Vec<(String, Arc<Database>)> =
            map.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v.into_iter().map(|(_, d)| d).collect()
    }

    /// Flushes and closes every database. Every database is attempted even
    /// when another fails; the failures are returned together.
    pub fn close(&self) -> Result<()> {
        if self.s.closed.load(Ordering::SeqCst) {
            return Ok(());
        }
        // Queued automatic rollups run to the end first (they need the
        // databases open).
        self.s.rollups.worker.shutdown();
        self.s.background.stop();
        // One last snapshot, as the reference does at close — but only when
        // this process wrote something, so idle runs never add samples.
        let emitted = self
            .s
            .last_stats
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some();
        if emitted {
            self.maybe_emit_stats(true);
        }
        if self.s.closed.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        let mut failures = Vec::new();
        for db in self.loaded() {
            if let Err(e) = db.close() {
                tracing::error!(db = %db.name, "close failed: {e}");
                failures.push((db.name.clone(), e));
            }
        }
        if let Err(e) = self.retain_commits() {
            tracing::error!("cannot prune the commit log: {e}");
        }
        // Release file handles and write locks (queries still running keep
        // their own references until they finish).
        self.s
            .dbs
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        if failures.is_empty() {
            Ok(())
        } else {
            Err(Error::Close(failures))
        }
    }

    /// Registers a remote-write target's hold: from now on retention and
    /// metric-file builds keep what it has not delivered (crate::forward).
    pub fn add_forward_hold(&self, hold: std::sync::Arc<crate::forward::ForwardHold>) {
        self.s.settings.forward.add(hold);
    }

    /// A count that changes whenever a data file gets new frames (or is
    /// rewritten): a forwarding sender reads again only when it changed.
    pub fn forward_appended(&self) -> u64 {
        self.s.settings.forward.appended()
    }

    /// Registers a function called after each frame appended to a data
    /// file (see [`crate::forward::AppendListener`]).
    pub fn on_forward_append(&self, f: crate::forward::AppendListener) {
        self.s.settings.forward.on_append(f);
    }

    /// Where the cursor file of remote-write target `target` lives.
    pub fn forward_cursor_path(&self, target: &str) -> PathBuf {
        crate::forward::cursor_path(&self.s.root, target)
    }

    /// Applies the retention policy of `db` now (wall clock): partitions
    /// whose end is older than `retention_days` are deleted or archived per
    /// `retention_action`. With `dry_run` nothing changes and the report says
    /// what would go. Also runs automatically whenever a partition is sealed.
    pub fn apply_retention(
        &self,
        db: &str,
        dry_run: bool,
    ) -> Result<crate::retention::RetentionReport> {
        let database = self.existing_db(db)?;
        let mut st = database.lock();
        database.apply_retention(&mut st, time::now_ns(), dry_run)
    }

    /// Drops the engine without flushing anything, as a crash would: open
    /// pages are lost from memory (the WAL still has them) and locks are
    /// released. Meant for tests of recovery paths.
    pub fn abort(self) {
        // The worker holds a handle on the shared state (and so on every
        // database and its lock): stop it, dropping what it had queued.
        self.s.rollups.worker.abandon();
        self.s.background.stop();
        self.s.closed.store(true, Ordering::SeqCst);
    }

    // ------------------------------------------------------------ discovery

    /// Names of every database under the root (sorted), loaded or not.
    pub fn databases(&self) -> Result<Vec<String>> {
        let mut names: Vec<String> = Vec::new();
        match fs::read_dir(&self.s.root) {
            Ok(rd) => {
                for e in rd.flatten() {
                    let Ok(name) = e.file_name().into_string() else {
                        continue;
                    };
                    if names::validate_db_name(&name).is_err() {
                        continue;
                    }
                    let p = e.path();
                    if p.is_dir() && Database::looks_like_db(&p, &name) {
                        names.push(name);
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(&self.s.root, e)),
        }
        for db in self.loaded() {
            if db.is_materialized() && !names.contains(&db.name) {
                names.push(db.name.clone());
            }
        }
        names.sort();
        Ok(names)
    }

    /// Names of the databases open in this process that exist on disk
    /// (sorted): [`Engine::databases`] without listing the root. A database
    /// gets new frames only while open, so after one full listing this is
    /// all a reader of new frames needs.
    pub fn open_databases(&self) -> Vec<String> {
        self.loaded()
            .into_iter()
            .filter(|d| d.is_materialized())
            .map(|d| d.name.clone())
            .collect()
    }

    /// Metrics of a database, sorted by name.
    pub fn metrics(&self, db: &str) -> Result<Vec<MetricInfo>> {
        Ok(self.existing_db(db)?.metrics())
    }

    /// The series of `db` whose labels every matcher accepts (names are
    /// canonical `name{a="x"}`; see [`crate::labels`]), sorted by name. Uses
    /// the database's label index: no name is scanned.
    pub fn select_series(
        &self,
        db: &str,
        matchers: &[crate::labels::Matcher],
    ) -> Result<Vec<MetricInfo>> {
        Ok(self.existing_db(db)?.select_series(matchers))
    }

    /// The label names of `db`'s series (`label = None`), or the values of
    /// one label, sorted.
    pub fn label_values(&self, db: &str, label: Option<&str>) -> Result<Vec<String>> {
        Ok(self.existing_db(db)?.label_values(label))
    }

    /// The value type of a metric (`None` when the database has no such
    /// metric).
    pub fn metric_type(&self, db: &str, metric: &str) -> Result<Option<ValueType>> {
        Ok(self.existing_db(db)?.value_type(metric))
    }

    /// Runtime statistics of a database.
    pub fn db_stats(&self, db: &str) -> Result<DbStats> {
        Ok(self.existing_db(db)?.stats())
    }

    /// Samples held in open pages (protected by the WAL, not yet in a data
    /// file), as (metric, timestamp, value).
    pub fn unflushed_samples(&self, db: &str) -> Result<Vec<(String, i64, Value)>> {
        Ok(self.existing_db(db)?.unflushed())
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        if !self.owner {
            return;
        }
        if let Err(e) = self.close() {
            tracing::error!("closing engine on drop: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn engine_is_send_and_sync() {
        assert_send_sync::<Engine>();
    }
}
