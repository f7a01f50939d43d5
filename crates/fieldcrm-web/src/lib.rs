//! The field app: `fieldcrm app`, a local web app for reps and managers (Chinese first).
//!
//! Pages are rendered on the server (maud), one handler and one render function per page;
//! forms work without JavaScript and `/assets/app.js` only enhances them (live search,
//! the quote's discount readout, reloading when the store changes). Every asset is
//! embedded; nothing loads from outside; the server binds loopback only.
//!
//! The app never keeps the workspace open: each request opens it, does its work on a
//! blocking thread and drops it, so the CLI can use the same workspace in between
//! (redb lets one process hold the file). See [`store`].
//!
//! Security (see [`security`]): a launch secret in the printed URL buys a session cookie
//! (HttpOnly, SameSite=Strict); every other route needs that cookie (except
//! `/assets/app.css`, so the 403 page is styled); every POST needs the session's CSRF token
//! and a same-origin `Origin` when one is sent; the `Host` header must name this server
//! (DNS rebinding); every response carries a strict CSP and `nosniff`, pages `no-store`.
#![deny(missing_docs)]

mod format;
mod pages;
mod security;
mod store;
mod ui;

use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::routing::{get, post};
use fieldcrm_model::Millis;

pub use security::random_hex;

/// Options of `fieldcrm app`.
#[derive(Debug, Clone, Default)]
pub struct AppOptions {
    /// Port to listen on (loopback); a free port when `None`.
    pub port: Option<u16>,
    /// Open the browser.
    pub open: bool,
    /// "Now" at start (a clock override for demos and tests); the app's clock runs on
    /// from it.
    pub now: Option<Millis>,
}

/// Shared state of the running app.
pub(crate) struct App {
    /// The workspace home.
    pub(crate) home: PathBuf,
    /// The launch secret of the printed URL.
    pub(crate) secret: String,
    /// The port (for the Host and Origin checks).
    pub(crate) port: u16,
    /// Sessions by cookie token.
    pub(crate) sessions: Mutex<HashMap<String, Session>>,
    /// Offset of the app's clock from the wall clock, ms.
    pub(crate) clock_offset: Millis,
    /// Snapshots and findings kept across requests while the store is unchanged.
    pub(crate) memo: Arc<fieldcrm_workspace::Memo>,
    /// The app's own use of the store file (for the change feed).
    pub(crate) own_access: store::OwnAccess,
    /// Becomes true at shutdown (ends the event streams).
    pub(crate) shutdown: tokio::sync::watch::Receiver<bool>,
    /// Sets `shutdown`.
    pub(crate) stop: tokio::sync::watch::Sender<bool>,
}

/// One browser session.
#[derive(Debug, Clone, Default)]
pub(crate) struct Session {
    /// The CSRF token every form carries.
    pub(crate) csrf: String,
    /// A message for the next page ("已保存").
    pub(crate) flash: Option<Flash>,
}

/// A message shown once on the next page.
#[derive(Debug, Clone)]
pub(crate) struct Flash {
    /// Success (a status) or a refusal (an alert).
    pub(crate) ok: bool,
    /// The text, in the user's language.
    pub(crate) text: String,
}

impl App {
    /// Now, UTC ms (the wall clock plus the override offset).
    pub(crate) fn now(&self) -> Millis {
        wall_now().saturating_add(self.clock_offset)
    }

    /// Leave a message for the next page of `token`'s session.
    pub(crate) fn flash(&self, token: &str, text: String) {
        self.set_flash(token, Flash { ok: true, text });
    }

    /// Leave a refusal for the next page of `token`'s session.
    pub(crate) fn flash_error(&self, token: &str, text: String) {
        self.set_flash(token, Flash { ok: false, text });
    }

    fn set_flash(&self, token: &str, flash: Flash) {
        if let Ok(mut s) = self.sessions.lock()
            && let Some(sess) = s.get_mut(token)
        {
            sess.flash = Some(flash);
        }
    }

    /// Take the waiting message of `token`'s session.
    pub(crate) fn take_flash(&self, token: &str) -> Option<Flash> {
        self.sessions
            .lock()
            .ok()
            .and_then(|mut s| s.get_mut(token).and_then(|sess| sess.flash.take()))
    }

    /// The store file.
    pub(crate) fn store_path(&self) -> PathBuf {
        self.home.join(fieldcrm_workspace::STORE_FILE)
    }
}

pub(crate) fn wall_now() -> Millis {
    jiff::Timestamp::now().as_millisecond()
}

