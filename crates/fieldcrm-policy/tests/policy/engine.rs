//! The incremental engine gives the same findings as a full check.

use fieldcrm_model::{DocId, Snapshot};
use fieldcrm_policy::{Config, Engine, check};

use crate::support::*;

/// A mixed set: duplicates, territory conflicts, orders through channels, overdue items.
pub(crate) fn docs() -> Vec<Snapshot> {
    let mut out = workspace();
    for i in 0..12u8 {
        let mut c = if i % 3 == 0 {
            clean_key_customer(&format!("客户{}", i % 5))
        } else {
            clean_customer(&format!("客户{}", i % 5))
        };
        c.contacts.get_mut("c1").unwrap().phone = Some(format!("1380000{:04}", i % 4));
        if i % 4 == 1 {
            c.orders.insert(
                "r1".into(),
                fieldcrm_model::Order {
                    product: if i % 8 == 1 { "V1" } else { "P1" }.into(),
                    quantity: 1,
                    list_price: 100_000,
                    price: 99_000,
                    channel: Some(id(100 + i % 3).to_string()),
                    ordered_at: NOW - 5 * DAY,
                    promised_at: NOW + (i64::from(i) - 4) * DAY,
                    delivered_at: None,
                    by: "rep1".into(),
                    approval: None,
                    cancelled: None,
                },
            );
        }
        out.push(customer_doc(id(i), &REP, &c).snapshot().unwrap());
    }
    for i in 0..3u8 {
        let mut ch = clean_channel(&format!("渠道{i}"), Some(("华东", "pumps")));
        ch.communications.get_mut("m1").unwrap().at = NOW - (80 + i64::from(i) * 5) * DAY;
        out.push(channel_doc(id(100 + i), &CM, &ch).snapshot().unwrap());
    }
    out
}

fn full(snaps: &[Snapshot], now: i64) -> Vec<fieldcrm_policy::Finding> {
    check(snaps, &Config::default(), now)
}

#[test]
fn incremental_updates_equal_a_full_check() {
    let mut all = docs();
    let mut engine: Engine = Engine::new(Config::default());
    let r = engine.update(all.clone(), &[], NOW);
    assert!(r.full);
    assert_eq!(engine.findings(), full(&all, NOW));
    assert!(!engine.findings().is_empty());

    // Change two customers (one stops being a duplicate, one gains a class problem) and
    // one channel (drops its territory), remove one customer, add a new one.
    let find = |all: &[Snapshot], d: &DocId| all.iter().position(|s| &s.id == d).unwrap();
    let mut c = clean_customer("全新客户");
    c.contacts.get_mut("c1").unwrap().phone = Some("13900009999".into());
    let changed_a = customer_doc(id(2), &REP, &c).snapshot().unwrap();
    let mut k = clean_key_customer("客户3");
    k.annual_value = Some(1);
    let changed_b = customer_doc(id(3), &REP, &k).snapshot().unwrap();
    let ch = channel_doc(id(101), &CM, &clean_channel("渠道1", None))
        .snapshot()
        .unwrap();
    let added = customer_doc(id(50), &REP2, &clean_customer("客户1"))
        .snapshot()
        .unwrap();
    let pa = find(&all, &id(2));
    all[pa] = changed_a.clone();
    let pb = find(&all, &id(3));
    all[pb] = changed_b.clone();
    let pc = find(&all, &id(101));
    all[pc] = ch.clone();
    let pr = find(&all, &id(7));
    all.remove(pr);
    all.push(added.clone());

    let later = NOW + 2 * DAY;
    let r = engine.update(vec![changed_a, changed_b, ch, added], &[id(7)], later);
    assert!(!r.full);
    assert!(r.evaluated < all.len(), "{r:?}");
    assert_eq!(engine.findings(), full(&all, later));

    // Time passes with no sync: documents whose deadlines passed are re-evaluated.
    for days in [5, 11, 40, 200] {
        let t = NOW + days * DAY;
        let r = engine.update(Vec::new(), &[], t);
        assert!(!r.full);
        assert_eq!(engine.findings(), full(&all, t), "at +{days} days");
    }
    // A channel that orders go through disappears: those orders lose their authorisation.
    let gone = find(&all, &id(100));
    all.remove(gone);
    let t = NOW + 201 * DAY;
    let r = engine.update(Vec::new(), &[id(100)], t);
    assert!(!r.full);
    let f = engine.findings();
    assert_eq!(f, full(&all, t));
    let unknown = f
        .iter()
        .find(|f| {
            f.rule == fieldcrm_policy::RuleId::ChannelUnauthorizedSale
                && f.facts["channel"] == id(100).as_str()
        })
        .expect("the order through the removed channel is reported");
    assert_eq!(unknown.doc_ids, vec![id(9)]);
    assert!(
        unknown.message_en.contains("does not exist"),
        "{}",
        unknown.message_en
    );
    // Per-document view: exactly the findings that name the document.
    for d in [id(1), id(5), id(9), id(101)] {
        let expected: Vec<_> = f
            .iter()
            .filter(|x| x.doc_ids.contains(&d))
            .cloned()
            .collect();
        assert_eq!(engine.findings_for(&d), expected, "{d}");
    }
    // Going back in time re-evaluates everything.
    let r = engine.update(Vec::new(), &[], NOW);
    assert!(r.full);
    assert_eq!(engine.findings(), full(&all, NOW));
}

