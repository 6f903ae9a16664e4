//! Metric file v2 (docs/FORMATS.md §8.3–8.5): each distinct timestamp vector is
//! stored once in a `TPG2` time frame; each metric's `MPG2` frame holds only
//! values and points at a contiguous slice of one time frame.

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::sync::Arc;

use super::header::{
    FTR_RESERVED, FTR_VERSION, FileHeader, Footer, FrameHeader, FrameKind, MPG2_DECODED_LEN,
    MPG2_TIME_OFFSET, TPG2_DECODED_LEN, TPG2_TIME_ENCODING, V2_RESERVED_B,
};
use super::le::{index_entry, le_u16};
use super::run::Run;
use super::source::{Source, entries};
use super::writer::{Out, TsRange};
use super::{CorruptKind, FileSummary, FrameInfo, MetricSamples, Result, TimeFrameInfo, Version};
use crate::config::Codec;

/// Time frame magic.
pub const TIME_MAGIC: &[u8; 4] = b"TPG2";
/// Metric frame magic.
pub const METRIC_MAGIC: &[u8; 4] = b"MPG2";
/// Time index entry length.
pub const TIME_ENTRY_LEN: usize = 40;
/// Metric index entry length.
pub const METRIC_ENTRY_LEN: usize = 44;
/// The only time encoding: raw i64 LE timestamps.
pub const TIME_ENCODING_RAW: u8 = 1;

/// Time index: time frame id, u16.
pub const TI_ID: usize = 0;
/// Time index: 2 reserved bytes that must be zero.
pub const TI_RESERVED: usize = 2;
/// Time index: absolute offset of the time frame, u64.
pub const TI_FRAME_OFFSET: usize = 4;
/// Time index: first timestamp, i64.
pub const TI_START_TS: usize = 12;
/// Time index: last timestamp, i64.
pub const TI_END_TS: usize = 20;
/// Time index: point count, u32.
pub const TI_POINT_COUNT: usize = 28;
/// Time index: decoded payload length, u32 (before payload_len, unlike the frame).
pub const TI_DECODED_LEN: usize = 32;
/// Time index: compressed payload length, u32.
pub const TI_PAYLOAD_LEN: usize = 36;

/// Metric index: metric id, u16.
pub const MI_METRIC_ID: usize = 0;
/// Metric index: value type, u8.
pub const MI_VALUE_TYPE: usize = 2;
/// Metric index: reserved byte that must be zero.
pub const MI_RESERVED: usize = 3;
/// Metric index: absolute offset of the metric frame, u64.
pub const MI_FRAME_OFFSET: usize = 4;
/// Metric index: first timestamp, i64.
pub const MI_START_TS: usize = 12;
/// Metric index: last timestamp, i64.
pub const MI_END_TS: usize = 20;
/// Metric index: id of the time frame holding the slice, u16.
pub const MI_TIME_FRAME_ID: usize = 28;
/// Metric index: 2 reserved bytes that must be zero.
pub const MI_RESERVED2: usize = 30;
/// Metric index: index in the time frame where the slice begins, u32.
pub const MI_TIME_OFFSET: usize = 32;
/// Metric index: decoded payload length, u32 (before payload_len, unlike the frame).
pub const MI_DECODED_LEN: usize = 36;
/// Metric index: compressed payload length, u32.
pub const MI_PAYLOAD_LEN: usize = 40;

index_entry! {
    /// One time index entry.
    TimeEntry[TIME_ENTRY_LEN] {
        id: u16 = TI_ID,
        offset: u64 = TI_FRAME_OFFSET,
        start_ts: i64 = TI_START_TS,
        end_ts: i64 = TI_END_TS,
        point_count: u32 = TI_POINT_COUNT,
        decoded_len: u32 = TI_DECODED_LEN,
        payload_len: u32 = TI_PAYLOAD_LEN,
    }
}

