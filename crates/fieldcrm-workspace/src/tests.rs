//! Unit tests of the workspace root: opening, the snapshot cache, the roster memo.
use super::*;
use crate::snapshots::{decode_snapshot, encode_snapshot};
use fieldcrm_model::{Body, CustomerClass, Role};

fn class_of(ws: &Workspace, id: &DocId) -> Option<CustomerClass> {
    ws.snapshots()
        .unwrap()
        .iter()
        .find(|s| &s.id == id)
        .and_then(|s| match &s.body {
            Body::Customer(c) => c.class.clone(),
            _ => None,
        })
}

/// The Sales document's snapshot in `ws`.
pub(crate) fn sales_snapshot(ws: &Workspace) -> fieldcrm_model::Snapshot {
    ws.snapshots()
        .unwrap()
        .iter()
        .find(|s| matches!(s.body, Body::Sales(_)))
        .map(|s| (**s).clone())
        .unwrap()
}

pub(crate) fn admin_opts() -> InitOptions {
    InitOptions::admin("管理员", "示例", "test")
}

#[test]
fn cached_snapshots_follow_every_edit() {
    let dir = tempfile::tempdir().unwrap();
    let opts = admin_opts();
    let ws = Workspace::init(dir.path(), &opts, 1_000).unwrap();
    let id = ws
        .add_customer(
            NewCustomer {
                name: "甲公司".into(),
                class: Some(CustomerClass::General),
                ..Default::default()
            },
            2_000,
        )
        .unwrap();
    assert_eq!(class_of(&ws, &id), Some(CustomerClass::General));
    // The second read comes from the cache and is the same.
    let first = ws.snapshots().unwrap();
    assert_eq!(ws.snapshots().unwrap(), first);
    let edit = CustomerEdit {
        class: Some(CustomerClass::Key),
        ..Default::default()
    };
    ws.edit_customer_fields(&id, edit, 3_000).unwrap();
    assert_eq!(
        class_of(&ws, &id),
        Some(CustomerClass::Key),
        "a stale cache row was used"
    );
    assert!(decode_snapshot(b"garbage").is_none());
    for snap in first.iter() {
        let row = encode_snapshot(snap);
        assert!(decode_snapshot(&row).is_some_and(|s| s == **snap));
        // Cut anywhere, a row is refused, never misread.
        for cut in [0, 1, row.len() / 2, row.len() - 1] {
            assert!(decode_snapshot(&row[..cut]).is_none(), "cut at {cut}");
        }
    }
    // A row written in an older encoding (the tag, then deflated JSON) is recomputed.
    let json_row = [
        env!("FIELDCRM_SNAPSHOT_TAG").as_bytes(),
        b"\n",
        &serde_json::to_vec(&*first[0]).unwrap(),
    ]
    .concat();
    assert!(decode_snapshot(&json_row).is_none());
    // So is a row deflated without the dictionary (the encoding before it).
    let plain_row = [
        env!("FIELDCRM_SNAPSHOT_TAG").as_bytes(),
        b"\nmsgpack+deflate\n",
        &deflate_plain(&rmp_serde::to_vec_named(&*first[0]).unwrap()),
    ]
    .concat();
    assert!(decode_snapshot(&plain_row).is_none());
    // The dictionary makes rows smaller than plain deflate at the same level.
    let body = rmp_serde::to_vec_named(&*first[0]).unwrap();
    assert!(
        encode_snapshot(&first[0]).len() < plain_row.len(),
        "{} B",
        body.len()
    );
}

/// A row too large to inflate whole (the Sales document of many claims) is decoded as
/// it is inflated: the same snapshot, and a row cut short is refused the same way.
#[test]
fn a_large_cache_row_is_decoded_as_it_is_inflated() {
    let dir = tempfile::tempdir().unwrap();
    let ws = Workspace::init(dir.path(), &admin_opts(), 1_000).unwrap();
    let mut snap = (*ws.snapshots().unwrap()[0]).clone();
    let template = fieldcrm_model::Field {
        values: vec![fieldcrm_model::Stamp {
            value: serde_json::json!("name"),
            actor: ws.device().to_hex(),
            inner: Vec::new(),
        }],
    };
    for _ in 0..30_000 {
        let path = format!("claims/{}/owner", DocId::random());
        snap.fields.insert(path, template.clone());
    }
    let row = encode_snapshot(&snap);
    assert!(row.len() > 256 * 1024, "{} B: not a large row", row.len());
    // The Sales document is deflated as it is written: the same row format.
    let sales = sales_snapshot(&ws);
    let mut big_sales = sales.clone();
    big_sales.fields = snap.fields.clone();
    for s in [sales, big_sales] {
        let row = encode_snapshot(&s);
        assert!(decode_snapshot(&row).is_some_and(|d| d == s));
    }
    assert!(decode_snapshot(&row).is_some_and(|s| s == snap));
    for cut in [row.len() / 2, row.len() - 1, row.len() - 200] {
        assert!(decode_snapshot(&row[..cut]).is_none(), "cut at {cut}");
    }
}

