//! `GET /channels` 渠道 (with the form to add a partner, `POST /channels`, and the archived
//! partners for those who may restore them) and `GET /channels/{id}` a partner's file: its
//! details, findings, communications, trainings, assessments, price reports and
//! territories, the records removed from it, and the forms the user's role may use
//! (`channel_forms.rs`).

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use fieldcrm_model::access::can_write;
use fieldcrm_model::{
    Authority, Channel, ChannelKind, ChannelStatus, DocId, DocKind, Lang, Millis, Note,
    ReviewResult, Summary,
};
use fieldcrm_policy::Finding;
use fieldcrm_workspace::{CheckQuery, Filter, Listed, Tombstones, Workspace};
use maud::{Markup, html};

use super::channel_forms::{self, entity_forms};
use super::{Base, base, fail, finding_item};
use crate::App;
use crate::format::{t, when};
use crate::security::Ctx;
use crate::store::WsError;
use crate::ui::{self, FormState, empty, vocab};

/// What the signed-in user may do with channels (the workspace refuses the rest anyway;
/// this only decides which forms to show).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct May {
    /// Register a partner.
    pub(super) create: bool,
    /// Add communications, trainings, assessments and price reports (write scope).
    pub(super) write: bool,
    /// Qualification review.
    pub(super) review: bool,
    /// Risk assessment.
    pub(super) risk: bool,
    /// Agreement.
    pub(super) agreement: bool,
    /// Activate.
    pub(super) activate: bool,
    /// Suspend or terminate.
    pub(super) status: bool,
    /// Grant a territory.
    pub(super) territory: bool,
    /// Archive and restore the partner; remove and restore its records.
    pub(super) archive: bool,
}

impl May {
    /// For the user of `ws`, on the channel with `summary` (or none, on the list).
    pub(super) fn of(ws: &Workspace, summary: Option<&Summary>) -> May {
        let Ok(me) = ws.me() else {
            return May::default();
        };
        let role = &me.user.role;
        let write = summary.is_some_and(|s| can_write(&me.roster, &me.user_id, s));
        let may = |a: Authority| write && a.allows(role);
        May {
            create: Authority::ChannelCreate.allows(role),
            write,
            review: may(Authority::ChannelQualification),
            risk: may(Authority::ChannelRisk),
            agreement: may(Authority::ChannelAgreement),
            activate: may(Authority::ChannelActivation),
            status: may(Authority::ChannelStatus),
            territory: may(Authority::ChannelTerritory),
            archive: may(Authority::Archive),
        }
    }
}

fn status_chip(status: Option<&str>, lang: Lang) -> Markup {
    let s: Option<ChannelStatus> = status.and_then(|s| s.parse().ok());
    let css = match s {
        Some(ChannelStatus::Active) => "chip ok",
        Some(ChannelStatus::Suspended | ChannelStatus::Terminated) => "chip bad",
        _ => "chip",
    };
    html! {
        @if let Some(s) = s { span class=(css) { (vocab(s.zh(), s.as_str(), lang)) } }
    }
}

/// What the list page shows.
pub(super) struct ListData {
    rows: Vec<Listed>,
    archived: Vec<Listed>,
    pub(super) may: May,
}

pub(super) fn load_list(ws: &Workspace) -> Result<ListData, WsError> {
    let filter = Filter::default().kind(DocKind::Channel);
    let by_name = |mut rows: Vec<Listed>| {
        rows.sort_by(|x, y| x.summary.name.cmp(&y.summary.name));
        rows
    };
    let rows = by_name(ws.list(&filter.clone().tombstones(Tombstones::Exclude))?);
    let may = May::of(ws, None);
    let archived = if ws.my_role().is_some_and(|r| Authority::Archive.allows(&r)) {
        by_name(ws.list(&filter.tombstones(Tombstones::Only))?)
            .into_iter()
            .filter(|r| r.summary.archived && r.summary.merged_into.is_none())
            .collect()
    } else {
        Vec::new()
    };
    Ok(ListData {
        rows,
        archived,
        may,
    })
}

/// `GET /channels`.
pub(crate) async fn list(State(app): State<Arc<App>>, Extension(ctx): Extension<Ctx>) -> Response {
    let a = app.clone();
    let r = crate::store::with_ws(&app, move |ws| Ok((base(ws, &a)?, load_list(ws)?))).await;
    let flash = app.take_flash(&ctx.token);
    match r {
        Ok((b, d)) => ui::page(StatusCode::OK, list_page(&ctx, &b, &d, flash, None)),
        Err(e) => fail(&ctx, e),
    }
}

