//! The page shell (top bar, nav, language switch, flash), form fields with their errors,
//! error pages and the embedded assets.

use std::collections::HashMap;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use fieldcrm_model::{Lang, Role};
use maud::{DOCTYPE, Markup, html};

use crate::format::t;
use crate::security::Ctx;
use crate::store::WsError;

const CSS: &str = include_str!("../assets/app.css");
const JS: &str = include_str!("../assets/app.js");

/// Who is using the app (for the nav and the top bar).
#[derive(Debug, Clone, Default)]
pub(crate) struct Who {
    /// User name.
    pub(crate) name: Option<String>,
    /// Role.
    pub(crate) role: Option<Role>,
    /// Company name.
    pub(crate) company: Option<String>,
}

impl Who {
    /// A sales manager or admin.
    pub(crate) fn is_sales_manager(&self) -> bool {
        matches!(self.role, Some(Role::Manager | Role::Admin))
    }

    /// Any manager or admin.
    pub(crate) fn is_manager(&self) -> bool {
        matches!(
            self.role,
            Some(Role::Manager | Role::Admin | Role::ChannelManager)
        )
    }

    /// An admin.
    pub(crate) fn is_admin(&self) -> bool {
        matches!(self.role, Some(Role::Admin))
    }

    /// Someone who signs things (managers, legal).
    pub(crate) fn is_approver(&self) -> bool {
        matches!(
            self.role,
            Some(Role::Manager | Role::Admin | Role::Legal | Role::ChannelManager)
        )
    }
}

/// Role name in the user's language.
pub(crate) fn role_name(role: &Role, lang: Lang) -> String {
    match lang {
        Lang::Zh => role.zh().to_string(),
        Lang::En => role.as_str().to_string(),
    }
}

/// A vocabulary value in the user's language (English capitalised: `Key`, `Visit`).
pub(crate) fn vocab(zh: &str, en: &str, lang: Lang) -> String {
    match lang {
        Lang::Zh => zh.to_string(),
        Lang::En => {
            let mut c = en.chars();
            match c.next() {
                Some(first) => first.to_uppercase().chain(c).collect(),
                None => String::new(),
            }
        }
    }
}

type Visible = fn(&Who) -> bool;

const NAV: &[(&str, &str, &str, &str, Visible)] = &[
    ("today", "/", "今日", "Today", |_| true),
    ("customers", "/customers", "客户", "Customers", |_| true),
    ("channels", "/channels", "渠道", "Channels", |_| true),
    ("inbox", "/inbox", "审批", "Approvals", Who::is_approver),
    (
        "findings",
        "/findings",
        "团队问题",
        "Findings",
        Who::is_manager,
    ),
    (
        "duplicates",
        "/duplicates",
        "重复客户",
        "Duplicates",
        Who::is_sales_manager,
    ),
    (
        "reports",
        "/reports",
        "报表",
        "Reports",
        Who::is_sales_manager,
    ),
    ("invite", "/invite", "邀请", "Invite", Who::is_admin),
    ("conflicts", "/conflicts", "冲突", "Conflicts", |_| true),
    ("sync", "/sync", "同步", "Sync", |_| true),
];

