//! One device's session on the relay: its scope (what it may read and write) and the
//! relay store as its host (audit row, durable save, events).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use automerge::ChangeHash;
use fieldcrm_model::access::can_read;
use fieldcrm_model::{DeviceKey, DocId, DocKind, Roster};
use fieldcrm_net::ws::OUT_OF_SCOPE;
use fieldcrm_store::{LoadError, Store};
use fieldcrm_sync::scope::{Incoming, RosterScope};
use fieldcrm_sync::{Host, HostError, LoadedDoc, SaveDoc, Scope};

use crate::audit::AuditRow;
use crate::relay::{Relay, SummaryFn};

pub(crate) enum ScopeKind {
    Bootstrap(Box<RosterScope<SummaryFn>>),
    Roster {
        roster: Arc<Roster>,
        user: String,
        scope: Box<RosterScope<SummaryFn>>,
    },
}

/// What one device may read and write through the relay.
///
/// - Read: [`fieldcrm_model::access::can_read`] of the device's user on the relay's own
///   summary of each document (via [`RosterScope`]); nothing else is revealed.
/// - Write: change by change, by its signed author (enrolled, not revoked when it made
///   the change, allowed to write the document; roster changes by the chain of admins
///   back to the founding device): a device delivers its own changes and any it received
///   from others. A document the relay holds but the delivering user may not read is
///   refused with a reason starting with [`OUT_OF_SCOPE`] (the device then drops its
///   copy).
/// - Bootstrap (the configured admin device before any roster): receives nothing; the
///   roster it sends is judged by its chain back to the founding device, other documents
///   by their signatures.
pub struct RelayScope {
    pub(crate) kind: ScopeKind,
    pub(crate) store: Store,
    pub(crate) authors: Arc<Mutex<HashMap<DocId, Vec<String>>>>,
}

impl Scope for RelayScope {
    fn shares(&self, id: &DocId) -> bool {
        match &self.kind {
            ScopeKind::Bootstrap(_) => false,
            ScopeKind::Roster { scope, .. } => scope.shares(id),
        }
    }

    fn accepts(&self, id: &DocId, incoming: &Incoming<'_>) -> Result<(), String> {
        let authors: Vec<String> = incoming.authors.iter().map(|a| a.to_hex_string()).collect();
        self.authors
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id.clone(), authors);
        let ScopeKind::Roster {
            roster,
            user,
            scope,
        } = &self.kind
        else {
            return Ok(());
        };
        let held = self
            .store
            .summary(id)
            .map_err(|e| format!("document {}: relay store: {e}", id.short()))?;
        if let Some(s) = &held
            && !can_read(roster, user, s)
        {
            return Err(format!(
                "{OUT_OF_SCOPE} document {} is not shared with you",
                id.short()
            ));
        }
        scope.accepts(id, incoming)
    }

    /// A document the relay holds that the device may no longer read (reassigned):
    /// its changes are judged against the document as their authors saw it and the
    /// acceptable ones kept, and the device is told to remove its copy.
    fn leaving(&self, id: &DocId, _incoming: &Incoming<'_>) -> Option<String> {
        let ScopeKind::Roster { roster, user, .. } = &self.kind else {
            return None;
        };
        let held = self.store.summary(id).ok()??;
        (!can_read(roster, user, &held)).then(|| {
            format!(
                "{OUT_OF_SCOPE} document {} is not shared with you",
                id.short()
            )
        })
    }

    fn refuse_changes(&self, id: &DocId, incoming: &Incoming<'_>) -> Vec<(ChangeHash, String)> {
        match &self.kind {
            ScopeKind::Roster { scope, .. } => scope.refuse_changes(id, incoming),
            ScopeKind::Bootstrap(scope)
                if *id == DocId::workspace(&fieldcrm_model::DocKind::Roster) =>
            {
                scope.refuse_changes(id, incoming)
            }
            ScopeKind::Bootstrap(_) => Vec::new(),
        }
    }
}

