//! Rules that cannot be gamed: a sign-off is bound to the values it approved, judged by
//! every hand that set one of its fields, and resolving a conflict takes the authority
//! to set the field. Each verdict is checked on every device that sees the file.

use fieldcrm_model::{DocId, ReviewResult};
use fieldcrm_policy::{Finding, RuleId};
use fieldcrm_testkit::{DAY, Kit, Team};
use fieldcrm_workspace::{CheckQuery, Pick, Workspace};

/// A team, product P-100 (list 1 000 yuan) and the rep's customer 甲公司 on the rep,
/// admin and manager devices.
pub(super) fn sales() -> (Kit, Team, DocId) {
    let kit = Kit::new();
    let t = kit.team();
    kit.product(&t.admin, "P-100", "1000");
    let c = kit.customer(&t.rep, "甲公司");
    kit.sync(&t.rep, &t.admin);
    kit.sync(&t.manager, &t.admin);
    (kit, t, c)
}

/// Rep → admin → manager and back, so all three hold the same state.
fn spread(kit: &Kit, t: &Team) {
    kit.sync(&t.rep, &t.admin);
    kit.sync(&t.manager, &t.admin);
    kit.sync(&t.rep, &t.admin);
}

fn findings(ws: &Workspace, kit: &Kit, rule: RuleId) -> Vec<Finding> {
    let q = CheckQuery {
        rule: Some(rule),
        doc: None,
    };
    ws.check(&q, kit.now()).unwrap()
}

/// The same findings of `rule` (rule, entity, message) on every device.
fn same_everywhere(kit: &Kit, devs: &[&Workspace], rule: RuleId) -> Vec<Finding> {
    let first = findings(devs[0], kit, rule);
    for d in &devs[1..] {
        let other = findings(d, kit, rule);
        let key = |f: &Finding| (f.entity.clone(), f.message_zh.clone(), f.message_en.clone());
        assert_eq!(
            first.iter().map(key).collect::<Vec<_>>(),
            other.iter().map(key).collect::<Vec<_>>(),
            "devices disagree"
        );
    }
    first
}

#[test]
fn a_price_lowered_after_approval_voids_it_and_names_who_changed_it() {
    let (kit, t, c) = sales();
    // 15 % off: beyond the rep's allowance, within the manager's.
    let q = kit.quote(&t.rep, &c, "P-100", "850");
    spread(&kit, &t);
    t.manager.approve_quote(&c, &q, None, kit.now()).unwrap();
    spread(&kit, &t);
    let devs: [&Workspace; 3] = [&t.rep, &t.manager, &t.admin];
    assert!(same_everywhere(&kit, &devs, RuleId::PriceDiscount).is_empty());

    // The rep lowers the price to 24 % off afterwards.
    kit.advance(DAY);
    let edit = t
        .rep
        .edit_quote(&c, &q[..8], (Some(760_00), None), kit.now())
        .unwrap();
    assert!(edit.approval_void, "{edit:?}");
    assert_eq!(edit.discount_bp, 2400);
    spread(&kit, &t);
    let f = same_everywhere(&kit, &devs, RuleId::PriceDiscount);
    assert_eq!(f.len(), 1, "{f:#?}");
    let msg = &f[0].message_zh;
    for part in ["已失效", "单价由850.00改为760.00", "小张", "需重新审批"] {
        assert!(msg.contains(part), "{part} not in {msg}");
    }
    assert!(f[0].message_en.contains("void"), "{}", f[0].message_en);
    let void = &f[0].facts["approval_void"][0];
    assert_eq!(void["field"], "price");
    assert_eq!(void["approved"], 850_00);
    assert_eq!(void["now"], 760_00);
    assert_eq!(void["changed_by"]["name"], "小张");

    // Approved again for the new price: nothing left on any device.
    t.manager.approve_quote(&c, &q, None, kit.now()).unwrap();
    spread(&kit, &t);
    assert!(same_everywhere(&kit, &devs, RuleId::PriceDiscount).is_empty());
    // A change that keeps the approved values voids nothing.
    let same = t
        .rep
        .edit_quote(&c, &q, (Some(760_00), None), kit.now())
        .unwrap();
    assert!(!same.approval_void);
}

