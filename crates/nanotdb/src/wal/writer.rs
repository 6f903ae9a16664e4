//! The live WAL of an open database: records are encoded into a pending
//! buffer as samples arrive, written with one `write` per batch, fsynced
//! per `fsync_policy`, and replaced at each checkpoint (truncated when no
//! open page needs it, else rewritten atomically to hold exactly those pages).
//!
//! A write or fsync that fails (a full disk, an I/O error) leaves the file
//! as it was before it: the bytes are cut off again and the encoder forgets
//! the baseline and names those records carried. Otherwise a partial record
//! would stay in the file, later batches would be appended (and
//! acknowledged) after it, and replay, which stops at the first record it
//! cannot decode, would lose all of them.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::prepared::PreparedRecords;
use super::record::{RecordExt, WalEncoder, WalError, WalValue};
use crate::config::FsyncPolicy;
use crate::error::{Error, IoContext, Result};
use crate::fsutil;
use crate::idset::IdSet;
use crate::sample::{MetricId, ValueType};
use crate::stats::DbCounters;
use crate::time;

/// Where an atomic batch started: the file length, the encoder baseline
/// and the metrics first named since.
#[derive(Debug)]
struct BatchMark {
    len: u64,
    baseline: Option<i64>,
    named: Vec<MetricId>,
}

/// The last record in the pending buffer, kept so that the end of its
/// group can be marked on it (it is encoded again) when the buffer is written.
#[derive(Debug)]
struct LastRecord {
    start: usize,
    id: MetricId,
    ts: i64,
    value: WalValue,
    name: Option<(String, u8)>,
    baseline_before: Option<i64>,
}

/// Records of a group that is still open (every one but the last of a write).
const OPEN: RecordExt = RecordExt::Checked {
    end: false,
    batch: None,
};

/// An open WAL file with its encoder state.
#[derive(Debug)]
pub(crate) struct WalWriter {
    path: PathBuf,
    file: File,
    enc: WalEncoder,
    /// Encoded records not yet written to the file.
    pending: Vec<u8>,
    /// Bytes in the file.
    size: u64,
    /// Metrics whose name is already carried by a record of the current WAL
    /// contents; the first record of any other metric embeds its name, so the
    /// WAL can always be replayed without `catalog.json`.
    named: IdSet,
    /// True while records are pending or written but not fsynced.
    unsynced: bool,
    /// Bumped by every write, reset and rewrite: a background fsync of a
    /// cloned handle marks the WAL synced only if nothing changed since.
    generation: u64,
    /// The encoder's baseline as of the last byte in the file.
    committed_baseline: Option<i64>,
    /// Metrics first named by a record that is still pending.
    pending_named: Vec<MetricId>,
    /// The last pending record.
    last: Option<LastRecord>,
    /// The oldest batch id a group in the file carries (ids only grow; a
    /// reset or rewrite drops them all).
    oldest_batch: Option<u64>,
    /// Set between [`WalWriter::begin_batch`] and the end of an atomic
    /// batch: what to go back to if the batch fails after this WAL was
    /// written (another database's WAL failed).
    batch: Option<BatchMark>,
    /// A failed write could not be cut off the file (`size` is the length
    /// to cut back to): nothing is appended until the cut succeeds.
    needs_cut: bool,
    /// Test hook: the next write stores only this many bytes, then fails
    /// as a full disk would.
    #[cfg(test)]
    pub(crate) fail_next_write_after: Option<usize>,
}

