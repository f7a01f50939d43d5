//! Every rule: a case where it fires and a close case where it does not.

use fieldcrm_model::{
    Complaint, Contract, CustomerClass, DocKind, Escalation, Field, Gift, GiftDirection, GiftKind,
    Interaction, InteractionKind, Investigation, Note, Opportunity, Order, PolicySettings, Quote,
    ReviewResult, Role, RuleSetting, Sales, Severity as ComplaintSeverity, Snapshot, Stage, Stamp,
    Target,
};
use fieldcrm_policy::{
    Config, RuleId as R, Severity, check, check_device, render, render_progress, target_progress,
};

use crate::support::*;

fn cust(c: &fieldcrm_model::Customer) -> Vec<fieldcrm_policy::Finding> {
    let mut d = customer_doc(id(1), &REP, c);
    run(&[&mut d])
}

fn chan(c: &fieldcrm_model::Channel) -> Vec<fieldcrm_policy::Finding> {
    let mut d = channel_doc(id(2), &CM, c);
    run(&[&mut d])
}

#[test]
fn clean_fixtures_have_no_findings() {
    let mut a = customer_doc(id(1), &REP, &clean_customer("华东机械有限公司"));
    let mut b = customer_doc(id(2), &REP, &clean_key_customer("江南重工有限公司"));
    let mut c = channel_doc(
        id(3),
        &CM,
        &clean_channel("苏州分销", Some(("华东", "pumps"))),
    );
    let f = run(&[&mut a, &mut b, &mut c]);
    assert_rules(&f, &[]);
    assert_eq!(render(&f, fieldcrm_policy::Lang::Zh), "没有发现问题。\n");
}

#[test]
fn class_missing() {
    let mut c = clean_customer("甲公司");
    c.class = None;
    let f = cust(&c);
    assert_rules(&f, &[R::CustClassMissing]);
    assert!(f[0].message_zh.contains("尚未分类"), "{}", f[0].message_zh);
    c.class = Some(CustomerClass::Potential);
    assert_rules(&cust(&c), &[]);
}

#[test]
fn class_criteria_and_manager_exception() {
    let mut c = clean_key_customer("甲公司");
    c.annual_value = Some(50_000_000); // 500,000 yuan < 1,000,000
    let f = cust(&c);
    assert_rules(&f, &[R::CustClassCriteria]);
    assert_eq!(f[0].severity, Severity::Warning);
    assert_eq!(f[0].facts["annual_value"], 50_000_000);

    // A manager approves the exception: clean.
    let mut d = customer_doc(id(1), &REP, &c);
    edit_as(&mut d, &MGR, |d| {
        d.put_new_object(
            &["class_exception"],
            &sign_off(d, &["class_exception"], approval("mgr1", NOW - DAY)),
        )
        .unwrap()
    });
    assert_rules(&run(&[&mut d]), &[]);

    // The rep approves it: does not count, and is itself a finding.
    let mut d = customer_doc(id(1), &REP, &c);
    edit_as(&mut d, &REP, |d| {
        d.put_new_object(
            &["class_exception"],
            &sign_off(d, &["class_exception"], approval("mgr1", NOW - DAY)),
        )
        .unwrap()
    });
    let f = run(&[&mut d]);
    assert_rules(&f, &[R::CustClassCriteria, R::DataAuthority]);
    let auth = of(&f, R::DataAuthority)[0];
    assert_eq!(auth.facts["set_by"]["user"], "rep1");
    assert_eq!(auth.entity.as_deref(), Some("class_exception"));

    // A general customer above the key threshold is under-classified.
    let mut g = clean_customer("乙公司");
    g.annual_value = Some(150_000_000);
    assert_rules(&cust(&g), &[R::CustClassCriteria]);
    g.annual_value = Some(99_999_999);
    assert_rules(&cust(&g), &[]);
}

#[test]
fn profile_complete() {
    let mut c = clean_customer("甲公司");
    c.industry = None;
    c.contacts.get_mut("c1").unwrap().phone = None;
    let f = cust(&c);
    assert_rules(&f, &[R::CustProfileComplete]);
    assert_eq!(
        f[0].facts["missing"],
        serde_json::json!(["industry", "contact"])
    );
    // An email is enough to reach the contact.
    c.industry = Some("化工".into());
    c.contacts.get_mut("c1").unwrap().email = Some("chen@example.cn".into());
    assert_rules(&cust(&c), &[]);
    // Key customers also need an address.
    let mut k = clean_key_customer("乙公司");
    k.address = Some("  ".into());
    assert_rules(&cust(&k), &[R::CustProfileComplete]);
}

