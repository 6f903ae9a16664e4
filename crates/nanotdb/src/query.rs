//! Range, multi-metric and last-value queries (docs/BEHAVIOUR.md §1.10).
//!
//! A query takes a consistent snapshot under the database lock (valid file
//! lengths plus copies of the open pages' matching samples) and reads the
//! files without the lock, so it sees every sample acknowledged before it
//! started and never a half-written frame. Partitions are chosen by the time
//! range of their key, not by walking days, so an unbounded range costs
//! nothing extra and files of an older partition mode stay visible.

use std::ops::ControlFlow;
use std::sync::Arc;

use crate::aggregate::{self, AggregateRow, Aggregators, WindowedAggregation, default_aggregators};
use crate::database::{Database, PartitionView};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::sample::{MetricId, Sample, Value, ValueType};

/// What a multi-metric read reads: the database, the metrics found (id,
/// type, index of the first occurrence of the name in the request; each id
/// once) and the snapshot of the partitions overlapping the range.
pub(crate) struct ReadPlan {
    pub database: Arc<Database>,
    pub wanted: Vec<(MetricId, ValueType, usize)>,
    pub views: Vec<PartitionView>,
}

impl Engine {
    /// Resolves `metrics` and snapshots the partitions under the database
    /// lock; `None` when none of the names exists.
    pub(crate) fn read_plan(
        &self,
        db: &str,
        metrics: &[&str],
        from: i64,
        to: i64,
    ) -> Result<Option<ReadPlan>> {
        if to < from {
            return Err(Error::InvalidRange { from, to });
        }
        let database = self.existing_db(db)?;
        let st = database.lock();
        let mut wanted: Vec<(MetricId, ValueType, usize)> = Vec::new();
        for (i, m) in metrics.iter().enumerate() {
            if let Some((id, vt)) = st.catalog.lookup(m)
                && !wanted.iter().any(|w| w.0 == id)
            {
                wanted.push((id, vt, i));
            }
        }
        if wanted.is_empty() {
            return Ok(None);
        }
        let ids: Vec<MetricId> = wanted.iter().map(|w| w.0).collect();
        let views = database.snapshot(&st, Some(&ids), from, to, self.prefer_metric_files());
        drop(st);
        Ok(Some(ReadPlan {
            database,
            wanted,
            views,
        }))
    }

    /// Samples of one metric with `from <= ts <= to`, in storage order
    /// (partitions ascending; within a partition renamed raw file, data
    /// file, then the open page). With `stride = n > 1` only every n-th
    /// sample is delivered (the 1st, (n+1)th, …). Return
    /// `ControlFlow::Break(())` from the callback to stop early.
    pub fn query_range(
        &self,
        db: &str,
        metric: &str,
        from: i64,
        to: i64,
        stride: u64,
        mut f: impl FnMut(Sample) -> ControlFlow<()>,
    ) -> Result<()> {
        self.query_range_many(db, &[metric], from, to, stride, |_, s| f(s))
    }

    /// Samples of several metrics in one pass; each metric has its own
    /// stride counter. Unknown and duplicate names are ignored. The callback
    /// gets the metric name and the sample.
    pub fn query_range_many(
        &self,
        db: &str,
        metrics: &[&str],
        from: i64,
        to: i64,
        stride: u64,
        mut f: impl FnMut(&str, Sample) -> ControlFlow<()>,
    ) -> Result<()> {
        self.query_range_many_indexed(db, metrics, from, to, stride, |i, s| f(metrics[i], s))
    }

