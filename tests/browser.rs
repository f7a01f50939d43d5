//! The field app (`fieldcrm app`) in a real browser: headless Chromium driven through
//! `chromedriver` (WebDriver, the fantoccini client), against real `fieldcrm app`
//! processes, a real `fieldcrm-relay` and real workspaces, all on loopback.
//!
//! The workspace, the relay, the devices, enrollment, the catalog and the price allowance
//! are set up with the CLI as in `relay.rs`; only what a user does in the app is done in the
//! browser.
//!
//! Needs `chromedriver` and `chromium` on PATH (Debian: `apt-get install chromium
//! chromium-driver`; `.ci/run` installs them). Without them these tests fail, saying so;
//! `FIELDCRM_SKIP_BROWSER=1` skips them on a developer's machine. `FIELDCRM_SCREENSHOTS=1`
//! (re)writes `docs/screenshots/*.png`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;

use fantoccini::Client;
use serde_json::json;

use crate::browser_kit::*;
use crate::support::Rep;

// ---------------------------------------------------------------------------------------
// The story the tests share.

/// An office with a relay, a manager 王经理 and a rep 小张 in 华东一组, the catalog (P-100
/// at 1000 list, 800 floor) and a 10% rep allowance; customers of 小张 on both devices.
struct Story {
    office: Office,
    mgr: Rep,
    rep: Rep,
}

impl Story {
    fn new() -> Story {
        let office = Office::new();
        let admin = &office.admin;
        crate::support::add_sensor_product(admin);
        admin.ok(&[
            "catalog",
            "add",
            "P-200",
            "--name",
            "伺服电机",
            "--line",
            "motors",
            "--list-price",
            "2600",
            "--floor-price",
            "2000",
        ]);
        admin.ok(&["price-policy", "set", "--role", "rep", "--allowance", "10%"]);
        let mgr = office.device("王经理", "manager", "华东一组");
        let rep = office.device("小张", "rep", "华东一组");
        for (name, city, class) in [
            ("华东机电有限公司", "上海市浦东新区张江路 88 号", "key"),
            (
                "苏州恒通精密机械有限公司",
                "苏州工业园区星湖街 328 号",
                "general",
            ),
            (
                "杭州鑫源自动化科技有限公司",
                "杭州市滨江区江南大道 1000 号",
                "potential",
            ),
        ] {
            rep.ok(&[
                "customer",
                "add",
                name,
                "--class",
                class,
                "--industry",
                "制造业",
                "--region",
                "华东",
                "--address",
                city,
            ]);
        }
        rep.ok(&[
            "contact",
            "add",
            "华东机电有限公司",
            "张伟",
            "--phone",
            "13800000001",
            "--title",
            "采购经理",
        ]);
        rep.ok(&[
            "interaction",
            "log",
            "华东机电有限公司",
            "--kind",
            "visit",
            "--summary",
            "介绍新款传感器，客户关注交期",
            "--at",
            "2026-11-20T10:00",
        ]);
        rep.ok(&["sync"]);
        mgr.ok(&["sync"]);
        Story { office, mgr, rep }
    }

    /// A 15%-off quote by the rep, synced to the manager (CLI).
    fn quote_needing_approval(&self) {
        self.rep.ok(&[
            "quote",
            "add",
            "华东机电有限公司",
            "--product",
            "P-100",
            "--price",
            "850",
            "--quantity",
            "20",
        ]);
        self.rep.ok(&["sync"]);
        self.mgr.ok(&["sync"]);
    }
}

fn page_text_has_discount_finding(text: &str) -> bool {
    text.contains("PRICE-DISCOUNT")
}

// ---------------------------------------------------------------------------------------
// a. Offline visit and quote by a rep, approval by the manager, both through the relay.

