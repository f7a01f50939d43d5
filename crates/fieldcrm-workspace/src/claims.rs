//! Customer claims (客户登记) in the Sales document, for the 撞单 notice
//! (`fieldcrm_policy::claims` describes the claim and how it is judged).
//!
//! A claim is derived data, recomputable from its file at any time, so it is not written
//! with every edit: the Sales document holds every file's claim, and loading and saving
//! it on each `customer add` cost 0.6 s at 10,000 customers. Instead
//! [`Workspace::before_sync`] writes this user's new, changed, missing or untrusted claims
//! (and removes its claims on files merged away or archived) in one batch before each
//! sync session and bundle export, and `after_sync` runs it again for what the sync
//! brought. A claim is written only by a device that counts for it: the owner's, or a
//! manager's or admin's. A duplicate merge still updates both files' claims in its own
//! transaction. The pass is skipped when nothing in the store changed since its last run
//! (a hash of all heads kept in the store's meta rows), and reads only this user's files
//! (from the summary index), so a device holding others' files pays nothing for them.
//! The Sales document (a claim per file of the workspace: 6.5 MB and half a second to
//! load at 100,000 customers) is read only when there is something to check: not for a
//! user without files, nor when neither it, the roster nor one of the user's files
//! changed since the last run (two cache rows tell, not a row per file); then only the
//! user's claims are read from it, and the cached claims of their files a part at a time.

use std::collections::{BTreeMap, HashMap};

use fieldcrm_model::*;
use fieldcrm_policy::claims::{claim_for, claim_id};

use crate::{Filter, Result, Tombstones, Workspace};

/// Meta row: the store's heads hash after the last backfill.
const META_BACKFILL: &str = "claims-backfill-v1";
/// Cache rows (`Store::get_cache_rows`), one per file: `claims-cache-v2/<id>` → the hash of
/// the file's heads and the claim computed from it at those heads (JSON), so the
/// backfill loads only the files that changed.
const CLAIM_ROW: &str = "claims-cache-v2/";
/// Older versions' cache: one JSON blob of every file's claim (removed when seen).
const OLD_CLAIM_CACHE: &str = "claims-cache-v1";

impl Workspace {
    /// Write the claims of the customer files `ids` now (after a reassignment), when
    /// this device may.
    pub(crate) fn write_claims(&self, ids: &[&DocId], now: Millis) -> Result<()> {
        let docs = ids
            .iter()
            .map(|id| self.load(id))
            .collect::<Result<Vec<_>>>()?;
        let refs: Vec<&Document> = docs.iter().collect();
        if let Some(mut sales) = self.claims_doc(&refs, now)? {
            self.save(&mut sales)?;
        }
        Ok(())
    }

    /// The Sales document with the claims of `docs` written (customer files only; claims
    /// of files merged away or archived removed), or `None` when nothing changes, this
    /// device holds no Sales document yet (the backfill writes the claims after the first
    /// sync), or the acting user may not write any of the claims.
    pub(crate) fn claims_doc(&self, docs: &[&Document], now: Millis) -> Result<Option<Document>> {
        let sales_id = DocId::workspace(&DocKind::Sales);
        if !self
            .store()
            .contains(&sales_id)
            .map_err(fieldcrm_store::Error::from)?
        {
            return Ok(None);
        }
        // Without a usable identity there is no claim this device may write.
        let Ok(me) = self.me() else {
            return Ok(None);
        };
        let mut sales = self.load(&sales_id)?;
        let current: Sales = sales.hydrate()?;
        let ws = me.roster.workspace_id.clone();
        let manager = Authority::AssignOwner.allows(&me.user.role);
        let mut changed = false;
        for doc in docs {
            if !matches!(doc.kind(), Ok(DocKind::Customer)) {
                continue;
            }
            let Some(c) = claim_fields(doc.automerge()) else {
                continue;
            };
            let key = claim_id(&ws, doc.id());
            match claim_for(&ws, &c) {
                Some(claim) => {
                    if (claim.owner != me.user_id && !manager)
                        || current.claims.get(&key) == Some(&claim)
                    {
                        continue;
                    }
                    put_claim(&mut sales, &key, &claim)?;
                    changed = true;
                }
                None if current.claims.contains_key(&key) => {
                    sales.delete(&["claims", &key])?;
                    changed = true;
                }
                None => {}
            }
        }
        if !changed {
            return Ok(None);
        }
        sales.commit(now, "登记客户归属 claim customer files");
        Ok(Some(sales))
    }

