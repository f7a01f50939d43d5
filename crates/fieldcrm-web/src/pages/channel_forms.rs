//! The forms of the channel pages, each a plain `<form>` that works without JavaScript,
//! shown only to a role that may use it, with the workspace's refusal beside the field and
//! what was typed kept:
//! - `POST /channels`: register a partner;
//! - `POST /channels/{id}/{action}`: a communication, training, assessment or price report,
//!   the qualification review, risk assessment, agreement, status, a territory; archive or
//!   restore the partner;
//! - `POST /channels/{id}/{collection}/{entity}/{remove|restore}`: remove a record made by
//!   mistake (with a reason) or put it back.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use fieldcrm_model::{ChannelKind, ChannelStatus, DocId, Lang, ReviewResult, RiskLevel, Role};
use fieldcrm_workspace::{AgreementInput, NewChannel, Workspace, input};
use maud::{Markup, html};

use super::channels::{
    ChannelFile, RemovedRow, channel_id, describe, file_page, list_page, load, load_list,
};
use super::{Base, base, fail};
use crate::App;
use crate::format::{input_time, t};
use crate::security::{Ctx, Fields};
use crate::ui::{self, Form, FormState, vocab};

const NEW_FIELDS: &[&str] = &["name", "kind", "region", "lines", "owner"];
const COMM_FIELDS: &[&str] = &["summary", "at"];
const TRAIN_FIELDS: &[&str] = &["topic", "at"];
const ASSESS_FIELDS: &[&str] = &["period", "score", "note"];
const PRICE_FIELDS: &[&str] = &["product", "price", "at"];
const REVIEW_FIELDS: &[&str] = &["result", "note"];
const RISK_FIELDS: &[&str] = &["level", "note"];
const AGREEMENT_FIELDS: &[&str] = &[
    "rights",
    "responsibilities",
    "plan",
    "from",
    "to",
    "products",
];
const STATUS_FIELDS: &[&str] = &["status"];
const TERRITORY_FIELDS: &[&str] = &["region", "product_line", "from", "to"];
const ARCHIVE_FIELDS: &[&str] = &["reason"];

fn opts<T>(all: &[T], zh: fn(&T) -> &str, en: fn(&T) -> &str, lang: Lang) -> Vec<(String, String)> {
    all.iter()
        .map(|v| (en(v).to_string(), vocab(zh(v), en(v), lang)))
        .collect()
}

