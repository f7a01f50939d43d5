//! Workspace-wide documents: roster, catalog and price policy, rule configuration, sales
//! targets and reports. Each exists once per workspace; `init` creates it and every other
//! device receives it by sync (never created independently: see ARCHITECTURE.md).

use std::collections::BTreeMap;

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};

use crate::vocab::Role;
use crate::{DeviceKey, Fen, Millis};

/// Users, their roles and their devices.
#[derive(Debug, Clone, Default, PartialEq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct Roster {
    /// Always `"roster"`.
    pub kind: String,
    /// Schema version.
    pub schema_version: u64,
    /// The workspace ID (32 hex).
    pub workspace_id: String,
    /// Company / workspace name.
    pub workspace_name: String,
    /// Whether reps may read their team's customers (read scope).
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub share_team_customers: bool,
    /// Users by user ID.
    pub users: BTreeMap<String, User>,
    /// Devices by device key (64 hex), which is also the device's Automerge actor ID.
    /// Of devices that enrolled themselves with the same invitation concurrently (neither
    /// saw the other: the roster chain refuses the later otherwise), only the one with the
    /// lowest device key is read; the others are void ([`settle_invitations`]).
    #[autosurgeon(hydrate = "hydrate_devices")]
    pub devices: BTreeMap<String, Device>,
}

fn hydrate_devices<D: autosurgeon::ReadDoc>(
    doc: &D,
    obj: &automerge::ObjId,
    prop: autosurgeon::Prop<'_>,
) -> Result<BTreeMap<String, Device>, autosurgeon::HydrateError> {
    let mut devices = BTreeMap::<String, Device>::hydrate(doc, obj, prop)?;
    settle_invitations(&mut devices);
    Ok(devices)
}

/// Device `key_hex`'s entry in the roster that `doc` holds, with its user's entry: what
/// the hydrated [`Roster`] gives for `devices.get(key_hex)` and `users.get(&device.user)`,
/// read without hydrating the rest (judging a roster's changes one by one reads this once
/// per change; a whole roster each time made that quadratic in the roster's size). A
/// device that enrolled itself by invitation counts only if it holds that invitation
/// ([`invitation_holder`], the rule of [`settle_invitations`]). Only these entries need
/// to hydrate.
pub fn roster_device(
    doc: &automerge::AutoCommit,
    key_hex: &str,
) -> Result<Option<(Device, Option<User>)>, autosurgeon::HydrateError> {
    roster_device_with(doc, key_hex, &mut |id| invitation_holder(doc, id))
}

/// Who holds an invitation (by its ID), as [`invitation_holder`] reads it.
pub type HolderOf<'a> = dyn FnMut(&str) -> Result<Option<String>, autosurgeon::HydrateError> + 'a;

/// [`roster_device`], asking `holder` who holds an invitation (a caller that reads many
/// entries of one roster keeps [`invitation_holders`] instead of a pass per entry).
pub fn roster_device_with(
    doc: &automerge::AutoCommit,
    key_hex: &str,
    holder: &mut HolderOf<'_>,
) -> Result<Option<(Device, Option<User>)>, autosurgeon::HydrateError> {
    let Some(device) = raw_device(doc, key_hex)? else {
        return Ok(None);
    };
    if let Some(e) = &device.invitation
        && holder(&e.invitation.id)?.as_deref() != Some(key_hex)
    {
        return Ok(None);
    }
    let user = raw_user(doc, &device.user)?;
    Ok(Some((device, user)))
}

/// Device `key_hex`'s entry as written in the roster `doc`, void or not.
pub fn raw_device(
    doc: &automerge::AutoCommit,
    key_hex: &str,
) -> Result<Option<Device>, autosurgeon::HydrateError> {
    crate::document::hydrate_at::<Device>(doc, &["devices", key_hex])
}

/// User `id`'s entry as written in the roster `doc`.
pub fn raw_user(
    doc: &automerge::AutoCommit,
    id: &str,
) -> Result<Option<User>, autosurgeon::HydrateError> {
    crate::document::hydrate_at::<User>(doc, &["users", id])
}

