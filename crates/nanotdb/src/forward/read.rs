//! Reading the frames appended since a cursor.

use std::fs::File;
use std::path::PathBuf;

use super::{DbPositions, StreamPos};
use crate::database::read_frame_at;
use crate::datafile::{self, FrameInfo};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::frame::DecodedFrame;
use crate::sample::{MetricId, Value, ValueType};

/// One sample read for forwarding.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ForwardSample {
    /// Its metric's catalog id (names: [`Engine::metrics`]).
    pub id: MetricId,
    /// Timestamp, ns since the epoch.
    pub ts: i64,
    /// The value as float64 (int64 beyond 2^53 loses precision, as in
    /// Prometheus).
    pub value: f64,
}

/// What [`Engine::forward_read`] found.
#[derive(Debug, Clone, Default)]
pub struct ForwardChunk {
    /// Samples in stream order (partition by partition, frame by frame).
    pub samples: Vec<ForwardSample>,
    /// The position after the returned samples of every partition read:
    /// store them in the cursor once the samples are delivered.
    pub positions: Vec<(String, StreamPos)>,
    /// The read stopped at `max`: more is waiting.
    pub more: bool,
    /// Bytes of frames left after this chunk, over every partition.
    pub pending_bytes: u64,
    /// Samples whose metric id the catalog did not know (skipped).
    pub unknown: u64,
    /// Every partition of the database that has frames (positions of other
    /// partitions can be forgotten: retention removed them).
    pub partitions: Vec<String>,
}

/// One segment of a partition's stream: a file and where it starts.
struct Segment {
    path: PathBuf,
    base: u64,
    len: u64,
}

/// Buffers of [`Engine::forward_read_into`], kept by a caller that reads
/// again and again (a sender reads at every flush): its frame buffers and
/// sample vector are then allocated once, not per read — freeing tens of
/// kilobytes per read made the allocator give pages back to the kernel
/// and fault them in again, batch after batch.
#[derive(Default)]
pub struct ForwardBuffers {
    types: Vec<Option<ValueType>>,
    block: Vec<u8>,
    frame: DecodedFrame,
}

/// Per-call reading state.
struct Reader<'a> {
    types: &'a [Option<ValueType>],
    max: usize,
    block: &'a mut Vec<u8>,
    frame: &'a mut DecodedFrame,
    out: &'a mut ForwardChunk,
}

impl Engine {
    /// Reads up to `max` samples of `db` appended to its data files after
    /// `positions` (a partition not listed is read from its start).
    /// Samples still in an open page are not read: they come once their
    /// page is flushed (see the module documentation of
    /// [`crate::forward`]). A database that does not exist reads as empty.
    pub fn forward_read(
        &self,
        db: &str,
        positions: &DbPositions,
        max: usize,
    ) -> Result<ForwardChunk> {
        let mut out = ForwardChunk::default();
        self.forward_read_into(db, positions, max, &mut ForwardBuffers::default(), &mut out)?;
        Ok(out)
    }

    /// [`Engine::forward_read`] into `out` (cleared first), with buffers
    /// kept from call to call.
    pub fn forward_read_into(
        &self,
        db: &str,
        positions: &DbPositions,
        max: usize,
        bufs: &mut ForwardBuffers,
        out: &mut ForwardChunk,
    ) -> Result<()> {
        out.samples.clear();
        out.positions.clear();
        out.more = false;
        out.pending_bytes = 0;
        out.unknown = 0;
        out.partitions.clear();
        let Some(database) = self.db(db, false)? else {
            return Ok(());
        };
        let parts = {
            let st = database.lock();
            let parts: Vec<(String, u64, u64)> = st
                .files
                .iter()
                .map(|(k, f)| (k.clone(), f.raw_len.unwrap_or(0), f.data_len.unwrap_or(0)))
                .filter(|(_, r, d)| r + d > 0)
                .collect();
            bufs.types.clear();
            bufs.types
                .resize(usize::from(st.catalog.max_id()) + 1, None);
            for m in st.catalog.iter() {
                if let Some(t) = bufs.types.get_mut(usize::from(m.id)) {
                    *t = Some(m.value_type);
                }
            }
            parts
        };
        let mut r = Reader {
            types: &bufs.types,
            max: max.max(1),
            block: &mut bufs.block,
            frame: &mut bufs.frame,
            out,
        };
        for (key, raw_len, data_len) in parts {
            let total = raw_len + data_len;
            let mut pos = positions.get(&key).copied().unwrap_or_default();
            if pos.offset > total {
                // Only a tail cut after a power loss (or an offline
                // recompaction) makes a stream shorter than what was sent.
                tracing::warn!(db, partition = %key, offset = pos.offset, len = total,
                    "remote-write cursor beyond the end of the partition; continuing from its end");
                pos = StreamPos {
                    offset: total,
                    skip: 0,
                };
            }
            if pos.offset < total && r.out.samples.len() < r.max {
                let segments = [
                    Segment {
                        path: database.raw_path(&key),
                        base: 0,
                        len: raw_len,
                    },
                    Segment {
                        path: database.data_path(&key),
                        base: raw_len,
                        len: data_len,
                    },
                ];
                for seg in &segments {
                    if pos.offset >= seg.base + seg.len || r.out.samples.len() >= r.max {
                        continue;
                    }
                    match r.read_segment(db, &key, seg, &mut pos) {
                        Ok(()) => {}
                        // Renamed by a metric-file build since the lengths
                        // were taken: read it at the next call.
                        Err(Error::Io { source, .. })
                            if source.kind() == std::io::ErrorKind::NotFound =>
                        {
                            break;
                        }
                        Err(e) => return Err(e),
                    }
                }
            }
            r.out.pending_bytes += total - pos.offset.min(total);
            if pos.offset < total {
                r.out.more |= r.out.samples.len() >= r.max;
            }
            if positions.get(&key) != Some(&pos) {
                r.out.positions.push((key.clone(), pos));
            }
            r.out.partitions.push(key);
        }
        Ok(())
    }
}

