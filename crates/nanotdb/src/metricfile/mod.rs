//! Query-optimised per-metric files `metric-<partition>.dat` (docs/FORMATS.md §8).
//!
//! Two layouts share the `NTMF` header magic and the `NTFT` footer magic:
//! v1 (one frame of timestamps + values per metric, [`v1`]), v2 (shared
//! timestamp vectors in time frames, value-only metric frames, [`v2`]) and
//! our v3 (pcodec-compressed columns, [`v3`]).
//! [`write_metric_file`] writes either; [`MetricFile`] reads both, applying
//! the reference validation order so a damaged file fails with the same
//! first complaint, always as a typed [`MetricFileError`] naming the offset.
//!
//! The reader keeps the file open and uses positioned reads: opening reads
//! only the footer, header and indexes, and a query reads only the frames it
//! needs. Decoded v2 time frames are shared through [`cache::global_cache`].

pub mod cache;
mod error;
mod frame;
pub mod header;
mod le;
mod reader;
mod run;
mod source;
pub mod v1;
pub mod v2;
pub mod v3;
mod writer;

use std::fmt;

pub use error::{CorruptKind, MetricFileError, Result};
pub use header::{
    FILE_HEADER_LEN, FILE_MAGIC, FOOTER_LEN, FOOTER_MAGIC, FRAME_HEADER_LEN, FileHeader, Footer,
    FrameHeader, FrameKind, MIN_FILE_LEN,
};
pub use reader::{FileSummary, FrameInfo, MetricFile, TimeFrameInfo};
pub use run::{Run, decimal32_bits};
pub use source::{KEEP_TIMES_MAX, RESIDENT_MAX};
pub use writer::{MetricSamples, WriteSummary, write_metric_file};

/// Metric-file layout version (header bytes 4–5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// One frame of timestamps and values per metric.
    V1,
    /// Shared time frames plus value-only metric frames (the default).
    V2,
    /// Numeric columns compressed with pcodec (this implementation's
    /// format, docs/FORMATS.md §8.9; v1.4.0 rejects it by its version).
    V3,
}

impl Version {
    /// The on-disk version number.
    pub fn number(self) -> u16 {
        match self {
            Version::V1 => 1,
            Version::V2 => 2,
            Version::V3 => 3,
        }
    }

    /// Name as shown by `inspect metric` and accepted by `--format`.
    pub fn name(self) -> &'static str {
        match self {
            Version::V1 => "v1",
            Version::V2 => "v2",
            Version::V3 => "v3",
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
pub(crate) mod tests;
