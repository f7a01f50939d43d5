//! Sync glue: the redb store as a sync host, and sessions scoped by the roster.

use automerge::ChangeHash;
use fieldcrm_model::{DeviceKey, DocId, DocKind, Roster, Summary, User};
use fieldcrm_store::{LoadError, Store};
use fieldcrm_sync::scope::{Incoming, RosterScope};
use fieldcrm_sync::{Host, HostError, LoadedDoc, SaveDoc, Scope, Session, SessionRole};

use crate::authorship::{FirstSync, FirstSyncRecord};
use crate::{Error, Result, Workspace};

/// The store as a synchronous sync host: loads stored bytes, applies received data in
/// one durable transaction (all or nothing) before the session acknowledges it, on the
/// driver's thread or on its saving thread ([`fieldcrm_sync::Host::saver`]).
pub struct StoreHost {
    store: Store,
    /// The workspace whose claims to compute for the customer files received whole
    /// (kept in the claims backfill's cache), and whose backfill keeps the claims read
    /// from a Sales document received whole, or the Sales document as received changes
    /// were written to it; `None`: none.
    ws: Option<Workspace>,
}

impl StoreHost {
    /// A host over `store`.
    pub fn new(store: Store) -> Self {
        StoreHost { store, ws: None }
    }
}

