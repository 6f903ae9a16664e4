//! InfluxDB line protocol: `POST /write` (1.x API), `POST /api/v2/write`
//! (2.x API) and `GET`/`HEAD /ping`.
//!
//! A point `m,t1=a f1=1.5,f2=3i ts` becomes the series `m_f1{t1="a"}` and
//! `m_f2{t1="a"}` (VictoriaMetrics' mapping; `nanotdb_protocols::influx`).
//! Database: the `db` (1.x) or `bucket` (2.x) parameter, else the point's
//! `db` tag, else `[ingest].default_db`. `precision`: `ns` (default), `us`,
//! `ms`, `s` (1.x also `n`, `u`, `m`, `h`). Bodies may be gzip-compressed
//! (`Content-Encoding: gzip`).
//!
//! With `auth_token` set, the token is accepted as `Authorization: Token …`
//! or `Bearer …`, as the password of `Authorization: Basic …`, or as the
//! 1.x query parameter `p`. Answers: 204 when everything was stored; 400
//! with Influx's error body naming the bad lines when some were refused
//! (the good ones are stored: a partial write); 401, 413 as usual.

use std::io::Read;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use nanotdb_protocols::influx::{self, ParseOptions, Precision};
use serde_json::json;

use super::{Batch, Outcome, value_of};
use crate::params::Params;
use crate::{SharedState, blocking, limits};

/// Longest series name stored (the engine's metric-name limit, 4 KiB).
const MAX_SERIES_LEN: usize = nanotdb::names::MAX_METRIC_NAME_LEN;

/// A gzip body may inflate to this many times the body limit.
const INFLATE_FACTOR: usize = 4;

/// Which API a request came through: it decides parameter names and the
/// shape of error bodies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Api {
    V1,
    V2,
}

/// `GET`/`HEAD /ping`: 204, as InfluxDB answers to say it is up.
pub async fn ping() -> Response {
    let mut r = StatusCode::NO_CONTENT.into_response();
    r.headers_mut().insert(
        "X-Influxdb-Version",
        HeaderValue::from_static(concat!("nanotdb-", env!("CARGO_PKG_VERSION"))),
    );
    r
}

/// `POST /write`.
pub async fn write_v1(State(st): State<SharedState>, req: Request) -> Response {
    handle(st, req, Api::V1).await
}

/// `POST /api/v2/write`.
pub async fn write_v2(State(st): State<SharedState>, req: Request) -> Response {
    handle(st, req, Api::V2).await
}

/// Influx's error body: 1.x `{"error": …}`, 2.x `{"code": …, "message": …}`.
fn error(api: Api, status: StatusCode, msg: impl Into<String>) -> Response {
    let msg = msg.into();
    let body = match api {
        Api::V1 => json!({ "error": msg }),
        Api::V2 => {
            let code = match status {
                StatusCode::UNAUTHORIZED => "unauthorized",
                StatusCode::PAYLOAD_TOO_LARGE => "request too large",
                StatusCode::INTERNAL_SERVER_ERROR => "internal error",
                _ => "invalid",
            };
            json!({ "code": code, "message": msg })
        }
    };
    (status, axum::Json(body)).into_response()
}