/// The device that holds invitation `id` in the roster `doc`: of the devices whose
/// entries say they enrolled with it, the one with the lowest key
/// ([`settle_invitations`]).
pub fn invitation_holder(
    doc: &automerge::AutoCommit,
    id: &str,
) -> Result<Option<String>, autosurgeon::HydrateError> {
    Ok(invitation_holders(doc)?.holder(id).map(String::from))
}

/// Which device holds each invitation: of the devices that enrolled with one invitation
/// ID, the one with the lowest key (the double-use rule, [`settle_invitations`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InvitationHolders(std::collections::HashMap<String, String>);

impl InvitationHolders {
    /// Device `key` enrolled with invitation `id`: it holds it unless a lower key does.
    pub fn record(&mut self, id: &str, key: &str) {
        match self.0.get_mut(id) {
            Some(held) if key < held.as_str() => *held = key.to_string(),
            Some(_) => {}
            None => {
                self.0.insert(id.to_string(), key.to_string());
            }
        }
    }

    /// The device that holds invitation `id`, if any device enrolled with it.
    pub fn holder(&self, id: &str) -> Option<&str> {
        self.0.get(id).map(String::as_str)
    }
}

/// Every invitation used in the roster `doc` and the device that holds it, in one pass
/// over the device entries that reads only each one's invitation ID.
pub fn invitation_holders(
    doc: &automerge::AutoCommit,
) -> Result<InvitationHolders, autosurgeon::HydrateError> {
    use automerge::{ObjType, ReadDoc, ScalarValue, Value, ValueRef};
    let map_at = |obj: &automerge::ObjId, key: &str| match doc.get(obj, key) {
        Ok(Some((Value::Object(ObjType::Map), o))) => Ok(Some(o)),
        Ok(_) => Ok(None),
        Err(e) => Err(autosurgeon::HydrateError::from(e)),
    };
    let mut holders = InvitationHolders::default();
    let Some(devices) = map_at(&automerge::ROOT, "devices")? else {
        return Ok(holders);
    };
    for item in doc.map_range(&devices, ..) {
        let ValueRef::Object(ObjType::Map) = item.value else {
            continue;
        };
        let Some(enrolment) = map_at(&item.id(), "invitation")? else {
            continue;
        };
        let Some(invitation) = map_at(&enrolment, "invitation")? else {
            continue;
        };
        let id = match doc.get(&invitation, "id")? {
            Some((Value::Scalar(v), _)) => match v.as_ref() {
                ScalarValue::Str(s) => s.to_string(),
                _ => continue,
            },
            Some((Value::Object(ObjType::Text), t)) => doc.text(&t)?,
            _ => continue,
        };
        holders.record(&id, &item.key);
    }
    Ok(holders)
}

/// The double-use rule of invitations: when several devices enrolled themselves with one
/// invitation ID, keep the one with the lowest device key and drop the others. Only the
/// holder of the invitation's code can make such enrolments, so the rule only decides
/// which of that person's devices counts, and every replica decides the same.
pub fn settle_invitations(devices: &mut BTreeMap<String, Device>) {
    let mut holders = InvitationHolders::default();
    for (key, d) in devices.iter() {
        if let Some(e) = &d.invitation {
            holders.record(&e.invitation.id, key);
        }
    }
    devices.retain(|key, d| {
        d.invitation
            .as_ref()
            .is_none_or(|e| holders.holder(&e.invitation.id) == Some(key.as_str()))
    });
}

/// A user of the workspace.
#[derive(Debug, Clone, PartialEq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct User {
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Team.
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub team: Option<String>,
    /// Region (for channel read scope).
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub region: Option<String>,
    /// Whether active.
    pub active: bool,
    /// When added.
    pub created_at: Millis,
}

