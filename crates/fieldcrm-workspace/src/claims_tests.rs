//! The claims backfill's unit tests (its parts, the Sales snapshot it keeps, and the
//! claims read from that snapshot against the claims read from the fields).

use super::*;
use crate::NewCustomer;

/// An admin's workspace (in `dir`) with `n` customer files of the given names, added
/// one a millisecond from 2,000 on, and their IDs.
fn with_files(
    dir: &tempfile::TempDir,
    n: i64,
    name: impl Fn(i64) -> String,
) -> (Workspace, Vec<DocId>) {
    let ws = Workspace::init(dir.path(), &crate::tests::admin_opts(), 1_000).unwrap();
    let ids = (0..n)
        .map(|i| {
            let new = NewCustomer {
                name: name(i + 1),
                ..Default::default()
            };
            ws.add_customer(new, 2_000 + i).unwrap()
        })
        .collect();
    (ws, ids)
}

/// An admin's workspace (in `dir`) with `n` files (see [`with_files`]) whose claims the
/// backfill wrote at 3,000.
fn claimed(
    dir: &tempfile::TempDir,
    n: i64,
    name: impl Fn(i64) -> String,
) -> (Workspace, Vec<DocId>) {
    let (ws, ids) = with_files(dir, n, name);
    let sales_id = DocId::workspace(&DocKind::Sales);
    let written = ws.write_my_claims(&sales_id, 3_000, 8, None).unwrap();
    assert_eq!(written, n as usize);
    (ws, ids)
}

/// [`claimed`], with its workspace ID, and its Sales document loaded to be written by a
/// device the roster does not know.
fn claimed_in_another_hand(
    dir: &tempfile::TempDir,
    n: i64,
    name: impl Fn(i64) -> String,
) -> (Workspace, Vec<DocId>, String, Document) {
    let (ws, ids) = claimed(dir, n, name);
    let sales_id = DocId::workspace(&DocKind::Sales);
    let wsid = ws.whoami().workspace_id;
    let mut sales = ws.load(&sales_id).unwrap();
    sales
        .automerge_mut()
        .set_actor(automerge::ActorId::from([7u8; 32].as_slice()));
    (ws, ids, wsid, sales)
}

/// The backfill's parts: every file's claim written and its row kept, whichever part
/// it is in; nothing written again when nothing changed; one changed file, one claim.
#[test]
fn every_part_of_my_files_is_claimed_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let (ws, ids) = with_files(&dir, 11, |i| format!("第{i}家 公司 🏭"));
    let sales_id = DocId::workspace(&DocKind::Sales);
    assert_eq!(ws.write_my_claims(&sales_id, 3_000, 3, None).unwrap(), 11);
    let wsid = ws.whoami().workspace_id;
    let sales: Sales = ws.load(&sales_id).unwrap().hydrate().unwrap();
    let rows = ws.cached_claims(ids.iter().map(DocId::as_str)).unwrap();
    for (id, row) in ids.iter().zip(rows) {
        let c: Customer = ws.load(id).unwrap().hydrate().unwrap();
        let claim = claim_for(&wsid, &c).unwrap();
        assert_eq!(sales.claims.get(&claim_id(&wsid, id)), Some(&claim), "{id}");
        assert_eq!(row.and_then(|(_, c)| c), Some(claim), "{id}");
    }
    assert_eq!(ws.write_my_claims(&sales_id, 4_000, 3, None).unwrap(), 0);
    let edit = crate::CustomerEdit {
        name: Some("第12家 公司".into()),
        ..Default::default()
    };
    ws.edit_customer_fields(&ids[7], edit, 5_000).unwrap();
    assert_eq!(ws.write_my_claims(&sales_id, 6_000, 3, None).unwrap(), 1);
    let sales: Sales = ws.load(&sales_id).unwrap().hydrate().unwrap();
    let c: Customer = ws.load(&ids[7]).unwrap().hydrate().unwrap();
    let key = claim_id(&wsid, &ids[7]);
    assert_eq!(sales.claims.get(&key), claim_for(&wsid, &c).as_ref());
    assert_eq!(ws.write_my_claims(&sales_id, 7_000, 3, None).unwrap(), 0);
}

