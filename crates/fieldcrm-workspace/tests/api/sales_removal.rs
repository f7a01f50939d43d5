//! Removing a sales target or report made by mistake from the Sales document, and
//! putting it back: who may, what progress, lists and other devices then see.

use fieldcrm_model::{Lang, Sales};
use fieldcrm_testkit::{DAY, Kit};
use fieldcrm_workspace::{REPORT_GRACE, Workspace};

/// The whole Sales document, removed records included.
fn whole(ws: &Workspace) -> Sales {
    ws.load(&Kit::singleton(fieldcrm_model::DocKind::Sales))
        .unwrap()
        .hydrate()
        .unwrap()
}

fn progress_rows(ws: &Workspace, kit: &Kit) -> usize {
    ws.reports(kit.now()).unwrap().progress.len()
}

#[test]
fn a_manager_removes_a_target_and_restores_it() {
    let kit = Kit::new();
    let t = kit.team();
    let rep = t.rep.name.clone();
    let tid = t
        .manager
        .set_target(Some(&rep), None, "2026", 1_000_000_00, kit.now())
        .unwrap();
    assert_eq!(progress_rows(&t.manager, &kit), 1);
    kit.sync(&t.manager, &t.admin);
    kit.sync(&t.rep, &t.admin);

    // Refused, writing nothing: a rep, legal, an unknown kind, an unknown target.
    for dev in [&t.rep, &t.legal] {
        kit.refused(dev, "permission-denied", |ws| {
            ws.remove_sales_record("target", &tid, None, kit.now())
        });
    }
    let e = kit.refused(&t.manager, "invalid-input", |ws| {
        ws.remove_sales_record("发票", &tid, None, kit.now())
    });
    assert_eq!(e.field(), Some("kind"));
    assert_ne!(e.message(Lang::Zh), e.message(Lang::En));
    kit.refused(&t.manager, "not-found", |ws| {
        ws.remove_sales_record("target", "ffffffff", None, kit.now())
    });

    let got = t
        .manager
        .remove_sales_record("销售目标", &tid[..8], Some("录错金额".into()), kit.now())
        .unwrap();
    assert_eq!(got, tid);
    assert!(t.manager.sales().unwrap().targets.is_empty());
    assert_eq!(progress_rows(&t.manager, &kit), 0);
    let w = whole(&t.manager);
    assert_eq!(w.targets.len(), 1, "kept in the document");
    let note = &w.removed[&format!("targets/{tid}")];
    assert_eq!(
        (note.text.as_str(), &note.by),
        ("录错金额", &t.manager.user_id)
    );
    // Removed once: not found again; a rep may not restore it.
    kit.refused(&t.manager, "not-found", |ws| {
        ws.remove_sales_record("target", &tid, None, kit.now())
    });
    kit.sync(&t.manager, &t.admin);
    kit.sync(&t.rep, &t.admin);
    assert_eq!(progress_rows(&t.rep, &kit), 0);
    kit.refused(&t.rep, "permission-denied", |ws| {
        ws.restore_sales_record("target", &tid, kit.now())
    });
    assert_eq!(
        t.admin
            .restore_sales_record("target", &tid, kit.now())
            .unwrap(),
        tid
    );
    assert_eq!(progress_rows(&t.admin, &kit), 1);
    kit.refused(&t.admin, "not-found", |ws| {
        ws.restore_sales_record("target", &tid, kit.now())
    });
}

#[test]
fn a_rep_removes_an_own_recent_report_and_a_manager_any() {
    let kit = Kit::new();
    let t = kit.team();
    let mine = t
        .rep
        .submit_report("2026-W47", 1_000_00, "本周拜访三家", kit.now())
        .unwrap();
    let old = t
        .rep
        .submit_report("2026-W46", 2_000_00, "上周", kit.now() - REPORT_GRACE - DAY)
        .unwrap();
    let other = t
        .rep2
        .submit_report("2026-W47", 3_000_00, "小李的周报", kit.now())
        .unwrap();
    kit.sync(&t.rep, &t.admin);
    kit.sync(&t.rep2, &t.admin);
    kit.sync(&t.rep, &t.admin);

    // Someone else's report, or one's own past the grace period: refused.
    kit.refused(&t.rep, "permission-denied", |ws| {
        ws.remove_sales_record("report", &other, None, kit.now())
    });
    kit.refused(&t.rep, "permission-denied", |ws| {
        ws.remove_sales_record("report", &old, None, kit.now())
    });
    t.rep
        .remove_sales_record("报告", &mine, Some("重复提交".into()), kit.now())
        .unwrap();
    assert!(!t.rep.sales().unwrap().reports.contains_key(&mine));
    assert_eq!(t.rep.sales().unwrap().reports.len(), 2);
    // Restoring takes a manager.
    kit.refused(&t.rep, "permission-denied", |ws| {
        ws.restore_sales_record("report", &mine, kit.now())
    });
    kit.sync(&t.rep, &t.admin);
    kit.sync(&t.manager, &t.admin);
    t.manager
        .remove_sales_record("report", &old, None, kit.now())
        .unwrap();
    t.manager
        .restore_sales_record("report", &mine, kit.now())
        .unwrap();
    let reports = t.manager.sales().unwrap().reports;
    assert!(reports.contains_key(&mine) && !reports.contains_key(&old));
}
