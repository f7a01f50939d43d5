//! The rules' findings on a store without every snapshot in memory: a lean engine
//! ([`fieldcrm_policy::Engine::lean`]) fed by document IDs, its loader reading the
//! snapshots from the store's snapshot cache a batch at a time. For a process that
//! checks without showing documents: a `check` command, and the relay after each sync.
//!
//! What stays in memory: every document's heads, the engine's findings and indexes per
//! document, and the few snapshots that are read again when findings are tracked or
//! authorship is carried: the workspace documents, the documents that store finding
//! states, and merged tombstones. At 100,000 customer files that is about a fifth of the
//! snapshots [`crate::live::Live`] keeps for the app's pages.
//!
//! Like [`crate::live::Live`], it is brought up to date from the store's change log, so
//! a check after a sync evaluates what the sync changed (and what the clock woke).
//!
//! Its state is kept between processes (`lean_state.rs`): a `check` starts from the
//! last one's state and evaluates what changed since, instead of decoding and
//! evaluating every snapshot again.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use automerge::ChangeHash;
use fieldcrm_model::{Body, DeviceKey, DocId, Millis, Snapshot};
use fieldcrm_policy::{Config, Engine, Finding, Tracked};
use fieldcrm_store::Store;

use crate::Result;
use crate::live::{HeadsDiff, all_heads, diff_heads, heads_now};
use crate::memo::Stamp;
use crate::snapshots::{Claims, snapshots_at};

#[path = "lean_state.rs"]
mod state;
pub(crate) use state::{forget as forget_state, size as state_size};

/// The findings of the last update, with their life once asked for.
struct Checked {
    at: Millis,
    findings: Arc<Vec<Finding>>,
    tracked: Option<Arc<Vec<Tracked>>>,
}

/// A lean engine over a store, as of one stamp of it.
pub(crate) struct Lean {
    pub(crate) stamp: Option<Stamp>,
    /// The holding device the engine checks for (`None`: the relay's merged state).
    device: Option<DeviceKey>,
    /// The store generation the engine reflects.
    generation: u64,
    /// Every document's heads, in ID order.
    heads: Vec<(DocId, Vec<ChangeHash>)>,
    engine: Engine<Arc<Snapshot>>,
    /// Snapshots read again later: the roster, holders of finding states, merged
    /// tombstones (the engine keeps the other workspace documents).
    kept: HashMap<DocId, Arc<Snapshot>>,
    /// Survivors the engine holds with authorship carried into them.
    carried: HashSet<DocId>,
    checked: Option<Checked>,
    /// The generation of the state saved beside the store, if it is this one's
    /// (nothing evaluated since it was saved or restored).
    saved: Option<u64>,
}

impl Lean {
    /// Every document of the store, evaluated at `now` for `device`.
    pub(crate) fn load(
        store: &Store,
        stamp: Option<Stamp>,
        device: Option<&DeviceKey>,
        now: Millis,
        ahead: bool,
    ) -> Result<Lean> {
        let (generation, heads) = all_heads(store)?;
        let mut engine = Engine::new(Config::default()).lean().reading_ahead(ahead);
        if let Some(d) = device {
            engine = engine.with_holder(d);
        }
        let mut lean = Lean {
            stamp,
            device: device.copied(),
            generation,
            heads,
            engine,
            kept: HashMap::new(),
            carried: HashSet::new(),
            checked: None,
            saved: None,
        };
        let all: Vec<DocId> = lean.heads.iter().map(|(id, _)| id.clone()).collect();
        lean.update(store, &all, &[], now)?;
        Ok(lean)
    }

    /// Whether this state checks for `device`.
    pub(crate) fn is_for(&self, device: Option<&DeviceKey>) -> bool {
        self.device.as_ref() == device
    }

    /// Bring the engine up to date with the store (now at `stamp`) and the clock.
    /// On an error the state is of no more use (the engine may have dropped documents
    /// it could not read): the caller lets it go.
    pub(crate) fn refresh(
        &mut self,
        store: &Store,
        stamp: Option<Stamp>,
        now: Millis,
    ) -> Result<()> {
        if self.stamp.is_some() && self.stamp == stamp {
            if self.checked.as_ref().is_some_and(|c| c.at == now) {
                return Ok(());
            }
            return self.update(store, &[], &[], now);
        }
        let (generation, heads) = heads_now(store, Some(self.generation), self.held())?;
        let HeadsDiff {
            changed, removed, ..
        } = diff_heads(self.held(), &heads);
        self.heads = heads;
        self.generation = generation;
        self.stamp = stamp;
        for id in &removed {
            self.kept.remove(id);
        }
        let changed: Vec<DocId> = changed.into_iter().map(|(id, _)| id).collect();
        self.update(store, &changed, &removed, now)
    }

    /// Every held document's ID and heads, in ID order.
    fn held(&self) -> impl Iterator<Item = (&DocId, &Vec<ChangeHash>)> {
        self.heads.iter().map(|(id, h)| (id, h))
    }

