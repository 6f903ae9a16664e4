//! Metric file v3 (docs/FORMATS.md §8.9): numeric columns compressed with
//! pcodec. This implementation's format; v1.4.0 rejects it by its version.
//!
//! A file is a list of **blocks** (one column of numbers of one type each,
//! [`column`]) and a **metric index** whose entries point at a slice of a
//! time block and a slice of a value block. Metrics whose timestamps are
//! equal share one time vector; small vectors (a day of 10-minute samples)
//! are packed into one block with their neighbours so pcodec sees enough
//! numbers to pay for its per-block tables, while a metric with many
//! samples has blocks of its own, so one metric's query decodes only those.

pub mod column;
pub mod index;
mod write;

use std::ops::ControlFlow;
use std::sync::Arc;

use super::header::{FTR_RESERVED, FTR_VERSION, FileHeader, Footer, V2_RESERVED_B};
use super::le::{le_u16, le_u32, le_u64};
use super::run::Run;
use super::source::{Source, entries};
use super::{CorruptKind, FileSummary, FrameInfo, Result, TimeFrameInfo, Version};

pub(crate) use write::write_body;
pub use write::{PACK_POINTS, SEGMENT_POINTS, SOLO_POINTS};

/// Block index entry length.
pub const BLOCK_ENTRY_LEN: usize = 24;
/// Metric index entry length.
pub const METRIC_ENTRY_LEN: usize = 40;

/// Block index: absolute offset of the payload, u64.
pub const BI_OFFSET: usize = 0;
/// Block index: payload length, u32 (a CRC-32 of the payload follows it).
pub const BI_PAYLOAD_LEN: usize = 8;
/// Block index: numbers in the block, u32.
pub const BI_COUNT: usize = 12;
/// Block index: data type (1 int32, 2 float32, 3 float64, 4 int64), u8.
pub const BI_DTYPE: usize = 16;
/// Block index: encoding (1 pco, 2 raw), u8.
pub const BI_ENCODING: usize = 17;
/// Block index: 6 reserved bytes, must be zero.
pub const BI_RESERVED: usize = 18;

/// Metric index: metric id, u16.
pub const MX_METRIC_ID: usize = 0;
/// Metric index: value type, u8.
pub const MX_VALUE_TYPE: usize = 2;
/// Metric index: reserved, must be zero.
pub const MX_RESERVED: usize = 3;
/// Metric index: points in this segment, u32.
pub const MX_COUNT: usize = 4;
/// Metric index: first timestamp, i64.
pub const MX_START_TS: usize = 8;
/// Metric index: last timestamp, i64.
pub const MX_END_TS: usize = 16;
/// Metric index: time block, u32.
pub const MX_TIME_BLOCK: usize = 24;
/// Metric index: first position in the time block, u32.
pub const MX_TIME_START: usize = 28;
/// Metric index: value block, u32.
pub const MX_VALUE_BLOCK: usize = 32;
/// Metric index: first position in the value block, u32.
pub const MX_VALUE_START: usize = 36;

/// One block as listed by the block index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Block {
    pub(crate) offset: u64,
    pub(crate) payload_len: u32,
    pub(crate) count: u32,
    pub(crate) dtype: u8,
    pub(crate) encoding: u8,
}

/// One metric segment as listed by the metric index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Segment {
    pub(crate) metric_id: u16,
    pub(crate) value_type: u8,
    pub(crate) count: u32,
    pub(crate) start_ts: i64,
    pub(crate) end_ts: i64,
    pub(crate) time_block: u32,
    pub(crate) time_start: u32,
    pub(crate) value_block: u32,
    pub(crate) value_start: u32,
}

/// The validated indexes of a v3 file.
#[derive(Debug)]
pub(crate) struct Index {
    header: FileHeader,
    /// Whether the indexes are packed: damage in an entry is then reported
    /// at the packed frame's offset, entries having no offset of their own.
    packed: bool,
    pub(crate) blocks: Vec<Block>,
    pub(crate) metrics: Vec<Segment>,
}

impl Index {
    /// Footer, header and both indexes, each checked before it is used;
    /// every reference between them is checked here, so reading a frame
    /// can only fail on its own bytes.
    pub(crate) fn load(src: &Source) -> Result<Index> {
        src.require_min_len()?;
        let (foff, ft) = src.footer()?;
        if ft.version() != 3 {
            return Err(src.corrupt(
                foff + FTR_VERSION as u64,
                CorruptKind::BadVersion,
                format!("footer version {}, want 3", ft.version()),
            ));
        }
        let layout = ft.reserved();
        if layout > index::LAYOUT_PACKED {
            return Err(src.corrupt(foff + FTR_RESERVED as u64, CorruptKind::Reserved, "footer"));
        }
        src.check_crc(foff, ft.crc(), "footer")?;
        let header = src.file_header(3)?;
        let (bt, mt) = if layout == index::LAYOUT_PACKED {
            Self::packed_tables(src, &header)?
        } else {
            Self::plain_tables(src, &header)?
        };
        let packed = layout == index::LAYOUT_PACKED;
        let blocks = Self::blocks(src, &header, packed, &bt)?;
        let metrics = Self::segments(src, &header, packed, &mt, &blocks)?;
        Ok(Index {
            header,
            packed,
            blocks,
            metrics,
        })
    }

