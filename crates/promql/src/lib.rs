//! PromQL over a NanoTDB engine.
//!
//! The query text is parsed by the `promql-parser` crate; evaluation is ours
//! and follows Prometheus 2.42's semantics (the version the differential tests
//! record against): closed lookback window `[t - lookback, t]`, closed range
//! windows `[t - range, t]`, extrapolated `rate`, and so on.
//!
//! Storage is reached only through the [`Storage`] trait: "select series by
//! label matchers" and "read series' samples in `[t0, t1]`".
//! [`EngineStorage`] implements it for [`nanotdb::Engine`]. A range function
//! over a selector reads its series in one storage pass and reduces each
//! series' windows in one forward pass with a sliding window, holding only
//! the current window's samples; an instant selector reads a batch of series
//! at a time and drops the raw samples before reading the next batch. Either
//! way a long range never holds all of its samples.
//!
//! Times are milliseconds since the epoch throughout, as in Prometheus.

#![warn(missing_docs)]

mod aggregate;
mod binary;
mod engine_storage;
mod error;
mod eval;
mod functions;
mod labels;
mod sliding;
mod storage;
mod timefns;
mod value;

pub use engine_storage::EngineStorage;
pub use error::Error;
pub use labels::Labels;
pub use storage::{LabelMatcher, MatchOp, SeriesRef, Storage};
pub use value::{QueryValue, RangeSeries, format_value};

/// Limits and defaults of one evaluation.
#[derive(Debug, Clone)]
pub struct QueryOptions {
    /// How far back an instant selector looks for a sample (Prometheus'
    /// `--query.lookback-delta`, 5 minutes by default).
    pub lookback_ms: i64,
    /// Step of a subquery written without one (`x[1h:]`): Prometheus uses its
    /// global evaluation interval, 1 minute by default.
    pub default_subquery_step_ms: i64,
    /// Most samples and points held at once (Prometheus'
    /// `--query.max-samples`); beyond it the query fails with
    /// [`Error::Limit`].
    pub max_samples: usize,
    /// When evaluation gives up with [`Error::Timeout`].
    pub deadline: Option<std::time::Instant>,
}

impl Default for QueryOptions {
    fn default() -> Self {
        QueryOptions {
            lookback_ms: 5 * 60 * 1000,
            default_subquery_step_ms: 60 * 1000,
            max_samples: 50_000_000,
            deadline: None,
        }
    }
}

/// Parses a query; the error is the parser's message.
pub fn parse(query: &str) -> Result<promql_parser::parser::Expr, Error> {
    static EXTRA: std::sync::Once = std::sync::Once::new();
    EXTRA.call_once(|| {
        use promql_parser::parser::Function;
        use promql_parser::parser::value::ValueType;
        // Prometheus 2.x spells double_exponential_smoothing `holt_winters`;
        // the parser knows only the 3.x name. Registering cannot fail for a
        // name it does not have, and a failure would only leave the old
        // spelling a parse error.
        let _ = promql_parser::parser::register_extra_functions(vec![Function::new(
            "holt_winters",
            vec![ValueType::Matrix, ValueType::Scalar, ValueType::Scalar],
            0,
            ValueType::Vector,
            false,
        )]);
    });
    // promql-parser 0.11.1 panics on some durations it cannot represent
    // (`x[73e77:]`: `Duration::from_secs_f64`); found by the `promql` fuzz
    // target. Such a query is not valid PromQL for us, not a server error.
    match std::panic::catch_unwind(|| promql_parser::parser::parse(query)) {
        Ok(parsed) => parsed.map_err(Error::Parse),
        Err(_) => Err(Error::Parse(format!(
            "{query:?} could not be parsed (a number out of range?)"
        ))),
    }
}

/// The matchers of a series selector such as `up{job="api"}` (what
/// `match[]` parameters hold); anything but a plain instant selector is
/// [`Error::BadQuery`].
pub fn selector_matchers(selector: &str) -> Result<Vec<LabelMatcher>, Error> {
    match parse(selector)? {
        promql_parser::parser::Expr::VectorSelector(vs)
            if vs.offset.is_none() && vs.at.is_none() =>
        {
            eval::matchers_of(&vs)
        }
        _ => Err(Error::BadQuery(format!(
            "{selector:?} is not a series selector"
        ))),
    }
}

/// What an evaluation read, filled in even when it fails.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueryStats {
    /// Samples and points charged against [`QueryOptions::max_samples`]
    /// (roughly the samples read plus the points produced).
    pub samples: usize,
}

/// Evaluates `query` at one instant `t` (ms): Prometheus' `/api/v1/query`.
pub fn instant_query(
    storage: &dyn Storage,
    query: &str,
    t: i64,
    opts: &QueryOptions,
) -> Result<QueryValue, Error> {
    instant_query_stats(storage, query, t, opts, &mut QueryStats::default())
}

/// [`instant_query`], also reporting what it read into `stats`.
pub fn instant_query_stats(
    storage: &dyn Storage,
    query: &str,
    t: i64,
    opts: &QueryOptions,
    stats: &mut QueryStats,
) -> Result<QueryValue, Error> {
    let expr = parse(query)?;
    let charged = std::cell::Cell::new(0);
    let out = eval::instant(storage, &expr, t, opts, &charged);
    stats.samples = charged.get();
    out
}

/// Evaluates `query` at `start, start + step, …, <= end` (ms): Prometheus'
/// `/api/v1/query_range`. The answer is always a matrix, series sorted by
/// labels.
pub fn range_query(
    storage: &dyn Storage,
    query: &str,
    start: i64,
    end: i64,
    step: i64,
    opts: &QueryOptions,
) -> Result<QueryValue, Error> {
    let mut stats = QueryStats::default();
    range_query_stats(storage, query, (start, end, step), opts, &mut stats)
}

/// [`range_query`] over `(start, end, step)`, also reporting what it read
/// into `stats`.
pub fn range_query_stats(
    storage: &dyn Storage,
    query: &str,
    (start, end, step): (i64, i64, i64),
    opts: &QueryOptions,
    stats: &mut QueryStats,
) -> Result<QueryValue, Error> {
    let expr = parse(query)?;
    let charged = std::cell::Cell::new(0);
    let out = eval::range(storage, &expr, start, end, step, opts, &charged);
    stats.samples = charged.get();
    out
}