/// A list typed in one field (`传感器, 电机`, `传感器、电机`).
fn split_list(text: &str) -> Vec<String> {
    text.split([',', '，', '、', ';', '；'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// The card with the form to register a partner (list page).
pub(super) fn new_channel_form(ctx: &Ctx, b: &Base, state: Option<&FormState>) -> Markup {
    let lang = ctx.lang;
    let f = Form::new("channel", "new-", NEW_FIELDS, state);
    let kinds = opts(ChannelKind::ALL, ChannelKind::zh, ChannelKind::as_str, lang);
    let owners: Vec<(String, String)> =
        std::iter::once((String::new(), t(lang, "（我自己）", "(me)").to_string()))
            .chain(b.roster.iter().flat_map(|r| {
                r.users
                    .values()
                    .filter(|u| u.active && u.role == Role::ChannelManager)
                    .map(|u| (u.name.clone(), u.name.clone()))
            }))
            .collect();
    html! {
        section.card.form-card {
            h2 { (t(lang, "添加渠道", "Add a partner")) }
            form.form #channel-form method="post" action="/channels#channel-form" {
                (f.head(ctx))
                (f.text("name", t(lang, "渠道名称", "Name"), "", "text", None))
                div.form-row {
                    (f.select("kind", t(lang, "类型", "Kind"), &kinds, "distributor"))
                    (f.text("region", t(lang, "区域", "Region"), "", "text", None))
                }
                (f.text("lines", t(lang, "产品线（用逗号分隔）", "Product lines (comma-separated)"), "", "text", None))
                (f.select("owner", t(lang, "负责人", "Owner"), &owners, ""))
                div.actions { button #channel-save type="submit" { (t(lang, "添加", "Add")) } }
            }
        }
    }
}

/// The button that restores an archived partner.
pub(super) fn restore_channel_form(ctx: &Ctx, id: &DocId) -> Markup {
    html! {
        form.inline-form method="post" action={ "/channels/" (id) "/restore" } {
            input type="hidden" name="_csrf" value=(ctx.csrf);
            button.small.secondary #channel-restore type="submit" { (t(ctx.lang, "恢复此渠道", "Restore this partner")) }
        }
    }
}

/// The error of the form on one record (`remove-ID`, `restore-ID`).
fn entity_error<'a>(state: Option<&'a FormState>, form: &str) -> Option<&'a str> {
    state.filter(|s| s.form == form).map(|s| s.message.as_str())
}

/// The remove form under a record: a reason and a button.
pub(super) fn entity_forms(
    ctx: &Ctx,
    id: &DocId,
    collection: &str,
    entity: &str,
    state: Option<&FormState>,
) -> Markup {
    let lang = ctx.lang;
    let input_id = format!("rm-{entity}");
    let err = entity_error(state, &format!("remove-{entity}"));
    html! {
        form.inline-form.wide.remove-form method="post" action={ "/channels/" (id) "/" (collection) "/" (entity) "/remove" } {
            input type="hidden" name="_csrf" value=(ctx.csrf);
            label.visually-hidden for=(input_id) { (t(lang, "删除原因", "Reason for removing")) }
            input id=(input_id) name="reason" type="text" autocomplete="off"
                placeholder=(t(lang, "删除原因（例如录错了）", "Reason (e.g. entered by mistake)"))
                aria-invalid=[err.map(|_| "true")]
                aria-describedby=[err.map(|_| format!("{input_id}-error"))];
            button.small.secondary type="submit" { (t(lang, "删除", "Remove")) }
            @if let Some(e) = err { p.field-error id={ (input_id) "-error" } role="alert" { (e) } }
        }
    }
}

/// The button that puts a removed record back.
pub(super) fn restore_record_form(
    ctx: &Ctx,
    id: &DocId,
    r: &RemovedRow,
    state: Option<&FormState>,
) -> Markup {
    let err = entity_error(state, &format!("restore-{}", r.entity));
    html! {
        form.inline-form method="post" action={ "/channels/" (id) "/" (r.collection) "/" (r.entity) "/restore" } {
            input type="hidden" name="_csrf" value=(ctx.csrf);
            button.small.secondary type="submit" { (t(ctx.lang, "恢复", "Restore")) }
            @if let Some(e) = err { p.field-error role="alert" { (e) } }
        }
    }
}

/// The forms beside a partner's file the user's role may use.
pub(super) fn forms(ctx: &Ctx, b: &Base, d: &ChannelFile, state: Option<&FormState>) -> Markup {
    let lang = ctx.lang;
    let may = &d.may;
    let now_text = input_time(&b.clock, b.clock.now);
    let today = b.clock.date(b.clock.now);
    let url = format!("/channels/{}", d.id);
    let comm = Form::new("communication", "comm-", COMM_FIELDS, state);
    let train = Form::new("training", "train-", TRAIN_FIELDS, state);
    let assess = Form::new("assessment", "assess-", ASSESS_FIELDS, state);
    let price = Form::new("price", "price-", PRICE_FIELDS, state);
    let review = Form::new("review", "review-", REVIEW_FIELDS, state);
    let risk = Form::new("risk", "risk-", RISK_FIELDS, state);
    let agr = Form::new("agreement", "agr-", AGREEMENT_FIELDS, state);
    let status = Form::new("status", "status-", STATUS_FIELDS, state);
    let terr = Form::new("territory", "terr-", TERRITORY_FIELDS, state);
    let archive = Form::new("archive", "archive-", ARCHIVE_FIELDS, state);
    let current = &d.channel.status;
    let statuses: Vec<(String, String)> = ChannelStatus::ALL
        .iter()
        .filter(|s| *s != current)
        .filter(|s| match s {
            ChannelStatus::Active => may.activate,
            _ => may.status,
        })
        .map(|s| (s.as_str().to_string(), vocab(s.zh(), s.as_str(), lang)))
        .collect();
    let products: Vec<(String, String)> = d
        .products
        .iter()
        .map(|(sku, name)| (sku.clone(), format!("{name} ({sku})")))
        .collect();
    let lines: Vec<String> = d.channel.product_lines.keys().cloned().collect();
    html! {
        @if may.write {
            section.card.form-card {
                h2 { (t(lang, "记录沟通", "Log a communication")) }
                form.form #comm-form method="post" action={ (url) "/communications#comm-form" } {
                    (comm.head(ctx))
                    (comm.text("at", t(lang, "时间", "When"), &now_text, "text", Some(("placeholder", "2026-11-29T14:00"))))
                    (comm.textarea("summary", t(lang, "沟通内容", "What was discussed")))
                    div.actions { button #comm-save type="submit" { (t(lang, "保存记录", "Save")) } }
                }
            }
            details.card.form-card open[train.open()] {
                summary { h2 { (t(lang, "记录培训", "Record a training")) } }
                form.form #train-form method="post" action={ (url) "/trainings#train-form" } {
                    (train.head(ctx))
                    (train.text("topic", t(lang, "培训主题", "Topic"), "", "text", None))
                    (train.text("at", t(lang, "时间", "When"), &now_text, "text", None))
                    div.actions { button #train-save type="submit" { (t(lang, "保存", "Save")) } }
                }
            }
            details.card.form-card open[assess.open()] {
                summary { h2 { (t(lang, "业绩考核", "Assess performance")) } }
                form.form #assess-form method="post" action={ (url) "/assessments#assess-form" } {
                    (assess.head(ctx))
                    div.form-row {
                        (assess.text("period", t(lang, "考核期", "Period"), "", "text", Some(("placeholder", "2026-Q4"))))
                        (assess.text("score", t(lang, "得分（0–100）", "Score (0–100)"), "", "int", None))
                    }
                    (assess.text("note", t(lang, "备注", "Note"), "", "text", None))
                    div.actions { button #assess-save type="submit" { (t(lang, "保存", "Save")) } }
                }
            }
            @if !products.is_empty() {
                details.card.form-card open[price.open()] {
                    summary { h2 { (t(lang, "价格报告", "Report a selling price")) } }
                    form.form #price-form method="post" action={ (url) "/price_reports#price-form" } {
                        (price.head(ctx))
                        (price.select("product", t(lang, "产品", "Product"), &products, ""))
                        div.form-row {
                            (price.text("price", t(lang, "售价（元）", "Price (yuan)"), "", "money", None))
                            (price.text("at", t(lang, "时间", "When"), &now_text, "text", None))
                        }
                        div.actions { button #price-save type="submit" { (t(lang, "保存", "Save")) } }
                    }
                }
            }
        }
        @if may.review {
            details.card.form-card open[review.open()] {
                summary { h2 { (t(lang, "资质审核", "Qualification review")) } }
                form.form #review-form method="post" action={ (url) "/review#review-form" } {
                    (review.head(ctx))
                    (review.select("result", t(lang, "结果", "Result"), &opts(ReviewResult::ALL, ReviewResult::zh, ReviewResult::as_str, lang), "passed"))
                    (review.text("note", t(lang, "备注", "Note"), "", "text", None))
                    div.actions { button #review-save type="submit" { (t(lang, "保存审核", "Save review")) } }
                }
            }
        }
        @if may.risk {
            details.card.form-card open[risk.open()] {
                summary { h2 { (t(lang, "风险评估", "Risk assessment")) } }
                form.form #risk-form method="post" action={ (url) "/risk#risk-form" } {
                    (risk.head(ctx))
                    (risk.select("level", t(lang, "风险等级", "Risk level"), &opts(RiskLevel::ALL, RiskLevel::zh, RiskLevel::as_str, lang), "low"))
                    (risk.text("note", t(lang, "备注", "Note"), "", "text", None))
                    div.actions { button #risk-save type="submit" { (t(lang, "保存评估", "Save assessment")) } }
                }
            }
        }
        @if may.agreement {
            details.card.form-card open[agr.open()] {
                summary { h2 { (t(lang, "合作协议", "Agreement")) } }
                form.form #agreement-form method="post" action={ (url) "/agreement#agreement-form" } {
                    (agr.head(ctx))
                    (agr.textarea("rights", t(lang, "权利", "Rights")))
                    (agr.textarea("responsibilities", t(lang, "责任", "Responsibilities")))
                    (agr.textarea("plan", t(lang, "合作计划", "Cooperation plan")))
                    div.form-row {
                        (agr.text("from", t(lang, "开始日期", "From"), &today, "text", Some(("placeholder", "2026-01-01"))))
                        (agr.text("to", t(lang, "结束日期", "To"), "", "text", Some(("placeholder", "2026-12-31"))))
                    }
                    (agr.text("products", t(lang, "授权产品线（逗号分隔，空为全部）", "Product lines (comma-separated; empty: all)"), &lines.join(", "), "text", None))
                    (agr.checkbox("signed", t(lang, "已签订", "Signed")))
                    div.actions { button #agreement-save type="submit" { (t(lang, "保存协议", "Save agreement")) } }
                }
            }
        }
        @if !statuses.is_empty() {
            details.card.form-card open[status.open()] {
                summary { h2 { (t(lang, "合作状态", "Status")) } }
                form.form #status-form method="post" action={ (url) "/status#status-form" } {
                    (status.head(ctx))
                    (status.select("status", t(lang, "改为", "Change to"), &statuses, ""))
                    div.actions { button #status-save type="submit" { (t(lang, "保存状态", "Save status")) } }
                }
            }
        }
        @if may.territory {
            details.card.form-card open[terr.open()] {
                summary { h2 { (t(lang, "授予区域", "Grant a territory")) } }
                form.form #terr-form method="post" action={ (url) "/territories#terr-form" } {
                    (terr.head(ctx))
                    div.form-row {
                        (terr.text("region", t(lang, "区域", "Region"), d.channel.region.as_deref().unwrap_or(""), "text", None))
                        (terr.text("product_line", t(lang, "产品线", "Product line"), lines.first().map(String::as_str).unwrap_or(""), "text", None))
                    }
                    div.form-row {
                        (terr.text("from", t(lang, "开始日期", "From"), &today, "text", None))
                        (terr.text("to", t(lang, "结束日期", "To"), "", "text", Some(("placeholder", "2026-12-31"))))
                    }
                    (terr.checkbox("non_exclusive", t(lang, "非独家", "Not exclusive")))
                    div.actions { button #terr-save type="submit" { (t(lang, "授予", "Grant")) } }
                }
            }
        }
        @if may.archive {
            details.card.form-card open[archive.open()] {
                summary { h2 { (t(lang, "归档此渠道", "Archive this partner")) } }
                form.form #archive-form method="post" action={ (url) "/archive#archive-form" } {
                    (archive.head(ctx))
                    p.muted.small { (t(lang, "归档后不再出现在列表和规则检查中，历史保留，可以恢复。", "An archived partner leaves the lists and the rules; its history is kept and it can be restored.")) }
                    (archive.text("reason", t(lang, "原因", "Reason"), "", "text", None))
                    div.actions { button.secondary #archive-save type="submit" { (t(lang, "归档", "Archive")) } }
                }
            }
        }
    }
}

/// What one form on a partner's file does; the flash text.
fn save(
    ws: &Workspace,
    id: &DocId,
    action: &str,
    f: &Fields,
    clock: &input::Clock,
    lang: Lang,
) -> fieldcrm_workspace::Result<&'static str> {
    let now = clock.now;
    let at = |field: &str| clock.parse_or_now(field, f.opt(field).as_deref());
    match action {
        "communications" => {
            ws.channel_communicate(id, f.get("summary"), at("at")?, now)?;
        }
        "trainings" => {
            ws.channel_train(id, f.get("topic"), at("at")?, now)?;
        }
        "assessments" => {
            let score = input::int_between("score", f.get("score"), 0, 100)?;
            ws.assess_channel(id, f.get("period"), score, f.opt("note"), now)?;
        }
        "price_reports" => {
            let price = input::money("price", f.get("price"))?;
            ws.report_channel_price(id, f.get("product"), price, at("at")?, now)
                .map_err(|e| match e.field() {
                    None if e.code() == "not-found" => e.on("product"),
                    _ => e,
                })?;
        }
        "review" => {
            let result: ReviewResult = input::vocab("result", f.get("result"))?;
            ws.review_channel(id, result, f.opt("note"), now)?;
        }
        "risk" => {
            let level: RiskLevel = input::vocab("level", f.get("level"))?;
            ws.assess_channel_risk(id, level, f.opt("note"), now)?;
        }
        "agreement" => {
            let (start, end) = input::term(clock, "from", f.get("from"), "to", f.get("to"))?;
            let a = AgreementInput {
                rights: f.get("rights").to_string(),
                responsibilities: f.get("responsibilities").to_string(),
                plan: f.get("plan").to_string(),
                term_start: start,
                term_end: end,
                products: split_list(f.get("products")),
                signed: f.opt("signed").is_some(),
            };
            ws.set_agreement(id, a, now)?;
        }
        "status" => {
            let status: ChannelStatus = input::vocab("status", f.get("status"))?;
            ws.set_channel_status(id, status, now)
                .map_err(|e| match e.field() {
                    None if e.code() == "invalid-input" => e.on("status"),
                    _ => e,
                })?;
        }
        "territories" => {
            let (start, end) = input::term(clock, "from", f.get("from"), "to", f.get("to"))?;
            let exclusive = f.opt("non_exclusive").is_none();
            ws.grant_territory(
                id,
                f.get("region"),
                f.get("product_line"),
                start,
                end,
                exclusive,
                now,
            )?;
        }
        "archive" => {
            ws.archive_record(id, f.opt("reason"), now)?;
            return Ok(t(lang, "已归档", "Archived"));
        }
        "restore" => {
            ws.restore_record(id, now)?;
            return Ok(t(lang, "已恢复", "Restored"));
        }
        _ => {
            return Err(fieldcrm_workspace::Error::not_found(format!(
                "action `{action}`"
            )));
        }
    }
    Ok(t(lang, "已保存", "Saved"))
}