#[test]
fn duplicates_by_credit_code_name_phone_and_email() {
    let mut a = clean_customer("华东机械有限公司");
    let mut b = clean_customer("江南重工");
    a.credit_code = Some("91310000MA1FL00X1Y".into());
    b.credit_code = Some("９１３１００００－ＭＡ１ＦＬ００Ｘ１Ｙ".into());
    let mut da = customer_doc(id(1), &REP, &a);
    let mut db = customer_doc(id(2), &REP2, &b);
    let f = run(&[&mut da, &mut db]);
    assert_rules(&f, &[R::CustDuplicate]);
    assert_eq!(f[0].doc_ids, vec![id(1), id(2)]);
    assert_eq!(f[0].facts["matched"][0]["key"], "credit_code");

    // Same company name written differently.
    let mut c = clean_customer("华东机械（中国）有限责任公司");
    c.contacts.get_mut("c1").unwrap().phone = Some("13700000000".into());
    let mut dc = customer_doc(id(3), &REP2, &c);
    let mut da = customer_doc(id(1), &REP, &clean_customer("华东 机械 集团"));
    let f = run(&[&mut da, &mut dc]);
    assert_rules(&f, &[R::CustDuplicate]);
    assert_eq!(f[0].facts["matched"][0]["key"], "name");

    // A shared contact phone (+86 prefix) or email.
    let mut x = clean_customer("甲公司");
    x.contacts.get_mut("c1").unwrap().phone = Some("+86 138-0000-0001".into());
    let mut y = clean_customer("乙公司");
    y.contacts.get_mut("c1").unwrap().phone = Some("13800000001".into());
    let mut dx = customer_doc(id(4), &REP, &x);
    let mut dy = customer_doc(id(5), &REP2, &y);
    assert_rules(&run(&[&mut dx, &mut dy]), &[R::CustDuplicate]);

    // Close case: different companies with different contacts.
    let mut y2 = clean_customer("乙公司");
    y2.contacts.get_mut("c1").unwrap().phone = Some("13800000002".into());
    let mut dy2 = customer_doc(id(5), &REP2, &y2);
    let mut dx = customer_doc(id(4), &REP, &x);
    assert_rules(&run(&[&mut dx, &mut dy2]), &[]);

    // A merged tombstone is ignored.
    let mut y3 = y.clone();
    y3.merged_into = Some(id(4).to_string());
    let mut dy3 = customer_doc(id(5), &REP2, &y3);
    let mut dx = customer_doc(id(4), &REP, &x);
    assert_rules(&run(&[&mut dx, &mut dy3]), &[]);
}

#[test]
fn contact_cadence_by_class() {
    let mut c = clean_customer("甲公司");
    c.interactions.get_mut("i1").unwrap().occurred_at = NOW - 91 * DAY;
    c.interactions.get_mut("i1").unwrap().recorded_at = NOW - 91 * DAY;
    let f = cust(&c);
    assert_rules(&f, &[R::CustContactCadence]);
    assert_eq!(f[0].severity, Severity::Warning);
    c.interactions.get_mut("i1").unwrap().occurred_at = NOW - 89 * DAY;
    c.interactions.get_mut("i1").unwrap().recorded_at = NOW - 89 * DAY;
    assert_rules(&cust(&c), &[]);

    // Key customers: 30 days, and a violation.
    let mut k = clean_key_customer("乙公司");
    for i in k.interactions.values_mut() {
        i.occurred_at = NOW - 31 * DAY;
        i.recorded_at = NOW - 31 * DAY;
    }
    let f = cust(&k);
    assert_rules(&f, &[R::CustContactCadence]);
    assert_eq!(f[0].severity, Severity::Violation);

    // Potential customers have no interval.
    let mut p = clean_customer("丙公司");
    p.class = Some(CustomerClass::Potential);
    p.interactions.clear();
    assert_rules(&cust(&p), &[]);
}

#[test]
fn key_visit() {
    let mut k = clean_key_customer("乙公司");
    k.interactions.get_mut("i2").unwrap().occurred_at = NOW - 91 * DAY;
    k.interactions.get_mut("i2").unwrap().recorded_at = NOW - 91 * DAY;
    let f = cust(&k);
    assert_rules(&f, &[R::CustKeyVisit]);
    k.interactions.get_mut("i2").unwrap().occurred_at = NOW - 89 * DAY;
    k.interactions.get_mut("i2").unwrap().recorded_at = NOW - 89 * DAY;
    assert_rules(&cust(&k), &[]);
}

#[test]
fn key_plan() {
    let mut k = clean_key_customer("乙公司");
    k.plan.as_mut().unwrap().review_at = NOW - DAY;
    assert_rules(&cust(&k), &[R::CustKeyPlan]);
    k.plan = None;
    assert_rules(&cust(&k), &[R::CustKeyPlan]);
    // A general customer needs no plan.
    let mut g = clean_customer("甲公司");
    g.plan = None;
    assert_rules(&cust(&g), &[]);
}

#[test]
fn satisfaction_survey_and_low_score_follow_up() {
    let mut k = clean_key_customer("乙公司");
    k.surveys.get_mut("s1").unwrap().at = NOW - 181 * DAY;
    assert_rules(&cust(&k), &[R::CustSatisfaction]);

    let mut g = clean_customer("甲公司");
    g.surveys.insert(
        "s9".into(),
        fieldcrm_model::Survey {
            score: 2,
            at: NOW - 20 * DAY,
            by: "rep1".into(),
            comment: Some("交货慢".into()),
        },
    );
    let f = cust(&g);
    assert_rules(&f, &[R::CustSatisfaction]);
    assert_eq!(f[0].entity.as_deref(), Some("surveys/s9"));
    // A follow-up call three days after the survey.
    g.interactions.insert(
        "i9".into(),
        Interaction {
            kind: InteractionKind::Call,
            occurred_at: NOW - 17 * DAY,
            recorded_at: NOW - 17 * DAY,
            summary: "跟进".into(),
            by: "rep1".into(),
            contact: None,
        },
    );
    assert_rules(&cust(&g), &[]);
}

#[test]
fn record_timely() {
    let mut c = clean_customer("甲公司");
    c.interactions.get_mut("i1").unwrap().recorded_at = NOW - 5 * DAY + 49 * HOUR;
    let f = cust(&c);
    assert_rules(&f, &[R::CustRecordTimely]);
    assert_eq!(f[0].entity.as_deref(), Some("interactions/i1"));
    c.interactions.get_mut("i1").unwrap().recorded_at = NOW - 5 * DAY + 47 * HOUR;
    assert_rules(&cust(&c), &[]);
}

fn complaint(opened_ago: i64, severity: ComplaintSeverity) -> Complaint {
    let opened = NOW - opened_ago;
    Complaint {
        severity,
        summary: "设备漏水".into(),
        opened_at: opened,
        opened_by: "rep1".into(),
        first_response: Some(Note {
            text: "已联系".into(),
            at: opened + 2 * HOUR,
            by: "rep1".into(),
        }),
        escalation: Some(Escalation {
            to: "mgr1".into(),
            at: opened + 10 * HOUR,
            by: "rep1".into(),
        }),
        investigation: None,
        resolution: None,
        closed_at: None,
    }
}

