//! Tests of saving, loading, applying, compacting and deleting documents.

use super::*;
use crate::error::ApplyError;
use automerge::transaction::Transactable;
use fieldcrm_model::{Contact, Customer, CustomerClass, DocKind};

const A: DeviceKey = DeviceKey([1; 32]);
const B: DeviceKey = DeviceKey([2; 32]);

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::create(dir.path().join("ws.fieldcrm")).unwrap();
    (dir, s)
}

fn customer(name: &str) -> Document {
    Document::create(DocId::random(), &A, 1, &Customer::new(name, 1), "new").unwrap()
}

fn add_contact(doc: &mut Document, key: &str, now: i64) {
    let c = Contact {
        name: format!("联系人 {key}"),
        ..Default::default()
    };
    doc.put(&["contacts", key], &c).unwrap();
    doc.commit(now, "contact");
}

fn contacts(doc: &Document) -> Vec<String> {
    let c: Customer = doc.hydrate().unwrap();
    c.contacts.into_keys().collect()
}

#[test]
fn save_load_round_trip_and_summary() {
    let (_d, s) = store();
    let mut doc = customer("华东机械有限公司");
    doc.put(&["region"], &Some("上海".to_string())).unwrap();
    doc.commit(5_000, "region");
    s.save(&mut doc).unwrap();
    let mut back = s.load(doc.id(), &B).unwrap();
    assert_eq!(back.heads(), doc.heads());
    let c: Customer = back.hydrate().unwrap();
    assert_eq!(c.name, "华东机械有限公司");
    let sum = s.summary(doc.id()).unwrap().unwrap();
    assert_eq!(sum.kind, DocKind::Customer);
    assert_eq!(sum.region.as_deref(), Some("上海"));
    assert_eq!(sum.updated_at, 5_000);
    let missing = DocId::random();
    let err = s.load(&missing, &A).unwrap_err();
    assert!(matches!(err, LoadError::NotFound { .. }), "{err}");
    let msg = crate::Error::from(err).to_string();
    assert!(
        msg.contains(missing.as_str()) && msg.contains("ws.fieldcrm"),
        "{msg}"
    );
}

#[test]
fn clones_save_from_many_threads() {
    let (_d, s) = store();
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let s = s.clone();
            std::thread::spawn(move || {
                let mut doc = customer(&format!("thread {t}"));
                for i in 0..15 {
                    add_contact(&mut doc, &format!("k{i}"), i);
                    s.save(&mut doc).unwrap();
                }
                doc.id().clone()
            })
        })
        .collect();
    for h in handles {
        let id = h.join().unwrap();
        assert_eq!(contacts(&s.load(&id, &A).unwrap()).len(), 15);
    }
    assert_eq!(s.len().unwrap(), 4);
}

#[test]
fn small_edit_appends_a_small_row_and_loaded_docs_append_only_new_changes() {
    let (_d, s) = store();
    let mut doc = customer("Big Co");
    for i in 0..40 {
        add_contact(&mut doc, &format!("k{i}"), 10 + i);
    }
    s.save(&mut doc).unwrap();
    let st = s.storage(doc.id()).unwrap().unwrap();
    assert_eq!(st.pending_changes, 0);
    let snapshot = st.snapshot_bytes;

    // A fresh load has an empty Automerge save cursor: its save_incremental would
    // return the whole history. The store must append only the new change.
    let mut loaded = s.load(doc.id(), &B).unwrap();
    let mut probe = s.load(doc.id(), &B).unwrap();
    let whole_history = probe.save_incremental().len() as u64;
    assert!(whole_history > 1000, "{whole_history}");
    add_contact(&mut loaded, "new", 100);
    s.save(&mut loaded).unwrap();
    let st = s.storage(doc.id()).unwrap().unwrap();
    assert_eq!(st.pending_changes, 1);
    assert_eq!(st.snapshot_bytes, snapshot, "snapshot was rewritten");
    assert!(
        st.pending_bytes < 300 && st.pending_bytes * 5 < whole_history,
        "appended {} bytes for one small change (history {whole_history})",
        st.pending_bytes
    );
    assert_eq!(st.heads, loaded.heads());

    // Saving again with nothing new writes nothing.
    s.save(&mut loaded).unwrap();
    assert_eq!(s.storage(doc.id()).unwrap().unwrap().pending_changes, 1);

    let back = s.load(doc.id(), &A).unwrap();
    assert_eq!(contacts(&back).len(), 41);
}

