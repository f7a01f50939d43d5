//! The WebSocket transport to the office relay (`ws://host:port`, `wss://…`): the client
//! side and the relay protocol's vocabulary (the relay's axum server speaks the same).
//!
//! # Wire format (path [`SYNC_PATH`], binary messages only)
//!
//! 1. The relay sends a [`Challenge`]: `FCRC`, 32 random bytes, the workspace ID.
//! 2. The device answers with an [`AuthAnswer`]: `FCRA`, its device key, and the ed25519
//!    signature by that key of [`auth_message`] (a fixed context string, the nonce and the
//!    workspace ID). No passwords or static tokens: a recorded answer is useless for
//!    another nonce.
//! 3. The relay checks the signature and the roster and either answers `FCOK` or closes
//!    with one of the [`close`] codes and a reason, before a single document byte or ID
//!    has been sent.
//! 4. Then each binary message is one sync frame, both ways. The side that finishes sends
//!    a close frame (code 1000).
//!
//! Architecture Invariant: like the iroh transport, this module moves opaque frames; it
//! knows nothing of documents or rosters (the caller signs the challenge).

use std::time::Duration;

use fieldcrm_model::DeviceKey;
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::FrameTransport;

/// The HTTP path of the sync WebSocket.
pub const SYNC_PATH: &str = "/v1/sync";
/// The request header in which a device names its fieldcrm version (for the office
/// console; the relay never decides anything by it).
pub const VERSION_HEADER: &str = "x-fieldcrm-version";

/// The prefix of a refusal reason that means "this document is not (or no longer) in your
/// read scope": a device that holds such a document removes its copy.
pub const OUT_OF_SCOPE: &str = "out of scope:";

const CHALLENGE_MAGIC: [u8; 4] = *b"FCRC";
const AUTH_MAGIC: [u8; 4] = *b"FCRA";
/// The relay's answer to a valid [`AuthAnswer`].
pub const AUTH_OK: [u8; 4] = *b"FCOK";
/// Length of a challenge nonce.
pub const NONCE_LEN: usize = 32;

/// WebSocket close codes the relay uses (4000–4999 are for applications).
pub mod close {
    /// The session ended normally.
    pub const DONE: u16 = 1000;
    /// The relay is shutting down.
    pub const SHUTDOWN: u16 = 1001;
    /// A message above the size limit.
    pub const TOO_LARGE: u16 = 1009;
    /// The relay runs its maximum number of sessions (or unauthenticated connections):
    /// try again later. A relay that is busy before the upgrade answers HTTP 503 instead,
    /// which [`connect_ws`](super::connect_ws) reports with this code as well.
    pub const BUSY: u16 = 1013;
    /// The device key is not enrolled in the relay's workspace (or the signature is wrong).
    pub const NOT_ENROLLED: u16 = 4001;
    /// The device key was revoked.
    pub const REVOKED: u16 = 4002;
    /// Malformed traffic: a text message, a bad handshake, an undecodable frame.
    pub const PROTOCOL_ERROR: u16 = 4003;
    /// The sync session failed.
    pub const SESSION_FAILED: u16 = 4004;
    /// Nothing arrived within the idle timeout.
    pub const IDLE: u16 = 4008;
    /// No authentication answer within the relay's authentication deadline.
    pub const AUTH_TIMEOUT: u16 = 4009;
}

/// The relay's first message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// Random bytes to sign.
    pub nonce: [u8; NONCE_LEN],
    /// The workspace the relay serves.
    pub workspace_id: String,
}

