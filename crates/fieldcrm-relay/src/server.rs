//! The relay's network faces: the axum app (WebSocket sync, health, metrics, workspace)
//! and the iroh endpoint, both running the same session code; graceful shutdown.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use fieldcrm_model::DeviceKey;
use fieldcrm_net::ws::{AUTH_OK, AuthAnswer, Challenge, auth_message, close};
use fieldcrm_net::{Conn, Endpoint, FrameTransport, SessionConfig, drive};
use fieldcrm_sync::{ALPN, Report};

use crate::relay::{Access, Refusal, Relay, record_end};

/// The HTTP routes: `/healthz`, `/metrics`, `/v1/workspace`, `/v1/sync` (WebSocket).
pub fn app(relay: Relay) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/v1/workspace", get(workspace))
        .route(fieldcrm_net::ws::FINDINGS_PATH, get(findings))
        .route(fieldcrm_net::ws::SYNC_PATH, get(sync))
        .with_state(relay)
}

async fn healthz(State(relay): State<Relay>) -> Response {
    match relay.store().all_heads() {
        Ok(_) => (StatusCode::OK, "ok\n").into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, format!("store: {e}\n")).into_response(),
    }
}

async fn metrics(State(relay): State<Relay>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        relay.metrics_text(),
    )
        .into_response()
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
    let [d, t, s] = fieldcrm_net::ws::FINDINGS_HEADERS.map(|h| {
        headers
            .get(h)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    });
    let req = match FindingsRequest::parse(&d, &t, &s) {
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

async fn sync(State(relay): State<Relay>, ws: WebSocketUpgrade) -> Response {
    let Some(slot) = relay.try_session() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "busy: too many sessions, try again later\n",
        )
            .into_response();
    };
    let max = relay.config().limits.max_message_bytes;
    ws.max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| async move {
            let stopped = relay.stopped();
            let mut socket = socket;
            tokio::select! {
                () = serve_ws(&relay, &mut socket) => {}
                () = stopped => { let _ = close_ws(&mut socket, close::SHUTDOWN, "relay shutting down").await; }
            }
            drop(slot);
        })
}

async fn close_ws(socket: &mut WebSocket, code: u16, reason: &str) -> Result<(), axum::Error> {
    let reason: String = reason.chars().take(100).collect();
    socket
        .send(Message::Close(Some(CloseFrame {
            code,
            reason: reason.into(),
        })))
        .await
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

/// The server side of a WebSocket as a frame transport with an idle timeout.
struct ServerWs<'a> {
    socket: &'a mut WebSocket,
    idle: Duration,
    closed: bool,
}

