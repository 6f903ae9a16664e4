//! The root's commit log `<root>/atomic-batches.log` (docs/FORMATS.md §4.12):
//! the commit point of atomic batches that span databases.
//!
//! Such a batch writes its records to each database's WAL as one write
//! group whose last record carries the batch id, and only then appends the
//! id here. Replay keeps a group carrying a batch id only if this log names
//! it, so a crash between two databases' WAL writes stores none of the
//! batch, never a part. An entry is needed only while some database's WAL
//! still holds a group with its id; checkpoints rewrite WALs without ids,
//! and [`CommitLog::retain`] then drops the entries nobody needs.
//!
//! ```text
//! entry: payload_len u32 LE | batch id u64 LE | database names, '\n'-separated | crc32 u32 LE
//! ```
//! The CRC covers the id and the names. An entry that is incomplete or
//! fails its CRC at the end is an append cut short (that batch never
//! committed); one inside the file is damage: the reader goes on from the
//! next intact entry, so one bad byte costs one batch, not every later one.

use std::collections::{BTreeSet, HashMap};
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::config::FsyncPolicy;
use crate::error::{Error, Result};
use crate::fsutil;

/// File name of the commit log in the root directory.
pub const COMMIT_LOG: &str = "atomic-batches.log";

/// The commit log of one root.
#[derive(Debug)]
pub struct CommitLog {
    path: PathBuf,
    read_only: bool,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Committed batch id → the databases it wrote to.
    entries: HashMap<u64, Vec<String>>,
    /// Ids in file order (for rewriting in the same order).
    order: Vec<u64>,
    /// Bytes of intact entries in the file.
    len: u64,
    next_id: u64,
    /// Prune again once this many entries are held (twice what the last
    /// pruning kept, at least [`PRUNE_AT`]), so pruning stays linear.
    prune_at: usize,
    /// A failed append could not be cut off (`len` is where to cut): done
    /// before the next append.
    needs_cut: bool,
}

/// Entries held before the first runtime pruning.
pub const PRUNE_AT: usize = 1024;

