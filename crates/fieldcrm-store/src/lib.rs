//! The fieldcrm workspace store: every Automerge document of a workspace, its heads and a
//! summary-index row, in one redb file on the rep's device.
//!
//! ```
//! # fn main() -> Result<(), fieldcrm_store::Error> {
//! use fieldcrm_model::{Customer, DeviceKey, DocId, Document};
//! use fieldcrm_store::{Filter, Store};
//!
//! # let dir = tempfile::tempdir().unwrap();
//! # let path = dir.path().join("workspace.fieldcrm");
//! let device = DeviceKey([7; 32]);
//! let store = Store::create(&path)?;
//! let mut doc = Document::create(DocId::random(), &device, 0, &Customer::new("华东机械", 0), "new")
//!     .expect("valid customer");
//! store.save(&mut doc)?; // durable when it returns
//! let id = store.resolve(None, doc.id().short())?; // the 8-character short ID
//! let rows = store.list(&Filter::default().name_contains("华东"))?;
//! assert_eq!(rows[0].id, id);
//! let again = store.load(&id, &device).expect("stored");
//! assert_eq!(again.id(), &id);
//! # Ok(()) }
//! ```
//!
//! # File format (version 1)
//!
//! One redb file per workspace. Every table name carries its version:
//!
//! | table | key | value |
//! |---|---|---|
//! | `meta-v1` | `&str` | bytes: the file-format marker (`fieldcrm.store.format` = `fieldcrm-store`), its version (`fieldcrm.store.format-version` = `2`), and the upper layers' keys (workspace ID, device key, settings, per-peer sync state) |
//! | `docs-v1` | doc ID | the last compacted snapshot (`Automerge::save`) |
//! | `changes-v1` | (doc ID, sequence) | changes appended since that snapshot (`save_after(stored heads)`) |
//! | `state-v1` | doc ID | heads, next sequence number, pending change count and bytes (see `codec.rs`) |
//! | `index-v1` | doc ID | the [`Summary`](fieldcrm_model::Summary) row, compact binary |
//! | `names-v2` | (name, doc ID) | the document's `index-v1` row again: exact-name lookup for [`Store::resolve`], and listings in name order read in order ([`Store::list_by_name_ends`]); built from `index-v1` when a version-1 store (whose `names-v1` held nothing) is opened |
//! | `sigs-v1` | (doc ID, change hash) | the 64-byte ed25519 signature of that change by the device that made it (see `fieldcrm_model::sig`) |
//! | `derived-v1` | doc ID | values computed from the document at given heads (a cache) |
//! | `changelog-v1` | (generation, doc ID) | the document's heads before that generation's transaction wrote or removed it (see `log.rs`, [`Store::changed_since`]) |
//!
//! A document's bytes are its snapshot followed by its change rows in sequence order;
//! Automerge loads that concatenation in one call. A save appends one change row; when the
//! pending rows pass [`StoreOptions::compact_after_changes`] or
//! [`StoreOptions::compact_after_bytes`], the same transaction writes a fresh snapshot and
//! deletes the rows, so no crash can lose a change.
//!
//! Architecture invariants:
//! - Every public function that returns `Ok` after writing has committed a redb transaction
//!   with `Durability::Immediate`; a failed call has written nothing.
//! - Listing, filtering and resolving read only `index-v1` and `names-v2`; they never load
//!   a document.
//! - The store never reads the clock; times come from the documents' change metadata.
//! - [`Store::backup_to`] copies every table as of one read transaction into a new file
//!   while writes go on; a table it does not know makes it fail rather than copy less.
//! - One `redb::Database` per file per process: [`Store::open`] of a file this process has
//!   open returns another handle to the same database.
#![deny(missing_docs)]

mod backup;
mod blobs;
mod codec;
mod derived;
mod docs;
mod error;
mod index;
mod log;
mod stats;
mod store;

pub use backup::{BackupError, BackupStats, StoreSnapshot};
pub use codec::SummaryRef;
pub use docs::{Applied, DocStorage, NewDoc, Received, Signed};
pub use error::{
    ApplyError, Candidate, DamagedRow, DbError, Error, ListError, LoadError, MetaError, OpenError,
    ResolveError, SaveError,
};
pub use index::{Filter, Listed, Tombstones};
pub use log::{AllHeads, Changed, ChangedDoc};
pub use stats::TableSize;
pub use store::{FORMAT_VERSION, RESERVED_META_PREFIX, Store, StoreOptions};

/// Fewest hex characters accepted as an ID prefix by [`Store::resolve`].
pub const MIN_PREFIX: usize = 4;
