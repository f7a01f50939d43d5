//! The customer file: customers, complaints, contracts, orders.

#[allow(unused_imports)]
use super::*;

/// `list --json`: one stable row per document (`fieldcrm_workspace::ListRow`).
pub(super) fn print_rows(rows: &[Listed], roster: &Roster) -> Result<()> {
    print_json(
        &rows
            .iter()
            .map(|l| fieldcrm_workspace::ListRow::new(&l.id, &l.summary, roster))
            .collect::<Vec<_>>(),
    )
}

pub(super) fn customer(ctx: &Ctx, c: CustomerCmd) -> Result<()> {
    let ws = &ctx.ws;
    let now = ctx.now();
    match c {
        CustomerCmd::Merge(a) => crate::merge::merge(ws, DocKind::Customer, now, a)?,
        CustomerCmd::Import(a) => crate::import::import(ws, DocKind::Customer, now, a)?,
        CustomerCmd::Add { name, fields } => {
            let class = fields
                .class
                .as_deref()
                .map(|c| input::vocab("class", c))
                .transpose()?;
            let annual_value = fields
                .annual_value
                .as_deref()
                .map(|v| input::money("annual-value", v))
                .transpose()?;
            let id = ws.add_customer(
                NewCustomer {
                    name,
                    credit_code: fields.credit_code,
                    industry: fields.industry,
                    region: fields.region,
                    address: fields.address,
                    class,
                    annual_value,
                    owner: fields.owner,
                    team: fields.team,
                },
                now,
            )?;
            saved("customer", id.as_str());
        }
        CustomerCmd::Edit {
            customer,
            name,
            fields,
        } => {
            let id = ctx.customer(&customer)?;
            let e = CustomerEdit {
                name,
                credit_code: fields.credit_code,
                industry: fields.industry,
                region: fields.region,
                address: fields.address,
                class: fields
                    .class
                    .as_deref()
                    .map(|c| input::vocab("class", c))
                    .transpose()?,
                annual_value: fields
                    .annual_value
                    .as_deref()
                    .map(|v| input::money("annual-value", v))
                    .transpose()?,
                owner: fields.owner,
                team: fields.team,
            };
            ws.edit_customer_fields(&id, e, now)?;
            saved("customer", id.as_str());
        }
        CustomerCmd::Archive { customer, reason } => {
            let id = ctx.customer(&customer)?;
            ws.archive_record(&id, reason, now)?;
            wrote("customer", id.as_str(), || {
                println!("已归档 archived customer {}", id.short())
            });
        }
        CustomerCmd::Restore { customer } => {
            let id = ctx.customer(&customer)?;
            ws.restore_record(&id, now)?;
            wrote("customer", id.as_str(), || {
                println!("已恢复 restored customer {}", id.short())
            });
        }
        CustomerCmd::RemoveRecord {
            customer,
            kind,
            record,
            reason,
        } => {
            let id = ctx.customer(&customer)?;
            let eid = ws.remove_record(&id, &kind, &record, reason, now)?;
            wrote(&kind, &eid, || {
                println!("已删除 removed {kind} {}", short(&eid))
            });
        }
        CustomerCmd::RestoreRecord {
            customer,
            kind,
            record,
        } => {
            let id = ctx.customer(&customer)?;
            let eid = ws.restore_removed(&id, &kind, &record, now)?;
            wrote(&kind, &eid, || {
                println!("已恢复 restored {kind} {}", short(&eid))
            });
        }
        CustomerCmd::ClassException { customer, note } => {
            let id = ctx.customer(&customer)?;
            ws.approve_class_exception(&id, note, now)?;
            wrote("customer", id.as_str(), || {
                println!("已批准 approved class exception for {}", id.short())
            });
        }
        CustomerCmd::List(a) => {
            let roster = ws.roster()?;
            let owner = a
                .owner
                .as_deref()
                .map(|o| ws.resolve_user(&roster, o))
                .transpose()?;
            let class = a
                .class
                .as_deref()
                .map(|c| input::vocab::<CustomerClass>("class", c))
                .transpose()?;
            let mut filter = Filter::default()
                .kind(DocKind::Customer)
                .tombstones(if a.all {
                    Tombstones::Include
                } else {
                    Tombstones::Exclude
                });
            filter.class = class.map(|c| c.to_string());
            filter.owner = owner;
            filter.team = a.team;
            filter.region = a.region;
            filter.name_contains = a.name;
            let rows = ws.list(&filter)?;
            if a.json {
                print_rows(&rows, &roster)?;
            } else {
                let mut t =
                    Table::new(&["ID", "NAME", "CLASS", "OWNER", "TEAM", "REGION", "UPDATED"]);
                for Listed { id, summary: s } in &rows {
                    let class = s
                        .class
                        .as_deref()
                        .and_then(|c| c.parse::<CustomerClass>().ok())
                        .map(|c| format!("{} {}", c, c.zh()))
                        .unwrap_or_else(|| "-".into());
                    let name = match &s.merged_into {
                        Some(m) => format!("{} (merged → {})", s.name, short(m)),
                        None => s.name.clone(),
                    };
                    t.row(vec![
                        id.short().into(),
                        name,
                        class,
                        ctx.user_name(&roster, &s.owner),
                        s.team.clone().unwrap_or("-".into()),
                        s.region.clone().unwrap_or("-".into()),
                        ctx.clock.fmt(s.updated_at),
                    ]);
                }
                print!("{}", t.render());
                println!("{} customer(s)", rows.len());
            }
        }
        CustomerCmd::Show { customer, json } => {
            let id = ctx.customer(&customer)?;
            let doc = ws.load(&id)?;
            let c: Customer = doc.hydrate::<Customer>()?.without_removed();
            if json {
                let mut v = serde_json::to_value(&c)?;
                if let Some(o) = v.as_object_mut() {
                    o.insert("id".into(), json!(id));
                }
                print_json(&v)?;
            } else {
                show_customer(ctx, &id, &c)?;
            }
        }
    }
    Ok(())
}

