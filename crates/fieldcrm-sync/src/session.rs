//! The sync session: a state machine with messages and host effects in and out, no IO.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use automerge::{ActorId, ChangeHash};
use fieldcrm_model::{DocId, Document, Summary};

use crate::clock::{self, Clock, Version};
use crate::recon::{self, ItemSet, LEAF_ITEMS, MAX_SPLIT_DEPTH, RawId};
use crate::scope::{Incoming, Scope};
use crate::wire::{self, ChangesPart, ClockPart, Frame, RangeBody, RangePart, Refusal, Turn};
use crate::{
    DecodeError, HostError, MAX_MESSAGE_SIZE, PROTOCOL_VERSION, SyncError, TARGET_MESSAGE_SIZE,
};

/// Documents asked for in one [`Output::Load`].
const LOAD_BATCH: usize = 64;
/// [`Output::Load`] effects outstanding at once: bounds the documents held in memory.
const LOADS_IN_FLIGHT: usize = 4;
/// Most actors a peer may introduce in one session.
const MAX_ACTORS: usize = 1 << 20;

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
    /// For a whole saved document: its heads. A host that does not hold the document may
    /// store `data` and these heads as they are, without parsing the document again.
    pub whole_heads: Option<Vec<ChangeHash>>,
}

/// A document a host loaded for [`Session::loaded`].
#[derive(Debug, Clone)]
pub struct LoadedDoc {
    /// The document.
    pub id: DocId,
    /// Its stored bytes (anything `Automerge::load` reads), or `None` if it is gone.
    pub bytes: Option<Vec<u8>>,
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
    /// Documents the peer refused, with its reason.
    pub refused_by_peer: Vec<(DocId, String)>,
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
    items: ItemSet,
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
    saves: HashMap<u64, u64>,
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
        let items = index
            .into_iter()
            .filter(|(id, _)| scope.shares(id))
            .map(|(id, heads)| {
                let raw = recon::raw_id(&id);
                (raw, recon::item_hash(&raw, &heads))
            })
            .collect();
        let mut s = Session {
            role,
            workspace: workspace_id.into(),
            scope,
            items: ItemSet::new(items),
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
            let n = s.items.len();
            let body = if n <= LEAF_ITEMS {
                RangeBody::Items(s.items.hashes(0, n))
            } else {
                RangeBody::Split(Box::new(
                    s.items.split(0, 0).map(|f| f & wire::SPLIT_FP_MASK),
                ))
            };
            s.push_range(RangePart {
                depth: 0,
                prefix: 0,
                body,
            });
            s.finish_turn();
        }
        s
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
        let mut by_id: HashMap<RawId, Option<Vec<u8>>> = docs
            .into_iter()
            .map(|d| (recon::raw_id(&d.id), d.bytes))
            .collect();
        for id in ids {
            let bytes = by_id.remove(&id).flatten();
            if let Err(e) = self.do_work(id, bytes) {
                return self.fail(e, true);
            }
        }
        self.progress();
    }

    /// The host finished an [`Output::Save`]: with `Ok`, every document in it is durably
    /// committed, and the peer will be told so.
    pub fn saved(&mut self, ticket: Ticket, result: Result<(), HostError>) {
        let Some(count) = self.saves.remove(&ticket.0) else {
            return;
        };
        if matches!(self.phase, Phase::Finished | Phase::Failed) {
            return;
        }
        if let Err(e) = result {
            return self.fail(SyncError::Host(e), true);
        }
        self.saved_this_turn += count;
        self.report.docs_saved += count;
        self.progress();
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

    fn try_receive(&mut self, frame: &[u8]) -> Result<(), (SyncError, bool)> {
        if frame.len() > MAX_MESSAGE_SIZE {
            return Err((
                SyncError::TooLarge {
                    size: frame.len(),
                    max: MAX_MESSAGE_SIZE,
                },
                true,
            ));
        }
        let Some(version) = wire::frame_version(frame) else {
            return Err((SyncError::Malformed(DecodeError::Empty), true));
        };
        if version != PROTOCOL_VERSION {
            // The first two bytes and the error frame are the same in every version.
            if frame.get(1) == Some(&2) && frame.len() >= 3 {
                let message = String::from_utf8_lossy(&frame[3..]).into_owned();
                return Err((SyncError::Rejected { message }, false));
            }
            return Err((
                SyncError::VersionMismatch {
                    ours: PROTOCOL_VERSION,
                    theirs: version,
                },
                true,
            ));
        }
        let turn = match wire::decode(frame).map_err(|e| (SyncError::Malformed(e), true))? {
            Frame::Error { message, .. } => return Err((SyncError::Rejected { message }, false)),
            Frame::Turn(t) => t,
        };
        if self.phase == Phase::MyTurn {
            return Err((
                SyncError::Protocol("a message arrived while it was our turn".into()),
                true,
            ));
        }
        if turn.seq != self.recv_seq {
            return Err((
                SyncError::Protocol(format!(
                    "message {} arrived out of order (expected {})",
                    turn.seq, self.recv_seq
                )),
                true,
            ));
        }
        self.recv_seq += 1;
        match (&turn.hello, self.hello_received) {
            (Some(ws), false) => {
                if *ws != self.workspace {
                    return Err((
                        SyncError::WorkspaceMismatch {
                            ours: self.workspace.clone(),
                            theirs: ws.clone(),
                        },
                        true,
                    ));
                }
                self.hello_received = true;
            }
            (None, false) => {
                return Err((
                    SyncError::Protocol("the first message has no hello".into()),
                    true,
                ));
            }
            (Some(_), true) => {
                return Err((SyncError::Protocol("a second hello".into()), true));
            }
            (None, true) => {}
        }
        let prepared = self.validate(&turn).map_err(|e| (e, true))?;
        self.apply(turn, prepared);
        Ok(())
    }

    /// Check everything in a message before acting on any of it, so that a bad message
    /// changes nothing in the store.
    fn validate(&mut self, turn: &Turn) -> Result<Vec<Prepared>, SyncError> {
        if self.their_actors.len() + turn.actors.len() > MAX_ACTORS {
            return Err(SyncError::Protocol("too many actors".into()));
        }
        let actor_count = (self.their_actors.len() + turn.actors.len()) as u64;
        for c in &turn.clocks {
            if c.clock.iter().any(|(a, _)| *a >= actor_count) {
                return Err(SyncError::Protocol(format!(
                    "clock of document {} names an unknown actor",
                    recon::doc_id(&c.id).short()
                )));
            }
        }
        for r in &turn.ranges {
            if let RangeBody::Unmatched(ix) = &r.body {
                let (lo, hi) = self.items.bounds(r.depth, r.prefix);
                if ix.iter().any(|i| *i >= (hi - lo) as u64) {
                    return Err(SyncError::Protocol(
                        "an unmatched-items answer names an item that was never listed".into(),
                    ));
                }
            }
        }
        let mut out = Vec::with_capacity(turn.changes.len());
        for part in &turn.changes {
            let id = recon::doc_id(part.id());
            let held = self.items.find(part.id()).is_some();
            let bad = |detail: String| SyncError::BadDocument {
                id: id.clone(),
                detail,
            };
            let mut whole_heads = None;
            let (data, authors, summary) = match part {
                ChangesPart::Changes { chunks, .. } => {
                    let mut authors = Vec::new();
                    let mut data = Vec::new();
                    for ch in chunks {
                        let c = clock::parse_change(ch).map_err(bad)?;
                        if !authors.contains(c.actor_id()) {
                            authors.push(c.actor_id().clone());
                        }
                        data.extend_from_slice(ch);
                    }
                    (data, authors, None)
                }
                ChangesPart::Whole { bytes, .. } => {
                    let mut doc = clock::parse_document(bytes).map_err(bad)?;
                    whole_heads = Some(doc.get_heads());
                    let mut authors: Vec<ActorId> =
                        Version::of(doc.document()).clock.into_keys().collect();
                    authors.dedup();
                    let summary = (!held).then(|| {
                        Document::from_automerge(id.clone(), doc)
                            .and_then(|mut d| d.summary())
                            .map_err(|e| e.to_string())
                    });
                    (bytes.clone(), authors, summary)
                }
            };
            let verdict = if !held && matches!(part, ChangesPart::Changes { .. }) {
                Err(format!(
                    "changes to document {} that this side does not share with you",
                    id.short()
                ))
            } else {
                let summary_ref: Option<Result<&Summary, &str>> =
                    summary.as_ref().map(|r| r.as_ref().map_err(|e| e.as_str()));
                self.scope.accepts(
                    &id,
                    &Incoming {
                        held,
                        summary: summary_ref,
                        authors: &authors,
                    },
                )
            };
            out.push(Prepared {
                id,
                data,
                whole_heads,
                verdict,
            });
        }
        Ok(out)
    }

    fn apply(&mut self, turn: Turn, prepared: Vec<Prepared>) {
        self.their_actors
            .extend(turn.actors.iter().map(|a| ActorId::from(&a[..])));
        self.their_turn_content |= turn.has_content();
        self.report.docs_acked += turn.acked;
        for r in &turn.refused {
            self.report
                .refused_by_peer
                .push((recon::doc_id(&r.id), r.reason.clone()));
        }
        for r in turn.ranges {
            self.on_range(r);
        }
        for c in turn.clocks {
            self.on_clock(c);
        }
        let mut docs = Vec::new();
        for p in prepared {
            match p.verdict {
                Ok(()) => docs.push(SaveDoc {
                    id: p.id,
                    data: p.data,
                    whole_heads: p.whole_heads,
                }),
                Err(reason) => {
                    self.report
                        .refused_here
                        .push((p.id.clone(), reason.clone()));
                    self.out.refused.push(Refusal {
                        id: recon::raw_id(&p.id),
                        reason,
                    });
                }
            }
        }
        if !docs.is_empty() {
            let t = self.ticket();
            self.saves.insert(t, docs.len() as u64);
            self.outputs.push_back(Output::Save {
                ticket: Ticket(t),
                docs,
            });
        }
        if !turn.more {
            self.phase = Phase::MyTurn;
        }
        self.progress();
    }

    fn on_range(&mut self, r: RangePart) {
        let (lo, hi) = self.items.bounds(r.depth, r.prefix);
        match r.body {
            RangeBody::Fingerprint(f) => {
                if f != self.items.fingerprint(lo, hi) {
                    self.answer_range(r.depth, r.prefix, f == 0);
                }
            }
            RangeBody::Split(fs) => {
                for (i, f) in fs.iter().enumerate() {
                    let (depth, prefix) = (r.depth + 1, (r.prefix << 4) | i as u128);
                    let (clo, chi) = self.items.bounds(depth, prefix);
                    if *f != self.items.fingerprint(clo, chi) & wire::SPLIT_FP_MASK {
                        self.answer_range(depth, prefix, *f == 0);
                    }
                }
            }
            RangeBody::Items(theirs) => self.compare_items(r.depth, r.prefix, lo, hi, &theirs),
            RangeBody::Unmatched(ix) => {
                // The peer lacks these documents or holds other versions; a clock it sent
                // in the same turn says which, otherwise it has none.
                for i in ix {
                    let id = self.items.id(lo + i as usize);
                    self.add_work(id, |w| w.push_whole = true);
                }
            }
        }
    }

    /// A range differs: list it, split it, or (the peer has nothing there) send it all.
    fn answer_range(&mut self, depth: u8, prefix: u128, peer_empty: bool) {
        let (lo, hi) = self.items.bounds(depth, prefix);
        if peer_empty {
            for i in lo..hi {
                let id = self.items.id(i);
                self.add_work(id, |w| w.push_whole = true);
            }
            return;
        }
        let body = if hi - lo <= LEAF_ITEMS || depth >= MAX_SPLIT_DEPTH || depth >= 32 {
            RangeBody::Items(self.items.hashes(lo, hi))
        } else {
            RangeBody::Split(Box::new(
                self.items
                    .split(depth, prefix)
                    .map(|f| f & wire::SPLIT_FP_MASK),
            ))
        };
        self.push_range(RangePart {
            depth,
            prefix,
            body,
        });
    }

    /// Compare the peer's item list for a range with ours. Our items that match nothing
    /// differ or are missing there: send our clock (the peer answers with what we lack, or
    /// asks for all of it). Their items that match nothing: tell the peer their positions.
    fn compare_items(&mut self, depth: u8, prefix: u128, lo: usize, hi: usize, theirs: &[u64]) {
        if theirs.is_empty() {
            for i in lo..hi {
                let id = self.items.id(i);
                self.add_work(id, |w| w.push_whole = true);
            }
            return;
        }
        let mine: HashSet<u64> = (lo..hi).map(|i| self.items.hash(i)).collect();
        let their_set: HashSet<u64> = theirs.iter().copied().collect();
        for i in lo..hi {
            if !their_set.contains(&self.items.hash(i)) {
                let id = self.items.id(i);
                self.add_work(id, |w| w.send_clock = true);
            }
        }
        let unmatched: Vec<u64> = theirs
            .iter()
            .enumerate()
            .filter(|(_, h)| !mine.contains(h))
            .map(|(i, _)| i as u64)
            .collect();
        if !unmatched.is_empty() {
            self.push_range(RangePart {
                depth,
                prefix,
                body: RangeBody::Unmatched(unmatched),
            });
        }
    }

    /// The peer has a document this side does not offer: ask for all of it.
    fn want_missing(&mut self, id: RawId) {
        if self.clock_sent.insert(id) {
            self.push_clock(ClockPart {
                id,
                want: true,
                clock: Vec::new(),
            });
        }
    }

    fn on_clock(&mut self, c: ClockPart) {
        let theirs: Clock = c
            .clock
            .iter()
            .map(|(a, s)| (self.their_actors[*a as usize].clone(), *s))
            .collect();
        if self.items.find(&c.id).is_some() {
            self.add_work(c.id, |w| w.answer = Some((theirs, c.want)));
        } else if !theirs.is_empty() {
            // Not held here (or not shared): ask for all of it, revealing nothing.
            self.want_missing(c.id);
        }
    }

    fn add_work(&mut self, id: RawId, f: impl FnOnce(&mut Work)) {
        let w = self.work.entry(id).or_insert_with(|| {
            self.load_queue.push_back(id);
            Work::default()
        });
        f(w);
    }

    fn do_work(&mut self, id: RawId, bytes: Option<Vec<u8>>) -> Result<(), SyncError> {
        let Some(w) = self.work.remove(&id) else {
            return Ok(());
        };
        let doc_id = recon::doc_id(&id);
        let Some(bytes) = bytes else {
            // Gone since the session started: behave as if never held.
            return Ok(());
        };
        let only_push = w.push_whole && !w.send_clock && w.answer.is_none();
        if only_push {
            return self.push_changes(ChangesPart::Whole { id, bytes });
        }
        let mut doc = clock::parse_document(&bytes).map_err(|detail| {
            SyncError::Host(HostError(format!(
                "stored document {doc_id} is damaged: {detail}"
            )))
        })?;
        let am = doc.document();
        let version = Version::of(am);
        let mut send_clock = w.send_clock;
        // A clock from the peer says exactly what it lacks: it wins over a whole push.
        let mut pushed = w.push_whole && w.answer.is_none();
        if let Some((theirs, want)) = &w.answer {
            if *want {
                if theirs.is_empty() {
                    pushed = true;
                } else {
                    let mut changes = version.changes_for(am, theirs);
                    if !changes.is_empty() {
                        let chunks = changes.iter_mut().map(|c| c.bytes().into_owned()).collect();
                        self.push_changes(ChangesPart::Changes { id, chunks })?;
                    }
                }
            }
            if clock::has_more(theirs, &version.clock) {
                send_clock = true;
            }
        }
        if pushed {
            self.push_changes(ChangesPart::Whole { id, bytes })?;
        }
        if send_clock && self.clock_sent.insert(id) {
            let clock = version
                .clock
                .iter()
                .map(|(a, s)| (self.actor_index(a), *s))
                .collect();
            self.push_clock(ClockPart {
                id,
                want: true,
                clock,
            });
        }
        Ok(())
    }

    fn actor_index(&mut self, a: &ActorId) -> u64 {
        if let Some(i) = self.my_actors.get(a) {
            return *i;
        }
        let i = self.my_actors.len() as u64;
        self.my_actors.insert(a.clone(), i);
        let bytes = a.to_bytes().to_vec();
        self.out_size += bytes.len() + 2;
        self.out.actors.push(bytes);
        i
    }

    // ----- building outgoing messages ---------------------------------------------------

    fn push_range(&mut self, r: RangePart) {
        self.out_size += 4 + match &r.body {
            RangeBody::Fingerprint(_) => 8,
            RangeBody::Split(_) => 16 * wire::SPLIT_FP_BYTES,
            RangeBody::Items(i) => 8 * i.len() + 3,
            RangeBody::Unmatched(i) => 2 * i.len() + 3,
        };
        self.out.ranges.push(r);
        self.my_turn_content = true;
        self.maybe_flush();
    }

    fn push_clock(&mut self, c: ClockPart) {
        self.out_size += 18 + 4 * c.clock.len();
        self.out.clocks.push(c);
        self.my_turn_content = true;
        self.maybe_flush();
    }

    fn push_changes(&mut self, part: ChangesPart) -> Result<(), SyncError> {
        let budget = MAX_MESSAGE_SIZE - 1024;
        match part {
            ChangesPart::Whole { id, bytes } => {
                if bytes.len() > budget {
                    return Err(SyncError::DocumentTooLarge {
                        id: recon::doc_id(&id),
                        size: bytes.len(),
                    });
                }
                if self.out_size + bytes.len() > TARGET_MESSAGE_SIZE {
                    self.flush(true);
                }
                self.report.automerge_bytes_sent += bytes.len() as u64;
                self.out_size += bytes.len() + 24;
                self.out.changes.push(ChangesPart::Whole { id, bytes });
            }
            ChangesPart::Changes { id, chunks } => {
                let mut current = Vec::new();
                let mut size = 0;
                for ch in chunks {
                    if ch.len() > budget {
                        return Err(SyncError::DocumentTooLarge {
                            id: recon::doc_id(&id),
                            size: ch.len(),
                        });
                    }
                    if self.out_size + size + ch.len() > TARGET_MESSAGE_SIZE {
                        if !current.is_empty() {
                            self.out_size += size + 24;
                            self.out.changes.push(ChangesPart::Changes {
                                id,
                                chunks: std::mem::take(&mut current),
                            });
                            size = 0;
                        }
                        self.flush(true);
                    }
                    self.report.automerge_bytes_sent += ch.len() as u64;
                    size += ch.len() + wire::uvarint_len(ch.len() as u64);
                    current.push(ch);
                }
                if !current.is_empty() {
                    self.out_size += size + 24;
                    self.out.changes.push(ChangesPart::Changes {
                        id,
                        chunks: current,
                    });
                }
            }
        }
        self.report.docs_sent += 1;
        self.my_turn_content = true;
        Ok(())
    }

    /// Flush a full message, but only on our turn: the protocol strictly alternates.
    fn maybe_flush(&mut self) {
        if self.phase == Phase::MyTurn && self.out_size > TARGET_MESSAGE_SIZE {
            self.flush(true);
        }
    }

    /// Emit the message being built; `more` = the turn continues.
    fn flush(&mut self, more: bool) {
        let mut t = std::mem::take(&mut self.out);
        t.seq = self.send_seq;
        t.more = more;
        if !self.hello_sent {
            t.hello = Some(self.workspace.clone());
            self.hello_sent = true;
        }
        if !more {
            t.acked = self.saved_this_turn;
        }
        self.send_seq += 1;
        self.out_size = 0;
        let frame = wire::encode_turn(&t);
        self.report.messages_sent += 1;
        self.report.bytes_sent += frame.len() as u64;
        self.outputs.push_back(Output::Send(frame));
    }

    /// Start loads, and end our turn when nothing is outstanding.
    fn progress(&mut self) {
        if self.phase != Phase::MyTurn {
            return;
        }
        self.maybe_flush();
        while self.loads.len() < LOADS_IN_FLIGHT && !self.load_queue.is_empty() {
            let n = self.load_queue.len().min(LOAD_BATCH);
            let ids: Vec<RawId> = self.load_queue.drain(..n).collect();
            let t = self.ticket();
            self.outputs.push_back(Output::Load {
                ticket: Ticket(t),
                ids: ids.iter().map(recon::doc_id).collect(),
            });
            self.loads.insert(t, ids);
        }
        if self.load_queue.is_empty() && self.loads.is_empty() && self.saves.is_empty() {
            if self.their_turn_content {
                self.finish_turn();
            } else {
                self.phase = Phase::Finished;
            }
        }
    }

    fn finish_turn(&mut self) {
        self.flush(false);
        self.report.turns_sent += 1;
        self.saved_this_turn = 0;
        self.their_turn_content = false;
        self.phase = if self.my_turn_content {
            Phase::TheirTurn
        } else {
            Phase::Finished
        };
        self.my_turn_content = false;
    }
}

