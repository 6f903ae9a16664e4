//! Writing manifests (fresh databases and rollup destinations).

use super::*;

// ---------------------------------------------------------------------------------------------
// Writing manifests
// ---------------------------------------------------------------------------------------------

/// Compact Go duration: `format_go_duration` with trailing zero units dropped (`5m`, `1h`,
/// `1h30m`), except that exactly one minute is written `60s` like the shipped template. All
/// outputs parse back to the same value with Go's `time.ParseDuration`.
pub fn format_duration_compact(ns: i64) -> String {
    if ns == 60 * NS_PER_SEC {
        return "60s".to_string();
    }
    let mut s = format_go_duration(ns);
    if s.ends_with("m0s") {
        s.truncate(s.len() - 2);
        if s.ends_with("h0m") {
            s.truncate(s.len() - 2);
        }
    }
    s
}

/// TOML basic string with escapes.
pub(super) fn toml_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\u{:04X}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

pub(super) fn toml_list(v: &[String]) -> String {
    let items: Vec<String> = v.iter().map(|s| toml_str(s)).collect();
    format!("[{}]", items.join(", "))
}

pub(super) fn opt_duration_str(v: Option<i64>) -> String {
    v.map(format_duration_compact).unwrap_or_default()
}

/// Encodes a normalised manifest in the reference's layout (byte-identical to the reference
/// for a fresh install). Empty lists and absent job lists are omitted.
pub fn manifest_to_toml(m: &Manifest) -> String {
    use std::fmt::Write as _;
    let mut o = String::new();
    let r = &m.retention;
    // Writing into a String cannot fail.
    let _ = write!(
        o,
        "[retention]\n  grace = {}\n  retention_days = {}\n  retention_action = {}\n  \
         max_active_days = {}\n  partition = {}\n\n",
        toml_str(&format_duration_compact(r.grace_ns)),
        r.retention_days,
        toml_str(r.action.as_str()),
        r.max_active_days,
        toml_str(r.partition.as_str()),
    );
    let _ = write!(
        o,
        "[wal]\n  enabled = {}\n  skip_before = {}\n\n",
        m.wal.enabled,
        toml_str(&format_duration_compact(m.wal.skip_before_ns)),
    );
    let _ = write!(
        o,
        "[page]\n  max_records = {}\n  max_bytes = {}\n  max_age = {}\n\n",
        m.page.max_records,
        m.page.max_bytes,
        toml_str(&format_duration_compact(m.page.max_age_ns)),
    );
    let ro = &m.rollups;
    let _ = write!(
        o,
        "[rollups]\n  enabled = {}\n  checkpoint_file = {}\n  default_grace = {}\n  \
         default_interval = {}\n  default_destination_db = {}\n",
        ro.enabled,
        toml_str(&ro.checkpoint_file),
        toml_str(&opt_duration_str(ro.default_grace_ns)),
        toml_str(&opt_duration_str(ro.default_interval_ns)),
        toml_str(&ro.default_destination_db),
    );
    if !ro.default_aggregates.is_empty() {
        let _ = writeln!(
            o,
            "  default_aggregates = {}",
            toml_list(&ro.default_aggregates)
        );
    }
    if !ro.global_exclude_patterns.is_empty() {
        let _ = writeln!(
            o,
            "  global_exclude_patterns = {}",
            toml_list(&ro.global_exclude_patterns)
        );
    }
    for j in &ro.jobs {
        let _ = write!(o, "\n  [[rollups.jobs]]\n    id = {}\n", toml_str(&j.id));
        if let Some(s) = &j.source_metric {
            let _ = writeln!(o, "    source_metric = {}", toml_str(s));
        }
        if let Some(s) = &j.source_pattern {
            let _ = writeln!(o, "    source_pattern = {}", toml_str(s));
        }
        if !j.exclude_patterns.is_empty() {
            let _ = writeln!(
                o,
                "    exclude_patterns = {}",
                toml_list(&j.exclude_patterns)
            );
        }
        let _ = writeln!(
            o,
            "    interval = {}",
            toml_str(&format_duration_compact(j.interval_ns))
        );
        let _ = writeln!(o, "    aggregates = {}", toml_list(&j.aggregates));
        let _ = writeln!(o, "    destination_db = {}", toml_str(&j.destination_db));
        if !j.destination_metric_prefix.is_empty() {
            let _ = writeln!(
                o,
                "    destination_metric_prefix = {}",
                toml_str(&j.destination_metric_prefix)
            );
        }
        if let Some(g) = j.grace_ns {
            let _ = writeln!(o, "    grace = {}", toml_str(&format_duration_compact(g)));
        }
    }
    o
}

