//! The fieldcrm sync protocol: many Automerge documents between two peers, costing in
//! proportion to what changed, not to how many documents exist.
//!
//! Architecture invariant: this crate does no IO, spawns nothing, reads no clock and knows
//! nothing of iroh, WebSockets or redb. A [`Session`] takes messages and host results in
//! and returns messages and host effects out, so the same code runs over iroh, over a
//! WebSocket and on the simulated network of the tests (samod-core's shape).
//!
//! # Driving a session
//!
//! ```text
//! let mut s = Session::new(SessionRole::Initiator, workspace_id, scope, store.index());
//! loop {
//!     while let Some(out) = s.poll_output() {
//!         match out {
//!             Output::Send(frame) => transport.send(frame),          // one message each
//!             Output::Load { ticket, ids } => s.loaded(ticket, store.load(&ids)),
//!             Output::Save { ticket, docs } => s.saved(ticket, store.commit(docs)),
//!         }
//!     }
//!     if s.status() != Status::Running { break }
//!     match transport.recv() { Some(frame) => s.receive(&frame), None => s.closed() }
//! }
//! ```
//!
//! Loads and saves may complete later and in any interleaving with received frames; a
//! synchronous host can implement [`Host`] and use [`Session::run_host`]. The transport
//! frames messages (a length prefix on an iroh stream, one binary WebSocket message) and
//! must refuse anything longer than [`MAX_MESSAGE_SIZE`] before buffering it. On iroh the
//! connection's ALPN is [`ALPN`]; the transport maps the peer's device key to a user and
//! builds its [`Scope`]. Idle timeouts belong to the transport; a session that is dropped
//! midway loses nothing saved, and the next one finds the remaining differences.
//!
//! # Protocol
//!
//! Turns strictly alternate; a turn is one or more messages (all but the last flagged
//! "more"). Each side's first message carries a hello with the workspace ID; a peer from
//! another workspace or speaking another version is refused with an error frame.
//!
//! 1. **Set reconciliation.** Each side's items are (document ID, 64-bit hash of its
//!    heads) for the documents it shares with the peer; a range's fingerprint is the sum of
//!    its item hashes. The initiator opens with the fingerprints of the 16 ranges of the ID
//!    space (first hex digit). A side receiving a fingerprint that differs from its own
//!    answers with the 16 fingerprints of the sub-ranges (next hex digit), or, for a range
//!    of at most 16 items, the list of its item hashes; an empty range on the other side
//!    (fingerprint 0) means "send all of it". Nothing changed costs one round trip and
//!    about 200 bytes, whatever the number of documents. Each level of splitting costs one message; the depth grows with
//!    log16 of the number of documents, not with the number that changed.
//!
//!    **Named documents.** A host that knows what it changed since its last finished
//!    session with this peer (its change log) names those documents with their item
//!    hashes in its first message ([`Session::with_recent`], 24 bytes each). When the
//!    responder's items differ from the initiator's at the root and either side named
//!    something, the responder answers with its own names and the root of the documents
//!    neither side named, instead of splitting the whole root; from then on both sides
//!    reconcile ranges over those documents only, and compare each named document
//!    directly (one that differs gets a clock, one not held is asked for whole). With
//!    right names a few changes in many documents cost no range splitting (which costs
//!    about 100 bytes a changed document once changes are spread across the ranges);
//!    a wrong or missing name costs only bytes, since the ranges still cover everything
//!    not named.
//! 2. **Documents.** Comparing an item list with its own items, a side answers with the
//!    positions in the list that matched nothing (the peer then sends those documents whole,
//!    unless a clock tells it what is missing) and sends its vector clock (`actor → highest
//!    seq`, actors as indexes into a per-session table) for each of its own unmatched
//!    documents. The other side answers a clock with exactly the changes it lacks, plus its
//!    own clock if it lacks something in return; a side asked about a document it does
//!    not hold asks for all of it. All differing documents travel in the same turns, so
//!    round trips do not grow with the number of changed documents.
//! 3. **Acknowledgement.** Received data is checked (parsed, scope-checked) before the
//!    host is asked to save it, and the turn that answers it is sent only after the host
//!    committed; it carries the count of documents saved and the reasons for any refused.
//!
//! The session ends when one side's turn asks nothing (no ranges, clocks or changes).
//!
//! # Choices
//!
//! - **Not Automerge's sync messages.** `generate_sync_message` needs per-peer, per-document
//!   state and, without it, sends heads plus a Bloom filter of every change, then needs
//!   another round for the answer: two messages and tens of bytes per document per
//!   reconnect, and round trips per document unless batched. Clocks are exact (no false
//!   positives, no extra round), need no stored per-peer state, and `get_changes` with the
//!   hashes at the shared clock returns exactly the missing changes. Changes travel as
//!   Automerge change chunks (`Change::bytes`, compressed when large), a document the peer
//!   lacks as the host's saved bytes (the compact document format).
//! - **Ranges by ID prefix.** Document IDs are random, so splitting by hex digit keeps
//!   ranges balanced and a range needs no bounds on the wire. A range 16 digits deep is
//!   always listed, so crafted IDs cannot force deep recursion.
//! - **Small items.** Item lists carry only 8-byte hashes of (ID, heads); the answer names
//!   unmatched positions. The side that does not know which of its documents the peer
//!   lacks sends clocks; a clock for a document the peer lacks costs one extra round trip
//!   for that document's whole content, paid only for documents new on that side.
//!   Split fingerprints are 48 bits (a missed difference needs a 2^-48 collision).
//!
//! Every change travels with its author's signature and is judged on arrival by
//! [`judge`]: the signature, then the [`Scope`] (see [`RosterScope`]), then everything
//! depending on a refused change; a relaying peer cannot forge authors.
//!
//! What is not here yet: resumable transfer of a single huge document, and compaction
//! of what is sent (documents are sent as stored).
#![deny(missing_docs)]