/// A received document part, checked and judged before anything is saved.
struct Prepared {
    id: DocId,
    data: Vec<u8>,
    whole_heads: Option<Vec<ChangeHash>>,
    verdict: Result<(), String>,
}

/// A host that carries out effects synchronously: a store behind a blocking call, or the
/// in-memory host of the tests.
pub trait Host {
    /// Load documents (see [`Output::Load`]); a document that is gone is `None`.
    fn load(&mut self, ids: &[DocId]) -> Result<Vec<LoadedDoc>, HostError>;
    /// Apply and durably commit received data in one transaction (see [`Output::Save`]).
    fn save(&mut self, docs: Vec<SaveDoc>) -> Result<(), HostError>;
}

impl<S: Scope> Session<S> {
    /// Carry out every pending effect on a synchronous host, returning the frames to send
    /// in order. Loops until the session asks for nothing but sending.
    pub fn run_host(&mut self, host: &mut impl Host) -> Vec<Vec<u8>> {
        let mut frames = Vec::new();
        while let Some(out) = self.poll_output() {
            match out {
                Output::Send(f) => frames.push(f),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Unrestricted;
    use crate::sim::SimRng;

    const WS: &str = "ws";

    /// A host with no documents: any load or save is a bug in these tests.
    struct NoHost;
    impl Host for NoHost {
        fn load(&mut self, ids: &[DocId]) -> Result<Vec<LoadedDoc>, HostError> {
            panic!("loaded {} documents", ids.len())
        }
        fn save(&mut self, _: Vec<SaveDoc>) -> Result<(), HostError> {
            panic!("saved")
        }
    }

    /// A host whose documents have all vanished since the index was read.
    struct GoneHost;
    impl Host for GoneHost {
        fn load(&mut self, ids: &[DocId]) -> Result<Vec<LoadedDoc>, HostError> {
            Ok(ids
                .iter()
                .map(|id| LoadedDoc {
                    id: id.clone(),
                    bytes: None,
                })
                .collect())
        }
        fn save(&mut self, _: Vec<SaveDoc>) -> Result<(), HostError> {
            panic!("saved")
        }
    }

    fn index(n: usize, seed: u64) -> Vec<(DocId, Vec<ChangeHash>)> {
        let mut rng = SimRng::new(seed);
        (0..n)
            .map(|_| {
                let id = crate::sim::fixtures::doc_id(&mut rng);
                let mut h = [0u8; 32];
                for c in h.chunks_mut(8) {
                    c.copy_from_slice(&rng.next_u64().to_le_bytes());
                }
                (id, vec![ChangeHash(h)])
            })
            .collect()
    }

    /// Run two sessions to the end with a host that must never be called.
    fn exchange(a: &mut Session<Unrestricted>, b: &mut Session<Unrestricted>) -> (u64, u64) {
        let (mut turns, mut bytes) = (0, 0);
        let mut frames = a.run_host(&mut NoHost);
        let mut to_b = true;
        while !frames.is_empty() {
            turns += 1;
            let next = if to_b { &mut *b } else { &mut *a };
            for f in &frames {
                bytes += f.len() as u64;
                next.receive(f);
            }
            frames = next.run_host(&mut NoHost);
            to_b = !to_b;
        }
        (turns, bytes)
    }

    #[test]
    fn nothing_changed_costs_one_round_trip_whatever_the_size() {
        for n in [0, 10, 1_000, 100_000] {
            let idx = index(n, 1);
            let mut a = Session::new(SessionRole::Initiator, WS, Unrestricted, idx.clone());
            let mut b = Session::new(SessionRole::Responder, WS, Unrestricted, idx);
            let (turns, bytes) = exchange(&mut a, &mut b);
            assert_eq!(a.status(), Status::Finished, "{n}");
            assert_eq!(b.status(), Status::Finished, "{n}");
            assert!(turns <= 2, "{n}: {turns} turns");
            assert!(
                bytes <= 8 + 8 + 2 * 4 + 8 + 16 * 8 + 16,
                "{n}: {bytes} bytes"
            );
        }
    }

    #[test]
    fn duplicated_and_reordered_messages_end_the_session() {
        let mut idx = index(50, 2);
        let mut a = Session::new(SessionRole::Initiator, WS, Unrestricted, idx.clone());
        idx.truncate(40);
        let mut b = Session::new(SessionRole::Responder, WS, Unrestricted, idx);
        let first = a.run_host(&mut NoHost).remove(0);
        b.receive(&first);
        let reply = b.run_host(&mut NoHost);
        assert_eq!(b.status(), Status::Running);
        // The duplicate arrives while it is A's turn: refused.
        b.receive(&first);
        assert_eq!(b.status(), Status::Failed);
        assert!(matches!(b.error(), Some(SyncError::Protocol(_))));
        let told = b.run_host(&mut NoHost);
        assert_eq!(told.len(), 1);
        // A gets B's reply and then the error frame.
        for f in reply.iter().chain(&told) {
            a.receive(f);
        }
        let _ = a.run_host(&mut GoneHost);
        assert_eq!(a.status(), Status::Failed);
        assert!(matches!(a.error(), Some(SyncError::Rejected { .. })));

        // A message from the future (sequence number skipped).
        let mut c = Session::new(SessionRole::Responder, WS, Unrestricted, Vec::new());
        let mut t = Turn {
            seq: 1,
            hello: Some(WS.into()),
            ..Turn::default()
        };
        c.receive(&wire::encode_turn(&t));
        assert!(
            matches!(c.error(), Some(SyncError::Protocol(m)) if m.contains("out of order")),
            "{:?}",
            c.error()
        );
        // A first message without a hello.
        let mut c = Session::new(SessionRole::Responder, WS, Unrestricted, Vec::new());
        t.seq = 0;
        t.hello = None;
        c.receive(&wire::encode_turn(&t));
        assert!(matches!(c.error(), Some(SyncError::Protocol(_))));
        // A clock naming an actor never introduced.
        let mut c = Session::new(SessionRole::Responder, WS, Unrestricted, Vec::new());
        t.hello = Some(WS.into());
        t.clocks.push(ClockPart {
            id: [1; 16],
            want: true,
            clock: vec![(3, 1)],
        });
        c.receive(&wire::encode_turn(&t));
        assert!(matches!(c.error(), Some(SyncError::Protocol(_))));
    }

    #[test]
    fn a_closed_transport_fails_an_unfinished_session_only() {
        let mut a = Session::new(SessionRole::Initiator, WS, Unrestricted, index(3, 3));
        a.closed();
        assert_eq!(a.error(), Some(&SyncError::Closed));
        let idx = index(3, 3);
        let mut a = Session::new(SessionRole::Initiator, WS, Unrestricted, idx.clone());
        let mut b = Session::new(SessionRole::Responder, WS, Unrestricted, idx);
        exchange(&mut a, &mut b);
        a.closed();
        assert_eq!(a.status(), Status::Finished);
    }
}
