//! The 撞单 notice: claims in the Sales document tell a rep that another rep registered
//! the same company first, the same on every device that holds the rep's file.

use fieldcrm_model::{DeviceKey, DocId, Document, Snapshot};
use fieldcrm_policy::claims::{claim_for, claim_id};
use fieldcrm_policy::{Config, Engine, Finding, RuleId, check};

use crate::support::*;

const WS: &str = "0123456789abcdef0123456789abcdef";

/// rep1 registered 廣州華東機電有限公司 ten days ago (id 1); rep2 registered
/// 广州华东机电（集团） five days ago (id 2), with another phone.
fn files() -> (Document, Document) {
    let mut a = clean_customer("廣州華東機電有限公司");
    a.created_at = NOW - 10 * DAY;
    let mut b = clean_customer("广州华东机电（集团）");
    b.owner = Some("rep2".into());
    b.created_at = NOW - 5 * DAY;
    (
        customer_doc(id(1), &REP, &a),
        customer_doc(id(2), &REP2, &b),
    )
}

/// Write the claim of `file` into `sales` as `device`.
pub(crate) fn claim(sales: &mut Document, file: &mut Document, device: &DeviceKey) {
    let fieldcrm_model::Body::Customer(c) = file.snapshot().unwrap().body else {
        panic!("not a customer")
    };
    let cl = claim_for(WS, &c).unwrap();
    let key = claim_id(WS, file.id());
    edit_as(sales, device, |d| {
        d.put_new_object(&["claims", &key], &cl).unwrap()
    });
}

pub(crate) fn sales_with_claims() -> (Document, Document, Document) {
    let (mut a, mut b) = files();
    let mut sales = sales_doc();
    claim(&mut sales, &mut a, &REP);
    claim(&mut sales, &mut b, &REP2);
    (sales, a, b)
}

/// Check `docs` with the roster and catalog and the given sales document.
fn view(sales: &mut Document, docs: &mut [&mut Document]) -> Vec<Finding> {
    let mut snaps = vec![
        roster_doc().snapshot().unwrap(),
        catalog_doc().snapshot().unwrap(),
        sales.snapshot().unwrap(),
    ];
    snaps.extend(docs.iter_mut().map(|d| d.snapshot().unwrap()));
    check(&snaps, &Config::default(), NOW)
}

fn notices(findings: &[Finding]) -> Vec<&Finding> {
    findings
        .iter()
        .filter(|f| f.rule == RuleId::CustDuplicate && f.doc_ids.len() == 1)
        .collect()
}

#[test]
fn the_later_registrant_is_told_on_every_device_that_holds_its_file() {
    let (mut sales, mut a, mut b) = sales_with_claims();
    // rep2's device holds only its own file.
    let rep2 = view(&mut sales, &mut [&mut b]);
    let n = notices(&rep2);
    assert_eq!(n.len(), 1, "{rep2:#?}");
    let f = n[0];
    assert_eq!(f.doc_ids, vec![id(2)]);
    assert_eq!(
        f.entity.as_deref(),
        Some(format!("claims/{}", claim_id(WS, &id(1))).as_str())
    );
    assert!(
        f.message_zh
            .starts_with("该客户已由其他销售代表于2026-11-19登记，请联系经理确认归属"),
        "{}",
        f.message_zh
    );
    assert!(f.message_zh.contains("公司名称"), "{}", f.message_zh);
    assert!(f.message_en.contains("company name"), "{}", f.message_en);
    // Nothing of rep1's file: not its name, its phone or its owner's name.
    let text = format!("{} {} {}", f.message_zh, f.message_en, f.facts);
    for secret in ["廣州", "華東", "张伟", "139"] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    assert_eq!(f.facts["matched"], serde_json::json!(["name"]));

    // rep1's device: the earlier registrant is not told anything.
    assert!(notices(&view(&mut sales, &mut [&mut a])).is_empty());

    // The manager's device: the same notice, and the full duplicate finding.
    let mgr = view(&mut sales, &mut [&mut a, &mut b]);
    assert_eq!(notices(&mgr), vec![f]);
    let pair: Vec<&Finding> = mgr
        .iter()
        .filter(|f| f.rule == RuleId::CustDuplicate && f.doc_ids.len() == 2)
        .collect();
    assert_eq!(pair.len(), 1, "{mgr:#?}");
}

