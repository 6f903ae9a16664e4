//! Longer faults than the main fault run: our own disk filling up while
//! forwarding, or full when a new target starts (a real ENOSPC on a small
//! tmpfs; needs root, as CI has), and the receiver away for a full minute.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nanotdb_testkit::free_addr;
use nanotdb_testkit::tmpfs::{Tmpfs, fill};

use super::support::*;

fn target(url: SocketAddr, max_backoff: &str) -> String {
    format!(
        r#"
[[remote_write]]
name = "vm"
url = "http://{url}/api/v1/write"
max_samples_per_send = {BATCH}
batch_deadline = "200ms"
min_backoff = "50ms"
max_backoff = "{max_backoff}"
timeout = "3s"
"#
    )
}

#[test]
fn our_disk_filling_up_while_forwarding_loses_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let fs = Tmpfs::mount("16m");
    let vm_addr = free_addr();
    let _receiver = vm(&tmp.path().join("vm"), vm_addr);
    let root = fs.dir.path().join("root");
    config(&root, &target(vm_addr, "400ms"));
    let addr = free_addr();
    let mut server = nanotdb(&root, addr);
    let stop = Arc::new(AtomicBool::new(false));
    let failed = Arc::new(AtomicU64::new(0));
    let base_ms = base_ms();
    let w = writer(
        Arc::new(Mutex::new(addr)),
        stop.clone(),
        failed.clone(),
        base_ms,
    );
    wait_for(addr, 20, "nothing forwarded", |t| {
        t["samples_sent"].as_u64().unwrap_or(0) > 0
    });
    let cursor = root.join("remote_write").join("vm.cursor");
    assert!(cursor.is_file(), "no cursor after the first batch");

    // The disk fills: writes are refused, the sender goes on with what was
    // flushed, and its cursor saves (in place, no new block) still succeed.
    fill(&fs.dir.path().join("filler"));
    let t0 = Instant::now();
    while failed.load(Ordering::SeqCst) < 3 {
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "writes kept succeeding on a full disk"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_secs(3));
    let full = target_status(addr);
    assert_eq!(full["last_error"], serde_json::Value::Null, "{full}");
    assert_eq!(full["samples_dropped"], 0, "{full}");

    // Room again: writes succeed, the backlog goes out; then kill -9 and a
    // restart on the same root.
    std::fs::remove_file(fs.dir.path().join("filler")).unwrap();
    let refused_while_full = failed.load(Ordering::SeqCst);
    let t0 = Instant::now();
    let sent_before = full["samples_sent"].as_u64().unwrap_or(0);
    wait_for(addr, 20, "nothing forwarded after the disk had room", |t| {
        t["samples_sent"].as_u64().unwrap_or(0) > sent_before
    });
    std::thread::sleep(Duration::from_secs(2).saturating_sub(t0.elapsed()));
    server.signal(libc::SIGKILL);
    std::thread::sleep(Duration::from_millis(500));
    server = nanotdb(&root, addr);
    std::thread::sleep(Duration::from_secs(2));
    stop.store(true, Ordering::SeqCst);
    let acked = w.join().unwrap();
    let st = wait_drained(addr);
    let (n_ours, doubles) =
        assert_delivered_once(&root, vm_addr, &acked, &BTreeMap::new(), base_ms);
    eprintln!(
        "stored {n_ours}, writes refused while full {refused_while_full}, doubles {doubles}, status {st}"
    );
    drop(server);
}

#[test]
fn a_new_target_on_a_full_disk_sends_nothing_until_its_cursor_exists() {
    let tmp = tempfile::tempdir().unwrap();
    let fs = Tmpfs::mount("16m");
    let vm_addr = free_addr();
    let _receiver = vm(&tmp.path().join("vm"), vm_addr);
    let root = fs.dir.path().join("root");
    // The target's config is written now and renamed into place later: a
    // full disk has no block for a new file, a rename needs none.
    config(&root, &target(vm_addr, "400ms"));
    let with_target = fs.dir.path().join("with-target.toml");
    std::fs::rename(root.join("engine.toml"), &with_target).unwrap();
    config(&root, "");
    let addr = free_addr();
    let mut server = nanotdb(&root, addr);
    let stop = Arc::new(AtomicBool::new(false));
    let failed = Arc::new(AtomicU64::new(0));
    let base_ms = base_ms();
    let w = writer(
        Arc::new(Mutex::new(addr)),
        stop.clone(),
        failed.clone(),
        base_ms,
    );
    std::thread::sleep(Duration::from_secs(3));
    // Stored without a target; then the disk fills and the server starts
    // with a new target (its lock file, rewritten, reuses its own block).
    server.signal(libc::SIGTERM);
    let filler = fs.dir.path().join("filler");
    fill(&filler);
    std::fs::rename(&with_target, root.join("engine.toml")).unwrap();
    server = nanotdb(&root, addr);
    let cursor = root.join("remote_write").join("vm.cursor");
    wait_for(addr, 20, "no cursor error on a full disk", |t| {
        t["last_error"]
            .as_str()
            .is_some_and(|e| e.starts_with("cursor:") && e.contains("No space left"))
    });
    std::thread::sleep(Duration::from_secs(2));
    let full = target_status(addr);
    assert_eq!(full["samples_sent"], 0, "{full}");
    assert!(
        full["last_error"].as_str().unwrap().starts_with("cursor:"),
        "{full}"
    );
    assert!(!cursor.exists());
    assert!(exported(vm_addr).is_empty(), "sent without a cursor");

    // Room again: the cursor is created and the backlog goes out; then
    // kill -9 and a restart on the same root.
    std::fs::remove_file(&filler).unwrap();
    wait_for(addr, 20, "nothing forwarded after the disk had room", |t| {
        t["samples_sent"].as_u64().unwrap_or(0) > 0 && t["last_error"].is_null()
    });
    assert!(cursor.is_file());
    std::thread::sleep(Duration::from_secs(1));
    server.signal(libc::SIGKILL);
    std::thread::sleep(Duration::from_millis(300));
    server = nanotdb(&root, addr);
    std::thread::sleep(Duration::from_secs(2));
    stop.store(true, Ordering::SeqCst);
    let acked = w.join().unwrap();
    let st = wait_drained(addr);
    let (n_ours, doubles) =
        assert_delivered_once(&root, vm_addr, &acked, &BTreeMap::new(), base_ms);
    eprintln!(
        "stored {n_ours}, writes refused {}, doubles {doubles}, status while full {full}, at the end {st}",
        failed.load(Ordering::SeqCst)
    );
    drop(server);
}

