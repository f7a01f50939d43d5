//! Removing a record made by mistake from a channel record, and putting it back: who
//! may, what the body, the rules and other devices then see.

use fieldcrm_model::{Channel, DocId, Lang};
use fieldcrm_policy::RuleId;
use fieldcrm_testkit::{DAY, Kit};
use fieldcrm_workspace::{CheckQuery, Workspace};

use super::channel::with_channel;

/// The record as lists, views and rules see it.
fn seen(ws: &Workspace, ch: &DocId) -> Channel {
    match ws.load(ch).unwrap().body().unwrap() {
        fieldcrm_model::Body::Channel(c) => c,
        other => panic!("{other:?}"),
    }
}

/// The whole document, removed records included.
fn whole(ws: &Workspace, ch: &DocId) -> Channel {
    ws.load(ch).unwrap().hydrate().unwrap()
}

fn rule_count(ws: &Workspace, kit: &Kit, rule: RuleId) -> usize {
    let q = CheckQuery {
        rule: Some(rule),
        doc: None,
    };
    ws.check(&q, kit.now()).unwrap().len()
}

#[test]
fn a_channel_manager_removes_a_communication_and_a_manager_restores_it_on_another_device() {
    let (kit, t, ch) = with_channel();
    let cm = &t.channel_manager;
    let k = cm
        .channel_communicate(&ch, "季度座谈（重复录入）", kit.now() - DAY, kit.now())
        .unwrap();
    cm.channel_train(&ch, "产品知识培训", kit.now() - DAY, kit.now())
        .unwrap();

    // Refused, writing nothing: a rep, legal, an unknown kind, an unknown record.
    for dev in [&t.rep, &t.legal] {
        kit.refused(dev, "permission-denied", |ws| {
            ws.remove_channel_record(&ch, "communication", &k, None, kit.now())
        });
    }
    let e = kit.refused(cm, "invalid-input", |ws| {
        ws.remove_channel_record(&ch, "发票", &k, None, kit.now())
    });
    assert_eq!(e.field(), Some("kind"));
    assert_ne!(e.message(Lang::Zh), e.message(Lang::En));
    kit.refused(cm, "not-found", |ws| {
        ws.remove_channel_record(&ch, "communication", "ffffffff", None, kit.now())
    });
    // The communication's ID is not a training's.
    kit.refused(cm, "not-found", |ws| {
        ws.remove_channel_record(&ch, "training", &k, None, kit.now())
    });

    let removed = cm
        .remove_channel_record(&ch, "沟通", &k[..8], Some("重复录入".into()), kit.now())
        .unwrap();
    assert_eq!(removed, k);
    assert!(seen(cm, &ch).communications.is_empty());
    assert_eq!(seen(cm, &ch).trainings.len(), 1, "only the one record goes");
    assert_eq!(
        whole(cm, &ch).communications.len(),
        1,
        "kept in the document"
    );
    let note = &whole(cm, &ch).removed[&format!("communications/{k}")];
    assert_eq!(note.text, "重复录入");
    assert_eq!(note.by, cm.user_id);
    // Removed once: not found the second time, nor restorable under another kind.
    kit.refused(cm, "not-found", |ws| {
        ws.remove_channel_record(&ch, "communication", &k, None, kit.now())
    });
    kit.refused(cm, "not-found", |ws| {
        ws.restore_channel_record(&ch, "training", &k, kit.now())
    });
    kit.refused(&t.rep, "permission-denied", |ws| {
        ws.restore_channel_record(&ch, "communication", &k, kit.now())
    });

    // The removal travels; a (sales) manager on another device puts it back.
    kit.sync(cm, &t.admin);
    kit.sync(&t.manager, &t.admin);
    assert!(seen(&t.manager, &ch).communications.is_empty());
    assert!(seen(&t.admin, &ch).communications.is_empty());
    let back = t
        .manager
        .restore_channel_record(&ch, "Communications", &k, kit.now())
        .unwrap();
    assert_eq!(back, k);
    kit.sync(&t.manager, &t.admin);
    kit.sync(cm, &t.admin);
    assert_eq!(seen(cm, &ch).communications.len(), 1);
    assert!(whole(cm, &ch).removed.is_empty());
    kit.refused(cm, "not-found", |ws| {
        ws.restore_channel_record(&ch, "communication", &k, kit.now())
    });
    for d in [cm, &t.manager, &t.admin] {
        assert_eq!(rule_count(d, &kit, RuleId::DataAuthority), 0);
    }
}

