//! `nanocli`: offline tool working directly on a NanoTDB data directory.

#![deny(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

/// `println!` for the command's output: ends the process quietly with
/// status 0 when the reader has gone (`nanocli … | head`), as Unix tools do,
/// instead of panicking on the broken pipe.
macro_rules! outln {
    () => { $crate::write_stdout(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::write_stdout(format_args!("{}\n", format_args!($($arg)*))) };
}

/// `print!` for the command's output; see [`outln!`].
macro_rules! out {
    ($($arg:tt)*) => { $crate::write_stdout(format_args!($($arg)*)) };
}

mod cmd_csv2nlp;
mod cmd_export;
mod cmd_import;
mod cmd_inspect;
mod cmd_maint;
mod cmd_query;
mod cmd_retention;
mod cmd_rollup;
mod progress;
mod selector;
mod table;
mod timearg;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};

/// Offline tool for NanoTDB data directories: import, export and query
/// without a running server.
#[derive(Parser, Debug)]
#[command(name = "nanocli", version, about, long_about = None, after_help = EXAMPLES)]
struct Cli {
    /// Append log output to this file.
    #[arg(long, global = true, value_name = "PATH")]
    log_file: Option<PathBuf>,
    /// Log level for --log-file: info, debug or trace.
    #[arg(long, global = true, value_name = "LEVEL", requires = "log_file")]
    log_level: Option<String>,
    #[command(subcommand)]
    command: Command,
}

const EXAMPLES: &str = "Examples:
  nanocli import --root ./data --in edge-1d.lp
  nanocli export --root ./data --db edge --out edge.lp
  nanocli query  --root ./data --db edge --metric '^temp\\.' --start 2026-01-01 --end 2026-01-02";

#[derive(Subcommand, Debug)]
enum Command {
    /// Import a line-protocol file (`db/metric value [ts]` per line).
    #[command(after_help = "Example:\n  nanocli import --root ./data --in edge-1d.lp --db edge")]
    Import(cmd_import::Args),
    /// Export a database as line protocol (read-only).
    #[command(after_help = "Example:\n  nanocli export --root ./data --db edge --out edge.lp")]
    Export(cmd_export::Args),
    /// Query samples or last values (read-only).
    #[command(
        after_help = "Time values: a duration meaning now minus it (90m, 2d, 1w), RFC 3339, \
YYYY-MM-DD[ HH[:MM[:SS[.frac]]]] (UTC), float seconds, or an integer (seconds if <= 10^12, else ns).\n\
Example:\n  nanocli query --root ./data --db edge --metric 'cpu' --start 1d --format json"
    )]
    Query(cmd_query::Args),
    /// Inspect files of a database without opening it (read-only).
    #[command(
        subcommand,
        after_help = "Example:\n  nanocli inspect dat --root ./data --db edge --verbose"
    )]
    Inspect(cmd_inspect::What),
    /// Convert VictoriaMetrics CSV exports into time-sorted line protocol.
    #[command(
        after_help = "Example:\n  nanocli csv2nlp --in-dir ./csv --out sensors.lp --db sensors --meta meta.json"
    )]
    Csv2nlp(cmd_csv2nlp::Args),
    /// Apply the retention policy now (or show it with --dry-run).
    #[command(after_help = "Example:\n  nanocli retention --root ./data --db edge --dry-run")]
    Retention(cmd_retention::Args),
    /// Build files (see `build metric --help`).
    #[command(
        subcommand,
        after_help = "Example:\n  nanocli build metric --root ./data --db edge --verify"
    )]
    Build(cmd_maint::Build),
    /// Rewrite a sealed raw file with full pages.
    #[command(after_help = "Example:\n  nanocli compact --root ./data --db edge --part 2026-01-01")]
    Compact(cmd_maint::CompactArgs),
    /// Copy the intact frames of a damaged raw file into a new file.
    #[command(
        after_help = "Example:\n  nanocli recover --root ./data --db edge --part 2026-01-01 --out fixed.dat"
    )]
    Recover(cmd_maint::RecoverArgs),
    /// Rebuild rollup destinations from their sources (keeps user data in them).
    #[command(after_help = "Example:\n  nanocli rollup --root ./data --db edge --json")]
    Rollup(cmd_rollup::Args),
    /// Print a shell completion script.
    #[command(after_help = "Example:\n  nanocli completions bash > /etc/bash_completion.d/nanocli")]
    Completions {
        /// Shell.
        shell: clap_complete::Shell,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse_from(go_style_flags(std::env::args_os()));
    if let Err(e) = init_logging(cli.log_file.as_deref(), cli.log_level.as_deref()) {
        eprintln!("error: {e:#}");
        return ExitCode::from(2);
    }
    let result = match cli.command {
        Command::Import(a) => cmd_import::run(a),
        Command::Export(a) => cmd_export::run(a),
        Command::Query(a) => cmd_query::run(a),
        Command::Inspect(w) => cmd_inspect::run(w),
        Command::Csv2nlp(a) => cmd_csv2nlp::run(a),
        Command::Retention(a) => cmd_retention::run(a),
        Command::Build(b) => cmd_maint::build(b),
        Command::Compact(a) => cmd_maint::compact(a),
        Command::Recover(a) => cmd_maint::recover(a),
        Command::Rollup(a) => cmd_rollup::run(a),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "nanocli",
                &mut std::io::stdout(),
            );
            Ok(ExitCode::SUCCESS)
        }
    };
    match result {
        Ok(code) => code,
        // The reader of our output has gone (`| head`): not a failure.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// Writes command output to stdout; a closed pipe ends the process with
/// status 0 (nothing is left to say to a reader that has gone, and every
/// command writes its output only after its work is durable).
pub(crate) fn write_stdout(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    if let Err(e) = std::io::stdout().lock().write_fmt(args) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: writing to stdout: {e}");
        std::process::exit(1);
    }
}

