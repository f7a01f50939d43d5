//! The relay in-process: the axum app driven with `oneshot` (no socket), then a served
//! relay on loopback for the bootstrap upload, limits and graceful shutdown.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::string_slice
)]

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use fieldcrm_connect::NoProgress;
use fieldcrm_model::{DocId, DocKind, Role};
use fieldcrm_net::ws::close;
use fieldcrm_net::{FrameTransport, WsConfig, WsError, connect_ws, drive};
use fieldcrm_relay::{Access, Config, Refusal, Relay, app};
use fieldcrm_workspace::{InitOptions, Workspace};
use tower::ServiceExt;

fn admin(dir: &std::path::Path) -> Workspace {
    Workspace::init(
        &dir.join("admin"),
        &InitOptions {
            user: "管理员".into(),
            role: Role::Admin,
            team: None,
            region: None,
            company: "ACME".into(),
            device_label: "laptop".into(),
        },
        0,
    )
    .unwrap()
}

fn relay(dir: &std::path::Path, ws: &Workspace, edit: impl FnOnce(&mut Config)) -> Relay {
    let mut config = Config::default();
    config.data_dir = dir.join("relay");
    config.http_listen = "127.0.0.1:0".parse().unwrap();
    config.iroh_listen = None;
    edit(&mut config);
    Relay::init(&config.data_dir, ws.workspace_id(), ws.device()).unwrap();
    Relay::open(config).unwrap()
}

async fn get(relay: &Relay, path: &str) -> (StatusCode, String) {
    let res = app(relay.clone())
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let body = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test]
async fn http_routes_answer_without_a_socket() {
    let dir = tempfile::tempdir().unwrap();
    let ws = admin(dir.path());
    let relay = relay(dir.path(), &ws, |_| {});
    assert_eq!(
        get(&relay, "/healthz").await,
        (StatusCode::OK, "ok\n".into())
    );
    let (s, body) = get(&relay, "/v1/workspace").await;
    assert_eq!(s, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["workspace_id"], ws.workspace_id());
    let (s, body) = get(&relay, "/metrics").await;
    assert_eq!(s, StatusCode::OK);
    for name in [
        "fieldcrm_relay_sessions_active 0",
        "fieldcrm_relay_documents 0",
        "fieldcrm_relay_refusals_total{reason=\"not_enrolled\"} 0",
        "fieldcrm_relay_bytes_total{direction=\"in\"} 0",
    ] {
        assert!(body.contains(name), "{name} missing from\n{body}");
    }
    // A plain GET on the sync path is not a WebSocket upgrade: a client error.
    let (s, _) = get(&relay, "/v1/sync").await;
    assert!(s.is_client_error(), "{s}");
}

#[test]
fn before_the_roster_only_the_admin_device_may_connect() {
    let dir = tempfile::tempdir().unwrap();
    let ws = admin(dir.path());
    let relay = relay(dir.path(), &ws, |_| {});
    assert_eq!(relay.authorize(&ws.device()), Ok(Access::Bootstrap));
    let other = fieldcrm_workspace::generate_secret().public();
    assert!(matches!(
        relay.authorize(&other),
        Err(Refusal::NotEnrolled(_))
    ));
    // A second init on the same directory is refused.
    let err = Relay::init(&dir.path().join("relay"), ws.workspace_id(), ws.device());
    assert!(err.unwrap_err().to_string().contains("already holds"));
    assert!(Relay::init(&dir.path().join("x"), "nope", ws.device()).is_err());
}

/// How many sessions the relay turned away as busy (its metrics).
fn busy_refusals(metrics: &str) -> u64 {
    metrics
        .lines()
        .find(|l| l.contains("reason=\"busy\"}"))
        .and_then(|l| l.split_whitespace().last()?.parse().ok())
        .unwrap_or(0)
}

