//! The channel pages and the Sync page's count of changes waiting to go, in a real
//! browser (headless Chromium through `chromedriver`) against real `fieldcrm app`
//! processes and a real `fieldcrm-relay` on loopback (see `browser_kit.rs`).
//!
//! A channel manager adds a partner and logs a communication in the app; a bad date is
//! refused beside its field; the Sync page shows what waits to go, the record is removed
//! with a reason, a sync sends everything (0 waiting) and a sales manager restores the
//! record from the manager's own app. The pages fit 375 px and 1280 px without sideways
//! scrolling. `FIELDCRM_SCREENSHOTS=1` writes `docs/screenshots/channel-*.png` and
//! `sync-waiting-*.png`.

use fantoccini::Client;
use serde_json::json;

use crate::browser_kit::*;

const PARTNER: &str = "苏州远景电子商贸有限公司";
const TALK: &str = "季度沟通会：确认一季度备货计划与返利政策";

/// How many documents the Sync page says wait to go to the (only) remote.
async fn waiting_docs(c: &Client, app: &App) -> i64 {
    goto(c, app, "/sync").await;
    let n = js(
        c,
        "const w = document.querySelector('.waiting'); return w ? Number(w.dataset.docs) : -1;",
        vec![],
    )
    .await;
    n.as_i64().unwrap()
}

