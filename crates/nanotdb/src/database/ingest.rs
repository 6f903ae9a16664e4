//! The write path of one database: checks (and the dry run of atomic
//! batches), WAL logging, appending to the open page, and the end of a
//! batch (one WAL write, fsync per policy, flushes of old pages).

use super::*;

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

/// A sample whose WAL record is encoded (see [`Database::log_sample`]).
#[derive(Debug)]
pub(crate) struct LoggedSample {
    id: MetricId,
    key: Arc<str>,
    ts: i64,
    bits: u64,
    logged: bool,
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

impl Database {
    /// Validates one sample against the database state without changing
    /// anything. Returns the metric id if the metric exists.
    pub(super) fn check(
        &self,
        st: &mut DbState,
        overlay: Option<&Overlay<'_>>,
        metric: &str,
        ts: i64,
        value: Value,
        now: i64,
    ) -> Result<(Option<MetricId>, Arc<str>)> {
        let horizon = self.settings.max_future_ns;
        if horizon > 0 && ts > now.saturating_add(horizon) {
            return Err(Error::TooFarInFuture {
                db: self.name.clone(),
                metric: metric.to_string(),
                ts,
                max_future_ns: horizon,
            });
        }
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
        let now = time::now_ns();
        let mut rejected = Vec::new();
        // Consecutive samples nearly always share a partition: its key is an
        // `Arc` from the hot cache, so pointer equality skips the set lookup.
        let mut known_open: Option<Arc<str>> = None;
        for (i, metric, ts, value) in samples {
            match self.check(st, Some(&overlay), metric, ts, value, now) {
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
                    note_open(&mut overlay, &mut known_open, key, max_open, now);
                }
            }
        }
        rejected
    }

    /// First half of storing a checked sample: its metric is registered and
    /// its WAL record encoded into the pending buffer (written at the end of
    /// the batch). Atomic batches log every sample, write the WAL, and only
    /// then store them ([`Database::store_logged`]), so a WAL that cannot be
    /// written leaves nothing in memory.
    pub fn log_sample(
        &self,
        st: &mut DbState,
        metric: &str,
        ts: i64,
        value: Value,
        now: i64,
    ) -> Result<LoggedSample> {
        let existing = st.catalog.lookup(metric).map(|(id, _)| id);
        let key = partition_of(&mut st.hot, self.partition_mode(), ts);
        self.log_resolved(st, metric, existing, key, ts, value, now)
    }

