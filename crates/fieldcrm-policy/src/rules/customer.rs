//! Rules on one customer file: class, profile, contact cadence, complaints, sales
//! process, discounts, gifts, and the role-reserved fields of the file.

use fieldcrm_model::money::format_yuan;
use fieldcrm_model::{
    Approval, Customer, CustomerClass, Fen, InteractionKind, Millis, ReviewResult, Role,
    Severity as ComplaintSeverity,
};
use serde_json::json;

use super::Eval;
use super::common::authority;
use crate::config::fmt_bp;
use crate::ctx::Auth;
use crate::normalize;
use crate::rule::RuleId as R;

/// A key identifying the company behind a customer file (normalised).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum DupKey {
    /// 统一社会信用代码.
    CreditCode(String),
    /// Normalised company name.
    Name(String),
    /// Contact phone (digits).
    Phone(String),
    /// Contact email.
    Email(String),
}

impl DupKey {
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            DupKey::CreditCode(_) => "credit_code",
            DupKey::Name(_) => "name",
            DupKey::Phone(_) => "phone",
            DupKey::Email(_) => "email",
        }
    }

    pub(crate) fn kind_zh(&self) -> &'static str {
        match self {
            DupKey::CreditCode(_) => "统一社会信用代码",
            DupKey::Name(_) => "公司名称",
            DupKey::Phone(_) => "联系电话",
            DupKey::Email(_) => "电子邮箱",
        }
    }

    pub(crate) fn value(&self) -> &str {
        match self {
            DupKey::CreditCode(s) | DupKey::Name(s) | DupKey::Phone(s) | DupKey::Email(s) => s,
        }
    }
}

/// An order sold through a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OrderRef {
    pub id: String,
    pub channel: String,
    pub product: String,
    pub ordered_at: Millis,
}

/// What the cross-document rules need from a customer file.
#[derive(Debug, Clone, Default)]
pub(crate) struct CustomerExtract {
    pub name: String,
    /// Sorted, deduplicated.
    pub keys: Vec<DupKey>,
    pub orders: Vec<OrderRef>,
}

fn name_of(c: &Customer) -> &str {
    if c.name.trim().is_empty() {
        "（未命名）"
    } else {
        &c.name
    }
}

fn blank(s: &Option<String>) -> bool {
    s.as_deref().is_none_or(|s| s.trim().is_empty())
}

const MANAGER: &[Role] = &[Role::Manager];
const MANAGER_OR_ADMIN: &[Role] = &[Role::Manager, Role::Admin];
const LEGAL: &[Role] = &[Role::Legal];

/// Run every per-document customer rule; returns the cross-document extract.
pub(crate) fn check(e: &mut Eval<'_>, c: &Customer) -> CustomerExtract {
    let n = name_of(c).to_string();
    class_rules(e, c, &n);
    profile(e, c, &n);
    cadence(e, c, &n);
    complaints(e, c, &n);
    sales(e, c, &n);
    discounts(e, c, &n);
    gifts(e, c, &n);
    reserved_fields(e, c);
    extract(c)
}

fn extract(c: &Customer) -> CustomerExtract {
    let mut keys = Vec::new();
    if let Some(k) = c.credit_code.as_deref().and_then(normalize::credit_code) {
        keys.push(DupKey::CreditCode(k));
    }
    if let Some(k) = normalize::company_name(&c.name) {
        keys.push(DupKey::Name(k));
    }
    for ct in c.contacts.values() {
        if let Some(p) = ct.phone.as_deref().and_then(normalize::phone) {
            keys.push(DupKey::Phone(p));
        }
        if let Some(m) = ct.email.as_deref().and_then(normalize::email) {
            keys.push(DupKey::Email(m));
        }
    }
    keys.sort();
    keys.dedup();
    let orders = c
        .orders
        .iter()
        .filter_map(|(id, o)| {
            let ch = o.channel.as_deref()?.trim();
            (!ch.is_empty()).then(|| OrderRef {
                id: id.clone(),
                channel: ch.to_string(),
                product: o.product.clone(),
                ordered_at: o.ordered_at,
            })
        })
        .collect();
    CustomerExtract {
        name: c.name.clone(),
        keys,
        orders,
    }
}

fn class_zh(c: &CustomerClass) -> &str {
    match c {
        CustomerClass::Key => "重要客户",
        CustomerClass::General => "一般客户",
        CustomerClass::Potential => "潜在客户",
        CustomerClass::Unknown(s) => s,
    }
}

