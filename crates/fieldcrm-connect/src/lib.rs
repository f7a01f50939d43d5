//! The device side of fieldcrm sync, as plain functions returning typed outcomes: saved
//! remotes, joining through an office relay (by invitation or by key), syncing with the relay (WebSocket or iroh) or
//! directly with a peer (iroh ticket), serving peers, the relay's findings, and pushing a
//! roster change. The CLI and the web app call these and only print or render the result.
//!
//! Every sync path ends with [`fieldcrm_workspace::Workspace::after_sync`] (documents that
//! left the user's read scope are deleted, merged files are carried over) and returns a
//! [`SyncOutcome`] holding the session [`Report`](fieldcrm_sync::Report), what after-sync
//! did and, for a device's first sync, as whom it joined. `serve` runs after-sync after
//! each served session.
//!
//! Nothing here prints or reads the wall clock: progress goes through [`Progress`] (or
//! [`ServeEvents`] for a server), and the time written by carry-over is passed in. (A
//! relay that turns a device away as busy is tried again after short waits on the
//! monotonic clock: `busy.rs`.)
//! Errors are an [`Error`] with messages in English (`Display`) and Chinese
//! ([`Error::message`]).
#![deny(missing_docs)]

mod busy;
mod error;
mod findings;
mod invite;
mod office;
mod remotes;
mod serve;
mod sync;

pub use error::{Error, Result};
pub use findings::relay_findings;
pub use invite::{Invited, JoinInvite, JoinedByInvite, invite, join_invited};
pub use office::{ConsoleLink, console_link};
pub use remotes::{
    DEFAULT_REMOTE, Remote, add_remote, check_remote_name, check_remote_url, remotes, remove_remote,
};
pub use serve::{ServeEvents, Serving, serve};
pub use sync::{
    Counterpart, JoinedRelay, NoProgress, Progress, SyncOutcome, Target, join_relay, push_roster,
    refused_out_of_scope, resolve_target, sync, sync_peer, sync_relay,
};

pub use fieldcrm_net::{Ticket, ws::is_relay_url};
pub use fieldcrm_sync::Report;
pub use fieldcrm_workspace::{AfterSync, Joined, Removed};

/// A multi-threaded tokio runtime (two workers) for callers that are not async, such as
/// the CLI: `runtime()?.block_on(fieldcrm_connect::sync(..))`.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(Error::Runtime)
}
