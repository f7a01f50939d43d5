//! Direct sync on 127.0.0.1: `serve` on one workspace, `sync_peer` from another, the
//! after-sync steps on both sides, and the saved-remote / target rules.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::string_slice
)]

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fieldcrm_connect::{
    Counterpart, Error, Joined, NoProgress, ServeEvents, SyncOutcome, Target, add_remote, remotes,
    remove_remote, resolve_target, serve, sync, sync_peer,
};
use fieldcrm_model::{DeviceKey, DocKind, Lang, Role};
use fieldcrm_workspace::{InitOptions, NewCustomer, Workspace};

fn admin(dir: &Path) -> Workspace {
    let ws = Workspace::init(
        &dir.join("admin"),
        &InitOptions {
            user: "管理员".into(),
            role: Role::Admin,
            team: Some("总部".into()),
            region: None,
            company: "示例".into(),
            device_label: "laptop".into(),
        },
        1_000,
    )
    .unwrap();
    ws.add_user("小张", Role::Rep, Some("华东一组".into()), None, 2_000)
        .unwrap();
    ws
}

fn customer(ws: &Workspace, name: &str, owner: Option<&str>) {
    ws.add_customer(
        NewCustomer {
            name: name.into(),
            owner: owner.map(str::to_string),
            ..Default::default()
        },
        3_000,
    )
    .unwrap();
}

fn names(ws: &Workspace) -> Vec<String> {
    let mut n: Vec<String> = ws
        .list(&fieldcrm_workspace::Filter::default())
        .unwrap()
        .into_iter()
        .filter(|l| l.summary.kind == DocKind::Customer)
        .map(|l| l.summary.name)
        .collect();
    n.sort();
    n
}

#[derive(Default)]
struct Seen {
    refused: Mutex<Vec<DeviceKey>>,
    finished: Mutex<Vec<(Counterpart, bool)>>,
}

struct Events(Arc<Seen>);