fn class_rules(e: &mut Eval<'_>, c: &Customer, n: &str) {
    let Some(class) = &c.class else {
        e.emit(
            R::CustClassMissing,
            Some("class".into()),
            format!("客户「{n}」尚未分类（重要客户、一般客户或潜在客户）。"),
            format!("Customer {n} has no class (key, general or potential)."),
            json!({ "class": null }),
        );
        return;
    };
    if e.sev(R::CustClassCriteria).is_none() {
        return;
    }
    let threshold = e.ctx.cfg.params.key_min_annual_value;
    let value = c.annual_value;
    let v = value.unwrap_or(0);
    let (zh, en) = match class {
        CustomerClass::Key if v < threshold => (
            format!(
                "客户「{n}」被列为重要客户，但年度业务额{}元低于重要客户标准{}元",
                value.map_or("未填写".into(), format_yuan),
                format_yuan(threshold)
            ),
            format!(
                "Customer {n} is classed as key, but its annual value {} is below the key threshold {} yuan",
                value.map_or("(not recorded)".into(), |v| format!(
                    "{} yuan",
                    format_yuan(v)
                )),
                format_yuan(threshold)
            ),
        ),
        CustomerClass::General | CustomerClass::Potential if v >= threshold => (
            format!(
                "客户「{n}」年度业务额{}元已达到重要客户标准{}元，但被列为{}",
                format_yuan(v),
                format_yuan(threshold),
                class_zh(class)
            ),
            format!(
                "Customer {n} has an annual value of {} yuan, at least the key threshold {} yuan, but is classed as {class}",
                format_yuan(v),
                format_yuan(threshold)
            ),
        ),
        _ => return,
    };
    let exception = match &c.class_exception {
        Some(_) => e.ctx.check_present(e.snap, "class_exception", MANAGER),
        None => Auth::Absent,
    };
    if exception.ok() {
        return;
    }
    let (zh_tail, en_tail) = match &exception {
        Auth::Denied(a) => (
            format!("；例外审批由{}设置，不予采信。", a.label_zh()),
            format!(
                "; the exception approval was set by {} and does not count.",
                a.label_en()
            ),
        ),
        _ => (
            "，且没有销售经理批准的例外。".to_string(),
            ", and no manager approved an exception.".to_string(),
        ),
    };
    e.emit(
        R::CustClassCriteria,
        Some("class".into()),
        format!("{zh}{zh_tail}"),
        format!("{en}{en_tail}"),
        json!({
            "class": class.as_str(),
            "annual_value": value,
            "key_min_annual_value": threshold,
            "exception_set_by": exception.json(),
        }),
    );
}

fn profile(e: &mut Eval<'_>, c: &Customer, n: &str) {
    if e.sev(R::CustProfileComplete).is_none() {
        return;
    }
    let mut missing: Vec<(&str, &str)> = Vec::new();
    if c.name.trim().is_empty() {
        missing.push(("name", "名称"));
    }
    if blank(&c.industry) {
        missing.push(("industry", "行业"));
    }
    if blank(&c.region) {
        missing.push(("region", "区域"));
    }
    if blank(&c.owner) {
        missing.push(("owner", "负责人"));
    }
    let reachable = c
        .contacts
        .values()
        .any(|ct| !blank(&ct.phone) || !blank(&ct.email));
    if !reachable {
        missing.push(("contact", "有电话或邮箱的联系人"));
    }
    if c.class == Some(CustomerClass::Key) && blank(&c.address) {
        missing.push(("address", "地址（重要客户必填）"));
    }
    if missing.is_empty() {
        return;
    }
    let zh: Vec<&str> = missing.iter().map(|m| m.1).collect();
    let en: Vec<&str> = missing.iter().map(|m| m.0).collect();
    e.emit(
        R::CustProfileComplete,
        None,
        format!("客户「{n}」档案不完整，缺少：{}。", zh.join("、")),
        format!(
            "Customer {n}'s profile is incomplete; missing: {}.",
            en.join(", ")
        ),
        json!({ "missing": en }),
    );
}

