//! Forwarding every stored sample to remote-write receivers
//! (`[[remote_write]]`, docs/BEHAVIOUR.md "Forwarding by remote write").
//!
//! The engine is the buffer: each target reads the frames appended since
//! its cursor (`nanotdb::forward`), sends them in batches, and persists the
//! cursor (fsync) after each acknowledged batch. So an outage of the
//! network or the receiver loses nothing, and after a crash at most the
//! last unacknowledged batch is sent again.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use nanotdb::forward::{Cursor, ForwardHold};
use serde::Serialize;

use crate::SharedState;

pub mod client;
pub mod config;
mod encode;
mod sender;
pub mod status;
pub mod tls;

pub use config::TargetConfig;

/// Counters of one target (`/metrics`, the status route).
#[derive(Debug, Default)]
pub struct TargetStats {
    /// Samples acknowledged by the receiver.
    pub sent: AtomicU64,
    /// Samples of attempts that failed and were retried (5xx, 429, network).
    pub failed: AtomicU64,
    /// Samples of batches the receiver refused with a 4xx (skipped).
    pub dropped: AtomicU64,
    /// Requests sent (retries included).
    pub requests: AtomicU64,
    /// Bytes of frames not read yet (the backlog).
    pub pending_bytes: AtomicU64,
    /// Wall clock (ns) of the last acknowledged batch; 0 = none yet.
    pub last_success_ns: AtomicI64,
    /// The last failure, empty when the last request succeeded.
    pub last_error: Mutex<String>,
}

/// One configured target.
pub struct Target {
    /// Its configuration.
    pub cfg: TargetConfig,
    /// What it has delivered, as retention sees it.
    pub hold: Arc<ForwardHold>,
    /// Its counters.
    pub stats: TargetStats,
    /// Where its cursor lives.
    pub cursor_path: std::path::PathBuf,
}

impl Target {
    fn set_error(&self, e: String) {
        *self
            .stats
            .last_error
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = e;
    }