mod chain;
mod clock;
mod enrolment;
mod recon;
pub mod scope;
mod session;
#[cfg(any(test, feature = "test-support"))]
pub mod sim;
mod wire;

pub use recon::Items;
pub use scope::{
    ChangeInfo, Content, DocLoader, Incoming, RosterLoader, RosterScope, Scope, Unrestricted,
    author_refusal,
};
pub use session::{
    Host, Judged, JudgedDoc, LoadedDoc, MAX_NAMED, Output, Part, RefusedChange, Report, SaveDoc,
    Saver, Session, SessionRole, Status, Ticket, judge, reason_zh, without_changes,
};

/// The iroh ALPN of this protocol version.
pub const ALPN: &[u8] = b"fieldcrm/sync/3";

/// The protocol version in the first byte of every frame.
pub const PROTOCOL_VERSION: u8 = 3;

/// The largest frame a session sends or accepts (16 MiB).
pub const MAX_MESSAGE_SIZE: usize = 16 << 20;

/// Messages are cut at about this size; a turn may span many messages (1 MiB).
pub const TARGET_MESSAGE_SIZE: usize = 1 << 20;

/// A host (store) operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct HostError(pub String);

/// Why a message could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// An empty frame.
    #[error("empty message")]
    Empty,
    /// The message ended early.
    #[error("message truncated in {what}")]
    Truncated {
        /// The field being read.
        what: &'static str,
    },
    /// A varint is too long or not canonical.
    #[error("bad number in {what}")]
    BadVarint {
        /// The field being read.
        what: &'static str,
    },
    /// A text or ID longer than allowed.
    #[error("{what} too long")]
    TooLong {
        /// The field being read.
        what: &'static str,
    },
    /// Text that is not UTF-8.
    #[error("{what} is not UTF-8")]
    NotUtf8 {
        /// The field being read.
        what: &'static str,
    },
    /// An unknown frame kind.
    #[error("unknown message kind {kind}")]
    UnknownKind {
        /// The kind byte.
        kind: u8,
    },
    /// An unknown part kind.
    #[error("unknown {what} kind {kind}")]
    UnknownPart {
        /// Which part.
        what: &'static str,
        /// The kind byte.
        kind: u8,
    },
    /// Unknown flag bits.
    #[error("unknown flags {flags:#04x}")]
    BadFlags {
        /// The flags byte.
        flags: u8,
    },
    /// A range deeper than an ID or with a prefix too long for its depth.
    #[error("bad range")]
    BadRange,
    /// Bytes after the end of the message.
    #[error("{count} bytes after the end of the message")]
    TrailingBytes {
        /// How many.
        count: usize,
    },
}

/// Why a session ended early.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    /// The peer speaks another protocol version.
    #[error(
        "the peer speaks fieldcrm/sync/{theirs}, this device fieldcrm/sync/{ours}: update the older fieldcrm"
    )]
    VersionMismatch {
        /// Our version.
        ours: u8,
        /// The version in the peer's message.
        theirs: u8,
    },
    /// The peer belongs to another workspace.
    #[error("the peer belongs to workspace `{theirs}`, not `{ours}`")]
    WorkspaceMismatch {
        /// Our workspace ID.
        ours: String,
        /// The peer's workspace ID.
        theirs: String,
    },
    /// A message larger than [`MAX_MESSAGE_SIZE`].
    #[error("message of {size} bytes exceeds the limit of {max} bytes")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// A message that does not decode.
    #[error("malformed message: {0}")]
    Malformed(#[from] DecodeError),
    /// A well-formed message that breaks the protocol.
    #[error("protocol violation: {0}")]
    Protocol(String),
    /// The peer ended the session with this error.
    #[error("the peer refused: {message}")]
    Rejected {
        /// The peer's explanation.
        message: String,
    },
    /// The store failed.
    #[error("local store: {0}")]
    Host(HostError),
    /// The transport closed before the session finished.
    #[error("the connection closed before sync finished")]
    Closed,
}

impl SyncError {
    /// The code sent in an error frame.
    fn code(&self) -> u8 {
        match self {
            SyncError::VersionMismatch { .. } => 1,
            SyncError::WorkspaceMismatch { .. } => 2,
            SyncError::TooLarge { .. } => 4,
            SyncError::Malformed(_) | SyncError::Protocol(_) => 3,
            _ => 5,
        }
    }
}
