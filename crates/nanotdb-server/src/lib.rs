//! The NanoTDB HTTP server as a library: the binary (`main.rs`) parses the
//! command line and calls [`serve::run`]; integration tests start the same
//! server in-process on a loopback port.

#![warn(missing_docs)]
#![deny(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod app;
pub mod envelope;
pub mod forward;
mod heap;
pub mod limits;
pub mod logging;
pub mod params;
pub mod prom;
pub mod routes;
pub mod selfmetrics;
pub mod serve;
pub mod settings;
pub mod spare;
pub mod web;

use std::sync::Arc;
use std::time::Instant;

use nanotdb::Engine;

use crate::envelope::ApiError;
use crate::selfmetrics::SelfMetrics;
use crate::settings::ServerSettings;

/// Everything a handler needs.
pub struct AppState {
    /// The open engine.
    pub engine: Arc<Engine>,
    /// Server settings.
    pub settings: ServerSettings,
    /// Self-monitoring counters.
    pub metrics: SelfMetrics,
    /// Process start, ns since the epoch.
    pub started_ns: i64,
    /// Process start (monotonic).
    pub started: Instant,
    /// Serialises `PUT /api/dashboard-config` (backup, then replace).
    pub dashboard_lock: std::sync::Mutex<()>,
    /// The remote-write targets (started by [`serve::run`]).
    pub forward: forward::Forwarder,
}

/// Shared handler state.
pub type SharedState = Arc<AppState>;

impl AppState {
    /// Wraps an open engine.
    pub fn new(engine: Arc<Engine>, settings: ServerSettings) -> SharedState {
        Arc::new(AppState {
            engine,
            settings,
            metrics: SelfMetrics::default(),
            started_ns: nanotdb::time::now_ns(),
            started: Instant::now(),
            dashboard_lock: std::sync::Mutex::new(()),
            forward: forward::Forwarder::default(),
        })
    }
}

/// Runs synchronous engine work on the blocking pool.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::execution(format!("internal error: {e}")))
}
