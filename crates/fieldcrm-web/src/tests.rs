//! Router tests without a socket (axum `oneshot`): the guard (Host, session, CSRF,
//! Origin), the headers, the language, every page rendering, and a form's refusal.

use std::path::Path;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use fieldcrm_model::{CustomerClass, Role};
use fieldcrm_workspace::{InitOptions, NewCustomer, Workspace};
use tower::ServiceExt;

use crate::security::CSP;

pub(super) const PORT: u16 = 8123;
pub(super) const HOST: &str = "127.0.0.1:8123";
pub(super) const SECRET: &str = "0123456789abcdef0123456789abcdef";

/// 2026-11-29 14:00 in Shanghai.
pub(super) const NOW: i64 = 1_795_932_000_000;

pub(super) fn workspace(dir: &Path) -> String {
    let ws = Workspace::init(
        dir,
        &InitOptions {
            user: "王经理".into(),
            role: Role::Admin,
            team: Some("华东一组".into()),
            region: None,
            company: "示例科技".into(),
            device_label: "test".into(),
        },
        NOW - 10_000_000,
    )
    .unwrap();
    ws.catalog_put(
        "P-100",
        fieldcrm_model::Product {
            name: "工业传感器".into(),
            product_line: "sensors".into(),
            list_price: 100_000,
            floor_price: 80_000,
        },
        NOW - 9_000_000,
    )
    .unwrap();
    for name in ["华东精密机械有限公司", "华东机电设备有限公司"] {
        ws.add_customer(
            NewCustomer {
                name: name.into(),
                class: Some(CustomerClass::Key),
                ..Default::default()
            },
            NOW - 8_000_000,
        )
        .unwrap();
    }
    ws.resolve(
        Some(&fieldcrm_model::DocKind::Customer),
        "华东精密机械有限公司",
    )
    .unwrap()
    .to_string()
}

pub(super) fn app(dir: &Path) -> Router {
    crate::router(dir.to_path_buf(), SECRET.into(), PORT, Some(NOW))
}

