//! Writing a metric file atomically (`<path>.tmp`, header last, rename),
//! shared by both layouts; the layout-specific bodies live in [`super::v1`]
//! and [`super::v2`].

use std::fs::{self, File};
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::{
    FILE_HEADER_LEN, FILE_MAGIC, FOOTER_MAGIC, MetricFileError, Result, Version, cache, v1, v2,
};
use crate::config::Codec;

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
