//! Reading and repairing raw data files (docs/FORMATS.md §3.6, §3.7).
//!
//! Scanning walks frame headers only (positioned reads, no decompression),
//! so it is cheap even for large files, and stops at the first frame that
//! cannot be complete: that offset is where a torn tail starts. Nothing here
//! allocates from a length field before checking the bytes are present.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::frame::{self, DecodedFrame, FrameError, FrameHeader};
use crate::fsutil;

/// A frame found by a scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameInfo {
    /// Byte offset of the frame in the file.
    pub offset: u64,
    /// Its header.
    pub header: FrameHeader,
}

/// Where a file stops being readable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    /// Offset of the first byte that is not part of an intact frame.
    pub offset: u64,
    /// Number of the frame that starts there.
    pub frame_index: usize,
    /// What is wrong.
    pub reason: String,
}

/// Result of a header walk.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DataScan {
    /// Intact frames in file order.
    pub frames: Vec<FrameInfo>,
    /// End of the last intact frame.
    pub valid_len: u64,
    /// File size.
    pub file_len: u64,
    /// Set when the file does not end right after an intact frame.
    pub damage: Option<Damage>,
}

/// Most header bytes a frame can have (18 + a 10-byte varint).
const MAX_HEADER: usize = frame::FRAME_HEADER_LEN + 10;

/// Checks one header found at `offset` against the bytes that remain.
fn check_header(
    header: &[u8],
    offset: u64,
    file_len: u64,
) -> std::result::Result<FrameHeader, String> {
    let h = frame::parse_frame_header(header).map_err(|e| e.to_string())?;
    if h.count == 0 {
        return Err("empty frame (record count 0)".into());
    }
    let remaining = file_len - offset;
    if h.frame_len() > remaining {
        return Err(format!(
            "frame length {} exceeds the {} bytes remaining",
            h.frame_len(),
            remaining
        ));
    }
    Ok(h)
}

/// The header walk shared by every scan: frames from `start` (a frame
/// boundary) while they fit before `end`; `read` fills a header buffer from
/// an offset (at most 28 bytes, fewer near the end).
fn walk(
    start: u64,
    end: u64,
    mut read: impl FnMut(u64, &mut [u8]) -> io::Result<()>,
) -> io::Result<DataScan> {
    let mut scan = DataScan {
        file_len: end,
        ..DataScan::default()
    };
    let mut hdr = [0u8; MAX_HEADER];
    let mut off = start;
    while off < end {
        let want = (end - off).min(MAX_HEADER as u64) as usize;
        read(off, &mut hdr[..want])?;
        match check_header(&hdr[..want], off, end) {
            Ok(h) => {
                scan.frames.push(FrameInfo {
                    offset: off,
                    header: h,
                });
                off += h.frame_len();
            }
            Err(reason) => {
                scan.damage = Some(Damage {
                    offset: off,
                    frame_index: scan.frames.len(),
                    reason,
                });
                break;
            }
        }
    }
    scan.valid_len = scan
        .frames
        .last()
        .map_or(start, |f| f.offset + f.header.frame_len());
    Ok(scan)
}

/// Drops the last frame of `scan` when it fails full verification (CRC,
/// S2, length): a torn write whose length bytes made it to disk.
fn verify_last_frame(
    scan: &mut DataScan,
    check: impl FnOnce(&FrameInfo) -> io::Result<Result<(), FrameError>>,
) -> io::Result<()> {
    if let Some(last) = scan.frames.last().copied()
        && let Err(e) = check(&last)?
    {
        scan.frames.pop();
        scan.damage = Some(Damage {
            offset: last.offset,
            frame_index: scan.frames.len(),
            reason: e.to_string(),
        });
        scan.valid_len = last.offset;
    }
    Ok(())
}

/// Header walk over bytes in memory. With `verify_last` the last
/// structurally complete frame is also fully verified (CRC, S2, length), so
/// a torn write whose length bytes made it to disk is noticed too.
pub fn scan_bytes(bytes: &[u8], verify_last: bool) -> DataScan {
    let copy = |off: u64, buf: &mut [u8]| {
        let o = off as usize;
        buf.copy_from_slice(&bytes[o..o + buf.len()]);
        Ok(())
    };
    // Reading from memory cannot fail.
    let mut scan = walk(0, bytes.len() as u64, copy).unwrap_or_default();
    if verify_last {
        let _ = verify_last_frame(&mut scan, |last| {
            let s = last.offset as usize + last.header.header_len;
            let c = last.header.clen as usize;
            let crc = u32::from_le_bytes([
                bytes[s + c],
                bytes[s + c + 1],
                bytes[s + c + 2],
                bytes[s + c + 3],
            ]);
            Ok(frame::decode_frame_into(
                &last.header,
                &bytes[s..s + c],
                crc,
                &mut DecodedFrame::default(),
            ))
        });
    }
    scan
}

