//! Inspect and fix: history, the document at a point, diffs, conflicts and their
//! resolution, duplicate merges and carry-over.

use std::collections::BTreeSet;

use fieldcrm_model::{Customer, DocId, DocKind};
use fieldcrm_testkit::{Kit, MINUTE, Team};
use fieldcrm_workspace::{CustomerEdit, Pick, Point, Workspace};

fn customer(ws: &Workspace, id: &DocId) -> Customer {
    ws.load(id).unwrap().hydrate().unwrap()
}

fn industry(v: &str) -> CustomerEdit {
    CustomerEdit {
        industry: Some(v.into()),
        ..Default::default()
    }
}

/// The rep's customer 甲公司 on the rep, manager and admin devices (rep2 holds a copy).
fn with_customer() -> (Kit, Team, DocId) {
    let kit = Kit::new();
    let t = kit.team();
    let c = kit.customer(&t.rep, "甲公司");
    kit.sync(&t.rep, &t.admin);
    kit.sync(&t.manager, &t.admin);
    (kit, t, c)
}

/// The rep and the manager set the industry of 甲公司 concurrently; everyone syncs.
fn with_conflict() -> (Kit, Team, DocId) {
    let (kit, t, c) = with_customer();
    kit.advance(MINUTE);
    t.rep
        .edit_customer_fields(&c, industry("制造业"), kit.now())
        .unwrap();
    t.manager
        .edit_customer_fields(&c, industry("化工"), kit.now())
        .unwrap();
    kit.sync(&t.rep, &t.admin);
    kit.sync(&t.manager, &t.admin);
    kit.sync(&t.rep, &t.admin);
    kit.copy_all(&t.admin, &t.rep2);
    (kit, t, c)
}

#[test]
fn history_names_the_author_of_every_change() {
    let (kit, t, c) = with_customer();
    kit.advance(MINUTE);
    t.manager
        .edit_customer_fields(&c, industry("制造业"), kit.now())
        .unwrap();
    let h = t.manager.history(&c).unwrap();
    assert_eq!(h.len(), 2);
    assert_eq!(h[0].author.user.as_deref(), Some("小张"));
    assert_eq!(h[1].author.user.as_deref(), Some("李经理"));
    assert_eq!(h[1].time, kit.now());
    assert_eq!(h[1].deps, vec![h[0].hash.clone()]);
    let e = t.manager.history(&DocId::random()).unwrap_err();
    assert_eq!(e.code(), "not-found");
}

#[test]
fn the_document_at_a_point_and_diffs_between_points() {
    let (kit, t, c) = with_customer();
    let created = kit.now();
    kit.advance(MINUTE);
    t.rep
        .edit_customer_fields(&c, industry("制造业"), kit.now())
        .unwrap();
    let before = t.rep.doc_json_at(&c, &Point::Time(created)).unwrap();
    assert!(before.get("industry").is_none_or(|v| v.is_null()));
    let now = t.rep.doc_json_at(&c, &Point::Now).unwrap();
    assert_eq!(now["industry"], "制造业");
    assert!(
        t.rep
            .doc_json_at(&c, &Point::Time(created - MINUTE))
            .unwrap()
            .is_null()
    );
    let first = t.rep.history(&c).unwrap()[0].hash.clone();
    let at = t
        .rep
        .doc_json_at(&c, &Point::Heads(vec![first[..8].to_string()]))
        .unwrap();
    assert_eq!(at, before);

    let d = t.rep.diff(&c, &Point::Time(created), &Point::Now).unwrap();
    assert_eq!(
        d.iter().map(|f| f.path.as_str()).collect::<Vec<_>>(),
        ["industry"]
    );
    // A document that did not exist yet compares as empty.
    let all = t.rep.diff(&c, &Point::Time(0), &Point::Now).unwrap();
    assert!(all.iter().any(|f| f.path == "name"));

    for (bad, code) in [("xyz", "invalid-input"), ("ffffffffff", "not-found")] {
        let e = t
            .rep
            .doc_json_at(&c, &Point::Heads(vec![bad.into()]))
            .unwrap_err();
        assert_eq!(e.code(), code, "{bad}");
        let e = t
            .rep
            .diff(&c, &Point::Heads(vec![bad.into()]), &Point::Now)
            .unwrap_err();
        assert_eq!(e.code(), code, "{bad}");
    }
    let e = t
        .rep
        .doc_json_at(&DocId::random(), &Point::Now)
        .unwrap_err();
    assert_eq!(e.code(), "not-found");
    let e = t
        .rep
        .diff(&DocId::random(), &Point::Time(0), &Point::Now)
        .unwrap_err();
    assert_eq!(e.code(), "not-found");
}

