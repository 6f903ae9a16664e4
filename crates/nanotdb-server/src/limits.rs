//! Request hardening: body size limit, request timeout, bearer-token auth.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::SharedState;
use crate::envelope::ApiError;

/// The 413 answer to a body over `limit` bytes.
fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "bad_data",
        format!("request body larger than {limit} bytes"),
    )
}

/// The declared length of a body, refused with 413 when over `limit`.
fn declared_length(headers: &HeaderMap, limit: usize) -> Result<Option<usize>, ApiError> {
    let len = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match len {
        Some(len) if len > limit as u64 => Err(too_large(limit)),
        Some(len) => Ok(usize::try_from(len).ok()),
        None => Ok(None),
    }
}

/// Request-body buffers kept from one request to the next (see
/// [`read_body_reusing`]).
static SPARE_BODIES: crate::spare::Spares<Vec<u8>> = crate::spare::Spares::new(8);

/// The largest body buffer kept.
const MAX_SPARE_BODY_BYTES: usize = 4 << 20;

/// [`read_body`] into a buffer reused from an earlier request (give it back
/// with [`give_back_body`]): ingest bodies of a few hundred KB would
/// otherwise be mapped afresh, and faulted in and zeroed by the kernel, for
/// every request.
pub async fn read_body_reusing(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<Vec<u8>, ApiError> {
    use http_body_util::BodyExt;
    let declared = declared_length(headers, limit)?;
    let mut buf = SPARE_BODIES.take().unwrap_or_default();
    buf.clear();
    buf.reserve(declared.unwrap_or(0));
    let mut body = body;
    while let Some(frame) = body.frame().await {
        let frame =
            frame.map_err(|e| ApiError::bad_data(format!("cannot read request body: {e}")))?;
        if let Ok(data) = frame.into_data() {
            if buf.len() + data.len() > limit {
                return Err(too_large(limit));
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(buf)
}

/// Keeps `buf` for a later [`read_body_reusing`] (unless it is very large
/// or enough are kept already).
pub fn give_back_body(buf: Vec<u8>) {
    if buf.capacity() > MAX_SPARE_BODY_BYTES {
        return;
    }
    SPARE_BODIES.give_back(buf);
}

/// Reads a whole body, refusing more than `limit` bytes with 413.
pub async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, ApiError> {
    declared_length(headers, limit)?;
    match axum::body::to_bytes(body, limit).await {
        Ok(b) => Ok(b),
        Err(e) => {
            let is_limit = std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
            if is_limit {
                Err(too_large(limit))
            } else {
                Err(ApiError::bad_data(format!("cannot read request body: {e}")))
            }
        }
    }
}

/// Answers 408 when a request takes longer than the configured timeout
/// (slow bodies included: handlers read the body inside this future).
pub async fn timeout(State(st): State<SharedState>, req: Request, next: Next) -> Response {
    let limit: Duration = st.settings.request_timeout;
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(r) => r,
        Err(_) => ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "bad_data",
            format!(
                "request not completed within {}",
                nanotdb::time::format_go_duration(limit.as_nanos() as i64)
            ),
        )
        .into_response(),
    }
}

/// Constant-time equality (no early exit on the first differing byte).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = (a.len() ^ b.len()) as u64;
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= u64::from(x ^ y);
    }
    diff == 0
}

/// Requires `Authorization: Bearer <auth_token>` when a token is configured.
pub async fn require_token(State(st): State<SharedState>, req: Request, next: Next) -> Response {
    match refused(&st, &req) {
        Some(r) => r,
        None => next.run(req).await,
    }
}

/// Like [`require_token`] for read routes, only with `auth_reads = true`:
/// then a token also guards queries, discovery, the engine view (whose
/// routes load databases) and `/metrics`.
pub async fn require_read_token(
    State(st): State<SharedState>,
    req: Request,
    next: Next,
) -> Response {
    match refused(&st, &req).filter(|_| st.settings.auth_reads) {
        Some(r) => r,
        None => next.run(req).await,
    }
}

/// The 401 answer when a token is configured and `req` does not carry it.
fn refused(st: &SharedState, req: &Request) -> Option<Response> {
    let token = st.settings.auth_token.as_ref()?;
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .unwrap_or("");
    if ct_eq(given.as_bytes(), token.as_bytes()) {
        return None;
    }
    let mut r = ApiError::new(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "missing or invalid bearer token",
    )
    .into_response();
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer"),
    );
    Some(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_compare() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"abcd"));
        assert!(!ct_eq(b"", b"a"));
        assert!(ct_eq(b"", b""));
    }
}
