//! The record codec: one compact-v2 record per sample (docs/FORMATS.md §4.2–§4.3),
//! with this implementation's extension in the flag bits v1.4.0 ignores
//! (docs/FORMATS.md §4.11): a CRC-32 of the payload, the end of a write
//! group, the id of a batch spanning databases, 4 more value bytes for
//! the 8-byte value types (docs/FORMATS.md §4.13), and a two-byte name
//! length for names longer than 255 bytes (docs/FORMATS.md §4.15).

use crate::varint;

/// Largest delta a record can carry relative to the baseline (2²⁴ − 1 ns).
pub const MAX_DELTA: i64 = (1 << 24) - 1;
pub(super) const FLAG_BASELINE: u8 = 0x80;
pub(super) const FLAG_NEW_METRIC: u8 = 0x40;
/// The payload ends with a CRC-32 (IEEE) of the payload bytes before it.
pub(super) const FLAG_CHECKSUM: u8 = 0x01;
/// The record ends a write group (requires [`FLAG_CHECKSUM`]).
pub(super) const FLAG_GROUP_END: u8 = 0x02;
/// The group-ending record carries the 8-byte id of a batch spanning
/// databases, committed only if the root's commit log names it.
pub(super) const FLAG_BATCH_ID: u8 = 0x04;
/// The value is 8 bytes: its high 4 bytes follow the v1.4.0 value field
/// (a float64 or int64 metric; requires [`FLAG_CHECKSUM`]).
pub(super) const FLAG_WIDE: u8 = 0x08;
/// The name length of an N record is 2 bytes (u16 LE) instead of 1: a name
/// longer than 255 bytes (requires [`FLAG_CHECKSUM`] and the N flag).
pub(super) const FLAG_LONG_NAME: u8 = 0x10;
/// Flag bits v1.4.0 writes as 0; ours are the five above.
const FLAGS_EXTENSION: u8 = 0x3f;
/// Longest name a record carries with v1.4.0's one-byte length.
const SHORT_NAME_MAX: usize = 255;
/// Longest name a record carries at all (the engine's limit).
pub(super) const LONG_NAME_MAX: usize = crate::names::MAX_METRIC_NAME_LEN;

/// The value a record carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WalValue {
    /// The 4 bytes of an int32 or float32 value, as v1.4.0 writes them.
    Narrow(u32),
    /// The 8 bytes of a float64 or int64 value (flag W, docs/FORMATS.md §4.13).
    Wide(u64),
}

impl WalValue {
    /// The value for stored `bits` ([`crate::Value::to_bits`]) of a metric
    /// whose type is `wide` or not.
    pub fn new(bits: u64, wide: bool) -> WalValue {
        if wide {
            WalValue::Wide(bits)
        } else {
            WalValue::Narrow(bits as u32)
        }
    }

    /// The stored bits ([`crate::Value::to_bits`]).
    pub fn bits(self) -> u64 {
        match self {
            WalValue::Narrow(v) => u64::from(v),
            WalValue::Wide(v) => v,
        }
    }

    /// True for an 8-byte value.
    pub fn is_wide(self) -> bool {
        matches!(self, WalValue::Wide(_))
    }
}

/// How a record extends the v1.4.0 layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RecordExt {
    /// Exactly the v1.4.0 bytes: no checksum, no group.
    #[default]
    Legacy,
    /// Checksummed; `end` closes a write group, `batch` (only with `end`)
    /// makes the group's fate depend on the root's commit log.
    Checked {
        /// This record ends its write group.
        end: bool,
        /// Id of the batch spanning databases this group belongs to.
        batch: Option<u64>,
    },
}

/// Why a record cannot be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WalError {
    /// The name is longer than the record can carry: 255 bytes in a v1.4.0
    /// record, 4096 in a checked one.
    #[error("metric name of {len} bytes is longer than the WAL record can carry")]
    NameTooLong {
        /// Length in bytes.
        len: usize,
    },
    /// Empty metric name.
    #[error("empty metric name")]
    EmptyName,
    /// An 8-byte value needs the checksummed record extension.
    #[error("an 8-byte value cannot be written as a v1.4.0 record")]
    WideWithoutChecksum,
}

/// Name and type carried by the first record of a metric.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMetric {
    /// Metric name (valid UTF-8; other bytes are a decode error).
    pub name: String,
    /// Value type code (1 int32, 2 float32, 3 float64, 4 int64).
    pub value_type: u8,
}