impl CommitLog {
    /// Reads the log of `root` (a missing file is an empty log). A writable
    /// log cuts an entry left incomplete by a crash off the file.
    pub fn open(root: &Path, read_only: bool) -> Result<CommitLog> {
        let path = crate::layout::commit_log(root);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(Error::io(&path, e)),
        };
        let mut inner = Inner::default();
        let (mut off, mut end) = (0usize, 0usize);
        let mut damaged = None;
        while off < bytes.len() {
            if let Some((id, names, next)) = decode_entry(&bytes, off) {
                inner.order.push(id);
                inner.entries.insert(id, names);
                (off, end) = (next, next);
                continue;
            }
            // Damage, if an intact entry follows; else the cut-short tail.
            let Some(at) = (off + 1..bytes.len()).find(|&o| decode_entry(&bytes, o).is_some())
            else {
                break;
            };
            tracing::warn!(
                file = %path.display(),
                offset = off,
                bytes = at - off,
                "damaged commit log entry skipped (that batch counts as never committed)"
            );
            damaged.get_or_insert(off);
            off = at;
        }
        inner.len = end as u64;
        if end < bytes.len() {
            tracing::warn!(
                file = %path.display(),
                offset = end,
                "commit log ends in an incomplete entry (an append cut short, or damage): \
                 batches named after it count as never committed"
            );
        }
        if !read_only {
            if let Some(at) = damaged {
                let copy = fsutil::preserve_copy(&path, &bytes, at as u64)?;
                tracing::warn!(kept = %copy.display(), "kept a copy of the damaged commit log");
            }
            if end < bytes.len() {
                let copy = fsutil::preserve_and_truncate(&path, end as u64)?;
                tracing::warn!(kept = %copy.display(), "cut the commit log's incomplete tail");
            }
        }
        let newest = inner.order.iter().copied().max().unwrap_or(0);
        inner.next_id = newest
            .saturating_add(1)
            .max(u64::try_from(crate::time::now_ns()).unwrap_or(0));
        Ok(CommitLog {
            path,
            read_only,
            inner: Mutex::new(inner),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether batch `id` committed.
    pub fn contains(&self, id: u64) -> bool {
        self.lock().entries.contains_key(&id)
    }

    /// A fresh batch id, larger than every id in the log.
    pub fn next_id(&self) -> u64 {
        let mut g = self.lock();
        let id = g.next_id;
        g.next_id = id.saturating_add(1);
        id
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.lock().order.len()
    }

    /// True when the log holds no entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether enough entries piled up since the last pruning to try again.
    pub fn wants_pruning(&self) -> bool {
        let g = self.lock();
        g.order.len() >= g.prune_at.max(PRUNE_AT)
    }

    /// Every database some entry names.
    pub fn databases(&self) -> BTreeSet<String> {
        self.lock().entries.values().flatten().cloned().collect()
    }

    /// Commits batch `id`, which wrote to `dbs`: one append, fsynced under
    /// `fsync_policy = "always"`. On failure the file is cut back, so the
    /// batch counts as never committed.
    pub fn commit(&self, id: u64, dbs: &[&str], policy: FsyncPolicy) -> Result<()> {
        if self.read_only {
            return Err(Error::ReadOnly);
        }
        let entry = encode_entry(id, dbs);
        let mut g = self.lock();
        let len = g.len;
        let needs_cut = g.needs_cut;
        let created = !self.path.exists();
        let written = (|| -> std::io::Result<()> {
            let mut f = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)?;
            if needs_cut {
                f.set_len(len)?;
            }
            f.write_all(&entry)?;
            if policy == FsyncPolicy::Always {
                f.sync_data()?;
            }
            Ok(())
        })();
        if let Err(e) = written {
            let cut = OpenOptions::new()
                .write(true)
                .open(&self.path)
                .and_then(|f| f.set_len(len));
            // Until the cut succeeds, nothing may be appended behind it.
            g.needs_cut = cut.is_err();
            return Err(Error::io(&self.path, e));
        }
        g.needs_cut = false;
        if created && policy == FsyncPolicy::Always {
            // The file's name must survive a power loss with its entry.
            if let Some(dir) = self.path.parent() {
                fsutil::sync_dir(dir)?;
            }
        }
        g.len += entry.len() as u64;
        g.order.push(id);
        g.entries
            .insert(id, dbs.iter().map(|d| (*d).to_string()).collect());
        Ok(())
    }

    /// Keeps only the entries for which `needed` holds (some database named
    /// by the entry may still have a WAL group carrying its id), rewriting
    /// the file atomically when that drops any; an empty log is removed.
    pub fn retain(&self, needed: impl Fn(u64, &[String]) -> bool) -> Result<()> {
        if self.read_only {
            return Ok(());
        }
        let snapshot: Vec<(u64, Vec<String>)> = {
            let g = self.lock();
            g.order
                .iter()
                .filter_map(|id| g.entries.get(id).map(|n| (*id, n.clone())))
                .collect()
        };
        // Decided without the lock: `needed` may lock databases, and the
        // write path locks databases before this log.
        let drop: Vec<u64> = snapshot
            .iter()
            .filter(|(id, names)| !needed(*id, names))
            .map(|(id, _)| *id)
            .collect();
        let mut g = self.lock();
        g.prune_at = (snapshot.len() - drop.len())
            .saturating_mul(2)
            .max(PRUNE_AT);
        if drop.is_empty() {
            return Ok(());
        }
        for id in &drop {
            g.entries.remove(id);
        }
        let Inner { entries, order, .. } = &mut *g;
        order.retain(|id| entries.contains_key(id));
        let mut buf = Vec::new();
        for id in &g.order {
            if let Some(names) = g.entries.get(id) {
                let names: Vec<&str> = names.iter().map(String::as_str).collect();
                buf.extend_from_slice(&encode_entry(*id, &names));
            }
        }
        if buf.is_empty() {
            match fs::remove_file(&self.path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(&self.path, e)),
            }
            if let Some(dir) = self.path.parent() {
                fsutil::sync_dir(dir)?;
            }
        } else {
            fsutil::write_atomic(&self.path, &buf)?;
        }
        g.len = buf.len() as u64;
        Ok(())
    }
}

