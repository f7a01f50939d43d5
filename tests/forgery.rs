//! Signed changes through the real binaries: forged changes planted on a device (with the
//! workspace API, behind the CLI's back) are refused by the office relay (a real
//! `fieldcrm-relay` process), by a peer over `fieldcrm serve` / `fieldcrm sync TICKET`
//! and by `fieldcrm bundle import`, each named (document, change, author device,
//! reason) with exit code 3, while the honest work sent with them arrives; and a change
//! forwarded by another device keeps its author all the way through the relay.
//!
//! The API-level matrix (every forgery at every in-process entry) is in
//! `crates/fieldcrm-workspace/tests/api/forgery.rs`. A replayed signed `/v1/findings`
//! request is covered in `relay.rs`.

use std::path::Path;

use fieldcrm_model::{Approval, DeviceKey, DocId, DocKind, Document, Role, short_id};
use fieldcrm_workspace::Workspace;

use crate::cli_p2p::{serve_once, sync_with};
use crate::relay::Office;
use crate::support::{Rep, device_key};

/// How a planted change is signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sign {
    /// Not at all.
    Not,
    /// By the device it is planted on.
    Own,
    /// By the device it is planted on, then one bit of the signature flipped.
    Flipped,
}

/// Commit `edit` on the copy of `doc` (a customer name, or `roster`) held in `home`,
/// under `actor` (the device's own when `None`), and store it there signed as `sign`
/// says, behind the CLI's back. Returns the change hash (hex).
fn plant(
    home: &Path,
    doc: &str,
    actor: Option<DeviceKey>,
    sign: Sign,
    edit: impl FnOnce(&mut Document, &Workspace),
) -> String {
    let ws = Workspace::open(home).unwrap();
    let id = if doc == "roster" {
        DocId::workspace(&DocKind::Roster)
    } else {
        ws.resolve(Some(&DocKind::Customer), doc).unwrap()
    };
    let mut d = ws.load(&id).unwrap();
    let before = d.heads();
    if let Some(a) = actor {
        d.automerge_mut().set_actor(a.actor());
    }
    edit(&mut d, &ws);
    let hash = d.commit(1_795_917_600_000, "forged").unwrap();
    let data = d.automerge_mut().save_after(&before);
    let mut sigs = Vec::new();
    if sign != Sign::Not {
        let mut sig = ws.secret().sign_change(&hash);
        if sign == Sign::Flipped {
            sig[40] ^= 0x01;
        }
        sigs.push((hash, sig));
    }
    ws.store()
        .apply_batch([(&id, data.as_slice(), sigs.as_slice())])
        .unwrap();
    hash.to_string()
}

/// A device's key as a `DeviceKey`.
fn key_of(dev: &Rep) -> DeviceKey {
    device_key(dev).parse().unwrap()
}

/// The short ID of a document on a device (a customer name, or `roster`).
fn short_doc(dev: &Rep, doc: &str) -> String {
    if doc == "roster" {
        return DocId::workspace(&DocKind::Roster).short().to_string();
    }
    let c = dev.run(&["customer", "show", doc, "--json"]).json();
    short_id(c["id"].as_str().unwrap()).to_string()
}

/// `out` has a line naming the document, the change, the author device and one of
/// `reasons`.
#[track_caller]
fn assert_named(out: &str, doc: &str, hash: &str, author: &str, reasons: &[&str]) {
    let line = out
        .lines()
        .flat_map(|l| l.split("; "))
        .find(|l| l.contains(short_id(hash)))
        .unwrap_or_else(|| panic!("change {} is not named in:\n{out}", short_id(hash)));
    let full = out
        .lines()
        .find(|l| l.contains(short_id(hash)))
        .unwrap_or_default();
    assert!(full.contains(doc), "document {doc} is not named in: {full}");
    assert!(
        line.contains(&format!("by device {}", short_id(author))),
        "author {} is not named in: {line}",
        short_id(author)
    );
    assert!(
        reasons.iter().any(|r| line.contains(r)),
        "no reason ({reasons:?}) in: {line}"
    );
}

fn customer(dev: &Rep, name: &str) -> serde_json::Value {
    dev.run(&["customer", "show", name, "--json"]).json()
}

fn customer_names(dev: &Rep) -> Vec<String> {
    dev.run(&["customer", "list", "--json"])
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect()
}

