//! Fixtures: a workspace (roster, catalog, sales) built as real Automerge documents by an
//! admin device, clean customers and channels, and helpers to edit a document on another
//! device and merge it back.

#![allow(dead_code)]

use std::collections::BTreeMap;

use fieldcrm_model::{
    Agreement, Approval, Catalog, Channel, ChannelKind, ChannelStatus, Contact, Customer,
    CustomerClass, DAY_MS, Device, DeviceKey, DocId, DocKind, Document, Interaction,
    InteractionKind, Millis, Note, Plan, PriceReport, Product, Review, ReviewResult,
    RiskAssessment, RiskLevel, Role, Roster, Sales, SalesReport, Snapshot, Survey, Territory, User,
};
use fieldcrm_policy::{Config, Finding, RuleId, check};

pub(crate) const ADMIN: DeviceKey = DeviceKey([1; 32]);
pub(crate) const REP: DeviceKey = DeviceKey([2; 32]);
pub(crate) const REP2: DeviceKey = DeviceKey([3; 32]);
pub(crate) const MGR: DeviceKey = DeviceKey([4; 32]);
pub(crate) const CM: DeviceKey = DeviceKey([5; 32]);
pub(crate) const CM2: DeviceKey = DeviceKey([6; 32]);
pub(crate) const LEGAL: DeviceKey = DeviceKey([7; 32]);
pub(crate) const LEAD: DeviceKey = DeviceKey([8; 32]);
pub(crate) const STRANGER: DeviceKey = DeviceKey([9; 32]);

pub(crate) const DAY: Millis = DAY_MS;
pub(crate) const HOUR: Millis = 3_600_000;
/// 2026-11-29 04:00 UTC (12:00 in Beijing), a Sunday.
pub(crate) const NOW: Millis = 1_795_924_800_000;

pub(crate) fn user(name: &str, role: Role, team: &str, created_at: Millis) -> User {
    User {
        name: name.into(),
        role,
        team: Some(team.into()),
        region: Some("华东".into()),
        active: true,
        created_at,
    }
}

/// Users: admin, rep1 (张伟), rep2 (李娜), mgr1 (王强), cm1 (赵敏), cm2 (钱进), law1 (孙丽),
/// lead1 (周杰, manager). Users joined yesterday, so no sales report is due yet.
pub(crate) fn roster_content(joined: Millis) -> Roster {
    let mut r = Roster::new("0123456789abcdef0123456789abcdef", "华东机电");
    let people = [
        ("admin", "管理员", Role::Admin, ADMIN),
        ("rep1", "张伟", Role::Rep, REP),
        ("rep2", "李娜", Role::Rep, REP2),
        ("mgr1", "王强", Role::Manager, MGR),
        ("cm1", "赵敏", Role::ChannelManager, CM),
        ("cm2", "钱进", Role::ChannelManager, CM2),
        ("law1", "孙丽", Role::Legal, LEGAL),
        ("lead1", "周杰", Role::Manager, LEAD),
    ];
    for (id, name, role, dev) in people {
        r.users.insert(id.into(), user(name, role, "east", joined));
        r.devices.insert(
            dev.to_hex(),
            Device {
                user: id.into(),
                label: format!("{id}-phone"),
                enrolled_at: joined,
                revoked_at: None,
                invitation: None,
            },
        );
    }
    r
}

pub(crate) fn roster_doc() -> Document {
    roster_doc_joined(NOW - DAY)
}

pub(crate) fn roster_doc_joined(joined: Millis) -> Document {
    Document::create(
        DocId::workspace(&DocKind::Roster),
        &ADMIN,
        NOW - 400 * DAY,
        &roster_content(joined),
        "init",
    )
    .unwrap()
}

pub(crate) fn catalog_content() -> Catalog {
    let mut c = Catalog::new();
    c.product_lines.insert("pumps".into(), "水泵".into());
    c.product_lines.insert("valves".into(), "阀门".into());
    c.products.insert(
        "P1".into(),
        Product {
            name: "离心泵".into(),
            product_line: "pumps".into(),
            list_price: 100_000,
            floor_price: 80_000,
        },
    );
    c.products.insert(
        "V1".into(),
        Product {
            name: "球阀".into(),
            product_line: "valves".into(),
            list_price: 50_000,
            floor_price: 40_000,
        },
    );
    c
}

