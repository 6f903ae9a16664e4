//! Planning and writing a v3 file: segments, shared time vectors, packed
//! blocks (docs/FORMATS.md §8.9).

use std::collections::HashMap;

use super::column::{self, DT_I64};
use super::{BLOCK_ENTRY_LEN, METRIC_ENTRY_LEN, footer};
use crate::metricfile::header::FileHeader;
use crate::metricfile::writer::{Out, TsRange};
use crate::metricfile::{MetricSamples, Result};

/// Most points of one metric segment: a longer metric is split, so a range
/// query of a long partition decodes only the segments it overlaps.
pub const SEGMENT_POINTS: usize = 1 << 16;
/// Vectors shorter than this are packed with their neighbours: below a few
/// hundred numbers pcodec's per-block tables dominate. Longer vectors get a
/// block of their own, as packing two unlike metrics costs more than the
/// tables (fleet, 1 h of 1 s samples: 11 % smaller unpacked).
pub const SOLO_POINTS: usize = 1024;
/// A block of packed short vectors is closed once it holds this many
/// numbers (history, 144-point day vectors: 10 % smaller than at 1,024).
pub const PACK_POINTS: usize = 4096;

/// One piece of a metric: `metrics[m]` points `lo..hi`.
struct Piece {
    m: usize,
    lo: usize,
    hi: usize,
}

/// Assigns each vector (by index) a (block, start): a vector of at least
/// [`SOLO_POINTS`] gets a block of its own, shorter ones fill a shared
/// block up to [`PACK_POINTS`]; returns the block contents as lists of
/// vector indexes.
fn pack(lens: &[usize], keys: &[u32]) -> (Vec<Vec<usize>>, Vec<(usize, u32)>) {
    let mut blocks: Vec<Vec<usize>> = Vec::new();
    let mut place = Vec::with_capacity(lens.len());
    let mut shared: Option<(usize, usize, u32)> = None;
    for ((i, &n), &key) in lens.iter().enumerate().zip(keys) {
        if n >= SOLO_POINTS {
            blocks.push(vec![i]);
            place.push((blocks.len() - 1, 0));
            continue;
        }
        let (b, fill) = match shared {
            Some((b, fill, k)) if fill < PACK_POINTS && k == key => (b, fill),
            _ => {
                blocks.push(Vec::new());
                (blocks.len() - 1, 0)
            }
        };
        place.push((b, fill as u32));
        blocks[b].push(i);
        shared = Some((b, fill + n, key));
    }
    (blocks, place)
}

