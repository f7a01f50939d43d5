//! The relay's configuration file (TOML). Every field has a default, so an empty file
//! (or none) is a working configuration.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// `relay.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct Config {
    /// Where the HTTP server (WebSocket sync, health, metrics) listens.
    pub http_listen: SocketAddr,
    /// Where the iroh endpoint listens (UDP); `None` turns iroh off.
    pub iroh_listen: Option<SocketAddr>,
    /// Directory of the relay's store (`relay.redb`) and audit log (`audit.jsonl`).
    pub data_dir: PathBuf,
    /// Where the admin endpoint listens (backups of the running relay): loopback only;
    /// port 0 picks a free port, written with the token to `admin.json` in `data_dir`.
    pub admin_listen: SocketAddr,
    /// Where `fieldcrm-relay backup` puts backups when `--out` is not given.
    pub backup_dir: Option<PathBuf>,
    /// Log lines on stderr: `text` (for people) or `json` (one object per line).
    pub log_format: LogFormat,
    /// Which log lines: a level (`info`, `debug`, …) or a `RUST_LOG`-style filter. The
    /// `RUST_LOG` environment variable and `--log-level` override it.
    pub log_level: Option<String>,
    /// Refused connections are summed up in one log line per this many seconds (never a
    /// line per refused connection).
    pub log_refusals_secs: u64,
    /// Limits.
    pub limits: Limits,
    /// Read and write scope options.
    pub scope: ScopeOptions,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One human-readable line per event.
    #[default]
    Text,
    /// One JSON object per line, with the span's fields (`span`, `spans`).
    Json,
}

impl std::str::FromStr for LogFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            other => Err(format!("log format `{other}`: expected `text` or `json`")),
        }
    }
}

/// Limits that protect the relay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct Limits {
    /// Largest message accepted, in bytes (at most `fieldcrm_sync::MAX_MESSAGE_SIZE`).
    pub max_message_bytes: usize,
    /// Sessions running at once (WebSocket and iroh together); more are turned away.
    pub max_sessions: usize,
    /// A session that receives no application message (pings and pongs do not count)
    /// for this many seconds is closed.
    pub idle_timeout_secs: u64,
    /// Seconds running sessions get to finish on shutdown.
    pub shutdown_grace_secs: u64,
    /// Seconds a WebSocket client has, from the upgrade, to answer the challenge; then it
    /// is closed (close code `AUTH_TIMEOUT`).
    pub auth_timeout_secs: u64,
    /// Largest message, and most bytes in all, a WebSocket client may send before it is
    /// authenticated.
    pub max_preauth_message_bytes: usize,
    /// Unauthenticated WebSocket connections at once from one IP address; more get HTTP 503.
    pub max_preauth_per_ip: usize,
    /// Unauthenticated WebSocket connections at once in total; more get HTTP 503.
    pub max_preauth: usize,
    /// Seconds an HTTP client has to send a request's headers; then the connection is closed.
    pub header_read_timeout_secs: u64,
    /// Open TCP connections on `http_listen` (HTTP, unauthenticated and authenticated
    /// WebSockets); more are closed at once. Capped below the process's open-file limit.
    pub max_connections: usize,
    /// Sessions whose store work (loading, checking and saving documents) runs at once;
    /// the others wait their turn between messages. 0: two per core.
    pub store_jobs: usize,
}

/// Scope options.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct ScopeOptions {
    /// No longer used, still read so older `relay.toml` files load: every change is now
    /// signed by the device that made it, so the relay accepts changes a device delivers
    /// on behalf of others when their signed authors may write them.
    pub accept_relayed_changes: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            http_listen: SocketAddr::from(([127, 0, 0, 1], 7800)),
            iroh_listen: Some(SocketAddr::from(([0, 0, 0, 0], 7801))),
            data_dir: PathBuf::from("relay-data"),
            admin_listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            backup_dir: None,
            log_format: LogFormat::Text,
            log_level: None,
            log_refusals_secs: 60,
            limits: Limits::default(),
            scope: ScopeOptions::default(),
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_bytes: fieldcrm_sync::MAX_MESSAGE_SIZE,
            max_sessions: 512,
            idle_timeout_secs: 60,
            shutdown_grace_secs: 10,
            auth_timeout_secs: 5,
            max_preauth_message_bytes: 64 * 1024,
            max_preauth_per_ip: 16,
            max_preauth: 256,
            header_read_timeout_secs: 10,
            max_connections: 4096,
            store_jobs: 0,
        }
    }
}

/// A configuration file that could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// Reading the file failed.
    #[error("could not read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Not valid TOML for this configuration.
    #[error("{path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        source: toml::de::Error,
    },
    /// A value out of range.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