impl WalWriter {
    /// Opens (creating if missing) the WAL at `path` for appending after its
    /// first `size` bytes, which the caller has checked decode.
    pub fn open(path: &Path, size: u64) -> Result<WalWriter> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .at(path)?;
        Ok(WalWriter {
            path: path.to_path_buf(),
            file,
            enc: WalEncoder::new(),
            pending: Vec::new(),
            size,
            named: IdSet::empty(),
            unsynced: false,
            generation: 0,
            committed_baseline: None,
            pending_named: Vec::new(),
            last: None,
            oldest_batch: None,
            batch: None,
            needs_cut: false,
            #[cfg(test)]
            fail_next_write_after: None,
        })
    }

    /// Bytes in the file plus bytes still pending.
    pub fn len_with_pending(&self) -> u64 {
        self.size + self.pending.len() as u64
    }

    /// Encodes one sample (its stored `bits`) into the pending buffer; the
    /// metric's first record since the last checkpoint carries `name` and
    /// its type code.
    pub fn log(
        &mut self,
        id: MetricId,
        ts: i64,
        bits: u64,
        name: &str,
        value_type: ValueType,
    ) -> Result<()> {
        let type_code = value_type.code();
        let value = WalValue::new(bits, value_type.is_wide());
        let new_metric = self.named.insert(id).then_some((name, type_code));
        if new_metric.is_some() {
            self.pending_named.push(id);
            if let Some(b) = self.batch.as_mut() {
                b.named.push(id);
            }
        }
        if self.pending.is_empty() {
            // Each write group starts with a baseline, so replay can pick
            // up again at the next group after a damaged record.
            self.enc.reset();
        }
        let start = self.pending.len();
        let baseline_before = self.enc.baseline();
        self.enc
            .encode_ext(id, ts, value, new_metric, OPEN, &mut self.pending)
            .map_err(|source| self.encode_error(source))?;
        self.last = Some(LastRecord {
            start,
            id,
            ts,
            value,
            name: new_metric.map(|(n, t)| (n.to_string(), t)),
            baseline_before,
        });
        self.unsynced = true;
        Ok(())
    }

    /// Logs the samples (id, timestamp, stored bits, name, type) of a write
    /// group whose records `pre` encoded before the lock with the ids
    /// `guessed`, in the same order:
    /// a record is copied when it was encoded with the sample's id and the
    /// metric is already named in this WAL, else encoded here as
    /// [`WalWriter::log`] would (then it carries the name). The pending
    /// bytes are the same as if every sample went through `log`.
    pub fn log_prepared<'a>(
        &mut self,
        pre: &PreparedRecords,
        guessed: &[Option<MetricId>],
        samples: impl ExactSizeIterator<Item = (MetricId, i64, u64, &'a str, ValueType)>,
    ) -> Result<()> {
        if samples.len() != pre.len() || guessed.len() != pre.len() || !self.pending.is_empty() {
            // Not the group `pre` was encoded as (the records would start
            // from another baseline): every record is encoded here.
            for (id, ts, bits, name, vt) in samples {
                self.log(id, ts, bits, name, vt)?;
            }
            return Ok(());
        }
        self.enc.reset();
        // `pre.bytes[run..prev_end]`: records copied but not appended yet.
        let (mut run, mut prev_end) = (0usize, 0usize);
        let mut last_copied = None;
        for (k, (id, ts, bits, name, vt)) in samples.enumerate() {
            let end = pre.ends[k] as usize;
            if guessed[k] == Some(id) && end > prev_end && self.named.contains(id) {
                let baseline_before = self.enc.baseline();
                self.enc.advance(ts);
                let start = self.pending.len() + (prev_end - run);
                let value = WalValue::new(bits, vt.is_wide());
                last_copied = Some((start, id, ts, value, baseline_before));
            } else {
                // Appended before `log` runs: it resets the baseline when
                // nothing is pending.
                self.pending.extend_from_slice(&pre.bytes[run..prev_end]);
                run = end;
                self.log(id, ts, bits, name, vt)?;
                last_copied = None;
            }
            prev_end = end;
        }
        self.pending.extend_from_slice(&pre.bytes[run..prev_end]);
        if let Some((start, id, ts, value, baseline_before)) = last_copied {
            self.last = Some(LastRecord {
                start,
                id,
                ts,
                value,
                name: None,
                baseline_before,
            });
            self.unsynced = true;
        }
        Ok(())
    }

    /// Marks the last pending record as the end of the write group (with
    /// `batch`, the id of a batch spanning databases): replay keeps the
    /// group's records only if this record made it to the file.
    fn close_group(&mut self, batch: Option<u64>) -> Result<()> {
        let Some(l) = self.last.take() else {
            return Ok(());
        };
        self.pending.truncate(l.start);
        self.enc.restore_baseline(l.baseline_before);
        let name = l.name.as_ref().map(|(n, t)| (n.as_str(), *t));
        let ext = RecordExt::Checked { end: true, batch };
        self.enc
            .encode_ext(l.id, l.ts, l.value, name, ext, &mut self.pending)
            .map_err(|source| self.encode_error(source))
    }

    fn encode_error(&self, source: WalError) -> Error {
        Error::WalEncode {
            path: self.path.clone(),
            source,
        }
    }

    /// Writes the pending records as one write group in one `write` and
    /// fsyncs when the policy asks for it (`always`, or `segment` once the
    /// file holds at least `max_segment` bytes). `batch`: the id of the batch
    /// spanning databases the records belong to.
    pub fn write_pending(
        &mut self,
        policy: FsyncPolicy,
        max_segment: u64,
        c: &mut DbCounters,
        batch: Option<u64>,
    ) -> Result<()> {
        if let Some(id) = batch
            && self.last.is_some()
        {
            self.oldest_batch = Some(self.oldest_batch.map_or(id, |o| o.min(id)));
        }
        if let Err(e) = self.close_group(batch) {
            let before = self.size;
            self.roll_back(before);
            return Err(e);
        }
        if self.needs_cut {
            // A record of an earlier failed write may still be in the file.
            self.file.set_len(self.size).at(&self.path)?;
            self.needs_cut = false;
        }
        let before = self.size;
        if !self.pending.is_empty() {
            if let Err(e) = self.write_file() {
                self.roll_back(before);
                return Err(Error::io(&self.path, e));
            }
            self.size += self.pending.len() as u64;
            self.generation += 1;
            c.wal_bytes_written += self.pending.len() as u64;
            c.wal_write_bytes.record(self.pending.len() as u64);
            let now = time::now_ns();
            if c.last_wal_write_ns != 0 {
                c.wal_write_interval_ns
                    .record(u64::try_from(now - c.last_wal_write_ns).unwrap_or(0));
            }
            c.last_wal_write_ns = now;
        }
        if self.unsynced && (policy == FsyncPolicy::Always || self.size >= max_segment) {
            let t = std::time::Instant::now();
            if let Err(e) = self.file.sync_data() {
                // This batch is not known to be on disk: take it back, so it
                // is answered as failed and never replayed. (Earlier batches
                // were acknowledged under a policy that did not promise
                // durability yet; they stay.)
                self.roll_back(before);
                return Err(Error::io(&self.path, e));
            }
            c.wal_fsync_ns.record_since(t);
            c.last_wal_fsync_ns = time::now_ns();
            c.wal_fsyncs += 1;
            self.unsynced = false;
        }
        self.pending.clear();
        self.pending_named.clear();
        self.last = None;
        self.committed_baseline = self.enc.baseline();
        Ok(())
    }

    fn write_file(&mut self) -> std::io::Result<()> {
        #[cfg(test)]
        if let Some(n) = self.fail_next_write_after.take() {
            let n = n.min(self.pending.len());
            self.file.write_all(&self.pending[..n])?;
            return Err(std::io::Error::from_raw_os_error(libc::ENOSPC));
        }
        self.file.write_all(&self.pending)
    }

    /// Forgets the records written or pending since the file was `len`
    /// bytes long, and cuts them off the file (or remembers to, before the
    /// next write, when even that fails).
    fn roll_back(&mut self, len: u64) {
        let named = std::mem::take(&mut self.pending_named);
        self.cut_back(len, self.committed_baseline, named);
    }

    fn cut_back(&mut self, len: u64, baseline: Option<i64>, named: Vec<MetricId>) {
        self.last = None;
        if let Err(e) = self.file.set_len(len) {
            tracing::error!(file = %self.path.display(), "cannot cut a failed WAL write: {e}");
            self.needs_cut = true;
        }
        self.size = len;
        self.pending.clear();
        self.pending_named.clear();
        self.enc.restore_baseline(baseline);
        self.committed_baseline = baseline;
        for id in named {
            self.named.remove(id);
        }
    }

    /// Starts an atomic batch: what is logged and written until
    /// [`WalWriter::end_batch`] can be taken back by [`WalWriter::undo_batch`].
    pub fn begin_batch(&mut self) {
        self.batch = Some(BatchMark {
            len: self.size,
            baseline: self.enc.baseline(),
            named: Vec::new(),
        });
    }

    /// Takes back everything logged since [`WalWriter::begin_batch`],
    /// written or not: the batch failed elsewhere and is answered as failed.
    pub fn undo_batch(&mut self) {
        if let Some(b) = self.batch.take() {
            self.cut_back(b.len, b.baseline, b.named);
        }
    }

    /// Ends an atomic batch that was stored.
    pub fn end_batch(&mut self) {
        self.batch = None;
    }

    /// The oldest batch id a group in the file may carry.
    pub fn oldest_batch_id(&self) -> Option<u64> {
        self.oldest_batch
    }

    /// True when the file holds no bytes.
    pub fn is_empty(&self) -> bool {
        self.size == 0
    }

    /// A handle on the file and the generation it shows, when records are
    /// not fsynced yet (the `interval` policy's background fsync runs on it
    /// without holding the database lock).
    pub fn sync_handle(&self) -> Option<std::io::Result<(File, u64)>> {
        self.unsynced
            .then(|| self.file.try_clone().map(|f| (f, self.generation)))
    }

    /// Records that an fsync of the handle of generation `generation` is
    /// done: the WAL is synced unless it changed since.
    pub fn mark_synced(&mut self, generation: u64) {
        if self.generation == generation {
            self.unsynced = false;
        }
    }

    /// Empties the file (fsynced when `sync`) and forgets the encoder state.
    pub fn reset(&mut self, sync: bool) -> Result<()> {
        self.generation += 1;
        self.file.set_len(0).at(&self.path)?;
        self.size = 0;
        self.needs_cut = false;
        self.enc.reset();
        self.last = None;
        self.oldest_batch = None;
        self.committed_baseline = None;
        self.named.clear();
        self.pending_named.clear();
        if sync {
            self.file.sync_data().at(&self.path)?;
        }
        self.unsynced = false;
        Ok(())
    }

    /// Replaces the file atomically with `samples` (id, ts, value bits), the
    /// first record of each metric carrying the name and type `meta_of`
    /// gives (which also says whether the value is 8 bytes wide).
    pub fn rewrite<'a>(
        &mut self,
        samples: impl Iterator<Item = (MetricId, i64, u64)>,
        meta_of: impl Fn(MetricId) -> Option<(&'a str, ValueType)>,
    ) -> Result<()> {
        let mut enc = WalEncoder::new();
        let mut named = IdSet::empty();
        let mut buf = Vec::new();
        let mut samples = samples.peekable();
        while let Some((id, ts, bits)) = samples.next() {
            let meta = meta_of(id);
            let wide = meta.is_some_and(|(_, t)| t.is_wide());
            let first = named.insert(id);
            let name = meta.filter(|_| first).map(|(n, t)| (n, t.code()));
            let ext = RecordExt::Checked {
                end: samples.peek().is_none(),
                batch: None,
            };
            enc.encode_ext(id, ts, WalValue::new(bits, wide), name, ext, &mut buf)
                .map_err(|source| self.encode_error(source))?;
        }
        self.generation += 1;
        fsutil::write_atomic(&self.path, &buf)?;
        self.file = OpenOptions::new()
            .append(true)
            .open(&self.path)
            .at(&self.path)?;
        self.size = buf.len() as u64;
        self.oldest_batch = None;
        self.needs_cut = false;
        self.committed_baseline = enc.baseline();
        self.enc = enc;
        self.named = named;
        self.pending_named.clear();
        self.unsynced = false;
        Ok(())
    }
}
