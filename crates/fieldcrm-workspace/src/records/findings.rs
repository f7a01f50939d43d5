//! What people do about rule findings: acknowledge one (a note), waive one (a reason and
//! an end date; managers, channel managers for channel records, admins), reopen one.
//!
//! The state is written as a fresh object under `finding_states/<key>` of the document
//! the finding is about (`fieldcrm_policy::holder_of`), so it syncs and merges like any
//! other edit and its Automerge author is the person who acted; the policy
//! (`fieldcrm_policy::track`) judges it by that author, so a waiver written around this
//! door does not count.

use std::collections::BTreeMap;

use fieldcrm_model::{Authority, DocId, FINDING_STATES, FindingMark, FindingState, Millis};
use fieldcrm_policy::{Status, Tracked};

use crate::query::CheckQuery;
use crate::{Error, Msg, Result, Workspace};

/// The longest a finding's message is kept with its state, in characters.
const MESSAGE_CHARS: usize = 500;

impl Workspace {
    /// For a command whose process ends next: the findings' engine and what else the
    /// workspace keeps in memory are left for the system to take back at exit, not
    /// freed one allocation at a time (5% of a `check` at 100,000 customers). The
    /// store closes as usual. A memo shared with other handles is left alone.
    pub fn before_exit(&self) {
        if !self.shared_memo {
            self.memo.leave_to_exit();
        }
    }

    /// Every finding with its life (open, acknowledged, waived, and the resolved ones
    /// whose states remain) at `now`, narrowed by `q`, in the canonical order.
    pub fn check_tracked(&self, q: &CheckQuery, now: Millis) -> Result<Vec<Tracked>> {
        Ok(self
            .all_tracked(now)?
            .iter()
            .filter(|t| {
                q.rule.is_none_or(|r| t.finding.rule == r)
                    && q.doc.as_ref().is_none_or(|d| t.finding.doc_ids.contains(d))
            })
            .cloned()
            .collect())
    }

    /// Every finding with its life at `now` (see [`track`]); from the memo when the same
    /// findings were tracked within the last minute.
    pub fn all_tracked(&self, now: Millis) -> Result<std::sync::Arc<Vec<Tracked>>> {
        self.memo().tracked(
            self.store(),
            crate::memo::stamp(self.store()),
            Some(&self.device()),
            now,
        )
    }

    /// The finding whose key is `text` or starts with it (ASCII case forgiven). Resolved
    /// findings match only when `resolved` is set.
    pub fn find_finding(&self, text: &str, resolved: bool, now: Millis) -> Result<Tracked> {
        let wanted = text.trim();
        if wanted.is_empty() {
            return Err(Error::bad(
                "key",
                "请给出问题的键（`fieldcrm check` 的“键”一行）",
                "give the finding's key (the `key` line of `fieldcrm check`)",
            ));
        }
        let all: Vec<Tracked> = self
            .check_tracked(&CheckQuery::default(), now)?
            .into_iter()
            .filter(|t| resolved || t.status != Status::Resolved)
            .collect();
        if let Some(t) = all.iter().find(|t| t.key == wanted) {
            return Ok(t.clone());
        }
        let lower = wanted.to_ascii_lowercase();
        let mut hits: Vec<&Tracked> = all
            .iter()
            .filter(|t| t.key.to_ascii_lowercase().starts_with(&lower))
            .collect();
        hits.dedup_by(|a, b| a.key == b.key);
        match hits.as_slice() {
            [one] => Ok((*one).clone()),
            [] => Err(Error::NotFound(
                Msg::new(
                    format!("没有键为“{wanted}”的当前问题（`fieldcrm check` 列出问题和它们的键）"),
                    format!(
                        "no current finding has the key `{wanted}` (`fieldcrm check` lists findings with their keys)"
                    ),
                )
                .on("key"),
            )),
            many => {
                let keys: Vec<&str> = many.iter().take(5).map(|t| t.key.as_str()).collect();
                Err(Error::Ambiguous(
                    Msg::new(
                        format!("“{wanted}”对应多个问题：{}", keys.join("、")),
                        format!("`{wanted}` matches several findings: {}", keys.join(", ")),
                    )
                    .on("key"),
                ))
            }
        }
    }

    /// Acknowledge a current finding with a note; anyone who may write the document it
    /// is about. The finding stays open. Returns its full key.
    pub fn acknowledge_finding(&self, key: &str, note: &str, now: Millis) -> Result<String> {
        let note = required_text("note", "备注", "note", note)?;
        let t = self.find_finding(key, false, now)?;
        let me = self.me()?;
        let state = self.state_of(&t, FindingMark::Acknowledged, &me.user_id, now);
        self.write_state(
            &me,
            &t,
            FindingState {
                note: Some(note),
                ..state
            },
            "确认问题 acknowledge finding",
            now,
        )
    }

