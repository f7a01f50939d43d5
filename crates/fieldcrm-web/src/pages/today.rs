//! `GET /` 今日: what is due today for the acting user.

use std::sync::Arc;

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use fieldcrm_model::{CustomerClass, Lang};
use fieldcrm_workspace::{ApprovalKind, DueContact, Today};
use maud::{Markup, html};

use super::{Base, base, doc_href, fail, finding_item};
use crate::App;
use crate::format::{money, pct, t, when};
use crate::security::Ctx;
use crate::ui::{self, empty};

/// `GET /`.
pub(crate) async fn page(State(app): State<Arc<App>>, Extension(ctx): Extension<Ctx>) -> Response {
    let a = app.clone();
    let now = app.now();
    let r = crate::store::with_ws(&app, move |ws| {
        let b = base(ws, &a)?;
        let today = ws.today(now)?;
        Ok((b, today))
    })
    .await;
    let flash = app.take_flash(&ctx.token);
    match r {
        Ok((b, today)) => ui::page(
            StatusCode::OK,
            ui::layout(
                &ctx,
                &b.who,
                "today",
                t(ctx.lang, "今日", "Today"),
                flash,
                render(&ctx, &b, &today),
            ),
        ),
        Err(e) => fail(&ctx, e),
    }
}

/// A class badge.
pub(crate) fn class_badge(class: Option<&CustomerClass>, lang: Lang) -> Markup {
    match class {
        Some(c) => {
            let css = match c {
                CustomerClass::Key => "badge key",
                CustomerClass::General => "badge",
                _ => "badge soft",
            };
            html! { span class=(css) { (crate::ui::vocab(c.zh(), c.as_str(), lang)) } }
        }
        None => html! { span.badge.soft { (t(lang, "未分类", "unclassified")) } },
    }
}

fn due_list(b: &Base, lang: Lang, items: &[DueContact], visit: bool) -> Markup {
    html! {
        ul.list {
            @for d in items.iter().take(super::MAX_ROWS) {
                li.row {
                    div.row-main {
                        a.customer-link href={ "/customers/" (d.id) } { (d.name) }
                        " " (class_badge(d.class.as_ref(), lang))
                        div.row-sub {
                            @match d.last {
                                Some(l) => {
                                    (if visit { t(lang, "上次拜访 ", "Last visit ") } else { t(lang, "上次联系 ", "Last contact ") })
                                    (when(&b.clock, l, lang))
                                }
                                None => { (if visit { t(lang, "从未拜访", "Never visited") } else { t(lang, "从未联系", "Never contacted") }) }
                            }
                        }
                    }
                    div.row-side {
                        @if d.overdue {
                            span.chip.bad { (t(lang, "已逾期 ", "Overdue ")) (when(&b.clock, d.due_at, lang)) }
                        } @else {
                            span.chip.warn { (t(lang, "到期 ", "Due ")) (when(&b.clock, d.due_at, lang)) }
                        }
                    }
                }
            }
        }
        (super::more_rows(lang, items.len()))
    }
}

