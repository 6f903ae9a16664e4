//! Tests of engine.toml and manifest.toml loading, validation and writing.
use super::*;

use crate::testutil::fixtures;

fn p() -> PathBuf {
    PathBuf::from("/r/engine.toml")
}

fn find_files(dir: &Path, name: &str, out: &mut Vec<PathBuf>) {
    let Ok(rd) = fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let path = e.path();
        if path.is_dir() {
            find_files(&path, name, out);
        } else if path.file_name().is_some_and(|n| n == name) {
            out.push(path);
        }
    }
}

fn engine_err(text: &str) -> (String, String) {
    match parse_engine_config(text, &p()) {
        Err(ConfigError::Invalid { key, reason, .. }) => (key, reason),
        other => panic!("expected Invalid, got {other:?}"),
    }
}

fn manifest_err(text: &str) -> (String, String) {
    let d = default_engine_config().manifest_defaults;
    match parse_manifest(text, &d, Path::new("/r/db/manifest.toml")) {
        Err(ConfigError::Invalid { key, reason, .. }) => (key, reason),
        other => panic!("expected Invalid, got {other:?}"),
    }
}

fn manifest_ok(text: &str) -> Manifest {
    let d = default_engine_config().manifest_defaults;
    let (m, w) = parse_manifest(text, &d, Path::new("/r/db/manifest.toml")).unwrap();
    assert!(w.is_empty(), "{w:?}");
    m
}

const ROLLUP_BASE: &str = "[rollups]\nenabled = true\n";

#[test]
fn template_equals_default_engine_config() {
    let (cfg, w) = parse_engine_config(DEFAULT_ENGINE_TOML, &p()).unwrap();
    assert!(w.is_empty(), "{w:?}");
    assert_eq!(cfg, default_engine_config());
}

#[test]
fn fixture_engine_tomls_parse_without_warnings() {
    let mut files = Vec::new();
    find_files(&fixtures(), "engine.toml", &mut files);
    assert!(files.len() >= 9, "{files:?}");
    for f in files {
        let (cfg, w) = load_engine_config(&f).unwrap();
        assert!(w.is_empty(), "{f:?}: {w:?}");
        let mut expect = default_engine_config();
        expect.stats.enabled = false; // the fixtures were written with stats off
        expect.listen = ":8428".into(); // v1.4.0's template (ours is loopback)
        expect.manifest_defaults.retention.partition = cfg.manifest_defaults.retention.partition;
        assert_eq!(cfg, expect, "{f:?}");
    }
    let (cfg, _) =
        load_engine_config(&fixtures().join("partitions/root-year/engine.toml")).unwrap();
    assert_eq!(
        cfg.manifest_defaults.retention.partition,
        PartitionMode::Year
    );
}

#[test]
fn fixture_manifests_parse_without_warnings() {
    let mut files = Vec::new();
    find_files(&fixtures(), "manifest.toml", &mut files);
    assert!(files.len() >= 16, "{files:?}");
    let d = default_engine_config().manifest_defaults;
    for f in files {
        let (m, w) = load_manifest(&f, &d).unwrap();
        assert!(w.is_empty(), "{f:?}: {w:?}");
        assert_eq!(m.retention.retention_days, 30);
        assert_eq!(m.page.max_records, 16_000);
        assert_eq!(m.page.max_bytes, 127_000);
        let raw = read_raw_manifest(&f).unwrap();
        assert_eq!(raw.retention.grace, "5m");
    }
}

