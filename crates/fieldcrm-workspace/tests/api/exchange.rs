//! Moving documents: signed bundles, CSV import and export, and who may open a sync
//! session.

use fieldcrm_model::{DocKind, Role};
use fieldcrm_sync::SessionRole;
use fieldcrm_testkit::{Kit, TEAM};
use fieldcrm_workspace::{ExportOptions, Workspace};

#[test]
fn a_scoped_bundle_carries_what_the_receiver_may_read() {
    let kit = Kit::new();
    let t = kit.team();
    let mine = kit.customer(&t.rep, "甲公司");
    let theirs = kit.customer(&t.rep2, "乙公司");
    kit.sync(&t.rep2, &t.admin);
    let r = kit.bundle(&t.rep, &t.admin).unwrap();
    assert!(r.updated.contains(&mine));
    // Importing it again changes nothing.
    let r = kit.bundle(&t.rep, &t.admin).unwrap();
    assert!(r.updated.is_empty());
    let fresh = kit.device_for(&t.admin, "周七", Role::Rep, Some("华南二组"));
    kit.bundle(&t.admin, &fresh).unwrap();
    let got = kit.fingerprint(&fresh);
    assert!(!got.contains(&mine) && !got.contains(&theirs));
    let r = kit.bundle(&t.admin, &t.rep).unwrap();
    assert!(!r.updated.contains(&theirs));
}

#[test]
fn bundle_export_refuses_unknown_and_ambiguous_devices() {
    let kit = Kit::new();
    let boss = kit.admin("王经理");
    let out = kit.path("x.bundle");
    let export = |ws: &Workspace, text: &str| {
        let opts = ExportOptions {
            for_device: Some(text.into()),
            since: None,
        };
        ws.export_bundle(&opts, &out, kit.now())
    };
    assert_eq!(
        export(&boss, "ffffffffffff").unwrap_err().code(),
        "not-found"
    );
    let a = Kit::key_with_prefix(&[0x12, 0x34, 0x56, 0x78], 1);
    let b = Kit::key_with_prefix(&[0x12, 0x34, 0x56, 0x78], 2);
    boss.enroll_device(&a, "王经理", "a", kit.now()).unwrap();
    boss.enroll_device(&b, "王经理", "b", kit.now()).unwrap();
    assert_eq!(export(&boss, "12345678").unwrap_err().code(), "ambiguous");
    assert!(!out.exists());
    boss.revoke_device(&b.to_hex(), kit.now()).unwrap();
    assert_eq!(export(&boss, &b.to_hex()).unwrap_err().code(), "revoked");
    export(&boss, &a.to_hex()[..10]).unwrap();
    let fresh = kit.joined(&boss);
    assert_eq!(
        fresh
            .export_bundle(&ExportOptions::default(), &out, kit.now())
            .unwrap_err()
            .code(),
        "no-roster-yet"
    );
}

#[test]
fn bundle_import_refuses_foreign_altered_and_out_of_scope_bundles() {
    let kit = Kit::new();
    let t = kit.team();
    let file = kit.path("all.bundle");
    t.admin
        .export_bundle(&ExportOptions::default(), &file, kit.now())
        .unwrap();

    // Another workspace.
    let other = kit.admin("别家管理员");
    let before = kit.fingerprint(&other);
    assert_eq!(
        other.import_bundle(&file).unwrap_err().code(),
        "invalid-input"
    );
    assert_eq!(kit.fingerprint(&other), before);

    // One altered byte.
    let mut data = std::fs::read(&file).unwrap();
    let mid = data.len() / 2;
    data[mid] ^= 0x40;
    let bad = kit.path("altered.bundle");
    std::fs::write(&bad, &data).unwrap();
    kit.refused(&t.rep, "invalid-input", |ws| ws.import_bundle(&bad));
    kit.refused(&t.rep, "io", |ws| {
        ws.import_bundle(&kit.path("missing.bundle"))
    });

    // A rep's device writes to the catalog behind the API's back: the admin refuses it.
    let catalog = Kit::singleton(DocKind::Catalog);
    t.rep
        .edit(&catalog, kit.now(), "forged", |doc| {
            Ok(doc.put(&["discount_allowance_bp", "rep"], &9_000i64)?)
        })
        .unwrap();
    let forged = kit.path("forged.bundle");
    t.rep
        .export_bundle(&ExportOptions::default(), &forged, kit.now())
        .unwrap();
    // Refused change by change, named, and nothing else of the bundle is blocked.
    let before = kit.fingerprint(&t.admin);
    let r = t.admin.import_bundle(&forged).unwrap();
    let refused = r.refused.join("\n");
    assert!(refused.contains("may not write catalog"), "{refused}");
    assert_eq!(r.refused.len(), 1, "{refused}");
    assert_eq!(t.admin.allowance_bp(&Role::Rep).unwrap(), 1_000);
    assert_eq!(kit.fingerprint(&t.admin), before);

    // A device nobody enrolled.
    let stranger = kit.joined(&t.admin);
    kit.copy_all(&t.admin, &stranger);
    let g = kit.path("stranger.bundle");
    stranger
        .export_bundle(&ExportOptions::default(), &g, kit.now())
        .unwrap();
    kit.refused(&t.admin, "invalid-input", |ws| ws.import_bundle(&g));
}