#[test]
fn forged_claims_do_not_count_and_managers_claims_do() {
    let (mut a, mut b) = files();
    // rep2 writes rep1's claim itself (to make its own file look later): ignored.
    let mut sales = sales_doc();
    claim(&mut sales, &mut a, &REP2);
    assert!(notices(&view(&mut sales, &mut [&mut b])).is_empty());

    // rep1's real claim, then rep2 moves its `since` later: the tampered claim is ignored.
    let mut sales = sales_doc();
    claim(&mut sales, &mut a, &REP);
    assert_eq!(notices(&view(&mut sales, &mut [&mut b])).len(), 1);
    let key = claim_id(WS, &id(1));
    edit_as(&mut sales, &REP2, |d| {
        d.put(&["claims", &key, "since"], &(NOW - DAY)).unwrap()
    });
    assert!(notices(&view(&mut sales, &mut [&mut b])).is_empty());

    // rep2 writes the date again, unchanged, in its own hand (removed first: Automerge
    // does not record a value put over itself): ignored all the same.
    let mut sales = sales_doc();
    claim(&mut sales, &mut a, &REP);
    edit_as(&mut sales, &REP2, |d| {
        d.delete(&["claims", &key, "since"]).unwrap();
        d.put(&["claims", &key, "since"], &(NOW - 10 * DAY))
            .unwrap()
    });
    assert!(notices(&view(&mut sales, &mut [&mut b])).is_empty());

    // rep2 writes the key the files share (the name) again, unchanged, in its own hand:
    // that key does not count, and the other keys do not match.
    let mut sales = sales_doc();
    claim(&mut sales, &mut a, &REP);
    let fieldcrm_model::Body::Sales(held) = sales.snapshot().unwrap().body else {
        panic!("not the Sales document")
    };
    let (hash, what) = held.claims[&key]
        .keys
        .iter()
        .find(|(_, k)| k.as_str() == "name")
        .map(|(h, k)| (h.clone(), k.clone()))
        .unwrap();
    edit_as(&mut sales, &REP2, |d| {
        d.delete(&["claims", &key, "keys", &hash]).unwrap();
        d.put(&["claims", &key, "keys", &hash], &what).unwrap()
    });
    assert!(notices(&view(&mut sales, &mut [&mut b])).is_empty());

    // rep1's real claim replaced whole by rep2, with the same content: rep2's hand on
    // the owner and the date, ignored.
    let mut sales = sales_doc();
    claim(&mut sales, &mut a, &REP);
    claim(&mut sales, &mut a, &REP2);
    assert!(notices(&view(&mut sales, &mut [&mut b])).is_empty());

    // A manager writing the claim for rep1 (a reassignment) counts.
    let mut sales = sales_doc();
    claim(&mut sales, &mut a, &MGR);
    assert_eq!(notices(&view(&mut sales, &mut [&mut b])).len(), 1);

    // A claim of the same owner is not a 撞单.
    let mut sales = sales_doc();
    let mut c = clean_customer("廣州華東機電");
    c.owner = Some("rep2".into());
    c.created_at = NOW - 30 * DAY;
    let mut own = customer_doc(id(3), &REP2, &c);
    claim(&mut sales, &mut own, &REP2);
    assert!(notices(&view(&mut sales, &mut [&mut b])).is_empty());
}

