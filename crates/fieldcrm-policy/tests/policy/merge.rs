//! Merge-sensitive rules: each device alone is clean; the finding appears only after the
//! devices' documents are merged. And: the same heads give the same findings everywhere.

use fieldcrm_model::{ChannelStatus, CustomerClass, Document, ReviewResult, Role};
use fieldcrm_policy::{Config, RuleId as R, check};

use crate::support::*;

#[test]
fn duplicate_customer_created_by_two_reps_offline() {
    let mut a = clean_customer("华东机械有限公司");
    a.contacts.get_mut("c1").unwrap().phone = Some("13800000001".into());
    let mut b = clean_customer("华东机械（中国）有限公司");
    b.owner = Some("rep2".into());
    b.contacts.get_mut("c1").unwrap().phone = Some("+86 138 0000 0001".into());
    // Each rep creates the customer on their own device, offline.
    let mut on_rep = customer_doc(id(1), &REP, &a);
    let mut on_rep2 = customer_doc(id(2), &REP2, &b);
    assert_rules(&run(&[&mut on_rep]), &[]);
    assert_rules(&run(&[&mut on_rep2]), &[]);
    // After sync both files are everywhere.
    let f = run(&[&mut on_rep, &mut on_rep2]);
    assert_rules(&f, &[R::CustDuplicate]);
    let keys: Vec<&str> = f[0].facts["matched"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, vec!["name", "phone"]);
}

