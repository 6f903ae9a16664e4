//! Writing a metric file atomically (`<path>.tmp`, header last, rename),
//! shared by both layouts; the layout-specific bodies live in [`super::v1`]
//! and [`super::v2`].

use std::fs::{self, File};
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::header::{FILE_HEADER_LEN, FrameHeader};
use super::{MetricFileError, Result, Version, cache, v1, v2, v3};
use crate::config::Codec;

/// All samples of one metric, already grouped and sorted by time.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MetricSamples {
    /// Metric id (≠ 0).
    pub id: u16,
    /// Value type code (1 int32, 2 float32; v3 also 3 float64, 4 int64).
    pub value_type: u8,
    /// Timestamps, non-decreasing.
    pub ts: Vec<i64>,
    /// Raw value bits, one per timestamp (4-byte types in the low half).
    pub vals: Vec<u64>,
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
    let order = validate_input(path, version, metrics)?;
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
fn validate_input(path: &Path, version: Version, metrics: &[MetricSamples]) -> Result<Vec<usize>> {
    let bad = |reason: String| MetricFileError::InvalidInput {
        path: path.to_path_buf(),
        reason,
    };
    for m in metrics {
        if m.id == 0 {
            return Err(bad("metric id 0".into()));
        }
        let wide_ok = version == Version::V3 && (m.value_type == 3 || m.value_type == 4);
        if m.value_type != 1 && m.value_type != 2 && !wide_ok {
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
    let mut w = Out::new(file, tmp, path);
    w.put(&[0u8; FILE_HEADER_LEN])?;
    let (header, points) = match version {
        Version::V1 => v1::write_body(&mut w, codec, partition_kind, metrics, order)?,
        Version::V2 => v2::write_body(&mut w, codec, partition_kind, metrics, order)?,
        Version::V3 => v3::write_body(&mut w, v3_level(codec), partition_kind, metrics, order)?,
    };
    let (time_frames, metric_frames) = match version {
        Version::V1 => (0, header.v1_metric_count()),
        Version::V2 | Version::V3 => (header.v2_time_frame_count(), header.v2_metric_frame_count()),
    };
    let summary = WriteSummary {
        path: path.to_path_buf(),
        version,
        codec,
        bytes: w.pos,
        time_frames,
        metric_frames,
        points,
        min_ts: header.min_ts(),
        max_ts: header.max_ts(),
    };
    let mut file = w.finish()?;
    file.seek(SeekFrom::Start(0)).map_err(io_err)?;
    file.write_all(header.as_bytes()).map_err(io_err)?;
    if fsync {
        file.sync_all().map_err(io_err)?;
    }
    Ok(summary)
}

/// pcodec level of a v3 file for the `compression` setting: the zstd and
/// S2 settings have no meaning there, so every one maps to pcodec's default
/// level, which measured best per build second (BENCHMARKS.md).
fn v3_level(_codec: Codec) -> usize {
    pco::DEFAULT_COMPRESSION_LEVEL
}

/// The file's timestamp range as frames are written; both layouts store
/// 0..0 for a file without frames.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TsRange {
    min: i64,
    max: i64,
}

impl TsRange {
    pub(crate) fn new() -> Self {
        TsRange {
            min: i64::MAX,
            max: i64::MIN,
        }
    }

    /// Widens the range to cover one frame's [start, end].
    pub(crate) fn add(&mut self, start: i64, end: i64) {
        self.min = self.min.min(start);
        self.max = self.max.max(end);
    }

    /// (min, max) for the header; (0, 0) when `empty`.
    pub(crate) fn finish(self, empty: bool) -> (i64, i64) {
        if empty { (0, 0) } else { (self.min, self.max) }
    }
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
    /// The temporary file written (named by I/O errors).
    path: &'a Path,
    /// The final path (named by input and compression errors, as the
    /// caller asked for it).
    pub(crate) dest: &'a Path,
    /// Bytes written so far (= offset of the next byte).
    pub(crate) pos: u64,
}

impl<'a> Out<'a> {
    fn new(file: File, path: &'a Path, dest: &'a Path) -> Self {
        Out {
            w: io::BufWriter::with_capacity(256 * 1024, file),
            path,
            dest,
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

    /// Compresses `raw` with `codec` and appends it as one frame: header
    /// `h` (codec, lengths and CRC filled in here), payload, payload CRC.
    /// Returns the frame's offset and compressed length; `comp` is scratch.
    pub(crate) fn put_frame(
        &mut self,
        codec: Codec,
        mut h: FrameHeader,
        raw: &[u8],
        comp: &mut Vec<u8>,
    ) -> Result<(u64, u32)> {
        let payload_len = compress_for(self.dest, codec, raw, comp)?;
        let decoded_len =
            u32::try_from(raw.len()).map_err(|_| self.invalid("frame larger than 4 GiB"))?;
        h.set_codec_id(u16::from(codec.id()))
            .set_lens(payload_len, decoded_len);
        let offset = self.pos;
        self.put(&h.sealed())?;
        self.put(comp)?;
        self.put(&crc32fast::hash(comp).to_le_bytes())?;
        Ok((offset, payload_len))
    }

    /// An input error naming the final path.
    pub(crate) fn invalid(&self, reason: &str) -> MetricFileError {
        MetricFileError::InvalidInput {
            path: self.dest.to_path_buf(),
            reason: reason.into(),
        }
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
fn compress_for(path: &Path, codec: Codec, src: &[u8], out: &mut Vec<u8>) -> Result<u32> {
    crate::codec::compress(codec, src, out).map_err(|source| MetricFileError::Compress {
        path: path.to_path_buf(),
        source,
    })?;
    u32::try_from(out.len()).map_err(|_| MetricFileError::InvalidInput {
        path: path.to_path_buf(),
        reason: "compressed frame larger than 4 GiB".into(),
    })
}
