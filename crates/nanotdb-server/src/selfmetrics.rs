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

fn metric(out: &mut String, name: &str, kind: &str, help: &str, value: impl std::fmt::Display) {
    let _ = writeln!(
        out,
        "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
    );
}

/// One exposed series: name, type, help text and value.
type Line = (&'static str, &'static str, &'static str, f64);

fn counter(name: &'static str, help: &'static str, value: f64) -> Line {
    (name, "counter", help, value)
}

fn gauge(name: &'static str, help: &'static str, value: f64) -> Line {
    (name, "gauge", help, value)
}

/// Renders the whole exposition.
pub fn render(st: &SharedState) -> String {
    let mut out = String::with_capacity(4096);
    let lines = ingest_lines(&st.metrics);
    for (name, kind, help, value) in &lines {
        metric(&mut out, name, kind, help, value);
    }
    query_histogram(&mut out, &st.metrics);
    let mut lines = engine_lines(st);
    lines.extend(rollup_lines(st));
    lines.push(gauge(
        "process_resident_memory_bytes",
        "Resident set size.",
        nanotdb::stats::process_rss_bytes().unwrap_or(0) as f64,
    ));
    lines.push(gauge(
        "process_start_time_seconds",
        "Start time of the process.",
        st.started_ns as f64 / 1e9,
    ));
    for (name, kind, help, value) in &lines {
        metric(&mut out, name, kind, help, value);
    }
    crate::forward::status::render(st, &mut out);
    out
}

fn ingest_lines(m: &SelfMetrics) -> Vec<Line> {
    let g = |a: &AtomicU64| a.load(Ordering::Relaxed) as f64;
    vec![
        counter(
            "nanotdb_ingest_requests_total",
            "Ingest requests received.",
            g(&m.ingest_requests),
        ),
        counter(
            "nanotdb_ingest_rejected_requests_total",
            "Ingest requests rejected as a whole (bad lines).",
            g(&m.ingest_rejected_requests),
        ),
        counter(
            "nanotdb_ingest_bytes_total",
            "Body bytes received by ingest routes.",
            g(&m.ingest_bytes),
        ),
        counter(
            "nanotdb_ingest_samples_total",
            "Samples stored by ingest routes.",
            g(&m.ingest_samples),
        ),
    ]
}

fn query_histogram(out: &mut String, m: &SelfMetrics) {
    let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
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
}

/// Engine counters, summed over the loaded databases: a scrape never opens
/// (locks, replays) a database; listing the root is cheap.
fn engine_lines(st: &SharedState) -> Vec<Line> {
    let (mut wal_bytes, mut wal_written, mut flushes) = (0u64, 0u64, 0u64);
    let (mut open_pages, mut open_records, mut samples) = (0u64, 0u64, 0u64);
    let dbs = st.engine.databases().map_or(0, |d| d.len());
    for db in st.engine.loaded_databases() {
        let Ok(s) = st.engine.db_stats(&db) else {
            continue;
        };
        wal_bytes += s.wal_bytes;
        wal_written += s.counters.wal_bytes_written;
        flushes += s.counters.flushes;
        samples += s.counters.samples_ingested;
        for p in s.open_partitions.iter().filter(|p| p.page_records > 0) {
            open_pages += 1;
            open_records += p.page_records as u64;
        }
    }
    vec![
        gauge("nanotdb_databases", "Databases under the root.", dbs as f64),
        counter(
            "nanotdb_engine_samples_ingested_total",
            "Samples accepted by the engine since its databases were opened.",
            samples as f64,
        ),
        gauge(
            "nanotdb_wal_bytes",
            "Current total WAL size.",
            wal_bytes as f64,
        ),
        counter(
            "nanotdb_wal_bytes_written_total",
            "Bytes appended to WALs.",
            wal_written as f64,
        ),
        counter("nanotdb_flushes_total", "Page flushes.", flushes as f64),
        gauge(
            "nanotdb_open_pages",
            "In-memory pages holding samples.",
            open_pages as f64,
        ),
        gauge(
            "nanotdb_open_page_records",
            "Samples held in in-memory pages.",
            open_records as f64,
        ),
    ]
}

fn rollup_lines(st: &SharedState) -> Vec<Line> {
    let r = st.engine.rollup_worker_totals();
    vec![
        counter(
            "nanotdb_rollup_passes_total",
            "Automatic rollup passes run by the background worker.",
            r.passes as f64,
        ),
        counter(
            "nanotdb_rollup_jobs_advanced_total",
            "Rollup jobs whose checkpoint advanced in automatic passes.",
            r.jobs_advanced as f64,
        ),
        counter(
            "nanotdb_rollup_jobs_from_live_total",
            "Of those, jobs computed from the live accumulators (no read-back).",
            r.jobs_from_live as f64,
        ),
        counter(
            "nanotdb_rollup_jobs_partly_from_live_total",
            "Of those, jobs whose first periods were read back and later ones came from the live accumulators.",
            r.jobs_partly_from_live as f64,
        ),
        counter(
            "nanotdb_rollup_samples_written_total",
            "Samples written to rollup destinations by automatic passes.",
            r.samples_written as f64,
        ),
    ]
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