    /// The last failure ("" when none since the last success).
    pub fn last_error(&self) -> String {
        self.stats
            .last_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// Every target of the server.
#[derive(Default)]
pub struct Forwarder {
    targets: OnceLock<Vec<Arc<Target>>>,
}

impl Forwarder {
    /// The targets (none before [`start`]).
    pub fn targets(&self) -> &[Arc<Target>] {
        self.targets.get().map_or(&[], Vec::as_slice)
    }
}

/// A target as the status route shows it.
#[derive(Debug, Serialize)]
pub struct TargetStatus {
    /// Target name.
    pub name: String,
    /// Receiver URL.
    pub url: String,
    /// Samples acknowledged.
    pub samples_sent: u64,
    /// Samples of failed attempts (retried).
    pub samples_failed: u64,
    /// Samples refused with a 4xx (skipped).
    pub samples_dropped: u64,
    /// Bytes of frames not read yet.
    pub pending_bytes: u64,
    /// Samples of the target's databases stored but still in an open page
    /// (not flushed into a frame): sent once their page flushes.
    pub pending_unflushed_samples: u64,
    /// Seconds since the target last had nothing to send.
    pub lag_seconds: f64,
    /// Unix seconds of the last acknowledged batch (null: none yet).
    pub last_success: Option<f64>,
    /// The last failure (null when none since the last success).
    pub last_error: Option<String>,
    /// Partitions retention removed before this target delivered them.
    pub partitions_released_by_max_lag: u64,
}

impl Target {
    /// Its current status (`engine` tells what is not flushed yet).
    pub fn status(&self, engine: &nanotdb::Engine) -> TargetStatus {
        let s = &self.stats;
        let last = s.last_success_ns.load(Ordering::Relaxed);
        let err = self.last_error();
        TargetStatus {
            name: self.cfg.name.clone(),
            url: self.cfg.url.clone(),
            samples_sent: s.sent.load(Ordering::Relaxed),
            samples_failed: s.failed.load(Ordering::Relaxed),
            samples_dropped: s.dropped.load(Ordering::Relaxed),
            pending_bytes: s.pending_bytes.load(Ordering::Relaxed),
            pending_unflushed_samples: engine.forward_unflushed(&self.cfg.databases),
            lag_seconds: self.hold.lag_ns(nanotdb::time::now_ns()) as f64 / 1e9,
            last_success: (last > 0).then(|| last as f64 / 1e9),
            last_error: (!err.is_empty()).then_some(err),
            partitions_released_by_max_lag: self.hold.released(),
        }
    }
}

/// The running senders: each a task on a runtime of its own thread.
pub struct Senders {
    running: Vec<(tokio::task::AbortHandle, std::thread::JoinHandle<()>)>,
}

impl Senders {
    /// Stops every sender and waits up to `grace` for their threads (a
    /// sender inside an engine read or a cursor save finishes it first).
    /// Cursors are durable after each batch: stopping mid-batch only means
    /// that batch is sent again at the next start.
    pub fn stop(self, grace: std::time::Duration) {
        for (task, _) in &self.running {
            task.abort();
        }
        let deadline = std::time::Instant::now() + grace;
        for (_, thread) in self.running {
            while !thread.is_finished() && std::time::Instant::now() < deadline {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            if thread.is_finished() {
                let _ = thread.join();
            }
        }
    }
}

/// Starts a target's sender on a thread of its own, with a current-thread
/// runtime. Why not a task of the server's runtime: a batch then costs a
/// few thread wake-ups instead of a dozen — its engine reads and cursor
/// saves run inline instead of on the blocking pool, and its HTTP
/// connection's task is woken on the same thread.
fn spawn_sender(
    st: &SharedState,
    t: &Arc<Target>,
) -> Result<(tokio::task::AbortHandle, std::thread::JoinHandle<()>), String> {
    // The runtime is made, and dropped, on the sender's thread: a runtime
    // must not be dropped inside the server's (async) one.
    let (tx, rx) = std::sync::mpsc::channel();
    let (st, task_t) = (st.clone(), t.clone());
    let thread = std::thread::Builder::new()
        .name("remote-write".into())
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = tx.send(Err(format!("runtime: {e}")));
                    return;
                }
            };
            let task = rt.spawn(sender::run(st, task_t));
            let _ = tx.send(Ok(task.abort_handle()));
            let _ = rt.block_on(task);
        })
        .map_err(|e| format!("remote_write {}: thread: {e}", t.cfg.name))?;
    match rx.recv() {
        Ok(Ok(abort)) => Ok((abort, thread)),
        Ok(Err(e)) => Err(format!("remote_write {}: {e}", t.cfg.name)),
        Err(e) => Err(format!("remote_write {}: {e}", t.cfg.name)),
    }
}

/// Loads every target's cursor, registers its retention hold with the
/// engine and starts its sender. Call once, before serving writes.
pub fn start(st: &SharedState) -> Result<Senders, String> {
    let mut targets = Vec::new();
    for cfg in &st.settings.remote_write {
        let cursor_path = st.engine.forward_cursor_path(&cfg.name);
        let cursor = Cursor::load(&cursor_path, &cfg.url)
            .map_err(|e| format!("remote_write {}: {e}", cfg.name))?;
        let max_lag = cfg
            .max_lag
            .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
        let hold = Arc::new(ForwardHold::new(
            &cfg.name,
            cfg.databases.clone(),
            max_lag,
            cursor,
        ));
        st.engine.add_forward_hold(hold.clone());
        targets.push(Arc::new(Target {
            cfg: cfg.clone(),
            hold,
            stats: TargetStats::default(),
            cursor_path,
        }));
    }
    if st.forward.targets.set(targets).is_err() {
        return Err("remote_write senders already started".into());
    }
    let mut running = Vec::new();
    for t in st.forward.targets() {
        tracing::info!(target = %t.cfg.name, url = %t.cfg.url, "remote write: forwarding");
        running.push(spawn_sender(st, t)?);
    }
    Ok(Senders { running })
}
