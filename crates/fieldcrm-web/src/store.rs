//! Workspace access per request: open, work, drop, on a blocking thread.
//!
//! redb lets one process hold the store file, and the CLI may run beside the app, so the
//! app never keeps the workspace open. A "store in use" refusal is retried for up to two
//! seconds before the user sees a friendly page.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

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

/// The store file's modification time.
pub(crate) fn mtime(app: &App) -> Option<SystemTime> {
    std::fs::metadata(app.store_path())
        .and_then(|m| m.modified())
        .ok()
}

/// The app's own use of the store file, so the change feed tells other programs'
/// writes (the CLI, a sync) from the app's own requests. redb rewrites the file on
/// every open and close, reads included, so the file's time alone cannot tell them
/// apart: while a request has the store open, the feed does not look; after it, the
/// file's time is the app's own.
#[derive(Debug, Default)]
pub(crate) struct OwnAccess(Mutex<Own>);

#[derive(Debug, Default)]
struct Own {
    /// Requests using the store now.
    active: usize,
    /// The file's time when the app last finished with it (or last saw another
    /// program's change).
    mtime: Option<SystemTime>,
    /// How many times another program's change was seen.
    foreign: u64,
}

impl Own {
    /// Count a change by another program if the file moved since the app last saw it.
    fn look(&mut self, now: Option<SystemTime>) {
        if now != self.mtime {
            self.foreign += 1;
            self.mtime = now;
        }
    }
}

impl OwnAccess {
    fn own(&self) -> std::sync::MutexGuard<'_, Own> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How many changes by other programs were seen so far, or `None` while the app
    /// itself has the store open (the file's time then says nothing).
    pub(crate) fn foreign_changes(&self, app: &App) -> Option<u64> {
        let mut own = self.own();
        if own.active > 0 {
            return None;
        }
        own.look(mtime(app));
        Some(own.foreign)
    }

    /// The count of other programs' changes a new page starts from: it was made after
    /// them.
    pub(crate) fn seen(&self, app: &App) -> u64 {
        self.foreign_changes(app)
            .unwrap_or_else(|| self.own().foreign)
    }
}

/// One request's use of the store, from before it opens the store to after it closes
/// it (see [`OwnAccess`]).
pub(crate) struct Access<'a>(&'a App);

impl<'a> Access<'a> {
    pub(crate) fn begin(app: &'a App) -> Self {
        let before = mtime(app);
        let mut own = app.own_access.own();
        if own.active == 0 {
            // A change another program made since the feed last looked still counts.
            own.look(before);
        }
        own.active += 1;
        Access(app)
    }
}

impl Drop for Access<'_> {
    fn drop(&mut self) {
        let after = mtime(self.0);
        let mut own = self.0.own_access.own();
        own.active = own.active.saturating_sub(1);
        own.mtime = after;
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
        let _access = Access::begin(&app);
        let ws = open(&app)?;
        f(&ws)
    })
    .await;
    match out {
        Ok(r) => r,
        Err(e) => Err(WsError::Internal(e.to_string())),
    }
}
