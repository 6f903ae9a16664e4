//! Metric file v2 (docs/FORMATS.md §8.3–8.5): each distinct timestamp vector is
//! stored once in a `TPG2` time frame; each metric's `MPG2` frame holds only
//! values and points at a contiguous slice of one time frame.

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::Arc;

use super::cache::{CacheKey, global_cache};
use super::source::{Source, check_codec, le_i64, le_u16, le_u32, le_u64};
use super::writer::{Out, compress_for, file_header, footer};
use super::{
    CorruptKind, FOOTER_LEN, FRAME_HEADER_LEN, FileSummary, FrameInfo, MetricFileError,
    MetricSamples, Result, TimeFrameInfo, Version, WriteSummary,
};
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

/// One time index entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimeEntry {
    pub(crate) id: u16,
    pub(crate) offset: u64,
    pub(crate) start_ts: i64,
    pub(crate) end_ts: i64,
    pub(crate) point_count: u32,
    pub(crate) decoded_len: u32,
    pub(crate) payload_len: u32,
}

/// One metric index entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MetricEntry {
    pub(crate) metric_id: u16,
    pub(crate) value_type: u8,
    pub(crate) offset: u64,
    pub(crate) start_ts: i64,
    pub(crate) end_ts: i64,
    pub(crate) time_frame_id: u16,
    pub(crate) time_offset: u32,
    pub(crate) decoded_len: u32,
    pub(crate) payload_len: u32,
}

/// Header and both indexes of an open v2 file.
#[derive(Debug)]
pub(crate) struct Index {
    flags: u32,
    partition_kind: u8,
    min_ts: i64,
    max_ts: i64,
    pub(crate) times: Vec<TimeEntry>,
    /// Time frame id → position in `times`; a later duplicate id wins.
    by_id: HashMap<u16, usize>,
    pub(crate) metrics: Vec<MetricEntry>,
}

/// Reads a whole index table of `count` entries of `len` bytes at `offset`
/// after checking it lies inside the file (so the allocation is bounded).
fn read_table(src: &Source, offset: u64, count: u32, len: usize, what: &str) -> Result<Vec<u8>> {
    let n = u64::from(count) * len as u64;
    src.check_range(offset, n, what)?;
    let mut buf = vec![0u8; n as usize];
    src.read_at(offset, &mut buf, what)?;
    Ok(buf)
}

