//! The fieldcrm domain model: the vocabulary every other crate speaks.
//!
//! Documents (customer files, channel records, and the workspace-wide roster, catalog,
//! rule configuration and sales documents) are Automerge CRDTs. This crate defines their
//! content types (with autosurgeon `Reconcile`/`Hydrate` and serde), IDs, roles and other
//! vocabularies, typed edits on a [`Document`], the summary-index row, and field
//! provenance ("who set this value") read from Automerge operations.
//!
//! Architecture invariant: this crate does no IO, reads no clock and knows nothing of
//! storage, network or rules. Times are passed in as UTC milliseconds.
#![deny(missing_docs)]

pub mod access;
pub mod authority;
pub mod channel;
pub mod claims_walk;
pub mod customer;
mod document;
pub mod fields;
mod finding_state;
mod ids;
pub mod invitation;
mod lang;
pub mod money;
pub mod packed_claims;
pub mod par;
pub mod period;
mod quick;
pub mod sig;
pub mod signoff;
mod summary_fields;
mod vocab;
pub mod workspace_docs;

pub use authority::Authority;
pub use channel::{Agreement, Assessment, Channel, PriceReport, RiskAssessment, Territory};
pub use customer::{
    Approval, Complaint, Contact, Contract, Customer, Escalation, Gift, Interaction, Investigation,
    Note, Opportunity, Order, Plan, Quote, Review, Survey,
};
pub use document::{
    Body, Checked, DocError, Document, Snapshot, Summary, change_time_ms, change_time_raw,
};
pub use fields::{Field, FieldState, Stamp};
pub use finding_state::{FINDING_STATES, FindingState};
pub use ids::{
    BadDeviceKey, BadId, DeviceKey, DocId, ID_HEX_LEN, SHORT_LEN, hex, hex16, new_entity_id,
    short_id, unhex,
};
pub use invitation::{Enrolment, Invitation, InviteCode};
pub use lang::Lang;
pub use period::{BadPeriod, Period, PeriodKind};
pub use sig::{DeviceSecret, Signature};
pub use vocab::{
    ChannelKind, ChannelStatus, CustomerClass, DocKind, FindingMark, GiftDirection, GiftKind,
    InteractionKind, ReviewResult, RiskLevel, Role, Severity, Stage, UnknownVariant,
};
pub use workspace_docs::{
    Catalog, Claim, Device, PolicySettings, Product, Roster, RuleSetting, Sales, SalesReport,
    Target, User,
};

/// UTC milliseconds since the Unix epoch.
pub type Millis = i64;
/// Money in fen (1/100 yuan).
pub type Fen = i64;

/// The schema version this build writes. Documents with a higher version are refused
/// with a clear error; lower versions load (new fields default).
pub const SCHEMA_VERSION: u64 = 1;

/// One day in milliseconds.
pub const DAY_MS: Millis = 86_400_000;
/// One hour in milliseconds.
pub const HOUR_MS: Millis = 3_600_000;

impl Customer {
    /// A new, empty customer file.
    pub fn new(name: impl Into<String>, now: Millis) -> Self {
        Customer {
            kind: DocKind::Customer.to_string(),
            schema_version: SCHEMA_VERSION,
            name: name.into(),
            created_at: now,
            ..Default::default()
        }
    }
}

impl Channel {
    /// A new channel record in `prospect` status.
    pub fn new(name: impl Into<String>, channel_kind: ChannelKind, now: Millis) -> Self {
        Channel {
            kind: DocKind::Channel.to_string(),
            schema_version: SCHEMA_VERSION,
            name: name.into(),
            channel_kind,
            region: None,
            product_lines: Default::default(),
            status: ChannelStatus::Prospect,
            status_at: now,
            activated_at: None,
            owner: None,
            created_at: now,
            merged_into: None,
            archived: None,
            qualification: None,
            risk: None,
            agreement: None,
            territories: Default::default(),
            communications: Default::default(),
            trainings: Default::default(),
            assessments: Default::default(),
            price_reports: Default::default(),
            finding_states: Default::default(),
            removed: Default::default(),
        }
    }
}

impl Roster {
    /// A new roster for a workspace.
    pub fn new(workspace_id: &str, workspace_name: &str) -> Self {
        Roster {
            kind: DocKind::Roster.to_string(),
            schema_version: SCHEMA_VERSION,
            workspace_id: workspace_id.to_string(),
            workspace_name: workspace_name.to_string(),
            ..Default::default()
        }
    }
}

impl Catalog {
    /// An empty catalog with the default discount allowances (rep 10%, manager 25%).
    pub fn new() -> Self {
        Catalog {
            kind: DocKind::Catalog.to_string(),
            schema_version: SCHEMA_VERSION,
            discount_allowance_bp: [("rep".to_string(), 1000), ("manager".to_string(), 2500)]
                .into_iter()
                .collect(),
            ..Default::default()
        }
    }
}

impl PolicySettings {
    /// No overrides.
    pub fn new() -> Self {
        PolicySettings {
            kind: DocKind::Policy.to_string(),
            schema_version: SCHEMA_VERSION,
            ..Default::default()
        }
    }
}

impl Sales {
    /// No targets or reports.
    pub fn new() -> Self {
        Sales {
            kind: DocKind::Sales.to_string(),
            schema_version: SCHEMA_VERSION,
            ..Default::default()
        }
    }
}