async fn handle(st: SharedState, req: Request, api: Api) -> Response {
    let params = Params::parse(req.uri().query().unwrap_or("").as_bytes());
    if let Some(token) = &st.settings.auth_token
        && !authorized(req.headers(), &params, token)
    {
        return error(api, StatusCode::UNAUTHORIZED, "authorization failed");
    }
    let db_key = if api == Api::V1 { "db" } else { "bucket" };
    let db = params.get_trimmed(db_key).map(str::to_string);
    if let Some(db) = &db
        && let Err(e) = nanotdb::names::validate_db_name(db)
    {
        return error(api, StatusCode::BAD_REQUEST, format!("{db_key}: {e}"));
    }
    let p = params.get_trimmed("precision").unwrap_or("");
    let precision = match api {
        Api::V1 => Precision::from_v1(p),
        Api::V2 => Precision::from_v2(p),
    };
    let Some(precision) = precision else {
        return error(
            api,
            StatusCode::BAD_REQUEST,
            format!("invalid precision {p:?}"),
        );
    };
    let gzip = req
        .headers()
        .get(header::CONTENT_ENCODING)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"));
    let (parts, body): (_, Body) = req.into_parts();
    let max = st.settings.max_body_bytes;
    let body = match limits::read_body_reusing(&parts.headers, body, max).await {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    super::count_request(&st, body.len());
    let st2 = st.clone();
    let outcome = blocking(move || {
        let outcome = write_body(&st2, api, db.as_deref(), precision, gzip, max, &body);
        limits::give_back_body(body);
        outcome
    })
    .await;
    match outcome {
        Ok(Ok(o)) => answer(&st, api, &o),
        Ok(Err(r)) => *r,
        Err(e) => e.into_response(),
    }
}

/// Parses (after inflating, with `gzip`) and writes one request body.
fn write_body(
    st: &SharedState,
    api: Api,
    db: Option<&str>,
    precision: Precision,
    gzip: bool,
    max: usize,
    body: &[u8],
) -> Result<Outcome, Box<Response>> {
    let inflated;
    let body: &[u8] = if gzip {
        inflated = inflate(body, max.saturating_mul(INFLATE_FACTOR))
            .map_err(|(status, msg)| Box::new(error(api, status, msg)))?;
        &inflated
    } else {
        body
    };
    let opts = ParseOptions {
        precision,
        max_series_len: MAX_SERIES_LEN,
    };
    let default_db = st.engine.config().ingest.default_db.clone();
    let mut batch = Batch::default();
    // Lines refused after parsing (database name, value range).
    let mut bad_db = Vec::new();
    let errors = influx::parse_each(body, &opts, nanotdb::time::now_ns(), |s| {
        let name = db.or(s.db).unwrap_or(&default_db);
        if let Err(e) = nanotdb::names::validate_db_name(name) {
            bad_db.push(format!("line {}: db tag: {e}", s.line));
            return;
        }
        let dbi = batch.db_index(name);
        let key = batch.series(s.series);
        match value_of(s.value) {
            Ok(v) => batch.push(dbi, key, s.timestamp_ns, v),
            Err(e) => bad_db.push(format!("line {}: {e}", s.line)),
        }
    });
    if errors.is_empty() && bad_db.is_empty() && batch.is_empty() {
        return Err(Box::new(error(
            api,
            StatusCode::BAD_REQUEST,
            "writing requires points",
        )));
    }
    batch.refused_samples += errors.len() + bad_db.len();
    batch
        .refused
        .extend(errors.iter().map(ToString::to_string).chain(bad_db));
    batch
        .write(&st.engine)
        .map_err(|e| Box::new(error(api, StatusCode::INTERNAL_SERVER_ERROR, e.to_string())))
}

fn answer(st: &SharedState, api: Api, o: &Outcome) -> Response {
    super::count_outcome(st, o);
    if o.refused_samples == 0 {
        StatusCode::NO_CONTENT.into_response()
    } else {
        error(
            api,
            StatusCode::BAD_REQUEST,
            format!("partial write: {}", o.describe()),
        )
    }
}

/// Inflates a gzip body, refusing more than `limit` bytes (a small body can
/// inflate enormously).
fn inflate(body: &[u8], limit: usize) -> Result<Vec<u8>, (StatusCode, String)> {
    let mut out = Vec::with_capacity(body.len().saturating_mul(4).min(limit));
    let mut reader = flate2::read::GzDecoder::new(body).take(limit as u64 + 1);
    reader
        .read_to_end(&mut out)
        .map_err(|e| (StatusCode::BAD_REQUEST, format!("invalid gzip body: {e}")))?;
    if out.len() > limit {
        return Err((
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("gzip body inflates to more than {limit} bytes"),
        ));
    }
    Ok(out)
}

/// Whether the request carries `token` in one of the forms Influx clients
/// send it.
fn authorized(headers: &HeaderMap, params: &Params, token: &str) -> bool {
    let eq = |given: &str| limits::ct_eq(given.as_bytes(), token.as_bytes());
    if params.get("p").is_some_and(eq) {
        return true;
    }
    let Some(auth) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    if let Some(t) = auth
        .strip_prefix("Token ")
        .or_else(|| auth.strip_prefix("Bearer "))
    {
        return eq(t.trim());
    }
    auth.strip_prefix("Basic ")
        .and_then(|b| {
            base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()
        })
        .and_then(|d| String::from_utf8(d).ok())
        .and_then(|d| d.split_once(':').map(|(_, pw)| eq(pw)))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_in_every_form_influx_clients_send() {
        let h = |v: &str| {
            let mut m = HeaderMap::new();
            m.insert(header::AUTHORIZATION, HeaderValue::from_str(v).unwrap());
            m
        };
        let none = Params::parse(b"");
        assert!(authorized(&h("Token s3cret"), &none, "s3cret"));
        assert!(authorized(&h("Bearer s3cret"), &none, "s3cret"));
        // base64("u:s3cret")
        assert!(authorized(&h("Basic dTpzM2NyZXQ="), &none, "s3cret"));
        assert!(authorized(
            &HeaderMap::new(),
            &Params::parse(b"u=x&p=s3cret"),
            "s3cret"
        ));
        assert!(!authorized(&h("Token wrong"), &none, "s3cret"));
        assert!(!authorized(&h("Basic dTp3cm9uZw=="), &none, "s3cret"));
        assert!(!authorized(&HeaderMap::new(), &none, "s3cret"));
    }

    #[test]
    fn a_gzip_bomb_is_refused() {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(&vec![b'a'; 1 << 20]).unwrap();
        let gz = enc.finish().unwrap();
        assert!(gz.len() < 4096);
        let err = inflate(&gz, 1000).unwrap_err();
        assert_eq!(err.0, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(inflate(&gz, 1 << 20).unwrap().len(), 1 << 20);
        assert_eq!(
            inflate(b"not gzip", 1000).unwrap_err().0,
            StatusCode::BAD_REQUEST
        );
    }
}
