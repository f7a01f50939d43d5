//! `serve`: listen for peer devices and sync with each (iroh), running the after-sync
//! steps after every session.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fieldcrm_model::{DeviceKey, Millis};
use fieldcrm_net::{Conn, Endpoint, Server, Ticket, drive};
use fieldcrm_sync::{ALPN, Report, SessionRole};
use fieldcrm_workspace::Workspace;
use tokio::sync::mpsc;

use crate::sync::Counterpart;
use crate::{Error, Result, SyncOutcome};

/// What a server tells its caller. Called from the sessions' tasks, possibly at the same
/// time for different peers.
pub trait ServeEvents: Send + Sync + 'static {
    /// A device was turned away before any byte was exchanged (not enrolled, revoked).
    fn refused(&self, device: &DeviceKey) {
        let _ = device;
    }

    /// How a running session is going (after every received frame).
    fn progress(&self, with: &Counterpart, report: &Report) {
        let _ = (with, report);
    }

    /// A session ended: what it did (after-sync included), or why it failed.
    fn finished(&self, with: &Counterpart, outcome: &Result<SyncOutcome>);
}

/// A running server ([`serve`]).
pub struct Serving {
    endpoint: Endpoint,
    server: Server,
    ticket: Ticket,
    done: mpsc::UnboundedReceiver<()>,
}

impl std::fmt::Debug for Serving {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Serving")
            .field("ticket", &self.ticket)
            .finish_non_exhaustive()
    }
}

impl Serving {
    /// The ticket to give peers (this device's key and listening addresses).
    pub fn ticket(&self) -> &Ticket {
        &self.ticket
    }

    /// Wait until one more session completes successfully. `false` if the server stopped.
    pub async fn session_done(&mut self) -> bool {
        self.done.recv().await.is_some()
    }

    /// Stop accepting, give running sessions `grace` to finish, then close the endpoint.
    pub async fn shutdown(self, grace: Duration) {
        self.server.shutdown(grace).await;
        self.endpoint.close().await;
    }
}

/// Listen on `bind` for enrolled peer devices and sync with each one that connects (it
/// sees only what its user may read). After every successful session the after-sync
/// steps run at `clock()`; `events` hears of refusals, progress and each finished session.
///
/// The workspace in `home` is opened only while a peer is being checked or served, so the
/// person serving can go on recording work with other commands (or the app) meanwhile;
/// each side waits for the other's moment with the store ([`Workspace::open`]).
pub async fn serve<E, C>(home: &Path, bind: SocketAddr, clock: C, events: E) -> Result<Serving>
where
    E: ServeEvents,
    C: Fn() -> Millis + Send + Sync + 'static,
{
    let secret = {
        let ws = open(home.to_path_buf()).await?;
        ws.roster().map_err(Error::NotServable)?;
        ws.secret().to_bytes()
    };
    let endpoint = Endpoint::bind(&secret, bind)
        .await
        .map_err(|e| Error::Bind(Box::new(e)))?;
    let ticket = endpoint.ticket().await;
    let (done_tx, done) = mpsc::unbounded_channel::<()>();
    let events = Arc::new(events);
    let clock = Arc::new(clock);
    let auth_home = home.to_path_buf();
    let auth_events = Arc::clone(&events);
    let handler_home = home.to_path_buf();
    let server = fieldcrm_net::serve(
        &endpoint,
        ALPN,
        move |peer| {
            // A short, blocking look at the roster (this hook is synchronous).
            let ok = Workspace::open(&auth_home).is_ok_and(|ws| ws.peer_user(&peer).is_ok());
            if !ok {
                auth_events.refused(&peer);
            }
            ok
        },
        move |conn: Conn| {
            let home = handler_home.clone();
            let done = done_tx.clone();
            let events = Arc::clone(&events);
            let clock = Arc::clone(&clock);
            async move {
                let outcome = match open(home).await {
                    Ok(ws) => {
                        let with = Counterpart::Device {
                            key: conn.peer(),
                            user: ws.peer_user(&conn.peer()).ok().map(|(_, u)| u.name),
                        };
                        let outcome = serve_one(&ws, conn, &with, &*events, &*clock).await;
                        // `ws` is dropped here: the store is free until the next peer.
                        (with, outcome)
                    }
                    Err(e) => (
                        Counterpart::Device {
                            key: conn.peer(),
                            user: None,
                        },
                        Err(e),
                    ),
                };
                let (with, outcome) = outcome;
                events.finished(&with, &outcome);
                match outcome {
                    Ok(_) => {
                        let _ = done.send(());
                        Ok(())
                    }
                    Err(e) => Err(e.to_string()),
                }
            }
        },
    );
    Ok(Serving {
        endpoint,
        server,
        ticket,
        done,
    })
}

/// Open the workspace off the async workers (opening may wait for another process).
async fn open(home: PathBuf) -> Result<Workspace> {
    tokio::task::spawn_blocking(move || Workspace::open(&home))
        .await
        .map_err(|e| Error::Finish(format!("workspace task: {e}")))?
        .map_err(Error::Workspace)
}

async fn serve_one<E: ServeEvents, C: Fn() -> Millis>(
    ws: &Workspace,
    mut conn: Conn,
    with: &Counterpart,
    events: &E,
    clock: &C,
) -> Result<SyncOutcome> {
    let started = Instant::now();
    ws.before_sync(clock()).map_err(Error::BeforeSync)?;
    let mut session = ws.sync_session(SessionRole::Responder, &conn.peer())?;
    let mut host = ws.sync_host();
    drive(&mut conn, &mut session, &mut host, |r| {
        events.progress(with, r)
    })
    .await
    .map_err(|source| Error::Session {
        with: with.to_string(),
        source,
    })?;
    let elapsed = started.elapsed();
    let peer = conn.peer();
    conn.finish()
        .await
        .map_err(|e| Error::Finish(e.to_string()))?;
    ws.note_synced(
        &fieldcrm_workspace::peer_remote(&peer),
        &crate::sync::not_acked(session.report()),
    )
    .map_err(Error::AfterSync)?;
    let after = ws.after_sync(&[], clock()).map_err(Error::AfterSync)?;
    Ok(SyncOutcome {
        with: with.clone(),
        report: session.report().clone(),
        elapsed,
        joined_as: None,
        after,
        busy_retries: 0,
    })
}
