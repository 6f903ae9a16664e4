//! Engine entry points of the engine view API: what is loaded, manifests
//! and open pages without loading anything, the live WAL, compact-to-metric.

use super::*;

impl Engine {
    /// Whether `db` is loaded in this process (never loads it).
    pub fn is_loaded(&self, db: &str) -> bool {
        let map = self.s.dbs.read().unwrap_or_else(|p| p.into_inner());
        map.get(db).is_some_and(|d| d.is_materialized())
    }

    /// Names of the databases loaded in this process, sorted.
    pub fn loaded_databases(&self) -> Vec<String> {
        self.loaded()
            .into_iter()
            .filter(|d| d.is_materialized())
            .map(|d| d.name.clone())
            .collect()
    }

    /// The normalised manifest of an existing database, without loading it
    /// (an unloaded one is read from its `manifest.toml`, or the engine's
    /// defaults when it has none).
    pub fn manifest(&self, db: &str) -> Result<config::Manifest> {
        names::validate_db_name(db)?;
        {
            let map = self.s.dbs.read().unwrap_or_else(|p| p.into_inner());
            if let Some(d) = map.get(db)
                && d.is_materialized()
            {
                return Ok(d.manifest.clone());
            }
        }
        let dir = self.s.root.join(db);
        if !(dir.is_dir() && Database::looks_like_db(&dir, db)) {
            return Err(Error::DatabaseNotFound(db.to_string()));
        }
        let path = crate::layout::DbLayout::at(dir, db).manifest();
        if path.is_file() {
            let (m, _warnings) = config::load_manifest(&path, &self.s.config.manifest_defaults)?;
            Ok(m)
        } else {
            Ok(self.s.config.manifest_defaults.clone())
        }
    }

    /// The regular files of an existing database's directory, sorted by name,
    /// each with its kind (never loads the database).
    pub fn db_files(&self, db: &str) -> Result<Vec<crate::layout::DbFile>> {
        names::validate_db_name(db)?;
        let layout = crate::layout::DbLayout::new(&self.s.root, db);
        if !(layout.dir().is_dir() && layout.looks_like_db()) {
            return Err(Error::DatabaseNotFound(db.to_string()));
        }
        layout.files().at(layout.dir())
    }

    /// Stats of a database only if it is loaded (never loads it).
    pub fn loaded_stats(&self, db: &str) -> Option<DbStats> {
        let d = {
            let map = self.s.dbs.read().unwrap_or_else(|p| p.into_inner());
            map.get(db).cloned()
        }?;
        d.is_materialized().then(|| d.stats())
    }

    /// Open partitions of a loaded database with their pages (empty when the
    /// database is not loaded; never loads it).
    pub fn open_pages(&self, db: &str) -> Vec<crate::stats::OpenPageStats> {
        let d = {
            let map = self.s.dbs.read().unwrap_or_else(|p| p.into_inner());
            map.get(db).cloned()
        };
        d.map(|d| d.open_pages()).unwrap_or_default()
    }

    /// Decodes the live WAL of an existing database (loading it) under its lock.
    pub fn inspect_wal(&self, db: &str) -> Result<crate::inspect::WalFileReport> {
        self.existing_db(db)?.inspect_wal()
    }

    /// Builds the metric file of one partition in `format` (default:
    /// `[metrics].format`) with the engine's codec and raw-ingest action,
    /// with the checks of the reference's `CompactDataFileToMetricV2` (key
    /// must match the partitioning, no open page, a raw file must exist).
    /// Never creates the database.
    pub fn compact_metric(
        &self,
        db: &str,
        part: &str,
        format: Option<crate::metricfile::Version>,
    ) -> Result<crate::database::CompactMetricReport> {
        let database = self.existing_db(db)?;
        let opts = crate::database::BuildOptions {
            version: format.unwrap_or(self.s.config.metrics.format),
            codec: self.s.config.metrics.compression,
            raw_action: self.s.config.metrics.raw_ingest_action,
            verify: false,
        };
        let mut st = database.lock();
        database.compact_to_metric(&mut st, part, &opts)
    }
}
