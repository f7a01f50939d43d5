//! The memo's live state (snapshots read only where they changed, the incremental engine)
//! gives exactly what a full check from scratch gives, after every kind of change.
use std::collections::BTreeSet;
use std::sync::Arc;

use super::*;
use fieldcrm_model::{CustomerClass, InteractionKind, Role};

const DAY: Millis = 86_400_000;

fn admin_opts() -> InitOptions {
    InitOptions {
        user: "管理员".into(),
        role: Role::Admin,
        team: Some("华东一组".into()),
        region: None,
        company: "示例".into(),
        device_label: "test".into(),
    }
}

/// The findings of a check from scratch: every snapshot read, the whole engine run.
fn from_scratch(home: &Path, now: Millis) -> Vec<fieldcrm_policy::Finding> {
    let ws = Workspace::open(home).unwrap();
    let snaps = snapshots_of(ws.store()).unwrap();
    fieldcrm_policy::check_device(
        &snaps,
        &fieldcrm_policy::Config::default(),
        now,
        &ws.device(),
    )
}

/// Where a check's findings come from.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// The pages' snapshots, kept in the memo (the app).
    Pages,
    /// Only the lean engine, kept in the memo (the relay), which reads snapshots back
    /// from the cache when it needs them.
    Lean,
    /// A new process each time (a `check` command): the lean engine's state restored
    /// from the store, brought up to date, and saved again.
    Processes,
}

#[test]
fn the_live_engine_matches_a_full_check_after_every_change() {
    matches_a_full_check_after_every_change(Mode::Pages);
}

#[test]
fn the_lean_engine_matches_a_full_check_after_every_change() {
    matches_a_full_check_after_every_change(Mode::Lean);
}

#[test]
fn the_saved_lean_engine_matches_a_full_check_after_every_change() {
    matches_a_full_check_after_every_change(Mode::Processes);
}

fn matches_a_full_check_after_every_change(mode: Mode) {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let memo = Arc::new(Memo::new());
    let start = 1_795_914_000_000;
    Workspace::init(home, &admin_opts(), start).unwrap();
    // One handle per request, as the app opens them, all sharing the memo; or one
    // memo per handle, as each command of its own process has.
    let app = || {
        let ws = Workspace::open(home).unwrap();
        match mode {
            Mode::Processes => ws.with_memo(Arc::new(Memo::new())),
            _ => ws.with_memo(memo.clone()),
        }
    };
    let mut evaluated = 0;
    let mut check = |now: Millis, what: &str| {
        if mode == Mode::Pages {
            let _ = app().snapshots().unwrap();
        }
        let live = app().all_findings(now).unwrap();
        if mode == Mode::Processes {
            // The state the command left is there for the next one, and is of this
            // store as it is now: restored, nothing is evaluated again.
            let ws = app();
            let device = ws.device();
            let at = crate::memo::stamp(ws.store());
            let l = crate::lean::Lean::restore(ws.store(), at, Some(&device), now, true)
                .unwrap_or_else(|| panic!("a saved state after {what}"));
            assert_eq!(*l.findings(), *live, "restored after {what}");
            assert!(l.is_saved(), "nothing evaluated after {what}");
        }
        // Their life too: the same as tracked on every snapshot.
        let tracked = app().all_tracked(now).unwrap();
        let snaps = snapshots_of(app().store()).unwrap();
        let expected =
            fieldcrm_policy::track(&live, &snaps, &fieldcrm_policy::Config::default(), now);
        assert_eq!(*tracked, expected, "tracked after {what}");
        let full = from_scratch(home, now);
        assert_eq!(*live, full, "after {what}");
        evaluated += 1;
        live.len()
    };
    let mut now = start + DAY;
    assert_eq!(check(now, "nothing"), from_scratch(home, now).len());

    let mut ids = Vec::new();
    for (i, (name, class)) in [
        ("华东机电有限公司", CustomerClass::Key),
        ("華東機電有限公司", CustomerClass::Key),
        ("苏州精密仪器", CustomerClass::General),
        ("杭州智能传感", CustomerClass::Potential),
        ("南京恒通贸易", CustomerClass::Key),
    ]
    .into_iter()
    .enumerate()
    {
        let id = app()
            .add_customer(
                NewCustomer {
                    name: name.into(),
                    credit_code: (i < 2).then(|| "91310000MA1FL0XX1X".to_string()),
                    class: Some(class),
                    ..Default::default()
                },
                now,
            )
            .unwrap();
        ids.push(id);
        check(now, "a new customer");
    }
    // A visit, then a class change.
    now += DAY;
    app()
        .log_interaction(&ids[0], InteractionKind::Visit, now, "拜访", None, now)
        .unwrap();
    check(now, "a visit");
    app()
        .edit_customer_fields(
            &ids[2],
            CustomerEdit {
                class: Some(CustomerClass::Key),
                ..Default::default()
            },
            now,
        )
        .unwrap();
    check(now, "a class change");
    // A finding acknowledged: its state is kept in the customer file and judged.
    let open = app().all_tracked(now).unwrap();
    let t = open
        .iter()
        .find(|t| ids.contains(&t.holder))
        .expect("a finding about a customer file");
    app().acknowledge_finding(&t.key, "已知晓", now).unwrap();
    check(now, "an acknowledgement");
    assert!(
        app()
            .all_tracked(now)
            .unwrap()
            .iter()
            .any(|x| x.key == t.key && x.status == fieldcrm_policy::Status::Acknowledged),
        "the acknowledgement counts"
    );
    // The clock alone: cadence and visit rules wake.
    now += 40 * DAY;
    let later = check(now, "40 days");
    assert!(later > 0, "overdue customers make findings");
    // A duplicate merge (authorship carried from the tombstone).
    app()
        .merge_docs(&DocKind::Customer, &ids[0], &ids[1], &BTreeSet::new(), now)
        .unwrap();
    check(now, "a merge");
    // A roster change (the context of every rule).
    app()
        .add_user("小张", Role::Rep, Some("华东一组".into()), None, now)
        .unwrap();
    check(now, "a new user");
    // Archived, and a write by another process (a handle without the memo).
    app()
        .archive_record(&ids[3], Some("误建".into()), now)
        .unwrap();
    check(now, "an archive");
    Workspace::open(home)
        .unwrap()
        .log_interaction(&ids[4], InteractionKind::Call, now, "电话", None, now)
        .unwrap();
    check(now, "another process's write");
    // The clock going back re-evaluates everything.
    check(now - 20 * DAY, "the clock going back");
    assert_eq!(evaluated, 15);
}

