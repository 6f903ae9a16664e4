//! Opening a metric file of either version and streaming its samples; what
//! `inspect metric` shows comes from the index alone ([`FileSummary`]).

use std::ops::ControlFlow;
use std::path::Path;

use super::header::{FileHeader, HDR_VERSION, MIN_FILE_LEN};
use super::run::Run;
use super::source::Source;
use super::{CorruptKind, Result, Version, v1, v2, v3};

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
    /// The summary of a file whose header is `h`, listing `time_frames` and
    /// `frames` from its indexes.
    pub(crate) fn from_header(
        version: Version,
        file_len: u64,
        h: &FileHeader,
        time_frames: Vec<TimeFrameInfo>,
        frames: Vec<FrameInfo>,
    ) -> FileSummary {
        FileSummary {
            version,
            file_len,
            flags: h.flags(),
            partition_kind: h.partition_kind(),
            min_ts: h.min_ts(),
            max_ts: h.max_ts(),
            time_frames,
            frames,
        }
    }

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
    V3(v3::Index),
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
        let src = Source::open(path)?;
        if src.len < MIN_FILE_LEN {
            return Err(src.corrupt(
                0,
                CorruptKind::TooSmall,
                format!("{} bytes, need at least {MIN_FILE_LEN}", src.len),
            ));
        }
        // Bytes 0..8 pick the layout; the layout's loader checks the rest.
        let head = src.read_file_header()?;
        let layout = match head.version() {
            1 => Layout::V1(v1::Index::load(&src)?),
            2 => Layout::V2(v2::Index::load(&src)?),
            3 => Layout::V3(v3::Index::load(&src)?),
            v => {
                return Err(src.corrupt(
                    HDR_VERSION as u64,
                    CorruptKind::BadVersion,
                    format!("unsupported metric file version {v}"),
                ));
            }
        };
        let mut file = MetricFile { src, layout };
        let times = file.time_bytes();
        file.src.keep_times(times);
        Ok(file)
    }

    /// Bytes of the timestamps the index declares (each distinct time frame
    /// or block once).
    fn time_bytes(&self) -> usize {
        let ts = size_of::<i64>();
        match &self.layout {
            Layout::V1(_) => 0,
            Layout::V2(ix) => ix.times.iter().map(|t| t.point_count as usize * ts).sum(),
            Layout::V3(ix) => {
                let mut blocks: Vec<u32> = ix.metrics.iter().map(|s| s.time_block).collect();
                blocks.sort_unstable();
                blocks.dedup();
                blocks
                    .iter()
                    .map(|&b| ix.blocks[b as usize].count as usize * ts)
                    .sum()
            }
        }
    }

    /// The path the file was opened from.
    pub fn path(&self) -> &Path {
        &self.src.path
    }

    /// File size at open.
    pub fn len(&self) -> u64 {
        self.src.len
    }

    /// Modification time at open (when the platform reports one): with
    /// [`MetricFile::len`], what tells one version of a path from another.
    pub fn modified(&self) -> Option<std::time::SystemTime> {
        self.src.mtime
    }

    /// Memory the open file holds when it was read whole (a file of at
    /// most [`super::RESIDENT_MAX`] bytes): its bytes, its decoded indexes
    /// (estimated) and its time frames once decoded, when it keeps them
    /// (at most [`super::KEEP_TIMES_MAX`] bytes); `None` when it reads
    /// through a file descriptor.
    pub fn resident_bytes(&self) -> Option<usize> {
        let index = match &self.layout {
            Layout::V1(ix) => size_of_val(ix.entries.as_slice()),
            // The time-frame id map holds about as much as the entries.
            Layout::V2(ix) => {
                2 * size_of_val(ix.times.as_slice()) + size_of_val(ix.metrics.as_slice())
            }
            Layout::V3(ix) => {
                size_of_val(ix.blocks.as_slice()) + size_of_val(ix.metrics.as_slice())
            }
        };
        let times = self.src.kept_time_bytes();
        Some(self.src.resident()? + index + times + size_of::<MetricFile>())
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
            Layout::V3(_) => Version::V3,
        }
    }

    /// Header and index contents, without reading any frame.
    pub fn summary(&self) -> FileSummary {
        match &self.layout {
            Layout::V1(ix) => ix.summary(self.src.len),
            Layout::V2(ix) => ix.summary(self.src.len),
            Layout::V3(ix) => ix.summary(self.src.len),
        }
    }

    /// Distinct metric ids present, ascending.
    pub fn metrics(&self) -> Vec<u16> {
        let mut ids: Vec<u16> = match &self.layout {
            Layout::V1(ix) => ix.entries.iter().map(|e| e.metric_id).collect(),
            Layout::V2(ix) => ix.metrics.iter().map(|e| e.metric_id).collect(),
            Layout::V3(ix) => ix.metrics.iter().map(|e| e.metric_id).collect(),
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
            Layout::V3(ix) => ix
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
        f: &mut impl FnMut(i64, u64) -> ControlFlow<()>,
    ) -> Result<()> {
        self.read_filtered(Some(id), from, to, &mut |_, run: Run<'_>| {
            run.each_sample_in_range(from, to, f)
        })
        .map(|_| ())
    }

    /// Streams every sample with `from <= ts <= to` as (metric id, ts,
    /// value bits; 4-byte types in the low half), metric frame by metric frame in index order.
    pub fn read_all(&self, from: i64, to: i64, mut f: impl FnMut(u16, i64, u64)) -> Result<()> {
        self.read_filtered(None, from, to, &mut |id, run: Run<'_>| {
            run.each_sample_in_range(from, to, &mut |ts, v| {
                f(id, ts, v);
                ControlFlow::Continue(())
            })
        })
        .map(|_| ())
    }

    /// The samples of metric `id` (or every metric's) with `from <= ts <=
    /// to` as runs, in the order [`MetricFile::read_metric`] and
    /// [`MetricFile::read_all`] stream them, running the same checks; stops
    /// when `f` breaks.
    pub fn read_runs(
        &self,
        id: Option<u16>,
        from: i64,
        to: i64,
        f: &mut dyn FnMut(u16, Run<'_>) -> ControlFlow<()>,
    ) -> Result<ControlFlow<()>> {
        self.read_filtered(id, from, to, &mut |id, run: Run<'_>| {
            run.each_in_range(from, to, &mut |r| f(id, r))
        })
    }

    /// Every frame (or segment) of metric `id` (or all) overlapping `[from,
    /// to]`, whole.
    fn read_filtered(
        &self,
        id: Option<u16>,
        from: i64,
        to: i64,
        f: &mut dyn FnMut(u16, Run<'_>) -> ControlFlow<()>,
    ) -> Result<ControlFlow<()>> {
        match &self.layout {
            Layout::V1(ix) => ix.read(&self.src, id, from, to, f),
            Layout::V2(ix) => ix.read(&self.src, id, from, to, f),
            Layout::V3(ix) => ix.read(&self.src, id, from, to, f),
        }
    }
}
