//! The sync session: a state machine with messages and host effects in and out, no IO.
//!
//! This module holds the public types and the entry points; `receive` checks and acts on
//! the peer's messages, `send` answers loaded documents and builds this side's messages.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use automerge::{ActorId, ChangeHash};
use fieldcrm_model::{DocId, Signature};

use crate::clock::Clock;
use crate::recon::{self, Items, LEAF_ITEMS, RawId};
use crate::scope::Scope;
use crate::wire::{self, RangeBody, RangePart, Turn};
use crate::{HostError, SyncError};

/// A loaded document: its stored bytes and the signatures of its changes.
pub(super) type Loaded = (Vec<u8>, Vec<(ChangeHash, Signature)>);

/// Most actors a peer may introduce in one session.
pub(super) const MAX_ACTORS: usize = 1 << 20;

/// Most documents a side names as changed since its last sync with the peer (24 bytes
/// each). With more, it names none and the ranges find them.
pub const MAX_NAMED: usize = 16_384;

/// Which end of the connection this session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionRole {
    /// Dialed the peer; sends the first message.
    Initiator,
    /// Accepted the connection; answers the first message.
    Responder,
}

/// An opaque handle pairing an effect with its completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ticket(pub u64);

/// Something the session asks its driver to do.
#[derive(Debug)]
pub enum Output {
    /// Send this frame to the peer, in order, as one transport message.
    Send(Vec<u8>),
    /// Load these documents and call [`Session::loaded`] with the ticket.
    Load {
        /// Pass back to [`Session::loaded`].
        ticket: Ticket,
        /// The documents to load.
        ids: Vec<DocId>,
    },
    /// Durably apply received data to these documents, all in one transaction, then call
    /// [`Session::saved`] with the ticket. Saves must commit in the order they are emitted.
    Save {
        /// Pass back to [`Session::saved`].
        ticket: Ticket,
        /// What to apply.
        docs: Vec<SaveDoc>,
    },
}

/// Received data for one document, already parsed and checked against the scope.
#[derive(Debug, Clone)]
pub struct SaveDoc {
    /// The document.
    pub id: DocId,
    /// Automerge chunks (a saved document, or change chunks in causal order). Apply with
    /// `Automerge::load_incremental` to the stored document, or `Automerge::load` for a
    /// document not held yet.
    pub data: Vec<u8>,
    /// The verified signature of every change in `data`: store them beside the changes.
    pub sigs: Vec<(ChangeHash, Signature)>,
    /// For a whole saved document: its heads. A host that does not hold the document may
    /// store `data` and these heads as they are, without parsing the document again.
    pub whole_heads: Option<Vec<ChangeHash>>,
    /// For a whole document this side did not hold, accepted whole: `data` as the
    /// session loaded it to judge it, with its summary.
    pub loaded: Option<Box<JudgedDoc>>,
}

/// A document a host loaded for [`Session::loaded`].
#[derive(Debug, Clone)]
pub struct LoadedDoc {
    /// The document.
    pub id: DocId,
    /// Its stored bytes (anything `Automerge::load` reads), or `None` if it is gone.
    pub bytes: Option<Vec<u8>>,
    /// The signatures of its changes (sent with them).
    pub sigs: Vec<(ChangeHash, Signature)>,
}

/// Where a session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Still exchanging messages or waiting for the host.
    Running,
    /// Both sides agree there is nothing left to exchange; everything received is saved.
    Finished,
    /// Ended with an error (see [`Session::error`]).
    Failed,
}

/// Counters for one session.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Report {
    /// Frames sent.
    pub messages_sent: u64,
    /// Frames received.
    pub messages_received: u64,
    /// Bytes sent (frame payloads; transport framing excluded).
    pub bytes_sent: u64,
    /// Bytes received.
    pub bytes_received: u64,
    /// Turns this side took (a turn is one or more messages answering the peer's turn).
    pub turns_sent: u64,
    /// Documents whose changes (or whole content) this side sent.
    pub docs_sent: u64,
    /// Bytes of Automerge data this side sent (inside `bytes_sent`).
    pub automerge_bytes_sent: u64,
    /// Documents received and durably saved.
    pub docs_saved: u64,
    /// Documents the peer confirmed it durably saved.
    pub docs_acked: u64,
    /// Documents this side refused from the peer, with the reason sent to it.
    pub refused_here: Vec<(DocId, String)>,
    /// Documents this side could not send, with their size: the whole document (for a
    /// peer that lacks it) or one of its changes is larger than a message
    /// ([`MAX_MESSAGE_SIZE`](crate::MAX_MESSAGE_SIZE)). They stay on this device;
    /// every other document synced.
    pub too_large: Vec<(DocId, usize)>,
    /// Documents the peer refused, with its reason.
    pub refused_by_peer: Vec<(DocId, String)>,
    /// Single changes this side refused (bad signature, author not allowed, or depending
    /// on such a change); the other changes of the document were saved.
    pub refused_changes: Vec<RefusedChange>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for (more of) the peer's turn.
    TheirTurn,
    /// The peer's turn is complete; answering it once loads and saves are done.
    MyTurn,
    Finished,
    Failed,
}