#[test]
fn switches_and_ties() {
    let (mut sales, _, mut b) = sales_with_claims();
    let snaps = |sales: &mut Document, b: &mut Document| -> Vec<Snapshot> {
        vec![
            roster_doc().snapshot().unwrap(),
            sales.snapshot().unwrap(),
            b.snapshot().unwrap(),
        ]
    };
    let off = Config::from_toml("[rules.CUST-DUPLICATE]\nclaim_notice = \"off\"\n").unwrap();
    assert!(notices(&check(&snaps(&mut sales, &mut b), &off, NOW)).is_empty());
    let no_names = Config::from_toml("[rules.CUST-DUPLICATE]\nclaim_by_name = \"off\"\n").unwrap();
    assert!(notices(&check(&snaps(&mut sales, &mut b), &no_names, NOW)).is_empty());
    let strict =
        Config::from_toml("[rules.CUST-DUPLICATE]\nclaim_notice = \"violation\"\n").unwrap();
    let n = check(&snaps(&mut sales, &mut b), &strict, NOW);
    assert_eq!(
        notices(&n)[0].severity,
        fieldcrm_policy::Severity::Violation
    );

    // Same registration time: the smaller document ID is earlier, on both sides.
    let (mut a, mut b) = files();
    for d in [&mut a, &mut b] {
        d.put(&["created_at"], &(NOW - 7 * DAY)).unwrap();
        d.commit(NOW - 7 * DAY, "same time");
    }
    let mut sales = sales_doc();
    claim(&mut sales, &mut a, &REP);
    claim(&mut sales, &mut b, &REP2);
    assert!(notices(&view(&mut sales, &mut [&mut a])).is_empty());
    assert_eq!(notices(&view(&mut sales, &mut [&mut b])).len(), 1);
}

#[test]
fn a_claim_arriving_later_updates_the_engine_like_a_full_check() {
    let (mut a, mut b) = files();
    let mut sales = sales_doc();
    claim(&mut sales, &mut b, &REP2);
    let base = vec![
        roster_doc().snapshot().unwrap(),
        catalog_doc().snapshot().unwrap(),
        sales.snapshot().unwrap(),
        b.snapshot().unwrap(),
    ];
    let mut engine: Engine = Engine::new(Config::default());
    engine.update(base.clone(), &[], NOW);
    assert!(notices(&engine.findings()).is_empty());
    // A lean engine, fed the same, must agree at every step.
    let mut lean = LeanRun::new();
    lean.update(base.clone(), &[], NOW);
    let mut same = |engine: &Engine, changed: Vec<Snapshot>, removed: &[DocId]| {
        lean.update(changed, removed, NOW);
        assert_eq!(lean.engine.findings(), engine.findings());
    };

    // rep1's claim arrives by sync: only the Sales document changes.
    claim(&mut sales, &mut a, &REP);
    let s = sales.snapshot().unwrap();
    let r = engine.update(vec![s.clone()], &[], NOW);
    assert!(!r.full, "a claim is not a context change");
    same(&engine, vec![s.clone()], &[]);
    let mut all = base.clone();
    all[2] = s;
    assert_eq!(engine.findings(), check(&all, &Config::default(), NOW));
    assert_eq!(notices(&engine.findings()).len(), 1);
    assert_eq!(engine.findings_for(&id(2)).len(), 1);

    // rep2's file changes its name: the notice goes; back again: it returns.
    let renamed = |b: &mut Document, name: &str| {
        b.put(&["name"], &name.to_string()).unwrap();
        b.commit(NOW - DAY, "rename");
        b.snapshot().unwrap()
    };
    let s2 = renamed(&mut b, "深圳新锐电子");
    engine.update(vec![s2.clone()], &[], NOW);
    same(&engine, vec![s2.clone()], &[]);
    all[3] = s2;
    assert_eq!(engine.findings(), check(&all, &Config::default(), NOW));
    assert!(notices(&engine.findings()).is_empty());
    let s3 = renamed(&mut b, "广州华东机电");
    engine.update(vec![s3.clone()], &[], NOW);
    same(&engine, vec![s3], &[]);
    assert_eq!(notices(&engine.findings()).len(), 1);
    // A context change counts the claims again: the lean engine, which kept the Sales
    // document without them, reads it again and keeps the notice.
    let cat = catalog_edited(|cat| {
        cat.products.remove("P1");
    });
    assert!(engine.update(vec![cat.clone()], &[], NOW).full);
    same(&engine, vec![cat], &[]);
    assert_eq!(notices(&engine.findings()).len(), 1);

    // rep1's claim is removed (its file archived): the notice goes.
    let key = claim_id(WS, &id(1));
    edit_as(&mut sales, &REP, |d| d.delete(&["claims", &key]).unwrap());
    engine.update(vec![sales.snapshot().unwrap()], &[], NOW);
    same(&engine, vec![sales.snapshot().unwrap()], &[]);
    assert!(notices(&engine.findings()).is_empty());
    // And the file itself removed from the engine: nothing left about it.
    engine.update(Vec::<Snapshot>::new(), &[DocId::clone(&id(2))], NOW);
    same(&engine, Vec::new(), &[id(2)]);
    assert!(engine.findings_for(&id(2)).is_empty());
}

