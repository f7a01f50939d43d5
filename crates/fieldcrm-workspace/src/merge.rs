//! Duplicate merge: fold one customer file (or channel record) into another, and carry
//! over edits that reach the merged-away file (a tombstone) later.
//!
//! A merge copies every entity of the duplicate whose ID the survivor lacks (union by
//! entity ID), sets the scalar fields the caller chose, and marks the duplicate with
//! `merged_into` = survivor ID, both in one durable transaction.
//!
//! Carry-over ([`Workspace::merge_forward`]) is stateless: for every tombstone it compares
//! the tombstone as of the merge (the change that set `merged_into`) with the tombstone
//! now. Each field that changed afterwards (a device that had not seen the merge kept
//! editing the old file) is copied into the survivor when the survivor still holds the
//! value from before (or nothing); when the survivor already holds the new value nothing
//! happens (so it can run after every sync); otherwise it is reported for review. Nothing
//! written to a tombstone is dropped silently.

use std::collections::BTreeSet;

use automerge::{AutoCommit, ObjType, ReadDoc, Value};
use fieldcrm_model::access::can_write;
use fieldcrm_model::channel::CHANNEL_COLLECTIONS;
use fieldcrm_model::customer::CUSTOMER_COLLECTIONS;
use fieldcrm_model::fields::object_json;
use fieldcrm_model::{Authority, DocId, DocKind, Document, Millis};
use serde::Serialize;

use crate::inspect::{FieldChange, copy_value, diff_json, locate};
use crate::{Error, Filter, Listed, Result, Tombstones, Workspace};

/// A scalar field whose value differs between the two files.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldDiff {
    /// Field name.
    pub field: String,
    /// Value in the file kept.
    pub keep: serde_json::Value,
    /// Value in the duplicate.
    pub duplicate: serde_json::Value,
}

/// What a merge would do.
#[derive(Debug, Clone, Serialize)]
pub struct MergePlan {
    /// Survivor.
    pub keep: DocId,
    /// Its name.
    pub keep_name: String,
    /// The file merged away.
    pub duplicate: DocId,
    /// Its name.
    pub duplicate_name: String,
    /// Scalar fields set in both with different values (a choice is needed).
    pub differing: Vec<FieldDiff>,
    /// Fields empty in the survivor that the duplicate fills.
    pub filled: Vec<String>,
    /// Entities to copy, as `collection/id`.
    pub entities: Vec<String>,
}

/// What carry-over did for one tombstone.
#[derive(Debug, Clone, Serialize)]
pub struct CarryOver {
    /// The merged-away file.
    pub tombstone: DocId,
    /// Its name.
    pub name: String,
    /// The survivor.
    pub survivor: DocId,
    /// Paths copied into the survivor now.
    pub carried: Vec<String>,
    /// Changes made to the tombstone after the merge that were not copied, with why.
    pub review: Vec<(FieldChange, String)>,
}

fn kind_fields(kind: &DocKind) -> Result<(&'static [&'static str], &'static [&'static str])> {
    match kind {
        DocKind::Customer => Ok((
            &[
                "name",
                "credit_code",
                "industry",
                "region",
                "address",
                "class",
                "annual_value",
                "owner",
                "team",
                "plan",
            ],
            CUSTOMER_COLLECTIONS,
        )),
        DocKind::Channel => Ok((
            &[
                "name",
                "channel_kind",
                "region",
                "status",
                "status_at",
                "activated_at",
                "owner",
                "qualification",
                "risk",
                "agreement",
            ],
            CHANNEL_COLLECTIONS,
        )),
        other => Err(Error::invalid(format!(
            "{other} documents cannot be merged"
        ))),
    }
}

/// The merge-relevant fields of a kind (for help texts and flag checks).
pub fn merge_fields(kind: &DocKind) -> &'static [&'static str] {
    kind_fields(kind).map(|(f, _)| f).unwrap_or(&[])
}

fn is_empty(v: Option<&serde_json::Value>) -> bool {
    v.is_none_or(|v| v.is_null())
}

fn get_path<'a>(v: &'a serde_json::Value, path: &str) -> Option<&'a serde_json::Value> {
    path.split('/')
        .try_fold(v, |v, k| v.get(k))
        .filter(|v| !v.is_null())
}

