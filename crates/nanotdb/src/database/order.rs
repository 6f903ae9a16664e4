//! Out-of-order samples and retry-safe writes.
//!
//! v1.4.0 stores each metric's samples in non-decreasing time order, and
//! its readers rely on that: a partition is read file by file, frame by
//! frame, and each frame is sorted. A sample older than its metric's newest
//! one (within `[ingest].out_of_order_window`) breaks that order inside a
//! partition, so such partitions are listed in `<db>/out-of-order.keys`
//! (docs/FORMATS.md §4.14) *before* the sample's WAL record is written, and
//! every read of a listed partition sorts what it found by time (stably, so
//! samples with equal timestamps keep their storage order). Unlisted
//! partitions are read as before, at no extra cost.
//!
//! The same samples need the duplicate check: a client that retries a
//! request after a timeout sends samples that are already stored, and they
//! are acknowledged without being stored again. A sample newer than its
//! metric's newest is new by definition; only the others are looked up, in
//! the open page (a hash index built on the first lookup) and in the
//! partition's files.

use std::ops::ControlFlow;

use super::*;

impl Database {
    /// Loads the list of partitions holding out-of-order samples. A list
    /// that cannot be read or parsed marks every partition (reads sort more
    /// than needed, but never return a series out of order).
    pub(super) fn load_unordered(&self, st: &mut DbState) {
        let path = self.layout().unordered();
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
            Err(e) => {
                tracing::warn!(file = %path.display(), "unreadable, every partition is read sorted: {e}");
                st.all_unordered = true;
                return;
            }
        };
        for (n, line) in text.lines().enumerate() {
            let key = line.trim();
            if key.is_empty() {
                continue;
            }
            if time::parse_partition_key(key).is_none() {
                tracing::warn!(file = %path.display(), line = n + 1, "not a partition key ({key:?}), every partition is read sorted");
                st.all_unordered = true;
                continue;
            }
            st.unordered.insert(key.to_string());
        }
    }

    /// Whether partition `key` may hold a metric's samples out of order.
    pub(super) fn is_unordered(&self, st: &DbState, key: &str) -> bool {
        st.all_unordered || st.unordered.contains(key)
    }

    /// Lists partition `key` as holding out-of-order samples, on disk
    /// (atomically) before the caller writes the sample anywhere.
    pub(super) fn mark_unordered(&self, st: &mut DbState, key: &str) -> Result<()> {
        if st.unordered.contains(key) {
            return Ok(());
        }
        st.unordered.insert(key.to_string());
        self.save_unordered(st)
    }

    /// Writes `out-of-order.keys` (atomically) once the directory exists.
    pub(super) fn save_unordered(&self, st: &DbState) -> Result<()> {
        if self.settings.read_only || !st.materialized || st.unordered.is_empty() {
            return Ok(());
        }
        let mut keys: Vec<&String> = st.unordered.iter().collect();
        keys.sort();
        let mut text = String::new();
        for k in keys {
            text.push_str(k);
            text.push('\n');
        }
        fsutil::write_atomic(&self.layout().unordered(), text.as_bytes())
    }

    /// Whether metric `id` already has the sample (`ts`, `bits`) stored in
    /// partition `key`: in its open page, or in its files.
    pub(super) fn holds_sample(
        &self,
        st: &mut DbState,
        key: &str,
        id: MetricId,
        ts: i64,
        bits: u64,
    ) -> Result<bool> {
        if let Some(part) = st.open.get_mut(key) {
            if let Some(pg) = part.page.as_mut()
                && pg.contains(id, ts, bits)
            {
                return Ok(true);
            }
            if let Some(known) = part.recent_holds(id, ts, bits) {
                return Ok(known);
            }
        }
        let Some(files) = st.files.get(key) else {
            return Ok(false);
        };
        let newer_than_data = files.data_max_ts.is_some_and(|m| ts > m);
        if files.raw_len.is_none() && !files.metric && (files.data_len.is_none() || newer_than_data)
        {
            return Ok(false);
        }
        let view = PartitionView {
            metric: files.metric.then(|| self.metric_path(key)),
            raw: files.raw_len.map(|l| (self.raw_path(key), l)),
            data: files.data_len.map(|l| (self.data_path(key), l)),
            page: Vec::new(),
            unordered: false,
            long_scan: false,
        };
        let shape = (key.to_string(), files.data_len, files.raw_len, files.metric);
        let cold = match st.cold.take() {
            Some(c) if c.shape == shape => c,
            _ => ColdIndex {
                shape,
                lookups: 0,
                samples: None,
                too_big: false,
            },
        };
        let cold = st.cold.insert(cold);
        cold.lookups += 1;
        if cold.samples.is_none() && !cold.too_big && cold.lookups >= COLD_INDEX_AFTER {
            let samples = self.cold_samples(&view)?;
            cold.too_big = samples.is_none();
            cold.samples = samples;
        }
        if let Some(samples) = &cold.samples {
            return Ok(samples.binary_search(&(id, ts, bits)).is_ok());
        }
        let mut found = false;
        let _ = self.read_view(&view, Some(&[id]), ts, ts, &mut |_, t, b| {
            if t == ts && b == bits {
                found = true;
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        })?;
        Ok(found)
    }
}

