//! Dialing a peer from its ticket.

use std::time::Duration;

use fieldcrm_model::DeviceKey;
use iroh::EndpointAddr;

use crate::conn::{Side, close_with, from_connection_error, from_read_error, from_write_error};
use crate::{Conn, Endpoint, SessionError, Ticket, close};

/// The 4 bytes each side writes first on the session stream (wire format version 1).
pub(crate) const HELLO: [u8; 4] = *b"FCN1";

/// Failure to open a session with a peer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The ticket has no address to dial.
    #[error("the ticket lists no address to connect to")]
    NoAddresses,
    /// The ticket's key is not a valid ed25519 public key.
    #[error("the ticket's device key {0} is not a valid ed25519 public key")]
    InvalidKey(DeviceKey),
    /// QUIC could not reach the peer or the handshake failed (wrong address, peer not
    /// listening, different ALPN, firewall...).
    #[error("could not connect to {peer:?} at {addrs:?}: {source}")]
    Connect {
        /// The device dialed.
        peer: DeviceKey,
        /// The addresses tried.
        addrs: Vec<std::net::SocketAddr>,
        /// What iroh said.
        #[source]
        source: iroh::endpoint::ConnectError,
    },
    /// The connection or the session hello took longer than the handshake timeout.
    #[error("connecting to {peer:?} timed out after {after:?}")]
    Timeout {
        /// The device dialed.
        peer: DeviceKey,
        /// The limit.
        after: Duration,
    },
    /// The device that answered is not the one in the ticket.
    #[error("expected device {expected:?}, but {actual:?} answered")]
    WrongPeer {
        /// The ticket's key.
        expected: DeviceKey,
        /// The key that answered.
        actual: DeviceKey,
    },
    /// The peer does not accept this device ([`close::NOT_ENROLLED`]).
    #[error("{peer:?} refused this device: not enrolled")]
    NotEnrolled {
        /// The device dialed.
        peer: DeviceKey,
    },
    /// The peer accepted the QUIC connection but the session could not start.
    #[error("session with {peer:?} could not start: {source}")]
    Session {
        /// The device dialed.
        peer: DeviceKey,
        /// Why.
        #[source]
        source: SessionError,
    },
}

/// Dials the device in `ticket` and opens a session for `alpn`.
///
/// Only the ticket's addresses are tried. Returns once the peer has authorized this device
/// and answered the session hello, so a refusal shows up here as
/// [`ConnectError::NotEnrolled`]. The peer's key is checked against the ticket (the TLS
/// handshake already binds the connection to that key; the check makes it explicit).
pub async fn connect(
    endpoint: &Endpoint,
    ticket: &Ticket,
    alpn: &[u8],
) -> Result<Conn, ConnectError> {
    let peer = ticket.device_key();
    if ticket.addrs().is_empty() {
        return Err(ConnectError::NoAddresses);
    }
    let id = iroh::PublicKey::from_bytes(&peer.0).map_err(|_| ConnectError::InvalidKey(peer))?;
    let addr = ticket
        .addrs()
        .iter()
        .fold(EndpointAddr::new(id), |a, s| a.with_ip_addr(*s));
    let config = endpoint.session_config().clone();
    let limit = config.handshake_timeout;
    let timeout = || ConnectError::Timeout { peer, after: limit };
    let deadline = tokio::time::Instant::now() + limit;

    let conn = tokio::time::timeout_at(deadline, endpoint.iroh().connect(addr, alpn))
        .await
        .map_err(|_| timeout())?
        .map_err(|source| ConnectError::Connect {
            peer,
            addrs: ticket.addrs().to_vec(),
            source,
        })?;
    let actual = DeviceKey(*conn.remote_id().as_bytes());
    if actual != peer {
        close_with(&conn, close::WRONG_PEER, "not the device in the ticket");
        return Err(ConnectError::WrongPeer {
            expected: peer,
            actual,
        });
    }

    let session = |source: SessionError| match source {
        SessionError::NotEnrolled => ConnectError::NotEnrolled { peer },
        source => ConnectError::Session { peer, source },
    };
    let hello = async {
        let (mut send, mut recv) = conn.open_bi().await.map_err(from_connection_error)?;
        send.write_all(&HELLO).await.map_err(from_write_error)?;
        let mut answer = [0u8; 4];
        match recv.read_exact(&mut answer).await {
            Ok(()) if answer == HELLO => Ok((send, recv)),
            Ok(()) => Err(SessionError::Protocol("bad hello")),
            Err(iroh::endpoint::ReadExactError::ReadError(e)) => Err(from_read_error(e)),
            Err(iroh::endpoint::ReadExactError::FinishedEarly(_)) => {
                Err(SessionError::Protocol("stream ended during hello"))
            }
        }
    };
    match tokio::time::timeout_at(deadline, hello).await {
        Ok(Ok((send, recv))) => Ok(Conn::new(conn, send, recv, Side::Dialer, &config)),
        Ok(Err(e)) => {
            if let SessionError::Protocol(what) = &e {
                close_with(&conn, close::PROTOCOL_ERROR, what);
            }
            Err(session(e))
        }
        Err(_) => {
            close_with(&conn, close::TIMEOUT, "session hello timed out");
            Err(timeout())
        }
    }
}
