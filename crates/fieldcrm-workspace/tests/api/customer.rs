//! The customer file: customers, contacts, interactions, complaints, surveys, plans and
//! class exceptions.

use fieldcrm_model::{
    Contact, Customer, CustomerClass, DocId, InteractionKind, Lang, Role, Severity,
};
use fieldcrm_testkit::{DAY, Kit, MINUTE, TEAM, Team};
use fieldcrm_workspace::{CustomerEdit, NewCustomer, Workspace};

fn customer(ws: &Workspace, id: &DocId) -> Customer {
    ws.load(id).unwrap().hydrate().unwrap()
}

fn named(name: &str) -> NewCustomer {
    NewCustomer {
        name: name.into(),
        ..Default::default()
    }
}

/// A team whose rep owns 甲公司, held by the rep, the manager and the admin; rep2 holds a
/// copy too (outside its user's scope).
fn with_customer() -> (Kit, Team, DocId) {
    let kit = Kit::new();
    let t = kit.team();
    let c = kit.customer(&t.rep, "甲公司");
    kit.sync(&t.rep, &t.admin);
    kit.sync(&t.manager, &t.admin);
    kit.copy_all(&t.admin, &t.rep2);
    (kit, t, c)
}

#[test]
fn add_customer_defaults_owner_and_team_and_refuses_bad_input() {
    let kit = Kit::new();
    let t = kit.team();
    let id = t
        .rep
        .add_customer(
            NewCustomer {
                name: "  甲公司 ".into(),
                class: Some(CustomerClass::Key),
                ..Default::default()
            },
            kit.now(),
        )
        .unwrap();
    let c = customer(&t.rep, &id);
    assert_eq!(c.name, "甲公司");
    assert_eq!(c.owner.as_deref(), Some(t.rep.user_id.as_str()));
    assert_eq!(c.team.as_deref(), Some(TEAM));

    let e = kit.refused(&t.rep, "invalid-input", |ws| {
        ws.add_customer(named("   "), kit.now())
    });
    assert_eq!(e.field(), Some("name"));
    // The Chinese message is its own text, not the English one.
    let zh = e.message(Lang::Zh);
    assert!(!zh.is_empty());
    assert_ne!(zh, e.message(Lang::En));

    // A rep may not give a customer to someone else; a manager may.
    let other = NewCustomer {
        owner: Some("小李".into()),
        ..named("乙公司")
    };
    let e = kit.refused(&t.rep, "permission-denied", |ws| {
        ws.add_customer(other.clone(), kit.now())
    });
    assert!(!e.message(Lang::Zh).is_empty());
    assert_ne!(e.message(Lang::Zh), e.message(Lang::En));
    let id = t.manager.add_customer(other, kit.now()).unwrap();
    assert_eq!(
        customer(&t.manager, &id).owner.as_deref(),
        Some(t.rep2.user_id.as_str())
    );
    kit.refused(&t.manager, "not-found", |ws| {
        ws.add_customer(
            NewCustomer {
                owner: Some("无名氏".into()),
                ..named("丙公司")
            },
            kit.now(),
        )
    });
}

#[test]
fn add_customer_needs_an_enrolled_active_device() {
    let kit = Kit::new();
    let boss = kit.admin("王经理");
    // Joined but never synced: no roster yet.
    let fresh = kit.joined(&boss);
    kit.refused(&fresh, "no-roster-yet", |ws| {
        ws.add_customer(named("甲公司"), kit.now())
    });
    // Holds the workspace, but nobody enrolled it.
    let stranger = kit.joined(&boss);
    kit.copy_all(&boss, &stranger);
    kit.refused(&stranger, "not-enrolled", |ws| {
        ws.add_customer(named("甲公司"), kit.now())
    });
    // Revoked after it received the roster, and told so by the next sync.
    let rep = kit.device_for(&boss, "小张", Role::Rep, Some(TEAM));
    boss.revoke_device(&rep.key_hex(), kit.now()).unwrap();
    kit.copy_all(&boss, &rep.ws);
    kit.refused(&rep, "revoked", |ws| {
        ws.add_customer(named("甲公司"), kit.now())
    });
    // A deactivated user's device.
    let rep2 = kit.device_for(&boss, "小李", Role::Rep, Some(TEAM));
    boss.update_user("小李", None, None, None, Some(false), kit.now())
        .unwrap();
    kit.copy_all(&boss, &rep2.ws);
    kit.refused(&rep2, "permission-denied", |ws| {
        ws.add_customer(named("甲公司"), kit.now())
    });
}