    /// The two index tables of the plain layout, CRC-checked.
    fn plain_tables(src: &Source, header: &FileHeader) -> Result<(Vec<u8>, Vec<u8>)> {
        let bt = src.read_table(
            header.v2_time_index_offset(),
            header.v2_time_frame_count(),
            BLOCK_ENTRY_LEN,
            "block index",
        )?;
        let mt = src.read_table(
            header.v2_metric_index_offset(),
            header.v2_metric_frame_count(),
            METRIC_ENTRY_LEN,
            "metric index",
        )?;
        let mut h = crc32fast::Hasher::new();
        h.update(&bt);
        h.update(&mt);
        src.check_crc(
            V2_RESERVED_B as u64,
            (header.v2_reserved(), h.finalize()),
            "index",
        )?;
        Ok((bt, mt))
    }

    /// The two index tables of the packed layout: the frame runs from the
    /// block index offset to the metric index offset; CRC, then unpacked.
    fn packed_tables(src: &Source, header: &FileHeader) -> Result<(Vec<u8>, Vec<u8>)> {
        let (from, to) = (
            header.v2_time_index_offset(),
            header.v2_metric_index_offset(),
        );
        let len = to.checked_sub(from).ok_or_else(|| {
            src.corrupt(
                from,
                CorruptKind::BadLength,
                format!("packed index ends at {to} before it starts"),
            )
        })?;
        let packed = src.read_table(from, u32::try_from(len).unwrap_or(u32::MAX), 1, "index")?;
        src.check_crc(
            V2_RESERVED_B as u64,
            (header.v2_reserved(), crc32fast::hash(&packed)),
            "index",
        )?;
        index::unpack(
            &packed,
            (header.v2_time_frame_count(), BLOCK_ENTRY_LEN),
            (header.v2_metric_frame_count(), METRIC_ENTRY_LEN),
        )
        .map_err(|e| src.corrupt(from, CorruptKind::Decompress, format!("index: {e}")))
    }

    fn blocks(src: &Source, header: &FileHeader, packed: bool, table: &[u8]) -> Result<Vec<Block>> {
        let base = header.v2_time_index_offset();
        let mut out = Vec::with_capacity(table.len() / BLOCK_ENTRY_LEN);
        for (i, b) in entries::<BLOCK_ENTRY_LEN>(table) {
            let at = entry_at(base, packed, i, BLOCK_ENTRY_LEN);
            let blk = Block {
                offset: le_u64(&b, BI_OFFSET),
                payload_len: le_u32(&b, BI_PAYLOAD_LEN),
                count: le_u32(&b, BI_COUNT),
                dtype: b[BI_DTYPE],
                encoding: b[BI_ENCODING],
            };
            if b[BI_RESERVED..].iter().any(|&x| x != 0) {
                return Err(src.corrupt(at, CorruptKind::Reserved, format!("block {i}")));
            }
            if !column::plausible(blk.dtype, blk.encoding, blk.payload_len, blk.count) {
                return Err(src.corrupt(
                    at,
                    CorruptKind::BadLength,
                    format!(
                        "block {i}: {} numbers of type {} in {} bytes (encoding {})",
                        blk.count, blk.dtype, blk.payload_len, blk.encoding
                    ),
                ));
            }
            src.check_range(blk.offset, u64::from(blk.payload_len) + 4, "block")?;
            out.push(blk);
        }
        Ok(out)
    }

