//! Metric files inside a database: how reads combine them with raw files,
//! building them, verifying them, and the raw-ingest action.
//!
//! No sidecar file records what a metric file covers. The rule, which also
//! holds for files built by v1.4.0:
//! * a metric file covers the whole renamed `raw-<p>.dat` (if any) plus the
//!   first frames of `data-<p>.dat` whose record counts add up to the rest
//!   of its points — frames are only ever appended, so whatever follows was
//!   written after the build and is read from the data file;
//! * when no prefix adds up and there is no raw file, either the data file
//!   lost frames at its end (the `keep` action, then a cut: its first frame
//!   is in the metric file, so nothing of it is read) or it is new (the
//!   `delete` action, then new samples: the whole data file is post-build);
//! * when the metric file cannot be read, or disagrees with a raw file that
//!   is still there, reads fall back to the raw files (and say so in the log).
//!
//! Our builds keep this rule true: a build reads the partition exactly as a
//! query would (metric file + post-build frames, or raw files) and writes
//! all of it, so rebuilding never loses samples written after an earlier
//! build (the reference's rebuild did, docs/FORMATS.md §8.6 [hazard]).

use std::collections::HashMap as StdHashMap;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

use super::view_read::{EachSample, read_metric_file};
use super::*;
use crate::config::{Codec, RawIngestAction};
use crate::metricfile::{MetricFile, MetricSamples, Version};

/// One metric's (timestamp, value bits) in storage order.
type Series = Vec<(i64, u64)>;

/// How to build a metric file.
#[derive(Debug, Clone, Copy)]
pub struct BuildOptions {
    /// v1 or v2 layout.
    pub version: Version,
    /// Block codec.
    pub codec: Codec,
    /// What happens to the raw files afterwards.
    pub raw_action: RawIngestAction,
    /// Compare the new file with its sources sample by sample before the
    /// raw-ingest action runs (always done for `delete`).
    pub verify: bool,
}

/// What a build did.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BuildReport {
    /// Partition key.
    pub partition: String,
    /// Raw sources read (`raw-`/`data-` files), with their sizes.
    pub source_paths: Vec<PathBuf>,
    /// Bytes of the raw sources.
    pub source_bytes: u64,
    /// The metric file.
    pub metric_path: PathBuf,
    /// Its size.
    pub metric_bytes: u64,
    /// Samples written.
    pub points: u64,
    /// Whether the file was verified against its sources.
    pub verified: bool,
    /// The raw-ingest action applied.
    pub raw_action: String,
    /// Why no metric file was built for this partition (it holds float64 or
    /// int64 metrics, docs/FORMATS.md §8.8); nothing was changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

impl BuildReport {
    /// The report of a partition left without metric file: `reason`.
    pub fn skipped(partition: &str, metric_path: PathBuf, reason: String) -> BuildReport {
        BuildReport {
            partition: partition.to_string(),
            source_paths: Vec::new(),
            source_bytes: 0,
            metric_path,
            metric_bytes: 0,
            points: 0,
            verified: false,
            raw_action: RawIngestAction::Keep.as_str().to_string(),
            skipped: Some(reason),
        }
    }
}

/// How one partition is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Plan {
    /// Metric file, then data-file frames from this byte offset.
    MetricThenDataFrom(u64),
    /// Raw files only (metric file ignored).
    RawOnly,
}

impl Database {
    pub fn metric_path(&self, key: &str) -> PathBuf {
        self.layout().metric(key)
    }

    /// Opens (or reuses) the metric file at `path`.
    pub(super) fn metric_handle(&self, path: &Path) -> Result<Arc<MetricFile>> {
        let version = self.metric_version(path).at(path)?;
        if let Some(f) = self.metric_cache.handle(path, version) {
            return Ok(f);
        }
        // A rebuild that forgets the file while it is being opened and
        // verified makes `insert` keep nothing: the old version must not
        // come back as the one to trust.
        let generation = self.metric_cache.generation();
        let file = MetricFile::open(path)?;
        let version = (file.len(), file.modified());
        // Decode everything once per file version: a damaged frame found in
        // the middle of a query could not be undone (samples already sent),
        // so damage must be known before the file is used at all.
        if !self.metric_cache.is_verified(path, version) {
            file.read_all(i64::MIN, i64::MAX, |_, _, _| {})?;
        }
        let file = Arc::new(file);
        self.metric_cache
            .insert(path, version, file.clone(), generation);
        Ok(file)
    }