#[test]
fn rollups_fixture_jobs_exact() {
    let d = default_engine_config().manifest_defaults;
    let f = fixtures().join("rollups/root/edge/manifest.toml");
    let (m, w) = load_manifest(&f, &d).unwrap();
    assert!(w.is_empty());
    let h = 3600 * NS_PER_SEC;
    let r = &m.rollups;
    assert!(r.enabled);
    assert_eq!(r.checkpoint_file, "rollup.checkpoints.log");
    assert_eq!(r.default_grace_ns, Some(5 * 60 * NS_PER_SEC));
    assert_eq!(r.default_interval_ns, Some(h));
    assert_eq!(r.default_destination_db, "edge_1h");
    assert_eq!(r.default_aggregates, ["min", "max", "avg", "sum", "count"]);
    assert_eq!(r.global_exclude_patterns, ["temp.cpu"]);
    assert_eq!(
        r.jobs,
        vec![
            RollupJob {
                id: "temps_1h".into(),
                source_metric: None,
                source_pattern: Some("temp.*".into()),
                exclude_patterns: vec![],
                interval_ns: h,
                aggregates: vec![
                    "min".into(),
                    "max".into(),
                    "avg".into(),
                    "sum".into(),
                    "count".into()
                ],
                destination_db: "edge_1h".into(),
                destination_metric_prefix: String::new(),
                grace_ns: None,
            },
            RollupJob {
                id: "load_15m".into(),
                source_metric: Some("load.1m".into()),
                source_pattern: None,
                exclude_patterns: vec![],
                interval_ns: 15 * 60 * NS_PER_SEC,
                aggregates: vec!["max".into(), "avg".into()],
                destination_db: "edge_15m".into(),
                destination_metric_prefix: "load1".into(),
                grace_ns: None,
            },
        ]
    );
    // Round trip of a manifest with jobs.
    let text = manifest_to_toml(&m);
    let (m2, w2) = parse_manifest(&text, &d, &f).unwrap();
    assert!(w2.is_empty());
    assert_eq!(m2, m);
}

#[test]
fn destination_fixtures_parse_and_match_generated_text() {
    let (cfg, _) = load_engine_config(&fixtures().join("rollups/root/engine.toml")).unwrap();
    let d = &cfg.manifest_defaults;
    for (db, interval) in [("edge_15m", 15 * 60), ("edge_1h", 3600)] {
        let f = fixtures().join(format!("rollups/root/{db}/manifest.toml"));
        let (m, _) = load_manifest(&f, d).unwrap();
        assert!(!m.wal.enabled);
        assert_eq!(m.retention.partition, PartitionMode::Month);
        assert_eq!(m.page.max_age_ns, 6 * 3600 * NS_PER_SEC);
        let generated = rollup_destination_manifest(d, interval * NS_PER_SEC);
        assert_eq!(generated, m);
        assert_eq!(
            rollup_destination_manifest_toml(&generated),
            fs::read_to_string(&f).unwrap()
        );
    }
    let y = rollup_destination_manifest(d, 24 * 3600 * NS_PER_SEC);
    assert_eq!(y.retention.partition, PartitionMode::Year);
    assert_eq!(y.page.max_age_ns, 168 * 3600 * NS_PER_SEC);
    assert!(rollup_destination_manifest_toml(&y).contains("page.max_age = \"168h\""));
}

#[test]
fn fresh_manifest_is_byte_identical_to_reference() {
    let expect = fs::read_to_string(fixtures().join("edge-2h/root/edge/manifest.toml")).unwrap();
    assert_eq!(
        manifest_to_toml(&default_engine_config().manifest_defaults),
        expect
    );
}

#[test]
fn missing_engine_toml_is_created_and_reloads_equal() {
    let dir = tempfile::tempdir().unwrap();
    let (cfg, w) = load_or_create_engine_config(dir.path()).unwrap();
    assert!(w.is_empty());
    assert_eq!(cfg, default_engine_config());
    let path = dir.path().join("engine.toml");
    assert_eq!(fs::read_to_string(&path).unwrap(), DEFAULT_ENGINE_TOML);
    let (again, _) = load_or_create_engine_config(dir.path()).unwrap();
    assert_eq!(again, cfg);
    let (third, _) = load_engine_config(&path).unwrap();
    assert_eq!(third, cfg);
    // No temp files left behind.
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn existing_engine_toml_is_not_rewritten() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("engine.toml");
    fs::write(&path, "[metrics]\nenabled = true\n").unwrap();
    let (cfg, _) = load_or_create_engine_config(dir.path()).unwrap();
    assert!(cfg.metrics.enabled);
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        "[metrics]\nenabled = true\n"
    );
}

#[test]
fn load_engine_config_missing_is_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = load_engine_config(&dir.path().join("engine.toml")).unwrap_err();
    assert!(
        matches!(&err, ConfigError::Io { source, .. } if source.kind() == io::ErrorKind::NotFound)
    );
}

