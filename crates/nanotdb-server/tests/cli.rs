//! The `nanotdb` binary: flags, startup, graceful shutdown on SIGTERM.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    nanotdb_testkit::free_addr().port()
}

fn wait_up(addr: std::net::SocketAddr) {
    nanotdb_testkit::wait_listening(addr, "nanotdb");
}

/// Starts `nanotdb ARGS --listen <free port>` in `cwd` and waits until it
/// listens; stderr is piped so a test can read the console log.
fn serve(
    cwd: &std::path::Path,
    args: &[&std::ffi::OsStr],
) -> (std::process::Child, std::net::SocketAddr) {
    let addr: std::net::SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_nanotdb"))
        .current_dir(cwd)
        .args(args)
        .arg("--listen")
        .arg(addr.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_up(addr);
    (child, addr)
}

fn sigterm(child: &std::process::Child) {
    // SAFETY: kill(2) with a pid we own and a valid signal number.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
    }
}

#[test]
fn config_must_be_named_engine_toml() {
    let d = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_nanotdb"))
        .arg("--config")
        .arg(d.path().join("other.toml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("config file must be named engine.toml"));
}

#[test]
fn init_then_serve_then_graceful_sigterm() {
    let d = tempfile::tempdir().unwrap();
    let cfg = d.path().join("r").join("engine.toml");
    let out = Command::new(env!("CARGO_BIN_EXE_nanotdb"))
        .arg("--init")
        .arg("--config")
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("initialized config at"));
    assert!(cfg.is_file());
    let (mut child, addr) = serve(d.path(), &["--config".as_ref(), cfg.as_os_str()]);
    let now = nanotdb::time::now_ns();
    let body = format!("edge/m 1.5 {now}\nedge/m 2.5 {}\n", now + 1);
    let r = common::request(addr, "POST", "/api/v1/import", &[], body.as_bytes());
    assert_eq!(r.status, 200, "{}", r.text());
    sigterm(&child);
    let t0 = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(15),
            "no exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert!(status.success(), "{err}");
    assert!(err.contains("shutdown signal received"), "{err}");
    assert!(err.contains("engine closed"), "{err}");
    // Flushed and closed: the WAL is empty and the samples are in a data file.
    let root = d.path().join("r");
    let wal = root.join("edge").join("edge.wal");
    assert_eq!(std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0), 0);
    let e = nanotdb::Engine::open_read_only(&root).unwrap();
    let mut n = 0;
    e.query_range("edge", "m", i64::MIN, i64::MAX, 1, |_| {
        n += 1;
        std::ops::ControlFlow::Continue(())
    })
    .unwrap();
    assert_eq!(n, 2);
}

#[test]
fn no_flags_serves_data_in_the_working_directory() {
    let d = tempfile::tempdir().unwrap();
    let (mut child, addr) = serve(d.path(), &[]);
    assert_eq!(
        common::request(addr, "GET", "/health", &[], b"").status,
        200
    );
    sigterm(&child);
    assert!(child.wait().unwrap().success());
    assert!(d.path().join("data").join("engine.toml").is_file());
}

#[test]
fn loggers_from_engine_toml_write_to_their_file() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("r");
    std::fs::create_dir_all(&root).unwrap();
    let log = d.path().join("nanotdb.log");
    std::fs::write(
        root.join("engine.toml"),
        format!(
            "[stats]\nenabled = false\n[[logging.logger]]\noutput = {:?}\nlevel = \"debug\"\n",
            log.display().to_string()
        ),
    )
    .unwrap();
    let cfg = root.join("engine.toml");
    let (mut child, _) = serve(d.path(), &["--config".as_ref(), cfg.as_os_str()]);
    sigterm(&child);
    assert!(child.wait().unwrap().success());
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("engine opened"), "{text}");
    assert!(text.contains("nanotdb listening"), "{text}");
    assert!(!text.contains("\u{1b}["), "no colours in files");
}

#[test]
fn a_second_server_on_a_served_root_refuses_to_start() {
    let d = tempfile::tempdir().unwrap();
    let (mut child, a) = serve(d.path(), &[]);
    // A different port, so "the second must not listen" cannot see the first.
    let b = std::iter::repeat_with(free_port)
        .find(|&p| p != a.port())
        .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_nanotdb"))
        .current_dir(d.path())
        .arg("--listen")
        .arg(format!("127.0.0.1:{b}"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("is already served by another server (pid "),
        "{err}"
    );
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", b)).is_err(),
        "the second server must not listen"
    );
    sigterm(&child);
    assert!(child.wait().unwrap().success());
    // The console log of a process whose stderr is not a terminal has no colour codes.
    let mut log = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut log).unwrap();
    assert!(log.contains("nanotdb listening"), "{log}");
    assert!(!log.contains('\u{1b}'), "ANSI escape in {log:?}");
    // Once the first has stopped, the root can be served again.
    let (mut again, _) = serve(d.path(), &[]);
    sigterm(&again);
    assert!(again.wait().unwrap().success());
}

#[test]
fn the_generated_engine_toml_listens_where_the_no_flag_start_does() {
    let d = tempfile::tempdir().unwrap();
    let cfg = d.path().join("r").join("engine.toml");
    let out = Command::new(env!("CARGO_BIN_EXE_nanotdb"))
        .args(["--init", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = std::fs::read_to_string(&cfg).unwrap();
    assert!(text.contains("\n  listen = \"127.0.0.1:8428\"\n"), "{text}");
}

#[test]
fn init_writes_the_default_dashboard_once() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("engine.toml");
    std::fs::write(&cfg, "[web]\ntitle = \"Pump house\"\n").unwrap();
    let init = || {
        Command::new(env!("CARGO_BIN_EXE_nanotdb"))
            .arg("--init")
            .arg("--config")
            .arg(&cfg)
            .output()
            .unwrap()
    };
    assert!(init().status.success());
    let path = dir.path().join("dashboard.json");
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(doc["title"], "Pump house");
    assert!(!doc["groups"].as_array().unwrap().is_empty());
    // An existing dashboard is never overwritten.
    std::fs::write(&path, "{\"title\":\"mine\"}").unwrap();
    assert!(init().status.success());
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "{\"title\":\"mine\"}"
    );
}

#[test]
fn export_web_assets_writes_the_tree() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("ui");
    let out = Command::new(env!("CARGO_BIN_EXE_nanotdb"))
        .arg("--export-web-assets")
        .arg(&out_dir)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("exported web assets to"));
    for f in [
        "dashboard.html",
        "editor.html",
        "index.html",
        "engine.html",
        "assets/explore.js",
        "dashboard_assets/dashboard.js",
        "engine_assets/engine.js",
        "common_assets/common.js",
        "common_assets/vendor/uplot/LICENSE",
    ] {
        assert!(out_dir.join(f).is_file(), "{f}");
    }
}
