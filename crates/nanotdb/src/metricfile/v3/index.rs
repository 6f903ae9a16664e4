//! The packed index layout of v3 files (footer word 1, docs/FORMATS.md
//! §8.9): both index tables byte-transposed and stored as one zstd frame.
//!
//! A day of 10-minute samples has ~150 bytes of values per metric, so the
//! plain 40-byte metric entries were a fifth of such a file. The entries
//! of one file differ in few bytes (ids count up, counts and time ranges
//! repeat): transposed, each byte position becomes one long, nearly
//! constant run, which zstd stores in a few bytes.

use crate::codec;
use crate::config::Codec;

/// Footer word of a v3 file whose indexes are plain tables.
pub const LAYOUT_PLAIN: u32 = 0;
/// Footer word of a v3 file whose indexes are packed.
pub const LAYOUT_PACKED: u32 = 1;
/// Most index bytes one packed byte may declare: bounds the reader's
/// allocation by the file size (the writer keeps a plain index beyond).
pub const MAX_INDEX_RATIO: u64 = 1024;
/// The codec of the packed index frame.
pub const INDEX_CODEC: Codec = Codec::ZstdDefault;

/// Byte `j` of every `width`-byte entry, for each `j` in turn.
fn transpose(table: &[u8], width: usize, out: &mut Vec<u8>) {
    let n = table.len() / width;
    for j in 0..width {
        out.extend((0..n).map(|i| table[i * width + j]));
    }
}

/// Undoes [`transpose`] of `n` entries of `width` bytes.
fn untranspose(packed: &[u8], width: usize, n: usize) -> Vec<u8> {
    let mut table = vec![0u8; n * width];
    for (j, col) in packed.chunks_exact(n.max(1)).take(width).enumerate() {
        for (i, &b) in col.iter().enumerate() {
            table[i * width + j] = b;
        }
    }
    table
}

/// The packed form of the two tables, if it is smaller than them and
/// within [`MAX_INDEX_RATIO`]; `None` keeps the plain layout.
pub(crate) fn pack(
    blocks: &[u8],
    block_width: usize,
    metrics: &[u8],
    metric_width: usize,
) -> Option<Vec<u8>> {
    let mut t = Vec::with_capacity(blocks.len() + metrics.len());
    transpose(blocks, block_width, &mut t);
    transpose(metrics, metric_width, &mut t);
    let mut out = Vec::new();
    codec::compress(INDEX_CODEC, &t, &mut out).ok()?;
    let plain = t.len() as u64;
    (out.len() < t.len() && plain <= out.len() as u64 * MAX_INDEX_RATIO).then_some(out)
}

/// The two plain tables from a packed index of `nb` block entries and
/// `nm` metric entries; `Err` describes why the frame is unusable.
pub(crate) fn unpack(
    packed: &[u8],
    (nb, block_width): (u32, usize),
    (nm, metric_width): (u32, usize),
) -> Result<(Vec<u8>, Vec<u8>), String> {
    let bl = u64::from(nb) * block_width as u64;
    let ml = u64::from(nm) * metric_width as u64;
    let total = bl + ml;
    if total > packed.len() as u64 * MAX_INDEX_RATIO || total > u64::from(u32::MAX) {
        return Err(format!(
            "{total} index bytes impossible in {} packed bytes",
            packed.len()
        ));
    }
    let mut t = Vec::new();
    codec::decompress(u16::from(INDEX_CODEC.id()), packed, total as usize, &mut t)
        .map_err(|e| e.to_string())?;
    let (bt, mt) = t.split_at(bl as usize);
    Ok((
        untranspose(bt, block_width, nb as usize),
        untranspose(mt, metric_width, nm as usize),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transpose_round_trips_and_groups_byte_positions() {
        let table: Vec<u8> = (0..12).collect();
        let mut t = Vec::new();
        transpose(&table, 4, &mut t);
        assert_eq!(t, [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]);
        assert_eq!(untranspose(&t, 4, 3), table);
        assert_eq!(untranspose(&[], 4, 0), Vec::<u8>::new());
    }

    #[test]
    fn unpack_refuses_sizes_the_frame_cannot_hold() {
        let e = unpack(&[0u8; 4], (1000, 24), (0, 40)).unwrap_err();
        assert_eq!(e, "24000 index bytes impossible in 4 packed bytes");
        let b: Vec<u8> = (0..240u32).map(|i| (i % 7) as u8).collect();
        let m = vec![3u8; 400];
        let p = pack(&b, 24, &m, 40).unwrap();
        assert_eq!(unpack(&p, (10, 24), (10, 40)).unwrap(), (b, m));
        assert!(unpack(&p, (10, 24), (11, 40)).is_err(), "another length");
    }
}
