//! The admin endpoint of a running relay: how `fieldcrm-relay backup` gets a consistent
//! backup while the relay keeps serving (redb lets only one process open the store, so
//! the serving process writes it).
//!
//! `serve` listens on `admin_listen` (loopback only, a free port by default), apart from
//! the sync port, and writes the address and a fresh random token to `admin.json` in the
//! data directory (mode 0600, replaced atomically; removed at shutdown). `backup` reads
//! that file — so only the relay's own user (or root) can — and sends
//! `POST /v1/admin/backup` with the token; the relay answers with the backup's path and
//! manifest. No `admin.json`, or nothing listening at its address: the relay is not
//! running, and `backup` opens the store itself.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::{Deserialize, Serialize};

use crate::backup::{BackupDone, BackupError};
use crate::relay::Relay;

/// The file in the data directory that tells `backup` where the running relay listens.
pub const ADMIN_FILE: &str = "admin.json";
/// The backup route of the admin endpoint.
pub const BACKUP_PATH: &str = "/v1/admin/backup";
/// Largest request or answer on the admin endpoint.
const MAX_BODY: usize = 1 << 20;

/// `admin.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct AdminFile {
    addr: SocketAddr,
    token: String,
    pid: u32,
}

/// The body of `POST /v1/admin/backup`.
#[derive(Debug, Serialize, Deserialize)]
struct BackupRequest {
    /// Absolute path: an existing directory to put the backup in, or the new backup's path.
    out: PathBuf,
}

#[derive(Clone)]
struct AdminState {
    relay: Relay,
    token: String,
}

/// A running relay's admin face: its address and token (also in `admin.json`).
pub(crate) struct Admin {
    pub(crate) listener: tokio::net::TcpListener,
    pub(crate) addr: SocketAddr,
    token: String,
    file: PathBuf,
}

impl Admin {
    /// Binds `admin_listen` and writes `admin.json`.
    pub(crate) async fn bind(relay: &Relay) -> anyhow::Result<Admin> {
        use anyhow::Context;
        let config = relay.config();
        let listener = tokio::net::TcpListener::bind(config.admin_listen)
            .await
            .with_context(|| format!("could not listen on admin_listen {}", config.admin_listen))?;
        let addr = listener.local_addr()?;
        let token = fieldcrm_model::hex(&rand::random::<[u8; 32]>());
        let file = config.data_dir.join(ADMIN_FILE);
        let content = AdminFile {
            addr,
            token: token.clone(),
            pid: std::process::id(),
        };
        write_private(&file, &serde_json::to_vec_pretty(&content)?)
            .with_context(|| format!("could not write {}", file.display()))?;
        Ok(Admin {
            listener,
            addr,
            token,
            file,
        })
    }

    /// Serves until `stop` resolves, then removes `admin.json` (if it is still ours).
    pub(crate) async fn serve(self, relay: Relay, stop: impl Future<Output = ()> + Send + 'static) {
        let state = AdminState {
            relay,
            token: self.token.clone(),
        };
        let app = Router::new()
            .route(BACKUP_PATH, post(backup))
            .with_state(state);
        if let Err(e) = axum::serve(self.listener, app)
            .with_graceful_shutdown(stop)
            .await
        {
            tracing::error!(error = %e, "admin endpoint failed");
        }
        let ours = std::fs::read(&self.file)
            .ok()
            .and_then(|b| serde_json::from_slice::<AdminFile>(&b).ok())
            .is_some_and(|f| f.token == self.token);
        if ours {
            let _ = std::fs::remove_file(&self.file);
        }
    }
}

/// Compares in time independent of where the first difference is.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn answer(status: StatusCode, body: serde_json::Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

