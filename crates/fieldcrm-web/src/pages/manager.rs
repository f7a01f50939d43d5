//! Manager pages: `GET /inbox` 审批 (approval inbox), `GET /findings` (team findings by
//! rep and by rule), `GET /duplicates` + `POST /duplicates` (merge duplicate customers),
//! `GET /reports` (linking to the targets page, `targets.rs`), `GET /reports/export.csv`
//! and `GET /reports/export.xlsx`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::Extension;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use fieldcrm_model::{DocId, DocKind, Lang};
use fieldcrm_policy::{RuleId, Severity};
use fieldcrm_workspace::{
    ApprovalKind, CheckQuery, MergePlan, Pending, Reports, TeamFinding, value_text,
};
use maud::{Markup, html};

use super::{Base, base, doc_href, fail, finding_item_with};
use crate::App;
use crate::format::{money, pct, t, tr, when, yuan_exact};
use crate::security::{Ctx, Fields};
use crate::store::WsError;
use crate::ui::{self, empty, vocab};

// ----- inbox -----

/// `GET /inbox`.
pub(crate) async fn inbox(State(app): State<Arc<App>>, Extension(ctx): Extension<Ctx>) -> Response {
    let a = app.clone();
    let r = crate::store::with_ws(&app, move |ws| Ok((base(ws, &a)?, ws.inbox()?))).await;
    let flash = app.take_flash(&ctx.token);
    match r {
        Ok((b, items)) => ui::page(
            StatusCode::OK,
            ui::layout(
                &ctx,
                &b.who,
                "inbox",
                t(ctx.lang, "审批", "Approvals"),
                flash,
                render_inbox(&ctx, &b, &items),
            ),
        ),
        Err(e) => fail(&ctx, e),
    }
}

fn inbox_item(ctx: &Ctx, b: &Base, p: &Pending) -> Markup {
    let lang = ctx.lang;
    let base_url = format!("/customers/{}/{}/{}", p.id, p.kind.collection(), p.entity);
    let approve_action = if p.kind == ApprovalKind::Contract {
        "review"
    } else {
        "approve"
    };
    html! {
        li.inbox-item.row {
            div.row-main {
                div {
                    span.badge { (vocab(p.kind.zh(), p.kind.en(), lang)) } " "
                    a.customer-link href={ "/customers/" (p.id) } { (p.customer) }
                }
                div.row-sub {
                    (p.what) " · " (money(p.amount, lang))
                    @if let Some((price, list)) = p.price {
                        " · " (t(lang, "单价 ", "price ")) (yuan_exact(price)) " / " (t(lang, "目录价 ", "list ")) (yuan_exact(list))
                    }
                }
                div.row-sub {
                    (p.by_name.clone().unwrap_or_else(|| crate::format::short(&p.by))) " · " (when(&b.clock, p.at, lang))
                    @if matches!(p.kind, ApprovalKind::Quote | ApprovalKind::Order) {
                        " · " span.chip.warn { (t(lang, "折扣 ", "discount ")) (pct(p.discount_bp)) }
                        " " span.muted { (t(lang, "（权限 ", "(allowance ")) (pct(p.allowance_bp)) (t(lang, "）", ")")) }
                    }
                }
            }
            div.row-side.inbox-actions {
                @if p.can_approve {
                    form.inline-form method="post" action={ (base_url) "/" (approve_action) } {
                        input type="hidden" name="_csrf" value=(ctx.csrf);
                        input type="hidden" name="return" value="/inbox";
                        @if p.kind == ApprovalKind::Contract { input type="hidden" name="result" value="passed"; }
                        label.visually-hidden for={ "note-" (p.entity) } { (t(lang, "备注", "Note")) }
                        input.note id={ "note-" (p.entity) } name="note" type="text" placeholder=(t(lang, "备注（可选）", "Note (optional)"));
                        button.approve type="submit" { (if p.kind == ApprovalKind::Contract { t(lang, "审核通过", "Pass") } else { t(lang, "批准", "Approve") }) }
                    }
                    @if p.kind == ApprovalKind::Contract {
                        form.inline-form method="post" action={ (base_url) "/review" } {
                            input type="hidden" name="_csrf" value=(ctx.csrf);
                            input type="hidden" name="return" value="/inbox";
                            input type="hidden" name="result" value="failed";
                            button.reject.secondary type="submit" { (t(lang, "不通过", "Reject")) }
                        }
                    }
                } @else {
                    span.muted.small { (match p.kind {
                        ApprovalKind::Contract => t(lang, "等待法务审核", "Waiting for legal"),
                        _ => t(lang, "需要经理审批", "Needs a manager"),
                    }) }
                }
            }
        }
    }
}

