//! Judging one received document part change by change: signatures first, then the
//! scope, then everything that depends on a refused change. What is left is saved; the
//! rest is reported, and never blocks the other changes or documents.

use std::collections::{HashMap, HashSet};

use automerge::{ActorId, AutoCommit, Change, ChangeHash};
use fieldcrm_model::{Checked, DeviceKey, DocId, Document, Signature, Snapshot, Summary, sig};

use crate::clock;
use crate::scope::{ChangeInfo, Content, Incoming, Scope};
use crate::wire::ChangesPart;

/// Received data for one document, as it came (from a sync peer or a bundle).
#[derive(Debug, Clone, Copy)]
pub enum Part<'a> {
    /// Change chunks in causal order, each with its signature.
    Changes(&'a [(Vec<u8>, Signature)]),
    /// A whole saved document and the signatures of its changes.
    Whole {
        /// The saved document.
        bytes: &'a [u8],
        /// Signatures by change hash.
        sigs: &'a [(ChangeHash, Signature)],
    },
}

impl<'a> From<&'a ChangesPart> for Part<'a> {
    fn from(p: &'a ChangesPart) -> Self {
        match p {
            ChangesPart::Changes { chunks, .. } => Part::Changes(chunks),
            ChangesPart::Whole { bytes, sigs, .. } => Part::Whole { bytes, sigs },
        }
    }
}

/// The outcome of [`judge`]: what to save, and what was refused.
#[derive(Debug)]
#[non_exhaustive]
pub struct Judged {
    /// The document.
    pub id: DocId,
    /// Automerge data to apply (empty when nothing is accepted).
    pub data: Vec<u8>,
    /// The signatures of the changes in `data`.
    pub sigs: Vec<(ChangeHash, Signature)>,
    /// For a whole document accepted as it came: its heads.
    pub whole_heads: Option<Vec<ChangeHash>>,
    /// `Err`: the whole document is refused (not shared, unreadable, out of scope).
    pub verdict: Result<(), String>,
    /// Single changes refused (the rest is in `data`).
    pub refused: Vec<RefusedChange>,
    /// The document left the peer's scope ([`Scope::leaving`]): `data` is saved all the
    /// same, and this reason is sent so the peer removes its copy.
    pub leaving: Option<String>,
    /// A whole document new to this side, accepted whole: `data` as loaded to judge it.
    pub loaded: Option<Box<JudgedDoc>>,
}

/// A whole document new to this side as it was judged: `data` loaded (strictly, as
/// `Automerge::load` does) and its summary, so that a host can store it without
/// loading and reading it again.
#[derive(Debug, Clone)]
pub struct JudgedDoc {
    /// The loaded document, as checked to read its summary.
    pub doc: Document,
    /// Its summary (what the scope judged it by).
    pub summary: Summary,
    /// Its policy snapshot, read in the same pass as the summary, when the scope keeps
    /// snapshots ([`Scope::keeps_snapshots`]) and the document has one to keep.
    pub snapshot: Option<Snapshot>,
}

/// A refusal reason of this crate (English: it is also sent to the peer) said in
/// Chinese, for the common ones; `None` for others.
pub fn reason_zh(reason: &str) -> Option<&'static str> {
    const ZH: [(&str, &str); 11] = [
        (
            "enrolled itself by invitation",
            "设备以邀请自行登记，但邀请或其使用无效",
        ),
        (
            "signature does not verify",
            "签名无效：这项修改不是它所署名的设备做的",
        ),
        ("is not signed", "这项修改没有签名"),
        (
            "not a fieldcrm device key",
            "这项修改的作者不是 fieldcrm 设备",
        ),
        ("was revoked", "做这项修改的设备已被停用"),
        ("not enrolled", "做这项修改的设备不在本工作区的设备名单中"),
        ("may not write", "作者无权修改这份档案"),
        ("depends on refused change", "它建立在一项被拒绝的修改之上"),
        (
            "admin's device may change the roster",
            "只有管理员的设备可以修改人员名单",
        ),
        (
            "founded this workspace",
            "只有创建工作区的设备可以建立人员名单",
        ),
        (
            "arrived damaged and was set aside",
            "这份文档传来时已损坏，未保存；其他文档照常同步",
        ),
    ];
    ZH.iter()
        .find(|(en, _)| reason.contains(en))
        .map(|(_, zh)| *zh)
}

