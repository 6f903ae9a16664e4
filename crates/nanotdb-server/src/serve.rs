//! Accept loop: HTTP/1.1 with keep-alive and a header read timeout, graceful
//! shutdown (stop accepting, let in-flight requests finish within the grace
//! period), and the idle-page flush timer.

use std::future::Future;
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;

use crate::{SharedState, app};

/// Serves until `shutdown` resolves, then drains connections (at most
/// `shutdown_grace`) and flushes the engine. Does not close the engine: the
/// caller owns it.
pub async fn run(
    listener: TcpListener,
    state: SharedState,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    // Before the first write: registering the targets' retention holds.
    let senders = crate::forward::start(&state).map_err(std::io::Error::other)?;
    let app = app::router(state.clone());
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let header_timeout = state.settings.header_timeout;
    let flusher = {
        let st = state.clone();
        let every = st.settings.flush_interval;
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let eng = st.engine.clone();
                let r = tokio::task::spawn_blocking(move || eng.flush_idle()).await;
                if let Ok(Err(e)) = r {
                    tracing::warn!("idle flush failed: {e}");
                }
            }
        })
    };
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, _peer) = match accepted {
                    Ok(x) => x,
                    Err(e) => {
                        // Out of file descriptors and the like: back off instead of spinning.
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let svc = TowerToHyperService::new(app.clone());
                let conn = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(header_timeout)
                    .keep_alive(true)
                    .serve_connection(TokioIo::new(stream), svc);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!("connection ended: {e}");
                    }
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    tracing::info!("shutdown: no longer accepting, draining in-flight requests");
    if tokio::time::timeout(state.settings.shutdown_grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("shutdown grace period over; closing with requests still running");
    }
    flusher.abort();
    // Before the engine closes: a sender may be inside a read or a save.
    let _ = tokio::task::spawn_blocking(move || senders.stop(Duration::from_secs(1))).await;
    Ok(())
}

/// Registers the SIGINT and SIGTERM handlers now (call it inside the
/// runtime, before the listener is bound, so a signal sent as soon as the
/// port answers is never lost to the default action) and returns a future
/// that resolves on the first of them; a second one exits the process at
/// once (status 130).
pub fn signals() -> impl std::future::Future<Output = ()> + Send + 'static {
    use tokio::signal::unix::{SignalKind, signal};
    let term = signal(SignalKind::terminate());
    let int = signal(SignalKind::interrupt());
    async move {
        let (mut term, mut int) = match (term, int) {
            (Ok(t), Ok(i)) => (t, i),
            // Cannot register (no such signal support): wait for Ctrl-C.
            _ => {
                let _ = tokio::signal::ctrl_c().await;
                tracing::info!("shutdown signal received");
                return;
            }
        };
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
        tracing::info!("shutdown signal received");
        tokio::spawn(async move {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            eprintln!("second signal: exiting immediately");
            std::process::exit(130);
        });
    }
}