fn render_inbox(ctx: &Ctx, b: &Base, items: &[Pending]) -> Markup {
    let lang = ctx.lang;
    let mine: Vec<&Pending> = items.iter().filter(|p| p.can_approve).collect();
    let others: Vec<&Pending> = items.iter().filter(|p| !p.can_approve).collect();
    html! {
        div.page-head {
            h1 { (t(lang, "审批", "Approvals")) }
            p.muted { (t(lang, "折扣超出权限的报价和订单、超出限额或未申报的礼品、待法务审核的合同。", "Quotes and orders beyond the discount allowance, gifts over the limit or undeclared, contracts awaiting legal review.")) }
        }
        section.card {
            h2 { (t(lang, "等待你审批", "Waiting for you")) " " span.count { (mine.len()) } }
            @if mine.is_empty() { (empty(t(lang, "没有等待你审批的事项。", "Nothing waits for you."))) }
            @else { ul.list.inbox { @for p in &mine { (inbox_item(ctx, b, p)) } } }
        }
        @if !others.is_empty() {
            section.card {
                h2 { (t(lang, "其他待审批", "Waiting for others")) " " span.count { (others.len()) } }
                ul.list.inbox { @for p in &others { (inbox_item(ctx, b, p)) } }
            }
        }
        p.muted.small { (t(lang, "报价、订单和礼品没有“驳回”操作：不批准即保持待审批；合同可由法务判定不通过。", "Quotes, orders and gifts have no reject: unapproved they stay pending; legal may fail a contract.")) }
    }
}

// ----- findings -----

/// `GET /findings`.
pub(crate) async fn findings(
    State(app): State<Arc<App>>,
    Extension(ctx): Extension<Ctx>,
) -> Response {
    let a = app.clone();
    let now = app.now();
    let r =
        crate::store::with_ws(&app, move |ws| Ok((base(ws, &a)?, ws.team_findings(now)?))).await;
    match r {
        Ok((b, f)) => ui::page(
            StatusCode::OK,
            ui::layout(
                &ctx,
                &b.who,
                "findings",
                t(ctx.lang, "团队问题", "Team findings"),
                None,
                render_findings(&ctx, b.who.role.as_ref(), &f),
            ),
        ),
        Err(e) => fail(&ctx, e),
    }
}

