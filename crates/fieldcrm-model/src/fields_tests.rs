//! `field_states` against the walk it replaced, one pattern at a time, on documents
//! with concurrent values at every level.

use super::*;
use automerge::transaction::Transactable;
use automerge::{ActorId, ROOT};

/// The walk [`field_states`] replaced, one pattern at a time: the oracle its tests
/// compare with.
pub(crate) fn field_states_per_pattern(
    doc: &AutoCommit,
    patterns: &[&str],
) -> BTreeMap<String, Field> {
    let mut out = BTreeMap::new();
    for pattern in patterns {
        let segs: Vec<&str> = pattern.split('/').collect();
        collect(doc, &automerge::ROOT, &segs, String::new(), &mut out);
    }
    out
}

fn collect(
    doc: &AutoCommit,
    obj: &ObjId,
    segs: &[&str],
    prefix: String,
    out: &mut BTreeMap<String, Field>,
) {
    let Some((first, rest)) = segs.split_first() else {
        return;
    };
    let join = |key: &str| {
        if prefix.is_empty() {
            key.to_string()
        } else {
            format!("{prefix}/{key}")
        }
    };
    if *first == "*" {
        // One pass over the map (a Sales document holds a claim per customer file):
        // a key without concurrent values has exactly the value the pass shows, so only
        // conflicted keys are looked up again.
        for item in doc.map_range(obj, ..) {
            let path = join(&item.key);
            if rest.is_empty() {
                let values = if item.conflict {
                    values_at(doc, obj, &item.key)
                } else {
                    let id = item.id();
                    vec![stamp(doc, item.value.into_value(), &id)]
                };
                if !values.is_empty() {
                    out.insert(path, Field { values });
                }
            } else if matches!(item.value, automerge::ValueRef::Object(ObjType::Map)) {
                collect(doc, &item.id(), rest, path, out);
            }
        }
        return;
    }
    let key = *first;
    let path = join(key);
    if rest.is_empty() {
        let values = values_at(doc, obj, key);
        if !values.is_empty() {
            out.insert(path, Field { values });
        }
    } else if let Ok(Some((Value::Object(ObjType::Map), child))) = doc.get(obj, key) {
        collect(doc, &child, rest, path, out);
    }
}

/// The inner-writer walk before actors were compared as IDs: the oracle.
fn inner_writers_by_hex(
    doc: &AutoCommit,
    obj: &ObjId,
    prefix: &str,
    outer: &str,
    out: &mut Vec<(String, String)>,
) {
    let visit = |path: String, v: &Value<'_>, id: &ObjId, out: &mut Vec<(String, String)>| {
        let actor = actor_hex(id);
        if actor != outer && !out.iter().any(|(_, a)| *a == actor) {
            out.push((path.clone(), actor));
        }
        if let Value::Object(ObjType::Map | ObjType::Table | ObjType::List) = v {
            inner_writers_by_hex(doc, id, &path, outer, out);
        }
    };
    let join = |k: &str| {
        if prefix.is_empty() {
            k.to_string()
        } else {
            format!("{prefix}/{k}")
        }
    };
    // One pass over the object; only a key or index with concurrent values is looked up
    // again for all of them.
    match doc.object_type(obj) {
        Ok(ObjType::Map | ObjType::Table) => {
            for item in doc.map_range(obj, ..) {
                if item.conflict {
                    for (v, id) in doc.get_all(obj, item.key.as_ref()).unwrap_or_default() {
                        visit(join(&item.key), &v, &id, out);
                    }
                } else {
                    let id = item.id();
                    visit(join(&item.key), &item.value.into_value(), &id, out);
                }
            }
        }
        Ok(ObjType::List) => {
            for item in doc.list_range(obj, ..) {
                let i = item.index;
                if item.conflict {
                    for (v, id) in doc.get_all(obj, i).unwrap_or_default() {
                        visit(join(&i.to_string()), &v, &id, out);
                    }
                } else {
                    let id = item.id();
                    visit(join(&i.to_string()), &item.value.into_value(), &id, out);
                }
            }
        }
        Ok(ObjType::Text) | Err(_) => {}
    }
}

/// The top-level maps of the test documents: every kind's collections at once.
const TOPS: [&str; 6] = [
    "claims",
    "targets",
    "finding_states",
    "contacts",
    "users",
    "removed",
];

/// A document shaped like every kind at once (claims, targets, finding states, contacts,
/// users), written on two devices concurrently so that keys, whole objects and nested
/// values conflict; `seed` varies which.
fn two_writers(seed: u64) -> AutoCommit {
    writers(seed, 12)
}