#[test]
fn a_removed_price_report_leaves_the_rules_and_every_kind_can_be_removed() {
    let (kit, t, ch) = with_channel();
    let cm = &t.channel_manager;
    // P-100 lists at 1000 yuan, floor 500.
    let low = cm
        .report_channel_price(&ch, "P-100", 400_00, kit.now() - DAY, kit.now())
        .unwrap();
    assert_eq!(rule_count(cm, &kit, RuleId::ChannelPriceFloor), 1);
    cm.remove_channel_record(&ch, "价格报告", &low, Some("录错价格".into()), kit.now())
        .unwrap();
    assert_eq!(rule_count(cm, &kit, RuleId::ChannelPriceFloor), 0);
    cm.restore_channel_record(&ch, "price report", &low, kit.now())
        .unwrap();
    assert_eq!(rule_count(cm, &kit, RuleId::ChannelPriceFloor), 1);

    let (start, end) = (kit.now(), kit.now() + 365 * DAY);
    let terr = cm
        .grant_territory(&ch, "上海", "工业泵", start, end, true, kit.now())
        .unwrap();
    let training = cm
        .channel_train(&ch, "销售技巧", kit.now() - DAY, kit.now())
        .unwrap();
    let assessment = cm
        .assess_channel(&ch, "2026-Q3", 80, None, kit.now())
        .unwrap();
    for (kind, id) in [
        ("区域", &terr),
        ("培训", &training),
        ("assessment", &assessment),
        ("price-report", &low),
    ] {
        cm.remove_channel_record(&ch, kind, id, None, kit.now())
            .unwrap();
    }
    let c = seen(cm, &ch);
    assert!(c.territories.is_empty());
    assert!(c.trainings.is_empty());
    assert!(c.assessments.is_empty());
    assert!(c.price_reports.is_empty());
    assert_eq!(whole(cm, &ch).removed.len(), 4);
}

#[test]
fn a_record_made_before_removals_existed_gets_its_removed_map() {
    let (kit, t, ch) = with_channel();
    let cm = &t.channel_manager;
    let k = cm
        .channel_communicate(&ch, "电话沟通", kit.now() - DAY, kit.now())
        .unwrap();
    // An older document: no `removed` map at all.
    let mut doc = cm.load(&ch).unwrap();
    doc.delete(&["removed"]).unwrap();
    doc.commit(kit.now(), "an older document");
    cm.save(&mut doc).unwrap();
    assert!(cm.load(&ch).unwrap().map_at(&["removed"]).is_none());
    assert_eq!(seen(cm, &ch).communications.len(), 1);

    cm.remove_channel_record(&ch, "communication", &k, None, kit.now())
        .unwrap();
    assert!(seen(cm, &ch).communications.is_empty());
}

#[test]
fn a_removal_made_without_the_authority_is_reported_and_not_taken_by_others() {
    let (kit, t, ch) = with_channel();
    let cm = &t.channel_manager;
    let k = cm
        .channel_communicate(&ch, "季度座谈", kit.now() - DAY, kit.now())
        .unwrap();
    kit.sync(cm, &t.admin);
    kit.copy_all(&t.admin, &t.rep);
    // A rep removes it anyway, with another Automerge client: the rep's device leaves the
    // communication out and reports the removal as made without the authority.
    let mut doc = t.rep.load(&ch).unwrap();
    doc.put(
        &["removed", &format!("communications/{k}")],
        &fieldcrm_model::Note {
            text: "不想要".into(),
            at: kit.now(),
            by: t.rep.user_id.clone(),
        },
    )
    .unwrap();
    doc.commit(kit.now(), "remove");
    t.rep.save(&mut doc).unwrap();
    assert!(seen(&t.rep, &ch).communications.is_empty());
    assert_eq!(rule_count(&t.rep, &kit, RuleId::DataAuthority), 1);
    // A rep may not change a channel record: the other devices do not take the change.
    kit.sync(&t.rep, &t.admin);
    kit.sync(cm, &t.admin);
    for d in [&t.admin, cm] {
        assert_eq!(seen(d, &ch).communications.len(), 1);
        assert_eq!(rule_count(d, &kit, RuleId::DataAuthority), 0);
    }
}
