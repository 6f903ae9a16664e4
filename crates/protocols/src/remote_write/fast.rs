//! The receiver's fast path: [`decode_each`] gives the same answer as
//! [`decode`](super::decode) without allocating per series or per label.
//!
//! A hand-written reader for the fixed `WriteRequest` schema borrows label
//! text from the decompressed body, and each accepted series' canonical name
//! is written into one reused buffer. It is deliberately strict: it accepts
//! only input that prost would decode to the same values (no groups, well
//! formed varints, expected wire types). For anything else it gives up and
//! the request goes through the prost decoder, so a malformed body fails
//! with exactly the error it always did. Likewise a label set that is not
//! plainly valid is handed to [`SeriesKey`] for its exact rejection reason.

use std::ops::Range;

use super::{
    Limits, RejectReason, RejectedSeries, RemoteWriteError, check_size, decode_protobuf,
    label_pairs, name_of,
};
use crate::series::{NAME_LABEL, SeriesKey, is_label_name, is_metric_name, write_labels};

/// Buffers [`decode_each`] reuses from one request to the next.
#[derive(Debug, Default)]
pub struct Scratch {
    /// The decompressed body.
    raw: Vec<u8>,
    /// The canonical name of the series being handed out.
    name: String,
}

impl Scratch {
    /// Bytes held, so a long-lived owner can drop a buffer grown by one
    /// unusually large request.
    pub fn capacity(&self) -> usize {
        self.raw.capacity() + self.name.capacity()
    }
}

/// One accepted series, lent to the callback of [`decode_each`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SeriesRef<'a> {
    /// Canonical name, as [`SeriesKey::canonical`] writes it (no `db`).
    pub canonical: &'a str,
    /// The `db` label's value, if the sender set one.
    pub db: Option<&'a str>,
    /// `(timestamp ms, value)` in the order sent.
    pub samples: &'a [(i64, f64)],
}

/// What [`decode_each`] found besides the series it handed out.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    /// Series handed to the callback.
    pub accepted: usize,
    /// Series refused, each with its reason.
    pub rejected: Vec<RejectedSeries>,
    /// Native histogram samples received and not stored (unsupported).
    pub histograms: usize,
    /// Exemplars received and ignored.
    pub exemplars: usize,
}

