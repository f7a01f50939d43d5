//! Evaluating the documents an update touches: from the snapshots the engine holds, and
//! for a lean engine from the snapshots its loader gives back by ID, a batch at a time
//! (the loader a batch ahead on a thread of its own, unless the engine reads one batch
//! at a time), let go once evaluated.

use std::borrow::Borrow;
use std::collections::BTreeMap;

use fieldcrm_model::{Body, DocId, Millis, Snapshot};

use super::{Cross, Engine, Entry, HashMap, claims};
use crate::ctx::Ctx;
use crate::rules::{Extract, eval_doc};

/// How many documents a lean engine asks its loader for at once: enough to keep the
/// loader's cores busy, few enough that their snapshots are a small part of the memory.
const LOAD_BATCH: usize = 2048;

/// What gives a lean engine the snapshots of the documents it asks for (see
/// [`Engine::update_from`]). It runs on a thread of its own, a batch ahead of the
/// evaluation, unless the engine reads one batch at a time ([`Engine::reading_ahead`]).
pub type Loader<'a, S> = dyn FnMut(&[DocId]) -> Vec<S> + Send + 'a;

impl<S: Borrow<Snapshot> + From<Snapshot> + Send> Engine<S> {
    /// Keep no customer or channel snapshot once it is evaluated: only its findings and
    /// what the cross-document rules index; and the Sales document without its claims
    /// once they are counted. Such an engine is updated with [`Engine::update_from`],
    /// whose loader gives back the snapshots it needs again (a document whose wake time
    /// came, every document when the context changed, the Sales document when its claims
    /// are counted again). The other workspace documents are kept.
    pub fn lean(mut self) -> Self {
        self.retain = false;
        self.slim = Some(slim_sales::<S>);
        self
    }
}

impl<S> Engine<S> {
    /// Whether a lean engine's loader reads the next batch on a thread of its own while
    /// the engine evaluates the one it has (on by default). A one-shot `check` gains the
    /// time; a long-running process (the relay) keeps its memory lower reading one batch
    /// at a time: measured at 100,000 customers, the relay held about 30 MB more after
    /// its first findings with it on.
    pub fn reading_ahead(mut self, on: bool) -> Self {
        self.ahead = on;
        self
    }
}

fn slim_sales<S: From<Snapshot>>(s: &Snapshot) -> S {
    S::from(crate::claims::without_claims(s))
}

impl<S: Borrow<Snapshot> + Send> Engine<S> {
    /// Evaluate the held documents `ids` (each unindexed already), asking `load` for
    /// the snapshots not held, a batch at a time; those it does not give back are
    /// dropped. How many were evaluated, and the dropped channels.
    pub(super) fn evaluate_all(
        &mut self,
        ids: &[DocId],
        now: Millis,
        load: &mut Loader<'_, S>,
    ) -> (usize, Vec<DocId>) {
        let mut evaluated = 0;
        let mut need: Vec<DocId> = Vec::new();
        let keep = self.retain;
        for id in ids {
            match self.docs.get_mut(id) {
                Some(entry) if entry.snap.is_some() => {
                    evaluate(
                        &self.ctx,
                        &mut self.wake_queue,
                        &mut self.x,
                        id,
                        entry,
                        now,
                        keep,
                    );
                    evaluated += 1;
                }
                Some(_) => need.push(id.clone()),
                None => {}
            }
        }
        let mut gone = Vec::new();
        let batches: Vec<&[DocId]> = need.chunks(LOAD_BATCH).collect();
        if batches.len() < 2 || !self.ahead {
            for batch in batches {
                let loaded = load(batch);
                evaluated += self.take_batch(batch, loaded, now, &mut gone);
            }
            return (evaluated, gone);
        }
        // The loader reads (decodes) the next batch on its own thread while this one
        // evaluates the batch it has: reading and evaluating 100,000 snapshots one after
        // the other left a core idle most of the time.
        std::thread::scope(|scope| {
            let (ask, asked) = std::sync::mpsc::channel::<&[DocId]>();
            let (give, given) = std::sync::mpsc::sync_channel::<Vec<S>>(1);
            scope.spawn(move || {
                for batch in asked {
                    if give.send(load(batch)).is_err() {
                        return;
                    }
                }
            });
            if let Some(first) = batches.first() {
                let _ = ask.send(first);
            }
            for (i, batch) in batches.iter().enumerate() {
                // The loader is gone only if it panicked, which the scope passes on:
                // nothing is taken as gone for it.
                let Ok(loaded) = given.recv() else {
                    break;
                };
                if let Some(next) = batches.get(i + 1) {
                    let _ = ask.send(next);
                }
                evaluated += self.take_batch(batch, loaded, now, &mut gone);
            }
        });
        (evaluated, gone)
    }

    /// Evaluate what the loader gave for `batch`; a document it did not give is gone
    /// (its ID is added to `gone` if it was a channel). How many were evaluated.
    fn take_batch(
        &mut self,
        batch: &[DocId],
        loaded: Vec<S>,
        now: Millis,
        gone: &mut Vec<DocId>,
    ) -> usize {
        let keep = self.retain;
        let mut evaluated = 0;
        // Asked for → given yet: only what was asked for counts, once (a loader's
        // mistake changes nothing else).
        let mut asked: HashMap<&DocId, bool> = batch.iter().map(|id| (id, false)).collect();
        for s in loaded {
            let id = s.borrow().id.clone();
            match asked.get_mut(&id) {
                Some(given @ false) => *given = true,
                _ => continue,
            }
            let Some(entry) = self.docs.get_mut(&id) else {
                continue;
            };
            entry.snap = Some(s);
            evaluate(
                &self.ctx,
                &mut self.wake_queue,
                &mut self.x,
                &id,
                entry,
                now,
                keep,
            );
            evaluated += 1;
        }
        for id in batch.iter().filter(|id| asked.get(id) == Some(&false)) {
            if let Some(old) = self.docs.remove(id) {
                if matches!(old.eval.extract, Extract::Channel(_)) {
                    gone.push(id.clone());
                }
                self.x.unindex(id, &old.eval.extract);
            }
        }
        evaluated
    }
}

/// Evaluate one held document, queue its wake time and index it; its snapshot is let
/// go after unless `keep`.
fn evaluate<S: Borrow<Snapshot>>(
    ctx: &Ctx,
    wake_queue: &mut BTreeMap<Millis, Vec<DocId>>,
    x: &mut Cross,
    id: &DocId,
    entry: &mut Entry<S>,
    now: Millis,
    keep: bool,
) {
    let Some(snap) = entry.snap.as_ref().map(Borrow::borrow) else {
        return;
    };
    entry.eval = eval_doc(ctx, snap, now);
    entry.record = matches!(snap.body, Body::Customer(_) | Body::Channel(_));
    entry.own =
        claims::own_claim(ctx, &mut x.claims.owners, &entry.eval.extract, snap).map(Box::new);
    if entry.eval.wake != Millis::MAX {
        wake_queue
            .entry(entry.eval.wake)
            .or_default()
            .push(id.clone());
    }
    x.index(id, &entry.eval.extract);
    if !keep {
        entry.snap = None;
    }
}
