//! The claims held in the Sales document, as the claims backfill reads them
//! (`claims.rs`): in short (keyed digests of each claim's content and owner, and whether
//! it counts by who wrote it), from the document's fields, from its policy snapshot, or
//! from what a sync read of it on its saving thread.

use std::collections::{BTreeMap, HashMap};

use fieldcrm_model::*;
use fieldcrm_policy::claims::claim_id;

use crate::Workspace;

/// The claims a sync read from the Sales document it brought whole and new to this
/// device (a first sync), on its saving thread, where the session had loaded the
/// document to judge it: the backfill after the session would otherwise load the
/// document again and read its 100,000 claims on one thread while the other waits (2 s
/// of a first sync of 100,000 customers). Kept until that backfill, which uses it only
/// if the Sales document and the roster are still at the heads it was read at.
///
/// After a sync that brought changes to it instead, the document as the store wrote them
/// is kept the same way ([`Workspace::keep_applied_sales`]): the store had it loaded to
/// apply them, and the backfill would load it again (a second of a sync at 100,000
/// customers).
pub(crate) struct SalesReading {
    /// The Sales document's heads it was read at (sorted).
    pub(super) sales: Vec<automerge::ChangeHash>,
    /// The roster's heads it was judged by (sorted); `None`: the document itself, which
    /// the backfill judges by the roster it holds.
    pub(super) roster: Option<Vec<automerge::ChangeHash>>,
    pub(super) read: Read,
}

/// What a sync read of the Sales document.
pub(super) enum Read {
    /// Its claims.
    Claims(HeldClaims),
    /// The document.
    Document(Box<Document>),
}

impl SalesReading {
    /// Whether it was read at these heads of the Sales document and of the roster.
    pub(super) fn is_at(
        &self,
        sales: &[automerge::ChangeHash],
        roster: &[automerge::ChangeHash],
    ) -> bool {
        let sorted = |h: &[automerge::ChangeHash]| {
            let mut h = h.to_vec();
            h.sort_unstable();
            h
        };
        self.sales == sorted(sales) && self.roster.as_ref().is_none_or(|r| *r == sorted(roster))
    }
}

impl std::fmt::Debug for SalesReading {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("SalesReading");
        match &self.read {
            Read::Claims(held) => d.field("claims", &held.by_key.len()),
            Read::Document(doc) => d.field("document", doc.id()),
        };
        d.finish_non_exhaustive()
    }
}

impl Workspace {
    /// The claims held in the Sales document `sales` (see `write_my_claims`), with the
    /// encoding of its snapshot when it was built here and is not `cached` yet, and the
    /// document unless it was let go. The snapshot is built when the device keeps it
    /// (`keep_snapshot`) and most claims are this user's (`mine`).
    pub(super) fn read_held(
        &self,
        sales: Document,
        roster: &Roster,
        mine: &[DocId],
        workspace: &str,
        keep_snapshot: bool,
        cached: bool,
    ) -> (HeldClaims, Option<Vec<u8>>, Option<Document>) {
        let snapshot = match keep_snapshot && !few(&sales, mine.len()) {
            true => sales.snapshot_and_shape().ok(),
            false => None,
        };
        match snapshot {
            Some((snap, true)) => {
                // The document is let go (100 MB in memory at 100,000 claims) before
                // the snapshot is encoded, and loaded again only if a claim must be
                // written.
                drop(sales);
                let row = (!cached).then(|| crate::snapshots::encode_snapshot(&snap));
                (
                    held_in_snapshot(snap, roster, Digests::default()),
                    row,
                    None,
                )
            }
            _ => {
                let held = held_claims(&sales, roster, mine, workspace, Digests::default());
                (held, None, Some(sales))
            }
        }
    }

    /// Read the claims of the Sales document among `docs` (what a sync session received,
    /// about to be saved) if it came whole and new to this device, from the copy the
    /// session loaded to judge it, for the backfill after the session
    /// ([`SalesReading`]). Nothing when the roster is not held yet (it is saved before
    /// anything it judges).
    pub(crate) fn read_received_sales(&self, docs: &mut [fieldcrm_sync::SaveDoc]) {
        use automerge::{ObjType, ReadDoc, Value};
        let sales_id = DocId::workspace(&DocKind::Sales);
        let Some(loaded) = docs
            .iter_mut()
            .find(|d| d.id == sales_id)
            .and_then(|d| d.loaded.as_deref_mut())
        else {
            return;
        };
        let Ok((roster_heads, roster)) = self.roster_at() else {
            return;
        };
        let sales = loaded.doc.heads();
        let am = loaded.doc.automerge();
        let Ok(Some((Value::Object(ObjType::Map), claims))) = am.get(automerge::ROOT, "claims")
        else {
            return;
        };
        let held = every_claim(am, &claims, &roster, Digests::default());
        self.memo.keep_sales_reading(SalesReading {
            sales,
            roster: Some(roster_heads),
            read: Read::Claims(held),
        });
    }