fn with_complaint(cp: Complaint) -> Vec<fieldcrm_policy::Finding> {
    let mut c = clean_customer("甲公司");
    c.complaints.insert("k1".into(), cp);
    cust(&c)
}

#[test]
fn complaint_response() {
    let mut cp = complaint(25 * HOUR, ComplaintSeverity::Normal);
    assert_rules(&with_complaint(cp.clone()), &[]);
    cp.first_response = None;
    let f = with_complaint(cp.clone());
    assert_rules(&f, &[R::ComplaintResponse]);
    assert_eq!(f[0].entity.as_deref(), Some("complaints/k1"));
    // Answered, but late.
    cp.first_response = Some(Note {
        text: "迟到的答复".into(),
        at: cp.opened_at + 30 * HOUR,
        by: "rep1".into(),
    });
    assert_rules(&with_complaint(cp.clone()), &[R::ComplaintResponse]);
    // Not answered yet, but still inside the window.
    let mut fresh = complaint(20 * HOUR, ComplaintSeverity::Normal);
    fresh.first_response = None;
    assert_rules(&with_complaint(fresh), &[]);
}

#[test]
fn complaint_escalation_to_a_manager() {
    let mut cp = complaint(49 * HOUR, ComplaintSeverity::Normal);
    assert_rules(&with_complaint(cp.clone()), &[]);
    cp.escalation = None;
    assert_rules(&with_complaint(cp.clone()), &[R::ComplaintEscalation]);
    // Reported to another rep (recorded by a rep): does not count.
    cp.escalation = Some(Escalation {
        to: "rep2".into(),
        at: cp.opened_at + HOUR,
        by: "rep1".into(),
    });
    let f = with_complaint(cp.clone());
    assert_rules(&f, &[R::ComplaintEscalation]);
    assert_eq!(f[0].facts["escalation"]["to_is_manager"], false);
    // Set by a manager (whoever it names): counts.
    let mut c = clean_customer("甲公司");
    let mut no_esc = cp.clone();
    no_esc.escalation = None;
    c.complaints.insert("k1".into(), no_esc);
    let mut d = customer_doc(id(1), &REP, &c);
    edit_as(&mut d, &MGR, |d| {
        d.put_new_object(
            &["complaints", "k1", "escalation"],
            &Escalation {
                to: "rep2".into(),
                at: NOW - 48 * HOUR,
                by: "mgr1".into(),
            },
        )
        .unwrap()
    });
    assert_rules(&run(&[&mut d]), &[]);
}

#[test]
fn major_complaint_investigation() {
    let mut cp = complaint(73 * HOUR, ComplaintSeverity::Major);
    cp.resolution = Some(Note {
        text: "已更换设备".into(),
        at: cp.opened_at + 48 * HOUR,
        by: "rep1".into(),
    });
    assert_rules(
        &with_complaint(cp.clone()),
        &[R::ComplaintMajorInvestigation],
    );
    cp.investigation = Some(Investigation {
        departments: vec!["质量部".into(), "售后服务部".into()],
        findings: "密封件批次问题".into(),
        at: cp.opened_at + 24 * HOUR,
        by: "rep1".into(),
    });
    assert_rules(&with_complaint(cp.clone()), &[]);
    // An investigation that names no department does not count.
    cp.investigation.as_mut().unwrap().departments = vec![" ".into()];
    assert_rules(
        &with_complaint(cp.clone()),
        &[R::ComplaintMajorInvestigation],
    );
    // Normal complaints need no investigation.
    let mut n = complaint(73 * HOUR, ComplaintSeverity::Normal);
    n.resolution = cp.resolution.clone();
    assert_rules(&with_complaint(n), &[]);
}

#[test]
fn complaint_resolution() {
    let mut cp = complaint(8 * DAY, ComplaintSeverity::Normal);
    let f = with_complaint(cp.clone());
    assert_rules(&f, &[R::ComplaintResolution]);
    assert!(
        f[0].message_en.contains("unresolved"),
        "{}",
        f[0].message_en
    );
    cp.resolution = Some(Note {
        text: "已退换".into(),
        at: cp.opened_at + 6 * DAY,
        by: "rep1".into(),
    });
    cp.closed_at = Some(cp.opened_at + 6 * DAY);
    assert_rules(&with_complaint(cp.clone()), &[]);
    // Closed without a resolution text.
    let mut closed = complaint(2 * DAY, ComplaintSeverity::Normal);
    closed.closed_at = Some(NOW - DAY);
    assert_rules(&with_complaint(closed), &[R::ComplaintResolution]);
    // Major complaints: three days.
    let mut major = complaint(4 * DAY, ComplaintSeverity::Major);
    major.investigation = cp.investigation.clone().or(Some(Investigation {
        departments: vec!["质量部".into()],
        findings: "x".into(),
        at: NOW - 4 * DAY + HOUR,
        by: "rep1".into(),
    }));
    assert_rules(&with_complaint(major), &[R::ComplaintResolution]);
}

#[test]
fn opportunity_follow_up() {
    let mut c = clean_customer("甲公司");
    c.opportunities.insert(
        "o1".into(),
        Opportunity {
            title: "二期扩产".into(),
            stage: Stage::Proposal,
            amount: 30_000_000,
            last_activity_at: NOW - 31 * DAY,
            created_at: NOW - 60 * DAY,
            by: "rep1".into(),
        },
    );
    assert_rules(&cust(&c), &[R::OppFollowup]);
    c.opportunities.get_mut("o1").unwrap().stage = Stage::Won;
    assert_rules(&cust(&c), &[]);
    c.opportunities.get_mut("o1").unwrap().stage = Stage::Negotiation;
    c.opportunities.get_mut("o1").unwrap().last_activity_at = NOW - 29 * DAY;
    assert_rules(&cust(&c), &[]);
}