impl Workspace {
    fn merge_pair(
        &self,
        kind: &DocKind,
        keep: &DocId,
        dup: &DocId,
    ) -> Result<(Document, Document, MergePlan)> {
        if keep == dup {
            return Err(Error::invalid("cannot merge a file into itself"));
        }
        let (fields, collections) = kind_fields(kind)?;
        let k = self.load(keep)?;
        let d = self.load(dup)?;
        for doc in [&k, &d] {
            if &doc.kind()? != kind {
                return Err(Error::invalid(format!(
                    "document {} is not a {kind}",
                    doc.id().short()
                )));
            }
        }
        let kj = k.to_json();
        let dj = d.to_json();
        for (j, id) in [(&kj, keep), (&dj, dup)] {
            if let Some(m) = j.get("merged_into").and_then(|v| v.as_str()) {
                return Err(Error::invalid(format!(
                    "{kind} `{}` ({}) was already merged into {}",
                    j["name"].as_str().unwrap_or(""),
                    id.short(),
                    fieldcrm_model::short_id(m)
                )));
            }
        }
        let mut differing = Vec::new();
        let mut filled = Vec::new();
        for f in fields {
            let (a, b) = (kj.get(*f), dj.get(*f));
            if is_empty(b) || a == b {
                continue;
            }
            if is_empty(a) {
                filled.push(f.to_string());
            } else {
                differing.push(FieldDiff {
                    field: f.to_string(),
                    keep: a.cloned().unwrap_or_default(),
                    duplicate: b.cloned().unwrap_or_default(),
                });
            }
        }
        let mut entities = Vec::new();
        for c in collections {
            if let Some(serde_json::Value::Object(m)) = dj.get(*c) {
                for eid in m.keys() {
                    if kj.get(*c).and_then(|x| x.get(eid)).is_none() {
                        entities.push(format!("{c}/{eid}"));
                    }
                }
            }
        }
        let plan = MergePlan {
            keep: keep.clone(),
            keep_name: kj
                .get("name")
                .and_then(|n| n.as_str())
                .unwrap_or("")
                .to_string(),
            duplicate: dup.clone(),
            duplicate_name: dj
                .get("name")
                .and_then(|n| n.as_str())
                .unwrap_or("")
                .to_string(),
            differing,
            filled,
            entities,
        };
        Ok((k, d, plan))
    }

    /// What merging `dup` into `keep` would do (no write).
    pub fn merge_plan(&self, kind: &DocKind, keep: &DocId, dup: &DocId) -> Result<MergePlan> {
        Ok(self.merge_pair(kind, keep, dup)?.2)
    }

    /// Merge `dup` into `keep`: copy the duplicate's entities the survivor lacks, fill the
    /// survivor's empty fields, take the duplicate's value for the fields in `take`, and
    /// mark the duplicate as merged. One durable transaction.
    ///
    /// Managers and admins (channel managers too, for channels): copied approvals are
    /// written by the merging device, so the policy engine sees the merger as their author.
    pub fn merge_docs(
        &self,
        kind: &DocKind,
        keep: &DocId,
        dup: &DocId,
        take: &BTreeSet<String>,
        now: Millis,
    ) -> Result<MergePlan> {
        let me = self.me()?;
        match kind {
            DocKind::Channel => me.require(Authority::MergeChannels)?,
            _ => me.require(Authority::MergeCustomers)?,
        }
        for id in [keep, dup] {
            let s = self
                .summary(id)?
                .ok_or_else(|| Error::not_found(format!("document {id}")))?;
            if !can_write(&me.roster, &me.user_id, &s) {
                return Err(Error::denied(format!(
                    "{} may not change {} `{}`",
                    me.user.name, s.kind, s.name
                )));
            }
        }
        let (fields, _) = kind_fields(kind)?;
        for t in take {
            if !fields.contains(&t.as_str()) {
                return Err(Error::invalid(format!(
                    "`{t}` is not a field a merge chooses; fields: {}",
                    fields.join(", ")
                )));
            }
        }
        let (mut k, mut d, plan) = self.merge_pair(kind, keep, dup)?;
        let src = d.automerge().clone();
        let copy = |k: &mut Document, path: &str| -> Result<()> {
            let (sobj, key) =
                locate(&src, path).ok_or_else(|| Error::Corrupt(format!("{dup}: no `{path}`")))?;
            let (v, id) = src
                .get(&sobj, key.as_str())
                .ok()
                .flatten()
                .ok_or_else(|| Error::Corrupt(format!("{dup}: no `{path}`")))?;
            let v = v.to_owned();
            let am = k.automerge_mut();
            let (dobj, dkey) = locate_or_create(am, path)?;
            copy_value(&src, v, &id, am, &dobj, &dkey).map_err(|e| Error::Corrupt(e.to_string()))
        };
        for e in &plan.entities {
            copy(&mut k, e)?;
        }
        for f in &plan.filled {
            copy(&mut k, f)?;
        }
        for f in &plan.differing {
            if take.contains(&f.field) {
                copy(&mut k, &f.field)?;
            }
        }
        k.commit(
            now,
            &format!(
                "合并重复档案 merge {} ({}) into this file",
                plan.duplicate_name,
                dup.short()
            ),
        );
        d.put(&["merged_into"], &Some(keep.as_str().to_string()))?;
        d.commit(
            now,
            &format!("已合并到 merged into {} ({})", plan.keep_name, keep.short()),
        );
        // The survivor's claim (keys it gained) and the merged-away file's claim removed,
        // in the same transaction.
        let mut sales = self.claims_doc(&[&k, &d], now)?;
        self.store()
            .save_all([&mut k, &mut d].into_iter().chain(sales.as_mut()))
            .map_err(fieldcrm_store::Error::from)?;
        Ok(plan)
    }