    /// Forgets cached handles and plans of a partition's metric file.
    pub(super) fn forget_metric(&self, key: &str) {
        let path = self.metric_path(key);
        self.frames.forget(&path);
        self.metric_cache.forget(&path);
    }

    pub(super) fn plan_for(
        &self,
        view: &PartitionView,
        mpath: &Path,
        mf: &MetricFile,
    ) -> Result<Plan> {
        let raw_len = view.raw.as_ref().map(|r| r.1);
        let version = (mf.len(), mf.modified());
        if let Some(plan) = self.metric_cache.plan(mpath, version, raw_len) {
            return Ok(plan);
        }
        let points = mf.summary().points();
        let raw_records = match &view.raw {
            Some((p, len)) => datafile::scan_file(p, false)
                .at(p)?
                .frames
                .iter()
                .filter(|f| f.offset + f.header.frame_len() <= *len)
                .map(|f| u64::from(f.header.count))
                .sum(),
            None => 0,
        };
        let plan = if points < raw_records {
            Plan::RawOnly
        } else {
            let need = points - raw_records;
            let mut found = (need == 0).then_some(0u64);
            // Every frame of the data file, and fewer records than the
            // metric file holds beyond the raw file.
            let mut short: Option<(&PathBuf, datafile::FrameInfo, u64)> = None;
            if found.is_none()
                && let Some((p, len)) = &view.data
            {
                let scan = datafile::scan_file(p, false).at(p)?;
                let mut sum = 0u64;
                let mut whole = 0;
                for f in &scan.frames {
                    let end = f.offset + f.header.frame_len();
                    if end > *len {
                        break;
                    }
                    whole += 1;
                    sum += u64::from(f.header.count);
                    if sum == need {
                        found = Some(end);
                        break;
                    }
                    if sum > need {
                        break;
                    }
                }
                if found.is_none() && sum < need && whole > 0 {
                    short = Some((p, scan.frames[0], *len));
                }
            }
            match (found, &view.raw) {
                (Some(off), _) => self.checked_data_offset(mf, view, off)?,
                (None, None) => match short {
                    // The data file kept beside its metric file lost frames
                    // at its end: what is left is all in the metric file.
                    Some((p, first, len)) if Self::frame_is_in(mf, p, &first)? => {
                        tracing::warn!(
                            file = %p.display(),
                            "data file holds fewer samples than its metric file covers (cut short?); reading the metric file only"
                        );
                        Plan::MetricThenDataFrom(len)
                    }
                    // delete action, then new samples: the data file is new
                    // (checked: damage can make the counts mislead).
                    _ => self.checked_data_offset(mf, view, 0)?,
                },
                (None, Some((rp, rlen))) => {
                    // The raw file holds fewer samples than the metric file
                    // built from it: cut short or damaged (the metric file
                    // holds all of it), unless its first frame is not in the
                    // metric file at all (then the metric file is foreign).
                    let scan = datafile::scan_file(rp, false).at(rp)?;
                    let first = scan
                        .frames
                        .first()
                        .filter(|f| f.offset + f.header.frame_len() <= *rlen);
                    let lost = match first {
                        None => true,
                        Some(f) => Self::frame_is_in(mf, rp, f)?,
                    };
                    if lost {
                        let good = scan
                            .frames
                            .iter()
                            .map(|f| f.offset + f.header.frame_len())
                            .filter(|end| end <= rlen)
                            .max()
                            .unwrap_or(0);
                        tracing::warn!(
                            file = %rp.display(),
                            offset = good,
                            "raw file holds fewer samples than its metric file ({raw_records} of {points}): damaged or cut short after {good} bytes; reading the metric file"
                        );
                        Plan::MetricThenDataFrom(0)
                    } else {
                        tracing::warn!(
                            file = %mpath.display(),
                            "metric file does not match the raw files beside it; reading the raw files"
                        );
                        Plan::RawOnly
                    }
                }
            }
        };
        self.metric_cache.set_plan(mpath, version, raw_len, plan);
        Ok(plan)
    }