async fn backup(
    State(s): State<AdminState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if !same(token.trim(), &s.token) {
        tracing::warn!("admin request with a wrong token refused");
        return answer(
            StatusCode::UNAUTHORIZED,
            serde_json::json!({"error": "wrong or missing admin token"}),
        );
    }
    let req: BackupRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return answer(
                StatusCode::BAD_REQUEST,
                serde_json::json!({"error": format!("bad request: {e}")}),
            );
        }
    };
    if !req.out.is_absolute() {
        return answer(
            StatusCode::BAD_REQUEST,
            serde_json::json!({"error": "the backup path must be absolute"}),
        );
    }
    let relay = s.relay.clone();
    match tokio::task::spawn_blocking(move || relay.backup(&req.out)).await {
        Ok(Ok(done)) => answer(StatusCode::OK, serde_json::json!(done)),
        Ok(Err(e)) => {
            let status = match e {
                BackupError::Exists(_) => StatusCode::CONFLICT,
                BackupError::NoDirectory(_) => StatusCode::BAD_REQUEST,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            };
            answer(status, serde_json::json!({"error": e.to_string()}))
        }
        Err(_) => answer(
            StatusCode::INTERNAL_SERVER_ERROR,
            serde_json::json!({"error": "internal error"}),
        ),
    }
}

/// Writes `bytes` to `path` with mode 0600, through a temporary file and a rename.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    let written = o.open(&tmp).and_then(|mut f| {
        f.write_all(bytes)?;
        f.sync_all()
    });
    match written.and_then(|()| std::fs::rename(&tmp, path)) {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// Asking a running relay for a backup failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdminError {
    /// `admin.json` exists but cannot be read (another user's relay?).
    #[error("cannot read {path}: {source} (run backup as the user the relay runs as)")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The connection broke or the answer is not one.
    #[error("the running relay at {addr} did not answer properly: {detail}")]
    Protocol {
        /// Its admin address.
        addr: SocketAddr,
        /// What happened.
        detail: String,
    },
    /// The relay made no backup, and says why.
    #[error("{0}")]
    Refused(String),
}

/// Asks the relay running on `data_dir` to back up into `out` (absolute). `Ok(None)` when
/// no relay runs there (no `admin.json`, or nothing listens at its address).
pub fn request_backup(data_dir: &Path, out: &Path) -> Result<Option<BackupDone>, AdminError> {
    let path = data_dir.join(ADMIN_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(AdminError::Unreadable { path, source }),
    };
    let Ok(file) = serde_json::from_slice::<AdminFile>(&bytes) else {
        // Half a file from a crash: no running relay wrote it.
        return Ok(None);
    };
    let mut stream = match TcpStream::connect_timeout(&file.addr, Duration::from_secs(3)) {
        Ok(s) => s,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::TimedOut
            ) =>
        {
            return Ok(None);
        }
        Err(e) => {
            return Err(AdminError::Protocol {
                addr: file.addr,
                detail: e.to_string(),
            });
        }
    };
    let proto = |detail: String| AdminError::Protocol {
        addr: file.addr,
        detail,
    };
    let body = serde_json::to_string(&BackupRequest {
        out: out.to_path_buf(),
    })
    .map_err(|e| proto(e.to_string()))?;
    let request = format!(
        "POST {BACKUP_PATH} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        file.addr,
        file.token,
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| proto(e.to_string()))?;
    let mut raw = Vec::new();
    stream
        .take(MAX_BODY as u64)
        .read_to_end(&mut raw)
        .map_err(|e| proto(e.to_string()))?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| proto("no HTTP answer".into()))?;
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| {
            proto(format!(
                "bad status line `{}`",
                head.lines().next().unwrap_or("")
            ))
        })?;
    if status == 200 {
        serde_json::from_str::<BackupDone>(body)
            .map(Some)
            .map_err(|e| proto(format!("bad answer: {e}")))
    } else {
        let why = serde_json::from_str::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v.get("error")?.as_str().map(str::to_string))
            .unwrap_or_else(|| format!("HTTP {status}"));
        Err(AdminError::Refused(why))
    }
}
