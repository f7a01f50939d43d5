//! The Sales document's claims read in one pass over them.
//!
//! At 100,000 customers the Sales document holds 100,000 claims, each a map with a map of
//! keys inside. Reading them claim by claim (hydration, or a `map_range` of each) starts
//! each object with a seek through Automerge's op columns: 200,000 seeks, about 0.9 s of
//! a hydration that took 0.95 s. Automerge's document iterator (`iter_at`) goes through
//! the whole subtree in op order instead, and reads it in 0.4 s.
//!
//! [`walk`] gives each entry of the claims subtree with the claim it belongs to;
//! [`claims`] builds the claims from it exactly as autosurgeon would hydrate them, or
//! says that it cannot (anything but the shape fieldcrm writes), and the caller then
//! hydrates the usual way, with the usual errors.

use std::collections::{BTreeMap, HashMap};

use automerge::iter::DocItem;
use automerge::{ActorId, AutoCommit, ObjId, ObjType, ReadDoc, ScalarValueRef, Value, ValueRef};
use serde::{Deserialize, Serialize};

use crate::workspace_docs::Claim;

/// One entry of the claims subtree, in the order Automerge keeps them (by object, in the
/// order the objects were made; an object's entries in key order). Claims are numbered
/// in the order their entries in the claims map come (key order), from 0.
#[derive(Debug)]
pub enum Entry<'a> {
    /// Claim `at` is the claims map's entry `key`, whose value is `value`.
    Claim {
        /// The claim's number.
        at: usize,
        /// Its key in the claims map.
        key: &'a str,
        /// Its value (a map, if it reads as a claim).
        value: &'a ValueRef<'a>,
    },
    /// A field of claim `at`: `key` → `value`, written by the operation `id`.
    Field {
        /// The claim's number.
        at: usize,
        /// The field's name.
        key: &'a str,
        /// Its (winning) value.
        value: &'a ValueRef<'a>,
        /// The operation that wrote it.
        id: ObjId,
    },
    /// An entry of claim `at`'s map of keys: `key` → `value`, written by `id`.
    Key {
        /// The claim's number.
        at: usize,
        /// The hashed key.
        key: &'a str,
        /// What it hashes, as written.
        value: &'a ValueRef<'a>,
        /// The operation that wrote it.
        id: ObjId,
    },
}

/// Give every entry of the claims map `claims` of `doc` to `visit`, in one pass (see
/// [`Entry`]); entries of other objects inside a claim (fields fieldcrm does not write)
/// are skipped. Stops early when `visit` returns `false`.
pub fn walk(doc: &AutoCommit, claims: &ObjId, mut visit: impl FnMut(Entry<'_>) -> bool) {
    /// What the object whose entries are coming is.
    #[derive(Clone, Copy)]
    enum In {
        Claims,
        Claim(usize),
        Keys(usize),
        Other,
    }
    // Each claim object and each map of keys not reached yet, by object ID, with its
    // claim's number (an object's entries come together: it is looked up once, then
    // forgotten).
    let mut claim_at: HashMap<ObjId, usize> = HashMap::new();
    let mut keys_at: HashMap<ObjId, usize> = HashMap::new();
    let mut current: Option<(std::sync::Arc<ObjId>, In)> = None;
    let mut count = 0;
    for item in doc.iter_at(claims, None) {
        let DocItem::Map(m) = &item.item else {
            continue;
        };
        let here = match &current {
            Some((obj, here)) if std::sync::Arc::ptr_eq(obj, &item.obj) || **obj == *item.obj => {
                *here
            }
            _ => {
                let here = if *item.obj == *claims {
                    In::Claims
                } else if let Some(at) = claim_at.remove(&*item.obj) {
                    In::Claim(at)
                } else if let Some(at) = keys_at.remove(&*item.obj) {
                    In::Keys(at)
                } else {
                    In::Other
                };
                current = Some((item.obj.clone(), here));
                here
            }
        };
        let go_on = match here {
            In::Claims => {
                let at = count;
                count += 1;
                if matches!(m.value, ValueRef::Object(ObjType::Map)) {
                    claim_at.insert(m.id(), at);
                }
                visit(Entry::Claim {
                    at,
                    key: &m.key,
                    value: &m.value,
                })
            }
            In::Claim(at) => {
                let id = m.id();
                if &*m.key == "keys" && matches!(m.value, ValueRef::Object(ObjType::Map)) {
                    keys_at.insert(id.clone(), at);
                }
                visit(Entry::Field {
                    at,
                    key: &m.key,
                    value: &m.value,
                    id,
                })
            }
            In::Keys(at) => visit(Entry::Key {
                at,
                key: &m.key,
                value: &m.value,
                id: m.id(),
            }),
            In::Other => true,
        };
        if !go_on {
            break;
        }
    }
}

/// Who wrote each claim's winning values, for the policy to judge whether a claim
/// counts (written by its owner's device or a manager's): each writing actor once, and
/// per claim the actor of its owner, of its date and of each of its keys. What a Sales
/// snapshot holds instead of a field state per claim field (400,000 at 100,000
/// customers, most of the snapshot and of the time to build it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimHands {
    /// The actors (hex), each once.
    pub actors: Vec<String>,
    /// By claim key (claims that are maps).
    pub claims: BTreeMap<String, Hands>,
    /// Claims read as records instead of into the snapshot's maps (not in
    /// `Sales::claims` nor in `claims` above), with their writers: only in a snapshot
    /// read for the policy engine, which walks them in place. Never serialized.
    #[serde(skip)]
    pub packed: Option<std::sync::Arc<crate::packed_claims::PackedClaims>>,
}

