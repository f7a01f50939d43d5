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
            saved("客户", "customer", id.as_str());
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
            saved("客户", "customer", id.as_str());
        }
        CustomerCmd::Archive { customer, reason } => {
            let id = ctx.customer(&customer)?;
            ws.archive_record(&id, reason, now)?;
            did(Act::Archived, "customer", id.as_str());
        }
        CustomerCmd::Restore { customer } => {
            let id = ctx.customer(&customer)?;
            ws.restore_record(&id, now)?;
            did(Act::Restored, "customer", id.as_str());
        }
        CustomerCmd::RemoveRecord {
            customer,
            kind,
            record,
            reason,
        } => {
            let id = ctx.customer(&customer)?;
            let eid = ws.remove_record(&id, &kind, &record, reason, now)?;
            did(Act::Removed, &kind, &eid);
        }
        CustomerCmd::RestoreRecord {
            customer,
            kind,
            record,
        } => {
            let id = ctx.customer(&customer)?;
            let eid = ws.restore_removed(&id, &kind, &record, now)?;
            did(Act::Restored, &kind, &eid);
        }
        CustomerCmd::ClassException { customer, note } => {
            let id = ctx.customer(&customer)?;
            ws.approve_class_exception(&id, note, now)?;
            let short_id = id.short();
            wrote("customer", id.as_str(), || {
                say!(
                    zh: "已批准客户 {short_id} 的分类例外",
                    en: "approved class exception for {short_id}"
                )
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
            let mut filter = list_filter(DocKind::Customer, a.all);
            filter.class = class.map(|c| c.to_string());
            filter.owner = owner;
            filter.team = a.team;
            filter.region = a.region;
            filter.name_contains = a.name;
            if a.json {
                print_rows(&ws.list(&filter)?, &roster)?;
            } else {
                let (front, back) = customer_table(ctx, &roster, &filter)?;
                let n = front.len() + back.len();
                // The front's rows, then the back's (read from the last name on).
                let order = (0..front.len())
                    .map(|r| (0, r))
                    .chain((0..back.len()).rev().map(|r| (1, r)));
                front.print_parts(&[&back], order)?;
                say!(zh: "共 {n} 个客户", en: "{n} customer(s)");
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
            saved("投诉", "complaint", &eid);
        }
        ComplaintCmd::Respond {
            customer,
            complaint,
            text,
            at,
        } => {
            let id = ctx.customer(&customer)?;
            let at = ctx.at(at.as_deref())?;
            let eid = ws.respond_complaint(&id, &complaint, &text, at, now)?;
            saved("投诉的首次响应", "response to complaint", &eid);
        }
        ComplaintCmd::Escalate {
            customer,
            complaint,
            to,
        } => {
            let id = ctx.customer(&customer)?;
            let eid = ws.escalate_complaint(&id, &complaint, &to, now)?;
            saved("投诉的上报", "escalation of complaint", &eid);
        }
        ComplaintCmd::Investigate {
            customer,
            complaint,
            departments,
            findings,
        } => {
            let id = ctx.customer(&customer)?;
            let eid = ws.investigate_complaint(&id, &complaint, departments, &findings, now)?;
            saved("投诉的调查", "investigation of complaint", &eid);
        }
        ComplaintCmd::Resolve {
            customer,
            complaint,
            text,
        } => {
            let id = ctx.customer(&customer)?;
            let eid = ws.resolve_complaint(&id, &complaint, &text, now)?;
            saved("投诉的处理结果", "resolution of complaint", &eid);
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
            saved("合同", "contract", &eid);
        }
        ContractCmd::Review {
            customer,
            contract,
            result,
            note,
        } => {
            let id = ctx.customer(&customer)?;
            let eid =
                ws.review_contract(&id, &contract, input::vocab("result", &result)?, note, now)?;
            saved("合同的法务审核", "legal review of contract", &eid);
        }
        ContractCmd::Sign {
            customer,
            contract,
            at,
        } => {
            let id = ctx.customer(&customer)?;
            let at = ctx.at(at.as_deref())?;
            let eid = ws.sign_contract(&id, &contract, at, now)?;
            saved("合同的签署", "signing of contract", &eid);
        }
        ContractCmd::Archive {
            customer,
            contract,
            reference,
        } => {
            let id = ctx.customer(&customer)?;
            let eid = ws.archive_contract(&id, &contract, &reference, now)?;
            saved("合同的归档编号", "archive reference of contract", &eid);
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
            super::edited(ctx, "订单", "order", &edit)?;
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
            saved("订单", "order", &eid);
            discount_note(ctx, bp)?;
        }
        OrderCmd::Deliver {
            customer,
            order,
            at,
        } => {
            let id = ctx.customer(&customer)?;
            let at = ctx.at(at.as_deref())?;
            let eid = ws.deliver_order(&id, &order, at, now)?;
            saved("订单的交付", "delivery of order", &eid);
        }
        OrderCmd::Approve {
            customer,
            order,
            note,
        } => {
            let id = ctx.customer(&customer)?;
            did(
                Act::Approved,
                "order",
                &ws.approve_order(&id, &order, note, now)?,
            );
        }
        OrderCmd::Cancel(a) => {
            let id = ctx.customer(&a.customer)?;
            did(
                Act::Cancelled,
                "order",
                &ws.cancel_order(&id, &a.record, a.reason, now)?,
            );
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
            saved("联系人", "contact", &eid);
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
            saved("联系人", "contact", &eid);
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
            saved("互动记录", "interaction", &eid);
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
            saved("互动记录", "interaction", &eid);
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
    did(Act::Removed, kind, &eid);
    Ok(())
}

fn restore(ctx: &Ctx, kind: &str, r: RecordRef) -> Result<()> {
    let id = ctx.customer(&r.customer)?;
    let eid = ctx.ws.restore_removed(&id, kind, &r.record, ctx.now())?;
    did(Act::Restored, kind, &eid);
    Ok(())
}

/// The customer list as two tables read at once from both ends of the store's name
/// order ([`fieldcrm_workspace::Workspace::list_by_name_ends`]): the first from the
/// first name on, the second from the last name backwards. Each row goes straight into
/// its table's text as it is read (a list of 100,000 keeps no summaries), and nothing
/// is sorted.
fn customer_table(ctx: &Ctx, roster: &Roster, filter: &Filter) -> Result<(Table, Table)> {
    let header = [
        ("ID", "ID"),
        ("名称", "NAME"),
        ("分类", "CLASS"),
        ("负责人", "OWNER"),
        ("团队", "TEAM"),
        ("区域", "REGION"),
        ("更新时间", "UPDATED"),
    ];
    // Room for every document at once in each (the count is one read of the index).
    let at_most = ctx.ws.store().len().map_or(0, |n| n as usize) / 2 + 1;
    let end = || {
        let mut table = Table::titled(&header);
        table.reserve(at_most, 96);
        (table, String::new())
    };
    let ((front, _), (back, _)) =
        ctx.ws
            .list_by_name_ends(filter, end(), end(), |(table, updated), id, s| {
                let class = s.class.and_then(|c| c.parse::<CustomerClass>().ok());
                let class = class.as_ref().map_or("-", |c| tr(c.zh(), c.as_str()));
                let merged;
                let name = match s.merged_into {
                    Some(m) => {
                        let (name, into) = (s.name, short(m));
                        merged =
                            trf!(zh: "{name}（已并入 {into}）", en: "{name} (merged → {into})");
                        merged.as_str()
                    }
                    None => s.name,
                };
                updated.clear();
                ctx.clock.fmt_into(updated, s.updated_at);
                table.row_of([
                    id.short(),
                    name,
                    class,
                    user_label(roster, s.owner),
                    s.team.unwrap_or("-"),
                    s.region.unwrap_or("-"),
                    updated.as_str(),
                ]);
            })?;
    Ok((front, back))
}
