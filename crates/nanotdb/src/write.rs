//! What a write is: the samples handed to the engine and what it made of
//! them. Kept apart from the engine so that the code writing on the
//! engine's behalf (rollup passes, through their host interface) shares
//! these types without depending on the engine itself.

use crate::error::Error;
use crate::sample::Value;

/// One sample to write, borrowed.
#[derive(Debug, Clone, Copy)]
pub struct WriteSample<'a> {
    /// Database name.
    pub db: &'a str,
    /// Metric name.
    pub metric: &'a str,
    /// Timestamp, ns since the epoch.
    pub ts: i64,
    /// Value.
    pub value: Value,
}

/// Outcome of a batch write: accepted samples are durable per the WAL
/// policy when this is returned; each rejected one is reported with its index.
#[derive(Debug, Default)]
pub struct WriteReport {
    /// Samples stored.
    pub accepted: u64,
    /// (index in the batch, reason) of each rejected sample.
    pub rejected: Vec<(usize, Error)>,
}