/// Manifest of an auto-created rollup destination (docs/FORMATS.md §6.3): engine defaults with the
/// WAL and rollups off, and `year`/`168h` for intervals ≥ 24 h, else `month`/`6h`.
pub fn rollup_destination_manifest(defaults: &Manifest, interval_ns: i64) -> Manifest {
    let mut m = defaults.clone();
    m.wal.enabled = false;
    m.rollups.enabled = false;
    m.rollups.jobs.clear();
    if interval_ns >= 24 * 3600 * NS_PER_SEC {
        m.retention.partition = PartitionMode::Year;
        m.page.max_age_ns = 168 * 3600 * NS_PER_SEC;
    } else {
        m.retention.partition = PartitionMode::Month;
        m.page.max_age_ns = 6 * 3600 * NS_PER_SEC;
    }
    m
}

/// [`manifest_to_toml`] preceded by the reference's four explanatory comment lines for a
/// rollup destination (the partition/max_age lines describe the values actually written).
pub fn rollup_destination_manifest_toml(m: &Manifest) -> String {
    let (unit, tiny) = match m.retention.partition {
        PartitionMode::Year => ("year", "daily or monthly"),
        _ => (m.retention.partition.as_str(), "daily"),
    };
    format!(
        "# Auto-created rollup destination manifest.\n\
         # WAL is disabled because rollup data is derived from source metrics and can be rebuilt.\n\
         # partition = \"{unit}\" keeps sparse rollup outputs out of many tiny {tiny} files.\n\
         # page.max_age = \"{}\" allows more derived samples to accumulate before flush, reducing tiny pages.\n\n{}",
        format_duration_compact(m.page.max_age_ns),
        manifest_to_toml(m)
    )
}

/// Writes a new manifest atomically (tmp + fsync + link + dir fsync); fails with an `Io`
/// error of kind `AlreadyExists` if `path` exists, so a user's manifest is never replaced.
pub fn write_new_manifest(path: &Path, m: &Manifest) -> Result<(), ConfigError> {
    write_new_file_atomic(path, manifest_to_toml(m).as_bytes()).map_err(|e| io_err(path, e))
}

/// Like [`write_new_manifest`] with explicit text (e.g. a rollup destination's).
pub fn write_new_manifest_text(path: &Path, text: &str) -> Result<(), ConfigError> {
    write_new_file_atomic(path, text.as_bytes()).map_err(|e| io_err(path, e))
}

/// Writes `contents` to a temp file beside `path`, fsyncs it, then publishes it under `path`
/// without ever replacing an existing file (hard link, which fails if `path` exists; falls
/// back to check + rename on filesystems without hard links), and fsyncs the directory.
pub(super) fn write_new_file_atomic(path: &Path, contents: &[u8]) -> io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp.{}", std::process::id()));
    let tmp = dir.join(tmp_name);
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)?;
        f.write_all(contents)?;
        f.sync_all()?;
        drop(f);
        match fs::hard_link(&tmp, path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(e),
            Err(_) => {
                if fs::symlink_metadata(path).is_ok() {
                    Err(io::Error::new(
                        io::ErrorKind::AlreadyExists,
                        "file already exists",
                    ))
                } else {
                    fs::rename(&tmp, path)
                }
            }
        }
    })();
    let _ = fs::remove_file(&tmp);
    result?;
    if let Ok(d) = File::open(&dir) {
        // Directory fsync is best effort: not every platform allows it.
        let _ = d.sync_all();
    }
    Ok(())
}
