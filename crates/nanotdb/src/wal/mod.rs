//! The write-ahead log `<db>/<db>.wal` (docs/FORMATS.md §4).
//!
//! ```text
//! uvarint(len) | id u16 | ts_delta u24 | flags u8 [| baseline i64] [| name_len u8 | name | type u8] | value [4]
//! ```
//! Flag `0x80` (B) carries a new time baseline, `0x40` (N) the metric's name
//! and type. Records have no checksum: a scan stops at the first record that
//! cannot be decoded, and reports where and why.
//!
//! - [`record`]: encoding and decoding one record;
//! - [`reader`]: scanning a whole file ([`scan_wal`]);
//! - `writer`: the live WAL of an open database (pending buffer, fsync
//!   policy, reset and atomic rewrite at checkpoints).
//!
//! Replaying the records into pages is the database's job (`database/replay.rs`).

pub mod reader;
pub mod record;
mod writer;

pub use reader::{WalScan, WalStop, WalStopReason, scan_wal};
pub use record::{MAX_DELTA, NewMetric, WalEncoder, WalError, WalRecord};
pub(crate) use writer::WalWriter;

#[cfg(test)]
mod tests;