/// The Sales document's snapshot as the backfill cached it: what it is built from
/// the document as saved.
fn cached_is_built(ws: &Workspace) {
    let mut sales = ws.load(&DocId::workspace(&DocKind::Sales)).unwrap();
    let row = ws.store().derived(&[(sales.id().clone(), sales.heads())]);
    let row = row
        .unwrap()
        .pop()
        .flatten()
        .expect("the snapshot is cached");
    let cached = crate::snapshots::decode_snapshot(&row).unwrap();
    assert_eq!(cached, sales.snapshot().unwrap());
}

/// Once the device keeps the Sales document's snapshot, the backfill leaves it cached,
/// whether it wrote claims (built from the document it saved) or read them all from
/// the snapshot; a claim in another shape than fieldcrm's is read from the fields and
/// written again.
#[test]
fn the_backfill_leaves_the_sales_snapshot_cached() {
    let dir = tempfile::tempdir().unwrap();
    let (ws, ids) = with_files(&dir, 5, |i| format!("第{i}家 贸易行 🚚"));
    let sales_id = DocId::workspace(&DocKind::Sales);
    // None kept yet: none built.
    assert_eq!(ws.write_my_claims(&sales_id, 3_000, 8, None).unwrap(), 5);
    assert!(
        ws.store()
            .derived_with(&sales_id, &[], |_| ())
            .unwrap()
            .is_none()
    );
    ws.check(&crate::CheckQuery::default(), 3_500).unwrap();
    cached_is_built(&ws);
    let edit = crate::CustomerEdit {
        name: Some("第6家 贸易行".into()),
        ..Default::default()
    };
    ws.edit_customer_fields(&ids[4], edit, 3_600).unwrap();
    assert_eq!(ws.write_my_claims(&sales_id, 3_700, 8, None).unwrap(), 1);
    cached_is_built(&ws);
    // The cache dropped: the backfill's pass over every claim, from the snapshot,
    // writes nothing and caches it again.
    let mut sales = ws.load(&sales_id).unwrap();
    let old_row = (
        sales_id.clone(),
        sales.heads(),
        b"an older build's row".to_vec(),
    );
    ws.store().put_derived(&[old_row]).unwrap();
    keep(ws.store(), &[(row_key(FILES_ENTRY), None)]);
    assert_eq!(ws.write_my_claims(&sales_id, 4_000, 8, None).unwrap(), 0);
    cached_is_built(&ws);
    // One claim's owner as a text object: not a claim as fieldcrm writes it.
    let key = claim_id(&ws.whoami().workspace_id, &ids[2]);
    let owner = ws.me().unwrap().user_id;
    ws.edit(&sales_id, 5_000, "odd", |d| {
        use automerge::transaction::Transactable;
        let claim = d.map_at(&["claims", &key]).unwrap();
        let am = d.automerge_mut();
        let text = am.put_object(&claim, "owner", automerge::ObjType::Text);
        am.splice_text(text.unwrap(), 0, 0, &owner).unwrap();
        Ok(())
    })
    .unwrap();
    assert_eq!(ws.write_my_claims(&sales_id, 6_000, 8, None).unwrap(), 1);
    cached_is_built(&ws);
}

