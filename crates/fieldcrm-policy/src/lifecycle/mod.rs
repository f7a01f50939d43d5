//! Findings have a life: open → acknowledged (a note) → waived (a reason and an end
//! date, by someone with the authority) or resolved (the data no longer violates).
//!
//! What people did about a finding is CRDT data (`finding_states/<key>` in the document
//! the finding is about, see [`fieldcrm_model::FindingState`]). [`track`] is a pure
//! function of the findings, the snapshots that hold those states and `now`; it judges
//! each state by who WROTE it (the Automerge actor → device → user → role, as every
//! sign-off is judged), never by the `by` the writing device recorded:
//! - an acknowledgement counts when its author is an enrolled device of a user with a
//!   valid role; the finding stays open (it is only noted);
//! - a waiver counts when its author holds [`Authority::WaiveFinding`] (for a channel
//!   record, [`Authority::WaiveChannelFinding`]), until its `until` date or `waiver_max`
//!   after it was written (`[general]`), whichever is first; then the finding is open
//!   again. A waiver that does not count leaves the finding open and says why, naming
//!   its author;
//! - a state whose finding no longer fires is listed as resolved, with who acted;
//! - a state whose fields were written by several devices is judged by each of them:
//!   it counts only if every author would count;
//! - concurrent states of one finding (two offline devices) are both kept by Automerge;
//!   the strongest that counts wins (a waiver over an acknowledgement, then the latest
//!   end date or time, then the author), so every device shows the same state.

use std::collections::{HashMap, HashSet};

use fieldcrm_model::{
    Authority, Body, DocId, DocKind, FINDING_STATES, FindingMark, FindingState, Millis, Snapshot,
};
use serde::Serialize;

use crate::config::Config;
use crate::ctx::{Ctx, WsDocs};
use crate::finding::{Actor, Finding, Severity};
use crate::rule::RuleId;

mod render;

pub use render::render_tracked;

/// Where a finding stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Nobody has done anything about it that counts.
    Open,
    /// Someone noted it; it is still open.
    Acknowledged,
    /// Someone with the authority waived it until a date.
    Waived,
    /// It was acknowledged or waived and no longer fires.
    Resolved,
}

impl Status {
    /// `open`, `acknowledged`, `waived`, `resolved`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Acknowledged => "acknowledged",
            Status::Waived => "waived",
            Status::Resolved => "resolved",
        }
    }

    /// 未处理, 已确认, 已豁免, 已解决.
    pub fn zh(self) -> &'static str {
        match self {
            Status::Open => "未处理",
            Status::Acknowledged => "已确认",
            Status::Waived => "已豁免",
            Status::Resolved => "已解决",
        }
    }

    /// Whether the finding still counts against the data (open or only acknowledged):
    /// what `check`'s exit code counts.
    pub fn is_open(self) -> bool {
        matches!(self, Status::Open | Status::Acknowledged)
    }
}

/// One stored acknowledgement or waiver, as judged.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mark {
    /// `acknowledged` or `waived` (or what a newer client wrote).
    pub state: String,
    /// The acknowledgement's note.
    pub note: Option<String>,
    /// The waiver's reason.
    pub reason: Option<String>,
    /// The waiver's end as written (UTC ms).
    pub until: Option<Millis>,
    /// When the waiver stops counting: `until`, capped at `at` + `waiver_max`.
    pub counts_until: Option<Millis>,
    /// When, as the writing device recorded it (UTC ms).
    pub at: Millis,
    /// Who wrote it (the Automerge author, through the roster).
    pub by: Actor,
    /// Whether it counts.
    pub counts: bool,
    /// Why it does not count, in Chinese.
    pub why_not_zh: Option<String>,
    /// Why it does not count, in English.
    pub why_not_en: Option<String>,
    #[serde(skip)]
    record: Option<FindingState>,
}