impl ServeEvents for Events {
    fn refused(&self, device: &DeviceKey) {
        self.0.refused.lock().unwrap().push(*device);
    }
    fn finished(&self, with: &Counterpart, outcome: &fieldcrm_connect::Result<SyncOutcome>) {
        self.0
            .finished
            .lock()
            .unwrap()
            .push((with.clone(), outcome.is_ok()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rep_joins_by_direct_sync_and_receives_only_its_scope() {
    let dir = tempfile::tempdir().unwrap();
    let admin = admin(dir.path());
    customer(&admin, "甲公司", Some("小张"));
    customer(&admin, "总部直管客户", None);
    let rep = Workspace::join(&dir.path().join("rep"), admin.workspace_id()).unwrap();

    let seen = Arc::new(Seen::default());
    let mut serving = serve(
        admin.home(),
        "127.0.0.1:0".parse().unwrap(),
        || 9_000,
        Events(Arc::clone(&seen)),
    )
    .await
    .unwrap();
    let ticket = serving.ticket().clone();
    let bind = "127.0.0.1:0".parse().unwrap();

    // Not enrolled yet: refused before anything is exchanged.
    let err = sync_peer(&rep, &ticket, bind, 9_000, &mut NoProgress)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "peer-unreachable");
    assert!(err.message(Lang::En).contains("not enrolled"), "{err:?}");
    assert_eq!(*seen.refused.lock().unwrap(), vec![rep.device()]);

    admin
        .enroll_device(&rep.device(), "小张", "phone", 4_000)
        .unwrap();
    let mut updates = 0;
    let target = ticket.to_string();
    let out = sync(
        &rep,
        Some(&target),
        bind,
        9_000,
        &mut |_: &fieldcrm_connect::Report| updates += 1,
    )
    .await
    .unwrap();
    assert!(updates > 0);
    match &out.joined_as {
        Some(Joined::As { name, role, .. }) => {
            assert_eq!(name, "小张");
            assert_eq!(*role, Role::Rep);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        out.with,
        Counterpart::Device {
            key: admin.device(),
            user: Some("管理员".into())
        }
    );
    assert!(out.with.to_string().starts_with("管理员 ("));
    assert!(out.report.docs_saved >= 5, "{:?}", out.report);
    assert!(out.after.is_empty() && out.after.skipped.is_none());
    assert_eq!(names(&rep), vec!["甲公司"]);

    // The server ran its own after-sync and reported the session.
    assert!(serving.session_done().await);
    {
        let finished = seen.finished.lock().unwrap();
        assert_eq!(finished.len(), 1);
        assert!(finished[0].1);
        assert!(finished[0].0.to_string().starts_with("小张 ("));
    }

    // A second sync: nobody joins; only the rep's claim on its file, written after the
    // first sync, goes out.
    let out = sync_peer(&rep, &ticket, bind, 9_500, &mut NoProgress)
        .await
        .unwrap();
    assert!(out.joined_as.is_none());
    assert_eq!((out.report.docs_saved, out.report.docs_sent), (0, 1));
    assert!(serving.session_done().await);
    serving.shutdown(Duration::from_secs(1)).await;
}

#[test]
fn remotes_and_targets() {
    let dir = tempfile::tempdir().unwrap();
    let ws = admin(dir.path());
    assert!(matches!(resolve_target(&ws, None), Err(Error::NoRemote)));
    assert!(matches!(
        add_remote(&ws, "bad name", "ws://h:1"),
        Err(Error::BadRemoteName(_))
    ));
    let e = add_remote(&ws, "lab", "http://h:1").unwrap_err();
    assert_eq!(e.code(), "bad-url");
    assert!(e.is_usage());
    let r = add_remote(&ws, "lab", " ws://lab:7000/ ").unwrap();
    assert_eq!(r.url, "ws://lab:7000");
    // The only remote is the default.
    assert_eq!(
        resolve_target(&ws, None).unwrap(),
        Target::Relay("ws://lab:7000".into())
    );
    add_remote(&ws, "office", "ws://office:7000").unwrap();
    assert_eq!(
        resolve_target(&ws, None).unwrap(),
        Target::Relay("ws://office:7000".into())
    );
    assert_eq!(
        resolve_target(&ws, Some("lab")).unwrap(),
        Target::Relay("ws://lab:7000".into())
    );
    assert_eq!(
        resolve_target(&ws, Some("wss://x.example")).unwrap(),
        Target::Relay("wss://x.example".into())
    );
    assert!(matches!(
        resolve_target(&ws, Some("nope")),
        Err(Error::UnknownTarget(_))
    ));
    assert!(matches!(
        resolve_target(&ws, Some("fieldcrm1zzz")),
        Err(Error::BadTicket(_))
    ));
    let all: Vec<String> = remotes(&ws).unwrap().into_iter().map(|r| r.name).collect();
    assert_eq!(all, vec!["lab", "office"]);
    remove_remote(&ws, "lab").unwrap();
    let e = remove_remote(&ws, "lab").unwrap_err();
    assert!(matches!(e, Error::NoSuchRemote(_)));
    assert!(e.message(Lang::Zh).contains("没有名为 `lab` 的远程"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_relay_fails_with_its_url() {
    let dir = tempfile::tempdir().unwrap();
    let ws = admin(dir.path());
    // Nothing listens on port 1.
    let err = fieldcrm_connect::sync_relay(&ws, "ws://127.0.0.1:1", 5_000, &mut NoProgress)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "relay-failed");
    assert!(
        err.to_string()
            .contains("sync with the relay at ws://127.0.0.1:1 failed"),
        "{err}"
    );
    assert!(
        fieldcrm_connect::push_roster(&ws, 5_000, &mut NoProgress)
            .await
            .unwrap()
            .is_none(),
        "no office remote: nothing to push"
    );
}