#[test]
fn empty_engine_file_uses_code_defaults() {
    let (cfg, w) = parse_engine_config("", &p()).unwrap();
    assert!(w.is_empty());
    let mut expect = default_engine_config();
    // Code constants differ from the template for the page limits only.
    expect.manifest_defaults.page = PageConfig {
        max_records: 12_000,
        max_bytes: 262_144,
        max_age_ns: 10 * NS_PER_SEC,
    };
    assert_eq!(cfg, expect);
    // Absent booleans keep code defaults (stats on, manifest WAL on).
    assert!(cfg.stats.enabled);
    assert!(cfg.manifest_defaults.wal.enabled);
}

#[test]
fn engine_fallbacks_for_blank_and_non_positive() {
    let text = "[engine]\nlisten = \" \"\n[wal]\nmax_segment_size = 0\nfsync_policy = \"\"\n\
                [durability]\nprofile = \"\"\n[metrics]\ncompression = \" S2_Better \"\n\
                raw_ingest_action = \"RENAME\"\ntime_cache_slots = -3\n\
                [stats]\ninterval = \"\"\n[defaults]\ndatabases = [\" a \", \"\", \"internal\", \"b\"]\n";
    let (cfg, _) = parse_engine_config(text, &p()).unwrap();
    assert_eq!(cfg.listen, "127.0.0.1:8428");
    assert_eq!(cfg.wal.max_segment_size, 67_108_864);
    assert_eq!(cfg.wal.fsync_policy, FsyncPolicy::Segment);
    assert_eq!(cfg.durability, DurabilityProfile::Strict);
    assert_eq!(cfg.metrics.compression, Codec::S2Better);
    assert_eq!(cfg.metrics.raw_ingest_action, RawIngestAction::Rename);
    assert_eq!(cfg.metrics.time_cache_slots, 256);
    assert_eq!(cfg.stats.interval_ns, 30 * NS_PER_SEC);
    assert_eq!(cfg.default_databases, ["a", "b"]);
}

#[test]
fn engine_values_parsed() {
    let text = "[wal]\nfsync_policy = \"always\"\nmax_segment_size = 1024\n\
                [durability]\nprofile = \"throughput\"\n[stats]\ninterval = \"0s\"\nenabled = false\n\
                [[logging.logger]]\noutput = \"/tmp/x.log\"\nlevel = \" TRACE \"\n\
                [[logging.logger]]\noutput = \"console\"\n";
    let (cfg, _) = parse_engine_config(text, &p()).unwrap();
    assert_eq!(cfg.wal.fsync_policy, FsyncPolicy::Always);
    assert_eq!(cfg.wal.max_segment_size, 1024);
    assert_eq!(cfg.durability, DurabilityProfile::Throughput);
    assert!(!cfg.durability.fsync_data());
    assert!(!cfg.durability.write_catalog_per_frame());
    assert_eq!(cfg.stats.interval_ns, 0);
    assert!(!cfg.stats.enabled);
    assert_eq!(
        cfg.loggers,
        vec![
            LoggerConfig {
                output: "/tmp/x.log".into(),
                level: LogLevel::Trace
            },
            LoggerConfig {
                output: "console".into(),
                level: LogLevel::Info
            },
        ]
    );
}

#[test]
fn background_sync_and_checkpoint_interval() {
    let (cfg, _) = parse_engine_config("", &p()).unwrap();
    assert!(cfg.background_sync);
    assert_eq!(cfg.wal.checkpoint_interval_ns, 1_000_000_000);
    let text = "[wal]\ncheckpoint_interval = \"250ms\"\n[durability]\nbackground_sync = false\n";
    let (cfg, _) = parse_engine_config(text, &p()).unwrap();
    assert!(!cfg.background_sync);
    assert_eq!(cfg.wal.checkpoint_interval_ns, 250_000_000);
    // The generated file states both defaults.
    let (cfg, _) = parse_engine_config(DEFAULT_ENGINE_TOML, &p()).unwrap();
    assert!(cfg.background_sync);
    assert_eq!(cfg.wal.checkpoint_interval_ns, 1_000_000_000);
}

