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
pub mod v1;
pub mod v2;

use std::fmt;
use std::fs::{self, File};
use std::io::{self, Seek, SeekFrom, Write};
use std::ops::ControlFlow;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use crate::codec::CodecError;
use crate::config::Codec;

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

/// All samples of one metric, already grouped and sorted by time.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MetricSamples {
    /// Metric id (≠ 0).
    pub id: u16,
    /// Value type code (1 int32, 2 float32).
    pub value_type: u8,
    /// Timestamps, non-decreasing.
    pub ts: Vec<i64>,
    /// Raw value bits, one per timestamp.
    pub vals: Vec<u32>,
}

/// What [`write_metric_file`] produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteSummary {
    /// Final path of the file.
    pub path: PathBuf,
    /// Layout written.
    pub version: Version,
    /// Codec of every frame.
    pub codec: Codec,
    /// File size in bytes.
    pub bytes: u64,
    /// Number of time frames (0 for v1).
    pub time_frames: u32,
    /// Number of metric frames.
    pub metric_frames: u32,
    /// Total samples.
    pub points: u64,
    /// Header file_min_ts (0 when empty).
    pub min_ts: i64,
    /// Header file_max_ts (0 when empty).
    pub max_ts: i64,
}

/// Writes `metrics` as a metric file at `path` atomically: everything goes
/// to `<path>.tmp`, the header is rewritten last, the file is fsynced when
/// `fsync` is set (then the directory too — safer than the reference, which
/// never syncs the directory) and renamed over `path`. The temp file is
/// removed on any error. Frames are ordered by metric id whatever the input
/// order. Each list must be non-empty, sorted by time, with one value per
/// timestamp, a non-zero id appearing once and value type 1 or 2.
pub fn write_metric_file(
    path: &Path,
    version: Version,
    codec: Codec,
    partition_kind: u8,
    metrics: &[MetricSamples],
    fsync: bool,
) -> Result<WriteSummary> {
    let order = validate_input(path, metrics)?;
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(".tmp");
    let tmp = PathBuf::from(tmp_name);
    let res = write_tmp(
        &tmp,
        path,
        version,
        codec,
        partition_kind,
        metrics,
        &order,
        fsync,
    );
    match res {
        Ok(mut summary) => {
            if let Err(source) = fs::rename(&tmp, path) {
                let _ = fs::remove_file(&tmp);
                return Err(MetricFileError::Io {
                    path: path.to_path_buf(),
                    source,
                });
            }
            cache::global_cache().remove_path(path);
            if fsync {
                sync_parent(path)?;
            }
            summary.path = path.to_path_buf();
            Ok(summary)
        }
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// Checks the writer's input and returns the metric-id order.
fn validate_input(path: &Path, metrics: &[MetricSamples]) -> Result<Vec<usize>> {
    let bad = |reason: String| MetricFileError::InvalidInput {
        path: path.to_path_buf(),
        reason,
    };
    for m in metrics {
        if m.id == 0 {
            return Err(bad("metric id 0".into()));
        }
        if m.value_type != 1 && m.value_type != 2 {
            return Err(bad(format!(
                "metric {}: invalid value type {}",
                m.id, m.value_type
            )));
        }
        if m.ts.is_empty() {
            return Err(bad(format!("metric {}: no samples", m.id)));
        }
        if m.ts.len() != m.vals.len() {
            return Err(bad(format!(
                "metric {}: {} timestamps but {} values",
                m.id,
                m.ts.len(),
                m.vals.len()
            )));
        }
        if let Some(i) = m.ts.windows(2).position(|w| w[1] < w[0]) {
            return Err(bad(format!(
                "metric {}: timestamps not sorted at index {}",
                m.id,
                i + 1
            )));
        }
        // 12 bytes per point must fit the u32 length fields of v1 (and 8 of v2).
        if m.ts.len() > (u32::MAX / 12) as usize {
            return Err(bad(format!("metric {}: too many samples", m.id)));
        }
    }
    let mut order: Vec<usize> = (0..metrics.len()).collect();
    order.sort_by_key(|&i| metrics[i].id);
    if let Some(w) = order
        .windows(2)
        .find(|w| metrics[w[0]].id == metrics[w[1]].id)
    {
        return Err(bad(format!("metric {} appears twice", metrics[w[0]].id)));
    }
    Ok(order)
}

#[allow(clippy::too_many_arguments)]
fn write_tmp(
    tmp: &Path,
    path: &Path,
    version: Version,
    codec: Codec,
    partition_kind: u8,
    metrics: &[MetricSamples],
    order: &[usize],
    fsync: bool,
) -> Result<WriteSummary> {
    let io_err = |source| MetricFileError::Io {
        path: tmp.to_path_buf(),
        source,
    };
    let file = File::create(tmp).map_err(io_err)?;
    let mut w = Out::new(file, tmp);
    w.put(&[0u8; FILE_HEADER_LEN])?;
    let (header, mut summary) = match version {
        Version::V1 => v1::write_body(&mut w, path, codec, partition_kind, metrics, order)?,
        Version::V2 => v2::write_body(&mut w, path, codec, partition_kind, metrics, order)?,
    };
    summary.bytes = w.pos;
    let mut file = w.finish()?;
    file.seek(SeekFrom::Start(0)).map_err(io_err)?;
    file.write_all(&header).map_err(io_err)?;
    if fsync {
        file.sync_all().map_err(io_err)?;
    }
    Ok(summary)
}

/// Fsyncs the directory holding `path`.
fn sync_parent(path: &Path) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|source| MetricFileError::Io {
            path: dir.to_path_buf(),
            source,
        })
}

/// Buffered sequential writer that tracks the file position.
pub(crate) struct Out<'a> {
    w: io::BufWriter<File>,
    path: &'a Path,
    /// Bytes written so far (= offset of the next byte).
    pub(crate) pos: u64,
}

impl<'a> Out<'a> {
    fn new(file: File, path: &'a Path) -> Self {
        Out {
            w: io::BufWriter::with_capacity(256 * 1024, file),
            path,
            pos: 0,
        }
    }

    /// Appends bytes.
    pub(crate) fn put(&mut self, b: &[u8]) -> Result<()> {
        self.w.write_all(b).map_err(|source| MetricFileError::Io {
            path: self.path.to_path_buf(),
            source,
        })?;
        self.pos += b.len() as u64;
        Ok(())
    }

    fn finish(self) -> Result<File> {
        let path = self.path;
        self.w.into_inner().map_err(|e| MetricFileError::Io {
            path: path.to_path_buf(),
            source: e.into_error(),
        })
    }
}

