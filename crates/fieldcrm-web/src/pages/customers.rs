//! `GET /customers` 客户: the list from the summary index with search and filters;
//! `GET /customers/results` (the results fragment the search box swaps in);
//! `GET /customers/new` and `POST /customers` (a new customer file).

use std::collections::HashSet;
use std::sync::Arc;

use axum::Extension;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use fieldcrm_model::{CustomerClass, DocId, DocKind, Lang, Role};
use fieldcrm_policy::RuleId;
use fieldcrm_workspace::{CheckQuery, Filter, Listed, NewCustomer, Tombstones, Workspace, input};
use maud::{Markup, html};
use serde::Deserialize;

use super::today::class_badge;
use super::{Base, base, fail};
use crate::App;
use crate::format::{t, when};
use crate::security::{Ctx, Fields};
use crate::store::WsError;
use crate::ui::{self, Form, FormState, empty};

/// The list's query string.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct ListQuery {
    q: Option<String>,
    class: Option<String>,
    owner: Option<String>,
    team: Option<String>,
    overdue: Option<String>,
    sort: Option<String>,
}

fn nonblank(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// One row of the list.
pub(crate) struct Row {
    listed: Listed,
    owner_name: Option<String>,
}

/// The rows shown (at most [`super::MAX_ROWS`]) and how many matched.
pub(crate) struct Rows {
    shown: Vec<Row>,
    total: usize,
}

/// The filtered, searched, sorted rows. Works on the summary index kept across requests
/// (`Workspace::index_rows`) by reference: only the rows shown are copied.
fn rows(ws: &Workspace, q: &ListQuery, now: i64) -> Result<Rows, WsError> {
    let roster = ws.roster()?;
    let mut filter = Filter::default()
        .kind(DocKind::Customer)
        .tombstones(Tombstones::Exclude);
    filter.class = nonblank(&q.class)
        .and_then(|c| c.parse::<CustomerClass>().ok())
        .map(|c| c.to_string());
    filter.owner = nonblank(&q.owner).map(str::to_string);
    filter.team = nonblank(&q.team).map(str::to_string);
    // What the rows borrow from: the kept search index, or the kept summary index.
    let (search, all);
    let matches = filter.matching();
    let mut listed: Vec<&Listed> = match nonblank(&q.q) {
        Some(text) => {
            // At most 500 hits, each its own row, in relevance order.
            search = ws.customer_search()?;
            search
                .search(text, 500)
                .into_iter()
                .filter(|l| matches(&l.summary))
                .collect()
        }
        None => {
            all = ws.index_rows()?;
            all.iter().filter(|l| matches(&l.summary)).collect()
        }
    };
    if nonblank(&q.overdue).is_some() {
        let due: HashSet<DocId> = ws
            .check(
                &CheckQuery {
                    rule: Some(RuleId::CustContactCadence),
                    doc: None,
                },
                now,
            )?
            .into_iter()
            .flat_map(|f| f.doc_ids)
            .collect();
        listed.retain(|l| due.contains(&l.id));
    }
    match nonblank(&q.sort) {
        Some("updated") => listed.sort_by_key(|l| std::cmp::Reverse(l.summary.updated_at)),
        Some("class") => listed.sort_by(|a, b| {
            let rank = |c: &Option<String>| match c.as_deref() {
                Some("key") => 0,
                Some("general") => 1,
                Some("potential") => 2,
                _ => 3,
            };
            rank(&a.summary.class)
                .cmp(&rank(&b.summary.class))
                .then_with(|| a.summary.name.cmp(&b.summary.name))
        }),
        // The index is kept by name already; search results stay in relevance order.
        Some("name") if nonblank(&q.q).is_some() => {
            listed.sort_by(|a, b| a.summary.name.cmp(&b.summary.name))
        }
        _ => {}
    }
    Ok(Rows {
        total: listed.len(),
        shown: listed
            .into_iter()
            .take(super::MAX_ROWS)
            .map(|l| Row {
                owner_name: l
                    .summary
                    .owner
                    .as_ref()
                    .and_then(|o| roster.users.get(o))
                    .map(|u| u.name.clone()),
                listed: l.clone(),
            })
            .collect(),
    })
}

/// `GET /customers`.
pub(crate) async fn page(
    State(app): State<Arc<App>>,
    Extension(ctx): Extension<Ctx>,
    Query(q): Query<ListQuery>,
) -> Response {
    let a = app.clone();
    let now = app.now();
    let qq = q.clone();
    let r = crate::store::with_ws(&app, move |ws| {
        let b = base(ws, &a)?;
        let rows = rows(ws, &qq, now)?;
        let teams: Vec<String> = {
            let mut t: Vec<String> = b
                .roster
                .iter()
                .flat_map(|r| r.users.values().filter_map(|u| u.team.clone()))
                .collect();
            t.sort();
            t.dedup();
            t
        };
        Ok((b, rows, teams))
    })
    .await;
    let flash = app.take_flash(&ctx.token);
    match r {
        Ok((b, rows, teams)) => ui::page(
            StatusCode::OK,
            ui::layout(
                &ctx,
                &b.who,
                "customers",
                t(ctx.lang, "客户", "Customers"),
                flash,
                render(&ctx, &b, &q, &rows, &teams),
            ),
        ),
        Err(e) => fail(&ctx, e),
    }
}

/// `GET /customers/results`: the results list alone (for the search box).
pub(crate) async fn results(
    State(app): State<Arc<App>>,
    Extension(ctx): Extension<Ctx>,
    Query(q): Query<ListQuery>,
) -> Response {
    let a = app.clone();
    let now = app.now();
    let r = crate::store::with_ws(&app, move |ws| {
        let b = base(ws, &a)?;
        let rows = rows(ws, &q, now)?;
        Ok((b, rows))
    })
    .await;
    match r {
        Ok((b, rows)) => ui::page(StatusCode::OK, results_list(ctx.lang, &b, &rows)),
        Err(e) => fail(&ctx, e),
    }
}

fn results_list(lang: Lang, b: &Base, rows: &Rows) -> Markup {
    let total = rows.total;
    html! {
        p.result-count.muted aria-live="polite" {
            (match lang { Lang::Zh => format!("共 {total} 个客户"), Lang::En => format!("{total} customer(s)") })
        }
        @if rows.shown.is_empty() {
            (empty(t(lang, "没有符合条件的客户。", "No customers match.")))
        } @else {
            ul.list.results-list {
                @for r in &rows.shown {
                    @let s = &r.listed.summary;
                    li.row {
                        div.row-main {
                            a.customer-link href={ "/customers/" (r.listed.id) } { (s.name) }
                            " " (class_badge(s.class.as_deref().and_then(|c| c.parse().ok()).as_ref(), lang))
                            div.row-sub {
                                @if let Some(o) = &r.owner_name { span { (o) } }
                                @if let Some(tm) = &s.team { span { " · " (tm) } }
                                @if let Some(rg) = &s.region { span { " · " (rg) } }
                            }
                        }
                        div.row-side.muted { (when(&b.clock, s.updated_at, lang)) }
                    }
                }
            }
            (super::more_rows(lang, total))
        }
    }
}

fn render(ctx: &Ctx, b: &Base, q: &ListQuery, rows: &Rows, teams: &[String]) -> Markup {
    let lang = ctx.lang;
    let cur = |s: &Option<String>| s.clone().unwrap_or_default();
    let classes = [
        ("", t(lang, "全部分类", "All classes")),
        ("key", t(lang, "重要", "Key")),
        ("general", t(lang, "一般", "General")),
        ("potential", t(lang, "潜在", "Potential")),
    ];
    let sorts = [
        ("", t(lang, "默认排序", "Default order")),
        ("name", t(lang, "按名称", "By name")),
        ("updated", t(lang, "最近更新", "Recently updated")),
        ("class", t(lang, "按分类", "By class")),
    ];
    let users: Vec<(String, String)> = b
        .roster
        .iter()
        .flat_map(|r| r.users.iter())
        .filter(|(_, u)| u.active && matches!(u.role, Role::Rep | Role::Manager | Role::Admin))
        .map(|(id, u)| (id.clone(), u.name.clone()))
        .collect();
    html! {
        div.page-head.with-action {
            h1 { (t(lang, "客户", "Customers")) }
            a.button href="/customers/new" { (t(lang, "+ 新建客户", "+ New customer")) }
        }
        form.card.filters method="get" action="/customers" role="search" {
            div.field.search-field {
                label for="search" { (t(lang, "搜索客户", "Search customers")) }
                input #search name="q" type="search" value=(cur(&q.q)) autocomplete="off"
                    placeholder=(t(lang, "名称、拼音或首字母，如 hdjd", "Name, pinyin or initials, e.g. hdjd"));
            }
            div.filter-row {
                div.field {
                    label for="f-class" { (t(lang, "分类", "Class")) }
                    select #f-class name="class" {
                        @for (v, l) in classes { option value=(v) selected[cur(&q.class) == v] { (l) } }
                    }
                }
                div.field {
                    label for="f-owner" { (t(lang, "负责人", "Owner")) }
                    select #f-owner name="owner" {
                        option value="" { (t(lang, "全部", "Anyone")) }
                        @for (id, n) in &users { option value=(id) selected[cur(&q.owner) == *id] { (n) } }
                    }
                }
                div.field {
                    label for="f-team" { (t(lang, "团队", "Team")) }
                    select #f-team name="team" {
                        option value="" { (t(lang, "全部", "All teams")) }
                        @for tm in teams { option value=(tm) selected[cur(&q.team) == *tm] { (tm) } }
                    }
                }
                div.field {
                    label for="f-sort" { (t(lang, "排序", "Sort")) }
                    select #f-sort name="sort" {
                        @for (v, l) in sorts { option value=(v) selected[cur(&q.sort) == v] { (l) } }
                    }
                }
                div.field.check {
                    input #f-overdue name="overdue" type="checkbox" value="1" checked[nonblank(&q.overdue).is_some()];
                    label for="f-overdue" { (t(lang, "只看联系逾期", "Overdue contact only")) }
                }
                div.field.filter-submit {
                    button type="submit" { (t(lang, "筛选", "Filter")) }
                }
            }
        }
        div #results { (results_list(lang, b, rows)) }
    }
}

