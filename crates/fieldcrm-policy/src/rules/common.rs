//! Rules that apply to every kind of document: CUST-CONCURRENT-EDIT, DATA-SCOPE and the
//! DATA-AUTHORITY finding shape.

use fieldcrm_model::{Authority, Body, Snapshot, Summary};
use serde_json::json;

use super::Eval;
use crate::ctx::{Auth, Ctx};
use crate::finding::{Actor, Finding, Severity};
use crate::rule::RuleId;

/// A short display of a JSON value (strings as themselves, objects abbreviated).
pub(crate) fn show(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Object(m) => {
            // Approvals and reviews: show who they claim and the result, if any.
            let mut parts = Vec::new();
            for k in ["result", "level", "by", "to", "region", "product_line"] {
                if let Some(x) = m.get(k) {
                    parts.push(format!("{k}={}", show(x)));
                }
            }
            if parts.is_empty() {
                let s = v.to_string();
                s.chars().take(60).collect()
            } else {
                format!("{{{}}}", parts.join(", "))
            }
        }
        other => other.to_string(),
    }
}

/// A deciding field's name in Chinese, e.g. `quotes/q1/approval` → `报价 q1 的折扣审批`.
pub(crate) fn field_zh(path: &str) -> String {
    let segs: Vec<&str> = path.split('/').collect();
    let short = |id: &str| fieldcrm_model::short_id(id).to_string();
    match segs.as_slice() {
        ["owner"] => "负责人".into(),
        ["class"] => "客户分类".into(),
        ["class_exception"] => "分类例外审批".into(),
        ["team"] => "所属团队".into(),
        ["merged_into"] => "合并去向".into(),
        ["status"] => "渠道状态".into(),
        ["qualification"] => "资质审核".into(),
        ["risk"] => "风险评估".into(),
        ["agreement"] => "合作协议".into(),
        ["quotes", id, "approval"] => format!("报价 {} 的折扣审批", short(id)),
        ["orders", id, "approval"] => format!("订单 {} 的折扣审批", short(id)),
        ["gifts", id, "approval"] => format!("礼品/招待 {} 的审批", short(id)),
        ["contracts", id, "legal_review"] => format!("合同 {} 的法务审核", short(id)),
        ["complaints", id, "escalation"] => format!("投诉 {} 的上报", short(id)),
        ["territories", id] => format!("独家区域 {}", short(id)),
        ["products", sku] => format!("产品 {sku} 的价格政策"),
        ["discount_allowance_bp", role] => format!("{}的折扣权限", crate::finding::role_zh(role)),
        ["rules", rule] => format!("规则 {rule} 的配置"),
        ["users", u, "role"] => format!("用户 {u} 的角色"),
        ["users", u, "team"] => format!("用户 {u} 的团队"),
        ["devices", d] => format!("设备 {} 的登记", short(d)),
        ["targets", t] => format!("销售目标 {}", short(t)),
        _ => path.to_string(),
    }
}

/// CUST-CONCURRENT-EDIT: every deciding field holding more than one value.
pub(crate) fn concurrent_edits(ctx: &Ctx, snap: &Snapshot, out: &mut Vec<Finding>) {
    let Some(sev) = ctx.cfg.severity(RuleId::CustConcurrentEdit) else {
        return;
    };
    for (path, state) in &snap.fields {
        // Concurrent finding states are decided by `lifecycle::track`, and concurrent
        // claims (Sales `claims/…`) are judged by the 撞单 notice and written again by the
        // owner's device: neither is a decision for anyone to resolve.
        if state.values.len() < 2 || fieldcrm_model::fields::settled_by_rules(path) {
            continue;
        }
        let actors: Vec<Actor> = state
            .values
            .iter()
            .map(|s| ctx.auth.actor(&s.actor))
            .collect();
        let zh_list: Vec<String> = state
            .values
            .iter()
            .zip(&actors)
            .map(|(s, a)| format!("「{}」由{}设置", show(&s.value), a.label_zh()))
            .collect();
        let en_list: Vec<String> = state
            .values
            .iter()
            .zip(&actors)
            .map(|(s, a)| format!("`{}` set by {}", show(&s.value), a.label_en()))
            .collect();
        let values: Vec<serde_json::Value> = state
            .values
            .iter()
            .zip(&actors)
            .map(|(s, a)| json!({ "value": s.value, "set_by": a.json() }))
            .collect();
        out.push(Finding::new(
            RuleId::CustConcurrentEdit,
            sev,
            vec![snap.id.clone()],
            Some(path.clone()),
            format!(
                "{}的{}在离线期间被并发修改，存在{}个值，需要有权限的人员确认：{}。",
                doc_label_zh(snap),
                field_zh(path),
                state.values.len(),
                zh_list.join("；")
            ),
            format!(
                "{}: `{path}` was changed concurrently offline and holds {} values; someone with authority must decide: {}.",
                doc_label_en(snap),
                state.values.len(),
                en_list.join("; ")
            ),
            json!({ "field": path, "values": values }),
        ));
    }
}