/// A finding with its life: its key, status, the state that decides it and the states
/// that do not count.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tracked {
    /// [`Finding::key`].
    pub key: String,
    /// Open, acknowledged, waived or resolved.
    pub status: Status,
    /// The finding (for a resolved one: as it was when acted on, with empty facts).
    #[serde(flatten)]
    pub finding: Finding,
    /// The document its state is kept in.
    pub holder: DocId,
    /// The acknowledgement or waiver that decides the status, if any.
    pub state: Option<Mark>,
    /// Stored states that do not count (and why).
    pub ignored: Vec<Mark>,
}

/// The document a finding's state is kept in: the first document it is about when that
/// is a customer file or channel record, else the workspace's sales document (which
/// every user may write). `record` tells whether a document ID is one.
pub fn holder_of(finding: &Finding, record: impl Fn(&DocId) -> bool) -> DocId {
    match finding.doc_ids.first() {
        Some(d) if record(d) => d.clone(),
        _ => DocId::workspace(&DocKind::Sales),
    }
}

/// Every finding with its status, and every stored state whose finding no longer fires
/// (as resolved), in the canonical order of findings. `config` is the base
/// configuration (the policy-settings document among `docs` overrides it, as in
/// [`crate::check`]).
pub fn track<S: std::borrow::Borrow<Snapshot>>(
    findings: &[Finding],
    docs: &[S],
    config: &Config,
    now: Millis,
) -> Vec<Tracked> {
    let records: HashSet<&DocId> = docs
        .iter()
        .map(std::borrow::Borrow::borrow)
        .filter(|s| matches!(s.body, Body::Customer(_) | Body::Channel(_)))
        .map(|s| &s.id)
        .collect();
    track_in(findings, docs, |d| records.contains(d), config, now)
}

/// [`track`] for a caller that does not hold every snapshot (a lean engine's): `docs`
/// need only be the workspace documents and every document that stores finding states
/// ([`holds_finding_states`]), the only ones read; `is_record` tells whether an ID is a
/// customer file or channel record.
pub fn track_in<S: std::borrow::Borrow<Snapshot>>(
    findings: &[Finding],
    docs: &[S],
    is_record: impl Fn(&DocId) -> bool,
    config: &Config,
    now: Millis,
) -> Vec<Tracked> {
    let mut ws: WsDocs<&Snapshot> = WsDocs::default();
    let mut by_id: HashMap<&DocId, &Snapshot> = HashMap::new();
    for s in docs {
        let s = s.borrow();
        by_id.insert(&s.id, s);
        let _ = ws.slot(s);
    }
    let ctx = Ctx::build(config, &ws, None);
    // The stored states, by document: most documents hold none, and a finding whose
    // holder holds none is simply open (nothing to judge, nothing to remember).
    let stored: HashMap<&DocId, Vec<String>> = docs
        .iter()
        .map(|s| s.borrow())
        .map(|s| (&s.id, stored_keys(s)))
        .filter(|(_, keys)| !keys.is_empty())
        .collect();
    let mut out = Vec::with_capacity(findings.len());
    let mut fired: HashSet<(DocId, String)> = HashSet::new();
    for f in findings {
        let key = f.key();
        let holder = holder_of(f, &is_record);
        let marks = match (stored.contains_key(&holder), by_id.get(&holder)) {
            (true, Some(s)) => {
                fired.insert((holder.clone(), key.clone()));
                judge_all(&ctx, s, &key, now)
            }
            _ => Vec::new(),
        };
        let (status, state, ignored) = decide(marks);
        out.push(Tracked {
            key,
            status,
            finding: f.clone(),
            holder,
            state,
            ignored,
        });
    }
    for (id, keys) in &stored {
        let Some(s) = by_id.get(id) else {
            continue;
        };
        for key in keys {
            if fired.contains(&((*id).clone(), key.clone())) {
                continue;
            }
            let marks = judge_all(&ctx, s, key, now);
            if let Some(t) = resolved(id, key.clone(), marks) {
                out.push(t);
            }
        }
    }
    out.sort_by(|a, b| {
        a.finding
            .canonical_cmp(&b.finding)
            .then_with(|| a.key.cmp(&b.key))
            .then_with(|| a.status.cmp(&b.status))
    });
    out
}

