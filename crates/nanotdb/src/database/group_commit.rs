//! Group commit under `fsync_policy = "always"`: writers of one database
//! that arrive while another's fsync is under way share the next one.
//!
//! Each writer queues a copy of its samples. The writer at the front of the
//! queue leads: it takes the database lock, then every write queued by then,
//! and commits them as one: one dry run over all of them in queue order
//! (each sample checked as if every write before it had been stored), one
//! WAL write group, one fsync, then the pages. The others wait for their
//! outcome. So the guarantees of a single write hold for every member: a
//! write is acknowledged only once an fsync that covers it is done, and a
//! WAL write or fsync that fails stores nothing of any member (all of them
//! are answered with the error). At a crash the group is replayed whole or
//! not at all, which is stricter than one write group per member.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex};

use super::ingest::DryRun;
use super::*;

/// Largest number of samples one leader commits at once, so a writer at the
/// back of a long queue is not held up by a huge group.
const MAX_GROUP_SAMPLES: usize = 1 << 20;

/// What one member of a group gets back: as [`crate::WriteReport`], with
/// rejections indexed within the member's own samples.
#[derive(Debug)]
pub(crate) struct GroupOutcome {
    /// Samples stored.
    pub accepted: u64,
    /// Samples identical to one already stored or queued before them.
    pub duplicates: u64,
    /// (index, reason) of each rejected sample.
    pub rejected: Vec<(usize, Error)>,
    /// An I/O failure of the commit (samples counted in `accepted` stay
    /// stored, as after a failed single write).
    pub result: Result<()>,
    /// Whether the rollup trigger asks for a pass (set for the leader only).
    pub queue_rollup: bool,
}

impl Default for GroupOutcome {
    fn default() -> Self {
        GroupOutcome {
            accepted: 0,
            duplicates: 0,
            rejected: Vec::new(),
            result: Ok(()),
            queue_rollup: false,
        }
    }
}

/// One queued write: its samples (names in one arena) and, once committed,
/// its outcome.
struct Member {
    atomic: bool,
    names: String,
    samples: Vec<(usize, usize, i64, Value)>,
    outcome: Mutex<Option<GroupOutcome>>,
}

impl Member {
    fn new<'a>(run: impl Iterator<Item = (&'a str, i64, Value)>, atomic: bool) -> Member {
        let mut names = String::new();
        let mut samples = Vec::with_capacity(run.size_hint().0);
        for (metric, ts, value) in run {
            let start = names.len();
            names.push_str(metric);
            samples.push((start, names.len(), ts, value));
        }
        Member {
            atomic,
            names,
            samples,
            outcome: Mutex::new(None),
        }
    }

    fn samples(&self) -> impl Iterator<Item = (&str, i64, Value)> + Clone {
        self.samples
            .iter()
            .map(|&(a, b, ts, v)| (&self.names[a..b], ts, v))
    }

    fn is_done(&self) -> bool {
        self.outcome
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
    }

    fn finish(&self, outcome: GroupOutcome) {
        *self.outcome.lock().unwrap_or_else(|p| p.into_inner()) = Some(outcome);
    }

    fn take(&self) -> GroupOutcome {
        self.outcome
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .unwrap_or_else(|| GroupOutcome {
                result: Err(Error::io(
                    Path::new("<group commit>"),
                    std::io::Error::other("the commit of this write was abandoned"),
                )),
                ..GroupOutcome::default()
            })
    }
}

/// The queue of writes waiting for a group commit of one database.
#[derive(Default)]
pub(crate) struct CommitQueue {
    queue: Mutex<VecDeque<Arc<Member>>>,
    turn: Condvar,
}

impl CommitQueue {
    /// Writes queued now (the one being committed included).
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.queue.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

/// Ends a leader's turn even if it panics: the members it took are popped
/// (each answered with its outcome or, if none was set, an error) and the
/// next writer in line is woken.
struct Turn<'q> {
    queue: &'q CommitQueue,
    taken: usize,
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        let mut q = self.queue.queue.lock().unwrap_or_else(|p| p.into_inner());
        for _ in 0..self.taken {
            if let Some(m) = q.pop_front()
                && !m.is_done()
            {
                m.finish(m.take());
            }
        }
        self.queue.turn.notify_all();
    }
}

/// A copy of a commit failure for every member but the first (errors are
/// not `Clone`; the copy keeps the kind and the message).
fn copy_error(e: &Error) -> Error {
    match e {
        Error::Io { path, source } => {
            Error::io(path, std::io::Error::new(source.kind(), source.to_string()))
        }
        other => Error::io(
            Path::new("<group commit>"),
            std::io::Error::other(other.to_string()),
        ),
    }
}

