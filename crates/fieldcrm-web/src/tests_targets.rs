//! Router tests of the targets page (`pages/targets.rs`): a manager sets a target and
//! sees it (and on the Reports page), a bad period is refused beside its field, a target
//! and a report are removed with a reason and restored, a rep gets no form and is refused,
//! and every POST needs the CSRF token.

use axum::http::{StatusCode, header};
use fieldcrm_model::{Role, Sales};
use fieldcrm_workspace::{InitOptions, Workspace};

use crate::tests::{NOW, app, get, login, post, send, workspace};

/// The Sales document with its removed records.
fn sales(dir: &std::path::Path) -> Sales {
    let ws = Workspace::open(dir).unwrap();
    let id = fieldcrm_model::DocId::workspace(&fieldcrm_model::DocKind::Sales);
    ws.load(&id).unwrap().hydrate().unwrap()
}

/// The admin's workspace with a rep, 小张, in 华东一组; the rep's user ID.
fn with_rep(dir: &std::path::Path) -> String {
    workspace(dir);
    let ws = Workspace::open(dir).unwrap();
    ws.add_user(
        "小张",
        Role::Rep,
        Some("华东一组".into()),
        None,
        NOW - 7_000_000,
    )
    .unwrap()
}

#[tokio::test]
async fn a_manager_sets_a_target_sees_it_and_a_bad_period_is_refused_beside_it() {
    let dir = tempfile::tempdir().unwrap();
    let rep = with_rep(dir.path());
    let app = app(dir.path());
    let (cookie, csrf) = login(&app).await;

    // The Reports page links to the targets page, which offers the form.
    let (status, _, body) = send(&app, get("/reports", Some(&cookie))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("href=\"/targets\""), "{body}");
    let (status, _, body) = send(&app, get("/targets", Some(&cookie))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("id=\"target-form\""), "{body}");
    assert!(body.contains("还没有设定销售目标"), "{body}");
    let subject = format!("user:{rep}");
    assert!(body.contains(&format!("value=\"{subject}\"")), "{body}");
    assert!(body.contains("value=\"team:华东一组\""), "{body}");

    // No CSRF token: refused, nothing written.
    let form = [
        ("subject", subject.as_str()),
        ("period", "2026-12"),
        ("amount", "300000"),
    ];
    let (status, _, _) = send(&app, post("/targets", &cookie, &form)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(sales(dir.path()).targets.is_empty());

    // A bad period: refused beside its field in Chinese, the input kept, nothing saved.
    let bad = [
        ("_csrf", csrf.as_str()),
        ("subject", subject.as_str()),
        ("period", "2026-13"),
        ("amount", "300000"),
    ];
    let (status, _, body) = send(&app, post("/targets", &cookie, &bad)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body.contains("id=\"target-period-error\" role=\"alert\">「2026-13」不是有效的周期"),
        "{body}"
    );
    assert!(body.contains("value=\"2026-13\""), "{body}");
    assert!(body.contains("value=\"300000\""), "{body}");
    assert!(sales(dir.path()).targets.is_empty());
    // No subject: beside the select.
    let none = [
        ("_csrf", csrf.as_str()),
        ("subject", ""),
        ("period", "2026-12"),
        ("amount", "300000"),
    ];
    let (status, _, body) = send(&app, post("/targets", &cookie, &none)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("id=\"target-subject-error\""), "{body}");
    // In English, the same refusal in English.
    let (status, _, body) = send(&app, post("/targets?lang=en", &cookie, &bad)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("`2026-13` is not a period"), "{body}");

    // Saved: back to the page with a flash, the target listed with who set it.
    let good = [
        ("_csrf", csrf.as_str()),
        ("subject", subject.as_str()),
        ("period", "2026年12月"),
        ("amount", "300,000"),
    ];
    let (status, headers, _) = send(&app, post("/targets", &cookie, &good)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/targets");
    let s = sales(dir.path());
    let (_, target) = s.targets.iter().next().unwrap();
    assert_eq!(target.period, "2026-12");
    assert_eq!(target.amount, 30_000_000);
    assert_eq!(target.subject, rep);
    let (_, _, body) = send(&app, get("/targets", Some(&cookie))).await;
    assert!(body.contains("已设定销售目标：2026-12"), "{body}");
    assert!(body.contains("小张"), "{body}");
    assert!(body.contains("设定人 王经理"), "{body}");
    assert!(body.contains("¥300,000"), "{body}");
    // A team target, in 万元.
    let team = [
        ("_csrf", csrf.as_str()),
        ("subject", "team:华东一组"),
        ("period", "2026-Q4"),
        ("amount", "5000000"),
    ];
    let (status, _, _) = send(&app, post("/targets", &cookie, &team)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, _, body) = send(&app, get("/targets", Some(&cookie))).await;
    assert!(body.contains("500万元"), "{body}");
    // And both on the Reports page's target vs actual.
    let (_, _, body) = send(&app, get("/reports", Some(&cookie))).await;
    assert!(
        body.contains("2026-12") && body.contains("2026-Q4"),
        "{body}"
    );
}

#[tokio::test]
async fn a_target_and_a_report_are_removed_with_a_reason_and_restored() {
    let dir = tempfile::tempdir().unwrap();
    let rep = with_rep(dir.path());
    let (tid, rid) = {
        let ws = Workspace::open(dir.path()).unwrap();
        let tid = ws
            .set_target(Some(&rep), None, "2026-12", 30_000_000, NOW - 60_000)
            .unwrap();
        let rid = ws
            .submit_report("2026-W48", 12_000_000, "本周签约两单", NOW - 60_000)
            .unwrap();
        (tid, rid)
    };
    let app = app(dir.path());
    let (cookie, csrf) = login(&app).await;
    let (_, _, body) = send(&app, get("/targets", Some(&cookie))).await;
    assert!(body.contains("本周签约两单"), "{body}");
    let remove = format!("/targets/targets/{tid}/remove");
    assert!(body.contains(&format!("href=\"{remove}\"")), "{body}");

    // The confirmation page asks for a reason.
    let (status, _, body) = send(&app, get(&remove, Some(&cookie))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("id=\"confirm-form\""), "{body}");
    assert!(body.contains("name=\"reason\""), "{body}");
    // Without the CSRF token: refused, still there.
    let (status, _, _) = send(&app, post(&remove, &cookie, &[("reason", "录错")])).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(sales(dir.path()).removed.is_empty());
    let form = [("_csrf", csrf.as_str()), ("reason", "金额录错")];
    let (status, headers, _) = send(&app, post(&remove, &cookie, &form)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/targets");
    let note = sales(dir.path()).removed[&format!("targets/{tid}")].clone();
    assert_eq!(note.text, "金额录错");
    let (_, _, body) = send(&app, get("/targets", Some(&cookie))).await;
    assert!(body.contains("已删除销售目标：小张 2026-12"), "{body}");
    assert!(body.contains("id=\"removed\""), "{body}");
    assert!(body.contains("原因：金额录错"), "{body}");
    let restore = format!("/targets/targets/{tid}/restore");
    assert!(body.contains(&format!("action=\"{restore}\"")), "{body}");
    // Gone from target vs actual; removing it twice is refused, saying so.
    let (_, _, body) = send(&app, get("/reports", Some(&cookie))).await;
    assert!(body.contains("还没有设定销售目标"), "{body}");
    let (status, _, _) = send(&app, get(&remove, Some(&cookie))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The report too.
    let remove_report = format!("/targets/reports/{rid}/remove");
    let form = [("_csrf", csrf.as_str()), ("reason", "重复上报")];
    let (status, _, _) = send(&app, post(&remove_report, &cookie, &form)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(sales(dir.path()).is_removed("reports", &rid));

    // Restored, both.
    let (status, _, _) = send(&app, post(&restore, &cookie, &[("_csrf", &csrf)])).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let restore_report = format!("/targets/reports/{rid}/restore");
    let (status, _, _) = send(&app, post(&restore_report, &cookie, &[("_csrf", &csrf)])).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(sales(dir.path()).removed.is_empty());
    let (_, _, body) = send(&app, get("/targets", Some(&cookie))).await;
    assert!(body.contains("已恢复业绩上报：王经理 2026-W48"), "{body}");
    assert!(!body.contains("id=\"removed\""), "{body}");
    let (_, _, body) = send(&app, get("/reports", Some(&cookie))).await;
    assert!(body.contains("2026-12"), "{body}");
    // A second restore is refused with a flash, not a crash.
    let (status, _, _) = send(&app, post(&restore, &cookie, &[("_csrf", &csrf)])).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, _, body) = send(&app, get("/targets", Some(&cookie))).await;
    assert!(body.contains("flash flash-error"), "{body}");
    // Unknown kinds and actions are not found.
    for path in [
        format!("/targets/gifts/{tid}/remove"),
        format!("/targets/targets/{tid}/nonsense"),
        "/targets/targets/ffffffff/remove".to_string(),
    ] {
        let (status, _, _) = send(&app, get(&path, Some(&cookie))).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
}

#[tokio::test]
async fn a_rep_gets_no_target_form_and_a_post_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    Workspace::init(
        dir.path(),
        &InitOptions {
            user: "小张".into(),
            role: Role::Rep,
            team: Some("华东一组".into()),
            region: None,
            company: "示例".into(),
            device_label: "t".into(),
        },
        NOW,
    )
    .unwrap();
    let rid = Workspace::open(dir.path())
        .unwrap()
        .submit_report("2026-W48", 1_000_000, "本周", NOW)
        .unwrap();
    let app = app(dir.path());
    let (cookie, csrf) = login(&app).await;
    let (_, _, body) = send(&app, get("/", Some(&cookie))).await;
    assert!(!body.contains("href=\"/targets\""), "{body}");
    assert!(!body.contains("href=\"/reports\""), "{body}");
    let (status, _, body) = send(&app, get("/targets", Some(&cookie))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(!body.contains("target-form"), "{body}");
    assert!(body.contains("只有经理和管理员"), "{body}");
    let form = [
        ("_csrf", csrf.as_str()),
        ("subject", "team:华东一组"),
        ("period", "2026-12"),
        ("amount", "300000"),
    ];
    let (status, _, _) = send(&app, post("/targets", &cookie, &form)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(sales(dir.path()).targets.is_empty());
    let remove = format!("/targets/reports/{rid}/remove");
    let (status, _, _) = send(&app, get(&remove, Some(&cookie))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let form = [("_csrf", csrf.as_str()), ("reason", "x")];
    let (status, _, _) = send(&app, post(&remove, &cookie, &form)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(sales(dir.path()).removed.is_empty());
}
