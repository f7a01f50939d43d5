//! Correcting contacts and interactions, cancelling quotes and orders: who may, what is
//! refused (writing nothing), what history, the rules and the inbox then show.

use fieldcrm_model::{Contact, Customer, DocId, InteractionKind, Lang};
use fieldcrm_policy::RuleId;
use fieldcrm_testkit::{DAY, Kit, Team};
use fieldcrm_workspace::{CheckQuery, ContactEdit, InteractionEdit, Workspace};

fn setup() -> (Kit, Team, DocId) {
    super::signoffs::sales()
}

/// The whole document, removed records included.
fn whole(ws: &Workspace, c: &DocId) -> Customer {
    ws.load(c).unwrap().hydrate().unwrap()
}

fn rule_count(ws: &Workspace, kit: &Kit, rule: RuleId) -> usize {
    let q = CheckQuery {
        rule: Some(rule),
        doc: None,
    };
    ws.check(&q, kit.now()).unwrap().len()
}

fn contact(ws: &Workspace, kit: &Kit, c: &DocId) -> String {
    let contact = Contact {
        name: "李静".into(),
        phone: Some("021-5555 0101".into()),
        title: Some("采购经理".into()),
        ..Default::default()
    };
    ws.add_contact(c, contact, kit.now()).unwrap()
}

fn phone(p: &str) -> ContactEdit {
    ContactEdit {
        phone: Some(p.into()),
        ..Default::default()
    }
}

#[test]
fn the_owner_edits_a_contact_and_history_names_who_changed_what() {
    let (kit, t, c) = setup();
    let k = contact(&t.rep, &kit, &c);
    let got = t
        .rep
        .edit_contact(&c, &k[..8], phone("138 0000 1111"), kit.now())
        .unwrap();
    assert_eq!(got, k);
    let after = &whole(&t.rep, &c).contacts[&k];
    assert_eq!(after.phone.as_deref(), Some("138 0000 1111"));
    assert_eq!(after.name, "李静", "only the field given changes");
    assert_eq!(after.title.as_deref(), Some("采购经理"));
    // An empty value clears an optional field.
    let clear = ContactEdit {
        title: Some("  ".into()),
        ..Default::default()
    };
    t.rep.edit_contact(&c, &k, clear, kit.now()).unwrap();
    assert_eq!(whole(&t.rep, &c).contacts[&k].title, None);

    // A manager may correct it too; history says who made each change.
    kit.sync(&t.rep, &t.admin);
    kit.sync(&t.manager, &t.admin);
    let rename = ContactEdit {
        name: Some("李静（采购）".into()),
        ..Default::default()
    };
    t.manager.edit_contact(&c, &k, rename, kit.now()).unwrap();
    let history = t.manager.history(&c).unwrap();
    let edits: Vec<_> = history
        .iter()
        .filter(|h| h.message.contains("edit contact"))
        .collect();
    assert_eq!(edits.len(), 3, "{history:#?}");
    assert_eq!(
        edits[0].author.user_id.as_deref(),
        Some(t.rep.user_id.as_str())
    );
    assert_eq!(
        edits[2].author.user_id.as_deref(),
        Some(t.manager.user_id.as_str())
    );
    assert_eq!(edits[2].author.role.as_deref(), Some("manager"));
    assert_eq!(rule_count(&t.manager, &kit, RuleId::DataAuthority), 0);
}