fn encode_entry(id: u64, dbs: &[&str]) -> Vec<u8> {
    let mut payload = id.to_le_bytes().to_vec();
    payload.extend_from_slice(dbs.join("\n").as_bytes());
    let mut out = Vec::with_capacity(payload.len() + 8);
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&payload);
    out.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    out
}

/// The entry at `off`: (id, database names, offset of the next entry).
fn decode_entry(bytes: &[u8], off: usize) -> Option<(u64, Vec<String>, usize)> {
    let len = u32::from_le_bytes(bytes.get(off..off + 4)?.try_into().ok()?) as usize;
    let payload = bytes.get(off + 4..(off + 4).checked_add(len)?)?;
    let crc_at = off + 4 + len;
    let crc = u32::from_le_bytes(bytes.get(crc_at..crc_at + 4)?.try_into().ok()?);
    if len < 8 || crc32fast::hash(payload) != crc {
        return None;
    }
    let id = u64::from_le_bytes(payload[..8].try_into().ok()?);
    let names = std::str::from_utf8(&payload[8..]).ok()?;
    let names = names
        .split('\n')
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .collect();
    Some((id, names, crc_at + 4))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_survive_reopen_and_a_cut_entry_is_not_committed() {
        let dir = tempfile::tempdir().unwrap();
        let log = CommitLog::open(dir.path(), false).unwrap();
        let a = log.next_id();
        let b = log.next_id();
        assert!(b > a);
        log.commit(a, &["x", "y"], FsyncPolicy::Always).unwrap();
        log.commit(b, &["y", "z"], FsyncPolicy::Segment).unwrap();
        let path = dir.path().join(COMMIT_LOG);
        let full = fs::read(&path).unwrap();
        // Cut the second entry short: only the first committed.
        fs::write(&path, &full[..full.len() - 3]).unwrap();
        let log = CommitLog::open(dir.path(), false).unwrap();
        assert!(log.contains(a));
        assert!(!log.contains(b));
        assert!(log.next_id() > b.max(a));
        // The first entry: length, id, "x\ny", CRC.
        assert_eq!(fs::metadata(&path).unwrap().len(), 4 + 8 + 3 + 4);
        // A flipped byte in the first entry costs that batch only.
        let mut bad = full.clone();
        bad[6] ^= 1;
        fs::write(&path, &bad).unwrap();
        let log = CommitLog::open(dir.path(), true).unwrap();
        assert!(!log.contains(a));
        assert!(log.contains(b));
        let log = CommitLog::open(dir.path(), false).unwrap();
        assert!(log.contains(b));
        assert!(
            dir.path()
                .join(format!("{COMMIT_LOG}.damaged-at-0"))
                .exists()
        );
    }

    #[test]
    fn retain_drops_what_is_not_needed_and_removes_an_empty_log() {
        let dir = tempfile::tempdir().unwrap();
        let log = CommitLog::open(dir.path(), false).unwrap();
        log.commit(1, &["a", "b"], FsyncPolicy::Always).unwrap();
        log.commit(2, &["b", "c"], FsyncPolicy::Always).unwrap();
        log.retain(|id, _| id == 2).unwrap();
        let again = CommitLog::open(dir.path(), false).unwrap();
        assert!(!again.contains(1));
        assert!(again.contains(2));
        assert_eq!(
            again.databases(),
            ["b", "c"].iter().map(|s| s.to_string()).collect()
        );
        again.retain(|_, _| false).unwrap();
        assert!(!dir.path().join(COMMIT_LOG).exists());
        assert!(CommitLog::open(dir.path(), false).unwrap().is_empty());
    }
}
