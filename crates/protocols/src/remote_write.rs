//! Prometheus remote write 1.0: the receiver's decoder and a sender's encoder.
//!
//! A body is a `prometheus.WriteRequest` protobuf compressed with snappy's
//! *block* format (not the framed stream format). The messages are declared by
//! hand with `prost`'s derive, so the build needs no `protoc`.
//!
//! What [`decode`] does with the parts of a request:
//! * samples (`TimeSeries.samples`): kept bit-exact, `(timestamp ms, f64)`;
//!   Prometheus' staleness marker is an ordinary NaN payload here (see
//!   [`is_stale_marker`]), left for the server to decide about;
//! * labels: `__name__` becomes the series name, a `db` label is taken out into
//!   [`DecodedSeries::db`] (the server may use it to choose a database; it is
//!   not part of the series), the rest become the [`SeriesKey`]'s labels;
//! * native histograms: not stored; counted in [`DecodedWrite::histograms`] so
//!   the server can say how many it refused instead of dropping them silently;
//! * exemplars and metadata: ignored (exemplars are counted);
//! * a remote write 2.0 body (`io.prometheus.write.v2.Request`) would decode as
//!   an empty 1.0 request; it is recognised by its symbol table and refused
//!   with [`RemoteWriteError::Version2`] rather than accepted as "nothing".
//!
//! A series with a bad label set (no name, bad names, duplicate labels, label
//! text that is not UTF-8, canonical form too long) is listed in
//! [`DecodedWrite::rejected`] with its reason; the rest of the request stands.
//! Only a body that cannot be decompressed or parsed at all fails as a whole.

use prost::Message;

mod fast;

pub use fast::{Scratch, SeriesRef, Summary, decode_each, decode_protobuf_each};

use crate::series::{DEFAULT_MAX_CANONICAL_LEN, NAME_LABEL, SeriesError, SeriesKey};

/// `Content-Type` a 1.0 sender uses.
pub const CONTENT_TYPE: &str = "application/x-protobuf";
/// `Content-Encoding` a 1.0 sender uses.
pub const CONTENT_ENCODING: &str = "snappy";
/// Header carrying the protocol version.
pub const VERSION_HEADER: &str = "X-Prometheus-Remote-Write-Version";
/// The version value of remote write 1.0.
pub const VERSION: &str = "0.1.0";
/// The label a sender may set to choose the database.
pub const DB_LABEL: &str = "db";
/// Bits of Prometheus' staleness marker: one particular NaN payload.
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// Whether a value is Prometheus' staleness marker (compared by bits: every
/// NaN compares unequal).
pub fn is_stale_marker(v: f64) -> bool {
    v.to_bits() == STALE_NAN_BITS
}

/// `prometheus.WriteRequest`, as a sender builds it (metadata not supported).
#[derive(Clone, PartialEq, Message)]
pub struct WriteRequest {
    /// The series with their samples.
    #[prost(message, repeated, tag = "1")]
    pub timeseries: Vec<TimeSeries>,
}

/// `prometheus.TimeSeries`, as a sender builds it (samples only).
#[derive(Clone, PartialEq, Message)]
pub struct TimeSeries {
    /// The full label set, `__name__` included, sorted by name.
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<Label>,
    /// Samples in time order.
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<Sample>,
}

/// `prometheus.Label`.
#[derive(Clone, PartialEq, Eq, Hash, Message)]
pub struct Label {
    /// Label name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// Label value.
    #[prost(string, tag = "2")]
    pub value: String,
}

/// `prometheus.Sample`.
///
/// Its `Message` impl is written out rather than derived: proto3 code omits a
/// value equal to 0.0, which also drops `-0.0` (Prometheus' own encoder does
/// the same); this one omits only `+0.0`, so what we send round-trips bit-exact.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Sample {
    /// The value (any f64, NaN payloads included).
    pub value: f64,
    /// Milliseconds since the Unix epoch.
    pub timestamp: i64,
}