fn deflate_plain(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::new(3));
    z.write_all(bytes).unwrap();
    z.finish().unwrap()
}

#[test]
fn a_memo_serves_until_the_store_changes() {
    let dir = tempfile::tempdir().unwrap();
    let opts = admin_opts();
    let memo = std::sync::Arc::new(Memo::new());
    let ws = Workspace::init(dir.path(), &opts, 1_000)
        .unwrap()
        .with_memo(memo.clone());
    let id = ws
        .add_customer(
            NewCustomer {
                name: "甲公司".into(),
                class: Some(CustomerClass::Key),
                ..Default::default()
            },
            2_000,
        )
        .unwrap();
    let first = ws.snapshots().unwrap();
    // Unchanged store: the very same snapshots, and the same findings within a minute.
    let again = Workspace::open(dir.path()).unwrap().with_memo(memo.clone());
    assert!(std::sync::Arc::ptr_eq(&first, &again.snapshots().unwrap()));
    let f1 = again.all_findings(10_000).unwrap();
    assert!(std::sync::Arc::ptr_eq(
        &f1,
        &again.all_findings(20_000).unwrap()
    ));
    assert!(!std::sync::Arc::ptr_eq(
        &f1,
        &again.all_findings(90_000).unwrap()
    ));
    // A change (here through another handle, as another process would) is seen.
    let edit = CustomerEdit {
        class: Some(CustomerClass::General),
        ..Default::default()
    };
    Workspace::open(dir.path())
        .unwrap()
        .edit_customer_fields(&id, edit, 3_000)
        .unwrap();
    assert_eq!(class_of(&again, &id), Some(CustomerClass::General));
}

#[test]
fn the_roster_memo_follows_every_roster_change() {
    let dir = tempfile::tempdir().unwrap();
    let ws = Workspace::init(dir.path(), &admin_opts(), 1_000).unwrap();
    let before = ws.roster().unwrap();
    assert_eq!(ws.roster().unwrap(), before, "read twice, the same roster");
    let uid = ws
        .add_user("张三", Role::Rep, Some("华东".into()), None, 2_000)
        .unwrap();
    let after = ws.roster().unwrap();
    assert!(
        after.users.contains_key(&uid),
        "the new user is seen at once"
    );
    assert!(!before.users.contains_key(&uid));
    // A second handle on the same store (the CLI and the app at once) sees it too.
    let other = Workspace::open(dir.path()).unwrap();
    assert_eq!(other.roster().unwrap(), after);

    // Kept for the next command: read back equal, and never once the roster changed.
    other.keep_caches();
    let third = Workspace::open(dir.path()).unwrap();
    assert!(third.kept_roster(&sorted_roster_heads(&third)).is_some());
    assert_eq!(third.roster().unwrap(), after);
    let uid2 = ws
        .add_user("李四 🌾", Role::Manager, None, None, 3_000)
        .unwrap();
    let fourth = Workspace::open(dir.path()).unwrap();
    assert!(fourth.kept_roster(&sorted_roster_heads(&fourth)).is_none());
    assert!(fourth.roster().unwrap().users.contains_key(&uid2));
}

fn sorted_roster_heads(ws: &Workspace) -> Vec<automerge::ChangeHash> {
    let mut h = ws
        .store()
        .heads(&DocId::workspace(&DocKind::Roster))
        .unwrap()
        .unwrap();
    h.sort_unstable();
    h
}