fn render_findings(ctx: &Ctx, role: Option<&fieldcrm_model::Role>, all: &[TeamFinding]) -> Markup {
    let lang = ctx.lang;
    let all: Vec<&TeamFinding> = all
        .iter()
        .filter(|f| f.finding.rule != RuleId::TargetProgress)
        .collect();
    let mut by_rep: BTreeMap<String, Vec<&TeamFinding>> = BTreeMap::new();
    let mut by_rule: BTreeMap<RuleId, (usize, usize)> = BTreeMap::new();
    for f in &all {
        let rep = f
            .owner_name
            .clone()
            .unwrap_or_else(|| t(lang, "（无负责人）", "(no owner)").to_string());
        by_rep.entry(rep).or_default().push(f);
        let e = by_rule.entry(f.finding.rule).or_default();
        match f.finding.severity {
            Severity::Violation => e.0 += 1,
            Severity::Warning => e.1 += 1,
        }
    }
    html! {
        div.page-head { h1 { (t(lang, "团队问题", "Team findings")) } }
        @if all.is_empty() { section.card { (empty(t(lang, "团队没有待处理的问题。", "The team has no open findings."))) } }
        @else {
            section.card {
                h2 { (t(lang, "按规则", "By rule")) }
                div.table-wrap {
                    table.table {
                        thead { tr { th { (t(lang, "规则", "Rule")) } th.num { (t(lang, "违规", "Violations")) } th.num { (t(lang, "警告", "Warnings")) } } }
                        tbody {
                            @for (rule, (v, w)) in &by_rule {
                                tr {
                                    td.wrap { (match lang { Lang::Zh => rule.title_zh(), Lang::En => rule.title_en() }) " " code.rule { (rule.as_str()) } }
                                    td.num { (v) } td.num { (w) }
                                }
                            }
                        }
                    }
                }
            }
            @for (rep, items) in &by_rep {
                details.card.rep-findings open {
                    summary { h2 { (rep) " " span.count { (items.len()) } } }
                    ul.findings {
                        @for (i, f) in items.iter().enumerate() {
                            @let target = f.finding.doc_ids.first().zip(f.doc_name.clone()).map(|(id, n)| (doc_href(id, f.doc_kind.as_ref().unwrap_or(&DocKind::Customer)), n));
                            // Acknowledge or waive from here, for findings about a customer file.
                            @let forms = match (f.finding.doc_ids.first(), &f.doc_kind) {
                                (Some(id), Some(DocKind::Customer)) => super::finding_forms::actions(ctx, id, &f.finding, i, role, None, Some("/findings")),
                                _ => html! {},
                            };
                            (finding_item_with(&f.finding, lang, target, forms))
                        }
                    }
                }
            }
        }
    }
}

// ----- duplicates -----

/// `GET /duplicates`.
pub(crate) async fn duplicates(
    State(app): State<Arc<App>>,
    Extension(ctx): Extension<Ctx>,
) -> Response {
    let a = app.clone();
    let now = app.now();
    let r = crate::store::with_ws(&app, move |ws| {
        let b = base(ws, &a)?;
        let found = ws.check(
            &CheckQuery {
                rule: Some(RuleId::CustDuplicate),
                doc: None,
            },
            now,
        )?;
        let mut seen = BTreeSet::new();
        let mut plans = Vec::new();
        for f in found {
            if let [x, y, ..] = f.doc_ids.as_slice() {
                let key = if x < y {
                    (x.clone(), y.clone())
                } else {
                    (y.clone(), x.clone())
                };
                if seen.insert(key)
                    && let Ok(p) = ws.merge_plan(&DocKind::Customer, x, y)
                {
                    plans.push(p);
                }
            }
        }
        Ok((b, plans))
    })
    .await;
    let flash = app.take_flash(&ctx.token);
    match r {
        Ok((b, plans)) => ui::page(
            StatusCode::OK,
            ui::layout(
                &ctx,
                &b.who,
                "duplicates",
                t(ctx.lang, "重复客户", "Duplicates"),
                flash,
                render_duplicates(&ctx, &plans),
            ),
        ),
        Err(e) => fail(&ctx, e),
    }
}

fn merge_button(ctx: &Ctx, keep: &DocId, dup: &DocId, label: String) -> Markup {
    html! {
        form.inline-form method="post" action="/duplicates" {
            input type="hidden" name="_csrf" value=(ctx.csrf);
            input type="hidden" name="keep" value=(keep);
            input type="hidden" name="duplicate" value=(dup);
            button.merge type="submit" { (label) }
        }
    }
}

