//! Changes waiting to go (`Workspace::waiting`, fieldcrm-workspace `pending.rs`) against a
//! real relay served on loopback: edits made offline wait, a sync sends them and the
//! count goes back to zero.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::string_slice
)]

#[allow(dead_code)] // only `admin` is used here
mod common;

use fieldcrm_connect::{NoProgress, sync_relay};
use fieldcrm_model::{DocKind, InteractionKind};
use fieldcrm_relay::{Config, Relay};
use fieldcrm_workspace::NewCustomer;

/// 2026-11-29 14:00 in Shanghai.
const NOW: i64 = 1_795_932_000_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_edits_made_offline_wait_until_a_sync_with_the_relay_sends_them() {
    let dir = tempfile::tempdir().unwrap();
    let ws = common::admin(dir.path());
    let mut config = Config::default();
    config.data_dir = dir.path().join("relay");
    config.http_listen = "127.0.0.1:0".parse().unwrap();
    config.iroh_listen = None;
    Relay::init(&config.data_dir, ws.workspace_id(), ws.device()).unwrap();
    let relay = Relay::open(config).unwrap();
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
    let customer = |name: &str, at: i64| {
        ws.add_customer(
            NewCustomer {
                name: name.into(),
                ..Default::default()
            },
            at,
        )
        .unwrap()
    };

    // Never synced: everything made here waits (the workspace documents and 甲公司).
    let jia = customer("甲公司", NOW - 60_000);
    let w = ws.waiting(&url, 10).unwrap();
    assert!(!w.synced_before);
    assert_eq!(w.docs, 5, "{w:?}");
    sync_relay(&ws, &url, NOW - 50_000, &mut NoProgress)
        .await
        .unwrap();
    let w = ws.waiting(&url, 10).unwrap();
    assert!(w.synced_before);
    assert_eq!((w.docs, w.changes), (0, Some(0)), "{w:?}");
    assert!(ws.changed_for(&url).unwrap().is_empty());

    // Three edits offline: a visit logged on 甲公司, two new customers.
    ws.log_interaction(
        &jia,
        InteractionKind::Visit,
        NOW - 40_000,
        "上门拜访",
        None,
        NOW - 40_000,
    )
    .unwrap();
    let yi = customer("乙公司", NOW - 30_000);
    let bing = customer("丙公司", NOW - 20_000);
    let w = ws.waiting(&url, 2).unwrap();
    assert_eq!((w.docs, w.changes), (3, Some(3)), "{w:?}");
    // The next session names exactly these three to the relay.
    let mut named = ws.changed_for(&url).unwrap();
    named.sort();
    let mut want = vec![jia.clone(), yi.clone(), bing.clone()];
    want.sort();
    assert_eq!(named, want);
    // A peer never synced with is named what changed since the latest sync with anyone.
    let mut other = ws.changed_for("device:00").unwrap();
    other.sort();
    assert_eq!(other, want);
    let names: Vec<&str> = w.latest.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(
        names,
        ["丙公司", "乙公司"],
        "the latest first, two asked for"
    );
    assert!(w.latest.iter().all(|d| d.kind == DocKind::Customer));
    for id in [&yi, &bing] {
        assert!(!relay.store().contains(id).unwrap(), "not on the relay yet");
    }

    // The sync sends them (and this user's customer claims with them): nothing waits, and
    // the relay holds every document at this device's heads.
    let outcome = sync_relay(&ws, &url, NOW, &mut NoProgress).await.unwrap();
    assert!(outcome.refusals().is_empty(), "{:?}", outcome.refusals());
    let w = ws.waiting(&url, 10).unwrap();
    assert_eq!(
        (w.docs, w.changes, w.latest.len()),
        (0, Some(0), 0),
        "{w:?}"
    );
    for (id, heads) in ws.store().all_heads().unwrap() {
        assert_eq!(relay.store().heads(&id).unwrap(), Some(heads), "{id}");
    }
    assert!(ws.changed_for(&url).unwrap().is_empty());

    let _ = stop_tx.send(());
    server.await.unwrap().unwrap();
}