/// A manager's sign-off on the class, written by `forger` under the manager's key.
fn forge_sign_off(forger: &Rep, mgr: &Rep, doc: &str, sign: Sign) -> String {
    let mgr_key = key_of(mgr);
    plant(&forger.home, doc, Some(mgr_key), sign, |d, ws| {
        let uid = ws
            .roster()
            .unwrap()
            .device_user(&mgr_key)
            .unwrap()
            .0
            .to_string();
        d.put_new_object(
            &["class_exception"],
            &Approval {
                covers: Default::default(),
                by: uid,
                at: 1_795_917_600_000,
                note: Some("伪造的经理审批".into()),
            },
        )
        .unwrap();
    })
}

/// Issue "done when", the relay entry: four forgeries on a rep's device — the manager's
/// sign-off under the manager's actor ID unsigned, the same signed with the rep's key,
/// the rep's change with a flipped signature bit, and the rep promoting itself in the
/// roster — go up in one `fieldcrm sync`. The relay refuses each by name (exit 3) and
/// takes everything else: the rep's honest edits of the same files, a new file, and an
/// admin's roster change the rep carries; the manager receives those and no forgery.
#[test]
fn the_relay_refuses_each_forgery_by_name_and_takes_the_rest() {
    let office = Office::new("");
    let mgr = office.device("王经理", "manager", "华东");
    let rep = office.device("小张", "rep", "华东");
    mgr.ok(&["sync"]);
    for c in ["甲公司", "丙公司", "丁公司"] {
        rep.ok(&["customer", "add", c]);
    }
    rep.ok(&["sync"]);
    mgr.ok(&["sync"]);
    assert_eq!(customer_names(&mgr).len(), 3);

    // Honest work: an edit of each file, a new file, and an admin's roster change the
    // relay has not seen, carried to the rep by a bundle.
    for (c, address) in [
        ("甲公司", "上海市一号路"),
        ("丙公司", "上海市二号路"),
        ("丁公司", "上海市三号路"),
    ] {
        rep.ok(&["customer", "edit", c, "--address", address]);
    }
    rep.ok(&["customer", "add", "乙公司"]);
    office.admin.ok(&[
        "user",
        "add",
        "新来的小王",
        "--role",
        "rep",
        "--team",
        "华东",
    ]);
    let bundle = office.root.join("roster.bundle");
    let b = bundle.to_str().unwrap();
    office
        .admin
        .ok(&["bundle", "export", "--for", &device_key(&rep), "-o", b]);
    rep.ok(&["bundle", "import", b]);

    // The forgeries.
    let (mgr_hex, rep_hex) = (device_key(&mgr), device_key(&rep));
    let unsigned = forge_sign_off(&rep, &mgr, "甲公司", Sign::Not);
    let forger_signed = forge_sign_off(&rep, &mgr, "丙公司", Sign::Own);
    let flipped = plant(&rep.home, "丁公司", None, Sign::Flipped, |d, _| {
        d.put(&["industry"], &Some("篡改过的行业".to_string()))
            .unwrap();
    });
    let promoted = plant(&rep.home, "roster", None, Sign::Own, |d, ws| {
        let me = ws.me().unwrap();
        d.put(&["users", &me.user_id, "role"], &Role::Admin)
            .unwrap();
    });

    let out = rep.run(&["sync"]).refused();
    assert!(out.contains("refused by peer"), "{out}");
    let bad_sig = ["signature does not verify", "is not signed"];
    assert_named(
        &out,
        &short_doc(&rep, "甲公司"),
        &unsigned,
        &mgr_hex,
        &bad_sig,
    );
    assert_named(
        &out,
        &short_doc(&rep, "丙公司"),
        &forger_signed,
        &mgr_hex,
        &bad_sig[..1],
    );
    assert_named(
        &out,
        &short_doc(&rep, "丁公司"),
        &flipped,
        &rep_hex,
        &bad_sig[..1],
    );
    assert_named(
        &out,
        &short_doc(&rep, "roster"),
        &promoted,
        &rep_hex,
        &["only an admin's device may change the roster"],
    );

    // The manager gets the honest work through the relay, and no forgery.
    mgr.ok(&["sync"]);
    for (c, address) in [
        ("甲公司", "上海市一号路"),
        ("丙公司", "上海市二号路"),
        ("丁公司", "上海市三号路"),
    ] {
        let got = customer(&mgr, c);
        assert_eq!(got["address"], address, "{got}");
        assert!(got["class_exception"].is_null(), "{got}");
        assert!(got["industry"].is_null(), "{got}");
    }
    assert!(customer_names(&mgr).contains(&"乙公司".to_string()));
    let users = mgr.run(&["user", "list", "--json"]).json().to_string();
    assert!(users.contains("新来的小王"), "{users}");
    let roster = Workspace::open(&mgr.home).unwrap().roster().unwrap();
    let (_, rep_user) = roster.device_user(&key_of(&rep)).unwrap();
    assert_eq!(rep_user.role, Role::Rep);
    for c in ["甲公司", "丙公司", "丁公司"] {
        let h = mgr.run(&["doc", "history", c, "--json"]).json().to_string();
        for forged in [&unsigned, &forger_signed, &flipped] {
            assert!(!h.contains(forged.as_str()), "{c}: {h}");
        }
    }
}

