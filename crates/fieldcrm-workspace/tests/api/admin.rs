//! Administration: the workspace itself (init, join, open, time zone), the catalog and
//! price policy, rule settings, users and devices, targets and reports.

use fieldcrm_model::{DocKind, Lang, Product, Role, RuleSetting};
use fieldcrm_testkit::{Kit, TEAM};
use fieldcrm_workspace::{InitOptions, Workspace};

fn product(name: &str, list: i64, floor: i64) -> Product {
    Product {
        name: name.into(),
        product_line: "工业泵".into(),
        list_price: list,
        floor_price: floor,
    }
}

#[test]
fn init_join_and_open_refuse_what_they_cannot_do() {
    let kit = Kit::new();
    let boss = kit.admin("王经理");
    let opts = InitOptions {
        user: "又一个".into(),
        role: Role::Admin,
        team: None,
        region: None,
        company: "示例".into(),
        device_label: "laptop".into(),
    };
    let e = Workspace::init(boss.home(), &opts, kit.now()).unwrap_err();
    assert_eq!(e.code(), "already-initialised");
    let e = Workspace::join(boss.home(), boss.workspace_id()).unwrap_err();
    assert_eq!(e.code(), "already-initialised");
    let e = Workspace::join(&kit.path("bad"), "not-a-workspace-id").unwrap_err();
    assert_eq!(e.code(), "invalid-input");
    let e = Workspace::open(&kit.path("nowhere")).unwrap_err();
    assert_eq!(e.code(), "not-initialised");
    assert_ne!(e.message(Lang::Zh), e.message(Lang::En));

    let home = boss.home().to_path_buf();
    let id = boss.workspace_id().to_string();
    drop(boss);
    let again = Workspace::open(&home).unwrap();
    assert_eq!(again.workspace_id(), id);
    assert_eq!(again.me().unwrap().user.name, "王经理");
}

#[test]
fn a_time_zone_must_exist() {
    let kit = Kit::new();
    let boss = kit.admin("王经理");
    assert_eq!(boss.timezone().unwrap(), "Asia/Shanghai");
    boss.set_timezone("Europe/Berlin").unwrap();
    assert_eq!(boss.timezone().unwrap(), "Europe/Berlin");
    let e = boss.set_timezone("Mars/Olympus").unwrap_err();
    assert_eq!(e.code(), "invalid-input");
    assert_eq!(boss.timezone().unwrap(), "Europe/Berlin");
}

#[test]
fn the_catalog_is_kept_by_managers_and_admins() {
    let kit = Kit::new();
    let t = kit.team();
    t.manager
        .catalog_put("P-100", product("离心泵", 1000_00, 600_00), kit.now())
        .unwrap();
    assert_eq!(
        t.manager.catalog().unwrap().products["P-100"].name,
        "离心泵"
    );
    t.admin
        .catalog_put("P-200", product("螺杆泵", 2000_00, 0), kit.now())
        .unwrap();
    for dev in [&t.rep, &t.legal, &t.channel_manager] {
        kit.refused(dev, "permission-denied", |ws| {
            ws.catalog_put("P-300", product("齿轮泵", 100_00, 50_00), kit.now())
        });
    }
    let e = kit.refused(&t.manager, "invalid-input", |ws| {
        ws.catalog_put(" ", product("齿轮泵", 100_00, 50_00), kit.now())
    });
    assert_eq!(e.field(), Some("sku"));
    let e = kit.refused(&t.manager, "invalid-input", |ws| {
        ws.catalog_put("P-300", product("", 100_00, 50_00), kit.now())
    });
    assert_eq!(e.field(), Some("name"));
    for list in [0, -100] {
        let e = kit.refused(&t.manager, "invalid-input", |ws| {
            ws.catalog_put("P-300", product("齿轮泵", list, 0), kit.now())
        });
        assert_eq!(e.field(), Some("list_price"));
    }
    kit.refused(&t.manager, "invalid-input", |ws| {
        ws.catalog_put("P-300", product("齿轮泵", 100_00, 150_00), kit.now())
    });
}

#[test]
fn a_negative_floor_price_is_refused() {
    let kit = Kit::new();
    let boss = kit.admin("王经理");
    kit.refused(&boss, "invalid-input", |ws| {
        ws.catalog_put("P-300", product("齿轮泵", 100_00, -1), kit.now())
    });
}

