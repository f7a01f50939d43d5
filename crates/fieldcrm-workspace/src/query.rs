//! Queries every front end asks the same way: who am I, list rows, rule findings, rule
//! settings. Plain data out; the CLI prints it, the web app renders it.

use fieldcrm_model::{DocId, Millis, PolicySettings, Role, Roster, RuleSetting, Summary};
use fieldcrm_policy::{Config, Finding, RuleId};
use serde::Serialize;

use crate::{Error, Result, Workspace};

/// `whoami`: this device, its workspace and (when enrolled) its user.
#[derive(Debug, Serialize)]
pub struct WhoAmI {
    /// Workspace ID.
    pub workspace_id: String,
    /// Company name, once the roster has arrived.
    pub workspace_name: Option<String>,
    /// This device's key (hex).
    pub device: String,
    /// The user's ID, when enrolled.
    pub user_id: Option<String>,
    /// The user's name.
    pub user: Option<String>,
    /// The user's role.
    pub role: Option<String>,
    /// The user's team.
    pub team: Option<String>,
    /// The workspace home directory.
    pub home: std::path::PathBuf,
    /// Why there is no user (not enrolled, revoked, no roster yet), English.
    #[serde(skip)]
    pub not_enrolled: Option<crate::Error>,
}

/// One row of `list --json`: the summary index, with the owner's name.
#[derive(Debug, Clone, Serialize)]
pub struct ListRow {
    /// Full document ID.
    pub id: DocId,
    /// `customer` or `channel`.
    pub kind: String,
    /// Name.
    pub name: String,
    /// Customer class, or the channel kind.
    pub class: Option<String>,
    /// Owning user ID.
    pub owner: Option<String>,
    /// Owning user's name.
    pub owner_name: Option<String>,
    /// Team.
    pub team: Option<String>,
    /// Channel status.
    pub status: Option<String>,
    /// Region.
    pub region: Option<String>,
    /// Survivor's ID if merged away.
    pub merged_into: Option<String>,
    /// Latest change, UTC ms.
    pub updated_at: Millis,
}

impl ListRow {
    /// A row from the summary index.
    pub fn new(id: &DocId, s: &Summary, roster: &Roster) -> ListRow {
        ListRow {
            id: id.clone(),
            kind: s.kind.to_string(),
            name: s.name.clone(),
            class: s.class.clone(),
            owner: s.owner.clone(),
            owner_name: s
                .owner
                .as_ref()
                .and_then(|o| roster.users.get(o))
                .map(|u| u.name.clone()),
            team: s.team.clone(),
            status: s.status.clone(),
            region: s.region.clone(),
            merged_into: s.merged_into.clone(),
            updated_at: s.updated_at,
        }
    }
}

/// What `check` looks at: every rule and document unless narrowed.
#[derive(Debug, Clone, Default)]
pub struct CheckQuery {
    /// Only this rule.
    pub rule: Option<RuleId>,
    /// Only findings about this document.
    pub doc: Option<DocId>,
}

/// Parse a rule ID (`CUST-DUPLICATE`, case and `_` forgiven).
pub fn parse_rule(text: &str) -> Result<RuleId> {
    text.parse::<RuleId>().map_err(|e| {
        Error::bad(
            "rule",
            format!("未知的规则“{text}”（`fieldcrm policy show` 列出全部规则）"),
            e.to_string(),
        )
    })
}

/// The size of this device's store (`fieldcrm doc stats`): the file and each table.
#[derive(Debug, Clone, Serialize)]
pub struct StorageSizes {
    /// Bytes of the store file on disk.
    pub file_bytes: u64,
    /// Each table (documents, changes, index, snapshot cache, ...).
    pub tables: Vec<fieldcrm_store::TableSize>,
    /// Bytes of the rules' state kept beside the store for the next `check` (0: none).
    pub engine_state_bytes: u64,
}

impl Workspace {
    /// The size of the store file and of each of its tables.
    pub fn storage_sizes(&self) -> Result<StorageSizes> {
        let store = self.store();
        let tables = store
            .table_sizes()
            .map_err(|e| Error::Store(fieldcrm_store::Error::List(e)))?;
        let file_bytes = std::fs::metadata(store.path()).map_or(0, |m| m.len());
        Ok(StorageSizes {
            file_bytes,
            tables,
            engine_state_bytes: crate::lean::state_size(store),
        })
    }

