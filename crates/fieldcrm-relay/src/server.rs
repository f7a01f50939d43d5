//! The relay's network faces: the axum app (WebSocket sync, health, metrics, workspace)
//! and the iroh endpoint, both running the same session code; graceful shutdown.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use fieldcrm_model::DeviceKey;
use fieldcrm_net::ws::{AUTH_OK, AuthAnswer, Challenge, auth_message, close};
use fieldcrm_net::{Conn, Endpoint, FrameTransport, SessionConfig};
use fieldcrm_sync::{ALPN, Report, Status};

use tokio::sync::watch;
use tokio::time::Instant;
use tracing::Instrument;

use crate::activity::SessionPeer;
use crate::http::{ConnMeta, PREAUTH_SLACK, ReadBudget, connection_cap, serve_http};
use crate::log::SessionLog;
use crate::metrics::ConnRefusal;
use crate::relay::{Access, PreAuthSlot, Refusal, Relay};

/// The HTTP routes: `/healthz`, `/metrics`, `/v1/workspace`, `/v1/sync` (WebSocket),
/// `/v1/findings`, `/v1/invitations` (and `/redeem`, `/enrol`).
pub fn app(relay: Relay) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/v1/workspace", get(workspace))
        .route(fieldcrm_net::ws::FINDINGS_PATH, get(findings))
        .route(fieldcrm_net::ws::SYNC_PATH, get(sync))
        .with_state(relay.clone())
        .merge(crate::console::router(relay.clone()))
        .merge(crate::invitations::routes(relay))
}

/// Runs blocking store work on tokio's blocking pool, off the async workers.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    tokio::task::spawn_blocking(f).await.ok()
}

/// A session's store work on the blocking pool, in its turn: at most
/// `limits.store_jobs` run at once, so memory follows the cores rather than the
/// sessions connected (each holds a message's documents while it runs).
async fn session_work<T: Send + 'static>(
    relay: &Relay,
    f: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    let _turn = relay.store_turn().await?;
    blocking(f).await
}

async fn healthz(State(relay): State<Relay>) -> Response {
    match blocking(move || relay.store().all_heads().map(|_| ())).await {
        Some(Ok(())) => (StatusCode::OK, "ok\n").into_response(),
        Some(Err(e)) => (StatusCode::SERVICE_UNAVAILABLE, format!("store: {e}\n")).into_response(),
        None => (StatusCode::INTERNAL_SERVER_ERROR, "internal error\n").into_response(),
    }
}

async fn metrics(State(relay): State<Relay>) -> Response {
    let text = blocking(move || relay.metrics_text())
        .await
        .unwrap_or_default();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

async fn workspace(State(relay): State<Relay>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::json!({ "workspace_id": relay.workspace_id() }).to_string(),
    )
        .into_response()
}

/// `GET /v1/findings`: signed by an enrolled device (see `fieldcrm_net::ws::FINDINGS_HEADERS`);
/// JSON array of the findings on the merged state that the device's user may see.
async fn findings(State(relay): State<Relay>, headers: axum::http::HeaderMap) -> Response {
    use crate::findings::{FindingsError, FindingsRequest};
    let [d, t, n, s] = fieldcrm_net::ws::FINDINGS_HEADERS.map(|h| {
        headers
            .get(h)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    });
    let req = match FindingsRequest::parse(&d, &t, &n, &s) {
        Ok(r) => r,
        Err(e) => return (StatusCode::BAD_REQUEST, format!("{e}\n")).into_response(),
    };
    let now = relay.now_ms();
    let result = tokio::task::spawn_blocking(move || relay.findings(&req, now)).await;
    match result {
        Ok(Ok(f)) => (
            [(header::CONTENT_TYPE, "application/json")],
            serde_json::to_string(&f).unwrap_or_else(|_| "[]".into()),
        )
            .into_response(),
        Ok(Err(e @ FindingsError::Refused(_))) => {
            (StatusCode::FORBIDDEN, format!("{e}\n")).into_response()
        }
        Ok(Err(e)) => (StatusCode::SERVICE_UNAVAILABLE, format!("{e}\n")).into_response(),
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal error\n").into_response(),
    }
}

/// tungstenite's read buffer per WebSocket (its default is 128 KiB, touched on the first
/// read: with hundreds of connections that is most of the relay's memory).
const WS_READ_BUFFER: usize = 16 * 1024;

