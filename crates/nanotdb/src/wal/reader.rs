//! Reading a WAL file: decode records until the end or the first record
//! that cannot be decoded (docs/FORMATS.md §4.4, §4.9).

use std::fmt;

use super::record::{
    FLAG_CHECKSUM, FLAG_LONG_NAME, FLAG_NEW_METRIC, Group, Payload, WalRecord, decode_payload,
};
use crate::varint;

/// Why a scan stopped before the end of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WalStopReason {
    /// The length prefix is incomplete or overflows.
    InvalidLengthVarint,
    /// The record is longer than the bytes left.
    TruncatedPayload {
        /// Declared payload length.
        declared: u64,
        /// Bytes available after the prefix.
        available: u64,
    },
    /// The payload does not decode.
    Decode(String),
}

impl fmt::Display for WalStopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WalStopReason::InvalidLengthVarint => f.write_str("invalid length varint"),
            WalStopReason::TruncatedPayload {
                declared,
                available,
            } => write!(
                f,
                "truncated payload ({declared} bytes declared, {available} available)"
            ),
            WalStopReason::Decode(e) => write!(f, "decode error: {e}"),
        }
    }
}

/// Where and why a scan stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalStop {
    /// Offset of the record that could not be decoded.
    pub offset: u64,
    /// Why.
    pub reason: WalStopReason,
}

/// A damaged stretch inside the file, after which the scan found the next
/// intact checksummed record and went on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalDamage {
    /// Offset of the first byte that did not decode.
    pub offset: u64,
    /// Bytes skipped up to the next intact record.
    pub len: u64,
    /// Why the record at `offset` did not decode.
    pub reason: WalStopReason,
}

/// Result of scanning a WAL file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WalScan {
    /// Records to replay, with their offsets: every v1.4.0 record, and the
    /// checked records of every write group that ended (and, for a batch
    /// spanning databases, committed).
    pub records: Vec<(u64, WalRecord)>,
    /// Bytes to keep: the end of the last record that is not part of a
    /// group left open at the end of the file or before the undecodable tail.
    pub good_len: u64,
    /// Bytes scanned.
    pub file_len: u64,
    /// Records skipped because no baseline preceded them (at the start, or
    /// after a damaged stretch until the next record carrying a baseline).
    pub skipped_missing_baseline: usize,
    /// Set when decoding stopped before the end, with nothing intact after.
    pub stop: Option<WalStop>,
    /// Damaged stretches inside the file; the records after each were kept.
    pub damage: Vec<WalDamage>,
    /// Records of a write group that never ended (a write cut short by a
    /// crash or a full disk: never acknowledged).
    pub discarded_torn: usize,
    /// Records of batches spanning databases whose commit is not recorded.
    pub discarded_uncommitted: usize,
    /// Some group carried a batch id: the WAL should be rewritten once
    /// replayed, so the root's commit log can forget the batch.
    pub has_batch_ids: bool,
    /// The file holds checksummed records (written by this implementation):
    /// records without a checksum in it are damage.
    pub checked: bool,
    /// Records of a file with damage that repeat an earlier record's metric,
    /// timestamp and value (a stretch copied over the file), dropped.
    pub discarded_duplicates: usize,
}

/// Decodes records from the start of `bytes` (see [`scan_wal_with`]),
/// taking every batch spanning databases as committed: what the file holds,
/// for inspection.
pub fn scan_wal(bytes: &[u8]) -> WalScan {
    scan_wal_with(bytes, &|_| true)
}

/// Longest checksummed payload with a one-byte name length (a 255-byte name).
const MAX_SHORT_CHECKED_PAYLOAD: u64 = 6 + 8 + 257 + 8 + 8 + 4;
/// Longest checksummed payload: the fixed part (6), baseline (8), a
/// two-byte name length, a 4096-byte name and type (flag L, 4099), value
/// and its high word (8), batch id (8), CRC (4).
const MAX_CHECKED_PAYLOAD: u64 = 6 + 8 + (3 + super::record::LONG_NAME_MAX as u64) + 8 + 8 + 4;

