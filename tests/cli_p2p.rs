//! Issue #3's "done when": two workspaces that each recorded offline work sync with
//! `fieldcrm serve` / `fieldcrm sync` over iroh on loopback and end identical.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{Rep, admin_with_team, device_key};

/// A `fieldcrm serve --once` process; killed if the test fails.
pub(crate) struct Server(pub(crate) Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) fn serve_once(rep: &Rep) -> (Server, String) {
    let ticket_file = rep.home.with_extension("ticket");
    let _ = std::fs::remove_file(&ticket_file);
    let child = Command::new(env!("CARGO_BIN_EXE_fieldcrm"))
        .args(["serve", "--once", "--bind", "127.0.0.1:0", "--ticket-file"])
        .arg(&ticket_file)
        .env("FIELDCRM_HOME", &rep.home)
        .env("FIELDCRM_NOW", &rep.now)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start fieldcrm serve");
    let server = Server(child);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(t) = std::fs::read_to_string(&ticket_file)
            && t.starts_with("fieldcrm1")
        {
            return (server, t);
        }
        assert!(Instant::now() < deadline, "serve printed no ticket");
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub(crate) fn sync_with(client: &Rep, server: &Rep) -> String {
    let (mut srv, ticket) = serve_once(server);
    let out = client.ok(&["sync", &ticket, "--bind", "127.0.0.1:0"]);
    let status = srv.0.wait().expect("serve exits after one session");
    assert!(status.success(), "serve failed");
    out
}

pub(crate) fn workspace_id(rep: &Rep) -> String {
    rep.run(&["whoami", "--json"]).json()["workspace_id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn two_reps_work_offline_then_sync_directly() {
    let admin = admin_with_team();
    let ws = workspace_id(&admin);
    let rep = Rep::at(&admin.home.with_file_name("rep-device"));
    rep.run(&["customer", "list"])
        .fails_with("no fieldcrm workspace");
    rep.ok(&["join", "--workspace", &ws]);
    rep.run(&["customer", "list"])
        .fails_with("has not received the workspace yet");
    let key = device_key(&rep);
    // Not enrolled yet: refused before anything is exchanged.
    let (srv, ticket) = serve_once(&admin);
    rep.run(&["sync", &ticket, "--bind", "127.0.0.1:0"])
        .fails_with("not enrolled");
    drop(srv);
    admin.ok(&[
        "device",
        "add",
        &key,
        "--user",
        "小张",
        "--label",
        "小张的手机",
    ]);
    admin.ok(&[
        "customer",
        "add",
        "甲公司",
        "--owner",
        "小张",
        "--class",
        "key",
    ]);
    admin.ok(&["customer", "add", "总部直管客户"]);

    let out = sync_with(&rep, &admin);
    assert!(out.contains("joined workspace as 小张"), "{out}");
    let mine = rep.run(&["customer", "list", "--json"]).json();
    let names: Vec<&str> = mine
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        vec!["甲公司"],
        "a rep receives only the customers in its read scope"
    );

    // Both work offline.
    rep.ok(&["contact", "add", "甲公司", "张伟", "--phone", "13800000001"]);
    rep.ok(&[
        "interaction",
        "log",
        "甲公司",
        "--kind",
        "visit",
        "--summary",
        "现场拜访",
    ]);
    rep.ok(&["customer", "add", "乙公司", "--class", "potential"]);
    admin.ok(&[
        "contact",
        "add",
        "甲公司",
        "李娜",
        "--email",
        "li@example.cn",
    ]);
    admin.ok(&["customer", "edit", "甲公司", "--industry", "制造业"]);

    let out = sync_with(&rep, &admin);
    assert!(out.contains("synced with 管理员"), "{out}");
    for side in [&rep, &admin] {
        let c = side.run(&["customer", "show", "甲公司", "--json"]).json();
        let mut contacts: Vec<&str> = c["contacts"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v["name"].as_str().unwrap())
            .collect();
        contacts.sort();
        assert_eq!(contacts, vec!["张伟", "李娜"]);
        assert_eq!(c["industry"], "制造业");
        assert_eq!(c["interactions"].as_object().unwrap().len(), 1);
    }
    let a = admin.run(&["customer", "show", "甲公司", "--json"]).json();
    let r = rep.run(&["customer", "show", "甲公司", "--json"]).json();
    assert_eq!(a, r, "both devices end with identical documents");
    assert!(admin.ok(&["customer", "list"]).contains("乙公司"));

    // Nothing changed: a second sync moves no documents.
    let out = sync_with(&rep, &admin);
    assert!(
        out.contains("received 0 document(s), sent 0 document(s)"),
        "{out}"
    );

    // A revoked device is refused.
    admin.ok(&["device", "revoke", &key[..8]]);
    let (_srv, ticket) = serve_once(&admin);
    rep.run(&["sync", &ticket, "--bind", "127.0.0.1:0"])
        .fails_with("not enrolled");
}

#[test]
fn the_serving_device_goes_on_recording_work_while_it_serves() {
    let admin = admin_with_team();
    let ws = workspace_id(&admin);
    let rep = Rep::at(&admin.home.with_file_name("rep-device"));
    rep.ok(&["join", "--workspace", &ws]);
    admin.ok(&["device", "add", &device_key(&rep), "--user", "小张"]);
    admin.ok(&["customer", "add", "甲公司", "--owner", "小张"]);
    let (mut srv, ticket) = serve_once(&admin);
    // While serving (before and between sessions), the admin keeps working.
    admin.ok(&["customer", "add", "乙公司", "--owner", "小张"]);
    admin.ok(&["customer", "list"]);
    rep.ok(&["sync", &ticket, "--bind", "127.0.0.1:0"]);
    assert!(srv.0.wait().unwrap().success(), "serve failed");
    let names = rep.ok(&["customer", "list"]);
    assert!(
        names.contains("甲公司") && names.contains("乙公司"),
        "the work recorded while serving was served: {names}"
    );
}