#[test]
fn compaction_folds_rows_without_losing_changes() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::create_with(
        dir.path().join("ws.fieldcrm"),
        StoreOptions::default().compact_after_changes(5),
    )
    .unwrap();
    let mut doc = customer("X");
    s.save(&mut doc).unwrap();
    let mut seen_compaction = false;
    for i in 0..23 {
        add_contact(&mut doc, &format!("k{i}"), 10 + i);
        s.save(&mut doc).unwrap();
        let st = s.storage(doc.id()).unwrap().unwrap();
        assert!(st.pending_changes < 5, "{st:?}");
        seen_compaction |= st.pending_changes == 0;
        let back = s.load(doc.id(), &A).unwrap();
        assert_eq!(contacts(&back).len(), i as usize + 1);
    }
    assert!(seen_compaction);
    add_contact(&mut doc, "last", 99);
    s.save(&mut doc).unwrap();
    assert!(s.compact(doc.id()).unwrap());
    assert!(!s.compact(doc.id()).unwrap());
    assert_eq!(s.storage(doc.id()).unwrap().unwrap().pending_changes, 0);
    let mut back = s.load(doc.id(), &A).unwrap();
    assert_eq!(contacts(&back).len(), 24);
    assert_eq!(back.heads(), doc.heads());
}

#[test]
fn byte_threshold_compacts_too() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::create_with(
        dir.path().join("ws.fieldcrm"),
        StoreOptions::default().compact_after_bytes(400),
    )
    .unwrap();
    let mut doc = customer("X");
    s.save(&mut doc).unwrap();
    for i in 0..6 {
        add_contact(&mut doc, &format!("k{i}"), 10 + i);
        s.save(&mut doc).unwrap();
        assert!(s.storage(doc.id()).unwrap().unwrap().pending_bytes < 400);
    }
    assert_eq!(contacts(&s.load(doc.id(), &A).unwrap()).len(), 6);
}

#[test]
fn saving_a_stale_copy_merges_with_what_sync_stored() {
    let (_d, s) = store();
    let mut doc = customer("X");
    s.save(&mut doc).unwrap();
    // A peer's edit arrives through sync while the rep holds `doc`.
    let mut peer = s.load(doc.id(), &B).unwrap();
    peer.save(); // prime the peer's cursor so save_incremental gives only its edit
    add_contact(&mut peer, "from-peer", 20_000);
    let edit = peer.save_incremental();
    let heads = s.apply_changes(peer.id(), &[edit]).unwrap();
    assert_eq!(heads, peer.heads());
    // The rep edits the stale copy and saves.
    add_contact(&mut doc, "from-rep", 21_000);
    s.save(&mut doc).unwrap();
    let mut back = s.load(doc.id(), &A).unwrap();
    let mut keys = contacts(&back);
    keys.sort();
    assert_eq!(keys, vec!["from-peer", "from-rep"]);
    assert_eq!(s.heads(doc.id()).unwrap().unwrap(), back.heads());
    assert_eq!(back.heads().len(), 2);
    assert_eq!(s.summary(doc.id()).unwrap().unwrap().updated_at, 21_000);
}

#[test]
fn apply_changes_creates_updates_and_rejects_junk() {
    let (_d, s) = store();
    let mut doc = customer("新客户");
    let id = doc.id().clone();
    let heads = s.apply_changes(&id, &[doc.save()]).unwrap();
    assert_eq!(heads, doc.heads());
    assert_eq!(s.summary(&id).unwrap().unwrap().name, "新客户");
    doc.put(&["class"], &Some(CustomerClass::Key)).unwrap();
    doc.commit(3, "class");
    let heads = s.apply_changes(&id, &[doc.save_incremental()]).unwrap();
    assert_eq!(heads, doc.heads());
    assert_eq!(
        s.summary(&id).unwrap().unwrap().class.as_deref(),
        Some("key")
    );
    // Re-applying known changes is a no-op.
    assert_eq!(s.apply_changes(&id, &[doc.save()]).unwrap(), heads);
    let err = s.apply_changes(&id, &[b"garbage".as_slice()]).unwrap_err();
    assert!(matches!(err, ApplyError::Rejected { .. }), "{err}");
    assert!(err.to_string().contains(id.as_str()), "{err}");
    assert_eq!(s.heads(&id).unwrap().unwrap(), heads);
    // Raw bytes load as one document.
    let raw = s.load_bytes(&id).unwrap();
    assert_eq!(AutoCommit::load(&raw).unwrap().get_heads(), heads);
    // Nothing applicable for an unknown document stores nothing.
    let other = DocId::random();
    assert!(
        s.apply_changes(&other, &[Vec::<u8>::new()])
            .unwrap()
            .is_empty()
    );
    assert!(!s.contains(&other).unwrap());
    // Damaged real changes: truncated, or with a flipped byte.
    doc.put(&["team"], &Some("east".to_string())).unwrap();
    doc.commit(4, "team");
    let good = doc.automerge_mut().save_after(&heads);
    let err = s
        .apply_changes(&id, &[&good[..good.len() - 3]])
        .unwrap_err();
    assert!(matches!(err, ApplyError::Rejected { .. }), "{err}");
    assert_eq!(s.heads(&id).unwrap().unwrap(), heads);
    let mut rejected = 0;
    for i in (0..good.len()).step_by(3) {
        let mut bad = good.clone();
        bad[i] ^= 0x41;
        // An error or a harmless change, never a panic.
        rejected += usize::from(s.apply_changes(&id, &[bad]).is_err());
    }
    assert!(rejected > good.len() / 6, "{rejected}");
}

