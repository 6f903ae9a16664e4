//! The raw frame: one flushed page of samples (docs/FORMATS.md §3.2–3.4).
//!
//! ```text
//! start_ts i64 | end_ts i64 | n u16 | uvarint clen | S2 block (clen bytes) | crc32 u32
//! ```
//! The block decodes to three columns: `n` metric ids (u16), `n` timestamps
//! (i64), `n` values (4 raw bytes). Everything is little-endian; the CRC
//! (IEEE) covers the compressed block only.
//!
//! This implementation's extension (docs/FORMATS.md §3.9): a frame holding
//! records of 8-byte metrics (float64, int64) appends two more columns, a
//! bitmap marking those records and their high 4 bytes; the values column
//! keeps the low 4 bytes. A frame without such records is exactly v1.4.0's.

use crate::varint;

/// Fixed part of a frame header (timestamps and count).
pub const FRAME_HEADER_LEN: usize = 18;
/// Decoded bytes per record: 2 (id) + 8 (timestamp) + 4 (value).
pub const RECORD_BYTES: usize = 14;
/// Most records a frame can hold (the count is a u16).
pub const MAX_RECORDS: usize = u16::MAX as usize;

/// Why a frame cannot be read or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// Fewer than 18 header bytes.
    #[error("truncated frame header")]
    TruncatedHeader,
    /// The compressed-length varint is incomplete or overflows.
    #[error("invalid compressed length varint")]
    BadVarint,
    /// The block or CRC extends past the available bytes.
    #[error("truncated compressed payload: need {need} bytes, {have} available")]
    TruncatedPayload {
        /// Bytes the header declares (block + CRC).
        need: u64,
        /// Bytes present.
        have: u64,
    },
    /// The CRC does not match the block.
    #[error("checksum mismatch: stored {stored:#010x}, computed {computed:#010x}")]
    ChecksumMismatch {
        /// CRC stored in the frame.
        stored: u32,
        /// CRC of the block bytes.
        computed: u32,
    },
    /// The block decodes to a length other than 14·n (or, with 8-byte
    /// values, 14·n + ⌈n/8⌉ + 4·w).
    #[error("decoded length {actual} != {expected} (14 x record count, plus the wide columns)")]
    BadDecodedLength {
        /// The length the record count (and wide bitmap) call for.
        expected: u64,
        /// Length declared by the block.
        actual: u64,
    },
    /// The S2 block is invalid.
    #[error("s2 decode: {0}")]
    Decompress(String),
    /// A frame must hold at least one record.
    #[error("empty frame (record count 0)")]
    Empty,
    /// More than 65535 records or column lengths that differ.
    #[error("invalid page: {0}")]
    InvalidPage(&'static str),
    /// The stricter checks of the offline tools failed.
    #[error("invalid frame: {0}")]
    Strict(&'static str),
    /// The wide-value columns (docs/FORMATS.md §3.9) are inconsistent.
    #[error("invalid wide-value columns: {0}")]
    BadWideColumns(&'static str),
}

/// A parsed frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// Timestamp of the first record.
    pub start_ts: i64,
    /// Timestamp of the last record.
    pub end_ts: i64,
    /// Number of records.
    pub count: u16,
    /// Length of the compressed block.
    pub clen: u64,
    /// Header bytes including the varint (18 + 1..=10).
    pub header_len: usize,
}

impl FrameHeader {
    /// Whole frame length: header, block and CRC.
    pub fn frame_len(&self) -> u64 {
        self.header_len as u64 + self.clen + 4
    }
}

/// Parses the header at the start of `buf` (which may hold more bytes).
pub fn parse_frame_header(buf: &[u8]) -> Result<FrameHeader, FrameError> {
    let fixed = buf
        .get(..FRAME_HEADER_LEN)
        .ok_or(FrameError::TruncatedHeader)?;
    let start_ts = i64::from_le_bytes(
        fixed[0..8]
            .try_into()
            .map_err(|_| FrameError::TruncatedHeader)?,
    );
    let end_ts = i64::from_le_bytes(
        fixed[8..16]
            .try_into()
            .map_err(|_| FrameError::TruncatedHeader)?,
    );
    let count = u16::from_le_bytes([fixed[16], fixed[17]]);
    let (clen, vlen) = varint::decode(&buf[FRAME_HEADER_LEN..]).ok_or(FrameError::BadVarint)?;
    Ok(FrameHeader {
        start_ts,
        end_ts,
        count,
        clen,
        header_len: FRAME_HEADER_LEN + vlen,
    })
}

/// Appends one complete frame for the given columns to `out`. The caller
/// sorts the page by time first; `start_ts`/`end_ts` are the first and last
/// timestamps. `vals` are the stored bits ([`crate::Value::to_bits`]);
/// `wide(i)` says whether record `i` belongs to an 8-byte metric, whose high
/// 4 bytes go into the extension columns (docs/FORMATS.md §3.9). When no
/// record is wide the frame is byte for byte v1.4.0's. `scratch` is reused
/// for the uncompressed payload.
pub fn encode_frame(
    ids: &[u16],
    ts: &[i64],
    vals: &[u64],
    wide: impl Fn(usize) -> bool,
    scratch: &mut Vec<u8>,
    out: &mut Vec<u8>,
) -> Result<(), FrameError> {
    let n = ids.len();
    if n == 0 {
        return Err(FrameError::Empty);
    }
    if n > MAX_RECORDS {
        return Err(FrameError::InvalidPage("more than 65535 records"));
    }
    if ts.len() != n || vals.len() != n {
        return Err(FrameError::InvalidPage("column lengths differ"));
    }
    scratch.clear();
    scratch.reserve(n * RECORD_BYTES);
    for id in ids {
        scratch.extend_from_slice(&id.to_le_bytes());
    }
    for t in ts {
        scratch.extend_from_slice(&t.to_le_bytes());
    }
    for v in vals {
        scratch.extend_from_slice(&(*v as u32).to_le_bytes());
    }
    if let Some(first) = (0..n).find(|&i| wide(i)) {
        let bitmap = scratch.len();
        scratch.resize(bitmap + n.div_ceil(8), 0);
        for i in (first..n).filter(|&i| wide(i)) {
            scratch[bitmap + i / 8] |= 1 << (i % 8);
        }
        for i in (first..n).filter(|&i| wide(i)) {
            scratch.extend_from_slice(&((vals[i] >> 32) as u32).to_le_bytes());
        }
    }
    let block = minlz::encode(scratch);
    out.extend_from_slice(&ts[0].to_le_bytes());
    out.extend_from_slice(&ts[n - 1].to_le_bytes());
    out.extend_from_slice(&(n as u16).to_le_bytes());
    varint::encode(block.len() as u64, out);
    out.extend_from_slice(&block);
    out.extend_from_slice(&crc32fast::hash(&block).to_le_bytes());
    Ok(())
}

/// A decoded frame payload, reusable across frames to avoid allocations.
#[derive(Debug, Default, Clone)]
pub struct DecodedFrame {
    buf: Vec<u8>,
    n: usize,
    /// Per record, the index of its high word in the extension column, or
    /// `u32::MAX` for a 4-byte record; empty when no record is wide or when
    /// every record is (`all_wide`).
    hi: Vec<u32>,
    /// Every record is wide, so record `i`'s high word is the `i`-th: a
    /// frame of float64 or int64 metrics only, the common case, needs no
    /// index (building one cost a tenth of a full-day PromQL scan).
    all_wide: bool,
}

/// Verifies the CRC of `block`, checks its declared decoded length against
/// 14·n (or the wide layout's bounds) before allocating, and decodes it into
/// `out`.
pub fn decode_frame_into(
    header: &FrameHeader,
    block: &[u8],
    crc: u32,
    out: &mut DecodedFrame,
) -> Result<(), FrameError> {
    let computed = crc32fast::hash(block);
    if computed != crc {
        return Err(FrameError::ChecksumMismatch {
            stored: crc,
            computed,
        });
    }
    let n = usize::from(header.count);
    if n == 0 {
        return Err(FrameError::Empty);
    }
    let narrow = n * RECORD_BYTES;
    let (declared, _) =
        minlz::decode_len(block).map_err(|e| FrameError::Decompress(e.to_string()))?;
    // Wide layout: bitmap of ⌈n/8⌉ bytes, then 4 bytes per marked record (≥ 1).
    let wide_min = narrow + n.div_ceil(8) + 4;
    let wide_max = narrow + n.div_ceil(8) + 4 * n;
    if declared != narrow && !(wide_min..=wide_max).contains(&declared) {
        return Err(FrameError::BadDecodedLength {
            expected: narrow as u64,
            actual: declared as u64,
        });
    }
    out.n = 0;
    out.hi.clear();
    out.all_wide = false;
    out.buf.resize(declared, 0);
    let got = minlz::decode_into(&mut out.buf, block)
        .map_err(|e| FrameError::Decompress(e.to_string()))?;
    if got != declared {
        return Err(FrameError::BadDecodedLength {
            expected: declared as u64,
            actual: got as u64,
        });
    }
    if declared != narrow {
        out.all_wide = index_wide(&out.buf[narrow..], n, &mut out.hi)?;
    }
    out.n = n;
    Ok(())
}

/// Checks the extension columns (`bitmap | high words`) of a frame of `n`
/// records and fills `hi` with each record's high-word index; true, with
/// `hi` left empty, when every record is wide.
fn index_wide(ext: &[u8], n: usize, hi: &mut Vec<u32>) -> Result<bool, FrameError> {
    let (bitmap, words) = ext.split_at(n.div_ceil(8));
    if !n.is_multiple_of(8) && bitmap.last().is_some_and(|b| b >> (n % 8) != 0) {
        return Err(FrameError::BadWideColumns(
            "bitmap bits set past the last record",
        ));
    }
    let w: usize = bitmap.iter().map(|b| b.count_ones() as usize).sum();
    if w == 0 {
        return Err(FrameError::BadWideColumns("no record marked wide"));
    }
    if words.len() != 4 * w {
        let expected = (n * RECORD_BYTES + bitmap.len() + 4 * w) as u64;
        let actual = (n * RECORD_BYTES + ext.len()) as u64;
        return Err(FrameError::BadDecodedLength { expected, actual });
    }
    if w == n {
        return Ok(true);
    }
    hi.reserve(n);
    let mut next = 0u32;
    for i in 0..n {
        if bitmap[i / 8] & (1 << (i % 8)) != 0 {
            hi.push(next);
            next += 1;
        } else {
            hi.push(u32::MAX);
        }
    }
    Ok(false)
}

impl DecodedFrame {
    /// Number of records.
    pub fn len(&self) -> usize {
        self.n
    }

    /// True when no record is decoded.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Metric id of record `i` (`i < len()`).
    #[inline]
    pub fn id(&self, i: usize) -> u16 {
        let o = 2 * i;
        u16::from_le_bytes([self.buf[o], self.buf[o + 1]])
    }

    /// Timestamp of record `i`.
    #[inline]
    pub fn ts(&self, i: usize) -> i64 {
        let o = 2 * self.n + 8 * i;
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.buf[o..o + 8]);
        i64::from_le_bytes(b)
    }

    /// Value bits of record `i` (see [`crate::Value::to_bits`]): the 4 value
    /// bytes, plus the high word from the extension column for a wide record.
    #[inline]
    pub fn val(&self, i: usize) -> u64 {
        let o = 10 * self.n + 4 * i;
        let mut b = [0u8; 4];
        b.copy_from_slice(&self.buf[o..o + 4]);
        let lo = u64::from(u32::from_le_bytes(b));
        let k = if self.all_wide {
            i
        } else {
            match self.hi.get(i) {
                Some(&k) if k != u32::MAX => k as usize,
                _ => return lo,
            }
        };
        let o = 14 * self.n + self.n.div_ceil(8) + 4 * k;
        b.copy_from_slice(&self.buf[o..o + 4]);
        lo | u64::from(u32::from_le_bytes(b)) << 32
    }

    /// True when record `i` carries 8 value bytes (a float64 or int64 metric).
    #[inline]
    pub fn is_wide(&self, i: usize) -> bool {
        (self.all_wide && i < self.n) || self.hi.get(i).is_some_and(|&k| k != u32::MAX)
    }

    /// True when some record of the frame is wide (the extension layout).
    pub fn has_wide(&self) -> bool {
        self.all_wide || !self.hi.is_empty()
    }

    /// Indices of the records of metric `id`, in frame order.
    pub fn indices_of(&self, id: u16) -> impl Iterator<Item = usize> + '_ {
        let want = id.to_le_bytes();
        self.buf[..2 * self.n]
            .chunks_exact(2)
            .enumerate()
            .filter(move |(_, c)| c[0] == want[0] && c[1] == want[1])
            .map(|(i, _)| i)
    }

    /// The stricter checks of `compact`/`recover` (docs/FORMATS.md §3.6): header
    /// start/end equal the first/last timestamps, timestamps non-decreasing.
    pub fn validate_strict(&self, header: &FrameHeader) -> Result<(), FrameError> {
        if self.n == 0 {
            return Err(FrameError::Empty);
        }
        if self.ts(0) != header.start_ts {
            return Err(FrameError::Strict(
                "start_ts differs from the first timestamp",
            ));
        }
        if self.ts(self.n - 1) != header.end_ts {
            return Err(FrameError::Strict("end_ts differs from the last timestamp"));
        }
        let mut prev = i64::MIN;
        for i in 0..self.n {
            let t = self.ts(i);
            if t < prev {
                return Err(FrameError::Strict("timestamps decrease inside the frame"));
            }
            prev = t;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// docs/FORMATS.md §3.4's worked example, byte for byte.
    const EXAMPLE: [u8; 39] = [
        0x00, 0x80, 0xcb, 0xdd, 0x69, 0xe7, 0xcc, 0x17, 0x00, 0x80, 0xcb, 0xdd, 0x69, 0xe7, 0xcc,
        0x17, 0x01, 0x00, 0x10, 0x0e, 0x34, 0x01, 0x00, 0x00, 0x80, 0xcb, 0xdd, 0x69, 0xe7, 0xcc,
        0x17, 0x2a, 0x00, 0x00, 0x00, 0x93, 0x07, 0xdd, 0x77,
    ];
    const TS: i64 = 1_715_000_000_000_000_000;

    fn decode(frame: &[u8]) -> Result<(FrameHeader, DecodedFrame), FrameError> {
        let h = parse_frame_header(frame)?;
        let body = &frame[h.header_len..];
        let clen = h.clen as usize;
        if body.len() < clen + 4 {
            return Err(FrameError::TruncatedPayload {
                need: clen as u64 + 4,
                have: body.len() as u64,
            });
        }
        let crc = u32::from_le_bytes(body[clen..clen + 4].try_into().unwrap());
        let mut d = DecodedFrame::default();
        decode_frame_into(&h, &body[..clen], crc, &mut d)?;
        Ok((h, d))
    }

    #[test]
    fn worked_example_encodes_byte_for_byte() {
        let mut out = Vec::new();
        encode_frame(&[1], &[TS], &[42], |_| false, &mut Vec::new(), &mut out).unwrap();
        assert_eq!(out, EXAMPLE);
    }

    #[test]
    fn worked_example_decodes() {
        let (h, d) = decode(&EXAMPLE).unwrap();
        assert_eq!(
            (h.start_ts, h.end_ts, h.count, h.clen, h.header_len),
            (TS, TS, 1, 16, 19)
        );
        assert_eq!(h.frame_len(), 39);
        assert_eq!((d.id(0), d.ts(0), d.val(0)), (1, TS, 42));
        d.validate_strict(&h).unwrap();
    }

    #[test]
    fn damaged_frames_give_typed_errors() {
        assert_eq!(
            decode(&EXAMPLE[..10]).unwrap_err(),
            FrameError::TruncatedHeader
        );
        assert_eq!(decode(&EXAMPLE[..18]).unwrap_err(), FrameError::BadVarint);
        assert!(matches!(
            decode(&EXAMPLE[..30]).unwrap_err(),
            FrameError::TruncatedPayload { .. }
        ));
        let mut bad = EXAMPLE;
        bad[25] ^= 1;
        assert!(matches!(
            decode(&bad).unwrap_err(),
            FrameError::ChecksumMismatch { .. }
        ));
        let mut bad = EXAMPLE;
        bad[16] = 2; // count 2 => 28 bytes expected, block says 14
        assert_eq!(
            decode(&bad).unwrap_err(),
            FrameError::BadDecodedLength {
                expected: 28,
                actual: 14
            }
        );
        let mut bad = EXAMPLE;
        bad[16] = 0;
        assert_eq!(decode(&bad).unwrap_err(), FrameError::Empty);
    }

    #[test]
    fn encode_rejects_invalid_pages() {
        let mut out = Vec::new();
        let mut s = Vec::new();
        assert_eq!(
            encode_frame(&[], &[], &[], |_| false, &mut s, &mut out),
            Err(FrameError::Empty)
        );
        assert!(encode_frame(&[1, 2], &[1], &[1, 2], |_| false, &mut s, &mut out).is_err());
        let big = vec![1u16; 65536];
        let t = vec![0i64; 65536];
        let v = vec![0u64; 65536];
        assert!(encode_frame(&big, &t, &v, |_| false, &mut s, &mut out).is_err());
        assert!(out.is_empty());
    }

    #[test]
    fn strict_checks() {
        let mut out = Vec::new();
        encode_frame(
            &[1, 1],
            &[5, 3],
            &[0, 0],
            |_| false,
            &mut Vec::new(),
            &mut out,
        )
        .unwrap();
        let (h, d) = decode(&out).unwrap();
        assert!(d.validate_strict(&h).is_err());
    }

    /// Encodes a raw payload (already laid out) as a frame of `n` records.
    fn frame_of_payload(n: u16, ts: i64, payload: &[u8]) -> Vec<u8> {
        let block = minlz::encode(payload);
        let mut out = Vec::new();
        out.extend_from_slice(&ts.to_le_bytes());
        out.extend_from_slice(&ts.to_le_bytes());
        out.extend_from_slice(&n.to_le_bytes());
        varint::encode(block.len() as u64, &mut out);
        out.extend_from_slice(&block);
        out.extend_from_slice(&crc32fast::hash(&block).to_le_bytes());
        out
    }

    #[test]
    fn wide_frame_layout_byte_for_byte() {
        // Record 0: int32 7; record 1: int64 -2 (high word 0xffffffff).
        let mut out = Vec::new();
        let vals = [7u64, (-2i64) as u64];
        encode_frame(
            &[1, 2],
            &[TS, TS],
            &vals,
            |i| i == 1,
            &mut Vec::new(),
            &mut out,
        )
        .unwrap();
        let (h, d) = decode(&out).unwrap();
        let mut want = Vec::new();
        want.extend_from_slice(&[1, 0, 2, 0]);
        want.extend_from_slice(&TS.to_le_bytes());
        want.extend_from_slice(&TS.to_le_bytes());
        want.extend_from_slice(&[7, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff]);
        want.push(0b10); // bitmap: record 1 is wide
        want.extend_from_slice(&[0xff, 0xff, 0xff, 0xff]);
        assert_eq!(frame_of_payload(2, TS, &want), out);
        assert_eq!((d.val(0), d.val(1)), (7, (-2i64) as u64));
        assert_eq!((h.count, d.is_wide(0), d.is_wide(1)), (2, false, true));
    }

    #[test]
    fn all_wide_frame_reads_each_high_word_without_an_index() {
        // Every record wide (a float64-only frame), decoded into a frame
        // that held a mixed one before: record i's high word is the i-th.
        let vals: Vec<u64> = (0..20u64).map(|i| (i << 32) | (100 + i)).collect();
        let ids: Vec<u16> = (0..20).collect();
        let ts = vec![TS; 20];
        let mut out = Vec::new();
        encode_frame(&ids, &ts, &vals, |_| true, &mut Vec::new(), &mut out).unwrap();
        let mut mixed = Vec::new();
        encode_frame(
            &[1, 2],
            &[TS, TS],
            &[7, 1 << 40],
            |i| i == 1,
            &mut Vec::new(),
            &mut mixed,
        )
        .unwrap();
        let (_, mut d) = decode(&mixed).unwrap();
        let h = parse_frame_header(&out).unwrap();
        let body = &out[h.header_len..];
        let clen = h.clen as usize;
        let crc = u32::from_le_bytes(body[clen..clen + 4].try_into().unwrap());
        decode_frame_into(&h, &body[..clen], crc, &mut d).unwrap();
        assert!(d.has_wide());
        for (i, &v) in vals.iter().enumerate() {
            assert_eq!((d.val(i), d.is_wide(i)), (v, true), "record {i}");
        }
        assert!(!d.is_wide(20));
    }

    #[test]
    fn inconsistent_wide_columns_are_rejected() {
        let narrow = |n: usize| vec![0u8; 14 * n];
        // A bitmap marking nothing.
        let mut p = narrow(2);
        p.extend_from_slice(&[0, 0, 0, 0, 0]);
        assert!(matches!(
            decode(&frame_of_payload(2, 0, &p)).unwrap_err(),
            FrameError::BadWideColumns(_)
        ));
        // A bit past the last record.
        let mut p = narrow(2);
        p.extend_from_slice(&[0b101, 0, 0, 0, 0]);
        assert!(matches!(
            decode(&frame_of_payload(2, 0, &p)).unwrap_err(),
            FrameError::BadWideColumns(_)
        ));
        // Two records marked, one high word.
        let mut p = narrow(2);
        p.extend_from_slice(&[0b11, 0, 0, 0, 0]);
        assert!(matches!(
            decode(&frame_of_payload(2, 0, &p)).unwrap_err(),
            FrameError::BadDecodedLength { .. }
        ));
        // Too short for any wide layout, too long for the widest one.
        for extra in [1usize, 4, 14] {
            let mut p = narrow(2);
            p.resize(p.len() + extra, 0);
            assert!(matches!(
                decode(&frame_of_payload(2, 0, &p)).unwrap_err(),
                FrameError::BadDecodedLength { .. }
            ));
        }
    }

    proptest! {
        #[test]
        fn encode_decode_round_trip(recs in proptest::collection::vec((any::<u16>(), any::<i64>(), any::<u32>()), 1..2000)) {
            let ids: Vec<u16> = recs.iter().map(|r| r.0).collect();
            let ts: Vec<i64> = recs.iter().map(|r| r.1).collect();
            let vals: Vec<u64> = recs.iter().map(|r| u64::from(r.2)).collect();
            let mut out = Vec::new();
            encode_frame(&ids, &ts, &vals, |_| false, &mut Vec::new(), &mut out).unwrap();
            let (h, d) = decode(&out).unwrap();
            prop_assert_eq!(h.frame_len(), out.len() as u64);
            prop_assert_eq!(h.start_ts, ts[0]);
            prop_assert_eq!(h.end_ts, *ts.last().unwrap());
            prop_assert_eq!(d.len(), recs.len());
            for (i, r) in recs.iter().enumerate() {
                prop_assert_eq!((d.id(i), d.ts(i), d.val(i)), (r.0, r.1, u64::from(r.2)));
                prop_assert!(!d.is_wide(i));
            }
            let want: Vec<usize> = (0..ids.len()).filter(|&i| ids[i] == ids[0]).collect();
            prop_assert_eq!(d.indices_of(ids[0]).collect::<Vec<_>>(), want);
        }

        #[test]
        fn wide_round_trip(recs in proptest::collection::vec((any::<u16>(), any::<i64>(), any::<u64>(), any::<bool>()), 1..600)) {
            let ids: Vec<u16> = recs.iter().map(|r| r.0).collect();
            let ts: Vec<i64> = recs.iter().map(|r| r.1).collect();
            // A 4-byte record only ever has a low half.
            let vals: Vec<u64> = recs.iter().map(|r| if r.3 { r.2 } else { r.2 & 0xffff_ffff }).collect();
            let mut out = Vec::new();
            encode_frame(&ids, &ts, &vals, |i| recs[i].3, &mut Vec::new(), &mut out).unwrap();
            let (h, d) = decode(&out).unwrap();
            prop_assert_eq!(h.frame_len(), out.len() as u64);
            let w = recs.iter().filter(|r| r.3).count();
            prop_assert_eq!(d.has_wide(), w > 0);
            for (i, r) in recs.iter().enumerate() {
                prop_assert_eq!((d.id(i), d.ts(i), d.val(i), d.is_wide(i)), (r.0, r.1, vals[i], r.3));
            }
            // The payload is v1.4.0's 14·n bytes plus the extension columns.
            let (len, _) = minlz::decode_len(&out[h.header_len..out.len() - 4]).unwrap();
            let ext = if w == 0 { 0 } else { recs.len().div_ceil(8) + 4 * w };
            prop_assert_eq!(len, 14 * recs.len() + ext);
        }

        #[test]
        fn decoding_garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = decode(&bytes);
        }

        #[test]
        fn decoding_flipped_frames_never_panics(pos in 0usize..39, bit in 0u8..8) {
            let mut b = EXAMPLE;
            b[pos] ^= 1 << bit;
            let _ = decode(&b);
        }
    }
}
