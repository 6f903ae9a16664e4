//! `https://` receivers: the rustls client configuration of a target, built
//! once at start from its `tls_config` table (as Prometheus' remote_write
//! `tls_config`: `ca_file`, `cert_file`/`key_file`, `server_name`,
//! `insecure_skip_verify`).
//!
//! rustls with the `ring` provider (not aws-lc: that needs cmake and a C
//! toolchain build of its own) and the Mozilla roots of `webpki-roots`
//! (the same on every box, no system store to find); `ca_file` adds a
//! private CA.

use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use serde::Deserialize;

/// The `tls_config` table as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTls {
    ca_file: Option<String>,
    cert_file: Option<String>,
    key_file: Option<String>,
    server_name: Option<String>,
    insecure_skip_verify: Option<bool>,
}

/// What a target needs to open a TLS connection.
#[derive(Clone)]
pub struct TlsTarget {
    /// The client configuration (roots, client certificate).
    pub config: Arc<ClientConfig>,
    /// The name the receiver's certificate must hold (also sent as SNI).
    pub server_name: ServerName<'static>,
}

impl std::fmt::Debug for TlsTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsTarget")
            .field("server_name", &self.server_name)
            .finish_non_exhaustive()
    }
}

fn certs(key: &str, path: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let bad = |e: &dyn std::fmt::Display| format!("{key} {path:?}: {e}");
    let certs = CertificateDer::pem_file_iter(Path::new(path))
        .map_err(|e| bad(&e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(&e))?;
    if certs.is_empty() {
        return Err(bad(&"no PEM certificate in it"));
    }
    Ok(certs)
}

/// Builds a target's TLS settings; `host` is the URL's host (the default
/// `server_name`). Every file is read now, so a bad one stops the start
/// with a message naming it.
pub(super) fn build(raw: RawTls, host: &str) -> Result<TlsTarget, String> {
    let name = raw.server_name.as_deref().unwrap_or(host);
    let server_name = ServerName::try_from(name.to_string())
        .map_err(|e| format!("tls_config: server name {name:?}: {e}"))?;
    // Deprecated (rustls 0.23.48) because ring has no post-quantum key
    // exchange; aws-lc-rs has, but needs cmake to build. Receivers
    // negotiate X25519 or P-256 with it as with Go's or Prometheus' clients
    // of a few years ago.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("tls_config: {e}"))?;
    let builder = if raw.insecure_skip_verify.unwrap_or(false) {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerify(provider)))
    } else {
        let mut roots = RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        if let Some(ca) = &raw.ca_file {
            for c in certs("tls_config.ca_file", ca)? {
                roots
                    .add(c)
                    .map_err(|e| format!("tls_config.ca_file {ca:?}: {e}"))?;
            }
        }
        builder.with_root_certificates(roots)
    };
    let config = match (&raw.cert_file, &raw.key_file) {
        (Some(cert), Some(key)) => {
            let chain = certs("tls_config.cert_file", cert)?;
            let k = PrivateKeyDer::from_pem_file(Path::new(key))
                .map_err(|e| format!("tls_config.key_file {key:?}: {e}"))?;
            builder
                .with_client_auth_cert(chain, k)
                .map_err(|e| format!("tls_config.cert_file/key_file: {e}"))?
        }
        (None, None) => builder.with_no_client_auth(),
        _ => return Err("tls_config: cert_file and key_file go together".into()),
    };
    Ok(TlsTarget {
        config: Arc::new(config),
        server_name,
    })
}

/// `insecure_skip_verify = true`: any certificate is accepted (the
/// handshake's signatures are still checked, so the connection is
/// encrypted to whoever holds the certificate's key).
#[derive(Debug)]
struct NoVerify(Arc<CryptoProvider>);

impl NoVerify {
    fn algorithms(&self) -> &WebPkiSupportedAlgorithms {
        &self.0.signature_verification_algorithms
    }
}

impl ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, self.algorithms())
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, self.algorithms())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms().supported_schemes()
    }
}