/// The whole page around `body`.
pub(crate) fn layout(
    ctx: &Ctx,
    who: &Who,
    active: &str,
    title: &str,
    flash: Option<crate::Flash>,
    body: Markup,
) -> Markup {
    let lang = ctx.lang;
    let (other, other_label) = match lang {
        Lang::Zh => ("en", "English"),
        Lang::En => ("zh", "中文"),
    };
    html! {
        (DOCTYPE)
        html lang=(t(lang, "zh-CN", "en")) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · fieldcrm" }
                link rel="stylesheet" href="/assets/app.css";
                script src="/assets/app.js" defer {}
            }
            body data-live="1" {
                a.skip href="#main" { (t(lang, "跳到正文", "Skip to content")) }
                header.topbar {
                    div.topbar-inner {
                        a.brand href="/" {
                            span.brand-mark aria-hidden="true" { "F" }
                            span.brand-name { (who.company.as_deref().unwrap_or("fieldcrm")) }
                        }
                        div.user {
                            @if let Some(n) = &who.name {
                                span.user-name {
                                    (n)
                                    @if let Some(r) = &who.role {
                                        span.user-role { (role_name(r, lang)) }
                                    }
                                }
                            }
                            a.lang-switch href={ (ctx.path) "?lang=" (other) } lang=(other) { (other_label) }
                        }
                    }
                    nav #nav aria-label=(t(lang, "主导航", "Main")) {
                        ul {
                            @for (key, href, zh, en, visible) in NAV {
                                @if visible(who) {
                                    li {
                                        @if *key == active {
                                            a.active href=(href) aria-current="page" { (t(lang, zh, en)) }
                                        } @else {
                                            a href=(href) { (t(lang, zh, en)) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                main #main tabindex="-1" {
                    @if let Some(f) = flash {
                        @if f.ok {
                            div.flash role="status" { (f.text) }
                        } @else {
                            div.flash.flash-error role="alert" { (f.text) }
                        }
                    }
                    (body)
                }
            }
        }
    }
}

/// An HTML response.
pub(crate) fn page(status: StatusCode, markup: Markup) -> Response {
    let mut r = (status, markup.into_string()).into_response();
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

fn bare(lang: Lang, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(t(lang, "zh-CN", "en")) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · fieldcrm" }
                link rel="stylesheet" href="/assets/app.css";
            }
            body {
                main #main.bare { (body) }
            }
        }
    }
}

/// The 403 page, in both languages.
pub(crate) fn forbidden(lang: Lang, why: &str) -> Response {
    let (zh, en) = match why {
        "host" => (
            "请求的主机名不是本机地址。",
            "The request's host is not this computer.",
        ),
        "csrf" => (
            "表单已过期或不是从本应用提交的，请返回刷新页面后重试。",
            "The form has expired or was not sent from this app; go back, reload and try again.",
        ),
        "origin" => (
            "请求来自其他网站，已拒绝。",
            "The request came from another site and was refused.",
        ),
        "login" => (
            "登录链接无效，请使用 “fieldcrm app” 打印的最新链接。",
            "The login link is not valid; use the link “fieldcrm app” printed.",
        ),
        _ => (
            "请使用 “fieldcrm app” 在终端中打印的链接打开本应用。",
            "Open the app with the link “fieldcrm app” printed in the terminal.",
        ),
    };
    let (first, second) = match lang {
        Lang::Zh => ((zh, "禁止访问"), (en, "Forbidden")),
        Lang::En => ((en, "Forbidden"), (zh, "禁止访问")),
    };
    let body = html! {
        div.card.error-card {
            h1 { (first.1) " · " (second.1) }
            p { (first.0) }
            p.muted { (second.0) }
        }
    };
    page(StatusCode::FORBIDDEN, bare(lang, "403", body))
}

/// The page for a failed piece of store work.
pub(crate) fn error_page(ctx: &Ctx, who: &Who, err: WsError) -> Response {
    let lang = ctx.lang;
    let (status, title, msg) = match &err {
        WsError::Busy => (
            StatusCode::SERVICE_UNAVAILABLE,
            t(lang, "工作区正忙", "The workspace is busy"),
            t(
                lang,
                "另一个程序（例如命令行 fieldcrm）正在使用工作区。请稍等片刻再刷新页面。",
                "Another program (such as the fieldcrm command line) is using the workspace. Wait a moment and reload the page.",
            )
            .to_string(),
        ),
        WsError::App(e) => {
            let status = match e.code() {
                "not-found" => StatusCode::NOT_FOUND,
                "permission-denied" => StatusCode::FORBIDDEN,
                "invalid-input" | "ambiguous" => StatusCode::UNPROCESSABLE_ENTITY,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            };
            let title = match e.code() {
                "not-found" => t(lang, "找不到", "Not found"),
                "permission-denied" => t(lang, "无权操作", "Not allowed"),
                "invalid-input" | "ambiguous" => t(lang, "输入有误", "Please check the input"),
                _ => t(lang, "出错了", "Something went wrong"),
            };
            (status, title, e.message(lang))
        }
        WsError::Internal(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            t(lang, "出错了", "Something went wrong"),
            e.clone(),
        ),
    };
    // A device that has not received the workspace yet (or is not enrolled) syncs first.
    let needs_sync =
        matches!(&err, WsError::App(e) if matches!(e.code(), "no-roster-yet" | "not-enrolled"));
    let body = html! {
        div.card.error-card {
            h1 { (title) }
            p.error-message { (msg) }
            p.actions {
                a.button.secondary href=(ctx.path) { (t(lang, "重试", "Try again")) }
                @if needs_sync {
                    a.button href="/sync" { (t(lang, "去同步", "Go to Sync")) }
                } @else {
                    a href="/" { (t(lang, "返回今日", "Back to Today")) }
                }
            }
        }
    };
    page(status, layout(ctx, who, "", title, None, body))
}

/// `GET /assets/app.css`.
pub(crate) async fn css() -> Response {
    let mut r = CSS.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    r
}

/// `GET /assets/app.js`.
pub(crate) async fn js() -> Response {
    let mut r = JS.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    r
}

/// Any other path.
pub(crate) async fn not_found(lang: Option<axum::Extension<Lang>>) -> Response {
    let lang = lang.map(|l| l.0).unwrap_or_default();
    let body = html! {
        div.card.error-card {
            h1 { (t(lang, "找不到这个页面", "Page not found")) }
            p { a href="/" { (t(lang, "返回今日", "Back to Today")) } }
        }
    };
    page(StatusCode::NOT_FOUND, bare(lang, "404", body))
}

/// A submitted form kept for re-rendering after a refusal.
#[derive(Debug, Clone)]
pub(crate) struct FormState {
    /// Which form (`visit`, `quote`, ...).
    pub(crate) form: String,
    /// What the user typed.
    pub(crate) values: HashMap<String, String>,
    /// The field at fault (if it is one of the form's) and the message.
    pub(crate) field: Option<String>,
    /// The message in the user's language.
    pub(crate) message: String,
}

impl FormState {
    /// Form `form`, sent with `fields` and refused with `e`: what was typed, the field at
    /// fault and the message in `lang`.
    pub(crate) fn refused(
        form: String,
        fields: &crate::security::Fields,
        e: &fieldcrm_workspace::Error,
        lang: Lang,
    ) -> FormState {
        FormState {
            form,
            values: fields.0.clone(),
            field: e.field().map(str::to_string),
            message: e.message(lang),
        }
    }
}

/// A form being rendered: its name, fields and the kept state if it was the one sent.
pub(crate) struct Form<'a> {
    /// Its field names.
    pub(crate) fields: &'static [&'static str],
    /// Kept state, when this form was submitted and refused.
    pub(crate) state: Option<&'a FormState>,
    /// Prefix of element IDs ("" for the visit and quote forms).
    pub(crate) prefix: &'static str,
}

