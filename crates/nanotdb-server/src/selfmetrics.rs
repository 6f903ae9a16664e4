//! Self-monitoring: counters updated by the handlers and `GET /metrics` in
//! the Prometheus text format (engine counters summed over loaded databases,
//! query latency histogram, process RSS).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::{SharedState, blocking};

/// Upper bounds (seconds) of the query latency histogram buckets.
pub const LATENCY_BUCKETS: [f64; 10] = [
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2.5,
];

/// Counters of the HTTP layer.
#[derive(Debug, Default)]
pub struct SelfMetrics {
    /// Ingest requests received.
    pub ingest_requests: AtomicU64,
    /// Ingest requests rejected (bad input).
    pub ingest_rejected_requests: AtomicU64,
    /// Body bytes received by ingest routes.
    pub ingest_bytes: AtomicU64,
    /// Samples stored by ingest routes.
    pub ingest_samples: AtomicU64,
    /// Query latency histogram: counts per bucket (cumulated at render time), then +Inf.
    pub query_buckets: [AtomicU64; LATENCY_BUCKETS.len() + 1],
    /// Sum of query latencies in ns.
    pub query_latency_ns: AtomicU64,
    /// Queries answered.
    pub queries: AtomicU64,
}

impl SelfMetrics {
    /// Records one query's latency.
    pub fn observe_query(&self, d: Duration) {
        let s = d.as_secs_f64();
        let i = LATENCY_BUCKETS
            .iter()
            .position(|b| s <= *b)
            .unwrap_or(LATENCY_BUCKETS.len());
        if let Some(b) = self.query_buckets.get(i) {
            b.fetch_add(1, Ordering::Relaxed);
        }
        self.queries.fetch_add(1, Ordering::Relaxed);
        self.query_latency_ns
            .fetch_add(d.as_nanos() as u64, Ordering::Relaxed);
    }
}

/// Resident set size of this process in bytes (Linux; 0 elsewhere).
pub fn rss_bytes() -> u64 {
    let Ok(s) = std::fs::read_to_string("/proc/self/statm") else {
        return 0;
    };
    let pages: u64 = s
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

fn metric(out: &mut String, name: &str, kind: &str, help: &str, value: impl std::fmt::Display) {
    let _ = writeln!(
        out,
        "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
    );
}

/// Renders the whole exposition.
pub fn render(st: &SharedState) -> String {
    let m = &st.metrics;
    let mut out = String::with_capacity(4096);
    let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
    metric(
        &mut out,
        "nanotdb_ingest_requests_total",
        "counter",
        "Ingest requests received.",
        g(&m.ingest_requests),
    );
    metric(
        &mut out,
        "nanotdb_ingest_rejected_requests_total",
        "counter",
        "Ingest requests rejected as a whole (bad lines).",
        g(&m.ingest_rejected_requests),
    );
    metric(
        &mut out,
        "nanotdb_ingest_bytes_total",
        "counter",
        "Body bytes received by ingest routes.",
        g(&m.ingest_bytes),
    );
    metric(
        &mut out,
        "nanotdb_ingest_samples_total",
        "counter",
        "Samples stored by ingest routes.",
        g(&m.ingest_samples),
    );

    let name = "nanotdb_query_duration_seconds";
    let _ = writeln!(
        out,
        "# HELP {name} Latency of query and query_range requests.\n# TYPE {name} histogram"
    );
    let mut cum = 0u64;
    for (i, b) in LATENCY_BUCKETS.iter().enumerate() {
        cum += m.query_buckets.get(i).map(g).unwrap_or(0);
        let _ = writeln!(out, "{name}_bucket{{le=\"{b}\"}} {cum}");
    }
    cum += m
        .query_buckets
        .get(LATENCY_BUCKETS.len())
        .map(g)
        .unwrap_or(0);
    let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {cum}");
    let _ = writeln!(out, "{name}_sum {}", g(&m.query_latency_ns) as f64 / 1e9);
    let _ = writeln!(out, "{name}_count {}", g(&m.queries));

    // Engine counters, summed over the databases.
    let mut wal_bytes = 0u64;
    let mut wal_written = 0u64;
    let mut flushes = 0u64;
    let mut open_pages = 0u64;
    let mut open_records = 0u64;
    let mut engine_samples = 0u64;
    // Listing the root is cheap; stats come from the loaded databases only,
    // so a scrape never opens (locks, replays) a database.
    let dbs = st.engine.databases().map_or(0, |d| d.len());
    for db in st.engine.loaded_databases() {
        let Ok(s) = st.engine.db_stats(&db) else {
            continue;
        };
        wal_bytes += s.wal_bytes;
        wal_written += s.counters.wal_bytes_written;
        flushes += s.counters.flushes;
        engine_samples += s.counters.samples_ingested;
        for p in &s.open_partitions {
            if p.page_records > 0 {
                open_pages += 1;
                open_records += p.page_records as u64;
            }
        }
    }
    metric(
        &mut out,
        "nanotdb_databases",
        "gauge",
        "Databases under the root.",
        dbs,
    );
    metric(
        &mut out,
        "nanotdb_engine_samples_ingested_total",
        "counter",
        "Samples accepted by the engine since its databases were opened.",
        engine_samples,
    );
    metric(
        &mut out,
        "nanotdb_wal_bytes",
        "gauge",
        "Current total WAL size.",
        wal_bytes,
    );
    metric(
        &mut out,
        "nanotdb_wal_bytes_written_total",
        "counter",
        "Bytes appended to WALs.",
        wal_written,
    );
    metric(
        &mut out,
        "nanotdb_flushes_total",
        "counter",
        "Page flushes.",
        flushes,
    );
    metric(
        &mut out,
        "nanotdb_open_pages",
        "gauge",
        "In-memory pages holding samples.",
        open_pages,
    );
    metric(
        &mut out,
        "nanotdb_open_page_records",
        "gauge",
        "Samples held in in-memory pages.",
        open_records,
    );
    let r = st.engine.rollup_worker_totals();
    metric(
        &mut out,
        "nanotdb_rollup_passes_total",
        "counter",
        "Automatic rollup passes run by the background worker.",
        r.passes,
    );
    metric(
        &mut out,
        "nanotdb_rollup_jobs_advanced_total",
        "counter",
        "Rollup jobs whose checkpoint advanced in automatic passes.",
        r.jobs_advanced,
    );
    metric(
        &mut out,
        "nanotdb_rollup_jobs_from_live_total",
        "counter",
        "Of those, jobs computed from the live accumulators (no read-back).",
        r.jobs_from_live,
    );
    metric(
        &mut out,
        "nanotdb_rollup_jobs_partly_from_live_total",
        "counter",
        "Of those, jobs whose first periods were read back and later ones came from the live accumulators.",
        r.jobs_partly_from_live,
    );
    metric(
        &mut out,
        "nanotdb_rollup_samples_written_total",
        "counter",
        "Samples written to rollup destinations by automatic passes.",
        r.samples_written,
    );
    metric(
        &mut out,
        "process_resident_memory_bytes",
        "gauge",
        "Resident set size.",
        rss_bytes(),
    );
    metric(
        &mut out,
        "process_start_time_seconds",
        "gauge",
        "Start time of the process.",
        st.started_ns as f64 / 1e9,
    );
    out
}

/// `GET /metrics`.
pub async fn metrics_handler(State(st): State<SharedState>) -> Response {
    match blocking(move || render(&st)).await {
        Ok(text) => (
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}