const NEW_FIELDS: &[&str] = &[
    "name",
    "class",
    "industry",
    "region",
    "address",
    "annual_value",
    "credit_code",
];

fn new_form(ctx: &Ctx, state: Option<&FormState>) -> Markup {
    let lang = ctx.lang;
    let f = Form::new("customer", "", NEW_FIELDS, state);
    let classes: Vec<(String, String)> =
        std::iter::once((String::new(), t(lang, "暂不分类", "Not yet").to_string()))
            .chain(CustomerClass::ALL.iter().map(|c| {
                (
                    c.as_str().to_string(),
                    crate::ui::vocab(c.zh(), c.as_str(), lang),
                )
            }))
            .collect();
    html! {
        div.page-head { h1 { (t(lang, "新建客户", "New customer")) } }
        form.card.form #customer-form method="post" action="/customers" {
            (f.head(ctx))
            (f.text("name", t(lang, "客户名称", "Customer name"), "", "text", None))
            div.form-row {
                (f.select("class", t(lang, "分类", "Class"), &classes, ""))
                (f.text("industry", t(lang, "行业", "Industry"), "", "text", None))
            }
            div.form-row {
                (f.text("region", t(lang, "区域", "Region"), "", "text", None))
                (f.text("annual_value", t(lang, "年采购额（元）", "Annual value (yuan)"), "", "money", Some(("placeholder", "2,000,000"))))
            }
            (f.text("address", t(lang, "地址", "Address"), "", "text", None))
            (f.text("credit_code", t(lang, "统一社会信用代码", "Credit code"), "", "text", None))
            div.actions {
                button #customer-save type="submit" { (t(lang, "保存", "Save")) }
                a.button.secondary href="/customers" { (t(lang, "取消", "Cancel")) }
            }
        }
    }
}

