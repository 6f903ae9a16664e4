//! Read-only views for the engine view API (open pages, live WAL) and the
//! compact-to-metric operation with the reference's checks and report.

use std::collections::HashSet;
use std::time::Instant;

use serde::Serialize;

use super::*;
use crate::stats::OpenPageStats;

/// What `compact_metric` did (docs/BEHAVIOUR.md §1.14 `CompactDataFileToMetricV2`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CompactMetricReport {
    /// Database.
    pub database: String,
    /// Partition key.
    pub part: String,
    /// The raw source (`data-<p>.dat`, else `raw-<p>.dat`).
    pub data_path: PathBuf,
    /// The metric file written.
    pub metric_path: PathBuf,
    /// Bytes of the raw sources before the build.
    pub data_bytes: u64,
    /// Size of the metric file.
    pub metric_bytes: u64,
    /// Layout written (`v1`, `v2` or `v3`).
    pub format: String,
    /// `data_bytes - metric_bytes` (negative when the metric file is larger).
    pub saved_bytes: i64,
    /// Wall time.
    pub duration_ms: u64,
}

impl Database {
    /// Every open partition sorted by key, with its page (copied under the lock).
    pub fn open_pages(&self) -> Vec<OpenPageStats> {
        let st = self.lock();
        st.open
            .iter()
            .map(|(k, p)| {
                let mut o = OpenPageStats {
                    key: k.clone(),
                    has_page: false,
                    records: 0,
                    unique_metrics: 0,
                    value_bytes: 0,
                    start_ts: 0,
                    end_ts: 0,
                    max_records: self.limits.max_records,
                    max_bytes: self.limits.max_bytes,
                    max_age_ns: i64::try_from(self.limits.max_age_ns).unwrap_or(i64::MAX),
                    age_ns: 0,
                    full: false,
                    logged: false,
                };
                if let Some(pg) = p.page.as_ref().filter(|pg| !pg.is_empty()) {
                    let ids: HashSet<MetricId> = pg.ids.iter().copied().collect();
                    o.has_page = true;
                    o.records = pg.len() as u64;
                    o.unique_metrics = ids.len() as u64;
                    o.value_bytes = pg.len() as u64 * 14;
                    o.start_ts = pg.ts.iter().copied().min().unwrap_or(0);
                    o.end_ts = pg.ts.iter().copied().max().unwrap_or(0);
                    o.age_ns = i64::try_from(pg.created.elapsed().as_nanos()).unwrap_or(i64::MAX);
                    o.full = pg.is_full(&self.limits);
                    o.logged = pg.logged;
                }
                o
            })
            .collect()
    }

    /// Decodes the live WAL under the lock (buffered records are written
    /// first only by ingest; this never writes).
    pub fn inspect_wal(&self) -> Result<crate::inspect::WalFileReport> {
        let _st = self.lock();
        let path = self.layout().wal();
        if !path.is_file() {
            return Ok(crate::inspect::WalFileReport {
                path,
                bytes: 0,
                decoded_bytes: 0,
                records: 0,
                skipped_missing_baseline: 0,
                min_ts: None,
                max_ts: None,
                stop: None,
                record_list: Vec::new(),
            });
        }
        crate::inspect::wal_file(&path, true)
    }

    /// Builds a v2 metric file for `part` without flushing anything: the key
    /// must match the database's partitioning, the partition must have no
    /// open page, and a `data-` or `raw-` file must exist (else a not-found
    /// I/O error).
    pub fn compact_to_metric(
        &self,
        st: &mut DbState,
        part: &str,
        opts: &BuildOptions,
    ) -> Result<CompactMetricReport> {
        let started = Instant::now();
        let part = self.validate_part(part)?;
        if st
            .open
            .get(&part)
            .and_then(|p| p.page.as_ref())
            .is_some_and(|p| !p.is_empty())
        {
            return Err(Error::DataFileActive {
                db: self.name.clone(),
                part,
            });
        }
        let data = self.data_path(&part);
        let raw = self.raw_path(&part);
        let src = if data.is_file() {
            data
        } else if raw.is_file() {
            raw
        } else {
            return Err(Error::io(
                &data,
                std::io::Error::new(std::io::ErrorKind::NotFound, "no such file or directory"),
            ));
        };
        let report = self.build_metric_file(st, &part, opts)?;
        Ok(CompactMetricReport {
            database: self.name.clone(),
            part,
            data_path: src,
            metric_path: report.metric_path,
            data_bytes: report.source_bytes,
            metric_bytes: report.metric_bytes,
            format: opts.version.name().to_string(),
            saved_bytes: i64::try_from(report.source_bytes).unwrap_or(i64::MAX)
                - i64::try_from(report.metric_bytes).unwrap_or(i64::MAX),
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        })
    }
}
