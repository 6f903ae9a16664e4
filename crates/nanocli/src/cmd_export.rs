//! `nanocli export` (read-only).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use nanotdb::Engine;
use serde::Serialize;

/// Arguments of `nanocli export`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    at: crate::DbArgs,
    /// Output file (relative to the current directory); stdout when absent.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Print the summary as JSON (needs --out).
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Summary {
    root_dir: String,
    database: String,
    output_file: String,
    lines: u64,
    bytes: u64,
    duration_ms: u128,
}

/// Runs the command.
pub fn run(a: Args) -> Result<ExitCode> {
    let root = crate::resolve_root(&a.at.root, false)?;
    let db = crate::normalize_db(&a.at.db)?;
    if a.json && a.out.is_none() {
        bail!("--json requires --out when exporting to stdout");
    }
    let engine =
        Engine::open_read_only(&root).with_context(|| format!("open {}", root.display()))?;
    let started = Instant::now();
    match a.out {
        None => {
            let stdout = std::io::stdout();
            let bar = crate::progress::partitions_bar();
            let r = engine.export_with_progress(
                &db,
                i64::MIN,
                i64::MAX,
                stdout.lock(),
                &mut |done, total| {
                    if let Some(b) = &bar {
                        b.set_length(total);
                        b.set_position(done);
                    }
                },
            );
            if let Some(b) = bar {
                b.finish_and_clear();
            }
            match r {
                Ok(_) => {}
                // `nanocli export | head` is not an error.
                Err(nanotdb::Error::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::BrokenPipe => {}
                Err(e) => return Err(e.into()),
            }
        }
        Some(out) => {
            let out = std::path::absolute(&out)?;
            // Fail on an unknown database before creating the output file.
            engine.metrics(&db)?;
            if let Some(parent) = out.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("create {}", parent.display()))?;
            }
            let file =
                std::fs::File::create(&out).with_context(|| format!("create {}", out.display()))?;
            let bar = crate::progress::partitions_bar();
            let r = engine.export_with_progress(
                &db,
                i64::MIN,
                i64::MAX,
                std::io::BufWriter::new(&file),
                &mut |done, total| {
                    if let Some(b) = &bar {
                        b.set_length(total);
                        b.set_position(done);
                    }
                },
            )?;
            file.sync_all()
                .with_context(|| format!("sync {}", out.display()))?;
            if let Some(b) = bar {
                b.finish_and_clear();
            }
            let s = Summary {
                root_dir: root.display().to_string(),
                database: db.clone(),
                output_file: out.display().to_string(),
                lines: r.lines,
                bytes: r.bytes,
                duration_ms: started.elapsed().as_millis(),
            };
            crate::print_report(a.json, &s, |s| {
                outln!(
                    "Exported {} to {} ({} lines, {} bytes, {}ms)",
                    s.database,
                    s.output_file,
                    s.lines,
                    s.bytes,
                    s.duration_ms
                );
            })?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
