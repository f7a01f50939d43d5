//! The guard in front of every route: Host check (DNS rebinding), launch-secret login and
//! session cookie, CSRF token and Origin check on POSTs, the language choice, and the
//! security headers on every response.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use fieldcrm_model::Lang;
use rand::RngCore;

use crate::{App, Session, ui};

/// Name of the session cookie.
pub(crate) const SESSION_COOKIE: &str = "fieldcrm_app";
/// Name of the language cookie.
pub(crate) const LANG_COOKIE: &str = "fieldcrm_lang";
/// Largest accepted form body.
const MAX_FORM_BYTES: usize = 1 << 20;

/// The content security policy of every response.
pub(crate) const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// What the guard learned about a request, for the handlers.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    /// The user's language.
    pub(crate) lang: Lang,
    /// The session cookie's token.
    pub(crate) token: String,
    /// The session's CSRF token.
    pub(crate) csrf: String,
    /// The request path (for the language switch).
    pub(crate) path: String,
}

/// The fields of a POSTed form (checked for CSRF already).
#[derive(Debug, Clone, Default)]
pub(crate) struct Fields(pub(crate) HashMap<String, String>);

impl Fields {
    /// A field's value, empty if absent.
    pub(crate) fn get(&self, name: &str) -> &str {
        self.0.get(name).map(String::as_str).unwrap_or("")
    }

    /// A field's trimmed value, `None` if absent or blank.
    pub(crate) fn opt(&self, name: &str) -> Option<String> {
        let v = self.get(name).trim();
        (!v.is_empty()).then(|| v.to_string())
    }
}

/// `n` random bytes as lowercase hex.
pub fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compare two secrets in time independent of where they differ.
pub(crate) fn ct_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The value of cookie `name`.
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_string())
}

fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    query?
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// The language: `?lang=`, else the cookie, else `Accept-Language`, else Chinese.
fn choose_lang(headers: &HeaderMap, query: Option<&str>) -> (Lang, Option<Lang>) {
    if let Some(l) = query_param(query, "lang").and_then(|v| Lang::parse(&v)) {
        return (l, Some(l));
    }
    if let Some(l) = cookie(headers, LANG_COOKIE).and_then(|v| Lang::parse(&v)) {
        return (l, None);
    }
    let accept = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let first = accept
        .split(',')
        .filter_map(|t| Lang::parse(t.split(';').next().unwrap_or("")))
        .next();
    (first.unwrap_or(Lang::Zh), None)
}

fn host_ok(headers: &HeaderMap, port: u16) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    host == format!("127.0.0.1:{port}") || host == format!("localhost:{port}")
}

/// A POST must come from this app's own pages. `Sec-Fetch-Site`, when sent, must say
/// same-origin; `Origin`, when sent, must be this server, or `null`, which browsers send
/// for same-origin form posts under `Referrer-Policy: no-referrer`, and then only with
/// `Sec-Fetch-Site: same-origin` vouching for it. (The CSRF token is checked as well.)
fn origin_ok(headers: &HeaderMap, port: u16) -> bool {
    let site = headers
        .get("sec-fetch-site")
        .map(|v| v.to_str().unwrap_or("invalid"));
    if site.is_some_and(|s| s != "same-origin" && s != "none") {
        return false;
    }
    match headers.get(header::ORIGIN).map(|o| o.to_str()) {
        None => true,
        Some(Ok("null")) => site == Some("same-origin"),
        Some(Ok(o)) => {
            o == format!("http://127.0.0.1:{port}") || o == format!("http://localhost:{port}")
        }
        Some(Err(_)) => false,
    }
}

fn forbidden(lang: Lang, why: &str) -> Response {
    ui::forbidden(lang, why)
}

/// The middleware in front of every route.
pub(crate) async fn guard(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let (lang, set_lang) = choose_lang(req.headers(), req.uri().query());
    let path = req.uri().path().to_string();
    let mut resp = guarded(&app, lang, req, next).await;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    let cache = if path.starts_with("/assets/") {
        "no-cache"
    } else {
        "no-store"
    };
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Some(l) = set_lang {
        let v = match l {
            Lang::Zh => "zh",
            Lang::En => "en",
        };
        if let Ok(c) = HeaderValue::from_str(&format!(
            "{LANG_COOKIE}={v}; Path=/; SameSite=Strict; Max-Age=31536000"
        )) {
            h.append(header::SET_COOKIE, c);
        }
    }
    resp
}

async fn guarded(app: &App, lang: Lang, mut req: Request, next: Next) -> Response {
    if !host_ok(req.headers(), app.port) {
        return forbidden(lang, "host");
    }
    let path = req.uri().path().to_string();
    if path == "/login" || path == "/assets/app.css" {
        req.extensions_mut().insert(lang);
        return next.run(req).await;
    }
    let Some(token) = cookie(req.headers(), SESSION_COOKIE) else {
        return forbidden(lang, "session");
    };
    let csrf = app
        .sessions
        .lock()
        .ok()
        .and_then(|s| s.get(&token).map(|s| s.csrf.clone()));
    let Some(csrf) = csrf else {
        return forbidden(lang, "session");
    };
    if req.method() == Method::POST {
        if !origin_ok(req.headers(), app.port) {
            return forbidden(lang, "origin");
        }
        let (parts, body) = req.into_parts();
        let bytes = match axum::body::to_bytes(body, MAX_FORM_BYTES).await {
            Ok(b) => b,
            Err(_) => return (StatusCode::PAYLOAD_TOO_LARGE, "too large").into_response(),
        };
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
        let mut fields = HashMap::new();
        for (k, v) in pairs {
            fields.entry(k).or_insert(v);
        }
        let sent = fields.get("_csrf").map(String::as_str).unwrap_or("");
        if !ct_eq(sent, &csrf) {
            return forbidden(lang, "csrf");
        }
        req = Request::from_parts(parts, Body::from(bytes));
        req.extensions_mut().insert(Fields(fields));
    } else if req.method() != Method::GET && req.method() != Method::HEAD {
        return (StatusCode::METHOD_NOT_ALLOWED, "method not allowed").into_response();
    }
    req.extensions_mut().insert(lang);
    req.extensions_mut().insert(Ctx {
        lang,
        token,
        csrf,
        path,
    });
    next.run(req).await
}

/// `GET /login?k=SECRET[&next=/path]`: start a session and go to the day view (or `next`).
pub(crate) async fn login(
    State(app): State<Arc<App>>,
    axum::Extension(lang): axum::Extension<Lang>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let given = q.get("k").map(String::as_str).unwrap_or("");
    if !ct_eq(given, &app.secret) {
        return forbidden(lang, "login");
    }
    let token = random_hex(32);
    let session = Session {
        csrf: random_hex(32),
        flash: None,
    };
    if let Ok(mut s) = app.sessions.lock() {
        s.insert(token.clone(), session);
    }
    // `next`: a path on this server to land on (never another site).
    let next = q
        .get("next")
        .filter(|n| n.starts_with('/') && !n.starts_with("//") && !n.contains('\\'))
        .and_then(|n| HeaderValue::from_str(n).ok())
        .unwrap_or(HeaderValue::from_static("/"));
    let mut resp = StatusCode::SEE_OTHER.into_response();
    let h = resp.headers_mut();
    h.insert(header::LOCATION, next);
    if let Ok(c) = HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/"
    )) {
        h.insert(header::SET_COOKIE, c);
    }
    resp
}
