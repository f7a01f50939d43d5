//! Unit tests of `Document`: text objects from other clients, change times, merges,
//! provenance and conflicts, schema versions and kinds.

use super::*;

#[test]
fn strings_written_as_text_objects_by_other_clients_read_as_strings() {
    use automerge::transaction::Transactable;
    let dev = DeviceKey([4; 32]);
    let mut c = Customer::new("甲", 1_000);
    c.interactions.insert(
        "i1".into(),
        crate::Interaction {
            kind: crate::InteractionKind::Visit,
            occurred_at: 1_000,
            recorded_at: 1_000,
            summary: "x".into(),
            by: "u".into(),
            contact: None,
        },
    );
    let mut d = Document::create(DocId::random(), &dev, 1_000, &c, "c").unwrap();
    // What the JS client does by default: strings as text objects.
    let am = d.automerge_mut();
    let name = am
        .put_object(automerge::ROOT, "name", ObjType::Text)
        .unwrap();
    am.splice_text(&name, 0, 0, "華東精密 😀").unwrap();
    let (_, its) = am.get(automerge::ROOT, "interactions").unwrap().unwrap();
    let (_, i1) = am.get(&its, "i1").unwrap().unwrap();
    let summary = am.put_object(&i1, "summary", ObjType::Text).unwrap();
    am.splice_text(&summary, 0, 0, "上门拜访").unwrap();
    d.commit(2_000, "from another client");
    let back: Customer = d.hydrate().unwrap();
    assert_eq!(back.name, "華東精密 😀");
    assert_eq!(back.interactions["i1"].summary, "上门拜访");
    // The document itself is unchanged: still text objects, nothing new to save.
    assert!(matches!(
        d.automerge().get(automerge::ROOT, "name").unwrap(),
        Some((Value::Object(ObjType::Text), _))
    ));
    assert_eq!(d.summary().unwrap().name, "華東精密 😀");
    assert!(d.snapshot().is_ok());
}

#[test]
fn change_times_are_seconds_on_disk_and_ms_when_read() {
    let dev = DeviceKey([3; 32]);
    let now: Millis = 1_795_914_000_123; // 2026-11-29 09:00:00.123 Shanghai
    let mut d =
        Document::create(DocId::random(), &dev, now, &Customer::new("甲", now), "c").unwrap();
    let raw = d
        .automerge_mut()
        .get_last_local_change()
        .map(|c| c.timestamp())
        .unwrap();
    assert_eq!(raw, 1_795_914_000, "Automerge change times are seconds");
    assert_eq!(d.latest_change_time(), 1_795_914_000_000);
    // A change written by an earlier build in milliseconds still reads right.
    assert_eq!(change_time_ms(1_795_914_000_123), 1_795_914_000_123);
    assert_eq!(change_time_ms(0), 0);
    assert_eq!(change_time_ms(i64::MIN), i64::MIN);
}
use crate::{Approval, Contact, CustomerClass, Note, Quote, fields};

const A: DeviceKey = DeviceKey([1; 32]);
const B: DeviceKey = DeviceKey([2; 32]);

fn replica(doc: &mut Document, device: &DeviceKey) -> Document {
    Document::load(doc.id().clone(), &doc.save(), device).unwrap()
}

fn merge(a: &mut Document, b: &mut Document) {
    a.automerge_mut().merge(b.automerge_mut()).unwrap();
}

#[test]
fn concurrent_inserts_merge_and_chinese_text_round_trips() {
    let mut a = Document::create(
        DocId::random(),
        &A,
        1,
        &Customer::new("华东机械有限公司", 1),
        "new",
    )
    .unwrap();
    let mut b = replica(&mut a, &B);
    let c1 = Contact {
        name: "张伟".into(),
        phone: Some("13800000001".into()),
        ..Default::default()
    };
    let c2 = Contact {
        name: "李娜".into(),
        email: Some("li@例子.cn".into()),
        ..Default::default()
    };
    a.put(&["contacts", "k1"], &c1).unwrap();
    a.commit(2_000, "contact");
    b.put(&["contacts", "k2"], &c2).unwrap();
    b.commit(3_000, "contact");
    merge(&mut a, &mut b);
    let c: Customer = a.hydrate().unwrap();
    assert_eq!(c.name, "华东机械有限公司");
    assert_eq!(c.contacts.len(), 2);
    assert_eq!(c.contacts["k2"].email.as_deref(), Some("li@例子.cn"));
    // Change times are whole seconds (as Automerge defines them), read back in ms.
    assert_eq!(a.summary().unwrap().updated_at, 3_000);
}