/// The relay store as the host of one device's session: every save is written to the
/// audit log (device, user, document, authors, time) and committed durably before the
/// session acknowledges it.
pub struct RelayHost {
    pub(crate) relay: Relay,
    pub(crate) device: DeviceKey,
    pub(crate) user: String,
    pub(crate) transport: &'static str,
    pub(crate) authors: Arc<Mutex<HashMap<DocId, Vec<String>>>>,
    /// The store's generation when the session started.
    pub(crate) started: u64,
    /// The documents this session saved.
    pub(crate) saved: HashSet<DocId>,
}

impl Host for RelayHost {
    fn load(&mut self, ids: &[DocId]) -> Result<Vec<LoadedDoc>, HostError> {
        let store = self.relay.store();
        ids.iter()
            .map(|id| match store.load_signed(id) {
                Ok((bytes, sigs)) => Ok(LoadedDoc {
                    id: id.clone(),
                    bytes: Some(bytes),
                    sigs,
                }),
                Err(LoadError::NotFound { .. }) => Ok(LoadedDoc {
                    id: id.clone(),
                    bytes: None,
                    sigs: Vec::new(),
                }),
                Err(e) => Err(HostError(e.to_string())),
            })
            .collect()
    }

    fn save(&mut self, mut docs: Vec<SaveDoc>) -> Result<(), HostError> {
        let at_ms = self.relay.now_ms();
        let rows: Vec<AuditRow> = {
            let authors = self.authors.lock().unwrap_or_else(|p| p.into_inner());
            docs.iter()
                .map(|d| AuditRow {
                    at_ms,
                    device: self.device.to_hex(),
                    user: self.user.clone(),
                    transport: self.transport.into(),
                    doc: d.id.as_str().into(),
                    whole: d.whole_heads.is_some(),
                    bytes: d.data.len() as u64,
                    authors: authors.get(&d.id).cloned().unwrap_or_default(),
                })
                .collect()
        };
        // Audit first: a row may describe a delivery the crash below lost, but no stored
        // change lacks its row.
        self.relay
            .audit()
            .append(&rows)
            .map_err(|e| HostError(format!("audit log: {e}")))?;
        let roster_id = DocId::workspace(&DocKind::Roster);
        let roster_before = if docs.iter().any(|d| d.id == roster_id) {
            Some(self.relay.roster().ok().flatten())
        } else {
            None
        };
        self.relay
            .store()
            .apply_received(docs.iter_mut().map(fieldcrm_workspace::received))
            .map_err(|e| HostError(e.to_string()))?;
        self.relay.metrics().saved(docs.len() as u64);
        self.saved.extend(docs.iter().map(|d| d.id.clone()));
        let roster_by = self
            .authors
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&roster_id)
            .cloned();
        self.relay.note_saved(
            &self.device,
            docs.iter().map(|d| d.id.as_str().to_string()),
            roster_before.map(|before| (before, roster_by.unwrap_or_default())),
            at_ms,
        );
        Ok(())
    }
}

/// Where a device's last finished session left it: the store's generation at its end,
/// and the documents other writers changed while it ran (the session offered their
/// earlier versions).
#[derive(Debug, Clone)]
pub(crate) struct Synced {
    generation: u64,
    others: Vec<DocId>,
}

/// [`Synced`] by device.
pub(crate) type SyncedMap = HashMap<DeviceKey, Synced>;

/// Devices whose last session the relay remembers; past this, one is forgotten (its
/// next session finds its changes by ranges alone).
const SYNCED_KEPT: usize = 10_000;

