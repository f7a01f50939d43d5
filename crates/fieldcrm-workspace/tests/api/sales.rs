//! The sales process: opportunities, quotes, contracts, orders and gifts, and the
//! sign-offs on them (discount approvals, legal review, gift approval).

use fieldcrm_model::{Customer, DocId, GiftDirection, GiftKind, Lang, Quote, ReviewResult, Stage};
use fieldcrm_testkit::{DAY, Kit, Team};
use fieldcrm_workspace::Workspace;

fn customer(ws: &Workspace, id: &DocId) -> Customer {
    ws.load(id).unwrap().hydrate().unwrap()
}

/// Bring what the rep wrote to every device: the admin, manager and legal by sync, the
/// other rep and the channel manager by a whole copy (outside their users' scope).
fn spread(kit: &Kit, t: &Team) {
    kit.sync(&t.rep, &t.admin);
    for d in [&t.manager, &t.legal] {
        kit.sync(d, &t.admin);
    }
    for d in [&t.rep2, &t.channel_manager] {
        kit.copy_all(&t.admin, d);
    }
}

/// A team, product P-100 (list 1 000 yuan) and the rep's customer 甲公司, everywhere.
fn sales() -> (Kit, Team, DocId) {
    let kit = Kit::new();
    let t = kit.team();
    kit.product(&t.admin, "P-100", "1000");
    let c = kit.customer(&t.rep, "甲公司");
    spread(&kit, &t);
    (kit, t, c)
}

#[test]
fn opportunities_need_a_title_and_a_non_negative_amount() {
    let (kit, t, c) = sales();
    let now = kit.now();
    let o = t
        .rep
        .add_opportunity(&c, "二期扩产", Stage::Lead, 500_000_00, now)
        .unwrap();
    let e = kit.refused(&t.rep, "invalid-input", |ws| {
        ws.add_opportunity(&c, " ", Stage::Lead, 1, now)
    });
    assert_eq!(e.field(), Some("title"));
    kit.refused(&t.rep2, "permission-denied", |ws| {
        ws.add_opportunity(&c, "抢单", Stage::Lead, 1, now)
    });

    let later = kit.advance(DAY);
    t.rep
        .update_opportunity(&c, &o[..6], Some(Stage::Proposal), Some(600_000_00), later)
        .unwrap();
    let opp = &customer(&t.rep, &c).opportunities[&o];
    assert_eq!(
        (opp.stage.clone(), opp.last_activity_at),
        (Stage::Proposal, later)
    );
    kit.refused(&t.rep, "not-found", |ws| {
        ws.update_opportunity(&c, "ffffffff", Some(Stage::Won), None, later)
    });
    let opp = opp.clone();
    let prefix = kit.twin_entities(&t.rep, &c, "opportunities", &opp);
    kit.refused(&t.rep, "ambiguous", |ws| {
        ws.update_opportunity(&c, prefix, Some(Stage::Won), None, later)
    });
    kit.refused(&t.rep2, "permission-denied", |ws| {
        ws.update_opportunity(&c, &o, Some(Stage::Lost), None, later)
    });
}

#[test]
fn opportunity_amounts_are_not_negative() {
    let (kit, t, c) = sales();
    let now = kit.now();
    let e = kit.refused(&t.rep, "invalid-input", |ws| {
        ws.add_opportunity(&c, "负数商机", Stage::Lead, -1, now)
    });
    assert_eq!(e.field(), Some("amount"));
    let o = t
        .rep
        .add_opportunity(&c, "二期扩产", Stage::Lead, 0, now)
        .unwrap();
    let e = kit.refused(&t.rep, "invalid-input", |ws| {
        ws.update_opportunity(&c, &o, None, Some(-5), now)
    });
    assert_eq!(e.field(), Some("amount"));
}

