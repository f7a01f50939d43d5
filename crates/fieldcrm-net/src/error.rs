//! The crate-wide error, for callers that handle every operation the same way.

use crate::{BindError, ConnectError, SessionError, TicketError};

/// Any error of this crate; each operation also has its own enum.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Creating the endpoint failed.
    #[error(transparent)]
    Bind(#[from] BindError),
    /// A ticket did not parse.
    #[error(transparent)]
    Ticket(#[from] TicketError),
    /// Opening a session failed.
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// A session failed.
    #[error(transparent)]
    Session(#[from] SessionError),
}
