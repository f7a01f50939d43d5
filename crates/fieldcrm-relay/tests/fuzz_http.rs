//! Property tests ("fuzzing" with proptest, on stable Rust) of every HTTP body and header
//! the relay parses from outside: invitations (create, redeem, enrol), the signed findings
//! request, the console's sign-in link and forms. Any method, path, headers and body:
//! never a panic, never a server error, and the relay keeps answering. 256 cases in CI
//! (`PROPTEST_CASES=20000` for a longer hunt); failing cases proptest finds are saved in
//! `proptest-regressions/` and committed.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::string_slice
)]

mod common;

use std::sync::OnceLock;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use fieldcrm_net::ws::{
    CODE_PROOF_HEADER, CONSOLE_LOGIN_PATH, ENROL_PATH, FINDINGS_HEADERS, FINDINGS_PATH,
    INVITATIONS_PATH, REDEEM_PATH,
};
use fieldcrm_relay::{Relay, app};
use fieldcrm_workspace::Workspace;
use proptest::prelude::*;
use tower::ServiceExt;

/// One relay for every case (a workspace, its admin and roster), kept for the process.
fn relay() -> &'static (tempfile::TempDir, Workspace, Relay) {
    static RELAY: OnceLock<(tempfile::TempDir, Workspace, Relay)> = OnceLock::new();
    RELAY.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let admin = common::admin(dir.path());
        let relay = common::relay_with_roster(dir.path(), &admin);
        (dir, admin, relay)
    })
}

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

fn path() -> impl Strategy<Value = String> {
    let known = prop_oneof![
        Just(INVITATIONS_PATH.to_string()),
        Just(REDEEM_PATH.to_string()),
        Just(ENROL_PATH.to_string()),
        Just(FINDINGS_PATH.to_string()),
        Just(CONSOLE_LOGIN_PATH.to_string()),
        Just("/admin/logout".to_string()),
        Just("/admin/devices".to_string()),
        Just("/admin/audit.csv".to_string()),
        Just("/v1/workspace".to_string()),
    ];
    (known, "(\\?[a-z=&%0-9A-F\\p{Han}]{0,40})?").prop_map(|(p, q)| format!("{p}{q}"))
}

/// Header values a client might send, biased toward the shapes the relay expects.
fn header_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9a-f]{0,130}",
        "-?[0-9]{0,22}",
        "[ -~]{0,80}",
        "[\\p{Han}０-９]{0,10}",
    ]
}

/// Bodies: random bytes, JSON-looking text, form-looking text.
fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..600),
        "\\{(\"[a-z_]{1,12}\":(\"[ -~\\p{Han}]{0,40}\"|-?[0-9]{1,20}|null|true|\\[\\]|\\{\\}),?){0,8}\\}"
            .prop_map(String::into_bytes),
        "([dtns]|csrf|lang|code)=[0-9a-fA-F%\\p{Han}]{0,140}(&([dtns]|csrf|lang)=[0-9a-f%]{0,140}){0,5}"
            .prop_map(String::into_bytes),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn no_http_input_makes_the_relay_panic_or_fail(
        post in any::<bool>(),
        path in path(),
        headers in proptest::collection::vec((0usize..8, header_value()), 0..6),
        form in any::<bool>(),
        body in body(),
    ) {
        let (_, _, relay) = relay();
        let names = [
            FINDINGS_HEADERS[0],
            FINDINGS_HEADERS[1],
            FINDINGS_HEADERS[2],
            FINDINGS_HEADERS[3],
            CODE_PROOF_HEADER,
            "cookie",
            "accept-language",
            "content-length-ish",
        ];
        let mut req = Request::builder()
            .method(if post { Method::POST } else { Method::GET })
            .uri(&path);
        for (i, v) in &headers {
            if let Ok(v) = axum::http::HeaderValue::from_str(v) {
                req = req.header(names[*i % names.len()], v);
            }
        }
        if form {
            req = req.header("content-type", "application/x-www-form-urlencoded");
        } else {
            req = req.header("content-type", "application/json");
        }
        let req = req.body(Body::from(body)).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let status = rt.block_on(async { app(relay.clone()).oneshot(req).await.unwrap().status() });
        prop_assert!(!status.is_server_error(), "{path}: {status}");
        let ok = rt.block_on(async {
            app(relay.clone())
                .oneshot(Request::get("/healthz").body(Body::empty()).unwrap())
                .await
                .unwrap()
                .status()
        });
        prop_assert_eq!(ok, StatusCode::OK);
    }
}

proptest! {
    #![proptest_config(config())]

    /// Bodies signed by the admin's own device: past the signature check, into the
    /// parsing of the invitation itself.
    #[test]
    fn signed_bodies_of_any_shape_are_refused_cleanly(
        which in 0usize..3,
        body in body(),
    ) {
        let (_, admin, relay) = relay();
        let (path, purpose) = [
            (INVITATIONS_PATH, "invite"),
            (REDEEM_PATH, "redeem"),
            (ENROL_PATH, "enrol"),
        ][which];
        let at = relay.now_ms();
        let nonce = fieldcrm_model::new_entity_id();
        let sig = admin.secret().sign(&fieldcrm_net::ws::request_message(
            purpose,
            admin.workspace_id(),
            &admin.device(),
            at,
            &nonce,
            &body,
        ));
        let [hd, ht, hn, hs] = FINDINGS_HEADERS;
        let req = Request::post(path)
            .header(hd, admin.device().to_hex())
            .header(ht, at.to_string())
            .header(hn, &nonce)
            .header(hs, fieldcrm_model::hex(&sig))
            .header("content-type", "application/json")
            .body(Body::from(body))
            .unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let status = rt.block_on(async { app(relay.clone()).oneshot(req).await.unwrap().status() });
        prop_assert!(!status.is_server_error(), "{path}: {status}");
    }
}