/// True when `e` was caused by writing into a pipe whose reader has closed.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    use std::io::ErrorKind::BrokenPipe;
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == BrokenPipe)
            // serde_json keeps the io::Error inside without exposing it as a source.
            || c.downcast_ref::<serde_json::Error>()
                .is_some_and(|j| j.io_error_kind() == Some(BrokenPipe))
    })
}

/// Prints a command's report: pretty JSON with `--json`, else the text
/// `human` writes.
pub(crate) fn print_report<T: serde::Serialize>(
    json: bool,
    report: &T,
    human: impl FnOnce(&T),
) -> Result<()> {
    if json {
        outln!("{}", serde_json::to_string_pretty(report)?);
    } else {
        human(report);
    }
    Ok(())
}

/// `--root DIR --db NAME`: the data directory and the database most
/// commands work on.
#[derive(clap::Args, Debug)]
pub(crate) struct DbArgs {
    /// Data directory.
    #[arg(long)]
    pub root: PathBuf,
    /// Database.
    #[arg(long)]
    pub db: String,
}

/// `--root DIR [--db NAME]`: commands that act on every database (or
/// every rollup source) unless one is named.
#[derive(clap::Args, Debug)]
pub(crate) struct RootArgs {
    /// Data directory.
    #[arg(long)]
    pub root: PathBuf,
    /// Database (every one when absent).
    #[arg(long)]
    pub db: Option<String>,
}

/// Accepts the reference's Go-style single-dash long flags (`-root R`,
/// `-json`, `-db=x`) by rewriting them to `--root`, … before parsing, so
/// scripts written for v1.4.0 keep working. Only names that are long flags
/// of some command are rewritten; values such as `-5m` are left alone.
fn go_style_flags(args: impl Iterator<Item = std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    use clap::CommandFactory;
    fn collect(cmd: &clap::Command, out: &mut Vec<String>) {
        for a in cmd.get_arguments() {
            if let Some(l) = a.get_long() {
                out.push(l.to_string());
            }
        }
        for sub in cmd.get_subcommands() {
            collect(sub, out);
        }
    }
    let mut longs = vec!["help".to_string(), "version".to_string()];
    collect(&Cli::command(), &mut longs);
    args.map(|a| {
        let Some(s) = a.to_str() else { return a };
        let Some(rest) = s.strip_prefix('-') else {
            return a;
        };
        if rest.starts_with('-') {
            return a;
        }
        let name = rest.split('=').next().unwrap_or("");
        if name.len() > 1 && longs.iter().any(|l| l == name) {
            format!("--{rest}").into()
        } else {
            a
        }
    })
    .collect()
}

fn init_logging(file: Option<&Path>, level: Option<&str>) -> Result<()> {
    let Some(file) = file else {
        // Warnings (a damaged tail cut off or read around, a WAL that stops
        // early) must reach the person running the command.
        use std::io::IsTerminal;
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::WARN)
            .with_writer(std::io::stderr)
            .with_ansi(std::io::stderr().is_terminal())
            .without_time()
            .with_target(false)
            .init();
        return Ok(());
    };
    let level = match level
        .unwrap_or("debug")
        .trim()
        .to_ascii_lowercase()
        .as_str()
    {
        "info" => tracing::Level::INFO,
        "debug" => tracing::Level::DEBUG,
        "trace" => tracing::Level::TRACE,
        other => bail!("--log-level must be info, debug or trace, got {other:?}"),
    };
    let f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)
        .with_context(|| format!("open log file {}", file.display()))?;
    tracing_subscriber::fmt()
        .with_max_level(level)
        .with_ansi(false)
        .with_writer(std::sync::Mutex::new(f))
        .init();
    Ok(())
}

/// Resolves `--root`: it must be an existing directory holding `engine.toml`
/// unless `create` (writing commands may start a fresh root).
pub(crate) fn resolve_root(root: &Path, create: bool) -> Result<PathBuf> {
    let abs =
        std::path::absolute(root).with_context(|| format!("resolve --root {}", root.display()))?;
    let cfg = nanotdb::layout::engine_config(&abs);
    if !create && !cfg.is_file() {
        bail!("engine config not found at {}", cfg.display());
    }
    Ok(abs)
}

/// Normalises `--db` like the reference: trimmed of spaces and slashes.
pub(crate) fn normalize_db(db: &str) -> Result<String> {
    let d = db.trim().trim_matches('/').to_string();
    if d.is_empty() {
        bail!("--db is required");
    }
    Ok(d)
}
