//! Running a sync session over a framed transport: the thin loop between the pure
//! [`fieldcrm_sync::Session`] state machine, a synchronous [`Host`] and the wire.

use fieldcrm_sync::{Host, Report, Scope, Session, Status};

use crate::{Conn, SessionError};

/// A transport that carries whole frames in order (an iroh stream, a WebSocket).
pub trait FrameTransport {
    /// Transport error.
    type Error: std::fmt::Display;
    /// Send one frame.
    fn send(&mut self, frame: &[u8]) -> impl Future<Output = Result<(), Self::Error>> + Send;
    /// Receive one frame; `None` when the peer finished.
    fn recv(&mut self) -> impl Future<Output = Result<Option<Vec<u8>>, Self::Error>> + Send;
}

impl FrameTransport for Conn {
    type Error = SessionError;
    fn send(&mut self, frame: &[u8]) -> impl Future<Output = Result<(), SessionError>> + Send {
        Conn::send(self, frame)
    }
    fn recv(&mut self) -> impl Future<Output = Result<Option<Vec<u8>>, SessionError>> + Send {
        Conn::recv(self)
    }
}

/// Why a driven session did not finish.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DriveError {
    /// The protocol failed (this side's or the peer's error).
    #[error("sync failed: {0}")]
    Sync(String),
    /// The transport failed.
    #[error("connection failed: {0}")]
    Transport(String),
}

/// Drive `session` over `transport` until it finishes or fails, carrying out loads and
/// saves on `host` (saves commit before the session acknowledges them). `progress` is
/// called after every received frame.
pub async fn drive<T, S, H>(
    transport: &mut T,
    session: &mut Session<S>,
    host: &mut H,
    mut progress: impl FnMut(&Report),
) -> Result<(), DriveError>
where
    T: FrameTransport,
    S: Scope,
    H: Host,
{
    loop {
        for frame in session.run_host(host) {
            transport
                .send(&frame)
                .await
                .map_err(|e| DriveError::Transport(e.to_string()))?;
        }
        match session.status() {
            Status::Running => {}
            Status::Finished => return Ok(()),
            Status::Failed => {
                return Err(DriveError::Sync(
                    session
                        .error()
                        .map(|e| e.to_string())
                        .unwrap_or_else(|| "unknown error".into()),
                ));
            }
        }
        match transport.recv().await {
            Ok(Some(frame)) => session.receive(&frame),
            Ok(None) => session.closed(),
            Err(e) => {
                session.closed();
                return Err(DriveError::Transport(e.to_string()));
            }
        }
        progress(session.report());
    }
}