fn contract(signed_ago: i64) -> Contract {
    Contract {
        title: "年度采购合同".into(),
        amount: 120_000_000,
        created_at: NOW - signed_ago - 5 * DAY,
        by: "rep1".into(),
        legal_review: None,
        signed_at: Some(NOW - signed_ago),
        archive_ref: Some("HT-2026-001".into()),
        archived_at: Some(NOW - signed_ago + DAY),
    }
}

#[test]
fn contract_legal_review_by_legal_before_signing() {
    let mut c = clean_customer("甲公司");
    c.contracts.insert("h1".into(), contract(3 * DAY));
    let f = cust(&c);
    assert_rules(&f, &[R::ContractLegalReview]);

    let with_review = |device, at| {
        let mut d = customer_doc(id(1), &REP, &c);
        edit_as(&mut d, device, |d| {
            d.put_new_object(
                &["contracts", "h1", "legal_review"],
                &sign_off(
                    d,
                    &["contracts", "h1", "legal_review"],
                    review(ReviewResult::Passed, "law1", at),
                ),
            )
            .unwrap()
        });
        run(&[&mut d])
    };
    assert_rules(&with_review(&LEGAL, NOW - 4 * DAY), &[]);
    // Reviewed after signing.
    assert_rules(
        &with_review(&LEGAL, NOW - 2 * DAY),
        &[R::ContractLegalReview],
    );
    // "Reviewed" by a rep: does not count.
    let f = with_review(&REP, NOW - 4 * DAY);
    assert_rules(&f, &[R::ContractLegalReview, R::DataAuthority]);
    assert_eq!(
        of(&f, R::ContractLegalReview)[0].facts["set_by"]["role"],
        "rep"
    );
    // Unsigned drafts need nothing yet.
    c.contracts.get_mut("h1").unwrap().signed_at = None;
    assert_rules(&cust(&c), &[]);
}

#[test]
fn contract_archived() {
    let mut c = clean_customer("甲公司");
    let mut k = contract(8 * DAY);
    k.archive_ref = None;
    k.archived_at = None;
    c.contracts.insert("h1".into(), k);
    let mut d = customer_doc(id(1), &REP, &c);
    edit_as(&mut d, &LEGAL, |d| {
        d.put_new_object(
            &["contracts", "h1", "legal_review"],
            &sign_off(
                d,
                &["contracts", "h1", "legal_review"],
                review(ReviewResult::Passed, "law1", NOW - 9 * DAY),
            ),
        )
        .unwrap()
    });
    assert_rules(&run(&[&mut d]), &[R::ContractArchived]);
    // Six days after signing it is still in time.
    assert_rules(&run_at(&[&mut d], NOW - 2 * DAY), &[]);
}

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

fn quoted(
    price: i64,
    approver: Option<&fieldcrm_model::DeviceKey>,
) -> Vec<fieldcrm_policy::Finding> {
    let mut c = clean_customer("甲公司");
    c.quotes.insert("q1".into(), quote(price));
    let mut d = customer_doc(id(1), &REP, &c);
    if let Some(dev) = approver {
        edit_as(&mut d, dev, |d| {
            d.put_new_object(
                &["quotes", "q1", "approval"],
                &sign_off(
                    d,
                    &["quotes", "q1", "approval"],
                    approval("mgr1", NOW - DAY),
                ),
            )
            .unwrap()
        });
    }
    run(&[&mut d])
}

#[test]
fn price_discount_needs_a_manager() {
    assert_rules(&quoted(90_000, None), &[]); // exactly 10%
    let f = quoted(85_000, None);
    assert_rules(&f, &[R::PriceDiscount]);
    assert_eq!(f[0].facts["discount_bp"], 1500);
    assert_rules(&quoted(85_000, Some(&MGR)), &[]);
    // A rep's approval does not count.
    let f = quoted(85_000, Some(&REP));
    assert_rules(&f, &[R::PriceDiscount, R::DataAuthority]);
    assert!(f[1].message_zh.contains("张伟") || f[0].message_zh.contains("张伟"));
    // An unenrolled device's approval does not count either.
    assert_rules(
        &quoted(85_000, Some(&STRANGER)),
        &[R::PriceDiscount, R::DataAuthority],
    );
    // Beyond the manager allowance only an admin can approve.
    assert_rules(&quoted(70_000, Some(&MGR)), &[R::PriceDiscount]);
    assert_rules(&quoted(70_000, Some(&ADMIN)), &[]);
    // Orders are checked like quotes.
    let mut c = clean_customer("甲公司");
    c.orders.insert(
        "r1".into(),
        Order {
            product: "P1".into(),
            quantity: 1,
            list_price: 100_000,
            price: 80_000,
            channel: None,
            ordered_at: NOW - DAY,
            promised_at: NOW + 10 * DAY,
            delivered_at: None,
            by: "rep1".into(),
            approval: None,
            cancelled: None,
        },
    );
    assert_rules(&cust(&c), &[R::PriceDiscount]);
}

#[test]
fn discount_allowance_comes_from_the_catalog() {
    let mut c = clean_customer("甲公司");
    c.quotes.insert("q1".into(), quote(85_000));
    let d = customer_doc(id(1), &REP, &c);
    let mut cat = catalog_doc();
    edit_as(&mut cat, &ADMIN, |d| {
        d.put(&["discount_allowance_bp", "rep"], &2000_i64).unwrap()
    });
    let snaps = vec![
        roster_doc().snapshot().unwrap(),
        cat.snapshot().unwrap(),
        d.snapshot().unwrap(),
    ];
    assert!(check(&snaps, &Config::default(), NOW).is_empty());
    // The same allowance set by a rep does not count.
    let mut cat = catalog_doc();
    edit_as(&mut cat, &REP, |d| {
        d.put(&["discount_allowance_bp", "rep"], &2000_i64).unwrap()
    });
    let snaps = vec![
        roster_doc().snapshot().unwrap(),
        cat.snapshot().unwrap(),
        d.snapshot().unwrap(),
    ];
    let f = check(&snaps, &Config::default(), NOW);
    assert_rules(&f, &[R::DataAuthority, R::PriceDiscount]);
    let auth = of(&f, R::DataAuthority)[0];
    assert_eq!(
        auth.doc_ids,
        vec![fieldcrm_model::DocId::workspace(&DocKind::Catalog)]
    );
}