/// The claims counted before and the claims now are compared in claim ID order: a claim
/// that went away is let go whether it sorted before the others or after them all.
#[test]
fn a_removed_claim_is_let_go_wherever_it_sorts() {
    let later = claim_id(WS, &id(2));
    for sorts_first in [true, false] {
        // rep1's file under an ID whose claim sorts before rep2's, then after it.
        let n = (3..200)
            .find(|n| (claim_id(WS, &id(*n)) < later) == sorts_first)
            .unwrap();
        let (_, mut b) = files();
        let mut c = clean_customer("廣州華東機電有限公司");
        c.created_at = NOW - 10 * DAY;
        let mut a = customer_doc(id(n), &REP, &c);
        let mut sales = sales_doc();
        claim(&mut sales, &mut a, &REP);
        claim(&mut sales, &mut b, &REP2);
        let mut all = vec![
            roster_doc().snapshot().unwrap(),
            catalog_doc().snapshot().unwrap(),
            sales.snapshot().unwrap(),
            a.snapshot().unwrap(),
            b.snapshot().unwrap(),
        ];
        let mut engine: Engine = Engine::new(Config::default());
        engine.update(all.clone(), &[], NOW);
        assert_eq!(notices(&engine.findings()).len(), 1, "rep2 is told");

        let key = claim_id(WS, &id(n));
        edit_as(&mut sales, &REP, |d| d.delete(&["claims", &key]).unwrap());
        all[2] = sales.snapshot().unwrap();
        engine.update(vec![all[2].clone()], &[], NOW);
        assert!(
            notices(&engine.findings()).is_empty(),
            "first: {sorts_first}"
        );
        assert_eq!(engine.findings(), check(&all, &Config::default(), NOW));
    }
}

/// Claim IDs and key hashes are 32 lowercase hex characters, and kinds one of three:
/// anything else was not written by fieldcrm and does not count (nor stop the rest).
#[test]
fn a_claim_or_key_fieldcrm_does_not_write_does_not_count() {
    let (a, mut b) = files();
    let fieldcrm_model::Body::Customer(c) = a.snapshot().unwrap().body else {
        panic!("not a customer")
    };
    let real = claim_for(WS, &c).unwrap();
    let id_a = claim_id(WS, a.id());
    for key in [id_a.to_uppercase(), "华东".to_string(), "0123".to_string()] {
        let mut sales = sales_doc();
        edit_as(&mut sales, &REP, |d| {
            d.put_new_object(&["claims", &key], &real).unwrap()
        });
        assert!(
            notices(&view(&mut sales, &mut [&mut b])).is_empty(),
            "{key:?}"
        );
    }
    let name = real
        .keys
        .iter()
        .find(|(_, k)| k.as_str() == "name")
        .map(|(h, _)| h.clone())
        .unwrap();
    let with_keys = |keys: &[(&str, &str)]| {
        let mut cl = real.clone();
        cl.keys = keys
            .iter()
            .map(|(h, k)| (h.to_string(), k.to_string()))
            .collect();
        let mut sales = sales_doc();
        edit_as(&mut sales, &REP, |d| {
            d.put_new_object(&["claims", &id_a], &cl).unwrap()
        });
        sales
    };
    let upper = name.to_uppercase();
    let mut sales = with_keys(&[(&upper, "name"), (&name, "email"), ("名称", "name")]);
    assert!(notices(&view(&mut sales, &mut [&mut b])).is_empty());
    let mut sales = with_keys(&[(&upper, "name"), (&name, "name"), ("名称", "name")]);
    let found = view(&mut sales, &mut [&mut b]);
    let n = notices(&found);
    assert_eq!(n.len(), 1, "{found:#?}");
    assert_eq!(n[0].facts["matched"], serde_json::json!(["name"]));
}

