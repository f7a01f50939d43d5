//! Accepting sessions: one task per connection, authorization before any application byte.
//!
//! A hand-written accept loop rather than `iroh::protocol::Router`: in iroh 1.4 the
//! router's loop stops for good when one handler task panics, and its shutdown closes the
//! endpoint. Here a panicking session ends only itself, and shutdown leaves the endpoint
//! usable for dialing out.

use std::fmt::Display;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use fieldcrm_model::DeviceKey;
use iroh::endpoint::{Connection, Incoming};
use tokio::sync::{oneshot, watch};
use tokio::task::{JoinHandle, JoinSet};

use crate::client::HELLO;
use crate::conn::{Side, close_with, from_connection_error, from_read_error, from_write_error};
use crate::{Conn, Endpoint, SessionConfig, SessionError, close};

/// Counters of a running [`Server`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServerStats {
    /// Incoming connection attempts.
    pub connections: u64,
    /// Peers refused by the `authorize` hook.
    pub refused: u64,
    /// Attempts turned away because `max_sessions` were running or the server was stopping.
    pub turned_away: u64,
    /// Sessions whose handler returned `Ok`.
    pub sessions_ok: u64,
    /// Sessions that failed: handshake, hello, handler error or panic.
    pub sessions_failed: u64,
}

#[derive(Debug, Default)]
struct Counters {
    connections: AtomicU64,
    refused: AtomicU64,
    turned_away: AtomicU64,
    sessions_ok: AtomicU64,
    sessions_failed: AtomicU64,
}

impl Counters {
    fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn snapshot(&self) -> ServerStats {
        ServerStats {
            connections: self.connections.load(Ordering::Relaxed),
            refused: self.refused.load(Ordering::Relaxed),
            turned_away: self.turned_away.load(Ordering::Relaxed),
            sessions_ok: self.sessions_ok.load(Ordering::Relaxed),
            sessions_failed: self.sessions_failed.load(Ordering::Relaxed),
        }
    }
}

/// A running accept loop, from [`serve`].
///
/// Dropping it aborts the loop and every session at once; [`Server::shutdown`] ends them
/// gracefully.
#[derive(Debug)]
pub struct Server {
    stop: Option<oneshot::Sender<Duration>>,
    task: Option<JoinHandle<()>>,
    counters: Arc<Counters>,
}

impl Server {
    /// Counters so far.
    pub fn stats(&self) -> ServerStats {
        self.counters.snapshot()
    }

    /// Stops accepting (new attempts are refused), gives running sessions up to `grace` to
    /// finish, then closes the rest with [`close::SHUTDOWN`]. The endpoint stays open (it
    /// stops accepting the ALPN) and can still dial out. Returns the final counters.
    pub async fn shutdown(mut self, grace: Duration) -> ServerStats {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(grace);
        }
        if let Some(task) = self.task.take() {
            // A panic in the loop itself would be a bug here; sessions are isolated.
            let _ = task.await;
        }
        self.counters.snapshot()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

/// Aborts a spawned task when dropped (so a cancelled session also stops its handler).
struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl<T> Future for AbortOnDrop<T> {
    type Output = Result<T, tokio::task::JoinError>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        std::pin::Pin::new(&mut self.0).poll(cx)
    }
}

struct Shared<A, H> {
    authorize: A,
    handler: H,
    config: SessionConfig,
    counters: Arc<Counters>,
}