/// What to do with a local document once it is loaded.
#[derive(Debug, Default)]
struct Work {
    /// The peer has none of it: send it whole.
    push_whole: bool,
    /// Send our clock (the peer's version differs and we do not know it yet).
    send_clock: bool,
    /// The peer's clock and whether it wants our changes.
    answer: Option<(Clock, bool)>,
}

/// One sync session with one peer.
///
/// Create it with the local index, feed it what arrives ([`receive`](Self::receive),
/// [`loaded`](Self::loaded), [`saved`](Self::saved), [`closed`](Self::closed)) and carry
/// out what [`poll_output`](Self::poll_output) returns, until [`status`](Self::status) is
/// no longer [`Status::Running`]. See the crate documentation for the protocol.
pub struct Session<S> {
    role: SessionRole,
    workspace: String,
    scope: S,
    items: Items,
    /// The items range reconciliation runs over: all of them, or, once the named
    /// documents are exchanged, all but the documents either side named.
    recon: Items,
    /// What this side names (sorted): its shared documents changed since its last
    /// finished sync with this peer, as the host said.
    named: Vec<(RawId, u64)>,
    phase: Phase,
    send_seq: u64,
    recv_seq: u64,
    hello_sent: bool,
    hello_received: bool,
    out: Turn,
    out_size: usize,
    my_turn_content: bool,
    their_turn_content: bool,
    my_actors: HashMap<ActorId, u64>,
    their_actors: Vec<ActorId>,
    work: BTreeMap<RawId, Work>,
    load_queue: VecDeque<RawId>,
    loads: HashMap<u64, Vec<RawId>>,
    /// Saves emitted and not yet done: the documents of each.
    saves: HashMap<u64, Vec<RawId>>,
    /// Messages received whose judging waits for a save still in flight (see
    /// [`Session::awaits_peer`]), in the order they came.
    waiting: VecDeque<Turn>,
    clock_sent: HashSet<RawId>,
    saved_this_turn: u64,
    outputs: VecDeque<Output>,
    report: Report,
    error: Option<SyncError>,
    next_ticket: u64,
}

impl<S: Scope> Session<S> {
    /// Start a session in workspace `workspace_id` with the local `index`: every held
    /// document and its current heads (the cheap summary index, not the documents).
    ///
    /// The index is filtered through `scope` ([`Scope::shares`]) once, here. An initiator
    /// queues its first message at once.
    pub fn new(
        role: SessionRole,
        workspace_id: impl Into<String>,
        scope: S,
        index: impl IntoIterator<Item = (DocId, Vec<ChangeHash>)>,
    ) -> Self {
        let items = Items::build(&scope, index);
        Self::with_items(role, workspace_id, scope, items)
    }

    /// [`Session::new`] with the shared documents already known: `items` must be what
    /// [`Items::build`] makes of the local index through `scope` (a host keeps them
    /// between sessions and patches them with what changed since).
    pub fn with_items(
        role: SessionRole,
        workspace_id: impl Into<String>,
        scope: S,
        items: Items,
    ) -> Self {
        Self::with_recent(role, workspace_id, scope, items, Vec::new())
    }

