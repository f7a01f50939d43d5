//! What a peer may read and write: the scope hook the session asks before revealing,
//! sending or accepting a document.

use automerge::ActorId;
use fieldcrm_model::access::{can_read, can_write};
use fieldcrm_model::{DeviceKey, DocId, Roster, Summary};

/// What the session knows about changes a peer sent, for [`Scope::accepts`].
#[derive(Debug)]
#[non_exhaustive]
pub struct Incoming<'a> {
    /// Whether this side offered the document in this session (it holds it and it is
    /// shared with the peer). When false, `summary` describes the received document.
    pub held: bool,
    /// The summary of the received document, computed from its content, for a document
    /// this side did not offer; `Err` says why it is not a fieldcrm document this build reads.
    pub summary: Option<Result<&'a Summary, &'a str>>,
    /// The Automerge actors that wrote the received changes (device keys for fieldcrm
    /// devices). The peer may be relaying changes written by others.
    pub authors: &'a [ActorId],
}

/// The scope of one peer: asked by the session before it offers, sends or accepts a
/// document. Implementations must answer from local data only (no IO per call); the
/// session calls [`Scope::shares`] once per local document when it starts.
pub trait Scope {
    /// Whether a document this side holds is shared with the peer: it appears in the
    /// peer's reconciliation (fingerprints, ID lists) and its changes are sent. A document
    /// for which this returns false is never revealed, not even by a fingerprint.
    ///
    /// Both sides should answer the same for the same document (for example "both users
    /// may read it"); a document one side shares and the other does not is reported as a
    /// difference on every reconnect.
    fn shares(&self, id: &DocId) -> bool;

    /// Whether to accept changes the peer sent to a document. `Err` carries the reason,
    /// which is sent to the peer.
    fn accepts(&self, id: &DocId, incoming: &Incoming<'_>) -> Result<(), String>;
}

/// A scope that shares and accepts everything: for tests, and for a peer that is the same
/// user's other device when no roster is available yet.
#[derive(Debug, Clone, Copy, Default)]
pub struct Unrestricted;

impl Scope for Unrestricted {
    fn shares(&self, _id: &DocId) -> bool {
        true
    }

    fn accepts(&self, _id: &DocId, _incoming: &Incoming<'_>) -> Result<(), String> {
        Ok(())
    }
}

impl<S: Scope + ?Sized> Scope for &S {
    fn shares(&self, id: &DocId) -> bool {
        (**self).shares(id)
    }

    fn accepts(&self, id: &DocId, incoming: &Incoming<'_>) -> Result<(), String> {
        (**self).accepts(id, incoming)
    }
}

/// The roster-based scope, using [`fieldcrm_model::access::can_read`] and
/// [`can_write`] so sync answers exactly as the rest of fieldcrm does.
///
/// - Shared: documents the peer's user may read, and (when a local user is set) the local
///   user may read too, so that both sides compute the same set.
/// - Accepted: when the peer's user may write the document; or, for changes the peer
///   relays, when every author is an enrolled, unrevoked device whose user may write it.
///   Actor IDs are not signed, so the second rule trusts the peer not to forge authors;
///   set [`RosterScope::peer_writes_only`] to refuse relayed changes.
pub struct RosterScope<F> {
    roster: Roster,
    peer_user: String,
    local_user: Option<String>,
    summary: F,
    relayed: bool,
}

impl<F: Fn(&DocId) -> Option<Summary>> RosterScope<F> {
    /// The scope of `peer_user` (found from the peer's device key by the transport), with
    /// `summary` looking up a held document's summary-index row.
    pub fn new(roster: Roster, peer_user: impl Into<String>, summary: F) -> Self {
        RosterScope {
            roster,
            peer_user: peer_user.into(),
            local_user: None,
            summary,
            relayed: true,
        }
    }

    /// Also require the local user to be able to read a document before sharing it
    /// (a rep's device; a relay has no user of its own).
    pub fn local_user(mut self, user: impl Into<String>) -> Self {
        self.local_user = Some(user.into());
        self
    }

    /// Accept only changes to documents the peer's user may write, even when they were
    /// written by someone else.
    pub fn peer_writes_only(mut self) -> Self {
        self.relayed = false;
        self
    }

    fn author_may_write(&self, actor: &ActorId, summary: &Summary) -> bool {
        let Some(key) = DeviceKey::from_actor(actor) else {
            return false;
        };
        let Some(device) = self.roster.devices.get(&key.to_hex()) else {
            return false;
        };
        device.revoked_at.is_none() && can_write(&self.roster, &device.user, summary)
    }
}

impl<F: Fn(&DocId) -> Option<Summary>> Scope for RosterScope<F> {
    fn shares(&self, id: &DocId) -> bool {
        let Some(s) = (self.summary)(id) else {
            return false;
        };
        can_read(&self.roster, &self.peer_user, &s)
            && self
                .local_user
                .as_deref()
                .is_none_or(|u| can_read(&self.roster, u, &s))
    }

