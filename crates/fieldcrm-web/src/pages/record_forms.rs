//! Correcting, deleting and cancelling one record of a customer file:
//! `GET /customers/{id}/{collection}/{entity}/{edit|delete|cancel}` is a page of its own
//! (the edit form pre-filled; the delete or cancel confirmation with a reason field), and
//! its `POST` does it through the same workspace calls as the CLI (`edit_contact`,
//! `edit_interaction`, `remove_record`, `cancel_quote`, `cancel_order`,
//! `restore_removed`). A refusal comes back on the same page with the message beside the
//! field, in the user's language. No script: the confirmation is a second page.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use fieldcrm_model::{Customer, DocId, InteractionKind, Lang, Role};
use fieldcrm_workspace::{ContactEdit, InteractionEdit, Workspace, input};
use maud::{Markup, html};

use super::customer::{FileData, customer_id, return_to};
use super::{Base, base, fail};
use crate::App;
use crate::format::{input_time, money, short, t, when};
use crate::security::{Ctx, Fields};
use crate::store::WsError;
use crate::ui::{self, Form, FormState, vocab};

const CONTACT_FIELDS: &[&str] = &["name", "title", "phone", "email"];
const VISIT_FIELDS: &[&str] = &["kind", "at", "summary", "contact"];
const REASON_FIELDS: &[&str] = &["reason"];

/// Whether `action` on one record is handled here.
pub(crate) fn handles(action: &str) -> bool {
    matches!(action, "edit" | "delete" | "cancel" | "restore")
}

/// What the record is called, in the user's language.
fn what(collection: &str, lang: Lang) -> &'static str {
    match collection {
        "contacts" => t(lang, "联系人", "contact"),
        "interactions" => t(lang, "往来记录", "interaction"),
        "quotes" => t(lang, "报价", "quote"),
        "orders" => t(lang, "订单", "order"),
        "complaints" => t(lang, "投诉", "complaint"),
        "surveys" => t(lang, "回访", "survey"),
        "opportunities" => t(lang, "商机", "opportunity"),
        "contracts" => t(lang, "合同", "contract"),
        "gifts" => t(lang, "礼品", "gift"),
        _ => t(lang, "记录", "record"),
    }
}

fn url(id: &DocId, collection: &str, entity: &str, action: &str) -> String {
    format!("/customers/{id}/{collection}/{entity}/{action}")
}

/// The Edit and Delete links of a contact or interaction on the file page.
pub(super) fn edit_delete(ctx: &Ctx, d: &FileData, collection: &str, entity: &str) -> Markup {
    let lang = ctx.lang;
    let w = what(collection, lang);
    html! {
        span.record-actions {
            a.small-link href=(url(&d.id, collection, entity, "edit"))
                aria-label={ (t(lang, "修改", "Edit ")) (w) } { (t(lang, "修改", "Edit")) }
            " · "
            a.small-link.danger-link href=(url(&d.id, collection, entity, "delete"))
                aria-label={ (t(lang, "删除", "Delete ")) (w) } { (t(lang, "删除", "Delete")) }
        }
    }
}

/// The Cancel link of a quote or order that may still be cancelled.
pub(super) fn cancel_link(ctx: &Ctx, d: &FileData, collection: &str, entity: &str) -> Markup {
    let lang = ctx.lang;
    let label = match collection {
        "quotes" => t(lang, "取消报价", "Cancel quote"),
        _ => t(lang, "取消订单", "Cancel order"),
    };
    html! {
        a.small-link.danger-link href=(url(&d.id, collection, entity, "cancel")) { (label) }
    }
}

/// The "cancelled" chip and who, when, why.
pub(super) fn cancelled_note(b: &Base, lang: Lang, note: Option<&fieldcrm_model::Note>) -> Markup {
    html! {
        @if let Some(n) = note {
            p.muted.cancelled-note {
                (b.user_name(&n.by)) " " (t(lang, "取消于 ", "cancelled it ")) (when(&b.clock, n.at, lang))
                @if !n.text.is_empty() { " · " (n.text) }
            }
        }
    }
}

