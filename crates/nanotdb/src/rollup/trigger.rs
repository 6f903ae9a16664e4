//! What rollups keep in a source database's state: the automatic trigger's
//! published period ends and flag, and the live accumulators. It is the
//! database's [`StoredSampleHook`], so the write path feeds it every stored
//! sample without knowing what it is (see [`worker`](super::worker) and
//! [`live`](super::live) for the rules it follows).

use std::any::Any;

use crate::config::Manifest;
use crate::database::{DbState, StoredSampleHook};
use crate::sample::MetricId;

use super::live::LiveRollups;

/// When the next rollup pass over a source can compute something.
#[derive(Debug, Clone, Default)]
pub(crate) struct RollupDue {
    /// Per metric id: (sample timestamp, wall clock) both of which must be
    /// reached; `(i64::MAX, _)` for metrics no job rolls up.
    pub by_id: Vec<(i64, i64)>,
    /// Catalog size the jobs were expanded against.
    pub metric_count: usize,
}

/// The rollup state of one source database, installed as its hook.
#[derive(Debug, Default)]
pub(crate) struct SourceHook {
    /// Published by the rollup worker after each pass over this database:
    /// when a stored sample makes a rollup period computable.
    pub(crate) due: Option<RollupDue>,
    /// A sample stored since the last look reached its `due` entry.
    pub(crate) hit: bool,
    /// Live rollup accumulators of this source, fed every sample as it is
    /// stored (see [`live`](super::live)); `None` until an automatic pass
    /// installs them.
    pub(crate) live: Option<LiveRollups>,
}

impl StoredSampleHook for SourceHook {
    fn stored(&mut self, id: MetricId, ts: i64, bits: u64, now: i64) {
        // The trigger check first, so that feeding the accumulators is the
        // tail of the call (cheaper: this runs for every stored sample).
        if let Some(due) = &self.due
            && let Some(&(t, wall)) = due.by_id.get(usize::from(id))
            && ts >= t
            && now >= wall
        {
            self.hit = true;
        }
        if let Some(live) = self.live.as_mut() {
            live.feed(id, ts, bits);
        }
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

/// The rollup state of the database whose state is `st`, if installed.
pub(crate) fn installed(st: &mut DbState) -> Option<&mut SourceHook> {
    st.hook
        .as_mut()
        .and_then(|h| h.as_any_mut().downcast_mut::<SourceHook>())
}

/// The rollup state of the database whose state is `st`, installing an
/// empty one (which changes nothing the write path does) if needed.
#[allow(
    clippy::expect_used,
    reason = "installed on the line above; nothing a user or a file controls can make it fail"
)]
pub(crate) fn hook(st: &mut DbState) -> &mut SourceHook {
    if installed(st).is_none() {
        st.hook = Some(Box::new(SourceHook::default()));
    }
    installed(st).expect("installed just above")
}

/// The cheap check at the end of a user batch to a database with manifest
/// `manifest`, under the lock the writer already holds: whether to queue the
/// source for the background worker, because a stored sample made one of
/// its periods computable, its catalog grew, or no pass has run yet (see
/// [`worker`](super::worker)).
pub(crate) fn should_queue(manifest: &Manifest, st: &mut DbState) -> bool {
    let r = &manifest.rollups;
    if !r.enabled || r.jobs.is_empty() {
        return false;
    }
    let count = st.catalog.len();
    let h = hook(st);
    let hit = std::mem::take(&mut h.hit);
    let run = hit || h.due.as_ref().is_none_or(|due| due.metric_count != count);
    if run {
        // Until the pass publishes anew, further samples need not
        // queue it again: it re-checks every metric's last sample.
        h.due = Some(RollupDue {
            by_id: Vec::new(),
            metric_count: count,
        });
    }
    run
}
