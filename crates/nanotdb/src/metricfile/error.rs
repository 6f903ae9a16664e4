//! What reading or writing a metric file fails with: typed damage kinds, so
//! callers and tests can tell damage apart without parsing messages.

use std::fmt;
use std::io;
use std::path::PathBuf;

use crate::codec::CodecError;

/// What is wrong with a damaged metric file; lets callers and tests tell
/// damage kinds apart without parsing messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CorruptKind {
    /// The file is shorter than header + footer.
    TooSmall,
    /// A magic number is wrong.
    BadMagic,
    /// Header or footer version is not the expected one.
    BadVersion,
    /// A header-length field is wrong.
    BadHeaderLen,
    /// A header, footer or payload CRC does not match.
    Checksum,
    /// A reserved field that must be zero is not.
    Reserved,
    /// Header and footer disagree on the frame count.
    CountMismatch,
    /// A structure extends past the end of the file (or overflows).
    OutOfBounds,
    /// Two index entries point at the same frame.
    DuplicateOffset,
    /// A frame header disagrees with its index entry.
    IndexMismatch,
    /// The frame's codec id is not 1..=4.
    UnknownCodec,
    /// The payload does not decompress to the declared length.
    Decompress,
    /// A length field is inconsistent (e.g. not a multiple of the width).
    BadLength,
    /// Decoded first/last timestamps disagree with the header.
    BadTimestamps,
    /// A value type other than 1 or 2.
    BadValueType,
    /// A time encoding other than 1.
    BadTimeEncoding,
    /// A metric entry references a time frame id not in the time index.
    UnknownTimeFrame,
    /// A metric's slice extends past its time frame.
    SliceOutOfRange,
}

impl fmt::Display for CorruptKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CorruptKind::TooSmall => "file too small",
            CorruptKind::BadMagic => "bad magic",
            CorruptKind::BadVersion => "bad version",
            CorruptKind::BadHeaderLen => "bad header length",
            CorruptKind::Checksum => "checksum mismatch",
            CorruptKind::Reserved => "reserved field not zero",
            CorruptKind::CountMismatch => "count mismatch",
            CorruptKind::OutOfBounds => "out of bounds",
            CorruptKind::DuplicateOffset => "duplicate frame offset",
            CorruptKind::IndexMismatch => "frame header does not match index",
            CorruptKind::UnknownCodec => "unknown codec",
            CorruptKind::Decompress => "decompression failed",
            CorruptKind::BadLength => "bad length",
            CorruptKind::BadTimestamps => "timestamps do not match header",
            CorruptKind::BadValueType => "bad value type",
            CorruptKind::BadTimeEncoding => "bad time encoding",
            CorruptKind::UnknownTimeFrame => "unknown time frame",
            CorruptKind::SliceOutOfRange => "metric slice outside its time frame",
        })
    }
}

/// Everything reading or writing a metric file can fail with. Each variant
/// carries the file path; damage also carries the byte offset.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MetricFileError {
    /// An operating-system error.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The file's bytes are damaged or not a metric file.
    #[error("{}: corrupt metric file at offset {offset}: {kind}: {detail}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Offset of the structure (or field) at fault.
        offset: u64,
        /// What kind of damage.
        kind: CorruptKind,
        /// Human detail (values found vs expected).
        detail: String,
    },
    /// The writer was given samples it cannot store.
    #[error("{}: cannot write metric file: {reason}", path.display())]
    InvalidInput {
        /// The file that was to be written.
        path: PathBuf,
        /// What is wrong with the input.
        reason: String,
    },
    /// Compression failed while writing.
    #[error("{}: {source}", path.display())]
    Compress {
        /// The file being written.
        path: PathBuf,
        /// The codec's error.
        #[source]
        source: CodecError,
    },
}

impl MetricFileError {
    /// The damage kind, when this is a [`MetricFileError::Corrupt`].
    pub fn corrupt_kind(&self) -> Option<CorruptKind> {
        match self {
            MetricFileError::Corrupt { kind, .. } => Some(*kind),
            _ => None,
        }
    }

    /// The damage offset, when this is a [`MetricFileError::Corrupt`].
    pub fn offset(&self) -> Option<u64> {
        match self {
            MetricFileError::Corrupt { offset, .. } => Some(*offset),
            _ => None,
        }
    }
}

/// Result type of this module.
pub type Result<T, E = MetricFileError> = std::result::Result<T, E>;
