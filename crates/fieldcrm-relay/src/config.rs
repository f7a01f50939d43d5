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
    /// Limits.
    pub limits: Limits,
    /// Read and write scope options.
    pub scope: ScopeOptions,
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
    /// A session that receives nothing for this many seconds is closed.
    pub idle_timeout_secs: u64,
    /// Seconds running sessions get to finish on shutdown.
    pub shutdown_grace_secs: u64,
}

/// Scope options.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct ScopeOptions {
    /// Accept changes a device relays on behalf of other devices (written by enrolled
    /// devices whose users may write the document). Off by default: every change must be
    /// written by the device that delivers it, so no device can push under another's
    /// actor ID.
    pub accept_relayed_changes: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            http_listen: SocketAddr::from(([127, 0, 0, 1], 7800)),
            iroh_listen: Some(SocketAddr::from(([0, 0, 0, 0], 7801))),
            data_dir: PathBuf::from("relay-data"),
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
        if config.data_dir.is_relative()
            && let Some(dir) = path.parent()
        {
            config.data_dir = dir.join(&config.data_dir);
        }
        config.check().map_err(|message| ConfigError::Invalid {
            path: path.into(),
            message,
        })?;
        Ok(config)
    }

    /// Checks the limits.
    pub fn check(&self) -> Result<(), String> {
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
        if l.idle_timeout_secs == 0 {
            return Err("limits.idle_timeout_secs must be at least 1".into());
        }
        Ok(())
    }

    /// The idle timeout.
    pub fn idle_timeout(&self) -> Duration {
        Duration::from_secs(self.limits.idle_timeout_secs)
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
        let round: Config = toml::from_str(&Config::default().to_toml().unwrap()).unwrap();
        assert_eq!(round, Config::default());
    }
}
