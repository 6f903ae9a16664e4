//! The open file a reader works on: positioned reads that are bounds-checked
//! against the file size before anything is allocated, and the checks both
//! layouts share (file header, CRCs, codec ids, decompression).

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use super::{CorruptKind, FILE_HEADER_LEN, FILE_MAGIC, MetricFileError, Result};
use crate::codec::CodecError;
use crate::config::Codec;

/// Little-endian field readers over a fixed-size buffer. Callers always
/// pass offsets inside the buffer they just read, so these take arrays.
pub(crate) fn le_u16<const N: usize>(b: &[u8; N], off: usize) -> u16 {
    let mut a = [0u8; 2];
    a.copy_from_slice(&b[off..off + 2]);
    u16::from_le_bytes(a)
}

/// See [`le_u16`].
pub(crate) fn le_u32<const N: usize>(b: &[u8; N], off: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[off..off + 4]);
    u32::from_le_bytes(a)
}

/// See [`le_u16`].
pub(crate) fn le_u64<const N: usize>(b: &[u8; N], off: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[off..off + 8]);
    u64::from_le_bytes(a)
}

/// See [`le_u16`].
pub(crate) fn le_i64<const N: usize>(b: &[u8; N], off: usize) -> i64 {
    le_u64(b, off) as i64
}

/// The open file plus what identifies its contents for caching.
#[derive(Debug)]
pub(crate) struct Source {
    pub(crate) path: Arc<Path>,
    pub(crate) file: File,
    pub(crate) len: u64,
    pub(crate) mtime: Option<SystemTime>,
}

impl Source {
    /// A corruption error at `offset`.
    pub(crate) fn corrupt(
        &self,
        offset: u64,
        kind: CorruptKind,
        detail: impl Into<String>,
    ) -> MetricFileError {
        MetricFileError::Corrupt {
            path: self.path.to_path_buf(),
            offset,
            kind,
            detail: detail.into(),
        }
    }

    /// Checks `[offset, offset + n)` lies inside the file.
    pub(crate) fn check_range(&self, offset: u64, n: u64, what: &str) -> Result<()> {
        match offset.checked_add(n) {
            Some(end) if end <= self.len => Ok(()),
            _ => Err(self.corrupt(
                offset,
                CorruptKind::OutOfBounds,
                format!(
                    "{what} of {n} bytes at offset {offset} extends past end of file ({} bytes)",
                    self.len
                ),
            )),
        }
    }

    /// Reads exactly `buf.len()` bytes at `offset`, which must be inside the file.
    pub(crate) fn read_at(&self, offset: u64, buf: &mut [u8], what: &str) -> Result<()> {
        self.check_range(offset, buf.len() as u64, what)?;
        self.file
            .read_exact_at(buf, offset)
            .map_err(|source| MetricFileError::Io {
                path: self.path.to_path_buf(),
                source,
            })
    }

    /// Reads a fixed-size structure at `offset`.
    /// Reads the file header and checks, in v1.4.0's reader order (docs/FORMATS.md §8), its
    /// magic, `version`, header length and CRC (the checks v1 and v2 share).
    pub(crate) fn file_header(&self, version: u16) -> Result<[u8; FILE_HEADER_LEN]> {
        let h: [u8; FILE_HEADER_LEN] = self.read_array(0, "file header")?;
        if &h[0..4] != FILE_MAGIC {
            return Err(self.corrupt(0, CorruptKind::BadMagic, "file magic is not NTMF"));
        }
        let v = le_u16(&h, 4);
        if v != version {
            return Err(self.corrupt(
                4,
                CorruptKind::BadVersion,
                format!("version {v}, want {version}"),
            ));
        }
        let hl = le_u16(&h, 6);
        if usize::from(hl) != FILE_HEADER_LEN {
            return Err(self.corrupt(
                6,
                CorruptKind::BadHeaderLen,
                format!("header_len {hl}, want 64"),
            ));
        }
        self.check_crc(0, &h, 60, "header")?;
        Ok(h)
    }

    /// Checks a structure read at `offset` whose CRC-32 of bytes `..at` is
    /// stored little-endian at `at` (file header, footer, frame headers);
    /// `what` names it in the error.
    pub(crate) fn check_crc<const N: usize>(
        &self,
        offset: u64,
        b: &[u8; N],
        at: usize,
        what: &str,
    ) -> Result<()> {
        let stored = le_u32(b, at);
        let computed = crc32fast::hash(&b[..at]);
        if stored != computed {
            return Err(self.corrupt(
                offset,
                CorruptKind::Checksum,
                format!("{what} CRC stored {stored:#010x}, computed {computed:#010x}"),
            ));
        }
        Ok(())
    }

    pub(crate) fn read_array<const N: usize>(&self, offset: u64, what: &str) -> Result<[u8; N]> {
        let mut b = [0u8; N];
        self.read_at(offset, &mut b, what)?;
        Ok(b)
    }

    /// Reads `payload_len` bytes plus the 4-byte CRC after them into `buf`
    /// (after checking they exist), verifies the CRC and returns the payload.
    pub(crate) fn read_payload<'b>(
        &self,
        offset: u64,
        payload_len: u32,
        buf: &'b mut Vec<u8>,
        what: &str,
    ) -> Result<&'b [u8]> {
        let n = payload_len as usize + 4;
        self.check_range(offset, n as u64, what)?;
        buf.clear();
        buf.resize(n, 0);
        self.read_at(offset, buf, what)?;
        let (payload, crc) = buf.split_at(payload_len as usize);
        let stored = u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]);
        let computed = crc32fast::hash(payload);
        if stored != computed {
            return Err(self.corrupt(
                offset,
                CorruptKind::Checksum,
                format!("{what} CRC stored {stored:#010x}, computed {computed:#010x}"),
            ));
        }
        Ok(payload)
    }

    /// Decompresses a payload read at `offset` to exactly `expected_len` bytes.
    pub(crate) fn decompress(
        &self,
        offset: u64,
        codec_id: u16,
        payload: &[u8],
        expected_len: u32,
        out: &mut Vec<u8>,
        what: &str,
    ) -> Result<()> {
        crate::codec::decompress(codec_id, payload, expected_len as usize, out).map_err(|e| {
            let kind = match e {
                CodecError::UnknownCodec(_) => CorruptKind::UnknownCodec,
                _ => CorruptKind::Decompress,
            };
            self.corrupt(offset, kind, format!("{what}: {e}"))
        })
    }
}

/// Checks a codec id is known.
pub(crate) fn check_codec(src: &Source, offset: u64, codec_id: u16, what: &str) -> Result<()> {
    if u8::try_from(codec_id)
        .ok()
        .and_then(Codec::from_id)
        .is_none()
    {
        return Err(src.corrupt(
            offset,
            CorruptKind::UnknownCodec,
            format!("{what} codec id {codec_id}"),
        ));
    }
    Ok(())
}