/// Writes the blocks, the block index, the metric index and the footer of
/// a v3 file after the placeholder header; returns the header to store and
/// the number of points.
pub(crate) fn write_body(
    w: &mut Out<'_>,
    level: usize,
    partition_kind: u8,
    metrics: &[MetricSamples],
    order: &[usize],
) -> Result<(FileHeader, u64)> {
    let mut pieces = Vec::new();
    for &m in order {
        let n = metrics[m].ts.len();
        let mut lo = 0;
        while lo < n {
            let hi = (lo + SEGMENT_POINTS).min(n);
            pieces.push(Piece { m, lo, hi });
            lo = hi;
        }
    }
    // Distinct time vectors, in first-use order.
    let mut distinct: Vec<&[i64]> = Vec::new();
    let mut tv_of: HashMap<&[i64], usize> = HashMap::new();
    let piece_tv: Vec<usize> = pieces
        .iter()
        .map(|p| {
            let ts = &metrics[p.m].ts[p.lo..p.hi];
            *tv_of.entry(ts).or_insert_with(|| {
                distinct.push(ts);
                distinct.len() - 1
            })
        })
        .collect();
    let (tblocks, tplace) = pack(
        &distinct.iter().map(|t| t.len()).collect::<Vec<_>>(),
        &vec![0; distinct.len()],
    );

    let mut block_index = Vec::new();
    let mut nblocks = 0u32;
    let mut put_block = |w: &mut Out<'_>, dtype: u8, nums: &[u64]| -> Result<u32> {
        let (enc, payload) = column::encode(dtype, nums, level);
        let offset = w.pos;
        w.put(&payload)?;
        w.put(&crc32fast::hash(&payload).to_le_bytes())?;
        let mut e = [0u8; BLOCK_ENTRY_LEN];
        e[super::BI_OFFSET..super::BI_OFFSET + 8].copy_from_slice(&offset.to_le_bytes());
        let plen = u32::try_from(payload.len()).map_err(|_| w.invalid("block over 4 GiB"))?;
        e[super::BI_PAYLOAD_LEN..super::BI_PAYLOAD_LEN + 4].copy_from_slice(&plen.to_le_bytes());
        e[super::BI_COUNT..super::BI_COUNT + 4].copy_from_slice(&(nums.len() as u32).to_le_bytes());
        e[super::BI_DTYPE] = dtype;
        e[super::BI_ENCODING] = enc;
        block_index.extend_from_slice(&e);
        nblocks += 1;
        Ok(nblocks - 1)
    };

    let mut nums: Vec<u64> = Vec::new();
    let mut tblock_id = Vec::with_capacity(tblocks.len());
    for vecs in &tblocks {
        nums.clear();
        for &v in vecs {
            nums.extend(distinct[v].iter().map(|&t| t as u64));
        }
        tblock_id.push(put_block(w, DT_I64, &nums)?);
    }
    // Value blocks: pieces grouped by type, each group packed in id order.
    let mut vplace: Vec<(u32, u32)> = vec![(0, 0); pieces.len()];
    for dtype in 1..=4u8 {
        let mut idx: Vec<(u32, usize)> = (0..pieces.len())
            .filter(|&i| metrics[pieces[i].m].value_type == dtype)
            .map(|i| {
                let p = &pieces[i];
                let key = if p.hi - p.lo >= SOLO_POINTS {
                    0
                } else {
                    column::pack_key(dtype, &metrics[p.m].vals[p.lo..p.hi])
                };
                (key, i)
            })
            .collect();
        // Stable: like vectors stay in id order among themselves.
        idx.sort_by_key(|&(key, _)| key);
        let (keys, idx): (Vec<u32>, Vec<usize>) = idx.into_iter().unzip();
        let lens: Vec<usize> = idx.iter().map(|&i| pieces[i].hi - pieces[i].lo).collect();
        let (vblocks, place) = pack(&lens, &keys);
        let mut ids = Vec::with_capacity(vblocks.len());
        for members in &vblocks {
            nums.clear();
            for &k in members {
                let p = &pieces[idx[k]];
                nums.extend_from_slice(&metrics[p.m].vals[p.lo..p.hi]);
            }
            ids.push(put_block(w, dtype, &nums)?);
        }
        for (k, &(b, start)) in place.iter().enumerate() {
            vplace[idx[k]] = (ids[b], start);
        }
    }

    let mut metric_index = Vec::with_capacity(pieces.len() * METRIC_ENTRY_LEN);
    let mut range = TsRange::new();
    let mut points = 0u64;
    for (i, p) in pieces.iter().enumerate() {
        let m = &metrics[p.m];
        let (start, end) = (m.ts[p.lo], m.ts[p.hi - 1]);
        range.add(start, end);
        let (tb, ts0) = tplace[piece_tv[i]];
        let (vb, vs0) = vplace[i];
        let mut e = [0u8; METRIC_ENTRY_LEN];
        e[super::MX_METRIC_ID..super::MX_METRIC_ID + 2].copy_from_slice(&m.id.to_le_bytes());
        e[super::MX_VALUE_TYPE] = m.value_type;
        e[super::MX_COUNT..super::MX_COUNT + 4]
            .copy_from_slice(&((p.hi - p.lo) as u32).to_le_bytes());
        e[super::MX_START_TS..super::MX_START_TS + 8].copy_from_slice(&start.to_le_bytes());
        e[super::MX_END_TS..super::MX_END_TS + 8].copy_from_slice(&end.to_le_bytes());
        e[super::MX_TIME_BLOCK..super::MX_TIME_BLOCK + 4]
            .copy_from_slice(&tblock_id[tb].to_le_bytes());
        e[super::MX_TIME_START..super::MX_TIME_START + 4].copy_from_slice(&ts0.to_le_bytes());
        e[super::MX_VALUE_BLOCK..super::MX_VALUE_BLOCK + 4].copy_from_slice(&vb.to_le_bytes());
        e[super::MX_VALUE_START..super::MX_VALUE_START + 4].copy_from_slice(&vs0.to_le_bytes());
        metric_index.extend_from_slice(&e);
        points += (p.hi - p.lo) as u64;
    }

    let block_index_offset = w.pos;
    let (metric_index_offset, layout, crc) = match super::index::pack(
        &block_index,
        BLOCK_ENTRY_LEN,
        &metric_index,
        METRIC_ENTRY_LEN,
    ) {
        Some(packed) => {
            w.put(&packed)?;
            (w.pos, super::index::LAYOUT_PACKED, crc32fast::hash(&packed))
        }
        None => {
            w.put(&block_index)?;
            let at = w.pos;
            w.put(&metric_index)?;
            let mut h = crc32fast::Hasher::new();
            h.update(&block_index);
            h.update(&metric_index);
            (at, super::index::LAYOUT_PLAIN, h.finalize())
        }
    };
    w.put(footer(layout).as_bytes())?;
    let segments = u32::try_from(pieces.len()).map_err(|_| w.invalid("too many segments"))?;
    let header = FileHeader::new_v3(
        partition_kind,
        range.finish(pieces.is_empty()),
        (nblocks, segments),
        (block_index_offset, metric_index_offset),
        crc,
    );
    Ok((header, points))
}
