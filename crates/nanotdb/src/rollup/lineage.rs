//! Downstream lineage of a metric (docs/BEHAVIOUR.md §1.17).

use std::collections::{BTreeSet, HashSet};

use crate::error::{Error, Result};
use crate::time;

use super::host::RollupHost;
use super::{Lineage, LineageStep, not_found_is_none, resolve_aggregates};

/// Downstream lineage of `db/metric`: every rollup output derived from it,
/// following explicit-metric jobs through up to `max_hops` databases.
/// Pattern jobs are not followed (as in v1.4.0). Behind
/// [`Engine::rollup_downstream`](crate::Engine::rollup_downstream).
pub(crate) fn downstream<H: RollupHost>(
    host: &H,
    db: &str,
    metric: &str,
    max_hops: u32,
) -> Result<Lineage> {
    let (db, metric) = (db.trim(), metric.trim());
    if db.is_empty() {
        return Err(Error::DatabaseNotFound(String::new()));
    }
    if metric.is_empty() {
        return Err(Error::InvalidMetricName {
            name: String::new(),
            reason: "is required",
        });
    }
    if max_hops < 1 {
        return Err(Error::InvalidMetricName {
            name: metric.to_string(),
            reason: "max_hops must be >= 1",
        });
    }
    host.db_manifest(db)?;
    let mut out = Lineage::default();
    let mut seen: HashSet<(String, String)> = HashSet::new();
    let mut queue = std::collections::VecDeque::new();
    queue.push_back((db.to_string(), metric.to_string(), 0u32));
    seen.insert((db.to_string(), metric.to_string()));
    let mut steps: BTreeSet<LineageStep> = BTreeSet::new();
    while let Some((d, m, depth)) = queue.pop_front() {
        let Some(man) = not_found_is_none(host.db_manifest(&d))? else {
            continue;
        };
        if !man.rollups.enabled {
            continue;
        }
        for job in &man.rollups.jobs {
            if job.source_metric.as_deref() != Some(m.as_str()) {
                continue;
            }
            let prefix = if job.destination_metric_prefix.is_empty() {
                m.as_str()
            } else {
                job.destination_metric_prefix.as_str()
            };
            for a in resolve_aggregates(&job.aggregates) {
                if depth >= max_hops {
                    out.truncated = true;
                    continue;
                }
                let name = format!("{prefix}.{}", a.canonical_name());
                steps.insert(LineageStep {
                    hop: depth + 1,
                    database: job.destination_db.clone(),
                    metric: name.clone(),
                    aggregate: a.canonical_name().to_string(),
                    job_id: job.id.clone(),
                    interval: time::format_go_duration(job.interval_ns),
                });
                if seen.insert((job.destination_db.clone(), name.clone())) {
                    queue.push_back((job.destination_db.clone(), name, depth + 1));
                }
            }
        }
    }
    out.steps = steps.into_iter().collect();
    Ok(out)
}
