//! Provenance across a duplicate merge.
//!
//! `fieldcrm customer merge` copies the duplicate's entities into the survivor. Copying
//! writes new Automerge operations, so a legal review or a manager's approval that came
//! over would look as if the merging manager had set it. Before the rules run, this pass
//! gives such a value back its real author: when a tombstone (merged into the survivor by
//! a user allowed to merge) holds the *same entity* with the *same value* at the same path,
//! the value's author in the survivor is the author in the tombstone.
//!
//! Only identical values inside identical entities carry over, so an approval cannot be
//! reused for a quote with a different price; and only tombstones whose `merged_into` was
//! set by a holder of [`Authority::MergeCustomers`] / [`Authority::MergeChannels`] count.

use std::borrow::{Borrow, Cow};
use std::collections::HashMap;

use fieldcrm_model::{Authority, Body, Role, Roster, Snapshot};

/// The snapshots with authorship carried from tombstones into their survivors (borrowed
/// unchanged when no survivor needs it).
pub fn carry_merged_provenance(docs: &[Snapshot]) -> Cow<'_, [Snapshot]> {
    let carried = carried_survivors(docs);
    if carried.is_empty() {
        return Cow::Borrowed(docs);
    }
    let mut out = docs.to_vec();
    for (i, s) in carried {
        if let Some(slot) = out.get_mut(i) {
            *slot = s;
        }
    }
    Cow::Owned(out)
}

/// The survivors that need authorship carried from their tombstones, by position in
/// `docs`, as they are with it carried: what [`carry_merged_provenance`] replaces (for a
/// caller that keeps its snapshots elsewhere, e.g. an incremental engine's).
pub fn carried_survivors<S: Borrow<Snapshot>>(docs: &[S]) -> Vec<(usize, Snapshot)> {
    let Some(roster) = docs.iter().find_map(|s| match &s.borrow().body {
        Body::Roster(r) => Some(r),
        _ => None,
    }) else {
        return Vec::new();
    };
    let by_survivor = tombstones_by_survivor(roster, docs.iter().map(Borrow::borrow));
    if by_survivor.is_empty() {
        return Vec::new();
    }
    docs.iter()
        .enumerate()
        .filter_map(|(i, s)| {
            let s = s.borrow();
            let tombstones = by_survivor.get(s.id.as_str())?;
            Some((i, carried_into(s, tombstones)))
        })
        .collect()
}

/// The tombstones among `docs` whose `merged_into` was set by a user `roster` allows
/// to merge, by the ID of their survivor: the ones whose authorship carries.
pub fn tombstones_by_survivor<'a>(
    roster: &Roster,
    docs: impl IntoIterator<Item = &'a Snapshot>,
) -> HashMap<&'a str, Vec<&'a Snapshot>> {
    let mut by_survivor: HashMap<&str, Vec<&Snapshot>> = HashMap::new();
    for t in docs {
        let (merged_into, may_merge) = match &t.body {
            Body::Customer(c) => (c.merged_into.as_ref(), Authority::MergeCustomers),
            Body::Channel(c) => (c.merged_into.as_ref(), Authority::MergeChannels),
            _ => continue,
        };
        let Some(survivor) = merged_into else {
            continue;
        };
        let merged_by = t
            .fields
            .get("merged_into")
            .and_then(|f| f.values.first())
            .and_then(|s| role_of(roster, &s.actor));
        if merged_by.is_some_and(|r| may_merge.allows(r)) {
            by_survivor.entry(survivor.as_str()).or_default().push(t);
        }
    }
    by_survivor
}

/// `survivor` with authorship carried from its `tombstones` (from
/// [`tombstones_by_survivor`]).
pub fn carried_into(survivor: &Snapshot, tombstones: &[&Snapshot]) -> Snapshot {
    let mut s = survivor.clone();
    carry_into(&mut s, tombstones);
    s
}

fn role_of<'r>(roster: &'r Roster, actor: &str) -> Option<&'r Role> {
    let dev = roster.devices.get(actor)?;
    roster.users.get(&dev.user).map(|u| &u.role)
}

/// The JSON of the body at a `/`-separated path (the entity holding a field).
fn at<'a>(body: &'a serde_json::Value, path: &[&str]) -> Option<&'a serde_json::Value> {
    path.iter().try_fold(body, |v, k| v.get(*k))
}

fn body_json(s: &Snapshot) -> serde_json::Value {
    serde_json::to_value(&s.body)
        .ok()
        .and_then(|mut v| v.get_mut("body").map(serde_json::Value::take))
        .unwrap_or_default()
}

fn carry_into(survivor: &mut Snapshot, tombstones: &[&Snapshot]) {
    let mine = body_json(survivor);
    let mut moved: Vec<(String, String)> = Vec::new();
    for t in tombstones {
        let theirs = body_json(t);
        for (path, state) in &t.fields {
            if path == "merged_into" {
                continue;
            }
            let (Some(their), Some(my)) = (
                state.values.first(),
                survivor.fields.get(path).and_then(|f| f.values.first()),
            ) else {
                continue;
            };
            // Only sign-offs (objects: approvals, reviews, escalations, agreements,
            // territories) carry; a scalar that happens to be equal is not the same act.
            if !their.value.is_object() || their.value != my.value || their.actor == my.actor {
                continue;
            }
            // The whole entity must be the same (a quote's approval only with that quote).
            let segs: Vec<&str> = path.split('/').collect();
            let entity: &[&str] = match segs.split_last() {
                Some((_, parent)) if !parent.is_empty() => parent,
                _ => &segs,
            };
            if at(&mine, entity).is_none() || at(&mine, entity) != at(&theirs, entity) {
                continue;
            }
            moved.push((path.clone(), their.actor.clone()));
        }
    }
    for (path, actor) in moved {
        if let Some(v) = survivor
            .fields
            .get_mut(&path)
            .and_then(|f| f.values.first_mut())
        {
            v.actor = actor;
        }
    }
}
