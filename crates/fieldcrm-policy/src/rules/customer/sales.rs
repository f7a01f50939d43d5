//! The sales process of a customer file: OPP-FOLLOWUP, CONTRACT-LEGAL-REVIEW,
//! CONTRACT-ARCHIVED, ORDER-DELIVERY, PRICE-DISCOUNT and GIFT-DECLARATION.

use fieldcrm_model::money::format_yuan;
use fieldcrm_model::signoff::entity_field;
use fieldcrm_model::{Approval, Authority, Customer, Fen, ReviewResult, Role};
use serde_json::json;

use super::blank;
use crate::config::fmt_bp;
use crate::ctx::Auth;
use crate::rule::RuleId as R;
use crate::rules::Eval;

pub(super) fn sales(e: &mut Eval<'_>, c: &Customer, n: &str) {
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
                    let auth = e.ctx.bound(
                        e.snap,
                        e.ctx.check_present(e.snap, &path, Authority::LegalReview),
                        (Authority::LegalReview, &format!("contracts/{id}")),
                        &r.covers,
                        entity_field(k),
                    );
                    if let Auth::Void(a, changed) = &auth {
                        let (z, e) = crate::signoff::void_text(a, changed);
                        zh.push(z);
                        en.push(e);
                    }
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
                        "review_void": crate::signoff::void_json(&auth),
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
            if cancelled(e, c, "orders", id) {
                continue;
            }
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

/// Who cancelled quote or order `id` of `collection`, judged: a holder of
/// [`Authority::CancelRecord`], or the file's owner cancelling a record of their own that
/// carries no approval (the same test the application layer makes). `Absent` when it is
/// not cancelled.
pub(super) fn cancel_auth(e: &Eval<'_>, c: &Customer, collection: &str, id: &str) -> Auth {
    let is_cancelled = match collection {
        "quotes" => c.quotes.get(id).is_some_and(|q| q.is_cancelled()),
        _ => c.orders.get(id).is_some_and(|o| o.is_cancelled()),
    };
    if !is_cancelled {
        // Not cancelled (an uncancelled record writes `cancelled: null`).
        return Auth::Absent;
    }
    let path = format!("{collection}/{id}/cancelled");
    let auth = e.ctx.check_present(e.snap, &path, Authority::CancelRecord);
    if let Auth::Denied(actor) = &auth
        && let Some(user) = actor.user.as_deref()
        && c.owner_id() == Some(user)
        && c.own_unapproved(collection, id, user)
    {
        return Auth::Ok(actor.clone());
    }
    auth
}

/// Whether quote or order `id` was cancelled by someone who may: a cancellation set
/// without the authority does not count (DATA-AUTHORITY reports it).
fn cancelled(e: &Eval<'_>, c: &Customer, collection: &str, id: &str) -> bool {
    cancel_auth(e, c, collection, id).ok()
}

/// Discount in basis points, rounded up (a discount is never shown smaller than it is).
fn discount_bp(list: Fen, price: Fen) -> i64 {
    let num = i128::from(list - price) * 10_000;
    let den = i128::from(list);
    ((num + den - 1) / den) as i64
}

/// The value of one field of the entity a sign-off sits on.
type FieldOf<'a> = &'a dyn Fn(&str) -> serde_json::Value;

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
    (approval, field): (Option<&Approval>, FieldOf<'_>),
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
    let sign_off = if collection == "orders" {
        Authority::OrderApproval
    } else {
        Authority::DiscountApproval
    };
    // A holder of the sign-off whose own allowance covers the discount (an admin's has
    // no limit).
    let may_approve = |r: &Role| sign_off.allows(r) && (*r != Role::Manager || !beyond_manager);
    let auth = match approval {
        Some(a) => e.ctx.bound(
            e.snap,
            e.ctx.check_present_with(e.snap, &path, may_approve),
            (sign_off, &format!("{collection}/{id}")),
            &a.covers,
            field,
        ),
        None => Auth::Absent,
    };
    if auth.ok() {
        return;
    }
    let bp = discount_bp(list, price);
    let (zh_tail, en_tail) = match (&auth, beyond_manager) {
        (Auth::Void(a, changed), _) => crate::signoff::void_text(a, changed),
        (Auth::Denied(a), _) => (
            format!("审批由{}设置，无权批准此折扣，视为未审批", a.label_zh()),
            format!(
                "the approval was set by {}, who may not approve it, so it counts as unapproved",
                a.label_en()
            ),
        ),
        (_, true) => {
            let holders: Vec<&Role> = sign_off.roles().iter().filter(|r| may_approve(r)).collect();
            let zh: Vec<&str> = holders.iter().map(|r| r.zh()).collect();
            let en: Vec<&str> = holders.iter().map(|r| r.as_str()).collect();
            (
                format!(
                    "超出销售经理权限{}%，需{}审批，但未审批",
                    fmt_bp(mgr),
                    zh.join("或")
                ),
                format!(
                    "beyond the manager allowance of {}%, it needs the approval of {} and has none",
                    fmt_bp(mgr),
                    en.join(" or ")
                ),
            )
        }
        _ => (
            format!("未经{}审批", sign_off.needs_zh()),
            format!("no {} approved it", sign_off.needs_en()),
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
            "approval_void": crate::signoff::void_json(&auth),
        }),
    );
}

pub(super) fn discounts(e: &mut Eval<'_>, c: &Customer, n: &str) {
    if e.sev(R::PriceDiscount).is_none() {
        return;
    }
    for (id, q) in &c.quotes {
        if cancelled(e, c, "quotes", id) {
            continue;
        }
        discount_one(
            e,
            n,
            ("quotes", "报价", "quote"),
            id,
            &q.product,
            q.quantity,
            q.list_price,
            q.price,
            (q.approval.as_ref(), &entity_field(q)),
        );
    }
    for (id, o) in &c.orders {
        if cancelled(e, c, "orders", id) {
            continue;
        }
        discount_one(
            e,
            n,
            ("orders", "订单", "order"),
            id,
            &o.product,
            o.quantity,
            o.list_price,
            o.price,
            (o.approval.as_ref(), &entity_field(o)),
        );
    }
}

pub(super) fn gifts(e: &mut Eval<'_>, c: &Customer, n: &str) {
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
            Some(a) => e.ctx.bound(
                e.snap,
                e.ctx.check_present(e.snap, &path, Authority::GiftApproval),
                (Authority::GiftApproval, &format!("gifts/{id}")),
                &a.covers,
                entity_field(g),
            ),
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
                zh.push(format!("未经{}审批", Authority::GiftApproval.needs_zh()));
                en.push(format!(
                    "no {} approved it",
                    Authority::GiftApproval.needs_en()
                ));
            }
            Auth::Void(a, changed) => {
                let (z, e) = crate::signoff::void_text(a, changed);
                zh.push(z);
                en.push(e);
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
                "approval_void": crate::signoff::void_json(&auth),
                "by": g.by,
            }),
        );
    }
}
