//! The 撞单 notice in the incremental engine (see [`crate::claims`]).
//!
//! State: the counted claims of the Sales document, and each live customer file's own
//! claim material, in two tables ([`super::claim_table`]). A change to the Sales document
//! re-reads the claims and re-checks only the customer files holding a key of a claim
//! that appeared, changed or went away; a changed customer file re-checks itself.

use std::borrow::Borrow;
use std::collections::BTreeMap;

use fieldcrm_model::{Body, DocId, Snapshot};
use serde_json::json;

use super::claim_table::{NewRec, Owners, Table};
use super::{Engine, HashMap, HashSet};
use crate::claims::{self, Hash, Key, Kind};
use crate::ctx::Ctx;
use crate::finding::Finding;
use crate::rule::RuleId;
use crate::rules::Extract;

/// A live customer file's own claim material, until the claim state takes it.
pub(super) type Own = NewRec;

#[derive(Default)]
pub(super) struct ClaimState {
    /// The owners the claims below name.
    pub(super) owners: Owners,
    /// Counted claims by claim ID.
    pub(super) counted: Table,
    /// Each live customer file's own claim material, by document ID.
    pub(super) own: Table,
    /// Notices by the customer file they are about.
    pub(super) notices: HashMap<DocId, Vec<Finding>>,
}

/// Which kinds of key the configuration tells reps about.
fn kind_on(ctx: &Ctx, kind: Kind) -> bool {
    let p = &ctx.cfg.params;
    match kind {
        Kind::Name => p.claim_by_name,
        Kind::CreditCode => p.claim_by_credit_code,
        Kind::Phone => p.claim_by_phone,
    }
}

/// The claims holding a key hash, with the key's kind in each.
type Holders = HashMap<Hash, Vec<(Hash, Kind)>>;

impl ClaimState {
    /// Read the claims again; the key hashes of every claim that appeared, changed or
    /// went away. The claims counted before are kept where they are the same (at
    /// 100,000 claims a sync changes a few hundred).
    pub(super) fn reload(&mut self, ctx: &Ctx, sales: Option<&Snapshot>) -> HashSet<Hash> {
        let ClaimState {
            owners, counted, ..
        } = self;
        // Claim ID → its value now (`None`: it no longer counts).
        let mut changes: Vec<(Hash, Option<NewRec>)> = Vec::new();
        // Both in claim ID order (lowercase hex sorts as its bytes): walked together.
        let mut before = counted.iter().peekable();
        claims::each_counted(ctx, sales, |id, owner, since, keys| {
            while let Some(gone) = before.next_if(|r| r.id < id) {
                changes.push((gone.id, None));
            }
            let same = before.next_if(|r| r.id == id).is_some_and(|r| {
                owners.name(r.owner) == owner && r.since == since && counted.keys_of(r) == keys
            });
            if !same {
                let owner = owners.of(owner);
                let keys = keys.to_vec();
                changes.push((
                    id,
                    Some(NewRec {
                        claim: id,
                        owner,
                        since,
                        keys,
                    }),
                ));
            }
        });
        changes.extend(before.map(|gone| (gone.id, None)));
        let mut changed: HashSet<Hash> = HashSet::default();
        counted.apply(changes, Some(&mut changed));
        changed
    }

    /// The notices on one customer file: one per earlier claim of another owner on
    /// another file sharing a key (earlier: smaller `since`, then smaller claim ID).
    fn notices_for(&self, ctx: &Ctx, id: &DocId, own: &Hash, holders: &Holders) -> Vec<Finding> {
        let (Some(sev), Some(own)) = (ctx.cfg.params.claim_notice, self.own.get(own)) else {
            return Vec::new();
        };
        // Other claim → the kinds it shares with this file.
        let mut hits: BTreeMap<Hash, Vec<Kind>> = BTreeMap::new();
        for k in self.own.keys_of(own) {
            if !kind_on(ctx, k.kind) {
                continue;
            }
            for (doc, kind) in holders.get(&k.hash).into_iter().flatten() {
                let Some(c) = self.counted.get(doc) else {
                    continue;
                };
                let earlier = (c.since, doc) < (own.since, &own.claim);
                // The claim's own record of the kind must agree (a key hashed as a phone
                // is not a name).
                if doc == &own.claim || c.owner == own.owner || !earlier || *kind != k.kind {
                    continue;
                }
                let kinds = hits.entry(*doc).or_default();
                if !kinds.contains(kind) {
                    kinds.push(*kind);
                }
            }
        }
        hits.into_iter()
            .filter_map(|(doc, mut kinds)| {
                let c = self.counted.get(&doc)?;
                // In the order a notice names them.
                kinds.sort();
                let doc = fieldcrm_model::hex(&doc);
                let date = ctx.date(c.since);
                let zh: Vec<&str> = kinds.iter().map(|k| k.zh()).collect();
                let en: Vec<&str> = kinds.iter().map(|k| k.en()).collect();
                let matched: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
                Some(Finding::new(
                    RuleId::CustDuplicate,
                    sev,
                    vec![id.clone()],
                    Some(format!("claims/{doc}")),
                    format!(
                        "该客户已由其他销售代表于{date}登记，请联系经理确认归属（相同的{}）。",
                        zh.join("、")
                    ),
                    format!(
                        "This customer was already registered by another sales rep on {date}; ask your manager who owns it (same {}).",
                        en.join(", ")
                    ),
                    json!({
                        "notice": "claimed",
                        "claim": doc,
                        "since": c.since,
                        "date": date,
                        "matched": matched,
                    }),
                ))
            })
            .collect()
    }
}