fn cadence(e: &mut Eval<'_>, c: &Customer, n: &str) {
    let p = &e.ctx.cfg.params;
    let (interval, sev) = match &c.class {
        Some(CustomerClass::Key) => (p.cadence_key, p.cadence_key_severity),
        Some(CustomerClass::General) => (p.cadence_general, None),
        Some(CustomerClass::Potential) => (p.cadence_potential, None),
        _ => (None, None),
    };
    let key_visit = p.key_visit;
    let survey_interval = p.survey_interval;
    let low_score = p.low_score;
    let followup = p.followup;
    let is_key = c.class == Some(CustomerClass::Key);
    let class = c.class.as_ref().map(|k| k.as_str().to_string());

    // Interactions that have happened by now (a future-dated record counts once its
    // date has passed).
    let mut last_any: Option<Millis> = None;
    let mut last_visit: Option<Millis> = None;
    for i in c.interactions.values() {
        if !e.reached(i.occurred_at) {
            continue;
        }
        last_any = last_any.max(Some(i.occurred_at));
        if i.kind == InteractionKind::Visit {
            last_visit = last_visit.max(Some(i.occurred_at));
        }
    }

    if let (Some(interval), Some(rule_sev)) = (interval, e.sev(R::CustContactCadence)) {
        let base = last_any.unwrap_or(c.created_at);
        if e.overdue(base, interval) {
            let due = base.saturating_add(interval);
            let sev = sev.unwrap_or(rule_sev);
            let (lz, le) = match last_any {
                Some(t) => (
                    format!("最近一次联系是{}", e.date(t)),
                    format!("last contact was on {}", e.date(t)),
                ),
                None => (
                    "从未记录联系".to_string(),
                    "no contact has been recorded".to_string(),
                ),
            };
            e.emit_sev(
                R::CustContactCadence,
                sev,
                None,
                format!(
                    "客户「{n}」（{}）应每{}天至少联系一次，{lz}，已于{}逾期。",
                    c.class.as_ref().map_or("", class_zh),
                    interval / fieldcrm_model::DAY_MS,
                    e.date(due)
                ),
                format!(
                    "Customer {n} ({}) must be contacted every {} days; {le}, overdue since {}.",
                    class.as_deref().unwrap_or(""),
                    interval / fieldcrm_model::DAY_MS,
                    e.date(due)
                ),
                json!({
                    "class": class,
                    "interval_ms": interval,
                    "last_interaction_at": last_any,
                    "baseline_at": base,
                    "due_at": due,
                    "due_date": e.date(due),
                }),
            );
        }
    }

    if is_key && e.sev(R::CustKeyVisit).is_some() {
        let base = last_visit.unwrap_or(c.created_at);
        if e.overdue(base, key_visit) {
            let due = base.saturating_add(key_visit);
            let (lz, le) = match last_visit {
                Some(t) => (
                    format!("最近一次拜访是{}", e.date(t)),
                    format!("the last visit was on {}", e.date(t)),
                ),
                None => (
                    "从未拜访".to_string(),
                    "it has never been visited".to_string(),
                ),
            };
            e.emit(
                R::CustKeyVisit,
                None,
                format!(
                    "重要客户「{n}」应每{}天至少上门拜访一次，{lz}，已于{}逾期。",
                    key_visit / fieldcrm_model::DAY_MS,
                    e.date(due)
                ),
                format!(
                    "Key customer {n} must be visited in person every {} days; {le}, overdue since {}.",
                    key_visit / fieldcrm_model::DAY_MS,
                    e.date(due)
                ),
                json!({
                    "interval_ms": key_visit,
                    "last_visit_at": last_visit,
                    "due_at": due,
                    "due_date": e.date(due),
                }),
            );
        }
    }

    if is_key && e.sev(R::CustKeyPlan).is_some() {
        match &c.plan {
            None => e.emit(
                R::CustKeyPlan,
                Some("plan".into()),
                format!("重要客户「{n}」没有客户发展计划。"),
                format!("Key customer {n} has no development plan."),
                json!({ "plan": null }),
            ),
            Some(plan) => {
                if e.overdue(plan.review_at, 0) {
                    e.emit(
                        R::CustKeyPlan,
                        Some("plan".into()),
                        format!(
                            "重要客户「{n}」的发展计划应于{}复审，已过期未更新。",
                            e.date(plan.review_at)
                        ),
                        format!(
                            "Key customer {n}'s development plan was due for review on {} and has not been updated.",
                            e.date(plan.review_at)
                        ),
                        json!({ "review_at": plan.review_at, "review_date": e.date(plan.review_at) }),
                    );
                }
            }
        }
    }

    if e.sev(R::CustSatisfaction).is_some() {
        if is_key {
            let mut last_survey: Option<Millis> = None;
            for s in c.surveys.values() {
                if e.reached(s.at) {
                    last_survey = last_survey.max(Some(s.at));
                }
            }
            let base = last_survey.unwrap_or(c.created_at);
            if e.overdue(base, survey_interval) {
                let due = base.saturating_add(survey_interval);
                e.emit(
                    R::CustSatisfaction,
                    Some("surveys".into()),
                    format!(
                        "重要客户「{n}」应每{}天做一次满意度回访，{}，已于{}逾期。",
                        survey_interval / fieldcrm_model::DAY_MS,
                        last_survey.map_or("从未回访".into(), |t| format!("最近一次是{}", e.date(t))),
                        e.date(due)
                    ),
                    format!(
                        "Key customer {n} needs a satisfaction survey every {} days; {}, overdue since {}.",
                        survey_interval / fieldcrm_model::DAY_MS,
                        last_survey.map_or("none was ever done".into(), |t| format!("the last was on {}", e.date(t))),
                        e.date(due)
                    ),
                    json!({ "last_survey_at": last_survey, "interval_ms": survey_interval, "due_at": due }),
                );
            }
        }
        for (id, s) in &c.surveys {
            if s.score > low_score {
                continue;
            }
            let end = s.at.saturating_add(followup);
            let followed = c
                .interactions
                .values()
                .any(|i| i.occurred_at >= s.at && i.occurred_at <= end);
            if !followed && e.overdue(s.at, followup) {
                e.emit(
                    R::CustSatisfaction,
                    Some(format!("surveys/{id}")),
                    format!(
                        "客户「{n}」在{}的回访中评分为{}分（满分5分），{}天内没有跟进联系。",
                        e.date(s.at),
                        s.score,
                        followup / fieldcrm_model::DAY_MS
                    ),
                    format!(
                        "Customer {n} scored {} of 5 in the survey on {}, with no follow-up interaction within {} days.",
                        s.score,
                        e.date(s.at),
                        followup / fieldcrm_model::DAY_MS
                    ),
                    json!({ "score": s.score, "low_score": low_score, "survey_at": s.at, "followup_ms": followup }),
                );
            }
        }
    }

    if e.sev(R::CustRecordTimely).is_some() {
        let window = e.ctx.cfg.params.record_window;
        for (id, i) in &c.interactions {
            let delay = i.recorded_at.saturating_sub(i.occurred_at);
            if delay > window {
                e.emit(
                    R::CustRecordTimely,
                    Some(format!("interactions/{id}")),
                    format!(
                        "客户「{n}」{}发生的{}在{}才录入，超过{}小时的录入时限。",
                        e.date(i.occurred_at),
                        i.kind.zh(),
                        e.date(i.recorded_at),
                        window / fieldcrm_model::HOUR_MS
                    ),
                    format!(
                        "Customer {n}: a {} on {} was recorded on {}, later than the {}-hour window.",
                        i.kind,
                        e.date(i.occurred_at),
                        e.date(i.recorded_at),
                        window / fieldcrm_model::HOUR_MS
                    ),
                    json!({
                        "occurred_at": i.occurred_at,
                        "recorded_at": i.recorded_at,
                        "delay_ms": delay,
                        "window_ms": window,
                        "by": i.by,
                    }),
                );
            }
        }
    }
}

