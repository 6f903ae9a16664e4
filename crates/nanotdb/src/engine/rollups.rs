//! The engine's side of rollups: it is their [`RollupHost`] (what passes,
//! backfills and the background worker read and write through), and the
//! public rollup methods, which delegate to [`crate::rollup`].

use std::ops::ControlFlow;

use super::*;
use crate::rollup::worker::WorkerTotals;
use crate::rollup::{BackfillReport, Lineage, PassReport, RollupHost, Rollups};
use crate::sample::Sample;

impl RollupHost for Engine {
    fn root(&self) -> &Path {
        Engine::root(self)
    }

    fn manifest_defaults(&self) -> &config::Manifest {
        &self.s.config.manifest_defaults
    }

    fn is_read_only(&self) -> bool {
        Engine::is_read_only(self)
    }

    fn db_manifest(&self, db: &str) -> Result<config::Manifest> {
        Engine::db_manifest(self, db)
    }

    fn metrics(&self, db: &str) -> Result<Vec<MetricInfo>> {
        Engine::metrics(self, db)
    }

    fn all_databases(&self) -> Result<Vec<String>> {
        let mut names = self.databases()?;
        names.extend(self.loaded_databases());
        names.sort();
        names.dedup();
        Ok(names)
    }

    fn read_range_many(
        &self,
        db: &str,
        metrics: &[&str],
        from: i64,
        to: i64,
        f: impl FnMut(&str, Sample) -> ControlFlow<()>,
    ) -> Result<()> {
        self.query_range_many(db, metrics, from, to, 1, f)
    }

    fn with_state<R>(
        &self,
        db: &str,
        f: impl FnOnce(&mut crate::database::DbState) -> R,
    ) -> Result<R> {
        let database = self.existing_db(db)?;
        let mut st = database.lock();
        Ok(f(&mut st))
    }

    fn create_database(&self, db: &str, manifest_text: &str) -> Result<()> {
        self.open_or_create_with_manifest(db, manifest_text)
    }

    fn write_outputs(&self, samples: &[WriteSample<'_>], atomic: bool) -> Result<WriteReport> {
        let opts = WriteOptions {
            atomic,
            stop_at_first_error: !atomic,
            rollups: false,
            bulk: false,
        };
        self.write_with(samples, opts)
    }

    fn flush_db(&self, db: &str) -> Result<()> {
        Engine::flush_db(self, db)
    }

    fn unload_db(&self, db: &str) -> Result<()> {
        Engine::unload_db(self, db)
    }

    fn rollups(&self) -> &Rollups {
        &self.s.rollups
    }

    fn worker_handle(&self) -> Self {
        Engine::worker_handle(self)
    }
}

impl Engine {
    /// Turns the automatic rollup trigger after user writes on or off
    /// (default on). Bulk loaders turn it off and run
    /// [`Engine::rollup_backfill`] once at the end.
    pub fn set_auto_rollups(&self, on: bool) {
        self.s.auto_rollups.store(on, Ordering::Relaxed);
    }

    /// Whether the automatic rollup trigger is on.
    pub fn auto_rollups(&self) -> bool {
        self.s.auto_rollups.load(Ordering::Relaxed)
    }

    /// Rebuilds the rollups of `sources` (all rollup sources under the root
    /// when empty) from scratch without deleting data a user wrote into a
    /// destination (see [`crate::rollup`]), then runs passes until no job
    /// advances.
    pub fn rollup_backfill(&self, sources: &[&str]) -> Result<BackfillReport> {
        rollup::backfill::backfill(self, sources)
    }

    /// Runs every due rollup of `sources` now, following cascades
    /// (v1.4.0's `TriggerRollupsForSources`, errors returned here).
    pub fn trigger_rollups(&self, sources: &[&str]) -> Result<PassReport> {
        rollup::run_now(self, sources)
    }

    /// Downstream lineage of `db/metric` (docs/BEHAVIOUR.md §1.17): every rollup output derived
    /// from it, following explicit-metric jobs through up to `max_hops`
    /// databases. Pattern jobs are not followed (as in v1.4.0).
    pub fn rollup_downstream(&self, db: &str, metric: &str, max_hops: u32) -> Result<Lineage> {
        rollup::lineage::downstream(self, db, metric, max_hops)
    }

    /// Waits until the background worker has run every automatic rollup
    /// pass queued so far (their outputs and checkpoints are then on disk).
    /// [`Engine::flush`] and [`Engine::close`] do this too.
    pub fn sync_rollups(&self) {
        self.s.rollups.worker.sync();
    }

    /// What the background rollup worker has done since the engine opened.
    pub fn rollup_worker_totals(&self) -> WorkerTotals {
        self.s.rollups.worker.totals()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;
    use std::time::Duration;

    use super::*;
    use crate::{Value, WriteSample};

    /// Without a worker thread (it could not be created) the queue runs in
    /// the writer, with the same outputs. (A pass re-queueing a source from
    /// there, which must not hold the rollup cache lock, needs another
    /// writer storing samples during the pass: not reproduced here.)
    #[test]
    fn without_a_thread_passes_run_in_the_writer() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("engine.toml"), "[stats]\nenabled = false\n").unwrap();
        std::fs::create_dir_all(d.path().join("src")).unwrap();
        std::fs::write(
            d.path().join("src/manifest.toml"),
            "[rollups]\nenabled = true\ndefault_grace = \"1m\"\n[[rollups.jobs]]\nid = \"m\"\n\
             source_metric = \"m\"\ninterval = \"10m\"\naggregates = [\"count\"]\n\
             destination_db = \"dst\"\n",
        )
        .unwrap();
        let e = Engine::open(d.path()).unwrap();
        e.s.rollups.worker.no_thread.store(true, Ordering::Relaxed);
        let (tx, rx) = std::sync::mpsc::channel();
        let writer = std::thread::spawn(move || {
            const T0: i64 = 1_767_225_600_000_000_000;
            for batch in 0..6i64 {
                let samples: Vec<WriteSample> = (0..10i64)
                    .map(|k| WriteSample {
                        db: "src",
                        metric: "m",
                        ts: T0 + (batch * 10 + k) * 60_000_000_000,
                        value: Value::F32(1.0),
                    })
                    .collect();
                e.write(&samples).unwrap();
            }
            e.sync_rollups();
            let mut counts = Vec::new();
            e.query_range("dst", "m.count", i64::MIN, i64::MAX, 1, |s| {
                counts.push(((s.ts - T0) / 60_000_000_000, s.value.as_f64()));
                std::ops::ControlFlow::Continue(())
            })
            .unwrap();
            let _ = tx.send(counts);
        });
        let counts = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the writer finished (no deadlock)");
        writer.join().unwrap();
        // One sample a minute for 60 minutes: the five 10-minute periods
        // before the last sample's are complete, ten samples each.
        let want: Vec<(i64, f64)> = (0..5).map(|p| (p * 10, 10.0)).collect();
        assert_eq!(counts, want);
    }
}
