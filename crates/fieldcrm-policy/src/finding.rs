//! What the engine reports: findings (data, never errors).

use std::cmp::Ordering;

use fieldcrm_model::DocId;
use serde::{Deserialize, Serialize};

use crate::rule::RuleId;

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Breaks a rule.
    Violation,
    /// Needs attention.
    Warning,
}

impl Severity {
    /// `violation` or `warning`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Violation => "violation",
            Severity::Warning => "warning",
        }
    }

    /// 违规 or 警告.
    pub fn zh(self) -> &'static str {
        match self {
            Severity::Violation => "违规",
            Severity::Warning => "警告",
        }
    }
}

/// Who wrote a value: the Automerge actor (device) and, when the roster knows it, the
/// user and role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Actor {
    /// Device key (actor ID), hex.
    pub device: String,
    /// User ID, if the device is enrolled.
    pub user: Option<String>,
    /// User's display name.
    pub name: Option<String>,
    /// User's role (as it counts: a role set without authority is `None`).
    pub role: Option<String>,
}

impl Actor {
    /// Short label for messages: `张伟 (rep)` or `未知设备 1a2b3c4d`.
    pub fn label_zh(&self) -> String {
        match (&self.name, &self.role) {
            (Some(n), Some(r)) => format!("{n}（{}）", role_zh(r)),
            (Some(n), None) => format!("{n}（无有效角色）"),
            _ => format!("未登记设备 {}", fieldcrm_model::short_id(&self.device)),
        }
    }

    /// Short label for messages in English.
    pub fn label_en(&self) -> String {
        match (&self.name, &self.role) {
            (Some(n), Some(r)) => format!("{n} ({r})"),
            (Some(n), None) => format!("{n} (no valid role)"),
            _ => format!(
                "unenrolled device {}",
                fieldcrm_model::short_id(&self.device)
            ),
        }
    }

    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "device": self.device,
            "user": self.user,
            "name": self.name,
            "role": self.role,
        })
    }
}

pub(crate) fn role_zh(role: &str) -> &str {
    match role {
        "rep" => "销售代表",
        "manager" => "销售经理",
        "channel-manager" => "渠道经理",
        "legal" => "法务",
        "admin" => "管理员",
        other => other,
    }
}

/// One rule finding about one or more documents.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// Rule ID.
    pub rule: RuleId,
    /// Violation or warning.
    pub severity: Severity,
    /// The documents it is about (sorted; two or more for cross-document rules).
    pub doc_ids: Vec<DocId>,
    /// The entity inside the document, as `collection/entity-id` (e.g.
    /// `complaints/3f2a…`), or a field path (`class`, `status`); `None` for the whole
    /// document.
    pub entity: Option<String>,
    /// Message in Chinese.
    pub message_zh: String,
    /// Message in English.
    pub message_en: String,
    /// The seed clause the rule comes from.
    pub clause: &'static str,
    /// The facts the rule used (dates as UTC ms and `YYYY-MM-DD`, amounts in fen, who
    /// set what), with stable field names.
    pub facts: serde_json::Value,
}

/// A finding as it is written ([`Finding`]'s fields, the clause read and not kept: the
/// rule's own clause is taken instead, so a finding read back names its rule's clause).
#[derive(Deserialize)]
struct FindingData {
    rule: RuleId,
    severity: Severity,
    doc_ids: Vec<DocId>,
    entity: Option<String>,
    message_zh: String,
    message_en: String,
    #[serde(default)]
    #[allow(dead_code)]
    clause: serde::de::IgnoredAny,
    facts: serde_json::Value,
}

impl<'de> Deserialize<'de> for Finding {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let f = FindingData::deserialize(d)?;
        Ok(Finding::new(
            f.rule,
            f.severity,
            f.doc_ids,
            f.entity,
            f.message_zh,
            f.message_en,
            f.facts,
        ))
    }
}

impl Finding {
    /// A finding of `rule`; `clause` is filled from the catalog.
    pub(crate) fn new(
        rule: RuleId,
        severity: Severity,
        doc_ids: Vec<DocId>,
        entity: Option<String>,
        message_zh: String,
        message_en: String,
        facts: serde_json::Value,
    ) -> Self {
        Finding {
            rule,
            severity,
            doc_ids,
            entity,
            message_zh,
            message_en,
            clause: rule.clause(),
            facts,
        }
    }

    /// The finding's stable key, what its acknowledgement or waiver is stored under:
    /// `RULE:doc-id[+doc-id…]` and, when it is about an entity, `:entity` with `/` written
    /// as `.` (`COMPLAINT-RESPONSE:3f2a…:complaints.ab12…`). The same finding has the same
    /// key on every device and at every time; it holds no `/`, so it is one map key.
    pub fn key(&self) -> String {
        let docs: Vec<&str> = self.doc_ids.iter().map(DocId::as_str).collect();
        let mut key = format!("{}:{}", self.rule.as_str(), docs.join("+"));
        if let Some(e) = &self.entity {
            key.push(':');
            key.extend(e.chars().map(|c| if c == '/' { '.' } else { c }));
        }
        key
    }

    /// The deterministic order of findings: rule (catalog order), documents, entity,
    /// then message and facts as tie-breakers.
    pub fn canonical_cmp(&self, other: &Finding) -> Ordering {
        self.rule
            .index()
            .cmp(&other.rule.index())
            .then_with(|| self.doc_ids.cmp(&other.doc_ids))
            .then_with(|| self.entity.cmp(&other.entity))
            .then_with(|| self.severity.cmp(&other.severity))
            .then_with(|| self.message_en.cmp(&other.message_en))
            .then_with(|| self.facts.to_string().cmp(&other.facts.to_string()))
    }
}

/// Sort findings into the canonical order (see [`Finding::canonical_cmp`]).
pub fn sort_findings(findings: &mut [Finding]) {
    findings.sort_unstable_by(Finding::canonical_cmp);
}
