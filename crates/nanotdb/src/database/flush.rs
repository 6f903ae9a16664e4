//! Page flushes, sealing, and WAL checkpoints (reset or atomic rewrite).

use std::fs::File;

use crate::datafile::DataFileAppender;

use super::*;

impl Database {
    /// Writes the page of `key` as one frame. The catalog is saved first when
    /// it has new metrics, so every id in a frame on disk is resolvable.
    pub fn flush_partition(&self, st: &mut DbState, key: &str) -> Result<bool> {
        if self.settings.read_only {
            // A read-only open keeps replayed pages in memory: it never
            // writes (behind a torn tail it would even damage the file).
            return Ok(false);
        }
        if st.bulk && !st.bulk_ordering && self.settings.durability.fsync_data() {
            self.flush_other_pages_first(st, key)?;
        }
        let Some(part) = st.open.get_mut(key) else {
            return Ok(false);
        };
        let Some(mut page) = part.page.take() else {
            return Ok(false);
        };
        if page.is_empty() {
            return Ok(false);
        }
        let started = std::time::Instant::now();
        // Until its frame is in the file, a failure puts the page back: its
        // samples are acknowledged, and a WAL checkpoint after the failure
        // would keep only what the open pages hold.
        let put_back = |open: &mut BTreeMap<String, OpenPartition>, page: Page| {
            if let Some(part) = open.get_mut(key) {
                part.page = Some(page);
            }
        };
        // The WAL must hold these samples before the frame does.
        if let Err(e) = self.write_pending_wal(st, None) {
            put_back(&mut st.open, page);
            return Err(e);
        }
        let cat_path = self.catalog_path();
        match st.catalog.save_if_dirty(&cat_path) {
            Ok(saved) => st.counters.catalog_writes += u64::from(saved),
            Err(e) => {
                put_back(&mut st.open, page);
                return Err(e);
            }
        }
        page.sort();
        // With the background thread, the fsync waits for it (the WAL keeps
        // the samples until then), not the write that filled the page; a
        // bulk load syncs its files itself (below, and at its end).
        let fsync_now = self.settings.durability.fsync_data()
            && !st.bulk
            && !self.settings.background.takes_flush_work();
        if st.bulk && self.settings.durability.fsync_data() {
            // Unsynced frames of a bulk load become durable in the order they
            // were written: another file's frames first. Within one file a
            // power loss can only cost a tail (a lost frame ends what reads
            // and the tail cut at open keep), so what survives is a prefix
            // of the input, and re-running the import completes it.
            let path = self.data_path(key);
            if st.unsynced_files.iter().any(|p| *p != path) {
                st.unsynced_files.retain(|p| *p != path);
                if let Err(e) = self.sync_unsynced(st) {
                    put_back(&mut st.open, page);
                    return Err(e);
                }
                st.unsynced_files.push(path);
            }
        }
        let DbState {
            frame_buf,
            scratch,
            open,
            files,
            counters,
            unsynced_files,
            catalog,
            data_appends,
            spare_page,
            ..
        } = st;
        frame_buf.clear();
        // Without 8-byte metrics the frame is v1.4.0's (docs/FORMATS.md §3.9).
        let any_wide = catalog.has_wide();
        let wide = |i: usize| any_wide && catalog.is_wide(page.ids[i]);
        if let Err(e) =
            frame::encode_frame(&page.ids, &page.ts, &page.vals, wide, scratch, frame_buf)
        {
            put_back(open, page);
            return Err(Error::Corrupt {
                path: self.data_path(key),
                offset: 0,
                reason: format!("cannot encode page: {e}"),
            });
        }
        let path = self.data_path(key);
        let Some(part) = open.get_mut(key) else {
            return Ok(false);
        };
        if part.file.is_none() {
            match DataFileAppender::open(&path) {
                Ok(f) => part.file = Some(f),
                Err(e) => {
                    part.page = Some(page);
                    return Err(e);
                }
            }
        }
        let Some(file) = part.file.as_mut() else {
            return Ok(false);
        };
        let old_len = files.get(key).and_then(|f| f.data_len).unwrap_or(0);
        if let Err(e) = file.append(frame_buf, old_len) {
            // The samples are still acknowledged data: back into the page.
            part.page = Some(page);
            return Err(e);
        }
        // The frame is in the file: account for it before the fsync, so a
        // failing fsync cannot make the recorded length fall behind.
        let entry = files.entry(key.to_string()).or_default();
        let was_new = entry.data_len.is_none();
        let page_max = page.ts.last().copied().unwrap_or(i64::MIN);
        entry.data_max_ts = match (was_new, entry.data_max_ts) {
            (true, _) => Some(page_max),
            (false, known) => known.map(|m| m.max(page_max)),
        };
        entry.data_len = Some(entry.data_len.unwrap_or(0) + frame_buf.len() as u64);
        *data_appends += 1;
        self.settings.forward.note_appended();
        if fsync_now {
            let t = std::time::Instant::now();
            file.sync_data()?;
            counters.data_fsync_ns.record_since(t);
            counters.data_fsyncs += 1;
        } else {
            if !unsynced_files.contains(&path) {
                unsynced_files.push(path.clone());
            }
        }
        part.flushed(&mut page);
        counters.flushes += 1;
        counters.frames_written += 1;
        counters.frame_bytes_written += frame_buf.len() as u64;
        counters.records_flushed += page.len() as u64;
        counters.flush_records.record(page.len() as u64);
        counters.flush_frame_bytes.record(frame_buf.len() as u64);
        counters.flush_ns.record_since(started);
        *spare_page = Some(page);
        if was_new {
            fsutil::sync_dir(&self.dir)?;
        }
        Ok(true)
    }

