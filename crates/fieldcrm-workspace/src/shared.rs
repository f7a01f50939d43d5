//! What this store shares with one peer scope (the sync session's item set), kept
//! between sessions and brought up to date from the store's change log, so a sync with
//! nothing changed reads no document's heads or summary.
//!
//! A scope is the peer's user, this device's user (if any) and the roster they are
//! judged under: the items are kept with the roster document's heads and the store
//! generation they were derived at. A different roster, a generation the change log no
//! longer reaches, or no kept items: they are derived from every held document again.
//! Otherwise only the documents written since are judged again by the scope.

use std::hash::{Hash, Hasher};

use fieldcrm_model::{DocId, DocKind, Summary};
use fieldcrm_store::Store;
use fieldcrm_sync::Items;

use crate::Result;

/// Format marker of the kept bytes.
const FORMAT: u8 = 1;

/// The items one scope shares, as of a store generation under a roster.
#[derive(Debug, Clone, PartialEq)]
pub struct SharedItems {
    /// The store generation they reflect.
    pub generation: u64,
    /// A hash of the roster document's heads they were judged under.
    pub roster: u64,
    /// The items.
    pub items: Items,
}

/// A hash of the stored roster document's heads (0 without one).
pub fn roster_stamp(store: &Store) -> Result<u64> {
    let heads = store
        .heads(&DocId::workspace(&DocKind::Roster))
        .map_err(fieldcrm_store::Error::from)?
        .unwrap_or_default();
    let mut h = std::hash::DefaultHasher::new();
    for c in &heads {
        c.0.hash(&mut h);
    }
    Ok(h.finish())
}

impl SharedItems {
    /// The items a scope shares now, from `kept` (derived earlier for the same peer and
    /// local user) when the change log reaches back to it under the same `roster`, else
    /// from every held document: a held document is shared when `shares` says so of its
    /// summary. The flag says whether they differ from `kept`.
    pub fn refresh(
        store: &Store,
        kept: Option<SharedItems>,
        roster: u64,
        shares: &dyn Fn(&Summary) -> bool,
    ) -> Result<(SharedItems, bool)> {
        if let Some(kept) = kept.filter(|k| k.roster == roster)
            && let Some(changed) = store
                .changed_since(kept.generation)
                .map_err(fieldcrm_store::Error::from)?
        {
            if changed.docs.is_empty() {
                return Ok((kept, false));
            }
            let mut patch = Vec::with_capacity(changed.docs.len());
            for d in changed.docs {
                let shared = match d.heads {
                    Some(h) => store
                        .summary(&d.id)
                        .map_err(fieldcrm_store::Error::from)?
                        .filter(|s| shares(s))
                        .map(|_| h),
                    None => None,
                };
                patch.push((d.id, shared));
            }
            let items = kept.items.patched(patch);
            return Ok((
                SharedItems {
                    generation: changed.generation,
                    roster,
                    items,
                },
                true,
            ));
        }
        let (generation, heads) = store.all_heads_at().map_err(fieldcrm_store::Error::from)?;
        let summaries = store.all_summaries().map_err(fieldcrm_store::Error::from)?;
        let shared = heads
            .into_iter()
            .filter(|(id, _)| summaries.get(id).is_some_and(shares));
        Ok((
            SharedItems {
                generation,
                roster,
                items: Items::build(&fieldcrm_sync::Unrestricted, shared),
            },
            true,
        ))
    }

    /// Bytes to keep them in.
    pub fn encode(&self) -> Vec<u8> {
        let items = self.items.encode();
        let mut out = Vec::with_capacity(17 + items.len());
        out.push(FORMAT);
        out.extend_from_slice(&self.generation.to_le_bytes());
        out.extend_from_slice(&self.roster.to_le_bytes());
        out.extend_from_slice(&items);
        out
    }

    /// What [`SharedItems::encode`] wrote; `None` for anything else.
    pub fn decode(bytes: &[u8]) -> Option<SharedItems> {
        let (&FORMAT, rest) = bytes.split_first()? else {
            return None;
        };
        let (generation, rest) = rest.split_first_chunk::<8>()?;
        let (roster, rest) = rest.split_first_chunk::<8>()?;
        Some(SharedItems {
            generation: u64::from_le_bytes(*generation),
            roster: u64::from_le_bytes(*roster),
            items: Items::decode(rest)?,
        })
    }
}

/// The blob key of the items kept for a scope.
fn blob_key(peer_user: &str, local_user: Option<&str>) -> String {
    format!("sync.items/{peer_user}/{}", local_user.unwrap_or("-"))
}

/// The items `scope` (of `peer_user`, with `local_user`) shares, kept in the store
/// between commands: read, brought up to date, and written back (as a cache, without an
/// fsync) when they changed.
pub(crate) fn kept_items(
    store: &Store,
    peer_user: &str,
    local_user: Option<&str>,
    shares: &dyn Fn(&Summary) -> bool,
) -> Result<Items> {
    let key = blob_key(peer_user, local_user);
    let kept = store
        .get_blob(&key)
        .ok()
        .flatten()
        .and_then(|b| SharedItems::decode(&b));
    let roster = roster_stamp(store)?;
    let (now, changed) = SharedItems::refresh(store, kept, roster, shares)?;
    if changed {
        // Only a cache: if it cannot be written, the next session derives it again.
        let _ = store.set_cache_blob(&key, &now.encode());
    }
    Ok(now.items)
}