    /// Every merged-away file (its summary names the survivor), by name then ID. The set
    /// is kept between runs and brought up to date from the documents written since (the
    /// store's change log), so finding them after a sync does not read the whole summary
    /// index.
    pub(crate) fn merged_away(&self) -> Result<Vec<Listed>> {
        const PASS: &str = "merged-away";
        let store = self.store();
        let (generation, roster, since) = crate::shared::pass_since(store, PASS)?;
        let ids: std::collections::BTreeSet<DocId> = match since {
            Some(since) => {
                let mut ids: std::collections::BTreeSet<DocId> = since
                    .kept
                    .chunks_exact(32)
                    .filter_map(|c| std::str::from_utf8(c).ok()?.parse().ok())
                    .collect();
                for id in since.changed {
                    ids.remove(&id);
                    if self.summary(&id)?.is_some_and(|s| s.merged_into.is_some()) {
                        ids.insert(id);
                    }
                }
                ids
            }
            None => self
                .list(&Filter::default().tombstones(Tombstones::Only))?
                .into_iter()
                .filter(|l| l.summary.merged_into.is_some())
                .map(|l| l.id)
                .collect(),
        };
        let kept: Vec<u8> = ids.iter().flat_map(|id| id.as_str().bytes()).collect();
        let mut rows = Vec::with_capacity(ids.len());
        for id in ids {
            // A removed document (gone from the store) is no longer merged away here.
            if let Some(summary) = self.summary(&id)? {
                rows.push(Listed { id, summary });
            }
        }
        rows.sort_by(|a, b| {
            a.summary
                .name
                .cmp(&b.summary.name)
                .then_with(|| a.id.cmp(&b.id))
        });
        crate::shared::pass_done(store, PASS, generation, roster, &kept);
        Ok(rows)
    }

