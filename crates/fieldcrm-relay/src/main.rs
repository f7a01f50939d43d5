//! `fieldcrm-relay`: run the office relay.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use fieldcrm_model::DeviceKey;
use fieldcrm_relay::{Config, Relay};

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

fn main() {
    if let Err(e) = real_main() {
        eprintln!("error: {e:#}");
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
        Cmd::Serve { config, http, iroh } => {
            let mut c = load_config(&config)?;
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
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
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
    }
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
