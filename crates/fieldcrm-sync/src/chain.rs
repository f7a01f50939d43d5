//! The roster's chain of authority: roster changes judged one by one, in causal order,
//! against the roster each was made on (see [`crate::RosterScope`]).

use std::collections::HashMap;

use automerge::{AutoCommit, Change, ChangeHash};
use fieldcrm_model::DeviceKey;
use fieldcrm_model::workspace_docs::{
    InvitationHolders, invitation_holder, invitation_holders, roster_device_with,
};

use crate::scope::{ChangeInfo, Content, Incoming, RosterLoader};

/// What [`crate::RosterScope`] needs to judge roster changes.
pub(crate) struct RosterChain {
    workspace_id: String,
    local: RosterLoader,
}

/// Who holds each invitation used in the roster (its ID → the device that holds it, as
/// `invitation_holders` reads it) at `heads`: kept while a session's roster changes are
/// judged, so that each enrolment and each change by a device enrolled by invitation
/// looks its invitation up instead of passing over every device entry (which made a
/// first sync of `n` such devices quadratic).
struct Holders {
    heads: Vec<ChangeHash>,
    by_id: InvitationHolders,
}

fn sorted_heads(doc: &mut AutoCommit) -> Vec<ChangeHash> {
    let mut heads = doc.get_heads();
    heads.sort();
    heads
}

/// Who holds invitation `id` in `doc` (whose sorted heads are `heads`), from `holders`
/// when they were read at those heads (read again otherwise).
fn holder_of(
    holders: &mut Option<Holders>,
    doc: &AutoCommit,
    heads: &[ChangeHash],
    id: &str,
) -> Result<Option<String>, autosurgeon::HydrateError> {
    let by_id = match holders {
        Some(h) if h.heads == heads => &h.by_id,
        _ => {
            let fresh = holders.insert(Holders {
                heads: heads.to_vec(),
                by_id: invitation_holders(doc)?,
            });
            &fresh.by_id
        }
    };
    Ok(by_id.holder(id).map(String::from))
}

impl RosterChain {
    pub(crate) fn new(workspace_id: &str, local: RosterLoader) -> Self {
        RosterChain {
            workspace_id: workspace_id.to_string(),
            local,
        }
    }

    /// Judge roster changes one by one against the roster each was made on.
    pub(crate) fn refusals(&self, incoming: &Incoming<'_>) -> Vec<(ChangeHash, String)> {
        let mut doc = match (self.local)() {
            Ok(d) => d.unwrap_or_default(),
            Err(e) => {
                return incoming
                    .changes
                    .iter()
                    .map(|c| (c.hash, format!("the roster held here cannot be read: {e}")))
                    .collect();
            }
        };
        let verified: HashMap<ChangeHash, &ChangeInfo> =
            incoming.changes.iter().map(|c| (c.hash, c)).collect();
        let changes: Vec<Change> = match incoming.content {
            Content::Changes(cs) => cs.to_vec(),
            Content::Whole(d) => d.get_changes(&[]),
        };
        let mut out: Vec<(ChangeHash, String)> = Vec::new();
        let mut holders: Option<Holders> = None;
        // Judge in causal order whatever order the peer sent them in: a change listed
        // before one it depends on waits for it (it must not be saved unjudged).
        let mut pending = changes;
        loop {
            let before = pending.len();
            let mut waiting = Vec::new();
            for c in pending {
                if c.deps()
                    .iter()
                    .any(|d| doc.get_change_meta_by_hash(d).is_none())
                {
                    waiting.push(c);
                    continue;
                }
                self.judge_one(&mut doc, &mut holders, &verified, c, &mut out);
            }
            pending = waiting;
            if pending.is_empty() || pending.len() == before {
                break;
            }
        }
        // What still waits depends on a refused change or on changes not held here:
        // refused, never saved unjudged.
        for c in pending {
            let hash = c.hash();
            if !verified.contains_key(&hash) || doc.get_change_meta_by_hash(&hash).is_some() {
                continue;
            }
            let reason = match c.deps().iter().find(|d| out.iter().any(|(o, _)| o == *d)) {
                Some(d) => format!(
                    "it depends on refused change {}",
                    fieldcrm_model::short_id(&d.to_string())
                ),
                None => "the roster changes it was made on are not known here".to_string(),
            };
            out.push((hash, reason));
        }
        out
    }

