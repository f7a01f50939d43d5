//! The state of a store kept up to date by what changed, for a long-running process
//! (the app): every document's policy snapshot and the incremental rule engine over them.
//!
//! When the store's stamp moves (a write by this process or another), [`Live::refresh`]
//! reads every document's heads in one transaction and decodes only the documents whose
//! heads differ; unchanged ones keep their shared snapshot. [`Live::findings`] gives the
//! engine only those documents (and the survivors of merged files, whose authorship is
//! carried from their tombstones, as [`fieldcrm_policy::check_device`] does), so a check
//! after one edit re-evaluates one document, not 100,000.

use std::collections::{HashMap, HashSet};

use std::sync::Arc;

use automerge::ChangeHash;
use fieldcrm_model::{DeviceKey, DocId, Millis, Snapshot};
use fieldcrm_policy::{Config, Engine, Finding};
use fieldcrm_store::Store;

use crate::Result;
use crate::memo::Stamp;
use crate::snapshots::{Claims, snapshots_at};

/// Every document's snapshot, shared: the engine and every page hold the same ones.
pub type Snapshots = Arc<Vec<Arc<Snapshot>>>;

/// Snapshots and the engine, as of one stamp of the store.
pub(crate) struct Live {
    pub(crate) stamp: Option<Stamp>,
    /// The store generation the snapshots reflect (to ask the change log what changed).
    generation: Option<u64>,
    /// Every document's heads, in the store's order (by ID), as `snaps`.
    heads: Vec<Vec<ChangeHash>>,
    pub(crate) snaps: Snapshots,
    engine: Option<Engine<Arc<Snapshot>>>,
    /// Documents changed since the engine last saw the snapshots.
    dirty: HashSet<DocId>,
    /// Documents gone since the engine last saw the snapshots.
    removed: HashSet<DocId>,
    /// Survivors the engine holds with authorship carried into them.
    carried: HashSet<DocId>,
    /// The findings of the engine's last update, and its time.
    findings: Option<(Millis, Arc<Vec<Finding>>)>,
}

/// Every document's heads, by ID (the store's order; sorted here so the merge below
/// never depends on it), and the generation they are the heads at.
pub(crate) fn all_heads(store: &Store) -> Result<(u64, fieldcrm_store::AllHeads)> {
    let (generation, mut ids) = store.all_heads_at().map_err(fieldcrm_store::Error::from)?;
    ids.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
    Ok((generation, ids))
}

impl Live {
    /// Every document read from the store.
    pub(crate) fn load(store: &Store, stamp: Option<Stamp>) -> Result<Live> {
        let (generation, ids) = all_heads(store)?;
        let snaps = snapshots_at(store, &ids, Claims::InMaps)?;
        Ok(Live {
            stamp,
            generation: Some(generation),
            heads: ids.into_iter().map(|(_, h)| h).collect(),
            snaps: Arc::new(snaps),
            engine: None,
            dirty: HashSet::new(),
            removed: HashSet::new(),
            carried: HashSet::new(),
            findings: None,
        })
    }

    /// Bring the snapshots up to date with the store (now at `stamp`): only documents
    /// whose heads changed are decoded. The store's change log names them; when it does
    /// not reach back to the kept generation, every document's heads are read and paired
    /// with what was kept in one pass over both lists in ID order, without hashing
    /// 100,000 IDs.
    pub(crate) fn refresh(&mut self, store: &Store, stamp: Option<Stamp>) -> Result<()> {
        let (generation, ids) = heads_now(store, self.generation, self.held())?;
        let diff = diff_heads(self.held(), &ids);
        let kept: Vec<Option<Arc<Snapshot>>> = diff
            .kept
            .iter()
            .map(|k| k.and_then(|i| self.snaps.get(i).cloned()))
            .collect();
        let HeadsDiff {
            changed, removed, ..
        } = diff;
        let mut fresh = snapshots_at(store, &changed, Claims::InMaps)?.into_iter();
        let mut snaps = Vec::with_capacity(ids.len());
        for k in kept {
            match k.or_else(|| fresh.next()) {
                Some(s) => snaps.push(s),
                // Cannot happen: one fresh snapshot was read per missing one.
                None => return Err(crate::Error::Corrupt("a snapshot went missing".into())),
            }
        }
        for id in removed {
            self.dirty.remove(&id);
            self.removed.insert(id);
        }
        for (id, _) in changed {
            self.removed.remove(&id);
            self.dirty.insert(id);
        }
        self.generation = Some(generation);
        self.heads = ids.into_iter().map(|(_, h)| h).collect();
        self.snaps = Arc::new(snaps);
        self.stamp = stamp;
        Ok(())
    }

    /// Every held document's ID and heads, in ID order.
    fn held(&self) -> impl Iterator<Item = (&DocId, &Vec<ChangeHash>)> {
        self.snaps.iter().map(|s| &s.id).zip(&self.heads)
    }

