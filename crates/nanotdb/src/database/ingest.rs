//! The write path of one database: checks (and the dry run of atomic
//! batches), WAL logging, appending to the open page, and the end of a
//! batch (one WAL write, fsync per policy, flushes of old pages).

use super::*;

/// Effects of the samples accepted so far by a dry run.
#[derive(Debug, Default, Clone)]
pub(crate) struct Overlay<'a> {
    new_metrics: HashMap<&'a str, ValueType>,
    /// Pending newest (timestamp, value bits) of metrics the catalog
    /// already has, by id (the hot path: no hashing of names).
    last_by_id: Vec<Option<(i64, u64)>>,
    /// Pending newest sample of metrics the batch creates.
    last_new: HashMap<&'a str, (i64, u64)>,
    open: std::collections::BTreeSet<String>,
    sealed: HashSet<String>,
    /// The accepted samples, for the duplicate check of a later sample of
    /// the batch that is not newer than its metric's newest.
    accepted: Vec<(&'a str, i64, u64)>,
    /// `accepted` as a set, built on the first such sample.
    accepted_set: Option<HashSet<(&'a str, i64, u64)>>,
}

/// What [`Database::dry_run`] found.
#[derive(Debug, Default)]
pub(crate) struct DryRun {
    /// (index, reason) of each rejected sample.
    pub rejected: Vec<(usize, Error)>,
    /// Indices of samples identical to one already stored (or accepted
    /// earlier in the batch): acknowledged, not stored again.
    pub duplicates: Vec<usize>,
    /// The catalog id of each accepted sample's metric (None for a metric
    /// new at the check), in the order of the accepted samples: storing
    /// them under the same lock hold skips a second name look-up.
    pub ids: Vec<Option<MetricId>>,
}

/// The verdict of [`Database::check`] on an acceptable sample.
#[derive(Debug)]
pub(super) enum Checked {
    /// To be stored: the metric's id if it exists, and whether the sample
    /// is not newer than its metric's newest (then it may repeat a sample
    /// of the batch).
    Store {
        existing: Option<MetricId>,
        not_newer: bool,
    },
    /// Identical to a stored sample.
    Duplicate,
}

/// A sample whose WAL record is encoded (see [`Database::log_sample`]).
#[derive(Debug)]
pub(crate) struct LoggedSample {
    pub(super) id: MetricId,
    pub(super) ts: i64,
    pub(super) bits: u64,
    logged: bool,
}

impl LoggedSample {
    /// A sample of metric `id` whose record is (`logged`) or is not in the WAL.
    pub(super) fn new(id: MetricId, ts: i64, bits: u64, logged: bool) -> LoggedSample {
        LoggedSample {
            id,
            ts,
            bits,
            logged,
        }
    }
}

/// Whether a sample at `ts` goes through the WAL at time `now`
/// (`[wal].enabled`, and not older than `[wal].skip_before`).
#[inline]
pub(super) fn wal_logs(wal: &crate::config::ManifestWal, ts: i64, now: i64) -> bool {
    wal.enabled && (wal.skip_before_ns <= 0 || ts >= now.saturating_sub(wal.skip_before_ns))
}

impl Overlay<'_> {
    /// Pending newest sample of `metric` (id `existing` if it exists).
    fn last(&self, existing: Option<MetricId>, metric: &str) -> Option<(i64, u64)> {
        match existing {
            Some(id) => self.last_by_id.get(usize::from(id)).copied().flatten(),
            None => self.last_new.get(metric).copied(),
        }
    }
}