/// Compresses for the writer, mapping errors to the file being written.
pub(crate) fn compress_for(
    path: &Path,
    codec: Codec,
    src: &[u8],
    out: &mut Vec<u8>,
) -> Result<u32> {
    crate::codec::compress(codec, src, out).map_err(|source| MetricFileError::Compress {
        path: path.to_path_buf(),
        source,
    })?;
    u32::try_from(out.len()).map_err(|_| MetricFileError::InvalidInput {
        path: path.to_path_buf(),
        reason: "compressed frame larger than 4 GiB".into(),
    })
}

/// Serialises a file header (both versions): `fields` are bytes 16..60.
pub(crate) fn file_header(version: Version, partition_kind: u8, fields: &[u8; 44]) -> [u8; 64] {
    let mut h = [0u8; 64];
    h[0..4].copy_from_slice(FILE_MAGIC);
    h[4..6].copy_from_slice(&version.number().to_le_bytes());
    h[6..8].copy_from_slice(&(FILE_HEADER_LEN as u16).to_le_bytes());
    h[8..12].copy_from_slice(&1u32.to_le_bytes());
    h[12] = partition_kind;
    h[16..60].copy_from_slice(fields);
    let crc = crc32fast::hash(&h[..60]);
    h[60..64].copy_from_slice(&crc.to_le_bytes());
    h
}

/// Serialises a footer: magic, `word1`, `word2`, CRC.
pub(crate) fn footer(word1: u32, word2: u32) -> [u8; 16] {
    let mut f = [0u8; 16];
    f[0..4].copy_from_slice(FOOTER_MAGIC);
    f[4..8].copy_from_slice(&word1.to_le_bytes());
    f[8..12].copy_from_slice(&word2.to_le_bytes());
    let crc = crc32fast::hash(&f[..12]);
    f[12..16].copy_from_slice(&crc.to_le_bytes());
    f
}

/// Little-endian field readers over a fixed-size buffer. Callers always
/// pass offsets inside the buffer they just read, so these take arrays.
pub(crate) fn le_u16<const N: usize>(b: &[u8; N], off: usize) -> u16 {
    let mut a = [0u8; 2];
    a.copy_from_slice(&b[off..off + 2]);
    u16::from_le_bytes(a)
}

/// See [`le_u16`].
pub(crate) fn le_u32<const N: usize>(b: &[u8; N], off: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[off..off + 4]);
    u32::from_le_bytes(a)
}

/// See [`le_u16`].
pub(crate) fn le_u64<const N: usize>(b: &[u8; N], off: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[off..off + 8]);
    u64::from_le_bytes(a)
}

/// See [`le_u16`].
pub(crate) fn le_i64<const N: usize>(b: &[u8; N], off: usize) -> i64 {
    le_u64(b, off) as i64
}

/// The open file plus what identifies its contents for caching.
#[derive(Debug)]
pub(crate) struct Source {
    pub(crate) path: Arc<Path>,
    pub(crate) file: File,
    pub(crate) len: u64,
    pub(crate) mtime: Option<SystemTime>,
}

impl Source {
    /// A corruption error at `offset`.
    pub(crate) fn corrupt(
        &self,
        offset: u64,
        kind: CorruptKind,
        detail: impl Into<String>,
    ) -> MetricFileError {
        MetricFileError::Corrupt {
            path: self.path.to_path_buf(),
            offset,
            kind,
            detail: detail.into(),
        }
    }

    /// Checks `[offset, offset + n)` lies inside the file.
    pub(crate) fn check_range(&self, offset: u64, n: u64, what: &str) -> Result<()> {
        match offset.checked_add(n) {
            Some(end) if end <= self.len => Ok(()),
            _ => Err(self.corrupt(
                offset,
                CorruptKind::OutOfBounds,
                format!(
                    "{what} of {n} bytes at offset {offset} extends past end of file ({} bytes)",
                    self.len
                ),
            )),
        }
    }

    /// Reads exactly `buf.len()` bytes at `offset`, which must be inside the file.
    pub(crate) fn read_at(&self, offset: u64, buf: &mut [u8], what: &str) -> Result<()> {
        self.check_range(offset, buf.len() as u64, what)?;
        self.file
            .read_exact_at(buf, offset)
            .map_err(|source| MetricFileError::Io {
                path: self.path.to_path_buf(),
                source,
            })
    }

    /// Reads a fixed-size structure at `offset`.
    /// Reads the file header and checks, in v1.4.0's reader order (docs/FORMATS.md §8), its
    /// magic, `version`, header length and CRC (the checks v1 and v2 share).
    pub(crate) fn file_header(&self, version: u16) -> Result<[u8; FILE_HEADER_LEN]> {
        let h: [u8; FILE_HEADER_LEN] = self.read_array(0, "file header")?;
        if &h[0..4] != FILE_MAGIC {
            return Err(self.corrupt(0, CorruptKind::BadMagic, "file magic is not NTMF"));
        }
        let v = le_u16(&h, 4);
        if v != version {
            return Err(self.corrupt(
                4,
                CorruptKind::BadVersion,
                format!("version {v}, want {version}"),
            ));
        }
        let hl = le_u16(&h, 6);
        if usize::from(hl) != FILE_HEADER_LEN {
            return Err(self.corrupt(
                6,
                CorruptKind::BadHeaderLen,
                format!("header_len {hl}, want 64"),
            ));
        }
        self.check_crc(0, &h, 60, "header")?;
        Ok(h)
    }

    /// Checks a structure read at `offset` whose CRC-32 of bytes `..at` is
    /// stored little-endian at `at` (file header, footer, frame headers);
    /// `what` names it in the error.
    pub(crate) fn check_crc<const N: usize>(
        &self,
        offset: u64,
        b: &[u8; N],
        at: usize,
        what: &str,
    ) -> Result<()> {
        let stored = le_u32(b, at);
        let computed = crc32fast::hash(&b[..at]);
        if stored != computed {
            return Err(self.corrupt(
                offset,
                CorruptKind::Checksum,
                format!("{what} CRC stored {stored:#010x}, computed {computed:#010x}"),
            ));
        }
        Ok(())
    }

    pub(crate) fn read_array<const N: usize>(&self, offset: u64, what: &str) -> Result<[u8; N]> {
        let mut b = [0u8; N];
        self.read_at(offset, &mut b, what)?;
        Ok(b)
    }

