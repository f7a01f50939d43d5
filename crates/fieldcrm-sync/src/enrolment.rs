//! The one roster change a device not yet in the roster may make: enrolling itself with
//! an admin's invitation (see `fieldcrm_model::invitation`). Judged by the roster chain
//! ([`crate::RosterScope::roster_chain`]) against the roster the change was made on, so
//! every receiver decides the same:
//!
//! 1. The change only adds `devices/<its author>` (and, for an invitation that creates
//!    its user, `users/<the invitation's user>`): every other value and object of the
//!    roster, down to the Automerge operation that wrote it, is as it was.
//! 2. That device entry carries the invitation and names the invitation's user, unrevoked;
//!    a new user record holds exactly the invitation's name, role and team (active, no
//!    region, created when the invitation was); an existing user must be active.
//! 3. The invitation is for this workspace and its signature verifies under a device that,
//!    in that roster, is an active admin's, not revoked when it signed it.
//! 4. The enrolment's proof verifies under the invitation's code key for this device (the
//!    new device knew the code); the change was made no later than the invitation expires;
//!    its validity is at most [`fieldcrm_model::invitation::MAX_VALID_MS`].
//! 5. No device in that roster already enrolled with this invitation. Concurrent uses
//!    (neither saw the other) are all stored, and the roster reads only the one with the
//!    lowest device key ([`fieldcrm_model::workspace_docs::settle_invitations`]).

use std::collections::BTreeMap;

use automerge::{AutoCommit, Change, ObjId, ROOT, ReadDoc};
use fieldcrm_model::invitation::MAX_VALID_MS;
use fieldcrm_model::{Device, DeviceKey, DocId, DocKind, Role, Roster, User, short_id};

/// What the roster chain makes of a change whose author is not in the roster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Enrolment {
    /// It does not add its author's device with an invitation: judged as before.
    NotOne,
    /// A valid enrolment by invitation.
    Valid,
    /// An enrolment by invitation that does not hold, and why.
    Refused(String),
}

/// Judge `change` by `author` (made at Automerge time `time`) on the roster document
/// `before` (the roster at its dependencies).
pub(crate) fn judge(
    before: &AutoCommit,
    change: &Change,
    author: &DeviceKey,
    time: i64,
    workspace_id: &str,
) -> Enrolment {
    let hex = author.to_hex();
    let mut after = before.clone();
    if after.apply_changes([change.clone()]).is_err() {
        return Enrolment::NotOne;
    }
    let raw_after = raw_devices(&after);
    let Some(entry) = raw_after.get(&hex) else {
        return Enrolment::NotOne;
    };
    let Some(enrolment) = entry.invitation.clone() else {
        return Enrolment::NotOne;
    };
    match refusal(before, &after, author, &enrolment, time, workspace_id) {
        None => Enrolment::Valid,
        Some(why) => Enrolment::Refused(format!(
            "device {} enrolled itself by invitation, but {why}",
            short_id(&hex)
        )),
    }
}

fn raw_devices(doc: &AutoCommit) -> BTreeMap<String, Device> {
    autosurgeon::hydrate_prop(doc, ROOT, "devices").unwrap_or_default()
}

fn raw_users(doc: &AutoCommit) -> BTreeMap<String, User> {
    autosurgeon::hydrate_prop(doc, ROOT, "users").unwrap_or_default()
}

fn roster_of(doc: &AutoCommit) -> Option<Roster> {
    fieldcrm_model::Document::from_automerge(DocId::workspace(&DocKind::Roster), doc.clone())
        .ok()?
        .hydrate::<Roster>()
        .ok()
}

fn refusal(
    before: &AutoCommit,
    after: &AutoCommit,
    author: &DeviceKey,
    e: &fieldcrm_model::Enrolment,
    time: i64,
    workspace_id: &str,
) -> Option<String> {
    let inv = &e.invitation;
    let hex = author.to_hex();
    let Some(at) = roster_of(before) else {
        return Some("the roster it was made on cannot be read".into());
    };
    if inv.workspace_id != workspace_id {
        return Some("the invitation is for another workspace".into());
    }
    if !inv.signature_verifies() {
        return Some("the invitation's signature does not verify".into());
    }
    let signer = short_id(&inv.created_by).to_string();
    let admin = at.devices.get(&inv.created_by).and_then(|d| {
        let u = at.users.get(&d.user)?;
        Some((d, u))
    });
    match admin {
        None => {
            return Some(format!(
                "the invitation was signed by device {signer}, which was not enrolled"
            ));
        }
        Some((_, u)) if !(u.active && u.role == Role::Admin) => {
            return Some(format!(
                "the invitation was signed by device {signer}, which is not an admin's"
            ));
        }
        Some((d, _)) if d.revoked_at.is_some_and(|r| inv.created_at >= r) => {
            return Some(format!(
                "the invitation was signed by device {signer} after it was revoked"
            ));
        }
        Some(_) => {}
    }
    let valid = inv.expires_at.saturating_sub(inv.created_at);
    if valid <= 0 || valid > MAX_VALID_MS {
        return Some("the invitation's validity is not between 0 and 30 days".into());
    }
    if fieldcrm_model::change_time_ms(time) > inv.expires_at {
        return Some("the invitation had expired when it was used".into());
    }
    if !inv.proof_verifies(author, &e.proof) {
        return Some("its proof of the invitation code does not verify".into());
    }
    let raw_before = raw_devices(before);
    if raw_before.contains_key(&hex) {
        return Some("the device was already in the roster".into());
    }
    if let Some((k, _)) = raw_before.iter().find(|(_, d)| {
        d.invitation
            .as_ref()
            .is_some_and(|x| x.invitation.id == inv.id)
    }) {
        return Some(format!(
            "the invitation was already used by device {}",
            short_id(k)
        ));
    }
    // What the change wrote: its device, the user record, nothing else.
    let mut raw_after = raw_devices(after);
    let entry = raw_after.remove(&hex)?;
    if raw_after != raw_before {
        return Some("it changes other devices".into());
    }
    if entry.user != inv.user || entry.revoked_at.is_some() || entry.label.chars().count() > 200 {
        return Some("its device entry is not the invitation's".into());
    }
    let users_before = raw_users(before);
    let mut users_after = raw_users(after);
    if inv.new_user {
        if users_before.contains_key(&inv.user) {
            return Some("the invitation's new user already exists".into());
        }
        let expected = User {
            name: inv.name.clone(),
            role: inv.role.clone(),
            team: inv.team.clone(),
            region: None,
            active: true,
            created_at: inv.created_at,
        };
        if users_after.remove(&inv.user) != Some(expected) {
            return Some("the user it adds is not the one the invitation names".into());
        }
    } else if !users_before.get(&inv.user).is_some_and(|u| u.active) {
        return Some("the invitation's user is not an active user".into());
    }
    if users_after != users_before {
        return Some("it changes other users".into());
    }
    let mut added: Vec<(&str, String)> = vec![("devices", hex.clone())];
    if inv.new_user {
        added.push(("users", inv.user.clone()));
    }
    if !same_except(before, after, author, &added) {
        return Some("it writes more than its own device and user".into());
    }
    None
}

