//! `GET /targets` 销售目标 (managers, admins; linked from the Reports page): the targets
//! with who set them, the reports reps submitted (业绩上报), a form to set a target, and
//! what was removed in the last 7 days with a restore button. `POST /targets` sets a
//! target; `GET /targets/{targets|reports}/{id}/remove` is the confirmation page with a
//! reason, its POST removes, `POST .../restore` puts it back. The work is the application
//! layer's (`Workspace::set_target`, `remove_sales_record`, `restore_sales_record`), so
//! the refusals read as the CLI's (`fieldcrm target set|remove|restore`).

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use fieldcrm_model::{DocId, DocKind, Lang, Millis, Note, Sales};
use fieldcrm_workspace::{Error, Msg, REPORT_GRACE, Workspace, input};
use maud::{Markup, html};

use super::{Base, base, fail};
use crate::App;
use crate::format::{money, short, t, tr, when, yuan};
use crate::security::{Ctx, Fields};
use crate::store::WsError;
use crate::ui::{self, Form, FormState, empty, role_name};

/// The fields of the set-a-target form.
const TARGET_FIELDS: &[&str] = &["subject", "period", "amount"];
/// The field of the removal confirmation.
const REASON_FIELDS: &[&str] = &["reason"];

/// One target or report as the page shows it.
struct Item {
    /// `targets` or `reports`.
    collection: &'static str,
    /// Full ID.
    id: String,
    /// Who it is about: a user's or a team's name.
    subject: String,
    /// `user` or `team` (targets); `report` for a report.
    scope: String,
    /// The period label.
    period: String,
    /// Amount, fen.
    amount: i64,
    /// A report's summary.
    summary: String,
    /// Who set or submitted it (a name) and when.
    by: String,
    /// When set or submitted.
    at: Millis,
    /// Why and when it was removed, by whom (a name).
    removed: Option<(Note, String)>,
}

/// What the page shows.
struct Data {
    /// Live targets, newest period first.
    targets: Vec<Item>,
    /// Live reports, newest first.
    reports: Vec<Item>,
    /// Removed within [`REPORT_GRACE`], newest first.
    removed: Vec<Item>,
    /// Removed before that (restorable from the CLI).
    older_removed: usize,
    /// The subjects a target can be set for: (`user:ID` or `team:NAME`, label).
    subjects: Vec<(String, String)>,
}

/// The Sales document with its removed targets and reports.
fn whole_sales(ws: &Workspace) -> Result<Sales, WsError> {
    Ok(ws
        .load(&DocId::workspace(&DocKind::Sales))?
        .hydrate::<Sales>()
        .map_err(Error::from)?)
}

fn read(ws: &Workspace, b: &Base, now: Millis, lang: Lang) -> Result<Data, WsError> {
    let sales = whole_sales(ws)?;
    let removed_note = |collection: &str, id: &str| {
        sales
            .removed
            .get(&format!("{collection}/{id}"))
            .map(|n| (n.clone(), b.user_name(&n.by)))
    };
    let mut all: Vec<Item> = sales
        .targets
        .iter()
        .map(|(id, tg)| Item {
            collection: "targets",
            id: id.clone(),
            subject: if tg.scope == "user" {
                b.user_name(&tg.subject)
            } else {
                tg.subject.clone()
            },
            scope: tg.scope.clone(),
            period: tg.period.clone(),
            amount: tg.amount,
            summary: String::new(),
            by: b.user_name(&tg.by),
            at: tg.at,
            removed: removed_note("targets", id),
        })
        .chain(sales.reports.iter().map(|(id, r)| Item {
            collection: "reports",
            id: id.clone(),
            subject: b.user_name(&r.user),
            scope: "report".into(),
            period: r.period.clone(),
            amount: r.amount,
            summary: r.summary.clone(),
            by: b.user_name(&r.user),
            at: r.submitted_at,
            removed: removed_note("reports", id),
        }))
        .collect();
    all.sort_by(|a, b| b.period.cmp(&a.period).then(b.at.cmp(&a.at)));
    let since = now.saturating_sub(REPORT_GRACE);
    let (mut removed, live): (Vec<Item>, Vec<Item>) =
        all.into_iter().partition(|i| i.removed.is_some());
    let older_removed = removed
        .iter()
        .filter(|i| i.removed.as_ref().is_some_and(|(n, _)| n.at < since))
        .count();
    removed.retain(|i| i.removed.as_ref().is_some_and(|(n, _)| n.at >= since));
    removed.sort_by_key(|i| std::cmp::Reverse(i.removed.as_ref().map_or(0, |(n, _)| n.at)));
    let (targets, mut reports): (Vec<Item>, Vec<Item>) =
        live.into_iter().partition(|i| i.collection == "targets");
    reports.sort_by_key(|i| std::cmp::Reverse(i.at));
    Ok(Data {
        targets,
        reports,
        removed,
        older_removed,
        subjects: subjects(b, lang),
    })
}

