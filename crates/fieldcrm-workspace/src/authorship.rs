//! Checking the authors of stored documents against the roster, for what sync cannot
//! judge as changes arrive: a sync or bundle judges changes against the roster this
//! device held when it started, so
//! - a device's first sync (no roster yet) holds changes to their signatures only;
//! - a revocation (or a user deactivated, or moved) arriving together with, or after,
//!   changes the device made after it was revoked would let those stay.
//!
//! [`Workspace::reverify_if_roster_changed`] runs after every sync and bundle import:
//! when the roster took away something (or this device never checked), it checks each
//! stored change's author (enrolled, not revoked when it made the change, allowed to
//! write the document as the author saw it) and rebuilds any document holding a change
//! that fails, without it and without what depends on it, saying so.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use automerge::{AutoCommit, ChangeHash};
use fieldcrm_model::{DeviceKey, DocId, DocKind, Roster, Signature, short_id};
use fieldcrm_sync::author_refusal;

use crate::{Error, Result, Workspace};

/// Meta key: the roster heads the stored changes were last checked against.
const META_VERIFIED_ROSTER: &str = "authors-verified-roster";

/// What this handle's first syncs ([`crate::sync::Bootstrap`]) judged authors with, for
/// the check after them: only what they received before they held the roster is left
/// to check, provided the store held nothing when one began and the roster is still the
/// one they used. Spent (reset) by that check.
#[derive(Debug, Default)]
pub(crate) struct FirstSync {
    /// Whether the store held documents when one of them began.
    pub(crate) held_before: bool,
    /// The roster heads a session judged authors with, once it held the roster.
    pub(crate) roster_heads: Option<Vec<ChangeHash>>,
    /// Documents received before then, their authors not checked.
    pub(crate) unchecked: Vec<DocId>,
}

/// The record, shared by the handle and its first syncs' scopes (see [`FirstSync`]).
pub(crate) type FirstSyncRecord = Arc<Mutex<FirstSync>>;

/// Whether `new` takes away anything `old` allowed: a device revoked or gone (a void
/// enrolment), a user deactivated or moved to another role, team or region.
fn takes_away(old: &Roster, new: &Roster) -> bool {
    // A device gone from the roster: void by the invitations' double-use rule.
    old.devices.keys().any(|k| !new.devices.contains_key(k))
        || new.devices.iter().any(|(k, d)| {
            d.revoked_at.is_some()
                && old
                    .devices
                    .get(k)
                    .is_some_and(|o| o.revoked_at != d.revoked_at)
        })
        || old.users.iter().any(|(id, o)| {
            new.users.get(id).is_none_or(|n| {
                (o.active && !n.active)
                    || o.role != n.role
                    || o.team != n.team
                    || o.region != n.region
            })
        })
}

/// A document holding changes whose author fails ([`Workspace::authors_of`]).
struct Failed {
    /// One line per removed change.
    lines: Vec<String>,
    /// What remains: the rebuilt document and its changes' signatures (`None`: nothing).
    kept: Option<Rebuilt>,
}

/// A document's saved data and its changes' signatures.
type Rebuilt = (Vec<u8>, Vec<(ChangeHash, Signature)>);

impl Workspace {
    /// After a sync or bundle import: if the roster changed since the stored changes
    /// were last checked and took something away (or they never were), check every
    /// stored change's author again ([`Workspace::verify_authors`]). Returns one line
    /// per removed change.
    pub fn reverify_if_roster_changed(&self) -> Result<Vec<String>> {
        if !self.has_roster()? {
            return Ok(Vec::new());
        }
        let rid = DocId::workspace(&DocKind::Roster);
        let mut doc = self.load(&rid)?;
        let heads = doc.heads();
        let text = heads
            .iter()
            .map(|h| h.to_string())
            .collect::<Vec<_>>()
            .join(",");
        let last = self
            .store()
            .get_meta_str(META_VERIFIED_ROSTER)
            .map_err(fieldcrm_store::Error::from)?;
        if last.as_deref() == Some(text.as_str()) {
            return Ok(Vec::new());
        }
        let needed = match &last {
            None => true,
            Some(old) => {
                let old_heads: Vec<ChangeHash> =
                    old.split(',').filter_map(|h| h.parse().ok()).collect();
                let old_roster = doc.automerge_mut().fork_at(&old_heads).ok().and_then(|at| {
                    fieldcrm_model::Document::from_automerge(rid.clone(), at)
                        .ok()?
                        .hydrate::<Roster>()
                        .ok()
                });
                // A current roster that cannot be read takes nothing away.
                old_roster.is_none_or(|old| self.roster().is_ok_and(|now| takes_away(&old, &now)))
            }
        };
        let lines = match self.take_first_sync(&heads) {
            // A first sync judged what it received after the roster with this roster.
            Some(unchecked) if last.is_none() => self.verify_authors_of(unchecked)?,
            _ if needed => self.verify_authors()?,
            _ => Vec::new(),
        };
        self.store()
            .set_meta_str(META_VERIFIED_ROSTER, &text)
            .map_err(fieldcrm_store::Error::from)?;
        Ok(lines)
    }