    /// Waive a current finding until `until` (after `now`, at most the workspace's
    /// `waiver_max` ahead) with a reason. Managers and admins; channel managers too for
    /// a finding kept in a channel record. Returns its full key.
    pub fn waive_finding(
        &self,
        key: &str,
        reason: &str,
        until: Millis,
        now: Millis,
    ) -> Result<String> {
        let reason = required_text("reason", "豁免理由", "reason", reason)?;
        let t = self.find_finding(key, false, now)?;
        let me = self.me()?;
        let kind = self
            .summary(&t.holder)?
            .map(|s| s.kind)
            .ok_or_else(|| Error::not_found(format!("document {}", t.holder)))?;
        me.require(Authority::waive_finding(&kind))?;
        let max = self.effective_policy()?.0.waiver_max();
        if until <= now {
            return Err(Error::bad(
                "until",
                "豁免截止日期必须在今天之后",
                "the waiver's end date must be in the future",
            ));
        }
        if until > now.saturating_add(max) {
            let days = max / fieldcrm_model::DAY_MS;
            return Err(Error::bad(
                "until",
                format!("豁免最长 {days} 天（规则配置 general.waiver_max）"),
                format!("a waiver lasts at most {days} days (rule setting general.waiver_max)"),
            ));
        }
        let state = self.state_of(&t, FindingMark::Waived, &me.user_id, now);
        self.write_state(
            &me,
            &t,
            FindingState {
                reason: Some(reason),
                until: Some(until),
                ..state
            },
            "豁免问题 waive finding",
            now,
        )
    }

    /// Remove a finding's acknowledgement or waiver (also of a resolved one), so it is
    /// open again if it fires. Removing a waiver takes the authority to waive; an
    /// acknowledgement, anyone who may write the document. Returns its full key.
    pub fn reopen_finding(&self, key: &str, now: Millis) -> Result<String> {
        let t = self.find_finding(key, true, now)?;
        if t.state.is_none() && t.ignored.is_empty() {
            return Err(Error::Invalid(
                Msg::new(
                    format!("问题 {} 没有确认或豁免，无需重新打开", t.key),
                    format!(
                        "finding {} is neither acknowledged nor waived; nothing to reopen",
                        t.key
                    ),
                )
                .on("key"),
            ));
        }
        let me = self.me()?;
        let summary = self.check_write(&me, &t.holder)?;
        let waived = t
            .state
            .iter()
            .chain(&t.ignored)
            .any(|m| m.state == FindingMark::Waived.as_str());
        if waived {
            me.require(Authority::waive_finding(&summary.kind))?;
        }
        let k = t.key.clone();
        self.edit(&t.holder, now, "重新打开问题 reopen finding", |doc| {
            doc.delete(&[FINDING_STATES, &k])?;
            Ok(())
        })?;
        Ok(t.key)
    }

    fn state_of(&self, t: &Tracked, mark: FindingMark, by: &str, now: Millis) -> FindingState {
        let f = &t.finding;
        let short = |s: &str| s.chars().take(MESSAGE_CHARS).collect::<String>();
        FindingState {
            state: mark,
            rule: f.rule.as_str().to_string(),
            severity: Some(f.severity.as_str().to_string()),
            doc_ids: f.doc_ids.iter().map(|d| d.as_str().to_string()).collect(),
            entity: f.entity.clone(),
            message_zh: Some(short(&f.message_zh)),
            message_en: Some(short(&f.message_en)),
            note: None,
            reason: None,
            until: None,
            by: by.to_string(),
            at: now,
        }
    }

    /// Write `state` as a fresh object in the finding's document, in one durable change.
    fn write_state(
        &self,
        me: &crate::Me,
        t: &Tracked,
        state: FindingState,
        message: &str,
        now: Millis,
    ) -> Result<String> {
        self.check_write(me, &t.holder)?;
        let holder: &DocId = &t.holder;
        self.edit(holder, now, message, |doc| {
            if doc.map_at(&[FINDING_STATES]).is_none() {
                // A document written before finding states existed.
                doc.put(&[FINDING_STATES], &BTreeMap::<String, FindingState>::new())?;
            }
            doc.put_new_object(&[FINDING_STATES, &t.key], &state)?;
            Ok(())
        })?;
        Ok(t.key.clone())
    }
}

/// A required free text: trimmed, not empty.
fn required_text(field: &str, zh: &str, en: &str, text: &str) -> Result<String> {
    let t = text.trim();
    if t.is_empty() {
        return Err(Error::bad(
            field,
            format!("{zh}不能为空"),
            format!("the {en} must not be empty"),
        ));
    }
    Ok(t.to_string())
}