/// The people and teams of the roster, people first.
fn subjects(b: &Base, lang: Lang) -> Vec<(String, String)> {
    let mut out = vec![(String::new(), t(lang, "（请选择）", "(choose)").to_string())];
    let Some(roster) = &b.roster else {
        return out;
    };
    let mut users: Vec<_> = roster.users.iter().filter(|(_, u)| u.active).collect();
    users.sort_by(|a, b| a.1.team.cmp(&b.1.team).then(a.1.name.cmp(&b.1.name)));
    for (id, u) in users {
        let label = match &u.team {
            Some(team) => format!("{} · {} · {team}", u.name, role_name(&u.role, lang)),
            None => format!("{} · {}", u.name, role_name(&u.role, lang)),
        };
        out.push((format!("user:{id}"), label));
    }
    let teams: std::collections::BTreeSet<&String> = roster
        .users
        .values()
        .filter(|u| u.active)
        .filter_map(|u| u.team.as_ref())
        .collect();
    for team in teams {
        let label = tr(
            lang,
            format!("{team}（整个团队）"),
            format!("{team} (whole team)"),
        );
        out.push((format!("team:{team}"), label));
    }
    out
}

fn not_manager(ctx: &Ctx, b: &Base) -> Response {
    let e = Error::denied(Msg::new(
        "只有经理和管理员可以设定和删除销售目标",
        "only a manager or an admin can set and remove sales targets",
    ));
    ui::error_page(ctx, &b.who, WsError::App(e))
}

fn scope_name(scope: &str, lang: Lang) -> &'static str {
    match scope {
        "user" => t(lang, "个人", "Rep"),
        "team" => t(lang, "团队", "Team"),
        _ => t(lang, "上报", "Report"),
    }
}

fn kind_name(collection: &str, lang: Lang) -> &'static str {
    if collection == "targets" {
        t(lang, "销售目标", "target")
    } else {
        t(lang, "业绩上报", "report")
    }
}

