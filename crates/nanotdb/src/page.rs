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
    index: Option<SampleIndex>,
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

    /// This page emptied for reuse as a new one (its vectors keep their
    /// capacity).
    pub fn renewed(mut self) -> Page {
        self.ids.clear();
        self.ts.clear();
        self.vals.clear();
        self.created = Instant::now();
        self.sorted = true;
        self.logged = false;
        self.index = None;
        self
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

/// Samples of a flushed page, kept for the duplicate check.
pub(crate) type SampleIndex = HashSet<(MetricId, i64, u64)>;

/// How many flushed pages' indexes an open partition keeps.
const RECENT_PAGES: usize = 2;

/// A partition in the database's open set.
#[derive(Debug)]
pub(crate) struct OpenPartition {
    pub page: Option<Page>,
    /// Append handle of `data-<key>.dat`, opened on the first flush.
    pub file: Option<crate::datafile::DataFileAppender>,
    /// Indexes of the last pages flushed that had one (a late sample often
    /// lands just behind a flush), with each page's newest timestamp.
    pub recent: std::collections::VecDeque<(SampleIndex, i64)>,
    /// Newest timestamp of the partition's stored samples that `recent`
    /// does not index (`None`: unknown, e.g. a raw or metric file exists):
    /// a sample newer than it, and not in the page or `recent`, is new.
    pub cold_max_ts: Option<i64>,
}

impl OpenPartition {
    /// An open partition whose files hold samples up to `cold_max_ts`.
    pub fn new(cold_max_ts: Option<i64>) -> OpenPartition {
        OpenPartition {
            page: None,
            file: None,
            recent: std::collections::VecDeque::new(),
            cold_max_ts,
        }
    }

    /// Notes a page just written as a frame: its index joins `recent`, or
    /// its samples count as cold.
    pub fn flushed(&mut self, page: &mut Page) {
        let newest = page.ts.last().copied().unwrap_or(i64::MIN);
        match page.index.take() {
            Some(ix) => {
                self.recent.push_back((ix, newest));
                if self.recent.len() > RECENT_PAGES
                    && let Some((_, t)) = self.recent.pop_front()
                {
                    self.cold_max_ts = self.cold_max_ts.map(|c| c.max(t));
                }
            }
            None => self.cold_max_ts = self.cold_max_ts.map(|c| c.max(newest)),
        }
    }

    /// Whether the sample is in a recently flushed page (`Some(true)`),
    /// certainly not stored in this partition (`Some(false)`), or the
    /// files must tell (`None`). The open page is checked by the caller.
    pub fn recent_holds(&self, id: MetricId, ts: i64, val: u64) -> Option<bool> {
        if self
            .recent
            .iter()
            .any(|(ix, newest)| ts <= *newest && ix.contains(&(id, ts, val)))
        {
            return Some(true);
        }
        match self.cold_max_ts {
            Some(c) if ts > c => Some(false),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(samples: &[(MetricId, i64, u64)]) -> Page {
        let mut p = Page::new();
        for &(id, ts, v) in samples {
            p.push(id, ts, v);
        }
        p
    }

    #[test]
    fn flushed_pages_with_an_index_answer_the_duplicate_check() {
        let mut part = OpenPartition::new(Some(i64::MIN));
        let mut p = page(&[(1, 10, 7), (1, 20, 8)]);
        assert!(!p.contains(1, 5, 0)); // builds the index
        p.push(1, 30, 9); // kept up to date
        assert!(p.contains(1, 30, 9));
        part.flushed(&mut p);
        assert_eq!(part.recent_holds(1, 10, 7), Some(true));
        assert_eq!(part.recent_holds(1, 30, 9), Some(true));
        assert_eq!(part.recent_holds(1, 10, 8), Some(false));
        assert_eq!(part.recent_holds(2, 10, 7), Some(false));
        // A page flushed without an index is cold: the files must tell.
        let mut q = page(&[(1, 40, 1)]);
        part.flushed(&mut q);
        assert_eq!(part.recent_holds(1, 40, 1), None);
        assert_eq!(part.recent_holds(1, 35, 1), None);
        assert_eq!(part.recent_holds(1, 41, 1), Some(false));
        assert_eq!(part.recent_holds(1, 20, 8), Some(true));
        // Only the last two indexed pages are kept; older ones turn cold.
        for t in [50, 60] {
            let mut r = page(&[(1, t, 1)]);
            assert!(r.contains(1, t, 1));
            part.flushed(&mut r);
        }
        assert_eq!(part.recent_holds(1, 20, 8), None);
        assert_eq!(part.recent_holds(1, 50, 1), Some(true));
        assert_eq!(part.recent_holds(1, 61, 1), Some(false));
        // Unknown files: only the recent pages can answer.
        let mut unknown = OpenPartition::new(None);
        let mut r = page(&[(1, 5, 1)]);
        assert!(r.contains(1, 5, 1));
        unknown.flushed(&mut r);
        assert_eq!(unknown.recent_holds(1, 5, 1), Some(true));
        assert_eq!(unknown.recent_holds(1, 6, 1), None);
    }
}