impl Message for Sample {
    fn encode_raw(&self, buf: &mut impl prost::bytes::BufMut) {
        if self.value.to_bits() != 0 {
            prost::encoding::double::encode(1, &self.value, buf);
        }
        if self.timestamp != 0 {
            prost::encoding::int64::encode(2, &self.timestamp, buf);
        }
    }

    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: prost::encoding::WireType,
        buf: &mut impl prost::bytes::Buf,
        ctx: prost::encoding::DecodeContext,
    ) -> Result<(), prost::DecodeError> {
        match tag {
            1 => prost::encoding::double::merge(wire_type, &mut self.value, buf, ctx),
            2 => prost::encoding::int64::merge(wire_type, &mut self.timestamp, buf, ctx),
            _ => prost::encoding::skip_field(wire_type, tag, buf, ctx),
        }
    }

    fn encoded_len(&self) -> usize {
        let value = if self.value.to_bits() != 0 {
            prost::encoding::double::encoded_len(1, &self.value)
        } else {
            0
        };
        let timestamp = if self.timestamp != 0 {
            prost::encoding::int64::encoded_len(2, &self.timestamp)
        } else {
            0
        };
        value + timestamp
    }

    fn clear(&mut self) {
        *self = Sample::default();
    }
}

impl TimeSeries {
    /// Builds the wire form of a series (and optional `db` label), labels
    /// sorted as the protocol asks.
    pub fn from_series(key: &SeriesKey, db: Option<&str>, samples: &[(i64, f64)]) -> TimeSeries {
        let mut labels = Vec::with_capacity(key.labels().len() + 2);
        labels.push(Label {
            name: NAME_LABEL.to_string(),
            value: key.name().to_string(),
        });
        if let Some(db) = db {
            labels.push(Label {
                name: DB_LABEL.to_string(),
                value: db.to_string(),
            });
        }
        labels.extend(key.label_pairs().map(|(k, v)| Label {
            name: k.to_string(),
            value: v.to_string(),
        }));
        labels.sort_by(|a, b| a.name.cmp(&b.name));
        TimeSeries {
            labels,
            samples: samples
                .iter()
                .map(|&(timestamp, value)| Sample { value, timestamp })
                .collect(),
        }
    }
}

/// The decoder's side of the messages: label text as bytes (so bad UTF-8
/// rejects one series, not the request) and stubs that count what is skipped.
mod wire {
    use prost::Message;

    /// `WriteRequest` plus the 2.0 fields used only to recognise a 2.0 body.
    #[derive(Clone, PartialEq, Message)]
    pub(super) struct Request {
        #[prost(message, repeated, tag = "1")]
        pub timeseries: Vec<Series>,
        /// 2.0's `symbols` (field 4; unused in 1.0).
        #[prost(bytes = "vec", repeated, tag = "4")]
        pub v2_symbols: Vec<Vec<u8>>,
        /// 2.0's `timeseries` (field 5; unused in 1.0).
        #[prost(message, repeated, tag = "5")]
        pub v2_timeseries: Vec<Skipped>,
    }

    #[derive(Clone, PartialEq, Message)]
    pub(super) struct Series {
        #[prost(message, repeated, tag = "1")]
        pub labels: Vec<RawLabel>,
        #[prost(message, repeated, tag = "2")]
        pub samples: Vec<super::Sample>,
        #[prost(message, repeated, tag = "3")]
        pub exemplars: Vec<Skipped>,
        #[prost(message, repeated, tag = "4")]
        pub histograms: Vec<Skipped>,
    }

    #[derive(Clone, PartialEq, Message)]
    pub(super) struct RawLabel {
        #[prost(bytes = "vec", tag = "1")]
        pub name: Vec<u8>,
        #[prost(bytes = "vec", tag = "2")]
        pub value: Vec<u8>,
    }

    /// A message whose fields are all skipped; only its count matters.
    #[derive(Clone, PartialEq, Message)]
    pub(super) struct Skipped {}
}

/// Size limits, checked before the work they bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted body as received (compressed).
    pub max_compressed_bytes: usize,
    /// Largest accepted body after decompression; checked against the length
    /// the snappy header announces, before allocating (decompression bombs).
    pub max_decompressed_bytes: usize,
    /// Longest canonical series name (the engine's metric-name limit).
    pub max_series_len: usize,
}

impl Default for Limits {
    /// 16 MiB compressed, 64 MiB decompressed (Prometheus sends a few hundred
    /// KiB per request), series names up to [`DEFAULT_MAX_CANONICAL_LEN`].
    fn default() -> Limits {
        Limits {
            max_compressed_bytes: 16 << 20,
            max_decompressed_bytes: 64 << 20,
            max_series_len: DEFAULT_MAX_CANONICAL_LEN,
        }
    }
}

