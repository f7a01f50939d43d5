//! The office relay: an always-on fieldcrm peer that holds every document of one
//! workspace and syncs with each enrolled device when it has a network, over WebSocket
//! (axum, `/v1/sync`) and over iroh (ALPN [`fieldcrm_sync::ALPN`]).
//!
//! - **Who connects** ([`Relay::authorize`]): the roster the relay holds decides; before
//!   it holds one, only the admin device named at [`Relay::init`] may connect, and its
//!   upload becomes the trusted roster. Over iroh the authenticated endpoint ID is checked
//!   in `fieldcrm_net::serve`'s `authorize` hook; over WebSocket the device signs a random
//!   challenge ([`fieldcrm_net::ws`]). Either way before a single document byte or ID.
//! - **What it sees and writes** ([`RelayScope`]): `fieldcrm_model::access::can_read` /
//!   `can_write` of the device's user; changes must be written by the delivering device.
//! - **What it did** ([`AuditRow`]): one JSON line per delivered document, synced to disk
//!   before the delivery is acknowledged.
//! - **Invitations** (`invitations.rs`): pending invitations an admin's device signed,
//!   redeemed once by a new device's code, whose enrolment the roster chain judges;
//!   every event in [`Relay::invitation_log`].
//!
//! Architecture Invariant: the relay reads the wall clock only for audit timestamps;
//! sync and scope decisions never do. axum lives in this crate and nowhere below it.
#![deny(missing_docs)]

mod audit;
pub mod config;
mod findings;
mod http;
mod invitation_log;
mod invitations;
mod metrics;
mod relay;
mod server;

pub use audit::{AuditRow, read_audit};
pub use config::{Config, ConfigError, Limits, ScopeOptions};
pub use findings::{FindingsError, FindingsRequest, MAX_SKEW_MS};
pub use http::raise_open_file_limit;
pub use invitation_log::{INVITATION_LOG_FILE, InvitationEvent, InvitationEventKind};
pub use invitations::{FAILURE_WINDOW_MS, MAX_FAILURES};
pub use metrics::Metrics;
pub use relay::{
    AUDIT_FILE, Access, Refusal, Relay, RelayError, RelayHost, RelayScope, STORE_FILE, SessionSlot,
};
pub use server::{Bound, app, run};
