//! Errors of parsing and evaluation, by the HTTP status a server gives them.

/// Why a query has no answer.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The text is not PromQL (Prometheus: 400 `bad_data`).
    #[error("parse error: {0}")]
    Parse(String),
    /// Valid PromQL this evaluator does not implement (400).
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// A query that is well formed but wrong as asked, e.g. a range query of
    /// a range vector (400 `bad_data`).
    #[error("{0}")]
    BadQuery(String),
    /// Evaluation failed on the data, e.g. many-to-many matching (Prometheus:
    /// 422 `execution`).
    #[error("{0}")]
    Execution(String),
    /// Too many samples or points (422).
    #[error("{0}")]
    Limit(String),
    /// The deadline passed (503 `timeout`).
    #[error("query timed out in expression evaluation")]
    Timeout,
    /// The storage failed (500 `internal`).
    #[error("storage: {0}")]
    Storage(String),
}