fn order(promised: i64, delivered: Option<i64>) -> Order {
    Order {
        product: "P1".into(),
        quantity: 2,
        list_price: 100_000,
        price: 95_000,
        channel: None,
        ordered_at: NOW - 20 * DAY,
        promised_at: promised,
        delivered_at: delivered,
        by: "rep1".into(),
        approval: None,
        cancelled: None,
    }
}

#[test]
fn order_delivery() {
    let mut c = clean_customer("甲公司");
    c.orders.insert("r1".into(), order(NOW - DAY, None));
    assert_rules(&cust(&c), &[R::OrderDelivery]);
    c.orders
        .insert("r1".into(), order(NOW - 5 * DAY, Some(NOW - 3 * DAY)));
    assert_rules(&cust(&c), &[R::OrderDelivery]);
    c.orders
        .insert("r1".into(), order(NOW - 5 * DAY, Some(NOW - 6 * DAY)));
    assert_rules(&cust(&c), &[]);
    c.orders.insert("r1".into(), order(NOW + DAY, None));
    assert_rules(&cust(&c), &[]);
}

#[test]
fn gifts_above_the_limit_are_declared_and_approved() {
    let gift = |value, declared| Gift {
        kind: GiftKind::Hospitality,
        direction: GiftDirection::Given,
        description: "商务宴请".into(),
        value,
        at: NOW - 3 * DAY,
        by: "rep1".into(),
        declared,
        approval: None,
    };
    let mut c = clean_customer("甲公司");
    c.gifts.insert("g1".into(), gift(80_000, false));
    let f = cust(&c);
    assert_rules(&f, &[R::GiftDeclaration]);
    assert_eq!(f[0].facts["limit"], 50_000);
    c.gifts.insert("g1".into(), gift(40_000, false));
    assert_rules(&cust(&c), &[]);
    c.gifts.insert("g1".into(), gift(80_000, true));
    let mut d = customer_doc(id(1), &REP, &c);
    edit_as(&mut d, &MGR, |d| {
        d.put_new_object(
            &["gifts", "g1", "approval"],
            &sign_off(d, &["gifts", "g1", "approval"], approval("mgr1", NOW - DAY)),
        )
        .unwrap()
    });
    assert_rules(&run(&[&mut d]), &[]);
}

#[test]
fn sales_reports_each_past_week() {
    // Users joined 60 days ago; NOW is in 2026-W48, so W44..W47 are checked.
    let mut sales = Sales::new();
    for w in ["2026-W44", "2026-W45", "2026-W46", "2026-W47"] {
        sales
            .reports
            .insert(format!("rep1-{w}"), sales_report("rep1", w));
    }
    for w in ["2026-W44", "2026-W46", "2026-w47"] {
        sales
            .reports
            .insert(format!("rep2-{w}"), sales_report("rep2", w));
    }
    let sales_doc = fieldcrm_model::Document::create(
        fieldcrm_model::DocId::workspace(&DocKind::Sales),
        &ADMIN,
        NOW - DAY,
        &sales,
        "reports",
    )
    .unwrap();
    let snaps = vec![
        roster_doc_joined(NOW - 60 * DAY).snapshot().unwrap(),
        catalog_doc().snapshot().unwrap(),
        sales_doc.snapshot().unwrap(),
    ];
    let f = check(&snaps, &Config::default(), NOW);
    assert_rules(&f, &[R::SalesReport]);
    assert_eq!(f[0].entity.as_deref(), Some("users/rep2"));
    assert_eq!(
        f[0].facts["missing_periods"],
        serde_json::json!(["2026-W45"])
    );
    // Users who joined yesterday owe nothing yet.
    let snaps = vec![
        roster_doc().snapshot().unwrap(),
        sales_doc.snapshot().unwrap(),
    ];
    assert!(check(&snaps, &Config::default(), NOW).is_empty());
}

#[test]
fn target_progress_report() {
    let mut sales = Sales::new();
    sales.targets.insert(
        "t1".into(),
        Target {
            scope: "user".into(),
            subject: "rep1".into(),
            period: "2026-Q4".into(),
            amount: 100_000_000,
            by: "mgr1".into(),
            at: NOW - 60 * DAY,
        },
    );
    sales.targets.insert(
        "t2".into(),
        Target {
            scope: "team".into(),
            subject: "east".into(),
            period: "2026".into(),
            amount: 1_000_000_000,
            by: "mgr1".into(),
            at: NOW - 300 * DAY,
        },
    );
    let sales_doc = fieldcrm_model::Document::create(
        fieldcrm_model::DocId::workspace(&DocKind::Sales),
        &ADMIN,
        NOW - DAY,
        &sales,
        "targets",
    )
    .unwrap();
    let mut c = clean_customer("甲公司");
    c.orders.insert("r1".into(), order(NOW + DAY, None)); // 2 × 950 yuan on 2026-11-09
    let mut o2 = order(NOW + DAY, None);
    o2.by = "rep2".into();
    o2.ordered_at = NOW - 200 * DAY; // in 2026, not in Q4
    c.orders.insert("r2".into(), o2);
    let snaps = vec![
        roster_doc().snapshot().unwrap(),
        sales_doc.snapshot().unwrap(),
        customer_doc(id(1), &REP, &c).snapshot().unwrap(),
    ];
    let rows = target_progress(&snaps, &Config::default(), NOW);
    assert_eq!(rows.len(), 2);
    let year = rows.iter().find(|r| r.target_id == "t2").unwrap();
    assert_eq!(year.actual, 2 * 190_000);
    assert_eq!(year.scope, "team");
    let q4 = rows.iter().find(|r| r.target_id == "t1").unwrap();
    assert_eq!((q4.actual, q4.subject_name.as_str()), (190_000, "张伟"));
    assert_eq!(q4.achieved_bp, 19);
    assert!(!q4.on_track);
    let table = render_progress(&rows, fieldcrm_policy::Lang::Zh);
    assert!(
        table.contains("个人:张伟") && table.contains("落后"),
        "{table}"
    );
    // Progress is a report, never a finding.
    assert!(of(&check(&snaps, &Config::default(), NOW), R::TargetProgress).is_empty());
}

