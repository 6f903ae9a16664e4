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
//!
//! A query of one metric over a long range touches one frame or two in
//! each of hundreds of partitions, far more than the frame budget holds, and
//! needs a small part of each. So such reads keep, instead of the decoded
//! frame, only that metric's samples of it (at most [`MAX_SLICE_BYTES`] in
//! all): a dashboard refreshing a two-year panel decodes each frame once.

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
/// Upper bound of the bytes of one-metric slices of frames kept in memory.
pub const MAX_SLICE_BYTES: usize = 12 << 20;

/// One metric's (timestamp, value bits) in one frame.
pub(crate) type Slice = Arc<[(i64, u64)]>;

#[derive(Default)]
struct Inner {
    /// Header walk per file: frames and the length walked so far.
    scans: HashMap<PathBuf, (Vec<FrameInfo>, u64)>,
    frames: HashMap<(PathBuf, u64), Arc<DecodedFrame>>,
    order: VecDeque<(PathBuf, u64)>,
    bytes: usize,
    /// One metric's samples of a frame, by path (its bytes: `Path`'s own
    /// hashing walks its components, and a one-metric query over two
    /// years of day files looks up 730 slices), then (frame offset,
    /// metric id).
    slices: HashMap<Box<[u8]>, FileSlices>,
    slice_order: VecDeque<(Box<[u8]>, u64, u16)>,
    slice_bytes: usize,
}

impl Inner {
    /// The cached slice of metric `id` under `(path, tag)`.
    fn slice(&self, path: &Path, tag: u64, id: u16) -> Option<Slice> {
        self.slices.get(path_bytes(path))?.get(&(tag, id)).cloned()
    }
}

/// One file's cached slices, by (frame offset or tag, metric id).
type FileSlices = HashMap<(u64, u16), Slice>;

/// A path as a cache key: its bytes, which hash and compare at once
/// (`Path`'s own `Hash` and `Eq` walk its components: a few per cent of a
/// one-metric query over two years of day files, which looks every file
/// up several times).
pub(super) fn path_bytes(path: &Path) -> &[u8] {
    path.as_os_str().as_encoded_bytes()
}

/// Bytes a slice is accounted for.
fn slice_size(s: &[(i64, u64)]) -> usize {
    s.len() * 16 + 64
}

/// Decoded frames and header walks of one database's raw files.
pub(crate) struct FrameCache {
    inner: Mutex<Inner>,
    /// Byte budgets of decoded frames and of one-metric slices.
    budgets: (usize, usize),
}

impl Default for FrameCache {
    fn default() -> Self {
        FrameCache::with_budgets(MAX_CACHED_BYTES, MAX_SLICE_BYTES)
    }
}

impl FrameCache {
    /// A cache holding at most `frames` bytes of decoded frames and
    /// `slices` bytes of one-metric slices.
    pub(crate) fn with_budgets(frames: usize, slices: usize) -> FrameCache {
        FrameCache {
            inner: Mutex::default(),
            budgets: (frames, slices),
        }
    }

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
        if let Some(gone) = c.slices.remove(path_bytes(path)) {
            c.slice_bytes -= gone.values().map(|s| slice_size(s)).sum::<usize>();
            c.slice_order.retain(|k| *k.0 != *path_bytes(path));
        }
    }

    /// The cached slice of metric `id` under `(path, tag)`.
    pub(crate) fn slice(&self, path: &Path, tag: u64, id: u16) -> Option<Slice> {
        self.lock().slice(path, tag, id)
    }

    /// Caches a slice (evicting the oldest beyond the budget). `tag`: the
    /// frame offset in a raw file, or what else names the samples' source.
    pub(crate) fn insert_slice(&self, (path, tag, id): (&Path, u64, u16), slice: Slice) {
        let size = slice_size(&slice);
        let budget = self.budgets.1;
        if size > budget / 4 {
            return;
        }
        let mut guard = self.lock();
        let c = &mut *guard;
        let key = path_bytes(path);
        let per_path = match c.slices.get_mut(key) {
            Some(m) => m,
            None => c.slices.entry(key.into()).or_default(),
        };
        match per_path.insert((tag, id), slice) {
            None => {
                c.slice_order.push_back((key.into(), tag, id));
                c.slice_bytes += size;
            }
            // Replaced (two readers decoded it at once): same samples.
            Some(old) => c.slice_bytes = c.slice_bytes - slice_size(&old) + size,
        }
        while c.slice_bytes > budget {
            let Some((p, tag, id)) = c.slice_order.pop_front() else {
                break;
            };
            let Some(per_path) = c.slices.get_mut(&p) else {
                continue;
            };
            if let Some(s) = per_path.remove(&(tag, id)) {
                c.slice_bytes -= slice_size(&s);
            }
            if per_path.is_empty() {
                c.slices.remove(&p);
            }
        }
    }

    /// Bytes of decoded frames and of slices held (for tests).
    #[cfg(test)]
    pub(crate) fn held_bytes(&self) -> (usize, usize) {
        let c = self.lock();
        (c.bytes, c.slice_bytes)
    }

    fn insert(&self, key: (PathBuf, u64), frame: Arc<DecodedFrame>) {
        let size = frame.len() * crate::frame::RECORD_BYTES;
        let budget = self.budgets.0;
        if size > budget / 4 {
            return;
        }
        let mut c = self.lock();
        if c.frames.insert(key.clone(), frame).is_none() {
            c.order.push_back(key);
            c.bytes += size;
        }
        while c.bytes > budget {
            let Some(old) = c.order.pop_front() else {
                break;
            };
            if let Some(fr) = c.frames.remove(&old) {
                c.bytes -= fr.len() * crate::frame::RECORD_BYTES;
            }
        }
    }
}

