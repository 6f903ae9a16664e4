//! The handle between databases and the engine's background thread
//! (`engine/background.rs`, which runs it): a database that leaves a page
//! flush's fsync and WAL checkpoint to the thread asks for it here. The
//! handle lives on this side so that `database` never names `engine`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Instant;

/// A WAL at least this large is checkpointed without waiting for
/// `[wal].checkpoint_interval`. That interval exists because a checkpoint
/// rewrites the WAL (a file write, an fsync, a rename and a directory
/// fsync) under the database lock: one per page flush made every
/// ~9,000-sample page cost writers several disk waits. Until the
/// checkpoint, replay after a crash reads those frames to drop their
/// samples from the WAL, so the size bound also bounds that work.
pub(crate) const CHECKPOINT_BYTES: u64 = 8 << 20;

#[derive(Debug, Default)]
struct Signal {
    stopped: bool,
    /// A database has flush work (set by [`Background::request_flush`]).
    flush_wanted: bool,
}

/// The handle databases and the engine share with the background thread.
#[derive(Debug, Default)]
pub(crate) struct Background {
    signal: Mutex<Signal>,
    wake: Condvar,
    /// The thread runs: databases may leave flush work to it. Without it
    /// (a read-only engine, or a failed spawn) they do that work inline.
    running: AtomicBool,
    /// The thread, joined by [`Background::stop`].
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Background {
    /// Marks whether the thread runs and takes flush work.
    pub(crate) fn set_running(&self, on: bool) {
        self.running.store(on, Ordering::Release);
    }

    /// Keeps the thread's handle for [`Background::stop`].
    pub(crate) fn set_thread(&self, h: std::thread::JoinHandle<()>) {
        *self.thread.lock().unwrap_or_else(|p| p.into_inner()) = Some(h);
    }

    /// Whether the thread runs and takes flush work.
    pub(crate) fn takes_flush_work(&self) -> bool {
        self.running.load(Ordering::Acquire)
    }

    /// Tells the thread that a database has flush work.
    pub(crate) fn request_flush(&self) {
        let mut s = self.signal.lock().unwrap_or_else(|p| p.into_inner());
        if !s.flush_wanted {
            s.flush_wanted = true;
            self.wake.notify_one();
        }
    }

    /// Asks the thread to end; it ends at once. From then on databases do
    /// their flush work inline again (the engine's close flushes them).
    pub(crate) fn stop(&self) {
        self.running.store(false, Ordering::Release);
        self.signal
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .stopped = true;
        self.wake.notify_all();
        // Waits for the database work under way, so that none runs after
        // the engine closed or was abandoned (a test reopening the root
        // would race with it). Never from the thread itself: it would wait
        // for itself (the engine can be dropped there, holding the last
        // handle).
        let handle = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(h) = handle
            && h.thread().id() != std::thread::current().id()
        {
            let _ = h.join();
        }
    }

    /// Waits until `deadline`, a flush request or a stop; returns None when
    /// stopped, else whether flush work was requested.
    pub(crate) fn wait(&self, deadline: Instant) -> Option<bool> {
        let mut s = self.signal.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if s.stopped {
                return None;
            }
            if s.flush_wanted {
                s.flush_wanted = false;
                return Some(true);
            }
            let now = Instant::now();
            if now >= deadline {
                return Some(false);
            }
            s = self
                .wake
                .wait_timeout(s, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }
}