#[test]
fn channel_qualification() {
    let mut ch = clean_channel("苏州分销", None);
    ch.risk = None;
    let f = chan(&ch);
    assert_rules(&f, &[R::ChannelQualification]);
    assert!(
        f[0].message_zh.contains("没有风险评估"),
        "{}",
        f[0].message_zh
    );
    // Qualification "passed" by a rep does not count.
    let mut d = channel_doc(id(2), &CM, &clean_channel("苏州分销", None));
    edit_as(&mut d, &REP, |d| {
        d.put_new_object(
            &["qualification"],
            &sign_off(
                d,
                &["qualification"],
                review(ReviewResult::Passed, "cm1", NOW - 110 * DAY),
            ),
        )
        .unwrap()
    });
    assert_rules(
        &run(&[&mut d]),
        &[R::ChannelQualification, R::DataAuthority],
    );
    // Reviewed after activation.
    let mut late = clean_channel("苏州分销", None);
    late.qualification.as_mut().unwrap().at = NOW - 50 * DAY;
    assert_rules(&chan(&late), &[R::ChannelQualification]);
    // Prospects need nothing yet.
    let mut p = clean_channel("苏州分销", None);
    p.status = fieldcrm_model::ChannelStatus::Prospect;
    p.qualification = None;
    p.risk = None;
    assert_rules(&chan(&p), &[]);
}

#[test]
fn activation_by_someone_without_the_role_does_not_count() {
    let mut p = clean_channel("苏州分销", Some(("华东", "pumps")));
    p.status = fieldcrm_model::ChannelStatus::Prospect;
    p.risk = None;
    let mut d = channel_doc(id(2), &CM, &p);
    edit_as(&mut d, &REP, |d| {
        d.put(&["status"], &fieldcrm_model::ChannelStatus::Active)
            .unwrap()
    });
    let f = run(&[&mut d]);
    // Not counted as active (no qualification finding), but the activation is reported.
    assert_rules(&f, &[R::DataAuthority]);
    assert_eq!(f[0].entity.as_deref(), Some("status"));
    assert_eq!(f[0].facts["set_by"]["name"], "张伟");
}

#[test]
fn channel_agreement_term_and_content() {
    let mut ch = clean_channel("苏州分销", None);
    ch.agreement.as_mut().unwrap().term_end = NOW - DAY;
    let f = chan(&ch);
    assert_rules(&f, &[R::ChannelAgreement]);
    assert_eq!(f[0].severity, Severity::Violation);
    ch.agreement.as_mut().unwrap().term_end = NOW + 20 * DAY;
    let f = chan(&ch);
    assert_rules(&f, &[R::ChannelAgreement]);
    assert_eq!(f[0].severity, Severity::Warning);
    ch.agreement.as_mut().unwrap().term_end = NOW + 40 * DAY;
    assert_rules(&chan(&ch), &[]);
    ch.agreement.as_mut().unwrap().plan = String::new();
    ch.agreement.as_mut().unwrap().signed_at = None;
    let f = chan(&ch);
    assert_rules(&f, &[R::ChannelAgreement]);
    assert_eq!(
        f[0].facts["missing"],
        serde_json::json!(["cooperation plan"])
    );
    ch.agreement = None;
    assert_rules(&chan(&ch), &[R::ChannelAgreement]);
}

#[test]
fn channel_scope() {
    let mut ch = clean_channel("苏州分销", None);
    ch.product_lines.insert("cosmetics".into(), true);
    let f = chan(&ch);
    assert_rules(&f, &[R::ChannelScope]);
    assert_eq!(f[0].facts["outside"], serde_json::json!(["cosmetics"]));
    ch.product_lines.insert("cosmetics".into(), false);
    ch.product_lines.insert(" Valves ".into(), true);
    assert_rules(&chan(&ch), &[]);
}

#[test]
fn channel_communication() {
    let mut ch = clean_channel("苏州分销", None);
    ch.communications.get_mut("m1").unwrap().at = NOW - 91 * DAY;
    assert_rules(&chan(&ch), &[R::ChannelCommunication]);
    ch.communications.get_mut("m1").unwrap().at = NOW - 89 * DAY;
    assert_rules(&chan(&ch), &[]);
}

