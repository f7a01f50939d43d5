//! What people did about a rule finding: acknowledged it (with a note) or waived it (with
//! a reason and an end date). Stored in the document the finding is about, under
//! `finding_states/<finding key>`, as a fresh object per action (so its Automerge author
//! is the person who acted, and two concurrent actions show as two values of one key).
//!
//! The policy engine decides what a state is worth from who wrote it (the Automerge
//! actor, mapped through the roster), never from `by`, which only records who the
//! writing device claimed.

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};

use crate::Millis;
use crate::vocab::FindingMark;

/// The map of finding states in a customer file, a channel record or the sales document.
pub const FINDING_STATES: &str = "finding_states";

/// One acknowledgement or waiver of a finding.
#[derive(Debug, Clone, PartialEq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct FindingState {
    /// Acknowledged or waived.
    pub state: FindingMark,
    /// The finding's rule ID (`CUST-KEY-VISIT`), for listing it once it no longer fires.
    pub rule: String,
    /// `violation` or `warning`, as the finding was when acted on.
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub severity: Option<String>,
    /// The documents the finding is about.
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub doc_ids: Vec<String>,
    /// The entity inside the document (`complaints/ab12…`), if any.
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub entity: Option<String>,
    /// The finding's message in Chinese when acted on (at most 500 characters).
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub message_zh: Option<String>,
    /// The finding's message in English when acted on (at most 500 characters).
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub message_en: Option<String>,
    /// The acknowledgement's note.
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub note: Option<String>,
    /// Why it is waived.
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub reason: Option<String>,
    /// The waiver's end (UTC ms): from then on the finding is open again.
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub until: Option<Millis>,
    /// User ID, as recorded by the writing device.
    pub by: String,
    /// When.
    pub at: Millis,
}
