//! A check that keeps no snapshot it need not read again (a `check` command, the relay)
//! gives what a check on every snapshot gives, including authorship carried across a
//! duplicate merge from a tombstone it may read after the survivor.

use std::collections::BTreeSet;

use fieldcrm_model::{DocKind, ReviewResult};
use fieldcrm_policy::{Config, Engine, check_device, track};
use fieldcrm_workspace::{CheckQuery, Workspace, snapshots_of};

use super::signoffs::sales;

#[test]
fn a_lean_check_carries_a_legal_review_across_a_merge() {
    let (kit, t, keep) = sales();
    // The duplicate file holds a contract that legal reviewed; the rep signs it.
    let dup = kit.customer(&t.rep, "甲公司（重复）");
    kit.sync(&t.legal, &t.admin);
    let k = kit.contract(&t.rep, &dup);
    kit.sync(&t.rep, &t.admin);
    kit.sync(&t.legal, &t.admin);
    t.legal
        .review_contract(&dup, &k, ReviewResult::Passed, None, kit.now())
        .unwrap();
    kit.sync(&t.legal, &t.admin);
    kit.sync(&t.rep, &t.admin);
    t.rep.sign_contract(&dup, &k, kit.now(), kit.now()).unwrap();
    kit.sync(&t.rep, &t.admin);
    kit.sync(&t.manager, &t.admin);
    // The manager merges: the contract and its review are copied by the manager's device.
    t.manager
        .merge_docs(&DocKind::Customer, &keep, &dup, &BTreeSet::new(), kit.now())
        .unwrap();
    let now = kit.now();
    let home = t.manager.home().to_path_buf();

    let snaps = snapshots_of(t.manager.store()).unwrap();
    let full = check_device(&snaps, &Config::default(), now, &t.manager.device());
    let expected = track(&full, &snaps, &Config::default(), now);
    // Without the carry, the copied review would be the manager's: the scenario tests it.
    let mut uncarried: Engine<&fieldcrm_model::Snapshot> =
        Engine::new(Config::default()).with_holder(&t.manager.device());
    uncarried.update(snaps.iter(), &[], now);
    assert_ne!(uncarried.findings(), full, "the merge needs the carry");

    // A handle that never shows a page: the lean engine.
    let lean = Workspace::open(&home).unwrap();
    assert_eq!(
        lean.check_tracked(&CheckQuery::default(), now).unwrap(),
        expected
    );
    // And one that holds every snapshot for its pages.
    let pages = Workspace::open(&home).unwrap();
    let _ = pages.snapshots().unwrap();
    assert_eq!(
        pages.check_tracked(&CheckQuery::default(), now).unwrap(),
        expected
    );

    // The same after the clock moves on and a write lands (refreshed, not read again).
    kit.advance(fieldcrm_testkit::DAY);
    t.manager
        .log_interaction(
            &keep,
            fieldcrm_model::InteractionKind::Call,
            kit.now(),
            "电话回访",
            None,
            kit.now(),
        )
        .unwrap();
    let now = kit.now();
    let snaps = snapshots_of(t.manager.store()).unwrap();
    let full = check_device(&snaps, &Config::default(), now, &t.manager.device());
    let expected = track(&full, &snaps, &Config::default(), now);
    assert_eq!(
        lean.check_tracked(&CheckQuery::default(), now).unwrap(),
        expected
    );
    assert_eq!(
        pages.check_tracked(&CheckQuery::default(), now).unwrap(),
        expected
    );
}