/// Header walk of a file with positioned reads (the payloads are not read,
/// except the last frame's with `verify_last`).
pub fn scan_file(path: &Path, verify_last: bool) -> io::Result<DataScan> {
    let file = File::open(path)?;
    let file_len = file.metadata()?.len();
    let mut scan = walk(0, file_len, |off, buf| file.read_exact_at(buf, off))?;
    if verify_last {
        let mut block = Vec::new();
        verify_last_frame(&mut scan, |last| {
            read_frame(&file, last, &mut block, &mut DecodedFrame::default())
        })?;
    }
    Ok(scan)
}

/// Header walk of the bytes `[start, end)` of an open file, `start` being a
/// frame boundary (used to extend an earlier walk as the file grows). Stops
/// quietly at the first frame that does not fit before `end`.
pub fn scan_file_range(file: &File, start: u64, end: u64) -> io::Result<DataScan> {
    walk(start, end, |off, buf| file.read_exact_at(buf, off))
}

/// Reads and decodes one frame found by a scan. The outer error is I/O, the
/// inner one a damaged frame. `block` is a reusable buffer.
pub fn read_frame(
    file: &File,
    fi: &FrameInfo,
    block: &mut Vec<u8>,
    out: &mut DecodedFrame,
) -> io::Result<std::result::Result<(), FrameError>> {
    let clen = fi.header.clen as usize;
    // clen was checked against the file size by the scan.
    block.resize(clen + 4, 0);
    file.read_exact_at(block, fi.offset + fi.header.header_len as u64)?;
    let (data, crc) = block.split_at(clen);
    let crc = u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]);
    Ok(frame::decode_frame_into(&fi.header, data, crc, out))
}

/// Cuts a damaged tail found by `scan`: the bytes from `valid_len` to the
/// end are kept in `<name>.torn-at-<offset>` beside the file, then the file
/// is truncated so new frames follow the last intact one. Returns the copy's
/// path, or `None` when there was nothing to cut.
pub fn cut_tail(path: &Path, scan: &DataScan) -> Result<Option<PathBuf>> {
    if scan.valid_len >= scan.file_len {
        return Ok(None);
    }
    fsutil::preserve_and_truncate(path, scan.valid_len).map(Some)
}

/// Result of a resynchronising scan of a damaged file (`recover`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoverScan {
    /// Accepted frames, in file order.
    pub frames: Vec<FrameInfo>,
    /// Records in the accepted frames.
    pub records: u64,
    /// Bytes skipped while searching for frames.
    pub skipped_bytes: u64,
    /// Intact frames refused by `accept` or by the increasing-end rule.
    pub rejected_frames: u64,
}

