//! Complaint handling: COMPLAINT-RESPONSE, COMPLAINT-ESCALATION,
//! COMPLAINT-MAJOR-INVESTIGATION and COMPLAINT-RESOLUTION.

use fieldcrm_model::{Authority, Customer, Millis, Severity as ComplaintSeverity};
use serde_json::json;

use crate::rule::RuleId as R;
use crate::rules::Eval;

fn hours(ms: Millis) -> Millis {
    ms / fieldcrm_model::HOUR_MS
}

pub(super) fn complaints(e: &mut Eval<'_>, c: &Customer, n: &str) {
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
                    let receives = Authority::ComplaintEscalation;
                    let auth = e.ctx.check_present(e.snap, &path, receives);
                    let known = auth.actor().is_some_and(|a| a.user.is_some());
                    let to_manager = e
                        .ctx
                        .auth
                        .role_of_user(&esc.to)
                        .is_some_and(|r| receives.allows(r));
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