/// Why a whole request was refused.
#[derive(Debug, thiserror::Error)]
pub enum RemoteWriteError {
    /// The compressed body exceeds [`Limits::max_compressed_bytes`] (413).
    #[error("body is {size} bytes, over the limit of {limit}")]
    BodyTooLarge {
        /// Body size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The snappy header announces more than [`Limits::max_decompressed_bytes`] (413).
    #[error("body decompresses to {size} bytes, over the limit of {limit}")]
    DecompressedTooLarge {
        /// Announced decompressed size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Not a snappy block (400).
    #[error("body is not valid snappy block data: {0}")]
    Snappy(snap::Error),
    /// Not a `WriteRequest` protobuf (400).
    #[error("body is not a valid remote write protobuf: {0}")]
    Protobuf(prost::DecodeError),
    /// A remote write 2.0 body sent to the 1.0 decoder (415).
    #[error(
        "remote write 2.0 (io.prometheus.write.v2.Request) is not supported; configure the sender for remote write 1.0"
    )]
    Version2,
    /// [`encode`] was given more than snappy can compress in one block.
    #[error("request too large to encode: {0}")]
    Encode(snap::Error),
}

impl RemoteWriteError {
    /// Whether the request failed on a size limit (the server answers 413
    /// rather than 400).
    pub fn is_too_large(&self) -> bool {
        matches!(
            self,
            RemoteWriteError::BodyTooLarge { .. } | RemoteWriteError::DecompressedTooLarge { .. }
        )
    }
}

/// One accepted series.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedSeries {
    /// Name and labels (without `db`).
    pub key: SeriesKey,
    /// The `db` label's value, if the sender set one.
    pub db: Option<String>,
    /// `(timestamp ms, value)` in the order sent.
    pub samples: Vec<(i64, f64)>,
}

/// Why one series was left out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RejectReason {
    /// The label set breaks a series rule.
    #[error(transparent)]
    Series(#[from] SeriesError),
    /// A label name or value is not UTF-8.
    #[error("label {label} is not valid UTF-8")]
    InvalidUtf8 {
        /// 0-based position of the label in the series.
        label: usize,
    },
}

/// A series left out of the write, with enough context to report it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("series {index}{}: {reason} ({samples} samples dropped)", name_part(.name))]
pub struct RejectedSeries {
    /// 0-based position of the series in the request.
    pub index: usize,
    /// Its `__name__`, if it had a readable one.
    pub name: Option<String>,
    /// Samples dropped with it.
    pub samples: usize,
    /// Why.
    pub reason: RejectReason,
}

fn name_part(name: &Option<String>) -> String {
    name.as_ref()
        .map(|n| format!(" ({n:?})"))
        .unwrap_or_default()
}

/// A decoded request: the good series and what was left out.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DecodedWrite {
    /// Series to write.
    pub series: Vec<DecodedSeries>,
    /// Series refused, each with its reason.
    pub rejected: Vec<RejectedSeries>,
    /// Native histogram samples received and not stored (unsupported).
    pub histograms: usize,
    /// Exemplars received and ignored.
    pub exemplars: usize,
}

impl DecodedWrite {
    /// Samples in the accepted series.
    pub fn sample_count(&self) -> usize {
        self.series.iter().map(|s| s.samples.len()).sum()
    }
}

/// Decodes a request body (snappy block + protobuf); see the module docs.
/// (The server uses [`decode_each`], which gives the same answer.)
pub fn decode(body: &[u8], limits: &Limits) -> Result<DecodedWrite, RemoteWriteError> {
    check_size(body, limits)?;
    let raw = snap::raw::Decoder::new()
        .decompress_vec(body)
        .map_err(RemoteWriteError::Snappy)?;
    decode_protobuf(&raw, limits)
}

