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

use crate::http::{ConnMeta, PREAUTH_SLACK, ReadBudget, connection_cap, serve_http};
use crate::metrics::ConnRefusal;
use crate::relay::{Access, PreAuthSlot, Refusal, Relay, record_end};

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
        .merge(crate::invitations::routes(relay))
}

/// Runs blocking store work on tokio's blocking pool, off the async workers.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    tokio::task::spawn_blocking(f).await.ok()
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
    ws: WebSocketUpgrade,
) -> Response {
    if relay.is_stopping() {
        return (StatusCode::SERVICE_UNAVAILABLE, "relay shutting down\n").into_response();
    }
    let ip = meta
        .as_ref()
        .map(|m| m.peer.ip())
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
    let access = match access {
        Ok(a) => a,
        Err(r) => {
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
    match run_session(relay, &mut t, device, &access, "ws").await {
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

/// Runs one device's sync session over any transport. The sync engine and the relay
/// host (store loads, audit rows, durable saves) run on tokio's blocking pool, never on
/// the async workers; a panic there (untrusted input) ends this session only.
async fn run_session<T>(
    relay: &Relay,
    transport: &mut T,
    device: DeviceKey,
    access: &Access,
    kind: &'static str,
) -> Result<(), SessionFail<T::Error>>
where
    T: FrameTransport + Send,
    T::Error: Send,
{
    let r = relay.clone();
    let a = access.clone();
    let (mut session, mut host) = blocking(move || r.session(device, &a, kind))
        .await
        .ok_or_else(|| SessionFail::Sync("internal error".into()))?
        .map_err(|e| SessionFail::Sync(e.to_string()))?;
    let mut incoming: Option<Option<Vec<u8>>> = None;
    loop {
        let step = blocking(move || {
            match incoming {
                Some(Some(frame)) => session.receive(&frame),
                Some(None) => session.closed(),
                None => {}
            }
            let frames = session.run_host(&mut host);
            (session, host, frames)
        })
        .await;
        let Some((s, h, frames)) = step else {
            record_end(relay, &Report::default(), false);
            return Err(SessionFail::Sync("internal error".into()));
        };
        session = s;
        host = h;
        for frame in frames {
            if let Err(e) = transport.send(&frame).await {
                record_end(relay, session.report(), false);
                return Err(SessionFail::Transport(e));
            }
        }
        match session.status() {
            Status::Running => {}
            Status::Finished => {
                record_end(relay, session.report(), true);
                return Ok(());
            }
            Status::Failed => {
                record_end(relay, session.report(), false);
                relay.metrics().malformed();
                let e = session
                    .error()
                    .map(|e| e.to_string())
                    .unwrap_or_else(|| "unknown error".into());
                return Err(SessionFail::Sync(e));
            }
        }
        match transport.recv().await {
            Ok(frame) => incoming = Some(frame),
            Err(e) => {
                record_end(relay, session.report(), false);
                return Err(SessionFail::Transport(e));
            }
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
            move |peer| auth.authorize(&peer).is_ok(),
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
                    let mut t = IdleConn {
                        conn: &mut conn,
                        idle,
                    };
                    let stopped = relay.stopped();
                    tokio::select! {
                        r = run_session(&relay, &mut t, device, &access, "iroh") => match r {
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

    on_bound(&Bound {
        http,
        iroh_ticket: iroh.as_ref().map(|(_, _, t)| t.clone()),
    });

    let stop_relay = relay.clone();
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        stop_relay.begin_stop();
        let _ = stop_tx.send(true);
    });
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
    Ok(())
}
