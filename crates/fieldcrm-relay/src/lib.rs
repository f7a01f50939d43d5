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
//! - **Operating it**: a `tracing` log on stderr (a span per session; refusals summed up
//!   per period, never a line per hostile connection), Prometheus counters at `/metrics`
//!   ([`Metrics`]), and online backups ([`Relay::backup`]) that a running relay writes
//!   itself when `fieldcrm-relay backup` asks on its loopback admin endpoint
//!   ([`request_backup`]); [`restore`] fills an empty data directory from one.
//! - **Invitations** (`invitations.rs`): pending invitations an admin's device signed,
//!   redeemed once by a new device's code, whose enrolment the roster chain judges;
//!   every event in [`Relay::invitation_log`].
//!
//! Architecture Invariant: the relay reads the wall clock only for audit timestamps,
//! findings requests' freshness and backup times; sync and scope decisions never do.
//! axum lives in this crate and nowhere below it.
#![deny(missing_docs)]

mod activity;
mod admin;
mod audit;
mod backup;
pub mod config;
mod console;
mod findings;
mod host;
mod http;
mod invitation_log;
mod invitations;
mod log;
mod metrics;
mod relay;
mod server;

pub use activity::{DeviceSeen, EVENTS_FILE, Event, EventKind, roster_events};
pub use admin::{ADMIN_FILE, AdminError, BACKUP_PATH, request_backup};
pub use audit::{AuditRow, read_audit};
pub use backup::{
    BackupDone, BackupError, FileEntry, MANIFEST_FILE, Manifest, backup_target, restore,
    verify_backup,
};
pub use config::{Config, ConfigError, Limits, LogFormat, ScopeOptions};
pub use findings::{FindingsError, FindingsRequest, MAX_SKEW_MS};
pub use http::raise_open_file_limit;
pub use invitation_log::{INVITATION_LOG_FILE, InvitationEvent, InvitationEventKind};
pub use invitations::{FAILURE_WINDOW_MS, MAX_FAILURES};
pub use log::{filter_directive, init_logging};
pub use metrics::Metrics;
pub use relay::{
    AUDIT_FILE, Access, Refusal, Relay, RelayError, RelayHost, RelayScope, STORE_FILE, SessionSlot,
};
pub use server::{Bound, app, run};
