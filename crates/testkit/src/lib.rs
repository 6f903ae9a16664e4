//! Test helpers shared by the workspace's crates.
//!
//! The reference fixtures (data directories written by NanoTDB v1.4.0, with
//! what its own export printed) live in the repository under
//! `tests/fixtures/`; nothing here reads outside the repository, so a fresh
//! clone runs the whole suite. Fixtures are read-only by convention: copy one
//! with [`fixture_copy`] before opening it, since opening may replay a WAL,
//! cut a torn tail or write a catalog.

#![deny(unsafe_code)]

pub mod crashsim;
mod lpcompare;
pub mod openmetrics;
pub mod tmpfs;

use std::fs;
use std::path::{Path, PathBuf};

pub use lpcompare::{LpDiff, compare_lp_files, lpcompare};

/// The repository's `tests/fixtures` folder.
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures")
}

/// The databases of the `codecs` fixture: the same samples in every metric-file
/// format and codec, sorted by name.
pub const CODEC_DATABASES: [&str; 6] = [
    "edge_renamed",
    "edge_s2",
    "edge_s2b",
    "edge_v1",
    "edge_v1s2",
    "edge_zd",
];

/// The path of one fixture (`"edge-2h/root"`, `"types/input.lp"`, …).
///
/// Panics when it does not exist, naming the path, so a missing fixture is a
/// clear failure rather than a confusing one further down.
pub fn fixture(name: &str) -> PathBuf {
    let p = fixtures_dir().join(name);
    assert!(p.exists(), "fixture {} not found", p.display());
    p
}

/// A writable copy of a fixture folder in a fresh temporary directory.
pub fn fixture_copy(name: &str) -> tempfile::TempDir {
    copy_tree(&fixture(name))
}

/// A writable copy of any folder in a fresh temporary directory.
pub fn copy_tree(src: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_dir(src, dir.path());
    dir
}

/// Copies `src` into `dst` recursively and makes every copied file writable.
pub fn copy_dir(src: &Path, dst: &Path) {
    fs::create_dir_all(dst).unwrap_or_else(|e| panic!("mkdir {}: {e}", dst.display()));
    let entries = fs::read_dir(src).unwrap_or_else(|e| panic!("read {}: {e}", src.display()));
    for e in entries {
        let e = e.expect("directory entry");
        let to = dst.join(e.file_name());
        if e.file_type().expect("file type").is_dir() {
            copy_dir(&e.path(), &to);
        } else {
            fs::copy(e.path(), &to)
                .unwrap_or_else(|err| panic!("copy {}: {err}", e.path().display()));
            let mut perm = fs::metadata(&to).expect("metadata").permissions();
            #[allow(clippy::permissions_set_readonly_false)]
            perm.set_readonly(false);
            fs::set_permissions(&to, perm).expect("chmod");
        }
    }
}

/// A loopback address with a port that was free a moment ago, for a server
/// the caller starts.
///
/// The port comes from below the kernel's ephemeral range (32768–60999 on
/// Linux), never twice in one process: a port the kernel handed out for
/// `bind(0)` could be handed out again, as the local port of an outgoing
/// connection, between our check and the server's bind, and the test would
/// then talk to the wrong process. Another process may still take the port
/// first; it would have to pick the same one.
pub fn free_addr() -> std::net::SocketAddr {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    const LOW: u32 = 20_000;
    const SPAN: u32 = 12_000;
    // A different start per process (test binaries run one after another,
    // benches and CI may overlap), then every port in turn.
    let start = std::process::id().wrapping_mul(7_919) % SPAN;
    for _ in 0..SPAN {
        let k = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = LOW + (start + k * 97) % SPAN;
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port as u16));
        if std::net::TcpListener::bind(addr).is_ok() {
            return addr;
        }
    }
    panic!("no free loopback port in {LOW}..{}", LOW + SPAN)
}

/// Waits until something accepts connections on `addr`; panics naming
/// `what` after 20 s.
pub fn wait_listening(addr: std::net::SocketAddr, what: &str) {
    let t0 = std::time::Instant::now();
    while std::net::TcpStream::connect(addr).is_err() {
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(20),
            "{what} did not start listening on {addr}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Every file and directory under `root` with its bytes (empty for
/// directories), sorted by path: equal snapshots prove that an operation
/// changed nothing.
pub fn snapshot_tree(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = fs::read_dir(&d).unwrap_or_else(|e| panic!("read {}: {e}", d.display()));
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p.clone());
                out.push((p, Vec::new()));
            } else {
                let bytes = fs::read(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()));
                out.push((p, bytes));
            }
        }
    }
    out.sort();
    out
}
