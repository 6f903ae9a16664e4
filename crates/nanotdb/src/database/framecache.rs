//! Reading raw files frame by frame, through a small per-database cache.
//!
//! Frames are immutable once written: a data file only grows, and the
//! operations that replace or remove files (tail cut, recompaction,
//! raw-ingest actions, retention) all run inside the database that owns
//! the cache and holds its write lock, and they call [`FrameCache::forget`].
//! So a decoded frame can be keyed by (path, offset) and the header walk of
//! a file by its path, extended as the file grows. Repeated queries over the
//! current day — a dashboard refreshing while collectors write — then skip
//! both the header walk and the S2 decode of every frame they already saw.
//! Read-only engines (which hold no lock) do not cache. At most
//! [`MAX_CACHED_BYTES`] of decoded frames are kept, oldest evicted first.

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::datafile::{self, FrameInfo};
use crate::error::{Error, IoContext, Result};
use crate::frame::DecodedFrame;

/// Upper bound of decoded frame bytes kept in memory.
pub const MAX_CACHED_BYTES: usize = 16 << 20;

#[derive(Default)]
struct Inner {
    /// Header walk per file: frames and the length walked so far.
    scans: HashMap<PathBuf, (Vec<FrameInfo>, u64)>,
    frames: HashMap<(PathBuf, u64), Arc<DecodedFrame>>,
    order: VecDeque<(PathBuf, u64)>,
    bytes: usize,
}

/// Decoded frames and header walks of one database's raw files.
#[derive(Default)]
pub(crate) struct FrameCache {
    inner: Mutex<Inner>,
}

impl FrameCache {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Drops everything cached about `path` (replaced or removed).
    pub(crate) fn forget(&self, path: &Path) {
        let mut c = self.lock();
        c.scans.remove(path);
        let gone: Vec<(PathBuf, u64)> = c.frames.keys().filter(|k| k.0 == path).cloned().collect();
        for k in gone {
            if let Some(fr) = c.frames.remove(&k) {
                c.bytes -= fr.len() * crate::frame::RECORD_BYTES;
            }
        }
        c.order.retain(|k| k.0 != path);
    }

    fn insert(&self, key: (PathBuf, u64), frame: Arc<DecodedFrame>) {
        let size = frame.len() * crate::frame::RECORD_BYTES;
        if size > MAX_CACHED_BYTES / 4 {
            return;
        }
        let mut c = self.lock();
        if c.frames.insert(key.clone(), frame).is_none() {
            c.order.push_back(key);
            c.bytes += size;
        }
        while c.bytes > MAX_CACHED_BYTES {
            let Some(old) = c.order.pop_front() else {
                break;
            };
            if let Some(fr) = c.frames.remove(&old) {
                c.bytes -= fr.len() * crate::frame::RECORD_BYTES;
            }
        }
    }
}

/// Frames of the file that end within `len` bytes, walking only the part
/// not seen before.
fn frames_upto(
    cache: Option<&FrameCache>,
    file: &File,
    path: &Path,
    len: u64,
) -> Result<Vec<FrameInfo>> {
    let (mut frames, walked) = cache
        .and_then(|c| c.lock().scans.get(path).cloned())
        .unwrap_or_default();
    if walked < len {
        let more = datafile::scan_file_range(file, walked, len).at(path)?;
        frames.extend(more.frames);
        let end = frames.last().map_or(0, |f| f.offset + f.header.frame_len());
        if end < len {
            // Only damage stops the walk short of what the file should
            // hold (a raw file is read to its end; a data file's length is
            // its intact frames').
            tracing::warn!(
                file = %path.display(),
                offset = end,
                "frames from this offset on are unreadable (damaged); {} bytes skipped",
                len - end
            );
        }
        if let Some(c) = cache {
            c.lock()
                .scans
                .insert(path.to_path_buf(), (frames.clone(), end));
        }
    }
    frames.retain(|f| f.offset + f.header.frame_len() <= len);
    Ok(frames)
}

/// Visits the decoded frames of a raw file between byte `start` (a frame
/// boundary) and `len`, whose time range overlaps `[from, to]`.
pub(crate) fn read_file_frames(
    cache: Option<&FrameCache>,
    path: &Path,
    start: u64,
    len: u64,
    from: i64,
    to: i64,
    f: &mut dyn FnMut(&DecodedFrame) -> ControlFlow<()>,
) -> Result<ControlFlow<()>> {
    let file = match File::open(path) {
        Ok(f) => f,
        // Removed by retention or a raw-ingest action since the snapshot.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(ControlFlow::Continue(())),
        Err(e) => return Err(Error::io(path, e)),
    };
    let mut frames = frames_upto(cache, &file, path, len)?;
    frames.retain(|fi| fi.offset >= start && fi.header.end_ts >= from && fi.header.start_ts <= to);
    // A read that decodes more than the cache holds would evict all of it
    // (the frames a dashboard re-reads) and then its own frames before any
    // reuse: it keeps what is cached and decodes the rest into one reused
    // frame, which also spares an allocation and a zeroed buffer per frame.
    let decoded: usize = frames
        .iter()
        .map(|fi| usize::from(fi.header.count) * crate::frame::RECORD_BYTES)
        .sum();
    let cache_new = cache.filter(|_| decoded <= MAX_CACHED_BYTES);
    let mut scratch = DecodedFrame::default();
    let mut block = Vec::new();
    for fi in &frames {
        let fkey = (path.to_path_buf(), fi.offset);
        let cached = cache.and_then(|c| c.lock().frames.get(&fkey).cloned());
        if let Some(fr) = cached {
            if f(&fr).is_break() {
                return Ok(ControlFlow::Break(()));
            }
            continue;
        }
        let flow = match cache_new {
            Some(c) => {
                let d = decode_or_damaged(&file, path, fi, &mut block, DecodedFrame::default())?;
                let fr = Arc::new(d.unwrap_or_default());
                c.insert(fkey, fr.clone());
                f(&fr)
            }
            None => {
                match decode_or_damaged(&file, path, fi, &mut block, std::mem::take(&mut scratch))?
                {
                    Some(d) => {
                        scratch = d;
                        f(&scratch)
                    }
                    None => {
                        if let Some(c) = cache {
                            c.insert(fkey, Arc::new(DecodedFrame::default()));
                        }
                        ControlFlow::Continue(())
                    }
                }
            }
        };
        if flow.is_break() {
            return Ok(ControlFlow::Break(()));
        }
    }
    Ok(ControlFlow::Continue(()))
}

/// Decodes frame `fi` into `d` (reusing its buffers); `None` for a damaged
/// frame. One damaged frame costs its own samples, not the query: the others
/// (and the open pages) are still returned. The callers remember it as an
/// empty frame, so the warning is not repeated by every query.
fn decode_or_damaged(
    file: &File,
    path: &Path,
    fi: &FrameInfo,
    block: &mut Vec<u8>,
    mut d: DecodedFrame,
) -> Result<Option<DecodedFrame>> {
    match super::read_frame_at(file, path, fi, block, &mut d) {
        Ok(()) => Ok(Some(d)),
        Err(Error::Corrupt { offset, reason, .. }) => {
            tracing::warn!(
                file = %path.display(),
                offset,
                "damaged frame skipped ({reason})"
            );
            Ok(None)
        }
        Err(e) => Err(e),
    }
}