/// Whether `after` holds exactly the values and objects of `before` (the same
/// operations), except the keys in `added` (`(map at the root, key)`), which `before`
/// lacks and `after` holds once, as a map `author` created.
fn same_except(
    before: &AutoCommit,
    after: &AutoCommit,
    author: &DeviceKey,
    added: &[(&str, String)],
) -> bool {
    let root_keys: Vec<String> = before.keys(ROOT).collect();
    if root_keys != after.keys(ROOT).collect::<Vec<_>>() {
        return false;
    }
    for key in root_keys {
        let (b, a) = (
            before.get_all(ROOT, key.as_str()),
            after.get_all(ROOT, key.as_str()),
        );
        let (Ok(b), Ok(a)) = (b, a) else {
            return false;
        };
        if b != a {
            return false;
        }
        let new_here: Vec<&str> = added
            .iter()
            .filter(|(m, _)| *m == key)
            .map(|(_, k)| k.as_str())
            .collect();
        for (value, obj) in b {
            let ok = match value {
                automerge::Value::Scalar(_) => true,
                automerge::Value::Object(automerge::ObjType::Map) if !new_here.is_empty() => {
                    same_map_but(before, after, &obj, &new_here, author)
                }
                automerge::Value::Object(_) if !new_here.is_empty() => false,
                automerge::Value::Object(t) => same_tree(before, after, &obj, t),
            };
            if !ok {
                return false;
            }
        }
    }
    true
}

/// A map whose keys are the same in both but `new` (absent before, one map by `author`
/// after; its content is judged by hydration), the rest the same trees.
fn same_map_but(
    before: &AutoCommit,
    after: &AutoCommit,
    obj: &ObjId,
    new: &[&str],
    author: &DeviceKey,
) -> bool {
    let bk: Vec<String> = before.keys(obj).collect();
    let ak: Vec<String> = after
        .keys(obj)
        .filter(|k| !new.contains(&k.as_str()))
        .collect();
    if bk != ak {
        return false;
    }
    for key in new {
        if bk.iter().any(|k| k == key) {
            return false;
        }
        let Ok(vals) = after.get_all(obj, *key) else {
            return false;
        };
        let [(automerge::Value::Object(automerge::ObjType::Map), id)] = vals.as_slice() else {
            return false;
        };
        let by_author = match id {
            automerge::ObjId::Id(_, actor, _) => *actor == author.actor(),
            automerge::ObjId::Root => false,
        };
        if !by_author {
            return false;
        }
    }
    bk.iter()
        .all(|k| same_entry(before, after, obj, automerge::Prop::Map(k.clone())))
}

fn same_entry(before: &AutoCommit, after: &AutoCommit, obj: &ObjId, prop: automerge::Prop) -> bool {
    let (Ok(b), Ok(a)) = (before.get_all(obj, prop.clone()), after.get_all(obj, prop)) else {
        return false;
    };
    b == a
        && b.iter().all(|(v, id)| match v {
            automerge::Value::Object(t) => same_tree(before, after, id, *t),
            automerge::Value::Scalar(_) => true,
        })
}

/// The object `obj` holds the same entries (values and the operations that wrote them)
/// in both documents, recursively.
fn same_tree(
    before: &AutoCommit,
    after: &AutoCommit,
    obj: &ObjId,
    typ: automerge::ObjType,
) -> bool {
    match typ {
        automerge::ObjType::Map | automerge::ObjType::Table => {
            let bk: Vec<String> = before.keys(obj).collect();
            bk == after.keys(obj).collect::<Vec<_>>()
                && bk
                    .into_iter()
                    .all(|k| same_entry(before, after, obj, automerge::Prop::Map(k)))
        }
        automerge::ObjType::List | automerge::ObjType::Text => {
            let n = before.length(obj);
            n == after.length(obj)
                && (0..n).all(|i| same_entry(before, after, obj, automerge::Prop::Seq(i)))
        }
    }
}