fn hours(ms: Millis) -> Millis {
    ms / fieldcrm_model::HOUR_MS
}

fn complaints(e: &mut Eval<'_>, c: &Customer, n: &str) {
    let p = e.ctx.cfg.params.clone();
    for (id, cp) in &c.complaints {
        let entity = Some(format!("complaints/{id}"));
        let major = cp.severity == ComplaintSeverity::Major;
        let opened = cp.opened_at;
        let opened_date = e.date(opened);

        if e.sev(R::ComplaintResponse).is_some() {
            let deadline = opened.saturating_add(p.response_window);
            let late = match &cp.first_response {
                Some(r) => (r.at > deadline).then_some(Some(r.at)),
                None => e.overdue(opened, p.response_window).then_some(None),
            };
            if let Some(resp) = late {
                let (zh, en) = match resp {
                    Some(t) => (
                        format!("直到{}才首次答复", e.date(t)),
                        format!("first answered only on {}", e.date(t)),
                    ),
                    None => ("至今未答复".to_string(), "not answered yet".to_string()),
                };
                e.emit(
                    R::ComplaintResponse,
                    entity.clone(),
                    format!(
                        "客户「{n}」{opened_date}的投诉「{}」{zh}，超过{}小时受理时限。",
                        cp.summary,
                        hours(p.response_window)
                    ),
                    format!(
                        "Customer {n}: the complaint \"{}\" of {opened_date} was {en}, beyond the {}-hour window.",
                        cp.summary,
                        hours(p.response_window)
                    ),
                    json!({ "opened_at": opened, "responded_at": resp, "deadline_at": deadline }),
                );
            }
        }

        if e.sev(R::ComplaintEscalation).is_some() {
            let deadline = opened.saturating_add(p.escalation_window);
            let path = format!("complaints/{id}/escalation");
            let (valid, detail_zh, detail_en, facts) = match &cp.escalation {
                None => (
                    None,
                    "未向上级汇报".to_string(),
                    "was not reported to a manager".to_string(),
                    json!(null),
                ),
                Some(esc) => {
                    let auth = e.ctx.check_present(e.snap, &path, MANAGER);
                    let known = auth.actor().is_some_and(|a| a.user.is_some());
                    let to_manager = e.ctx.auth.role_of_user(&esc.to) == Some(&Role::Manager);
                    let ok = known && (auth.ok() || to_manager);
                    let facts = json!({ "to": esc.to, "at": esc.at, "set_by": auth.json(), "to_is_manager": to_manager });
                    if ok {
                        (Some(esc.at), String::new(), String::new(), facts)
                    } else {
                        let who = auth
                            .actor()
                            .map(|a| (a.label_zh(), a.label_en()))
                            .unwrap_or_default();
                        (
                            None,
                            format!(
                                "的汇报对象{}不是销售经理（由{}记录），不算向上级汇报",
                                e.ctx.user_label(&esc.to),
                                who.0
                            ),
                            format!(
                                "was reported to {}, who is not a manager (recorded by {}), which does not count",
                                e.ctx.user_label(&esc.to),
                                who.1
                            ),
                            facts,
                        )
                    }
                }
            };
            let fire = match valid {
                Some(at) => at > deadline,
                None => e.overdue(opened, p.escalation_window),
            };
            if fire {
                let (zh, en) = match valid {
                    Some(at) => (
                        format!("直到{}才向上级汇报", e.date(at)),
                        format!("was reported to a manager only on {}", e.date(at)),
                    ),
                    None => (detail_zh, detail_en),
                };
                e.emit(
                    R::ComplaintEscalation,
                    entity.clone(),
                    format!(
                        "客户「{n}」{opened_date}的投诉「{}」{zh}，应在{}小时内汇报。",
                        cp.summary,
                        hours(p.escalation_window)
                    ),
                    format!(
                        "Customer {n}: the complaint \"{}\" of {opened_date} {en}; it must be reported within {} hours.",
                        cp.summary,
                        hours(p.escalation_window)
                    ),
                    json!({ "opened_at": opened, "deadline_at": deadline, "escalation": facts }),
                );
            }
        }

        if major && e.sev(R::ComplaintMajorInvestigation).is_some() {
            let deadline = opened.saturating_add(p.investigation_window);
            let inv = cp
                .investigation
                .as_ref()
                .filter(|i| i.departments.iter().any(|d| !d.trim().is_empty()));
            let fire = match inv {
                Some(i) => i.at > deadline,
                None => e.overdue(opened, p.investigation_window),
            };
            if fire {
                let (zh, en) = match inv {
                    Some(i) => (
                        format!("直到{}才组织调查", e.date(i.at)),
                        format!("was investigated only on {}", e.date(i.at)),
                    ),
                    None => (
                        "没有注明参与部门的调查记录".to_string(),
                        "has no investigation record naming the departments involved".to_string(),
                    ),
                };
                e.emit(
                    R::ComplaintMajorInvestigation,
                    entity.clone(),
                    format!(
                        "客户「{n}」{opened_date}的重点投诉「{}」{zh}，应在{}小时内组织相关部门深入调查。",
                        cp.summary,
                        hours(p.investigation_window)
                    ),
                    format!(
                        "Customer {n}: the major complaint \"{}\" of {opened_date} {en}; it must be investigated with the departments involved within {} hours.",
                        cp.summary,
                        hours(p.investigation_window)
                    ),
                    json!({
                        "opened_at": opened,
                        "deadline_at": deadline,
                        "investigated_at": inv.map(|i| i.at),
                        "departments": cp.investigation.as_ref().map(|i| i.departments.clone()),
                    }),
                );
            }
        }

        if e.sev(R::ComplaintResolution).is_some() {
            let window = if major {
                p.resolution_major
            } else {
                p.resolution_normal
            };
            let deadline = opened.saturating_add(window);
            let resolution = cp.resolution.as_ref().filter(|r| !r.text.trim().is_empty());
            let problem = if cp.closed_at.is_some() && resolution.is_none() {
                Some((
                    "已关闭但没有处理结果说明".to_string(),
                    "was closed without a resolution text".to_string(),
                ))
            } else if let Some(r) = resolution {
                (r.at > deadline).then(|| {
                    (
                        format!("直到{}才解决", e.date(r.at)),
                        format!("was resolved only on {}", e.date(r.at)),
                    )
                })
            } else if e.overdue(opened, window) {
                Some(("至今未解决".to_string(), "is still unresolved".to_string()))
            } else {
                None
            };
            if let Some((zh, en)) = problem {
                let days = window / fieldcrm_model::DAY_MS;
                e.emit(
                    R::ComplaintResolution,
                    entity.clone(),
                    format!(
                        "客户「{n}」{opened_date}的{}投诉「{}」{zh}，应在{days}天内解决。",
                        if major { "重点" } else { "" },
                        cp.summary
                    ),
                    format!(
                        "Customer {n}: the {}complaint \"{}\" of {opened_date} {en}; it must be resolved within {days} days.",
                        if major { "major " } else { "" },
                        cp.summary
                    ),
                    json!({
                        "opened_at": opened,
                        "deadline_at": deadline,
                        "major": major,
                        "resolved_at": resolution.map(|r| r.at),
                        "closed_at": cp.closed_at,
                    }),
                );
            }
        }
    }
}