#[test]
fn owner_set_differently_on_two_devices() {
    let mut base = customer_doc(id(1), &REP, &clean_customer("甲公司"));
    let mut on_rep = replica(&mut base, &REP);
    let mut on_mgr = replica(&mut base, &MGR);
    on_rep.put(&["owner"], &"rep2".to_string()).unwrap();
    on_rep.commit(NOW - DAY, "owner");
    on_mgr.put(&["owner"], &"mgr1".to_string()).unwrap();
    on_mgr.commit(NOW - DAY, "owner");
    assert_rules(&run(&[&mut on_rep]), &[]);
    assert_rules(&run(&[&mut on_mgr]), &[]);
    merge(&mut on_rep, &mut on_mgr);
    let f = run(&[&mut on_rep]);
    assert_rules(&f, &[R::CustConcurrentEdit]);
    assert_eq!(f[0].entity.as_deref(), Some("owner"));
    let values = f[0].facts["values"].as_array().unwrap();
    assert_eq!(values.len(), 2);
    let mut who: Vec<(String, String)> = values
        .iter()
        .map(|v| {
            (
                v["value"].as_str().unwrap().to_string(),
                v["set_by"]["name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    who.sort();
    assert_eq!(
        who,
        vec![
            ("mgr1".to_string(), "王强".to_string()),
            ("rep2".to_string(), "张伟".to_string())
        ]
    );
    assert!(f[0].message_zh.contains("销售经理"), "{}", f[0].message_zh);
}

#[test]
fn class_set_differently_on_two_devices() {
    // A key-sized customer filed as general, with a manager-approved class exception for
    // that class, so general (approved) and key are both acceptable on their own.
    let mut c = clean_key_customer("甲公司");
    c.class = Some(CustomerClass::General);
    let mut base = customer_doc(id(1), &REP, &c);
    edit_as(&mut base, &MGR, |d| {
        d.put_new_object(
            &["class_exception"],
            &sign_off(d, &["class_exception"], approval("mgr1", NOW - 30 * DAY)),
        )
        .unwrap()
    });
    let mut a = replica(&mut base, &REP);
    let mut b = replica(&mut base, &REP2);
    // Rewritten (not a no-op): a new value concurrent with b's.
    a.delete(&["class"]).unwrap();
    a.put(&["class"], &CustomerClass::General).unwrap();
    a.commit(NOW - DAY, "class");
    b.put(&["class"], &CustomerClass::Key).unwrap();
    b.commit(NOW - DAY, "class");
    assert_rules(&run(&[&mut a]), &[]);
    assert_rules(&run(&[&mut b]), &[]);
    merge(&mut a, &mut b);
    let f = run(&[&mut a]);
    assert_rules(&f, &[R::CustConcurrentEdit]);
    assert_eq!(f[0].entity.as_deref(), Some("class"));
}

#[test]
fn two_exclusive_territories_granted_offline() {
    // Both channel records exist on both managers' devices; each manager grants an
    // exclusive territory on one of them while offline.
    let mut x = channel_doc(id(2), &CM, &clean_channel("苏州分销", None));
    let mut y = channel_doc(id(3), &CM, &clean_channel("杭州代理", None));
    let territory = fieldcrm_model::Territory {
        region: "华东".into(),
        product_line: "pumps".into(),
        start: NOW - 10 * DAY,
        end: NOW + 355 * DAY,
        exclusive: true,
        by: "cm1".into(),
        at: NOW - 10 * DAY,
    };
    let mut x_on_cm = replica(&mut x, &CM);
    let mut y_on_cm = replica(&mut y, &CM);
    let mut x_on_cm2 = replica(&mut x, &CM2);
    let mut y_on_cm2 = replica(&mut y, &CM2);
    x_on_cm.put(&["territories", "tx"], &territory).unwrap();
    x_on_cm.commit(NOW - 10 * DAY, "grant");
    y_on_cm2.put(&["territories", "ty"], &territory).unwrap();
    y_on_cm2.commit(NOW - 10 * DAY, "grant");
    assert_rules(&run(&[&mut x_on_cm, &mut y_on_cm]), &[]);
    assert_rules(&run(&[&mut x_on_cm2, &mut y_on_cm2]), &[]);
    merge(&mut x_on_cm, &mut x_on_cm2);
    merge(&mut y_on_cm, &mut y_on_cm2);
    let f = run(&[&mut x_on_cm, &mut y_on_cm]);
    assert_rules(&f, &[R::ChannelTerritoryConflict]);
    assert_eq!(f[0].doc_ids, vec![id(2), id(3)]);
}

#[test]
fn channel_activated_while_its_qualification_failed_elsewhere() {
    let mut p = clean_channel("苏州分销", None);
    p.status = ChannelStatus::Prospect;
    p.activated_at = None;
    p.status_at = NOW - 120 * DAY;
    let mut base = channel_doc(id(2), &CM, &p);
    let mut on_cm = replica(&mut base, &CM);
    let mut on_cm2 = replica(&mut base, &CM2);
    on_cm.put(&["status"], &ChannelStatus::Active).unwrap();
    on_cm.put(&["status_at"], &(NOW - 100 * DAY)).unwrap();
    on_cm
        .put(&["activated_at"], &Some(NOW - 100 * DAY))
        .unwrap();
    on_cm.commit(NOW - 100 * DAY, "activate");
    on_cm2
        .put_new_object(
            &["qualification"],
            &sign_off(
                &on_cm2,
                &["qualification"],
                review(ReviewResult::Failed, "cm2", NOW - 101 * DAY),
            ),
        )
        .unwrap();
    on_cm2.commit(NOW - 101 * DAY, "qualification failed");
    assert_rules(&run(&[&mut on_cm]), &[]);
    assert_rules(&run(&[&mut on_cm2]), &[]);
    merge(&mut on_cm, &mut on_cm2);
    let f = run(&[&mut on_cm]);
    assert_rules(&f, &[R::ChannelQualification]);
    assert_eq!(f[0].facts["qualification_result"], "failed");
}

#[test]
fn discount_approved_offline_by_someone_who_is_no_longer_a_manager() {
    // lead1 (周杰) is a manager when they go offline; meanwhile the admin demotes them.
    let mut customer = customer_doc(id(1), &REP, &clean_customer("甲公司"));
    let mut on_lead = replica(&mut customer, &LEAD);
    on_lead
        .put(
            &["quotes", "q1"],
            &fieldcrm_model::Quote {
                product: "P1".into(),
                quantity: 10,
                list_price: 100_000,
                price: 80_000,
                created_at: NOW - 2 * DAY,
                by: "lead1".into(),
                approval: None,
                cancelled: None,
            },
        )
        .unwrap();
    on_lead
        .put_new_object(
            &["quotes", "q1", "approval"],
            &sign_off(
                &on_lead,
                &["quotes", "q1", "approval"],
                approval("lead1", NOW - 2 * DAY),
            ),
        )
        .unwrap();
    on_lead.commit(NOW - 2 * DAY, "quote approved");

    let mut roster_on_lead = roster_doc();
    let mut roster_on_admin = replica(&mut roster_on_lead, &ADMIN);
    roster_on_admin
        .put(&["users", "lead1", "role"], &Role::Rep)
        .unwrap();
    roster_on_admin.commit(NOW - 2 * DAY, "demote lead1");

    let cfg = Config::default();
    let catalog = catalog_doc().snapshot().unwrap();
    let lead_view = vec![
        roster_on_lead.snapshot().unwrap(),
        catalog.clone(),
        on_lead.snapshot().unwrap(),
    ];
    let admin_view = vec![
        roster_on_admin.snapshot().unwrap(),
        catalog.clone(),
        customer.snapshot().unwrap(),
    ];
    assert_rules(&check(&lead_view, &cfg, NOW), &[]);
    assert_rules(&check(&admin_view, &cfg, NOW), &[]);

    merge(&mut roster_on_lead, &mut roster_on_admin);
    merge(&mut customer, &mut on_lead);
    let merged = vec![
        roster_on_lead.snapshot().unwrap(),
        catalog,
        customer.snapshot().unwrap(),
    ];
    let f = check(&merged, &cfg, NOW);
    assert_rules(&f, &[R::PriceDiscount, R::DataAuthority]);
    let pd = of(&f, R::PriceDiscount)[0];
    assert_eq!(pd.facts["approval_set_by"]["user"], "lead1");
    assert_eq!(pd.facts["approval_set_by"]["role"], "rep");
    assert_eq!(pd.facts["discount_bp"], 2000);
}

#[test]
fn same_heads_same_findings_both_merge_orders() {
    let mut base = customer_doc(id(1), &REP, &clean_customer("甲公司"));
    let build = |base: &mut Document| {
        let mut a = replica(base, &REP);
        let mut b = replica(base, &MGR);
        a.put(&["class"], &CustomerClass::Key).unwrap();
        a.put(&["owner"], &"rep1".to_string()).unwrap();
        a.commit(NOW - DAY, "a");
        b.put(&["class"], &CustomerClass::Potential).unwrap();
        b.put(&["owner"], &"rep2".to_string()).unwrap();
        b.put_new_object(
            &["class_exception"],
            &sign_off(&b, &["class_exception"], approval("mgr1", NOW - DAY)),
        )
        .unwrap();
        b.commit(NOW - DAY, "b");
        (a, b)
    };
    let (mut a1, mut b1) = build(&mut base);
    let (mut a2, mut b2) = build(&mut base);
    merge(&mut a1, &mut b1); // a ← b
    merge(&mut b2, &mut a2); // b ← a
    let mut h1 = a1.heads();
    let mut h2 = b2.heads();
    h1.sort();
    h2.sort();
    assert_eq!(h1, h2);
    let f1 = run(&[&mut a1]);
    let f2 = run(&[&mut b2]);
    assert!(!f1.is_empty());
    assert_eq!(
        serde_json::to_string(&f1).unwrap(),
        serde_json::to_string(&f2).unwrap()
    );
    // Input order does not matter either.
    let mut snaps = workspace();
    snaps.push(a1.snapshot().unwrap());
    let mut reversed = snaps.clone();
    reversed.reverse();
    assert_eq!(
        check(&snaps, &Config::default(), NOW),
        check(&reversed, &Config::default(), NOW)
    );
}

/// A duplicate merge copies the duplicate's contract, legal review included, into the
/// survivor; the merging manager wrote those operations, but the review still counts as
/// the legal reviewer's (it is the same review of the same contract in the tombstone).
#[test]
fn a_legal_review_copied_by_a_duplicate_merge_keeps_its_author() {
    use fieldcrm_model::Contract;
    let contract = Contract {
        title: "年度供货合同".into(),
        amount: 50_000_000,
        created_at: NOW - 30 * DAY,
        by: "rep2".into(),
        signed_at: Some(NOW - 10 * DAY),
        archive_ref: Some("HT-2026-001".into()),
        archived_at: Some(NOW - 9 * DAY),
        ..Default::default()
    };
    // The duplicate (rep2's file) holds the contract, reviewed by legal before signing.
    let mut dup_content = clean_customer("华东机械（中国）有限公司");
    dup_content.owner = Some("rep2".into());
    dup_content.contracts.insert("k1".into(), contract.clone());
    let mut dup = customer_doc(id(2), &REP2, &dup_content);
    edit_as(&mut dup, &LEGAL, |d| {
        d.put_new_object(
            &["contracts", "k1", "legal_review"],
            &sign_off(
                d,
                &["contracts", "k1", "legal_review"],
                review(ReviewResult::Passed, "law1", NOW - 12 * DAY),
            ),
        )
        .unwrap();
    });
    let mut keep = customer_doc(id(1), &REP, &clean_customer("华东机械有限公司"));
    // The manager merges: copies the contract (with its review) and marks the tombstone.
    let reviewed = dup.hydrate::<fieldcrm_model::Customer>().unwrap().contracts["k1"].clone();
    edit_as(&mut keep, &MGR, |d| {
        d.put(&["contracts", "k1"], &reviewed).unwrap()
    });
    edit_as(&mut dup, &MGR, |d| {
        d.put(&["merged_into"], &Some(id(1).to_string())).unwrap()
    });
    assert_rules(&run(&[&mut keep, &mut dup]), &[]);

    // A tombstone merged by a rep does not lend authority; nor does a different contract.
    let mut dup2 = customer_doc(id(3), &REP2, &dup_content);
    edit_as(&mut dup2, &LEGAL, |d| {
        d.put_new_object(
            &["contracts", "k1", "legal_review"],
            &sign_off(
                d,
                &["contracts", "k1", "legal_review"],
                review(ReviewResult::Passed, "law1", NOW - 12 * DAY),
            ),
        )
        .unwrap();
    });
    let mut keep2 = customer_doc(id(4), &REP, &clean_customer("另一家公司"));
    let mut changed = reviewed.clone();
    changed.amount += 1;
    edit_as(&mut keep2, &MGR, |d| {
        d.put(&["contracts", "k1"], &changed).unwrap()
    });
    edit_as(&mut dup2, &REP2, |d| {
        d.put(&["merged_into"], &Some(id(4).to_string())).unwrap()
    });
    let f = run(&[&mut keep2, &mut dup2]);
    assert!(f.iter().any(|x| x.rule == R::DataAuthority), "{f:?}");
}