#[test]
fn engine_validation_errors_name_the_key() {
    let cases: &[(&str, &str)] = &[
        ("[wal]\nfsync_policy = \"sometimes\"", "wal.fsync_policy"),
        ("[wal]\nfsync_policy = \"Segment\"", "wal.fsync_policy"),
        ("[durability]\nprofile = \"Strict\"", "durability.profile"),
        ("[metrics]\ncompression = \"lz4\"", "metrics.compression"),
        (
            "[metrics]\nraw_ingest_action = \"move\"",
            "metrics.raw_ingest_action",
        ),
        ("[stats]\ninterval = \"-1s\"", "stats.interval"),
        (
            "[wal]\ncheckpoint_interval = \"-1s\"",
            "wal.checkpoint_interval",
        ),
        (
            "[wal]\ncheckpoint_interval = \"soon\"",
            "wal.checkpoint_interval",
        ),
        ("[stats]\ninterval = \"1d\"", "stats.interval"),
        (
            "[[logging.logger]]\noutput = \" \"",
            "logging.logger[0].output",
        ),
        (
            "[[logging.logger]]\noutput = \"console\"\nlevel = \"warn\"",
            "logging.logger[0].level",
        ),
        (
            "[[logging.logger]]\noutput = \"console\"\n[[logging.logger]]\noutput = \"console\"",
            "logging.logger[1].output",
        ),
        (
            "[manifest_defaults.retention]\npartition = \"week\"",
            "manifest_defaults.retention.partition",
        ),
        (
            "[manifest_defaults.page]\nmax_age = \"x\"",
            "manifest_defaults.page.max_age",
        ),
        (
            "[manifest_defaults.retention]\npartition = \"forever\"\nretention_action = \"archive\"",
            "manifest_defaults.retention.retention_action",
        ),
        (
            "[manifest_defaults.rollups]\nenabled = true\n[[manifest_defaults.rollups.jobs]]\nsource_metric = \"m\"",
            "manifest_defaults.rollups.jobs[0].id",
        ),
    ];
    for (text, key) in cases {
        let (k, _) = engine_err(text);
        assert_eq!(&k, key, "{text}");
    }
}

#[test]
fn invalid_error_display() {
    let err = parse_engine_config("[wal]\nfsync_policy = \"sometimes\"\n", &p()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid /r/engine.toml: wal.fsync_policy: must be \"segment\", \"always\" or \"interval\", got \"sometimes\""
    );
}

#[test]
fn syntax_error_is_parse_with_line_and_column() {
    let err = parse_engine_config("[wal]\nfsync_policy = \n", &p()).unwrap_err();
    match &err {
        ConfigError::Parse { path, message } => {
            assert_eq!(path, &p());
            assert!(message.starts_with("line 2, column "), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().starts_with("parse /r/engine.toml: line 2"));
    // Type mismatch is a parse error too.
    assert!(matches!(
        parse_engine_config("[wal]\nmax_segment_size = \"big\"\n", &p()),
        Err(ConfigError::Parse { .. })
    ));
}

#[test]
fn unknown_keys_warn_but_web_does_not() {
    let text = "[wal]\nfsync_polcy = \"always\"\n[bogus]\nx = 1\n\
                [web]\nenabled = false\ntitle = \"t\"\n[web.extra]\ny = 2\n";
    let (cfg, w) = parse_engine_config(text, Path::new("/x/engine.toml")).unwrap();
    assert_eq!(cfg.wal.fsync_policy, FsyncPolicy::Segment);
    let keys: Vec<&str> = w.iter().map(|w| w.key.as_str()).collect();
    assert_eq!(keys, ["bogus", "wal.fsync_polcy"]);
    assert_eq!(
        w[1].to_string(),
        "unknown key \"wal.fsync_polcy\" in /x/engine.toml"
    );
    assert_eq!(w[0].kind, ConfigWarningKind::UnknownKey);

    let (_, w) = parse_engine_config(
        "[[logging.logger]]\noutput = \"console\"\ncolour = true\n",
        &p(),
    )
    .unwrap();
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].key, "logging.logger[0].colour");

    let (_, w) = parse_engine_config("[web]\nenabled = true\n", &p()).unwrap();
    assert!(w.is_empty());
    // `[[remote_write]]` is the server's too (validated there).
    let (_, w) = parse_engine_config(
        "[[remote_write]]\nurl = \"http://x/\"\nheaders = { a = \"b\" }\n[remote_writer]\nx = 1\n",
        &p(),
    )
    .unwrap();
    let keys: Vec<&str> = w.iter().map(|w| w.key.as_str()).collect();
    assert_eq!(keys, ["remote_writer"]);
    // [query] is the server's PromQL section.
    let (_, w) = parse_engine_config("[query]\nlookback_delta = \"1m\"\n", &p()).unwrap();
    assert!(w.is_empty());

    let d = default_engine_config().manifest_defaults;
    let (_, w) = parse_manifest("[page]\nmax_recs = 5\n", &d, Path::new("/m")).unwrap();
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].key, "page.max_recs");
}

