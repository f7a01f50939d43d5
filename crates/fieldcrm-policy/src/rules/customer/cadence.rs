//! Contact cadence of a customer file: CUST-CONTACT-CADENCE, CUST-KEY-VISIT,
//! CUST-KEY-PLAN, CUST-SATISFACTION and CUST-RECORD-TIMELY.

use fieldcrm_model::{Customer, CustomerClass, InteractionKind, Millis};
use serde_json::json;

use super::class_zh;
use crate::rule::RuleId as R;
use crate::rules::Eval;

pub(super) fn cadence(e: &mut Eval<'_>, c: &Customer, n: &str) {
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
