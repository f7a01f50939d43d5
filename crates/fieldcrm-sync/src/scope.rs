//! What a peer may read and write: the scope hook the session asks before revealing,
//! sending or accepting a document.

use automerge::{ActorId, AutoCommit, Automerge, Change, ChangeHash};
use fieldcrm_model::access::{can_read, can_write};
use fieldcrm_model::{DeviceKey, DocId, Roster, Summary};

/// One received change whose signature verified: who made it, when, on top of what.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChangeInfo {
    /// The change hash.
    pub hash: ChangeHash,
    /// The device that made and signed it (its actor ID is the device key).
    pub author: DeviceKey,
    /// The change time as written by its author (Automerge seconds; earlier builds wrote
    /// milliseconds, see `fieldcrm_model::change_time_ms`).
    pub time: i64,
    /// The changes it depends on.
    pub deps: Vec<ChangeHash>,
}

/// The received content, for a scope that must read it (the roster's chain of
/// authority is judged change by change against the roster each change was made on).
#[derive(Debug, Clone, Copy)]
pub enum Content<'a> {
    /// Change chunks, in causal order.
    Changes(&'a [Change]),
    /// A whole document.
    Whole(&'a Automerge),
}

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
    /// The changes whose signatures verified, in causal order (changes with a bad or
    /// missing signature are already refused and not listed).
    pub changes: &'a [ChangeInfo],
    /// The received content.
    pub content: Content<'a>,
}

/// The scope of one peer: asked by the session before it offers, sends or accepts a
/// document. Implementations must answer from local data only (no IO per call); the
/// session calls [`Scope::shares`] once per local document when it starts. The documents
/// of one message are judged on several threads at once.
pub trait Scope: Sync {
    /// Whether a document this side holds is shared with the peer: it appears in the
    /// peer's reconciliation (fingerprints, ID lists) and its changes are sent. A document
    /// for which this returns false is never revealed, not even by a fingerprint.
    ///
    /// Both sides should answer the same for the same document (for example "both users
    /// may read it"); a document one side shares and the other does not is reported as a
    /// difference on every reconnect.
    fn shares(&self, id: &DocId) -> bool;

