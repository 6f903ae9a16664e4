//! The VictoriaMetrics-style response envelope (docs/BEHAVIOUR.md §2.3):
//! `{"status":"success","data":…}` and
//! `{"status":"error","errorType":…,"error":…}`, JSON followed by a newline.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value as Json;

/// An API error: HTTP status, `errorType` and message.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// `errorType` of the envelope.
    pub kind: &'static str,
    /// `error` of the envelope.
    pub message: String,
}

impl ApiError {
    /// 400 `bad_data`.
    pub fn bad_data(msg: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_data", msg)
    }
    /// 404 `not_found`.
    pub fn not_found(msg: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", msg)
    }
    /// 500 `execution`.
    pub fn execution(msg: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "execution", msg)
    }
    /// 422 `bad_data`: the query is valid but asks for more than the limits allow.
    pub fn too_large(msg: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "bad_data", msg)
    }
    /// Any status.
    pub fn new(status: StatusCode, kind: &'static str, msg: impl Into<String>) -> ApiError {
        ApiError {
            status,
            kind,
            message: msg.into(),
        }
    }

    /// Maps an engine error: unknown database → 404, bad input → 400,
    /// anything else → 500.
    pub fn from_engine(e: &nanotdb::Error) -> ApiError {
        match e {
            nanotdb::Error::DatabaseNotFound(_) => ApiError::not_found(e.to_string()),
            nanotdb::Error::InvalidRange { .. } => ApiError::bad_data(e.to_string()),
            e if e.is_rejection() => ApiError::bad_data(e.to_string()),
            e => ApiError::execution(e.to_string()),
        }
    }
}

impl From<nanotdb::Error> for ApiError {
    fn from(e: nanotdb::Error) -> ApiError {
        ApiError::from_engine(&e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // Field order as the reference's struct: status, errorType, error.
        let mut out = Vec::with_capacity(self.message.len() + 64);
        out.extend_from_slice(br#"{"status":"error","errorType":"#);
        write_json_str(&mut out, self.kind);
        out.extend_from_slice(br#","error":"#);
        write_json_str(&mut out, &self.message);
        out.extend_from_slice(b"}\n");
        raw_json(self.status, out)
    }
}

/// A JSON body plus newline with the JSON content type.
pub fn json_response(status: StatusCode, body: &Json) -> Response {
    let mut bytes = serde_json::to_vec(body).unwrap_or_default();
    bytes.push(b'\n');
    raw_json(status, bytes)
}

/// Pre-serialised JSON bytes (already newline-terminated).
pub fn raw_json(status: StatusCode, bytes: Vec<u8>) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], bytes).into_response()
}

/// `200 {"status":"success","data":data}`.
pub fn success(data: Json) -> Response {
    success_raw(&serde_json::to_vec(&data).unwrap_or_default())
}

