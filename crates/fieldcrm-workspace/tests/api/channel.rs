//! Channel partners: registration, qualification and risk review, agreements, status,
//! territories, communications, trainings, assessments and price reports.

use fieldcrm_model::{Channel, ChannelKind, ChannelStatus, DocId, Lang, ReviewResult, RiskLevel};
use fieldcrm_testkit::{DAY, Kit, REGION, Team};
use fieldcrm_workspace::{AgreementInput, NewChannel, Workspace};

fn channel(ws: &Workspace, id: &DocId) -> Channel {
    ws.load(id).unwrap().hydrate().unwrap()
}

/// A team, product P-100, and channel 华东分销 registered by the channel manager, held
/// by every device (the rep and legal by a whole copy).
pub(super) fn with_channel() -> (Kit, Team, DocId) {
    let kit = Kit::new();
    let t = kit.team();
    kit.product(&t.admin, "P-100", "1000");
    kit.sync(&t.channel_manager, &t.admin);
    let ch = kit.channel(&t.channel_manager, "华东分销");
    kit.sync(&t.channel_manager, &t.admin);
    kit.sync(&t.manager, &t.admin);
    for d in [&t.rep, &t.legal] {
        kit.copy_all(&t.admin, d);
    }
    (kit, t, ch)
}

fn new_channel(name: &str) -> NewChannel {
    NewChannel {
        name: name.into(),
        kind: ChannelKind::Agent,
        region: Some(REGION.into()),
        product_lines: vec!["工业泵".into(), " ".into()],
        owner: None,
    }
}

fn agreement(kit: &Kit) -> AgreementInput {
    AgreementInput {
        rights: "华东区独家代理".into(),
        responsibilities: "年销量不低于 100 台".into(),
        plan: "季度联合推广".into(),
        term_start: kit.now(),
        term_end: kit.now() + 365 * DAY,
        products: vec![],
        signed: true,
    }
}

#[test]
fn channels_are_registered_by_channel_managers_managers_and_admins() {
    let kit = Kit::new();
    let t = kit.team();
    let id = t
        .channel_manager
        .add_channel(new_channel("华东代理"), kit.now())
        .unwrap();
    let c = channel(&t.channel_manager, &id);
    assert_eq!(c.status, ChannelStatus::Prospect);
    assert_eq!(c.owner.as_deref(), Some(t.channel_manager.user_id.as_str()));
    assert_eq!(c.product_lines.keys().collect::<Vec<_>>(), ["工业泵"]);
    t.manager
        .add_channel(new_channel("经理渠道"), kit.now())
        .unwrap();
    t.admin
        .add_channel(new_channel("管理员渠道"), kit.now())
        .unwrap();
    for dev in [&t.rep, &t.legal] {
        let e = kit.refused(dev, "permission-denied", |ws| {
            ws.add_channel(new_channel("越权渠道"), kit.now())
        });
        assert_ne!(e.message(Lang::Zh), e.message(Lang::En));
    }
    let e = kit.refused(&t.channel_manager, "invalid-input", |ws| {
        ws.add_channel(new_channel(" "), kit.now())
    });
    assert_eq!(e.field(), Some("name"));
    kit.refused(&t.channel_manager, "not-found", |ws| {
        let input = NewChannel {
            owner: Some("无名氏".into()),
            ..new_channel("某渠道")
        };
        ws.add_channel(input, kit.now())
    });
}

#[test]
fn qualification_and_risk_are_for_channel_managers_and_admins() {
    let (kit, t, ch) = with_channel();
    let now = kit.now();
    for dev in [&t.manager, &t.rep, &t.legal] {
        kit.refused(dev, "permission-denied", |ws| {
            ws.review_channel(&ch, ReviewResult::Passed, None, now)
        });
        kit.refused(dev, "permission-denied", |ws| {
            ws.assess_channel_risk(&ch, RiskLevel::Low, None, now)
        });
    }
    kit.refused(&t.channel_manager, "not-found", |ws| {
        ws.review_channel(&DocId::random(), ReviewResult::Passed, None, now)
    });
    kit.refused(&t.channel_manager, "not-found", |ws| {
        ws.assess_channel_risk(&DocId::random(), RiskLevel::Low, None, now)
    });
    t.channel_manager
        .review_channel(&ch, ReviewResult::Passed, Some("资质齐全".into()), now)
        .unwrap();
    t.channel_manager
        .assess_channel_risk(&ch, RiskLevel::Medium, None, now)
        .unwrap();
    let c = channel(&t.channel_manager, &ch);
    assert_eq!(c.qualification.unwrap().by, t.channel_manager.user_id);
    assert_eq!(c.risk.unwrap().level, RiskLevel::Medium);
    t.admin
        .review_channel(&ch, ReviewResult::Passed, None, now)
        .unwrap();
    t.admin
        .assess_channel_risk(&ch, RiskLevel::Low, None, now)
        .unwrap();
}