/// How long the relay waits to deliver a close frame to a client that does not read.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

async fn sync(
    State(relay): State<Relay>,
    meta: Option<Extension<ConnMeta>>,
    headers: axum::http::HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let version = headers
        .get(fieldcrm_net::ws::VERSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.chars().take(40).collect::<String>());
    if relay.is_stopping() {
        return (StatusCode::SERVICE_UNAVAILABLE, "relay shutting down\n").into_response();
    }
    let peer = meta.as_ref().map(|m| m.peer);
    let ip = peer
        .map(|p| p.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    let preauth = match relay.try_preauth(ip) {
        Ok(slot) => slot,
        Err(_) => {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "busy: too many unauthenticated connections, try again later\n",
            )
                .into_response();
        }
    };
    let limits = &relay.config().limits;
    let budget = meta.map(|Extension(m)| m.budget);
    if let Some(b) = &budget {
        b.limit_from_now((limits.max_preauth_message_bytes as u64).saturating_add(PREAUTH_SLACK));
    }
    let auth_deadline = Instant::now() + relay.config().auth_timeout();
    // tungstenite's own caps are the post-authentication ones (they cannot change after the
    // upgrade); before authentication the read budget under it is the tighter cap.
    let max = limits.max_message_bytes;
    ws.max_message_size(max)
        .max_frame_size(max)
        .read_buffer_size(WS_READ_BUFFER)
        .on_upgrade(move |socket| async move {
            let stopped = relay.stopped();
            let mut socket = socket;
            let pre = PreAuth {
                slot: preauth,
                budget,
                deadline: auth_deadline,
                peer,
                version,
            };
            tokio::select! {
                () = serve_ws(&relay, &mut socket, pre) => {}
                () = stopped => { let _ = close_ws(&mut socket, close::SHUTDOWN, "relay shutting down").await; }
            }
        })
}

/// An unauthenticated WebSocket's slot, read budget and authentication deadline.
struct PreAuth {
    slot: PreAuthSlot,
    budget: Option<Arc<ReadBudget>>,
    deadline: Instant,
    peer: Option<SocketAddr>,
    version: Option<String>,
}

impl PreAuth {
    fn exceeded(&self) -> bool {
        self.budget.as_ref().is_some_and(|b| b.exceeded())
    }
}

/// Sends a close frame, giving up after [`CLOSE_TIMEOUT`] (a client that does not read).
async fn close_ws(socket: &mut WebSocket, code: u16, reason: &str) -> Result<(), axum::Error> {
    let reason: String = reason.chars().take(100).collect();
    let send = socket.send(Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    })));
    match tokio::time::timeout(CLOSE_TIMEOUT, send).await {
        Ok(r) => r,
        Err(_) => Err(axum::Error::new("close timed out")),
    }
}

/// Why a transport failed, as a WebSocket close code.
#[derive(Debug)]
enum WsFail {
    Idle,
    TooLarge(String),
    Protocol(&'static str),
    Io(String),
}

impl std::fmt::Display for WsFail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WsFail::Idle => write!(f, "idle timeout"),
            WsFail::TooLarge(e) => write!(f, "message too large: {e}"),
            WsFail::Protocol(e) => write!(f, "{e}"),
            WsFail::Io(e) => write!(f, "{e}"),
        }
    }
}

/// The server side of a WebSocket as a frame transport with an idle timeout that only
/// application messages (either way) reset: pings and pongs do not keep a session alive.
struct ServerWs<'a> {
    socket: &'a mut WebSocket,
    idle: Duration,
    deadline: Instant,
    max: usize,
    budget: Option<Arc<ReadBudget>>,
    closed: bool,
}

impl ServerWs<'_> {
    fn touch(&mut self) {
        self.deadline = Instant::now() + self.idle;
    }
}