/// Decodes records from the start of `bytes` until the end. Records without
/// a baseline before any baseline are skipped (and counted), as in the
/// reference. At a record that does not decode, the scan looks for the next
/// intact checksummed record and goes on from there (with no baseline), so
/// damage in the middle costs only the records it touched; with nothing
/// intact after it, the rest is the undecodable tail (`stop`). Checked
/// records are kept only when their group ends, and a group carrying a
/// batch id only when `committed` says so.
pub fn scan_wal_with(bytes: &[u8], committed: &dyn Fn(u64) -> bool) -> WalScan {
    let mut scan = WalScan {
        file_len: bytes.len() as u64,
        ..WalScan::default()
    };
    let mut baseline = None;
    // A file of ours starts with a record of ours (the writer rewrites a
    // v1.4.0 WAL before appending to it); only when the first record is
    // damaged is the rest searched for one (a search over a whole v1.4.0
    // file could meet a chance CRC match).
    let strict = match decode_at(bytes, 0, &mut None, false) {
        Ok((_, Group::Checked { .. }, _)) => true,
        Ok(_) => false,
        Err(_) => resync(bytes, 0).is_some(),
    };
    scan.checked = strict;
    let mut open: Vec<(u64, WalRecord)> = Vec::new();
    let mut open_len = 0usize;
    // Index ranges in `records` of groups cut by damage.
    let mut cut_groups: Vec<std::ops::Range<usize>> = Vec::new();
    let mut off = 0usize;
    while off < bytes.len() {
        let (payload, group, next) = match decode_at(bytes, off, &mut baseline, strict) {
            Ok(d) => d,
            Err(reason) => {
                let Some(at) = resync(bytes, off + 1) else {
                    scan.stop = Some(WalStop {
                        offset: off as u64,
                        reason,
                    });
                    break;
                };
                scan.damage.push(WalDamage {
                    offset: off as u64,
                    len: (at - off) as u64,
                    reason,
                });
                // The intact records of a group the damage cut are kept on
                // their own (they were written whole before the file was
                // damaged) — unless the file holds batches spanning
                // databases: the cut group may be one whose commit cannot be
                // checked any more (its id is on its last record), and such
                // a batch must not be replayed in part. What follows starts
                // a new group.
                if open_len > 0 {
                    let from = scan.records.len();
                    scan.records.append(&mut open);
                    cut_groups.push(from..scan.records.len());
                    open_len = 0;
                }
                baseline = None;
                off = at;
                continue;
            }
        };
        let record = match payload {
            Payload::Record(r, _) => Some((off as u64, r)),
            Payload::MissingBaseline(_) => {
                scan.skipped_missing_baseline += 1;
                None
            }
        };
        match group {
            Group::Legacy => {
                // Only a foreign writer appends after a group cut short.
                scan.discarded_torn += std::mem::take(&mut open).len();
                open_len = 0;
                scan.records.extend(record);
                scan.good_len = next as u64;
            }
            Group::Checked { end, batch } => {
                open.extend(record);
                open_len += 1;
                if end {
                    scan.has_batch_ids |= batch.is_some();
                    if batch.is_none_or(committed) {
                        scan.records.append(&mut open);
                    } else {
                        scan.discarded_uncommitted += open.len();
                        open.clear();
                    }
                    open_len = 0;
                    scan.good_len = next as u64;
                }
            }
        }
        off = next;
    }
    if open_len > 0 {
        scan.discarded_torn += open.len();
    }
    if scan.has_batch_ids {
        // Backwards, so earlier ranges keep their indices.
        for r in cut_groups.into_iter().rev() {
            scan.discarded_uncommitted += r.len();
            scan.records.drain(r);
        }
    }
    if !scan.damage.is_empty() {
        drop_copied_records(&mut scan);
    }
    scan
}

/// In a damaged file, a record that decodes to the same metric, timestamp
/// and value as an earlier one is a copy of it (a stretch of the file
/// written over another part), not a second write: it is replayed once.
/// Copies need not start at a group boundary, so records are compared by
/// what they decode to, not by their bytes (which differ only in the
/// baseline encoding).
fn drop_copied_records(scan: &mut WalScan) {
    let mut seen = std::collections::HashSet::new();
    let before = scan.records.len();
    scan.records
        .retain(|(_, r)| seen.insert((r.metric_id, r.ts, r.value.bits(), r.value.is_wide())));
    scan.discarded_duplicates = before - scan.records.len();
}

/// Decodes the record at `off`: its payload, group and where the next
/// record starts.
fn decode_at(
    bytes: &[u8],
    off: usize,
    baseline: &mut Option<i64>,
    strict: bool,
) -> Result<(Payload, Group, usize), WalStopReason> {
    let (len, vlen) = varint::decode(&bytes[off..]).ok_or(WalStopReason::InvalidLengthVarint)?;
    let available = (bytes.len() - off - vlen) as u64;
    if len > available {
        return Err(WalStopReason::TruncatedPayload {
            declared: len,
            available,
        });
    }
    let start = off + vlen;
    let end = start + len as usize;
    let payload =
        decode_payload(&bytes[start..end], baseline, strict).map_err(WalStopReason::Decode)?;
    let group = match &payload {
        Payload::Record(_, g) | Payload::MissingBaseline(g) => *g,
    };
    Ok((payload, group, end))
}

/// The offset of the next intact checksummed record at or after `from`.
fn resync(bytes: &[u8], from: usize) -> Option<usize> {
    (from..bytes.len()).find(|&at| {
        let Some((len, vlen)) = varint::decode(&bytes[at..]) else {
            return false;
        };
        if !(14..=MAX_CHECKED_PAYLOAD).contains(&len) {
            return false;
        }
        let start = at + vlen;
        let Some(p) = bytes.get(start..start + len as usize) else {
            return false;
        };
        // Only a long-name record (flags L and N) is longer than the
        // longest short one: a cheap test before the CRC over up to 4 KiB.
        let long = FLAG_LONG_NAME | FLAG_NEW_METRIC;
        if len > MAX_SHORT_CHECKED_PAYLOAD && p[5] & long != long {
            return false;
        }
        let mut no_baseline = None;
        p[5] & FLAG_CHECKSUM != 0 && decode_payload(p, &mut no_baseline, true).is_ok()
    })
}
