//! `GET /customers/{id}` 客户档案: the customer's fields, contacts, one timeline of every
//! record, the findings about it and its history, and a form per record kind
//! (`POST /customers/{id}/{interactions|quotes|contacts|complaints|opportunities|gifts|surveys}`);
//! sign-offs and follow-ups on one record
//! (`POST /customers/{id}/{collection}/{entity}/{action}`).

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use fieldcrm_model::{
    Catalog, Contact, Customer, DocId, GiftDirection, GiftKind, InteractionKind, Lang, Millis,
    ReviewResult, Role, Severity, Stage,
};
use fieldcrm_policy::Finding;
use fieldcrm_workspace::{CheckQuery, HistoryEntry, Workspace, discount_bp, input};
use maud::{Markup, html};

use super::customer_forms::forms;
use super::record_forms;
use super::today::class_badge;
use super::{Base, base, fail, finding_item_with};
use crate::App;
use crate::format::{money, pct, short, t, when};
use crate::security::{Ctx, Fields};
use crate::store::WsError;
use crate::ui::{self, FormState, empty, vocab};

/// Everything the file page shows.
pub(crate) struct FileData {
    pub(super) id: DocId,
    pub(super) customer: Customer,
    pub(super) catalog: Catalog,
    findings: Vec<Finding>,
    history: Vec<HistoryEntry>,
    /// Beyond this discount a quote or order needs a manager's sign-off (the rep
    /// allowance, as the PRICE-DISCOUNT rule).
    pub(super) signoff_bp: i64,
    pub(super) role: Option<Role>,
}

fn parse_id(text: &str) -> Result<DocId, WsError> {
    text.parse::<DocId>().map_err(|_| {
        WsError::App(fieldcrm_workspace::Error::not_found(format!(
            "customer `{text}`"
        )))
    })
}

/// The customer file named in a path: a valid ID of a customer this device holds.
pub(super) fn customer_id(ws: &Workspace, text: &str) -> Result<DocId, WsError> {
    let id = parse_id(text)?;
    if ws
        .summary(&id)?
        .is_none_or(|s| s.kind != fieldcrm_model::DocKind::Customer)
    {
        return Err(fieldcrm_workspace::Error::not_found(format!("customer {id}")).into());
    }
    Ok(id)
}

fn load(ws: &Workspace, id: &DocId, now: Millis) -> Result<FileData, WsError> {
    let customer: Customer = ws
        .load(id)?
        .hydrate::<Customer>()
        .map_err(fieldcrm_workspace::Error::from)?
        .without_removed();
    let catalog = ws.catalog().unwrap_or_default();
    let findings = ws.check(
        &CheckQuery {
            rule: None,
            doc: Some(id.clone()),
        },
        now,
    )?;
    let mut history = ws.history(id)?;
    history.sort_by_key(|h| std::cmp::Reverse(h.time));
    let config = ws.effective_policy().map(|(c, _)| c).unwrap_or_default();
    let role = ws.my_role();
    let signoff_bp = ws.role_allowance_bp(&Role::Rep, &config);
    Ok(FileData {
        id: id.clone(),
        customer,
        catalog,
        findings,
        history,
        signoff_bp,
        role,
    })
}