/// A change this side refused, with why.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RefusedChange {
    /// The document.
    pub doc: DocId,
    /// The change.
    pub hash: ChangeHash,
    /// The device its actor ID names (`None` when the actor ID is not a device key).
    pub author: Option<DeviceKey>,
    /// Why, in English.
    pub reason: String,
}

impl RefusedChange {
    /// One line for people: change, device, reason.
    pub fn describe(&self) -> String {
        let author = self
            .author
            .map(|a| fieldcrm_model::short_id(&a.to_hex()).to_string())
            .unwrap_or_else(|| "(not a device)".into());
        format!(
            "change {} by device {author}: {}",
            fieldcrm_model::short_id(&self.hash.to_string()),
            self.reason
        )
    }
}

/// What was received, parsed.
// One per received part, short-lived: boxing the document would buy nothing.
#[allow(clippy::large_enum_variant)]
enum Parsed {
    Changes(Vec<(Change, Vec<u8>, Signature)>),
    Whole {
        doc: AutoCommit,
        bytes: Vec<u8>,
        sigs: HashMap<ChangeHash, Signature>,
    },
}

fn info_of(c: &Change) -> (ChangeHash, ActorId, i64, Vec<ChangeHash>) {
    (
        c.hash(),
        c.actor_id().clone(),
        c.timestamp(),
        c.deps().to_vec(),
    )
}

/// A sync peer sent changes (not a whole document) to a document this side did not
/// offer: refused without reading them.
pub(super) fn not_offered(id: DocId) -> Judged {
    Judged {
        verdict: Err(format!(
            "changes to document {} that this side does not share with you",
            id.short()
        )),
        id,
        data: Vec::new(),
        sigs: Vec::new(),
        whole_heads: None,
        refused: Vec::new(),
        leaving: None,
        loaded: None,
    }
}

/// The verdict on data for one document that Automerge cannot read (a damaged or
/// forged change or document): nothing of it is saved, the rest of the session goes on.
pub(super) fn damaged(id: DocId, detail: &str) -> Judged {
    Judged {
        verdict: Err(format!(
            "document {} arrived damaged and was set aside: {detail}",
            id.short()
        )),
        ..not_offered(id)
    }
}

