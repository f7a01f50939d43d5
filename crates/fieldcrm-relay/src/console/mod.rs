//! The office console (`/admin`): devices, activity, findings and the audit log, for
//! admins and managers, served by the relay in the app's look and languages.
//!
//! **Sign-in** needs no password on the relay: an admin's or manager's device signs a
//! link (`fieldcrm office-login`, or the app's button) naming its device, the time and a
//! nonce ([`fieldcrm_net::ws::console_login_message`]). The link opens a page whose button
//! posts it back; the relay checks the signature, that the device is enrolled, not
//! revoked and belongs to an admin or manager, that the link is at most
//! [`CONSOLE_LINK_VALID_MS`] old and that its nonce was never used, then sets an
//! HttpOnly, SameSite=Strict session cookie for `/admin` (8 hours). Every page without a
//! session is refused; every form carries the session's CSRF token.

mod data;
mod pages;

use std::collections::HashMap;
use std::sync::Mutex;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use fieldcrm_model::{DeviceKey, Lang, Millis, Role, unhex};
use fieldcrm_net::ws::{CONSOLE_LINK_VALID_MS, CONSOLE_LOGIN_PATH, console_login_message};
use serde::Deserialize;

use crate::activity::{Event, EventKind};
use crate::http::ConnMeta;
use crate::relay::{Access, Relay};

/// How long a console session lasts.
const SESSION_MS: Millis = 8 * 3_600_000;
/// The session cookie.
const COOKIE: &str = "fieldcrm_console";
/// The language cookie.
const LANG_COOKIE: &str = "fieldcrm_console_lang";

/// A signed-in admin or manager.
#[derive(Debug, Clone)]
pub(crate) struct Viewer {
    pub(crate) device: String,
    pub(crate) user: String,
    pub(crate) name: String,
    pub(crate) role: Role,
    pub(crate) csrf: String,
    expires: Millis,
}

/// Signed-in sessions by cookie token (in memory: a restarted relay signs everyone out).
pub(crate) type Sessions = Mutex<HashMap<String, Viewer>>;

#[derive(Clone)]
pub(crate) struct Console {
    pub(crate) relay: Relay,
}

/// The console's routes, to merge into the relay's app.
pub(crate) fn router(relay: Relay) -> Router {
    let console = Console { relay };
    Router::new()
        .route("/admin", get(pages::home))
        .route(CONSOLE_LOGIN_PATH, get(login_page).post(login))
        .route("/admin/logout", post(logout))
        .route("/admin/devices", get(pages::devices))
        .route("/admin/activity", get(pages::activity))
        .route("/admin/findings", get(pages::findings))
        .route("/admin/audit", get(pages::audit))
        .route("/admin/audit.csv", get(pages::audit_csv))
        .route("/admin/assets/app.css", get(css))
        .with_state(console)
}

/// The request's language: `?lang=`, then the cookie, then `Accept-Language`; Chinese
/// by default.
pub(crate) fn lang_of(headers: &HeaderMap, query: Option<&str>) -> Lang {
    let pick = |v: &str| {
        if v.trim().to_ascii_lowercase().starts_with("en") {
            Some(Lang::En)
        } else if v.trim().to_ascii_lowercase().starts_with("zh") {
            Some(Lang::Zh)
        } else {
            None
        }
    };
    query
        .and_then(pick)
        .or_else(|| cookie(headers, LANG_COOKIE).as_deref().and_then(pick))
        .or_else(|| {
            headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(',').next())
                .and_then(pick)
        })
        .unwrap_or(Lang::Zh)
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

impl Console {
    /// The signed-in viewer of this request, if the session is valid.
    pub(crate) fn viewer(&self, headers: &HeaderMap) -> Option<Viewer> {
        let token = cookie(headers, COOKIE)?;
        let now = self.relay.now_ms();
        let mut sessions = self
            .relay
            .console_sessions()
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        sessions.retain(|_, v| v.expires > now);
        sessions.get(&token).cloned()
    }
}

/// Security headers on every console response: nothing loads from elsewhere, no frames,
/// no referrer (the sign-in link is in the URL), nothing cached.
pub(crate) fn secure(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    r
}

