//! Inspecting documents: change history, the document at a point in time, field diffs,
//! concurrent values (conflicts) and their resolution.
//!
//! Everything here reads the Automerge history kept in every document: each change has
//! the writing device as actor, a UTC-millisecond timestamp and a one-line message; the
//! roster maps the device to a user and role.

use std::collections::BTreeSet;

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ChangeHash, ObjId, ObjType, ReadDoc, Value};
use fieldcrm_model::access::can_write;
use fieldcrm_model::fields::{object_json, scalar_json};
use fieldcrm_model::{DeviceKey, DocId, Document, Millis, Roster, hex};
use serde::Serialize;

use crate::{Error, Result, Workspace};

/// Who wrote something: a device and, if the roster knows it, its user and role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Author {
    /// Device key (hex), i.e. the Automerge actor.
    pub device: String,
    /// User ID, if the device is in the roster.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// User name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Role (`rep`, `manager`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

impl Author {
    /// The author of an Automerge actor, looked up in `roster`.
    pub fn of(roster: Option<&Roster>, actor: &automerge::ActorId) -> Self {
        let device = actor.to_hex_string();
        let found = DeviceKey::from_actor(actor)
            .and_then(|k| roster.and_then(|r| r.device_user(&k)))
            .map(|(id, u)| (id.to_string(), u.name.clone(), u.role.to_string()));
        match found {
            Some((id, name, role)) => Author {
                device,
                user_id: Some(id),
                user: Some(name),
                role: Some(role),
            },
            None => Author {
                device,
                user_id: None,
                user: None,
                role: None,
            },
        }
    }

    /// `王经理 (manager)`, or the short device key when unknown.
    pub fn label(&self) -> String {
        match (&self.user, &self.role) {
            (Some(u), Some(r)) => format!("{u} ({r})"),
            _ => format!("device {}", fieldcrm_model::short_id(&self.device)),
        }
    }
}

/// One change in a document's history.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryEntry {
    /// Change hash (64 hex).
    pub hash: String,
    /// When it was written (UTC ms, from the change).
    pub time: Millis,
    /// Who wrote it.
    pub author: Author,
    /// The change message (a one-line summary in Chinese and English).
    pub message: String,
    /// Hashes of the changes it builds on.
    pub deps: Vec<String>,
}

/// A point in a document's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Point {
    /// The current state.
    Now,
    /// The document as of a time: the changes with time ≤ it (and whose dependencies are
    /// included).
    Time(Millis),
    /// Given heads: change hashes or unique prefixes of at least 6 hex characters.
    Heads(Vec<String>),
}

/// A field that differs between two points.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldChange {
    /// Path of map keys, `/`-joined.
    pub path: String,
    /// Value before (`None`: absent).
    pub old: Option<serde_json::Value>,
    /// Value after (`None`: removed).
    pub new: Option<serde_json::Value>,
}

/// One of several concurrent values of a field.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConflictValue {
    /// The value as JSON.
    pub value: serde_json::Value,
    /// Who wrote it.
    pub author: Author,
    /// When (UTC ms, the time of the change holding the operation).
    pub time: Millis,
    /// Whether Automerge currently shows this value.
    pub shown: bool,
}

/// A field holding concurrent values.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Conflict {
    /// Document ID.
    pub doc: DocId,
    /// Document kind.
    pub kind: String,
    /// Document name.
    pub name: String,
    /// Field path, `/`-joined.
    pub path: String,
    /// Every concurrent value, the shown one first.
    pub values: Vec<ConflictValue>,
}

/// Which concurrent value a resolution keeps.
#[derive(Debug, Clone)]
pub enum Pick {
    /// The value equal to this text (a string value as typed, or the JSON of any value).
    Value(String),
    /// The value written by this user (name or ID prefix).
    Author(String),
}

/// Flatten two JSON values into the fields that differ (objects compared key by key;
/// a whole object that appears or disappears is one change).
pub fn diff_json(old: &serde_json::Value, new: &serde_json::Value) -> Vec<FieldChange> {
    let mut out = Vec::new();
    diff_into(Some(old), Some(new), String::new(), &mut out);
    out
}