/// A document's name for messages.
pub(crate) fn doc_label_zh(snap: &Snapshot) -> String {
    match &snap.body {
        Body::Customer(c) => format!("客户「{}」", c.name),
        Body::Channel(c) => format!("渠道「{}」", c.name),
        Body::Roster(_) => "花名册".into(),
        Body::Catalog(_) => "产品目录".into(),
        Body::Policy(_) => "规则配置".into(),
        Body::Sales(_) => "销售目标与报告".into(),
    }
}

/// A document's name for English messages.
pub(crate) fn doc_label_en(snap: &Snapshot) -> String {
    match &snap.body {
        Body::Customer(c) => format!("Customer {}", c.name),
        Body::Channel(c) => format!("Channel {}", c.name),
        Body::Roster(_) => "Roster".into(),
        Body::Catalog(_) => "Catalog".into(),
        Body::Policy(_) => "Policy settings".into(),
        Body::Sales(_) => "Sales targets and reports".into(),
    }
}

/// DATA-AUTHORITY: a reserved field whose value was set without the authority.
pub(crate) fn authority(e: &mut Eval<'_>, path: &str, auth: &Auth, authority: Authority) {
    let Auth::Denied(actor) = auth else {
        return;
    };
    let Some(sev) = e.sev(RuleId::DataAuthority) else {
        return;
    };
    let f = authority_finding(sev, e.snap, path, actor, authority);
    e.out.push(f);
}

/// The DATA-AUTHORITY finding for `path` of `snap`, set by `actor` without `authority`;
/// the message names the roles that hold it.
pub(crate) fn authority_finding(
    sev: Severity,
    snap: &Snapshot,
    path: &str,
    actor: &Actor,
    authority: Authority,
) -> Finding {
    let (zh, en) = (doc_label_zh(snap), doc_label_en(snap));
    let (need_zh, need_en) = (authority.needs_zh(), authority.needs_en());
    let roles: Vec<&str> = authority.roles().iter().map(|r| r.as_str()).collect();
    Finding::new(
        RuleId::DataAuthority,
        sev,
        vec![snap.id.clone()],
        Some(path.to_string()),
        format!(
            "{zh}的{}由{}设置，但只有{need_zh}有权{}；该值不予采信。",
            field_zh(path),
            actor.label_zh(),
            authority.action_zh()
        ),
        format!(
            "{en}: `{path}` was set by {}, but only {need_en} may {}; the value does not count.",
            actor.label_en(),
            authority.action_en()
        ),
        json!({
            "field": path,
            "set_by": actor.json(),
            "authority": authority.as_str(),
            "required_roles": roles,
        }),
    )
}

/// The summary row of a customer or channel snapshot (what read scope is decided on).
pub(crate) fn summary(snap: &Snapshot) -> Option<Summary> {
    matches!(snap.body, Body::Customer(_) | Body::Channel(_)).then(|| snap.summary())
}

/// DATA-SCOPE: the checked device's user may read this document.
pub(crate) fn data_scope(e: &mut Eval<'_>) {
    let Some(holder) = &e.ctx.holder else {
        return;
    };
    if e.sev(RuleId::DataScope).is_none() {
        return;
    }
    let Some(summary) = summary(e.snap) else {
        return;
    };
    let actor = e.ctx.auth.actor(&holder.device);
    let allowed = actor
        .user
        .as_deref()
        .is_some_and(|u| fieldcrm_model::access::can_read(&e.ctx.auth.effective, u, &summary));
    if allowed {
        return;
    }
    let (zh, en) = (doc_label_zh(e.snap), doc_label_en(e.snap));
    e.emit(
        RuleId::DataScope,
        None,
        format!(
            "本设备属于{}，无权查看{zh}，却持有该档案；应删除并检查同步来源。",
            actor.label_zh()
        ),
        format!(
            "This device belongs to {}, who may not read {en}, yet holds it; delete it and check where it was synced from.",
            actor.label_en()
        ),
        json!({
            "holder": actor.json(),
            "owner": summary.owner,
            "team": summary.team,
            "region": summary.region,
        }),
    );
}