impl FrameTransport for ServerWs<'_> {
    type Error = WsFail;

    async fn send(&mut self, frame: &[u8]) -> Result<(), WsFail> {
        // A client that stops reading is idle too.
        let send = self.socket.send(Message::Binary(frame.to_vec().into()));
        tokio::time::timeout(self.idle, send)
            .await
            .map_err(|_| WsFail::Idle)?
            .map_err(|e| WsFail::Io(e.to_string()))?;
        self.touch();
        Ok(())
    }

    async fn recv(&mut self) -> Result<Option<Vec<u8>>, WsFail> {
        loop {
            let msg = tokio::time::timeout_at(self.deadline, self.socket.recv())
                .await
                .map_err(|_| WsFail::Idle)?;
            match msg {
                None => {
                    self.closed = true;
                    return Ok(None);
                }
                Some(Ok(Message::Binary(b))) => {
                    if b.len() > self.max {
                        return Err(WsFail::TooLarge(format!(
                            "{} bytes, the limit is {}",
                            b.len(),
                            self.max
                        )));
                    }
                    self.touch();
                    return Ok(Some(b.to_vec()));
                }
                Some(Ok(Message::Close(_))) => {
                    self.closed = true;
                    return Ok(None);
                }
                Some(Ok(Message::Text(_))) => return Err(WsFail::Protocol("text message")),
                // Pings and pongs: answered by tungstenite, no reset of the deadline.
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    let text = e.to_string();
                    let over = self.budget.as_ref().is_some_and(|b| b.exceeded());
                    return Err(
                        if over || text.contains("too long") || text.contains("Space limit") {
                            WsFail::TooLarge(text)
                        } else {
                            WsFail::Io(text)
                        },
                    );
                }
            }
        }
    }
}

/// Challenge, authenticate, then sync; every failure closes this socket only.
async fn serve_ws(relay: &Relay, socket: &mut WebSocket, pre: PreAuth) {
    let metrics = relay.metrics();
    let limits = &relay.config().limits;
    let challenge = Challenge {
        nonce: rand::random(),
        workspace_id: relay.workspace_id().to_string(),
    };
    let mut t = ServerWs {
        socket,
        idle: relay.config().idle_timeout(),
        deadline: pre.deadline,
        max: limits.max_preauth_message_bytes,
        budget: pre.budget.clone(),
        closed: false,
    };
    let sent = tokio::time::timeout_at(
        pre.deadline,
        t.socket.send(Message::Binary(challenge.encode().into())),
    )
    .await;
    if !matches!(sent, Ok(Ok(()))) {
        return;
    }
    let answer = match t.recv().await {
        Ok(Some(b)) => AuthAnswer::decode(&b),
        // Hung up after reading the challenge (`fieldcrm join` asks only the workspace).
        Ok(None) => return,
        Err(WsFail::Io(_)) if !pre.exceeded() => return,
        Err(WsFail::Idle) => {
            metrics.conn_refused(ConnRefusal::AuthTimeout);
            let _ = close_ws(t.socket, close::AUTH_TIMEOUT, "authentication timeout").await;
            return;
        }
        Err(WsFail::TooLarge(_) | WsFail::Io(_)) => {
            metrics.conn_refused(ConnRefusal::Oversize);
            metrics.malformed();
            let reason = format!(
                "more than {} bytes before authentication",
                limits.max_preauth_message_bytes
            );
            let _ = close_ws(t.socket, close::TOO_LARGE, &reason).await;
            return;
        }
        Err(WsFail::Protocol(_)) => None,
    };
    let Some(answer) = answer else {
        metrics.malformed();
        let _ = close_ws(
            t.socket,
            close::PROTOCOL_ERROR,
            "expected an authentication answer",
        )
        .await;
        return;
    };
    let device = answer.device;
    let msg = auth_message(&challenge.nonce, &challenge.workspace_id);
    // The roster is read from the store: off the async workers.
    let r = relay.clone();
    let access = blocking(move || {
        if fieldcrm_workspace::verify(&device, &msg, &answer.signature) {
            r.authorize(&device)
        } else {
            let refusal =
                Refusal::BadSignature(fieldcrm_model::short_id(&device.to_hex()).to_string());
            r.metrics().refused(&refusal);
            Err(refusal)
        }
    })
    .await
    .unwrap_or_else(|| Err(Refusal::Roster("internal error".into())));
    let peer = pre.peer.map(|p| p.to_string());
    let access = match access {
        Ok(a) => a,
        Err(r) => {
            relay.log_refusal(&r, &device, "ws", peer.as_deref());
            let (rr, why, addr) = (relay.clone(), r.clone(), peer.clone());
            let _ = blocking(move || rr.note_door_refusal(&device, &why, addr)).await;
            let code = match r {
                Refusal::Revoked(_) => close::REVOKED,
                _ => close::NOT_ENROLLED,
            };
            let _ = close_ws(t.socket, code, &r.to_string()).await;
            return;
        }
    };
    // Authenticated: the pre-authentication slot and budget give way to a session slot.
    drop(pre.slot);
    let Some(_session_slot) = relay.try_session() else {
        let (code, reason) = if relay.is_stopping() {
            (close::SHUTDOWN, "relay shutting down")
        } else {
            (close::BUSY, "busy: too many sessions, try again later")
        };
        let _ = close_ws(t.socket, code, reason).await;
        return;
    };
    if let Some(b) = &pre.budget {
        b.lift();
    }
    t.max = limits.max_message_bytes;
    t.touch();
    if t.send(&AUTH_OK).await.is_err() {
        return;
    }
    match run_session(
        relay,
        &mut t,
        device,
        &access,
        "ws",
        peer,
        pre.version.clone(),
    )
    .await
    {
        Ok(()) => {
            // Wait briefly for the device's close, then close our side.
            if !t.closed {
                let wait = async {
                    while let Some(Ok(m)) = t.socket.recv().await {
                        if matches!(m, Message::Close(_)) {
                            break;
                        }
                    }
                };
                let _ = tokio::time::timeout(Duration::from_secs(5), wait).await;
            }
            let _ = close_ws(t.socket, close::DONE, "done").await;
        }
        Err(SessionFail::Transport(WsFail::Idle)) => {
            metrics.conn_refused(ConnRefusal::Idle);
            let _ = close_ws(t.socket, close::IDLE, "idle timeout").await;
        }
        Err(SessionFail::Transport(WsFail::TooLarge(e))) => {
            metrics.conn_refused(ConnRefusal::Oversize);
            metrics.malformed();
            let _ = close_ws(t.socket, close::TOO_LARGE, &e).await;
        }
        Err(SessionFail::Transport(WsFail::Protocol(e))) => {
            metrics.malformed();
            let _ = close_ws(t.socket, close::PROTOCOL_ERROR, e).await;
        }
        Err(SessionFail::Transport(WsFail::Io(_))) => {}
        Err(SessionFail::Sync(e)) => {
            let _ = close_ws(t.socket, close::SESSION_FAILED, &e).await;
        }
    }
}

