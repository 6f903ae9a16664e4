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
//! [`Engine::close`](crate::Engine::close) lets it finish the queue and joins it, and
//! [`Engine::flush`](crate::Engine::flush) and
//! [`Engine::sync_rollups`](crate::Engine::sync_rollups) wait for the queue to be
//! empty. Passes keep every guarantee of the synchronous ones (outputs
//! durable before checkpoints; at most one pass at a time, serialised with
//! backfills by the rollup mutex).

use std::collections::BTreeSet;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Pause after a round of passes, as a multiple of the round's duration.
const PAUSE_FACTOR: u32 = 4;
/// Shortest pause between rounds: a pass takes the source's lock a few
/// times, and each time a writer holding it back to back pays for the
/// hand-over, so a bulk load gets a pass every 50 ms at most. Much longer
/// pauses leave more work for the pass run by `close` (see BENCHMARKS.md).
const MIN_PAUSE: Duration = Duration::from_millis(50);
/// Longest pause between rounds.
const MAX_PAUSE: Duration = Duration::from_secs(2);

use super::host::RollupHost;
use super::trigger::{self, RollupDue};
use super::{not_found_is_none, time};
use crate::sample::MetricId;

/// What the background worker has done since the engine opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct WorkerTotals {
    /// Cascades run (one per queued source).
    pub passes: u64,
    /// Jobs whose checkpoint advanced.
    pub jobs_advanced: u64,
    /// Of those, jobs whose periods came from the live accumulators.
    pub jobs_from_live: u64,
    /// Of those, jobs whose later periods came from the live accumulators
    /// (the first ones, begun before it existed, were read back).
    pub jobs_partly_from_live: u64,
    /// Samples written to destinations.
    pub samples_written: u64,
}

#[derive(Debug, Default)]
struct State {
    /// Sources to run.
    pending: BTreeSet<String>,
    /// The engine is closing: finish the queue and exit.
    stop: bool,
    /// Someone waits for the queue to drain: skip the pause between rounds.
    urgent: bool,
    /// Incremented by every `queue`; `done` is the value the worker had
    /// taken when its last round ended, so `sync` waits for what was queued
    /// before it, not for a queue that writers keep filling.
    queued: u64,
    done: u64,
    /// A pass of the current round queued a follow-up (from the worker
    /// thread): the round's generation is not done until that ran.
    followup: bool,
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
    /// Tests: behave as if the thread could not be created.
    #[cfg(test)]
    pub(crate) no_thread: std::sync::atomic::AtomicBool,
}

