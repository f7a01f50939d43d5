//! The customer file (客户档案): one Automerge document per customer.

use std::collections::BTreeMap;

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};

use crate::vocab::{
    CustomerClass, GiftDirection, GiftKind, InteractionKind, ReviewResult, Severity, Stage,
};
use crate::{Fen, Millis};

/// A customer file. Collections are maps keyed by generated entity IDs.
#[derive(Debug, Clone, Default, PartialEq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct Customer {
    /// Always `"customer"`.
    pub kind: String,
    /// Schema version the document was written with.
    pub schema_version: u64,
    /// Company name (Chinese text welcome).
    pub name: String,
    /// 统一社会信用代码 (unified social credit code), optional.
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub credit_code: Option<String>,
    /// Industry.
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub industry: Option<String>,
    /// Sales region.
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub region: Option<String>,
    /// Street address.
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub address: Option<String>,
    /// Customer class.
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub class: Option<CustomerClass>,
    /// A manager's approval of a class that does not meet the criteria.
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub class_exception: Option<Approval>,
    /// Annual business value, fen.
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub annual_value: Option<Fen>,
    /// Owning user ID.
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub owner: Option<String>,
    /// Team name.
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub team: Option<String>,
    /// When the file was created.
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub created_at: Millis,
    /// Set when this file was merged into another (a tombstone): the survivor's doc ID.
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub merged_into: Option<String>,
    /// Set when the file was archived (a record made by mistake, a customer gone): who,
    /// when, why. Archived files are out of lists and rules until a manager restores them.
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub archived: Option<Note>,
    /// Contacts.
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub contacts: BTreeMap<String, Contact>,
    /// Visits, calls, emails, meetings.
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub interactions: BTreeMap<String, Interaction>,
    /// Complaints.
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub complaints: BTreeMap<String, Complaint>,
    /// Satisfaction surveys.
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub surveys: BTreeMap<String, Survey>,
    /// Development plan (客户发展计划).
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub plan: Option<Plan>,
    /// Sales opportunities.
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub opportunities: BTreeMap<String, Opportunity>,
    /// Quotes.
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub quotes: BTreeMap<String, Quote>,
    /// Contracts.
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub contracts: BTreeMap<String, Contract>,
    /// Orders.
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub orders: BTreeMap<String, Order>,
    /// Gifts, hospitality and payments.
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub gifts: BTreeMap<String, Gift>,
    /// What people did about rule findings on this document, by finding key.
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub finding_states: BTreeMap<String, crate::FindingState>,
    /// Records removed from the file (made by mistake), keyed `collection/entity-id`:
    /// who, when, why. The entry itself stays in the document (a concurrent edit to it
    /// is kept, and a manager can restore it); lists, pages and rules leave it out.
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub removed: BTreeMap<String, Note>,
}

/// The collections whose records only a holder of
/// [`crate::Authority::RemoveRecord`] may remove: the rules watch them.
pub const GUARDED_COLLECTIONS: &[&str] = &["complaints", "contracts", "orders", "gifts"];

impl Customer {
    /// The owner's user ID, if set and not blank.
    pub fn owner_id(&self) -> Option<&str> {
        self.owner
            .as_deref()
            .map(str::trim)
            .filter(|o| !o.is_empty())
    }

    /// Whether the record `id` of `collection` was removed.
    pub fn is_removed(&self, collection: &str, id: &str) -> bool {
        self.removed.contains_key(&format!("{collection}/{id}"))
    }

    /// The file as lists, pages and rules see it: without its removed records.
    pub fn without_removed(mut self) -> Customer {
        if self.removed.is_empty() {
            return self;
        }
        let removed = std::mem::take(&mut self.removed);
        for key in removed.keys() {
            let Some((collection, id)) = key.split_once('/') else {
                continue;
            };
            match collection {
                "contacts" => drop(self.contacts.remove(id)),
                "interactions" => drop(self.interactions.remove(id)),
                "complaints" => drop(self.complaints.remove(id)),
                "surveys" => drop(self.surveys.remove(id)),
                "opportunities" => drop(self.opportunities.remove(id)),
                "quotes" => drop(self.quotes.remove(id)),
                "contracts" => drop(self.contracts.remove(id)),
                "orders" => drop(self.orders.remove(id)),
                "gifts" => drop(self.gifts.remove(id)),
                _ => {}
            }
        }
        self.removed = removed;
        self
    }
}

