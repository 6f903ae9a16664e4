//! One target's sender task (on its own thread: `super::start`): read →
//! batch → send (with retries) → persist
//! the cursor, for ever.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use nanotdb::forward::{Cursor, CursorFile, ForwardBuffers, ForwardChunk};
use nanotdb::labels::Matcher;

use super::Target;
use super::client::Client;
use super::encode::{Batch, encode_labels};
use crate::SharedState;

/// Wait before reading again after a pass that could not read everything
/// (a read error, a file renamed by a metric-file build meanwhile).
const POLL: Duration = Duration::from_millis(500);

/// Longest wait for the engine's "frames appended" signal when caught up:
/// a safety net only (every frame append signals, and the signal keeps a
/// permit, so none is lost; an idle target reports no lag), so idle costs
/// one wake-up per this. At the edge rate (a page a minute) a 5 s net woke
/// the sender a dozen times per batch.
const IDLE_WAIT: Duration = Duration::from_secs(60);

/// Encoded labels of each metric id of one database; `None` = not
/// forwarded (no selector matches).
#[derive(Default)]
struct DbSeries {
    labels: Vec<Option<Arc<[u8]>>>,
}

/// The labels of every series seen, per database, and the database slots
/// of the batch's series keys.
#[derive(Default)]
struct Names {
    by_db: HashMap<String, DbSeries>,
    slots: Vec<String>,
}

/// What one pass over the databases found.
struct Fill {
    /// Stopped because the batch is full.
    full: bool,
    /// Bytes of frames left unread.
    pending_bytes: u64,
}

fn matches(selectors: &[Vec<Matcher>], labels: &[(String, String)]) -> bool {
    let value = |name: &str| {
        labels
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    };
    selectors.is_empty()
        || selectors
            .iter()
            .any(|sel| sel.iter().all(|m| m.matches(value(&m.name))))
}

/// The labels sent for a stored series: its own (`__name__` included) plus
/// `db`, sorted by name as remote write requires.
fn series_labels(db: &str, name: &str) -> Vec<(String, String)> {
    let mut labels: Vec<(String, String)> = nanotdb::labels::labels_of(name)
        .into_iter()
        .filter(|(k, _)| k != "db")
        .collect();
    labels.push(("db".into(), db.into()));
    labels.sort();
    labels
}

/// Runs a target until the task is aborted.
pub async fn run(st: SharedState, t: Arc<Target>) {
    let (file, mut cursor) = match CursorFile::open(&t.cursor_path, &t.cfg.url) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(target = %t.cfg.name, "remote write stopped: {e}");
            t.set_error(e.to_string());
            return;
        }
    };
    let file = Arc::new(Mutex::new(file));
    create_cursor(&t, &file, &cursor).await;
    // Woken by every frame appended (a permit is kept when nobody waits,
    // so no append between a read and the wait is missed).
    let appended_signal = Arc::new(tokio::sync::Notify::new());
    {
        let n = appended_signal.clone();
        st.engine
            .on_forward_append(Arc::new(move || n.notify_one()));
    }
    let mut client = Client::new(&t.cfg);
    let mut reading = Reading::default();
    let mut next_send = Instant::now();
    // The engine's append count when a read last found nothing left: while
    // it stays the same there is nothing to read (no directory listing, no
    // partition lock, no file open while idle).
    let mut idle_at: Option<u64> = None;
    let mut batch = Batch::default();
    // The cursor of the last batch, acknowledged but not saved yet: saved
    // by the next pass's engine call, before it reads (one call per
    // batch instead of two). `bool`: nothing was
    // left to send after it.
    let mut unsaved: Option<bool> = None;
    loop {
        let mut pending = cursor.clone();
        batch.clear();
        // The deadline counts from the batch's first sample.
        let mut started = Instant::now();
        let pending_bytes = loop {
            let appended = st.engine.forward_appended();
            let fill = if idle_at == Some(appended) && unsaved.is_none() {
                Fill {
                    full: false,
                    pending_bytes: 0,
                }
            } else {
                let save = unsaved
                    .take()
                    .map(|done| (file.clone(), cursor.clone(), done));
                match fill(&st, &t, &mut pending, &mut batch, &mut reading, save) {
                    Ok(f) => {
                        idle_at = (!f.full && f.pending_bytes == 0).then_some(appended);
                        f
                    }
                    Err(e) => {
                        idle_at = None;
                        tracing::warn!(target = %t.cfg.name, "remote write: reading failed: {e}");
                        t.set_error(format!("read: {e}"));
                        tokio::time::sleep(POLL).await;
                        continue;
                    }
                }
            };
            t.stats
                .pending_bytes
                .store(fill.pending_bytes, Ordering::Relaxed);
            if fill.full || (batch.samples > 0 && started.elapsed() >= t.cfg.batch_deadline) {
                // A full batch may have left databases unread: their
                // backlog is unknown, so not "caught up".
                break if fill.full {
                    u64::MAX
                } else {
                    fill.pending_bytes
                };
            }
            if batch.samples == 0 {
                started = Instant::now();
                if fill.pending_bytes == 0 {
                    t.hold.set_caught_up(nanotdb::time::now_ns());
                }
                if pending != cursor {
                    // Only filtered-out samples were read: nothing to send,
                    // but the position moved.
                    break fill.pending_bytes;
                }
            }
            let left = t.cfg.batch_deadline.saturating_sub(started.elapsed());
            let wait = match (idle_at.is_some(), batch.samples > 0) {
                (false, _) => left.min(POLL),
                (true, true) => left,
                (true, false) => IDLE_WAIT,
            };
            let idle = idle_at.is_some() && batch.samples == 0;
            if idle {
                t.hold.set_idle(true);
            }
            tokio::select! {
                () = appended_signal.notified() => {}
                () = tokio::time::sleep(wait) => {}
            }
            if idle {
                t.hold.set_idle(false);
            }
        };
        if batch.samples > 0 {
            rate_limit(&t, batch.samples, &mut next_send).await;
            deliver(&st, &t, &mut client, &mut batch, &pending).await;
        }
        // Acknowledged (or refused for good): persisted by the next pass,
        // which starts at once (nothing waits between the two).
        cursor = pending;
        unsaved = Some(pending_bytes == 0);
    }
}