#[test]
fn a_rep_quotes_offline_the_manager_approves_in_the_app_after_sync() {
    if skip_browser() {
        return;
    }
    let story = Story::new();
    let (rep, mgr) = (&story.rep, &story.mgr);
    let customer = full_id(rep, "华东机电有限公司");
    // The relay is down while the rep works: offline.
    let driver = Chromedriver::start();
    let rep_app = App::start(rep);
    let mgr_app = App::start(mgr);
    bounded(async {
        let rc = driver.session(1280, 900).await;
        let mc = driver.session(1280, 900).await;
        login(&rc, &rep_app).await;
        login(&mc, &mgr_app).await;

        // The rep logs a visit and quotes 850 against a list price of 1000 (15% off).
        goto(&rc, &rep_app, &format!("/customers/{customer}")).await;
        set_field(&rc, "#visit-form", "kind", "拜访").await;
        set_field(&rc, "#visit-form", "at", "2026-11-28T15:00").await;
        set_field(&rc, "#visit-form", "summary", "现场演示，客户要求报价").await;
        click_and_load(&rc, "#visit-save").await;
        wait_for(
            &rc,
            "the saved visit",
            "document.body.innerText.includes('现场演示，客户要求报价')",
        )
        .await;

        set_field(&rc, "#quote-form", "product", "P-100").await;
        type_into(&rc, "#quote-form [name=quantity]", "20").await;
        type_into(&rc, "#quote-form [name=price]", "850").await;
        wait_for(
            &rc,
            "the live discount readout",
            "document.querySelector('output#quote-discount').innerText.includes('15')",
        )
        .await;
        let needs = js(
            &rc,
            "const e = document.querySelector('#quote-needs-approval'); return !!e && e.offsetParent !== null;",
            vec![],
        )
        .await;
        assert_eq!(
            needs,
            json!(true),
            "a 15% discount over a 10% allowance needs approval"
        );
        js(&rc, "window.__fieldcrm_old_page = true; document.querySelector('#quote-form').requestSubmit();", vec![]).await;
        wait_for(
            &rc,
            "the page after saving the quote",
            "!window.__fieldcrm_old_page && document.readyState === 'complete'",
        )
        .await;
        let saved = customer_json(rep, &customer);
        let quotes = saved["quotes"].as_object().expect("quotes");
        assert_eq!(
            quotes.len(),
            1,
            "the quote is saved; the page says:\n{}",
            body_text(&rc).await
        );

        // The rep syncs from the Sync page; the manager's app syncs too.
        sync_in_app(&rc, &rep_app).await;
        sync_in_app(&mc, &mgr_app).await;

        // The manager sees it in the approval inbox and on the findings page.
        goto(&mc, &mgr_app, "/findings").await;
        assert!(
            page_text_has_discount_finding(&mc.source().await.unwrap()),
            "PRICE-DISCOUNT on the manager's findings before approval:\n{}",
            body_text(&mc).await
        );
        goto(&mc, &mgr_app, "/inbox").await;
        wait_for(&mc, "the quote in the inbox", "[...document.querySelectorAll('.inbox-item')].some(e => e.innerText.includes('华东机电有限公司'))").await;
        js(
            &mc,
            "window.__fieldcrm_old_page = true; [...document.querySelectorAll('.inbox-item')].find(e => e.innerText.includes('华东机电有限公司')).querySelector('.approve').click();",
            vec![],
        )
        .await;
        wait_for(
            &mc,
            "the page after approving",
            "!window.__fieldcrm_old_page && document.readyState === 'complete'",
        )
        .await;
        sync_in_app(&mc, &mgr_app).await;

        // The rep syncs again: approved, and the finding is gone everywhere.
        sync_in_app(&rc, &rep_app).await;
        goto(&rc, &rep_app, &format!("/customers/{customer}")).await;
        let page = body_text(&rc).await;
        assert!(
            page.contains("已批准"),
            "approved on the rep's customer page:\n{page}"
        );
        assert!(
            !page_text_has_discount_finding(&rc.source().await.unwrap()),
            "no PRICE-DISCOUNT on the rep's customer page:\n{page}"
        );
        goto(&mc, &mgr_app, "/findings").await;
        assert!(
            !page_text_has_discount_finding(&mc.source().await.unwrap()),
            "no PRICE-DISCOUNT on the manager's findings after approval:\n{}",
            body_text(&mc).await
        );
        rc.close().await.unwrap();
        mc.close().await.unwrap();
    });
    let q = customer_json(mgr, &customer);
    assert!(q.to_string().contains("approval"), "{q}");
}

// ---------------------------------------------------------------------------------------
// b. Search by pinyin initials; a bad date is refused beside the field.