pub(crate) fn catalog_doc() -> Document {
    Document::create(
        DocId::workspace(&DocKind::Catalog),
        &ADMIN,
        NOW - 400 * DAY,
        &catalog_content(),
        "init",
    )
    .unwrap()
}

/// The catalog as the admin writes it anew at `NOW`, edited by `edit`: a snapshot of
/// a changed context.
pub(crate) fn catalog_edited(edit: impl FnOnce(&mut Catalog)) -> Snapshot {
    let mut cat = catalog_content();
    edit(&mut cat);
    Document::create(
        DocId::workspace(&DocKind::Catalog),
        &ADMIN,
        NOW,
        &cat,
        "edit",
    )
    .unwrap()
    .snapshot()
    .unwrap()
}

pub(crate) fn sales_doc() -> Document {
    Document::create(
        DocId::workspace(&DocKind::Sales),
        &ADMIN,
        NOW - 400 * DAY,
        &Sales::new(),
        "init",
    )
    .unwrap()
}

/// Roster, catalog and sales snapshots.
pub(crate) fn workspace() -> Vec<Snapshot> {
    vec![
        roster_doc().snapshot().unwrap(),
        catalog_doc().snapshot().unwrap(),
        sales_doc().snapshot().unwrap(),
    ]
}

pub(crate) fn id(n: u8) -> DocId {
    format!("{:032x}", 0x1000 + u32::from(n)).parse().unwrap()
}

/// A general customer that breaks no rule at NOW.
pub(crate) fn clean_customer(name: &str) -> Customer {
    let mut c = Customer::new(name, NOW - 200 * DAY);
    c.class = Some(CustomerClass::General);
    c.annual_value = Some(50_000_000);
    c.industry = Some("机械制造".into());
    c.region = Some("华东".into());
    c.owner = Some("rep1".into());
    c.team = Some("east".into());
    c.contacts.insert(
        "c1".into(),
        Contact {
            name: "陈经理".into(),
            phone: Some(format!(
                "139{:08}",
                name.chars()
                    .fold(7_u64, |h, c| (h * 31 + u64::from(c)) % 1_000_000_007)
                    % 100_000_000
            )),
            email: None,
            ..Default::default()
        },
    );
    c.interactions.insert(
        "i1".into(),
        Interaction {
            kind: InteractionKind::Call,
            occurred_at: NOW - 5 * DAY,
            recorded_at: NOW - 5 * DAY + HOUR,
            summary: "回访".into(),
            by: "rep1".into(),
            contact: None,
        },
    );
    c
}

/// A key customer that breaks no rule at NOW.
pub(crate) fn clean_key_customer(name: &str) -> Customer {
    let mut c = clean_customer(name);
    c.class = Some(CustomerClass::Key);
    c.annual_value = Some(200_000_000);
    c.address = Some("上海市浦东新区张江路1号".into());
    c.interactions.insert(
        "i2".into(),
        Interaction {
            kind: InteractionKind::Visit,
            occurred_at: NOW - 10 * DAY,
            recorded_at: NOW - 10 * DAY + HOUR,
            summary: "上门拜访".into(),
            by: "rep1".into(),
            contact: None,
        },
    );
    c.plan = Some(Plan {
        text: "扩大合作".into(),
        review_at: NOW + 30 * DAY,
        by: "rep1".into(),
        at: NOW - 60 * DAY,
    });
    c.surveys.insert(
        "s1".into(),
        Survey {
            score: 5,
            at: NOW - 20 * DAY,
            by: "rep1".into(),
            comment: None,
        },
    );
    c
}

pub(crate) fn review(result: ReviewResult, by: &str, at: Millis) -> Review {
    Review {
        covers: Default::default(),
        result,
        by: by.into(),
        at,
        note: None,
    }
}