    /// Carry over edits made to merged-away files after their merge (see the module
    /// docs). Writes only to survivors this device's user may change; reports the rest.
    pub fn merge_forward(&self, now: Millis) -> Result<Vec<CarryOver>> {
        let me = self.me()?;
        let tombs = self.merged_away()?;
        let mut out = Vec::new();
        for t in tombs {
            let Some(target) = t.summary.merged_into.clone() else {
                continue;
            };
            let mut report = CarryOver {
                tombstone: t.id.clone(),
                name: t.summary.name.clone(),
                survivor: target.parse().unwrap_or_else(|_| t.id.clone()),
                carried: Vec::new(),
                review: Vec::new(),
            };
            let (_, collections) = match kind_fields(&t.summary.kind) {
                Ok(k) => k,
                Err(_) => continue,
            };
            let mut tdoc = self.load(&t.id)?;
            let tam = tdoc.automerge_mut();
            let changes = post_merge_changes(tam)?;
            if changes.is_empty() {
                continue;
            }
            // Follow a chain of merges to the live survivor.
            let mut sid = report.survivor.clone();
            for _ in 0..8 {
                match self.summary(&sid)?.and_then(|s| s.merged_into) {
                    Some(next) => match next.parse() {
                        Ok(n) => sid = n,
                        Err(_) => break,
                    },
                    None => break,
                }
            }
            report.survivor = sid.clone();
            let Some(ssum) = self.summary(&sid)? else {
                for c in changes {
                    report
                        .review
                        .push((c, "the surviving file is not on this device".into()));
                }
                out.push(report);
                continue;
            };
            let writable = can_write(&me.roster, &me.user_id, &ssum);
            let mut sdoc = self.load(&sid)?;
            let sj = sdoc.to_json();
            let src = tam.clone();
            for c in changes {
                let current = get_path(&sj, &c.path);
                if current == c.new.as_ref() {
                    continue; // already carried over (by us or another device)
                }
                let top = c.path.split('/').next().unwrap_or("");
                let in_collection = collections.contains(&top);
                let Some(_) = &c.new else {
                    report.review.push((
                        c,
                        "removed from the merged-away file; kept in the survivor".into(),
                    ));
                    continue;
                };
                if current != c.old.as_ref() && !(in_collection && current.is_none()) {
                    report.review.push((
                        c,
                        "the survivor holds a different value; decide and edit the survivor".into(),
                    ));
                    continue;
                }
                if !writable {
                    report
                        .review
                        .push((c, format!("{} may not change the survivor", me.user.name)));
                    continue;
                }
                let path = c.path.clone();
                let (sobj, key) = locate(&src, &path)
                    .ok_or_else(|| Error::Corrupt(format!("{}: no `{path}`", t.id)))?;
                let Some((v, id)) = src.get(&sobj, key.as_str()).ok().flatten() else {
                    continue;
                };
                let v = v.to_owned();
                let am = sdoc.automerge_mut();
                let (dobj, dkey) = locate_or_create(am, &path)?;
                copy_value(&src, v, &id, am, &dobj, &dkey)
                    .map_err(|e| Error::Corrupt(e.to_string()))?;
                report.carried.push(path);
            }
            if !report.carried.is_empty() {
                sdoc.commit(
                    now,
                    &format!(
                        "接续合并 carry over {} change(s) from merged file {} ({})",
                        report.carried.len(),
                        t.summary.name,
                        t.id.short()
                    ),
                );
                self.save(&mut sdoc)?;
            }
            if !report.carried.is_empty() || !report.review.is_empty() {
                out.push(report);
            }
        }
        Ok(out)
    }
}

/// The parent object of `path` in `am`, creating missing maps on the way.
fn locate_or_create(am: &mut AutoCommit, path: &str) -> Result<(automerge::ObjId, String)> {
    use automerge::transaction::Transactable;
    let segs: Vec<&str> = path.split('/').collect();
    let Some((key, parents)) = segs.split_last() else {
        return Err(Error::Corrupt(format!("empty field path `{path}`")));
    };
    let mut obj = automerge::ROOT;
    for seg in parents {
        obj = match am.get(&obj, *seg).ok().flatten() {
            Some((Value::Object(ObjType::Map), id)) => id,
            _ => am
                .put_object(&obj, *seg, ObjType::Map)
                .map_err(|e| Error::Corrupt(e.to_string()))?,
        };
    }
    Ok((obj, key.to_string()))
}

/// The changes made to a tombstone after (or concurrently with) the change that set its
/// `merged_into`, as field changes.
fn post_merge_changes(am: &mut AutoCommit) -> Result<Vec<FieldChange>> {
    let Some((_, op)) = am.get(automerge::ROOT, "merged_into").ok().flatten() else {
        return Ok(Vec::new());
    };
    let Some(hash) = am.hash_for_opid(&op) else {
        return Ok(Vec::new());
    };
    let at_merge = am
        .fork_at(&[hash])
        .map_err(|e| Error::Corrupt(e.to_string()))?;
    let before = object_json(&at_merge, &automerge::ROOT);
    let now = object_json(am, &automerge::ROOT);
    Ok(diff_json(&before, &now)
        .into_iter()
        .filter(|c| c.path != "merged_into")
        .collect())
}