/// The gaps between the proxy's request arrivals within `[from, to)`.
fn gaps(arrivals: &[Instant], from: Instant, to: Instant) -> Vec<f64> {
    let within: Vec<Instant> = arrivals
        .iter()
        .copied()
        .filter(|t| *t >= from && *t < to)
        .collect();
    within
        .windows(2)
        .map(|w| (w[1] - w[0]).as_secs_f64())
        .collect()
}

#[test]
fn a_minute_without_the_receiver_backs_off_to_max_backoff_and_recovers() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let vm_dir = tmp.path().join("vm");
    let vm_addr = free_addr();
    let mut receiver = vm(&vm_dir, vm_addr);
    let (proxy_addr, proxy) = start_proxy(vm_addr);
    config(&root, &target(proxy_addr, "2s"));
    let addr = free_addr();
    let server = nanotdb(&root, addr);
    let stop = Arc::new(AtomicBool::new(false));
    let base_ms = base_ms();
    let w = writer(
        Arc::new(Mutex::new(addr)),
        stop.clone(),
        Default::default(),
        base_ms,
    );
    std::thread::sleep(Duration::from_secs(3));

    // The receiver is gone for a minute (connections cut, program stopped)
    // while writes go on.
    proxy.mode.store(CUT, Ordering::SeqCst);
    receiver.signal(libc::SIGTERM);
    let out = Instant::now();
    std::thread::sleep(Duration::from_secs(60));
    let t = target_status(addr);
    assert_ne!(t["last_error"], serde_json::Value::Null, "{t}");
    assert!(t["lag_seconds"].as_f64().unwrap() > 55.0, "{t}");
    assert!(t["pending_bytes"].as_u64().unwrap() > 0, "{t}");
    // Backoff doubles from 50 ms and stays at max_backoff (2 s; each delay
    // drawn in [1 s, 2 s]): over the last 30 s of the outage, every gap
    // between attempts is a max_backoff delay (plus the failed attempt).
    let arrivals = proxy.arrivals.lock().unwrap().clone();
    let last = gaps(
        &arrivals,
        out + Duration::from_secs(30),
        out + Duration::from_secs(60),
    );
    assert!((13..=31).contains(&last.len()), "{last:?}");
    assert!(
        last.iter().all(|g| (0.95..2.6).contains(g)),
        "not at max_backoff: {last:?}"
    );
    let first = gaps(&arrivals, out, out + Duration::from_secs(5));
    assert!(
        first.iter().any(|g| *g < 0.5),
        "no short delays at the start: {first:?}"
    );

    // Back: within one max_backoff the sender gets through, and everything
    // stored arrives once.
    receiver = vm(&vm_dir, vm_addr);
    proxy.mode.store(PASS, Ordering::SeqCst);
    let back = Instant::now();
    let sent = t["samples_sent"].as_u64().unwrap_or(0);
    wait_for(addr, 10, "no batch after the receiver came back", |t| {
        t["samples_sent"].as_u64().unwrap_or(0) > sent
    });
    let recovered = back.elapsed();
    stop.store(true, Ordering::SeqCst);
    let acked = w.join().unwrap();
    let st = wait_drained(addr);
    let (n_ours, doubles) =
        assert_delivered_once(&root, vm_addr, &acked, &BTreeMap::new(), base_ms);
    eprintln!(
        "stored {n_ours}, doubles {doubles}; first batch {recovered:?} after the receiver came back; status {st}"
    );
    drop(server);
    drop(receiver);
}
