//! The console's pages (server-rendered with maud, the app's stylesheet, no script).

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use fieldcrm_model::{Lang, Millis, Role, short_id};
use maud::{DOCTYPE, Markup, html};
use serde::Deserialize;

use super::data::{self, DeviceRow, FindingsView, Hour, time_of};
use super::{Console, LoginLink, Viewer, lang_of, remember_lang, secure};
use crate::activity::{Event, EventKind};

fn t(lang: Lang, zh: &'static str, en: &'static str) -> &'static str {
    match lang {
        Lang::Zh => zh,
        Lang::En => en,
    }
}

/// An HTML response.
fn page(status: StatusCode, m: Markup) -> Response {
    let mut r = (status, m.into_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r
}

/// A 303 redirect.
pub(crate) fn see_other(to: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

fn head(lang: Lang, title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · " (t(lang, "办公室控制台", "Office console")) " · fieldcrm" }
            link rel="stylesheet" href="/admin/assets/app.css";
        }
    }
}

/// A page without navigation (sign-in, refusals).
fn bare(lang: Lang, status: StatusCode, title: &str, body: Markup) -> Response {
    page(
        status,
        html! {
            (DOCTYPE)
            html lang=(t(lang, "zh-CN", "en")) {
                (head(lang, title))
                body { main #main.bare { (body) } }
            }
        },
    )
}

const NAV: [(&str, &str, &str, &str); 4] = [
    ("devices", "/admin/devices", "设备", "Devices"),
    ("activity", "/admin/activity", "活动", "Activity"),
    ("findings", "/admin/findings", "问题", "Findings"),
    ("audit", "/admin/audit", "审计日志", "Audit log"),
];

fn role_name(role: &Role, lang: Lang) -> String {
    match lang {
        Lang::Zh => role.zh().to_string(),
        Lang::En => role.as_str().replace('_', " "),
    }
}

fn layout(lang: Lang, v: &Viewer, active: &str, title: &str, body: Markup) -> Response {
    let (other, other_label) = match lang {
        Lang::Zh => ("en", "English"),
        Lang::En => ("zh", "中文"),
    };
    let path = NAV
        .iter()
        .find(|n| n.0 == active)
        .map_or("/admin/devices", |n| n.1);
    page(
        StatusCode::OK,
        html! {
            (DOCTYPE)
            html lang=(t(lang, "zh-CN", "en")) {
                (head(lang, title))
                body {
                    a.skip href="#main" { (t(lang, "跳到正文", "Skip to content")) }
                    header.topbar {
                        div.topbar-inner {
                            a.brand href="/admin/devices" {
                                span.brand-mark aria-hidden="true" { "F" }
                                span.brand-name { (t(lang, "办公室控制台", "Office console")) }
                            }
                            div.user {
                                span.user-name { (v.name) span.user-role { (role_name(&v.role, lang)) } }
                                a.lang-switch href={ (path) "?lang=" (other) } lang=(other) { (other_label) }
                                form.inline-form method="post" action="/admin/logout" {
                                    input type="hidden" name="csrf" value=(v.csrf);
                                    button.secondary.small type="submit" { (t(lang, "退出", "Sign out")) }
                                }
                            }
                        }
                        nav #nav aria-label=(t(lang, "控制台导航", "Console")) {
                            ul {
                                @for (key, href, zh, en) in NAV {
                                    li {
                                        @if key == active {
                                            a.active href=(href) aria-current="page" { (t(lang, zh, en)) }
                                        } @else {
                                            a href=(href) { (t(lang, zh, en)) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    main #main tabindex="-1" { (body) }
                }
            }
        },
    )
}

/// The refusal page (no session, a bad link).
pub(crate) fn refused(lang: Lang, status: StatusCode, why: &str) -> Response {
    bare(
        lang,
        status,
        t(lang, "无法访问", "Not allowed"),
        html! {
            div.card.error-card {
                h1 { (t(lang, "无法访问办公室控制台", "You cannot open the office console")) }
                p.error-message { (why) }
                p.muted.small {
                    (t(lang, "在管理员或经理的设备上运行 ", "On an admin's or manager's device run "))
                    code { "fieldcrm office-login" }
                    (t(lang, "，或在应用的“同步”页点击“办公室控制台”，获取新的登录链接。",
                        ", or use “Office console” on the app's Sync page, for a new sign-in link."))
                }
            }
        },
    )
}

/// The page a valid link opens: one button signs in (so a link preview cannot use it up).
pub(crate) fn confirm_login(lang: Lang, v: &Viewer, link: &LoginLink) -> Response {
    bare(
        lang,
        StatusCode::OK,
        t(lang, "登录", "Sign in"),
        html! {
            div.card {
                h1 { (t(lang, "登录办公室控制台", "Sign in to the office console")) }
                p { (v.name) " · " (role_name(&v.role, lang)) }
                p.muted.small { (t(lang, "设备 ", "Device ")) code { (short_id(&v.device)) } }
                form method="post" action=(fieldcrm_net::ws::CONSOLE_LOGIN_PATH) {
                    input type="hidden" name="d" value=(link.d);
                    input type="hidden" name="t" value=(link.t);
                    input type="hidden" name="n" value=(link.n);
                    input type="hidden" name="s" value=(link.s);
                    input type="hidden" name="lang" value=(t(lang, "zh", "en"));
                    button #sign-in type="submit" { (t(lang, "登录", "Sign in")) }
                }
            }
        },
    )
}

/// After signing out.
pub(crate) fn signed_out(lang: Lang) -> Response {
    bare(
        lang,
        StatusCode::OK,
        t(lang, "已退出", "Signed out"),
        html! {
            div.card {
                h1 { (t(lang, "已退出", "Signed out")) }
                p.muted { (t(lang, "需要时请重新生成登录链接。", "Make a new sign-in link when you need one.")) }
            }
        },
    )
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct PageQuery {
    #[serde(default)]
    lang: Option<String>,
    #[serde(default)]
    kind: Option<String>,
}

/// Runs `render` off the async workers for a signed-in viewer; refuses everyone else.
async fn guarded(
    c: Console,
    headers: HeaderMap,
    q: PageQuery,
    render: impl FnOnce(&Console, &Viewer, Lang, &PageQuery) -> Response + Send + 'static,
) -> Response {
    let lang = lang_of(&headers, q.lang.as_deref());
    let Some(v) = c.viewer(&headers) else {
        let why = t(
            lang,
            "请先用登录链接登录（每个链接 5 分钟内有效，只能使用一次）。",
            "Sign in with a sign-in link first (each link is valid for 5 minutes and works once).",
        );
        return secure(refused(lang, StatusCode::UNAUTHORIZED, why));
    };
    let chosen = q.lang.clone();
    let r = tokio::task::spawn_blocking(move || render(&c, &v, lang, &q))
        .await
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response());
    secure(remember_lang(r, chosen.as_deref()))
}

pub(crate) async fn home(State(c): State<Console>, headers: HeaderMap) -> Response {
    if c.viewer(&headers).is_some() {
        secure(see_other("/admin/devices"))
    } else {
        guarded(c, headers, PageQuery::default(), |_, _, _, _| {
            StatusCode::OK.into_response()
        })
        .await
    }
}

/// "3 天前" / "3 days ago", with the exact time beside.
fn ago(now: Millis, ms: Option<Millis>, lang: Lang) -> Markup {
    let Some(ms) = ms else {
        return html! { span.badge.bad { (t(lang, "从未同步", "never")) } };
    };
    let mins = (now - ms).max(0) / 60_000;
    let text = match (lang, mins) {
        (Lang::Zh, 0) => "刚刚".to_string(),
        (Lang::En, 0) => "just now".to_string(),
        (Lang::Zh, m) if m < 60 => format!("{m} 分钟前"),
        (Lang::En, m) if m < 60 => format!("{m} min ago"),
        (Lang::Zh, m) if m < 24 * 60 => format!("{} 小时前", m / 60),
        (Lang::En, m) if m < 24 * 60 => format!("{} h ago", m / 60),
        (Lang::Zh, m) => format!("{} 天前", m / (24 * 60)),
        (Lang::En, m) => format!("{} days ago", m / (24 * 60)),
    };
    let stale = mins >= 7 * 24 * 60;
    html! {
        time datetime=(time_of(ms)) title=(time_of(ms)) class=[stale.then_some("bad-text")] { (text) }
    }
}

pub(crate) async fn devices(
    State(c): State<Console>,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> Response {
    guarded(c, headers, q, |c, v, lang, _| {
        let now = c.relay.now_ms();
        match data::device_rows(&c.relay) {
            Ok(rows) => layout(
                lang,
                v,
                "devices",
                t(lang, "设备", "Devices"),
                devices_body(lang, now, &rows),
            ),
            Err(e) => refused(lang, StatusCode::INTERNAL_SERVER_ERROR, &e),
        }
    })
    .await
}

fn devices_body(lang: Lang, now: Millis, rows: &[DeviceRow]) -> Markup {
    let stale = rows
        .iter()
        .filter(|r| r.revoked_at.is_none())
        .filter(|r| {
            r.seen
                .last_sync_ms
                .is_none_or(|s| now - s >= 7 * 86_400_000)
        })
        .count();
    html! {
        div.page-head {
            h1 { (t(lang, "设备", "Devices")) }
            p.muted { (t(lang, "按最久未同步排序。", "Longest without a sync first.")) }
        }
        div.stats {
            div.stat { span.stat-num { (rows.len()) } span.stat-label { (t(lang, "已登记设备", "Enrolled devices")) } }
            div.stat.stat-alert[stale > 0] { span.stat-num #stale-count { (stale) } span.stat-label { (t(lang, "一周以上未同步", "No sync for a week or more")) } }
        }
        div.card {
            @if rows.is_empty() {
                p.empty { (t(lang, "还没有登记设备。", "No devices enrolled yet.")) }
            } @else {
                div.table-wrap {
                    table.table #devices {
                        thead { tr {
                            th scope="col" { (t(lang, "用户", "User")) }
                            th scope="col" { (t(lang, "上次同步", "Last sync")) }
                            th scope="col" { (t(lang, "角色", "Role")) }
                            th scope="col" { (t(lang, "团队", "Team")) }
                            th scope="col" { (t(lang, "设备", "Device")) }
                            th scope="col" { (t(lang, "地址", "Address")) }
                            th scope="col" .num { (t(lang, "待取文档", "Waiting")) }
                            th scope="col" .num { (t(lang, "被拒", "Refused")) }
                            th scope="col" { (t(lang, "版本", "Version")) }
                            th scope="col" { (t(lang, "登记", "Enrolled")) }
                            th scope="col" { (t(lang, "状态", "Status")) }
                        } }
                        tbody {
                            @for r in rows {
                                tr data-device=(r.key) {
                                    td { (r.user_name) }
                                    td.last-sync { (ago(now, r.seen.last_sync_ms, lang)) }
                                    td { @if let Some(role) = &r.role { (role_name(role, lang)) } }
                                    td { (r.team.as_deref().unwrap_or("—")) }
                                    td { (r.label) " " code { (short_id(&r.key)) } }
                                    td { (r.seen.last_address.as_deref().unwrap_or("—")) }
                                    td.num.waiting { (r.waiting) }
                                    td.num {
                                        @if r.seen.refused > 0 {
                                            span.bad-text title=[r.seen.last_refusal.as_deref()] { (r.seen.refused) }
                                        } @else { "0" }
                                    }
                                    td { (r.seen.version.as_deref().unwrap_or("—")) }
                                    td {
                                        (time_of(r.enrolled_at))
                                        @if let Some(by) = &r.enrolled_by { span.muted { " · " (by) } }
                                    }
                                    td {
                                        @if let Some(at) = r.revoked_at {
                                            span.badge.bad title=(time_of(at)) { (t(lang, "已吊销", "revoked")) }
                                        } @else {
                                            span.chip.ok { (t(lang, "正常", "active")) }
                                            details.revoke-how {
                                                summary { (t(lang, "吊销…", "Revoke…")) }
                                                p.small { (t(lang, "在管理员的设备上运行：", "On an admin's device run:")) }
                                                code.wrap { "fieldcrm device revoke " (short_id(&r.key)) }
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
        div.card {
            h2 { (t(lang, "吊销设备或更改角色", "Revoke a device or change a role")) }
            p.small {
                (t(lang, "名册的每一次修改都由管理员的设备签名，控制台不能代签。在管理员的设备上运行：",
                    "Every roster change is signed by an admin's device; the console cannot sign for you. On an admin's device run:"))
            }
            p { code.wrap { "fieldcrm device revoke <" (t(lang, "设备", "device")) ">" } }
            p { code.wrap { "fieldcrm user set <" (t(lang, "用户", "user")) "> --role manager --team <" (t(lang, "团队", "team")) ">" } }
            p.small.muted { (t(lang, "然后同步；修改会出现在审计日志中。", "then sync; the change appears in the audit log.")) }
        }
    }
}

pub(crate) async fn activity(
    State(c): State<Console>,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> Response {
    guarded(c, headers, q, |c, v, lang, _| {
        let now = c.relay.now_ms();
        let hours = data::activity_hours(&c.relay, now, 48);
        let refusals = named(
            c,
            c.relay.activity().recent(50, |e| {
                matches!(
                    e.kind,
                    EventKind::Refused
                        | EventKind::ConnectionRefused
                        | EventKind::InvitationRefused
                        | EventKind::LoginRefused
                )
            }),
        );
        layout(
            lang,
            v,
            "activity",
            t(lang, "活动", "Activity"),
            activity_body(lang, &hours, &refusals),
        )
    })
    .await
}

/// Columns per hour, in a 480-unit box; each column has its exact value as a tooltip.
fn columns(
    lang: Lang,
    title: &str,
    hours: &[Hour],
    value: fn(&Hour) -> u64,
    text: fn(u64) -> String,
) -> Markup {
    let top = hours.iter().map(value).max().unwrap_or(0);
    let max = top.max(1);
    let n = i64::try_from(hours.len()).unwrap_or(1).max(1);
    let w = 480 / n;
    html! {
        figure.console-chart {
            figcaption { (title) " · " (t(lang, "最高 ", "max ")) (text(top)) }
            svg.chart viewBox="0 0 480 120" role="img" aria-label=(title) preserveAspectRatio="none" {
                @for (i, h) in hours.iter().enumerate() {
                    @let x = i64::try_from(i).unwrap_or(0) * w;
                    @let v = value(h);
                    @let height = ((v as f64) / (max as f64) * 110.0).round() as i64;
                    rect.bar x=(x + 1) y=(118 - height) width=((w - 2).max(1)) height=(height.max(if v > 0 { 2 } else { 0 })) {
                        title { (time_of(h.start_ms)) " · " (text(v)) }
                    }
                }
                rect.axis x="0" y="118" width="480" height="2" {}
            }
            div.chart-axis aria-hidden="true" {
                span { (t(lang, "48 小时前", "48 h ago")) }
                span { (t(lang, "24 小时前", "24 h ago")) }
                span { (t(lang, "现在", "now")) }
            }
        }
    }
}

fn bytes_text(b: u64) -> String {
    if b >= 1 << 20 {
        format!("{:.1} MiB", b as f64 / f64::from(1u32 << 20))
    } else if b >= 1 << 10 {
        format!("{:.1} KiB", b as f64 / 1024.0)
    } else {
        format!("{b} B")
    }
}

fn activity_body(lang: Lang, hours: &[Hour], refusals: &[Event]) -> Markup {
    let syncs: u64 = hours.iter().map(|h| h.syncs).sum();
    let bytes: u64 = hours.iter().map(|h| h.bytes).sum();
    let refused: u64 = hours.iter().map(|h| h.refusals).sum();
    html! {
        div.page-head {
            h1 { (t(lang, "活动", "Activity")) }
            p.muted { (t(lang, "最近 48 小时，每小时一栏（东八区）。", "The last 48 hours, one column per hour (UTC+8).")) }
        }
        div.stats {
            div.stat { span.stat-num #sync-total { (syncs) } span.stat-label { (t(lang, "次同步", "syncs")) } }
            div.stat { span.stat-num { (bytes_text(bytes)) } span.stat-label { (t(lang, "传输", "transferred")) } }
            div.stat.stat-alert[refused > 0] { span.stat-num { (refused) } span.stat-label { (t(lang, "次拒绝", "refusals")) } }
        }
        div.card {
            (columns(lang, t(lang, "每小时同步次数", "Syncs per hour"), hours, |h| h.syncs + h.failed, |v| v.to_string()))
            (columns(lang, t(lang, "每小时传输量", "Bytes per hour"), hours, |h| h.bytes, bytes_text))
            (columns(lang, t(lang, "每小时拒绝次数", "Refusals per hour"), hours, |h| h.refusals, |v| v.to_string()))
        }
        div.card {
            h2 { (t(lang, "最近的拒绝及原因", "Recent refusals and why")) }
            (events_table(lang, refusals))
        }
    }
}

fn kind_name(k: EventKind, lang: Lang) -> &'static str {
    match k {
        EventKind::Sync => t(lang, "同步", "sync"),
        EventKind::SyncFailed => t(lang, "同步失败", "sync failed"),
        EventKind::Refused => t(lang, "拒绝修改", "changes refused"),
        EventKind::ConnectionRefused => t(lang, "拒绝连接", "connection refused"),
        EventKind::Enrolled => t(lang, "登记设备", "device enrolled"),
        EventKind::Revoked => t(lang, "吊销设备", "device revoked"),
        EventKind::RoleChanged => t(lang, "角色变更", "role changed"),
        EventKind::InvitationCreated => t(lang, "创建邀请", "invitation created"),
        EventKind::InvitationUsed => t(lang, "使用邀请", "invitation used"),
        EventKind::InvitationRefused => t(lang, "邀请码被拒", "invitation refused"),
        EventKind::Login => t(lang, "登录控制台", "console sign-in"),
        EventKind::LoginRefused => t(lang, "登录被拒", "sign-in refused"),
        EventKind::Backup => t(lang, "备份", "backup"),
    }
}

fn events_table(lang: Lang, events: &[Event]) -> Markup {
    html! {
        @if events.is_empty() {
            p.empty { (t(lang, "没有记录。", "Nothing recorded.")) }
        } @else {
            div.table-wrap {
                table.table.events {
                    thead { tr {
                        th scope="col" { (t(lang, "时间", "When")) }
                        th scope="col" { (t(lang, "事件", "Event")) }
                        th scope="col" { (t(lang, "设备", "Device")) }
                        th scope="col" { (t(lang, "用户", "User")) }
                        th scope="col" { (t(lang, "操作者", "By")) }
                        th scope="col" { (t(lang, "地址", "Address")) }
                        th scope="col" { (t(lang, "详情", "Details")) }
                    } }
                    tbody {
                        @for e in events {
                            tr data-kind=(e.kind.code()) {
                                td { (time_of(e.at_ms)) }
                                td { (kind_name(e.kind, lang)) }
                                td { @if let Some(d) = &e.device { code { (short_id(d)) } } }
                                td { (e.user.as_deref().unwrap_or("")) }
                                td { @if let Some(b) = &e.by { code { (short_id(b)) } } }
                                td { (e.address.as_deref().unwrap_or("")) }
                                td.wrap { (e.detail) }
                            }
                        }
                    }
                }
            }
        }
    }
}

pub(crate) async fn findings(
    State(c): State<Console>,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> Response {
    guarded(c, headers, q, |c, v, lang, _| {
        let now = c.relay.now_ms();
        let view = c
            .relay
            .roster()
            .and_then(|r| r.ok_or_else(|| "no roster yet".to_string()))
            .and_then(|roster| data::findings_view(&c.relay, &roster, &v.user, now));
        match view {
            Ok(view) => layout(
                lang,
                v,
                "findings",
                t(lang, "问题", "Findings"),
                findings_body(lang, &view),
            ),
            Err(e) => refused(lang, StatusCode::INTERNAL_SERVER_ERROR, &e),
        }
    })
    .await
}

fn count_table(caption: &str, col: &str, rows: &[(String, usize)], id: &str) -> Markup {
    html! {
        div.table-wrap {
            table.table id=(id) {
                caption.visually-hidden { (caption) }
                thead { tr { th scope="col" { (col) } th scope="col" .num { "#" } } }
                tbody {
                    @for (k, n) in rows { tr { td { (k) } td.num { (n) } } }
                }
            }
        }
    }
}

fn findings_body(lang: Lang, v: &FindingsView) -> Markup {
    let rules: Vec<(String, usize)> = v
        .by_rule
        .iter()
        .map(|(r, n)| {
            (
                format!("{} {}", r.as_str(), t(lang, r.title_zh(), r.title_en())),
                *n,
            )
        })
        .collect();
    let max = v.trend.iter().map(|d| d.1).max().unwrap_or(0).max(1);
    let n = i64::try_from(v.trend.len()).unwrap_or(1).max(1);
    let w = 480 / n.max(7);
    html! {
        div.page-head {
            h1 { (t(lang, "问题", "Findings")) }
            p.muted { (t(lang, "合并后状态上的未处理问题（仅限您可查看的范围）。", "Open findings on the merged state (within what you may read).")) }
        }
        div.stats {
            div.stat.stat-alert[v.total > 0] { span.stat-num #findings-total { (v.total) } span.stat-label { (t(lang, "未处理问题", "open findings")) } }
        }
        div.card {
            h2 { (t(lang, "趋势（每天）", "Trend (per day)")) }
            svg.chart viewBox="0 0 480 120" role="img" aria-label=(t(lang, "每天的未处理问题数", "Open findings per day")) preserveAspectRatio="none" {
                @for (i, (day, count)) in v.trend.iter().enumerate() {
                    @let height = ((*count as f64) / (max as f64) * 110.0).round() as i64;
                    rect.bar x=(i64::try_from(i).unwrap_or(0) * w + 2) y=(118 - height) width=((w - 4).max(1)) height=(height) {
                        title { (day) " · " (count) }
                    }
                }
                rect.axis x="0" y="118" width="480" height="2" {}
            }
            p.small.muted { (t(lang, "每次打开本页时记录当天的数量。", "Each day's count is recorded when this page is opened.")) }
        }
        div.console-grid {
            div.card { h2 { (t(lang, "按规则", "By rule")) } (count_table(t(lang, "按规则", "By rule"), t(lang, "规则", "Rule"), &rules, "by-rule")) }
            div.card { h2 { (t(lang, "按团队", "By team")) } (count_table(t(lang, "按团队", "By team"), t(lang, "团队", "Team"), &v.by_team, "by-team")) }
            div.card { h2 { (t(lang, "按销售代表", "By rep")) } (count_table(t(lang, "按销售代表", "By rep"), t(lang, "负责人", "Owner"), &v.by_rep, "by-rep")) }
        }
        div.card {
            h2 { (t(lang, "问题列表", "The findings")) }
            @if v.listed.is_empty() {
                p.empty { (t(lang, "没有未处理的问题。", "No open findings.")) }
            } @else {
                ul.findings {
                    @for f in &v.listed {
                        li.finding {
                            div.finding-head { code.rule { (f.rule.as_str()) } }
                            div.finding-msg { (t_msg(lang, &f.message_zh, &f.message_en)) }
                        }
                    }
                }
            }
        }
    }
}

fn t_msg<'a>(lang: Lang, zh: &'a str, en: &'a str) -> &'a str {
    match lang {
        Lang::Zh => zh,
        Lang::En => en,
    }
}

fn audit_events(c: &Console, kind: Option<&str>) -> Vec<Event> {
    named(
        c,
        c.relay.activity().recent(1_000, |e| {
            e.kind.audited() && kind.is_none_or(|k| k.is_empty() || e.kind.code() == k)
        }),
    )
}

/// Events with their users' names where the roster knows the user ID.
fn named(c: &Console, mut events: Vec<Event>) -> Vec<Event> {
    if let Ok(Some(roster)) = c.relay.roster() {
        for e in &mut events {
            if let Some(u) = e.user.as_ref().and_then(|id| roster.users.get(id)) {
                e.user = Some(u.name.clone());
            }
        }
    }
    events
}

pub(crate) async fn audit(
    State(c): State<Console>,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> Response {
    guarded(c, headers, q, |c, v, lang, q| {
        let kind = q.kind.clone().unwrap_or_default();
        let events = audit_events(c, Some(&kind));
        let body = html! {
            div.page-head.with-action {
                div {
                    h1 { (t(lang, "审计日志", "Audit log")) }
                    p.muted { (t(lang, "登记、吊销、角色变更、邀请、被拒的修改和登录，最新的在前。", "Enrolments, revocations, role changes, invitations, refused changes and sign-ins, newest first.")) }
                }
                a.button.secondary #audit-csv href={ "/admin/audit.csv?kind=" (kind) } download="audit.csv" { (t(lang, "导出 CSV", "Export CSV")) }
            }
            form.card.filters method="get" action="/admin/audit" {
                div.filter-row {
                    div.field {
                        label for="kind" { (t(lang, "事件", "Event")) }
                        select #kind name="kind" {
                            option value="" { (t(lang, "全部", "All")) }
                            @for k in EventKind::ALL.iter().filter(|k| k.audited()) {
                                option value=(k.code()) selected[k.code() == kind] { (kind_name(*k, lang)) }
                            }
                        }
                    }
                    div.field.filter-submit { button type="submit" { (t(lang, "筛选", "Filter")) } }
                }
            }
            div.card { (events_table(lang, &events)) }
        };
        layout(lang, v, "audit", t(lang, "审计日志", "Audit log"), body)
    })
    .await
}

/// Quotes a CSV cell; a cell that a spreadsheet would run as a formula gets a `'`.
fn csv_cell(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    format!("\"{}\"", s.replace('"', "\"\""))
}

pub(crate) async fn audit_csv(
    State(c): State<Console>,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> Response {
    guarded(c, headers, q, |c, _, _, q| {
        let events = audit_events(c, q.kind.as_deref());
        // A byte-order mark so Excel reads the Chinese right.
        let mut out = String::from("\u{feff}time,event,device,user,by,address,details\r\n");
        for e in &events {
            let cells = [
                time_of(e.at_ms),
                e.kind.code().to_string(),
                e.device.clone().unwrap_or_default(),
                e.user.clone().unwrap_or_default(),
                e.by.clone().unwrap_or_default(),
                e.address.clone().unwrap_or_default(),
                e.detail.clone(),
            ];
            let line: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
            out.push_str(&line.join(","));
            out.push_str("\r\n");
        }
        let mut r = (StatusCode::OK, out).into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/csv; charset=utf-8"),
        );
        r.headers_mut().insert(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_static("attachment; filename=\"audit.csv\""),
        );
        r
    })
    .await
}
