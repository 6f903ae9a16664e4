//! The engine's write path: one entry point, [`Engine::write_with`], with
//! [`WriteOptions`]; the other public write methods are conveniences over
//! it, and [`Engine::validate`] is its dry run.

use super::*;
use crate::config::FsyncPolicy;
use crate::database::LoggedSample;

impl Engine {
    /// Parses one line of line protocol (`db/metric value [ts]`) and stores it.
    pub fn add_line(&self, line: &str) -> Result<()> {
        let l = lineproto::parse_line(line)?;
        let ts = l.ts.unwrap_or_else(time::now_ns);
        self.add_sample(l.db, l.metric, ts, l.value)
    }

    /// Stores one sample. It is acknowledged (in the WAL, fsynced under
    /// `fsync_policy = "always"`) when this returns `Ok`.
    pub fn add_sample(&self, db: &str, metric: &str, ts: i64, value: Value) -> Result<()> {
        let report = self.write(&[WriteSample {
            db,
            metric,
            ts,
            value,
        }])?;
        match report.rejected.into_iter().next() {
            Some((_, e)) => Err(e),
            None => Ok(()),
        }
    }

    /// Stores a batch of samples with one WAL write (and one fsync) per
    /// database run. Bad samples are rejected individually; the rest are
    /// stored. Returns an `Err` only for I/O failures.
    pub fn write(&self, samples: &[WriteSample<'_>]) -> Result<WriteReport> {
        self.write_with(samples, WriteOptions::default())
    }

    /// Stores all samples or none: when any sample would be rejected,
    /// nothing is written and every rejection is reported (by index), as
    /// needed by an HTTP import that must be atomic. The databases involved
    /// are locked (in name order) from validation until the batch is applied.
    pub fn write_atomic(&self, samples: &[WriteSample<'_>]) -> Result<WriteReport> {
        self.write_with(
            samples,
            WriteOptions {
                atomic: true,
                ..WriteOptions::default()
            },
        )
    }

    /// Stores a batch as `opts` says (see [`WriteOptions`]); every other
    /// write method comes down to this one, so they all behave alike.
    /// Accepted samples are acknowledged when it returns. Rejected samples
    /// are reported, not returned as an `Err`: that is for a write that
    /// could not be carried out (an I/O failure, after which the samples
    /// accepted before it stay stored; a read-only or closed engine).
    pub fn write_with(
        &self,
        samples: &[WriteSample<'_>],
        opts: WriteOptions,
    ) -> Result<WriteReport> {
        let trigger = opts.rollups && self.rollup_trigger_on();
        let report = if opts.atomic {
            self.write_atomic_batch(samples, trigger, true)?
        } else {
            self.write_runs(samples, opts, trigger)?
        };
        // Self-metrics follow writes that stored something outside
        // `internal`; the rollup passes' atomic output writes never took a
        // snapshot (their one-by-one fallback did), and still do not.
        let snapshot = opts.rollups || !opts.atomic;
        if snapshot
            && report.accepted > 0
            && samples.iter().any(|s| s.db != crate::stats::INTERNAL_DB)
        {
            self.maybe_emit_stats(false);
        }
        Ok(report)
    }

    /// Checks `samples` exactly as [`Engine::write_atomic`] would (each
    /// sample as if every accepted one before it had been stored, under the
    /// same locks) but stores nothing: the report lists every rejection with
    /// its index and reason, and `accepted` counts the samples that would
    /// have been stored. For callers that must refuse a batch for reasons
    /// of their own (an HTTP body with unparsable lines) yet report the
    /// engine's verdict on the rest. Fails like the write would: on a
    /// read-only engine, a closed one, or an I/O error opening a database.
    pub fn validate(&self, samples: &[WriteSample<'_>]) -> Result<WriteReport> {
        let mut report = self.write_atomic_batch(samples, false, false)?;
        report.accepted = (samples.len() - report.rejected.len()) as u64;
        Ok(report)
    }

    /// Drops the commit-log entries no WAL needs any more: an entry stays
    /// while a database it names is not loaded here (its WAL was not
    /// replayed and rewritten yet) or may still hold its group (its WAL's
    /// oldest batch id is not newer).
    pub(crate) fn retain_commits(&self) -> Result<()> {
        let loaded: HashMap<String, Arc<Database>> = self
            .s
            .dbs
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        self.s.settings.commits.retain(|id, names| {
            names.iter().any(|n| {
                loaded
                    .get(n)
                    .is_none_or(|db| db.oldest_batch_id().is_some_and(|o| o <= id))
            })
        })
    }

    /// Whether user writes run the automatic rollup trigger.
    fn rollup_trigger_on(&self) -> bool {
        self.s.auto_rollups.load(Ordering::Relaxed) && !self.s.settings.read_only
    }

    /// A non-atomic write: each run of samples naming one database is
    /// stored under one lock hold ([`Engine::write_run`]).
    fn write_runs(
        &self,
        samples: &[WriteSample<'_>],
        opts: WriteOptions,
        trigger: bool,
    ) -> Result<WriteReport> {
        let stop_at_first_error = opts.stop_at_first_error;
        let mut report = WriteReport::default();
        let now = time::now_ns();
        let mut i = 0;
        while i < samples.len() {
            let name = samples[i].db;
            let mut j = i + 1;
            while j < samples.len() && samples[j].db == name {
                j += 1;
            }
            self.write_run(&samples[i..j], i, now, opts, trigger, &mut report)?;
            if stop_at_first_error && !report.rejected.is_empty() {
                break;
            }
            i = j;
        }
        Ok(report)
    }

    /// An atomic write (or, without `store`, its dry run): every database
    /// involved is locked in name order, the whole batch is checked, and it
    /// is stored only if nothing was rejected, in the same lock hold.
    fn write_atomic_batch(
        &self,
        samples: &[WriteSample<'_>],
        trigger: bool,
        store: bool,
    ) -> Result<WriteReport> {
        if self.s.settings.read_only {
            return Err(Error::ReadOnly);
        }
        let mut report = WriteReport::default();
        let db_names = database_names(samples);
        let mut dbs = Vec::with_capacity(db_names.len());
        for name in &db_names {
            match self.db(name, true) {
                Ok(Some(db)) => dbs.push(db),
                Ok(None) => return Err(Error::DatabaseNotFound((*name).to_string())),
                Err(e) if e.is_rejection() => {
                    for (i, s) in samples.iter().enumerate() {
                        if s.db == *name
                            && let Err(e) = names::validate_db_name(s.db)
                        {
                            report.rejected.push((i, e));
                        }
                    }
                }
                Err(e) => return Err(e),
            }
        }
        // The usual batch names one database: no name comparison per sample.
        let single = db_names.len() == 1;
        if single
            && store
            && report.rejected.is_empty()
            && let [db] = dbs.as_slice()
            && db.settings.fsync_policy == FsyncPolicy::Always
        {
            let run = samples.iter().map(|s| (s.metric, s.ts, s.value));
            let out = db.write_grouped(run, true, trigger);
            return self
                .merge_group_outcome(db, out, 0, &mut report)
                .map(|()| report);
        }
        // The usual batch (one database, stored): ids looked up and WAL
        // records encoded before the lock, while other writers hold it.
        let prepared = match dbs.as_slice() {
            [db] if single && store && report.rejected.is_empty() => {
                db.prepare_write(samples.iter().map(|s| (s.metric, s.ts, s.value)))
            }
            _ => None,
        };
        let hints = prepared.as_ref().map_or(&[][..], |p| &p.hints[..]);
        let mut guards: Vec<_> = dbs.iter().map(|d| d.lock()).collect();
        // Samples already stored: acknowledged, never logged nor stored.
        let mut duplicate = vec![false; samples.len()];
        // Per database, the ids its dry run found, in the order of its
        // accepted samples (see DryRun::ids).
        let mut ids: Vec<Vec<Option<crate::sample::MetricId>>> = Vec::with_capacity(dbs.len());
        for (db, st) in dbs.iter().zip(guards.iter_mut()) {
            let mine = samples
                .iter()
                .enumerate()
                .filter(|(_, s)| single || s.db == db.name)
                .map(|(i, s)| (i, s.metric, s.ts, s.value));
            let run = db.dry_run(st, mine, hints);
            ids.push(run.ids);
            report.rejected.extend(run.rejected);
            for i in run.duplicates {
                duplicate[i] = true;
                report.duplicates += 1;
            }
        }
        if !report.rejected.is_empty() || !store {
            report.rejected.sort_by_key(|r| r.0);
            return Ok(report);
        }
        let now = time::now_ns();
        // Every database's WAL first: if one cannot be written (a full
        // disk), the records already written to the others are taken back
        // and nothing is stored anywhere, so a batch answered as failed is
        // never replayed nor flushed later. A batch spanning databases
        // commits only when the root's commit log names its id: a crash
        // between two databases' writes replays none of it.
        let commits = &self.s.settings.commits;
        let batch_id = (!single).then(|| commits.next_id());
        let mut logged: Vec<Vec<LoggedSample>> = Vec::with_capacity(dbs.len());
        let mut failure = None;
        let part = BatchPart {
            samples,
            duplicate: &duplicate,
            single,
            prepared: prepared.as_ref(),
            no_duplicates: report.duplicates == 0,
            batch_id,
            now,
        };
        for ((db, st), ids) in dbs.iter().zip(guards.iter_mut()).zip(&ids) {
            match part.log(db, st, ids) {
                Ok(l) => logged.push(l),
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        if failure.is_none()
            && let Some(id) = batch_id
            && let Err(e) = commits.commit(
                id,
                &db_names,
                self.s.config.wal.fsync_policy.for_spanning_batch(),
            )
        {
            failure = Some(e);
        }
        if let Some(e) = failure {
            for (db, st) in dbs.iter().zip(guards.iter_mut()) {
                db.undo_wal_batch(st);
            }
            return Err(e);
        }
        let mut queue: Vec<&Database> = Vec::new();
        let mut outcome = Ok(());
        for ((db, st), mine) in dbs.iter().zip(guards.iter_mut()).zip(logged) {
            if outcome.is_err() {
                // An earlier database failed to store its part: take this
                // one's records back, as the batch is answered as failed.
                db.undo_wal_batch(st);
                continue;
            }
            let (stored, result) = db.store_logged_batch(st, &mine, now);
            db.recycle_logged(st, mine);
            report.accepted += stored as u64;
            if trigger && stored > 0 && rollup::trigger::should_queue(&db.manifest, st) {
                queue.push(db);
            }
            let fin = db.finish_batch(st);
            outcome = result.and(fin);
            db.refresh_hints(st);
        }
        drop(guards);
        // Also after an error: `should_queue` consumed the trigger of what
        // was stored, which is still there.
        for db in queue {
            self.s.rollups.worker.queue(self, &db.name);
        }
        if batch_id.is_some() && commits.wants_pruning() {
            self.retain_commits()?;
        }
        outcome.map(|()| report)
    }

    /// Stores `run` (samples naming one database; `base` is the index of
    /// the first in the batch) under one hold of that database's lock, and
    /// queues a rollup pass if the trigger says so (checked inside the same
    /// hold).
    pub(super) fn write_run(
        &self,
        run: &[WriteSample<'_>],
        base: usize,
        now: i64,
        opts: WriteOptions,
        trigger: bool,
        report: &mut WriteReport,
    ) -> Result<()> {
        let stop = opts.stop_at_first_error;
        if self.s.settings.read_only {
            return Err(Error::ReadOnly);
        }
        let db = match self.db(run[0].db, true) {
            Ok(Some(db)) => db,
            Ok(None) => return Err(Error::DatabaseNotFound(run[0].db.to_string())),
            Err(e) if e.is_rejection() => {
                // Every sample of the run names the same invalid database.
                report.rejected.push((base, e));
                if stop {
                    return Ok(());
                }
                for (k, s) in run.iter().enumerate().skip(1) {
                    if let Err(e) = names::validate_db_name(s.db) {
                        report.rejected.push((base + k, e));
                    }
                }
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        if db.settings.fsync_policy == FsyncPolicy::Always && !stop && !opts.bulk {
            let run = run.iter().map(|s| (s.metric, s.ts, s.value));
            let out = db.write_grouped(run, false, trigger);
            return self.merge_group_outcome(&db, out, base, report);
        }
        // Ids and WAL records worked out before the lock (not for a bulk
        // load: its one writer thread would only do the same work twice).
        let prepared = if opts.bulk {
            None
        } else {
            db.prepare_write(run.iter().map(|s| (s.metric, s.ts, s.value)))
        };
        let hints = prepared.as_ref().map_or(&[][..], |p| &p.hints[..]);
        let mut st = db.lock();
        db.set_bulk(&mut st, opts.bulk);
        // The checks of the whole run first (each sample as if the accepted
        // ones before it were stored), then the WAL records of the accepted
        // ones, then the pages: a WAL that cannot be written (a full disk)
        // leaves nothing in memory, so a write that fails stores nothing.
        let checked = db.dry_run(
            &mut st,
            run.iter()
                .enumerate()
                .map(|(k, s)| (k, s.metric, s.ts, s.value)),
            hints,
        );
        let mut rejected = checked.rejected;
        let end = match rejected.first() {
            Some(&(k, _)) if stop => {
                rejected.truncate(1);
                k
            }
            _ => run.len(),
        };
        report.duplicates += checked.duplicates.iter().filter(|&&k| k < end).count() as u64;
        let (stored, result) = if rejected.is_empty() && checked.duplicates.is_empty() {
            // The usual run: every sample accepted, as the records were prepared.
            let accepted = run
                .iter()
                .zip(&checked.ids)
                .map(|(s, &id)| (s.metric, id, s.ts, s.value));
            db.store_run(&mut st, accepted, prepared.as_ref(), now)
        } else {
            let mut refused = rejected.iter().map(|r| r.0).peekable();
            let mut duplicates = checked.duplicates.iter().copied().peekable();
            let mut ids = checked.ids.iter().copied();
            let accepted: Vec<_> = run[..end]
                .iter()
                .enumerate()
                .filter_map(|(k, s)| {
                    if refused.next_if_eq(&k).is_some() || duplicates.next_if_eq(&k).is_some() {
                        None
                    } else {
                        // The accepted samples in order, as the dry run listed their ids.
                        Some((s.metric, ids.next().flatten(), s.ts, s.value))
                    }
                })
                .collect();
            db.store_run(&mut st, accepted.iter().copied(), None, now)
        };
        db.refresh_hints(&mut st);
        report.accepted += stored as u64;
        report
            .rejected
            .extend(rejected.into_iter().map(|(k, e)| (base + k, e)));
        let queue = trigger && stored > 0 && rollup::trigger::should_queue(&db.manifest, &mut st);
        let fin = if result.is_ok() {
            db.finish_batch(&mut st)
        } else {
            Ok(())
        };
        db.set_bulk(&mut st, false);
        drop(st);
        if queue {
            self.s.rollups.worker.queue(self, &db.name);
        }
        result.and(fin)
    }

    /// Adds a group commit's outcome for the write whose first sample has
    /// index `base` to `report`, queues the rollup pass it asks for, and
    /// returns its I/O result.
    fn merge_group_outcome(
        &self,
        db: &Database,
        out: crate::database::GroupOutcome,
        base: usize,
        report: &mut WriteReport,
    ) -> Result<()> {
        report.accepted += out.accepted;
        report.duplicates += out.duplicates;
        report
            .rejected
            .extend(out.rejected.into_iter().map(|(k, e)| (base + k, e)));
        if out.queue_rollup {
            self.s.rollups.worker.queue(self, &db.name);
        }
        out.result
    }
}

/// What an atomic batch logs in each database it names (see
/// [`BatchPart::log`]).
struct BatchPart<'s, 'a> {
    samples: &'s [WriteSample<'a>],
    /// Samples already stored: acknowledged, never logged.
    duplicate: &'s [bool],
    /// The batch names one database.
    single: bool,
    /// Its ids and WAL records, prepared before the lock (single database
    /// only).
    prepared: Option<&'s crate::database::PreparedWrite>,
    no_duplicates: bool,
    batch_id: Option<u64>,
    now: i64,
}

impl BatchPart<'_, '_> {
    /// Logs and writes `db`'s part of the batch to its WAL (`ids`: the
    /// dry run's ids of its accepted samples); nothing is stored yet.
    fn log(
        &self,
        db: &Database,
        st: &mut crate::database::DbState,
        ids: &[Option<crate::sample::MetricId>],
    ) -> Result<Vec<LoggedSample>> {
        db.begin_wal_batch(st);
        // With no duplicate, the accepted samples are all of them, in
        // the order their records were prepared.
        let quick = self
            .prepared
            .filter(|_| self.single && self.no_duplicates)
            .and_then(|pre| {
                let run = self
                    .samples
                    .iter()
                    .zip(ids)
                    .map(|(s, &id)| (s.metric, id, s.ts, s.value));
                db.log_prepared(st, pre, run, self.now)
            });
        quick
            .unwrap_or_else(|| {
                let mut mine = db.take_logged(st);
                // No sample was rejected: the accepted ones are all but the duplicates.
                let mut ids = ids.iter().copied();
                self.samples
                    .iter()
                    .enumerate()
                    .filter(|(i, s)| (self.single || s.db == db.name) && !self.duplicate[*i])
                    .try_for_each(|(_, s)| {
                        let id = ids.next().flatten();
                        mine.push(db.log_sample_hinted(st, s.metric, id, s.ts, s.value, self.now)?);
                        Ok(())
                    })
                    .map(|()| mine)
            })
            .and_then(|mine| db.write_pending_wal(st, self.batch_id).map(|()| mine))
    }
}

/// The databases `samples` name, sorted, each once. Consecutive samples
/// nearly always name the same one (often the very same `&str`): only a
/// change of name is collected, so a batch of one database sorts one name.
fn database_names<'a>(samples: &[WriteSample<'a>]) -> Vec<&'a str> {
    let mut names: Vec<&'a str> = Vec::new();
    for s in samples {
        let same = names.last().is_some_and(|last| {
            (last.as_ptr() == s.db.as_ptr() && last.len() == s.db.len()) || *last == s.db
        });
        if !same {
            names.push(s.db);
        }
    }
    names.sort_unstable();
    names.dedup();
    names
}
