//! The 撞单 notice in the incremental engine (see [`crate::claims`]).
//!
//! State: the counted claims of the Sales document with an index by key hash, and each
//! live customer file's own keys with an index by key hash. A change to the Sales
//! document re-reads the claims and re-checks only the customer files holding a key of a
//! claim that appeared, changed or went away; a changed customer file re-checks itself.

use std::borrow::Borrow;
use std::collections::BTreeMap;

use fieldcrm_model::{Body, DocId, Millis, Snapshot};
use serde_json::json;

use super::{Engine, HashMap, HashSet};
use crate::claims::{self, Counted, KeyList, Name, Names};
use crate::ctx::Ctx;
use crate::finding::Finding;
use crate::rule::RuleId;
use crate::rules::Extract;

/// A live customer file's own claim material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Own {
    /// This file's claim ID.
    pub(super) claim: Name,
    pub(super) owner: Name,
    pub(super) since: Millis,
    pub(super) keys: claims::KeyList,
}

#[derive(Default)]
pub(super) struct ClaimState {
    /// The strings below, each held once.
    pub(super) names: Names,
    /// Counted claims by claim ID.
    pub(super) claims: BTreeMap<Name, Counted>,
    /// Key hash → claims holding it.
    by_key: KeyIndex<Name>,
    pub(super) own: HashMap<DocId, Own>,
    /// Key hash → the files holding it (nearly always one).
    own_by_key: KeyIndex<DocId>,
    /// Notices by the customer file they are about.
    pub(super) notices: HashMap<DocId, Vec<Finding>>,
}

/// Key hash → the claims or files holding it (nearly always one).
type KeyIndex<V> = HashMap<Name, Vec<V>>;

/// File `item` under each key hash of `keys`, once.
fn index_keys<V: PartialEq + Clone>(index: &mut KeyIndex<V>, keys: &KeyList, item: &V) {
    for (h, _) in keys {
        let items = index.entry(h.clone()).or_default();
        if !items.contains(item) {
            items.push(item.clone());
        }
    }
}

/// Take `item` from under each key hash of `keys`; a key left with nothing goes.
fn unindex_keys<V: PartialEq>(index: &mut KeyIndex<V>, keys: &KeyList, item: &V) {
    for (h, _) in keys {
        if let Some(items) = index.get_mut(h) {
            items.retain(|x| x != item);
            if items.is_empty() {
                index.remove(h);
            }
        }
    }
}

impl ClaimState {
    /// A claim state as it was saved ([`super::saved`]), its indexes made again.
    pub(super) fn restored(
        names: Names,
        claims: BTreeMap<Name, Counted>,
        own: HashMap<DocId, Own>,
        notices: HashMap<DocId, Vec<Finding>>,
    ) -> ClaimState {
        let mut state = ClaimState {
            names,
            claims,
            ..ClaimState::default()
        };
        state.index_claims();
        // As `set_own` would, with nothing held before.
        state.own.reserve(own.len());
        state.own_by_key.reserve(own.len());
        for (id, o) in own {
            index_keys(&mut state.own_by_key, &o.keys, &id);
            state.own.insert(id, o);
        }
        state.notices = notices;
        state
    }

    /// The index of the counted claims by key hash, made again.
    fn index_claims(&mut self) {
        self.by_key.clear();
        self.by_key.reserve(self.claims.len());
        for (doc, c) in &self.claims {
            index_keys(&mut self.by_key, &c.keys, doc);
        }
    }

    /// Read the claims again; the key hashes of every claim that appeared, changed or
    /// went away. The claims counted before are kept where they are the same (at
    /// 100,000 claims a sync changes a few hundred), and only the changed ones are
    /// indexed again.
    pub(super) fn reload(&mut self, ctx: &Ctx, sales: Option<&Snapshot>) -> HashSet<Name> {
        let ClaimState { names, claims, .. } = self;
        // Claim ID → its value now (`None`: it no longer counts).
        let mut changes: Vec<(Name, Option<Counted>)> = Vec::new();
        // Both in claim ID order: walked together.
        let mut before = claims.iter().peekable();
        claims::each_counted(ctx, sales, |doc, owner, since, keys| {
            while let Some((gone, _)) = before.next_if(|(d, _)| &***d < doc) {
                changes.push((gone.clone(), None));
            }
            let same = before.next_if(|(d, _)| &***d == doc).is_some_and(|(_, c)| {
                &*c.owner == owner
                    && c.since == since
                    && c.keys.len() == keys.len()
                    && c.keys
                        .iter()
                        .zip(keys)
                        .all(|((h, k), (h2, k2))| &**h == *h2 && &**k == *k2)
            });
            if !same {
                let owner = names.of(owner);
                let keys = keys.iter().map(|(h, k)| (names.of(h), names.of(k)));
                let counted = Counted {
                    owner,
                    since,
                    keys: keys.collect(),
                };
                changes.push((names.of(doc), Some(counted)));
            }
        });
        changes.extend(before.map(|(gone, _)| (gone.clone(), None)));
        let mut changed: HashSet<Name> = HashSet::default();
        if changes.is_empty() {
            return changed;
        }
        for (doc, now) in changes {
            if let Some(old) = self.claims.remove(&doc) {
                changed.extend(old.keys.iter().map(|(h, _)| h.clone()));
                unindex_keys(&mut self.by_key, &old.keys, &doc);
            }
            if let Some(c) = now {
                changed.extend(c.keys.iter().map(|(h, _)| h.clone()));
                index_keys(&mut self.by_key, &c.keys, &doc);
                self.claims.insert(doc, c);
            }
        }
        self.names.prune();
        changed
    }