#[test]
fn manifest_absent_booleans_are_false_and_blanks_fall_back() {
    let mut defaults = default_engine_config().manifest_defaults;
    defaults.rollups.default_destination_db = "dst".into();
    let (m, _) = parse_manifest("", &defaults, Path::new("/m")).unwrap();
    assert!(!m.wal.enabled);
    assert!(!m.rollups.enabled);
    assert_eq!(m.retention, defaults.retention);
    assert_eq!(m.wal.skip_before_ns, defaults.wal.skip_before_ns);
    assert_eq!(m.page, defaults.page);
    assert_eq!(m.rollups.checkpoint_file, "rollup.checkpoints.log");
    assert_eq!(m.rollups.default_destination_db, "dst");

    let m = manifest_ok(
        "[retention]\nretention_days = 0\nmax_active_days = -1\npartition = \" Month \"\n\
         retention_action = \"DELETE\"\ngrace = \"\"\n[wal]\nenabled = true\nskip_before = \"0s\"\n\
         [page]\nmax_records = -5\nmax_bytes = 0\nmax_age = \"0s\"\n",
    );
    assert!(m.wal.enabled);
    assert_eq!(m.wal.skip_before_ns, 0);
    assert_eq!(m.retention.retention_days, 30);
    assert_eq!(m.retention.max_active_days, 2);
    assert_eq!(m.retention.partition, PartitionMode::Month);
    assert_eq!(m.retention.action, RetentionAction::Delete);
    assert_eq!(m.page.max_records, 16_000);
    assert_eq!(m.page.max_bytes, 127_000);
    assert_eq!(m.page.max_age_ns, 10 * NS_PER_SEC);
}