async fn css() -> Response {
    let mut r = (
        StatusCode::OK,
        concat!(
            include_str!("../../../fieldcrm-web/assets/app.css"),
            include_str!("console.css")
        ),
    )
        .into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("max-age=3600"),
    );
    r
}

/// The four parts of a sign-in link.
#[derive(Debug, Deserialize)]
pub(crate) struct LoginLink {
    #[serde(default)]
    d: String,
    #[serde(default)]
    t: String,
    #[serde(default)]
    n: String,
    #[serde(default)]
    s: String,
    #[serde(default)]
    lang: Option<String>,
}

/// Why a sign-in link was refused, in both languages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LoginRefusal {
    Malformed,
    Expired,
    BadSignature,
    NotAllowed,
    NotManager,
    Used,
}

impl LoginRefusal {
    pub(crate) fn text(self, lang: Lang) -> &'static str {
        let (zh, en) = match self {
            LoginRefusal::Malformed => (
                "登录链接不完整或已损坏，请重新生成。",
                "The sign-in link is incomplete or damaged; make a new one.",
            ),
            LoginRefusal::Expired => (
                "登录链接已过期（有效期 5 分钟），请运行 fieldcrm office-login 重新生成。",
                "The sign-in link has expired (it is valid for 5 minutes); run fieldcrm office-login for a new one.",
            ),
            LoginRefusal::BadSignature => (
                "登录链接的签名不正确。",
                "The sign-in link's signature does not verify.",
            ),
            LoginRefusal::NotAllowed => (
                "该设备未登记或已被吊销。",
                "This device is not enrolled or has been revoked.",
            ),
            LoginRefusal::NotManager => (
                "只有管理员和经理可以使用办公室控制台。",
                "Only admins and managers may use the office console.",
            ),
            LoginRefusal::Used => (
                "该登录链接已经使用过，每个链接只能使用一次。",
                "This sign-in link was already used; each link works once.",
            ),
        };
        match lang {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }

    fn code(self) -> &'static str {
        match self {
            LoginRefusal::Malformed => "malformed link",
            LoginRefusal::Expired => "expired link",
            LoginRefusal::BadSignature => "bad signature",
            LoginRefusal::NotAllowed => "device not enrolled or revoked",
            LoginRefusal::NotManager => "not an admin or manager",
            LoginRefusal::Used => "link already used",
        }
    }
}

struct Parsed {
    device: DeviceKey,
    at: Millis,
    nonce: String,
    sig: [u8; 64],
}

fn parse_link(l: &LoginLink) -> Option<Parsed> {
    let nonce = l.n.trim().to_ascii_lowercase();
    if !(16..=64).contains(&nonce.len()) || !nonce.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Some(Parsed {
        device: l.d.trim().parse().ok()?,
        at: l.t.trim().parse().ok()?,
        nonce,
        sig: unhex(l.s.trim()).and_then(|b| <[u8; 64]>::try_from(b).ok())?,
    })
}

/// Checks a link without using it up (`consume` false: the page before the button) or
/// using it (`consume` true).
fn check_link(relay: &Relay, l: &LoginLink, consume: bool) -> Result<Viewer, LoginRefusal> {
    let p = parse_link(l).ok_or(LoginRefusal::Malformed)?;
    let now = relay.now_ms();
    if p.at > now + 60_000 || now - p.at > CONSOLE_LINK_VALID_MS {
        return Err(LoginRefusal::Expired);
    }
    let msg = console_login_message(relay.workspace_id(), &p.device.to_hex(), p.at, &p.nonce);
    if !fieldcrm_workspace::verify(&p.device, &msg, &p.sig) {
        return Err(LoginRefusal::BadSignature);
    }
    let user = match relay.authorize(&p.device) {
        Ok(Access::Device { user }) => user,
        _ => return Err(LoginRefusal::NotAllowed),
    };
    let roster = relay
        .roster()
        .ok()
        .flatten()
        .ok_or(LoginRefusal::NotAllowed)?;
    let u = roster.users.get(&user).ok_or(LoginRefusal::NotAllowed)?;
    if !matches!(u.role, Role::Admin | Role::Manager | Role::ChannelManager) {
        return Err(LoginRefusal::NotManager);
    }
    if consume && !relay.first_use_of_nonce(&p.nonce, p.at, now) {
        return Err(LoginRefusal::Used);
    }
    Ok(Viewer {
        device: p.device.to_hex(),
        user,
        name: u.name.clone(),
        role: u.role.clone(),
        csrf: fieldcrm_model::new_entity_id(),
        expires: now + SESSION_MS,
    })
}