/// The documents a pass over the held documents (`pass`, e.g. "who may no longer read
/// what") has to look at: those written since it last finished under the same roster,
/// with what it kept then (`Some`), or all of them (`None`: never ran, the roster
/// changed, or the change log no longer reaches back). Returns the generation and roster
/// stamp to record with [`pass_done`] once the pass has finished.
pub(crate) fn pass_since(store: &Store, pass: &str) -> Result<(u64, u64, Option<Since>)> {
    let roster = roster_stamp(store)?;
    let key = format!("pass/{pass}");
    let last = store.get_blob(&key).ok().flatten().and_then(|b| {
        let (g, rest) = b.split_first_chunk::<8>()?;
        let (r, kept) = rest.split_first_chunk::<8>()?;
        Some((
            u64::from_le_bytes(*g),
            u64::from_le_bytes(*r),
            kept.to_vec(),
        ))
    });
    if let Some((generation, _, kept)) = last.filter(|(_, r, _)| *r == roster)
        && let Some(changed) = store
            .changed_since(generation)
            .map_err(fieldcrm_store::Error::from)?
    {
        let generation = changed.generation;
        let changed = changed
            .docs
            .into_iter()
            .filter(|d| d.heads.is_some())
            .map(|d| d.id)
            .collect();
        return Ok((generation, roster, Some(Since { changed, kept })));
    }
    let generation = store.generation().map_err(fieldcrm_store::Error::from)?;
    Ok((generation, roster, None))
}

/// What [`pass_since`] found: the documents written since, and what the pass kept.
pub(crate) struct Since {
    /// Documents written (not removed) since the pass last finished.
    pub(crate) changed: Vec<DocId>,
    /// What it kept then ([`pass_done`]'s `kept`).
    pub(crate) kept: Vec<u8>,
}

/// Record that `pass` finished having looked at everything written up to `generation`
/// under roster stamp `roster` (from [`pass_since`]), keeping `kept` for its next run;
/// only a cache, so not waited for.
pub(crate) fn pass_done(store: &Store, pass: &str, generation: u64, roster: u64, kept: &[u8]) {
    let mut v = generation.to_le_bytes().to_vec();
    v.extend_from_slice(&roster.to_le_bytes());
    v.extend_from_slice(kept);
    let _ = store.set_cache_blob(&format!("pass/{pass}"), &v);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CustomerEdit, NewCustomer, Workspace};
    use fieldcrm_model::Role;

    /// The items a rep's scope shares, kept and patched, always equal the items built
    /// from every document: after adds, a reassignment away from the rep and back, a
    /// removal and a roster change.
    #[test]
    fn kept_items_equal_items_built_from_every_document() {
        let dir = tempfile::tempdir().unwrap();
        let ws = Workspace::init(dir.path(), &crate::tests::admin_opts(), 1_000).unwrap();
        let rep = ws
            .add_user("小王", Role::Rep, Some("华东".into()), None, 2_000)
            .unwrap();
        let other = ws
            .add_user("小李", Role::Rep, Some("华南".into()), None, 2_000)
            .unwrap();
        let store = ws.store();
        let check = |what: &str| {
            let roster = ws.roster().unwrap();
            let scope = ws.roster_scope(roster, rep.clone()).unwrap();
            let shares = |s: &Summary| scope.shares_summary(s);
            let kept = kept_items(store, &rep, None, &shares).unwrap();
            let (fresh, _) =
                SharedItems::refresh(store, None, roster_stamp(store).unwrap(), &shares).unwrap();
            assert_eq!(kept, fresh.items, "{what}");
            kept.len()
        };
        let base = check("start");
        let add = |name: &str, owner: &str| {
            ws.add_customer(
                NewCustomer {
                    name: name.into(),
                    owner: Some(owner.into()),
                    ..Default::default()
                },
                3_000,
            )
            .unwrap()
        };
        let mine = add("甲公司 🚜", &rep);
        add("乙公司", &other);
        assert_eq!(check("added"), base + 1);
        let reassign = |id: &DocId, to: &str, at| {
            ws.edit_customer_fields(
                id,
                CustomerEdit {
                    owner: Some(to.into()),
                    ..Default::default()
                },
                at,
            )
            .unwrap()
        };
        reassign(&mine, &other, 4_000);
        assert_eq!(check("reassigned away"), base);
        reassign(&mine, &rep, 5_000);
        assert_eq!(check("reassigned back"), base + 1);
        store.delete(&mine).unwrap();
        assert_eq!(check("removed"), base);
        ws.add_user("小赵", Role::Rep, None, None, 6_000).unwrap();
        assert_eq!(check("roster changed"), base);
    }
}