fn diff_into(
    old: Option<&serde_json::Value>,
    new: Option<&serde_json::Value>,
    path: String,
    out: &mut Vec<FieldChange>,
) {
    use serde_json::Value as J;
    match (old, new) {
        (Some(J::Object(a)), Some(J::Object(b))) => {
            let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for k in keys {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}/{k}")
                };
                diff_into(a.get(k), b.get(k), p, out);
            }
        }
        (a, b) if a == b => {}
        (a, b) => out.push(FieldChange {
            path,
            old: a.filter(|v| !v.is_null()).cloned(),
            new: b.filter(|v| !v.is_null()).cloned(),
        }),
    }
}

/// The object and key a `/`-separated path names, if every map on the way exists.
pub(crate) fn locate(doc: &AutoCommit, path: &str) -> Option<(ObjId, String)> {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let (key, parents) = segs.split_last()?;
    let mut obj = automerge::ROOT;
    for seg in parents {
        match doc.get(&obj, *seg).ok()?? {
            (Value::Object(ObjType::Map), id) => obj = id,
            _ => return None,
        }
    }
    Some((obj, key.to_string()))
}

/// Every value at `obj[key]` with its operation ID, the shown one first.
fn values_with_ops(doc: &AutoCommit, obj: &ObjId, key: &str) -> Vec<(serde_json::Value, ObjId)> {
    let Ok(all) = doc.get_all(obj, key) else {
        return Vec::new();
    };
    let winner = doc.get(obj, key).ok().flatten().map(|(_, id)| id);
    let mut v: Vec<(bool, serde_json::Value, ObjId)> = all
        .into_iter()
        .map(|(v, id)| {
            let json = match v {
                Value::Object(_) => object_json(doc, &id),
                Value::Scalar(s) => scalar_json(&s),
            };
            (winner.as_ref() == Some(&id), json, id)
        })
        .collect();
    v.sort_by_key(|(w, _, _)| !*w);
    v.into_iter().map(|(_, j, id)| (j, id)).collect()
}

fn op_actor(id: &ObjId) -> automerge::ActorId {
    match id {
        ObjId::Root => automerge::ActorId::from(&[][..]),
        ObjId::Id(_, actor, _) => actor.clone(),
    }
}

fn op_time(doc: &mut AutoCommit, id: &ObjId) -> Millis {
    doc.hash_for_opid(id)
        .and_then(|h| {
            doc.get_change_meta_by_hash(&h)
                .map(|m| fieldcrm_model::change_time_ms(m.timestamp))
        })
        .unwrap_or(0)
}

fn conflict_values(
    doc: &mut AutoCommit,
    roster: Option<&Roster>,
    obj: &ObjId,
    key: &str,
) -> Vec<ConflictValue> {
    let vals = values_with_ops(doc, obj, key);
    vals.into_iter()
        .enumerate()
        .map(|(i, (value, id))| ConflictValue {
            value,
            author: Author::of(roster, &op_actor(&id)),
            time: op_time(doc, &id),
            shown: i == 0,
        })
        .collect()
}