impl Challenge {
    /// The message bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(4 + NONCE_LEN + self.workspace_id.len());
        v.extend_from_slice(&CHALLENGE_MAGIC);
        v.extend_from_slice(&self.nonce);
        v.extend_from_slice(self.workspace_id.as_bytes());
        v
    }

    /// Parses a challenge; `None` if it is not one.
    pub fn decode(b: &[u8]) -> Option<Self> {
        if b.len() > 4 + NONCE_LEN + 128 {
            return None;
        }
        let (nonce, workspace_id) = b
            .strip_prefix(&CHALLENGE_MAGIC)?
            .split_first_chunk::<NONCE_LEN>()?;
        Some(Challenge {
            nonce: *nonce,
            workspace_id: String::from_utf8(workspace_id.to_vec()).ok()?,
        })
    }
}

/// The bytes a device signs to answer a challenge.
pub fn auth_message(nonce: &[u8; NONCE_LEN], workspace_id: &str) -> Vec<u8> {
    let mut m = b"fieldcrm relay auth v1\0".to_vec();
    m.extend_from_slice(nonce);
    m.extend_from_slice(workspace_id.as_bytes());
    m
}

/// Path of the relay's findings endpoint (the rules on the relay's merged state).
pub const FINDINGS_PATH: &str = "/v1/findings";
/// Request headers of a findings request: the device key (hex), the request time (UTC
/// ms), a fresh nonce (32 hex characters, never used twice) and the device's signature
/// (hex) of [`findings_message`].
pub const FINDINGS_HEADERS: [&str; 4] = [
    "x-fieldcrm-device",
    "x-fieldcrm-time",
    "x-fieldcrm-nonce",
    "x-fieldcrm-signature",
];

/// The office console's sign-in path on the relay (a link made by `fieldcrm office-login`).
pub const CONSOLE_LOGIN_PATH: &str = "/admin/login";

/// How long a console sign-in link is valid after it is signed.
pub const CONSOLE_LINK_VALID_MS: i64 = 5 * 60_000;

/// The bytes a device signs to make a console sign-in link at `at_ms` with `nonce`; the
/// relay accepts each nonce once, within [`CONSOLE_LINK_VALID_MS`].
pub fn console_login_message(
    workspace_id: &str,
    device_hex: &str,
    at_ms: i64,
    nonce: &str,
) -> Vec<u8> {
    format!("fieldcrm office console login v1\0{workspace_id}\0{device_hex}\0{at_ms}\0{nonce}")
        .into_bytes()
}

/// The bytes a device signs to ask for findings at `at_ms` with `nonce`; the relay
/// refuses a nonce it has seen, so a captured request cannot be replayed.
pub fn findings_message(workspace_id: &str, at_ms: i64, nonce: &str) -> Vec<u8> {
    format!("fieldcrm relay findings v2\0{workspace_id}\0{at_ms}\0{nonce}").into_bytes()
}

/// The relay's invitation endpoints (POST, JSON bodies, signed like a findings request
/// with [`request_message`]): an admin's device uploads an invitation; a new device
/// redeems its code; the new device delivers its enrolment.
pub const INVITATIONS_PATH: &str = "/v1/invitations";
/// See [`INVITATIONS_PATH`].
pub const REDEEM_PATH: &str = "/v1/invitations/redeem";
/// See [`INVITATIONS_PATH`].
pub const ENROL_PATH: &str = "/v1/invitations/enrol";
/// Header of a redeem request: the code key's signature (hex) of the same
/// [`request_message`] the device signed, proving the code without sending it.
pub const CODE_PROOF_HEADER: &str = "x-fieldcrm-code-proof";

/// The bytes a device signs for a POST to the relay (`purpose`: `invite`, `redeem`,
/// `enrol`): the workspace, the device, the time, a nonce the relay accepts once, and the
/// whole body.
pub fn request_message(
    purpose: &str,
    workspace_id: &str,
    device: &DeviceKey,
    at_ms: i64,
    nonce: &str,
    body: &[u8],
) -> Vec<u8> {
    let mut m =
        format!("fieldcrm relay {purpose} v1\0{workspace_id}\0{device}\0{at_ms}\0{nonce}\0")
            .into_bytes();
    m.extend_from_slice(body);
    m
}