    /// [`Session::with_items`] naming `recent` to the peer: the documents this side
    /// changed (or received from others) since its last finished sync with this peer.
    /// Each side names its own in its first message (24 bytes a document); if anything
    /// differs, ranges are reconciled over the other documents only, so that when the
    /// names are right a few changed documents cost no range splitting. A wrong or
    /// missing name costs only bytes: the ranges still find every difference. Documents
    /// not shared with the peer are not named; past [`MAX_NAMED`], none are.
    pub fn with_recent(
        role: SessionRole,
        workspace_id: impl Into<String>,
        scope: S,
        items: Items,
        recent: Vec<DocId>,
    ) -> Self {
        let mut named: Vec<(RawId, u64)> = if recent.len() > MAX_NAMED {
            Vec::new()
        } else {
            recent
                .iter()
                .filter_map(|id| {
                    let raw = recon::raw_id(id);
                    Some((raw, items.0.hash_of(&raw)?))
                })
                .collect()
        };
        named.sort_unstable();
        named.dedup_by_key(|(id, _)| *id);
        let mut s = Session {
            role,
            workspace: workspace_id.into(),
            scope,
            recon: items.clone(),
            items,
            named,
            phase: Phase::TheirTurn,
            send_seq: 0,
            recv_seq: 0,
            hello_sent: false,
            hello_received: false,
            out: Turn::default(),
            out_size: 0,
            my_turn_content: false,
            their_turn_content: false,
            my_actors: HashMap::new(),
            their_actors: Vec::new(),
            work: BTreeMap::new(),
            load_queue: VecDeque::new(),
            loads: HashMap::new(),
            saves: HashMap::new(),
            waiting: VecDeque::new(),
            clock_sent: HashSet::new(),
            saved_this_turn: 0,
            outputs: VecDeque::new(),
            report: Report::default(),
            error: None,
            next_ticket: 0,
        };
        if role == SessionRole::Initiator {
            // Open with the root already split: 96 bytes more than a single fingerprint
            // when nothing changed, one round trip less whenever something did.
            if !s.named.is_empty() {
                s.push_named();
            }
            s.push_range(s.root_range());
            s.finish_turn();
        }
        s
    }

    /// The whole ID space of the reconciled items: split, or listed when small.
    pub(super) fn root_range(&self) -> RangePart {
        let n = self.recon.0.len();
        let body = if n <= LEAF_ITEMS {
            RangeBody::Items(self.recon.0.hashes(0, n).to_vec())
        } else {
            RangeBody::Split(Box::new(
                self.recon.0.split(0, 0).map(|f| f & wire::SPLIT_FP_MASK),
            ))
        };
        RangePart {
            depth: 0,
            prefix: 0,
            body,
        }
    }

    /// The next thing to do, if any. Call until `None` after every input.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// Where the session stands.
    pub fn status(&self) -> Status {
        match self.phase {
            Phase::Finished => Status::Finished,
            Phase::Failed => Status::Failed,
            _ => Status::Running,
        }
    }

    /// Why the session failed.
    pub fn error(&self) -> Option<&SyncError> {
        self.error.as_ref()
    }

    /// Counters so far.
    pub fn report(&self) -> &Report {
        &self.report
    }

    /// Which end this session is.
    pub fn role(&self) -> SessionRole {
        self.role
    }

    /// The transport closed. A session that has not finished fails with
    /// [`SyncError::Closed`]; what was saved stays saved, and the next session finds the
    /// remaining differences.
    pub fn closed(&mut self) {
        if self.phase == Phase::TheirTurn || self.phase == Phase::MyTurn {
            self.fail(SyncError::Closed, false);
        }
    }

    /// A frame arrived from the peer.
    pub fn receive(&mut self, frame: &[u8]) {
        if matches!(self.phase, Phase::Finished | Phase::Failed) {
            return;
        }
        self.report.messages_received += 1;
        self.report.bytes_received += frame.len() as u64;
        if let Err((e, tell)) = self.try_receive(frame) {
            self.fail(e, tell);
        }
    }

    /// The host finished an [`Output::Load`].
    pub fn loaded(&mut self, ticket: Ticket, result: Result<Vec<LoadedDoc>, HostError>) {
        let Some(ids) = self.loads.remove(&ticket.0) else {
            return;
        };
        if matches!(self.phase, Phase::Finished | Phase::Failed) {
            return;
        }
        let docs = match result {
            Ok(d) => d,
            Err(e) => return self.fail(SyncError::Host(e), true),
        };
        let mut by_id: HashMap<RawId, Loaded> = docs
            .into_iter()
            .filter_map(|d| Some((recon::raw_id(&d.id), (d.bytes?, d.sigs))))
            .collect();
        for id in ids {
            let loaded = by_id.remove(&id);
            if let Err(e) = self.do_work(id, loaded) {
                return self.fail(e, true);
            }
        }
        self.progress();
    }