/// Issue "done when", the relay entry for revocation: a rep's old phone edits a file
/// before and after an admin revokes it; the rep's current device, which has not heard
/// of the revocation, takes both over a direct sync and carries them to the relay. The
/// relay keeps the earlier one and refuses the later one by name (exit 3); the rep's own
/// edit of the same file and a new file arrive; the manager never sees the later one.
#[test]
fn the_relay_refuses_a_revoked_devices_later_change_and_keeps_its_earlier_one() {
    let mut office = Office::new("");
    let mgr = office.device("王经理", "manager", "华东");
    let rep = office.device("小张", "rep", "华东");
    let mut old = office.enroll("小张", "dev-小张-old-phone");
    for dev in [&mgr, &rep] {
        dev.ok(&["sync"]); // the roster with the devices enrolled after them
    }
    rep.ok(&["customer", "add", "甲公司"]);
    rep.ok(&["sync"]);
    old.ok(&["sync"]);
    mgr.ok(&["sync"]);

    old.now = "2026-11-29T09:10:00+08:00".into();
    old.ok(&["customer", "edit", "甲公司", "--region", "吊销前写的地区"]);
    office.admin.now = "2026-11-29T09:20:00+08:00".into();
    let out = office
        .admin
        .ok(&["device", "revoke", &device_key(&old)[..12]]);
    assert!(out.contains("synced with relay"), "{out}");
    old.now = "2026-11-29T09:30:00+08:00".into();
    old.ok(&["customer", "edit", "甲公司", "--industry", "吊销后写的行业"]);
    let late = old.run(&["doc", "history", "甲公司", "--json"]).json();
    let late = late.as_array().unwrap().last().unwrap()["hash"]
        .as_str()
        .unwrap()
        .to_string();

    rep.ok(&["customer", "edit", "甲公司", "--address", "上海市一号路"]);
    rep.ok(&["customer", "add", "乙公司"]);
    sync_with(&rep, &old);
    assert_eq!(customer(&rep, "甲公司")["industry"], "吊销后写的行业");

    let out = rep.run(&["sync"]).refused();
    assert_named(
        &out,
        &short_doc(&rep, "甲公司"),
        &late,
        &device_key(&old),
        &["was revoked before it made this change"],
    );
    mgr.ok(&["sync"]);
    let got = customer(&mgr, "甲公司");
    assert_eq!(got["region"], "吊销前写的地区", "{got}");
    assert_eq!(got["address"], "上海市一号路", "{got}");
    assert!(got["industry"].is_null(), "{got}");
    assert!(customer_names(&mgr).contains(&"乙公司".to_string()));
}

