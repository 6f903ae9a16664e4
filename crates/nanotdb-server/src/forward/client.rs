//! A minimal HTTP/1.1 client for remote-write requests: one kept-alive
//! connection per target, re-opened after any error.
//!
//! hyper's own client connection (`hyper::client::conn::http1`) over a tokio
//! `TcpStream`: hyper and hyper-util are already the server's HTTP stack, so
//! this adds only hyper's two small client-side helpers (`want`,
//! `try-lock`); reqwest would bring a second HTTP stack. `https://` runs
//! the same connection over tokio-rustls (settings: [`super::tls`]).

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header;
use hyper_util::rt::TokioIo;

use super::config::TargetConfig;
use super::tls::TlsTarget;

/// Most bytes of a receiver's answer kept for the log and the status.
const MAX_ANSWER: usize = 512;

/// Starts an HTTP/1.1 connection over `io`; its driver runs as its own
/// task until the connection ends.
async fn handshake<IO>(io: IO) -> Result<SendRequest<Full<Bytes>>, String>
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!("remote-write connection ended: {e}");
        }
    });
    Ok(sender)
}

/// The answer to one request.
#[derive(Debug)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// The start of the body (for the log).
    pub body: String,
}

/// One target's connection.
pub struct Client {
    authority: String,
    path: String,
    headers: Vec<(String, String)>,
    timeout: Duration,
    tls: Option<TlsTarget>,
    conn: Option<SendRequest<Full<Bytes>>>,
}

impl Client {
    /// A client for `cfg` (connects on first use).
    pub fn new(cfg: &TargetConfig) -> Client {
        Client {
            authority: cfg.authority.clone(),
            path: cfg.path.clone(),
            headers: cfg.headers.clone(),
            timeout: cfg.timeout,
            tls: cfg.tls.clone(),
            conn: None,
        }
    }

    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, String> {
        let stream = tokio::net::TcpStream::connect(&self.authority)
            .await
            .map_err(|e| format!("connect {}: {e}", self.authority))?;
        let _ = stream.set_nodelay(true);
        let Some(tls) = &self.tls else {
            return handshake(stream).await;
        };
        let stream = tokio_rustls::TlsConnector::from(tls.config.clone())
            .connect(tls.server_name.clone(), stream)
            .await
            .map_err(|e| format!("TLS handshake with {}: {e}", self.authority))?;
        handshake(stream).await
    }

    /// POSTs one snappy-compressed `WriteRequest`. `Err` is a network
    /// failure or a timeout (the connection is dropped).
    pub async fn post(&mut self, body: Bytes) -> Result<Answer, String> {
        let r = tokio::time::timeout(self.timeout, self.post_inner(body)).await;
        let r = r.unwrap_or_else(|_| Err(format!("no answer within {:?}", self.timeout)));
        if r.is_err() {
            self.conn = None;
        }
        r
    }

    async fn post_inner(&mut self, body: Bytes) -> Result<Answer, String> {
        let mut conn = match self.conn.take() {
            Some(c) if !c.is_closed() => c,
            _ => self.connect().await?,
        };
        conn.ready().await.map_err(|e| e.to_string())?;
        let mut req = hyper::Request::post(self.path.as_str())
            .header(header::HOST, self.authority.as_str())
            .header(header::CONTENT_TYPE, "application/x-protobuf")
            .header(header::CONTENT_ENCODING, "snappy")
            .header(
                header::USER_AGENT,
                concat!("nanotdb/", env!("CARGO_PKG_VERSION")),
            )
            .header("X-Prometheus-Remote-Write-Version", "0.1.0");
        for (k, v) in &self.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let req = req.body(Full::new(body)).map_err(|e| e.to_string())?;
        let resp = conn.send_request(req).await.map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        let bytes = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        self.conn = Some(conn);
        let cut = &bytes[..bytes.len().min(MAX_ANSWER)];
        Ok(Answer {
            status,
            body: String::from_utf8_lossy(cut).trim().to_string(),
        })
    }
}