    /// The backfill's cache rows for `ids`, in order: the hash of each file's heads and
    /// its claim at them (`None`: not cached, or a row this version cannot read).
    fn cached_claims<'a>(
        &self,
        ids: impl Iterator<Item = &'a str>,
    ) -> Result<Vec<Option<CachedClaim>>> {
        let keys: Vec<String> = ids.map(row_key).collect();
        Ok(self
            .store()
            .get_cache_rows(&keys)
            .map_err(fieldcrm_store::Error::from)?
            .into_iter()
            .map(|row| row.and_then(|b| serde_json::from_slice(&b).ok()))
            .collect())
    }

    /// What goes out with a sync or a bundle: this user's claims, brought up to date
    /// ([`Workspace::backfill_claims`]). A device without a usable identity (not yet
    /// enrolled) writes none.
    pub fn before_sync(&self, now: Millis) -> Result<usize> {
        if self.me().is_err() {
            return Ok(0);
        }
        self.backfill_claims(now)
    }

    /// Write this user's missing, stale or untrusted claims and remove its claims on
    /// files merged away or archived (see the module docs); returns how many claims were
    /// written or removed. Idempotent; skipped when the store is unchanged since the last
    /// run, or when this device holds no Sales document.
    pub fn backfill_claims(&self, now: Millis) -> Result<usize> {
        // Taken whatever happens here: it holds only for the store as the sync left it.
        let read_before = self.memo.take_sales_reading();
        let stamp = || crate::memo::stamp(self.store()).map(|s| format!("{s:016x}"));
        let before = stamp();
        let meta = |e: fieldcrm_store::MetaError| fieldcrm_store::Error::from(e);
        if before.is_some() && self.store().get_meta_str(META_BACKFILL).map_err(meta)? == before {
            return Ok(0);
        }
        let sales_id = DocId::workspace(&DocKind::Sales);
        if !self
            .store()
            .contains(&sales_id)
            .map_err(fieldcrm_store::Error::from)?
        {
            return Ok(0);
        }
        let count = self.write_my_claims(&sales_id, now, FILES_AT_ONCE, read_before)?;
        // The store as this run left it: moved on only by the claims it wrote (cache
        // rows do not move it).
        let after = if count > 0 { stamp() } else { before };
        if let Some(s) = after {
            self.store().set_meta_str(META_BACKFILL, &s).map_err(meta)?;
        }
        Ok(count)
    }

    /// The backfill's pass over this user's files, `at_once` files at a time: how many
    /// claims it wrote or removed. `read_before`: the claims a sync read from the Sales
    /// document it brought ([`Workspace::read_received_sales`]), used if they are of the
    /// document and roster held now.
    fn write_my_claims(
        &self,
        sales_id: &DocId,
        now: Millis,
        at_once: usize,
        read_before: Option<SalesReading>,
    ) -> Result<usize> {
        let me = self.me()?;
        // Only this user's files (from the summary index, merged-away ones included):
        // a device holding 100,000 files of others loads none of them.
        let mine: Vec<DocId> = self.list_map(
            &Filter::default()
                .kind(DocKind::Customer)
                .owner(me.user_id.clone())
                .tombstones(Tombstones::Include),
            |id, _| id.clone(),
        )?;
        // Every claim written or removed is one of these files': with none, there is
        // nothing to write, and the Sales document (every claim of the workspace) is
        // not read.
        if mine.is_empty() {
            return Ok(0);
        }
        let ws = me.roster.workspace_id.as_str();
        // The claim each of my files should have, computed from the file at its heads,
        // kept between runs: a file that did not change is not loaded again.
        let heads: HashMap<DocId, u64> = self
            .store()
            .all_heads()
            .map_err(fieldcrm_store::Error::from)?
            .into_iter()
            .map(|(id, hs)| (id, heads_hash(&hs)))
            .collect();
        let heads_of = |id: &DocId| heads.get(id).copied().unwrap_or_default();
        // What the claims are judged by besides the files: the Sales document, and the
        // roster (who this user is, and whose hand counts for a claim).
        let roster_heads = heads_of(&DocId::workspace(&DocKind::Roster));
        let context = |sales: u64| sales ^ roster_heads.rotate_left(1);
        let sales_heads = heads_of(sales_id);
        // My files as they are now, in one number: which files, at which heads.
        let files = mine.iter().fold(mine.len() as u64, |acc, id| {
            acc.wrapping_add(mix(id.as_str(), heads_of(id)))
        });
        let [sales_row, files_row] = self
            .cached_claims([SALES_ENTRY, FILES_ENTRY].into_iter())?
            .try_into()
            .unwrap_or_default();
        let sales_same = sales_row.is_some_and(|(h, _)| h == context(sales_heads));
        // Nothing a claim of mine depends on changed since the last run (the Sales
        // document, the roster, which files are mine and their heads): it left each
        // one as it should be. Known without reading a row per file.
        if sales_same && files_row.is_some_and(|(h, _)| h == files) {
            return Ok(0);
        }
        // Every claim of my files as it stands, and whether it counts, read from the
        // Sales document's fields (not a hydration of 100,000 claims). On a device that
        // keeps the document's policy snapshot (it ran a `check` or the app), the
        // snapshot is brought up to date here, where the document is loaded, so the
        // next `check` or page does not load it again to build it; then when most
        // claims are mine (an admin's device), they are read from that snapshot: the
        // one pass over every claim that both need. A device that keeps none (a first
        // sync) builds none: a snapshot of 100,000 claims beside the document is the
        // peak of that sync's memory.
        let heads_read = self
            .store()
            .heads(sales_id)
            .map_err(fieldcrm_store::Error::from)?
            .unwrap_or_default();
        let kept = self.snapshot_cached(sales_id, &heads_read);
        let keep_snapshot = kept.is_some();
        // Cached already (the Sales document did not change since): not encoded and
        // written again.
        let cached = kept == Some(true);
        // Read already: a first sync read the claims on its saving thread from the copy
        // it loaded to judge the Sales document, at these heads of it and of the roster
        // (not for a device that keeps the document's snapshot: that is built below from
        // the document), or the store kept the document it wrote a sync's changes to.
        let roster_now = self
            .store()
            .heads(&DocId::workspace(&DocKind::Roster))
            .map_err(fieldcrm_store::Error::from)?
            .unwrap_or_default();
        let read_before = read_before
            .filter(|r| r.is_at(&heads_read, &roster_now))
            .map(|r| r.read)
            .filter(|r| !keep_snapshot || matches!(r, Read::Document(_)));
        let (held, mut snapshot_row, mut sales) = match read_before {
            Some(Read::Claims(held)) => (held, None, None),
            Some(Read::Document(sales)) => {
                self.read_held(*sales, &me.roster, &mine, ws, keep_snapshot, cached)
            }
            None => {
                let sales = self.load(sales_id)?;
                self.read_held(sales, &me.roster, &mine, ws, keep_snapshot, cached)
            }
        };
        let HeldClaims {
            by_key: mut current,
            digests,
        } = held;
        let my_owner = digests.owner(&me.user_id);
        let mut count = 0;
        // A part of my files at a time: their cached claims, and the claims computed
        // from the changed ones, are held for that part only (an admin's device holds
        // 100,000 files, and the Sales document is in memory beside them).
        for part in mine.chunks(at_once.max(1)) {
            let mut cached = self.cached_claims(part.iter().map(DocId::as_str))?;
            let work: Vec<(&DocId, u64, bool)> = part
                .iter()
                .zip(&cached)
                .map(|(id, c)| {
                    let h = heads_of(id);
                    (id, h, c.as_ref().is_some_and(|(ch, _)| *ch == h))
                })
                .collect();
            // Each changed file loaded and its claim computed, on every core (a new
            // device's first sync brings all of this user's files at once). Claims are
            // moved, never copied, from here on.
            let computed = crate::par::par_map(&work, 64, |&(id, h, seen)| -> Result<_> {
                match seen {
                    // Taken from the cache below.
                    true => Ok(Some((h, None, true))),
                    false => Ok(claim_fields(self.load(id)?.automerge())
                        .map(|c| (h, claim_for(ws, &c), false))),
                }
            });
            // The cache rows to write: files whose claim was computed now. Only a
            // cache, true whatever happens to the Sales document below.
            let mut rows = Vec::new();
            for ((id, computed), cached) in part.iter().zip(computed).zip(&mut cached) {
                let Some((h, computed, seen)) = computed? else {
                    continue;
                };
                let computed = match seen {
                    true => cached.take().and_then(|(_, c)| c),
                    false => computed,
                };
                let checked = seen && sales_same;
                let live = computed.is_some();
                let key = claim_id(ws, id);
                let wanted = computed.as_ref().filter(|cl| cl.owner == me.user_id);
                let have = current.remove(&key);
                let write = match (wanted, &have) {
                    (Some(w), Some(h)) => digests.of(w) != h.claim || (!checked && !h.counts),
                    (Some(_), None) => true,
                    // This user's claim on a file merged away or archived.
                    (None, Some(h)) => h.owner == my_owner && !live,
                    (None, None) => false,
                };
                if write {
                    let sales = match &mut sales {
                        Some(doc) => doc,
                        None => sales.insert(self.load(sales_id)?),
                    };
                    match wanted {
                        Some(w) => put_claim(sales, &key, w)?,
                        None => sales.delete(&["claims", &key])?,
                    }
                    count += 1;
                }
                if !seen {
                    rows.extend(claim_row(id.as_str(), h, &computed));
                }
            }
            keep(self.store(), &rows);
        }
        drop(current);
        let mut sales_after = sales_heads;
        match &mut sales {
            Some(sales) if count > 0 => {
                sales.commit(now, "补登客户归属 backfill customer claims");
                self.save(sales)?;
                sales_after = heads_hash(&sales.heads());
                // Of the document before the claims written now.
                if keep_snapshot {
                    self.cache_sales_snapshot(sales, None);
                }
            }
            Some(sales) if keep_snapshot && !cached => {
                self.cache_sales_snapshot(sales, snapshot_row.take())
            }
            Some(_) => {}
            None => {
                if let Some(row) = snapshot_row.take() {
                    self.cache_snapshot_row(sales_id, heads_read, row);
                }
            }
        }
        // Written only once the claims are saved: the next run trusts them.
        let rows: Vec<_> = [
            claim_row(SALES_ENTRY, context(sales_after), &None),
            claim_row(FILES_ENTRY, files, &None),
            Some((OLD_CLAIM_CACHE.to_string(), None)),
        ]
        .into_iter()
        .flatten()
        .collect();
        keep(self.store(), &rows);
        Ok(count)
    }

    /// The claims held in the Sales document `sales` (see `write_my_claims`), with the
    /// encoding of its snapshot when it was built here and is not `cached` yet, and the
    /// document unless it was let go. The snapshot is built when the device keeps it
    /// (`keep_snapshot`) and most claims are this user's (`mine`).
    fn read_held(
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

    /// Cache the policy snapshot of the Sales document as `sales` holds it (`row`: its
    /// encoding, when made already); the caller knows it is not cached at these heads
    /// (it checked, or has just written the document). The backfill has the document
    /// in memory, where a `check` or the app's pages after the sync would load it again
    /// to build it (half a second to load, and as long to read, at 100,000 claims).
    /// Only a cache: if it cannot be made or written, it is built when it is needed.
    fn cache_sales_snapshot(&self, sales: &mut Document, row: Option<Vec<u8>>) {
        let heads = sales.heads();
        let row = row.or_else(|| Some(crate::snapshots::encode_snapshot(&sales.snapshot().ok()?)));
        if let Some(row) = row {
            self.cache_snapshot_row(sales.id(), heads, row);
        }
    }

    /// Whether document `id`'s snapshot is cached at `heads` in this build's format;
    /// `None` when none is cached at any heads (the device keeps none). One read of
    /// the row, which is not copied out.
    fn snapshot_cached(&self, id: &DocId, heads: &[automerge::ChangeHash]) -> Option<bool> {
        let in_format = |row: Option<&[u8]>| row.is_some_and(crate::snapshots::in_this_format);
        self.store()
            .derived_with(id, heads, in_format)
            .ok()
            .flatten()
    }

    /// Cache the snapshot row `row` of document `id` at `heads` (only a cache).
    fn cache_snapshot_row(&self, id: &DocId, heads: Vec<automerge::ChangeHash>, row: Vec<u8>) {
        if !row.is_empty() {
            let _ = self.store().put_derived(&[(id.clone(), heads, row)]);
        }
    }
}

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
    sales: Vec<automerge::ChangeHash>,
    /// The roster's heads it was judged by (sorted); `None`: the document itself, which
    /// the backfill judges by the roster it holds.
    roster: Option<Vec<automerge::ChangeHash>>,
    read: Read,
}