/// Whether a snapshot stores any finding state (acknowledgement, waiver).
pub fn holds_finding_states(s: &Snapshot) -> bool {
    !stored_keys(s).is_empty()
}

/// The keys of the finding states stored in a snapshot.
fn stored_keys(s: &Snapshot) -> Vec<String> {
    let prefix = format!("{FINDING_STATES}/");
    s.fields
        .range(prefix.clone()..)
        .take_while(|(p, _)| p.starts_with(&prefix))
        .filter_map(|(p, _)| p.strip_prefix(&prefix))
        .filter(|rest| !rest.contains('/'))
        .map(str::to_string)
        .collect()
}

/// Every stored value of `finding_states/<key>` in `snap`, judged (winner first).
fn judge_all(ctx: &Ctx, snap: &Snapshot, key: &str, now: Millis) -> Vec<Mark> {
    let path = format!("{FINDING_STATES}/{key}");
    let Some(state) = snap.fields.get(&path) else {
        return Vec::new();
    };
    // Authors of the winning object's fields (the losers' fields are not reachable
    // through the document's visible state; their creating author is judged).
    let inner = format!("{path}/");
    let inner_authors: Vec<&str> = snap
        .fields
        .range(inner.clone()..)
        .take_while(|(p, _)| p.starts_with(&inner))
        .filter_map(|(_, f)| f.values.first().map(|v| v.actor.as_str()))
        .collect();
    let kind = snap.kind();
    state
        .values
        .iter()
        .enumerate()
        .map(|(i, stamp)| {
            let mut authors = vec![stamp.actor.as_str()];
            if i == 0 {
                for a in &inner_authors {
                    if !authors.iter().any(|b| b.eq_ignore_ascii_case(a)) {
                        authors.push(a);
                    }
                }
            }
            judge(ctx, &kind, &stamp.value, &authors, now)
        })
        .collect()
}