async fn login_page(
    State(c): State<Console>,
    headers: HeaderMap,
    Query(link): Query<LoginLink>,
) -> Response {
    let lang = lang_of(&headers, link.lang.as_deref());
    let relay = c.relay.clone();
    let checked = tokio::task::spawn_blocking(move || {
        let r = check_link(&relay, &link, false);
        (r, link)
    })
    .await;
    match checked {
        Ok((Ok(v), link)) => secure(pages::confirm_login(lang, &v, &link)),
        Ok((Err(why), _)) => secure(pages::refused(lang, StatusCode::FORBIDDEN, why.text(lang))),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

async fn login(
    State(c): State<Console>,
    meta: Option<Extension<ConnMeta>>,
    headers: HeaderMap,
    axum::Form(link): axum::Form<LoginLink>,
) -> Response {
    let lang = lang_of(&headers, link.lang.as_deref());
    let relay = c.relay.clone();
    let addr = meta.map(|Extension(m)| m.peer.to_string());
    let device = link.d.trim().chars().take(64).collect::<String>();
    let checked = tokio::task::spawn_blocking(move || {
        let r = check_link(&relay, &link, true);
        let mut e = match &r {
            Ok(v) => {
                let mut e = Event::new(EventKind::Login, relay.now_ms());
                e.user = Some(v.user.clone());
                e
            }
            Err(why) => {
                let mut e = Event::new(EventKind::LoginRefused, relay.now_ms());
                e.detail = why.code().to_string();
                e
            }
        };
        e.device = Some(device).filter(|d| !d.is_empty());
        e.address = addr;
        relay.record_event(e);
        r
    })
    .await;
    match checked {
        Ok(Ok(v)) => {
            let token = fieldcrm_web_token();
            c.relay
                .console_sessions()
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(token.clone(), v);
            let mut r = pages::see_other("/admin/devices");
            if let Ok(v) = HeaderValue::from_str(&format!(
                "{COOKIE}={token}; Path=/admin; HttpOnly; SameSite=Strict; Max-Age={}",
                SESSION_MS / 1000
            )) {
                r.headers_mut().insert(header::SET_COOKIE, v);
            }
            secure(r)
        }
        Ok(Err(why)) => secure(pages::refused(lang, StatusCode::FORBIDDEN, why.text(lang))),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// A random session token (256 bits, hex).
fn fieldcrm_web_token() -> String {
    let bytes: [u8; 32] = rand::random();
    fieldcrm_model::hex(&bytes)
}

#[derive(Debug, Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn logout(
    State(c): State<Console>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<CsrfForm>,
) -> Response {
    let lang = lang_of(&headers, None);
    let Some(token) = cookie(&headers, COOKIE) else {
        return secure(pages::signed_out(lang));
    };
    let mut sessions = c
        .relay
        .console_sessions()
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if sessions.get(&token).is_some_and(|v| v.csrf == form.csrf) {
        sessions.remove(&token);
        let mut r = pages::signed_out(lang);
        if let Ok(v) = HeaderValue::from_str(&format!(
            "{COOKIE}=; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=0"
        )) {
            r.headers_mut().insert(header::SET_COOKIE, v);
        }
        return secure(r);
    }
    secure(pages::refused(
        lang,
        StatusCode::FORBIDDEN,
        match lang {
            Lang::Zh => "表单已过期，请刷新页面后重试。",
            Lang::En => "The form has expired; reload the page and try again.",
        },
    ))
}

/// Sets the language cookie when `?lang=` chose one.
pub(crate) fn remember_lang(mut r: Response, query: Option<&str>) -> Response {
    if let Some(q) = query {
        let v = if q.starts_with("en") { "en" } else { "zh" };
        if let Ok(h) = HeaderValue::from_str(&format!(
            "{LANG_COOKIE}={v}; Path=/admin; SameSite=Strict; Max-Age=31536000"
        )) {
            r.headers_mut().append(header::SET_COOKIE, h);
        }
    }
    r
}