    /// Whether to accept changes the peer sent to a document at all. `Err` carries the
    /// reason, which is sent to the peer.
    fn accepts(&self, id: &DocId, incoming: &Incoming<'_>) -> Result<(), String>;

    /// Of a document the scope accepts, the changes to refuse one by one (their authors
    /// may not write it, or were revoked when they made them), with the reason. The
    /// session also refuses every change that depends on a refused one, and keeps the
    /// rest.
    fn refuse_changes(&self, id: &DocId, incoming: &Incoming<'_>) -> Vec<(ChangeHash, String)> {
        let _ = (id, incoming);
        Vec::new()
    }

    /// Called before the documents of each received message that carries changes are
    /// judged, between messages (what earlier messages brought is saved by then): the
    /// scope may bring what it knows up to date from local data. A device's first sync
    /// learns the roster it received in an earlier message, and judges the authors of
    /// every later document with it. The default does nothing.
    fn refresh(&mut self) {}

    /// A document the peer may no longer hold (it left the peer's scope, e.g. its
    /// customer was reassigned) but whose changes are still judged one by one and the
    /// acceptable ones saved — an old owner's offline work made while it owned the file
    /// is not lost. `Some(reason)` is then sent as the document's refusal, so the peer
    /// removes its copy after the sync. `None` (the default): judge with
    /// [`accepts`](Scope::accepts).
    fn leaving(&self, id: &DocId, incoming: &Incoming<'_>) -> Option<String> {
        let _ = (id, incoming);
        None
    }

    /// Whether the host keeps the policy snapshot of a document received whole and new
    /// to it ([`crate::JudgedDoc::snapshot`]): judging then reads the document's content
    /// once for its summary and its snapshot. The default: no (a relay checks no rules
    /// per received document).
    fn keeps_snapshots(&self) -> bool {
        false
    }
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

    fn refuse_changes(&self, id: &DocId, incoming: &Incoming<'_>) -> Vec<(ChangeHash, String)> {
        (**self).refuse_changes(id, incoming)
    }
    fn leaving(&self, id: &DocId, incoming: &Incoming<'_>) -> Option<String> {
        (**self).leaving(id, incoming)
    }

    fn keeps_snapshots(&self) -> bool {
        (**self).keeps_snapshots()
    }
}

/// The roster-based scope, using [`fieldcrm_model::access::can_read`] and
/// [`can_write`] so sync answers exactly as the rest of fieldcrm does.
///
/// - Shared: documents the peer's user may read, and (when a local user is set) the local
///   user may read too, so that both sides compute the same set.
/// - Accepted, change by change, whoever carried it: a change whose author (a verified
///   signature names it) is an enrolled device, not revoked when it made the change, of
///   an active user who may write the document. A peer may relay anyone's changes: the
///   signatures, not the peer, say who wrote them.
/// - Roster changes ([`RosterScope::roster_chain`]): each must be made by an admin's
///   device in the roster *it was made on* (the roster at its dependencies), back to the
///   first change, which only the device the workspace ID commits to may make; or be a
///   device's enrolment of itself by an admin's invitation (`enrolment.rs`).
pub struct RosterScope<F> {
    roster: std::sync::Arc<Roster>,
    peer_user: String,
    local_user: Option<String>,
    summary: F,
    chain: Option<crate::chain::RosterChain>,
    history: Option<DocLoader>,
}

/// Loads a held document (see [`RosterScope::history`]).
pub type DocLoader = Box<dyn Fn(&DocId) -> Option<AutoCommit> + Send + Sync>;

/// Loads the roster document held here (`None`: none is held yet), only when roster
/// changes arrive (see [`RosterScope::roster_chain_from`]).
pub type RosterLoader = Box<dyn Fn() -> Result<Option<AutoCommit>, String> + Send + Sync>;

use crate::chain::RosterChain;

impl<F: Fn(&DocId) -> Option<Summary>> RosterScope<F> {
    /// The scope of `peer_user` (found from the peer's device key by the transport), with
    /// `summary` looking up a held document's summary-index row.
    pub fn new(
        roster: impl Into<std::sync::Arc<Roster>>,
        peer_user: impl Into<String>,
        summary: F,
    ) -> Self {
        RosterScope {
            roster: roster.into(),
            peer_user: peer_user.into(),
            local_user: None,
            summary,
            chain: None,
            history: None,
        }
    }

    /// Whether a document with summary `s` is shared: the peer's user may read it, and
    /// the local user too when one is set ([`Scope::shares`] of a held document).
    pub fn shares_summary(&self, s: &Summary) -> bool {
        can_read(&self.roster, &self.peer_user, s)
            && self
                .local_user
                .as_deref()
                .is_none_or(|u| can_read(&self.roster, u, s))
    }

    /// Judge a change that its author may not write today against the document as it
    /// was when the change was made (at its dependencies), loading held documents with
    /// `loader`: an old owner's edit made before a reassignment, or the history of a
    /// document that changed hands, is then accepted; a change made on a document its
    /// author could never write is not. Without it, only the present counts.
    pub fn history(mut self, loader: DocLoader) -> Self {
        self.history = Some(loader);
        self
    }

    /// Also require the local user to be able to read a document before sharing it
    /// (a rep's device; a relay has no user of its own).
    pub fn local_user(mut self, user: impl Into<String>) -> Self {
        self.local_user = Some(user.into());
        self
    }

    /// Judge roster changes by the chain of authority (see the type's docs), from the
    /// locally held roster document.
    pub fn roster_chain(self, workspace_id: &str, local: Option<AutoCommit>) -> Self {
        self.roster_chain_from(workspace_id, Box::new(move || Ok(local.clone())))
    }

    /// [`RosterScope::roster_chain`], with the held roster document loaded by `local`
    /// only when roster changes arrive: most sessions bring none, and a roster document
    /// in memory costs megabytes in a large workspace (one per session on a relay).
    pub fn roster_chain_from(mut self, workspace_id: &str, local: RosterLoader) -> Self {
        self.chain = Some(RosterChain::new(workspace_id, local));
        self
    }

