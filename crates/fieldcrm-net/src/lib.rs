//! The iroh (QUIC) transport that fieldcrm sync runs over. No sync logic lives here.
//!
//! Two reps at a customer site with no internet connect their devices directly: one device
//! shows a [`Ticket`] (its device key plus the socket addresses it listens on), the other
//! pastes it and [`connect`]s. Each connection carries one *session*: a sequence of
//! length-prefixed binary frames in each direction over a single QUIC bidirectional stream
//! ([`Conn::send`], [`Conn::recv`]), ended with [`Conn::finish`]. What the frames mean is the
//! business of the sync state machine (`fieldcrm-sync`), which drives a [`Conn`].
//!
//! Architecture Invariant: fieldcrm-net moves opaque frames between authenticated devices;
//! it knows nothing of documents, sync messages, rosters or storage (the `authorize` hook and
//! the session handler are where the caller brings those in).
//!
//! Architecture Invariant: an endpoint built here never sends a packet to an address that
//! was not given to it (a ticket's addresses, or a peer that dialed in).
//!
//! # Offline by construction
//!
//! [`Endpoint::bind`] builds an iroh endpoint that never sends a packet anywhere except to
//! the addresses it is given: no relays, no address lookup (DNS / pkarr), no port mapping
//! (UPnP / NAT-PMP / PCP), no captive-portal or HTTPS probes, and sockets bound only on the
//! address passed in. The device's ed25519 key is the endpoint ID, so the TLS handshake
//! authenticates both sides: [`Conn::peer`] is the peer's verified [`DeviceKey`].
//!
//! # Sessions
//!
//! - **Server** ([`serve`]): every accepted connection runs in its own task. The peer's
//!   authenticated device key is passed to an `authorize` hook *before* a single application
//!   byte is read or written; a peer that is refused gets the connection closed with
//!   [`close::NOT_ENROLLED`] and the reason `"not enrolled"`. A failing, malformed or panicking
//!   session ends only that session. [`Server::shutdown`] stops accepting, lets running
//!   sessions finish within a grace period and then closes the rest.
//! - **Client** ([`connect`]): dials the addresses in a ticket and checks that the peer's key
//!   is the one in the ticket.
//!
//! # Wire format (version 1, ALPN chosen by the caller, e.g. `b"fieldcrm/sync/1"`)
//!
//! 1. The dialer opens one bidirectional stream and writes the 4-byte hello `FCN1`; the
//!    acceptor, once it has authorized the peer, reads it and answers with the same 4 bytes.
//!    ([`connect`] returns only after the answer, so a refused client learns it from
//!    [`connect`], not from its first `recv`.)
//! 2. Frames, both directions: a 4-byte big-endian payload length, then the payload. A length
//!    above [`SessionConfig::max_frame_len`] ends the session with [`close::PROTOCOL_ERROR`]
//!    before anything is allocated for it.
//! 3. End: each side finishes its half of the stream (`recv` on the other side returns
//!    `None`). Each side, once it has read the peer's end, says so with one byte on a
//!    unidirectional stream; whoever has both read the peer's end and heard the peer say
//!    it read ours closes the connection with [`close::DONE`]. So nobody closes while the
//!    other side still has unread frames in flight (a QUIC close may discard them).
//!
//! # Example
//!
//! ```no_run
//! # async fn demo() -> Result<(), fieldcrm_net::Error> {
//! use fieldcrm_net::{Endpoint, connect, serve};
//! const ALPN: &[u8] = b"fieldcrm/sync/1";
//!
//! let server_ep = Endpoint::bind(&[1; 32], "127.0.0.1:0".parse().unwrap()).await?;
//! let ticket = server_ep.ticket().await;
//! let server = serve(&server_ep, ALPN, |_peer| true, |mut conn| async move {
//!     while let Some(frame) = conn.recv().await? {
//!         conn.send(&frame).await?;
//!     }
//!     conn.finish().await.map(|_| ())
//! });
//!
//! let client_ep = Endpoint::bind(&[2; 32], "127.0.0.1:0".parse().unwrap()).await?;
//! let mut conn = connect(&client_ep, &ticket, ALPN).await?;
//! conn.send("你好".as_bytes()).await?;
//! conn.close_send()?;
//! assert_eq!(conn.recv().await?.as_deref(), Some("你好".as_bytes()));
//! let stats = conn.finish().await?;
//! println!("sent {} frames, {} bytes", stats.frames_sent, stats.bytes_sent);
//! server.shutdown(std::time::Duration::from_secs(1)).await;
//! # Ok(()) }
//! ```

#![deny(missing_docs)]

mod client;
mod conn;
mod drive;
mod endpoint;
mod error;
mod frame;
mod server;
mod ticket;
pub mod ws;

pub use client::{ConnectError, connect};
pub use conn::{Conn, SessionError, SessionStats};
pub use drive::{DriveError, FrameTransport, drive};
pub use endpoint::{BindError, DEFAULT_BIND_ADDR, Endpoint, SessionConfig};
pub use error::Error;
pub use server::{Server, ServerStats, serve};
pub use ticket::{TICKET_PREFIX, TICKET_VERSION, Ticket, TicketError};
pub use ws::{WsConfig, WsConn, WsError, connect_ws, relay_workspace};

/// Re-exported so callers can name the key type without depending on `fieldcrm-model` paths.
pub use fieldcrm_model::DeviceKey;

/// The iroh crate this transport is built on, for callers that need lower-level access
/// (e.g. tests that misbehave on purpose).
pub use iroh;

/// QUIC application close codes used by this transport.
///
/// A peer sees them in [`SessionError::PeerClosed`] / [`ConnectError::Refused`] together with a
/// short human-readable reason. Code 0 is what QUIC uses when a connection is dropped or an
/// endpoint closes without saying why.
pub mod close {
    /// The session ended normally.
    pub const DONE: u32 = 1;
    /// The peer's device key is not allowed by the server's `authorize` hook.
    pub const NOT_ENROLLED: u32 = 2;
    /// Malformed traffic: a bad hello, an oversized or truncated frame.
    pub const PROTOCOL_ERROR: u32 = 3;
    /// The session handler returned an error or panicked.
    pub const SESSION_FAILED: u32 = 4;
    /// The server is shutting down.
    pub const SHUTDOWN: u32 = 5;
    /// The session was dropped (or its handler returned) without [`crate::Conn::finish`].
    pub const ABORTED: u32 = 6;
    /// The server's key is not the one in the ticket (the client hangs up).
    pub const WRONG_PEER: u32 = 7;
    /// A handshake or finish step took longer than its configured timeout.
    pub const TIMEOUT: u32 = 8;

    /// A short name for a close code, for messages.
    pub fn describe(code: u64) -> &'static str {
        match code {
            0 => "closed without reason",
            1 => "done",
            2 => "not enrolled",
            3 => "protocol error",
            4 => "session failed",
            5 => "server shutting down",
            6 => "session aborted",
            7 => "wrong peer",
            8 => "timed out",
            _ => "unknown close code",
        }
    }
}
