//! Rules on one channel record: qualification, agreement, scope, communication,
//! assessment, training, price floor, and its role-reserved fields.

use std::collections::HashSet;

use fieldcrm_model::money::format_yuan;
use fieldcrm_model::{Authority, Channel, ChannelStatus, Millis, ReviewResult};
use serde_json::json;

use super::Eval;
use super::common::authority;
use crate::ctx::Auth;
use crate::finding::Severity;
use crate::normalize;
use crate::rule::RuleId as R;
use crate::time::{Period, period_at};

/// An exclusive territory of an active channel.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct TerritoryEntry {
    pub id: String,
    /// Normalised (region, product line).
    pub key: (String, String),
    pub region: String,
    pub product_line: String,
    pub start: Millis,
    pub end: Millis,
}

/// The signed agreement, as the unauthorised-sale rule needs it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct AgreementInfo {
    pub signed_at: Millis,
    pub term_start: Millis,
    pub term_end: Millis,
    /// Normalised product lines or SKUs the agreement authorises.
    pub covers: Vec<String>,
}

/// What the cross-document rules need from a channel record.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct ChannelExtract {
    pub name: String,
    /// Effective status (an activation without authority counts as `prospect`).
    pub status: String,
    pub status_at: Millis,
    pub agreement: Option<AgreementInfo>,
    pub territories: Vec<TerritoryEntry>,
}

fn blank(s: &str) -> bool {
    s.trim().is_empty()
}

/// Run every per-document channel rule; returns the cross-document extract.
pub(crate) fn check(e: &mut Eval<'_>, ch: &Channel) -> ChannelExtract {
    let n = if blank(&ch.name) {
        "（未命名）".to_string()
    } else {
        ch.name.clone()
    };
    let status_auth = if ch.status == ChannelStatus::Active {
        e.ctx
            .check_present(e.snap, "status", Authority::ChannelActivation)
    } else {
        Auth::Absent
    };
    let active = ch.status == ChannelStatus::Active && status_auth.ok();
    let activated = ch.activated_at.unwrap_or(ch.status_at);

    if e.sev(R::DataAuthority).is_some() {
        authority(e, "status", &status_auth, Authority::ChannelActivation);
        if ch.qualification.is_some() {
            let a = e
                .ctx
                .check(e.snap, "qualification", Authority::ChannelQualification);
            authority(e, "qualification", &a, Authority::ChannelQualification);
        }
        if ch.risk.is_some() {
            let a = e.ctx.check(e.snap, "risk", Authority::ChannelRisk);
            authority(e, "risk", &a, Authority::ChannelRisk);
        }
        if ch.archived.is_some() {
            let a = e.ctx.check(e.snap, "archived", Authority::Archive);
            authority(e, "archived", &a, Authority::Archive);
        }
        // Records removed from the record (`removed/<collection>/<id>`).
        let snap = e.snap;
        for (path, state) in &snap.fields {
            if !path.starts_with("removed/")
                || state.values.first().is_none_or(|v| v.value.is_null())
            {
                continue;
            }
            let a = e.ctx.check(snap, path, Authority::Archive);
            authority(e, path, &a, Authority::Archive);
        }
    }

    if active {
        qualification(e, ch, &n, activated);
        agreement(e, ch, &n);
        periodic(e, ch, &n, activated);
    }
    scope(e, ch, &n);
    price_floor(e, ch, &n);

    let territories = if active {
        ch.territories
            .iter()
            .filter(|(_, t)| t.exclusive)
            .map(|(id, t)| TerritoryEntry {
                id: id.clone(),
                key: (
                    normalize::label(&t.region),
                    normalize::label(&t.product_line),
                ),
                region: t.region.clone(),
                product_line: t.product_line.clone(),
                start: t.start,
                end: t.end,
            })
            .collect()
    } else {
        Vec::new()
    };
    let agreement = ch.agreement.as_ref().and_then(|a| {
        let signed_at = a.signed_at?;
        let covers = if a.products.is_empty() {
            ch.product_lines
                .iter()
                .filter(|(_, on)| **on)
                .map(|(l, _)| normalize::label(l))
                .collect()
        } else {
            a.products.iter().map(|p| normalize::label(p)).collect()
        };
        Some(AgreementInfo {
            signed_at,
            term_start: a.term_start,
            term_end: a.term_end,
            covers,
        })
    });
    ChannelExtract {
        name: ch.name.clone(),
        status: if ch.status == ChannelStatus::Active && !active {
            ChannelStatus::Prospect.to_string()
        } else {
            ch.status.to_string()
        },
        status_at: ch.status_at,
        agreement,
        territories,
    }
}

