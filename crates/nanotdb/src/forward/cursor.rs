//! The remote-write cursor and its file (docs/FORMATS.md §13).
//!
//! Why two slots rewritten in place, and not a new file renamed over the
//! old one after each batch: a save then costs one `pwrite` and one
//! `fdatasync` of blocks the file already owns — no create, no rename, no
//! directory fsync, no new block. In steady forwarding that save is most of
//! what a target costs the server, and on a full disk it still succeeds.
//! Saves alternate between the slots, so a save torn by a power loss leaves
//! the previous one whole: the reader takes the valid slot with the higher
//! sequence number.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, IoContext, Result};
use crate::fsutil;

/// The version written in cursor payloads (1: the whole-file JSON form,
/// still read; 2: the two-slot form).
pub const CURSOR_VERSION: u32 = 2;

/// The version of the older whole-file JSON form.
const JSON_VERSION: u32 = 1;

/// Start of every slot.
const MAGIC: &[u8; 8] = b"NTRWCUR2";

/// Slot header: magic, sequence number (u64), payload length (u32), CRC-32
/// (u32) of sequence number, length and payload.
const HDR: usize = 24;

/// Smallest slot.
const MIN_SLOT: u64 = 4096;

/// Where a target stands in one partition's stream: every frame before
/// `offset` is delivered, and the first `skip` samples of the frame at
/// `offset` (in stored order) too.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamPos {
    /// Byte offset in the stream (raw file, then data file) of the first
    /// frame not completely delivered.
    pub offset: u64,
    /// Samples of that frame already delivered.
    #[serde(default)]
    pub skip: u32,
}

/// Positions of one database, by partition key.
pub type DbPositions = BTreeMap<String, StreamPos>;

/// What one target has delivered: positions per database and partition.
/// A partition missing from the map has delivered nothing (position 0).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// Format version ([`CURSOR_VERSION`]).
    pub version: u32,
    /// The receiver URL this cursor was written for (informative: a cursor
    /// belongs to a target *name*, so a changed URL keeps its position).
    #[serde(default)]
    pub url: String,
    /// Database → partition key → position.
    #[serde(default)]
    pub databases: BTreeMap<String, DbPositions>,
}

fn corrupt(path: &Path, offset: u64, reason: String) -> Error {
    Error::Corrupt {
        path: path.to_path_buf(),
        offset,
        reason: format!("remote-write cursor: {reason}"),
    }
}

impl Cursor {
    /// A fresh cursor: nothing delivered.
    pub fn new(url: &str) -> Cursor {
        Cursor {
            version: CURSOR_VERSION,
            url: url.to_string(),
            databases: BTreeMap::new(),
        }
    }

    /// Reads a cursor file (either form); a missing file is a fresh cursor.
    pub fn load(path: &Path, url: &str) -> Result<Cursor> {
        Ok(CursorFile::open(path, url)?.1)
    }

    /// Writes the cursor as a new two-slot file, atomically (tmp file,
    /// fsync, rename, directory fsync). [`CursorFile::save`] is the cheap
    /// in-place save for a file that already exists.
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut f = CursorFile::closed(path);
        f.save(self)
    }

    /// The position of one partition (0 when unknown).
    pub fn pos(&self, db: &str, key: &str) -> StreamPos {
        self.databases
            .get(db)
            .and_then(|d| d.get(key))
            .copied()
            .unwrap_or_default()
    }

    /// Forgets partitions of `db` that are not in `keep` (removed by
    /// retention), so the file does not grow forever.
    pub fn retain_partitions(&mut self, db: &str, keep: &dyn Fn(&str) -> bool) {
        if let Some(d) = self.databases.get_mut(db) {
            d.retain(|k, _| keep(k));
        }
    }
}

/// A target's cursor file, open for saves.
#[derive(Debug)]
pub struct CursorFile {
    path: PathBuf,
    /// Open for in-place saves; `None` until the file is in the two-slot
    /// form (missing, or still the older JSON form).
    file: Option<File>,
    /// Bytes per slot (the file is two of them).
    slot: u64,
    /// Sequence number of the newest valid slot (0: none).
    seq: u64,
}

impl CursorFile {
    fn closed(path: &Path) -> CursorFile {
        CursorFile {
            path: path.to_path_buf(),
            file: None,
            slot: 0,
            seq: 0,
        }
    }

