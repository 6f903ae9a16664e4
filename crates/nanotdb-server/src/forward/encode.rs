//! The remote-write request body, written by hand: each series' labels are
//! encoded to protobuf once (when the series is first seen) and copied into
//! every request, instead of cloning `Label` strings into a prost
//! `WriteRequest` per batch. The bytes are what prost writes for the same
//! request, except that zero values and timestamps are written explicitly
//! (valid protobuf; prost omits them); tests decode them back.

use std::sync::Arc;

/// Protobuf tag: field 1, length-delimited.
const F1_LEN: u8 = 0x0a;
/// Protobuf tag: field 2, length-delimited.
const F2_LEN: u8 = 0x12;
/// Protobuf tag: field 1, 64-bit (a double).
const F1_I64: u8 = 0x09;
/// Protobuf tag: field 2, varint.
const F2_VARINT: u8 = 0x10;

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_len(out: &mut Vec<u8>, tag: u8, bytes: &[u8]) {
    out.push(tag);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// The `labels` fields of a `TimeSeries` (labels sorted by name).
pub fn encode_labels(labels: &[(String, String)]) -> Arc<[u8]> {
    let mut out = Vec::new();
    let mut label = Vec::new();
    for (k, v) in labels {
        label.clear();
        put_len(&mut label, F1_LEN, k.as_bytes());
        put_len(&mut label, F2_LEN, v.as_bytes());
        put_len(&mut out, F1_LEN, &label);
    }
    out.into()
}

/// The batch being built: one time series per (database slot, metric id).
/// Kept from batch to batch ([`Batch::clear`]): the per-series buffers and
/// the index are reused, so a steady batch allocates nothing.
#[derive(Default)]
pub struct Batch {
    /// (encoded labels, encoded `samples` fields) per series; the first
    /// `used` are this batch's.
    series: Vec<(Arc<[u8]>, Vec<u8>)>,
    used: usize,
    /// Per database slot, per metric id: 1 + the series' index (0: none).
    index: Vec<Vec<u32>>,
    /// Keys set in `index`, to reset them.
    keys: Vec<(usize, u16)>,
    /// Samples in the batch.
    pub samples: usize,
    /// The uncompressed and compressed request bodies, kept for the next
    /// batch: allocated per batch (hundreds of kilobytes), they were freed
    /// back to the kernel and faulted in again each time.
    raw: Vec<u8>,
    packed: Vec<u8>,
}

impl Batch {
    /// Empties the batch, keeping its buffers.
    pub fn clear(&mut self) {
        for &(slot, id) in &self.keys {
            self.index[slot][usize::from(id)] = 0;
        }
        self.keys.clear();
        self.used = 0;
        self.samples = 0;
    }

    /// Adds one sample of series `key` whose labels are `labels`.
    pub fn push(&mut self, key: (usize, u16), labels: &Arc<[u8]>, ts_ms: i64, value: f64) {
        let (slot, id) = (key.0, usize::from(key.1));
        if self.index.len() <= slot {
            self.index.resize_with(slot + 1, Vec::new);
        }
        let ids = &mut self.index[slot];
        if ids.len() <= id {
            ids.resize(id + 1, 0);
        }
        if ids[id] == 0 {
            if let Some(s) = self.series.get_mut(self.used) {
                if !Arc::ptr_eq(&s.0, labels) {
                    s.0 = labels.clone();
                }
                s.1.clear();
            } else {
                self.series.push((labels.clone(), Vec::new()));
            }
            self.used += 1;
            ids[id] = u32::try_from(self.used).unwrap_or(u32::MAX);
            self.keys.push(key);
        }
        let i = ids[id] as usize - 1;
        let s = &mut self.series[i].1;
        let mut sample = [0u8; 1 + 8 + 1 + 10];
        sample[0] = F1_I64;
        sample[1..9].copy_from_slice(&value.to_le_bytes());
        sample[9] = F2_VARINT;
        let mut n = 10;
        let mut v = ts_ms as u64;
        while v >= 0x80 {
            sample[n] = (v as u8) | 0x80;
            v >>= 7;
            n += 1;
        }
        sample[n] = v as u8;
        put_len(s, F2_LEN, &sample[..=n]);
        self.samples += 1;
    }

    /// The snappy-compressed `WriteRequest`.
    pub fn encode(&mut self) -> Result<&[u8], snap::Error> {
        let out = &mut self.raw;
        out.clear();
        for (labels, samples) in &self.series[..self.used] {
            out.push(F1_LEN);
            put_varint(out, (labels.len() + samples.len()) as u64);
            out.extend_from_slice(labels);
            out.extend_from_slice(samples);
        }
        self.packed
            .resize(snap::raw::max_compress_len(out.len()), 0);
        let n = snap::raw::Encoder::new().compress(out, &mut self.packed)?;
        Ok(&self.packed[..n])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nanotdb_protocols::remote_write::{self, Limits};

    #[test]
    fn decodes_back() {
        let a = encode_labels(&[
            ("__name__".into(), "up".into()),
            ("db".into(), "edge".into()),
            ("job".into(), "a\"b\u{e9}".into()),
        ]);
        let b = encode_labels(&[
            ("__name__".into(), "x".repeat(300)),
            ("db".into(), "e".into()),
        ]);
        let mut batch = Batch::default();
        batch.push((0, 1), &a, 1_767_225_600_000, 1.5);
        batch.push((0, 2), &b, -5, 0.0);
        batch.push((0, 1), &a, 0, f64::NAN);
        batch.push((0, 1), &a, i64::MAX, -0.0);
        assert_eq!(batch.samples, 4);
        let body = batch.encode().unwrap().to_vec();
        let limits = Limits {
            max_compressed_bytes: 1 << 20,
            max_decompressed_bytes: 1 << 20,
            max_series_len: 4096,
        };
        let d = remote_write::decode(&body, &limits).unwrap();
        assert!(d.rejected.is_empty(), "{:?}", d.rejected);
        assert_eq!(d.series.len(), 2);
        assert_eq!(d.series[0].key.to_string(), "up{job=\"a\\\"b\u{e9}\"}");
        assert_eq!(d.series[0].db.as_deref(), Some("edge"));
        let s = &d.series[0].samples;
        assert_eq!(s[0], (1_767_225_600_000, 1.5));
        assert!(s[1].0 == 0 && s[1].1.is_nan());
        assert_eq!((s[2].0, s[2].1.to_bits()), (i64::MAX, (-0.0f64).to_bits()));
        assert_eq!(d.series[1].samples, [(-5, 0.0)]);
        assert_eq!(d.series[1].key.to_string(), "x".repeat(300));
        // Reused: only the new batch's series and samples.
        batch.clear();
        batch.push((1, 2), &a, 7, 2.5);
        assert_eq!(batch.samples, 1);
        let d = remote_write::decode(batch.encode().unwrap(), &limits).unwrap();
        assert_eq!(d.series.len(), 1);
        assert_eq!(d.series[0].key.to_string(), "up{job=\"a\\\"b\u{e9}\"}");
        assert_eq!(d.series[0].samples, [(7, 2.5)]);
    }
}
