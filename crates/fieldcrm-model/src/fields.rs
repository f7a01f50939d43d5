//! Who set a value: field provenance and concurrent values, read from Automerge.
//!
//! Automerge keeps the actor of every operation. A device writes with its device key as
//! actor ID, so the author of a value is a device; the roster maps it to a user and role.
//! When devices edit the same key concurrently, Automerge keeps every value (one is shown
//! as the winner); this module reports them all.

use std::collections::BTreeMap;

use automerge::{ActorId, AutoCommit, ObjId, ObjType, ReadDoc, ScalarValue, Value, ValueRef};
use serde::{Deserialize, Serialize};

use crate::{DeviceKey, DocKind};

/// One value of a field and the device that wrote it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stamp {
    /// The value as JSON (objects in full).
    pub value: serde_json::Value,
    /// Hex of the Automerge actor that wrote it (a device key for fieldcrm devices).
    pub actor: String,
    /// For an object value (a sign-off): the other actors that wrote a value inside it,
    /// each with the first path (relative to the object) where it did, so a sign-off is
    /// judged by every hand that set one of its fields.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inner: Vec<(String, String)>,
}

impl Stamp {
    /// The device that wrote the value, if the actor is a device key.
    pub fn device(&self) -> Option<DeviceKey> {
        self.actor.parse().ok()
    }

    /// Every actor that wrote the value or a value inside it: the value's own actor
    /// first, then the inner writers in path order.
    pub fn writers(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.actor.as_str()).chain(self.inner.iter().map(|(_, a)| a.as_str()))
    }
}

/// A field's current value(s). `values[0]` is the value Automerge shows; more than one
/// value means devices wrote the field concurrently and nobody has decided yet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldState {
    /// Path of map keys from the root, `/`-joined (e.g. `quotes/ab12…/approval`).
    pub path: String,
    /// Every concurrent value; the first is the visible winner.
    pub values: Vec<Stamp>,
}

impl FieldState {
    /// Whether concurrent values are present.
    pub fn is_conflict(&self) -> bool {
        self.values.len() > 1
    }
}

/// A field's value(s) in a snapshot, whose map of fields is keyed by the path (so the
/// path is not held a second time: a Sales document of 100,000 claims has 400,000).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Field {
    /// Every concurrent value; the first is the visible winner.
    pub values: Vec<Stamp>,
}

impl Field {
    /// Whether concurrent values are present.
    pub fn is_conflict(&self) -> bool {
        self.values.len() > 1
    }
}

/// Paths of the fields that decide something (owner, class, status, approvals,
/// role-reserved fields), per document kind. `*` matches any key of a collection.
pub fn deciding_paths(kind: &DocKind) -> &'static [&'static str] {
    match kind {
        DocKind::Customer => &[
            "owner",
            "class",
            "class_exception",
            "team",
            "merged_into",
            "archived",
            "removed/*",
            "quotes/*/approval",
            "orders/*/approval",
            "quotes/*/cancelled",
            "orders/*/cancelled",
            "contracts/*/legal_review",
            "complaints/*/escalation",
            "gifts/*/approval",
            // What the sign-offs cover (crate::signoff::covered_fields), so a void
            // sign-off can name who changed the value.
            "quotes/*/product",
            "quotes/*/quantity",
            "quotes/*/list_price",
            "quotes/*/price",
            "orders/*/product",
            "orders/*/quantity",
            "orders/*/list_price",
            "orders/*/price",
            "gifts/*/kind",
            "gifts/*/direction",
            "gifts/*/description",
            "gifts/*/value",
            "contracts/*/title",
            "contracts/*/amount",
            "finding_states/*",
            "finding_states/*/*",
        ],
        DocKind::Channel => &[
            "owner",
            "name",
            "channel_kind",
            "status",
            "qualification",
            "risk",
            "agreement",
            "merged_into",
            "archived",
            "removed/*",
            "territories/*",
            "finding_states/*",
            "finding_states/*/*",
        ],
        DocKind::Catalog => &["products/*", "discount_allowance_bp/*"],
        DocKind::Roster => &["kind", "users/*/role", "users/*/team", "devices/*"],
        DocKind::Policy => &["rules/*"],
        // Not the claims: who wrote a claim's owner, date and keys is what makes it
        // count, and a field state for each (400,000 at 100,000 customers) was most of
        // what a snapshot held and took to build. A Sales snapshot holds the writers of
        // the claims as `claim_hands` (`crate::claims_walk::ClaimHands`).
        DocKind::Sales => &["targets/*", "finding_states/*", "finding_states/*/*"],
        DocKind::Unknown(_) => &[],
    }
}