fn form_name(action: &str) -> &'static str {
    match action {
        "communications" => "communication",
        "trainings" => "training",
        "assessments" => "assessment",
        "price_reports" => "price",
        "review" => "review",
        "risk" => "risk",
        "agreement" => "agreement",
        "status" => "status",
        "territories" => "territory",
        "archive" => "archive",
        _ => "",
    }
}

/// A form on a partner's file, or on one of its records.
enum Act {
    /// `POST /channels/{id}/{action}`.
    File(String),
    /// `POST /channels/{id}/{collection}/{entity}/{remove|restore}`.
    Record {
        collection: String,
        entity: String,
        action: String,
    },
}

fn run_act(
    ws: &Workspace,
    id: &DocId,
    act: &Act,
    f: &Fields,
    clock: &input::Clock,
    lang: Lang,
) -> fieldcrm_workspace::Result<&'static str> {
    match act {
        Act::File(action) => save(ws, id, action, f, clock, lang),
        Act::Record {
            collection,
            entity,
            action,
        } => match action.as_str() {
            "remove" => ws
                .remove_channel_record(id, collection, entity, f.opt("reason"), clock.now)
                .map(|_| t(lang, "已删除", "Removed")),
            "restore" => ws
                .restore_channel_record(id, collection, entity, clock.now)
                .map(|_| t(lang, "已恢复", "Restored")),
            _ => Err(fieldcrm_workspace::Error::not_found(format!(
                "action `{action}`"
            ))),
        },
    }
}

