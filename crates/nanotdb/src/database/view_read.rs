//! Reading one partition of a snapshot: metric file and post-build frames,
//! or the raw files, then the copy of the open page — one sample at a time,
//! or (for an export) metric-file samples as whole runs.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use super::metric::Plan;
use super::*;
use crate::idset::IdSet;
use crate::metricfile::{MetricFile, Run};

/// Where a partition read delivers its samples: one at a time, or a run of
/// one metric's samples (from metric files and their slice cache) at once.
/// Either way, each metric's samples in time order, and in the same order
/// as one sample at a time would deliver them.
pub(crate) trait ViewSink {
    /// One sample (value bits; 4-byte types in the low half).
    fn sample(&mut self, id: MetricId, ts: i64, bits: u64) -> ControlFlow<()>;

    /// Consecutive samples of metric `id`, all in the read's range.
    fn run(&mut self, id: MetricId, run: Run<'_>) -> ControlFlow<()> {
        for i in 0..run.len() {
            let (ts, bits) = run.get(i);
            self.sample(id, ts, bits)?;
        }
        ControlFlow::Continue(())
    }
}

/// A callback per sample as a [`ViewSink`].
pub(crate) struct EachSample<'a>(pub &'a mut dyn FnMut(MetricId, i64, u64) -> ControlFlow<()>);

impl ViewSink for EachSample<'_> {
    fn sample(&mut self, id: MetricId, ts: i64, bits: u64) -> ControlFlow<()> {
        (self.0)(id, ts, bits)
    }
}

impl Database {
    /// Reads one partition of a snapshot: metric file and post-build frames,
    /// or the raw files; then the copy of the open page. `ids = None` reads
    /// every metric. Each metric's samples come in time order: a partition
    /// holding out-of-order samples is collected and sorted first
    /// (`order.rs`).
    pub(crate) fn read_view(
        &self,
        view: &PartitionView,
        ids: Option<&[MetricId]>,
        from: i64,
        to: i64,
        f: &mut dyn FnMut(MetricId, i64, u64) -> ControlFlow<()>,
    ) -> Result<ControlFlow<()>> {
        self.read_view_into(view, ids, from, to, &mut EachSample(f))
    }

    /// [`Database::read_view`] into a sink: metric-file samples of a
    /// partition in time order come as runs.
    pub(crate) fn read_view_into(
        &self,
        view: &PartitionView,
        ids: Option<&[MetricId]>,
        from: i64,
        to: i64,
        sink: &mut dyn ViewSink,
    ) -> Result<ControlFlow<()>> {
        if view.unordered {
            return order::sorted_read(
                |g| self.read_view_stored(view, ids, from, to, &mut EachSample(g)),
                &mut |id, ts, bits| sink.sample(id, ts, bits),
            );
        }
        self.read_view_stored(view, ids, from, to, sink)
    }

    /// [`Database::read_view`] in storage order.
    fn read_view_stored(
        &self,
        view: &PartitionView,
        ids: Option<&[MetricId]>,
        from: i64,
        to: i64,
        sink: &mut dyn ViewSink,
    ) -> Result<ControlFlow<()>> {
        let mut data_from = 0u64;
        let mut read_raw = true;
        let mut metric_done = false;
        if let (Some(mpath), Some([single]), true) = (
            &view.metric,
            ids,
            view.long_scan && !self.settings.read_only,
        ) && let Some((off, slice)) = self.cached_metric_slice(view, mpath, *single)
        {
            let run = Run::Pairs(&slice);
            if run
                .each_in_range(from, to, &mut |r| sink.run(*single, r))
                .is_break()
            {
                return Ok(ControlFlow::Break(()));
            }
            (data_from, read_raw, metric_done) = (off, false, true);
        }
        if let Some(mpath) = view.metric.as_ref().filter(|_| !metric_done) {
            let opened = self
                .metric_handle(mpath)
                .and_then(|mf| self.plan_for(view, mpath, &mf).map(|p| (mf, p)));
            match opened {
                Ok((mf, Plan::MetricThenDataFrom(off))) => {
                    let flow = match ids {
                        Some([single]) if view.long_scan && !self.settings.read_only => {
                            self.read_metric_slice(&mf, *single, from, to, sink)?
                        }
                        _ => read_metric_file(&mf, ids, from, to, sink)?,
                    };
                    if flow.is_break() {
                        return Ok(flow);
                    }
                    data_from = off;
                    read_raw = false;
                }
                Ok((_, Plan::RawOnly)) => {}
                Err(e) => {
                    tracing::warn!(file = %mpath.display(), "metric file unreadable, reading raw files instead: {e}");
                }
            }
        }
        let mut sources: Vec<(&PathBuf, u64, u64)> = Vec::new();
        if read_raw && let Some((p, len)) = &view.raw {
            sources.push((p, 0, *len));
        }
        if let Some((p, len)) = &view.data
            && data_from < *len
        {
            sources.push((p, data_from, *len));
        }
        for (path, start, len) in sources {
            if self
                .read_file(path, start, len, view, ids, from, to, sink)?
                .is_break()
            {
                return Ok(ControlFlow::Break(()));
            }
        }
        for s in &view.page {
            if sink.sample(s.id, s.ts, s.bits).is_break() {
                return Ok(ControlFlow::Break(()));
            }
        }
        Ok(ControlFlow::Continue(()))
    }