/// An enrolled device.
#[derive(Debug, Clone, PartialEq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct Device {
    /// Owning user ID.
    pub user: String,
    /// Device label.
    pub label: String,
    /// When enrolled.
    pub enrolled_at: Millis,
    /// When revoked, if revoked.
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub revoked_at: Option<Millis>,
    /// For a device that enrolled itself with an admin's invitation: the invitation and
    /// the proof it knew the code (see `fieldcrm_model::invitation`). `None` for devices
    /// an admin enrolled by key.
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub invitation: Option<crate::Enrolment>,
}

impl Device {
    /// The device that enrolled this one, when it enrolled itself by invitation: the
    /// admin's device that signed the invitation.
    pub fn invited_by(&self) -> Option<&str> {
        self.invitation
            .as_ref()
            .map(|e| e.invitation.created_by.as_str())
    }
}

impl Roster {
    /// The user that owns an (unrevoked or revoked) device.
    pub fn device_user(&self, key: &DeviceKey) -> Option<(&str, &User)> {
        let dev = self.devices.get(&key.to_hex())?;
        self.users.get(&dev.user).map(|u| (dev.user.as_str(), u))
    }

    /// A user's role.
    pub fn role_of(&self, user_id: &str) -> Option<&Role> {
        self.users.get(user_id).map(|u| &u.role)
    }

    /// The users that hold a role.
    pub fn users_with_role<'a>(
        &'a self,
        role: &'a Role,
    ) -> impl Iterator<Item = (&'a String, &'a User)> {
        self.users.iter().filter(move |(_, u)| &u.role == role)
    }
}

/// Products and the price policy (产品目录与价格政策).
#[derive(Debug, Clone, Default, PartialEq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct Catalog {
    /// Always `"catalog"`.
    pub kind: String,
    /// Schema version.
    pub schema_version: u64,
    /// Products by SKU.
    pub products: BTreeMap<String, Product>,
    /// Product lines the company sells (line code → display name).
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub product_lines: BTreeMap<String, String>,
    /// Discount each role may give without approval, in basis points (1000 = 10%).
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub discount_allowance_bp: BTreeMap<String, i64>,
}

/// A product.
#[derive(Debug, Clone, Default, PartialEq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct Product {
    /// Name.
    pub name: String,
    /// Product line code.
    pub product_line: String,
    /// List price per unit, fen.
    pub list_price: Fen,
    /// Floor price for channel resale, fen.
    pub floor_price: Fen,
}

/// Rule configuration overrides, synced like any document (changed by managers/admins).
#[derive(Debug, Clone, Default, PartialEq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct PolicySettings {
    /// Always `"policy"`.
    pub kind: String,
    /// Schema version.
    pub schema_version: u64,
    /// Overrides by rule ID.
    pub rules: BTreeMap<String, RuleSetting>,
}

/// Overrides for one rule.
#[derive(Debug, Clone, Default, PartialEq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct RuleSetting {
    /// `violation`, `warning` or `off`.
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub severity: Option<String>,
    /// Parameter overrides (values as text; the policy crate parses them).
    #[autosurgeon(missing = "Default::default")]
    #[serde(default)]
    pub params: BTreeMap<String, String>,
}

/// Sales targets and reports.
#[derive(Debug, Clone, Default, PartialEq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct Sales {
    /// Always `"sales"`.
    pub kind: String,
    /// Schema version.
    pub schema_version: u64,
    /// Targets by ID.
    #[autosurgeon(hydrate = "entries")]
    pub targets: BTreeMap<String, Target>,
    /// Reports by ID.
    #[autosurgeon(hydrate = "entries")]
    pub reports: BTreeMap<String, SalesReport>,
    /// What people did about rule findings on the workspace documents, by finding key.
    #[autosurgeon(missing = "Default::default", hydrate = "entries")]
    #[serde(default)]
    pub finding_states: BTreeMap<String, crate::FindingState>,
    /// Who registered which company first (撞单 notice): one claim per live customer file,
    /// keyed by the customer's document ID. Holds only hashed match keys, the owner and
    /// the registration time, never a field of the file, because every user reads this
    /// document.
    #[autosurgeon(missing = "Default::default", hydrate = "entries")]
    #[serde(default)]
    pub claims: BTreeMap<String, Claim>,
    /// Targets and reports removed as made by mistake, keyed `targets/<id>` or
    /// `reports/<id>`: who, when, why. The entry stays in its map (a concurrent edit is
    /// kept and it can be restored); progress, reports and rules leave it out.
    #[autosurgeon(missing = "Default::default", hydrate = "entries")]
    #[serde(default)]
    pub removed: BTreeMap<String, crate::Note>,
}