    /// Opens a target's cursor file and reads the cursor it holds; a
    /// missing file is a fresh cursor (the file is created at the first
    /// save), an older whole-file JSON cursor is converted at the first
    /// save.
    pub fn open(path: &Path, url: &str) -> Result<(CursorFile, Cursor)> {
        let mut f = CursorFile::closed(path);
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((f, Cursor::new(url))),
            Err(e) => return Err(Error::io(path, e)),
        };
        if bytes.first() == Some(&b'{') {
            let mut c = parse(path, &bytes, JSON_VERSION)?;
            c.version = CURSOR_VERSION;
            return Ok((f, c));
        }
        let (seq, payload) = newest_slot(path, &bytes)?;
        let c = parse(path, payload, CURSOR_VERSION)?;
        f.slot = bytes.len() as u64 / 2;
        f.seq = seq;
        f.file = Some(
            OpenOptions::new()
                .read(true)
                .write(true)
                .open(path)
                .at(path)?,
        );
        Ok((f, c))
    }

    /// Whether the file exists in the two-slot form, so that the next
    /// save is in place (no new file, no new block: it succeeds on a full
    /// disk too).
    pub fn is_in_place(&self) -> bool {
        self.file.is_some()
    }

    /// Makes sure the file exists in the two-slot form, holding `c` (the
    /// cursor [`CursorFile::open`] returned): a missing file is created,
    /// an older JSON form converted; an existing two-slot file is left
    /// alone. A sender calls it before its first batch, so that its saves
    /// need no new block later, when the disk may be full.
    pub fn create(&mut self, c: &Cursor) -> Result<()> {
        if self.is_in_place() {
            return Ok(());
        }
        self.save(c)
    }

    /// Saves `c` durably: in place, into the slot not holding the newest
    /// save, then `fdatasync`. The first save of a missing or older-form
    /// file, and one that outgrows its slot, writes a new file atomically
    /// instead.
    pub fn save(&mut self, c: &Cursor) -> Result<()> {
        let mut c = c.clone();
        c.version = CURSOR_VERSION;
        let payload = serde_json::to_vec(&c).map_err(|e| corrupt(&self.path, 0, e.to_string()))?;
        let seq = self.seq + 1;
        let rec = record(seq, &payload);
        match &self.file {
            Some(f) if rec.len() as u64 <= self.slot => {
                let at = (seq % 2) * self.slot;
                f.write_all_at(&rec, at).at(&self.path)?;
                f.sync_data().at(&self.path)?;
            }
            _ => self.rewrite(seq, &rec)?,
        }
        self.seq = seq;
        Ok(())
    }

    /// Writes a new file holding `rec` in slot `seq % 2` (the other slot
    /// empty) and renames it over the old one.
    fn rewrite(&mut self, seq: u64, rec: &[u8]) -> Result<()> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).at(dir)?;
        }
        // Room to grow: a save seldom needs a rewrite.
        let slot = (rec.len() as u64 * 2).next_power_of_two().max(MIN_SLOT);
        let len = usize::try_from(slot * 2)
            .map_err(|_| corrupt(&self.path, 0, format!("{} bytes do not fit", rec.len())))?;
        let mut bytes = vec![0u8; len];
        let at = usize::try_from((seq % 2) * slot).unwrap_or(0);
        bytes[at..at + rec.len()].copy_from_slice(rec);
        // The old file stays usable until the rename succeeds.
        fsutil::write_atomic(&self.path, &bytes)?;
        self.file = Some(
            OpenOptions::new()
                .read(true)
                .write(true)
                .open(&self.path)
                .at(&self.path)?,
        );
        self.slot = slot;
        Ok(())
    }
}