/// Whether concurrent values at `path` are settled without a person: finding states
/// (decided by the findings lifecycle) and customer claims (written again by the owner's
/// device). Neither is a conflict for anyone to resolve.
pub fn settled_by_rules(path: &str) -> bool {
    path.starts_with("finding_states/") || path.starts_with("claims/")
}

/// The state of every field matching `patterns` (see [`deciding_paths`]).
pub fn field_states(doc: &AutoCommit, patterns: &[&str]) -> BTreeMap<String, Field> {
    let mut out = Vec::new();
    walk(doc, &automerge::ROOT, &Pattern::of(patterns), "", &mut out);
    // The walk goes through keys in order, so the fields come almost sorted: built in
    // one go rather than inserted one by one (a Sales document has 500,000). A path
    // recorded twice keeps the later value, as insertion would.
    out.into_iter()
        .map(|f| (f.path, Field { values: f.values }))
        .collect()
}

/// Patterns as a tree, so that one walk of the document serves them all: a Sales
/// document's 100,000 claims are visited once, not once per pattern, and where a
/// pattern takes every key the object is read in one pass instead of a lookup per key
/// (where patterns only name keys, each is looked up).
#[derive(Default)]
struct Pattern<'a> {
    /// A pattern ends here: the field is recorded.
    here: bool,
    /// Literal next segments.
    keys: BTreeMap<&'a str, Pattern<'a>>,
    /// `*`: any next segment.
    any: Option<Box<Pattern<'a>>>,
}

impl<'a> Pattern<'a> {
    fn of(patterns: &[&'a str]) -> Self {
        let mut root = Pattern::default();
        for pattern in patterns {
            let mut node = &mut root;
            for seg in pattern.split('/') {
                node = if seg == "*" {
                    node.any.get_or_insert_with(Default::default)
                } else {
                    node.keys.entry(seg).or_default()
                };
            }
            node.here = true;
        }
        root
    }

    fn goes_deeper(&self) -> bool {
        !self.keys.is_empty() || self.any.is_some()
    }
}

/// The path of `key` inside the object at `prefix`.
fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}/{key}")
    }
}

/// Record the fields `node` names among the keys of map `obj` (whose path is `prefix`).
fn walk(
    doc: &AutoCommit,
    obj: &ObjId,
    node: &Pattern<'_>,
    prefix: &str,
    out: &mut Vec<FieldState>,
) {
    if !node.goes_deeper() {
        return;
    }
    if node.any.is_some() {
        return walk_items(doc, obj, node, prefix, doc.map_range(obj, ..), out);
    }
    // Only named keys. In a small object (a claim: three keys) one pass over it costs
    // less than looking each key up (two searches a field); in a large one each is
    // looked up (a pattern naming one claim must not read the 100,000 others).
    let limit = 2 * node.keys.len() + 2;
    let first: Vec<_> = doc.map_range(obj, ..).take(limit + 1).collect();
    if first.len() <= limit {
        return walk_items(doc, obj, node, prefix, first.into_iter(), out);
    }
    for (&key, child) in &node.keys {
        let path = join(prefix, key);
        if child.here {
            let values = values_at(doc, obj, key);
            if !values.is_empty() {
                out.push(FieldState {
                    path: path.clone(),
                    values,
                });
            }
        }
        if child.goes_deeper()
            && let Ok(Some((Value::Object(ObjType::Map), inner))) = doc.get(obj, key)
        {
            walk(doc, &inner, child, &path, out);
        }
    }
}