#[test]
fn provenance_and_conflicts_name_the_writing_device() {
    let mut a = Document::create(DocId::random(), &A, 1, &Customer::new("X", 1), "new").unwrap();
    a.put(
        &["quotes", "q1"],
        &Quote {
            product: "P1".into(),
            quantity: 1,
            list_price: 100,
            price: 70,
            ..Default::default()
        },
    )
    .unwrap();
    a.commit(2, "quote");
    let mut b = replica(&mut a, &B);
    a.put(&["class"], &CustomerClass::Key).unwrap();
    a.commit(3, "class");
    b.put(&["class"], &CustomerClass::General).unwrap();
    b.put_new_object(
        &["quotes", "q1", "approval"],
        &Approval {
            covers: Default::default(),
            by: "u-b".into(),
            at: 4,
            note: None,
        },
    )
    .unwrap();
    b.commit(4, "class+approval");
    merge(&mut a, &mut b);

    let states = fields::field_states(a.automerge(), fields::deciding_paths(&DocKind::Customer));
    let class = &states["class"];
    assert!(class.is_conflict());
    let mut actors: Vec<_> = class.values.iter().map(|s| s.device().unwrap()).collect();
    actors.sort();
    assert_eq!(actors, vec![A, B]);
    let approval = &states["quotes/q1/approval"];
    assert!(!approval.is_conflict());
    assert_eq!(approval.values[0].device(), Some(B));
    assert_eq!(approval.values[0].value["by"], "u-b");
    let conflicts = fields::conflicts(a.automerge());
    assert_eq!(
        conflicts
            .iter()
            .map(|c| c.path.as_str())
            .collect::<Vec<_>>(),
        vec!["class"]
    );
}

#[test]
fn refuses_newer_schema_and_unknown_kind() {
    let mut c = Customer::new("X", 1);
    c.schema_version = SCHEMA_VERSION + 1;
    let err = Document::create(DocId::random(), &A, 1, &c, "new").unwrap_err();
    assert!(matches!(err, DocError::TooNew { .. }), "{err}");
    let mut c = Customer::new("X", 1);
    c.kind = "spaceship".into();
    assert!(matches!(
        Document::create(DocId::random(), &A, 1, &c, "new").unwrap_err(),
        DocError::UnknownKind { .. }
    ));
    assert!(matches!(
        Document::load(DocId::random(), b"not automerge", &A).unwrap_err(),
        DocError::Load { .. }
    ));
}

/// A small document is saved with its columns as they are; a large one deflated (its
/// size counts against the sync's limit); both load back the same.
#[test]
fn small_documents_save_plain_and_large_ones_deflated() {
    let dev = DeviceKey([4; 32]);
    let mut small =
        Document::create(DocId::random(), &dev, 1, &Customer::new("甲", 1), "c").unwrap();
    let plain = small.automerge_mut().save_nocompress();
    assert_eq!(small.save(), plain);

    let mut c = Customer::new("华东精密机电有限公司", 1);
    c.address = Some("上门拜访，客户对新产品线很感兴趣。".repeat(4_000));
    let mut large = Document::create(DocId::random(), &dev, 1, &c, "c").unwrap();
    let plain = large.automerge_mut().save_nocompress();
    assert!(plain.len() > SAVE_PLAIN_MAX, "{} B", plain.len());
    let saved = large.save();
    assert!(
        saved.len() * 4 < plain.len(),
        "{} vs {} B",
        saved.len(),
        plain.len()
    );
    for bytes in [saved, plain] {
        let back = Document::load(large.id().clone(), &bytes, &dev).unwrap();
        let got: Customer = back.hydrate().unwrap();
        assert_eq!(got.address, c.address);
    }
}

/// The kind read when a document is wrapped is kept only until the next edit: an edit
/// through any door (a typed put, a delete, Automerge directly, as a merge does) is seen
/// by the next read.
#[test]
fn the_kind_is_read_again_after_every_edit() {
    use automerge::transaction::Transactable;
    let mut d = Document::create(DocId::random(), &A, 1, &Customer::new("甲", 1), "c").unwrap();
    assert_eq!(d.kind().unwrap(), DocKind::Customer);
    d.put(&["kind"], &"channel".to_string()).unwrap();
    assert_eq!(d.kind().unwrap(), DocKind::Channel);
    d.automerge_mut()
        .put(automerge::ROOT, "kind", "spaceship")
        .unwrap();
    assert!(matches!(d.kind(), Err(DocError::UnknownKind { .. })));
    d.put(&["kind"], &"customer".to_string()).unwrap();
    assert_eq!(d.kind().unwrap(), DocKind::Customer);
    d.delete(&["kind"]).unwrap();
    assert!(matches!(d.kind(), Err(DocError::UnknownKind { .. })));
    let id = d.id().clone();
    assert!(Document::from_automerge(id, d.into_automerge()).is_err());
}