/// Creates the cursor file before the first batch, retrying (with the
/// target's backoff) until it exists. Why wait: a batch sent before its
/// cursor can be recorded would be sent again after a crash, with every
/// batch after it; and once the file exists, its saves are in place and
/// need no new block when the disk fills later.
async fn create_cursor(t: &Target, file: &Arc<Mutex<CursorFile>>, c: &Cursor) {
    let mut delay = t.cfg.min_backoff;
    let mut failed = false;
    loop {
        let (f, c) = (file.clone(), c.clone());
        match off(move || f.lock().unwrap_or_else(|p| p.into_inner()).create(&c)).await {
            Ok(()) => {
                if failed {
                    tracing::info!(target = %t.cfg.name, "remote write: cursor file created");
                    t.set_error(String::new());
                }
                return;
            }
            Err(e) => {
                if !failed {
                    tracing::warn!(target = %t.cfg.name, "remote write: cannot create the cursor file, nothing is sent until it exists: {e}");
                }
                failed = true;
                t.set_error(format!("cursor: {e}"));
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(t.cfg.max_backoff);
            }
        }
    }
}

/// A cursor to save before a pass reads: the file, the cursor, and
/// whether nothing was left to send after its batch.
type Save = (Arc<Mutex<CursorFile>>, Cursor, bool);

/// Saves the cursor of an acknowledged batch, then tells retention.
fn save(file: &Mutex<CursorFile>, c: &Cursor) -> Result<(), String> {
    file.lock()
        .unwrap_or_else(|p| p.into_inner())
        .save(c)
        .map_err(|e| e.to_string())
}

/// After a save ([`save`]): a failure is shown, and retention learns the
/// new position either way — the batch is delivered; a crash before the
/// next successful save re-sends from the older cursor.
fn saved(t: &Target, c: &Cursor, done: bool, r: Result<(), String>) {
    if let Err(e) = r {
        tracing::error!(target = %t.cfg.name, "remote write: cursor not saved: {e}");
        t.set_error(format!("cursor: {e}"));
    }
    t.hold.set_delivered(c);
    if done {
        t.hold.set_caught_up(nanotdb::time::now_ns());
    }
}

/// Runs engine work (file reads, cursor saves). Inline: the sender has a
/// thread and runtime of its own ([`super::start`]), so blocking it holds
/// up nothing else, and a hand-off to a blocking pool would cost two
/// thread wake-ups per call.
async fn off<T>(f: impl FnOnce() -> nanotdb::Result<T>) -> Result<T, String> {
    f().map_err(|e| e.to_string())
}

/// Waits so that at most `max_samples_per_second` are sent on average.
async fn rate_limit(t: &Target, n: usize, next_send: &mut Instant) {
    let Some(rate) = t.cfg.max_samples_per_second else {
        return;
    };
    let now = Instant::now();
    if *next_send > now {
        tokio::time::sleep_until((*next_send).into()).await;
    }
    let base = (*next_send).max(now);
    *next_send = base + Duration::from_secs_f64(n as f64 / rate as f64);
}

