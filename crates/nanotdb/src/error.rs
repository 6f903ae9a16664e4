//! The engine's error type.

use std::io;
use std::path::{Path, PathBuf};

use crate::sample::ValueType;

/// Everything the engine can fail with. Each variant names what was wrong
/// (file, offset, database, metric, line) so a caller can show it as is.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An operating-system error on a file or directory.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A line of line protocol could not be parsed.
    #[error(transparent)]
    Line(#[from] crate::lineproto::LineError),
    /// An aggregate query names an unknown aggregate, a bad window or range.
    #[error(transparent)]
    Aggregate(#[from] crate::aggregate::AggregateError),
    /// A metric file is unreadable, damaged, or cannot be written.
    #[error(transparent)]
    MetricFile(#[from] crate::metricfile::MetricFileError),
    /// A timestamp or duration could not be parsed.
    #[error(transparent)]
    Time(#[from] crate::time::TimeError),
    /// `engine.toml` or a `manifest.toml` is unreadable or invalid.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The database name breaks the naming rules (see [`crate::names`]).
    #[error("invalid database name {name:?}: {reason}")]
    InvalidDatabaseName {
        /// The rejected name.
        name: String,
        /// Which rule it breaks.
        reason: &'static str,
    },
    /// The metric name breaks the naming rules (see [`crate::names`]).
    #[error("invalid metric name {name:?}: {reason}")]
    InvalidMetricName {
        /// The rejected name.
        name: String,
        /// Which rule it breaks.
        reason: &'static str,
    },
    /// No such database under the root (read paths never create one).
    #[error("database not found: {0}")]
    DatabaseNotFound(String),
    /// The sample is older than the last one of its metric.
    #[error("stale sample rejected for {db}/{metric}: ts={ts} < last={last}")]
    Stale {
        /// Database.
        db: String,
        /// Metric.
        metric: String,
        /// The rejected timestamp.
        ts: i64,
        /// The metric's last accepted timestamp.
        last: i64,
    },
    /// The sample is older than its metric's newest by more than
    /// `[ingest].out_of_order_window`.
    #[error("sample of {db}/{metric} at ts={ts} is older than its newest (ts={last}) by more than {} ([ingest].out_of_order_window)", crate::time::format_go_duration(*.window_ns))]
    OutOfOrder {
        /// Database.
        db: String,
        /// Metric.
        metric: String,
        /// The rejected timestamp.
        ts: i64,
        /// The metric's newest timestamp.
        last: i64,
        /// The configured window (ns).
        window_ns: i64,
    },
    /// The sample's partition was sealed earlier in this process.
    #[error("day {key} already sealed for database {db}")]
    Sealed {
        /// Database.
        db: String,
        /// Partition key.
        key: String,
    },
    /// The sample is further ahead of the wall clock than `[ingest].max_future`.
    #[error("sample of {db}/{metric} at {ts} is more than {} ahead of the clock: a writer with a wrong clock or unit? ([ingest].max_future)", crate::time::format_go_duration(*.max_future_ns))]
    TooFarInFuture {
        /// Database.
        db: String,
        /// Metric.
        metric: String,
        /// The sample's timestamp (ns).
        ts: i64,
        /// The configured horizon (ns).
        max_future_ns: i64,
    },
    /// The sample's type differs from its metric's type.
    #[error("metric type mismatch for {db}/{metric}: metric is {expected}, sample is {got}")]
    TypeMismatch {
        /// Database.
        db: String,
        /// Metric.
        metric: String,
        /// The metric's type.
        expected: ValueType,
        /// The sample's type.
        got: ValueType,
    },
    /// The database already has 65535 metrics.
    #[error("too many metrics in database {0}")]
    TooManyMetrics(String),
    /// A label matcher that cannot be used (a regex that does not compile).
    #[error("invalid matcher {0}")]
    InvalidMatcher(String),
    /// A file's bytes are damaged or not in the expected format.
    #[error("{}: corrupt at offset {offset}: {reason}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Byte offset where the damage starts.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// `catalog.json` is unreadable or contradicts itself or the WAL.
    #[error("catalog {}: {reason}", path.display())]
    Catalog {
        /// The catalog file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A frame or WAL record references a metric id the catalog does not know.
    #[error("unknown metric id {id} in database {db}")]
    UnknownMetricId {
        /// Database.
        db: String,
        /// The id.
        id: u16,
    },
    /// `to < from` in a range query.
    #[error("invalid range: to ({to}) < from ({from})")]
    InvalidRange {
        /// Range start.
        from: i64,
        /// Range end.
        to: i64,
    },
    /// A maintenance operation targeted a partition that holds an open page.
    #[error("data file partition is currently open: {db}/{part}")]
    DataFileActive {
        /// Database.
        db: String,
        /// Partition key.
        part: String,
    },
    /// A metric-file build met a partition holding float64/int64 metrics,
    /// which metric files cannot store (docs/FORMATS.md §8.8).
    #[error(
        "partition {db}/{part} holds float64/int64 metrics, which metric files cannot store; its raw files stay and serve reads"
    )]
    WideValuesInPartition {
        /// Database.
        db: String,
        /// Partition key.
        part: String,
    },
    /// Another process (or engine) has the database open for writing.
    #[error("database {db} is locked by another writer ({holder}); lock file {}", path.display())]
    Locked {
        /// Database.
        db: String,
        /// The lock file.
        path: PathBuf,
        /// Who holds it, as written in the lock file.
        holder: String,
    },
    /// A partition key given by a user (maintenance commands and routes) is
    /// not a key, or not one of this database's partitioning.
    #[error("{reason}")]
    InvalidPartitionKey {
        /// The database.
        db: String,
        /// The key as given.
        key: String,
        /// What is wrong, e.g. `invalid partition key: "x"`.
        reason: String,
    },
    /// A WAL record could not be encoded (names are validated before they
    /// get here, so this is an internal error, not a rejected sample).
    #[error("{}: cannot encode a WAL record: {source}", path.display())]
    WalEncode {
        /// The WAL file.
        path: PathBuf,
        /// What the encoder refused.
        #[source]
        source: crate::wal::WalError,
    },
    /// Another server already serves this data root.
    #[error("data root {} is already served by another server ({holder}); lock file {}", root.display(), path.display())]
    RootLocked {
        /// The data root.
        root: PathBuf,
        /// The lock file.
        path: PathBuf,
        /// Who holds it, as written in the lock file.
        holder: String,
    },
    /// The engine was closed.
    #[error("the engine is closed")]
    Closed,
    /// A write was attempted on an engine opened read-only.
    #[error("the engine was opened read-only")]
    ReadOnly,
    /// A line of an import failed (strict mode).
    #[error("{source_name} line {line}: {error}")]
    ImportLine {
        /// File name or other description of the input.
        source_name: String,
        /// 1-based line number.
        line: u64,
        /// Why the line was rejected.
        error: Box<Error>,
    },
    /// Several databases failed to close; every one was still attempted.
    #[error("closing failed for {}", .0.iter().map(|(db, e)| format!("{db}: {e}")).collect::<Vec<_>>().join("; "))]
    Close(Vec<(String, Error)>),
}

/// The engine's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Wraps an I/O error with the path it happened on.
    pub fn io(path: impl AsRef<Path>, source: io::Error) -> Error {
        Error::Io {
            path: path.as_ref().to_path_buf(),
            source,
        }
    }

    /// True when the error rejects one sample or line (bad input), as opposed
    /// to a failure of the engine or its files.
    pub fn is_rejection(&self) -> bool {
        matches!(
            self,
            Error::Line(_)
                | Error::Time(_)
                | Error::Aggregate(_)
                | Error::InvalidDatabaseName { .. }
                | Error::InvalidMetricName { .. }
                | Error::Stale { .. }
                | Error::OutOfOrder { .. }
                | Error::Sealed { .. }
                | Error::TypeMismatch { .. }
                | Error::TooManyMetrics(_)
                | Error::InvalidPartitionKey { .. }
                | Error::TooFarInFuture { .. }
                | Error::InvalidMatcher(_)
        )
    }
}

/// Adds the path to an `io::Result`.
pub(crate) trait IoContext<T> {
    /// Wraps the error with `path`.
    fn at(self, path: &Path) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn at(self, path: &Path) -> Result<T> {
        self.map_err(|e| Error::io(path, e))
    }
}
