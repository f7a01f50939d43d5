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
    kept_and_equal_all(ws);
}

/// The Sales document is left out: its snapshot grows with every claim, and `check`
/// builds it (the claims backfill keeps it up to date from then on).
#[test]
fn a_first_sync_keeps_the_snapshots_of_the_files_it_received() {
    let (_kit, _t, tablet) = first_synced_tablet();
    kept_and_equal(&tablet);
}

/// The rep's 300 customers ([`csv`]), brought to the rep's new tablet by its first sync
/// (and the steps after it).
fn first_synced_tablet() -> (Kit, fieldcrm_testkit::Team, Workspace) {
    let kit = Kit::new();
    let t = kit.team();
    t.rep.import_customers_csv(&csv(), kit.now()).unwrap();
    let tablet = kit.rep_tablet(&t);
    kit.sync(&tablet, &t.rep);
    tablet.after_sync(&[], kit.now()).unwrap();
    (kit, t, tablet)
}

/// The Sales document's snapshot at the heads the store holds, if it is cached.
fn sales_row(ws: &Workspace) -> Option<Vec<u8>> {
    let sales = DocId::workspace(&DocKind::Sales);
    let store = ws.store();
    let heads = store.all_heads().unwrap();
    let at: Vec<_> = heads.into_iter().filter(|(id, _)| *id == sales).collect();
    store.derived(&at).unwrap().pop().flatten()
}

/// A device that keeps the Sales snapshot (it checked) has it brought up to date by the
/// claims backfill after each sync that changes the document, where the backfill has the
/// document loaded; what it keeps is the document's own snapshot.
#[test]
fn a_kept_sales_snapshot_is_brought_up_to_date_after_a_sync() {
    let (kit, t, tablet) = first_synced_tablet();
    assert!(sales_row(&tablet).is_none());
    tablet
        .check(&fieldcrm_workspace::CheckQuery::default(), kit.now())
        .unwrap();
    assert!(sales_row(&tablet).is_some());
    // The rep adds a file and claims it; the tablet receives the file and the claim.
    let more = "名称,负责人,联系人,电话\n新竹精密１號 💡,小张,林小姐,0912-345-678\n";
    t.rep.import_customers_csv(more, kit.now()).unwrap();
    t.rep.before_sync(kit.now()).unwrap();
    kit.sync(&tablet, &t.rep);
    assert!(
        sales_row(&tablet).is_none(),
        "the sync changed the Sales document"
    );
    tablet.after_sync(&[], kit.now()).unwrap();
    assert!(sales_row(&tablet).is_some());
    kept_and_equal_all(&tablet);
}

/// Every kept snapshot is the stored document's own.
fn kept_and_equal_all(ws: &Workspace) {
    for snap in fieldcrm_workspace::snapshots_of(ws.store()).unwrap() {
        let doc = ws.load(&snap.id).unwrap();
        assert_eq!(snap, doc.snapshot().unwrap(), "{}", snap.id);
    }
}