    /// The plan "metric file, then the data file from `off`" — unless the
    /// data file's frame at `off` is already in the metric file: damage
    /// made the frame walk miscount, and reading from there would return
    /// samples twice; then only the metric file is read (with a warning).
    fn checked_data_offset(&self, mf: &MetricFile, view: &PartitionView, off: u64) -> Result<Plan> {
        let Some((p, len)) = &view.data else {
            return Ok(Plan::MetricThenDataFrom(off));
        };
        if off >= *len {
            return Ok(Plan::MetricThenDataFrom(off));
        }
        // Usually no frame (or a few written since the build) follows `off`.
        let scan = datafile::scan_file(p, false).at(p)?;
        for fi in scan
            .frames
            .iter()
            .filter(|f| f.offset >= off && f.offset + f.header.frame_len() <= *len)
        {
            if Self::frame_is_in(mf, p, fi)? {
                tracing::warn!(
                    file = %p.display(),
                    offset = fi.offset,
                    "data file's frames do not follow its metric file (damaged?); reading the metric file only"
                );
                return Ok(Plan::MetricThenDataFrom(*len));
            }
        }
        Ok(Plan::MetricThenDataFrom(off))
    }

    /// Whether the first sample of the data-file frame `fi` is in the metric
    /// file: true for a frame the metric file was built from, false (but for
    /// an identical re-sent sample) for one written after a `delete` action.
    fn frame_is_in(mf: &MetricFile, path: &PathBuf, fi: &datafile::FrameInfo) -> Result<bool> {
        let file = std::fs::File::open(path).at(path)?;
        let (mut block, mut frame) = (Vec::new(), DecodedFrame::default());
        match datafile::read_frame(&file, fi, &mut block, &mut frame).at(path)? {
            Ok(()) if !frame.is_empty() => {}
            _ => return Ok(false),
        }
        let (id, ts, bits) = (frame.id(0), frame.ts(0), frame.val(0));
        let mut hit = false;
        // Never stopped early: the flow is always Continue.
        let mut each = |_, _, b| {
            hit |= b == bits;
            ControlFlow::Continue(())
        };
        let _ = read_metric_file(mf, Some(&[id]), ts, ts, &mut EachSample(&mut each))?;
        Ok(hit)
    }