impl Config {
    /// Reads and checks a configuration file. Relative `data_dir` is taken relative to the
    /// file's directory.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.into(),
            source,
        })?;
        let mut config: Config = toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.into(),
            source,
        })?;
        if let Some(dir) = path.parent() {
            if config.data_dir.is_relative() {
                config.data_dir = dir.join(&config.data_dir);
            }
            if let Some(b) = &mut config.backup_dir
                && b.is_relative()
            {
                *b = dir.join(&*b);
            }
        }
        config.check().map_err(|message| ConfigError::Invalid {
            path: path.into(),
            message,
        })?;
        Ok(config)
    }

    /// Checks the values.
    pub fn check(&self) -> Result<(), String> {
        if !self.admin_listen.ip().is_loopback() {
            return Err(format!(
                "admin_listen = \"{}\" must be a loopback address (127.0.0.1 or [::1])",
                self.admin_listen
            ));
        }
        if self.log_refusals_secs == 0 {
            return Err("log_refusals_secs must be at least 1".into());
        }
        let l = &self.limits;
        if l.max_message_bytes < 1024 || l.max_message_bytes > fieldcrm_sync::MAX_MESSAGE_SIZE {
            return Err(format!(
                "limits.max_message_bytes must be between 1024 and {}",
                fieldcrm_sync::MAX_MESSAGE_SIZE
            ));
        }
        if l.max_sessions == 0 {
            return Err("limits.max_sessions must be at least 1".into());
        }
        for (name, v) in [
            ("idle_timeout_secs", l.idle_timeout_secs),
            ("auth_timeout_secs", l.auth_timeout_secs),
            ("header_read_timeout_secs", l.header_read_timeout_secs),
        ] {
            if v == 0 {
                return Err(format!("limits.{name} must be at least 1"));
            }
        }
        for (name, v) in [
            ("max_preauth_per_ip", l.max_preauth_per_ip),
            ("max_preauth", l.max_preauth),
            ("max_connections", l.max_connections),
        ] {
            if v == 0 {
                return Err(format!("limits.{name} must be at least 1"));
            }
        }
        if l.max_preauth_message_bytes < 1024 || l.max_preauth_message_bytes > l.max_message_bytes {
            return Err(
                "limits.max_preauth_message_bytes must be between 1024 and limits.max_message_bytes"
                    .into(),
            );
        }
        Ok(())
    }

    /// The idle timeout.
    pub fn idle_timeout(&self) -> Duration {
        Duration::from_secs(self.limits.idle_timeout_secs)
    }

    /// Sessions whose store work runs at once (`limits.store_jobs`, 0 = two per core).
    pub fn store_jobs(&self) -> usize {
        match self.limits.store_jobs {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()) * 2,
            n => n,
        }
    }

    /// The authentication deadline of a WebSocket client.
    pub fn auth_timeout(&self) -> Duration {
        Duration::from_secs(self.limits.auth_timeout_secs)
    }

    /// The HTTP header read timeout.
    pub fn header_read_timeout(&self) -> Duration {
        Duration::from_secs(self.limits.header_read_timeout_secs)
    }

    /// The configuration as TOML (what `fieldcrm-relay init` writes).
    pub fn to_toml(&self) -> Result<String, toml::ser::Error> {
        toml::to_string_pretty(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_is_the_defaults_and_unknown_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("relay.toml");
        std::fs::write(&p, "").unwrap();
        let c = Config::load(&p).unwrap();
        assert_eq!(c.limits, Limits::default());
        assert_eq!(c.data_dir, dir.path().join("relay-data"));
        std::fs::write(&p, "[limits]\nmax_sesions = 3\n").unwrap();
        let err = Config::load(&p).unwrap_err().to_string();
        assert!(err.contains("max_sesions"), "{err}");
        std::fs::write(&p, "[limits]\nmax_message_bytes = 999999999\n").unwrap();
        assert!(Config::load(&p).is_err());
        std::fs::write(&p, "[limits]\nauth_timeout_secs = 0\n").unwrap();
        assert!(Config::load(&p).is_err());
        std::fs::write(&p, "[limits]\nmax_preauth_message_bytes = 99999999\n").unwrap();
        assert!(Config::load(&p).is_err());
        std::fs::write(
            &p,
            "[limits]\nmax_preauth_per_ip = 2\nauth_timeout_secs = 3\n",
        )
        .unwrap();
        let c = Config::load(&p).unwrap();
        assert_eq!(c.limits.max_preauth_per_ip, 2);
        assert_eq!(c.auth_timeout(), Duration::from_secs(3));
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        assert_eq!(c.store_jobs(), 2 * cores);
        std::fs::write(&p, "[limits]\nstore_jobs = 3\n").unwrap();
        assert_eq!(Config::load(&p).unwrap().store_jobs(), 3);
        let round: Config = toml::from_str(&Config::default().to_toml().unwrap()).unwrap();
        assert_eq!(round, Config::default());
        std::fs::write(&p, "admin_listen = \"0.0.0.0:9000\"\n").unwrap();
        let err = Config::load(&p).unwrap_err().to_string();
        assert!(err.contains("loopback"), "{err}");
        std::fs::write(&p, "log_format = \"yaml\"\n").unwrap();
        assert!(Config::load(&p).is_err());
        std::fs::write(
            &p,
            "log_format = \"json\"\nlog_level = \"debug\"\nbackup_dir = \"backups\"\n",
        )
        .unwrap();
        let c = Config::load(&p).unwrap();
        assert_eq!(c.log_format, LogFormat::Json);
        assert_eq!(c.log_level.as_deref(), Some("debug"));
        assert_eq!(c.backup_dir, Some(dir.path().join("backups")));
        // The example shipped with the systemd unit loads.
        std::fs::write(&p, include_str!("../../../examples/relay/relay.toml")).unwrap();
        let c = Config::load(&p).unwrap();
        assert_eq!(c.data_dir, PathBuf::from("/var/lib/fieldcrm-relay/data"));
        assert_eq!(c.limits, Limits::default());
    }
}
