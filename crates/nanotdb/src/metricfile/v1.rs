//! Metric file v1 (docs/FORMATS.md §8.2): one `MPG1` frame per metric holding its
//! timestamps then its values, a PAGE_INFO array and a counting footer.

use std::collections::HashSet;
use std::ops::ControlFlow;
use std::path::Path;

use super::source::{Source, check_codec, le_i64, le_u16, le_u32, le_u64};
use super::writer::{Out, compress_for, file_header, footer};
use super::{
    CorruptKind, FILE_HEADER_LEN, FOOTER_LEN, FRAME_HEADER_LEN, FileSummary, FrameInfo,
    MetricSamples, Result, Version, WriteSummary,
};
use crate::config::Codec;

/// Frame magic.
pub const FRAME_MAGIC: &[u8; 4] = b"MPG1";
/// PAGE_INFO entry length.
pub const PAGE_INFO_LEN: usize = 44;
/// Decoded bytes per point (8 timestamp + 4 value).
const POINT_BYTES: u64 = 12;

/// One PAGE_INFO entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) metric_id: u16,
    pub(crate) value_type: u8,
    pub(crate) offset: u64,
    pub(crate) min_ts: i64,
    pub(crate) max_ts: i64,
    pub(crate) point_count: u32,
    pub(crate) uncompressed_len: u32,
    pub(crate) payload_len: u32,
}

/// Header and PAGE_INFO array of an open v1 file.
#[derive(Debug)]
pub(crate) struct Index {
    flags: u32,
    partition_kind: u8,
    min_ts: i64,
    max_ts: i64,
    pub(crate) entries: Vec<Entry>,
}

impl Index {
    /// Validation steps 1–6 of docs/FORMATS.md §8.2 (step 1, the size, is done by the caller
    /// but repeated here so the function stands alone).
    pub(crate) fn load(src: &Source) -> Result<Index> {
        if src.len < super::MIN_FILE_LEN {
            return Err(src.corrupt(0, CorruptKind::TooSmall, format!("{} bytes", src.len)));
        }
        let foff = src.len - FOOTER_LEN as u64;
        let ft: [u8; FOOTER_LEN] = src.read_array(foff, "footer")?;
        if &ft[0..4] != super::FOOTER_MAGIC {
            return Err(src.corrupt(foff, CorruptKind::BadMagic, "footer magic is not NTFT"));
        }
        src.check_crc(foff, &ft, 12, "footer")?;
        let tv = le_u32(&ft, 4);
        if tv != 1 {
            return Err(src.corrupt(
                foff + 4,
                CorruptKind::BadVersion,
                format!("footer trailer version {tv}, want 1"),
            ));
        }
        let count = le_u32(&ft, 8);
        let table_len = u64::from(count) * PAGE_INFO_LEN as u64;
        let start = match foff.checked_sub(table_len) {
            Some(s) if s >= FILE_HEADER_LEN as u64 => s,
            _ => {
                return Err(src.corrupt(
                    foff + 8,
                    CorruptKind::OutOfBounds,
                    format!("PAGE_INFO table of {count} entries does not fit the file"),
                ));
            }
        };
        let h = src.file_header(1)?;
        let metric_count = le_u32(&h, 32);
        let page_count = le_u32(&h, 36);
        if metric_count != count || page_count != count {
            return Err(src.corrupt(
                32,
                CorruptKind::CountMismatch,
                format!(
                    "header metric_count {metric_count} / page_count {page_count}, footer count {count}"
                ),
            ));
        }
        // The table lies inside the file (checked above), so this allocation
        // is bounded by the file size.
        let mut table = vec![0u8; table_len as usize];
        src.read_at(start, &mut table, "PAGE_INFO table")?;
        let mut entries = Vec::with_capacity(count as usize);
        let mut seen = HashSet::with_capacity(count as usize);
        for (i, chunk) in table.chunks_exact(PAGE_INFO_LEN).enumerate() {
            let eoff = start + (i * PAGE_INFO_LEN) as u64;
            let mut b = [0u8; PAGE_INFO_LEN];
            b.copy_from_slice(chunk);
            if le_u32(&b, 40) != 0 {
                return Err(src.corrupt(
                    eoff + 40,
                    CorruptKind::Reserved,
                    format!("PAGE_INFO entry {i} reserved bytes 40..43"),
                ));
            }
            let e = Entry {
                metric_id: le_u16(&b, 0),
                value_type: b[2],
                offset: le_u64(&b, 4),
                min_ts: le_i64(&b, 12),
                max_ts: le_i64(&b, 20),
                point_count: le_u32(&b, 28),
                uncompressed_len: le_u32(&b, 32),
                payload_len: le_u32(&b, 36),
            };
            if !seen.insert(e.offset) {
                return Err(src.corrupt(
                    eoff + 4,
                    CorruptKind::DuplicateOffset,
                    format!("PAGE_INFO entry {i} repeats frame offset {}", e.offset),
                ));
            }
            entries.push(e);
        }
        Ok(Index {
            flags: le_u32(&h, 8),
            partition_kind: h[12],
            min_ts: le_i64(&h, 16),
            max_ts: le_i64(&h, 24),
            entries,
        })
    }