    /// Builds `metric-<key>.dat` from everything the partition holds, then
    /// applies the raw-ingest action. Refused while the partition has an
    /// open page.
    pub fn build_metric_file(
        &self,
        st: &mut DbState,
        key: &str,
        opts: &BuildOptions,
    ) -> Result<BuildReport> {
        if self.settings.read_only {
            return Err(Error::ReadOnly);
        }
        if st
            .open
            .get(key)
            .and_then(|p| p.page.as_ref())
            .is_some_and(|p| !p.is_empty())
        {
            return Err(Error::DataFileActive {
                db: self.name.clone(),
                part: key.to_string(),
            });
        }
        let files = st.files.get(key).cloned().unwrap_or_default();
        let view = PartitionView {
            raw: files.raw_len.map(|l| (self.raw_path(key), l)),
            data: files.data_len.map(|l| (self.data_path(key), l)),
            metric: files.metric.then(|| self.metric_path(key)),
            page: Vec::new(),
            unordered: self.is_unordered(st, key),
            long_scan: false,
        };
        let source_paths: Vec<PathBuf> = view
            .raw
            .iter()
            .chain(view.data.iter())
            .map(|(p, _)| p.clone())
            .collect();
        let source_bytes = view
            .raw
            .iter()
            .chain(view.data.iter())
            .map(|(_, l)| *l)
            .sum();
        let groups = self.collect_partition(&view)?;
        if opts.version != Version::V3
            && st.catalog.has_wide()
            && groups.iter().any(|(id, _)| st.catalog.is_wide(*id))
        {
            return Err(Error::WideValuesInPartition {
                db: self.name.clone(),
                part: key.to_string(),
            });
        }
        if groups.is_empty() {
            return Err(Error::Corrupt {
                path: self.data_path(key),
                offset: 0,
                reason: "no persisted samples in this partition".into(),
            });
        }
        let mut metrics = Vec::with_capacity(groups.len());
        for (id, mut samples) in groups {
            let vt = st
                .catalog
                .get(id)
                .map(|m| m.value_type.code())
                .ok_or_else(|| Error::UnknownMetricId {
                    db: self.name.clone(),
                    id,
                })?;
            samples.sort_by_key(|s| s.0);
            metrics.push(MetricSamples {
                id,
                value_type: vt,
                ts: samples.iter().map(|s| s.0).collect(),
                vals: samples.iter().map(|s| s.1).collect(),
            });
        }
        let mpath = self.metric_path(key);
        let kind = self.manifest.retention.partition.code();
        let written = crate::metricfile::write_metric_file(
            &mpath,
            opts.version,
            opts.codec,
            kind,
            &metrics,
            // The raw files are about to be renamed or deleted: whatever the
            // profile, the metric file must be on disk before that happens.
            self.settings.durability.fsync_data() || opts.raw_action != RawIngestAction::Keep,
        );
        // Also when writing failed: it may have failed after the rename
        // (syncing the directory), with the new file in place.
        self.forget_metric(key);
        let summary = written?;
        st.files.entry(key.to_string()).or_default().metric = true;
        let verify = opts.verify || opts.raw_action == RawIngestAction::Delete;
        if verify {
            verify_against(&mpath, &metrics)?;
        }
        self.apply_raw_action(st, key, opts.raw_action)?;
        Ok(BuildReport {
            partition: key.to_string(),
            source_paths,
            source_bytes,
            metric_path: mpath,
            metric_bytes: summary.bytes,
            points: summary.points,
            verified: verify,
            raw_action: opts.raw_action.as_str().to_string(),
            skipped: None,
        })
    }

    /// Everything a partition holds, grouped per metric in first-appearance
    /// order, each in storage order.
    fn collect_partition(&self, view: &PartitionView) -> Result<Vec<(MetricId, Series)>> {
        let mut order: Vec<MetricId> = Vec::new();
        let mut groups: StdHashMap<MetricId, Series> = StdHashMap::new();
        let _ = self.read_view(view, None, i64::MIN, i64::MAX, &mut |id, ts, v| {
            groups
                .entry(id)
                .or_insert_with(|| {
                    order.push(id);
                    Vec::new()
                })
                .push((ts, v));
            ControlFlow::Continue(())
        })?;
        Ok(order
            .into_iter()
            .map(|id| {
                let g = groups.remove(&id).unwrap_or_default();
                (id, g)
            })
            .collect())
    }

    fn apply_raw_action(&self, st: &mut DbState, key: &str, action: RawIngestAction) -> Result<()> {
        let data = self.data_path(key);
        let raw = self.raw_path(key);
        // The open partition's append handle must not outlive its file.
        if let Some(p) = st.open.get_mut(key) {
            p.file = None;
        }
        self.frames.forget(&data);
        self.frames.forget(&raw);
        let entry = st.files.entry(key.to_string()).or_default();
        let action = self.raw_action_for_forwarding(key, entry, action);
        match action {
            RawIngestAction::Keep => {}
            RawIngestAction::Rename => {
                if entry.data_len.is_some() {
                    if entry.raw_len.is_some() {
                        // Frames are self-contained: appending the data file
                        // keeps one raw file holding everything.
                        let bytes = fs::read(&data).at(&data)?;
                        let mut f = OpenOptions::new().append(true).open(&raw).at(&raw)?;
                        f.write_all(&bytes).at(&raw)?;
                        f.sync_all().at(&raw)?;
                        fs::remove_file(&data).at(&data)?;
                    } else {
                        fs::rename(&data, &raw).at(&data)?;
                    }
                    fsutil::sync_dir(&self.dir)?;
                    entry.raw_len = Some(fs::metadata(&raw).at(&raw)?.len());
                    entry.data_len = None;
                }
            }
            RawIngestAction::Delete => {
                for p in [&data, &raw] {
                    match fs::remove_file(p) {
                        Ok(()) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => return Err(Error::io(p, e)),
                    }
                }
                fsutil::sync_dir(&self.dir)?;
                entry.raw_len = None;
                entry.data_len = None;
            }
        }
        self.forget_metric(key);
        Ok(())
    }