    /// [`Database::log_sample`] after the checks: `existing` is the
    /// metric's id if the catalog has it, `key` the sample's partition.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn log_resolved(
        &self,
        st: &mut DbState,
        metric: &str,
        existing: Option<MetricId>,
        key: Arc<str>,
        ts: i64,
        value: Value,
        now: i64,
    ) -> Result<LoggedSample> {
        // Both callers (ingest, write_atomic) refuse read-only engines first.
        if !st.materialized {
            self.materialize(st)?;
        }
        let id = match existing {
            Some(id) => id,
            None => {
                let id = st
                    .catalog
                    .register(metric, value.value_type())
                    .ok_or_else(|| Error::TooManyMetrics(self.name.clone()))?;
                if st.catalog.guard_pending() {
                    // The database's first 8-byte metric: the catalog's guard
                    // goes to disk before any of its bytes do, so v1.4.0
                    // never opens a database it would misread (FORMATS §5.5).
                    st.catalog.save_if_dirty(&self.catalog_path())?;
                    st.counters.catalog_writes += 1;
                }
                id
            }
        };
        let bits = value.to_bits();
        let wal_cfg = &self.manifest.wal;
        let logged = wal_cfg.enabled
            && (wal_cfg.skip_before_ns <= 0 || ts >= now.saturating_sub(wal_cfg.skip_before_ns));
        if logged && let Some(w) = st.wal.as_mut() {
            w.log(id, ts, bits, metric, value.value_type())?;
            st.counters.wal_appends += 1;
            st.counters.last_wal_append_ns = now;
        }
        Ok(LoggedSample {
            id,
            key,
            ts,
            bits,
            logged,
        })
    }

    /// Second half: the sample goes into its partition's page and to the
    /// stored-sample hook; a full page is flushed.
    #[inline]
    pub fn store_logged(&self, st: &mut DbState, l: &LoggedSample, now: i64) -> Result<()> {
        let full = self.append(st, &l.key, l.id, l.ts, l.bits, l.logged)?;
        // Before a flush that may fail: the sample is stored either way.
        if let Some(hook) = st.hook.as_mut() {
            hook.stored(l.id, l.ts, l.bits, now);
        }
        self.flush_if_full(st, &l.key, full)?;
        st.counters.samples_ingested += 1;
        Ok(())
    }

    /// Starts an atomic batch on this database's WAL (see
    /// [`Database::undo_wal_batch`]).
    pub fn begin_wal_batch(&self, st: &mut DbState) {
        if let Some(w) = st.wal.as_mut() {
            w.begin_batch();
        }
    }

    /// Takes back every record logged since [`Database::begin_wal_batch`],
    /// written or not: the atomic batch failed (possibly in another
    /// database) and is answered as failed, so none of it may be replayed.
    /// New metrics it registered stay in the catalog, without samples.
    pub fn undo_wal_batch(&self, st: &mut DbState) {
        if let Some(w) = st.wal.as_mut() {
            w.undo_batch();
        }
    }

    /// Stores an atomic batch whose records [`Database::write_pending_wal`] wrote,
    /// with WAL checkpoints deferred until all of it is in pages (a
    /// checkpoint rewrites the WAL from the pages, and would drop records
    /// of samples not stored yet). Returns how many were stored.
    pub fn store_logged_batch(
        &self,
        st: &mut DbState,
        batch: &[LoggedSample],
        now: i64,
    ) -> (usize, Result<()>) {
        let flushes = st.counters.flushes;
        st.checkpoints_deferred = true;
        let mut stored = 0;
        let mut result = Ok(());
        for l in batch {
            if let Err(e) = self.store_logged(st, l, now) {
                result = Err(e);
                break;
            }
            stored += 1;
        }
        st.checkpoints_deferred = false;
        if let Some(w) = st.wal.as_mut() {
            w.end_batch();
        }
        if st.counters.flushes > flushes || !st.deferred_seals.is_empty() {
            result = result.and(self.wal_checkpoint(st));
        }
        if result.is_ok() {
            self.run_deferred_seals(st);
        }
        (stored, result)
    }

    /// Stores samples that [`Database::dry_run`] accepted in this lock hold,
    /// in order: every WAL record is logged and written (one write group)
    /// before any sample goes into a page, so when the WAL cannot be written
    /// nothing is stored and nothing is left behind. Returns how many were
    /// stored; after an error on a page flush, the samples not yet stored are
    /// still in the WAL and come back at replay.
    pub fn store_run<'a>(
        &self,
        st: &mut DbState,
        samples: impl Iterator<Item = (&'a str, i64, Value)>,
        now: i64,
    ) -> (usize, Result<()>) {
        self.begin_wal_batch(st);
        let mut logged = std::mem::take(&mut st.logged_scratch);
        logged.clear();
        logged.reserve(samples.size_hint().1.unwrap_or(0));
        let written = samples
            .into_iter()
            .try_for_each(|(metric, ts, value)| {
                logged.push(self.log_sample(st, metric, ts, value, now)?);
                Ok(())
            })
            .and_then(|()| self.write_pending_wal(st, None));
        let outcome = match written {
            Err(e) => {
                self.undo_wal_batch(st);
                (0, Err(e))
            }
            Ok(()) => self.store_logged_batch(st, &logged, now),
        };
        logged.clear();
        logged.shrink_to(1 << 18);
        st.logged_scratch = logged;
        outcome
    }

    /// Appends an accepted sample to its partition's page, opening the
    /// partition (and sealing the oldest one beyond `max_active_days`);
    /// returns whether the page is now full, which the caller flushes with
    /// [`Database::flush_if_full`] (after the stored-sample hook, so a flush
    /// that fails cannot hide a stored sample from it).
    pub(super) fn append(
        &self,
        st: &mut DbState,
        key: &str,
        id: MetricId,
        ts: i64,
        bits: u64,
        logged: bool,
    ) -> Result<bool> {
        let part = match st.open.get_mut(key) {
            Some(part) => part,
            None => {
                let max_open = self.manifest.retention.max_active_days.max(1) as usize;
                while st.open.len() >= max_open && !self.settings.read_only {
                    let Some(oldest) = sealable(st.open.keys(), time::now_ns()).cloned() else {
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
    pub(super) fn flush_if_full(&self, st: &mut DbState, key: &str, full: bool) -> Result<()> {
        if full && !self.settings.read_only {
            self.flush_partition(st, key)?;
            self.wal_checkpoint(st)?;
        }
        Ok(())
    }

    /// Ends a batch of ingests: writes pending WAL records in one `write`,
    /// fsyncs per policy, and flushes pages that became too old.
    pub fn finish_batch(&self, st: &mut DbState) -> Result<()> {
        self.write_pending_wal(st, None)?;
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

    /// Writes the records logged so far as one write group (one `write`,
    /// fsync per policy); `batch` is the id of the batch spanning databases
    /// they belong to, which replay keeps only once the root's commit log
    /// names it.
    pub fn write_pending_wal(&self, st: &mut DbState, batch: Option<u64>) -> Result<()> {
        match st.wal.as_mut() {
            Some(w) => w.write_pending(
                self.settings.fsync_policy,
                self.settings.max_segment_size,
                &mut st.counters,
                batch,
            ),
            None => Ok(()),
        }
    }
}

/// Records in the dry-run overlay that partition `key` is (or becomes)
/// open, sealing the oldest pending ones beyond `max_open` as `append` would.
pub(super) fn note_open(
    overlay: &mut Overlay<'_>,
    known_open: &mut Option<Arc<str>>,
    key: Arc<str>,
    max_open: usize,
    now: i64,
) {
    if known_open.as_ref().is_some_and(|k| Arc::ptr_eq(k, &key)) {
        return;
    }
    if !overlay.open.contains(&*key) {
        while overlay.open.len() >= max_open {
            let Some(oldest) = sealable(overlay.open.iter(), now).cloned() else {
                break;
            };
            overlay.open.remove(&oldest);
            overlay.sealed.insert(oldest);
        }
        overlay.open.insert(key.to_string());
    }
    *known_open = Some(key);
}

/// The open partition to seal when one more must open: the oldest that
/// ended before the wall clock `now`. The partition holding `now` and later
/// ones are never sealed here (the open set grows past `max_active_days`
/// instead), so samples dated ahead — a writer with a wrong clock — can
/// never close the partition current writes go to. In order, keys of one
/// partitioning sort by time.
pub(super) fn sealable<'a>(open: impl Iterator<Item = &'a String>, now: i64) -> Option<&'a String> {
    open.into_iter()
        .find(|k| time::parse_partition_key(k).is_some_and(|(_, _, end)| end <= now))
}

/// Partition key for `ts`, cached for consecutive samples of one partition
/// (shared, so the per-sample path does not allocate).
pub(super) fn partition_of(
    hot: &mut Option<(i64, i64, Arc<str>)>,
    mode: PartitionMode,
    ts: i64,
) -> Arc<str> {
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

pub(super) fn set_last(last: &mut Vec<Option<(i64, u64)>>, id: MetricId, ts: i64, bits: u64) {
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