/// Parse, verify and judge what arrived for one document: every change's signature
/// against the device its actor ID names, then `scope` (the document, then change by
/// change), then the changes depending on a refused one. `held`: this side holds the
/// document. `Err` is data that does not parse (a malformed message or file).
pub fn judge<S: Scope>(scope: &S, part: Part<'_>, id: DocId, held: bool) -> Result<Judged, String> {
    let mut parsed = match part {
        Part::Changes(chunks) => {
            let mut out = Vec::with_capacity(chunks.len());
            for (ch, s) in chunks {
                out.push((clock::parse_change(ch)?, ch.clone(), *s));
            }
            Parsed::Changes(out)
        }
        Part::Whole { bytes, sigs } => Parsed::Whole {
            doc: clock::parse_document(bytes)?,
            bytes: bytes.to_vec(),
            sigs: sigs.iter().copied().collect(),
        },
    };
    let mut refused: Vec<RefusedChange> = Vec::new();
    let mut bad: HashSet<ChangeHash> = HashSet::new();
    let refuse = |refused: &mut Vec<RefusedChange>,
                  bad: &mut HashSet<ChangeHash>,
                  hash: ChangeHash,
                  actor: &ActorId,
                  reason: String| {
        if bad.insert(hash) {
            refused.push(RefusedChange {
                doc: id.clone(),
                hash,
                author: DeviceKey::from_actor(actor),
                reason,
            });
        }
    };
    // 1. Signatures, and what depends on a change that failed.
    let metas = metas(&mut parsed);
    {
        let chunk_sigs: HashMap<ChangeHash, &Signature> = match &parsed {
            Parsed::Changes(cs) => cs.iter().map(|(c, _, s)| (c.hash(), s)).collect(),
            Parsed::Whole { sigs, .. } => sigs.iter().map(|(h, s)| (*h, s)).collect(),
        };
        for (hash, actor, _, _) in &metas {
            if let Err(e) = sig::verify_change(actor, hash, chunk_sigs.get(hash).copied()) {
                refuse(&mut refused, &mut bad, *hash, actor, e.to_string());
            }
        }
    }
    close_over_dependents(&metas, &mut bad, &mut |hash, actor, reason| {
        refuse(&mut refused, &mut HashSet::new(), hash, actor, reason)
    });
    if !bad.is_empty() {
        parsed = without(parsed, &bad)?;
    }
    // 2. The scope: the document as a whole, then change by change.
    let infos: Vec<ChangeInfo> = metas
        .iter()
        .filter(|(h, ..)| !bad.contains(h))
        .filter_map(|(hash, actor, time, deps)| {
            Some(ChangeInfo {
                hash: *hash,
                author: DeviceKey::from_actor(actor)?,
                time: *time,
                deps: deps.clone(),
            })
        })
        .collect();
    let mut authors: Vec<ActorId> = metas
        .iter()
        .filter(|(h, ..)| !bad.contains(h))
        .map(|m| m.1.clone())
        .collect();
    authors.sort();
    authors.dedup();
    let (mut snapshot, mut checked) = (None, None);
    let doc_summary = match &mut parsed {
        Parsed::Whole { doc, .. } if !held => Some(
            summary_of(&id, doc, scope.keeps_snapshots()).map(|(summary, snap, c)| {
                (snapshot, checked) = (snap, c);
                summary
            }),
        ),
        // A new document as changes (a bundle with `--since`): build it to judge it.
        Parsed::Changes(cs) if !held => {
            let mut doc = AutoCommit::new();
            Some(
                doc.apply_changes(cs.iter().map(|c| c.0.clone()))
                    .map_err(|e| e.to_string())
                    .and_then(|()| {
                        if doc.get_missing_deps(&[]).is_empty() {
                            summary_of(&id, &mut doc, false).map(|(summary, ..)| summary)
                        } else {
                            Err("it needs earlier changes this side does not have".into())
                        }
                    }),
            )
        }
        _ => None,
    };
    let changes_list: Vec<Change>;
    let content = match &mut parsed {
        Parsed::Changes(cs) => {
            changes_list = cs.iter().map(|c| c.0.clone()).collect();
            Content::Changes(&changes_list)
        }
        Parsed::Whole { doc, .. } => Content::Whole(doc.document()),
    };
    let incoming = Incoming {
        held,
        summary: doc_summary
            .as_ref()
            .map(|r: &Result<Summary, String>| r.as_ref().map_err(|e| e.as_str())),
        authors: &authors,
        changes: &infos,
        content,
    };
    let leaving = scope.leaving(&id, &incoming);
    let verdict = if leaving.is_some() {
        Ok(())
    } else {
        scope.accepts(&id, &incoming)
    };
    let more = if verdict.is_ok() && !infos.is_empty() {
        scope.refuse_changes(&id, &incoming)
    } else {
        Vec::new()
    };
    if !more.is_empty() {
        let by_hash: HashMap<ChangeHash, String> = more.into_iter().collect();
        for (hash, actor, _, _) in &metas {
            if let Some(reason) = by_hash.get(hash)
                && !bad.contains(hash)
            {
                refuse(&mut refused, &mut bad, *hash, actor, reason.clone());
            }
        }
        close_over_dependents(&metas, &mut bad, &mut |hash, actor, reason| {
            refuse(&mut refused, &mut HashSet::new(), hash, actor, reason)
        });
        parsed = without(parsed, &bad)?;
    }
    let keep = |h: &ChangeHash| !bad.contains(h);
    let mut loaded = None;
    let (data, sigs, whole_heads) = match parsed {
        Parsed::Changes(cs) => {
            let mut data = Vec::new();
            let mut sigs = Vec::new();
            for (c, bytes, s) in cs {
                if keep(&c.hash()) {
                    data.extend_from_slice(&bytes);
                    sigs.push((c.hash(), s));
                }
            }
            (data, sigs, None)
        }
        Parsed::Whole {
            mut doc,
            bytes,
            sigs,
        } => {
            let sigs: Vec<(ChangeHash, Signature)> = metas
                .iter()
                .filter(|(h, ..)| keep(h))
                .filter_map(|(h, ..)| sigs.get(h).map(|s| (*h, *s)))
                .collect();
            if sigs.is_empty() {
                (Vec::new(), Vec::new(), None)
            } else {
                let heads = doc.get_heads();
                // Nothing refused: `doc` is `bytes` as they came, and its summary is
                // the one judged.
                if bad.is_empty()
                    && let Some(Ok(summary)) = doc_summary
                {
                    // As checked to read its summary: the store does not check it again.
                    let doc = match checked {
                        Some(c) => Some(Document::from_checked(id.clone(), doc, c)),
                        None => Document::from_automerge(id.clone(), doc).ok(),
                    };
                    loaded = doc.map(|doc| {
                        Box::new(JudgedDoc {
                            doc,
                            summary,
                            snapshot,
                        })
                    });
                }
                (bytes, sigs, Some(heads))
            }
        }
    };
    Ok(Judged {
        id,
        data,
        sigs,
        whole_heads,
        verdict,
        refused,
        leaving,
        loaded,
    })
}