    /// Check the author of every change in every stored document (other than the
    /// roster, which is checked by its own chain) against the stored roster; remove the
    /// changes that fail, and what depends on them. Returns one line per removed change.
    /// The documents are checked on every core (a first sync checks all of them); what
    /// fails is then rebuilt or deleted here, one document at a time.
    pub fn verify_authors(&self) -> Result<Vec<String>> {
        let ids: Vec<DocId> = self
            .store()
            .all_heads()
            .map_err(fieldcrm_store::Error::from)?
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        self.verify_authors_of(ids)
    }

    /// The record a first sync starting now fills (`held_before`: the store holds
    /// documents already).
    pub(crate) fn first_sync_record(&self, held_before: bool) -> FirstSyncRecord {
        self.first_sync
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .held_before |= held_before;
        self.first_sync.clone()
    }

    /// The documents first syncs left unchecked, if the record can be used with the
    /// roster at `heads` (see [`FirstSync`]); the record is spent either way.
    fn take_first_sync(&self, heads: &[ChangeHash]) -> Option<Vec<DocId>> {
        let record =
            std::mem::take(&mut *self.first_sync.lock().unwrap_or_else(|e| e.into_inner()));
        let mut used = record.roster_heads?;
        let mut now = heads.to_vec();
        used.sort_unstable();
        now.sort_unstable();
        (!record.held_before && used == now).then_some(record.unchecked)
    }

    /// [`Workspace::verify_authors`] for the documents `ids` (the roster among them is
    /// skipped: its own chain checks it).
    fn verify_authors_of(&self, mut ids: Vec<DocId>) -> Result<Vec<String>> {
        if !self.has_roster()? {
            return Ok(Vec::new());
        }
        let roster = self.roster()?;
        let rid = DocId::workspace(&DocKind::Roster);
        ids.retain(|id| *id != rid);
        ids.sort_unstable();
        ids.dedup();
        let checked = crate::par::par_map(&ids, 256, |id| self.authors_of(&roster, id));
        let mut out = Vec::new();
        for (id, checked) in ids.iter().zip(checked) {
            let Some(failed) = checked? else {
                continue;
            };
            let store = self.store();
            match failed.kept {
                None => {
                    store.delete(id).map_err(fieldcrm_store::Error::from)?;
                    crate::claims::forget(store, [id]);
                    crate::lean::forget_state(store);
                }
                Some((data, sigs)) => drop(
                    store
                        .replace(id, &data, &sigs)
                        .map_err(fieldcrm_store::Error::from)?,
                ),
            }
            out.extend(failed.lines);
        }
        Ok(out)
    }

    /// [`Workspace::verify_authors`] for one document: `None` when every change passes,
    /// else the lines saying what was removed and what remains (saved data and
    /// signatures; `None` when nothing does).
    fn authors_of(&self, roster: &Roster, id: &DocId) -> Result<Option<Failed>> {
        let Some(summary) = self.summary(id)? else {
            return Ok(None);
        };
        let (bytes, sigs) = self
            .store()
            .load_signed(id)
            .map_err(fieldcrm_store::Error::from)?;
        let mut am = AutoCommit::load(&bytes).map_err(|e| Error::Corrupt(format!("{id}: {e}")))?;
        let mut bad: HashSet<ChangeHash> = HashSet::new();
        let mut lines = Vec::new();
        let metas: Vec<_> = am
            .get_changes_meta(&[])
            .into_iter()
            .map(|m| m.into_owned())
            .collect();
        for m in metas {
            let reason = match DeviceKey::from_actor(&m.actor) {
                _ if m.deps.iter().any(|d| bad.contains(d)) => {
                    Some("it depends on a refused change".to_string())
                }
                None => Some("its actor ID is not a fieldcrm device key".to_string()),
                Some(author) => {
                    author_refusal(roster, &author, m.timestamp, &summary).filter(|_| {
                        // As sync judges it: the document as its author saw it.
                        let at = if m.deps.is_empty() {
                            am.fork_at(&[m.hash])
                        } else {
                            am.fork_at(&m.deps)
                        };
                        let then = at.ok().and_then(|at| {
                            fieldcrm_model::Document::from_automerge(id.clone(), at)
                                .ok()?
                                .summary()
                                .ok()
                        });
                        then.is_none_or(|then| {
                            author_refusal(roster, &author, m.timestamp, &then).is_some()
                        })
                    })
                }
            };
            if let Some(reason) = reason {
                bad.insert(m.hash);
                lines.push(format!(
                    "{} `{}` ({}): change {} removed: {reason}",
                    summary.kind,
                    summary.name,
                    id.short(),
                    short_id(&m.hash.to_string())
                ));
            }
        }
        if bad.is_empty() {
            return Ok(None);
        }
        let mut rebuilt = fieldcrm_sync::without_changes(&mut am, &bad)
            .map_err(|e| Error::Corrupt(format!("{id}: {e}")))?;
        let sigs: Vec<(ChangeHash, Signature)> =
            sigs.into_iter().filter(|(h, _)| !bad.contains(h)).collect();
        let kept = (!rebuilt.get_heads().is_empty()).then(|| (rebuilt.save(), sigs));
        Ok(Some(Failed { lines, kept }))
    }
}