pub(super) fn show_customer(ctx: &Ctx, id: &DocId, c: &Customer) -> Result<()> {
    let roster = ctx.ws.roster()?;
    let clock = &ctx.clock;
    let name_of = |u: &str| ctx.user_name(&roster, &Some(u.to_string()));
    println!("{}  [{}]", c.name, id.short());
    if let Some(m) = &c.merged_into {
        println!("  merged into {}", short(m));
    }
    let class = c
        .class
        .as_ref()
        .map(|k| format!("{k} ({})", k.zh()))
        .unwrap_or("-".into());
    println!(
        "  class:        {class}{}",
        if c.class_exception.is_some() {
            "  (exception approved)"
        } else {
            ""
        }
    );
    println!(
        "  owner:        {}   team: {}",
        ctx.user_name(&roster, &c.owner),
        c.team.as_deref().unwrap_or("-")
    );
    println!(
        "  industry:     {}   region: {}",
        c.industry.as_deref().unwrap_or("-"),
        c.region.as_deref().unwrap_or("-")
    );
    println!("  address:      {}", c.address.as_deref().unwrap_or("-"));
    println!(
        "  credit code:  {}",
        c.credit_code.as_deref().unwrap_or("-")
    );
    println!(
        "  annual value: {}",
        c.annual_value.map(yuan).unwrap_or("-".into())
    );
    if let Some(p) = &c.plan {
        println!(
            "  plan:         {} (review {})",
            p.text,
            clock.date(p.review_at)
        );
    }
    let section = |title: &str, t: Table| {
        if !t.is_empty() {
            println!("\n{title}");
            for line in t.render().lines() {
                println!("  {line}");
            }
        }
    };
    let mut t = Table::new(&["ID", "NAME", "TITLE", "PHONE", "EMAIL"]);
    for (k, v) in &c.contacts {
        t.row(vec![
            short(k).into(),
            v.name.clone(),
            v.title.clone().unwrap_or_default(),
            v.phone.clone().unwrap_or_default(),
            v.email.clone().unwrap_or_default(),
        ]);
    }
    section("联系人 contacts", t);
    let mut its: Vec<_> = c.interactions.iter().collect();
    its.sort_by_key(|(_, i)| i.occurred_at);
    let mut t = Table::new(&["ID", "WHEN", "KIND", "BY", "SUMMARY"]);
    for (k, v) in its {
        t.row(vec![
            short(k).into(),
            clock.fmt(v.occurred_at),
            format!("{} {}", v.kind, v.kind.zh()),
            name_of(&v.by),
            v.summary.clone(),
        ]);
    }
    section("往来记录 interactions", t);
    let mut t = Table::new(&[
        "ID",
        "OPENED",
        "SEVERITY",
        "RESPONDED",
        "ESCALATED",
        "CLOSED",
        "SUMMARY",
    ]);
    for (k, v) in &c.complaints {
        t.row(vec![
            short(k).into(),
            clock.fmt(v.opened_at),
            v.severity.to_string(),
            clock.fmt_opt(v.first_response.as_ref().map(|r| r.at)),
            v.escalation
                .as_ref()
                .map(|e| name_of(&e.to))
                .unwrap_or("-".into()),
            clock.fmt_opt(v.closed_at),
            v.summary.clone(),
        ]);
    }
    section("投诉 complaints", t);
    let mut t = Table::new(&["ID", "WHEN", "SCORE", "COMMENT"]);
    for (k, v) in &c.surveys {
        t.row(vec![
            short(k).into(),
            clock.fmt(v.at),
            v.score.to_string(),
            v.comment.clone().unwrap_or_default(),
        ]);
    }
    section("回访 surveys", t);
    let mut t = Table::new(&["ID", "TITLE", "STAGE", "AMOUNT", "LAST ACTIVITY"]);
    for (k, v) in &c.opportunities {
        t.row(vec![
            short(k).into(),
            v.title.clone(),
            v.stage.to_string(),
            yuan(v.amount),
            clock.fmt(v.last_activity_at),
        ]);
    }
    section("销售机会 opportunities", t);
    let mut t = Table::new(&["ID", "PRODUCT", "QTY", "LIST", "PRICE", "APPROVED BY"]);
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
    section("报价 quotes", t);
    let mut t = Table::new(&["ID", "TITLE", "AMOUNT", "LEGAL REVIEW", "SIGNED", "ARCHIVE"]);
    for (k, v) in &c.contracts {
        t.row(vec![
            short(k).into(),
            v.title.clone(),
            yuan(v.amount),
            v.legal_review
                .as_ref()
                .map(|r| {
                    let by = format!("{} by {}", r.result, name_of(&r.by));
                    signer(&by, void(Authority::LegalReview, &r.covers, v))
                })
                .unwrap_or("-".into()),
            clock.fmt_opt(v.signed_at),
            v.archive_ref.clone().unwrap_or("-".into()),
        ]);
    }
    section("合同 contracts", t);
    let mut t = Table::new(&[
        "ID",
        "PRODUCT",
        "QTY",
        "PRICE",
        "PROMISED",
        "DELIVERED",
        "CHANNEL",
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
    section("订单 orders", t);
    let mut t = Table::new(&[
        "ID",
        "KIND",
        "DIRECTION",
        "VALUE",
        "DECLARED",
        "APPROVED BY",
        "WHAT",
    ]);
    for (k, v) in &c.gifts {
        t.row(vec![
            short(k).into(),
            v.kind.to_string(),
            v.direction.to_string(),
            yuan(v.value),
            v.declared.to_string(),
            v.approval
                .as_ref()
                .map(|a| signer(&name_of(&a.by), void(Authority::GiftApproval, &a.covers, v)))
                .unwrap_or("-".into()),
            v.description.clone(),
        ]);
    }
    section("礼品招待 gifts", t);
    Ok(())
}

use fieldcrm_model::Authority;
use fieldcrm_model::signoff::is_void as void;

/// Who signed, marked when the sign-off no longer covers the values (they changed).
fn signer(name: &str, void: bool) -> String {
    if void {
        format!("{name} 已失效 void")
    } else {
        name.to_string()
    }
}

pub(super) fn complaint(ctx: &Ctx, c: ComplaintCmd) -> Result<()> {
    let ws = &ctx.ws;
    let now = ctx.now();
    match c {
        ComplaintCmd::Open {
            customer,
            summary,
            severity,
            at,
        } => {
            let id = ctx.customer(&customer)?;
            let at = ctx.at(at.as_deref())?;
            let eid =
                ws.open_complaint(&id, input::vocab("severity", &severity)?, &summary, at, now)?;
            saved("complaint", &eid);
        }
        ComplaintCmd::Respond {
            customer,
            complaint,
            text,
            at,
        } => {
            let id = ctx.customer(&customer)?;
            let at = ctx.at(at.as_deref())?;
            ws.respond_complaint(&id, &complaint, &text, at, now)?;
            saved("response to complaint", &complaint);
        }
        ComplaintCmd::Escalate {
            customer,
            complaint,
            to,
        } => {
            let id = ctx.customer(&customer)?;
            ws.escalate_complaint(&id, &complaint, &to, now)?;
            saved("escalation of complaint", &complaint);
        }
        ComplaintCmd::Investigate {
            customer,
            complaint,
            departments,
            findings,
        } => {
            let id = ctx.customer(&customer)?;
            ws.investigate_complaint(&id, &complaint, departments, &findings, now)?;
            saved("investigation of complaint", &complaint);
        }
        ComplaintCmd::Resolve {
            customer,
            complaint,
            text,
        } => {
            let id = ctx.customer(&customer)?;
            ws.resolve_complaint(&id, &complaint, &text, now)?;
            saved("resolution of complaint", &complaint);
        }
    }
    Ok(())
}

pub(super) fn contract(ctx: &Ctx, c: ContractCmd) -> Result<()> {
    let ws = &ctx.ws;
    let now = ctx.now();
    match c {
        ContractCmd::Add {
            customer,
            title,
            amount,
        } => {
            let id = ctx.customer(&customer)?;
            let eid = ws.add_contract(&id, &title, input::money("amount", &amount)?, now)?;
            saved("contract", &eid);
        }
        ContractCmd::Review {
            customer,
            contract,
            result,
            note,
        } => {
            let id = ctx.customer(&customer)?;
            ws.review_contract(&id, &contract, input::vocab("result", &result)?, note, now)?;
            saved("legal review of contract", &contract);
        }
        ContractCmd::Sign {
            customer,
            contract,
            at,
        } => {
            let id = ctx.customer(&customer)?;
            let at = ctx.at(at.as_deref())?;
            ws.sign_contract(&id, &contract, at, now)?;
            saved("signing of contract", &contract);
        }
        ContractCmd::Archive {
            customer,
            contract,
            reference,
        } => {
            let id = ctx.customer(&customer)?;
            ws.archive_contract(&id, &contract, &reference, now)?;
            saved("archive reference of contract", &contract);
        }
    }
    Ok(())
}

pub(super) fn order(ctx: &Ctx, c: OrderCmd) -> Result<()> {
    let ws = &ctx.ws;
    let now = ctx.now();
    match c {
        OrderCmd::Edit {
            customer,
            order,
            price,
            quantity,
        } => {
            let id = ctx.customer(&customer)?;
            let change = super::priced_change(price.as_deref(), quantity.as_deref())?;
            let edit = ws.edit_order(&id, &order, change, now)?;
            super::edited(ctx, "order", &edit)?;
        }
        OrderCmd::Add {
            customer,
            product,
            quantity,
            price,
            promised,
            channel,
        } => {
            let id = ctx.customer(&customer)?;
            let promised = ctx.clock.parse_end("promised", &promised)?;
            let channel = channel.map(|c| ctx.channel(&c)).transpose()?;
            let price = match price {
                Some(p) => input::money("price", &p)?,
                None => {
                    let cat = ws.catalog()?;
                    let key =
                        fieldcrm_workspace::resolve_entity("product", &cat.products, &product)?;
                    cat.products
                        .get(&key)
                        .map(|p| p.list_price)
                        .unwrap_or_default()
                }
            };
            let (eid, bp) = ws.add_order(
                &id,
                &product,
                input::int("quantity", &quantity)?,
                price,
                promised,
                channel,
                now,
            )?;
            saved("order", &eid);
            discount_note(ctx, bp)?;
        }
        OrderCmd::Deliver {
            customer,
            order,
            at,
        } => {
            let id = ctx.customer(&customer)?;
            let at = ctx.at(at.as_deref())?;
            ws.deliver_order(&id, &order, at, now)?;
            saved("delivery of order", &order);
        }
        OrderCmd::Approve {
            customer,
            order,
            note,
        } => {
            let id = ctx.customer(&customer)?;
            ws.approve_order(&id, &order, note, now)?;
            wrote("order", &order, || {
                println!("已批准 approved order {order}")
            });
        }
        OrderCmd::Cancel(a) => {
            let id = ctx.customer(&a.customer)?;
            let eid = ws.cancel_order(&id, &a.record, a.reason, now)?;
            println!("已取消 cancelled order {}", short(&eid));
        }
    }
    Ok(())
}

/// `contact ...`.
pub(super) fn contact(ctx: &Ctx, c: ContactCmd) -> Result<()> {
    let ws = &ctx.ws;
    let now = ctx.now();
    match c {
        ContactCmd::Add {
            customer,
            name,
            phone,
            email,
            title,
        } => {
            let id = ctx.customer(&customer)?;
            let eid = ws.add_contact(
                &id,
                Contact {
                    name,
                    title,
                    phone,
                    email,
                    created_at: now,
                },
                now,
            )?;
            saved("contact", &eid);
        }
        ContactCmd::Edit {
            customer,
            contact,
            name,
            phone,
            email,
            title,
        } => {
            let id = ctx.customer(&customer)?;
            let edit = fieldcrm_workspace::ContactEdit {
                name,
                title,
                phone,
                email,
            };
            let eid = ws.edit_contact(&id, &contact, edit, now)?;
            saved("contact", &eid);
        }
        ContactCmd::Remove(r) => remove(ctx, "contact", r)?,
        ContactCmd::Restore(r) => restore(ctx, "contact", r)?,
    }
    Ok(())
}

/// `interaction ...`.
pub(super) fn interaction(ctx: &Ctx, c: InteractionCmd) -> Result<()> {
    let ws = &ctx.ws;
    let now = ctx.now();
    match c {
        InteractionCmd::Log {
            customer,
            kind,
            summary,
            at,
            contact,
        } => {
            let id = ctx.customer(&customer)?;
            let kind: InteractionKind = input::vocab("kind", &kind)?;
            let at = ctx.at(at.as_deref())?;
            let eid = ws.log_interaction(&id, kind, at, &summary, contact.as_deref(), now)?;
            saved("interaction", &eid);
        }
        InteractionCmd::Edit {
            customer,
            interaction,
            kind,
            summary,
            at,
            contact,
        } => {
            let id = ctx.customer(&customer)?;
            let edit = fieldcrm_workspace::InteractionEdit {
                kind: kind.map(|k| input::vocab("kind", &k)).transpose()?,
                occurred_at: at.map(|a| ctx.clock.parse("at", &a)).transpose()?,
                summary,
                contact,
            };
            let eid = ws.edit_interaction(&id, &interaction, edit, now)?;
            saved("interaction", &eid);
        }
        InteractionCmd::Remove(r) => remove(ctx, "interaction", r)?,
        InteractionCmd::Restore(r) => restore(ctx, "interaction", r)?,
    }
    Ok(())
}

fn remove(ctx: &Ctx, kind: &str, r: RecordRemoval) -> Result<()> {
    let id = ctx.customer(&r.customer)?;
    let eid = ctx
        .ws
        .remove_record(&id, kind, &r.record, r.reason, ctx.now())?;
    println!("已删除 removed {kind} {}", short(&eid));
    Ok(())
}

fn restore(ctx: &Ctx, kind: &str, r: RecordRef) -> Result<()> {
    let id = ctx.customer(&r.customer)?;
    let eid = ctx.ws.restore_removed(&id, kind, &r.record, ctx.now())?;
    println!("已恢复 restored {kind} {}", short(&eid));
    Ok(())
}