    /// Keep the Sales document as a sync session's save wrote changes to it, for the
    /// backfill after the session ([`SalesReading`]). What the backfill writes into it
    /// is this device's, as in a document it loads (the store's copy writes as nobody).
    pub(crate) fn keep_applied_sales(&self, mut sales: Document) {
        sales.automerge_mut().set_actor(self.device().actor());
        self.memo.keep_sales_reading(SalesReading {
            sales: sales.heads(),
            roster: None,
            read: Read::Document(Box::new(sales)),
        });
    }
}

/// Whether the claims of `mine` files are few enough among the Sales document's to be
/// looked up by key rather than read in a pass over them all.
pub(super) fn few(sales: &Document, mine: usize) -> bool {
    use automerge::{ObjType, ReadDoc, Value};
    let am = sales.automerge();
    match am.get(automerge::ROOT, "claims") {
        Ok(Some((Value::Object(ObjType::Map), claims))) => {
            mine.saturating_mul(LOOKUPS_PER_CLAIM) < am.length(&claims)
        }
        _ => false,
    }
}

/// The claims held in the Sales document's snapshot `snap` (its claims read in the
/// shape fieldcrm writes: [`Document::snapshot_and_shape`]), by key, each judged by its
/// claim hands as [`held_claims`] judges it by the document's fields (none in a snapshot
/// of another document).
pub(super) fn held_in_snapshot(snap: Snapshot, roster: &Roster, digests: Digests) -> HeldClaims {
    let (Body::Sales(sales), Some(hands)) = (snap.body, snap.claim_hands) else {
        return HeldClaims {
            by_key: HashMap::new(),
            digests,
        };
    };
    let writers = Writers::of_actors(roster, &hands.actors);
    let mut by_key = HashMap::with_capacity(sales.claims.len());
    for (key, claim) in sales.claims {
        let counts = hands.claims.get(&key).is_some_and(|h| {
            let by = |at: Option<u32>| {
                writers.counts(at.and_then(|a| usize::try_from(a).ok()), &claim.owner)
            };
            by(h.owner)
                && by(h.since)
                && h.keys_with(&claim.keys)
                    .is_some_and(|mut keys| keys.all(|(_, _, at)| by(Some(at))))
        });
        by_key.insert(key, digests.held(&claim, counts));
    }
    HeldClaims { by_key, digests }
}

/// A claim held in the Sales document, as its fields' winning values show it, in short:
/// the backfill only asks whether it is the claim a file should have, whose it is and
/// whether it counts, and 100,000 claims kept whole (a map of keys each) took tens of
/// megabytes where these take a few.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Held {
    /// The claim's digest ([`Digests::claim`]).
    pub(super) claim: u128,
    /// Its owner's digest ([`Digests::owner`]).
    pub(super) owner: u64,
    /// Whether it counts for its owner: its owner and date are there, and they and every
    /// key were written by the owner's device or a manager's (as the rules count claims:
    /// the policy crate's `claims::counted`).
    pub(super) counts: bool,
}

/// The digests claims are compared by ([`Held`]), keyed with a random key of this
/// process: nobody can write a claim that passes for another without it, and they are
/// never kept beyond the process.
#[derive(Clone, Default)]
pub(super) struct Digests(std::hash::RandomState, std::hash::RandomState);

impl Digests {
    /// The digest of a claim of `owner` since `since` with the keys `keys` (hashed key →
    /// what it hashes), in any order.
    fn claim<'a>(
        &self,
        owner: &str,
        since: Millis,
        keys: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> u128 {
        let (mut sum, mut count) = (0u128, 0u64);
        for (key, value) in keys {
            sum = sum.wrapping_add(self.key(key, value));
            count += 1;
        }
        self.summed(owner, since, count, sum)
    }

    /// One entry of a claim's keys, to be summed (see [`Digests::summed`]).
    fn key(&self, key: &str, value: &str) -> u128 {
        self.wide(&(1u8, key, value))
    }

    /// The digest of a claim whose `count` keys' digests ([`Digests::key`]) sum to `sum`.
    fn summed(&self, owner: &str, since: Millis, count: u64, sum: u128) -> u128 {
        self.wide(&(0u8, owner, since, count, sum))
    }

    /// The digest of `claim`.
    pub(super) fn of(&self, claim: &Claim) -> u128 {
        let keys = claim.keys.iter().map(|(k, v)| (k.as_str(), v.as_str()));
        self.claim(&claim.owner, claim.since, keys)
    }

