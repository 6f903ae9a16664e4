//! Reading a WAL file: decode records until the end or the first record
//! that cannot be decoded (docs/FORMATS.md §4.4, §4.9).

use std::fmt;

use super::record::{Payload, WalRecord, decode_payload};
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

/// Result of scanning a WAL file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WalScan {
    /// Decoded records with their offsets.
    pub records: Vec<(u64, WalRecord)>,
    /// End of the last decodable (or skipped) record.
    pub good_len: u64,
    /// Bytes scanned.
    pub file_len: u64,
    /// Records skipped because no baseline preceded them.
    pub skipped_missing_baseline: usize,
    /// Set when decoding stopped before the end.
    pub stop: Option<WalStop>,
}

/// Decodes records from the start of `bytes` until the end or the first
/// undecodable record. Records without a baseline before any baseline are
/// skipped (and counted), as in the reference.
pub fn scan_wal(bytes: &[u8]) -> WalScan {
    let mut scan = WalScan {
        file_len: bytes.len() as u64,
        ..WalScan::default()
    };
    let mut baseline = None;
    let mut off = 0usize;
    while off < bytes.len() {
        let stop = |reason| {
            Some(WalStop {
                offset: off as u64,
                reason,
            })
        };
        let Some((len, vlen)) = varint::decode(&bytes[off..]) else {
            scan.stop = stop(WalStopReason::InvalidLengthVarint);
            break;
        };
        let available = (bytes.len() - off - vlen) as u64;
        if len > available {
            scan.stop = stop(WalStopReason::TruncatedPayload {
                declared: len,
                available,
            });
            break;
        }
        let start = off + vlen;
        let payload = &bytes[start..start + len as usize];
        match decode_payload(payload, &mut baseline) {
            Ok(Payload::Record(r)) => scan.records.push((off as u64, r)),
            Ok(Payload::MissingBaseline) => scan.skipped_missing_baseline += 1,
            Err(e) => {
                scan.stop = stop(WalStopReason::Decode(e));
                break;
            }
        }
        off = start + len as usize;
        scan.good_len = off as u64;
    }
    scan
}
