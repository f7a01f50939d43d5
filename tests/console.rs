//! The relay's office console (`/admin`) in headless Chromium, against a real
//! `fieldcrm-relay` and real devices on loopback: a manager signs in with a link made by
//! `fieldcrm office-login`; the link works once and expires; without a session every page
//! is refused; the devices page shows a device that never synced and one that last synced
//! nine days ago, with their ages; the audit log shows an enrolment, a revocation and the
//! sign-in, and exports as CSV.

use std::io::{Read, Write};

use serde_json::json;

use crate::browser_kit::*;
use crate::support::device_key;

#[test]
fn the_office_console_signs_in_once_and_shows_devices_activity_and_the_audit_log() {
    if skip_browser() {
        return;
    }
    let mut office = Office::new();
    let admin = &office.admin;
    let mgr = office.device("王经理", "manager", "华东一组");
    let rep = office.device("小张", "rep", "华东一组");
    rep.ok(&["customer", "add", "华东机电有限公司", "--class", "key"]);
    rep.ok(&["sync"]);

    // 小李's device: enrolled, and (as the relay's events file says) last synced nine days
    // ago. 小王's device: enrolled, never synced.
    let old = crate::support::Rep::at(&office.root.join("dev-小李"));
    old.ok(&["join", &office.relay.url]);
    admin.ok(&["user", "add", "小李", "--role", "rep", "--team", "华东一组"]);
    admin.ok(&["device", "add", &device_key(&old), "--user", "小李"]);
    let never = crate::support::Rep::at(&office.root.join("dev-小王"));
    never.ok(&["join", &office.relay.url]);
    admin.ok(&["user", "add", "小王", "--role", "rep", "--team", "华东一组"]);
    admin.ok(&["device", "add", &device_key(&never), "--user", "小王"]);
    // 小赵's device joins with an invitation, syncs, and is then revoked.
    let inv = admin
        .run(&[
            "invite",
            "--name",
            "小赵",
            "--role",
            "rep",
            "--team",
            "华东二组",
            "--json",
        ])
        .json();
    let gone = crate::support::Rep::at(&office.root.join("dev-小赵"));
    gone.ok(&[
        "join",
        "--invite",
        inv["code"].as_str().unwrap(),
        "--relay",
        &office.relay.url,
    ]);
    gone.ok(&["sync"]);
    admin.ok(&["sync"]);
    admin.ok(&["device", "revoke", &device_key(&gone)]);
    admin.ok(&["sync"]);

    let nine_days_ago = jiff::Timestamp::now().as_millisecond() - 9 * 86_400_000 - 3_600_000;
    let line = json!({
        "at_ms": nine_days_ago,
        "kind": "sync",
        "device": device_key(&old),
        "user": "小李",
        "address": "10.0.0.9:50000",
        "version": "0.1.0",
        "transport": "ws",
    });
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(office.relay_data().join("events.jsonl"))
        .unwrap();
    writeln!(f, "{line}").unwrap();
    drop(f);
    office.restart_relay();

    // A rep gets no link; the manager does.
    rep.run(&["--lang", "zh", "office-login"])
        .fails_with("只有管理员和经理可以登录办公室控制台");
    rep.run(&["office-login"])
        .fails_with("only admins and managers may sign in to the office console");
    let link = mgr.ok(&["office-login"]).trim().to_string();
    assert!(
        link.starts_with(&office.relay.url.replace("ws://", "http://")),
        "{link}"
    );
    let expired = {
        let t = link
            .split('&')
            .find_map(|p| p.strip_prefix("t="))
            .unwrap()
            .to_string();
        let earlier = t.parse::<i64>().unwrap() - 6 * 60_000;
        link.replace(&format!("t={t}"), &format!("t={earlier}"))
    };
    let base = office.relay.url.replace("ws://", "http://");

    let app = App::start(&mgr);
    let driver = Chromedriver::start();
    bounded(async {
        let c = driver.session(1280, 900).await;
        // No session: refused.
        c.goto(&format!("{base}/admin/devices")).await.unwrap();
        wait_css(&c, ".error-card").await;
        assert!(body_text(&c).await.contains("请先用登录链接登录"));

        // An expired link is refused, saying so.
        c.goto(&expired).await.unwrap();
        wait_css(&c, ".error-card").await;
        assert!(
            body_text(&c).await.contains("已过期"),
            "{}",
            body_text(&c).await
        );

        // The link: a page with one button, then the devices page.
        c.goto(&link).await.unwrap();
        wait_css(&c, "#sign-in").await;
        assert!(body_text(&c).await.contains("王经理"));
        click_and_load(&c, "#sign-in").await;
        wait_css(&c, "#devices").await;
        let rows = js(
            &c,
            "return [...document.querySelectorAll('#devices tbody tr')].map(r => r.innerText);",
            vec![],
        )
        .await;
        let rows: Vec<String> = rows
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap().to_string())
            .collect();
        assert_eq!(rows.len(), 6, "{rows:#?}");
        assert!(
            rows[0].contains("小王") && rows[0].contains("从未同步"),
            "{rows:#?}"
        );
        // What waits for 小王: the documents others delivered that a rep of 华东一组 may
        // read (the roster, catalog, policy, sales documents; not 小张's customer).
        let waiting: u64 = js(
            &c,
            "return document.querySelector('#devices tbody tr td.waiting').innerText;",
            vec![],
        )
        .await
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
        assert!(waiting >= 1, "{rows:#?}");
        assert!(
            rows[1].contains("小李") && rows[1].contains("9 天前") && rows[1].contains("10.0.0.9"),
            "{rows:#?}"
        );
        assert!(
            rows[5].contains("小赵") && rows[5].contains("已吊销"),
            "{rows:#?}"
        );
        assert!(
            rows.iter()
                .any(|r| r.contains("王经理") && (r.contains("刚刚") || r.contains("分钟前"))),
            "{rows:#?}"
        );
        assert_eq!(text_of(&c, "#stale-count").await.as_deref(), Some("2"));

        // Activity: the syncs of the setup, in three charts.
        c.goto(&format!("{base}/admin/activity")).await.unwrap();
        wait_css(&c, "#sync-total").await;
        let syncs: u64 = text_of(&c, "#sync-total").await.unwrap().parse().unwrap();
        assert!(syncs >= 6, "{syncs} syncs");
        let charts = js(
            &c,
            "return document.querySelectorAll('svg.chart').length;",
            vec![],
        )
        .await;
        assert_eq!(charts, json!(3));
        screenshot(&c, "console-activity-1280.png").await;

        // Findings: the page renders the merged state's open findings.
        c.goto(&format!("{base}/admin/findings")).await.unwrap();
        wait_css(&c, "#findings-total").await;

        // The audit log: enrolments, the revocation (by the admin's device), the sign-in.
        c.goto(&format!("{base}/admin/audit")).await.unwrap();
        wait_css(&c, "#audit-csv").await;
        let text = body_text(&c).await;
        for needle in ["登记设备", "吊销设备", "登录控制台", "创建邀请", "使用邀请"]
        {
            assert!(text.contains(needle), "{needle} missing from:\n{text}");
        }
        // The export, with the browser's (HttpOnly) session cookie, over plain HTTP.
        let cookie = c.get_named_cookie("fieldcrm_console").await.unwrap();
        let csv = http_get(
            &base,
            "/admin/audit.csv",
            &format!("fieldcrm_console={}", cookie.value()),
        );
        let csv = csv.as_str();
        assert!(csv.starts_with('\u{feff}'));
        assert!(
            csv.contains("\"revoked\"") && csv.contains("\"login\""),
            "{csv}"
        );

        // English, from the switch.
        c.goto(&format!("{base}/admin/devices?lang=en"))
            .await
            .unwrap();
        wait_for(&c, "English", "document.documentElement.lang === 'en'").await;
        assert!(body_text(&c).await.contains("Longest without a sync first"));

        // The same link in another browser: it worked once.
        let other = driver.session(375, 812).await;
        other.goto(&link).await.unwrap();
        wait_css(&other, "#sign-in").await;
        click_and_load(&other, "#sign-in").await;
        assert!(
            body_text(&other).await.contains("只能使用一次"),
            "{}",
            body_text(&other).await
        );
        other.goto(&format!("{base}/admin/audit")).await.unwrap();
        wait_css(&other, ".error-card").await;

        // The manager's app makes a fresh link from its Sync page.
        login(&other, &app).await;
        goto(&other, &app, "/sync").await;
        click_and_load(&other, "#console-login").await;
        let href = js(
            &other,
            "return document.querySelector('#console-link').href;",
            vec![],
        )
        .await;
        other.goto(href.as_str().unwrap()).await.unwrap();
        wait_css(&other, "#sign-in").await;
        click_and_load(&other, "#sign-in").await;
        wait_css(&other, "#devices").await;
        screenshot(&other, "console-devices-375.png").await;
        other.goto(&format!("{base}/admin/audit")).await.unwrap();
        wait_css(&other, "#audit-csv").await;
        screenshot(&other, "console-audit-375.png").await;
        other.goto(&format!("{base}/admin/activity")).await.unwrap();
        wait_css(&other, "#sync-total").await;
        screenshot(&other, "console-activity-375.png").await;

        // Signing out ends the session.
        c.goto(&format!("{base}/admin/devices")).await.unwrap();
        wait_css(&c, "#devices").await;
        screenshot(&c, "console-devices-1280.png").await;
        click_and_load(&c, ".topbar form button").await;
        c.goto(&format!("{base}/admin/devices")).await.unwrap();
        wait_css(&c, ".error-card").await;
        c.close().await.unwrap();
        other.close().await.unwrap();
    });
    drop(never);
}

