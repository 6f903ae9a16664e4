//! Logging per `[[logging.logger]]` of engine.toml (docs/BEHAVIOUR.md §1.19):
//! `console` (stderr) or a file opened for append, each with its own level
//! (`info`, `debug`, `trace`). `RUST_LOG`, when set, overrides the console
//! level for debugging.

use std::fs::OpenOptions;
use std::sync::Mutex;

use anyhow::{Context, Result};
use nanotdb::config::{LogLevel, LoggerConfig};
use std::io::IsTerminal;

use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::prelude::*;
use tracing_subscriber::{EnvFilter, Layer, Registry};

fn level(l: LogLevel) -> LevelFilter {
    match l {
        LogLevel::Info => LevelFilter::INFO,
        LogLevel::Debug => LevelFilter::DEBUG,
        LogLevel::Trace => LevelFilter::TRACE,
    }
}

/// Installs the global subscriber for these loggers.
pub fn init(loggers: &[LoggerConfig]) -> Result<()> {
    let mut layers: Vec<Box<dyn Layer<Registry> + Send + Sync>> = Vec::new();
    for l in loggers {
        if l.output == "console" {
            let filter = match std::env::var("RUST_LOG") {
                Ok(v) if !v.is_empty() => EnvFilter::new(v),
                _ => EnvFilter::default().add_directive(level(l.level).into()),
            };
            layers.push(
                tracing_subscriber::fmt::layer()
                    .with_writer(std::io::stderr)
                    // Colour codes only for a person at a terminal, not in log files or journals.
                    .with_ansi(std::io::stderr().is_terminal())
                    .with_filter(filter)
                    .boxed(),
            );
        } else {
            let f = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&l.output)
                .with_context(|| format!("open log file {}", l.output))?;
            layers.push(
                tracing_subscriber::fmt::layer()
                    .with_ansi(false)
                    .with_writer(Mutex::new(f))
                    .with_filter(level(l.level))
                    .boxed(),
            );
        }
    }
    tracing_subscriber::registry()
        .with(layers)
        .try_init()
        .context("install logger")?;
    Ok(())
}
