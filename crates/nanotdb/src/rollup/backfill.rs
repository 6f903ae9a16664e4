//! Offline rebuild of rollup destinations (`nanocli rollup`,
//! `POST /api/v1/rollup/backfill`) that never deletes data a user wrote into
//! a destination (see the module docs of [`crate::rollup`]).

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fs;
use std::ops::ControlFlow;
use std::path::Path;

use crate::config::Manifest;
use crate::error::{Error, IoContext, Result};
use crate::frame;
use crate::fsutil;
use crate::layout::{self, DbFileKind, PartitionFileKind};
use crate::sample::MetricId;
use crate::time;

use super::host::RollupHost;
use super::pass::{drop_live, rollup_pass};
use super::{
    BackfillReport, checkpoint_path, is_produced, not_found_is_none, read_checkpoints,
    write_checkpoints,
};

/// Rebuilds the rollups of `sources` (all rollup sources under the root
/// when empty) from scratch without deleting data a user wrote into a
/// destination (see the module docs), then runs passes until no job
/// advances. Behind [`Engine::rollup_backfill`](crate::Engine::rollup_backfill).
pub(crate) fn backfill<H: RollupHost>(host: &H, sources: &[&str]) -> Result<BackfillReport> {
    if host.is_read_only() {
        return Err(Error::ReadOnly);
    }
    let mut cache = host
        .rollups()
        .cache
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    cache.sources.clear();
    let mut report = BackfillReport::default();
    let mut requested: Vec<String> = sources
        .iter()
        .map(|s| s.trim().trim_matches('/').to_string())
        .filter(|s| !s.is_empty())
        .collect();
    requested.sort();
    requested.dedup();
    report.requested_sources = requested.clone();
    let mut candidates = requested.clone();
    if candidates.is_empty() {
        candidates = host.all_databases()?;
        candidates.retain(|c| c != "internal");
    }
    let (manifests, dests) = plan_sources(host, candidates)?;
    report.source_databases = manifests.keys().cloned().collect();
    report.destination_databases = dests.iter().cloned().collect();
    if manifests.is_empty() {
        return Ok(report);
    }
    for s in manifests.keys() {
        drop_live(host, s)?;
    }
    let rebuilt = rebuild_destinations(host, &manifests, &dests, &mut report)?;
    forget_checkpoints(host, &manifests, &rebuilt, &mut report)?;
    let now = time::now_ns();
    let max_passes = manifests.len() as u32 + 1;
    loop {
        report.replay_passes += 1;
        let mut advanced = 0;
        for s in manifests.keys() {
            let prev = cache.sources.remove(s);
            let (r, due) = rollup_pass(host, s, now, prev, false)?;
            if let Some(d) = due {
                cache.sources.insert(s.clone(), d);
            }
            advanced += r.jobs_advanced;
            report.samples_written += r.samples_written;
        }
        if advanced == 0 || report.replay_passes >= max_passes {
            break;
        }
    }
    for d in &dests {
        if let Some(Err(e)) = not_found_is_none(host.flush_db(d)).transpose() {
            return Err(e);
        }
    }
    Ok(report)
}

/// The rollup sources among `candidates` and, breadth-first through
/// chains, among their destinations: each source's manifest, and every
/// destination.
fn plan_sources<H: RollupHost>(
    host: &H,
    candidates: Vec<String>,
) -> Result<(BTreeMap<String, Manifest>, BTreeSet<String>)> {
    let mut manifests: BTreeMap<String, Manifest> = BTreeMap::new();
    let mut dests: BTreeSet<String> = BTreeSet::new();
    let mut queue: std::collections::VecDeque<String> = candidates.into_iter().collect();
    let mut seen: HashSet<String> = queue.iter().cloned().collect();
    while let Some(c) = queue.pop_front() {
        if crate::names::validate_db_name(&c).is_err() {
            continue;
        }
        let Some(m) = not_found_is_none(host.db_manifest(&c))? else {
            continue;
        };
        if !m.rollups.enabled || m.rollups.jobs.is_empty() {
            continue;
        }
        for j in &m.rollups.jobs {
            dests.insert(j.destination_db.clone());
            if seen.insert(j.destination_db.clone()) {
                queue.push_back(j.destination_db.clone());
            }
        }
        manifests.insert(c, m);
    }
    Ok((manifests, dests))
}

/// Rebuilds every destination of `dests` (see the module docs of
/// [`crate::rollup`]) and returns those rebuilt (their jobs start over).
fn rebuild_destinations<H: RollupHost>(
    host: &H,
    manifests: &BTreeMap<String, Manifest>,
    dests: &BTreeSet<String>,
    report: &mut BackfillReport,
) -> Result<BTreeSet<String>> {
    let mut source_metrics: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for s in manifests.keys() {
        let names = host.metrics(s)?.into_iter().map(|m| m.name).collect();
        source_metrics.insert(s.clone(), names);
    }
    let mut rebuilt: BTreeSet<String> = BTreeSet::new();
    for d in dests {
        if crate::names::validate_db_name(d).is_err() {
            continue;
        }
        let Some(metrics) = not_found_is_none(host.metrics(d))? else {
            rebuilt.insert(d.clone());
            continue;
        };
        let mut produced: Vec<MetricId> = Vec::new();
        let mut user = 0usize;
        for m in &metrics {
            let p = manifests.iter().any(|(s, man)| {
                let set: HashSet<&str> = source_metrics
                    .get(s)
                    .map(|v| v.iter().map(String::as_str).collect())
                    .unwrap_or_default();
                is_produced(man, &set, d, &m.name)
            });
            if p {
                produced.push(m.id);
            } else {
                user += 1;
            }
        }
        host.unload_db(d)?;
        let dir = host.root().join(d);
        if user == 0 {
            clear_destination(&dir, report)?;
            rebuilt.insert(d.clone());
        } else if produced.is_empty() {
            rebuilt.insert(d.clone());
        } else if has_metric_files(&dir)? {
            let why = format!(
                "{d}: holds {user} metrics not produced by rollups and metric-*.dat files; \
                     not rebuilt (its rollup outputs are kept and continued)"
            );
            tracing::warn!("{why}");
            report.skipped_destinations.push(why);
        } else {
            rewrite_without(&dir, &produced, report)?;
            rebuilt.insert(d.clone());
        }
    }
    Ok(rebuilt)
}