/// The device's answer to a [`Challenge`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthAnswer {
    /// The device key.
    pub device: DeviceKey,
    /// Its signature of [`auth_message`].
    pub signature: [u8; 64],
}

impl AuthAnswer {
    /// The message bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(100);
        v.extend_from_slice(&AUTH_MAGIC);
        v.extend_from_slice(&self.device.0);
        v.extend_from_slice(&self.signature);
        v
    }

    /// Parses an answer; `None` if it is not one.
    pub fn decode(b: &[u8]) -> Option<Self> {
        let (device, signature) = b.strip_prefix(&AUTH_MAGIC)?.split_first_chunk::<32>()?;
        Some(AuthAnswer {
            device: DeviceKey(*device),
            signature: signature.try_into().ok()?,
        })
    }
}

/// Why a WebSocket session with the relay failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WsError {
    /// The URL is not `ws://…` or `wss://…`.
    #[error("`{0}` is not a relay URL (ws://host:port or wss://host)")]
    BadUrl(String),
    /// Could not connect or the WebSocket failed.
    #[error("{0}")]
    Transport(String),
    /// The relay closed the session with a code and reason.
    #[error("the relay refused: {reason} (code {code})")]
    Refused {
        /// The close code ([`close`]).
        code: u16,
        /// The relay's reason.
        reason: String,
    },
    /// The relay serves another workspace.
    #[error("the relay serves workspace {relay}, but this device belongs to {ours}")]
    WrongWorkspace {
        /// The relay's workspace.
        relay: String,
        /// This device's workspace.
        ours: String,
    },
    /// Not the relay protocol.
    #[error("the server does not speak the fieldcrm relay protocol: {0}")]
    Protocol(&'static str),
    /// A message above the limit.
    #[error("message of {size} bytes exceeds the limit of {max} bytes")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// Nothing arrived in time.
    #[error("the relay did not answer within {0:?}")]
    Timeout(Duration),
}

impl WsError {
    /// Whether the relay turned the device away for now (too many sessions or
    /// connections, or shutting down): the same sync may succeed a little later.
    pub fn is_busy(&self) -> bool {
        matches!(self, WsError::Refused { code, .. } if *code == close::BUSY || *code == close::SHUTDOWN)
    }
}

/// Limits of a WebSocket session.
#[derive(Debug, Clone)]
pub struct WsConfig {
    /// Largest message accepted or sent.
    pub max_message_len: usize,
    /// How long to wait for any message.
    pub idle_timeout: Duration,
}

impl Default for WsConfig {
    fn default() -> Self {
        WsConfig {
            max_message_len: fieldcrm_sync::MAX_MESSAGE_SIZE,
            idle_timeout: Duration::from_secs(60),
        }
    }
}

/// Normalizes a relay URL to the sync endpoint (`ws://h:p` → `ws://h:p/v1/sync`).
pub fn sync_url(url: &str) -> Result<String, WsError> {
    let url = url.trim();
    let (scheme, rest) = ["ws://", "wss://"]
        .into_iter()
        .find_map(|scheme| Some((scheme, url.strip_prefix(scheme)?)))
        .ok_or_else(|| WsError::BadUrl(url.into()))?;
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    if host.is_empty() {
        return Err(WsError::BadUrl(url.into()));
    }
    let path = path.trim_end_matches('/');
    if path.is_empty() {
        Ok(format!("{scheme}{host}{SYNC_PATH}"))
    } else {
        Ok(format!("{scheme}{host}/{path}"))
    }
}

/// Whether `text` looks like a relay URL rather than a ticket.
pub fn is_relay_url(text: &str) -> bool {
    let t = text.trim();
    t.starts_with("ws://") || t.starts_with("wss://")
}

type Stream = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// An authenticated WebSocket session with the relay: one binary message per frame.
pub struct WsConn {
    stream: Stream,
    config: WsConfig,
    workspace_id: String,
    closed: bool,
}

