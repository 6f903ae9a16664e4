//! Each metric's newest stored sample, exactly, also after a restart.
//!
//! The order and duplicate checks of the write path and last-value queries
//! need it. v1.4.0 kept it in memory only; here it is derived from the
//! files at open, newest partitions first, within a budget, and the rest
//! lazily: the partitions not read at open wait in `last_pending` (newest
//! first) and are read one whole partition at a time when a metric not
//! found yet (`last_unknown`) is written older than their end, or its last
//! value is asked for. A sample newer than every pending partition needs no
//! read: whatever they hold is older. So a restart costs a bounded read,
//! and a metric idle for months is still checked exactly.
//!
//! Within a partition listed as holding out-of-order samples (`order.rs`)
//! the newest frame holding a metric need not hold its newest sample: such
//! partitions are read whole before their results count.

use std::ops::ControlFlow;

use super::*;

/// Newest (timestamp, value bits) per metric found in one partition.
type Newest = HashMap<MetricId, (i64, u64)>;

impl Database {
    /// Seeds last values from the newest partitions, newest first, until every
    /// cataloged metric has one or a bounded amount was read; the partitions
    /// not read (whole) become `last_pending`, the metrics not found
    /// `last_unknown`.
    pub(super) fn derive_last_values(&self, st: &mut DbState) -> Result<()> {
        // Bounds at open: the newest partitions only and at most this many
        // compressed bytes, however large the files are.
        const MAX_PARTITIONS: usize = 3;
        const MAX_BYTES: u64 = 64 << 20;
        let mut keys: Vec<(i64, String)> = st
            .files
            .iter()
            .filter(|(_, f)| f.data_len.is_some() || f.raw_len.is_some() || f.metric)
            .filter_map(|(k, _)| time::parse_partition_key(k).map(|(_, s, _)| (s, k.clone())))
            .collect();
        keys.sort();
        let mut pending: Vec<String> = keys.into_iter().rev().map(|(_, k)| k).collect();
        st.last_unknown = st
            .id_range()
            .filter(|&id| st.catalog.get(id).is_some())
            .collect();
        let mut budget = MAX_BYTES;
        let mut read = 0;
        while read < MAX_PARTITIONS && !st.last_unknown.is_empty() && !pending.is_empty() {
            let key = pending[0].clone();
            let (newest, whole) = self.partition_newest(st, &key, Some(&mut budget))?;
            self.settle(st, newest);
            if !whole {
                break;
            }
            pending.remove(0);
            read += 1;
        }
        self.set_pending(st, pending);
        Ok(())
    }

    /// Makes metric `id`'s last value exact before a sample at `ts` is
    /// checked against it (`ts = i64::MIN`: whatever the sample).
    pub(super) fn ensure_last(&self, st: &mut DbState, id: MetricId, ts: i64) -> Result<()> {
        while st.last_unknown.contains(&id) && ts < st.last_pending_end {
            let Some(key) = st.last_pending.first().cloned() else {
                break;
            };
            let (newest, _) = self.partition_newest(st, &key, None)?;
            self.settle(st, newest);
            let rest = st.last_pending.split_off(1);
            self.set_pending(st, rest);
        }
        Ok(())
    }

    /// Records what a partition read found for metrics still unknown.
    fn settle(&self, st: &mut DbState, newest: Newest) {
        for (id, (ts, v)) in newest {
            if st.last_unknown.remove(&id) {
                set_last(&mut st.last, id, ts, v);
            }
        }
    }

    fn set_pending(&self, st: &mut DbState, pending: Vec<String>) {
        st.last_pending_end = pending
            .first()
            .and_then(|k| time::parse_partition_key(k))
            .map_or(i64::MIN, |(_, _, end)| end);
        if pending.is_empty() {
            // Every file was read: what is left unknown has no sample in
            // any file, and its last value (from the WAL, or none) is exact.
            st.last_unknown.clear();
        }
        st.last_pending = pending;
    }

