//! The office console's sign-in, in process (the axum app driven with `oneshot`): links
//! signed by the right device, at the right time, once; everything else refused.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::string_slice
)]

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use fieldcrm_model::{Role, hex};
use fieldcrm_net::ws::console_login_message;
use fieldcrm_relay::{Relay, app};
use fieldcrm_workspace::Workspace;
use tower::ServiceExt;

struct Office {
    _dir: tempfile::TempDir,
    admin: Workspace,
    rep: Workspace,
    relay: Relay,
}

/// An admin and a rep device; the relay holds the admin's roster.
fn office() -> Office {
    let dir = tempfile::tempdir().unwrap();
    let admin = common::admin(dir.path());
    let rep = Workspace::join(&dir.path().join("rep"), admin.workspace_id()).unwrap();
    admin
        .add_user("小张", Role::Rep, Some("华东".into()), None, 1)
        .unwrap();
    admin
        .enroll_device(&rep.device(), "小张", "phone", 2)
        .unwrap();
    let relay = common::relay_with_roster(dir.path(), &admin);
    Office {
        _dir: dir,
        admin,
        rep,
        relay,
    }
}

/// A sign-in link's query, signed by `ws`'s device at `at`.
fn link(relay: &Relay, ws: &Workspace, at: i64) -> String {
    let device = ws.device().to_hex();
    let nonce = fieldcrm_model::new_entity_id();
    let sig = ws.secret().sign(&console_login_message(
        relay.workspace_id(),
        &device,
        at,
        &nonce,
    ));
    format!("d={device}&t={at}&n={nonce}&s={}", hex(&sig))
}

async fn send(relay: &Relay, req: Request<Body>) -> (StatusCode, Option<String>, String) {
    let res = app(relay.clone()).oneshot(req).await.unwrap();
    let status = res.status();
    let cookie = res
        .headers()
        .get(header::SET_COOKIE)
        .map(|v| v.to_str().unwrap().to_string());
    let body = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, cookie, String::from_utf8(body.to_vec()).unwrap())
}

async fn post_login(relay: &Relay, query: &str) -> (StatusCode, Option<String>, String) {
    let req = Request::post("/admin/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(query.to_string()))
        .unwrap();
    send(relay, req).await
}

async fn get(relay: &Relay, path: &str, cookie: Option<&str>) -> (StatusCode, String) {
    let mut req = Request::get(path);
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, c);
    }
    let (s, _, body) = send(relay, req.body(Body::empty()).unwrap()).await;
    (s, body)
}

#[tokio::test]
async fn a_signed_link_signs_in_once_and_every_other_link_is_refused() {
    let o = office();
    let now = o.relay.now_ms();

    // Without a session: refused, every page.
    for path in [
        "/admin",
        "/admin/devices",
        "/admin/activity",
        "/admin/findings",
        "/admin/audit",
        "/admin/audit.csv",
    ] {
        let (s, body) = get(&o.relay, path, None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{path}");
        assert!(body.contains("请先用登录链接登录"), "{path}: {body}");
        let (s, _) = get(&o.relay, path, Some("fieldcrm_console=forged")).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{path}");
    }

    // The admin's link: the page with a button does not use it up; the POST does.
    let q = link(&o.relay, &o.admin, now);
    let (s, body) = get(&o.relay, &format!("/admin/login?{q}"), None).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(body.contains("sign-in"), "{body}");
    let (s, cookie, _) = post_login(&o.relay, &q).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let cookie = cookie.unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let session = cookie.split(';').next().unwrap().to_string();
    let (s, body) = get(&o.relay, "/admin/devices", Some(&session)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("小张") && body.contains("从未同步"), "{body}");
    let (s, body) = get(&o.relay, "/admin/audit.csv", Some(&session)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("\"login\""), "{body}");

    // Used once: refused the second time.
    let (s, cookie, body) = post_login(&o.relay, &q).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(cookie.is_none());
    assert!(body.contains("只能使用一次"), "{body}");

    // Signed six minutes ago: expired, though the signature is good.
    let (s, _, body) = post_login(&o.relay, &link(&o.relay, &o.admin, now - 6 * 60_000)).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(body.contains("已过期"), "{body}");

    // One flipped bit in the signature.
    let good = link(&o.relay, &o.admin, now);
    let (head, sig) = good.rsplit_once("&s=").unwrap();
    let flipped = format!(
        "{head}&s={}{}",
        if sig.starts_with('0') { '1' } else { '0' },
        &sig[1..]
    );
    let (s, _, body) = post_login(&o.relay, &flipped).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(body.contains("签名不正确"), "{body}");

    // A rep's own, correctly signed link: not an admin or manager.
    let (s, _, body) = post_login(&o.relay, &link(&o.relay, &o.rep, now)).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(body.contains("只有管理员和经理"), "{body}");

    // Garbage: refused with a message, never a panic.
    for junk in [
        "",
        "d=zz&t=x&n=1&s=2",
        "d=%FF%FE&t=%E4%B8%AD",
        "t=99999999999999999999999",
    ] {
        let (s, _, body) = post_login(&o.relay, junk).await;
        assert!(s.is_client_error(), "{junk}: {s}");
        assert!(!body.is_empty(), "{junk}");
    }

    // The refusals are in the audit log.
    let (_, csv) = get(
        &o.relay,
        "/admin/audit.csv?kind=login_refused",
        Some(&session),
    )
    .await;
    for reason in [
        "link already used",
        "expired link",
        "bad signature",
        "not an admin or manager",
        "malformed link",
    ] {
        assert!(csv.contains(reason), "{reason} missing from {csv}");
    }

    // Signing out needs the session's form token.
    let req = Request::post("/admin/logout")
        .header(header::COOKIE, &session)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("csrf=wrong"))
        .unwrap();
    let (s, _, _) = send(&o.relay, req).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = get(&o.relay, "/admin/devices", Some(&session)).await;
    assert_eq!(s, StatusCode::OK, "a refused sign-out keeps the session");
}