fn sales(e: &mut Eval<'_>, c: &Customer, n: &str) {
    let p = e.ctx.cfg.params.clone();
    if e.sev(R::OppFollowup).is_some() {
        for (id, o) in &c.opportunities {
            if !o.stage.is_open() {
                continue;
            }
            let last = o.last_activity_at.max(o.created_at);
            if e.overdue(last, p.opp_window) {
                e.emit(
                    R::OppFollowup,
                    Some(format!("opportunities/{id}")),
                    format!(
                        "客户「{n}」的销售机会「{}」（{}）自{}起没有跟进，超过{}天。",
                        o.title,
                        o.stage.zh(),
                        e.date(last),
                        p.opp_window / fieldcrm_model::DAY_MS
                    ),
                    format!(
                        "Customer {n}: opportunity \"{}\" ({}) has had no activity since {}, more than {} days.",
                        o.title,
                        o.stage,
                        e.date(last),
                        p.opp_window / fieldcrm_model::DAY_MS
                    ),
                    json!({ "stage": o.stage.as_str(), "last_activity_at": last, "window_ms": p.opp_window, "amount": o.amount }),
                );
            }
        }
    }
    for (id, k) in &c.contracts {
        let Some(signed) = k.signed_at else {
            continue;
        };
        let entity = Some(format!("contracts/{id}"));
        if e.sev(R::ContractLegalReview).is_some() {
            let path = format!("contracts/{id}/legal_review");
            let mut zh = Vec::new();
            let mut en = Vec::new();
            let auth = match &k.legal_review {
                None => {
                    zh.push("没有法务审核".to_string());
                    en.push("there is no legal review".to_string());
                    Auth::Absent
                }
                Some(r) => {
                    if r.result != ReviewResult::Passed {
                        zh.push(format!("法务审核结果为「{}」", r.result.zh()));
                        en.push(format!("the legal review result is `{}`", r.result));
                    }
                    if r.at > signed {
                        zh.push(format!("审核时间{}晚于签署时间", e.date(r.at)));
                        en.push(format!("the review ({}) came after signing", e.date(r.at)));
                    }
                    let auth = e.ctx.check_present(e.snap, &path, LEGAL);
                    if let Auth::Denied(a) = &auth {
                        zh.push(format!(
                            "审核由{}设置，不是法务人员，不予采信",
                            a.label_zh()
                        ));
                        en.push(format!(
                            "the review was set by {}, not legal, and does not count",
                            a.label_en()
                        ));
                    }
                    auth
                }
            };
            if !zh.is_empty() {
                e.emit(
                    R::ContractLegalReview,
                    entity.clone(),
                    format!("客户「{n}」的合同「{}」已于{}签署，但{}。", k.title, e.date(signed), zh.join("；")),
                    format!("Customer {n}: contract \"{}\" was signed on {}, but {}.", k.title, e.date(signed), en.join("; ")),
                    json!({
                        "signed_at": signed,
                        "review_result": k.legal_review.as_ref().map(|r| r.result.as_str().to_string()),
                        "review_at": k.legal_review.as_ref().map(|r| r.at),
                        "set_by": auth.json(),
                        "amount": k.amount,
                    }),
                );
            }
        }
        if e.sev(R::ContractArchived).is_some() {
            let deadline = signed.saturating_add(p.archive_window);
            let archived = !blank(&k.archive_ref);
            let fire = if archived {
                k.archived_at.is_some_and(|t| t > deadline)
            } else {
                e.overdue(signed, p.archive_window)
            };
            if fire {
                let (zh, en) = if archived {
                    let t = k.archived_at.unwrap_or(signed);
                    (
                        format!("直到{}才存档", e.date(t)),
                        format!("was archived only on {}", e.date(t)),
                    )
                } else {
                    (
                        "至今没有存档编号".to_string(),
                        "has no archive reference yet".to_string(),
                    )
                };
                e.emit(
                    R::ContractArchived,
                    entity.clone(),
                    format!(
                        "客户「{n}」的合同「{}」于{}签署，{zh}，应在{}天内存档。",
                        k.title,
                        e.date(signed),
                        p.archive_window / fieldcrm_model::DAY_MS
                    ),
                    format!(
                        "Customer {n}: contract \"{}\" signed on {} {en}; it must be archived within {} days.",
                        k.title,
                        e.date(signed),
                        p.archive_window / fieldcrm_model::DAY_MS
                    ),
                    json!({ "signed_at": signed, "archive_ref": k.archive_ref, "archived_at": k.archived_at, "deadline_at": deadline }),
                );
            }
        }
    }
    if e.sev(R::OrderDelivery).is_some() {
        for (id, o) in &c.orders {
            let late = match o.delivered_at {
                Some(d) => (d > o.promised_at).then_some(Some(d)),
                None => e.overdue(o.promised_at, 0).then_some(None),
            };
            if let Some(delivered) = late {
                let (zh, en) = match delivered {
                    Some(d) => (
                        format!("实际于{}交付", e.date(d)),
                        format!("was delivered on {}", e.date(d)),
                    ),
                    None => ("至今未交付".to_string(), "is not delivered yet".to_string()),
                };
                e.emit(
                    R::OrderDelivery,
                    Some(format!("orders/{id}")),
                    format!(
                        "客户「{n}」的订单（{} × {}）约定{}交货，{zh}。",
                        o.product,
                        o.quantity,
                        e.date(o.promised_at)
                    ),
                    format!(
                        "Customer {n}: the order ({} × {}) promised for {} {en}.",
                        o.product,
                        o.quantity,
                        e.date(o.promised_at)
                    ),
                    json!({ "ordered_at": o.ordered_at, "promised_at": o.promised_at, "delivered_at": delivered }),
                );
            }
        }
    }
}

