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

use std::collections::HashMap;

use fieldcrm_model::*;
use fieldcrm_policy::claims::{claim_for, claim_id};

use crate::{Filter, Result, Tombstones, Workspace};

#[path = "claims_held.rs"]
mod held;
pub(crate) use held::SalesReading;
#[cfg(test)]
use held::{Digests, held_claims, held_in_snapshot};
use held::{HeldClaims, Read};

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

/// How many of this user's files the backfill reads the cached claims of at once.
const FILES_AT_ONCE: usize = 8192;

/// File `id` at the heads whose hash is `heads`, as one number (summed over files).
fn mix(id: &str, heads: u64) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    std::hash::Hash::hash(&(id, heads), &mut h);
    std::hash::Hasher::finish(&h)
}

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