/// Checks a body against the size limits; returns its decompressed size.
fn check_size(body: &[u8], limits: &Limits) -> Result<usize, RemoteWriteError> {
    if body.len() > limits.max_compressed_bytes {
        return Err(RemoteWriteError::BodyTooLarge {
            size: body.len(),
            limit: limits.max_compressed_bytes,
        });
    }
    let size = snap::raw::decompress_len(body).map_err(RemoteWriteError::Snappy)?;
    if size > limits.max_decompressed_bytes {
        return Err(RemoteWriteError::DecompressedTooLarge {
            size,
            limit: limits.max_decompressed_bytes,
        });
    }
    Ok(size)
}

/// Decodes an uncompressed `WriteRequest` (what [`decode`] does after
/// snappy); public so tests and fuzzing can reach the protobuf layer directly.
pub fn decode_protobuf(raw: &[u8], limits: &Limits) -> Result<DecodedWrite, RemoteWriteError> {
    let req = wire::Request::decode(raw).map_err(RemoteWriteError::Protobuf)?;
    if req.timeseries.is_empty() && !(req.v2_symbols.is_empty() && req.v2_timeseries.is_empty()) {
        return Err(RemoteWriteError::Version2);
    }
    let mut out = DecodedWrite::default();
    for (index, ts) in req.timeseries.into_iter().enumerate() {
        out.histograms += ts.histograms.len();
        out.exemplars += ts.exemplars.len();
        if ts.samples.is_empty() {
            continue;
        }
        match convert(&ts.labels, limits.max_series_len) {
            Ok((key, db)) => out.series.push(DecodedSeries {
                key,
                db,
                samples: ts.samples.iter().map(|s| (s.timestamp, s.value)).collect(),
            }),
            Err(reason) => out.rejected.push(RejectedSeries {
                index,
                name: name_of(
                    ts.labels
                        .iter()
                        .map(|l| (l.name.as_slice(), l.value.as_slice())),
                ),
                samples: ts.samples.len(),
                reason,
            }),
        }
    }
    Ok(out)
}

/// Turns a wire label set into a series key and the `db` label.
fn convert(
    labels: &[wire::RawLabel],
    max_len: usize,
) -> Result<(SeriesKey, Option<String>), RejectReason> {
    let mut pairs: Vec<(&str, &str)> = Vec::with_capacity(labels.len());
    let db = label_pairs(
        labels
            .iter()
            .map(|l| (l.name.as_slice(), l.value.as_slice())),
        &mut pairs,
    )?;
    let key = SeriesKey::from_prometheus_labels(pairs)?;
    key.check_len(max_len)?;
    Ok((key, db.map(str::to_string)))
}

/// Checks that label text is UTF-8 and takes out the `db` label: the label
/// pairs other than `db` are appended to `pairs`, the `db` value returned.
fn label_pairs<'a>(
    labels: impl IntoIterator<Item = (&'a [u8], &'a [u8])>,
    pairs: &mut Vec<(&'a str, &'a str)>,
) -> Result<Option<&'a str>, RejectReason> {
    let mut db: Option<&str> = None;
    for (i, (name, value)) in labels.into_iter().enumerate() {
        let utf8 = |b| std::str::from_utf8(b).map_err(|_| RejectReason::InvalidUtf8 { label: i });
        let (k, v) = (utf8(name)?, utf8(value)?);
        if k == DB_LABEL {
            if v.is_empty() {
                continue;
            }
            if db.is_some() {
                return Err(SeriesError::DuplicateLabel(DB_LABEL.to_string()).into());
            }
            db = Some(v);
        } else {
            pairs.push((k, v));
        }
    }
    Ok(db)
}

/// The value of the first `__name__` label, if it is UTF-8 (to name a
/// rejected series).
fn name_of<'a>(labels: impl IntoIterator<Item = (&'a [u8], &'a [u8])>) -> Option<String> {
    labels
        .into_iter()
        .find(|(k, _)| *k == NAME_LABEL.as_bytes())
        .and_then(|(_, v)| std::str::from_utf8(v).ok())
        .map(str::to_string)
}

/// Encodes a request as a remote write 1.0 body (protobuf + snappy block), for
/// tests and a future remote-write sender.
pub fn encode(req: &WriteRequest) -> Result<Vec<u8>, RemoteWriteError> {
    snap::raw::Encoder::new()
        .compress_vec(&req.encode_to_vec())
        .map_err(RemoteWriteError::Encode)
}

#[cfg(test)]
#[path = "remote_write_tests.rs"]
mod tests;
