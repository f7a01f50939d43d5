//! Removing a record made by mistake, and putting it back: who may, what the rules and
//! lists then see, and that an edit made offline to a removed record is not lost.

use fieldcrm_model::{Contact, Customer, DocId};
use fieldcrm_policy::RuleId;
use fieldcrm_testkit::{DAY, Kit, Team};
use fieldcrm_workspace::{CheckQuery, Workspace};

fn setup() -> (Kit, Team, DocId) {
    super::signoffs::sales()
}

/// The file as lists and rules see it.
fn seen(ws: &Workspace, c: &DocId) -> Customer {
    match ws.load(c).unwrap().body().unwrap() {
        fieldcrm_model::Body::Customer(c) => c,
        other => panic!("{other:?}"),
    }
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

#[test]
fn a_rep_removes_a_contact_made_by_mistake_and_a_manager_restores_it() {
    let (kit, t, c) = setup();
    let contact = Contact {
        name: "李静".into(),
        ..Default::default()
    };
    let k = t.rep.add_contact(&c, contact, kit.now()).unwrap();
    let e = kit.refused(&t.rep, "invalid-input", |ws| {
        ws.remove_record(&c, "发票", &k, None, kit.now())
    });
    assert_eq!(e.field(), Some("kind"));
    kit.refused(&t.rep, "not-found", |ws| {
        ws.remove_record(&c, "contact", "ffffffff", None, kit.now())
    });
    let removed = t
        .rep
        .remove_record(&c, "联系人", &k[..8], Some("重复录入".into()), kit.now())
        .unwrap();
    assert_eq!(removed, k);
    assert!(seen(&t.rep, &c).contacts.is_empty());
    assert_eq!(whole(&t.rep, &c).contacts.len(), 1, "kept in the document");
    assert_eq!(
        whole(&t.rep, &c).removed[&format!("contacts/{k}")].text,
        "重复录入"
    );
    // Removed once: not found the second time.
    kit.refused(&t.rep, "not-found", |ws| {
        ws.remove_record(&c, "contact", &k, None, kit.now())
    });
    // Only a manager puts it back.
    kit.refused(&t.rep, "permission-denied", |ws| {
        ws.restore_removed(&c, "contact", &k, kit.now())
    });
    kit.sync(&t.rep, &t.admin);
    kit.sync(&t.manager, &t.admin);
    assert!(seen(&t.manager, &c).contacts.is_empty());
    t.manager
        .restore_removed(&c, "contact", &k, kit.now())
        .unwrap();
    kit.sync(&t.manager, &t.admin);
    kit.sync(&t.rep, &t.admin);
    assert_eq!(seen(&t.rep, &c).contacts.len(), 1);
}

#[test]
fn complaints_leave_the_rules_only_when_a_manager_removes_them() {
    let (kit, t, c) = setup();
    kit.complaint(&t.rep, &c);
    kit.advance(3 * DAY);
    assert_eq!(rule_count(&t.rep, &kit, RuleId::ComplaintResponse), 1);
    let k = whole(&t.rep, &c).complaints.keys().next().unwrap().clone();
    kit.refused(&t.rep, "permission-denied", |ws| {
        ws.remove_record(&c, "complaint", &k, Some("录错了".into()), kit.now())
    });

    // A rep who removes it anyway, with another Automerge client: every device keeps the
    // complaint out of the lists but reports the removal as made without the authority.
    let mut doc = t.rep.load(&c).unwrap();
    doc.put(
        &["removed", &format!("complaints/{k}")],
        &fieldcrm_model::Note {
            text: "不想处理".into(),
            at: kit.now(),
            by: t.rep.user_id.clone(),
        },
    )
    .unwrap();
    doc.commit(kit.now(), "remove");
    t.rep.save(&mut doc).unwrap();
    kit.sync(&t.rep, &t.admin);
    kit.sync(&t.manager, &t.admin);
    for d in [&t.rep, &t.manager, &t.admin] {
        assert_eq!(rule_count(d, &kit, RuleId::DataAuthority), 1);
    }

    // The manager restores it, then removes it properly: out of the rules, nothing
    // reported.
    t.manager
        .restore_removed(&c, "complaint", &k, kit.now())
        .unwrap();
    assert_eq!(rule_count(&t.manager, &kit, RuleId::ComplaintResponse), 1);
    t.manager
        .remove_record(&c, "投诉", &k, Some("客户撤回".into()), kit.now())
        .unwrap();
    kit.sync(&t.manager, &t.admin);
    kit.sync(&t.rep, &t.admin);
    for d in [&t.rep, &t.manager, &t.admin] {
        assert_eq!(rule_count(d, &kit, RuleId::ComplaintResponse), 0);
        assert_eq!(rule_count(d, &kit, RuleId::DataAuthority), 0);
    }
}

#[test]
fn an_offline_edit_to_a_record_removed_elsewhere_is_kept() {
    let (kit, t, c) = setup();
    let q = kit.quote(&t.rep, &c, "P-100", "950");
    kit.sync(&t.rep, &t.admin);
    kit.sync(&t.manager, &t.admin);
    // Offline at the same time: the manager removes the quote, the rep changes its price.
    t.manager
        .remove_record(&c, "quote", &q, Some("重复报价".into()), kit.now())
        .unwrap();
    t.rep
        .edit_quote(&c, &q, (Some(940_00), None), kit.now())
        .unwrap();
    kit.sync(&t.rep, &t.admin);
    kit.sync(&t.manager, &t.admin);
    kit.sync(&t.rep, &t.admin);
    for d in [&t.rep, &t.manager] {
        assert!(seen(d, &c).quotes.is_empty());
        assert_eq!(
            whole(d, &c).quotes[&q].price,
            940_00,
            "the rep's edit is kept"
        );
    }
    t.manager
        .restore_removed(&c, "报价", &q, kit.now())
        .unwrap();
    assert_eq!(seen(&t.manager, &c).quotes[&q].price, 940_00);
}