index_entry! {
    /// One metric index entry.
    MetricEntry[METRIC_ENTRY_LEN] {
        metric_id: u16 = MI_METRIC_ID,
        value_type: u8 = MI_VALUE_TYPE,
        offset: u64 = MI_FRAME_OFFSET,
        start_ts: i64 = MI_START_TS,
        end_ts: i64 = MI_END_TS,
        time_frame_id: u16 = MI_TIME_FRAME_ID,
        time_offset: u32 = MI_TIME_OFFSET,
        decoded_len: u32 = MI_DECODED_LEN,
        payload_len: u32 = MI_PAYLOAD_LEN,
    }
}

/// Header and both indexes of an open v2 file.
#[derive(Debug)]
pub(crate) struct Index {
    header: FileHeader,
    pub(crate) times: Vec<TimeEntry>,
    /// Time frame id → position in `times`; a later duplicate id wins.
    by_id: HashMap<u16, usize>,
    pub(crate) metrics: Vec<MetricEntry>,
}

impl Index {
    /// Validation steps 1–4 of docs/FORMATS.md §8.5.
    pub(crate) fn load(src: &Source) -> Result<Index> {
        src.require_min_len()?;
        let (foff, ft) = src.footer()?;
        let fv = ft.version();
        if fv != 2 {
            return Err(src.corrupt(
                foff + FTR_VERSION as u64,
                CorruptKind::BadVersion,
                format!("footer version {fv}, want 2"),
            ));
        }
        if ft.reserved() != 0 {
            return Err(src.corrupt(
                foff + FTR_RESERVED as u64,
                CorruptKind::Reserved,
                "footer bytes 8..11",
            ));
        }
        src.check_crc(foff, ft.crc(), "footer")?;
        let h = src.file_header(2)?;
        if h.v2_reserved() != 0 {
            return Err(src.corrupt(
                V2_RESERVED_B as u64,
                CorruptKind::Reserved,
                "header bytes 56..59",
            ));
        }
        let t_count = h.v2_time_frame_count();
        let m_count = h.v2_metric_frame_count();
        let t_off = h.v2_time_index_offset();
        let m_off = h.v2_metric_index_offset();

        let table = src.read_table(t_off, t_count, TIME_ENTRY_LEN, "time index")?;
        let mut times = Vec::with_capacity(t_count as usize);
        let mut by_id = HashMap::with_capacity(t_count as usize);
        for (i, b) in entries::<TIME_ENTRY_LEN>(&table) {
            if le_u16(&b, TI_RESERVED) != 0 {
                return Err(src.corrupt(
                    t_off + (i * TIME_ENTRY_LEN + TI_RESERVED) as u64,
                    CorruptKind::Reserved,
                    format!("time index entry {i} bytes 2..3"),
                ));
            }
            let e = TimeEntry::decode(&b);
            by_id.insert(e.id, times.len());
            times.push(e);
        }
        let table = src.read_table(m_off, m_count, METRIC_ENTRY_LEN, "metric index")?;
        let mut metrics = Vec::with_capacity(m_count as usize);
        for (i, b) in entries::<METRIC_ENTRY_LEN>(&table) {
            let eoff = m_off + (i * METRIC_ENTRY_LEN) as u64;
            if b[MI_RESERVED] != 0 {
                return Err(src.corrupt(
                    eoff + MI_RESERVED as u64,
                    CorruptKind::Reserved,
                    format!("metric index entry {i} byte 3"),
                ));
            }
            if le_u16(&b, MI_RESERVED2) != 0 {
                return Err(src.corrupt(
                    eoff + MI_RESERVED2 as u64,
                    CorruptKind::Reserved,
                    format!("metric index entry {i} bytes 30..31"),
                ));
            }
            metrics.push(MetricEntry::decode(&b));
        }
        Ok(Index {
            header: h,
            times,
            by_id,
            metrics,
        })
    }

