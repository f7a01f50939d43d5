//! The fieldcrm policy engine: the sales rules of `rules.md` checked on the merged state
//! of a workspace.
//!
//! Input: the documents as [`fieldcrm_model::Snapshot`]s (customer files, channel
//! records and the roster, catalog, policy-settings and sales documents), a [`Config`]
//! and the evaluation time `now` (UTC ms). Output: [`Finding`]s in a canonical order, so
//! two replicas with the same heads produce identical findings for the same `now`.
//!
//! ```text
//! let config = Config::from_toml(&company_toml)?;          // or Config::default()
//! let findings = check(&snapshots, &config, now);           // every rule but DATA-SCOPE
//! let findings = check_device(&snapshots, &config, now, &device); // + DATA-SCOPE
//! print!("{}", render(&findings, Lang::Zh));
//! let rows = target_progress(&snapshots, &config, now);    // TARGET-PROGRESS report
//! ```
//!
//! For repeated checks after syncs, keep an [`Engine`]: `engine.update(changed, removed,
//! now)` re-evaluates only the changed documents, the documents whose time-based verdict
//! flipped since the last call, and the cross-document index entries they touch.
//!
//! "Who set it" is the Automerge actor (a device) of the current value of a deciding
//! field, mapped through the roster to a user and role. A value set without the required
//! role does not count and is itself a DATA-AUTHORITY finding; unknown devices never
//! count. Which roles hold each sign-off and reserved field is the model's one table,
//! [`fieldcrm_model::Authority`] (the application layer refuses actions with the same
//! table): an admin holds every management authority (sales manager, channel manager)
//! but never the legal review; DATA-AUTHORITY messages name the holders from it.
//! - legal review → legal;
//! - class exception, gift approval, discount approval, receiving an escalated
//!   complaint → manager or admin (a discount beyond the manager allowance: admin);
//! - complaint escalation → set by a holder, or addressed to a user who holds it;
//! - channel qualification review, risk assessment, activation (`status = active`) →
//!   channel manager or admin;
//! - catalog products, discount allowances, policy-settings overrides → manager or admin;
//! - roster roles and device enrolments → admin.
//!
//! Choices worth knowing:
//! - Workspace overrides come from the policy-settings snapshot among the documents (only
//!   entries written by a manager or admin count); pass the company TOML (or
//!   [`Config::default`]) as the base. Bad overrides are skipped and listed by
//!   [`Engine::config_errors`]; [`Config::with_overrides`] reports the first one.
//! - Roles count only when written by an admin's device. Without the roster creator's
//!   identity (not in the snapshot today) trust is the largest self-consistent set of
//!   admin devices, so an admin-promoted-by-themself cannot be told from the founding
//!   admin; when the roster snapshot carries the provenance of `kind`, trust grows from
//!   that device instead.
//! - Revoked devices' values still count (they were written while enrolled; refusing
//!   later changes is the sync layer's job); unknown devices never count.
//! - Discount approvals: a discount beyond the manager allowance needs an admin.
//! - An order through a channel record this device does not hold is reported by
//!   CHANNEL-UNAUTHORIZED-SALE (authorisation cannot be shown); orders through a merged
//!   tombstone are not judged.
//! - Windows are "more than N after": an item due within 30 days is overdue from
//!   30 days + 1 ms. Periods (weeks, quarters) use the configured UTC offset (default
//!   +08:00); only whole periods after a rep joined / a channel was activated are due,
//!   looking back `lookback` periods.
//!
//! - The 撞单 notice: a rep's own file gets a CUST-DUPLICATE finding (entity
//!   `claims/<other claim ID>`) when another owner's counted claim in the Sales document
//!   shares a match key and is earlier; see [`claims`].
//!
//! Architecture invariant: this crate does no IO, reads no clock and touches neither
//! redb nor the network; it depends only on `fieldcrm-model`, serde, serde_json, toml,
//! thiserror, fast2s (traditional → simplified) and sha2 (claim keys).
#![deny(missing_docs)]

mod carry;
pub mod claims;
mod config;
mod ctx;
mod engine;
mod finding;
mod lifecycle;
pub mod normalize;
mod progress;
mod render;
mod rule;
mod rules;
mod signoff;
pub mod time;

pub use carry::{carried_into, carried_survivors, carry_merged_provenance, tombstones_by_survivor};
pub use config::{Config, ConfigError, DEFAULT_TOML, GENERAL, Level, ParamValue, RuleConfig};
pub use engine::{Engine, Loader, Recheck, SavedEngine, check, check_device, is_workspace_doc};
pub use finding::{Actor, Finding, Severity, sort_findings};
pub use lifecycle::{
    Mark, Status, Tracked, holder_of, holds_finding_states, render_tracked, track, track_in,
};
pub use progress::{ProgressRow, sales_doc_id, target_progress};
pub use render::{Lang, render, render_progress};
pub use rule::{RuleId, UnknownRule};
