//! Offline maintenance of raw files: recompaction and recovery of damaged
//! files (docs/BEHAVIOUR.md §1.14, docs/FORMATS.md §3.7–3.8).

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use super::*;
use crate::frame::DecodedFrame;

/// What a recompaction did.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RecompactReport {
    /// Database.
    pub database: String,
    /// Partition key.
    pub part: String,
    /// The data file.
    pub path: PathBuf,
    /// Frames before.
    pub old_frames: u64,
    /// Frames after.
    pub new_frames: u64,
    /// Records before.
    pub old_records: u64,
    /// Records after (equal to before).
    pub new_records: u64,
    /// Bytes before.
    pub old_bytes: u64,
    /// Bytes after.
    pub new_bytes: u64,
    /// Wall time.
    pub duration_ms: u64,
}

/// What a recovery did.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RecoverReport {
    /// Database.
    pub database: String,
    /// Partition key.
    pub part: String,
    /// The damaged file.
    pub source_path: PathBuf,
    /// The file written.
    pub output_path: PathBuf,
    /// Size of the source.
    pub source_bytes: u64,
    /// Size of the output.
    pub output_bytes: u64,
    /// Intact frames copied.
    pub recovered_frames: u64,
    /// Records in them.
    pub recovered_records: u64,
    /// Bytes that belonged to no intact frame.
    pub skipped_bytes: u64,
    /// Intact frames refused (other partition, or not newer than the last kept).
    pub rejected_frames: u64,
    /// Offset of the first frame kept.
    pub first_accepted_offset: Option<u64>,
    /// Offset of the last frame kept.
    pub last_accepted_offset: Option<u64>,
    /// Wall time.
    pub duration_ms: u64,
}

impl Database {
    /// Checks a partition key given by a user against this database's mode.
    pub fn validate_part(&self, part: &str) -> Result<String> {
        let part = part.trim();
        let err = |reason: String| Error::InvalidPartitionKey {
            db: self.name.clone(),
            key: part.to_string(),
            reason,
        };
        let invalid = || err(format!("invalid partition key: {part:?}"));
        if part.is_empty() || part.contains(['/', '\\']) {
            return Err(invalid());
        }
        let (_, start, _) = time::parse_partition_key(part).ok_or_else(invalid)?;
        let want = time::partition_key(self.manifest.retention.partition, start);
        if want != part {
            return Err(err(format!(
                "partition {part:?} does not match database partitioning (want {want})"
            )));
        }
        Ok(part.to_string())
    }

    fn refuse_open(&self, st: &DbState, part: &str) -> Result<()> {
        if st
            .open
            .get(part)
            .and_then(|p| p.page.as_ref())
            .is_some_and(|p| !p.is_empty())
        {
            return Err(Error::DataFileActive {
                db: self.name.clone(),
                part: part.to_string(),
            });
        }
        Ok(())
    }