/// The claims and who wrote them, as the Sales document's snapshot gives them and as
/// its fields do: the same, for claims written by this device and by a device the
/// roster does not know (an owner, a date, a key written again in another hand).
#[test]
fn claims_from_the_snapshot_are_the_claims_from_the_fields() {
    let dir = tempfile::tempdir().unwrap();
    let (ws, ids, wsid, mut sales) =
        claimed_in_another_hand(&dir, 6, |i| format!("客戶{i}號 有限公司"));
    // Each written again, the same value (removed first: Automerge does not record
    // a value put over itself).
    let held: Sales = sales.hydrate().unwrap();
    let key = |i: usize| claim_id(&wsid, &ids[i]);
    let owner = held.claims[&key(0)].owner.clone();
    sales.delete(&["claims", &key(0), "owner"]).unwrap();
    sales.put(&["claims", &key(0), "owner"], &owner).unwrap();
    let since = held.claims[&key(1)].since;
    sales.delete(&["claims", &key(1), "since"]).unwrap();
    sales.put(&["claims", &key(1), "since"], &since).unwrap();
    let (hash, what) = held.claims[&key(2)].keys.iter().next().unwrap();
    sales.delete(&["claims", &key(2), "keys", hash]).unwrap();
    sales.put(&["claims", &key(2), "keys", hash], what).unwrap();
    sales.commit(4_000, "another hand");
    let roster = ws.me().unwrap().roster;
    let (snap, usual) = sales.snapshot_and_shape().unwrap();
    assert!(usual);
    let digests = Digests::default();
    let from_snapshot = held_in_snapshot(snap, &roster, digests.clone()).by_key;
    let from_fields = held_claims(&sales, &roster, &ids, &wsid, digests).by_key;
    assert_eq!(from_snapshot, from_fields);
    assert_eq!(from_fields.len(), 6);
    let counting: Vec<bool> = ids
        .iter()
        .map(|id| from_fields[&claim_id(&wsid, id)].counts)
        .collect();
    assert_eq!(counting, [false, false, false, true, true, true]);
}

/// A first sync's claims rows come from the content the snapshot read, and are the rows
/// the file's own claim fields give: with full-width and traditional text, and with a
/// removed contact (whose phone a claim still holds, so that file is read as written).
#[test]
fn claims_of_received_files_are_those_of_their_claim_fields() {
    let dir = tempfile::tempdir().unwrap();
    let (ws, ids) = with_files(&dir, 2, |i| format!("臺灣第{i}貿易行 🚚"));
    let wsid = ws.whoami().workspace_id;
    for (n, id) in ids.iter().enumerate() {
        for (name, phone) in [
            ("張偉", "１３８００１３８０００"),
            ("李娜", "+86 139 0013 9000"),
        ] {
            let contact = fieldcrm_model::Contact {
                name: name.into(),
                phone: Some(phone.into()),
                ..Default::default()
            };
            ws.add_contact(id, contact, 3_000 + n as i64).unwrap();
        }
    }
    let c: Customer = ws.load(&ids[1]).unwrap().hydrate().unwrap();
    let gone = c.contacts.keys().next().unwrap().clone();
    ws.remove_record(&ids[1], "contact", &gone, None, 4_000)
        .unwrap();
    let mut docs: Vec<fieldcrm_sync::SaveDoc> = ids
        .iter()
        .map(|id| received(ws.load(id).unwrap()))
        .collect();
    let (snapshots, claims) = crate::snapshots::of_received(&mut docs, Some(&wsid));
    assert_eq!(snapshots.len(), 2);
    let by_fields: Vec<_> = docs
        .iter()
        .map(|d| {
            let l = d.loaded.as_deref().unwrap();
            let heads = d.whole_heads.as_deref().unwrap();
            received_row(&wsid, &d.id, heads, None, l.doc.automerge()).unwrap()
        })
        .collect();
    assert_eq!(claims, by_fields);
    // The removed contact's phone is still a key of the claim.
    let with_removed = ws.load(&ids[1]).unwrap().hydrate::<Customer>().unwrap();
    assert_eq!(with_removed.contacts.len(), 2);
    let claim = claim_for(&wsid, &with_removed).unwrap();
    assert_eq!(claim.keys.values().filter(|k| *k == "phone").count(), 2);
}