#[test]
fn manifest_validation_errors_name_the_key() {
    let cases: Vec<(String, &str)> = vec![
        ("[retention]\ngrace = \"5 m\"".into(), "retention.grace"),
        (
            "[retention]\nretention_action = \"purge\"".into(),
            "retention.retention_action",
        ),
        (
            "[retention]\npartition = \"week\"".into(),
            "retention.partition",
        ),
        (
            "[retention]\npartition = \"FOREVER\"\nretention_action = \"Archive\"".into(),
            "retention.retention_action",
        ),
        (
            "[retention]\nretention_days = 9999999999".into(),
            "retention.retention_days",
        ),
        ("[wal]\nskip_before = \"1d\"".into(), "wal.skip_before"),
        ("[page]\nmax_age = \"soon\"".into(), "page.max_age"),
        (
            format!("{ROLLUP_BASE}default_grace = \"x\""),
            "rollups.default_grace",
        ),
        (
            format!("{ROLLUP_BASE}default_interval = \"x\""),
            "rollups.default_interval",
        ),
        (
            format!("{ROLLUP_BASE}global_exclude_patterns = [\"ok\", \"[\"]"),
            "rollups.global_exclude_patterns[1]",
        ),
        (
            format!("{ROLLUP_BASE}[[rollups.jobs]]\nid = \" \"\nsource_metric = \"m\""),
            "rollups.jobs[0].id",
        ),
        (
            format!(
                "{ROLLUP_BASE}[[rollups.jobs]]\nid = \"j\"\ninterval = \"1h\"\ndestination_db = \"d\""
            ),
            "rollups.jobs[0].source_metric",
        ),
        (
            format!(
                "{ROLLUP_BASE}[[rollups.jobs]]\nid = \"j\"\nsource_metric = \"m\"\nsource_pattern = \"m*\"\n\
                 interval = \"1h\"\ndestination_db = \"d\""
            ),
            "rollups.jobs[0].source_metric",
        ),
        (
            format!(
                "{ROLLUP_BASE}[[rollups.jobs]]\nid = \"j\"\nsource_pattern = \"a[b\"\ninterval = \"1h\"\ndestination_db = \"d\""
            ),
            "rollups.jobs[0].source_pattern",
        ),
        (
            format!(
                "{ROLLUP_BASE}[[rollups.jobs]]\nid = \"j\"\nsource_pattern = \"a*\"\nexclude_patterns = [\"x\\\\\"]\n\
                 interval = \"1h\"\ndestination_db = \"d\""
            ),
            "rollups.jobs[0].exclude_patterns[0]",
        ),
        (
            format!(
                "{ROLLUP_BASE}[[rollups.jobs]]\nid = \"j\"\nsource_metric = \"m\"\ndestination_db = \"d\""
            ),
            "rollups.jobs[0].interval",
        ),
        (
            format!(
                "{ROLLUP_BASE}[[rollups.jobs]]\nid = \"j\"\nsource_metric = \"m\"\ninterval = \"1x\"\ndestination_db = \"d\""
            ),
            "rollups.jobs[0].interval",
        ),
        (
            format!(
                "{ROLLUP_BASE}[[rollups.jobs]]\nid = \"j\"\nsource_metric = \"m\"\ninterval = \"1h\""
            ),
            "rollups.jobs[0].destination_db",
        ),
        (
            format!(
                "{ROLLUP_BASE}[[rollups.jobs]]\nid = \"j\"\nsource_metric = \"m\"\ninterval = \"1h\"\n\
                 destination_db = \"d\"\naggregates = [\"min\", \"mode\"]"
            ),
            "rollups.jobs[0].aggregates[1]",
        ),
        (
            format!(
                "{ROLLUP_BASE}default_aggregates = [\"bogus\"]\n[[rollups.jobs]]\nid = \"j\"\nsource_metric = \"m\"\n\
                 interval = \"1h\"\ndestination_db = \"d\""
            ),
            "rollups.default_aggregates[0]",
        ),
        (
            format!(
                "{ROLLUP_BASE}[[rollups.jobs]]\nid = \"j\"\nsource_metric = \"m\"\ninterval = \"1h\"\n\
                 destination_db = \"d\"\ngrace = \"later\""
            ),
            "rollups.jobs[0].grace",
        ),
    ];
    for (text, key) in &cases {
        let (k, _) = manifest_err(text);
        assert_eq!(&k, key, "{text}");
    }
    let err = parse_manifest(
        "[page]\nmax_age = \"soon\"\n",
        &code_default_manifest(),
        Path::new("/r/db/manifest.toml"),
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("invalid /r/db/manifest.toml: page.max_age: ")
    );
}

#[test]
fn disabled_rollups_are_not_validated_and_drop_jobs() {
    let m = manifest_ok(
        "[rollups]\ndefault_grace = \"x\"\nglobal_exclude_patterns = [\"[\"]\n\
         [[rollups.jobs]]\nid = \"\"\n",
    );
    assert!(!m.rollups.enabled);
    assert!(m.rollups.jobs.is_empty());
    assert_eq!(m.rollups.default_grace_ns, None);
}

