//! Metric file v1 (docs/FORMATS.md §8.2): one `MPG1` frame per metric holding its
//! timestamps then its values, a PAGE_INFO array and a counting footer.

use std::collections::HashSet;
use std::ops::ControlFlow;

use super::header::{
    FTR_COUNT, FTR_VERSION, FileHeader, Footer, FrameHeader, FrameKind, MPG1_UNCOMPRESSED_LEN,
    V1_METRIC_COUNT,
};
use super::le::{index_entry, le_u32};
use super::run::Run;
use super::source::Source;
use super::writer::{Out, TsRange};
use super::{CorruptKind, FILE_HEADER_LEN, FileSummary, FrameInfo, MetricSamples, Result, Version};
use crate::config::Codec;

/// Frame magic.
pub const FRAME_MAGIC: &[u8; 4] = b"MPG1";
/// PAGE_INFO entry length.
pub const PAGE_INFO_LEN: usize = 44;
/// Decoded bytes per point (8 timestamp + 4 value).
const POINT_BYTES: u64 = 12;

/// PAGE_INFO: metric id, u16.
pub const PI_METRIC_ID: usize = 0;
/// PAGE_INFO: value type, u8.
pub const PI_VALUE_TYPE: usize = 2;
/// PAGE_INFO: reserved byte (never checked).
pub const PI_RESERVED: usize = 3;
/// PAGE_INFO: absolute offset of the frame, u64.
pub const PI_FRAME_OFFSET: usize = 4;
/// PAGE_INFO: the metric's smallest timestamp, i64 (filters only).
pub const PI_MIN_TS: usize = 12;
/// PAGE_INFO: the metric's largest timestamp, i64 (filters only).
pub const PI_MAX_TS: usize = 20;
/// PAGE_INFO: point count, u32.
pub const PI_POINT_COUNT: usize = 28;
/// PAGE_INFO: decoded payload length, u32.
pub const PI_UNCOMPRESSED_LEN: usize = 32;
/// PAGE_INFO: compressed payload length, u32.
pub const PI_PAYLOAD_LEN: usize = 36;
/// PAGE_INFO: 4 reserved bytes that must be zero.
pub const PI_RESERVED2: usize = 40;

index_entry! {
    /// One PAGE_INFO entry.
    Entry[PAGE_INFO_LEN] {
        metric_id: u16 = PI_METRIC_ID,
        value_type: u8 = PI_VALUE_TYPE,
        offset: u64 = PI_FRAME_OFFSET,
        min_ts: i64 = PI_MIN_TS,
        max_ts: i64 = PI_MAX_TS,
        point_count: u32 = PI_POINT_COUNT,
        uncompressed_len: u32 = PI_UNCOMPRESSED_LEN,
        payload_len: u32 = PI_PAYLOAD_LEN,
    }
}

/// Header and PAGE_INFO array of an open v1 file.
#[derive(Debug)]
pub(crate) struct Index {
    header: FileHeader,
    pub(crate) entries: Vec<Entry>,
}

impl Index {
    /// Validation steps 1–6 of docs/FORMATS.md §8.2 (step 1, the size, is done by the caller
    /// but repeated here so the function stands alone).
    pub(crate) fn load(src: &Source) -> Result<Index> {
        src.require_min_len()?;
        let (foff, ft) = src.footer()?;
        src.check_crc(foff, ft.crc(), "footer")?;
        let tv = ft.version();
        if tv != 1 {
            return Err(src.corrupt(
                foff + FTR_VERSION as u64,
                CorruptKind::BadVersion,
                format!("footer trailer version {tv}, want 1"),
            ));
        }
        let count = ft.count();
        let table_len = u64::from(count) * PAGE_INFO_LEN as u64;
        let start = match foff.checked_sub(table_len) {
            Some(s) if s >= FILE_HEADER_LEN as u64 => s,
            _ => {
                return Err(src.corrupt(
                    foff + FTR_COUNT as u64,
                    CorruptKind::OutOfBounds,
                    format!("PAGE_INFO table of {count} entries does not fit the file"),
                ));
            }
        };
        let h = src.file_header(1)?;
        let metric_count = h.v1_metric_count();
        let page_count = h.v1_page_count();
        if metric_count != count || page_count != count {
            return Err(src.corrupt(
                V1_METRIC_COUNT as u64,
                CorruptKind::CountMismatch,
                format!(
                    "header metric_count {metric_count} / page_count {page_count}, footer count {count}"
                ),
            ));
        }
        // The table lies inside the file (checked above), so this allocation
        // is bounded by the file size.
        let table = src.read_table(start, count, PAGE_INFO_LEN, "PAGE_INFO table")?;
        let mut entries = Vec::with_capacity(count as usize);
        let mut seen = HashSet::with_capacity(count as usize);
        for (i, b) in super::source::entries::<PAGE_INFO_LEN>(&table) {
            let eoff = start + (i * PAGE_INFO_LEN) as u64;
            if le_u32(&b, PI_RESERVED2) != 0 {
                return Err(src.corrupt(
                    eoff + PI_RESERVED2 as u64,
                    CorruptKind::Reserved,
                    format!("PAGE_INFO entry {i} reserved bytes 40..43"),
                ));
            }
            let e = Entry::decode(&b);
            if !seen.insert(e.offset) {
                return Err(src.corrupt(
                    eoff + PI_FRAME_OFFSET as u64,
                    CorruptKind::DuplicateOffset,
                    format!("PAGE_INFO entry {i} repeats frame offset {}", e.offset),
                ));
            }
            entries.push(e);
        }
        Ok(Index { header: h, entries })
    }