/// Discount in basis points, rounded up (a discount is never shown smaller than it is).
fn discount_bp(list: Fen, price: Fen) -> i64 {
    let num = i128::from(list - price) * 10_000;
    let den = i128::from(list);
    ((num + den - 1) / den) as i64
}

#[allow(clippy::too_many_arguments)]
fn discount_one(
    e: &mut Eval<'_>,
    n: &str,
    what: (&str, &str, &str),
    id: &str,
    product: &str,
    quantity: i64,
    list: Fen,
    price: Fen,
    approval: Option<&Approval>,
) {
    if list <= 0 || price >= list {
        return;
    }
    let rep = e.ctx.rep_allowance_bp;
    let mgr = e.ctx.manager_allowance_bp;
    // Exact comparison: (list - price) / list > allowance / 10000.
    let over = |bp: i64| i128::from(list - price) * 10_000 > i128::from(bp) * i128::from(list);
    if !over(rep) {
        return;
    }
    let beyond_manager = over(mgr);
    let (collection, zh_what, en_what) = what;
    let path = format!("{collection}/{id}/approval");
    let needed: &[Role] = if beyond_manager {
        &[Role::Admin]
    } else {
        MANAGER_OR_ADMIN
    };
    let auth = match approval {
        Some(_) => e.ctx.check_present(e.snap, &path, needed),
        None => Auth::Absent,
    };
    if auth.ok() {
        return;
    }
    let bp = discount_bp(list, price);
    let (zh_tail, en_tail) = match (&auth, beyond_manager) {
        (Auth::Denied(a), _) => (
            format!("审批由{}设置，无权批准此折扣，视为未审批", a.label_zh()),
            format!(
                "the approval was set by {}, who may not approve it, so it counts as unapproved",
                a.label_en()
            ),
        ),
        (_, true) => (
            format!("超出销售经理权限{}%，需管理员审批，但未审批", fmt_bp(mgr)),
            format!(
                "beyond the manager allowance of {}%, it needs an admin's approval and has none",
                fmt_bp(mgr)
            ),
        ),
        _ => (
            "未经销售经理审批".to_string(),
            "no manager approved it".to_string(),
        ),
    };
    e.emit(
        R::PriceDiscount,
        Some(format!("{collection}/{id}")),
        format!(
            "客户「{n}」的{zh_what}（{product}）单价{}元，低于目录价{}元{}%，超出销售代表权限{}%；{zh_tail}。",
            format_yuan(price),
            format_yuan(list),
            fmt_bp(bp),
            fmt_bp(rep)
        ),
        format!(
            "Customer {n}: {en_what} ({product}) at {} yuan is {}% below the list price {} yuan, beyond the rep allowance of {}%; {en_tail}.",
            format_yuan(price),
            fmt_bp(bp),
            format_yuan(list),
            fmt_bp(rep)
        ),
        json!({
            "product": product,
            "quantity": quantity,
            "list_price": list,
            "price": price,
            "discount_bp": bp,
            "rep_allowance_bp": rep,
            "manager_allowance_bp": mgr,
            "approval_set_by": auth.json(),
            "approval_by_claimed": approval.map(|a| a.by.clone()),
        }),
    );
}