#[test]
fn job_fallbacks_values() {
    let m = manifest_ok(&format!(
        "{ROLLUP_BASE}default_interval = \"30m\"\ndefault_destination_db = \"dd\"\n\
         [[rollups.jobs]]\nid = \" j1 \"\nsource_metric = \"cpu\"\naggregates = [\" MAX \", \"P99\"]\ngrace = \"2m\"\n\
         [[rollups.jobs]]\nid = \"j2\"\nsource_pattern = \"net/*\"\nexclude_patterns = [\"net/lo\"]\ninterval = \"24h\"\n"
    ));
    let j = &m.rollups.jobs;
    assert_eq!(j.len(), 2);
    assert_eq!(j[0].id, "j1");
    assert_eq!(j[0].interval_ns, 30 * 60 * NS_PER_SEC);
    assert_eq!(j[0].aggregates, ["max", "p99"]);
    assert_eq!(j[0].destination_db, "dd");
    assert_eq!(j[0].destination_metric_prefix, "cpu");
    assert_eq!(j[0].grace_ns, Some(120 * NS_PER_SEC));
    assert_eq!(j[1].interval_ns, 24 * 3600 * NS_PER_SEC);
    assert_eq!(j[1].aggregates, DEFAULT_JOB_AGGREGATES);
    assert_eq!(j[1].destination_metric_prefix, "");
    assert_eq!(j[1].exclude_patterns, ["net/lo"]);
    // Round trip.
    let d = default_engine_config().manifest_defaults;
    let (m2, _) = parse_manifest(&manifest_to_toml(&m), &d, Path::new("/m")).unwrap();
    assert_eq!(m2, m);
}

#[test]
fn max_records_capped_with_warning() {
    let d = default_engine_config().manifest_defaults;
    let (m, w) = parse_manifest("[page]\nmax_records = 70000\n", &d, Path::new("/m")).unwrap();
    assert_eq!(m.page.max_records, 65_535);
    assert_eq!(
        w,
        vec![ConfigWarning {
            path: PathBuf::from("/m"),
            key: "page.max_records".into(),
            kind: ConfigWarningKind::Capped {
                given: 70_000,
                used: 65_535
            },
        }]
    );
    let (m, w) = parse_manifest("[page]\nmax_records = 65535\n", &d, Path::new("/m")).unwrap();
    assert_eq!(m.page.max_records, 65_535);
    assert!(w.is_empty());
    let (cfg, w) =
        parse_engine_config("[manifest_defaults.page]\nmax_records = 100000\n", &p()).unwrap();
    assert_eq!(cfg.manifest_defaults.page.max_records, 65_535);
    assert_eq!(w[0].key, "manifest_defaults.page.max_records");
}

#[test]
fn manifest_round_trip_non_default() {
    let mut m = default_engine_config().manifest_defaults;
    m.retention.grace_ns = 90 * 60 * NS_PER_SEC + 500_000_000;
    m.retention.action = RetentionAction::Archive;
    m.retention.partition = PartitionMode::Year;
    m.wal.enabled = false;
    m.wal.skip_before_ns = -5;
    m.page.max_age_ns = 1_500_000;
    m.rollups.checkpoint_file = "c \"q\".log".into();
    let d = default_engine_config().manifest_defaults;
    let text = manifest_to_toml(&m);
    let (m2, w) = parse_manifest(&text, &d, Path::new("/m")).unwrap();
    assert!(w.is_empty());
    assert_eq!(m2, m);
}

#[test]
fn compact_durations() {
    let cases = [
        (0, "0s"),
        (60 * NS_PER_SEC, "60s"),
        (300 * NS_PER_SEC, "5m"),
        (3600 * NS_PER_SEC, "1h"),
        (5400 * NS_PER_SEC, "1h30m"),
        (3601 * NS_PER_SEC, "1h0m1s"),
        (6 * 3600 * NS_PER_SEC, "6h"),
        (1_500_000_000, "1.5s"),
        (-120 * NS_PER_SEC, "-2m"),
        (100_000_000, "100ms"),
    ];
    for (ns, s) in cases {
        assert_eq!(format_duration_compact(ns), s);
        assert_eq!(parse_go_duration(s), Ok(ns));
    }
}

