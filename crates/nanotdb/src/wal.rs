//! The write-ahead log's compact-v2 records (docs/FORMATS.md §4.2–4.4).
//!
//! ```text
//! uvarint(len) | id u16 | ts_delta u24 | flags u8 [| baseline i64] [| name_len u8 | name | type u8] | value [4]
//! ```
//! Flag `0x80` (B) carries a new time baseline, `0x40` (N) the metric's name
//! and type. Records have no checksum: a scan stops at the first record that
//! cannot be decoded, and reports where and why.

use std::fmt;

use crate::varint;

/// Largest delta a record can carry relative to the baseline (2²⁴ − 1 ns).
pub const MAX_DELTA: i64 = (1 << 24) - 1;
const FLAG_BASELINE: u8 = 0x80;
const FLAG_NEW_METRIC: u8 = 0x40;

/// Why a record cannot be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WalError {
    /// The name's length does not fit the record's one-byte length field.
    #[error("metric name of {len} bytes is longer than the WAL's 255-byte limit")]
    NameTooLong {
        /// Length in bytes.
        len: usize,
    },
    /// Empty metric name.
    #[error("empty metric name")]
    EmptyName,
}

/// Name and type carried by the first record of a metric.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMetric {
    /// Metric name (valid UTF-8; other bytes are a decode error).
    pub name: String,
    /// Value type code (1 int32, 2 float32).
    pub value_type: u8,
}

/// A decoded record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalRecord {
    /// Catalog id of the metric.
    pub metric_id: u16,
    /// Absolute timestamp.
    pub ts: i64,
    /// The 4 value bytes as a little-endian u32 (the type is in the catalog).
    pub value: u32,
    /// Present when the record introduces the metric.
    pub new_metric: Option<NewMetric>,
}

/// Encoder holding the shared time baseline of one WAL file.
#[derive(Debug, Clone, Default)]
pub struct WalEncoder {
    baseline: Option<i64>,
}

impl WalEncoder {
    /// A fresh encoder (no baseline: the first record carries one).
    pub fn new() -> WalEncoder {
        WalEncoder { baseline: None }
    }

    /// Forgets the baseline, as after a WAL reset.
    pub fn reset(&mut self) {
        self.baseline = None;
    }

    /// Appends one record to `out` following the reference's baseline rules:
    /// a new baseline when none is set, time goes backwards, or the delta
    /// exceeds 2²⁴ − 1 ns.
    pub fn encode(
        &mut self,
        metric_id: u16,
        ts: i64,
        value: u32,
        new_metric: Option<(&str, u8)>,
        out: &mut Vec<u8>,
    ) -> Result<(), WalError> {
        if let Some((name, _)) = new_metric {
            if name.is_empty() {
                return Err(WalError::EmptyName);
            }
            if name.len() > 255 {
                return Err(WalError::NameTooLong { len: name.len() });
            }
        }
        let (flags_b, delta) = match self.baseline {
            Some(b)
                if ts
                    .checked_sub(b)
                    .is_some_and(|d| (0..=MAX_DELTA).contains(&d)) =>
            {
                (0u8, (ts - b) as u32)
            }
            _ => {
                self.baseline = Some(ts);
                (FLAG_BASELINE, 0)
            }
        };
        let mut len = 10usize;
        if flags_b != 0 {
            len += 8;
        }
        if let Some((name, _)) = new_metric {
            len += 2 + name.len();
        }
        varint::encode(len as u64, out);
        out.extend_from_slice(&metric_id.to_le_bytes());
        out.extend_from_slice(&delta.to_le_bytes()[..3]);
        let flags = flags_b
            | if new_metric.is_some() {
                FLAG_NEW_METRIC
            } else {
                0
            };
        out.push(flags);
        if flags_b != 0 {
            out.extend_from_slice(&ts.to_le_bytes());
        }
        if let Some((name, vt)) = new_metric {
            out.push(name.len() as u8);
            out.extend_from_slice(name.as_bytes());
            out.push(vt);
        }
        out.extend_from_slice(&value.to_le_bytes());
        Ok(())
    }
}

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

enum Payload {
    Record(WalRecord),
    MissingBaseline,
}

