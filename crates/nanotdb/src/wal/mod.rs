//! The write-ahead log `<db>/<db>.wal` (docs/FORMATS.md §4).
//!
//! ```text
//! uvarint(len) | id u16 | ts_delta u24 | flags u8 [| baseline i64] [| name_len u8 | name | type u8] | value [4]
//! ```
//! Flag `0x80` (B) carries a new time baseline, `0x40` (N) the metric's name
//! and type. v1.4.0's records have no checksum; ours use three flag bits it
//! ignores (docs/FORMATS.md §4.11): `0x01` a CRC-32 after the value, `0x02`
//! the end of a write group (replay keeps a group only when its end made it
//! to disk), `0x04` the id of a batch spanning databases (kept only when the
//! root's commit log names it), and `0x08` (W) 4 more value bytes after the
//! value for the 8-byte types (docs/FORMATS.md §4.13). A scan skips damaged
//! stretches up to the next intact checksummed record and reports where and why.
//!
//! - [`record`]: encoding and decoding one record;
//! - [`reader`]: scanning a whole file ([`scan_wal`]);
//! - `prepared`: a write's records encoded before the database lock;
//! - `writer`: the live WAL of an open database (pending buffer, fsync
//!   policy, reset and atomic rewrite at checkpoints).
//!
//! Replaying the records into pages is the database's job (`database/replay.rs`).

pub(crate) mod commit;
mod prepared;
pub mod reader;
pub mod record;
mod writer;

pub(crate) use commit::CommitLog;
pub(crate) use prepared::PreparedRecords;
pub use reader::{WalDamage, WalScan, WalStop, WalStopReason, scan_wal, scan_wal_with};
pub use record::{MAX_DELTA, NewMetric, RecordExt, WalEncoder, WalError, WalRecord, WalValue};
pub(crate) use writer::WalWriter;

#[cfg(test)]
mod tests;