async fn act(app: Arc<App>, ctx: Ctx, fields: Fields, id: String, act: Act) -> Response {
    let a = app.clone();
    let now = app.now();
    let lang = ctx.lang;
    let r = crate::store::with_ws(&app, move |ws| {
        let b = base(ws, &a)?;
        let (id, _) = channel_id(ws, &id)?;
        match run_act(ws, &id, &act, &fields, &b.clock, lang) {
            Ok(msg) => Ok((b, id, Ok(msg))),
            Err(e) if e.is_usage() => {
                let form = match &act {
                    Act::File(action) => form_name(action).to_string(),
                    Act::Record { entity, action, .. } => format!("{action}-{entity}"),
                };
                let state = FormState::refused(form, &fields, &e, lang);
                let (_, summary) = channel_id(ws, id.as_str())?;
                let d = load(ws, &id, &summary, now, lang)?;
                // A refusal about a record whose form is not on the page (removed twice,
                // restored twice) goes on top of the page instead.
                let shown = match &act {
                    Act::File(_) => true,
                    Act::Record {
                        collection,
                        entity,
                        action,
                    } => match action.as_str() {
                        "remove" => describe(&d.channel, collection, entity, lang).is_some(),
                        _ => d.removed.iter().any(|r| r.entity == *entity),
                    },
                };
                Ok((b, id, Err((Box::new(d), state, shown))))
            }
            Err(e) => Err(e.into()),
        }
    })
    .await;
    match r {
        Ok((_, id, Ok(msg))) => {
            app.flash(&ctx.token, msg.to_string());
            ui::see_other(&format!("/channels/{id}#main"))
        }
        Ok((b, _, Err((d, state, shown)))) => {
            let flash = (!shown).then(|| crate::Flash {
                ok: false,
                text: state.message.clone(),
            });
            ui::page(
                StatusCode::UNPROCESSABLE_ENTITY,
                file_page(&ctx, &b, &d, flash, Some(&state)),
            )
        }
        Err(e) => fail(&ctx, e),
    }
}

