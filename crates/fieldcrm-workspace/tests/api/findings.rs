//! Findings have a life: a rep acknowledges, a manager waives, a waiver written around the
//! API does not count on another device, concurrent offline actions converge, a waiver
//! ends, a fixed violation is resolved; every refusal writes nothing.

use fieldcrm_model::{CustomerClass, DocId, FindingMark, FindingState};
use fieldcrm_policy::{RuleId, Status, Tracked};
use fieldcrm_testkit::{DAY, Kit, MINUTE, Team};
use fieldcrm_workspace::{CheckQuery, CustomerEdit, Workspace};

/// The team, and 小张's customer 甲公司 (no class: CUST-CLASS-MISSING) held by 小张 and
/// 李经理; the finding's key.
fn world() -> (Kit, Team, DocId, String) {
    let kit = Kit::new();
    let t = kit.team();
    let c = kit.customer(&t.rep, "甲公司");
    kit.sync(&t.rep, &t.manager);
    let key = class_missing(&t.rep, &kit).key;
    assert_eq!(key, format!("CUST-CLASS-MISSING:{c}:class"));
    kit.advance(MINUTE);
    (kit, t, c, key)
}

fn class_missing(dev: &Workspace, kit: &Kit) -> Tracked {
    dev.check_tracked(&CheckQuery::default(), kit.now())
        .unwrap()
        .into_iter()
        .find(|t| t.finding.rule == RuleId::CustClassMissing)
        .expect("CUST-CLASS-MISSING")
}

fn status(dev: &Workspace, kit: &Kit) -> Status {
    class_missing(dev, kit).status
}

#[test]
fn a_rep_acknowledges_and_a_manager_waives() {
    let (kit, t, _c, key) = world();
    let now = kit.now();

    // Refusals name their field and write nothing.
    let e = kit.refused(&t.rep, "invalid-input", |w| {
        w.acknowledge_finding(&key, "  ", now)
    });
    assert_eq!(e.field(), Some("note"));
    let e = kit.refused(&t.rep, "not-found", |w| {
        w.acknowledge_finding("CUST-NOPE", "看过了", now)
    });
    assert_eq!(e.field(), Some("key"));
    assert!(e.to_string().contains("CUST-NOPE"), "{e}");
    kit.refused(&t.rep, "ambiguous", |w| {
        w.acknowledge_finding("C", "看过了", now)
    });
    kit.refused(&t.rep, "permission-denied", |w| {
        w.waive_finding(&key, "客户重组", now + 30 * DAY, now)
    });

    // The rep acknowledges by a prefix of the key: still open.
    let prefix: String = key.chars().take(30).collect();
    assert_eq!(
        t.rep
            .acknowledge_finding(&prefix, "下周拜访时确认分类", now)
            .unwrap(),
        key
    );
    let ack = class_missing(&t.rep, &kit);
    assert_eq!(ack.status, Status::Acknowledged);
    assert!(ack.status.is_open());
    assert_eq!(ack.state.as_ref().unwrap().by.name.as_deref(), Some("小张"));

    // The manager sees it after a sync, and waives it.
    kit.sync(&t.rep, &t.manager);
    assert_eq!(status(&t.manager, &kit), Status::Acknowledged);
    for (until, why) in [(now - DAY, "past"), (now + 181 * DAY, "beyond waiver_max")] {
        let e = kit.refused(&t.manager, "invalid-input", |w| {
            w.waive_finding(&key, "客户重组", until, now)
        });
        assert_eq!(e.field(), Some("until"), "{why}");
    }
    let e = kit.refused(&t.manager, "invalid-input", |w| {
        w.waive_finding(&key, "", now + 30 * DAY, now)
    });
    assert_eq!(e.field(), Some("reason"));
    let on_team_list = |w: &Workspace| {
        w.team_findings(now)
            .unwrap()
            .iter()
            .any(|f| f.finding.rule == RuleId::CustClassMissing)
    };
    assert!(
        on_team_list(&t.manager),
        "an acknowledged finding is still open"
    );
    t.manager
        .waive_finding(&key, "客户重组中，年后再分类", now + 30 * DAY, now)
        .unwrap();
    assert_eq!(status(&t.manager, &kit), Status::Waived);
    // Waived: out of the open lists every front end shows.
    assert!(!on_team_list(&t.manager));
    let open = t.manager.check(&CheckQuery::default(), now).unwrap();
    assert!(open.iter().all(|f| f.rule != RuleId::CustClassMissing));
    kit.sync(&t.rep, &t.manager);
    let w = class_missing(&t.rep, &kit);
    assert_eq!(w.status, Status::Waived);
    assert_eq!(w.state.as_ref().unwrap().by.name.as_deref(), Some("李经理"));
    assert!(!w.status.is_open());

    // Reopening a waiver takes the authority to waive.
    kit.refused(&t.rep, "permission-denied", |w| w.reopen_finding(&key, now));
    t.manager.reopen_finding(&key, now).unwrap();
    assert_eq!(status(&t.manager, &kit), Status::Open);
}