fn discounts(e: &mut Eval<'_>, c: &Customer, n: &str) {
    if e.sev(R::PriceDiscount).is_none() {
        return;
    }
    for (id, q) in &c.quotes {
        discount_one(
            e,
            n,
            ("quotes", "报价", "quote"),
            id,
            &q.product,
            q.quantity,
            q.list_price,
            q.price,
            q.approval.as_ref(),
        );
    }
    for (id, o) in &c.orders {
        discount_one(
            e,
            n,
            ("orders", "订单", "order"),
            id,
            &o.product,
            o.quantity,
            o.list_price,
            o.price,
            o.approval.as_ref(),
        );
    }
}

fn gifts(e: &mut Eval<'_>, c: &Customer, n: &str) {
    if e.sev(R::GiftDeclaration).is_none() {
        return;
    }
    let limit = e.ctx.cfg.params.gift_limit;
    for (id, g) in &c.gifts {
        if g.value <= limit {
            continue;
        }
        let path = format!("gifts/{id}/approval");
        let auth = match &g.approval {
            Some(_) => e.ctx.check_present(e.snap, &path, MANAGER),
            None => Auth::Absent,
        };
        if g.declared && auth.ok() {
            continue;
        }
        let mut zh = Vec::new();
        let mut en = Vec::new();
        if !g.declared {
            zh.push("未向公司申报".to_string());
            en.push("it was not declared".to_string());
        }
        match &auth {
            Auth::Absent => {
                zh.push("未经销售经理审批".to_string());
                en.push("no manager approved it".to_string());
            }
            Auth::Denied(a) => {
                zh.push(format!("审批由{}设置，不予采信", a.label_zh()));
                en.push(format!(
                    "the approval was set by {} and does not count",
                    a.label_en()
                ));
            }
            Auth::Ok(_) => {}
        }
        let dir_zh = match g.direction {
            fieldcrm_model::GiftDirection::Received => "收受",
            _ => "赠送",
        };
        e.emit(
            R::GiftDeclaration,
            Some(format!("gifts/{id}")),
            format!(
                "客户「{n}」：{}{dir_zh}的{}「{}」价值{}元，超过{}元限额，{}。",
                e.date(g.at),
                g.kind.zh(),
                g.description,
                format_yuan(g.value),
                format_yuan(limit),
                zh.join("，")
            ),
            format!(
                "Customer {n}: a {} ({}, {}) \"{}\" worth {} yuan on {} is above the {} yuan limit; {}.",
                g.kind,
                g.direction,
                g.by,
                g.description,
                format_yuan(g.value),
                e.date(g.at),
                format_yuan(limit),
                en.join("; ")
            ),
            json!({
                "value": g.value,
                "limit": limit,
                "declared": g.declared,
                "direction": g.direction.as_str(),
                "approval_set_by": auth.json(),
                "by": g.by,
            }),
        );
    }
}