    fn summary_for(&self, id: &DocId, incoming: &Incoming<'_>) -> Result<Summary, String> {
        match (incoming.held, incoming.summary) {
            (false, Some(Ok(s))) => Ok(s.clone()),
            (false, Some(Err(e))) => Err(format!("document {} is not accepted: {e}", id.short())),
            _ => (self.summary)(id).ok_or_else(|| {
                format!(
                    "document {} is not accepted: it is not shared with you",
                    id.short()
                )
            }),
        }
    }
}

/// Why `author` may not have made a change at `time` (Automerge change time) to a document
/// with `summary` under `roster`; `None` when it may.
pub fn author_refusal(
    roster: &Roster,
    author: &DeviceKey,
    time: i64,
    summary: &Summary,
) -> Option<String> {
    let hex = author.to_hex();
    let short = fieldcrm_model::short_id(&hex);
    let Some(device) = roster.devices.get(&author.to_hex()) else {
        return Some(format!("device {short} is not enrolled in this workspace"));
    };
    if let Some(revoked) = device.revoked_at
        && fieldcrm_model::change_time_ms(time) >= revoked
    {
        return Some(format!(
            "device {short} was revoked before it made this change"
        ));
    }
    let active = roster.users.get(&device.user).is_some_and(|u| u.active);
    if !active {
        return Some(format!("the user of device {short} is not an active user"));
    }
    if !can_write(roster, &device.user, summary) {
        return Some(format!(
            "user {} (device {short}) may not write {} document `{}`",
            device.user, summary.kind, summary.name
        ));
    }
    None
}

impl<F: Fn(&DocId) -> Option<Summary> + Sync> Scope for RosterScope<F> {
    fn shares(&self, id: &DocId) -> bool {
        (self.summary)(id).is_some_and(|s| self.shares_summary(&s))
    }

    fn accepts(&self, id: &DocId, incoming: &Incoming<'_>) -> Result<(), String> {
        self.summary_for(id, incoming).map(|_| ())
    }