#[test]
fn channel_assessment_each_past_quarter() {
    let mut ch = clean_channel("苏州分销", None);
    ch.activated_at = Some(NOW - 400 * DAY);
    ch.status_at = NOW - 400 * DAY;
    ch.qualification.as_mut().unwrap().at = NOW - 410 * DAY;
    ch.risk.as_mut().unwrap().at = NOW - 410 * DAY;
    ch.trainings.get_mut("tr1").unwrap().at = NOW - 390 * DAY;
    for q in ["2025-Q4", "2026-Q1", "2026-Q2"] {
        ch.assessments.insert(
            q.into(),
            fieldcrm_model::Assessment {
                period: q.into(),
                score: 80,
                note: None,
                by: "cm1".into(),
                at: NOW - 30 * DAY,
            },
        );
    }
    let f = chan(&ch);
    assert_rules(&f, &[R::ChannelAssessment]);
    assert_eq!(
        f[0].facts["missing_periods"],
        serde_json::json!(["2026-Q3"])
    );
    ch.assessments.insert(
        "q3".into(),
        fieldcrm_model::Assessment {
            period: "2026Q3".into(),
            score: 75,
            note: None,
            by: "cm1".into(),
            at: NOW - 20 * DAY,
        },
    );
    assert_rules(&chan(&ch), &[]);
}

#[test]
fn channel_training() {
    let mut ch = clean_channel("苏州分销", None);
    ch.trainings.get_mut("tr1").unwrap().at = NOW - 30 * DAY; // activation + 70 days
    assert_rules(&chan(&ch), &[R::ChannelTraining]);
    ch.trainings.get_mut("tr1").unwrap().at = NOW - 50 * DAY; // + 50 days
    assert_rules(&chan(&ch), &[]);
}

#[test]
fn channel_price_floor() {
    let mut ch = clean_channel("苏州分销", None);
    ch.price_reports.get_mut("p1").unwrap().price = 70_000;
    let f = chan(&ch);
    assert_rules(&f, &[R::ChannelPriceFloor]);
    assert_eq!(f[0].facts["floor_price"], 80_000);
    ch.price_reports.get_mut("p1").unwrap().price = 80_000;
    assert_rules(&chan(&ch), &[]);
}

#[test]
fn territory_conflict() {
    let mut a = channel_doc(
        id(2),
        &CM,
        &clean_channel("苏州分销", Some(("华东", "pumps"))),
    );
    let mut b = channel_doc(
        id(3),
        &CM2,
        &clean_channel("杭州代理", Some(("华东 ", "Pumps"))),
    );
    let f = run(&[&mut a, &mut b]);
    assert_rules(&f, &[R::ChannelTerritoryConflict]);
    assert_eq!(f[0].doc_ids, vec![id(2), id(3)]);
    // Non-overlapping terms.
    let mut later = clean_channel("杭州代理", Some(("华东", "pumps")));
    let t = later.territories.get_mut("t1").unwrap();
    t.start = NOW + 266 * DAY;
    t.end = NOW + 600 * DAY;
    let mut b = channel_doc(id(3), &CM2, &later);
    assert_rules(&run(&[&mut a, &mut b]), &[]);
    // Not exclusive, or a different product line.
    let mut shared = clean_channel("杭州代理", Some(("华东", "pumps")));
    shared.territories.get_mut("t1").unwrap().exclusive = false;
    let mut b = channel_doc(id(3), &CM2, &shared);
    assert_rules(&run(&[&mut a, &mut b]), &[]);
    let mut b = channel_doc(
        id(3),
        &CM2,
        &clean_channel("杭州代理", Some(("华东", "valves"))),
    );
    assert_rules(&run(&[&mut a, &mut b]), &[]);
}

fn channel_order(channel: &str, product: &str, at: i64) -> Order {
    Order {
        product: product.into(),
        quantity: 5,
        list_price: 100_000,
        price: 95_000,
        channel: Some(channel.into()),
        ordered_at: at,
        promised_at: NOW + 10 * DAY,
        delivered_at: None,
        by: "rep1".into(),
        approval: None,
        cancelled: None,
    }
}

#[test]
fn unauthorized_sale() {
    let ch_id = id(2);
    let sale = |product: &str, at: i64, ch: &fieldcrm_model::Channel| {
        let mut c = clean_customer("甲公司");
        c.orders
            .insert("r1".into(), channel_order(ch_id.as_str(), product, at));
        let mut cd = customer_doc(id(1), &REP, &c);
        let mut chd = channel_doc(ch_id.clone(), &CM, ch);
        run(&[&mut cd, &mut chd])
    };
    let ch = clean_channel("苏州分销", None);
    assert_rules(&sale("P1", NOW - 10 * DAY, &ch), &[]);
    // The agreement covers pumps only.
    let f = sale("V1", NOW - 10 * DAY, &ch);
    assert_rules(&f, &[R::ChannelUnauthorizedSale]);
    assert_eq!(f[0].doc_ids, vec![id(1), id(2)]);
    assert_eq!(f[0].entity.as_deref(), Some("orders/r1"));
    // Before the agreement's term.
    assert_rules(
        &sale("P1", NOW - 200 * DAY, &ch),
        &[R::ChannelUnauthorizedSale],
    );
    // A channel that was never activated.
    let mut p = clean_channel("苏州分销", None);
    p.status = fieldcrm_model::ChannelStatus::Prospect;
    assert_rules(
        &sale("P1", NOW - 10 * DAY, &p),
        &[R::ChannelUnauthorizedSale],
    );
    // An unknown channel.
    let mut c = clean_customer("甲公司");
    c.orders.insert(
        "r1".into(),
        channel_order(id(9).as_str(), "P1", NOW - 10 * DAY),
    );
    assert_rules(&cust(&c), &[R::ChannelUnauthorizedSale]);
}

#[test]
fn data_scope_on_the_holders_device() {
    let mut owned = clean_customer("甲公司"); // owned by rep1
    owned.owner = Some("rep1".into());
    let snaps = {
        let mut s = workspace();
        s.push(customer_doc(id(1), &REP, &owned).snapshot().unwrap());
        s.push(
            channel_doc(id(2), &CM, &clean_channel("苏州分销", None))
                .snapshot()
                .unwrap(),
        );
        s
    };
    let cfg = Config::default();
    assert_rules(&check_device(&snaps, &cfg, NOW, &REP), &[]);
    let f = check_device(&snaps, &cfg, NOW, &REP2);
    assert_rules(&f, &[R::DataScope]);
    assert_eq!(f[0].doc_ids, vec![id(1)]);
    assert_eq!(f[0].facts["holder"]["user"], "rep2");
    // An unenrolled device may hold nothing but workspace documents.
    assert_rules(
        &check_device(&snaps, &cfg, NOW, &STRANGER),
        &[R::DataScope, R::DataScope],
    );
    // Without a holder the rule does not run.
    assert_rules(&check(&snaps, &cfg, NOW), &[]);
}