/// A decoded record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalRecord {
    /// Catalog id of the metric.
    pub metric_id: u16,
    /// Absolute timestamp.
    pub ts: i64,
    /// The value bytes (the type is in the catalog).
    pub value: WalValue,
    /// Present when the record introduces the metric.
    pub new_metric: Option<NewMetric>,
}

/// Encoder holding the shared time baseline of one WAL file.
#[derive(Debug, Clone, Default)]
pub struct WalEncoder {
    baseline: Option<i64>,
    /// A fresh checksum state, cloned per record: `crc32fast::hash` would
    /// detect the CPU's features again for every 20-byte record.
    crc: crc32fast::Hasher,
}

impl WalEncoder {
    /// A fresh encoder (no baseline: the first record carries one).
    pub fn new() -> WalEncoder {
        WalEncoder {
            baseline: None,
            crc: crc32fast::Hasher::new(),
        }
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

    /// The baseline rule for a record at `ts`: its flag byte's B bit and
    /// its delta, taking `ts` as the new baseline when the delta does not fit.
    #[inline]
    fn step(&mut self, ts: i64) -> (u8, u32) {
        match self.baseline {
            Some(b)
                if ts
                    .checked_sub(b)
                    .is_some_and(|d| (0..=MAX_DELTA).contains(&d)) =>
            {
                (0, (ts - b) as u32)
            }
            _ => {
                self.baseline = Some(ts);
                (FLAG_BASELINE, 0)
            }
        }
    }

    /// Moves the baseline as encoding a record at `ts` would, without
    /// encoding it: the record's bytes were encoded elsewhere by an encoder
    /// in the same state (`wal/prepared.rs`).
    #[inline]
    pub(crate) fn advance(&mut self, ts: i64) {
        self.step(ts);
    }

    /// Appends one record with exactly v1.4.0's bytes to `out` following
    /// the reference's baseline rules: a new baseline when none is set, time
    /// goes backwards, or the delta exceeds 2²⁴ − 1 ns.
    pub fn encode(
        &mut self,
        metric_id: u16,
        ts: i64,
        value: u32,
        new_metric: Option<(&str, u8)>,
        out: &mut Vec<u8>,
    ) -> Result<(), WalError> {
        let value = WalValue::Narrow(value);
        self.encode_ext(metric_id, ts, value, new_metric, RecordExt::Legacy, out)
    }

    /// [`WalEncoder::encode`] with this implementation's extension `ext`.
    pub fn encode_ext(
        &mut self,
        metric_id: u16,
        ts: i64,
        value: WalValue,
        new_metric: Option<(&str, u8)>,
        ext: RecordExt,
        out: &mut Vec<u8>,
    ) -> Result<(), WalError> {
        if value.is_wide() && ext == RecordExt::Legacy {
            return Err(WalError::WideWithoutChecksum);
        }
        if let Some((name, _)) = new_metric {
            if name.is_empty() {
                return Err(WalError::EmptyName);
            }
            let max = match ext {
                RecordExt::Legacy => SHORT_NAME_MAX,
                RecordExt::Checked { .. } => LONG_NAME_MAX,
            };
            if name.len() > max {
                return Err(WalError::NameTooLong { len: name.len() });
            }
        }
        let (flags_b, delta) = self.step(ts);
        let mut len = 10usize;
        if flags_b != 0 {
            len += 8;
        }
        // v1.4.0's one-byte length, unless the name needs two (flag L).
        let long_name = new_metric.is_some_and(|(name, _)| name.len() > SHORT_NAME_MAX);
        if let Some((name, _)) = new_metric {
            len += 2 + name.len() + usize::from(long_name);
        }
        let (ext_flags, batch) = match ext {
            RecordExt::Legacy => (0, None),
            RecordExt::Checked { end, batch } => {
                let batch = batch.filter(|_| end);
                len += 4 + if batch.is_some() { 8 } else { 0 };
                let end = if end { FLAG_GROUP_END } else { 0 };
                let b = if batch.is_some() { FLAG_BATCH_ID } else { 0 };
                let w = if value.is_wide() {
                    len += 4;
                    FLAG_WIDE
                } else {
                    0
                };
                let l = if long_name { FLAG_LONG_NAME } else { 0 };
                (FLAG_CHECKSUM | end | b | w | l, batch)
            }
        };
        let flags = flags_b
            | ext_flags
            | if new_metric.is_some() {
                FLAG_NEW_METRIC
            } else {
                0
            };
        // The usual record (no name) is at most 38 bytes: assembled on the
        // stack and appended in one copy instead of field by field.
        let mut fixed = StackRecord::new();
        let mut put = |b: &[u8]| fixed.put(b);
        put(&metric_id.to_le_bytes());
        put(&delta.to_le_bytes()[..3]);
        put(&[flags]);
        if flags_b != 0 {
            put(&ts.to_le_bytes());
        }
        let bits = value.bits();
        let mut tail = [0u8; 8];
        tail[..4].copy_from_slice(&(bits as u32).to_le_bytes());
        let tail_len = if value.is_wide() {
            tail[4..].copy_from_slice(&((bits >> 32) as u32).to_le_bytes());
            8
        } else {
            4
        };
        varint::encode(len as u64, out);
        let start = out.len();
        match new_metric {
            None => {
                put(&tail[..tail_len]);
                if let Some(id) = batch {
                    put(&id.to_le_bytes());
                }
                if ext_flags != 0 {
                    let mut crc = self.crc.clone();
                    crc.update(fixed.bytes());
                    let crc = crc.finalize();
                    fixed.put(&crc.to_le_bytes());
                }
                out.extend_from_slice(fixed.bytes());
            }
            Some((name, vt)) => {
                out.extend_from_slice(fixed.bytes());
                if long_name {
                    // At most LONG_NAME_MAX (checked above), so it fits a u16.
                    out.extend_from_slice(&(name.len() as u16).to_le_bytes());
                } else {
                    out.push(name.len() as u8);
                }
                out.extend_from_slice(name.as_bytes());
                out.push(vt);
                out.extend_from_slice(&tail[..tail_len]);
                if ext_flags != 0 {
                    if let Some(id) = batch {
                        out.extend_from_slice(&id.to_le_bytes());
                    }
                    let crc = crc32fast::hash(&out[start..]);
                    out.extend_from_slice(&crc.to_le_bytes());
                }
            }
        }
        Ok(())
    }
}

/// The bytes of a record without a name, built on the stack.
struct StackRecord {
    buf: [u8; 40],
    len: usize,
}

impl StackRecord {
    fn new() -> StackRecord {
        StackRecord {
            buf: [0; 40],
            len: 0,
        }
    }