enum SessionFail<E> {
    Transport(E),
    Sync(String),
}

/// Runs one device's sync session over any transport, in its log span. The sync engine
/// and the relay host (store loads, audit rows, durable saves) run on tokio's blocking
/// pool, never on the async workers; a panic there (untrusted input) ends this session
/// only.
async fn run_session<T>(
    relay: &Relay,
    transport: &mut T,
    device: DeviceKey,
    access: &Access,
    kind: &'static str,
    peer: Option<String>,
    version: Option<String>,
) -> Result<(), SessionFail<T::Error>>
where
    T: FrameTransport + Send,
    T::Error: Send + std::fmt::Display,
{
    // The roster is read from the store: off the async workers.
    let user_name = match access {
        Access::Device { user } => {
            let (r, u) = (relay.clone(), user.clone());
            blocking(move || r.user_name(&u)).await.flatten()
        }
        Access::Bootstrap => None,
    };
    let events = SessionPeer {
        device,
        user: match access {
            Access::Device { user } => Some(user.clone()),
            Access::Bootstrap => None,
        },
        transport: kind,
        address: peer.clone(),
        version,
    };
    let mut log = SessionLog::start(relay, &device, access, kind, peer, user_name, events);
    let span = log.span();
    let result = session_steps(relay, transport, device, access, kind, &mut log)
        .instrument(span)
        .await;
    match result {
        Ok(report) => {
            log.end(&report, Ok(()));
            Ok(())
        }
        Err((fail, report)) => {
            let why = match &fail {
                SessionFail::Transport(e) => e.to_string(),
                SessionFail::Sync(e) => e.clone(),
            };
            log.end(&report, Err(why));
            Err(fail)
        }
    }
}

type StepFail<E> = (SessionFail<E>, Report);