/// Judge one stored state written by `authors` (the object's creator first).
fn judge(
    ctx: &Ctx,
    kind: &DocKind,
    value: &serde_json::Value,
    authors: &[&str],
    now: Millis,
) -> Mark {
    let creator = authors.first().copied().unwrap_or_default();
    let record: Option<FindingState> = serde_json::from_value(value.clone()).ok();
    let mut counts_until = None;
    let mut mark = Mark {
        state: record.as_ref().map_or_else(
            || "unreadable".to_string(),
            |r| r.state.as_str().to_string(),
        ),
        note: record.as_ref().and_then(|r| r.note.clone()),
        reason: record.as_ref().and_then(|r| r.reason.clone()),
        until: record.as_ref().and_then(|r| r.until),
        counts_until: None,
        at: record.as_ref().map_or(0, |r| r.at),
        by: ctx.auth.actor(creator),
        counts: false,
        why_not_zh: None,
        why_not_en: None,
        record: record.clone(),
    };
    let mut why: Option<(String, String)> = None;
    let mut deny = |zh: String, en: String| {
        why.get_or_insert((zh, en));
    };
    let Some(record) = record else {
        mark.why_not_zh = Some("问题状态无法读取，不计".into());
        mark.why_not_en = Some("the finding state cannot be read; it does not count".into());
        return mark;
    };
    for a in authors {
        if ctx.auth.role_of_actor(a).is_none() {
            let who = ctx.auth.actor(a);
            deny(
                format!("由{}写入，不是有效角色的已登记设备，不计", who.label_zh()),
                format!(
                    "written by {}, not an enrolled device of a user with a valid role; it does not count",
                    who.label_en()
                ),
            );
        }
    }
    match record.state {
        FindingMark::Acknowledged => {}
        FindingMark::Waived => {
            let authority = Authority::waive_finding(kind);
            for a in authors {
                let who = ctx.auth.actor(a);
                if ctx
                    .auth
                    .role_of_actor(a)
                    .is_some_and(|r| !authority.allows(r))
                {
                    deny(
                        format!(
                            "豁免由{}写入，其无权{}（需要{}），豁免不计",
                            who.label_zh(),
                            authority.action_zh(),
                            authority.needs_zh()
                        ),
                        format!(
                            "the waiver was written by {}, who may not {} (needs {}); it does not count",
                            who.label_en(),
                            authority.action_en(),
                            authority.needs_en()
                        ),
                    );
                }
            }
            match record.until {
                None => deny(
                    "豁免没有截止日期，不计".into(),
                    "the waiver has no end date; it does not count".into(),
                ),
                Some(until) => {
                    let end = until.min(record.at.saturating_add(ctx.cfg.params.waiver_max));
                    counts_until = Some(end);
                    if now >= end {
                        let date = ctx.date(end);
                        deny(
                            format!("豁免已于 {date} 到期"),
                            format!("the waiver expired on {date}"),
                        );
                    }
                }
            }
        }
        FindingMark::Unknown(ref s) => deny(
            format!("未知的问题状态“{s}”，不计"),
            format!("unknown finding state `{s}`; it does not count"),
        ),
    }
    mark.counts_until = counts_until;
    mark.counts = why.is_none();
    if let Some((zh, en)) = why {
        mark.why_not_zh = Some(zh);
        mark.why_not_en = Some(en);
    }
    mark
}

/// The status the marks give, the deciding mark, and the marks that do not count.
fn decide(marks: Vec<Mark>) -> (Status, Option<Mark>, Vec<Mark>) {
    let (counting, ignored): (Vec<Mark>, Vec<Mark>) = marks.into_iter().partition(|m| m.counts);
    let best = counting.into_iter().max_by(|a, b| {
        let rank = |m: &Mark| {
            (
                m.state == FindingMark::Waived.as_str(),
                m.counts_until,
                m.at,
            )
        };
        rank(a)
            .cmp(&rank(b))
            .then_with(|| b.by.device.cmp(&a.by.device))
    });
    let status = match &best {
        Some(m) if m.state == FindingMark::Waived.as_str() => Status::Waived,
        Some(_) => Status::Acknowledged,
        None => Status::Open,
    };
    (status, best, ignored)
}

/// A stored state whose finding no longer fires, as resolved.
fn resolved(holder: &DocId, key: String, marks: Vec<Mark>) -> Option<Tracked> {
    let winner = marks.first()?.record.clone()?;
    let (_, best, ignored) = decide(marks.clone());
    let rule: RuleId = winner.rule.parse().ok()?;
    let severity = match winner.severity.as_deref() {
        Some("warning") => Severity::Warning,
        _ => Severity::Violation,
    };
    let mut doc_ids: Vec<DocId> = winner
        .doc_ids
        .iter()
        .filter_map(|d| d.parse().ok())
        .collect();
    if doc_ids.is_empty() {
        doc_ids.push(holder.clone());
    }
    let finding = Finding::new(
        rule,
        severity,
        doc_ids,
        winner.entity.clone(),
        winner.message_zh.clone().unwrap_or_default(),
        winner.message_en.clone().unwrap_or_default(),
        serde_json::json!({}),
    );
    // The state shown: the one that counts, else the visible one.
    let (state, ignored) = match best {
        Some(b) => (Some(b), ignored),
        None => {
            let mut rest = marks.into_iter();
            (rest.next(), rest.collect())
        }
    };
    Some(Tracked {
        key,
        status: Status::Resolved,
        finding,
        holder: holder.clone(),
        state,
        ignored,
    })
}