    fn segments(
        src: &Source,
        header: &FileHeader,
        packed: bool,
        table: &[u8],
        blocks: &[Block],
    ) -> Result<Vec<Segment>> {
        let base = if packed {
            header.v2_time_index_offset()
        } else {
            header.v2_metric_index_offset()
        };
        let mut out = Vec::with_capacity(table.len() / METRIC_ENTRY_LEN);
        for (i, b) in entries::<METRIC_ENTRY_LEN>(table) {
            let at = entry_at(base, packed, i, METRIC_ENTRY_LEN);
            let s = Segment {
                metric_id: le_u16(&b, MX_METRIC_ID),
                value_type: b[MX_VALUE_TYPE],
                count: le_u32(&b, MX_COUNT),
                start_ts: le_u64(&b, MX_START_TS) as i64,
                end_ts: le_u64(&b, MX_END_TS) as i64,
                time_block: le_u32(&b, MX_TIME_BLOCK),
                time_start: le_u32(&b, MX_TIME_START),
                value_block: le_u32(&b, MX_VALUE_BLOCK),
                value_start: le_u32(&b, MX_VALUE_START),
            };
            let bad =
                |kind, d: String| Err(src.corrupt(at, kind, format!("metric entry {i}: {d}")));
            if b[MX_RESERVED] != 0 {
                return bad(CorruptKind::Reserved, "reserved byte".into());
            }
            if column::width(s.value_type).is_none() {
                return bad(
                    CorruptKind::BadValueType,
                    format!("value type {}", s.value_type),
                );
            }
            if s.metric_id == 0 || s.count == 0 || s.start_ts > s.end_ts {
                return bad(
                    CorruptKind::BadLength,
                    format!(
                        "id {}, {} points, {}..{}",
                        s.metric_id, s.count, s.start_ts, s.end_ts
                    ),
                );
            }
            let slice_ok = |blk: u32, start: u32, dtype: u8| {
                blocks.get(blk as usize).is_some_and(|b| {
                    b.dtype == dtype && u64::from(start) + u64::from(s.count) <= u64::from(b.count)
                })
            };
            if !slice_ok(s.time_block, s.time_start, column::DT_I64) {
                return bad(CorruptKind::SliceOutOfRange, "time slice".into());
            }
            if !slice_ok(s.value_block, s.value_start, s.value_type) {
                return bad(CorruptKind::SliceOutOfRange, "value slice".into());
            }
            out.push(s);
        }
        Ok(out)
    }

    /// Header and index contents, for `inspect metric`: blocks holding
    /// timestamps are listed as time frames, each segment as a frame
    /// (offset and payload of its value block).
    pub(crate) fn summary(&self, file_len: u64) -> FileSummary {
        // A time block's range: the segments that use it span it (each
        // segment's ends are checked against its slice when it is read).
        let mut ranges: std::collections::BTreeMap<u32, (i64, i64)> = Default::default();
        for s in &self.metrics {
            let r = ranges.entry(s.time_block).or_insert((s.start_ts, s.end_ts));
            *r = (r.0.min(s.start_ts), r.1.max(s.end_ts));
        }
        let time_frames = ranges
            .iter()
            .filter_map(|(&id, &(start_ts, end_ts))| {
                let b = self.blocks.get(id as usize)?;
                Some(TimeFrameInfo {
                    id: id as u16,
                    offset: b.offset,
                    point_count: b.count,
                    payload_len: b.payload_len,
                    decoded_len: b.count.saturating_mul(8),
                    start_ts,
                    end_ts,
                })
            })
            .collect();
        let frames = self
            .metrics
            .iter()
            .map(|s| {
                let b = self.blocks[s.value_block as usize];
                FrameInfo {
                    offset: b.offset,
                    metric_id: s.metric_id,
                    value_type: s.value_type,
                    point_count: s.count,
                    // A packed block is shared: each segment gets its
                    // share, so sums over frames stay the file's bytes.
                    payload_len: (u64::from(b.payload_len) * u64::from(s.count)
                        / u64::from(b.count.max(1))) as u32,
                    decoded_len: s
                        .count
                        .saturating_mul(column::width(s.value_type).unwrap_or(8) as u32),
                    start_ts: s.start_ts,
                    end_ts: s.end_ts,
                    time_frame_id: Some(s.time_block as u16),
                    time_offset: Some(s.time_start),
                }
            })
            .collect();
        FileSummary::from_header(Version::V3, file_len, &self.header, time_frames, frames)
    }

    /// Reads, CRC-checks and decodes block `id` as values.
    fn values(
        &self,
        src: &Source,
        id: u32,
        out: &mut column::Values,
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        let b = self.blocks[id as usize];
        let payload = src.read_payload(b.offset, b.payload_len, buf, "block")?;
        column::decode_values(b.dtype, b.encoding, payload, b.count as usize, out).map_err(|e| {
            src.corrupt(
                b.offset,
                CorruptKind::Decompress,
                format!("block {id}: {e}"),
            )
        })
    }