async fn session_steps<T>(
    relay: &Relay,
    transport: &mut T,
    device: DeviceKey,
    access: &Access,
    kind: &'static str,
    log: &mut SessionLog,
) -> Result<Report, StepFail<T::Error>>
where
    T: FrameTransport + Send,
    T::Error: Send,
{
    let r = relay.clone();
    let a = access.clone();
    let internal = || {
        (
            SessionFail::Sync("internal error".into()),
            Report::default(),
        )
    };
    let (mut session, mut host) = session_work(relay, move || r.session(device, &a, kind))
        .await
        .ok_or_else(internal)?
        .map_err(|e| (SessionFail::Sync(e.to_string()), Report::default()))?;
    let mut incoming: Option<Option<Vec<u8>>> = None;
    loop {
        let step = session_work(relay, move || {
            match incoming {
                Some(Some(frame)) => session.receive(&frame),
                Some(None) => session.closed(),
                None => {}
            }
            let frames = session.run_host_step(&mut host);
            (session, host, frames)
        })
        .await;
        let Some((s, h, frames)) = step else {
            return Err(internal());
        };
        session = s;
        host = h;
        log.update(session.report());
        for frame in frames {
            if let Err(e) = transport.send(&frame).await {
                return Err((SessionFail::Transport(e), session.report().clone()));
            }
        }
        // Each message leaves as soon as it is ready: the device works on it while this
        // side loads the next.
        incoming = None;
        if session.has_output() {
            continue;
        }
        match session.status() {
            Status::Running => {}
            Status::Finished => {
                let report = session.report().clone();
                let _ = session_work(relay, move || host.finished()).await;
                return Ok(report);
            }
            Status::Failed => {
                relay.metrics().malformed();
                let e = session
                    .error()
                    .map(|e| e.to_string())
                    .unwrap_or_else(|| "unknown error".into());
                return Err((SessionFail::Sync(e), session.report().clone()));
            }
        }
        match transport.recv().await {
            Ok(frame) => incoming = Some(frame),
            Err(e) => return Err((SessionFail::Transport(e), session.report().clone())),
        }
    }
}

/// An iroh [`Conn`] with the relay's idle timeout.
struct IdleConn<'a> {
    conn: &'a mut Conn,
    idle: Duration,
}

impl FrameTransport for IdleConn<'_> {
    type Error = String;

    async fn send(&mut self, frame: &[u8]) -> Result<(), String> {
        self.conn.send(frame).await.map_err(|e| e.to_string())
    }

    async fn recv(&mut self) -> Result<Option<Vec<u8>>, String> {
        match tokio::time::timeout(self.idle, self.conn.recv()).await {
            Ok(r) => r.map_err(|e| e.to_string()),
            Err(_) => Err("idle timeout".into()),
        }
    }
}

/// The listening faces of a running relay.
#[derive(Debug, Clone)]
pub struct Bound {
    /// The HTTP address (WebSocket sync at `ws://{http}/v1/sync`).
    pub http: SocketAddr,
    /// The iroh ticket (`fieldcrm1…`), if iroh is on.
    pub iroh_ticket: Option<String>,
    /// The admin endpoint (loopback; see `admin.json` in the data directory).
    pub admin: SocketAddr,
}

