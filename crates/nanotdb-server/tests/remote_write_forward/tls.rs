//! An `https://` receiver: VictoriaMetrics serving TLS on loopback with a
//! certificate of a CA the test makes. Without `ca_file` the certificate
//! is refused and nothing is delivered; with it every sample arrives once.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nanotdb_testkit::free_addr;

use super::support::*;

/// A CA and a receiver certificate for 127.0.0.1 signed by it: the paths
/// of (CA certificate, receiver certificate, receiver key), PEM.
fn certificates(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose,
        IsCa, KeyPair, KeyUsagePurpose,
    };
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "nanotdb test CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let mut leaf = CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let cert = leaf.signed_by(&key, &ca).unwrap();
    let paths = (
        dir.join("ca.pem"),
        dir.join("vm.pem"),
        dir.join("vm-key.pem"),
    );
    std::fs::write(&paths.0, ca.pem()).unwrap();
    std::fs::write(&paths.1, cert.pem()).unwrap();
    std::fs::write(&paths.2, key.serialize_pem()).unwrap();
    paths
}

fn target(vm: SocketAddr, tls: &str) -> String {
    format!(
        r#"
[[remote_write]]
name = "vm"
url = "https://{vm}/api/v1/write"
max_samples_per_send = {BATCH}
batch_deadline = "200ms"
min_backoff = "50ms"
max_backoff = "400ms"
timeout = "3s"
{tls}
"#
    )
}

#[test]
fn an_https_receiver_is_trusted_through_ca_file_and_refused_without() {
    let tmp = tempfile::tempdir().unwrap();
    let (ca, cert, key) = certificates(tmp.path());
    let vm_dir = tmp.path().join("vm");
    let vm_addr = free_addr();
    let tls_flags = [
        "-tls".to_string(),
        format!("-tlsCertFile={}", cert.display()),
        format!("-tlsKeyFile={}", key.display()),
    ];
    let mut receiver = vm_with(&vm_dir, vm_addr, &tls_flags);
    let root = tmp.path().join("root");
    config(&root, &target(vm_addr, ""));
    let addr = free_addr();
    let mut server = nanotdb(&root, addr);
    let stop = Arc::new(AtomicBool::new(false));
    let base_ms = base_ms();
    let shared_addr = Arc::new(Mutex::new(addr));
    let w = writer(shared_addr, stop.clone(), Default::default(), base_ms);

    // Only Mozilla's roots: the private CA's certificate is refused, and
    // the status says so.
    wait_for(addr, 20, "no certificate error", |t| {
        t["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("invalid peer certificate"))
    });
    std::thread::sleep(Duration::from_secs(1));
    let refused = target_status(addr);
    assert_eq!(refused["samples_sent"], 0, "{refused}");
    assert!(refused["samples_failed"].as_u64().unwrap() > 0, "{refused}");
    let cursor =
        nanotdb::forward::Cursor::load(&root.join("remote_write").join("vm.cursor"), "x").unwrap();
    assert!(cursor.databases.is_empty(), "marked delivered: {cursor:?}");

    // Fixed: the CA in ca_file, the server restarted.
    server.signal(libc::SIGTERM);
    let tls = format!(
        "[remote_write.tls_config]\nca_file = {:?}\n",
        ca.display().to_string()
    );
    config(&root, &target(vm_addr, &tls));
    server = nanotdb(&root, addr);
    wait_for(addr, 20, "nothing forwarded with ca_file", |t| {
        t["samples_sent"].as_u64().unwrap_or(0) > 0 && t["last_error"].is_null()
    });
    std::thread::sleep(Duration::from_secs(1));
    stop.store(true, Ordering::SeqCst);
    let acked = w.join().unwrap();
    let st = wait_drained(addr);

    // Compared over plain HTTP: the same receiver data, restarted without TLS.
    receiver.signal(libc::SIGTERM);
    receiver = vm(&vm_dir, vm_addr);
    let (n_ours, doubles) =
        assert_delivered_once(&root, vm_addr, &acked, &BTreeMap::new(), base_ms);
    assert_eq!(doubles, 0, "a graceful restart sends nothing twice");
    eprintln!("stored {n_ours}; refused without ca_file: {refused}; at the end {st}");
    drop(server);
    drop(receiver);
}