#[test]
fn workspace_changes_recheck_everything() {
    let all = docs();
    let mut engine: Engine = Engine::new(Config::default());
    engine.update(all.clone(), &[], NOW);
    // The catalog drops product line `pumps`: channels go out of scope.
    let cat = catalog_edited(|cat| {
        cat.product_lines.remove("pumps");
        cat.products.remove("P1");
    });
    let mut all2: Vec<Snapshot> = all
        .into_iter()
        .filter(|s| !matches!(s.body, fieldcrm_model::Body::Catalog(_)))
        .collect();
    all2.push(cat.clone());
    let r = engine.update(vec![cat], &[], NOW + HOUR);
    assert!(r.full);
    let f = engine.findings();
    assert_eq!(f, full(&all2, NOW + HOUR));
    assert!(
        f.iter()
            .any(|x| x.rule == fieldcrm_policy::RuleId::ChannelScope)
    );
}

/// A lean engine (no snapshot kept once evaluated) gives the same findings as the
/// engine that keeps them, at every step, and asks its loader only for what it must
/// evaluate again: the changed documents, the ones whose wake time came, and everything
/// when the context changes.
#[test]
fn a_lean_engine_equals_the_engine_that_keeps_snapshots() {
    let mut all = docs();
    let mut kept: Engine = Engine::new(Config::default());
    let mut lean = LeanRun::new();
    kept.update(all.clone(), &[], NOW);
    let r = lean.update(all.clone(), &[], NOW);
    assert!(r.full);
    assert_eq!(r.evaluated, all.len() - workspace().len());
    assert_eq!(lean.asked, all.len(), "each document read once");
    assert_eq!(lean.engine.findings(), kept.findings());
    assert!(!kept.findings().is_empty());
    for d in [id(1), id(5), id(9), id(101)] {
        assert_eq!(lean.engine.findings_for(&d), kept.findings_for(&d), "{d}");
    }

    // One customer changes: only it is read.
    let mut c = clean_customer("全新客户");
    c.contacts.get_mut("c1").unwrap().phone = Some("13900009999".into());
    let changed = customer_doc(id(2), &REP, &c).snapshot().unwrap();
    let later = NOW + 2 * DAY;
    let before = lean.asked;
    kept.update(vec![changed.clone()], &[id(7)], later);
    let r = lean.update(vec![changed.clone()], &[id(7)], later);
    assert!(!r.full);
    assert_eq!(lean.engine.findings(), kept.findings());
    let pos = all.iter().position(|s| s.id == id(2)).unwrap();
    all[pos] = changed;
    all.retain(|s| s.id != id(7));
    assert_eq!(lean.engine.findings(), full(&all, later));
    // The changed one, and any whose deadline passed in those two days.
    assert!(lean.asked - before <= 1 + r.evaluated, "{r:?}");

    // Time passes: the documents whose wake time came are read again.
    for days in [5, 11, 40, 200] {
        let t = NOW + days * DAY;
        let before = lean.asked;
        let a = kept.update(Vec::new(), &[], t);
        let b = lean.update(Vec::new(), &[], t);
        assert_eq!(a, b, "at +{days} days");
        assert_eq!(lean.asked - before, b.evaluated, "at +{days} days");
        assert_eq!(lean.engine.findings(), kept.findings(), "at +{days} days");
        assert_eq!(lean.engine.findings(), full(&all, t), "at +{days} days");
    }

    // A workspace document changes: everything is read again, in its new context.
    let cat = catalog_edited(|cat| {
        cat.product_lines.remove("pumps");
        cat.products.remove("P1");
    });
    let t = NOW + 201 * DAY;
    let before = lean.asked;
    kept.update(vec![cat.clone()], &[], t);
    let r = lean.update(vec![cat], &[], t);
    assert!(r.full);
    // The catalog, the Sales document (kept without its claims, which are counted again
    // in the new context) and every file.
    assert_eq!(lean.asked - before, 2 + r.evaluated);
    assert_eq!(lean.engine.findings(), kept.findings());
    assert!(
        lean.engine
            .findings()
            .iter()
            .any(|x| x.rule == fieldcrm_policy::RuleId::ChannelScope)
    );
}

