//! The channel record (渠道档案): one Automerge document per channel partner.

use std::collections::BTreeMap;

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};

use crate::customer::{Note, Review};
use crate::vocab::{ChannelKind, ChannelStatus, RiskLevel};
use crate::{Fen, Millis};

/// A channel partner record.
#[derive(Debug, Clone, PartialEq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct Channel {
    /// Always `"channel"`.
    pub kind: String,
    /// Schema version the document was written with.
    pub schema_version: u64,
    /// Partner name.
    pub name: String,
    /// Distributor, agent, dealer or retailer.
    pub channel_kind: ChannelKind,
    /// Region.
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub region: Option<String>,
    /// Product lines the partner sells: a set stored as a map (line → true).
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub product_lines: BTreeMap<String, bool>,
    /// Lifecycle status. Activation is reserved to channel managers.
    pub status: ChannelStatus,
    /// When the status last changed.
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub status_at: Millis,
    /// When it was (last) activated.
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub activated_at: Option<Millis>,
    /// Owning channel manager (user ID).
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub owner: Option<String>,
    /// When created.
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub created_at: Millis,
    /// Tombstone: the survivor's doc ID when merged into another record.
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub merged_into: Option<String>,
    /// Set when the record was archived: who, when, why. Archived records are out of
    /// lists and rules until a manager restores them.
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub archived: Option<Note>,
    /// Qualification review (资质审核).
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub qualification: Option<Review>,
    /// Risk assessment (风险评估).
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub risk: Option<RiskAssessment>,
    /// Cooperation agreement (合作协议).
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub agreement: Option<Agreement>,
    /// Exclusive territories.
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub territories: BTreeMap<String, Territory>,
    /// Communications and meetings (沟通和座谈).
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub communications: BTreeMap<String, Note>,
    /// Trainings.
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub trainings: BTreeMap<String, Note>,
    /// Performance assessments.
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub assessments: BTreeMap<String, Assessment>,
    /// Selling prices the partner reported.
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub price_reports: BTreeMap<String, PriceReport>,
    /// What people did about rule findings on this document, by finding key.
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub finding_states: BTreeMap<String, crate::FindingState>,
    /// Records removed from the channel record (made by mistake), keyed
    /// `collection/entity-id`: who, when, why. The entry itself stays in the document (a
    /// concurrent edit to it is kept, and a manager can restore it); lists, pages and
    /// rules leave it out.
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub removed: BTreeMap<String, Note>,
}

/// The collections of a channel record whose records can be removed (and restored).
pub const REMOVABLE_COLLECTIONS: &[&str] = &[
    "territories",
    "communications",
    "trainings",
    "assessments",
    "price_reports",
];

impl Channel {
    /// Whether the record `id` of `collection` was removed.
    pub fn is_removed(&self, collection: &str, id: &str) -> bool {
        self.removed.contains_key(&format!("{collection}/{id}"))
    }

    /// The record as lists, pages and rules see it: without its removed records.
    pub fn without_removed(mut self) -> Channel {
        if self.removed.is_empty() {
            return self;
        }
        let removed = std::mem::take(&mut self.removed);
        for key in removed.keys() {
            let Some((collection, id)) = key.split_once('/') else {
                continue;
            };
            match collection {
                "territories" => drop(self.territories.remove(id)),
                "communications" => drop(self.communications.remove(id)),
                "trainings" => drop(self.trainings.remove(id)),
                "assessments" => drop(self.assessments.remove(id)),
                "price_reports" => drop(self.price_reports.remove(id)),
                _ => {}
            }
        }
        self.removed = removed;
        self
    }
}

/// The collections of a channel record.
pub const CHANNEL_COLLECTIONS: &[&str] = &[
    "product_lines",
    "territories",
    "communications",
    "trainings",
    "assessments",
    "price_reports",
];

/// A channel risk assessment.
#[derive(Debug, Clone, PartialEq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct RiskAssessment {
    /// Low, medium or high.
    pub level: RiskLevel,
    /// User ID, as recorded.
    pub by: String,
    /// When.
    pub at: Millis,
    /// Remark.
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub note: Option<String>,
}

/// A signed cooperation agreement.
#[derive(Debug, Clone, Default, PartialEq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct Agreement {
    /// Rights of the partner (权益).
    pub rights: String,
    /// Responsibilities (责任).
    pub responsibilities: String,
    /// Cooperation plan (合作计划).
    pub plan: String,
    /// Term start.
    pub term_start: Millis,
    /// Term end.
    pub term_end: Millis,
    /// Product lines the agreement authorises (empty = all of the channel's lines).
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub products: Vec<String>,
    /// When signed; `None` while a draft.
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub signed_at: Option<Millis>,
    /// User ID.
    pub by: String,
}

/// An exclusive territory grant.
#[derive(Debug, Clone, Default, PartialEq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct Territory {
    /// Region.
    pub region: String,
    /// Product line.
    pub product_line: String,
    /// Start of the term.
    pub start: Millis,
    /// End of the term.
    pub end: Millis,
    /// Whether exclusive.
    pub exclusive: bool,
    /// User ID who granted it.
    pub by: String,
    /// When granted.
    pub at: Millis,
}

/// A periodic performance assessment.
#[derive(Debug, Clone, Default, PartialEq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct Assessment {
    /// Period, e.g. `2026-Q3`.
    pub period: String,
    /// Score 0 to 100.
    pub score: i64,
    /// Compliance remark.
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub note: Option<String>,
    /// User ID.
    pub by: String,
    /// When.
    pub at: Millis,
}

/// A selling price the partner reported for a product.
#[derive(Debug, Clone, Default, PartialEq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct PriceReport {
    /// Product SKU.
    pub product: String,
    /// Price per unit, fen.
    pub price: Fen,
    /// When observed.
    pub at: Millis,
    /// User ID.
    pub by: String,
}