impl Sales {
    /// A copy of everything but the claims (most of the document at 100,000 customers).
    pub fn without_claims(&self) -> Sales {
        let Sales {
            kind,
            schema_version,
            targets,
            reports,
            finding_states,
            claims: _,
            removed,
        } = self;
        Sales {
            kind: kind.clone(),
            schema_version: *schema_version,
            targets: targets.clone(),
            reports: reports.clone(),
            finding_states: finding_states.clone(),
            claims: BTreeMap::new(),
            removed: removed.clone(),
        }
    }

    /// Whether the record `id` of `collection` (`targets` or `reports`) was removed.
    pub fn is_removed(&self, collection: &str, id: &str) -> bool {
        self.removed.contains_key(&format!("{collection}/{id}"))
    }

    /// The document as progress, reports and rules see it: without removed targets and
    /// reports.
    pub fn without_removed(mut self) -> Sales {
        for key in self.removed.keys() {
            match key.split_once('/') {
                Some(("targets", id)) => drop(self.targets.remove(id)),
                Some(("reports", id)) => drop(self.reports.remove(id)),
                _ => {}
            }
        }
        self
    }
}

/// A map hydrated as autosurgeon hydrates it, but each entry's value taken from the
/// map's own iteration: autosurgeon looks each key up again, a search of the map per
/// entry, which made hydrating the Sales document's 100,000 claims take 3.7 s. The same
/// values and the same errors: a value that is not a map is left to autosurgeon.
fn entries<D: autosurgeon::ReadDoc, V: Hydrate>(
    doc: &D,
    obj: &automerge::ObjId,
    prop: autosurgeon::Prop<'_>,
) -> Result<BTreeMap<String, V>, autosurgeon::HydrateError> {
    use automerge::{ObjType, Value};
    let map = match doc.get(obj, &prop)? {
        Some((Value::Object(ObjType::Map | ObjType::Table), map)) => map,
        _ => return BTreeMap::<String, V>::hydrate(doc, obj, prop),
    };
    doc.map_range(&map, ..)
        .map(|item| {
            let value = match item.value.clone().into_value() {
                Value::Object(ObjType::Map | ObjType::Table) => V::hydrate_map(doc, &item.id()),
                Value::Object(ObjType::List) => V::hydrate_seq(doc, &item.id()),
                Value::Object(ObjType::Text) => V::hydrate_text(doc, &item.id()),
                Value::Scalar(s) => V::hydrate_scalar(s),
            }?;
            Ok((item.key.to_string(), value))
        })
        .collect()
}

/// A customer file's claim on a company, readable by every user (see
/// `fieldcrm_policy::claims` for the keys and how a claim counts).
#[derive(Debug, Clone, Default, PartialEq, Eq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct Claim {
    /// The file's owner (user ID).
    pub owner: String,
    /// When the file was registered (its `created_at`, UTC ms).
    pub since: Millis,
    /// Hashed match keys → what each hashes (`name`, `credit_code` or `phone`).
    pub keys: BTreeMap<String, String>,
}

/// A sales target for a user or a team over a period.
#[derive(Debug, Clone, Default, PartialEq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct Target {
    /// `user` or `team`.
    pub scope: String,
    /// User ID or team name.
    pub subject: String,
    /// Period, e.g. `2026`, `2026-Q4`, `2026-11`.
    pub period: String,
    /// Target amount, fen.
    pub amount: Fen,
    /// Who set it.
    pub by: String,
    /// When set.
    pub at: Millis,
}