    /// Give the engine what changed, reading snapshots as it asks; then once more the
    /// survivors of merges, with authorship carried from their tombstones (a survivor
    /// may be read before its tombstone).
    fn update(
        &mut self,
        store: &Store,
        changed: &[DocId],
        removed: &[DocId],
        now: Millis,
    ) -> Result<()> {
        let mut failed: Option<crate::Error> = None;
        let mut load = loader(store, &self.heads, &mut self.kept, &mut failed);
        let r = self.engine.update_from(changed, removed, now, &mut load);
        drop(load);
        if r.evaluated > 0 || !changed.is_empty() || !removed.is_empty() {
            self.saved = None;
        }
        let survivors = survivors(&self.kept);
        let mut again: Vec<DocId> = survivors.union(&self.carried).cloned().collect();
        // With nothing read, every survivor was evaluated with its tombstones already
        // (a document the clock woke is read with authorship carried into it).
        let nothing_read = changed.is_empty() && removed.is_empty() && survivors == self.carried;
        if !again.is_empty() && !nothing_read {
            again.sort();
            let mut load = loader(store, &self.heads, &mut self.kept, &mut failed);
            if self
                .engine
                .update_from(&again, &[], now, &mut load)
                .evaluated
                > 0
            {
                self.saved = None;
            }
        }
        if let Some(e) = failed {
            return Err(e);
        }
        self.carried = survivors;
        self.checked = Some(Checked {
            at: now,
            findings: Arc::new(self.engine.findings()),
            tracked: None,
        });
        Ok(())
    }

    /// Whether the state saved beside the store is this one.
    pub(crate) fn is_saved(&self) -> bool {
        self.saved == Some(self.generation)
    }

    /// Every finding of the last update.
    pub(crate) fn findings(&self) -> Arc<Vec<Finding>> {
        self.checked
            .as_ref()
            .map(|c| c.findings.clone())
            .unwrap_or_default()
    }

    /// Whether the last update's findings hold at `now` (computed within the minute
    /// before it).
    pub(crate) fn fresh_at(&self, now: Millis) -> bool {
        self.checked
            .as_ref()
            .is_some_and(|c| crate::memo::fresh(c.at, now))
    }

    /// Every finding of the last update with its life (see [`fieldcrm_policy::track`]).
    pub(crate) fn tracked(&mut self) -> Arc<Vec<Tracked>> {
        let Some(c) = self.checked.as_mut() else {
            return Arc::default();
        };
        if let Some(t) = &c.tracked {
            return t.clone();
        }
        let docs: Vec<&Snapshot> = self
            .kept
            .values()
            .chain(
                self.engine
                    .workspace_docs()
                    .filter(|s| !self.kept.contains_key(&s.id)),
            )
            .map(|s| &**s)
            .collect();
        let engine = &self.engine;
        let t = Arc::new(fieldcrm_policy::track_in(
            &c.findings,
            &docs,
            |d| engine.is_record(d),
            &Config::default(),
            c.at,
        ));
        c.tracked = Some(t.clone());
        t
    }
}

/// The engine's loader: [`read`], the first error kept in `failed` (the engine is then
/// given nothing for that batch).
fn loader<'a>(
    store: &'a Store,
    heads: &'a [(DocId, Vec<ChangeHash>)],
    kept: &'a mut HashMap<DocId, Arc<Snapshot>>,
    failed: &'a mut Option<crate::Error>,
) -> impl FnMut(&[DocId]) -> Vec<Arc<Snapshot>> + 'a {
    move |ids| match read(store, heads, kept, ids) {
        Ok(v) => v,
        Err(e) => {
            failed.get_or_insert(e);
            Vec::new()
        }
    }
}

/// The snapshots of `ids` at the heads held (an ID the store no longer holds is left
/// out), keeping the ones read again later in `kept`, with authorship carried into
/// survivors of merges from the tombstones kept.
fn read(
    store: &Store,
    heads: &[(DocId, Vec<ChangeHash>)],
    kept: &mut HashMap<DocId, Arc<Snapshot>>,
    ids: &[DocId],
) -> Result<Vec<Arc<Snapshot>>> {
    let want: Vec<(DocId, Vec<ChangeHash>)> = ids
        .iter()
        .filter_map(|id| {
            let i = heads
                .binary_search_by(|(h, _)| h.as_str().cmp(id.as_str()))
                .ok()?;
            heads.get(i).cloned()
        })
        .collect();
    let snaps = snapshots_at(store, &want, Claims::AsRecords)?;
    for s in &snaps {
        if is_kept(s) {
            kept.insert(s.id.clone(), s.clone());
        } else {
            kept.remove(&s.id);
        }
    }
    let roster = kept.values().find_map(|s| match &s.body {
        Body::Roster(r) => Some(r),
        _ => None,
    });
    let Some(roster) = roster else {
        return Ok(snaps);
    };
    let by_survivor = fieldcrm_policy::tombstones_by_survivor(roster, kept.values().map(|s| &**s));
    if by_survivor.is_empty() {
        return Ok(snaps);
    }
    Ok(snaps
        .into_iter()
        .map(|s| match by_survivor.get(s.id.as_str()) {
            Some(t) => Arc::new(fieldcrm_policy::carried_into(&s, t)),
            None => s,
        })
        .collect())
}

/// Whether a snapshot is read again after its evaluation: the roster (whose merges
/// count), holders of finding states and merged tombstones. The engine keeps the other
/// workspace documents (the Sales document without its claims).
fn is_kept(s: &Snapshot) -> bool {
    let merged = match &s.body {
        Body::Customer(c) => c.merged_into.is_some(),
        Body::Channel(c) => c.merged_into.is_some(),
        Body::Roster(_) => return true,
        _ => return false,
    };
    merged || fieldcrm_policy::holds_finding_states(s)
}

/// The survivors that authorship is carried into from the tombstones kept.
fn survivors(kept: &HashMap<DocId, Arc<Snapshot>>) -> HashSet<DocId> {
    let Some(roster) = kept.values().find_map(|s| match &s.body {
        Body::Roster(r) => Some(r),
        _ => None,
    }) else {
        return HashSet::new();
    };
    fieldcrm_policy::tombstones_by_survivor(roster, kept.values().map(|s| &**s))
        .into_keys()
        .filter_map(|id| id.parse().ok())
        .collect()
}