fn render(ctx: &Ctx, b: &Base, d: &Today) -> Markup {
    let lang = ctx.lang;
    let greeting = match (&b.who.name, lang) {
        (Some(n), Lang::Zh) => format!("{n}，你好"),
        (Some(n), Lang::En) => format!("Hello, {n}"),
        (None, _) => t(lang, "今日", "Today").to_string(),
    };
    let urgent = d.contacts.iter().filter(|c| c.overdue).count()
        + d.key_visits.iter().filter(|c| c.overdue).count()
        + d.deliveries.iter().filter(|c| c.overdue).count();
    html! {
        div.page-head {
            h1 { (greeting) }
            p.muted { (t(lang, "今天是 ", "Today is ")) (b.clock.date(b.clock.now)) }
        }
        div.stats {
            a.stat href="#due-contacts" { span.stat-num { (d.contacts.len()) } span.stat-label { (t(lang, "待联系", "To contact")) } }
            a.stat href="#due-visits" { span.stat-num { (d.key_visits.len()) } span.stat-label { (t(lang, "重要客户待拜访", "Key visits")) } }
            a.stat href="#due-deliveries" { span.stat-num { (d.deliveries.len()) } span.stat-label { (t(lang, "待交付", "Deliveries")) } }
            a.stat href="#waiting" { span.stat-num { (d.waiting.len()) } span.stat-label { (t(lang, "待审批报价", "Awaiting approval")) } }
            a.stat.stat-alert[urgent > 0 || !d.findings.is_empty()] href="#my-findings" { span.stat-num { (d.findings.len()) } span.stat-label { (t(lang, "待处理问题", "Open findings")) } }
        }
        div.grid {
            section.card #due-contacts {
                h2 { (t(lang, "待联系客户", "Customers to contact")) }
                @if d.contacts.is_empty() { (empty(t(lang, "近期没有需要联系的客户。", "Nobody is due for contact this week."))) }
                @else { (due_list(b, lang, &d.contacts, false)) }
            }
            section.card #due-visits {
                h2 { (t(lang, "重要客户拜访", "Key-customer visits")) }
                @if d.key_visits.is_empty() { (empty(t(lang, "近期没有到期的拜访。", "No visits due this week."))) }
                @else { (due_list(b, lang, &d.key_visits, true)) }
            }
            section.card #due-deliveries {
                h2 { (t(lang, "待交付订单", "Deliveries due")) }
                @if d.deliveries.is_empty() { (empty(t(lang, "近期没有待交付的订单。", "No deliveries due this week."))) }
                @else {
                    ul.list {
                        @for o in &d.deliveries {
                            li.row {
                                div.row-main {
                                    a.customer-link href={ "/customers/" (o.id) } { (o.customer) }
                                    div.row-sub { (o.product) " × " (o.quantity) }
                                }
                                div.row-side {
                                    @if o.overdue { span.chip.bad { (t(lang, "已逾期 ", "Late ")) (when(&b.clock, o.promised_at, lang)) } }
                                    @else { span.chip.warn { (t(lang, "承诺 ", "Promised ")) (when(&b.clock, o.promised_at, lang)) } }
                                }
                            }
                        }
                    }
                }
            }
            section.card #waiting {
                h2 { (t(lang, "等待审批", "Waiting for approval")) }
                @if d.waiting.is_empty() { (empty(t(lang, "没有等待经理审批的报价或订单。", "No quotes or orders wait for a manager."))) }
                @else {
                    ul.list {
                        @for p in &d.waiting {
                            li.row {
                                div.row-main {
                                    a.customer-link href={ "/customers/" (p.id) } { (p.customer) }
                                    div.row-sub {
                                        (crate::ui::vocab(p.kind.zh(), p.kind.en(), lang)) " · " (p.what) " · "
                                        (money(p.amount, lang))
                                    }
                                }
                                div.row-side {
                                    @if matches!(p.kind, ApprovalKind::Quote | ApprovalKind::Order) {
                                        span.chip.warn { (t(lang, "折扣 ", "Discount ")) (pct(p.discount_bp)) }
                                    }
                                    span.chip { (t(lang, "待审批", "Pending")) }
                                }
                            }
                        }
                    }
                }
            }
        }
        section.card #my-findings {
            h2 { (t(lang, "我的待处理问题", "My open findings")) }
            @if d.findings.is_empty() { (empty(t(lang, "没有问题，做得好！", "No findings. Well done!"))) }
            @else {
                ul.findings {
                    @for f in d.findings.iter().take(super::MAX_ROWS) {
                        (finding_item(f, lang, f.doc_ids.first().and_then(|id| d.names.get(id).map(|(k, n)| (doc_href(id, k), n.clone())))))
                    }
                }
                (super::more_rows(lang, d.findings.len()))
            }
        }
        section.card #my-targets {
            h2 { (t(lang, "目标进度", "Target progress")) }
            @if d.progress.is_empty() { (empty(t(lang, "还没有为你设定销售目标。", "No sales targets are set for you yet."))) }
            @else { (progress_list(&d.progress, lang)) }
        }
    }
}

/// Target rows as progress bars.
pub(crate) fn progress_list(rows: &[fieldcrm_policy::ProgressRow], lang: Lang) -> Markup {
    html! {
        ul.list.progress-list {
            @for r in rows {
                li.progress-row {
                    div.progress-head {
                        strong { (r.subject_name) } " "
                        span.muted { (r.period) }
                        span.progress-pct { (pct(r.achieved_bp)) }
                    }
                    progress max="10000" value=(r.achieved_bp.clamp(0, 10_000)) aria-label=(pct(r.achieved_bp)) {}
                    div.row-sub {
                        (money(r.actual, lang)) " / " (money(r.target, lang))
                        " · " (t(lang, "时间进度 ", "time elapsed ")) (pct(r.elapsed_bp))
                        " · "
                        @if r.on_track { span.ok { (t(lang, "进度正常", "on track")) } }
                        @else { span.bad-text { (t(lang, "落后于进度", "behind")) } }
                    }
                }
            }
        }
    }
}