#[test]
fn search_by_initials_and_a_bad_visit_date_is_refused_beside_the_field() {
    if skip_browser() {
        return;
    }
    let rep = crate::support::admin_with_team();
    for name in ["华东机电有限公司", "华南电子贸易有限公司", "东华纺织集团"]
    {
        rep.ok(&["customer", "add", name, "--class", "general"]);
    }
    let customer = full_id(&rep, "华东机电有限公司");
    let before = customer_json(&rep, &customer);
    let driver = Chromedriver::start();
    let app = App::start(&rep);
    bounded(async {
        let c = driver.session(1280, 900).await;
        login(&c, &app).await;
        goto(&c, &app, "/customers").await;
        type_into(&c, "#search", "hdjd").await;
        // The list shows every customer first; the live search narrows it as one types.
        wait_for(
            &c,
            "only 华东机电 in the results",
            "(() => { const t = [...document.querySelectorAll('#results a.customer-link')].map(a => a.innerText); \
             return t.length === 1 && t[0].includes('华东机电有限公司'); })()",
        )
        .await;

        goto(&c, &app, &format!("/customers/{customer}")).await;
        js(
            &c,
            "document.querySelector('#visit-form').noValidate = true;",
            vec![],
        )
        .await;
        set_field(&c, "#visit-form", "kind", "拜访").await;
        set_field(&c, "#visit-form", "at", "2026-13-45").await;
        set_field(&c, "#visit-form", "summary", "不应保存的拜访").await;
        click_and_load(&c, "#visit-save").await;
        wait_for(
            &c,
            "#at-error",
            "!!document.querySelector('p.field-error#at-error')",
        )
        .await;
        let err = text_of(&c, "#at-error").await.unwrap_or_default();
        assert!(
            err.chars()
                .any(|ch| ('\u{4e00}'..='\u{9fff}').contains(&ch)),
            "the error beside the date is in Chinese: {err:?}"
        );
        // What the user typed is kept.
        let kept = js(
            &c,
            "return document.querySelector('#visit-form [name=summary]').value;",
            vec![],
        )
        .await;
        assert_eq!(kept, json!("不应保存的拜访"));
        c.close().await.unwrap();
    });
    let after = customer_json(&rep, &customer);
    assert_eq!(before, after, "nothing was saved");
}

// ---------------------------------------------------------------------------------------
// c. The launch secret and the CSRF token (a plain HTTP client, no browser).

/// One HTTP/1.1 exchange over a fresh connection: (status, headers+body text).
fn http(
    app: &App,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    let mut s = TcpStream::connect(app.host()).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
        app.host(),
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    let mut bytes = Vec::new();
    s.read_to_end(&mut bytes).unwrap();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP status in {text:?}"));
    (status, text)
}

#[test]
fn no_launch_secret_no_page_and_no_csrf_token_no_post() {
    let rep = crate::support::admin_with_team();
    rep.ok(&["customer", "add", "华东机电有限公司", "--class", "general"]);
    let customer = full_id(&rep, "华东机电有限公司");
    let before = customer_json(&rep, &customer);
    let app = App::start(&rep);

    // No session: every page is refused, and a wrong secret buys none.
    for path in [
        "/",
        "/customers",
        &format!("/customers/{customer}"),
        "/inbox",
        "/sync",
    ] {
        let (status, _) = http(&app, "GET", path, &[], "");
        assert_eq!(status, 403, "GET {path} without the launch secret");
    }
    let (status, text) = http(&app, "GET", "/login?k=0123456789abcdef", &[], "");
    assert_eq!(status, 403, "a wrong secret: {text}");
    assert!(
        !text
            .to_ascii_lowercase()
            .contains("set-cookie: fieldcrm_app"),
        "{text}"
    );

    // The right secret buys a session cookie.
    let path = app.login.trim_start_matches(&app.base).to_string();
    let (status, text) = http(&app, "GET", &path, &[], "");
    assert!((300..400).contains(&status), "login redirects: {text}");
    let cookie = text
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("set-cookie")
                .then(|| v.trim().split(';').next().unwrap_or_default().to_string())
                .filter(|c| c.starts_with("fieldcrm_app="))
        })
        .unwrap_or_else(|| panic!("no session cookie: {text}"));
    let (status, _) = http(&app, "GET", "/customers", &[("Cookie", &cookie)], "");
    assert_eq!(status, 200, "with the session cookie");

    // A POST without the CSRF token, or with a wrong one, is refused and changes nothing.
    let form = [
        ("Cookie", cookie.as_str()),
        ("Content-Type", "application/x-www-form-urlencoded"),
    ];
    let visit = "kind=visit&at=2026-11-28T15%3A00&summary=%E4%BC%AA%E9%80%A0";
    let (status, _) = http(
        &app,
        "POST",
        &format!("/customers/{customer}/visit"),
        &form,
        visit,
    );
    assert_eq!(status, 403, "a visit POST without the CSRF token");
    let (status, _) = http(
        &app,
        "POST",
        &format!("/customers/{customer}/visit"),
        &form,
        &format!("_csrf=00ff&{visit}"),
    );
    assert_eq!(status, 403, "a visit POST with a wrong CSRF token");
    let (status, _) = http(&app, "POST", "/sync", &form, "");
    assert_eq!(status, 403, "a sync POST without the CSRF token");
    // Without a session, even with a token-shaped field.
    let (status, _) = http(
        &app,
        "POST",
        &format!("/customers/{customer}/visit"),
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &format!("_csrf=00ff&{visit}"),
    );
    assert_eq!(status, 403, "a POST without a session");
    assert_eq!(customer_json(&rep, &customer), before, "nothing was saved");
}

