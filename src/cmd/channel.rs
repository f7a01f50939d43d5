//! Channel partners.

#[allow(unused_imports)]
use super::*;

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
            saved("channel", id.as_str());
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
            let mut filter = Filter::default().kind(DocKind::Channel).tombstones(if all {
                Tombstones::Include
            } else {
                Tombstones::Exclude
            });
            filter.status = status.map(|s| s.to_string());
            filter.region = region;
            let rows = ws.list(&filter)?;
            if json {
                print_rows(&rows, &roster)?;
            } else {
                let mut t =
                    Table::new(&["ID", "NAME", "KIND", "STATUS", "REGION", "OWNER", "UPDATED"]);
                for Listed { id, summary: s } in &rows {
                    let kind = s
                        .class
                        .as_deref()
                        .and_then(|k| k.parse::<ChannelKind>().ok())
                        .map(|k| format!("{k} {}", k.zh()))
                        .unwrap_or("-".into());
                    let status = s
                        .status
                        .as_deref()
                        .and_then(|k| k.parse::<ChannelStatus>().ok())
                        .map(|k| format!("{k} {}", k.zh()))
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
                print!("{}", t.render());
                println!("{} channel(s)", rows.len());
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
            saved_kind("channel", "qualification review of", id.as_str());
        }
        ChannelCmd::AssessRisk {
            channel,
            level,
            note,
        } => {
            let id = ctx.channel(&channel)?;
            ws.assess_channel_risk(&id, input::vocab("level", &level)?, note, now)?;
            saved_kind("channel", "risk assessment of", id.as_str());
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
            saved_kind("channel", "agreement of", id.as_str());
        }
        ChannelCmd::Activate { channel } => status(ctx, &channel, ChannelStatus::Active)?,
        ChannelCmd::Archive { channel, reason } => {
            let id = ctx.channel(&channel)?;
            ctx.ws.archive_record(&id, reason, ctx.now())?;
            wrote("channel", id.as_str(), || {
                println!("已归档 archived channel {}", id.short())
            });
        }
        ChannelCmd::Restore { channel } => {
            let id = ctx.channel(&channel)?;
            ctx.ws.restore_record(&id, ctx.now())?;
            wrote("channel", id.as_str(), || {
                println!("已恢复 restored channel {}", id.short())
            });
        }
        ChannelCmd::RemoveRecord {
            channel,
            kind,
            record,
            reason,
        } => {
            let id = ctx.channel(&channel)?;
            let eid = ws.remove_channel_record(&id, &kind, &record, reason, now)?;
            wrote(&kind, &eid, || {
                println!("已删除 removed {kind} {}", short(&eid))
            });
        }
        ChannelCmd::RestoreRecord {
            channel,
            kind,
            record,
        } => {
            let id = ctx.channel(&channel)?;
            let eid = ws.restore_channel_record(&id, &kind, &record, now)?;
            wrote(&kind, &eid, || {
                println!("已恢复 restored {kind} {}", short(&eid))
            });
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
            saved("territory", &eid);
        }
        ChannelCmd::Communicate {
            channel,
            summary,
            at,
        } => {
            let id = ctx.channel(&channel)?;
            let eid = ws.channel_communicate(&id, &summary, ctx.at(at.as_deref())?, now)?;
            saved("communication", &eid);
        }
        ChannelCmd::Train { channel, topic, at } => {
            let id = ctx.channel(&channel)?;
            let eid = ws.channel_train(&id, &topic, ctx.at(at.as_deref())?, now)?;
            saved("training", &eid);
        }
        ChannelCmd::Assess {
            channel,
            period,
            score,
            note,
        } => {
            let id = ctx.channel(&channel)?;
            let eid = ws.assess_channel(&id, &period, input::int("score", &score)?, note, now)?;
            saved("assessment", &eid);
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
            saved_kind("price_report", "price report", &eid);
        }
    }
    Ok(())
}

pub(super) fn status(ctx: &Ctx, channel: &str, s: ChannelStatus) -> Result<()> {
    let id = ctx.channel(channel)?;
    ctx.ws.set_channel_status(&id, s.clone(), ctx.now())?;
    wrote("channel", id.as_str(), || {
        println!("已保存 channel {} is now {s} ({})", id.short(), s.zh())
    });
    Ok(())
}

pub(super) fn show_channel(ctx: &Ctx, id: &DocId, c: &Channel) -> Result<()> {
    let roster = ctx.ws.roster()?;
    let clock = &ctx.clock;
    let name_of = |u: &str| ctx.user_name(&roster, &Some(u.to_string()));
    println!("{}  [{}]", c.name, id.short());
    println!(
        "  kind:          {} ({})",
        c.channel_kind,
        c.channel_kind.zh()
    );
    println!(
        "  status:        {} ({}) since {}",
        c.status,
        c.status.zh(),
        clock.fmt(c.status_at)
    );
    println!("  region:        {}", c.region.as_deref().unwrap_or("-"));
    println!(
        "  product lines: {}",
        c.product_lines
            .keys()
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!("  owner:         {}", ctx.user_name(&roster, &c.owner));
    match &c.qualification {
        Some(r) => println!(
            "  qualification: {} by {} at {}",
            r.result,
            name_of(&r.by),
            clock.fmt(r.at)
        ),
        None => println!("  qualification: -"),
    }
    match &c.risk {
        Some(r) => println!(
            "  risk:          {} by {} at {}",
            r.level,
            name_of(&r.by),
            clock.fmt(r.at)
        ),
        None => println!("  risk:          -"),
    }
    match &c.agreement {
        Some(a) => {
            println!(
                "  agreement:     {} .. {}, signed {}",
                clock.date(a.term_start),
                clock.date(a.term_end),
                clock.fmt_opt(a.signed_at)
            );
            println!(
                "    rights: {}; responsibilities: {}; plan: {}",
                a.rights, a.responsibilities, a.plan
            );
        }
        None => println!("  agreement:     -"),
    }
    let mut t = Table::new(&["ID", "REGION", "LINE", "FROM", "TO", "EXCLUSIVE"]);
    for (k, v) in &c.territories {
        t.row(vec![
            short(k).into(),
            v.region.clone(),
            v.product_line.clone(),
            clock.date(v.start),
            clock.date(v.end),
            v.exclusive.to_string(),
        ]);
    }
    if !t.is_empty() {
        println!("\n区域 territories\n{}", t.render());
    }
    let mut t = Table::new(&["KIND", "WHEN", "BY", "WHAT"]);
    for v in c.communications.values() {
        t.row(vec![
            "communication".into(),
            clock.fmt(v.at),
            name_of(&v.by),
            v.text.clone(),
        ]);
    }
    for v in c.trainings.values() {
        t.row(vec![
            "training".into(),
            clock.fmt(v.at),
            name_of(&v.by),
            v.text.clone(),
        ]);
    }
    for v in c.assessments.values() {
        t.row(vec![
            "assessment".into(),
            clock.fmt(v.at),
            name_of(&v.by),
            format!("{} score {}", v.period, v.score),
        ]);
    }
    for v in c.price_reports.values() {
        t.row(vec![
            "price report".into(),
            clock.fmt(v.at),
            name_of(&v.by),
            format!("{} {}", v.product, yuan(v.price)),
        ]);
    }
    if !t.is_empty() {
        println!("\n记录 records\n{}", t.render());
    }
    Ok(())
}