/// Who wrote one claim's values: indexes into [`ClaimHands::actors`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hands {
    /// The writer of its owner, if it has one.
    pub owner: Option<u32>,
    /// The writer of its date, if it has one.
    pub since: Option<u32>,
    /// The writer of each of its keys, in hash order: the order of the claim's keys as
    /// the snapshot holds them (its map of keys, sorted), one for each. The hashes are
    /// not repeated here: at 100,000 claims they were 40% of the snapshot.
    pub keys: Vec<u32>,
}

impl ClaimHands {
    /// The actor (hex) that an index of [`Hands`] names.
    pub fn actor(&self, at: Option<u32>) -> Option<&str> {
        let at = usize::try_from(at?).ok()?;
        self.actors.get(at).map(String::as_str)
    }
}

impl Hands {
    /// The keys of `keys` (a claim's, in hash order) with the writer of each; `None`
    /// when this does not hold a writer for each of them (they are not this claim's).
    pub fn keys_with<'k, V>(
        &self,
        keys: &'k BTreeMap<String, V>,
    ) -> Option<impl Iterator<Item = (&'k String, &'k V, u32)> + use<'_, 'k, V>> {
        (keys.len() == self.keys.len())
            .then(|| keys.iter().zip(&self.keys).map(|((h, v), by)| (h, v, *by)))
    }
}

/// The claims map of the Sales document `doc` as autosurgeon hydrates it, read in one
/// pass, when every claim has the shape fieldcrm writes: a map with an `owner` string,
/// a `since` integer and a `keys` map of strings (other fields are ignored, as hydration
/// ignores them). `None` for anything else (a claim that is not a map, a field of
/// another type, text objects, a missing field): the caller hydrates those the usual
/// way, which gives its usual values and errors. No claims map: no claims.
pub fn claims(doc: &AutoCommit) -> Option<BTreeMap<String, Claim>> {
    read(doc, false).0
}

/// [`claims`], and who wrote each claim's values, in the same pass. The writers are
/// there whatever the claims' shape (a value of another type has a writer too).
pub fn claims_and_hands(doc: &AutoCommit) -> (Option<BTreeMap<String, Claim>>, ClaimHands) {
    let (claims, hands) = read(doc, true);
    (claims, hands.unwrap_or_default())
}