/// `snap` (the Sales document's) with the claims `pick` chooses (by their place in ID
/// order) held as records beside it, as the snapshot cache keeps them for the engine,
/// instead of in its maps.
fn as_records(snap: &Snapshot, pick: impl Fn(usize) -> bool) -> Snapshot {
    use fieldcrm_model::hex16;
    use fieldcrm_model::packed_claims::{PackedClaims, Writer};
    let mut out = snap.clone();
    let (fieldcrm_model::Body::Sales(s), Some(h)) = (&mut out.body, &mut out.claim_hands) else {
        panic!("not the Sales document")
    };
    let ids: Vec<String> = s
        .claims
        .keys()
        .enumerate()
        .filter(|(i, id)| pick(*i) && h.claims.contains_key(*id))
        .map(|(_, id)| id.clone())
        .collect();
    let moved: Vec<_> = ids
        .iter()
        .map(|id| {
            (
                id,
                s.claims.remove(id).unwrap(),
                h.claims.remove(id).unwrap(),
            )
        })
        .collect();
    let mut w = Writer::default();
    for (id, claim, hands) in &moved {
        assert_eq!(claim.keys.len(), hands.keys.len());
        let keys: Vec<_> = claim
            .keys
            .iter()
            .zip(&hands.keys)
            .map(|((hash, kind), by)| (hex16(hash).unwrap(), kind.as_str(), *by))
            .collect();
        let by = (hands.owner, hands.since);
        w.push(hex16(id).unwrap(), &claim.owner, claim.since, by, &keys)
            .unwrap();
    }
    let packed = PackedClaims::read(w.finish().unwrap()).unwrap();
    assert_eq!(packed.len(), moved.len());
    h.packed = Some(std::sync::Arc::new(packed));
    out
}

#[test]
fn claims_held_as_records_count_as_the_same_claims_in_the_maps() {
    let (mut a, mut b) = files();
    // More files of the same company: rep2's (later), rep1's (later still), and one of
    // rep1's whose claim rep2 forged.
    let mut more: Vec<Document> = [(3, "rep2", 2), (4, "rep1", 1), (5, "rep1", 3)]
        .into_iter()
        .map(|(n, owner, days)| {
            let mut c = clean_customer("廣州華東機電有限公司");
            c.owner = Some(owner.into());
            c.created_at = NOW - days * DAY;
            customer_doc(id(n), if owner == "rep1" { &REP } else { &REP2 }, &c)
        })
        .collect();
    let mut sales = sales_doc();
    claim(&mut sales, &mut a, &REP);
    claim(&mut sales, &mut b, &MGR);
    claim(&mut sales, &mut more[0], &REP2);
    claim(&mut sales, &mut more[1], &REP);
    claim(&mut sales, &mut more[2], &REP2);
    let mut snaps = vec![
        roster_doc().snapshot().unwrap(),
        catalog_doc().snapshot().unwrap(),
    ];
    snaps.push(a.snapshot().unwrap());
    snaps.push(b.snapshot().unwrap());
    snaps.extend(more.iter_mut().map(|d| d.snapshot().unwrap()));
    let held = sales.snapshot().unwrap();
    let with = |sales: Snapshot| {
        let mut all = snaps.clone();
        all.push(sales);
        check(&all, &Config::default(), NOW)
    };
    let want = with(held.clone());
    assert!(notices(&want).len() >= 2, "{want:#?}");
    // Some of them (every other, either way round, so that records and maps alternate
    // in ID order), and all of them.
    for pick in [
        |i: usize| i.is_multiple_of(2),
        |i: usize| !i.is_multiple_of(2),
        |_| true,
    ] {
        assert_eq!(with(as_records(&held, pick)), want);
    }
}