/// Runs the relay until `shutdown` resolves, then stops gracefully: no new sessions,
/// running ones get `limits.shutdown_grace_secs` to finish, the rest are closed (they
/// lose nothing acknowledged: saves commit before the acknowledgement). `on_bound` is
/// called once both listeners are up.
pub async fn run(
    relay: Relay,
    shutdown: impl Future<Output = ()> + Send + 'static,
    on_bound: impl FnOnce(&Bound),
) -> anyhow::Result<()> {
    use anyhow::Context;
    let config = relay.config().clone();
    let listener = tokio::net::TcpListener::bind(config.http_listen)
        .await
        .with_context(|| format!("could not listen on {}", config.http_listen))?;
    let http = listener.local_addr()?;
    let admin = crate::admin::Admin::bind(&relay).await?;
    let admin_addr = admin.addr;

    let mut iroh = None;
    if let Some(addr) = config.iroh_listen {
        let endpoint = Endpoint::bind(&relay.iroh_secret(), addr)
            .await
            .with_context(|| format!("could not bind iroh on {addr}"))?
            .with_session_config(
                SessionConfig::default()
                    .with_max_frame_len(config.limits.max_message_bytes)
                    .with_max_sessions(config.limits.max_sessions),
            );
        let ticket = endpoint.ticket().await.to_string();
        let auth = relay.clone();
        let handler_relay = relay.clone();
        let server = fieldcrm_net::serve(
            &endpoint,
            ALPN,
            move |peer| match auth.authorize(&peer) {
                Ok(_) => true,
                Err(r) => {
                    auth.log_refusal(&r, &peer, "iroh", None);
                    auth.note_door_refusal(&peer, &r, None);
                    false
                }
            },
            move |mut conn: Conn| {
                let relay = handler_relay.clone();
                async move {
                    let Some(_slot) = relay.try_session() else {
                        return Err("busy: too many sessions".to_string());
                    };
                    let device = conn.peer();
                    let r = relay.clone();
                    let access = blocking(move || r.authorize(&device))
                        .await
                        .ok_or_else(|| "internal error".to_string())?
                        .map_err(|e| e.to_string())?;
                    let idle = relay.config().idle_timeout();
                    let peer_addr = conn
                        .connection()
                        .paths()
                        .iter()
                        .find(|p| p.is_selected())
                        .map(|p| p.remote_addr().to_string());
                    let mut t = IdleConn {
                        conn: &mut conn,
                        idle,
                    };
                    let stopped = relay.stopped();
                    tokio::select! {
                        r = run_session(&relay, &mut t, device, &access, "iroh", peer_addr, None) => match r {
                            Ok(()) => {}
                            Err(SessionFail::Transport(e)) | Err(SessionFail::Sync(e)) => return Err(e),
                        },
                        () = stopped => return Err("relay shutting down".to_string()),
                    }
                    conn.finish().await.map(|_| ()).map_err(|e| e.to_string())
                }
            },
        );
        iroh = Some((endpoint, server, ticket));
    }

    let bound = Bound {
        http,
        iroh_ticket: iroh.as_ref().map(|(_, _, t)| t.clone()),
        admin: admin_addr,
    };
    tracing::info!(
        workspace = relay.workspace_id(),
        http = %http,
        iroh = bound.iroh_ticket.as_deref().unwrap_or("off"),
        admin = %admin_addr,
        data_dir = %config.data_dir.display(),
        version = env!("CARGO_PKG_VERSION"),
        "relay started"
    );
    on_bound(&bound);
    let started = Instant::now();

    let stop_relay = relay.clone();
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        tracing::info!(
            sessions = stop_relay.active_sessions(),
            "shutting down: no new sessions"
        );
        stop_relay.begin_stop();
        let _ = stop_tx.send(true);
    });
    let admin_task = {
        let mut stop = stop_rx.clone();
        tokio::spawn(admin.serve(relay.clone(), async move {
            let _ = stop.wait_for(|s| *s).await;
        }))
    };
    let summary_task = tokio::spawn(summarize_refusals(relay.clone(), stop_rx.clone()));
    let cap = connection_cap(config.limits.max_connections);
    serve_http(listener, relay.clone(), cap, stop_rx).await;

    // Upgraded WebSocket sessions outlive the HTTP server: give them the grace period.
    let grace = Duration::from_secs(config.limits.shutdown_grace_secs);
    let deadline = Instant::now() + grace;
    let iroh_stop = iroh.map(|(ep, server, _)| {
        tokio::spawn(async move {
            server.shutdown(grace).await;
            ep.close().await;
        })
    });
    while relay.active_sessions() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    relay.hard_stop();
    let settle = Instant::now() + Duration::from_secs(2);
    while relay.active_sessions() > 0 && Instant::now() < settle {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    if let Some(t) = iroh_stop {
        let _ = t.await;
    }
    let _ = admin_task.await;
    let _ = summary_task.await;
    tracing::info!(
        uptime_secs = started.elapsed().as_secs(),
        sessions_cut = relay.active_sessions(),
        "relay stopped"
    );
    Ok(())
}

/// Every `log_refusals_secs`, and once more at shutdown, one log line with what was
/// turned away since the last one.
async fn summarize_refusals(relay: Relay, mut stop: watch::Receiver<bool>) {
    let period = Duration::from_secs(relay.config().log_refusals_secs);
    loop {
        let stopping = tokio::select! {
            () = tokio::time::sleep(period) => false,
            _ = stop.wait_for(|s| *s) => true,
        };
        relay.refusal_log().summarize(&relay, period);
        if stopping {
            return;
        }
    }
}