/// `GET /customers/new`.
pub(crate) async fn new_page(
    State(app): State<Arc<App>>,
    Extension(ctx): Extension<Ctx>,
) -> Response {
    let a = app.clone();
    match crate::store::with_ws(&app, move |ws| base(ws, &a)).await {
        Ok(b) => ui::page(
            StatusCode::OK,
            ui::layout(
                &ctx,
                &b.who,
                "customers",
                t(ctx.lang, "新建客户", "New customer"),
                None,
                new_form(&ctx, None),
            ),
        ),
        Err(e) => fail(&ctx, e),
    }
}

/// `POST /customers`.
pub(crate) async fn create(
    State(app): State<Arc<App>>,
    Extension(ctx): Extension<Ctx>,
    Extension(fields): Extension<Fields>,
) -> Response {
    let a = app.clone();
    let now = app.now();
    let fs = fields.clone();
    let r = crate::store::with_ws(&app, move |ws| {
        let b = base(ws, &a)?;
        let res = (|| -> fieldcrm_workspace::Result<DocId> {
            let class = fs
                .opt("class")
                .map(|c| input::vocab::<CustomerClass>("class", &c))
                .transpose()?;
            let annual_value = fs
                .opt("annual_value")
                .map(|v| input::money("annual_value", &v))
                .transpose()?;
            ws.add_customer(
                NewCustomer {
                    name: fs.get("name").to_string(),
                    credit_code: fs.opt("credit_code"),
                    industry: fs.opt("industry"),
                    region: fs.opt("region"),
                    address: fs.opt("address"),
                    class,
                    annual_value,
                    owner: None,
                    team: None,
                },
                now,
            )
        })();
        Ok((b, res))
    })
    .await;
    match r {
        Ok((_, Ok(id))) => {
            app.flash(&ctx.token, t(ctx.lang, "已保存", "Saved").to_string());
            ui::see_other(&format!("/customers/{id}"))
        }
        Ok((b, Err(e))) if e.is_usage() => {
            let state = FormState {
                form: "customer".into(),
                values: fields.0.clone(),
                field: e.field().map(str::to_string),
                message: e.message(ctx.lang),
            };
            ui::page(
                StatusCode::UNPROCESSABLE_ENTITY,
                ui::layout(
                    &ctx,
                    &b.who,
                    "customers",
                    t(ctx.lang, "新建客户", "New customer"),
                    None,
                    new_form(&ctx, Some(&state)),
                ),
            )
        }
        Ok((_, Err(e))) => fail(&ctx, WsError::from(e)),
        Err(e) => fail(&ctx, e),
    }
}