impl FrameTransport for ServerWs<'_> {
    type Error = WsFail;

    async fn send(&mut self, frame: &[u8]) -> Result<(), WsFail> {
        self.socket
            .send(Message::Binary(frame.to_vec().into()))
            .await
            .map_err(|e| WsFail::Io(e.to_string()))
    }

    async fn recv(&mut self) -> Result<Option<Vec<u8>>, WsFail> {
        loop {
            let msg = tokio::time::timeout(self.idle, self.socket.recv())
                .await
                .map_err(|_| WsFail::Idle)?;
            match msg {
                None => {
                    self.closed = true;
                    return Ok(None);
                }
                Some(Ok(Message::Binary(b))) => return Ok(Some(b.to_vec())),
                Some(Ok(Message::Close(_))) => {
                    self.closed = true;
                    return Ok(None);
                }
                Some(Ok(Message::Text(_))) => return Err(WsFail::Protocol("text message")),
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    let text = e.to_string();
                    return Err(
                        if text.contains("too long") || text.contains("Space limit") {
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
async fn serve_ws(relay: &Relay, socket: &mut WebSocket) {
    let idle = relay.config().idle_timeout();
    let challenge = Challenge {
        nonce: rand::random(),
        workspace_id: relay.workspace_id().to_string(),
    };
    if socket
        .send(Message::Binary(challenge.encode().into()))
        .await
        .is_err()
    {
        return;
    }
    let mut t = ServerWs {
        socket,
        idle,
        closed: false,
    };
    let answer = match t.recv().await {
        Ok(Some(b)) => AuthAnswer::decode(&b),
        // Hung up after reading the challenge (`fieldcrm join` asks only the workspace).
        Ok(None) | Err(WsFail::Io(_)) => return,
        Err(_) => None,
    };
    let Some(answer) = answer else {
        relay.metrics().malformed();
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
    let access = if fieldcrm_workspace::verify(&device, &msg, &answer.signature) {
        relay.authorize(&device)
    } else {
        let r = Refusal::BadSignature(fieldcrm_model::short_id(&device.to_hex()).to_string());
        relay.metrics().refused(&r);
        Err(r)
    };
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
            let _ = close_ws(t.socket, close::IDLE, "idle timeout").await;
        }
        Err(SessionFail::Transport(WsFail::TooLarge(e))) => {
            relay.metrics().malformed();
            let _ = close_ws(t.socket, close::TOO_LARGE, &e).await;
        }
        Err(SessionFail::Transport(WsFail::Protocol(e))) => {
            relay.metrics().malformed();
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

/// A transport wrapper that keeps the last transport error (drive only keeps its text).
struct Keep<'a, T: FrameTransport> {
    inner: &'a mut T,
    error: Option<T::Error>,
}

impl<T: FrameTransport + Send> FrameTransport for Keep<'_, T>
where
    T::Error: Send,
{
    type Error = String;

    async fn send(&mut self, frame: &[u8]) -> Result<(), String> {
        match self.inner.send(frame).await {
            Ok(()) => Ok(()),
            Err(e) => {
                let s = e.to_string();
                self.error = Some(e);
                Err(s)
            }
        }
    }

    async fn recv(&mut self) -> Result<Option<Vec<u8>>, String> {
        match self.inner.recv().await {
            Ok(f) => Ok(f),
            Err(e) => {
                let s = e.to_string();
                self.error = Some(e);
                Err(s)
            }
        }
    }
}

/// Runs one device's sync session over any transport. A panic inside the sync engine
/// (untrusted input) is caught and ends this session only.
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
    let (mut session, mut host) = relay
        .session(device, access, kind)
        .map_err(|e| SessionFail::Sync(e.to_string()))?;
    let mut keep = Keep {
        inner: transport,
        error: None,
    };
    let result = {
        let fut = drive(&mut keep, &mut session, &mut host, |_| {});
        std::panic::AssertUnwindSafe(fut)
            .catch_unwind_compat()
            .await
    };
    let report: Report = session.report().clone();
    match result {
        Ok(Ok(())) => {
            record_end(relay, &report, true);
            Ok(())
        }
        Ok(Err(e)) => {
            record_end(relay, &report, false);
            match keep.error.take() {
                Some(t) => Err(SessionFail::Transport(t)),
                None => {
                    relay.metrics().malformed();
                    Err(SessionFail::Sync(e.to_string()))
                }
            }
        }
        Err(()) => {
            record_end(relay, &report, false);
            Err(SessionFail::Sync("internal error".into()))
        }
    }
}

/// `catch_unwind` for a future without pulling in `futures`.
trait CatchUnwind: Future + Sized {
    fn catch_unwind_compat(self) -> CatchUnwindFut<Self> {
        CatchUnwindFut(Box::pin(self))
    }
}

impl<F: Future> CatchUnwind for std::panic::AssertUnwindSafe<F> {}

struct CatchUnwindFut<F>(std::pin::Pin<Box<F>>);

impl<F: Future> Future for CatchUnwindFut<F> {
    type Output = Result<F::Output, ()>;
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        let fut = self.0.as_mut();
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| fut.poll(cx))) {
            Ok(std::task::Poll::Ready(v)) => std::task::Poll::Ready(Ok(v)),
            Ok(std::task::Poll::Pending) => std::task::Poll::Pending,
            Err(_) => std::task::Poll::Ready(Err(())),
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
                    let access = relay.authorize(&device).map_err(|e| e.to_string())?;
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
    let (stopped_tx, stopped_rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        shutdown.await;
        stop_relay.begin_stop();
        let _ = stopped_tx.send(());
    });
    axum::serve(listener, app(relay.clone()))
        .with_graceful_shutdown(async move {
            let _ = stopped_rx.await;
        })
        .await
        .context("HTTP server failed")?;

    // Upgraded WebSocket sessions outlive the HTTP server: give them the grace period.
    let grace = Duration::from_secs(config.limits.shutdown_grace_secs);
    let deadline = tokio::time::Instant::now() + grace;
    let iroh_stop = iroh.map(|(ep, server, _)| {
        tokio::spawn(async move {
            server.shutdown(grace).await;
            ep.close().await;
        })
    });
    while relay.active_sessions() > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    relay.hard_stop();
    let settle = tokio::time::Instant::now() + Duration::from_secs(2);
    while relay.active_sessions() > 0 && tokio::time::Instant::now() < settle {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    if let Some(t) = iroh_stop {
        let _ = t.await;
    }
    Ok(())
}