impl std::fmt::Debug for WsConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WsConn")
            .field("workspace_id", &self.workspace_id)
            .finish()
    }
}

fn transport(e: tungstenite::Error) -> WsError {
    match e {
        tungstenite::Error::Capacity(c) => WsError::Transport(format!("message too large: {c}")),
        e => WsError::Transport(e.to_string()),
    }
}

async fn open(url: &str, config: &WsConfig) -> Result<Stream, WsError> {
    let url = sync_url(url)?;
    let ws_config = WebSocketConfig::default()
        .max_message_size(Some(config.max_message_len + 64))
        .max_frame_size(Some(config.max_message_len + 64));
    use tungstenite::client::IntoClientRequest;
    let mut request = url
        .as_str()
        .into_client_request()
        .map_err(|e| WsError::Transport(format!("could not connect to {url}: {e}")))?;
    request.headers_mut().insert(
        VERSION_HEADER,
        tungstenite::http::HeaderValue::from_static(env!("CARGO_PKG_VERSION")),
    );
    let fut = tokio_tungstenite::connect_async_with_config(request, Some(ws_config), true);
    let (stream, _) = tokio::time::timeout(config.idle_timeout, fut)
        .await
        .map_err(|_| WsError::Timeout(config.idle_timeout))?
        .map_err(|e| match e {
            tungstenite::Error::Http(r) if r.status().as_u16() == 503 => WsError::Refused {
                code: close::BUSY,
                reason: r
                    .body()
                    .as_deref()
                    .map(|b| String::from_utf8_lossy(b).trim().to_string())
                    .filter(|b| !b.is_empty())
                    .unwrap_or_else(|| "busy (HTTP 503)".into()),
            },
            e => WsError::Transport(format!("could not connect to {url}: {e}")),
        })?;
    Ok(stream)
}

async fn next_binary(stream: &mut Stream, config: &WsConfig) -> Result<Option<Vec<u8>>, WsError> {
    loop {
        let msg = tokio::time::timeout(config.idle_timeout, stream.next())
            .await
            .map_err(|_| WsError::Timeout(config.idle_timeout))?;
        match msg {
            None => return Ok(None),
            Some(Err(e)) => return Err(transport(e)),
            Some(Ok(Message::Binary(b))) => {
                if b.len() > config.max_message_len {
                    return Err(WsError::TooLarge {
                        size: b.len(),
                        max: config.max_message_len,
                    });
                }
                return Ok(Some(b.to_vec()));
            }
            Some(Ok(Message::Close(frame))) => {
                return match frame {
                    Some(f) if f.code != CloseCode::Normal => Err(WsError::Refused {
                        code: f.code.into(),
                        reason: f.reason.to_string(),
                    }),
                    _ => Ok(None),
                };
            }
            Some(Ok(Message::Text(_))) => return Err(WsError::Protocol("text message")),
            Some(Ok(_)) => {}
        }
    }
}

/// Asks the relay at `url` which workspace it serves (reads its challenge, then hangs up).
pub async fn relay_workspace(url: &str, config: &WsConfig) -> Result<String, WsError> {
    let mut stream = open(url, config).await?;
    let first = next_binary(&mut stream, config)
        .await?
        .ok_or(WsError::Protocol("closed before the challenge"))?;
    let challenge = Challenge::decode(&first).ok_or(WsError::Protocol("no challenge"))?;
    let _ = stream.close(None).await;
    Ok(challenge.workspace_id)
}