pub(super) async fn send(
    app: &Router,
    req: Request<Body>,
) -> (StatusCode, axum::http::HeaderMap, String) {
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = axum::body::to_bytes(resp.into_body(), 1 << 24)
        .await
        .unwrap();
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

pub(super) fn get(uri: &str, cookie: Option<&str>) -> Request<Body> {
    let mut b = Request::get(uri).header(header::HOST, HOST);
    if let Some(c) = cookie {
        b = b.header(header::COOKIE, c);
    }
    b.body(Body::empty()).unwrap()
}

pub(super) fn post(uri: &str, cookie: &str, form: &[(&str, &str)]) -> Request<Body> {
    Request::post(uri)
        .header(header::HOST, HOST)
        .header(header::COOKIE, cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(serde_urlencoded::to_string(form).unwrap()))
        .unwrap()
}

/// Log in; the session cookie and the CSRF token of its pages.
pub(super) async fn login(app: &Router) -> (String, String) {
    let (status, headers, _) = send(app, get(&format!("/login?k={SECRET}"), None)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/");
    let set = headers[header::SET_COOKIE].to_str().unwrap().to_string();
    assert!(set.contains("HttpOnly"), "{set}");
    assert!(set.contains("SameSite=Strict"), "{set}");
    assert!(set.contains("Path=/"), "{set}");
    let cookie = set.split(';').next().unwrap().to_string();
    assert!(cookie.starts_with("fieldcrm_app="));
    let (status, _, body) = send(app, get("/sync", Some(&cookie))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let csrf = body
        .split("name=\"_csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    (cookie, csrf)
}

#[tokio::test]
async fn nothing_without_the_session_cookie() {
    let dir = tempfile::tempdir().unwrap();
    workspace(dir.path());
    let app = app(dir.path());
    for path in [
        "/",
        "/customers",
        "/customers/results?q=x",
        "/sync",
        "/inbox",
        "/assets/app.js",
        "/events",
        "/reports/export.csv",
        "/reports/export.xlsx",
    ] {
        let (status, headers, body) = send(&app, get(path, None)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        assert!(
            body.contains("禁止访问") && body.contains("Forbidden"),
            "{path}: bilingual"
        );
        assert_eq!(headers[header::CONTENT_SECURITY_POLICY], CSP);
    }
    // A made-up cookie is no session.
    let (status, _, _) = send(&app, get("/", Some("fieldcrm_app=deadbeef"))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // The stylesheet is public so that the 403 page is styled.
    let (status, headers, _) = send(&app, get("/assets/app.css", None)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
    // A wrong or missing launch secret.
    for uri in [
        "/login",
        "/login?k=wrong",
        "/login?k=0123456789abcdef0123456789abcdeF",
    ] {
        let (status, headers, _) = send(&app, get(uri, None)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{uri}");
        assert!(headers.get(header::SET_COOKIE).is_none());
    }
}

#[tokio::test]
async fn host_header_must_name_this_server() {
    let dir = tempfile::tempdir().unwrap();
    workspace(dir.path());
    let app = app(dir.path());
    let (cookie, _) = login(&app).await;
    for host in ["evil.example:8123", "127.0.0.1:9999", "127.0.0.1", ""] {
        let req = Request::get("/")
            .header(header::HOST, host)
            .header(header::COOKIE, &cookie)
            .body(Body::empty())
            .unwrap();
        let (status, _, _) = send(&app, req).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{host}");
    }
    let req = Request::get(format!("/login?k={SECRET}"))
        .header(header::HOST, "attacker.test")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&app, req).await.0, StatusCode::FORBIDDEN);
    let req = Request::get("/")
        .header(header::HOST, "localhost:8123")
        .header(header::COOKIE, &cookie)
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&app, req).await.0, StatusCode::OK);
}

#[tokio::test]
async fn every_page_renders_with_nav_main_and_strict_headers() {
    let dir = tempfile::tempdir().unwrap();
    let id = workspace(dir.path());
    let app = app(dir.path());
    let (cookie, _) = login(&app).await;
    for path in [
        "/".to_string(),
        "/customers".into(),
        "/customers?q=hdjd&class=key&sort=updated&overdue=1".into(),
        "/customers/new".into(),
        format!("/customers/{id}"),
        "/channels".into(),
        "/sync".into(),
        "/conflicts".into(),
        "/inbox".into(),
        "/targets".into(),
        "/findings".into(),
        "/duplicates".into(),
        "/reports".into(),
    ] {
        let (status, headers, body) = send(&app, get(&path, Some(&cookie))).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        assert!(body.contains("<nav id=\"nav\""), "{path}");
        assert!(body.contains("<main id=\"main\""), "{path}");
        assert!(body.contains("<html lang=\"zh-CN\">"), "{path}");
        assert!(!body.contains("style=\""), "{path}: inline style");
        assert!(!body.contains("<script>"), "{path}: inline script");
        assert_eq!(headers[header::CONTENT_SECURITY_POLICY], CSP);
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(headers[header::REFERRER_POLICY], "no-referrer");
        assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    }
    let (status, _, body) = send(&app, get("/customers/not-an-id", Some(&cookie))).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, _, _) = send(
        &app,
        get("/customers/00000000000000000000000000000000", Some(&cookie)),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, headers, body) = send(&app, get("/reports/export.csv", Some(&cookie))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(body.starts_with('\u{FEFF}'));
}

#[tokio::test]
async fn the_reports_excel_download_opens_with_every_report_as_a_sheet() {
    let dir = tempfile::tempdir().unwrap();
    workspace(dir.path());
    let ws = Workspace::open(dir.path()).unwrap();
    ws.set_target(None, Some("华东一组"), "2026-11", 5_000_000, NOW - 1_000)
        .unwrap();
    drop(ws);
    let app = app(dir.path());
    let (cookie, _) = login(&app).await;
    let (_, _, page) = send(&app, get("/reports", Some(&cookie))).await;
    assert!(page.contains("href=\"/reports/export.xlsx\""), "{page}");
    let resp = app
        .clone()
        .oneshot(get("/reports/export.xlsx", Some(&cookie)))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .contains("spreadsheetml")
    );
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 24)
        .await
        .unwrap();
    // Read back with calamine (through the workspace's reader).
    let sheets = fieldcrm_workspace::sheets::read_xlsx(&bytes).unwrap();
    let names: Vec<&str> = sheets.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["目标完成", "销售漏斗", "拜访与联系", "投诉"]);
    let targets = &sheets[0].1;
    assert_eq!(targets[0][0], "对象");
    assert_eq!(targets[1][0], "华东一组");
    assert_eq!(targets[1][2], "2026-11");
    assert_eq!(targets[1][3], "50000", "the target in yuan, as a number");
}

#[tokio::test]
async fn search_results_fragment_links_each_customer() {
    let dir = tempfile::tempdir().unwrap();
    workspace(dir.path());
    let app = app(dir.path());
    let (cookie, _) = login(&app).await;
    let (status, _, body) = send(
        &app,
        get("/customers/results?q=%E6%9C%BA%E7%94%B5", Some(&cookie)),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("class=\"customer-link\""), "{body}");
    assert!(body.contains("华东机电设备有限公司"));
    assert!(!body.contains("华东精密机械有限公司"));
    assert!(!body.contains("<nav"), "a fragment, not a page");
    let (_, _, page) = send(&app, get("/customers", Some(&cookie))).await;
    assert!(page.contains("id=\"search\"") && page.contains("id=\"results\""));
}

#[tokio::test]
async fn language_switch_and_accept_language() {
    let dir = tempfile::tempdir().unwrap();
    workspace(dir.path());
    let app = app(dir.path());
    let (cookie, _) = login(&app).await;
    let (_, headers, body) = send(&app, get("/?lang=en", Some(&cookie))).await;
    assert!(body.contains("<html lang=\"en\">"));
    let set = headers[header::SET_COOKIE].to_str().unwrap();
    assert!(set.starts_with("fieldcrm_lang=en"), "{set}");
    let both = format!("{cookie}; fieldcrm_lang=en");
    let (_, _, body) = send(&app, get("/customers", Some(&both))).await;
    assert!(body.contains("<html lang=\"en\">") && body.contains("Customers"));
    let req = Request::get("/")
        .header(header::HOST, HOST)
        .header(header::COOKIE, &cookie)
        .header(header::ACCEPT_LANGUAGE, "en-US,en;q=0.9")
        .body(Body::empty())
        .unwrap();
    let (_, _, body) = send(&app, req).await;
    assert!(body.contains("<html lang=\"en\">"));
    let (_, _, body) = send(&app, get("/", Some(&cookie))).await;
    assert!(body.contains("<html lang=\"zh-CN\">") && body.contains("今天"));
}

#[tokio::test]
async fn posts_need_the_csrf_token_and_a_same_origin() {
    let dir = tempfile::tempdir().unwrap();
    let id = workspace(dir.path());
    let app = app(dir.path());
    let (cookie, csrf) = login(&app).await;
    let uri = format!("/customers/{id}/interactions");
    let fields = [
        ("kind", "visit"),
        ("at", "2026-11-29T10:00"),
        ("summary", "拜访"),
    ];
    // No token, a wrong token.
    let (status, _, _) = send(&app, post(&uri, &cookie, &fields)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let mut wrong = fields.to_vec();
    wrong.push(("_csrf", "00"));
    assert_eq!(
        send(&app, post(&uri, &cookie, &wrong)).await.0,
        StatusCode::FORBIDDEN
    );
    // The right token from another site.
    let mut good = fields.to_vec();
    good.push(("_csrf", &csrf));
    let mut req = post(&uri, &cookie, &good);
    req.headers_mut()
        .insert(header::ORIGIN, "http://evil.example".parse().unwrap());
    assert_eq!(send(&app, req).await.0, StatusCode::FORBIDDEN);
    // Cross-site by Fetch metadata, or an opaque origin without it.
    for (origin, site) in [
        (None, Some("cross-site")),
        (Some("http://127.0.0.1:8123"), Some("same-site")),
        (Some("null"), None),
        (Some("null"), Some("cross-site")),
    ] {
        let mut req = post(&uri, &cookie, &good);
        if let Some(o) = origin {
            req.headers_mut().insert(header::ORIGIN, o.parse().unwrap());
        }
        if let Some(s) = site {
            req.headers_mut()
                .insert("sec-fetch-site", s.parse().unwrap());
        }
        assert_eq!(
            send(&app, req).await.0,
            StatusCode::FORBIDDEN,
            "{origin:?} {site:?}"
        );
    }
    // Nothing was written.
    let ws = Workspace::open(dir.path()).unwrap();
    let c: fieldcrm_model::Customer = ws.load(&id.parse().unwrap()).unwrap().hydrate().unwrap();
    assert!(c.interactions.is_empty());
    drop(ws);
    // The right token from this app (a browser under no-referrer sends `Origin: null`
    // with `Sec-Fetch-Site: same-origin`): saved, back to the file with a flash.
    let mut req = post(&uri, &cookie, &good);
    req.headers_mut()
        .insert(header::ORIGIN, "null".parse().unwrap());
    req.headers_mut()
        .insert("sec-fetch-site", "same-origin".parse().unwrap());
    let (status, headers, _) = send(&app, req).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        headers[header::LOCATION],
        format!("/customers/{id}#main").as_str()
    );
    let (_, _, body) = send(&app, get(&format!("/customers/{id}"), Some(&cookie))).await;
    assert!(
        body.contains("<div class=\"flash\" role=\"status\">已保存</div>"),
        "{body}"
    );
    assert!(body.contains("拜访"));
    // The flash shows once.
    let (_, _, body) = send(&app, get(&format!("/customers/{id}"), Some(&cookie))).await;
    assert!(!body.contains("class=\"flash\""));
}

#[tokio::test]
async fn a_refused_form_shows_the_error_beside_the_field_and_keeps_the_input() {
    let dir = tempfile::tempdir().unwrap();
    let id = workspace(dir.path());
    let app = app(dir.path());
    let (cookie, csrf) = login(&app).await;
    let uri = format!("/customers/{id}/interactions");
    let form = [
        ("_csrf", csrf.as_str()),
        ("kind", "visit"),
        ("at", "昨天下午"),
        ("summary", "介绍新款传感器"),
    ];
    let (status, _, body) = send(&app, post(&uri, &cookie, &form)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body.contains("<p class=\"field-error\" id=\"at-error\" role=\"alert\">“昨天下午”不是日期"),
        "{body}"
    );
    assert!(body.contains("value=\"昨天下午\""));
    assert!(body.contains(">介绍新款传感器</textarea>"));
    // A quote with a bad price, and an unknown product.
    let quote = format!("/customers/{id}/quotes");
    let form = [
        ("_csrf", csrf.as_str()),
        ("product", "P-100"),
        ("price", "-5"),
        ("quantity", "2"),
    ];
    let (status, _, body) = send(&app, post(&quote, &cookie, &form)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("id=\"price-error\""), "{body}");
    // Odd input never panics.
    for odd in [
        "\u{0}",
        "🎉🎉",
        "９９９９９９９９９９９９９９９９９９９９",
        "1e400",
        "-0",
    ] {
        let form = [
            ("_csrf", csrf.as_str()),
            ("product", odd),
            ("price", odd),
            ("quantity", odd),
        ];
        let (status, _, _) = send(&app, post(&quote, &cookie, &form)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{odd}");
    }
    let (status, _, _) = send(
        &app,
        post(
            &format!("/customers/{id}/nonsense"),
            &cookie,
            &[("_csrf", &csrf)],
        ),
    )
    .await;
    assert!(status.is_client_error());
    // A quote over the rep allowance is saved and flagged.
    let form = [
        ("_csrf", csrf.as_str()),
        ("product", "P-100"),
        ("price", "780"),
        ("quantity", "20"),
    ];
    let (status, _, _) = send(&app, post(&quote, &cookie, &form)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, _, body) = send(&app, get(&format!("/customers/{id}"), Some(&cookie))).await;
    assert!(body.contains("id=\"quote-form\"") && body.contains("data-list-price=\"100000\""));
    assert!(body.contains("id=\"quote-discount\"") && body.contains("id=\"quote-needs-approval\""));
}

#[test]
fn a_busy_store_gives_a_friendly_page() {
    // Another process holding the store (this process shares its own handle, so the
    // refusal is built directly; `store::open` retries it for two seconds first).
    let busy = fieldcrm_workspace::Error::Store(fieldcrm_store_in_use());
    assert_eq!(busy.code(), "store-in-use");
    let err = crate::store::WsError::from(busy);
    assert!(matches!(err, crate::store::WsError::Busy));
    let ctx = crate::security::Ctx {
        lang: fieldcrm_model::Lang::Zh,
        token: String::new(),
        csrf: String::new(),
        path: "/".into(),
    };
    let resp = crate::ui::error_page(&ctx, &crate::ui::Who::default(), err);
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
}

fn fieldcrm_store_in_use() -> fieldcrm_store::Error {
    fieldcrm_store::Error::from(fieldcrm_store::OpenError::InUse {
        path: "workspace.redb".into(),
    })
}

#[tokio::test]
async fn a_workspace_document_is_not_a_customer_file() {
    let dir = tempfile::tempdir().unwrap();
    workspace(dir.path());
    let app = app(dir.path());
    let (cookie, csrf) = login(&app).await;
    let roster = fieldcrm_model::DocId::workspace(&fieldcrm_model::DocKind::Roster).to_string();
    for path in [
        format!("/customers/{roster}"),
        format!("/channels/{roster}"),
    ] {
        let (status, _, _) = send(&app, get(&path, Some(&cookie))).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    let form = [
        ("_csrf", csrf.as_str()),
        ("summary", "x"),
        ("kind", "visit"),
    ];
    let (status, _, _) = send(
        &app,
        post(&format!("/customers/{roster}/interactions"), &cookie, &form),
    )
    .await;
    assert!(status.is_client_error(), "{status}");
}