#[test]
fn an_approval_and_a_quantity_change_made_offline_meet_in_a_void_approval() {
    let (kit, t, c) = sales();
    let q = kit.quote(&t.rep, &c, "P-100", "850");
    spread(&kit, &t);
    // Offline, at the same time: the manager approves, the rep triples the quantity.
    t.manager.approve_quote(&c, &q, None, kit.now()).unwrap();
    t.rep
        .edit_quote(&c, &q, (None, Some(3)), kit.now())
        .unwrap();
    assert!(findings(&t.manager, &kit, RuleId::PriceDiscount).is_empty());
    let alone = findings(&t.rep, &kit, RuleId::PriceDiscount);
    assert!(alone[0].facts["approval_void"].is_null(), "{alone:#?}");
    spread(&kit, &t);
    let f = same_everywhere(&kit, &[&t.rep, &t.manager, &t.admin], RuleId::PriceDiscount);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].facts["approval_void"][0]["field"], "quantity");
    assert!(
        f[0].message_zh.contains("数量由1改为3"),
        "{}",
        f[0].message_zh
    );
}

#[test]
fn a_rep_flipping_a_legal_reviews_result_is_seen_as_the_reps_hand() {
    let (kit, t, c) = sales();
    kit.sync(&t.legal, &t.admin);
    let k = kit.contract(&t.rep, &c);
    kit.sync(&t.rep, &t.admin);
    kit.sync(&t.legal, &t.admin);
    t.legal
        .review_contract(&c, &k, ReviewResult::Failed, None, kit.now())
        .unwrap();
    kit.sync(&t.legal, &t.admin);
    kit.sync(&t.rep, &t.admin);
    t.rep.sign_contract(&c, &k, kit.now(), kit.now()).unwrap();
    // The rep turns the review's result to passed with any Automerge client: one field
    // inside the reviewer's object, signed by the rep's own device.
    let mut doc = t.rep.load(&c).unwrap();
    doc.put(
        &["contracts", &k, "legal_review", "result"],
        &ReviewResult::Passed,
    )
    .unwrap();
    doc.commit(kit.now(), "edit");
    t.rep.save(&mut doc).unwrap();
    kit.sync(&t.rep, &t.admin);
    kit.sync(&t.legal, &t.admin);
    kit.sync(&t.manager, &t.admin);
    let f = same_everywhere(
        &kit,
        &[&t.rep, &t.legal, &t.manager, &t.admin],
        RuleId::ContractLegalReview,
    );
    assert_eq!(f.len(), 1, "{f:#?}");
    assert!(f[0].message_zh.contains("小张"), "{}", f[0].message_zh);
    assert_eq!(f[0].facts["set_by"]["name"], "小张");
}

#[test]
fn resolving_a_sign_off_conflict_takes_the_authority_and_keeps_what_it_discarded() {
    let (kit, t, c) = sales();
    let q = kit.quote(&t.rep, &c, "P-100", "850");
    spread(&kit, &t);
    // Two approvers sign the same quote offline, with different remarks.
    t.manager
        .approve_quote(&c, &q, Some("经理同意".into()), kit.now())
        .unwrap();
    t.admin
        .approve_quote(&c, &q, Some("管理员同意".into()), kit.now())
        .unwrap();
    spread(&kit, &t);
    let path = format!("quotes/{q}/approval");
    assert!(
        t.rep
            .doc_conflicts(&c)
            .unwrap()
            .iter()
            .any(|k| k.path == path)
    );
    // The rep may not settle a field only a manager may set.
    kit.refused(&t.rep, "permission-denied", |ws| {
        ws.resolve_conflict(&c, &path, &Pick::Author("李经理".into()), kit.now())
    });

    // Two managers settle it differently, offline: a new conflict, not a silent pick.
    t.manager
        .resolve_conflict(&c, &path, &Pick::Author("李经理".into()), kit.now())
        .unwrap();
    t.admin
        .resolve_conflict(&c, &path, &Pick::Author("王经理".into()), kit.now())
        .unwrap();
    spread(&kit, &t);
    let again = t.manager.doc_conflicts(&c).unwrap();
    assert!(again.iter().any(|k| k.path == path), "{again:#?}");

    // Settled once: the history names the resolution, its author and what it discarded.
    t.manager
        .resolve_conflict(&c, &path, &Pick::Author("李经理".into()), kit.now())
        .unwrap();
    spread(&kit, &t);
    assert!(t.admin.doc_conflicts(&c).unwrap().is_empty());
    let history = t.admin.history(&c).unwrap();
    let last = history
        .iter()
        .rev()
        .find(|h| h.message.starts_with("解决冲突"))
        .unwrap();
    assert!(last.message.contains("舍弃 discarded"), "{}", last.message);
    assert!(last.message.contains("王经理 (admin)"), "{}", last.message);
    assert_eq!(last.author.user.as_deref(), Some("李经理"));
    assert!(findings(&t.admin, &kit, RuleId::PriceDiscount).is_empty());
}
