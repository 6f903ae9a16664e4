//! `GET /api/v1/export`: series in VictoriaMetrics' JSON-lines format
//! (`nanotdb::Engine::export_jsonl`), streamed in constant memory.
//!
//! The engine writes the lines on a blocking thread into a [`ChannelWriter`],
//! which hands chunks of up to 256 KiB through a bounded channel to the
//! response body; the engine waits while the client is slow, so at most a
//! few chunks are in flight, whatever the size of the export. The status and headers go out
//! before the first line: an error found later (a file that cannot be read)
//! ends the body with an error, so the client sees a cut-off transfer, never
//! a short export that looks complete.

use std::io::{self, Write};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use nanotdb::labels::Matcher;
use tokio::sync::mpsc;

use crate::envelope::ApiError;
use crate::params::{Params, check_db, parse_time};
use crate::{SharedState, blocking};

/// Chunks in flight between the engine thread and the response body.
const CHANNEL_CHUNKS: usize = 4;

/// The label naming a series' database (added to every line when the
/// request names no database; a selector's matcher on it picks databases).
const DB_LABEL: &str = "db";

/// One `match[]` selector split into what applies to the database name and
/// what the engine's label index answers.
#[derive(Debug, Clone)]
struct Selector {
    db: Vec<Matcher>,
    series: Vec<Matcher>,
}

/// A parsed export request.
#[derive(Debug, Clone)]
struct ExportRequest {
    db: Option<String>,
    selectors: Vec<Selector>,
    from: i64,
    to: i64,
}

fn time_param(p: &Params, name: &str, default: i64) -> Result<i64, ApiError> {
    match p.get_trimmed(name) {
        None => Ok(default),
        Some(v) => parse_time(v).map_err(|e| ApiError::bad_data(format!("invalid {name}: {e}"))),
    }
}

impl ExportRequest {
    /// Reads `db`, `match[]` (repeatable; none: every series), `start` and
    /// `end` (inclusive; RFC 3339 or unix seconds, as `/api/v1/query_range`
    /// takes them; absent: unbounded).
    fn parse(p: &Params) -> Result<ExportRequest, ApiError> {
        let db = p.get_trimmed("db").map(str::to_string);
        if let Some(db) = &db {
            check_db(db).map_err(|e| ApiError::bad_data(format!("invalid db: {}", e.message)))?;
        }
        let mut selectors = Vec::new();
        for sel in p.get_all("match[]") {
            let matchers = nanotdb::selector::parse_selector(sel)
                .map_err(|e| ApiError::bad_data(format!("invalid match[] {sel:?}: {e}")))?;
            let (db, series) = matchers.into_iter().partition(|m| m.name == DB_LABEL);
            selectors.push(Selector { db, series });
        }
        let from = time_param(p, "start", i64::MIN)?;
        let to = time_param(p, "end", i64::MAX)?;
        if to < from {
            return Err(ApiError::bad_data(format!(
                "invalid start/end: end ({to} ns) is before start ({from} ns)"
            )));
        }
        Ok(ExportRequest {
            db,
            selectors,
            from,
            to,
        })
    }

    /// The names of `db`'s series that some selector picks, sorted, each
    /// once.
    fn names(&self, engine: &nanotdb::Engine, db: &str) -> nanotdb::Result<Vec<String>> {
        let mut names = std::collections::BTreeSet::new();
        if self.selectors.is_empty() {
            names.extend(engine.metrics(db)?.into_iter().map(|m| m.name));
        }
        for s in &self.selectors {
            if !s.db.iter().all(|m| m.matches(db)) {
                continue;
            }
            if s.series.is_empty() {
                names.extend(engine.metrics(db)?.into_iter().map(|m| m.name));
            } else {
                let picked = engine.select_series(db, &s.series)?;
                names.extend(picked.into_iter().map(|m| m.name));
            }
        }
        Ok(names.into_iter().collect())
    }
}

/// A streamed 200 response with `content_type` and the writer that feeds
/// its body from a blocking thread (`stall`: how long a write waits for a
/// client that reads nothing). Call from a runtime thread.
pub(crate) fn streamed(content_type: &'static str, stall: Duration) -> (ChannelWriter, Response) {
    let (tx, rx) = mpsc::channel(CHANNEL_CHUNKS);
    let out = ChannelWriter {
        tx,
        rt: tokio::runtime::Handle::current(),
        stall,
        pool: Arc::default(),
    };
    let mut resp = (StatusCode::OK, Body::new(ChannelBody { rx })).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    (out, resp)
}

/// `io::Write` into the response body: every write becomes one chunk,
/// waiting (at most `stall`) while the channel is full.
pub(crate) struct ChannelWriter {
    tx: mpsc::Sender<io::Result<Bytes>>,
    rt: tokio::runtime::Handle,
    stall: Duration,
    /// Chunk buffers the response has sent, for the next chunks.
    pool: Pool,
}

/// Emptied chunk buffers, shared by a writer and its chunks in flight.
type Pool = Arc<Mutex<Vec<Vec<u8>>>>;

/// Chunk buffers a pool keeps: those in flight and one being filled.
const POOL_BUFFERS: usize = CHANNEL_CHUNKS + 2;

