//! Query-optimised per-metric files `metric-<partition>.dat` (docs/FORMATS.md §8).
//!
//! Two layouts share the `NTMF` header magic and the `NTFT` footer magic:
//! v1 (one frame of timestamps + values per metric, [`v1`]) and v2 (shared
//! timestamp vectors in time frames, value-only metric frames, [`v2`]).
//! [`write_metric_file`] writes either; [`MetricFile`] reads both, applying
//! the reference validation order so a damaged file fails with the same
//! first complaint, always as a typed [`MetricFileError`] naming the offset.
//!
//! The reader keeps the file open and uses positioned reads: opening reads
//! only the footer, header and indexes, and a query reads only the frames it
//! needs. Decoded v2 time frames are shared through [`cache::global_cache`].

pub mod cache;
mod error;
mod reader;
mod source;
pub mod v1;
pub mod v2;
mod writer;

use std::fmt;

pub use error::{CorruptKind, MetricFileError, Result};
pub use reader::{FileSummary, FrameInfo, MetricFile, TimeFrameInfo};
pub use writer::{MetricSamples, WriteSummary, write_metric_file};

/// Header length of both versions.
pub const FILE_HEADER_LEN: usize = 64;
/// Footer length of both versions.
pub const FOOTER_LEN: usize = 16;
/// Frame header length of every frame kind.
pub const FRAME_HEADER_LEN: usize = 48;
/// Smallest possible file: header + footer.
pub const MIN_FILE_LEN: u64 = (FILE_HEADER_LEN + FOOTER_LEN) as u64;
/// File header magic.
pub const FILE_MAGIC: &[u8; 4] = b"NTMF";
/// Footer magic.
pub const FOOTER_MAGIC: &[u8; 4] = b"NTFT";

/// Metric-file layout version (header bytes 4–5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// One frame of timestamps and values per metric.
    V1,
    /// Shared time frames plus value-only metric frames (the default).
    V2,
}

impl Version {
    /// The on-disk version number.
    pub fn number(self) -> u16 {
        match self {
            Version::V1 => 1,
            Version::V2 => 2,
        }
    }

    /// Name as shown by `inspect metric` and accepted by `--format`.
    pub fn name(self) -> &'static str {
        match self {
            Version::V1 => "v1",
            Version::V2 => "v2",
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