impl<'a> Form<'a> {
    /// A form; `state` is kept only if it belongs to this form.
    pub(crate) fn new(
        name: &'static str,
        prefix: &'static str,
        fields: &'static [&'static str],
        state: Option<&'a FormState>,
    ) -> Self {
        Form {
            fields,
            state: state.filter(|s| s.form == name),
            prefix,
        }
    }

    /// The element ID of a field.
    pub(crate) fn id(&self, field: &str) -> String {
        format!("{}{field}", self.prefix)
    }

    /// The kept value of `field`, else `default`.
    pub(crate) fn val(&self, field: &str, default: &str) -> String {
        self.state
            .and_then(|s| s.values.get(field))
            .cloned()
            .unwrap_or_else(|| default.to_string())
    }

    /// The error on `field`.
    pub(crate) fn err(&self, field: &str) -> Option<&str> {
        let s = self.state?;
        (s.field.as_deref() == Some(field)).then_some(s.message.as_str())
    }

    /// The error not tied to one of the form's fields.
    pub(crate) fn top_err(&self) -> Option<&str> {
        let s = self.state?;
        match &s.field {
            Some(f) if self.fields.contains(&f.as_str()) => None,
            _ => Some(s.message.as_str()),
        }
    }

    /// Whether this form was sent and refused (keep it open).
    pub(crate) fn open(&self) -> bool {
        self.state.is_some()
    }

    /// The hidden CSRF field and the form-level error.
    pub(crate) fn head(&self, ctx: &Ctx) -> Markup {
        html! {
            input type="hidden" name="_csrf" value=(ctx.csrf);
            @if let Some(e) = self.top_err() {
                p.form-error role="alert" { (e) }
            }
        }
    }

    fn error_of(&self, field: &str) -> Markup {
        html! {
            @if let Some(e) = self.err(field) {
                p.field-error id={ (self.id(field)) "-error" } role="alert" { (e) }
            }
        }
    }

    /// A labelled text input.
    pub(crate) fn text(
        &self,
        field: &str,
        label: &str,
        default: &str,
        kind: &str,
        extra: Option<(&str, &str)>,
    ) -> Markup {
        let id = self.id(field);
        let bad = self.err(field).is_some();
        let mode = match kind {
            "money" => Some("decimal"),
            "int" => Some("numeric"),
            _ => None,
        };
        let ty = match kind {
            "money" | "int" => "text",
            k => k,
        };
        html! {
            div.field {
                label for=(id) { (label) }
                input id=(id) name=(field) type=(ty) value=(self.val(field, default))
                    inputmode=[mode]
                    placeholder=[extra.filter(|e| e.0 == "placeholder").map(|e| e.1)]
                    autocomplete="off"
                    autofocus[bad]
                    aria-invalid=[bad.then_some("true")]
                    aria-describedby=[bad.then(|| format!("{id}-error"))];
                (self.error_of(field))
            }
        }
    }

    /// A labelled textarea.
    pub(crate) fn textarea(&self, field: &str, label: &str) -> Markup {
        let id = self.id(field);
        let bad = self.err(field).is_some();
        html! {
            div.field {
                label for=(id) { (label) }
                textarea id=(id) name=(field) rows="3"
                    autofocus[bad]
                    aria-invalid=[bad.then_some("true")]
                    aria-describedby=[bad.then(|| format!("{id}-error"))] { (self.val(field, "")) }
                (self.error_of(field))
            }
        }
    }

    /// A labelled select of `(value, label)` options.
    pub(crate) fn select(
        &self,
        field: &str,
        label: &str,
        options: &[(String, String)],
        default: &str,
    ) -> Markup {
        let id = self.id(field);
        let chosen = self.val(field, default);
        let bad = self.err(field).is_some();
        html! {
            div.field {
                label for=(id) { (label) }
                select id=(id) name=(field) autofocus[bad] aria-invalid=[bad.then_some("true")] {
                    @for (v, l) in options {
                        option value=(v) selected[*v == chosen] { (l) }
                    }
                }
                (self.error_of(field))
            }
        }
    }

    /// A labelled checkbox.
    pub(crate) fn checkbox(&self, field: &str, label: &str) -> Markup {
        let id = self.id(field);
        let on = self.state.is_some_and(|s| s.values.contains_key(field));
        html! {
            div.field.check {
                input id=(id) name=(field) type="checkbox" value="1" checked[on];
                label for=(id) { (label) }
            }
        }
    }
}

/// A small empty-state line.
pub(crate) fn empty(text: &str) -> Markup {
    html! { p.empty { (text) } }
}
