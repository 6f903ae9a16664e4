//! What a write can do before it takes the database lock.
//!
//! Writers of one database queue on its lock, so every instruction spent
//! under it is spent by one writer at a time. Two pieces of a write's work
//! need little of the locked state and are done first, on the writer's own
//! thread: finding each sample's metric id (a hash of its name, looked up
//! in [`NameHints`], a copy of the catalog's index refreshed as the catalog
//! grows) and encoding its WAL records with those ids
//! ([`PreparedRecords`]). Under the lock, an id counts only when the
//! catalog gives that id the same name, and a record is only copied when
//! its id was right and its metric is already named in the WAL; anything
//! else is done the usual way, so what is stored and written is the same.

use std::sync::{Arc, PoisonError};

use super::ingest::{LoggedSample, wal_logs};
use super::*;
use crate::catalog::NameHints;
use crate::wal::{PreparedRecords, WalValue};

/// Writes after which hints are refreshed when the catalog grew by only a
/// few metrics (looked up the usual way until then): a steady trickle of
/// new series costs one copy of the index per this many writes.
const HINT_REFRESH_WRITES: u32 = 64;

/// A write's work done before the lock.
#[derive(Debug)]
pub(crate) struct PreparedWrite {
    /// Per sample, the id its metric probably has.
    pub hints: Vec<Option<MetricId>>,
    /// The samples' WAL records, when every sample goes to the WAL.
    pub records: Option<PreparedRecords>,
}

impl Database {
    /// Prepares a write of `samples` (metric, timestamp, value); None when
    /// there is nothing to gain (no hints yet: the database's first write).
    pub(crate) fn prepare_write<'a, I>(&self, samples: I) -> Option<PreparedWrite>
    where
        I: ExactSizeIterator<Item = (&'a str, i64, Value)> + Clone,
    {
        let hints = self
            .hints
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if hints.catalog_len() == 0 {
            return None;
        }
        let ids: Vec<Option<MetricId>> = samples.clone().map(|(m, _, _)| hints.get(m)).collect();
        let wal = &self.manifest.wal;
        let now = time::now_ns();
        // Samples too old for the WAL have no record: the group would not
        // be the one encoded here. (A sample logged at this `now` may not
        // be under the lock, a moment later; the lock checks again.)
        let records = if samples.clone().all(|(_, ts, _)| wal_logs(wal, ts, now)) {
            let recs = ids.iter().zip(samples).map(|(&id, (_, ts, v))| {
                (id, ts, WalValue::new(v.to_bits(), v.value_type().is_wide()))
            });
            PreparedRecords::encode(recs)
        } else {
            None
        };
        Some(PreparedWrite {
            hints: ids,
            records,
        })
    }

    /// Logs the accepted samples of a write (metric, its id from the dry
    /// run, timestamp, value), which must be all of the samples `prepared`
    /// was made for, in order. None when there are no records or they
    /// cannot be used (a metric new to the catalog, a sample the WAL skips,
    /// the WAL off): the caller logs the samples one by one.
    pub(crate) fn log_prepared<'a, I>(
        &self,
        st: &mut DbState,
        prepared: &PreparedWrite,
        samples: I,
        now: i64,
    ) -> Option<Result<Vec<LoggedSample>>>
    where
        I: ExactSizeIterator<Item = (&'a str, Option<MetricId>, i64, Value)> + Clone,
    {
        let pre = prepared.records.as_ref()?;
        let wal_cfg = &self.manifest.wal;
        if !st.materialized
            || st.wal.is_none()
            || samples.len() != pre.len()
            || !samples
                .clone()
                .all(|(_, _, ts, _)| wal_logs(wal_cfg, ts, now))
        {
            return None;
        }
        let mut logged = self.take_logged(st);
        logged.reserve(samples.len());
        for (_, id, ts, v) in samples.clone() {
            // A metric new to the catalog: registered by the usual path.
            let Some(id) = id else {
                self.recycle_logged(st, logged);
                return None;
            };
            logged.push(LoggedSample::new(id, ts, v.to_bits(), true));
        }
        let recs = logged
            .iter()
            .zip(samples)
            .map(|(l, (name, _, _, v))| (l.id, l.ts, l.bits, name, v.value_type()));
        // Some: checked above, under the same lock hold.
        let w = st.wal.as_mut()?;
        if let Err(e) = w.log_prepared(pre, &prepared.hints, recs) {
            return Some(Err(e));
        }
        st.counters.wal_appends += pre.len() as u64;
        st.counters.last_wal_append_ns = now;
        Some(Ok(logged))
    }

    /// The vector of logged samples kept from the last write, empty
    /// (a write of 5,000 samples would otherwise fault in fresh pages).
    pub(crate) fn take_logged(&self, st: &mut DbState) -> Vec<LoggedSample> {
        let mut v = std::mem::take(&mut st.logged_scratch);
        v.clear();
        v
    }

    /// Keeps `logged` for the next write ([`Database::take_logged`]),
    /// unless it grew huge.
    pub(crate) fn recycle_logged(&self, st: &mut DbState, mut logged: Vec<LoggedSample>) {
        logged.clear();
        logged.shrink_to(1 << 18);
        st.logged_scratch = logged;
    }

    /// Copies the catalog's index into the hints when it has changed enough
    /// (called under the lock at the end of a write).
    pub(crate) fn refresh_hints(&self, st: &mut DbState) {
        st.hint_writes = st.hint_writes.saturating_add(1);
        let have = self
            .hints
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .catalog_len();
        let len = st.catalog.len();
        let grew = len.abs_diff(have);
        let due = grew > 0 && (grew > have / 8 || st.hint_writes >= HINT_REFRESH_WRITES);
        if due {
            let fresh = Arc::new(st.catalog.name_hints());
            *self.hints.write().unwrap_or_else(PoisonError::into_inner) = fresh;
            st.hint_writes = 0;
        }
    }
}

/// An empty set of hints, for a database not written yet.
pub(crate) fn no_hints() -> std::sync::RwLock<Arc<NameHints>> {
    std::sync::RwLock::new(Arc::new(NameHints::default()))
}
