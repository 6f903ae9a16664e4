//! Starts the server in-process on a loopback port for each test.

#![allow(dead_code)]

pub mod client;

use std::net::SocketAddr;
use std::sync::Arc;

use nanotdb::Engine;
use nanotdb_server::AppState;
use nanotdb_server::settings::ServerSettings;

#[allow(unused_imports)]
pub use client::{Conn, Resp, request};

#[allow(unused_imports)]
pub use nanotdb_testkit::{copy_dir, fixture};

/// A running server on a temporary root.
pub struct TestServer {
    /// Listening address.
    pub addr: SocketAddr,
    /// The data root.
    pub dir: tempfile::TempDir,
    /// The engine (shared with the server).
    pub engine: Arc<Engine>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestServer {
    /// Default settings.
    pub fn start() -> TestServer {
        TestServer::with(ServerSettings::default())
    }

    /// Given settings.
    pub fn with(settings: ServerSettings) -> TestServer {
        TestServer::with_fixture(settings, None)
    }

    /// Default settings on a writable copy of a fixture root (e.g.
    /// `fixture("edge-2h/root")`).
    pub fn from_fixture(fixture: &std::path::Path) -> TestServer {
        TestServer::with_fixture(ServerSettings::default(), Some(fixture))
    }

    fn with_fixture(settings: ServerSettings, fixture: Option<&std::path::Path>) -> TestServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("root");
        std::fs::create_dir_all(&root).expect("mkdir");
        if let Some(src) = fixture {
            copy_dir(src, &root);
        }
        let engine = Arc::new(Engine::open(&root).expect("open engine"));
        TestServer::serve(dir, engine, settings)
    }

    /// Default settings over a read-only engine on `dir/root` (no frame
    /// cache: what a read holds in memory shows in the RSS).
    pub fn read_only(dir: tempfile::TempDir) -> TestServer {
        let engine = Engine::open_read_only(dir.path().join("root")).expect("open engine");
        TestServer::serve(dir, Arc::new(engine), ServerSettings::default())
    }

    fn serve(dir: tempfile::TempDir, engine: Arc<Engine>, settings: ServerSettings) -> TestServer {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        std_listener.set_nonblocking(true).expect("nonblocking");
        let addr = std_listener.local_addr().expect("addr");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let state = AppState::new(engine.clone(), settings);
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(std_listener).expect("listener");
                nanotdb_server::serve::run(listener, state, async {
                    let _ = rx.await;
                })
                .await
                .expect("serve");
            });
        });
        TestServer {
            addr,
            dir,
            engine,
            stop: Some(tx),
            thread: Some(thread),
        }
    }

    /// The data root.
    pub fn root(&self) -> std::path::PathBuf {
        self.dir.path().join("root")
    }

    /// GET.
    pub fn get(&self, path: &str) -> Resp {
        request(self.addr, "GET", path, &[], b"")
    }

    /// GET with headers.
    pub fn get_h(&self, path: &str, headers: &[(&str, &str)]) -> Resp {
        request(self.addr, "GET", path, headers, b"")
    }

    /// POST with a body.
    pub fn post(&self, path: &str, body: &[u8]) -> Resp {
        request(self.addr, "POST", path, &[], body)
    }

    /// POST with headers.
    pub fn post_h(&self, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Resp {
        request(self.addr, "POST", path, headers, body)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