    /// Reads `payload_len` bytes plus the 4-byte CRC after them into `buf`
    /// (after checking they exist), verifies the CRC and returns the payload.
    pub(crate) fn read_payload<'b>(
        &self,
        offset: u64,
        payload_len: u32,
        buf: &'b mut Vec<u8>,
        what: &str,
    ) -> Result<&'b [u8]> {
        let n = payload_len as usize + 4;
        self.check_range(offset, n as u64, what)?;
        buf.clear();
        buf.resize(n, 0);
        self.read_at(offset, buf, what)?;
        let (payload, crc) = buf.split_at(payload_len as usize);
        let stored = u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]);
        let computed = crc32fast::hash(payload);
        if stored != computed {
            return Err(self.corrupt(
                offset,
                CorruptKind::Checksum,
                format!("{what} CRC stored {stored:#010x}, computed {computed:#010x}"),
            ));
        }
        Ok(payload)
    }

    /// Decompresses a payload read at `offset` to exactly `expected_len` bytes.
    pub(crate) fn decompress(
        &self,
        offset: u64,
        codec_id: u16,
        payload: &[u8],
        expected_len: u32,
        out: &mut Vec<u8>,
        what: &str,
    ) -> Result<()> {
        crate::codec::decompress(codec_id, payload, expected_len as usize, out).map_err(|e| {
            let kind = match e {
                CodecError::UnknownCodec(_) => CorruptKind::UnknownCodec,
                _ => CorruptKind::Decompress,
            };
            self.corrupt(offset, kind, format!("{what}: {e}"))
        })
    }
}

/// Checks a codec id is known.
pub(crate) fn check_codec(src: &Source, offset: u64, codec_id: u16, what: &str) -> Result<()> {
    if u8::try_from(codec_id)
        .ok()
        .and_then(Codec::from_id)
        .is_none()
    {
        return Err(src.corrupt(
            offset,
            CorruptKind::UnknownCodec,
            format!("{what} codec id {codec_id}"),
        ));
    }
    Ok(())
}

/// One metric frame as listed by the index (no payload decoded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameInfo {
    /// Absolute offset of the frame.
    pub offset: u64,
    /// Metric id.
    pub metric_id: u16,
    /// Value type code.
    pub value_type: u8,
    /// Points (v2: decoded_len / 4).
    pub point_count: u32,
    /// Compressed payload bytes.
    pub payload_len: u32,
    /// Decoded payload bytes (v1: 12·n, v2: 4·n).
    pub decoded_len: u32,
    /// First timestamp.
    pub start_ts: i64,
    /// Last timestamp.
    pub end_ts: i64,
    /// Referenced time frame (v2 only).
    pub time_frame_id: Option<u16>,
    /// Slice start inside the time frame (v2 only).
    pub time_offset: Option<u32>,
}

/// One v2 time frame as listed by the time index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeFrameInfo {
    /// Time frame id.
    pub id: u16,
    /// Absolute offset of the frame.
    pub offset: u64,
    /// Timestamps in the frame.
    pub point_count: u32,
    /// Compressed payload bytes.
    pub payload_len: u32,
    /// Decoded payload bytes (8·n).
    pub decoded_len: u32,
    /// First timestamp.
    pub start_ts: i64,
    /// Last timestamp.
    pub end_ts: i64,
}

/// Header and index contents of a metric file, for `inspect metric`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSummary {
    /// Layout version.
    pub version: Version,
    /// File size.
    pub file_len: u64,
    /// Header flags (1 = sealed; never checked).
    pub flags: u32,
    /// Partition kind code (docs/FORMATS.md §7.2; never checked).
    pub partition_kind: u8,
    /// Header file_min_ts.
    pub min_ts: i64,
    /// Header file_max_ts.
    pub max_ts: i64,
    /// Time frames (empty for v1).
    pub time_frames: Vec<TimeFrameInfo>,
    /// Metric frames in index order.
    pub frames: Vec<FrameInfo>,
}

impl FileSummary {
    /// Total points over all metric frames.
    pub fn points(&self) -> u64 {
        self.frames.iter().map(|f| u64::from(f.point_count)).sum()
    }

    /// Number of distinct metric ids.
    pub fn distinct_metrics(&self) -> usize {
        let mut ids: Vec<u16> = self.frames.iter().map(|f| f.metric_id).collect();
        ids.sort_unstable();
        ids.dedup();
        ids.len()
    }

    /// Sum of metric-frame payload lengths.
    pub fn payload_bytes(&self) -> u64 {
        self.frames.iter().map(|f| u64::from(f.payload_len)).sum()
    }
}

#[derive(Debug)]
enum Layout {
    V1(v1::Index),
    V2(v2::Index),
}

/// An open, index-validated metric file (either version).
#[derive(Debug)]
pub struct MetricFile {
    src: Source,
    layout: Layout,
}

impl MetricFile {
    /// Opens `path` and validates footer, header and indexes in the
    /// reference order (docs/FORMATS.md §8.2 steps 1–6, docs/FORMATS.md §8.5 steps 1–4). Frames are checked
    /// only when read.
    pub fn open(path: &Path) -> Result<MetricFile> {
        let io_err = |source| MetricFileError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = File::open(path).map_err(io_err)?;
        let meta = file.metadata().map_err(io_err)?;
        let src = Source {
            path: Arc::from(path),
            file,
            len: meta.len(),
            mtime: meta.modified().ok(),
        };
        if src.len < MIN_FILE_LEN {
            return Err(src.corrupt(
                0,
                CorruptKind::TooSmall,
                format!("{} bytes, need at least {MIN_FILE_LEN}", src.len),
            ));
        }
        let head: [u8; 8] = src.read_array(0, "file header")?;
        if &head[0..4] != FILE_MAGIC {
            return Err(src.corrupt(0, CorruptKind::BadMagic, "file magic is not NTMF"));
        }
        let layout = match u16::from_le_bytes([head[4], head[5]]) {
            1 => Layout::V1(v1::Index::load(&src)?),
            2 => Layout::V2(v2::Index::load(&src)?),
            v => {
                return Err(src.corrupt(
                    4,
                    CorruptKind::BadVersion,
                    format!("unsupported metric file version {v}"),
                ));
            }
        };
        Ok(MetricFile { src, layout })
    }

    /// The path the file was opened from.
    pub fn path(&self) -> &Path {
        &self.src.path
    }

    /// File size at open.
    pub fn len(&self) -> u64 {
        self.src.len
    }

    /// Always false: a valid metric file holds at least header + footer.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Layout version.
    pub fn version(&self) -> Version {
        match self.layout {
            Layout::V1(_) => Version::V1,
            Layout::V2(_) => Version::V2,
        }
    }

    /// Header and index contents, without reading any frame.
    pub fn summary(&self) -> FileSummary {
        match &self.layout {
            Layout::V1(ix) => ix.summary(self.src.len),
            Layout::V2(ix) => ix.summary(self.src.len),
        }
    }