/// One target or report: what, who, when, and its remove link or restore button.
fn item_row(ctx: &Ctx, b: &Base, i: &Item) -> Markup {
    let lang = ctx.lang;
    let base_url = format!("/targets/{}/{}", i.collection, i.id);
    html! {
        li.row.sales-item data-id=(i.id) {
            div.row-main {
                div {
                    @if i.removed.is_some() {
                        span.badge { (kind_name(i.collection, lang)) } " "
                        s { strong { (i.subject) } " · " (i.period) " · " (yuan(i.amount, lang)) }
                    } @else {
                        strong { (i.subject) } " "
                        span.badge.soft { (scope_name(&i.scope, lang)) } " "
                        span.period { (i.period) } " · "
                        strong { (money(i.amount, lang)) }
                    }
                }
                @if !i.summary.is_empty() && i.removed.is_none() { div.summary { (i.summary) } }
                div.row-sub {
                    @if i.collection == "targets" { (t(lang, "设定人 ", "set by ")) } @else { (t(lang, "上报人 ", "submitted by ")) }
                    (i.by) " · " (when(&b.clock, i.at, lang))
                }
                @if let Some((note, by)) = &i.removed {
                    div.row-sub {
                        (t(lang, "删除人 ", "removed by ")) (by) " · " (when(&b.clock, note.at, lang))
                        @if !note.text.is_empty() { " · " (t(lang, "原因：", "reason: ")) (note.text) }
                    }
                }
            }
            div.row-side {
                @if i.removed.is_some() {
                    form.inline-form method="post" action={ (base_url) "/restore" } {
                        input type="hidden" name="_csrf" value=(ctx.csrf);
                        button.small.secondary type="submit"
                            aria-label={ (t(lang, "恢复", "Restore ")) (kind_name(i.collection, lang)) " " (short(&i.id)) } {
                            (t(lang, "恢复", "Restore"))
                        }
                    }
                } @else {
                    a.small-link.danger-link href={ (base_url) "/remove" }
                        aria-label={ (t(lang, "删除", "Remove ")) (kind_name(i.collection, lang)) " " (i.subject) " " (i.period) } {
                        (t(lang, "删除", "Remove"))
                    }
                }
            }
        }
    }
}

fn target_form(ctx: &Ctx, d: &Data, state: Option<&FormState>) -> Markup {
    let lang = ctx.lang;
    let f = Form::new("target", "target-", TARGET_FIELDS, state);
    html! {
        section.card.form-card #set-target {
            h2 { (t(lang, "设定销售目标", "Set a target")) }
            form.form #target-form method="post" action="/targets" {
                (f.head(ctx))
                (f.select("subject", t(lang, "对象（个人或团队）", "For (a rep or a team)"), &d.subjects, ""))
                div.form-row {
                    (f.text("period", t(lang, "周期", "Period"), "", "text", Some(("placeholder", t(lang, "2026-12 或 2026-Q4", "2026-12 or 2026-Q4")))))
                    (f.text("amount", t(lang, "目标金额（元）", "Amount (yuan)"), "", "money", Some(("placeholder", "300,000"))))
                }
                p.muted.small { (t(lang, "周期可写年、季度、月或周：2026、2026-Q4、2026-12、2026-W48。", "A period is a year, quarter, month or week: 2026, 2026-Q4, 2026-12, 2026-W48.")) }
                div.actions { button #target-save type="submit" { (t(lang, "保存目标", "Save target")) } }
            }
        }
    }
}

fn render_page(ctx: &Ctx, b: &Base, d: &Data, state: Option<&FormState>) -> Markup {
    let lang = ctx.lang;
    html! {
        nav.crumbs aria-label=(t(lang, "位置", "Breadcrumb")) { a href="/reports" { "← " (t(lang, "报表", "Reports")) } }
        div.page-head.with-action {
            h1 { (t(lang, "销售目标与业绩上报", "Targets and reports")) }
            div.actions { a.button.secondary href="#set-target" { (t(lang, "设定目标", "Set a target")) } }
        }
        div.file-layout {
            div.file-main {
                section.card #targets {
                    h2 { (t(lang, "销售目标", "Targets")) " " span.count { (d.targets.len()) } }
                    @if d.targets.is_empty() { (empty(t(lang, "还没有设定销售目标。", "No targets set."))) }
                    @else { ul.list { @for i in &d.targets { (item_row(ctx, b, i)) } } }
                }
                section.card #reports {
                    h2 { (t(lang, "业绩上报", "Reports submitted")) " " span.count { (d.reports.len()) } }
                    @if d.reports.is_empty() { (empty(t(lang, "还没有人上报业绩。", "No reports submitted."))) }
                    @else { ul.list { @for i in &d.reports { (item_row(ctx, b, i)) } } }
                }
                @if !d.removed.is_empty() || d.older_removed > 0 {
                    section.card #removed {
                        h2 { (t(lang, "近 7 天删除的", "Removed in the last 7 days")) " " span.count { (d.removed.len()) } }
                        ul.list { @for i in &d.removed { (item_row(ctx, b, i)) } }
                        @if d.older_removed > 0 {
                            p.muted.small {
                                (tr(lang,
                                    format!("更早删除的 {} 条可用命令行 fieldcrm target restore 或 fieldcrm report restore 恢复。", d.older_removed),
                                    format!("{} removed earlier can be restored with fieldcrm target restore or fieldcrm report restore.", d.older_removed)))
                            }
                        }
                    }
                }
            }
            div.file-side { (target_form(ctx, d, state)) }
        }
    }
}