/// [`claims_and_hands`]; the writers only when `with_hands`.
fn read(
    doc: &AutoCommit,
    with_hands: bool,
) -> (Option<BTreeMap<String, Claim>>, Option<ClaimHands>) {
    let empty = || with_hands.then(ClaimHands::default);
    let claims = match doc.get(automerge::ROOT, "claims") {
        Ok(None) => return (Some(BTreeMap::new()), empty()),
        Ok(Some((Value::Object(ObjType::Map), claims))) => claims,
        _ => return (None, empty()),
    };
    /// A claim being read, and which of its fields were seen.
    #[derive(Default)]
    struct Reading {
        key: String,
        claim: Claim,
        owner: bool,
        since: bool,
        keys: bool,
        hands: Hands,
        /// The writer of each key, by hash, as the walk meets them.
        key_hands: Vec<(String, u32)>,
    }
    let mut read: Vec<Reading> = Vec::new();
    let mut actors: Vec<String> = Vec::new();
    let mut actor_at: HashMap<ActorId, u32> = HashMap::new();
    let mut writer = |id: &ObjId| -> Option<u32> {
        if !with_hands {
            return None;
        }
        let actor = crate::fields::actor_of(id)?;
        if let Some(&at) = actor_at.get(actor) {
            return Some(at);
        }
        let at = u32::try_from(actors.len()).ok()?;
        actors.push(actor.to_hex_string());
        actor_at.insert(actor.clone(), at);
        Some(at)
    };
    let mut usual = true;
    walk(doc, &claims, |entry| {
        let fine = match entry {
            Entry::Claim { at, key, value } => {
                read.push(Reading {
                    key: key.to_string(),
                    ..Default::default()
                });
                at + 1 == read.len() && matches!(value, ValueRef::Object(ObjType::Map))
            }
            Entry::Field { at, key, value, id } => {
                let Some(r) = read.get_mut(at) else {
                    return false;
                };
                match key {
                    "owner" => r.hands.owner = writer(&id),
                    "since" => r.hands.since = writer(&id),
                    _ => {}
                }
                match (key, value) {
                    ("owner", ValueRef::Scalar(ScalarValueRef::Str(s))) => {
                        r.claim.owner = s.to_string();
                        r.owner = true;
                        true
                    }
                    ("since", ValueRef::Scalar(ScalarValueRef::Int(v))) => {
                        r.claim.since = *v;
                        r.since = true;
                        true
                    }
                    ("keys", ValueRef::Object(ObjType::Map)) => {
                        r.keys = true;
                        true
                    }
                    ("owner" | "since" | "keys", _) => false,
                    _ => true,
                }
            }
            Entry::Key { at, key, value, id } => {
                let Some(r) = read.get_mut(at) else {
                    return false;
                };
                if let Some(by) = writer(&id) {
                    r.key_hands.push((key.to_string(), by));
                }
                match value {
                    ValueRef::Scalar(ScalarValueRef::Str(s)) => {
                        r.claim.keys.insert(key.to_string(), s.to_string());
                        true
                    }
                    _ => false,
                }
            }
        };
        usual &= fine;
        // Without the writers, the first unusual entry settles it.
        usual || with_hands
    });
    let usual = usual && read.iter().all(|r| r.owner && r.since && r.keys);
    let mut hands = with_hands.then(|| ClaimHands {
        actors,
        claims: BTreeMap::new(),
        packed: None,
    });
    let mut claims = usual.then(BTreeMap::new);
    for mut r in read {
        if let Some(h) = &mut hands {
            r.key_hands.sort_unstable_by(|a, b| a.0.cmp(&b.0));
            r.hands.keys = r.key_hands.drain(..).map(|(_, by)| by).collect();
            h.claims.insert(r.key.clone(), r.hands);
        }
        if let Some(c) = &mut claims {
            c.insert(r.key, r.claim);
        }
    }
    (claims, hands)
}

#[cfg(test)]
mod tests {
    //! The claims read in one pass against autosurgeon's hydration of the same document,
    //! on the shape fieldcrm writes (with conflicts, deletions and unknown fields) and on
    //! shapes it does not write, which must be left to hydration.

    use super::*;
    use crate::{DocId, DocKind, Document, Sales};
    use automerge::transaction::Transactable;
    use automerge::{ActorId, ROOT};