/// A sign-off carrying what it covers (as the application layer records it), for the
/// entity `path` (the sign-off's own path, `quotes/q1/approval`) sits on in `doc`.
pub(crate) fn sign_off<T: Covers>(doc: &Document, path: &[&str], mut sign_off: T) -> T {
    let kind = doc.kind().unwrap_or(DocKind::Customer);
    let authority =
        fieldcrm_model::Authority::for_field(&kind, &path.join("/")).expect("a sign-off path");
    let mut entity = doc.to_json();
    for p in &path[..path.len().saturating_sub(1)] {
        entity = entity.get(*p).cloned().unwrap_or_default();
    }
    *sign_off.covers() = fieldcrm_model::signoff::covered_values(authority, |f| {
        entity.get(f).cloned().unwrap_or_default()
    });
    sign_off
}

/// A sign-off type (it records what it covers).
pub(crate) trait Covers {
    fn covers(&mut self) -> &mut BTreeMap<String, String>;
}

impl Covers for Approval {
    fn covers(&mut self) -> &mut BTreeMap<String, String> {
        &mut self.covers
    }
}

impl Covers for Review {
    fn covers(&mut self) -> &mut BTreeMap<String, String> {
        &mut self.covers
    }
}

pub(crate) fn approval(by: &str, at: Millis) -> Approval {
    Approval {
        covers: Default::default(),
        by: by.into(),
        at,
        note: None,
    }
}

/// An active channel (created by channel manager cm1) that breaks no rule at NOW, with
/// an exclusive territory only when `territory` is given.
pub(crate) fn clean_channel(name: &str, territory: Option<(&str, &str)>) -> Channel {
    let mut ch = Channel::new(name, ChannelKind::Distributor, NOW - 120 * DAY);
    ch.region = Some("华东".into());
    ch.product_lines.insert("pumps".into(), true);
    ch.status = ChannelStatus::Active;
    ch.status_at = NOW - 100 * DAY;
    ch.activated_at = Some(NOW - 100 * DAY);
    ch.owner = Some("cm1".into());
    let mut q = review(ReviewResult::Passed, "cm1", NOW - 110 * DAY);
    q.covers = fieldcrm_model::signoff::covered_values(
        fieldcrm_model::Authority::ChannelQualification,
        fieldcrm_model::signoff::entity_field(&ch),
    );
    ch.qualification = Some(q);
    ch.risk = Some(RiskAssessment {
        level: RiskLevel::Low,
        by: "cm1".into(),
        at: NOW - 110 * DAY,
        note: None,
    });
    ch.agreement = Some(Agreement {
        rights: "华东区域分销权".into(),
        responsibilities: "年度销量不低于500台".into(),
        plan: "季度推广计划".into(),
        term_start: NOW - 105 * DAY,
        term_end: NOW + 300 * DAY,
        products: Vec::new(),
        signed_at: Some(NOW - 105 * DAY),
        by: "cm1".into(),
    });
    if let Some((region, line)) = territory {
        ch.territories.insert(
            "t1".into(),
            Territory {
                region: region.into(),
                product_line: line.into(),
                start: NOW - 100 * DAY,
                end: NOW + 265 * DAY,
                exclusive: true,
                by: "cm1".into(),
                at: NOW - 100 * DAY,
            },
        );
    }
    ch.communications.insert(
        "m1".into(),
        Note {
            text: "季度座谈".into(),
            at: NOW - 10 * DAY,
            by: "cm1".into(),
        },
    );
    ch.trainings.insert(
        "tr1".into(),
        Note {
            text: "产品培训".into(),
            at: NOW - 90 * DAY,
            by: "cm1".into(),
        },
    );
    ch.price_reports.insert(
        "p1".into(),
        PriceReport {
            product: "P1".into(),
            price: 90_000,
            at: NOW - 3 * DAY,
            by: "cm1".into(),
        },
    );
    ch
}

pub(crate) fn sales_report(user: &str, period: &str) -> SalesReport {
    SalesReport {
        user: user.into(),
        period: period.into(),
        summary: "周报".into(),
        amount: 1_000_000,
        submitted_at: NOW - DAY,
    }
}