#[test]
fn agreements_need_a_term_and_text() {
    let (kit, t, ch) = with_channel();
    t.channel_manager
        .set_agreement(&ch, agreement(&kit), kit.now())
        .unwrap();
    let a = channel(&t.channel_manager, &ch).agreement.unwrap();
    assert_eq!(a.by, t.channel_manager.user_id);
    assert_eq!(a.signed_at, Some(kit.now()));
    t.manager
        .set_agreement(&ch, agreement(&kit), kit.now())
        .unwrap();
    for dev in [&t.rep, &t.legal] {
        kit.refused(dev, "permission-denied", |ws| {
            ws.set_agreement(&ch, agreement(&kit), kit.now())
        });
    }
    kit.refused(&t.channel_manager, "invalid-input", |ws| {
        let a = AgreementInput {
            term_end: kit.now(),
            ..agreement(&kit)
        };
        ws.set_agreement(&ch, a, kit.now())
    });
    let e = kit.refused(&t.channel_manager, "invalid-input", |ws| {
        let a = AgreementInput {
            rights: " ".into(),
            ..agreement(&kit)
        };
        ws.set_agreement(&ch, a, kit.now())
    });
    assert_eq!(e.field(), Some("rights"));
    kit.refused(&t.channel_manager, "not-found", |ws| {
        ws.set_agreement(&DocId::random(), agreement(&kit), kit.now())
    });
}

#[test]
fn activation_is_for_channel_managers_other_status_changes_for_any_manager() {
    let (kit, t, ch) = with_channel();
    let now = kit.now();
    for dev in [&t.manager, &t.rep] {
        kit.refused(dev, "permission-denied", |ws| {
            ws.set_channel_status(&ch, ChannelStatus::Active, now)
        });
    }
    kit.refused(&t.channel_manager, "invalid-input", |ws| {
        ws.set_channel_status(&ch, ChannelStatus::Prospect, now)
    });
    t.channel_manager
        .set_channel_status(&ch, ChannelStatus::Active, now)
        .unwrap();
    let c = channel(&t.channel_manager, &ch);
    assert_eq!(
        (c.status, c.activated_at),
        (ChannelStatus::Active, Some(now))
    );
    kit.sync(&t.channel_manager, &t.admin);
    kit.sync(&t.manager, &t.admin);
    kit.refused(&t.rep, "permission-denied", |ws| {
        ws.set_channel_status(&ch, ChannelStatus::Suspended, now)
    });
    t.manager
        .set_channel_status(&ch, ChannelStatus::Suspended, now)
        .unwrap();
    t.admin
        .set_channel_status(&ch, ChannelStatus::Terminated, now)
        .unwrap();
    kit.refused(&t.channel_manager, "not-found", |ws| {
        ws.set_channel_status(&DocId::random(), ChannelStatus::Active, now)
    });
}

#[test]
fn territories_need_a_term_region_and_line() {
    let (kit, t, ch) = with_channel();
    let (start, end) = (kit.now(), kit.now() + 365 * DAY);
    let id = t
        .channel_manager
        .grant_territory(&ch, "上海", "工业泵", start, end, true, kit.now())
        .unwrap();
    assert!(channel(&t.channel_manager, &ch).territories[&id].exclusive);
    t.manager
        .grant_territory(&ch, "江苏", "工业泵", start, end, false, kit.now())
        .unwrap();
    for dev in [&t.rep, &t.legal] {
        kit.refused(dev, "permission-denied", |ws| {
            ws.grant_territory(&ch, "浙江", "工业泵", start, end, false, kit.now())
        });
    }
    kit.refused(&t.channel_manager, "invalid-input", |ws| {
        ws.grant_territory(&ch, "浙江", "工业泵", end, start, false, kit.now())
    });
    let e = kit.refused(&t.channel_manager, "invalid-input", |ws| {
        ws.grant_territory(&ch, " ", "工业泵", start, end, false, kit.now())
    });
    assert_eq!(e.field(), Some("region"));
    let e = kit.refused(&t.channel_manager, "invalid-input", |ws| {
        ws.grant_territory(&ch, "浙江", "", start, end, false, kit.now())
    });
    assert_eq!(e.field(), Some("product_line"));
    kit.refused(&t.channel_manager, "not-found", |ws| {
        ws.grant_territory(
            &DocId::random(),
            "浙江",
            "工业泵",
            start,
            end,
            false,
            kit.now(),
        )
    });
}