/// Serves sessions for `alpn` on `endpoint` until [`Server::shutdown`] (or drop).
///
/// For each incoming connection, in its own task:
/// 1. the QUIC/TLS handshake authenticates the peer's device key;
/// 2. `authorize(key)` is asked *before* any application byte is read or written; on
///    `false` the connection is closed with [`close::NOT_ENROLLED`] and reason
///    `"not enrolled"`, and the peer's [`crate::connect`] fails with
///    [`crate::ConnectError::NotEnrolled`];
/// 3. the session hello is exchanged (bounded by [`SessionConfig::handshake_timeout`]);
/// 4. `handler(conn)` runs in a task of its own. `Ok` after [`Conn::finish`] is a clean end;
///    `Err(e)` closes the connection with [`close::SESSION_FAILED`] and `e` as the reason;
///    a panic closes it with the same code and reason `"internal error"`. Either way only
///    that session ends.
///
/// `authorize` is called on the accept path, so it should be quick (look the key up in an
/// in-memory roster snapshot). One `serve` per endpoint: it sets the endpoint's accepted
/// ALPNs to just `alpn`. Must be called inside a tokio runtime.
pub fn serve<A, H, F, E>(endpoint: &Endpoint, alpn: &[u8], authorize: A, handler: H) -> Server
where
    A: Fn(DeviceKey) -> bool + Send + Sync + 'static,
    H: Fn(Conn) -> F + Send + Sync + 'static,
    F: Future<Output = Result<(), E>> + Send + 'static,
    E: Display + Send + 'static,
{
    let counters = Arc::new(Counters::default());
    let shared = Arc::new(Shared {
        authorize,
        handler,
        config: endpoint.session_config().clone(),
        counters: counters.clone(),
    });
    let ep = endpoint.iroh().clone();
    ep.set_alpns(vec![alpn.to_vec()]);
    let (stop_tx, stop_rx) = oneshot::channel();
    let task = tokio::spawn(accept_loop(ep, shared, stop_rx));
    Server {
        stop: Some(stop_tx),
        task: Some(task),
        counters,
    }
}

async fn accept_loop<A, H, F, E>(
    ep: iroh::Endpoint,
    shared: Arc<Shared<A, H>>,
    mut stop: oneshot::Receiver<Duration>,
) where
    A: Fn(DeviceKey) -> bool + Send + Sync + 'static,
    H: Fn(Conn) -> F + Send + Sync + 'static,
    F: Future<Output = Result<(), E>> + Send + 'static,
    E: Display + Send + 'static,
{
    let mut sessions = JoinSet::new();
    let (hard_stop, hard_stop_rx) = watch::channel(false);
    let grace = loop {
        tokio::select! {
            grace = &mut stop => break grace.unwrap_or_default(),
            Some(_) = sessions.join_next(), if !sessions.is_empty() => {}
            incoming = ep.accept() => {
                let Some(incoming) = incoming else {
                    // The endpoint was closed: nothing more will arrive.
                    break Duration::ZERO;
                };
                Counters::bump(&shared.counters.connections);
                if sessions.len() >= shared.config.max_sessions {
                    Counters::bump(&shared.counters.turned_away);
                    incoming.refuse();
                    continue;
                }
                let shared = shared.clone();
                let hard_stop = hard_stop_rx.clone();
                sessions.spawn(run_session(incoming, shared, hard_stop));
            }
        }
    };

    // Draining: refuse newcomers while the running sessions get `grace` to end.
    let deadline = tokio::time::Instant::now() + grace;
    loop {
        tokio::select! {
            joined = sessions.join_next() => if joined.is_none() { break },
            _ = tokio::time::sleep_until(deadline) => break,
            incoming = ep.accept() => match incoming {
                Some(incoming) => {
                    Counters::bump(&shared.counters.connections);
                    Counters::bump(&shared.counters.turned_away);
                    incoming.refuse();
                }
                None => break,
            },
        }
    }
    let _ = hard_stop.send(true);
    while sessions.join_next().await.is_some() {}
    // Stop offering the protocol: later attempts fail during the handshake.
    if !ep.is_closed() {
        ep.set_alpns(Vec::new());
    }
}

/// Why a session did not reach its handler, or how the handler ended.
enum Outcome {
    Refused,
    Failed,
    Ok,
}