    /// Flushes every open page and checkpoints the WAL.
    pub fn flush_all(&self, st: &mut DbState) -> Result<()> {
        let keys: Vec<String> = st.open.keys().cloned().collect();
        for k in keys {
            self.flush_partition(st, &k)?;
        }
        self.wal_checkpoint(st)
    }

    pub(super) fn seal(&self, st: &mut DbState, key: &str) -> Result<()> {
        if self.settings.read_only {
            return Ok(());
        }
        self.flush_partition(st, key)?;
        st.open.remove(key);
        st.sealed.insert(key.to_string());
        if st.checkpoints_deferred {
            // The WAL may still hold this partition's samples until the
            // deferred checkpoint: renaming or deleting its raw file (or
            // retention) before that would let a crash replay them on top
            // of the metric file.
            st.deferred_seals.push(key.to_string());
            return Ok(());
        }
        self.wal_checkpoint(st)?;
        self.after_seal(st, key);
        Ok(())
    }

    /// Runs what [`Database::seal`] postponed while checkpoints were
    /// deferred; call right after the checkpoint that ends the deferral.
    pub(super) fn run_deferred_seals(&self, st: &mut DbState) {
        for key in std::mem::take(&mut st.deferred_seals) {
            self.after_seal(st, &key);
        }
    }

    /// The maintenance a seal triggers once the WAL no longer holds the
    /// partition: the metric-file build and retention.
    fn after_seal(&self, st: &mut DbState, key: &str) {
        // Auto-build failures, like retention failures, must not fail the
        // write that caused the seal; the raw files stay readable.
        if self.settings.metrics.enabled && st.files.contains_key(key) {
            let m = &self.settings.metrics;
            let opts = BuildOptions {
                version: m.format,
                codec: m.compression,
                raw_action: m.raw_ingest_action,
                verify: false,
            };
            match self.build_metric_file(st, key, &opts) {
                Ok(_) => {}
                Err(e @ Error::WideValuesInPartition { .. }) => {
                    tracing::info!(db = %self.name, partition = key, "metric file skipped: {e}");
                }
                Err(e) => {
                    tracing::error!(db = %self.name, partition = key, "metric file auto-build failed: {e}");
                }
            }
        }
        if let Err(e) = self.apply_retention(st, time::now_ns(), false) {
            tracing::error!(db = %self.name, "retention failed: {e}");
        }
    }