pub(super) fn list_page(
    ctx: &Ctx,
    b: &Base,
    d: &ListData,
    flash: Option<crate::Flash>,
    state: Option<&FormState>,
) -> Markup {
    ui::layout(
        ctx,
        &b.who,
        "channels",
        t(ctx.lang, "渠道", "Channels"),
        flash,
        render_list(ctx, b, d, state),
    )
}

fn rows_list(lang: Lang, b: &Base, rows: &[Listed]) -> Markup {
    html! {
        ul.list {
            @for r in rows {
                li.row {
                    div.row-main {
                        a.channel-link href={ "/channels/" (r.id) } { (r.summary.name) }
                        div.row-sub {
                            @if let Some(o) = &r.summary.owner { (b.user_name(o)) }
                            @if let Some(rg) = &r.summary.region { " · " (rg) }
                        }
                    }
                    div.row-side { (status_chip(r.summary.status.as_deref(), lang)) }
                }
            }
        }
    }
}

fn render_list(ctx: &Ctx, b: &Base, d: &ListData, state: Option<&FormState>) -> Markup {
    let lang = ctx.lang;
    html! {
        div.page-head { h1 { (t(lang, "渠道", "Channels")) } }
        div.file-layout {
            div.file-main {
                section.card {
                    @if d.rows.is_empty() { (empty(t(lang, "还没有渠道伙伴。", "No channel partners yet."))) }
                    @else { (rows_list(lang, b, &d.rows)) }
                }
                @if !d.archived.is_empty() {
                    details.card #archived-channels {
                        summary { h2 { (t(lang, "已归档", "Archived")) " " span.count { (d.archived.len()) } } }
                        (rows_list(lang, b, &d.archived))
                    }
                }
            }
            @if d.may.create {
                div.file-side { (channel_forms::new_channel_form(ctx, b, state)) }
            }
        }
    }
}

/// A record removed from the partner's file, for those who may put it back.
pub(super) struct RemovedRow {
    /// `communications`, `trainings`, ...
    pub(super) collection: String,
    /// The record's ID.
    pub(super) entity: String,
    /// What it was, in words.
    pub(super) what: String,
    /// Who removed it, when, why.
    pub(super) note: Note,
}

/// Everything a partner's file shows.
pub(super) struct ChannelFile {
    pub(super) id: DocId,
    /// Without its removed records.
    pub(super) channel: Channel,
    pub(super) removed: Vec<RemovedRow>,
    findings: Vec<Finding>,
    pub(super) may: May,
    /// The catalog's products (SKU, name), for a price report.
    pub(super) products: Vec<(String, String)>,
}

/// A removed record in words (`None` if it is not in the document).
pub(super) fn describe(c: &Channel, collection: &str, id: &str, lang: Lang) -> Option<String> {
    Some(match collection {
        "communications" => c.communications.get(id)?.text.clone(),
        "trainings" => c.trainings.get(id)?.text.clone(),
        "assessments" => {
            let a = c.assessments.get(id)?;
            format!("{} · {}", a.period, a.score)
        }
        "price_reports" => {
            let p = c.price_reports.get(id)?;
            format!("{} · {}", p.product, crate::format::yuan(p.price, lang))
        }
        "territories" => {
            let tr = c.territories.get(id)?;
            format!("{} · {}", tr.region, tr.product_line)
        }
        _ => return None,
    })
}

/// The channel named in a path: a valid ID of a channel this device holds.
pub(super) fn channel_id(ws: &Workspace, text: &str) -> Result<(DocId, Summary), WsError> {
    let not_found = || fieldcrm_workspace::Error::not_found(format!("channel `{text}`"));
    let id: DocId = text.parse().map_err(|_| WsError::App(not_found()))?;
    match ws.summary(&id)? {
        Some(s) if s.kind == DocKind::Channel => Ok((id, s)),
        _ => Err(not_found().into()),
    }
}

pub(super) fn load(
    ws: &Workspace,
    id: &DocId,
    summary: &Summary,
    now: Millis,
    lang: Lang,
) -> Result<ChannelFile, WsError> {
    let raw: Channel = ws
        .load(id)?
        .hydrate::<Channel>()
        .map_err(fieldcrm_workspace::Error::from)?;
    let removed = raw
        .removed
        .iter()
        .filter_map(|(key, note)| {
            let (collection, entity) = key.split_once('/')?;
            Some(RemovedRow {
                what: describe(&raw, collection, entity, lang)?,
                collection: collection.to_string(),
                entity: entity.to_string(),
                note: note.clone(),
            })
        })
        .collect();
    let findings = ws.check(
        &CheckQuery {
            rule: None,
            doc: Some(id.clone()),
        },
        now,
    )?;
    let products = ws
        .catalog()
        .map(|c| {
            c.products
                .into_iter()
                .map(|(sku, p)| (sku, p.name))
                .collect()
        })
        .unwrap_or_default();
    Ok(ChannelFile {
        id: id.clone(),
        channel: raw.without_removed(),
        removed,
        findings,
        may: May::of(ws, Some(summary)),
        products,
    })
}