#[test]
fn quotes_refuse_bad_quantities_prices_and_products() {
    let (kit, t, c) = sales();
    let now = kit.now();
    let (q, bp) = t.rep.add_quote(&c, "P-100", 3, 900_00, now).unwrap();
    assert_eq!(bp, 1_000);
    assert_eq!(customer(&t.rep, &c).quotes[&q].list_price, 1000_00);
    for qty in [0, -2] {
        let e = kit.refused(&t.rep, "invalid-input", |ws| {
            ws.add_quote(&c, "P-100", qty, 900_00, now)
        });
        assert_eq!(e.field(), Some("quantity"));
    }
    for price in [0, -1] {
        let e = kit.refused(&t.rep, "invalid-input", |ws| {
            ws.add_quote(&c, "P-100", 1, price, now)
        });
        assert_eq!(e.field(), Some("price"));
    }
    kit.refused(&t.rep, "not-found", |ws| {
        ws.add_quote(&c, "NO-SUCH", 1, 900_00, now)
    });
    kit.refused(&t.rep, "not-found", |ws| {
        ws.add_quote(&DocId::random(), "P-100", 1, 900_00, now)
    });
    kit.refused(&t.rep2, "permission-denied", |ws| {
        ws.add_quote(&c, "P-100", 1, 900_00, now)
    });
}

#[test]
fn discount_approval_is_for_managers_and_admins_never_reps_or_legal() {
    let (kit, t, c) = sales();
    // 15 % off: within the manager's 25 % allowance.
    let q = kit.quote(&t.rep, &c, "P-100", "850");
    spread(&kit, &t);
    for dev in [&t.rep, &t.legal, &t.channel_manager] {
        let e = kit.refused(dev, "permission-denied", |ws| {
            ws.approve_quote(&c, &q, None, kit.now())
        });
        assert_ne!(e.message(Lang::Zh), e.message(Lang::En));
    }
    t.manager
        .approve_quote(&c, &q[..8], Some("同意".into()), kit.now())
        .unwrap();
    assert_eq!(
        customer(&t.manager, &c).quotes[&q]
            .approval
            .as_ref()
            .unwrap()
            .by,
        t.manager.user_id
    );
    // Admins hold every management authority.
    t.admin.approve_quote(&c, &q, None, kit.now()).unwrap();
}

#[test]
fn a_discount_beyond_the_approvers_allowance_is_refused() {
    let (kit, t, c) = sales();
    // 40 % off: beyond the manager's 25 %, within the admin's 100 %.
    let q = kit.quote(&t.rep, &c, "P-100", "600");
    spread(&kit, &t);
    kit.refused(&t.manager, "permission-denied", |ws| {
        ws.approve_quote(&c, &q, None, kit.now())
    });
    t.admin.approve_quote(&c, &q, None, kit.now()).unwrap();
}

#[test]
fn quote_approval_refuses_unknown_and_ambiguous_quotes_and_other_teams() {
    let (kit, t, c) = sales();
    let q = kit.quote(&t.rep, &c, "P-100", "850");
    kit.refused(&t.rep, "not-found", |ws| {
        ws.approve_quote(&c, "ffffffff", None, kit.now())
    });
    let quote: Quote = customer(&t.rep, &c).quotes[&q].clone();
    let prefix = kit.twin_entities(&t.rep, &c, "quotes", &quote);
    spread(&kit, &t);
    kit.refused(&t.manager, "ambiguous", |ws| {
        ws.approve_quote(&c, prefix, None, kit.now())
    });
    kit.refused(&t.manager, "not-found", |ws| {
        ws.approve_quote(&DocId::random(), &q, None, kit.now())
    });
    // A manager of another team, holding a copy of the file.
    let east = kit.device_for(
        &t.admin,
        "孙经理",
        fieldcrm_model::Role::Manager,
        Some("华南二组"),
    );
    kit.copy_all(&t.admin, &east);
    kit.refused(&east, "permission-denied", |ws| {
        ws.approve_quote(&c, &q, None, kit.now())
    });
}