fn qualification(e: &mut Eval<'_>, ch: &Channel, n: &str, activated: Millis) {
    if e.sev(R::ChannelQualification).is_none() {
        return;
    }
    let mut zh = Vec::new();
    let mut en = Vec::new();
    let q_auth = match &ch.qualification {
        None => {
            zh.push("没有资质审核".to_string());
            en.push("there is no qualification review".to_string());
            Auth::Absent
        }
        Some(q) => {
            if q.result != ReviewResult::Passed {
                zh.push(format!("资质审核结果为「{}」", q.result.zh()));
                en.push(format!("the qualification review result is `{}`", q.result));
            }
            if q.at > activated {
                zh.push(format!("资质审核（{}）晚于激活", e.date(q.at)));
                en.push(format!(
                    "the qualification review ({}) came after activation",
                    e.date(q.at)
                ));
            }
            let need = Authority::ChannelQualification;
            let a = e.ctx.bound(
                e.snap,
                e.ctx.check_present(e.snap, "qualification", need),
                (need, ""),
                &q.covers,
                fieldcrm_model::signoff::entity_field(ch),
            );
            if let Auth::Void(who, changed) = &a {
                let (z, e) = crate::signoff::void_text(who, changed);
                zh.push(format!("资质审核：{z}"));
                en.push(format!("the qualification review: {e}"));
            }
            if let Auth::Denied(who) = &a {
                zh.push(format!(
                    "资质审核由{}设置，不是{}，不予采信",
                    who.label_zh(),
                    need.needs_zh()
                ));
                en.push(format!(
                    "the qualification review was set by {}, not {}, and does not count",
                    who.label_en(),
                    need.needs_en()
                ));
            }
            a
        }
    };
    let r_auth = match &ch.risk {
        None => {
            zh.push("没有风险评估".to_string());
            en.push("there is no risk assessment".to_string());
            Auth::Absent
        }
        Some(r) => {
            if r.at > activated {
                zh.push(format!("风险评估（{}）晚于激活", e.date(r.at)));
                en.push(format!(
                    "the risk assessment ({}) came after activation",
                    e.date(r.at)
                ));
            }
            let need = Authority::ChannelRisk;
            let a = e.ctx.check_present(e.snap, "risk", need);
            if let Auth::Denied(who) = &a {
                zh.push(format!(
                    "风险评估由{}设置，不是{}，不予采信",
                    who.label_zh(),
                    need.needs_zh()
                ));
                en.push(format!(
                    "the risk assessment was set by {}, not {}, and does not count",
                    who.label_en(),
                    need.needs_en()
                ));
            }
            a
        }
    };
    if zh.is_empty() {
        return;
    }
    e.emit(
        R::ChannelQualification,
        Some("qualification".into()),
        format!("渠道「{n}」已于{}激活合作，但{}。", e.date(activated), zh.join("；")),
        format!("Channel {n} was activated on {}, but {}.", e.date(activated), en.join("; ")),
        json!({
            "activated_at": activated,
            "qualification_result": ch.qualification.as_ref().map(|q| q.result.as_str().to_string()),
            "qualification_at": ch.qualification.as_ref().map(|q| q.at),
            "qualification_set_by": q_auth.json(),
            "risk_level": ch.risk.as_ref().map(|r| r.level.as_str().to_string()),
            "risk_at": ch.risk.as_ref().map(|r| r.at),
            "risk_set_by": r_auth.json(),
        }),
    );
}