    #[inline]
    fn put(&mut self, b: &[u8]) {
        self.buf[self.len..self.len + b.len()].copy_from_slice(b);
        self.len += b.len();
    }

    fn bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// What a decoded record says about its write group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Group {
    /// A v1.4.0 record: no group, applied on its own.
    Legacy,
    /// A checked record; `end` closes its group, `batch` is the id of a
    /// batch spanning databases.
    Checked { end: bool, batch: Option<u64> },
}

/// One decoded payload.
pub(super) enum Payload {
    Record(WalRecord, Group),
    /// A record without a baseline before any baseline was known.
    MissingBaseline(Group),
}

/// Decodes one record payload (without its length prefix), keeping the
/// running baseline. `strict`: the file holds records of ours, so a record
/// without a checksum is damage (a cleared flag bit), not a v1.4.0 record.
/// Either way a record without a checksum must be exactly as long as its
/// flags say: v1.4.0 never writes more, so surplus bytes mean a damaged
/// length or flags byte.
pub(super) fn decode_payload(
    p: &[u8],
    baseline: &mut Option<i64>,
    strict: bool,
) -> Result<Payload, String> {
    if p.len() < 10 {
        return Err(format!("payload of {} bytes is shorter than 10", p.len()));
    }
    let metric_id = u16::from_le_bytes([p[0], p[1]]);
    let delta = i64::from(u32::from_le_bytes([p[2], p[3], p[4], 0]));
    let flags = p[5];
    let checked = flags & FLAG_CHECKSUM != 0;
    let p = if checked {
        let body = p
            .len()
            .checked_sub(4)
            .filter(|&n| n >= 10)
            .ok_or("checksummed payload too short")?;
        let want = u32::from_le_bytes([p[body], p[body + 1], p[body + 2], p[body + 3]]);
        if crc32fast::hash(&p[..body]) != want {
            return Err("checksum mismatch".to_string());
        }
        &p[..body]
    } else {
        if strict {
            return Err("record without checksum in a file of checksummed records".to_string());
        }
        if flags & FLAGS_EXTENSION != 0 {
            return Err(format!("flags {flags:#04x} without the checksum flag"));
        }
        p
    };
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
            None => {
                return Ok(Payload::MissingBaseline(group_of(
                    flags,
                    p,
                    at_after(flags, p),
                )?));
            }
        }
    };
    if flags & FLAG_LONG_NAME != 0 && flags & FLAG_NEW_METRIC == 0 {
        return Err(format!("flags {flags:#04x}: a long name without a name"));
    }
    let new_metric = if flags & FLAG_NEW_METRIC != 0 {
        let len = if flags & FLAG_LONG_NAME != 0 {
            let b = p.get(at..at + 2).ok_or("missing metric name length")?;
            at += 2;
            let len = usize::from(u16::from_le_bytes([b[0], b[1]]));
            if !(SHORT_NAME_MAX < len && len <= LONG_NAME_MAX) {
                return Err(format!("long metric name length {len}"));
            }
            len
        } else {
            let len = usize::from(*p.get(at).ok_or("missing metric name length")?);
            at += 1;
            len
        };
        let name = p.get(at..at + len).ok_or("truncated metric name")?;
        at += len;
        let name = std::str::from_utf8(name)
            .map_err(|_| "metric name is not valid UTF-8".to_string())?
            .to_string();
        let vt = *p.get(at).ok_or("missing value type")?;
        at += 1;
        let wide = match vt {
            1 | 2 => false,
            3 | 4 => true,
            _ => return Err(format!("invalid value type {vt}")),
        };
        if wide != (flags & FLAG_WIDE != 0) {
            return Err(format!("value type {vt} with flags {flags:#04x}"));
        }
        Some(NewMetric {
            name,
            value_type: vt,
        })
    } else {
        None
    };
    let v = p.get(at..at + 4).ok_or("missing value bytes")?;
    let lo = u32::from_le_bytes([v[0], v[1], v[2], v[3]]);
    at += 4;
    let value = if flags & FLAG_WIDE != 0 {
        let v = p.get(at..at + 4).ok_or("missing high value bytes")?;
        at += 4;
        WalValue::Wide(
            u64::from(lo) | u64::from(u32::from_le_bytes([v[0], v[1], v[2], v[3]])) << 32,
        )
    } else {
        WalValue::Narrow(lo)
    };
    let group = group_of(flags, p, at)?;
    if !checked && p.len() != at {
        return Err(format!(
            "{} bytes after the value of a record without checksum",
            p.len() - at
        ));
    }
    if flags & FLAG_BASELINE != 0 {
        *baseline = Some(ts);
    }
    Ok(Payload::Record(
        WalRecord {
            metric_id,
            ts,
            value,
            new_metric,
        },
        group,
    ))
}

