//! The targets page in a real browser (headless Chromium through `chromedriver`, see
//! `browser_kit.rs`): a sales manager opens it from the Reports page, a bad period is
//! refused beside its field in Chinese, a target for a rep is set and shows on the
//! Reports page's target vs actual, is removed with a reason (and leaves target vs
//! actual) and restored. The rep's submitted report is listed with who submitted it. The
//! page fits 375 px and 1280 px without sideways scrolling. `FIELDCRM_SCREENSHOTS=1`
//! writes `docs/screenshots/targets-375.png` and `targets-1280.png`.

use fantoccini::Client;
use serde_json::json;

use crate::browser_kit::*;

const REPORT: &str = "本周签约华东机电两单，另有三家在谈";

/// Click the link or button `what` (`a` or `button`) in the row of `section` whose text
/// has `text`, and wait for the next page.
async fn click_in_row(c: &Client, section: &str, text: &str, what: &str) {
    let r = js(
        c,
        r#"const [section, text, what] = arguments;
        const row = [...document.querySelectorAll(section + ' li.sales-item')]
            .find(li => li.innerText.includes(text));
        if (!row) return 'no row with ' + text + ' in ' + section;
        document.querySelectorAll('[data-click-me]').forEach(e => e.removeAttribute('data-click-me'));
        const el = row.querySelector(what);
        if (!el) return 'no ' + what + ' in the row';
        el.setAttribute('data-click-me', '1');
        return 'ok';"#,
        vec![json!(section), json!(text), json!(what)],
    )
    .await;
    assert_eq!(r, json!("ok"), "{section} / {text} / {what}");
    click_and_load(c, "[data-click-me]").await;
}

/// The Reports page's target vs actual table.
async fn target_vs_actual(c: &Client, app: &App) -> String {
    goto(c, app, "/reports").await;
    text_of(c, "section.card").await.unwrap_or_default()
}

#[test]
fn a_manager_sets_removes_and_restores_a_target_in_the_app() {
    if skip_browser() {
        return;
    }
    let office = Office::new();
    let mgr = office.device("王经理", "manager", "华东一组");
    let rep = office.device("小张", "rep", "华东一组");
    rep.ok(&[
        "report", "submit", "--period", "2026-W48", "--amount", "120000", "--text", REPORT,
    ]);
    rep.ok(&["sync"]);
    mgr.ok(&[
        "target",
        "set",
        "--team",
        "华东一组",
        "--period",
        "2026-Q4",
        "--amount",
        "5000000",
    ]);
    mgr.ok(&["sync"]);
    let driver = Chromedriver::start();
    let app = App::start(&mgr);
    bounded(async {
        let c = driver.session(1280, 900).await;
        login(&c, &app).await;

        // From the Reports page to the targets page.
        goto(&c, &app, "/reports").await;
        click_and_load(&c, "#targets-link").await;
        let h1 = text_of(&c, "h1").await.unwrap();
        assert!(h1.contains("销售目标"), "{h1}");
        let reports = text_of(&c, "#reports").await.unwrap();
        assert!(reports.contains(REPORT), "{reports}");
        assert!(reports.contains("上报人 小张"), "{reports}");
        let targets = text_of(&c, "#targets").await.unwrap();
        assert!(
            targets.contains("华东一组") && targets.contains("500万元"),
            "{targets}"
        );

        // A bad period: refused beside its field, in Chinese; nothing is saved.
        set_field(&c, "#target-form", "subject", "小张").await;
        set_field(&c, "#target-form", "period", "2026-13").await;
        set_field(&c, "#target-form", "amount", "300000").await;
        click_and_load(&c, "#target-save").await;
        let err = text_of(&c, "#target-period-error")
            .await
            .unwrap_or_default();
        assert!(err.contains("不是有效的周期"), "beside the field: {err:?}");
        let kept = js(
            &c,
            "return [document.querySelector('#target-amount').value, document.querySelector('#target-subject').selectedOptions[0].text];",
            vec![],
        )
        .await;
        assert_eq!(kept[0], json!("300000"), "what was typed is kept");
        assert!(kept[1].as_str().unwrap().contains("小张"), "{kept}");
        assert!(!text_of(&c, "#targets").await.unwrap().contains("小张"));
        fits(&c, "the refused form at 1280 px").await;

        // Set: listed with who set it, and on the Reports page's target vs actual.
        set_field(&c, "#target-form", "period", "2026-12").await;
        click_and_load(&c, "#target-save").await;
        let flash = text_of(&c, ".flash").await.unwrap_or_default();
        assert!(flash.contains("已设定销售目标"), "{flash}");
        let targets = text_of(&c, "#targets").await.unwrap();
        assert!(targets.contains("小张"), "{targets}");
        assert!(targets.contains("设定人 王经理"), "{targets}");
        let tva = target_vs_actual(&c, &app).await;
        assert!(tva.contains("小张") && tva.contains("2026-12"), "{tva}");

        // Remove it with a reason, through the confirmation page.
        goto(&c, &app, "/targets").await;
        click_in_row(&c, "#targets", "小张", "a").await;
        assert!(text_of(&c, "h1").await.unwrap().contains("删除销售目标"));
        fits(&c, "the confirmation at 1280 px").await;
        set_field(&c, "#confirm-form", "reason", "金额录错，应为 35 万").await;
        click_and_load(&c, "#confirm-save").await;
        assert!(!text_of(&c, "#targets").await.unwrap().contains("小张"));
        let removed = text_of(&c, "#removed").await.unwrap();
        assert!(removed.contains("小张"), "{removed}");
        assert!(removed.contains("原因：金额录错，应为 35 万"), "{removed}");
        let tva = target_vs_actual(&c, &app).await;
        assert!(
            !tva.contains("2026-12"),
            "removed from target vs actual: {tva}"
        );

        // Restore it: back on the page and in target vs actual.
        goto(&c, &app, "/targets").await;
        click_in_row(&c, "#removed", "小张", "button").await;
        let flash = text_of(&c, ".flash").await.unwrap_or_default();
        assert!(flash.contains("已恢复销售目标：小张 2026-12"), "{flash}");
        assert!(text_of(&c, "#targets").await.unwrap().contains("小张"));
        let tva = target_vs_actual(&c, &app).await;
        assert!(tva.contains("小张") && tva.contains("2026-12"), "{tva}");

        // The team target set twice by mistake is removed and stays in the removed list.
        goto(&c, &app, "/targets").await;
        click_in_row(&c, "#targets", "华东一组", "a").await;
        set_field(&c, "#confirm-form", "reason", "重复设定").await;
        click_and_load(&c, "#confirm-save").await;
        assert!(text_of(&c, "#removed").await.unwrap().contains("重复设定"));
        fits(&c, "the targets page at 1280 px").await;
        screenshot(&c, "targets-1280.png").await;

        // A phone.
        let p = driver.session(375, 812).await;
        login(&p, &app).await;
        goto(&p, &app, "/targets").await;
        fits(&p, "the targets page at 375 px").await;
        screenshot(&p, "targets-375.png").await;
        click_in_row(&p, "#targets", "小张", "a").await;
        fits(&p, "the confirmation at 375 px").await;
        goto(&p, &app, "/reports").await;
        fits(&p, "the Reports page at 375 px").await;
    });
    // The CLI sees the same: one live target, the team's removed.
    let out = mgr.ok(&["target", "list"]);
    assert!(out.contains("2026-12") && !out.contains("2026-Q4"), "{out}");
}