fn agreement(e: &mut Eval<'_>, ch: &Channel, n: &str) {
    if e.sev(R::ChannelAgreement).is_none() {
        return;
    }
    let Some(a) = &ch.agreement else {
        e.emit(
            R::ChannelAgreement,
            Some("agreement".into()),
            format!("渠道「{n}」处于合作中，但没有合作协议。"),
            format!("Channel {n} is active but has no cooperation agreement."),
            json!({ "agreement": null }),
        );
        return;
    };
    let mut zh = Vec::new();
    let mut en = Vec::new();
    if a.signed_at.is_none() {
        zh.push("协议尚未签署".to_string());
        en.push("the agreement is not signed".to_string());
    }
    let mut missing = Vec::new();
    for (text, zh_name, en_name) in [
        (&a.rights, "权益", "rights"),
        (&a.responsibilities, "责任", "responsibilities"),
        (&a.plan, "合作计划", "cooperation plan"),
    ] {
        if blank(text) {
            zh.push(format!("缺少{zh_name}"));
            en.push(format!("it states no {en_name}"));
            missing.push(en_name);
        }
    }
    let started = e.reached(a.term_start);
    let expired = e.overdue(a.term_end, 0);
    if !started {
        zh.push(format!("协议期限自{}开始，尚未生效", e.date(a.term_start)));
        en.push(format!("its term starts only on {}", e.date(a.term_start)));
    } else if expired {
        zh.push(format!("协议已于{}到期", e.date(a.term_end)));
        en.push(format!("it expired on {}", e.date(a.term_end)));
    }
    let facts = json!({
        "signed_at": a.signed_at,
        "term_start": a.term_start,
        "term_end": a.term_end,
        "term_end_date": e.date(a.term_end),
        "missing": missing,
    });
    if !zh.is_empty() {
        e.emit(
            R::ChannelAgreement,
            Some("agreement".into()),
            format!(
                "渠道「{n}」处于合作中，但合作协议有问题：{}。",
                zh.join("；")
            ),
            format!(
                "Channel {n} is active, but its agreement has problems: {}.",
                en.join("; ")
            ),
            facts,
        );
    } else {
        let warn_from = a
            .term_end
            .saturating_sub(e.ctx.cfg.params.agreement_warn_before);
        if e.reached(warn_from) {
            e.emit_sev(
                R::ChannelAgreement,
                Severity::Warning,
                Some("agreement".into()),
                format!(
                    "渠道「{n}」的合作协议将于{}到期，请及时续签。",
                    e.date(a.term_end)
                ),
                format!(
                    "Channel {n}'s agreement expires on {}; renew it in time.",
                    e.date(a.term_end)
                ),
                facts,
            );
        }
    }
}

