//! Request hardening: body size limit, request timeout, bearer-token auth.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::SharedState;
use crate::envelope::ApiError;

/// Reads a whole body, refusing more than `limit` bytes with 413.
pub async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, ApiError> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "bad_data",
            format!("request body larger than {limit} bytes"),
        )
    };
    if let Some(len) = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        && len > limit as u64
    {
        return Err(too_large());
    }
    match axum::body::to_bytes(body, limit).await {
        Ok(b) => Ok(b),
        Err(e) => {
            let is_limit = std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
            if is_limit {
                Err(too_large())
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