    /// The newest sample of each metric of `last_unknown` in partition
    /// `key`, and whether the partition was read whole (false when
    /// `budget` ran out: the results are then kept only where the
    /// partition's order makes them final).
    fn partition_newest(
        &self,
        st: &DbState,
        key: &str,
        mut budget: Option<&mut u64>,
    ) -> Result<(Newest, bool)> {
        let files = st.files.get(key).cloned().unwrap_or_default();
        let unordered = self.is_unordered(st, key);
        let wanted = &st.last_unknown;
        let mut newest: Newest = HashMap::default();
        let mut whole = true;
        // The data file is newer than a renamed raw file of the same key.
        let sources = [
            files.data_len.map(|l| (self.data_path(key), l)),
            files.raw_len.map(|l| (self.raw_path(key), l)),
        ];
        let mut buf = DecodedFrame::default();
        let mut block = Vec::new();
        'files: for (path, len) in sources.into_iter().flatten() {
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
                if let Some(b) = budget.as_deref_mut() {
                    if *b < fi.header.clen {
                        whole = false;
                        break 'files;
                    }
                    *b -= fi.header.clen;
                }
                if let Err(e) = read_frame_at(&file, &path, fi, &mut block, &mut buf) {
                    tracing::warn!("deriving last values: {e}");
                    continue;
                }
                for i in 0..buf.len() {
                    let id = buf.id(i);
                    if !wanted.contains(&id) {
                        continue;
                    }
                    let (ts, v) = (buf.ts(i), buf.val(i));
                    let e = newest.entry(id).or_insert((ts, v));
                    if ts >= e.0 {
                        *e = (ts, v);
                    }
                }
                if !unordered && newest.len() >= wanted.len() {
                    // Newest frames first and each metric in order: every
                    // wanted metric has its newest sample.
                    return Ok((newest, true));
                }
            }
        }
        // Metrics the raw files do not have (a `delete` action, or a
        // damaged raw file): their newest sample is in the metric file.
        if whole && files.metric && (unordered || newest.len() < wanted.len()) {
            whole = self.metric_file_newest(key, wanted, &mut newest, unordered, budget);
        }
        if !whole && unordered {
            // A partial read of an unordered partition proves nothing.
            newest.clear();
        }
        Ok((newest, whole))
    }

    /// Adds the newest samples of partition `key`'s metric file for the
    /// `wanted` metrics (all of them when `merge`, else those not in
    /// `newest` yet); false when `budget` does not cover the file.
    fn metric_file_newest(
        &self,
        key: &str,
        wanted: &HashSet<MetricId>,
        newest: &mut Newest,
        merge: bool,
        budget: Option<&mut u64>,
    ) -> bool {
        let path = self.metric_path(key);
        let mf = match crate::metricfile::MetricFile::open(&path) {
            Ok(mf) => mf,
            Err(e) => {
                tracing::warn!(file = %path.display(), "deriving last values: {e}");
                return true;
            }
        };
        if let Some(b) = budget {
            let cost = mf.summary().payload_bytes();
            if *b < cost {
                return false;
            }
            *b -= cost;
        }
        for id in mf.metrics() {
            if !wanted.contains(&id) || (!merge && newest.contains_key(&id)) {
                continue;
            }
            let mut best: Option<(i64, u64)> = None;
            let read = mf.read_metric(id, i64::MIN, i64::MAX, &mut |ts, v| {
                if best.is_none_or(|(t, _)| ts >= t) {
                    best = Some((ts, v));
                }
                ControlFlow::Continue(())
            });
            if let Err(e) = read {
                tracing::warn!(file = %path.display(), "deriving last values: {e}");
                continue;
            }
            if let Some((ts, v)) = best {
                let e = newest.entry(id).or_insert((ts, v));
                if ts >= e.0 {
                    *e = (ts, v);
                }
            }
        }
        true
    }
}