#[test]
fn documents_are_resolved_by_unique_prefix_or_exact_name() {
    let (kit, t, c) = with_customer();
    assert_eq!(t.rep.resolve_any("甲公司").unwrap(), c);
    assert_eq!(t.rep.resolve_any(&c.as_str()[..8]).unwrap(), c);
    assert_eq!(
        t.rep.resolve(Some(&DocKind::Customer), "甲公司").unwrap(),
        c
    );
    assert_eq!(t.rep.resolve_any("乙公司").unwrap_err().code(), "not-found");
    kit.customer(&t.rep, "甲公司");
    assert_eq!(t.rep.resolve_any("甲公司").unwrap_err().code(), "ambiguous");
    let e = t
        .rep
        .resolve(Some(&DocKind::Channel), "甲公司")
        .unwrap_err();
    assert_eq!(e.code(), "not-found");
}

#[test]
fn concurrent_values_are_listed_with_their_authors() {
    let (_kit, t, c) = with_conflict();
    let all = t.admin.conflicts().unwrap();
    let mine: Vec<_> = all.iter().filter(|k| k.doc == c).collect();
    assert_eq!(mine.len(), 1, "{all:?}");
    assert_eq!(mine[0].path, "industry");
    let authors: BTreeSet<_> = mine[0]
        .values
        .iter()
        .map(|v| v.author.user.clone().unwrap())
        .collect();
    assert_eq!(
        authors,
        BTreeSet::from(["小张".to_string(), "李经理".to_string()])
    );
    assert_eq!(t.admin.doc_conflicts(&c).unwrap(), all);
    assert_eq!(
        t.admin.doc_conflicts(&DocId::random()).unwrap_err().code(),
        "not-found"
    );
}

#[test]
fn resolving_a_conflict_refuses_bad_picks_and_other_scopes() {
    let (kit, t, c) = with_conflict();
    let pick = Pick::Value("化工".into());
    kit.refused(&t.rep2, "permission-denied", |ws| {
        ws.resolve_conflict(&c, "industry", &pick, kit.now())
    });
    kit.refused(&t.rep, "not-found", |ws| {
        ws.resolve_conflict(&c, "industry", &Pick::Value("零售".into()), kit.now())
    });
    kit.refused(&t.rep, "not-found", |ws| {
        ws.resolve_conflict(&c, "industry", &Pick::Author("小李".into()), kit.now())
    });
    kit.refused(&t.rep, "not-found", |ws| {
        ws.resolve_conflict(&c, "industry", &Pick::Author("无名氏".into()), kit.now())
    });
    kit.refused(&t.rep, "not-found", |ws| {
        ws.resolve_conflict(&c, "no/such/field", &pick, kit.now())
    });
    kit.refused(&t.rep, "invalid-input", |ws| {
        ws.resolve_conflict(&c, "name", &pick, kit.now())
    });
    kit.refused(&t.rep, "not-found", |ws| {
        ws.resolve_conflict(&DocId::random(), "industry", &pick, kit.now())
    });

    let v = t
        .rep
        .resolve_conflict(&c, "/industry/", &Pick::Author("李经理".into()), kit.now())
        .unwrap();
    assert_eq!(v.value, "化工");
    assert!(t.rep.doc_conflicts(&c).unwrap().is_empty());
    assert_eq!(customer(&t.rep, &c).industry.as_deref(), Some("化工"));
    kit.sync(&t.rep, &t.admin);
    assert!(t.admin.doc_conflicts(&c).unwrap().is_empty());
}

/// Two files of the same company, the second one a duplicate, on the manager's device.
fn with_duplicates() -> (Kit, Team, DocId, DocId) {
    let (kit, t, keep) = with_customer();
    let dup = kit.customer(&t.rep, "甲公司（重复）");
    t.rep
        .edit_customer_fields(&dup, industry("制造业"), kit.now())
        .unwrap();
    kit.complaint(&t.rep, &dup);
    kit.sync(&t.rep, &t.admin);
    kit.sync(&t.manager, &t.admin);
    kit.copy_all(&t.admin, &t.legal);
    kit.copy_all(&t.admin, &t.channel_manager);
    (kit, t, keep, dup)
}