const CUSTOMERS: &str = "名称,行业,分类,负责人,联系人,电话\n甲公司,制造业,重要,小张,陈先生,138-0000-0000\n乙公司,零售,一般,,王女士,\n";

#[test]
fn customer_csv_import_is_all_or_nothing() {
    let kit = Kit::new();
    let t = kit.team();
    let r = t
        .manager
        .import_customers_csv(CUSTOMERS, kit.now())
        .unwrap();
    let names: Vec<_> = r.created.iter().map(|(_, n)| n.as_str()).collect();
    assert_eq!(names, ["甲公司", "乙公司"]);

    for bad in [
        "",
        "行业\n制造业\n",
        "名称,分类\n丙公司,VIP\n",
        "名称,电话\n丙公司,电话号码\n",
        "名称,负责人\n丙公司,无名氏\n",
        "名称\n丙公司\n丙公司\n",
        "名称\n甲公司\n",
        "名称,行业\n丙公司\n",
    ] {
        kit.refused(&t.manager, "invalid-input", |ws| {
            ws.import_customers_csv(bad, kit.now())
        });
    }
    // A rep imports customers for themself, not for others.
    t.rep
        .import_customers_csv("名称\n丁公司\n", kit.now())
        .unwrap();
    kit.refused(&t.rep, "invalid-input", |ws| {
        ws.import_customers_csv("名称,负责人\n戊公司,小李\n", kit.now())
    });
}

#[test]
fn channel_csv_import_is_for_those_who_register_channels() {
    let kit = Kit::new();
    let t = kit.team();
    let csv = "名称,类型,区域,产品线\n华东分销,分销商,华东,工业泵;阀门\n";
    let r = t
        .channel_manager
        .import_channels_csv(csv, kit.now())
        .unwrap();
    assert_eq!(r.created.len(), 1);
    for dev in [&t.rep, &t.legal] {
        kit.refused(dev, "permission-denied", |ws| {
            ws.import_channels_csv(csv, kit.now())
        });
    }
    for bad in [
        "名称,类型\n某渠道,批发\n",
        "名称\n某渠道\n",
        "名称,类型\n华东分销,代理商\n",
    ] {
        kit.refused(&t.channel_manager, "invalid-input", |ws| {
            ws.import_channels_csv(bad, kit.now())
        });
    }
}

#[test]
fn exports_list_what_the_user_may_read() {
    let kit = Kit::new();
    let t = kit.team();
    kit.customer(&t.rep, "甲公司");
    kit.customer(&t.rep2, "乙公司");
    kit.sync(&t.rep, &t.admin);
    kit.sync(&t.rep2, &t.admin);
    kit.copy_all(&t.admin, &t.rep);
    let table = t.rep.export_rows(&DocKind::Customer).unwrap();
    let names: Vec<_> = table
        .rows
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["甲公司"]);
    assert!(table.to_csv().contains("甲公司"));
    assert_eq!(
        t.admin.export_rows(&DocKind::Customer).unwrap().rows.len(),
        2
    );
    assert_eq!(
        t.rep.export_rows(&DocKind::Roster).unwrap_err().code(),
        "invalid-input"
    );
    assert_eq!(
        kit.joined(&t.admin)
            .export_rows(&DocKind::Customer)
            .unwrap_err()
            .code(),
        "no-roster-yet"
    );
}

#[test]
fn sync_sessions_are_for_enrolled_active_peers() {
    let kit = Kit::new();
    let boss = kit.admin("王经理");
    let rep = kit.device_for(&boss, "小张", Role::Rep, Some(TEAM));
    let c = kit.customer(&rep, "甲公司");
    let s = kit.sync(&rep, &boss);
    // The customer file and its claim in the Sales document.
    assert_eq!(s.b.docs_saved, 2);
    assert!(boss.store().contains(&c).unwrap());

    let stranger = kit.joined(&boss);
    let e = boss
        .sync_session(SessionRole::Responder, &stranger.device())
        .map(drop)
        .unwrap_err();
    assert_eq!(e.code(), "not-enrolled");
    assert!(kit.try_sync(&stranger, &boss).is_err());

    boss.update_user("小张", None, None, None, Some(false), kit.now())
        .unwrap();
    let e = boss
        .sync_session(SessionRole::Responder, &rep.device())
        .map(drop)
        .unwrap_err();
    assert_eq!(e.code(), "permission-denied");
    assert_eq!(
        boss.peer_user(&rep.device()).unwrap_err().code(),
        "permission-denied"
    );
}