fn periodic(e: &mut Eval<'_>, ch: &Channel, n: &str, activated: Millis) {
    let p = e.ctx.cfg.params.clone();
    let offset = p.utc_offset;
    if e.sev(R::ChannelCommunication).is_some() {
        let mut last: Option<Millis> = None;
        for c in ch.communications.values() {
            if e.reached(c.at) {
                last = last.max(Some(c.at));
            }
        }
        let base = last.unwrap_or(activated);
        if e.overdue(base, p.communication_window) {
            let due = base.saturating_add(p.communication_window);
            e.emit(
                R::ChannelCommunication,
                Some("communications".into()),
                format!(
                    "渠道「{n}」应每{}天至少沟通一次，{}，已于{}逾期。",
                    p.communication_window / fieldcrm_model::DAY_MS,
                    last.map_or("激活后从未沟通".into(), |t| format!(
                        "最近一次沟通是{}",
                        e.date(t)
                    )),
                    e.date(due)
                ),
                format!(
                    "Channel {n} must be talked to every {} days; {}, overdue since {}.",
                    p.communication_window / fieldcrm_model::DAY_MS,
                    last.map_or(
                        "there was no communication since activation".into(),
                        |t| format!("the last was on {}", e.date(t))
                    ),
                    e.date(due)
                ),
                json!({ "last_communication_at": last, "activated_at": activated, "due_at": due }),
            );
        }
    }
    if e.sev(R::ChannelAssessment).is_some()
        && let Some(kind) = p.assessment_period
    {
        let current = period_at(kind, e.now, offset);
        // The findings change when the current period ends.
        e.reached(current.end_ms(offset));
        let done: HashSet<String> = ch
            .assessments
            .values()
            .filter_map(|a| Period::parse(&a.period).ok())
            .filter(|pp| pp.kind == kind)
            .map(|pp| pp.label)
            .collect();
        let mut missing = Vec::new();
        let mut period = current.prev();
        for _ in 0..p.assessment_lookback {
            if period.start_ms(offset) < activated {
                break;
            }
            if !done.contains(&period.label) {
                missing.push(period.label.clone());
            }
            period = period.prev();
        }
        if !missing.is_empty() {
            missing.reverse();
            e.emit(
                R::ChannelAssessment,
                Some("assessments".into()),
                format!(
                    "渠道「{n}」缺少以下考核期的绩效考核：{}。",
                    missing.join("、")
                ),
                format!(
                    "Channel {n} has no performance assessment for: {}.",
                    missing.join(", ")
                ),
                json!({ "missing_periods": missing, "period": kind.as_str() }),
            );
        }
    }
    if e.sev(R::ChannelTraining).is_some() {
        let deadline = activated.saturating_add(p.training_window);
        let trained = ch.trainings.values().any(|t| t.at <= deadline);
        if !trained && e.overdue(activated, p.training_window) {
            e.emit(
                R::ChannelTraining,
                Some("trainings".into()),
                format!(
                    "渠道「{n}」于{}激活，{}天内没有培训记录。",
                    e.date(activated),
                    p.training_window / fieldcrm_model::DAY_MS
                ),
                format!(
                    "Channel {n} was activated on {} and has no training record within {} days.",
                    e.date(activated),
                    p.training_window / fieldcrm_model::DAY_MS
                ),
                json!({ "activated_at": activated, "deadline_at": deadline, "trainings": ch.trainings.len() }),
            );
        }
    }
}

fn scope(e: &mut Eval<'_>, ch: &Channel, n: &str) {
    if e.sev(R::ChannelScope).is_none() {
        return;
    }
    let Some(lines) = &e.ctx.lines else {
        return;
    };
    let outside: Vec<&String> = ch
        .product_lines
        .iter()
        .filter(|(l, on)| **on && !lines.contains(&normalize::label(l)))
        .map(|(l, _)| l)
        .collect();
    if outside.is_empty() {
        return;
    }
    let list: Vec<&str> = outside.iter().map(|s| s.as_str()).collect();
    e.emit(
        R::ChannelScope,
        Some("product_lines".into()),
        format!(
            "渠道「{n}」经营的产品线{}不在公司产品目录中，与主营业务无关。",
            list.join("、")
        ),
        format!(
            "Channel {n} carries product lines outside the company catalog: {}.",
            list.join(", ")
        ),
        json!({ "outside": list }),
    );
}

fn price_floor(e: &mut Eval<'_>, ch: &Channel, n: &str) {
    if e.sev(R::ChannelPriceFloor).is_none() {
        return;
    }
    for (id, r) in &ch.price_reports {
        let Some(product) = e.ctx.products.get(&r.product) else {
            continue;
        };
        if product.floor_price <= 0 || r.price >= product.floor_price {
            continue;
        }
        let floor = product.floor_price;
        e.emit(
            R::ChannelPriceFloor,
            Some(format!("price_reports/{id}")),
            format!(
                "渠道「{n}」{}报告的{}（{}）售价{}元，低于价格政策限价{}元。",
                e.date(r.at),
                product.name,
                r.product,
                format_yuan(r.price),
                format_yuan(floor)
            ),
            format!(
                "Channel {n} reported selling {} ({}) at {} yuan on {}, below the price-policy floor of {} yuan.",
                product.name,
                r.product,
                format_yuan(r.price),
                e.date(r.at),
                format_yuan(floor)
            ),
            json!({ "product": r.product, "price": r.price, "floor_price": floor, "at": r.at, "by": r.by }),
        );
    }
}