#[test]
fn resolve_names_the_kind_in_each_language() {
    let dir = tempfile::tempdir().unwrap();
    let ws = Workspace::init(dir.path(), &admin_opts(), 1_000).unwrap();
    for (name, at) in [("甲公司", 2_000), ("乙公司", 3_000)] {
        let c = NewCustomer {
            name: name.into(),
            ..Default::default()
        };
        ws.add_customer(c, at).unwrap();
    }
    let Err(Error::NotFound(m)) = ws.resolve(Some(&DocKind::Customer), "丙") else {
        panic!("丙 matched a customer");
    };
    assert!(m.zh.contains("没有与“丙”匹配的客户"), "{}", m.zh);
    assert!(m.en.starts_with("no customer matches `丙`"), "{}", m.en);
    assert!(!m.zh.contains("customer"), "{}", m.zh);
    let Err(Error::Ambiguous(m)) = ws.resolve(Some(&DocKind::Customer), "公司") else {
        panic!("公司 did not match both customers");
    };
    assert!(m.zh.contains("“公司”匹配多个客户，您是指："), "{}", m.zh);
    assert!(
        m.en.contains("matches more than one customer: did you mean"),
        "{}",
        m.en
    );
    let Err(Error::NotFound(m)) = ws.resolve(Some(&DocKind::Channel), "丙") else {
        panic!("丙 matched a channel");
    };
    assert!(m.zh.contains("匹配的渠道"), "{}", m.zh);
    let Err(Error::NotFound(m)) = ws.resolve(None, "丙") else {
        panic!("丙 matched a document");
    };
    assert!(
        m.zh.contains("匹配的文档") && m.en.starts_with("no document"),
        "{m:?}"
    );
}

/// The merged-away files the carry-over looks at are kept between runs and brought up
/// to date from the change log: a merge after the last run is seen, and a removed
/// tombstone is no longer listed.
#[test]
fn the_kept_set_of_merged_away_files_follows_merges_and_removals() {
    let dir = tempfile::tempdir().unwrap();
    let ws = Workspace::init(dir.path(), &admin_opts(), 1_000).unwrap();
    let add = |name: &str| {
        ws.add_customer(
            NewCustomer {
                name: name.into(),
                ..Default::default()
            },
            2_000,
        )
        .unwrap()
    };
    let (a, b, c) = (add("华东机械"), add("華東機械 🏭"), add("华东机械有限公司"));
    assert!(ws.merged_away().unwrap().is_empty(), "first run: none");
    ws.merge_docs(
        &DocKind::Customer,
        &a,
        &b,
        &std::collections::BTreeSet::new(),
        3_000,
    )
    .unwrap();
    let ids = |ws: &Workspace| -> Vec<DocId> {
        ws.merged_away()
            .unwrap()
            .into_iter()
            .map(|l| l.id)
            .collect()
    };
    assert_eq!(ids(&ws), vec![b.clone()], "a merge since the last run");
    ws.merge_docs(
        &DocKind::Customer,
        &a,
        &c,
        &std::collections::BTreeSet::new(),
        4_000,
    )
    .unwrap();
    let mut both = vec![b.clone(), c.clone()];
    both.sort_by_key(|id| ws.summary(id).unwrap().unwrap().name);
    assert_eq!(ids(&ws), both);
    ws.store().delete(&b).unwrap();
    assert_eq!(ids(&ws), vec![c.clone()], "a removed tombstone");
    // Another handle (the next command) reads the same kept set.
    assert_eq!(ids(&Workspace::open(dir.path()).unwrap()), vec![c]);
}

/// A thread's compressor is used again for its next row: the row is the same, byte for
/// byte, as one written by a fresh compressor, after rows large and small, streamed
/// (the Sales document) or not.
#[test]
fn a_compressor_used_again_writes_the_same_rows() {
    let dir = tempfile::tempdir().unwrap();
    let ws = Workspace::init(dir.path(), &admin_opts(), 1_000).unwrap();
    let snaps: Vec<_> = ws
        .snapshots()
        .unwrap()
        .iter()
        .map(|s| (**s).clone())
        .collect();
    assert!(snaps.iter().any(|s| matches!(s.body, Body::Sales(_))));
    let fresh: Vec<Vec<u8>> = snaps
        .iter()
        .map(|s| std::thread::scope(|t| t.spawn(|| encode_snapshot(s)).join().unwrap()))
        .collect();
    for round in 0..3 {
        for (s, want) in snaps.iter().zip(&fresh) {
            assert_eq!(&encode_snapshot(s), want, "round {round}, {}", s.id);
            assert!(decode_snapshot(want).is_some_and(|d| &d == s));
        }
    }
}