#[test]
fn contact_edits_are_refused_as_adds_are_and_write_nothing() {
    let (kit, t, c) = setup();
    let k = contact(&t.rep, &kit, &c);
    kit.sync(&t.rep, &t.admin);
    // Out of scope: a rep of another team (with a copy of every document) may not
    // change the file.
    let south = kit.device_for(&t.admin, "小南", fieldcrm_model::Role::Rep, Some("华南组"));
    kit.copy_all(&t.admin, &south);
    kit.refused(&south, "permission-denied", |ws| {
        ws.edit_contact(&c, &k, phone("13800001111"), kit.now())
    });
    // Bad values: the same refusals as when adding, on the field at fault.
    for (edit, field) in [
        (phone("abc"), "phone"),
        (phone("12"), "phone"),
        (
            ContactEdit {
                email: Some("not-an-address".into()),
                ..Default::default()
            },
            "email",
        ),
        (
            ContactEdit {
                name: Some(" ".into()),
                ..Default::default()
            },
            "name",
        ),
        (
            ContactEdit {
                name: Some("名".repeat(201)),
                ..Default::default()
            },
            "name",
        ),
        (ContactEdit::default(), "name"),
    ] {
        let e = kit.refused(&t.rep, "invalid-input", |ws| {
            ws.edit_contact(&c, &k, edit, kit.now())
        });
        assert_eq!(e.field(), Some(field), "{e}");
        assert_ne!(e.message(Lang::Zh), e.message(Lang::En));
    }
    // The same phone refusal as `add_contact`.
    let add = t
        .rep
        .add_contact(
            &c,
            Contact {
                name: "王".into(),
                phone: Some("abc".into()),
                ..Default::default()
            },
            kit.now(),
        )
        .unwrap_err();
    let edit = t
        .rep
        .edit_contact(&c, &k, phone("abc"), kit.now())
        .unwrap_err();
    assert_eq!(add.message(Lang::Zh), edit.message(Lang::Zh));
    // Unknown ID.
    kit.refused(&t.rep, "not-found", |ws| {
        ws.edit_contact(&c, "ffffffff", phone("13800001111"), kit.now())
    });
    // A removed contact is not edited until it is restored.
    t.rep
        .remove_record(&c, "contact", &k, None, kit.now())
        .unwrap();
    let e = kit.refused(&t.rep, "invalid-input", |ws| {
        ws.edit_contact(&c, &k, phone("13800001111"), kit.now())
    });
    assert!(e.message(Lang::En).contains("removed"), "{e}");
    assert!(e.message(Lang::Zh).contains("已删除"), "{e}");
}

#[test]
fn the_owner_edits_an_interaction_and_refusals_write_nothing() {
    let (kit, t, c) = setup();
    let k = contact(&t.rep, &kit, &c);
    let i = t
        .rep
        .log_interaction(
            &c,
            InteractionKind::Call,
            kit.now() - DAY,
            "电话沟通",
            None,
            kit.now(),
        )
        .unwrap();
    let edit = InteractionEdit {
        kind: Some(InteractionKind::Visit),
        summary: Some("上门拜访，讨论年度采购".into()),
        contact: Some(k[..8].into()),
        ..Default::default()
    };
    assert_eq!(t.rep.edit_interaction(&c, &i, edit, kit.now()).unwrap(), i);
    let it = &whole(&t.rep, &c).interactions[&i];
    assert_eq!(it.kind, InteractionKind::Visit);
    assert_eq!(it.summary, "上门拜访，讨论年度采购");
    assert_eq!(it.contact.as_deref(), Some(k.as_str()));
    assert_eq!(
        it.occurred_at,
        kit.now() - DAY,
        "only the fields given change"
    );
    // Clear the contact.
    let clear = InteractionEdit {
        contact: Some(String::new()),
        ..Default::default()
    };
    t.rep.edit_interaction(&c, &i, clear, kit.now()).unwrap();
    assert_eq!(whole(&t.rep, &c).interactions[&i].contact, None);

    // Refusals: the future, an empty summary, nothing to change, an unknown contact,
    // an unknown interaction, wrong role, a removed interaction.
    let future = InteractionEdit {
        occurred_at: Some(kit.now() + 2 * DAY),
        ..Default::default()
    };
    let e = kit.refused(&t.rep, "invalid-input", |ws| {
        ws.edit_interaction(&c, &i, future, kit.now())
    });
    assert_eq!(e.field(), Some("at"));
    let empty = InteractionEdit {
        summary: Some("  ".into()),
        ..Default::default()
    };
    let e = kit.refused(&t.rep, "invalid-input", |ws| {
        ws.edit_interaction(&c, &i, empty, kit.now())
    });
    assert_eq!(e.field(), Some("summary"));
    kit.refused(&t.rep, "invalid-input", |ws| {
        ws.edit_interaction(&c, &i, InteractionEdit::default(), kit.now())
    });
    let e = kit.refused(&t.rep, "not-found", |ws| {
        let edit = InteractionEdit {
            contact: Some("ffffffff".into()),
            ..Default::default()
        };
        ws.edit_interaction(&c, &i, edit, kit.now())
    });
    assert_eq!(e.field(), Some("contact"));
    let summary = || InteractionEdit {
        summary: Some("改".into()),
        ..Default::default()
    };
    kit.refused(&t.rep, "not-found", |ws| {
        ws.edit_interaction(&c, "ffffffff", summary(), kit.now())
    });
    kit.sync(&t.rep, &t.admin);
    let south = kit.device_for(&t.admin, "小南", fieldcrm_model::Role::Rep, Some("华南组"));
    kit.copy_all(&t.admin, &south);
    kit.refused(&south, "permission-denied", |ws| {
        ws.edit_interaction(&c, &i, summary(), kit.now())
    });
    t.rep
        .remove_record(&c, "interaction", &i, None, kit.now())
        .unwrap();
    kit.refused(&t.rep, "invalid-input", |ws| {
        ws.edit_interaction(&c, &i, summary(), kit.now())
    });
    // Restored, it can be edited again.
    kit.sync(&t.rep, &t.admin);
    t.admin
        .restore_removed(&c, "interaction", &i, kit.now())
        .unwrap();
    t.admin
        .edit_interaction(&c, &i, summary(), kit.now())
        .unwrap();
}

