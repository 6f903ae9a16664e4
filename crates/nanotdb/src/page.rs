//! Open partitions and their in-memory pages (docs/FORMATS.md §3.5, docs/BEHAVIOUR.md §7).
//!
//! A page buffers samples of every metric of one partition in arrival order.
//! Ordering is only required per metric, so a page is stably sorted by
//! timestamp when it is flushed: the frame then satisfies the reference's
//! "non-decreasing across the page" invariant and stays readable by v1.4.0.

use std::time::Instant;

use foldhash::HashSet;

use crate::sample::MetricId;

/// The in-memory page of one open partition, stored column-wise like the
/// frame payload so a flush is a straight encode.
#[derive(Debug)]
pub(crate) struct Page {
    pub ids: Vec<MetricId>,
    pub ts: Vec<i64>,
    /// Stored value bits ([`crate::Value::to_bits`]).
    pub vals: Vec<u64>,
    /// Wall-clock creation time, for `[page].max_age`.
    pub created: Instant,
    /// False once a sample older than its predecessor was appended.
    pub sorted: bool,
    /// True when at least one sample of the page went through the WAL; only
    /// such pages need to be carried over when the WAL is rewritten.
    pub logged: bool,
    /// Every (metric, timestamp, value bits) of the page, built on the
    /// first [`Page::contains`] (a sample not newer than its metric's
    /// newest one: a retry or an out-of-order sample) and kept up to date
    /// from then on; in-order ingest never pays for it.
    index: Option<HashSet<(MetricId, i64, u64)>>,
}

impl Page {
    pub fn new() -> Page {
        Page {
            ids: Vec::new(),
            ts: Vec::new(),
            vals: Vec::new(),
            created: Instant::now(),
            sorted: true,
            logged: false,
            index: None,
        }
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    pub fn push(&mut self, id: MetricId, ts: i64, val: u64) {
        if let Some(&last) = self.ts.last()
            && ts < last
        {
            self.sorted = false;
        }
        self.ids.push(id);
        self.ts.push(ts);
        self.vals.push(val);
        if let Some(ix) = self.index.as_mut() {
            ix.insert((id, ts, val));
        }
    }

    /// Whether the page holds this exact sample.
    pub fn contains(&mut self, id: MetricId, ts: i64, val: u64) -> bool {
        let (ids, tss, vals) = (&self.ids, &self.ts, &self.vals);
        self.index
            .get_or_insert_with(|| (0..ids.len()).map(|i| (ids[i], tss[i], vals[i])).collect())
            .contains(&(id, ts, val))
    }

    /// Stable sort by timestamp, so samples of one metric keep their order.
    pub fn sort(&mut self) {
        if self.sorted {
            return;
        }
        let mut order: Vec<u32> = (0..self.ids.len() as u32).collect();
        order.sort_by_key(|&i| self.ts[i as usize]);
        self.ids = order.iter().map(|&i| self.ids[i as usize]).collect();
        self.ts = order.iter().map(|&i| self.ts[i as usize]).collect();
        self.vals = order.iter().map(|&i| self.vals[i as usize]).collect();
        self.sorted = true;
    }

    /// The `[page]` limits: records, estimated payload bytes (14 per record),
    /// wall-clock age.
    pub fn is_full(&self, limits: &PageLimits) -> bool {
        let n = self.len() as u64;
        n >= limits.max_records
            || n * 14 >= limits.max_bytes
            || self.created.elapsed().as_nanos() >= limits.max_age_ns
    }

    /// Cheap part of [`Page::is_full`] (no clock read), for the per-sample path.
    pub fn is_full_by_size(&self, limits: &PageLimits) -> bool {
        let n = self.len() as u64;
        n >= limits.max_records || n * 14 >= limits.max_bytes
    }

    pub fn is_too_old(&self, limits: &PageLimits) -> bool {
        self.created.elapsed().as_nanos() >= limits.max_age_ns
    }
}

/// Flush limits of a database's pages, normalised from the manifest.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PageLimits {
    pub max_records: u64,
    pub max_bytes: u64,
    pub max_age_ns: u128,
}

/// A partition in the database's open set.
#[derive(Debug)]
pub(crate) struct OpenPartition {
    pub page: Option<Page>,
    /// Append handle of `data-<key>.dat`, opened on the first flush.
    pub file: Option<crate::datafile::DataFileAppender>,
}
