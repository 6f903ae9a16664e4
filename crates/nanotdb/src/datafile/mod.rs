//! Raw data files (`data-<p>.dat`, `raw-<p>.dat`): a plain concatenation of
//! frames with no file header (docs/FORMATS.md §3.1).
//!
//! - [`scan`]: walking, reading and repairing files (torn tails, recovery);
//! - `append`: the append handle an open partition writes its frames through,
//!   which cuts a partially written frame off again when a write fails.
//!
//! The frame codec itself is [`crate::frame`].

mod append;
pub mod scan;

pub(crate) use append::DataFileAppender;
pub use scan::*;