/// `GET /customers/{id}`.
pub(crate) async fn page(
    State(app): State<Arc<App>>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> Response {
    let a = app.clone();
    let now = app.now();
    let r = crate::store::with_ws(&app, move |ws| {
        let b = base(ws, &a)?;
        let id = customer_id(ws, &id)?;
        let d = load(ws, &id, now)?;
        Ok((b, d))
    })
    .await;
    let flash = app.take_flash(&ctx.token);
    match r {
        Ok((b, d)) => ui::page(StatusCode::OK, file_page(&ctx, &b, &d, flash, None)),
        Err(e) => fail(&ctx, e),
    }
}

fn file_page(
    ctx: &Ctx,
    b: &Base,
    d: &FileData,
    flash: Option<crate::Flash>,
    state: Option<&FormState>,
) -> Markup {
    ui::layout(
        ctx,
        &b.who,
        "customers",
        &d.customer.name,
        flash,
        render(ctx, b, d, state),
    )
}

/// Which of this file's records are waiting for approval (discount over the author's
/// allowance and no sign-off).
fn pending_discount(d: &FileData, list: i64, price: i64) -> bool {
    discount_bp(list, price) > d.signoff_bp
}

fn status(kind: &str, text: &str) -> Markup {
    html! { span class={ "chip " (kind) } { (text) } }
}

fn approve_form(ctx: &Ctx, d: &FileData, collection: &str, entity: &str) -> Markup {
    let lang = ctx.lang;
    html! {
        form.inline-form method="post" action={ "/customers/" (d.id) "/" (collection) "/" (entity) "/approve" } {
            input type="hidden" name="_csrf" value=(ctx.csrf);
            button.approve.small type="submit" { (t(lang, "批准", "Approve")) }
        }
    }
}

fn timeline(ctx: &Ctx, b: &Base, d: &FileData) -> Markup {
    let lang = ctx.lang;
    let c = &d.customer;
    let clock = &b.clock;
    let manager = matches!(d.role, Some(Role::Manager | Role::Admin));
    let legal = d.role == Some(Role::Legal);
    let mut items: Vec<(Millis, Markup)> = Vec::new();
    for (k, i) in &c.interactions {
        let contact = i
            .contact
            .as_ref()
            .and_then(|k| c.contacts.get(k))
            .map(|k| k.name.clone());
        items.push((
            i.occurred_at,
            html! {
                div.tl-kind.tl-visit { (vocab(i.kind.zh(), i.kind.as_str(), lang)) }
                div.tl-body {
                    p { (i.summary) }
                    p.muted { (b.user_name(&i.by)) @if let Some(n) = contact { " · " (t(lang, "联系人 ", "with ")) (n) } }
                    (record_forms::edit_delete(ctx, d, "interactions", k))
                }
            },
        ));
    }
    for (k, cp) in &c.complaints {
        let state = if cp.closed_at.is_some() {
            status("ok", t(lang, "已解决", "resolved"))
        } else if cp.first_response.is_some() {
            status("warn", t(lang, "处理中", "in progress"))
        } else {
            status("bad", t(lang, "待回复", "awaiting response"))
        };
        items.push((
            cp.opened_at,
            html! {
                div.tl-kind.tl-complaint { (t(lang, "投诉", "Complaint")) }
                div.tl-body {
                    p { (cp.summary) " " (state) @if cp.severity == Severity::Major { " " (status("bad", t(lang, "重点", "major"))) } }
                    @if let Some(r) = &cp.first_response { p.muted { (t(lang, "回复：", "Response: ")) (r.text) } }
                    @if let Some(r) = &cp.resolution { p.muted { (t(lang, "处理结果：", "Resolution: ")) (r.text) } }
                    @if cp.closed_at.is_none() {
                        @let (action, label) = if cp.first_response.is_none() { ("respond", t(lang, "回复", "Respond")) } else { ("resolve", t(lang, "解决", "Resolve")) };
                        form.inline-form.wide method="post" action={ "/customers/" (d.id) "/complaints/" (k) "/" (action) } {
                            input type="hidden" name="_csrf" value=(ctx.csrf);
                            label.visually-hidden for={ "cp-" (k) } { (label) }
                            input id={ "cp-" (k) } name="text" type="text" required placeholder=(if action == "respond" { t(lang, "回复内容", "Response") } else { t(lang, "处理结果", "Resolution") });
                            button.small type="submit" { (label) }
                        }
                    }
                }
            },
        ));
    }
    for s in c.surveys.values() {
        items.push((
            s.at,
            html! {
                div.tl-kind { (t(lang, "回访", "Survey")) }
                div.tl-body {
                    p { (t(lang, "满意度 ", "Score ")) strong { (s.score) " / 5" } @if let Some(cm) = &s.comment { " · " (cm) } }
                    p.muted { (b.user_name(&s.by)) }
                }
            },
        ));
    }
    if let Some(p) = &c.plan {
        items.push((
            p.at,
            html! {
                div.tl-kind { (t(lang, "计划", "Plan")) }
                div.tl-body {
                    p { (p.text) }
                    p.muted { (t(lang, "复盘 ", "Review ")) (when(clock, p.review_at, lang)) " · " (b.user_name(&p.by)) }
                }
            },
        ));
    }
    for o in c.opportunities.values() {
        items.push((
            o.created_at,
            html! {
                div.tl-kind.tl-sales { (t(lang, "商机", "Opportunity")) }
                div.tl-body {
                    p { (o.title) " " (status("", &vocab(o.stage.zh(), o.stage.as_str(), lang))) " " (money(o.amount, lang)) }
                    p.muted { (b.user_name(&o.by)) " · " (t(lang, "最近跟进 ", "last activity ")) (when(clock, o.last_activity_at, lang)) }
                }
            },
        ));
    }
    for (k, q) in &c.quotes {
        let disc = discount_bp(q.list_price, q.price);
        let void = q.approval.is_some() && !q.has_current_approval();
        let pending = !q.has_current_approval()
            && !q.is_cancelled()
            && pending_discount(d, q.list_price, q.price);
        let product = d
            .catalog
            .products
            .get(&q.product)
            .map(|p| p.name.clone())
            .unwrap_or_else(|| q.product.clone());
        items.push((
            q.created_at,
            html! {
                div.tl-kind.tl-sales { (t(lang, "报价", "Quote")) }
                div.tl-body.quote-item {
                    p {
                        (product) " × " (q.quantity) " · " (money(q.price, lang))
                        span.muted { " (" (t(lang, "目录价 ", "list ")) (money(q.list_price, lang)) ", " (t(lang, "折扣 ", "discount ")) (pct(disc)) ")" }
                        " "
                        @if q.is_cancelled() { (status("quote-status", t(lang, "已取消", "cancelled"))) }
                        @else if void { (status("bad quote-status", t(lang, "审批已失效，需重新审批", "approval void: approve again"))) }
                        @else if q.approval.is_some() { (status("ok quote-status", t(lang, "已批准", "approved"))) }
                        @else if pending { (status("warn quote-status", t(lang, "待审批", "pending"))) }
                        @else { (status("quote-status", t(lang, "无需审批", "within allowance"))) }
                    }
                    p.muted { (b.user_name(&q.by)) @if let Some(a) = &q.approval { " · " (t(lang, "批准人 ", "approved by ")) (b.user_name(&a.by)) } }
                    (record_forms::cancelled_note(b, lang, q.cancelled.as_ref()))
                    div.inline-actions {
                        @if pending && manager { (approve_form(ctx, d, "quotes", k)) }
                        @if !q.is_cancelled() { (record_forms::cancel_link(ctx, d, "quotes", k)) }
                    }
                }
            },
        ));
    }
    for (k, ct) in &c.contracts {
        items.push((
            ct.created_at,
            html! {
                div.tl-kind.tl-sales { (t(lang, "合同", "Contract")) }
                div.tl-body {
                    p {
                        (ct.title) " · " (money(ct.amount, lang)) " "
                        @match &ct.legal_review {
                            Some(r) if r.result == ReviewResult::Passed => { (status("ok", t(lang, "法务已通过", "legal passed"))) }
                            Some(_) => { (status("bad", t(lang, "法务未通过", "legal failed"))) }
                            None => { (status("warn", t(lang, "待法务审核", "awaiting legal review"))) }
                        }
                        @if ct.signed_at.is_some() { " " (status("ok", t(lang, "已签订", "signed"))) }
                        @if ct.archived_at.is_some() { " " (status("ok", t(lang, "已归档", "archived"))) }
                    }
                    p.muted { (b.user_name(&ct.by)) }
                    @if ct.legal_review.is_none() && legal {
                        form.inline-form method="post" action={ "/customers/" (d.id) "/contracts/" (k) "/review" } {
                            input type="hidden" name="_csrf" value=(ctx.csrf);
                            input type="hidden" name="result" value="passed";
                            button.approve.small type="submit" { (t(lang, "法务审核通过", "Pass legal review")) }
                        }
                    }
                }
            },
        ));
    }
    for (k, o) in &c.orders {
        let void = o.approval.is_some() && !o.has_current_approval();
        let pending = !o.has_current_approval()
            && !o.is_cancelled()
            && pending_discount(d, o.list_price, o.price);
        items.push((
            o.ordered_at,
            html! {
                div.tl-kind.tl-sales { (t(lang, "订单", "Order")) }
                div.tl-body {
                    p {
                        (o.product) " × " (o.quantity) " · " (money(o.price.saturating_mul(o.quantity), lang)) " "
                        @if let Some(at) = o.delivered_at { (status("ok", t(lang, "已交付", "delivered"))) " " (when(clock, at, lang)) }
                        @else if o.is_cancelled() { (status("", t(lang, "已取消", "cancelled"))) }
                        @else { (status("warn", t(lang, "承诺交付 ", "promised "))) " " (when(clock, o.promised_at, lang)) }
                        @if void { " " (status("bad", t(lang, "审批已失效，需重新审批", "approval void: approve again"))) }
                        @else if pending { " " (status("warn", t(lang, "折扣待审批", "discount pending"))) }
                    }
                    p.muted { (b.user_name(&o.by)) }
                    (record_forms::cancelled_note(b, lang, o.cancelled.as_ref()))
                    div.inline-actions {
                        @if pending && manager { (approve_form(ctx, d, "orders", k)) }
                        @if o.delivered_at.is_none() && !o.is_cancelled() {
                            (record_forms::cancel_link(ctx, d, "orders", k))
                            form.inline-form method="post" action={ "/customers/" (d.id) "/orders/" (k) "/deliver" } {
                                input type="hidden" name="_csrf" value=(ctx.csrf);
                                button.small.secondary type="submit" { (t(lang, "标记已交付", "Mark delivered")) }
                            }
                        }
                    }
                }
            },
        ));
    }
    for (k, g) in &c.gifts {
        items.push((
            g.at,
            html! {
                div.tl-kind.tl-gift { (t(lang, "礼品", "Gift")) }
                div.tl-body {
                    p {
                        (vocab(g.kind.zh(), g.kind.as_str(), lang)) " · " (vocab(g.direction.zh(), g.direction.as_str(), lang)) " · "
                        (g.description) " · " (money(g.value, lang)) " "
                        @if g.approval.is_some() && !g.has_current_approval() { (status("bad", t(lang, "审批已失效，需重新审批", "approval void: approve again"))) }
                        @else if g.approval.is_some() { (status("ok", t(lang, "已批准", "approved"))) }
                        @else if g.declared { (status("warn", t(lang, "已申报", "declared"))) }
                        @else { (status("bad", t(lang, "未申报", "not declared"))) }
                    }
                    p.muted { (b.user_name(&g.by)) }
                    @if !g.has_current_approval() && manager { (approve_form(ctx, d, "gifts", k)) }
                }
            },
        ));
    }
    items.sort_by_key(|i| std::cmp::Reverse(i.0));
    html! {
        @if items.is_empty() { (empty(t(lang, "还没有任何记录。", "Nothing recorded yet."))) }
        @else {
            ol.timeline {
                @for (at, m) in &items {
                    li.tl-item {
                        div.tl-when { (when(clock, *at, lang)) }
                        (m)
                    }
                }
            }
        }
    }
}

fn render(ctx: &Ctx, b: &Base, d: &FileData, state: Option<&FormState>) -> Markup {
    let lang = ctx.lang;
    let c = &d.customer;
    let dash = "—".to_string();
    html! {
        nav.crumbs aria-label=(t(lang, "位置", "Breadcrumb")) { a href="/customers" { "← " (t(lang, "客户", "Customers")) } }
        div.page-head {
            h1 { (c.name) " " (class_badge(c.class.as_ref(), lang)) }
            div.quick-actions {
                a.button.small-button href="#visit-form" { (t(lang, "记录拜访", "Log a visit")) }
                a.button.secondary.small-button href="#quote-form" { (t(lang, "新建报价", "New quote")) }
                a.button.secondary.small-button href="#timeline" { (t(lang, "往来记录", "Timeline")) }
            }
            @if let Some(m) = &c.merged_into {
                p.flash.flash-error role="status" { (t(lang, "此档案已合并到 ", "Merged into ")) a href={ "/customers/" (m) } { (short(m)) } }
            }
        }
        div.file-layout {
            div.file-main {
                section.card {
                    h2 { (t(lang, "基本信息", "Details")) }
                    dl.facts {
                        dt { (t(lang, "负责人", "Owner")) } dd { (c.owner.as_deref().map(|o| b.user_name(o)).unwrap_or(dash.clone())) }
                        dt { (t(lang, "团队", "Team")) } dd { (c.team.clone().unwrap_or(dash.clone())) }
                        dt { (t(lang, "行业", "Industry")) } dd { (c.industry.clone().unwrap_or(dash.clone())) }
                        dt { (t(lang, "区域", "Region")) } dd { (c.region.clone().unwrap_or(dash.clone())) }
                        dt { (t(lang, "地址", "Address")) } dd { (c.address.clone().unwrap_or(dash.clone())) }
                        dt { (t(lang, "年采购额", "Annual value")) } dd { @match c.annual_value { Some(v) => (money(v, lang)), None => (dash) } }
                        dt { (t(lang, "信用代码", "Credit code")) } dd { (c.credit_code.clone().unwrap_or(dash.clone())) }
                    }
                }
                @if !d.findings.is_empty() {
                    section.card #file-findings {
                        h2 { (t(lang, "需要处理", "Needs attention")) " " span.count { (d.findings.len()) } }
                        ul.findings {
                            @for (i, f) in d.findings.iter().enumerate() {
                                (finding_item_with(f, lang, None, super::finding_forms::actions(ctx, &d.id, f, i, d.role.as_ref(), state, None)))
                            }
                        }
                    }
                }
                section.card {
                    h2 { (t(lang, "联系人", "Contacts")) }
                    @if c.contacts.is_empty() { (empty(t(lang, "还没有联系人。", "No contacts yet."))) }
                    @else {
                        ul.list.contacts {
                            @for (k, ct) in &c.contacts {
                                li.row {
                                    div.row-main {
                                        strong { (ct.name) } @if let Some(ti) = &ct.title { " · " span.muted { (ti) } }
                                        div.row-sub {
                                            @if let Some(p) = &ct.phone { a href={ "tel:" (p) } { (p) } " " }
                                            @if let Some(e) = &ct.email { a href={ "mailto:" (e) } { (e) } }
                                        }
                                    }
                                    (record_forms::edit_delete(ctx, d, "contacts", k))
                                }
                            }
                        }
                    }
                }
                section.card #timeline {
                    h2 { (t(lang, "往来记录", "Timeline")) }
                    (timeline(ctx, b, d))
                }
                (record_forms::removed_section(ctx, b, d))
                details.card #history {
                    summary { h2 { (t(lang, "修改历史", "History")) " " span.count { (d.history.len()) } } }
                    div.table-wrap {
                        table.table {
                            thead { tr {
                                th { (t(lang, "时间", "When")) }
                                th { (t(lang, "修改人", "Who")) }
                                th { (t(lang, "设备", "Device")) }
                                th { (t(lang, "内容", "What")) }
                            } }
                            tbody {
                                @for h in d.history.iter().take(100) {
                                    tr {
                                        td { (when(&b.clock, h.time, lang)) }
                                        td { (h.author.user.clone().unwrap_or_else(|| t(lang, "未登记设备", "unenrolled device").to_string())) }
                                        td { code { (short(&h.author.device)) } }
                                        td { (h.message) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            div.file-side { (forms(ctx, b, d, state)) }
        }
    }
}

/// What one record form does with its fields.
fn save(
    ws: &Workspace,
    id: &DocId,
    action: &str,
    f: &Fields,
    clock: &input::Clock,
    allowance: i64,
    lang: Lang,
) -> fieldcrm_workspace::Result<String> {
    let now = clock.now;
    let at = |field: &str| -> fieldcrm_workspace::Result<Millis> {
        match f.opt(field) {
            Some(t) => clock.parse(field, &t),
            None => Ok(now),
        }
    };
    let saved = t(lang, "已保存", "Saved").to_string();
    if super::finding_forms::is_finding_action(action) {
        return super::finding_forms::run(ws, action, f, clock, lang);
    }
    match action {
        "interactions" => {
            let kind: InteractionKind = input::vocab("kind", f.get("kind"))?;
            let when = at("at")?;
            let contact = f.opt("contact");
            ws.log_interaction(id, kind, when, f.get("summary"), contact.as_deref(), now)?;
            Ok(saved)
        }
        "quotes" => {
            let price = input::money("price", f.get("price"))?;
            let quantity = input::int("quantity", f.get("quantity"))?;
            let (_, disc) = ws
                .add_quote(id, f.get("product"), quantity, price, now)
                .map_err(|e| match e.field() {
                    None if e.code() == "not-found" => e.on("product"),
                    _ => e,
                })?;
            Ok(if disc > allowance {
                match lang {
                    Lang::Zh => format!("已保存。折扣 {} 超出权限，需要经理审批。", pct(disc)),
                    Lang::En => format!(
                        "Saved. The {} discount is over the allowance and needs a manager's approval.",
                        pct(disc)
                    ),
                }
            } else {
                saved
            })
        }
        "contacts" => {
            ws.add_contact(
                id,
                Contact {
                    name: f.get("name").to_string(),
                    title: f.opt("title"),
                    phone: f.opt("phone"),
                    email: f.opt("email"),
                    created_at: now,
                },
                now,
            )
            .map_err(|e| match e.field() {
                None if e.to_string().contains("phone") => e.on("phone"),
                None if e.to_string().contains("email") => e.on("email"),
                _ => e,
            })?;
            Ok(saved)
        }
        "complaints" => {
            let sev: Severity = input::vocab("severity", f.get("severity"))?;
            let when = at("at")?;
            ws.open_complaint(id, sev, f.get("summary"), when, now)?;
            Ok(saved)
        }
        "opportunities" => {
            let stage: Stage = input::vocab("stage", f.get("stage"))?;
            let amount = input::money("amount", f.get("amount"))?;
            ws.add_opportunity(id, f.get("title"), stage, amount, now)?;
            Ok(saved)
        }
        "gifts" => {
            let kind: GiftKind = input::vocab("kind", f.get("kind"))?;
            let direction: GiftDirection = input::vocab("direction", f.get("direction"))?;
            let value = input::money("value", f.get("value"))?;
            let when = at("at")?;
            let declared = f.opt("declared").is_some();
            ws.record_gift(
                id,
                kind,
                direction,
                f.get("description"),
                value,
                declared,
                when,
                now,
            )?;
            Ok(saved)
        }
        "surveys" => {
            let score = input::int("score", f.get("score"))?;
            let when = at("at")?;
            ws.record_survey(id, score, f.opt("comment"), when, now)
                .map_err(|e| match e.field() {
                    None => e.on("score"),
                    _ => e,
                })?;
            Ok(saved)
        }
        _ => Err(fieldcrm_workspace::Error::not_found(format!(
            "action `{action}`"
        ))),
    }
}

fn form_name(action: &str) -> &'static str {
    match action {
        "interactions" => "visit",
        "quotes" => "quote",
        "contacts" => "contact",
        "complaints" => "complaint",
        "opportunities" => "opportunity",
        "gifts" => "gift",
        "surveys" => "survey",
        "finding-ack" => "finding-ack",
        "finding-waive" => "finding-waive",
        _ => "",
    }
}

/// `POST /customers/{id}/{action}`: save one record; on a refusal the page again (422)
/// with the message beside the field and what was typed.
pub(crate) async fn record(
    State(app): State<Arc<App>>,
    Extension(ctx): Extension<Ctx>,
    Extension(fields): Extension<Fields>,
    Path((id, action)): Path<(String, String)>,
) -> Response {
    let a = app.clone();
    let now = app.now();
    let lang = ctx.lang;
    let back = return_to(&fields, String::new());
    let r = crate::store::with_ws(&app, move |ws| {
        let b = base(ws, &a)?;
        let id = customer_id(ws, &id)?;
        let config = ws.effective_policy().map(|(c, _)| c).unwrap_or_default();
        let allowance = ws.role_allowance_bp(&Role::Rep, &config);
        let res = save(ws, &id, &action, &fields, &b.clock, allowance, lang);
        match res {
            Ok(msg) => Ok((b, id, Ok(msg))),
            Err(e) if e.is_usage() => {
                let state = FormState {
                    form: form_name(&action).to_string(),
                    values: fields.0.clone(),
                    field: e.field().map(str::to_string),
                    message: e.message(lang),
                };
                let d = load(ws, &id, now)?;
                Ok((b, id, Err((d, state))))
            }
            Err(e) => Err(e.into()),
        }
    })
    .await;
    match r {
        Ok((_, id, Ok(msg))) => {
            app.flash(&ctx.token, msg);
            if back.is_empty() {
                ui::see_other(&format!("/customers/{id}#main"))
            } else {
                ui::see_other(&back)
            }
        }
        Ok((b, _, Err((d, state)))) => ui::page(
            StatusCode::UNPROCESSABLE_ENTITY,
            file_page(&ctx, &b, &d, None, Some(&state)),
        ),
        Err(e) => fail(&ctx, e),
    }
}

/// What the flash says after an action on one record.
fn done_text(action: &str, lang: Lang) -> &'static str {
    match action {
        "approve" => t(lang, "已批准", "Approved"),
        "review" => t(lang, "已记录法务审核", "Legal review recorded"),
        "deliver" => t(lang, "已标记交付", "Marked delivered"),
        _ => t(lang, "已保存", "Saved"),
    }
}

/// A same-site path to go back to after an action (`return` field), else `fallback`.
pub(crate) fn return_to(f: &Fields, fallback: String) -> String {
    match f.opt("return") {
        Some(r) if r.starts_with('/') && !r.starts_with("//") && !r.contains('\\') => r,
        _ => fallback,
    }
}

/// `POST /customers/{id}/{collection}/{entity}/{action}`: approve a quote, order or gift,
/// review a contract, respond to or resolve a complaint, deliver an order.
pub(crate) async fn entity_action(
    State(app): State<Arc<App>>,
    Extension(ctx): Extension<Ctx>,
    Extension(fields): Extension<Fields>,
    Path((id, collection, entity, action)): Path<(String, String, String, String)>,
) -> Response {
    if super::record_forms::handles(&action) {
        let what = (id, collection, entity, action);
        return super::record_forms::post(app, ctx, fields, what).await;
    }
    let now = app.now();
    let lang = ctx.lang;
    let f = fields.clone();
    let action_name = action.clone();
    let r = crate::store::with_ws(&app, move |ws| {
        let id = customer_id(ws, &id)?;
        let note = f.opt("note");
        let res = match (collection.as_str(), action.as_str()) {
            ("quotes", "approve") => ws.approve_quote(&id, &entity, note, now),
            ("orders", "approve") => ws.approve_order(&id, &entity, note, now),
            ("gifts", "approve") => ws.approve_gift(&id, &entity, note, now),
            ("orders", "deliver") => ws.deliver_order(&id, &entity, now, now),
            ("contracts", "review") => input::vocab::<ReviewResult>("result", f.get("result"))
                .and_then(|r| ws.review_contract(&id, &entity, r, note, now)),
            ("complaints", "respond") => {
                ws.respond_complaint(&id, &entity, f.get("text"), now, now)
            }
            ("complaints", "resolve") => ws.resolve_complaint(&id, &entity, f.get("text"), now),
            _ => Err(fieldcrm_workspace::Error::not_found(format!(
                "action `{collection}/{action}`"
            ))),
        };
        Ok((id, res))
    })
    .await;
    match r {
        Ok((id, res)) => {
            let back = return_to(&fields, format!("/customers/{id}"));
            match res {
                Ok(_) => app.flash(&ctx.token, done_text(&action_name, lang).to_string()),
                Err(e) => app.flash_error(&ctx.token, e.message(lang)),
            }
            ui::see_other(&back)
        }
        Err(e) => fail(&ctx, e),
    }
}