/// Add to `bad` every change depending (directly or not) on a change in it, whatever
/// order the changes came in, calling `report` for each.
fn close_over_dependents(
    metas: &[(ChangeHash, ActorId, i64, Vec<ChangeHash>)],
    bad: &mut HashSet<ChangeHash>,
    report: &mut impl FnMut(ChangeHash, &ActorId, String),
) {
    loop {
        let mut grew = false;
        for (hash, actor, _, deps) in metas {
            if bad.contains(hash) {
                continue;
            }
            if let Some(d) = deps.iter().find(|d| bad.contains(d)) {
                let reason = format!(
                    "it depends on refused change {}",
                    fieldcrm_model::short_id(&d.to_string())
                );
                bad.insert(*hash);
                report(*hash, actor, reason);
                grew = true;
            }
        }
        if !grew {
            return;
        }
    }
}

/// (hash, actor, time, deps) of every received change, in causal order.
fn metas(parsed: &mut Parsed) -> Vec<(ChangeHash, ActorId, i64, Vec<ChangeHash>)> {
    match parsed {
        Parsed::Changes(cs) => cs.iter().map(|(c, _, _)| info_of(c)).collect(),
        Parsed::Whole { doc, .. } => doc
            .get_changes_meta(&[])
            .into_iter()
            .map(|m| (m.hash, m.actor.into_owned(), m.timestamp, m.deps))
            .collect(),
    }
}

/// `doc` rebuilt from its changes other than the `bad` ones (which must include every
/// change that depends on one of them).
pub fn without_changes(
    doc: &mut AutoCommit,
    bad: &HashSet<ChangeHash>,
) -> Result<AutoCommit, automerge::AutomergeError> {
    let kept: Vec<Change> = doc
        .get_changes(&[])
        .into_iter()
        .filter(|c| !bad.contains(&c.hash()))
        .collect();
    let mut rebuilt = AutoCommit::new();
    rebuilt.apply_changes(kept)?;
    Ok(rebuilt)
}

/// The part without the `bad` changes. A whole document is rebuilt from the changes
/// that remain (a rare path: only when something in it was refused).
fn without(parsed: Parsed, bad: &HashSet<ChangeHash>) -> Result<Parsed, String> {
    match parsed {
        Parsed::Changes(cs) => Ok(Parsed::Changes(
            cs.into_iter()
                .filter(|(c, _, _)| !bad.contains(&c.hash()))
                .collect(),
        )),
        Parsed::Whole { mut doc, sigs, .. } => {
            let mut rebuilt = without_changes(&mut doc, bad).map_err(|e| e.to_string())?;
            let bytes = rebuilt.save();
            Ok(Parsed::Whole {
                doc: rebuilt,
                bytes,
                sigs,
            })
        }
    }
}

/// The summary of a received document that is not held here (`Err`: not a fieldcrm
/// document this build reads, and the document is refused as a whole), with its policy
/// snapshot read in the same pass when `snapshot` asks for it
/// ([`Document::summary_and_snapshot`]), and what the model's check of it found (to
/// wrap it again unchecked: [`Document::from_checked`]). The document is lent to the
/// model and taken back.
fn summary_of(
    id: &DocId,
    doc: &mut AutoCommit,
    snapshot: bool,
) -> Result<(Summary, Option<Snapshot>, Option<Checked>), String> {
    let am = std::mem::take(doc);
    let mut d = match Document::wrap(id.clone(), am) {
        Ok(d) => d,
        Err(back) => {
            let (e, am) = *back;
            *doc = am;
            return Err(e.to_string());
        }
    };
    let read = if snapshot {
        d.summary_and_snapshot()
    } else {
        d.summary().map(|s| (s, None))
    };
    let (am, checked) = d.into_checked();
    *doc = am;
    read.map(|(summary, snap)| (summary, snap, checked))
        .map_err(|e| e.to_string())
}
