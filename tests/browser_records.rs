//! Correcting, deleting and cancelling records in the field app, in a real browser (see
//! `browser.rs` for the harness): a rep corrects a contact's phone (a bad one is refused
//! beside the field), deletes an interaction and cancels a quote, which then leaves the
//! manager's approval inbox; the manager restores the interaction. The same commands
//! work from the CLI. Every page fits a 375 px phone without sideways scrolling.
//! `FIELDCRM_SCREENSHOTS=1` writes the pages to `target/tmp/record-*.png`.

use fantoccini::Client;
use serde_json::json;

use crate::browser_kit::*;
use crate::support::Rep;

/// An office with a manager and a rep in 华东一组, P-100 at 1000 list, a 10% rep
/// allowance, and the rep's customer with a contact, a visit and a 15%-off quote, synced
/// to the manager.
fn story() -> (Office, Rep, Rep) {
    let office = Office::new();
    let admin = &office.admin;
    crate::support::add_sensor_product(admin);
    admin.ok(&["price-policy", "set", "--role", "rep", "--allowance", "10%"]);
    let mgr = office.device("王经理", "manager", "华东一组");
    let rep = office.device("小张", "rep", "华东一组");
    rep.ok(&["customer", "add", "华东机电有限公司", "--class", "general"]);
    rep.ok(&[
        "contact",
        "add",
        "华东机电有限公司",
        "张伟",
        "--phone",
        "13800000001",
    ]);
    rep.ok(&[
        "interaction",
        "log",
        "华东机电有限公司",
        "--kind",
        "visit",
        "--summary",
        "重复录入的拜访记录",
        "--at",
        "2026-11-20T10:00",
    ]);
    rep.ok(&[
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
    rep.ok(&["sync"]);
    mgr.ok(&["sync"]);
    (office, mgr, rep)
}

/// The page scrolls sideways at neither width (asserted) and, with
/// `FIELDCRM_SCREENSHOTS=1`, is written to `target/tmp/record-{name}-{width}.png`.
async fn fits_and_shot(c: &Client, name: &str, width: i64) {
    shot_at(c, name, width, None).await;
}

/// [`fits_and_shot`], with `css` scrolled to the top of the screenshot.
async fn shot_at(c: &Client, name: &str, width: i64, css: Option<&str>) {
    if let Some(css) = css {
        js(
            c,
            "document.querySelector(arguments[0]).scrollIntoView();",
            vec![json!(css)],
        )
        .await;
    }
    let m = js(
        c,
        "return [document.documentElement.scrollWidth, window.innerWidth];",
        vec![],
    )
    .await;
    let (sw, iw) = (m[0].as_i64().unwrap(), m[1].as_i64().unwrap());
    assert_eq!(iw, width, "viewport of {name}");
    assert!(
        sw <= iw,
        "{name} scrolls sideways at {width}px: scrollWidth {sw} > {iw}"
    );
    if std::env::var("FIELDCRM_SCREENSHOTS").is_ok_and(|v| v == "1") {
        let png = c.screenshot().await.unwrap();
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
        std::fs::write(dir.join(format!("record-{name}-{width}.png")), png).unwrap();
    }
}

#[test]
fn a_rep_corrects_a_phone_deletes_a_visit_and_cancels_a_quote_in_the_app() {
    if skip_browser() {
        return;
    }
    let (_office, mgr, rep) = story();
    let customer = full_id(&rep, "华东机电有限公司");
    let file = format!("/customers/{customer}");
    let driver = Chromedriver::start();
    let rep_app = App::start(&rep);
    let mgr_app = App::start(&mgr);
    bounded(async {
        let rc = driver.session(375, 812).await;
        let mc = driver.session(375, 812).await;
        login(&rc, &rep_app).await;
        login(&mc, &mgr_app).await;
        goto(&mc, &mgr_app, "/inbox").await;
        assert!(
            body_text(&mc).await.contains("华东机电有限公司"),
            "the quote waits in the manager's inbox:\n{}",
            body_text(&mc).await
        );

        // Edit the contact: a bad phone is refused beside the field, then corrected.
        goto(&rc, &rep_app, &file).await;
        shot_at(&rc, "file", 375, Some(".contacts")).await;
        click_and_load(&rc, ".contacts a[href$='/edit']").await;
        fits_and_shot(&rc, "edit-contact", 375).await;
        let phone = js(
            &rc,
            "return document.querySelector('#edit-form [name=phone]').value;",
            vec![],
        )
        .await;
        assert_eq!(phone, json!("13800000001"), "the form is pre-filled");
        set_field(&rc, "#edit-form", "phone", "abc").await;
        click_and_load(&rc, "#edit-save").await;
        let err = text_of(&rc, "#edit-phone-error").await.unwrap_or_default();
        assert!(
            err.contains("不是电话号码"),
            "the refusal beside the phone field, in Chinese: {err:?}\n{}",
            body_text(&rc).await
        );
        fits_and_shot(&rc, "edit-contact-refused", 375).await;
        set_field(&rc, "#edit-form", "phone", "139 1234 5678").await;
        click_and_load(&rc, "#edit-save").await;
        wait_for(
            &rc,
            "the corrected phone on the file",
            "document.querySelector('.contacts').innerText.includes('139 1234 5678')",
        )
        .await;

        // Delete the visit, through the confirmation page.
        click_and_load(&rc, "#timeline a[href*='/interactions/'][href$='/delete']").await;
        fits_and_shot(&rc, "delete-visit", 375).await;
        set_field(&rc, "#confirm-form", "reason", "重复录入").await;
        click_and_load(&rc, "#confirm-save").await;
        let page = body_text(&rc).await;
        assert!(
            !page.contains("重复录入的拜访记录"),
            "the deleted visit is gone from the file:\n{page}"
        );

        // Cancel the quote with a reason.
        click_and_load(&rc, "#timeline a[href*='/quotes/'][href$='/cancel']").await;
        fits_and_shot(&rc, "cancel-quote", 375).await;
        set_field(&rc, "#confirm-form", "reason", "客户改用其他型号").await;
        click_and_load(&rc, "#confirm-save").await;
        let page = body_text(&rc).await;
        assert!(
            page.contains("已取消") && page.contains("客户改用其他型号"),
            "the quote shows as cancelled, with the reason:\n{page}"
        );
        shot_at(&rc, "file-after", 375, Some("#timeline")).await;

        // Both sync: the quote has left the manager's inbox.
        sync_in_app(&rc, &rep_app).await;
        sync_in_app(&mc, &mgr_app).await;
        goto(&mc, &mgr_app, "/inbox").await;
        let inbox = body_text(&mc).await;
        assert!(
            !inbox.contains("华东机电有限公司"),
            "a cancelled quote needs no approval:\n{inbox}"
        );

        // The manager sees the removed visit and restores it.
        goto(&mc, &mgr_app, &file).await;
        js(
            &mc,
            "document.querySelector('#removed-records').open = true;",
            vec![],
        )
        .await;
        shot_at(&mc, "removed-records", 375, Some("#removed-records")).await;
        click_and_load(&mc, "#removed-records button[type=submit]").await;
        let page = body_text(&mc).await;
        assert!(
            page.contains("重复录入的拜访记录"),
            "the restored visit is back:\n{page}"
        );
        rc.close().await.unwrap();
        mc.close().await.unwrap();
    });

    // What the app did is in the file, with the history naming who did it.
    let c = customer_json(&mgr, &customer);
    let quote = c["quotes"].as_object().unwrap().values().next().unwrap();
    assert_eq!(quote["cancelled"]["text"], json!("客户改用其他型号"));
    let phone = c["contacts"].as_object().unwrap().values().next().unwrap()["phone"].clone();
    assert_eq!(phone, json!("139 1234 5678"));
    let history = mgr.ok(&["doc", "history", "华东机电有限公司"]);
    for line in ["edit contact", "cancel quote", "remove interactions"] {
        assert!(
            history
                .lines()
                .any(|l| l.contains(line) && l.contains("小张")),
            "`{line}` by 小张 in the history:\n{history}"
        );
    }
}

#[test]
fn the_cli_edits_removes_restores_and_cancels() {
    let (_office, mgr, rep) = story();
    let c = "华东机电有限公司";
    let shown = customer_json(&rep, c);
    let contact = shown["contacts"]
        .as_object()
        .unwrap()
        .keys()
        .next()
        .unwrap()
        .clone();
    let visit = shown["interactions"]
        .as_object()
        .unwrap()
        .keys()
        .next()
        .unwrap()
        .clone();
    let quote = shown["quotes"]
        .as_object()
        .unwrap()
        .keys()
        .next()
        .unwrap()
        .clone();
    let out = rep.ok(&[
        "contact",
        "edit",
        c,
        &contact[..8],
        "--phone",
        "139 1234 5678",
    ]);
    assert!(out.contains(&contact[..8]), "{out}");
    rep.run(&["contact", "edit", c, &contact[..8], "--phone", "abc"])
        .fails_with("is not a phone number");
    rep.run(&["contact", "edit", c, &contact[..8]])
        .fails_with("nothing to change");
    rep.ok(&[
        "interaction",
        "edit",
        c,
        &visit[..8],
        "--summary",
        "改过的摘要",
        "--kind",
        "call",
    ]);
    rep.ok(&["interaction", "remove", c, &visit[..8], "--reason", "重复"]);
    rep.run(&["interaction", "edit", c, &visit[..8], "--summary", "再改"])
        .fails_with("restore");
    rep.run(&["interaction", "restore", c, &visit[..8]])
        .fails_with("manager");
    rep.ok(&[
        "quote",
        "cancel",
        c,
        &quote[..8],
        "--reason",
        "客户改用其他型号",
    ]);
    rep.run(&["quote", "cancel", c, &quote[..8]])
        .fails_with("already cancelled");
    rep.ok(&["sync"]);
    mgr.ok(&["sync"]);
    mgr.ok(&["interaction", "restore", c, &visit[..8]]);
    let inbox = mgr.ok(&["inbox", "--json"]);
    assert!(!inbox.contains(&quote), "{inbox}");
    let shown = customer_json(&mgr, c);
    assert_eq!(
        shown["interactions"][&visit]["summary"],
        json!("改过的摘要")
    );
    assert_eq!(shown["interactions"][&visit]["kind"], json!("call"));
    // Targets and reports.
    let target = mgr.ok(&[
        "-q", "target", "set", "--user", "小张", "--period", "2026", "--amount", "100000",
    ]);
    let target = target.trim();
    mgr.ok(&["target", "remove", &target[..8], "--reason", "录错"]);
    assert!(!mgr.ok(&["target", "list"]).contains(&target[..8]));
    rep.run(&["target", "restore", &target[..8]])
        .fails_with("manager");
    mgr.ok(&["target", "restore", &target[..8]]);
    assert!(mgr.ok(&["target", "list"]).contains(&target[..8]));
    let report = rep.ok(&[
        "-q",
        "report",
        "submit",
        "--period",
        "2026-W47",
        "--amount",
        "1000",
        "--summary",
        "周报",
    ]);
    rep.ok(&["report", "remove", &report.trim()[..8]]);
    assert!(!rep.ok(&["report", "list"]).contains(&report.trim()[..8]));
}