    /// The host finished an [`Output::Save`]: with `Ok`, every document in it is durably
    /// committed, and the peer will be told so.
    pub fn saved(&mut self, ticket: Ticket, result: Result<(), HostError>) {
        let Some(ids) = self.saves.remove(&ticket.0) else {
            return;
        };
        if matches!(self.phase, Phase::Finished | Phase::Failed) {
            return;
        }
        if let Err(e) = result {
            return self.fail(SyncError::Host(e), true);
        }
        let count = ids.len() as u64;
        self.saved_this_turn += count;
        self.report.docs_saved += count;
        if let Err((e, tell)) = self.judge_waiting() {
            return self.fail(e, tell);
        }
        self.progress();
    }

    /// Whether the session needs the peer's next message to go on: the peer's turn is
    /// under way and every message received so far is judged. Otherwise it waits for
    /// the host (a load, or a save a received message depends on).
    ///
    /// A host that carries out saves in the background (on another thread, while the
    /// next message is read and judged) reads the transport only when this is true.
    pub fn awaits_peer(&self) -> bool {
        self.phase == Phase::TheirTurn && self.waiting.is_empty()
    }

    // -----------------------------------------------------------------------------------

    fn ticket(&mut self) -> u64 {
        self.next_ticket += 1;
        self.next_ticket
    }

    fn fail(&mut self, err: SyncError, tell_peer: bool) {
        if tell_peer {
            let frame = wire::encode_error(err.code(), &err.to_string());
            self.report.messages_sent += 1;
            self.report.bytes_sent += frame.len() as u64;
            self.outputs.push_back(Output::Send(frame));
        }
        self.phase = Phase::Failed;
        self.error = Some(err);
        self.work.clear();
        self.load_queue.clear();
    }
}

mod receive;
mod send;
mod verify;

pub use verify::{Judged, JudgedDoc, Part, RefusedChange, judge, reason_zh, without_changes};
#[cfg(test)]
mod tests;

/// A host that carries out effects synchronously: a store behind a blocking call, or the
/// in-memory host of the tests.
pub trait Host {
    /// Load documents (see [`Output::Load`]); a document that is gone is `None`.
    fn load(&mut self, ids: &[DocId]) -> Result<Vec<LoadedDoc>, HostError>;
    /// Apply and durably commit received data in one transaction (see [`Output::Save`]).
    fn save(&mut self, docs: Vec<SaveDoc>) -> Result<(), HostError>;
    /// What saves the same way as [`Host::save`] on another thread, for a driver that
    /// saves in the background while it reads and judges the next messages (see
    /// [`Session::awaits_peer`]); the driver calls it once, and it is called in the order
    /// the saves are emitted. `None` (the default): saves run on [`Host::save`].
    fn saver(&mut self) -> Option<Saver> {
        None
    }
}

/// A [`Host::saver`]: applies and durably commits one [`Output::Save`], as
/// [`Host::save`] does.
pub type Saver = Box<dyn FnMut(Vec<SaveDoc>) -> Result<(), HostError> + Send>;

impl<S: Scope> Session<S> {
    /// Carry out every pending effect on a synchronous host, returning the frames to send
    /// in order. Loops until the session asks for nothing but sending.
    pub fn run_host(&mut self, host: &mut impl Host) -> Vec<Vec<u8>> {
        self.run_host_until(host, false)
    }

    /// Carry out pending effects on a synchronous host until frames are ready to send,
    /// returning them; [`Session::has_output`] then says whether more is pending. A
    /// driver sends each batch before asking for the next, so the peer works on the first
    /// message while this side loads the documents of the next: a first sync of 100,000
    /// documents used to be loaded and encoded whole (seconds, and every message in
    /// memory at once) before the first message left.
    pub fn run_host_step(&mut self, host: &mut impl Host) -> Vec<Vec<u8>> {
        self.run_host_until(host, true)
    }

    /// Whether effects are pending (after [`Session::run_host_step`]): the driver runs
    /// the host again before it waits for the peer.
    pub fn has_output(&self) -> bool {
        !self.outputs.is_empty()
    }

    fn run_host_until(&mut self, host: &mut impl Host, at_frame: bool) -> Vec<Vec<u8>> {
        let mut frames = Vec::new();
        while let Some(out) = self.poll_output() {
            match out {
                Output::Send(f) => {
                    frames.push(f);
                    if at_frame && !matches!(self.outputs.front(), Some(Output::Send(_))) {
                        break;
                    }
                }
                Output::Load { ticket, ids } => {
                    let r = host.load(&ids);
                    self.loaded(ticket, r);
                }
                Output::Save { ticket, docs } => {
                    let r = host.save(docs);
                    self.saved(ticket, r);
                }
            }
        }
        frames
    }
}