#[test]
fn apply_batch_is_all_or_nothing() {
    let (_d, s) = store();
    let mut a = customer("A");
    let mut b = customer("B");
    let (sa, sb) = (a.save(), b.save());
    let out = s
        .apply_batch([
            (a.id(), sa.as_slice(), &[][..]),
            (b.id(), sb.as_slice(), &[][..]),
        ])
        .unwrap();
    assert_eq!(out.len(), 2);
    assert_eq!(out[1].1, b.heads());
    add_contact(&mut a, "x", 5);
    let edit = a.save_incremental();
    let junk = b"junk".to_vec();
    let err = s
        .apply_batch([
            (a.id(), edit.as_slice(), &[][..]),
            (b.id(), junk.as_slice(), &[][..]),
        ])
        .unwrap_err();
    assert!(matches!(err, ApplyError::Rejected { .. }), "{err}");
    assert_ne!(s.heads(a.id()).unwrap().unwrap(), a.heads());
    s.apply_batch([(a.id(), edit.as_slice(), &[][..])]).unwrap();
    assert_eq!(s.heads(a.id()).unwrap().unwrap(), a.heads());
}

/// `bytes` loaded and checked as a sync session does before it hands them over.
fn as_loaded(id: &DocId, bytes: &[u8]) -> Document {
    Document::from_automerge(id.clone(), AutoCommit::load(bytes).unwrap()).unwrap()
}

#[test]
fn a_received_document_already_loaded_is_stored_as_it_came_and_only_when_new() {
    let (_d, s) = store();
    let mut a = customer("华南贸易（深圳）有限公司 🚚");
    let mut b = customer("B");
    let (ida, idb) = (a.id().clone(), b.id().clone());
    let (sa, sb) = (a.save(), b.save());
    let loaded = |bytes: &[u8], doc: &mut Document| {
        Some((as_loaded(doc.id(), bytes), doc.summary().unwrap()))
    };
    let la = loaded(&sa, &mut a);
    let out = s
        .apply_received([
            Received {
                id: &ida,
                data: &sa,
                sigs: &[],
                loaded: la,
            },
            Received {
                id: &idb,
                data: &sb,
                sigs: &[],
                loaded: None,
            },
        ])
        .unwrap();
    assert_eq!(out, vec![(ida.clone(), a.heads()), (idb, b.heads())]);
    // Stored as the bytes that came, with the summary given.
    assert_eq!(s.load_bytes(&ida).unwrap(), sa);
    assert_eq!(s.summary(&ida).unwrap().unwrap(), a.summary().unwrap());
    // Held already: the data is merged into the stored document, not taken whole.
    let fork = a.automerge_mut().fork();
    let mut other = Document::from_automerge(ida.clone(), fork).unwrap();
    add_contact(&mut a, "y", 6);
    s.apply_changes(&ida, &[a.save_incremental()]).unwrap();
    add_contact(&mut other, "x", 5);
    let whole = other.save();
    let lo = loaded(&whole, &mut other);
    s.apply_received([Received {
        id: &ida,
        data: &whole,
        sigs: &[],
        loaded: lo,
    }])
    .unwrap();
    let stored = s.load(&ida, &A).unwrap();
    assert_eq!(contacts(&stored), vec!["x".to_string(), "y".to_string()]);
}