    /// [`Engine::query_range_many`] whose callback gets the index of the
    /// metric in `metrics` (of its first occurrence) instead of its name, so
    /// a caller keeping state per metric needs no lookup by name per sample.
    pub fn query_range_many_indexed(
        &self,
        db: &str,
        metrics: &[&str],
        from: i64,
        to: i64,
        stride: u64,
        mut f: impl FnMut(usize, Sample) -> ControlFlow<()>,
    ) -> Result<()> {
        let stride = stride.max(1);
        let Some(ReadPlan {
            database,
            wanted,
            views,
        }) = self.read_plan(db, metrics, from, to)?
        else {
            return Ok(());
        };
        // Slot lookup by metric id: a flat table beats hashing in the inner
        // loop, which runs once per stored record.
        let max_id = wanted.iter().map(|w| w.0).max().unwrap_or(0);
        let mut slot = vec![u32::MAX; usize::from(max_id) + 1];
        for (i, w) in wanted.iter().enumerate() {
            slot[usize::from(w.0)] = i as u32;
        }
        let mut counters = vec![0u64; wanted.len()];
        let mut emit = |id: MetricId, ts: i64, bits: u64| -> ControlFlow<()> {
            let Some(&s) = slot.get(usize::from(id)) else {
                return ControlFlow::Continue(());
            };
            if s == u32::MAX || ts < from || ts > to {
                return ControlFlow::Continue(());
            }
            let s = s as usize;
            let c = counters[s];
            counters[s] += 1;
            if stride > 1 && c % stride != 0 {
                return ControlFlow::Continue(());
            }
            let (_, vt, index) = wanted[s];
            f(
                index,
                Sample {
                    ts,
                    value: Value::from_bits(vt, bits),
                },
            )
        };
        let ids: Vec<MetricId> = wanted.iter().map(|w| w.0).collect();
        for view in &views {
            let flow = database.read_view(view, Some(&ids), from, to, &mut emit)?;
            if flow.is_break() {
                return Ok(());
            }
        }
        Ok(())
    }

    /// Windowed aggregates of one metric with the built-in aggregates
    /// (docs/BEHAVIOUR.md §1.11): epoch-aligned windows of `window_ns`, clipped to
    /// `[from, to]`; one row per non-empty window and requested aggregate,
    /// in request order. See [`crate::aggregate`] for definitions and NaN
    /// handling.
    // The argument list mirrors the reference's QueryAggregateRange.
    #[allow(clippy::too_many_arguments)]
    pub fn query_aggregate(
        &self,
        db: &str,
        metric: &str,
        from: i64,
        to: i64,
        window_ns: i64,
        aggregates: &[&str],
        f: impl FnMut(AggregateRow) -> ControlFlow<()>,
    ) -> Result<()> {
        self.query_aggregate_with(
            default_aggregators(),
            db,
            metric,
            from,
            to,
            window_ns,
            aggregates,
            f,
        )
    }

    /// Like [`Engine::query_aggregate`] with a caller's registry, so an
    /// embedding program can add its own aggregates.
    #[allow(clippy::too_many_arguments)]
    pub fn query_aggregate_with(
        &self,
        registry: &Aggregators,
        db: &str,
        metric: &str,
        from: i64,
        to: i64,
        window_ns: i64,
        aggregates: &[&str],
        mut f: impl FnMut(AggregateRow) -> ControlFlow<()>,
    ) -> Result<()> {
        aggregate::validate_range(from, to)?;
        aggregate::validate_window(window_ns)?;
        let aggs = registry.resolve(aggregates)?;
        let mut w = WindowedAggregation::new(from, to, window_ns, aggs)?;
        let mut emit = |row: AggregateRow| -> std::result::Result<(), ()> {
            match f(row) {
                ControlFlow::Continue(()) => Ok(()),
                ControlFlow::Break(()) => Err(()),
            }
        };
        let mut stopped = false;
        self.query_range(db, metric, from, to, 1, |s| {
            if w.push_value(s.ts, s.value, &mut emit).is_err() {
                stopped = true;
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        })?;
        if !stopped {
            let _ = w.finish(&mut emit);
        }
        Ok(())
    }

    /// The newest sample of a metric (greatest timestamp; the latest write
    /// wins ties), also right after a restart: last values are derived from
    /// the newest partitions when a database is opened.
    pub fn query_last(&self, db: &str, metric: &str) -> Result<Option<Sample>> {
        let database = self.existing_db(db)?;
        Ok(database
            .last(metric)
            .map(|(ts, value)| Sample { ts, value }))
    }
}