    pub(crate) fn summary(&self, file_len: u64) -> FileSummary {
        FileSummary {
            version: Version::V1,
            file_len,
            flags: self.flags,
            partition_kind: self.partition_kind,
            min_ts: self.min_ts,
            max_ts: self.max_ts,
            time_frames: Vec::new(),
            frames: self
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
                .collect(),
        }
    }

    /// Step 7 of docs/FORMATS.md §8.2 for every entry matching `id` (all when `None`) whose
    /// [min, max] overlaps [from, to], then emission of the samples in range.
    pub(crate) fn read(
        &self,
        src: &Source,
        id: Option<u16>,
        from: i64,
        to: i64,
        f: &mut dyn FnMut(u16, i64, u32) -> ControlFlow<()>,
    ) -> Result<ControlFlow<()>> {
        let mut raw = Vec::new();
        let mut decoded = Vec::new();
        for e in &self.entries {
            if id.is_some_and(|id| id != e.metric_id) || e.max_ts < from || e.min_ts > to {
                continue;
            }
            let n = read_frame(src, e, &mut raw, &mut decoded)?;
            let (ts_bytes, val_bytes) = decoded.split_at(n * 8);
            for (t, v) in ts_bytes.chunks_exact(8).zip(val_bytes.chunks_exact(4)) {
                let ts = i64::from_le_bytes([t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7]]);
                if ts < from || ts > to {
                    continue;
                }
                let v = u32::from_le_bytes([v[0], v[1], v[2], v[3]]);
                if f(e.metric_id, ts, v).is_break() {
                    return Ok(ControlFlow::Break(()));
                }
            }
        }
        Ok(ControlFlow::Continue(()))
    }
}

/// Reads and checks one frame; `decoded` ends up holding 12·n bytes and
/// the point count n is returned.
fn read_frame(src: &Source, e: &Entry, raw: &mut Vec<u8>, decoded: &mut Vec<u8>) -> Result<usize> {
    let off = e.offset;
    let h: [u8; FRAME_HEADER_LEN] = src.read_array(off, "v1 frame header")?;
    if &h[0..4] != FRAME_MAGIC {
        return Err(src.corrupt(off, CorruptKind::BadMagic, "frame magic is not MPG1"));
    }
    let hl = le_u16(&h, 4);
    if usize::from(hl) != FRAME_HEADER_LEN {
        return Err(src.corrupt(
            off + 4,
            CorruptKind::BadHeaderLen,
            format!("frame header_len {hl}, want 48"),
        ));
    }
    let codec_id = le_u16(&h, 6);
    check_codec(src, off + 6, codec_id, "v1 frame")?;
    src.check_crc(off, &h, 44, "v1 frame header")?;
    let metric_id = le_u16(&h, 8);
    let value_type = h[10];
    let start_ts = le_i64(&h, 12);
    let end_ts = le_i64(&h, 20);
    let point_count = le_u32(&h, 28);
    let payload_len = le_u32(&h, 32);
    let uncompressed_len = le_u32(&h, 36);
    let mismatch = |field: &str, frame: u64, index: u64| {
        src.corrupt(
            off,
            CorruptKind::IndexMismatch,
            format!("frame {field} {frame} != PAGE_INFO {index}"),
        )
    };
    if metric_id != e.metric_id {
        return Err(mismatch("metric id", metric_id.into(), e.metric_id.into()));
    }
    if value_type != e.value_type {
        return Err(mismatch(
            "value type",
            value_type.into(),
            e.value_type.into(),
        ));
    }
    if payload_len != e.payload_len {
        return Err(mismatch(
            "payload_len",
            payload_len.into(),
            e.payload_len.into(),
        ));
    }
    if uncompressed_len != e.uncompressed_len {
        return Err(mismatch(
            "uncompressed_len",
            uncompressed_len.into(),
            e.uncompressed_len.into(),
        ));
    }
    if point_count != e.point_count {
        return Err(mismatch(
            "point_count",
            point_count.into(),
            e.point_count.into(),
        ));
    }
    let poff = off + FRAME_HEADER_LEN as u64;
    let payload = src.read_payload(poff, payload_len, raw, "v1 frame payload")?;
    src.decompress(
        poff,
        codec_id,
        payload,
        uncompressed_len,
        decoded,
        "v1 frame payload",
    )?;
    if u64::from(uncompressed_len) != POINT_BYTES * u64::from(point_count) {
        return Err(src.corrupt(
            off + 36,
            CorruptKind::BadLength,
            format!("uncompressed_len {uncompressed_len} != 12 x point_count {point_count}"),
        ));
    }
    let n = point_count as usize;
    let first = decoded.get(0..8);
    let last = n.checked_sub(1).and_then(|l| decoded.get(l * 8..l * 8 + 8));
    match (first, last) {
        (Some(a), Some(b)) if read_i64(a) == start_ts && read_i64(b) == end_ts => {}
        _ => {
            return Err(src.corrupt(
                off + 12,
                CorruptKind::BadTimestamps,
                format!("decoded first/last timestamps differ from start_ts {start_ts} / end_ts {end_ts}"),
            ));
        }
    }
    if value_type != 1 && value_type != 2 {
        return Err(src.corrupt(
            off + 10,
            CorruptKind::BadValueType,
            format!("value type {value_type}"),
        ));
    }
    Ok(n)
}

