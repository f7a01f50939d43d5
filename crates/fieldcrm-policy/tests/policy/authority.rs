//! Sign-offs judged by the one authority table (`fieldcrm_model::Authority`): an admin
//! holds every management authority but never the legal review; a rep holds none.

use fieldcrm_model::{
    Authority, ChannelStatus, Contract, DeviceKey, Document, Escalation, Gift, GiftDirection,
    GiftKind, Note, Order, Product, Quote, ReviewResult, Role, Severity as ComplaintSeverity,
};
use fieldcrm_policy::{Config, Finding, RuleId as R, check};

use crate::support::*;

fn quote(price: i64) -> Quote {
    Quote {
        product: "P1".into(),
        quantity: 10,
        list_price: 100_000,
        price,
        created_at: NOW - DAY,
        by: "rep1".into(),
        approval: None,
        cancelled: None,
    }
}

/// A customer file created by rep1, then `sign` run on `device`'s replica.
fn signed(
    c: &fieldcrm_model::Customer,
    device: &DeviceKey,
    sign: impl FnOnce(&mut Document),
) -> Vec<Finding> {
    let mut d = customer_doc(id(1), &REP, c);
    edit_as(&mut d, device, sign);
    run(&[&mut d])
}

fn discount_approved_by(price: i64, device: &DeviceKey) -> Vec<Finding> {
    let mut c = clean_customer("甲公司");
    c.quotes.insert("q1".into(), quote(price));
    signed(&c, device, |d| {
        d.put_new_object(
            &["quotes", "q1", "approval"],
            &sign_off(d, &["quotes", "q1", "approval"], approval("x", NOW - DAY)),
        )
        .unwrap()
    })
}

fn order_approved_by(device: &DeviceKey) -> Vec<Finding> {
    let mut c = clean_customer("甲公司");
    c.orders.insert(
        "r1".into(),
        Order {
            product: "P1".into(),
            quantity: 1,
            list_price: 100_000,
            price: 85_000,
            channel: None,
            ordered_at: NOW - DAY,
            promised_at: NOW + 10 * DAY,
            delivered_at: None,
            by: "rep1".into(),
            approval: None,
            cancelled: None,
        },
    );
    signed(&c, device, |d| {
        d.put_new_object(
            &["orders", "r1", "approval"],
            &sign_off(d, &["orders", "r1", "approval"], approval("x", NOW - DAY)),
        )
        .unwrap()
    })
}

fn class_exception_by(device: &DeviceKey) -> Vec<Finding> {
    let mut c = clean_key_customer("甲公司");
    c.annual_value = Some(50_000_000);
    signed(&c, device, |d| {
        d.put_new_object(
            &["class_exception"],
            &sign_off(d, &["class_exception"], approval("x", NOW - DAY)),
        )
        .unwrap()
    })
}

fn gift_approved_by(device: &DeviceKey) -> Vec<Finding> {
    let mut c = clean_customer("甲公司");
    c.gifts.insert(
        "g1".into(),
        Gift {
            kind: GiftKind::Hospitality,
            direction: GiftDirection::Given,
            description: "商务宴请".into(),
            value: 80_000,
            at: NOW - 3 * DAY,
            by: "rep1".into(),
            declared: true,
            approval: None,
        },
    );
    signed(&c, device, |d| {
        d.put_new_object(
            &["gifts", "g1", "approval"],
            &sign_off(d, &["gifts", "g1", "approval"], approval("x", NOW - DAY)),
        )
        .unwrap()
    })
}

fn legal_review_by(device: &DeviceKey) -> Vec<Finding> {
    let mut c = clean_customer("甲公司");
    c.contracts.insert(
        "h1".into(),
        Contract {
            title: "年度采购合同".into(),
            amount: 120_000_000,
            created_at: NOW - 8 * DAY,
            by: "rep1".into(),
            legal_review: None,
            signed_at: Some(NOW - 3 * DAY),
            archive_ref: Some("HT-2026-001".into()),
            archived_at: Some(NOW - 2 * DAY),
        },
    );
    signed(&c, device, |d| {
        d.put_new_object(
            &["contracts", "h1", "legal_review"],
            &sign_off(
                d,
                &["contracts", "h1", "legal_review"],
                review(ReviewResult::Passed, "law1", NOW - 4 * DAY),
            ),
        )
        .unwrap()
    })
}

/// A prospect channel (qualified by cm1) activated on `device`, and a customer order
/// through it: the sale is authorised only if the activation counts.
fn activated_by(device: &DeviceKey) -> Vec<Finding> {
    let mut p = clean_channel("苏州分销", None);
    p.status = ChannelStatus::Prospect;
    let mut ch = channel_doc(id(2), &CM, &p);
    edit_as(&mut ch, device, |d| {
        d.put(&["status"], &ChannelStatus::Active).unwrap()
    });
    let mut c = clean_customer("甲公司");
    c.orders.insert(
        "r1".into(),
        Order {
            product: "P1".into(),
            quantity: 5,
            list_price: 100_000,
            price: 95_000,
            channel: Some(id(2).to_string()),
            ordered_at: NOW - 10 * DAY,
            promised_at: NOW + 10 * DAY,
            delivered_at: None,
            by: "rep1".into(),
            approval: None,
            cancelled: None,
        },
    );
    let mut cd = customer_doc(id(1), &REP, &c);
    run(&[&mut cd, &mut ch])
}