#[test]
fn write_new_manifest_atomic_and_no_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("manifest.toml");
    let m = default_engine_config().manifest_defaults;
    write_new_manifest(&path, &m).unwrap();
    let (back, _) = load_manifest(&path, &code_default_manifest()).unwrap();
    assert_eq!(back, m);
    let mut other = m.clone();
    other.retention.retention_days = 1;
    let err = write_new_manifest(&path, &other).unwrap_err();
    assert!(
        matches!(&err, ConfigError::Io { source, .. } if source.kind() == io::ErrorKind::AlreadyExists)
    );
    assert_eq!(fs::read_to_string(&path).unwrap(), manifest_to_toml(&m));
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn raw_manifest_view_keeps_file_values_and_serialises_go_names() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("manifest.toml");
    fs::write(
        &path,
        "[retention]\ngrace = \"\"\nretention_days = -1\npartition = \"MONTH\"\n[page]\nmax_age = \"0s\"\n\
         [rollups]\n[[rollups.jobs]]\nid = \"j\"\naggregates = [\"Max\"]\n",
    )
    .unwrap();
    let raw = read_raw_manifest(&path).unwrap();
    assert_eq!(raw.retention.retention_days, -1);
    assert_eq!(raw.retention.partition, "MONTH");
    assert_eq!(raw.page.max_age, "0s");
    assert!(!raw.wal.enabled);
    let json = serde_json::to_value(&raw).unwrap();
    assert_eq!(json["Retention"]["RetentionDays"], -1);
    assert_eq!(json["Page"]["MaxAge"], "0s");
    assert_eq!(json["WAL"]["Enabled"], false);
    assert!(json["Rollups"]["DefaultAggregates"].is_null());
    assert_eq!(json["Rollups"]["Jobs"][0]["ID"], "j");
    assert_eq!(json["Rollups"]["Jobs"][0]["Aggregates"][0], "Max");
    assert_eq!(json["Rollups"]["Jobs"][0]["DestinationDB"], "");
}

#[test]
fn glob_validation_and_matching() {
    for ok in [
        "", "a", "*", "temp.*", "a?c", "[abc]", "[^a-z]x", "\\*", "[\\]]", "net/*/rx",
    ] {
        assert_eq!(validate_glob(ok), Ok(()), "{ok}");
    }
    for bad in ["[", "a[", "[]", "[]a]", "[a-]", "[-a]", "x\\", "[a", "[\\"] {
        assert!(validate_glob(bad).is_err(), "{bad}");
    }
    assert!(glob_match("temp.*", "temp.cpu"));
    assert!(!glob_match("temp.*", "temp/cpu"));
    assert!(!glob_match("*", "a/b"));
    assert!(glob_match("*/*", "a/b"));
    assert!(glob_match("a?c", "abc"));
    assert!(!glob_match("a?c", "a/c"));
    assert!(glob_match("[a-c]x", "bx"));
    assert!(!glob_match("[^a-c]x", "bx"));
    assert!(glob_match("\\*", "*"));
    assert!(!glob_match("\\*", "a"));
    assert!(!glob_match("[", "["));
    assert!(glob_match("load.*m", "load.15m"));
    // Many stars against a long non-matching name stays fast (memoised).
    let name = "a".repeat(200);
    assert!(!glob_match("*a*a*a*a*a*a*a*a*a*a*b", &name));
    assert!(glob_match("*a*a*a*a*a*a*a*a*a*a*", &name));
}

#[test]
fn codec_ids_and_names() {
    for c in [
        Codec::S2,
        Codec::S2Better,
        Codec::ZstdFastest,
        Codec::ZstdDefault,
    ] {
        assert_eq!(Codec::from_id(c.id()), Some(c));
        assert_eq!(Codec::from_name(c.name()), Some(c));
    }
    assert_eq!(Codec::ZstdDefault.id(), 4);
    assert_eq!(Codec::from_id(0), None);
    assert!(DurabilityProfile::Balanced.fsync_data());
    assert!(!DurabilityProfile::Balanced.write_catalog_per_frame());
    assert!(DurabilityProfile::Strict.write_catalog_per_frame());
}

#[test]
fn an_empty_engine_toml_is_refused_not_read_as_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("engine.toml");
    for text in ["", " \n\n\t"] {
        fs::write(&path, text).unwrap();
        let err = load_engine_config(&path).unwrap_err();
        assert!(matches!(err, ConfigError::Empty { .. }), "{err}");
        assert!(err.to_string().contains("is empty"), "{err}");
        assert!(load_or_create_engine_config(dir.path()).is_err());
    }
}