    /// This device and its user.
    pub fn whoami(&self) -> WhoAmI {
        let roster = self.roster().ok();
        let me = self.me();
        let (user_id, user, not_enrolled) = match me {
            Ok(m) => (Some(m.user_id), Some(m.user), None),
            Err(e) => (None, None, Some(e)),
        };
        WhoAmI {
            workspace_id: self.workspace_id().to_string(),
            workspace_name: roster.map(|r| r.workspace_name.clone()),
            device: self.device().to_hex(),
            user_id,
            role: user.as_ref().map(|u| u.role.as_str().to_string()),
            team: user.as_ref().and_then(|u| u.team.clone()),
            user: user.map(|u| u.name),
            home: self.home().to_path_buf(),
            not_enrolled,
        }
    }

    /// The company rules on everything this device holds, as merged from every device
    /// it has synced with, at `now`: the open findings (open or only acknowledged;
    /// waived and resolved ones are left out, [`Workspace::check_tracked`] has them all).
    pub fn check(&self, q: &CheckQuery, now: Millis) -> Result<Vec<Finding>> {
        Ok(self
            .all_tracked(now)?
            .iter()
            .filter(|t| {
                t.status.is_open()
                    && q.rule.is_none_or(|r| t.finding.rule == r)
                    && q.doc.as_ref().is_none_or(|d| t.finding.doc_ids.contains(d))
            })
            .map(|t| t.finding.clone())
            .collect())
    }

    /// The effective rule configuration (defaults plus the synced overrides), with the
    /// overrides that were ignored and why.
    pub fn effective_policy(&self) -> Result<(Config, Vec<String>)> {
        let settings: PolicySettings = self.policy_settings()?;
        let (config, errors) = Config::default().with_overrides_lenient(&settings);
        Ok((config, errors.iter().map(|e| e.to_string()).collect()))
    }

    /// Change one rule's severity and/or parameters (`NAME=VALUE`), validated against the
    /// rule's definition before anything is written. Managers and admins.
    pub fn set_rule_text(
        &self,
        rule: &str,
        severity: Option<&str>,
        params: &[String],
        now: Millis,
    ) -> Result<RuleId> {
        let rule_id = parse_rule(rule)?;
        let settings = self.policy_settings()?;
        let mut setting: RuleSetting = settings
            .rules
            .get(rule_id.as_str())
            .cloned()
            .unwrap_or_default();
        if let Some(s) = severity {
            setting.severity = Some(s.trim().to_string());
        }
        for p in params {
            let (k, v) = p.split_once('=').ok_or_else(|| {
                Error::bad(
                    "param",
                    format!("“{p}”不是 名称=值 的形式"),
                    format!("`{p}` is not NAME=VALUE"),
                )
            })?;
            setting
                .params
                .insert(k.trim().to_string(), v.trim().to_string());
        }
        let mut trial = settings.clone();
        trial
            .rules
            .insert(rule_id.as_str().to_string(), setting.clone());
        Config::default().with_overrides(&trial).map_err(|e| {
            Error::bad(
                "param",
                format!("规则设置无效：{e}"),
                format!("invalid rule setting: {e}"),
            )
        })?;
        self.set_rule(rule_id.as_str(), setting, now)?;
        Ok(rule_id)
    }

    /// Whether a discount of `bp` basis points needs a manager's approval for the acting
    /// user: `Some(allowance_bp)` when it exceeds their allowance.
    pub fn discount_needs_approval(&self, bp: i64) -> Result<Option<i64>> {
        if bp <= 0 {
            return Ok(None);
        }
        let me = self.me()?;
        let allowed = self.allowance_bp(&me.user.role)?;
        Ok((bp > allowed).then_some(allowed))
    }

    /// The acting user's role, if enrolled.
    pub fn my_role(&self) -> Option<Role> {
        self.me().ok().map(|m| m.user.role)
    }
}