impl Database {
    /// Validates one sample against the database state; the only change it
    /// may make is listing the sample's partition as out of order (harmless
    /// if the sample is not stored after all).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn check(
        &self,
        st: &mut DbState,
        overlay: Option<&Overlay<'_>>,
        metric: &str,
        hint: Option<MetricId>,
        key: &str,
        ts: i64,
        value: Value,
        now: i64,
    ) -> Result<Checked> {
        let horizon = self.settings.max_future_ns;
        if horizon > 0 && ts > now.saturating_add(horizon) {
            return Err(Error::TooFarInFuture {
                db: self.name.clone(),
                metric: metric.to_string(),
                ts,
                max_future_ns: horizon,
            });
        }
        let existing = st.catalog.lookup_hinted(metric, hint);
        let known_type = existing
            .map(|(_, vt)| vt)
            .or_else(|| overlay.and_then(|o| o.new_metrics.get(metric).copied()));
        let mut not_newer = false;
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
                let id = existing.map(|(id, _)| id);
                if self.check_order(st, overlay, metric, id, key, ts, value.to_bits())? {
                    return Ok(Checked::Duplicate);
                }
                not_newer = self
                    .newest(st, overlay, metric, id)
                    .is_some_and(|(l, _)| ts <= l);
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
        if st.sealed.contains(key) || overlay.is_some_and(|o| o.sealed.contains(key)) {
            return Err(Error::Sealed {
                db: self.name.clone(),
                key: key.to_string(),
            });
        }
        Ok(Checked::Store {
            existing: existing.map(|(id, _)| id),
            not_newer,
        })
    }

    /// The clock partitions are sealed by: a partition stays open until
    /// the out-of-order window after its end has passed, so samples that
    /// arrive late but within the window still find it open.
    fn seal_clock(&self, now: i64) -> i64 {
        now.saturating_sub(self.settings.ooo_window_ns)
    }

    /// Newest sample of a metric: stored or accepted earlier in the batch.
    fn newest(
        &self,
        st: &DbState,
        overlay: Option<&Overlay<'_>>,
        metric: &str,
        id: Option<MetricId>,
    ) -> Option<(i64, u64)> {
        let stored = id.and_then(|id| st.last.get(usize::from(id)).copied().flatten());
        let pending = overlay.and_then(|o| o.last(id, metric));
        match (stored, pending) {
            (Some(a), Some(b)) => Some(if b.0 >= a.0 { b } else { a }),
            (a, b) => a.or(b),
        }
    }

    /// The order rule of a sample of an existing metric: true when it is
    /// identical to a stored sample (acknowledged, not stored again), an
    /// error when it is older than the metric's newest by more than
    /// `[ingest].out_of_order_window` (any older sample when the window is
    /// 0, v1.4.0's rule). An older sample within the window lists its
    /// partition as out of order.
    #[allow(clippy::too_many_arguments)]
    fn check_order(
        &self,
        st: &mut DbState,
        overlay: Option<&Overlay<'_>>,
        metric: &str,
        id: Option<MetricId>,
        key: &str,
        ts: i64,
        bits: u64,
    ) -> Result<bool> {
        if let Some(id) = id
            && !st.last_unknown.is_empty()
        {
            self.ensure_last(st, id, ts)?;
        }
        let Some((last, last_bits)) = self.newest(st, overlay, metric, id) else {
            return Ok(false);
        };
        if ts > last {
            return Ok(false);
        }
        if ts == last && bits == last_bits {
            return Ok(true);
        }
        // A retry of an old request is acknowledged whatever its age.
        if let Some(id) = id
            && self.holds_sample(st, key, id, ts, bits)?
        {
            return Ok(true);
        }
        let window = self.settings.ooo_window_ns;
        if ts < last && window == 0 {
            return Err(Error::Stale {
                db: self.name.clone(),
                metric: metric.to_string(),
                ts,
                last,
            });
        }
        if ts < last.saturating_sub(window) {
            return Err(Error::OutOfOrder {
                db: self.name.clone(),
                metric: metric.to_string(),
                ts,
                last,
                window_ns: window,
            });
        }
        if ts < last && !self.is_unordered(st, key) {
            self.mark_unordered(st, key)?;
        }
        Ok(false)
    }

    /// Checks a batch as if each accepted sample had been applied before the
    /// next, without changing anything: returns every rejection by index,
    /// and the samples already stored. Used for all-or-nothing writes; the
    /// caller holds the lock until it applies the batch, so the verdict
    /// stays true.
    ///
    /// `hints`: by sample index, the id each sample's metric probably has
    /// ([`Database::prepare_write`]; may be empty).
    pub fn dry_run<'a>(
        &self,
        st: &mut DbState,
        samples: impl Iterator<Item = (usize, &'a str, i64, Value)>,
        hints: &[Option<MetricId>],
    ) -> DryRun {
        let mut overlay = self.new_overlay(st);
        self.dry_run_with(st, &mut overlay, samples, hints)
    }

    /// An overlay with nothing accepted yet, for [`Database::dry_run_with`].
    pub(crate) fn new_overlay<'a>(&self, st: &DbState) -> Overlay<'a> {
        Overlay {
            open: st.open.keys().cloned().collect(),
            ..Overlay::default()
        }
    }

    /// [`Database::dry_run`] continuing from `overlay` (the samples
    /// accepted by earlier dry runs of the same lock hold, as a group
    /// commit checks its writes one after the other) and adding to it.
    pub(crate) fn dry_run_with<'a>(
        &self,
        st: &mut DbState,
        overlay: &mut Overlay<'a>,
        samples: impl Iterator<Item = (usize, &'a str, i64, Value)>,
        hints: &[Option<MetricId>],
    ) -> DryRun {
        let max_open = self.manifest.retention.max_active_days.max(1) as usize;
        let now = time::now_ns();
        let mut out = DryRun::default();
        // Both grow by one per accepted sample: sized once, not doubled
        // a dozen times under the lock.
        // (The callers' filters give no lower bound: the upper one, capped.)
        let n = samples.size_hint().1.unwrap_or(0).min(1 << 16);
        out.ids.reserve(n);
        overlay.accepted.reserve(n);
        // Consecutive samples nearly always share a partition: its key is an
        // `Arc` from this run's cache, so pointer equality skips the set
        // lookup, and the key is cloned only when the partition changes.
        let mut known_open: Option<Arc<str>> = None;
        let mut keys = None;
        let mode = self.partition_mode();
        for (i, metric, ts, value) in samples {
            let key = partition_of(&mut keys, mode, ts);
            let hint = hints.get(i).copied().flatten();
            let (existing, not_newer) =
                match self.check(st, Some(overlay), metric, hint, key, ts, value, now) {
                    Err(e) => {
                        out.rejected.push((i, e));
                        continue;
                    }
                    Ok(Checked::Duplicate) => {
                        out.duplicates.push(i);
                        continue;
                    }
                    Ok(Checked::Store {
                        existing,
                        not_newer,
                    }) => (existing, not_newer),
                };
            let bits = value.to_bits();
            if not_newer {
                let accepted = &overlay.accepted;
                let set = overlay
                    .accepted_set
                    .get_or_insert_with(|| accepted.iter().copied().collect());
                if set.contains(&(metric, ts, bits)) {
                    out.duplicates.push(i);
                    continue;
                }
            }
            overlay.accepted.push((metric, ts, bits));
            out.ids.push(existing);
            if let Some(set) = overlay.accepted_set.as_mut() {
                set.insert((metric, ts, bits));
            }
            let newer = |slot: &mut Option<(i64, u64)>| {
                if slot.is_none_or(|(l, _)| ts >= l) {
                    *slot = Some((ts, bits));
                }
            };
            match existing {
                Some(id) => {
                    let i = usize::from(id);
                    if overlay.last_by_id.len() <= i {
                        overlay.last_by_id.resize(i + 1, None);
                    }
                    newer(&mut overlay.last_by_id[i]);
                }
                None => {
                    overlay.new_metrics.insert(metric, value.value_type());
                    let mut slot = overlay.last_new.get(metric).copied();
                    newer(&mut slot);
                    if let Some(v) = slot {
                        overlay.last_new.insert(metric, v);
                    }
                }
            }
            note_open(
                overlay,
                &mut known_open,
                key,
                max_open,
                self.seal_clock(now),
            );
        }
        out
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
        self.log_sample_hinted(st, metric, None, ts, value, now)
    }

    /// [`Database::log_sample`] with the metric's id as the dry run of the
    /// same lock hold found it (`DryRun::ids`); None looks it up.
    pub fn log_sample_hinted(
        &self,
        st: &mut DbState,
        metric: &str,
        id: Option<MetricId>,
        ts: i64,
        value: Value,
        now: i64,
    ) -> Result<LoggedSample> {
        // An id the dry run found is still the metric's (the lock has been
        // held since); comparing the name costs less than hashing it, and
        // keeps a hint that does not match from storing under another id.
        let existing = match id {
            Some(id) if st.catalog.get(id).is_some_and(|m| m.name == metric) => Some(id),
            _ => st.catalog.lookup(metric).map(|(id, _)| id),
        };
        self.log_resolved(st, metric, existing, ts, value, now)
    }

    /// [`Database::log_sample`] after the checks: `existing` is the
    /// metric's id if the catalog has it.
    #[inline]
    fn log_resolved(
        &self,
        st: &mut DbState,
        metric: &str,
        existing: Option<MetricId>,
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
        let logged = wal_logs(&self.manifest.wal, ts, now);
        if logged && let Some(w) = st.wal.as_mut() {
            w.log(id, ts, bits, metric, value.value_type())?;
            st.counters.wal_appends += 1;
            st.counters.last_wal_append_ns = now;
        }
        Ok(LoggedSample {
            id,
            ts,
            bits,
            logged,
        })
    }

    /// Second half: the sample goes into its partition's page (`key`, the
    /// partition of its timestamp) and to the stored-sample hook; a full
    /// page is flushed.
    #[inline]
    pub fn store_logged(
        &self,
        st: &mut DbState,
        key: &str,
        l: &LoggedSample,
        now: i64,
    ) -> Result<()> {
        let full = self.append(st, key, l.id, l.ts, l.bits, l.logged)?;
        // Before a flush that may fail: the sample is stored either way.
        if let Some(hook) = st.hook.as_mut() {
            hook.stored(l.id, l.ts, l.bits, now);
        }
        self.flush_if_full(st, key, full)?;
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
        let mode = self.partition_mode();
        let mut keys = None;
        for l in batch {
            let key = partition_of(&mut keys, mode, l.ts);
            if let Err(e) = self.store_logged(st, key, l, now) {
                result = Err(e);
                break;
            }
            stored += 1;
        }
        st.checkpoints_deferred = false;
        if let Some(w) = st.wal.as_mut() {
            w.end_batch();
        }
        if !st.deferred_seals.is_empty() {
            result = result.and(self.wal_checkpoint(st));
        } else if st.counters.flushes > flushes {
            result = result.and(self.checkpoint_soon(st));
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
    ///
    /// `prepared`: the run's ids and records worked out before the lock
    /// (`prepare.rs`), used when the accepted samples are all of them.
    pub fn store_run<'a, I>(
        &self,
        st: &mut DbState,
        samples: I,
        prepared: Option<&super::PreparedWrite>,
        now: i64,
    ) -> (usize, Result<()>)
    where
        I: ExactSizeIterator<Item = (&'a str, Option<MetricId>, i64, Value)> + Clone,
    {
        self.begin_wal_batch(st);
        let quick = prepared.and_then(|pre| self.log_prepared(st, pre, samples.clone(), now));
        let written = match quick {
            Some(logged) => logged,
            None => {
                let mut logged = self.take_logged(st);
                logged.reserve(samples.len());
                samples
                    .into_iter()
                    .try_for_each(|(metric, id, ts, value)| {
                        logged.push(self.log_sample_hinted(st, metric, id, ts, value, now)?);
                        Ok(())
                    })
                    .map(|()| logged)
            }
        }
        .and_then(|logged| self.write_pending_wal(st, None).map(|()| logged));
        match written {
            Err(e) => {
                self.undo_wal_batch(st);
                (0, Err(e))
            }
            Ok(logged) => {
                let outcome = self.store_logged_batch(st, &logged, now);
                self.recycle_logged(st, logged);
                outcome
            }
        }
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
        // Replay stores what the WAL holds without the checks: an older
        // sample there lists its partition like `check_order` does.
        if st
            .last
            .get(usize::from(id))
            .copied()
            .flatten()
            .is_some_and(|(l, _)| ts < l)
            && !self.is_unordered(st, key)
        {
            self.mark_unordered(st, key)?;
        }
        if ts >= st.last_pending_end && !st.last_unknown.is_empty() {
            // Newer than whatever the unread partitions hold: exact now.
            st.last_unknown.remove(&id);
        }
        let part = match st.open.get_mut(key) {
            Some(part) => part,
            None => {
                let max_open = self.manifest.retention.max_active_days.max(1) as usize;
                while st.open.len() >= max_open && !self.settings.read_only {
                    let Some(oldest) =
                        sealable(st.open.keys(), self.seal_clock(time::now_ns())).cloned()
                    else {
                        break;
                    };
                    self.seal(st, &oldest)?;
                }
                let cold = st.files.get(key).map_or(Some(i64::MIN), |f| {
                    if f.raw_len.is_some() || f.metric {
                        None
                    } else if f.data_len.is_some() {
                        f.data_max_ts
                    } else {
                        Some(i64::MIN)
                    }
                });
                st.open
                    .entry(key.to_string())
                    .or_insert(OpenPartition::new(cold))
            }
        };
        let page = match &mut part.page {
            Some(page) => page,
            // The last flushed page's vectors, already grown to a page's size.
            slot @ None => slot.insert(st.spare_page.take().map_or_else(Page::new, Page::renewed)),
        };
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
            self.checkpoint_soon(st)?;
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
            self.checkpoint_soon(st)?;
        }
        Ok(())
    }

    /// Writes the records logged so far as one write group (one `write`,
    /// fsync per policy); `batch` is the id of the batch spanning databases
    /// they belong to, which replay keeps only once the root's commit log
    /// names it.
    pub fn write_pending_wal(&self, st: &mut DbState, batch: Option<u64>) -> Result<()> {
        let policy = match batch {
            Some(_) => self.settings.fsync_policy.for_spanning_batch(),
            None => self.settings.fsync_policy,
        };
        match st.wal.as_mut() {
            Some(w) => w.write_pending(
                policy,
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
    key: &Arc<str>,
    max_open: usize,
    now: i64,
) {
    if known_open.as_ref().is_some_and(|k| Arc::ptr_eq(k, key)) {
        return;
    }
    if !overlay.open.contains(&**key) {
        while overlay.open.len() >= max_open {
            let Some(oldest) = sealable(overlay.open.iter(), now).cloned() else {
                break;
            };
            overlay.open.remove(&oldest);
            overlay.sealed.insert(oldest);
        }
        overlay.open.insert(key.to_string());
    }
    *known_open = Some(key.clone());
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

/// Partition key for `ts`, cached in `hot` for consecutive samples of one
/// partition (borrowed, so the per-sample path neither allocates nor
/// touches a reference count).
pub(super) fn partition_of(
    hot: &mut Option<(i64, i64, Arc<str>)>,
    mode: PartitionMode,
    ts: i64,
) -> &Arc<str> {
    if hot
        .as_ref()
        .is_some_and(|(s, e, _)| ts < *s || (ts >= *e && *e != i64::MAX))
    {
        *hot = None;
    }
    let (_, _, k) = hot.get_or_insert_with(|| {
        let (s, e) = time::partition_bounds(mode, ts);
        (s, e, Arc::from(time::partition_key(mode, ts)))
    });
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