/// [`two_writers`] with `n` entries in each collection.
fn writers(seed: u64, n: u64) -> AutoCommit {
    let mut rng = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut next = move |n: u64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % n
    };
    let mut a = AutoCommit::new().with_actor(ActorId::from(vec![1u8; 16]));
    for top in TOPS {
        let m = a.put_object(ROOT, top, ObjType::Map).unwrap();
        for i in 0..n {
            let c = a.put_object(&m, format!("k{i}"), ObjType::Map).unwrap();
            a.put(&c, "owner", format!("u{}", next(3))).unwrap();
            a.put(&c, "since", next(1000) as i64).unwrap();
            a.put(&c, "role", "rep").unwrap();
            let keys = a.put_object(&c, "keys", ObjType::Map).unwrap();
            a.put(&keys, "name", format!("客户{i}🎉")).unwrap();
            let list = a.put_object(&c, "lines", ObjType::List).unwrap();
            a.insert(&list, 0, "一").unwrap();
        }
    }
    a.put(ROOT, "owner", "u1").unwrap();
    a.put(ROOT, "kind", "roster").unwrap();
    a.commit();
    let mut b = a.fork().with_actor(ActorId::from(vec![2u8; 16]));
    for (doc, who) in [(&mut a, "甲"), (&mut b, "乙")] {
        for top in TOPS {
            let Some((_, m)) = doc.get(ROOT, top).unwrap() else {
                continue;
            };
            for _ in 0..8 + n / 2 {
                let k = format!("k{}", next(n + 2));
                match next(5) {
                    0 => {
                        doc.put(&m, &k, format!("{who}{}", next(9))).unwrap();
                    }
                    1 => {
                        let c = doc.put_object(&m, &k, ObjType::Map).unwrap();
                        doc.put(&c, "owner", who).unwrap();
                    }
                    _ => {
                        if let Some((Value::Object(ObjType::Map), c)) = doc.get(&m, &k).unwrap() {
                            doc.put(&c, "owner", who).unwrap();
                            if let Some((_, keys)) = doc.get(&c, "keys").unwrap() {
                                doc.put(&keys, "name", format!("{who}公司")).unwrap();
                            }
                        }
                    }
                }
            }
        }
        doc.put(ROOT, "owner", who).unwrap();
        doc.commit();
    }
    a.merge(&mut b).unwrap();
    a
}

/// `field_states` of each kind's deciding paths against the walk of each pattern, on
/// `doc` (made with `seed`); how many fields have concurrent values.
fn same_for_kinds(doc: &AutoCommit, kinds: &[DocKind], seed: u64) -> usize {
    let mut conflicts = 0;
    for kind in kinds {
        let patterns = deciding_paths(kind);
        let fast = field_states(doc, patterns);
        assert_eq!(
            fast,
            field_states_per_pattern(doc, patterns),
            "{seed} {kind:?}"
        );
        conflicts += fast.values().filter(|f| f.values.len() > 1).count();
    }
    conflicts
}

/// Collections of more than a few hundred entries (where named keys are looked up, not
/// read in a pass): the same fields as the walk of each pattern.
#[test]
fn large_collections_record_the_same() {
    let extra: &[&str] = &[
        "*",
        "*/*/*",
        "claims/*/keys",
        "claims/k1/owner",
        "claims/*/owner",
    ];
    for seed in 0..4 {
        let doc = writers(seed, 300);
        let conflicts = same_for_kinds(
            &doc,
            &[DocKind::Sales, DocKind::Roster, DocKind::Customer],
            seed,
        );
        // A claim reached both by its name and by `*`, each for other fields.
        let both = ["claims/*/keys/*", "claims/k1/owner", "claims/k2/since"];
        assert_eq!(
            field_states(&doc, &both),
            field_states_per_pattern(&doc, &both),
            "{seed} both"
        );
        let fast = field_states(&doc, extra);
        assert_eq!(fast, field_states_per_pattern(&doc, extra), "{seed} extra");
        assert!(
            fast.len() > 1_000 && conflicts > 20,
            "{seed}: {} {conflicts}",
            fast.len()
        );
    }
}

#[test]
fn one_walk_records_what_each_pattern_did() {
    let mut kinds = vec![
        DocKind::Customer,
        DocKind::Channel,
        DocKind::Catalog,
        DocKind::Roster,
        DocKind::Policy,
        DocKind::Sales,
    ];
    kinds.push(DocKind::Unknown("x".into()));
    let extra: &[&str] = &[
        "*",
        "*/*",
        "*/*/*",
        "claims/*/keys",
        "owner",
        "claims/k1/owner",
    ];
    let mut conflicts = 0;
    for seed in 0..40 {
        let doc = two_writers(seed);
        conflicts += same_for_kinds(&doc, &kinds, seed);
        assert_eq!(
            field_states(&doc, extra),
            field_states_per_pattern(&doc, extra),
            "{seed} extra"
        );
        // One claim by name, as the claims check asks (looked up, not walked).
        for k in ["k1", "k7", "k13", "nothing"] {
            let named = [
                format!("claims/{k}"),
                format!("claims/{k}/owner"),
                format!("claims/{k}/since"),
                format!("claims/{k}/keys/*"),
            ];
            let named: Vec<&str> = named.iter().map(String::as_str).collect();
            assert_eq!(
                field_states(&doc, &named),
                field_states_per_pattern(&doc, &named),
                "{seed} {k}"
            );
        }
    }
    assert!(
        conflicts > 100,
        "the documents hold concurrent values: {conflicts}"
    );
}

#[test]
fn inner_writers_are_the_ones_the_hex_walk_found() {
    let mut found = 0;
    for seed in 0..40 {
        let doc = two_writers(seed);
        let mut objects = vec![automerge::ROOT];
        while let Some(obj) = objects.pop() {
            for item in doc.map_range(&obj, ..) {
                let id = item.id();
                if let ValueRef::Object(_) = item.value {
                    let mut fast = Vec::new();
                    inner_writers(&doc, &id, "", actor_of(&id), &mut fast);
                    let mut slow = Vec::new();
                    inner_writers_by_hex(&doc, &id, "", &actor_hex(&id), &mut slow);
                    assert_eq!(fast, slow, "{seed} {}", item.key);
                    found += fast.len();
                    objects.push(id);
                }
            }
        }
    }
    assert!(
        found > 50,
        "some objects were written inside by another device: {found}"
    );
}