/// The app's routes for a workspace in `home`, a launch secret and the port it serves
/// on (used by the Host and Origin checks). Exposed for tests that drive the router
/// without a socket.
pub fn router(home: PathBuf, secret: String, port: u16, now: Option<Millis>) -> Router {
    build(home, secret, port, now).0
}

fn build(home: PathBuf, secret: String, port: u16, now: Option<Millis>) -> (Router, Arc<App>) {
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let app = Arc::new(App {
        shutdown,
        stop,
        home,
        secret,
        port,
        sessions: Mutex::new(HashMap::new()),
        clock_offset: now.map(|n| n - wall_now()).unwrap_or(0),
        memo: Arc::new(fieldcrm_workspace::Memo::new()),
        own_access: store::OwnAccess::default(),
    });
    use pages::*;
    let router = Router::new()
        .route("/login", get(security::login))
        .route("/assets/app.css", get(ui::css))
        .route("/assets/app.js", get(ui::js))
        .route("/", get(today::page))
        .route("/customers", get(customers::page).post(customers::create))
        .route("/customers/results", get(customers::results))
        .route("/customers/new", get(customers::new_page))
        .route("/customers/{id}", get(customer::page))
        .route("/customers/{id}/{action}", post(customer::record))
        .route(
            "/customers/{id}/{collection}/{entity}/{action}",
            get(record_forms::page).post(customer::entity_action),
        )
        .route("/channels", get(channels::list).post(channel_forms::create))
        .route("/channels/{id}", get(channels::page))
        .route("/channels/{id}/{action}", post(channel_forms::record))
        .route(
            "/channels/{id}/{collection}/{entity}/{action}",
            post(channel_forms::entity_action),
        )
        .route("/sync", get(sync::page).post(sync::run_sync))
        .route("/sync/console", post(sync::console_link))
        .route("/conflicts", get(conflicts::page).post(conflicts::resolve))
        .route("/inbox", get(manager::inbox))
        .route("/findings", get(manager::findings))
        .route("/duplicates", get(manager::duplicates).post(manager::merge))
        .route("/reports", get(manager::reports))
        .route("/targets", get(targets::page).post(targets::create))
        .route(
            "/targets/{collection}/{id}/{action}",
            get(targets::confirm).post(targets::action),
        )
        .route("/invite", get(invite::page).post(invite::create))
        .route("/reports/export.csv", get(manager::export_csv))
        .route("/reports/export.xlsx", get(manager::export_xlsx))
        .route("/events", get(events::events))
        .fallback(ui::not_found)
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            security::guard,
        ))
        .with_state(app.clone());
    (router, app)
}

/// Errors of [`run`].
#[derive(Debug)]
pub enum RunError {
    /// Could not bind or serve.
    Io(std::io::Error),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Io(e) => write!(f, "fieldcrm app: {e}"),
        }
    }
}

impl std::error::Error for RunError {}

impl From<std::io::Error> for RunError {
    fn from(e: std::io::Error) -> Self {
        RunError::Io(e)
    }
}

/// Serve the app for the workspace in `home` on 127.0.0.1 until Ctrl-C. Prints one line,
/// `fieldcrm app: http://127.0.0.1:PORT/login?k=SECRET`, and opens the browser unless
/// told not to.
pub async fn run(home: PathBuf, opts: AppOptions) -> Result<(), RunError> {
    let addr = SocketAddr::from(([127, 0, 0, 1], opts.port.unwrap_or(0)));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let port = listener.local_addr()?.port();
    let secret = random_hex(32);
    let url = format!("http://127.0.0.1:{port}/login?k={secret}");
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "fieldcrm app: {url}")?;
        out.flush()?;
    }
    if opts.open {
        open_browser(&url);
    }
    let (router, app) = build(home, secret, port, opts.now);
    axum::serve(listener, router)
        .with_graceful_shutdown(async move {
            let _ = tokio::signal::ctrl_c().await;
            let _ = app.stop.send(true);
        })
        .await?;
    Ok(())
}

/// Open `url` in the default browser; failure is ignored (the URL is printed).
fn open_browser(url: &str) {
    let mut cmd = if cfg!(target_os = "macos") {
        std::process::Command::new("open")
    } else if cfg!(windows) {
        let mut c = std::process::Command::new("cmd");
        c.args(["/C", "start", ""]);
        c
    } else {
        std::process::Command::new("xdg-open")
    };
    let _ = cmd
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_events;
#[cfg(test)]
mod tests_flows;
#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::string_slice
)]
mod tests_records;
#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::string_slice
)]
mod tests_targets;
