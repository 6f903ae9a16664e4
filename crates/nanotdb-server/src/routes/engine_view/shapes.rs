//! JSON shapes of the engine view: manifests, stats and open pages as v1.4.0
//! printed them (Go field names and duration strings).

use super::*;

pub(super) fn instant(ns: i64) -> String {
    if ns == 0 {
        ZERO_TIME.to_string()
    } else {
        format_rfc3339(ns)
    }
}

pub(super) fn list_or_null(v: &[String]) -> Json {
    if v.is_empty() { Json::Null } else { json!(v) }
}

/// `manifest` shape: durations of the top level as Go duration strings,
/// durations inside `rollups` as integer ns (Go struct marshalling).
pub fn manifest_json(m: &Manifest) -> Json {
    let r = &m.rollups;
    let jobs: Vec<Json> = r
        .jobs
        .iter()
        .map(|j| {
            json!({
                "ID": j.id,
                "SourceMetric": j.source_metric.clone().unwrap_or_default(),
                "SourcePattern": j.source_pattern.clone().unwrap_or_default(),
                "ExcludePatterns": list_or_null(&j.exclude_patterns),
                "Interval": j.interval_ns,
                "Aggregates": list_or_null(&j.aggregates),
                "DestinationDB": j.destination_db,
                "DestinationMetricPrefix": j.destination_metric_prefix,
                "Grace": j.grace_ns.unwrap_or(0),
            })
        })
        .collect();
    json!({
        "grace": format_go_duration(m.retention.grace_ns),
        "retention_days": m.retention.retention_days,
        "retention_action": m.retention.action.as_str(),
        "max_active_days": m.retention.max_active_days,
        "partition": m.retention.partition.to_string(),
        "wal_enabled": m.wal.enabled,
        "wal_skip_before": format_go_duration(m.wal.skip_before_ns),
        "page_max_records": m.page.max_records,
        "page_max_bytes": m.page.max_bytes,
        "page_max_age": format_go_duration(m.page.max_age_ns),
        "rollups": {
            "Enabled": r.enabled,
            "CheckpointFile": r.checkpoint_file,
            "DefaultGrace": r.default_grace_ns.unwrap_or(0),
            "DefaultInterval": r.default_interval_ns.unwrap_or(0),
            "DefaultDestinationDB": r.default_destination_db,
            "DefaultAggregates": list_or_null(&r.default_aggregates),
            "GlobalExcludePatterns": list_or_null(&r.global_exclude_patterns),
            "Jobs": if jobs.is_empty() { Json::Null } else { json!(jobs) },
        },
    })
}

/// `stats` shape from the engine counters (all zero for an unloaded database).
pub fn stats_json(s: Option<&DbStats>) -> Json {
    let c = s.map(|s| s.counters.clone()).unwrap_or_default();
    let wal_bytes = s.map_or(0, |s| s.wal_bytes);
    let t = |t: &Tally| (t.total, t.min, t.max);
    let (rec_total, rec_min, rec_max) = t(&c.flush_records);
    let (_, fb_min, fb_max) = t(&c.flush_frame_bytes);
    let (fd_total, fd_min, fd_max) = t(&c.flush_ns);
    let (sd_total, sd_min, sd_max) = t(&c.data_fsync_ns);
    let (wf_total, wf_min, wf_max) = t(&c.wal_fsync_ns);
    let (ww_total, ww_min, ww_max) = t(&c.wal_write_bytes);
    let (wr_total, wr_min, wr_max) = t(&c.wal_checkpoint_ns);
    let (wi_total, wi_min, wi_max) = t(&c.wal_write_interval_ns);
    let _ = rec_total;
    json!({
        "DataFile": {
            "FlushCount": c.flushes,
            "TotalFlushBytes": c.records_flushed * 14,
            "TotalFlushRecords": c.records_flushed,
            "TotalFlushCompressed": c.frame_bytes_written,
            "MinFlushBytes": rec_min * 14,
            "MaxFlushBytes": rec_max * 14,
            "MinFlushRecords": rec_min,
            "MaxFlushRecords": rec_max,
            "MinFlushCompressed": fb_min,
            "MaxFlushCompressed": fb_max,
            "FlushDurationTotal": fd_total,
            "MinFlushDuration": fd_min,
            "MaxFlushDuration": fd_max,
            "SyncCount": c.data_fsyncs,
            "SyncDurationTotal": sd_total,
            "MinSyncDuration": sd_min,
            "MaxSyncDuration": sd_max,
        },
        "WAL": {
            "AppendCount": c.wal_appends,
            "AppendBytes": c.wal_bytes_written,
            "BufferBytes": wal_bytes,
            "FsyncCount": c.wal_fsyncs,
            "FsyncDurationTotal": wf_total,
            "MinFsyncDuration": wf_min,
            "MaxFsyncDuration": wf_max,
            "FlushCount": c.wal_write_bytes.count,
            "FlushedBytes": ww_total,
            "MinFlushBytes": ww_min,
            "MaxFlushBytes": ww_max,
            "ResetDurationTotal": wr_total,
            "MinResetDuration": wr_min,
            "MaxResetDuration": wr_max,
            "LastAppendAt": instant(c.last_wal_append_ns),
            "LastFsyncAt": instant(c.last_wal_fsync_ns),
            "LastFlushAt": instant(c.last_wal_write_ns),
            "FlushIntervalCount": c.wal_write_interval_ns.count,
            "FlushIntervalTotal": wi_total,
            "MinFlushInterval": wi_min,
            "MaxFlushInterval": wi_max,
            "RecentFlushes": Json::Null,
        },
    })
}

/// Open page shape (`persisted: true` and zero figures for an open
/// partition without page).
pub fn open_page_json(p: &OpenPageStats) -> Json {
    json!({
        "day": p.key,
        "records": p.records,
        "metric_slots": p.unique_metrics,
        "unique_metrics": p.unique_metrics,
        "value_bytes": p.value_bytes,
        "start_timestamp_ns": p.start_ts,
        "end_timestamp_ns": p.end_ts,
        "max_records": p.max_records,
        "max_bytes": p.max_bytes,
        "max_age_ns": p.max_age_ns,
        "age_ns": p.age_ns,
        "wal_segment_id": u8::from(p.logged),
        "full": p.full,
        "persisted": !p.has_page,
        "logged": p.logged,
    })
}