impl Quote {
    /// Whether the quote was cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.is_some()
    }
}

impl Order {
    /// Whether the order was cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.is_some()
    }
}

impl Customer {
    /// Whether `user` may cancel quote or order `id` (`collection` `quotes` or `orders`) of
    /// this file without [`crate::Authority::CancelRecord`]: it is theirs, on a file they own, and
    /// carries no approval. The application layer and the DATA-AUTHORITY rule both ask this.
    pub fn own_unapproved(&self, collection: &str, id: &str, user: &str) -> bool {
        if self.owner_id() != Some(user) {
            return false;
        }
        match collection {
            "quotes" => self
                .quotes
                .get(id)
                .is_some_and(|q| q.by == user && q.approval.is_none()),
            "orders" => self
                .orders
                .get(id)
                .is_some_and(|o| o.by == user && o.approval.is_none()),
            _ => false,
        }
    }
}

/// The collections of a customer file (map keys at the document root).
pub const CUSTOMER_COLLECTIONS: &[&str] = &[
    "contacts",
    "interactions",
    "complaints",
    "surveys",
    "opportunities",
    "quotes",
    "contracts",
    "orders",
    "gifts",
];

/// An approval or sign-off. The policy engine trusts the Automerge author of the
/// approval object, mapped through the roster, not the `by` field, which records who the
/// writing device claimed.
#[derive(Debug, Clone, Default, PartialEq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct Approval {
    /// User ID of the approver, as recorded by the writing device.
    pub by: String,
    /// When approved.
    pub at: Millis,
    /// Optional remark.
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub note: Option<String>,
    /// The values this sign-off approved (see [`crate::signoff`]): a later change to any
    /// of them voids it.
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub covers: BTreeMap<String, String>,
}

/// A contact person.
#[derive(Debug, Clone, Default, PartialEq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct Contact {
    /// Name.
    pub name: String,
    /// Job title.
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub title: Option<String>,
    /// Phone number.
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub phone: Option<String>,
    /// Email address.
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub email: Option<String>,
    /// When added.
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub created_at: Millis,
}

/// A visit, call, email or meeting.
#[derive(Debug, Clone, PartialEq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct Interaction {
    /// What kind.
    pub kind: InteractionKind,
    /// When it happened.
    pub occurred_at: Millis,
    /// When it was entered into fieldcrm.
    pub recorded_at: Millis,
    /// What was discussed.
    pub summary: String,
    /// User ID of the rep.
    pub by: String,
    /// Contact entity ID, if any.
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub contact: Option<String>,
}

/// A customer complaint and its handling.
#[derive(Debug, Clone, PartialEq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct Complaint {
    /// Normal or major.
    pub severity: Severity,
    /// What the customer complained about.
    pub summary: String,
    /// When received.
    pub opened_at: Millis,
    /// User ID who recorded it.
    pub opened_by: String,
    /// First response to the customer.
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub first_response: Option<Note>,
    /// Report to a manager (向上级汇报).
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub escalation: Option<Escalation>,
    /// Investigation with other departments (major complaints).
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub investigation: Option<Investigation>,
    /// Resolution.
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub resolution: Option<Note>,
    /// When closed.
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub closed_at: Option<Millis>,
}

/// A dated text by a user.
#[derive(Debug, Clone, Default, PartialEq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct Note {
    /// Text.
    pub text: String,
    /// When.
    pub at: Millis,
    /// User ID.
    pub by: String,
}

/// A complaint reported to a manager.
#[derive(Debug, Clone, Default, PartialEq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct Escalation {
    /// User ID of the manager it was reported to.
    pub to: String,
    /// When.
    pub at: Millis,
    /// User ID who escalated.
    pub by: String,
}

/// An investigation of a complaint.
#[derive(Debug, Clone, Default, PartialEq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct Investigation {
    /// Departments involved.
    pub departments: Vec<String>,
    /// Findings.
    pub findings: String,
    /// When.
    pub at: Millis,
    /// User ID.
    pub by: String,
}