/// Wraps pre-serialised `data` JSON in the success envelope.
pub fn success_raw(data: &[u8]) -> Response {
    let mut out = Vec::with_capacity(data.len() + 32);
    out.extend_from_slice(br#"{"status":"success","data":"#);
    out.extend_from_slice(data);
    out.extend_from_slice(b"}\n");
    raw_json(StatusCode::OK, out)
}

/// Handler result.
pub type ApiResult = Result<Response, ApiError>;

/// Formats a timestamp as JSON seconds the way Go's encoder prints a float64
/// (`1715000001`, `1715000001.5`): no trailing `.0`.
pub fn write_seconds(out: &mut Vec<u8>, ts: i64) {
    use std::io::Write;
    let s = ts as f64 / 1e9;
    if s.fract() == 0.0 && s.abs() < 1e15 {
        out.extend_from_slice(itoa::Buffer::new().format(s as i64).as_bytes());
    } else if s.abs() >= 1e-4 && s.abs() < 1e15 {
        // ryu prints the same shortest round-trip digits as Display, faster;
        // in this magnitude range it never uses an exponent.
        let mut b = ryu::Buffer::new();
        out.extend_from_slice(b.format_finite(s).as_bytes());
    } else {
        let _ = write!(out, "{s}");
    }
}

/// Writes a sample value as the API's JSON string: int32 and int64 decimal,
/// float32 and float64 shortest round-trip plain notation (each for its own
/// width), `"NaN"`, `"+Inf"`, `"-Inf"`.
pub fn write_value_string(out: &mut Vec<u8>, v: nanotdb::Value) {
    out.push(b'"');
    if let nanotdb::Value::F32(f) = v
        && f.is_finite()
        && f != 0.0
        && f.abs() >= 1e-4
        && f.abs() < 1e7
    {
        // Fast path: ryu's shortest digits, plain notation in this range.
        let mut b = ryu::Buffer::new();
        let t = b.format_finite(f);
        out.extend_from_slice(t.strip_suffix(".0").unwrap_or(t).as_bytes());
        out.push(b'"');
        return;
    }
    let start = out.len();
    nanotdb::lineproto::write_value(out, v);
    if matches!(v, nanotdb::Value::I32(_) | nanotdb::Value::I64(_)) && out.len() > start {
        out.pop(); // the export-form `i` suffix
    }
    out.push(b'"');
}

/// The value string without quotes.
pub fn value_string(v: nanotdb::Value) -> String {
    let mut out = Vec::with_capacity(16);
    write_value_string(&mut out, v);
    String::from_utf8_lossy(&out[1..out.len() - 1]).into_owned()
}

/// A JSON-escaped string literal.
pub fn write_json_str(out: &mut Vec<u8>, s: &str) {
    // serde_json escapes correctly; a String never fails to serialise.
    let _ = serde_json::to_writer(&mut *out, s);
}

#[cfg(test)]
mod tests {
    use super::*;
    use nanotdb::Value;

    #[test]
    fn seconds_and_values() {
        let mut o = Vec::new();
        write_seconds(&mut o, 1_715_000_001_000_000_000);
        o.push(b' ');
        write_seconds(&mut o, 1_715_000_001_500_000_000);
        assert_eq!(String::from_utf8(o).unwrap(), "1715000001 1715000001.5");
        assert_eq!(value_string(Value::I32(-7)), "-7");
        assert_eq!(value_string(Value::F32(22.75)), "22.75");
        assert_eq!(value_string(Value::F32(0.000001)), "0.000001");
        assert_eq!(value_string(Value::F32(f32::NAN)), "NaN");
        assert_eq!(value_string(Value::F32(f32::NEG_INFINITY)), "-Inf");
        assert_eq!(value_string(Value::I32(i32::MIN)), "-2147483648");
        assert_eq!(value_string(Value::F32(-0.0)), "-0");
        assert_eq!(value_string(Value::F32(16777216.0)), "16777216");
        assert_eq!(value_string(Value::F32(0.0001)), "0.0001");
        assert_eq!(value_string(Value::I64(25276182528)), "25276182528");
        assert_eq!(value_string(Value::I64(i64::MIN)), "-9223372036854775808");
        assert_eq!(value_string(Value::F64(25276182528.0)), "25276182528");
        assert_eq!(value_string(Value::F64(0.1)), "0.1");
        assert_eq!(value_string(Value::F64(f64::NAN)), "NaN");
        assert_eq!(value_string(Value::F64(f64::INFINITY)), "+Inf");
        // The fast path agrees with the export formatter.
        for f in [
            21.5f32, 0.1, 1234.5678, 9999999.0, 0.00012345, -3.25, 1.0, 100.0,
        ] {
            let mut slow = Vec::new();
            nanotdb::lineproto::write_value(&mut slow, Value::F32(f));
            assert_eq!(value_string(Value::F32(f)).as_bytes(), &slow[..], "{f}");
        }
        let mut o = Vec::new();
        write_seconds(&mut o, -1_500_000_000);
        o.push(b' ');
        write_seconds(&mut o, 1_767_225_600_123_456_789);
        assert_eq!(String::from_utf8(o).unwrap(), "-1.5 1767225600.1234567");
    }
}