/// A raw file opened on first need: reads answered from the cache never
/// open it (a long scan touches hundreds of files).
struct LazyFile<'p> {
    path: &'p Path,
    file: Option<File>,
}

impl<'p> LazyFile<'p> {
    fn new(path: &'p Path) -> Self {
        LazyFile { path, file: None }
    }

    /// The open file, or `None` when it is gone (removed by retention or a
    /// raw-ingest action since the caller's snapshot).
    fn get(&mut self) -> Result<Option<&File>> {
        if self.file.is_none() {
            match File::open(self.path) {
                Ok(f) => self.file = Some(f),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(Error::io(self.path, e)),
            }
        }
        Ok(self.file.as_ref())
    }
}

/// Frames of the file that end within `len` bytes, walking only the part
/// not seen before; `None` when the file is gone.
fn frames_upto(
    cache: Option<&FrameCache>,
    lazy: &mut LazyFile<'_>,
    len: u64,
) -> Result<Option<Vec<FrameInfo>>> {
    let path = lazy.path;
    let (mut frames, walked) = cache
        .and_then(|c| c.lock().scans.get(path).cloned())
        .unwrap_or_default();
    if walked < len {
        let Some(file) = lazy.get()? else {
            return Ok(None);
        };
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
    Ok(Some(frames))
}

/// Visits the decoded frames of a raw file between byte `start` (a frame
/// boundary) and `len`, whose time range overlaps `[from, to]`. Frames
/// decoded here are cached only with `keep` (not for long scans, which would
/// only evict what shorter, repeated reads need).
#[allow(clippy::too_many_arguments)]
pub(crate) fn read_file_frames(
    cache: Option<&FrameCache>,
    keep: bool,
    path: &Path,
    start: u64,
    len: u64,
    from: i64,
    to: i64,
    f: &mut dyn FnMut(&DecodedFrame) -> ControlFlow<()>,
) -> Result<ControlFlow<()>> {
    let mut lazy = LazyFile::new(path);
    let Some(mut frames) = frames_upto(cache, &mut lazy, len)? else {
        return Ok(ControlFlow::Continue(()));
    };
    frames.retain(|fi| fi.offset >= start && fi.header.end_ts >= from && fi.header.start_ts <= to);
    // A read that decodes more than the cache holds would evict all of it
    // (the frames a dashboard re-reads) and then its own frames before any
    // reuse: it keeps what is cached and decodes the rest into one reused
    // frame, which also spares an allocation and a zeroed buffer per frame.
    // So does every read of a long scan (`keep` false).
    let decoded: usize = frames
        .iter()
        .map(|fi| usize::from(fi.header.count) * crate::frame::RECORD_BYTES)
        .sum();
    let cache_new = cache.filter(|c| keep && decoded <= c.budgets.0);
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
        let Some(file) = lazy.get()? else {
            return Ok(ControlFlow::Continue(()));
        };
        let flow = match cache_new {
            Some(c) => {
                let d = decode_or_damaged(file, path, fi, &mut block, DecodedFrame::default())?;
                let fr = Arc::new(d.unwrap_or_default());
                c.insert(fkey, fr.clone());
                f(&fr)
            }
            None => {
                match decode_or_damaged(file, path, fi, &mut block, std::mem::take(&mut scratch))? {
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
/// empty frame (or slice), so the warning is not repeated by every query.
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

/// The samples of metric `id` in the frames of a raw file between byte
/// `start` (a frame boundary) and `len` whose time range overlaps
/// `[from, to]`, frame by frame in file order, through the slice cache.
#[allow(clippy::too_many_arguments)]
pub(crate) fn read_file_metric(
    cache: &FrameCache,
    path: &Path,
    start: u64,
    len: u64,
    from: i64,
    to: i64,
    id: u16,
    f: &mut dyn FnMut(i64, u64) -> ControlFlow<()>,
) -> Result<ControlFlow<()>> {
    let mut lazy = LazyFile::new(path);
    let Some(frames) = frames_upto(Some(cache), &mut lazy, len)? else {
        return Ok(ControlFlow::Continue(()));
    };
    let mut block = Vec::new();
    let mut decoded = DecodedFrame::default();
    for fi in frames.iter().filter(|fi| fi.offset >= start) {
        if fi.header.end_ts < from || fi.header.start_ts > to {
            continue;
        }
        let slice = {
            let c = cache.lock();
            c.slice(path, fi.offset, id).or_else(|| {
                c.frames
                    .get(&(path.to_path_buf(), fi.offset))
                    .map(|fr| extract(fr, id))
            })
        };
        let slice = match slice {
            Some(s) => s,
            None => {
                let Some(file) = lazy.get()? else {
                    return Ok(ControlFlow::Continue(()));
                };
                let d =
                    decode_or_damaged(file, path, fi, &mut block, std::mem::take(&mut decoded))?;
                let s = match d {
                    Some(d) => {
                        decoded = d;
                        extract(&decoded, id)
                    }
                    None => Arc::from(Vec::new()),
                };
                cache.insert_slice((path, fi.offset, id), s.clone());
                s
            }
        };
        for &(ts, bits) in slice.iter() {
            if ts >= from && ts <= to && f(ts, bits).is_break() {
                return Ok(ControlFlow::Break(()));
            }
        }
    }
    Ok(ControlFlow::Continue(()))
}

/// Metric `id`'s samples of a decoded frame, in frame order.
fn extract(fr: &DecodedFrame, id: u16) -> Slice {
    fr.indices_of(id).map(|i| (fr.ts(i), fr.val(i))).collect()
}

#[cfg(test)]
mod tests {
    use std::ops::ControlFlow;

    use super::*;
    use crate::{Engine, Value, WriteSample};

    const T0: i64 = 1_704_067_200_000_000_000; // 2024-01-01
    const DAY: i64 = 86_400_000_000_000;

    /// One-metric reads through a small slice budget: every sample comes
    /// back exactly (from the cache, evicted or not), and the cache never
    /// holds more than its budgets.
    #[test]
    fn slices_stay_within_their_budget_and_answer_exactly() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("engine.toml"), "[stats]\nenabled = false\n").unwrap();
        let e = Engine::open(d.path()).unwrap();
        let days = 40i64;
        let names = ["a", "b", "c"];
        let samples: Vec<WriteSample<'_>> = (0..days * 48)
            .flat_map(|k| {
                names.iter().enumerate().map(move |(m, name)| WriteSample {
                    db: "h",
                    metric: name,
                    ts: T0 + k * DAY / 48,
                    value: Value::I32((k * 3) as i32 + m as i32),
                })
            })
            .collect();
        e.write(&samples).unwrap();
        e.close().unwrap();
        let files: Vec<std::path::PathBuf> = (0..days)
            .map(|k| {
                let day = crate::time::partition_key(crate::time::PartitionMode::Day, T0 + k * DAY);
                d.path().join("h").join(format!("data-{day}.dat"))
            })
            .collect();
        // Room for about ten days of one metric's slices.
        let cache = FrameCache::with_budgets(64 << 10, 10 * (48 * 16 + 64));
        for round in 0..3 {
            // Catalog ids start at 1: a is 1, b is 2.
            for (id, m) in [(1u16, 0i64), (2, 1), (1, 0)] {
                let mut got = Vec::new();
                for p in &files {
                    let len = std::fs::metadata(p).unwrap().len();
                    let flow = read_file_metric(
                        &cache,
                        p,
                        0,
                        len,
                        i64::MIN,
                        i64::MAX,
                        id,
                        &mut |ts, bits| {
                            got.push((ts, bits as u32 as i32));
                            ControlFlow::Continue(())
                        },
                    )
                    .unwrap();
                    assert!(flow.is_continue());
                }
                let want: Vec<(i64, i32)> = (0..days * 48)
                    .map(|k| (T0 + k * DAY / 48, (k * 3 + m) as i32))
                    .collect();
                assert_eq!(got.len(), want.len(), "round {round}, metric {id}");
                assert!(got == want, "round {round}, metric {id}: samples differ");
                let (frames, slices) = cache.held_bytes();
                assert!(frames <= 64 << 10, "{frames} bytes of frames");
                assert!(slices <= 10 * (48 * 16 + 64), "{slices} bytes of slices");
                assert!(slices > 0);
            }
        }
    }
}