fn qualification_by(device: &DeviceKey) -> Vec<Finding> {
    let mut ch = channel_doc(id(2), &CM, &clean_channel("苏州分销", None));
    edit_as(&mut ch, device, |d| {
        d.put_new_object(
            &["qualification"],
            &sign_off(
                d,
                &["qualification"],
                review(ReviewResult::Passed, "x", NOW - 110 * DAY),
            ),
        )
        .unwrap()
    });
    run(&[&mut ch])
}

#[test]
fn an_admins_management_sign_offs_count() {
    // Within and beyond the manager allowance.
    assert_rules(&discount_approved_by(85_000, &ADMIN), &[]);
    assert_rules(&discount_approved_by(70_000, &ADMIN), &[]);
    assert_rules(&order_approved_by(&ADMIN), &[]);
    assert_rules(&class_exception_by(&ADMIN), &[]);
    assert_rules(&gift_approved_by(&ADMIN), &[]);
    assert_rules(&qualification_by(&ADMIN), &[]);
    // The activation counts: no DATA-AUTHORITY, and the sale through it is authorised.
    assert_rules(&activated_by(&ADMIN), &[]);
    // The same sign-offs by the role they are named after count too.
    assert_rules(&discount_approved_by(85_000, &MGR), &[]);
    assert_rules(&class_exception_by(&MGR), &[]);
    assert_rules(&gift_approved_by(&MGR), &[]);
    assert_rules(&activated_by(&CM), &[]);
}

#[test]
fn an_admins_legal_review_does_not_count() {
    let f = legal_review_by(&ADMIN);
    assert_rules(&f, &[R::ContractLegalReview, R::DataAuthority]);
    let auth = of(&f, R::DataAuthority)[0];
    assert_eq!(auth.facts["authority"], "legal-review");
    assert_eq!(auth.facts["required_roles"], serde_json::json!(["legal"]));
    assert_eq!(auth.facts["set_by"]["role"], "admin");
    assert!(
        auth.message_zh.contains(&Authority::LegalReview.needs_zh()),
        "{}",
        auth.message_zh
    );
    assert!(
        auth.message_en.contains("only legal may review a contract"),
        "{}",
        auth.message_en
    );
    assert_rules(&legal_review_by(&LEGAL), &[]);
}

#[test]
fn a_reps_sign_off_never_counts() {
    for (what, f, dependent) in [
        (
            "discount",
            discount_approved_by(85_000, &REP),
            R::PriceDiscount,
        ),
        ("order", order_approved_by(&REP), R::PriceDiscount),
        (
            "class exception",
            class_exception_by(&REP),
            R::CustClassCriteria,
        ),
        ("gift", gift_approved_by(&REP), R::GiftDeclaration),
        (
            "legal review",
            legal_review_by(&REP),
            R::ContractLegalReview,
        ),
        (
            "qualification",
            qualification_by(&REP),
            R::ChannelQualification,
        ),
        ("activation", activated_by(&REP), R::ChannelUnauthorizedSale),
    ] {
        let mut want = vec![dependent, R::DataAuthority];
        want.sort();
        let mut got = rules(&f);
        got.sort();
        assert_eq!(got, want, "{what}");
        let auth = of(&f, R::DataAuthority)[0];
        assert_eq!(auth.facts["set_by"]["role"], "rep", "{what}");
        let roles = auth.facts["required_roles"].as_array().unwrap();
        assert!(!roles.contains(&"rep".into()), "{what}");
    }
}

#[test]
fn authority_findings_name_the_holders_from_the_table() {
    let f = discount_approved_by(85_000, &REP);
    let auth = of(&f, R::DataAuthority)[0];
    assert_eq!(auth.facts["authority"], "discount-approval");
    assert_eq!(
        auth.facts["required_roles"],
        serde_json::json!(["manager", "admin"])
    );
    assert!(
        auth.message_zh.contains("只有经理或管理员有权批准报价折扣"),
        "{}",
        auth.message_zh
    );
    assert!(
        auth.message_en
            .contains("only manager or admin may approve a discount"),
        "{}",
        auth.message_en
    );
    let f = activated_by(&REP);
    let auth = of(&f, R::DataAuthority)[0];
    assert_eq!(
        auth.facts["required_roles"],
        serde_json::json!(["channel-manager", "admin"])
    );
    assert!(
        auth.message_zh
            .contains(&Authority::ChannelActivation.needs_zh()),
        "{}",
        auth.message_zh
    );
}