/// Removed records of the file, each with its Restore button (managers and admins).
pub(super) fn removed_section(ctx: &Ctx, b: &Base, d: &FileData) -> Markup {
    let lang = ctx.lang;
    let manager = matches!(d.role, Some(Role::Manager | Role::Admin));
    html! {
        @if manager && !d.customer.removed.is_empty() {
            details.card #removed-records {
                summary { h2 { (t(lang, "已删除的记录", "Removed records")) " " span.count { (d.customer.removed.len()) } } }
                ul.list {
                    @for (key, n) in &d.customer.removed {
                        @if let Some((collection, entity)) = key.split_once('/') {
                            li.row {
                                div.row-main {
                                    strong { (what(collection, lang)) " " code { (short(entity)) } }
                                    div.row-sub {
                                        (b.user_name(&n.by)) " · " (when(&b.clock, n.at, lang))
                                        @if !n.text.is_empty() { " · " (n.text) }
                                    }
                                }
                                form.inline-form method="post" action=(url(&d.id, collection, entity, "restore")) {
                                    input type="hidden" name="_csrf" value=(ctx.csrf);
                                    button.small.secondary type="submit" aria-label={ (t(lang, "恢复", "Restore ")) (what(collection, lang)) " " (short(entity)) } {
                                        (t(lang, "恢复", "Restore"))
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The whole file, removed records included.
fn whole(ws: &Workspace, id: &DocId) -> Result<Customer, WsError> {
    Ok(ws
        .load(id)?
        .hydrate::<Customer>()
        .map_err(fieldcrm_workspace::Error::from)?)
}

/// What a page shows about the record: a one-line description.
fn describe(c: &Customer, collection: &str, entity: &str, b: &Base, lang: Lang) -> Option<Markup> {
    Some(match collection {
        "contacts" => html! { (c.contacts.get(entity)?.name) },
        "interactions" => {
            let i = c.interactions.get(entity)?;
            html! { (when(&b.clock, i.occurred_at, lang)) " · " (i.summary) }
        }
        "quotes" => {
            let q = c.quotes.get(entity)?;
            html! { (q.product) " × " (q.quantity) " · " (money(q.price, lang)) }
        }
        "orders" => {
            let o = c.orders.get(entity)?;
            let total = o.price.saturating_mul(o.quantity);
            html! { (o.product) " × " (o.quantity) " · " (money(total, lang)) }
        }
        _ => html! { (short(entity)) },
    })
}

/// One record page: the edit form or the confirmation.
fn record_page(
    ctx: &Ctx,
    b: &Base,
    c: &Customer,
    id: &DocId,
    (collection, entity, action): (&str, &str, &str),
    state: Option<&FormState>,
) -> Markup {
    let lang = ctx.lang;
    let w = what(collection, lang);
    let title = match action {
        "edit" => format!("{}{w}", t(lang, "修改", "Edit ")),
        "cancel" => format!("{}{w}", t(lang, "取消", "Cancel ")),
        _ => format!("{}{w}", t(lang, "删除", "Delete ")),
    };
    let back = format!("/customers/{id}");
    let desc =
        describe(c, collection, entity, b, lang).unwrap_or_else(|| html! { (short(entity)) });
    let body = html! {
        nav.crumbs aria-label=(t(lang, "位置", "Breadcrumb")) { a href=(back) { "← " (c.name) } }
        div.page-head { h1 { (title) } }
        section.card.form-card.record-form {
            p { strong { (desc) } }
            @match action {
                "edit" if collection == "contacts" => { (contact_form(ctx, c, id, entity, state)) }
                "edit" => { (interaction_form(ctx, b, c, id, entity, state)) }
                _ => { (confirm_form(ctx, id, (collection, entity, action), state)) }
            }
        }
    };
    ui::layout(ctx, &b.who, "customers", &title, None, body)
}

fn contact_form(
    ctx: &Ctx,
    c: &Customer,
    id: &DocId,
    entity: &str,
    state: Option<&FormState>,
) -> Markup {
    let lang = ctx.lang;
    let f = Form::new("edit", "edit-", CONTACT_FIELDS, state);
    let ct = c.contacts.get(entity).cloned().unwrap_or_default();
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    html! {
        form.form #edit-form method="post" action=(url(id, "contacts", entity, "edit")) {
            (f.head(ctx))
            (f.text("name", t(lang, "姓名", "Name"), &ct.name, "text", None))
            (f.text("title", t(lang, "职务", "Title"), &opt(&ct.title), "text", None))
            (f.text("phone", t(lang, "电话", "Phone"), &opt(&ct.phone), "tel", None))
            (f.text("email", t(lang, "邮箱", "Email"), &opt(&ct.email), "email", None))
            (save_or_back(lang, id))
        }
    }
}

fn interaction_form(
    ctx: &Ctx,
    b: &Base,
    c: &Customer,
    id: &DocId,
    entity: &str,
    state: Option<&FormState>,
) -> Markup {
    let lang = ctx.lang;
    let f = Form::new("edit", "edit-", VISIT_FIELDS, state);
    let Some(i) = c.interactions.get(entity) else {
        return html! {};
    };
    let kinds: Vec<(String, String)> = InteractionKind::ALL
        .iter()
        .map(|k| (k.as_str().to_string(), vocab(k.zh(), k.as_str(), lang)))
        .collect();
    let contacts: Vec<(String, String)> =
        std::iter::once((String::new(), t(lang, "（不指定）", "(none)").to_string()))
            .chain(
                c.contacts
                    .iter()
                    .filter(|(k, _)| !c.is_removed("contacts", k))
                    .map(|(k, ct)| (k.clone(), ct.name.clone())),
            )
            .collect();
    html! {
        form.form #edit-form method="post" action=(url(id, "interactions", entity, "edit")) {
            (f.head(ctx))
            div.form-row {
                (f.select("kind", t(lang, "方式", "Kind"), &kinds, i.kind.as_str()))
                (f.text("at", t(lang, "时间", "When"), &input_time(&b.clock, i.occurred_at), "text", None))
            }
            (f.select("contact", t(lang, "联系人", "Contact"), &contacts, i.contact.as_deref().unwrap_or("")))
            (textarea(&f, "summary", t(lang, "内容摘要", "Summary"), &i.summary))
            (save_or_back(lang, id))
        }
    }
}

/// The edit form's Save and Back.
fn save_or_back(lang: Lang, id: &DocId) -> Markup {
    html! {
        div.actions {
            button #edit-save type="submit" { (t(lang, "保存修改", "Save changes")) }
            " " a.button.secondary href={ "/customers/" (id) } { (t(lang, "返回", "Back")) }
        }
    }
}

/// A textarea pre-filled with `current` (the kept value after a refusal wins).
fn textarea(f: &Form<'_>, field: &str, label: &str, current: &str) -> Markup {
    let id = f.id(field);
    let bad = f.err(field);
    html! {
        div.field {
            label for=(id) { (label) }
            textarea id=(id) name=(field) rows="3" autofocus[bad.is_some()]
                aria-invalid=[bad.map(|_| "true")]
                aria-describedby=[bad.map(|_| format!("{id}-error"))] { (f.val(field, current)) }
            @if let Some(e) = bad { p.field-error id={ (id) "-error" } role="alert" { (e) } }
        }
    }
}

fn confirm_form(
    ctx: &Ctx,
    id: &DocId,
    (collection, entity, action): (&str, &str, &str),
    state: Option<&FormState>,
) -> Markup {
    let lang = ctx.lang;
    let f = Form::new("confirm", "confirm-", REASON_FIELDS, state);
    let (warning, button) = if action == "cancel" {
        (
            t(
                lang,
                "取消后不再需要审批，也不再计入交付和目标；记录保留在档案和修改历史中。",
                "Once cancelled it needs no approval and counts toward no delivery or target; it stays in the file and its history.",
            ),
            t(lang, "确认取消", "Cancel it"),
        )
    } else {
        (
            t(
                lang,
                "删除后不再出现在档案、列表和规则检查中；记录保留在修改历史中，经理可以恢复。",
                "Once deleted it leaves the file, lists and rules; it stays in the history and a manager can restore it.",
            ),
            t(lang, "确认删除", "Delete it"),
        )
    };
    html! {
        form.form #confirm-form method="post" action=(url(id, collection, entity, action)) {
            (f.head(ctx))
            p { (warning) }
            (f.text("reason", t(lang, "原因（可选）", "Reason (optional)"), "", "text", None))
            div.actions {
                button.danger #confirm-save type="submit" { (button) }
                " " a.button.secondary href={ "/customers/" (id) } { (t(lang, "返回", "Back")) }
            }
        }
    }
}

/// `GET /customers/{id}/{collection}/{entity}/{edit|delete|cancel}`.
pub(crate) async fn page(
    State(app): State<Arc<App>>,
    Extension(ctx): Extension<Ctx>,
    Path((id, collection, entity, action)): Path<(String, String, String, String)>,
) -> Response {
    let a = app.clone();
    let r = crate::store::with_ws(&app, move |ws| {
        let b = base(ws, &a)?;
        let id = customer_id(ws, &id)?;
        let c = whole(ws, &id)?;
        let known = match (collection.as_str(), action.as_str()) {
            ("contacts" | "interactions", "edit") => true,
            ("quotes" | "orders", "cancel") => true,
            (col, "delete") => fieldcrm_workspace::record_collection(col).is_ok(),
            _ => false,
        };
        let exists = describe(&c, &collection, &entity, &b, Lang::En).is_some()
            && !c.is_removed(&collection, &entity);
        if !known || !exists {
            return Err(fieldcrm_workspace::Error::not_found(format!(
                "{collection} `{}`",
                short(&entity)
            ))
            .into());
        }
        Ok((b, c, id, collection, entity, action))
    })
    .await;
    match r {
        Ok((b, c, id, collection, entity, action)) => ui::page(
            StatusCode::OK,
            record_page(&ctx, &b, &c, &id, (&collection, &entity, &action), None),
        ),
        Err(e) => fail(&ctx, e),
    }
}

/// The contact edit from the form: only the fields whose value changed.
fn contact_edit(c: &Customer, entity: &str, f: &Fields) -> ContactEdit {
    let cur = c.contacts.get(entity).cloned().unwrap_or_default();
    let changed = |field: &str, old: Option<&str>| {
        let new = f.get(field).trim();
        (new != old.unwrap_or("").trim()).then(|| new.to_string())
    };
    ContactEdit {
        name: changed("name", Some(&cur.name)),
        title: changed("title", cur.title.as_deref()),
        phone: changed("phone", cur.phone.as_deref()),
        email: changed("email", cur.email.as_deref()),
    }
}

/// The interaction edit from the form: only the fields whose value changed.
fn interaction_edit(
    c: &Customer,
    entity: &str,
    f: &Fields,
    clock: &input::Clock,
) -> fieldcrm_workspace::Result<InteractionEdit> {
    let Some(cur) = c.interactions.get(entity) else {
        return Ok(InteractionEdit::default());
    };
    let kind: InteractionKind = input::vocab("kind", f.get("kind"))?;
    let at = clock.parse("at", f.get("at"))?;
    let summary = f.get("summary").trim().to_string();
    let contact = f.get("contact").trim().to_string();
    Ok(InteractionEdit {
        kind: (kind != cur.kind).then_some(kind),
        // The form shows minutes: a time within the same minute is unchanged.
        occurred_at: (at.div_euclid(60_000) != cur.occurred_at.div_euclid(60_000)).then_some(at),
        summary: (summary != cur.summary.trim()).then_some(summary),
        contact: (contact != cur.contact.clone().unwrap_or_default()).then_some(contact),
    })
}

/// Do `action` on one record; `Ok` is the flash text.
fn run(
    ws: &Workspace,
    id: &DocId,
    (collection, entity, action): (&str, &str, &str),
    f: &Fields,
    clock: &input::Clock,
    lang: Lang,
) -> fieldcrm_workspace::Result<String> {
    let now = clock.now;
    let reason = f.opt("reason");
    let done = match (collection, action) {
        ("contacts", "edit") => {
            let c = ws.load(id)?.hydrate::<Customer>()?;
            ws.edit_contact(id, entity, contact_edit(&c, entity, f), now)?;
            t(lang, "已保存修改", "Changes saved")
        }
        ("interactions", "edit") => {
            let c = ws.load(id)?.hydrate::<Customer>()?;
            ws.edit_interaction(id, entity, interaction_edit(&c, entity, f, clock)?, now)?;
            t(lang, "已保存修改", "Changes saved")
        }
        ("quotes", "cancel") => {
            ws.cancel_quote(id, entity, reason, now)?;
            t(lang, "报价已取消", "Quote cancelled")
        }
        ("orders", "cancel") => {
            ws.cancel_order(id, entity, reason, now)?;
            t(lang, "订单已取消", "Order cancelled")
        }
        (_, "delete") => {
            ws.remove_record(id, collection, entity, reason, now)?;
            t(lang, "已删除", "Deleted")
        }
        (_, "restore") => {
            ws.restore_removed(id, collection, entity, now)?;
            t(lang, "已恢复", "Restored")
        }
        _ => {
            return Err(fieldcrm_workspace::Error::not_found(format!(
                "action `{collection}/{action}`"
            )));
        }
    };
    Ok(done.to_string())
}

/// What a POST came to.
enum Outcome {
    /// Done (or a refused restore): back to the file with this flash, an error or not.
    Back(DocId, Result<String, String>),
    /// Refused: the same page again with the message beside the field.
    Again(Box<(Base, Customer, DocId, FormState)>),
}

/// `POST /customers/{id}/{collection}/{entity}/{edit|delete|cancel|restore}` (called by
/// `customer::entity_action`, which owns the route).
pub(crate) async fn post(
    app: Arc<App>,
    ctx: Ctx,
    fields: Fields,
    (id, collection, entity, action): (String, String, String, String),
) -> Response {
    let a = app.clone();
    let lang = ctx.lang;
    let f = fields.clone();
    let what = (collection.clone(), entity.clone(), action.clone());
    let r = crate::store::with_ws(&app, move |ws| {
        let b = base(ws, &a)?;
        let id = customer_id(ws, &id)?;
        let what = (collection.as_str(), entity.as_str(), action.as_str());
        Ok(match run(ws, &id, what, &f, &b.clock, lang) {
            Ok(msg) => Outcome::Back(id, Ok(msg)),
            Err(e) if action == "restore" => Outcome::Back(id, Err(e.message(lang))),
            Err(e) if e.is_usage() || e.code() == "permission-denied" => {
                let state = FormState {
                    form: if action == "edit" { "edit" } else { "confirm" }.to_string(),
                    values: f.0.clone(),
                    field: e.field().map(str::to_string),
                    message: e.message(lang),
                };
                let c = whole(ws, &id)?;
                Outcome::Again(Box::new((b, c, id, state)))
            }
            Err(e) => return Err(e.into()),
        })
    })
    .await;
    match r {
        Ok(Outcome::Back(id, msg)) => {
            match msg {
                Ok(m) => app.flash(&ctx.token, m),
                Err(m) => app.flash_error(&ctx.token, m),
            }
            ui::see_other(&return_to(&fields, format!("/customers/{id}")))
        }
        Ok(Outcome::Again(again)) => {
            let (b, c, id, state) = *again;
            let (collection, entity, action) = what;
            ui::page(
                StatusCode::UNPROCESSABLE_ENTITY,
                record_page(
                    &ctx,
                    &b,
                    &c,
                    &id,
                    (&collection, &entity, &action),
                    Some(&state),
                ),
            )
        }
        Err(e) => fail(&ctx, e),
    }
}