fn respond(
    ctx: &Ctx,
    b: &Base,
    d: &Data,
    status: StatusCode,
    state: Option<&FormState>,
) -> Response {
    respond_with(ctx, b, d, status, state, None)
}

fn respond_with(
    ctx: &Ctx,
    b: &Base,
    d: &Data,
    status: StatusCode,
    state: Option<&FormState>,
    flash: Option<crate::Flash>,
) -> Response {
    let title = t(ctx.lang, "销售目标", "Targets");
    ui::page(
        status,
        ui::layout(
            ctx,
            &b.who,
            "reports",
            title,
            flash,
            render_page(ctx, b, d, state),
        ),
    )
}

/// `GET /targets`.
pub(crate) async fn page(State(app): State<Arc<App>>, Extension(ctx): Extension<Ctx>) -> Response {
    let a = app.clone();
    let (now, lang) = (app.now(), ctx.lang);
    let r = crate::store::with_ws(&app, move |ws| {
        let b = base(ws, &a)?;
        if !b.who.is_sales_manager() {
            return Ok((b, None));
        }
        let d = read(ws, &b, now, lang)?;
        Ok((b, Some(d)))
    })
    .await;
    match r {
        Ok((b, None)) => not_manager(&ctx, &b),
        Ok((b, Some(d))) => {
            let flash = app.take_flash(&ctx.token);
            respond_with(&ctx, &b, &d, StatusCode::OK, None, flash)
        }
        Err(e) => fail(&ctx, e),
    }
}

/// Set the target of the form; `Ok` is the flash text.
fn set(ws: &Workspace, f: &Fields, now: Millis, lang: Lang) -> fieldcrm_workspace::Result<String> {
    let subject = f.get("subject").trim().to_string();
    let (user, team) = match subject.split_once(':') {
        Some(("user", u)) if !u.is_empty() => (Some(u), None),
        Some(("team", tm)) if !tm.trim().is_empty() => (None, Some(tm)),
        _ => {
            return Err(Error::bad(
                "subject",
                "请选择目标对象：一位销售或一个团队",
                "choose who the target is for: a rep or a team",
            ));
        }
    };
    // The period first, as the form reads, then the amount: both as the CLI reads them.
    let period = input::period("period", f.get("period"))?;
    let amount = input::money("amount", f.get("amount"))?;
    ws.set_target(user, team, &period, amount, now)?;
    Ok(tr(
        lang,
        format!("已设定销售目标：{period} {}", yuan(amount, lang)),
        format!("Target set: {period} {}", yuan(amount, lang)),
    ))
}

/// `POST /targets`: set a target.
pub(crate) async fn create(
    State(app): State<Arc<App>>,
    Extension(ctx): Extension<Ctx>,
    Extension(fields): Extension<Fields>,
) -> Response {
    let a = app.clone();
    let (now, lang) = (app.now(), ctx.lang);
    let f = fields.clone();
    let r = crate::store::with_ws(&app, move |ws| {
        let b = base(ws, &a)?;
        if !b.who.is_sales_manager() {
            return Ok((b, None));
        }
        let outcome = match set(ws, &f, now, lang) {
            Ok(msg) => Ok(msg),
            Err(e) if e.is_usage() || e.code() == "permission-denied" => {
                let mut state = FormState::refused("target".into(), &f, &e, lang);
                // Who the target is for is one field here, two options in the CLI.
                if matches!(state.field.as_deref(), Some("user" | "team" | "scope")) {
                    state.field = Some("subject".into());
                }
                Err((read(ws, &b, now, lang)?, state))
            }
            Err(e) => return Err(e.into()),
        };
        Ok((b, Some(outcome)))
    })
    .await;
    match r {
        Ok((b, None)) => not_manager(&ctx, &b),
        Ok((_, Some(Ok(msg)))) => {
            app.flash(&ctx.token, msg);
            ui::see_other("/targets")
        }
        Ok((b, Some(Err((d, state))))) => {
            respond(&ctx, &b, &d, StatusCode::UNPROCESSABLE_ENTITY, Some(&state))
        }
        Err(e) => fail(&ctx, e),
    }
}