fn render_duplicates(ctx: &Ctx, plans: &[MergePlan]) -> Markup {
    let lang = ctx.lang;
    html! {
        div.page-head {
            h1 { (t(lang, "重复客户", "Duplicate customers")) }
            p.muted { (t(lang, "合并后，重复的档案会标记为已合并，联系人和记录并入保留的档案。", "Merging marks the duplicate as merged and moves its contacts and records into the file you keep.")) }
        }
        @if plans.is_empty() { section.card { (empty(t(lang, "没有发现重复客户。", "No duplicates found."))) } }
        @for p in plans {
            section.card.duplicate-pair {
                div.pair {
                    div.pair-side { a.customer-link href={ "/customers/" (p.keep) } { (p.keep_name) } code { (p.keep.short()) } }
                    div.pair-side { a.customer-link href={ "/customers/" (p.duplicate) } { (p.duplicate_name) } code { (p.duplicate.short()) } }
                }
                @if !p.differing.is_empty() {
                    div.table-wrap {
                        table.table {
                            thead { tr { th { (t(lang, "字段", "Field")) } th { (p.keep_name) } th { (p.duplicate_name) } } }
                            tbody {
                                @for d in &p.differing {
                                    tr { td { code { (d.field) } } td { (value_text(&d.keep)) } td { (value_text(&d.duplicate)) } }
                                }
                            }
                        }
                    }
                }
                div.actions {
                    (merge_button(ctx, &p.keep, &p.duplicate, tr(lang, format!("保留「{}」并合并", p.keep_name), format!("Keep “{}” and merge", p.keep_name))))
                    (merge_button(ctx, &p.duplicate, &p.keep, tr(lang, format!("保留「{}」并合并", p.duplicate_name), format!("Keep “{}” and merge", p.duplicate_name))))
                }
            }
        }
    }
}

/// `POST /duplicates`: merge `duplicate` into `keep`.
pub(crate) async fn merge(
    State(app): State<Arc<App>>,
    Extension(ctx): Extension<Ctx>,
    Extension(fields): Extension<Fields>,
) -> Response {
    let now = app.now();
    let lang = ctx.lang;
    let r = crate::store::with_ws(&app, move |ws| {
        let parse = |f: &str| -> Result<DocId, WsError> {
            fields
                .get(f)
                .parse()
                .map_err(|_| WsError::App(fieldcrm_workspace::Error::not_found("customer")))
        };
        let (keep, dup) = (parse("keep")?, parse("duplicate")?);
        Ok(ws.merge_docs(&DocKind::Customer, &keep, &dup, &BTreeSet::new(), now))
    })
    .await;
    match r {
        Ok(Ok(_)) => {
            app.flash(&ctx.token, t(lang, "已合并", "Merged").to_string());
            ui::see_other("/duplicates")
        }
        Ok(Err(e)) => {
            app.flash_error(&ctx.token, e.message(lang));
            ui::see_other("/duplicates")
        }
        Err(e) => fail(&ctx, e),
    }
}

// ----- reports -----

/// `GET /reports`.
pub(crate) async fn reports(
    State(app): State<Arc<App>>,
    Extension(ctx): Extension<Ctx>,
) -> Response {
    let a = app.clone();
    let now = app.now();
    let r = crate::store::with_ws(&app, move |ws| Ok((base(ws, &a)?, ws.reports(now)?))).await;
    match r {
        Ok((b, rep)) => ui::page(
            StatusCode::OK,
            ui::layout(
                &ctx,
                &b.who,
                "reports",
                t(ctx.lang, "报表", "Reports"),
                None,
                render_reports(ctx.lang, &b, &rep),
            ),
        ),
        Err(e) => fail(&ctx, e),
    }
}