/// A satisfaction survey (客户回访).
#[derive(Debug, Clone, Default, PartialEq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct Survey {
    /// Score 1 to 5.
    pub score: i64,
    /// When.
    pub at: Millis,
    /// User ID.
    pub by: String,
    /// Comment.
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub comment: Option<String>,
}

/// A customer development plan (客户发展计划).
#[derive(Debug, Clone, Default, PartialEq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct Plan {
    /// The plan.
    pub text: String,
    /// When it must next be reviewed.
    pub review_at: Millis,
    /// User ID.
    pub by: String,
    /// When set.
    pub at: Millis,
}

/// A sales opportunity.
#[derive(Debug, Clone, PartialEq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct Opportunity {
    /// Title.
    pub title: String,
    /// Stage.
    pub stage: Stage,
    /// Expected amount, fen.
    pub amount: Fen,
    /// Last activity.
    pub last_activity_at: Millis,
    /// When created.
    pub created_at: Millis,
    /// User ID.
    pub by: String,
}

/// A price quote.
#[derive(Debug, Clone, Default, PartialEq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct Quote {
    /// Product SKU.
    pub product: String,
    /// Quantity.
    pub quantity: i64,
    /// List price per unit at quoting time, fen.
    pub list_price: Fen,
    /// Quoted price per unit, fen.
    pub price: Fen,
    /// When.
    pub created_at: Millis,
    /// User ID.
    pub by: String,
    /// Discount approval.
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub approval: Option<Approval>,
    /// Set when the quote was cancelled: who, when, why. A cancelled quote needs no
    /// approval and leaves the inbox; it stays in the file and its history.
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub cancelled: Option<Note>,
}

/// A legal and compliance review.
#[derive(Debug, Clone, PartialEq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct Review {
    /// Passed or failed.
    pub result: ReviewResult,
    /// User ID of the reviewer, as recorded.
    pub by: String,
    /// When.
    pub at: Millis,
    /// Remark.
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub note: Option<String>,
    /// The values this review approved (see [`crate::signoff`]): a later change to any
    /// of them voids it.
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub covers: BTreeMap<String, String>,
}

/// A sales contract.
#[derive(Debug, Clone, Default, PartialEq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct Contract {
    /// Title.
    pub title: String,
    /// Amount, fen.
    pub amount: Fen,
    /// When drafted.
    pub created_at: Millis,
    /// User ID.
    pub by: String,
    /// Legal review.
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub legal_review: Option<Review>,
    /// When signed.
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub signed_at: Option<Millis>,
    /// Archive reference (档案号).
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub archive_ref: Option<String>,
    /// When archived.
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub archived_at: Option<Millis>,
}

/// An order.
#[derive(Debug, Clone, Default, PartialEq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct Order {
    /// Product SKU.
    pub product: String,
    /// Quantity.
    pub quantity: i64,
    /// List price per unit, fen.
    pub list_price: Fen,
    /// Price per unit, fen.
    pub price: Fen,
    /// Channel document ID if sold through a channel partner.
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub channel: Option<String>,
    /// When ordered.
    pub ordered_at: Millis,
    /// Promised delivery date.
    pub promised_at: Millis,
    /// Actual delivery.
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub delivered_at: Option<Millis>,
    /// User ID.
    pub by: String,
    /// Discount approval.
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub approval: Option<Approval>,
    /// Set when the order was cancelled before delivery: who, when, why. A cancelled
    /// order needs no approval, is not due for delivery and counts toward no target.
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub cancelled: Option<Note>,
}

/// A gift, hospitality or payment involving the customer.
#[derive(Debug, Clone, PartialEq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct Gift {
    /// Gift, hospitality or payment.
    pub kind: GiftKind,
    /// Given or received.
    pub direction: GiftDirection,
    /// What.
    pub description: String,
    /// Value, fen.
    pub value: Fen,
    /// When.
    pub at: Millis,
    /// User ID.
    pub by: String,
    /// Declared to the company.
    pub declared: bool,
    /// Manager approval.
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub approval: Option<Approval>,
}
