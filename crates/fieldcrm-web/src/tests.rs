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

const PORT: u16 = 8123;
const HOST: &str = "127.0.0.1:8123";
const SECRET: &str = "0123456789abcdef0123456789abcdef";

/// 2026-11-29 14:00 in Shanghai.
const NOW: i64 = 1_795_932_000_000;

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

#[tokio::test]
async fn a_finding_is_acknowledged_then_waived_from_the_customer_page() {
    let dir = tempfile::tempdir().unwrap();
    let id = workspace(dir.path());
    let app = app(dir.path());
    let (cookie, csrf) = login(&app).await;
    let page = format!("/customers/{id}");
    let (_, _, body) = send(&app, get(&page, Some(&cookie))).await;
    let key = body
        .split("name=\"key\" value=\"")
        .nth(1)
        .expect("a finding with its forms")
        .split('"')
        .next()
        .unwrap()
        .to_string();
    assert!(body.contains("确认或豁免"), "{body}");
    // A note is required: the error is beside it, the disclosure open.
    let ack = format!("/customers/{id}/finding-ack");
    let form = [
        ("_csrf", csrf.as_str()),
        ("key", key.as_str()),
        ("note", " "),
    ];
    let (status, _, body) = send(&app, post(&ack, &cookie, &form)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("id=\"finding-ack-note-0-error\""), "{body}");
    assert!(
        body.contains("<details class=\"finding-actions\" open"),
        "{body}"
    );
    let form = [
        ("_csrf", csrf.as_str()),
        ("key", key.as_str()),
        ("note", "已约客户下周面谈"),
    ];
    let (status, _, _) = send(&app, post(&ack, &cookie, &form)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    // Acknowledged is still open: still on the page.
    let (_, _, body) = send(&app, get(&page, Some(&cookie))).await;
    assert!(body.contains(&key));
    // Waived (the admin may) until a date: off the page.
    let waive = format!("/customers/{id}/finding-waive");
    let form = [
        ("_csrf", csrf.as_str()),
        ("key", key.as_str()),
        ("reason", "客户年底停产"),
        ("until", "明年"),
    ];
    let (status, _, body) = send(&app, post(&waive, &cookie, &form)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body.contains("id=\"finding-waive-until-0-error\""),
        "{body}"
    );
    let form = [
        ("_csrf", csrf.as_str()),
        ("key", key.as_str()),
        ("reason", "客户年底停产"),
        ("until", "2027-01-31"),
    ];
    let (status, _, _) = send(&app, post(&waive, &cookie, &form)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, _, body) = send(&app, get(&page, Some(&cookie))).await;
    assert!(!body.contains(&key), "{body}");
}

#[tokio::test]
async fn the_team_findings_page_acknowledges_and_comes_back() {
    let dir = tempfile::tempdir().unwrap();
    let id = workspace(dir.path());
    let app = app(dir.path());
    let (cookie, csrf) = login(&app).await;
    let (status, _, body) = send(&app, get("/findings", Some(&cookie))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains("name=\"return\" value=\"/findings\""),
        "{body}"
    );
    let key = body
        .split(&format!("action=\"/customers/{id}/finding-ack\""))
        .nth(1)
        .and_then(|rest| rest.split("name=\"key\" value=\"").nth(1))
        .and_then(|rest| rest.split('"').next())
        .expect("a finding about the file with its forms")
        .to_string();
    let form = [
        ("_csrf", csrf.as_str()),
        ("key", key.as_str()),
        ("note", "周五前补齐"),
        ("return", "/findings"),
    ];
    let ack = format!("/customers/{id}/finding-ack");
    let (status, headers, _) = send(&app, post(&ack, &cookie, &form)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/findings");
    // Somewhere else than this server: back to the file instead.
    let form = [
        ("_csrf", csrf.as_str()),
        ("key", key.as_str()),
        ("note", "再确认"),
        ("return", "//evil.example/"),
    ];
    let (_, headers, _) = send(&app, post(&ack, &cookie, &form)).await;
    assert_eq!(
        headers[header::LOCATION],
        format!("/customers/{id}#main").as_str()
    );
}

/// A relay in this process on loopback, holding `home`'s workspace; its `ws://` URL, and
/// the sender that stops it.
async fn office_relay(home: &Path, data: &Path) -> (String, tokio::sync::oneshot::Sender<()>) {
    let ws = Workspace::open(home).unwrap();
    fieldcrm_relay::Relay::init(data, ws.workspace_id(), ws.device()).unwrap();
    let mut config = fieldcrm_relay::Config::default();
    config.http_listen = "127.0.0.1:0".parse().unwrap();
    config.iroh_listen = None;
    config.data_dir = data.to_path_buf();
    let relay = fieldcrm_relay::Relay::open(config).unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (bound_tx, bound_rx) = tokio::sync::oneshot::channel();
    tokio::spawn(fieldcrm_relay::run(
        relay,
        async {
            let _ = stopped.await;
        },
        move |b| {
            let _ = bound_tx.send(b.http);
        },
    ));
    let url = format!("ws://{}", bound_rx.await.unwrap());
    fieldcrm_connect::add_remote(&ws, "office", &url).unwrap();
    fieldcrm_connect::sync_relay(&ws, &url, NOW, &mut fieldcrm_connect::NoProgress)
        .await
        .unwrap();
    (url, stop)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_invites_a_device_and_a_rep_cannot() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("admin");
    workspace(&home);
    let (url, _stop) = office_relay(&home, &dir.path().join("relay-data")).await;
    let app = app(&home);
    let (cookie, csrf) = login(&app).await;
    let (status, _, body) = send(&app, get("/invite", Some(&cookie))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("id=\"invite-form\""), "{body}");
    assert!(
        body.contains("href=\"/invite\""),
        "the nav offers it to admins"
    );

    let form = [
        ("_csrf", csrf.as_str()),
        ("name", "张三"),
        ("role", "rep"),
        ("team", "华东"),
        ("user", ""),
        ("valid", "72h"),
    ];
    let (status, _, body) = send(&app, post("/invite", &cookie, &form)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let code = body
        .split("id=\"invite-code\">")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .unwrap();
    assert!(fieldcrm_model::InviteCode::parse(code).is_ok(), "{code}");
    assert!(
        body.contains(&format!("fieldcrm://join?relay={url}&amp;code={code}")),
        "{body}"
    );
    assert!(body.contains("<svg"), "the QR code is inline");
    // A refusal stays beside its field, with what was typed.
    let bad = [
        ("_csrf", csrf.as_str()),
        ("name", "李四"),
        ("role", "rep"),
        ("valid", "forever"),
    ];
    let (status, _, body) = send(&app, post("/invite", &cookie, &bad)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("id=\"invite-valid-error\""), "{body}");
    assert!(body.contains("value=\"李四\""), "{body}");

    // A rep's app neither shows nor takes the form.
    let rep_home = dir.path().join("rep");
    Workspace::init(
        &rep_home,
        &InitOptions {
            user: "小张".into(),
            role: Role::Rep,
            team: None,
            region: None,
            company: "示例".into(),
            device_label: "t".into(),
        },
        NOW,
    )
    .unwrap();
    let rep_app = app_at(&rep_home);
    let (cookie, csrf) = login(&rep_app).await;
    let (status, _, body) = send(&rep_app, get("/", Some(&cookie))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!body.contains("href=\"/invite\""), "{body}");
    let (status, _, _) = send(&rep_app, get("/invite", Some(&cookie))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, body) = send(&rep_app, post("/invite", &cookie, &form_for(&csrf))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(!body.contains("invite-code"), "{body}");
}

fn form_for(csrf: &str) -> Vec<(&str, &str)> {
    vec![("_csrf", csrf), ("name", "内鬼"), ("role", "admin")]
}

fn app_at(dir: &Path) -> Router {
    crate::router(dir.to_path_buf(), SECRET.into(), PORT, Some(NOW))
}

#[tokio::test]
async fn channel_forms_save_refuse_beside_the_field_and_need_the_csrf_token() {
    let dir = tempfile::tempdir().unwrap();
    workspace(dir.path());
    let app = app(dir.path());
    let (cookie, csrf) = login(&app).await;
    let add = [
        ("_csrf", csrf.as_str()),
        ("name", "苏州远景电子"),
        ("kind", "dealer"),
        ("region", "华东"),
        ("lines", "sensors、motors"),
    ];
    let (status, headers, _) = send(&app, post("/channels", &cookie, &add)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let file = headers[header::LOCATION]
        .to_str()
        .unwrap()
        .trim_end_matches("#main")
        .to_string();
    assert!(file.starts_with("/channels/"), "{file}");
    // An admin holds every channel authority: every form is there, each input labelled.
    let (status, _, body) = send(&app, get(&file, Some(&cookie))).await;
    assert_eq!(status, StatusCode::OK);
    for form in [
        "comm",
        "train",
        "assess",
        "price",
        "review",
        "risk",
        "agreement",
        "status",
        "terr",
        "archive",
    ] {
        assert!(
            body.contains(&format!("id=\"{form}-form\"")),
            "{form}: {body}"
        );
    }
    assert!(body.contains("motors、sensors"), "both lines: {body}");
    assert!(body.contains("<label for=\"assess-score\">"), "{body}");

    // A score out of range: the page again with the error beside the field, in Chinese.
    let bad = [
        ("_csrf", csrf.as_str()),
        ("period", "2026-Q4"),
        ("score", "120"),
    ];
    let (status, _, body) = send(&app, post(&format!("{file}/assessments"), &cookie, &bad)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body.contains("id=\"assess-score-error\" role=\"alert\">“120”应为 0 到 100 之间的整数"),
        "{body}"
    );
    // An agreement that ends before it starts.
    let bad = [
        ("_csrf", csrf.as_str()),
        ("rights", "区域独家"),
        ("responsibilities", "年度销量"),
        ("plan", "季度推广"),
        ("from", "2026-12-01"),
        ("to", "2026-01-01"),
    ];
    let (status, _, body) = send(&app, post(&format!("{file}/agreement"), &cookie, &bad)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body.contains("id=\"agr-to-error\" role=\"alert\">结束日期必须晚于开始日期"),
        "{body}"
    );

    // No CSRF token, no change.
    let talk = [("summary", "季度沟通会")];
    let (status, _, _) = send(
        &app,
        post(&format!("{file}/communications"), &cookie, &talk),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, _, body) = send(&app, get(&file, Some(&cookie))).await;
    assert!(!body.contains("季度沟通会"));

    // Saved, removed with a reason, restored.
    let talk = [("_csrf", csrf.as_str()), ("summary", "季度沟通会")];
    let (status, _, _) = send(
        &app,
        post(&format!("{file}/communications"), &cookie, &talk),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, _, body) = send(&app, get(&file, Some(&cookie))).await;
    let entity = body
        .split("/communications/")
        .nth(1)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let why = [("_csrf", csrf.as_str()), ("reason", "录错了")];
    let remove = format!("{file}/communications/{entity}/remove");
    let (status, _, _) = send(&app, post(&remove, &cookie, &why)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, _, body) = send(&app, get(&file, Some(&cookie))).await;
    assert!(body.contains("id=\"removed\""), "{body}");
    assert!(
        body.contains("<s>季度沟通会</s>") && body.contains("录错了"),
        "{body}"
    );
    // Removing it again is refused; its form is gone, so the message is on top.
    let (status, _, body) = send(&app, post(&remove, &cookie, &why)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("flash flash-error"), "{body}");
    let restore = format!("{file}/communications/{entity}/restore");
    let (status, _, _) = send(&app, post(&restore, &cookie, &[("_csrf", csrf.as_str())])).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, _, body) = send(&app, get(&file, Some(&cookie))).await;
    assert!(
        !body.contains("id=\"removed\"") && body.contains("季度沟通会"),
        "{body}"
    );

    // Archived: out of the list, shown under 已归档, restorable.
    let archive = [("_csrf", csrf.as_str()), ("reason", "重复录入")];
    let (status, _, _) = send(&app, post(&format!("{file}/archive"), &cookie, &archive)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, _, body) = send(&app, get("/channels", Some(&cookie))).await;
    assert!(body.contains("id=\"archived-channels\""), "{body}");
    let (_, _, body) = send(&app, get(&file, Some(&cookie))).await;
    assert!(
        body.contains("id=\"channel-restore\"") && !body.contains("id=\"comm-form\""),
        "{body}"
    );
    let (status, _, _) = send(
        &app,
        post(
            &format!("{file}/restore"),
            &cookie,
            &[("_csrf", csrf.as_str())],
        ),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, _, body) = send(&app, get("/channels", Some(&cookie))).await;
    assert!(!body.contains("id=\"archived-channels\""), "{body}");
}