/// A horizontal bar chart: (label, value, value text, optional background value), drawn
/// in a 360-unit-wide box so its text stays readable on a phone.
fn bars(title: &str, rows: &[(String, i64, String, Option<i64>)]) -> Markup {
    let max = rows
        .iter()
        .map(|r| r.1.max(r.3.unwrap_or(0)))
        .max()
        .unwrap_or(0)
        .max(1);
    let row_h = 30;
    let height = row_h * i64::try_from(rows.len()).unwrap_or(0) + 6;
    let width_of = |v: i64| ((v.max(0) as f64) / (max as f64) * 150.0).round() as i64;
    html! {
        svg.chart viewBox={ "0 0 360 " (height) } role="img" aria-label=(title) preserveAspectRatio="xMinYMin meet" {
            @for (i, (label, v, text, bg)) in rows.iter().enumerate() {
                @let y = i64::try_from(i).unwrap_or(0) * row_h + 3;
                text.bar-label x="0" y=(y + 17) { (label.chars().take(6).collect::<String>()) }
                @if let Some(bg) = bg {
                    rect.bar-bg x="92" y=(y + 4) width=(width_of(*bg)) height="18" rx="4" {}
                }
                rect.bar x="92" y=(y + 4) width=(width_of(*v).max(2)) height="18" rx="4" {}
                text.bar-value x=(width_of((*v).max(bg.unwrap_or(0))) + 98) y=(y + 17) { (text) }
            }
        }
    }
}

fn render_reports(lang: Lang, b: &Base, r: &Reports) -> Markup {
    let progress_rows: Vec<(String, i64, String, Option<i64>)> = r
        .progress
        .iter()
        .map(|p| {
            (
                p.subject_name.clone(),
                p.actual,
                format!("{} · {}", pct(p.achieved_bp), p.period),
                Some(p.target),
            )
        })
        .collect();
    let pipeline_rows: Vec<(String, i64, String, Option<i64>)> = r
        .pipeline
        .iter()
        .map(|(s, n, amt)| {
            (
                vocab(s.zh(), s.as_str(), lang),
                *amt,
                format!("{} · {}", n, crate::format::yuan(*amt, lang)),
                None,
            )
        })
        .collect();
    let totals: BTreeMap<&String, u64> =
        r.visits
            .iter()
            .flat_map(|w| w.counts.iter())
            .fold(BTreeMap::new(), |mut m, (u, n)| {
                *m.entry(u).or_insert(0) += n;
                m
            });
    html! {
        div.page-head.with-action {
            h1 { (t(lang, "报表", "Reports")) }
            div.actions {
                a.button #targets-link href="/targets" { (t(lang, "设定与管理目标", "Set and manage targets")) }
                a.button.secondary href="/reports/export.csv" download="fieldcrm-targets.csv" { (t(lang, "导出 CSV", "Export CSV")) }
                a.button.secondary href="/reports/export.xlsx" download="fieldcrm-reports.xlsx" { (t(lang, "导出 Excel", "Export Excel")) }
            }
        }
        section.card {
            h2 { (t(lang, "目标完成情况", "Target vs actual")) }
            @if r.progress.is_empty() { (empty(t(lang, "还没有设定销售目标。", "No targets set."))) }
            @else {
                (bars(t(lang, "目标完成情况", "Target vs actual"), &progress_rows))
                div.table-wrap {
                    table.table {
                        thead { tr {
                            th { (t(lang, "对象", "Subject")) } th { (t(lang, "周期", "Period")) }
                            th.num { (t(lang, "目标", "Target")) } th.num { (t(lang, "实际", "Actual")) }
                            th.num { (t(lang, "完成率", "Achieved")) } th.num { (t(lang, "时间进度", "Elapsed")) }
                        } }
                        tbody {
                            @for p in &r.progress {
                                tr {
                                    td { (p.subject_name) } td { (p.period) }
                                    td.num { (money(p.target, lang)) } td.num { (money(p.actual, lang)) }
                                    td.num class=(if p.on_track { "ok" } else { "bad-text" }) { (pct(p.achieved_bp)) }
                                    td.num { (pct(p.elapsed_bp)) }
                                }
                            }
                        }
                    }
                }
            }
        }
        section.card {
            h2 { (t(lang, "销售漏斗（未结商机）", "Open pipeline by stage")) }
            (bars(t(lang, "销售漏斗", "Pipeline"), &pipeline_rows))
        }
        section.card {
            h2 { (t(lang, "每周拜访与联系（近 8 周）", "Visits and calls per week (8 weeks)")) }
            @if totals.is_empty() { (empty(t(lang, "近 8 周没有记录。", "Nothing recorded in 8 weeks."))) }
            @else {
                div.table-wrap {
                    table.table {
                        thead { tr {
                            th { (t(lang, "销售", "Rep")) }
                            @for w in &r.visits { th.num { (b.clock.date(w.week_start).chars().skip(5).collect::<String>()) } }
                            th.num { (t(lang, "合计", "Total")) }
                        } }
                        tbody {
                            @for (u, total) in &totals {
                                tr {
                                    td { (r.users.get(*u).cloned().unwrap_or_else(|| crate::format::short(u))) }
                                    @for w in &r.visits { td.num { (w.counts.get(*u).copied().unwrap_or(0)) } }
                                    td.num { strong { (total) } }
                                }
                            }
                        }
                    }
                }
            }
        }
        section.card {
            h2 { (t(lang, "投诉", "Complaints")) }
            (bars(t(lang, "投诉", "Complaints"), &[
                (t(lang, "处理中", "Open").to_string(), i64::try_from(r.complaints_open).unwrap_or(i64::MAX), r.complaints_open.to_string(), None),
                (t(lang, "已解决", "Closed").to_string(), i64::try_from(r.complaints_closed).unwrap_or(i64::MAX), r.complaints_closed.to_string(), None),
            ]))
        }
    }
}

