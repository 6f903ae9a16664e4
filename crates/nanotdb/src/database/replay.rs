//! Opening a database's WAL: tail repair, replay into pages, and
//! de-duplication against frames a crash left in both places.

use std::collections::BTreeMap;
use std::fs::{self, File};

use super::*;

impl Database {
    pub(super) fn open_wal_and_replay(&self, st: &mut DbState) -> Result<()> {
        let path = self.layout().wal();
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(Error::io(&path, e)),
        };
        let commits = self.settings.commits.clone();
        let scan = wal::scan_wal_with(&bytes, &|id| commits.contains(id));
        let mut good_len = scan.good_len;
        report_scan(&path, &scan);
        // Names first: records of a metric may precede the record that
        // carries its name only in damaged files, never in ours. A record
        // that cannot be resolved (a bad type, a name clashing with the
        // catalog, an id no catalog entry or record names) is damage: replay
        // stops there as at an undecodable tail, so one bad byte never takes
        // the database offline.
        let usable = self.register_wal_names(st, &scan.records, &path);
        let records = &scan.records[..usable];
        if let Some((offset, _)) = scan.records.get(usable) {
            tracing::warn!(
                file = %path.display(),
                offset,
                "WAL record cannot be resolved (damaged?); the {usable} records before it are replayed"
            );
            good_len = good_len.min(*offset);
        }
        // Damage inside the file, or groups of batches spanning databases
        // (whose ids the commit log keeps until no WAL holds them): replay,
        // then rewrite the WAL from the pages.
        // A v1.4.0 WAL is rewritten too, so that no file mixes its records
        // with ours (in ours, a record without checksum is damage).
        // So is a WAL cut at an unresolvable record, which may have cut a
        // write group in two (its records before the cut were replayed).
        let rewrite = !scan.damage.is_empty()
            || scan.has_batch_ids
            || !scan.checked
            || usable < scan.records.len();
        if !self.settings.read_only {
            if let Some(d) = scan.damage.first() {
                let copy = fsutil::preserve_copy(&path, &bytes, d.offset)?;
                tracing::warn!(kept = %copy.display(), "kept a copy of the damaged WAL");
            }
            if good_len < scan.file_len {
                let copy = fsutil::preserve_and_truncate(&path, good_len)?;
                tracing::warn!(kept = %copy.display(), "cut the WAL's damaged tail");
                st.counters.tails_cut += 1;
            }
            st.wal = Some(WalWriter::open(&path, good_len)?);
        }
        if records.is_empty() {
            if rewrite && let Some(w) = st.wal.as_mut() {
                w.reset(true)?;
            }
            return Ok(());
        }
        let mut skip = self.dedupe_against_files(st, records)?;
        let mode = self.partition_mode();
        st.checkpoints_deferred = true;
        let mut replayed = 0u64;
        let result = (|| -> Result<()> {
            for (_, rec) in records {
                let key3 = (rec.metric_id, rec.ts, rec.value.bits());
                if let Some(n) = skip.get_mut(&key3)
                    && *n > 0
                {
                    *n -= 1;
                    continue;
                }
                // Every id is in the catalog with the record's value width:
                // `register_wal_names` cut before the first that is not.
                let key = partition_of(&mut st.hot, mode, rec.ts).clone();
                let bits = rec.value.bits();
                let full = self.append(st, &key, rec.metric_id, rec.ts, bits, true)?;
                self.flush_if_full(st, &key, full)?;
                replayed += 1;
            }
            Ok(())
        })();
        st.checkpoints_deferred = false;
        result?;
        st.counters.replayed_records += replayed;
        let deduped = records.len() as u64 - replayed;
        st.counters.replay_duplicates_dropped += deduped;
        tracing::info!(
            db = %self.name,
            replayed,
            duplicates_dropped = deduped,
            "replayed WAL"
        );
        if !self.settings.read_only {
            if !self.manifest.wal.enabled {
                self.flush_all(st)?;
                if let Some(w) = st.wal.as_mut() {
                    w.reset(false)?;
                }
            } else if rewrite
                || deduped > 0
                || st.counters.flushes > 0
                || !st.deferred_seals.is_empty()
            {
                // Make the WAL match the open pages exactly.
                self.wal_checkpoint(st)?;
            }
            self.run_deferred_seals(st);
        }
        Ok(())
    }

    /// The oldest id of a batch spanning databases that the WAL may still
    /// hold a group of (the root's commit log must remember every id from
    /// it on, until a checkpoint drops them).
    pub fn oldest_batch_id(&self) -> Option<u64> {
        self.lock()
            .wal
            .as_ref()
            .and_then(WalWriter::oldest_batch_id)
    }

    /// Registers the names the WAL's records carry, in order, and returns
    /// how many leading records can be replayed: all of them, or those
    /// before the first whose name cannot be registered or whose metric id
    /// is in neither the catalog nor any record.
    fn register_wal_names(
        &self,
        st: &mut DbState,
        records: &[(u64, wal::WalRecord)],
        path: &Path,
    ) -> usize {
        let mut usable = records.len();
        for (i, (_, rec)) in records.iter().enumerate() {
            let Some(nm) = &rec.new_metric else {
                continue;
            };
            let registered = ValueType::from_code(nm.value_type)
                .ok_or_else(|| format!("value type {}", nm.value_type))
                .and_then(|vt| st.catalog.register_with_id(&nm.name, rec.metric_id, vt));
            if let Err(reason) = registered {
                tracing::warn!(file = %path.display(), "WAL record for {:?}: {reason}", nm.name);
                usable = i;
                break;
            }
        }
        // A value whose width is not its metric's (4 bytes for float64 or
        // int64, 8 for the others) cannot be resolved either.
        records[..usable]
            .iter()
            .position(|(_, r)| {
                st.catalog
                    .get(r.metric_id)
                    .is_none_or(|m| m.value_type.is_wide() != r.value.is_wide())
            })
            .unwrap_or(usable)
    }

    /// Finds WAL samples that the data files already hold: flushed pages
    /// whose WAL checkpoint had not run yet (the background thread runs it
    /// up to `[wal].checkpoint_interval` later, `engine/background.rs`) or was cut short by a
    /// crash. Every frame of the sample's partition that ends at or after
    /// the partition's oldest WAL sample is compared, sample by sample: an
    /// identical sample (metric, timestamp, value bits) already stored is
    /// not stored again, as retry-safe writes do (BEHAVIOUR §1.6). Matching
    /// sample by sample, not frame by frame, keeps a damaged WAL that lost
    /// some of a frame's samples from replaying the others a second time.
    /// Returns (metric, ts, value) → how many leading WAL occurrences to skip.
    pub(super) fn dedupe_against_files(
        &self,
        st: &mut DbState,
        records: &[(u64, wal::WalRecord)],
    ) -> Result<SampleCounts> {
        let mode = self.partition_mode();
        let mut per_part: BTreeMap<String, (i64, SampleCounts)> = BTreeMap::new();
        for (_, r) in records {
            let key = time::partition_key(mode, r.ts);
            let e = per_part
                .entry(key)
                .or_insert((i64::MAX, HashMap::default()));
            e.0 = e.0.min(r.ts);
            *e.1.entry((r.metric_id, r.ts, r.value.bits())).or_insert(0) += 1;
        }
        let mut skip = SampleCounts::default();
        let mut buf = DecodedFrame::default();
        for (key, (min_ts, mut avail)) in per_part {
            let Some(len) = st.files.get(&key).and_then(|f| f.data_len) else {
                continue;
            };
            let path = self.data_path(&key);
            let file = File::open(&path).at(&path)?;
            let scan = datafile::scan_file(&path, false).at(&path)?;
            let mut block = Vec::new();
            let mut left: u64 = avail.values().map(|&n| u64::from(n)).sum();
            for fi in scan.frames.iter().rev() {
                if left == 0 {
                    break;
                }
                // Out-of-order partitions may hold older frames after newer
                // ones: every frame is looked at, not only a tail.
                if fi.offset + fi.header.frame_len() > len || fi.header.end_ts < min_ts {
                    continue;
                }
                match read_frame_at(&file, &path, fi, &mut block, &mut buf) {
                    Ok(()) => {}
                    // A damaged frame holds nothing to match the WAL against.
                    Err(Error::Corrupt { offset, reason, .. }) => {
                        tracing::warn!(
                            file = %path.display(),
                            offset,
                            "damaged frame not checked for samples also in the WAL ({reason})"
                        );
                        continue;
                    }
                    Err(e) => return Err(e),
                }
                for i in 0..buf.len() {
                    let k = (buf.id(i), buf.ts(i), buf.val(i));
                    if let Some(have) = avail.get_mut(&k)
                        && *have > 0
                    {
                        *have -= 1;
                        left -= 1;
                        *skip.entry(k).or_insert(0) += 1;
                    }
                }
            }
        }
        Ok(skip)
    }
}