/// What a sync read of the Sales document.
enum Read {
    /// Its claims.
    Claims(HeldClaims),
    /// The document.
    Document(Box<Document>),
}

impl SalesReading {
    /// Whether it was read at these heads of the Sales document and of the roster.
    fn is_at(&self, sales: &[automerge::ChangeHash], roster: &[automerge::ChangeHash]) -> bool {
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
fn few(sales: &Document, mine: usize) -> bool {
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
fn held_in_snapshot(snap: Snapshot, roster: &Roster, digests: Digests) -> HeldClaims {
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

/// How many of this user's files the backfill reads the cached claims of at once.
const FILES_AT_ONCE: usize = 8192;

/// File `id` at the heads whose hash is `heads`, as one number (summed over files).
fn mix(id: &str, heads: u64) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    std::hash::Hash::hash(&(id, heads), &mut h);
    std::hash::Hasher::finish(&h)
}

/// A claim held in the Sales document, as its fields' winning values show it, in short:
/// the backfill only asks whether it is the claim a file should have, whose it is and
/// whether it counts, and 100,000 claims kept whole (a map of keys each) took tens of
/// megabytes where these take a few.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Held {
    /// The claim's digest ([`Digests::claim`]).
    claim: u128,
    /// Its owner's digest ([`Digests::owner`]).
    owner: u64,
    /// Whether it counts for its owner: its owner and date are there, and they and every
    /// key were written by the owner's device or a manager's (as the rules count claims:
    /// the policy crate's `claims::counted`).
    counts: bool,
}

/// The digests claims are compared by ([`Held`]), keyed with a random key of this
/// process: nobody can write a claim that passes for another without it, and they are
/// never kept beyond the process.
#[derive(Clone, Default)]
struct Digests(std::hash::RandomState, std::hash::RandomState);

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
    fn of(&self, claim: &Claim) -> u128 {
        let keys = claim.keys.iter().map(|(k, v)| (k.as_str(), v.as_str()));
        self.claim(&claim.owner, claim.since, keys)
    }

    /// The digest of owner `user`.
    fn owner(&self, user: &str) -> u64 {
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
struct HeldClaims {
    by_key: HashMap<String, Held>,
    digests: Digests,
}

/// The claims of the files `mine` in the Sales document `sales`, by key: their winning
/// values and who wrote them, as the claims' field states give them, without building
/// those for 100,000 claims at once. Each is looked up by its key, or, when `mine` is a
/// large part of the claims, all are read in one pass over them. A claim whose fields
/// do not read as a claim (a missing or mistyped owner or date) is left out: the
/// backfill writes it again.
fn held_claims(
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
fn text(v: &automerge::Value<'_>) -> Option<String> {
    v.as_str().map(str::to_string)
}

/// A claim's date, as autosurgeon writes an `i64` (an Int).
fn int(v: &automerge::Value<'_>) -> Option<i64> {
    v.is_int().then(|| v.as_i64()).flatten()
}

/// Every claim of the claims map `claims` of `am`, read in one pass over them all (not a
/// seek per claim), judged by `roster`. The entries of a claim's map of keys come after
/// the claim's own fields (the walk reaches the map through them), so its owner is known
/// when its keys are read. What is kept per claim while the walk goes on is small (its
/// key, its owner as a number, digests): the walk reaches a claim's fields only after
/// every claim.
fn every_claim(
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
struct Writers<'r> {
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
const LOOKUPS_PER_CLAIM: usize = 4;

/// A cache row's content: the hash of a file's heads and its claim at them.
type CachedClaim = (u64, Option<Claim>);

/// A cache row: `id`'s claim at the heads whose hash is `heads`.
fn claim_row(id: &str, heads: u64, claim: &Option<Claim>) -> Option<(String, Option<Vec<u8>>)> {
    let json = serde_json::to_vec(&(heads, claim)).ok()?;
    Some((row_key(id), Some(json)))
}

/// The cache row key of file `id`.
pub(crate) fn row_key(id: &str) -> String {
    format!("{CLAIM_ROW}{id}")
}

/// Remove the cache rows of files this device no longer holds (only a cache: a row
/// left behind is never read for a file that is gone, but it takes room). No rows, no
/// write.
pub(crate) fn forget<'a>(store: &fieldcrm_store::Store, ids: impl IntoIterator<Item = &'a DocId>) {
    let rows: Vec<_> = ids
        .into_iter()
        .map(|id| (row_key(id.as_str()), None))
        .collect();
    keep(store, &rows);
}

/// Write cache rows. Only a cache: if they cannot be written, the next backfill loads
/// those files again.
pub(crate) fn keep(store: &fieldcrm_store::Store, rows: &[(String, Option<Vec<u8>>)]) {
    let _ = store.set_cache_rows(rows);
}

/// A claims cache row: its key, and the file's heads hash with its claim.
pub(crate) type ClaimRow = (String, Option<Vec<u8>>);

/// The claims cache row of a customer file a session received whole and loaded to
/// judge it (`am`), so that the backfill after the sync does not load it again (a new
/// device's first sync brings all of them): from its `content` when its snapshot has
/// just read it whole (one reading of the file for both), else from its claim fields
/// alone. Files received as changes are left to the backfill.
pub(crate) fn received_row(
    workspace: &str,
    id: &DocId,
    heads: &[automerge::ChangeHash],
    content: Option<&Customer>,
    am: &automerge::AutoCommit,
) -> Option<ClaimRow> {
    let read;
    let c = match content {
        Some(c) => c,
        None => {
            read = claim_fields(am)?;
            &read
        }
    };
    claim_row(id.as_str(), heads_hash(heads), &claim_for(workspace, c))
}

/// The cache entry that holds the hash of the Sales document's and the roster's heads
/// at the last run.
const SALES_ENTRY: &str = "@sales";
/// The cache entry that holds which files were this user's at the last run, and at
/// which heads (summed over the files: [`mix`]).
const FILES_ENTRY: &str = "@files";

/// A hash of a document's heads (to see whether it changed).
fn heads_hash(heads: &[automerge::ChangeHash]) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    for c in heads {
        std::hash::Hash::hash(&c.0, &mut h);
    }
    std::hash::Hasher::finish(&h)
}

/// The fields of a customer file a claim is made of (name, credit code, contact phones,
/// owner, registration time, merged or archived), read without hydrating the rest of the
/// file (its interactions, quotes, ... can be most of it).
fn claim_fields(am: &automerge::AutoCommit) -> Option<Customer> {
    use autosurgeon::hydrate_prop;
    let root = automerge::ROOT;
    Some(Customer {
        name: hydrate_prop(am, &root, "name").ok()?,
        credit_code: hydrate_prop(am, &root, "credit_code").unwrap_or_default(),
        owner: hydrate_prop(am, &root, "owner").unwrap_or_default(),
        created_at: hydrate_prop(am, &root, "created_at").unwrap_or_default(),
        merged_into: hydrate_prop(am, &root, "merged_into").unwrap_or_default(),
        archived: hydrate_prop(am, &root, "archived").unwrap_or_default(),
        contacts: hydrate_prop(am, &root, "contacts").unwrap_or_default(),
        ..Default::default()
    })
}

/// Write a claim as a fresh object (its creating operation names this device), creating
/// the `claims` map first in a Sales document written before claims existed.
fn put_claim(sales: &mut Document, key: &str, claim: &Claim) -> Result<()> {
    if sales.map_at(&["claims"]).is_none() {
        sales.put(
            &["claims"],
            &std::collections::BTreeMap::<String, Claim>::new(),
        )?;
    }
    sales.put_new_object(&["claims", key], claim)?;
    Ok(())
}

#[cfg(test)]
#[path = "claims_tests.rs"]
mod tests;