/// A rep's periodic sales report (销售报告).
#[derive(Debug, Clone, Default, PartialEq, Reconcile, Hydrate, Serialize, Deserialize)]
pub struct SalesReport {
    /// User ID of the rep.
    pub user: String,
    /// Period, e.g. `2026-W48`.
    pub period: String,
    /// Summary.
    pub summary: String,
    /// Sales amount in the period, fen.
    pub amount: Fen,
    /// When submitted.
    pub submitted_at: Millis,
}

#[cfg(test)]
mod tests {
    use automerge::transaction::Transactable;
    use automerge::{AutoCommit, ObjType, ROOT, ReadDoc};
    use autosurgeon::{hydrate, hydrate_prop};

    use super::*;

    /// The claims as autosurgeon's own map hydration reads them.
    fn reference(doc: &AutoCommit) -> Result<BTreeMap<String, Claim>, String> {
        hydrate_prop(doc, &ROOT, "claims").map_err(|e: autosurgeon::HydrateError| e.to_string())
    }

    fn sales_with(claims: impl FnOnce(&mut AutoCommit, &automerge::ObjId)) -> AutoCommit {
        let mut doc = AutoCommit::new();
        autosurgeon::reconcile(&mut doc, Sales::new()).unwrap();
        let map = doc.put_object(ROOT, "claims", ObjType::Map).unwrap();
        claims(&mut doc, &map);
        doc
    }

    fn claim(doc: &mut AutoCommit, map: &automerge::ObjId, key: &str, owner: &str, text: bool) {
        let c = doc.put_object(map, key, ObjType::Map).unwrap();
        if text {
            let t = doc.put_object(&c, "owner", ObjType::Text).unwrap();
            doc.splice_text(&t, 0, 0, owner).unwrap();
        } else {
            doc.put(&c, "owner", owner).unwrap();
        }
        doc.put(&c, "since", 1_000i64).unwrap();
        let keys = doc.put_object(&c, "keys", ObjType::Map).unwrap();
        doc.put(&keys, "ab12", "name").unwrap();
    }

    #[test]
    fn map_entries_hydrate_as_autosurgeon_reads_them() {
        // Well formed, Chinese, full-width and emoji keys and values.
        let mut good = sales_with(|d, m| {
            claim(d, m, "甲公司😀", "u1", false);
            claim(d, m, "ｂ２", "王经理", false);
        });
        // Concurrent claims under one key: the winner, as autosurgeon picks it.
        good.commit();
        let mut a = good.fork();
        let mut b = good.fork();
        b.set_actor(automerge::ActorId::from(vec![0xff; 16]));
        let ma = a.get(ROOT, "claims").unwrap().unwrap().1;
        let mb = b.get(ROOT, "claims").unwrap().unwrap().1;
        claim(&mut a, &ma, "c", "u2", false);
        claim(&mut b, &mb, "c", "u3", false);
        a.merge(&mut b).unwrap();
        // Malformed: a scalar, a list, a claim without its date, an owner written as a
        // text object (autosurgeon reads a `String` only from a string), claims not a map.
        let text = sales_with(|d, m| claim(d, m, "x", "u1", true));
        let scalar = sales_with(|d, m| d.put(m, "x", 5i64).map(drop).unwrap());
        let list = sales_with(|d, m| d.put_object(m, "x", ObjType::List).map(drop).unwrap());
        let undated = sales_with(|d, m| {
            let c = d.put_object(m, "x", ObjType::Map).unwrap();
            d.put(&c, "owner", "u1").unwrap();
        });
        let mut not_a_map = sales_with(|_, _| {});
        not_a_map.put(ROOT, "claims", "none").unwrap();
        for (name, doc) in [
            ("good", &good),
            ("concurrent", &a),
            ("scalar", &scalar),
            ("list", &list),
            ("undated", &undated),
            ("text owner", &text),
            ("not a map", &not_a_map),
        ] {
            let ours = hydrate::<_, Sales>(doc)
                .map(|s| s.claims)
                .map_err(|e| e.to_string());
            assert_eq!(ours, reference(doc), "{name}");
            if name == "good" || name == "concurrent" {
                assert!(ours.is_ok(), "{name}: {ours:?}");
            } else {
                assert!(ours.is_err(), "{name}");
            }
        }
        let won = hydrate::<_, Sales>(&a).unwrap().claims["c"].owner.clone();
        assert!(["u2", "u3"].contains(&won.as_str()));
    }

