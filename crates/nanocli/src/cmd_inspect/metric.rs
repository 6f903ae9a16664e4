//! `inspect metric`: metric-file summaries.

use super::*;

pub(super) fn metric(a: Args) -> Result<ExitCode> {
    use nanotdb::metricfile::MetricFile;
    let c = ctx(&a.at.root, &a.at.db)?;
    require_dir(&c)?;
    let paths = list(&c, |k| {
        matches!(k, DbFileKind::Partition(PartitionFileKind::Metric, _))
    });
    let mut files = Vec::new();
    let (mut tb, mut tf, mut tm, mut tp, mut errors) = (0u64, 0u64, 0u64, 0u64, false);
    let mut t = Table::new(&[
        ("file", Align::Left),
        ("version", Align::Left),
        ("bytes", Align::Right),
        ("time_frames", Align::Right),
        ("frames", Align::Right),
        ("metrics", Align::Right),
        ("points", Align::Right),
        ("avg_payload", Align::Right),
        ("start", Align::Left),
        ("duration", Align::Left),
    ]);
    let mut details = String::new();
    for p in &paths {
        let bytes = fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        tb += bytes;
        match MetricFile::open(p) {
            Ok(mf) => {
                let s = mf.summary();
                let frames = s.frames.len() as u64;
                let avg = s.payload_bytes().checked_div(frames).unwrap_or(0);
                tf += frames;
                tm += s.distinct_metrics() as u64;
                tp += s.points();
                let mut f = json!({"path": rel(&c, p), "bytes": bytes, "version": s.version.number(),
                    "time_frames": s.time_frames.len(), "frames": frames, "distinct_metrics": s.distinct_metrics(),
                    "points": s.points(), "avg_payload_bytes": avg,
                    "min_timestamp_ns": s.min_ts, "max_timestamp_ns": s.max_ts,
                    "min_utc": utc(s.min_ts), "max_utc": utc(s.max_ts)});
                if a.verbose {
                    f["frames_detail"] = s
                        .frames
                        .iter()
                        .enumerate()
                        .map(|(i, fr)| {
                            json!({"index": i, "metric_id": fr.metric_id, "value_type": fr.value_type,
                                "point_count": fr.point_count, "payload_len": fr.payload_len,
                                "uncompressed_len": fr.decoded_len, "start_timestamp_ns": fr.start_ts,
                                "end_timestamp_ns": fr.end_ts, "start_utc": utc(fr.start_ts), "end_utc": utc(fr.end_ts)})
                        })
                        .collect();
                    details.push_str(&format!("\nFrames: {}\n", rel(&c, p)));
                    let mut ft = Table::new(&[
                        ("idx", Align::Right),
                        ("metric", Align::Right),
                        ("type", Align::Left),
                        ("points", Align::Right),
                        ("payload", Align::Right),
                        ("decoded", Align::Right),
                        ("start", Align::Left),
                        ("duration", Align::Left),
                    ]);
                    for (i, fr) in s.frames.iter().enumerate() {
                        ft.row(vec![
                            i.to_string(),
                            fr.metric_id.to_string(),
                            match fr.value_type {
                                1 => "int32".into(),
                                2 => "float32".into(),
                                x => format!("unknown({x})"),
                            },
                            fr.point_count.to_string(),
                            fr.payload_len.to_string(),
                            fr.decoded_len.to_string(),
                            utc(fr.start_ts),
                            format_go_duration(fr.end_ts.saturating_sub(fr.start_ts)),
                        ]);
                    }
                    details.push_str(&ft.render());
                }
                t.row(vec![
                    ellipsize(&rel(&c, p)),
                    format!("v{}", s.version.number()),
                    bytes.to_string(),
                    s.time_frames.len().to_string(),
                    frames.to_string(),
                    s.distinct_metrics().to_string(),
                    s.points().to_string(),
                    avg.to_string(),
                    utc(s.min_ts),
                    format_go_duration(s.max_ts.saturating_sub(s.min_ts)),
                ]);
                files.push(f);
            }
            Err(e) => {
                errors = true;
                t.row(vec![
                    ellipsize(&rel(&c, p)),
                    "ERR".into(),
                    bytes.to_string(),
                    e.to_string(),
                ]);
                files
                    .push(json!({"path": rel(&c, p), "bytes": bytes, "scan_error": e.to_string()}));
            }
        }
    }
    if a.json {
        let v = json!({"root_dir": c.root, "database": c.db, "database_dir": c.dir, "files": files,
            "file_count": paths.len(), "total_bytes": tb, "total_frames": tf, "total_metrics": tm,
            "total_points": tp, "has_errors": errors, "generated_at": format_rfc3339(now_ns())});
        outln!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(ExitCode::SUCCESS);
    }
    outln!("Metric files for {}", c.db);
    outln!("Root: {}", c.root.display());
    outln!("DB dir: {}", c.dir.display());
    outln!(
        "summary: files={} bytes={tb} frames={tf} distinct_metrics={tm} points={tp}",
        paths.len()
    );
    if paths.is_empty() {
        outln!("no metric files discovered");
    } else {
        out!("{}", t.render());
        out!("{details}");
    }
    Ok(ExitCode::SUCCESS)
}