    pub(crate) fn summary(&self, file_len: u64) -> FileSummary {
        let time_frames = self
            .times
            .iter()
            .map(|t| TimeFrameInfo {
                id: t.id,
                offset: t.offset,
                point_count: t.point_count,
                payload_len: t.payload_len,
                decoded_len: t.decoded_len,
                start_ts: t.start_ts,
                end_ts: t.end_ts,
            })
            .collect();
        let frames = self
            .metrics
            .iter()
            .map(|m| FrameInfo {
                offset: m.offset,
                metric_id: m.metric_id,
                value_type: m.value_type,
                point_count: m.decoded_len / 4,
                payload_len: m.payload_len,
                decoded_len: m.decoded_len,
                start_ts: m.start_ts,
                end_ts: m.end_ts,
                time_frame_id: Some(m.time_frame_id),
                time_offset: Some(m.time_offset),
            })
            .collect();
        FileSummary::from_header(Version::V2, file_len, &self.header, time_frames, frames)
    }

    /// Step 5 of docs/FORMATS.md §8.5 for every metric entry matching `id` (all when `None`)
    /// whose [start, end] overlaps [from, to], each frame as one run (samples
    /// out of range included).
    pub(crate) fn read(
        &self,
        src: &Source,
        id: Option<u16>,
        from: i64,
        to: i64,
        f: &mut dyn FnMut(u16, Run<'_>) -> ControlFlow<()>,
    ) -> Result<ControlFlow<()>> {
        let mut raw = Vec::new();
        let mut vals = Vec::new();
        for m in &self.metrics {
            if id.is_some_and(|id| id != m.metric_id) || m.end_ts < from || m.start_ts > to {
                continue;
            }
            let Some(t) = self
                .by_id
                .get(&m.time_frame_id)
                .and_then(|&i| self.times.get(i))
            else {
                return Err(src.corrupt(
                    m.offset,
                    CorruptKind::UnknownTimeFrame,
                    format!(
                        "metric {} references time frame {} not in the time index",
                        m.metric_id, m.time_frame_id
                    ),
                ));
            };
            let ts = time_frame(src, t, &mut raw)?;
            read_metric_frame(src, m, &mut raw, &mut vals)?;
            let n = vals.len() / 4;
            let start = m.time_offset as usize;
            let slice = start
                .checked_add(n)
                .and_then(|end| ts.get(start..end))
                .ok_or_else(|| {
                    src.corrupt(
                        m.offset + MPG2_TIME_OFFSET as u64,
                        CorruptKind::SliceOutOfRange,
                        format!(
                            "time_offset {} + {} points > {} points in time frame {}",
                            m.time_offset,
                            n,
                            ts.len(),
                            t.id
                        ),
                    )
                })?;
            if f(m.metric_id, Run::Le32(slice, &vals)).is_break() {
                return Ok(ControlFlow::Break(()));
            }
        }
        Ok(ControlFlow::Continue(()))
    }
}

/// The decoded timestamps of time frame `t`: kept by the handle or the
/// process-wide cache ([`Source::times`]), or read and checked
/// (docs/FORMATS.md §8.5 step 5b).
fn time_frame(src: &Source, t: &TimeEntry, raw: &mut Vec<u8>) -> Result<Arc<[i64]>> {
    src.times(u32::from(t.id), Some(src.cache_key(t.id)), || {
        decode_time_frame(src, t, raw)
    })
}

/// Reads, checks and decodes time frame `t`.
fn decode_time_frame(src: &Source, t: &TimeEntry, raw: &mut Vec<u8>) -> Result<Arc<[i64]>> {
    let off = t.offset;
    let h = src.frame_header(off, FrameKind::Tpg2)?;
    src.check_frame_reserved(off, &h)?;
    src.check_frame_crc(off, &h)?;
    let (point_count, decoded_len) = (h.point_count(), h.decoded_len());
    src.check_against_index(
        off,
        &h,
        &[
            ("id", h.id().into(), t.id.into()),
            ("point_count", point_count.into(), t.point_count.into()),
            ("payload_len", h.payload_len().into(), t.payload_len.into()),
            ("decoded_len", decoded_len.into(), t.decoded_len.into()),
            ("start_ts", h.start_ts().into(), t.start_ts.into()),
            ("end_ts", h.end_ts().into(), t.end_ts.into()),
        ],
    )?;
    src.check_frame_codec(off, &h)?;
    let mut decoded = Vec::new();
    src.frame_payload(off, &h, raw, &mut decoded)?;
    let encoding = h.type_code();
    if encoding != TIME_ENCODING_RAW {
        return Err(src.corrupt(
            off + TPG2_TIME_ENCODING as u64,
            CorruptKind::BadTimeEncoding,
            format!("time encoding {encoding}, want 1"),
        ));
    }
    if u64::from(decoded_len) != 8 * u64::from(point_count) {
        return Err(src.corrupt(
            off + TPG2_DECODED_LEN as u64,
            CorruptKind::BadLength,
            format!("decoded_len {decoded_len} != 8 x point_count {point_count}"),
        ));
    }
    let ts: Arc<[i64]> = decoded
        .chunks_exact(8)
        .map(|b| i64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
        .collect();
    src.check_first_last(off, &h, ts.first().copied(), ts.last().copied())?;
    Ok(ts)
}

/// Reads and checks a metric frame (docs/FORMATS.md §8.5 step 5c); `vals` ends up holding
/// exactly decoded_len bytes, a multiple of 4.
fn read_metric_frame(
    src: &Source,
    m: &MetricEntry,
    raw: &mut Vec<u8>,
    vals: &mut Vec<u8>,
) -> Result<()> {
    let off = m.offset;
    let h = src.frame_header(off, FrameKind::Mpg2)?;
    src.check_frame_reserved(off, &h)?;
    src.check_frame_crc(off, &h)?;
    let decoded_len = h.decoded_len();
    src.check_against_index(
        off,
        &h,
        &[
            ("metric id", h.id().into(), m.metric_id.into()),
            ("value type", h.type_code().into(), m.value_type.into()),
            (
                "time_frame_id",
                h.time_frame_id().into(),
                m.time_frame_id.into(),
            ),
            ("time_offset", h.time_offset().into(), m.time_offset.into()),
            ("payload_len", h.payload_len().into(), m.payload_len.into()),
            ("decoded_len", decoded_len.into(), m.decoded_len.into()),
            ("start_ts", h.start_ts().into(), m.start_ts.into()),
            ("end_ts", h.end_ts().into(), m.end_ts.into()),
        ],
    )?;
    src.check_frame_codec(off, &h)?;
    src.frame_payload(off, &h, raw, vals)?;
    src.check_value_type(off, &h)?;
    if decoded_len % 4 != 0 {
        return Err(src.corrupt(
            off + MPG2_DECODED_LEN as u64,
            CorruptKind::BadLength,
            format!("decoded_len {decoded_len} not a multiple of 4"),
        ));
    }
    Ok(())
}

/// Where a metric's timestamps live in the planned time frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    /// 1-based time frame id.
    pub time_frame_id: u16,
    /// Index of the metric's first timestamp in that frame.
    pub time_offset: u32,
}

/// Plans the shared time frames (docs/FORMATS.md §8.4 steps 1–2). `lists` are timestamp
/// vectors in metric-id order, each non-empty and non-decreasing. Returns
/// the time frames in id order (as indices into `lists` whose vector they
/// store) and one placement per list. `None` when more than 65535 time
/// frames would be needed.
pub fn plan_time_frames(lists: &[&[i64]]) -> Option<(Vec<usize>, Vec<Placement>)> {
    let mut visit: Vec<usize> = (0..lists.len()).collect();
    // Stable: ties keep metric-id order.
    visit.sort_by(|&a, &b| lists[b].len().cmp(&lists[a].len()));
    let mut frames: Vec<usize> = Vec::new();
    let mut placements = vec![
        Placement {
            time_frame_id: 0,
            time_offset: 0
        };
        lists.len()
    ];
    for &li in &visit {
        let want = lists[li];
        let mut found = None;
        for (fi, &src) in frames.iter().enumerate() {
            if let Some(off) = find_run(lists[src], want) {
                found = Some((fi, off));
                break;
            }
        }
        let (fi, off) = match found {
            Some(x) => x,
            None => {
                frames.push(li);
                (frames.len() - 1, 0)
            }
        };
        placements[li] = Placement {
            time_frame_id: u16::try_from(fi + 1).ok()?,
            time_offset: u32::try_from(off).ok()?,
        };
    }
    Some((frames, placements))
}

/// Lowest start index at which `want` occurs in `hay` as a contiguous run
/// of equal values. Both are sorted, so a match can only start inside the
/// run of values equal to `want[0]`.
fn find_run(hay: &[i64], want: &[i64]) -> Option<usize> {
    let first = *want.first()?;
    if want.len() > hay.len() {
        return None;
    }
    let lo = hay.partition_point(|&t| t < first);
    let hi = hay.partition_point(|&t| t <= first);
    (lo..hi).find(|&s| hay.get(s..s + want.len()) == Some(want))
}

/// Writes time frames, metric frames, both indexes and the footer after the
/// header placeholder; returns the final header and what was written.
pub(crate) fn write_body(
    w: &mut Out<'_>,
    codec: Codec,
    partition_kind: u8,
    metrics: &[MetricSamples],
    order: &[usize],
) -> Result<(FileHeader, u64)> {
    const TOO_MANY: &str = "more than 65535 distinct timestamp vectors";
    let lists: Vec<&[i64]> = order.iter().map(|&i| metrics[i].ts.as_slice()).collect();
    let (frames, placements) = plan_time_frames(&lists).ok_or_else(|| w.invalid(TOO_MANY))?;
    let mut raw = Vec::new();
    let mut comp = Vec::new();
    let mut range = TsRange::new();

    let mut time_index = Vec::with_capacity(frames.len() * TIME_ENTRY_LEN);
    for (fi, &li) in frames.iter().enumerate() {
        let ts = lists[li];
        let (Some(&start), Some(&end)) = (ts.first(), ts.last()) else {
            continue; // lists are validated non-empty
        };
        raw.clear();
        for t in ts {
            raw.extend_from_slice(&t.to_le_bytes());
        }
        let id = u16::try_from(fi + 1).map_err(|_| w.invalid(TOO_MANY))?;
        let n = ts.len() as u32;
        let mut h = FrameHeader::new(FrameKind::Tpg2);
        h.set_id(id, TIME_ENCODING_RAW)
            .set_range(start, end)
            .set_point_count(n);
        let (offset, payload_len) = w.put_frame(codec, h, &raw, &mut comp)?;
        let entry = TimeEntry {
            id,
            offset,
            start_ts: start,
            end_ts: end,
            point_count: n,
            decoded_len: raw.len() as u32,
            payload_len,
        };
        time_index.extend_from_slice(&entry.encode());
        range.add(start, end);
    }

    let mut metric_index = Vec::with_capacity(order.len() * METRIC_ENTRY_LEN);
    let mut points = 0u64;
    for (k, &i) in order.iter().enumerate() {
        let m = &metrics[i];
        let (Some(&start), Some(&end)) = (m.ts.first(), m.ts.last()) else {
            continue;
        };
        let p = placements[k];
        raw.clear();
        for v in &m.vals {
            raw.extend_from_slice(&(*v as u32).to_le_bytes());
        }
        let mut h = FrameHeader::new(FrameKind::Mpg2);
        h.set_id(m.id, m.value_type)
            .set_range(start, end)
            .set_slice(p.time_frame_id, p.time_offset);
        let (offset, payload_len) = w.put_frame(codec, h, &raw, &mut comp)?;
        let entry = MetricEntry {
            metric_id: m.id,
            value_type: m.value_type,
            offset,
            start_ts: start,
            end_ts: end,
            time_frame_id: p.time_frame_id,
            time_offset: p.time_offset,
            decoded_len: raw.len() as u32,
            payload_len,
        };
        metric_index.extend_from_slice(&entry.encode());
        range.add(start, end);
        points += m.ts.len() as u64;
    }

    let t_count = frames.len() as u32;
    let m_count = order.len() as u32;
    let (min_ts, max_ts) = range.finish(m_count == 0);
    let t_off = w.pos;
    w.put(&time_index)?;
    let m_off = w.pos;
    w.put(&metric_index)?;
    w.put(Footer::new(2, 0).as_bytes())?;
    let header = FileHeader::new_v2(
        partition_kind,
        (min_ts, max_ts),
        (t_count, m_count),
        (t_off, m_off),
    );
    Ok((header, points))
}