/// Every sample of one partition's files, sorted, for the duplicate check
/// of many samples there (a re-run import): one read of the partition
/// instead of one per sample.
pub(super) struct ColdIndex {
    /// Partition key and file lengths it is for.
    shape: (String, Option<u64>, Option<u64>, bool),
    /// Lookups in those files so far.
    lookups: u32,
    /// Built after [`COLD_INDEX_AFTER`] lookups (a lone retry reads only
    /// what it needs).
    samples: Option<Vec<(MetricId, i64, u64)>>,
    /// The partition holds more than [`COLD_INDEX_MAX`] samples.
    too_big: bool,
}

/// Samples a [`ColdIndex`] may hold (24 bytes each).
const COLD_INDEX_MAX: usize = 1 << 20;
/// Lookups in one partition's files before its index is built.
const COLD_INDEX_AFTER: u32 = 64;

impl Database {
    /// Drops the duplicate check's index of partition files (an idle
    /// database gives its memory back).
    pub fn forget_cold(&self, st: &mut DbState) {
        st.cold = None;
    }

    /// Every sample of the partition, sorted; `None` beyond
    /// [`COLD_INDEX_MAX`].
    fn cold_samples(&self, view: &PartitionView) -> Result<Option<Vec<(MetricId, i64, u64)>>> {
        let mut all: Vec<(MetricId, i64, u64)> = Vec::new();
        let mut too_many = false;
        let _ = self.read_view(view, None, i64::MIN, i64::MAX, &mut |id, ts, bits| {
            if all.len() >= COLD_INDEX_MAX {
                too_many = true;
                return ControlFlow::Break(());
            }
            all.push((id, ts, bits));
            ControlFlow::Continue(())
        })?;
        Ok((!too_many).then(|| {
            all.sort_unstable();
            all
        }))
    }
}

/// Reads a partition whose samples may be out of order: everything
/// `read` delivers is collected, stably sorted by time, then passed on.
pub(super) fn sorted_read(
    read: impl FnOnce(&mut dyn FnMut(MetricId, i64, u64) -> ControlFlow<()>) -> Result<ControlFlow<()>>,
    f: &mut dyn FnMut(MetricId, i64, u64) -> ControlFlow<()>,
) -> Result<ControlFlow<()>> {
    let mut all: Vec<(MetricId, i64, u64)> = Vec::new();
    let _ = read(&mut |id, ts, bits| {
        all.push((id, ts, bits));
        ControlFlow::Continue(())
    })?;
    all.sort_by_key(|s| s.1);
    for (id, ts, bits) in all {
        if f(id, ts, bits).is_break() {
            return Ok(ControlFlow::Break(()));
        }
    }
    Ok(ControlFlow::Continue(()))
}
