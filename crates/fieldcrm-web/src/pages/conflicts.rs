//! `GET /conflicts` 冲突: fields with concurrent values, who set each and when;
//! `POST /conflicts` keeps one value (`Workspace::resolve_conflict`).

use std::sync::Arc;

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use fieldcrm_model::DocId;
use fieldcrm_model::access::can_write;
use fieldcrm_workspace::{Conflict, Pick, value_text};
use maud::{Markup, html};

use super::{Base, base, doc_href, fail};
use crate::App;
use crate::format::{t, when};
use crate::security::{Ctx, Fields};
use crate::store::WsError;
use crate::ui::{self, empty};

/// `GET /conflicts`.
pub(crate) async fn page(State(app): State<Arc<App>>, Extension(ctx): Extension<Ctx>) -> Response {
    let a = app.clone();
    let r = crate::store::with_ws(&app, move |ws| {
        let b = base(ws, &a)?;
        let conflicts = ws.conflicts()?;
        let me = ws.me().ok();
        let writable: Vec<bool> = conflicts
            .iter()
            .map(|c| {
                me.as_ref().is_some_and(|m| {
                    ws.summary(&c.doc)
                        .ok()
                        .flatten()
                        .is_some_and(|s| can_write(&m.roster, &m.user_id, &s))
                })
            })
            .collect();
        Ok((b, conflicts, writable))
    })
    .await;
    let flash = app.take_flash(&ctx.token);
    match r {
        Ok((b, c, w)) => ui::page(
            StatusCode::OK,
            ui::layout(
                &ctx,
                &b.who,
                "conflicts",
                t(ctx.lang, "冲突", "Conflicts"),
                flash,
                render(&ctx, &b, &c, &w),
            ),
        ),
        Err(e) => fail(&ctx, e),
    }
}

fn render(ctx: &Ctx, b: &Base, conflicts: &[Conflict], writable: &[bool]) -> Markup {
    let lang = ctx.lang;
    html! {
        div.page-head {
            h1 { (t(lang, "冲突", "Conflicts")) }
            p.muted { (t(lang, "两台设备同时修改了同一字段。选定正确的值后，所有设备同步后都会采用它。", "Two devices changed the same field at the same time. Pick the right value; every device takes it after syncing.")) }
        }
        @if conflicts.is_empty() {
            section.card { (empty(t(lang, "没有冲突。", "No conflicts."))) }
        }
        @for (c, may) in conflicts.iter().zip(writable.iter().chain(std::iter::repeat(&false))) {
            @let kind = c.kind.parse().unwrap_or(fieldcrm_model::DocKind::Customer);
            section.card.conflict {
                h2 { a href=(doc_href(&c.doc, &kind)) { (c.name) } " · " code { (c.path) } }
                ul.list {
                    @for v in &c.values {
                        li.row {
                            div.row-main {
                                strong.conflict-value { (value_text(&v.value)) }
                                @if v.shown { " " span.chip { (t(lang, "当前显示", "shown now")) } }
                                div.row-sub { (v.author.label()) " · " (when(&b.clock, v.time, lang)) }
                            }
                            div.row-side {
                                @if *may {
                                    form.inline-form method="post" action="/conflicts" {
                                        input type="hidden" name="_csrf" value=(ctx.csrf);
                                        input type="hidden" name="doc" value=(c.doc);
                                        input type="hidden" name="path" value=(c.path);
                                        input type="hidden" name="value" value=(value_text(&v.value));
                                        button.resolve.small type="submit" { (t(lang, "采用此值", "Keep this")) }
                                    }
                                }
                            }
                        }
                    }
                }
                @if !*may { p.muted.small { (t(lang, "你无权修改此档案；请负责人或经理处理。", "You may not change this file; ask its owner or a manager.")) } }
            }
        }
    }
}

/// `POST /conflicts`.
pub(crate) async fn resolve(
    State(app): State<Arc<App>>,
    Extension(ctx): Extension<Ctx>,
    Extension(fields): Extension<Fields>,
) -> Response {
    let now = app.now();
    let lang = ctx.lang;
    let r = crate::store::with_ws(&app, move |ws| {
        let doc: DocId = fields
            .get("doc")
            .parse()
            .map_err(|_| WsError::App(fieldcrm_workspace::Error::not_found("document")))?;
        Ok(ws.resolve_conflict(
            &doc,
            fields.get("path"),
            &Pick::Value(fields.get("value").to_string()),
            now,
        ))
    })
    .await;
    match r {
        Ok(Ok(_)) => {
            app.flash(&ctx.token, t(lang, "已保存", "Saved").to_string());
            ui::see_other("/conflicts")
        }
        Ok(Err(e)) => {
            app.flash_error(&ctx.token, e.message(lang));
            ui::see_other("/conflicts")
        }
        Err(e) => fail(&ctx, e),
    }
}
