//! `customer show`: a customer file for a person, in the chosen language.

#[allow(unused_imports)]
use super::*;
use crate::render::{bool_cell, label};
use fieldcrm_model::Authority;
use fieldcrm_model::signoff::is_void as void;

/// The label column of `customer show`: `年度价值：` in Chinese, `annual value: ` in English.
fn field(zh: &str, en: &str) -> String {
    label(zh, en, 10, 14)
}

pub(super) fn show_customer(ctx: &Ctx, id: &DocId, c: &Customer) -> Result<()> {
    let roster = ctx.ws.roster()?;
    let clock = &ctx.clock;
    let name_of = |u: &str| ctx.user_name(&roster, &Some(u.to_string()));
    println!("{}  [{}]", c.name, id.short());
    if let Some(m) = &c.merged_into {
        let into = short(m);
        say!(zh: "  已并入 {into}", en: "  merged into {into}");
    }
    let class = c
        .class
        .as_ref()
        .map(|k| tr(k.zh(), k.as_str()).to_string())
        .unwrap_or("-".into());
    let exception = if c.class_exception.is_some() {
        tr("  （已批准例外）", "  (exception approved)")
    } else {
        ""
    };
    println!("  {}{class}{exception}", field("分类", "class"));
    let (owner, team) = (
        ctx.user_name(&roster, &c.owner),
        c.team.as_deref().unwrap_or("-"),
    );
    let owner_label = field("负责人", "owner");
    say!(
        zh: "  {owner_label}{owner}   团队：{team}",
        en: "  {owner_label}{owner}   team: {team}"
    );
    let (industry, region) = (
        c.industry.as_deref().unwrap_or("-"),
        c.region.as_deref().unwrap_or("-"),
    );
    let industry_label = field("行业", "industry");
    say!(
        zh: "  {industry_label}{industry}   区域：{region}",
        en: "  {industry_label}{industry}   region: {region}"
    );
    println!(
        "  {}{}",
        field("地址", "address"),
        c.address.as_deref().unwrap_or("-")
    );
    println!(
        "  {}{}",
        field("信用代码", "credit code"),
        c.credit_code.as_deref().unwrap_or("-")
    );
    println!(
        "  {}{}",
        field("年度价值", "annual value"),
        c.annual_value.map(yuan).unwrap_or("-".into())
    );
    if let Some(p) = &c.plan {
        let (plan_label, text, review) =
            (field("开发计划", "plan"), &p.text, clock.date(p.review_at));
        say!(
            zh: "  {plan_label}{text}（{review} 复核）",
            en: "  {plan_label}{text} (review {review})"
        );
    }
    let section = |zh: &str, en: &str, t: Table| {
        if !t.is_empty() {
            println!("\n{}", tr(zh, en));
            for line in t.render().lines() {
                println!("  {line}");
            }
        }
    };
    let mut t = Table::titled(&[
        ("ID", "ID"),
        ("姓名", "NAME"),
        ("职务", "TITLE"),
        ("电话", "PHONE"),
        ("邮箱", "EMAIL"),
    ]);
    for (k, v) in &c.contacts {
        t.row(vec![
            short(k).into(),
            v.name.clone(),
            v.title.clone().unwrap_or_default(),
            v.phone.clone().unwrap_or_default(),
            v.email.clone().unwrap_or_default(),
        ]);
    }
    section("联系人", "contacts", t);
    let mut its: Vec<_> = c.interactions.iter().collect();
    its.sort_by_key(|(_, i)| i.occurred_at);
    let mut t = Table::titled(&[
        ("ID", "ID"),
        ("时间", "WHEN"),
        ("方式", "KIND"),
        ("记录人", "BY"),
        ("摘要", "SUMMARY"),
    ]);
    for (k, v) in its {
        t.row(vec![
            short(k).into(),
            clock.fmt(v.occurred_at),
            tr(v.kind.zh(), v.kind.as_str()).to_string(),
            name_of(&v.by),
            v.summary.clone(),
        ]);
    }
    section("互动记录", "interactions", t);
    let mut t = Table::titled(&[
        ("ID", "ID"),
        ("登记时间", "OPENED"),
        ("级别", "SEVERITY"),
        ("首次响应", "RESPONDED"),
        ("上报给", "ESCALATED"),
        ("结案时间", "CLOSED"),
        ("摘要", "SUMMARY"),
    ]);
    for (k, v) in &c.complaints {
        t.row(vec![
            short(k).into(),
            clock.fmt(v.opened_at),
            tr(v.severity.zh(), v.severity.as_str()).to_string(),
            clock.fmt_opt(v.first_response.as_ref().map(|r| r.at)),
            v.escalation
                .as_ref()
                .map(|e| name_of(&e.to))
                .unwrap_or("-".into()),
            clock.fmt_opt(v.closed_at),
            v.summary.clone(),
        ]);
    }
    section("投诉", "complaints", t);
    let mut t = Table::titled(&[
        ("ID", "ID"),
        ("时间", "WHEN"),
        ("评分", "SCORE"),
        ("意见", "COMMENT"),
    ]);
    for (k, v) in &c.surveys {
        t.row(vec![
            short(k).into(),
            clock.fmt(v.at),
            v.score.to_string(),
            v.comment.clone().unwrap_or_default(),
        ]);
    }
    section("回访", "surveys", t);
    let mut t = Table::titled(&[
        ("ID", "ID"),
        ("名称", "TITLE"),
        ("阶段", "STAGE"),
        ("金额", "AMOUNT"),
        ("最近活动", "LAST ACTIVITY"),
    ]);
    for (k, v) in &c.opportunities {
        t.row(vec![
            short(k).into(),
            v.title.clone(),
            tr(v.stage.zh(), v.stage.as_str()).to_string(),
            yuan(v.amount),
            clock.fmt(v.last_activity_at),
        ]);
    }
    section("销售机会", "opportunities", t);
    let mut t = Table::titled(&[
        ("ID", "ID"),
        ("产品", "PRODUCT"),
        ("数量", "QTY"),
        ("目录价", "LIST"),
        ("单价", "PRICE"),
        ("审批人", "APPROVED BY"),
    ]);
    for (k, v) in &c.quotes {
        t.row(vec![
            short(k).into(),
            v.product.clone(),
            v.quantity.to_string(),
            yuan(v.list_price),
            yuan(v.price),
            v.approval
                .as_ref()
                .map(|a| {
                    signer(
                        &name_of(&a.by),
                        void(Authority::DiscountApproval, &a.covers, v),
                    )
                })
                .unwrap_or("-".into()),
        ]);
    }
    section("报价", "quotes", t);
    let mut t = Table::titled(&[
        ("ID", "ID"),
        ("名称", "TITLE"),
        ("金额", "AMOUNT"),
        ("法务审核", "LEGAL REVIEW"),
        ("签署时间", "SIGNED"),
        ("归档编号", "ARCHIVE"),
    ]);
    for (k, v) in &c.contracts {
        t.row(vec![
            short(k).into(),
            v.title.clone(),
            yuan(v.amount),
            v.legal_review
                .as_ref()
                .map(|r| {
                    let (result, by) = (&r.result, name_of(&r.by));
                    let result_zh = r.result.zh();
                    let by = trf!(zh: "{result_zh}（{by}）", en: "{result} by {by}");
                    signer(&by, void(Authority::LegalReview, &r.covers, v))
                })
                .unwrap_or("-".into()),
            clock.fmt_opt(v.signed_at),
            v.archive_ref.clone().unwrap_or("-".into()),
        ]);
    }
    section("合同", "contracts", t);
    let mut t = Table::titled(&[
        ("ID", "ID"),
        ("产品", "PRODUCT"),
        ("数量", "QTY"),
        ("单价", "PRICE"),
        ("承诺交期", "PROMISED"),
        ("交付时间", "DELIVERED"),
        ("渠道", "CHANNEL"),
    ]);
    for (k, v) in &c.orders {
        t.row(vec![
            short(k).into(),
            v.product.clone(),
            v.quantity.to_string(),
            yuan(v.price),
            clock.date(v.promised_at),
            clock.fmt_opt(v.delivered_at),
            v.channel.as_deref().map(short).unwrap_or("-").to_string(),
        ]);
    }
    section("订单", "orders", t);
    let mut t = Table::titled(&[
        ("ID", "ID"),
        ("类型", "KIND"),
        ("方向", "DIRECTION"),
        ("价值", "VALUE"),
        ("已申报", "DECLARED"),
        ("审批人", "APPROVED BY"),
        ("内容", "WHAT"),
    ]);
    for (k, v) in &c.gifts {
        t.row(vec![
            short(k).into(),
            tr(v.kind.zh(), v.kind.as_str()).to_string(),
            tr(v.direction.zh(), v.direction.as_str()).to_string(),
            yuan(v.value),
            bool_cell(v.declared),
            v.approval
                .as_ref()
                .map(|a| signer(&name_of(&a.by), void(Authority::GiftApproval, &a.covers, v)))
                .unwrap_or("-".into()),
            v.description.clone(),
        ]);
    }
    section("礼品招待", "gifts", t);
    Ok(())
}

/// Who signed, marked when the sign-off no longer covers the values (they changed).
fn signer(name: &str, void: bool) -> String {
    if void {
        trf!(zh: "{name}（已失效）", en: "{name} void")
    } else {
        name.to_string()
    }
}