/// [`walk`] over the entries `items` of map `obj`, in one pass.
fn walk_items<'d>(
    doc: &'d AutoCommit,
    obj: &ObjId,
    node: &Pattern<'_>,
    prefix: &str,
    items: impl Iterator<Item = automerge::iter::MapRangeItem<'d>>,
    out: &mut Vec<FieldState>,
) {
    for item in items {
        let key: &str = &item.key;
        let literal = node.keys.get(key);
        if literal.is_none() && node.any.is_none() {
            continue;
        }
        let path = join(prefix, key);
        for child in literal.into_iter().chain(node.any.as_deref()) {
            if child.here {
                // A key without concurrent values has exactly the value the pass shows;
                // only conflicted keys are looked up again.
                let values = if item.conflict {
                    values_at(doc, obj, key)
                } else {
                    vec![stamp(doc, item.value.clone().into_value(), &item.id())]
                };
                if !values.is_empty() {
                    out.push(FieldState {
                        path: path.clone(),
                        values,
                    });
                }
            }
            if child.goes_deeper() && matches!(item.value, ValueRef::Object(ObjType::Map)) {
                walk(doc, &item.id(), child, &path, out);
            }
        }
    }
}

/// One value of a field, written as operation `id`.
fn stamp(doc: &AutoCommit, v: Value<'_>, id: &ObjId) -> Stamp {
    let actor = actor_hex(id);
    let (value, inner) = match v {
        Value::Object(_) => {
            let mut inner = Vec::new();
            inner_writers(doc, id, "", actor_of(id), &mut inner);
            (object_json(doc, id), inner)
        }
        Value::Scalar(s) => (scalar_json(&s), Vec::new()),
    };
    Stamp {
        value,
        actor,
        inner,
    }
}

/// Every concurrent value at `obj[key]`, winner first.
pub fn values_at(doc: &AutoCommit, obj: &ObjId, key: &str) -> Vec<Stamp> {
    let Ok(all) = doc.get_all(obj, key) else {
        return Vec::new();
    };
    let winner = doc.get(obj, key).ok().flatten().map(|(_, id)| id);
    let mut stamps: Vec<(bool, Stamp)> = all
        .into_iter()
        .map(|(v, id)| (winner.as_ref() == Some(&id), stamp(doc, v, &id)))
        .collect();
    stamps.sort_by_key(|(w, _)| !*w);
    stamps.into_iter().map(|(_, s)| s).collect()
}

/// The actors other than `outer` (and those already listed) that wrote a value inside
/// `obj` (every concurrent value, nested maps and lists included), with the first path
/// where each did. Actors are compared as IDs and paths built only for what is listed
/// or entered (a Sales document has 100,000 claims to look inside).
fn inner_writers(
    doc: &AutoCommit,
    obj: &ObjId,
    prefix: &str,
    outer: Option<&ActorId>,
    out: &mut Vec<(String, String)>,
) {
    let mut visit = |key: &dyn Fn() -> String, v: &Value<'_>, id: &ObjId| {
        let actor = actor_of(id);
        let mut path = None;
        if actor != outer {
            let hex = actor_hex(id);
            if !out.iter().any(|(_, a)| *a == hex) {
                out.push((path.get_or_insert_with(key).clone(), hex));
            }
        }
        if let Value::Object(ObjType::Map | ObjType::Table | ObjType::List) = v {
            let path = path.unwrap_or_else(key);
            inner_writers(doc, id, &path, outer, out);
        }
    };
    // One pass over the object; only a key or index with concurrent values is looked up
    // again for all of them.
    match doc.object_type(obj) {
        Ok(ObjType::Map | ObjType::Table) => {
            for item in doc.map_range(obj, ..) {
                let key = || join(prefix, &item.key);
                if item.conflict {
                    for (v, id) in doc.get_all(obj, item.key.as_ref()).unwrap_or_default() {
                        visit(&key, &v, &id);
                    }
                } else {
                    let id = item.id();
                    visit(&key, &item.value.clone().into_value(), &id);
                }
            }
        }
        Ok(ObjType::List) => {
            for item in doc.list_range(obj, ..) {
                let i = item.index;
                let key = || join(prefix, &i.to_string());
                if item.conflict {
                    for (v, id) in doc.get_all(obj, i).unwrap_or_default() {
                        visit(&key, &v, &id);
                    }
                } else {
                    let id = item.id();
                    visit(&key, &item.value.clone().into_value(), &id);
                }
            }
        }
        Ok(ObjType::Text) | Err(_) => {}
    }
}