/// Paths of every key holding more than one distinct value, depth first.
fn conflict_paths(doc: &AutoCommit) -> Vec<(ObjId, String, String)> {
    fn walk(doc: &AutoCommit, obj: &ObjId, prefix: &str, out: &mut Vec<(ObjId, String, String)>) {
        for key in doc.keys(obj).collect::<Vec<_>>() {
            let path = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}/{key}")
            };
            if fieldcrm_model::fields::settled_by_rules(&path) {
                continue;
            }
            let values = values_with_ops(doc, obj, &key);
            if let [(first, _), rest @ ..] = values.as_slice()
                && !rest.is_empty()
            {
                // Identical concurrent values (e.g. two devices carrying over the same
                // entity) need no decision.
                if rest.iter().any(|(v, _)| v != first) {
                    out.push((obj.clone(), key.clone(), path.clone()));
                }
            }
            if let Ok(Some((Value::Object(ObjType::Map), child))) = doc.get(obj, key.as_str()) {
                walk(doc, &child, &path, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(doc, &automerge::ROOT, "", &mut out);
    out
}

/// Copy the value `src[src_obj][key]` (scalar or whole object) to `dst[dst_obj][key]` as
/// a new write.
pub(crate) fn copy_value(
    src: &AutoCommit,
    value: Value<'_>,
    src_id: &ObjId,
    dst: &mut AutoCommit,
    dst_obj: &ObjId,
    key: &str,
) -> std::result::Result<(), automerge::AutomergeError> {
    match value {
        Value::Scalar(s) => dst.put(dst_obj, key, s.into_owned()),
        Value::Object(t) => {
            let new = dst.put_object(dst_obj, key, t)?;
            copy_children(src, src_id, t, dst, &new)
        }
    }
}

fn copy_children(
    src: &AutoCommit,
    src_obj: &ObjId,
    t: ObjType,
    dst: &mut AutoCommit,
    dst_obj: &ObjId,
) -> std::result::Result<(), automerge::AutomergeError> {
    match t {
        ObjType::Map | ObjType::Table => {
            let items: Vec<(String, Value<'static>, ObjId)> = src
                .map_range(src_obj, ..)
                .map(|i| {
                    let id = i.id();
                    (i.key.to_string(), Value::from(i.value).to_owned(), id)
                })
                .collect();
            for (k, v, id) in items {
                copy_value(src, v, &id, dst, dst_obj, &k)?;
            }
        }
        ObjType::List => {
            let items: Vec<(Value<'static>, ObjId)> = src
                .list_range(src_obj, ..)
                .map(|i| {
                    let id = i.id();
                    (Value::from(i.value).to_owned(), id)
                })
                .collect();
            for (idx, (v, id)) in items.into_iter().enumerate() {
                match v {
                    Value::Scalar(s) => dst.insert(dst_obj, idx, s.into_owned())?,
                    Value::Object(t) => {
                        let new = dst.insert_object(dst_obj, idx, t)?;
                        copy_children(src, &id, t, dst, &new)?;
                    }
                }
            }
        }
        ObjType::Text => {
            let text = src.text(src_obj)?;
            dst.splice_text(dst_obj, 0, 0, &text)?;
        }
    }
    Ok(())
}

fn resolve_heads(doc: &mut AutoCommit, id: &DocId, prefixes: &[String]) -> Result<Vec<ChangeHash>> {
    let all: Vec<ChangeHash> = doc.get_changes_meta(&[]).iter().map(|m| m.hash).collect();
    prefixes
        .iter()
        .map(|p| {
            let p = p.trim().to_ascii_lowercase();
            if p.len() < 6 || !p.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(Error::invalid(format!(
                    "`{p}` is not a change hash (at least 6 hex characters, see `fieldcrm doc history`)"
                )));
            }
            let hits: Vec<&ChangeHash> =
                all.iter().filter(|h| hex(&h.0).starts_with(&p)).collect();
            match hits.as_slice() {
                [h] => Ok(**h),
                [] => Err(Error::not_found(format!(
                    "document {} has no change `{p}`",
                    id.short()
                ))),
                _ => Err(Error::ambiguous(format!(
                    "`{p}` matches {} changes of document {}",
                    hits.len(),
                    id.short()
                ))),
            }
        })
        .collect()
}

/// The document's state at `point` as JSON (`null` if it did not exist yet).
fn json_at(doc: &mut AutoCommit, id: &DocId, point: &Point) -> Result<serde_json::Value> {
    match point {
        Point::Now => Ok(object_json(doc, &automerge::ROOT)),
        Point::Heads(h) => {
            let heads = resolve_heads(doc, id, h)?;
            let fork = doc
                .fork_at(&heads)
                .map_err(|e| Error::invalid(format!("cannot go to those heads: {e}")))?;
            Ok(object_json(&fork, &automerge::ROOT))
        }
        Point::Time(t) => {
            let mut included = BTreeSet::new();
            let mut picked = Vec::new();
            for c in doc.get_changes(&[]) {
                if fieldcrm_model::change_time_ms(c.timestamp()) <= *t
                    && c.deps().iter().all(|d| included.contains(d))
                {
                    included.insert(c.hash());
                    picked.push(c);
                }
            }
            if picked.is_empty() {
                return Ok(serde_json::Value::Null);
            }
            let mut at = AutoCommit::new();
            at.apply_changes(picked)
                .map_err(|e| Error::Corrupt(format!("document {id}: {e}")))?;
            Ok(object_json(&at, &automerge::ROOT))
        }
    }
}

impl Workspace {
    fn roster_opt(&self) -> Option<std::sync::Arc<Roster>> {
        self.roster().ok()
    }

    /// Resolve a document of any kind by ID prefix or exact name.
    pub fn resolve_any(&self, text: &str) -> Result<DocId> {
        self.resolve(None, text)
    }

    /// A document's changes in causal order, with their authors.
    pub fn history(&self, id: &DocId) -> Result<Vec<HistoryEntry>> {
        let mut doc = self.load(id)?;
        let roster = self.roster_opt();
        let am = doc.automerge_mut();
        Ok(am
            .get_changes_meta(&[])
            .into_iter()
            .map(|m| HistoryEntry {
                hash: hex(&m.hash.0),
                time: fieldcrm_model::change_time_ms(m.timestamp),
                author: Author::of(roster.as_deref(), &m.actor),
                message: m
                    .message
                    .as_deref()
                    .unwrap_or("")
                    .lines()
                    .next()
                    .unwrap_or("")
                    .to_string(),
                deps: m.deps.iter().map(|d| hex(&d.0)).collect(),
            })
            .collect())
    }

    /// The document as JSON at a point of its history.
    pub fn doc_json_at(&self, id: &DocId, point: &Point) -> Result<serde_json::Value> {
        let mut doc = self.load(id)?;
        json_at(doc.automerge_mut(), id, point)
    }

    /// The fields that differ between two points of a document's history.
    pub fn diff(&self, id: &DocId, from: &Point, to: &Point) -> Result<Vec<FieldChange>> {
        let mut doc = self.load(id)?;
        let am = doc.automerge_mut();
        // A document that did not exist yet compares as empty, field by field.
        let empty = |v: serde_json::Value| {
            if v.is_null() {
                serde_json::Value::Object(Default::default())
            } else {
                v
            }
        };
        let a = empty(json_at(am, id, from)?);
        let b = empty(json_at(am, id, to)?);
        Ok(diff_json(&a, &b))
    }

    /// Every field of every document on this device that holds concurrent values.
    pub fn conflicts(&self) -> Result<Vec<Conflict>> {
        let roster = self.roster_opt();
        let ids = self
            .store()
            .all_heads()
            .map_err(fieldcrm_store::Error::from)?;
        let mut out = Vec::new();
        for (id, _) in ids {
            let mut doc = self.load(&id)?;
            out.extend(doc_conflicts(&mut doc, roster.as_deref(), self)?);
        }
        Ok(out)
    }

    /// The conflicts of one document.
    pub fn doc_conflicts(&self, id: &DocId) -> Result<Vec<Conflict>> {
        let mut doc = self.load(id)?;
        doc_conflicts(&mut doc, self.roster_opt().as_deref(), self)
    }

    /// Resolve the concurrent values of `path` in a document by writing the picked value
    /// again: the new write supersedes every concurrent value on every device once synced.
    /// Returns the picked value.
    pub fn resolve_conflict(
        &self,
        id: &DocId,
        path: &str,
        pick: &Pick,
        now: Millis,
    ) -> Result<ConflictValue> {
        let me = self.me()?;
        let summary = self
            .summary(id)?
            .ok_or_else(|| Error::not_found(format!("document {id}")))?;
        if !can_write(&me.roster, &me.user_id, &summary) {
            return Err(Error::denied(format!(
                "{} may not change {} `{}`",
                me.user.name, summary.kind, summary.name
            )));
        }
        let path = path.trim().trim_matches('/').to_string();
        // Resolving a field is setting it: it takes the authority to set that field.
        if let Some(authority) = fieldcrm_model::Authority::for_field(&summary.kind, &path) {
            me.require(authority)?;
        }
        let mut doc = self.load(id)?;
        let am = doc.automerge_mut();
        let (obj, key) = locate(am, &path).ok_or_else(|| no_field(id, &summary.name, &path))?;
        let values = conflict_values(am, Some(&me.roster), &obj, &key);
        if values.is_empty() {
            return Err(no_field(id, &summary.name, &path));
        }
        if values.len() < 2 {
            return Err(Error::invalid(format!(
                "field `{path}` of `{}` has a single value; nothing to resolve",
                summary.name
            )));
        }
        let index = match pick {
            Pick::Value(text) => {
                let hits: Vec<usize> = values
                    .iter()
                    .enumerate()
                    .filter(|(_, v)| value_matches(&v.value, text))
                    .map(|(i, _)| i)
                    .collect();
                match hits.as_slice() {
                    [] => {
                        return Err(Error::not_found(format!(
                            "field `{path}` has no value `{text}`; its values are: {}",
                            values
                                .iter()
                                .map(|v| value_text(&v.value))
                                .collect::<Vec<_>>()
                                .join(", ")
                        )));
                    }
                    [i, ..] => *i,
                }
            }
            Pick::Author(user) => {
                let uid = self.resolve_user(&me.roster, user)?;
                let hits: Vec<usize> = values
                    .iter()
                    .enumerate()
                    .filter(|(_, v)| v.author.user_id.as_deref() == Some(uid.as_str()))
                    .map(|(i, _)| i)
                    .collect();
                match hits.as_slice() {
                    [i] => *i,
                    [] => {
                        return Err(Error::not_found(format!(
                            "no value of field `{path}` was written by `{user}`; authors: {}",
                            values
                                .iter()
                                .map(|v| v.author.label())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )));
                    }
                    _ => {
                        return Err(Error::ambiguous(format!(
                            "`{user}` wrote several values of field `{path}`: pick one with --pick VALUE"
                        )));
                    }
                }
            }
        };
        let ops = values_with_ops(am, &obj, &key);
        let (Some(chosen), Some((_, op))) = (values.get(index).cloned(), ops.get(index)) else {
            return Err(no_field(id, &summary.name, &path));
        };
        let src = am.fork();
        let value = src
            .get_all(&obj, key.as_str())
            .ok()
            .and_then(|all| all.into_iter().find(|(_, i)| i == op))
            .map(|(v, _)| v.to_owned())
            .ok_or_else(|| no_field(id, &summary.name, &path))?;
        copy_value(&src, value, op, am, &obj, &key).map_err(|e| Error::Corrupt(e.to_string()))?;
        // The history keeps what the resolution discarded, and by whom it was written.
        let discarded: Vec<String> = values
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != index)
            .map(|(_, v)| {
                format!(
                    "{} ({})",
                    truncate(&value_text(&v.value), 40),
                    v.author.label()
                )
            })
            .collect();
        doc.commit(
            now,
            &format!(
                "解决冲突 resolve {path} = {}；舍弃 discarded: {}",
                truncate(&value_text(&chosen.value), 60),
                discarded.join(", ")
            ),
        );
        self.save(&mut doc)?;
        Ok(chosen)
    }
}

fn doc_conflicts(
    doc: &mut Document,
    roster: Option<&Roster>,
    ws: &Workspace,
) -> Result<Vec<Conflict>> {
    let id = doc.id().clone();
    let summary = ws.summary(&id)?;
    let (kind, name) = summary
        .map(|s| (s.kind.to_string(), s.name))
        .unwrap_or_default();
    let am = doc.automerge_mut();
    let paths = conflict_paths(am);
    Ok(paths
        .into_iter()
        .map(|(obj, key, path)| Conflict {
            doc: id.clone(),
            kind: kind.clone(),
            name: name.clone(),
            path,
            values: conflict_values(am, roster, &obj, &key),
        })
        .collect())
}

fn no_field(id: &DocId, name: &str, path: &str) -> Error {
    Error::not_found(format!(
        "document {} (`{name}`) has no field `{path}` (paths look like `class` or `quotes/<id>/approval`; see `fieldcrm doc show`)",
        id.short()
    ))
}

/// A value as the user types it: strings bare, anything else as JSON.
pub fn value_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn value_matches(v: &serde_json::Value, text: &str) -> bool {
    let text = text.trim();
    if value_text(v) == text {
        return true;
    }
    if let Ok(j) = serde_json::from_str::<serde_json::Value>(text)
        && &j == v
    {
        return true;
    }
    // Vocabulary values typed in Chinese (e.g. class 重要 for `key`).
    if let serde_json::Value::String(s) = v {
        use fieldcrm_model::{ChannelKind, ChannelStatus, CustomerClass, RiskLevel};
        let same = |canon: Option<String>| canon.as_deref() == Some(s.as_str());
        return same(text.parse::<CustomerClass>().ok().map(|c| c.to_string()))
            || same(text.parse::<ChannelStatus>().ok().map(|c| c.to_string()))
            || same(text.parse::<ChannelKind>().ok().map(|c| c.to_string()))
            || same(text.parse::<RiskLevel>().ok().map(|c| c.to_string()));
    }
    false
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn diff_reports_leaf_changes_and_whole_new_objects() {
        let a = json!({"name": "甲", "class": "key", "contacts": {}});
        let b = json!({"name": "乙", "class": "key", "contacts": {"c1": {"name": "张伟"}}});
        let d = diff_json(&a, &b);
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].path, "contacts/c1");
        assert_eq!(d[0].old, None);
        assert_eq!(d[1].path, "name");
        assert_eq!(d[1].new, Some(json!("乙")));
    }

    #[test]
    fn concurrent_objects_are_listed_and_resolved_to_one_copy() {
        use fieldcrm_model::{Approval, DeviceKey, Role};
        let dir = tempfile::tempdir().unwrap();
        let ws = Workspace::init(
            &dir.path().join("ws"),
            &crate::InitOptions {
                user: "王经理".into(),
                role: Role::Manager,
                team: None,
                region: None,
                company: "示例".into(),
                device_label: "laptop".into(),
            },
            1_000,
        )
        .unwrap();
        let id = ws
            .add_customer(
                crate::NewCustomer {
                    name: "甲公司".into(),
                    ..Default::default()
                },
                2_000,
            )
            .unwrap();
        // Another device (not in the roster) writes a sign-off concurrently.
        let other = DeviceKey([9; 32]);
        let bytes = ws.store().load_bytes(&id).unwrap();
        let mut theirs = Document::load(id.clone(), &bytes, &other).unwrap();
        theirs
            .put_new_object(
                &["class_exception"],
                &Approval {
                    covers: Default::default(),
                    by: "someone".into(),
                    at: 4_000,
                    note: Some("他们的".into()),
                },
            )
            .unwrap();
        theirs.commit(4_000, "their approval");
        ws.approve_class_exception(&id, Some("我们的".into()), 3_000)
            .unwrap();
        ws.store()
            .apply_changes(&id, &[theirs.save_incremental()])
            .unwrap();

        let c = ws.conflicts().unwrap();
        assert_eq!(c.len(), 1, "{c:?}");
        assert_eq!(c[0].path, "class_exception");
        let mut times: Vec<Millis> = c[0].values.iter().map(|v| v.time).collect();
        times.sort();
        assert_eq!(times, vec![3_000, 4_000]);
        let theirs_v = c[0]
            .values
            .iter()
            .find(|v| v.author.user.is_none())
            .unwrap();
        assert_eq!(theirs_v.author.device, other.to_hex());
        assert!(
            ws.resolve_conflict(
                &id,
                "class_exception",
                &Pick::Author("王经理".into()),
                4_000
            )
            .is_ok()
        );
        assert!(ws.conflicts().unwrap().is_empty());
        let doc = ws.load(&id).unwrap();
        assert_eq!(doc.to_json()["class_exception"]["note"], "我们的");
        let err = ws
            .resolve_conflict(&id, "class_exception", &Pick::Value("x".into()), 5_000)
            .unwrap_err();
        assert!(err.to_string().contains("single value"), "{err}");
    }

    #[test]
    fn picks_match_raw_json_and_chinese_vocab() {
        assert!(value_matches(&json!("key"), "重要"));
        assert!(value_matches(&json!(5), "5"));
        assert!(value_matches(&json!("华东"), "华东"));
        assert!(!value_matches(&json!("general"), "重要"));
    }
}
