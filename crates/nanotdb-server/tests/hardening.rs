//! Bad input never reaches the disk and never takes the server down: body
//! limits, timeouts, auth, name validation, and 10,000 random bodies posted
//! to each ingest route.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use common::{Conn, TestServer};
use nanotdb_server::settings::ServerSettings;

/// Every path under `dir`, recursively.
fn tree(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            out.push(e.path());
            if e.path().is_dir() {
                tree(&e.path(), out);
            }
        }
    }
}

/// Nothing but `root` (and what is inside it) exists in the temp dir, and
/// every database directory has a valid name.
fn assert_contained(s: &TestServer) {
    let top: Vec<_> = std::fs::read_dir(s.dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(top, vec![std::ffi::OsString::from("root")]);
    for e in std::fs::read_dir(s.root()).unwrap().flatten() {
        let name = e.file_name().into_string().unwrap();
        if e.path().is_dir() {
            nanotdb::names::validate_db_name(&name).unwrap();
        }
    }
    let mut all = Vec::new();
    tree(&s.root(), &mut all);
    for p in all {
        assert!(p.starts_with(s.root()), "{}", p.display());
    }
}

#[test]
fn body_limit_gives_413() {
    let s = TestServer::with(ServerSettings {
        max_body_bytes: 1024,
        ..Default::default()
    });
    let big = "edge/m 1 1000\n".repeat(200);
    for route in ["/api/v1/import", "/api/v1/import/prometheus?db=x"] {
        let r = s.post(route, big.as_bytes());
        assert_eq!(r.status, 413, "{route}");
        assert_eq!(r.json()["status"], "error");
    }
    // Chunked, no Content-Length: the limit is enforced while reading.
    let mut t = TcpStream::connect(s.addr).unwrap();
    let mut req = b"POST /api/v1/import HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n".to_vec();
    for _ in 0..4 {
        req.extend_from_slice(format!("{:x}\r\n", 600).as_bytes());
        req.extend_from_slice(&[b'#'; 600]);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"0\r\n\r\n");
    t.write_all(&req).unwrap();
    let mut out = String::new();
    let _ = t.read_to_string(&mut out);
    assert!(out.starts_with("HTTP/1.1 413"), "{out}");
    assert_contained(&s);
    assert_eq!(
        s.get("/api/v1/databases").json()["data"]["result"],
        serde_json::json!([])
    );
}

#[test]
fn bearer_token_guards_writes_and_admin_only() {
    let s = TestServer::with(ServerSettings {
        auth_token: Some("s3cret".into()),
        ..Default::default()
    });
    let r = s.post("/api/v1/import", b"edge/m 1 1767225600000000000\n");
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["errorType"], "unauthorized");
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    let r = s.post_h(
        "/api/v1/import",
        &[("Authorization", "Bearer s3cre")],
        b"edge/m 1 1767225600000000000\n",
    );
    assert_eq!(r.status, 401);
    let r = s.post_h("/api/engine/recompact", &[], b"{}");
    assert_eq!(r.status, 401);
    let r = s.post_h(
        "/api/v1/import",
        &[("Authorization", "Bearer s3cret")],
        b"edge/m 1 1767225600000000000\n",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(s.get("/api/v1/query?query=edge/m").status, 200);
}

#[test]
fn with_auth_reads_the_token_guards_reads_too_but_not_health() {
    let s = TestServer::with(ServerSettings {
        auth_token: Some("s3cret".into()),
        auth_reads: true,
        ..Default::default()
    });
    let ok = [("Authorization", "Bearer s3cret")];
    let r = s.post_h("/api/v1/import", &ok, b"edge/m 1 1767225600000000000\n");
    assert_eq!(r.status, 200, "{}", r.text());
    for path in [
        "/api/v1/query?query=edge/m",
        "/api/v1/query_range?query=edge/m&start=0",
        "/api/v1/databases",
        "/api/v1/labels",
        "/api/engine/database?db=edge",
        "/api/engine/runtime?db=edge",
        "/metrics",
    ] {
        let r = s.get(path);
        assert_eq!(r.status, 401, "{path} without a token");
        assert_eq!(r.header("www-authenticate"), Some("Bearer"), "{path}");
        let r = s.get_h(path, &ok);
        assert_eq!(r.status, 200, "{path}: {}", r.text());
    }
    assert_eq!(s.get("/health").status, 200, "health stays open");
}

#[test]
fn bad_names_never_reach_the_disk() {
    let s = TestServer::start();
    for body in [
        "../evil/m 1 1000\n",
        "./m 1 1000\n",
        "/m 1 1000\n",
        "..%2f/m 1 1000\n",
        ".hidden/m 1 1000\n",
        "-x/m 1 1000\n",
        "a\\b/m 1 1000\n",
    ] {
        let r = s.post("/api/v1/import", body.as_bytes());
        assert_eq!(r.status, 400, "{body}");
    }
    for q in [
        "/api/v1/query?db=..&query=m",
        "/api/v1/query?query=../m",
        "/api/v1/query_range?db=.&query=m&start=0",
        "/api/v1/metrics?db=..",
        "/api/v1/metrics?db=%2Fetc",
        "/api/v1/import/prometheus?db=..",
    ] {
        let r = common::request(
            s.addr,
            if q.contains("import") { "POST" } else { "GET" },
            q,
            &[],
            b"up 1\n",
        );
        assert_eq!(r.status, 400, "{q}: {}", r.text());
    }
    let r = s.post("/api/v1/import/prometheus", b"up{db=\"..\"} 1\n");
    assert_eq!(r.status, 400);
    assert_contained(&s);
    assert_eq!(std::fs::read_dir(s.root()).unwrap().count(), 1);
}

#[test]
fn slow_clients_are_cut_off() {
    let s = TestServer::with(ServerSettings {
        header_timeout: Duration::from_millis(300),
        request_timeout: Duration::from_millis(500),
        ..Default::default()
    });
    // Headers never finished: the connection is closed.
    let mut t = TcpStream::connect(s.addr).unwrap();
    t.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    t.write_all(b"POST /api/v1/import HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let t0 = Instant::now();
    let mut buf = Vec::new();
    let _ = t.read_to_end(&mut buf);
    assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
    // Body never finished: 408, nothing stored.
    let mut t = TcpStream::connect(s.addr).unwrap();
    t.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    t.write_all(
        b"POST /api/v1/import HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nedge/m 1 1000\n",
    )
    .unwrap();
    let mut out = Vec::new();
    let _ = t.read_to_end(&mut out);
    let out = String::from_utf8_lossy(&out);
    assert!(out.starts_with("HTTP/1.1 408"), "{out}");
    assert_eq!(s.get("/health").status, 200);
    assert_contained(&s);
    assert_eq!(std::fs::read_dir(s.root()).unwrap().count(), 1);
}

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Random bytes mixed with fragments both parsers care about.
fn random_body(r: &mut Rng) -> Vec<u8> {
    const PIECES: &[&[u8]] = &[
        b"db/m",
        b"../",
        b".",
        b"/",
        b" ",
        b"\t",
        b"\n",
        b"\r\n",
        b"1",
        b"-2i",
        b"NaN",
        b"+Inf",
        b"1e39",
        b"{",
        b"}",
        b"=",
        b"\"",
        b"\\",
        b",",
        b"#",
        b"db=\"",
        b"up",
        b"1767225600000",
        b"2026-01-01 00:00:00",
        b"\xff",
        b"\xc3\xa9",
        b"\0",
        b"9999999999999999999999",
    ];
    let len = r.below(24);
    let mut out = Vec::new();
    for _ in 0..len {
        if r.below(3) == 0 {
            for _ in 0..r.below(6) {
                out.push(r.next() as u8);
            }
        } else {
            out.extend_from_slice(PIECES[r.below(PIECES.len() as u64) as usize]);
        }
    }
    out
}

#[test]
fn ten_thousand_random_bodies_per_ingest_route() {
    let s = TestServer::start();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for route in [
        "/api/v1/import",
        "/api/v1/import/prometheus",
        "/api/v1/import/prometheus?db=fz",
    ] {
        let mut c = Conn::open(s.addr).unwrap();
        for i in 0..10_000 {
            let body = random_body(&mut rng);
            let ct: &[(&str, &str)] = if i % 7 == 0 {
                &[("Content-Type", "application/json")]
            } else {
                &[]
            };
            let r = c.send("POST", route, ct, &body).unwrap();
            assert!(
                r.status == 200 || r.status == 400,
                "{route} {i}: {} {:?}",
                r.status,
                body
            );
            assert!(r.json()["status"].is_string());
        }
    }
    assert_eq!(s.get("/health").status, 200);
    assert_contained(&s);
}