/// The item `id` of `collection` (live ones only unless `removed`), or not found.
fn find(d: Data, collection: &str, id: &str) -> Result<Item, WsError> {
    let known = matches!(collection, "targets" | "reports");
    d.targets
        .into_iter()
        .chain(d.reports)
        .find(|i| known && i.collection == collection && i.id == id)
        .ok_or_else(|| {
            Error::not_found(Msg::new(
                format!("找不到{} {}", kind_name(collection, Lang::Zh), short(id)),
                format!("no {} `{}`", kind_name(collection, Lang::En), short(id)),
            ))
            .into()
        })
}

/// The confirmation page of removing `i`.
fn confirm_page(ctx: &Ctx, b: &Base, i: &Item, state: Option<&FormState>) -> Markup {
    let lang = ctx.lang;
    let f = Form::new("confirm", "confirm-", REASON_FIELDS, state);
    let title = tr(
        lang,
        format!("删除{}", kind_name(i.collection, lang)),
        format!("Remove {}", kind_name(i.collection, lang)),
    );
    let warning = if i.collection == "targets" {
        t(
            lang,
            "删除后不再计入目标完成情况和报表；记录保留在修改历史中，7 天内可在本页恢复。",
            "Once removed it leaves target vs actual and the reports; it stays in the history and can be restored here for 7 days.",
        )
    } else {
        t(
            lang,
            "删除后不再计入报表和规则检查；记录保留在修改历史中，7 天内可在本页恢复。",
            "Once removed it leaves the reports and rules; it stays in the history and can be restored here for 7 days.",
        )
    };
    let body = html! {
        nav.crumbs aria-label=(t(lang, "位置", "Breadcrumb")) { a href="/targets" { "← " (t(lang, "销售目标", "Targets")) } }
        div.page-head { h1 { (title) } }
        section.card.form-card.record-form {
            p {
                strong { (i.subject) } " · " (scope_name(&i.scope, lang)) " · " (i.period) " · " (money(i.amount, lang))
            }
            @if !i.summary.is_empty() { p.summary { (i.summary) } }
            p.muted.small {
                @if i.collection == "targets" { (t(lang, "设定人 ", "set by ")) } @else { (t(lang, "上报人 ", "submitted by ")) }
                (i.by) " · " (when(&b.clock, i.at, lang))
            }
            form.form #confirm-form method="post" action={ "/targets/" (i.collection) "/" (i.id) "/remove" } {
                (f.head(ctx))
                p { (warning) }
                (f.text("reason", t(lang, "原因", "Reason"), "", "text", Some(("placeholder", t(lang, "例如：金额录错", "e.g. wrong amount")))))
                div.actions {
                    button.danger #confirm-save type="submit" { (t(lang, "确认删除", "Remove it")) }
                    " " a.button.secondary href="/targets" { (t(lang, "返回", "Back")) }
                }
            }
        }
    };
    ui::layout(ctx, &b.who, "reports", &title, None, body)
}