impl Database {
    /// Stores `run` (one database's samples, all-or-nothing when `atomic`)
    /// through the group commit; see the module docs. `trigger`: whether
    /// the rollup trigger is on for this write.
    pub(crate) fn write_grouped<'a>(
        &self,
        run: impl Iterator<Item = (&'a str, i64, Value)>,
        atomic: bool,
        trigger: bool,
    ) -> GroupOutcome {
        let me = Arc::new(Member::new(run, atomic));
        let mut q = self
            .commit_queue
            .queue
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        q.push_back(me.clone());
        loop {
            if me.is_done() {
                return me.take();
            }
            if q.front().is_some_and(|f| Arc::ptr_eq(f, &me)) {
                break;
            }
            q = self
                .commit_queue
                .turn
                .wait(q)
                .unwrap_or_else(|p| p.into_inner());
        }
        drop(q);
        // This writer leads. The database lock first, then the queue: every
        // write that queued while the lock was busy joins this group.
        let mut st = self.lock();
        let group: Vec<Arc<Member>> = {
            let q = self
                .commit_queue
                .queue
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            let mut total = 0;
            q.iter()
                .take_while(|m| {
                    let first = total == 0;
                    total += m.samples.len().max(1);
                    first || total <= MAX_GROUP_SAMPLES
                })
                .cloned()
                .collect()
        };
        let turn = Turn {
            queue: &self.commit_queue,
            taken: group.len(),
        };
        let queue_rollup = self.commit_group(&mut st, &group, trigger);
        drop(st);
        drop(turn);
        let mut mine = me.take();
        mine.queue_rollup = queue_rollup;
        mine
    }

    /// Commits `group` under the database lock and sets every member's
    /// outcome; returns whether the rollup trigger asks for a pass.
    fn commit_group(&self, st: &mut DbState, group: &[Arc<Member>], trigger: bool) -> bool {
        let now = time::now_ns();
        let mut outcomes: Vec<GroupOutcome> = Vec::with_capacity(group.len());
        // Per member, the samples to store (indices into its samples).
        let mut to_store: Vec<Vec<usize>> = Vec::with_capacity(group.len());
        let mut overlay = self.new_overlay(st);
        for m in group {
            let samples = m.samples().enumerate().map(|(k, (n, t, v))| (k, n, t, v));
            let dry = if m.atomic && group.len() > 1 {
                // An atomic write with a rejection stores nothing: its
                // accepted samples must not count for the writes after it.
                let mut trial = overlay.clone();
                let dry = self.dry_run_with(st, &mut trial, samples, &[]);
                if dry.rejected.is_empty() {
                    overlay = trial;
                }
                dry
            } else {
                self.dry_run_with(st, &mut overlay, samples, &[])
            };
            let (stored, outcome) = member_verdict(m, dry);
            to_store.push(stored);
            outcomes.push(outcome);
        }
        self.begin_wal_batch(st);
        let mut logged = Vec::with_capacity(to_store.iter().map(Vec::len).sum());
        let mut written = Ok(());
        'members: for (m, idx) in group.iter().zip(&to_store) {
            for &k in idx {
                let (a, b, ts, value) = m.samples[k];
                match self.log_sample(st, &m.names[a..b], ts, value, now) {
                    Ok(l) => logged.push(l),
                    Err(e) => {
                        written = Err(e);
                        break 'members;
                    }
                }
            }
        }
        let written = written.and_then(|()| self.write_pending_wal(st, None));
        if let Err(e) = written {
            self.undo_wal_batch(st);
            finish_all(group, outcomes, &e, 0);
            return false;
        }
        let (mut stored, mut result) = self.store_logged_batch(st, &logged, now);
        let total_stored = stored;
        let queue =
            trigger && total_stored > 0 && crate::rollup::trigger::should_queue(&self.manifest, st);
        if result.is_ok() {
            result = self.finish_batch(st);
        }
        for (o, idx) in outcomes.iter_mut().zip(&to_store) {
            let n = idx.len().min(stored);
            o.accepted = n as u64;
            stored -= n;
        }
        match result {
            Ok(()) => {
                for (m, o) in group.iter().zip(outcomes) {
                    m.finish(o);
                }
            }
            Err(e) => {
                // Members stored whole before a failing page flush keep
                // their acknowledgement, as a single write before it would.
                let whole = outcomes_stored_whole(&to_store, total_stored);
                finish_all(group, outcomes, &e, whole);
            }
        }
        queue
    }
}

/// How many leading members had every sample stored when `stored` samples
/// of the group were.
fn outcomes_stored_whole(to_store: &[Vec<usize>], stored: usize) -> usize {
    let mut left = stored;
    let mut whole = 0;
    for idx in to_store {
        if idx.len() > left {
            break;
        }
        left -= idx.len();
        whole += 1;
    }
    whole
}

/// Answers every member from index `whole` on with a copy of `e` (the
/// others with their outcome as it is).
fn finish_all(group: &[Arc<Member>], outcomes: Vec<GroupOutcome>, e: &Error, whole: usize) {
    for (i, (m, mut o)) in group.iter().zip(outcomes).enumerate() {
        if i >= whole {
            o.result = Err(copy_error(e));
        }
        m.finish(o);
    }
}

/// A member's share of the dry run: the indices of its samples to store
/// and its outcome so far (rejections and duplicates; an atomic member with
/// a rejection stores nothing).
fn member_verdict(m: &Member, dry: DryRun) -> (Vec<usize>, GroupOutcome) {
    let mut outcome = GroupOutcome {
        duplicates: dry.duplicates.len() as u64,
        ..GroupOutcome::default()
    };
    let stored = if m.atomic && !dry.rejected.is_empty() {
        Vec::new()
    } else {
        let mut skip = vec![false; m.samples.len()];
        for &(k, _) in &dry.rejected {
            skip[k] = true;
        }
        for &k in &dry.duplicates {
            skip[k] = true;
        }
        (0..m.samples.len()).filter(|&k| !skip[k]).collect()
    };
    let mut rejected = dry.rejected;
    rejected.sort_by_key(|r| r.0);
    outcome.rejected = rejected;
    (stored, outcome)
}

#[cfg(test)]
#[path = "group_commit_tests.rs"]
mod tests;