    /// Removes or archives partitions past `retention_days` at wall-clock
    /// `now` (see [`crate::retention`]); open partitions are skipped.
    pub fn apply_retention(
        &self,
        st: &mut DbState,
        now: i64,
        dry_run: bool,
    ) -> Result<crate::retention::RetentionReport> {
        use crate::config::RetentionAction;
        use crate::forward::HoldVerdict;
        use crate::retention::{self, Action};
        let r = &self.manifest.retention;
        let action = match r.action {
            RetentionAction::Keep => Action::Keep,
            RetentionAction::Delete => Action::Delete,
            RetentionAction::Archive => Action::Archive,
        };
        if self.settings.read_only && !dry_run {
            return Err(Error::ReadOnly);
        }
        if !st.materialized {
            return Ok(retention::RetentionReport {
                dry_run,
                ..Default::default()
            });
        }
        let open: Vec<String> = st.open.keys().cloned().collect();
        // A partition a remote-write target has not delivered stays, unless
        // the target is past its `max_lag` (crate::forward).
        let holds = &self.settings.forward;
        let files = &st.files;
        let held = |k: &str| -> bool {
            if holds.is_empty() {
                return false;
            }
            let len = files
                .get(k)
                .map_or(0, |f| f.raw_len.unwrap_or(0) + f.data_len.unwrap_or(0));
            match holds.verdict(&self.name, k, len, now, !dry_run) {
                HoldVerdict::Free => false,
                HoldVerdict::Held(t) => {
                    tracing::info!(db = %self.name, partition = k, target = %t,
                        "retention: partition kept, remote-write target has not delivered it");
                    true
                }
                HoldVerdict::Released(t) => {
                    tracing::warn!(db = %self.name, partition = k, targets = ?t,
                        "retention: removing a partition remote-write targets have not delivered (past max_lag)");
                    false
                }
            }
        };
        let report = retention::run(
            &self.dir,
            r.partition,
            r.retention_days,
            action,
            now,
            &|k| open.iter().any(|o| o == k) || held(k),
            dry_run,
        )?;
        if !dry_run {
            for p in &report.removed {
                self.frames.forget(p);
                self.metric_cache.forget(p);
            }
            for k in &report.expired {
                st.files.remove(k);
            }
            if !report.expired.is_empty() {
                tracing::info!(db = %self.name, expired = ?report.expired, "retention applied");
            }
        }
        Ok(report)
    }

    /// Makes the WAL hold exactly the samples of the pages still open that
    /// went through the WAL: truncated when there are none, otherwise
    /// rewritten atomically. Data files are made durable first, so no WAL
    /// record is dropped before the frame that replaces it is on disk.
    pub(super) fn wal_checkpoint(&self, st: &mut DbState) -> Result<()> {
        if st.checkpoints_deferred || self.settings.read_only {
            return Ok(());
        }
        if st.wal.is_none() {
            st.checkpoint_owed = false;
            return Ok(());
        }
        self.wal_checkpoint_now(st)?;
        st.checkpoint_owed = false;
        st.last_checkpoint = std::time::Instant::now();
        // A spare page nobody took since the flush that left it: the
        // database is not filling pages quickly, so its memory goes.
        st.spare_page = None;
        Ok(())
    }

    /// After page flushes of the write path: the WAL checkpoint, left to
    /// the background thread when it runs (`engine/background.rs`) — the
    /// WAL keeps the flushed samples until then, which replay recognises
    /// in the frames — else done now.
    pub(super) fn checkpoint_soon(&self, st: &mut DbState) -> Result<()> {
        if !st.bulk && self.settings.background.takes_flush_work() {
            st.checkpoint_owed = true;
            self.settings.background.request_flush();
            return Ok(());
        }
        self.wal_checkpoint(st)
    }

    fn wal_checkpoint_now(&self, st: &mut DbState) -> Result<()> {
        let started = std::time::Instant::now();
        self.write_pending_wal(st, None)?;
        // A bulk load's frames may stay unsynced while the WAL is empty: no
        // record is dropped, so nothing depends on them yet.
        if !(st.bulk && st.wal.as_ref().is_some_and(WalWriter::is_empty)) {
            self.sync_unsynced(st)?;
        }
        let cat_path = self.catalog_path();
        if st.catalog.save_if_dirty(&cat_path)? {
            st.counters.catalog_writes += 1;
        }
        let keep: Vec<&Page> = st
            .open
            .values()
            .filter_map(|p| p.page.as_ref())
            .filter(|p| p.logged && !p.is_empty())
            .collect();
        let DbState {
            wal: Some(w),
            catalog,
            counters,
            ..
        } = st
        else {
            return Ok(());
        };
        if keep.is_empty() {
            if w.is_empty() {
                return Ok(());
            }
            w.reset(true)?;
            counters.wal_resets += 1;
            counters.wal_checkpoint_ns.record_since(started);
            return Ok(());
        }
        let samples = keep
            .iter()
            .flat_map(|page| (0..page.len()).map(|i| (page.ids[i], page.ts[i], page.vals[i])));
        w.rewrite(samples, |id| {
            catalog.get(id).map(|m| (m.name.as_str(), m.value_type))
        })?;
        counters.wal_rewrites += 1;
        counters.wal_checkpoint_ns.record_since(started);
        Ok(())
    }