/// Decodes a request body like [`decode`](super::decode), handing each
/// accepted series to `each` (in request order) instead of collecting them.
/// `each` is called only once the whole body is known to decode: on `Err`
/// it has not been called at all.
pub fn decode_each(
    body: &[u8],
    limits: &Limits,
    scratch: &mut Scratch,
    each: impl FnMut(SeriesRef<'_>),
) -> Result<Summary, RemoteWriteError> {
    let size = check_size(body, limits)?;
    scratch.raw.clear();
    scratch.raw.resize(size, 0);
    let n = snap::raw::Decoder::new()
        .decompress(body, &mut scratch.raw)
        .map_err(RemoteWriteError::Snappy)?;
    scratch.raw.truncate(n);
    decode_protobuf_each(&scratch.raw, limits, &mut scratch.name, each)
}

/// [`decode_each`] of an uncompressed `WriteRequest`; `name` is the buffer
/// the canonical names are written into.
pub fn decode_protobuf_each(
    raw: &[u8],
    limits: &Limits,
    name: &mut String,
    mut each: impl FnMut(SeriesRef<'_>),
) -> Result<Summary, RemoteWriteError> {
    let Some(parsed) = Parsed::new(raw) else {
        return decode_slow(raw, limits, name, each);
    };
    if parsed.series.is_empty() && parsed.v2 {
        return Err(RemoteWriteError::Version2);
    }
    let mut out = Summary {
        histograms: parsed.histograms,
        exemplars: parsed.exemplars,
        ..Summary::default()
    };
    let mut pairs = Vec::new();
    let mut rest = Vec::new();
    for (index, s) in parsed.series.iter().enumerate() {
        let samples = &parsed.samples[s.samples.clone()];
        if samples.is_empty() {
            continue;
        }
        let labels = &parsed.labels[s.labels.clone()];
        name.clear();
        match series_name(labels, limits.max_series_len, &mut pairs, &mut rest, name) {
            Ok(db) => {
                out.accepted += 1;
                each(SeriesRef {
                    canonical: name,
                    db,
                    samples,
                });
            }
            Err(reason) => out.rejected.push(RejectedSeries {
                index,
                name: name_of(labels.iter().copied()),
                samples: samples.len(),
                reason,
            }),
        }
    }
    Ok(out)
}

/// The prost decoder's answer, handed out the same way.
fn decode_slow(
    raw: &[u8],
    limits: &Limits,
    name: &mut String,
    mut each: impl FnMut(SeriesRef<'_>),
) -> Result<Summary, RemoteWriteError> {
    let d = decode_protobuf(raw, limits)?;
    for s in &d.series {
        name.clear();
        s.key.write_canonical(name);
        each(SeriesRef {
            canonical: name,
            db: s.db.as_deref(),
            samples: &s.samples,
        });
    }
    Ok(Summary {
        accepted: d.series.len(),
        rejected: d.rejected,
        histograms: d.histograms,
        exemplars: d.exemplars,
    })
}

/// Writes the canonical name of a label set into `out` (empty on entry) and
/// returns its `db` label; `pairs` and `rest` are scratch space.
fn series_name<'a>(
    labels: &[(&'a [u8], &'a [u8])],
    max_len: usize,
    pairs: &mut Vec<(&'a str, &'a str)>,
    rest: &mut Vec<(&'a str, &'a str)>,
    out: &mut String,
) -> Result<Option<&'a str>, RejectReason> {
    pairs.clear();
    let db = label_pairs(labels.iter().copied(), pairs)?;
    if plain_canonical(pairs, rest, max_len, out) {
        return Ok(db);
    }
    // Not plainly valid: the series rules say exactly why (or, should they
    // accept it after all, write the name their way).
    out.clear();
    let key = SeriesKey::from_prometheus_labels(pairs.iter().copied())?;
    key.check_len(max_len)?;
    key.write_canonical(out);
    Ok(db)
}

/// Writes the canonical name of `pairs` (a Prometheus label set without
/// `db`) into `out` when it is valid and at most `max_len` bytes; `false`
/// when it is not (or might not be), leaving the verdict to [`SeriesKey`].
/// Whenever it returns `true`, `out` is what `SeriesKey::canonical` writes.
fn plain_canonical<'a>(
    pairs: &[(&'a str, &'a str)],
    rest: &mut Vec<(&'a str, &'a str)>,
    max_len: usize,
    out: &mut String,
) -> bool {
    let mut metric = None;
    rest.clear();
    for &(k, v) in pairs {
        if k == NAME_LABEL {
            if metric.is_some() {
                return false;
            }
            metric = Some(v);
        } else if !v.is_empty() {
            if !is_label_name(k) {
                return false;
            }
            rest.push((k, v));
        }
    }
    let Some(metric) = metric.filter(|m| is_metric_name(m)) else {
        return false;
    };
    if !rest.is_sorted_by(|a, b| a.0 < b.0) {
        rest.sort_unstable_by(|a, b| a.0.cmp(b.0));
        if rest.windows(2).any(|w| w[0].0 == w[1].0) {
            return false;
        }
    }
    out.push_str(metric);
    write_labels(out, rest.iter().copied());
    out.len() <= max_len
}

/// A request's series, labels (borrowed from the body) and samples, laid
/// out flat.
#[derive(Debug, Default)]
struct Parsed<'a> {
    series: Vec<SeriesSpan>,
    labels: Vec<(&'a [u8], &'a [u8])>,
    samples: Vec<(i64, f64)>,
    histograms: usize,
    exemplars: usize,
    /// Whether a 2.0 field (`symbols` or 2.0 `timeseries`) was seen.
    v2: bool,
}

/// Where one series' labels and samples are in [`Parsed`].
#[derive(Debug)]
struct SeriesSpan {
    labels: Range<usize>,
    samples: Range<usize>,
}

/// Wire types.
const VARINT: u8 = 0;
const FIXED64: u8 = 1;
const LEN: u8 = 2;
const FIXED32: u8 = 5;