    fn claim(owner: &str, since: i64, keys: &[(&str, &str)]) -> Claim {
        Claim {
            owner: owner.into(),
            since,
            keys: keys
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    fn sales_doc(actor: u8) -> AutoCommit {
        let mut doc = AutoCommit::new().with_actor(ActorId::from([actor; 32]));
        let sales = Sales {
            kind: "sales".into(),
            schema_version: 1,
            claims: [
                (
                    "c-甲",
                    claim(
                        "u-张三",
                        1_700_000_000_000,
                        &[("h1", "name"), ("h2", "phone")],
                    ),
                ),
                ("c-乙 🌿", claim("u-李四", -5, &[("ｈ３", "credit_code")])),
                ("c-丙", claim("u-王五", 0, &[])),
            ]
            .into_iter()
            .map(|(k, c)| (k.to_string(), c))
            .collect(),
            ..Default::default()
        };
        autosurgeon::reconcile(&mut doc, &sales).unwrap();
        doc
    }

    fn claims_obj(doc: &AutoCommit) -> ObjId {
        doc.get(ROOT, "claims").unwrap().unwrap().1
    }

    fn claim_obj(doc: &AutoCommit, key: &str) -> ObjId {
        doc.get(claims_obj(doc), key).unwrap().unwrap().1
    }

    /// The one-pass read against hydration; whether it read the claims itself.
    fn same_as_hydration(doc: &AutoCommit) -> bool {
        let hydrated = autosurgeon::hydrate::<_, Sales>(doc);
        let walked = claims(doc);
        if let Some(walked) = &walked {
            let hydrated = hydrated
                .as_ref()
                .expect("read in one pass, but hydration fails");
            assert_eq!(walked, &hydrated.claims);
        }
        // Through the document: the same as hydration, read either way.
        let id = DocId::workspace(&DocKind::Sales);
        let through = Document::from_automerge(id, doc.clone())
            .unwrap()
            .hydrate::<Sales>();
        if let Ok(h) = &hydrated {
            assert_eq!(through.as_ref().ok(), Some(h));
        }
        walked.is_some()
    }

    #[test]
    fn the_usual_claims_are_read_as_hydration_reads_them() {
        let mut doc = sales_doc(1);
        assert!(same_as_hydration(&doc));
        assert_eq!(claims(&doc).unwrap().len(), 3);
        // Two devices change the same claim at once, one adds a claim and removes a key,
        // the other removes a claim: the same winners either way.
        let mut other = doc.fork().with_actor(ActorId::from([2; 32]));
        let a = claim_obj(&doc, "c-甲");
        doc.put(&a, "owner", "u-赵六").unwrap();
        let keys = doc.get(&a, "keys").unwrap().unwrap().1;
        doc.delete(&keys, "h1").unwrap();
        let b = claim_obj(&other, "c-甲");
        other.put(&b, "owner", "u-孙七").unwrap();
        other.put(&b, "since", 42_i64).unwrap();
        other.delete(claims_obj(&other), "c-丙").unwrap();
        let new = other
            .put_object(claims_obj(&other), "c-丁", ObjType::Map)
            .unwrap();
        other.put(&new, "owner", "u-周八").unwrap();
        other.put(&new, "since", 7_i64).unwrap();
        other.put(&new, "note", "不是 claim 的字段").unwrap();
        let extra = other.put_object(&new, "extra", ObjType::Map).unwrap();
        other.put(&extra, "x", 1_i64).unwrap();
        let k = other.put_object(&new, "keys", ObjType::Map).unwrap();
        other.put(&k, "h9", "name").unwrap();
        doc.merge(&mut other).unwrap();
        assert!(same_as_hydration(&doc));
        let read = claims(&doc).unwrap();
        assert_eq!(read.len(), 3);
        assert!(read["c-甲"].owner == "u-赵六" || read["c-甲"].owner == "u-孙七");
        assert_eq!(read["c-丁"], claim("u-周八", 7, &[("h9", "name")]));
        // No claims map at all: no claims.
        let empty = AutoCommit::new();
        assert_eq!(claims(&empty), Some(BTreeMap::new()));
    }

    #[test]
    fn other_shapes_are_left_to_hydration() {
        type Edit = fn(&mut AutoCommit);
        let edits: [(&str, Edit); 7] = [
            ("since as an unsigned integer", |d| {
                d.put(claim_obj(d, "c-甲"), "since", 5_u64).unwrap();
            }),
            ("owner as a text object", |d| {
                let t = d.put_object(claim_obj(d, "c-甲"), "owner", ObjType::Text);
                d.splice_text(t.unwrap(), 0, 0, "u-张三").unwrap();
            }),
            ("keys missing", |d| {
                d.delete(claim_obj(d, "c-乙 🌿"), "keys").unwrap()
            }),
            ("owner missing", |d| {
                d.delete(claim_obj(d, "c-丙"), "owner").unwrap()
            }),
            ("a claim that is a string", |d| {
                d.put(claims_obj(d), "c-戊", "？").unwrap();
            }),
            ("a key that is a number", |d| {
                let keys = d.get(claim_obj(d, "c-甲"), "keys").unwrap().unwrap().1;
                d.put(keys, "h1", 3_i64).unwrap();
            }),
            ("claims as a list", |d| {
                d.put_object(ROOT, "claims", ObjType::List).unwrap();
            }),
        ];
        for (what, edit) in edits {
            let mut doc = sales_doc(1);
            edit(&mut doc);
            assert!(!same_as_hydration(&doc), "{what}: read in one pass");
        }
    }

    /// The writers read in the walk against the field states of the same values: the
    /// winner's actor of each claim's owner, date and keys, whatever their shape.
    fn hands_are_the_winners_writers(doc: &AutoCommit) {
        let (_, hands) = claims_and_hands(doc);
        let winner = |obj: &ObjId, key: &str| {
            crate::fields::values_at(doc, obj, key)
                .first()
                .map(|s| s.actor.clone())
        };
        let mut keys_seen = 0;
        for item in doc.map_range(claims_obj(doc), ..) {
            let Some(h) = hands.claims.get(&*item.key) else {
                assert!(!matches!(item.value, ValueRef::Object(ObjType::Map)));
                continue;
            };
            let claim = item.id();
            let actor = |at| hands.actor(at).map(str::to_string);
            assert_eq!(actor(h.owner), winner(&claim, "owner"), "{}", item.key);
            assert_eq!(actor(h.since), winner(&claim, "since"), "{}", item.key);
            if let Ok(Some((Value::Object(ObjType::Map), keys))) = doc.get(&claim, "keys") {
                // In hash order, as a claim's keys are held.
                let held: BTreeMap<String, ()> = doc
                    .map_range(&keys, ..)
                    .map(|k| (k.key.to_string(), ()))
                    .collect();
                for (hash, _, by) in h.keys_with(&held).expect("a writer for each key") {
                    assert_eq!(actor(Some(by)), winner(&keys, hash));
                    keys_seen += 1;
                }
            }
            assert_eq!(
                h.keys.len(),
                doc.get(&claim, "keys")
                    .ok()
                    .flatten()
                    .map_or(0, |(_, k)| doc.length(k))
            );
        }
        assert!(keys_seen > 0);
    }

    #[test]
    fn hands_name_the_writer_of_each_winning_value() {
        let mut doc = sales_doc(1);
        let mut other = doc.fork().with_actor(ActorId::from([2; 32]));
        let b = claim_obj(&other, "c-甲");
        other.put(&b, "owner", "u-孙七").unwrap();
        let keys = other.get(&b, "keys").unwrap().unwrap().1;
        other.put(&keys, "h2", "phone").unwrap();
        other.put(&keys, "h7", "name").unwrap();
        other
            .put(claim_obj(&other, "c-丙"), "since", 9_u64)
            .unwrap();
        doc.put(claim_obj(&doc, "c-乙 🌿"), "owner", "u-李四")
            .unwrap();
        doc.merge(&mut other).unwrap();
        hands_are_the_winners_writers(&doc);
        let (claims, hands) = claims_and_hands(&doc);
        // A date of another type: no claims read in one pass, the writers all the same.
        assert!(claims.is_none());
        assert_eq!(hands.claims.len(), 3);
        assert_eq!(hands.actors.len(), 2);
        let c = &hands.claims["c-甲"];
        let keys: BTreeMap<String, ()> = ["h1", "h2", "h7"]
            .into_iter()
            .map(|h| (h.to_string(), ()))
            .collect();
        let writers: Vec<(String, Option<&str>)> = c
            .keys_with(&keys)
            .expect("a writer for each key")
            .map(|(h, _, by)| (h.clone(), hands.actor(Some(by))))
            .collect();
        let one = ActorId::from([1; 32]).to_hex_string();
        let two = ActorId::from([2; 32]).to_hex_string();
        assert_eq!(writers[0], ("h1".to_string(), Some(one.as_str())));
        assert_eq!(writers[2], ("h7".to_string(), Some(two.as_str())));
        // Keys that are not the claim's: no writers for them.
        let fewer: BTreeMap<String, ()> = keys.into_iter().take(2).collect();
        assert!(c.keys_with(&fewer).is_none());
    }

    #[test]
    fn the_walk_stops_when_asked_and_numbers_claims_in_key_order() {
        let doc = sales_doc(3);
        let mut seen = Vec::new();
        walk(&doc, &claims_obj(&doc), |e| {
            if let Entry::Claim { at, key, .. } = e {
                seen.push((at, key.to_string()));
            }
            seen.len() < 2
        });
        assert_eq!(seen, [(0, "c-丙".to_string()), (1, "c-乙 🌿".to_string())]);
    }
}
