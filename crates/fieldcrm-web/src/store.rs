//! Workspace access per request: open, work, drop, on a blocking thread.
//!
//! redb lets one process hold the store file, and the CLI may run beside the app, so the
//! app never keeps the workspace open. A "store in use" refusal is retried for up to two
//! seconds before the user sees a friendly page.

use std::sync::Arc;
use std::time::Duration;

use fieldcrm_workspace::{Error, Workspace};

use crate::App;

/// How long to retry while another process holds the store.
const BUSY_WAIT: Duration = Duration::from_secs(2);
const BUSY_STEP: Duration = Duration::from_millis(50);

/// Why a piece of store work did not happen.
#[derive(Debug)]
pub(crate) enum WsError {
    /// The application layer refused or failed.
    App(Error),
    /// Another process held the store for the whole wait.
    Busy,
    /// The blocking task failed (a bug).
    Internal(String),
}

impl From<Error> for WsError {
    fn from(e: Error) -> Self {
        if e.code() == "store-in-use" {
            WsError::Busy
        } else {
            WsError::App(e)
        }
    }
}

/// Open the workspace, retrying while another process holds it.
pub(crate) fn open(app: &App) -> Result<Workspace, WsError> {
    let started = std::time::Instant::now();
    loop {
        match Workspace::open(&app.home) {
            Ok(ws) => return Ok(ws.with_memo(app.memo.clone())),
            Err(e) if e.code() == "store-in-use" => {
                if started.elapsed() >= BUSY_WAIT {
                    return Err(WsError::Busy);
                }
                std::thread::sleep(BUSY_STEP);
            }
            Err(e) => return Err(WsError::App(e)),
        }
    }
}

/// Remember the store file's modification time after the app's own access (so the
/// change feed reports only other processes' writes).
pub(crate) fn note_own_access(app: &App) {
    let m = std::fs::metadata(app.store_path())
        .and_then(|m| m.modified())
        .ok();
    if let Ok(mut own) = app.own_mtime.lock() {
        *own = m;
    }
}

/// Run `f` with the workspace open on a blocking thread; the workspace is closed when
/// `f` returns.
pub(crate) async fn with_ws<T, F>(app: &Arc<App>, f: F) -> Result<T, WsError>
where
    T: Send + 'static,
    F: FnOnce(&Workspace) -> Result<T, WsError> + Send + 'static,
{
    let app = app.clone();
    let out = tokio::task::spawn_blocking(move || {
        let r = {
            let ws = open(&app)?;
            f(&ws)
        };
        note_own_access(&app);
        r
    })
    .await;
    match out {
        Ok(r) => r,
        Err(e) => Err(WsError::Internal(e.to_string())),
    }
}