#[test]
fn merges_are_planned_by_anyone_and_done_by_managers_and_admins() {
    let (kit, t, keep, dup) = with_duplicates();
    let kind = DocKind::Customer;
    let plan = t.rep.merge_plan(&kind, &keep, &dup).unwrap();
    assert_eq!(plan.filled, ["industry"]);
    assert_eq!(plan.entities.len(), 1);
    assert!(plan.differing.iter().any(|d| d.field == "name"));
    assert_eq!(
        t.rep.merge_plan(&kind, &keep, &keep).unwrap_err().code(),
        "invalid-input"
    );
    assert_eq!(
        t.rep
            .merge_plan(&kind, &keep, &DocId::random())
            .unwrap_err()
            .code(),
        "not-found"
    );
    assert_eq!(
        t.rep
            .merge_plan(&DocKind::Channel, &keep, &dup)
            .unwrap_err()
            .code(),
        "invalid-input"
    );

    let none = BTreeSet::new();
    for dev in [&t.rep, &t.legal, &t.channel_manager] {
        kit.refused(dev, "permission-denied", |ws| {
            ws.merge_docs(&kind, &keep, &dup, &none, kit.now())
        });
    }
    kit.refused(&t.manager, "invalid-input", |ws| {
        let take = BTreeSet::from(["colour".to_string()]);
        ws.merge_docs(&kind, &keep, &dup, &take, kit.now())
    });
    kit.refused(&t.manager, "not-found", |ws| {
        ws.merge_docs(&kind, &keep, &DocId::random(), &none, kit.now())
    });
    kit.refused(&t.manager, "invalid-input", |ws| {
        ws.merge_docs(&DocKind::Roster, &keep, &dup, &none, kit.now())
    });
    let plan = t
        .manager
        .merge_docs(&kind, &keep, &dup, &none, kit.now())
        .unwrap();
    let kept = customer(&t.manager, &keep);
    assert_eq!(kept.name, "甲公司");
    assert_eq!(kept.industry.as_deref(), Some("制造业"));
    assert_eq!(kept.complaints.len(), plan.entities.len());
    assert_eq!(
        customer(&t.manager, &dup).merged_into.as_deref(),
        Some(keep.as_str())
    );

    // A merged-away file takes no more edits, and is not merged twice.
    kit.refused(&t.manager, "invalid-input", |ws| {
        ws.edit_customer_fields(&dup, industry("化工"), kit.now())
    });
    kit.refused(&t.manager, "invalid-input", |ws| {
        ws.merge_docs(&kind, &keep, &dup, &none, kit.now())
    });
    kit.copy_all(&t.manager, &t.admin);
    // Admins hold the merge authority too.
    let third = kit.customer(&t.admin, "甲公司（第三份）");
    t.admin
        .merge_docs(&kind, &keep, &third, &none, kit.now())
        .unwrap();
}

#[test]
fn edits_to_a_merged_away_file_are_carried_over() {
    let (kit, t, keep, dup) = with_duplicates();
    t.manager
        .merge_docs(&DocKind::Customer, &keep, &dup, &BTreeSet::new(), kit.now())
        .unwrap();
    // The rep has not seen the merge and keeps working on the duplicate.
    kit.advance(MINUTE);
    t.rep
        .edit_customer_fields(&dup, industry("化工"), kit.now())
        .unwrap();
    assert!(t.manager.merge_forward(kit.now()).unwrap().is_empty());
    kit.sync(&t.rep, &t.admin);
    kit.sync(&t.manager, &t.admin);
    let report = t.manager.merge_forward(kit.now()).unwrap();
    assert_eq!(report.len(), 1, "{report:?}");
    assert_eq!(report[0].carried, ["industry"]);
    assert_eq!(
        customer(&t.manager, &keep).industry.as_deref(),
        Some("化工")
    );
    // Idempotent: nothing left to carry.
    let before = kit.fingerprint(&t.manager);
    assert!(t.manager.merge_forward(kit.now()).unwrap().is_empty());
    assert_eq!(kit.fingerprint(&t.manager), before);

    let stranger = kit.joined(&t.admin);
    assert_eq!(
        stranger.merge_forward(kit.now()).unwrap_err().code(),
        "no-roster-yet"
    );
}