#[test]
fn communications_and_trainings_are_past_events_with_text() {
    let (kit, t, ch) = with_channel();
    let now = kit.now();
    let dev = &t.channel_manager;
    let c = dev
        .channel_communicate(&ch, "季度例会", now - DAY, now)
        .unwrap();
    let tr = dev.channel_train(&ch, "新品培训", now, now).unwrap();
    let got = channel(dev, &ch);
    assert!(got.communications.contains_key(&c) && got.trainings.contains_key(&tr));
    let e = kit.refused(dev, "invalid-input", |ws| {
        ws.channel_communicate(&ch, "例会", now + DAY, now)
    });
    assert_eq!(e.field(), Some("at"));
    let e = kit.refused(dev, "invalid-input", |ws| {
        ws.channel_communicate(&ch, " ", now, now)
    });
    assert_eq!(e.field(), Some("summary"));
    let e = kit.refused(dev, "invalid-input", |ws| {
        ws.channel_train(&ch, "培训", now + DAY, now)
    });
    assert_eq!(e.field(), Some("at"));
    let e = kit.refused(dev, "invalid-input", |ws| {
        ws.channel_train(&ch, "", now, now)
    });
    assert_eq!(e.field(), Some("topic"));
    kit.refused(dev, "not-found", |ws| {
        ws.channel_communicate(&DocId::random(), "例会", now, now)
    });
    kit.refused(dev, "not-found", |ws| {
        ws.channel_train(&DocId::random(), "培训", now, now)
    });
    // A rep outside the channel's region holds a copy but may not write it.
    kit.refused(&t.rep, "permission-denied", |ws| {
        ws.channel_communicate(&ch, "例会", now, now)
    });
}

#[test]
fn assessments_score_zero_to_a_hundred_for_a_valid_period() {
    let (kit, t, ch) = with_channel();
    let dev = &t.channel_manager;
    let id = dev
        .assess_channel(&ch, "2026-Q4", 85, Some("达标".into()), kit.now())
        .unwrap();
    assert_eq!(channel(dev, &ch).assessments[&id].period, "2026-Q4");
    for bad in [-1, 101] {
        kit.refused(dev, "invalid-input", |ws| {
            ws.assess_channel(&ch, "2026-Q4", bad, None, kit.now())
        });
    }
    for bad in ["2026-Q5", "2026-13", "明年", ""] {
        let e = kit.refused(dev, "invalid-input", |ws| {
            ws.assess_channel(&ch, bad, 80, None, kit.now())
        });
        assert_eq!(e.field(), Some("period"), "{bad}");
    }
    kit.refused(dev, "not-found", |ws| {
        ws.assess_channel(&DocId::random(), "2026", 80, None, kit.now())
    });
}

#[test]
fn price_reports_need_a_known_product_a_positive_price_and_a_past_time() {
    let (kit, t, ch) = with_channel();
    let now = kit.now();
    let dev = &t.channel_manager;
    let id = dev
        .report_channel_price(&ch, "P-100", 880_00, now - DAY, now)
        .unwrap();
    assert_eq!(channel(dev, &ch).price_reports[&id].price, 880_00);
    for bad in [0, -1] {
        let e = kit.refused(dev, "invalid-input", |ws| {
            ws.report_channel_price(&ch, "P-100", bad, now, now)
        });
        assert_eq!(e.field(), Some("price"));
    }
    kit.refused(dev, "not-found", |ws| {
        ws.report_channel_price(&ch, "NO-SUCH", 880_00, now, now)
    });
    kit.refused(dev, "not-found", |ws| {
        ws.report_channel_price(&DocId::random(), "P-100", 880_00, now, now)
    });
}

#[test]
fn a_price_report_from_the_future_is_refused() {
    let (kit, t, ch) = with_channel();
    let now = kit.now();
    let e = kit.refused(&t.channel_manager, "invalid-input", |ws| {
        ws.report_channel_price(&ch, "P-100", 880_00, now + DAY, now)
    });
    assert_eq!(e.field(), Some("at"));
}
