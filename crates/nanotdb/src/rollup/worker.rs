//! The background rollup worker: automatic rollup passes run on their own
//! thread, so a writer never waits for one.
//!
//! After each pass the worker publishes, in the source database's state, the
//! next period end of every rolled-up metric (by metric id) and the wall
//! clock (that end plus grace) the pass also waits for. The write path
//! compares each stored sample with its metric's entry, an array lookup under
//! the database lock it already holds, and raises a flag; after the batch the
//! writer queues the source only when the flag is up, the catalog grew (a new
//! metric may match a pattern job), or nothing was published yet. Queued
//! sources are coalesced: a burst of batches costs one pass. The worker is started on first use;
//! [`Engine::close`] lets it finish the queue and joins it, and
//! [`Engine::flush`] and [`Engine::sync_rollups`] wait for the queue to be
//! empty. Passes keep every guarantee of the synchronous ones (outputs
//! durable before checkpoints; at most one pass at a time, serialised with
//! backfills by the rollup mutex).

use std::collections::BTreeSet;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Pause after a round of passes, as a multiple of the round's duration.
const PAUSE_FACTOR: u32 = 4;
/// Longest pause between rounds.
const MAX_PAUSE: Duration = Duration::from_secs(2);

use crate::engine::Engine;

/// What the background worker has done since the engine opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct WorkerTotals {
    /// Cascades run (one per queued source).
    pub passes: u64,
    /// Jobs whose checkpoint advanced.
    pub jobs_advanced: u64,
    /// Of those, jobs whose periods came from the live accumulators.
    pub jobs_from_live: u64,
    /// Samples written to destinations.
    pub samples_written: u64,
}

#[derive(Debug, Default)]
struct State {
    /// Sources to run.
    pending: BTreeSet<String>,
    /// A pass is running.
    busy: bool,
    /// The engine is closing: finish the queue and exit.
    stop: bool,
    /// Someone waits for the queue to drain: skip the pause between rounds.
    urgent: bool,
}

/// The worker's shared state and thread.
#[derive(Debug, Default)]
pub(crate) struct Worker {
    state: Mutex<State>,
    /// Totals over the automatic passes run so far.
    totals: Mutex<WorkerTotals>,
    /// Signalled when work is queued, a round ends, or on stop.
    changed: Condvar,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Worker {
    /// Adds a cascade's report to the totals.
    pub(crate) fn record(&self, r: &super::PassReport) {
        let mut t = self.totals.lock().unwrap_or_else(|p| p.into_inner());
        t.passes += 1;
        t.jobs_advanced += r.jobs_advanced as u64;
        t.jobs_from_live += r.jobs_from_live as u64;
        t.samples_written += r.samples_written;
    }

    /// The totals so far.
    pub(crate) fn totals(&self) -> WorkerTotals {
        *self.totals.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues a pass over `db` and wakes the worker.
    pub(crate) fn queue(&self, engine: &Engine, db: &str) {
        let mut st = self.lock();
        if st.stop {
            return;
        }
        if !st.pending.contains(db) {
            st.pending.insert(db.to_string());
        }
        drop(st);
        self.ensure_thread(engine);
        self.changed.notify_all();
    }

    fn ensure_thread(&self, engine: &Engine) {
        let mut t = self.thread.lock().unwrap_or_else(|p| p.into_inner());
        if t.is_some() {
            return;
        }
        let handle = engine.worker_handle();
        match std::thread::Builder::new()
            .name("nanotdb-rollup".into())
            .spawn(move || run(&handle))
        {
            Ok(h) => *t = Some(h),
            Err(e) => {
                // Without a thread the queue would never drain: drop it.
                tracing::error!("cannot start the rollup worker: {e}; automatic rollups paused");
                self.lock().pending.clear();
            }
        }
    }

    /// Waits until every queued pass has run.
    pub(crate) fn sync(&self) {
        if self.is_worker_thread() {
            return;
        }
        let mut st = self.lock();
        if !st.pending.is_empty() || st.busy {
            st.urgent = true;
            self.changed.notify_all();
        }
        while (!st.pending.is_empty() || st.busy) && !st.stop {
            st = self.changed.wait(st).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Lets the worker finish the queue, then joins it.
    pub(crate) fn shutdown(&self) {
        self.lock().stop = true;
        self.changed.notify_all();
        if self.is_worker_thread() {
            return;
        }
        let handle = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(h) = handle
            && h.join().is_err()
        {
            tracing::error!("the rollup worker panicked");
        }
    }

    fn is_worker_thread(&self) -> bool {
        self.thread
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .is_some_and(|h| h.thread().id() == std::thread::current().id())
    }
}

/// The worker thread: runs queued sources until stopped with an empty queue.
fn run(engine: &Engine) {
    let w = &engine.s.rollup_worker;
    loop {
        let batch = {
            let mut st = w.lock();
            while st.pending.is_empty() && !st.stop {
                st = w.changed.wait(st).unwrap_or_else(|p| p.into_inner());
            }
            if st.pending.is_empty() {
                return; // stop requested and nothing left
            }
            st.busy = true;
            std::mem::take(&mut st.pending)
        };
        let t0 = Instant::now();
        for db in batch {
            // A panic in a pass must not take the worker (and every later
            // pass, and anyone waiting in `sync`) down with it.
            let run = std::panic::AssertUnwindSafe(|| engine.run_queued_rollups(&db));
            if std::panic::catch_unwind(run).is_err() {
                tracing::error!(
                    db,
                    "automatic rollup pass panicked; the source runs again on its next trigger"
                );
            }
        }
        // Pause for PAUSE_FACTOR times the round's duration before the next
        // one, so that a bulk load (whose periods complete every few
        // milliseconds) gets few large passes sharing the machine with the
        // writers instead of a pass after every batch. Nothing waits longer
        // for its rollups than that, and flush/close cut the pause short.
        let pause = t0.elapsed().saturating_mul(PAUSE_FACTOR);
        let until = Instant::now() + pause.min(MAX_PAUSE);
        let mut st = w.lock();
        st.busy = false;
        if st.pending.is_empty() {
            st.urgent = false;
        }
        w.changed.notify_all();
        while !st.stop && !st.urgent {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            st = w
                .changed
                .wait_timeout(st, left)
                .map(|(g, _)| g)
                .unwrap_or_else(|p| p.into_inner().0);
        }
    }
}