/// The databases a target reads: every database on disk, listed once (a
/// backlog from before the start), then those open in this process (only
/// an open database gets new frames), without listing the root again.
#[derive(Default)]
struct DbList {
    listed: Option<Vec<String>>,
}

impl DbList {
    fn current(&mut self, eng: &nanotdb::Engine) -> nanotdb::Result<Vec<String>> {
        let listed = match self.listed.take() {
            Some(l) => l,
            None => eng.databases()?,
        };
        let mut all = listed.clone();
        for d in eng.open_databases() {
            if !all.contains(&d) {
                all.push(d);
            }
        }
        all.sort();
        self.listed = Some(listed);
        Ok(all)
    }
}

/// What [`fill`] keeps from pass to pass: the labels of the series seen,
/// the database list, the read buffers (allocated once, see
/// [`ForwardBuffers`]).
#[derive(Default)]
struct Reading {
    names: Names,
    dbs: DbList,
    bufs: ForwardBuffers,
    chunk: ForwardChunk,
}

/// Reads every forwarded database into `batch` until it is full, advancing
/// `pending`; saves `save_first` before. The engine work runs inline (see
/// [`off`]), each database's samples going into the batch as soon as they
/// are read.
fn fill(
    st: &SharedState,
    t: &Target,
    pending: &mut Cursor,
    batch: &mut Batch,
    r: &mut Reading,
    save_first: Option<Save>,
) -> Result<Fill, String> {
    let eng = &st.engine;
    if let Some((file, c, done)) = save_first {
        let saved_ok = save(&file, &c);
        saved(t, &c, done, saved_ok);
    }
    let dbs = r.dbs.current(eng).map_err(|e| e.to_string())?;
    let mut room = t.cfg.max_samples_per_send - batch.samples;
    let mut out = Fill {
        full: false,
        pending_bytes: 0,
    };
    let empty = Default::default();
    for db in dbs.into_iter().filter(|d| t.cfg.databases.contains(d)) {
        if room == 0 {
            // Not read: its backlog is unknown until the next pass.
            out.full = true;
            continue;
        }
        let pos = pending.databases.get(&db).unwrap_or(&empty);
        eng.forward_read_into(&db, pos, room, &mut r.bufs, &mut r.chunk)
            .map_err(|e| e.to_string())?;
        let chunk = &mut r.chunk;
        room = room.saturating_sub(chunk.samples.len());
        out.pending_bytes += chunk.pending_bytes;
        out.full |= chunk.more;
        if chunk.unknown > 0 {
            tracing::warn!(target = %t.cfg.name, db, n = chunk.unknown, "samples of unknown metric ids skipped");
        }
        add_chunk(eng, t, &db, chunk, batch, &mut r.names)?;
        // No entry for a database nothing was read of: an empty one would
        // change the cursor, and so cost a save, for nothing.
        if !chunk.positions.is_empty() {
            let d = pending.databases.entry(db.clone()).or_default();
            for (k, p) in chunk.positions.drain(..) {
                d.insert(k, p);
            }
        }
        let keep: std::collections::HashSet<&str> =
            chunk.partitions.iter().map(String::as_str).collect();
        pending.retain_partitions(&db, &|k| keep.contains(k));
    }
    Ok(out)
}

/// Bytes of frames of the target's databases after `pending`.
async fn backlog(st: &SharedState, t: &Arc<Target>, pending: &Cursor) -> Result<u64, String> {
    let (eng, t, pending) = (st.engine.clone(), t.clone(), pending.clone());
    off(move || {
        let mut dbs: Vec<String> = pending.databases.keys().cloned().collect();
        for d in eng.open_databases() {
            if !dbs.contains(&d) {
                dbs.push(d);
            }
        }
        let empty = Default::default();
        let mut n = 0;
        for db in dbs.iter().filter(|d| t.cfg.databases.contains(d)) {
            n += eng.forward_pending_bytes(db, pending.databases.get(db).unwrap_or(&empty))?;
        }
        Ok(n)
    })
    .await
}