    /// Block `id` as timestamps, decoded once per handle or cached process-wide
    /// ([`Source::times`]).
    fn times(&self, src: &Source, id: u32, buf: &mut Vec<u8>) -> Result<Arc<[i64]>> {
        // Cache ids are u16: beyond, a file that does not keep its own time
        // blocks decodes them each time (rare).
        let key = u16::try_from(id).ok().map(|id16| src.cache_key(id16));
        src.times(id, key, || {
            let b = self.blocks[id as usize];
            let payload = src.read_payload(b.offset, b.payload_len, buf, "block")?;
            let ts = column::decode_times(b.encoding, payload, b.count as usize).map_err(|e| {
                src.corrupt(
                    b.offset,
                    CorruptKind::Decompress,
                    format!("block {id}: {e}"),
                )
            })?;
            Ok(ts.into())
        })
    }

    /// Hands `f` every segment of metric `id` (or all) overlapping `[from,
    /// to]` as a run, in index order (samples out of range included).
    pub(crate) fn read(
        &self,
        src: &Source,
        id: Option<u16>,
        from: i64,
        to: i64,
        f: &mut dyn FnMut(u16, Run<'_>) -> ControlFlow<()>,
    ) -> Result<ControlFlow<()>> {
        let mut scratch = ThreadScratch(SCRATCH.take());
        let ThreadScratch((buf, values)) = &mut scratch;
        // Consecutive segments usually share a value block (packed small
        // metrics): decode each block once per call.
        let mut vals: (Option<u32>, &mut column::Values) = (None, values);
        let mut times: Option<(u32, Arc<[i64]>)> = None;
        for (i, s) in self.metrics.iter().enumerate() {
            if id.is_some_and(|id| id != s.metric_id) || s.end_ts < from || s.start_ts > to {
                continue;
            }
            let ts = match &times {
                Some((b, ts)) if *b == s.time_block => ts.clone(),
                _ => {
                    let ts = self.times(src, s.time_block, buf)?;
                    times = Some((s.time_block, ts.clone()));
                    ts
                }
            };
            if vals.0 != Some(s.value_block) {
                vals.0 = None;
                self.values(src, s.value_block, vals.1, buf)?;
                vals.0 = Some(s.value_block);
            }
            let t0 = s.time_start as usize;
            let v0 = s.value_start as usize;
            let n = s.count as usize;
            let slice = &ts[t0..t0 + n];
            if slice[0] != s.start_ts
                || slice[n - 1] != s.end_ts
                || slice.windows(2).any(|w| w[1] < w[0])
            {
                let base = if self.packed {
                    self.header.v2_time_index_offset()
                } else {
                    self.header.v2_metric_index_offset()
                };
                let at = entry_at(base, self.packed, i, METRIC_ENTRY_LEN);
                return Err(src.corrupt(
                    at,
                    CorruptKind::BadTimestamps,
                    format!("metric entry {i}: timestamps disagree with the index"),
                ));
            }
            let v = &vals.1;
            let run = match v.scale {
                Some(k) => Run::Decimal32(slice, &v.ints[v0..v0 + n], k),
                None => Run::Bits(slice, &v.bits[v0..v0 + n]),
            };
            if f(s.metric_id, run).is_break() {
                return Ok(ControlFlow::Break(()));
            }
        }
        Ok(ControlFlow::Continue(()))
    }
}

/// A reader's buffers: a block's payload as read, and its decoded values.
type Scratch = (Vec<u8>, column::Values);

/// The buffers of the thread's previous [`Index::read`], taken for one
/// read and given back when it ends, however it ends: a query over years
/// of day files allocated and freed them once per file (a day of 32
/// ten-minute series: 37 KB of value bits).
struct ThreadScratch(Scratch);

impl Drop for ThreadScratch {
    fn drop(&mut self) {
        let (buf, v) = std::mem::take(&mut self.0);
        let held = buf.capacity() + v.bits.capacity() * 8 + v.ints.capacity() * 4;
        // The large buffers of a large block go: every thread that ever
        // read one would keep them.
        if held <= SCRATCH_KEEP {
            SCRATCH.set((buf, v));
        }
    }
}

/// Most bytes of buffers a thread keeps between reads (a shared block of
/// 4,096 float64 values takes 32 KiB).
const SCRATCH_KEEP: usize = 256 << 10;

thread_local! {
    /// The buffers of the thread's last [`Index::read`].
    static SCRATCH: std::cell::Cell<Scratch> = std::cell::Cell::default();
}

/// File offset of entry `i` of a table at `base` (`len` bytes each); in a
/// packed index, the frame's offset.
fn entry_at(base: u64, packed: bool, i: usize, len: usize) -> u64 {
    if packed {
        base
    } else {
        base + (i * len) as u64
    }
}

/// The footer a v3 writer stores; `layout` is the index layout
/// ([`index::LAYOUT_PLAIN`] or [`index::LAYOUT_PACKED`]).
pub(crate) fn footer(layout: u32) -> Footer {
    Footer::new(3, layout)
}