/// Every field in the document that holds concurrent values.
pub fn conflicts(doc: &AutoCommit) -> Vec<FieldState> {
    let mut out = Vec::new();
    walk_conflicts(doc, &automerge::ROOT, String::new(), &mut out);
    out
}

fn walk_conflicts(doc: &AutoCommit, obj: &ObjId, prefix: String, out: &mut Vec<FieldState>) {
    for key in doc.keys(obj).collect::<Vec<_>>() {
        let path = join(&prefix, &key);
        let n = doc.get_all(obj, key.as_str()).map(|v| v.len()).unwrap_or(0);
        if n > 1 {
            out.push(FieldState {
                values: values_at(doc, obj, &key),
                path: path.clone(),
            });
        }
        if let Ok(Some((Value::Object(ObjType::Map), child))) = doc.get(obj, key.as_str()) {
            walk_conflicts(doc, &child, path, out);
        }
    }
}

/// The actor that wrote operation `id` (none for the root).
pub fn actor_of(id: &ObjId) -> Option<&ActorId> {
    match id {
        ObjId::Root => None,
        ObjId::Id(_, actor, _) => Some(actor),
    }
}

fn actor_hex(id: &ObjId) -> String {
    match id {
        ObjId::Root => String::new(),
        ObjId::Id(_, actor, _) => actor.to_hex_string(),
    }
}

/// A scalar as JSON.
pub fn scalar_json(s: &ScalarValue) -> serde_json::Value {
    use serde_json::Value as J;
    match s {
        ScalarValue::Str(s) => J::String(s.to_string()),
        ScalarValue::Int(i) => J::from(*i),
        ScalarValue::Uint(u) => J::from(*u),
        ScalarValue::F64(f) => J::from(*f),
        ScalarValue::Counter(c) => J::from(i64::from(c)),
        ScalarValue::Timestamp(t) => J::from(*t),
        ScalarValue::Boolean(b) => J::Bool(*b),
        ScalarValue::Bytes(b) => J::String(crate::hex(b)),
        ScalarValue::Null | ScalarValue::Unknown { .. } => J::Null,
    }
}

/// An object (map, list or text) as JSON, winning values only.
pub fn object_json(doc: &AutoCommit, obj: &ObjId) -> serde_json::Value {
    use serde_json::Value as J;
    let child = |v: Value<'_>, id: ObjId| match v {
        Value::Object(_) => object_json(doc, &id),
        Value::Scalar(s) => scalar_json(&s),
    };
    match doc.object_type(obj) {
        Ok(ObjType::Map) | Ok(ObjType::Table) => {
            let mut m = serde_json::Map::new();
            for item in doc.map_range(obj, ..) {
                let id = item.id();
                m.insert(item.key.to_string(), child(item.value.into(), id));
            }
            J::Object(m)
        }
        Ok(ObjType::List) => J::Array(
            doc.list_range(obj, ..)
                .map(|item| {
                    let id = item.id();
                    child(item.value.into(), id)
                })
                .collect(),
        ),
        Ok(ObjType::Text) => J::String(doc.text(obj).unwrap_or_default()),
        Err(_) => J::Null,
    }
}

#[cfg(test)]
#[path = "fields_tests.rs"]
mod walk_tests;
