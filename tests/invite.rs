//! Issue 15: invitations through a real `fieldcrm-relay` process on loopback, driven by
//! the real `fieldcrm` binary: an admin invites, the new device joins with the code (or
//! the link) and syncs its scope; reused, expired, wrong and guessed codes are refused;
//! the relay refuses invitations not signed by an admin's device.

use std::io::{Read, Write};

use fieldcrm_model::invitation::code_secret;
use fieldcrm_model::{Invitation, InviteCode, Role, hex, new_entity_id};
use fieldcrm_net::ws::{FINDINGS_HEADERS, INVITATIONS_PATH, request_message};
use fieldcrm_workspace::Workspace;

use crate::relay::Office;
use crate::support::{Rep, device_key};

/// `fieldcrm invite … --json` on the admin's device.
fn invite(office: &Office, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["invite"];
    all.extend_from_slice(args);
    all.push("--json");
    office.admin.run(&all).json()
}

fn events(office: &Office) -> Vec<serde_json::Value> {
    std::fs::read_to_string(office.root.join("relay-data/invitations.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn an_invited_device_joins_with_the_code_and_syncs_its_scope() {
    let office = Office::new("");
    let qr = office.root.join("invite.svg");
    let inv = invite(
        &office,
        &[
            "--name",
            "张三",
            "--role",
            "rep",
            "--team",
            "华东",
            "--qr",
            qr.to_str().unwrap(),
        ],
    );
    let code = inv["code"].as_str().unwrap().to_string();
    assert_eq!(code.len(), 9, "{inv}");
    assert_eq!(code.chars().nth(4), Some('-'));
    let link = inv["link"].as_str().unwrap().to_string();
    assert!(
        link.starts_with("fieldcrm://join?relay=ws://127.0.0.1:"),
        "{link}"
    );
    assert!(link.contains(&format!("code={code}")), "{link}");
    assert!(std::fs::read_to_string(&qr).unwrap().contains("<svg"));

    // Read over the phone: lower case, no dash, O for 0 and l for 1.
    let typed: String = code
        .replace('-', "")
        .to_lowercase()
        .replace('0', "O")
        .replace('1', "l");
    let zhang = Rep::at(&office.root.join("zhang"));
    let out = zhang
        .run(&[
            "join",
            "--invite",
            &typed,
            "--relay",
            &office.relay.url,
            "--label",
            "张三的手机",
        ])
        .ok();
    assert!(out.contains("joined workspace"), "{out}");
    assert!(out.contains("as 张三 (rep, 华东)"), "{out}");
    let me = zhang.run(&["whoami", "--json"]).json();
    assert_eq!(me["user"], "张三");
    assert_eq!(me["role"], "rep");
    assert_eq!(me["team"], "华东");

    // The admin sees the device in the roster, invited by the admin's device.
    office.admin.ok(&["sync"]);
    let devices = office.admin.run(&["device", "list", "--json"]).json();
    let key = device_key(&zhang);
    assert_eq!(
        devices[&key]["invitation"]["invitation"]["created_by"],
        device_key(&office.admin)
    );
    let list = office.admin.ok(&["device", "list"]);
    assert!(list.contains("张三的手机"), "{list}");
    assert!(list.contains("管理员 ("), "{list}");

    // Its scope: the customers of 张三, not another rep's.
    let li = office.device("小李", "rep", "华南");
    office
        .admin
        .ok(&["customer", "add", "甲公司", "--owner", "张三"]);
    li.ok(&["customer", "add", "乙公司"]);
    li.ok(&["sync"]);
    office.admin.ok(&["sync"]);
    zhang.ok(&["sync"]);
    let names: Vec<String> = zhang
        .run(&["customer", "list", "--json"])
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, vec!["甲公司".to_string()]);
    // 张三's own work reaches the office.
    zhang.ok(&["customer", "add", "丙公司"]);
    zhang.ok(&["sync"]);
    office.admin.ok(&["sync"]);
    office.admin.ok(&["customer", "show", "丙公司"]);

    // The link works once: another device is refused, in both languages.
    let again = Rep::at(&office.root.join("thief"));
    let r = again.run(&["--lang", "zh", "join", &link]);
    r.fails_with("这个邀请已被另一台设备使用过");
    assert!(
        again
            .run(&["join", &link])
            .stderr
            .contains("already used by another device")
    );
    assert!(!again.home.join("workspace.redb").exists());

    let log = events(&office);
    let kinds: Vec<&str> = log.iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(&kinds[..3], ["created", "used", "enrolled"], "{log:?}");
    assert_eq!(log[0]["name"], "张三");
    assert_eq!(log[0]["by_user"], "管理员");
    assert_eq!(log[1]["device"], key.as_str());
    assert_eq!(log[1]["addr"], "127.0.0.1");
    assert!(kinds[3..].iter().all(|k| *k == "refused"), "{log:?}");
    assert!(
        log[3]["reason"].as_str().unwrap().starts_with("used"),
        "{log:?}"
    );
}

#[test]
fn another_device_of_an_existing_user() {
    let office = Office::new("");
    let rep = office.device("小张", "rep", "华东");
    rep.ok(&["customer", "add", "甲公司"]);
    rep.ok(&["sync"]);
    let inv = invite(&office, &["--user", "小张", "--valid", "1h"]);
    assert_eq!(inv["new_user"], false);
    let phone = Rep::at(&office.root.join("phone"));
    let out = phone.ok(&["join", inv["link"].as_str().unwrap(), "--label", "phone"]);
    assert!(out.contains("as 小张 (rep, 华东)"), "{out}");
    let names = phone.ok(&["customer", "list"]);
    assert!(names.contains("甲公司"), "{names}");
}

#[test]
fn wrong_expired_and_guessed_codes_are_refused() {
    let office = Office::new("");
    let url = office.relay.url.clone();
    // Expired: valid for one second.
    let short = invite(
        &office,
        &["--name", "王五", "--role", "rep", "--valid", "1s"],
    );
    std::thread::sleep(std::time::Duration::from_millis(1_500));
    let late = Rep::at(&office.root.join("late"));
    let r = late.run(&[
        "--lang",
        "zh",
        "join",
        "--invite",
        short["code"].as_str().unwrap(),
        "--relay",
        &url,
    ]);
    r.fails_with("邀请已过期");
    assert!(
        late.run(&[
            "join",
            "--invite",
            short["code"].as_str().unwrap(),
            "--relay",
            &url
        ])
        .stderr
        .contains("the invitation has expired")
    );

    // Guessing: wrong codes are refused, and after five failures from this address in
    // ten minutes even the right code is (the two expired attempts count too).
    let good = invite(&office, &["--name", "赵六", "--role", "rep"]);
    let guesser = Rep::at(&office.root.join("guesser"));
    for guess in ["AAAA-AAAA", "BBBB-BBBB", "CCCC-CCCC"] {
        guesser
            .run(&["--lang", "zh", "join", "--invite", guess, "--relay", &url])
            .fails_with("邀请码不对");
    }
    let right = |lang: &str| {
        guesser.run(&[
            "--lang",
            lang,
            "join",
            "--invite",
            good["code"].as_str().unwrap(),
            "--relay",
            &url,
        ])
    };
    let r = right("zh");
    assert!(r.stderr.contains("错误次数太多"), "{}", r.stderr);
    let r = right("en");
    assert!(
        r.stderr.contains("at most 5 failures per 10 minutes"),
        "{}",
        r.stderr
    );
    // A code that is not one is refused before anything is sent.
    guesser
        .run(&[
            "--lang",
            "zh",
            "join",
            "--invite",
            "ABCD-EFGU",
            "--relay",
            &url,
        ])
        .fails_with("--invite: 邀请码中不能有“U”");

    let log = events(&office);
    let refused: Vec<&str> = log
        .iter()
        .filter(|e| e["event"] == "refused")
        .map(|e| e["reason"].as_str().unwrap())
        .collect();
    // Two expired, three wrong codes, and the right code twice (Chinese, English) while
    // the address is held off.
    assert_eq!(refused.len(), 7, "{log:?}");
    assert!(refused[0].starts_with("expired"), "{refused:?}");
    assert!(refused[2].starts_with("wrong-code"), "{refused:?}");
    assert_eq!(refused[5], "rate-limited");
    assert_eq!(refused[6], "rate-limited");
}

/// POST a signed invitation to the relay as `ws`'s device; the status line and body.
fn post_invitation(url: &str, ws: &Workspace, inv: &Invitation) -> (String, String) {
    let host = url.trim_start_matches("ws://");
    let body = serde_json::to_vec(inv).unwrap();
    let at = jiff::Timestamp::now().as_millisecond();
    let nonce = new_entity_id();
    let msg = request_message("invite", ws.workspace_id(), &ws.device(), at, &nonce, &body);
    let [hd, ht, hn, hs] = FINDINGS_HEADERS;
    let mut s = std::net::TcpStream::connect(host).unwrap();
    write!(
        s,
        "POST {INVITATIONS_PATH} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {}\r\n{hd}: {}\r\n{ht}: {at}\r\n{hn}: {nonce}\r\n{hs}: {}\r\nConnection: close\r\n\r\n",
        body.len(),
        ws.device(),
        hex(&ws.secret().sign(&msg))
    )
    .unwrap();
    s.write_all(&body).unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    (head.lines().next().unwrap().to_string(), body.to_string())
}

fn invitation_by(ws: &Workspace) -> Invitation {
    let now = jiff::Timestamp::now().as_millisecond();
    let code = InviteCode::parse("K7QX-4M2P").unwrap();
    let mut inv = Invitation {
        workspace_id: ws.workspace_id().into(),
        id: new_entity_id(),
        user: new_entity_id(),
        new_user: true,
        name: "内鬼".into(),
        role: Role::Admin,
        team: None,
        created_at: now,
        expires_at: now + 3_600_000,
        code_key: code_secret(&code, ws.workspace_id()).public().to_hex(),
        created_by: String::new(),
        signature: String::new(),
    };
    inv.sign(ws.secret());
    inv
}

#[test]
fn the_relay_holds_only_invitations_an_admins_device_signed() {
    let office = Office::new("");
    let rep = office.device("小张", "rep", "华东");
    // The CLI refuses a rep at once.
    rep.run(&[
        "--lang", "zh", "invite", "--name", "内鬼", "--role", "admin",
    ])
    .fails_with("无权");
    rep.run(&["invite", "--name", "内鬼", "--role", "admin"])
        .fails_with("permission denied");

    // Past the CLI, the relay refuses it too: signed by a rep's device,
    let rep_ws = Workspace::open(&rep.home).unwrap();
    let (status, body) = post_invitation(&office.relay.url, &rep_ws, &invitation_by(&rep_ws));
    assert!(status.contains("403"), "{status} {body}");
    assert!(body.contains("\"forged\""), "{body}");
    drop(rep_ws);
    // by a device that is not enrolled,
    let stranger = Rep::at(&office.root.join("stranger"));
    stranger.ok(&[
        "join",
        "--workspace",
        &crate::cli_p2p::workspace_id(&office.admin),
    ]);
    let stranger_ws = Workspace::open(&stranger.home).unwrap();
    let (status, body) = post_invitation(
        &office.relay.url,
        &stranger_ws,
        &invitation_by(&stranger_ws),
    );
    assert!(status.contains("403"), "{status} {body}");
    // or an admin's invitation whose role was raised after it was signed.
    let admin_ws = Workspace::open(&office.admin.home).unwrap();
    let mut inv = invitation_by(&admin_ws);
    inv.role = Role::Rep;
    inv.sign(admin_ws.secret());
    inv.role = Role::Admin;
    let (status, body) = post_invitation(&office.relay.url, &admin_ws, &inv);
    assert!(status.contains("403"), "{status} {body}");
    assert!(
        body.contains("not signed by the device that sent it"),
        "{body}"
    );
    // The genuine one is held.
    inv.sign(admin_ws.secret());
    let (status, body) = post_invitation(&office.relay.url, &admin_ws, &inv);
    assert!(status.contains("200"), "{status} {body}");
    drop(admin_ws);
    let created = events(&office)
        .iter()
        .filter(|e| e["event"] == "created")
        .count();
    assert_eq!(created, 1);
}
