//! The engine's background thread. It takes two kinds of disk waits off
//! the write path:
//!
//! * the `interval` fsync policy: every `[wal].fsync_interval` it fsyncs
//!   each loaded database's WAL that holds records not fsynced yet. Writes
//!   are acknowledged as soon as their records are written, so a power loss
//!   costs at most about one interval of them; a process crash costs
//!   nothing (the records are in the page cache);
//! * page flushes: a write that fills a page appends the page's frame to
//!   its data file and goes on; this thread fsyncs that file (without the
//!   database lock) and then checkpoints the WAL
//!   ([`crate::database::Database::background_flush`]). Until then the WAL
//!   still holds the frame's samples, so a crash in between loses nothing
//!   and replays nothing twice (replay drops WAL samples that the tail
//!   frames of their partition already hold).

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use super::EngineShared;
use crate::database::background::Background;

/// After a failed background fsync or checkpoint, the next try.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// Starts the thread of a writable engine; `interval_ns` is the WAL fsync
/// period under the `interval` policy (None under the others), `flush_work`
/// whether it takes page flushes' work (`durability.background_sync`).
pub(crate) fn start(shared: &Arc<EngineShared>, interval_ns: Option<i64>, flush_work: bool) {
    let weak: Weak<EngineShared> = Arc::downgrade(shared);
    let bg = shared.background.clone();
    let period = interval_ns.map(|ns| Duration::from_nanos(u64::try_from(ns).unwrap_or(1).max(1)));
    bg.set_running(flush_work);
    let thread_bg = bg.clone();
    let spawned = std::thread::Builder::new()
        .name("nanotdb-background".into())
        .spawn(move || run(&thread_bg, &weak, period));
    match spawned {
        Ok(h) => bg.set_thread(h),
        Err(e) => {
            bg.set_running(false);
            tracing::error!("cannot start the background thread (page flushes fsync inline): {e}");
        }
    }
}

fn run(bg: &Background, weak: &Weak<EngineShared>, period: Option<Duration>) {
    const IDLE: Duration = Duration::from_secs(3600);
    let mut next_sync = period.map(|p| Instant::now() + p);
    // When flush work is owed but not due yet (a checkpoint waits for
    // `[wal].checkpoint_interval`), the thread comes back for it then.
    let mut next_flush: Option<Instant> = None;
    loop {
        let deadline = [next_sync, next_flush]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or_else(|| Instant::now() + IDLE);
        let Some(requested) = bg.wait(deadline) else {
            break;
        };
        let Some(s) = weak.upgrade() else { break };
        let now = Instant::now();
        if let (Some(p), Some(t)) = (period, next_sync)
            && now >= t
        {
            sync_wals(&s);
            next_sync = Some(Instant::now() + p);
        }
        if requested || next_flush.is_some_and(|t| now >= t) {
            next_flush = flush_all(&s);
        }
    }
}

/// One `interval` round: every loaded database's WAL.
fn sync_wals(s: &EngineShared) {
    for db in loaded(s) {
        if let Err(e) = db.sync_wal_in_background() {
            tracing::error!(db = %db.name, "background WAL fsync failed: {e}");
        }
    }
}

/// Every loaded database's flush work; returns when to come back for
/// checkpoints that are owed but not due yet (or that failed: the WAL
/// keeps their samples, and the next try may succeed).
fn flush_all(s: &EngineShared) -> Option<Instant> {
    let mut again = None;
    for db in loaded(s) {
        match db.background_flush() {
            Ok(None) => {}
            Ok(Some(due)) => again = Some(again.map_or(due, |a: Instant| a.min(due))),
            Err(e) => {
                tracing::error!(db = %db.name, "background flush failed (the WAL keeps the samples; retried): {e}");
                let retry = Instant::now() + RETRY_AFTER;
                again = Some(again.map_or(retry, |a: Instant| a.min(retry)));
            }
        }
    }
    again
}

fn loaded(s: &EngineShared) -> Vec<Arc<crate::database::Database>> {
    s.dbs
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .values()
        .cloned()
        .collect()
}