/// `GET /channels/{id}`.
pub(crate) async fn page(
    State(app): State<Arc<App>>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> Response {
    let a = app.clone();
    let now = app.now();
    let lang = ctx.lang;
    let r = crate::store::with_ws(&app, move |ws| {
        let b = base(ws, &a)?;
        let (id, summary) = channel_id(ws, &id)?;
        let d = load(ws, &id, &summary, now, lang)?;
        Ok((b, d))
    })
    .await;
    let flash = app.take_flash(&ctx.token);
    match r {
        Ok((b, d)) => ui::page(StatusCode::OK, file_page(&ctx, &b, &d, flash, None)),
        Err(e) => fail(&ctx, e),
    }
}

pub(super) fn file_page(
    ctx: &Ctx,
    b: &Base,
    d: &ChannelFile,
    flash: Option<crate::Flash>,
    state: Option<&FormState>,
) -> Markup {
    ui::layout(
        ctx,
        &b.who,
        "channels",
        &d.channel.name,
        flash,
        render(ctx, b, d, state),
    )
}

/// One line of the activity list: when, kind, text, and the forms on it.
struct Item {
    at: Millis,
    kind: &'static str,
    text: String,
    by: String,
    collection: &'static str,
    entity: String,
}

fn activity(lang: Lang, b: &Base, c: &Channel) -> Vec<Item> {
    let mut items: Vec<Item> = Vec::new();
    let item = |at, kind, text: String, by: &str, collection, entity: &String| Item {
        at,
        kind,
        text,
        by: b.user_name(by),
        collection,
        entity: entity.clone(),
    };
    for (k, n) in &c.communications {
        let kind = t(lang, "沟通", "Communication");
        items.push(item(n.at, kind, n.text.clone(), &n.by, "communications", k));
    }
    for (k, n) in &c.trainings {
        let kind = t(lang, "培训", "Training");
        items.push(item(n.at, kind, n.text.clone(), &n.by, "trainings", k));
    }
    for (k, a) in &c.assessments {
        let text = match (&a.note, lang) {
            (Some(n), Lang::Zh) => format!("{} 得分 {} · {n}", a.period, a.score),
            (None, Lang::Zh) => format!("{} 得分 {}", a.period, a.score),
            (Some(n), Lang::En) => format!("{} score {} · {n}", a.period, a.score),
            (None, Lang::En) => format!("{} score {}", a.period, a.score),
        };
        let kind = t(lang, "考核", "Assessment");
        items.push(item(a.at, kind, text, &a.by, "assessments", k));
    }
    for (k, p) in &c.price_reports {
        let text = format!("{} · {}", p.product, crate::format::yuan(p.price, lang));
        let kind = t(lang, "价格报告", "Price report");
        items.push(item(p.at, kind, text, &p.by, "price_reports", k));
    }
    items.sort_by_key(|i| std::cmp::Reverse(i.at));
    items
}

fn render(ctx: &Ctx, b: &Base, d: &ChannelFile, state: Option<&FormState>) -> Markup {
    let lang = ctx.lang;
    let c = &d.channel;
    let dash = "—".to_string();
    let kind: &ChannelKind = &c.channel_kind;
    let items = activity(lang, b, c);
    let live = c.archived.is_none();
    html! {
        nav.crumbs aria-label=(t(lang, "位置", "Breadcrumb")) { a href="/channels" { "← " (t(lang, "渠道", "Channels")) } }
        div.page-head {
            h1 { (c.name) " " (status_chip(Some(c.status.as_str()), lang)) }
            @if live && d.may.write {
                div.quick-actions {
                    a.button.small-button href="#comm-form" { (t(lang, "记录沟通", "Log a communication")) }
                    a.button.secondary.small-button href="#activity" { (t(lang, "往来记录", "Activity")) }
                }
            }
            @if let Some(a) = &c.archived {
                div.flash.flash-error #archived-note role="status" {
                    (t(lang, "此渠道已归档", "This partner is archived"))
                    " · " (when(&b.clock, a.at, lang)) " · " (b.user_name(&a.by))
                    @if !a.text.is_empty() { " · " (a.text) }
                    @if d.may.archive { (channel_forms::restore_channel_form(ctx, &d.id)) }
                }
            }
        }
        div.file-layout {
            div.file-main {
                section.card {
                    h2 { (t(lang, "基本信息", "Details")) }
                    dl.facts {
                        dt { (t(lang, "类型", "Kind")) } dd { (vocab(kind.zh(), kind.as_str(), lang)) }
                        dt { (t(lang, "区域", "Region")) } dd { (c.region.clone().unwrap_or(dash.clone())) }
                        dt { (t(lang, "产品线", "Product lines")) } dd { (c.product_lines.keys().cloned().collect::<Vec<_>>().join("、")) }
                        dt { (t(lang, "负责人", "Owner")) } dd { (c.owner.as_deref().map(|o| b.user_name(o)).unwrap_or(dash.clone())) }
                        dt { (t(lang, "资质审核", "Qualification")) } dd {
                            @match &c.qualification {
                                Some(q) if q.result == ReviewResult::Passed => { span.chip.ok { (t(lang, "通过", "passed")) } }
                                Some(_) => { span.chip.bad { (t(lang, "不通过", "failed")) } }
                                None => { (dash.clone()) }
                            }
                        }
                        dt { (t(lang, "风险等级", "Risk")) } dd { @match &c.risk { Some(r) => (vocab(r.level.zh(), r.level.as_str(), lang)), None => (dash.clone()) } }
                        dt { (t(lang, "合作协议", "Agreement")) } dd {
                            @match &c.agreement {
                                Some(a) => {
                                    (b.clock.date(a.term_start)) " – " (b.clock.date(a.term_end))
                                    @if a.signed_at.is_some() { " " span.chip.ok { (t(lang, "已签", "signed")) } }
                                }
                                None => (dash.clone())
                            }
                        }
                    }
                }
                @if !d.findings.is_empty() {
                    section.card {
                        h2 { (t(lang, "需要处理", "Needs attention")) }
                        ul.findings { @for f in &d.findings { (finding_item(f, lang, None)) } }
                    }
                }
                section.card #territories {
                    h2 { (t(lang, "授权区域", "Territories")) " " span.count { (c.territories.len()) } }
                    @if c.territories.is_empty() { (empty(t(lang, "还没有授权区域。", "No territories granted."))) }
                    @else {
                        ul.list {
                            @for (k, tr) in &c.territories {
                                li.row {
                                    div.row-main {
                                        strong { (tr.region) } " · " (tr.product_line)
                                        @if tr.exclusive { " " span.chip { (t(lang, "独家", "exclusive")) } }
                                        div.row-sub { (b.clock.date(tr.start)) " – " (b.clock.date(tr.end)) " · " (b.user_name(&tr.by)) }
                                        @if live && d.may.archive { (entity_forms(ctx, &d.id, "territories", k, state)) }
                                    }
                                }
                            }
                        }
                    }
                }
                section.card #activity {
                    h2 { (t(lang, "沟通、培训、考核与价格", "Communications, training, assessments, prices")) }
                    @if items.is_empty() { (empty(t(lang, "还没有记录。", "Nothing recorded yet."))) }
                    @else {
                        ol.timeline {
                            @for i in &items {
                                li.tl-item {
                                    div.tl-when { (when(&b.clock, i.at, lang)) }
                                    div.tl-kind { (i.kind) }
                                    div.tl-body {
                                        p { (i.text) }
                                        p.muted { (i.by) }
                                        @if live && d.may.archive { (entity_forms(ctx, &d.id, i.collection, &i.entity, state)) }
                                    }
                                }
                            }
                        }
                    }
                }
                @if d.may.archive && !d.removed.is_empty() {
                    section.card #removed {
                        h2 { (t(lang, "已删除的记录", "Removed records")) " " span.count { (d.removed.len()) } }
                        ul.list {
                            @for r in &d.removed {
                                li.row {
                                    div.row-main {
                                        s { (r.what) }
                                        div.row-sub {
                                            (b.user_name(&r.note.by)) " · " (when(&b.clock, r.note.at, lang))
                                            @if !r.note.text.is_empty() { " · " (t(lang, "原因：", "reason: ")) (r.note.text) }
                                        }
                                        @if live { (channel_forms::restore_record_form(ctx, &d.id, r, state)) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if live {
                div.file-side { (channel_forms::forms(ctx, b, d, state)) }
            }
        }
    }
}