#[test]
fn edit_customer_fields_in_scope_only() {
    let (kit, t, c) = with_customer();
    t.rep
        .edit_customer_fields(
            &c,
            CustomerEdit {
                industry: Some("制造业".into()),
                class: Some(CustomerClass::General),
                ..Default::default()
            },
            kit.now(),
        )
        .unwrap();
    assert_eq!(customer(&t.rep, &c).industry.as_deref(), Some("制造业"));

    let e = kit.refused(&t.rep, "invalid-input", |ws| {
        let edit = CustomerEdit {
            name: Some(" ".into()),
            ..Default::default()
        };
        ws.edit_customer_fields(&c, edit, kit.now())
    });
    assert_eq!(e.field(), Some("name"));
    // Another rep's file, although the device holds a copy.
    kit.refused(&t.rep2, "permission-denied", |ws| {
        let edit = CustomerEdit {
            industry: Some("零售".into()),
            ..Default::default()
        };
        ws.edit_customer_fields(&c, edit, kit.now())
    });
    kit.refused(&t.rep, "not-found", |ws| {
        ws.edit_customer_fields(&DocId::random(), CustomerEdit::default(), kit.now())
    });
}

#[test]
fn reassigning_a_customer_is_for_managers_and_admins() {
    let (kit, t, c) = with_customer();
    let to_rep2 = CustomerEdit {
        owner: Some("小李".into()),
        ..Default::default()
    };
    kit.refused(&t.rep, "permission-denied", |ws| {
        ws.edit_customer_fields(&c, to_rep2.clone(), kit.now())
    });
    kit.refused(&t.manager, "not-found", |ws| {
        let edit = CustomerEdit {
            owner: Some("无名氏".into()),
            ..Default::default()
        };
        ws.edit_customer_fields(&c, edit, kit.now())
    });
    t.manager
        .edit_customer_fields(&c, to_rep2.clone(), kit.now())
        .unwrap();
    assert_eq!(
        customer(&t.manager, &c).owner.as_deref(),
        Some(t.rep2.user_id.as_str())
    );
    t.admin
        .edit_customer_fields(&c, to_rep2, kit.now())
        .unwrap();
}

#[test]
fn class_exceptions_are_approved_by_management() {
    let (kit, t, c) = with_customer();
    kit.copy_all(&t.admin, &t.legal);
    for dev in [&t.rep, &t.legal] {
        kit.refused(dev, "permission-denied", |ws| {
            ws.approve_class_exception(&c, None, kit.now())
        });
    }
    t.manager
        .approve_class_exception(&c, Some("战略客户".into()), kit.now())
        .unwrap();
    let ex = customer(&t.manager, &c).class_exception.unwrap();
    assert_eq!(ex.by, t.manager.user_id);
    t.admin
        .approve_class_exception(&c, None, kit.now())
        .unwrap();
    kit.refused(&t.manager, "not-found", |ws| {
        ws.approve_class_exception(&DocId::random(), None, kit.now())
    });
}

#[test]
fn contacts_need_a_name_and_well_formed_details() {
    let (kit, t, c) = with_customer();
    let contact = |name: &str, phone: Option<&str>, email: Option<&str>| Contact {
        name: name.into(),
        title: Some("采购经理".into()),
        phone: phone.map(Into::into),
        email: email.map(Into::into),
        created_at: 0,
    };
    let id = t
        .rep
        .add_contact(
            &c,
            contact("陈先生", Some("138-0000-0000"), Some("chen@example.com")),
            kit.now(),
        )
        .unwrap();
    assert_eq!(customer(&t.rep, &c).contacts[&id].name, "陈先生");
    let e = kit.refused(&t.rep, "invalid-input", |ws| {
        ws.add_contact(&c, contact(" ", None, None), kit.now())
    });
    assert_eq!(e.field(), Some("name"));
    kit.refused(&t.rep, "invalid-input", |ws| {
        ws.add_contact(
            &c,
            contact("陈先生", None, Some("chen.example.com")),
            kit.now(),
        )
    });
    kit.refused(&t.rep, "invalid-input", |ws| {
        ws.add_contact(&c, contact("陈先生", Some("电话号码"), None), kit.now())
    });
    kit.refused(&t.rep2, "permission-denied", |ws| {
        ws.add_contact(&c, contact("王女士", None, None), kit.now())
    });
}