/// `GET /targets/{targets|reports}/{id}/remove`.
pub(crate) async fn confirm(
    State(app): State<Arc<App>>,
    Extension(ctx): Extension<Ctx>,
    Path((collection, id, action)): Path<(String, String, String)>,
) -> Response {
    let a = app.clone();
    let (now, lang) = (app.now(), ctx.lang);
    let r = crate::store::with_ws(&app, move |ws| {
        let b = base(ws, &a)?;
        if !b.who.is_sales_manager() {
            return Ok((b, None));
        }
        if action != "remove" {
            return Err(Error::not_found(format!("action `{action}`")).into());
        }
        let i = find(read(ws, &b, now, lang)?, &collection, &id)?;
        Ok((b, Some(i)))
    })
    .await;
    match r {
        Ok((b, None)) => not_manager(&ctx, &b),
        Ok((b, Some(i))) => ui::page(StatusCode::OK, confirm_page(&ctx, &b, &i, None)),
        Err(e) => fail(&ctx, e),
    }
}

/// What a remove or restore came to.
enum Outcome {
    /// Not a manager.
    Denied(Base),
    /// Done or a refused restore: back to the page with this flash.
    Back(Result<String, String>),
    /// A refused removal: the confirmation again, the message beside the reason.
    Again(Box<(Base, Item, FormState)>),
}

/// `POST /targets/{targets|reports}/{id}/{remove|restore}`.
pub(crate) async fn action(
    State(app): State<Arc<App>>,
    Extension(ctx): Extension<Ctx>,
    Extension(fields): Extension<Fields>,
    Path((collection, id, action)): Path<(String, String, String)>,
) -> Response {
    let a = app.clone();
    let (now, lang) = (app.now(), ctx.lang);
    let f = fields.clone();
    let r = crate::store::with_ws(&app, move |ws| {
        let b = base(ws, &a)?;
        if !b.who.is_sales_manager() {
            return Ok(Outcome::Denied(b));
        }
        if !matches!(collection.as_str(), "targets" | "reports") {
            return Err(Error::not_found(format!("`{collection}`")).into());
        }
        // Named in the flash by who and which period, as the page shows it.
        let d = read(ws, &b, now, lang)?;
        let named = d
            .targets
            .iter()
            .chain(&d.reports)
            .chain(&d.removed)
            .find(|i| i.collection == collection && i.id.starts_with(id.as_str()))
            .map(|i| format!("{} {}", i.subject, i.period));
        let what = kind_name(&collection, lang);
        let done = match action.as_str() {
            "remove" => ws.remove_sales_record(&collection, &id, f.opt("reason"), now),
            "restore" => ws.restore_sales_record(&collection, &id, now),
            _ => return Err(Error::not_found(format!("action `{action}`")).into()),
        };
        Ok(match done {
            Ok(eid) => {
                let name = named.unwrap_or_else(|| short(&eid));
                Outcome::Back(Ok(match action.as_str() {
                    "remove" => tr(
                        lang,
                        format!("已删除{what}：{name}"),
                        format!("Removed {what}: {name}"),
                    ),
                    _ => tr(
                        lang,
                        format!("已恢复{what}：{name}"),
                        format!("Restored {what}: {name}"),
                    ),
                }))
            }
            Err(e) if action == "restore" => Outcome::Back(Err(e.message(lang))),
            Err(e) if e.is_usage() || e.code() == "permission-denied" => {
                let state = FormState::refused("confirm".into(), &f, &e, lang);
                match find(read(ws, &b, now, lang)?, &collection, &id) {
                    Ok(i) => Outcome::Again(Box::new((b, i, state))),
                    // Already gone (removed twice): back to the list, saying so.
                    Err(_) => Outcome::Back(Err(e.message(lang))),
                }
            }
            Err(e) => return Err(e.into()),
        })
    })
    .await;
    match r {
        Ok(Outcome::Denied(b)) => not_manager(&ctx, &b),
        Ok(Outcome::Back(msg)) => {
            match msg {
                Ok(m) => app.flash(&ctx.token, m),
                Err(m) => app.flash_error(&ctx.token, m),
            }
            ui::see_other("/targets")
        }
        Ok(Outcome::Again(again)) => {
            let (b, i, state) = *again;
            ui::page(
                StatusCode::UNPROCESSABLE_ENTITY,
                confirm_page(&ctx, &b, &i, Some(&state)),
            )
        }
        Err(e) => fail(&ctx, e),
    }
}
