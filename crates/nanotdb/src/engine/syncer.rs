//! The `interval` fsync policy's background thread: every
//! `[wal].fsync_interval` it fsyncs each loaded database's WAL that holds
//! records not fsynced yet (and the commit log). Writes are acknowledged as
//! soon as their records are written, so a power loss costs at most about
//! one interval of them; a process crash costs nothing (the records are in
//! the page cache).

use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::Duration;

use super::EngineShared;

/// Stops the thread when the engine closes (or its last handle drops).
#[derive(Default)]
pub(crate) struct SyncerStop {
    stopped: Mutex<bool>,
    wake: Condvar,
}

impl SyncerStop {
    /// Asks the thread to end; it ends at once.
    pub(crate) fn stop(&self) {
        *self.stopped.lock().unwrap_or_else(|p| p.into_inner()) = true;
        self.wake.notify_all();
    }

    /// Waits `d` or until stopped; false when stopped.
    fn wait(&self, d: Duration) -> bool {
        let guard = self.stopped.lock().unwrap_or_else(|p| p.into_inner());
        let (guard, _) = self
            .wake
            .wait_timeout_while(guard, d, |stopped| !*stopped)
            .unwrap_or_else(|p| p.into_inner());
        !*guard
    }
}

/// Starts the thread for an engine whose policy is `interval`.
pub(crate) fn start(shared: &Arc<EngineShared>, interval_ns: i64) {
    let weak: Weak<EngineShared> = Arc::downgrade(shared);
    let stop = shared.syncer.clone();
    let period = Duration::from_nanos(u64::try_from(interval_ns).unwrap_or(1).max(1));
    let spawned = std::thread::Builder::new()
        .name("nanotdb-wal-sync".into())
        .spawn(move || {
            while stop.wait(period) {
                let Some(s) = weak.upgrade() else { break };
                sync_all(&s);
            }
        });
    if let Err(e) = spawned {
        tracing::error!("cannot start the WAL fsync thread (fsync_policy = \"interval\"): {e}");
    }
}

/// One round: every loaded database's WAL.
fn sync_all(s: &EngineShared) {
    let dbs: Vec<_> = s
        .dbs
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .values()
        .cloned()
        .collect();
    for db in dbs {
        if let Err(e) = db.sync_wal_in_background() {
            tracing::error!(db = %db.name, "background WAL fsync failed: {e}");
        }
    }
}