#[test]
fn allowances_and_rules_are_set_by_managers_and_admins() {
    let kit = Kit::new();
    let t = kit.team();
    t.manager
        .set_allowance(&Role::Rep, 1_500, kit.now())
        .unwrap();
    assert_eq!(t.manager.allowance_bp(&Role::Rep).unwrap(), 1_500);
    t.admin
        .set_allowance(&Role::Manager, 3_000, kit.now())
        .unwrap();
    for bad in [-1, 10_001] {
        kit.refused(&t.manager, "invalid-input", |ws| {
            ws.set_allowance(&Role::Rep, bad, kit.now())
        });
    }
    let setting = RuleSetting {
        severity: Some("warning".into()),
        params: Default::default(),
    };
    t.manager
        .set_rule("VISIT-FREQUENCY", setting.clone(), kit.now())
        .unwrap();
    assert!(
        t.manager
            .policy_settings()
            .unwrap()
            .rules
            .contains_key("VISIT-FREQUENCY")
    );
    t.admin
        .set_rule("GIFT-LIMIT", setting.clone(), kit.now())
        .unwrap();
    for dev in [&t.rep, &t.legal, &t.channel_manager] {
        kit.refused(dev, "permission-denied", |ws| {
            ws.set_allowance(&Role::Rep, 9_000, kit.now())
        });
        kit.refused(dev, "permission-denied", |ws| {
            ws.set_rule("VISIT-FREQUENCY", setting.clone(), kit.now())
        });
    }
}

#[test]
fn users_are_added_and_changed_by_admins_only() {
    let kit = Kit::new();
    let t = kit.team();
    let uid = t
        .admin
        .add_user("周七", Role::Rep, Some(TEAM.into()), None, kit.now())
        .unwrap();
    assert_eq!(t.admin.roster().unwrap().users[&uid].name, "周七");
    let e = kit.refused(&t.admin, "invalid-input", |ws| {
        ws.add_user(" ", Role::Rep, None, None, kit.now())
    });
    assert_eq!(e.field(), Some("name"));
    kit.refused(&t.admin, "invalid-input", |ws| {
        ws.add_user("小张", Role::Rep, None, None, kit.now())
    });
    for dev in [&t.manager, &t.rep, &t.legal, &t.channel_manager] {
        let e = kit.refused(dev, "permission-denied", |ws| {
            ws.add_user("越权", Role::Admin, None, None, kit.now())
        });
        assert_ne!(e.message(Lang::Zh), e.message(Lang::En));
        kit.refused(dev, "permission-denied", |ws| {
            ws.update_user("小张", Some(Role::Admin), None, None, None, kit.now())
        });
    }

    t.admin
        .update_user(
            "小张",
            Some(Role::Manager),
            Some("华东二组".into()),
            None,
            None,
            kit.now(),
        )
        .unwrap();
    let u = &t.admin.roster().unwrap().users[&t.rep.user_id];
    assert_eq!(
        (u.role.clone(), u.team.as_deref()),
        (Role::Manager, Some("华东二组"))
    );
    kit.refused(&t.admin, "not-found", |ws| {
        ws.update_user("无名氏", None, None, None, Some(false), kit.now())
    });
}

#[test]
fn devices_are_enrolled_once_and_revoked_for_good() {
    let kit = Kit::new();
    let t = kit.team();
    let phone = kit.joined(&t.admin);
    kit.refused(&t.admin, "not-found", |ws| {
        ws.enroll_device(&phone.device(), "无名氏", "phone", kit.now())
    });
    for dev in [&t.manager, &t.rep] {
        kit.refused(dev, "permission-denied", |ws| {
            ws.enroll_device(&phone.device(), "小张", "phone", kit.now())
        });
    }
    let uid = t
        .admin
        .enroll_device(&phone.device(), "小张", "phone", kit.now())
        .unwrap();
    assert_eq!(uid, t.rep.user_id);
    kit.refused(&t.admin, "invalid-input", |ws| {
        ws.enroll_device(&phone.device(), "小张", "phone", kit.now())
    });

    // Revocation.
    for dev in [&t.manager, &t.rep] {
        kit.refused(dev, "permission-denied", |ws| {
            ws.revoke_device(&phone.device().to_hex(), kit.now())
        });
    }
    kit.refused(&t.admin, "invalid-input", |ws| {
        ws.revoke_device(&t.admin.key_hex(), kit.now())
    });
    kit.refused(&t.admin, "not-found", |ws| {
        ws.revoke_device("ffffffffffff", kit.now())
    });
    let key = t
        .admin
        .revoke_device(&phone.device().to_hex()[..10], kit.now())
        .unwrap();
    assert_eq!(key, phone.device());
    kit.refused(&t.admin, "invalid-input", |ws| {
        ws.revoke_device(&key.to_hex(), kit.now())
    });
    kit.refused(&t.admin, "invalid-input", |ws| {
        ws.enroll_device(&key, "小张", "phone again", kit.now())
    });
    // The revoked device is refused by its peers.
    let e = t
        .admin
        .sync_session(fieldcrm_sync::SessionRole::Responder, &key)
        .map(drop)
        .unwrap_err();
    assert_eq!(e.code(), "revoked");
}