    /// Distinct metric ids present, ascending.
    pub fn metrics(&self) -> Vec<u16> {
        let mut ids: Vec<u16> = match &self.layout {
            Layout::V1(ix) => ix.entries.iter().map(|e| e.metric_id).collect(),
            Layout::V2(ix) => ix.metrics.iter().map(|e| e.metric_id).collect(),
        };
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// Value type code of `id`, if present.
    pub fn value_type(&self, id: u16) -> Option<u8> {
        match &self.layout {
            Layout::V1(ix) => ix
                .entries
                .iter()
                .find(|e| e.metric_id == id)
                .map(|e| e.value_type),
            Layout::V2(ix) => ix
                .metrics
                .iter()
                .find(|e| e.metric_id == id)
                .map(|e| e.value_type),
        }
    }

    /// Streams the samples of metric `id` with `from <= ts <= to`, frame by
    /// frame in index order, running every per-frame check first. Stops
    /// early when `f` breaks.
    pub fn read_metric(
        &self,
        id: u16,
        from: i64,
        to: i64,
        f: &mut impl FnMut(i64, u32) -> ControlFlow<()>,
    ) -> Result<()> {
        let mut emit = |_: u16, ts: i64, v: u32| f(ts, v);
        self.read_filtered(Some(id), from, to, &mut emit)
            .map(|_| ())
    }

    /// Streams every sample with `from <= ts <= to` as (metric id, ts,
    /// value bits), metric frame by metric frame in index order.
    pub fn read_all(&self, from: i64, to: i64, mut f: impl FnMut(u16, i64, u32)) -> Result<()> {
        let mut emit = |id: u16, ts: i64, v: u32| {
            f(id, ts, v);
            ControlFlow::Continue(())
        };
        self.read_filtered(None, from, to, &mut emit).map(|_| ())
    }

    fn read_filtered(
        &self,
        id: Option<u16>,
        from: i64,
        to: i64,
        f: &mut dyn FnMut(u16, i64, u32) -> ControlFlow<()>,
    ) -> Result<ControlFlow<()>> {
        match &self.layout {
            Layout::V1(ix) => ix.read(&self.src, id, from, to, f),
            Layout::V2(ix) => ix.read(&self.src, id, from, to, f),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::datafile;
    use crate::page::DecodedFrame;
    use std::collections::BTreeMap;

    use crate::testutil::fixtures;

    type Series = BTreeMap<u16, Vec<(i64, u32)>>;

    /// Samples of a raw data file grouped per metric id (file order, then a
    /// stable sort by timestamp), as the reference build does.
    fn load_raw(path: &Path) -> Series {
        let scan = datafile::scan_file(path, true).unwrap();
        assert!(scan.damage.is_none(), "{path:?}: {:?}", scan.damage);
        let file = File::open(path).unwrap();
        let mut block = Vec::new();
        let mut dec = DecodedFrame::default();
        let mut out = Series::new();
        for fi in &scan.frames {
            datafile::read_frame(&file, fi, &mut block, &mut dec)
                .unwrap()
                .unwrap();
            for i in 0..dec.len() {
                out.entry(dec.id(i))
                    .or_default()
                    .push((dec.ts(i), dec.val(i)));
            }
        }
        for v in out.values_mut() {
            v.sort_by_key(|s| s.0);
        }
        out
    }

    fn read_series(mf: &MetricFile) -> Series {
        let mut out = Series::new();
        mf.read_all(i64::MIN, i64::MAX, |id, ts, v| {
            out.entry(id).or_default().push((ts, v))
        })
        .unwrap();
        out
    }

    /// (id, type) pairs of a catalog.json, without a JSON dependency: every
    /// entry is `"id": N,` followed by `"type": T`.
    fn catalog_types(dir: &Path) -> BTreeMap<u16, u8> {
        let text = fs::read_to_string(dir.join("catalog.json")).unwrap();
        let num_after = |s: &str, key: &str| -> Vec<u64> {
            s.split(key)
                .skip(1)
                .map(|rest| {
                    let d: String = rest
                        .trim_start_matches([':', ' '])
                        .chars()
                        .take_while(char::is_ascii_digit)
                        .collect();
                    d.parse().unwrap()
                })
                .collect()
        };
        let ids = num_after(&text, "\"id\"");
        let types = num_after(&text, "\"type\"");
        assert_eq!(ids.len(), types.len());
        ids.into_iter()
            .zip(types)
            .map(|(i, t)| (i as u16, t as u8))
            .collect()
    }

    fn raw_file(dir: &Path) -> PathBuf {
        let d = dir.join("data-2026-01-01.dat");
        if d.exists() {
            d
        } else {
            dir.join("raw-2026-01-01.dat")
        }
    }

    /// Codec ids found in every frame header of a file.
    fn frame_codecs(path: &Path, s: &FileSummary) -> Vec<u16> {
        let bytes = fs::read(path).unwrap();
        let at = |off: u64| u16::from_le_bytes([bytes[off as usize + 6], bytes[off as usize + 7]]);
        let mut ids: Vec<u16> = s.frames.iter().map(|f| at(f.offset)).collect();
        ids.extend(s.time_frames.iter().map(|t| at(t.offset)));
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    #[test]
    fn reference_fixtures_match_raw_files() {
        let cases: [(&str, Version, u16, u64); 7] = [
            ("codecs/root/edge_s2", Version::V2, 1, 189_026),
            ("codecs/root/edge_s2b", Version::V2, 2, 182_273),
            ("codecs/root/edge_zd", Version::V2, 4, 148_288),
            ("codecs/root/edge_v1", Version::V1, 3, 662_134),
            ("codecs/root/edge_v1s2", Version::V1, 1, 690_461),
            ("codecs/root/edge_renamed", Version::V2, 3, 169_465),
            ("edge-2h/root/edge", Version::V2, 3, 169_465),
        ];
        for (dir, version, codec, size) in cases {
            let dir = fixtures().join(dir);
            let path = dir.join("metric-2026-01-01.dat");
            let mf = MetricFile::open(&path).unwrap();
            assert_eq!(mf.version(), version, "{dir:?}");
            assert_eq!(mf.len(), size, "{dir:?}");
            let s = mf.summary();
            assert_eq!(frame_codecs(&path, &s), vec![codec], "{dir:?}");
            let raw = load_raw(&raw_file(&dir));
            let got = read_series(&mf);
            assert_eq!(got.len(), raw.len(), "{dir:?}");
            assert_eq!(mf.metrics(), raw.keys().copied().collect::<Vec<_>>());
            for (id, want) in &raw {
                let have = &got[id];
                assert_eq!(have.len(), want.len(), "{dir:?} metric {id}");
                assert!(have == want, "{dir:?} metric {id}: samples differ");
            }
            let points: usize = raw.values().map(Vec::len).sum();
            assert_eq!(points, 61_920);
            assert_eq!(s.points(), 61_920);
            assert_eq!(s.distinct_metrics(), raw.len());
            let types = catalog_types(&dir);
            for id in mf.metrics() {
                assert_eq!(mf.value_type(id), types.get(&id).copied(), "metric {id}");
            }
            // Per-metric reads agree with the full read, also for a sub-range.
            let (&id, want) = raw.iter().next().unwrap();
            let (lo, hi) = (want[10].0, want[want.len() - 10].0);
            let mut have = Vec::new();
            mf.read_metric(id, lo, hi, &mut |ts, v| {
                have.push((ts, v));
                ControlFlow::Continue(())
            })
            .unwrap();
            let expect: Vec<_> = want
                .iter()
                .copied()
                .filter(|s| s.0 >= lo && s.0 <= hi)
                .collect();
            assert_eq!(have, expect);
            // Early stop.
            let mut n = 0;
            mf.read_metric(id, i64::MIN, i64::MAX, &mut |_, _| {
                n += 1;
                if n == 3 {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            })
            .unwrap();
            assert_eq!(n, 3);
        }
    }

    /// The edge-2h samples as writer input (value types from the catalog).
    fn edge_input() -> Vec<MetricSamples> {
        let dir = fixtures().join("edge-2h/root/edge");
        let types = catalog_types(&dir);
        load_raw(&dir.join("data-2026-01-01.dat"))
            .into_iter()
            .map(|(id, v)| MetricSamples {
                id,
                value_type: types[&id],
                ts: v.iter().map(|s| s.0).collect(),
                vals: v.iter().map(|s| s.1).collect(),
            })
            .collect()
    }

    #[test]
    fn writer_round_trip_and_sizes_vs_reference() {
        let input = edge_input();
        let want: Series = input
            .iter()
            .map(|m| {
                (
                    m.id,
                    m.ts.iter().copied().zip(m.vals.iter().copied()).collect(),
                )
            })
            .collect();
        let tmp = tempfile::tempdir().unwrap();
        let refs: [(Version, Codec, Option<&str>); 8] = [
            (Version::V2, Codec::S2, Some("codecs/root/edge_s2")),
            (Version::V2, Codec::S2Better, Some("codecs/root/edge_s2b")),
            (Version::V2, Codec::ZstdFastest, Some("edge-2h/root/edge")),
            (Version::V2, Codec::ZstdDefault, Some("codecs/root/edge_zd")),
            (Version::V1, Codec::S2, Some("codecs/root/edge_v1s2")),
            (Version::V1, Codec::S2Better, None),
            (Version::V1, Codec::ZstdFastest, Some("codecs/root/edge_v1")),
            (Version::V1, Codec::ZstdDefault, None),
        ];
        let mut failures = Vec::new();
        for (version, codec, reference) in refs {
            let path = tmp
                .path()
                .join(format!("metric-{}-{}.dat", version, codec.name()));
            // Reversed input order: the writer must order frames by id itself.
            let mut rev = input.clone();
            rev.reverse();
            let sum = write_metric_file(&path, version, codec, 1, &rev, false).unwrap();
            assert!(!tmp.path().join(format!("{}.tmp", path.display())).exists());
            assert_eq!(sum.bytes, fs::metadata(&path).unwrap().len());
            assert_eq!(sum.points, 61_920);
            assert_eq!(sum.metric_frames as usize, input.len());
            let mf = MetricFile::open(&path).unwrap();
            assert_eq!(mf.version(), version);
            let s = mf.summary();
            assert_eq!(frame_codecs(&path, &s), vec![u16::from(codec.id())]);
            let ids: Vec<u16> = s.frames.iter().map(|f| f.metric_id).collect();
            assert!(ids.windows(2).all(|w| w[0] < w[1]), "frames in id order");
            assert!(read_series(&mf) == want, "{version} {}", codec.name());
            if let Some(r) = reference {
                let rpath = fixtures().join(r).join("metric-2026-01-01.dat");
                let rsize = fs::metadata(&rpath).unwrap().len();
                let rs = MetricFile::open(&rpath).unwrap().summary();
                assert_eq!(s.time_frames.len(), rs.time_frames.len(), "{r}");
                let diff = (sum.bytes as f64 - rsize as f64) / rsize as f64 * 100.0;
                println!(
                    "{version}/{:<13} ours={:>7} reference={:>7} diff={:+.2}%",
                    codec.name(),
                    sum.bytes,
                    rsize,
                    diff
                );
                let (lo, hi) = (-3.0, 3.0);
                if diff < lo || diff > hi {
                    failures.push(format!("{version}/{}: {diff:+.2}%", codec.name()));
                }
            } else {
                println!(
                    "{version}/{:<13} ours={:>7} (no reference)",
                    codec.name(),
                    sum.bytes
                );
            }
        }
        assert!(
            failures.is_empty(),
            "size off by more than 3%: {failures:?}"
        );
    }

    fn ms(id: u16, vt: u8, ts: &[i64], vals: &[u32]) -> MetricSamples {
        MetricSamples {
            id,
            value_type: vt,
            ts: ts.to_vec(),
            vals: vals.to_vec(),
        }
    }

    #[test]
    fn v2_planning_reference_example() {
        let ts = [100, 200, 300, 400];
        let metrics = [
            ms(12, 1, &[300, 400], &[7, 8]),
            ms(10, 1, &ts, &[1, 2, 3, 4]),
            ms(
                11,
                2,
                &ts,
                &[0x3f80_0000, 0x4000_0000, 0x4040_0000, 0x4080_0000],
            ),
        ];
        let lists: Vec<&[i64]> = vec![&ts, &ts, &[300, 400]];
        let (frames, placements) = v2::plan_time_frames(&lists).unwrap();
        assert_eq!(frames, vec![0]);
        let p = |time_frame_id, time_offset| v2::Placement {
            time_frame_id,
            time_offset,
        };
        assert_eq!(placements, vec![p(1, 0), p(1, 0), p(1, 2)]);

        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("metric-2026-01-01.dat");
        let sum =
            write_metric_file(&path, Version::V2, Codec::ZstdFastest, 1, &metrics, true).unwrap();
        assert_eq!((sum.time_frames, sum.metric_frames), (1, 3));
        assert_eq!((sum.min_ts, sum.max_ts), (100, 400));
        let bytes = fs::read(&path).unwrap();
        let h: [u8; 64] = bytes[..64].try_into().unwrap();
        assert_eq!(&h[0..4], b"NTMF");
        assert_eq!(le_u16(&h, 4), 2);
        assert_eq!(le_u32(&h, 8), 1);
        assert_eq!(h[12], 1);
        assert_eq!((le_i64(&h, 16), le_i64(&h, 24)), (100, 400));
        assert_eq!((le_u32(&h, 32), le_u32(&h, 36)), (1, 3));
        assert_eq!(le_u64(&h, 48), le_u64(&h, 40) + 40);
        assert_eq!(le_u64(&h, 48) + 3 * 44 + 16, bytes.len() as u64);
        assert_eq!(&bytes[64..68], b"TPG2");
        assert_eq!(&bytes[bytes.len() - 16..bytes.len() - 12], b"NTFT");

        let mf = MetricFile::open(&path).unwrap();
        let s = mf.summary();
        assert_eq!(s.time_frames.len(), 1);
        let t = s.time_frames[0];
        assert_eq!(
            (t.id, t.offset, t.point_count, t.decoded_len),
            (1, 64, 4, 32)
        );
        assert_eq!((t.start_ts, t.end_ts), (100, 400));
        let got: Vec<_> = s
            .frames
            .iter()
            .map(|f| {
                (
                    f.metric_id,
                    f.value_type,
                    f.time_frame_id,
                    f.time_offset,
                    f.point_count,
                    f.decoded_len,
                    f.start_ts,
                    f.end_ts,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (10, 1, Some(1), Some(0), 4, 16, 100, 400),
                (11, 2, Some(1), Some(0), 4, 16, 100, 400),
                (12, 1, Some(1), Some(2), 2, 8, 300, 400),
            ]
        );
        let mut out = Vec::new();
        mf.read_metric(12, i64::MIN, i64::MAX, &mut |ts, v| {
            out.push((ts, v));
            ControlFlow::Continue(())
        })
        .unwrap();
        assert_eq!(out, vec![(300, 7), (400, 8)]);
        let mut out = Vec::new();
        mf.read_metric(11, 150, 300, &mut |ts, v| {
            out.push((ts, v));
            ControlFlow::Continue(())
        })
        .unwrap();
        assert_eq!(out, vec![(200, 0x4000_0000), (300, 0x4040_0000)]);
    }

    #[test]
    fn planning_picks_first_frame_and_lowest_offset() {
        let a: &[i64] = &[1, 2, 2, 2, 3, 5];
        let b: &[i64] = &[2, 2, 3];
        let c: &[i64] = &[7, 8, 9, 10, 11, 12, 13];
        let d: &[i64] = &[2, 3];
        let e: &[i64] = &[4];
        let (frames, pl) = v2::plan_time_frames(&[a, b, c, d, e]).unwrap();
        // Visit order: c (7), a (6), b (3), d (2), e (1) → c gets id 1, a id 2.
        assert_eq!(frames, vec![2, 0, 4]);
        let got: Vec<(u16, u32)> = pl
            .iter()
            .map(|p| (p.time_frame_id, p.time_offset))
            .collect();
        assert_eq!(got, vec![(2, 0), (2, 2), (1, 0), (2, 3), (3, 0)]);
    }

    #[test]
    fn writer_rejects_bad_input_and_leaves_no_tmp() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("metric-x.dat");
        let cases = [
            vec![ms(0, 1, &[1], &[1])],
            vec![ms(1, 3, &[1], &[1])],
            vec![ms(1, 1, &[], &[])],
            vec![ms(1, 1, &[1, 2], &[1])],
            vec![ms(1, 1, &[2, 1], &[1, 1])],
            vec![ms(1, 1, &[1], &[1]), ms(1, 2, &[1], &[1])],
        ];
        for c in cases {
            for v in [Version::V1, Version::V2] {
                let e = write_metric_file(&path, v, Codec::S2, 1, &c, false).unwrap_err();
                assert!(matches!(e, MetricFileError::InvalidInput { .. }), "{e}");
            }
        }
        assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 0);
        // A missing directory: I/O error, nothing left behind.
        let bad = tmp.path().join("nope/metric.dat");
        let e = write_metric_file(
            &bad,
            Version::V2,
            Codec::S2,
            1,
            &[ms(1, 1, &[1], &[1])],
            false,
        )
        .unwrap_err();
        assert!(matches!(e, MetricFileError::Io { .. }));
        // Empty input is a valid (empty) file for both versions.
        for v in [Version::V1, Version::V2] {
            let s = write_metric_file(&path, v, Codec::S2, 4, &[], false).unwrap();
            assert_eq!(s.bytes, 80);
            let mf = MetricFile::open(&path).unwrap();
            assert_eq!(mf.version(), v);
            assert!(mf.metrics().is_empty());
            assert_eq!(mf.summary().partition_kind, 4);
        }
    }

    #[test]
    fn v1_layout_bytes() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("m.dat");
        let metrics = [ms(9, 2, &[5, 6], &[1, 2]), ms(3, 1, &[-4], &[7])];
        let s = write_metric_file(&path, Version::V1, Codec::S2, 2, &metrics, false).unwrap();
        assert_eq!((s.min_ts, s.max_ts, s.metric_frames), (-4, 6, 2));
        let b = fs::read(&path).unwrap();
        let h: [u8; 64] = b[..64].try_into().unwrap();
        assert_eq!(
            (le_u16(&h, 4), le_u16(&h, 6), le_u32(&h, 8), h[12]),
            (1, 64, 1, 2)
        );
        assert_eq!((le_i64(&h, 16), le_i64(&h, 24)), (-4, 6));
        assert_eq!((le_u32(&h, 32), le_u32(&h, 36)), (2, 2));
        assert_eq!(le_u32(&h, 60), crc32fast::hash(&h[..60]));
        // First frame is metric 3 at offset 64, a literal-only S2 block of 12 bytes.
        let f: [u8; 48] = b[64..112].try_into().unwrap();
        assert_eq!(&f[0..4], b"MPG1");
        assert_eq!(
            (le_u16(&f, 4), le_u16(&f, 6), le_u16(&f, 8), f[10]),
            (48, 1, 3, 1)
        );
        assert_eq!((le_i64(&f, 12), le_i64(&f, 20)), (-4, -4));
        assert_eq!(
            (le_u32(&f, 28), le_u32(&f, 32), le_u32(&f, 36)),
            (1, 14, 12)
        );
        assert_eq!(&b[112..114], &[12, 11 << 2]);
        let ft: [u8; 16] = b[b.len() - 16..].try_into().unwrap();
        assert_eq!(
            (&ft[0..4], le_u32(&ft, 4), le_u32(&ft, 8)),
            (&b"NTFT"[..], 1, 2)
        );
        let pi: [u8; 44] = b[b.len() - 16 - 88..b.len() - 16 - 44].try_into().unwrap();
        assert_eq!((le_u16(&pi, 0), pi[2], le_u64(&pi, 4)), (3, 1, 64));
        assert_eq!(
            (le_u32(&pi, 28), le_u32(&pi, 32), le_u32(&pi, 36)),
            (1, 12, 14)
        );
    }

    /// A small file of either version with several metrics and two time frames.
    fn small_file(dir: &Path, version: Version, name: &str) -> (PathBuf, Vec<u8>) {
        let ts: Vec<i64> = (0..40).map(|i| 1_000_000_000 * i + (i * i) % 7).collect();
        let vals: Vec<u32> = (0..40u32).map(|i| i.wrapping_mul(2_654_435_761)).collect();
        let metrics = [
            ms(1, 1, &ts, &vals),
            ms(2, 2, &ts[5..20], &vals[5..20]),
            ms(3, 1, &[3, 4, 5], &[1, 2, 3]),
        ];
        let path = dir.join(name);
        write_metric_file(&path, version, Codec::ZstdFastest, 1, &metrics, false).unwrap();
        let bytes = fs::read(&path).unwrap();
        (path, bytes)
    }

    /// Opens and fully reads a file; the first error, if any.
    fn open_and_read(path: &Path) -> Result<usize> {
        let mf = MetricFile::open(path)?;
        let mut n = 0;
        mf.read_all(i64::MIN, i64::MAX, |_, _, _| n += 1)?;
        Ok(n)
    }

    fn flipped(dir: &Path, bytes: &[u8], at: usize, mask: u8, tag: &str) -> PathBuf {
        let mut b = bytes.to_vec();
        b[at] ^= mask;
        // A fresh name per variant: the time-frame cache key is (path, size,
        // mtime, id) and same-size rewrites within one mtime tick would hit it.
        let p = dir.join(format!("{tag}-{at}-{mask}.dat"));
        fs::write(&p, b).unwrap();
        p
    }

    #[test]
    fn v1_flips_in_every_region_are_typed_errors() {
        let tmp = tempfile::tempdir().unwrap();
        let (path, b) = small_file(tmp.path(), Version::V1, "v1.dat");
        assert_eq!(open_and_read(&path).unwrap(), 58);
        let len = b.len();
        let s = MetricFile::open(&path).unwrap().summary();
        let f1 = s.frames[1].offset as usize;
        let pi = len - 16 - 3 * 44;
        let cases: Vec<(usize, CorruptKind, u64)> = vec![
            (0, CorruptKind::BadMagic, 0),
            (20, CorruptKind::Checksum, 0),
            (64 + 12, CorruptKind::Checksum, 64),
            (64, CorruptKind::BadMagic, 64),
            (f1 + 48 + 3, CorruptKind::Checksum, f1 as u64 + 48),
            (pi, CorruptKind::IndexMismatch, 64),
            (
                pi + 44 + 11,
                CorruptKind::OutOfBounds,
                s.frames[1].offset ^ (1 << 56),
            ),
            (pi + 40, CorruptKind::Reserved, pi as u64 + 40),
            (len - 16, CorruptKind::BadMagic, len as u64 - 16),
            (len - 8, CorruptKind::Checksum, len as u64 - 16),
            (len - 1, CorruptKind::Checksum, len as u64 - 16),
        ];
        for (at, kind, offset) in cases {
            let p = flipped(tmp.path(), &b, at, 1, "v1");
            let e = open_and_read(&p).unwrap_err();
            assert_eq!(e.corrupt_kind(), Some(kind), "flip at {at}: {e}");
            assert_eq!(e.offset(), Some(offset), "flip at {at}: {e}");
            assert!(e.to_string().contains(&format!("offset {offset}")), "{e}");
        }
        // Exhaustive: every flip fails except in the unchecked PAGE_INFO
        // fields (reserved byte 3, min/max timestamps 12..27).
        for at in 0..len {
            let unchecked = at >= pi && at < len - 16 && {
                let k = (at - pi) % 44;
                k == 3 || (12..28).contains(&k)
            };
            let p = flipped(tmp.path(), &b, at, 0x80, "v1x");
            let r = open_and_read(&p);
            if unchecked {
                assert_eq!(r.unwrap(), 58, "flip at {at}");
            } else {
                assert!(r.is_err(), "flip at {at} not detected");
            }
            fs::remove_file(p).unwrap();
        }
    }

    #[test]
    fn v2_flips_in_every_region_are_typed_errors() {
        let tmp = tempfile::tempdir().unwrap();
        let (path, b) = small_file(tmp.path(), Version::V2, "v2.dat");
        assert_eq!(open_and_read(&path).unwrap(), 58);
        let len = b.len();
        let s = MetricFile::open(&path).unwrap().summary();
        assert_eq!(s.time_frames.len(), 2);
        let t1 = s.time_frames[1].offset as usize;
        let m0 = s.frames[0].offset as usize;
        let ti = len - 16 - 3 * 44 - 2 * 40;
        let mi = len - 16 - 3 * 44;
        let cases: Vec<(usize, CorruptKind, u64)> = vec![
            (20, CorruptKind::Checksum, 0),
            (57, CorruptKind::Checksum, 0),
            (64 + 12, CorruptKind::Checksum, 64),
            (64 + 41, CorruptKind::Reserved, 104),
            (64 + 48, CorruptKind::Checksum, 112),
            (t1 + 10, CorruptKind::Checksum, t1 as u64),
            (m0 + 12, CorruptKind::Checksum, m0 as u64),
            (m0 + 30, CorruptKind::Reserved, m0 as u64 + 30),
            (m0 + 48 + 2, CorruptKind::Checksum, m0 as u64 + 48),
            (ti + 12, CorruptKind::IndexMismatch, 64),
            (ti + 2, CorruptKind::Reserved, ti as u64 + 2),
            (ti, CorruptKind::UnknownTimeFrame, m0 as u64),
            (mi + 3, CorruptKind::Reserved, mi as u64 + 3),
            (mi + 33, CorruptKind::IndexMismatch, m0 as u64),
            (len - 16, CorruptKind::BadMagic, len as u64 - 16),
            (len - 12, CorruptKind::BadVersion, len as u64 - 12),
            (len - 8, CorruptKind::Reserved, len as u64 - 8),
            (len - 1, CorruptKind::Checksum, len as u64 - 16),
        ];
        for (at, kind, offset) in cases {
            let p = flipped(tmp.path(), &b, at, 1, "v2");
            let e = open_and_read(&p).unwrap_err();
            assert_eq!(e.corrupt_kind(), Some(kind), "flip at {at}: {e}");
            assert_eq!(e.offset(), Some(offset), "flip at {at}: {e}");
        }
        // Exhaustive: in v2 every byte is checked by a CRC or a cross-check.
        for at in 0..len {
            let p = flipped(tmp.path(), &b, at, 0x80, "v2x");
            assert!(open_and_read(&p).is_err(), "flip at {at} not detected");
            fs::remove_file(p).unwrap();
        }
    }

    #[test]
    fn truncations_and_bad_versions() {
        let tmp = tempfile::tempdir().unwrap();
        for v in [Version::V1, Version::V2] {
            let (_, b) = small_file(tmp.path(), v, "t.dat");
            for cut in [0, 10, 79] {
                let p = tmp.path().join(format!("cut-{v}-{cut}"));
                fs::write(&p, &b[..cut]).unwrap();
                let e = MetricFile::open(&p).unwrap_err();
                assert_eq!(e.corrupt_kind(), Some(CorruptKind::TooSmall));
            }
            let mut c = b.clone();
            c[4] = 3;
            let p = tmp.path().join(format!("ver-{v}"));
            fs::write(&p, &c).unwrap();
            let e = MetricFile::open(&p).unwrap_err();
            assert_eq!(
                (e.corrupt_kind(), e.offset()),
                (Some(CorruptKind::BadVersion), Some(4))
            );
        }
        let e = MetricFile::open(&tmp.path().join("missing")).unwrap_err();
        assert!(matches!(e, MetricFileError::Io { .. }));
    }

    #[test]
    fn time_frame_cache_is_used_and_keyed_by_file() {
        let tmp = tempfile::tempdir().unwrap();
        let (path, _) = small_file(tmp.path(), Version::V2, "cache.dat");
        let mf = MetricFile::open(&path).unwrap();
        let key = |id| cache::CacheKey {
            path: Arc::from(path.as_path()),
            size: mf.len(),
            mtime: fs::metadata(&path).unwrap().modified().ok(),
            id,
        };
        assert!(cache::global_cache().get(&key(1)).is_none());
        mf.read_metric(2, i64::MIN, i64::MAX, &mut |_, _| ControlFlow::Continue(()))
            .unwrap();
        let ts = cache::global_cache().get(&key(1)).unwrap();
        assert_eq!(ts.len(), 40);
        // Rewriting the file purges its entries even if size and mtime match.
        let (_, _) = small_file(tmp.path(), Version::V2, "cache.dat");
        assert!(cache::global_cache().get(&key(1)).is_none());
    }

    /// Counts the largest single allocation per thread, to show damaged
    /// files never make the reader allocate from an unchecked length.
    pub(crate) mod alloc_probe {
        use std::alloc::{GlobalAlloc, Layout, System};
        use std::cell::Cell;

        pub struct Probe;

        thread_local! {
            static PEAK: Cell<usize> = const { Cell::new(0) };
        }

        fn note(size: usize) {
            let _ = PEAK.try_with(|p| {
                if size > p.get() {
                    p.set(size)
                }
            });
        }

        unsafe impl GlobalAlloc for Probe {
            unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
                note(layout.size());
                // SAFETY: forwarded unchanged to the system allocator.
                unsafe { System.alloc(layout) }
            }
            unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
                // SAFETY: forwarded unchanged to the system allocator.
                unsafe { System.dealloc(ptr, layout) }
            }
            unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
                note(layout.size());
                // SAFETY: forwarded unchanged to the system allocator.
                unsafe { System.alloc_zeroed(layout) }
            }
            unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
                note(new_size);
                // SAFETY: forwarded unchanged to the system allocator.
                unsafe { System.realloc(ptr, layout, new_size) }
            }
        }