    /// Rewrites `data-<part>.dat` with full pages (manifest limits, no age
    /// limit), atomically. Every frame must decode and pass the strict
    /// checks; a sample older than its page's last starts a new page.
    pub fn recompact(&self, st: &mut DbState, part: &str) -> Result<RecompactReport> {
        let started = Instant::now();
        let part = self.validate_part(part)?;
        self.refuse_open(st, &part)?;
        if self.settings.read_only {
            return Err(Error::ReadOnly);
        }
        let path = self.data_path(&part);
        let bytes = fs::read(&path).at(&path)?;
        let scan = datafile::scan_bytes(&bytes, true);
        if let Some(d) = &scan.damage {
            return Err(Error::Corrupt {
                path: path.clone(),
                offset: d.offset,
                reason: format!("recompact: {} (run recover first)", d.reason),
            });
        }
        let mut out = Vec::with_capacity(bytes.len());
        let mut scratch = Vec::new();
        let mut buf = DecodedFrame::default();
        let (mut ids, mut ts, mut vals) = (Vec::new(), Vec::new(), Vec::new());
        // Per record: 8 bytes wide (docs/FORMATS.md §3.9), kept as decoded.
        let mut wide: Vec<bool> = Vec::new();
        let max_records = self.limits.max_records as usize;
        let max_bytes = self.limits.max_bytes as usize;
        let mut new_frames = 0u64;
        let mut records = 0u64;
        let mut emit = |ids: &mut Vec<u16>,
                        ts: &mut Vec<i64>,
                        vals: &mut Vec<u64>,
                        wide: &mut Vec<bool>,
                        out: &mut Vec<u8>|
         -> Result<()> {
            if ids.is_empty() {
                return Ok(());
            }
            frame::encode_frame(ids, ts, vals, |i| wide[i], &mut scratch, out).map_err(|e| {
                Error::Corrupt {
                    path: path.clone(),
                    offset: 0,
                    reason: format!("recompact: {e}"),
                }
            })?;
            new_frames += 1;
            ids.clear();
            ts.clear();
            vals.clear();
            wide.clear();
            Ok(())
        };
        for fi in &scan.frames {
            let s = fi.offset as usize + fi.header.header_len;
            let c = fi.header.clen as usize;
            let crc = u32::from_le_bytes([
                bytes[s + c],
                bytes[s + c + 1],
                bytes[s + c + 2],
                bytes[s + c + 3],
            ]);
            frame::decode_frame_into(&fi.header, &bytes[s..s + c], crc, &mut buf)
                .and_then(|()| buf.validate_strict(&fi.header))
                .map_err(|e| Error::Corrupt {
                    path: path.clone(),
                    offset: fi.offset,
                    reason: format!("invalid source page: {e}"),
                })?;
            for i in 0..buf.len() {
                if ts.last().is_some_and(|&l| buf.ts(i) < l) {
                    emit(&mut ids, &mut ts, &mut vals, &mut wide, &mut out)?;
                }
                ids.push(buf.id(i));
                ts.push(buf.ts(i));
                vals.push(buf.val(i));
                wide.push(buf.is_wide(i));
                records += 1;
                if ids.len() >= max_records || ids.len() * frame::RECORD_BYTES >= max_bytes {
                    emit(&mut ids, &mut ts, &mut vals, &mut wide, &mut out)?;
                }
            }
        }
        emit(&mut ids, &mut ts, &mut vals, &mut wide, &mut out)?;
        write_atomic_named(&path, "recompact.tmp", &out)?;
        self.frames.forget(&path);
        if let Some(p) = st.open.get_mut(&part) {
            p.file = None;
        }
        st.files.entry(part.clone()).or_default().data_len = Some(out.len() as u64);
        self.settings.forward.note_appended();
        self.forget_metric(&part);
        Ok(RecompactReport {
            database: self.name.clone(),
            part,
            path,
            old_frames: scan.frames.len() as u64,
            new_frames,
            old_records: records,
            new_records: records,
            old_bytes: bytes.len() as u64,
            new_bytes: out.len() as u64,
            duration_ms: started.elapsed().as_millis() as u64,
        })
    }

    /// Copies the intact frames of a damaged `data-<part>.dat` (or
    /// `raw-<part>.dat`) into `out`, written atomically; the source is not
    /// modified. Memory is bounded by the source size.
    pub fn recover(&self, st: &DbState, part: &str, out: &Path) -> Result<RecoverReport> {
        let started = Instant::now();
        let part = self.validate_part(part)?;
        self.refuse_open(st, &part)?;
        let source = if self.data_path(&part).exists() {
            self.data_path(&part)
        } else {
            self.raw_path(&part)
        };
        let out = std::path::absolute(out).at(out)?;
        if out == source {
            return Err(Error::Corrupt {
                path: out,
                offset: 0,
                reason: "output path must differ from source path".into(),
            });
        }
        let bytes = fs::read(&source).at(&source)?;
        let mode = self.manifest.retention.partition;
        let in_part = |ts: i64| time::partition_key(mode, ts) == part;
        let scan = datafile::recover_frames(&bytes, |h| in_part(h.start_ts) && in_part(h.end_ts));
        if scan.frames.is_empty() {
            return Err(Error::Corrupt {
                path: source,
                offset: 0,
                reason: "no valid pages recovered".into(),
            });
        }
        let mut data = Vec::with_capacity(bytes.len());
        for f in &scan.frames {
            let s = f.offset as usize;
            data.extend_from_slice(&bytes[s..s + f.header.frame_len() as usize]);
        }
        if let Some(parent) = out.parent() {
            fs::create_dir_all(parent).at(parent)?;
        }
        write_atomic_named(&out, "recompact.tmp", &data)?;
        Ok(RecoverReport {
            database: self.name.clone(),
            part,
            source_path: source,
            output_path: out,
            source_bytes: bytes.len() as u64,
            output_bytes: data.len() as u64,
            recovered_frames: scan.frames.len() as u64,
            recovered_records: scan.records,
            skipped_bytes: scan.skipped_bytes,
            rejected_frames: scan.rejected_frames,
            first_accepted_offset: scan.frames.first().map(|f| f.offset),
            last_accepted_offset: scan.frames.last().map(|f| f.offset),
            duration_ms: started.elapsed().as_millis() as u64,
        })
    }
}

/// Writes `bytes` to `<path>.<suffix>`, fsyncs, renames over `path`, and
/// fsyncs the directory.
fn write_atomic_named(path: &Path, suffix: &str, bytes: &[u8]) -> Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".");
    tmp.push(suffix);
    let tmp = PathBuf::from(tmp);
    {
        let mut f = File::create(&tmp).at(&tmp)?;
        f.write_all(bytes).at(&tmp)?;
        f.sync_all().at(&tmp)?;
    }
    fs::rename(&tmp, path).at(path)?;
    fsutil::sync_parent(path)
}