    pub(crate) fn summary(&self, file_len: u64) -> FileSummary {
        let frames = self
            .entries
            .iter()
            .map(|e| FrameInfo {
                offset: e.offset,
                metric_id: e.metric_id,
                value_type: e.value_type,
                point_count: e.point_count,
                payload_len: e.payload_len,
                decoded_len: e.uncompressed_len,
                start_ts: e.min_ts,
                end_ts: e.max_ts,
                time_frame_id: None,
                time_offset: None,
            })
            .collect();
        FileSummary::from_header(Version::V1, file_len, &self.header, Vec::new(), frames)
    }

    /// Step 7 of docs/FORMATS.md §8.2 for every entry matching `id` (all when `None`) whose
    /// [min, max] overlaps [from, to], each frame as one run (samples out of
    /// range included).
    pub(crate) fn read(
        &self,
        src: &Source,
        id: Option<u16>,
        from: i64,
        to: i64,
        f: &mut dyn FnMut(u16, Run<'_>) -> ControlFlow<()>,
    ) -> Result<ControlFlow<()>> {
        let mut raw = Vec::new();
        let mut decoded = Vec::new();
        let mut ts = Vec::new();
        for e in &self.entries {
            if id.is_some_and(|id| id != e.metric_id) || e.max_ts < from || e.min_ts > to {
                continue;
            }
            let n = read_frame(src, e, &mut raw, &mut decoded)?;
            let (ts_bytes, val_bytes) = decoded.split_at(n * 8);
            ts.clear();
            ts.extend(ts_bytes.chunks_exact(8).map(read_i64));
            if f(e.metric_id, Run::Le32(&ts, val_bytes)).is_break() {
                return Ok(ControlFlow::Break(()));
            }
        }
        Ok(ControlFlow::Continue(()))
    }
}

/// Reads and checks one frame; `decoded` ends up holding 12·n bytes and
/// the point count n is returned.
fn read_frame(src: &Source, e: &Entry, raw: &mut Vec<u8>, decoded: &mut Vec<u8>) -> Result<usize> {
    let off = e.offset;
    let h = src.frame_header(off, FrameKind::Mpg1)?;
    src.check_frame_codec(off, &h)?;
    src.check_frame_crc(off, &h)?;
    let (point_count, uncompressed_len) = (h.point_count(), h.decoded_len());
    src.check_against_index(
        off,
        &h,
        &[
            ("metric id", h.id().into(), e.metric_id.into()),
            ("value type", h.type_code().into(), e.value_type.into()),
            ("payload_len", h.payload_len().into(), e.payload_len.into()),
            (
                "uncompressed_len",
                uncompressed_len.into(),
                e.uncompressed_len.into(),
            ),
            ("point_count", point_count.into(), e.point_count.into()),
        ],
    )?;
    src.frame_payload(off, &h, raw, decoded)?;
    if u64::from(uncompressed_len) != POINT_BYTES * u64::from(point_count) {
        return Err(src.corrupt(
            off + MPG1_UNCOMPRESSED_LEN as u64,
            CorruptKind::BadLength,
            format!("uncompressed_len {uncompressed_len} != 12 x point_count {point_count}"),
        ));
    }
    let n = point_count as usize;
    let first = decoded.get(0..8).map(read_i64);
    let last = n
        .checked_sub(1)
        .and_then(|l| decoded.get(l * 8..l * 8 + 8))
        .map(read_i64);
    src.check_first_last(off, &h, first, last)?;
    src.check_value_type(off, &h)?;
    Ok(n)
}

/// Decodes 8 LE bytes (callers pass exactly 8).
fn read_i64(b: &[u8]) -> i64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(b);
    i64::from_le_bytes(a)
}

/// Writes frames, PAGE_INFO and footer after the header placeholder;
/// returns the final header (which holds the counts and the range) and the
/// number of points written.
pub(crate) fn write_body(
    w: &mut Out<'_>,
    codec: Codec,
    partition_kind: u8,
    metrics: &[MetricSamples],
    order: &[usize],
) -> Result<(FileHeader, u64)> {
    let mut raw = Vec::new();
    let mut comp = Vec::new();
    let mut infos = Vec::with_capacity(order.len() * PAGE_INFO_LEN);
    let mut range = TsRange::new();
    let mut points = 0u64;
    for &i in order {
        let m = &metrics[i];
        let (Some(&start), Some(&end)) = (m.ts.first(), m.ts.last()) else {
            continue; // validated non-empty by the caller
        };
        raw.clear();
        for t in &m.ts {
            raw.extend_from_slice(&t.to_le_bytes());
        }
        for v in &m.vals {
            raw.extend_from_slice(&(*v as u32).to_le_bytes());
        }
        let n = m.ts.len() as u32;
        let mut h = FrameHeader::new(FrameKind::Mpg1);
        h.set_id(m.id, m.value_type)
            .set_range(start, end)
            .set_point_count(n);
        let (offset, payload_len) = w.put_frame(codec, h, &raw, &mut comp)?;
        let entry = Entry {
            metric_id: m.id,
            value_type: m.value_type,
            offset,
            min_ts: start,
            max_ts: end,
            point_count: n,
            uncompressed_len: raw.len() as u32,
            payload_len,
        };
        infos.extend_from_slice(&entry.encode());
        range.add(start, end);
        points += u64::from(n);
    }
    let count = u32::try_from(order.len()).map_err(|_| w.invalid("too many metrics"))?;
    let (min_ts, max_ts) = range.finish(count == 0);
    w.put(&infos)?;
    w.put(Footer::new(1, count).as_bytes())?;
    let header = FileHeader::new_v1(partition_kind, min_ts, max_ts, count);
    Ok((header, points))
}