/// `doc` as a sync session hands a document it received whole to be saved: loaded, with
/// its summary and snapshot.
fn received(mut doc: Document) -> fieldcrm_sync::SaveDoc {
    let (summary, snapshot) = doc.summary_and_snapshot().unwrap();
    fieldcrm_sync::SaveDoc {
        id: doc.id().clone(),
        data: Vec::new(),
        sigs: Vec::new(),
        whole_heads: Some(doc.heads()),
        loaded: Some(Box::new(fieldcrm_sync::JudgedDoc {
            doc,
            summary,
            snapshot,
        })),
    }
}

/// What a sync reads of the Sales document it brings, on its saving thread, is what the
/// backfill would read from the stored document: the same claims, judged the same (one
/// claim written by a hand that does not count), at the heads of the document and the
/// roster held.
#[test]
fn the_claims_a_sync_reads_are_those_the_backfill_reads() {
    let dir = tempfile::tempdir().unwrap();
    let (ws, ids, wsid, mut sales) =
        claimed_in_another_hand(&dir, 4, |i| format!("繁體第{i}號商行 🧾"));
    let sales_id = sales.id().clone();
    // One claim's owner written again by a device nobody enrolled.
    let held: Sales = sales.hydrate().unwrap();
    let key = claim_id(&wsid, &ids[2]);
    let owner = held.claims[&key].owner.clone();
    sales.delete(&["claims", &key, "owner"]).unwrap();
    sales.put(&["claims", &key, "owner"], &owner).unwrap();
    sales.commit(4_000, "another hand");
    // As a sync hands it over (a received document is also checked as a whole: this
    // test reads it before any store sees it).
    let copy = Document::from_automerge(sales_id.clone(), sales.automerge().clone()).unwrap();
    let mut docs = vec![received(copy)];
    ws.read_received_sales(&mut docs);
    let reading = ws.memo.take_sales_reading().unwrap();
    assert!(ws.memo.take_sales_reading().is_none(), "taken once");
    let roster_heads = ws
        .store()
        .heads(&DocId::workspace(&DocKind::Roster))
        .unwrap()
        .unwrap();
    assert!(reading.is_at(&sales.heads(), &roster_heads));
    assert!(
        !reading.is_at(&held_heads(&ws, &sales_id), &roster_heads),
        "not the stored one"
    );
    let Read::Claims(held) = reading.read else {
        panic!("the claims are read, the document is not kept");
    };
    let roster = ws.me().unwrap().roster;
    let by_backfill = held_claims(&sales, &roster, &ids, &wsid, held.digests.clone());
    assert_eq!(held.by_key, by_backfill.by_key);
    let counting: Vec<bool> = ids
        .iter()
        .map(|id| held.by_key[&claim_id(&wsid, id)].counts)
        .collect();
    assert_eq!(counting, [true, true, false, true]);
}

/// The heads of document `id` as the store holds it.
fn held_heads(ws: &Workspace, id: &DocId) -> Vec<automerge::ChangeHash> {
    ws.store().heads(id).unwrap().unwrap()
}

