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
use automerge::{AutoCommit, ObjId, ObjType, ReadDoc, ScalarValueRef, Value, ValueRef};

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
/// are skipped. Stops early when `visit` returns `false`; returns the number of claims.
pub fn walk(doc: &AutoCommit, claims: &ObjId, mut visit: impl FnMut(Entry<'_>) -> bool) -> usize {
    // Each claim object and each map of keys, by object ID, with its claim's number.
    let mut claim_at: HashMap<ObjId, usize> = HashMap::new();
    let mut keys_at: HashMap<ObjId, usize> = HashMap::new();
    let mut count = 0;
    for item in doc.iter_at(claims, None) {
        let DocItem::Map(m) = &item.item else {
            continue;
        };
        let go_on = if *item.obj == *claims {
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
        } else if let Some(&at) = claim_at.get(&*item.obj) {
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
        } else if let Some(&at) = keys_at.get(&*item.obj) {
            visit(Entry::Key {
                at,
                key: &m.key,
                value: &m.value,
                id: m.id(),
            })
        } else {
            true
        };
        if !go_on {
            break;
        }
    }
    count
}

/// The claims map of the Sales document `doc` as autosurgeon hydrates it, read in one
/// pass, when every claim has the shape fieldcrm writes: a map with an `owner` string,
/// a `since` integer and a `keys` map of strings (other fields are ignored, as hydration
/// ignores them). `None` for anything else (a claim that is not a map, a field of
/// another type, text objects, a missing field): the caller hydrates those the usual
/// way, which gives its usual values and errors. No claims map: no claims.
pub fn claims(doc: &AutoCommit) -> Option<BTreeMap<String, Claim>> {
    let claims = match doc.get(automerge::ROOT, "claims").ok()? {
        None => return Some(BTreeMap::new()),
        Some((Value::Object(ObjType::Map), claims)) => claims,
        Some(_) => return None,
    };
    /// A claim being read, and which of its fields were seen.
    #[derive(Default)]
    struct Reading {
        key: String,
        claim: Claim,
        owner: bool,
        since: bool,
        keys: bool,
    }
    let mut read: Vec<Reading> = Vec::new();
    let mut usual = true;
    walk(doc, &claims, |entry| {
        usual = match entry {
            Entry::Claim { at, key, value } => {
                read.push(Reading {
                    key: key.to_string(),
                    ..Default::default()
                });
                at + 1 == read.len() && matches!(value, ValueRef::Object(ObjType::Map))
            }
            Entry::Field { at, key, value, .. } => match (read.get_mut(at), key, value) {
                (Some(r), "owner", ValueRef::Scalar(ScalarValueRef::Str(s))) => {
                    r.claim.owner = s.to_string();
                    r.owner = true;
                    true
                }
                (Some(r), "since", ValueRef::Scalar(ScalarValueRef::Int(v))) => {
                    r.claim.since = *v;
                    r.since = true;
                    true
                }
                (Some(r), "keys", ValueRef::Object(ObjType::Map)) => {
                    r.keys = true;
                    true
                }
                (Some(_), "owner" | "since" | "keys", _) | (None, ..) => false,
                (Some(_), ..) => true,
            },
            Entry::Key { at, key, value, .. } => match (read.get_mut(at), value) {
                (Some(r), ValueRef::Scalar(ScalarValueRef::Str(s))) => {
                    r.claim.keys.insert(key.to_string(), s.to_string());
                    true
                }
                _ => false,
            },
        };
        usual
    });
    if !usual || !read.iter().all(|r| r.owner && r.since && r.keys) {
        return None;
    }
    Some(read.into_iter().map(|r| (r.key, r.claim)).collect())
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
