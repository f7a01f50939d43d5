//! `fieldcrm-relay`: run the office relay.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use fieldcrm_model::DeviceKey;
use fieldcrm_relay::{BackupDone, Config, LogFormat, Relay, RelayError};

/// The fieldcrm office relay: holds every document and syncs with enrolled devices.
#[derive(Parser, Debug)]
#[command(name = "fieldcrm-relay", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Create the relay for one workspace, trusting the roster its admin device uploads.
    Init {
        /// Configuration file (written with the defaults if it does not exist).
        #[arg(long, default_value = "relay.toml")]
        config: PathBuf,
        /// The workspace ID (`fieldcrm whoami` on the admin's device).
        #[arg(long)]
        workspace: String,
        /// The admin's device key (`fieldcrm whoami`).
        #[arg(long)]
        admin_device: String,
    },
    /// Serve until SIGINT/SIGTERM.
    Serve {
        /// Configuration file (defaults are used if it does not exist).
        #[arg(long, default_value = "relay.toml")]
        config: PathBuf,
        /// Override `http_listen`.
        #[arg(long)]
        http: Option<SocketAddr>,
        /// Override `iroh_listen` (`off` turns iroh off).
        #[arg(long)]
        iroh: Option<String>,
        /// Log lines on stderr as `text` or `json` (overrides `log_format`).
        #[arg(long)]
        log_format: Option<LogFormat>,
        /// Which log lines: a level (`debug`, `info`, `warn`, …) or a `RUST_LOG`-style
        /// filter (overrides `RUST_LOG` and `log_level`; default `info`).
        #[arg(long)]
        log_level: Option<String>,
    },
    /// Back up the relay's data (store, audit log, identity) into a new directory. A running
    /// relay writes it itself, consistently, while it keeps serving (over its loopback admin
    /// endpoint); a stopped one is read directly.
    Backup {
        /// Configuration file of the relay.
        #[arg(long, default_value = "relay.toml")]
        config: PathBuf,
        /// An existing directory to put the backup in (as `relay-backup-<time>`), or the
        /// new backup's path. Default: `backup_dir` from the configuration.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Restore a backup into the configuration's data directory, which must be empty or
    /// absent. Every file is checked against the backup's manifest first.
    Restore {
        /// The backup directory (or its manifest.json).
        #[arg(long)]
        from: PathBuf,
        /// Configuration file of the relay to restore (its `data_dir` is filled).
        #[arg(long, default_value = "relay.toml")]
        config: PathBuf,
    },
}

fn load_config(path: &std::path::Path) -> Result<Config> {
    if path.exists() {
        Ok(Config::load(path)?)
    } else {
        let mut c = Config::default();
        if let Some(dir) = path.parent() {
            c.data_dir = dir.join(&c.data_dir);
        }
        Ok(c)
    }
}

/// Prints a line; a closed stdout (a supervisor that stopped reading) is not an error.
fn say(line: impl std::fmt::Display) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout(), "{line}");
}

/// Set once `serve` has started its log: fatal errors then go to the log (a JSON log
/// stays JSON lines), not as a bare line on stderr.
static LOGGING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// mimalloc: syncs and findings load and decode many small objects at once.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    if let Err(e) = real_main() {
        if LOGGING.load(std::sync::atomic::Ordering::SeqCst) {
            tracing::error!(error = %format!("{e:#}"), "the relay stopped on an error");
        } else {
            eprintln!("error: {e:#}");
        }
        std::process::exit(2);
    }
}