    /// Fsyncs the data files written without fsync since the last sync.
    fn sync_unsynced(&self, st: &mut DbState) -> Result<()> {
        for p in std::mem::take(&mut st.unsynced_files) {
            let t = std::time::Instant::now();
            match File::open(&p) {
                Ok(f) => f.sync_data().at(&p)?,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(&p, e)),
            }
            st.counters.data_fsync_ns.record_since(t);
            st.counters.data_fsyncs += 1;
        }
        Ok(())
    }

    /// Enters or leaves bulk mode (`WriteOptions::bulk`).
    pub fn set_bulk(&self, st: &mut DbState, on: bool) {
        st.bulk = on;
        st.bulk_written |= on;
    }

    /// Makes what bulk loads wrote durable: the open pages are flushed (an
    /// import's samples older than `skip_before` are in no WAL), then every
    /// data file written without fsync, then the catalog.
    pub fn sync_deferred(&self, st: &mut DbState) -> Result<()> {
        if self.settings.read_only || !std::mem::take(&mut st.bulk_written) {
            return Ok(());
        }
        self.flush_all(st)?;
        self.sync_unsynced(st)?;
        if st.catalog.save_if_dirty(&self.catalog_path())? {
            st.counters.catalog_writes += 1;
        }
        Ok(())
    }

    /// Under a bulk load, before partition `key`'s page becomes a frame,
    /// the other open pages (earlier input of the load, which is in no
    /// WAL when older than `skip_before`) are written first, oldest
    /// partition first: with the file order kept by `flush_partition`, a
    /// power loss leaves a prefix of the input.
    fn flush_other_pages_first(&self, st: &mut DbState, key: &str) -> Result<()> {
        let others: Vec<String> = st
            .open
            .iter()
            .filter(|(k, p)| *k != key && p.page.as_ref().is_some_and(|pg| !pg.is_empty()))
            .map(|(k, _)| k.clone())
            .collect();
        st.bulk_ordering = true;
        let flushed = others
            .iter()
            .try_for_each(|k| self.flush_partition(st, k).map(|_| ()));
        st.bulk_ordering = false;
        flushed
    }

    /// The background thread's flush work (`engine/background.rs`): fsyncs
    /// the data files that page flushes of the write path left unsynced —
    /// without the lock, so writers go on meanwhile — then, once due, the
    /// WAL checkpoint those flushes owe. Returns when to come back for a
    /// checkpoint owed but not due yet.
    pub(crate) fn background_flush(&self) -> Result<Option<std::time::Instant>> {
        use super::background::CHECKPOINT_BYTES;
        let every = self.settings.checkpoint_every;
        let due = |st: &DbState| {
            st.last_checkpoint.elapsed() >= every
                || st
                    .wal
                    .as_ref()
                    .is_some_and(|w| w.len_with_pending() >= CHECKPOINT_BYTES)
        };
        let (files, appends) = {
            let st = self.lock();
            if !st.materialized || self.settings.read_only {
                return Ok(None);
            }
            if st.bulk {
                // A bulk load orders its own files' fsyncs (flush_partition).
                let later = std::time::Instant::now()
                    .checked_add(every.max(std::time::Duration::from_millis(100)));
                return Ok(later.filter(|_| st.checkpoint_owed));
            }
            let sync = self.settings.durability.fsync_data() || (st.checkpoint_owed && due(&st));
            let files = if sync {
                st.unsynced_files.clone()
            } else {
                Vec::new()
            };
            (files, st.data_appends)
        };
        let mut synced = 0u64;
        for p in &files {
            match File::open(p) {
                Ok(f) => f.sync_data().at(p)?,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(Error::io(p, e)),
            }
            synced += 1;
        }
        let mut st = self.lock();
        st.counters.data_fsyncs += synced;
        // A frame appended after the fsyncs started may not be covered.
        if st.data_appends == appends {
            st.unsynced_files.retain(|p| !files.contains(p));
        }
        if !st.checkpoint_owed || !st.materialized {
            return Ok(None);
        }
        if !due(&st) {
            // An interval too long to add means "only when the WAL is big".
            return Ok(st.last_checkpoint.checked_add(every));
        }
        self.wal_checkpoint(&mut st)?;
        Ok(None)
    }

    /// The `interval` policy's background fsync of this database's WAL:
    /// the file handle is cloned under the lock and fsynced without it, so
    /// writers never wait on the disk.
    pub fn sync_wal_in_background(&self) -> Result<()> {
        let handle = match self.lock().wal.as_ref().and_then(WalWriter::sync_handle) {
            None => return Ok(()),
            Some(h) => h.map_err(|e| Error::io(self.layout().wal(), e))?,
        };
        let (file, generation) = handle;
        let t = std::time::Instant::now();
        file.sync_data()
            .map_err(|e| Error::io(self.layout().wal(), e))?;
        let mut st = self.lock();
        st.counters.wal_fsync_ns.record_since(t);
        st.counters.last_wal_fsync_ns = time::now_ns();
        st.counters.wal_fsyncs += 1;
        if let Some(w) = st.wal.as_mut() {
            w.mark_synced(generation);
        }
        Ok(())
    }
}