impl Index {
    /// Validation steps 1–4 of docs/FORMATS.md §8.5.
    pub(crate) fn load(src: &Source) -> Result<Index> {
        if src.len < super::MIN_FILE_LEN {
            return Err(src.corrupt(0, CorruptKind::TooSmall, format!("{} bytes", src.len)));
        }
        let foff = src.len - FOOTER_LEN as u64;
        let ft: [u8; FOOTER_LEN] = src.read_array(foff, "footer")?;
        if &ft[0..4] != super::FOOTER_MAGIC {
            return Err(src.corrupt(foff, CorruptKind::BadMagic, "footer magic is not NTFT"));
        }
        let fv = le_u32(&ft, 4);
        if fv != 2 {
            return Err(src.corrupt(
                foff + 4,
                CorruptKind::BadVersion,
                format!("footer version {fv}, want 2"),
            ));
        }
        if le_u32(&ft, 8) != 0 {
            return Err(src.corrupt(foff + 8, CorruptKind::Reserved, "footer bytes 8..11"));
        }
        src.check_crc(foff, &ft, 12, "footer")?;
        let h = src.file_header(2)?;
        if le_u32(&h, 56) != 0 {
            return Err(src.corrupt(56, CorruptKind::Reserved, "header bytes 56..59"));
        }
        let t_count = le_u32(&h, 32);
        let m_count = le_u32(&h, 36);
        let t_off = le_u64(&h, 40);
        let m_off = le_u64(&h, 48);

        let table = read_table(src, t_off, t_count, TIME_ENTRY_LEN, "time index")?;
        let mut times = Vec::with_capacity(t_count as usize);
        let mut by_id = HashMap::with_capacity(t_count as usize);
        for (i, chunk) in table.chunks_exact(TIME_ENTRY_LEN).enumerate() {
            let mut b = [0u8; TIME_ENTRY_LEN];
            b.copy_from_slice(chunk);
            if le_u16(&b, 2) != 0 {
                return Err(src.corrupt(
                    t_off + (i * TIME_ENTRY_LEN) as u64 + 2,
                    CorruptKind::Reserved,
                    format!("time index entry {i} bytes 2..3"),
                ));
            }
            let e = TimeEntry {
                id: le_u16(&b, 0),
                offset: le_u64(&b, 4),
                start_ts: le_i64(&b, 12),
                end_ts: le_i64(&b, 20),
                point_count: le_u32(&b, 28),
                decoded_len: le_u32(&b, 32),
                payload_len: le_u32(&b, 36),
            };
            by_id.insert(e.id, times.len());
            times.push(e);
        }
        let table = read_table(src, m_off, m_count, METRIC_ENTRY_LEN, "metric index")?;
        let mut metrics = Vec::with_capacity(m_count as usize);
        for (i, chunk) in table.chunks_exact(METRIC_ENTRY_LEN).enumerate() {
            let mut b = [0u8; METRIC_ENTRY_LEN];
            b.copy_from_slice(chunk);
            let eoff = m_off + (i * METRIC_ENTRY_LEN) as u64;
            if b[3] != 0 {
                return Err(src.corrupt(
                    eoff + 3,
                    CorruptKind::Reserved,
                    format!("metric index entry {i} byte 3"),
                ));
            }
            if le_u16(&b, 30) != 0 {
                return Err(src.corrupt(
                    eoff + 30,
                    CorruptKind::Reserved,
                    format!("metric index entry {i} bytes 30..31"),
                ));
            }
            metrics.push(MetricEntry {
                metric_id: le_u16(&b, 0),
                value_type: b[2],
                offset: le_u64(&b, 4),
                start_ts: le_i64(&b, 12),
                end_ts: le_i64(&b, 20),
                time_frame_id: le_u16(&b, 28),
                time_offset: le_u32(&b, 32),
                decoded_len: le_u32(&b, 36),
                payload_len: le_u32(&b, 40),
            });
        }
        Ok(Index {
            flags: le_u32(&h, 8),
            partition_kind: h[12],
            min_ts: le_i64(&h, 16),
            max_ts: le_i64(&h, 24),
            times,
            by_id,
            metrics,
        })
    }

    pub(crate) fn summary(&self, file_len: u64) -> FileSummary {
        FileSummary {
            version: Version::V2,
            file_len,
            flags: self.flags,
            partition_kind: self.partition_kind,
            min_ts: self.min_ts,
            max_ts: self.max_ts,
            time_frames: self
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
                .collect(),
            frames: self
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
                .collect(),
        }
    }

    /// Step 5 of docs/FORMATS.md §8.5 for every metric entry matching `id` (all when `None`)
    /// whose [start, end] overlaps [from, to].
    pub(crate) fn read(
        &self,
        src: &Source,
        id: Option<u16>,
        from: i64,
        to: i64,
        f: &mut dyn FnMut(u16, i64, u32) -> ControlFlow<()>,
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
                        m.offset + 32,
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
            for (&t, v) in slice.iter().zip(vals.chunks_exact(4)) {
                if t < from || t > to {
                    continue;
                }
                let v = u32::from_le_bytes([v[0], v[1], v[2], v[3]]);
                if f(m.metric_id, t, v).is_break() {
                    return Ok(ControlFlow::Break(()));
                }
            }
        }
        Ok(ControlFlow::Continue(()))
    }
}

