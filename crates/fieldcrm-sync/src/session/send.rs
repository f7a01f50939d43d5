//! The sending half of a session: answering loaded documents with changes and clocks,
//! building messages within the size target, and ending turns.

use std::collections::HashMap;

use automerge::{ActorId, ChangeHash};
use fieldcrm_model::Signature;

use super::{Loaded, Output, Phase, Session, Ticket};
use crate::clock::{self, Version};
use crate::recon::{self, RawId};
use crate::scope::Scope;
use crate::wire::{self, ChangesPart, ClockPart, RangeBody, RangePart};
use crate::{HostError, MAX_MESSAGE_SIZE, SyncError, TARGET_MESSAGE_SIZE};

/// Documents asked for in one [`Output::Load`].
const LOAD_BATCH: usize = 64;
/// [`Output::Load`] effects outstanding at once: bounds the documents held in memory.
const LOADS_IN_FLIGHT: usize = 4;

impl<S: Scope> Session<S> {
    pub(super) fn do_work(&mut self, id: RawId, loaded: Option<Loaded>) -> Result<(), SyncError> {
        let Some(w) = self.work.remove(&id) else {
            return Ok(());
        };
        let doc_id = recon::doc_id(&id);
        let Some((bytes, sigs)) = loaded else {
            // Gone since the session started: behave as if never held.
            return Ok(());
        };
        let only_push = w.push_whole && !w.send_clock && w.answer.is_none();
        if only_push {
            return self.push_changes(ChangesPart::Whole { id, bytes, sigs });
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
                        let by_hash: HashMap<ChangeHash, Signature> =
                            sigs.iter().copied().collect();
                        // A change stored without a signature goes out with none; the
                        // peer refuses it by name.
                        let chunks = changes
                            .iter_mut()
                            .map(|c| {
                                let sig = by_hash.get(&c.hash()).copied().unwrap_or([0; 64]);
                                (c.bytes().into_owned(), sig)
                            })
                            .collect();
                        self.push_changes(ChangesPart::Changes { id, chunks })?;
                    }
                }
            }
            if clock::has_more(theirs, &version.clock) {
                send_clock = true;
            }
        }
        if pushed {
            self.push_changes(ChangesPart::Whole { id, bytes, sigs })?;
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

    pub(super) fn push_range(&mut self, r: RangePart) {
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

    /// Name this side's recently changed documents (first message only).
    pub(super) fn push_named(&mut self) {
        self.out_size += 4 + 24 * self.named.len();
        self.out.named = Some(self.named.clone());
        self.my_turn_content = true;
    }

    pub(super) fn push_clock(&mut self, c: ClockPart) {
        self.out_size += 18 + 4 * c.clock.len();
        self.out.clocks.push(c);
        self.my_turn_content = true;
        self.maybe_flush();
    }

    fn push_changes(&mut self, part: ChangesPart) -> Result<(), SyncError> {
        let budget = MAX_MESSAGE_SIZE - 1024;
        let roster = *part.id() == recon::ROSTER;
        match part {
            ChangesPart::Whole { id, bytes, sigs } => {
                let bytes_len = bytes.len() + sigs.len() * 96;
                if bytes_len > budget {
                    // Too big for one message: it stays here, reported; every other
                    // document still syncs. (Once the peer holds a document, its new
                    // changes go in as many messages as they need.)
                    // Nothing goes to the peer for it, so nothing for it to answer.
                    self.report
                        .too_large
                        .push((recon::doc_id(&id), bytes.len()));
                    return Ok(());
                }
                if self.out_size + bytes_len > TARGET_MESSAGE_SIZE {
                    self.flush(true);
                }
                self.report.automerge_bytes_sent += bytes.len() as u64;
                self.out_size += bytes_len + 24;
                self.out
                    .changes
                    .push(ChangesPart::Whole { id, bytes, sigs });
            }
            ChangesPart::Changes { id, chunks } => {
                let mut current = Vec::new();
                let mut size = 0;
                for (ch, sig) in chunks {
                    if ch.len() > budget {
                        // One change larger than a message: this document cannot go
                        // (what went before it did); every other document still syncs.
                        if !current.is_empty() {
                            self.out_size += size + 24;
                            self.out.changes.push(ChangesPart::Changes {
                                id,
                                chunks: std::mem::take(&mut current),
                            });
                            self.my_turn_content = true;
                        }
                        self.report.too_large.push((recon::doc_id(&id), ch.len()));
                        return Ok(());
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
                    size += ch.len() + wire::uvarint_len(ch.len() as u64) + 64;
                    current.push((ch, sig));
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
        // The roster travels alone: the peer saves it before it judges anything after it
        // (it decides every author), and a small save comes back at once — a new
        // device's first message used to also carry the Sales document of 100,000
        // claims, judged and saved before anything else could start.
        if roster && self.phase == Phase::MyTurn {
            self.flush(true);
        }
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
    pub(super) fn progress(&mut self) {
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

    pub(super) fn finish_turn(&mut self) {
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