/// `POST /channels/{id}/{action}`.
pub(crate) async fn record(
    State(app): State<Arc<App>>,
    Extension(ctx): Extension<Ctx>,
    Extension(fields): Extension<Fields>,
    Path((id, action)): Path<(String, String)>,
) -> Response {
    act(app, ctx, fields, id, Act::File(action)).await
}

/// `POST /channels/{id}/{collection}/{entity}/{remove|restore}`.
pub(crate) async fn entity_action(
    State(app): State<Arc<App>>,
    Extension(ctx): Extension<Ctx>,
    Extension(fields): Extension<Fields>,
    Path((id, collection, entity, action)): Path<(String, String, String, String)>,
) -> Response {
    let a = Act::Record {
        collection,
        entity,
        action,
    };
    act(app, ctx, fields, id, a).await
}

/// `POST /channels`: register a partner; on a refusal the list again (422) with the
/// message beside the field.
pub(crate) async fn create(
    State(app): State<Arc<App>>,
    Extension(ctx): Extension<Ctx>,
    Extension(fields): Extension<Fields>,
) -> Response {
    let a = app.clone();
    let now = app.now();
    let lang = ctx.lang;
    let r = crate::store::with_ws(&app, move |ws| {
        let b = base(ws, &a)?;
        let res = input::vocab::<ChannelKind>("kind", fields.get("kind")).and_then(|kind| {
            ws.add_channel(
                NewChannel {
                    name: fields.get("name").to_string(),
                    kind,
                    region: fields.opt("region"),
                    product_lines: split_list(fields.get("lines")),
                    owner: fields.opt("owner"),
                },
                now,
            )
            .map_err(|e| match e.field() {
                None if matches!(e.code(), "not-found" | "ambiguous") => e.on("owner"),
                _ => e,
            })
        });
        match res {
            Ok(id) => Ok((b, Ok(id))),
            Err(e) if e.is_usage() => {
                let state = FormState::refused("channel".into(), &fields, &e, lang);
                Ok((b, Err((load_list(ws)?, state))))
            }
            Err(e) => Err(e.into()),
        }
    })
    .await;
    match r {
        Ok((_, Ok(id))) => {
            app.flash(
                &ctx.token,
                t(lang, "已添加渠道", "Partner added").to_string(),
            );
            ui::see_other(&format!("/channels/{id}#main"))
        }
        Ok((b, Err((d, state)))) => ui::page(
            StatusCode::UNPROCESSABLE_ENTITY,
            list_page(&ctx, &b, &d, None, Some(&state)),
        ),
        Err(e) => fail(&ctx, e),
    }
}