#[test]
fn a_manager_beyond_the_allowance_names_who_may_approve() {
    let f = discount_approved_by(70_000, &MGR);
    assert_rules(&f, &[R::PriceDiscount]);
    let f = discount_approved_by(70_000, &STRANGER);
    let price = of(&f, R::PriceDiscount)[0];
    assert!(
        price.message_en.contains("unenrolled"),
        "{}",
        price.message_en
    );
    let mut c = clean_customer("甲公司");
    c.quotes.insert("q1".into(), quote(70_000));
    let mut d = customer_doc(id(1), &REP, &c);
    let f = run(&[&mut d]);
    assert!(
        f[0].message_en.contains("it needs the approval of admin"),
        "{}",
        f[0].message_en
    );
}

#[test]
fn an_escalation_to_an_admin_counts() {
    let mut c = clean_customer("甲公司");
    c.complaints.insert(
        "k1".into(),
        fieldcrm_model::Complaint {
            severity: ComplaintSeverity::Normal,
            summary: "设备漏水".into(),
            opened_at: NOW - 49 * fieldcrm_model::HOUR_MS,
            opened_by: "rep1".into(),
            first_response: Some(Note {
                text: "已联系".into(),
                at: NOW - 48 * fieldcrm_model::HOUR_MS,
                by: "rep1".into(),
            }),
            escalation: Some(Escalation {
                to: "admin".into(),
                at: NOW - 45 * fieldcrm_model::HOUR_MS,
                by: "rep1".into(),
            }),
            investigation: None,
            resolution: None,
            closed_at: None,
        },
    );
    let mut d = customer_doc(id(1), &REP, &c);
    assert_rules(&run(&[&mut d]), &[]);
    // To another rep: does not count.
    c.complaints
        .get_mut("k1")
        .unwrap()
        .escalation
        .as_mut()
        .unwrap()
        .to = "rep2".into();
    let mut d = customer_doc(id(1), &REP, &c);
    assert_rules(&run(&[&mut d]), &[R::ComplaintEscalation]);
}

#[test]
fn workspace_fields_are_judged_by_the_table() {
    // A rep adds a product to the catalog: it does not count and is reported.
    let mut cat = catalog_doc();
    edit_as(&mut cat, &REP, |d| {
        d.put(
            &["products", "X1"],
            &Product {
                name: "私货".into(),
                product_line: "pumps".into(),
                list_price: 1,
                floor_price: 0,
            },
        )
        .unwrap()
    });
    let snaps = vec![roster_doc().snapshot().unwrap(), cat.snapshot().unwrap()];
    let f = check(&snaps, &Config::default(), NOW);
    assert_rules(&f, &[R::DataAuthority]);
    assert_eq!(f[0].entity.as_deref(), Some("products/X1"));
    assert_eq!(f[0].facts["authority"], "catalog");
    // An admin may.
    let mut cat = catalog_doc();
    edit_as(&mut cat, &ADMIN, |d| {
        d.put(
            &["products", "X1"],
            &Product {
                name: "新品".into(),
                product_line: "pumps".into(),
                list_price: 1,
                floor_price: 0,
            },
        )
        .unwrap()
    });
    let snaps = vec![roster_doc().snapshot().unwrap(), cat.snapshot().unwrap()];
    assert!(check(&snaps, &Config::default(), NOW).is_empty());
    // A role granted by a manager's device: reserved to admins.
    let mut roster = roster_doc();
    edit_as(&mut roster, &MGR, |d| {
        d.put(&["users", "rep2", "role"], &Role::Manager).unwrap()
    });
    let f = check(&[roster.snapshot().unwrap()], &Config::default(), NOW);
    assert_rules(&f, &[R::DataAuthority]);
    assert_eq!(f[0].facts["authority"], "roster");
    assert_eq!(f[0].facts["required_roles"], serde_json::json!(["admin"]));
}

/// A key customer without a development plan (a CUST-KEY-PLAN finding of its own),
/// archived on `device`'s replica.
fn archived_by(device: &DeviceKey) -> Vec<Finding> {
    let mut c = clean_key_customer("甲公司");
    c.plan = None;
    signed(&c, device, |d| {
        d.put_new_object(
            &["archived"],
            &Note {
                text: "重复录入".into(),
                at: NOW - DAY,
                by: "x".into(),
            },
        )
        .unwrap()
    })
}

#[test]
fn an_archive_counts_only_from_a_holder_of_the_archive_authority() {
    // Not archived: the missing plan is reported.
    let mut c = clean_key_customer("甲公司");
    c.plan = None;
    let mut d = customer_doc(id(1), &REP, &c);
    let open = run(&[&mut d]);
    assert!(open.iter().any(|f| f.rule == R::CustKeyPlan), "{open:?}");
    // Archived by a manager: out of every rule.
    let by_manager = archived_by(&MGR);
    assert!(by_manager.is_empty(), "{by_manager:?}");
    // Archived by the rep (another Automerge client can write it): does not count; the
    // file stays in the rules and the archive itself is a DATA-AUTHORITY finding.
    let by_rep = archived_by(&REP);
    assert!(
        by_rep.iter().any(|f| f.rule == R::CustKeyPlan),
        "{by_rep:?}"
    );
    assert!(
        by_rep
            .iter()
            .any(|f| f.rule == R::DataAuthority && f.entity.as_deref() == Some("archived")),
        "{by_rep:?}"
    );
}