    /// The digest of owner `user`.
    pub(super) fn owner(&self, user: &str) -> u64 {
        std::hash::BuildHasher::hash_one(&self.0, (2u8, user))
    }

    /// 128 bits of `value` (two keyed hashes).
    fn wide(&self, value: &impl std::hash::Hash) -> u128 {
        use std::hash::BuildHasher;
        (u128::from(self.0.hash_one(value)) << 64) | u128::from(self.1.hash_one(value))
    }

    /// `claim` held, counting or not.
    fn held(&self, claim: &Claim, counts: bool) -> Held {
        Held {
            claim: self.of(claim),
            owner: self.owner(&claim.owner),
            counts,
        }
    }
}

/// The claims held in a Sales document by key ([`Held`]), with the digests they were
/// made with.
pub(super) struct HeldClaims {
    pub(super) by_key: HashMap<String, Held>,
    pub(super) digests: Digests,
}

/// The claims of the files `mine` in the Sales document `sales`, by key: their winning
/// values and who wrote them, as the claims' field states give them, without building
/// those for 100,000 claims at once. Each is looked up by its key, or, when `mine` is a
/// large part of the claims, all are read in one pass over them. A claim whose fields
/// do not read as a claim (a missing or mistyped owner or date) is left out: the
/// backfill writes it again.
pub(super) fn held_claims(
    sales: &Document,
    roster: &Roster,
    mine: &[DocId],
    workspace: &str,
    digests: Digests,
) -> HeldClaims {
    use automerge::{ObjType, ReadDoc, Value};
    let am = sales.automerge();
    let Ok(Some((Value::Object(ObjType::Map), claims))) = am.get(automerge::ROOT, "claims") else {
        return HeldClaims {
            by_key: HashMap::new(),
            digests,
        };
    };
    if !few(sales, mine.len()) {
        return every_claim(am, &claims, roster, digests);
    }
    // A few claims: each looked up by its key, its fields read in one pass over the
    // claim.
    let mut writers = Writers::new(roster);
    let mut by_key = HashMap::new();
    for id in mine {
        let key = claim_id(workspace, id);
        let Ok(Some((Value::Object(ObjType::Map), obj))) = am.get(&claims, key.as_str()) else {
            continue;
        };
        let (mut owner, mut since, mut keys_obj) = (None, None, None);
        for f in am.map_range(&obj, ..) {
            let value = f.value.clone().into_value();
            match &*f.key {
                "owner" => owner = text(&value).map(|v| (v, writers.who(&f.id()))),
                "since" => since = int(&value).map(|v| (v, writers.who(&f.id()))),
                "keys" if matches!(value, Value::Object(ObjType::Map)) => keys_obj = Some(f.id()),
                _ => {}
            }
        }
        let (Some((owner, owner_by)), Some((since, since_by))) = (owner, since) else {
            continue;
        };
        let mut ok = writers.counts(owner_by, &owner) && writers.counts(since_by, &owner);
        let mut keys = BTreeMap::new();
        for k in keys_obj.iter().flat_map(|o| am.map_range(o, ..)) {
            let by = writers.who(&k.id());
            ok &= writers.counts(by, &owner);
            if let Some(v) = text(&k.value.clone().into_value()) {
                keys.insert(k.key.to_string(), v);
            }
        }
        let claim = Claim { owner, since, keys };
        by_key.insert(key, digests.held(&claim, ok));
    }
    HeldClaims { by_key, digests }
}

/// A claim's text field, as autosurgeon writes a `String`.
pub(super) fn text(v: &automerge::Value<'_>) -> Option<String> {
    v.as_str().map(str::to_string)
}

/// A claim's date, as autosurgeon writes an `i64` (an Int).
pub(super) fn int(v: &automerge::Value<'_>) -> Option<i64> {
    v.is_int().then(|| v.as_i64()).flatten()
}

