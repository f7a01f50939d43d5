//! Checking the authors of stored documents against the roster, for the one case where
//! sync cannot do it as changes arrive: a device's first sync, when it has no roster yet.
//!
//! During that session the roster is judged change by change back to the founding
//! device, and every other change is held to its signature; once the roster is stored,
//! [`Workspace::verify_authors`] checks each change's author (enrolled, not revoked when
//! it made the change, allowed to write the document) and rebuilds any document that
//! holds a change that fails, without it and without what depends on it.

use std::collections::HashSet;

use automerge::{AutoCommit, Change, ChangeHash};
use fieldcrm_model::{DeviceKey, DocId, DocKind, Signature, short_id};
use fieldcrm_sync::author_refusal;

use crate::{Error, Result, Workspace};

impl Workspace {
    /// Check the author of every change in every stored document (other than the
    /// roster, which is checked by its own chain) against the stored roster; remove the
    /// changes that fail, and what depends on them. Returns one line per removed change.
    pub fn verify_authors(&self) -> Result<Vec<String>> {
        if !self.has_roster()? {
            return Ok(Vec::new());
        }
        let roster = self.roster()?;
        let ids = self
            .store()
            .all_heads()
            .map_err(fieldcrm_store::Error::from)?;
        let rid = DocId::workspace(&DocKind::Roster);
        let mut out = Vec::new();
        for (id, _) in ids {
            if id == rid {
                continue;
            }
            let Some(summary) = self.summary(&id)? else {
                continue;
            };
            let (bytes, sigs) = self
                .store()
                .load_signed(&id)
                .map_err(fieldcrm_store::Error::from)?;
            let mut am =
                AutoCommit::load(&bytes).map_err(|e| Error::Corrupt(format!("{id}: {e}")))?;
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
                        author_refusal(&roster, &author, m.timestamp, &summary).filter(|_| {
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
                                author_refusal(&roster, &author, m.timestamp, &then).is_some()
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
                continue;
            }
            let kept: Vec<Change> = am
                .get_changes(&[])
                .into_iter()
                .filter(|c| !bad.contains(&c.hash()))
                .collect();
            let mut rebuilt = AutoCommit::new();
            rebuilt
                .apply_changes(kept)
                .map_err(|e| Error::Corrupt(format!("{id}: {e}")))?;
            let sigs: Vec<(ChangeHash, Signature)> =
                sigs.into_iter().filter(|(h, _)| !bad.contains(h)).collect();
            if rebuilt.get_heads().is_empty() {
                self.store()
                    .delete(&id)
                    .map_err(fieldcrm_store::Error::from)?;
            } else {
                self.store()
                    .replace(&id, &rebuilt.save(), &sigs)
                    .map_err(fieldcrm_store::Error::from)?;
            }
            out.extend(lines);
        }
        Ok(out)
    }
}