/// Where the value of a record without baseline ends (for
/// [`Payload::MissingBaseline`], whose fields are not decoded).
fn at_after(flags: u8, p: &[u8]) -> usize {
    let mut at = 6;
    if flags & FLAG_NEW_METRIC != 0 {
        at += if flags & FLAG_LONG_NAME != 0 {
            3 + p
                .get(at..at + 2)
                .map_or(0, |b| usize::from(u16::from_le_bytes([b[0], b[1]])))
        } else {
            2 + p.get(at).map_or(0, |&l| usize::from(l))
        };
    }
    at + if flags & FLAG_WIDE != 0 { 8 } else { 4 }
}

/// The group fields of a record whose value ends at `end` in `p` (the
/// payload without its checksum).
fn group_of(flags: u8, p: &[u8], end: usize) -> Result<Group, String> {
    if flags & FLAG_CHECKSUM == 0 {
        return Ok(Group::Legacy);
    }
    let batch_end = end + if flags & FLAG_BATCH_ID != 0 { 8 } else { 0 };
    if p.len() != batch_end {
        return Err(format!(
            "checked record of {} bytes where its flags need {batch_end}",
            p.len()
        ));
    }
    let batch = if flags & FLAG_BATCH_ID != 0 {
        let b = p.get(end..end + 8).ok_or("missing batch id")?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Some(u64::from_le_bytes(a))
    } else {
        None
    };
    if batch.is_some() && flags & FLAG_GROUP_END == 0 {
        return Err("batch id on a record that does not end its group".to_string());
    }
    Ok(Group::Checked {
        end: flags & FLAG_GROUP_END != 0,
        batch,
    })
}