/// Every claim of the claims map `claims` of `am`, read in one pass over them all (not a
/// seek per claim), judged by `roster`. The entries of a claim's map of keys come after
/// the claim's own fields (the walk reaches the map through them), so its owner is known
/// when its keys are read. What is kept per claim while the walk goes on is small (its
/// key, its owner as a number, digests): the walk reaches a claim's fields only after
/// every claim.
pub(super) fn every_claim(
    am: &automerge::AutoCommit,
    claims: &automerge::ObjId,
    roster: &Roster,
    digests: Digests,
) -> HeldClaims {
    use automerge::{ScalarValueRef, ValueRef};
    use fieldcrm_model::claims_walk::{Entry, walk};
    #[derive(Default)]
    struct Reading {
        key: String,
        /// The owner (in `owners`), and who wrote it.
        owner: Option<(usize, Option<usize>)>,
        since: Option<(i64, Option<usize>)>,
        /// The keys' entries, summed as [`Digests::claim`] sums them.
        keys_sum: u128,
        keys_len: u64,
        keys_count: bool,
    }
    let mut writers = Writers::new(roster);
    // Each owner once (a workspace has a few users and 100,000 claims).
    let mut owners: Vec<String> = Vec::new();
    let mut owner_at: HashMap<String, usize> = HashMap::new();
    let mut read: Vec<Reading> = Vec::new();
    walk(am, claims, |entry| {
        match entry {
            Entry::Claim { key, .. } => read.push(Reading {
                key: key.to_string(),
                keys_count: true,
                ..Default::default()
            }),
            Entry::Field { at, key, value, id } => match (read.get_mut(at), key, value) {
                (Some(r), "owner", ValueRef::Scalar(ScalarValueRef::Str(s))) => {
                    let s: &str = s;
                    let n = match owner_at.get(s) {
                        Some(&n) => n,
                        None => {
                            owners.push(s.to_string());
                            owner_at.insert(s.to_string(), owners.len() - 1);
                            owners.len() - 1
                        }
                    };
                    r.owner = Some((n, writers.who(&id)));
                }
                (Some(r), "since", ValueRef::Scalar(ScalarValueRef::Int(v))) => {
                    r.since = Some((*v, writers.who(&id)));
                }
                _ => {}
            },
            Entry::Key { at, key, value, id } => {
                if let Some(r) = read.get_mut(at) {
                    let by = writers.who(&id);
                    let owner = r.owner.and_then(|(n, _)| owners.get(n));
                    r.keys_count &= owner.is_some_and(|o| writers.counts(by, o));
                    if let ValueRef::Scalar(ScalarValueRef::Str(v)) = value {
                        r.keys_sum = r.keys_sum.wrapping_add(digests.key(key, v));
                        r.keys_len += 1;
                    }
                }
            }
        }
        true
    });
    let mut by_key = HashMap::with_capacity(read.len());
    for r in read {
        let (Some((n, owner_by)), Some((since, since_by))) = (r.owner, r.since) else {
            continue;
        };
        let Some(owner) = owners.get(n) else {
            continue;
        };
        let counts =
            r.keys_count && writers.counts(owner_by, owner) && writers.counts(since_by, owner);
        let claim = digests.summed(owner, since, r.keys_len, r.keys_sum);
        let owner = digests.owner(owner);
        by_key.insert(
            r.key,
            Held {
                claim,
                owner,
                counts,
            },
        );
    }
    HeldClaims { by_key, digests }
}

/// Who wrote the values of claims: each writer's user, and whether that user may assign
/// owners, found once per actor.
pub(super) struct Writers<'r> {
    roster: &'r Roster,
    users: Vec<Option<(String, bool)>>,
    at: HashMap<automerge::ActorId, usize>,
}

impl<'r> Writers<'r> {
    fn new(roster: &'r Roster) -> Self {
        Writers {
            roster,
            users: Vec::new(),
            at: HashMap::new(),
        }
    }

    /// The writers `actors` (hex), numbered in that order.
    fn of_actors(roster: &'r Roster, actors: &[String]) -> Self {
        let mut w = Writers::new(roster);
        for hex in actors {
            let user = hex.parse::<DeviceKey>().ok().and_then(|key| w.user(&key));
            w.users.push(user);
        }
        w
    }

    /// The user of device `key`, and whether they may assign owners.
    fn user(&self, key: &DeviceKey) -> Option<(String, bool)> {
        self.roster.device_user(key).map(|(user_id, user)| {
            let manager = Authority::AssignOwner.allows(&user.role);
            (user_id.to_string(), manager)
        })
    }

    /// The writer of the value `id` (an operation's ID), as a number for [`Writers::counts`].
    fn who(&mut self, id: &automerge::ObjId) -> Option<usize> {
        let actor = fieldcrm_model::fields::actor_of(id)?;
        if let Some(&at) = self.at.get(actor) {
            return Some(at);
        }
        let user = DeviceKey::from_actor(actor).and_then(|key| self.user(&key));
        self.users.push(user);
        self.at.insert(actor.clone(), self.users.len() - 1);
        Some(self.users.len() - 1)
    }

    /// Whether a value written by `by` counts for a claim of `owner`: the owner's device
    /// or a manager's wrote it.
    fn counts(&self, by: Option<usize>, owner: &str) -> bool {
        by.and_then(|at| self.users.get(at)?.as_ref())
            .is_some_and(|(user, manager)| user == owner || *manager)
    }
}

/// How many claims one lookup by key costs about as much as reading in a pass over all
/// of them (a lookup searches the claims map; a pass reads each claim once).
pub(super) const LOOKUPS_PER_CLAIM: usize = 4;