/// A slot's bytes: header then payload.
fn record(seq: u64, payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    let mut h = crc32fast::Hasher::new();
    h.update(&seq.to_le_bytes());
    h.update(&len.to_le_bytes());
    h.update(payload);
    let mut out = Vec::with_capacity(HDR + payload.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&h.finalize().to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// The valid slot with the higher sequence number: (sequence, payload).
fn newest_slot<'a>(path: &Path, bytes: &'a [u8]) -> Result<(u64, &'a [u8])> {
    if !bytes.len().is_multiple_of(2) || bytes.len() < 2 * HDR {
        return Err(corrupt(
            path,
            0,
            format!("length {} is not two slots", bytes.len()),
        ));
    }
    let slot = bytes.len() / 2;
    let best = [0, slot]
        .into_iter()
        .filter_map(|at| read_slot(&bytes[at..at + slot]))
        .max_by_key(|(seq, _)| *seq);
    best.ok_or_else(|| corrupt(path, 0, "no valid slot".into()))
}

/// A slot's sequence number and payload, when its magic and CRC are right.
fn read_slot(s: &[u8]) -> Option<(u64, &[u8])> {
    let u64_at = |i: usize| s.get(i..i + 8)?.try_into().ok().map(u64::from_le_bytes);
    let u32_at = |i: usize| s.get(i..i + 4)?.try_into().ok().map(u32::from_le_bytes);
    if s.get(..8)? != MAGIC {
        return None;
    }
    let seq = u64_at(8)?;
    let len = u32_at(16)?;
    let crc = u32_at(20)?;
    let payload = s.get(HDR..HDR + usize::try_from(len).ok()?)?;
    let mut h = crc32fast::Hasher::new();
    h.update(&seq.to_le_bytes());
    h.update(&len.to_le_bytes());
    h.update(payload);
    (h.finalize() == crc).then_some((seq, payload))
}

fn parse(path: &Path, bytes: &[u8], version: u32) -> Result<Cursor> {
    let c: Cursor = serde_json::from_slice(bytes)
        .map_err(|e| corrupt(path, e.column() as u64, e.to_string()))?;
    if c.version != version {
        return Err(corrupt(path, 0, format!("version {} unknown", c.version)));
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cursor(offset: u64) -> Cursor {
        let mut c = Cursor::new("http://r");
        c.databases
            .entry("edge".into())
            .or_default()
            .insert("2026-12-06".into(), StreamPos { offset, skip: 3 });
        c
    }

    #[test]
    fn saves_alternate_in_place_and_the_newest_wins() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("rw").join("t.cursor");
        let (mut f, c) = CursorFile::open(&p, "http://r").unwrap();
        assert_eq!(c, Cursor::new("http://r"));
        for i in 1..=5 {
            f.save(&cursor(i * 100)).unwrap();
            assert_eq!(Cursor::load(&p, "x").unwrap(), cursor(i * 100));
            assert_eq!(std::fs::metadata(&p).unwrap().len(), 2 * MIN_SLOT);
        }
        let bytes = std::fs::read(&p).unwrap();
        assert_eq!(read_slot(&bytes[..4096]).map(|s| s.0), Some(4));
        assert_eq!(read_slot(&bytes[4096..]).map(|s| s.0), Some(5));
        // A reopened file continues the sequence.
        let (mut f, c) = CursorFile::open(&p, "x").unwrap();
        assert_eq!(c, cursor(500));
        f.save(&cursor(600)).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        assert_eq!(read_slot(&bytes[..4096]).map(|s| s.0), Some(6));
    }

    #[test]
    fn create_makes_the_file_once_and_keeps_an_existing_one() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("rw").join("t.cursor");
        let (mut f, c) = CursorFile::open(&p, "http://r").unwrap();
        assert!(!f.is_in_place() && !p.exists());
        f.create(&c).unwrap();
        assert!(f.is_in_place());
        assert_eq!(std::fs::metadata(&p).unwrap().len(), 2 * MIN_SLOT);
        assert_eq!(Cursor::load(&p, "x").unwrap(), c);
        f.save(&cursor(100)).unwrap();
        // Reopened: already in the two-slot form, so create writes nothing.
        let (mut f, c) = CursorFile::open(&p, "x").unwrap();
        assert!(f.is_in_place());
        let before = std::fs::read(&p).unwrap();
        f.create(&c).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), before);
        assert_eq!(Cursor::load(&p, "x").unwrap(), cursor(100));
    }

    #[test]
    fn a_torn_save_leaves_the_previous_one() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("t.cursor");
        let (mut f, _) = CursorFile::open(&p, "u").unwrap();
        f.save(&cursor(100)).unwrap();
        f.save(&cursor(200)).unwrap();
        // Seq 2 lives in slot 0: damage one payload byte of it.
        let mut bytes = std::fs::read(&p).unwrap();
        bytes[HDR + 5] ^= 0x20;
        std::fs::write(&p, &bytes).unwrap();
        assert_eq!(Cursor::load(&p, "u").unwrap(), cursor(100));
        // Both damaged: refused, not read as "nothing delivered".
        bytes[4096 + HDR + 5] ^= 0x20;
        std::fs::write(&p, &bytes).unwrap();
        let e = Cursor::load(&p, "u").unwrap_err().to_string();
        assert!(e.contains("no valid slot"), "{e}");
    }

    #[test]
    fn the_json_form_is_read_and_converted_at_the_first_save() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("t.cursor");
        std::fs::write(
            &p,
            r#"{"version":1,"url":"http://r","databases":{"edge":{"2026-12-06":{"offset":700,"skip":3}}}}"#,
        )
        .unwrap();
        let (mut f, c) = CursorFile::open(&p, "x").unwrap();
        assert_eq!(c, cursor(700));
        f.save(&cursor(800)).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        assert_eq!(&bytes[4096..4104], MAGIC);
        assert_eq!(Cursor::load(&p, "x").unwrap(), cursor(800));
        std::fs::write(&p, r#"{"version":3,"url":"","databases":{}}"#).unwrap();
        assert!(Cursor::load(&p, "x").is_err());
    }

    #[test]
    fn a_cursor_outgrowing_its_slot_moves_to_a_bigger_file() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("t.cursor");
        let (mut f, _) = CursorFile::open(&p, "u").unwrap();
        f.save(&cursor(1)).unwrap();
        let mut big = cursor(2);
        for i in 0..200 {
            big.databases
                .entry(format!("db{i}"))
                .or_default()
                .insert("2026-12-06".into(), StreamPos { offset: i, skip: 0 });
        }
        f.save(&big).unwrap();
        let len = std::fs::metadata(&p).unwrap().len();
        assert!(len > 2 * MIN_SLOT, "{len}");
        assert_eq!(Cursor::load(&p, "u").unwrap(), big);
        f.save(&cursor(3)).unwrap();
        assert_eq!(std::fs::metadata(&p).unwrap().len(), len);
        assert_eq!(Cursor::load(&p, "u").unwrap(), cursor(3));
    }
}