#[test]
fn a_channel_manager_adds_a_partner_logs_and_removes_a_record_a_manager_restores_it() {
    if skip_browser() {
        return;
    }
    let office = Office::new();
    crate::support::add_sensor_product(&office.admin);
    office.admin.ok(&["sync"]);
    let cm = office.device("陈渠道", "channel-manager", "渠道部");
    let mgr = office.device("王经理", "manager", "华东一组");
    let driver = Chromedriver::start();
    let cm_app = App::start(&cm);
    let mgr_app = App::start(&mgr);
    let mut partner_url = String::new();
    bounded(async {
        let c = driver.session(1280, 900).await;
        login(&c, &cm_app).await;
        assert_eq!(waiting_docs(&c, &cm_app).await, 0, "nothing made here yet");

        // Add a partner from the list page.
        goto(&c, &cm_app, "/channels").await;
        set_field(&c, "#channel-form", "name", PARTNER).await;
        set_field(&c, "#channel-form", "kind", "dealer").await;
        set_field(&c, "#channel-form", "region", "华东").await;
        set_field(&c, "#channel-form", "lines", "sensors").await;
        click_and_load(&c, "#channel-save").await;
        let h1 = text_of(&c, "h1").await.unwrap();
        assert!(h1.contains(PARTNER), "{h1}");
        partner_url = c.current_url().await.unwrap().path().to_string();
        assert!(partner_url.starts_with("/channels/"), "{partner_url}");
        // A channel manager sees the review, risk and status forms; a rep would not.
        for form in [
            "#comm-form",
            "#review-form",
            "#risk-form",
            "#status-form",
            "#archive-form",
        ] {
            let there = js(
                &c,
                "return !!document.querySelector(arguments[0]);",
                vec![json!(form)],
            )
            .await;
            assert_eq!(there, json!(true), "{form} on a channel manager's page");
        }

        // A bad date is refused beside its field, in Chinese, and nothing is saved.
        set_field(&c, "#comm-form", "summary", TALK).await;
        set_field(&c, "#comm-form", "at", "下周二").await;
        click_and_load(&c, "#comm-save").await;
        let err = text_of(&c, "#comm-at-error").await.unwrap_or_default();
        assert!(err.contains("不是日期"), "error beside the field: {err}");
        let kept = js(
            &c,
            "return document.querySelector('#comm-summary').value;",
            vec![],
        )
        .await;
        assert_eq!(kept, json!(TALK), "what was typed is kept");
        assert!(
            text_of(&c, "#activity")
                .await
                .unwrap()
                .contains("还没有记录")
        );

        // Logged with a real time.
        set_field(&c, "#comm-form", "at", "2026-11-28T15:30").await;
        click_and_load(&c, "#comm-save").await;
        let activity = text_of(&c, "#activity").await.unwrap();
        assert!(activity.contains(TALK), "{activity}");
        fits(&c, "the partner's file at 1280 px").await;
        screenshot(&c, "channel-1280.png").await;

        // The Sync page: the new partner waits to go, named.
        assert_eq!(waiting_docs(&c, &cm_app).await, 1);
        let sync = text_of(&c, ".waiting").await.unwrap();
        assert!(sync.contains("1 等待发送"), "{sync}");
        assert!(sync.contains(PARTNER), "{sync}");
        fits(&c, "the Sync page at 1280 px").await;
        screenshot(&c, "sync-waiting-1280.png").await;

        // Remove the communication with a reason.
        goto(&c, &cm_app, &partner_url).await;
        set_field(&c, "#activity .remove-form", "reason", "录错了渠道").await;
        click_and_load(&c, "#activity .remove-form button").await;
        assert!(!text_of(&c, "#activity").await.unwrap().contains(TALK));
        let removed = text_of(&c, "#removed").await.unwrap();
        assert!(
            removed.contains(TALK) && removed.contains("录错了渠道"),
            "{removed}"
        );

        // Sync from the app: nothing waits any more.
        sync_in_app(&c, &cm_app).await;
        assert_eq!(waiting_docs(&c, &cm_app).await, 0);
        let sync = text_of(&c, ".waiting").await.unwrap();
        assert!(sync.contains("0 等待发送"), "{sync}");
        c.close().await.unwrap();

        // At a phone's width: the file, the list and the Sync page fit.
        let p = driver.session(375, 812).await;
        login(&p, &cm_app).await;
        for path in ["/channels", partner_url.as_str(), "/sync"] {
            goto(&p, &cm_app, path).await;
            fits(&p, &format!("{path} at 375 px")).await;
        }
        // A training logged at a phone's width, from a folded form opened by keyboard.
        goto(&p, &cm_app, &partner_url).await;
        p.find(fantoccini::Locator::Css("#train-form"))
            .await
            .unwrap();
        js(&p, "document.querySelector('#train-form').closest('details').querySelector('summary').focus();", vec![]).await;
        p.active_element()
            .await
            .unwrap()
            .send_keys("\u{E007}")
            .await
            .unwrap();
        wait_for(
            &p,
            "the training form opened with Enter",
            "document.querySelector('#train-form').closest('details').open",
        )
        .await;
        set_field(&p, "#train-form", "topic", "新品传感器安装培训").await;
        click_and_load(&p, "#train-save").await;
        assert!(
            text_of(&p, "#activity")
                .await
                .unwrap()
                .contains("新品传感器安装培训")
        );
        fits(&p, "the partner's file with a training at 375 px").await;
        screenshot(&p, "channel-375.png").await;
        p.close().await.unwrap();
    });

    // The manager's device gets the partner from the relay and restores the record.
    mgr.ok(&["sync"]);
    bounded(async {
        let c = driver.session(1280, 900).await;
        login(&c, &mgr_app).await;
        goto(&c, &mgr_app, &partner_url).await;
        let removed = text_of(&c, "#removed").await.unwrap();
        assert!(removed.contains("录错了渠道"), "{removed}");
        // A sales manager may not review a partner's qualification: no such form.
        let review = js(
            &c,
            "return !!document.querySelector('#review-form');",
            vec![],
        )
        .await;
        assert_eq!(review, json!(false));
        click_and_load(&c, "#removed form button").await;
        let activity = text_of(&c, "#activity").await.unwrap();
        assert!(activity.contains(TALK), "restored: {activity}");
        assert!(text_of(&c, "#removed").await.is_none());
        assert_eq!(
            waiting_docs(&c, &mgr_app).await,
            1,
            "the restore waits to go"
        );
        fits(&c, "the manager's Sync page").await;
        c.close().await.unwrap();
    });

    // Back at the channel manager's device after both sync, the record is there again.
    mgr.ok(&["sync"]);
    cm.ok(&["sync"]);
    let shown = cm.ok(&["channel", "show", PARTNER]);
    assert!(shown.contains(TALK), "{shown}");
}

#[test]
fn sync_page_screenshot_with_waiting_changes_at_a_phones_width() {
    if !std::env::var("FIELDCRM_SCREENSHOTS").is_ok_and(|v| v == "1") {
        eprintln!("set FIELDCRM_SCREENSHOTS=1 to write docs/screenshots/sync-waiting-375.png");
        return;
    }
    if skip_browser() {
        return;
    }
    let office = Office::new();
    let rep = office.device("小张", "rep", "华东一组");
    for name in [
        "华东机电有限公司",
        "苏州恒通精密机械有限公司",
        "杭州鑫源自动化科技有限公司",
    ] {
        rep.ok(&["customer", "add", name, "--region", "华东"]);
    }
    let driver = Chromedriver::start();
    let app = App::start(&rep);
    bounded(async {
        let c = driver.session(375, 812).await;
        login(&c, &app).await;
        assert_eq!(waiting_docs(&c, &app).await, 3);
        fits(&c, "the Sync page at 375 px").await;
        screenshot(&c, "sync-waiting-375.png").await;
        c.close().await.unwrap();
    });
}
