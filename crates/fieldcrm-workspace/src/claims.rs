//! Customer claims (客户登记) in the Sales document, for the 撞单 notice
//! (`fieldcrm_policy::claims` describes the claim and how it is judged).
//!
//! Every write of a customer file that changes its claim (a new file, a new name, credit
//! code or contact phone, a reassignment, an archive, a merge) writes the claim into the
//! Sales document **in the same durable transaction** as the file (`Store::save_all`). The
//! claim is written only by a device that counts for it: the owner's, or a manager's or
//! admin's; an edit by someone else (a teammate with write access) leaves the claim to
//! the owner's device.
//!
//! Old workspaces and repairs: [`Workspace::backfill_claims`] runs after every sync
//! (`after_sync`). It writes this user's claims that are missing, stale or written by a
//! device that does not count (a forged or deleted claim, one lost to two devices
//! creating the `claims` map of an old Sales document at once), and removes this user's
//! claims on files merged away or archived. It is skipped when nothing in the store
//! changed since its last run (a hash of all heads kept in the store's meta rows), so an
//! unchanged store costs one pass over the heads.

use fieldcrm_model::*;
use fieldcrm_policy::claims::{claim_for, claim_id};

use crate::{Filter, Result, Tombstones, Workspace};

/// Meta row: the store's heads hash after the last backfill.
const META_BACKFILL: &str = "claims-backfill-v1";

impl Workspace {
    /// The claim a document should have under this workspace's ID (`None`: not a live,
    /// owned customer file). Used to see whether an edit changed it.
    pub(crate) fn claim_material(&self, doc: &Document) -> Option<Claim> {
        if !matches!(doc.kind(), Ok(DocKind::Customer)) {
            return None;
        }
        claim_for(self.workspace_id(), &claim_fields(doc)?)
    }

    /// Save a document; when it is a customer file whose claim differs from `before`,
    /// write the claim into the Sales document in the same transaction.
    pub(crate) fn save_claimed(
        &self,
        doc: &mut Document,
        before: Option<Claim>,
        now: Millis,
    ) -> Result<()> {
        if !matches!(doc.kind(), Ok(DocKind::Customer)) || self.claim_material(doc) == before {
            return self.save(doc);
        }
        match self.claims_doc(&[&*doc], now)? {
            Some(mut sales) => self
                .store()
                .save_all([doc, &mut sales])
                .map_err(fieldcrm_store::Error::from)?,
            None => self.save(doc)?,
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
            let Ok(Body::Customer(c)) = doc.body() else {
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

    /// Write this user's missing, stale or untrusted claims and remove its claims on
    /// files merged away or archived (see the module docs); returns how many claims were
    /// written or removed. Idempotent; skipped when the store is unchanged since the last
    /// run, or when this device holds no Sales document.
    pub fn backfill_claims(&self, now: Millis) -> Result<usize> {
        let stamp = crate::memo::stamp(self.store()).map(|s| format!("{s:016x}"));
        let meta = |e: fieldcrm_store::MetaError| fieldcrm_store::Error::from(e);
        if stamp.is_some() && self.store().get_meta_str(META_BACKFILL).map_err(meta)? == stamp {
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
        let sales_snap = self.load(&sales_id)?.snapshot()?;
        let Body::Sales(current) = &sales_snap.body else {
            return Ok(0);
        };
        let me = self.me()?;
        // Only this user's files (from the summary index, merged-away ones included):
        // a device holding 100,000 files of others loads none of them.
        let mine = self.list(
            &Filter::default()
                .kind(DocKind::Customer)
                .owner(me.user_id.clone())
                .tombstones(Tombstones::Include),
        )?;
        let ws = me.roster.workspace_id.as_str();
        // Whether the current claim of `key` was written by a device that counts for it.
        let trusted = |key: &str, owner: &str| {
            let prefix = format!("claims/{key}");
            sales_snap
                .fields
                .range(prefix.clone()..)
                .take_while(|(p, _)| p.starts_with(&prefix))
                .filter(|(p, _)| *p == &prefix || p.starts_with(&format!("{prefix}/")))
                .all(|(_, f)| {
                    f.values.first().is_some_and(|s| {
                        s.device()
                            .and_then(|d| me.roster.device_user(&d))
                            .is_some_and(|(u, user)| {
                                u == owner || Authority::AssignOwner.allows(&user.role)
                            })
                    })
                })
        };
        let mut sales: Option<Document> = None;
        let mut count = 0;
        for row in &mine {
            let Some(c) = claim_fields(&self.load(&row.id)?) else {
                continue;
            };
            let c = &c;
            let key = claim_id(ws, &row.id);
            let wanted = claim_for(ws, c).filter(|cl| cl.owner == me.user_id);
            let have = current.claims.get(&key);
            let write = match (&wanted, have) {
                (Some(w), Some(h)) => w != h || !trusted(&key, &w.owner),
                (Some(_), None) => true,
                // This user's claim on a file merged away or archived.
                (None, Some(h)) => h.owner == me.user_id && claim_for(ws, c).is_none(),
                (None, None) => false,
            };
            if !write {
                continue;
            }
            let doc = match &mut sales {
                Some(d) => d,
                None => sales.insert(self.load(&sales_id)?),
            };
            match &wanted {
                Some(w) => put_claim(doc, &key, w)?,
                None => doc.delete(&["claims", &key])?,
            }
            count += 1;
        }
        if let Some(mut doc) = sales {
            doc.commit(now, "补登客户归属 backfill customer claims");
            self.save(&mut doc)?;
        }
        if let Some(s) = crate::memo::stamp(self.store()) {
            self.store()
                .set_meta_str(META_BACKFILL, &format!("{s:016x}"))
                .map_err(meta)?;
        }
        Ok(count)
    }
}

/// The fields of a customer file a claim is made of (name, credit code, contact phones,
/// owner, registration time, merged or archived), read without hydrating the rest of the
/// file (its interactions, quotes, ... can be most of it).
fn claim_fields(doc: &Document) -> Option<Customer> {
    use autosurgeon::hydrate_prop;
    let am = doc.automerge();
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