#[test]
fn a_reps_forged_waiver_does_not_count_on_another_device() {
    let (kit, t, c, key) = world();
    // Written straight into the document, claiming the manager, bypassing the API.
    let mut doc = t.rep.load(&c).unwrap();
    doc.put_new_object(
        &["finding_states", &key],
        &FindingState {
            state: FindingMark::Waived,
            rule: "CUST-CLASS-MISSING".into(),
            severity: Some("violation".into()),
            doc_ids: vec![c.to_string()],
            entity: Some("class".into()),
            message_zh: None,
            message_en: None,
            note: None,
            reason: Some("经理同意".into()),
            until: Some(kit.now() + 30 * DAY),
            by: t.manager.user_id.clone(),
            at: kit.now(),
        },
    )
    .unwrap();
    doc.commit(kit.now(), "waive");
    t.rep.save(&mut doc).unwrap();
    kit.sync(&t.rep, &t.manager);
    for dev in [&t.manager, &t.rep] {
        let f = class_missing(dev, &kit);
        assert_eq!(f.status, Status::Open);
        let why = f.ignored[0].why_not_en.clone().unwrap();
        assert!(
            why.contains("小张 (rep)") && why.contains("may not waive"),
            "{why}"
        );
    }
}

#[test]
fn concurrent_ack_and_waiver_offline_converge() {
    let (kit, t, _c, key) = world();
    let now = kit.now();
    t.rep.acknowledge_finding(&key, "已电话确认", now).unwrap();
    t.manager
        .waive_finding(&key, "分类标准调整中", now + 10 * DAY, now)
        .unwrap();
    kit.sync(&t.rep, &t.manager);
    let (a, b) = (class_missing(&t.rep, &kit), class_missing(&t.manager, &kit));
    assert_eq!(a, b);
    assert_eq!(a.status, Status::Waived);
    // Two values of one finding state are not a conflict someone must decide.
    let all = t.rep.check_tracked(&CheckQuery::default(), now).unwrap();
    assert!(
        all.iter()
            .all(|t| t.finding.rule != RuleId::CustConcurrentEdit)
    );
}

#[test]
fn an_expired_waiver_reopens_and_a_fixed_violation_is_resolved() {
    let (kit, t, c, key) = world();
    t.manager
        .waive_finding(&key, "等待客户资料", kit.now() + 2 * DAY, kit.now())
        .unwrap();
    assert_eq!(status(&t.manager, &kit), Status::Waived);
    kit.advance(3 * DAY);
    let f = class_missing(&t.manager, &kit);
    assert_eq!(f.status, Status::Open);
    assert!(
        f.ignored[0]
            .why_not_en
            .as_deref()
            .unwrap()
            .contains("expired")
    );

    kit.sync(&t.rep, &t.manager);
    t.rep
        .acknowledge_finding(&key, "本周补上", kit.now())
        .unwrap();
    t.rep
        .edit_customer_fields(
            &c,
            CustomerEdit {
                class: Some(CustomerClass::General),
                ..Default::default()
            },
            kit.now(),
        )
        .unwrap();
    let all = t
        .rep
        .check_tracked(&CheckQuery::default(), kit.now())
        .unwrap();
    let r = all.iter().find(|x| x.key == key).unwrap();
    assert_eq!(r.status, Status::Resolved);
    assert_eq!(r.state.as_ref().unwrap().by.name.as_deref(), Some("小张"));
    // No current finding has that key any more.
    kit.refused(&t.rep, "not-found", |w| {
        w.acknowledge_finding(&key, "再看看", kit.now())
    });
    // Reopening clears the state: it is no longer listed.
    t.rep.reopen_finding(&key, kit.now()).unwrap();
    let all = t
        .rep
        .check_tracked(&CheckQuery::default(), kit.now())
        .unwrap();
    assert!(all.iter().all(|x| x.key != key));
}