/// Create a customer file on `device`.
pub(crate) fn customer_doc(id: DocId, device: &DeviceKey, content: &Customer) -> Document {
    Document::create(id, device, NOW - 200 * DAY, content, "create").unwrap()
}

/// Create a channel record on `device`.
pub(crate) fn channel_doc(id: DocId, device: &DeviceKey, content: &Channel) -> Document {
    Document::create(id, device, NOW - 200 * DAY, content, "create").unwrap()
}

/// A replica of `doc` that writes as `device`.
pub(crate) fn replica(doc: &mut Document, device: &DeviceKey) -> Document {
    Document::load(doc.id().clone(), &doc.save(), device).unwrap()
}

/// Merge `b` into `a`.
pub(crate) fn merge(a: &mut Document, b: &mut Document) {
    a.automerge_mut().merge(b.automerge_mut()).unwrap();
}

/// Edit `doc` as `device` (on a replica) and merge the change back.
pub(crate) fn edit_as(doc: &mut Document, device: &DeviceKey, f: impl FnOnce(&mut Document)) {
    let mut r = replica(doc, device);
    f(&mut r);
    r.commit(NOW - DAY, "edit");
    merge(doc, &mut r);
}

/// Findings for `docs` plus the standard workspace, at NOW, default config.
pub(crate) fn run(docs: &[&mut Document]) -> Vec<Finding> {
    run_at(docs, NOW)
}

pub(crate) fn run_at(docs: &[&mut Document], now: Millis) -> Vec<Finding> {
    let mut snaps = workspace();
    snaps.extend(docs.iter().map(|d| d.snapshot().unwrap()));
    check(&snaps, &Config::default(), now)
}

/// The rule IDs in findings (sorted, with repeats).
pub(crate) fn rules(findings: &[Finding]) -> Vec<RuleId> {
    findings.iter().map(|f| f.rule).collect()
}

/// Findings of one rule.
pub(crate) fn of(findings: &[Finding], rule: RuleId) -> Vec<&Finding> {
    findings.iter().filter(|f| f.rule == rule).collect()
}

/// Assert exactly the listed rules fire (order-insensitive, repeats counted).
#[track_caller]
pub(crate) fn assert_rules(findings: &[Finding], expected: &[RuleId]) {
    let mut got = rules(findings);
    got.sort();
    let mut want = expected.to_vec();
    want.sort();
    assert_eq!(
        got,
        want,
        "findings:\n{}",
        fieldcrm_policy::render(findings, fieldcrm_policy::Lang::En)
    );
}

pub(crate) fn btree<V>(items: Vec<(&str, V)>) -> BTreeMap<String, V> {
    items.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// A lean engine ([`fieldcrm_policy::Engine::lean`]) fed as a store would feed it: by
/// IDs, its loader reading the current snapshots from a map, counting what it is asked.
pub(crate) struct LeanRun {
    pub engine: fieldcrm_policy::Engine<Snapshot>,
    pub held: BTreeMap<DocId, Snapshot>,
    /// How many snapshots the engine asked for in all.
    pub asked: usize,
}

impl LeanRun {
    pub(crate) fn new() -> Self {
        LeanRun {
            engine: fieldcrm_policy::Engine::new(Config::default()).lean(),
            held: BTreeMap::new(),
            asked: 0,
        }
    }

    /// The documents `changed` were written and `removed` deleted; update at `now`.
    pub(crate) fn update(
        &mut self,
        changed: Vec<Snapshot>,
        removed: &[DocId],
        now: Millis,
    ) -> fieldcrm_policy::Recheck {
        for id in removed {
            self.held.remove(id);
        }
        let ids: Vec<DocId> = changed.iter().map(|s| s.id.clone()).collect();
        for s in changed {
            self.held.insert(s.id.clone(), s);
        }
        let held = &self.held;
        let asked = &mut self.asked;
        self.engine
            .update_from(&ids, removed, now, &mut |want: &[DocId]| {
                *asked += want.len();
                want.iter().filter_map(|id| held.get(id).cloned()).collect()
            })
    }
}