#[test]
fn contracts_are_reviewed_by_legal_only() {
    let (kit, t, c) = sales();
    let now = kit.now();
    let k = t
        .rep
        .add_contract(&c, "年度供货合同", 100_000_00, now)
        .unwrap();
    for amount in [0, -100] {
        let e = kit.refused(&t.rep, "invalid-input", |ws| {
            ws.add_contract(&c, "合同", amount, now)
        });
        assert_eq!(e.field(), Some("amount"));
    }
    let e = kit.refused(&t.rep, "invalid-input", |ws| {
        ws.add_contract(&c, "  ", 1, now)
    });
    assert_eq!(e.field(), Some("title"));
    spread(&kit, &t);

    // Not the rep, not a manager, and not the admin: separation of duties.
    for dev in [&t.rep, &t.manager, &t.admin] {
        kit.refused(dev, "permission-denied", |ws| {
            ws.review_contract(&c, &k, ReviewResult::Passed, None, now)
        });
    }
    kit.refused(&t.legal, "not-found", |ws| {
        ws.review_contract(&c, "ffffffff", ReviewResult::Passed, None, now)
    });
    t.legal
        .review_contract(
            &c,
            &k[..8],
            ReviewResult::Passed,
            Some("条款无误".into()),
            now,
        )
        .unwrap();
    let review = customer(&t.legal, &c).contracts[&k]
        .legal_review
        .clone()
        .unwrap();
    assert_eq!(review.by, t.legal.user_id);
}

#[test]
fn contracts_are_signed_once_and_archived_after_signing() {
    let (kit, t, c) = sales();
    let now = kit.now();
    let k = kit.contract(&t.rep, &c);
    kit.refused(&t.rep, "invalid-input", |ws| {
        ws.archive_contract(&c, &k, "档案-001", now)
    });
    let e = kit.refused(&t.rep, "invalid-input", |ws| {
        ws.sign_contract(&c, &k, now + DAY, now)
    });
    assert_eq!(e.field(), Some("at"));
    kit.refused(&t.rep, "not-found", |ws| {
        ws.sign_contract(&c, "ffffffff", now, now)
    });
    kit.refused(&t.rep2, "permission-denied", |ws| {
        ws.sign_contract(&c, &k, now, now)
    });
    t.rep.sign_contract(&c, &k, now - DAY, now).unwrap();
    kit.refused(&t.rep, "invalid-input", |ws| {
        ws.sign_contract(&c, &k, now, now)
    });
    let e = kit.refused(&t.rep, "invalid-input", |ws| {
        ws.archive_contract(&c, &k, " ", now)
    });
    assert_eq!(e.field(), Some("reference"));
    kit.refused(&t.rep, "not-found", |ws| {
        ws.archive_contract(&c, "ffffffff", "档案-001", now)
    });
    t.rep.archive_contract(&c, &k, "档案-001", now).unwrap();
    let ct = &customer(&t.rep, &c).contracts[&k];
    assert_eq!(ct.archive_ref.as_deref(), Some("档案-001"));
}