#[test]
fn the_generation_moves_with_every_document_write_and_only_then() {
    let dir = tempfile::tempdir().unwrap();
    let ws = Workspace::init(dir.path(), &admin_opts(), 1_000).unwrap();
    let g0 = ws.store().generation().unwrap();
    let id = ws
        .add_customer(
            NewCustomer {
                name: "甲公司".into(),
                ..Default::default()
            },
            2_000,
        )
        .unwrap();
    let g1 = ws.store().generation().unwrap();
    assert_ne!(g0, g1, "a save moves it");
    // Reads, caches and settings do not.
    let _ = ws.snapshots().unwrap();
    let _ = ws.all_findings(3_000).unwrap();
    ws.store().set_meta("test.key", b"x").unwrap();
    ws.store().set_blob("test.blob", b"y").unwrap();
    assert_eq!(ws.store().generation().unwrap(), g1);
    ws.archive_record(&id, None, 4_000).unwrap();
    assert_ne!(ws.store().generation().unwrap(), g1, "an archive moves it");
}

/// A state file that is not the one the store names (the state of a copy of the
/// workspace that went its own way since) or that cannot be read (cut short) is not
/// used: the check reads every document, finds what a check from scratch finds, and
/// leaves a state it can use.
#[test]
fn a_state_file_of_another_store_or_damaged_is_not_used() {
    let now = 1_795_914_000_000;
    let add = |home: &Path, name: &str| {
        let new = NewCustomer {
            name: name.into(),
            credit_code: Some("91310000MA1FL0XX1X".into()),
            ..Default::default()
        };
        Workspace::open(home)
            .unwrap()
            .add_customer(new, now)
            .unwrap();
    };
    let state = |home: &Path| home.join("workspace.redb.engine-state");
    // Each a handle of its own, let go after (a store is written to its file when the
    // last handle on it is).
    let restored = |home: &Path| {
        let ws = Workspace::open(home).unwrap();
        let at = crate::memo::stamp(ws.store());
        crate::lean::Lean::restore(ws.store(), at, Some(&ws.device()), now, true).is_some()
    };
    let check = |home: &Path| {
        let ws = Workspace::open(home)
            .unwrap()
            .with_memo(Arc::new(Memo::new()));
        ws.all_findings(now).unwrap()
    };
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (a, b) = (a.path(), b.path());
    drop(Workspace::init(a, &admin_opts(), now).unwrap());
    add(a, "华东机电有限公司");
    let _ = check(a);
    assert!(state(a).exists());
    assert!(restored(a));
    // A copy of the workspace (the same device), which goes its own way: a duplicate.
    for f in std::fs::read_dir(a).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, b.join(f.file_name().unwrap())).unwrap();
    }
    assert!(restored(b), "a copy carries its state");
    add(b, "華東機電有限公司");
    let pair = |found: &[fieldcrm_policy::Finding]| found.iter().any(|f| f.doc_ids.len() == 2);
    assert!(pair(&check(b)));
    // The copy's state file over the first one's: that store names another.
    std::fs::copy(state(b), state(a)).unwrap();
    assert!(!restored(a));
    let found = check(a);
    assert_eq!(*found, from_scratch(a, now));
    assert!(
        !pair(&found),
        "the copy's duplicate is not this workspace's"
    );
    assert!(restored(a), "the check left a state of its own");
    // Cut short, then emptied.
    let bytes = std::fs::read(state(a)).unwrap();
    for len in [bytes.len() / 2, 0] {
        std::fs::write(state(a), &bytes[..len]).unwrap();
        assert!(!restored(a));
        assert_eq!(*check(a), from_scratch(a, now));
        assert!(restored(a));
    }
}