    fn set_own(&mut self, id: &DocId, own: Option<Own>) {
        if let Some(old) = self.own.remove(id) {
            unindex_keys(&mut self.own_by_key, &old.keys, id);
        }
        self.notices.remove(id);
        if let Some(own) = own {
            index_keys(&mut self.own_by_key, &own.keys, id);
            self.own.insert(id.clone(), own);
        }
    }

    /// The notices on one customer file: one per earlier claim of another owner on
    /// another file sharing a key (earlier: smaller `since`, then smaller claim ID).
    fn notices_for(&self, ctx: &Ctx, id: &DocId, own: &Own) -> Vec<Finding> {
        let Some(sev) = ctx.cfg.params.claim_notice else {
            return Vec::new();
        };
        let p = &ctx.cfg.params;
        let kind_on = |k: &str| match k {
            claims::NAME => p.claim_by_name,
            claims::CREDIT_CODE => p.claim_by_credit_code,
            claims::PHONE => p.claim_by_phone,
            _ => false,
        };
        // Other claim → the kinds it shares with this file.
        let mut hits: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (h, kind) in &own.keys {
            if !kind_on(kind) {
                continue;
            }
            for doc in self.by_key.get(h).into_iter().flatten() {
                let Some(c) = self.claims.get(doc) else {
                    continue;
                };
                let earlier = (c.since, &**doc) < (own.since, &*own.claim);
                if doc == &own.claim || c.owner == own.owner || !earlier {
                    continue;
                }
                // The claim's own record of the kind must agree (a key hashed as a phone
                // is not a name).
                if claims::kind_of(&c.keys, h) != Some(&**kind) {
                    continue;
                }
                let kinds = hits.entry(&**doc).or_default();
                if !kinds.contains(&&**kind) {
                    kinds.push(&**kind);
                }
            }
        }
        hits.into_iter()
            .filter_map(|(doc, mut kinds)| {
                let c = self.claims.get(doc)?;
                kinds.sort_by_key(|k| match *k {
                    claims::CREDIT_CODE => 0,
                    claims::NAME => 1,
                    _ => 2,
                });
                let date = ctx.date(c.since);
                let zh: Vec<&str> = kinds.iter().map(|k| claims::kind_zh(k)).collect();
                let en: Vec<&str> = kinds.iter().map(|k| claims::kind_en(k)).collect();
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
                        "matched": kinds,
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
        changed_keys: &HashSet<Name>,
    ) {
        let mut affected: HashSet<DocId> = HashSet::default();
        if dirty.is_some() {
            for h in changed_keys {
                if let Some(ids) = self.x.claims.own_by_key.get(h) {
                    affected.extend(ids.iter().cloned());
                }
            }
        }
        let ids: Vec<DocId> = match dirty {
            None => self.docs.keys().cloned().collect(),
            Some(set) => set.iter().cloned().collect(),
        };
        for id in ids {
            // Every document in `ids` was evaluated in this update (or is gone).
            let own = self
                .docs
                .get_mut(&id)
                .and_then(|e| e.own.take())
                .map(|o| *o);
            self.x.claims.set_own(&id, own);
            affected.insert(id);
        }
        for id in affected {
            let Some(own) = self.x.claims.own.get(&id) else {
                continue;
            };
            let found = self.x.claims.notices_for(&self.ctx, &id, own);
            if found.is_empty() {
                self.x.claims.notices.remove(&id);
            } else {
                self.x.claims.notices.insert(id, found);
            }
        }
    }
}

/// A live customer file's claim material (its owner, created time and keys), read when
/// the file is evaluated; `None` for other documents, tombstones, archived files and
/// files without an owner (whose extract is not a customer's).
pub(super) fn own_claim(
    ctx: &Ctx,
    names: &mut Names,
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
        claim: names.of(&claims::claim_id(ws, &snap.id)),
        owner: names.of(owner),
        since: c.created_at,
        // From the map's order: sorted by hash.
        keys: claims::customer_keys(ws, c)
            .iter()
            .map(|(h, k)| (names.of(h), names.of(k)))
            .collect(),
    })
}