    /// Judge one roster change whose dependencies are all in `doc`, and apply it if
    /// accepted.
    fn judge_one(
        &self,
        doc: &mut AutoCommit,
        holders: &mut Option<Holders>,
        verified: &HashMap<ChangeHash, &ChangeInfo>,
        c: Change,
        out: &mut Vec<(ChangeHash, String)>,
    ) {
        let hash = c.hash();
        let Some(info) = verified.get(&hash) else {
            return; // already refused for its signature
        };
        if doc.get_change_meta_by_hash(&hash).is_some() {
            return;
        }
        let before = sorted_heads(doc);
        // The invitation an accepted enrolment used, to keep `holders` current.
        let mut enrolled: Option<String> = None;
        let verdict = if c.deps().is_empty() {
            if fieldcrm_model::sig::workspace_id_for(&info.author) == self.workspace_id {
                None
            } else {
                Some("only the device that founded this workspace may start its roster".to_string())
            }
        } else {
            // Most roster changes are made on the roster as it now stands here (one
            // admin, one change after another): read it in place rather than rebuild it
            // from the history.
            let mut deps = c.deps().to_vec();
            deps.sort();
            let forked = (deps != before).then(|| doc.fork_at(&deps));
            let at: Option<&AutoCommit> = match &forked {
                None => Some(&*doc),
                Some(f) => f.as_ref().ok(),
            };
            let hex = info.author.to_hex();
            let mut holder = |id: &str| match &forked {
                None => holder_of(holders, doc, &before, id),
                Some(Ok(f)) => invitation_holder(f, id),
                Some(Err(_)) => Ok(None), // never asked: no roster to read then
            };
            match at.map(|at| (at, roster_device_with(at, &hex, &mut holder))) {
                Some((at, Ok(entry))) => {
                    match admin_refusal(entry.as_ref(), &info.author, info.time) {
                        // A device not in the roster yet: only its own enrolment by an
                        // admin's invitation may pass (`enrolment.rs`).
                        Some(reason) if entry.is_none() => {
                            match crate::enrolment::judge(
                                at,
                                &c,
                                &info.author,
                                info.time,
                                &self.workspace_id,
                                &mut holder,
                            ) {
                                crate::enrolment::Enrolment::Valid(id) => {
                                    enrolled = Some(id);
                                    None
                                }
                                crate::enrolment::Enrolment::Refused(why) => Some(why),
                                crate::enrolment::Enrolment::NotOne => Some(reason),
                            }
                        }
                        other => other,
                    }
                }
                _ => Some("the roster this change was made on cannot be read".into()),
            }
        };
        match verdict {
            None => {
                if doc.apply_changes([c]).is_err() {
                    out.push((hash, "automerge refused the change".into()));
                    return;
                }
                // Automerge 0.12 records a patch for every operation applied, even with
                // its patch log off; dropped here, or every clone of the roster (one per
                // enrolment judged) copies all of them.
                doc.reset_diff_cursor();
                // An enrolment adds one device holding its invitation, and nothing else
                // (`enrolment.rs`): the holders read before it stay true with that one
                // added. Any other change: read them again when next needed.
                if let (Some(h), Some(id)) = (holders.as_mut(), enrolled)
                    && h.heads == before
                {
                    h.by_id.record(&id, &info.author.to_hex());
                    h.heads = sorted_heads(doc);
                }
            }
            Some(reason) => out.push((hash, reason)),
        }
    }
}

/// Why `author` may not change the roster, given its device's entry and its user's in
/// the roster the change was made on.
fn admin_refusal(
    entry: Option<&(fieldcrm_model::Device, Option<fieldcrm_model::User>)>,
    author: &DeviceKey,
    time: i64,
) -> Option<String> {
    let hex = author.to_hex();
    let short = fieldcrm_model::short_id(&hex);
    let Some((device, user)) = entry else {
        return Some(format!(
            "device {short} was not enrolled when it changed the roster"
        ));
    };
    if device
        .revoked_at
        .is_some_and(|r| fieldcrm_model::change_time_ms(time) >= r)
    {
        return Some(format!(
            "device {short} was revoked when it changed the roster"
        ));
    }
    let admin = user
        .as_ref()
        .is_some_and(|u| u.active && u.role == fieldcrm_model::Role::Admin);
    if !admin {
        return Some(format!(
            "only an admin's device may change the roster; device {short} is not one"
        ));
    }
    None
}