fn decode_payload(p: &[u8], baseline: &mut Option<i64>) -> Result<Payload, String> {
    if p.len() < 10 {
        return Err(format!("payload of {} bytes is shorter than 10", p.len()));
    }
    let metric_id = u16::from_le_bytes([p[0], p[1]]);
    let delta = i64::from(u32::from_le_bytes([p[2], p[3], p[4], 0]));
    let flags = p[5];
    let mut at = 6usize;
    let ts = if flags & FLAG_BASELINE != 0 {
        let b = p.get(at..at + 8).ok_or("missing baseline bytes")?;
        at += 8;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        i64::from_le_bytes(a)
    } else {
        match *baseline {
            Some(b) => b.wrapping_add(delta),
            None => return Ok(Payload::MissingBaseline),
        }
    };
    let new_metric = if flags & FLAG_NEW_METRIC != 0 {
        let len = usize::from(*p.get(at).ok_or("missing metric name length")?);
        at += 1;
        let name = p.get(at..at + len).ok_or("truncated metric name")?;
        at += len;
        let name = std::str::from_utf8(name)
            .map_err(|_| "metric name is not valid UTF-8".to_string())?
            .to_string();
        let vt = *p.get(at).ok_or("missing value type")?;
        at += 1;
        if vt != 1 && vt != 2 {
            return Err(format!("invalid value type {vt}"));
        }
        Some(NewMetric {
            name,
            value_type: vt,
        })
    } else {
        None
    };
    let v = p.get(at..at + 4).ok_or("missing value bytes")?;
    let value = u32::from_le_bytes([v[0], v[1], v[2], v[3]]);
    if flags & FLAG_BASELINE != 0 {
        *baseline = Some(ts);
    }
    Ok(Payload::Record(WalRecord {
        metric_id,
        ts,
        value,
        new_metric,
    }))
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const TS: i64 = 1_715_000_000_000_000_000;

    /// docs/FORMATS.md §4.2's example records.
    const EXAMPLE: [u8; 35] = [
        0x17, 0x01, 0x00, 0x00, 0x00, 0x00, 0xc0, 0x00, 0x80, 0xcb, 0xdd, 0x69, 0xe7, 0xcc, 0x17,
        0x03, 0x63, 0x70, 0x75, 0x01, 0x2a, 0x00, 0x00, 0x00, 0x0a, 0x01, 0x00, 0xe8, 0x03, 0x00,
        0x00, 0x2b, 0x00, 0x00, 0x00,
    ];

    #[test]
    fn spec_example_encodes_and_decodes() {
        let mut e = WalEncoder::new();
        let mut out = Vec::new();
        e.encode(1, TS, 42, Some(("cpu", 1)), &mut out).unwrap();
        e.encode(1, TS + 1000, 43, None, &mut out).unwrap();
        assert_eq!(out, EXAMPLE);
        let s = scan_wal(&out);
        assert_eq!(s.good_len, 35);
        assert!(s.stop.is_none());
        assert_eq!(
            s.records,
            vec![
                (
                    0,
                    WalRecord {
                        metric_id: 1,
                        ts: TS,
                        value: 42,
                        new_metric: Some(NewMetric {
                            name: "cpu".into(),
                            value_type: 1
                        })
                    }
                ),
                (
                    24,
                    WalRecord {
                        metric_id: 1,
                        ts: TS + 1000,
                        value: 43,
                        new_metric: None
                    }
                ),
            ]
        );
    }

    #[test]
    fn baseline_rules() {
        let mut e = WalEncoder::new();
        let mut out = Vec::new();
        e.encode(1, 100, 0, None, &mut out).unwrap();
        assert_eq!(out.len(), 19, "first record carries a baseline");
        out.clear();
        e.encode(1, 100 + MAX_DELTA, 0, None, &mut out).unwrap();
        assert_eq!(out.len(), 11, "delta 2^24-1 fits");
        out.clear();
        e.encode(1, 100 + MAX_DELTA + 1, 0, None, &mut out).unwrap();
        assert_eq!(out.len(), 19, "delta 2^24 needs a new baseline");
        out.clear();
        e.encode(1, 50, 0, None, &mut out).unwrap();
        assert_eq!(out.len(), 19, "time going backwards needs a new baseline");
        out.clear();
        e.encode(1, 51, 0, None, &mut out).unwrap();
        assert_eq!(
            out.len(),
            11,
            "delta from the last baseline, not the last record"
        );
        e.reset();
        out.clear();
        e.encode(1, 52, 0, None, &mut out).unwrap();
        assert_eq!(out.len(), 19);
    }

    #[test]
    fn name_limits() {
        let mut e = WalEncoder::new();
        let mut out = Vec::new();
        e.encode(1, 1, 0, Some((&"n".repeat(255), 2)), &mut out)
            .unwrap();
        let s = scan_wal(&out);
        assert_eq!(s.records[0].1.new_metric.as_ref().unwrap().name.len(), 255);
        assert_eq!(
            e.encode(1, 1, 0, Some((&"n".repeat(256), 2)), &mut out),
            Err(WalError::NameTooLong { len: 256 })
        );
        assert_eq!(
            e.encode(1, 1, 0, Some(("", 2)), &mut out),
            Err(WalError::EmptyName)
        );
    }

    #[test]
    fn every_truncation_keeps_the_records_before_it() {
        let mut e = WalEncoder::new();
        let mut out = Vec::new();
        let mut ends = Vec::new();
        for i in 0..20 {
            e.encode(
                i % 3 + 1,
                TS + i64::from(i) * 7_000_000,
                u32::from(i),
                (i < 3).then_some(("m", 2)),
                &mut out,
            )
            .unwrap();
            ends.push(out.len());
        }
        for cut in 0..out.len() {
            let s = scan_wal(&out[..cut]);
            let complete = ends.iter().filter(|&&e| e <= cut).count();
            assert_eq!(s.records.len(), complete, "cut {cut}");
            assert_eq!(
                s.good_len as usize,
                if complete == 0 { 0 } else { ends[complete - 1] }
            );
            assert_eq!(s.stop.is_some(), cut != s.good_len as usize);
            if let Some(st) = s.stop {
                assert_eq!(st.offset, s.good_len);
                assert!(matches!(
                    st.reason,
                    WalStopReason::TruncatedPayload { .. } | WalStopReason::InvalidLengthVarint
                ));
            }
        }
    }

    #[test]
    fn decode_errors_stop_and_missing_baseline_is_skipped() {
        // A record without B first: skipped. Then a valid one.
        let mut out = vec![0x0a, 1, 0, 5, 0, 0, 0, 9, 9, 9, 9];
        WalEncoder::new().encode(2, 7, 1, None, &mut out).unwrap();
        let s = scan_wal(&out);
        assert_eq!(s.skipped_missing_baseline, 1);
        assert_eq!(s.records.len(), 1);
        assert_eq!(s.records[0].1.ts, 7);
        // Bad type byte in an N record stops the scan.
        let mut bad = Vec::new();
        WalEncoder::new()
            .encode(1, 1, 0, Some(("x", 3)), &mut bad)
            .unwrap();
        let s = scan_wal(&bad);
        assert!(s.records.is_empty());
        assert_eq!(
            s.stop.unwrap().reason,
            WalStopReason::Decode("invalid value type 3".into())
        );
        // Short payload.
        let s = scan_wal(&[0x02, 1, 2]);
        assert!(matches!(s.stop.unwrap().reason, WalStopReason::Decode(_)));
        // Garbage length.
        let s = scan_wal(&[0xff; 12]);
        assert_eq!(s.stop.unwrap().reason, WalStopReason::InvalidLengthVarint);
        let s = scan_wal(&[0xff, 0xff, 0x7f]);
        assert!(matches!(
            s.stop.unwrap().reason,
            WalStopReason::TruncatedPayload {
                declared: 2_097_151,
                available: 0
            }
        ));
    }

    #[test]
    fn extra_payload_bytes_are_ignored() {
        let mut out = Vec::new();
        WalEncoder::new().encode(1, 5, 9, None, &mut out).unwrap();
        out[0] += 2;
        out.extend_from_slice(&[0xee, 0xee]);
        let s = scan_wal(&out);
        assert_eq!(s.records.len(), 1);
        assert!(s.stop.is_none());
    }

    /// The WAL the original wrote in the `wal-replay` fixture decodes fully,
    /// and re-encoding its records reproduces it byte for byte.
    #[test]
    fn reference_wal_decodes_and_re_encodes_identically() {
        let path = crate::testutil::fixtures().join("wal-replay/root/live/live.wal");
        let bytes = std::fs::read(&path).expect("wal-replay fixture");
        let s = scan_wal(&bytes);
        assert!(s.stop.is_none());
        assert_eq!(s.skipped_missing_baseline, 0);
        assert_eq!(s.records.len(), 6429);
        let mut e = WalEncoder::new();
        let mut out = Vec::new();
        for (_, r) in &s.records {
            let nm = r
                .new_metric
                .as_ref()
                .map(|n| (n.name.as_str(), n.value_type));
            e.encode(r.metric_id, r.ts, r.value, nm, &mut out).unwrap();
        }
        assert_eq!(out, bytes);
    }

    proptest! {
        #[test]
        fn round_trip(recs in proptest::collection::vec(
            (1u16..=u16::MAX, any::<i64>(), any::<u32>(), proptest::option::of("[a-z./_]{1,255}")), 0..200)) {
            let mut e = WalEncoder::new();
            let mut out = Vec::new();
            for (id, ts, v, name) in &recs {
                e.encode(*id, *ts, *v, name.as_deref().map(|n| (n, 2)), &mut out).unwrap();
            }
            let s = scan_wal(&out);
            prop_assert!(s.stop.is_none());
            prop_assert_eq!(s.good_len, out.len() as u64);
            prop_assert_eq!(s.records.len(), recs.len());
            for ((_, r), (id, ts, v, name)) in s.records.iter().zip(&recs) {
                prop_assert_eq!(r.metric_id, *id);
                prop_assert_eq!(r.ts, *ts);
                prop_assert_eq!(r.value, *v);
                prop_assert_eq!(r.new_metric.as_ref().map(|n| n.name.clone()), name.clone());
            }
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let s = scan_wal(&bytes);
            prop_assert!(s.good_len <= bytes.len() as u64);
        }
    }
}
