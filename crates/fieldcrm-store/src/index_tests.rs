//! Unit tests of listing, filtering and resolving from the summary index and the name
//! rows.

use super::*;
use fieldcrm_model::{Channel, ChannelKind, Customer, CustomerClass, DeviceKey, Document};

const A: DeviceKey = DeviceKey([1; 32]);

fn doc_with_id(id: &str, c: Customer) -> Document {
    Document::create(id.parse().unwrap(), &A, 1, &c, "new").unwrap()
}

fn cust(name: &str, class: Option<CustomerClass>, owner: &str, region: &str) -> Customer {
    let mut c = Customer::new(name, 1);
    c.class = class;
    c.owner = Some(owner.into());
    c.team = Some(format!("team-{owner}"));
    c.region = Some(region.into());
    c
}

fn fixture() -> (tempfile::TempDir, Store, Vec<DocId>) {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::create(dir.path().join("ws.fieldcrm")).unwrap();
    let mut docs = vec![
        doc_with_id(
            "abcd0000000000000000000000000001",
            cust("华东机械有限公司", Some(CustomerClass::Key), "u1", "上海"),
        ),
        doc_with_id(
            "abcd1000000000000000000000000002",
            cust("华南电子", Some(CustomerClass::General), "u2", "深圳"),
        ),
        doc_with_id(
            "abce0000000000000000000000000003",
            cust("Acme Trading", None, "u1", "上海"),
        ),
        doc_with_id(
            "beef0000000000000000000000000004",
            cust("Twin", None, "u2", "北京"),
        ),
        doc_with_id(
            "beef1000000000000000000000000005",
            cust("Twin", None, "u2", "北京"),
        ),
    ];
    let mut merged = cust("华东机械 (old)", None, "u1", "上海");
    merged.merged_into = Some("abcd0000000000000000000000000001".into());
    docs.push(doc_with_id("cafe0000000000000000000000000006", merged));
    let mut ch = Document::create(
        "d00d0000000000000000000000000007".parse().unwrap(),
        &A,
        1,
        &Channel::new("华东分销", ChannelKind::Distributor, 1),
        "new",
    )
    .unwrap();
    s.save_batch(&mut docs).unwrap();
    s.save(&mut ch).unwrap();
    let mut ids: Vec<DocId> = docs.iter().map(|d| d.id().clone()).collect();
    ids.push(ch.id().clone());
    (dir, s, ids)
}

fn names(rows: &[Listed]) -> Vec<&str> {
    rows.iter().map(|r| r.summary.name.as_str()).collect()
}

#[test]
fn list_map_reads_every_row_in_id_order() {
    let (_d, s, _) = fixture();
    let mut more: Vec<Document> = ["0", "1", "5", "7", "8", "9", "a", "f"]
        .iter()
        .enumerate()
        .map(|(i, first)| {
            let id = format!("{first}{i:031x}");
            doc_with_id(&id, cust(&format!("客户{i}"), None, "u1", "上海"))
        })
        .collect();
    s.save_batch(&mut more).unwrap();
    let every = Filter::default().tombstones(Tombstones::Include);
    let whole = s.list_map(&every, |id, _| id.clone()).unwrap();
    assert_eq!(whole.len(), 15);
    assert!(whole.is_sorted(), "the index reads in ID order");
}

#[test]
fn list_filters_and_sorts_by_name() {
    let (_d, s, _) = fixture();
    let all = s.list(&Filter::default()).unwrap();
    assert_eq!(
        names(&all),
        vec![
            "Acme Trading",
            "Twin",
            "Twin",
            "华东分销",
            "华东机械有限公司",
            "华南电子"
        ]
    );
    let cust = Filter::default().kind(DocKind::Customer);
    assert_eq!(s.list(&cust).unwrap().len(), 5);
    assert_eq!(
        names(&s.list(&cust.clone().name_contains("华东")).unwrap()),
        vec!["华东机械有限公司"]
    );
    assert_eq!(
        names(&s.list(&Filter::default().name_contains("acme")).unwrap()),
        vec!["Acme Trading"]
    );
    assert_eq!(
        names(&s.list(&Filter::default().class("key")).unwrap()),
        vec!["华东机械有限公司"]
    );
    assert_eq!(
        names(
            &s.list(&Filter::default().owner("u1").region("上海"))
                .unwrap()
        ),
        vec!["Acme Trading", "华东机械有限公司"]
    );
    assert_eq!(s.list(&Filter::default().team("team-u2")).unwrap().len(), 3);
    assert_eq!(
        names(&s.list(&Filter::default().status("prospect")).unwrap()),
        vec!["华东分销"]
    );
    let with_tomb = s
        .list(
            &Filter::default()
                .owner("u1")
                .tombstones(Tombstones::Include),
        )
        .unwrap();
    assert_eq!(
        names(&with_tomb),
        vec!["Acme Trading", "华东机械 (old)", "华东机械有限公司"]
    );
    let only = s
        .list(&Filter::default().tombstones(Tombstones::Only))
        .unwrap();
    assert_eq!(names(&only), vec!["华东机械 (old)"]);
    assert_eq!(s.len().unwrap(), 7);
}

