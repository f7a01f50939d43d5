//! Sync glue: the redb store as a sync host, and sessions scoped by the roster.

use fieldcrm_model::{DeviceKey, DocId, Summary, User};
use fieldcrm_store::{LoadError, Store};
use fieldcrm_sync::scope::{Incoming, RosterScope};
use fieldcrm_sync::{Host, HostError, LoadedDoc, SaveDoc, Scope, Session, SessionRole};

use crate::{Error, Result, Workspace};

/// The store as a synchronous sync host: loads stored bytes, applies received data in
/// one durable transaction (all or nothing) before the session acknowledges it.
pub struct StoreHost {
    store: Store,
    /// Documents received and saved in this session, in order.
    pub received: Vec<DocId>,
}

impl StoreHost {
    /// A host over `store`.
    pub fn new(store: Store) -> Self {
        StoreHost {
            store,
            received: Vec::new(),
        }
    }
}

impl Host for StoreHost {
    fn load(&mut self, ids: &[DocId]) -> std::result::Result<Vec<LoadedDoc>, HostError> {
        ids.iter()
            .map(|id| match self.store.load_bytes(id) {
                Ok(bytes) => Ok(LoadedDoc {
                    id: id.clone(),
                    bytes: Some(bytes),
                }),
                Err(LoadError::NotFound { .. }) => Ok(LoadedDoc {
                    id: id.clone(),
                    bytes: None,
                }),
                Err(e) => Err(HostError(e.to_string())),
            })
            .collect()
    }

    fn save(&mut self, docs: Vec<SaveDoc>) -> std::result::Result<(), HostError> {
        self.store
            .apply_batch(docs.iter().map(|d| (&d.id, d.data.as_slice())))
            .map_err(|e| HostError(e.to_string()))?;
        self.received.extend(docs.into_iter().map(|d| d.id));
        Ok(())
    }
}

type SummaryFn = Box<dyn Fn(&DocId) -> Option<Summary> + Send + Sync>;

/// What a peer may see and change in a session.
pub enum PeerScope {
    /// An enrolled peer: the roster decides (read and write scope of its user).
    Roster(Box<RosterScope<SummaryFn>>),
    /// This device has no roster yet (it just joined): take the workspace from the peer,
    /// offer nothing.
    Bootstrap,
}

impl Scope for PeerScope {
    fn shares(&self, id: &DocId) -> bool {
        match self {
            PeerScope::Roster(s) => s.shares(id),
            PeerScope::Bootstrap => false,
        }
    }

    fn accepts(&self, id: &DocId, incoming: &Incoming<'_>) -> std::result::Result<(), String> {
        match self {
            PeerScope::Roster(s) => s.accepts(id, incoming),
            PeerScope::Bootstrap => Ok(()),
        }
    }
}

/// A sync session of this workspace with one peer.
pub type PeerSession = Session<PeerScope>;

impl Workspace {
    /// Whether this device has received the workspace (its roster) yet.
    pub fn has_roster(&self) -> Result<bool> {
        Ok(self
            .store()
            .contains(&DocId::workspace(&fieldcrm_model::DocKind::Roster))
            .map_err(fieldcrm_store::Error::from)?)
    }

    /// The enrolled, unrevoked user behind a peer device; an error naming the device
    /// otherwise.
    pub fn peer_user(&self, peer: &DeviceKey) -> Result<(String, User)> {
        let roster = self.roster()?;
        let dev = roster
            .devices
            .get(&peer.to_hex())
            .ok_or(Error::NotEnrolled(*peer))?;
        if dev.revoked_at.is_some() {
            return Err(Error::Revoked(*peer));
        }
        let user = roster
            .users
            .get(&dev.user)
            .ok_or(Error::NotEnrolled(*peer))?;
        if !user.active {
            return Err(Error::denied(format!("user {} is deactivated", user.name)));
        }
        Ok((dev.user.clone(), user.clone()))
    }

    /// Start a sync session with `peer`. With a roster, the peer must be an enrolled
    /// device and sees only what its user may read; without one (a device that just
    /// joined), the session only receives.
    pub fn sync_session(&self, role: SessionRole, peer: &DeviceKey) -> Result<PeerSession> {
        let index = self
            .store()
            .all_heads()
            .map_err(fieldcrm_store::Error::from)?;
        let scope = if self.has_roster()? {
            let (peer_user, _) = self.peer_user(peer)?;
            let store = self.store().clone();
            let summary: SummaryFn = Box::new(move |id| store.summary(id).ok().flatten());
            let mut scope = RosterScope::new(self.roster()?, peer_user, summary);
            if let Ok(me) = self.me() {
                scope = scope.local_user(me.user_id);
            }
            PeerScope::Roster(Box::new(scope))
        } else {
            PeerScope::Bootstrap
        };
        Ok(Session::new(role, self.workspace_id(), scope, index))
    }

    /// Start a sync session with the office relay (as initiator). The relay is not a
    /// roster device: it relays every device's changes, so this side shares what its own
    /// user may read and accepts changes its user may write or that enrolled writers
    /// wrote. Without a roster (a device that just joined) the session only receives.
    pub fn relay_session(&self) -> Result<PeerSession> {
        let index = self
            .store()
            .all_heads()
            .map_err(fieldcrm_store::Error::from)?;
        let scope = if self.has_roster()? {
            let me = self.me()?;
            let store = self.store().clone();
            let summary: SummaryFn = Box::new(move |id| store.summary(id).ok().flatten());
            PeerScope::Roster(Box::new(RosterScope::new(me.roster, me.user_id, summary)))
        } else {
            PeerScope::Bootstrap
        };
        Ok(Session::new(
            SessionRole::Initiator,
            self.workspace_id(),
            scope,
            index,
        ))
    }

    /// A host over this workspace's store.
    pub fn sync_host(&self) -> StoreHost {
        StoreHost::new(self.store().clone())
    }
}
