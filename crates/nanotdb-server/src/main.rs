//! `nanotdb`: the NanoTDB server.
//!
//! This first version opens the engine on the data directory and keeps it
//! open until SIGINT/SIGTERM, then flushes and closes it. The HTTP API is
//! being built on top of it (see the project's issues).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Parser;
use nanotdb::Engine;

/// NanoTDB server.
#[derive(Parser, Debug)]
#[command(name = "nanotdb", version, about)]
struct Cli {
    /// Path of engine.toml; its directory is the data root. Without it the
    /// embedded defaults are used with the data root `./data`.
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,
    /// Create the root and engine.toml (if missing), validate, and exit.
    #[arg(long)]
    init: bool,
}

fn root_of(config: &Path) -> Result<PathBuf> {
    if config.file_name().and_then(|n| n.to_str()) != Some("engine.toml") {
        bail!(
            "config file must be named engine.toml: {}",
            config.display()
        );
    }
    Ok(config
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf())
}

fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(tracing::Level::INFO)
        .init();
    let cli = Cli::parse();
    let root = match &cli.config {
        Some(c) => root_of(c)?,
        None => PathBuf::from("data"),
    };
    if cli.init {
        std::fs::create_dir_all(&root)
            .with_context(|| format!("init failed: create {}", root.display()))?;
        let engine = Engine::open(&root).context("init failed")?;
        engine.close().context("init failed")?;
        eprintln!(
            "initialized config at {}",
            root.join("engine.toml").display()
        );
        return Ok(());
    }
    let engine =
        Engine::open(&root).with_context(|| format!("open engine at {}", root.display()))?;
    tracing::info!(
        root = %root.display(),
        listen = %engine.config().listen,
        "engine open; HTTP API not yet available in this build; waiting for SIGINT/SIGTERM"
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("start runtime")?;
    rt.block_on(async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .context("install SIGTERM handler")?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r.context("wait for SIGINT")?,
            _ = term.recv() => {}
        }
        anyhow::Ok(())
    })?;
    tracing::info!("shutdown signal received");
    engine.close().context("close engine")?;
    Ok(())
}