/// The backfill goes by what a sync read only while the Sales document and the roster
/// are at the heads it was read at: a reading that holds no claim makes it write every
/// claim of this user's again; the same reading at other heads is not used. The same
/// for the document a sync's save kept, which does not depend on the roster: one
/// without a claim of this user's makes the backfill write it.
#[test]
fn the_backfill_goes_by_what_a_sync_read_only_at_its_heads() {
    let dir = tempfile::tempdir().unwrap();
    let (ws, ids) = claimed(&dir, 3, |i| format!("第{i}家 ３號店"));
    let sales_id = DocId::workspace(&DocKind::Sales);
    let roster_id = DocId::workspace(&DocKind::Roster);
    let empty = |sales: Vec<automerge::ChangeHash>, roster: Vec<automerge::ChangeHash>| {
        Some(SalesReading {
            sales,
            roster: Some(roster),
            read: Read::Claims(HeldClaims {
                by_key: HashMap::new(),
                digests: Digests::default(),
            }),
        })
    };
    // The stored document with one claim removed, said to be at `sales`.
    let without_one = |sales: Vec<automerge::ChangeHash>| {
        let mut doc = ws.load(&sales_id).unwrap();
        let key = claim_id(&ws.whoami().workspace_id, &ids[1]);
        doc.delete(&["claims", &key]).unwrap();
        doc.commit(4_500, "one claim less");
        Some(SalesReading {
            sales,
            roster: None,
            read: Read::Document(Box::new(doc)),
        })
    };
    let rename = |n: i64| {
        let mut doc = ws.load(&ids[0]).unwrap();
        doc.put(&["name"], &format!("改名{n}號")).unwrap();
        doc.commit(5_000 + n, "rename");
        ws.save(&mut doc).unwrap();
    };
    // Read at other heads of the roster, then of the Sales document: only the renamed
    // file's claim is written.
    rename(1);
    let other = empty(held_heads(&ws, &sales_id), Vec::new());
    assert_eq!(ws.write_my_claims(&sales_id, 6_000, 8, other).unwrap(), 1);
    rename(2);
    let other = empty(Vec::new(), held_heads(&ws, &roster_id));
    assert_eq!(ws.write_my_claims(&sales_id, 7_000, 8, other).unwrap(), 1);
    // At the heads held: every claim is taken as missing.
    rename(3);
    let here = empty(held_heads(&ws, &sales_id), held_heads(&ws, &roster_id));
    assert_eq!(ws.write_my_claims(&sales_id, 8_000, 8, here).unwrap(), 3);
    // The document, at other heads: only the renamed file's claim; at the heads held,
    // whatever the roster's: that one and the one it lacks.
    rename(4);
    let other = without_one(Vec::new());
    assert_eq!(ws.write_my_claims(&sales_id, 9_000, 8, other).unwrap(), 1);
    rename(5);
    let here = without_one(held_heads(&ws, &sales_id));
    assert_eq!(ws.write_my_claims(&sales_id, 10_000, 8, here).unwrap(), 2);
    let sales: Sales = ws.load(&sales_id).unwrap().hydrate().unwrap();
    assert_eq!(
        sales.claims.len(),
        3,
        "the claim it lacked is written again"
    );
}

/// A sync's save that writes changes to the Sales document keeps the document as
/// written, at the heads the store holds, for the backfill; one that writes none keeps
/// nothing.
#[test]
fn a_sync_that_changes_the_sales_document_keeps_it_for_the_backfill() {
    use fieldcrm_sync::Host;
    let dir = tempfile::tempdir().unwrap();
    let (ws, ids) = claimed(&dir, 2, |i| format!("第{i}家 🏪"));
    let sales_id = DocId::workspace(&DocKind::Sales);
    // Changes from elsewhere: another copy of the document with a claim removed.
    let mut other = ws.load(&sales_id).unwrap();
    let before = other.heads();
    let key = claim_id(&ws.whoami().workspace_id, &ids[0]);
    other.delete(&["claims", &key]).unwrap();
    other.commit(4_000, "elsewhere");
    let changes = other.automerge_mut().save_after(&before);
    let save = |data: Vec<u8>| fieldcrm_sync::SaveDoc {
        id: sales_id.clone(),
        data,
        sigs: Vec::new(),
        whole_heads: None,
        loaded: None,
    };
    let mut host = ws.sync_host();
    host.save(vec![save(changes.clone())]).unwrap();
    let kept = ws.memo.take_sales_reading().expect("kept");
    assert!(kept.is_at(&held_heads(&ws, &sales_id), &[]));
    assert!(kept.is_at(&other.heads(), &[]));
    let Read::Document(doc) = kept.read else {
        panic!("the document is kept");
    };
    let s: Sales = doc.hydrate().unwrap();
    assert!(!s.claims.contains_key(&key));
    // What the backfill writes into it is this device's, as in a document it loads.
    assert_eq!(doc.automerge().get_actor(), &ws.device().actor());
    // The same changes again: nothing written, nothing kept.
    host.save(vec![save(changes)]).unwrap();
    assert!(ws.memo.take_sales_reading().is_none());
}
