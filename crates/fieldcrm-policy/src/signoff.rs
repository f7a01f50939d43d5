//! Sign-offs bound to what they approved: the policy side of
//! [`fieldcrm_model::signoff`].
//!
//! A sign-off set by someone with the authority still does not count when a value it
//! covers changed afterwards (or when it does not record what it approved): it is
//! *void*, and the finding says what was approved, what it is now, who changed it, and
//! that it needs approval again.

use std::collections::BTreeMap;

use fieldcrm_model::money::format_yuan;
use fieldcrm_model::signoff::changed_since;
use fieldcrm_model::{Authority, Snapshot};
use serde_json::json;

use crate::ctx::{Auth, Ctx};
use crate::finding::Actor;

/// A covered value that changed since the sign-off, and who set the value it has now.
#[derive(Debug, Clone)]
pub(crate) struct ChangedBy {
    pub field: &'static str,
    /// Canonical JSON text of the approved value; `None` when the sign-off does not
    /// record it.
    pub approved: Option<String>,
    pub now: String,
    pub by: Option<Actor>,
}

impl Ctx {
    /// Bind a sign-off's standing to the values it covers: `auth` is who set it (from
    /// [`Ctx::check_present`]), `entity` the path of the entity it sits on (`quotes/ID`,
    /// or empty for the document itself), `covers` what it recorded, `field` the entity's
    /// current values. A sign-off that counts but whose covered values changed becomes
    /// [`Auth::Void`].
    pub(crate) fn bound(
        &self,
        snap: &Snapshot,
        auth: Auth,
        (authority, entity): (Authority, &str),
        covers: &BTreeMap<String, String>,
        field: impl Fn(&str) -> serde_json::Value,
    ) -> Auth {
        let Auth::Ok(actor) = auth else {
            return auth;
        };
        let mask = self.cfg.params.covers_mask(authority);
        let fields = fieldcrm_model::signoff::covered_fields(authority);
        let changed: Vec<_> = changed_since(authority, covers, field)
            .into_iter()
            .filter(|c| {
                fields
                    .iter()
                    .position(|f| *f == c.field)
                    .is_some_and(|i| mask & (1 << i) != 0)
            })
            .collect();
        if changed.is_empty() {
            return Auth::Ok(actor);
        }
        let changed = changed
            .into_iter()
            .map(|c| {
                let path = if entity.is_empty() {
                    c.field.to_string()
                } else {
                    format!("{entity}/{}", c.field)
                };
                let by = snap
                    .fields
                    .get(&path)
                    .and_then(|f| f.values.first())
                    .map(|s| self.auth.actor(&s.actor));
                ChangedBy {
                    field: c.field,
                    approved: c.approved,
                    now: c.now,
                    by,
                }
            })
            .collect();
        Auth::Void(actor, changed)
    }
}

/// The field's name in Chinese.
pub(crate) fn field_zh(field: &str) -> &str {
    match field {
        "product" => "产品",
        "quantity" => "数量",
        "list_price" => "目录价",
        "price" => "单价",
        "kind" => "类型",
        "direction" => "方向",
        "description" => "说明",
        "value" => "价值",
        "title" => "标题",
        "amount" => "金额",
        "class" => "分类",
        "name" => "名称",
        "channel_kind" => "渠道类型",
        other => other,
    }
}

/// A covered value as a person reads it: amounts in yuan, text bare.
fn show(field: &str, json_text: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(json_text).unwrap_or(serde_json::Value::Null);
    match (field, &v) {
        ("list_price" | "price" | "value" | "amount", serde_json::Value::Number(n)) => {
            n.as_i64().map_or_else(|| n.to_string(), format_yuan)
        }
        (_, serde_json::Value::String(s)) => s.clone(),
        (_, serde_json::Value::Null) => "—".into(),
        _ => v.to_string(),
    }
}

/// Why a void sign-off does not count, in Chinese and English: "批准时单价为850.00元，现为
/// 760.00元（张伟（销售代表）修改）；需重新审批".
pub(crate) fn void_text(approver: &Actor, changed: &[ChangedBy]) -> (String, String) {
    if changed.iter().all(|c| c.approved.is_none()) {
        return (
            format!(
                "{}的审批未记录其批准的数值，已失效，需重新审批",
                approver.label_zh()
            ),
            format!(
                "the approval by {} does not record what it approved, so it is void and needs approval again",
                approver.label_en()
            ),
        );
    }
    let zh: Vec<String> = changed
        .iter()
        .map(|c| {
            let by =
                c.by.as_ref()
                    .map_or_else(String::new, |a| format!("（{}修改）", a.label_zh()));
            format!(
                "{}由{}改为{}{by}",
                field_zh(c.field),
                c.approved
                    .as_deref()
                    .map_or_else(|| "—".into(), |a| show(c.field, a)),
                show(c.field, &c.now)
            )
        })
        .collect();
    let en: Vec<String> = changed
        .iter()
        .map(|c| {
            let by =
                c.by.as_ref()
                    .map_or_else(String::new, |a| format!(" (changed by {})", a.label_en()));
            format!(
                "{} went from {} to {}{by}",
                c.field,
                c.approved
                    .as_deref()
                    .map_or_else(|| "—".into(), |a| show(c.field, a)),
                show(c.field, &c.now)
            )
        })
        .collect();
    (
        format!(
            "{}的审批已失效：批准后{}，需重新审批",
            approver.label_zh(),
            zh.join("，")
        ),
        format!(
            "the approval by {} is void: since it was given, {}; it needs approval again",
            approver.label_en(),
            en.join(", ")
        ),
    )
}

/// The facts of a void sign-off (`null` when it is not void).
pub(crate) fn void_json(auth: &Auth) -> serde_json::Value {
    match auth {
        Auth::Void(_, changed) => serde_json::Value::Array(
            changed
                .iter()
                .map(|c| {
                    json!({
                        "field": c.field,
                        "approved": c.approved.as_deref().and_then(|a| serde_json::from_str::<serde_json::Value>(a).ok()),
                        "now": serde_json::from_str::<serde_json::Value>(&c.now).ok(),
                        "changed_by": c.by.as_ref().map(Actor::json),
                    })
                })
                .collect(),
        ),
        _ => serde_json::Value::Null,
    }
}