#[test]
fn a_new_document_received_with_changes_after_it_is_taken_as_loaded() {
    // What a relay sends of a file it appended changes to since it last compacted it:
    // its saved document, then those changes.
    let (_d, s) = store();
    let mut a = customer("華南貿易 ２０２６ 🚚");
    let mut data = a.save();
    add_contact(&mut a, "x", 5);
    data.extend(a.save_incremental());
    add_contact(&mut a, "y", 6);
    data.extend(a.save_incremental());
    let id = a.id().clone();
    // The summary the caller judged the file by is the one stored: the document it
    // loaded is taken, not read again.
    let mut judged = a.summary().unwrap();
    judged.name = "as judged".into();
    let out = s
        .apply_received([Received {
            id: &id,
            data: &data,
            sigs: &[],
            loaded: Some((as_loaded(&id, &data), judged.clone())),
        }])
        .unwrap();
    assert_eq!(out, vec![(id.clone(), a.heads())]);
    assert_eq!(s.summary(&id).unwrap().unwrap(), judged);
    let stored = s.load(&id, &A).unwrap();
    assert_eq!(contacts(&stored), vec!["x".to_string(), "y".to_string()]);
    // Stored saved again as one document, not as the chunks that came.
    let bytes = s.load_bytes(&id).unwrap();
    assert_ne!(bytes, data);
    assert_eq!(AutoCommit::load(&bytes).unwrap().get_heads(), a.heads());
}

#[test]
fn batch_save_is_one_transaction_and_all_heads_lists_everything() {
    let (_d, s) = store();
    let mut docs: Vec<Document> = (0..50).map(|i| customer(&format!("c{i:02}"))).collect();
    s.save_batch(&mut docs).unwrap();
    let all = s.all_heads().unwrap();
    assert_eq!(all.len(), 50);
    for d in &mut docs {
        let found = all.iter().find(|(id, _)| id == d.id()).unwrap();
        assert_eq!(found.1, d.heads());
    }
    // A failing document aborts the whole batch.
    for d in &mut docs {
        add_contact(d, "k", 5);
    }
    let mut bad = Customer::new("bad", 1);
    bad.kind = "customer".into();
    let mut bad = Document::create(DocId::random(), &A, 1, &bad, "new").unwrap();
    bad.automerge_mut()
        .put(automerge::ROOT, "kind", "spaceship")
        .unwrap();
    let mut batch: Vec<&mut Document> = docs.iter_mut().collect();
    batch.push(&mut bad);
    let err = s.save_all(batch).unwrap_err();
    assert!(matches!(err, SaveError::Doc { .. }), "{err}");
    assert!(s.storage(docs[0].id()).unwrap().unwrap().pending_changes == 0);
    assert!(!s.contains(bad.id()).unwrap());
}

#[test]
fn delete_removes_every_trace() {
    let (_d, s) = store();
    let mut doc = customer("Gone Co");
    s.save(&mut doc).unwrap();
    add_contact(&mut doc, "k", 3);
    s.save(&mut doc).unwrap();
    assert!(s.delete(doc.id()).unwrap());
    assert!(!s.delete(doc.id()).unwrap());
    assert!(!s.contains(doc.id()).unwrap());
    assert!(s.summary(doc.id()).unwrap().is_none());
    assert!(s.all_heads().unwrap().is_empty());
    assert!(matches!(
        s.resolve(None, "Gone Co").unwrap_err(),
        crate::ResolveError::NotFound { .. }
    ));
    // Saving it again stores it whole.
    s.save(&mut doc).unwrap();
    assert_eq!(contacts(&s.load(doc.id(), &A).unwrap()), vec!["k"]);
}

/// A batch gives back the document it was asked to keep as written and committed (what
/// a later load gives), only that one, and none when nothing was written to it.
#[test]
fn a_batch_keeps_the_document_asked_for_as_written() {
    let (_d, s) = store();
    let mut a = customer("華南貿易 ２０２６ 🚚");
    let mut b = customer("B");
    s.save(&mut a).unwrap();
    s.save(&mut b).unwrap();
    let (ida, idb) = (a.id().clone(), b.id().clone());
    let since = a.heads();
    add_contact(&mut a, "x", 5);
    let change = a.automerge_mut().save_after(&since);
    let item = |id, data| Received {
        id,
        data,
        sigs: &[],
        loaded: None,
    };
    let (out, kept) = s
        .apply_received_keeping([item(&ida, &change[..]), item(&idb, &[][..])], Some(&ida))
        .unwrap();
    assert_eq!(out[0], (ida.clone(), a.heads()));
    let mut kept = kept.expect("written, so kept");
    assert_eq!(kept.heads(), s.heads(&ida).unwrap().unwrap());
    assert_eq!(contacts(&kept), contacts(&s.load(&ida, &A).unwrap()));
    // Nothing new for it: nothing kept; another document is not kept.
    let (_, none) = s
        .apply_received_keeping([item(&ida, &change[..])], Some(&ida))
        .unwrap();
    assert!(none.is_none());
    let (_, other) = s
        .apply_received_keeping([item(&idb, &[][..])], Some(&ida))
        .unwrap();
    assert!(other.is_none());
}
