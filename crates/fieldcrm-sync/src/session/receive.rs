//! The receiving half of a session: checking a peer's message as a whole, then acting on
//! its ranges, clocks, changes and refusals.

use std::collections::HashSet;

use automerge::ActorId;

use super::verify::{self, Judged as Prepared, RefusedChange};
use super::{MAX_ACTORS, Output, Phase, SaveDoc, Session, SessionRole, Ticket, Work};
use crate::clock::Clock;
use crate::recon::{self, LEAF_ITEMS, MAX_SPLIT_DEPTH, RawId};
use crate::scope::Scope;
use crate::wire::{self, ClockPart, Frame, RangeBody, RangePart, Refusal, Turn};
use crate::{DecodeError, MAX_MESSAGE_SIZE, PROTOCOL_VERSION, SyncError};

impl<S: Scope> Session<S> {
    pub(super) fn try_receive(&mut self, frame: &[u8]) -> Result<(), (SyncError, bool)> {
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
            if frame.get(1) == Some(&2)
                && let Some(text) = frame.get(3..)
            {
                let message = String::from_utf8_lossy(text).into_owned();
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
            return Err(our_turn());
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
        self.waiting.push_back(turn);
        self.judge_waiting()
    }

    /// Judge and act on the received messages in order, up to the first that depends on
    /// a save still in flight ([`Session::saved`] goes on from there).
    pub(super) fn judge_waiting(&mut self) -> Result<(), (SyncError, bool)> {
        while let Some(turn) = self.waiting.front() {
            if matches!(self.phase, Phase::Finished | Phase::Failed) {
                self.waiting.clear();
                return Ok(());
            }
            if self.depends_on_saving(turn) {
                return Ok(());
            }
            let Some(turn) = self.waiting.pop_front() else {
                break;
            };
            // A message that waited may have come after the peer ended its turn.
            if self.phase == Phase::MyTurn {
                return Err(our_turn());
            }
            let prepared = self.validate(&turn).map_err(|e| (e, true))?;
            self.apply(turn, prepared);
        }
        Ok(())
    }

    /// Whether judging `turn` must wait for the saves in flight: it changes a document
    /// one of them holds (judged against the document as stored), or one of them holds
    /// the roster (which decides how every change is judged; a device's first sync
    /// learns it from the store once it is saved).
    fn depends_on_saving(&self, turn: &Turn) -> bool {
        if turn.changes.is_empty() || self.saves.is_empty() {
            return false;
        }
        let roster = recon::raw_id(&fieldcrm_model::DocId::workspace(
            &fieldcrm_model::DocKind::Roster,
        ));
        let saving: HashSet<&RawId> = self.saves.values().flatten().collect();
        saving.contains(&roster) || turn.changes.iter().any(|c| saving.contains(c.id()))
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
        if turn.named.is_some() && turn.seq != 0 {
            return Err(SyncError::Protocol(
                "documents named after the first message".into(),
            ));
        }
        for r in &turn.ranges {
            if let RangeBody::Unmatched(ix) = &r.body {
                let (lo, hi) = self.recon.0.bounds(r.depth, r.prefix);
                if ix.iter().any(|i| *i >= (hi - lo) as u64) {
                    return Err(SyncError::Protocol(
                        "an unmatched-items answer names an item that was never listed".into(),
                    ));
                }
            }
        }
        if !turn.changes.is_empty() {
            self.scope.refresh();
        }
        // Each document is judged on its own (parsed, signatures checked, scope asked),
        // on every core: a first sync receives thousands per message.
        let (scope, items) = (&self.scope, &self.items);
        let out = fieldcrm_model::par::par_map(&turn.changes, 16, |part| {
            let held = items.0.find(part.id()).is_some();
            let id = recon::doc_id(part.id());
            if !held && matches!(part, wire::ChangesPart::Changes { .. }) {
                verify::not_offered(id)
            } else {
                // A document Automerge cannot read is set aside and reported (the peer is
                // told why); every other document of the session goes on syncing.
                verify::judge(scope, part.into(), id.clone(), held)
                    .unwrap_or_else(|detail| verify::damaged(id, &detail))
            }
        });
        Ok(out)
    }

    fn apply(&mut self, mut turn: Turn, prepared: Vec<Prepared>) {
        self.their_actors
            .extend(turn.actors.iter().map(|a| ActorId::from(&a[..])));
        self.their_turn_content |= turn.has_content();
        let named = turn.named.take();
        if turn.seq == 0 {
            self.on_first(named, &mut turn.ranges);
        }
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
            if !p.refused.is_empty() {
                let reason = p
                    .refused
                    .iter()
                    .map(RefusedChange::describe)
                    .collect::<Vec<_>>()
                    .join("; ");
                self.out.refused.push(Refusal {
                    id: recon::raw_id(&p.id),
                    reason,
                });
                self.report.refused_changes.extend(p.refused);
            }
            if let Some(reason) = &p.leaving {
                self.report
                    .refused_here
                    .push((p.id.clone(), reason.clone()));
                self.out.refused.push(Refusal {
                    id: recon::raw_id(&p.id),
                    reason: reason.clone(),
                });
            }
            match p.verdict {
                Ok(()) if p.data.is_empty() => {}
                Ok(()) => docs.push(SaveDoc {
                    id: p.id,
                    data: p.data,
                    sigs: p.sigs,
                    whole_heads: p.whole_heads,
                    loaded: p.loaded,
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
            self.saves
                .insert(t, docs.iter().map(|d| recon::raw_id(&d.id)).collect());
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

    /// The peer's first message. A responder whose items differ from the initiator's at
    /// the root, when either side names documents, answers with its own names and the
    /// root of the other documents instead of the initiator's ranges; the initiator
    /// takes that answer the same way. From then on both reconcile ranges over the
    /// documents neither named, and compare the named ones directly.
    fn on_first(&mut self, named: Option<Vec<(RawId, u64)>>, ranges: &mut Vec<RangePart>) {
        match self.role {
            SessionRole::Responder => {
                let theirs = named.unwrap_or_default();
                if (!theirs.is_empty() || !self.named.is_empty()) && self.root_differs(ranges) {
                    self.exclude_named(&theirs);
                    self.push_named();
                    self.push_range(self.root_range());
                    self.on_named(&theirs);
                    ranges.clear();
                }
            }
            SessionRole::Initiator => {
                if let Some(theirs) = named {
                    self.exclude_named(&theirs);
                    self.on_named(&theirs);
                }
            }
        }
    }

    /// Whether the initiator's opening ranges differ from this side's items.
    fn root_differs(&self, ranges: &[RangePart]) -> bool {
        let set = &self.recon.0;
        let n = set.len();
        ranges.iter().any(|r| {
            if r.depth != 0 {
                return true;
            }
            match &r.body {
                RangeBody::Fingerprint(f) => *f != set.fingerprint(0, n),
                RangeBody::Split(fs) => **fs != set.split(0, 0).map(|f| f & wire::SPLIT_FP_MASK),
                RangeBody::Items(hs) => {
                    let mut theirs = hs.clone();
                    let mut mine = set.hashes(0, n).to_vec();
                    theirs.sort_unstable();
                    mine.sort_unstable();
                    theirs != mine
                }
                RangeBody::Unmatched(_) => true,
            }
        })
    }

    /// Reconcile ranges over the documents neither side named from now on.
    fn exclude_named(&mut self, theirs: &[(RawId, u64)]) {
        let mut out: Vec<u128> = self
            .named
            .iter()
            .chain(theirs)
            .map(|(id, _)| u128::from_be_bytes(*id))
            .collect();
        out.sort_unstable();
        out.dedup();
        self.recon = recon::Items(std::sync::Arc::new(self.items.0.without(&out)));
    }

    /// The peer named these documents: one that differs here gets our clock, one not
    /// held (or not shared) here is asked for whole.
    fn on_named(&mut self, theirs: &[(RawId, u64)]) {
        for (id, h) in theirs {
            match self.items.0.hash_of(id) {
                Some(mine) if mine == *h => {}
                Some(_) => self.add_work(*id, |w| w.send_clock = true),
                None => self.want_missing(*id),
            }
        }
    }

    fn on_range(&mut self, r: RangePart) {
        let (lo, hi) = self.recon.0.bounds(r.depth, r.prefix);
        match r.body {
            RangeBody::Fingerprint(f) => {
                if f != self.recon.0.fingerprint(lo, hi) {
                    self.answer_range(r.depth, r.prefix, f == 0);
                }
            }
            RangeBody::Split(fs) => {
                for (i, f) in fs.iter().enumerate() {
                    let (depth, prefix) = (r.depth + 1, (r.prefix << 4) | i as u128);
                    let (clo, chi) = self.recon.0.bounds(depth, prefix);
                    if *f != self.recon.0.fingerprint(clo, chi) & wire::SPLIT_FP_MASK {
                        self.answer_range(depth, prefix, *f == 0);
                    }
                }
            }
            RangeBody::Items(theirs) => self.compare_items(r.depth, r.prefix, lo, hi, &theirs),
            RangeBody::Unmatched(ix) => {
                // The peer lacks these documents or holds other versions; a clock it sent
                // in the same turn says which, otherwise it has none.
                // `validate` checked every index against this range.
                let ids: Vec<RawId> = self.recon.0.ids(lo, hi).collect();
                for i in ix {
                    if let Some(id) = usize::try_from(i).ok().and_then(|i| ids.get(i)) {
                        self.add_work(*id, |w| w.push_whole = true);
                    }
                }
            }
        }
    }

    /// A range differs: list it, split it, or (the peer has nothing there) send it all.
    fn answer_range(&mut self, depth: u8, prefix: u128, peer_empty: bool) {
        let (lo, hi) = self.recon.0.bounds(depth, prefix);
        if peer_empty {
            self.push_all_whole(lo, hi);
            return;
        }
        let body = if hi - lo <= LEAF_ITEMS || depth >= MAX_SPLIT_DEPTH || depth >= 32 {
            RangeBody::Items(self.recon.0.hashes(lo, hi).to_vec())
        } else {
            RangeBody::Split(Box::new(
                self.recon
                    .0
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
            self.push_all_whole(lo, hi);
            return;
        }
        let mine: HashSet<u64> = self.recon.0.hashes(lo, hi).iter().copied().collect();
        let their_set: HashSet<u64> = theirs.iter().copied().collect();
        let differing: Vec<RawId> = self
            .recon
            .0
            .ids(lo, hi)
            .zip(self.recon.0.hashes(lo, hi))
            .filter(|(_, h)| !their_set.contains(h))
            .map(|(id, _)| id)
            .collect();
        for id in differing {
            self.add_work(id, |w| w.send_clock = true);
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

    /// The peer has none of the items `lo..hi`: send each whole.
    fn push_all_whole(&mut self, lo: usize, hi: usize) {
        let ids: Vec<RawId> = self.recon.0.ids(lo, hi).collect();
        for id in ids {
            self.add_work(id, |w| w.push_whole = true);
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
        // `validate` checked every actor index against the actor table.
        let theirs: Clock = c
            .clock
            .iter()
            .filter_map(|(a, s)| {
                let actor = self.their_actors.get(usize::try_from(*a).ok()?)?;
                Some((actor.clone(), *s))
            })
            .collect();
        if self.items.0.find(&c.id).is_some() {
            self.add_work(c.id, |w| w.answer = Some((theirs, c.want)));
        } else if !theirs.is_empty() {
            // Not held here (or not shared): ask for all of it, revealing nothing.
            self.want_missing(c.id);
        }
    }

    pub(super) fn add_work(&mut self, id: RawId, f: impl FnOnce(&mut Work)) {
        let w = self.work.entry(id).or_insert_with(|| {
            // The roster goes first: a device's first sync judges the authors of every
            // document after it with it ([`Scope::refresh`]).
            if id == recon::ROSTER {
                self.load_queue.push_front(id);
            } else {
                self.load_queue.push_back(id);
            }
            Work::default()
        });
        f(w);
    }
}

fn our_turn() -> (SyncError, bool) {
    (
        SyncError::Protocol("a message arrived while it was our turn".into()),
        true,
    )
}
