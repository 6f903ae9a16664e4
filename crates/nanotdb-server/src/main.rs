//! `nanotdb`: the NanoTDB HTTP server (docs/BEHAVIOUR.md §2).
//!
//! `nanotdb` alone serves `./data` on 127.0.0.1:8428 (creating both the
//! directory and its `engine.toml`, whose `listen` is that address too);
//! `nanotdb --config DIR/engine.toml` serves `DIR` on the configured
//! `[engine].listen`; `--init` only creates the root.

#![deny(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::Parser;
use nanotdb::Engine;
use nanotdb_server::settings::ServerSettings;
use nanotdb_server::{AppState, serve};

/// NanoTDB server.
#[derive(Parser, Debug)]
#[command(name = "nanotdb", version, about)]
struct Cli {
    /// Path of engine.toml; its directory is the data root. Without it the
    /// data root is `./data` and the server listens on 127.0.0.1:8428.
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,
    /// Create the root and engine.toml (if missing), validate, and exit.
    #[arg(long)]
    init: bool,
    /// Listen address overriding `[engine].listen` (`host:port` or `:port`).
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    /// Write the embedded web UI files into DIR (to edit them and point
    /// `[web].web_root` at the copy), and exit.
    #[arg(long, value_name = "DIR")]
    export_web_assets: Option<PathBuf>,
}

fn root_of(config: &Path) -> Result<PathBuf> {
    if config.file_name().and_then(|n| n.to_str()) != Some(nanotdb::layout::ENGINE_CONFIG_FILE) {
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

/// Go-style `:8428` means every interface.
fn bind_addr(listen: &str) -> String {
    let l = listen.trim();
    if l.starts_with(':') {
        format!("0.0.0.0{l}")
    } else {
        l.to_string()
    }
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let root = match &cli.config {
        Some(c) => root_of(c)?,
        None => PathBuf::from("data"),
    };
    if let Some(dir) = &cli.export_web_assets {
        nanotdb_server::web::assets::export(dir)
            .with_context(|| format!("export web assets to {}", dir.display()))?;
        eprintln!("exported web assets to {}", dir.display());
        return Ok(());
    }
    if cli.init {
        init_console_logging();
        std::fs::create_dir_all(&root)
            .with_context(|| format!("init failed: create {}", root.display()))?;
        let engine = Engine::open(&root).context("init failed")?;
        engine.close().context("init failed")?;
        let settings =
            ServerSettings::load(&nanotdb::layout::engine_config(&root)).context("init failed")?;
        nanotdb_server::web::write_default_dashboard(&root, &settings.web)
            .context("init failed")?;
        eprintln!(
            "initialized config at {}",
            nanotdb::layout::engine_config(&root).display()
        );
        return Ok(());
    }
    if cli.config.is_some() && !root.is_dir() {
        bail!(
            "load runtime config failed: data root {} does not exist (run with --init first)",
            root.display()
        );
    }
    std::fs::create_dir_all(&root).with_context(|| format!("create {}", root.display()))?;
    // Refuse to start beside another server on this root (it would answer
    // 500 for every database the other one holds); held until exit.
    let _root_lock = nanotdb::RootLock::acquire(&root)?;
    // The loggers come from engine.toml, so read it before opening the engine.
    let (config, warnings) = nanotdb::config::load_or_create_engine_config(&root)
        .context("load runtime config failed")?;
    nanotdb_server::logging::init(&config.loggers)?;
    for w in warnings {
        tracing::warn!("{w}");
    }
    let engine = Engine::open_with(
        &root,
        nanotdb::EngineOptions {
            read_only: false,
            config: Some(config),
        },
    )
    .with_context(|| format!("open engine at {}", root.display()))?;
    let settings = ServerSettings::load(&nanotdb::layout::engine_config(&root))
        .context("load runtime config failed")?;
    let listen = match (&cli.listen, &cli.config) {
        (Some(l), _) => bind_addr(l),
        // Without flags stay on loopback also for roots whose engine.toml says
        // `:8428` (written by v1.4.0 or by our earlier templates).
        (None, None) if engine.config().listen.trim() == ":8428" => "127.0.0.1:8428".to_string(),
        (None, _) => bind_addr(&engine.config().listen),
    };
    let engine = Arc::new(engine);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(8)
        .enable_all()
        .build()
        .context("start runtime")?;
    let state = AppState::new(engine.clone(), settings);
    let served = rt.block_on(async {
        let shutdown = serve::signals();
        let listener = tokio::net::TcpListener::bind(&listen)
            .await
            .with_context(|| format!("listen on {listen}"))?;
        tracing::info!(root = %root.display(), listen = %listener.local_addr()?, "nanotdb listening");
        serve::run(listener, state, shutdown)
            .await
            .context("serve")
    });
    rt.shutdown_timeout(std::time::Duration::from_secs(1));
    served?;
    engine.close().context("close engine")?;
    tracing::info!("engine closed");
    Ok(())
}

/// Console logging at info for `--init` (no engine.toml may exist yet).
fn init_console_logging() {
    use std::io::IsTerminal;
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_max_level(tracing::Level::INFO)
        .try_init();
}