#[test]
fn an_ambiguous_device_prefix_is_refused() {
    let kit = Kit::new();
    let boss = kit.admin("王经理");
    let a = Kit::key_with_prefix(&[0xab, 0xcd, 0xef], 1);
    let b = Kit::key_with_prefix(&[0xab, 0xcd, 0xef], 2);
    boss.enroll_device(&a, "王经理", "a", kit.now()).unwrap();
    boss.enroll_device(&b, "王经理", "b", kit.now()).unwrap();
    kit.refused(&boss, "ambiguous", |ws| {
        ws.revoke_device("abcdef", kit.now())
    });
    boss.revoke_device(&a.to_hex()[..16], kit.now()).unwrap();
}

#[test]
fn targets_are_set_by_managers_for_one_user_or_one_team() {
    let kit = Kit::new();
    let t = kit.team();
    let id = t
        .manager
        .set_target(Some("小张"), None, "2026-Q4", 1_000_000_00, kit.now())
        .unwrap();
    let target = &t.manager.sales().unwrap().targets[&id];
    assert_eq!(
        (target.subject.as_str(), target.period.as_str()),
        (t.rep.user_id.as_str(), "2026-Q4")
    );
    t.admin
        .set_target(None, Some(TEAM), "2026", 5_000_000_00, kit.now())
        .unwrap();
    for dev in [&t.rep, &t.legal, &t.channel_manager] {
        kit.refused(dev, "permission-denied", |ws| {
            ws.set_target(Some("小张"), None, "2026-Q4", 1, kit.now())
        });
    }
    for amount in [0, -1] {
        let e = kit.refused(&t.manager, "invalid-input", |ws| {
            ws.set_target(Some("小张"), None, "2026-Q4", amount, kit.now())
        });
        assert_eq!(e.field(), Some("amount"));
    }
    let e = kit.refused(&t.manager, "invalid-input", |ws| {
        ws.set_target(Some("小张"), None, "2026-Q0", 1, kit.now())
    });
    assert_eq!(e.field(), Some("period"));
    kit.refused(&t.manager, "invalid-input", |ws| {
        ws.set_target(Some("小张"), Some(TEAM), "2026", 1, kit.now())
    });
    kit.refused(&t.manager, "invalid-input", |ws| {
        ws.set_target(None, None, "2026", 1, kit.now())
    });
    kit.refused(&t.manager, "not-found", |ws| {
        ws.set_target(Some("无名氏"), None, "2026", 1, kit.now())
    });
}

#[test]
fn reports_are_submitted_for_a_period_with_a_summary() {
    let kit = Kit::new();
    let t = kit.team();
    let id = t
        .rep
        .submit_report("2026-11", 120_000_00, "完成 11 月目标", kit.now())
        .unwrap();
    let r = &t.rep.sales().unwrap().reports[&id];
    assert_eq!(
        (r.user.as_str(), r.period.as_str()),
        (t.rep.user_id.as_str(), "2026-11")
    );
    // A month without sales is a report too.
    t.rep
        .submit_report("2026-W48", 0, "本周无成交", kit.now())
        .unwrap();
    kit.refused(&t.rep, "invalid-input", |ws| {
        ws.submit_report("2026-11", -1, "负数", kit.now())
    });
    let e = kit.refused(&t.rep, "invalid-input", |ws| {
        ws.submit_report("十一月", 1, "月报", kit.now())
    });
    assert_eq!(e.field(), Some("period"));
    let e = kit.refused(&t.rep, "invalid-input", |ws| {
        ws.submit_report("2026-11", 1, " ", kit.now())
    });
    assert_eq!(e.field(), Some("summary"));
}

#[test]
fn workspace_documents_exist_on_every_enrolled_device() {
    let kit = Kit::new();
    let t = kit.team();
    for dev in [&t.rep, &t.legal, &t.channel_manager] {
        for kind in DocKind::SINGLETONS {
            assert!(
                kit.fingerprint(dev).contains(&Kit::singleton(kind.clone())),
                "{} lacks the {kind}",
                dev.name
            );
        }
    }
}
