//! Read-only inspection of files, for tools (`nanocli inspect`, the engine
//! view API). Nothing here opens a database or writes anything.

use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::datafile;
use crate::error::{Error, IoContext, Result};
use crate::wal;

/// One frame of a raw data file, from its header only.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FrameSummary {
    /// 0-based frame number.
    pub index: usize,
    /// Byte offset of the frame.
    pub offset: u64,
    /// Whole frame size (header, block, CRC).
    pub frame_bytes: u64,
    /// Compressed block size.
    pub compressed_len: u64,
    /// Records in the frame.
    pub records: u64,
    /// Header start timestamp.
    pub start_ts: i64,
    /// Header end timestamp.
    pub end_ts: i64,
}

/// Where and why a file stops being readable.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DamageReport {
    /// Byte offset where the damage starts.
    pub offset: u64,
    /// Frame (or record) number at that offset.
    pub index: usize,
    /// What is wrong.
    pub reason: String,
    /// Bytes from the damage to the end of the file.
    pub bytes: u64,
}

/// Header walk of a raw data file (`data-`/`raw-<p>.dat`), no decompression
/// except the last frame (to notice a torn write).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DataFileReport {
    /// The file.
    pub path: PathBuf,
    /// File size.
    pub bytes: u64,
    /// Bytes of intact frames.
    pub valid_bytes: u64,
    /// Intact frames.
    pub frames: Vec<FrameSummary>,
    /// Records in the intact frames.
    pub records: u64,
    /// Smallest frame start timestamp.
    pub min_ts: Option<i64>,
    /// Largest frame end timestamp.
    pub max_ts: Option<i64>,
    /// Damage, if the file does not end cleanly.
    pub damage: Option<DamageReport>,
}

/// Scans a raw data file's frame headers.
pub fn data_file(path: &Path) -> Result<DataFileReport> {
    let scan = datafile::scan_file(path, true).at(path)?;
    let frames: Vec<FrameSummary> = scan
        .frames
        .iter()
        .enumerate()
        .map(|(i, f)| FrameSummary {
            index: i,
            offset: f.offset,
            frame_bytes: f.header.frame_len(),
            compressed_len: f.header.clen,
            records: u64::from(f.header.count),
            start_ts: f.header.start_ts,
            end_ts: f.header.end_ts,
        })
        .collect();
    Ok(DataFileReport {
        path: path.to_path_buf(),
        bytes: scan.file_len,
        valid_bytes: scan.valid_len,
        records: frames.iter().map(|f| f.records).sum(),
        min_ts: frames.iter().map(|f| f.start_ts).min(),
        max_ts: frames.iter().map(|f| f.end_ts).max(),
        damage: scan.damage.as_ref().map(|d| DamageReport {
            offset: d.offset,
            index: d.frame_index,
            reason: d.reason.clone(),
            bytes: scan.file_len.saturating_sub(d.offset),
        }),
        frames,
    })
}

/// A decoded WAL record with its offset.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct WalRecordSummary {
    /// Byte offset of the record.
    pub offset: u64,
    /// Metric id.
    pub metric_id: u16,
    /// Metric name when the record carries it.
    pub name: Option<String>,
    /// Timestamp.
    pub ts: i64,
    /// The value bytes as a little-endian integer: 4 bytes, or 8 for a
    /// float64/int64 metric (the type is in the catalog).
    pub value_bits: u64,
}

/// Walk of a WAL file with tail diagnostics.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct WalFileReport {
    /// The file.
    pub path: PathBuf,
    /// File size.
    pub bytes: u64,
    /// Bytes of decodable records.
    pub decoded_bytes: u64,
    /// Decodable records.
    pub records: u64,
    /// Leading records skipped because no baseline preceded them.
    pub skipped_missing_baseline: u64,
    /// Smallest record timestamp.
    pub min_ts: Option<i64>,
    /// Largest record timestamp.
    pub max_ts: Option<i64>,
    /// Where and why decoding stopped before the end of the file.
    pub stop: Option<DamageReport>,
    /// The records (only with `with_records`).
    pub record_list: Vec<WalRecordSummary>,
}

/// Decodes a WAL file until its first undecodable record.
pub fn wal_file(path: &Path, with_records: bool) -> Result<WalFileReport> {
    let bytes = fs::read(path).at(path)?;
    let scan = wal::scan_wal(&bytes);
    Ok(WalFileReport {
        path: path.to_path_buf(),
        bytes: bytes.len() as u64,
        decoded_bytes: scan.good_len,
        records: scan.records.len() as u64,
        skipped_missing_baseline: scan.skipped_missing_baseline as u64,
        min_ts: scan.records.iter().map(|r| r.1.ts).min(),
        max_ts: scan.records.iter().map(|r| r.1.ts).max(),
        stop: scan.stop.as_ref().map(|s| DamageReport {
            offset: s.offset,
            index: scan.records.len(),
            reason: s.reason.to_string(),
            bytes: (bytes.len() as u64).saturating_sub(s.offset),
        }),
        record_list: if with_records {
            scan.records
                .iter()
                .map(|(off, r)| WalRecordSummary {
                    offset: *off,
                    metric_id: r.metric_id,
                    name: r.new_metric.as_ref().map(|n| n.name.clone()),
                    ts: r.ts,
                    value_bits: r.value.bits(),
                })
                .collect()
        } else {
            Vec::new()
        },
    })
}

/// Fails with `DatabaseNotFound` when `dir` is not a directory.
pub fn require_dir(dir: &Path, db: &str) -> Result<()> {
    if dir.is_dir() {
        Ok(())
    } else {
        Err(Error::DatabaseNotFound(db.to_string()))
    }
}