/// DATA-AUTHORITY for the role-reserved fields of a customer file.
fn reserved_fields(e: &mut Eval<'_>, c: &Customer) {
    if e.sev(R::DataAuthority).is_none() {
        return;
    }
    let snap = e.snap;
    for path in snap.fields.keys() {
        let segs: Vec<&str> = path.split('/').collect();
        let (roles, zh, en): (&[Role], &str, &str) = match segs.as_slice() {
            ["class_exception"] if c.class_exception.is_some() => {
                (MANAGER, "销售经理", "a manager")
            }
            ["quotes", id, "approval"]
                if c.quotes.get(*id).is_some_and(|q| q.approval.is_some()) =>
            {
                (MANAGER_OR_ADMIN, "销售经理或管理员", "a manager or admin")
            }
            ["orders", id, "approval"]
                if c.orders.get(*id).is_some_and(|o| o.approval.is_some()) =>
            {
                (MANAGER_OR_ADMIN, "销售经理或管理员", "a manager or admin")
            }
            ["gifts", id, "approval"] if c.gifts.get(*id).is_some_and(|g| g.approval.is_some()) => {
                (MANAGER, "销售经理", "a manager")
            }
            ["contracts", id, "legal_review"]
                if c.contracts
                    .get(*id)
                    .is_some_and(|k| k.legal_review.is_some()) =>
            {
                (LEGAL, "法务人员", "legal")
            }
            _ => continue,
        };
        let auth = e.ctx.check(snap, path, roles);
        authority(e, path, &auth, zh, en);
    }
}
