//! Channel partners.

#[allow(unused_imports)]
use super::*;
use crate::render::{bool_cell, label};

pub(super) fn channel(ctx: &Ctx, c: ChannelCmd) -> Result<()> {
    let ws = &ctx.ws;
    let now = ctx.now();
    let clock = &ctx.clock;
    match c {
        ChannelCmd::Merge(a) => crate::merge::merge(ws, DocKind::Channel, now, a)?,
        ChannelCmd::Import(a) => crate::import::import(ws, DocKind::Channel, now, a)?,
        ChannelCmd::Add {
            name,
            kind,
            region,
            lines,
            owner,
        } => {
            let id = ws.add_channel(
                NewChannel {
                    name,
                    kind: input::vocab("kind", &kind)?,
                    region,
                    product_lines: lines,
                    owner,
                },
                now,
            )?;
            saved("渠道", "channel", id.as_str());
        }
        ChannelCmd::List {
            status,
            region,
            all,
            json,
        } => {
            let roster = ws.roster()?;
            let status = status
                .as_deref()
                .map(|s| input::vocab::<ChannelStatus>("status", s))
                .transpose()?;
            let mut filter = list_filter(DocKind::Channel, all);
            filter.status = status.map(|s| s.to_string());
            filter.region = region;
            let rows = ws.list(&filter)?;
            if json {
                print_rows(&rows, &roster)?;
            } else {
                let mut t = Table::titled(&[
                    ("ID", "ID"),
                    ("名称", "NAME"),
                    ("类型", "KIND"),
                    ("状态", "STATUS"),
                    ("区域", "REGION"),
                    ("负责人", "OWNER"),
                    ("更新时间", "UPDATED"),
                ]);
                for Listed { id, summary: s } in &rows {
                    let kind = s
                        .class
                        .as_deref()
                        .and_then(|k| k.parse::<ChannelKind>().ok())
                        .map(|k| tr(k.zh(), k.as_str()).to_string())
                        .unwrap_or("-".into());
                    let status = s
                        .status
                        .as_deref()
                        .and_then(|k| k.parse::<ChannelStatus>().ok())
                        .map(|k| tr(k.zh(), k.as_str()).to_string())
                        .unwrap_or("-".into());
                    t.row(vec![
                        id.short().into(),
                        s.name.clone(),
                        kind,
                        status,
                        s.region.clone().unwrap_or("-".into()),
                        ctx.user_name(&roster, &s.owner),
                        clock.fmt(s.updated_at),
                    ]);
                }
                t.print()?;
                let n = rows.len();
                say!(zh: "共 {n} 个渠道", en: "{n} channel(s)");
            }
        }
        ChannelCmd::Show { channel, json } => {
            let id = ctx.channel(&channel)?;
            let ch: Channel = ws.load(&id)?.hydrate::<Channel>()?.without_removed();
            if json {
                let mut v = serde_json::to_value(&ch)?;
                if let Some(o) = v.as_object_mut() {
                    o.insert("id".into(), json!(id));
                }
                print_json(&v)?;
            } else {
                show_channel(ctx, &id, &ch)?;
            }
        }
        ChannelCmd::Review {
            channel,
            result,
            note,
        } => {
            let id = ctx.channel(&channel)?;
            ws.review_channel(&id, input::vocab("result", &result)?, note, now)?;
            saved_kind(
                "channel",
                "渠道资质审核",
                "qualification review of",
                id.as_str(),
            );
        }
        ChannelCmd::AssessRisk {
            channel,
            level,
            note,
        } => {
            let id = ctx.channel(&channel)?;
            ws.assess_channel_risk(&id, input::vocab("level", &level)?, note, now)?;
            saved_kind("channel", "渠道风险评估", "risk assessment of", id.as_str());
        }
        ChannelCmd::Agreement {
            channel,
            rights,
            responsibilities,
            plan,
            from,
            to,
            products,
            signed,
        } => {
            let id = ctx.channel(&channel)?;
            let a = AgreementInput {
                rights,
                responsibilities,
                plan,
                term_start: clock.parse("from", &from)?,
                term_end: clock.parse_end("to", &to)?,
                products,
                signed,
            };
            ws.set_agreement(&id, a, now)?;
            saved_kind("channel", "渠道合作协议", "agreement of", id.as_str());
        }
        ChannelCmd::Activate { channel } => status(ctx, &channel, ChannelStatus::Active)?,
        ChannelCmd::Archive { channel, reason } => {
            let id = ctx.channel(&channel)?;
            ctx.ws.archive_record(&id, reason, ctx.now())?;
            did(Act::Archived, "channel", id.as_str());
        }
        ChannelCmd::Restore { channel } => {
            let id = ctx.channel(&channel)?;
            ctx.ws.restore_record(&id, ctx.now())?;
            did(Act::Restored, "channel", id.as_str());
        }
        ChannelCmd::RemoveRecord {
            channel,
            kind,
            record,
            reason,
        } => {
            let id = ctx.channel(&channel)?;
            let eid = ws.remove_channel_record(&id, &kind, &record, reason, now)?;
            did(Act::Removed, &kind, &eid);
        }
        ChannelCmd::RestoreRecord {
            channel,
            kind,
            record,
        } => {
            let id = ctx.channel(&channel)?;
            let eid = ws.restore_channel_record(&id, &kind, &record, now)?;
            did(Act::Restored, &kind, &eid);
        }
        ChannelCmd::Suspend { channel } => status(ctx, &channel, ChannelStatus::Suspended)?,
        ChannelCmd::Terminate { channel } => status(ctx, &channel, ChannelStatus::Terminated)?,
        ChannelCmd::Territory {
            channel,
            region,
            line,
            from,
            to,
            non_exclusive,
        } => {
            let id = ctx.channel(&channel)?;
            let eid = ws.grant_territory(
                &id,
                &region,
                &line,
                clock.parse("from", &from)?,
                clock.parse_end("to", &to)?,
                !non_exclusive,
                now,
            )?;
            saved("授权区域", "territory", &eid);
        }
        ChannelCmd::Communicate {
            channel,
            summary,
            at,
        } => {
            let id = ctx.channel(&channel)?;
            let eid = ws.channel_communicate(&id, &summary, ctx.at(at.as_deref())?, now)?;
            saved("渠道沟通", "communication", &eid);
        }
        ChannelCmd::Train { channel, topic, at } => {
            let id = ctx.channel(&channel)?;
            let eid = ws.channel_train(&id, &topic, ctx.at(at.as_deref())?, now)?;
            saved("渠道培训", "training", &eid);
        }
        ChannelCmd::Assess {
            channel,
            period,
            score,
            note,
        } => {
            let id = ctx.channel(&channel)?;
            let eid = ws.assess_channel(&id, &period, input::int("score", &score)?, note, now)?;
            saved("渠道业绩评估", "assessment", &eid);
        }
        ChannelCmd::PriceReport {
            channel,
            product,
            price,
            at,
        } => {
            let id = ctx.channel(&channel)?;
            let eid = ws.report_channel_price(
                &id,
                &product,
                input::money("price", &price)?,
                ctx.at(at.as_deref())?,
                now,
            )?;
            saved_kind("price_report", "渠道价格报告", "price report", &eid);
        }
    }
    Ok(())
}