    fn accepts(&self, id: &DocId, incoming: &Incoming<'_>) -> Result<(), String> {
        let held;
        let summary: &Summary = match (incoming.held, incoming.summary) {
            (false, Some(Ok(s))) => s,
            (false, Some(Err(e))) => {
                return Err(format!("document {} is not accepted: {e}", id.short()));
            }
            _ => {
                held = (self.summary)(id).ok_or_else(|| {
                    format!(
                        "document {} is not accepted: it is not shared with you",
                        id.short()
                    )
                })?;
                &held
            }
        };
        if can_write(&self.roster, &self.peer_user, summary) {
            return Ok(());
        }
        if self.relayed
            && !incoming.authors.is_empty()
            && incoming
                .authors
                .iter()
                .all(|a| self.author_may_write(a, summary))
        {
            return Ok(());
        }
        Err(format!(
            "user {} may not write {} document {} ({})",
            self.peer_user,
            summary.kind,
            id.short(),
            summary.name
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fieldcrm_model::{Device, DocKind, Role, User};

    fn roster() -> Roster {
        let mut r = Roster::new("w", "W");
        for (id, role) in [
            ("rep1", Role::Rep),
            ("rep2", Role::Rep),
            ("mgr", Role::Manager),
        ] {
            r.users.insert(
                id.into(),
                User {
                    name: id.into(),
                    role,
                    team: Some("east".into()),
                    region: None,
                    active: true,
                    created_at: 0,
                },
            );
        }
        r.devices.insert(
            DeviceKey([9; 32]).to_hex(),
            Device {
                user: "mgr".into(),
                label: "laptop".into(),
                enrolled_at: 0,
                revoked_at: None,
            },
        );
        r
    }

    fn summary(kind: DocKind, owner: Option<&str>) -> Summary {
        Summary {
            kind,
            name: "x".into(),
            class: None,
            owner: owner.map(Into::into),
            team: Some("east".into()),
            status: None,
            region: None,
            merged_into: None,
            archived: false,
            updated_at: 0,
        }
    }

    #[test]
    fn shares_what_both_users_may_read() {
        let rep1_doc = DocId::random();
        let catalog = DocId::workspace(&DocKind::Catalog);
        let lookup = |id: &DocId| {
            if *id == catalog {
                Some(summary(DocKind::Catalog, None))
            } else if *id == rep1_doc {
                Some(summary(DocKind::Customer, Some("rep1")))
            } else {
                None
            }
        };
        let to_rep2 = RosterScope::new(roster(), "rep2", lookup);
        assert!(!to_rep2.shares(&rep1_doc));
        assert!(to_rep2.shares(&catalog));
        assert!(
            !to_rep2.shares(&DocId::random()),
            "unknown documents are never shared"
        );
        let mgr_to_rep1 = RosterScope::new(roster(), "mgr", lookup).local_user("rep2");
        assert!(
            !mgr_to_rep1.shares(&rep1_doc),
            "the local user cannot read it"
        );
        let mgr = RosterScope::new(roster(), "mgr", lookup).local_user("rep1");
        assert!(mgr.shares(&rep1_doc));
    }

    #[test]
    fn accepts_writers_and_relayed_changes_of_writers() {
        let catalog = DocId::workspace(&DocKind::Catalog);
        let lookup = |_: &DocId| Some(summary(DocKind::Catalog, None));
        let from_rep = RosterScope::new(roster(), "rep1", lookup);
        let manager_actor = DeviceKey([9; 32]).actor();
        let rep_actor = DeviceKey([8; 32]).actor();
        fn incoming(authors: &[ActorId]) -> Incoming<'_> {
            Incoming {
                held: true,
                summary: None,
                authors,
            }
        }
        let own = [rep_actor];
        let err = from_rep.accepts(&catalog, &incoming(&own)).unwrap_err();
        assert!(err.contains("rep1 may not write catalog"), "{err}");
        let relayed = [manager_actor];
        assert!(from_rep.accepts(&catalog, &incoming(&relayed)).is_ok());
        let strict = RosterScope::new(roster(), "rep1", lookup).peer_writes_only();
        assert!(strict.accepts(&catalog, &incoming(&relayed)).is_err());
        let from_mgr = RosterScope::new(roster(), "mgr", lookup);
        assert!(from_mgr.accepts(&catalog, &incoming(&own)).is_ok());
        // A new document that is not a fieldcrm document this build reads.
        let err = from_mgr
            .accepts(
                &DocId::random(),
                &Incoming {
                    held: false,
                    summary: Some(Err("unknown kind `spaceship`")),
                    authors: &own,
                },
            )
            .unwrap_err();
        assert!(err.contains("spaceship"), "{err}");
    }
}
