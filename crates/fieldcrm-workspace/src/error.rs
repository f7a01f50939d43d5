//! The workspace error type.

use std::path::PathBuf;

use fieldcrm_model::DeviceKey;

/// Result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong in a workspace operation. Messages name the thing that was wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No workspace in that directory.
    #[error("no fieldcrm workspace in {0} (run `fieldcrm init` or pass --home)")]
    NotInitialised(PathBuf),
    /// `init` on an existing workspace.
    #[error("a workspace already exists at {0}")]
    AlreadyInitialised(PathBuf),
    /// This device is not in the roster.
    #[error("this device ({0}) is not enrolled in the workspace roster")]
    NotEnrolled(DeviceKey),
    /// A joined device that has not synced yet.
    #[error(
        "this device ({0}) has not received the workspace yet: ask an admin to enroll it (`fieldcrm device add {0} --user NAME`), then run `fieldcrm sync TICKET`"
    )]
    NoRosterYet(DeviceKey),
    /// This device was revoked.
    #[error("this device ({0}) has been revoked")]
    Revoked(DeviceKey),
    /// The acting user's role cannot do this.
    #[error("permission denied: {0}")]
    Permission(String),
    /// Something named does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// A name or prefix matches more than one thing.
    #[error("ambiguous: {0}")]
    Ambiguous(String),
    /// Bad input from the user.
    #[error("{0}")]
    Invalid(String),
    /// Damaged workspace data.
    #[error("workspace data is damaged: {0}")]
    Corrupt(String),
    /// A file-system error.
    #[error("{}: {source}", path.display())]
    Io {
        /// Which path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// From the store.
    #[error(transparent)]
    Store(#[from] fieldcrm_store::Error),
    /// From the model.
    #[error(transparent)]
    Doc(#[from] fieldcrm_model::DocError),
}

impl Error {
    /// A bad-input error.
    pub fn invalid(msg: impl Into<String>) -> Self {
        Error::Invalid(msg.into())
    }
}