/// Issue "done when", provenance: a change made on 小张's device, synced directly to the
/// manager's phone, then from the phone to the relay, reaches the manager's laptop (which
/// only talks to the relay) with 小张's device and user as its author.
#[test]
fn a_forwarded_change_reaches_the_manager_through_the_relay_under_its_authors_name() {
    let office = Office::new("");
    let phone = office.device("王经理", "manager", "华东");
    let rep = office.device("小张", "rep", "华东");
    let laptop = office.enroll("王经理", "dev-王经理-laptop");
    for dev in [&phone, &rep] {
        dev.ok(&["sync"]); // the roster with the devices enrolled after them
    }
    rep.ok(&["customer", "add", "甲公司"]);
    rep.ok(&["sync"]);
    phone.ok(&["sync"]);
    laptop.ok(&["sync"]);

    // 小张 works offline, then syncs with the manager's phone directly, not the relay.
    rep.ok(&[
        "customer",
        "edit",
        "甲公司",
        "--class",
        "potential",
        "--industry",
        "精密制造",
    ]);
    let h = rep.run(&["doc", "history", "甲公司", "--json"]).json();
    let hash = h.as_array().unwrap().last().unwrap()["hash"]
        .as_str()
        .unwrap()
        .to_string();
    let out = sync_with(&phone, &rep);
    assert!(out.contains("received 1 document(s)"), "{out}");
    phone.ok(&["sync"]);
    laptop.ok(&["sync"]);

    assert_eq!(customer(&laptop, "甲公司")["industry"], "精密制造");
    let h = laptop.run(&["doc", "history", "甲公司", "--json"]).json();
    let entry = h
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["hash"] == hash.as_str())
        .unwrap_or_else(|| panic!("change {hash} is not in the laptop's history: {h}"));
    assert_eq!(
        entry["author"]["device"],
        device_key(&rep).as_str(),
        "{entry}"
    );
    assert_eq!(entry["author"]["user"], "小张", "{entry}");
    assert_eq!(entry["author"]["role"], "rep", "{entry}");
    let table = laptop.ok(&["doc", "history", "甲公司"]);
    let row = table.lines().find(|l| l.contains(short_id(&hash))).unwrap();
    assert!(row.contains("小张"), "{row}");
}

/// Issue "done when", at CLI level outside the relay: a forged change is refused by the
/// receiving device over `fieldcrm serve` / `fieldcrm sync TICKET` and by
/// `fieldcrm bundle import`, each exiting 3 and naming the change; the honest work
/// arrives both ways.
#[test]
fn direct_sync_and_bundle_import_exit_3_naming_the_refused_change() {
    let office = Office::new("");
    let mgr = office.device("王经理", "manager", "华东");
    let rep = office.device("小张", "rep", "华东");
    mgr.ok(&["sync"]);
    rep.ok(&["customer", "add", "甲公司"]);
    rep.ok(&["sync"]);
    mgr.ok(&["sync"]);
    rep.ok(&["customer", "edit", "甲公司", "--address", "上海市一号路"]);
    rep.ok(&["customer", "add", "乙公司"]);
    let forged = forge_sign_off(&rep, &mgr, "甲公司", Sign::Own);
    let doc = short_doc(&rep, "甲公司");
    let reason = ["signature does not verify under the key of the device it names"];

    // A bundle, imported by a fresh copy of the manager's device.
    let file = office.root.join("rep.bundle");
    let f = file.to_str().unwrap();
    rep.ok(&["bundle", "export", "--for", &device_key(&mgr), "-o", f]);
    let out = mgr.run(&["bundle", "import", f]).refused();
    assert!(out.contains("refused"), "{out}");
    assert_named(&out, &doc, &forged, &device_key(&mgr), &reason);
    let got = customer(&mgr, "甲公司");
    assert_eq!(got["address"], "上海市一号路", "{got}");
    assert!(got["class_exception"].is_null(), "{got}");
    assert!(customer_names(&mgr).contains(&"乙公司".to_string()));
    let json = mgr.run(&["bundle", "import", f, "--json"]);
    assert_eq!(json.code, 3, "{}", json.stderr);
    let json: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(json["refused"].as_array().unwrap().len(), 1, "{json}");

    // A direct sync: the rep serves, the manager's device dials and refuses.
    rep.ok(&["customer", "edit", "乙公司", "--address", "上海市二号路"]);
    let (mut srv, ticket) = serve_once(&rep);
    let out = mgr
        .run(&["sync", &ticket, "--bind", "127.0.0.1:0"])
        .refused();
    let _ = srv.0.wait();
    assert!(out.contains("refused here"), "{out}");
    assert_named(&out, &doc, &forged, &device_key(&mgr), &reason);
    assert_eq!(customer(&mgr, "乙公司")["address"], "上海市二号路");
    assert!(customer(&mgr, "甲公司")["class_exception"].is_null());
}