    fn refuse_changes(&self, id: &DocId, incoming: &Incoming<'_>) -> Vec<(ChangeHash, String)> {
        let Ok(summary) = self.summary_for(id, incoming) else {
            return Vec::new();
        };
        if summary.kind == fieldcrm_model::DocKind::Roster
            && let Some(chain) = &self.chain
        {
            // The chain judges who was an admin; the roster known here adds revocations
            // the chain's own past did not know of yet.
            let mut out = chain.refusals(incoming);
            for c in incoming.changes {
                let revoked = self
                    .roster
                    .devices
                    .get(&c.author.to_hex())
                    .and_then(|d| d.revoked_at)
                    .is_some_and(|r| fieldcrm_model::change_time_ms(c.time) >= r);
                if revoked && !out.iter().any(|(o, _)| *o == c.hash) {
                    let hex = c.author.to_hex();
                    let short = fieldcrm_model::short_id(&hex);
                    out.push((
                        c.hash,
                        format!("device {short} was revoked before it made this change"),
                    ));
                }
            }
            return out;
        }
        let failing: Vec<(&ChangeInfo, String)> = incoming
            .changes
            .iter()
            .filter_map(|c| {
                author_refusal(&self.roster, &c.author, c.time, &summary).map(|r| (c, r))
            })
            .collect();
        if failing.is_empty() {
            return Vec::new();
        }
        // The rare path: judge each against the document as its author saw it.
        let mut doc = match (incoming.content, &self.history) {
            (Content::Whole(d), _) => AutoCommit::load(&d.save()).ok(),
            (Content::Changes(cs), Some(load)) => load(id).and_then(|mut d| {
                d.apply_changes(cs.iter().cloned()).ok()?;
                Some(d)
            }),
            (Content::Changes(_), None) => None,
        };
        failing
            .into_iter()
            .filter(|(c, _)| {
                let then = doc.as_mut().and_then(|d| {
                    // The document as its author saw it; a first change is judged by
                    // the document it creates.
                    let at = if c.deps.is_empty() {
                        d.fork_at(&[c.hash]).ok()?
                    } else {
                        d.fork_at(&c.deps).ok()?
                    };
                    fieldcrm_model::Document::from_automerge(id.clone(), at)
                        .ok()?
                        .summary()
                        .ok()
                });
                then.is_none_or(|then| {
                    author_refusal(&self.roster, &c.author, c.time, &then).is_some()
                })
            })
            .map(|(c, r)| (c.hash, r))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::device;
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
        for (n, user, revoked_at) in [
            (9, "mgr", None),
            (8, "rep1", None),
            (7, "mgr", Some(10_000)),
        ] {
            r.devices.insert(
                device(n).to_hex(),
                Device {
                    user: user.into(),
                    label: "laptop".into(),
                    enrolled_at: 0,
                    revoked_at,
                    invitation: None,
                },
            );
        }
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

    fn change(n: u8, time: i64) -> ChangeInfo {
        ChangeInfo {
            hash: ChangeHash([n.wrapping_add(time as u8); 32]),
            author: device(n),
            time,
            deps: Vec::new(),
        }
    }

    #[test]
    fn judges_each_change_by_its_author_whoever_relays_it() {
        let catalog = DocId::workspace(&DocKind::Catalog);
        let lookup = |_: &DocId| Some(summary(DocKind::Catalog, None));
        let changes = [
            change(9, 1),  // the manager's: accepted, whoever relays it
            change(8, 1),  // rep1's: reps may not write the catalog
            change(6, 1),  // a device that is not enrolled
            change(7, 9),  // made before its device was revoked (9 s < 10 000 ms)
            change(7, 10), // made when it was revoked
        ];
        let incoming = Incoming {
            held: true,
            summary: None,
            authors: &[],
            changes: &changes,
            content: Content::Changes(&[]),
        };
        let mut verdicts = Vec::new();
        for peer in ["rep1", "mgr"] {
            let scope = RosterScope::new(roster(), peer, lookup);
            assert_eq!(scope.accepts(&catalog, &incoming), Ok(()));
            verdicts.push(scope.refuse_changes(&catalog, &incoming));
        }
        assert_eq!(
            verdicts[0], verdicts[1],
            "the relaying peer does not matter"
        );
        let refused = &verdicts[0];
        assert_eq!(refused.len(), 3, "{refused:?}");
        let reason = |c: &ChangeInfo| {
            refused
                .iter()
                .find(|(h, _)| *h == c.hash)
                .map(|(_, r)| r.as_str())
        };
        assert_eq!(reason(&changes[0]), None);
        assert!(
            reason(&changes[1]).unwrap().contains("rep1 (device"),
            "{refused:?}"
        );
        assert!(
            reason(&changes[1])
                .unwrap()
                .contains("may not write catalog")
        );
        assert!(reason(&changes[2]).unwrap().contains("not enrolled"));
        assert_eq!(reason(&changes[3]), None);
        assert!(reason(&changes[4]).unwrap().contains("revoked"));

        // A new document that is not a fieldcrm document this build reads.
        let from_mgr = RosterScope::new(roster(), "mgr", lookup);
        let err = from_mgr
            .accepts(
                &DocId::random(),
                &Incoming {
                    held: false,
                    summary: Some(Err("unknown kind `spaceship`")),
                    authors: &[],
                    changes: &changes,
                    content: Content::Changes(&[]),
                },
            )
            .unwrap_err();
        assert!(err.contains("spaceship"), "{err}");
    }

    #[test]
    fn a_revoked_device_is_refused_from_its_revocation_time_on() {
        let s = summary(DocKind::Customer, Some("mgr"));
        let r = roster();
        assert_eq!(author_refusal(&r, &device(7), 9, &s), None);
        assert!(author_refusal(&r, &device(7), 10, &s).is_some());
        // A change time written in milliseconds by an earlier build reads the same.
        assert_eq!(
            author_refusal(&r, &device(7), 100_000_000_000, &s).map(|_| ()),
            Some(())
        );
        assert_eq!(author_refusal(&r, &device(9), 1_000_000, &s), None);
    }
}