#[test]
fn interactions_refuse_future_times_empty_summaries_and_unknown_contacts() {
    let (kit, t, c) = with_customer();
    let now = kit.now();
    let contact = Contact {
        name: "陈先生".into(),
        title: None,
        phone: None,
        email: None,
        created_at: now,
    };
    let cid = t.rep.add_contact(&c, contact.clone(), now).unwrap();
    let id = t
        .rep
        .log_interaction(
            &c,
            InteractionKind::Visit,
            now - DAY,
            "上门拜访",
            Some(&cid[..6]),
            now,
        )
        .unwrap();
    let i = &customer(&t.rep, &c).interactions[&id];
    assert_eq!(i.contact.as_deref(), Some(cid.as_str()));
    assert_eq!(i.by, t.rep.user_id);

    let e = kit.refused(&t.rep, "invalid-input", |ws| {
        ws.log_interaction(&c, InteractionKind::Call, now + DAY, "电话", None, now)
    });
    assert_eq!(e.field(), Some("at"));
    let e = kit.refused(&t.rep, "invalid-input", |ws| {
        ws.log_interaction(&c, InteractionKind::Call, now, "  ", None, now)
    });
    assert_eq!(e.field(), Some("summary"));
    kit.refused(&t.rep, "not-found", |ws| {
        ws.log_interaction(
            &c,
            InteractionKind::Call,
            now,
            "电话",
            Some("ffffffff"),
            now,
        )
    });
    let prefix = kit.twin_entities(&t.rep, &c, "contacts", &contact);
    kit.refused(&t.rep, "ambiguous", |ws| {
        ws.log_interaction(&c, InteractionKind::Call, now, "电话", Some(prefix), now)
    });
    kit.refused(&t.rep, "not-found", |ws| {
        ws.log_interaction(
            &DocId::random(),
            InteractionKind::Call,
            now,
            "电话",
            None,
            now,
        )
    });
    kit.refused(&t.rep2, "permission-denied", |ws| {
        ws.log_interaction(&c, InteractionKind::Call, now, "电话", None, now)
    });
}