/// What a check found travels apart from the document only until an edit: a checked
/// document gives it back and is wrapped again as the same kind without a check; an
/// edited one gives none, and is checked again (here: a kind changed through Automerge
/// directly, which a stale `Checked` would have hidden).
#[test]
fn what_a_check_found_is_given_back_only_until_an_edit() {
    use automerge::transaction::Transactable;
    let d = Document::create(
        DocId::random(),
        &A,
        1,
        &Customer::new("甲乙 ＡＢ 🚚", 1),
        "c",
    )
    .unwrap();
    let id = d.id().clone();
    let (mut am, checked) = Document::from_automerge(id.clone(), d.into_automerge())
        .unwrap()
        .into_checked();
    let checked = checked.expect("checked when wrapped");
    let again = Document::from_checked(id.clone(), am.clone(), checked);
    assert_eq!(again.kind().unwrap(), DocKind::Customer);
    let mut edited = Document::from_automerge(id.clone(), am.clone()).unwrap();
    edited
        .automerge_mut()
        .put(automerge::ROOT, "kind", "channel")
        .unwrap();
    let (am2, none) = edited.into_checked();
    assert!(none.is_none(), "edited since its check");
    assert_eq!(
        Document::from_automerge(id.clone(), am2)
            .unwrap()
            .kind()
            .unwrap(),
        DocKind::Channel
    );
    am.put(automerge::ROOT, "kind", "spaceship").unwrap();
    assert!(Document::from_automerge(id, am).is_err());
}

/// A received document's summary read with its snapshot is the summary read alone, for
/// every kind; the Sales document (its snapshot holds every claim) and a file whose
/// content does not read (another client wrote a contact as a string) have none, and
/// still their summary.
#[test]
fn the_summary_read_with_the_snapshot_is_the_summary() {
    let mut c = Customer::new("華東精密 ＡＢＣ１２３ 😀", 1_000);
    c.owner = Some("u1".into());
    c.team = Some("华东".into());
    c.region = Some("上海".into());
    c.class = Some(CustomerClass::Key);
    for (k, name) in [("k1", "张伟"), ("k2", "李娜")] {
        let contact = Contact {
            name: name.into(),
            phone: Some("１３８００００００１".into()),
            ..Default::default()
        };
        c.contacts.insert(k.into(), contact);
    }
    c.removed.insert(
        "contacts/k2".into(),
        Note {
            text: "离职".into(),
            at: 2_000,
            by: "u1".into(),
        },
    );
    let mut customer = Document::create(DocId::random(), &A, 3_000, &c, "c").unwrap();
    let mut channel = Document::create(
        DocId::random(),
        &A,
        3_000,
        &Channel::new("渠道 😀", crate::ChannelKind::Dealer, 3_000),
        "c",
    )
    .unwrap();
    let mut roster = Document::create(
        DocId::workspace(&DocKind::Roster),
        &A,
        3_000,
        &Roster::new("ws", "示例科技"),
        "c",
    )
    .unwrap();
    for d in [&mut customer, &mut channel, &mut roster] {
        let (summary, snapshot) = d.summary_and_snapshot().unwrap();
        assert_eq!(summary, d.summary().unwrap());
        assert_eq!(snapshot.unwrap(), d.snapshot().unwrap());
    }
    let mut sales = new_sales();
    let (summary, snapshot) = sales.summary_and_snapshot().unwrap();
    assert_eq!(summary, sales.summary().unwrap());
    assert!(snapshot.is_none());

    another_client_writes_a_string(&mut customer, "contacts", "k3", "不是联系人");
    assert!(customer.snapshot().is_err());
    let (summary, snapshot) = customer.summary_and_snapshot().unwrap();
    assert_eq!(summary, customer.summary().unwrap());
    assert_eq!(summary.name, "華東精密 ＡＢＣ１２３ 😀");
    assert!(snapshot.is_none());
}

/// The Sales document's summary names its kind and latest change, and reads none of its
/// claims (a claim per customer file): it is the same whatever the claims hold, even a
/// claim another client wrote in a shape the content does not read.
#[test]
fn the_sales_summary_reads_no_claim() {
    let mut sales = new_sales();
    let expected = sales.body().unwrap().summary(sales.latest_change_time());
    assert_eq!(sales.summary().unwrap(), expected);
    another_client_writes_a_string(&mut sales, "claims", "客户 😀", "不是认领");
    assert!(sales.body().is_err());
    let summary = sales.summary().unwrap();
    assert_eq!(summary.kind, DocKind::Sales);
    assert_eq!(summary.updated_at, 4_000);
    assert_eq!(
        summary,
        Summary {
            updated_at: 4_000,
            ..expected
        }
    );
}

/// Another Automerge client puts the string `value` at `key` of the root map `map`,
/// where fieldcrm writes an object, and commits at 4 s.
fn another_client_writes_a_string(doc: &mut Document, map: &str, key: &str, value: &str) {
    use automerge::transaction::Transactable;
    let (_, obj) = doc.automerge().get(automerge::ROOT, map).unwrap().unwrap();
    doc.automerge_mut().put(&obj, key, value).unwrap();
    doc.commit(4_000, "another client");
}

/// An empty Sales document written by `A` at 3 s.
fn new_sales() -> Document {
    Document::create(
        DocId::workspace(&DocKind::Sales),
        &A,
        3_000,
        &Sales::new(),
        "c",
    )
    .unwrap()
}
