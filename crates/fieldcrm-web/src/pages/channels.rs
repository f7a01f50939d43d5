//! `GET /channels` 渠道 and `GET /channels/{id}` a partner's file (read-only).

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use fieldcrm_model::{Channel, ChannelKind, ChannelStatus, DocId, DocKind, Lang, ReviewResult};
use fieldcrm_policy::Finding;
use fieldcrm_workspace::{CheckQuery, Filter, Listed, Tombstones};
use maud::{Markup, html};

use super::{Base, base, fail, finding_item};
use crate::App;
use crate::format::{t, when};
use crate::security::Ctx;
use crate::store::WsError;
use crate::ui::{self, empty, vocab};

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

/// `GET /channels`.
pub(crate) async fn list(State(app): State<Arc<App>>, Extension(ctx): Extension<Ctx>) -> Response {
    let a = app.clone();
    let r = crate::store::with_ws(&app, move |ws| {
        let b = base(ws, &a)?;
        let mut rows = ws.list(
            &Filter::default()
                .kind(DocKind::Channel)
                .tombstones(Tombstones::Exclude),
        )?;
        rows.sort_by(|x, y| x.summary.name.cmp(&y.summary.name));
        Ok((b, rows))
    })
    .await;
    let flash = app.take_flash(&ctx.token);
    match r {
        Ok((b, rows)) => ui::page(
            StatusCode::OK,
            ui::layout(
                &ctx,
                &b.who,
                "channels",
                t(ctx.lang, "渠道", "Channels"),
                flash,
                render_list(ctx.lang, &b, &rows),
            ),
        ),
        Err(e) => fail(&ctx, e),
    }
}

fn render_list(lang: Lang, b: &Base, rows: &[Listed]) -> Markup {
    html! {
        div.page-head { h1 { (t(lang, "渠道", "Channels")) } }
        section.card {
            @if rows.is_empty() { (empty(t(lang, "还没有渠道伙伴。", "No channel partners yet."))) }
            @else {
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
    }
}

/// `GET /channels/{id}`.
pub(crate) async fn page(
    State(app): State<Arc<App>>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> Response {
    let a = app.clone();
    let now = app.now();
    let r = crate::store::with_ws(&app, move |ws| {
        let b = base(ws, &a)?;
        let id: DocId = id.parse().map_err(|_| {
            WsError::App(fieldcrm_workspace::Error::not_found(format!(
                "channel `{id}`"
            )))
        })?;
        if ws.summary(&id)?.is_none_or(|s| s.kind != DocKind::Channel) {
            return Err(fieldcrm_workspace::Error::not_found(format!("channel {id}")).into());
        }
        let ch: Channel = ws
            .load(&id)?
            .hydrate::<Channel>()
            .map_err(fieldcrm_workspace::Error::from)?
            .without_removed();
        let findings = ws.check(
            &CheckQuery {
                rule: None,
                doc: Some(id.clone()),
            },
            now,
        )?;
        Ok((b, ch, findings))
    })
    .await;
    match r {
        Ok((b, ch, findings)) => ui::page(
            StatusCode::OK,
            ui::layout(
                &ctx,
                &b.who,
                "channels",
                &ch.name.clone(),
                None,
                render(ctx.lang, &b, &ch, &findings),
            ),
        ),
        Err(e) => fail(&ctx, e),
    }
}

fn render(lang: Lang, b: &Base, c: &Channel, findings: &[Finding]) -> Markup {
    let dash = "—".to_string();
    let kind: &ChannelKind = &c.channel_kind;
    let mut notes: Vec<(i64, &'static str, &str)> = c
        .communications
        .values()
        .map(|n| (n.at, t(lang, "沟通", "Communication"), n.text.as_str()))
        .chain(
            c.trainings
                .values()
                .map(|n| (n.at, t(lang, "培训", "Training"), n.text.as_str())),
        )
        .collect();
    notes.sort_by_key(|n| std::cmp::Reverse(n.0));
    html! {
        nav.crumbs { a href="/channels" { "← " (t(lang, "渠道", "Channels")) } }
        div.page-head {
            h1 { (c.name) " " (status_chip(Some(c.status.as_str()), lang)) }
        }
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
                dt { (t(lang, "授权区域", "Territories")) } dd { (c.territories.len()) }
                dt { (t(lang, "考核", "Assessments")) } dd { (c.assessments.len()) }
            }
        }
        @if !findings.is_empty() {
            section.card {
                h2 { (t(lang, "需要处理", "Needs attention")) }
                ul.findings { @for f in findings { (finding_item(f, lang, None)) } }
            }
        }
        section.card {
            h2 { (t(lang, "沟通与培训", "Communications and training")) }
            @if notes.is_empty() { (empty(t(lang, "还没有记录。", "Nothing recorded yet."))) }
            @else {
                ol.timeline {
                    @for (at, kind, text) in &notes {
                        li.tl-item {
                            div.tl-when { (when(&b.clock, *at, lang)) }
                            div.tl-kind { (kind) }
                            div.tl-body { p { (text) } }
                        }
                    }
                }
            }
        }
    }
}