impl Worker {
    /// Adds a cascade's report to the totals.
    pub(crate) fn record(&self, r: &super::PassReport) {
        let mut t = self.totals.lock().unwrap_or_else(|p| p.into_inner());
        t.passes += 1;
        t.jobs_advanced += r.jobs_advanced as u64;
        t.jobs_from_live += r.jobs_from_live as u64;
        t.jobs_partly_from_live += r.jobs_partly_from_live as u64;
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
    pub(crate) fn queue<H: RollupHost>(&self, host: &H, db: &str) {
        // Before the state lock: `ensure_thread` takes the thread lock first.
        let from_worker = self.is_worker_thread();
        let mut st = self.lock();
        if st.stop {
            return;
        }
        if !st.pending.contains(db) {
            st.pending.insert(db.to_string());
        }
        if from_worker {
            st.followup = true;
        } else {
            st.queued += 1;
        }
        drop(st);
        if self.ensure_thread(host) {
            self.changed.notify_all();
        } else {
            // No thread: run the queue here rather than never.
            let pending = {
                let mut st = self.lock();
                st.done = st.queued;
                std::mem::take(&mut st.pending)
            };
            for db in pending {
                run_queued(host, &db);
            }
            self.changed.notify_all();
        }
    }

    /// Starts the thread if needed; false when it cannot run (the engine is
    /// closing, or the thread could not be created).
    fn ensure_thread<H: RollupHost>(&self, host: &H) -> bool {
        let mut t = self.thread.lock().unwrap_or_else(|p| p.into_inner());
        if t.is_some() {
            return true;
        }
        #[cfg(test)]
        if self.no_thread.load(std::sync::atomic::Ordering::Relaxed) {
            return false;
        }
        // Checked under the thread lock: `shutdown` sets `stop` before it
        // takes the handle, so no thread starts after it looked.
        if self.lock().stop {
            return false;
        }
        let handle = host.worker_handle();
        match std::thread::Builder::new()
            .name("nanotdb-rollup".into())
            .spawn(move || run(&handle))
        {
            Ok(h) => {
                *t = Some(h);
                true
            }
            Err(e) => {
                tracing::error!("cannot start the rollup worker: {e}; passes run in the writer");
                false
            }
        }
    }

    /// Waits until every queued pass has run.
    pub(crate) fn sync(&self) {
        if self.is_worker_thread() {
            return;
        }
        let mut st = self.lock();
        let target = st.queued;
        if st.done < target {
            st.urgent = true;
            self.changed.notify_all();
        }
        while st.done < target && !st.stop {
            st = self.changed.wait(st).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Drops the queue and joins the worker (a simulated crash).
    pub(crate) fn abandon(&self) {
        self.lock().pending.clear();
        self.shutdown();
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
fn run<H: RollupHost>(host: &H) {
    let w = &host.rollups().worker;
    loop {
        let batch = {
            let mut st = w.lock();
            while st.pending.is_empty() && !st.stop {
                st = w.changed.wait(st).unwrap_or_else(|p| p.into_inner());
            }
            if st.pending.is_empty() {
                return; // stop requested and nothing left
            }
            st.followup = false;
            (std::mem::take(&mut st.pending), st.queued)
        };
        let (batch, taken) = batch;
        let t0 = Instant::now();
        for db in batch {
            // A panic in a pass must not take the worker (and every later
            // pass, and anyone waiting in `sync`) down with it.
            let run = std::panic::AssertUnwindSafe(|| run_queued(host, &db));
            if std::panic::catch_unwind(run).is_err() {
                tracing::error!(
                    db,
                    "automatic rollup pass panicked; the next write retries it"
                );
                reset_due(host, &db);
            }
        }
        // Pause for PAUSE_FACTOR times the round's duration (at least
        // MIN_PAUSE) before the next one, so that a bulk load (whose periods
        // complete every few milliseconds) gets few large passes sharing the
        // machine with the writers instead of a pass after every batch.
        // Nothing waits longer for its rollups than that, and
        // flush/close/sync_rollups cut the pause short.
        let pause = t0.elapsed().saturating_mul(PAUSE_FACTOR);
        let until = Instant::now() + pause.clamp(MIN_PAUSE, MAX_PAUSE);
        let mut st = w.lock();
        if !st.followup {
            st.done = st.done.max(taken);
        }
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

// ------------------------------------------------------------ host side

/// Worker side of the trigger: runs `db` and its cascade, then publishes
/// to every source it knows when its next pass can compute something.
pub(crate) fn run_queued<H: RollupHost>(host: &H, db: &str) {
    let mut cache = host
        .rollups()
        .cache
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    let advanced =
        match super::rollup_cascade(host, &mut cache, &[db.to_string()], time::now_ns(), true) {
            Ok(r) => {
                host.rollups().worker.record(&r);
                r.jobs_advanced > 0
            }
            Err(e) => {
                tracing::warn!(db, "automatic rollup failed: {e}");
                // The next write queues the source again.
                reset_due(host, db);
                false
            }
        };
    let now = time::now_ns();
    let mut requeue: Vec<String> = Vec::new();
    for (name, due) in &cache.sources {
        // Built outside the lock, from the metric ids the pass resolved.
        let mut by_id = vec![(i64::MAX, i64::MAX); due.last_by_id.len().max(1)];
        for (job, id) in due.jobs.iter().zip(due.job_ids.iter()) {
            let Some(id) = *id else {
                continue;
            };
            if job.interval_ns <= 0 || job.aggregates.is_empty() {
                continue;
            }
            let i = usize::from(id);
            if by_id.len() <= i {
                by_id.resize(i + 1, (i64::MAX, i64::MAX));
            }
            match due.due.get(&job.source_metric) {
                // No next period (the metric had no data): computable
                // with the metric's first sample.
                None => by_id[i] = (i64::MIN, i64::MIN),
                // One pair per metric: the smallest of each is never
                // later than any entry's, so no due period is missed.
                Some(entries) => {
                    for &(ts, wall) in entries {
                        by_id[i].0 = by_id[i].0.min(ts);
                        by_id[i].1 = by_id[i].1.min(wall);
                    }
                }
            }
        }
        let published = host.with_state(name, |st| {
            // Samples stored while the pass ran were checked against the
            // emptied entries: look at each metric's newest sample instead,
            // when the pass made progress or that sample arrived during it
            // (so a pass that cannot advance never loops).
            // (`last_by_id`: each metric's newest sample when the pass began.)
            let again = by_id.iter().enumerate().any(|(i, &(t, wall))| {
                let last = MetricId::try_from(i).ok().and_then(|id| st.last_ts(id));
                let moved = name == db && due.last_by_id.get(i).copied().flatten() != last;
                (advanced || moved) && now >= wall && last.is_some_and(|l| l >= t)
            });
            trigger::hook(st).due = Some(RollupDue {
                by_id,
                metric_count: due.metric_count,
            });
            again
        });
        let Ok(Some(again)) = not_found_is_none(published) else {
            continue;
        };
        if again {
            requeue.push(name.clone());
        }
    }
    // After the cache lock: without a thread, `queue` runs the pass
    // right here, which takes that lock.
    drop(cache);
    for name in requeue {
        host.rollups().worker.queue(host, &name);
    }
}

/// Forgets what the last pass published for `db`, so that its next
/// write queues a pass (after a failed or panicked one).
pub(crate) fn reset_due<H: RollupHost>(host: &H, db: &str) {
    let _ = host.with_state(db, |st| {
        if let Some(h) = trigger::installed(st) {
            h.due = None;
        }
    });
}
