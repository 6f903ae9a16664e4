//! NanoTDB: a small, embeddable, crash-safe time-series database for edge
//! boxes, drop-in compatible with the data directories of NanoTDB v1.4.0.
//!
//! ```no_run
//! use nanotdb::{Engine, Value};
//! # fn main() -> nanotdb::Result<()> {
//! let engine = Engine::open("/var/lib/nanotdb")?;
//! engine.add_line("edge/temp.probe01 21.5 2026-01-01 00:00:00")?;
//! engine.add_sample("edge", "door.open_count", 1_767_225_600_000_000_000, Value::I32(3))?;
//! engine.query_range("edge", "temp.probe01", i64::MIN, i64::MAX, 1, |s| {
//!     println!("{} {}", s.ts, s.value);
//!     std::ops::ControlFlow::Continue(())
//! })?;
//! engine.close()?;
//! # Ok(()) }
//! ```
//!
//! The modules mirror the on-disk concepts: [`wal`], [`catalog`], [`page`]
//! (raw frames), [`datafile`], `partition`, [`config`], [`lineproto`].

#![warn(missing_docs)]
#![deny(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod aggregate;
pub mod catalog;
pub mod codec;
pub mod config;
mod database;
pub mod datafile;
mod engine;
pub mod error;
mod export;
pub mod forward;
pub mod frame;
mod fsutil;
mod idset;
mod import;
pub mod inspect;
mod jsonl;
pub mod labels;
pub mod layout;
pub mod lineproto;
mod lock;
pub mod metricfile;
pub mod names;
mod page;
mod query;
pub mod retention;
pub mod rollup;
pub mod sample;
pub mod selector;
pub mod stats;
pub mod time;
mod varint;
pub mod wal;
mod write;

pub use catalog::MetricInfo;
pub use database::{
    BuildOptions, BuildReport, CompactMetricReport, RecompactReport, RecoverReport,
};
pub use engine::{Engine, EngineOptions, WriteOptions, WriteReport, WriteSample};
pub use error::{Error, Result};
pub use export::ExportReport;
pub use import::{ImportObserver, ImportOptions, ImportReport, MAX_IMPORT_LINE};
pub use lock::RootLock;
pub use sample::{MetricId, Sample, Value, ValueType};
pub use stats::{DbCounters, DbStats, OpenPageStats, Tally};

/// Test helpers shared by the unit tests.
#[cfg(test)]
pub(crate) mod testutil {
    /// The repository's `tests/fixtures` folder.
    pub fn fixtures() -> std::path::PathBuf {
        nanotdb_testkit::fixtures_dir()
    }
}
