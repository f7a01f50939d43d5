//! Router tests of whole flows through the pages: findings acknowledged and waived, an
//! admin's invitation (with a relay in this process), the channel forms.

use std::path::Path;

use axum::Router;
use axum::http::{StatusCode, header};
use fieldcrm_model::Role;
use fieldcrm_workspace::{InitOptions, Workspace};

use crate::tests::*;

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
