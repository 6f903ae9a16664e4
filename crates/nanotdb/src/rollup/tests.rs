//! Unit tests of job expansion.

use std::collections::HashSet;
use std::path::Path;

use super::*;
use crate::config::{self, Manifest};

fn manifest(toml: &str) -> Manifest {
    let defaults = config::default_engine_config().manifest_defaults;
    let (m, _) = config::parse_manifest(toml, &defaults, Path::new("manifest.toml")).unwrap();
    m
}

#[test]
fn pattern_jobs_expand_with_exclusions_and_defaults() {
    let m = manifest(
        r#"
[rollups]
enabled = true
default_interval = "1h"
default_destination_db = "d1h"
global_exclude_patterns = ["temp.cpu"]
[[rollups.jobs]]
id = "t"
source_pattern = "temp.*"
exclude_patterns = ["temp.probe0[2-3]"]
[[rollups.jobs]]
id = "load"
source_metric = "load.1m"
interval = "15m"
aggregates = ["max", "trimmed_average", "trimmed_avg"]
destination_db = "d15"
destination_metric_prefix = "l1"
grace = "1m"
"#,
    );
    let metrics: Vec<String> = [
        "temp.probe03",
        "temp.probe01",
        "temp.cpu",
        "temp.probe02",
        "temp/x",
        "load.1m",
        "temp.a.b",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let jobs = expand_jobs(&m, &metrics);
    let keys: Vec<&str> = jobs.iter().map(|j| j.key.as_str()).collect();
    assert_eq!(keys, ["load", "t::temp.a.b", "t::temp.probe01"]);
    assert_eq!(jobs[0].outputs, ["l1.max", "l1.trimmed_avg"]);
    assert_eq!(jobs[0].grace_ns, 60_000_000_000);
    assert_eq!(jobs[0].interval_ns, 900_000_000_000);
    assert_eq!(
        jobs[2].outputs,
        [
            "temp.probe01.min",
            "temp.probe01.max",
            "temp.probe01.sum",
            "temp.probe01.avg",
            "temp.probe01.count"
        ]
    );
    assert_eq!(jobs[2].destination_db, "d1h");
    assert_eq!(jobs[2].grace_ns, 300_000_000_000); // retention.grace
    let set: HashSet<&str> = metrics.iter().map(String::as_str).collect();
    assert!(is_produced(&m, &set, "d1h", "temp.probe01.avg"));
    assert!(!is_produced(&m, &set, "d1h", "temp.probe02.avg"));
    assert!(!is_produced(&m, &set, "d1h", "temp.cpu.avg"));
    assert!(!is_produced(&m, &set, "d1h", "temp.probe01.p99"));
    assert!(is_produced(&m, &set, "d15", "l1.trimmed_avg"));
    assert!(!is_produced(&m, &set, "d1h", "l1.max"));
}