    #[test]
    fn a_devices_entry_reads_as_the_whole_roster_hydrates_it() {
        let user = |name: &str, role: Role, active: bool| User {
            name: name.into(),
            role,
            team: Some("华东一组".into()),
            region: None,
            active,
            created_at: 1,
        };
        let enrolment = |id: &str| crate::Enrolment {
            invitation: crate::Invitation {
                workspace_id: "w".into(),
                id: id.into(),
                user: "u-rep".into(),
                new_user: false,
                name: "小张".into(),
                role: Role::Rep,
                team: None,
                created_at: 1,
                expires_at: 2,
                code_key: "k".into(),
                created_by: "a".repeat(64),
                signature: "s".into(),
            },
            proof: "p".into(),
        };
        let device = |user: &str, revoked: Option<Millis>, invitation: Option<&str>| Device {
            user: user.into(),
            label: "手机📱".into(),
            enrolled_at: 1,
            revoked_at: revoked,
            invitation: invitation.map(enrolment),
        };
        let mut roster = Roster {
            kind: "roster".into(),
            schema_version: 1,
            workspace_id: "w".into(),
            workspace_name: "ＡＣＭＥ 貿易".into(),
            ..Roster::default()
        };
        roster
            .users
            .insert("u-admin".into(), user("管理员", Role::Admin, true));
        roster
            .users
            .insert("u-rep".into(), user("小张😀", Role::Rep, true));
        roster
            .users
            .insert("u-gone".into(), user("離職", Role::Manager, false));
        let key = |c: char| c.to_string().repeat(64);
        roster
            .devices
            .insert(key('a'), device("u-admin", None, None));
        roster
            .devices
            .insert(key('b'), device("u-rep", Some(5), None));
        roster
            .devices
            .insert(key('c'), device("u-gone", None, None));
        roster
            .devices
            .insert(key('d'), device("u-nobody", None, None));
        // One invitation used twice: the lower key counts, the other is void.
        roster
            .devices
            .insert(key('e'), device("u-rep", None, Some("inv1")));
        roster
            .devices
            .insert(key('f'), device("u-rep", None, Some("inv1")));
        roster
            .devices
            .insert(key('9'), device("u-rep", None, Some("inv2")));
        let mut doc = AutoCommit::new();
        autosurgeon::reconcile(&mut doc, &roster).unwrap();
        // A user's name written as a text object (the JS client's default).
        let users = doc.get(ROOT, "users").unwrap().unwrap().1;
        let rep = doc.get(&users, "u-rep").unwrap().unwrap().1;
        let name = doc.put_object(&rep, "name", ObjType::Text).unwrap();
        doc.splice_text(&name, 0, 0, "小张😀").unwrap();

        let whole: Roster = crate::document::hydrate_at(&doc, &[]).unwrap().unwrap();
        assert!(!whole.devices.contains_key(&key('f')));
        let mut asked: Vec<String> = roster.devices.keys().cloned().collect();
        asked.extend([key('0'), String::new(), "（全角）".into()]);
        for k in asked {
            let expected = whole
                .devices
                .get(&k)
                .map(|d| (d.clone(), whole.users.get(&d.user).cloned()));
            assert_eq!(roster_device(&doc, &k).unwrap(), expected, "{k}");
        }
        assert_eq!(
            roster_device(&doc, &key('b'))
                .unwrap()
                .unwrap()
                .1
                .unwrap()
                .name,
            "小张😀"
        );
        // No devices at all, or devices not a map: nothing there.
        let mut empty = AutoCommit::new();
        assert_eq!(roster_device(&empty, &key('a')).unwrap(), None);
        empty.put(ROOT, "devices", "none").unwrap();
        assert_eq!(roster_device(&empty, &key('a')).unwrap(), None);
    }
}