#[test]
fn roles_granted_without_admin_authority_do_not_count() {
    // A manager's device promotes rep2 to manager; rep2 then approves a discount.
    let mut roster = roster_doc();
    edit_as(&mut roster, &MGR, |d| {
        d.put(&["users", "rep2", "role"], &Role::Manager).unwrap()
    });
    let mut c = clean_customer("甲公司");
    c.quotes.insert("q1".into(), quote(85_000));
    let mut d = customer_doc(id(1), &REP, &c);
    edit_as(&mut d, &REP2, |d| {
        d.put_new_object(
            &["quotes", "q1", "approval"],
            &sign_off(
                d,
                &["quotes", "q1", "approval"],
                approval("rep2", NOW - DAY),
            ),
        )
        .unwrap()
    });
    let snaps = vec![
        roster.snapshot().unwrap(),
        catalog_doc().snapshot().unwrap(),
        d.snapshot().unwrap(),
    ];
    let f = check(&snaps, &Config::default(), NOW);
    assert_rules(&f, &[R::DataAuthority, R::DataAuthority, R::PriceDiscount]);
    assert!(
        f.iter()
            .any(|x| x.entity.as_deref() == Some("users/rep2/role"))
    );
}

#[test]
fn roster_trust_is_anchored_at_the_creator_when_known() {
    // rep1 promotes themself to admin from their own device.
    let mut roster = roster_doc();
    edit_as(&mut roster, &REP, |d| {
        d.put(&["users", "rep1", "role"], &Role::Admin).unwrap()
    });
    let mut snap: Snapshot = roster.snapshot().unwrap();
    // The model does not (yet) expose the roster creator; give it the way a future model
    // would, as the provenance of `kind`.
    snap.fields.insert(
        "kind".into(),
        Field {
            values: vec![Stamp {
                value: "roster".into(),
                actor: ADMIN.to_hex(),
                inner: Vec::new(),
            }],
        },
    );
    let f = check(&[snap], &Config::default(), NOW);
    assert_rules(&f, &[R::DataAuthority]);
    assert_eq!(f[0].entity.as_deref(), Some("users/rep1/role"));
}

#[test]
fn policy_settings_override_rules_when_set_by_a_manager() {
    let mut c = clean_customer("甲公司");
    c.opportunities.insert(
        "o1".into(),
        Opportunity {
            title: "二期".into(),
            stage: Stage::Lead,
            amount: 1,
            last_activity_at: NOW - 40 * DAY,
            created_at: NOW - 40 * DAY,
            by: "rep1".into(),
        },
    );
    let cd = customer_doc(id(1), &REP, &c).snapshot().unwrap();
    let settings = |device| {
        let mut p = fieldcrm_model::Document::create(
            fieldcrm_model::DocId::workspace(&DocKind::Policy),
            &ADMIN,
            NOW - 10 * DAY,
            &PolicySettings::new(),
            "init",
        )
        .unwrap();
        edit_as(&mut p, device, |d| {
            d.put(
                &["rules", "OPP-FOLLOWUP"],
                &RuleSetting {
                    severity: None,
                    params: btree(vec![("window", "60d".to_string())]),
                },
            )
            .unwrap()
        });
        p.snapshot().unwrap()
    };
    let mut snaps = workspace();
    snaps.push(cd.clone());
    assert_rules(&check(&snaps, &Config::default(), NOW), &[R::OppFollowup]);
    let mut with_mgr = snaps.clone();
    with_mgr.push(settings(&MGR));
    assert_rules(&check(&with_mgr, &Config::default(), NOW), &[]);
    let mut with_rep = snaps.clone();
    with_rep.push(settings(&REP));
    assert_rules(
        &check(&with_rep, &Config::default(), NOW),
        &[R::OppFollowup, R::DataAuthority],
    );
}

#[test]
fn config_severity_and_off() {
    let mut c = clean_customer("甲公司");
    c.class = None;
    let snaps = {
        let mut s = workspace();
        s.push(customer_doc(id(1), &REP, &c).snapshot().unwrap());
        s
    };
    let cfg = Config::from_toml("[rules.CUST-CLASS-MISSING]\nseverity = \"warning\"\n").unwrap();
    let f = check(&snaps, &cfg, NOW);
    assert_eq!(f[0].severity, Severity::Warning);
    let cfg = Config::from_toml("[rules.CUST-CLASS-MISSING]\nseverity = \"off\"\n").unwrap();
    assert!(check(&snaps, &cfg, NOW).is_empty());
}

#[test]
fn findings_serialize_with_stable_field_names() {
    let mut c = clean_customer("甲公司");
    c.class = None;
    let f = cust(&c);
    let v = serde_json::to_value(&f[0]).unwrap();
    for k in [
        "rule",
        "severity",
        "doc_ids",
        "entity",
        "message_zh",
        "message_en",
        "clause",
        "facts",
    ] {
        assert!(v.get(k).is_some(), "{k} missing in {v}");
    }
    assert_eq!(v["rule"], "CUST-CLASS-MISSING");
    assert_eq!(v["severity"], "violation");
    assert_eq!(v["clause"], R::CustClassMissing.clause());
    let text = render(&f, fieldcrm_policy::Lang::En);
    assert!(
        text.contains("CUST-CLASS-MISSING") && text.contains("1 violation"),
        "{text}"
    );
}
