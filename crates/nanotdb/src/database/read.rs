//! Read side: last values, snapshots for queries, listings, stats, and
//! frame-by-frame reading of raw files.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;

use super::*;

impl Database {
    /// Last (timestamp, value) of a metric.
    pub fn last(&self, metric: &str) -> Option<(i64, Value)> {
        let mut guard = self.lock();
        let st = &mut *guard;
        let (id, vt) = st.catalog.lookup(metric)?;
        if let Err(e) = self.ensure_last(st, id, i64::MIN) {
            tracing::warn!(db = %self.name, metric, "last value from older partitions: {e}");
        }
        let (ts, bits) = (*st.last.get(usize::from(id))?)?;
        Some((ts, Value::from_bits(vt, bits)))
    }

    /// Snapshot of the partitions overlapping `[from, to]`, with copies of
    /// the open pages' samples of `ids` (all metrics when `ids` is None)
    /// within the range, each page copy sorted by time.
    pub fn snapshot(
        &self,
        st: &DbState,
        ids: Option<&[MetricId]>,
        from: i64,
        to: i64,
        use_metric_files: bool,
    ) -> Vec<PartitionView> {
        let mut keys: BTreeMap<(i64, String), ()> = BTreeMap::new();
        for k in st.files.keys().chain(st.open.keys()) {
            if let Some((_, s, e)) = time::parse_partition_key(k)
                && s <= to
                && e > from
            {
                keys.insert((s, k.clone()), ());
            }
        }
        let mut out = Vec::with_capacity(keys.len());
        let long_scan = keys.len() > LONG_SCAN_PARTITIONS;
        for ((_, key), ()) in keys {
            let f = st.files.get(&key).cloned().unwrap_or_default();
            let mut page = Vec::new();
            if let Some(pg) = st.open.get(&key).and_then(|p| p.page.as_ref()) {
                for i in 0..pg.len() {
                    let (id, ts) = (pg.ids[i], pg.ts[i]);
                    if ts < from || ts > to {
                        continue;
                    }
                    if ids.is_some_and(|ids| !ids.contains(&id)) {
                        continue;
                    }
                    page.push(PageSample {
                        id,
                        ts,
                        bits: pg.vals[i],
                    });
                }
                page.sort_by_key(|s| s.ts);
            }
            out.push(PartitionView {
                metric: (use_metric_files && f.metric).then(|| self.metric_path(&key)),
                raw: f.raw_len.map(|l| (self.raw_path(&key), l)),
                data: f.data_len.map(|l| (self.data_path(&key), l)),
                page,
                unordered: self.is_unordered(st, &key),
                long_scan,
            });
        }
        out
    }

    /// The type of one metric, if it exists.
    pub fn value_type(&self, metric: &str) -> Option<ValueType> {
        self.lock().catalog.lookup(metric).map(|(_, vt)| vt)
    }

    /// Metrics of the database sorted by name.
    pub fn metrics(&self) -> Vec<MetricInfo> {
        self.lock().catalog.metrics_sorted()
    }

    /// The metrics whose labels every matcher accepts, by name.
    pub fn select_series(&self, matchers: &[crate::labels::Matcher]) -> Vec<MetricInfo> {
        let mut guard = self.lock();
        let st = &mut *guard;
        st.labels.sync(&st.catalog);
        let mut out: Vec<MetricInfo> = st
            .labels
            .select(matchers)
            .into_iter()
            .filter_map(|id| st.catalog.get(id).cloned())
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    /// Label names (`label = None`) or the values of one label.
    pub fn label_values(&self, label: Option<&str>) -> Vec<String> {
        let mut guard = self.lock();
        let st = &mut *guard;
        st.labels.sync(&st.catalog);
        match label {
            None => st.labels.label_names(),
            Some(l) => st.labels.label_values(l),
        }
    }

    /// The records of the open pages that the WAL protects, as
    /// (metric name, timestamp, value).
    pub fn unflushed(&self) -> Vec<(String, i64, Value)> {
        let st = self.lock();
        let mut out = Vec::new();
        for p in st.open.values() {
            if let Some(pg) = &p.page {
                for i in 0..pg.len() {
                    if let Some(m) = st.catalog.get(pg.ids[i]) {
                        out.push((
                            m.name.clone(),
                            pg.ts[i],
                            Value::from_bits(m.value_type, pg.vals[i]),
                        ));
                    }
                }
            }
        }
        out
    }

    /// Runtime statistics.
    pub fn stats(&self) -> crate::stats::DbStats {
        let st = self.lock();
        crate::stats::DbStats {
            database: self.name.clone(),
            metrics: st.catalog.len(),
            open_partitions: st
                .open
                .iter()
                .map(|(k, p)| crate::stats::OpenPartitionStats {
                    key: k.clone(),
                    page_records: p.page.as_ref().map_or(0, |pg| pg.len()),
                })
                .collect(),
            sealed_partitions: {
                let mut v: Vec<String> = st.sealed.iter().cloned().collect();
                v.sort();
                v
            },
            wal_bytes: st.wal.as_ref().map_or(0, WalWriter::len_with_pending),
            counters: st.counters.clone(),
        }
    }
}

/// Reads and decodes one frame given its header info.
pub(crate) fn read_frame_at(
    file: &File,
    path: &Path,
    fi: &datafile::FrameInfo,
    block: &mut Vec<u8>,
    out: &mut DecodedFrame,
) -> Result<()> {
    datafile::read_frame(file, fi, block, out)
        .at(path)?
        .map_err(|e| Error::Corrupt {
            path: path.to_path_buf(),
            offset: fi.offset,
            reason: e.to_string(),
        })
}