/// Adds a chunk's samples of forwarded series to the batch.
fn add_chunk(
    eng: &nanotdb::Engine,
    t: &Target,
    db: &str,
    chunk: &ForwardChunk,
    batch: &mut Batch,
    names: &mut Names,
) -> Result<(), String> {
    if chunk.samples.is_empty() {
        return Ok(());
    }
    let max_id = chunk.samples.iter().map(|s| s.id).max().unwrap_or(0);
    let known = names
        .by_db
        .get(db)
        .is_some_and(|s| s.labels.len() > usize::from(max_id));
    if !known {
        let metrics = eng.metrics(db).map_err(|e| e.to_string())?;
        let mut labels = vec![None; usize::from(max_id) + 1];
        for m in metrics {
            let l = series_labels(db, &m.name);
            let slot = usize::from(m.id);
            if slot >= labels.len() {
                labels.resize(slot + 1, None);
            }
            if matches(&t.cfg.selectors, &l) {
                labels[slot] = Some(encode_labels(&l));
            }
        }
        names.by_db.insert(db.to_string(), DbSeries { labels });
    }
    let slot = match names.slots.iter().position(|d| d == db) {
        Some(i) => i,
        None => {
            names.slots.push(db.to_string());
            names.slots.len() - 1
        }
    };
    let Some(series) = names.by_db.get(db) else {
        return Ok(());
    };
    for s in &chunk.samples {
        let Some(Some(labels)) = series.labels.get(usize::from(s.id)) else {
            continue;
        };
        batch.push((slot, s.id), labels, s.ts.div_euclid(1_000_000), s.value);
    }
    Ok(())
}

/// Sends a batch until the receiver acknowledges it (2xx) or refuses it
/// for good (4xx but 429); retries everything else with exponential
/// backoff and jitter.
/// `pending` is the cursor after the batch: while retrying, the backlog
/// behind it is recounted for the status (frames keep coming in an outage).
async fn deliver(
    st: &SharedState,
    t: &Arc<Target>,
    client: &mut Client,
    batch: &mut Batch,
    pending: &Cursor,
) {
    let n = batch.samples;
    // A copy of the compressed body (tens of kilobytes): the batch keeps
    // its larger encoding buffers for the next one.
    let body = match batch.encode() {
        Ok(b) => Bytes::copy_from_slice(b),
        Err(e) => {
            // Cannot happen for a well-formed request; never loop on it.
            tracing::error!(target = %t.cfg.name, "remote write: encoding failed, batch skipped: {e}");
            t.stats.dropped.fetch_add(n as u64, Ordering::Relaxed);
            return;
        }
    };
    let mut backoff = t.cfg.min_backoff;
    loop {
        t.stats.requests.fetch_add(1, Ordering::Relaxed);
        let r = client.post(body.clone()).await;
        let err = match r {
            Ok(a) if (200..300).contains(&a.status) => {
                t.stats.sent.fetch_add(n as u64, Ordering::Relaxed);
                t.stats
                    .last_success_ns
                    .store(nanotdb::time::now_ns(), Ordering::Relaxed);
                t.set_error(String::new());
                return;
            }
            Ok(a) if (400..500).contains(&a.status) && a.status != 429 => {
                let msg = format!("HTTP {}: {}", a.status, a.body);
                tracing::warn!(target = %t.cfg.name, samples = n, "remote write: batch refused, skipped: {msg}");
                t.stats.dropped.fetch_add(n as u64, Ordering::Relaxed);
                t.set_error(msg);
                return;
            }
            Ok(a) => format!("HTTP {}: {}", a.status, a.body),
            Err(e) => e,
        };
        t.stats.failed.fetch_add(n as u64, Ordering::Relaxed);
        tracing::debug!(target = %t.cfg.name, "remote write: retrying in ~{backoff:?}: {err}");
        t.set_error(err);
        match backlog(st, t, pending).await {
            Ok(b) => t.stats.pending_bytes.store(b, Ordering::Relaxed),
            Err(e) => {
                tracing::debug!(target = %t.cfg.name, "remote write: backlog not counted: {e}")
            }
        }
        // Full jitter over the upper half: spread retries of many boxes.
        let half = backoff / 2;
        let jitter = half.mul_f64(fastrand::f64());
        tokio::time::sleep(half + jitter).await;
        backoff = (backoff * 2).min(t.cfg.max_backoff);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_selectors() {
        let l = series_labels("edge", "up{db=\"x\",job=\"a\"}");
        assert_eq!(
            l,
            [
                ("__name__".to_string(), "up".to_string()),
                ("db".into(), "edge".into()),
                ("job".into(), "a".into())
            ]
        );
        let l2 = series_labels("edge", "cpu.load");
        assert_eq!(l2[0], ("__name__".into(), "cpu.load".into()));
        let sel = |s: &str| nanotdb::selector::parse_selector(s).unwrap();
        assert!(matches(&[], &l));
        assert!(matches(&[sel("up")], &l));
        assert!(matches(&[sel("nope"), sel("{job=~\"a|b\"}")], &l));
        assert!(!matches(&[sel("up{job!=\"a\"}")], &l));
        assert!(matches(&[sel("{db=\"edge\"}")], &l));
    }
}