    /// `delete` becomes `rename` while a remote-write target has not read
    /// the whole partition: the raw file is the only copy of its frames in
    /// stream order (crate::forward).
    fn raw_action_for_forwarding(
        &self,
        key: &str,
        files: &PartFiles,
        action: RawIngestAction,
    ) -> RawIngestAction {
        if action != RawIngestAction::Delete || self.settings.forward.is_empty() {
            return action;
        }
        let len = files.raw_len.unwrap_or(0) + files.data_len.unwrap_or(0);
        let verdict =
            self.settings
                .forward
                .verdict(&self.name, key, len, crate::time::now_ns(), true);
        match verdict {
            crate::forward::HoldVerdict::Held(t) => {
                tracing::info!(db = %self.name, partition = key, target = %t,
                    "raw file renamed, not deleted: a remote-write target has not delivered it");
                RawIngestAction::Rename
            }
            _ => action,
        }
    }

    /// Compares a partition's metric file with its raw files sample by
    /// sample (per metric, stably sorted by time). Refused when no raw file
    /// is left.
    pub fn verify_metric_file(&self, st: &DbState, key: &str) -> Result<u64> {
        let files = st.files.get(key).cloned().unwrap_or_default();
        if files.raw_len.is_none() && files.data_len.is_none() {
            return Err(Error::Corrupt {
                path: self.metric_path(key),
                offset: 0,
                reason: "no raw file left to verify against".into(),
            });
        }
        let raw_view = PartitionView {
            raw: files.raw_len.map(|l| (self.raw_path(key), l)),
            data: files.data_len.map(|l| (self.data_path(key), l)),
            metric: None,
            page: Vec::new(),
            unordered: self.is_unordered(st, key),
            long_scan: false,
        };
        let groups = self.collect_partition(&raw_view)?;
        let mut metrics = Vec::new();
        for (id, mut s) in groups {
            s.sort_by_key(|x| x.0);
            metrics.push(MetricSamples {
                id,
                value_type: st.catalog.get(id).map_or(0, |m| m.value_type.code()),
                ts: s.iter().map(|x| x.0).collect(),
                vals: s.iter().map(|x| x.1).collect(),
            });
        }
        verify_against(&self.metric_path(key), &metrics)
    }
}

/// Reads a metric file back and compares it with `want` exactly.
fn verify_against(path: &Path, want: &[MetricSamples]) -> Result<u64> {
    let mf = MetricFile::open(path)?;
    let mut got: StdHashMap<MetricId, (Vec<i64>, Vec<u64>)> = StdHashMap::new();
    mf.read_all(i64::MIN, i64::MAX, |id, ts, v| {
        let e = got.entry(id).or_default();
        e.0.push(ts);
        e.1.push(v);
    })?;
    let mismatch = |reason: String| Error::Corrupt {
        path: path.to_path_buf(),
        offset: 0,
        reason,
    };
    let mut points = 0u64;
    for m in want {
        let Some((ts, vals)) = got.remove(&m.id) else {
            return Err(mismatch(format!(
                "metric {} missing in the metric file",
                m.id
            )));
        };
        if ts.len() != m.ts.len() {
            return Err(mismatch(format!(
                "sample count mismatch for metric {}: data={} metric={}",
                m.id,
                m.ts.len(),
                ts.len()
            )));
        }
        if let Some(i) = (0..ts.len()).find(|&i| ts[i] != m.ts[i] || vals[i] != m.vals[i]) {
            return Err(mismatch(format!(
                "sample mismatch for metric {} at index {i}",
                m.id
            )));
        }
        points += ts.len() as u64;
    }
    if let Some(id) = got.keys().next() {
        return Err(mismatch(format!(
            "metric {id} present in metric partition but missing in data partition"
        )));
    }
    Ok(points)
}