async fn run_session<A, H, F, E>(
    incoming: Incoming,
    shared: Arc<Shared<A, H>>,
    mut hard_stop: watch::Receiver<bool>,
) where
    A: Fn(DeviceKey) -> bool + Send + Sync + 'static,
    H: Fn(Conn) -> F + Send + Sync + 'static,
    F: Future<Output = Result<(), E>> + Send + 'static,
    E: Display + Send + 'static,
{
    let counters = shared.counters.clone();
    let mut conn_slot: Option<Connection> = None;
    let outcome = tokio::select! {
        outcome = session(incoming, &shared, &mut conn_slot) => outcome,
        _ = hard_stop.wait_for(|stop| *stop) => {
            if let Some(conn) = &conn_slot {
                close_with(conn, close::SHUTDOWN, "server shutting down");
            }
            Outcome::Failed
        }
    };
    match outcome {
        Outcome::Refused => Counters::bump(&counters.refused),
        Outcome::Failed => Counters::bump(&counters.sessions_failed),
        Outcome::Ok => Counters::bump(&counters.sessions_ok),
    }
}

async fn session<A, H, F, E>(
    incoming: Incoming,
    shared: &Shared<A, H>,
    conn_slot: &mut Option<Connection>,
) -> Outcome
where
    A: Fn(DeviceKey) -> bool + Send + Sync + 'static,
    H: Fn(Conn) -> F + Send + Sync + 'static,
    F: Future<Output = Result<(), E>> + Send + 'static,
    E: Display + Send + 'static,
{
    let limit = shared.config.handshake_timeout;
    let deadline = tokio::time::Instant::now() + limit;
    let Ok(accepting) = incoming.accept() else {
        return Outcome::Failed;
    };
    let conn = match tokio::time::timeout_at(deadline, accepting).await {
        Ok(Ok(conn)) => conn,
        // A failed or stalled handshake: nothing to tell a peer we cannot authenticate.
        _ => return Outcome::Failed,
    };
    *conn_slot = Some(conn.clone());

    // Authorization comes before the session stream is even accepted.
    let peer = DeviceKey(*conn.remote_id().as_bytes());
    if !(shared.authorize)(peer) {
        close_with(&conn, close::NOT_ENROLLED, "not enrolled");
        return Outcome::Refused;
    }

    let hello = async {
        let (mut send, mut recv) = conn.accept_bi().await.map_err(from_connection_error)?;
        let mut greeting = [0u8; 4];
        match recv.read_exact(&mut greeting).await {
            Ok(()) if greeting == HELLO => {}
            Ok(()) => return Err(SessionError::Protocol("bad hello")),
            Err(iroh::endpoint::ReadExactError::ReadError(e)) => return Err(from_read_error(e)),
            Err(iroh::endpoint::ReadExactError::FinishedEarly(_)) => {
                return Err(SessionError::Protocol("stream ended during hello"));
            }
        }
        send.write_all(&HELLO).await.map_err(from_write_error)?;
        Ok((send, recv))
    };
    let (send, recv) = match tokio::time::timeout_at(deadline, hello).await {
        Ok(Ok(streams)) => streams,
        Ok(Err(e)) => {
            if let SessionError::Protocol(what) = e {
                close_with(&conn, close::PROTOCOL_ERROR, what);
            }
            return Outcome::Failed;
        }
        Err(_) => {
            close_with(&conn, close::TIMEOUT, "session hello timed out");
            return Outcome::Failed;
        }
    };

    let session = Conn::new(conn.clone(), send, recv, Side::Acceptor, &shared.config);
    // Its own task, so a panic in the handler is caught here instead of unwinding the loop.
    let handle = AbortOnDrop(tokio::spawn((shared.handler)(session)));
    match handle.await {
        Ok(Ok(())) => {
            if conn.close_reason().is_none() {
                close_with(
                    &conn,
                    close::ABORTED,
                    "session handler returned without finishing the session",
                );
            }
            Outcome::Ok
        }
        Ok(Err(e)) => {
            close_with(&conn, close::SESSION_FAILED, &e.to_string());
            Outcome::Failed
        }
        Err(_) => {
            // Panicked (or aborted by shutdown, in which case the connection is closed).
            close_with(&conn, close::SESSION_FAILED, "internal error");
            Outcome::Failed
        }
    }
}
