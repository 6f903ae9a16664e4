//! The open file a reader works on: positioned reads that are bounds-checked
//! against the file size before anything is allocated, and the checks both
//! layouts share (file header, CRCs, codec ids, decompression).

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use super::cache::{CacheKey, global_cache};
use super::header::{
    FILE_HEADER_LEN, FOOTER_LEN, FileHeader, Footer, HDR_LEN, HDR_MAGIC, HDR_VERSION, MIN_FILE_LEN,
};
use super::{CorruptKind, MetricFileError, Result};
use crate::codec::CodecError;
use crate::config::Codec;

/// Files of at most this many bytes are read whole when opened and kept in
/// memory, without a file descriptor. A day of 10-minute samples is a few
/// KiB: a query over years of such partitions then reads each file once
/// per open instead of once per header, index and block (a dozen reads),
/// and the databases' handle cache can keep thousands of them, bounded by
/// bytes instead of descriptors.
pub const RESIDENT_MAX: u64 = 64 << 10;

/// The open file plus what identifies its contents for caching.
#[derive(Debug)]
pub(crate) struct Source {
    pub(crate) path: Arc<Path>,
    data: Data,
    pub(crate) len: u64,
    pub(crate) mtime: Option<SystemTime>,
    /// Bytes of timestamps the handle keeps decoded (`times`), when it
    /// does: a file read whole whose index declares at most
    /// [`KEEP_TIMES_MAX`] of them.
    kept_times: Option<usize>,
    /// Decoded time frames (v2) or time blocks (v3) of such a file, by id:
    /// they live as long as the handle and count in its memory
    /// (`MetricFile::resident_bytes`). The process-wide time-frame cache
    /// has 256 slots by default; a query over years of day partitions
    /// would cycle it and decode every time frame again each time.
    times: Mutex<HashMap<u32, Arc<[i64]>>>,
}

/// Most bytes of decoded timestamps a handle keeps (a day of 10-second
/// samples: 69 KB). A small file may declare far more (a block of evenly
/// spaced timestamps compresses to a few bytes); such a file's time
/// frames go through the process-wide cache, bounded on its own.
pub const KEEP_TIMES_MAX: usize = 1 << 20;

/// Where a source's bytes are read from.
#[derive(Debug)]
enum Data {
    File(File),
    /// The whole file (exactly `len` bytes), read at open.
    Memory(Box<[u8]>),
}

impl Source {
    /// Opens `path`; a file of at most [`RESIDENT_MAX`] bytes is read whole
    /// and its descriptor closed.
    pub(crate) fn open(path: &Path) -> Result<Source> {
        let io_err = |source| MetricFileError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = File::open(path).map_err(io_err)?;
        let meta = file.metadata().map_err(io_err)?;
        let len = meta.len();
        let data = if len <= RESIDENT_MAX {
            let mut bytes = vec![0u8; len as usize].into_boxed_slice();
            file.read_exact_at(&mut bytes, 0).map_err(io_err)?;
            Data::Memory(bytes)
        } else {
            Data::File(file)
        };
        Ok(Source {
            path: Arc::from(path),
            data,
            len,
            mtime: meta.modified().ok(),
            kept_times: None,
            times: Mutex::default(),
        })
    }

    /// Lets a file read whole keep its decoded time frames, when its index
    /// declares `time_bytes` bytes of timestamps, at most
    /// [`KEEP_TIMES_MAX`]; whether it does.
    pub(crate) fn keep_times(&mut self, time_bytes: usize) -> bool {
        let keep = self.resident().is_some() && time_bytes <= KEEP_TIMES_MAX;
        self.kept_times = keep.then_some(time_bytes);
        keep
    }

    /// The timestamps of time frame (or block) `id` decoded by `decode`,
    /// once per handle when it keeps them ([`Source::keep_times`]), else
    /// through the process-wide cache under `key` (none: decoded each time).
    pub(crate) fn times(
        &self,
        id: u32,
        key: Option<CacheKey>,
        decode: impl FnOnce() -> Result<Arc<[i64]>>,
    ) -> Result<Arc<[i64]>> {
        if self.kept_times.is_some() {
            let kept = self
                .times
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(&id)
                .cloned();
            if let Some(ts) = kept {
                return Ok(ts);
            }
            // Decoded without the lock held: another reader may decode the
            // same frame meanwhile, and the first one kept wins.
            let ts = decode()?;
            let mut t = self.times.lock().unwrap_or_else(|p| p.into_inner());
            t.entry(id).or_insert_with(|| ts.clone());
            return Ok(ts);
        }
        if let Some(k) = &key
            && let Some(ts) = global_cache().get(k)
        {
            return Ok(ts);
        }
        let ts = decode()?;
        if let Some(k) = key {
            global_cache().insert(k, ts.clone());
        }
        Ok(ts)
    }

