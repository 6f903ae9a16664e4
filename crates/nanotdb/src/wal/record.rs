//! The record codec: one compact-v2 record per sample (docs/FORMATS.md §4.2–§4.3).

use crate::varint;

/// Largest delta a record can carry relative to the baseline (2²⁴ − 1 ns).
pub const MAX_DELTA: i64 = (1 << 24) - 1;
pub(super) const FLAG_BASELINE: u8 = 0x80;
pub(super) const FLAG_NEW_METRIC: u8 = 0x40;

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

    /// The time baseline later records are relative to.
    pub fn baseline(&self) -> Option<i64> {
        self.baseline
    }

    /// Goes back to an earlier baseline, when the records that set a newer
    /// one were dropped (a failed write is cut off the file again).
    pub(crate) fn restore_baseline(&mut self, baseline: Option<i64>) {
        self.baseline = baseline;
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

/// One decoded payload.
pub(super) enum Payload {
    Record(WalRecord),
    MissingBaseline,
}

/// Decodes one record payload (without its length prefix), keeping the
/// running baseline.
pub(super) fn decode_payload(p: &[u8], baseline: &mut Option<i64>) -> Result<Payload, String> {
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