fn real_main() -> Result<()> {
    match Cli::parse().command {
        Cmd::Init {
            config,
            workspace,
            admin_device,
        } => {
            let admin: DeviceKey = admin_device
                .trim()
                .parse()
                .map_err(|e| anyhow::anyhow!("--admin-device: {e}"))?;
            if !config.exists() {
                let text = Config::default()
                    .to_toml()
                    .context("could not render the default configuration")?;
                std::fs::write(&config, text)
                    .with_context(|| format!("could not write {}", config.display()))?;
            }
            let c = load_config(&config)?;
            Relay::init(&c.data_dir, &workspace, admin)?;
            println!(
                "relay initialised for workspace {} in {}",
                workspace.trim(),
                c.data_dir.display()
            );
            println!("config: {}", config.display());
            println!("next: fieldcrm-relay serve --config {}", config.display());
            Ok(())
        }
        Cmd::Serve {
            config,
            http,
            iroh,
            log_format,
            log_level,
        } => {
            let loaded = load_config(&config);
            start_logging(&config, loaded.as_ref().ok(), log_format, log_level)?;
            let mut c = loaded?;
            if c.scope.accept_relayed_changes {
                tracing::warn!(
                    config = %config.display(),
                    "scope.accept_relayed_changes is no longer used: every change is signed, and the relay accepts changes whose signed authors may write them"
                );
            }
            if let Some(h) = http {
                c.http_listen = h;
            }
            match iroh.as_deref() {
                None => {}
                Some("off") => c.iroh_listen = None,
                Some(a) => {
                    c.iroh_listen = Some(a.parse().with_context(|| format!("--iroh `{a}`"))?)
                }
            }
            if let Err(e) = c.check() {
                bail!("{}: {e}", config.display());
            }
            // Room for `limits.max_connections` sockets (run() lowers it to what fits).
            let _ = fieldcrm_relay::raise_open_file_limit();
            let relay = Relay::open(c)?;
            // Few blocking threads: sessions' store work runs `store_jobs` at once, and
            // the rest (authorizing, logging) is short. Each thread that allocates gets
            // its own mimalloc pages, huge pages where the kernel gives them.
            let blocking = relay.config().store_jobs() * 2 + 8;
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .max_blocking_threads(blocking)
                .build()
                .context("could not start the async runtime")?;
            rt.block_on(async {
                let workspace = relay.workspace_id().to_string();
                fieldcrm_relay::run(relay, shutdown_signal(), |b| {
                    say(format_args!("relay for workspace {workspace}"));
                    say(format_args!("http: ws://{}", b.http));
                    if let Some(t) = &b.iroh_ticket {
                        say(format_args!("iroh: {t}"));
                    }
                    say("ready");
                })
                .await
            })?;
            say("relay stopped");
            Ok(())
        }
        Cmd::Backup { config, out } => {
            let c = load_config(&config)?;
            let Some(out) = out.or_else(|| c.backup_dir.clone()) else {
                bail!(
                    "say where the backup goes: --out DIR, or backup_dir in {}",
                    config.display()
                );
            };
            let out =
                std::path::absolute(&out).with_context(|| format!("--out {}", out.display()))?;
            if let Some(done) = fieldcrm_relay::request_backup(&c.data_dir, &out)? {
                print_backup(&done, "written by the running relay, which kept serving");
                return Ok(());
            }
            let data_dir = c.data_dir.clone();
            let relay = match Relay::open(c) {
                Ok(r) => r,
                Err(RelayError::InUse(p)) => bail!(
                    "{} is in use, but no running relay answered on its admin endpoint ({} in {}); if a relay is starting, try again in a moment",
                    p.display(),
                    fieldcrm_relay::ADMIN_FILE,
                    data_dir.display()
                ),
                Err(e) => return Err(e.into()),
            };
            let done = relay.backup(&out)?;
            print_backup(&done, "the relay was not running: read directly");
            Ok(())
        }
        Cmd::Restore { from, config } => {
            let c = load_config(&config)?;
            let m = fieldcrm_relay::restore(&from, &c.data_dir)?;
            println!(
                "restored the backup of {} (workspace {}, {} documents, {} audit rows) into {}",
                m.created_at,
                m.workspace_id,
                m.documents,
                m.audit_rows,
                c.data_dir.display()
            );
            println!("devices bring back what they synced after that backup at their next sync");
            println!("next: fieldcrm-relay serve --config {}", config.display());
            Ok(())
        }
    }
}

fn print_backup(done: &BackupDone, how: &str) {
    let m = &done.manifest;
    let bytes: u64 = m.files.values().map(|f| f.bytes).sum();
    say(format_args!("backup: {}", done.path.display()));
    say(format_args!(
        "{} documents, {} audit rows, {bytes} bytes, workspace {}, taken {} ({how})",
        m.documents, m.audit_rows, m.workspace_id, m.created_at
    ));
}

/// Starts the log: format from `--log-format`, else the configuration, else text; level
/// from `--log-level`, else `RUST_LOG`, else the configuration, else `info`.
fn start_logging(
    config_path: &std::path::Path,
    config: Option<&Config>,
    format: Option<LogFormat>,
    level: Option<String>,
) -> Result<()> {
    let format = format.or(config.map(|c| c.log_format)).unwrap_or_default();
    let env = std::env::var("RUST_LOG")
        .ok()
        .filter(|v| !v.trim().is_empty());
    let level = level
        .or(env)
        .or_else(|| config.and_then(|c| c.log_level.clone()))
        .unwrap_or_else(|| "info".into());
    fieldcrm_relay::init_logging(format, &level).map_err(anyhow::Error::msg)?;
    LOGGING.store(true, std::sync::atomic::Ordering::SeqCst);
    if !config_path.exists() {
        tracing::warn!(
            config = %config_path.display(),
            "no configuration file: using the defaults"
        );
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
