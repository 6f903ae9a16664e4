//! HTTP handlers, one module per route family.

pub mod discovery;
pub mod engine_view;
pub mod export;
pub mod grafana;
pub mod ingest;
pub mod promql;
pub mod query;
pub mod remote_read;
pub mod write_protocols;