/// A download: its content type and file name.
fn attachment(
    mut resp: Response,
    content_type: &'static str,
    disposition: &'static str,
) -> Response {
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static(disposition),
    );
    resp
}

/// `GET /reports/export.csv`: target vs actual, UTF-8 with a byte-order mark (Excel) —
/// the targets sheet of the Excel download as CSV.
pub(crate) async fn export_csv(
    State(app): State<Arc<App>>,
    Extension(ctx): Extension<Ctx>,
) -> Response {
    match report_sheets(&app, ctx.lang).await {
        Ok(sheets) => attachment(
            format!("\u{FEFF}{}", sheets.targets.to_csv()).into_response(),
            "text/csv; charset=utf-8",
            "attachment; filename=\"fieldcrm-targets.csv\"",
        ),
        Err(e) => fail(&ctx, e),
    }
}

/// The reports page's tables as sheets, in the page's language.
async fn report_sheets(
    app: &Arc<App>,
    lang: Lang,
) -> Result<fieldcrm_workspace::sheets::ReportSheets, WsError> {
    let a = app.clone();
    crate::store::with_ws(app, move |ws| {
        let b = base(ws, &a)?;
        Ok(fieldcrm_workspace::sheets::ReportSheets::new(
            ws.reports(a.now())?.as_ref(),
            &b.clock,
            lang,
        ))
    })
    .await
}

/// `GET /reports/export.xlsx`: every report of the page as a sheet of one Excel workbook
/// (the same sheets as `fieldcrm report … --format xlsx`).
pub(crate) async fn export_xlsx(
    State(app): State<Arc<App>>,
    Extension(ctx): Extension<Ctx>,
) -> Response {
    let r = report_sheets(&app, ctx.lang)
        .await
        .and_then(|sheets| Ok(fieldcrm_workspace::sheets::write_xlsx(&sheets.all())?));
    match r {
        Ok(bytes) => attachment(
            bytes.into_response(),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "attachment; filename=\"fieldcrm-reports.xlsx\"",
        ),
        Err(e) => fail(&ctx, e),
    }
}