impl Host for StoreHost {
    fn load(&mut self, ids: &[DocId]) -> std::result::Result<Vec<LoadedDoc>, HostError> {
        ids.iter()
            .map(|id| match self.store.load_signed(id) {
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

    fn save(&mut self, docs: Vec<SaveDoc>) -> std::result::Result<(), HostError> {
        save_received(&self.store, self.ws.as_ref(), docs)
    }

    /// The same saves on the driver's saving thread: a first sync judges the next
    /// message while the last one is saved.
    fn saver(&mut self) -> Option<fieldcrm_sync::Saver> {
        let (store, ws) = (self.store.clone(), self.ws.clone());
        Some(Box::new(move |docs| {
            save_received(&store, ws.as_ref(), docs)
        }))
    }
}

/// Apply what a session received in one durable transaction, with the snapshot and
/// claims cache rows of the files received whole ([`StoreHost`]).
fn save_received(
    store: &Store,
    ws: Option<&Workspace>,
    mut docs: Vec<SaveDoc>,
) -> std::result::Result<(), HostError> {
    if let Some(ws) = ws {
        ws.read_received_sales(&mut docs);
    }
    let workspace = ws.map(Workspace::workspace_id);
    let (snapshots, claims) = crate::snapshots::of_received(&mut docs, workspace);
    // The Sales document as these changes are written to it, for the claims backfill
    // after the session (the store loads it to write them).
    let sales = DocId::workspace(&DocKind::Sales);
    let keep = ws.is_some() && docs.iter().any(|d| d.id == sales && d.loaded.is_none());
    let (_, kept) = store
        .apply_received_keeping(docs.iter_mut().map(received), keep.then_some(&sales))
        .map_err(|e| HostError(e.to_string()))?;
    if let (Some(ws), Some(kept)) = (ws, kept) {
        ws.keep_applied_sales(kept);
    }
    crate::claims::keep(store, &claims);
    // Only a cache, like the claims': a lost row is built again when it is needed.
    let _ = store.put_derived(&snapshots);
    Ok(())
}

/// What the store applies of a document a session received; the document the session
/// loaded to judge it is taken (a first sync does not load each document twice).
pub fn received(d: &mut SaveDoc) -> fieldcrm_store::Received<'_> {
    let SaveDoc {
        id,
        data,
        sigs,
        loaded,
        ..
    } = d;
    fieldcrm_store::Received {
        id,
        data,
        sigs,
        loaded: loaded.take().map(|l| (l.doc, l.summary)),
    }
}

/// A lookup of a held document's summary-index row (see [`RosterScope::new`]).
pub type SummaryFn = Box<dyn Fn(&DocId) -> Option<Summary> + Send + Sync>;

/// The scope of `peer_user` under `roster` over the documents `store` holds, judging
/// roster changes by their chain of authority from the roster document `store` holds
/// (loaded only when roster changes arrive). A device's sessions and the relay's.
pub fn store_scope(
    store: &Store,
    workspace_id: &str,
    roster: impl Into<std::sync::Arc<Roster>>,
    peer_user: impl Into<String>,
) -> RosterScope<SummaryFn> {
    let s = store.clone();
    let summary: SummaryFn = Box::new(move |id| s.summary(id).ok().flatten());
    let s = store.clone();
    let local: fieldcrm_sync::RosterLoader = Box::new(move || {
        s.load_automerge(&DocId::workspace(&DocKind::Roster))
            .map_err(|e| e.to_string())
    });
    RosterScope::new(roster, peer_user, summary).roster_chain_from(workspace_id, local)
}

/// Loads a document `store` holds, for [`RosterScope::history`].
pub fn history_loader(store: &Store) -> fieldcrm_sync::DocLoader {
    let s = store.clone();
    Box::new(move |id| s.load_automerge(id).ok().flatten())
}

/// What a peer may see and change in a session.
pub enum PeerScope {
    /// An enrolled peer: the roster decides (read scope of its user; each change by the
    /// write scope of its signed author).
    Roster(Box<RosterScope<SummaryFn>>),
    /// This device has no roster yet (it just joined): take the workspace from the peer,
    /// offer nothing ([`Bootstrap`]).
    Bootstrap(Box<Bootstrap>),
}

/// The scope of a device's first sync (it holds no roster yet). The roster is judged
/// change by change back to the founding device the workspace ID commits to. Other
/// documents are held to their signatures until the roster is saved (the peer sends it
/// first), and from the next message on each change's author is judged with it, as any
/// later sync would. What was received before is checked when the session ends
/// (`Workspace::after_sync`, which uses the [`FirstSync`] record this fills).
pub struct Bootstrap {
    /// Judges the roster's changes by their chain of authority.
    chain: RosterScope<SummaryFn>,
    /// Judges the authors of other documents' changes, once the roster is held.
    authors: Option<RosterScope<SummaryFn>>,
    ws: Workspace,
    record: FirstSyncRecord,
}

impl Bootstrap {
    fn record(&self) -> std::sync::MutexGuard<'_, FirstSync> {
        self.record.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Scope for PeerScope {
    /// A device keeps a snapshot cache row of every file it receives new
    /// ([`crate::snapshots::of_received`]).
    fn keeps_snapshots(&self) -> bool {
        true
    }

    fn shares(&self, id: &DocId) -> bool {
        match self {
            PeerScope::Roster(s) => s.shares(id),
            PeerScope::Bootstrap(_) => false,
        }
    }

    fn accepts(&self, id: &DocId, incoming: &Incoming<'_>) -> std::result::Result<(), String> {
        match self {
            PeerScope::Roster(s) => s.accepts(id, incoming),
            PeerScope::Bootstrap(_) => Ok(()),
        }
    }

    fn refuse_changes(&self, id: &DocId, incoming: &Incoming<'_>) -> Vec<(ChangeHash, String)> {
        match self {
            PeerScope::Roster(s) => s.refuse_changes(id, incoming),
            PeerScope::Bootstrap(b) if *id == DocId::workspace(&DocKind::Roster) => {
                b.chain.refuse_changes(id, incoming)
            }
            PeerScope::Bootstrap(b) => match &b.authors {
                Some(authors) => authors.refuse_changes(id, incoming),
                None => {
                    b.record().unchecked.push(id.clone());
                    Vec::new()
                }
            },
        }
    }

    fn refresh(&mut self) {
        let PeerScope::Bootstrap(b) = self else {
            return;
        };
        if b.authors.is_some() {
            return;
        }
        let rid = DocId::workspace(&DocKind::Roster);
        // Any failure leaves the documents unchecked here; the end of the session checks
        // them.
        let learned = (|| {
            let heads = b.ws.store().heads(&rid).ok()??;
            let roster = b.ws.roster().ok()?;
            Some((heads, b.ws.roster_scope(roster, String::new()).ok()?))
        })();
        if let Some((heads, scope)) = learned {
            b.record().roster_heads = Some(heads);
            b.authors = Some(scope);
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
        if !self.has_roster()? {
            return self.bootstrap_session(role);
        }
        let (peer_user, _) = self.peer_user(peer)?;
        let mut scope = self.roster_scope(self.roster()?, peer_user.clone())?;
        let local = self.me().ok().map(|me| me.user_id);
        if let Some(me) = &local {
            scope = scope.local_user(me.clone());
        }
        let items = crate::shared::kept_items(self.store(), &peer_user, local.as_deref(), &|s| {
            scope.shares_summary(s)
        })?;
        Ok(Session::with_recent(
            role,
            self.workspace_id(),
            PeerScope::Roster(Box::new(scope)),
            items,
            self.changed_for(&crate::peer_remote(peer))?,
        ))
    }

    /// Start a sync session with the office relay (as initiator). The relay is not a
    /// roster device: it relays every device's changes, so this side shares what its own
    /// user may read and accepts changes its user may write or that enrolled writers
    /// wrote. Without a roster (a device that just joined) the session only receives.
    ///
    /// What is shared is kept between sessions and brought up to date from the store's
    /// change log (`shared.rs`): with nothing changed, no document is read.
    pub fn relay_session(&self) -> Result<PeerSession> {
        self.relay_session_named(None)
    }

    /// [`Workspace::relay_session`] with the relay at `url`, naming what changed here
    /// since the last finished sync with it ([`Workspace::changed_for`]).
    pub fn relay_session_to(&self, url: &str) -> Result<PeerSession> {
        self.relay_session_named(Some(url))
    }

    fn relay_session_named(&self, url: Option<&str>) -> Result<PeerSession> {
        if !self.has_roster()? {
            return self.bootstrap_session(SessionRole::Initiator);
        }
        let (scope, items) = self.relay_items(self.me()?)?;
        let recent = match url {
            Some(url) => self.changed_for(url)?,
            None => Vec::new(),
        };
        Ok(Session::with_recent(
            SessionRole::Initiator,
            self.workspace_id(),
            PeerScope::Roster(Box::new(scope)),
            items,
            recent,
        ))
    }

    /// The scope of `me` with the relay and the items it shares, brought up to date (and
    /// kept for the next session).
    pub(crate) fn relay_items(
        &self,
        me: crate::Me,
    ) -> Result<(RosterScope<SummaryFn>, fieldcrm_sync::Items)> {
        let scope = self.roster_scope(me.roster, me.user_id.clone())?;
        let items = crate::shared::kept_items(self.store(), &me.user_id, None, &|s| {
            scope.shares_summary(s)
        })?;
        Ok((scope, items))
    }

    /// A session of a device without a roster yet: it offers nothing and takes the
    /// workspace from the peer.
    fn bootstrap_session(&self, role: SessionRole) -> Result<PeerSession> {
        Ok(Session::with_items(
            role,
            self.workspace_id(),
            self.bootstrap_scope()?,
            fieldcrm_sync::Items::default(),
        ))
    }

    /// The scope of `peer_user` under `roster`, judging roster changes by their chain
    /// of authority from this device's roster document.
    pub fn roster_scope(
        &self,
        roster: impl Into<std::sync::Arc<Roster>>,
        peer_user: String,
    ) -> Result<RosterScope<SummaryFn>> {
        let roster = std::sync::Arc::unwrap_or_clone(roster.into());
        Ok(
            store_scope(self.store(), self.workspace_id(), roster, peer_user)
                .history(history_loader(self.store())),
        )
    }

    fn bootstrap_scope(&self) -> Result<PeerScope> {
        let empty = Roster::new(self.workspace_id(), "");
        let held_before = !self
            .store()
            .is_empty()
            .map_err(fieldcrm_store::Error::from)?;
        let record = self.first_sync_record(held_before);
        Ok(PeerScope::Bootstrap(Box::new(Bootstrap {
            chain: self.roster_scope(empty, String::new())?,
            authors: None,
            ws: self.clone(),
            record,
        })))
    }

    /// A host over this workspace's store.
    pub fn sync_host(&self) -> StoreHost {
        StoreHost {
            ws: Some(self.clone()),
            ..StoreHost::new(self.store().clone())
        }
    }
}