#[test]
fn the_owner_cancels_an_own_quote_and_it_leaves_the_rules_and_the_inbox() {
    let (kit, t, c) = setup();
    // 30% off: beyond the rep allowance, waiting for a manager.
    let q = kit.quote(&t.rep, &c, "P-100", "700");
    kit.sync(&t.rep, &t.admin);
    kit.sync(&t.manager, &t.admin);
    assert_eq!(rule_count(&t.manager, &kit, RuleId::PriceDiscount), 1);
    assert!(t.manager.inbox().unwrap().iter().any(|p| p.entity == q));

    // Refused, writing nothing: another rep, legal, an unknown ID.
    kit.copy_all(&t.admin, &t.rep2);
    kit.copy_all(&t.admin, &t.legal);
    for dev in [&t.rep2, &t.legal] {
        kit.refused(dev, "permission-denied", |ws| {
            ws.cancel_quote(&c, &q, None, kit.now())
        });
    }
    kit.refused(&t.rep, "not-found", |ws| {
        ws.cancel_quote(&c, "ffffffff", None, kit.now())
    });

    let got = t
        .rep
        .cancel_quote(&c, &q[..8], Some("客户改用其他型号".into()), kit.now())
        .unwrap();
    assert_eq!(got, q);
    let note = whole(&t.rep, &c).quotes[&q].cancelled.clone().unwrap();
    assert_eq!(note.text, "客户改用其他型号");
    assert_eq!(note.by, t.rep.user_id);
    assert_eq!(note.at, kit.now());
    // Once is enough.
    let e = kit.refused(&t.rep, "invalid-input", |ws| {
        ws.cancel_quote(&c, &q, None, kit.now())
    });
    assert!(e.message(Lang::En).contains("already cancelled"), "{e}");

    kit.sync(&t.rep, &t.admin);
    kit.sync(&t.manager, &t.admin);
    for d in [&t.rep, &t.manager, &t.admin] {
        assert_eq!(rule_count(d, &kit, RuleId::PriceDiscount), 0);
        assert_eq!(rule_count(d, &kit, RuleId::DataAuthority), 0);
    }
    assert!(!t.manager.inbox().unwrap().iter().any(|p| p.entity == q));
    assert!(t.rep.today(kit.now()).unwrap().waiting.is_empty());
}