impl<'a> Parsed<'a> {
    /// Parses a `WriteRequest`; `None` for anything outside what this reader
    /// is sure to read as prost does.
    fn new(raw: &'a [u8]) -> Option<Parsed<'a>> {
        // A series with one label pair and a sample is at least ~40 bytes.
        let mut p = Parsed {
            series: Vec::with_capacity(raw.len() / 40),
            labels: Vec::with_capacity(raw.len() / 16),
            samples: Vec::with_capacity(raw.len() / 40),
            ..Parsed::default()
        };
        let mut r = Reader(raw);
        while !r.is_empty() {
            match r.key()? {
                (1, LEN) => p.series(r.bytes()?)?,
                (4, LEN) => {
                    r.bytes()?;
                    p.v2 = true;
                }
                (5, LEN) => {
                    skip_message(r.bytes()?)?;
                    p.v2 = true;
                }
                (1 | 4 | 5, _) => return None,
                (_, wire) => r.skip(wire)?,
            }
        }
        Some(p)
    }

    /// Parses one `TimeSeries`.
    fn series(&mut self, msg: &'a [u8]) -> Option<()> {
        let (labels, samples) = (self.labels.len(), self.samples.len());
        let mut r = Reader(msg);
        while !r.is_empty() {
            match r.key()? {
                (1, LEN) => self.labels.push(label(r.bytes()?)?),
                (2, LEN) => self.samples.push(sample(r.bytes()?)?),
                (3, LEN) => {
                    skip_message(r.bytes()?)?;
                    self.exemplars += 1;
                }
                (4, LEN) => {
                    skip_message(r.bytes()?)?;
                    self.histograms += 1;
                }
                (1..=4, _) => return None,
                (_, wire) => r.skip(wire)?,
            }
        }
        self.series.push(SeriesSpan {
            labels: labels..self.labels.len(),
            samples: samples..self.samples.len(),
        });
        Some(())
    }
}

/// Parses a `Label` (a repeated field keeps its last value, as in prost).
fn label(msg: &[u8]) -> Option<(&[u8], &[u8])> {
    let (mut name, mut value): (&[u8], &[u8]) = (&[], &[]);
    let mut r = Reader(msg);
    while !r.is_empty() {
        match r.key()? {
            (1, LEN) => name = r.bytes()?,
            (2, LEN) => value = r.bytes()?,
            (1 | 2, _) => return None,
            (_, wire) => r.skip(wire)?,
        }
    }
    Some((name, value))
}

/// Parses a `Sample` as `(timestamp, value)`.
fn sample(msg: &[u8]) -> Option<(i64, f64)> {
    let (mut ts, mut value) = (0i64, 0f64);
    let mut r = Reader(msg);
    while !r.is_empty() {
        match r.key()? {
            (1, FIXED64) => value = f64::from_bits(r.fixed64()?),
            // int64 on the wire: the varint's bits, as prost reads them.
            (2, VARINT) => ts = r.varint()? as i64,
            (1 | 2, _) => return None,
            (_, wire) => r.skip(wire)?,
        }
    }
    Some((ts, value))
}

/// Checks a message whose fields are all ignored (exemplar, histogram, 2.0
/// series): prost still reads its fields, so it must be well formed.
fn skip_message(msg: &[u8]) -> Option<()> {
    let mut r = Reader(msg);
    while !r.is_empty() {
        let (_, wire) = r.key()?;
        r.skip(wire)?;
    }
    Some(())
}

/// A cursor over protobuf bytes; every method is `None` where prost would
/// fail (or where this reader declines: groups).
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// A varint of at most ten bytes, the tenth at most 1 (as prost).
    fn varint(&mut self) -> Option<u64> {
        let mut value = 0u64;
        for (i, &b) in self.0.iter().take(10).enumerate() {
            if i == 9 && b > 1 {
                return None;
            }
            value |= u64::from(b & 0x7f) << (7 * i);
            if b < 0x80 {
                self.0 = &self.0[i + 1..];
                return Some(value);
            }
        }
        None
    }

    /// A field key as `(tag, wire type)`, with prost's checks.
    fn key(&mut self) -> Option<(u32, u8)> {
        let key = u32::try_from(self.varint()?).ok()?;
        let (tag, wire) = (key >> 3, (key & 7) as u8);
        (tag > 0 && wire <= FIXED32).then_some((tag, wire))
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, tail) = self.0.split_at_checked(n)?;
        self.0 = tail;
        Some(head)
    }

    /// A length-delimited field's bytes.
    fn bytes(&mut self) -> Option<&'a [u8]> {
        let len = usize::try_from(self.varint()?).ok()?;
        self.take(len)
    }

    fn fixed64(&mut self) -> Option<u64> {
        let b: [u8; 8] = self.take(8)?.try_into().ok()?;
        Some(u64::from_le_bytes(b))
    }

    /// Skips a field's value; groups (wire types 3, 4) are declined.
    fn skip(&mut self, wire: u8) -> Option<()> {
        match wire {
            VARINT => self.varint().map(drop),
            FIXED64 => self.take(8).map(drop),
            LEN => self.bytes().map(drop),
            FIXED32 => self.take(4).map(drop),
            _ => None,
        }
    }
}

#[cfg(test)]
#[path = "fast_tests.rs"]
mod tests;
