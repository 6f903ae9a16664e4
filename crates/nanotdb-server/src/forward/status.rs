//! `GET /api/v1/remote_write/status` and the `/metrics` lines of every
//! target.

use std::fmt::Write as _;

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use super::TargetStatus;
use crate::SharedState;

/// The status route's body.
#[derive(Debug, Serialize)]
pub struct StatusBody {
    /// Always "success" (the route has no failure of its own).
    pub status: &'static str,
    /// One entry per `[[remote_write]]` table, in file order.
    pub targets: Vec<TargetStatus>,
}

/// `GET /api/v1/remote_write/status`.
pub async fn handler(State(st): State<SharedState>) -> Json<StatusBody> {
    Json(StatusBody {
        status: "success",
        targets: st
            .forward
            .targets()
            .iter()
            .map(|t| t.status(&st.engine))
            .collect(),
    })
}

/// Escapes a label value of the text exposition format.
fn esc(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Appends the per-target series to a `/metrics` exposition (nothing when
/// no target is configured).
pub fn render(st: &SharedState, out: &mut String) {
    let targets: Vec<TargetStatus> = st
        .forward
        .targets()
        .iter()
        .map(|t| t.status(&st.engine))
        .collect();
    if targets.is_empty() {
        return;
    }
    type Get = fn(&TargetStatus) -> f64;
    let families: [(&str, &str, &str, Get); 8] = [
        (
            "nanotdb_remote_write_samples_sent_total",
            "counter",
            "Samples acknowledged by the receiver.",
            |s| s.samples_sent as f64,
        ),
        (
            "nanotdb_remote_write_samples_failed_total",
            "counter",
            "Samples of attempts that failed and were retried (5xx, 429, network).",
            |s| s.samples_failed as f64,
        ),
        (
            "nanotdb_remote_write_samples_dropped_total",
            "counter",
            "Samples of batches the receiver refused with a 4xx (skipped).",
            |s| s.samples_dropped as f64,
        ),
        (
            "nanotdb_remote_write_pending_bytes",
            "gauge",
            "Bytes of stored frames not read by the target yet.",
            |s| s.pending_bytes as f64,
        ),
        (
            "nanotdb_remote_write_pending_unflushed_samples",
            "gauge",
            "Samples of the target's databases still in open pages: sent once their page flushes.",
            |s| s.pending_unflushed_samples as f64,
        ),
        (
            "nanotdb_remote_write_lag_seconds",
            "gauge",
            "Seconds since the target last had nothing left to send.",
            |s| s.lag_seconds,
        ),
        (
            "nanotdb_remote_write_last_success_timestamp_seconds",
            "gauge",
            "Unix time of the last acknowledged batch (0: none yet).",
            |s| s.last_success.unwrap_or(0.0),
        ),
        (
            "nanotdb_remote_write_partitions_released_total",
            "counter",
            "Partitions retention removed before the target delivered them (target past max_lag).",
            |s| s.partitions_released_by_max_lag as f64,
        ),
    ];
    for (name, kind, help, get) in families {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for s in &targets {
            let _ = writeln!(out, "{name}{{target=\"{}\"}} {}", esc(&s.name), get(s));
        }
    }
    let name = "nanotdb_remote_write_last_error_info";
    let _ = writeln!(
        out,
        "# HELP {name} The target's last failure (1 while there is one; cleared by a success).\n# TYPE {name} gauge"
    );
    for s in &targets {
        let err = s.last_error.as_deref().unwrap_or("");
        let _ = writeln!(
            out,
            "{name}{{target=\"{}\",error=\"{}\"}} {}",
            esc(&s.name),
            esc(err),
            u8::from(!err.is_empty())
        );
    }
}