/// Decodes 8 LE bytes (callers pass exactly 8).
fn read_i64(b: &[u8]) -> i64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(b);
    i64::from_le_bytes(a)
}

/// Writes frames, PAGE_INFO and footer after the header placeholder;
/// returns the final header and the summary.
pub(crate) fn write_body(
    w: &mut Out<'_>,
    path: &Path,
    codec: Codec,
    partition_kind: u8,
    metrics: &[MetricSamples],
    order: &[usize],
) -> Result<([u8; 64], WriteSummary)> {
    let mut raw = Vec::new();
    let mut comp = Vec::new();
    let mut infos = Vec::with_capacity(order.len() * PAGE_INFO_LEN);
    let mut min_ts = i64::MAX;
    let mut max_ts = i64::MIN;
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
            raw.extend_from_slice(&v.to_le_bytes());
        }
        let payload_len = compress_for(path, codec, &raw, &mut comp)?;
        let n = m.ts.len() as u32;
        let ulen = raw.len() as u32;
        let offset = w.pos;
        let mut h = [0u8; FRAME_HEADER_LEN];
        h[0..4].copy_from_slice(FRAME_MAGIC);
        h[4..6].copy_from_slice(&(FRAME_HEADER_LEN as u16).to_le_bytes());
        h[6..8].copy_from_slice(&u16::from(codec.id()).to_le_bytes());
        h[8..10].copy_from_slice(&m.id.to_le_bytes());
        h[10] = m.value_type;
        h[12..20].copy_from_slice(&start.to_le_bytes());
        h[20..28].copy_from_slice(&end.to_le_bytes());
        h[28..32].copy_from_slice(&n.to_le_bytes());
        h[32..36].copy_from_slice(&payload_len.to_le_bytes());
        h[36..40].copy_from_slice(&ulen.to_le_bytes());
        let crc = crc32fast::hash(&h[..44]);
        h[44..48].copy_from_slice(&crc.to_le_bytes());
        w.put(&h)?;
        w.put(&comp)?;
        w.put(&crc32fast::hash(&comp).to_le_bytes())?;

        let mut e = [0u8; PAGE_INFO_LEN];
        e[0..2].copy_from_slice(&m.id.to_le_bytes());
        e[2] = m.value_type;
        e[4..12].copy_from_slice(&offset.to_le_bytes());
        e[12..20].copy_from_slice(&start.to_le_bytes());
        e[20..28].copy_from_slice(&end.to_le_bytes());
        e[28..32].copy_from_slice(&n.to_le_bytes());
        e[32..36].copy_from_slice(&ulen.to_le_bytes());
        e[36..40].copy_from_slice(&payload_len.to_le_bytes());
        infos.extend_from_slice(&e);
        min_ts = min_ts.min(start);
        max_ts = max_ts.max(end);
        points += u64::from(n);
    }
    let count = u32::try_from(order.len()).map_err(|_| super::MetricFileError::InvalidInput {
        path: path.to_path_buf(),
        reason: "too many metrics".into(),
    })?;
    if count == 0 {
        min_ts = 0;
        max_ts = 0;
    }
    w.put(&infos)?;
    w.put(&footer(1, count))?;
    let mut fields = [0u8; 44];
    fields[0..8].copy_from_slice(&min_ts.to_le_bytes());
    fields[8..16].copy_from_slice(&max_ts.to_le_bytes());
    fields[16..20].copy_from_slice(&count.to_le_bytes());
    fields[20..24].copy_from_slice(&count.to_le_bytes());
    let header = file_header(Version::V1, partition_kind, &fields);
    Ok((
        header,
        WriteSummary {
            path: path.to_path_buf(),
            version: Version::V1,
            codec,
            bytes: 0,
            time_frames: 0,
            metric_frames: count,
            points,
            min_ts,
            max_ts,
        },
    ))
}
