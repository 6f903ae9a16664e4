//! Forwarding: reading every stored sample once, in the order it reached a
//! data file, for a remote-write sender (the server's `[[remote_write]]`).
//!
//! Why a byte-position cursor and not a time cursor: out-of-order samples
//! (`[ingest].out_of_order_window`) reach a partition after newer ones, so
//! "everything after time T" would miss them. Frames, on the other hand, are
//! only ever appended to a partition's data file, so "everything after byte
//! N of partition P" misses nothing and is never read twice.
//!
//! A partition's *stream* is `raw-<p>.dat` followed by `data-<p>.dat`: a
//! metric-file build with `raw_ingest_action = "rename"` renames the data
//! file to the raw file, or appends it to an existing raw file, so positions
//! in the stream survive it unchanged. A build with `"delete"` keeps the raw
//! file (renames instead) while a target still has part of it to deliver.
//!
//! Only flushed frames are read: a sample still in an open page (and the
//! WAL) is forwarded once its page flushes (at most `[page].max_age` later,
//! the server flushes idle pages on a timer). Reading the page too would
//! need to remember which of its samples were sent when it later becomes a
//! frame (sorted, so not in write order) — a second record of the data that
//! a crash would have to keep consistent.
//!
//! The cursor file format is in docs/FORMATS.md ("remote-write cursor").

use std::path::Path;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

mod cursor;
mod read;

pub use cursor::{CURSOR_VERSION, Cursor, CursorFile, DbPositions, StreamPos};
pub use read::{ForwardBuffers, ForwardChunk, ForwardSample};

/// The path of a target's cursor file under the root.
pub fn cursor_path(root: &Path, target: &str) -> std::path::PathBuf {
    crate::layout::remote_write_dir(root).join(format!("{target}.cursor"))
}

/// Which databases a target forwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbSelection {
    /// Every database except `internal` (the server's self-metrics).
    AllButInternal,
    /// Exactly these.
    Only(Vec<String>),
}

impl DbSelection {
    /// Whether `db` is forwarded.
    pub fn contains(&self, db: &str) -> bool {
        match self {
            DbSelection::AllButInternal => db != crate::stats::INTERNAL_DB,
            DbSelection::Only(v) => v.iter().any(|d| d == db),
        }
    }
}

/// What a target has delivered, as retention and metric-file builds see it:
/// a partition a target still has to read is kept (unless the target is
/// more than `max_lag` behind).
#[derive(Debug)]
pub struct ForwardHold {
    /// Target name (for the log).
    pub name: String,
    /// The databases it forwards.
    pub databases: DbSelection,
    /// Delivered positions (updated by the sender after each acknowledged
    /// batch).
    delivered: Mutex<Cursor>,
    /// `max_lag` in ns; `None` = hold for ever.
    pub max_lag_ns: Option<i64>,
    /// Wall clock (ns) when the target last had nothing left to send.
    caught_up_at: AtomicI64,
    /// The target is waiting for new frames with nothing left to send (its
    /// lag is 0 however long it waits).
    idle: std::sync::atomic::AtomicBool,
    /// Partitions removed by retention although this target had not
    /// delivered them (it was more than `max_lag` behind).
    released: AtomicU64,
}

impl ForwardHold {
    /// A hold starting at `delivered`.
    pub fn new(
        name: &str,
        databases: DbSelection,
        max_lag_ns: Option<i64>,
        delivered: Cursor,
    ) -> ForwardHold {
        ForwardHold {
            name: name.to_string(),
            databases,
            delivered: Mutex::new(delivered),
            max_lag_ns,
            caught_up_at: AtomicI64::new(crate::time::now_ns()),
            idle: std::sync::atomic::AtomicBool::new(false),
            released: AtomicU64::new(0),
        }
    }

    /// Records what the target has delivered now.
    pub fn set_delivered(&self, c: &Cursor) {
        c.clone_into(&mut self.delivered.lock().unwrap_or_else(|p| p.into_inner()));
    }

    /// Records that the target had nothing left to send at `now`.
    pub fn set_caught_up(&self, now: i64) {
        self.caught_up_at.store(now, Ordering::Relaxed);
    }

