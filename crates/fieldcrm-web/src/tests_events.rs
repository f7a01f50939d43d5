//! The change feed (`GET /events`): another program's write reloads the page once; the
//! app's own requests, reads included, never do (redb rewrites the store file on every
//! open and close, so the file's time alone cannot tell them apart).

use std::time::{Duration, Instant};

use axum::Router;
use fieldcrm_workspace::{NewCustomer, Workspace};
use futures_util::StreamExt;
use tokio::sync::mpsc;
use tower::ServiceExt;

use crate::tests::{NOW, app, get, login, send, workspace};

/// Open the feed; its `change` events arrive on the returned channel.
async fn feed(app: &Router, cookie: &str) -> mpsc::UnboundedReceiver<()> {
    let resp = app
        .clone()
        .oneshot(get("/events", Some(cookie)))
        .await
        .unwrap();
    assert_eq!(resp.status(), axum::http::StatusCode::OK);
    let mut body = resp.into_body().into_data_stream();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(Ok(chunk)) = body.next().await {
            let text = String::from_utf8_lossy(&chunk).into_owned();
            for _ in text.matches("event: change") {
                if tx.send(()).is_err() {
                    return;
                }
            }
        }
    });
    rx
}

/// How many `change` events arrived so far.
fn drain(rx: &mut mpsc::UnboundedReceiver<()>) -> usize {
    let mut n = 0;
    while rx.try_recv().is_ok() {
        n += 1;
    }
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_apps_own_requests_never_reload_a_page_and_another_programs_write_does_once() {
    let dir = tempfile::tempdir().unwrap();
    workspace(dir.path());
    let app = app(dir.path());
    let (cookie, _) = login(&app).await;
    let mut events = feed(&app, &cookie).await;

    // Pages read one after the other for longer than three of the feed's looks: the
    // store is open most of that time and its file changes with every request.
    let until = Instant::now() + Duration::from_millis(3_500);
    let mut pages = 0;
    while Instant::now() < until {
        for path in ["/customers", "/", "/sync"] {
            let (status, _, body) = send(&app, get(path, Some(&cookie))).await;
            assert_eq!(status, axum::http::StatusCode::OK, "{path}: {body}");
            pages += 1;
        }
    }
    assert!(pages > 10, "only {pages} pages were read");
    assert_eq!(
        drain(&mut events),
        0,
        "the app's own {pages} page reads were taken for another program's change"
    );

    // Another program (here the workspace API, as the CLI uses it) adds a customer.
    let ws = Workspace::open(dir.path()).unwrap();
    ws.add_customer(
        NewCustomer {
            name: "深圳前海贸易有限公司".into(),
            ..Default::default()
        },
        NOW,
    )
    .unwrap();
    drop(ws);
    let arrived = tokio::time::timeout(Duration::from_secs(5), events.recv()).await;
    assert!(
        matches!(arrived, Ok(Some(()))),
        "no change event after another program's write"
    );

    // One write, one event; and the page the reload fetches does not cause another.
    let (status, _, body) = send(&app, get("/customers", Some(&cookie))).await;
    assert_eq!(status, axum::http::StatusCode::OK);
    assert!(body.contains("深圳前海贸易有限公司"));
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert_eq!(drain(&mut events), 0, "one write gave more than one event");
}