/// GET `path` from `base` (http://host:port) with a cookie; the body.
fn http_get(base: &str, path: &str, cookie: &str) -> String {
    let host = base.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(host).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    body.to_string()
}

/// Wait until an element matching `css` is on the page.
async fn wait_css(c: &fantoccini::Client, css: &str) {
    wait_for(c, css, &format!("!!document.querySelector('{css}')")).await;
}

/// The admin's 邀请 page in the app, in a real browser at phone and desktop widths: the
/// form makes an invitation the relay holds, the page shows the code, the link and a QR
/// code that fits the screen, and a new device joins with the code it shows.
#[test]
fn the_admins_invite_page_shows_a_code_link_and_qr_that_fit_a_phone() {
    if skip_browser() {
        return;
    }
    let office = Office::new();
    let app = App::start(&office.admin);
    let driver = Chromedriver::start();
    let codes = bounded_codes(&driver, &app);
    // The code the page showed works once.
    let dev = crate::support::Rep::at(&office.root.join("dev-invited"));
    let out = dev.ok(&["join", "--invite", &codes[0], "--relay", &office.relay.url]);
    assert!(out.contains("小周"), "{out}");
}

fn bounded_codes(driver: &Chromedriver, app: &App) -> Vec<String> {
    let mut codes = Vec::new();
    bounded(async {
        for (w, h, name) in [(375, 812, "小周"), (1280, 900, "小吴")] {
            let c = driver.session(w, h).await;
            login(&c, app).await;
            goto(&c, app, "/invite").await;
            set_field(&c, "#invite-form", "name", name).await;
            set_field(&c, "#invite-form", "team", "华东一组").await;
            click_and_load(&c, "#invite-create").await;
            wait_css(&c, "#invite-qr svg").await;
            let code = text_of(&c, "#invite-code").await.unwrap();
            assert_eq!(code.chars().count(), 9, "{code}");
            let link = text_of(&c, "#invite-link").await.unwrap();
            assert!(link.contains(&code), "{link}");
            let fits = js(
                &c,
                "return document.documentElement.scrollWidth <= window.innerWidth + 1;",
                vec![],
            )
            .await;
            assert_eq!(fits, json!(true), "horizontal scroll at {w} px");
            screenshot(&c, &format!("invite-{w}.png")).await;
            codes.push(code);
            // The Sync page's console button makes a sign-in link for the relay.
            goto(&c, app, "/sync").await;
            click_and_load(&c, "#console-login").await;
            wait_css(&c, "#console-link").await;
            screenshot(&c, &format!("sync-console-{w}.png")).await;
            c.close().await.unwrap();
        }
    });
    codes
}