/// A chunk's buffer, back to its writer's pool once the response has sent
/// it. A new 256 KiB buffer per chunk, allocated on the export's thread
/// and freed on a runtime thread, made glibc trim and regrow its heap over
/// and over: ~15,000 page faults per 64 MB export, a tenth of its CPU time.
struct Pooled {
    buf: Vec<u8>,
    pool: Pool,
}

impl AsRef<[u8]> for Pooled {
    fn as_ref(&self) -> &[u8] {
        &self.buf
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        if let Ok(mut pool) = self.pool.lock()
            && pool.len() < POOL_BUFFERS
        {
            pool.push(buf);
        }
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let mut chunk = self
            .pool
            .lock()
            .ok()
            .and_then(|mut p| p.pop())
            .unwrap_or_default();
        chunk.extend_from_slice(buf);
        let chunk = Bytes::from_owner(Pooled {
            buf: chunk,
            pool: self.pool.clone(),
        });
        let send = self.tx.send(Ok(chunk));
        // The timeout is made inside the runtime: the export's writing
        // thread (nanotdb::jsonl) is not a runtime thread.
        let stall = self.stall;
        match self
            .rt
            .block_on(async move { tokio::time::timeout(stall, send).await })
        {
            Ok(Ok(())) => Ok(buf.len()),
            // The client went away: stop producing.
            Ok(Err(_)) => Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "export client disconnected",
            )),
            Err(_) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "export client stopped reading",
            )),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl ChannelWriter {
    /// A second handle on the same body (to end it with an error after the
    /// writer was handed on).
    pub(crate) fn clone_sender(&self) -> ChannelWriter {
        ChannelWriter {
            tx: self.tx.clone(),
            rt: self.rt.clone(),
            stall: self.stall,
            pool: self.pool.clone(),
        }
    }

    /// Ends the body with `e`: hyper cuts the transfer, so the client sees
    /// an incomplete response, never a short one that looks complete.
    pub(crate) fn fail(&self, e: impl std::fmt::Display) {
        let _ = self.tx.blocking_send(Err(io::Error::other(e.to_string())));
    }
}

/// The response body: the chunks the engine thread sends, in order.
struct ChannelBody {
    rx: mpsc::Receiver<io::Result<Bytes>>,
}

impl http_body::Body for ChannelBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, io::Error>>> {
        self.rx
            .poll_recv(cx)
            .map(|chunk| chunk.map(|r| r.map(http_body::Frame::data)))
    }
}

/// Exports that wrote at least this much return their freed memory to the
/// OS when they end ([`crate::heap`]); smaller ones would pay the trim, and
/// the page faults after it, on every dashboard refresh.
const RELEASE_AFTER_BYTES: u64 = 16 << 20;

/// A writer that counts what passes through it.
struct Counting<W> {
    inner: W,
    bytes: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Writes every database of `req` to `out`; `dbs` is the list to export
/// (with a `db` label on every line when the request named none).
fn run_export(
    engine: &nanotdb::Engine,
    req: &ExportRequest,
    dbs: &[String],
    out: &mut Counting<ChannelWriter>,
) -> nanotdb::Result<()> {
    let db_label = req.db.is_none();
    for db in dbs {
        let names = match req.names(engine, db) {
            Ok(n) => n,
            // Dropped since the list was taken.
            Err(nanotdb::Error::DatabaseNotFound(_)) => continue,
            Err(e) => return Err(e),
        };
        if names.is_empty() {
            continue;
        }
        engine.export_jsonl(db, &names, req.from, req.to, db_label, &mut *out)?;
    }
    Ok(())
}

/// `GET /api/v1/export`.
pub async fn export(State(st): State<SharedState>, p: Params) -> Result<Response, ApiError> {
    let req = ExportRequest::parse(&p)?;
    // Which databases: checked before the status goes out, so an unknown
    // one is a 404 and not a cut-off body.
    let st2 = st.clone();
    let named = req.db.clone();
    let dbs = blocking(move || -> Result<Vec<String>, ApiError> {
        match named {
            Some(db) => {
                st2.engine.metrics(&db)?;
                Ok(vec![db])
            }
            None => Ok(st2
                .engine
                .databases()?
                .into_iter()
                .filter(|d| d != "internal")
                .collect()),
        }
    })
    .await??;
    let (out, resp) = streamed(
        "application/stream+json; charset=utf-8",
        st.settings.request_timeout,
    );
    let engine = st.engine.clone();
    tokio::task::spawn_blocking(move || {
        let ender = out.clone_sender();
        let mut out = Counting {
            inner: out,
            bytes: 0,
        };
        let exported = run_export(&engine, &req, &dbs, &mut out);
        if out.bytes >= RELEASE_AFTER_BYTES {
            crate::heap::release();
        }
        if let Err(e) = exported {
            let client_gone = matches!(&e, nanotdb::Error::Io { source, .. }
                if matches!(source.kind(), io::ErrorKind::BrokenPipe | io::ErrorKind::TimedOut));
            if client_gone {
                tracing::debug!("export stopped: {e}");
            } else {
                tracing::warn!("export failed after the response began: {e}");
                ender.fail(e);
            }
        }
    });
    Ok(resp)
}