/// A document the loader no longer gives back (deleted under it) is dropped, with its
/// findings, as if it had been removed.
#[test]
fn a_lean_engine_drops_what_its_loader_does_not_give() {
    let all = docs();
    let mut lean = LeanRun::new();
    lean.update(all.clone(), &[], NOW);
    assert!(!lean.engine.findings_for(&id(9)).is_empty());
    assert!(lean.engine.is_record(&id(9)));
    // Deleted from the store without the engine being told; the clock goes back, so
    // everything is read again.
    lean.held.remove(&id(9));
    let r = lean.update(Vec::new(), &[], NOW - DAY);
    assert!(r.full);
    assert!(!lean.engine.is_record(&id(9)));
    let rest: Vec<Snapshot> = all.into_iter().filter(|s| s.id != id(9)).collect();
    assert_eq!(lean.engine.findings(), full(&rest, NOW - DAY));
}

/// More documents than the lean engine reads in one batch: the loader runs a batch
/// ahead on its own thread, and the findings are still the keeping engine's, with
/// duplicates whose two files are read in different batches; what the loader stops
/// giving is dropped.
#[test]
fn a_lean_engine_reads_batches_ahead_and_finds_the_same() {
    let base = customer_doc(id(1), &REP, &clean_customer("基础客户"))
        .snapshot()
        .unwrap();
    let mut all = workspace();
    for i in 0..4_600u32 {
        let mut s = base.clone();
        s.id = format!("{:032x}", 0x9_0000 + i).parse().unwrap();
        if let fieldcrm_model::Body::Customer(c) = &mut s.body {
            c.name = format!("華東客户{i}號");
            // Files i and i + 2,300 share a phone: a duplicate across batches.
            c.contacts.get_mut("c1").unwrap().phone = Some(format!("1370000{:04}", i % 2_300));
        }
        all.push(s);
    }
    let mut kept: Engine = Engine::new(Config::default());
    kept.update(all.clone(), &[], NOW);
    let caller = std::thread::current().id();
    let mut lean = fieldcrm_policy::Engine::new(Config::default()).lean();
    let held: std::collections::BTreeMap<DocId, Snapshot> =
        all.iter().map(|s| (s.id.clone(), s.clone())).collect();
    let ids: Vec<DocId> = held.keys().cloned().collect();
    let elsewhere = std::sync::atomic::AtomicUsize::new(0);
    let dropped: DocId = format!("{:032x}", 0x9_0000 + 4_599).parse().unwrap();
    let give = |drop_one: bool| {
        let held = &held;
        let elsewhere = &elsewhere;
        let dropped = &dropped;
        move |want: &[DocId]| {
            if std::thread::current().id() != caller {
                elsewhere.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            want.iter()
                .filter(|id| !(drop_one && *id == dropped))
                .filter_map(|id| held.get(id).cloned())
                .collect::<Vec<_>>()
        }
    };
    lean.update_from(&ids, &[], NOW, &mut give(false));
    assert!(
        elsewhere.load(std::sync::atomic::Ordering::Relaxed) >= 2,
        "batches read on the loader's thread"
    );
    let dups = lean
        .findings()
        .iter()
        .filter(|f| f.rule == fieldcrm_policy::RuleId::CustDuplicate)
        .count();
    assert_eq!(dups, 2_300);
    assert_eq!(lean.findings(), kept.findings());
    assert_eq!(lean.findings(), full(&all, NOW));
    // The clock goes back: everything is read again, and the last file is not given.
    lean.update_from(&[], &[], NOW - DAY, &mut give(true));
    assert!(!lean.is_record(&dropped));
    let rest: Vec<Snapshot> = all.into_iter().filter(|s| s.id != dropped).collect();
    assert_eq!(lean.findings(), full(&rest, NOW - DAY));

    // Reading one batch at a time (the relay): on the caller's thread, the same findings.
    let mut serial = fieldcrm_policy::Engine::new(Config::default())
        .lean()
        .reading_ahead(false);
    let before = elsewhere.load(std::sync::atomic::Ordering::Relaxed);
    serial.update_from(&ids, &[], NOW, &mut give(false));
    assert_eq!(elsewhere.load(std::sync::atomic::Ordering::Relaxed), before);
    assert_eq!(serial.findings(), kept.findings());
}