pub(super) fn status(ctx: &Ctx, channel: &str, s: ChannelStatus) -> Result<()> {
    let id = ctx.channel(channel)?;
    ctx.ws.set_channel_status(&id, s.clone(), ctx.now())?;
    let (short_id, status_zh) = (id.short(), s.zh());
    wrote("channel", id.as_str(), || {
        say!(
            zh: "已保存：渠道 {short_id} 现为{status_zh}",
            en: "saved: channel {short_id} is now {s}"
        )
    });
    Ok(())
}

pub(super) fn show_channel(ctx: &Ctx, id: &DocId, c: &Channel) -> Result<()> {
    let roster = ctx.ws.roster()?;
    let clock = &ctx.clock;
    let name_of = |u: &str| ctx.user_name(&roster, &Some(u.to_string()));
    // `product lines: ` in English, `产品线：` in Chinese: the values line up.
    let field = |zh: &str, en: &str| label(zh, en, 10, 15);
    println!("{}  [{}]", c.name, id.short());
    let kind = tr(c.channel_kind.zh(), c.channel_kind.as_str());
    println!("  {}{kind}", field("类型", "kind"));
    let (status_label, since) = (field("状态", "status"), clock.fmt(c.status_at));
    let status = tr(c.status.zh(), c.status.as_str());
    say!(
        zh: "  {status_label}{status}（自 {since}）",
        en: "  {status_label}{status} since {since}"
    );
    println!(
        "  {}{}",
        field("区域", "region"),
        c.region.as_deref().unwrap_or("-")
    );
    println!(
        "  {}{}",
        field("产品线", "product lines"),
        c.product_lines
            .keys()
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "  {}{}",
        field("负责人", "owner"),
        ctx.user_name(&roster, &c.owner)
    );
    // A decision line: what was decided, by whom and when; `-` before any.
    let decided = |label: String, what: Option<(&str, &str, Millis)>| match what {
        Some((value, by, at)) => {
            let (by, at) = (name_of(by), clock.fmt(at));
            say!(
                zh: "  {label}{value}（{by}，{at}）",
                en: "  {label}{value} by {by} at {at}"
            )
        }
        None => println!("  {label}-"),
    };
    decided(
        field("资质审核", "qualification"),
        c.qualification
            .as_ref()
            .map(|r| (tr(r.result.zh(), r.result.as_str()), r.by.as_str(), r.at)),
    );
    decided(
        field("风险", "risk"),
        c.risk
            .as_ref()
            .map(|r| (tr(r.level.zh(), r.level.as_str()), r.by.as_str(), r.at)),
    );
    let agreement = field("合作协议", "agreement");
    match &c.agreement {
        Some(a) => {
            let (from, to, signed) = (
                clock.date(a.term_start),
                clock.date(a.term_end),
                clock.fmt_opt(a.signed_at),
            );
            say!(
                zh: "  {agreement}{from} 至 {to}，签署 {signed}",
                en: "  {agreement}{from} .. {to}, signed {signed}"
            );
            let (rights, duties, plan) = (&a.rights, &a.responsibilities, &a.plan);
            say!(
                zh: "    权利：{rights}；责任：{duties}；计划：{plan}",
                en: "    rights: {rights}; responsibilities: {duties}; plan: {plan}"
            );
        }
        None => println!("  {agreement}-"),
    }
    let mut t = Table::titled(&[
        ("ID", "ID"),
        ("区域", "REGION"),
        ("产品线", "LINE"),
        ("起", "FROM"),
        ("止", "TO"),
        ("独家", "EXCLUSIVE"),
    ]);
    for (k, v) in &c.territories {
        t.row(vec![
            short(k).into(),
            v.region.clone(),
            v.product_line.clone(),
            clock.date(v.start),
            clock.date(v.end),
            bool_cell(v.exclusive),
        ]);
    }
    if !t.is_empty() {
        println!("\n{}\n{}", tr("授权区域", "territories"), t.render());
    }
    let mut t = Table::titled(&[
        ("类型", "KIND"),
        ("时间", "WHEN"),
        ("记录人", "BY"),
        ("内容", "WHAT"),
    ]);
    for v in c.communications.values() {
        t.row(vec![
            tr("沟通", "communication").into(),
            clock.fmt(v.at),
            name_of(&v.by),
            v.text.clone(),
        ]);
    }
    for v in c.trainings.values() {
        t.row(vec![
            tr("培训", "training").into(),
            clock.fmt(v.at),
            name_of(&v.by),
            v.text.clone(),
        ]);
    }
    for v in c.assessments.values() {
        let (period, score) = (&v.period, v.score);
        t.row(vec![
            tr("业绩评估", "assessment").into(),
            clock.fmt(v.at),
            name_of(&v.by),
            trf!(zh: "{period} 评分 {score}", en: "{period} score {score}"),
        ]);
    }
    for v in c.price_reports.values() {
        t.row(vec![
            tr("价格报告", "price report").into(),
            clock.fmt(v.at),
            name_of(&v.by),
            format!("{} {}", v.product, yuan(v.price)),
        ]);
    }
    if !t.is_empty() {
        println!("\n{}\n{}", tr("记录", "records"), t.render());
    }
    Ok(())
}