#[test]
fn an_approved_quote_or_order_is_cancelled_only_by_a_manager() {
    let (kit, t, c) = setup();
    let q = kit.quote(&t.rep, &c, "P-100", "850");
    let o = kit.order(&t.rep, &c, "P-100", "850");
    kit.sync(&t.rep, &t.admin);
    kit.sync(&t.manager, &t.admin);
    t.manager.approve_quote(&c, &q, None, kit.now()).unwrap();
    t.manager.approve_order(&c, &o, None, kit.now()).unwrap();
    kit.sync(&t.manager, &t.admin);
    kit.sync(&t.rep, &t.admin);
    let e = kit.refused(&t.rep, "permission-denied", |ws| {
        ws.cancel_quote(&c, &q, None, kit.now())
    });
    assert!(e.message(Lang::En).contains("approved"), "{e}");
    kit.refused(&t.rep, "permission-denied", |ws| {
        ws.cancel_order(&c, &o, None, kit.now())
    });
    t.manager
        .cancel_quote(&c, &q, Some("客户取消".into()), kit.now())
        .unwrap();
    t.manager.cancel_order(&c, &o, None, kit.now()).unwrap();
    assert_eq!(rule_count(&t.manager, &kit, RuleId::DataAuthority), 0);
    kit.sync(&t.manager, &t.admin);
    kit.sync(&t.rep, &t.admin);
    assert_eq!(rule_count(&t.rep, &kit, RuleId::DataAuthority), 0);
}

#[test]
fn a_delivered_order_cannot_be_cancelled_and_a_cancelled_one_is_not_due() {
    let (kit, t, c) = setup();
    let late = kit.order(&t.rep, &c, "P-100", "1000");
    let done = kit.order(&t.rep, &c, "P-100", "1000");
    t.rep
        .deliver_order(&c, &done, kit.now(), kit.now())
        .unwrap();
    for d in [&t.rep, &t.manager] {
        kit.sync(d, &t.admin);
    }
    for dev in [&t.rep, &t.manager] {
        let e = kit.refused(dev, "invalid-input", |ws| {
            ws.cancel_order(&c, &done, None, kit.now())
        });
        assert!(e.message(Lang::En).contains("delivered"), "{e}");
    }
    // Past its promised date it is due for delivery…
    kit.advance(10 * DAY);
    assert_eq!(rule_count(&t.rep, &kit, RuleId::OrderDelivery), 1);
    assert_eq!(t.rep.today(kit.now()).unwrap().deliveries.len(), 1);
    // …until it is cancelled.
    t.rep
        .cancel_order(&c, &late, Some("客户撤单".into()), kit.now())
        .unwrap();
    assert_eq!(rule_count(&t.rep, &kit, RuleId::OrderDelivery), 0);
    assert!(t.rep.today(kit.now()).unwrap().deliveries.is_empty());
    // A removed order is not cancelled.
    let other = kit.order(&t.rep, &c, "P-100", "1000");
    kit.sync(&t.rep, &t.admin);
    t.admin
        .remove_record(&c, "order", &other, None, kit.now())
        .unwrap();
    kit.refused(&t.admin, "invalid-input", |ws| {
        ws.cancel_order(&c, &other, None, kit.now())
    });
}

#[test]
fn a_forged_cancellation_is_reported_and_does_not_count() {
    let (kit, t, c) = setup();
    let q = kit.quote(&t.rep, &c, "P-100", "800");
    kit.sync(&t.rep, &t.admin);
    kit.sync(&t.manager, &t.admin);
    t.manager.approve_quote(&c, &q, None, kit.now()).unwrap();
    t.manager
        .edit_quote(&c, &q, (Some(780_00), None), kit.now())
        .unwrap();
    kit.sync(&t.manager, &t.admin);
    kit.sync(&t.rep, &t.admin);
    // The approval is void (the price changed): the quote needs approving again.
    assert_eq!(rule_count(&t.rep, &kit, RuleId::PriceDiscount), 1);
    // The rep may not cancel an approved quote; with another Automerge client they
    // write the cancellation anyway.
    let mut doc = t.rep.load(&c).unwrap();
    doc.put_new_object(
        &["quotes", &q, "cancelled"],
        &fieldcrm_model::Note {
            text: "不想要审批".into(),
            at: kit.now(),
            by: t.rep.user_id.clone(),
        },
    )
    .unwrap();
    doc.commit(kit.now(), "cancel");
    t.rep.save(&mut doc).unwrap();
    kit.sync(&t.rep, &t.admin);
    kit.sync(&t.manager, &t.admin);
    for d in [&t.rep, &t.manager, &t.admin] {
        assert_eq!(rule_count(d, &kit, RuleId::DataAuthority), 1);
        assert_eq!(
            rule_count(d, &kit, RuleId::PriceDiscount),
            1,
            "a forged cancellation does not count"
        );
    }
}