// ---------------------------------------------------------------------------------------
// d. No horizontal scrolling on a phone or a desktop.

#[test]
fn pages_fit_a_phone_and_a_desktop_without_horizontal_scrolling() {
    if skip_browser() {
        return;
    }
    let story = Story::new();
    story.quote_needing_approval();
    let customer = full_id(&story.mgr, "华东机电有限公司");
    let driver = Chromedriver::start();
    let app = App::start(&story.mgr);
    bounded(async {
        for (w, h) in [(375, 812), (1280, 900)] {
            let c = driver.session(w, h).await;
            login(&c, &app).await;
            for path in [
                "/",
                "/customers",
                &format!("/customers/{customer}"),
                "/inbox",
            ] {
                goto(&c, &app, path).await;
                let m = js(
                    &c,
                    "return [document.documentElement.scrollWidth, window.innerWidth];",
                    vec![],
                )
                .await;
                let (sw, iw) = (m[0].as_i64().unwrap(), m[1].as_i64().unwrap());
                assert_eq!(iw, i64::from(w), "viewport of {path} at {w}px");
                assert!(
                    sw <= iw,
                    "{path} scrolls sideways at {w}px: scrollWidth {sw} > {iw}"
                );
            }
            c.close().await.unwrap();
        }
    });
}

// ---------------------------------------------------------------------------------------
// e. Screenshots for the README (only with FIELDCRM_SCREENSHOTS=1).

#[test]
fn screenshots_for_the_readme() {
    if std::env::var("FIELDCRM_SCREENSHOTS").map_or(true, |v| v != "1") {
        eprintln!("set FIELDCRM_SCREENSHOTS=1 to write docs/screenshots/*.png");
        return;
    }
    if skip_browser() {
        return;
    }
    let story = Story::new();
    let (rep, mgr) = (&story.rep, &story.mgr);
    rep.ok(&[
        "interaction",
        "log",
        "苏州恒通精密机械有限公司",
        "--kind",
        "call",
        "--summary",
        "电话确认下季度采购计划",
        "--at",
        "2026-11-27T16:30",
    ]);
    rep.ok(&[
        "complaint",
        "open",
        "华东机电有限公司",
        "--severity",
        "major",
        "--summary",
        "第二批传感器交货延迟一周",
    ]);
    rep.ok(&[
        "opportunity",
        "add",
        "华东机电有限公司",
        "2027 年产线升级",
        "--amount",
        "1,200,000",
    ]);
    story.quote_needing_approval();
    let customer = full_id(mgr, "华东机电有限公司");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let driver = Chromedriver::start();
    let rep_app = App::start(rep);
    let mgr_app = App::start(mgr);
    bounded(async {
        for (w, h) in [(375, 812), (1280, 900)] {
            let rc = driver.session(w, h).await;
            let mc = driver.session(w, h).await;
            login(&rc, &rep_app).await;
            login(&mc, &mgr_app).await;
            let shots: [(&Client, &App, String, &str); 4] = [
                (&rc, &rep_app, "/".to_string(), "today"),
                (&rc, &rep_app, format!("/customers/{customer}"), "customer"),
                (&mc, &mgr_app, "/inbox".to_string(), "inbox"),
                (&mc, &mgr_app, "/findings".to_string(), "findings"),
            ];
            for (c, app, path, name) in shots {
                goto(c, app, &path).await;
                let png = c.screenshot().await.unwrap();
                std::fs::write(dir.join(format!("{name}-{w}.png")), png).unwrap();
            }
            rc.close().await.unwrap();
            mc.close().await.unwrap();
        }
    });
    let _ = &story.office.admin;
}

// ---------------------------------------------------------------------------------------
// The harness itself.

#[test]
fn the_harness_drives_headless_chromium_at_phone_and_desktop_widths() {
    if skip_browser() {
        return;
    }
    let driver = Chromedriver::start();
    bounded(async {
        for (w, h) in [(375, 812), (1280, 900)] {
            let c = driver.session(w, h).await;
            c.goto("data:text/html;charset=utf-8,<meta name=viewport content='width=device-width'><main id=main>华东机电</main>")
                .await
                .unwrap();
            let m = js(
                &c,
                "return [window.innerWidth, document.querySelector('#main').innerText];",
                vec![],
            )
            .await;
            assert_eq!(m, json!([w, "华东机电"]));
            c.close().await.unwrap();
        }
    });
}