    /// The process-wide cache's key of time frame `id` of this file.
    pub(crate) fn cache_key(&self, id: u16) -> CacheKey {
        CacheKey {
            path: self.path.clone(),
            size: self.len,
            mtime: self.mtime,
            id,
        }
    }

    /// Bytes of timestamps the handle keeps once decoded (0: none kept).
    pub(crate) fn kept_time_bytes(&self) -> usize {
        self.kept_times.unwrap_or(0)
    }

    /// Bytes held in memory (the whole file), or `None` when it is read
    /// through its descriptor.
    pub(crate) fn resident(&self) -> Option<usize> {
        match &self.data {
            Data::Memory(b) => Some(b.len()),
            Data::File(_) => None,
        }
    }

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
        match &self.data {
            Data::File(f) => f
                .read_exact_at(buf, offset)
                .map_err(|source| MetricFileError::Io {
                    path: self.path.to_path_buf(),
                    source,
                }),
            Data::Memory(bytes) => {
                // Inside `len` (checked above), which is the slice's length.
                let at = offset as usize;
                buf.copy_from_slice(&bytes[at..at + buf.len()]);
                Ok(())
            }
        }
    }

    /// Fails unless the file can hold a header and a footer (step 1 of
    /// both validation orders, docs/FORMATS.md §8.2 and §8.5).
    pub(crate) fn require_min_len(&self) -> Result<()> {
        if self.len < MIN_FILE_LEN {
            return Err(self.corrupt(0, CorruptKind::TooSmall, format!("{} bytes", self.len)));
        }
        Ok(())
    }

    /// Reads the footer and checks its magic, the first footer check of both
    /// versions; returns the footer's offset with it.
    pub(crate) fn footer(&self) -> Result<(u64, Footer)> {
        let foff = self.len - FOOTER_LEN as u64;
        let ft = Footer::from_bytes(self.read_array(foff, "footer")?);
        if !ft.has_magic() {
            return Err(self.corrupt(foff, CorruptKind::BadMagic, "footer magic is not NTFT"));
        }
        Ok((foff, ft))
    }

    /// Reads the file header and checks its magic, the first check of both
    /// versions (and all [`super::MetricFile::open`] needs to pick one).
    pub(crate) fn read_file_header(&self) -> Result<FileHeader> {
        let h = FileHeader::from_bytes(self.read_array(0, "file header")?);
        if !h.has_magic() {
            return Err(self.corrupt(
                HDR_MAGIC as u64,
                CorruptKind::BadMagic,
                "file magic is not NTMF",
            ));
        }
        Ok(h)
    }

    /// Reads the file header and checks, in v1.4.0's reader order (docs/FORMATS.md §8), its
    /// magic, `version`, header length and CRC (the checks every version shares).
    pub(crate) fn file_header(&self, version: u16) -> Result<FileHeader> {
        let h = self.read_file_header()?;
        let v = h.version();
        if v != version {
            return Err(self.corrupt(
                HDR_VERSION as u64,
                CorruptKind::BadVersion,
                format!("version {v}, want {version}"),
            ));
        }
        let hl = h.header_len();
        if usize::from(hl) != FILE_HEADER_LEN {
            return Err(self.corrupt(
                HDR_LEN as u64,
                CorruptKind::BadHeaderLen,
                format!("header_len {hl}, want 64"),
            ));
        }
        self.check_crc(0, h.crc(), "header")?;
        Ok(h)
    }

    /// Checks the (stored, computed) CRC pair of a structure read at
    /// `offset` (file header, footer, frame header, payload); `what` names
    /// it in the error.
    pub(crate) fn check_crc(
        &self,
        offset: u64,
        (stored, computed): (u32, u32),
        what: &str,
    ) -> Result<()> {
        if stored != computed {
            return Err(self.corrupt(
                offset,
                CorruptKind::Checksum,
                format!("{what} CRC stored {stored:#010x}, computed {computed:#010x}"),
            ));
        }
        Ok(())
    }

    /// Reads a fixed-size structure at `offset`.
    pub(crate) fn read_array<const N: usize>(&self, offset: u64, what: &str) -> Result<[u8; N]> {
        let mut b = [0u8; N];
        self.read_at(offset, &mut b, what)?;
        Ok(b)
    }

    /// Reads a whole index table of `count` entries of `len` bytes at
    /// `offset` after checking it lies inside the file (so the allocation is
    /// bounded by the file size).
    pub(crate) fn read_table(
        &self,
        offset: u64,
        count: u32,
        len: usize,
        what: &str,
    ) -> Result<Vec<u8>> {
        let n = u64::from(count) * len as u64;
        self.check_range(offset, n, what)?;
        let mut buf = vec![0u8; n as usize];
        self.read_at(offset, &mut buf, what)?;
        Ok(buf)
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
        self.check_crc(offset, (stored, crc32fast::hash(payload)), what)?;
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

impl Source {
    /// Checks a codec id is known.
    pub(crate) fn check_codec(&self, offset: u64, codec_id: u16, what: &str) -> Result<()> {
        if u8::try_from(codec_id)
            .ok()
            .and_then(Codec::from_id)
            .is_none()
        {
            return Err(self.corrupt(
                offset,
                CorruptKind::UnknownCodec,
                format!("{what} codec id {codec_id}"),
            ));
        }
        Ok(())
    }
}

/// The fixed-size entries of an index table, numbered from 0.
pub(crate) fn entries<const N: usize>(table: &[u8]) -> impl Iterator<Item = (usize, [u8; N])> + '_ {
    table.chunks_exact(N).enumerate().map(|(i, c)| {
        let mut b = [0u8; N];
        b.copy_from_slice(c);
        (i, b)
    })
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::sync::Arc;

    use super::{KEEP_TIMES_MAX, RESIDENT_MAX, Source};

    /// A file up to RESIDENT_MAX is read whole (reads come from memory,
    /// bounds still checked) and keeps its decoded time frames; a larger
    /// one reads through its descriptor and its time frames go through
    /// the process-wide cache under their key (none: decoded every time).
    #[test]
    fn small_files_are_held_in_memory_and_keep_their_time_frames() {
        let d = tempfile::tempdir().unwrap();
        let small = d.path().join("small");
        let big = d.path().join("big");
        let bytes: Vec<u8> = (0..RESIDENT_MAX as usize + 1).map(|i| i as u8).collect();
        std::fs::write(&small, &bytes[..RESIDENT_MAX as usize]).unwrap();
        std::fs::write(&big, &bytes).unwrap();
        let (mut s, mut b) = (Source::open(&small).unwrap(), Source::open(&big).unwrap());
        assert_eq!(s.resident(), Some(RESIDENT_MAX as usize));
        assert_eq!(b.resident(), None);
        assert!(!b.keep_times(24));
        // A small file declaring more timestamps than a handle keeps.
        assert!(!s.keep_times(KEEP_TIMES_MAX + 1));
        assert!(s.keep_times(KEEP_TIMES_MAX));
        for src in [&s, &b] {
            let mut four = [0u8; 4];
            src.read_at(RESIDENT_MAX - 4, &mut four, "tail").unwrap();
            assert_eq!(four, [252, 253, 254, 255]);
            assert!(src.read_at(src.len - 3, &mut four, "past").is_err());
        }
        let decoded = Cell::new(0);
        let decode = |v: i64| {
            decoded.set(decoded.get() + 1);
            Ok(Arc::from(vec![v; 3]))
        };
        for _ in 0..3 {
            assert_eq!(*s.times(7, None, || decode(7)).unwrap(), [7, 7, 7]);
            assert_eq!(*s.times(9, None, || decode(9)).unwrap(), [9, 9, 9]);
        }
        assert_eq!(
            decoded.get(),
            2,
            "each of the small file's frames decoded once"
        );
        for _ in 0..3 {
            assert_eq!(*b.times(7, None, || decode(7)).unwrap(), [7, 7, 7]);
        }
        assert_eq!(
            decoded.get(),
            5,
            "without a key, the big file's frame each time"
        );
        for _ in 0..3 {
            assert_eq!(
                *b.times(7, Some(b.cache_key(7)), || decode(8)).unwrap(),
                [8, 8, 8]
            );
        }
        assert_eq!(
            decoded.get(),
            6,
            "with a key, once into the process-wide cache"
        );
    }
}