#[test]
fn resolve_prefixes_names_and_errors() {
    let (_d, s, ids) = fixture();
    assert_eq!(s.resolve(None, "abce").unwrap(), ids[2]);
    assert_eq!(s.resolve(None, " ABCD0 ").unwrap(), ids[0]);
    assert_eq!(s.resolve(None, ids[1].as_str()).unwrap(), ids[1]);
    assert_eq!(s.resolve(None, "华南电子").unwrap(), ids[1]);
    assert_eq!(s.resolve(Some(&DocKind::Channel), "d00d").unwrap(), ids[6]);

    match s.resolve(None, "abcd").unwrap_err() {
        ResolveError::Ambiguous { candidates, .. } => {
            let c: Vec<_> = candidates.iter().map(|c| c.id.clone()).collect();
            assert_eq!(c, vec![ids[0].clone(), ids[1].clone()]);
        }
        e => panic!("{e}"),
    }
    let err = s.resolve(None, "Twin").unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("beef0000 Twin") && msg.contains("beef1000 Twin"),
        "{msg}"
    );

    for (kind, text) in [
        (None, "abc"),
        (None, "ffff"),
        (None, "华东"),
        (None, ""),
        (Some(&DocKind::Channel), "abce"),
    ] {
        let err = s.resolve(kind, text).unwrap_err();
        assert!(
            matches!(err, ResolveError::NotFound { .. }),
            "{text}: {err}"
        );
    }
}

#[test]
fn listing_and_resolving_never_touch_documents() {
    let (_d, s, ids) = fixture();
    // Remove every document body: only the index and names tables remain.
    let txn = s.db().begin_write().unwrap();
    txn.delete_table(crate::store::DOCS).unwrap();
    txn.delete_table(crate::store::CHANGES).unwrap();
    txn.commit().unwrap();
    assert_eq!(s.list(&Filter::default()).unwrap().len(), 6);
    assert_eq!(s.resolve(None, "华南电子").unwrap(), ids[1]);
    assert_eq!(s.resolve(None, "abce").unwrap(), ids[2]);
    assert!(s.load_bytes(&ids[1]).is_err());
}

#[test]
fn renames_update_the_name_lookup() {
    let (_d, s, ids) = fixture();
    let mut doc = s.load(&ids[2], &A).unwrap();
    doc.put(&["name"], &"Acme Holdings".to_string()).unwrap();
    doc.commit(9_000, "rename");
    s.save(&mut doc).unwrap();
    assert_eq!(s.resolve(None, "Acme Holdings").unwrap(), ids[2]);
    assert!(matches!(
        s.resolve(None, "Acme Trading").unwrap_err(),
        ResolveError::NotFound { .. }
    ));
    assert_eq!(s.summary(&ids[2]).unwrap().unwrap().updated_at, 9_000);
}

/// The listing from both ends of the name rows, put together.
fn by_name_ends(s: &Store, filter: &Filter) -> Vec<(DocId, String)> {
    let (front, back) = s
        .list_by_name_ends(filter, Vec::new(), Vec::new(), |acc, id, summary| {
            acc.push((id.clone(), summary.name.to_string()));
        })
        .unwrap();
    front.into_iter().chain(back.into_iter().rev()).collect()
}

/// The summary index read in ID order, sorted by name then ID.
fn sorted(s: &Store, filter: &Filter) -> Vec<(DocId, String)> {
    let mut rows = s
        .list_map(filter, |id, summary| (summary.name.to_string(), id.clone()))
        .unwrap();
    rows.sort();
    rows.into_iter().map(|(name, id)| (id, name)).collect()
}

