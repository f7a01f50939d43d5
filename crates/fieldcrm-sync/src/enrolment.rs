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

use automerge::{AutoCommit, Change, ObjId, ObjType, ROOT, ReadDoc, Value};
use fieldcrm_model::invitation::MAX_VALID_MS;
use fieldcrm_model::workspace_docs::{HolderOf, raw_device, raw_user, roster_device_with};
use fieldcrm_model::{DeviceKey, Role, short_id};

/// What the roster chain makes of a change whose author is not in the roster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Enrolment {
    /// It does not add its author's device with an invitation: judged as before.
    NotOne,
    /// A valid enrolment by invitation (its ID).
    Valid(String),
    /// An enrolment by invitation that does not hold, and why.
    Refused(String),
}

/// Judge `change` by `author` (made at Automerge time `time`) on the roster document
/// `before` (the roster at its dependencies), asking `holder` who holds an invitation
/// there. Reads only the entries the invitation names and the change's own operations,
/// not whole rosters: judging `n` enrolments one by one is not quadratic.
pub(crate) fn judge(
    before: &AutoCommit,
    change: &Change,
    author: &DeviceKey,
    time: i64,
    workspace_id: &str,
    holder: &mut HolderOf<'_>,
) -> Enrolment {
    let hex = author.to_hex();
    let mut after = before.clone();
    if after.apply_changes([change.clone()]).is_err() {
        return Enrolment::NotOne;
    }
    let Ok(Some(entry)) = raw_device(&after, &hex) else {
        return Enrolment::NotOne;
    };
    let Some(enrolment) = entry.invitation.clone() else {
        return Enrolment::NotOne;
    };
    let mut judged = Judged {
        before,
        after: &after,
        change,
        author,
        hex: &hex,
        holder,
    };
    match judged.refusal(&entry, &enrolment, time, workspace_id) {
        None => Enrolment::Valid(enrolment.invitation.id),
        Some(why) => Enrolment::Refused(format!(
            "device {} enrolled itself by invitation, but {why}",
            short_id(&hex)
        )),
    }
}

/// One enrolment being judged: the roster before and after the change.
struct Judged<'a> {
    before: &'a AutoCommit,
    after: &'a AutoCommit,
    change: &'a Change,
    author: &'a DeviceKey,
    hex: &'a str,
    holder: &'a mut HolderOf<'a>,
}

impl Judged<'_> {
    fn refusal(
        &mut self,
        entry: &fieldcrm_model::Device,
        e: &fieldcrm_model::Enrolment,
        time: i64,
        workspace_id: &str,
    ) -> Option<String> {
        let inv = &e.invitation;
        let before = self.before;
        let unreadable = || Some("the roster it was made on cannot be read".to_string());
        if inv.workspace_id != workspace_id {
            return Some("the invitation is for another workspace".into());
        }
        if !inv.signature_verifies() {
            return Some("the invitation's signature does not verify".into());
        }
        let signer = short_id(&inv.created_by).to_string();
        let Ok(admin) = roster_device_with(before, &inv.created_by, self.holder) else {
            return unreadable();
        };
        match admin.and_then(|(d, u)| Some((d, u?))) {
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
        if !inv.proof_verifies(self.author, &e.proof) {
            return Some("its proof of the invitation code does not verify".into());
        }
        let Some(devices) = single_map(before, "devices") else {
            return Some("it writes more than its own device and user".into());
        };
        if before.get(&devices, self.hex).ok().flatten().is_some() {
            return Some("the device was already in the roster".into());
        }
        match (self.holder)(&inv.id) {
            Err(_) => return unreadable(),
            Ok(Some(k)) => {
                return Some(format!(
                    "the invitation was already used by device {}",
                    short_id(&k)
                ));
            }
            Ok(None) => {}
        }
        if entry.user != inv.user || entry.revoked_at.is_some() || entry.label.chars().count() > 200
        {
            return Some("its device entry is not the invitation's".into());
        }
        let user_before = match raw_user(before, &inv.user) {
            Ok(u) => u,
            Err(_) => return unreadable(),
        };
        let mut added: Vec<(ObjId, &str)> = vec![(devices, self.hex)];
        if inv.new_user {
            if user_before.is_some() {
                return Some("the invitation's new user already exists".into());
            }
            if raw_user(self.after, &inv.user).ok().flatten() != Some(inv.new_user_record()) {
                return Some("the user it adds is not the one the invitation names".into());
            }
            let Some(users) = single_map(before, "users") else {
                return Some("it changes other users".into());
            };
            added.push((users, inv.user.as_str()));
        } else if !user_before.is_some_and(|u| u.active) {
            return Some("the invitation's user is not an active user".into());
        }
        self.writes_only(&added).err().map(String::from)
    }

    /// Whether the change's operations only make, in the roster as it was, one new map
    /// for each of `added` (`(map, key)`: keys the roster lacked), and fill objects the
    /// change itself made (their content is judged by hydration). Every other value and
    /// object of the roster, down to the operation that wrote it, is then as it was: no
    /// operation of the change touches it. If not, what it touched.
    fn writes_only(&self, added: &[(ObjId, &str)]) -> Result<(), &'static str> {
        const MORE: &str = "it writes more than its own device and user";
        let actor = self.change.actor_id();
        if *actor != self.author.actor() {
            return Err(MORE);
        }
        let start = self.change.start_op().get();
        let own = start..start.saturating_add(self.change.len() as u64);
        let mut made = vec![false; added.len()];
        for op in self.change.decode().operations {
            let obj = match &op.obj {
                automerge::legacy::ObjectId::Id(id) => {
                    if id.actor() == actor && own.contains(&id.counter()) {
                        continue; // inside an object this change made
                    }
                    Some((id.counter(), id.actor()))
                }
                automerge::legacy::ObjectId::Root => None,
            };
            let at = added.iter().position(|(map, key)| {
                let same_map = match (map, obj) {
                    (ObjId::Id(counter, a, _), Some((c, oa))) => *counter == c && a == oa,
                    _ => false,
                };
                same_map && matches!(&op.key, automerge::legacy::Key::Map(k) if k.as_str() == *key)
            });
            let first_make = op.pred.is_empty()
                && !op.insert
                && matches!(op.action, automerge::legacy::OpType::Make(ObjType::Map));
            match at.and_then(|i| made.get_mut(i)) {
                Some(done) if first_make && !*done => *done = true,
                _ => return Err(self.part_of(obj)),
            }
        }
        if made.iter().all(|m| *m) {
            Ok(())
        } else {
            Err(MORE)
        }
    }

    /// What the roster's object `obj` (`(counter, actor)` of the operation that made
    /// it; `None` for the root) is part of, to say what a refused change touched.
    fn part_of(&self, obj: Option<(u64, &automerge::ActorId)>) -> &'static str {
        let root_key = obj.and_then(|(counter, actor)| {
            let id = self.before.import_obj(&format!("{counter}@{actor}")).ok()?;
            let path = self.before.parents(&id).ok()?.path();
            match path.into_iter().next() {
                Some((_, automerge::Prop::Map(key))) => Some(key),
                _ => None,
            }
        });
        match root_key.as_deref() {
            Some("devices") => "it changes other devices",
            Some("users") => "it changes other users",
            _ => "it writes more than its own device and user",
        }
    }
}

/// The one map at the root's `key` (none when absent, not a map, or in conflict).
fn single_map(doc: &AutoCommit, key: &str) -> Option<ObjId> {
    match doc.get_all(ROOT, key).ok()?.as_slice() {
        [(Value::Object(ObjType::Map), id)] => Some(id.clone()),
        _ => None,
    }
}