        #[global_allocator]
        static GLOBAL: Probe = Probe;

        /// Resets this thread's peak.
        pub fn reset() {
            PEAK.with(|p| p.set(0));
        }

        /// This thread's largest allocation since the last reset.
        pub fn peak() -> usize {
            PEAK.with(Cell::get)
        }
    }

    mod prop {
        use super::*;
        use proptest::prelude::*;
        use std::sync::OnceLock;

        fn originals() -> &'static [(Vec<u8>, Vec<u8>); 1] {
            static O: OnceLock<[(Vec<u8>, Vec<u8>); 1]> = OnceLock::new();
            O.get_or_init(|| {
                let tmp = tempfile::tempdir().unwrap();
                let (_, a) = small_file(tmp.path(), Version::V1, "a");
                let (_, b) = small_file(tmp.path(), Version::V2, "b");
                [(a, b)]
            })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(200))]
            #[test]
            fn damaged_files_never_panic_or_overallocate(
                v2 in any::<bool>(),
                flips in proptest::collection::vec((any::<usize>(), 1u8..=255), 0..4),
                cut in proptest::option::of(any::<usize>()),
            ) {
                let (a, b) = &originals()[0];
                let mut bytes = if v2 { b.clone() } else { a.clone() };
                for (at, mask) in flips {
                    let i = at % bytes.len();
                    bytes[i] ^= mask;
                }
                if let Some(c) = cut {
                    bytes.truncate(c % (bytes.len() + 1));
                }
                let tmp = tempfile::tempdir().unwrap();
                let p = tmp.path().join("m.dat");
                fs::write(&p, &bytes).unwrap();
                alloc_probe::reset();
                let _ = open_and_read(&p);
                let peak = alloc_probe::peak();
                prop_assert!(peak > 0, "probe not counting");
                prop_assert!(peak <= 8 * bytes.len() + 64 * 1024, "peak {peak} for {} bytes", bytes.len());
            }
        }
    }

    /// Timing of a full-day query (8,640 points) with a warm time-frame
    /// cache. Run with `cargo test --release -- --ignored full_day`.
    #[test]
    #[ignore]
    fn full_day_query_timing() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("metric-day.dat");
        let day0 = 1_767_225_600_000_000_000i64;
        let ts: Vec<i64> = (0..8640).map(|i| day0 + i * 10_000_000_000).collect();
        let metrics: Vec<MetricSamples> = (1..=50u16)
            .map(|id| MetricSamples {
                id,
                value_type: 2,
                ts: ts.clone(),
                vals: (0..8640u32)
                    .map(|i| (20.0f32 + (i % 97) as f32 / 10.0).to_bits())
                    .collect(),
            })
            .collect();
        write_metric_file(&path, Version::V2, Codec::ZstdFastest, 1, &metrics, false).unwrap();
        let mf = MetricFile::open(&path).unwrap();
        let mut n = 0u64;
        let mut run = || {
            mf.read_metric(17, i64::MIN, i64::MAX, &mut |_, _| {
                n += 1;
                ControlFlow::Continue(())
            })
            .unwrap()
        };
        run();
        let t = std::time::Instant::now();
        for _ in 0..100 {
            run();
        }
        let per = t.elapsed() / 100;
        println!("full-day query: {per:?} per call");
        assert_eq!(n, 8640 * 101);
    }
}