fn synced_lock(m: &Mutex<SyncedMap>) -> std::sync::MutexGuard<'_, SyncedMap> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The documents to name in `device`'s next session: changed on the relay since its
/// last finished one (by the change log). Empty when that is unknown (no session since
/// the relay started, or the log no longer reaches back) or too many.
pub(crate) fn changed_for(
    store: &Store,
    synced: &Mutex<SyncedMap>,
    device: &DeviceKey,
) -> Vec<DocId> {
    let Some(last) = synced_lock(synced).get(device).cloned() else {
        return Vec::new();
    };
    let Ok(Some(changed)) = store.changed_since(last.generation) else {
        return Vec::new();
    };
    let mut ids: Vec<DocId> = changed.docs.into_iter().map(|d| d.id).collect();
    ids.extend(last.others);
    if ids.len() > fieldcrm_sync::MAX_NAMED {
        return Vec::new();
    }
    ids
}

impl RelayHost {
    /// The session finished: both sides now hold the same versions of what it offered.
    /// Remember where that leaves the device: documents written since by anyone, and
    /// those other writers changed while the session ran, are named next time.
    pub(crate) fn finished(&self) {
        let store = self.relay.store();
        // Read the store before taking the lock: other sessions' starts wait on it.
        let read = (store.generation(), store.changed_since(self.started));
        let mut kept = synced_lock(self.relay.synced());
        let (Ok(generation), Ok(Some(during))) = read else {
            kept.remove(&self.device);
            return;
        };
        let others: Vec<DocId> = during
            .docs
            .into_iter()
            .map(|d| d.id)
            .filter(|id| !self.saved.contains(id))
            .collect();
        if others.len() > fieldcrm_sync::MAX_NAMED {
            kept.remove(&self.device);
            return;
        }
        if kept.len() >= SYNCED_KEPT && !kept.contains_key(&self.device) {
            let any = kept.keys().next().copied();
            if let Some(any) = any {
                kept.remove(&any);
            }
        }
        kept.insert(self.device, Synced { generation, others });
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;
    use crate::Config;
    use fieldcrm_workspace::{InitOptions, Workspace};

    #[test]
    fn a_device_is_named_what_others_wrote_since_its_last_session() {
        let dir = tempfile::tempdir().unwrap();
        let ws = Workspace::init(
            &dir.path().join("admin"),
            &InitOptions::admin("管理员", "示例科技", "laptop"),
            0,
        )
        .unwrap();
        let config = Config {
            data_dir: dir.path().join("relay"),
            iroh_listen: None,
            ..Config::default()
        };
        Relay::init(&config.data_dir, ws.workspace_id(), ws.device()).unwrap();
        let relay = Relay::open(config).unwrap();
        let store = relay.store().clone();
        let device = ws.device();
        let [x, y, z, w] = DocKind::SINGLETONS.map(|k| DocId::workspace(&k));
        let write = |id: &DocId| {
            let (bytes, sigs) = ws.store().load_signed(id).unwrap();
            store
                .apply_batch([(id, bytes.as_slice(), sigs.as_slice())])
                .unwrap();
        };
        let host = |started: u64, saved: &[&DocId]| RelayHost {
            relay: relay.clone(),
            device,
            user: "u".into(),
            transport: "test",
            authors: Arc::default(),
            started,
            saved: saved.iter().map(|&id| id.clone()).collect(),
        };
        let named = || changed_for(&store, relay.synced(), &device);

        // No finished session yet: nothing is named (the ranges find everything).
        write(&x);
        assert!(named().is_empty());
        // A session saves y while another writer stores z: z is named next time, y not.
        let started = store.generation().unwrap();
        write(&y);
        write(&z);
        host(started, &[&y]).finished();
        assert_eq!(named(), vec![z.clone()]);
        // A session with nothing written meanwhile: nothing named; then a later write is.
        host(store.generation().unwrap(), &[]).finished();
        assert!(named().is_empty());
        write(&x); // the same content again: not a change
        write(&w);
        assert_eq!(named(), vec![w.clone()]);
        // Another device's record is its own: none yet.
        let other = fieldcrm_model::DeviceSecret::from_bytes(&[7; 32])
            .unwrap()
            .public();
        assert!(changed_for(&store, relay.synced(), &other).is_empty());
    }
}