#[test]
fn orders_refuse_bad_values_and_are_delivered_once() {
    let (kit, t, c) = sales();
    let now = kit.now();
    let (o, bp) = t
        .rep
        .add_order(&c, "P-100", 2, 950_00, now + 7 * DAY, None, now)
        .unwrap();
    assert_eq!(bp, 500);
    kit.refused(&t.rep, "invalid-input", |ws| {
        ws.add_order(&c, "P-100", 1, 950_00, now - 3 * DAY, None, now)
    });
    let e = kit.refused(&t.rep, "invalid-input", |ws| {
        ws.add_order(&c, "P-100", 0, 950_00, now + DAY, None, now)
    });
    assert_eq!(e.field(), Some("quantity"));
    let e = kit.refused(&t.rep, "invalid-input", |ws| {
        ws.add_order(&c, "P-100", 1, -950_00, now + DAY, None, now)
    });
    assert_eq!(e.field(), Some("price"));
    kit.refused(&t.rep, "not-found", |ws| {
        ws.add_order(&c, "NO-SUCH", 1, 950_00, now + DAY, None, now)
    });
    kit.refused(&t.rep2, "permission-denied", |ws| {
        ws.add_order(&c, "P-100", 1, 950_00, now + DAY, None, now)
    });

    let e = kit.refused(&t.rep, "invalid-input", |ws| {
        ws.deliver_order(&c, &o, now + DAY, now)
    });
    assert_eq!(e.field(), Some("at"));
    kit.refused(&t.rep, "not-found", |ws| {
        ws.deliver_order(&c, "ffffffff", now, now)
    });
    t.rep.deliver_order(&c, &o[..8], now, now).unwrap();
    assert_eq!(customer(&t.rep, &c).orders[&o].delivered_at, Some(now));
    kit.refused(&t.rep, "invalid-input", |ws| {
        ws.deliver_order(&c, &o, now, now)
    });
}

#[test]
fn order_approval_is_for_managers_and_admins() {
    let (kit, t, c) = sales();
    let o = kit.order(&t.rep, &c, "P-100", "800");
    spread(&kit, &t);
    for dev in [&t.rep, &t.legal, &t.channel_manager] {
        kit.refused(dev, "permission-denied", |ws| {
            ws.approve_order(&c, &o, None, kit.now())
        });
    }
    kit.refused(&t.manager, "not-found", |ws| {
        ws.approve_order(&c, "ffffffff", None, kit.now())
    });
    t.manager.approve_order(&c, &o, None, kit.now()).unwrap();
    t.admin.approve_order(&c, &o, None, kit.now()).unwrap();
    // Beyond the manager's allowance.
    let o2 = kit.order(&t.rep, &c, "P-100", "500");
    spread(&kit, &t);
    kit.refused(&t.manager, "permission-denied", |ws| {
        ws.approve_order(&c, &o2, None, kit.now())
    });
    t.admin.approve_order(&c, &o2, None, kit.now()).unwrap();
}

#[test]
fn gifts_are_recorded_with_a_value_and_approved_by_management() {
    let (kit, t, c) = sales();
    let now = kit.now();
    let record = |ws: &Workspace, desc: &str, value, at| {
        ws.record_gift(
            &c,
            GiftKind::Hospitality,
            GiftDirection::Given,
            desc,
            value,
            false,
            at,
            now,
        )
    };
    let g = record(&t.rep, "商务宴请", 800_00, now - DAY).unwrap();
    for v in [0, -1] {
        let e = kit.refused(&t.rep, "invalid-input", |ws| record(ws, "宴请", v, now));
        assert_eq!(e.field(), Some("value"));
    }
    let e = kit.refused(&t.rep, "invalid-input", |ws| {
        record(ws, "宴请", 100_00, now + DAY)
    });
    assert_eq!(e.field(), Some("at"));
    let e = kit.refused(&t.rep, "invalid-input", |ws| record(ws, " ", 100_00, now));
    assert_eq!(e.field(), Some("description"));
    kit.refused(&t.rep2, "permission-denied", |ws| {
        record(ws, "宴请", 100_00, now)
    });
    spread(&kit, &t);

    for dev in [&t.rep, &t.legal] {
        kit.refused(dev, "permission-denied", |ws| {
            ws.approve_gift(&c, &g, None, now)
        });
    }
    kit.refused(&t.manager, "not-found", |ws| {
        ws.approve_gift(&c, "ffffffff", None, now)
    });
    t.manager.approve_gift(&c, &g, None, now).unwrap();
    let gift = &customer(&t.manager, &c).gifts[&g];
    assert!(gift.declared, "approving a gift declares it");
    t.admin.approve_gift(&c, &g, None, now).unwrap();
}