#[test]
fn complaints_from_opening_to_closing() {
    let (kit, t, c) = with_customer();
    let now = kit.now();
    let e = kit.refused(&t.rep, "invalid-input", |ws| {
        ws.open_complaint(&c, Severity::Major, "投诉", now + DAY, now)
    });
    assert_eq!(e.field(), Some("at"));
    let e = kit.refused(&t.rep, "invalid-input", |ws| {
        ws.open_complaint(&c, Severity::Major, " ", now, now)
    });
    assert_eq!(e.field(), Some("summary"));
    kit.refused(&t.rep2, "permission-denied", |ws| {
        ws.open_complaint(&c, Severity::Major, "投诉", now, now)
    });
    let k = t
        .rep
        .open_complaint(&c, Severity::Major, "交货延迟", now - 60 * MINUTE, now)
        .unwrap();

    // First response.
    kit.refused(&t.rep, "invalid-input", |ws| {
        ws.respond_complaint(&c, &k, "已联系", now - 2 * 60 * MINUTE, now)
    });
    kit.refused(&t.rep, "invalid-input", |ws| {
        ws.respond_complaint(&c, &k, "已联系", now + DAY, now)
    });
    let e = kit.refused(&t.rep, "invalid-input", |ws| {
        ws.respond_complaint(&c, &k, " ", now, now)
    });
    assert_eq!(e.field(), Some("text"));
    kit.refused(&t.rep, "not-found", |ws| {
        ws.respond_complaint(&c, "ffffffff", "已联系", now, now)
    });
    t.rep
        .respond_complaint(&c, &k[..8], "已联系客户", now, now)
        .unwrap();

    // Escalation goes to a manager or an admin, never to a rep.
    let e = kit.refused(&t.rep, "invalid-input", |ws| {
        ws.escalate_complaint(&c, &k, "小李", now)
    });
    assert_eq!(e.field(), Some("to"));
    kit.refused(&t.rep, "not-found", |ws| {
        ws.escalate_complaint(&c, &k, "无名氏", now)
    });
    t.rep.escalate_complaint(&c, &k, "李经理", now).unwrap();
    t.rep.escalate_complaint(&c, &k, "王经理", now).unwrap();
    let esc = customer(&t.rep, &c).complaints[&k]
        .escalation
        .clone()
        .unwrap();
    assert_eq!(esc.to, t.admin.user_id);

    // Investigation.
    kit.refused(&t.rep, "invalid-input", |ws| {
        ws.investigate_complaint(&c, &k, vec![" ".into()], "原因", now)
    });
    let e = kit.refused(&t.rep, "invalid-input", |ws| {
        ws.investigate_complaint(&c, &k, vec!["物流部".into()], "", now)
    });
    assert_eq!(e.field(), Some("text"));
    t.rep
        .investigate_complaint(
            &c,
            &k,
            vec!["物流部".into(), "生产部".into()],
            "排产延误",
            now,
        )
        .unwrap();

    // Resolution closes it; a closed complaint takes no more changes.
    kit.refused(&t.rep, "invalid-input", |ws| {
        ws.resolve_complaint(&c, &k, " ", now)
    });
    kit.refused(&t.rep2, "permission-denied", |ws| {
        ws.resolve_complaint(&c, &k, "已补发", now)
    });
    t.rep.resolve_complaint(&c, &k, "已补发", now).unwrap();
    assert_eq!(customer(&t.rep, &c).complaints[&k].closed_at, Some(now));
    kit.refused(&t.rep, "invalid-input", |ws| {
        ws.resolve_complaint(&c, &k, "再次处理", now)
    });
    kit.refused(&t.rep, "invalid-input", |ws| {
        ws.respond_complaint(&c, &k, "再次回复", now, now)
    });
}

#[test]
fn complaint_ids_are_resolved_by_unique_prefix() {
    let (kit, t, c) = with_customer();
    let k = kit.complaint(&t.rep, &c);
    let comp = customer(&t.rep, &c).complaints[&k].clone();
    let prefix = kit.twin_entities(&t.rep, &c, "complaints", &comp);
    kit.refused(&t.rep, "ambiguous", |ws| {
        ws.resolve_complaint(&c, prefix, "已处理", kit.now())
    });
    kit.refused(&t.rep, "ambiguous", |ws| {
        ws.escalate_complaint(&c, prefix, "李经理", kit.now())
    });
}

#[test]
fn surveys_score_one_to_five_and_not_in_the_future() {
    let (kit, t, c) = with_customer();
    let now = kit.now();
    let id = t
        .rep
        .record_survey(&c, 4, Some("满意".into()), now, now)
        .unwrap();
    assert_eq!(customer(&t.rep, &c).surveys[&id].score, 4);
    for bad in [0, 6, -1] {
        kit.refused(&t.rep, "invalid-input", |ws| {
            ws.record_survey(&c, bad, None, now, now)
        });
    }
    kit.refused(&t.rep, "invalid-input", |ws| {
        ws.record_survey(&c, 5, None, now + DAY, now)
    });
    kit.refused(&t.rep2, "permission-denied", |ws| {
        ws.record_survey(&c, 5, None, now, now)
    });
    kit.refused(&t.rep, "not-found", |ws| {
        ws.record_survey(&DocId::random(), 5, None, now, now)
    });
}

#[test]
fn development_plans_need_text() {
    let (kit, t, c) = with_customer();
    let now = kit.now();
    t.rep
        .set_plan(&c, "季度拜访两次", now + 90 * DAY, now)
        .unwrap();
    assert_eq!(customer(&t.rep, &c).plan.unwrap().text, "季度拜访两次");
    let e = kit.refused(&t.rep, "invalid-input", |ws| {
        ws.set_plan(&c, "  ", now + DAY, now)
    });
    assert_eq!(e.field(), Some("text"));
    kit.refused(&t.rep2, "permission-denied", |ws| {
        ws.set_plan(&c, "接手", now + DAY, now)
    });
    kit.refused(&t.rep, "not-found", |ws| {
        ws.set_plan(&DocId::random(), "计划", now + DAY, now)
    });
}