/// Forgets the checkpoints of jobs whose destination was rebuilt.
fn forget_checkpoints<H: RollupHost>(
    host: &H,
    manifests: &BTreeMap<String, Manifest>,
    rebuilt: &BTreeSet<String>,
    report: &mut BackfillReport,
) -> Result<()> {
    for (s, m) in manifests {
        let path = checkpoint_path(host.root(), s, m);
        if !path.exists() {
            continue;
        }
        let mut cps = read_checkpoints(&path)?;
        let before = cps.len();
        cps.retain(|k, _| {
            !m.rollups.jobs.iter().any(|j| {
                (k == &j.id || k.starts_with(&format!("{}::", j.id)))
                    && rebuilt.contains(&j.destination_db)
            })
        });
        if cps.is_empty() {
            fs::remove_file(&path).at(&path)?;
        } else if cps.len() != before || before == 0 {
            write_checkpoints(&path, &cps)?;
        } else {
            continue;
        }
        report
            .cleared_checkpoint_files
            .push(path.display().to_string());
    }
    Ok(())
}

/// Removes the data, raw and metric files, WALs and catalog of a
/// destination holding only rollup-produced metrics (the manifest stays).
fn clear_destination(dir: &Path, report: &mut BackfillReport) -> Result<()> {
    // The layout lists nothing (no error) when the directory does not exist.
    for f in layout::files(dir).at(dir)? {
        let list = match f.kind {
            DbFileKind::Partition(..) => &mut report.cleared_data_files,
            DbFileKind::Wal => &mut report.cleared_wal_files,
            DbFileKind::Catalog => &mut report.cleared_catalog_files,
            DbFileKind::Manifest | DbFileKind::Other => continue,
        };
        fs::remove_file(&f.path).at(&f.path)?;
        list.push(f.path.display().to_string());
    }
    fsutil::sync_dir(dir)
}

fn has_metric_files(dir: &Path) -> Result<bool> {
    let files = layout::files(dir).at(dir)?;
    Ok(files
        .iter()
        .any(|f| matches!(f.kind, DbFileKind::Partition(PartitionFileKind::Metric, _))))
}

/// Rewrites every `data-`/`raw-` file of `dir` without the samples of
/// `drop_ids`, frame by frame (tmp, fsync, rename); files left empty are
/// removed. Untouched files are not rewritten.
fn rewrite_without(dir: &Path, drop_ids: &[MetricId], report: &mut BackfillReport) -> Result<()> {
    if !dir.is_dir() {
        return Err(Error::io(dir, std::io::ErrorKind::NotFound.into()));
    }
    let files = layout::files(dir).at(dir)?;
    let drop: HashSet<MetricId> = drop_ids.iter().copied().collect();
    for f in files {
        if !matches!(f.kind, DbFileKind::Partition(k, _) if k.holds_frames()) {
            continue;
        }
        let path = f.path;
        let len = fs::metadata(&path).at(&path)?.len();
        let mut out = Vec::new();
        let mut scratch = Vec::new();
        let mut removed = 0u64;
        let mut err = None;
        // No cache: the destination is unloaded while it is rewritten.
        let _ = crate::database::read_file_frames(
            None,
            false,
            &path,
            0,
            len,
            i64::MIN,
            i64::MAX,
            &mut |fr| {
                let (mut ids, mut tss, mut vals) = (Vec::new(), Vec::new(), Vec::new());
                let mut wide = Vec::new();
                for i in 0..fr.len() {
                    if drop.contains(&fr.id(i)) {
                        removed += 1;
                    } else {
                        ids.push(fr.id(i));
                        tss.push(fr.ts(i));
                        vals.push(fr.val(i));
                        wide.push(fr.is_wide(i));
                    }
                }
                if !ids.is_empty()
                    && let Err(e) =
                        frame::encode_frame(&ids, &tss, &vals, |i| wide[i], &mut scratch, &mut out)
                {
                    err = Some(e);
                    return ControlFlow::Break(());
                }
                ControlFlow::Continue(())
            },
        )?;
        if let Some(e) = err {
            return Err(Error::Corrupt {
                path,
                offset: 0,
                reason: format!("cannot re-encode a frame: {e}"),
            });
        }
        if removed == 0 {
            continue;
        }
        if out.is_empty() {
            fs::remove_file(&path).at(&path)?;
            fsutil::sync_dir(dir)?;
        } else {
            fsutil::write_atomic(&path, &out)?;
        }
        report.rewritten_data_files.push(path.display().to_string());
    }
    Ok(())
}