/// The decoded timestamps of time frame `t`, from the process-wide cache or
/// read, checked (docs/FORMATS.md §8.5 step 5b) and inserted.
fn time_frame(src: &Source, t: &TimeEntry, raw: &mut Vec<u8>) -> Result<Arc<[i64]>> {
    let key = CacheKey {
        path: src.path.clone(),
        size: src.len,
        mtime: src.mtime,
        id: t.id,
    };
    let cache = global_cache();
    if let Some(ts) = cache.get(&key) {
        return Ok(ts);
    }
    let off = t.offset;
    let h: [u8; FRAME_HEADER_LEN] = src.read_array(off, "time frame header")?;
    if &h[0..4] != TIME_MAGIC {
        return Err(src.corrupt(off, CorruptKind::BadMagic, "time frame magic is not TPG2"));
    }
    let hl = le_u16(&h, 4);
    if usize::from(hl) != FRAME_HEADER_LEN {
        return Err(src.corrupt(
            off + 4,
            CorruptKind::BadHeaderLen,
            format!("time frame header_len {hl}, want 48"),
        ));
    }
    if le_u32(&h, 40) != 0 {
        return Err(src.corrupt(off + 40, CorruptKind::Reserved, "time frame bytes 40..43"));
    }
    src.check_crc(off, &h, 44, "time frame header")?;
    let codec_id = le_u16(&h, 6);
    let id = le_u16(&h, 8);
    let encoding = h[10];
    let start_ts = le_i64(&h, 12);
    let end_ts = le_i64(&h, 20);
    let point_count = le_u32(&h, 28);
    let payload_len = le_u32(&h, 32);
    let decoded_len = le_u32(&h, 36);
    let mismatch = |field: &str, frame: i128, index: i128| {
        src.corrupt(
            off,
            CorruptKind::IndexMismatch,
            format!("time frame {field} {frame} != time index {index}"),
        )
    };
    if id != t.id {
        return Err(mismatch("id", id.into(), t.id.into()));
    }
    if point_count != t.point_count {
        return Err(mismatch(
            "point_count",
            point_count.into(),
            t.point_count.into(),
        ));
    }
    if payload_len != t.payload_len {
        return Err(mismatch(
            "payload_len",
            payload_len.into(),
            t.payload_len.into(),
        ));
    }
    if decoded_len != t.decoded_len {
        return Err(mismatch(
            "decoded_len",
            decoded_len.into(),
            t.decoded_len.into(),
        ));
    }
    if start_ts != t.start_ts {
        return Err(mismatch("start_ts", start_ts.into(), t.start_ts.into()));
    }
    if end_ts != t.end_ts {
        return Err(mismatch("end_ts", end_ts.into(), t.end_ts.into()));
    }
    check_codec(src, off + 6, codec_id, "time frame")?;
    let poff = off + FRAME_HEADER_LEN as u64;
    let payload = src.read_payload(poff, payload_len, raw, "time frame payload")?;
    let mut decoded = Vec::new();
    src.decompress(
        poff,
        codec_id,
        payload,
        decoded_len,
        &mut decoded,
        "time frame payload",
    )?;
    if encoding != TIME_ENCODING_RAW {
        return Err(src.corrupt(
            off + 10,
            CorruptKind::BadTimeEncoding,
            format!("time encoding {encoding}, want 1"),
        ));
    }
    if u64::from(decoded_len) != 8 * u64::from(point_count) {
        return Err(src.corrupt(
            off + 36,
            CorruptKind::BadLength,
            format!("decoded_len {decoded_len} != 8 x point_count {point_count}"),
        ));
    }
    let ts: Arc<[i64]> = decoded
        .chunks_exact(8)
        .map(|b| i64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
        .collect();
    match (ts.first(), ts.last()) {
        (Some(&a), Some(&b)) if a == start_ts && b == end_ts => {}
        _ => {
            return Err(src.corrupt(
                off + 12,
                CorruptKind::BadTimestamps,
                format!(
                    "decoded first/last timestamps differ from start_ts {start_ts} / end_ts {end_ts}"
                ),
            ));
        }
    }
    cache.insert(key, ts.clone());
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
    let h: [u8; FRAME_HEADER_LEN] = src.read_array(off, "metric frame header")?;
    if &h[0..4] != METRIC_MAGIC {
        return Err(src.corrupt(off, CorruptKind::BadMagic, "metric frame magic is not MPG2"));
    }
    let hl = le_u16(&h, 4);
    if usize::from(hl) != FRAME_HEADER_LEN {
        return Err(src.corrupt(
            off + 4,
            CorruptKind::BadHeaderLen,
            format!("metric frame header_len {hl}, want 48"),
        ));
    }
    if le_u16(&h, 30) != 0 {
        return Err(src.corrupt(off + 30, CorruptKind::Reserved, "metric frame bytes 30..31"));
    }
    src.check_crc(off, &h, 44, "metric frame header")?;
    let codec_id = le_u16(&h, 6);
    let metric_id = le_u16(&h, 8);
    let value_type = h[10];
    let start_ts = le_i64(&h, 12);
    let end_ts = le_i64(&h, 20);
    let tf_id = le_u16(&h, 28);
    let time_offset = le_u32(&h, 32);
    let payload_len = le_u32(&h, 36);
    let decoded_len = le_u32(&h, 40);
    let mismatch = |field: &str, frame: i128, index: i128| {
        src.corrupt(
            off,
            CorruptKind::IndexMismatch,
            format!("metric frame {field} {frame} != metric index {index}"),
        )
    };
    if metric_id != m.metric_id {
        return Err(mismatch("metric id", metric_id.into(), m.metric_id.into()));
    }
    if value_type != m.value_type {
        return Err(mismatch(
            "value type",
            value_type.into(),
            m.value_type.into(),
        ));
    }
    if tf_id != m.time_frame_id {
        return Err(mismatch(
            "time_frame_id",
            tf_id.into(),
            m.time_frame_id.into(),
        ));
    }
    if time_offset != m.time_offset {
        return Err(mismatch(
            "time_offset",
            time_offset.into(),
            m.time_offset.into(),
        ));
    }
    if payload_len != m.payload_len {
        return Err(mismatch(
            "payload_len",
            payload_len.into(),
            m.payload_len.into(),
        ));
    }
    if decoded_len != m.decoded_len {
        return Err(mismatch(
            "decoded_len",
            decoded_len.into(),
            m.decoded_len.into(),
        ));
    }
    if start_ts != m.start_ts {
        return Err(mismatch("start_ts", start_ts.into(), m.start_ts.into()));
    }
    if end_ts != m.end_ts {
        return Err(mismatch("end_ts", end_ts.into(), m.end_ts.into()));
    }
    check_codec(src, off + 6, codec_id, "metric frame")?;
    let poff = off + FRAME_HEADER_LEN as u64;
    let payload = src.read_payload(poff, payload_len, raw, "metric frame payload")?;
    src.decompress(
        poff,
        codec_id,
        payload,
        decoded_len,
        vals,
        "metric frame payload",
    )?;
    if value_type != 1 && value_type != 2 {
        return Err(src.corrupt(
            off + 10,
            CorruptKind::BadValueType,
            format!("value type {value_type}"),
        ));
    }
    if decoded_len % 4 != 0 {
        return Err(src.corrupt(
            off + 40,
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
/// header placeholder; returns the final header and the summary.
pub(crate) fn write_body(
    w: &mut Out<'_>,
    path: &Path,
    codec: Codec,
    partition_kind: u8,
    metrics: &[MetricSamples],
    order: &[usize],
) -> Result<([u8; 64], WriteSummary)> {
    let too_many = || MetricFileError::InvalidInput {
        path: path.to_path_buf(),
        reason: "more than 65535 distinct timestamp vectors".into(),
    };
    let lists: Vec<&[i64]> = order.iter().map(|&i| metrics[i].ts.as_slice()).collect();
    let (frames, placements) = plan_time_frames(&lists).ok_or_else(too_many)?;
    let mut raw = Vec::new();
    let mut comp = Vec::new();
    let mut min_ts = i64::MAX;
    let mut max_ts = i64::MIN;
    let codec_id = u16::from(codec.id());

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
        let payload_len = compress_for(path, codec, &raw, &mut comp)?;
        let id = u16::try_from(fi + 1).map_err(|_| too_many())?;
        let n = ts.len() as u32;
        let dlen = raw.len() as u32;
        let offset = w.pos;
        let mut h = [0u8; FRAME_HEADER_LEN];
        h[0..4].copy_from_slice(TIME_MAGIC);
        h[4..6].copy_from_slice(&(FRAME_HEADER_LEN as u16).to_le_bytes());
        h[6..8].copy_from_slice(&codec_id.to_le_bytes());
        h[8..10].copy_from_slice(&id.to_le_bytes());
        h[10] = TIME_ENCODING_RAW;
        h[12..20].copy_from_slice(&start.to_le_bytes());
        h[20..28].copy_from_slice(&end.to_le_bytes());
        h[28..32].copy_from_slice(&n.to_le_bytes());
        h[32..36].copy_from_slice(&payload_len.to_le_bytes());
        h[36..40].copy_from_slice(&dlen.to_le_bytes());
        let crc = crc32fast::hash(&h[..44]);
        h[44..48].copy_from_slice(&crc.to_le_bytes());
        w.put(&h)?;
        w.put(&comp)?;
        w.put(&crc32fast::hash(&comp).to_le_bytes())?;

        let mut e = [0u8; TIME_ENTRY_LEN];
        e[0..2].copy_from_slice(&id.to_le_bytes());
        e[4..12].copy_from_slice(&offset.to_le_bytes());
        e[12..20].copy_from_slice(&start.to_le_bytes());
        e[20..28].copy_from_slice(&end.to_le_bytes());
        e[28..32].copy_from_slice(&n.to_le_bytes());
        e[32..36].copy_from_slice(&dlen.to_le_bytes());
        e[36..40].copy_from_slice(&payload_len.to_le_bytes());
        time_index.extend_from_slice(&e);
        min_ts = min_ts.min(start);
        max_ts = max_ts.max(end);
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
            raw.extend_from_slice(&v.to_le_bytes());
        }
        let payload_len = compress_for(path, codec, &raw, &mut comp)?;
        let dlen = raw.len() as u32;
        let offset = w.pos;
        let mut h = [0u8; FRAME_HEADER_LEN];
        h[0..4].copy_from_slice(METRIC_MAGIC);
        h[4..6].copy_from_slice(&(FRAME_HEADER_LEN as u16).to_le_bytes());
        h[6..8].copy_from_slice(&codec_id.to_le_bytes());
        h[8..10].copy_from_slice(&m.id.to_le_bytes());
        h[10] = m.value_type;
        h[12..20].copy_from_slice(&start.to_le_bytes());
        h[20..28].copy_from_slice(&end.to_le_bytes());
        h[28..30].copy_from_slice(&p.time_frame_id.to_le_bytes());
        h[32..36].copy_from_slice(&p.time_offset.to_le_bytes());
        h[36..40].copy_from_slice(&payload_len.to_le_bytes());
        h[40..44].copy_from_slice(&dlen.to_le_bytes());
        let crc = crc32fast::hash(&h[..44]);
        h[44..48].copy_from_slice(&crc.to_le_bytes());
        w.put(&h)?;
        w.put(&comp)?;
        w.put(&crc32fast::hash(&comp).to_le_bytes())?;

        let mut e = [0u8; METRIC_ENTRY_LEN];
        e[0..2].copy_from_slice(&m.id.to_le_bytes());
        e[2] = m.value_type;
        e[4..12].copy_from_slice(&offset.to_le_bytes());
        e[12..20].copy_from_slice(&start.to_le_bytes());
        e[20..28].copy_from_slice(&end.to_le_bytes());
        e[28..30].copy_from_slice(&p.time_frame_id.to_le_bytes());
        e[32..36].copy_from_slice(&p.time_offset.to_le_bytes());
        e[36..40].copy_from_slice(&dlen.to_le_bytes());
        e[40..44].copy_from_slice(&payload_len.to_le_bytes());
        metric_index.extend_from_slice(&e);
        min_ts = min_ts.min(start);
        max_ts = max_ts.max(end);
        points += m.ts.len() as u64;
    }

    let t_count = frames.len() as u32;
    let m_count = order.len() as u32;
    if m_count == 0 {
        min_ts = 0;
        max_ts = 0;
    }
    let t_off = w.pos;
    w.put(&time_index)?;
    let m_off = w.pos;
    w.put(&metric_index)?;
    w.put(&footer(2, 0))?;
    let mut fields = [0u8; 44];
    fields[0..8].copy_from_slice(&min_ts.to_le_bytes());
    fields[8..16].copy_from_slice(&max_ts.to_le_bytes());
    fields[16..20].copy_from_slice(&t_count.to_le_bytes());
    fields[20..24].copy_from_slice(&m_count.to_le_bytes());
    fields[24..32].copy_from_slice(&t_off.to_le_bytes());
    fields[32..40].copy_from_slice(&m_off.to_le_bytes());
    let header = file_header(Version::V2, partition_kind, &fields);
    Ok((
        header,
        WriteSummary {
            path: path.to_path_buf(),
            version: Version::V2,
            codec,
            bytes: 0,
            time_frames: t_count,
            metric_frames: m_count,
            points,
            min_ts,
            max_ts,
        },
    ))
}
