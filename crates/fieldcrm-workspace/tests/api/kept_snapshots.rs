//! Snapshots kept when documents arrive: the policy snapshot cache rows written by a
//! first sync from the documents the session loaded to judge them, so the first
//! `check` after it does not load every document again.

use std::collections::HashSet;

use fieldcrm_model::{DocId, DocKind};
use fieldcrm_store::Filter;
use fieldcrm_testkit::Kit;
use fieldcrm_workspace::Workspace;

/// 300 customer rows: traditional characters, full-width digits, emoji.
fn csv() -> String {
    let mut csv = String::from("名称,负责人,联系人,电话\n");
    for i in 0..300 {
        csv.push_str(&format!(
            "華東機電{i}號有限公司 🚜,小张,陈先生{i},１３８-0000-{i:04}\n"
        ));
    }
    csv
}

/// Every customer file of `ws` has a snapshot row at its current heads and the Sales
/// document none, and every kept snapshot is the stored document's own.
fn kept_and_equal(ws: &Workspace) {
    let store = ws.store();
    let heads = store.all_heads().unwrap();
    let rows = store.derived(&heads).unwrap();
    let customers: HashSet<DocId> = ws
        .list(&Filter::default().kind(DocKind::Customer))
        .unwrap()
        .into_iter()
        .map(|l| l.id)
        .collect();
    assert_eq!(customers.len(), 300);
    let sales = DocId::workspace(&DocKind::Sales);
    let mut kept = 0;
    for ((id, _), row) in heads.iter().zip(&rows) {
        if customers.contains(id) {
            assert!(row.is_some(), "no snapshot kept for {id}");
            kept += 1;
        }
        if *id == sales {
            assert!(row.is_none(), "the Sales snapshot was kept");
        }
    }
    assert_eq!(kept, 300);
    // What is read back from the cache is what the stored documents give.
    for snap in fieldcrm_workspace::snapshots_of(store).unwrap() {
        let doc = ws.load(&snap.id).unwrap();
        assert_eq!(snap, doc.snapshot().unwrap(), "{}", snap.id);
    }
}

/// The Sales document is left out: its snapshot grows with every claim, and `check`
/// builds it.
#[test]
fn a_first_sync_keeps_the_snapshots_of_the_files_it_received() {
    let kit = Kit::new();
    let t = kit.team();
    t.rep.import_customers_csv(&csv(), kit.now()).unwrap();
    let tablet = kit.rep_tablet(&t);
    kit.sync(&tablet, &t.rep);
    tablet.after_sync(&[], kit.now()).unwrap();
    kept_and_equal(&tablet);
}