#[test]
fn text_beyond_its_limit_is_refused_and_nothing_is_written() {
    let (kit, t, c) = with_customer();
    // A 17 MB note (the size that used to block every sync of the device).
    let huge = "记".repeat(6_000_000);
    let e = kit.refused(&t.rep, "invalid-input", |ws| {
        ws.log_interaction(
            &c,
            InteractionKind::Visit,
            kit.now(),
            &huge,
            None,
            kit.now(),
        )
    });
    assert_eq!(e.field(), Some("summary"));
    assert!(e.message(Lang::Zh).contains("过长"));
    let long_name = "名".repeat(201);
    let e = kit.refused(&t.rep, "invalid-input", |ws| {
        ws.add_customer(named(&long_name), kit.now())
    });
    assert_eq!(e.field(), Some("name"));
    // At the limit is fine, and in any script.
    t.rep
        .add_customer(named(&"名".repeat(200)), kit.now())
        .unwrap();
    t.rep
        .log_interaction(
            &c,
            InteractionKind::Call,
            kit.now(),
            &"😀".repeat(10_000),
            None,
            kit.now(),
        )
        .unwrap();
}

#[test]
fn a_manager_archives_a_file_made_by_mistake_and_restores_it() {
    use fieldcrm_workspace::{CheckQuery, Filter};
    let (kit, t, c) = with_customer();
    let listed = |ws: &Workspace| {
        ws.list(&Filter::default())
            .unwrap()
            .into_iter()
            .any(|l| l.id == c)
    };
    // A rep may not archive (not even their own file); nothing is written.
    kit.refused(&t.rep, "permission-denied", |ws| {
        ws.archive_record(&c, Some("录错了".into()), kit.now())
    });
    kit.sync(&t.manager, &t.rep);
    assert!(listed(&t.manager));
    t.manager
        .archive_record(&c, Some("重复录入".into()), kit.now())
        .unwrap();
    assert!(!listed(&t.manager), "an archived file is out of lists");
    let archived = customer(&t.manager, &c).archived.unwrap();
    assert_eq!(archived.text, "重复录入");
    // Archived files are out of the rules and refuse edits until restored.
    let findings = t.manager.check(&CheckQuery::default(), kit.now()).unwrap();
    assert!(
        findings.iter().all(|f| !f.doc_ids.contains(&c)),
        "{findings:?}"
    );
    kit.refused(&t.manager, "invalid-input", |ws| {
        ws.log_interaction(
            &c,
            InteractionKind::Visit,
            kit.now(),
            "拜访",
            None,
            kit.now(),
        )
    });
    kit.refused(&t.manager, "invalid-input", |ws| {
        ws.archive_record(&c, None, kit.now())
    });
    // The archive syncs: the rep's list no longer shows it either.
    kit.sync(&t.manager, &t.rep);
    assert!(!listed(&t.rep));
    t.manager.restore_record(&c, kit.now()).unwrap();
    assert!(listed(&t.manager));
    kit.refused(&t.manager, "invalid-input", |ws| {
        ws.restore_record(&c, kit.now())
    });
    t.manager
        .log_interaction(
            &c,
            InteractionKind::Visit,
            kit.now(),
            "恢复后拜访",
            None,
            kit.now(),
        )
        .unwrap();
}

#[test]
fn lookups_take_part_of_a_name_or_its_pinyin_and_list_candidates_when_several_match() {
    let kit = Kit::new();
    let t = kit.team();
    let a = kit.customer(&t.rep, "华东精密机械有限公司");
    let b = kit.customer(&t.rep, "华东机电有限公司");
    let kind = Some(&fieldcrm_model::DocKind::Customer);
    assert_eq!(t.rep.resolve(kind, "精密").unwrap(), a);
    assert_eq!(t.rep.resolve(kind, "hdjd").unwrap(), b);
    assert_eq!(t.rep.resolve(kind, "華東機電").unwrap(), b);
    let e = t.rep.resolve(kind, "华东").unwrap_err();
    assert_eq!(e.code(), "ambiguous");
    assert!(e.to_string().contains("did you mean"), "{e}");
    assert!(e.message(Lang::Zh).contains("您是指"), "{e}");
    let e = t.rep.resolve(kind, "西北").unwrap_err();
    assert_eq!(e.code(), "not-found");
}