impl<S: Borrow<Snapshot> + Send> Engine<S> {
    /// Bring the claim state up to date: `dirty` documents (`None`: all) and the
    /// customer files holding a key of a claim that changed (`changed_keys`, from
    /// [`Engine::reload_claims`]).
    pub(super) fn claims_update(
        &mut self,
        dirty: Option<&HashSet<DocId>>,
        changed_keys: &HashSet<Hash>,
    ) {
        let ids: Vec<DocId> = match dirty {
            None => self.docs.keys().cloned().collect(),
            Some(set) => set.iter().cloned().collect(),
        };
        let mut own_changes = Vec::with_capacity(ids.len());
        // File → its document ID as the own table holds it.
        let mut affected: HashMap<Hash, DocId> = HashMap::default();
        for id in ids {
            // Every document in `ids` was evaluated in this update (or is gone).
            let own = self
                .docs
                .get_mut(&id)
                .and_then(|e| e.own.take())
                .map(|o| *o);
            self.x.claims.notices.remove(&id);
            if let Some(h) = fieldcrm_model::hex16(id.as_str()) {
                own_changes.push((h, own));
                affected.insert(h, id);
            }
        }
        let c = &mut self.x.claims;
        c.own.apply(own_changes, None);
        if dirty.is_some() {
            for files in c.own.holding(changed_keys).into_values() {
                for (h, _) in files {
                    if let Some(id) = id_of(&h) {
                        affected.entry(h).or_insert(id);
                    }
                }
            }
        }
        if self.ctx.cfg.params.claim_notice.is_none() {
            return;
        }
        // Every key of the affected files that may make a notice, and the claims holding
        // them.
        let mut wanted: HashSet<Hash> = HashSet::default();
        for h in affected.keys() {
            if let Some(r) = c.own.get(h) {
                let keys = c.own.keys_of(r).iter();
                wanted.extend(keys.filter(|k| kind_on(&self.ctx, k.kind)).map(|k| k.hash));
            }
        }
        let holders = c.counted.holding(&wanted);
        for (h, id) in affected {
            let found = c.notices_for(&self.ctx, &id, &h, &holders);
            if found.is_empty() {
                c.notices.remove(&id);
            } else {
                c.notices.insert(id, found);
            }
        }
    }
}

/// The document ID a table holds as `h`.
fn id_of(h: &Hash) -> Option<DocId> {
    fieldcrm_model::hex(h).parse().ok()
}

/// A live customer file's claim material (its owner, created time and keys), read when
/// the file is evaluated; `None` for other documents, tombstones, archived files and
/// files without an owner (whose extract is not a customer's).
pub(super) fn own_claim(
    ctx: &Ctx,
    owners: &mut Owners,
    extract: &Extract,
    snap: &Snapshot,
) -> Option<Own> {
    let Extract::Customer(_) = extract else {
        return None;
    };
    let Body::Customer(c) = &snap.body else {
        return None;
    };
    let owner = c.owner_id()?;
    let ws = &ctx.auth.effective.workspace_id;
    Some(Own {
        claim: fieldcrm_model::hex16(&claims::claim_id(ws, &snap.id))?,
        owner: owners.of(owner),
        since: c.created_at,
        // From the map's order: sorted by hash.
        keys: claims::customer_keys(ws, c)
            .iter()
            .filter_map(|(h, k)| Key::of(h, k))
            .collect(),
    })
}