/// Logs what a WAL scan found besides records to replay.
fn report_scan(path: &Path, scan: &wal::WalScan) {
    if let Some(stop) = &scan.stop {
        tracing::warn!(
            file = %path.display(),
            offset = stop.offset,
            "WAL ends in an undecodable tail ({}); {} records before it are replayed",
            stop.reason,
            scan.records.len()
        );
    }
    for d in &scan.damage {
        tracing::warn!(
            file = %path.display(),
            offset = d.offset,
            bytes = d.len,
            "damaged WAL stretch skipped ({}); the intact records after it are replayed",
            d.reason
        );
    }
    if scan.skipped_missing_baseline > 0 {
        tracing::warn!(
            file = %path.display(),
            "{} WAL records without a time baseline (after damage) skipped",
            scan.skipped_missing_baseline
        );
    }
    if scan.discarded_duplicates > 0 {
        tracing::warn!(
            file = %path.display(),
            "{} WAL records repeating an earlier one in the damaged file dropped (each is replayed once)",
            scan.discarded_duplicates
        );
    }
    if scan.discarded_torn > 0 {
        tracing::info!(
            file = %path.display(),
            "{} WAL records of a write cut short (never acknowledged) dropped",
            scan.discarded_torn
        );
    }
    if scan.discarded_uncommitted > 0 {
        tracing::info!(
            file = %path.display(),
            "{} WAL records of a batch spanning databases that never committed dropped",
            scan.discarded_uncommitted
        );
    }
}
