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
                let parts = customer_table(ctx, &roster, &filter)?;
                let n: usize = parts.iter().map(|p| p.order.len()).sum();
                if let Some((first, more)) = parts.split_first() {
                    let more: Vec<&Table> = more.iter().map(|p| &p.table).collect();
                    first.table.print_parts(&more, ListPart::merged(&parts))?;
                }
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

/// One part of the customer list (see [`customer_table`]).
struct ListPart {
    table: Table,
    /// Each row's name length in bytes (the name cell may carry a merged note after it).
    names: Vec<usize>,
    /// The rows sorted by name, then by ID.
    order: Vec<usize>,
}

impl ListPart {
    /// Row `r`'s name.
    fn name(&self, r: usize) -> &str {
        let len = self.names.get(r).copied().unwrap_or_default();
        self.table.cell(r, 1).get(..len).unwrap_or_default()
    }

    /// The row at `at` in this part's order, and its name.
    fn at(&self, at: usize) -> Option<(usize, &str)> {
        let r = *self.order.get(at)?;
        Some((r, self.name(r)))
    }

    /// Every part's rows as (part, row), merged into one order by name, then by ID (the
    /// parts are in ID order, so on equal names the earlier part goes first). Each part's
    /// next name is looked up once, when the part moves on: the rows sit in the table's
    /// text in ID order, so a lookup in name order is a cache miss at 100,000 rows.
    fn merged(parts: &[ListPart]) -> impl Iterator<Item = (usize, usize)> + '_ {
        // (position in the part's order, that row and its name) per part.
        let mut heads: Vec<(usize, Option<(usize, &str)>)> =
            parts.iter().map(|p| (0, p.at(0))).collect();
        std::iter::from_fn(move || {
            let mut best: Option<(usize, &str)> = None;
            for (p, (_, head)) in heads.iter().enumerate() {
                if let Some((_, name)) = head
                    && best.is_none_or(|(_, n)| *name < n)
                {
                    best = Some((p, name));
                }
            }
            let (p, _) = best?;
            let (at, head) = heads.get_mut(p)?;
            let (r, _) = (*head)?;
            *at += 1;
            *head = parts.get(p)?.at(*at);
            Some((p, r))
        })
    }
}

/// The customer list, in parts of the ID space read on every core at once. Each row
/// goes straight into its part's table text as it is read (a list of 100,000 keeps no
/// summaries), and each part is sorted on its own thread; [`ListPart::merged`] gives
/// the order across parts. There is always at least one part.
fn customer_table(ctx: &Ctx, roster: &Roster, filter: &Filter) -> Result<Vec<ListPart>> {
    let header = [
        ("ID", "ID"),
        ("名称", "NAME"),
        ("分类", "CLASS"),
        ("负责人", "OWNER"),
        ("团队", "TEAM"),
        ("区域", "REGION"),
        ("更新时间", "UPDATED"),
    ];
    let parts = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
    // Room for every document at once (the count is one read of the index).
    let at_most = ctx.ws.store().len().map_or(0, |n| n as usize) / parts + 1;
    let part = |part: KeyPart| -> Result<ListPart> {
        let mut table = Table::titled(&header);
        table.reserve(at_most, 96);
        let mut updated = String::new();
        let names = ctx.ws.list_map_part(filter, part, |id, s| {
            let class = s.class.and_then(|c| c.parse::<CustomerClass>().ok());
            let class = class.as_ref().map_or("-", |c| tr(c.zh(), c.as_str()));
            let merged;
            let name = match s.merged_into {
                Some(m) => {
                    let (name, into) = (s.name, short(m));
                    merged = trf!(zh: "{name}（已并入 {into}）", en: "{name} (merged → {into})");
                    merged.as_str()
                }
                None => s.name,
            };
            updated.clear();
            ctx.clock.fmt_into(&mut updated, s.updated_at);
            table.row_of([
                id.short(),
                name,
                class,
                user_label(roster, s.owner),
                s.team.unwrap_or("-"),
                s.region.unwrap_or("-"),
                &updated,
            ]);
            s.name.len()
        })?;
        let mut part = ListPart {
            table,
            names,
            order: Vec::new(),
        };
        // Rows came in ID order: (name, row) sorts by name, then by ID.
        let mut keyed: Vec<(&str, usize)> =
            (0..part.names.len()).map(|r| (part.name(r), r)).collect();
        keyed.sort_unstable();
        let order = keyed.into_iter().map(|(_, r)| r).collect();
        part.order = order;
        Ok(part)
    };
    let mut pieces = std::thread::scope(|scope| {
        let running: Vec<_> = KeyPart::all(parts)
            .map(|p| scope.spawn(move || part(p)))
            .collect();
        running
            .into_iter()
            .map(|r| {
                r.join()
                    .unwrap_or_else(|_| Err(anyhow!(tr("列出客户时出错", "listing failed"))))
            })
            .collect::<Result<Vec<_>>>()
    })?;
    if pieces.is_empty() {
        pieces.push(ListPart {
            table: Table::titled(&header),
            names: Vec::new(),
            order: Vec::new(),
        });
    }
    Ok(pieces)
}