    /// Marks the target as waiting with nothing left to send (`true`), or
    /// as awake again (`false`, which also records it caught up until now).
    pub fn set_idle(&self, idle: bool) {
        if !idle {
            self.set_caught_up(crate::time::now_ns());
        }
        self.idle.store(idle, Ordering::Relaxed);
    }

    /// How far behind the target is at `now`: 0 when caught up at `now` or
    /// idle, else the time since it last was.
    pub fn lag_ns(&self, now: i64) -> i64 {
        if self.idle.load(Ordering::Relaxed) {
            return 0;
        }
        now.saturating_sub(self.caught_up_at.load(Ordering::Relaxed))
            .max(0)
    }

    /// Partitions retention removed undelivered because of `max_lag`.
    pub fn released(&self) -> u64 {
        self.released.load(Ordering::Relaxed)
    }

    /// Whether the target has delivered all of a partition whose stream is
    /// `len` bytes long.
    fn delivered_all(&self, db: &str, key: &str, len: u64) -> bool {
        if !self.databases.contains(db) {
            return true;
        }
        let d = self.delivered.lock().unwrap_or_else(|p| p.into_inner());
        d.pos(db, key).offset >= len
    }
}

/// Every target's hold, shared by the engine's databases.
#[derive(Default)]
pub struct ForwardHolds {
    holds: RwLock<Vec<Arc<ForwardHold>>>,
    /// Frames appended (or partitions rewritten) since the engine opened:
    /// a sender that saw no change since its last read has nothing new to
    /// read, and skips listing databases and partitions.
    appended: AtomicU64,
    /// Called after each counted append (senders waiting for frames).
    listeners: RwLock<Vec<AppendListener>>,
}

/// A function called after each frame appended to a data file: it must not
/// block (it runs under the database's lock), e.g. a `Notify::notify_one`.
pub type AppendListener = Arc<dyn Fn() + Send + Sync>;

impl std::fmt::Debug for ForwardHolds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ForwardHolds")
            .field("holds", &self.holds)
            .field("appended", &self.appended)
            .finish_non_exhaustive()
    }
}

/// What the holds say about removing a partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HoldVerdict {
    /// No target needs it.
    Free,
    /// A target still has to deliver it: keep it.
    Held(String),
    /// Targets had not delivered it but are past `max_lag`: remove it
    /// (named for the log).
    Released(Vec<String>),
}

impl ForwardHolds {
    /// Adds a target's hold.
    pub fn add(&self, hold: Arc<ForwardHold>) {
        self.holds
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .push(hold);
    }

    /// Whether a partition whose stream is `len` bytes may be removed at
    /// `now`. `commit` counts the release in the targets' `released`.
    pub(crate) fn verdict(
        &self,
        db: &str,
        key: &str,
        len: u64,
        now: i64,
        commit: bool,
    ) -> HoldVerdict {
        let holds = self.holds.read().unwrap_or_else(|p| p.into_inner());
        let mut released = Vec::new();
        for h in holds.iter() {
            if h.delivered_all(db, key, len) {
                continue;
            }
            match h.max_lag_ns {
                Some(max) if h.lag_ns(now) > max => released.push(h.clone()),
                _ => return HoldVerdict::Held(h.name.clone()),
            }
        }
        if released.is_empty() {
            return HoldVerdict::Free;
        }
        if commit {
            for h in &released {
                h.released.fetch_add(1, Ordering::Relaxed);
            }
        }
        HoldVerdict::Released(released.iter().map(|h| h.name.clone()).collect())
    }

    /// Counts a frame appended to (or a rewrite of) a data file. Called
    /// after the new length is recorded, so a reader that sees the new
    /// count also sees the length.
    pub(crate) fn note_appended(&self) {
        self.appended.fetch_add(1, Ordering::Release);
        for f in self
            .listeners
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            f();
        }
    }

    /// Registers a function called after each counted append, so a sender
    /// waits for frames instead of polling for them.
    pub fn on_append(&self, f: AppendListener) {
        self.listeners
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .push(f);
    }

    /// How many appends [`Self::note_appended`] counted: unchanged means no
    /// database has new frames since it was last read.
    pub fn appended(&self) -> u64 {
        self.appended.load(Ordering::Acquire)
    }

    /// Whether any target is registered.
    pub(crate) fn is_empty(&self) -> bool {
        self.holds
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .is_empty()
    }
}