    /// The samples of raw or data file `path` from byte `start` to `len`.
    #[allow(clippy::too_many_arguments)]
    fn read_file(
        &self,
        path: &Path,
        start: u64,
        len: u64,
        view: &PartitionView,
        ids: Option<&[MetricId]>,
        from: i64,
        to: i64,
        sink: &mut dyn ViewSink,
    ) -> Result<ControlFlow<()>> {
        if let (Some([single]), false) = (ids, self.settings.read_only) {
            return framecache::read_file_metric(
                &self.frames,
                path,
                start,
                len,
                from,
                to,
                *single,
                &mut |ts, bits| sink.sample(*single, ts, bits),
            );
        }
        // Constant-time id filter for multi-metric reads (a linear search
        // per record would cost 86 comparisons for the edge workload).
        let wanted = ids.filter(|ids| ids.len() > 1).map(IdSet::of);
        let cache = (!self.settings.read_only).then_some(&self.frames);
        let keep = !view.long_scan;
        read_file_frames(cache, keep, path, start, len, from, to, &mut |fr| {
            match ids {
                Some([single]) => {
                    for i in fr.indices_of(*single) {
                        let ts = fr.ts(i);
                        if ts >= from && ts <= to {
                            sink.sample(*single, ts, fr.val(i))?;
                        }
                    }
                }
                _ => {
                    for i in 0..fr.len() {
                        let (id, ts) = (fr.id(i), fr.ts(i));
                        if ts < from || ts > to || wanted.as_ref().is_some_and(|w| !w.contains(id))
                        {
                            continue;
                        }
                        sink.sample(id, ts, fr.val(i))?;
                    }
                }
            }
            ControlFlow::Continue(())
        })
    }
}

/// Reads the wanted metrics (or all) of a metric file, as runs.
pub(super) fn read_metric_file(
    mf: &MetricFile,
    ids: Option<&[MetricId]>,
    from: i64,
    to: i64,
    sink: &mut dyn ViewSink,
) -> Result<ControlFlow<()>> {
    match ids {
        // Most of the file's metrics: one pass over the file decodes each
        // shared time frame once, instead of once per metric.
        Some(ids) if ids.len() > 1 && ids.len() * 2 >= mf.metrics().len() => {
            let mut wanted = ids.to_vec();
            wanted.sort_unstable();
            Ok(mf.read_runs(None, from, to, &mut |id, run| {
                if wanted.binary_search(&id).is_ok() {
                    sink.run(id, run)
                } else {
                    ControlFlow::Continue(())
                }
            })?)
        }
        Some(ids) => {
            for &id in ids {
                if mf
                    .read_runs(Some(id), from, to, &mut |id, run| sink.run(id, run))?
                    .is_break()
                {
                    return Ok(ControlFlow::Break(()));
                }
            }
            Ok(ControlFlow::Continue(()))
        }
        None => Ok(mf.read_runs(None, from, to, &mut |id, run| sink.run(id, run))?),
    }
}