/// Scans `bytes` byte by byte for intact frames (full decode and the strict
/// checks), as `nanocli recover` does: on failure it advances one byte. A
/// decoded frame is kept when `accept` agrees and its end is strictly
/// greater than the previous kept frame's end. Work per offset is bounded by
/// the bytes present (no allocation from length fields before checking).
pub fn recover_frames(bytes: &[u8], accept: impl Fn(&FrameHeader) -> bool) -> RecoverScan {
    let mut out = RecoverScan::default();
    let mut buf = DecodedFrame::default();
    let len = bytes.len() as u64;
    let mut off = 0u64;
    let mut last_end: Option<i64> = None;
    while off < len {
        let start = off as usize;
        let end = (start + MAX_HEADER).min(bytes.len());
        let ok = check_header(&bytes[start..end], off, len).ok().filter(|h| {
            // Cheap plausibility first: a real frame's range is ordered.
            h.start_ts <= h.end_ts
        });
        let Some(h) = ok else {
            off += 1;
            out.skipped_bytes += 1;
            continue;
        };
        let s = start + h.header_len;
        let c = h.clen as usize;
        let block = &bytes[s..s + c];
        let crc = u32::from_le_bytes([
            bytes[s + c],
            bytes[s + c + 1],
            bytes[s + c + 2],
            bytes[s + c + 3],
        ]);
        let decoded = frame::decode_frame_into(&h, block, crc, &mut buf)
            .and_then(|()| buf.validate_strict(&h));
        if decoded.is_err() {
            off += 1;
            out.skipped_bytes += 1;
            continue;
        }
        let fi = FrameInfo {
            offset: off,
            header: h,
        };
        if accept(&h) && last_end.is_none_or(|e| h.end_ts > e) {
            last_end = Some(h.end_ts);
            out.records += u64::from(h.count);
            out.frames.push(fi);
        } else {
            out.rejected_frames += 1;
        }
        off += h.frame_len();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn frames(n: usize) -> Vec<u8> {
        let mut out = Vec::new();
        let mut s = Vec::new();
        for f in 0..n {
            let ids: Vec<u16> = (0..50).map(|i| (i % 7) as u16 + 1).collect();
            let ts: Vec<i64> = (0..50).map(|i| (f * 100 + i) as i64).collect();
            let vals: Vec<u64> = (0..50).map(|i| i as u64).collect();
            frame::encode_frame(&ids, &ts, &vals, |_| false, &mut s, &mut out).unwrap();
        }
        out
    }

    #[test]
    fn clean_file_scans_completely() {
        let b = frames(5);
        let s = scan_bytes(&b, true);
        assert_eq!(s.frames.len(), 5);
        assert_eq!(s.valid_len, b.len() as u64);
        assert!(s.damage.is_none());
        assert_eq!(scan_bytes(&[], true), DataScan::default());
    }

    #[test]
    fn every_truncation_is_detected_at_the_right_frame() {
        let b = frames(3);
        let full = scan_bytes(&b, false);
        for cut in 0..b.len() {
            let s = scan_bytes(&b[..cut], true);
            let intact = full
                .frames
                .iter()
                .filter(|f| f.offset + f.header.frame_len() <= cut as u64)
                .count();
            assert_eq!(s.frames.len(), intact, "cut {cut}");
            assert_eq!(
                s.valid_len,
                s.frames
                    .last()
                    .map_or(0, |f| f.offset + f.header.frame_len())
            );
            assert_eq!(s.damage.is_some(), cut as u64 != s.valid_len, "cut {cut}");
        }
    }

    #[test]
    fn garbage_after_frames_and_torn_last_frame() {
        let mut b = frames(2);
        let good = b.len() as u64;
        b.extend_from_slice(b"GARBAGE-AFTER-CRASH");
        let s = scan_bytes(&b, true);
        assert_eq!((s.frames.len(), s.valid_len), (2, good));
        assert_eq!(s.damage.as_ref().unwrap().offset, good);
        // A last frame whose bytes are complete but wrong (CRC) is damage too.
        let mut b = frames(2);
        let n = b.len();
        b[n - 10] ^= 0xff;
        let s = scan_bytes(&b, true);
        assert_eq!(s.frames.len(), 1);
        assert!(s.damage.unwrap().reason.contains("checksum"));
    }

    #[test]
    fn file_scan_matches_memory_scan_and_cut_keeps_the_tail() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("data-2026-01-01.dat");
        let mut b = frames(3);
        b.truncate(b.len() - 7);
        b.extend_from_slice(b"junk");
        std::fs::write(&p, &b).unwrap();
        let s = scan_file(&p, true).unwrap();
        assert_eq!(s, scan_bytes(&b, true));
        let copy = cut_tail(&p, &s).unwrap().unwrap();
        assert_eq!(
            copy.file_name().unwrap().to_str().unwrap(),
            format!("data-2026-01-01.dat.torn-at-{}", s.valid_len)
        );
        assert_eq!(std::fs::read(&copy).unwrap(), &b[s.valid_len as usize..]);
        assert_eq!(std::fs::read(&p).unwrap(), &b[..s.valid_len as usize]);
        assert!(
            cut_tail(&p, &scan_file(&p, true).unwrap())
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn recover_skips_garbage_and_keeps_increasing_frames() {
        let mut b = b"xx".to_vec();
        let f = frames(3);
        b.extend_from_slice(&f[..f.len() / 2]);
        b.extend_from_slice(b"garbage");
        b.extend_from_slice(&frames(3));
        let r = recover_frames(&b, |_| true);
        // First copy: frame 0 (and maybe 1) intact; the second copy's frames
        // repeat earlier ends and are rejected unless newer.
        assert!(r.frames.len() >= 3);
        let ends: Vec<i64> = r.frames.iter().map(|f| f.header.end_ts).collect();
        assert!(ends.windows(2).all(|w| w[0] < w[1]), "{ends:?}");
        assert!(r.skipped_bytes >= 2);
    }

    proptest! {
        #[test]
        fn scans_of_damaged_bytes_never_panic(cut in 0usize..2000, flips in proptest::collection::vec((0usize..2000, any::<u8>()), 0..8)) {
            let mut b = frames(4);
            for (p, x) in flips {
                if !b.is_empty() {
                    let i = p % b.len();
                    b[i] ^= x;
                }
            }
            b.truncate(cut.min(b.len()));
            crate::metricfile::tests::alloc_probe::reset();
            let s = scan_bytes(&b, true);
            prop_assert!(s.valid_len <= b.len() as u64);
            // Damage is reported where the intact frames end.
            if let Some(d) = &s.damage {
                prop_assert_eq!(d.offset, s.valid_len);
            }
            let r = recover_frames(&b, |_| true);
            prop_assert!(r.frames.len() <= 4 + 1);
            // No single allocation beyond a small multiple of the input
            // (frames decode to 14 bytes per record; a 50-record frame here).
            let peak = crate::metricfile::tests::alloc_probe::peak();
            prop_assert!(peak <= 4 * b.len() + 64 * 1024, "peak allocation {} for {} bytes", peak, b.len());
        }
    }
}