/// Connects to the relay at `url` and authenticates as `device`, signing the relay's
/// challenge with `sign` (the device's secret key). Fails with
/// [`WsError::WrongWorkspace`] if the relay serves another workspace than
/// `workspace_id` (nothing is signed then), and with [`WsError::Refused`] if the relay does
/// not accept the device.
pub async fn connect_ws(
    url: &str,
    device: DeviceKey,
    workspace_id: &str,
    sign: impl FnOnce(&[u8]) -> [u8; 64],
    config: &WsConfig,
) -> Result<WsConn, WsError> {
    let mut stream = open(url, config).await?;
    let first = next_binary(&mut stream, config)
        .await?
        .ok_or(WsError::Protocol("closed before the challenge"))?;
    let challenge = Challenge::decode(&first).ok_or(WsError::Protocol("no challenge"))?;
    if challenge.workspace_id != workspace_id {
        let _ = stream.close(None).await;
        return Err(WsError::WrongWorkspace {
            relay: challenge.workspace_id,
            ours: workspace_id.into(),
        });
    }
    let answer = AuthAnswer {
        device,
        signature: sign(&auth_message(&challenge.nonce, &challenge.workspace_id)),
    };
    stream
        .send(Message::Binary(answer.encode().into()))
        .await
        .map_err(transport)?;
    match next_binary(&mut stream, config).await? {
        Some(ok) if ok == AUTH_OK => {}
        Some(_) => return Err(WsError::Protocol("unexpected answer to authentication")),
        None => return Err(WsError::Protocol("closed during authentication")),
    }
    Ok(WsConn {
        stream,
        config: config.clone(),
        workspace_id: challenge.workspace_id,
        closed: false,
    })
}

impl WsConn {
    /// The workspace the relay serves.
    pub fn workspace_id(&self) -> &str {
        &self.workspace_id
    }

    /// Ends the session cleanly: sends a close frame and waits (up to the idle timeout)
    /// for the relay's.
    pub async fn finish(mut self) -> Result<(), WsError> {
        let _ = self.stream.close(None).await;
        if self.closed {
            return Ok(());
        }
        let wait = async {
            while let Some(m) = self.stream.next().await {
                if m.is_err() {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(self.config.idle_timeout, wait).await;
        Ok(())
    }

    /// Sends raw bytes as one binary message (for tests that misbehave on purpose).
    pub async fn send_raw(&mut self, bytes: Vec<u8>) -> Result<(), WsError> {
        self.stream
            .send(Message::Binary(bytes.into()))
            .await
            .map_err(transport)
    }
}

impl FrameTransport for WsConn {
    type Error = WsError;

    async fn send(&mut self, frame: &[u8]) -> Result<(), WsError> {
        if frame.len() > self.config.max_message_len {
            return Err(WsError::TooLarge {
                size: frame.len(),
                max: self.config.max_message_len,
            });
        }
        self.send_raw(frame.to_vec()).await
    }

    async fn recv(&mut self) -> Result<Option<Vec<u8>>, WsError> {
        let r = next_binary(&mut self.stream, &self.config).await;
        if matches!(r, Ok(None) | Err(WsError::Refused { .. })) {
            self.closed = true;
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_point_at_the_sync_path() {
        assert_eq!(sync_url("ws://h:7").unwrap(), "ws://h:7/v1/sync");
        assert_eq!(
            sync_url("wss://relay.example/").unwrap(),
            "wss://relay.example/v1/sync"
        );
        assert_eq!(sync_url("ws://h:7/custom").unwrap(), "ws://h:7/custom");
        assert!(sync_url("http://h").is_err());
        assert!(sync_url("ws://").is_err());
    }

    #[test]
    fn handshake_messages_round_trip_and_reject_garbage() {
        let c = Challenge {
            nonce: [7; NONCE_LEN],
            workspace_id: "abc".into(),
        };
        assert_eq!(Challenge::decode(&c.encode()), Some(c));
        let a = AuthAnswer {
            device: DeviceKey([1; 32]),
            signature: [2; 64],
        };
        assert_eq!(AuthAnswer::decode(&a.encode()), Some(a.clone()));
        assert_eq!(AuthAnswer::decode(&a.encode()[..99]), None);
        assert_eq!(Challenge::decode(b"FCRC"), None);
        assert_ne!(auth_message(&[0; 32], "a"), auth_message(&[0; 32], "b"));
    }
}