/// Read from both ends at once, the name rows give what the sorted index gives, row
/// for row, under every filter and at any size; a rename moves the row and a removed
/// document leaves none behind.
#[test]
fn the_name_rows_list_from_both_ends_as_the_sorted_index() {
    let (_d, s, ids) = fixture();
    let filters = [
        Filter::default(),
        Filter::default().tombstones(Tombstones::Include),
        Filter::default().kind(DocKind::Customer).owner("u2"),
        Filter::default().name_contains("华"),
        Filter::default().kind(DocKind::Channel),
        Filter::default().region("不存在"),
    ];
    for f in &filters {
        assert_eq!(by_name_ends(&s, f), sorted(&s, f), "{f:?}");
    }
    let mut more: Vec<Document> = (0..300)
        .map(|i| {
            let name = match i % 4 {
                0 => "Twin".to_string(),
                1 => format!("客户{}", 299 - i),
                2 => format!("Ｆｕｌｌ{i}號 🚚"),
                _ => format!("a{i}"),
            };
            doc_with_id(&format!("{i:032x}"), cust(&name, None, "u2", "上海"))
        })
        .collect();
    s.save_batch(&mut more).unwrap();
    for f in &filters {
        assert_eq!(by_name_ends(&s, f), sorted(&s, f), "{f:?}");
    }
    assert_eq!(by_name_ends(&s, &Filter::default()).len(), 306);
    let mut doc = s.load(&ids[2], &A).unwrap();
    doc.put(&["name"], &"Zed Holdings".to_string()).unwrap();
    doc.commit(9_000, "rename");
    s.save(&mut doc).unwrap();
    assert!(s.delete(&ids[1]).unwrap());
    let all = by_name_ends(&s, &Filter::default().tombstones(Tombstones::Include));
    assert_eq!(
        all,
        sorted(&s, &Filter::default().tombstones(Tombstones::Include))
    );
    assert!(all.contains(&(ids[2].clone(), "Zed Holdings".into())));
    assert!(!all.iter().any(|(_, name)| name == "Acme Trading"));
    assert!(all.iter().all(|(id, _)| *id != ids[1]));
    assert_eq!(all.len(), 306);
}

/// A store written when the name rows held no summary gets them on open, from the
/// index, and lists and resolves as before.
#[test]
fn a_store_with_the_old_name_rows_gets_the_new_ones_on_open() {
    let (d, s, ids) = fixture();
    let path = d.path().join("ws.fieldcrm");
    let old: redb::TableDefinition<(&str, &str), ()> = redb::TableDefinition::new("names-v1");
    let version = "fieldcrm.store.format-version";
    let txn = s.db().begin_write().unwrap();
    txn.delete_table(NAMES).unwrap();
    txn.open_table(old)
        .unwrap()
        .insert(("华南电子", ids[1].as_str()), ())
        .unwrap();
    let mut meta = txn.open_table(crate::store::META).unwrap();
    meta.insert(version, b"1".as_slice()).unwrap();
    drop(meta);
    txn.commit().unwrap();
    drop(s);
    let s = Store::open(&path).unwrap();
    let every = Filter::default().tombstones(Tombstones::Include);
    assert_eq!(by_name_ends(&s, &every), sorted(&s, &every));
    assert_eq!(by_name_ends(&s, &every).len(), 7);
    assert_eq!(s.resolve(None, "华南电子").unwrap(), ids[1]);
    let txn = s.db().begin_read().unwrap();
    assert!(matches!(
        txn.open_table(old),
        Err(redb::TableError::TableDoesNotExist(_))
    ));
    let meta = txn.open_table(crate::store::META).unwrap();
    let now = meta.get(version).unwrap().unwrap();
    assert_eq!(now.value(), crate::FORMAT_VERSION.to_string().as_bytes());
}

/// An import's documents get their name rows in its transaction: listed as the
/// index says, once each, even a document the import saved twice under two names;
/// an import that is not committed leaves none.
#[test]
fn an_imports_name_rows_follow_its_documents() {
    let (_d, s, _) = fixture();
    let of = |mut d: Document| {
        let summary = d.summary().unwrap();
        crate::NewDoc::new(d, summary)
    };
    let new = |i: usize, name: &str| {
        doc_with_id(
            &format!("{:032x}", 1000 + i),
            cust(name, None, "u1", "上海"),
        )
    };
    let mut files: Vec<Document> = (0..60)
        .map(|i| new(i, &format!("导入{}號 🚚", 59 - i)))
        .collect();
    // The fourth file again, renamed, later in the same import.
    let id = files[3].id().clone();
    let mut renamed = Document::from_automerge(id, files[3].automerge_mut().fork()).unwrap();
    renamed.put(&["name"], &"改名后的客户".to_string()).unwrap();
    renamed.commit(9_000, "rename");
    files.push(renamed);
    let docs: Vec<crate::NewDoc> = files.into_iter().map(of).collect();
    assert!(s.save_stream(docs.into_iter(), || true).unwrap());
    let every = Filter::default().tombstones(Tombstones::Include);
    let all = by_name_ends(&s, &every);
    assert_eq!(all, sorted(&s, &every));
    assert_eq!(all.len(), 7 + 60);
    assert!(all.iter().any(|(_, n)| n == "改名后的客户"));
    assert!(!all.iter().any(|(_, n)| n == "导入56號 🚚"));
    let more = (100..110).map(|i| of(new(i, "不会保存")));
    assert!(!s.save_stream(more, || false).unwrap());
    assert_eq!(by_name_ends(&s, &every), all);
}
