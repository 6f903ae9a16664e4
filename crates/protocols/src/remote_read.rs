//! Prometheus remote read (`prometheus.ReadRequest` → `ReadResponse`), the
//! "samples" response type: what a Prometheus server configured with
//! `remote_read` sends, and what it expects back. Bodies are protobuf in
//! snappy's block format, as for remote write; the messages are declared by
//! hand with `prost`'s derive (no `protoc`).

use prost::Message;

use crate::remote_write::{Label, TimeSeries};

/// `Content-Type` of both directions.
pub const CONTENT_TYPE: &str = "application/x-protobuf";
/// `Content-Encoding` of both directions.
pub const CONTENT_ENCODING: &str = "snappy";
/// `ReadRequest.ResponseType.SAMPLES`: the only response type served.
pub const RESPONSE_SAMPLES: i32 = 0;

/// `prometheus.ReadRequest`.
#[derive(Clone, PartialEq, Message)]
pub struct ReadRequest {
    /// One result per query, in order.
    #[prost(message, repeated, tag = "1")]
    pub queries: Vec<Query>,
    /// Response types the client takes (empty: samples).
    #[prost(int32, repeated, tag = "2")]
    pub accepted_response_types: Vec<i32>,
}

/// `prometheus.Query`.
#[derive(Clone, PartialEq, Message)]
pub struct Query {
    /// Inclusive start, ms.
    #[prost(int64, tag = "1")]
    pub start_timestamp_ms: i64,
    /// Inclusive end, ms.
    #[prost(int64, tag = "2")]
    pub end_timestamp_ms: i64,
    /// Every matcher must hold.
    #[prost(message, repeated, tag = "3")]
    pub matchers: Vec<LabelMatcher>,
}

/// `prometheus.LabelMatcher`.
#[derive(Clone, PartialEq, Message)]
pub struct LabelMatcher {
    /// 0 `=`, 1 `!=`, 2 `=~`, 3 `!~`.
    #[prost(int32, tag = "1")]
    pub r#type: i32,
    /// Label name.
    #[prost(string, tag = "2")]
    pub name: String,
    /// Value or regex.
    #[prost(string, tag = "3")]
    pub value: String,
}

/// `prometheus.ReadResponse`.
#[derive(Clone, PartialEq, Message)]
pub struct ReadResponse {
    /// One per query of the request.
    #[prost(message, repeated, tag = "1")]
    pub results: Vec<QueryResult>,
}

/// `prometheus.QueryResult`.
#[derive(Clone, PartialEq, Message)]
pub struct QueryResult {
    /// The matched series with their samples in the query's range.
    #[prost(message, repeated, tag = "1")]
    pub timeseries: Vec<TimeSeries>,
}

/// Why a remote read body cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum RemoteReadError {
    /// Not snappy block data, or larger than allowed once decompressed.
    #[error("snappy: {0}")]
    Snappy(String),
    /// Not a `ReadRequest`.
    #[error("protobuf: {0}")]
    Protobuf(#[from] prost::DecodeError),
}

/// Decodes a request body; `max_decompressed` bounds the protobuf's size.
pub fn decode_request(
    body: &[u8],
    max_decompressed: usize,
) -> Result<ReadRequest, RemoteReadError> {
    let size =
        snap::raw::decompress_len(body).map_err(|e| RemoteReadError::Snappy(e.to_string()))?;
    if size > max_decompressed {
        return Err(RemoteReadError::Snappy(format!(
            "decompressed size {size} exceeds {max_decompressed} bytes"
        )));
    }
    let raw = snap::raw::Decoder::new()
        .decompress_vec(body)
        .map_err(|e| RemoteReadError::Snappy(e.to_string()))?;
    Ok(ReadRequest::decode(raw.as_slice())?)
}

/// Encodes a response body (protobuf + snappy block).
pub fn encode_response(resp: &ReadResponse) -> Result<Vec<u8>, RemoteReadError> {
    snap::raw::Encoder::new()
        .compress_vec(&resp.encode_to_vec())
        .map_err(|e| RemoteReadError::Snappy(e.to_string()))
}

/// A label pair, for building responses.
pub fn label(name: &str, value: &str) -> Label {
    Label {
        name: name.to_string(),
        value: value.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote_write::Sample;

    #[test]
    fn request_and_response_round_trip() {
        let req = ReadRequest {
            queries: vec![Query {
                start_timestamp_ms: 1,
                end_timestamp_ms: 2,
                matchers: vec![LabelMatcher {
                    r#type: 2,
                    name: "__name__".into(),
                    value: "up|x".into(),
                }],
            }],
            accepted_response_types: vec![RESPONSE_SAMPLES],
        };
        let body = snap::raw::Encoder::new()
            .compress_vec(&req.encode_to_vec())
            .unwrap();
        assert_eq!(decode_request(&body, 1 << 20).unwrap(), req);
        assert!(decode_request(&body, 3).is_err());
        assert!(decode_request(b"\xff\xff\xff", 1 << 20).is_err());
        let resp = ReadResponse {
            results: vec![QueryResult {
                timeseries: vec![TimeSeries {
                    labels: vec![label("__name__", "up")],
                    samples: vec![Sample {
                        value: 1.5,
                        timestamp: 7,
                    }],
                }],
            }],
        };
        let raw = snap::raw::Decoder::new()
            .decompress_vec(&encode_response(&resp).unwrap())
            .unwrap();
        assert_eq!(ReadResponse::decode(raw.as_slice()).unwrap(), resp);
    }
}