impl Engine {
    /// Bytes of frames of `db` after `positions`: what
    /// [`Engine::forward_read`] has left to read, without reading a file.
    pub fn forward_pending_bytes(&self, db: &str, positions: &DbPositions) -> Result<u64> {
        let Some(database) = self.db(db, false)? else {
            return Ok(0);
        };
        let st = database.lock();
        Ok(st
            .files
            .iter()
            .map(|(k, f)| {
                let total = f.raw_len.unwrap_or(0) + f.data_len.unwrap_or(0);
                total.saturating_sub(positions.get(k).map_or(0, |p| p.offset))
            })
            .sum())
    }

    /// Samples of the databases in `dbs` that are stored (in the WAL and an
    /// open page) but not flushed into a frame yet, so not readable by
    /// [`Engine::forward_read`]: they are forwarded once their page
    /// flushes. A database not loaded has no open page.
    pub fn forward_unflushed(&self, dbs: &super::DbSelection) -> u64 {
        self.loaded()
            .iter()
            .filter(|d| dbs.contains(&d.name))
            .map(|d| {
                let st = d.lock();
                st.open
                    .values()
                    .map(|p| p.page.as_ref().map_or(0, |pg| pg.len() as u64))
                    .sum::<u64>()
            })
            .sum()
    }
}

impl Reader<'_> {
    /// Reads the frames of one segment from `pos` on, advancing `pos`.
    fn read_segment(
        &mut self,
        db: &str,
        key: &str,
        seg: &Segment,
        pos: &mut StreamPos,
    ) -> Result<()> {
        let file = File::open(&seg.path).map_err(|e| Error::io(&seg.path, e))?;
        let rel = pos.offset - seg.base;
        let mut scan =
            datafile::scan_file_range(&file, rel, seg.len).map_err(|e| Error::io(&seg.path, e))?;
        if scan.frames.is_empty() {
            // Not at a frame boundary (a file rewritten offline): continue
            // at the first frame after the position.
            let all = datafile::scan_file_range(&file, 0, seg.len)
                .map_err(|e| Error::io(&seg.path, e))?;
            let next = all.frames.iter().find(|f| f.offset >= rel);
            tracing::warn!(
                db,
                partition = key,
                offset = pos.offset,
                "remote-write cursor not at a frame boundary; continuing at the next frame"
            );
            *pos = StreamPos {
                offset: seg.base + next.map_or(seg.len, |f| f.offset),
                skip: 0,
            };
            scan.frames = all.frames.into_iter().filter(|f| f.offset >= rel).collect();
        }
        for fi in &scan.frames {
            if !self.read_frame(&file, seg, fi, pos)? {
                break;
            }
        }
        Ok(())
    }

    /// Takes what fits of one frame; false when the chunk is full.
    fn read_frame(
        &mut self,
        file: &File,
        seg: &Segment,
        fi: &FrameInfo,
        pos: &mut StreamPos,
    ) -> Result<bool> {
        read_frame_at(file, &seg.path, fi, self.block, self.frame)?;
        let n = self.frame.len();
        let start = (pos.skip as usize).min(n);
        let room = self.max - self.out.samples.len();
        let end = n.min(start + room);
        for i in start..end {
            let id = self.frame.id(i);
            match self.types.get(usize::from(id)).copied().flatten() {
                Some(vt) => self.out.samples.push(super::ForwardSample {
                    id,
                    ts: self.frame.ts(i),
                    value: Value::from_bits(vt, self.frame.val(i)).as_f64(),
                }),
                None => self.out.unknown += 1,
            }
        }
        if end == n {
            *pos = StreamPos {
                offset: seg.base + fi.offset + fi.header.frame_len(),
                skip: 0,
            };
        } else {
            pos.skip = u32::try_from(end).unwrap_or(u32::MAX);
        }
        Ok(self.out.samples.len() < self.max)
    }
}