    /// Every finding on the current snapshots at `now`, on the replica held by `device`
    /// (the same as [`fieldcrm_policy::check_device`]; without a device, as
    /// [`fieldcrm_policy::check`], for the relay): the engine re-evaluates only what
    /// changed since its last update, and what the clock woke.
    pub(crate) fn findings(
        &mut self,
        device: Option<&DeviceKey>,
        now: Millis,
    ) -> Arc<Vec<Finding>> {
        if let Some((at, f)) = &self.findings
            && *at == now
            && self.dirty.is_empty()
            && self.removed.is_empty()
            && self.engine.is_some()
        {
            return f.clone();
        }
        let carried: HashMap<usize, Snapshot> = fieldcrm_policy::carried_survivors(&self.snaps)
            .into_iter()
            .collect();
        let carried_ids: HashSet<DocId> = carried
            .keys()
            .filter_map(|i| self.snaps.get(*i).map(|s| s.id.clone()))
            .collect();
        let snaps = self.snaps.clone();
        let fed = |i: usize, s: &Arc<Snapshot>| match carried.get(&i) {
            Some(c) => Arc::new(c.clone()),
            None => s.clone(),
        };
        let (engine, feed): (&mut Engine<Arc<Snapshot>>, Vec<Arc<Snapshot>>) =
            match &mut self.engine {
                Some(engine) => {
                    // Changed documents, every carried survivor (its tombstones may have
                    // changed) and the ones that were carried before and are not now.
                    let feed = snaps
                        .iter()
                        .enumerate()
                        .filter(|(i, s)| {
                            self.dirty.contains(&s.id)
                                || carried.contains_key(i)
                                || self.carried.contains(&s.id)
                        })
                        .map(|(i, s)| fed(i, s))
                        .collect();
                    (engine, feed)
                }
                None => {
                    let mut new = Engine::new(Config::default());
                    if let Some(device) = device {
                        new = new.with_holder(device);
                    }
                    let engine = self.engine.insert(new);
                    let feed = snaps.iter().enumerate().map(|(i, s)| fed(i, s)).collect();
                    (engine, feed)
                }
            };
        let removed: Vec<DocId> = self.removed.drain().collect();
        engine.update(feed, &removed, now);
        let findings = Arc::new(engine.findings());
        self.dirty.clear();
        self.carried = carried_ids;
        self.findings = Some((now, findings.clone()));
        findings
    }
}

/// Every document's heads now and the generation they are at: the heads `held` at
/// generation `since` with the change log applied, or every document's heads read when
/// the log does not reach back that far (or nothing is held yet).
pub(crate) fn heads_now<'a>(
    store: &Store,
    since: Option<u64>,
    held: impl Iterator<Item = (&'a DocId, &'a Vec<ChangeHash>)>,
) -> Result<(u64, fieldcrm_store::AllHeads)> {
    let logged = match since {
        Some(g) => store
            .changed_since(g)
            .map_err(fieldcrm_store::Error::from)?,
        None => None,
    };
    match logged {
        Some(changed) => Ok((changed.generation, patch_heads(held, changed.docs))),
        None => all_heads(store),
    }
}

/// Heads kept (in ID order) with the logged changes applied (in ID order too): every
/// document's heads now, without reading the unchanged ones from the store.
fn patch_heads<'a>(
    held: impl Iterator<Item = (&'a DocId, &'a Vec<ChangeHash>)>,
    docs: Vec<fieldcrm_store::ChangedDoc>,
) -> Vec<(DocId, Vec<ChangeHash>)> {
    let mut out = Vec::with_capacity(docs.len());
    let mut old = held.peekable();
    for d in docs {
        while let Some((id, h)) = old.next_if(|(id, _)| id.as_str() < d.id.as_str()) {
            out.push((id.clone(), h.clone()));
        }
        // The logged document replaces what was kept of it.
        let _ = old.next_if(|(id, _)| id.as_str() == d.id.as_str());
        if let Some(h) = d.heads {
            out.push((d.id, h));
        }
    }
    out.extend(old.map(|(id, h)| (id.clone(), h.clone())));
    out
}

/// What differs between the heads held and the heads now (both in ID order).
pub(crate) struct HeadsDiff {
    /// Documents new or with other heads, in ID order.
    pub(crate) changed: Vec<(DocId, Vec<ChangeHash>)>,
    /// Documents no longer there.
    pub(crate) removed: Vec<DocId>,
    /// For each document now, its position among the held ones when its heads are the
    /// same.
    pub(crate) kept: Vec<Option<usize>>,
}

/// Pair the heads held with the heads now in one pass over both lists in ID order,
/// without hashing 100,000 IDs.
pub(crate) fn diff_heads<'a>(
    held: impl Iterator<Item = (&'a DocId, &'a Vec<ChangeHash>)>,
    now: &[(DocId, Vec<ChangeHash>)],
) -> HeadsDiff {
    let mut diff = HeadsDiff {
        changed: Vec::new(),
        removed: Vec::new(),
        kept: Vec::with_capacity(now.len()),
    };
    let mut old = held.enumerate().peekable();
    for (id, heads) in now {
        while let Some((_, (gone, _))) = old.next_if(|(_, (o, _))| o.as_str() < id.as_str()) {
            diff.removed.push(gone.clone());
        }
        match old.next_if(|(_, (o, _))| o.as_str() == id.as_str()) {
            Some((i, (_, h))) if h == heads => diff.kept.push(Some(i)),
            _ => {
                diff.kept.push(None);
                diff.changed.push((id.clone(), heads.clone()));
            }
        }
    }
    diff.removed.extend(old.map(|(_, (id, _))| id.clone()));
    diff
}