async fn connect(
    url: String,
    ws: Workspace,
    config: WsConfig,
) -> Result<fieldcrm_net::WsConn, WsError> {
    let secret = ws.secret().clone();
    connect_ws(
        &url,
        ws.device(),
        ws.workspace_id(),
        move |m| secret.sign(m),
        &config,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bootstrap_upload_limits_and_graceful_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let ws = admin(dir.path());
    let relay = relay(dir.path(), &ws, |c| {
        c.limits.max_sessions = 2;
        c.limits.idle_timeout_secs = 2;
        c.limits.auth_timeout_secs = 1;
        c.limits.max_preauth_per_ip = 2;
        c.limits.shutdown_grace_secs = 0;
    });
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let (addr_tx, addr_rx) = tokio::sync::oneshot::channel();
    let server = tokio::spawn(fieldcrm_relay::run(
        relay.clone(),
        async move {
            let _ = stop_rx.await;
        },
        move |b| {
            let _ = addr_tx.send(b.http);
        },
    ));
    let url = format!("ws://{}", addr_rx.await.unwrap());
    let config = WsConfig {
        idle_timeout: Duration::from_secs(5),
        ..WsConfig::default()
    };
    let connect = |ws: &Workspace| connect(url.clone(), ws.clone(), config.clone());

    // The admin device uploads the workspace; the relay now trusts that roster.
    let mut conn = connect(&ws).await.unwrap();
    let mut session = ws.relay_session().unwrap();
    let mut host = ws.sync_host();
    drive(&mut conn, &mut session, &mut host, |_| {})
        .await
        .unwrap();
    conn.finish().await.unwrap();
    assert_eq!(session.report().docs_sent, 4);
    assert_eq!(relay.store().all_heads().unwrap().len(), 4);
    let roster = DocId::workspace(&DocKind::Roster);
    assert!(relay.store().contains(&roster).unwrap());
    let rows = fieldcrm_relay::read_audit(&dir.path().join("relay/audit.jsonl")).unwrap();
    assert_eq!(rows.len(), 4);
    assert!(rows.iter().all(|r| r.device == ws.device().to_hex()));
    assert!(matches!(
        relay.authorize(&ws.device()),
        Ok(Access::Device { .. })
    ));

    // Idle: a session that sends nothing is closed with the idle code.
    let mut idle = connect(&ws).await.unwrap();
    let err = idle.recv().await.unwrap_err();
    assert!(
        matches!(err, WsError::Refused { code, .. } if code == close::IDLE),
        "{err}"
    );
    drop(idle);

    // Pings do not keep an authenticated session alive: only application messages do.
    {
        use futures_util::{SinkExt, StreamExt};
        use tokio_tungstenite::tungstenite::Message;
        let sync_url = fieldcrm_net::ws::sync_url(&url).unwrap();
        let (mut s, _) = tokio_tungstenite::connect_async(sync_url.as_str())
            .await
            .unwrap();
        let Some(Ok(Message::Binary(first))) = s.next().await else {
            panic!("no challenge")
        };
        let c = fieldcrm_net::ws::Challenge::decode(&first).unwrap();
        let answer = fieldcrm_net::ws::AuthAnswer {
            device: ws.device(),
            signature: ws
                .secret()
                .sign(&fieldcrm_net::ws::auth_message(&c.nonce, &c.workspace_id)),
        };
        s.send(Message::Binary(answer.encode().into()))
            .await
            .unwrap();
        let Some(Ok(Message::Binary(ok))) = s.next().await else {
            panic!("not authenticated")
        };
        assert_eq!(ok.as_ref(), fieldcrm_net::ws::AUTH_OK);
        let started = std::time::Instant::now();
        let code = loop {
            tokio::select! {
                m = s.next() => match m {
                    Some(Ok(Message::Close(f))) => break f.map(|f| u16::from(f.code)),
                    Some(Ok(_)) => {}
                    _ => break None,
                },
                () = tokio::time::sleep(Duration::from_millis(300)) => {
                    let _ = s.send(Message::Ping(vec![1].into())).await;
                }
            }
        };
        assert_eq!(code, Some(close::IDLE));
        assert!(started.elapsed() < Duration::from_secs(4));
        assert!(relay.metrics_text().contains("reason=\"idle\"} 2"));
    }

    // Unauthenticated connections: at most `max_preauth_per_ip` from one address (more get
    // HTTP 503), each closed at the authentication deadline.
    {
        let sync_url = fieldcrm_net::ws::sync_url(&url).unwrap();
        let mut held = Vec::new();
        for _ in 0..2 {
            let (s, _) = tokio_tungstenite::connect_async(sync_url.as_str())
                .await
                .unwrap();
            held.push(s);
        }
        let err = connect(&ws).await.unwrap_err();
        assert!(err.is_busy(), "{err}");
        assert!(err.to_string().contains("unauthenticated"), "{err}");
        use futures_util::StreamExt;
        for mut s in held {
            let code = loop {
                match s.next().await {
                    Some(Ok(tokio_tungstenite::tungstenite::Message::Close(f))) => {
                        break f.map(|f| u16::from(f.code));
                    }
                    Some(Ok(_)) => {}
                    _ => break None,
                }
            };
            assert_eq!(code, Some(close::AUTH_TIMEOUT));
        }
        let m = relay.metrics_text();
        assert!(m.contains("reason=\"preauth_per_ip\"} 1"), "{m}");
        assert!(m.contains("reason=\"auth_timeout\"} 2"), "{m}");
    }

    // Busy: two sessions run; the third is turned away after authenticating.
    let a = connect(&ws).await.unwrap();
    let b = connect(&ws).await.unwrap();
    let err = connect(&ws).await.unwrap_err();
    assert!(err.is_busy(), "{err}");
    assert!(relay.metrics_text().contains("reason=\"busy\"} 1"));

    // A device's sync waits for a busy relay instead of failing: turned away while both
    // sessions run, it gets in once one of them ends.
    let syncing = {
        let (ws, url) = (ws.clone(), url.clone());
        tokio::spawn(async move {
            fieldcrm_connect::sync_relay(&ws, &url, 1_795_000_000_000, &mut NoProgress).await
        })
    };
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(
        !syncing.is_finished(),
        "the sync waits while the relay is busy"
    );
    let turned_away = busy_refusals(&relay.metrics_text());
    assert!(turned_away >= 3, "tried again: {turned_away}");
    drop(a);
    let outcome = tokio::time::timeout(Duration::from_secs(10), syncing)
        .await
        .expect("the sync ends once a session is free")
        .unwrap()
        .expect("the sync succeeds");
    assert!(outcome.refusals().is_empty(), "{:?}", outcome.refusals());
    // It says how often it was turned away: every busy refusal the relay counted since.
    assert_eq!(
        u64::from(outcome.busy_retries),
        busy_refusals(&relay.metrics_text()) - 1,
        "the first busy refusal was the raw connection's above"
    );
    assert!(outcome.busy_retries >= 3);
    drop(b);
    let a = connect(&ws).await.unwrap();
    let b = connect(&ws).await.unwrap();

    // Graceful shutdown: new sessions are refused, running ones are closed after the
    // grace period (0 here, well before their idle timeout) and `run` returns.
    let stopping = std::time::Instant::now();
    stop_tx.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("run returns after shutdown")
        .unwrap()
        .unwrap();
    assert!(stopping.elapsed() < Duration::from_millis(1500));
    for mut conn in [a, b] {
        let err = conn.recv().await.unwrap_err();
        assert!(
            matches!(err, WsError::Refused { code, .. } if code == close::SHUTDOWN),
            "{err}"
        );
    }
    assert_eq!(relay.active_sessions(), 0);
}
